/* test_http.c -- the running bot over HTTP: /health, /status, /metrics, and the control endpoints.
 *
 * Control endpoints act on the run: pause stops new entries (no scan is
 * made while paused), resume lets the next one trade, close sends the open
 * position's market exit to the exchange.  Without the right bearer token
 * nothing happens.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit.h"

#define TOKEN "test-control-token-0123456789"

/* The state /status reports, waited for: the engine thread publishes its
 * snapshot right after the iteration that changed it. */
static void expect_status(lbot *b, const char *state) {
  char last[64] = "";
  for (int i = 0; i < BOT_WAIT_MS / 5; i++) {
    json_t *s = lbot_json(b, "/status");
    const char *st = s ? json_string_value(json_object_get(s, "state")) : NULL;
    snprintf(last, sizeof last, "%s", st ? st : "(none)");
    json_decref(s);
    if (strcmp(last, state) == 0) return;
    ms_sleep(5);
  }
  CHECK_STREQ(last, state);
}

TEST(bot_serves_health_status_and_metrics_during_a_live_run) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "http_live", &x, NULL);
  lbot_start(&b, "", true);
  char *body = NULL;
  CHECK_EQ(lbot_http(&b, "GET", "/health", NULL, &body), 200);
  json_error_t je;
  json_t *h = json_loads(body, 0, &je);
  free(body);
  REQUIRE(h != NULL);
  CHECK_STREQ(json_string_value(json_object_get(h, "status")), "healthy");
  CHECK(json_is_true(json_object_get(json_object_get(h, "database"), "ok")));
  CHECK(json_is_true(json_object_get(json_object_get(h, "engine"), "ok")));
  CHECK_STREQ(json_string_value(json_object_get(json_object_get(h, "exchange"), "name")), "binance_usdm");
  json_decref(h);
  json_t *s = lbot_json(&b, "/status");
  CHECK_STREQ(json_string_value(json_object_get(s, "mode")), "live");
  CHECK_STREQ(json_string_value(json_object_get(s, "state")), "scanning");
  CHECK(dec_of(json_string_value(json_object_get(s, "capital"))) == LB_DEC_INT(1000));
  CHECK(json_is_null(json_object_get(s, "position")));
  json_decref(s);
  REQUIRE(step_bars(&x, &b, 200, "stop confirmed") >= 0);
  expect_status(&b, "in_position");
  s = lbot_json(&b, "/status");
  json_t *p = json_object_get(s, "position");
  CHECK_STREQ(json_string_value(json_object_get(p, "symbol")), "BTCUSDT");
  CHECK(dec_of(json_string_value(json_object_get(p, "stop_price"))) > 0);
  CHECK(json_is_true(json_object_get(p, "stop_on_exchange")));
  json_decref(s);
  json_t *m = lbot_json(&b, "/metrics");
  REQUIRE(m != NULL);
  CHECK(json_number_value(json_object_get(json_object_get(m, "counters"), "entries_total")) >= 1);
  CHECK(json_number_value(json_object_get(json_object_get(m, "counters"), "position_open")) == 1);
  json_decref(m);
  CHECK_EQ(lbot_http(&b, "GET", "/metrics/prometheus", NULL, &body), 200);
  CHECK_CONTAINS(body, "levbot_entries_total 1");
  CHECK_CONTAINS(body, "levbot_trail_latency_p99_us");
  free(body);
  /* no token configured: control is off */
  CHECK_EQ(lbot_http(&b, "POST", "/control/pause", "Bearer " TOKEN, &body), 403);
  free(body);
  expect_status(&b, "in_position");
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  xsim_stop(&x);
}

TEST(bot_control_endpoints_need_the_token_and_act_on_the_run) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "http_control", &x, (const char *const[]){"CONTROL_TOKEN=" TOKEN, NULL});
  lbot_start(&b, "", true);
  char *body = NULL;
  CHECK_EQ(lbot_http(&b, "POST", "/control/pause", NULL, &body), 401);
  free(body);
  CHECK_EQ(lbot_http(&b, "POST", "/control/pause", "Bearer wrong-token-0123456789", &body), 401);
  free(body);
  expect_status(&b, "scanning");
  CHECK_EQ(lbot_http(&b, "POST", "/control/close", "Bearer " TOKEN, &body), 409); /* nothing open */
  free(body);
  CHECK_EQ(lbot_http(&b, "POST", "/control/pause", "Bearer " TOKEN, &body), 200);
  free(body);
  expect_status(&b, "paused");
  /* paused over the bars where the first trade comes (about 40 in): no scan, no entry */
  double scans = lbot_counter(&b, "scans_total");
  CHECK_EQ(step_bars(&x, &b, 120, "entry sent"), -1);
  CHECK(lbot_counter(&b, "scans_total") == scans);
  CHECK(lbot_counter(&b, "entries_total") == 0);
  CHECK_EQ(lbot_http(&b, "POST", "/control/resume", "Bearer " TOKEN, &body), 200);
  free(body);
  expect_status(&b, "scanning");
  REQUIRE(step_bars(&x, &b, 400, "stop confirmed") >= 0);
  /* close the position at market from outside */
  CHECK_EQ(lbot_http(&b, "POST", "/control/close", "Bearer wrong-token-0123456789", &body), 401);
  free(body);
  expect_status(&b, "in_position");
  CHECK_EQ(lbot_http(&b, "POST", "/control/close", "Bearer " TOKEN, &body), 200);
  CHECK_CONTAINS(body, "closing trade");
  free(body);
  REQUIRE(lbot_wait_log(&b, "closed: BTCUSDT", 1, BOT_WAIT_MS));
  expect_status(&b, "scanning");
  char *reason = NULL;
  for (int i = 0; i < 200; i++) {
    reason = lbot_sql(&b, "SELECT exit_reason FROM trades WHERE status = 'CLOSED' ORDER BY closed_at DESC");
    if (reason) break;
    ms_sleep(10);
  }
  CHECK_STREQ(reason, "manual");
  free(reason);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  check_store_matches_exsim(&b, &x);
  json_t *st = xsim_state(&x);
  CHECK_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(st, "symbols"), 0), "pos")), "0");
  json_decref(st);
  xsim_stop(&x);
}

TEST(bot_paper_mode_trades_on_the_exchange_prices_without_orders_there) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "paper", &x, (const char *const[]){"USE_PAPER_TRADING=true", "BINANCE_API_KEY=", "BINANCE_API_SECRET=", NULL});
  lbot_start(&b, "", true);
  json_t *s = lbot_json(&b, "/status");
  CHECK_STREQ(json_string_value(json_object_get(s, "mode")), "paper");
  CHECK_STREQ(json_string_value(json_object_get(s, "exchange")), "sim");
  json_decref(s);
  CHECK(step_bars(&x, &b, 300, "closed: BTCUSDT") > 0);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  json_t *st = xsim_state(&x);
  CHECK_EQ(json_array_size(json_object_get(st, "fills")), 0); /* nothing reached the exchange */
  CHECK_EQ(json_array_size(json_object_get(st, "algo_orders")), 0);
  json_decref(st);
  CHECK(lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE status = 'CLOSED'") >= 1);
  CHECK(lbot_sql_long(&b, "SELECT COUNT(*) FROM fills") >= 2); /* the simulated fills are recorded */
  char *mode = lbot_sql(&b, "SELECT mode FROM trading_config");
  CHECK_STREQ(mode, "paper");
  free(mode);
  xsim_stop(&x);
}

TEST(bot_replay_serves_health_and_stops_gracefully) {
  lbot b;
  lbot_init(&b, "replay_health", NULL, NULL);
  char args[1024];
  snprintf(args, sizeof args, "--paper --replay %s --speed 3000", lbt_source_path(MONTH_5M));
  lbot_start(&b, args, true);
  char *body = NULL;
  CHECK_EQ(lbot_http(&b, "GET", "/health", NULL, &body), 200);
  CHECK_CONTAINS(body, "\"healthy\"");
  free(body);
  json_t *s = lbot_json(&b, "/status");
  CHECK_STREQ(json_string_value(json_object_get(s, "mode")), "replay");
  json_decref(s);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  char *out = lbot_stdout(&b);
  CHECK_CONTAINS(out, "stopped after");
  free(out);
}
