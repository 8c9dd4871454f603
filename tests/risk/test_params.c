/* test_params.c -- the risk variables in the configuration table, their
 * cross-variable checks, and the mapping to risk_params. */
#include "fixtures.h"

static bool has(char (*msgs)[256], int n, const char *needle) {
  for (int i = 0; i < n; i++)
    if (strstr(msgs[i], needle)) return true;
  return false;
}

static lb_err load_rep(char **env, lb_config *c, lb_cfg_report *rep) {
  memset(rep, 0, sizeof *rep);
  lb_cfg_source src = {.env_file = "/nonexistent/levbot.env", .envp = env};
  return lb_config_load(c, &src, rep);
}

TEST(params_defaults_are_careful_and_valid) {
  risk_params p;
  risk_params_default(&p);
  lb_errbuf eb;
  CHECK_OK(risk_params_check(&p, &eb));
  CHECK_EQ(p.max_leverage, 3);
  CHECK_EQ(p.lev.trending_strong, 5);
  CHECK_EQ(p.lev.trending, 3);
  CHECK_EQ(p.lev.ranging, 3);
  CHECK_EQ(p.lev.volatile_max, 0); /* volatile: no trade */
  CHECK_EQ(p.lev.unknown, 1);
  CHECK_NEAR(p.lev.strong_confidence, 0.80, 0);
  CHECK_NEAR(p.min_confidence, 0.80, 0);
  CHECK_EQ(p.max_open_positions, 1);
  CHECK_NEAR(p.max_risk_per_trade, 0.10, 0);
  CHECK_NEAR(p.taker_fee, 0.0005, 0);
  CHECK_EQ(p.min_profit_usd, LB_DEC_INT(3));
  CHECK_NEAR(p.min_rr, 1.5, 0);
  CHECK_NEAR(p.liquidation_buffer, 0.02, 0);
  CHECK_EQ(p.stop_mode, RISK_STOP_SWING);
  CHECK_EQ(p.tp_mode, RISK_TP_RR);
  CHECK_NEAR(p.target_rr, 2.0, 0);
  CHECK(p.trail_enabled);
  CHECK_NEAR(p.trail_activation_r, 1.0, 0);
  CHECK_EQ(p.trail_mode, RISK_TRAIL_ATR);
  CHECK_NEAR(p.daily_loss_limit, 0.15, 0);
  CHECK_EQ(p.max_consecutive_losses, 3);
  CHECK_NEAR(p.max_drawdown, 0.20, 0);
  CHECK_EQ(p.max_failures, 5);
  CHECK_EQ(p.failure_window, 15 * LB_MS_MINUTE);
  CHECK_EQ(p.cooldown, 240 * LB_MS_MINUTE);
}

TEST(params_from_the_seed_configurations) {
  risk_params c, a;
  seed_conservative(&c);
  seed_aggressive(&a);
  CHECK_EQ(c.max_leverage, 3);
  CHECK_NEAR(c.min_stop, 0.07, 0);
  CHECK_NEAR(c.max_stop, 0.08, 0);
  CHECK_EQ(a.max_leverage, 5);
  CHECK_NEAR(a.min_stop, 0.05, 0);
  CHECK_NEAR(a.max_stop, 0.10, 0);
  CHECK_EQ(a.min_profit_usd, LB_DEC_INT(5));
  CHECK_NEAR(a.min_confidence, 0.75, 0);
}

TEST(params_every_risk_variable_is_read_from_the_environment) {
  char *env[] = {"STOP_LOSS_MODE=atr", "ATR_STOP_MULTIPLE=2.5", "SWING_STOP_BUFFER_PERCENT=0.004",
                 "TAKE_PROFIT_MODE=analyst", "TAKE_PROFIT_RISK_REWARD=3", "MIN_RISK_REWARD=1.2",
                 "LIQUIDATION_BUFFER_PERCENT=0.03", "VOLATILE_MAX_LEVERAGE=2",
                 "TRAILING_STOP_ENABLED=false", "TRAILING_ACTIVATION_R=1.5",
                 "TRAILING_STOP_MODE=percent", "TRAILING_ATR_MULTIPLE=3",
                 "TRAILING_STOP_PERCENT=0.025", "DAILY_LOSS_LIMIT_PERCENT=0.08",
                 "MAX_CONSECUTIVE_LOSSES=4", "MAX_DRAWDOWN_PERCENT=0.25", "MAX_FAILURES=7",
                 "FAILURE_WINDOW_MINUTES=10", "BREAKER_COOLDOWN_MINUTES=60", "TAKER_FEE=0.0004",
                 "MIN_AI_CONFIDENCE=0.9", "SLIPPAGE_BPS=7.5", NULL};
  risk_params p;
  REQUIRE(load_params(env, &p, NULL));
  CHECK_NEAR(p.slippage, 0.00075, 1e-15); /* the engine's SLIPPAGE_BPS, as a fraction */
  CHECK_EQ(p.stop_mode, RISK_STOP_ATR);
  CHECK_NEAR(p.atr_stop_multiple, 2.5, 0);
  CHECK_NEAR(p.swing_buffer, 0.004, 0);
  CHECK_EQ(p.tp_mode, RISK_TP_ANALYST);
  CHECK_NEAR(p.target_rr, 3, 0);
  CHECK_NEAR(p.min_rr, 1.2, 0);
  CHECK_NEAR(p.liquidation_buffer, 0.03, 0);
  CHECK_EQ(p.lev.volatile_max, 2);
  CHECK(!p.trail_enabled);
  CHECK_NEAR(p.trail_activation_r, 1.5, 0);
  CHECK_EQ(p.trail_mode, RISK_TRAIL_PERCENT);
  CHECK_NEAR(p.trail_atr_multiple, 3, 0);
  CHECK_NEAR(p.trail_percent, 0.025, 0);
  CHECK_NEAR(p.daily_loss_limit, 0.08, 0);
  CHECK_EQ(p.max_consecutive_losses, 4);
  CHECK_NEAR(p.max_drawdown, 0.25, 0);
  CHECK_EQ(p.max_failures, 7);
  CHECK_EQ(p.failure_window, 10 * LB_MS_MINUTE);
  CHECK_EQ(p.cooldown, 60 * LB_MS_MINUTE);
  CHECK_NEAR(p.taker_fee, 0.0004, 0);
  CHECK_NEAR(p.min_confidence, 0.9, 0);
}

TEST(params_cross_checks_name_the_variables) {
  lb_config c;
  lb_cfg_report rep;
  char *bad_rr[] = {"TAKE_PROFIT_RISK_REWARD=1.2", "MIN_RISK_REWARD=1.5", NULL};
  CHECK_EQ(load_rep(bad_rr, &c, &rep), LB_ECONFIG);
  CHECK(has(rep.errors, rep.n_errors,
            "TAKE_PROFIT_RISK_REWARD=1.2 is below MIN_RISK_REWARD=1.5: every trade would be "
            "refused"));
  /* in analyst mode the target ratio is not used */
  char *analyst[] = {"TAKE_PROFIT_RISK_REWARD=1.2", "MIN_RISK_REWARD=1.5",
                     "TAKE_PROFIT_MODE=analyst", NULL};
  CHECK_OK(load_rep(analyst, &c, &rep));
  /* stops that reach the liquidation distance at 5x: a warning, not an error */
  char *far[] = {"MAX_LEVERAGE=5", "MAX_STOP_LOSS_PERCENT=0.18", NULL};
  CHECK_OK(load_rep(far, &c, &rep));
  CHECK(has(rep.warnings, rep.n_warnings,
            "MAX_STOP_LOSS_PERCENT=0.18 plus LIQUIDATION_BUFFER_PERCENT=0.02 reaches the "
            "liquidation distance 0.1952 at 5x leverage"));
  char *unreachable[] = {"MIN_PROFIT_USD=25", NULL}; /* 100 x 0.10 x 2 = 20 */
  CHECK_OK(load_rep(unreachable, &c, &rep));
  CHECK(has(rep.warnings, rep.n_warnings, "MIN_PROFIT_USD=25 is above the largest profit"));
  /* the seed's two sets give no risk warning (other modules may warn about
   * missing API keys) */
  char **sets[] = {seed_conservative_env, seed_aggressive_env};
  for (int i = 0; i < 2; i++) {
    CHECK_OK(load_rep(sets[i], &c, &rep));
    CHECK(!has(rep.warnings, rep.n_warnings, "MAX_STOP_LOSS_PERCENT="));
    CHECK(!has(rep.warnings, rep.n_warnings, "MIN_PROFIT_USD="));
  }
}

TEST(params_bad_values_are_named_with_their_range) {
  lb_config c;
  lb_cfg_report rep;
  char *env[] = {"STOP_LOSS_MODE=trailing", "MAX_OPEN_POSITIONS=2", "VOLATILE_MAX_LEVERAGE=3",
                 "MAX_DRAWDOWN_PERCENT=1", "MAX_FAILURES=0", NULL};
  CHECK_EQ(load_rep(env, &c, &rep), LB_ECONFIG);
  CHECK(has(rep.errors, rep.n_errors,
            "STOP_LOSS_MODE=trailing is not an allowed value (allowed: one of fixed, swing, atr)"));
  CHECK(has(rep.errors, rep.n_errors, "MAX_OPEN_POSITIONS=2 is out of range"));
  CHECK(has(rep.errors, rep.n_errors, "VOLATILE_MAX_LEVERAGE=3 is out of range"));
  CHECK(has(rep.errors, rep.n_errors, "MAX_DRAWDOWN_PERCENT=1 is out of range"));
  CHECK(has(rep.errors, rep.n_errors, "MAX_FAILURES=0 is out of range"));
}

TEST(params_check_refuses_hand_made_nonsense) {
  risk_params p;
  lb_errbuf eb;
  risk_params_default(&p);
  p.max_stop = 0.05; /* below min_stop 0.07 */
  CHECK_EQ(risk_params_check(&p, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "max_stop = 0.05 is out of range");
  risk_params_default(&p);
  p.min_confidence = 0.5; /* never below 0.75 */
  CHECK_EQ(risk_params_check(&p, &eb), LB_EINVAL);
  risk_params_default(&p);
  p.taker_fee = NAN;
  CHECK_EQ(risk_params_check(&p, &eb), LB_EINVAL);
  risk_params_default(&p);
  p.max_failures = RISK_FAILURES_MAX + 1;
  CHECK_EQ(risk_params_check(&p, &eb), LB_EINVAL);
  risk_params_default(&p);
  CHECK_NEAR(p.slippage, 0.0002, 1e-15); /* SLIPPAGE_BPS=2 */
  p.slippage = -0.0001; /* slippage in our favour would shrink the promised loss */
  CHECK_EQ(risk_params_check(&p, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "slippage = -0.0001 is out of range");
  p.slippage = 0.06;
  CHECK_EQ(risk_params_check(&p, &eb), LB_EINVAL);
  p.slippage = NAN;
  CHECK_EQ(risk_params_check(&p, &eb), LB_EINVAL);
}

TEST(params_regime_ceiling_table) {
  risk_params p;
  risk_params_default(&p);
  const risk_leverage_table *t = &p.lev;
  CHECK_EQ(risk_regime_ceiling(t, LB_REGIME_TRENDING, LB_REGIME_TRENDING, 0.80), 5);
  CHECK_EQ(risk_regime_ceiling(t, LB_REGIME_TRENDING, LB_REGIME_TRENDING, 0.7999), 3);
  CHECK_EQ(risk_regime_ceiling(t, LB_REGIME_RANGING, LB_REGIME_TRENDING, 0.95), 3);
  CHECK_EQ(risk_regime_ceiling(t, LB_REGIME_TRENDING, LB_REGIME_RANGING, 0.95), 3);
  CHECK_EQ(risk_regime_ceiling(t, LB_REGIME_TRENDING, LB_REGIME_UNKNOWN, 0.95), 1);
  CHECK_EQ(risk_regime_ceiling(t, LB_REGIME_RANGING, LB_REGIME_VOLATILE, 0.95), 0);
  p.lev.volatile_max = 2;
  CHECK_EQ(risk_regime_ceiling(t, LB_REGIME_VOLATILE, LB_REGIME_TRENDING, 0.95), 2);
}
