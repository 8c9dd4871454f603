/* test_sim.c -- the simulated exchange: fills, slippage, stops, gaps, fees, funding, liquidation.
 *
 * Every expected number is worked out by hand in the comment beside it from
 * the fill model of src/exchange/sim.h (BTCUSDT rules: tick 0.1, step
 * 0.001, min notional 100; Binance bracket 1: MMR 0.004, cum 0).
 */
#include <stdlib.h>

#include "exchange/sim.h"
#include "unit.h"

#define H LB_MS_HOUR
#define M LB_MS_MINUTE

static lb_dec D(const char *s) {
  lb_dec d = 0;
  REQUIRE_OK(lb_dec_parse(s, &d));
  return d;
}

static xchg *new_sim(const char *slippage, const char *funding) {
  xchg_sim_params p;
  xchg_sim_params_default(&p);
  p.slippage = D(slippage);
  p.funding_rate = D(funding);
  xchg *x = NULL;
  lb_errbuf eb;
  REQUIRE_OK(xchg_sim_new(&p, &x, &eb));
  xchg_sim_symbol s = {.symbol = "BTCUSDT"};
  REQUIRE_OK(xchg_sim_add_symbol(x, &s, &eb));
  return x;
}

static void candle(xchg *x, lb_ms ts, lb_ms tf, double o, double h, double l, double c) {
  data_candle k = {ts, o, h, l, c, 1.0};
  REQUIRE_OK(xchg_sim_on_candle(x, "BTCUSDT", tf, &k));
}

static xchg_kind order(xchg *x, const char *cid, xchg_side side, xchg_type type, const char *qty,
                       const char *trigger, xchg_order *out, xchg_error *err) {
  xchg_order_req r;
  memset(&r, 0, sizeof r);
  snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
  snprintf(r.client_id, sizeof r.client_id, "%s", cid);
  r.side = side;
  r.type = type;
  r.qty = qty ? D(qty) : 0;
  r.trigger_price = trigger ? D(trigger) : 0;
  r.reduce_only = type != XCHG_MARKET;
  r.close_position = type != XCHG_MARKET && !qty;
  return xchg_place(x, &r, out, err);
}

static lb_dec wallet(xchg *x) {
  xchg_balance b;
  xchg_error e;
  REQUIRE_EQ(x->ops->balance(x, &b, &e), XCHG_OK);
  return b.wallet_balance;
}

static xchg_position position(xchg *x) {
  xchg_position p;
  xchg_error e;
  REQUIRE_EQ(x->ops->position(x, "BTCUSDT", &p, &e), XCHG_OK);
  return p;
}

/* Drains the queue; returns how many events of `type` there were and the
 * last one of that type in *last. */
static int drain(xchg *x, xchg_event_type type, xchg_event *last) {
  xchg_event ev[16];
  int n, count = 0;
  while ((n = xchg_poll_events(x, ev, 16)) > 0)
    for (int i = 0; i < n; i++)
      if (ev[i].type == type) {
        count++;
        if (last) *last = ev[i];
      }
  return count;
}

/* Long 0.01 BTC at 20000 with 10x leverage (no slippage) from a 04:00 1h candle. */
static xchg *long_at_20000(const char *slippage, const char *funding) {
  xchg *x = new_sim(slippage, funding);
  xchg_error e;
  REQUIRE_EQ(x->ops->set_leverage(x, "BTCUSDT", 10, &e), XCHG_OK);
  candle(x, 4 * H, H, 19950, 20050, 19900, 20000);
  xchg_order o;
  REQUIRE_EQ(order(x, "e1", XCHG_BUY, XCHG_MARKET, "0.010", NULL, &o, &e), XCHG_OK);
  REQUIRE_EQ(o.status, XCHG_ST_FILLED);
  drain(x, XCHG_EV_FILL, NULL);
  return x;
}

TEST(sim_market_fill_moves_price_against_taker_by_slippage_on_the_tick) {
  xchg *x = new_sim("0.0002", "0");
  xchg_error e;
  xchg_order o;
  candle(x, 0, M, 30100, 30130, 30090, 30123.4);
  /* 30123.4 * 0.0002 = 6.02468; buy: 30129.42468 rounded up to 0.1 = 30129.5 */
  REQUIRE_EQ(order(x, "b1", XCHG_BUY, XCHG_MARKET, "0.010", NULL, &o, &e), XCHG_OK);
  CHECK_EQ(o.avg_price, D("30129.5"));
  CHECK_EQ(o.filled_qty, D("0.01"));
  /* fee = 301.295 * 0.0005 = 0.1506475 */
  CHECK_EQ(o.fee, D("0.1506475"));
  /* sell: 30117.37532 rounded down = 30117.3; realized (30117.3 - 30129.5) * 0.01 = -0.122 */
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_MARKET, "0.010", NULL, &o, &e), XCHG_OK);
  CHECK_EQ(o.avg_price, D("30117.3"));
  CHECK_EQ(o.realized_pnl, D("-0.122"));
  /* fee = 301.173 * 0.0005 = 0.1505865 */
  CHECK_EQ(o.fee, D("0.1505865"));
  CHECK_EQ(wallet(x), D("10000") - D("0.122") - D("0.1506475") - D("0.1505865"));
  CHECK_EQ(position(x).qty, 0);
  CHECK_EQ(position(x).isolated_margin, 0);
  xchg_free(x);
}

TEST(sim_isolated_margin_is_notional_over_leverage_and_limits_new_positions) {
  xchg *x = long_at_20000("0", "0");
  xchg_position p = position(x);
  CHECK_EQ(p.qty, D("0.01"));
  CHECK_EQ(p.entry_price, D("20000"));
  CHECK_EQ(p.isolated_margin, D("20")); /* 200 / 10 */
  CHECK_EQ(p.leverage, 10);
  CHECK(p.isolated);
  xchg_balance b;
  xchg_error e;
  REQUIRE_EQ(x->ops->balance(x, &b, &e), XCHG_OK);
  CHECK_EQ(b.wallet_balance, D("9999.9"));      /* fee 0.1 */
  CHECK_EQ(b.available_balance, D("9979.9"));   /* minus the margin */
  /* 5 BTC more = 100,000 notional needs 10,000 margin: refused */
  xchg_order o;
  CHECK_EQ(order(x, "e2", XCHG_BUY, XCHG_MARKET, "5.000", NULL, &o, &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -2019);
  CHECK_CONTAINS(e.msg, "Margin is insufficient");
  xchg_free(x);
}

TEST(sim_stop_fills_at_the_stop_when_the_low_reaches_it) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  xchg_order o;
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_NEW);
  candle(x, 5 * H, H, 19900, 20100, 18900, 19500);
  xchg_event ev;
  CHECK_EQ(drain(x, XCHG_EV_FILL, &ev), 1);
  CHECK_STREQ(ev.fill.client_id, "s1");
  CHECK_EQ(ev.fill.price, D("19000"));
  CHECK_EQ(ev.fill.realized_pnl, D("-10"));  /* (19000 - 20000) * 0.01 */
  CHECK_EQ(ev.fill.fee, D("0.095"));         /* 190 * 0.0005 */
  CHECK_EQ(ev.time, 6 * H);                  /* inside the candle: by its end */
  CHECK_EQ(position(x).qty, 0);
  CHECK_EQ(wallet(x), D("10000") - D("0.1") - D("10") - D("0.095"));
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "s1", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_FILLED);
  CHECK_EQ(o.qty, D("0.01")); /* close-position order reports what it closed */
  xchg_free(x);
}

TEST(sim_take_profit_fills_at_its_price_when_the_high_reaches_it) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  REQUIRE_EQ(order(x, "t1", XCHG_SELL, XCHG_TAKE_PROFIT_MARKET, NULL, "21000", NULL, &e), XCHG_OK);
  candle(x, 5 * H, H, 20100, 20900, 20050, 20800); /* not yet */
  CHECK_EQ(drain(x, XCHG_EV_FILL, NULL), 0);
  candle(x, 6 * H, H, 20800, 21500, 20700, 21200);
  xchg_event ev;
  CHECK_EQ(drain(x, XCHG_EV_FILL, &ev), 1);
  CHECK_EQ(ev.fill.price, D("21000"));
  CHECK_EQ(ev.fill.realized_pnl, D("10"));
  CHECK_EQ(ev.fill.fee, D("0.105"));
  CHECK_EQ(wallet(x), D("10000") - D("0.1") + D("10") - D("0.105"));
  xchg_free(x);
}

TEST(sim_stop_wins_when_one_candle_touches_stop_and_take_profit) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  REQUIRE_EQ(order(x, "t1", XCHG_SELL, XCHG_TAKE_PROFIT_MARKET, NULL, "21000", NULL, &e), XCHG_OK);
  candle(x, 5 * H, H, 20000, 21500, 18500, 20000);
  xchg_event ev[32];
  int n = xchg_poll_events(x, ev, 32), fills = 0, expired = 0;
  for (int i = 0; i < n; i++) {
    if (ev[i].type == XCHG_EV_FILL) {
      fills++;
      CHECK_STREQ(ev[i].fill.client_id, "s1");
      CHECK_EQ(ev[i].fill.price, D("19000"));
    }
    if (ev[i].type == XCHG_EV_ORDER && ev[i].order.status == XCHG_ST_EXPIRED) {
      expired++;
      CHECK_STREQ(ev[i].order.client_id, "t1");
    }
  }
  CHECK_EQ(fills, 1);
  CHECK_EQ(expired, 1);
  int open = -1;
  xchg_order oo[4];
  REQUIRE_EQ(x->ops->open_orders(x, "BTCUSDT", oo, 4, &open, &e), XCHG_OK);
  CHECK_EQ(open, 0);
  xchg_free(x);
}

TEST(sim_short_stop_wins_too_when_both_are_touched) {
  xchg *x = new_sim("0", "0");
  xchg_error e;
  candle(x, 0, H, 20000, 20000, 20000, 20000);
  REQUIRE_EQ(order(x, "e1", XCHG_SELL, XCHG_MARKET, "0.010", NULL, NULL, &e), XCHG_OK);
  REQUIRE_EQ(order(x, "s1", XCHG_BUY, XCHG_STOP_MARKET, NULL, "21000", NULL, &e), XCHG_OK);
  REQUIRE_EQ(order(x, "t1", XCHG_BUY, XCHG_TAKE_PROFIT_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  drain(x, XCHG_EV_FILL, NULL);
  candle(x, H, H, 20000, 21500, 18500, 20000);
  xchg_event ev;
  CHECK_EQ(drain(x, XCHG_EV_FILL, &ev), 1);
  CHECK_STREQ(ev.fill.client_id, "s1");
  CHECK_EQ(ev.fill.realized_pnl, D("-10")); /* short: (20000 - 21000) * 0.01 */
  xchg_free(x);
}

/* The 15m candle above touches both; its 1m candles show the high came
 * first, so fed the finer candles the sim takes the profit. */
TEST(sim_finer_candles_resolve_the_order_inside_a_coarse_candle) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  REQUIRE_EQ(order(x, "t1", XCHG_SELL, XCHG_TAKE_PROFIT_MARKET, NULL, "21000", NULL, &e), XCHG_OK);
  lb_ms t = 5 * H;
  candle(x, t, M, 20000, 21500, 19990, 21400);     /* up first */
  candle(x, t + M, M, 21400, 21400, 18500, 18600); /* then down */
  xchg_event ev;
  CHECK_EQ(drain(x, XCHG_EV_FILL, &ev), 1);
  CHECK_STREQ(ev.fill.client_id, "t1");
  CHECK_EQ(ev.fill.price, D("21000"));
  CHECK_EQ(ev.time, t + M);
  xchg_free(x);
}

TEST(sim_gap_through_the_stop_fills_at_the_open_not_the_stop) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  /* opens at 18500: below the stop, above the liquidation price (18072.29) */
  candle(x, 5 * H, H, 18500, 18700, 18400, 18600);
  xchg_event ev;
  CHECK_EQ(drain(x, XCHG_EV_FILL, &ev), 1);
  CHECK_EQ(ev.fill.price, D("18500"));
  CHECK_EQ(ev.fill.realized_pnl, D("-15")); /* worse than the -10 the stop promised */
  CHECK_EQ(ev.time, 5 * H);                 /* at the open */
  xchg_sim_stats st;
  xchg_sim_get_stats(x, &st);
  CHECK_EQ(st.gap_fills, 1);
  xchg_free(x);
}

TEST(sim_stop_fill_pays_slippage_below_the_trigger) {
  xchg *x = long_at_20000("0.001", "0"); /* entry 20000 * 1.001 = 20020 */
  xchg_error e;
  CHECK_EQ(position(x).entry_price, D("20020"));
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  candle(x, 5 * H, H, 19900, 20100, 18900, 19500);
  xchg_event ev;
  CHECK_EQ(drain(x, XCHG_EV_FILL, &ev), 1);
  CHECK_EQ(ev.fill.price, D("18981")); /* 19000 - 19 */
  CHECK_EQ(ev.fill.realized_pnl, D("-10.39"));
  xchg_free(x);
}

TEST(sim_funding_settles_every_8_hours_from_data_then_the_configured_rate) {
  /* Funding data has only the 08:00 settlement (-0.0002: shorts pay longs);
   * 16:00 falls back to the configured 0.0001. */
  data_funding rows[] = {{8 * H, -0.0002}};
  data_funding_series fs = {rows, 1, 1};
  xchg_sim_params p;
  xchg_sim_params_default(&p);
  p.funding_rate = D("0.0001");
  xchg *x = NULL;
  lb_errbuf eb;
  REQUIRE_OK(xchg_sim_new(&p, &x, &eb));
  xchg_sim_symbol sy = {.symbol = "BTCUSDT", .funding = &fs};
  REQUIRE_OK(xchg_sim_add_symbol(x, &sy, &eb));
  xchg_error e;
  candle(x, 4 * H, H, 20000, 20000, 20000, 20000);
  REQUIRE_EQ(order(x, "e1", XCHG_BUY, XCHG_MARKET, "0.010", NULL, NULL, &e), XCHG_OK);
  drain(x, XCHG_EV_FILL, NULL);
  lb_dec w0 = wallet(x);
  int fundings = 0;
  xchg_event ev;
  for (lb_ms t = 5 * H; t < 17 * H; t += H) {
    double o = t == 8 * H ? 21000 : t == 16 * H ? 22000 : 20500;
    candle(x, t, H, o, o + 100, o - 100, o);
    int n = drain(x, XCHG_EV_FUNDING, &ev);
    if (n == 0) continue;
    fundings += n;
    if (t == 8 * H) {
      CHECK_EQ(ev.time, 8 * H);
      CHECK_EQ(ev.amount, D("0.042")); /* long receives 0.01 * 21000 * 0.0002 */
      CHECK_NEAR(ev.rate, -0.0002, 1e-12);
    } else {
      CHECK_EQ(t, 16 * H);
      CHECK_EQ(ev.amount, D("-0.022")); /* long pays 0.01 * 22000 * 0.0001 */
    }
  }
  CHECK_EQ(fundings, 2);
  CHECK_EQ(wallet(x), w0 + D("0.042") - D("0.022"));
  CHECK_EQ(position(x).isolated_margin, D("200") + D("0.042") - D("0.022")); /* 1x leverage */
  xchg_sim_stats st;
  xchg_sim_get_stats(x, &st);
  CHECK_EQ(st.funding, D("0.02"));
  CHECK_EQ(st.fundings, 2);
  xchg_free(x);
}

TEST(sim_funding_is_not_charged_without_a_position) {
  xchg *x = new_sim("0", "0.0001");
  for (lb_ms t = 0; t < 24 * H; t += H) candle(x, t, H, 20000, 20100, 19900, 20000);
  CHECK_EQ(drain(x, XCHG_EV_FUNDING, NULL), 0);
  CHECK_EQ(wallet(x), D("10000"));
  xchg_free(x);
}

TEST(sim_liquidates_when_no_working_stop_protects_the_position) {
  /* Long 0.01 at 20000, 10x: margin 20.  Liquidation price
   * (200 - 20 - 0) / (0.01 * (1 - 0.004)) = 18072.28915662... -> up to 1e-8. */
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  CHECK_EQ(position(x).liquidation_price, D("18072.28915663"));
  xchg_sim_inject(x, XCHG_SIM_FAULT_DEAF_STOPS, 1);
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  candle(x, 5 * H, H, 19900, 19950, 18000, 18500);
  xchg_event ev;
  CHECK_EQ(drain(x, XCHG_EV_LIQUIDATION, &ev), 1);
  CHECK_EQ(ev.fill.realized_pnl, D("-20")); /* the whole isolated margin */
  CHECK_EQ(ev.fill.fee, 0);
  CHECK_EQ(ev.fill.price, D("18000"));      /* bankruptcy price 20000 - 20/0.01 */
  CHECK_EQ(position(x).qty, 0);
  CHECK_EQ(wallet(x), D("10000") - D("0.1") - D("20"));
  xchg_sim_stats st;
  xchg_sim_get_stats(x, &st);
  CHECK_EQ(st.liquidations, 1);
  /* the deaf stop expired with the position */
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "s1", &(xchg_order){0}, &e), XCHG_OK);
  xchg_free(x);
}

TEST(sim_a_stop_before_the_liquidation_price_prevents_liquidation) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  candle(x, 5 * H, H, 19900, 19950, 17000, 18500); /* far through the liquidation price */
  CHECK_EQ(drain(x, XCHG_EV_LIQUIDATION, NULL), 0);
  xchg_sim_stats st;
  xchg_sim_get_stats(x, &st);
  CHECK_EQ(st.liquidations, 0);
  CHECK_EQ(wallet(x), D("10000") - D("0.1") - D("10") - D("0.095"));
  xchg_free(x);
}

TEST(sim_a_gap_beyond_the_liquidation_price_liquidates_even_with_a_stop) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  candle(x, 5 * H, H, 17000, 17100, 16900, 17000);
  CHECK_EQ(drain(x, XCHG_EV_LIQUIDATION, NULL), 1);
  xchg_free(x);
}

TEST(sim_short_liquidation_price_and_loss) {
  /* Short 0.01 at 20000, 5x: margin 40; LP = (200 + 40) / (0.01 * 1.004)
   * = 23904.38247011... -> down to 1e-8. */
  xchg *x = new_sim("0", "0");
  xchg_error e;
  REQUIRE_EQ(x->ops->set_leverage(x, "BTCUSDT", 5, &e), XCHG_OK);
  candle(x, 0, H, 20000, 20000, 20000, 20000);
  REQUIRE_EQ(order(x, "e1", XCHG_SELL, XCHG_MARKET, "0.010", NULL, NULL, &e), XCHG_OK);
  CHECK_EQ(position(x).liquidation_price, D("23904.38247011"));
  candle(x, H, H, 20000, 24000, 19900, 23000);
  xchg_event ev;
  CHECK_EQ(drain(x, XCHG_EV_LIQUIDATION, &ev), 1);
  CHECK_EQ(ev.fill.realized_pnl, D("-40"));
  CHECK_EQ(ev.fill.price, D("24000")); /* 20000 + 40 / 0.01 */
  xchg_free(x);
}

TEST(sim_refuses_invalid_orders_with_the_exchange_reason) {
  xchg *x = new_sim("0", "0");
  xchg_error e;
  xchg_order o;
  /* no price yet */
  CHECK_EQ(order(x, "a1", XCHG_BUY, XCHG_MARKET, "0.010", NULL, &o, &e), XCHG_REJECTED);
  candle(x, 0, H, 20000, 20000, 20000, 20000);
  /* reduce-only with no position */
  CHECK_EQ(order(x, "a2", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", &o, &e), XCHG_OK);
  REQUIRE_EQ(x->ops->cancel(x, "BTCUSDT", "a2", &e), XCHG_OK);
  xchg_order_req r;
  memset(&r, 0, sizeof r);
  snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
  snprintf(r.client_id, sizeof r.client_id, "a3");
  r.side = XCHG_SELL;
  r.type = XCHG_MARKET;
  r.qty = D("0.01");
  r.reduce_only = true;
  CHECK_EQ(xchg_place(x, &r, &o, &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -2022);
  /* off the step, below min notional */
  CHECK_EQ(order(x, "a4", XCHG_BUY, XCHG_MARKET, "0.0105", NULL, &o, &e), XCHG_REJECTED);
  CHECK_CONTAINS(e.msg, "stepSize");
  CHECK_EQ(order(x, "a5", XCHG_BUY, XCHG_MARKET, "0.001", NULL, &o, &e), XCHG_REJECTED);
  CHECK_CONTAINS(e.msg, "MIN_NOTIONAL");
  /* duplicate and invalid client ids */
  REQUIRE_EQ(order(x, "a6", XCHG_BUY, XCHG_MARKET, "0.010", NULL, &o, &e), XCHG_OK);
  CHECK_EQ(order(x, "a6", XCHG_BUY, XCHG_MARKET, "0.010", NULL, &o, &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -4116);
  CHECK_EQ(order(x, "bad id!", XCHG_BUY, XCHG_MARKET, "0.010", NULL, &o, &e), XCHG_REJECTED);
  /* a stop the price is already through */
  CHECK_EQ(order(x, "a7", XCHG_SELL, XCHG_STOP_MARKET, NULL, "20100", &o, &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -2021);
  /* trigger off the tick */
  CHECK_EQ(order(x, "a8", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000.05", &o, &e), XCHG_REJECTED);
  /* unknown symbol is fatal (bad configuration) */
  memset(&r, 0, sizeof r);
  snprintf(r.symbol, sizeof r.symbol, "DOGEUSDT");
  snprintf(r.client_id, sizeof r.client_id, "a9");
  r.side = XCHG_BUY;
  r.qty = D("1");
  CHECK_EQ(xchg_place(x, &r, &o, &e), XCHG_FATAL);
  CHECK_CONTAINS(e.msg, "DOGEUSDT");
  /* unsupported type, leverage out of the bracket */
  CHECK_EQ(order(x, "b1", XCHG_BUY, XCHG_LIMIT, "0.010", NULL, &o, &e), XCHG_REJECTED);
  CHECK_EQ(x->ops->set_leverage(x, "BTCUSDT", 126, &e), XCHG_REJECTED);
  /* cancel of an order that is not open */
  CHECK_EQ(x->ops->cancel(x, "BTCUSDT", "a2", &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -2011);
  xchg_free(x);
}

TEST(sim_canceled_stop_does_not_trigger_and_query_reports_it) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  REQUIRE_EQ(x->ops->cancel(x, "BTCUSDT", "s1", &e), XCHG_OK);
  xchg_event ev;
  CHECK_EQ(drain(x, XCHG_EV_ORDER, &ev), 1);
  CHECK_EQ(ev.order.status, XCHG_ST_CANCELED);
  candle(x, 5 * H, H, 19900, 20000, 18900, 19500);
  CHECK_EQ(drain(x, XCHG_EV_FILL, NULL), 0);
  xchg_order o;
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "s1", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_CANCELED);
  CHECK_EQ(x->ops->query(x, "BTCUSDT", "nope", &o, &e), XCHG_REJECTED);
  xchg_free(x);
}

TEST(sim_mark_prices_trigger_stops_in_paper_trading) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  REQUIRE_OK(xchg_sim_on_mark(x, "BTCUSDT", 5 * H + 1000, D("19500")));
  CHECK_EQ(drain(x, XCHG_EV_FILL, NULL), 0);
  REQUIRE_OK(xchg_sim_on_mark(x, "BTCUSDT", 5 * H + 2000, D("18990")));
  xchg_event ev;
  CHECK_EQ(drain(x, XCHG_EV_FILL, &ev), 1);
  CHECK_EQ(ev.fill.price, D("18990")); /* the mark jumped past the stop */
  CHECK_EQ(ev.time, 5 * H + 2000);
  lb_dec mark;
  double rate;
  REQUIRE_EQ(x->ops->mark_price(x, "BTCUSDT", &mark, &rate, &e), XCHG_OK);
  CHECK_EQ(mark, D("18990"));
  xchg_free(x);
}

TEST(sim_refuses_candles_out_of_time_order) {
  xchg *x = new_sim("0", "0");
  candle(x, 2 * H, H, 1, 1, 1, 1);
  data_candle k = {H, 1, 1, 1, 1, 1};
  CHECK_EQ(xchg_sim_on_candle(x, "BTCUSDT", H, &k), LB_EINVAL);
  CHECK_EQ(xchg_sim_on_candle(x, "ETHUSDT", H, &k), LB_EINVAL);
  xchg_free(x);
}

TEST(sim_injected_faults_reject_or_time_out_conditional_orders) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  xchg_sim_inject(x, XCHG_SIM_FAULT_REJECT_CONDITIONAL, 1);
  CHECK_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_REJECTED);
  xchg_sim_inject(x, XCHG_SIM_FAULT_RETRY_CONDITIONAL, 1);
  CHECK_EQ(order(x, "s2", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_RETRYABLE);
  CHECK_EQ(order(x, "s3", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  xchg_free(x);
}

TEST(sim_fills_since_and_open_orders_list_recent_activity) {
  xchg *x = long_at_20000("0", "0");
  xchg_error e;
  REQUIRE_EQ(order(x, "s1", XCHG_SELL, XCHG_STOP_MARKET, NULL, "19000", NULL, &e), XCHG_OK);
  REQUIRE_EQ(order(x, "t1", XCHG_SELL, XCHG_TAKE_PROFIT_MARKET, NULL, "21000", NULL, &e), XCHG_OK);
  xchg_order oo[8];
  int n = 0;
  REQUIRE_EQ(x->ops->open_orders(x, NULL, oo, 8, &n, &e), XCHG_OK);
  CHECK_EQ(n, 2);
  candle(x, 5 * H, H, 20000, 21100, 19900, 21000);
  xchg_fill f[8];
  REQUIRE_EQ(x->ops->fills_since(x, "BTCUSDT", 0, f, 8, &n, &e), XCHG_OK);
  REQUIRE_EQ(n, 2);
  CHECK_STREQ(f[0].client_id, "e1");
  CHECK_STREQ(f[1].client_id, "t1");
  REQUIRE_EQ(x->ops->fills_since(x, "BTCUSDT", 5 * H + 1, f, 8, &n, &e), XCHG_OK);
  CHECK_EQ(n, 1);
  xchg_free(x);
}

/* Property: over a random market with random orders, the wallet equals
 * the initial balance plus what the events say (realized PnL - fees +
 * funding), each realized PnL equals its recomputation from the fill price
 * and the entry, and margin is held exactly while a position is open. */
TEST(sim_ledger_reconciles_exactly_over_a_random_market) {
  srand((unsigned)lbt_seed());
  xchg *x = new_sim("0.0003", "0.0001");
  xchg_error e;
  REQUIRE_EQ(x->ops->set_leverage(x, "BTCUSDT", 20, &e), XCHG_OK);
  double px = 20000;
  lb_dec sum = 0, entry = 0, held = 0;
  int id = 0, liq = 0, fills = 0, fundings = 0;
  for (int k = 0; k < 5000; k++) {
    double o = px * (1 + ((rand() % 201) - 100) / 20000.0);
    double c = o * (1 + ((rand() % 401) - 200) / 10000.0);
    double h = (o > c ? o : c) * (1 + (rand() % 100) / 10000.0);
    double l = (o < c ? o : c) * (1 - (rand() % 100) / 10000.0);
    px = c;
    candle(x, (lb_ms)k * 15 * M, 15 * M, o, h, l, c);
    xchg_position p = position(x);
    if (p.qty == 0 && rand() % 4 == 0) {
      char cid[32], qs[16];
      snprintf(cid, sizeof cid, "e%d", ++id);
      snprintf(qs, sizeof qs, "0.0%02d", 5 + rand() % 40);
      bool buy = rand() % 2;
      xchg_order out;
      if (order(x, cid, buy ? XCHG_BUY : XCHG_SELL, XCHG_MARKET, qs, NULL, &out, &e) == XCHG_OK) {
        lb_dec d = lb_dec_round_to(out.avg_price / 50, D("0.1"), LB_ROUND_FLOOR); /* 2 % */
        snprintf(cid, sizeof cid, "s%d", id);
        char trig[LB_DEC_STRLEN];
        lb_dec_fmt(buy ? out.avg_price - d : out.avg_price + d, trig, sizeof trig);
        if (rand() % 10) /* one trade in ten runs without a stop */
          order(x, cid, buy ? XCHG_SELL : XCHG_BUY, XCHG_STOP_MARKET, NULL, trig, NULL, &e);
        snprintf(cid, sizeof cid, "t%d", id);
        lb_dec_fmt(buy ? out.avg_price + 2 * d : out.avg_price - 2 * d, trig, sizeof trig);
        order(x, cid, buy ? XCHG_SELL : XCHG_BUY, XCHG_TAKE_PROFIT_MARKET, NULL, trig, NULL, &e);
      }
    }
    xchg_event ev[16];
    int n;
    while ((n = xchg_poll_events(x, ev, 16)) > 0)
      for (int i = 0; i < n; i++) {
        if (ev[i].type == XCHG_EV_FUNDING) {
          sum += ev[i].amount;
          fundings++;
        }
        if (ev[i].type != XCHG_EV_FILL && ev[i].type != XCHG_EV_LIQUIDATION) continue;
        const xchg_fill *f = &ev[i].fill;
        sum += f->realized_pnl - f->fee;
        fills++;
        lb_dec signed_q = f->side == XCHG_BUY ? f->qty : -f->qty;
        if (held == 0) {
          entry = f->price;
          CHECK_EQ(f->realized_pnl, 0);
        } else if (ev[i].type == XCHG_EV_LIQUIDATION) {
          liq++;
          CHECK(f->realized_pnl < 0);
        } else {
          /* independent recomputation: (exit - entry) * qty, sign of the position */
          lb_dec want = 0;
          REQUIRE_OK(lb_dec_mul(f->price - entry, f->qty, LB_ROUND_HALF_EVEN, &want));
          CHECK_EQ(f->realized_pnl, held > 0 ? want : -want);
          CHECK(lb_dec_abs(signed_q) == lb_dec_abs(held));
        }
        held += signed_q;
      }
    p = position(x);
    CHECK_EQ(p.qty, held);
    CHECK((p.qty != 0) == (p.isolated_margin > 0));
    CHECK_EQ(wallet(x), D("10000") + sum);
  }
  xchg_sim_stats st;
  xchg_sim_get_stats(x, &st);
  CHECK_EQ(st.realized_pnl - st.fees + st.funding, sum);
  CHECK_EQ(st.liquidations, liq);
  CHECK(fills > 100);
  CHECK(liq > 0); /* one trade in ten has no stop, at 20x */
  CHECK(fundings > 10);
  xchg_free(x);
}

/* The quick test in doubles only skips candles: over a random market with
 * stops and take-profits close to the price, the sim with it and the sim
 * walking every candle exactly produce the same fills, byte for byte. */
TEST(sim_quick_candle_test_never_changes_a_fill) {
  xchg *x[2];
  for (int k = 0; k < 2; k++) {
    xchg_sim_params p;
    xchg_sim_params_default(&p);
    p.slippage = D("0.0001");
    p.exact_walk = k == 1;
    lb_errbuf eb;
    REQUIRE_OK(xchg_sim_new(&p, &x[k], &eb));
    xchg_sim_symbol sy = {.symbol = "BTCUSDT"};
    REQUIRE_OK(xchg_sim_add_symbol(x[k], &sy, &eb));
    xchg_error e;
    REQUIRE_EQ(x[k]->ops->set_leverage(x[k], "BTCUSDT", 20, &e), XCHG_OK);
  }
  srand(7);
  double px = 20000;
  int fills = 0, id = 0;
  for (int n = 0; n < 20000; n++) {
    double o = px, c = o * (1 + ((rand() % 201) - 100) / 40000.0);
    double h = (o > c ? o : c) * (1 + (rand() % 30) / 40000.0);
    double l = (o < c ? o : c) * (1 - (rand() % 30) / 40000.0);
    px = c;
    data_candle k = {(lb_ms)n * M, o, h, l, c, 1};
    bool flat = true;
    for (int j = 0; j < 2; j++) {
      REQUIRE_OK(xchg_sim_on_candle(x[j], "BTCUSDT", M, &k));
      flat = position(x[j]).qty == 0;
    }
    if (flat && rand() % 3 == 0) { /* same orders on both: stops a few ticks away */
      id++;
      bool buy = rand() % 2;
      double dist = 1 + rand() % 40; /* USDT: 10 .. 400 ticks */
      char cid[32], trig[32];
      for (int j = 0; j < 2; j++) {
        xchg_error e;
        xchg_order out;
        snprintf(cid, sizeof cid, "e%d", id);
        if (order(x[j], cid, buy ? XCHG_BUY : XCHG_SELL, XCHG_MARKET, "0.010", NULL, &out, &e) != XCHG_OK)
          continue;
        double a = lb_dec_to_double(out.avg_price);
        snprintf(cid, sizeof cid, "s%d", id);
        snprintf(trig, sizeof trig, "%.1f", buy ? a - dist : a + dist);
        order(x[j], cid, buy ? XCHG_SELL : XCHG_BUY, XCHG_STOP_MARKET, NULL, trig, NULL, &e);
        snprintf(cid, sizeof cid, "t%d", id);
        snprintf(trig, sizeof trig, "%.1f", buy ? a + dist : a - dist);
        order(x[j], cid, buy ? XCHG_SELL : XCHG_BUY, XCHG_TAKE_PROFIT_MARKET, NULL, trig, NULL, &e);
      }
    }
    xchg_event a[32], b[32];
    int na = xchg_poll_events(x[0], a, 32), nb = xchg_poll_events(x[1], b, 32);
    REQUIRE_EQ(na, nb);
    for (int i = 0; i < na; i++) {
      CHECK_EQ(a[i].type, b[i].type);
      if (a[i].type == XCHG_EV_FILL) {
        fills++;
        CHECK_STREQ(a[i].fill.client_id, b[i].fill.client_id);
        CHECK_EQ(a[i].fill.price, b[i].fill.price);
        CHECK_EQ(a[i].fill.realized_pnl, b[i].fill.realized_pnl);
        CHECK_EQ(a[i].time, b[i].time);
      }
    }
  }
  CHECK(fills > 1000);
  CHECK_EQ(wallet(x[0]), wallet(x[1]));
  xchg_free(x[0]);
  xchg_free(x[1]);
}
