/* test_cli.c -- `levbot backtest` and `levbot run --paper --replay` driven as a user runs them.
 *
 * Each test runs the built binary in a fresh directory with an empty
 * environment (no .env, no stray variables), then reads what it printed and
 * wrote back: exit codes, the report, the JSON (parsed), the CSV and the
 * HTML.
 */
#include <jansson.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "core/buf.h"
#include "core/money.h"
#include "unit.h"

typedef struct {
  int code;
  char *out, *err;
} result;

static char *slurp(const char *path) {
  lb_buf b;
  lb_buf_init(&b);
  lb_errbuf eb;
  if (lb_buf_read_file(&b, path, 0, &eb) != LB_OK) {
    lb_buf_free(&b);
    return NULL;
  }
  return lb_buf_steal(&b);
}

/* Runs `levbot ARGS` in the test's directory with `env` as the whole
 * environment. */
static result levbot(const char *env, const char *args) {
  result r = {-1, NULL, NULL};
  const char *dir = lbt_tmpdir();
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cd '%s' && env -i PATH=/usr/bin:/bin %s '%s' %s >out.txt 2>err.txt </dev/null",
           dir, env ? env : "", lbt_binary_path("levbot"), args);
  int st = system(cmd);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  char p[1024];
  snprintf(p, sizeof p, "%s/out.txt", dir);
  r.out = slurp(p);
  snprintf(p, sizeof p, "%s/err.txt", dir);
  r.err = slurp(p);
  if (!r.out) r.out = calloc(1, 1);
  if (!r.err) r.err = calloc(1, 1);
  return r;
}

static void done(result *r) {
  free(r->out);
  free(r->err);
}

static const char *in_dir(const char *name) {
  static char buf[4][1024];
  static int slot;
  char *b = buf[slot++ % 4];
  snprintf(b, 1024, "%s/%s", lbt_tmpdir(), name);
  return b;
}

#define MONTH "data/binance-um/BTCUSDT-5m-2022-04.csv"

TEST(cli_backtest_prints_the_report_and_writes_json_csv_html) {
  char args[2048];
  snprintf(args, sizeof args,
           "backtest --data '%s' --json bt.json --trades bt.csv --html bt.html --breakdown week",
           lbt_source_path(MONTH));
  result r = levbot(NULL, args);
  CHECK_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "levbot backtest  2022-04-01 00:00 .. 2022-05-01 00:00 UTC  (30.0 days, 8640 candles of 5m)");
  CHECK_CONTAINS(r.out, "SUMMARY");
  CHECK_CONTAINS(r.out, "Sharpe / Sortino / Calmar");
  CHECK_CONTAINS(r.out, "Max drawdown");
  CHECK_CONTAINS(r.out, "PER SYMBOL");
  CHECK_CONTAINS(r.out, "PER EXIT REASON");
  CHECK_CONTAINS(r.out, "LEFT OPEN AT THE END");
  CHECK_CONTAINS(r.out, "DECISIONS");
  CHECK_CONTAINS(r.out, "BREAKDOWN BY WEEK");
  CHECK_NOT_CONTAINS(r.out, "BREAKDOWN BY DAY");
  CHECK_NOT_CONTAINS(r.err, "[#"); /* no progress bar when stderr is not a terminal */

  char *json = slurp(in_dir("bt.json"));
  REQUIRE(json);
  json_t *root = json_loads(json, 0, NULL);
  REQUIRE(root);
  json_t *sum = json_object_get(root, "summary");
  int trades = (int)json_integer_value(json_object_get(sum, "trades"));
  int open = (int)json_array_size(json_object_get(root, "open_trades"));
  CHECK(trades >= 1);
  CHECK_EQ(json_array_size(json_object_get(root, "trades")), trades);
  CHECK_EQ(json_integer_value(json_object_get(json_object_get(root, "run"), "candles")), 8640);
  CHECK_EQ(json_integer_value(json_object_get(sum, "liquidations")), 0);
  /* the ledger from the JSON alone: final - initial == sum of every trade's net */
  lb_dec initial, final, sum_net = 0;
  REQUIRE_OK(lb_dec_parse(json_string_value(json_object_get(sum, "initial_capital")), &initial));
  REQUIRE_OK(lb_dec_parse(json_string_value(json_object_get(sum, "final_capital")), &final));
  const char *lists[] = {"trades", "open_trades"};
  for (int k = 0; k < 2; k++) {
    json_t *a = json_object_get(root, lists[k]);
    for (size_t i = 0; i < json_array_size(a); i++) {
      lb_dec net;
      REQUIRE_OK(lb_dec_parse(json_string_value(json_object_get(json_array_get(a, i), "net_pnl")), &net));
      sum_net += net;
    }
  }
  CHECK_EQ(final - initial, sum_net);
  json_decref(root);
  free(json);

  char *csv = slurp(in_dir("bt.csv"));
  REQUIRE(csv);
  int lines = 0;
  for (const char *p = csv; *p; p++) lines += *p == '\n';
  CHECK_EQ(lines, 1 + trades + open);
  free(csv);
  char *html = slurp(in_dir("bt.html"));
  REQUIRE(html);
  CHECK_CONTAINS(html, "<svg");
  CHECK_CONTAINS(html, "Drawdown");
  CHECK_NOT_CONTAINS(html, "http");
  free(html);
  done(&r);
}

TEST(cli_backtest_json_is_byte_identical_across_runs) {
  char args[2048];
  snprintf(args, sizeof args, "backtest --quiet --data '%s' --json one.json", lbt_source_path(MONTH));
  result a = levbot(NULL, args);
  CHECK_EQ(a.code, 0);
  CHECK_STREQ(a.out, ""); /* --quiet */
  snprintf(args, sizeof args, "backtest --quiet --data '%s' --json two.json", lbt_source_path(MONTH));
  result b = levbot(NULL, args);
  CHECK_EQ(b.code, 0);
  char *x = slurp(in_dir("one.json")), *y = slurp(in_dir("two.json"));
  REQUIRE(x && y);
  CHECK(strlen(x) > 10000);
  CHECK(strcmp(x, y) == 0);
  free(x);
  free(y);
  done(&a);
  done(&b);
}

TEST(cli_backtest_period_timeframe_and_config_file_options) {
  FILE *f = fopen(in_dir("my.env"), "w");
  REQUIRE(f);
  fprintf(f, "INITIAL_CAPITAL=1000\nMAX_LEVERAGE=2\n");
  fclose(f);
  char args[2048];
  snprintf(args, sizeof args,
           "backtest --quiet --config my.env --data '%s' --from 2022-04-10 --to 2022-04-20 "
           "--timeframe 1h --json p.json",
           lbt_source_path(MONTH));
  result r = levbot(NULL, args);
  CHECK_EQ(r.code, 0);
  char *json = slurp(in_dir("p.json"));
  REQUIRE(json);
  json_t *root = json_loads(json, 0, NULL);
  REQUIRE(root);
  json_t *run = json_object_get(root, "run");
  CHECK_EQ(json_integer_value(json_object_get(run, "candles")), 10 * 288);
  CHECK_STREQ(json_string_value(json_object_get(run, "start")), "2022-04-10T00:00:00.000Z");
  CHECK_STREQ(json_string_value(json_object_get(run, "timeframes")), "1h,4h");
  CHECK_STREQ(json_string_value(json_object_get(run, "initial_capital")), "1000");
  CHECK_EQ(json_integer_value(json_object_get(run, "max_leverage")), 2);
  json_t *trades = json_object_get(root, "trades");
  for (size_t i = 0; i < json_array_size(trades); i++)
    CHECK(json_integer_value(json_object_get(json_array_get(trades, i), "leverage")) <= 2);
  json_decref(root);
  free(json);
  done(&r);
}

TEST(cli_backtest_errors_have_exit_codes_and_name_the_problem) {
  result r = levbot(NULL, "backtest");
  CHECK_EQ(r.code, 2);
  CHECK_CONTAINS(r.err, "--data FILE... is required");
  done(&r);
  r = levbot(NULL, "backtest --data /nonexistent/BTCUSDT-1m.csv");
  CHECK_EQ(r.code, 4);
  CHECK_CONTAINS(r.err, "/nonexistent/BTCUSDT-1m.csv");
  done(&r);
  FILE *f = fopen(in_dir("BTCUSDT-bad.csv"), "w");
  REQUIRE(f);
  fprintf(f, "ts,open,high,low,close,volume\n1651622400000,100,101,99,100,5\n1651622460000,100,99,101,100,5\n");
  fclose(f);
  r = levbot(NULL, "backtest --data BTCUSDT-bad.csv");
  CHECK_EQ(r.code, 4);
  CHECK_CONTAINS(r.err, "BTCUSDT-bad.csv");
  CHECK_CONTAINS(r.err, "line 3");
  done(&r);
  char args[2048];
  snprintf(args, sizeof args, "backtest --data '%s' --timeframe 7m", lbt_source_path(MONTH));
  r = levbot(NULL, args);
  CHECK_EQ(r.code, 2);
  CHECK_CONTAINS(r.err, "7m");
  done(&r);
  snprintf(args, sizeof args, "backtest --data '%s' --breakdown year", lbt_source_path(MONTH));
  r = levbot(NULL, args);
  CHECK_EQ(r.code, 2);
  done(&r);
  snprintf(args, sizeof args, "backtest --data '%s' --bogus", lbt_source_path(MONTH));
  r = levbot(NULL, args);
  CHECK_EQ(r.code, 2);
  CHECK_CONTAINS(r.err, "unknown option --bogus");
  done(&r);
  /* configuration errors: every one listed, exit 3 */
  snprintf(args, sizeof args, "backtest --data '%s'", lbt_source_path(MONTH));
  r = levbot("ENTRY_TIMEFRAME=7m TIMEFRAMES=15m,1h,2h,4h,1d REDFLAG_RSI_LOW=50 REDFLAG_RSI_HIGH=50", args);
  CHECK_EQ(r.code, 3);
  CHECK_CONTAINS(r.err, "ENTRY_TIMEFRAME=7m is not a timeframe");
  CHECK_CONTAINS(r.err, "REDFLAG_RSI_LOW=50 is not below REDFLAG_RSI_HIGH=50");
  done(&r);
  r = levbot("TIMEFRAMES=1h,2h,4h,1d", args);
  CHECK_EQ(r.code, 3);
  CHECK_CONTAINS(r.err, "has 4 timeframes above ENTRY_TIMEFRAME=15m");
  done(&r);
  r = levbot(NULL, "backtest --help");
  CHECK_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "Usage: levbot backtest --data FILE...");
  done(&r);
}

TEST(cli_run_paper_replay_shows_the_bot_trading_and_its_report) {
  char args[2048];
  snprintf(args, sizeof args, "run --paper --replay '%s' --speed max", lbt_source_path(MONTH));
  result r = levbot(NULL, args);
  CHECK_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "levbot paper trading on a replay");
  CHECK_CONTAINS(r.out, "scan   BTCUSDT");
  CHECK_CONTAINS(r.out, "OPEN   #1 BTCUSDT");
  CHECK_CONTAINS(r.out, "CLOSE  #1 BTCUSDT");
  CHECK_CONTAINS(r.out, "replay finished after 8640 candles");
  CHECK_CONTAINS(r.out, "SUMMARY");
  done(&r);
  r = levbot(NULL, "run --live"); /* USE_PAPER_TRADING is true: live is refused */
  CHECK_EQ(r.code, 7);
  CHECK_CONTAINS(r.err, "--live needs USE_PAPER_TRADING=false");
  done(&r);
  r = levbot(NULL, "run --paper --funding x.csv");
  CHECK_EQ(r.code, 2);
  CHECK_CONTAINS(r.err, "go with --replay");
  done(&r);
  r = levbot(NULL, "run --paper --replay x.csv --speed 0.5");
  CHECK_EQ(r.code, 2);
  CHECK_CONTAINS(r.err, "--speed 0.5");
  done(&r);
}
