/* series.h -- seeded random and constructed candle series for tests/ta. */
#ifndef LB_TESTS_TA_SERIES_H
#define LB_TESTS_TA_SERIES_H

#include <stddef.h>
#include <stdint.h>

#include "data/data.h"

/* xorshift64*: reproducible from lbt_seed(). */
typedef struct {
  uint64_t s;
} rng;
void rng_seed(rng *r, uint64_t seed);
double rng_unit(rng *r); /* [0, 1) */

/* Column views of a candle array (owned). */
typedef struct {
  size_t n;
  data_candle *c;
  lb_ms *ts;
  double *open, *high, *low, *close, *volume;
} series;

/* A random walk: n 5-minute bars from start_price, consistent OHLC, volume
 * random with about one bar in ten at exactly zero. */
void series_random(series *s, size_t n, double start_price, rng *r);
/* Every bar the same price (h = l = o = c) and volume. */
void series_constant(series *s, size_t n, double price, double volume);
/* Bars from closes: open = previous close, high/low = max/min(open, close)
 * +/- spread, volume 100. */
void series_from_closes(series *s, const double *closes, size_t n, double spread);
/* Fills the column arrays from s->c (after editing candles by hand). */
void series_sync(series *s);
void series_free(series *s);

#endif
