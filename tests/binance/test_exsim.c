/* test_exsim.c -- exsim against Binance's documented examples, with raw requests (no adapter). */
#include <stdlib.h>

#include "harness.h"
#include "risk/risk.h"
#include "unit.h"

#define DOC_SECRET "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
#define DOC_PAYLOAD \
  "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
#define DOC_SIG "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"

static int code_of(exsim_proc *p, const char *method, const char *pq, const char *body, const char *key,
                   int *status) {
  char *out = NULL;
  *status = exsim_raw(p, method, pq, body, key, &out, NULL);
  int c = body_code(out);
  free(out);
  return c;
}

TEST(exsim_accepts_the_documented_signature_and_refuses_a_tampered_one) {
  exsim_proc p;
  const char *extra[] = {"--api-secret", DOC_SECRET, "--api-key", "doc-example-key", NULL};
  exsim_start(&p, extra);
  /* Put exsim's clock at the example's timestamp so recvWindow passes. */
  char skew[96];
  snprintf(skew, sizeof skew, "{\"clock_skew_ms\": %lld}", 1499827319559LL + 300 - (long long)lb_time_now_ms());
  exsim_faults(&p, skew);
  int st;
  /* Signed as documented, in the body: accepted; LTCBTC is not a symbol here. */
  CHECK_EQ(code_of(&p, "POST", "/fapi/v1/order", DOC_PAYLOAD "&signature=" DOC_SIG, "doc-example-key", &st), -1121);
  CHECK_EQ(st, 400);
  /* The same in the query string. */
  CHECK_EQ(code_of(&p, "POST", "/fapi/v1/order?" DOC_PAYLOAD "&signature=" DOC_SIG, NULL, "doc-example-key", &st),
           -1121);
  /* Mixed: the signature covers query + body concatenated. */
  const char *q = "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC";
  const char *b = "quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";
  char total[256], sig[XCHG_BINANCE_SIG_LEN], pq[300], body[300];
  snprintf(total, sizeof total, "%s%s", q, b);
  xchg_binance_sign(DOC_SECRET, total, strlen(total), sig);
  snprintf(pq, sizeof pq, "/fapi/v1/order?%s", q);
  snprintf(body, sizeof body, "%s&signature=%s", b, sig);
  CHECK_EQ(code_of(&p, "POST", pq, body, "doc-example-key", &st), -1121);
  json_t *s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.bad_signature"), 0);
  json_decref(s);
  /* One byte changed: -1022. */
  CHECK_EQ(code_of(&p, "POST", "/fapi/v1/order",
                   "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=2&price=0.1&recvWindow=5000&"
                   "timestamp=1499827319559&signature=" DOC_SIG,
                   "doc-example-key", &st),
           -1022);
  CHECK_EQ(st, 400);
  /* Signature not last: refused. */
  CHECK_EQ(code_of(&p, "POST", "/fapi/v1/order", "signature=" DOC_SIG "&" DOC_PAYLOAD, "doc-example-key", &st),
           -1102);
  /* Key checks come first. */
  CHECK_EQ(code_of(&p, "POST", "/fapi/v1/order", DOC_PAYLOAD "&signature=" DOC_SIG, "other-key", &st), -2015);
  CHECK_EQ(st, 401);
  CHECK_EQ(code_of(&p, "POST", "/fapi/v1/order", DOC_PAYLOAD "&signature=" DOC_SIG, NULL, &st), -2014);
  /* Back at the real time the example's timestamp is far outside recvWindow. */
  exsim_faults(&p, NULL);
  CHECK_EQ(code_of(&p, "POST", "/fapi/v1/order", DOC_PAYLOAD "&signature=" DOC_SIG, "doc-example-key", &st), -1021);
  s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.bad_signature"), 1);
  CHECK_EQ(state_int(s, "counters.bad_timestamp"), 1);
  json_decref(s);
  exsim_stop(&p);
}

TEST(exsim_refuses_every_stop_type_on_the_order_endpoint_with_4120) {
  exsim_proc p;
  exsim_start(&p, NULL);
  static const char *const types[] = {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                                      "TRAILING_STOP_MARKET"};
  for (int i = 0; i < 5; i++) {
    char params[256], *out = NULL;
    snprintf(params, sizeof params,
             "symbol=BTCUSDT&side=SELL&type=%s&quantity=0.010&stopPrice=30000.0&price=30000.0&timeInForce=GTC",
             types[i]);
    int st = exsim_signed(&p, "POST", "/fapi/v1/order", params, &out);
    CHECK_EQ(st, 400);
    CHECK_EQ(body_code(out), -4120);
    CHECK_CONTAINS(out, "Algo Order API");
    free(out);
  }
  json_t *s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.stop_on_order_endpoint"), 5);
  CHECK_EQ(json_array_size(json_object_get(s, "orders")), 0);
  json_decref(s);
  /* The same stop on the Algo Order API is taken. */
  char *out = NULL;
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/algoOrder",
                        "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&triggerPrice=30000&"
                        "closePosition=true&workingType=MARK_PRICE&clientAlgoId=sl-1",
                        &out),
           200);
  CHECK_CONTAINS(out, "\"algoStatus\":\"NEW\"");
  free(out);
  exsim_stop(&p);
}

/* Every key of the documented object is in ours, with the same JSON type. */
static void same_shape(const json_t *doc, const json_t *got, const char *what) {
  const char *k;
  const json_t *v;
  json_object_foreach((json_t *)doc, k, v) {
    if (strcmp(k, "notionalCoef") == 0) continue; /* documented as optional */
    const json_t *g = json_object_get(got, k);
    bool same = g && (json_typeof(g) == json_typeof(v) || (json_is_number(g) && json_is_number(v)));
    if (!same) lbt_fail(__FILE__, __LINE__, "%s: field \"%s\" missing or of another type", what, k);
  }
}

static json_t *ref(const char *name) {
  char rel[200];
  snprintf(rel, sizeof rel, "reference/binance/%s", name);
  json_error_t je;
  json_t *j = json_load_file(lbt_require_shared(rel), 0, &je);
  REQUIRE(j != NULL);
  return j;
}

static json_t *get_json(exsim_proc *p, const char *method, const char *path, const char *params, bool sign) {
  char *out = NULL;
  int st;
  if (sign) {
    st = exsim_signed(p, method, path, params, &out);
  } else {
    char pq[512];
    snprintf(pq, sizeof pq, "%s?%s", path, params);
    st = exsim_raw(p, method, pq, NULL, NULL, &out, NULL);
  }
  json_error_t je;
  json_t *j = json_loads(out ? out : "", JSON_DECODE_ANY, &je);
  if (st != 200) lbt_fail(__FILE__, __LINE__, "%s %s -> %d %s", method, path, st, out ? out : "");
  free(out);
  REQUIRE(st == 200 && j);
  return j;
}

TEST(exsim_answers_carry_every_documented_field) {
  json_t *doc_pi = ref("fapi_v1_premiumIndex.doc_example.json"), *doc_pr = ref("fapi_v3_positionRisk.doc_example.json");
  json_t *doc_o = ref("fapi_v1_order.ccxt_recorded.json"), *doc_lb = ref("fapi_v1_leverageBracket.doc_example.json");
  json_t *doc_k = ref("fapi_v1_klines.BTCUSDT_1h_2024-01-01T00.json");
  exsim_proc p;
  exsim_start(&p, NULL);
  json_t *j = get_json(&p, "GET", "/fapi/v1/premiumIndex", "symbol=BTCUSDT", false);
  same_shape(json_object_get(doc_pi, "response"), j, "premiumIndex");
  json_decref(j);
  j = get_json(&p, "POST", "/fapi/v1/order",
               "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.010&price=30000.0&"
               "newClientOrderId=shape-1&newOrderRespType=RESULT",
               true);
  same_shape(json_object_get(doc_o, "response"), j, "order");
  CHECK_STREQ(json_string_value(json_object_get(j, "status")), "NEW");
  json_decref(j);
  j = get_json(&p, "POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010", true);
  json_decref(j);
  j = get_json(&p, "GET", "/fapi/v3/positionRisk", "symbol=BTCUSDT", true);
  REQUIRE(json_array_size(j) == 1);
  same_shape(json_array_get(json_object_get(doc_pr, "response"), 0), json_array_get(j, 0), "positionRisk");
  json_decref(j);
  j = get_json(&p, "GET", "/fapi/v1/leverageBracket", "symbol=BTCUSDT", true);
  const json_t *de = json_array_get(json_object_get(doc_lb, "response"), 0);
  same_shape(de, j, "leverageBracket");
  same_shape(json_array_get(json_object_get(de, "brackets"), 0), json_array_get(json_object_get(j, "brackets"), 0),
             "leverageBracket.brackets[]");
  json_decref(j);
  j = get_json(&p, "GET", "/fapi/v1/klines", "symbol=BTCUSDT&interval=1m&limit=2", false);
  const json_t *drow = json_array_get(json_object_get(doc_k, "response"), 0), *row = json_array_get(j, 0);
  REQUIRE_EQ(json_array_size(row), json_array_size(drow));
  for (size_t i = 0; i < json_array_size(drow); i++)
    if (json_typeof(json_array_get(row, i)) != json_typeof(json_array_get(drow, i)))
      lbt_fail(__FILE__, __LINE__, "kline column %zu has another JSON type", i);
  json_decref(j);
  exsim_stop(&p);
  json_decref(doc_pi);
  json_decref(doc_pr);
  json_decref(doc_o);
  json_decref(doc_lb);
  json_decref(doc_k);
}

TEST(exsim_klines_reproduce_the_binance_public_data_rows) {
  exsim_proc p;
  const char *extra[] = {"--no-rebase", NULL};
  exsim_start(&p, extra);
  FILE *f = fopen(lbt_source_path(SAMPLE_1M), "r");
  REQUIRE(f != NULL);
  char line[10][256];
  for (int i = 0; i < 10; i++) REQUIRE(fgets(line[i], sizeof line[i], f) != NULL);
  fclose(f);
  json_t *j = get_json(&p, "GET", "/fapi/v1/klines", "symbol=BTCUSDT&interval=1m&startTime=1651708800000&limit=10",
                       false);
  REQUIRE_EQ(json_array_size(j), 10);
  for (int i = 0; i < 10; i++) {
    /* open_time,open,high,low,close,volume,close_time: exactly the file's text */
    char got[256];
    const json_t *r = json_array_get(j, (size_t)i);
    snprintf(got, sizeof got, "%lld,%s,%s,%s,%s,%s,%lld,", (long long)json_integer_value(json_array_get(r, 0)),
             json_string_value(json_array_get(r, 1)), json_string_value(json_array_get(r, 2)),
             json_string_value(json_array_get(r, 3)), json_string_value(json_array_get(r, 4)),
             json_string_value(json_array_get(r, 5)), (long long)json_integer_value(json_array_get(r, 6)));
    if (strncmp(line[i], got, strlen(got)) != 0) lbt_fail(__FILE__, __LINE__, "row %d: %s vs %s", i, got, line[i]);
  }
  json_decref(j);
  /* 5m rows aggregate five 1m rows (first open, extremes, last close, summed volume). */
  j = get_json(&p, "GET", "/fapi/v1/klines", "symbol=BTCUSDT&interval=5m&startTime=1651708800000&limit=2", false);
  const json_t *r = json_array_get(j, 0);
  CHECK_STREQ(json_string_value(json_array_get(r, 1)), "39684.10");
  CHECK_EQ(json_integer_value(json_array_get(r, 6)), 1651708800000LL + 300000 - 1);
  json_decref(j);
  /* Interval not a multiple of the data: refused like an unknown one. */
  char *out = NULL;
  CHECK_EQ(exsim_raw(&p, "GET", "/fapi/v1/klines?symbol=BTCUSDT&interval=7m", NULL, NULL, &out, NULL), 400);
  CHECK_EQ(body_code(out), -1120);
  free(out);
  exsim_stop(&p);
}

TEST(exsim_serves_binances_published_brackets) {
  json_t *doc = ref("fapi_v1_leverageBracket.BTC_ETH_XRP.from_freqtrade.json");
  exsim_proc p;
  exsim_start(&p, NULL);
  json_t *j = get_json(&p, "GET", "/fapi/v1/leverageBracket", "symbol=BTCUSDT", true);
  const json_t *want = json_object_get(json_array_get(doc, 0), "brackets");
  const json_t *got = json_object_get(j, "brackets");
  REQUIRE_EQ(json_array_size(got), json_array_size(want));
  for (size_t i = 0; i < json_array_size(want); i++) {
    const json_t *a = json_array_get(want, i), *b = json_array_get(got, i);
    static const char *const keys[] = {"notionalCap", "notionalFloor", "maintMarginRatio", "cum", "initialLeverage"};
    for (int k = 0; k < 5; k++)
      CHECK_NEAR(json_number_value(json_object_get(b, keys[k])), json_number_value(json_object_get(a, keys[k])), 1e-9);
  }
  json_decref(j);
  json_decref(doc);
  exsim_stop(&p);
}

TEST(exsim_bans_with_418_a_client_that_ignores_429) {
  exsim_proc p;
  const char *extra[] = {"--weight-limit", "5", "--ban-seconds", "2", NULL};
  exsim_start(&p, extra);
  long ra = -1;
  char *out = NULL;
  for (int i = 0; i < 5; i++) CHECK_EQ(exsim_raw(&p, "GET", "/fapi/v1/time", NULL, NULL, NULL, NULL), 200);
  CHECK_EQ(exsim_raw(&p, "GET", "/fapi/v1/time", NULL, NULL, &out, &ra), 429);
  CHECK_EQ(body_code(out), -1003);
  CHECK(ra >= 1 && ra <= 60);
  free(out);
  CHECK_EQ(exsim_raw(&p, "GET", "/fapi/v1/time", NULL, NULL, NULL, &ra), 418);
  CHECK(ra >= 1);
  json_t *s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.http_429"), 1);
  CHECK_EQ(state_int(s, "counters.http_418"), 1);
  json_decref(s);
  exsim_stop(&p);
}

TEST(exsim_validates_orders_with_the_exchanges_codes) {
  exsim_proc p;
  exsim_start(&p, NULL);
  static const struct {
    const char *method, *path, *params;
    int code;
  } t[] = {
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.0015", -1111},
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0", -4003},
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=500", -4005},
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.001", -4164},
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000.005", -1111},
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000.05", -4014},
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=100.0", -4013},
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=5", -2019},
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=SELL&type=MARKET&quantity=0.01&reduceOnly=true", -2022},
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=HOLD&type=MARKET&quantity=0.01", -1117},
      {"POST", "/fapi/v1/order", "symbol=XYZUSDT&side=BUY&type=MARKET&quantity=0.01", -1121},
      {"POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.01&newClientOrderId=bad%20id", -1100},
      {"POST", "/fapi/v1/algoOrder",
       "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&triggerPrice=90000&closePosition=true", -2021},
      {"POST", "/fapi/v1/algoOrder",
       "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&triggerPrice=30000&closePosition=true&"
       "quantity=0.01",
       -1106},
      {"POST", "/fapi/v1/algoOrder",
       "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=TRAILING_STOP_MARKET&quantity=0.01&reduceOnly=true&"
       "callbackRate=1&activatePrice=30000",
       -4142},
      {"POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=126", -4028},
      {"POST", "/fapi/v1/marginType", "symbol=BTCUSDT&marginType=CROSSED", -4046},
      {"DELETE", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=nope", -2011},
      {"GET", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=nope", -2013},
      {"GET", "/fapi/v1/algoOrder", "clientAlgoId=nope", -2013},
      {"DELETE", "/fapi/v1/algoOrder", "clientAlgoId=nope", -2011},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    char *out = NULL;
    int st = exsim_signed(&p, t[i].method, t[i].path, t[i].params, &out);
    if (st != 400 || body_code(out) != t[i].code)
      lbt_fail(__FILE__, __LINE__, "%s %s %s -> %d %s (want %d)", t[i].method, t[i].path, t[i].params, st,
               out ? out : "", t[i].code);
    free(out);
  }
  /* A resting order's client id cannot be reused while it is open. */
  char *out = NULL;
  const char *lim = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=GTC&quantity=0.01&price=30000&newClientOrderId=dup-1";
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/order", lim, NULL), 200);
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/order", lim, &out), 400);
  CHECK_EQ(body_code(out), -4116);
  free(out);
  /* listenKey: keep-alive of a key that does not exist */
  CHECK_EQ(exsim_raw(&p, "PUT", "/fapi/v1/listenKey", "", EXSIM_KEY, &out, NULL), 400);
  CHECK_EQ(body_code(out), -1125);
  free(out);
  json_t *s = exsim_state(&p);
  CHECK_EQ(json_array_size(json_object_get(s, "orders")), 1);
  json_decref(s);
  exsim_stop(&p);
}

TEST(exsim_state_survives_a_kill_and_restart) {
  exsim_proc p;
  exsim_start(&p, NULL);
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/order",
                        "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010&newClientOrderId=persist-entry", NULL),
           200);
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/algoOrder",
                        "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&triggerPrice=30000&"
                        "closePosition=true&workingType=MARK_PRICE&clientAlgoId=persist-stop",
                        NULL),
           200);
  json_t *before = exsim_state(&p);
  exsim_kill(&p); /* no chance to save on the way out */
  exsim_restart(&p, NULL);
  json_t *after = exsim_state(&p);
  CHECK_STREQ(state_str(after, "balance.wallet"), state_str(before, "balance.wallet"));
  CHECK_EQ(json_array_size(json_object_get(after, "fills")), 1);
  const json_t *sym = json_array_get(json_object_get(after, "symbols"), 0);
  CHECK_STREQ(state_str(sym, "pos"), "0.01");
  const json_t *a = find_where(after, "algo_orders", "client_id", "persist-stop");
  REQUIRE(a != NULL);
  CHECK_STREQ(state_str(a, "status"), "NEW");
  CHECK_EQ(state_int(after, "next_order_id"), state_int(before, "next_order_id"));
  /* And the restarted exsim still answers for it. */
  char *out = NULL;
  CHECK_EQ(exsim_signed(&p, "GET", "/fapi/v1/order", "symbol=BTCUSDT&origClientOrderId=persist-entry", &out), 200);
  CHECK_CONTAINS(out, "\"status\":\"FILLED\"");
  free(out);
  json_decref(before);
  json_decref(after);
  exsim_stop(&p);
}

TEST(exsim_logs_each_interval_a_position_had_no_stop) {
  exsim_proc p;
  exsim_start(&p, NULL);
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010", NULL), 200);
  sleep_ms(120);
  json_t *s = exsim_state(&p);
  const json_t *g = json_array_get(json_object_get(s, "unprotected"), 0);
  REQUIRE(g != NULL);
  CHECK(json_is_true(json_object_get(g, "open")));
  json_decref(s);
  /* A take-profit does not protect; a stop does. */
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/algoOrder",
                        "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=TAKE_PROFIT_MARKET&triggerPrice=60000&"
                        "closePosition=true&clientAlgoId=tp-1",
                        NULL),
           200);
  s = exsim_state(&p);
  CHECK(json_is_true(json_object_get(json_array_get(json_object_get(s, "unprotected"), 0), "open")));
  json_decref(s);
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/algoOrder",
                        "algoType=CONDITIONAL&symbol=BTCUSDT&side=SELL&type=STOP_MARKET&triggerPrice=30000&"
                        "closePosition=true&clientAlgoId=sl-1",
                        NULL),
           200);
  s = exsim_state(&p);
  g = json_array_get(json_object_get(s, "unprotected"), 0);
  CHECK(json_is_false(json_object_get(g, "open")));
  CHECK(state_int(g, "ms") >= 120);
  CHECK(state_int(s, "max_unprotected_ms") >= 120);
  CHECK_EQ(json_array_size(json_object_get(s, "unprotected")), 1);
  json_decref(s);
  /* Cancelling the stop opens a new interval. */
  CHECK_EQ(exsim_signed(&p, "DELETE", "/fapi/v1/algoOrder", "clientAlgoId=sl-1", NULL), 200);
  s = exsim_state(&p);
  CHECK_EQ(json_array_size(json_object_get(s, "unprotected")), 2);
  json_decref(s);
  exsim_stop(&p);
}

TEST(exsim_liquidates_at_the_isolated_margin_formula_price) {
  exsim_proc p;
  exsim_start(&p, NULL);
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/marginType", "symbol=BTCUSDT&marginType=ISOLATED", NULL), 200);
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/leverage", "symbol=BTCUSDT&leverage=20", NULL), 200);
  exsim_mark(&p, "BTCUSDT", "40000.0");
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010", NULL), 200);
  /* issue 4 item 4, long: (Q*EP - WB - cum) / (Q*(1 - MMR)), WB = Q*EP/20, first bracket */
  double q = 0.01, ep = 40000.0, wb = q * ep / 20.0, mmr = 0.004, cum = 0;
  double want = (q * ep - wb - cum) / (q * (1 - mmr));
  char *out = NULL;
  REQUIRE(exsim_signed(&p, "GET", "/fapi/v3/positionRisk", "symbol=BTCUSDT", &out) == 200);
  json_error_t je;
  json_t *pr = json_loads(out, 0, &je);
  free(out);
  REQUIRE(pr != NULL);
  double liq = strtod(json_string_value(json_object_get(json_array_get(pr, 0), "liquidationPrice")), NULL);
  CHECK_NEAR(liq, want, 0.01);
  CHECK_STREQ(json_string_value(json_object_get(json_array_get(pr, 0), "isolatedWallet")), "20.00000000");
  json_decref(pr);
  exsim_mark(&p, "BTCUSDT", "38500.0"); /* above the liquidation price: nothing */
  json_t *s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.liquidations"), 0);
  json_decref(s);
  exsim_mark(&p, "BTCUSDT", "38000.0");
  s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.liquidations"), 1);
  CHECK_STREQ(state_str(json_array_get(json_object_get(s, "symbols"), 0), "pos"), "0");
  /* The wallet loses exactly the entry fee (400 x 0.0005) and the position margin (20). */
  CHECK_STREQ(state_str(s, "balance.wallet"), "9979.8");
  CHECK_EQ(count_where(s, "orders", "type", "LIQUIDATION"), 1);
  json_decref(s);
  exsim_stop(&p);
}

TEST(exsim_charges_funding_at_the_8h_settlement) {
  exsim_proc p;
  /* Start at 2022-05-05 07:59 so the 08:00 settlement is five ticks away. */
  const char *extra[] = {"--no-rebase", "--warmup", "479", "--funding-rate", "0.0001", NULL};
  exsim_start(&p, extra);
  CHECK_EQ(exsim_signed(&p, "POST", "/fapi/v1/order", "symbol=BTCUSDT&side=BUY&type=MARKET&quantity=0.010", NULL), 200);
  json_t *s = exsim_state(&p);
  lb_dec w0;
  REQUIRE_OK(lb_dec_parse(state_str(s, "balance.wallet"), &w0));
  json_decref(s);
  json_decref(exsim_ctl(&p, "POST", "/_exsim/step?n=4", NULL));
  s = exsim_state(&p);
  CHECK_EQ(json_array_size(json_object_get(s, "fundings")), 0); /* 07:59:45: not yet */
  json_decref(s);
  json_decref(exsim_ctl(&p, "POST", "/_exsim/step?n=1", NULL));
  s = exsim_state(&p);
  REQUIRE_EQ(json_array_size(json_object_get(s, "fundings")), 1);
  const json_t *f = json_array_get(json_object_get(s, "fundings"), 0);
  /* 08:00 open 39585.40 (the file's row): a long pays 0.01 x 39585.40 x 0.0001 */
  CHECK_STREQ(state_str(f, "mark"), "39585.4");
  CHECK_STREQ(state_str(f, "amount"), "-0.0395854");
  CHECK_EQ(state_int(f, "market_time"), 1651737600000LL);
  lb_dec w1;
  REQUIRE_OK(lb_dec_parse(state_str(s, "balance.wallet"), &w1));
  CHECK_EQ(w1 - w0, -3958540);
  json_decref(s);
  exsim_stop(&p);
}

TEST(exsim_replays_any_format_the_loaders_read) {
  /* freqtrade JSON (USDT-M XRP perpetual) from the shared data set */
  const char *file = lbt_require_shared("data/freqtrade-testdata/futures/XRP_USDT_USDT-5m-futures.json");
  char spec[700];
  snprintf(spec, sizeof spec, "XRPUSDT=%s", file);
  exsim_proc p;
  const char *extra[] = {"--data", spec, "--no-rebase", "--warmup", "12", NULL};
  exsim_start(&p, extra);
  data_series s;
  data_series_init(&s);
  lb_errbuf eb;
  REQUIRE_OK(data_load_file(file, DATA_FMT_AUTO, &s, NULL, &eb));
  json_t *j = get_json(&p, "GET", "/fapi/v1/klines", "symbol=XRPUSDT&interval=1h&limit=5", false);
  REQUIRE_EQ(json_array_size(j), 1); /* 12 bars of 5m = the first hour */
  const json_t *r = json_array_get(j, 0);
  CHECK_EQ(json_integer_value(json_array_get(r, 0)), s.c[0].ts);
  CHECK_NEAR(strtod(json_string_value(json_array_get(r, 1)), NULL), s.c[0].open, 1e-8);
  CHECK_NEAR(strtod(json_string_value(json_array_get(r, 4)), NULL), s.c[11].close, 1e-8);
  json_decref(j);
  j = get_json(&p, "GET", "/fapi/v1/premiumIndex", "symbol=XRPUSDT", false);
  CHECK_NEAR(strtod(json_string_value(json_object_get(j, "markPrice")), NULL), s.c[11].close, 1e-8);
  json_decref(j);
  data_series_close(&s);
  exsim_stop(&p);
}
