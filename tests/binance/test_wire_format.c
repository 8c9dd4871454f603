/* test_wire_format.c -- signing, error kinds and payload parsing against Binance's documented examples. */
#include <stdlib.h>

#include "core/buf.h"
#include "core/log.h"
#include "exchange/binance_internal.h"
#include "harness.h"
#include "unit.h"

/* ==== Signing ==== */

TEST(binance_signature_reproduces_the_documented_example_byte_for_byte) {
  /* ../shared/reference/binance/README.md: Binance's published HMAC example. */
  const char *secret = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
  const char *payload =
      "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&"
      "timestamp=1499827319559";
  char sig[XCHG_BINANCE_SIG_LEN];
  xchg_binance_sign(secret, payload, strlen(payload), sig);
  CHECK_STREQ(sig, "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71");
  /* One byte changed, another signature. */
  xchg_binance_sign(secret, "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=2", 60, sig);
  CHECK(strcmp(sig, "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71") != 0);
  CHECK_EQ(strlen(sig), 64);
}

/* ==== Error kinds (wire-formats.md section A, error table) ==== */

TEST(binance_error_codes_map_to_the_reference_kinds) {
  static const struct {
    int http, code;
    xchg_kind want;
  } t[] = {
      {429, -1003, XCHG_RETRYABLE}, /* back off */
      {418, -1003, XCHG_RETRYABLE}, /* banned: back off */
      {400, -1021, XCHG_RETRYABLE}, /* resync time */
      {503, -1008, XCHG_RETRYABLE}, /* throttled, not processed */
      {400, -1125, XCHG_RETRYABLE}, /* recreate the listenKey */
      {403, 0, XCHG_RETRYABLE},     /* WAF */
      {503, -1007, XCHG_UNKNOWN},   /* execution status unknown: reconcile */
      {500, -1006, XCHG_UNKNOWN},
      {503, 0, XCHG_UNKNOWN},       /* 5xx => status unknown */
      {502, 0, XCHG_UNKNOWN},
      {408, 0, XCHG_UNKNOWN},       /* backend timeout */
      {0, 0, XCHG_UNKNOWN},         /* no answer after sending */
      {400, -1022, XCHG_FATAL},     /* signature: wrong secret */
      {401, -2015, XCHG_FATAL},     /* key, IP or permissions */
      {401, -2014, XCHG_FATAL},
      {400, -1121, XCHG_FATAL},     /* bad symbol */
      {400, -4120, XCHG_FATAL},     /* stop on the old endpoint: adapter out of date */
      {400, -1111, XCHG_REJECTED},  {400, -2011, XCHG_REJECTED}, {400, -2013, XCHG_REJECTED},
      {400, -2019, XCHG_REJECTED},  {400, -2021, XCHG_REJECTED}, {400, -2022, XCHG_REJECTED},
      {400, -2027, XCHG_REJECTED},  {400, -2028, XCHG_REJECTED}, {400, -4164, XCHG_REJECTED},
      {400, -4116, XCHG_REJECTED},  {400, -4142, XCHG_REJECTED}, {400, -4046, XCHG_REJECTED},
      {400, -4028, XCHG_REJECTED},  {200, 0, XCHG_OK},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    xchg_kind k = xchg_binance_classify(t[i].http, t[i].code);
    if (k != t[i].want)
      lbt_fail(__FILE__, __LINE__, "HTTP %d code %d -> %s, want %s", t[i].http, t[i].code,
               xchg_kind_name(k), xchg_kind_name(t[i].want));
  }
}

/* ==== Reference payloads ==== */

static json_t *load_ref(const char *name) {
  char rel[256];
  snprintf(rel, sizeof rel, "reference/binance/%s", name);
  json_error_t je;
  json_t *j = json_load_file(lbt_require_shared(rel), 0, &je);
  REQUIRE(j != NULL);
  return j;
}

TEST(binance_parses_the_documented_position_risk_v3_example) {
  json_t *j = load_ref("fapi_v3_positionRisk.doc_example.json");
  xchg_position p;
  lb_errbuf eb;
  REQUIRE_OK(bn_parse_position(json_array_get(json_object_get(j, "response"), 0), &p, &eb));
  CHECK_STREQ(p.symbol, "ADAUSDT");
  CHECK_EQ(p.qty, LB_DEC_INT(30));
  CHECK_EQ(p.entry_price, 38500000);     /* 0.385 */
  CHECK_EQ(p.mark_price, 41047590);      /* 0.41047590 */
  CHECK_EQ(p.unrealized_pnl, 76427700);  /* 0.76427700 */
  CHECK_EQ(p.liquidation_price, 0);
  CHECK(!p.isolated); /* isolatedWallet "0": a cross position */
  CHECK_EQ(p.updated, 1720736417660LL);
  json_decref(j);
}

TEST(binance_parses_a_recorded_order_response) {
  json_t *j = load_ref("fapi_v1_order.ccxt_recorded.json");
  xchg_order o;
  lb_errbuf eb;
  REQUIRE_OK(bn_parse_order(json_object_get(j, "response"), &o, &eb));
  CHECK_STREQ(o.exchange_id, "4087922044");
  CHECK_STREQ(o.client_id, "x-xcKtGhcu04075babaeb34c55af79ba");
  CHECK_EQ(o.side, XCHG_SELL);
  CHECK_EQ(o.type, XCHG_LIMIT);
  CHECK_EQ(o.status, XCHG_ST_NEW);
  CHECK_EQ(o.qty, 20000000);          /* 0.200 */
  CHECK_EQ(o.price, LB_DEC_INT(110001));
  CHECK_EQ(o.filled_qty, 0);
  CHECK(!o.reduce_only && !o.close_position);
  json_decref(j);
}

TEST(binance_parses_the_documented_mark_price_example) {
  json_t *j = load_ref("fapi_v1_premiumIndex.doc_example.json");
  lb_dec mark, rate;
  const json_t *r = json_object_get(j, "response");
  CHECK(bn_json_dec(r, "markPrice", &mark));
  CHECK(bn_json_dec(r, "lastFundingRate", &rate));
  CHECK_EQ(mark, 1179363104562LL); /* 11793.63104562, exact */
  CHECK_EQ(rate, 38246);           /* 0.00038246 */
  json_decref(j);
}

TEST(binance_leverage_brackets_parse_and_validate_as_published) {
  json_t *j = load_ref("fapi_v1_leverageBracket.BTC_ETH_XRP.from_freqtrade.json");
  size_t i;
  json_t *e;
  int checked = 0;
  json_array_foreach(j, i, e) {
    lb_bracket_table t;
    lb_errbuf eb;
    REQUIRE_OK(bn_parse_brackets(e, &t, &eb));
    if (lb_brackets_validate(&t, &eb) != LB_OK) lbt_fail(__FILE__, __LINE__, "%s", eb.msg);
    if (strcmp(t.symbol, "BTCUSDT") == 0) {
      lb_bracket_table want;
      lb_brackets_binance_btcusdt(&want);
      REQUIRE_EQ(t.n, want.n);
      for (int k = 0; k < t.n; k++) {
        CHECK_EQ(t.tier[k].mmr, want.tier[k].mmr);
        CHECK_EQ(t.tier[k].cum, want.tier[k].cum);
        CHECK_EQ(t.tier[k].notional_cap, want.tier[k].notional_cap);
        CHECK_EQ(t.tier[k].max_leverage, want.tier[k].max_leverage);
      }
      checked++;
    }
  }
  CHECK_EQ(checked, 1);
  json_decref(j);
  /* The documentation's single-tier example validates too. */
  j = load_ref("fapi_v1_leverageBracket.doc_example.json");
  lb_bracket_table t;
  lb_errbuf eb;
  REQUIRE_OK(bn_parse_brackets(json_array_get(json_object_get(j, "response"), 0), &t, &eb));
  CHECK_EQ(t.n, 1);
  CHECK_EQ(t.tier[0].mmr, 650000); /* 0.0065 */
  CHECK_OK(lb_brackets_validate(&t, &eb));
  json_decref(j);
}

TEST(binance_exchange_info_entry_becomes_symbol_rules) {
  json_t *j = load_ref("fapi_v1_exchangeInfo.symbol_SOLBUSD.from_freqtrade.json");
  lb_symbol_rules r;
  lb_errbuf eb;
  REQUIRE_OK(bn_parse_rules(j, &r, &eb));
  CHECK_STREQ(r.symbol, "SOLBUSD");
  CHECK_STREQ(r.base, "SOL");
  CHECK_STREQ(r.quote, "BUSD");
  CHECK_EQ(r.tick_size, 1000000);        /* 0.0100 */
  CHECK_EQ(r.min_price, 4000000);        /* 0.0400 */
  CHECK_EQ(r.step_size, LB_DEC_INT(1));
  CHECK_EQ(r.max_qty, LB_DEC_INT(1000000));
  CHECK_EQ(r.market_max_qty, LB_DEC_INT(1500));
  CHECK_EQ(r.min_notional, LB_DEC_INT(5));
  json_decref(j);
}

TEST(binance_kline_row_parses_into_a_candle) {
  json_t *j = load_ref("fapi_v1_klines.BTCUSDT_1h_2024-01-01T00.json");
  data_candle c;
  lb_ms close_time;
  lb_errbuf eb;
  REQUIRE_OK(bn_parse_kline_row(json_array_get(json_object_get(j, "response"), 0), &c, &close_time, &eb));
  CHECK_EQ(c.ts, 1704067200000LL);
  CHECK_EQ(close_time, 1704070799999LL);
  CHECK_NEAR(c.open, 42314.00, 1e-9);
  CHECK_NEAR(c.high, 42603.20, 1e-9);
  CHECK_NEAR(c.low, 42289.60, 1e-9);
  CHECK_NEAR(c.close, 42503.50, 1e-9);
  CHECK_NEAR(c.volume, 8459.477, 1e-9);
  json_decref(j);
}

/* ==== Stream payloads (examples of wire-formats.md section A) ==== */

static int parse_user(const char *text, xchg_event *ev, int max) {
  json_error_t je;
  json_t *j = json_loads(text, 0, &je);
  REQUIRE(j != NULL);
  int n = bn_parse_user_msg(j, ev, max);
  json_decref(j);
  return n;
}

#define OTU \
    "{\"e\":\"ORDER_TRADE_UPDATE\",\"E\":1568879465651,\"T\":1568879465650,\"o\":{\"s\":\"BTCUSDT\",\"c\":\"%s\"," \
    "\"S\":\"SELL\",\"o\":\"MARKET\",\"f\":\"GTC\",\"q\":\"0.001\",\"p\":\"0\",\"ap\":\"0\",\"sp\":\"0\",\"x\":" \
    "\"%s\",\"X\":\"FILLED\",\"i\":8886774,\"l\":\"0.001\",\"z\":\"0.001\",\"L\":\"7103.04\",\"N\":\"USDT\"," \
    "\"n\":\"0.0028\",\"T\":1568879465650,\"t\":12345,\"b\":\"0\",\"a\":\"9.91\",\"m\":false,\"R\":false," \
    "\"wt\":\"CONTRACT_PRICE\",\"ot\":\"MARKET\",\"ps\":\"BOTH\",\"cp\":false,\"AP\":\"7476.89\",\"cr\":" \
    "\"5.0\",\"pP\":false,\"rp\":\"0.5\",\"V\":\"NONE\",\"pm\":\"NONE\",\"gtd\":0}}"

TEST(binance_order_trade_update_becomes_a_fill_and_autoclose_a_liquidation) {
  char text[2048];
  xchg_event ev[4];
  snprintf(text, sizeof text, OTU, "bot-123", "TRADE");
  REQUIRE_EQ(parse_user(text, ev, 4), 1);
  CHECK_EQ(ev[0].type, XCHG_EV_FILL);
  CHECK_STREQ(ev[0].fill.client_id, "bot-123");
  CHECK_STREQ(ev[0].fill.trade_id, "12345");
  CHECK_EQ(ev[0].fill.side, XCHG_SELL);
  CHECK_EQ(ev[0].fill.qty, 100000);          /* 0.001 */
  CHECK_EQ(ev[0].fill.price, 710304000000LL); /* 7103.04 */
  CHECK_EQ(ev[0].fill.fee, 280000);          /* 0.0028 */
  CHECK_EQ(ev[0].fill.realized_pnl, 50000000); /* 0.5 */
  CHECK_EQ(ev[0].order.status, XCHG_ST_FILLED);
  CHECK_STREQ(ev[0].order.exchange_id, "8886774");
  /* Liquidation ("autoclose-...") and auto-deleverage ("adl_autoclose"). */
  snprintf(text, sizeof text, OTU, "autoclose-1568879465650", "CALCULATED");
  REQUIRE_EQ(parse_user(text, ev, 4), 1);
  CHECK_EQ(ev[0].type, XCHG_EV_LIQUIDATION);
  CHECK_EQ(ev[0].fill.qty, 100000);
  snprintf(text, sizeof text, OTU, "adl_autoclose", "TRADE");
  REQUIRE_EQ(parse_user(text, ev, 4), 1);
  CHECK_EQ(ev[0].type, XCHG_EV_LIQUIDATION);
  /* A status change without execution is an ORDER event. */
  snprintf(text, sizeof text, OTU, "bot-124", "CANCELED");
  text[strlen(text)] = '\0';
  char *l = strstr(text, "\"l\":\"0.001\"");
  REQUIRE(l != NULL);
  memcpy(l, "\"l\":\"0.000\"", 11);
  REQUIRE_EQ(parse_user(text, ev, 4), 1);
  CHECK_EQ(ev[0].type, XCHG_EV_ORDER);
}

TEST(binance_account_update_gives_balance_position_and_funding) {
#define AU \
      "{\"e\":\"ACCOUNT_UPDATE\",\"E\":1564745798939,\"T\":1564745798938,\"a\":{\"m\":\"%s\",\"B\":[{\"a\":" \
      "\"USDT\",\"wb\":\"122624.12345678\",\"cw\":\"100.12345678\",\"bc\":\"50.12345678\"}],\"P\":[{\"s\":" \
      "\"BTCUSDT\",\"pa\":\"0.010\",\"ep\":\"29000.5\",\"bep\":\"0\",\"cr\":\"200\",\"up\":\"-1.25\",\"mt\":" \
      "\"isolated\",\"iw\":\"14.5\",\"ps\":\"BOTH\"}]}}"
  char text[1024];
  xchg_event ev[8];
  snprintf(text, sizeof text, AU, "ORDER");
  int n = parse_user(text, ev, 8);
  REQUIRE_EQ(n, 2);
  CHECK_EQ(ev[0].type, XCHG_EV_BALANCE);
  CHECK_EQ(ev[0].amount, 12262412345678LL);
  CHECK_EQ(ev[1].type, XCHG_EV_POSITION);
  CHECK_STREQ(ev[1].position.symbol, "BTCUSDT");
  CHECK_EQ(ev[1].position.qty, 1000000);
  CHECK_EQ(ev[1].position.entry_price, 2900050000000LL);
  CHECK_EQ(ev[1].position.unrealized_pnl, -125000000);
  CHECK(ev[1].position.isolated);
  CHECK_EQ(ev[1].position.isolated_margin, 1450000000);
  snprintf(text, sizeof text, AU, "FUNDING_FEE");
  n = parse_user(text, ev, 8);
  REQUIRE_EQ(n, 3);
  CHECK_EQ(ev[1].type, XCHG_EV_FUNDING);
  CHECK_EQ(ev[1].amount, 5012345678LL); /* "bc": the balance change */
  CHECK_STREQ(ev[1].symbol, "BTCUSDT");
}

TEST(binance_algo_update_becomes_an_order_event) {
  const char *t =
      "{\"e\":\"ALGO_UPDATE\",\"T\":1750515742297,\"E\":1750515742303,\"o\":{\"caid\":\"Q5xaq5EGKgXXa0fD7fs0Ip\","
      "\"aid\":2148719,\"at\":\"CONDITIONAL\",\"o\":\"TAKE_PROFIT_MARKET\",\"s\":\"BNBUSDT\",\"S\":\"SELL\","
      "\"ps\":\"BOTH\",\"f\":\"GTC\",\"q\":\"0.01\",\"X\":\"TRIGGERED\",\"ai\":\"\",\"tp\":\"750\",\"p\":\"0\","
      "\"wt\":\"MARK_PRICE\",\"cp\":true,\"R\":true}}";
  xchg_event ev[2];
  REQUIRE_EQ(parse_user(t, ev, 2), 1);
  CHECK_EQ(ev[0].type, XCHG_EV_ORDER);
  CHECK_STREQ(ev[0].order.client_id, "Q5xaq5EGKgXXa0fD7fs0Ip");
  CHECK_STREQ(ev[0].order.exchange_id, "2148719");
  CHECK_EQ(ev[0].order.type, XCHG_TAKE_PROFIT_MARKET);
  CHECK_EQ(ev[0].order.status, XCHG_ST_TRIGGERED);
  CHECK_EQ(ev[0].order.trigger_price, LB_DEC_INT(750));
  CHECK(ev[0].order.close_position);
}

TEST(binance_market_stream_payloads_become_mark_and_closed_candle_events) {
  const char *mark = "{\"e\":\"markPriceUpdate\",\"E\":1562305380000,\"s\":\"BTCUSDT\",\"p\":\"11794.15\",\"i\":"
                     "\"11784.62\",\"P\":\"11784.25\",\"r\":\"0.00038167\",\"T\":1562306400000}";
#define KLINE \
  "{\"stream\":\"btcusdt@kline_1m\",\"data\":{\"e\":\"kline\",\"E\":1638747660000,\"s\":" \
                      "\"BTCUSDT\",\"k\":{\"t\":1638747660000,\"T\":1638747719999,\"s\":\"BTCUSDT\",\"i\":\"1m\"," \
                      "\"f\":100,\"L\":200,\"o\":\"0.0010\",\"c\":\"0.0020\",\"h\":\"0.0025\",\"l\":\"0.0015\",\"v\":" \
                      "\"1000\",\"n\":100,\"x\":%s,\"q\":\"1.0000\",\"V\":\"500\",\"Q\":\"0.500\",\"B\":\"0\"}}}"
  json_error_t je;
  xchg_event ev[2];
  json_t *j = json_loads(mark, 0, &je);
  REQUIRE_EQ(bn_parse_market_msg(j, ev, 2), 1);
  json_decref(j);
  CHECK_EQ(ev[0].type, XCHG_EV_MARK);
  CHECK_EQ(ev[0].price, 1179415000000LL);
  CHECK_NEAR(ev[0].rate, 0.00038167, 1e-12);
  char text[1024];
  snprintf(text, sizeof text, KLINE, "false");
  j = json_loads(text, 0, &je);
  CHECK_EQ(bn_parse_market_msg(j, ev, 2), 0); /* still forming */
  json_decref(j);
  /* The documentation's candle has low > open; a closed, valid one: */
  snprintf(text, sizeof text, KLINE, "true");
  char *o = strstr(text, "\"o\":\"0.0010\"");
  REQUIRE(o != NULL);
  memcpy(o, "\"o\":\"0.0016\"", 12);
  j = json_loads(text, 0, &je);
  REQUIRE_EQ(bn_parse_market_msg(j, ev, 2), 1);
  json_decref(j);
  CHECK_EQ(ev[0].type, XCHG_EV_CANDLE);
  CHECK_EQ(ev[0].timeframe, LB_MS_MINUTE);
  CHECK_EQ(ev[0].candle.ts, 1638747660000LL);
  CHECK_NEAR(ev[0].candle.close, 0.002, 1e-12);
  /* ...and the documented candle as printed (low above open) is refused, not passed on. */
  snprintf(text, sizeof text, KLINE, "true");
  j = json_loads(text, 0, &je);
  CHECK_EQ(bn_parse_market_msg(j, ev, 2), 0);
  json_decref(j);
}

/* ==== Configuration ==== */

TEST(binance_defaults_point_at_production_and_build_without_network) {
  lb_config c;
  lb_config_defaults(&c);
  CHECK_STREQ(c.binance_rest_url, "https://fapi.binance.com");
  CHECK_STREQ(c.binance_ws_market_url, "wss://fstream.binance.com/market");
  CHECK_STREQ(c.binance_ws_user_url, "wss://fstream.binance.com/private");
  CHECK_EQ(c.binance_recv_window_ms, 5000);
  xchg *x = NULL;
  lb_errbuf eb;
  REQUIRE_OK(xchg_binance_new(&c, &lb_clock_system, &x, &eb));
  CHECK_STREQ(x->ops->name, "binance_usdm");
  /* Without keys a signed call fails locally and says what is missing. */
  xchg_balance b;
  xchg_error err;
  CHECK_EQ(x->ops->balance(x, &b, &err), XCHG_FATAL);
  CHECK_CONTAINS(err.msg, "BINANCE_API_KEY");
  xchg_free(x);
  lb_log_clear_secrets();
}

TEST(binance_bad_urls_are_refused_naming_the_variable) {
  lb_config c;
  lb_config_defaults(&c);
  lb_cfg_report rep = {0};
  REQUIRE_OK(lb_config_set(&c, "BINANCE_REST_URL", "ftp://127.0.0.1:1", &rep));
  xchg *x = NULL;
  lb_errbuf eb;
  CHECK_EQ(xchg_binance_new(&c, &lb_clock_system, &x, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "BINANCE_REST_URL=ftp://127.0.0.1:1");
  CHECK(x == NULL);
  lb_config_defaults(&c);
  REQUIRE_OK(lb_config_set(&c, "BINANCE_WS_USER_URL", "https://x", &rep));
  CHECK_EQ(xchg_binance_new(&c, &lb_clock_system, &x, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "BINANCE_WS_USER_URL");
  /* Start-up validation reports the same, with every other problem. */
  lb_config_defaults(&c);
  memset(&rep, 0, sizeof rep);
  REQUIRE_OK(lb_config_set(&c, "BINANCE_REST_URL", "http://fapi.example.com", &rep));
  REQUIRE_OK(lb_config_set(&c, "BINANCE_WS_RECONNECT_MIN_MS", "5000", &rep));
  REQUIRE_OK(lb_config_set(&c, "BINANCE_WS_RECONNECT_MAX_MS", "1000", &rep));
  lb_config_check(&c, &rep);
  bool url = false, reconnect = false;
  for (int i = 0; i < rep.n_errors; i++) {
    if (strstr(rep.errors[i], "BINANCE_REST_URL=http://fapi.example.com")) url = true;
    if (strstr(rep.errors[i], "BINANCE_WS_RECONNECT_MAX_MS=1000")) reconnect = true;
  }
  CHECK(url);       /* plain HTTP would carry the key unencrypted */
  CHECK(reconnect); /* max below min */
}

/* ==== Secrets ==== */

static void capture_line(void *ctx, const char *line) {
  lb_buf *b = ctx;
  lb_buf_puts(b, line);
  lb_buf_puts(b, "\n");
}

TEST(binance_request_log_masks_signature_and_never_shows_key_or_secret) {
  exsim_proc p;
  exsim_start(&p, NULL);
  FILE *sink = tmpfile();
  REQUIRE(sink != NULL);
  lb_log_setup(LB_LOG_DEBUG, LB_LOG_HUMAN, sink);
  xchg *x = test_adapter(&p, NULL);
  /* The adapter must not rely on the redactor: forget the registered secrets. */
  lb_log_clear_secrets();
  xchg_balance b;
  xchg_error err;
  REQUIRE_EQ(x->ops->balance(x, &b, &err), XCHG_OK);
  xchg_order o;
  xchg_order_req r = {.symbol = "BTCUSDT", .client_id = "log-test-1", .side = XCHG_BUY, .type = XCHG_MARKET,
                      .qty = 100000};
  x->ops->place(x, &r, &o, &err); /* refused (min notional): its request is logged too */
  lb_buf lines;
  lb_buf_init(&lines);
  lb_log_recent(LB_LOG_RING, capture_line, &lines);
  lb_log_setup(LB_LOG_INFO, LB_LOG_HUMAN, NULL);
  fclose(sink);
  CHECK_CONTAINS(lines.data, "GET /fapi/v3/balance");
  CHECK_CONTAINS(lines.data, "signature=****");
  CHECK_NOT_CONTAINS(lines.data, EXSIM_KEY);
  CHECK_NOT_CONTAINS(lines.data, EXSIM_SECRET);
  CHECK_NOT_CONTAINS(err.msg, EXSIM_KEY);
  /* No 64-hex signature value anywhere. */
  const char *s = lines.data;
  int run = 0, longest = 0;
  for (; *s; s++) {
    bool hex = (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f');
    run = hex ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  CHECK(longest < 64);
  lb_buf_free(&lines);
  xchg_free(x);
  exsim_stop(&p);
}
