/* test_plan.c -- the entry rule: hand-computed plans for the seed's two
 * configurations, every stop and take-profit mode, and one test per refusal
 * reason the planner can give. */
#include "fixtures.h"

/* Conservative set, BTCUSDT at 60000, LONG 3x, 7 % stop, 2:1 take-profit,
 * SLIPPAGE_BPS 2 (default).  By hand: budget 10% x 100 = 10 USDT; the stop
 * 55800 fills at 55800 - 11.16 = 55788.84, down to the tick 55788.8; loss
 * per BTC = 4211.2 move + 30 entry fee + 27.8944 stop fee = 4269.0944, so
 * 10 / 4269.0944 = 0.00234 -> 0.002 BTC; margin 120 / 3 = 40; liquidation
 * (120 - 40) / (0.002 x 0.996) = 40160.642570281...; loss 8.4224 + 0.06 +
 * 0.0557888 = 8.5381888; the take-profit 68400 fills at 68386.3 (68400 -
 * 13.68, down to the tick): profit 16.7726 - 0.06 - 0.0683863 = 16.6442137;
 * R:R 1.9494. */
TEST(plan_conservative_long_btc_matches_hand_computation) {
  risk_params p;
  seed_conservative(&p);
  p.stop_mode = RISK_STOP_FIXED;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  lb_decision d = dec(LB_ACTION_LONG, 0.85, 3, 0.07, 0.14, LB_REGIME_TRENDING);
  risk_market m = mkt("60000");
  risk_plan pl;
  REQUIRE_EQ(risk_plan_entry(D("100"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.side, LB_ACTION_LONG);
  CHECK_EQ(pl.entry, D("60000"));
  CHECK_EQ(pl.qty, D("0.002"));
  CHECK_EQ(pl.notional, D("120"));
  CHECK_EQ(pl.leverage, 3);
  CHECK_EQ(pl.leverage_ceiling, 3);
  CHECK_EQ(pl.margin, D("40"));
  CHECK_EQ(pl.stop, D("55800"));
  CHECK_EQ(pl.take_profit, D("68400"));
  CHECK_EQ(pl.liquidation, D("40160.64257029")); /* rounded up, toward the entry */
  CHECK_EQ(pl.loss_at_stop, D("8.5381888"));
  CHECK_EQ(pl.profit_at_tp, D("16.6442137"));
  CHECK_EQ(pl.risk_budget, D("10"));
  CHECK_NEAR(pl.rr, 16.6442137 / 8.5381888, 1e-12);
  CHECK_NEAR(pl.stop_percent, 0.07, 1e-15);
  CHECK_EQ(pl.bracket, 1);
  CHECK_EQ(pl.mmr, D("0.004"));
  CHECK_EQ(pl.stop_basis, RISK_STOP_FIXED);
  CHECK(!pl.stop_clamped);
  CHECK_CONTAINS(pl.message, "LONG 0.002 @ 60000 3x");
  lb_errbuf eb;
  CHECK_EQ(risk_plan_check(&pl, D("100"), &d, &m, &r, &t, &p, &eb), RISK_OK);
}

/* Aggressive set, ETHUSDT at 3000, SHORT asking 5x at 0.78 confidence in a
 * trend: the table gives 3x below 0.80.  By hand, with 2 bps slippage (the
 * stop 3150 fills at 3150.63, the take-profit 2700 at 2700.54): budget 50;
 * loss per ETH 150.63 + 1.5 + 1.575315 = 153.705315 -> 0.325 ETH; margin
 * 975 / 3 = 325; liquidation (975 + 325) / (0.325 x 1.004) = 3984.0637...;
 * loss 48.95475 + 0.4875 + 0.51197738 (0.511977375 up) = 49.95422738;
 * profit 97.3245 - 0.4875 - 0.43883775 = 96.39816225. */
TEST(plan_aggressive_short_eth_matches_hand_computation) {
  risk_params p;
  seed_aggressive(&p);
  p.stop_mode = RISK_STOP_FIXED;
  lb_symbol_rules r;
  lb_bracket_table t;
  eth(&r, &t);
  lb_decision d = dec(LB_ACTION_SHORT, 0.78, 5, 0.05, 0.10, LB_REGIME_TRENDING);
  risk_market m = mkt("3000");
  risk_plan pl;
  REQUIRE_EQ(risk_plan_entry(D("500"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.side, LB_ACTION_SHORT);
  CHECK_EQ(pl.leverage, 3);
  CHECK_EQ(pl.qty, D("0.325"));
  CHECK_EQ(pl.notional, D("975"));
  CHECK_EQ(pl.margin, D("325"));
  CHECK_EQ(pl.stop, D("3150"));
  CHECK_EQ(pl.take_profit, D("2700"));
  CHECK_EQ(pl.liquidation, D("3984.06374501")); /* rounded down, toward the entry */
  CHECK_EQ(pl.loss_at_stop, D("49.95422738"));
  CHECK_EQ(pl.profit_at_tp, D("96.39816225"));
  CHECK_NEAR(pl.rr, 96.39816225 / 49.95422738, 1e-12);
  /* 0.80 confidence reaches the 5x row */
  d.confidence = 0.80;
  REQUIRE_EQ(risk_plan_entry(D("500"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.leverage, 5);
  CHECK_EQ(pl.qty, D("0.325")); /* leverage sets the margin, never the size */
  CHECK_EQ(pl.margin, D("195"));
}

/* The same decisions through both seed sets: what each one accepts. */
TEST(plan_seed_configurations_table) {
  struct {
    const char *name;
    double conf, stop;
    int lev;
    lb_regime regime;
    risk_refusal conservative, aggressive;
    int lev_cons, lev_aggr;
  } rows[] = {
      {"strong trend", 0.92, 0.07, 5, LB_REGIME_TRENDING, RISK_OK, RISK_OK, 3, 5},
      {"acceptable trend", 0.77, 0.07, 5, LB_REGIME_TRENDING, RISK_CONFIDENCE_BELOW_MIN, RISK_OK,
       0, 3},
      {"below 0.75", 0.74, 0.07, 2, LB_REGIME_TRENDING, RISK_CONFIDENCE_BELOW_MIN,
       RISK_CONFIDENCE_BELOW_MIN, 0, 0},
      {"ranging", 0.85, 0.07, 5, LB_REGIME_RANGING, RISK_OK, RISK_OK, 3, 3},
      {"volatile", 0.95, 0.07, 2, LB_REGIME_VOLATILE, RISK_REGIME_VOLATILE, RISK_REGIME_VOLATILE,
       0, 0},
      {"asks 2x", 0.90, 0.07, 2, LB_REGIME_TRENDING, RISK_OK, RISK_OK, 2, 2},
  };
  risk_params cons, aggr;
  seed_conservative(&cons);
  seed_aggressive(&aggr);
  cons.stop_mode = aggr.stop_mode = RISK_STOP_FIXED;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  risk_market m = mkt("60000");
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    lb_decision d = dec(LB_ACTION_LONG, rows[i].conf, rows[i].lev, rows[i].stop, 0.14,
                        rows[i].regime);
    risk_plan a, b;
    risk_refusal ra = risk_plan_entry(D("100"), &d, &m, &r, &t, &cons, &a);
    risk_refusal rb = risk_plan_entry(D("500"), &d, &m, &r, &t, &aggr, &b);
    if (ra != rows[i].conservative || rb != rows[i].aggressive)
      lbt_fail(__FILE__, __LINE__, "%s: conservative %s (%s), aggressive %s (%s)", rows[i].name,
               risk_refusal_name(ra), a.message, risk_refusal_name(rb), b.message);
    if (ra == RISK_OK) CHECK_EQ(a.leverage, rows[i].lev_cons);
    if (rb == RISK_OK) CHECK_EQ(b.leverage, rows[i].lev_aggr);
  }
}

/* ==== Stops ==== */

TEST(plan_fixed_stop_is_clamped_to_the_configured_range) {
  risk_params p;
  seed_aggressive(&p); /* 5 %..10 % */
  p.stop_mode = RISK_STOP_FIXED;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  risk_market m = mkt("60000");
  risk_plan pl;
  lb_decision d = dec(LB_ACTION_LONG, 0.9, 3, 0.02, 0.2, LB_REGIME_TRENDING);
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop, D("57000")); /* 5 % */
  CHECK(pl.stop_clamped);
  d.stop_loss_percent = 0.30;
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop, D("54000")); /* 10 % */
  CHECK(pl.stop_clamped);
  d.stop_loss_percent = 0.0612345; /* 3674.07 -> rounded toward the entry: 56326.0 */
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop, D("56326"));
  CHECK(!pl.stop_clamped);
}

TEST(plan_swing_stop_goes_beyond_the_swing_level) {
  risk_params p;
  seed_aggressive(&p);
  p.stop_mode = RISK_STOP_SWING;
  p.swing_buffer = 0.003;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  risk_market m = mkt("60000");
  lb_decision d = dec(LB_ACTION_LONG, 0.9, 3, 0.08, 0.2, LB_REGIME_TRENDING);
  risk_plan pl;
  /* swing low 56000 -> 56000 x 0.997 = 55832 (6.95 % away) */
  m.swing_low = 56000;
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop, D("55832"));
  CHECK_EQ(pl.stop_basis, RISK_STOP_SWING);
  CHECK(!pl.stop_clamped);
  /* a swing low close to the price: clamped out to the 5 % minimum */
  m.swing_low = 59500;
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop, D("57000"));
  CHECK(pl.stop_clamped);
  /* no swing low, or one above the price: the analyst's 8 % */
  m.swing_low = NAN;
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop, D("55200"));
  CHECK_EQ(pl.stop_basis, RISK_STOP_FIXED);
  m.swing_low = 61000;
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop_basis, RISK_STOP_FIXED);
  /* short: above the swing high, 63000 x 1.003 = 63189 */
  d.action = LB_ACTION_SHORT;
  m.swing_high = 63000;
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop, D("63189"));
  CHECK_EQ(pl.stop_basis, RISK_STOP_SWING);
  CHECK_EQ(pl.take_profit, D("53622")); /* 60000 - 2 x 3189 */
}

TEST(plan_atr_stop_is_k_times_atr_clamped) {
  risk_params p;
  seed_aggressive(&p);
  p.stop_mode = RISK_STOP_ATR;
  p.atr_stop_multiple = 2.0;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  risk_market m = mkt("60000");
  lb_decision d = dec(LB_ACTION_LONG, 0.9, 3, 0.08, 0.2, LB_REGIME_TRENDING);
  risk_plan pl;
  m.atr = 2000.05; /* 2 x ATR = 4000.1 */
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop, D("55999.9"));
  CHECK_EQ(pl.stop_basis, RISK_STOP_ATR);
  m.atr = 100; /* 200 = 0.33 %: clamped to 5 % */
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop, D("57000"));
  CHECK(pl.stop_clamped);
  m.atr = NAN; /* no ATR: the analyst's 8 % */
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.stop, D("55200"));
  CHECK_EQ(pl.stop_basis, RISK_STOP_FIXED);
}

TEST(plan_take_profit_from_rr_or_analyst) {
  risk_params p;
  seed_conservative(&p);
  p.stop_mode = RISK_STOP_FIXED;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  risk_market m = mkt("60000");
  lb_decision d = dec(LB_ACTION_LONG, 0.9, 3, 0.07, 0.15, LB_REGIME_TRENDING);
  risk_plan pl;
  p.target_rr = 2.5; /* 2.5 x 4200 */
  REQUIRE_EQ(risk_plan_entry(D("1000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.take_profit, D("70500"));
  p.tp_mode = RISK_TP_ANALYST; /* 15 % of 60000 */
  REQUIRE_EQ(risk_plan_entry(D("1000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.take_profit, D("69000"));
  /* a take-profit off the tick rounds toward the entry: 60000 x 1.123456 */
  d.take_profit_percent = 0.123456;
  REQUIRE_EQ(risk_plan_entry(D("1000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.take_profit, D("67407.3"));
}

TEST(plan_lowers_leverage_to_the_bracket_maximum) {
  /* A hand-made table whose first tier allows 2x only: 5x asked, 2x given. */
  risk_params p;
  seed_aggressive(&p);
  p.stop_mode = RISK_STOP_FIXED;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  t.tier[0].max_leverage = 2;
  lb_decision d = dec(LB_ACTION_LONG, 0.9, 5, 0.05, 0.2, LB_REGIME_TRENDING);
  risk_market m = mkt("60000");
  risk_plan pl;
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.leverage, 2);
  CHECK_EQ(pl.leverage_ceiling, 2);
}

/* ==== Refusals: one test each ==== */

static risk_refusal plan_cons(lb_dec capital, lb_decision d, risk_market m, risk_plan *pl) {
  risk_params p;
  seed_conservative(&p);
  p.stop_mode = RISK_STOP_FIXED;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  return risk_plan_entry(capital, &d, &m, &r, &t, &p, pl);
}

static lb_decision good_long(void) {
  return dec(LB_ACTION_LONG, 0.85, 3, 0.07, 0.14, LB_REGIME_TRENDING);
}

TEST(refuse_invalid_input) {
  risk_plan pl;
  CHECK_EQ(plan_cons(0, good_long(), mkt("60000"), &pl), RISK_INVALID_INPUT);
  CHECK_CONTAINS(pl.message, "capital 0 must be > 0");
  lb_decision d = good_long();
  d.confidence = NAN;
  CHECK_EQ(plan_cons(D("100"), d, mkt("60000"), &pl), RISK_INVALID_INPUT);
  CHECK_CONTAINS(pl.message, "confidence");
  CHECK_EQ(plan_cons(D("100"), good_long(), mkt("0"), &pl), RISK_INVALID_INPUT);
  CHECK_CONTAINS(pl.message, "entry price 0");
  risk_market m = mkt("60000");
  m.atr = INFINITY;
  CHECK_EQ(plan_cons(D("100"), good_long(), m, &pl), RISK_INVALID_INPUT);
  /* brackets the exchange reported wrongly are not trusted */
  risk_params p;
  seed_conservative(&p);
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  t.tier[2].cum += LB_DEC_SCALE;
  d = good_long();
  m = mkt("60000");
  CHECK_EQ(risk_plan_entry(D("100"), &d, &m, &r, &t, &p, &pl), RISK_INVALID_INPUT);
  CHECK_CONTAINS(pl.message, "bracket 3");
  /* hand-made parameters out of range */
  btc(&r, &t);
  p.max_risk_per_trade = 0.2;
  CHECK_EQ(risk_plan_entry(D("100"), &d, &m, &r, &t, &p, &pl), RISK_INVALID_INPUT);
  CHECK_CONTAINS(pl.message, "max_risk_per_trade = 0.2");
}

TEST(refuse_decision_hold) {
  risk_plan pl;
  lb_decision d = good_long();
  lb_decision_hold(&d, "RSI 85 on 15m");
  CHECK_EQ(plan_cons(D("100"), d, mkt("60000"), &pl), RISK_DECISION_HOLD);
  CHECK_CONTAINS(pl.message, "decision_hold: the decision is HOLD (RSI 85 on 15m)");
}

TEST(refuse_breaker_active) {
  risk_plan pl;
  risk_market m = mkt("60000");
  m.breaker_active = true;
  CHECK_EQ(plan_cons(D("100"), good_long(), m, &pl), RISK_BREAKER_ACTIVE);
  CHECK_STREQ(risk_refusal_name(pl.refusal), "breaker_active");
}

TEST(refuse_max_positions) {
  risk_plan pl;
  risk_market m = mkt("60000");
  m.open_positions = 1;
  CHECK_EQ(plan_cons(D("100"), good_long(), m, &pl), RISK_MAX_POSITIONS);
  CHECK_CONTAINS(pl.message, "1 position(s) open, MAX_OPEN_POSITIONS is 1");
}

TEST(refuse_confidence_below_min) {
  risk_plan pl;
  lb_decision d = good_long();
  d.confidence = 0.79;
  CHECK_EQ(plan_cons(D("100"), d, mkt("60000"), &pl), RISK_CONFIDENCE_BELOW_MIN);
  CHECK_CONTAINS(pl.message, "confidence 0.79 is below MIN_AI_CONFIDENCE 0.80");
  d.confidence = 0.80; /* exactly at the minimum: allowed */
  CHECK_EQ(plan_cons(D("100"), d, mkt("60000"), &pl), RISK_OK);
}

TEST(refuse_regime_volatile_unless_configured) {
  risk_plan pl;
  lb_decision d = good_long();
  risk_market m = mkt("60000");
  m.regime = LB_REGIME_VOLATILE; /* the indicators overrule a "trending" analyst */
  CHECK_EQ(plan_cons(D("1000"), d, m, &pl), RISK_REGIME_VOLATILE);
  CHECK_CONTAINS(pl.message, "indicators: volatile");
  /* VOLATILE_MAX_LEVERAGE=2: trade, at 2x at most */
  risk_params p;
  seed_conservative(&p);
  p.stop_mode = RISK_STOP_FIXED;
  p.lev.volatile_max = 2;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  REQUIRE_EQ(risk_plan_entry(D("1000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.leverage, 2);
  /* an unknown regime gets 1x */
  m.regime = LB_REGIME_UNKNOWN;
  REQUIRE_EQ(risk_plan_entry(D("1000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  CHECK_EQ(pl.leverage, 1);
}

TEST(refuse_stop_not_representable) {
  risk_params p;
  seed_conservative(&p);
  p.stop_mode = RISK_STOP_FIXED;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  r.tick_size = LB_DEC_INT(1000); /* 55200..55800 holds no multiple of 1000 */
  r.min_price = 0;
  lb_decision d = good_long();
  risk_market m = mkt("60000");
  risk_plan pl;
  CHECK_EQ(risk_plan_entry(D("1000"), &d, &m, &r, &t, &p, &pl), RISK_STOP_NOT_REPRESENTABLE);
  CHECK_CONTAINS(pl.message, "no price on tick 1000 lies 7..8% from entry 60000");
}

TEST(refuse_take_profit_invalid) {
  risk_params p;
  seed_conservative(&p);
  p.stop_mode = RISK_STOP_FIXED;
  p.tp_mode = RISK_TP_ANALYST;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  lb_decision d = dec(LB_ACTION_SHORT, 0.9, 3, 0.07, 1.5, LB_REGIME_TRENDING);
  risk_market m = mkt("60000");
  risk_plan pl;
  CHECK_EQ(risk_plan_entry(D("1000"), &d, &m, &r, &t, &p, &pl), RISK_TAKE_PROFIT_INVALID);
  CHECK_CONTAINS(pl.message, "take-profit -30000 is not on the profit side of entry 60000");
}

TEST(refuse_below_min_qty) {
  risk_plan pl;
  /* 10 USDT: budget 1 / 4257.9 per BTC = 0.0002 -> 0 at step 0.001 */
  CHECK_EQ(plan_cons(D("10"), good_long(), mkt("60000"), &pl), RISK_BELOW_MIN_QTY);
  CHECK_CONTAINS(pl.message, "quantity 0 is below BTCUSDT's minimum 0.001");
}

TEST(refuse_below_min_notional) {
  risk_plan pl;
  lb_decision d = good_long();
  d.leverage = 1; /* margin limits the size: 100 / 60030 -> 0.001 BTC = 60 USDT */
  CHECK_EQ(plan_cons(D("100"), d, mkt("60000"), &pl), RISK_BELOW_MIN_NOTIONAL);
  CHECK_CONTAINS(pl.message,
                 "notional 60 USDT (0.001 x 60000) is below BTCUSDT's minimum notional 100 USDT");
}

/* The case: 20x with a 7 % stop.  Capital 10000, BTCUSDT 60000: 0.234
 * BTC (14040 USDT), margin 702, liquidation (14040 - 702) / (0.234 x 0.996)
 * = 57228.9156626... > stop 55800: the exchange would liquidate first. */
TEST(refuse_20x_plan_with_7_percent_stop_as_beyond_liquidation) {
  risk_params p;
  seed_conservative(&p);
  p.stop_mode = RISK_STOP_FIXED;
  p.max_leverage = 20;
  p.lev.trending_strong = 20; /* a hand-made table: the configuration cannot say 20 */
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  lb_decision d = dec(LB_ACTION_LONG, 0.95, 20, 0.07, 0.14, LB_REGIME_TRENDING);
  risk_market m = mkt("60000");
  risk_plan pl;
  REQUIRE_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_STOP_BEYOND_LIQUIDATION);
  CHECK_EQ(pl.leverage, 20);
  CHECK_EQ(pl.qty, D("0.234"));
  CHECK_EQ(pl.margin, D("702"));
  CHECK_EQ(pl.liquidation, D("57228.91566266"));
  CHECK_CONTAINS(pl.message, "LONG 20x: stop 55800 (7.00% from entry 60000)");
  CHECK_CONTAINS(pl.message, "liquidation price 57228.91566266");
  /* the same at 3x is accepted */
  d.leverage = 3;
  CHECK_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
  /* and a short at 20x: liquidation (14040 + 702) / (0.234 x 1.004) below the stop */
  d = dec(LB_ACTION_SHORT, 0.95, 20, 0.07, 0.14, LB_REGIME_TRENDING);
  CHECK_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_STOP_BEYOND_LIQUIDATION);
}

TEST(refuse_stop_inside_the_liquidation_buffer) {
  /* 10x with an 8 % stop: liquidation 54216.87 (9.64 %), the stop 55200 is
   * 983.13 before it, less than the 2 % buffer (1200). */
  risk_params p;
  seed_conservative(&p);
  p.stop_mode = RISK_STOP_FIXED;
  p.max_leverage = 10;
  p.lev.trending_strong = 10;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  lb_decision d = dec(LB_ACTION_LONG, 0.95, 10, 0.08, 0.2, LB_REGIME_TRENDING);
  risk_market m = mkt("60000");
  risk_plan pl;
  CHECK_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_STOP_BEYOND_LIQUIDATION);
  CHECK_CONTAINS(pl.message, "is not at least 1200 (2.00% of entry)");
  p.liquidation_buffer = 0.01; /* 600: now it fits */
  CHECK_EQ(risk_plan_entry(D("10000"), &d, &m, &r, &t, &p, &pl), RISK_OK);
}

TEST(refuse_profit_below_min_profit_usd) {
  risk_params p;
  seed_conservative(&p);
  p.stop_mode = RISK_STOP_FIXED;
  p.min_profit_usd = D("20"); /* the hand-computed plan makes 16.6442137 */
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  lb_decision d = good_long();
  risk_market m = mkt("60000");
  risk_plan pl;
  CHECK_EQ(risk_plan_entry(D("100"), &d, &m, &r, &t, &p, &pl), RISK_PROFIT_BELOW_MIN_PROFIT_USD);
  CHECK_CONTAINS(pl.message, "is 16.6442137 USDT, below MIN_PROFIT_USD 20");
  p.min_profit_usd = D("16.6442137"); /* exactly enough */
  CHECK_EQ(risk_plan_entry(D("100"), &d, &m, &r, &t, &p, &pl), RISK_OK);
}

TEST(refuse_risk_reward_below_min) {
  risk_params p;
  seed_conservative(&p);
  p.stop_mode = RISK_STOP_FIXED;
  p.tp_mode = RISK_TP_ANALYST;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  lb_decision d = dec(LB_ACTION_LONG, 0.9, 3, 0.07, 0.09, LB_REGIME_TRENDING);
  risk_market m = mkt("60000");
  risk_plan pl;
  /* 0.023 BTC at 1000 USDT, 2 bps slippage (stop 55800 fills at 55788.8,
   * take-profit 65400 at 65386.9): profit 123.8987 - 0.69 - 0.75194935 =
   * 122.45675065, loss 96.8576 + 0.69 + 0.6415712 = 98.1891712, R:R 1.2472
   * < 1.5 */
  CHECK_EQ(risk_plan_entry(D("1000"), &d, &m, &r, &t, &p, &pl), RISK_RISK_REWARD_BELOW_MIN);
  CHECK_CONTAINS(pl.message,
                 "R:R after fees and slippage 1.247 (profit 122.45675065 / loss 98.1891712 USDT)");
}

TEST(refuse_price_outside_filter) {
  risk_plan pl;
  /* BTCUSDT's minimum price is 556.80: a 7 % stop under 590 is 548.7 */
  CHECK_EQ(plan_cons(D("100"), good_long(), mkt("590"), &pl), RISK_PRICE_OUTSIDE_FILTER);
  CHECK_CONTAINS(pl.message, "stop 548.7 outside BTCUSDT's price filter 556.8..4529764");
}

TEST(refusal_names_are_stable_and_round_trip) {
  const char *want[] = {"ok", "invalid_input", "decision_hold", "breaker_active", "max_positions",
                        "confidence_below_min", "regime_volatile", "stop_not_representable",
                        "take_profit_invalid", "below_min_qty", "below_min_notional",
                        "stop_beyond_liquidation", "profit_below_min_profit_usd",
                        "risk_reward_below_min", "price_outside_filter", "loss_above_max_risk",
                        "leverage_above_ceiling", "qty_off_step", "price_off_tick",
                        "stop_distance_out_of_range", "margin_above_capital", "above_max_qty",
                        "plan_inconsistent"};
  REQUIRE_EQ(sizeof want / sizeof want[0], RISK_REFUSAL__COUNT);
  for (int i = 0; i < RISK_REFUSAL__COUNT; i++) {
    CHECK_STREQ(risk_refusal_name((risk_refusal)i), want[i]);
    CHECK_EQ(risk_refusal_from_name(want[i]), i);
    CHECK(strlen(risk_refusal_desc((risk_refusal)i)) > 0);
  }
  CHECK_STREQ(risk_refusal_name(RISK_REFUSAL__COUNT), "unknown");
  CHECK_EQ(risk_refusal_from_name("nope"), RISK_REFUSAL__COUNT);
}
