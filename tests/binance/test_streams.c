/* test_streams.c -- WebSocket market and user-data streams against exsim: order, gaps, drops, keys, routing. */
#include <stdlib.h>

#include "harness.h"
#include "unit.h"

static event_log elog;

static lb_dec D(const char *s) {
  lb_dec d = 0;
  if (lb_dec_parse(s, &d) != LB_OK) lbt_fail(__FILE__, __LINE__, "bad decimal %s", s);
  return d;
}

/* Collects events for ms milliseconds into elog (appending). */
static void collect(xchg *x, int ms) {
  lb_ms end = lb_time_mono_ms() + ms;
  while (lb_time_mono_ms() < end) {
    xchg_event ev[64];
    int n = xchg_poll_events(x, ev, 64);
    for (int i = 0; i < n && elog.n < 4096; i++) elog.ev[elog.n++] = ev[i];
    if (n == 0) sleep_ms(5);
  }
}

/* Index of the first event at or after `from` matching, -1 if none. */
static int find_ev(int from, xchg_event_type t, xchg_stream stream, const char *cid) {
  for (int i = from; i < elog.n; i++) {
    const xchg_event *e = &elog.ev[i];
    if (e->type != t) continue;
    if (stream && e->stream != stream) continue;
    if (cid && strcmp(e->order.client_id, cid) != 0 && strcmp(e->fill.client_id, cid) != 0) continue;
    return i;
  }
  return -1;
}

/* Waits until an event matching appears (collecting), true if it did. */
static bool wait_for(xchg *x, xchg_event_type t, xchg_stream stream, const char *cid, int ms, int from) {
  lb_ms end = lb_time_mono_ms() + ms;
  while (lb_time_mono_ms() < end) {
    if (find_ev(from, t, stream, cid) >= 0) return true;
    collect(x, 10);
  }
  return find_ev(from, t, stream, cid) >= 0;
}

static xchg *subscribed(exsim_proc *p, const char *const *cfg) {
  xchg *x = test_adapter(p, cfg);
  xchg_error e;
  const char *syms[] = {"BTCUSDT"};
  REQUIRE_EQ(x->ops->subscribe(x, syms, 1, LB_MS_MINUTE, &e), XCHG_OK);
  elog.n = 0;
  return x;
}

/* Every candle of the log: strictly consecutive minutes, none twice. */
static int check_candles(void) {
  int n = 0;
  lb_ms prev = 0;
  for (int i = 0; i < elog.n; i++) {
    const xchg_event *e = &elog.ev[i];
    if (e->type != XCHG_EV_CANDLE) continue;
    CHECK_EQ(e->timeframe, LB_MS_MINUTE);
    if (prev && e->candle.ts != prev + LB_MS_MINUTE)
      lbt_fail(__FILE__, __LINE__, "candle %lld follows %lld", (long long)e->candle.ts, (long long)prev);
    prev = e->candle.ts;
    n++;
  }
  return n;
}

TEST(stream_delivers_closed_candles_and_marks_in_order) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = subscribed(&p, NULL);
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_MARKET, NULL, 5000, 0));
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_USER, NULL, 5000, 0));
  json_t *s = exsim_state(&p);
  lb_ms shift = state_int(s, "shift");
  json_decref(s);
  json_decref(exsim_ctl(&p, "POST", "/_exsim/resume", NULL));
  collect(x, 1500);
  json_decref(exsim_ctl(&p, "POST", "/_exsim/pause", NULL));
  collect(x, 200);
  int n = check_candles();
  CHECK(n >= 5);
  /* They are the file's bars, from the replay's start (bar 300). */
  data_series file;
  data_series_init(&file);
  lb_errbuf eb;
  REQUIRE_OK(data_load_file(lbt_source_path(SAMPLE_1M), DATA_FMT_AUTO, &file, NULL, &eb));
  int k = find_ev(0, XCHG_EV_CANDLE, 0, NULL);
  REQUIRE(k >= 0);
  CHECK_EQ(elog.ev[k].candle.ts - shift, file.c[300].ts);
  size_t row = 300;
  for (int i = k; i < elog.n; i++) {
    const xchg_event *e = &elog.ev[i];
    if (e->type != XCHG_EV_CANDLE) continue;
    CHECK(e->candle.open == file.c[row].open && e->candle.close == file.c[row].close &&
          e->candle.high == file.c[row].high && e->candle.low == file.c[row].low);
    CHECK_STREQ(e->symbol, "BTCUSDT");
    row++;
  }
  data_series_close(&file);
  int m = find_ev(0, XCHG_EV_MARK, 0, NULL);
  REQUIRE(m >= 0);
  CHECK(elog.ev[m].price > D("30000") && elog.ev[m].price < D("50000"));
  CHECK_NEAR(elog.ev[m].rate, 0.0001, 1e-12);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.rest_polls, 0);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(stream_falls_back_to_rest_and_loses_no_candle_across_an_outage) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = subscribed(&p, NULL);
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_MARKET, NULL, 5000, 0));
  json_decref(exsim_ctl(&p, "POST", "/_exsim/resume", NULL));
  collect(x, 400);
  /* Drop the market stream and refuse reconnection for 800 ms. */
  exsim_faults(&p, "{\"ws_refuse_ms\": 800}");
  json_decref(exsim_ctl(&p, "POST", "/_exsim/ws/drop?which=market", NULL));
  REQUIRE(wait_for(x, XCHG_EV_STREAM_DOWN, XCHG_STREAM_MARKET, NULL, 3000, 0));
  int down = find_ev(0, XCHG_EV_STREAM_DOWN, XCHG_STREAM_MARKET, NULL);
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_MARKET, NULL, 5000, down));
  int up = find_ev(down, XCHG_EV_STREAM_UP, XCHG_STREAM_MARKET, NULL);
  collect(x, 500);
  json_decref(exsim_ctl(&p, "POST", "/_exsim/pause", NULL));
  collect(x, 300);
  /* Candles arrived during the outage (REST polling), and the whole run is
   * consecutive: no hole, no duplicate. */
  int during = 0;
  for (int i = down; i < up; i++) during += elog.ev[i].type == XCHG_EV_CANDLE;
  CHECK(during >= 2);
  CHECK(check_candles() >= 10);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK(st.rest_polls > 0);
  CHECK(st.stream_drops >= 1);
  json_t *s = exsim_state(&p);
  CHECK(state_int(s, "counters.ws_refused") >= 1);
  json_decref(s);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(stream_survives_periodic_drops_with_continuous_candles) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = subscribed(&p, NULL);
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_MARKET, NULL, 5000, 0));
  exsim_faults(&p, "{\"ws_drop_every_ms\": 300}");
  json_decref(exsim_ctl(&p, "POST", "/_exsim/resume", NULL));
  collect(x, 2000);
  exsim_faults(&p, NULL);
  json_decref(exsim_ctl(&p, "POST", "/_exsim/pause", NULL));
  collect(x, 500);
  CHECK(check_candles() >= 8);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK(st.stream_drops >= 3);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(stream_user_data_reports_orders_fills_balance_and_positions) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = subscribed(&p, NULL);
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_USER, NULL, 5000, 0));
  exsim_mark(&p, "BTCUSDT", "40000.0");
  xchg_order o;
  xchg_error e;
  xchg_order_req r = {.symbol = "BTCUSDT", .client_id = "u-entry", .side = XCHG_BUY, .type = XCHG_MARKET,
                      .qty = D("0.010")};
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  REQUIRE(wait_for(x, XCHG_EV_FILL, 0, "u-entry", 3000, 0));
  collect(x, 100);
  int f = find_ev(0, XCHG_EV_FILL, 0, "u-entry");
  CHECK_EQ(elog.ev[f].fill.qty, D("0.01"));
  CHECK_EQ(elog.ev[f].fill.price, D("40000"));
  CHECK_EQ(elog.ev[f].fill.fee, D("0.2"));
  CHECK(elog.ev[f].fill.trade_id[0] != '\0');
  CHECK(find_ev(0, XCHG_EV_ORDER, 0, "u-entry") >= 0 && find_ev(0, XCHG_EV_ORDER, 0, "u-entry") < f);
  int b = find_ev(f, XCHG_EV_BALANCE, 0, NULL);
  REQUIRE(b >= 0);
  CHECK_EQ(elog.ev[b].amount, D("9999.8"));
  int ps = find_ev(f, XCHG_EV_POSITION, 0, NULL);
  REQUIRE(ps >= 0);
  CHECK_EQ(elog.ev[ps].position.qty, D("0.01"));
  CHECK_EQ(elog.ev[ps].position.entry_price, D("40000"));
  /* A stop: ALGO_UPDATE -> ORDER; triggered -> fill carrying the stop's id. */
  r = (xchg_order_req){.symbol = "BTCUSDT", .client_id = "u-sl", .side = XCHG_SELL, .type = XCHG_STOP_MARKET,
                       .trigger_price = D("38000"), .close_position = true};
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  REQUIRE(wait_for(x, XCHG_EV_ORDER, 0, "u-sl", 3000, 0));
  int a = find_ev(0, XCHG_EV_ORDER, 0, "u-sl");
  CHECK_EQ(elog.ev[a].order.type, XCHG_STOP_MARKET);
  CHECK_EQ(elog.ev[a].order.status, XCHG_ST_NEW);
  exsim_mark(&p, "BTCUSDT", "37900.0");
  REQUIRE(wait_for(x, XCHG_EV_FILL, 0, "u-sl", 3000, 0));
  collect(x, 100);
  f = find_ev(0, XCHG_EV_FILL, 0, "u-sl");
  CHECK_EQ(elog.ev[f].fill.side, XCHG_SELL);
  CHECK_EQ(elog.ev[f].fill.price, D("37900"));
  CHECK_EQ(elog.ev[f].fill.realized_pnl, D("-21"));
  bool triggered = false, flat = false;
  for (int i = a; i < elog.n; i++) {
    triggered |= elog.ev[i].type == XCHG_EV_ORDER && elog.ev[i].order.status == XCHG_ST_TRIGGERED &&
                 strcmp(elog.ev[i].order.client_id, "u-sl") == 0;
    flat |= elog.ev[i].type == XCHG_EV_POSITION && elog.ev[i].position.qty == 0;
  }
  CHECK(triggered);
  CHECK(flat);
  CHECK(find_ev(0, XCHG_EV_LIQUIDATION, 0, NULL) < 0);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(stream_reports_liquidation_and_auto_deleverage) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = subscribed(&p, NULL);
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_USER, NULL, 5000, 0));
  xchg_error e;
  xchg_order o;
  REQUIRE_EQ(x->ops->set_isolated(x, "BTCUSDT", &e), XCHG_OK);
  REQUIRE_EQ(x->ops->set_leverage(x, "BTCUSDT", 20, &e), XCHG_OK);
  exsim_mark(&p, "BTCUSDT", "40000.0");
  xchg_order_req r = {.symbol = "BTCUSDT", .client_id = "lq-entry", .side = XCHG_BUY, .type = XCHG_MARKET,
                      .qty = D("0.010")};
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  exsim_mark(&p, "BTCUSDT", "38000.0"); /* below ~38152.6: liquidated */
  REQUIRE(wait_for(x, XCHG_EV_LIQUIDATION, 0, NULL, 3000, 0));
  int l = find_ev(0, XCHG_EV_LIQUIDATION, 0, NULL);
  CHECK_EQ(elog.ev[l].fill.qty, D("0.01"));
  CHECK_EQ(elog.ev[l].fill.side, XCHG_SELL);
  CHECK(strncmp(elog.ev[l].fill.client_id, "autoclose-", 10) == 0);
  CHECK(elog.ev[l].fill.price > D("38000") && elog.ev[l].fill.price < D("38300"));
  /* Auto-deleverage of a short. */
  r = (xchg_order_req){.symbol = "BTCUSDT", .client_id = "adl-entry", .side = XCHG_SELL, .type = XCHG_MARKET,
                       .qty = D("0.010")};
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  int from = elog.n;
  json_decref(exsim_ctl(&p, "POST", "/_exsim/adl?symbol=BTCUSDT", NULL));
  REQUIRE(wait_for(x, XCHG_EV_LIQUIDATION, 0, "adl_autoclose", 3000, from));
  l = find_ev(from, XCHG_EV_LIQUIDATION, 0, "adl_autoclose");
  CHECK_EQ(elog.ev[l].fill.side, XCHG_BUY);
  xchg_position pos;
  REQUIRE_EQ(x->ops->position(x, "BTCUSDT", &pos, &e), XCHG_OK);
  CHECK_EQ(pos.qty, 0);
  xchg_free(x);
  exsim_stop(&p);
}

static void place_and_see_fill(exsim_proc *p, xchg *x, const char *cid) {
  (void)p;
  xchg_order o;
  xchg_error e;
  xchg_order_req r = {.symbol = "BTCUSDT", .side = XCHG_BUY, .type = XCHG_MARKET, .qty = D("0.003")};
  snprintf(r.client_id, sizeof r.client_id, "%s", cid);
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  if (!wait_for(x, XCHG_EV_FILL, 0, cid, 3000, 0)) lbt_fail(__FILE__, __LINE__, "no fill event for %s", cid);
}

TEST(stream_user_data_recovers_from_drops_expiry_and_1125) {
  exsim_proc p;
  exsim_start(&p, NULL);
  const char *cfg[] = {"BINANCE_LISTENKEY_KEEPALIVE_SECONDS=1", NULL};
  xchg *x = subscribed(&p, cfg);
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_USER, NULL, 5000, 0));
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.listenkey_creates, 1);
  collect(x, 1300); /* one keep-alive (every second here) */
  xchg_binance_get_stats(x, &st);
  CHECK(st.listenkey_keepalives >= 1);
  place_and_see_fill(&p, x, "k-0");
  /* 1. the connection drops */
  int from = elog.n;
  json_decref(exsim_ctl(&p, "POST", "/_exsim/ws/drop?which=user", NULL));
  REQUIRE(wait_for(x, XCHG_EV_STREAM_DOWN, XCHG_STREAM_USER, NULL, 3000, from));
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_USER, NULL, 5000, from));
  place_and_see_fill(&p, x, "k-1");
  /* 2. the key expires (listenKeyExpired on the stream) */
  from = elog.n;
  json_decref(exsim_ctl(&p, "POST", "/_exsim/listenkey/expire", NULL));
  REQUIRE(wait_for(x, XCHG_EV_STREAM_DOWN, XCHG_STREAM_USER, NULL, 3000, from));
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_USER, NULL, 5000, from));
  place_and_see_fill(&p, x, "k-2");
  /* 3. the key vanishes silently: the keep-alive gets -1125 */
  from = elog.n;
  json_decref(exsim_ctl(&p, "POST", "/_exsim/listenkey/expire?silent=1", NULL));
  REQUIRE(wait_for(x, XCHG_EV_STREAM_DOWN, XCHG_STREAM_USER, NULL, 4000, from));
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_USER, NULL, 5000, from));
  place_and_see_fill(&p, x, "k-3");
  xchg_binance_get_stats(x, &st);
  CHECK(st.listenkey_creates >= 4);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(stream_answers_pings_and_stays_connected_while_idle) {
  exsim_proc p;
  const char *extra[] = {"--ws-ping-ms", "100", "--ws-pong-timeout-ms", "600", NULL};
  exsim_start(&p, extra);
  const char *cfg[] = {"BINANCE_WS_PING_SECONDS=1", NULL};
  xchg *x = subscribed(&p, cfg);
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_MARKET, NULL, 5000, 0));
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_USER, NULL, 5000, 0));
  collect(x, 1500); /* exsim paused: no traffic but pings */
  json_t *s = exsim_state(&p);
  CHECK(state_int(s, "counters.ws_pongs") >= 6);
  CHECK_EQ(state_int(s, "counters.ws_drops"), 0);
  json_decref(s);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.stream_drops, 0);
  CHECK(find_ev(0, XCHG_EV_STREAM_DOWN, 0, NULL) < 0);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(stream_market_data_flows_only_on_the_routed_market_path) {
  exsim_proc p;
  exsim_start(&p, NULL);
  /* /public carries book data only: kline and markPrice fail silently. */
  char url[96];
  snprintf(url, sizeof url, "BINANCE_WS_MARKET_URL=ws://127.0.0.1:%d/public", p.ws_port);
  const char *cfg[] = {url, NULL};
  xchg *x = subscribed(&p, cfg);
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_MARKET, NULL, 5000, 0));
  json_decref(exsim_ctl(&p, "POST", "/_exsim/step?n=12", NULL));
  collect(x, 500);
  CHECK(find_ev(0, XCHG_EV_CANDLE, 0, NULL) < 0);
  CHECK(find_ev(0, XCHG_EV_MARK, 0, NULL) < 0);
  xchg_free(x);
  /* The same ticks on /market arrive. */
  x = subscribed(&p, NULL);
  REQUIRE(wait_for(x, XCHG_EV_STREAM_UP, XCHG_STREAM_MARKET, NULL, 5000, 0));
  json_decref(exsim_ctl(&p, "POST", "/_exsim/step?n=12", NULL));
  REQUIRE(wait_for(x, XCHG_EV_CANDLE, 0, NULL, 3000, 0));
  CHECK(find_ev(0, XCHG_EV_MARK, 0, NULL) >= 0);
  xchg_free(x);
  exsim_stop(&p);
}
