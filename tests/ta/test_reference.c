/* test_reference.c -- every indicator against TA-Lib 0.6.4's own output.
 *
 * The reference files hold real candles and the values TA-Lib computed on
 * them (../shared/data/reference/README.md).  Every column, every row:
 * warm-up bars must be empty exactly where TA-Lib's are, every other value
 * within a relative difference of 1e-9.  The first 500 rows of the XRP file
 * ship in tests/data/ so the check runs in a user's clone too; the full XRP
 * and ETH/BTC files run when ../shared is present.
 */
#include <stdlib.h>

#include "refcsv.h"
#include "ta/ta.h"
#include "unit.h"

#define REL_TOL 1e-9

typedef struct {
  const char *name;
  const double *ours;
  int lookback;
} ours_col;

/* Compares one column; returns the largest relative difference seen. */
static double compare_col(const char *file, const refcsv *r, const ours_col *oc) {
  const double *ref = refcsv_col(r, oc->name);
  if (!ref) {
    lbt_fail(__FILE__, __LINE__, "%s: no column %s", file, oc->name);
    return INFINITY;
  }
  double worst = 0.0;
  int bad = 0;
  long first_ref = -1;
  for (size_t i = 0; i < r->rows; i++) {
    double a = oc->ours[i], b = ref[i];
    if (first_ref < 0 && !isnan(b)) first_ref = (long)i;
    if (isnan(b) != isnan(a)) {
      if (bad++ < 3)
        lbt_fail(__FILE__, __LINE__, "%s row %zu %s: ours %.17g, TA-Lib %s", file, i, oc->name, a,
                 isnan(b) ? "empty" : "a value");
      continue;
    }
    if (isnan(b)) continue;
    double d = rel_diff(a, b);
    if (d > worst) worst = d;
    if (!(d <= REL_TOL) && bad++ < 3)
      lbt_fail(__FILE__, __LINE__, "%s row %zu %s: ours %.17g, TA-Lib %.17g (rel %.3g)", file, i,
               oc->name, a, b, d);
  }
  if (first_ref != oc->lookback)
    lbt_fail(__FILE__, __LINE__, "%s %s: TA-Lib starts at %ld, our lookback is %d", file, oc->name,
             first_ref, oc->lookback);
  return worst;
}

static void check_reference_file(const char *path) {
  refcsv r;
  REQUIRE(refcsv_load(path, &r) == 0);
  size_t n = r.rows;
  const double *h = refcsv_col(&r, "high"), *l = refcsv_col(&r, "low");
  const double *c = refcsv_col(&r, "close"), *v = refcsv_col(&r, "volume");
  REQUIRE(h && l && c && v);
  enum { SMA, EMA, RSI, MACD, SIG, HIST, ATR, BBU, BBM, BBL, ADX, PDI, MDI, SK, SD, OBV, NCOL };
  double *o[NCOL];
  for (int k = 0; k < NCOL; k++) REQUIRE((o[k] = malloc(n * sizeof(double))) != NULL);
  REQUIRE_OK(ta_sma(c, n, 20, o[SMA]));
  REQUIRE_OK(ta_ema(c, n, 20, o[EMA]));
  REQUIRE_OK(ta_rsi(c, n, 14, o[RSI]));
  REQUIRE_OK(ta_macd(c, n, 12, 26, 9, o[MACD], o[SIG], o[HIST]));
  REQUIRE_OK(ta_atr(h, l, c, n, 14, o[ATR]));
  REQUIRE_OK(ta_bbands(c, n, 20, 2.0, o[BBU], o[BBM], o[BBL]));
  REQUIRE_OK(ta_adx(h, l, c, n, 14, o[ADX]));
  REQUIRE_OK(ta_plus_di(h, l, c, n, 14, o[PDI]));
  REQUIRE_OK(ta_minus_di(h, l, c, n, 14, o[MDI]));
  REQUIRE_OK(ta_stoch(h, l, c, n, 14, 3, 3, o[SK], o[SD]));
  REQUIRE_OK(ta_obv(c, v, n, o[OBV]));
  const ours_col cols[NCOL] = {
      {"sma_20", o[SMA], ta_sma_lookback(20)},
      {"ema_20", o[EMA], ta_ema_lookback(20)},
      {"rsi_14", o[RSI], ta_rsi_lookback(14)},
      {"macd", o[MACD], ta_macd_lookback(12, 26, 9)},
      {"macd_signal", o[SIG], ta_macd_lookback(12, 26, 9)},
      {"macd_hist", o[HIST], ta_macd_lookback(12, 26, 9)},
      {"atr_14", o[ATR], ta_atr_lookback(14)},
      {"bb_upper", o[BBU], ta_bbands_lookback(20)},
      {"bb_middle", o[BBM], ta_bbands_lookback(20)},
      {"bb_lower", o[BBL], ta_bbands_lookback(20)},
      {"adx_14", o[ADX], ta_adx_lookback(14)},
      {"plus_di_14", o[PDI], ta_di_lookback(14)},
      {"minus_di_14", o[MDI], ta_di_lookback(14)},
      {"stoch_k", o[SK], ta_stoch_lookback(14, 3, 3)},
      {"stoch_d", o[SD], ta_stoch_lookback(14, 3, 3)},
      {"obv", o[OBV], 0},
  };
  const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
  printf("    %s, %zu rows, largest relative difference per column:\n     ", base, n);
  for (int k = 0; k < NCOL; k++) printf(" %s %.1e", cols[k].name, compare_col(base, &r, &cols[k]));
  printf("\n");

  /* The fused pass (engine and CLI) must give the same numbers. */
  data_candle *cd = malloc(n * sizeof *cd);
  ta_values *vals = malloc(n * sizeof *vals);
  REQUIRE(cd && vals);
  const double *ts = refcsv_col(&r, "ts"), *op = refcsv_col(&r, "open");
  for (size_t i = 0; i < n; i++) cd[i] = (data_candle){(lb_ms)ts[i], op[i], h[i], l[i], c[i], v[i]};
  REQUIRE_OK(ta_compute_all(cd, n, NULL, vals));
  size_t diff = 0;
  for (size_t i = 0; i < n; i++) {
    const ta_values *x = &vals[i];
    const double got[NCOL] = {x->sma,         x->ema_fast,  x->rsi,     x->macd,
                              x->macd_signal, x->macd_hist, x->atr,     x->bb_upper,
                              x->bb_middle,   x->bb_lower,  x->adx,     x->plus_di,
                              x->minus_di,    x->stoch_k,   x->stoch_d, x->obv};
    for (int k = 0; k < NCOL; k++)
      if (memcmp(&got[k], &o[k][i], sizeof(double)) != 0 && diff++ < 3)
        lbt_fail(__FILE__, __LINE__, "fused pass row %zu %s: %.17g vs batch %.17g", i, cols[k].name,
                 got[k], o[k][i]);
  }
  CHECK_EQ(diff, 0);
  free(cd);
  free(vals);
  for (int k = 0; k < NCOL; k++) free(o[k]);
  refcsv_free(&r);
}

TEST(indicators_match_talib_on_bundled_xrp_sample) {
  check_reference_file(lbt_source_path("tests/data/talib_XRP_USDT_USDT-5m-futures-500.csv"));
}

TEST(indicators_match_talib_on_full_xrp_futures_file) {
  check_reference_file(lbt_require_shared("data/reference/talib_XRP_USDT_USDT-5m-futures.csv"));
}

TEST(indicators_match_talib_on_eth_btc_file) {
  check_reference_file(lbt_require_shared("data/reference/talib_ETH_BTC-5m.csv"));
}
