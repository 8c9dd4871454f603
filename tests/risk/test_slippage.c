/* test_slippage.c -- a stop or take-profit fills as a market order and slips:
 * the loss at the stop, the sizing and the profit at the take-profit count
 * SLIPPAGE_BPS, so a stop filled at the expected slippage still keeps the
 * loss within MAX_RISK_PER_TRADE x capital (DESIGN.md section 3).
 *
 * The expected fills and losses are recomputed here with this file's own
 * integer arithmetic: the trigger moved SLIPPAGE_BPS against the exit (a
 * long's exit sells lower, a short's buys higher) and put on the tick against
 * the trader, which is also what the simulator fills at.  Only the public API
 * and the configuration are used, so these tests run on any version of the
 * module. */
#include <stdint.h>

#include "fixtures.h"

typedef __int128 i128;

/* ceil / floor of a / b for b > 0 */
static i128 ceil_div(i128 a, i128 b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
static i128 floor_div(i128 a, i128 b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* The fill of an exit market order triggered at `trigger`. */
static lb_dec exit_fill(bool is_long, lb_dec trigger, int bps, lb_dec tick) {
  i128 d = ceil_div((i128)trigger * bps, 10000);
  i128 px = is_long ? floor_div(trigger - d, tick) * tick : ceil_div(trigger + d, tick) * tick;
  return px < 0 ? 0 : (lb_dec)px;
}

/* qty x |entry - fill| + taker fee on both fills, exact, in 1e-24 units. */
static i128 loss24(lb_dec qty, lb_dec entry, lb_dec fill, double fee) {
  i128 f = (i128)llrint(fee * 1e8);
  i128 move = entry > fill ? entry - fill : fill - entry;
  return (i128)qty * move * LB_DEC_SCALE + (i128)qty * entry * f + (i128)qty * fill * f;
}

static i128 budget24(lb_dec capital, double max_risk) {
  return (i128)capital * (i128)llrint(max_risk * 1e8) * LB_DEC_SCALE;
}

static void params_with(int bps, risk_params *p) {
  char slip[32];
  snprintf(slip, sizeof slip, "SLIPPAGE_BPS=%d", bps);
  char *env[] = {slip, "STOP_LOSS_MODE=fixed", NULL};
  if (!load_params(env, p, NULL)) lbt_fail(__FILE__, __LINE__, "SLIPPAGE_BPS=%d", bps);
}

/* The engine's ETH trade below: capital 100, LONG at 1290.17 with a stop
 * percent that puts the stop on 1190.5. */
typedef struct {
  lb_symbol_rules r;
  lb_bracket_table t;
  lb_decision d;
  risk_market m;
  risk_plan pl;
} eth_trade;

static risk_refusal plan_eth_trade(const risk_params *p, eth_trade *w) {
  eth(&w->r, &w->t);
  w->d = dec(LB_ACTION_LONG, 0.85, 3, 0.0772534, 0.2, LB_REGIME_TRENDING);
  w->m = mkt("1290.17");
  return risk_plan_entry(D("100"), &w->d, &w->m, &w->r, &w->t, p, &w->pl);
}

/* The trade the engine's 1h ETH backtest (2021) lost 10.04 USDT on against
 * a 10 USDT budget: entry 1290.17, stop 1190.5, capital 100, 2 bps.  The
 * stop filled at 1190.26 (1190.5 - 0.2381, down to the 0.01 tick).  Sized
 * without slippage, 0.099 ETH lost 0.099 x 99.91 + fees 0.12278129 =
 * 10.01387129 there; with it the size is 0.098 ETH and the loss at that
 * fill 9.79118 + 0.0632 + 0.05832274 = 9.91272107 (fees rounded up). */
TEST(slippage_eth_stop_fill_keeps_the_loss_within_budget) {
  risk_params p;
  params_with(2, &p);
  eth_trade w;
  REQUIRE_EQ(plan_eth_trade(&p, &w), RISK_OK);
  const risk_plan pl = w.pl;
  REQUIRE_EQ(pl.stop, D("1190.5"));
  lb_dec fill = exit_fill(true, pl.stop, 2, w.r.tick_size);
  CHECK_EQ(fill, D("1190.26"));
  CHECK_EQ(pl.qty, D("0.098"));
  CHECK_EQ(pl.loss_at_stop, D("9.91272107"));
  CHECK(loss24(pl.qty, pl.entry, fill, p.taker_fee) <= budget24(D("100"), p.max_risk_per_trade));
  /* what the old sizing allowed does not fit once the stop slips */
  CHECK(loss24(D("0.099"), pl.entry, fill, p.taker_fee) > budget24(D("100"), p.max_risk_per_trade));
  /* take-profit 1489.51 fills at 1489.21: 0.098 x 199.04 = 19.50592, minus
   * fees 0.0632 + 0.07297129 (1489.21 x 0.098 x 0.0005, up) */
  CHECK_EQ(pl.take_profit, D("1489.51"));
  CHECK_EQ(pl.profit_at_tp, D("19.36973038"));
}

/* Over many entries, both sides, BTC and ETH filters and slippage from
 * none to the configuration's 500 bps ceiling: the stop's expected fill
 * never loses more than loss_at_stop, loss_at_stop never more than the
 * budget, and the take-profit's expected fill never earns less than
 * profit_at_tp. */
TEST(slippage_expected_fills_never_beat_the_plan) {
  static const int bps_list[] = {0, 1, 2, 10, 50, 200, 500};
  long accepted = 0;
  int failures = 0;
  for (size_t k = 0; k < sizeof bps_list / sizeof bps_list[0]; k++) {
    int bps = bps_list[k];
    risk_params p;
    params_with(bps, &p);
    p.min_profit_usd = 0;
    p.min_rr = 0;
    p.max_stop = 0.12;
    for (int i = 0; i < 600 && failures < 5; i++) {
      bool is_btc = i % 2 == 0, is_long = i % 4 < 2;
      lb_symbol_rules r;
      lb_bracket_table t;
      if (is_btc) btc(&r, &t);
      else eth(&r, &t);
      char px[32], capbuf[32];
      snprintf(px, sizeof px, "%.2f", is_btc ? 20000 + 97.31 * i : 900 + 6.173 * i);
      snprintf(capbuf, sizeof capbuf, "%d.%02d", 100 + 37 * i, i % 100);
      lb_dec capital = D(capbuf);
      lb_decision d = dec(is_long ? LB_ACTION_LONG : LB_ACTION_SHORT, 0.9, 3,
                          0.07 + 0.0001 * (i % 400), 0.2, LB_REGIME_TRENDING);
      risk_market m = mkt(px);
      risk_plan pl;
      if (risk_plan_entry(capital, &d, &m, &r, &t, &p, &pl) != RISK_OK) continue;
      accepted++;
      lb_dec sf = exit_fill(is_long, pl.stop, bps, r.tick_size);
      lb_dec tf = exit_fill(is_long, pl.take_profit, bps, r.tick_size);
      i128 at_fill = loss24(pl.qty, pl.entry, sf, p.taker_fee);
      i128 f = (i128)llrint(p.taker_fee * 1e8);
      i128 tmove = is_long ? tf - pl.entry : pl.entry - tf;
      i128 prof = (i128)pl.qty * tmove * LB_DEC_SCALE - (i128)pl.qty * pl.entry * f -
                  (i128)pl.qty * tf * f;
      const char *bad = NULL;
      if (at_fill > (i128)pl.loss_at_stop * LB_DEC_SCALE * LB_DEC_SCALE)
        bad = "the stop's expected fill loses more than loss_at_stop";
      else if (at_fill > budget24(capital, p.max_risk_per_trade))
        bad = "the stop's expected fill loses more than the budget";
      else if (prof < (i128)pl.profit_at_tp * LB_DEC_SCALE * LB_DEC_SCALE)
        bad = "the take-profit's expected fill earns less than profit_at_tp";
      if (bad) {
        lbt_fail(__FILE__, __LINE__, "%d bps, case %d: %s (%s)", bps, i, bad, pl.message);
        failures++;
      }
    }
  }
  printf("    slippage: %ld accepted plans checked at their expected fills\n", accepted);
  CHECK(accepted > 2000);
}

/* A plan sized without slippage is checked again with the slippage of the
 * configuration: at the budget's edge it is a loss above the limit. */
TEST(slippage_check_refuses_a_plan_sized_without_it) {
  risk_params p0, p2;
  params_with(0, &p0);
  params_with(2, &p2);
  eth_trade w;
  REQUIRE_EQ(plan_eth_trade(&p0, &w), RISK_OK);
  CHECK_EQ(w.pl.qty, D("0.099")); /* no slippage: the old size */
  CHECK_EQ(w.pl.loss_at_stop, D("9.99012317"));
  lb_errbuf eb;
  CHECK_EQ(risk_plan_check(&w.pl, D("100"), &w.d, &w.m, &w.r, &w.t, &p2, &eb),
           RISK_LOSS_ABOVE_MAX_RISK);
  CHECK_CONTAINS(eb.msg, "loss at stop 10.01387129 USDT");
  CHECK_EQ(risk_plan_check(&w.pl, D("100"), &w.d, &w.m, &w.r, &w.t, &p0, &eb), RISK_OK);
}
