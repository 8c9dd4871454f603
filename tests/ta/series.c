/* series.c -- test series generators (see series.h). */
#include "series.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define T0 INT64_C(1636934400000) /* 2021-11-15 00:00 UTC */
#define STEP (5 * INT64_C(60000))

void rng_seed(rng *r, uint64_t seed) { r->s = seed ? seed * 0x9E3779B97F4A7C15ull : 1; }

double rng_unit(rng *r) {
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  return (double)((r->s * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static void alloc(series *s, size_t n) {
  memset(s, 0, sizeof *s);
  s->n = n;
  size_t k = n ? n : 1;
  s->c = calloc(k, sizeof *s->c);
  s->ts = calloc(k, sizeof *s->ts);
  s->open = calloc(k, sizeof(double));
  s->high = calloc(k, sizeof(double));
  s->low = calloc(k, sizeof(double));
  s->close = calloc(k, sizeof(double));
  s->volume = calloc(k, sizeof(double));
  if (!s->c || !s->ts || !s->open || !s->high || !s->low || !s->close || !s->volume) abort();
}

void series_sync(series *s) {
  for (size_t i = 0; i < s->n; i++) {
    s->ts[i] = s->c[i].ts;
    s->open[i] = s->c[i].open;
    s->high[i] = s->c[i].high;
    s->low[i] = s->c[i].low;
    s->close[i] = s->c[i].close;
    s->volume[i] = s->c[i].volume;
  }
}

void series_random(series *s, size_t n, double start_price, rng *r) {
  alloc(s, n);
  double p = start_price;
  for (size_t i = 0; i < n; i++) {
    double o = p;
    double c = o * (1.0 + (rng_unit(r) - 0.5) * 0.01);
    double h = fmax(o, c) * (1.0 + rng_unit(r) * 0.003);
    double l = fmin(o, c) * (1.0 - rng_unit(r) * 0.003);
    double v = rng_unit(r) < 0.1 ? 0.0 : 1000.0 * rng_unit(r);
    s->c[i] = (data_candle){T0 + (lb_ms)i * STEP, o, h, l, c, v};
    p = c;
  }
  series_sync(s);
}

void series_constant(series *s, size_t n, double price, double volume) {
  alloc(s, n);
  for (size_t i = 0; i < n; i++)
    s->c[i] = (data_candle){T0 + (lb_ms)i * STEP, price, price, price, price, volume};
  series_sync(s);
}

void series_from_closes(series *s, const double *closes, size_t n, double spread) {
  alloc(s, n);
  for (size_t i = 0; i < n; i++) {
    double o = i ? closes[i - 1] : closes[0], c = closes[i];
    s->c[i] =
        (data_candle){T0 + (lb_ms)i * STEP, o, fmax(o, c) + spread, fmin(o, c) - spread, c, 100.0};
  }
  series_sync(s);
}

void series_free(series *s) {
  free(s->c);
  free(s->ts);
  free(s->open);
  free(s->high);
  free(s->low);
  free(s->close);
  free(s->volume);
  memset(s, 0, sizeof *s);
}
