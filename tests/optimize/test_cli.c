/* test_cli.c -- `levbot optimize` driven as a user runs it, checked against `levbot backtest`.
 *
 * The ranking is not compared with numbers copied from an earlier run:
 * every combination is backtested again, separately, with
 * `levbot backtest --json` and the combination's values in the
 * environment, and the optimizer's figures must be the same numbers; the
 * order is then recomputed here from those backtests and must be the
 * optimizer's.  The bundled month of 5m BTCUSDT data is used with a
 * configuration under which the grid's values change the trades (stops of
 * 0.5-5 %, so the stop mode matters; a 1.5 reward:risk that the risk rules
 * refuse, so some combinations have no trade at all).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "unit.h"

#define MONTH "data/binance-um/BTCUSDT-5m-2022-04.csv"
#define GRID "STOP_LOSS_MODE=fixed,swing,atr;TAKE_PROFIT_RISK_REWARD=1.5,2,3"

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

static const char *in_dir(const char *name) {
  static char buf[4][1024];
  static int slot;
  char *b = buf[slot++ % 4];
  snprintf(b, 1024, "%s/%s", lbt_tmpdir(), name);
  return b;
}

/* `levbot ARGS` in the test directory with only `env` (and the test's .env file) as configuration. */
static result levbot_with(const char *prefix, const char *env, const char *args) {
  result r = {-1, NULL, NULL};
  FILE *f = fopen(in_dir("opt.env"), "w");
  REQUIRE(f);
  fputs("TIMEFRAMES=15m,1h\nMIN_STOP_LOSS_PERCENT=0.005\nMAX_STOP_LOSS_PERCENT=0.05\nMIN_PROFIT_USD=0.5\n"
        "AI_PROVIDERS=\n", f);
  fclose(f);
  char cmd[8192];
  snprintf(cmd, sizeof cmd,
           "cd '%s' && env -i PATH=/usr/bin:/bin %s %s '%s' %s --env-file opt.env >out.txt 2>err.txt </dev/null",
           lbt_tmpdir(), env ? env : "", prefix ? prefix : "", lbt_binary_path("levbot"), args);
  int st = system(cmd);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  r.out = slurp(in_dir("out.txt"));
  r.err = slurp(in_dir("err.txt"));
  if (!r.out) r.out = calloc(1, 1);
  if (!r.err) r.err = calloc(1, 1);
  return r;
}

static result levbot(const char *env, const char *args) { return levbot_with(NULL, env, args); }

static void done(result *r) {
  free(r->out);
  free(r->err);
}

static json_t *load_json(const char *path) {
  json_error_t e;
  json_t *j = json_load_file(path, 0, &e);
  if (!j) lbt_fail(__FILE__, __LINE__, "%s: %s", path, e.text);
  return j;
}

/* ==== Independent backtests ==== */

static const char *SL[] = {"fixed", "swing", "atr"};
static const char *RR[] = {"1.5", "2", "3"};

/* `levbot backtest --json` of one combination; returns its summary (owned). */
static json_t *backtest(const char *sl, const char *rr, const char *period) {
  char env[256], args[2048];
  snprintf(env, sizeof env, "STOP_LOSS_MODE=%s TAKE_PROFIT_RISK_REWARD=%s", sl, rr);
  snprintf(args, sizeof args, "backtest --data '%s' --json bt.json --quiet %s", lbt_source_path(MONTH),
           period ? period : "");
  result r = levbot(env, args);
  REQUIRE_EQ(r.code, 0);
  done(&r);
  json_t *j = load_json(in_dir("bt.json"));
  REQUIRE(j);
  json_t *s = json_incref(json_object_get(j, "summary"));
  json_decref(j);
  REQUIRE(s);
  return s;
}

/* Same numbers, figure by figure. */
static void check_same_figures(const json_t *opt, const json_t *bt, const char *what) {
  static const char *keys[] = {"trades",        "wins",   "losses",           "win_rate",     "final_capital",
                               "total_profit",  "total_profit_pct", "net_closed_trades", "fees", "funding",
                               "profit_factor", "expectancy", "sharpe", "sortino", "calmar", "cagr_pct",
                               "max_drawdown",  "max_drawdown_pct", "exposure_pct", "liquidations", "open_trades"};
  REQUIRE(opt && bt);
  for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
    json_t *a = json_object_get(opt, keys[i]), *b = json_object_get(bt, keys[i]);
    if (!a || !b || !json_equal(a, b)) {
      char *sa = a ? json_dumps(a, JSON_ENCODE_ANY) : NULL, *sb = b ? json_dumps(b, JSON_ENCODE_ANY) : NULL;
      lbt_fail(__FILE__, __LINE__, "%s: %s is %s in optimize, %s in backtest", what, keys[i], sa ? sa : "missing",
               sb ? sb : "missing");
      free(sa);
      free(sb);
    }
  }
}

typedef struct {
  int combo, trades;
  double v;
} ranked;

static double metric_of(const json_t *s, const char *metric) {
  const json_t *v = json_object_get(s, metric);
  if (strcmp(metric, "total_profit") == 0) return strtod(json_string_value(v), NULL);
  if (json_is_null(v)) { /* the report writes an infinite ratio as null */
    double gp = strtod(json_string_value(json_object_get(s, "gross_profit")), NULL);
    return strcmp(metric, "profit_factor") == 0 && gp > 0 ? INFINITY : 0;
  }
  return json_real_value(v);
}

static int ranked_cmp(const void *pa, const void *pb) {
  const ranked *a = pa, *b = pb;
  int ca = a->trades < 1, cb = b->trades < 1; /* --min-trades 1 (the default) */
  if (ca != cb) return ca - cb;
  if (a->v != b->v) return a->v > b->v ? -1 : 1;
  return a->combo - b->combo;
}

/* The order the combinations must have by `metric`, from the backtests alone. */
static void expected_order(json_t *const *bt, int n, const char *metric, int *order) {
  ranked r[16];
  for (int k = 0; k < n; k++)
    r[k] = (ranked){k, (int)json_integer_value(json_object_get(bt[k], "trades")), metric_of(bt[k], metric)};
  qsort(r, (size_t)n, sizeof r[0], ranked_cmp);
  for (int i = 0; i < n; i++) order[i] = r[i].combo;
}

static int combo_of(const json_t *res) { return (int)json_integer_value(json_object_get(res, "combination")); }

/* The table's rows, in printed order, as combination numbers (values looked up in the grid). */
static int table_order(const char *out, int *order, int max) {
  int n = 0;
  for (const char *p = out; *p && n < max;) {
    const char *nl = strchr(p, '\n');
    size_t len = nl ? (size_t)(nl - p) : strlen(p);
    char line[512], rk[16], sl[32], rr[32];
    snprintf(line, sizeof line, "%.*s", (int)(len < 511 ? len : 511), p);
    if (sscanf(line, "%15s %31s %31s |", rk, sl, rr) == 3 && rk[0] >= '1' && rk[0] <= '9')
      for (int a = 0; a < 3; a++)
        for (int b = 0; b < 3; b++)
          if (strcmp(sl, SL[a]) == 0 && strcmp(rr, RR[b]) == 0) order[n++] = a * 3 + b;
    p += len + (nl ? 1 : 0);
  }
  return n;
}

TEST(cli_optimize_ranks_by_the_same_numbers_as_separate_backtests) {
  char args[2048];
  snprintf(args, sizeof args, "optimize --data '%s' --grid '%s' --json opt.json --top 0", lbt_source_path(MONTH), GRID);
  result r = levbot(NULL, args);
  REQUIRE_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "levbot optimize  9 combinations, ranked by profit_factor");
  CHECK_CONTAINS(r.err, "9 backtests in");
  json_t *opt = load_json(in_dir("opt.json"));
  REQUIRE(opt);
  json_t *results = json_object_get(opt, "results");
  REQUIRE_EQ(json_array_size(results), 9);

  /* Each combination, backtested on its own (grid order: the last variable fastest). */
  json_t *bt[9];
  for (int k = 0; k < 9; k++) bt[k] = backtest(SL[k / 3], RR[k % 3], NULL);
  size_t i;
  json_t *res;
  json_array_foreach(results, i, res) {
    int k = combo_of(res);
    REQUIRE(k >= 0 && k < 9);
    json_t *params = json_object_get(res, "params");
    CHECK_STREQ(json_string_value(json_object_get(params, "STOP_LOSS_MODE")), SL[k / 3]);
    CHECK_STREQ(json_string_value(json_object_get(params, "TAKE_PROFIT_RISK_REWARD")), RR[k % 3]);
    CHECK_EQ(json_integer_value(json_object_get(res, "rank")), (long long)i + 1);
    char what[64];
    snprintf(what, sizeof what, "%s/%s", SL[k / 3], RR[k % 3]);
    check_same_figures(json_object_get(res, "result"), bt[k], what);
  }
  /* The grid matters here: several different outcomes, some with no trade at all. */
  int distinct = 0, no_trade = 0;
  for (int a = 0; a < 9; a++) {
    bool seen = false;
    for (int b = 0; b < a; b++) seen |= json_equal(json_object_get(bt[a], "total_profit"), json_object_get(bt[b], "total_profit"));
    distinct += !seen;
    no_trade += json_integer_value(json_object_get(bt[a], "trades")) == 0;
  }
  CHECK(distinct >= 4);
  CHECK(no_trade >= 1);

  /* The order, recomputed from the backtests, in the JSON and in the table. */
  int want[9], table[9];
  expected_order(bt, 9, "profit_factor", want);
  json_array_foreach(results, i, res) CHECK_EQ(combo_of(res), want[i]);
  REQUIRE_EQ(table_order(r.out, table, 9), 9);
  for (int k = 0; k < 9; k++) CHECK_EQ(table[k], want[k]);
  done(&r);
  json_decref(opt);

  /* The other metrics order the same backtests differently. */
  const char *metrics[] = {"sharpe", "total_profit", "calmar"};
  for (int m = 0; m < 3; m++) {
    snprintf(args, sizeof args, "optimize --data '%s' --grid '%s' --metric %s --json opt.json --quiet",
             lbt_source_path(MONTH), GRID, metrics[m]);
    r = levbot(NULL, args);
    CHECK_EQ(r.code, 0);
    CHECK_STREQ(r.out, "");
    done(&r);
    opt = load_json(in_dir("opt.json"));
    REQUIRE(opt);
    CHECK_STREQ(json_string_value(json_object_get(opt, "metric")), metrics[m]);
    expected_order(bt, 9, metrics[m], want);
    json_array_foreach(json_object_get(opt, "results"), i, res) {
      CHECK_EQ(combo_of(res), want[i]);
      check_same_figures(json_object_get(res, "result"), bt[combo_of(res)], metrics[m]);
    }
    json_decref(opt);
  }
  for (int k = 0; k < 9; k++) json_decref(bt[k]);
}

TEST(cli_optimize_with_a_training_cutoff_reports_the_held_out_period_as_backtest_does) {
  const char *grid = "STOP_LOSS_MODE=fixed,atr;TAKE_PROFIT_RISK_REWARD=2,3";
  const char *sl[] = {"fixed", "atr"}, *rr[] = {"2", "3"};
  char args[2048];
  snprintf(args, sizeof args, "optimize --data '%s' --grid '%s' --train-until 2022-04-20 --metric sharpe --json opt.json",
           lbt_source_path(MONTH), grid);
  result r = levbot(NULL, args);
  REQUIRE_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "training  2022-04-01 00:00 .. 2022-04-20 00:00 UTC  (ranked)");
  CHECK_CONTAINS(r.out, "held out  2022-04-20 00:00 .. 2022-05-01 00:00 UTC");
  CHECK_CONTAINS(r.out, "Best: ");
  CHECK_CONTAINS(r.out, "; held out: sharpe ");
  json_t *opt = load_json(in_dir("opt.json"));
  REQUIRE(opt);
  CHECK_STREQ(json_string_value(json_object_get(json_object_get(opt, "held_out"), "from")), "2022-04-20T00:00:00.000Z");
  json_t *train[4], *test[4];
  for (int k = 0; k < 4; k++) {
    train[k] = backtest(sl[k / 2], rr[k % 2], "--to 2022-04-20");
    test[k] = backtest(sl[k / 2], rr[k % 2], "--from 2022-04-20");
  }
  int want[4], want_test[4];
  expected_order(train, 4, "sharpe", want);
  expected_order(test, 4, "sharpe", want_test);
  size_t i;
  json_t *res;
  json_array_foreach(json_object_get(opt, "results"), i, res) {
    int k = combo_of(res);
    REQUIRE(k >= 0 && k < 4);
    CHECK_EQ(k, want[i]);
    check_same_figures(json_object_get(res, "train"), train[k], "training");
    check_same_figures(json_object_get(res, "held_out"), test[k], "held out");
    int pos = 0;
    while (pos < 4 && want_test[pos] != k) pos++;
    CHECK_EQ(json_integer_value(json_object_get(res, "held_out_rank")), pos + 1);
  }
  /* The periods differ: held-out figures are not the training ones. */
  CHECK(!json_equal(json_object_get(train[0], "total_profit"), json_object_get(test[0], "total_profit")));
  for (int k = 0; k < 4; k++) {
    json_decref(train[k]);
    json_decref(test[k]);
  }
  json_decref(opt);
  done(&r);
}

TEST(cli_optimize_output_is_byte_for_byte_deterministic) {
  char args[2048];
  snprintf(args, sizeof args, "optimize --data '%s' --grid '%s' --train-until 2022-04-15 --json %s",
           lbt_source_path(MONTH), GRID, "det.json");
  result a = levbot(NULL, args);
  REQUIRE_EQ(a.code, 0);
  char *ja = slurp(in_dir("det.json"));
  result b = levbot(NULL, args);
  REQUIRE_EQ(b.code, 0);
  char *jb = slurp(in_dir("det.json"));
  REQUIRE(ja && jb);
  CHECK_STREQ(a.out, b.out);
  CHECK_STREQ(ja, jb);
  CHECK(strlen(a.out) > 500);
  free(ja);
  free(jb);
  done(&a);
  done(&b);
}

TEST(cli_optimize_refuses_bad_grids_and_options_before_any_backtest) {
  struct {
    const char *opts;
    int code;
    const char *msg;
  } cases[] = {
      {"--grid 'STOP_LOSS_MODE=fixed;TAKE_PROFIT_RISK_REWARD=2,25'", 2,
       "--grid: TAKE_PROFIT_RISK_REWARD=25 is out of range (allowed: 0.5..20)"},
      {"--grid 'STOP_LOSS_MODE=fixed,tight'", 2, "STOP_LOSS_MODE=tight is not an allowed value (allowed: one of fixed, swing, atr)"},
      {"--grid 'MAX_LEVERAGE=1,2,3,4,5,6,7,8,9,10;TAKE_PROFIT_RISK_REWARD=1,2,3,4,5,6,7,8,9,10;ATR_STOP_MULTIPLE=1,2,3,4,5,6,7,8,9,10,11'",
       2, "--grid has 1100 combinations, more than 1000: narrow it or split it into several runs"},
      {"--grid 'MIN_STOP_LOSS_PERCENT=0.01,0.06'", 2,
       "the combination MIN_STOP_LOSS_PERCENT=0.06 is invalid: MAX_STOP_LOSS_PERCENT=0.05 is below MIN_STOP_LOSS_PERCENT=0.06"},
      {"--grid 'TELEGRAM_BOT_TOKEN=a,b'", 2, "TELEGRAM_BOT_TOKEN is a secret"},
      {"--grid 'STOP_LOSS_MODE=fixed' --metric sortino", 2, "--metric sortino is not one of profit_factor, sharpe, total_profit, calmar"},
      {"--grid 'STOP_LOSS_MODE=fixed' --train-until soon", 2, "--train-until soon is not a date"},
      {"--grid 'STOP_LOSS_MODE=fixed' --train-until 2022-04-20 --to 2022-04-10", 2, "--train-until 2022-04-20 is not before --to 2022-04-10"},
      {"--grid 'STOP_LOSS_MODE=fixed' --train-until 2022-06-01", 2, "no candles between 2022-06-01 and the end"},
      {"--grid 'STOP_LOSS_MODE=fixed' --top lots", 2, "--top lots is not an integer"},
      {"", 2, "--grid is required"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char args[2048];
    remove(in_dir("bad.json"));
    snprintf(args, sizeof args, "optimize --data '%s' %s --json bad.json", lbt_source_path(MONTH), cases[i].opts);
    result r = levbot(NULL, args);
    CHECK_EQ(r.code, cases[i].code);
    CHECK_CONTAINS(r.err, cases[i].msg);
    CHECK_NOT_CONTAINS(r.err, "backtests in"); /* nothing ran */
    CHECK_STREQ(r.out, "");
    CHECK(access(in_dir("bad.json"), F_OK) != 0);
    done(&r);
  }
  /* A data file that is not there: exit 4, naming it. */
  result r = levbot(NULL, "optimize --data nowhere.csv --grid 'STOP_LOSS_MODE=fixed,atr'");
  CHECK_EQ(r.code, 4);
  CHECK_CONTAINS(r.err, "nowhere.csv");
  done(&r);
}

TEST(cli_optimize_lists_a_combination_that_cannot_run_as_failed_and_ranks_it_last) {
  char args[2048];
  /* 1m entries cannot be built from 5m candles. */
  snprintf(args, sizeof args, "optimize --data '%s' --grid 'ENTRY_TIMEFRAME=1m,15m' --json fail.json",
           lbt_source_path(MONTH));
  result r = levbot(NULL, args);
  CHECK_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "    2  1m              | failed: the data's timeframe 5m does not divide the entry timeframe 1m");
  json_t *j = load_json(in_dir("fail.json"));
  REQUIRE(j);
  json_t *res = json_object_get(j, "results");
  REQUIRE_EQ(json_array_size(res), 2);
  CHECK(json_is_null(json_object_get(json_array_get(res, 0), "error")));
  CHECK_CONTAINS(json_string_value(json_object_get(json_array_get(res, 1), "error")), "does not divide");
  CHECK(json_is_null(json_object_get(json_array_get(res, 1), "result")));
  json_decref(j);
  done(&r);
  /* All of them: the command fails with the first reason. */
  snprintf(args, sizeof args, "optimize --data '%s' --grid 'ENTRY_TIMEFRAME=1m,3m'", lbt_source_path(MONTH));
  r = levbot(NULL, args);
  CHECK_EQ(r.code, 4);
  CHECK_CONTAINS(r.err, "levbot optimize: every combination failed; the first: ENTRY_TIMEFRAME=1m: the data's timeframe 5m");
  done(&r);
}

TEST(cli_optimize_interrupted_prints_the_ranking_of_what_ran) {
  /* 600 combinations over three days of 1m candles (several seconds); SIGINT after one. */
  char args[4096];
  snprintf(args, sizeof args,
           "optimize --data '%s' '%s' '%s' --timeframe 5m --json int.json --grid "
           "'TAKE_PROFIT_RISK_REWARD=1.5,1.75,2,2.25,2.5,2.75,3,3.25,3.5,3.75;STOP_LOSS_MODE=fixed,swing,atr;"
           "TRAILING_STOP_ENABLED=true,false;ATR_STOP_MULTIPLE=1,1.5,2,2.5,3,3.5,4,4.5,5,5.5'",
           lbt_source_path("data/binance-um/BTCUSDT-1m-2022-05-04.csv"),
           lbt_source_path("data/binance-um/BTCUSDT-1m-2022-05-05.csv"),
           lbt_source_path("data/binance-um/BTCUSDT-1m-2022-05-06.csv"));
  result r = levbot_with("timeout --preserve-status -s INT 1", NULL, args);
  CHECK_EQ(r.code, 1);
  CHECK_CONTAINS(r.err, "levbot optimize: interrupted after");
  CHECK_CONTAINS(r.out, "Interrupted: ");
  json_t *j = load_json(in_dir("int.json"));
  REQUIRE(j);
  CHECK(json_is_true(json_object_get(j, "interrupted")));
  CHECK_EQ(json_integer_value(json_object_get(j, "combinations")), 600);
  long long completed = json_integer_value(json_object_get(j, "completed"));
  CHECK(completed < 600);
  CHECK_EQ((long long)json_array_size(json_object_get(j, "results")), completed);
  json_decref(j);
  done(&r);
}

TEST(cli_optimize_help_lists_the_options) {
  result r = levbot(NULL, "optimize --help");
  CHECK_EQ(r.code, 0);
  const char *opts[] = {"--data", "--grid", "--metric", "--train-until", "--top", "--json", "--min-trades",
                        "profit_factor", "sharpe", "total_profit", "calmar", "1000", "Exit codes"};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) CHECK_CONTAINS(r.out, opts[i]);
  done(&r);
}
