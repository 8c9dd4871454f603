/* test_live.c -- `levbot run` in live mode against exsim: trading, graceful shutdown, restart recovery.
 *
 * exsim replays April 2022's 5m bars, paused; the test steps it bar by bar
 * and waits after each bar until the bot has taken the candle and finished
 * its scan, so what the bot does is the same on every run.  Every test ends
 * by comparing the store with exsim's ground truth (/_exsim/state): every
 * fill a row with the same quantity, fee and realized PnL, the capital
 * equal to the wallet, no client id used twice.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "unit.h"

/* The stop orders on exsim: the open ones, or every one ever placed. */
static long algo_stops(xsim *x, bool open_only) {
  json_t *st = xsim_state(x);
  long n = 0;
  size_t i;
  json_t *o;
  json_array_foreach(json_object_get(st, "algo_orders"), i, o) {
    const char *s = json_string_value(json_object_get(o, "status"));
    const char *t = json_string_value(json_object_get(o, "type"));
    if ((!open_only || (s && strcmp(s, "NEW") == 0)) && t && strcmp(t, "STOP_MARKET") == 0) n++;
  }
  json_decref(st);
  return n;
}

static long algo_open(xsim *x) { return algo_stops(x, true); }

static const char *position_qty(xsim *x, char *buf, size_t n) {
  json_t *st = xsim_state(x);
  const json_t *sym = json_array_get(json_object_get(st, "symbols"), 0);
  snprintf(buf, n, "%s", json_string_value(json_object_get(sym, "pos")) ? json_string_value(json_object_get(sym, "pos")) : "?");
  json_decref(st);
  return buf;
}

static long fills_of(xsim *x, const char *cid) {
  json_t *st = xsim_state(x);
  long n = 0;
  size_t i;
  json_t *f;
  json_array_foreach(json_object_get(st, "fills"), i, f)
    n += strcmp(json_string_value(json_object_get(f, "client_id")), cid) == 0;
  json_decref(st);
  return n;
}

TEST(bot_live_trades_on_exsim_and_the_store_matches_the_exchange) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "live_trades", &x, NULL);
  lbot_start(&b, "", true);
  REQUIRE(lbot_wait_log(&b, "running: live mode", 1, BOT_WAIT_MS));
  CHECK(step_bars(&x, &b, 200, "closed: BTCUSDT") > 0);
  CHECK(lbot_count(&b, "entry sent") >= 1);
  CHECK(lbot_count(&b, "stop confirmed") >= 1);
  /* graceful stop: exit 0 (and, under ASan, no leak) */
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  check_store_matches_exsim(&b, &x);
  CHECK(lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE status = 'CLOSED'") >= 1);
  /* the trade rows add up to the wallet's movement */
  json_t *st = xsim_state(&x);
  json_t *bal = json_object_get(st, "balance");
  lb_dec moved = jdec(bal, "wallet") - jdec(bal, "initial");
  char *open = lbot_sql(&b, "SELECT COUNT(*) FROM trades WHERE status = 'OPEN'");
  if (open && strcmp(open, "0") == 0) {
    lb_dec net = 0;
    for (long row = 0;; row++) {
      char sql[256];
      snprintf(sql, sizeof sql, "SELECT realized_pnl || ' ' || fees || ' ' || funding FROM trades "
                                "ORDER BY id LIMIT 1 OFFSET %ld", row);
      char *v = lbot_sql(&b, sql);
      if (!v) break;
      char a[64], c[64], d[64];
      if (sscanf(v, "%63s %63s %63s", a, c, d) == 3) net += dec_of(a) - dec_of(c) + dec_of(d);
      free(v);
    }
    CHECK_EQ(net, moved);
  }
  free(open);
  /* exsim: never unprotected longer than the entry-to-stop round trip */
  CHECK(json_integer_value(json_object_get(st, "max_unprotected_ms")) < 1000);
  json_decref(st);
  xsim_stop(&x);
}

TEST(bot_sigterm_keeps_the_stop_and_a_restart_adopts_the_position) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "sigterm_restart", &x, NULL);
  lbot_start(&b, "", true);
  REQUIRE(step_bars(&x, &b, 200, "stop confirmed") >= 0);
  char q[32];
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  char *out = lbot_stdout(&b);
  CHECK_CONTAINS(out, "keeps its stop on the exchange");
  free(out);
  /* the position and its stop stay on the exchange */
  CHECK(strcmp(position_qty(&x, q, sizeof q), "0") != 0);
  CHECK_EQ(algo_open(&x), 1);
  CHECK_EQ(lbot_sql_long(&b, "SELECT COUNT(*) FROM positions WHERE state = 'OPEN'"), 1);
  long orders_before = lbot_sql_long(&b, "SELECT COUNT(*) FROM orders");
  /* restart: adopted, nothing placed again */
  lbot_start(&b, "", true);
  REQUIRE(lbot_wait_log(&b, "adopted", 1, BOT_WAIT_MS));
  REQUIRE(lbot_wait_log(&b, "running: live mode", 2, BOT_WAIT_MS));
  CHECK_EQ(lbot_sql_long(&b, "SELECT COUNT(*) FROM orders"), orders_before);
  CHECK_EQ(algo_open(&x), 1);
  CHECK_EQ(fills_of(&x, "lb-1-E"), 1);
  json_t *s = NULL;
  for (int i = 0; i < 400; i++) { /* the snapshot follows the engine within an iteration */
    json_decref(s);
    s = lbot_json(&b, "/status");
    if (s && strcmp(json_string_value(json_object_get(s, "state")), "in_position") == 0) break;
    ms_sleep(5);
  }
  CHECK_STREQ(json_string_value(json_object_get(s, "state")), "in_position");
  CHECK(json_is_true(json_object_get(json_object_get(s, "position"), "stop_on_exchange")));
  json_decref(s);
  /* and it carries the trade to its end */
  CHECK(step_bars(&x, &b, 300, "closed: BTCUSDT") > 0);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  check_store_matches_exsim(&b, &x);
  /* The adopted trade kept the plan its row recorded at the entry: this
   * run's own report (the engine's R) and levbot report agree. */
  CHECK_EQ(lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE status = 'CLOSED' AND "
                             "loss_at_stop IS NOT NULL AND planned_rr IS NOT NULL"),
           1);
  char run_exp[256], db_exp[256];
  out = lbot_stdout(&b);
  text_line(out, "Expectancy", run_exp, sizeof run_exp);
  free(out);
  REQUIRE(run_exp[0] != '\0');
  CHECK_NOT_CONTAINS(run_exp, "unknown");
  CHECK_EQ(lbot_cli(&b, "report", &out), 0);
  CHECK_STREQ(text_line(out, "Expectancy", db_exp, sizeof db_exp), run_exp);
  free(out);
  xsim_stop(&x);
}

TEST(bot_killed_between_entry_and_stop_places_the_stop_at_restart) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "kill_before_stop", &x, NULL);
  lbot_start(&b, "", true);
  /* the entry is executed at once but its answer is held back: the bot
   * cannot have sent a stop when it is killed */
  xsim_faults(&x, "{\"latency_ms\": {\"POST /fapi/v1/order\": 4000}}");
  REQUIRE(step_bars(&x, &b, 200, "entry sent") >= 0);
  REQUIRE(lbot_wait_log(&b, "entry sent", 1, BOT_WAIT_MS));
  char q[32];
  for (int i = 0; i < 400 && strcmp(position_qty(&x, q, sizeof q), "0") == 0; i++) ms_sleep(5);
  CHECK_EQ(lbot_signal(&b, SIGKILL, BOT_WAIT_MS), -1);
  xsim_faults(&x, NULL);
  CHECK(strcmp(position_qty(&x, q, sizeof q), "0") != 0);
  CHECK_EQ(algo_open(&x), 0); /* open and unprotected */
  lbot_start(&b, "", true);
  REQUIRE(lbot_wait_log(&b, "recovery done", 1, BOT_WAIT_MS));
  CHECK_EQ(lbot_count(&b, "had no stop: placed"), 0); /* that line is on stdout */
  char *out = lbot_stdout(&b);
  CHECK_CONTAINS(out, "had no stop: placed lb-1-S");
  free(out);
  CHECK_EQ(algo_open(&x), 1);
  CHECK_EQ(fills_of(&x, "lb-1-E"), 1); /* no second entry */
  json_t *st = xsim_state(&x);
  size_t i;
  json_t *u;
  bool closed_interval = false;
  json_array_foreach(json_object_get(st, "unprotected"), i, u)
    closed_interval |= json_integer_value(json_object_get(u, "end")) != 0;
  CHECK(closed_interval);
  json_decref(st);
  CHECK_EQ(lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE status = 'OPEN'"), 1);
  /* the plan died with the process (no stop was placed): unknown, not invented */
  CHECK_EQ(lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE initial_stop IS NULL AND "
                             "loss_at_stop IS NULL AND planned_rr IS NULL"),
           1);
  CHECK_EQ(lbot_sql_long(&b, "SELECT COUNT(*) FROM fills WHERE order_client_id = 'lb-1-E'"), 1);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  check_store_matches_exsim(&b, &x);
  xsim_stop(&x);
}

TEST(bot_killed_right_after_the_stop_is_confirmed_keeps_that_stop) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "kill_after_stop", &x, NULL);
  lbot_start(&b, "", true);
  REQUIRE(step_bars(&x, &b, 200, "stop confirmed") >= 0);
  CHECK_EQ(lbot_signal(&b, SIGKILL, BOT_WAIT_MS), -1);
  CHECK_EQ(algo_open(&x), 1);
  /* Stops only: the kill may come before the take-profit left, and the
   * restart then rightly places it. */
  long stops_before = algo_stops(&x, false);
  lbot_start(&b, "", true);
  REQUIRE(lbot_wait_log(&b, "adopted", 1, BOT_WAIT_MS));
  CHECK_EQ(algo_stops(&x, false), stops_before); /* no stop placed again */
  CHECK_EQ(algo_open(&x), 1);
  CHECK_EQ(fills_of(&x, "lb-1-E"), 1);
  CHECK_EQ(lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE status = 'OPEN'"), 1);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  check_store_matches_exsim(&b, &x);
  xsim_stop(&x);
}

TEST(bot_trade_closed_while_down_is_booked_from_the_exchange_fills) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "closed_while_down", &x, NULL);
  lbot_start(&b, "", true);
  REQUIRE(step_bars(&x, &b, 200, "stop confirmed") >= 0);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  /* while the bot is away the mark runs through its stop */
  json_t *st = xsim_state(&x);
  const json_t *sym = json_array_get(json_object_get(st, "symbols"), 0);
  bool is_short = json_string_value(json_object_get(sym, "pos"))[0] == '-';
  double mark = strtod(json_string_value(json_object_get(sym, "mark")), NULL);
  json_decref(st);
  char pq[128];
  snprintf(pq, sizeof pq, "/_exsim/mark?symbol=BTCUSDT&price=%.1f", mark * (is_short ? 1.05 : 0.95));
  json_decref(xsim_ctl(&x, "POST", pq, NULL));
  char q[32];
  CHECK_STREQ(position_qty(&x, q, sizeof q), "0");
  lbot_start(&b, "", true);
  REQUIRE(lbot_wait_log(&b, "closed while levbot was down", 1, BOT_WAIT_MS));
  char *reason = lbot_sql(&b, "SELECT exit_reason FROM trades WHERE id = 'lb-1-E'");
  CHECK_STREQ(reason, "stop_loss");
  free(reason);
  CHECK_EQ(lbot_sql_long(&b, "SELECT COUNT(*) FROM positions WHERE state <> 'FLAT'"), 0);
  json_t *s = lbot_json(&b, "/status"); /* recovery is over before the server says anything but starting */
  CHECK(json_is_null(json_object_get(s, "position")));
  json_decref(s);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  check_store_matches_exsim(&b, &x); /* the stop's fill came from the exchange's history */
  xsim_stop(&x);
}

TEST(bot_reconciles_a_stop_filled_while_the_user_stream_was_down) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "reconcile", &x, (const char *const[]){"RECONCILE_SECONDS=5", NULL});
  lbot_start(&b, "", true);
  REQUIRE(step_bars(&x, &b, 200, "stop confirmed") >= 0);
  /* the user-data stream goes away (and stays away for a while) */
  xsim_faults(&x, "{\"ws_refuse_ms\": 1500}");
  json_decref(xsim_ctl(&x, "POST", "/_exsim/ws/drop?which=user", NULL));
  REQUIRE(lbot_wait_log(&b, "user-data stream down", 1, BOT_WAIT_MS));
  json_t *st = xsim_state(&x);
  const json_t *sym = json_array_get(json_object_get(st, "symbols"), 0);
  bool is_short = json_string_value(json_object_get(sym, "pos"))[0] == '-';
  double mark = strtod(json_string_value(json_object_get(sym, "mark")), NULL);
  json_decref(st);
  char pq[128];
  snprintf(pq, sizeof pq, "/_exsim/mark?symbol=BTCUSDT&price=%.1f", mark * (is_short ? 1.05 : 0.95));
  json_decref(xsim_ctl(&x, "POST", pq, NULL));
  /* when it is back the bot asks the exchange and books the exit */
  REQUIRE(lbot_wait_log(&b, "closed: BTCUSDT", 1, BOT_WAIT_MS));
  CHECK(lbot_count(&b, "reconciliation") >= 1);
  char *reason = lbot_sql(&b, "SELECT exit_reason FROM trades WHERE id = 'lb-1-E'");
  for (int i = 0; i < 200 && (!reason || strcmp(reason, "stop_loss") != 0); i++) {
    free(reason);
    ms_sleep(10);
    reason = lbot_sql(&b, "SELECT exit_reason FROM trades WHERE id = 'lb-1-E'");
  }
  CHECK_STREQ(reason, "stop_loss");
  free(reason);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  check_store_matches_exsim(&b, &x);
  xsim_stop(&x);
}

TEST(bot_live_mode_is_refused_without_confirmation_or_keys) {
  lbot b;
  lbot_init(&b, "refused", NULL, (const char *const[]){"USE_PAPER_TRADING=false", NULL});
  char *out = NULL;
  CHECK_EQ(lbot_cli(&b, "run", &out), 7); /* not confirmed */
  CHECK_CONTAINS(out, "--live");
  free(out);
  CHECK_EQ(lbot_cli(&b, "run --live", &out), 7); /* no keys */
  CHECK_CONTAINS(out, "BINANCE_API_KEY");
  free(out);
  lbot c;
  lbot_init(&c, "refused_paper", NULL, NULL);
  CHECK_EQ(lbot_cli(&c, "run --live", &out), 7); /* USE_PAPER_TRADING=true */
  CHECK_CONTAINS(out, "USE_PAPER_TRADING=false");
  free(out);
  lbot d;
  lbot_init(&d, "refused_keys", NULL, (const char *const[]){"USE_PAPER_TRADING=false", "CONFIRM_LIVE_TRADING=true", NULL});
  CHECK_EQ(lbot_cli(&d, "run", &out), 7);
  CHECK_CONTAINS(out, "needs BINANCE_API_KEY and BINANCE_API_SECRET");
  free(out);
  /* nothing was created: no database for a refused start */
  char path[800];
  snprintf(path, sizeof path, "%s/bot.db", b.dir);
  CHECK(access(path, 0) != 0);
}

TEST(bot_a_second_bot_on_the_same_database_is_refused) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "second_bot", &x, NULL);
  lbot_start(&b, "", true);
  char *out = NULL;
  CHECK_EQ(lbot_cli(&b, "run", &out), 7);
  CHECK_CONTAINS(out, "another levbot");
  free(out);
  /* the first one is unharmed */
  json_t *h = lbot_json(&b, "/health");
  CHECK_STREQ(json_string_value(json_object_get(h, "status")), "healthy");
  json_decref(h);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  xsim_stop(&x);
}

TEST(bot_recovery_protects_the_position_through_exchange_errors) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "recover_faults", &x, NULL);
  lbot_start(&b, "", true);
  xsim_faults(&x, "{\"latency_ms\": {\"POST /fapi/v1/order\": 4000}}");
  REQUIRE(step_bars(&x, &b, 200, "entry sent") >= 0);
  char q[32];
  for (int i = 0; i < 400 && strcmp(position_qty(&x, q, sizeof q), "0") == 0; i++) ms_sleep(5);
  CHECK_EQ(lbot_signal(&b, SIGKILL, BOT_WAIT_MS), -1);
  /* a fifth of every request fails before it is executed */
  xsim_faults(&x, NULL);
  xsim_faults(&x, "{\"error_rate\": {\"*\": 0.2}, \"error_status\": 503}");
  /* protected means: a stop open on the exchange, or the position closed */
  int starts = 0;
  while (algo_open(&x) == 0 && strcmp(position_qty(&x, q, sizeof q), "0") != 0 && starts < 4) {
    starts++;
    lbot_start(&b, "", false);
    /* recovery protects first; the start may still fail after it (exit 6):
     * like a service manager, start it again */
    for (int i = 0; i < BOT_WAIT_MS / 10 && algo_open(&x) == 0 &&
                    strcmp(position_qty(&x, q, sizeof q), "0") != 0 && lbot_wait(&b, 10) == -2;
         i++) {
    }
  }
  bool stop_open = algo_open(&x) == 1;
  bool flat = strcmp(position_qty(&x, q, sizeof q), "0") == 0;
  CHECK(stop_open != flat);
  CHECK_EQ(fills_of(&x, "lb-1-E"), 1);
  if (b.pid > 0) lbot_signal(&b, SIGKILL, BOT_WAIT_MS);
  xsim_faults(&x, NULL);
  lbot_start(&b, "", true); /* a clean start settles the books */
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  if (flat) {
    char *reason = lbot_sql(&b, "SELECT exit_reason FROM trades WHERE id = 'lb-1-E'");
    CHECK_STREQ(reason, "no_stop");
    free(reason);
  }
  json_t *st = xsim_state(&x);
  size_t i;
  json_t *u;
  json_array_foreach(json_object_get(st, "unprotected"), i, u)
    CHECK(json_integer_value(json_object_get(u, "end")) != 0); /* none still open */
  json_decref(st);
  check_store_matches_exsim(&b, &x);
  xsim_stop(&x);
}
