/* ind.c -- indicator states (init/close), the non-inline updates, and the
 * batch forms.
 *
 * Each batch function runs the very update the streaming form uses (the
 * static inline functions of ta_ind.h) over the arrays, so the two forms
 * cannot drift apart: invariant 1 of ta.h holds by construction, and
 * tests/ta still checks it.  The windows are allocated once per call.
 */
#include <stdlib.h>
#include <string.h>

#include "ta/ta.h"

/* ==== Helpers ==== */

static bool period_ok(int p, int min) { return p >= min && p <= TA_MAX_PERIOD; }

static double *ring_new(int n) { return calloc((size_t)n, sizeof(double)); }

/* Batch argument check: arrays must exist when there is work to do. */
#define NEED(ptr)                                  \
  do {                                             \
    if (n > 0 && (ptr) == NULL) return LB_EINVAL;  \
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

lb_err ta_sma_init(ta_sma_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 1)) return LB_EINVAL;
  if (!(s->ring = ring_new(period))) return LB_ENOMEM;
  s->period = period;
  s->inv = 1.0 / period;
  return LB_OK;
}

void ta_sma_close(ta_sma_state *s) {
  free(s->ring);
  s->ring = NULL;
}

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

lb_err ta_ema_init(ta_ema_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 1)) return LB_EINVAL;
  s->period = period;
  s->k = 2.0 / (period + 1.0);
  s->k1 = 1.0 - s->k;
  return LB_OK;
}

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

lb_err ta_rsi_init(ta_rsi_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 2)) return LB_EINVAL;
  s->period = period;
  s->b = 1.0 / period;
  s->a = (period - 1.0) / period;
  return LB_OK;
}

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

lb_err ta_macd_init(ta_macd_state *s, int fast, int slow, int signal) {
  memset(s, 0, sizeof *s);
  if (ta_macd_lookback(fast, slow, signal) < 0) return LB_EINVAL;
  s->fast = fast;
  s->slow = slow;
  s->signal = signal;
  s->kf = 2.0 / (fast + 1.0);
  s->ks = 2.0 / (slow + 1.0);
  s->kg = 2.0 / (signal + 1.0);
  return LB_OK;
}

lb_err ta_macd(const double *in, size_t n, int fast, int slow, int signal, double *macd,
               double *signal_out, double *hist) {
  NEED(in);
  NEED(macd);
  NEED(signal_out);
  NEED(hist);
  ta_macd_state s;
  lb_err e = ta_macd_init(&s, fast, slow, signal);
  if (e) return e;
  for (size_t i = 0; i < n; i++) {
    ta_macd_value v = ta_macd_update(&s, in[i]);
    macd[i] = v.macd;
    signal_out[i] = v.signal;
    hist[i] = v.hist;
  }
  return LB_OK;
}

/* ==== ATR / NATR ==== */

lb_err ta_atr_init(ta_atr_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 1)) return LB_EINVAL;
  s->period = period;
  s->b = 1.0 / period;
  s->a = (period - 1.0) / period;
  return LB_OK;
}

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

lb_err ta_bbands_init(ta_bbands_state *s, int period, double k) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 2) || !isfinite(k)) return LB_EINVAL;
  if (!(s->ring = ring_new(period))) return LB_ENOMEM;
  s->period = period;
  s->k = k;
  s->inv = 1.0 / period;
  return LB_OK;
}

void ta_bbands_close(ta_bbands_state *s) {
  free(s->ring);
  s->ring = NULL;
}

/* Once per `period` bars: centre the sums on the current mean and add them
 * up again from the window, so rounding never accumulates and the variance
 * is a difference of small numbers (E[(x-c)^2] - E[x-c]^2 with c ~ mean). */
void ta_bbands_resync_(ta_bbands_state *s) {
  double c = s->sum * s->inv, s1 = 0.0, s2 = 0.0;
  for (int i = 0; i < s->period; i++) {
    double d = s->ring[i] - c;
    s1 += d;
    s2 += d * d;
  }
  s->center = c;
  s->s1 = s1;
  s->s2 = s2;
}

lb_err ta_bbands(const double *in, size_t n, int period, double k, double *upper, double *middle,
                 double *lower) {
  NEED(in);
  NEED(upper);
  NEED(middle);
  NEED(lower);
  ta_bbands_state s;
  lb_err e = ta_bbands_init(&s, period, k);
  if (e) return e;
  for (size_t i = 0; i < n; i++) {
    ta_bbands_value v = ta_bbands_update(&s, in[i]);
    upper[i] = v.upper;
    middle[i] = v.middle;
    lower[i] = v.lower;
  }
  ta_bbands_close(&s);
  return LB_OK;
}

/* ==== Directional movement ==== */

lb_err ta_dmi_init(ta_dmi_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 2)) return LB_EINVAL;
  s->period = period;
  s->b = 1.0 / period;
  s->a = 1.0 - s->b;
  return LB_OK;
}

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

lb_err ta_plus_di(const double *high, const double *low, const double *close, size_t n,
                  int period, double *out) {
  NEED(out);
  return ta_dmi(high, low, close, n, period, NULL, out, NULL);
}

lb_err ta_minus_di(const double *high, const double *low, const double *close, size_t n,
                   int period, double *out) {
  NEED(out);
  return ta_dmi(high, low, close, n, period, NULL, NULL, out);
}

/* ==== Sliding min/max, STOCH, WILLR ==== */

lb_err ta_minmax_init(ta_minmax_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 1)) return LB_EINVAL;
  s->period = period;
  s->hi_idx = calloc((size_t)period, sizeof *s->hi_idx);
  s->lo_idx = calloc((size_t)period, sizeof *s->lo_idx);
  s->hi_val = ring_new(period);
  s->lo_val = ring_new(period);
  if (!s->hi_idx || !s->lo_idx || !s->hi_val || !s->lo_val) {
    ta_minmax_close(s);
    return LB_ENOMEM;
  }
  return LB_OK;
}

void ta_minmax_close(ta_minmax_state *s) {
  free(s->hi_idx);
  free(s->lo_idx);
  free(s->hi_val);
  free(s->lo_val);
  s->hi_idx = s->lo_idx = NULL;
  s->hi_val = s->lo_val = NULL;
}

lb_err ta_stoch_init(ta_stoch_state *s, int fastk, int slowk, int slowd) {
  memset(s, 0, sizeof *s);
  if (ta_stoch_lookback(fastk, slowk, slowd) < 0) return LB_EINVAL;
  lb_err e = ta_minmax_init(&s->mm, fastk);
  if (!e) e = ta_sma_init(&s->k_sma, slowk);
  if (!e) e = ta_sma_init(&s->d_sma, slowd);
  if (e) ta_stoch_close(s);
  return e;
}

void ta_stoch_close(ta_stoch_state *s) {
  ta_minmax_close(&s->mm);
  ta_sma_close(&s->k_sma);
  ta_sma_close(&s->d_sma);
}

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

lb_err ta_willr_init(ta_willr_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 2)) return LB_EINVAL;
  return ta_minmax_init(&s->mm, period);
}

void ta_willr_close(ta_willr_state *s) { ta_minmax_close(&s->mm); }

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

void ta_obv_init(ta_obv_state *s) { memset(s, 0, sizeof *s); }

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
  if (!(s->ring = ring_new(period))) return LB_ENOMEM;
  s->period = period;
  return LB_OK;
}

void ta_cci_close(ta_cci_state *s) {
  free(s->ring);
  s->ring = NULL;
}

/* TA-Lib's order: the ring is laid out by bar index modulo period and summed
 * from slot 0, so these are TA-Lib's values bit for bit, with one deliberate
 * exception: a mean deviation below 1e-13 of the price (a flat window) is
 * taken as 0.  TA-Lib tests it against exactly 0, so over a constant series
 * the rounding of the mean (a few units in the last place) gives it +/-66.7
 * instead of 0.  No real market has a window that flat. */
double ta_cci_update(ta_cci_state *s, double h, double l, double c) {
  int p = s->period;
  double tp = (h + l + c) / 3.0;
  s->ring[s->pos] = tp;
  if (++s->pos == p) s->pos = 0;
  if (++s->n < p) return NAN;
  double avg = 0.0;
  for (int j = 0; j < p; j++) avg += s->ring[j];
  avg /= p;
  double dev = 0.0;
  for (int j = 0; j < p; j++) dev += fabs(s->ring[j] - avg);
  double t = tp - avg;
  if (t != 0.0 && dev > 1e-13 * p * fabs(avg)) return t / (0.015 * (dev / p));
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

lb_err ta_mfi_init(ta_mfi_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 2)) return LB_EINVAL;
  s->pos_mf = ring_new(period);
  s->neg_mf = ring_new(period);
  if (!s->pos_mf || !s->neg_mf) {
    ta_mfi_close(s);
    return LB_ENOMEM;
  }
  s->period = period;
  return LB_OK;
}

void ta_mfi_close(ta_mfi_state *s) {
  free(s->pos_mf);
  free(s->neg_mf);
  s->pos_mf = s->neg_mf = NULL;
}

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

lb_err ta_roc_init(ta_roc_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 1)) return LB_EINVAL;
  if (!(s->ring = ring_new(period))) return LB_ENOMEM;
  s->period = period;
  return LB_OK;
}

void ta_roc_close(ta_roc_state *s) {
  free(s->ring);
  s->ring = NULL;
}

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
      out = sar;
      if (h > s->ep) {
        s->ep = h;
        s->af += s->accel;
        if (s->af > s->max) s->af = s->max;
      }
      sar = sar + s->af * (s->ep - sar);
      if (sar > pl) sar = pl;
      if (sar > l) sar = l;
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
      if (l < s->ep) {
        s->ep = l;
        s->af += s->accel;
        if (s->af > s->max) s->af = s->max;
      }
      sar = sar + s->af * (s->ep - sar);
      if (sar < ph) sar = ph;
      if (sar < h) sar = h;
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

void ta_vwap_session_init(ta_vwap_session_state *s) { memset(s, 0, sizeof *s); }

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

lb_err ta_vwap_init(ta_vwap_state *s, int period) {
  memset(s, 0, sizeof *s);
  if (!period_ok(period, 1)) return LB_EINVAL;
  s->pv_ring = ring_new(period);
  s->v_ring = ring_new(period);
  if (!s->pv_ring || !s->v_ring) {
    ta_vwap_close(s);
    return LB_ENOMEM;
  }
  s->period = period;
  return LB_OK;
}

void ta_vwap_close(ta_vwap_state *s) {
  free(s->pv_ring);
  free(s->v_ring);
  s->pv_ring = s->v_ring = NULL;
}

/* Rolling sums with a full re-summation every `period` bars (no drift), and
 * a count of bars with volume so an all-zero window reads exactly "no
 * volume" instead of a ratio of rounding residues. */
double ta_vwap_update(ta_vwap_state *s, double h, double l, double c, double v) {
  double tp = (h + l + c) / 3.0, pv = tp * v;
  int at = s->pos;
  s->nonzero += (v > 0.0) - (s->v_ring[at] > 0.0);
  s->pv += pv - s->pv_ring[at];
  s->v += v - s->v_ring[at];
  s->pv_ring[at] = pv;
  s->v_ring[at] = v;
  if (++s->pos == s->period) {
    s->pos = 0;
    double spv = 0.0, sv = 0.0;
    for (int i = 0; i < s->period; i++) {
      spv += s->pv_ring[i];
      sv += s->v_ring[i];
    }
    s->pv = spv;
    s->v = sv;
  }
  if (s->nonzero == 0) s->pv = s->v = 0.0; /* drop rounding residues */
  if (++s->n < s->period) return NAN;
  if (s->nonzero == 0 || !(s->v > 0.0)) return tp;
  return s->pv / s->v;
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
