/* test_scenarios.c -- the engine on constructed candles: every exit path, funding, liquidation, breakers.
 *
 * A scripted analyst opens a trade at a chosen close; the candles after it
 * decide what happens.  Prices are chosen so that every expected number can
 * be worked out by hand: BTCUSDT (tick 0.1, step 0.001), capital 1000,
 * risk 10 % (budget 100 USDT), stop 5 %, take-profit 10 %, taker fee 0.05 %.
 * An entry at 20000 then has stop 19000 and take-profit 22000, and the
 * quantity is the largest step multiple whose loss at the stop, fees
 * included, fits the budget: 0.098 BTC (0.098 x 1019.5 = 99.91).
 * Every scenario ends with the ledger check of P6 (h_check_ledger).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "harness.h"
#include "unit.h"

#define HR LB_MS_HOUR

static lb_dec D(const char *s) {
  lb_dec d = 0;
  REQUIRE_OK(lb_dec_parse(s, &d));
  return d;
}

static lb_dec mul(lb_dec a, lb_dec b) {
  lb_dec r = 0;
  REQUIRE_OK(lb_dec_mul(a, b, LB_ROUND_HALF_EVEN, &r));
  return r;
}

/* Flat at 20000 for three hours, a LONG at the 03:00 close. */
static void open_long(harness *h) {
  h_signal(h, 3 * HR, LB_ACTION_LONG);
  h_flat(h, 0, 0, 3, 20000);
  engine_position pos;
  engine_get_position(h->e, &pos);
  REQUIRE_EQ(pos.state, ENGINE_OPEN);
}

TEST(engine_stop_hit_closes_at_the_stop_with_exact_ledger) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  open_long(&h);
  engine_position pos;
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.trade.qty, D("0.098"));
  CHECK_EQ(pos.trade.entry_price, D("20000"));
  CHECK_EQ(pos.trade.stop, D("19000"));
  CHECK_EQ(pos.trade.take_profit, D("22000"));
  CHECK_EQ(pos.trade.leverage, 3);
  h_candle(&h, 0, 3 * HR, 20000, 20100, 18900, 19500);
  REQUIRE_EQ(h.rec.n_closed, 1);
  engine_trade *t = &h.rec.closed[0];
  CHECK_EQ(t->exit_reason, ENGINE_EXIT_STOP);
  CHECK_EQ(t->exit_price, D("19000"));
  CHECK_EQ(t->realized_pnl, D("-98"));            /* (19000 - 20000) x 0.098 */
  CHECK_EQ(t->fees, D("0.98") + D("0.931"));      /* 1960 and 1862 at 0.05 % */
  CHECK(-engine_trade_net(t) <= t->loss_at_stop);  /* the plan's promise held */
  CHECK_EQ(t->entry_time, 3 * HR);
  CHECK_EQ(t->exit_time, 4 * HR);
  CHECK(!t->gap_exit);
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_take_profit_hit_books_the_profit) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  open_long(&h);
  h_candle(&h, 0, 3 * HR, 20000, 21000, 19800, 20900);
  CHECK_EQ(h.rec.n_closed, 0);
  h_candle(&h, 0, 4 * HR, 20900, 22500, 20800, 22400);
  REQUIRE_EQ(h.rec.n_closed, 1);
  engine_trade *t = &h.rec.closed[0];
  CHECK_EQ(t->exit_reason, ENGINE_EXIT_TAKE_PROFIT);
  CHECK_EQ(t->exit_price, D("22000"));
  CHECK_EQ(t->realized_pnl, D("196")); /* 2000 x 0.098 */
  CHECK_EQ(t->fees, D("0.98") + D("1.078"));
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_stop_wins_when_a_candle_touches_stop_and_take_profit) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  open_long(&h);
  h_candle(&h, 0, 3 * HR, 20000, 22500, 18500, 20000);
  REQUIRE_EQ(h.rec.n_closed, 1);
  CHECK_EQ(h.rec.closed[0].exit_reason, ENGINE_EXIT_STOP);
  CHECK_EQ(h.rec.closed[0].exit_price, D("19000"));
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_gap_through_the_stop_fills_at_the_open_and_loses_more) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  open_long(&h);
  h_candle(&h, 0, 3 * HR, 18000, 18200, 17800, 18100);
  REQUIRE_EQ(h.rec.n_closed, 1);
  engine_trade *t = &h.rec.closed[0];
  CHECK_EQ(t->exit_reason, ENGINE_EXIT_STOP);
  CHECK_EQ(t->exit_price, D("18000"));
  CHECK_EQ(t->realized_pnl, D("-196"));
  CHECK(t->gap_exit);
  CHECK(-engine_trade_net(t) > t->loss_at_stop); /* worse than planned: a gap */
  CHECK_EQ(t->exit_time, 3 * HR);               /* at the open */
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_trailing_stop_ratchets_up_and_never_down) {
  harness h;
  engine_params p;
  h_params(&p);
  p.risk.trail_enabled = true;
  p.risk.trail_mode = RISK_TRAIL_PERCENT;
  p.risk.trail_percent = 0.02;
  p.risk.trail_activation_r = 1.0;
  h_start(&h, &p, "0", "0");
  h.script.tp = 0.50; /* far away: the trailing stop must do the exit */
  open_long(&h);
  /* up 1000 per hour to 25000, a dip that does not reach the stop, then down */
  double closes[] = {21000, 22000, 23000, 24000, 25000, 24700, 25200, 24000};
  lb_ms t = 3 * HR;
  double prev = 20000;
  for (size_t i = 0; i < sizeof closes / sizeof closes[0]; i++, t += HR) {
    double c = closes[i];
    double lo = (prev < c ? prev : c) - (i == 7 ? 0 : 10);
    h_candle(&h, 0, t, prev, (prev > c ? prev : c) + 10, lo, c);
    prev = c;
  }
  REQUIRE(h.rec.n_moves >= 3);
  for (int i = 0; i < h.rec.n_moves; i++) {
    CHECK(h.rec.stop_to[i] > h.rec.stop_from[i]); /* P5 */
    if (i) CHECK_EQ(h.rec.stop_from[i], h.rec.stop_to[i - 1]);
  }
  /* best close 25200 - 2 % = 24696: the last candle falls through it */
  CHECK_EQ(h.rec.stop_to[h.rec.n_moves - 1], D("24696"));
  REQUIRE_EQ(h.rec.n_closed, 1);
  engine_trade *tr = &h.rec.closed[0];
  CHECK_EQ(tr->exit_reason, ENGINE_EXIT_TRAILING_STOP);
  CHECK_EQ(tr->exit_price, D("24696"));
  CHECK(engine_trade_net(tr) > 0);
  CHECK_EQ(tr->stop_moves, h.rec.n_moves);
  CHECK_EQ(tr->initial_stop, D("19000"));
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_funding_is_charged_at_each_settlement_while_open) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0.0001");
  h_signal(&h, 3 * HR, LB_ACTION_LONG);
  lb_ms t = h_flat(&h, 0, 0, 3, 20000);
  /* held from 03:00; settlements at 08:00 and 16:00 (the 00:00 one came
   * before the entry).  Candles open at 20000 + 10 x hour. */
  for (; t < 20 * HR; t += HR) {
    double o = 20000 + 10.0 * (double)(t / HR);
    h_candle(&h, 0, t, o, o + 5, o - 5, o);
  }
  engine_position pos;
  engine_get_position(h.e, &pos);
  REQUIRE_EQ(pos.state, ENGINE_OPEN);
  /* 0.098 x 20080 x 0.0001 = 0.196784 and 0.098 x 20160 x 0.0001 = 0.197568, paid */
  CHECK_EQ(pos.trade.funding, -(D("0.196784") + D("0.197568")));
  CHECK_EQ(h.rec.funding_sum, pos.trade.funding);
  engine_ledger l;
  engine_get_ledger(h.e, &l);
  CHECK_EQ(l.funding, pos.trade.funding);
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_flags_a_liquidation_when_the_stop_is_broken) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  xchg_sim_inject(h.x, XCHG_SIM_FAULT_DEAF_STOPS, 1); /* the stop is accepted, never works */
  open_long(&h);
  engine_position pos;
  engine_get_position(h.e, &pos);
  lb_dec liq = pos.trade.liquidation;
  CHECK(liq > 0 && liq < D("19000"));
  /* a slow slide: the warning first, then the liquidation price */
  h_candle(&h, 0, 3 * HR, 20000, 20000, 13700, 13700);
  CHECK_EQ(h_alerts(&h, ENGINE_ALERT_LIQUIDATION_NEAR), 1);
  CHECK_EQ(h.rec.n_closed, 0);
  h_candle(&h, 0, 4 * HR, 14000, 14000, 12000, 12500);
  REQUIRE_EQ(h.rec.n_closed, 1);
  engine_trade *t = &h.rec.closed[0];
  CHECK_EQ(t->exit_reason, ENGINE_EXIT_LIQUIDATION);
  CHECK_EQ(t->realized_pnl, -t->margin); /* the whole isolated margin */
  CHECK_EQ(h_alerts(&h, ENGINE_ALERT_LIQUIDATED), 1);
  engine_counters c;
  engine_get_counters(h.e, &c);
  CHECK_EQ(c.liquidations, 1);
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_breaker_trip_halts_entries_but_not_exits) {
  harness h;
  engine_params p;
  h_params(&p);
  p.risk.max_drawdown = 0.05; /* 50 USDT on 1000 */
  h_start(&h, &p, "0", "0");
  open_long(&h);
  /* equity falls 0.098 x 700 = 68.6 below the peak: trips at the next scan */
  h_candle(&h, 0, 3 * HR, 20000, 20000, 19300, 19300);
  CHECK_EQ(h.rec.trips, 1);
  CHECK(engine_breakers_blocking(h.e, 4 * HR));
  /* the exit still works: the take-profit fills */
  h_candle(&h, 0, 4 * HR, 19300, 22100, 19300, 22000);
  REQUIRE_EQ(h.rec.n_closed, 1);
  CHECK_EQ(h.rec.closed[0].exit_reason, ENGINE_EXIT_TAKE_PROFIT);
  /* and new entries stay blocked (max_drawdown resumes only by command) */
  h_signal(&h, 7 * HR, LB_ACTION_LONG);
  h_signal(&h, 8 * HR, LB_ACTION_SHORT);
  h_flat(&h, 0, 5 * HR, 4, 22000);
  CHECK_EQ(h.rec.n_opened, 1);
  CHECK(h.rec.outcomes[ENGINE_SCAN_BREAKER] >= 4);
  /* the operator's reset lets them through again */
  CHECK_OK(engine_reset_breakers(h.e, RISK_BRK__COUNT, 9 * HR));
  h_signal(&h, 10 * HR, LB_ACTION_LONG);
  h_flat(&h, 0, 9 * HR, 1, 22000);
  CHECK_EQ(h.rec.n_opened, 2);
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_closes_at_once_when_the_stop_cannot_be_confirmed) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  xchg_sim_inject(h.x, XCHG_SIM_FAULT_REJECT_CONDITIONAL, 1);
  h_signal(&h, 3 * HR, LB_ACTION_LONG);
  h_flat(&h, 0, 0, 3, 20000);
  REQUIRE_EQ(h.rec.n_closed, 1);
  CHECK_EQ(h.rec.closed[0].exit_reason, ENGINE_EXIT_NO_STOP);
  CHECK_EQ(h.rec.closed[0].exit_time, 3 * HR);
  CHECK_EQ(h_alerts(&h, ENGINE_ALERT_STOP_NOT_CONFIRMED), 1);
  engine_position pos;
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_FLAT);
  xchg_position xp;
  xchg_error err;
  REQUIRE_EQ(h.x->ops->position(h.x, "BTCUSDT", &xp, &err), XCHG_OK);
  CHECK_EQ(xp.qty, 0);
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_retries_a_stop_that_timed_out_with_the_same_client_id) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  xchg_sim_inject(h.x, XCHG_SIM_FAULT_RETRY_CONDITIONAL, 1);
  open_long(&h); /* OPEN: the second attempt was confirmed */
  xchg_order o;
  xchg_error err;
  REQUIRE_EQ(xchg_query(h.x, "BTCUSDT", "t-1-S1", &o, &err), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_NEW);
  CHECK_EQ(o.trigger_price, D("19000"));
  h_stop(&h);
}

TEST(engine_closes_at_once_when_the_stop_disappears_from_the_exchange) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  open_long(&h);
  xchg_error err;
  REQUIRE_EQ(xchg_cancel(h.x, "BTCUSDT", "t-1-S1", &err), XCHG_OK); /* someone else */
  h_flat(&h, 0, 3 * HR, 1, 20000);
  REQUIRE_EQ(h.rec.n_closed, 1);
  CHECK_EQ(h.rec.closed[0].exit_reason, ENGINE_EXIT_NO_STOP);
  CHECK_EQ(h_alerts(&h, ENGINE_ALERT_STOP_NOT_CONFIRMED), 1);
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_holds_at_most_one_position_across_symbols) {
  harness h;
  engine_params p;
  h_params(&p);
  snprintf(p.symbols[1], sizeof p.symbols[1], "ETHUSDT");
  p.n_symbols = 2;
  h_start(&h, &p, "0", "0");
  h_signal(&h, 3 * HR, LB_ACTION_LONG); /* both symbols' scans at 03:00 say LONG */
  for (lb_ms t = 0; t < 6 * HR; t += HR) {
    h_candle(&h, 0, t, 20000, 20000, 20000, 20000);
    h_candle(&h, 1, t, 1500, 1500, 1500, 1500);
  }
  CHECK_EQ(h.rec.n_opened, 1);
  CHECK(h.rec.outcomes[ENGINE_SCAN_BUSY] >= 1);
  engine_position pos;
  engine_get_position(h.e, &pos);
  CHECK_STREQ(pos.trade.symbol, "BTCUSDT");
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_entry_refused_by_the_exchange_returns_to_flat) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  xchg_sim_inject(h.x, XCHG_SIM_FAULT_REJECT_MARKET, 1);
  h_signal(&h, 3 * HR, LB_ACTION_LONG);
  h_signal(&h, 4 * HR, LB_ACTION_SHORT);
  h_flat(&h, 0, 0, 4, 20000);
  CHECK_EQ(h.rec.outcomes[ENGINE_SCAN_FAILED], 1);
  CHECK_EQ(h.rec.outcomes[ENGINE_SCAN_ENTERED], 1); /* the next signal trades */
  engine_position pos;
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_OPEN);
  CHECK_EQ(pos.trade.side, LB_ACTION_SHORT);
  CHECK_EQ(pos.trade.id, 2); /* ids are not reused */
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_short_trade_profits_when_price_falls) {
  harness h;
  engine_params p;
  h_params(&p);
  p.slippage = 0.0002; /* the plan expects what the sim will do: 2 bps */
  p.risk.slippage = 0.0002;
  h_start(&h, &p, "0.0002", "0");
  h_signal(&h, 3 * HR, LB_ACTION_SHORT);
  h_flat(&h, 0, 0, 3, 20000);
  engine_position pos;
  engine_get_position(h.e, &pos);
  REQUIRE_EQ(pos.state, ENGINE_OPEN);
  CHECK_EQ(pos.trade.entry_price, D("19996")); /* 20000 - 2 bps */
  h_candle(&h, 0, 3 * HR, 19996, 20000, 17000, 17500);
  REQUIRE_EQ(h.rec.n_closed, 1);
  engine_trade *t = &h.rec.closed[0];
  CHECK_EQ(t->exit_reason, ENGINE_EXIT_TAKE_PROFIT);
  /* independent recomputation of the realized PnL from the two fills */
  CHECK_EQ(t->realized_pnl, mul(t->entry_price - t->exit_price, t->qty));
  CHECK(engine_trade_net(t) > 0);
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_manual_close_exits_at_market) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  open_long(&h);
  h_flat(&h, 0, 3 * HR, 1, 20500);
  CHECK_OK(engine_close_position(h.e, 4 * HR));
  REQUIRE_EQ(h.rec.n_closed, 1);
  CHECK_EQ(h.rec.closed[0].exit_reason, ENGINE_EXIT_MANUAL);
  CHECK_EQ(h.rec.closed[0].exit_price, D("20500"));
  /* the stop and take-profit are gone from the exchange */
  xchg_order oo[8];
  int n = -1;
  xchg_error err;
  REQUIRE_EQ(h.x->ops->open_orders(h.x, NULL, oo, 8, &n, &err), XCHG_OK);
  CHECK_EQ(n, 0);
  h_check_ledger(&h);
  h_stop(&h);
}

/* ==== The scan split ==== */

typedef struct {
  strategy_panel *panel;
  engine_scan *scan;
} ask_job;

static void *ask_thread(void *arg) {
  ask_job *j = arg;
  engine_scan_ask(j->panel, j->scan);
  return NULL;
}

TEST(engine_scan_ask_runs_on_another_thread_while_prices_flow) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  h_signal(&h, 3 * HR, LB_ACTION_LONG);
  data_candle k;
  for (lb_ms t = 0; t < 3 * HR; t += HR) {
    k = (data_candle){t, 20000, 20000, 20000, 20000, 100};
    REQUIRE_OK(xchg_sim_on_candle(h.x, "BTCUSDT", HR, &k));
    REQUIRE_OK(engine_on_candle(h.e, 0, HR, &k, NULL));
  }
  engine_scan *s = calloc(1, sizeof *s);
  REQUIRE(s);
  REQUIRE(engine_scan_prepare(h.e, 0, 3 * HR, s));
  ask_job job = {&h.panel, s};
  pthread_t th;
  REQUIRE_EQ(pthread_create(&th, NULL, ask_thread, &job), 0);
  /* the engine keeps taking prices while the analysts think */
  REQUIRE_OK(engine_on_mark(h.e, 0, 3 * HR + 1000, D("20001")));
  pthread_join(th, NULL);
  CHECK_EQ(s->n_votes, 1);
  REQUIRE_OK(engine_scan_apply(h.e, s, 3 * HR + 2000));
  CHECK_EQ(s->outcome, ENGINE_SCAN_ENTERED);
  engine_position pos;
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_OPEN);
  /* a second, older scan applied now is stale: a position is open */
  engine_scan *s2 = calloc(1, sizeof *s2);
  REQUIRE(s2);
  *s2 = *s;
  REQUIRE_OK(engine_scan_apply(h.e, s2, 3 * HR + 3000));
  CHECK_EQ(s2->outcome, ENGINE_SCAN_STALE);
  CHECK_EQ(h.rec.n_opened, 1);
  free(s);
  free(s2);
  h_check_ledger(&h);
  h_stop(&h);
}

TEST(engine_scan_older_than_max_age_is_not_applied) {
  harness h;
  engine_params p;
  h_params(&p);
  p.max_scan_age = 60 * LB_MS_SECOND;
  h_start(&h, &p, "0", "0");
  h_signal(&h, 3 * HR, LB_ACTION_LONG);
  data_candle k;
  for (lb_ms t = 0; t < 3 * HR; t += HR) {
    k = (data_candle){t, 20000, 20000, 20000, 20000, 100};
    REQUIRE_OK(xchg_sim_on_candle(h.x, "BTCUSDT", HR, &k));
    REQUIRE_OK(engine_on_candle(h.e, 0, HR, &k, NULL));
  }
  engine_scan *s = calloc(1, sizeof *s);
  REQUIRE(s);
  REQUIRE(engine_scan_prepare(h.e, 0, 3 * HR, s));
  engine_scan_ask(&h.panel, s);
  REQUIRE_OK(engine_scan_apply(h.e, s, 3 * HR + 61 * LB_MS_SECOND));
  CHECK_EQ(s->outcome, ENGINE_SCAN_STALE);
  CHECK_EQ(h.rec.n_opened, 0);
  free(s);
  h_stop(&h);
}

/* ==== A streaming venue: candles and marks arrive as events ==== */

/* The sim behind a wrapper whose poll_events first hands out queued
 * CANDLE and MARK events, as a live adapter's streams do. */
typedef struct {
  xchg x;
  xchg *inner;
  xchg_event q[64];
  int n, head;
} streaming;

static streaming *as_streaming(xchg *x) { return (streaming *)x->impl; }

#define FWD(name, ...) return as_streaming(x)->inner->ops->name(as_streaming(x)->inner, __VA_ARGS__)
static xchg_kind st_rules(xchg *x, const char *s, lb_symbol_rules *o, xchg_error *e) { FWD(symbol_rules, s, o, e); }
static xchg_kind st_br(xchg *x, const char *s, lb_bracket_table *o, xchg_error *e) { FWD(brackets, s, o, e); }
static xchg_kind st_bal(xchg *x, xchg_balance *o, xchg_error *e) { FWD(balance, o, e); }
static xchg_kind st_pos(xchg *x, const char *s, xchg_position *o, xchg_error *e) { FWD(position, s, o, e); }
static xchg_kind st_lev(xchg *x, const char *s, int l, xchg_error *e) { FWD(set_leverage, s, l, e); }
static xchg_kind st_iso(xchg *x, const char *s, xchg_error *e) { FWD(set_isolated, s, e); }
static xchg_kind st_place(xchg *x, const xchg_order_req *r, xchg_order *o, xchg_error *e) { FWD(place, r, o, e); }
static xchg_kind st_cancel(xchg *x, const char *s, const char *c, xchg_error *e) { FWD(cancel, s, c, e); }
static xchg_kind st_query(xchg *x, const char *s, const char *c, xchg_order *o, xchg_error *e) { FWD(query, s, c, o, e); }
static xchg_kind st_mark(xchg *x, const char *s, lb_dec *m, double *r, xchg_error *e) { FWD(mark_price, s, m, r, e); }
static int st_poll(xchg *x, xchg_event *out, int max) {
  streaming *st = as_streaming(x);
  int n = 0;
  while (n < max && st->head < st->n) out[n++] = st->q[st->head++];
  if (n < max) n += xchg_poll_events(st->inner, out + n, max - n);
  return n;
}
static const xchg_ops streaming_ops = {.name = "streaming-test", .symbol_rules = st_rules,
                                       .brackets = st_br, .balance = st_bal, .position = st_pos,
                                       .set_leverage = st_lev, .set_isolated = st_iso, .place = st_place,
                                       .cancel = st_cancel, .query = st_query, .mark_price = st_mark,
                                       .poll_events = st_poll};

/* The venue's market stream delivers a closed candle: the sim learns the
 * price, the engine gets the event. */
static void stream_candle(streaming *st, lb_ms ts, double px) {
  data_candle k = {ts, px, px, px, px, 100};
  xchg_sim_on_candle(st->inner, "BTCUSDT", HR, &k);
  xchg_event *ev = &st->q[st->n++];
  memset(ev, 0, sizeof *ev);
  ev->type = XCHG_EV_CANDLE;
  ev->time = ts + HR;
  snprintf(ev->symbol, sizeof ev->symbol, "BTCUSDT");
  ev->candle = k;
  ev->timeframe = HR;
}

TEST(engine_takes_candles_and_marks_streamed_as_events) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  engine_free(h.e); /* the same engine, behind a streaming venue */
  static streaming st;
  memset(&st, 0, sizeof st);
  st.inner = h.x;
  st.x.ops = &streaming_ops;
  st.x.impl = &st;
  engine_observer none = {0};
  lb_errbuf eb;
  REQUIRE_OK(engine_new(&h.p, &st.x, &h.panel, &none, &h.e, &eb));
  h_signal(&h, 3 * HR, LB_ACTION_LONG);
  for (lb_ms t = 0; t < 3 * HR; t += HR) stream_candle(&st, t, 20000);
  REQUIRE_OK(engine_poll(h.e));
  int sym = -1, scans = 0;
  lb_ms when = 0;
  while (engine_next_scan(h.e, &sym, &when)) { /* only the latest due scan is kept */
    scans++;
    CHECK_EQ(sym, 0);
    CHECK_EQ(when, 3 * HR);
    REQUIRE_OK(engine_scan_run(h.e, sym, when));
  }
  CHECK_EQ(scans, 1);
  engine_position pos;
  engine_get_position(h.e, &pos);
  REQUIRE_EQ(pos.state, ENGINE_OPEN);
  /* a mark event beyond the stop: the sim fills it, the engine books it */
  REQUIRE_OK(xchg_sim_on_mark(h.x, "BTCUSDT", 3 * HR + 5000, D("18900")));
  xchg_event *ev = &st.q[st.n++];
  memset(ev, 0, sizeof *ev);
  ev->type = XCHG_EV_MARK;
  ev->time = 3 * HR + 5000;
  snprintf(ev->symbol, sizeof ev->symbol, "BTCUSDT");
  ev->price = D("18900");
  REQUIRE_OK(engine_poll(h.e));
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_FLAT);
  engine_ledger l;
  engine_get_ledger(h.e, &l);
  /* filled at the mark that jumped past the stop: (18900 - 20000) x 0.098,
   * fees 0.05 % of 1960 and of 1852.2 */
  CHECK_EQ(l.capital - l.initial, D("-107.8") - D("0.98") - mul(D("18900"), D("0.098")) / 2000);
  CHECK(!engine_next_scan(h.e, &sym, &when));
  h_stop(&h);
}
