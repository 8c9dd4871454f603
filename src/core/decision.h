/* decision.h -- the trading decision every analyst returns, and its checks.
 *
 * Owns: the decision schema of DESIGN.md section 3 (one JSON object per
 * analyst: action, confidence, leverage, stop_loss_percent,
 * take_profit_percent, market_regime, reasoning) as a C struct, its strict
 * conversion from and to JSON, and the range checks against the configured
 * limits.  The built-in technical analyst and every LLM provider speak this
 * one schema, so risk and consensus never care who decided.
 *
 * Must not: decide anything.  A decision that fails a check is reported as
 * an error with the reason; callers turn it into HOLD and record the reason.
 *
 * Invariants: a decision returned by lb_decision_from_json passed
 * lb_decision_check (exactly the schema's fields, each of its type and in
 * range); on any failure the output is a HOLD whose reasoning says why.
 */
#ifndef LB_CORE_DECISION_H
#define LB_CORE_DECISION_H

#include <stdbool.h>

#include "core/err.h"

typedef enum { LB_ACTION_HOLD = 0, LB_ACTION_LONG = 1, LB_ACTION_SHORT = 2 } lb_action;

typedef enum {
  LB_REGIME_UNKNOWN = 0,
  LB_REGIME_TRENDING = 1,
  LB_REGIME_RANGING = 2,
  LB_REGIME_VOLATILE = 3
} lb_regime;

#define LB_REASONING_MAX 1024

typedef struct {
  lb_action action;
  double confidence;          /* 0..1 */
  int leverage;               /* 1..MAX_LEVERAGE */
  double stop_loss_percent;   /* fraction: 0.07 = 7 % */
  double take_profit_percent; /* fraction, > 0 */
  lb_regime regime;
  char reasoning[LB_REASONING_MAX];
} lb_decision;

/* Limits a decision is checked against (from the configuration). */
typedef struct {
  int max_leverage;
  double min_stop, max_stop; /* MIN/MAX_STOP_LOSS_PERCENT */
} lb_decision_limits;

const char *lb_action_name(lb_action a);   /* "LONG", "SHORT", "HOLD" */
const char *lb_regime_name(lb_regime r);   /* "trending", ... , "unknown" */
lb_err lb_action_parse(const char *s, lb_action *out);
lb_err lb_regime_parse(const char *s, lb_regime *out);

/* A HOLD with the given reason (printf-style). */
void lb_decision_hold(lb_decision *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Range checks of DESIGN.md section 3.  On failure eb names the field and
 * the value, e.g. "leverage 7 outside 1..3". */
lb_err lb_decision_check(const lb_decision *d, const lb_decision_limits *lim, lb_errbuf *eb);

/* Parses exactly one JSON object text (no surrounding prose: finding the
 * object inside an LLM reply is src/ai's job).  Every field is required,
 * every type must match, unknown fields are refused, then
 * lb_decision_check() runs.  Returns LB_EPARSE or LB_ERANGE with the
 * reason in eb; *out is then a HOLD carrying that reason. */
lb_err lb_decision_from_json(const char *json, size_t len, const lb_decision_limits *lim,
                             lb_decision *out, lb_errbuf *eb);

/* The decision as one compact JSON object (the schema above); the caller
 * frees the string with free(). NULL on out-of-memory. */
char *lb_decision_to_json(const lb_decision *d);

#endif
