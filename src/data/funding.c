/* funding.c -- funding-rate series for the simulator (see data.h).
 *
 * Settlement times in the files carry a few ms of jitter (1637193600017):
 * they are rounded to the 8-hour grid so joins with candle times are exact.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "data/data.h"

#define FUNDING_PERIOD (8 * LB_MS_HOUR)

void data_funding_init(data_funding_series *s) { memset(s, 0, sizeof *s); }

void data_funding_close(data_funding_series *s) {
  free(s->f);
  data_funding_init(s);
}

static lb_err push(data_funding_series *s, lb_ms ts, double rate) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    data_funding *p = realloc(s->f, cap * sizeof *p);
    if (!p) return LB_ENOMEM;
    s->f = p;
    s->cap = cap;
  }
  s->f[s->n++] = (data_funding){ts, rate};
  return LB_OK;
}

static lb_ms round_to_grid(lb_ms t) {
  return lb_time_floor(t + FUNDING_PERIOD / 2, FUNDING_PERIOD);
}

static lb_err add(data_funding_series *s, const char *path, int line, lb_ms ts, double rate,
                  lb_errbuf *eb) {
  if (!isfinite(rate) || fabs(rate) > 0.05)
    return lb_fail(eb, LB_ERANGE, "%s line %d: funding rate %g is outside -0.05..0.05", path, line, rate);
  ts = round_to_grid(ts);
  if (s->n && ts <= s->f[s->n - 1].ts)
    return lb_fail(eb, LB_EPARSE, "%s line %d: settlement times must strictly increase", path, line);
  if (push(s, ts, rate)) return lb_fail(eb, LB_ENOMEM, "out of memory");
  return LB_OK;
}

lb_err data_load_funding(const char *path, data_funding_series *out, lb_errbuf *eb) {
  data_funding_init(out);
  lb_buf b;
  lb_buf_init(&b);
  lb_err rc = lb_buf_read_file(&b, path, 64u << 20, eb);
  if (rc) goto out;
  const char *p = b.data;
  while (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') p++;
  if (*p == '[') {
    /* freqtrade JSON: [[ms, rate, 0, 0, 0, 0], ...]; parsed as candles are
     * not (high = 0), so read the rows directly. */
    char *end;
    int row = 0;
    while ((p = strchr(p, '[')) != NULL) {
      p++;
      if (*p == '[') continue;
      row++;
      double ts = strtod(p, &end);
      if (end == p || *end != ',') {
        rc = lb_fail(eb, LB_EPARSE, "%s row %d: expected [ms, rate, ...]", path, row);
        goto out;
      }
      double rate = strtod(end + 1, &end);
      if ((rc = add(out, path, row, (lb_ms)ts, rate, eb))) goto out;
      p = end;
    }
  } else {
    /* CSV: freqtrade "date,open,..." (rate in open) or LEAN "YYYYMMDD HH:MM:SS,rate". */
    int line = 0;
    char *save = NULL;
    for (char *ln = strtok_r(b.data, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save)) {
      line++;
      ln[strcspn(ln, "\r")] = '\0';
      if (!*ln || (line == 1 && (ln[0] < '0' || ln[0] > '9'))) continue; /* header */
      char *comma = strchr(ln, ',');
      if (!comma) {
        rc = lb_fail(eb, LB_EPARSE, "%s line %d: expected time,rate", path, line);
        goto out;
      }
      *comma = '\0';
      lb_ms ts;
      char iso[40];
      if (strlen(ln) >= 8 && ln[8] == ' ') {
        snprintf(iso, sizeof iso, "%.4s-%.2s-%.2sT%s", ln, ln + 4, ln + 6, ln + 9);
        if (lb_time_parse_iso(iso, &ts) != LB_OK) {
          rc = lb_fail(eb, LB_EPARSE, "%s line %d: bad time '%s'", path, line, ln);
          goto out;
        }
      } else {
        char *end;
        ts = strtoll(ln, &end, 10);
        if (*end) {
          rc = lb_fail(eb, LB_EPARSE, "%s line %d: bad time '%s'", path, line, ln);
          goto out;
        }
      }
      char *end;
      double rate = strtod(comma + 1, &end);
      if (end == comma + 1 || (*end && *end != ',')) {
        rc = lb_fail(eb, LB_EPARSE, "%s line %d: rate is not a number", path, line);
        goto out;
      }
      if ((rc = add(out, path, line, ts, rate, eb))) goto out;
    }
  }
  if (out->n == 0) rc = lb_fail(eb, LB_EPARSE, "%s: no funding rates", path);
out:
  if (rc) data_funding_close(out);
  lb_buf_free(&b);
  return rc;
}

double data_funding_at(const data_funding_series *s, lb_ms t) {
  size_t lo = 0, hi = s->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (s->f[mid].ts < t) lo = mid + 1;
    else hi = mid;
  }
  return lo < s->n && s->f[lo].ts == t ? s->f[lo].rate : NAN;
}
