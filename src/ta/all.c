/* all.c -- parameters and the fused pass: every indicator of one bar at once.
 *
 * ta_ind_set_update() is the engine's hot path (one call per closed candle
 * per symbol and timeframe) and the body of `levbot indicators`.  It calls
 * the inline updates of ta_ind.h back to back: their recurrences are
 * independent, so the CPU overlaps their latency chains and the fused pass
 * costs much less than the sum of separate passes (bench/ta measures it).
 */
#include <stdlib.h>
#include <string.h>

#include "ta/ta.h"

void ta_params_default(ta_params *p) {
  memset(p, 0, sizeof *p);
  p->sma_period = 20;
  p->ema_fast = 20;
  p->ema_mid = 50;
  p->ema_slow = 200;
  p->rsi_period = 14;
  p->macd_fast = 12;
  p->macd_slow = 26;
  p->macd_signal = 9;
  p->atr_period = 14;
  p->bb_period = 20;
  p->bb_k = 2.0;
  p->adx_period = 14;
  p->stoch_k = 14;
  p->stoch_slow_k = 3;
  p->stoch_d = 3;
  p->cci_period = 14;
  p->mfi_period = 14;
  p->willr_period = 14;
  p->roc_period = 10;
  p->sar_accel = 0.02;
  p->sar_max = 0.2;
  p->volume_sma_period = 20;
  p->vwap_period = 20;
  p->window = 300;
  p->pivot_bars = 3;
  p->sr_cluster_atr = 0.5;
  p->sr_min_touches = 1;
  p->mid_band = 1.0 / 3.0;
  p->trend_adx = 25.0;
  p->vol_natr = 5.0;
  p->vol_rank = 0.95;
  p->vol_lookback = 100;
  p->div_max_bars = 60;
  p->div_recent_bars = 10;
}

static lb_err check_period(const char *name, int v, int min, lb_errbuf *eb) {
  if (v < min || v > TA_MAX_PERIOD)
    return lb_fail(eb, LB_EINVAL, "%s %d outside %d..%d", name, v, min, TA_MAX_PERIOD);
  return LB_OK;
}

static lb_err check_real(const char *name, double v, double lo, double hi, lb_errbuf *eb) {
  if (!(v >= lo && v <= hi))
    return lb_fail(eb, LB_EINVAL, "%s %g outside %g..%g", name, v, lo, hi);
  return LB_OK;
}

lb_err ta_params_check(const ta_params *p, lb_errbuf *eb) {
  const struct {
    const char *name;
    int v, min;
  } per[] = {
      {"sma_period", p->sma_period, 1},     {"ema_fast", p->ema_fast, 1},
      {"ema_mid", p->ema_mid, 1},           {"ema_slow", p->ema_slow, 1},
      {"rsi_period", p->rsi_period, 2},     {"macd_fast", p->macd_fast, 2},
      {"macd_slow", p->macd_slow, 2},       {"macd_signal", p->macd_signal, 1},
      {"atr_period", p->atr_period, 1},     {"bb_period", p->bb_period, 2},
      {"adx_period", p->adx_period, 2},     {"stoch_k", p->stoch_k, 1},
      {"stoch_slow_k", p->stoch_slow_k, 1}, {"stoch_d", p->stoch_d, 1},
      {"cci_period", p->cci_period, 2},     {"mfi_period", p->mfi_period, 2},
      {"willr_period", p->willr_period, 2}, {"roc_period", p->roc_period, 1},
      {"volume_sma_period", p->volume_sma_period, 1},
      {"vwap_period", p->vwap_period, 1},   {"pivot_bars", p->pivot_bars, 1},
      {"sr_min_touches", p->sr_min_touches, 1},
      {"vol_lookback", p->vol_lookback, 1}, {"div_max_bars", p->div_max_bars, 1},
      {"div_recent_bars", p->div_recent_bars, 0},
  };
  lb_err e;
  for (size_t i = 0; i < sizeof per / sizeof per[0]; i++)
    if ((e = check_period(per[i].name, per[i].v, per[i].min, eb))) return e;
  if (p->macd_fast >= p->macd_slow)
    return lb_fail(eb, LB_EINVAL, "macd_fast %d must be below macd_slow %d", p->macd_fast,
                   p->macd_slow);
  if ((e = check_real("bb_k", p->bb_k, 0.0, 100.0, eb))) return e;
  if ((e = check_real("sar_accel", p->sar_accel, 1e-9, 1.0, eb))) return e;
  if ((e = check_real("sar_max", p->sar_max, 1e-9, 1.0, eb))) return e;
  if ((e = check_real("sr_cluster_atr", p->sr_cluster_atr, 0.0, 100.0, eb))) return e;
  if ((e = check_real("mid_band", p->mid_band, 0.0, 1.0, eb))) return e;
  if ((e = check_real("trend_adx", p->trend_adx, 0.0, 100.0, eb))) return e;
  if ((e = check_real("vol_natr", p->vol_natr, 0.0, 1e6, eb))) return e;
  if ((e = check_real("vol_rank", p->vol_rank, 0.0, 1.0, eb))) return e;
  /* The window must hold a whole pivot (2N+1 bars) and the divergence span. */
  int need = 2 * p->pivot_bars + 1;
  if (p->div_max_bars + p->div_recent_bars + 1 > need) need = p->div_max_bars + p->div_recent_bars + 1;
  if (p->window < need || p->window > TA_MAX_PERIOD)
    return lb_fail(eb, LB_EINVAL, "window %d outside %d..%d (2*pivot_bars+1 and div_max_bars+div_recent_bars+1)",
                   p->window, need, TA_MAX_PERIOD);
  return LB_OK;
}

/* ==== Fused set ==== */

lb_err ta_ind_set_init(ta_ind_set *s, const ta_params *p) {
  memset(s, 0, sizeof *s);
  if (p) s->p = *p;
  else ta_params_default(&s->p);
  if (ta_params_check(&s->p, NULL)) return LB_EINVAL;
  const ta_params *q = &s->p;
  lb_err e = ta_sma_init(&s->sma, q->sma_period);
  if (!e) e = ta_sma_init(&s->vol_sma, q->volume_sma_period);
  if (!e) e = ta_ema_init(&s->ema_fast, q->ema_fast);
  if (!e) e = ta_ema_init(&s->ema_mid, q->ema_mid);
  if (!e) e = ta_ema_init(&s->ema_slow, q->ema_slow);
  if (!e) e = ta_rsi_init(&s->rsi, q->rsi_period);
  if (!e) e = ta_macd_init(&s->macd, q->macd_fast, q->macd_slow, q->macd_signal);
  if (!e) e = ta_atr_init(&s->atr, q->atr_period);
  if (!e) e = ta_bbands_init(&s->bb, q->bb_period, q->bb_k);
  if (!e) e = ta_dmi_init(&s->dmi, q->adx_period);
  if (!e) e = ta_stoch_init(&s->stoch, q->stoch_k, q->stoch_slow_k, q->stoch_d);
  s->willr_shares_window = q->willr_period == q->stoch_k;
  if (!e && !s->willr_shares_window) e = ta_willr_init(&s->willr, q->willr_period);
  if (!e) e = ta_vwap_init(&s->vwap_rolling, q->vwap_period);
  if (!e) e = ta_cci_init(&s->cci, q->cci_period);
  if (!e) e = ta_mfi_init(&s->mfi, q->mfi_period);
  if (!e) e = ta_roc_init(&s->roc, q->roc_period);
  if (!e) e = ta_sar_init(&s->sar, q->sar_accel, q->sar_max);
  ta_obv_init(&s->obv);
  ta_vwap_session_init(&s->vwap);
  if (e) ta_ind_set_close(s);
  return e;
}

void ta_ind_set_close(ta_ind_set *s) {
  ta_sma_close(&s->sma);
  ta_sma_close(&s->vol_sma);
  ta_bbands_close(&s->bb);
  ta_stoch_close(&s->stoch);
  ta_willr_close(&s->willr);
  ta_vwap_close(&s->vwap_rolling);
  ta_cci_close(&s->cci);
  ta_mfi_close(&s->mfi);
  ta_roc_close(&s->roc);
}

void ta_ind_set_update(ta_ind_set *s, const data_candle *c, ta_values *o) {
  double h = c->high, l = c->low, cl = c->close, v = c->volume;
  o->sma = ta_sma_update(&s->sma, cl);
  o->volume_sma = ta_sma_update(&s->vol_sma, v);
  o->ema_fast = ta_ema_update(&s->ema_fast, cl);
  o->ema_mid = ta_ema_update(&s->ema_mid, cl);
  o->ema_slow = ta_ema_update(&s->ema_slow, cl);
  o->rsi = ta_rsi_update(&s->rsi, cl);
  ta_macd_value m = ta_macd_update(&s->macd, cl);
  o->macd = m.macd;
  o->macd_signal = m.signal;
  o->macd_hist = m.hist;
  o->atr = ta_atr_update(&s->atr, h, l, cl);
  o->natr = ta_natr_from_atr(o->atr, cl);
  ta_bbands_value b = ta_bbands_update(&s->bb, cl);
  o->bb_upper = b.upper;
  o->bb_middle = b.middle;
  o->bb_lower = b.lower;
  o->bb_width = b.width;
  ta_dmi_value d = ta_dmi_update(&s->dmi, h, l, cl);
  o->adx = d.adx;
  o->plus_di = d.plus_di;
  o->minus_di = d.minus_di;
  double hi, lo;
  bool full = ta_minmax_update(&s->stoch.mm, h, l, &hi, &lo);
  ta_stoch_value st = ta_stoch_step(&s->stoch, full, cl, hi, lo);
  o->stoch_k = st.k;
  o->stoch_d = st.d;
  if (s->willr_shares_window) o->willr = full ? ta_willr_from(cl, hi, lo) : NAN;
  else o->willr = ta_willr_update(&s->willr, h, l, cl);
  o->obv = ta_obv_update(&s->obv, cl, v);
  o->vwap = ta_vwap_session_update(&s->vwap, c->ts, h, l, cl, v);
  o->vwap_rolling = ta_vwap_update(&s->vwap_rolling, h, l, cl, v);
  o->cci = ta_cci_update(&s->cci, h, l, cl);
  o->mfi = ta_mfi_update(&s->mfi, h, l, cl, v);
  o->roc = ta_roc_update(&s->roc, cl);
  o->sar = ta_sar_update(&s->sar, h, l);
}

lb_err ta_compute_all(const data_candle *c, size_t n, const ta_params *p, ta_values *out) {
  if (n > 0 && (!c || !out)) return LB_EINVAL;
  ta_ind_set s;
  lb_err e = ta_ind_set_init(&s, p);
  if (e) return e;
  for (size_t i = 0; i < n; i++) ta_ind_set_update(&s, &c[i], &out[i]);
  ta_ind_set_close(&s);
  return LB_OK;
}
