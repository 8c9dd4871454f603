/* test_consensus.c -- the consensus rule of strategy/analyst.h as a table.
 *
 * Each row is a set of votes, the rules, and the decision a careful reader
 * of rules 1-4 expects; expected numbers are written as the arithmetic of
 * the rule (weighted means spelled out), not copied from a run.
 */
#include <stdio.h>
#include <string.h>

#include "strategy/analyst.h"
#include "unit.h"

enum { L = LB_ACTION_LONG, S = LB_ACTION_SHORT, H = LB_ACTION_HOLD };
enum { TR = LB_REGIME_TRENDING, RA = LB_REGIME_RANGING, VO = LB_REGIME_VOLATILE };

typedef struct {
  bool ok;
  double weight;
  int action;
  double conf;
  int lev;
  double sl, tp;
  int regime;
} vrow;

typedef struct {
  const char *name;
  int min_agree;
  bool allow_single;
  double min_conf;
  int n;
  vrow v[6];
  /* expected */
  int action;
  int n_answered, n_agree;
  double conf; /* checked for LONG/SHORT */
  int lev;
  double sl, tp;
  int regime;
  const char *reason; /* substring of the reasoning */
} crow;

static const crow cases[] = {
    {"no votes", 2, true, 0.80, 0, {{0}}, H, 0, 0, 0, 0, 0, 0, 0, "no analyst answered (0 asked)"},
    {"all failed", 2, true, 0.80, 2,
     {{false, 1, L, 0.9, 3, 0.07, 0.2, TR}, {false, 1, L, 0.9, 3, 0.07, 0.2, TR}},
     H, 0, 0, 0, 0, 0, 0, 0, "no analyst answered (2 asked)"},
    {"single answer without ALLOW_SINGLE_MODEL", 2, false, 0.80, 2,
     {{true, 1, L, 0.9, 3, 0.07, 0.2, TR}, {false, 1, H, 0, 0, 0, 0, 0}},
     H, 1, 0, 0, 0, 0, 0, 0, "ALLOW_SINGLE_MODEL is off"},
    {"single answer with ALLOW_SINGLE_MODEL decides alone", 2, true, 0.80, 2,
     {{false, 1, H, 0, 0, 0, 0, 0}, {true, 1, S, 0.85, 2, 0.075, 0.15, RA}},
     S, 1, 1, 0.85, 2, 0.075, 0.15, RA, "consensus SHORT"},
    {"a failed vote's action never counts", 2, false, 0.80, 2,
     {{true, 1, L, 0.9, 3, 0.07, 0.2, TR}, {false, 1, L, 0.9, 3, 0.07, 0.2, TR}},
     H, 1, 0, 0, 0, 0, 0, 0, "only one analyst answered"},
    {"two agree: weighted mean, lowest leverage, widest stop, lowest tp, cautious regime", 2,
     false, 0.80, 2,
     {{true, 2, L, 0.90, 3, 0.07, 0.20, TR}, {true, 1, L, 0.81, 2, 0.08, 0.12, RA}},
     L, 2, 2, (0.90 * 2 + 0.81 * 1) / 3, 2, 0.08, 0.12, RA, "consensus LONG"},
    {"long against short with two answered is no consensus", 2, true, 0.80, 2,
     {{true, 1, L, 0.9, 3, 0.07, 0.2, TR}, {true, 1, S, 0.9, 3, 0.07, 0.2, TR}},
     H, 2, 1, 0, 0, 0, 0, 0, "no consensus: LONG 1, SHORT 1, HOLD 0 of 2 answered (need 2)"},
    {"two of three agree", 2, false, 0.80, 3,
     {{true, 1, L, 0.85, 3, 0.07, 0.2, TR},
      {true, 1, S, 0.95, 3, 0.07, 0.2, TR},
      {true, 1, L, 0.95, 3, 0.075, 0.3, VO}},
     L, 3, 2, (0.85 + 0.95) / 2, 3, 0.075, 0.2, VO, "consensus LONG"},
    {"min_agree 3 is not met by two of three", 3, false, 0.80, 3,
     {{true, 1, L, 0.85, 3, 0.07, 0.2, TR},
      {true, 1, S, 0.95, 3, 0.07, 0.2, TR},
      {true, 1, L, 0.95, 3, 0.07, 0.2, TR}},
     H, 3, 2, 0, 0, 0, 0, 0, "need 3"},
    {"a HOLD vote counts as answered: one LONG cannot decide alone", 2, true, 0.80, 2,
     {{true, 1, L, 0.95, 3, 0.07, 0.2, TR}, {true, 1, H, 0.6, 0, 0, 0, RA}},
     H, 2, 1, 0, 0, 0, 0, 0, "LONG 1, SHORT 0, HOLD 1"},
    {"min_agree 1: the heavier side wins", 1, false, 0.80, 2,
     {{true, 1, L, 0.95, 3, 0.07, 0.2, TR}, {true, 2, S, 0.85, 2, 0.08, 0.1, TR}},
     S, 2, 1, 0.85, 2, 0.08, 0.1, TR, "consensus SHORT"},
    {"min_agree 1: equal weights on both sides is a tie", 1, false, 0.80, 2,
     {{true, 1.5, L, 0.95, 3, 0.07, 0.2, TR}, {true, 1.5, S, 0.95, 3, 0.07, 0.2, TR}},
     H, 2, 1, 0, 0, 0, 0, 0, "tie"},
    {"both sides reach need: weight beats count", 2, false, 0.80, 4,
     {{true, 0.5, L, 0.95, 3, 0.07, 0.2, TR},
      {true, 0.5, L, 0.95, 3, 0.07, 0.2, TR},
      {true, 1.0, S, 0.90, 3, 0.07, 0.2, TR},
      {true, 1.0, S, 0.80, 2, 0.08, 0.2, TR}},
     S, 4, 2, (0.90 + 0.80) / 2, 2, 0.08, 0.2, TR, "consensus SHORT"},
    {"agreement below MIN_AI_CONFIDENCE is HOLD", 2, false, 0.80, 2,
     {{true, 1, L, 0.78, 3, 0.07, 0.2, TR}, {true, 1, L, 0.79, 3, 0.07, 0.2, TR}},
     H, 2, 2, 0, 0, 0, 0, 0, "below minimum 0.80"},
    {"weights decide whether confidence is reached", 2, false, 0.80, 2,
     {{true, 1, L, 0.95, 3, 0.07, 0.2, TR}, {true, 3, L, 0.70, 3, 0.07, 0.2, TR}},
     H, 2, 2, 0, 0, 0, 0, 0, "below minimum 0.80"},
    {"the same votes pass with the weights the other way round", 2, false, 0.80, 2,
     {{true, 3, L, 0.95, 3, 0.07, 0.2, TR}, {true, 1, L, 0.70, 3, 0.07, 0.2, TR}},
     L, 2, 2, (0.95 * 3 + 0.70) / 4, 3, 0.07, 0.2, TR, "consensus LONG"},
    {"min_confidence below 0.75 is raised to 0.75", 2, false, 0.50, 2,
     {{true, 1, L, 0.76, 3, 0.07, 0.2, TR}, {true, 1, L, 0.70, 3, 0.07, 0.2, TR}},
     H, 2, 2, 0, 0, 0, 0, 0, "below minimum 0.75"},
    {"a vote with weight 0 or NaN does not count", 2, false, 0.80, 3,
     {{true, 1, L, 0.9, 3, 0.07, 0.2, TR},
      {true, 0, L, 0.9, 3, 0.07, 0.2, TR},
      {true, NAN, L, 0.9, 3, 0.07, 0.2, TR}},
     H, 1, 0, 0, 0, 0, 0, 0, "only one analyst answered"},
    {"a confidence outside 0..1 does not count", 2, false, 0.80, 2,
     {{true, 1, L, 0.9, 3, 0.07, 0.2, TR}, {true, 1, L, 1.5, 3, 0.07, 0.2, TR}},
     H, 1, 0, 0, 0, 0, 0, 0, "only one analyst answered"},
    {"three agree with ranging and trending: ranging wins", 2, false, 0.80, 3,
     {{true, 1, S, 0.9, 5, 0.07, 0.2, TR},
      {true, 1, S, 0.9, 4, 0.07, 0.25, RA},
      {true, 1, S, 0.9, 3, 0.072, 0.3, TR}},
     S, 3, 3, 0.9, 3, 0.072, 0.2, RA, "consensus SHORT"},
};

static void fill_votes(const crow *c, strategy_vote *votes) {
  for (int i = 0; i < c->n; i++) {
    strategy_vote *v = &votes[i];
    const vrow *r = &c->v[i];
    memset(v, 0, sizeof *v);
    snprintf(v->analyst, sizeof v->analyst, "analyst%d", i);
    v->ok = r->ok;
    v->weight = r->weight;
    v->decision.action = (lb_action)r->action;
    v->decision.confidence = r->conf;
    v->decision.leverage = r->lev;
    v->decision.stop_loss_percent = r->sl;
    v->decision.take_profit_percent = r->tp;
    v->decision.regime = (lb_regime)r->regime;
    if (!r->ok) snprintf(v->error, sizeof v->error, "timeout after 3 attempts");
  }
}

TEST(consensus_table_follows_rules_1_to_4) {
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const crow *c = &cases[k];
    strategy_vote votes[6];
    fill_votes(c, votes);
    strategy_consensus_rules rules = {c->min_agree, c->allow_single, c->min_conf};
    strategy_consensus out;
    strategy_consensus_decide(votes, c->n, &rules, &out);
    const lb_decision *d = &out.decision;
    if ((int)d->action != c->action || out.n_answered != c->n_answered ||
        out.n_agree != c->n_agree || !strstr(d->reasoning, c->reason))
      printf("  case \"%s\": got %s answered=%d agree=%d reasoning=\"%s\"\n", c->name,
             lb_action_name(d->action), out.n_answered, out.n_agree, d->reasoning);
    CHECK_EQ(d->action, c->action);
    CHECK_EQ(out.n_votes, c->n);
    CHECK_EQ(out.n_answered, c->n_answered);
    CHECK_EQ(out.n_agree, c->n_agree);
    CHECK_CONTAINS(d->reasoning, c->reason);
    if (c->action != H) {
      CHECK_NEAR(d->confidence, c->conf, 1e-12);
      CHECK_EQ(d->leverage, c->lev);
      CHECK_NEAR(d->stop_loss_percent, c->sl, 1e-12);
      CHECK_NEAR(d->take_profit_percent, c->tp, 1e-12);
      CHECK_EQ(d->regime, c->regime);
    } else {
      CHECK_EQ(d->leverage, 0);
    }
  }
}

TEST(consensus_result_passes_the_decision_checks_its_votes_passed) {
  /* Rule 3 only picks values some agreeing vote had, so a merged decision
   * is inside the limits every vote was checked against. */
  const lb_decision_limits lim = {3, 0.07, 0.08};
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const crow *c = &cases[k];
    if (c->action == H) continue;
    strategy_vote votes[6];
    fill_votes(c, votes);
    bool in_limits = true;
    for (int i = 0; i < c->n; i++)
      if (votes[i].ok && lb_decision_check(&votes[i].decision, &lim, NULL) != LB_OK)
        in_limits = false;
    if (!in_limits) continue;
    strategy_consensus_rules rules = {c->min_agree, c->allow_single, c->min_conf};
    strategy_consensus out;
    strategy_consensus_decide(votes, c->n, &rules, &out);
    lb_errbuf eb;
    CHECK_OK(lb_decision_check(&out.decision, &lim, &eb));
  }
}

TEST(consensus_is_independent_of_vote_order) {
  strategy_vote votes[3], rev[3];
  const crow *c = &cases[7]; /* two of three agree */
  fill_votes(c, votes);
  for (int i = 0; i < 3; i++) rev[i] = votes[2 - i];
  strategy_consensus_rules rules = {2, false, 0.8};
  strategy_consensus a, b;
  strategy_consensus_decide(votes, 3, &rules, &a);
  strategy_consensus_decide(rev, 3, &rules, &b);
  CHECK_EQ(a.decision.action, b.decision.action);
  CHECK_NEAR(a.decision.confidence, b.decision.confidence, 1e-12);
  CHECK_EQ(a.decision.leverage, b.decision.leverage);
  CHECK_NEAR(a.decision.stop_loss_percent, b.decision.stop_loss_percent, 0);
  CHECK_NEAR(a.decision.take_profit_percent, b.decision.take_profit_percent, 0);
  CHECK_EQ(a.decision.regime, b.decision.regime);
}

TEST(consensus_reasoning_names_the_agreeing_analysts) {
  strategy_vote votes[3];
  fill_votes(&cases[7], votes);
  strategy_consensus_rules rules = {2, false, 0.8};
  strategy_consensus out;
  strategy_consensus_decide(votes, 3, &rules, &out);
  CHECK_CONTAINS(out.decision.reasoning, "analyst0 0.85");
  CHECK_CONTAINS(out.decision.reasoning, "analyst2 0.95");
  CHECK_NOT_CONTAINS(out.decision.reasoning, "analyst1");
}

TEST(consensus_reasoning_stays_bounded_with_long_analyst_names) {
  strategy_vote votes[STRATEGY_MAX_VOTERS];
  for (int i = 0; i < STRATEGY_MAX_VOTERS; i++) {
    memset(&votes[i], 0, sizeof votes[i]);
    memset(votes[i].analyst, 'x', sizeof votes[i].analyst - 1);
    votes[i].ok = true;
    votes[i].weight = 1;
    votes[i].decision = (lb_decision){LB_ACTION_LONG, 0.9, 3, 0.07, 0.2, LB_REGIME_TRENDING, "r"};
  }
  strategy_consensus_rules rules = {2, false, 0.8};
  strategy_consensus out;
  strategy_consensus_decide(votes, STRATEGY_MAX_VOTERS, &rules, &out);
  CHECK_EQ(out.decision.action, L);
  CHECK_EQ(out.n_agree, STRATEGY_MAX_VOTERS);
  CHECK(strlen(out.decision.reasoning) < LB_REASONING_MAX);
}
