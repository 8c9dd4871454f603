/* ta.h -- technical analysis: indicators, market structure, per-symbol state.
 *
 * Owns: every number the decisions rest on.
 *   - indicators in two forms, batch over arrays and streaming O(1) per bar,
 *     agreeing with TA-Lib 0.6.4 (ta/ta_ind.h, included here);
 *   - market structure: swing highs/lows, support/resistance levels
 *     clustered from them, nearest levels and the middle-of-range test,
 *     divergences (price vs MACD histogram and RSI), regime (trending /
 *     ranging / volatile), trend direction per timeframe and multi-timeframe
 *     confluence; each rule is written out below, thresholds in ta_params;
 *   - ta_frame: the streaming state of one symbol x one timeframe (every
 *     indicator plus a bounded window of recent candles), ta_view: a plain
 *     copy of what a frame knows after its last candle, ta_snapshot: the
 *     views of one symbol from the entry timeframe up, and its deterministic
 *     JSON (the LLM prompt embeds it, the AI cache hashes it).
 *
 * Must not: know about exchanges, orders, risk, the engine or the store;
 * read the clock (a candle's ts is its time); log or exit.  ta depends on
 * core and on data (for data_candle) only.
 *
 * Invariants:
 *   1. Batch and streaming forms of an indicator give identical numbers.
 *   2. A frame's update is O(1) for the indicators; structure work is
 *      bounded by the window (ta_params.window bars), never by history.
 *   3. A view is a pure function of the candles fed to the frame: same
 *      candles, same params -> same view -> same JSON bytes.
 *   4. Values that do not exist yet (warm-up, no swing, no level) are NAN
 *      in views and null in JSON, never a made-up number.
 */
#ifndef LB_TA_TA_H
#define LB_TA_TA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decision.h"
#include "core/err.h"
#include "core/symbol.h"
#include "core/time.h"
#include "data/data.h"
#include "ta/ta_ind.h"

/* ==== Parameters ==== */

/* Every period and threshold.  ta_params_default() gives TA-Lib's default
 * periods and the structure defaults documented on each field; the engine
 * maps configuration onto it.  Thread safety: frames and sets share
 * nothing, one thread per frame at a time. */
typedef struct {
  /* indicators */
  int sma_period;                        /* 20 */
  int ema_fast, ema_mid, ema_slow;       /* 20, 50, 200 */
  int rsi_period;                        /* 14 */
  int macd_fast, macd_slow, macd_signal; /* 12, 26, 9 */
  int atr_period;                        /* 14 (ATR and NATR) */
  int bb_period;                         /* 20 */
  double bb_k;                           /* 2.0 */
  int adx_period;                        /* 14 (ADX, +DI, -DI) */
  int stoch_k, stoch_slow_k, stoch_d;    /* 14, 3, 3 */
  int cci_period;                        /* 14 */
  int mfi_period;                        /* 14 */
  int willr_period;                      /* 14 */
  int roc_period;                        /* 10 */
  double sar_accel, sar_max;             /* 0.02, 0.2 */
  int volume_sma_period;                 /* 20 */
  int vwap_period; /* 20: the rolling VWAP (the view's vwap is per UTC session) */

  /* structure */
  int window;            /* 300: candles a frame keeps for swings, levels, divergence */
  int pivot_bars;        /* 3: bars each side of a swing point */
  double sr_cluster_atr; /* 0.5: swings within this many ATRs form one level */
  int sr_min_touches;    /* 1: swings a level needs to count */
  double mid_band;       /* 1/3: width of the "middle" band, as a fraction of the range */
  double trend_adx;      /* 25: ADX at or above which a directional market is trending */
  double vol_natr;     /* 5.0: NATR (ATR as % of close) at or above which the market is volatile */
  double vol_rank;     /* 0.95: band-width percentile rank at or above which it is volatile */
  int vol_lookback;    /* 100: band widths the rank is taken over */
  int div_max_bars;    /* 60: the two swings of a divergence at most this many bars apart */
  int div_recent_bars; /* 10: the newer swing at most this many bars before the last candle */
} ta_params;

void ta_params_default(ta_params *p);
/* Checks ranges and consistency (e.g. macd_fast < macd_slow, window large
 * enough for the pivots); eb names the field and the value. */
lb_err ta_params_check(const ta_params *p, lb_errbuf *eb);

/* ==== Market structure (pure functions, tested on constructed series) ==== */

/* A swing point (pivot).  Rule, with N = pivot_bars: bar i is a swing high
 * when high[i] is strictly greater than the highs of the N bars before it
 * and greater than or equal to the highs of the N bars after it (so in a
 * flat top the first bar is the pivot); a swing low mirrors it with lows.
 * A swing is confirmed N bars after its bar, never earlier.  One bar can be
 * both (an outside bar). */
typedef struct {
  int64_t idx;      /* bar index in the series/frame (0 = first candle) */
  lb_ms ts;         /* bar open time */
  int kind;         /* +1 high, -1 low */
  double price;     /* the high (kind +1) or the low (kind -1) */
  double rsi;       /* RSI at that bar (NAN if warming up) */
  double macd_hist; /* MACD histogram at that bar (NAN if warming up) */
} ta_swing;

/* All swings of arrays high/low (ts, rsi, macd_hist may be NULL: then 0 /
 * NAN), in bar order.  Writes at most max; returns how many exist. */
size_t ta_find_swings(const lb_ms *ts, const double *high, const double *low, const double *rsi,
                      const double *macd_hist, size_t n, int nbars, ta_swing *out, size_t max);

/* A support/resistance level.  Rule: the swing prices (highs and lows
 * alike) are sorted; walking up, a price joins the current cluster while it
 * is within `tol` of the cluster's lowest price, else it starts a new one;
 * tol = sr_cluster_atr x ATR (0 when ATR is unknown: equal prices only).  The
 * level is the mean of its members; clusters with fewer than sr_min_touches
 * members are dropped. */
typedef struct {
  double price;
  double lo, hi;    /* extent of the members */
  int touches;      /* members */
  int highs, lows;  /* members that were swing highs / lows */
  int64_t last_idx; /* bar of the most recent member */
} ta_level;

#define TA_MAX_LEVELS 64 /* a buffer that holds a default frame's levels in practice */
/* Levels from swings, ascending by price.  Writes at most max (the lowest
 * ones); returns the count written.  Deterministic (ties broken by bar
 * index). */
size_t ta_sr_levels(const ta_swing *sw, size_t n, double tol, int min_touches, ta_level *out,
                    size_t max);
/* Nearest support: the highest level price <= price; nearest resistance:
 * the lowest level price > price.  NAN when there is none. */
void ta_sr_nearest(const ta_level *lv, size_t n, double price, double *support, double *resistance);
/* The red-flag test: both levels exist, resistance > support, and price is
 * inside the band of width `band` (fraction of the range) centred on the
 * middle: |(price - support)/(resistance - support) - 0.5| <= band/2.
 * *pos (may be NULL) gets (price - support)/(resistance - support) or NAN. */
bool ta_mid_range(double price, double support, double resistance, double band, double *pos);

/* Divergence over the last two swings of one kind.  Rule: take the two most
 * recent swing lows L1 (older) and L2, and the two most recent swing highs
 * H1 and H2.  Bullish (+1): L2.price < L1.price (lower low) and the
 * indicator at L2 > at L1 (higher low).  Bearish (-1): H2.price > H1.price
 * (higher high) and the indicator at H2 < at H1.  A pair counts only if both
 * indicator values are known, the swings are at most max_bars apart and the
 * newer one is at most recent_bars before bar `now`.  If both count, the
 * one whose newer swing is later wins (0 on a tie).  `which` selects the
 * indicator: TA_DIV_MACD (histogram) or TA_DIV_RSI. */
enum { TA_DIV_MACD = 0, TA_DIV_RSI = 1 };
int ta_divergence(const ta_swing *sw, size_t n, int which, int64_t now, int max_bars,
                  int recent_bars);

/* Trend direction of one timeframe: +1 when ema_fast > ema_mid and close >
 * ema_mid, -1 when ema_fast < ema_mid and close < ema_mid, else 0 (and 0
 * when any input is unknown). */
int ta_trend_dir(double close, double ema_fast, double ema_mid);

/* Regime.  Rule, in this order:
 *   unknown   if any input below is unknown (warm-up);
 *   volatile  if natr >= vol_natr, or bb_width_rank >= vol_rank (the band
 *             width is wider than that fraction of the last vol_lookback
 *             widths);
 *   trending  if adx >= trend_adx and the trend direction is +1 with
 *             +DI > -DI, or -1 with -DI > +DI;
 *   ranging   otherwise. */
typedef struct {
  double close, ema_fast, ema_mid;
  double adx, plus_di, minus_di;
  double natr;
  double bb_width_rank; /* 0..1 */
} ta_regime_in;
lb_regime ta_regime_classify(const ta_regime_in *in, const ta_params *p);

/* Fraction of hist[0..n) strictly below x (0 when n is 0). */
double ta_rank(const double *hist, size_t n, double x);

/* Confluence of trend directions (trend[0] = entry timeframe): +1 when every
 * timeframe is +1, -1 when every one is -1, else 0.  *agree = how many
 * timeframes have the entry timeframe's direction (0 when it is 0);
 * *n_up / *n_down count each direction.  Pointers may be NULL. */
int ta_confluence(const int *trend, int n, int *agree, int *n_up, int *n_down);

/* ==== Fused indicator pass (the engine's hot path and `levbot indicators`) ==== */

/* Every indicator value of one bar (NAN while warming up).  Doubles only
 * (tests walk it as an array: keep it so). */
typedef struct {
  double sma, ema_fast, ema_mid, ema_slow;
  double rsi;
  double macd, macd_signal, macd_hist;
  double atr, natr;
  double bb_upper, bb_middle, bb_lower, bb_width;
  double adx, plus_di, minus_di;
  double stoch_k, stoch_d;
  double obv;
  double vwap;         /* UTC session */
  double vwap_rolling; /* over vwap_period bars */
  double cci, mfi, willr, roc, sar;
  double volume_sma;
} ta_values;

/* The streaming states of every indicator, updated together (one pass,
 * independent recurrences interleaved). */
typedef struct {
  ta_params p;
  ta_sma_state sma, vol_sma;
  ta_ema_state ema_fast, ema_mid, ema_slow;
  ta_rsi_state rsi;
  ta_macd_state macd;
  ta_atr_state atr;
  ta_bbands_state bb;
  ta_dmi_state dmi;
  ta_stoch_state stoch;
  ta_willr_state willr;
  bool willr_shares_window; /* same period as stoch's %K: one min/max window */
  bool sma_is_bb;           /* same period as Bollinger: its middle is the SMA */
  ta_obv_state obv;
  ta_vwap_session_state vwap;
  ta_vwap_state vwap_rolling;
  ta_cci_state cci;
  ta_mfi_state mfi;
  ta_roc_state roc;
  ta_sar_state sar;
} ta_ind_set;

lb_err ta_ind_set_init(ta_ind_set *s, const ta_params *p);
void ta_ind_set_close(ta_ind_set *s);
/* One closed candle (the engine's per-candle path). */
void ta_ind_set_update(ta_ind_set *s, const data_candle *c, ta_values *out);
/* n candles at once, out[i] for each: the same numbers as n calls of
 * ta_ind_set_update, faster (groups of indicators run over blocks of
 * candles, so their latency chains overlap across candles). */
void ta_ind_set_run(ta_ind_set *s, const data_candle *c, size_t n, ta_values *out);

/* Batch over a whole series: out[i] for every candle (allocates nothing but
 * the windows).  p NULL = defaults. */
lb_err ta_compute_all(const data_candle *c, size_t n, const ta_params *p, ta_values *out);

/* ==== Frame, view, snapshot ==== */

#define TA_RECENT 10 /* candles a view carries for the LLM prompt */
#define TA_MAX_TF 4  /* timeframes in a snapshot */

/* What a frame knows after its last candle; a plain copyable struct.
 * Unknown values are NAN (see invariant 4).  Fields are named after the
 * default periods (rsi14, ema50, ...) and hold the frame's configured ones. */
typedef struct {
  lb_ms tf;     /* timeframe (bar duration) */
  lb_ms ts;     /* open time of the last candle (0 if none) */
  int64_t bars; /* candles seen */
  bool ready;   /* every core indicator past warm-up: sma20, ema20, ema50,
                   rsi14, macd (signal), atr14, bbands, adx14, stoch, volume_sma20 */
  double open, high, low, close, volume;
  double sma20, ema20, ema50, ema200;
  double rsi14;
  double macd, macd_signal, macd_hist;
  double atr14, natr14;
  double bb_upper, bb_middle, bb_lower, bb_width;
  double adx14, plus_di14, minus_di14;
  double stoch_k, stoch_d;
  double obv;
  double vwap; /* UTC session */
  double cci, mfi14, willr14, roc, psar;
  double volume_sma20;
  lb_regime regime;
  int trend;                  /* +1 / 0 / -1 (ta_trend_dir) */
  double support, resistance; /* nearest to close (NAN if none) */
  double range_pos; /* (close - support)/(resistance - support), NAN if either is missing */
  bool mid_range;   /* the red-flag test (ta_mid_range) */
  double swing_low, swing_high; /* most recent confirmed pivots (NAN if none) */
  int div_macd, div_rsi;        /* +1 bullish, -1 bearish, 0 none */
  double bb_width_rank;         /* 0..1 among up to vol_lookback earlier widths;
                                   NAN until min(vol_lookback, 20) of them exist */
  int n_recent;                 /* candles in recent[], oldest first */
  data_candle recent[TA_RECENT];
} ta_view;

/* One symbol x one timeframe.  Opaque; owned by the caller of _new. */
typedef struct ta_frame ta_frame;

/* p NULL = defaults.  NULL if p fails ta_params_check, tf <= 0 or memory
 * is short. */
ta_frame *ta_frame_new(lb_ms tf, const ta_params *p);
void ta_frame_free(ta_frame *f);
/* Feeds one closed candle.  LB_EINVAL (state unchanged) if its ts is not
 * after the previous candle's or it fails data_candle_check() (a value not
 * finite, a price <= 0, low/high not bracketing open and close, volume < 0). */
lb_err ta_frame_update(ta_frame *f, const data_candle *c);
void ta_frame_view(const ta_frame *f, ta_view *out);
lb_ms ta_frame_tf(const ta_frame *f);
int64_t ta_frame_bars(const ta_frame *f);
/* The indicator values after the last candle (NAN while warming up, all
 * NAN before the first), in O(1): without the structure work of
 * ta_frame_view, for callers that need a number at every bar (the engine's
 * trailing-stop ATR, its cheap red-flag pre-check). */
void ta_frame_values(const ta_frame *f, ta_values *out);
/* The frame's confirmed swings still inside its window, oldest first
 * (at most max written; returns how many exist). */
size_t ta_frame_swings(const ta_frame *f, ta_swing *out, size_t max);
/* Its support/resistance levels now (ascending; returns the count written). */
size_t ta_frame_levels(const ta_frame *f, ta_level *out, size_t max);

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  lb_ms ts;              /* open time of the entry timeframe's last candle */
  int n;                 /* views */
  ta_view tf[TA_MAX_TF]; /* tf[0] = entry (lowest) timeframe, ascending */
  int confluence;        /* +1 all up, -1 all down, 0 mixed (ta_confluence) */
  int n_agree;           /* timeframes agreeing with the entry timeframe's trend */
  int n_up, n_down;
} ta_snapshot;

/* Views of 1..TA_MAX_TF frames (any order; sorted by timeframe, which must
 * differ) and their confluence.  LB_EINVAL for a bad count, a NULL frame or
 * two frames of the same timeframe. */
lb_err ta_snapshot_build(const ta_frame *const *frames, int n, const char *symbol,
                         ta_snapshot *out);

/* Deterministic JSON of a snapshot: fixed field order, numbers with 10
 * significant digits ("%.10g"), NAN as null, times as ms and ISO-8601.
 * The caller frees the string with free(); NULL on out-of-memory (or a
 * symbol that is not UTF-8). */
char *ta_snapshot_to_json(const ta_snapshot *s);

#endif
