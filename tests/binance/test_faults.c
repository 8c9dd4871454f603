/* test_faults.c -- every exsim fault against the adapter: no duplicate order, no unprotected position.
 *
 * After each case the ground truth (GET /_exsim/state) is checked: every
 * client id belongs to exactly one order, and a position never lost its stop
 * except in the interval between the entry fill and the first stop.
 */
#include <stdlib.h>

#include "core/log.h"
#include "harness.h"
#include "unit.h"

static lb_dec D(const char *s) {
  lb_dec d = 0;
  if (lb_dec_parse(s, &d) != LB_OK) lbt_fail(__FILE__, __LINE__, "bad decimal %s", s);
  return d;
}

static xchg_order_req req(const char *cid, xchg_side side, xchg_type type, const char *qty, const char *trigger) {
  xchg_order_req r = {.side = side, .type = type};
  snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
  snprintf(r.client_id, sizeof r.client_id, "%s", cid);
  if (qty) r.qty = D(qty);
  if (trigger) r.trigger_price = D(trigger);
  r.close_position = xchg_type_is_conditional(type) && !qty;
  r.reduce_only = xchg_type_is_conditional(type) && qty;
  return r;
}

/* Ground truth: no client id used twice, and at most `gaps` unprotected intervals. */
static void check_truth(exsim_proc *p, int gaps) {
  json_t *s = exsim_state(p);
  CHECK_EQ(json_array_size(json_object_get(s, "duplicate_client_ids")), 0);
  CHECK_EQ(state_int(s, "counters.duplicate_client_ids"), 0);
  CHECK_EQ(state_int(s, "counters.http_418"), 0);
  if ((int)json_array_size(json_object_get(s, "unprotected")) > gaps)
    lbt_fail(__FILE__, __LINE__, "%zu unprotected intervals, expected at most %d",
             json_array_size(json_object_get(s, "unprotected")), gaps);
  json_decref(s);
}

static int orders_with(exsim_proc *p, const char *key, const char *cid) {
  json_t *s = exsim_state(p);
  int n = count_where(s, key, "client_id", cid);
  json_decref(s);
  return n;
}

TEST(fault_accept_then_503_on_entry_places_exactly_one_order) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  exsim_faults(&p, "{\"accept_then_503\": 1}");
  xchg_order_req r = req("f1-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL);
  xchg_order o;
  xchg_error e;
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_FILLED);
  CHECK(o.fee > 0); /* fees come from the trades even on this path */
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.unknown_outcomes, 1);
  CHECK_EQ(st.lookups_found, 1);
  CHECK_EQ(st.resends, 0);
  CHECK_EQ(orders_with(&p, "orders", "f1-entry"), 1);
  json_t *s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.accepted_then_503"), 1);
  json_decref(s);
  check_truth(&p, 1);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_accept_then_503_on_the_stop_keeps_the_position_protected) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_order o;
  xchg_error e;
  xchg_order_req r = req("f2-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL);
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  exsim_faults(&p, "{\"accept_then_503\": 1}");
  r = req("f2-sl", XCHG_SELL, XCHG_STOP_MARKET, NULL, "30000.0");
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_NEW);
  CHECK_STREQ(o.client_id, "f2-sl");
  CHECK_EQ(orders_with(&p, "algo_orders", "f2-sl"), 1);
  json_t *s = exsim_state(&p);
  const json_t *g = json_array_get(json_object_get(s, "unprotected"), 0);
  CHECK(json_is_false(json_object_get(g, "open"))); /* protected now */
  json_decref(s);
  check_truth(&p, 1);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_error_before_execution_resends_the_same_id_only_when_absent) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_order o;
  xchg_error e;
  /* Every order request fails before execution ("Service Unavailable"). */
  exsim_faults(&p, "{\"error_rate\": {\"POST /fapi/v1/order\": 1.0}}");
  xchg_order_req r = req("f3-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL);
  CHECK_EQ(x->ops->place(x, &r, &o, &e), XCHG_RETRYABLE);
  CHECK_CONTAINS(e.msg, "safe to retry");
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.unknown_outcomes, 3); /* first send + BINANCE_ORDER_RETRIES=2 resends */
  CHECK_EQ(st.resends, 2);
  CHECK_EQ(orders_with(&p, "orders", "f3-entry"), 0);
  /* The caller retries with the same id once the exchange recovers. */
  exsim_faults(&p, NULL);
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  CHECK_EQ(orders_with(&p, "orders", "f3-entry"), 1);
  check_truth(&p, 1);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_random_errors_on_every_endpoint_never_duplicate_an_order) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  /* 30 % of all requests fail before execution, lookups included (some
   * outcomes stay unknown), and 30 % of the orders that do execute are
   * answered 503. */
  exsim_faults(&p, "{\"error_rate\": {\"*\": 0.3}, \"accept_then_503_rate\": 0.3}");
  int unknown = 0, retries = 0;
  for (int i = 0; i < 8; i++) {
    char cid[32];
    snprintf(cid, sizeof cid, "f4-%d", i);
    xchg_order_req r = req(cid, i % 2 ? XCHG_SELL : XCHG_BUY, XCHG_MARKET, "0.003", NULL);
    xchg_order o;
    xchg_error e;
    xchg_kind k;
    int tries = 0;
    /* As the engine does: retry the same request (same client id) until it is settled. */
    while ((k = x->ops->place(x, &r, &o, &e)) != XCHG_OK && tries < 40) {
      REQUIRE(k == XCHG_RETRYABLE || k == XCHG_UNKNOWN);
      unknown += k == XCHG_UNKNOWN;
      tries++;
      retries++;
    }
    REQUIRE_EQ(k, XCHG_OK);
  }
  exsim_faults(&p, NULL);
  json_t *s = exsim_state(&p);
  CHECK_EQ(json_array_size(json_object_get(s, "orders")), 8);
  for (int i = 0; i < 8; i++) {
    char cid[32];
    snprintf(cid, sizeof cid, "f4-%d", i);
    CHECK_EQ(count_where(s, "orders", "client_id", cid), 1);
  }
  CHECK(state_int(s, "counters.errors_injected") > 0);
  json_decref(s);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK(st.unknown_outcomes > 0);
  CHECK(st.lookups_found > 0); /* executed orders found instead of resent */
  printf("    (%d caller retries, %d unknown outcomes handed back, %ld lookups found, %ld resends)\n", retries,
         unknown, st.lookups_found, st.resends);
  check_truth(&p, 8);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_throttled_1008_is_retryable_without_lookup) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  exsim_faults(&p, "{\"error_rate\": {\"POST /fapi/v1/order\": 1.0}, \"error_code\": -1008}");
  xchg_order_req r = req("f5-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL);
  xchg_order o;
  xchg_error e;
  CHECK_EQ(x->ops->place(x, &r, &o, &e), XCHG_RETRYABLE);
  CHECK_EQ(e.code, -1008);
  CHECK_EQ(e.http_status, 503);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.unknown_outcomes, 0); /* -1008 says the request was not processed */
  CHECK_EQ(orders_with(&p, "orders", "f5-entry"), 0);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_timeout_on_an_order_is_resolved_by_lookup) {
  exsim_proc p;
  exsim_start(&p, NULL);
  const char *cfg[] = {"BINANCE_HTTP_TIMEOUT_MS=300", NULL};
  xchg *x = test_adapter(&p, cfg);
  xchg_order o;
  xchg_error e;
  /* The order is executed, the answer comes too late. */
  exsim_faults(&p, "{\"latency_ms\": {\"POST /fapi/v1/order\": 800}}");
  xchg_order_req r = req("f6-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL);
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_FILLED);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.unknown_outcomes, 1);
  CHECK_EQ(st.lookups_found, 1);
  /* Everything slow: the lookup times out too, the outcome stays unknown. */
  exsim_faults(&p, "{\"latency_ms\": {\"*\": 800}}");
  r = req("f6-exit", XCHG_SELL, XCHG_MARKET, "0.010", NULL);
  CHECK_EQ(x->ops->place(x, &r, &o, &e), XCHG_UNKNOWN);
  CHECK_CONTAINS(e.msg, "outcome unknown");
  sleep_ms(900);
  exsim_faults(&p, NULL);
  /* query() tells the truth, and placing again returns that order. */
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "f6-exit", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_FILLED);
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  CHECK_EQ(orders_with(&p, "orders", "f6-exit"), 1);
  CHECK_EQ(orders_with(&p, "orders", "f6-entry"), 1);
  check_truth(&p, 1);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_429_burst_is_honoured_without_ever_earning_a_418) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_balance b;
  xchg_error e;
  REQUIRE_EQ(x->ops->balance(x, &b, &e), XCHG_OK);
  exsim_faults(&p, "{\"burst_429\": 2, \"retry_after_s\": 1}");
  CHECK_EQ(x->ops->balance(x, &b, &e), XCHG_RETRYABLE);
  CHECK_EQ(e.code, -1003);
  CHECK_EQ(e.retry_after, 1000);
  json_t *s = exsim_state(&p);
  long long sent = state_int(s, "counters.requests");
  json_decref(s);
  /* Within Retry-After nothing is sent, from any thread of the adapter. */
  CHECK_EQ(x->ops->balance(x, &b, &e), XCHG_RETRYABLE);
  CHECK(e.retry_after > 0 && e.retry_after <= 1000);
  xchg_order o;
  xchg_order_req r = req("f7-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL);
  CHECK_EQ(x->ops->place(x, &r, &o, &e), XCHG_RETRYABLE);
  s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.requests"), sent);
  json_decref(s);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.rate_refusals, 2);
  sleep_ms(1050);
  CHECK_EQ(x->ops->balance(x, &b, &e), XCHG_RETRYABLE); /* the second 429 of the burst */
  sleep_ms(1050);
  CHECK_EQ(x->ops->balance(x, &b, &e), XCHG_OK);
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.http_429"), 2);
  CHECK_EQ(state_int(s, "counters.http_418"), 0);
  json_decref(s);
  check_truth(&p, 1);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_clock_skew_is_absorbed_by_a_resync_on_1021) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_balance b;
  xchg_error e;
  REQUIRE_EQ(x->ops->balance(x, &b, &e), XCHG_OK); /* synced with an offset of ~0 */
  /* exsim's clock 3 s behind: our timestamps are > 1 s ahead of it. */
  exsim_faults(&p, "{\"clock_skew_ms\": -3000}");
  CHECK_EQ(x->ops->balance(x, &b, &e), XCHG_OK);
  lb_ms diff = xchg_binance_server_time(x) - lb_time_now_ms();
  CHECK(diff < -2500 && diff > -3500);
  /* ...and 8 s ahead: our timestamps fall out of recvWindow (5 s). */
  exsim_faults(&p, "{\"clock_skew_ms\": 8000}");
  xchg_order o;
  xchg_order_req r = req("f8-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL);
  CHECK_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK_EQ(st.resyncs_1021, 2);
  json_t *s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.bad_timestamp"), 2);
  json_decref(s);
  CHECK_EQ(orders_with(&p, "orders", "f8-entry"), 1);
  xchg_free(x);
  exsim_stop(&p);
}

/* Position 0.01 BTC long at 40000 with stop `cid` at `trigger`. */
static void open_protected(exsim_proc *p, xchg *x, const char *cid, const char *trigger) {
  xchg_order o;
  xchg_error e;
  exsim_mark(p, "BTCUSDT", "40000.0");
  xchg_order_req r = req("pos-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL);
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  r = req(cid, XCHG_SELL, XCHG_STOP_MARKET, NULL, trigger);
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
}

/* seq of the first logged request method+path carrying cid, -1 if none */
static long first_seq(exsim_proc *p, const char *method, const char *path, const char *cid) {
  json_t *log = exsim_ctl(p, "GET", "/_exsim/requests", NULL);
  REQUIRE(log != NULL);
  long seq = -1;
  size_t i;
  json_t *r;
  json_array_foreach(log, i, r) {
    if (seq < 0 && strcmp(json_string_value(json_object_get(r, "method")), method) == 0 &&
        strcmp(json_string_value(json_object_get(r, "path")), path) == 0 &&
        strcmp(json_string_value(json_object_get(r, "client_id")), cid) == 0)
      seq = (long)json_integer_value(json_object_get(r, "seq"));
  }
  json_decref(log);
  return seq;
}

TEST(fault_trailing_by_replacement_never_leaves_the_position_bare) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  open_protected(&p, x, "tr-1", "38000.0");
  exsim_mark(&p, "BTCUSDT", "41000.0");
  xchg_order o;
  xchg_error e;
  xchg_order_req r = req("tr-2", XCHG_SELL, XCHG_STOP_MARKET, NULL, "40000.0");
  REQUIRE_EQ(xchg_replace_stop(x, "tr-1", &r, &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_NEW);
  /* The new stop was placed (and confirmed) before the old one was cancelled. */
  long placed = first_seq(&p, "POST", "/fapi/v1/algoOrder", "tr-2");
  long canceled = first_seq(&p, "DELETE", "/fapi/v1/algoOrder", "tr-1");
  CHECK(placed >= 0 && canceled > placed);
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "tr-1", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_CANCELED);
  /* The replacement's answer is lost (accepted, then 503): still exactly one. */
  exsim_faults(&p, "{\"accept_then_503\": 1}");
  r = req("tr-3", XCHG_SELL, XCHG_STOP_MARKET, NULL, "40400.0");
  exsim_mark(&p, "BTCUSDT", "41500.0");
  REQUIRE_EQ(xchg_replace_stop(x, "tr-2", &r, &o, &e), XCHG_OK);
  CHECK_EQ(orders_with(&p, "algo_orders", "tr-3"), 1);
  /* The replacement fails outright: the old stop stays. */
  exsim_faults(&p, "{\"error_rate\": {\"POST /fapi/v1/algoOrder\": 1.0}, \"error_code\": -1008}");
  r = req("tr-4", XCHG_SELL, XCHG_STOP_MARKET, NULL, "40800.0");
  CHECK_EQ(xchg_replace_stop(x, "tr-3", &r, &o, &e), XCHG_RETRYABLE);
  exsim_faults(&p, NULL);
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "tr-3", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_NEW);
  /* Only the entry -> first stop interval was ever unprotected. */
  check_truth(&p, 1);
  /* The last stop fires on the mark and closes the position. */
  exsim_mark(&p, "BTCUSDT", "40350.0");
  xchg_position pos;
  REQUIRE_EQ(x->ops->position(x, "BTCUSDT", &pos, &e), XCHG_OK);
  CHECK_EQ(pos.qty, 0);
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "tr-3", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_FILLED);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_native_trailing_stop_follows_the_mark) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_order o;
  xchg_error e;
  exsim_mark(&p, "BTCUSDT", "40000.0");
  xchg_order_req r = req("ts-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL);
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  r = req("ts-trail", XCHG_SELL, XCHG_TRAILING_STOP_MARKET, "0.010", NULL);
  r.callback_rate = 1.0;
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  CHECK_EQ(o.type, XCHG_TRAILING_STOP_MARKET);
  exsim_mark(&p, "BTCUSDT", "41000.0");
  exsim_mark(&p, "BTCUSDT", "40600.0"); /* -0.98 % from 41000: holds */
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "ts-trail", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_NEW);
  exsim_mark(&p, "BTCUSDT", "40580.0"); /* below 41000 x 0.99 = 40590 */
  REQUIRE_EQ(x->ops->query(x, "BTCUSDT", "ts-trail", &o, &e), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_FILLED);
  CHECK_EQ(o.avg_price, D("40580"));
  xchg_position pos;
  REQUIRE_EQ(x->ops->position(x, "BTCUSDT", &pos, &e), XCHG_OK);
  CHECK_EQ(pos.qty, 0);
  check_truth(&p, 1);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_exsim_restart_keeps_everything_the_adapter_was_told) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  lb_ms since = xchg_binance_server_time(x) - 60000;
  open_protected(&p, x, "rs-sl", "35000.0");
  xchg_balance b0, b1;
  xchg_error e;
  REQUIRE_EQ(x->ops->balance(x, &b0, &e), XCHG_OK);
  exsim_kill(&p);
  /* While exsim is down: retryable, nothing invented. */
  xchg_position pos;
  CHECK_EQ(x->ops->position(x, "BTCUSDT", &pos, &e), XCHG_RETRYABLE);
  exsim_restart(&p, NULL);
  xchg_free(x);
  x = test_adapter(&p, NULL); /* new ports: a new adapter, as a restarted bot would build */
  REQUIRE_EQ(x->ops->position(x, "BTCUSDT", &pos, &e), XCHG_OK);
  CHECK_EQ(pos.qty, D("0.01"));
  xchg_order open[4];
  int n;
  REQUIRE_EQ(x->ops->open_orders(x, "BTCUSDT", open, 4, &n, &e), XCHG_OK);
  REQUIRE_EQ(n, 1);
  CHECK_STREQ(open[0].client_id, "rs-sl");
  xchg_fill f[4];
  REQUIRE_EQ(x->ops->fills_since(x, "BTCUSDT", since, f, 4, &n, &e), XCHG_OK);
  REQUIRE_EQ(n, 1);
  CHECK_STREQ(f[0].client_id, "pos-entry");
  REQUIRE_EQ(x->ops->balance(x, &b1, &e), XCHG_OK);
  CHECK_EQ(b1.wallet_balance, b0.wallet_balance);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_rate_limit_headroom_slows_reads_but_lets_orders_through) {
  exsim_proc p;
  const char *extra[] = {"--weight-limit", "20", NULL};
  exsim_start(&p, extra);
  const char *cfg[] = {"BINANCE_WEIGHT_LIMIT=20", "BINANCE_WEIGHT_HEADROOM=0.5", "BINANCE_MAX_WAIT_SECONDS=0", NULL};
  xchg *x = test_adapter(&p, cfg);
  /* Weight is counted per server minute: stay clear of a minute boundary. */
  if (lb_time_now_ms() % 60000 > 55000) sleep_ms(60000 - lb_time_now_ms() % 60000 + 200);
  lb_dec mark;
  xchg_error e;
  int ok = 0;
  xchg_kind k;
  while ((k = x->ops->mark_price(x, "BTCUSDT", &mark, NULL, &e)) == XCHG_OK && ok < 30) ok++;
  CHECK_EQ(k, XCHG_RETRYABLE);
  CHECK(e.retry_after > 0);
  CHECK(ok >= 8 && ok <= 10); /* 10 = 0.5 x 20, less the time sync */
  /* An order still goes out: it only waits at the hard limit. */
  xchg_order o;
  xchg_order_req r = req("rl-entry", XCHG_BUY, XCHG_MARKET, "0.010", NULL);
  REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  json_t *s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.http_429"), 0);
  json_decref(s);
  xchg_free(x);
  exsim_stop(&p);
}

TEST(fault_rate_limit_waits_for_the_next_minute_when_allowed) {
  exsim_proc p;
  const char *extra[] = {"--weight-limit", "20", NULL};
  exsim_start(&p, extra);
  /* exsim's clock at second 57 of its minute: the wait is about 3 s. */
  lb_ms now = lb_time_now_ms();
  char skew[80];
  snprintf(skew, sizeof skew, "{\"clock_skew_ms\": %lld}", (long long)(57000 - now % 60000));
  exsim_faults(&p, skew);
  test_clock_state cs = {0};
  lb_clock clock = test_clock(&cs);
  lb_config c;
  const char *cfg[] = {"BINANCE_WEIGHT_LIMIT=20", "BINANCE_WEIGHT_HEADROOM=0.5", "BINANCE_MAX_WAIT_SECONDS=10", NULL};
  test_config(&c, &p, cfg);
  xchg *x = NULL;
  lb_errbuf eb;
  REQUIRE_OK(xchg_binance_new(&c, &clock, &x, &eb));
  xchg_balance b;
  xchg_error e;
  /* time (1) + balance (5) fit under the headroom of 10; positionRisk (5)
   * does not: it waits for exsim's next minute instead of risking a 429. */
  xchg_kind k = x->ops->balance(x, &b, &e);
  if (k != XCHG_OK) printf("    %s\n", e.msg);
  REQUIRE_EQ(k, XCHG_OK);
  lb_dec mark;
  for (int i = 0; i < 4; i++) REQUIRE_EQ(x->ops->mark_price(x, "BTCUSDT", &mark, NULL, &e), XCHG_OK);
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  CHECK(st.rate_waits >= 1);
  CHECK(cs.slept_ms >= 500 && cs.slept_ms <= 6000);
  json_t *s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.http_429"), 0);
  json_decref(s);
  xchg_free(x);
  lb_log_clear_secrets();
  exsim_stop(&p);
}
