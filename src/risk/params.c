/* params.c -- risk parameters from the configuration, their checks, the names
 * of refusal reasons and the regime x confidence leverage table.
 *
 * risk_params is the only way thresholds reach the rules, so tests can build
 * any configuration by hand (including ones the configuration table would
 * refuse, like a 20x ceiling) and risk_params_check() is what stands between
 * a hand-made or corrupted set and the planner.
 */
#include <math.h>
#include <string.h>

#include "risk/internal.h"

/* ==== Names ==== */

static const char *const refusal_names[] = {
#define RISK_REFUSAL_NAME_(id, name, desc) name,
    RISK_REFUSAL_MAP(RISK_REFUSAL_NAME_)
#undef RISK_REFUSAL_NAME_
};

static const char *const refusal_descs[] = {
#define RISK_REFUSAL_DESC_(id, name, desc) desc,
    RISK_REFUSAL_MAP(RISK_REFUSAL_DESC_)
#undef RISK_REFUSAL_DESC_
};

const char *risk_refusal_name(risk_refusal r) {
  return (unsigned)r < RISK_REFUSAL__COUNT ? refusal_names[r] : "unknown";
}

const char *risk_refusal_desc(risk_refusal r) {
  return (unsigned)r < RISK_REFUSAL__COUNT ? refusal_descs[r] : "unknown refusal";
}

risk_refusal risk_refusal_from_name(const char *name) {
  for (int i = 0; name && i < RISK_REFUSAL__COUNT; i++)
    if (strcmp(refusal_names[i], name) == 0) return (risk_refusal)i;
  return RISK_REFUSAL__COUNT;
}

static const char *const stop_mode_names[] = {"fixed", "swing", "atr"};

const char *risk_stop_mode_name(risk_stop_mode m) {
  return (unsigned)m < 3 ? stop_mode_names[m] : "unknown";
}

/* ==== Leverage table ==== */

/* volatile > unknown > ranging > trending: the more cautious regime wins. */
static int caution(lb_regime r) {
  switch (r) {
  case LB_REGIME_TRENDING: return 0;
  case LB_REGIME_RANGING: return 1;
  case LB_REGIME_UNKNOWN: return 2;
  case LB_REGIME_VOLATILE:
  default: return 3;
  }
}

int risk_regime_ceiling(const risk_leverage_table *t, lb_regime decision_regime,
                        lb_regime market_regime, double confidence) {
  lb_regime r = caution(decision_regime) >= caution(market_regime) ? decision_regime
                                                                    : market_regime;
  switch (r) {
  case LB_REGIME_TRENDING:
    return confidence >= t->strong_confidence ? t->trending_strong : t->trending;
  case LB_REGIME_RANGING: return t->ranging;
  case LB_REGIME_UNKNOWN: return t->unknown;
  case LB_REGIME_VOLATILE:
  default: return t->volatile_max;
  }
}

/* ==== From the configuration ==== */

static int word_index(const char *s, const char *const *words, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(s, words[i]) == 0) return i;
  return -1;
}

lb_err risk_params_from_config(const lb_config *c, risk_params *p) {
  static const char *const tp_words[] = {"rr", "analyst"};
  static const char *const trail_words[] = {"atr", "percent"};
  memset(p, 0, sizeof *p);
  int stop_mode = word_index(c->stop_loss_mode, stop_mode_names, 3);
  int tp_mode = word_index(c->take_profit_mode, tp_words, 2);
  int trail_mode = word_index(c->trailing_stop_mode, trail_words, 2);
  if (stop_mode < 0 || tp_mode < 0 || trail_mode < 0) return LB_ECONFIG;

  p->max_leverage = (int)c->max_leverage;
  /* DESIGN.md section 3: trending and confidence >= 0.80 up to 5x, ranging
   * 3x, volatile 2x or no trade.  Trending below 0.80 gets the ranging
   * ceiling; an unknown regime (indicators not warmed up) gets no leverage. */
  p->lev = (risk_leverage_table){.trending_strong = 5,
                                 .trending = 3,
                                 .ranging = 3,
                                 .volatile_max = (int)c->volatile_max_leverage,
                                 .unknown = 1,
                                 .strong_confidence = 0.80};
  p->min_confidence = c->min_ai_confidence < 0.75 ? 0.75 : c->min_ai_confidence;
  p->max_open_positions = (int)c->max_open_positions;
  p->max_risk_per_trade = c->max_risk_per_trade;
  p->taker_fee = c->taker_fee;
  p->slippage = c->slippage_bps / 10000.0;
  p->min_profit_usd = c->min_profit_usd;
  p->min_rr = c->min_risk_reward;
  p->liquidation_buffer = c->liquidation_buffer_percent;
  p->min_stop = c->min_stop_loss_percent;
  p->max_stop = c->max_stop_loss_percent;
  p->stop_mode = (risk_stop_mode)stop_mode;
  p->atr_stop_multiple = c->atr_stop_multiple;
  p->swing_buffer = c->swing_stop_buffer_percent;
  p->tp_mode = (risk_tp_mode)tp_mode;
  p->target_rr = c->take_profit_risk_reward;
  p->trail_enabled = c->trailing_stop_enabled;
  p->trail_activation_r = c->trailing_activation_r;
  p->trail_mode = (risk_trail_mode)trail_mode;
  p->trail_atr_multiple = c->trailing_atr_multiple;
  p->trail_percent = c->trailing_stop_percent;
  p->daily_loss_limit = c->daily_loss_limit_percent;
  p->max_consecutive_losses = (int)c->max_consecutive_losses;
  p->max_drawdown = c->max_drawdown_percent;
  p->max_failures = (int)c->max_failures;
  p->failure_window = c->failure_window_minutes * LB_MS_MINUTE;
  p->cooldown = c->breaker_cooldown_minutes * LB_MS_MINUTE;
  return LB_OK;
}

void risk_params_default(risk_params *p) {
  lb_config c;
  lb_config_defaults(&c);
  lb_err rc = risk_params_from_config(&c, p);
  (void)rc; /* the defaults use known words; test_params checks it */
}

/* ==== Checks ==== */

static bool in(double x, double lo, double hi) { return isfinite(x) && x >= lo && x <= hi; }

#define NEED(cond, field, fmt, val)                                                  \
  do {                                                                               \
    if (!(cond)) return lb_fail(eb, LB_EINVAL, "risk parameter " field " = " fmt " %s", val, \
                                "is out of range");                                  \
  } while (0)

lb_err risk_params_check(const risk_params *p, lb_errbuf *eb) {
  const risk_leverage_table *t = &p->lev;
  NEED(p->max_leverage >= 1 && p->max_leverage <= 125, "max_leverage", "%d", p->max_leverage);
  NEED(t->trending_strong >= 1 && t->trending_strong <= 125, "lev.trending_strong", "%d",
       t->trending_strong);
  NEED(t->trending >= 1 && t->trending <= 125, "lev.trending", "%d", t->trending);
  NEED(t->ranging >= 1 && t->ranging <= 125, "lev.ranging", "%d", t->ranging);
  NEED(t->volatile_max >= 0 && t->volatile_max <= 125, "lev.volatile_max", "%d", t->volatile_max);
  NEED(t->unknown >= 1 && t->unknown <= 125, "lev.unknown", "%d", t->unknown);
  NEED(in(t->strong_confidence, 0, 1), "lev.strong_confidence", "%g", t->strong_confidence);
  NEED(in(p->min_confidence, 0.75, 1), "min_confidence", "%g", p->min_confidence);
  NEED(p->max_open_positions >= 1, "max_open_positions", "%d", p->max_open_positions);
  NEED(in(p->max_risk_per_trade, 1e-8, 0.10), "max_risk_per_trade", "%g", p->max_risk_per_trade);
  NEED(in(p->taker_fee, 0, 0.01), "taker_fee", "%g", p->taker_fee);
  NEED(in(p->slippage, 0, 0.05), "slippage", "%g", p->slippage);
  NEED(p->min_profit_usd >= 0, "min_profit_usd", "%g", lb_dec_to_double(p->min_profit_usd));
  NEED(in(p->min_rr, 0, 100), "min_rr", "%g", p->min_rr);
  NEED(in(p->liquidation_buffer, 1e-8, 0.5), "liquidation_buffer", "%g", p->liquidation_buffer);
  NEED(in(p->min_stop, 0.0001, 0.5), "min_stop", "%g", p->min_stop);
  NEED(in(p->max_stop, p->min_stop, 0.5), "max_stop", "%g", p->max_stop);
  NEED((unsigned)p->stop_mode <= RISK_STOP_ATR, "stop_mode", "%d", (int)p->stop_mode);
  NEED(in(p->atr_stop_multiple, 0.01, 100), "atr_stop_multiple", "%g", p->atr_stop_multiple);
  NEED(in(p->swing_buffer, 0, 0.5), "swing_buffer", "%g", p->swing_buffer);
  NEED((unsigned)p->tp_mode <= RISK_TP_ANALYST, "tp_mode", "%d", (int)p->tp_mode);
  NEED(in(p->target_rr, 0.01, 100), "target_rr", "%g", p->target_rr);
  NEED(in(p->trail_activation_r, 0, 100), "trail_activation_r", "%g", p->trail_activation_r);
  NEED((unsigned)p->trail_mode <= RISK_TRAIL_PERCENT, "trail_mode", "%d", (int)p->trail_mode);
  NEED(in(p->trail_atr_multiple, 0.01, 100), "trail_atr_multiple", "%g", p->trail_atr_multiple);
  NEED(in(p->trail_percent, 1e-6, 0.5), "trail_percent", "%g", p->trail_percent);
  NEED(in(p->daily_loss_limit, 1e-8, 1), "daily_loss_limit", "%g", p->daily_loss_limit);
  NEED(p->max_consecutive_losses >= 1, "max_consecutive_losses", "%d", p->max_consecutive_losses);
  NEED(in(p->max_drawdown, 1e-8, 0.99999999), "max_drawdown", "%g", p->max_drawdown);
  NEED(p->max_failures >= 1 && p->max_failures <= RISK_FAILURES_MAX, "max_failures", "%d",
       p->max_failures);
  NEED(p->failure_window > 0, "failure_window", "%lld", (long long)p->failure_window);
  NEED(p->cooldown > 0, "cooldown", "%lld", (long long)p->cooldown);
  return LB_OK;
}
