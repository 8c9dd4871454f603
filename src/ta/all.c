/* all.c -- parameters and the fused pass: every indicator of a frame at once.
 *
 * ta_ind_set_update() is the engine's hot path (one call per closed candle
 * per symbol and timeframe); ta_ind_set_run() the same over many candles
 * (`levbot indicators`, warm-ups).  Both run the inline updates of ta_ind.h
 * in groups of independent recurrences, share what indicators have in
 * common (the typical price, one min/max window for STOCH and WILLR, the
 * SMA that is Bollinger's middle) and pair divisions into vector divisions.
 * bench/ta measures them against the separate passes.
 */
#include <stdlib.h>
#include <string.h>

#include "ta/ta.h"

/* Two doubles for one vector division (GCC and Clang vector extension:
 * divpd on x86-64, fdiv on AArch64). */
typedef double ta_d2_ __attribute__((vector_size(16)));

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
  if (!(v >= lo && v <= hi)) return lb_fail(eb, LB_EINVAL, "%s %g outside %g..%g", name, v, lo, hi);
  return LB_OK;
}

lb_err ta_params_check(const ta_params *p, lb_errbuf *eb) {
  const struct {
    const char *name;
    int v, min;
  } per[] = {
      {"sma_period", p->sma_period, 1},
      {"ema_fast", p->ema_fast, 1},
      {"ema_mid", p->ema_mid, 1},
      {"ema_slow", p->ema_slow, 1},
      {"rsi_period", p->rsi_period, 2},
      {"macd_fast", p->macd_fast, 2},
      {"macd_slow", p->macd_slow, 2},
      {"macd_signal", p->macd_signal, 1},
      {"atr_period", p->atr_period, 1},
      {"bb_period", p->bb_period, 2},
      {"adx_period", p->adx_period, 2},
      {"stoch_k", p->stoch_k, 1},
      {"stoch_slow_k", p->stoch_slow_k, 1},
      {"stoch_d", p->stoch_d, 1},
      {"cci_period", p->cci_period, 2},
      {"mfi_period", p->mfi_period, 2},
      {"willr_period", p->willr_period, 2},
      {"roc_period", p->roc_period, 1},
      {"volume_sma_period", p->volume_sma_period, 1},
      {"vwap_period", p->vwap_period, 1},
      {"pivot_bars", p->pivot_bars, 1},
      {"sr_min_touches", p->sr_min_touches, 1},
      {"vol_lookback", p->vol_lookback, 1},
      {"div_max_bars", p->div_max_bars, 1},
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
  if (p->div_max_bars + p->div_recent_bars + 1 > need)
    need = p->div_max_bars + p->div_recent_bars + 1;
  if (p->window < need || p->window > TA_MAX_PERIOD)
    return lb_fail(eb, LB_EINVAL,
                   "window %d outside %d..%d (2*pivot_bars+1 and div_max_bars+div_recent_bars+1)",
                   p->window, need, TA_MAX_PERIOD);
  return LB_OK;
}

/* ==== Fused set ==== */

lb_err ta_ind_set_init(ta_ind_set *s, const ta_params *p) {
  memset(s, 0, sizeof *s);
  if (p)
    s->p = *p;
  else
    ta_params_default(&s->p);
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
  s->sma_is_bb = q->sma_period == q->bb_period;
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

/* ==== The groups of the fused pass ====
 *
 * The set is split into groups of independent recurrences.  One candle at
 * a time (ta_ind_set_update) runs every group; a run over many candles
 * (ta_ind_set_run) runs each group over a block of candles with its states
 * in locals, so the CPU overlaps the latency chains of one group across
 * consecutive candles, which a single candle's ~700 instructions cannot
 * do.  Both run the same inline code: the same numbers, bit for bit. */

/* Two quotients in one vector division.  The divider is the scarcest unit
 * of the fused pass (a division costs as much as a dozen additions), and
 * each lane of a vector division is rounded exactly like a scalar one, so
 * pairing changes no number. */
static inline ta_d2_ div2(double a, double b, double c, double d) {
  return (ta_d2_){a, c} / (ta_d2_){b, d};
}

/* Averages and OBV: short chains of one or two operations. */
static inline __attribute__((always_inline)) void grp_light(ta_ema_state *ef, ta_ema_state *em,
                                                            ta_ema_state *es, ta_sma_state *vs,
                                                            ta_obv_state *ob, const data_candle *c,
                                                            ta_values *o) {
  double cl = c->close;
  o->ema_fast = ta_ema_update(ef, cl);
  o->ema_mid = ta_ema_update(em, cl);
  o->ema_slow = ta_ema_update(es, cl);
  o->volume_sma = ta_sma_update(vs, c->volume);
  o->obv = ta_obv_update(ob, cl, c->volume);
}

/* MACD, RSI, ATR/NATR (RSI's and NATR's quotients in one division) and
 * the directional movement. */
static inline __attribute__((always_inline)) void grp_wilder(ta_macd_state *mc, ta_rsi_state *rs,
                                                             ta_atr_state *at, ta_dmi_state *dm,
                                                             const data_candle *c, ta_values *o) {
  double h = c->high, l = c->low, cl = c->close;
  ta_macd_value m = ta_macd_update(mc, cl);
  o->macd = m.macd;
  o->macd_signal = m.signal;
  o->macd_hist = m.hist;
  bool rsi_ready = ta_rsi_advance_(rs, cl);
  double atr = ta_atr_update(at, h, l, cl);
  double t = rs->gain + rs->loss;
  bool t0 = ta_is_zero(t), c0 = ta_is_zero(cl);
  ta_d2_ q = div2(rs->gain, t0 ? 1.0 : t, atr, c0 ? 1.0 : cl);
  o->rsi = rsi_ready ? (t0 ? 0.0 : 100.0 * q[0]) : NAN; /* ta_rsi_update */
  o->atr = atr;
  o->natr = c0 ? (isnan(atr) ? NAN : 0.0) : q[1] * 100.0; /* ta_natr_from_atr */
  ta_dmi_value d = ta_dmi_update(dm, h, l, cl);
  o->adx = d.adx;
  o->plus_di = d.plus_di;
  o->minus_di = d.minus_di;
}

/* Bollinger (whose middle is the SMA bit for bit when the periods agree)
 * and the SAR. */
static inline __attribute__((always_inline)) void grp_bands(ta_bbands_state *bb, ta_sma_state *sma,
                                                            bool sma_is_bb, ta_sar_state *sar,
                                                            const data_candle *c, ta_values *o) {
  ta_bbands_value b = ta_bbands_update(bb, c->close);
  o->bb_upper = b.upper;
  o->bb_middle = b.middle;
  o->bb_lower = b.lower;
  o->bb_width = b.width;
  o->sma = sma_is_bb ? b.middle : ta_sma_update(sma, c->close);
  o->sar = ta_sar_update(sar, c->high, c->low);
}

/* STOCH and WILLR: one min/max window and one divisor when the periods
 * agree, TA-Lib's two quotients (c - lo) / diff and (hi - c) / -diff in
 * one division. */
static inline __attribute__((always_inline)) void grp_range(ta_stoch_state *st, ta_willr_state *wr,
                                                            bool shared, const data_candle *c,
                                                            ta_values *o) {
  double h = c->high, l = c->low, cl = c->close, hi, lo;
  bool full = ta_minmax_update(&st->mm, h, l, &hi, &lo);
  double diff = ta_range_scale(hi, lo), fk = 0.0;
  if (shared) {
    double w = 0.0;
    if (full && diff != 0.0) {
      ta_d2_ q = div2(cl - lo, diff, hi - cl, -diff);
      fk = q[0];
      w = q[1];
    }
    o->willr = full ? w : NAN;
  } else {
    fk = full ? ta_stoch_fastk(cl, lo, diff) : 0.0;
    o->willr = ta_willr_update(wr, h, l, cl);
  }
  ta_stoch_value v = ta_stoch_step(st, full, fk);
  o->stoch_k = v.k;
  o->stoch_d = v.d;
}

/* Everything on the typical price: CCI, MFI, both VWAPs; and ROC, whose
 * quotient shares the division that makes the typical price. */
static inline __attribute__((always_inline)) void grp_typical(ta_mfi_state *mf,
                                                              ta_vwap_session_state *vs,
                                                              ta_vwap_state *vr, ta_cci_state *cc,
                                                              ta_roc_state *rc,
                                                              const data_candle *c, ta_values *o) {
  double cl = c->close, v = c->volume, old;
  bool roc_ready = ta_roc_advance_(rc, cl, &old);
  ta_d2_ q = div2(c->high + c->low + cl, 3.0, cl, old != 0.0 ? old : 1.0);
  double tp = q[0]; /* ta_typical: (h + l + c) / 3 */
  o->roc = roc_ready ? (old != 0.0 ? (q[1] - 1.0) * 100.0 : 0.0) : NAN; /* ta_roc_update */
  o->cci = ta_cci_update_tp(cc, tp);
  bool mfi_ready = ta_mfi_advance_(mf, tp, v);
  ta_vwap_session_add_(vs, c->ts, tp, v);
  bool vr_ready = ta_vwap_add_(vr, tp, v);
  bool vs_vol = vs->v > 0.0, vr_vol = ta_vwap_has_volume_(vr);
  ta_d2_ w = div2(vs->pv, vs_vol ? vs->v : 1.0, vr->pv, vr_vol ? vr->v : 1.0);
  o->vwap = vs_vol ? w[0] : tp;                            /* ta_vwap_session_update_tp */
  o->vwap_rolling = vr_ready ? (vr_vol ? w[1] : tp) : NAN; /* ta_vwap_update_tp */
  double t = mf->pos_sum + mf->neg_sum;
  o->mfi = mfi_ready ? (t < 1.0 ? 0.0 : 100.0 * (mf->pos_sum / t)) : NAN; /* ta_mfi_update_tp */
}

void ta_ind_set_update(ta_ind_set *s, const data_candle *c, ta_values *o) {
  grp_typical(&s->mfi, &s->vwap, &s->vwap_rolling, &s->cci, &s->roc, c,
              o); /* longest chain first */
  grp_range(&s->stoch, &s->willr, s->willr_shares_window, c, o);
  grp_wilder(&s->macd, &s->rsi, &s->atr, &s->dmi, c, o);
  grp_bands(&s->bb, &s->sma, s->sma_is_bb, &s->sar, c, o);
  grp_light(&s->ema_fast, &s->ema_mid, &s->ema_slow, &s->vol_sma, &s->obv, c, o);
}

/* Candles per block: inputs and outputs of a block stay in L1. */
#define TA_BLOCK 64

void ta_ind_set_run(ta_ind_set *s, const data_candle *c, size_t n, ta_values *out) {
  for (size_t b = 0; b < n; b += TA_BLOCK) {
    size_t e = n - b < TA_BLOCK ? n : b + TA_BLOCK;
    { /* states copied to locals: they live in registers through the loop */
      ta_ema_state ef = s->ema_fast, em = s->ema_mid, es = s->ema_slow;
      ta_sma_state vs = s->vol_sma;
      ta_obv_state ob = s->obv;
      for (size_t i = b; i < e; i++) grp_light(&ef, &em, &es, &vs, &ob, &c[i], &out[i]);
      s->ema_fast = ef;
      s->ema_mid = em;
      s->ema_slow = es;
      s->vol_sma = vs;
      s->obv = ob;
    }
    {
      ta_macd_state mc = s->macd;
      ta_rsi_state rs = s->rsi;
      ta_atr_state at = s->atr;
      ta_dmi_state dm = s->dmi;
      for (size_t i = b; i < e; i++) grp_wilder(&mc, &rs, &at, &dm, &c[i], &out[i]);
      s->macd = mc;
      s->rsi = rs;
      s->atr = at;
      s->dmi = dm;
    }
    {
      ta_bbands_state bb = s->bb;
      ta_sma_state sma = s->sma;
      for (size_t i = b; i < e; i++) grp_bands(&bb, &sma, s->sma_is_bb, &s->sar, &c[i], &out[i]);
      s->bb = bb;
      s->sma = sma;
    }
    {
      ta_stoch_state st = s->stoch;
      ta_willr_state wr = s->willr;
      for (size_t i = b; i < e; i++) grp_range(&st, &wr, s->willr_shares_window, &c[i], &out[i]);
      s->stoch = st;
      s->willr = wr;
    }
    {
      ta_mfi_state mf = s->mfi;
      ta_vwap_session_state vs = s->vwap;
      ta_vwap_state vr = s->vwap_rolling;
      ta_roc_state rc = s->roc;
      for (size_t i = b; i < e; i++) grp_typical(&mf, &vs, &vr, &s->cci, &rc, &c[i], &out[i]);
      s->mfi = mf;
      s->vwap = vs;
      s->vwap_rolling = vr;
      s->roc = rc;
    }
  }
}

lb_err ta_compute_all(const data_candle *c, size_t n, const ta_params *p, ta_values *out) {
  if (n > 0 && (!c || !out)) return LB_EINVAL;
  ta_ind_set s;
  lb_err e = ta_ind_set_init(&s, p);
  if (e) return e;
  ta_ind_set_run(&s, c, n, out);
  ta_ind_set_close(&s);
  return LB_OK;
}
