/* download.c -- closed klines from an xchg into a Binance kline CSV (see download.h).
 *
 * The range the user asks for is cut into the runs of bars the existing
 * file lacks ("windows"); each window is fetched in chunks through the
 * xchg's klines op.  Every hole between two candles is asked for once more
 * on its own before it counts as a gap the exchange cannot fill: an
 * answer cut short by the venue must not pass for missing history.  The
 * result is the merge of the file's rows (copied as they were) and the new
 * candles, written to a temporary file and renamed over the target.
 */
#include "exchange/download.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"

/* ==== Atomic file ==== */

typedef struct {
  FILE *f;
  char tmp[PATH_MAX];
  const char *path;
} dl_file;

static lb_err file_open(dl_file *a, const char *path, lb_errbuf *eb) {
  memset(a, 0, sizeof *a);
  a->path = path;
  if ((size_t)snprintf(a->tmp, sizeof a->tmp, "%s.%ld.tmp", path, (long)getpid()) >= sizeof a->tmp)
    return lb_fail(eb, LB_EIO, "%s: path too long", path);
  int fd = -1;
  for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
    fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    /* A leftover of a killed run that had our pid: ours to replace. */
    if (fd < 0 && errno == EEXIST && attempt == 0) unlink(a->tmp);
  }
  if (fd < 0) return lb_fail(eb, LB_EIO, "cannot create %s: %s", a->tmp, strerror(errno));
  a->f = fdopen(fd, "w");
  if (!a->f) {
    int e = errno;
    close(fd);
    unlink(a->tmp);
    return lb_fail(eb, LB_EIO, "cannot write %s: %s", a->tmp, strerror(e));
  }
  return LB_OK;
}

/* The rename is durable only once the directory entry is on disk too. */
static void sync_dir(const char *path) {
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (!slash) snprintf(dir, sizeof dir, ".");
  else if (slash == dir) dir[1] = '\0';
  else *slash = '\0';
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  (void)fsync(fd);
  close(fd);
}

static lb_err file_commit(dl_file *a, lb_errbuf *eb) {
  bool ok = fflush(a->f) == 0 && !ferror(a->f) && fsync(fileno(a->f)) == 0;
  int e = errno;
  if (fclose(a->f) != 0 && ok) {
    ok = false;
    e = errno;
  }
  a->f = NULL;
  if (ok && rename(a->tmp, a->path) != 0) {
    ok = false;
    e = errno;
  }
  if (!ok) {
    unlink(a->tmp);
    return lb_fail(eb, LB_EIO, "cannot write %s: %s", a->path, strerror(e));
  }
  sync_dir(a->path);
  return LB_OK;
}

/* ==== Rows ==== */

/* The shortest fixed-point text that reads back as exactly v. */
static void fmt_num(double v, char *out, size_t n) {
  for (int places = 0; places <= 12; places++) {
    snprintf(out, n, "%.*f", places, v);
    if (strtod(out, NULL) == v) return;
  }
  snprintf(out, n, "%.17g", v);
}

static void write_row(FILE *f, const data_candle *c, lb_ms tf) {
  char o[48], h[48], l[48], cl[48], v[48];
  fmt_num(c->open, o, sizeof o);
  fmt_num(c->high, h, sizeof h);
  fmt_num(c->low, l, sizeof l);
  fmt_num(c->close, cl, sizeof cl);
  fmt_num(c->volume, v, sizeof v);
  fprintf(f, "%lld,%s,%s,%s,%s,%s,%lld,0,0,0,0,0\n", (long long)c->ts, o, h, l, cl, v,
          (long long)(c->ts + tf - 1));
}

lb_err xchg_klines_write_csv(const char *path, const data_series *s, lb_errbuf *eb) {
  dl_file a;
  lb_err rc = file_open(&a, path, eb);
  if (rc) return rc;
  for (size_t i = 0; i < s->n; i++) write_row(a.f, &s->c[i], s->timeframe);
  return file_commit(&a, eb);
}

/* ==== The existing file ==== */

typedef struct {
  lb_ms ts;
  size_t off, len; /* the row's text, without its line end */
} dl_row;

typedef struct {
  char *text; /* owned */
  dl_row *row; /* owned */
  size_t n;
} dl_existing;

static void existing_close(dl_existing *x) {
  free(x->text);
  free(x->row);
  memset(x, 0, sizeof *x);
}

/* Splits the raw text into rows and pairs each with the candle the loader
 * read from it, so rows can be copied unchanged. */
static lb_err index_rows(dl_existing *x, size_t len, const data_series *s, const char *path,
                         lb_errbuf *eb) {
  x->row = calloc(s->n ? s->n : 1, sizeof *x->row);
  if (!x->row) return lb_fail(eb, LB_ENOMEM, "out of memory reading %s", path);
  size_t p = 0, k = 0;
  bool first = true;
  while (p < len) {
    const char *nl = memchr(x->text + p, '\n', len - p);
    size_t end = nl ? (size_t)(nl - x->text) : len, l = end - p;
    if (l && x->text[p + l - 1] == '\r') l--;
    size_t at = p;
    p = end + 1;
    if (l == 0) continue;
    bool number = x->text[at] >= '0' && x->text[at] <= '9';
    if (first && !number) { /* the optional header */
      first = false;
      continue;
    }
    first = false;
    char *e;
    long long ts = number ? strtoll(x->text + at, &e, 10) : -1;
    if (ts >= 100000000000000LL) ts /= 1000; /* microseconds, as the loader reads them */
    if (k >= s->n || ts != s->c[k].ts)
      return lb_fail(eb, LB_EPARSE, "%s: cannot match row %zu to the candle loaded from it", path, k + 1);
    x->row[k++] = (dl_row){ts, at, l};
  }
  if (k != s->n)
    return lb_fail(eb, LB_EPARSE, "%s: %zu rows for %zu candles", path, k, s->n);
  x->n = k;
  return LB_OK;
}

static lb_err existing_check(const data_series *s, const data_load_info *info, lb_ms tf,
                             const char *path, lb_errbuf *eb) {
  char a[16], b[16], t[LB_TIME_ISO_LEN];
  if (info->format != DATA_FMT_BINANCE_CSV)
    return lb_fail(eb, LB_EUNSUPPORTED,
                   "%s is a %s file, not a Binance kline CSV: choose another output file", path,
                   data_format_name(info->format));
  if (s->n >= 2 && info->timeframe != tf)
    return lb_fail(eb, LB_EUNSUPPORTED, "%s holds %s candles, not %s", path,
                   lb_timeframe_name(info->timeframe, a, sizeof a), lb_timeframe_name(tf, b, sizeof b));
  for (size_t i = 0; i < s->n; i++)
    if (data_bucket_start(s->c[i].ts, tf) != s->c[i].ts) {
      lb_time_fmt_iso(s->c[i].ts, t, sizeof t);
      return lb_fail(eb, LB_EUNSUPPORTED, "%s: the row at %s is not on the %s grid", path, t,
                     lb_timeframe_name(tf, a, sizeof a));
    }
  return LB_OK;
}

/* Loads `path` if it exists (an empty file counts as absent). */
static lb_err existing_load(const char *path, lb_ms tf, dl_existing *x, lb_errbuf *eb) {
  memset(x, 0, sizeof *x);
  struct stat st;
  if (stat(path, &st) != 0) {
    if (errno == ENOENT) return LB_OK;
    return lb_fail(eb, LB_EIO, "%s: %s", path, strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) return lb_fail(eb, LB_EIO, "%s is not a regular file", path);
  if (st.st_size == 0) return LB_OK;
  data_series s;
  data_load_info info;
  data_series_init(&s);
  lb_err rc = data_load_file(path, DATA_FMT_AUTO, &s, &info, eb);
  if (!rc) rc = existing_check(&s, &info, tf, path, eb);
  lb_buf b;
  lb_buf_init(&b);
  if (!rc) rc = lb_buf_read_file(&b, path, 0, eb);
  if (!rc) {
    size_t len = b.len;
    x->text = lb_buf_steal(&b);
    rc = x->text ? index_rows(x, len, &s, path, eb) : lb_fail(eb, LB_ENOMEM, "out of memory");
  }
  lb_buf_free(&b);
  data_series_close(&s);
  if (rc) existing_close(x);
  return rc;
}

/* ==== Fetching ==== */

typedef struct {
  xchg *x;
  const xchg_dl_params *p;
  const lb_clock *clock;
  lb_ms tf, start, to;
  bool clamped;            /* `to` was beyond the bar forming now */
  const dl_existing *ex;
  data_series got;         /* new candles, ascending */
  xchg_dl_result *res;
  xchg_dl_progress prog;
} dl;

static const char *iso(lb_ms t, char *b, size_t n) {
  lb_time_fmt_iso(t, b, n);
  if (n > 16) b[16] = '\0'; /* "2022-05-04T00:00" */
  b[10] = ' ';
  return b;
}

/* One klines call, repeated while the venue says "retryable". */
static lb_err fetch(dl *d, lb_ms a, lb_ms b, data_series *out, lb_errbuf *eb) {
  for (int attempt = 0;; attempt++) {
    data_series_close(out);
    xchg_error err;
    memset(&err, 0, sizeof err);
    d->res->calls++;
    xchg_kind k = d->x->ops->klines(d->x, d->p->symbol, d->tf, a, b, out, &err);
    if (k == XCHG_OK) return LB_OK;
    data_series_close(out);
    if (k == XCHG_RETRYABLE && attempt < d->p->retries) {
      d->res->retries_used++;
      lb_ms wait = LB_MS_SECOND << (attempt < 5 ? attempt : 5);
      if (err.retry_after > wait) wait = err.retry_after;
      lb_clock_sleep(d->clock, wait);
      continue;
    }
    if (k == XCHG_RETRYABLE)
      return lb_fail(eb, LB_ENET, "%s (gave up after %d attempt%s)", err.msg, attempt + 1,
                     attempt ? "s" : "");
    return lb_fail(eb, LB_EREJECTED, "%s", err.msg);
  }
}

/* Candle c answered a request for [lo, hi): is it one we can keep? */
static lb_err check_candle(dl *d, const data_candle *c, lb_ms lo, lb_ms hi, lb_errbuf *eb) {
  char t[LB_TIME_ISO_LEN], u[LB_TIME_ISO_LEN], tfn[16];
  lb_errbuf why;
  if (data_candle_check(c, &why) != LB_OK)
    return lb_fail(eb, LB_EREJECTED, "the exchange sent an invalid candle at %s: %s",
                   iso(c->ts, t, sizeof t), why.msg);
  if (data_bucket_start(c->ts, d->tf) != c->ts)
    return lb_fail(eb, LB_EREJECTED, "the exchange sent a candle at %s, off the %s grid",
                   iso(c->ts, t, sizeof t), lb_timeframe_name(d->tf, tfn, sizeof tfn));
  if (c->ts < lo || c->ts >= hi)
    return lb_fail(eb, LB_EREJECTED, "the exchange sent a candle at %s for a request from %s",
                   iso(c->ts, t, sizeof t), iso(lo, u, sizeof u));
  if (d->got.n > 0 && c->ts <= d->got.c[d->got.n - 1].ts)
    return lb_fail(eb, LB_EREJECTED, "the exchange sent the candle at %s after the one at %s",
                   iso(c->ts, t, sizeof t), iso(d->got.c[d->got.n - 1].ts, u, sizeof u));
  return LB_OK;
}

static lb_err keep(dl *d, const data_candle *c, lb_errbuf *eb) {
  if (data_series_push(&d->got, c) != LB_OK) return lb_fail(eb, LB_ENOMEM, "out of memory");
  d->prog.candles = d->got.n;
  return LB_OK;
}

/* Is there any candle (in the file or new) before t? */
static bool anything_before(const dl *d, lb_ms t) {
  if (d->got.n > 0 && d->got.c[0].ts < t) return true;
  return d->ex->n > 0 && d->ex->row[0].ts < t;
}

/* The file's first row at or after t (0 if none).  New candles need not
 * be looked at: windows are fetched in time order, so none lies after t
 * yet when this is asked. */
static lb_ms next_known(const dl *d, lb_ms t) {
  size_t lo = 0, hi = d->ex->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (d->ex->row[mid].ts < t) lo = mid + 1;
    else hi = mid;
  }
  return lo < d->ex->n ? d->ex->row[lo].ts : 0;
}

/* Bars [g0, g1) are still missing after asking twice. */
static lb_err missing(dl *d, lb_ms g0, lb_ms g1, lb_errbuf *eb) {
  xchg_dl_result *r = d->res;
  if (!anything_before(d, g0)) { /* before the symbol's history starts */
    lb_ms after = g1 < d->to ? g1 : next_known(d, g1);
    if (after) r->history_start = after;
    return LB_OK;
  }
  /* The newest bar may not count as closed on the exchange's clock yet. */
  if (d->clamped && g1 == d->to && g1 - g0 <= d->tf && !next_known(d, g1)) return LB_OK;
  if (r->gaps < XCHG_DL_GAPS_LISTED) r->gap[r->gaps] = (xchg_dl_span){g0, g1};
  r->gaps++;
  r->missing_bars += (size_t)((g1 - g0) / d->tf);
  if (d->p->allow_gaps) return LB_OK;
  char a[LB_TIME_ISO_LEN], b[LB_TIME_ISO_LEN], tfn[16];
  long long bars = (long long)((g1 - g0) / d->tf);
  return lb_fail(eb, LB_ENOTFOUND,
                 "the exchange has no %s %s candles from %s to %s UTC (%lld bar%s, asked twice); "
                 "--allow-gaps writes the file with this gap",
                 d->p->symbol, lb_timeframe_name(d->tf, tfn, sizeof tfn), iso(g0, a, sizeof a),
                 iso(g1, b, sizeof b), bars, bars == 1 ? "" : "s");
}

/* Bars [h0, h1) did not come: ask for exactly them once more. */
static lb_err fill_hole(dl *d, lb_ms h0, lb_ms h1, lb_errbuf *eb) {
  data_series again;
  data_series_init(&again);
  lb_err rc = fetch(d, h0, h1, &again, eb);
  lb_ms expect = h0;
  for (size_t i = 0; i < again.n && !rc; i++) {
    const data_candle *c = &again.c[i];
    rc = check_candle(d, c, h0, h1, eb);
    if (!rc && c->ts > expect) rc = missing(d, expect, c->ts, eb);
    if (!rc) rc = keep(d, c, eb);
    expect = c->ts + d->tf;
  }
  if (!rc && expect < h1) rc = missing(d, expect, h1, eb);
  data_series_close(&again);
  return rc;
}

static lb_err fetch_window(dl *d, lb_ms a, lb_ms b, lb_errbuf *eb) {
  long chunk = d->p->chunk_bars > 0 && d->p->chunk_bars <= 1000000 ? d->p->chunk_bars : XCHG_DL_CHUNK_BARS;
  lb_ms expect = a;
  data_series part;
  data_series_init(&part);
  lb_err rc = LB_OK;
  for (lb_ms cur = a; cur < b && !rc;) {
    lb_ms cend = b - cur > chunk * d->tf ? cur + chunk * d->tf : b;
    rc = fetch(d, cur, cend, &part, eb);
    for (size_t i = 0; i < part.n && !rc; i++) {
      const data_candle *c = &part.c[i];
      rc = check_candle(d, c, cur, cend, eb);
      if (!rc && c->ts > expect) rc = fill_hole(d, expect, c->ts, eb);
      if (!rc) rc = keep(d, c, eb);
      expect = c->ts + d->tf;
    }
    d->prog.done += (cend - cur) / d->tf;
    if (d->p->progress) d->p->progress(d->p->progress_ctx, &d->prog);
    cur = cend;
  }
  if (!rc && expect < b) rc = fill_hole(d, expect, b, eb);
  data_series_close(&part);
  return rc;
}

/* The runs of bars in [start, to) that the file lacks. */
static lb_err plan_windows(const dl *d, xchg_dl_span **out, size_t *n, lb_errbuf *eb) {
  *out = calloc(d->ex->n + 1, sizeof **out);
  if (!*out) return lb_fail(eb, LB_ENOMEM, "out of memory");
  *n = 0;
  lb_ms at = d->start;
  for (size_t i = 0; i < d->ex->n; i++) {
    lb_ms t = d->ex->row[i].ts;
    if (t < at) continue;
    if (t >= d->to) break;
    if (t > at) (*out)[(*n)++] = (xchg_dl_span){at, t};
    at = t + d->tf;
  }
  if (at < d->to) (*out)[(*n)++] = (xchg_dl_span){at, d->to};
  return LB_OK;
}

/* ==== Writing the merge ==== */

static lb_err write_merged(const dl *d, lb_errbuf *eb) {
  dl_file a;
  lb_err rc = file_open(&a, d->p->path, eb);
  if (rc) return rc;
  size_t i = 0, j = 0;
  const dl_existing *x = d->ex;
  while (i < x->n || j < d->got.n) {
    if (j == d->got.n || (i < x->n && x->row[i].ts < d->got.c[j].ts)) {
      fwrite(x->text + x->row[i].off, 1, x->row[i].len, a.f);
      fputc('\n', a.f);
      i++;
    } else {
      write_row(a.f, &d->got.c[j++], d->tf);
    }
  }
  return file_commit(&a, eb);
}

static void summarize(const dl *d, xchg_dl_result *r) {
  r->kept = d->ex->n;
  r->downloaded = d->got.n;
  r->rows = r->kept + r->downloaded;
  lb_ms f1 = d->ex->n ? d->ex->row[0].ts : INT64_MAX, f2 = d->got.n ? d->got.c[0].ts : INT64_MAX;
  lb_ms l1 = d->ex->n ? d->ex->row[d->ex->n - 1].ts : 0, l2 = d->got.n ? d->got.c[d->got.n - 1].ts : 0;
  r->first = r->rows ? (f1 < f2 ? f1 : f2) : 0;
  r->last = l1 > l2 ? l1 : l2;
}

/* ==== Entry point ==== */

static lb_err check_params(const xchg_dl_params *p, lb_errbuf *eb) {
  char tfn[16];
  if (!p->symbol || !p->symbol[0]) return lb_fail(eb, LB_EINVAL, "no symbol given");
  if (!p->path || !p->path[0]) return lb_fail(eb, LB_EINVAL, "no output file given");
  if (p->timeframe <= 0 || lb_timeframe_name(p->timeframe, tfn, sizeof tfn)[0] == '?')
    return lb_fail(eb, LB_EINVAL, "%lld ms is not a kline interval", (long long)p->timeframe);
  if (p->from >= p->to) return lb_fail(eb, LB_EINVAL, "the range is empty (from is not before to)");
  if (p->retries < 0) return lb_fail(eb, LB_EINVAL, "retries must be >= 0");
  return LB_OK;
}

lb_err xchg_download_klines(xchg *x, const xchg_dl_params *p, xchg_dl_result *res, lb_errbuf *eb) {
  memset(res, 0, sizeof *res);
  lb_err rc = check_params(p, eb);
  if (rc) return rc;
  dl d;
  memset(&d, 0, sizeof d);
  d.x = x;
  d.p = p;
  d.res = res;
  d.clock = p->clock ? p->clock : &lb_clock_system;
  d.tf = p->timeframe;
  d.start = data_bucket_start(p->from, d.tf);
  if (d.start < p->from) d.start += d.tf;
  lb_ms forming = data_bucket_start(lb_clock_now(d.clock), d.tf);
  d.clamped = p->to > forming;
  d.to = d.clamped ? forming : p->to;
  res->to_effective = d.to;
  char a[LB_TIME_ISO_LEN], b[LB_TIME_ISO_LEN];
  if (d.start >= d.to) {
    if (d.clamped)
      return lb_fail(eb, LB_EINVAL, "no closed candle in the range yet (the first bar, from %s UTC, "
                                    "is still forming or in the future)", iso(d.start, a, sizeof a));
    return lb_fail(eb, LB_EINVAL, "no bar opens between %s and %s UTC", iso(p->from, a, sizeof a),
                   iso(p->to, b, sizeof b));
  }
  dl_existing ex;
  rc = existing_load(p->path, d.tf, &ex, eb);
  if (rc) return rc;
  d.ex = &ex;
  data_series_init(&d.got);
  snprintf(d.got.symbol, sizeof d.got.symbol, "%s", p->symbol);
  d.got.timeframe = d.tf;
  xchg_dl_span *win = NULL;
  size_t nwin = 0;
  rc = plan_windows(&d, &win, &nwin, eb);
  for (size_t i = 0; i < nwin && !rc; i++) d.prog.total += (win[i].end - win[i].start) / d.tf;
  for (size_t i = 0; i < nwin && !rc; i++) rc = fetch_window(&d, win[i].start, win[i].end, eb);
  summarize(&d, res);
  if (!rc && res->rows == 0)
    rc = lb_fail(eb, LB_ENOTFOUND, "the exchange has no %s candles between %s and %s UTC", p->symbol,
                 iso(d.start, a, sizeof a), iso(d.to, b, sizeof b));
  if (d.got.n > 0) {
    /* Also after a failure: what arrived is valid, and the next run resumes from it. */
    lb_errbuf web;
    lb_err wrc = write_merged(&d, rc ? &web : eb);
    if (wrc && rc) {
      char first[LB_ERRBUF_SIZE];
      snprintf(first, sizeof first, "%s", eb->msg);
      lb_fail(eb, rc, "%s; and %s", first, web.msg);
    } else if (wrc) {
      rc = wrc;
    } else {
      res->written = true;
    }
  }
  free(win);
  data_series_close(&d.got);
  existing_close(&ex);
  return rc;
}
