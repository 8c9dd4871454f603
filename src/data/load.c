/* load.c -- candle file loaders: sniffing, parsing, validation (see data.h).
 *
 * Every loader turns rows into data_candle and hands them to add_candle(),
 * the one place that enforces the series invariants (validity of each
 * candle, strictly increasing time) and writes the "FILE line N: ..."
 * message.  Files that are not candles are recognised and refused with a
 * reason instead of being misread: a trade list or a funding-rate file that
 * "loads" would quietly feed nonsense to the indicators.
 */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "core/buf.h"
#include "data/data.h"

#define MAX_FILE_BYTES ((size_t)1 << 30)
#define MAX_FIELDS 16

const char *data_format_name(data_format f) {
  switch (f) {
  case DATA_FMT_FREQTRADE_JSON: return "freqtrade-json";
  case DATA_FMT_BINANCE_CSV: return "binance-csv";
  case DATA_FMT_PLAIN_CSV: return "plain-csv";
  case DATA_FMT_LEAN_BARS: return "lean-bars";
  default: return "auto";
  }
}

/* ==== Small text helpers ==== */

typedef struct {
  const char *p, *end;
  int lineno;
} line_iter;

static bool next_line(line_iter *it, const char **s, size_t *n) {
  while (it->p < it->end) {
    const char *start = it->p;
    const char *nl = memchr(start, '\n', (size_t)(it->end - start));
    const char *stop = nl ? nl : it->end;
    it->p = nl ? nl + 1 : it->end;
    it->lineno++;
    size_t len = (size_t)(stop - start);
    if (len && start[len - 1] == '\r') len--;
    if (len == 0) continue; /* blank lines (a trailing newline) are not rows */
    *s = start;
    *n = len;
    return true;
  }
  return false;
}

typedef struct {
  const char *s;
  size_t n;
} field;

static int split_csv(const char *s, size_t n, field *f, int max) {
  int k = 0;
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == ',') {
      if (k < max) f[k] = (field){s + start, i - start};
      k++;
      start = i + 1;
    }
  }
  return k;
}

static bool parse_double(field f, double *out) {
  char buf[64];
  if (f.n == 0 || f.n >= sizeof buf) return false;
  memcpy(buf, f.s, f.n);
  buf[f.n] = '\0';
  if (isspace((unsigned char)buf[0])) return false;
  char *end;
  errno = 0;
  double v = strtod(buf, &end);
  if (*end || errno == ERANGE || !isfinite(v)) return false;
  *out = v;
  return true;
}

static bool parse_int64(field f, int64_t *out) {
  char buf[32];
  if (f.n == 0 || f.n >= sizeof buf) return false;
  memcpy(buf, f.s, f.n);
  buf[f.n] = '\0';
  if (!(isdigit((unsigned char)buf[0]) || buf[0] == '-')) return false;
  char *end;
  errno = 0;
  long long v = strtoll(buf, &end, 10);
  if (*end || errno) return false;
  *out = v;
  return true;
}

static bool is_number_text(field f) {
  double d;
  return parse_double(f, &d);
}

/* "20221213 00:00" or "20221213 00:00:00" -> ms. */
static bool parse_lean_datetime(field f, lb_ms *out) {
  char buf[32];
  if (f.n < 8 || f.n >= sizeof buf) return false;
  memcpy(buf, f.s, f.n);
  buf[f.n] = '\0';
  for (int i = 0; i < 8; i++)
    if (!isdigit((unsigned char)buf[i])) return false;
  char iso[40];
  snprintf(iso, sizeof iso, "%.4s-%.2s-%.2s%s%s", buf, buf + 4, buf + 6, f.n > 8 ? "T" : "",
           f.n > 8 ? buf + 9 : "");
  if (f.n > 8 && buf[8] != ' ') return false;
  return lb_time_parse_iso(iso, out) == LB_OK;
}

static bool is_iso_time(field f) {
  char buf[48];
  lb_ms t;
  if (f.n == 0 || f.n >= sizeof buf) return false;
  memcpy(buf, f.s, f.n);
  buf[f.n] = '\0';
  return lb_time_parse_iso(buf, &t) == LB_OK;
}

static const char *base_name(const char *path) {
  const char *b = strrchr(path, '/');
  return b ? b + 1 : path;
}

static bool name_has(const char *name, const char *needle) {
  return strstr(base_name(name), needle) != NULL;
}

/* ==== Symbol from file name ==== */

void data_symbol_from_name(const char *path, char *out, size_t n) {
  char stem[256];
  snprintf(stem, sizeof stem, "%s", base_name(path));
  stem[strcspn(stem, ".")] = '\0';
  char parts[8][64];
  int np = 0;
  /* LEAN minute files: YYYYMMDD_sym_minute_... */
  char *dash = strchr(stem, '-');
  if (dash && strncasecmp(dash + 1, "perp", 4) == 0) { /* "btc-perp-..." */
    memmove(dash, dash + 1, strlen(dash));
    dash = strchr(dash, '-');
  }
  if (dash) *dash = '\0';
  for (char *p = stem; *p && np < 8;) {
    size_t w = strcspn(p, "_");
    snprintf(parts[np++], 64, "%.*s", (int)w, p);
    p += w + (p[w] ? 1 : 0);
  }
  char sym[128] = "";
  if (np == 0 || !parts[0][0]) {
    snprintf(out, n, "UNKNOWN");
    return;
  }
  bool lean = strlen(parts[0]) == 8 && strspn(parts[0], "0123456789") == 8;
  if (lean && np > 1) snprintf(sym, sizeof sym, "%s", parts[1]);
  else if (np >= 3 && strcasecmp(parts[1], parts[2]) == 0) snprintf(sym, sizeof sym, "%s%s", parts[0], parts[1]);
  else if (np == 2) snprintf(sym, sizeof sym, "%s%s", parts[0], parts[1]);
  else if (np > 3) snprintf(sym, sizeof sym, "%s", parts[np - 1]);
  else if (np == 3 && (strcasecmp(parts[1], "trade") == 0 || strcasecmp(parts[1], "quote") == 0))
    snprintf(sym, sizeof sym, "%s", parts[0]); /* LEAN hour/daily: adausdt_trade_perp */
  else snprintf(sym, sizeof sym, "%s", parts[0]);
  size_t k = 0;
  for (char *p = sym; *p && k + 1 < n; p++)
    if (isalnum((unsigned char)*p)) out[k++] = (char)toupper((unsigned char)*p);
  out[k] = '\0';
  if (k == 0) snprintf(out, n, "UNKNOWN");
}

/* ==== The one place rows become a series ==== */

typedef struct {
  const char *name;
  data_series *out;
  data_load_info *info;
  lb_errbuf *eb;
} load_ctx;

static lb_err add_candle(load_ctx *lc, const data_candle *c, const char *where, int pos) {
  lb_errbuf why;
  if (data_candle_check(c, &why) != LB_OK)
    return lb_fail(lc->eb, LB_EPARSE, "%s %s %d: %s", lc->name, where, pos, why.msg);
  if (lc->out->n > 0) {
    lb_ms prev = lc->out->c[lc->out->n - 1].ts;
    if (c->ts <= prev) {
      char a[LB_TIME_ISO_LEN], b[LB_TIME_ISO_LEN];
      lb_time_fmt_iso(c->ts, a, sizeof a);
      lb_time_fmt_iso(prev, b, sizeof b);
      return lb_fail(lc->eb, LB_EPARSE,
                     "%s %s %d: field 'ts' %s is not after the previous row's %s (timestamps "
                     "must strictly increase)",
                     lc->name, where, pos, a, b);
    }
  }
  if (data_series_push(lc->out, c)) return lb_fail(lc->eb, LB_ENOMEM, "%s: out of memory", lc->name);
  return LB_OK;
}

static lb_err bad_field(load_ctx *lc, int line, const char *fname, field f) {
  return lb_fail(lc->eb, LB_EPARSE, "%s line %d: field '%s' is not a number: '%.*s'", lc->name,
                 line, fname, (int)(f.n > 40 ? 40 : f.n), f.s);
}

/* Timestamps of candle files are epoch milliseconds; Binance spot data
 * since 2025 uses microseconds, and a 10-digit number is seconds (refused:
 * guessing would silently shift the data). */
static lb_err normalise_ts(load_ctx *lc, int line, int64_t raw, lb_ms *out) {
  if (raw >= INT64_C(100000000000000)) raw /= 1000; /* microseconds */
  if (raw < INT64_C(100000000000))
    return lb_fail(lc->eb, LB_EPARSE,
                   "%s line %d: field 'ts' %lld looks like seconds; expected epoch milliseconds or "
                   "an ISO-8601 UTC time",
                   lc->name, line, (long long)raw);
  *out = raw;
  return LB_OK;
}

static const char *const ohlcv_names[] = {"open", "high", "low", "close", "volume"};

/* Parses fields f[0..4] as open, high, low, close, volume (volume may be
 * empty: mark-price files). */
static lb_err parse_ohlcv(load_ctx *lc, int line, const field *f, data_candle *c) {
  double *dst[] = {&c->open, &c->high, &c->low, &c->close, &c->volume};
  for (int i = 0; i < 5; i++) {
    if (i == 4 && f[i].n == 0) {
      c->volume = 0;
      lc->info->no_volume = true;
      continue;
    }
    if (!parse_double(f[i], dst[i])) return bad_field(lc, line, ohlcv_names[i], f[i]);
  }
  return LB_OK;
}

/* ==== CSV formats ==== */

typedef enum { TS_EPOCH_MS, TS_ISO, TS_LEAN_MINUTE, TS_LEAN_DATETIME } ts_kind;

static lb_err load_csv(load_ctx *lc, const char *text, size_t len, data_format fmt, bool header,
                       ts_kind tsk, lb_ms lean_day) {
  line_iter it = {text, text + len, 0};
  const char *s;
  size_t n;
  field f[MAX_FIELDS];
  int want = fmt == DATA_FMT_BINANCE_CSV ? 12 : 6;
  lc->info->format = fmt;
  if (header && !next_line(&it, &s, &n)) return LB_OK;
  while (next_line(&it, &s, &n)) {
    int nf = split_csv(s, n, f, MAX_FIELDS);
    if (nf != want)
      return lb_fail(lc->eb, LB_EPARSE, "%s line %d: expected %d fields, found %d%s", lc->name,
                     it.lineno, want, nf, nf < want ? " (truncated row?)" : "");
    data_candle c = {0};
    lb_err rc;
    if (tsk == TS_EPOCH_MS) {
      int64_t raw;
      if (!parse_int64(f[0], &raw))
        return lb_fail(lc->eb, LB_EPARSE, "%s line %d: field 'ts' is not an integer: '%.*s'",
                       lc->name, it.lineno, (int)(f[0].n > 40 ? 40 : f[0].n), f[0].s);
      if ((rc = normalise_ts(lc, it.lineno, raw, &c.ts))) return rc;
    } else if (tsk == TS_ISO) {
      char buf[48];
      snprintf(buf, sizeof buf, "%.*s", (int)(f[0].n < 47 ? f[0].n : 47), f[0].s);
      if (lb_time_parse_iso(buf, &c.ts) != LB_OK)
        return lb_fail(lc->eb, LB_EPARSE, "%s line %d: field 'ts' is not an ISO-8601 UTC time: '%s'",
                       lc->name, it.lineno, buf);
    } else if (tsk == TS_LEAN_MINUTE) {
      int64_t ms;
      if (!parse_int64(f[0], &ms) || ms < 0 || ms >= LB_MS_DAY)
        return lb_fail(lc->eb, LB_EPARSE, "%s line %d: field 'ms_since_midnight' is not 0..86399999",
                       lc->name, it.lineno);
      c.ts = lean_day + ms;
    } else {
      if (!parse_lean_datetime(f[0], &c.ts))
        return lb_fail(lc->eb, LB_EPARSE, "%s line %d: field 'time' is not YYYYMMDD HH:MM", lc->name,
                       it.lineno);
    }
    if ((rc = parse_ohlcv(lc, it.lineno, f + 1, &c))) return rc;
    if ((rc = add_candle(lc, &c, "line", it.lineno))) return rc;
  }
  return LB_OK;
}

/* ==== freqtrade JSON ==== */

static bool json_num(json_t *v, double *out) {
  if (!json_is_number(v)) return false;
  *out = json_number_value(v);
  return isfinite(*out);
}

static lb_err load_freqtrade_json(load_ctx *lc, const char *text, size_t len) {
  json_error_t jerr;
  json_t *root = json_loadb(text, len, 0, &jerr);
  if (!root)
    return lb_fail(lc->eb, LB_EPARSE, "%s line %d: invalid JSON: %s (truncated file?)", lc->name,
                   jerr.line, jerr.text);
  lb_err rc = LB_OK;
  if (!json_is_array(root)) {
    rc = lb_fail(lc->eb, LB_EPARSE, "%s: expected a JSON array of [ms, open, high, low, close, volume]",
                 lc->name);
    goto out;
  }
  size_t i;
  json_t *row;
  json_array_foreach(root, i, row) {
    int pos = (int)i + 1;
    if (!json_is_array(row) || json_array_size(row) != 6) {
      rc = lb_fail(lc->eb, LB_EPARSE, "%s row %d: expected [ms, open, high, low, close, volume]",
                   lc->name, pos);
      goto out;
    }
    data_candle c = {0};
    double ts;
    if (!json_num(json_array_get(row, 0), &ts) || ts != floor(ts)) {
      rc = lb_fail(lc->eb, LB_EPARSE, "%s row %d: field 'ts' is not an integer", lc->name, pos);
      goto out;
    }
    if ((rc = normalise_ts(lc, pos, (int64_t)ts, &c.ts))) goto out;
    double *dst[] = {&c.open, &c.high, &c.low, &c.close, &c.volume};
    for (int k = 0; k < 5; k++) {
      json_t *v = json_array_get(row, (size_t)k + 1);
      if (k == 4 && json_is_null(v)) {
        lc->info->no_volume = true;
        continue;
      }
      if (!json_num(v, dst[k])) {
        rc = lb_fail(lc->eb, LB_EPARSE, "%s row %d: field '%s' is not a number", lc->name, pos,
                     ohlcv_names[k]);
        goto out;
      }
    }
    if ((rc = add_candle(lc, &c, "row", pos))) goto out;
  }
out:
  json_decref(root);
  return rc;
}

/* ==== Sniffing ==== */

static lb_err refuse(load_ctx *lc, const char *what) {
  return lb_fail(lc->eb, LB_EUNSUPPORTED, "%s: %s, not candles", lc->name, what);
}

static void lower_field(field f, char *out, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < f.n && k + 1 < n; i++) out[k++] = (char)tolower((unsigned char)f.s[i]);
  out[k] = '\0';
}

/* Decides the format of a CSV file from its first line and name, then loads. */
static lb_err load_csv_sniffed(load_ctx *lc, const char *text, size_t len, data_format fmt) {
  line_iter it = {text, text + len, 0};
  const char *s;
  size_t n;
  if (!next_line(&it, &s, &n)) return LB_OK;
  field f[MAX_FIELDS];
  int nf = split_csv(s, n, f, MAX_FIELDS);
  char h0[64];
  lower_field(f[0], h0, sizeof h0);
  bool header = !is_number_text(f[0]) && !parse_lean_datetime(f[0], &(lb_ms){0}) && !is_iso_time(f[0]);
  bool funding = name_has(lc->name, "funding_rate");
  if (header) {
    if (strcmp(h0, "symbol") == 0 && nf > 6) return refuse(lc, "order-book depth data");
    if (strcmp(h0, "exchange") == 0) return refuse(lc, "order-book snapshots (tardis layout)");
    if (nf == 12 && (fmt == DATA_FMT_AUTO || fmt == DATA_FMT_BINANCE_CSV) &&
        strcmp(h0, "open_time") == 0)
      return load_csv(lc, text, len, DATA_FMT_BINANCE_CSV, true, TS_EPOCH_MS, 0);
    if (nf == 6 && (strcmp(h0, "ts") == 0 || strcmp(h0, "timestamp") == 0 || strcmp(h0, "date") == 0 ||
                    strcmp(h0, "time") == 0 || strcmp(h0, "datetime") == 0)) {
      if (funding) return refuse(lc, "funding rates (rate in the open column; load with data_load_funding)");
      if (fmt != DATA_FMT_AUTO && fmt != DATA_FMT_PLAIN_CSV)
        return lb_fail(lc->eb, LB_EPARSE, "%s: header is plain ts,open,high,low,close,volume, not %s",
                       lc->name, data_format_name(fmt));
      /* ms or ISO: decided by the first data row */
      const char *s2;
      size_t n2;
      if (!next_line(&it, &s2, &n2)) return LB_OK;
      field g[MAX_FIELDS];
      split_csv(s2, n2, g, MAX_FIELDS);
      int64_t raw;
      ts_kind k = parse_int64(g[0], &raw) ? TS_EPOCH_MS : TS_ISO;
      return load_csv(lc, text, len, DATA_FMT_PLAIN_CSV, true, k, 0);
    }
    return lb_fail(lc->eb, LB_EUNSUPPORTED,
                   "%s line 1: unknown header '%.*s' (expected ts,open,high,low,close,volume or a "
                   "Binance kline header)",
                   lc->name, (int)(n > 80 ? 80 : n), s);
  }
  /* No header. */
  if (nf == 2 && parse_lean_datetime(f[0], &(lb_ms){0}))
    return refuse(lc, "funding rates (LEAN margin_interest; load with data_load_funding)");
  if (nf == 11 || name_has(lc->name, "_quote")) return refuse(lc, "LEAN quote bars (bid/ask)");
  if (nf == 12 && (fmt == DATA_FMT_AUTO || fmt == DATA_FMT_BINANCE_CSV))
    return load_csv(lc, text, len, DATA_FMT_BINANCE_CSV, false, TS_EPOCH_MS, 0);
  if (nf == 6 && parse_lean_datetime(f[0], &(lb_ms){0}) && (fmt == DATA_FMT_AUTO || fmt == DATA_FMT_LEAN_BARS))
    return load_csv(lc, text, len, DATA_FMT_LEAN_BARS, false, TS_LEAN_DATETIME, 0);
  if (nf == 6) {
    /* LEAN minute bars carry the day only in the file name. */
    const char *b = base_name(lc->name);
    int64_t first;
    if ((fmt == DATA_FMT_AUTO || fmt == DATA_FMT_LEAN_BARS) && strspn(b, "0123456789") == 8 &&
        b[8] == '_' && parse_int64(f[0], &first) && first < LB_MS_DAY) {
      char iso[16];
      snprintf(iso, sizeof iso, "%.4s-%.2s-%.2s", b, b + 4, b + 6);
      lb_ms day;
      if (lb_time_parse_iso(iso, &day) != LB_OK)
        return lb_fail(lc->eb, LB_EPARSE, "%s: file name does not start with a valid YYYYMMDD date", lc->name);
      return load_csv(lc, text, len, DATA_FMT_LEAN_BARS, false, TS_LEAN_MINUTE, day);
    }
    if (funding) return refuse(lc, "funding rates (rate in the open column; load with data_load_funding)");
    if (fmt == DATA_FMT_AUTO || fmt == DATA_FMT_PLAIN_CSV) {
      int64_t raw;
      return load_csv(lc, text, len, DATA_FMT_PLAIN_CSV, false,
                      parse_int64(f[0], &raw) ? TS_EPOCH_MS : TS_ISO, 0);
    }
  }
  return lb_fail(lc->eb, LB_EUNSUPPORTED,
                 "%s line 1: %d fields; not a known candle layout (freqtrade JSON, Binance 12-column "
                 "kline CSV, ts,open,high,low,close,volume CSV, LEAN trade bars)",
                 lc->name, nf);
}

/* ==== Grid statistics ==== */

static int cmp_ms(const void *a, const void *b) {
  lb_ms x = *(const lb_ms *)a, y = *(const lb_ms *)b;
  return (x > y) - (x < y);
}

/* Most common step between bars (over the first 4096 steps). */
static lb_ms detect_timeframe(const data_series *s) {
  size_t m = s->n > 1 ? s->n - 1 : 0;
  if (m > 4096) m = 4096;
  if (m == 0) return 0;
  lb_ms *d = malloc(m * sizeof *d);
  if (!d) return 0;
  for (size_t i = 0; i < m; i++) d[i] = s->c[i + 1].ts - s->c[i].ts;
  qsort(d, m, sizeof *d, cmp_ms);
  lb_ms best = d[0];
  size_t best_run = 0, run = 0;
  for (size_t i = 0; i < m; i++) {
    run = (i > 0 && d[i] == d[i - 1]) ? run + 1 : 1;
    if (run > best_run) {
      best_run = run;
      best = d[i];
    }
  }
  free(d);
  return best;
}

static void grid_stats(const data_series *s, data_load_info *info) {
  info->rows = s->n;
  info->timeframe = s->timeframe;
  if (s->n == 0) return;
  info->first = s->c[0].ts;
  info->last = s->c[s->n - 1].ts;
  if (s->timeframe <= 0) return;
  for (size_t i = 1; i < s->n; i++) {
    lb_ms d = s->c[i].ts - s->c[i - 1].ts;
    if (d <= s->timeframe) continue;
    info->gaps++;
    info->missing_bars += (size_t)((d + s->timeframe / 2) / s->timeframe) - 1;
    if (d > info->largest_gap) info->largest_gap = d;
  }
}

/* ==== Entry points ==== */

lb_err data_load_buffer(const char *text, size_t len, const char *name, data_format fmt,
                        data_series *out, data_load_info *info, lb_errbuf *eb) {
  data_load_info local;
  if (!info) info = &local;
  memset(info, 0, sizeof *info);
  data_series_init(out);
  load_ctx lc = {name, out, info, eb};
  /* Skip a UTF-8 byte-order mark and leading white space. */
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) text += 3, len -= 3;
  size_t skip = 0;
  while (skip < len && isspace((unsigned char)text[skip])) skip++;
  if (skip == len) return lb_fail(eb, LB_EPARSE, "%s: empty file (no candles)", name);
  lb_err rc;
  if (text[skip] == '[') {
    if (fmt != DATA_FMT_AUTO && fmt != DATA_FMT_FREQTRADE_JSON)
      rc = lb_fail(eb, LB_EPARSE, "%s: JSON content, not %s", name, data_format_name(fmt));
    else if (name_has(name, "funding_rate"))
      rc = refuse(&lc, "funding rates (rate in the open column; load with data_load_funding)");
    else if (name_has(name, "trades"))
      rc = refuse(&lc, "a trade list ([ms, id, order, side, price, amount, cost])");
    else {
      info->format = DATA_FMT_FREQTRADE_JSON;
      rc = load_freqtrade_json(&lc, text, len);
    }
  } else {
    rc = load_csv_sniffed(&lc, text, len, fmt);
  }
  if (rc == LB_OK && out->n == 0) rc = lb_fail(eb, LB_EPARSE, "%s: no data rows (no candles)", name);
  if (rc != LB_OK) {
    data_series_close(out);
    return rc;
  }
  data_symbol_from_name(name, out->symbol, sizeof out->symbol);
  out->timeframe = detect_timeframe(out);
  grid_stats(out, info);
  return LB_OK;
}

/* Reads a file, inflating gzip transparently. */
static lb_err read_all(const char *path, lb_buf *b, lb_errbuf *eb) {
  gzFile gz = gzopen(path, "rb");
  if (!gz) return lb_fail(eb, LB_EIO, "%s: %s", path, strerror(errno ? errno : ENOENT));
  char chunk[1 << 16];
  int n;
  lb_err rc = LB_OK;
  while ((n = gzread(gz, chunk, sizeof chunk)) > 0) {
    if (b->len + (size_t)n > MAX_FILE_BYTES) {
      rc = lb_fail(eb, LB_ERANGE, "%s: larger than 1 GiB", path);
      break;
    }
    if (lb_buf_append(b, chunk, (size_t)n)) {
      rc = lb_fail(eb, LB_ENOMEM, "%s: out of memory", path);
      break;
    }
  }
  if (rc == LB_OK && n < 0) {
    int zerr;
    const char *msg = gzerror(gz, &zerr);
    rc = lb_fail(eb, LB_EIO, "%s: read error (%s)", path, zerr == Z_ERRNO ? strerror(errno) : msg);
  }
  gzclose(gz);
  return rc;
}

lb_err data_load_file(const char *path, data_format fmt, data_series *out, data_load_info *info,
                      lb_errbuf *eb) {
  data_series_init(out);
  lb_buf b;
  lb_buf_init(&b);
  lb_err rc = read_all(path, &b, eb);
  if (rc == LB_OK) rc = data_load_buffer(b.data, b.len, path, fmt, out, info, eb);
  lb_buf_free(&b);
  return rc;
}
