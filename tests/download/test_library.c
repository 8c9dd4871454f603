/* test_library.c -- xchg_download_klines() against a scripted venue: paging, retries, holes,
 * validation, resume/extend and the atomic write.
 *
 * The venue is an xchg whose klines op serves a real candle file (the
 * bundled Binance 1m days) and misbehaves on request: retryable failures,
 * answers cut short, corrupted candles, refusals.  It records every range
 * asked for, so the tests can say which bars were requested, not only what
 * ended up in the file.  What the file holds is always checked by loading
 * it back with data_load_file and comparing with the source candles.
 */
#include <dirent.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "exchange/download.h"
#include "unit.h"

#define DAY4 "data/binance-um/BTCUSDT-1m-2022-05-04.csv"
#define DAY5 "data/binance-um/BTCUSDT-1m-2022-05-05.csv"
#define DAY6 "data/binance-um/BTCUSDT-1m-2022-05-06.csv"
#define T_MAY4 1651622400000LL
#define T_MAY5 1651708800000LL
#define T_MAY6 1651795200000LL
#define T_MAY7 1651881600000LL
#define MIN LB_MS_MINUTE

/* ==== A scripted venue ==== */

typedef struct {
  data_series src;
  int calls;
  lb_ms req_start[256], req_end[256];
  int fail_from_call, fail_count; /* calls fail_from_call .. +fail_count-1 fail */
  xchg_kind fail_kind;
  lb_ms retry_after;
  int short_call;                 /* this call answers only its first 10 candles */
  int corrupt_call;               /* this call's 3rd candle is changed by `corrupt` */
  void (*corrupt)(data_candle *c);
} venue;

static xchg_kind v_klines(xchg *x, const char *symbol, lb_ms tf, lb_ms start, lb_ms end, data_series *out,
                          xchg_error *err) {
  venue *v = x->impl;
  int call = ++v->calls;
  if (call <= 256) {
    v->req_start[call - 1] = start;
    v->req_end[call - 1] = end;
  }
  CHECK_STREQ(symbol, "BTCUSDT");
  CHECK_EQ(tf, MIN);
  if (call >= v->fail_from_call && call < v->fail_from_call + v->fail_count) {
    xchg_fail(err, v->fail_kind, v->fail_kind == XCHG_FATAL ? -1121 : 0,
              v->fail_kind == XCHG_FATAL ? "venue: Invalid symbol." : "venue: connection reset");
    err->retry_after = v->retry_after;
    return v->fail_kind;
  }
  int served = 0;
  for (size_t i = 0; i < v->src.n; i++) {
    data_candle c = v->src.c[i];
    if (c.ts < start || c.ts >= end) continue;
    if (call == v->short_call && served == 10) break;
    if (call == v->corrupt_call && served == 2) v->corrupt(&c);
    REQUIRE_OK(data_series_push(out, &c));
    served++;
  }
  return XCHG_OK;
}

static void v_destroy(xchg *x) { (void)x; }

static const xchg_ops venue_ops = {.name = "venue", .klines = v_klines, .destroy = v_destroy};

static void load(const char *rel, data_series *s) {
  data_series_init(s);
  lb_errbuf eb;
  REQUIRE_OK(data_load_file(lbt_source_path(rel), DATA_FMT_AUTO, s, NULL, &eb));
}

/* The venue serves the three bundled days 2022-05-04 .. 2022-05-06. */
static void venue_init(venue *v, xchg *x) {
  memset(v, 0, sizeof *v);
  data_series d5, d6;
  load(DAY4, &v->src);
  load(DAY5, &d5);
  load(DAY6, &d6);
  for (size_t i = 0; i < d5.n; i++) REQUIRE_OK(data_series_push(&v->src, &d5.c[i]));
  for (size_t i = 0; i < d6.n; i++) REQUIRE_OK(data_series_push(&v->src, &d6.c[i]));
  data_series_close(&d5);
  data_series_close(&d6);
  x->ops = &venue_ops;
  x->impl = v;
}

/* Removes the venue's candles in [a, b): a hole in the exchange's history. */
static void venue_drop(venue *v, lb_ms a, lb_ms b) {
  size_t k = 0;
  for (size_t i = 0; i < v->src.n; i++)
    if (v->src.c[i].ts < a || v->src.c[i].ts >= b) v->src.c[k++] = v->src.c[i];
  v->src.n = k;
}

static lb_manual_clock mclock = {.now = 1795000000000LL}; /* 2026: all of 2022 is closed */
static lb_clock test_clock;

static xchg_dl_params params(const char *path, lb_ms from, lb_ms to) {
  test_clock = lb_manual_clock_bind(&mclock);
  xchg_dl_params p = {.symbol = "BTCUSDT", .timeframe = MIN, .from = from, .to = to, .path = path,
                      .retries = 3, .clock = &test_clock};
  return p;
}

static const char *tmp(const char *name) {
  static char b[4][512];
  static int k;
  char *s = b[k++ % 4];
  snprintf(s, 512, "%s/%s", lbt_tmpdir(), name);
  unlink(s);
  return s;
}

/* The file loads, holds exactly the venue's source candles in [from, to), with nothing else. */
static void check_file_equals(const char *path, const data_series *src, lb_ms from, lb_ms to) {
  data_series got;
  data_series_init(&got);
  data_load_info info;
  lb_errbuf eb;
  lb_err rc = data_load_file(path, DATA_FMT_AUTO, &got, &info, &eb);
  if (rc) lbt_fail(__FILE__, __LINE__, "%s does not load: %s", path, eb.msg);
  REQUIRE_OK(rc);
  CHECK_EQ(info.format, DATA_FMT_BINANCE_CSV);
  size_t k = 0;
  for (size_t i = 0; i < src->n; i++) {
    const data_candle *c = &src->c[i];
    if (c->ts < from || c->ts >= to) continue;
    if (k >= got.n) {
      lbt_fail(__FILE__, __LINE__, "file ends at row %zu, source has more", k);
      break;
    }
    const data_candle *g = &got.c[k++];
    if (g->ts != c->ts || g->open != c->open || g->high != c->high || g->low != c->low ||
        g->close != c->close || g->volume != c->volume) {
      lbt_fail(__FILE__, __LINE__, "row %zu differs from the source candle at %lld", k, (long long)c->ts);
      break;
    }
  }
  CHECK_EQ(got.n, k);
  data_series_close(&got);
}

static size_t tmp_leftovers(void) {
  DIR *d = opendir(lbt_tmpdir());
  size_t n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, ".tmp")) n++;
  if (d) closedir(d);
  return n;
}

/* ==== Tests ==== */

TEST(download_pages_the_range_one_page_per_call_and_the_file_equals_the_source) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  const char *out = tmp("BTCUSDT-1m-a.csv");
  xchg_dl_params p = params(out, T_MAY4, T_MAY7);
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(r.downloaded, 4320);
  CHECK_EQ(r.rows, 4320);
  CHECK_EQ(r.kept, 0);
  CHECK_EQ(r.gaps, 0);
  CHECK(r.written);
  CHECK_EQ(r.first, T_MAY4);
  CHECK_EQ(r.last, T_MAY7 - MIN);
  /* 4320 bars in pages of 1500: three calls, consecutive, no overlap. */
  CHECK_EQ(v.calls, 3);
  CHECK_EQ(v.req_start[0], T_MAY4);
  CHECK_EQ(v.req_end[0], T_MAY4 + 1500 * MIN);
  CHECK_EQ(v.req_start[1], T_MAY4 + 1500 * MIN);
  CHECK_EQ(v.req_end[2], T_MAY7);
  check_file_equals(out, &v.src, T_MAY4, T_MAY7);
  CHECK_EQ(tmp_leftovers(), 0);
  data_series_close(&v.src);
}

TEST(download_rows_have_the_binance_twelve_column_layout) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  const char *out = tmp("BTCUSDT-1m-b.csv");
  xchg_dl_params p = params(out, T_MAY5, T_MAY5 + 2 * MIN);
  xchg_dl_result r;
  lb_errbuf eb;
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  lb_buf b;
  lb_buf_init(&b);
  REQUIRE_OK(lb_buf_read_file(&b, out, 0, &eb));
  /* The source's first row is 1651708800000,39684.10,39704.10,39684.10,39689.60,138.066,... */
  CHECK_STREQ(b.data, "1651708800000,39684.1,39704.1,39684.1,39689.6,138.066,1651708859999,0,0,0,0,0\n"
                      "1651708860000,39689.6,39707.4,39685.2,39694.4,78.424,1651708919999,0,0,0,0,0\n");
  lb_buf_free(&b);
  data_series_close(&v.src);
}

TEST(write_csv_round_trips_awkward_doubles_exactly) {
  data_series s;
  data_series_init(&s);
  s.timeframe = 5 * MIN;
  data_candle a = {T_MAY4, 0.1 + 0.2, 0.30000000000000004, 0.1, 0.3, 1e-9};
  data_candle b = {T_MAY4 + 5 * MIN, 123456789.123, 123456789.5, 123456789.0, 123456789.25, 0};
  data_candle c = {T_MAY4 + 10 * MIN, 1.0 / 3.0, 0.5, 0.25, 0.4, 12345.678901};
  REQUIRE_OK(data_series_push(&s, &a));
  REQUIRE_OK(data_series_push(&s, &b));
  REQUIRE_OK(data_series_push(&s, &c));
  const char *out = tmp("XUSDT-5m.csv");
  lb_errbuf eb;
  REQUIRE_OK(xchg_klines_write_csv(out, &s, &eb));
  data_series g;
  data_load_info info;
  REQUIRE_OK(data_load_file(out, DATA_FMT_AUTO, &g, &info, &eb));
  CHECK_EQ(info.format, DATA_FMT_BINANCE_CSV);
  REQUIRE_EQ(g.n, 3);
  for (size_t i = 0; i < 3; i++) {
    CHECK_EQ(g.c[i].ts, s.c[i].ts);
    CHECK(g.c[i].open == s.c[i].open && g.c[i].high == s.c[i].high && g.c[i].low == s.c[i].low);
    CHECK(g.c[i].close == s.c[i].close && g.c[i].volume == s.c[i].volume);
  }
  data_series_close(&g);
  data_series_close(&s);
}

TEST(download_retries_retryable_failures_waiting_at_least_retry_after) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  v.fail_from_call = 1;
  v.fail_count = 2;
  v.fail_kind = XCHG_RETRYABLE;
  v.retry_after = 7000;
  const char *out = tmp("BTCUSDT-1m-c.csv");
  xchg_dl_params p = params(out, T_MAY4, T_MAY5);
  lb_ms slept = mclock.slept_total;
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(r.retries_used, 2);
  CHECK_EQ(v.calls, 3);
  CHECK(mclock.slept_total - slept >= 2 * 7000);
  /* The retried call asked for the same range again. */
  CHECK_EQ(v.req_start[1], v.req_start[2]);
  check_file_equals(out, &v.src, T_MAY4, T_MAY5);
  data_series_close(&v.src);
}

TEST(download_that_fails_midway_saves_what_arrived_and_the_rerun_resumes_from_there) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  v.fail_from_call = 3;
  v.fail_count = 100;
  v.fail_kind = XCHG_RETRYABLE;
  const char *out = tmp("BTCUSDT-1m-d.csv");
  xchg_dl_params p = params(out, T_MAY4, T_MAY7);
  p.retries = 1;
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_ENET);
  CHECK_CONTAINS(eb.msg, "connection reset");
  CHECK_CONTAINS(eb.msg, "gave up after 2 attempts");
  CHECK(r.written);
  CHECK_EQ(r.rows, 3000);
  check_file_equals(out, &v.src, T_MAY4, T_MAY4 + 3000 * MIN);
  /* The venue is back: the same request asks only for what the file lacks. */
  v.fail_count = 0;
  v.calls = 0;
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(r.kept, 3000);
  CHECK_EQ(r.downloaded, 1320);
  CHECK_EQ(v.calls, 1);
  CHECK_EQ(v.req_start[0], T_MAY4 + 3000 * MIN);
  CHECK_EQ(v.req_end[0], T_MAY7);
  check_file_equals(out, &v.src, T_MAY4, T_MAY7);
  CHECK_EQ(tmp_leftovers(), 0);
  data_series_close(&v.src);
}

TEST(download_refused_by_the_venue_fails_with_its_reason_and_writes_nothing) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  v.fail_from_call = 1;
  v.fail_count = 100;
  v.fail_kind = XCHG_FATAL;
  const char *out = tmp("BTCUSDT-1m-e.csv");
  xchg_dl_params p = params(out, T_MAY4, T_MAY5);
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_EREJECTED);
  CHECK_CONTAINS(eb.msg, "Invalid symbol");
  CHECK_EQ(v.calls, 1); /* not retried */
  CHECK(!r.written);
  CHECK(access(out, F_OK) != 0);
  data_series_close(&v.src);
}

TEST(download_asks_again_for_a_cut_short_answer_and_leaves_no_hole) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  v.short_call = 1; /* the first page brings 10 candles instead of 1500 */
  const char *out = tmp("BTCUSDT-1m-f.csv");
  xchg_dl_params p = params(out, T_MAY4, T_MAY5);
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(r.gaps, 0);
  CHECK_EQ(r.rows, 1440);
  /* The hole after the 10th candle was asked for on its own. */
  bool asked = false;
  for (int i = 0; i < v.calls; i++) asked |= v.req_start[i] == T_MAY4 + 10 * MIN;
  CHECK(asked);
  check_file_equals(out, &v.src, T_MAY4, T_MAY5);
  data_series_close(&v.src);
}

TEST(download_stops_at_a_gap_the_exchange_cannot_fill_and_allow_gaps_writes_it) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  lb_ms g0 = T_MAY5 + 600 * MIN, g1 = g0 + 60 * MIN; /* 10:00 .. 11:00 missing on the exchange */
  venue_drop(&v, g0, g1);
  const char *out = tmp("BTCUSDT-1m-g.csv");
  xchg_dl_params p = params(out, T_MAY5, T_MAY6);
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_ENOTFOUND);
  CHECK_CONTAINS(eb.msg, "no BTCUSDT 1m candles from 2022-05-05 10:00 to 2022-05-05 11:00 UTC (60 bars, asked twice)");
  CHECK_CONTAINS(eb.msg, "--allow-gaps");
  /* Asked twice: once in its page, once on its own. */
  bool own = false;
  for (int i = 0; i < v.calls; i++) own |= v.req_start[i] == g0 && v.req_end[i] == g1;
  CHECK(own);
  /* What came before the gap is saved. */
  CHECK(r.written);
  check_file_equals(out, &v.src, T_MAY5, g0);

  p.allow_gaps = true;
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(r.gaps, 1);
  CHECK_EQ(r.missing_bars, 60);
  CHECK_EQ(r.gap[0].start, g0);
  CHECK_EQ(r.gap[0].end, g1);
  CHECK_EQ(r.kept, 600);
  check_file_equals(out, &v.src, T_MAY5, T_MAY6);
  data_series s;
  data_load_info info;
  REQUIRE_OK(data_load_file(out, DATA_FMT_AUTO, &s, &info, &eb));
  CHECK_EQ(info.gaps, 1);
  CHECK_EQ(info.missing_bars, 60);
  data_series_close(&s);
  data_series_close(&v.src);
}

static void bad_ohlc(data_candle *c) { c->high = c->low - 1; }
static void off_grid(data_candle *c) { c->ts += 30000; }
static void backwards(data_candle *c) { c->ts -= 2 * MIN; }
static void outside(data_candle *c) { c->ts = T_MAY7 + 5 * MIN; }

TEST(download_refuses_candles_that_fail_validation) {
  struct {
    void (*fn)(data_candle *);
    const char *msg;
  } cases[] = {
      {bad_ohlc, "invalid candle at 2022-05-04 00:02"},
      {off_grid, "candle at 2022-05-04 00:02, off the 1m grid"},
      {backwards, "sent the candle at 2022-05-04 00:00 after the one at 2022-05-04 00:01"},
      {outside, "sent a candle at 2022-05-07 00:05 for a request from 2022-05-04 00:00"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    venue v;
    xchg x;
    venue_init(&v, &x);
    v.corrupt_call = 1;
    v.corrupt = cases[i].fn;
    const char *out = tmp("BTCUSDT-1m-h.csv");
    xchg_dl_params p = params(out, T_MAY4, T_MAY5);
    xchg_dl_result r;
    lb_errbuf eb = {{0}};
    CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_EREJECTED);
    CHECK_CONTAINS(eb.msg, cases[i].msg);
    /* The two valid candles before it are kept, nothing after. */
    if (r.written) {
      CHECK_EQ(r.rows, 2);
      check_file_equals(out, &v.src, T_MAY4, T_MAY4 + 2 * MIN);
    }
    data_series_close(&v.src);
  }
}

/* Copies the bundled file; `lines` > 0 keeps only its first lines. */
static void copy_rows(const char *rel, const char *dst, size_t skip, size_t lines) {
  lb_buf b;
  lb_buf_init(&b);
  lb_errbuf eb;
  REQUIRE_OK(lb_buf_read_file(&b, lbt_source_path(rel), 0, &eb));
  FILE *f = fopen(dst, "w");
  REQUIRE(f);
  size_t line = 0;
  for (char *p = b.data; *p;) {
    char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
    if (line >= skip && (lines == 0 || line < skip + lines)) fwrite(p, 1, n, f);
    line++;
    p += n;
  }
  fclose(f);
  lb_buf_free(&b);
}

TEST(download_extends_a_file_both_ways_keeping_its_rows_byte_for_byte) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  /* The user has the official public-data file of 2022-05-05 (with quote
   * volumes and trade counts the klines op does not carry). */
  const char *out = tmp("BTCUSDT-1m-i.csv");
  copy_rows(DAY5, out, 0, 0);
  lb_buf before, after;
  lb_buf_init(&before);
  lb_buf_init(&after);
  lb_errbuf eb = {{0}};
  REQUIRE_OK(lb_buf_read_file(&before, out, 0, &eb));
  xchg_dl_params p = params(out, T_MAY4, T_MAY7);
  xchg_dl_result r;
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(r.kept, 1440);
  CHECK_EQ(r.downloaded, 2880);
  /* Only the missing days were asked for: nothing inside 2022-05-05. */
  for (int i = 0; i < v.calls; i++) CHECK(v.req_end[i] <= T_MAY5 || v.req_start[i] >= T_MAY6);
  check_file_equals(out, &v.src, T_MAY4, T_MAY7);
  REQUIRE_OK(lb_buf_read_file(&after, out, 0, &eb));
  /* The original day is in the middle, unchanged. */
  const char *mid = strstr(after.data, "1651708800000,");
  REQUIRE(mid);
  CHECK(strncmp(mid, before.data, before.len) == 0);
  CHECK_EQ(r.first, T_MAY4);
  CHECK_EQ(r.last, T_MAY7 - MIN);
  lb_buf_free(&before);
  lb_buf_free(&after);
  data_series_close(&v.src);
}

TEST(download_of_a_complete_file_asks_nothing_and_leaves_it_alone) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  const char *out = tmp("BTCUSDT-1m-j.csv");
  copy_rows(DAY4, out, 0, 0);
  struct stat st0, st1;
  REQUIRE(stat(out, &st0) == 0);
  xchg_dl_params p = params(out, T_MAY4, T_MAY5);
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(v.calls, 0);
  CHECK(!r.written);
  CHECK_EQ(r.kept, 1440);
  REQUIRE(stat(out, &st1) == 0);
  CHECK_EQ(st0.st_ino, st1.st_ino);
  data_series_close(&v.src);
}

TEST(download_fills_the_holes_inside_an_existing_file) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  /* A file of 2022-05-04 whose rows 100..199 were lost. */
  const char *out = tmp("BTCUSDT-1m-k.csv");
  const char *tail = tmp("tail.csv");
  copy_rows(DAY4, out, 0, 100);
  copy_rows(DAY4, tail, 200, 0);
  char cmd[1200];
  snprintf(cmd, sizeof cmd, "cat '%s' >> '%s'", tail, out);
  REQUIRE(system(cmd) == 0);
  xchg_dl_params p = params(out, T_MAY4, T_MAY5);
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(r.kept, 1340);
  CHECK_EQ(r.downloaded, 100);
  CHECK_EQ(v.calls, 1);
  CHECK_EQ(v.req_start[0], T_MAY4 + 100 * MIN);
  CHECK_EQ(v.req_end[0], T_MAY4 + 200 * MIN);
  check_file_equals(out, &v.src, T_MAY4, T_MAY5);
  data_series_close(&v.src);
}

TEST(download_refuses_to_extend_a_file_that_is_not_a_kline_csv_of_this_timeframe) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  /* 5m candles asked to grow with 1m ones. */
  const char *five = tmp("BTCUSDT-5m.csv");
  copy_rows("data/binance-um/BTCUSDT-5m-2022-04.csv", five, 0, 50);
  xchg_dl_params p = params(five, T_MAY4, T_MAY5);
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_EUNSUPPORTED);
  CHECK_CONTAINS(eb.msg, "holds 5m candles, not 1m");
  /* A plain OHLCV CSV. */
  const char *plain = tmp("BTCUSDT-plain.csv");
  FILE *f = fopen(plain, "w");
  REQUIRE(f);
  fputs("ts,open,high,low,close,volume\n1651622400000,1,2,0.5,1.5,10\n", f);
  fclose(f);
  p = params(plain, T_MAY4, T_MAY5);
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_EUNSUPPORTED);
  CHECK_CONTAINS(eb.msg, "not a Binance kline CSV");
  /* A damaged one: the loader's message names the line. */
  const char *bad = tmp("BTCUSDT-bad.csv");
  copy_rows(DAY4, bad, 0, 3);
  f = fopen(bad, "a");
  REQUIRE(f);
  fputs("1651622580000,1,2,0.5,1.5\n", f);
  fclose(f);
  p = params(bad, T_MAY4, T_MAY5);
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_EPARSE);
  CHECK_CONTAINS(eb.msg, "line 4");
  CHECK_EQ(v.calls, 0);
  data_series_close(&v.src);
}

TEST(download_up_to_now_stops_at_the_latest_closed_bar_without_calling_it_a_gap) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  /* "Now" is 2022-05-06 12:00:30: the 12:00 bar is forming. The venue
   * has not closed 11:59 either on its clock (it serves up to 11:58). */
  lb_manual_clock mc = {.now = T_MAY6 + 720 * MIN + 30000};
  lb_clock c = lb_manual_clock_bind(&mc);
  venue_drop(&v, T_MAY6 + 719 * MIN, T_MAY7);
  const char *out = tmp("BTCUSDT-1m-l.csv");
  xchg_dl_params p = params(out, T_MAY6, T_MAY7 + LB_MS_DAY * 30);
  p.clock = &c;
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(r.to_effective, T_MAY6 + 720 * MIN);
  CHECK_EQ(r.gaps, 0);
  CHECK_EQ(r.rows, 719);
  for (int i = 0; i < v.calls; i++) CHECK(v.req_end[i] <= T_MAY6 + 720 * MIN);
  /* Nothing closed yet in the range: refused, not an empty file. */
  p = params(tmp("BTCUSDT-1m-m.csv"), T_MAY6 + 720 * MIN, T_MAY7);
  p.clock = &c;
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "no closed candle in the range yet");
  data_series_close(&v.src);
}

TEST(download_before_the_symbols_history_starts_notes_where_it_starts) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  const char *out = tmp("BTCUSDT-1m-n.csv");
  /* Asked from 2022-05-01; the venue's history begins 2022-05-04. */
  xchg_dl_params p = params(out, T_MAY4 - 3 * LB_MS_DAY, T_MAY5);
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(r.history_start, T_MAY4);
  CHECK_EQ(r.gaps, 0);
  CHECK_EQ(r.rows, 1440);
  check_file_equals(out, &v.src, T_MAY4, T_MAY5);
  /* A range with nothing at all: an error, and no file. */
  const char *none = tmp("BTCUSDT-1m-o.csv");
  p = params(none, T_MAY4 - 3 * LB_MS_DAY, T_MAY4 - LB_MS_DAY);
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_ENOTFOUND);
  CHECK_CONTAINS(eb.msg, "no BTCUSDT candles between 2022-05-01 00:00 and 2022-05-03 00:00 UTC");
  CHECK(access(none, F_OK) != 0);
  data_series_close(&v.src);
}

TEST(download_validates_its_parameters_and_output_path) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  xchg_dl_params p = params(tmp("BTCUSDT-1m-p.csv"), T_MAY5, T_MAY5);
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_EINVAL);
  p = params(tmp("BTCUSDT-1m-p.csv"), T_MAY5, T_MAY6);
  p.timeframe = 7 * MIN;
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "not a kline interval");
  /* A bar must open inside the range. */
  p = params(tmp("BTCUSDT-1m-p.csv"), T_MAY5 + 1000, T_MAY5 + 2000);
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_EINVAL);
  CHECK_EQ(v.calls, 0);
  /* An output directory that does not exist: the download works, the write fails. */
  char path[600];
  snprintf(path, sizeof path, "%s/no/such/dir/BTCUSDT.csv", lbt_tmpdir());
  p = params(path, T_MAY5, T_MAY5 + 10 * MIN);
  CHECK_EQ(xchg_download_klines(&x, &p, &r, &eb), LB_EIO);
  CHECK_CONTAINS(eb.msg, "cannot create");
  CHECK(!r.written);
  data_series_close(&v.src);
}

TEST(download_chunk_size_sets_the_bars_per_call) {
  venue v;
  xchg x;
  venue_init(&v, &x);
  const char *out = tmp("BTCUSDT-1m-q.csv");
  xchg_dl_params p = params(out, T_MAY4, T_MAY5);
  p.chunk_bars = 100;
  xchg_dl_result r;
  lb_errbuf eb = {{0}};
  REQUIRE_OK(xchg_download_klines(&x, &p, &r, &eb));
  CHECK_EQ(v.calls, 15); /* 1440 bars: 14 calls of 100 and one of 40 */
  CHECK_EQ(v.req_end[14] - v.req_start[14], 40 * MIN);
  check_file_equals(out, &v.src, T_MAY4, T_MAY5);
  data_series_close(&v.src);
}
