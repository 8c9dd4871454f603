/* ta_ind.h -- indicators, batch and streaming, with TA-Lib's numbers.
 *
 * Part of src/ta (included by ta/ta.h; include that).
 *
 * Every indicator comes in two forms that give the same numbers, bit for
 * bit (tests/ta checks it on random series):
 *
 *   batch      arrays in, arrays out, NAN for warm-up bars:
 *                lb_err ta_rsi(const double *close, size_t n, int period, double *out);
 *              `out` has n elements and must not overlap an input.  Returns
 *              LB_EINVAL for a period outside its range or a NULL array
 *              (n > 0); n == 0 is a no-op.  n smaller than the warm-up gives
 *              all NAN.  Windowed indicators allocate their window inside the
 *              call (LB_ENOMEM).
 *   streaming  a caller-allocated state updated one closed bar at a time,
 *              O(1) per bar (amortised for the sliding min/max of STOCH and
 *              WILLR and the resynchronisation of Bollinger and rolling VWAP:
 *              O(period) once every `period` bars; CCI is the one exception,
 *              O(period) per bar: its mean deviation needs the whole window)
 *              and O(period) memory at most:
 *                ta_rsi_state st; ta_rsi_init(&st, 14);
 *                double v = ta_rsi_update(&st, close);   (NAN while warming up)
 *              States with a window allocate it in _init (LB_ENOMEM) and
 *              free it in _close; states without one have no _close.  The
 *              init, close and update functions are static inline: a state
 *              that never leaves a loop lives in registers, and the engine's
 *              fused per-bar pass (ta_ind_set) interleaves the updates.
 *
 * Agreement with TA-Lib 0.6.4 (the C library, default settings, unstable
 * periods 0, always computed from bar 0): same formulas, same seeding, same
 * first valid index (ta_*_lookback), same special cases (the 1e-14 zero test
 * of TA_IS_ZERO, MFI's "money flow < 1 gives 0", ...).  The arithmetic of a
 * few recurrences is rearranged to shorten their dependency chain (Wilder's
 * (prev*(n-1)+x)/n is computed as prev*a + x*b, an EMA step as
 * prev*(1-k) + x*k, a rolling sum as sum += (new - old)), so values agree
 * with TA-Lib to a few units in the last place, not always bit for bit; the
 * requirement (tests/ta) is a relative difference <= 1e-9 on every value.
 * Where a value is a small difference of large ones and one unit in the
 * last place would show, TA-Lib's exact operation order is kept: MACD's
 * three EMAs and STOCH's %K (fast %K and its running mean,
 * ta_sma_update_exact) are TA-Lib's bit for bit, as are WILLR, MFI, ROC,
 * OBV, SAR and the mean of CCI's window; %D keeps TA-Lib's running sum.
 * Divisions are the scarcest resource of the fused pass, so %D multiplies
 * by 1/period and CCI's mean deviation (a sum of absolute values: no
 * cancellation) is summed in four parts and divided once: a unit or two in
 * the last place, where nothing downstream can magnify it.
 * Bollinger's standard deviation is computed from sums centred on a recent
 * mean (resynchronised every `period` bars) instead of TA-Lib's raw sum of
 * squares: same definition (population), fewer cancellation errors.
 *
 * Inputs must be finite (the data module guarantees it for loaded series);
 * a NaN input propagates into the outputs, it never crashes.
 *
 * Warm-up (index of the first value, TA-Lib's lookback), default periods:
 *   SMA(20) 19   EMA(20) 19   RSI(14) 14   MACD(12,26,9) 33 (all three)
 *   ATR/NATR(14) 14   BBANDS(20) 19   +DI/-DI(14) 14   ADX(14) 27
 *   STOCH(14,3,3) 17 (%K and %D)   OBV 0   CCI(14) 13   MFI(14) 14
 *   WILLR(14) 13   ROC(10) 10   SAR 1   VWAP 0 (session) / period-1 (rolling)
 *
 * Documented values where a formula would divide by zero (all TA-Lib's):
 *   RSI 0 when average gain + loss is 0 (constant prices);  +DI/-DI/ADX 0
 *   when the smoothed true range is 0 (a bar's DX is skipped when
 *   +DI + -DI is 0);  STOCH %K 0 and WILLR 0 when highest high == lowest
 *   low;  CCI 0 when the bar's deviation is 0 or the mean deviation is
 *   below 1e-13 of the price (flat window; TA-Lib compares with exactly 0
 *   and returns +/-66.7 from rounding there);
 *   MFI 0 when positive + negative money flow < 1;  ROC 0 when the price
 *   `period` bars ago is 0;  NATR 0 when close is 0;  Bollinger standard
 *   deviation 0 when the variance is below 1e-14;  VWAP = the bar's typical
 *   price when the window (or session) has no volume.
 */
#ifndef LB_TA_TA_IND_H
#define LB_TA_TA_IND_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/time.h"

/* The per-bar updates are always inlined: the fused pass and the batch
 * loops keep their states in registers only if the update is inlined. */
#if defined(__GNUC__) || defined(__clang__)
#define TA_HOT static inline __attribute__((always_inline))
#else
#define TA_HOT static inline
#endif

/* Periods accepted by every indicator (TA-Lib's upper bound). */
#define TA_MAX_PERIOD 100000

/* TA-Lib 0.6's TA_IS_ZERO / TA_IS_ZERO_OR_NEG. */
#define TA_EPSILON 1e-14
static inline bool ta_is_zero(double v) { return v > -TA_EPSILON && v < TA_EPSILON; }

static inline bool ta_period_ok_(int p, int min) { return p >= min && p <= TA_MAX_PERIOD; }

/* keep ? x : 0.0, as a bit mask: compilers turn FP selects on
 * unpredictable conditions into branches, this they cannot. */
static inline double ta_keep_if_(int keep, double x) {
  uint64_t b;
  memcpy(&b, &x, sizeof b);
  b &= (uint64_t)0 - (uint64_t)(keep != 0);
  memcpy(&x, &b, sizeof x);
  return x;
}

/* Typical price (h + l + c) / 3, TA-Lib's order.  CCI, MFI and VWAP take
 * it precomputed (the _tp updates) so the fused pass divides once. */
static inline double ta_typical(double h, double l, double c) { return (h + l + c) / 3.0; }

/* True range of a bar given the previous close (Wilder). */
static inline double ta_true_range(double h, double l, double prev_close) {
  double r = h - l, t = fabs(h - prev_close);
  r = t > r ? t : r;
  t = fabs(l - prev_close);
  return t > r ? t : r;
}

/* ==== Lookbacks: index of the first value (-1 for an invalid period) ==== */

int ta_sma_lookback(int period);
int ta_ema_lookback(int period);
int ta_rsi_lookback(int period);
int ta_macd_lookback(int fast, int slow, int signal);
int ta_atr_lookback(int period);
int ta_bbands_lookback(int period);
int ta_di_lookback(int period);
int ta_adx_lookback(int period);
int ta_stoch_lookback(int fastk, int slowk, int slowd);
int ta_cci_lookback(int period);
int ta_mfi_lookback(int period);
int ta_willr_lookback(int period);
int ta_roc_lookback(int period);

/* ==== SMA: rolling mean (period 1..MAX) ==== */

typedef struct {
  int period;
  double inv; /* 1/period */
  double sum;
  double *ring; /* period values, owned */
  int pos;
  int64_t n; /* bars seen */
} ta_sma_state;

static inline lb_err ta_sma_init(ta_sma_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 1)) return LB_EINVAL;
  if (!(s->ring = calloc((size_t)period, sizeof(double)))) return LB_ENOMEM;
  s->period = period;
  s->inv = 1.0 / period;
  return LB_OK;
}
static inline void ta_sma_close(ta_sma_state *s) {
  free(s->ring);
  s->ring = NULL;
}
TA_HOT double ta_sma_update(ta_sma_state *s, double x) {
  double old = s->ring[s->pos];
  s->ring[s->pos] = x;
  if (++s->pos == s->period) s->pos = 0;
  s->sum += x - old; /* old is 0 while the window fills */
  return ++s->n >= s->period ? s->sum * s->inv : NAN;
}
lb_err ta_sma(const double *in, size_t n, int period, double *out);
/* The same mean in TA-Lib's own operation order (sum += new; out = sum /
 * period; sum -= oldest), bit for bit: a running mean of values near 0
 * that once held values near 100 keeps the last bits of those (the %K and
 * %D smoothing of STOCH), so they must be TA-Lib's to match it relatively.
 * A state is driven by one update function only. */
TA_HOT double ta_sma_update_exact(ta_sma_state *s, double x) {
  s->sum += x;
  s->ring[s->pos] = x;
  if (++s->pos == s->period) s->pos = 0;
  if (++s->n < s->period) return NAN;
  double out = s->sum / s->period;
  s->sum -= s->ring[s->pos]; /* the oldest of this window leaves next */
  return out;
}

/* ==== EMA: k = 2/(period+1), seeded with the SMA of the first `period`
 * values (period 1..MAX) ==== */

typedef struct {
  int period;
  double k, k1; /* k and 1-k */
  double sum, value;
  int64_t n;
} ta_ema_state;

static inline lb_err ta_ema_init(ta_ema_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 1)) return LB_EINVAL;
  s->period = period;
  s->k = 2.0 / (period + 1.0);
  s->k1 = 1.0 - s->k;
  return LB_OK;
}
TA_HOT double ta_ema_update(ta_ema_state *s, double x) {
  if (s->n >= s->period) {
    s->n++;
    return s->value = s->value * s->k1 + x * s->k;
  }
  s->sum += x;
  if (++s->n < s->period) return NAN;
  return s->value = s->sum / s->period;
}
lb_err ta_ema(const double *in, size_t n, int period, double *out);

/* ==== RSI (Wilder), period 2..MAX ==== */

typedef struct {
  int period;
  double a, b; /* (period-1)/period and 1/period */
  double prev, gain, loss;
  int64_t n;
} ta_rsi_state;

static inline lb_err ta_rsi_init(ta_rsi_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 2)) return LB_EINVAL;
  s->period = period;
  s->b = 1.0 / period;
  s->a = (period - 1.0) / period;
  return LB_OK;
}
/* Internal: advances the averages; true once RSI has a value (then
 * gain / (gain + loss) is read by ta_rsi_update, or by the fused pass,
 * which divides two things at once). */
TA_HOT bool ta_rsi_advance_(ta_rsi_state *s, double x) {
  int64_t n = s->n++;
  if (n == 0) {
    s->prev = x;
    return false;
  }
  double d = x - s->prev;
  s->prev = x;
  double up = d > 0 ? d : 0.0, dn = d < 0 ? -d : 0.0;
  if (n < s->period) {
    s->gain += up;
    s->loss += dn;
    return false;
  }
  if (n == s->period) {
    s->gain = (s->gain + up) / s->period;
    s->loss = (s->loss + dn) / s->period;
  } else {
    s->gain = s->gain * s->a + up * s->b;
    s->loss = s->loss * s->a + dn * s->b;
  }
  return true;
}
TA_HOT double ta_rsi_update(ta_rsi_state *s, double x) {
  if (!ta_rsi_advance_(s, x)) return NAN;
  double t = s->gain + s->loss;
  return ta_is_zero(t) ? 0.0 : 100.0 * (s->gain / t);
}
lb_err ta_rsi(const double *in, size_t n, int period, double *out);

/* ==== MACD(fast, slow, signal), 2 <= fast < slow, signal 1..MAX ====
 * TA-Lib's alignment: both EMAs start at bar slow-1, the slow one seeded
 * with the mean of bars 0..slow-1, the fast one with the mean of bars
 * slow-fast..slow-1; the signal EMA is seeded with the mean of the first
 * `signal` MACD values.  All three outputs start at slow+signal-2. */

typedef struct {
  double macd, signal, hist;
} ta_macd_value;

typedef struct {
  int fast, slow, signal;
  double kf, ks, kg;
  double fsum, ssum, gsum;
  double fv, sv, gv;
  int64_t n;
} ta_macd_state;

static inline lb_err ta_macd_init(ta_macd_state *s, int fast, int slow, int signal) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(fast, 2) || !ta_period_ok_(slow, 2) || fast >= slow ||
      !ta_period_ok_(signal, 1))
    return LB_EINVAL;
  s->fast = fast;
  s->slow = slow;
  s->signal = signal;
  s->kf = 2.0 / (fast + 1.0);
  s->ks = 2.0 / (slow + 1.0);
  s->kg = 2.0 / (signal + 1.0);
  return LB_OK;
}
TA_HOT ta_macd_value ta_macd_update(ta_macd_state *s, double x) {
  ta_macd_value r = {NAN, NAN, NAN};
  int64_t n = s->n++;
  int64_t m = n - (s->slow - 1); /* index in the MACD line */
  if (m < 0) {
    s->ssum += x;
    if (n >= s->slow - s->fast) s->fsum += x;
    return r;
  }
  /* TA-Lib's EMA step exactly: the line is a small difference of two
   * large EMAs, so one unit in the last place of either shows up in it. */
  if (m == 0) {
    s->fv = (s->fsum + x) / s->fast;
    s->sv = (s->ssum + x) / s->slow;
  } else {
    s->fv = (x - s->fv) * s->kf + s->fv;
    s->sv = (x - s->sv) * s->ks + s->sv;
  }
  double line = s->fv - s->sv;
  if (m < s->signal - 1) {
    s->gsum += line;
    return r;
  }
  if (m == s->signal - 1)
    s->gv = (s->gsum + line) / s->signal;
  else
    s->gv = (line - s->gv) * s->kg + s->gv;
  r.macd = line;
  r.signal = s->gv;
  r.hist = line - s->gv;
  return r;
}
lb_err ta_macd(const double *in, size_t n, int fast, int slow, int signal, double *macd,
               double *signal_out, double *hist);

/* ==== ATR (Wilder), period 1..MAX; NATR = ATR / close * 100 ====
 * Seeded with the mean of the first `period` true ranges (bars 1..period). */

typedef struct {
  int period;
  double a, b;
  double prev_close, sum, value;
  int64_t n;
} ta_atr_state;

static inline lb_err ta_atr_init(ta_atr_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 1)) return LB_EINVAL;
  s->period = period;
  s->b = 1.0 / period;
  s->a = (period - 1.0) / period;
  return LB_OK;
}
TA_HOT double ta_atr_update(ta_atr_state *s, double h, double l, double c) {
  int64_t n = s->n++;
  if (n == 0) {
    s->prev_close = c;
    return NAN;
  }
  double tr = ta_true_range(h, l, s->prev_close);
  s->prev_close = c;
  if (n < s->period) {
    s->sum += tr;
    return NAN;
  }
  if (n == s->period) return s->value = (s->sum + tr) / s->period;
  return s->value = s->value * s->a + tr * s->b;
}
static inline double ta_natr_from_atr(double atr, double close) {
  return ta_is_zero(close) ? (isnan(atr) ? NAN : 0.0) : (atr / close) * 100.0;
}
lb_err ta_atr(const double *high, const double *low, const double *close, size_t n, int period,
              double *out);
lb_err ta_natr(const double *high, const double *low, const double *close, size_t n, int period,
               double *out);

/* ==== Bollinger Bands: SMA(period) +/- k * population stddev, period 2..MAX,
 * k finite.  width = (upper - lower) / middle (0 when middle is 0). ==== */

typedef struct {
  double upper, middle, lower, width;
} ta_bbands_value;

typedef struct {
  int period;
  double k, inv;
  double sum;        /* plain rolling sum: middle == SMA bit for bit */
  double center, s2; /* sum of (x - center)^2, centre near the mean */
  double *ring;
  int pos;
  int64_t n;
} ta_bbands_state;

static inline lb_err ta_bbands_init(ta_bbands_state *s, int period, double k) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 2) || !isfinite(k)) return LB_EINVAL;
  if (!(s->ring = calloc((size_t)period, sizeof(double)))) return LB_ENOMEM;
  s->period = period;
  s->k = k;
  s->inv = 1.0 / period;
  return LB_OK;
}
static inline void ta_bbands_close(ta_bbands_state *s) {
  free(s->ring);
  s->ring = NULL;
}
/* Internal, every `period` bars: the window's sums centred on c.  Takes no
 * pointer to the state, so a state in a loop can stay in registers. */
static inline double ta_bbands_resync_(const double *ring, int period, double c) {
  double s2 = 0.0;
  for (int i = 0; i < period; i++) {
    double d = ring[i] - c;
    s2 += d * d;
  }
  return s2;
}

/* Internal: adds x; once the window is full, its mean and population
 * variance (the batch form takes square roots two at a time). */
TA_HOT bool ta_bbands_advance_(ta_bbands_state *s, double x, double *mean, double *var) {
  double old = s->ring[s->pos];
  s->ring[s->pos] = x;
  s->sum += x - old;
  double dn = x - s->center;
  if (s->n < s->period) {
    s->s2 += dn * dn;
  } else {
    double dold = old - s->center;
    s->s2 += dn * dn - dold * dold;
  }
  s->n++;
  if (++s->pos == s->period) {
    s->pos = 0;
    s->center = s->sum * s->inv; /* centre on the current mean */
    s->s2 = ta_bbands_resync_(s->ring, s->period, s->center);
  }
  if (s->n < s->period) return false;
  double m = s->sum * s->inv, m1 = m - s->center;
  *mean = m;
  *var = s->s2 * s->inv - m1 * m1;
  return true;
}
TA_HOT ta_bbands_value ta_bbands_update(ta_bbands_state *s, double x) {
  ta_bbands_value r = {NAN, NAN, NAN, NAN};
  double mean, var;
  if (!ta_bbands_advance_(s, x, &mean, &var)) return r;
  double dev = var < TA_EPSILON ? 0.0 : sqrt(var) * s->k;
  r.middle = mean;
  r.upper = mean + dev;
  r.lower = mean - dev;
  r.width = mean != 0.0 ? (r.upper - r.lower) / mean : 0.0;
  return r;
}
lb_err ta_bbands(const double *in, size_t n, int period, double k, double *upper, double *middle,
                 double *lower);

/* ==== Directional movement: +DI, -DI (first at `period`) and ADX (first at
 * 2*period-1), period 2..MAX, Wilder smoothing of +DM, -DM and TR ==== */

typedef struct {
  double adx, plus_di, minus_di;
} ta_dmi_value;

typedef struct {
  int period;
  double a, b; /* 1 - 1/period and 1/period */
  double ph, pl, pc;
  double pdm, mdm, tr, sum_dx, adx;
  int64_t n;
} ta_dmi_state;

static inline lb_err ta_dmi_init(ta_dmi_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 2)) return LB_EINVAL;
  s->period = period;
  s->b = 1.0 / period;
  s->a = 1.0 - s->b;
  return LB_OK;
}
TA_HOT ta_dmi_value ta_dmi_update(ta_dmi_state *s, double h, double l, double c) {
  ta_dmi_value r = {NAN, NAN, NAN};
  int64_t n = s->n++;
  if (n == 0) {
    s->ph = h;
    s->pl = l;
    s->pc = c;
    return r;
  }
  double dp = h - s->ph, dm = s->pl - l;
  double tr = ta_true_range(h, l, s->pc);
  s->ph = h;
  s->pl = l;
  s->pc = c;
  /* (dp > 0 && dp > dm) ? dp : 0 without a branch: which move wins is a
   * coin toss, and a mispredicted branch costs more than the whole update. */
  double pdm = ta_keep_if_((dp > dm) & (dp > 0.0), dp);
  double mdm = ta_keep_if_((dm > dp) & (dm > 0.0), dm);
  if (n < s->period) {
    s->pdm += pdm;
    s->mdm += mdm;
    s->tr += tr;
    return r;
  }
  s->pdm = s->pdm * s->a + pdm;
  s->mdm = s->mdm * s->a + mdm;
  s->tr = s->tr * s->a + tr;
  double pdi = 0.0, mdi = 0.0, dx = 0.0;
  bool have_dx = false;
  if (!ta_is_zero(s->tr)) {
    double inv = 100.0 / s->tr; /* one division for both DIs */
    pdi = s->pdm * inv;
    mdi = s->mdm * inv;
    double sum = pdi + mdi;
    if (!ta_is_zero(sum)) {
      dx = 100.0 * (fabs(mdi - pdi) / sum);
      have_dx = true;
    }
  }
  r.plus_di = pdi;
  r.minus_di = mdi;
  int64_t first_adx = 2 * (int64_t)s->period - 1;
  if (n < first_adx) {
    if (have_dx) s->sum_dx += dx;
  } else if (n == first_adx) {
    if (have_dx) s->sum_dx += dx;
    s->adx = s->sum_dx / s->period;
    r.adx = s->adx;
  } else {
    if (have_dx) s->adx = s->adx * s->a + dx * s->b;
    r.adx = s->adx;
  }
  return r;
}
lb_err ta_dmi(const double *high, const double *low, const double *close, size_t n, int period,
              double *adx, double *plus_di, double *minus_di);
lb_err ta_adx(const double *high, const double *low, const double *close, size_t n, int period,
              double *out);
lb_err ta_plus_di(const double *high, const double *low, const double *close, size_t n, int period,
                  double *out);
lb_err ta_minus_di(const double *high, const double *low, const double *close, size_t n, int period,
                   double *out);

/* ==== Sliding highest high / lowest low over `period` bars; the building
 * block of STOCH and WILLR ====
 * van Herk / Gil-Werman: the bars are cut into blocks of `period`; the
 * window ending at position q of the current block is positions q+1.. of
 * the previous block (whose suffix extremes are computed once, when it
 * completes) plus positions 0..q of the current one (a running extreme).
 * Three comparisons per bar and O(period) once per `period` bars, whatever
 * the data: no data-dependent branches, no worst case. */

typedef struct {
  int period, pos; /* pos: position in the current block */
  int64_t n;
  double hi_run, lo_run;   /* extremes of the current block so far */
  double *hi_blk, *lo_blk; /* the current block (period values) */
  double *hi_suf, *lo_suf; /* suffix extremes of the previous block (period + 1) */
} ta_minmax_state;

static inline void ta_minmax_close(ta_minmax_state *s) {
  free(s->hi_blk);
  s->hi_blk = s->lo_blk = s->hi_suf = s->lo_suf = NULL;
}
static inline lb_err ta_minmax_init(ta_minmax_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 1)) return LB_EINVAL;
  double *m = malloc((4 * (size_t)period + 2) * sizeof(double)); /* one block for all four */
  if (!m) return LB_ENOMEM;
  s->hi_blk = m;
  s->lo_blk = m + period;
  s->hi_suf = m + 2 * (size_t)period;
  s->lo_suf = m + 3 * (size_t)period + 1;
  for (int i = 0; i <= period; i++) { /* no previous block yet */
    s->hi_suf[i] = -INFINITY;
    s->lo_suf[i] = INFINITY;
  }
  s->period = period;
  s->hi_run = -INFINITY;
  s->lo_run = INFINITY;
  return LB_OK;
}
/* Internal, once per completed block: its suffix extremes. */
static inline void ta_minmax_block_(const double *hi_blk, const double *lo_blk, double *hi_suf,
                                    double *lo_suf, int period) {
  double h = -INFINITY, l = INFINITY;
  for (int j = period - 1; j >= 0; j--) {
    h = hi_blk[j] > h ? hi_blk[j] : h;
    l = lo_blk[j] < l ? lo_blk[j] : l;
    hi_suf[j] = h;
    lo_suf[j] = l;
  }
}

/* Adds a bar; afterwards *hi and *lo are the extremes of the last `period` bars
 * (of all bars while filling).  Returns true once `period` bars were seen. */
TA_HOT bool ta_minmax_update(ta_minmax_state *s, double h, double l, double *hi, double *lo) {
  int q = s->pos;
  s->hi_blk[q] = h;
  s->lo_blk[q] = l;
  double hr = h > s->hi_run ? h : s->hi_run, lr = l < s->lo_run ? l : s->lo_run;
  s->hi_run = hr;
  s->lo_run = lr;
  double hs = s->hi_suf[q + 1], ls = s->lo_suf[q + 1];
  *hi = hr > hs ? hr : hs;
  *lo = lr < ls ? lr : ls;
  if (++s->pos == s->period) {
    ta_minmax_block_(s->hi_blk, s->lo_blk, s->hi_suf, s->lo_suf, s->period);
    s->pos = 0;
    s->hi_run = -INFINITY;
    s->lo_run = INFINITY;
  }
  return ++s->n >= s->period;
}

/* ==== Stochastic (slow): fast %K over fastk bars, %K = SMA(slowk) of fast
 * %K, %D = SMA(slowd) of %K; fastk 1..MAX, slowk/slowd 1..MAX.  Both outputs
 * start where %D does (TA-Lib). ==== */

typedef struct {
  double k, d;
} ta_stoch_value;

typedef struct {
  ta_minmax_state mm;
  ta_sma_state k_sma, d_sma;
} ta_stoch_state;

static inline void ta_stoch_close(ta_stoch_state *s) {
  ta_minmax_close(&s->mm);
  ta_sma_close(&s->k_sma);
  ta_sma_close(&s->d_sma);
}
static inline lb_err ta_stoch_init(ta_stoch_state *s, int fastk, int slowk, int slowd) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(fastk, 1) || !ta_period_ok_(slowk, 1) || !ta_period_ok_(slowd, 1))
    return LB_EINVAL;
  lb_err e = ta_minmax_init(&s->mm, fastk);
  if (!e) e = ta_sma_init(&s->k_sma, slowk);
  if (!e) e = ta_sma_init(&s->d_sma, slowd);
  if (e) ta_stoch_close(s);
  return e;
}
/* (highest - lowest) / 100 of a window, TA-Lib's divisor for fast %K and
 * (negated) for %R; 0 when they are equal, and then both are 0. */
static inline double ta_range_scale(double hi, double lo) { return (hi - lo) / 100.0; }
/* Fast %K, TA-Lib's expression bit for bit: %K is a running mean of it, and
 * a mean of values near 0 that once held values near 100 keeps their last
 * bits, so they must be TA-Lib's. */
static inline double ta_stoch_fastk(double c, double lo, double diff) {
  return diff != 0.0 ? (c - lo) / diff : 0.0;
}
TA_HOT double ta_sma_or_copy_(ta_sma_state *s, double x) {
  return s->period == 1 ? x : ta_sma_update_exact(s, x); /* TA-Lib's MA(1) is a copy */
}
/* %D: the running sum in TA-Lib's order, the division as a multiplication
 * (nothing downstream keeps its last bit). */
TA_HOT double ta_stoch_d_(ta_sma_state *s, double k) {
  if (s->period == 1) return k;
  s->sum += k;
  s->ring[s->pos] = k;
  if (++s->pos == s->period) s->pos = 0;
  if (++s->n < s->period) return NAN;
  double out = s->sum * s->inv;
  s->sum -= s->ring[s->pos];
  return out;
}
/* The %K/%D part, given fast %K (the fused pass shares one window and one
 * divisor between STOCH and WILLR). */
TA_HOT ta_stoch_value ta_stoch_step(ta_stoch_state *s, bool full, double fastk) {
  ta_stoch_value r = {NAN, NAN};
  if (!full) return r;
  double k = ta_sma_or_copy_(&s->k_sma, fastk);
  if (isnan(k)) return r;
  double d = ta_stoch_d_(&s->d_sma, k);
  if (isnan(d)) return r;
  r.k = k;
  r.d = d;
  return r;
}
TA_HOT ta_stoch_value ta_stoch_update(ta_stoch_state *s, double h, double l, double c) {
  double hi, lo;
  bool full = ta_minmax_update(&s->mm, h, l, &hi, &lo);
  return ta_stoch_step(s, full, full ? ta_stoch_fastk(c, lo, ta_range_scale(hi, lo)) : 0.0);
}
lb_err ta_stoch(const double *high, const double *low, const double *close, size_t n, int fastk,
                int slowk, int slowd, double *k, double *d);

/* ==== Williams %R over `period` bars (2..MAX): -100 (at the low) .. 0 ==== */

typedef struct {
  ta_minmax_state mm;
} ta_willr_state;

static inline lb_err ta_willr_init(ta_willr_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 2)) return LB_EINVAL;
  return ta_minmax_init(&s->mm, period);
}
static inline void ta_willr_close(ta_willr_state *s) { ta_minmax_close(&s->mm); }
/* %R from the window's high and ta_range_scale(): TA-Lib divides by
 * (hi - lo) / -100, which is exactly -diff. */
static inline double ta_willr_from(double c, double hi, double diff) {
  return diff != 0.0 ? (hi - c) / -diff : 0.0;
}
TA_HOT double ta_willr_update(ta_willr_state *s, double h, double l, double c) {
  double hi, lo;
  if (!ta_minmax_update(&s->mm, h, l, &hi, &lo)) return NAN;
  return ta_willr_from(c, hi, ta_range_scale(hi, lo));
}
lb_err ta_willr(const double *high, const double *low, const double *close, size_t n, int period,
                double *out);

/* ==== OBV: running total starting at the first bar's volume ==== */

typedef struct {
  double obv, prev;
  int64_t n;
} ta_obv_state;

static inline void ta_obv_init(ta_obv_state *s) { memset(s, 0, sizeof *s); }
TA_HOT double ta_obv_update(ta_obv_state *s, double c, double v) {
  if (s->n++ == 0) {
    s->prev = c;
    return s->obv = v;
  }
  /* branch-free: the direction of a random walk is not predictable; the
   * product is exactly v, -v or 0, so the sum is TA-Lib's */
  s->obv += (double)((c > s->prev) - (c < s->prev)) * v;
  s->prev = c;
  return s->obv;
}
lb_err ta_obv(const double *close, const double *volume, size_t n, double *out);

/* ==== CCI over `period` bars (2..MAX), typical price (h+l+c)/3, constant
 * 0.015.  O(period) per bar (mean deviation; the window's sum reuses the
 * prefix sums of the slots that did not change). ==== */

typedef struct {
  int period;
  double *ring;   /* the window, slot = bar index % period */
  double *prefix; /* prefix[k] = ring[0] + ... + ring[k], summed in that order */
  int pos;
  int64_t n;
} ta_cci_state;

lb_err ta_cci_init(ta_cci_state *s, int period);
void ta_cci_close(ta_cci_state *s);
double ta_cci_update_tp(ta_cci_state *s, double tp);
static inline double ta_cci_update(ta_cci_state *s, double h, double l, double c) {
  return ta_cci_update_tp(s, ta_typical(h, l, c));
}
lb_err ta_cci(const double *high, const double *low, const double *close, size_t n, int period,
              double *out);

/* ==== MFI over `period` bars (2..MAX) ==== */

typedef struct {
  int period;
  double *pos_mf, *neg_mf; /* rings of `period` */
  double pos_sum, neg_sum, prev_tp;
  int idx;
  int64_t n;
} ta_mfi_state;

static inline void ta_mfi_close(ta_mfi_state *s) {
  free(s->pos_mf);
  s->pos_mf = s->neg_mf = NULL;
}
static inline lb_err ta_mfi_init(ta_mfi_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 2)) return LB_EINVAL;
  if (!(s->pos_mf = calloc(2 * (size_t)period, sizeof(double)))) return LB_ENOMEM;
  s->neg_mf = s->pos_mf + period;
  s->period = period;
  return LB_OK;
}
/* Internal: advances the window; true once MFI has a value (from
 * pos_sum and neg_sum). */
TA_HOT bool ta_mfi_advance_(ta_mfi_state *s, double tp, double v) {
  int64_t n = s->n++;
  if (n == 0) {
    s->prev_tp = tp;
    return false;
  }
  if (n > s->period) { /* the oldest flow leaves the window first */
    s->pos_sum -= s->pos_mf[s->idx];
    s->neg_sum -= s->neg_mf[s->idx];
  }
  double diff = tp - s->prev_tp;
  s->prev_tp = tp;
  double mf = tp * v;
  double pf = ta_keep_if_(diff > 0, mf), nf = ta_keep_if_(diff < 0, mf);
  s->pos_mf[s->idx] = pf;
  s->neg_mf[s->idx] = nf;
  s->neg_sum += nf; /* + 0.0 leaves a sum unchanged: TA-Lib's values, no branch */
  s->pos_sum += pf;
  if (++s->idx == s->period) s->idx = 0;
  return n >= s->period;
}
TA_HOT double ta_mfi_update_tp(ta_mfi_state *s, double tp, double v) {
  if (!ta_mfi_advance_(s, tp, v)) return NAN;
  double t = s->pos_sum + s->neg_sum;
  return t < 1.0 ? 0.0 : 100.0 * (s->pos_sum / t);
}
static inline double ta_mfi_update(ta_mfi_state *s, double h, double l, double c, double v) {
  return ta_mfi_update_tp(s, ta_typical(h, l, c), v);
}
lb_err ta_mfi(const double *high, const double *low, const double *close, const double *volume,
              size_t n, int period, double *out);

/* ==== ROC: ((x / x[period ago]) - 1) * 100, period 1..MAX ==== */

typedef struct {
  int period;
  double *ring;
  int pos;
  int64_t n;
} ta_roc_state;

static inline lb_err ta_roc_init(ta_roc_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 1)) return LB_EINVAL;
  if (!(s->ring = calloc((size_t)period, sizeof(double)))) return LB_ENOMEM;
  s->period = period;
  return LB_OK;
}
static inline void ta_roc_close(ta_roc_state *s) {
  free(s->ring);
  s->ring = NULL;
}
/* Internal: pushes x; true once ROC has a value, *old = x `period` ago. */
TA_HOT bool ta_roc_advance_(ta_roc_state *s, double x, double *old) {
  *old = s->ring[s->pos];
  s->ring[s->pos] = x;
  if (++s->pos == s->period) s->pos = 0;
  return s->n++ >= s->period;
}
TA_HOT double ta_roc_update(ta_roc_state *s, double x) {
  double old;
  if (!ta_roc_advance_(s, x, &old)) return NAN;
  return old != 0.0 ? ((x / old) - 1.0) * 100.0 : 0.0;
}
lb_err ta_roc(const double *in, size_t n, int period, double *out);

/* ==== Parabolic SAR (TA_SAR): acceleration step and maximum, 0 < accel,
 * 0 < max; accel is capped at max.  Initial direction from bar 1's -DM
 * (long unless the low fell more than the high rose).  First value at bar 1. ==== */

typedef struct {
  double accel, max, af;
  double sar, ep;
  double ph, pl; /* previous bar's high and low */
  bool is_long;
  int64_t n;
} ta_sar_state;

lb_err ta_sar_init(ta_sar_state *s, double accel, double max);
double ta_sar_update(ta_sar_state *s, double h, double l);
lb_err ta_sar(const double *high, const double *low, size_t n, double accel, double max,
              double *out);

/* ==== VWAP ====
 * Session: sum(tp*v)/sum(v) since 00:00 UTC of the bar's day (reset when a
 * bar of a new UTC day arrives), tp = (h+l+c)/3.  Rolling: the same over the
 * last `period` bars (1..MAX).  No volume in the session/window: the bar's
 * typical price. */

typedef struct {
  int64_t day;
  double pv, v;
  int64_t n;
} ta_vwap_session_state;

static inline void ta_vwap_session_init(ta_vwap_session_state *s) { memset(s, 0, sizeof *s); }
/* Internal: adds a bar to the session sums (pv, v). */
TA_HOT void ta_vwap_session_add_(ta_vwap_session_state *s, lb_ms ts, double tp, double v) {
  int64_t day = ts / LB_MS_DAY - (ts % LB_MS_DAY < 0);
  if (s->n++ == 0 || day != s->day) {
    s->day = day;
    s->pv = 0.0;
    s->v = 0.0;
  }
  s->pv += tp * v;
  s->v += v;
}
TA_HOT double ta_vwap_session_update_tp(ta_vwap_session_state *s, lb_ms ts, double tp, double v) {
  ta_vwap_session_add_(s, ts, tp, v);
  return s->v > 0.0 ? s->pv / s->v : tp;
}
static inline double ta_vwap_session_update(ta_vwap_session_state *s, lb_ms ts, double h, double l,
                                            double c, double v) {
  return ta_vwap_session_update_tp(s, ts, ta_typical(h, l, c), v);
}
lb_err ta_vwap_session(const lb_ms *ts, const double *high, const double *low, const double *close,
                       const double *volume, size_t n, double *out);

typedef struct {
  int period;
  double *pv_ring, *v_ring;
  double pv, v;
  int pos, nonzero; /* bars with volume > 0 in the window */
  int64_t n;
} ta_vwap_state;

static inline void ta_vwap_close(ta_vwap_state *s) {
  free(s->pv_ring);
  s->pv_ring = s->v_ring = NULL;
}
static inline lb_err ta_vwap_init(ta_vwap_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!ta_period_ok_(period, 1)) return LB_EINVAL;
  if (!(s->pv_ring = calloc(2 * (size_t)period, sizeof(double)))) return LB_ENOMEM;
  s->v_ring = s->pv_ring + period;
  s->period = period;
  return LB_OK;
}
/* Internal, every `period` bars: the window's sums added up again. */
typedef struct {
  double pv, v;
} ta_vwap_sums_;
static inline ta_vwap_sums_ ta_vwap_resync_(const double *pv_ring, const double *v_ring,
                                            int period) {
  ta_vwap_sums_ r = {0.0, 0.0};
  for (int i = 0; i < period; i++) {
    r.pv += pv_ring[i];
    r.v += v_ring[i];
  }
  return r;
}

/* Internal: adds a bar; true once the window is full.  Rolling sums with a
 * full re-summation every `period` bars (no drift), and a count of bars
 * with volume so an all-zero window reads exactly "no volume" instead of a
 * ratio of rounding residues.  The value: tp when the window has no
 * volume, else pv / v. */
TA_HOT bool ta_vwap_add_(ta_vwap_state *s, double tp, double v) {
  double pv = tp * v;
  int at = s->pos;
  s->nonzero += (v > 0.0) - (s->v_ring[at] > 0.0);
  s->pv += pv - s->pv_ring[at];
  s->v += v - s->v_ring[at];
  s->pv_ring[at] = pv;
  s->v_ring[at] = v;
  if (++s->pos == s->period) {
    s->pos = 0;
    ta_vwap_sums_ r = ta_vwap_resync_(s->pv_ring, s->v_ring, s->period);
    s->pv = r.pv;
    s->v = r.v;
  }
  if (s->nonzero == 0) s->pv = s->v = 0.0; /* drop rounding residues */
  return ++s->n >= s->period;
}
TA_HOT bool ta_vwap_has_volume_(const ta_vwap_state *s) { return s->nonzero != 0 && s->v > 0.0; }
TA_HOT double ta_vwap_update_tp(ta_vwap_state *s, double tp, double v) {
  if (!ta_vwap_add_(s, tp, v)) return NAN;
  return ta_vwap_has_volume_(s) ? s->pv / s->v : tp;
}
TA_HOT double ta_vwap_update(ta_vwap_state *s, double h, double l, double c, double v) {
  return ta_vwap_update_tp(s, ta_typical(h, l, c), v);
}
lb_err ta_vwap(const double *high, const double *low, const double *close, const double *volume,
               size_t n, int period, double *out);

#endif
