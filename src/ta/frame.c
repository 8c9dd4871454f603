/* frame.c -- ta_frame: everything ta knows about one symbol x one timeframe.
 *
 * A frame holds the streaming states of every indicator (ta_ind_set), the
 * values of the last candle, and a ring of the last `window` bars (candle,
 * RSI and MACD histogram) from which swings are confirmed as candles
 * arrive.  Swings older than the window are dropped, so the structure work
 * of an update (the pivot test, O(pivot_bars)) and of a view (levels,
 * divergence, rank: O(window)) never depends on how long the frame has run.
 */
#include <stdlib.h>
#include <string.h>

#include "ta/ta.h"

typedef struct {
  data_candle c;
  double rsi, hist;
} frame_bar;

struct ta_frame {
  lb_ms tf;
  ta_params p;
  ta_ind_set ind;
  ta_values last;
  int64_t bars;   /* candles seen; the last one has index bars-1 */
  frame_bar *win; /* ring of p.window bars, slot = index % window */
  double *bbw;    /* ring of the last vol_lookback+1 band widths */
  int bbw_len, bbw_pos, bbw_cap;
  ta_swing *sw; /* confirmed swings, oldest first: sw[sw_head .. sw_head+sw_len) */
  size_t sw_head, sw_len, sw_cap;
};

/* Fewest earlier band widths a rank is taken over. */
#define TA_RANK_MIN 20

static const frame_bar *bar_at(const ta_frame *f, int64_t idx) {
  return &f->win[idx % f->p.window];
}

ta_frame *ta_frame_new(lb_ms tf, const ta_params *p) {
  ta_params q;
  if (p)
    q = *p;
  else
    ta_params_default(&q);
  if (tf <= 0 || ta_params_check(&q, NULL)) return NULL;
  ta_frame *f = calloc(1, sizeof *f);
  if (!f) return NULL;
  f->tf = tf;
  f->p = q;
  f->bbw_cap = q.vol_lookback + 1;
  f->sw_cap = 2 * (size_t)q.window; /* each bar is at most one high and one low */
  f->win = calloc((size_t)q.window, sizeof *f->win);
  f->bbw = calloc((size_t)f->bbw_cap, sizeof *f->bbw);
  f->sw = calloc(f->sw_cap, sizeof *f->sw);
  if (!f->win || !f->bbw || !f->sw || ta_ind_set_init(&f->ind, &q)) {
    ta_frame_free(f);
    return NULL;
  }
  return f;
}

void ta_frame_free(ta_frame *f) {
  if (!f) return;
  ta_ind_set_close(&f->ind);
  free(f->win);
  free(f->bbw);
  free(f->sw);
  free(f);
}

lb_ms ta_frame_tf(const ta_frame *f) { return f->tf; }
int64_t ta_frame_bars(const ta_frame *f) { return f->bars; }

void ta_frame_values(const ta_frame *f, ta_values *out) {
  if (f->bars > 0) {
    *out = f->last;
    return;
  }
  double *d = (double *)out; /* ta_values holds doubles only */
  for (size_t i = 0; i < sizeof *out / sizeof(double); i++) d[i] = NAN;
}

static void push_swing(ta_frame *f, const ta_swing *s) {
  if (f->sw_head + f->sw_len == f->sw_cap) { /* compact: drop the consumed head */
    memmove(f->sw, f->sw + f->sw_head, f->sw_len * sizeof *f->sw);
    f->sw_head = 0;
  }
  f->sw[f->sw_head + f->sw_len++] = *s;
}

/* The bar `nb` before the last may now be confirmed as a pivot. */
static void detect_swings(ta_frame *f) {
  int nb = f->p.pivot_bars;
  int64_t cand = f->bars - 1 - nb;
  if (cand - nb < 0) return;
  const frame_bar *b = bar_at(f, cand);
  bool hi = true, lo = true;
  for (int k = 1; k <= nb && (hi || lo); k++) {
    const frame_bar *before = bar_at(f, cand - k), *after = bar_at(f, cand + k);
    hi = hi && b->c.high > before->c.high && b->c.high >= after->c.high;
    lo = lo && b->c.low < before->c.low && b->c.low <= after->c.low;
  }
  if (hi) push_swing(f, &(ta_swing){cand, b->c.ts, 1, b->c.high, b->rsi, b->hist});
  if (lo) push_swing(f, &(ta_swing){cand, b->c.ts, -1, b->c.low, b->rsi, b->hist});
  /* Swings that left the window no longer count. */
  int64_t oldest = f->bars - f->p.window;
  while (f->sw_len > 0 && f->sw[f->sw_head].idx < oldest) {
    f->sw_head++;
    f->sw_len--;
  }
}

lb_err ta_frame_update(ta_frame *f, const data_candle *c) {
  if (!f || !c || data_candle_check(c, NULL) != LB_OK) return LB_EINVAL;
  if (f->bars > 0 && c->ts <= bar_at(f, f->bars - 1)->c.ts) return LB_EINVAL;
  ta_ind_set_update(&f->ind, c, &f->last);
  frame_bar *slot = &f->win[f->bars % f->p.window];
  slot->c = *c;
  slot->rsi = f->last.rsi;
  slot->hist = f->last.macd_hist;
  f->bars++;
  if (!isnan(f->last.bb_width)) {
    f->bbw[f->bbw_pos] = f->last.bb_width;
    if (++f->bbw_pos == f->bbw_cap) f->bbw_pos = 0;
    if (f->bbw_len < f->bbw_cap) f->bbw_len++;
  }
  detect_swings(f);
  return LB_OK;
}

size_t ta_frame_swings(const ta_frame *f, ta_swing *out, size_t max) {
  size_t n = f->sw_len < max ? f->sw_len : max;
  if (n) memcpy(out, f->sw + f->sw_head, n * sizeof *out);
  return f->sw_len;
}

size_t ta_frame_levels(const ta_frame *f, ta_level *out, size_t max) {
  double tol = f->p.sr_cluster_atr * f->last.atr;
  return ta_sr_levels(f->sw + f->sw_head, f->sw_len, isnan(tol) ? 0.0 : tol, f->p.sr_min_touches,
                      out, max);
}

/* Rank of the last band width among the ones before it (NAN if too few). */
static double bbw_rank(const ta_frame *f) {
  int prev = f->bbw_len - 1;
  int need = f->p.vol_lookback < TA_RANK_MIN ? f->p.vol_lookback : TA_RANK_MIN;
  if (isnan(f->last.bb_width) || prev < need) return NAN;
  int cur = f->bbw_pos == 0 ? f->bbw_cap - 1 : f->bbw_pos - 1;
  size_t below = 0;
  for (int i = 0, k = cur; i < prev; i++) {
    k = k == 0 ? f->bbw_cap - 1 : k - 1;
    below += f->bbw[k] < f->last.bb_width;
  }
  return (double)below / prev;
}

void ta_frame_view(const ta_frame *f, ta_view *v) {
  const ta_values *x = &f->last;
  memset(v, 0, sizeof *v);
  v->tf = f->tf;
  v->bars = f->bars;
  if (f->bars > 0) {
    const data_candle *c = &bar_at(f, f->bars - 1)->c;
    v->ts = c->ts;
    v->open = c->open;
    v->high = c->high;
    v->low = c->low;
    v->close = c->close;
    v->volume = c->volume;
  } else {
    v->open = v->high = v->low = v->close = v->volume = NAN;
  }
  bool any = f->bars > 0;
  v->sma20 = any ? x->sma : NAN;
  v->ema20 = any ? x->ema_fast : NAN;
  v->ema50 = any ? x->ema_mid : NAN;
  v->ema200 = any ? x->ema_slow : NAN;
  v->rsi14 = any ? x->rsi : NAN;
  v->macd = any ? x->macd : NAN;
  v->macd_signal = any ? x->macd_signal : NAN;
  v->macd_hist = any ? x->macd_hist : NAN;
  v->atr14 = any ? x->atr : NAN;
  v->natr14 = any ? x->natr : NAN;
  v->bb_upper = any ? x->bb_upper : NAN;
  v->bb_middle = any ? x->bb_middle : NAN;
  v->bb_lower = any ? x->bb_lower : NAN;
  v->bb_width = any ? x->bb_width : NAN;
  v->adx14 = any ? x->adx : NAN;
  v->plus_di14 = any ? x->plus_di : NAN;
  v->minus_di14 = any ? x->minus_di : NAN;
  v->stoch_k = any ? x->stoch_k : NAN;
  v->stoch_d = any ? x->stoch_d : NAN;
  v->obv = any ? x->obv : NAN;
  v->vwap = any ? x->vwap : NAN;
  v->cci = any ? x->cci : NAN;
  v->mfi14 = any ? x->mfi : NAN;
  v->willr14 = any ? x->willr : NAN;
  v->roc = any ? x->roc : NAN;
  v->psar = any ? x->sar : NAN;
  v->volume_sma20 = any ? x->volume_sma : NAN;

  const double core[] = {v->sma20, v->ema20,     v->ema50, v->rsi14,   v->macd_signal,
                         v->atr14, v->bb_middle, v->adx14, v->stoch_d, v->volume_sma20};
  v->ready = any;
  for (size_t i = 0; i < sizeof core / sizeof core[0]; i++)
    if (isnan(core[i])) v->ready = false;

  v->bb_width_rank = any ? bbw_rank(f) : NAN;
  v->trend = ta_trend_dir(v->close, v->ema20, v->ema50);
  ta_regime_in rin = {v->close,     v->ema20,      v->ema50,  v->adx14,
                      v->plus_di14, v->minus_di14, v->natr14, v->bb_width_rank};
  v->regime = v->ready ? ta_regime_classify(&rin, &f->p) : LB_REGIME_UNKNOWN;

  const ta_swing *sw = f->sw + f->sw_head;
  size_t nsw = f->sw_len;
  v->swing_low = v->swing_high = NAN;
  for (size_t i = nsw; i-- > 0;) {
    if (sw[i].kind > 0 && isnan(v->swing_high)) v->swing_high = sw[i].price;
    if (sw[i].kind < 0 && isnan(v->swing_low)) v->swing_low = sw[i].price;
  }
  /* Every level counts for "nearest" (not just the first TA_MAX_LEVELS). */
  ta_level local[128];
  ta_level *lv = nsw <= 128 ? local : malloc(nsw * sizeof *lv);
  size_t nlv = lv ? ta_frame_levels(f, lv, nsw) : 0;
  ta_sr_nearest(lv, nlv, v->close, &v->support, &v->resistance);
  if (lv != local) free(lv);
  v->mid_range = ta_mid_range(v->close, v->support, v->resistance, f->p.mid_band, &v->range_pos);
  int64_t now = f->bars - 1;
  v->div_macd = ta_divergence(sw, nsw, TA_DIV_MACD, now, f->p.div_max_bars, f->p.div_recent_bars);
  v->div_rsi = ta_divergence(sw, nsw, TA_DIV_RSI, now, f->p.div_max_bars, f->p.div_recent_bars);

  int64_t nr = f->bars < TA_RECENT ? f->bars : TA_RECENT;
  if (nr > f->p.window) nr = f->p.window;
  v->n_recent = (int)nr;
  for (int64_t i = 0; i < nr; i++) v->recent[i] = bar_at(f, f->bars - nr + i)->c;
}
