/* test_check.c -- the invariant checker catches every broken invariant on a
 * plan that was changed after it was built (or checked again later with the
 * capital, filters and state of that moment), and names the numbers. */
#include "fixtures.h"

typedef struct {
  risk_params p;
  lb_symbol_rules r;
  lb_bracket_table t;
  lb_decision d;
  risk_market m;
  lb_dec capital;
  risk_plan pl;
} world;

/* The hand-computed conservative plan of test_plan.c: 0.002 BTC at 60000,
 * 3x, stop 55800 (fills at 55788.8 with 2 bps), take-profit 68400, loss
 * 8.5381888, profit 16.6442137, capital 100. */
static void good_world(world *w) {
  seed_conservative(&w->p);
  w->p.stop_mode = RISK_STOP_FIXED;
  btc(&w->r, &w->t);
  w->d = dec(LB_ACTION_LONG, 0.85, 3, 0.07, 0.14, LB_REGIME_TRENDING);
  w->m = mkt("60000");
  w->capital = D("100");
  REQUIRE_EQ(risk_plan_entry(w->capital, &w->d, &w->m, &w->r, &w->t, &w->p, &w->pl), RISK_OK);
}

static risk_refusal check(world *w, lb_errbuf *eb) {
  return risk_plan_check(&w->pl, w->capital, &w->d, &w->m, &w->r, &w->t, &w->p, eb);
}

TEST(check_accepts_the_planned_plan) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  CHECK_EQ(check(&w, &eb), RISK_OK);
}

TEST(check_loss_above_max_risk_when_capital_fell) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.capital = D("85"); /* budget 8.5 < loss 8.5381888 */
  CHECK_EQ(check(&w, &eb), RISK_LOSS_ABOVE_MAX_RISK);
  CHECK_CONTAINS(eb.msg, "loss at stop 8.5381888 USDT (fees and 2 bps slippage included) exceeds "
                         "MAX_RISK_PER_TRADE 0.1 x capital 85 = 8.5 USDT");
  w.capital = D("85.381888"); /* exactly enough */
  CHECK_EQ(check(&w, &eb), RISK_PLAN_INCONSISTENT); /* only the stored budget is stale */
}

TEST(check_loss_counts_the_fees) {
  /* Without fees the loss at the stop's fill would be 8.4224, within an 8.45
   * budget; with the 0.1157888 of fees it is not. */
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.capital = D("84.5");
  CHECK_EQ(check(&w, &eb), RISK_LOSS_ABOVE_MAX_RISK);
  w.p.taker_fee = 0; /* every invariant holds; only the stored fee-laden numbers differ */
  CHECK_EQ(check(&w, &eb), RISK_PLAN_INCONSISTENT);
  CHECK_CONTAINS(eb.msg, "loss_at_stop is 8.5381888, recomputed 8.4224");
}

TEST(check_leverage_above_each_ceiling) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.pl.leverage = 4; /* above MAX_LEVERAGE 3 */
  CHECK_EQ(check(&w, &eb), RISK_LEVERAGE_ABOVE_CEILING);
  CHECK_CONTAINS(eb.msg, "leverage 4x is above the ceiling 3x");
  good_world(&w);
  w.m.regime = LB_REGIME_RANGING; /* the regime changed since: still 3x, fine */
  CHECK_EQ(check(&w, &eb), RISK_OK);
  w.m.regime = LB_REGIME_UNKNOWN; /* 1x */
  CHECK_EQ(check(&w, &eb), RISK_LEVERAGE_ABOVE_CEILING);
  good_world(&w);
  w.t.tier[0].max_leverage = 2; /* the exchange now allows 2x for this notional */
  CHECK_EQ(check(&w, &eb), RISK_LEVERAGE_ABOVE_CEILING);
  CHECK_CONTAINS(eb.msg, "bracket 1 allows 2x");
  good_world(&w);
  w.d.leverage = 2; /* more than the analyst asked for */
  CHECK_EQ(check(&w, &eb), RISK_LEVERAGE_ABOVE_CEILING);
}

TEST(check_quantity_on_the_step_and_within_limits) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.pl.qty = D("0.0015");
  CHECK_EQ(check(&w, &eb), RISK_QTY_OFF_STEP);
  CHECK_CONTAINS(eb.msg, "quantity 0.0015 is not a multiple of BTCUSDT's step 0.001");
  good_world(&w);
  w.r.market_min_qty = D("0.003");
  CHECK_EQ(check(&w, &eb), RISK_BELOW_MIN_QTY);
  good_world(&w);
  w.r.market_max_qty = D("0.001");
  CHECK_EQ(check(&w, &eb), RISK_ABOVE_MAX_QTY);
  CHECK_CONTAINS(eb.msg, "quantity 0.002 is above BTCUSDT's maximum 0.001");
}

TEST(check_prices_on_the_tick_and_inside_the_filter) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.pl.stop = D("55800.05");
  CHECK_EQ(check(&w, &eb), RISK_PRICE_OFF_TICK);
  CHECK_CONTAINS(eb.msg, "stop 55800.05 is not a multiple of BTCUSDT's tick 0.1");
  good_world(&w);
  w.pl.take_profit = D("68400.01");
  CHECK_EQ(check(&w, &eb), RISK_PRICE_OFF_TICK);
  good_world(&w);
  w.r.max_price = D("68000");
  CHECK_EQ(check(&w, &eb), RISK_PRICE_OUTSIDE_FILTER);
  CHECK_CONTAINS(eb.msg, "take-profit 68400 outside");
}

TEST(check_notional_at_least_the_minimum) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.r.min_notional = D("120.00000001");
  CHECK_EQ(check(&w, &eb), RISK_BELOW_MIN_NOTIONAL);
  w.r.min_notional = D("120");
  CHECK_EQ(check(&w, &eb), RISK_OK);
}

TEST(check_stop_distance_in_range_and_side) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.p.min_stop = 0.075; /* 55800 is 7 % away */
  CHECK_EQ(check(&w, &eb), RISK_STOP_DISTANCE_OUT_OF_RANGE);
  CHECK_CONTAINS(eb.msg, "LONG stop 55800 is 7.0000% from entry 60000, outside 7.5..8%");
  good_world(&w);
  w.pl.stop = D("64200"); /* a long's stop above the entry */
  CHECK_EQ(check(&w, &eb), RISK_STOP_DISTANCE_OUT_OF_RANGE);
  good_world(&w);
  w.pl.take_profit = D("59000"); /* a long's take-profit below the entry */
  CHECK_EQ(check(&w, &eb), RISK_TAKE_PROFIT_INVALID);
}

TEST(check_margin_within_capital) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.pl.leverage = 1; /* margin 120 + fee 0.06 > 100 */
  CHECK_EQ(check(&w, &eb), RISK_MARGIN_ABOVE_CAPITAL);
  CHECK_CONTAINS(eb.msg, "margin 120 + entry fee 0.06 USDT exceed capital 100 USDT");
}

TEST(check_stop_before_liquidation_with_buffer) {
  /* A hand-made 20x plan, 0.234 BTC at 60000, stop 7 % (55800): the checker
   * computes liquidation 57228.91566266 itself and refuses. */
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.p.max_leverage = 20;
  w.p.lev.trending_strong = 20;
  w.d.leverage = 20;
  w.capital = D("10000");
  w.pl.qty = D("0.234");
  w.pl.leverage = 20;
  CHECK_EQ(check(&w, &eb), RISK_STOP_BEYOND_LIQUIDATION);
  CHECK_CONTAINS(eb.msg, "before the liquidation price 57228.91566266");
  /* and the buffer: at 12x the stop is past liquidation by less than 2 % */
  w.pl.leverage = 12;
  w.capital = D("20000"); /* budget 2000 covers the 8 % loss of 1137.26 */
  w.pl.stop = D("55200");
  /* margin 1170, liquidation (14040 - 1170) / 0.233064 = 55220.8 > stop */
  CHECK_EQ(check(&w, &eb), RISK_STOP_BEYOND_LIQUIDATION);
}

TEST(check_profit_and_rr_minimums) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.p.min_profit_usd = D("16.6442138"); /* one unit above 16.6442137 */
  CHECK_EQ(check(&w, &eb), RISK_PROFIT_BELOW_MIN_PROFIT_USD);
  good_world(&w);
  w.p.min_rr = 2.0;
  CHECK_EQ(check(&w, &eb), RISK_RISK_REWARD_BELOW_MIN);
  CHECK_CONTAINS(eb.msg, "R:R after fees and slippage 1.949 is below MIN_RISK_REWARD 2");
}

TEST(check_gates_of_the_moment) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.m.breaker_active = true;
  CHECK_EQ(check(&w, &eb), RISK_BREAKER_ACTIVE);
  good_world(&w);
  w.m.open_positions = 1;
  CHECK_EQ(check(&w, &eb), RISK_MAX_POSITIONS);
  good_world(&w);
  w.d.confidence = 0.5;
  CHECK_EQ(check(&w, &eb), RISK_CONFIDENCE_BELOW_MIN);
}

TEST(check_stored_numbers_must_match) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.pl.loss_at_stop = D("5"); /* understated */
  CHECK_EQ(check(&w, &eb), RISK_PLAN_INCONSISTENT);
  CHECK_CONTAINS(eb.msg, "loss_at_stop is 5, recomputed 8.5381888");
  good_world(&w);
  w.pl.liquidation = D("30000");
  CHECK_EQ(check(&w, &eb), RISK_PLAN_INCONSISTENT);
  CHECK_CONTAINS(eb.msg, "liquidation is 30000, recomputed 40160.64257029");
  good_world(&w);
  w.pl.side = LB_ACTION_SHORT;
  CHECK_EQ(check(&w, &eb), RISK_PLAN_INCONSISTENT);
  CHECK_CONTAINS(eb.msg, "plan side SHORT does not match the decision LONG");
  good_world(&w);
  w.pl.rr = 3.0;
  CHECK_EQ(check(&w, &eb), RISK_PLAN_INCONSISTENT);
}

TEST(check_a_refused_plan_stays_refused) {
  world w;
  good_world(&w);
  lb_errbuf eb;
  w.d.confidence = 0.5;
  REQUIRE_EQ(risk_plan_entry(w.capital, &w.d, &w.m, &w.r, &w.t, &w.p, &w.pl),
             RISK_CONFIDENCE_BELOW_MIN);
  w.d.confidence = 0.9;
  CHECK_EQ(check(&w, &eb), RISK_CONFIDENCE_BELOW_MIN);
  CHECK_CONTAINS(eb.msg, "the plan was refused");
}
