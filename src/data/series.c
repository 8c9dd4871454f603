/* series.c -- candle series: growth, validation, slicing (see data.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/data.h"

void data_series_init(data_series *s) { memset(s, 0, sizeof *s); }

void data_series_close(data_series *s) {
  free(s->c);
  data_series_init(s);
}

lb_err data_series_reserve(data_series *s, size_t n) {
  if (n <= s->cap) return LB_OK;
  size_t cap = s->cap ? s->cap : 256;
  while (cap < n) cap *= 2;
  data_candle *p = realloc(s->c, cap * sizeof *p);
  if (!p) return LB_ENOMEM;
  s->c = p;
  s->cap = cap;
  return LB_OK;
}

lb_err data_series_push(data_series *s, const data_candle *c) {
  if (s->n == s->cap && data_series_reserve(s, s->n + 1)) return LB_ENOMEM;
  s->c[s->n++] = *c;
  return LB_OK;
}

lb_err data_candle_check(const data_candle *c, lb_errbuf *eb) {
  static const char *const names[] = {"open", "high", "low", "close", "volume"};
  const double v[] = {c->open, c->high, c->low, c->close, c->volume};
  for (int i = 0; i < 5; i++)
    if (!isfinite(v[i])) return lb_fail(eb, LB_EPARSE, "field '%s' is not a finite number", names[i]);
  if (c->open <= 0 || c->close <= 0 || c->low <= 0)
    return lb_fail(eb, LB_ERANGE, "prices must be > 0 (open %.15g, low %.15g, close %.15g)",
                   c->open, c->low, c->close);
  if (c->low > fmin(c->open, c->close))
    return lb_fail(eb, LB_ERANGE, "field 'low' %.15g is above min(open, close) %.15g", c->low,
                   fmin(c->open, c->close));
  if (c->high < fmax(c->open, c->close))
    return lb_fail(eb, LB_ERANGE, "field 'high' %.15g is below max(open, close) %.15g", c->high,
                   fmax(c->open, c->close));
  if (c->volume < 0) return lb_fail(eb, LB_ERANGE, "field 'volume' %.15g is negative", c->volume);
  return LB_OK;
}

void data_series_slice(data_series *s, lb_ms from, lb_ms to) {
  size_t k = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (from && s->c[i].ts < from) continue;
    if (to && s->c[i].ts >= to) continue;
    s->c[k++] = s->c[i];
  }
  s->n = k;
}
