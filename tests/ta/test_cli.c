/* test_cli.c -- `levbot indicators` driven as a user runs it: the built
 * binary on real candle files, its CSV compared column by column with
 * TA-Lib's reference output, its errors and exit codes. */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "refcsv.h"
#include "ta/ta.h"
#include "unit.h"

/* Runs a shell command line; stdout+stderr into *out (malloc'd, may be
 * NULL); returns the exit status, -1 if it did not exit normally. */
static int run(const char *cmdline, char **out) {
  char full[4096];
  snprintf(full, sizeof full, "%s 2>&1", cmdline);
  FILE *p = popen(full, "r");
  if (!p) return -1;
  size_t cap = 1 << 16, len = 0, k;
  char *buf = malloc(cap);
  if (!buf) abort();
  while ((k = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += k;
    if (cap - len < 2 && !(buf = realloc(buf, cap *= 2))) abort();
  }
  buf[len] = '\0';
  int st = pclose(p);
  if (out)
    *out = buf;
  else
    free(buf);
  return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *levbot(void) {
  const char *b = lbt_binary_path("levbot");
  if (access(b, X_OK) != 0) SKIP("levbot binary not built at %s", b);
  return b;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

static const char *ref_cols[] = {
    "ts",          "open",     "high",      "low",      "close",       "volume",
    "sma_20",      "ema_20",   "rsi_14",    "macd",     "macd_signal", "macd_hist",
    "atr_14",      "bb_upper", "bb_middle", "bb_lower", "adx_14",      "plus_di_14",
    "minus_di_14", "stoch_k",  "stoch_d",   "obv"};
#define NREF (sizeof ref_cols / sizeof ref_cols[0])

/* Runs the command on `input` and compares its CSV with TA-Lib's `ref`. */
static void cli_matches_reference(const char *input, const char *ref) {
  static int seq;
  char out_path[512], cmd[2048];
  snprintf(out_path, sizeof out_path, "%s/indicators-%d.csv", lbt_tmpdir(), ++seq);
  snprintf(cmd, sizeof cmd, "'%s' indicators --data '%s' --out '%s'", levbot(), input, out_path);
  char *msg = NULL;
  int rc = run(cmd, &msg);
  CHECK_EQ(rc, 0);
  if (rc) printf("    %s\n", msg);
  free(msg);
  refcsv ours, want;
  REQUIRE(refcsv_load(out_path, &ours) == 0);
  REQUIRE(refcsv_load(ref, &want) == 0);
  REQUIRE_EQ(ours.rows, want.rows);
  REQUIRE(ours.ncols >= (int)NREF);
  for (size_t k = 0; k < NREF; k++) CHECK_STREQ(ours.names[k], ref_cols[k]); /* order */
  for (size_t k = 0; k < NREF; k++) {
    const double *a = ours.col[k], *b = refcsv_col(&want, ref_cols[k]);
    REQUIRE(b != NULL);
    int bad = 0;
    for (size_t i = 0; i < ours.rows; i++) {
      bool ok = isnan(b[i]) ? isnan(a[i]) : !isnan(a[i]) && rel_diff(a[i], b[i]) <= 1e-9;
      if (!ok && bad++ < 3)
        lbt_fail(__FILE__, __LINE__, "row %zu %s: levbot %.17g, TA-Lib %.17g", i, ref_cols[k], a[i],
                 b[i]);
    }
  }
  refcsv_free(&ours);
  refcsv_free(&want);
}

TEST(cli_indicators_match_talib_on_the_bundled_sample) {
  cli_matches_reference(lbt_source_path("tests/data/XRP_USDT_USDT-5m-futures-500.csv"),
                        lbt_source_path("tests/data/talib_XRP_USDT_USDT-5m-futures-500.csv"));
}

TEST(cli_indicators_match_talib_on_both_full_reference_files) {
  const char *xrp = lbt_require_shared("data/reference/XRP_USDT_USDT-5m-futures.csv");
  char in[1024];
  snprintf(in, sizeof in, "%s", xrp);
  cli_matches_reference(in, lbt_shared_path("data/reference/talib_XRP_USDT_USDT-5m-futures.csv"));
  snprintf(in, sizeof in, "%s", lbt_require_shared("data/reference/ETH_BTC-5m.csv"));
  cli_matches_reference(in, lbt_shared_path("data/reference/talib_ETH_BTC-5m.csv"));
}

TEST(cli_indicators_writes_csv_to_stdout_by_default) {
  char cmd[2048], *out = NULL;
  snprintf(cmd, sizeof cmd, "'%s' indicators --data '%s'", levbot(),
           lbt_source_path("tests/data/XRP_USDT_USDT-5m-futures-500.csv"));
  REQUIRE_EQ(run(cmd, &out), 0);
  CHECK_EQ(count_lines(out), 501);
  CHECK(strncmp(out, "ts,open,high,low,close,volume,sma_20,ema_20,rsi_14,macd,", 56) == 0);
  /* first row: warm-up fields empty, OBV = the first volume, ts in ms */
  CHECK_CONTAINS(out,
                 "\n1636934400000,1.1893,1.1954,1.1891,1.1940999999999999,9289043.5,,,,,,,,,,,,,,,,"
                 "9289043.5,");
  free(out);
}

TEST(cli_indicators_resamples_before_computing) {
  const char *in = lbt_source_path("tests/data/XRP_USDT_USDT-5m-futures-500.csv");
  char out_path[512], cmd[2048];
  snprintf(out_path, sizeof out_path, "%s/indicators-1h.csv", lbt_tmpdir());
  snprintf(cmd, sizeof cmd, "'%s' indicators --data '%s' --timeframe 1h --out '%s'", levbot(), in,
           out_path);
  char *msg = NULL;
  REQUIRE_EQ(run(cmd, &msg), 0);
  CHECK_CONTAINS(msg, "(1h)");
  free(msg);
  /* the same through the library: load, resample, fused pass */
  data_series s, h;
  lb_errbuf eb;
  REQUIRE_OK(data_load_file(in, DATA_FMT_AUTO, &s, NULL, &eb));
  REQUIRE_OK(data_resample(&s, LB_MS_HOUR, &h, &eb));
  ta_values *v = malloc(h.n * sizeof *v);
  REQUIRE(v);
  REQUIRE_OK(ta_compute_all(h.c, h.n, NULL, v));
  refcsv got;
  REQUIRE(refcsv_load(out_path, &got) == 0);
  REQUIRE_EQ(got.rows, h.n);
  CHECK(h.n == 41); /* 500 five-minute bars from 00:00: 41 complete hours */
  const double *ts = refcsv_col(&got, "ts"), *cl = refcsv_col(&got, "close"),
               *vol = refcsv_col(&got, "volume"), *rsi = refcsv_col(&got, "rsi_14"),
               *adx = refcsv_col(&got, "adx_14"), *cci = refcsv_col(&got, "cci_14"),
               *vwap = refcsv_col(&got, "vwap");
  REQUIRE(ts && cl && vol && rsi && adx && cci && vwap);
  for (size_t i = 0; i < h.n; i++) {
    CHECK_EQ((lb_ms)ts[i], h.c[i].ts);
    CHECK_EQ((lb_ms)ts[i] % LB_MS_HOUR, 0);
    CHECK(cl[i] == h.c[i].close && vol[i] == h.c[i].volume); /* %.17g round-trips */
    CHECK((isnan(rsi[i]) && isnan(v[i].rsi)) || rsi[i] == v[i].rsi);
    CHECK((isnan(adx[i]) && isnan(v[i].adx)) || adx[i] == v[i].adx);
    CHECK((isnan(cci[i]) && isnan(v[i].cci)) || cci[i] == v[i].cci);
    CHECK(vwap[i] == v[i].vwap);
  }
  refcsv_free(&got);
  free(v);
  data_series_close(&s);
  data_series_close(&h);
}

TEST(cli_indicators_reports_bad_input_in_one_line_with_its_exit_code) {
  const char *bin = levbot();
  const char *good = lbt_source_path("tests/data/XRP_USDT_USDT-5m-futures-500.csv");
  char cmd[2048], *out = NULL;
  /* a missing file: exit 4 (data), the path named */
  snprintf(cmd, sizeof cmd, "'%s' indicators --data /nonexistent/candles.csv", bin);
  CHECK_EQ(run(cmd, &out), 4);
  CHECK_CONTAINS(out, "/nonexistent/candles.csv");
  CHECK_EQ(count_lines(out), 1);
  free(out);
  /* a file that is not candles: exit 4 with the loader's reason */
  char bad[512];
  snprintf(bad, sizeof bad, "%s/not-candles.csv", lbt_tmpdir());
  FILE *f = fopen(bad, "w");
  REQUIRE(f);
  fputs("hello,world\n1,2\n", f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "'%s' indicators --data '%s'", bin, bad);
  CHECK_EQ(run(cmd, &out), 4);
  CHECK_CONTAINS(out, "not-candles.csv");
  CHECK_EQ(count_lines(out), 1);
  free(out);
  /* bad options: exit 2 */
  snprintf(cmd, sizeof cmd, "'%s' indicators", bin);
  CHECK_EQ(run(cmd, &out), 2);
  CHECK_CONTAINS(out, "--data");
  free(out);
  snprintf(cmd, sizeof cmd, "'%s' indicators --data '%s' --timeframe 7m", bin, good);
  CHECK_EQ(run(cmd, &out), 2);
  CHECK_CONTAINS(out, "7m");
  free(out);
  snprintf(cmd, sizeof cmd, "'%s' indicators --data '%s' --timeframe 3m", bin, good);
  CHECK_EQ(run(cmd, &out), 2); /* 3m is not a multiple of the file's 5m */
  CHECK_CONTAINS(out, "not a multiple");
  free(out);
  snprintf(cmd, sizeof cmd, "'%s' indicators --data '%s' --period 9", bin, good);
  CHECK_EQ(run(cmd, &out), 2);
  CHECK_CONTAINS(out, "--period");
  free(out);
  snprintf(cmd, sizeof cmd, "'%s' indicators --data", bin);
  CHECK_EQ(run(cmd, &out), 2);
  free(out);
  /* an --out that cannot be written: exit 1 */
  snprintf(cmd, sizeof cmd, "'%s' indicators --data '%s' --out /nonexistent/dir/x.csv", bin, good);
  CHECK_EQ(run(cmd, &out), 1);
  CHECK_CONTAINS(out, "/nonexistent/dir/x.csv");
  free(out);
  /* --help documents the columns */
  snprintf(cmd, sizeof cmd, "'%s' indicators --help", bin);
  CHECK_EQ(run(cmd, &out), 0);
  CHECK_CONTAINS(out, "--timeframe");
  CHECK_CONTAINS(out, "stoch_d");
  free(out);
}

/* ==== Every file of the shared data set ==== */

typedef struct {
  int ok, refused, files;
} walk_stats;

static void run_on_file(const char *path, walk_stats *st) {
  char out_path[512], cmd[4096];
  snprintf(out_path, sizeof out_path, "%s/every.csv", lbt_tmpdir());
  snprintf(cmd, sizeof cmd, "'%s' indicators --data '%s' --out '%s'", levbot(), path, out_path);
  char *msg = NULL;
  int rc = run(cmd, &msg);
  st->files++;
  if (rc == 0) {
    st->ok++;
    refcsv r;
    if (refcsv_load(out_path, &r) != 0)
      lbt_fail(__FILE__, __LINE__, "%s: output unreadable", path);
    else {
      CHECK(r.rows >= 1);
      CHECK_EQ(r.ncols, 34);
      refcsv_free(&r);
    }
  } else if (rc == 4) { /* refused by the loader, with a reason */
    st->refused++;
    CHECK_EQ(count_lines(msg), 1);
    CHECK_CONTAINS(msg, "levbot indicators: ");
  } else {
    lbt_fail(__FILE__, __LINE__, "%s: exit %d: %s", path, rc, msg);
  }
  free(msg);
  remove(out_path);
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir, walk_stats *st) {
  DIR *d = opendir(dir);
  if (!d) return;
  /* sorted for a stable order of messages */
  char *names[512];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 512)
    if (e->d_name[0] != '.') names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], name_cmp);
  for (int i = 0; i < n; i++) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    struct stat sb;
    if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode))
      walk(p, st);
    else if (strstr(names[i], ".md") == NULL)
      run_on_file(p, st);
    free(names[i]);
  }
}

TEST(cli_indicators_runs_on_every_file_of_the_shared_data) {
  const char *root = lbt_require_shared("data/README.md");
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", root);
  *strrchr(dir, '/') = '\0';
  walk_stats st = {0, 0, 0};
  walk(dir, &st);
  printf("    %d files: %d computed, %d refused by the loader (not candles)\n", st.files, st.ok,
         st.refused);
  CHECK(st.ok >= 100);
}
