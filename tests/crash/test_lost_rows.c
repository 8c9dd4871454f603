/* test_lost_rows.c -- a kill that loses the queued rows of orders already sent: recovery writes them from the exchange.
 *
 * Only an entry's order row is written durably before it is sent; a stop's
 * or a take-profit's row is queued (the stop-loss path never waits for the
 * database), so a SIGKILL right after `stop confirmed` can lose it.  The
 * crash test met this (seed 20261126: a stop that filled while the bot was
 * down had no row, so its fill was refused by the fills -> orders foreign
 * key).  These tests lose the rows on purpose, deterministically: the bot
 * is killed after its stop and take-profit are on exsim and the two rows
 * are deleted from its SQLite database before the restart.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit.h"

/* A trade with its stop and take-profit on exsim, the bot killed, and the
 * two orders' rows gone from its database. */
static void trade_then_lose_rows(xsim *x, lbot *b, const char *name) {
  xsim_start(x, NULL);
  lbot_init(b, name, x, NULL);
  lbot_start(b, "", true);
  REQUIRE(step_bars(x, b, 200, "order answered: cid=lb-1-T") >= 0);
  REQUIRE(lbot_wait_log(b, "order answered: cid=lb-1-T", 1, BOT_WAIT_MS));
  CHECK_EQ(lbot_signal(b, SIGKILL, BOT_WAIT_MS), -1);
  lbot_sql_exec(b, "DELETE FROM orders WHERE client_id IN ('lb-1-S1', 'lb-1-T')");
  CHECK_EQ(lbot_sql_long(b, "SELECT COUNT(*) FROM orders WHERE client_id IN ('lb-1-S1', 'lb-1-T')"), 0);
}

/* The mark through the stop of the open position. */
static void run_through_stop(xsim *x) {
  json_t *st = xsim_state(x);
  const json_t *sym = json_array_get(json_object_get(st, "symbols"), 0);
  bool is_short = json_string_value(json_object_get(sym, "pos"))[0] == '-';
  double mark = strtod(json_string_value(json_object_get(sym, "mark")), NULL);
  json_decref(st);
  char pq[128];
  snprintf(pq, sizeof pq, "/_exsim/mark?symbol=BTCUSDT&price=%.1f", mark * (is_short ? 1.05 : 0.95));
  json_decref(xsim_ctl(x, "POST", pq, NULL));
}

/* exsim's trigger of an algo order. */
static lb_dec exsim_trigger(xsim *x, const char *cid) {
  json_t *st = xsim_state(x);
  size_t i;
  json_t *a;
  lb_dec t = 0;
  json_array_foreach(json_object_get(st, "algo_orders"), i, a)
    if (strcmp(json_string_value(json_object_get(a, "client_id")), cid) == 0) t = jdec(a, "trigger");
  json_decref(st);
  return t;
}

TEST(crash_stop_filled_while_down_without_its_row_is_booked_from_the_exchange) {
  xsim x;
  lbot b;
  trade_then_lose_rows(&x, &b, "lost_rows_closed");
  run_through_stop(&x);
  lbot_start(&b, "", true);
  REQUIRE(lbot_wait_log(&b, "closed while levbot was down", 1, BOT_WAIT_MS));
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  CHECK_EQ(lbot_count(&b, "refused a write"), 0);
  /* both rows are back, with exsim's trigger prices and final statuses */
  char *st = lbot_sql(&b, "SELECT status FROM orders WHERE client_id = 'lb-1-S1'");
  CHECK_STREQ(st, "FILLED");
  free(st);
  st = lbot_sql(&b, "SELECT status FROM orders WHERE client_id = 'lb-1-T'");
  CHECK_STREQ(st, "CANCELED");
  free(st);
  char *trig = lbot_sql(&b, "SELECT trigger_price FROM orders WHERE client_id = 'lb-1-S1'");
  CHECK(exsim_trigger(&x, "lb-1-S1") > 0);
  CHECK_EQ(dec_of(trig), exsim_trigger(&x, "lb-1-S1"));
  free(trig);
  char *reason = lbot_sql(&b, "SELECT exit_reason FROM trades WHERE id = 'lb-1-E'");
  CHECK_STREQ(reason, "stop_loss");
  free(reason);
  check_store_matches_exsim(&b, &x); /* the stop's fill is a row */
  xsim_stop(&x);
}

TEST(crash_adopted_stop_without_its_row_fills_into_the_store) {
  xsim x;
  lbot b;
  trade_then_lose_rows(&x, &b, "lost_rows_adopted");
  lbot_start(&b, "", true);
  REQUIRE(lbot_wait_log(&b, "adopted", 1, BOT_WAIT_MS));
  char *trig = lbot_sql(&b, "SELECT trigger_price FROM orders WHERE client_id = 'lb-1-S1'");
  CHECK_EQ(dec_of(trig), exsim_trigger(&x, "lb-1-S1"));
  free(trig);
  /* the adopted stop fills while the bot runs: the engine books it */
  run_through_stop(&x);
  REQUIRE(lbot_wait_log(&b, "closed: BTCUSDT", 1, BOT_WAIT_MS));
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  CHECK_EQ(lbot_count(&b, "refused a write"), 0);
  check_store_matches_exsim(&b, &x);
  xsim_stop(&x);
}

/* The positions row is written after the trade's close: a kill between
 * the two leaves the row naming a trade the database has closed. */
TEST(crash_trade_closed_before_the_kill_is_not_closed_again) {
  xsim x;
  xsim_start(&x, NULL);
  lbot b;
  lbot_init(&b, "lost_rows_flat", &x, NULL);
  lbot_start(&b, "", true);
  REQUIRE(step_bars(&x, &b, 300, "closed: BTCUSDT") > 0);
  const char *row_sql = "SELECT status || ' ' || exit_reason || ' ' || exit_price || ' ' || realized_pnl || ' ' || "
                        "fees || ' ' || funding || ' ' || closed_at FROM trades WHERE id = 'lb-1-E'";
  char *before = NULL;
  for (int i = 0; i < 400 && (!before || strncmp(before, "CLOSED", 6) != 0); i++) {
    free(before);
    ms_sleep(5);
    before = lbot_sql(&b, row_sql);
  }
  REQUIRE(before != NULL);
  CHECK_EQ(lbot_signal(&b, SIGKILL, BOT_WAIT_MS), -1);
  lbot_sql_exec(&b, "UPDATE positions SET state = 'EXITING', trade_id = 'lb-1-E' WHERE symbol = 'BTCUSDT'");
  lbot_start(&b, "", true);
  REQUIRE(lbot_wait_log(&b, "recovery done", 2, BOT_WAIT_MS));
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  CHECK_EQ(lbot_count(&b, "refused a write"), 0);
  CHECK_EQ(lbot_count(&b, "closed while levbot was down"), 0);
  CHECK_EQ(lbot_count(&b, "trade 1 on BTCUSDT was booked closed before the restart"), 1);
  char *after = lbot_sql(&b, row_sql);
  CHECK_STREQ(after, before); /* the close the engine booked stands, funding untouched */
  free(before);
  free(after);
  char *state = lbot_sql(&b, "SELECT state FROM positions WHERE symbol = 'BTCUSDT'");
  CHECK_STREQ(state, "FLAT");
  free(state);
  check_store_matches_exsim(&b, &x);
  xsim_stop(&x);
}
