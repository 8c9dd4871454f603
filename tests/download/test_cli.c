/* test_cli.c -- `levbot download-data` driven as a user runs it, against exsim over the wire.
 *
 * Each test starts tools/exsim on 127.0.0.1 (free ports, the harness of the
 * binance suite) serving real candles with their own timestamps
 * (--no-rebase) and every bar closed, then runs the built levbot binary in
 * an empty environment with --base-url pointing at it.  What levbot wrote
 * is loaded with data_load_file and compared with the candles exsim
 * served, field by field; exsim's request log says what was asked.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/buf.h"
#include "harness.h"
#include "unit.h"

#define DAY4 "data/binance-um/BTCUSDT-1m-2022-05-04.csv"
#define DAY5 "data/binance-um/BTCUSDT-1m-2022-05-05.csv"
#define DAY6 "data/binance-um/BTCUSDT-1m-2022-05-06.csv"

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
    return calloc(1, 1);
  }
  return lb_buf_steal(&b);
}

static result levbot(const char *args) {
  result r = {-1, NULL, NULL};
  const char *dir = lbt_tmpdir();
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cd '%s' && env -i PATH=/usr/bin:/bin AI_PROVIDERS= '%s' %s >out.txt 2>err.txt </dev/null",
           dir, lbt_binary_path("levbot"), args);
  int st = system(cmd);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  char p[1024];
  snprintf(p, sizeof p, "%s/out.txt", dir);
  r.out = slurp(p);
  snprintf(p, sizeof p, "%s/err.txt", dir);
  r.err = slurp(p);
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

/* The three bundled days as one file, optionally without rows [skip_from, skip_to) (0-based). */
static const char *source_file(const char *name, int skip_from, int skip_to) {
  const char *path = in_dir(name);
  FILE *f = fopen(path, "w");
  REQUIRE(f);
  const char *days[] = {DAY4, DAY5, DAY6};
  int row = 0;
  for (int d = 0; d < 3; d++) {
    char *text = slurp(lbt_source_path(days[d]));
    for (char *p = text; *p;) {
      char *nl = strchr(p, '\n');
      size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
      if (row < skip_from || row >= skip_to) fwrite(p, 1, n, f);
      row++;
      p += n;
    }
    free(text);
  }
  fclose(f);
  return path;
}

/* exsim serving `data` as BTCUSDT with its own timestamps, every bar closed. */
static void start_exsim(exsim_proc *p, const char *data) {
  char arg[1100];
  snprintf(arg, sizeof arg, "BTCUSDT=%s", data);
  const char *extra[] = {"--data", arg, "--warmup", "1000000", "--no-rebase", NULL};
  exsim_start(p, extra);
  json_t *j = exsim_ctl(p, "POST", "/_exsim/step?n=4", NULL); /* closes the last bar */
  REQUIRE(j);
  json_decref(j);
}

static int klines_requests(exsim_proc *p) {
  json_t *j = exsim_ctl(p, "GET", "/_exsim/requests?since=0", NULL);
  REQUIRE(j);
  int n = 0;
  size_t i;
  json_t *r;
  json_array_foreach(j, i, r) n += strcmp(json_string_value(json_object_get(r, "path")), "/fapi/v1/klines") == 0;
  json_decref(j);
  return n;
}

/* `path` loads as a Binance kline CSV holding exactly src's candles in [from, to). */
static void check_same(const char *path, const char *src_path, lb_ms from, lb_ms to) {
  data_series a, b;
  data_load_info ia;
  lb_errbuf eb;
  lb_err rc = data_load_file(path, DATA_FMT_AUTO, &a, &ia, &eb);
  if (rc) lbt_fail(__FILE__, __LINE__, "%s", eb.msg);
  REQUIRE_OK(rc);
  REQUIRE_OK(data_load_file(src_path, DATA_FMT_AUTO, &b, NULL, &eb));
  CHECK_EQ(ia.format, DATA_FMT_BINANCE_CSV);
  size_t k = 0, same = 0;
  for (size_t i = 0; i < b.n; i++) {
    if (b.c[i].ts < from || b.c[i].ts >= to) continue;
    if (k < a.n && a.c[k].ts == b.c[i].ts && a.c[k].open == b.c[i].open && a.c[k].high == b.c[i].high &&
        a.c[k].low == b.c[i].low && a.c[k].close == b.c[i].close && a.c[k].volume == b.c[i].volume)
      same++;
    k++;
  }
  CHECK_EQ(a.n, k);
  CHECK_EQ(same, k);
  data_series_close(&a);
  data_series_close(&b);
}

#define T_MAY4 1651622400000LL
#define T_MAY5 1651708800000LL
#define T_MAY7 1651881600000LL

static const char *dl_args(const exsim_proc *p, const char *out, const char *from, const char *to,
                           const char *extra) {
  static char a[2048];
  snprintf(a, sizeof a, "download-data --symbol BTCUSDT --timeframe 1m --from %s --to %s --out '%s' --base-url %s %s",
           from, to, out, p->rest_url, extra ? extra : "");
  return a;
}

TEST(cli_download_of_three_days_from_exsim_equals_the_served_candles) {
  exsim_proc p;
  const char *src = source_file("src-3d.csv", -1, -1);
  start_exsim(&p, src);
  const char *out = in_dir("BTCUSDT-1m-2022-05.csv");
  result r = levbot(dl_args(&p, out, "2022-05-04", "2022-05-07", NULL));
  CHECK_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "BTCUSDT 1m  2022-05-04 00:00 .. 2022-05-07 00:00 UTC");
  CHECK_CONTAINS(r.out, "downloaded 4320 candles");
  CHECK_CONTAINS(r.out, "4320 rows (0 kept, 4320 new), 2022-05-04 00:00 .. 2022-05-06 23:59 UTC");
  CHECK_CONTAINS(r.out, "no gaps");
  CHECK_EQ(strlen(r.err) == 0 || !strstr(r.err, "error"), 1);
  check_same(out, src, T_MAY4, T_MAY7);
  /* Three pages of at most 1500 bars, nothing asked twice. */
  CHECK_EQ(klines_requests(&p), 3);
  /* No temporary file left next to it. */
  char *ls = NULL;
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "ls -a '%s'", lbt_tmpdir());
  lbt_run(cmd, &ls);
  CHECK_NOT_CONTAINS(ls, ".tmp");
  free(ls);
  done(&r);
  exsim_stop(&p);
}

TEST(cli_download_extends_a_file_and_asks_only_for_the_new_bars) {
  exsim_proc p;
  const char *src = source_file("src-ext.csv", -1, -1);
  start_exsim(&p, src);
  const char *out = in_dir("BTCUSDT-1m-ext.csv");
  result r = levbot(dl_args(&p, out, "2022-05-05", "2022-05-06", NULL));
  CHECK_EQ(r.code, 0);
  done(&r);
  CHECK_EQ(klines_requests(&p), 1);
  char *middle = slurp(out);
  /* Forwards and backwards at once: 05-04 and 05-06 are new. */
  r = levbot(dl_args(&p, out, "2022-05-04", "2022-05-07", NULL));
  CHECK_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "4320 rows (1440 kept, 2880 new)");
  CHECK_EQ(klines_requests(&p), 1 + 2);
  check_same(out, src, T_MAY4, T_MAY7);
  char *all = slurp(out);
  CHECK(strstr(all, middle) != NULL); /* the first day's rows, unchanged, inside */
  free(all);
  free(middle);
  done(&r);
  /* Once more: nothing to do, nothing asked. */
  r = levbot(dl_args(&p, out, "2022-05-04", "2022-05-07", NULL));
  CHECK_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "nothing downloaded");
  CHECK_EQ(klines_requests(&p), 3);
  done(&r);
  exsim_stop(&p);
}

TEST(cli_download_interrupted_by_exchange_errors_resumes_to_the_complete_file) {
  exsim_proc p;
  const char *src = source_file("src-flaky.csv", -1, -1);
  start_exsim(&p, src);
  exsim_faults(&p, "{\"error_rate\": {\"GET /fapi/v1/klines\": 0.5}}");
  const char *out = in_dir("BTCUSDT-1m-flaky.csv");
  int runs = 0, partial = 0;
  size_t prev_rows = 0;
  result r = {0};
  for (; runs < 40; runs++) {
    r = levbot(dl_args(&p, out, "2022-05-04", "2022-05-07", "--retries 0"));
    if (r.code == 0) break;
    CHECK_EQ(r.code, 6);
    CHECK_CONTAINS(r.err, "levbot download-data: ");
    if (strstr(r.err, "saved in")) {
      partial++;
      CHECK_CONTAINS(r.err, "run the same command again to resume");
      /* What was saved is a valid file: the source from its start, no hole. */
      data_series s;
      lb_errbuf eb;
      REQUIRE_OK(data_load_file(out, DATA_FMT_AUTO, &s, NULL, &eb));
      CHECK(s.n >= prev_rows);
      prev_rows = s.n;
      lb_ms end = s.c[s.n - 1].ts + LB_MS_MINUTE;
      data_series_close(&s);
      check_same(out, src, T_MAY4, end);
    }
    done(&r);
  }
  REQUIRE_EQ(r.code, 0);
  CHECK(runs >= 1);   /* some runs failed ... */
  CHECK(partial >= 1); /* ... after saving part of the range */
  check_same(out, src, T_MAY4, T_MAY7);
  done(&r);
  exsim_stop(&p);
}

TEST(cli_download_waits_out_a_429_retry_after_without_earning_a_ban) {
  exsim_proc p;
  const char *src = source_file("src-429.csv", -1, -1);
  start_exsim(&p, src);
  exsim_faults(&p, "{\"burst_429\": 1, \"retry_after_s\": 1}");
  const char *out = in_dir("BTCUSDT-1m-429.csv");
  result r = levbot(dl_args(&p, out, "2022-05-04", "2022-05-05", NULL));
  CHECK_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "1 retry");
  check_same(out, src, T_MAY4, T_MAY5);
  json_t *s = exsim_state(&p);
  CHECK_EQ(state_int(s, "counters.http_429"), 1);
  CHECK_EQ(state_int(s, "counters.http_418"), 0);
  json_decref(s);
  done(&r);
  exsim_stop(&p);
}

TEST(cli_download_gap_on_the_exchange_fails_clearly_and_allow_gaps_keeps_it) {
  exsim_proc p;
  /* 2022-05-05 10:00 .. 10:59 missing on the exchange (rows 2040..2099). */
  const char *src = source_file("src-gap.csv", 1440 + 600, 1440 + 660);
  start_exsim(&p, src);
  const char *out = in_dir("BTCUSDT-1m-gap.csv");
  result r = levbot(dl_args(&p, out, "2022-05-04", "2022-05-07", NULL));
  CHECK_EQ(r.code, 6);
  CHECK_CONTAINS(r.err, "levbot download-data: the exchange has no BTCUSDT 1m candles from 2022-05-05 10:00 to "
                        "2022-05-05 11:00 UTC (60 bars, asked twice); --allow-gaps writes the file with this gap");
  CHECK_CONTAINS(r.err, "2040 candles up to 2022-05-05 09:59 UTC are saved");
  CHECK_EQ(strchr(r.err, '\n') - r.err + 1, (long)strlen(r.err)); /* one line */
  done(&r);
  r = levbot(dl_args(&p, out, "2022-05-04", "2022-05-07", "--allow-gaps"));
  CHECK_EQ(r.code, 0);
  CHECK_CONTAINS(r.out, "1 gap the exchange cannot fill (60 bars missing)");
  CHECK_CONTAINS(r.out, "2022-05-05 10:00 .. 2022-05-05 11:00 UTC (60 bars)");
  check_same(out, src, T_MAY4, T_MAY7);
  data_series s;
  data_load_info info;
  lb_errbuf eb;
  REQUIRE_OK(data_load_file(out, DATA_FMT_AUTO, &s, &info, &eb));
  CHECK_EQ(s.n, 4320 - 60);
  CHECK_EQ(info.gaps, 1);
  CHECK_EQ(info.missing_bars, 60);
  data_series_close(&s);
  done(&r);
  exsim_stop(&p);
}

TEST(cli_download_errors_are_one_line_with_the_documented_exit_code) {
  exsim_proc p;
  const char *src = source_file("src-err.csv", -1, -1);
  start_exsim(&p, src);
  const char *out = in_dir("BTCUSDT-1m-err.csv");
  char args[2048];
  struct {
    const char *args;
    int code;
    const char *msg;
  } cases[] = {
      {"--symbol ETHUSDT --timeframe 1m --from 2022-05-04 --to 2022-05-05", 6, "code -1121: Invalid symbol."},
      {"--symbol BTC-USDT --timeframe 1m --from 2022-05-04 --to 2022-05-05", 2, "--symbol BTC-USDT is not a symbol"},
      {"--symbol BTCUSDT --timeframe 7m --from 2022-05-04 --to 2022-05-05", 2, "--timeframe 7m is not a kline interval"},
      {"--symbol BTCUSDT --timeframe 1m --from 2022-05-32 --to 2022-06-05", 2, "--from 2022-05-32 is not a date"},
      {"--symbol BTCUSDT --timeframe 1m --from 2022-05-04 --to yesterday", 2, "--to yesterday is not a date"},
      {"--symbol BTCUSDT --timeframe 1m --from 2022-05-05 --to 2022-05-05", 2, "--to 2022-05-05 is not after --from 2022-05-05"},
      {"--symbol BTCUSDT --timeframe 1m --from 2022-05-06 --to 2022-05-04", 2, "is not after"},
      {"--symbol BTCUSDT --timeframe 1m --from 2099-01-01 --to 2099-02-01", 2, "--from 2099-01-01 is in the future"},
      {"--symbol BTCUSDT --from 2022-05-04 --to 2022-05-05", 2, "--timeframe is required"},
      {"--symbol BTCUSDT --timeframe 1m --from 2022-05-04 --to 2022-05-05 --retries many", 2, "--retries many is not an integer"},
      {"--symbol BTCUSDT --timeframe 1m --from 2022-05-04 --to 2022-05-05 --frm x", 2, "unknown option --frm"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    snprintf(args, sizeof args, "download-data %s --out '%s' --base-url %s", cases[i].args, out, p.rest_url);
    result r = levbot(args);
    CHECK_EQ(r.code, cases[i].code);
    /* The error is the last line, whole (a note about the file name may precede it). */
    size_t n = strlen(r.err);
    const char *last = r.err + n - 1;
    while (last > r.err && last[-1] != '\n') last--;
    CHECK(n > 0 && r.err[n - 1] == '\n' && strncmp(last, "levbot download-data: ", 22) == 0);
    CHECK_CONTAINS(last, cases[i].msg);
    done(&r);
  }
  CHECK(access(out, F_OK) != 0);
  /* A base URL that is not allowed. */
  snprintf(args, sizeof args, "download-data --symbol BTCUSDT --timeframe 1m --from 2022-05-04 --to 2022-05-05 "
                              "--out '%s' --base-url http://example.com", out);
  result r = levbot(args);
  CHECK_EQ(r.code, 2);
  CHECK_CONTAINS(r.err, "--base-url: BINANCE_REST_URL=http://example.com: http:// is only allowed to 127.0.0.1");
  done(&r);
  /* An output that is not a kline CSV: refused, left as it was (exit 4). */
  const char *notes = in_dir("notes.csv");
  FILE *f = fopen(notes, "w");
  REQUIRE(f);
  fputs("ts,open,high,low,close,volume\n1651622400000,1,2,0.5,1.5,10\n", f);
  fclose(f);
  r = levbot(dl_args(&p, notes, "2022-05-04", "2022-05-05", NULL));
  CHECK_EQ(r.code, 4);
  CHECK_CONTAINS(r.err, "not a Binance kline CSV");
  char *kept = slurp(notes);
  CHECK_STREQ(kept, "ts,open,high,low,close,volume\n1651622400000,1,2,0.5,1.5,10\n");
  free(kept);
  done(&r);
  exsim_stop(&p);
}

TEST(cli_download_from_an_unreachable_host_gives_up_after_its_retries) {
  /* A port nobody listens on: bound, then closed. */
  int s = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(s >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  REQUIRE(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(s, (struct sockaddr *)&a, &len) == 0);
  int port = ntohs(a.sin_port);
  close(s);
  char args[1024];
  snprintf(args, sizeof args, "download-data --symbol BTCUSDT --timeframe 1m --from 2022-05-04 --to 2022-05-05 "
                              "--out '%s' --base-url http://127.0.0.1:%d --retries 1", in_dir("BTCUSDT-1m-u.csv"), port);
  result r = levbot(args);
  CHECK_EQ(r.code, 6);
  char want[128];
  snprintf(want, sizeof want, "(exchange at http://127.0.0.1:%d)", port);
  CHECK_CONTAINS(r.err, want);
  CHECK_CONTAINS(r.err, "gave up after 2 attempts");
  CHECK(access(in_dir("BTCUSDT-1m-u.csv"), F_OK) != 0);
  done(&r);
}

TEST(cli_download_help_documents_every_option_and_the_exit_codes) {
  result r = levbot("download-data --help");
  CHECK_EQ(r.code, 0);
  const char *opts[] = {"--symbol", "--timeframe", "--from", "--to", "--out", "--base-url", "--allow-gaps",
                        "--retries", "--quiet", "Exit codes", "GET /fapi/v1/klines", "resume"};
  for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) CHECK_CONTAINS(r.out, opts[i]);
  done(&r);
  r = levbot("--help");
  CHECK_CONTAINS(r.out, "download-data");
  done(&r);
}
