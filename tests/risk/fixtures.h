/* fixtures.h -- builders shared by the risk tests: the seed's configurations,
 * decisions, market snapshots and exact decimals. */
#ifndef LB_TESTS_RISK_FIXTURES_H
#define LB_TESTS_RISK_FIXTURES_H

#include <math.h>
#include <string.h>

#include "core/config.h"
#include "risk/risk.h"
#include "unit.h"

static inline lb_dec D(const char *s) {
  lb_dec d = 0;
  if (lb_dec_parse(s, &d) != LB_OK) lbt_fail(__FILE__, __LINE__, "bad decimal literal %s", s);
  return d;
}

/* Loads a configuration from NULL-terminated "K=V" strings (no .env file)
 * and turns it into risk parameters, as the engine will. */
static inline bool load_params(char **env, risk_params *p, lb_config *cfg_out) {
  static lb_config c;
  lb_cfg_report rep;
  memset(&rep, 0, sizeof rep);
  lb_cfg_source src = {.env_file = "/nonexistent/levbot.env", .envp = env};
  lb_err rc = lb_config_load(&c, &src, &rep);
  for (int i = 0; i < rep.n_errors; i++) printf("    config error: %s\n", rep.errors[i]);
  if (rc != LB_OK || risk_params_from_config(&c, p) != LB_OK) return false;
  if (cfg_out) *cfg_out = c;
  return true;
}

/* The seed's "Configuration Recommendations" (Conservative, Aggressive). */
static char *seed_conservative_env[] = {
    "INITIAL_CAPITAL=100.00",       "MAX_LEVERAGE=3",         "MIN_STOP_LOSS_PERCENT=0.07",
    "MAX_STOP_LOSS_PERCENT=0.08",   "MIN_PROFIT_USD=3.00",    "MIN_AI_CONFIDENCE=0.80",
    "SCAN_INTERVAL_SECONDS=300",    "USE_PAPER_TRADING=true", NULL};
static char *seed_aggressive_env[] = {
    "INITIAL_CAPITAL=500.00",       "MAX_LEVERAGE=5",          "MIN_STOP_LOSS_PERCENT=0.05",
    "MAX_STOP_LOSS_PERCENT=0.10",   "MIN_PROFIT_USD=5.00",     "MIN_AI_CONFIDENCE=0.75",
    "SCAN_INTERVAL_SECONDS=180",    "USE_PAPER_TRADING=false", NULL};

static inline void seed_conservative(risk_params *p) {
  if (!load_params(seed_conservative_env, p, NULL)) lbt_fail(__FILE__, __LINE__, "conservative set");
}
static inline void seed_aggressive(risk_params *p) {
  if (!load_params(seed_aggressive_env, p, NULL)) lbt_fail(__FILE__, __LINE__, "aggressive set");
}

static inline lb_decision dec(lb_action a, double conf, int lev, double stop, double tp,
                              lb_regime regime) {
  lb_decision d;
  memset(&d, 0, sizeof d);
  d.action = a;
  d.confidence = conf;
  d.leverage = lev;
  d.stop_loss_percent = stop;
  d.take_profit_percent = tp;
  d.regime = regime;
  snprintf(d.reasoning, sizeof d.reasoning, "test");
  return d;
}

static inline risk_market mkt(const char *price) {
  risk_market m = {.entry_price = D(price), .atr = NAN, .swing_low = NAN, .swing_high = NAN,
                   .regime = LB_REGIME_TRENDING, .open_positions = 0, .breaker_active = false};
  return m;
}

static inline void btc(lb_symbol_rules *r, lb_bracket_table *t) {
  lb_rules_binance_btcusdt(r);
  lb_brackets_binance_btcusdt(t);
}
static inline void eth(lb_symbol_rules *r, lb_bracket_table *t) {
  lb_rules_binance_ethusdt(r);
  lb_brackets_binance_ethusdt(t);
}

#endif
