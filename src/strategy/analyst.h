/* analyst.h -- how the engine asks analysts for a decision, and how votes combine.
 *
 * Owns: the panel interface every source of decisions implements (the
 * built-in technical analyst in src/strategy, the LLM providers in src/ai,
 * or a mix), the vote record, and the consensus rule: a pure function from
 * votes to one decision.
 *
 * Must not: size positions or place orders (src/risk, src/engine).  A vote
 * that is missing, malformed or out of range never counts as a vote for a
 * trade: it is recorded with ok = false and its reason.
 *
 * Consensus rule (strategy_consensus_decide):
 *   1. Only votes with ok = true count as "answered".
 *   2. A direction (LONG or SHORT) wins only if at least `need` answered
 *      votes agree on it, where need = rules->min_agree when at least two
 *      analysts answered, and 1 when exactly one answered and
 *      rules->allow_single is set (otherwise HOLD).  Weights decide between
 *      LONG and SHORT when both reach `need` (the larger total weight wins;
 *      a tie is HOLD).
 *   3. confidence = weighted mean confidence of the agreeing votes;
 *      leverage = the lowest agreeing leverage; stop_loss_percent = the
 *      widest agreeing stop that is still inside the risk range (risk clamps
 *      it again); take_profit_percent = the lowest agreeing one; regime =
 *      the most cautious agreeing regime (volatile > ranging > trending).
 *   4. A consensus whose confidence is below rules->min_confidence is HOLD
 *      with that reason.
 */
#ifndef LB_STRATEGY_ANALYST_H
#define LB_STRATEGY_ANALYST_H

#include <stdbool.h>

#include "core/decision.h"
#include "core/money.h"
#include "core/time.h"
#include "ta/ta.h"

#define STRATEGY_MAX_VOTERS 8

/* What an analyst is told besides the indicators (the LLM prompt carries
 * it; the technical analyst may use it). */
typedef struct {
  lb_dec capital;
  lb_dec mark_price;
  double funding_rate;       /* current, per 8 h; NAN if unknown */
  int max_leverage;          /* MAX_LEVERAGE */
  double min_stop, max_stop; /* MIN/MAX_STOP_LOSS_PERCENT */
  double max_risk_per_trade; /* MAX_RISK_PER_TRADE */
  lb_ms now;
} strategy_context;

typedef struct {
  char analyst[64];   /* "technical", "anthropic/claude-sonnet-4-5", ... */
  double weight;      /* > 0 */
  bool ok;            /* answered with a valid decision */
  lb_decision decision; /* a HOLD carrying the reason when !ok */
  char error[256];    /* why !ok ("timeout after 3 attempts", "leverage 7 outside 1..3") */
  int attempts;
  lb_ms latency_ms;
  bool cached;        /* answered from the AI cache: no request made */
} strategy_vote;

/* A panel of analysts.  ask() is blocking and may take long (LLM calls
 * with retries): the engine never calls it on the position-monitor path. */
typedef struct strategy_panel {
  const char *name;
  /* Writes one vote per analyst (at most max); returns the count. */
  int (*ask)(struct strategy_panel *self, const ta_snapshot *snap, const strategy_context *ctx,
             strategy_vote *votes, int max);
  void (*destroy)(struct strategy_panel *self);
  void *impl;
} strategy_panel;

typedef struct {
  int min_agree;         /* agreeing votes needed when >= 2 answered (default 2) */
  bool allow_single;     /* ALLOW_SINGLE_MODEL: one answer may decide alone */
  double min_confidence; /* MIN_AI_CONFIDENCE (never below 0.75) */
} strategy_consensus_rules;

typedef struct {
  lb_decision decision; /* HOLD with the reason when there is no consensus */
  int n_votes, n_answered, n_agree;
} strategy_consensus;

void strategy_consensus_decide(const strategy_vote *votes, int n,
                               const strategy_consensus_rules *rules, strategy_consensus *out);

#endif
