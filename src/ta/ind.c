/* ind.c -- the batch forms, lookbacks, and the updates too large to inline
 * (CCI, SAR).
 *
 * Each batch function runs the very update the streaming form uses (the
 * static inline functions of ta_ind.h) over the arrays, so the two forms
 * cannot drift apart (invariant 1 of ta.h; tests/ta checks it bit for bit).
 * Two take a shortcut with the same arithmetic: MACD drops the warm-up
 * bookkeeping once past it, Bollinger takes its square roots two at a time.
 * The windows are allocated once per call.
 */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "ta/ta.h"

/* ==== Helpers ==== */

static bool period_ok(int p, int min) { return ta_period_ok_(p, min); }

static double *ring_new(int n) { return calloc((size_t)n, sizeof(double)); }

/* Batch argument check: arrays must exist when there is work to do. */
#define NEED(ptr)                                 \
  do {                                            \
    if (n > 0 && (ptr) == NULL) return LB_EINVAL; \
  } while (0)

/* ==== Lookbacks ==== */

int ta_sma_lookback(int period) { return period_ok(period, 1) ? period - 1 : -1; }
int ta_ema_lookback(int period) { return period_ok(period, 1) ? period - 1 : -1; }
int ta_rsi_lookback(int period) { return period_ok(period, 2) ? period : -1; }
int ta_macd_lookback(int fast, int slow, int signal) {
  if (!period_ok(fast, 2) || !period_ok(slow, 2) || fast >= slow || !period_ok(signal, 1))
    return -1;
  return slow - 1 + signal - 1;
}
int ta_atr_lookback(int period) { return period_ok(period, 1) ? period : -1; }
int ta_bbands_lookback(int period) { return period_ok(period, 2) ? period - 1 : -1; }
int ta_di_lookback(int period) { return period_ok(period, 2) ? period : -1; }
int ta_adx_lookback(int period) { return period_ok(period, 2) ? 2 * period - 1 : -1; }
int ta_stoch_lookback(int fastk, int slowk, int slowd) {
  if (!period_ok(fastk, 1) || !period_ok(slowk, 1) || !period_ok(slowd, 1)) return -1;
  return fastk - 1 + slowk - 1 + slowd - 1;
}
int ta_cci_lookback(int period) { return period_ok(period, 2) ? period - 1 : -1; }
int ta_mfi_lookback(int period) { return period_ok(period, 2) ? period : -1; }
int ta_willr_lookback(int period) { return period_ok(period, 2) ? period - 1 : -1; }
int ta_roc_lookback(int period) { return period_ok(period, 1) ? period : -1; }

/* ==== SMA ==== */

lb_err ta_sma(const double *in, size_t n, int period, double *out) {
  NEED(in);
  NEED(out);
  ta_sma_state s;
  lb_err e = ta_sma_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++) out[i] = ta_sma_update(&s, in[i]);
  ta_sma_close(&s);
  return LB_OK;
}

/* ==== EMA ==== */

lb_err ta_ema(const double *in, size_t n, int period, double *out) {
  NEED(in);
  NEED(out);
  ta_ema_state s;
  lb_err e = ta_ema_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++) out[i] = ta_ema_update(&s, in[i]);
  return LB_OK;
}

/* ==== RSI ==== */

lb_err ta_rsi(const double *in, size_t n, int period, double *out) {
  NEED(in);
  NEED(out);
  ta_rsi_state s;
  lb_err e = ta_rsi_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++) out[i] = ta_rsi_update(&s, in[i]);
  return LB_OK;
}

/* ==== MACD ==== */

lb_err ta_macd(const double *in, size_t n, int fast, int slow, int signal, double *macd,
               double *signal_out, double *hist) {
  NEED(in);
  NEED(macd);
  NEED(signal_out);
  NEED(hist);
  ta_macd_state s;
  lb_err e = ta_macd_init(&s, fast, slow, signal);
  if (e) return e;
  size_t i = 0, warm = (size_t)ta_macd_lookback(fast, slow, signal) + 1;
  for (; i < n && i < warm; i++) {
    ta_macd_value v = ta_macd_update(&s, in[i]);
    macd[i] = v.macd;
    signal_out[i] = v.signal;
    hist[i] = v.hist;
  }
  /* Past the warm-up, ta_macd_update's steady branch with nothing else:
   * the same three EMA steps in the same order, the same numbers. */
  double fv = s.fv, sv = s.sv, gv = s.gv, kf = s.kf, ks = s.ks, kg = s.kg;
  for (; i < n; i++) {
    double x = in[i];
    fv = (x - fv) * kf + fv;
    sv = (x - sv) * ks + sv;
    double line = fv - sv;
    gv = (line - gv) * kg + gv;
    macd[i] = line;
    signal_out[i] = gv;
    hist[i] = line - gv;
  }
  return LB_OK;
}

/* ==== ATR / NATR ==== */

lb_err ta_atr(const double *high, const double *low, const double *close, size_t n, int period,
              double *out) {
  NEED(high);
  NEED(low);
  NEED(close);
  NEED(out);
  ta_atr_state s;
  lb_err e = ta_atr_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++) out[i] = ta_atr_update(&s, high[i], low[i], close[i]);
  return LB_OK;
}

lb_err ta_natr(const double *high, const double *low, const double *close, size_t n, int period,
               double *out) {
  NEED(high);
  NEED(low);
  NEED(close);
  NEED(out);
  ta_atr_state s;
  lb_err e = ta_atr_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++)
    out[i] = ta_natr_from_atr(ta_atr_update(&s, high[i], low[i], close[i]), close[i]);
  return LB_OK;
}

/* ==== Bollinger Bands ==== */

/* Once per `period` bars: the sums are centred on the current mean and
 * added up again from the window, so rounding never accumulates and the
 * variance is a difference of small numbers (E[(x-c)^2] - E[x-c]^2, c ~ mean). */
lb_err ta_bbands(const double *in, size_t n, int period, double k, double *upper, double *middle,
                 double *lower) {
  NEED(in);
  NEED(upper);
  NEED(middle);
  NEED(lower);
  ta_bbands_state s;
  lb_err e = ta_bbands_init(&s, period, k);
  if (e) return e;
  /* Per block of 256 bars (so the second pass reads from cache): pass 1
   * computes mean and variance (the variance waits in `upper`), pass 2 the
   * bands, square roots two at a time where the CPU has them (a square
   * root is correctly rounded either way: the same numbers as
   * ta_bbands_update). */
  for (size_t b = 0; b < n; b += 256) {
    size_t end = n - b < 256 ? n : b + 256;
    for (size_t i = b; i < end; i++) {
      double mean = NAN, var = NAN;
      ta_bbands_advance_(&s, in[i], &mean, &var);
      middle[i] = mean;
      upper[i] = var;
    }
    size_t i = b;
#ifdef __SSE2__
    const __m128d eps = _mm_set1_pd(TA_EPSILON), kk = _mm_set1_pd(k);
    for (; i + 2 <= end; i += 2) {
      __m128d var = _mm_loadu_pd(&upper[i]), mean = _mm_loadu_pd(&middle[i]);
      __m128d dev = _mm_mul_pd(_mm_andnot_pd(_mm_cmplt_pd(var, eps), _mm_sqrt_pd(var)), kk);
      _mm_storeu_pd(&upper[i], _mm_add_pd(mean, dev));
      _mm_storeu_pd(&lower[i], _mm_sub_pd(mean, dev));
    }
#endif
    for (; i < end; i++) {
      double var = upper[i], dev = var < TA_EPSILON ? 0.0 : sqrt(var) * k;
      upper[i] = middle[i] + dev;
      lower[i] = middle[i] - dev;
    }
  }
  ta_bbands_close(&s);
  return LB_OK;
}

/* ==== Directional movement ==== */

lb_err ta_dmi(const double *high, const double *low, const double *close, size_t n, int period,
              double *adx, double *plus_di, double *minus_di) {
  NEED(high);
  NEED(low);
  NEED(close);
  ta_dmi_state s;
  lb_err e = ta_dmi_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++) {
    ta_dmi_value v = ta_dmi_update(&s, high[i], low[i], close[i]);
    if (adx) adx[i] = v.adx;
    if (plus_di) plus_di[i] = v.plus_di;
    if (minus_di) minus_di[i] = v.minus_di;
  }
  return LB_OK;
}

lb_err ta_adx(const double *high, const double *low, const double *close, size_t n, int period,
              double *out) {
  NEED(out);
  return ta_dmi(high, low, close, n, period, out, NULL, NULL);
}

lb_err ta_plus_di(const double *high, const double *low, const double *close, size_t n, int period,
                  double *out) {
  NEED(out);
  return ta_dmi(high, low, close, n, period, NULL, out, NULL);
}

lb_err ta_minus_di(const double *high, const double *low, const double *close, size_t n, int period,
                   double *out) {
  NEED(out);
  return ta_dmi(high, low, close, n, period, NULL, NULL, out);
}

/* ==== Sliding min/max, STOCH, WILLR ==== */

/* A block is complete: its suffix extremes serve the next `period` windows. */
lb_err ta_stoch(const double *high, const double *low, const double *close, size_t n, int fastk,
                int slowk, int slowd, double *k, double *d) {
  NEED(high);
  NEED(low);
  NEED(close);
  NEED(k);
  NEED(d);
  ta_stoch_state s;
  lb_err e = ta_stoch_init(&s, fastk, slowk, slowd);
  if (e) return e;
  for (size_t i = 0; i < n; i++) {
    ta_stoch_value v = ta_stoch_update(&s, high[i], low[i], close[i]);
    k[i] = v.k;
    d[i] = v.d;
  }
  ta_stoch_close(&s);
  return LB_OK;
}

lb_err ta_willr(const double *high, const double *low, const double *close, size_t n, int period,
                double *out) {
  NEED(high);
  NEED(low);
  NEED(close);
  NEED(out);
  ta_willr_state s;
  lb_err e = ta_willr_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++) out[i] = ta_willr_update(&s, high[i], low[i], close[i]);
  ta_willr_close(&s);
  return LB_OK;
}

/* ==== OBV ==== */

lb_err ta_obv(const double *close, const double *volume, size_t n, double *out) {
  NEED(close);
  NEED(volume);
  NEED(out);
  ta_obv_state s;
  ta_obv_init(&s);
  for (size_t i = 0; i < n; i++) out[i] = ta_obv_update(&s, close[i], volume[i]);
  return LB_OK;
}

/* ==== CCI ==== */

lb_err ta_cci_init(ta_cci_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 2)) return LB_EINVAL;
  if (!(s->ring = ring_new(2 * period))) return LB_ENOMEM;
  s->prefix = s->ring + period;
  s->period = period;
  return LB_OK;
}

void ta_cci_close(ta_cci_state *s) {
  free(s->ring);
  s->ring = s->prefix = NULL;
}

/* The mean of the window is TA-Lib's bit for bit: the ring is laid out by
 * bar index modulo period and summed from slot 0 in order (the deviation of
 * the bar from the mean is a small difference of large numbers, so the
 * mean's last bit matters).  Only the slot of the new bar changed, so the
 * prefix sums before it still hold and the sum restarts from there.  The mean deviation is a sum of
 * absolute values (no cancellation), so it takes four partial sums, and the quotient one division:
 * a unit or two in the last place from TA-Lib's.  One deliberate exception: a mean deviation below
 * 1e-13 of the price (a flat window) is taken as 0.  TA-Lib tests it against exactly 0, so over a
 * constant series the rounding of the mean gives it +/-66.7 instead of 0.  No real market has a
 * window that flat. */
double ta_cci_update_tp(ta_cci_state *s, double tp) {
  int p = s->period, q = s->pos;
  const double *r = s->ring;
  double *pre = s->prefix;
  s->ring[q] = tp;
  double sum = q == 0 ? 0.0 : pre[q - 1];
  int j = q;
  for (; j < p; j++) pre[j] = sum += r[j]; /* TA-Lib: 0 + r[0] + r[1] + ... in order */
  if (++s->pos == p) s->pos = 0;
  if (++s->n < p) return NAN;
  double avg = sum / p;
  double d0 = 0.0, d1 = 0.0, d2 = 0.0, d3 = 0.0;
  for (j = 0; j + 4 <= p; j += 4) {
    d0 += fabs(r[j] - avg);
    d1 += fabs(r[j + 1] - avg);
    d2 += fabs(r[j + 2] - avg);
    d3 += fabs(r[j + 3] - avg);
  }
  for (; j < p; j++) d0 += fabs(r[j] - avg);
  double dev = (d0 + d1) + (d2 + d3);
  double t = tp - avg;
  if (t != 0.0 && dev > 1e-13 * p * fabs(avg)) return t * (p / 0.015) / dev;
  return 0.0;
}

lb_err ta_cci(const double *high, const double *low, const double *close, size_t n, int period,
              double *out) {
  NEED(high);
  NEED(low);
  NEED(close);
  NEED(out);
  ta_cci_state s;
  lb_err e = ta_cci_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++) out[i] = ta_cci_update(&s, high[i], low[i], close[i]);
  ta_cci_close(&s);
  return LB_OK;
}

/* ==== MFI ==== */

lb_err ta_mfi(const double *high, const double *low, const double *close, const double *volume,
              size_t n, int period, double *out) {
  NEED(high);
  NEED(low);
  NEED(close);
  NEED(volume);
  NEED(out);
  ta_mfi_state s;
  lb_err e = ta_mfi_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++) out[i] = ta_mfi_update(&s, high[i], low[i], close[i], volume[i]);
  ta_mfi_close(&s);
  return LB_OK;
}

/* ==== ROC ==== */

lb_err ta_roc(const double *in, size_t n, int period, double *out) {
  NEED(in);
  NEED(out);
  ta_roc_state s;
  lb_err e = ta_roc_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++) out[i] = ta_roc_update(&s, in[i]);
  ta_roc_close(&s);
  return LB_OK;
}

/* ==== Parabolic SAR ==== */

lb_err ta_sar_init(ta_sar_state *s, double accel, double max) {
  memset(s, 0, sizeof *s);
  if (!(accel > 0.0) || !(max > 0.0) || !isfinite(accel) || !isfinite(max)) return LB_EINVAL;
  if (accel > max) accel = max;
  s->accel = accel;
  s->max = max;
  s->af = accel;
  return LB_OK;
}

/* TA_SAR's loop, one bar per call.  The value returned for a bar is the
 * SAR in force during that bar (computed at the end of the previous one),
 * or the reversal level on the bar that stops the trend out. */
double ta_sar_update(ta_sar_state *s, double h, double l) {
  int64_t n = s->n++;
  if (n == 0) {
    s->ph = h;
    s->pl = l;
    return NAN;
  }
  double ph = s->ph, pl = s->pl;
  if (n == 1) {
    /* Direction from bar 1's -DM; the first SAR is bar 0's extreme.  As in
     * TA-Lib, bar 1 is its own "previous bar" in the first step. */
    double dp = h - s->ph, dm = s->pl - l;
    s->is_long = !(dm > 0 && dp < dm);
    if (s->is_long) {
      s->ep = h;
      s->sar = s->pl;
    } else {
      s->ep = l;
      s->sar = s->ph;
    }
    ph = h;
    pl = l;
  }
  s->ph = h;
  s->pl = l;
  double out, sar = s->sar;
  if (s->is_long) {
    if (l <= sar) { /* stopped out: reverse to short */
      s->is_long = false;
      sar = s->ep;
      if (sar < ph) sar = ph;
      if (sar < h) sar = h;
      out = sar;
      s->af = s->accel;
      s->ep = l;
      sar = sar + s->af * (s->ep - sar);
      if (sar < ph) sar = ph;
      if (sar < h) sar = h;
    } else {
      /* The usual bar, without branches (a new extreme is a coin toss):
       * af + 0.0 is af, and min/max are single instructions. */
      out = sar;
      double af = s->af + ta_keep_if_(h > s->ep, s->accel);
      s->af = af > s->max ? s->max : af;
      s->ep = h > s->ep ? h : s->ep;
      sar = sar + s->af * (s->ep - sar);
      sar = sar > pl ? pl : sar;
      sar = sar > l ? l : sar;
    }
  } else {
    if (h >= sar) { /* stopped out: reverse to long */
      s->is_long = true;
      sar = s->ep;
      if (sar > pl) sar = pl;
      if (sar > l) sar = l;
      out = sar;
      s->af = s->accel;
      s->ep = h;
      sar = sar + s->af * (s->ep - sar);
      if (sar > pl) sar = pl;
      if (sar > l) sar = l;
    } else {
      out = sar;
      double af = s->af + ta_keep_if_(l < s->ep, s->accel);
      s->af = af > s->max ? s->max : af;
      s->ep = l < s->ep ? l : s->ep;
      sar = sar + s->af * (s->ep - sar);
      sar = sar < ph ? ph : sar;
      sar = sar < h ? h : sar;
    }
  }
  s->sar = sar;
  return out;
}

lb_err ta_sar(const double *high, const double *low, size_t n, double accel, double max,
              double *out) {
  NEED(high);
  NEED(low);
  NEED(out);
  ta_sar_state s;
  lb_err e = ta_sar_init(&s, accel, max);
  if (e) return e;
  for (size_t i = 0; i < n; i++) out[i] = ta_sar_update(&s, high[i], low[i]);
  return LB_OK;
}

/* ==== VWAP ==== */

lb_err ta_vwap_session(const lb_ms *ts, const double *high, const double *low, const double *close,
                       const double *volume, size_t n, double *out) {
  NEED(ts);
  NEED(high);
  NEED(low);
  NEED(close);
  NEED(volume);
  NEED(out);
  ta_vwap_session_state s;
  ta_vwap_session_init(&s);
  for (size_t i = 0; i < n; i++)
    out[i] = ta_vwap_session_update(&s, ts[i], high[i], low[i], close[i], volume[i]);
  return LB_OK;
}

lb_err ta_vwap(const double *high, const double *low, const double *close, const double *volume,
               size_t n, int period, double *out) {
  NEED(high);
  NEED(low);
  NEED(close);
  NEED(volume);
  NEED(out);
  ta_vwap_state s;
  lb_err e = ta_vwap_init(&s, period);
  if (e) return e;
  for (size_t i = 0; i < n; i++) out[i] = ta_vwap_update(&s, high[i], low[i], close[i], volume[i]);
  ta_vwap_close(&s);
  return LB_OK;
}
