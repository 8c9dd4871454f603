/* test_cli.c -- `levbot status` and `levbot report` read what `levbot run` recorded; PostgreSQL.
 *
 * The figures are checked against the database itself (read here with
 * SQLite's or libpq's own API), not against the bot's output.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "stubs.h"
#include "unit.h"

static lb_dec sum_net(lbot *b) {
  lb_dec net = 0;
  for (long row = 0;; row++) {
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT realized_pnl || ' ' || fees || ' ' || funding FROM trades "
                              "WHERE status = 'CLOSED' ORDER BY id LIMIT 1 OFFSET %ld", row);
    char *v = lbot_sql(b, sql);
    if (!v) break;
    char a[64], c[64], d[64];
    if (sscanf(v, "%63s %63s %63s", a, c, d) == 3) net += dec_of(a) - dec_of(c) + dec_of(d);
    free(v);
  }
  return net;
}

TEST(bot_status_and_report_read_what_the_run_recorded) {
  lbot b;
  lbot_init(&b, "cli_status", NULL, NULL);
  char *out = NULL;
  CHECK_EQ(lbot_cli(&b, "report", &out), 5); /* no database yet */
  free(out);
  char args[1024];
  snprintf(args, sizeof args, "run --paper --replay %s --speed max --quiet", lbt_source_path(MONTH_5M));
  CHECK_EQ(lbot_cli(&b, args, &out), 0);
  free(out);
  long closed = lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE status = 'CLOSED'");
  REQUIRE(closed >= 2);
  lb_dec net = sum_net(&b);
  /* status --json */
  CHECK_EQ(lbot_cli(&b, "status --json", &out), 0);
  const char *brace = strchr(out, '{');
  json_error_t je;
  json_t *s = brace ? json_loads(brace, 0, &je) : NULL;
  REQUIRE(s != NULL);
  free(out);
  CHECK_STREQ(json_string_value(json_object_get(s, "mode")), "paper");
  CHECK_EQ(json_integer_value(json_object_get(s, "closed_trades")), closed);
  CHECK_EQ(jdec(s, "total_pnl"), net);
  char *cap = lbot_sql(&b, "SELECT current_capital FROM trading_config");
  CHECK_EQ(jdec(s, "capital"), dec_of(cap));
  free(cap);
  long open = lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE status = 'OPEN'");
  CHECK_EQ(json_is_null(json_object_get(s, "position")), open == 0);
  json_decref(s);
  /* status as text */
  CHECK_EQ(lbot_cli(&b, "status", &out), 0);
  CHECK_CONTAINS(out, "capital");
  CHECK_CONTAINS(out, "paper trading");
  free(out);
  /* report: the backtest's figures over the recorded trades */
  char json_path[800];
  snprintf(json_path, sizeof json_path, "%s/report.json", b.dir);
  char rargs[1024];
  snprintf(rargs, sizeof rargs, "report --json %s", json_path);
  CHECK_EQ(lbot_cli(&b, rargs, &out), 0);
  CHECK_CONTAINS(out, "levbot report");
  CHECK_CONTAINS(out, "SUMMARY");
  free(out);
  json_t *r = json_load_file(json_path, 0, &je);
  REQUIRE(r != NULL);
  json_t *trades = json_object_get(r, "trades");
  CHECK_EQ((long)json_array_size(trades), closed);
  lb_dec rnet = 0;
  size_t i;
  json_t *t;
  json_array_foreach(trades, i, t) rnet += jdec(t, "net_pnl");
  CHECK_EQ(rnet, net);
  json_decref(r);
  CHECK_EQ(lbot_cli(&b, "report --from 2030-01-01", &out), 0);
  CHECK_CONTAINS(out, "no trade closed");
  free(out);
  CHECK_EQ(lbot_cli(&b, "report --from yesterday", &out), 2);
  free(out);
}

TEST(bot_status_works_beside_a_running_bot) {
  lbot b;
  lbot_init(&b, "cli_beside", NULL, NULL);
  char args[1024];
  snprintf(args, sizeof args, "--paper --replay %s --speed 600", lbt_source_path(MONTH_5M));
  lbot_start(&b, args, true);
  char *out = NULL;
  CHECK_EQ(lbot_cli(&b, "status", &out), 0); /* no instance lock needed */
  CHECK_CONTAINS(out, "levbot status");
  free(out);
  CHECK_EQ(lbot_signal(&b, SIGINT, BOT_WAIT_MS), 0);
}

/* ==== PostgreSQL ==== */

TEST(bot_live_on_postgresql_keeps_the_same_ledger) {
  const char *base = getenv("LEVBOT_TEST_PG_URL");
  if (!base || !*base)
    SKIP("LEVBOT_TEST_PG_URL is not set: run under scripts/with-postgres (make check does) to test PostgreSQL");
  char name[64], url[1024], sql[128];
  snprintf(name, sizeof name, "lbbot_%ld", (long)getpid());
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
  lbot_pg_admin(sql);
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
  REQUIRE(lbot_pg_admin(sql));
  /* the same URL with the database replaced */
  snprintf(url, sizeof url, "%s", base);
  char *slash = strrchr(url, '/');
  REQUIRE(slash != NULL);
  snprintf(slash + 1, sizeof url - (size_t)(slash + 1 - url), "%s", name);
  xsim x;
  xsim_start(&x, NULL);
  char db_line[1100];
  snprintf(db_line, sizeof db_line, "DATABASE_URL=%s", url);
  lbot b;
  lbot_init(&b, "postgres", &x, (const char *const[]){db_line, NULL});
  char *out = NULL;
  CHECK_EQ(lbot_cli(&b, "setup-db", &out), 0);
  free(out);
  lbot_start(&b, "", true);
  CHECK(step_bars(&x, &b, 200, "closed: BTCUSDT") > 0);
  REQUIRE(step_bars(&x, &b, 300, "entry sent") >= 0);
  CHECK_EQ(lbot_signal(&b, SIGKILL, BOT_WAIT_MS), -1);
  lbot_start(&b, "", true); /* recovery on PostgreSQL; its advisory lock was freed with the process */
  REQUIRE(lbot_wait_log(&b, "recovery done", 2, BOT_WAIT_MS));
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  check_store_matches_exsim(&b, &x);
  xsim_stop(&x);
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
  lbot_pg_admin(sql);
}

TEST(bot_second_signal_exits_at_once_while_the_first_one_drains) {
  /* a webhook that never answers makes the graceful stop wait for the
   * notifications (up to 5 s): the second signal cuts it short */
  stall s;
  REQUIRE(stall_start(&s));
  char hook[128];
  snprintf(hook, sizeof hook, "WEBHOOK_URL=http://127.0.0.1:%d/hook", s.port);
  lbot b;
  lbot_init(&b, "second_signal", NULL, (const char *const[]){hook, "NOTIFY_TIMEOUT_SECONDS=300", NULL});
  char args[1024];
  snprintf(args, sizeof args, "--paper --replay %s --speed 600", lbt_source_path(MONTH_5M));
  lbot_start(&b, args, true);
  for (int i = 0; i < 400 && atomic_load(&s.accepted) == 0; i++) ms_sleep(5); /* "started" is in flight */
  CHECK(atomic_load(&s.accepted) >= 1);
  kill(b.pid, SIGTERM);
  ms_sleep(200);
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 128 + SIGTERM);
  CHECK(lbot_count(&b, "second signal") == 1);
  stall_free(&s);
}
