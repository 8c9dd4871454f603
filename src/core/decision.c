/* decision.c -- the decision schema: names, checks, strict JSON (see decision.h). */
#include "core/decision.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const action_names[] = {"HOLD", "LONG", "SHORT"};
static const char *const regime_names[] = {"unknown", "trending", "ranging", "volatile"};

const char *lb_action_name(lb_action a) {
  return (unsigned)a < 3 ? action_names[a] : "HOLD";
}

const char *lb_regime_name(lb_regime r) {
  return (unsigned)r < 4 ? regime_names[r] : "unknown";
}

lb_err lb_action_parse(const char *s, lb_action *out) {
  for (int i = 0; i < 3; i++)
    if (s && strcmp(s, action_names[i]) == 0) {
      *out = (lb_action)i;
      return LB_OK;
    }
  return LB_EPARSE;
}

lb_err lb_regime_parse(const char *s, lb_regime *out) {
  for (int i = 1; i < 4; i++)
    if (s && strcmp(s, regime_names[i]) == 0) {
      *out = (lb_regime)i;
      return LB_OK;
    }
  return LB_EPARSE;
}

void lb_decision_hold(lb_decision *d, const char *fmt, ...) {
  memset(d, 0, sizeof *d);
  d->action = LB_ACTION_HOLD;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(d->reasoning, sizeof d->reasoning, fmt, ap);
  va_end(ap);
}

lb_err lb_decision_check(const lb_decision *d, const lb_decision_limits *lim, lb_errbuf *eb) {
  if (!(d->confidence >= 0.0 && d->confidence <= 1.0))
    return lb_fail(eb, LB_ERANGE, "confidence %g outside 0..1", d->confidence);
  if (d->regime < LB_REGIME_TRENDING || d->regime > LB_REGIME_VOLATILE)
    return lb_fail(eb, LB_ERANGE, "market_regime missing or unknown");
  if (d->action == LB_ACTION_HOLD) return LB_OK; /* nothing below applies to a HOLD */
  if (d->leverage < 1 || d->leverage > lim->max_leverage)
    return lb_fail(eb, LB_ERANGE, "leverage %d outside 1..%d", d->leverage, lim->max_leverage);
  /* Compare with a small tolerance: "0.08" parsed from JSON is 0.08 exactly
   * as a double, but a model's 0.0800000001 is not a real violation. */
  const double tol = 1e-9;
  if (!(d->stop_loss_percent >= lim->min_stop - tol && d->stop_loss_percent <= lim->max_stop + tol))
    return lb_fail(eb, LB_ERANGE, "stop_loss_percent %g outside %g..%g", d->stop_loss_percent,
                   lim->min_stop, lim->max_stop);
  if (!(d->take_profit_percent > 0.0 && d->take_profit_percent < 10.0))
    return lb_fail(eb, LB_ERANGE, "take_profit_percent %g must be > 0 (and < 10)",
                   d->take_profit_percent);
  return LB_OK;
}

static const char *const fields[] = {"action",   "confidence",          "leverage",
                                     "stop_loss_percent", "take_profit_percent",
                                     "market_regime", "reasoning"};

static lb_err get_number(json_t *o, const char *k, double *out, lb_errbuf *eb) {
  json_t *v = json_object_get(o, k);
  if (!v) return lb_fail(eb, LB_EPARSE, "field \"%s\" missing", k);
  if (!json_is_number(v)) return lb_fail(eb, LB_EPARSE, "field \"%s\" is not a number", k);
  *out = json_number_value(v);
  if (!isfinite(*out)) return lb_fail(eb, LB_EPARSE, "field \"%s\" is not finite", k);
  return LB_OK;
}

static lb_err get_string(json_t *o, const char *k, const char **out, lb_errbuf *eb) {
  json_t *v = json_object_get(o, k);
  if (!v) return lb_fail(eb, LB_EPARSE, "field \"%s\" missing", k);
  if (!json_is_string(v)) return lb_fail(eb, LB_EPARSE, "field \"%s\" is not a string", k);
  *out = json_string_value(v);
  return LB_OK;
}

static lb_err parse_obj(json_t *o, const lb_decision_limits *lim, lb_decision *d, lb_errbuf *eb) {
  const char *key;
  json_t *val;
  json_object_foreach(o, key, val) {
    size_t i;
    for (i = 0; i < sizeof fields / sizeof fields[0]; i++)
      if (strcmp(key, fields[i]) == 0) break;
    if (i == sizeof fields / sizeof fields[0])
      return lb_fail(eb, LB_EPARSE, "unexpected field \"%.64s\"", key);
  }
  const char *s;
  lb_err rc;
  if ((rc = get_string(o, "action", &s, eb))) return rc;
  if (lb_action_parse(s, &d->action))
    return lb_fail(eb, LB_ERANGE, "action \"%.32s\" is not LONG, SHORT or HOLD", s);
  if ((rc = get_number(o, "confidence", &d->confidence, eb))) return rc;
  double lev;
  if ((rc = get_number(o, "leverage", &lev, eb))) return rc;
  if (lev != floor(lev) || lev < -1e6 || lev > 1e6)
    return lb_fail(eb, LB_ERANGE, "leverage %g is not an integer", lev);
  d->leverage = (int)lev;
  if ((rc = get_number(o, "stop_loss_percent", &d->stop_loss_percent, eb))) return rc;
  if ((rc = get_number(o, "take_profit_percent", &d->take_profit_percent, eb))) return rc;
  if ((rc = get_string(o, "market_regime", &s, eb))) return rc;
  if (lb_regime_parse(s, &d->regime))
    return lb_fail(eb, LB_ERANGE, "market_regime \"%.32s\" is not trending, ranging or volatile", s);
  if ((rc = get_string(o, "reasoning", &s, eb))) return rc;
  snprintf(d->reasoning, sizeof d->reasoning, "%s", s);
  return lb_decision_check(d, lim, eb);
}

lb_err lb_decision_from_json(const char *json, size_t len, const lb_decision_limits *lim,
                             lb_decision *out, lb_errbuf *eb) {
  lb_errbuf local;
  if (!eb) eb = &local;
  json_error_t jerr;
  json_t *o = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
  lb_err rc;
  lb_decision d;
  memset(&d, 0, sizeof d);
  if (!o) {
    rc = lb_fail(eb, LB_EPARSE, "not valid JSON: %s (column %d)", jerr.text, jerr.column);
  } else if (!json_is_object(o)) {
    rc = lb_fail(eb, LB_EPARSE, "JSON is not an object");
  } else {
    rc = parse_obj(o, lim, &d, eb);
  }
  json_decref(o);
  if (rc != LB_OK) {
    lb_decision_hold(out, "rejected answer: %s", eb->msg);
    return rc;
  }
  *out = d;
  return LB_OK;
}

char *lb_decision_to_json(const lb_decision *d) {
  json_t *o = json_pack("{s:s, s:f, s:i, s:f, s:f, s:s, s:s}", "action", lb_action_name(d->action),
                        "confidence", d->confidence, "leverage", d->leverage,
                        "stop_loss_percent", d->stop_loss_percent, "take_profit_percent",
                        d->take_profit_percent, "market_regime", lb_regime_name(d->regime),
                        "reasoning", d->reasoning);
  if (!o) return NULL;
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
  json_decref(o);
  return s;
}
