/* structure.c -- market structure: swings, levels, divergence, trend, regime.
 *
 * Pure functions over arrays and swing lists; the rules are written out in
 * ta.h next to each declaration and implemented here literally, so a test
 * can build a series whose answer is known by construction.  ta_frame
 * calls the same functions on its window.
 */
#include <stdlib.h>
#include <string.h>

#include "ta/ta.h"

/* ==== Swings ==== */

static bool is_swing_high(const double *high, size_t i, int nb) {
  for (int k = 1; k <= nb; k++)
    if (!(high[i] > high[i - k]) || !(high[i] >= high[i + k])) return false;
  return true;
}

static bool is_swing_low(const double *low, size_t i, int nb) {
  for (int k = 1; k <= nb; k++)
    if (!(low[i] < low[i - k]) || !(low[i] <= low[i + k])) return false;
  return true;
}

size_t ta_find_swings(const lb_ms *ts, const double *high, const double *low, const double *rsi,
                      const double *macd_hist, size_t n, int nbars, ta_swing *out, size_t max) {
  size_t count = 0;
  if (nbars < 1 || n < 2 * (size_t)nbars + 1) return 0;
  for (size_t i = (size_t)nbars; i + (size_t)nbars < n; i++) {
    for (int kind = 1; kind >= -1; kind -= 2) {
      bool hit = kind > 0 ? is_swing_high(high, i, nbars) : is_swing_low(low, i, nbars);
      if (!hit) continue;
      if (count < max)
        out[count] = (ta_swing){(int64_t)i,
                                ts ? ts[i] : 0,
                                kind,
                                kind > 0 ? high[i] : low[i],
                                rsi ? rsi[i] : NAN,
                                macd_hist ? macd_hist[i] : NAN};
      count++;
    }
  }
  return count;
}

/* ==== Support / resistance ==== */

typedef struct {
  double price;
  int64_t idx;
  int kind;
} sr_point;

static int sr_point_cmp(const void *a, const void *b) {
  const sr_point *x = a, *y = b;
  if (x->price != y->price) return x->price < y->price ? -1 : 1;
  if (x->idx != y->idx) return x->idx < y->idx ? -1 : 1;
  return x->kind - y->kind;
}

size_t ta_sr_levels(const ta_swing *sw, size_t n, double tol, int min_touches, ta_level *out,
                    size_t max) {
  if (n == 0 || max == 0) return 0;
  if (!(tol >= 0.0)) tol = 0.0; /* unknown ATR: equal prices only */
  sr_point local[512];
  sr_point *pt = n <= sizeof local / sizeof local[0] ? local : malloc(n * sizeof *pt);
  if (!pt) return 0; /* only for more than 512 swings, which a frame never has */
  for (size_t i = 0; i < n; i++) pt[i] = (sr_point){sw[i].price, sw[i].idx, sw[i].kind};
  qsort(pt, n, sizeof *pt, sr_point_cmp);
  size_t count = 0, i = 0;
  while (i < n && count < max) {
    size_t j = i;
    ta_level lv = {0, pt[i].price, pt[i].price, 0, 0, 0, pt[i].idx};
    double sum = 0.0;
    while (j < n && pt[j].price - pt[i].price <= tol) {
      sum += pt[j].price;
      lv.hi = pt[j].price;
      lv.touches++;
      if (pt[j].kind > 0)
        lv.highs++;
      else
        lv.lows++;
      if (pt[j].idx > lv.last_idx) lv.last_idx = pt[j].idx;
      j++;
    }
    lv.price = sum / lv.touches;
    if (lv.touches >= min_touches) out[count++] = lv;
    i = j;
  }
  if (pt != local) free(pt);
  return count;
}

void ta_sr_nearest(const ta_level *lv, size_t n, double price, double *support,
                   double *resistance) {
  double s = NAN, r = NAN;
  for (size_t i = 0; i < n; i++) {
    double p = lv[i].price;
    if (p <= price) {
      if (isnan(s) || p > s) s = p;
    } else if (isnan(r) || p < r) {
      r = p;
    }
  }
  if (support) *support = s;
  if (resistance) *resistance = r;
}

bool ta_mid_range(double price, double support, double resistance, double band, double *pos) {
  if (pos) *pos = NAN;
  if (isnan(price) || isnan(support) || isnan(resistance) || !(resistance > support)) return false;
  double x = (price - support) / (resistance - support);
  if (pos) *pos = x;
  return fabs(x - 0.5) <= band / 2.0;
}

/* ==== Divergence ==== */

/* The last two swings of `kind` (older in *a, newer in *b); false if fewer. */
static bool last_two(const ta_swing *sw, size_t n, int kind, const ta_swing **a,
                     const ta_swing **b) {
  *a = *b = NULL;
  for (size_t i = n; i-- > 0;) {
    if (sw[i].kind != kind) continue;
    if (!*b)
      *b = &sw[i];
    else {
      *a = &sw[i];
      return true;
    }
  }
  return false;
}

static double ind_of(const ta_swing *s, int which) {
  return which == TA_DIV_RSI ? s->rsi : s->macd_hist;
}

/* Latest bar of a counting divergence of `kind`, or -1. */
static int64_t div_at(const ta_swing *sw, size_t n, int kind, int which, int64_t now, int max_bars,
                      int recent_bars) {
  const ta_swing *a, *b;
  if (!last_two(sw, n, kind, &a, &b)) return -1;
  double ia = ind_of(a, which), ib = ind_of(b, which);
  if (isnan(ia) || isnan(ib)) return -1;
  if (b->idx - a->idx > max_bars || now - b->idx > recent_bars) return -1;
  bool hit = kind < 0 ? (b->price < a->price && ib > ia)  /* lower low, higher indicator */
                      : (b->price > a->price && ib < ia); /* higher high, lower indicator */
  return hit ? b->idx : -1;
}

int ta_divergence(const ta_swing *sw, size_t n, int which, int64_t now, int max_bars,
                  int recent_bars) {
  int64_t bull = div_at(sw, n, -1, which, now, max_bars, recent_bars);
  int64_t bear = div_at(sw, n, +1, which, now, max_bars, recent_bars);
  if (bull < 0 && bear < 0) return 0;
  if (bull == bear) return 0;
  return bull > bear ? 1 : -1;
}

/* ==== Trend, regime, confluence ==== */

int ta_trend_dir(double close, double ema_fast, double ema_mid) {
  if (isnan(close) || isnan(ema_fast) || isnan(ema_mid)) return 0;
  if (ema_fast > ema_mid && close > ema_mid) return 1;
  if (ema_fast < ema_mid && close < ema_mid) return -1;
  return 0;
}

double ta_rank(const double *hist, size_t n, double x) {
  if (n == 0) return 0.0;
  size_t below = 0;
  for (size_t i = 0; i < n; i++) below += hist[i] < x;
  return (double)below / (double)n;
}

lb_regime ta_regime_classify(const ta_regime_in *in, const ta_params *p) {
  const double v[] = {in->close,   in->ema_fast, in->ema_mid, in->adx,
                      in->plus_di, in->minus_di, in->natr,    in->bb_width_rank};
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    if (isnan(v[i])) return LB_REGIME_UNKNOWN;
  if (in->natr >= p->vol_natr || in->bb_width_rank >= p->vol_rank) return LB_REGIME_VOLATILE;
  int dir = ta_trend_dir(in->close, in->ema_fast, in->ema_mid);
  if (in->adx >= p->trend_adx &&
      ((dir > 0 && in->plus_di > in->minus_di) || (dir < 0 && in->minus_di > in->plus_di)))
    return LB_REGIME_TRENDING;
  return LB_REGIME_RANGING;
}

int ta_confluence(const int *trend, int n, int *agree, int *n_up, int *n_down) {
  int up = 0, down = 0;
  for (int i = 0; i < n; i++) {
    up += trend[i] > 0;
    down += trend[i] < 0;
  }
  if (n_up) *n_up = up;
  if (n_down) *n_down = down;
  if (agree) *agree = n > 0 ? (trend[0] > 0 ? up : trend[0] < 0 ? down : 0) : 0;
  if (n > 0 && up == n) return 1;
  if (n > 0 && down == n) return -1;
  return 0;
}
