/* bench_ta.c -- how many nanoseconds per bar each indicator costs.
 *
 *   bench_ta [bars] [repeats]     defaults: 10,000,000 bars, best of 5
 *
 * Input: a seeded random walk with consistent OHLC and volume (the same
 * kind of input as the TA-Lib / tulipindicators figures in
 * ../shared/data/reference/README.md).  For each indicator:
 *   batch   one call over the whole arrays (windows allocated inside the
 *           call, output arrays allocated once outside, as for TA-Lib);
 *   stream  the streaming state updated one bar at a time, each value
 *           stored in an output array.
 * Then the engine's hot path: the fused pass (ta_ind_set_update, every
 * indicator of ta_frame at once) against the sum of the separate batch
 * passes of the same indicators, and ta_frame_update itself (indicators +
 * candle window + swing detection).  A last line times TA-Lib's own EMA
 * recurrence compiled here, to compare this machine with the one the
 * reference figures come from.  Figures only: nothing here asserts a speed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/time.h"
#include "ta/ta.h"

static size_t N;
static int REPEAT = 5;
static lb_ms *ts;
static double *hi, *lo, *cl, *vol;
static data_candle *candles;
static double *o1, *o2, *o3;
static double sink;

/* ==== Input ==== */

static uint64_t rs = 88172645463325252ull;
static double unit(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return (double)(rs >> 11) / 9007199254740992.0;
}

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    fprintf(stderr, "bench_ta: out of memory (%zu bytes)\n", n);
    exit(1);
  }
  return p;
}

static void make_input(void) {
  ts = xmalloc(N * sizeof *ts);
  hi = xmalloc(N * sizeof *hi);
  lo = xmalloc(N * sizeof *lo);
  cl = xmalloc(N * sizeof *cl);
  vol = xmalloc(N * sizeof *vol);
  candles = xmalloc(N * sizeof *candles);
  o1 = xmalloc(N * sizeof *o1);
  o2 = xmalloc(N * sizeof *o2);
  o3 = xmalloc(N * sizeof *o3);
  double p = 30000.0;
  for (size_t i = 0; i < N; i++) {
    double o = p, c = o * (1.0 + (unit() - 0.5) * 0.004);
    double h = (o > c ? o : c) * (1.0 + unit() * 0.001),
           l = (o < c ? o : c) * (1.0 - unit() * 0.001);
    ts[i] = INT64_C(1640995200000) + (lb_ms)i * LB_MS_MINUTE;
    hi[i] = h;
    lo[i] = l;
    cl[i] = c;
    vol[i] = 1.0 + 100.0 * unit();
    candles[i] = (data_candle){ts[i], o, h, l, c, vol[i]};
    p = c;
    if (p < 1000.0 || p > 1e6) p = 30000.0; /* keep the walk in a sane range */
  }
}

/* ==== Timing ==== */

static double best_ns_per_bar(void (*fn)(void), size_t bars) {
  double best = 1e300;
  for (int r = 0; r < REPEAT; r++) {
    int64_t t0 = lb_time_mono_ns();
    fn();
    double dt = (double)(lb_time_mono_ns() - t0);
    if (dt < best) best = dt;
    sink += o1[bars / 2] + o2[bars / 3] + o3[bars / 5];
  }
  return best / (double)bars;
}

#define CHECKED(call)                                  \
  do {                                                 \
    if ((call) != LB_OK) {                             \
      fprintf(stderr, "bench_ta: %s failed\n", #call); \
      exit(1);                                         \
    }                                                  \
  } while (0)

/* ==== Batch and streaming bodies ==== */

static void b_sma(void) { CHECKED(ta_sma(cl, N, 20, o1)); }
static void s_sma(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_sma_state s;
  CHECKED(ta_sma_init(&s, 20));
  for (size_t i = 0; i < n; i++) O1[i] = ta_sma_update(&s, CL[i]);
  ta_sma_close(&s);
}
static void b_ema(void) { CHECKED(ta_ema(cl, N, 20, o1)); }
static void s_ema(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_ema_state s;
  CHECKED(ta_ema_init(&s, 20));
  for (size_t i = 0; i < n; i++) O1[i] = ta_ema_update(&s, CL[i]);
}
static void b_rsi(void) { CHECKED(ta_rsi(cl, N, 14, o1)); }
static void s_rsi(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_rsi_state s;
  CHECKED(ta_rsi_init(&s, 14));
  for (size_t i = 0; i < n; i++) O1[i] = ta_rsi_update(&s, CL[i]);
}
static void b_macd(void) { CHECKED(ta_macd(cl, N, 12, 26, 9, o1, o2, o3)); }
static void s_macd(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_macd_state s;
  CHECKED(ta_macd_init(&s, 12, 26, 9));
  for (size_t i = 0; i < n; i++) {
    ta_macd_value v = ta_macd_update(&s, CL[i]);
    O1[i] = v.macd;
    O2[i] = v.signal;
    O3[i] = v.hist;
  }
}
static void b_atr(void) { CHECKED(ta_atr(hi, lo, cl, N, 14, o1)); }
static void s_atr(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_atr_state s;
  CHECKED(ta_atr_init(&s, 14));
  for (size_t i = 0; i < n; i++) O1[i] = ta_atr_update(&s, H[i], L[i], CL[i]);
}
static void b_bb(void) { CHECKED(ta_bbands(cl, N, 20, 2.0, o1, o2, o3)); }
static void s_bb(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_bbands_state s;
  CHECKED(ta_bbands_init(&s, 20, 2.0));
  for (size_t i = 0; i < n; i++) {
    ta_bbands_value v = ta_bbands_update(&s, CL[i]);
    O1[i] = v.upper;
    O2[i] = v.middle;
    O3[i] = v.lower;
  }
  ta_bbands_close(&s);
}
static void b_adx(void) { CHECKED(ta_adx(hi, lo, cl, N, 14, o1)); }
static void s_adx(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_dmi_state s;
  CHECKED(ta_dmi_init(&s, 14));
  for (size_t i = 0; i < n; i++) O1[i] = ta_dmi_update(&s, H[i], L[i], CL[i]).adx;
}
static void b_stoch(void) { CHECKED(ta_stoch(hi, lo, cl, N, 14, 3, 3, o1, o2)); }
static void s_stoch(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_stoch_state s;
  CHECKED(ta_stoch_init(&s, 14, 3, 3));
  for (size_t i = 0; i < n; i++) {
    ta_stoch_value v = ta_stoch_update(&s, H[i], L[i], CL[i]);
    O1[i] = v.k;
    O2[i] = v.d;
  }
  ta_stoch_close(&s);
}
static void b_obv(void) { CHECKED(ta_obv(cl, vol, N, o1)); }
static void s_obv(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_obv_state s;
  ta_obv_init(&s);
  for (size_t i = 0; i < n; i++) O1[i] = ta_obv_update(&s, CL[i], VO[i]);
}
static void b_natr(void) { CHECKED(ta_natr(hi, lo, cl, N, 14, o1)); }
static void s_natr(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_atr_state s;
  CHECKED(ta_atr_init(&s, 14));
  for (size_t i = 0; i < n; i++)
    O1[i] = ta_natr_from_atr(ta_atr_update(&s, H[i], L[i], CL[i]), CL[i]);
}
static void b_cci(void) { CHECKED(ta_cci(hi, lo, cl, N, 14, o1)); }
static void s_cci(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_cci_state s;
  CHECKED(ta_cci_init(&s, 14));
  for (size_t i = 0; i < n; i++) O1[i] = ta_cci_update(&s, H[i], L[i], CL[i]);
  ta_cci_close(&s);
}
static void b_mfi(void) { CHECKED(ta_mfi(hi, lo, cl, vol, N, 14, o1)); }
static void s_mfi(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_mfi_state s;
  CHECKED(ta_mfi_init(&s, 14));
  for (size_t i = 0; i < n; i++) O1[i] = ta_mfi_update(&s, H[i], L[i], CL[i], VO[i]);
  ta_mfi_close(&s);
}
static void b_willr(void) { CHECKED(ta_willr(hi, lo, cl, N, 14, o1)); }
static void s_willr(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_willr_state s;
  CHECKED(ta_willr_init(&s, 14));
  for (size_t i = 0; i < n; i++) O1[i] = ta_willr_update(&s, H[i], L[i], CL[i]);
  ta_willr_close(&s);
}
static void b_roc(void) { CHECKED(ta_roc(cl, N, 10, o1)); }
static void s_roc(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_roc_state s;
  CHECKED(ta_roc_init(&s, 10));
  for (size_t i = 0; i < n; i++) O1[i] = ta_roc_update(&s, CL[i]);
  ta_roc_close(&s);
}
static void b_sar(void) { CHECKED(ta_sar(hi, lo, N, 0.02, 0.2, o1)); }
static void s_sar(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_sar_state s;
  CHECKED(ta_sar_init(&s, 0.02, 0.2));
  for (size_t i = 0; i < n; i++) O1[i] = ta_sar_update(&s, H[i], L[i]);
}
static void b_vwaps(void) { CHECKED(ta_vwap_session(ts, hi, lo, cl, vol, N, o1)); }
static void s_vwaps(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_vwap_session_state s;
  ta_vwap_session_init(&s);
  for (size_t i = 0; i < n; i++)
    O1[i] = ta_vwap_session_update(&s, TS[i], H[i], L[i], CL[i], VO[i]);
}
static void b_vwap(void) { CHECKED(ta_vwap(hi, lo, cl, vol, N, 20, o1)); }
static void s_vwap(void) {
  /* local copies, as a caller's loop would have them (globals are reloaded
   * after every store through a double pointer) */
  const size_t n = N;
  const lb_ms *TS = ts;
  const double *H = hi, *L = lo, *CL = cl, *VO = vol;
  double *O1 = o1, *O2 = o2, *O3 = o3;
  (void)TS, (void)H, (void)L, (void)CL, (void)VO, (void)O1, (void)O2, (void)O3;
  ta_vwap_state s;
  CHECKED(ta_vwap_init(&s, 20));
  for (size_t i = 0; i < n; i++) O1[i] = ta_vwap_update(&s, H[i], L[i], CL[i], VO[i]);
  ta_vwap_close(&s);
}
/* the other moving averages of the fused set */
static void b_ema50(void) { CHECKED(ta_ema(cl, N, 50, o1)); }
static void b_ema200(void) { CHECKED(ta_ema(cl, N, 200, o1)); }
static void b_volsma(void) { CHECKED(ta_sma(vol, N, 20, o1)); }
static void b_dmi(void) { CHECKED(ta_dmi(hi, lo, cl, N, 14, o1, o2, o3)); }

/* The fused pass over every indicator of a frame: ta_ind_set_run over the
 * candles, values consumed from a small buffer (a 10M-candle ta_values
 * array would be 2.6 GB). */
#define CHUNK 4096
static ta_values chunk[CHUNK];
static void fused(void) {
  ta_ind_set s;
  CHECKED(ta_ind_set_init(&s, NULL));
  for (size_t i = 0; i < N; i += CHUNK)
    ta_ind_set_run(&s, &candles[i], N - i < CHUNK ? N - i : CHUNK, chunk);
  ta_ind_set_close(&s);
  o1[N / 2] = chunk[7].rsi + chunk[9].adx;
}

/* The same set one candle at a time (the engine's per-candle call). */
static void fused_one(void) {
  ta_ind_set s;
  CHECKED(ta_ind_set_init(&s, NULL));
  for (size_t i = 0; i < N; i++) ta_ind_set_update(&s, &candles[i], &chunk[i % CHUNK]);
  ta_ind_set_close(&s);
  o1[N / 2] = chunk[7].rsi + chunk[9].adx;
}

static size_t frame_bars;
static void frame(void) {
  ta_frame *f = ta_frame_new(LB_MS_MINUTE, NULL);
  if (!f) exit(1);
  for (size_t i = 0; i < frame_bars; i++) CHECKED(ta_frame_update(f, &candles[i]));
  ta_view v;
  ta_frame_view(f, &v);
  o1[frame_bars / 2] = v.rsi14;
  ta_frame_free(f);
}

/* TA-Lib's EMA step exactly as TA_INT_EMA writes it, compiled here. */
static void talib_ema_recurrence(void) {
  double k = 2.0 / 21.0, m = cl[0];
  for (size_t i = 1; i < N; i++) {
    m = ((cl[i] - m) * k) + m;
    o1[i] = m;
  }
}

typedef struct {
  const char *name;
  void (*batch)(void), (*stream)(void);
  double talib, tulip; /* ns/bar from ../shared/data/reference/README.md, 0 = not given */
} row;

static const row rows[] = {
    {"SMA(20)", b_sma, s_sma, 0.96, 0.96}, {"EMA(20)", b_ema, s_ema, 1.87, 1.88},
    {"RSI(14)", b_rsi, s_rsi, 5.25, 4.99}, {"MACD(12,26,9)", b_macd, s_macd, 12.87, 2.21},
    {"ATR(14)", b_atr, s_atr, 8.54, 1.96}, {"BBANDS(20,2)", b_bb, s_bb, 4.30, 2.53},
    {"ADX(14)", b_adx, s_adx, 9.01, 7.73}, {"STOCH(14,3,3)", b_stoch, s_stoch, 12.45, 9.71},
    {"OBV", b_obv, s_obv, 4.36, 4.27},     {"NATR(14)", b_natr, s_natr, 0, 0},
    {"CCI(14)", b_cci, s_cci, 0, 0},       {"MFI(14)", b_mfi, s_mfi, 0, 0},
    {"WILLR(14)", b_willr, s_willr, 0, 0}, {"ROC(10)", b_roc, s_roc, 0, 0},
    {"SAR(0.02,0.2)", b_sar, s_sar, 0, 0}, {"VWAP session", b_vwaps, s_vwaps, 0, 0},
    {"VWAP(20)", b_vwap, s_vwap, 0, 0},
};

int main(int argc, char **argv) {
  N = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
  REPEAT = argc > 2 ? (int)strtol(argv[2], NULL, 10) : 5;
  if (N < 1000 || REPEAT < 1) {
    fprintf(stderr, "usage: bench_ta [bars >= 1000] [repeats >= 1]\n");
    return 2;
  }
  make_input();
  printf("bench_ta: %zu bars, best of %d, ns per bar\n", N, REPEAT);
  printf("%-16s %8s %8s %8s %8s %8s %10s\n", "indicator", "batch", "stream", "str/bat", "TA-Lib",
         "tulip", "bat/best");
  for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
    double b = best_ns_per_bar(rows[r].batch, N), s = best_ns_per_bar(rows[r].stream, N);
    printf("%-16s %8.2f %8.2f %8.2f", rows[r].name, b, s, s / b);
    if (rows[r].talib > 0) {
      double ref = rows[r].talib < rows[r].tulip ? rows[r].talib : rows[r].tulip;
      printf(" %8.2f %8.2f %10.2f\n", rows[r].talib, rows[r].tulip, b / ref);
    } else {
      printf(" %8s %8s %10s\n", "-", "-", "-");
    }
  }

  /* The fused pass against the separate batch passes of the same set. */
  void (*parts[])(void) = {b_sma,  b_volsma, b_ema, b_ema50, b_ema200, b_rsi, b_macd,
                           b_natr, b_bb,     b_dmi, b_stoch, b_willr,  b_obv, b_vwaps,
                           b_vwap, b_cci,    b_mfi, b_roc,   b_sar};
  double sum = 0;
  for (size_t k = 0; k < sizeof parts / sizeof parts[0]; k++) sum += best_ns_per_bar(parts[k], N);
  double f = best_ns_per_bar(fused, N), f1 = best_ns_per_bar(fused_one, N);
  printf(
      "%-16s %8.2f  (ta_ind_set_run; sum of the %zu separate batch passes: %.2f, fused/sum %.2f)\n",
      "fused set", f, sizeof parts / sizeof parts[0], sum, f / sum);
  printf("%-16s %8.2f  (ta_ind_set_update, one candle per call: fused/sum %.2f)\n", "fused, 1 by 1",
         f1, f1 / sum);
  frame_bars = N < 2000000 ? N : 2000000;
  double fr = best_ns_per_bar(frame, frame_bars);
  printf("%-16s %8.2f  (ta_frame_update per candle: fused set + window + swings, %zu bars)\n",
         "frame update", fr, frame_bars);
  double cal = best_ns_per_bar(talib_ema_recurrence, N);
  printf(
      "%-16s %8.2f  (TA-Lib's EMA step compiled here; README's TA-Lib EMA(20): 1.87 -> this "
      "machine runs it %.2fx the README's time)\n",
      "calibration", cal, cal / 1.87);
  printf("(checksum %g)\n", sink);
  return 0;
}
