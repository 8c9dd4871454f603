/* consensus.c -- from analysts' votes to one decision (rule in analyst.h).
 *
 * A pure function: no clock, no I/O, no allocation.  It is the last place
 * where several opinions become one trade, so it errs towards HOLD: a vote
 * that did not answer, carries a weight that is not a positive finite
 * number, or a confidence outside 0..1 never counts, and every HOLD says
 * why in its reasoning so the audit row explains the non-trade.
 *
 * Owner: src/ai (the AI engineer); the rest of src/strategy belongs to the
 * engine issue.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "strategy/analyst.h"

/* DESIGN.md section 3: "< MIN_AI_CONFIDENCE (and never below 0.75) no
 * trade".  Enforced here too, so a caller's misconfigured rules cannot
 * lower the bar. */
#define CONSENSUS_CONFIDENCE_FLOOR 0.75

static bool vote_counts(const strategy_vote *v) {
  return v->ok && isfinite(v->weight) && v->weight > 0.0 && isfinite(v->decision.confidence) &&
         v->decision.confidence >= 0.0 && v->decision.confidence <= 1.0;
}

static bool votes_for(const strategy_vote *v, lb_action dir) {
  return vote_counts(v) && v->decision.action == dir;
}

/* How cautious a regime is: volatile > ranging > trending > unknown. */
static int regime_caution(lb_regime r) {
  switch (r) {
    case LB_REGIME_VOLATILE: return 3;
    case LB_REGIME_RANGING: return 2;
    case LB_REGIME_TRENDING: return 1;
    default: return 0;
  }
}

/* Combines the votes that agree on dir (rule 3). */
static void merge_agreeing(const strategy_vote *votes, int n, lb_action dir, lb_decision *d) {
  double wsum = 0.0, csum = 0.0;
  memset(d, 0, sizeof *d);
  d->action = dir;
  d->leverage = 0;
  d->take_profit_percent = INFINITY;
  size_t off = (size_t)snprintf(d->reasoning, sizeof d->reasoning, "consensus %s:",
                                lb_action_name(dir));
  for (int i = 0; i < n; i++) {
    const strategy_vote *v = &votes[i];
    if (!votes_for(v, dir)) continue;
    const lb_decision *a = &v->decision;
    wsum += v->weight;
    csum += v->weight * a->confidence;
    if (d->leverage == 0 || a->leverage < d->leverage) d->leverage = a->leverage;
    /* Widest stop: every counted vote was checked against the stop range
     * by lb_decision_check, and risk clamps the result again. */
    if (a->stop_loss_percent > d->stop_loss_percent) d->stop_loss_percent = a->stop_loss_percent;
    if (a->take_profit_percent < d->take_profit_percent)
      d->take_profit_percent = a->take_profit_percent;
    if (regime_caution(a->regime) > regime_caution(d->regime)) d->regime = a->regime;
    if (off < sizeof d->reasoning)
      off += (size_t)snprintf(d->reasoning + off, sizeof d->reasoning - off, " %s %.2f",
                              v->analyst, a->confidence);
  }
  d->confidence = wsum > 0.0 ? csum / wsum : 0.0;
}

void strategy_consensus_decide(const strategy_vote *votes, int n,
                               const strategy_consensus_rules *rules, strategy_consensus *out) {
  memset(out, 0, sizeof *out);
  if (n < 0) n = 0;
  out->n_votes = n;

  int cnt[3] = {0, 0, 0};
  double weight[3] = {0.0, 0.0, 0.0};
  for (int i = 0; i < n; i++) {
    if (!vote_counts(&votes[i])) continue;
    lb_action a = votes[i].decision.action;
    if ((unsigned)a > LB_ACTION_SHORT) continue; /* not an action: does not count */
    out->n_answered++;
    cnt[a]++;
    weight[a] += votes[i].weight;
  }

  lb_decision *d = &out->decision;
  if (out->n_answered == 0) {
    lb_decision_hold(d, "no analyst answered (%d asked)", n);
    return;
  }
  int need;
  if (out->n_answered >= 2) {
    need = rules->min_agree < 1 ? 1 : rules->min_agree;
  } else if (rules->allow_single) {
    need = 1;
  } else {
    lb_decision_hold(d, "only one analyst answered and ALLOW_SINGLE_MODEL is off");
    return;
  }

  bool long_ok = cnt[LB_ACTION_LONG] >= need, short_ok = cnt[LB_ACTION_SHORT] >= need;
  lb_action dir;
  if (long_ok && short_ok) {
    double wl = weight[LB_ACTION_LONG], ws = weight[LB_ACTION_SHORT];
    if (fabs(wl - ws) <= 1e-12 * (wl + ws)) {
      out->n_agree = cnt[LB_ACTION_LONG];
      lb_decision_hold(d, "LONG and SHORT tie: %d votes each side with equal weight %.3g",
                       cnt[LB_ACTION_LONG], wl);
      return;
    }
    dir = wl > ws ? LB_ACTION_LONG : LB_ACTION_SHORT;
  } else if (long_ok) {
    dir = LB_ACTION_LONG;
  } else if (short_ok) {
    dir = LB_ACTION_SHORT;
  } else {
    out->n_agree = cnt[LB_ACTION_LONG] > cnt[LB_ACTION_SHORT] ? cnt[LB_ACTION_LONG]
                                                              : cnt[LB_ACTION_SHORT];
    lb_decision_hold(d, "no consensus: LONG %d, SHORT %d, HOLD %d of %d answered (need %d)",
                     cnt[LB_ACTION_LONG], cnt[LB_ACTION_SHORT], cnt[LB_ACTION_HOLD],
                     out->n_answered, need);
    return;
  }
  out->n_agree = cnt[dir];

  merge_agreeing(votes, n, dir, d);
  double floor_conf = rules->min_confidence;
  if (!(floor_conf >= CONSENSUS_CONFIDENCE_FLOOR)) floor_conf = CONSENSUS_CONFIDENCE_FLOOR;
  if (d->confidence < floor_conf) {
    double conf = d->confidence;
    lb_regime regime = d->regime;
    lb_decision_hold(d, "%s consensus of %d with confidence %.3f below minimum %.2f",
                     lb_action_name(dir), out->n_agree, conf, floor_conf);
    d->confidence = conf;
    d->regime = regime;
  }
}
