/* test_adapter.c -- every xchg op of the Binance adapter against exsim, and every listed error code. */
#include <stdlib.h>

#include "core/log.h"
#include "harness.h"
#include "unit.h"

static lb_dec D(const char *s) {
  lb_dec d = 0;
  if (lb_dec_parse(s, &d) != LB_OK) lbt_fail(__FILE__, __LINE__, "bad decimal %s", s);
  return d;
}

static xchg_kind place(xchg *x, const char *cid, xchg_side side, xchg_type type, const char *qty,
                       const char *trigger, bool close, xchg_order *o, xchg_error *e) {
  xchg_order_req r = {.side = side, .type = type, .close_position = close};
  snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
  snprintf(r.client_id, sizeof r.client_id, "%s", cid);
  if (qty) r.qty = D(qty);
  if (trigger) r.trigger_price = D(trigger);
  if (qty && xchg_type_is_conditional(type)) r.reduce_only = true;
  return x->ops->place(x, &r, o, e);
}

/* How many logged requests went to `path` carrying client id `cid`. */
static int requests_to(exsim_proc *p, const char *method, const char *path, const char *cid) {
  json_t *log = exsim_ctl(p, "GET", "/_exsim/requests", NULL);
  REQUIRE(log != NULL);
  int n = 0;
  size_t i;
  json_t *r;
  json_array_foreach(log, i, r) {
    if (strcmp(json_string_value(json_object_get(r, "method")), method) == 0 &&
        strcmp(json_string_value(json_object_get(r, "path")), path) == 0 &&
        (!cid || strcmp(json_string_value(json_object_get(r, "client_id")), cid) == 0))
      n++;
  }
  json_decref(log);
  return n;
}

TEST(adapter_reads_symbol_rules_and_validated_brackets) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  lb_symbol_rules r, want;
  xchg_error e;
  REQUIRE_EQ(x->ops->symbol_rules(x, "BTCUSDT", &r, &e), XCHG_OK);
  lb_rules_binance_btcusdt(&want);
  CHECK_STREQ(r.symbol, "BTCUSDT");
  CHECK_STREQ(r.base, "BTC");
  CHECK_EQ(r.tick_size, want.tick_size);
  CHECK_EQ(r.step_size, want.step_size);
  CHECK_EQ(r.market_step_size, want.market_step_size);
  CHECK_EQ(r.market_max_qty, want.market_max_qty);
  CHECK_EQ(r.min_notional, want.min_notional);
  CHECK_EQ(r.min_price, want.min_price);
  CHECK_EQ(x->ops->symbol_rules(x, "DOGEUSDT", &r, &e), XCHG_FATAL);
  CHECK_EQ(e.code, -1121);
  lb_bracket_table t, wt;
  REQUIRE_EQ(x->ops->brackets(x, "BTCUSDT", &t, &e), XCHG_OK);
  lb_brackets_binance_btcusdt(&wt);
  REQUIRE_EQ(t.n, wt.n);
  for (int i = 0; i < t.n; i++) {
    CHECK_EQ(t.tier[i].mmr, wt.tier[i].mmr);
    CHECK_EQ(t.tier[i].cum, wt.tier[i].cum);
    CHECK_EQ(t.tier[i].notional_floor, wt.tier[i].notional_floor);
  }
  xchg_free(x);
  exsim_stop(&p);
}

TEST(adapter_sets_isolated_margin_idempotently_and_leverage) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_error e;
  CHECK_EQ(x->ops->set_isolated(x, "BTCUSDT", &e), XCHG_OK);
  CHECK_EQ(x->ops->set_isolated(x, "BTCUSDT", &e), XCHG_OK); /* -4046 "No need to change" */
  json_t *log = exsim_ctl(&p, "GET", "/_exsim/requests", NULL);
  int n4046 = 0;
  size_t i;
  json_t *r;
  json_array_foreach(log, i, r) n4046 += json_integer_value(json_object_get(r, "code")) == -4046;
  json_decref(log);
  CHECK_EQ(n4046, 1);
  CHECK_EQ(x->ops->set_leverage(x, "BTCUSDT", 5, &e), XCHG_OK);
  xchg_position pos;
  REQUIRE_EQ(x->ops->position(x, "BTCUSDT", &pos, &e), XCHG_OK);
  CHECK_EQ(pos.qty, 0);
  CHECK_EQ(pos.leverage, 5);
  CHECK(pos.isolated);
  CHECK_EQ(x->ops->set_leverage(x, "BTCUSDT", 126, &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -4028);
  /* A fresh adapter learns leverage and margin type from the exchange. */
  xchg *y = test_adapter(&p, NULL);
  REQUIRE_EQ(y->ops->position(y, "BTCUSDT", &pos, &e), XCHG_OK);
  CHECK_EQ(pos.leverage, 5);
  CHECK(pos.isolated);
  xchg_free(y);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(adapter_trades_a_protected_position_from_entry_to_stop) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_error e;
  xchg_order o;
  exsim_mark(&p, "BTCUSDT", "40000.0");
  lb_ms since = xchg_binance_server_time(x) - 1000;
  REQUIRE_EQ(x->ops->set_isolated(x, "BTCUSDT", &e), XCHG_OK);
  REQUIRE_EQ(x->ops->set_leverage(x, "BTCUSDT", 5, &e), XCHG_OK);
  REQUIRE_EQ(place(x, "t1-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL, false, &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_FILLED);
  CHECK_EQ(o.avg_price, D("40000"));
  CHECK_EQ(o.filled_qty, D("0.01"));
  CHECK_EQ(o.fee, D("0.2")); /* 400 x 0.05 % */
  CHECK_STREQ(o.client_id, "t1-entry");
  xchg_position pos;
  REQUIRE_EQ(x->ops->position(x, "BTCUSDT", &pos, &e), XCHG_OK);
  CHECK_EQ(pos.qty, D("0.01"));
  CHECK_EQ(pos.entry_price, D("40000"));
  CHECK_EQ(pos.isolated_margin, D("80"));
  CHECK(pos.isolated);
  CHECK(pos.liquidation_price > D("30000") && pos.liquidation_price < D("40000"));
  xchg_balance bal;
  REQUIRE_EQ(x->ops->balance(x, &bal, &e), XCHG_OK);
  CHECK_EQ(bal.wallet_balance, D("9999.8"));
  CHECK_EQ(bal.available_balance, D("9919.8"));
  /* Stop-loss and take-profit: conditional, close-position, on the mark. */
  REQUIRE_EQ(place(x, "t1-sl", XCHG_SELL, XCHG_STOP_MARKET, NULL, "38000.0", true, &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_NEW);
  CHECK_EQ(o.type, XCHG_STOP_MARKET);
  CHECK(o.close_position);
  REQUIRE_EQ(place(x, "t1-tp", XCHG_SELL, XCHG_TAKE_PROFIT_MARKET, NULL, "42000.0", true, &o, &e), XCHG_OK);
  CHECK_EQ(requests_to(&p, "POST", "/fapi/v1/algoOrder", "t1-sl"), 1);
  CHECK_EQ(requests_to(&p, "POST", "/fapi/v1/order", "t1-sl"), 0);
  json_t *s = exsim_state(&p);
  const json_t *a = find_where(s, "algo_orders", "client_id", "t1-sl");
  REQUIRE(a != NULL);
  CHECK_STREQ(state_str(a, "working_type"), "MARK_PRICE");
  CHECK_EQ(state_int(s, "counters.stop_on_order_endpoint"), 0);
  json_decref(s);
  xchg_order open[8];
  int n = 0;
  REQUIRE_EQ(x->ops->open_orders(x, "BTCUSDT", open, 8, &n, &e), XCHG_OK);
  CHECK_EQ(n, 2);
  REQUIRE_EQ(x->ops->open_orders(x, NULL, open, 8, &n, &e), XCHG_OK);
  CHECK_EQ(n, 2);
  for (int i = 0; i < n; i++) CHECK(xchg_type_is_conditional(open[i].type) && open[i].status == XCHG_ST_NEW);
  lb_dec mark;
  double rate;
  REQUIRE_EQ(x->ops->mark_price(x, "BTCUSDT", &mark, &rate, &e), XCHG_OK);
  CHECK_EQ(mark, D("40000"));
  CHECK_NEAR(rate, 0.0001, 1e-12);
  /* The mark falls through the stop. */
  exsim_mark(&p, "BTCUSDT", "37900.0");
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "t1-sl", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_FILLED);
  CHECK_EQ(o.avg_price, D("37900"));
  REQUIRE_EQ(x->ops->position(x, "BTCUSDT", &pos, &e), XCHG_OK);
  CHECK_EQ(pos.qty, 0);
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "t1-tp", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_NEW);
  CHECK_EQ(x->ops->cancel(x, "BTCUSDT", "t1-tp", &e), XCHG_OK);
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "t1-tp", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_CANCELED);
  CHECK_EQ(x->ops->cancel(x, "BTCUSDT", "t1-tp", &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -2011);
  /* Restart recovery reads the real exits. */
  xchg_fill f[8];
  REQUIRE_EQ(x->ops->fills_since(x, "BTCUSDT", since, f, 8, &n, &e), XCHG_OK);
  REQUIRE_EQ(n, 2);
  CHECK_STREQ(f[0].client_id, "t1-entry");
  CHECK_EQ(f[0].side, XCHG_BUY);
  CHECK_EQ(f[0].price, D("40000"));
  CHECK_EQ(f[0].fee, D("0.2"));
  CHECK_STREQ(f[1].client_id, "t1-sl");
  CHECK_EQ(f[1].side, XCHG_SELL);
  CHECK_EQ(f[1].price, D("37900"));
  CHECK_EQ(f[1].realized_pnl, D("-21"));
  CHECK_EQ(f[1].fee, D("0.1895"));
  /* The ledger reconciles with the exchange to the last unit. */
  REQUIRE_EQ(x->ops->balance(x, &bal, &e), XCHG_OK);
  lb_dec ledger = D("10000") + f[0].realized_pnl + f[1].realized_pnl - f[0].fee - f[1].fee;
  CHECK_EQ(bal.wallet_balance, ledger);
  CHECK_EQ(bal.wallet_balance, D("9978.6105"));
  s = exsim_state(&p);
  CHECK_EQ(json_array_size(json_object_get(s, "unprotected")), 1); /* entry -> stop only */
  CHECK(json_is_false(json_object_get(json_array_get(json_object_get(s, "unprotected"), 0), "open")));
  CHECK_EQ(json_array_size(json_object_get(s, "duplicate_client_ids")), 0);
  json_decref(s);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(adapter_rejects_unknown_ids_and_invalid_requests) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_error e;
  xchg_order o;
  CHECK_EQ(x->ops->query(x, "BTCUSDT", "no-such-order", &o, &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -2013);
  CHECK_EQ(x->ops->cancel(x, "BTCUSDT", "no-such-order", &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -2011);
  json_t *s = exsim_state(&p);
  long long before = state_int(s, "counters.requests");
  json_decref(s);
  /* Refused before anything is sent (contract 1 and 4). */
  CHECK_EQ(place(x, "an id with spaces", XCHG_BUY, XCHG_MARKET, "0.01", NULL, false, &o, &e), XCHG_REJECTED);
  CHECK_CONTAINS(e.msg, "client id");
  CHECK_EQ(place(x, "0123456789012345678901234567890123456", XCHG_BUY, XCHG_MARKET, "0.01", NULL, false, &o, &e),
           XCHG_REJECTED);
  CHECK_EQ(place(x, "zero-qty", XCHG_BUY, XCHG_MARKET, "0", NULL, false, &o, &e), XCHG_REJECTED);
  CHECK_EQ(place(x, "no-trigger", XCHG_SELL, XCHG_STOP_MARKET, NULL, NULL, true, &o, &e), XCHG_REJECTED);
  xchg_position pos;
  CHECK_EQ(x->ops->position(x, "btcusdt", &pos, &e), XCHG_REJECTED);
  s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.requests"), before);
  json_decref(s);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(adapter_maps_every_listed_error_code_from_the_wire) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_error e;
  xchg_order o;
  exsim_mark(&p, "BTCUSDT", "40000.0");
  static const struct {
    const char *cid;
    xchg_side side;
    xchg_type type;
    const char *qty, *trigger;
    bool close;
    int code;
  } t[] = {
      {"e-1111", XCHG_BUY, XCHG_MARKET, "0.0015", NULL, false, -1111},   /* precision */
      {"e-4164", XCHG_BUY, XCHG_MARKET, "0.001", NULL, false, -4164},    /* min notional */
      {"e-2019", XCHG_BUY, XCHG_MARKET, "5", NULL, false, -2019},        /* margin */
      {"e-2021", XCHG_SELL, XCHG_STOP_MARKET, NULL, "41000.0", true, -2021}, /* would trigger */
      {"e-2022", XCHG_SELL, XCHG_MARKET, "0.01", NULL, false, -2022},    /* reduce-only, flat */
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    xchg_order_req r = {.side = t[i].side, .type = t[i].type, .close_position = t[i].close};
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    snprintf(r.client_id, sizeof r.client_id, "%s", t[i].cid);
    if (t[i].qty) r.qty = D(t[i].qty);
    if (t[i].trigger) r.trigger_price = D(t[i].trigger);
    r.reduce_only = t[i].code == -2022;
    xchg_kind k = x->ops->place(x, &r, &o, &e);
    if (k != XCHG_REJECTED || e.code != t[i].code)
      lbt_fail(__FILE__, __LINE__, "%s -> %s code %d (%s), want rejected %d", t[i].cid, xchg_kind_name(k), e.code,
               e.msg, t[i].code);
  }
  /* -4142: a trailing stop whose activation price is already passed */
  xchg_order_req tr = {.symbol = "BTCUSDT", .client_id = "e-4142", .side = XCHG_SELL,
                       .type = XCHG_TRAILING_STOP_MARKET, .qty = D("0.01"), .reduce_only = true,
                       .callback_rate = 1.0, .activate_price = D("39000")};
  CHECK_EQ(x->ops->place(x, &tr, &o, &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -4142);
  /* -2027: above the largest position allowed at 125x (first bracket, 50 000) */
  REQUIRE_EQ(x->ops->set_leverage(x, "BTCUSDT", 125, &e), XCHG_OK);
  CHECK_EQ(place(x, "e-2027", XCHG_BUY, XCHG_MARKET, "1.300", NULL, false, &o, &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -2027);
  /* -2028: leverage cut below what the margin balance can carry */
  REQUIRE_EQ(x->ops->set_leverage(x, "BTCUSDT", 20, &e), XCHG_OK);
  REQUIRE_EQ(place(x, "e-big", XCHG_BUY, XCHG_MARKET, "3.000", NULL, false, &o, &e), XCHG_OK);
  CHECK_EQ(x->ops->set_leverage(x, "BTCUSDT", 1, &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -2028);
  /* -4028 */
  CHECK_EQ(x->ops->set_leverage(x, "BTCUSDT", 200, &e), XCHG_REJECTED);
  CHECK_EQ(e.code, -4028);
  /* -1121 from the wire: a symbol exsim does not list */
  xchg_position pos;
  CHECK_EQ(x->ops->position(x, "ETHUSDT", &pos, &e), XCHG_FATAL);
  CHECK_EQ(e.code, -1121);
  /* -1022 and -2015: wrong credentials are fatal */
  const char *bad_secret[] = {"BINANCE_API_SECRET=not-the-secret-at-all", NULL};
  xchg *y = test_adapter(&p, bad_secret);
  xchg_balance b;
  CHECK_EQ(y->ops->balance(y, &b, &e), XCHG_FATAL);
  CHECK_EQ(e.code, -1022);
  CHECK_NOT_CONTAINS(e.msg, "not-the-secret-at-all");
  xchg_free(y);
  const char *bad_key[] = {"BINANCE_API_KEY=some-other-key-123", NULL};
  y = test_adapter(&p, bad_key);
  CHECK_EQ(y->ops->balance(y, &b, &e), XCHG_FATAL);
  CHECK_EQ(e.code, -2015);
  CHECK_EQ(e.http_status, 401);
  xchg_free(y);
  json_t *s = exsim_state(&p);
  CHECK_EQ(json_array_size(json_object_get(s, "orders")), 1); /* only e-big */
  json_decref(s);
  xchg_free(x);
  lb_log_clear_secrets();
  exsim_stop(&p);
}

TEST(adapter_resolves_a_duplicate_client_id_to_the_existing_order) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL), *y = test_adapter(&p, NULL);
  xchg_error e;
  xchg_order a, b;
  xchg_order_req r = {.symbol = "BTCUSDT", .client_id = "dup-limit", .side = XCHG_BUY, .type = XCHG_LIMIT,
                      .qty = D("0.010"), .price = D("30000")};
  REQUIRE_EQ(x->ops->place(x, &r, &a, &e), XCHG_OK);
  CHECK_EQ(a.status, XCHG_ST_NEW);
  /* Another process (a restarted bot) sends the same id: -4116, resolved by lookup. */
  REQUIRE_EQ(y->ops->place(y, &r, &b, &e), XCHG_OK);
  CHECK_STREQ(b.exchange_id, a.exchange_id);
  /* The same process asks again: answered from the exchange, nothing sent. */
  REQUIRE_EQ(x->ops->place(x, &r, &b, &e), XCHG_OK);
  CHECK_STREQ(b.exchange_id, a.exchange_id);
  CHECK_EQ(requests_to(&p, "POST", "/fapi/v1/order", "dup-limit"), 2);
  json_t *s = exsim_state(&p);
  CHECK_EQ(count_where(s, "orders", "client_id", "dup-limit"), 1);
  json_decref(s);
  xchg_free(x);
  xchg_free(y);
  exsim_stop(&p);
}

TEST(adapter_warm_up_klines_match_the_data_and_skip_the_forming_candle) {
  exsim_proc p;
  /* The 5m month: 3000 bars of history need two pages of 1500. */
  char data[600];
  snprintf(data, sizeof data, "%s", lbt_source_path("data/binance-um/BTCUSDT-5m-2022-04.csv"));
  const char *extra[] = {"--data", data, "--warmup", "3000", NULL};
  exsim_start(&p, extra);
  xchg *x = test_adapter(&p, NULL);
  json_t *s = exsim_state(&p);
  lb_ms shift = state_int(s, "shift"), start = state_int(s, "market_time");
  json_decref(s);
  data_series ser;
  data_series_init(&ser);
  xchg_error e;
  REQUIRE_EQ(x->ops->klines(x, "BTCUSDT", 5 * LB_MS_MINUTE, start - 3000 * 5 * LB_MS_MINUTE, start + LB_MS_DAY,
                            &ser, &e),
             XCHG_OK);
  REQUIRE_EQ(ser.n, 3000);
  CHECK_EQ(ser.timeframe, 5 * LB_MS_MINUTE);
  data_series file;
  data_series_init(&file);
  lb_errbuf eb;
  REQUIRE_OK(data_load_file(lbt_source_path("data/binance-um/BTCUSDT-5m-2022-04.csv"), DATA_FMT_AUTO, &file, NULL,
                            &eb));
  for (size_t i = 0; i < ser.n; i++) {
    if (ser.c[i].ts - shift != file.c[i].ts || ser.c[i].close != file.c[i].close ||
        ser.c[i].high != file.c[i].high || ser.c[i].low != file.c[i].low || ser.c[i].open != file.c[i].open) {
      lbt_fail(__FILE__, __LINE__, "bar %zu differs from the file", i);
      break;
    }
    CHECK_NEAR(ser.c[i].volume, file.c[i].volume, 1e-9);
  }
  /* 15m bars come aggregated by the exchange: any 60 min span holds four. */
  data_series_close(&ser);
  data_series_init(&ser);
  REQUIRE_EQ(x->ops->klines(x, "BTCUSDT", 15 * LB_MS_MINUTE, start - 120 * LB_MS_MINUTE, start - 60 * LB_MS_MINUTE,
                            &ser, &e),
             XCHG_OK);
  REQUIRE_EQ(ser.n, 4);
  size_t k = 0;
  while (k < file.n && file.c[k].ts + shift != ser.c[0].ts) k++;
  REQUIRE(k + 2 < file.n);
  CHECK(ser.c[0].open == file.c[k].open && ser.c[0].close == file.c[k + 2].close);
  CHECK_NEAR(ser.c[0].volume, file.c[k].volume + file.c[k + 1].volume + file.c[k + 2].volume, 1e-6);
  /* Once the next bar is forming it is not handed out as closed: put the
   * exchange's clock one minute into that bar. */
  char skew[80];
  snprintf(skew, sizeof skew, "{\"clock_skew_ms\": %lld}", (long long)(start + LB_MS_MINUTE - lb_time_now_ms()));
  exsim_faults(&p, skew);
  json_decref(exsim_ctl(&p, "POST", "/_exsim/step?n=2", NULL));
  xchg *y = test_adapter(&p, NULL);
  data_series_close(&ser);
  data_series_init(&ser);
  REQUIRE_EQ(y->ops->klines(y, "BTCUSDT", 5 * LB_MS_MINUTE, start - 10 * 5 * LB_MS_MINUTE, start + LB_MS_DAY, &ser,
                            &e),
             XCHG_OK);
  CHECK_EQ(ser.n, 10);
  CHECK_EQ(ser.c[9].ts, start - 5 * LB_MS_MINUTE);
  xchg_free(y);
  data_series_close(&ser);
  data_series_close(&file);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(adapter_is_pointed_at_exsim_by_configuration_alone) {
  /* As a user does it: a .env file, loaded like `levbot run` loads it. */
  exsim_proc p;
  exsim_start(&p, NULL);
  char path[600];
  snprintf(path, sizeof path, "%s/exsim.env", lbt_tmpdir());
  FILE *f = fopen(path, "w");
  REQUIRE(f != NULL);
  fprintf(f,
          "USE_PAPER_TRADING=false\n"
          "BINANCE_REST_URL=http://127.0.0.1:%d\n"
          "BINANCE_WS_MARKET_URL=ws://127.0.0.1:%d/market\n"
          "BINANCE_WS_USER_URL=ws://127.0.0.1:%d/private\n"
          "BINANCE_API_KEY=%s\n"
          "BINANCE_API_SECRET=%s\n",
          p.rest_port, p.ws_port, p.ws_port, EXSIM_KEY, EXSIM_SECRET);
  fclose(f);
  static char *no_env[] = {NULL};
  lb_cfg_source src = {.env_file = path, .env_file_explicit = true, .envp = no_env};
  lb_config c;
  lb_cfg_report rep;
  memset(&rep, 0, sizeof rep);
  lb_err rc = lb_config_load(&c, &src, &rep);
  for (int i = 0; i < rep.n_errors; i++) printf("    %s\n", rep.errors[i]);
  REQUIRE_OK(rc);
  xchg *x = NULL;
  lb_errbuf eb;
  REQUIRE_OK(xchg_binance_new(&c, &lb_clock_system, &x, &eb));
  xchg_balance b;
  xchg_error e;
  REQUIRE_EQ(x->ops->balance(x, &b, &e), XCHG_OK);
  CHECK_EQ(b.wallet_balance, D("10000"));
  xchg_free(x);
  lb_log_clear_secrets();
  exsim_stop(&p);
}

TEST(adapter_resyncs_its_clock_periodically) {
  exsim_proc p;
  exsim_start(&p, NULL);
  const char *cfg[] = {"BINANCE_TIME_SYNC_SECONDS=1", NULL};
  xchg *x = test_adapter(&p, cfg);
  xchg_balance b;
  xchg_error e;
  REQUIRE_EQ(x->ops->balance(x, &b, &e), XCHG_OK);
  REQUIRE_EQ(x->ops->balance(x, &b, &e), XCHG_OK);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.time_syncs, 1);
  exsim_faults(&p, "{\"clock_skew_ms\": 700}"); /* inside recvWindow: no -1021 to notice it */
  sleep_ms(1100);
  REQUIRE_EQ(x->ops->balance(x, &b, &e), XCHG_OK);
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.time_syncs, 2);
  CHECK_EQ(st.resyncs_1021, 0);
  lb_ms off = xchg_binance_server_time(x) - lb_time_now_ms();
  CHECK(off > 500 && off < 900);
  xchg_free(x);
  exsim_stop(&p);
}
