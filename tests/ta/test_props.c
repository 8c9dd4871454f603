/* test_props.c -- properties of every indicator on seeded random series.
 *
 * Streaming equals batch bit for bit; warm-up is NAN exactly up to the
 * lookback and nothing is NAN after it; short series, constant prices and
 * zero volume give the documented values; the indicators without a TA-Lib
 * reference file (CCI, MFI, WILLR, ROC, SAR, VWAP, NATR) are checked
 * against straightforward implementations of their definitions.
 */
#include <stdlib.h>

#include "series.h"
#include "ta/ta.h"
#include "unit.h"

#define MAXOUT 3

typedef struct {
  const char *name;
  int nout;
  int lookback[MAXOUT];
  lb_err (*batch)(const series *s, double **o);
  void (*stream)(const series *s, double **o);
} ind_case;

/* ==== Batch and streaming drivers, one pair per indicator ==== */

static lb_err b_sma(const series *s, double **o) { return ta_sma(s->close, s->n, 20, o[0]); }
static void s_sma(const series *s, double **o) {
  ta_sma_state st;
  REQUIRE_OK(ta_sma_init(&st, 20));
  for (size_t i = 0; i < s->n; i++) o[0][i] = ta_sma_update(&st, s->close[i]);
  ta_sma_close(&st);
}
static lb_err b_ema(const series *s, double **o) { return ta_ema(s->close, s->n, 20, o[0]); }
static void s_ema(const series *s, double **o) {
  ta_ema_state st;
  REQUIRE_OK(ta_ema_init(&st, 20));
  for (size_t i = 0; i < s->n; i++) o[0][i] = ta_ema_update(&st, s->close[i]);
}
static lb_err b_rsi(const series *s, double **o) { return ta_rsi(s->close, s->n, 14, o[0]); }
static void s_rsi(const series *s, double **o) {
  ta_rsi_state st;
  REQUIRE_OK(ta_rsi_init(&st, 14));
  for (size_t i = 0; i < s->n; i++) o[0][i] = ta_rsi_update(&st, s->close[i]);
}
static lb_err b_macd(const series *s, double **o) {
  return ta_macd(s->close, s->n, 12, 26, 9, o[0], o[1], o[2]);
}
static void s_macd(const series *s, double **o) {
  ta_macd_state st;
  REQUIRE_OK(ta_macd_init(&st, 12, 26, 9));
  for (size_t i = 0; i < s->n; i++) {
    ta_macd_value v = ta_macd_update(&st, s->close[i]);
    o[0][i] = v.macd;
    o[1][i] = v.signal;
    o[2][i] = v.hist;
  }
}
static lb_err b_atr(const series *s, double **o) {
  return ta_atr(s->high, s->low, s->close, s->n, 14, o[0]);
}
static void s_atr(const series *s, double **o) {
  ta_atr_state st;
  REQUIRE_OK(ta_atr_init(&st, 14));
  for (size_t i = 0; i < s->n; i++)
    o[0][i] = ta_atr_update(&st, s->high[i], s->low[i], s->close[i]);
}
static lb_err b_natr(const series *s, double **o) {
  return ta_natr(s->high, s->low, s->close, s->n, 14, o[0]);
}
static void s_natr(const series *s, double **o) {
  ta_atr_state st;
  REQUIRE_OK(ta_atr_init(&st, 14));
  for (size_t i = 0; i < s->n; i++)
    o[0][i] = ta_natr_from_atr(ta_atr_update(&st, s->high[i], s->low[i], s->close[i]), s->close[i]);
}
static lb_err b_bb(const series *s, double **o) {
  return ta_bbands(s->close, s->n, 20, 2.0, o[0], o[1], o[2]);
}
static void s_bb(const series *s, double **o) {
  ta_bbands_state st;
  REQUIRE_OK(ta_bbands_init(&st, 20, 2.0));
  for (size_t i = 0; i < s->n; i++) {
    ta_bbands_value v = ta_bbands_update(&st, s->close[i]);
    o[0][i] = v.upper;
    o[1][i] = v.middle;
    o[2][i] = v.lower;
  }
  ta_bbands_close(&st);
}
static lb_err b_dmi(const series *s, double **o) {
  return ta_dmi(s->high, s->low, s->close, s->n, 14, o[0], o[1], o[2]);
}
static void s_dmi(const series *s, double **o) {
  ta_dmi_state st;
  REQUIRE_OK(ta_dmi_init(&st, 14));
  for (size_t i = 0; i < s->n; i++) {
    ta_dmi_value v = ta_dmi_update(&st, s->high[i], s->low[i], s->close[i]);
    o[0][i] = v.adx;
    o[1][i] = v.plus_di;
    o[2][i] = v.minus_di;
  }
}
static lb_err b_stoch(const series *s, double **o) {
  return ta_stoch(s->high, s->low, s->close, s->n, 14, 3, 3, o[0], o[1]);
}
static void s_stoch(const series *s, double **o) {
  ta_stoch_state st;
  REQUIRE_OK(ta_stoch_init(&st, 14, 3, 3));
  for (size_t i = 0; i < s->n; i++) {
    ta_stoch_value v = ta_stoch_update(&st, s->high[i], s->low[i], s->close[i]);
    o[0][i] = v.k;
    o[1][i] = v.d;
  }
  ta_stoch_close(&st);
}
static lb_err b_willr(const series *s, double **o) {
  return ta_willr(s->high, s->low, s->close, s->n, 14, o[0]);
}
static void s_willr(const series *s, double **o) {
  ta_willr_state st;
  REQUIRE_OK(ta_willr_init(&st, 14));
  for (size_t i = 0; i < s->n; i++)
    o[0][i] = ta_willr_update(&st, s->high[i], s->low[i], s->close[i]);
  ta_willr_close(&st);
}
static lb_err b_obv(const series *s, double **o) { return ta_obv(s->close, s->volume, s->n, o[0]); }
static void s_obv(const series *s, double **o) {
  ta_obv_state st;
  ta_obv_init(&st);
  for (size_t i = 0; i < s->n; i++) o[0][i] = ta_obv_update(&st, s->close[i], s->volume[i]);
}
static lb_err b_cci(const series *s, double **o) {
  return ta_cci(s->high, s->low, s->close, s->n, 14, o[0]);
}
static void s_cci(const series *s, double **o) {
  ta_cci_state st;
  REQUIRE_OK(ta_cci_init(&st, 14));
  for (size_t i = 0; i < s->n; i++)
    o[0][i] = ta_cci_update(&st, s->high[i], s->low[i], s->close[i]);
  ta_cci_close(&st);
}
static lb_err b_mfi(const series *s, double **o) {
  return ta_mfi(s->high, s->low, s->close, s->volume, s->n, 14, o[0]);
}
static void s_mfi(const series *s, double **o) {
  ta_mfi_state st;
  REQUIRE_OK(ta_mfi_init(&st, 14));
  for (size_t i = 0; i < s->n; i++)
    o[0][i] = ta_mfi_update(&st, s->high[i], s->low[i], s->close[i], s->volume[i]);
  ta_mfi_close(&st);
}
static lb_err b_roc(const series *s, double **o) { return ta_roc(s->close, s->n, 10, o[0]); }
static void s_roc(const series *s, double **o) {
  ta_roc_state st;
  REQUIRE_OK(ta_roc_init(&st, 10));
  for (size_t i = 0; i < s->n; i++) o[0][i] = ta_roc_update(&st, s->close[i]);
  ta_roc_close(&st);
}
static lb_err b_sar(const series *s, double **o) {
  return ta_sar(s->high, s->low, s->n, 0.02, 0.2, o[0]);
}
static void s_sar(const series *s, double **o) {
  ta_sar_state st;
  REQUIRE_OK(ta_sar_init(&st, 0.02, 0.2));
  for (size_t i = 0; i < s->n; i++) o[0][i] = ta_sar_update(&st, s->high[i], s->low[i]);
}
static lb_err b_vwaps(const series *s, double **o) {
  return ta_vwap_session(s->ts, s->high, s->low, s->close, s->volume, s->n, o[0]);
}
static void s_vwaps(const series *s, double **o) {
  ta_vwap_session_state st;
  ta_vwap_session_init(&st);
  for (size_t i = 0; i < s->n; i++)
    o[0][i] =
        ta_vwap_session_update(&st, s->ts[i], s->high[i], s->low[i], s->close[i], s->volume[i]);
}
static lb_err b_vwapr(const series *s, double **o) {
  return ta_vwap(s->high, s->low, s->close, s->volume, s->n, 20, o[0]);
}
static void s_vwapr(const series *s, double **o) {
  ta_vwap_state st;
  REQUIRE_OK(ta_vwap_init(&st, 20));
  for (size_t i = 0; i < s->n; i++)
    o[0][i] = ta_vwap_update(&st, s->high[i], s->low[i], s->close[i], s->volume[i]);
  ta_vwap_close(&st);
}

static lb_err b_ema50(const series *s, double **o) { return ta_ema(s->close, s->n, 50, o[0]); }
static lb_err b_ema200(const series *s, double **o) { return ta_ema(s->close, s->n, 200, o[0]); }
static lb_err b_volsma(const series *s, double **o) { return ta_sma(s->volume, s->n, 20, o[0]); }

static const ind_case cases[] = {
    {"sma", 1, {19}, b_sma, s_sma},
    {"ema", 1, {19}, b_ema, s_ema},
    {"rsi", 1, {14}, b_rsi, s_rsi},
    {"macd", 3, {33, 33, 33}, b_macd, s_macd},
    {"atr", 1, {14}, b_atr, s_atr},
    {"natr", 1, {14}, b_natr, s_natr},
    {"bbands", 3, {19, 19, 19}, b_bb, s_bb},
    {"adx/+di/-di", 3, {27, 14, 14}, b_dmi, s_dmi},
    {"stoch", 2, {17, 17}, b_stoch, s_stoch},
    {"willr", 1, {13}, b_willr, s_willr},
    {"obv", 1, {0}, b_obv, s_obv},
    {"cci", 1, {13}, b_cci, s_cci},
    {"mfi", 1, {14}, b_mfi, s_mfi},
    {"roc", 1, {10}, b_roc, s_roc},
    {"sar", 1, {1}, b_sar, s_sar},
    {"vwap_session", 1, {0}, b_vwaps, s_vwaps},
    {"vwap_rolling", 1, {19}, b_vwapr, s_vwapr},
};
#define NCASES (sizeof cases / sizeof cases[0])

typedef struct {
  double *o[MAXOUT];
} outs;

static void outs_alloc(outs *x, size_t n) {
  for (int k = 0; k < MAXOUT; k++)
    REQUIRE((x->o[k] = malloc((n ? n : 1) * sizeof(double))) != NULL);
}
static void outs_free(outs *x) {
  for (int k = 0; k < MAXOUT; k++) free(x->o[k]);
}

static bool same_bits(double a, double b) {
  return (isnan(a) && isnan(b)) || memcmp(&a, &b, sizeof a) == 0;
}

/* ==== Properties over random series ==== */

TEST(streaming_equals_batch_bit_for_bit_for_every_indicator) {
  const double starts[] = {0.000123, 1.2, 43000.0};
  for (size_t si = 0; si < 3; si++) {
    rng r;
    rng_seed(&r, lbt_seed() + si);
    series s;
    series_random(&s, 1500, starts[si], &r);
    for (size_t c = 0; c < NCASES; c++) {
      outs b, st;
      outs_alloc(&b, s.n);
      outs_alloc(&st, s.n);
      REQUIRE_OK(cases[c].batch(&s, b.o));
      cases[c].stream(&s, st.o);
      int bad = 0;
      for (int k = 0; k < cases[c].nout; k++)
        for (size_t i = 0; i < s.n; i++)
          if (!same_bits(b.o[k][i], st.o[k][i]) && bad++ < 3)
            lbt_fail(__FILE__, __LINE__, "%s output %d bar %zu: batch %.17g stream %.17g",
                     cases[c].name, k, i, b.o[k][i], st.o[k][i]);
      outs_free(&b);
      outs_free(&st);
    }
    series_free(&s);
  }
}

TEST(warmup_is_nan_up_to_the_lookback_and_never_after) {
  const double starts[] = {0.00000042, 0.35, 61000.0, 2.5e6};
  for (size_t si = 0; si < 4; si++) {
    rng r;
    rng_seed(&r, lbt_seed() * 7 + si);
    series s;
    series_random(&s, 1200, starts[si], &r);
    for (size_t c = 0; c < NCASES; c++) {
      outs b;
      outs_alloc(&b, s.n);
      REQUIRE_OK(cases[c].batch(&s, b.o));
      for (int k = 0; k < cases[c].nout; k++) {
        int lb = cases[c].lookback[k], bad = 0;
        for (size_t i = 0; i < s.n; i++) {
          bool want_nan = (int)i < lb;
          if (want_nan != isnan(b.o[k][i]) || (!want_nan && !isfinite(b.o[k][i])))
            if (bad++ < 2)
              lbt_fail(__FILE__, __LINE__, "%s output %d bar %zu (lookback %d, start %g): %.17g",
                       cases[c].name, k, i, lb, starts[si], b.o[k][i]);
        }
      }
      outs_free(&b);
    }
    series_free(&s);
  }
}

TEST(lookback_functions_agree_with_the_outputs) {
  CHECK_EQ(ta_sma_lookback(20), 19);
  CHECK_EQ(ta_ema_lookback(20), 19);
  CHECK_EQ(ta_rsi_lookback(14), 14);
  CHECK_EQ(ta_macd_lookback(12, 26, 9), 33);
  CHECK_EQ(ta_atr_lookback(14), 14);
  CHECK_EQ(ta_bbands_lookback(20), 19);
  CHECK_EQ(ta_di_lookback(14), 14);
  CHECK_EQ(ta_adx_lookback(14), 27);
  CHECK_EQ(ta_stoch_lookback(14, 3, 3), 17);
  CHECK_EQ(ta_cci_lookback(14), 13);
  CHECK_EQ(ta_mfi_lookback(14), 14);
  CHECK_EQ(ta_willr_lookback(14), 13);
  CHECK_EQ(ta_roc_lookback(10), 10);
  CHECK_EQ(ta_rsi_lookback(1), -1);
  CHECK_EQ(ta_macd_lookback(26, 12, 9), -1);
  CHECK_EQ(ta_sma_lookback(TA_MAX_PERIOD + 1), -1);
}

TEST(series_shorter_than_the_warmup_give_only_nan) {
  rng r;
  rng_seed(&r, lbt_seed());
  for (size_t n = 0; n <= 34; n++) {
    series s;
    series_random(&s, n, 100.0, &r);
    for (size_t c = 0; c < NCASES; c++) {
      outs b;
      outs_alloc(&b, n);
      REQUIRE_OK(cases[c].batch(&s, b.o));
      for (int k = 0; k < cases[c].nout; k++)
        for (size_t i = 0; i < n; i++)
          if ((int)i < cases[c].lookback[k]) CHECK(isnan(b.o[k][i]));
      outs_free(&b);
    }
    series_free(&s);
  }
}

TEST(invalid_periods_and_missing_arrays_are_refused) {
  double x[4] = {1, 2, 3, 4}, o[4], o2[4], o3[4];
  CHECK_EQ(ta_sma(x, 4, 0, o), LB_EINVAL);
  CHECK_EQ(ta_sma(x, 4, TA_MAX_PERIOD + 1, o), LB_EINVAL);
  CHECK_EQ(ta_ema(x, 4, -3, o), LB_EINVAL);
  CHECK_EQ(ta_rsi(x, 4, 1, o), LB_EINVAL);
  CHECK_EQ(ta_macd(x, 4, 26, 12, 9, o, o2, o3), LB_EINVAL);
  CHECK_EQ(ta_macd(x, 4, 12, 12, 9, o, o2, o3), LB_EINVAL);
  CHECK_EQ(ta_bbands(x, 4, 20, NAN, o, o2, o3), LB_EINVAL);
  CHECK_EQ(ta_stoch(x, x, x, 4, 0, 3, 3, o, o2), LB_EINVAL);
  CHECK_EQ(ta_sar(x, x, 4, 0.0, 0.2, o), LB_EINVAL);
  CHECK_EQ(ta_sma(NULL, 4, 20, o), LB_EINVAL);
  CHECK_EQ(ta_atr(x, NULL, x, 4, 14, o), LB_EINVAL);
  CHECK_EQ(ta_obv(x, x, 4, NULL), LB_EINVAL);
  CHECK_OK(ta_sma(NULL, 0, 20, NULL)); /* nothing to do */
  ta_params p;
  ta_params_default(&p);
  lb_errbuf eb = {{0}};
  CHECK_OK(ta_params_check(&p, &eb));
  p.macd_fast = 30;
  CHECK_EQ(ta_params_check(&p, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "macd_fast 30");
  ta_params_default(&p);
  p.rsi_period = 1;
  CHECK_EQ(ta_params_check(&p, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "rsi_period 1");
  ta_params_default(&p);
  p.window = 5;
  CHECK_EQ(ta_params_check(&p, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "window 5");
}

/* ==== Documented values: constant prices, zero volume ==== */

TEST(constant_prices_give_the_documented_values) {
  const double prices[] = {100.0, 1.1, 0.000031, 61234.56};
  for (size_t pi = 0; pi < 4; pi++) {
    double c = prices[pi];
    series s;
    series_constant(&s, 300, c, 50.0);
    outs b;
    outs_alloc(&b, s.n);
    size_t last = s.n - 1;
    REQUIRE_OK(b_rsi(&s, b.o));
    CHECK(b.o[0][last] == 0.0); /* TA-Lib: 0 when gains + losses are 0 */
    REQUIRE_OK(b_dmi(&s, b.o));
    CHECK(b.o[0][last] == 0.0 && b.o[1][last] == 0.0 && b.o[2][last] == 0.0);
    REQUIRE_OK(b_atr(&s, b.o));
    CHECK(b.o[0][last] == 0.0);
    REQUIRE_OK(b_natr(&s, b.o));
    CHECK(b.o[0][last] == 0.0);
    REQUIRE_OK(b_stoch(&s, b.o));
    CHECK(b.o[0][last] == 0.0 && b.o[1][last] == 0.0); /* highest == lowest */
    REQUIRE_OK(b_willr(&s, b.o));
    CHECK(b.o[0][last] == 0.0);
    REQUIRE_OK(b_cci(&s, b.o));
    CHECK(b.o[0][last] == 0.0);
    REQUIRE_OK(b_mfi(&s, b.o));
    CHECK(b.o[0][last] == 0.0); /* no money flow */
    REQUIRE_OK(b_roc(&s, b.o));
    CHECK(b.o[0][last] == 0.0);
    REQUIRE_OK(b_obv(&s, b.o));
    CHECK(b.o[0][last] == 50.0); /* the first bar's volume, never changed */
    REQUIRE_OK(b_bb(&s, b.o));
    CHECK_NEAR(b.o[1][last], c, 1e-12 * c);
    CHECK(b.o[0][last] == b.o[1][last] && b.o[2][last] == b.o[1][last]); /* stddev 0 */
    REQUIRE_OK(b_macd(&s, b.o));
    CHECK_NEAR(b.o[0][last], 0.0, 1e-12 * c);
    CHECK_NEAR(b.o[2][last], 0.0, 1e-12 * c);
    REQUIRE_OK(b_sma(&s, b.o));
    CHECK_NEAR(b.o[0][last], c, 1e-12 * c);
    REQUIRE_OK(b_ema(&s, b.o));
    CHECK_NEAR(b.o[0][last], c, 1e-12 * c);
    REQUIRE_OK(b_vwaps(&s, b.o));
    CHECK_NEAR(b.o[0][last], c, 1e-12 * c);
    REQUIRE_OK(b_sar(&s, b.o));
    CHECK(isfinite(b.o[0][last]));
    outs_free(&b);
    series_free(&s);
  }
}

TEST(zero_volume_gives_the_documented_values) {
  rng r;
  rng_seed(&r, lbt_seed() + 99);
  series s;
  series_random(&s, 400, 2.0, &r);
  for (size_t i = 0; i < s.n; i++) s.c[i].volume = 0.0;
  series_sync(&s);
  outs b;
  outs_alloc(&b, s.n);
  REQUIRE_OK(b_obv(&s, b.o));
  for (size_t i = 0; i < s.n; i++) CHECK(b.o[0][i] == 0.0);
  REQUIRE_OK(b_mfi(&s, b.o));
  for (size_t i = 14; i < s.n; i++) CHECK(b.o[0][i] == 0.0); /* flow < 1 */
  REQUIRE_OK(b_vwaps(&s, b.o));
  for (size_t i = 0; i < s.n; i++)
    CHECK(b.o[0][i] == (s.high[i] + s.low[i] + s.close[i]) / 3.0); /* typical price */
  REQUIRE_OK(b_vwapr(&s, b.o));
  for (size_t i = 19; i < s.n; i++) CHECK(b.o[0][i] == (s.high[i] + s.low[i] + s.close[i]) / 3.0);
  /* Volume coming back after a silent stretch: exact VWAP of the window. */
  for (size_t i = 200; i < 210; i++) s.c[i].volume = 10.0 * (double)(i - 199);
  series_sync(&s);
  REQUIRE_OK(b_vwapr(&s, b.o));
  for (size_t i = 215; i < 229; i++) {
    double pv = 0, v = 0;
    for (size_t j = i - 19; j <= i; j++) {
      pv += (s.high[j] + s.low[j] + s.close[j]) / 3.0 * s.volume[j];
      v += s.volume[j];
    }
    CHECK_NEAR(b.o[0][i], pv / v, 1e-12 * b.o[0][i]);
  }
  outs_free(&b);
  series_free(&s);
}

/* ==== Indicators without a TA-Lib file, against their definitions ==== */

static double scan_max(const double *x, size_t from, size_t to) {
  double m = x[from];
  for (size_t j = from; j <= to; j++) m = fmax(m, x[j]);
  return m;
}
static double scan_min(const double *x, size_t from, size_t to) {
  double m = x[from];
  for (size_t j = from; j <= to; j++) m = fmin(m, x[j]);
  return m;
}

TEST(cci_mfi_willr_roc_natr_vwap_follow_their_definitions) {
  rng r;
  rng_seed(&r, lbt_seed() + 5);
  series s;
  series_random(&s, 800, 37.5, &r);
  size_t n = s.n;
  outs b, a;
  outs_alloc(&b, n);
  outs_alloc(&a, n);
  REQUIRE_OK(b_cci(&s, b.o));
  REQUIRE_OK(b_mfi(&s, a.o));
  for (size_t i = 14; i < n; i++) {
    /* CCI(14): (tp - mean) / (0.015 * mean deviation) */
    double tp[14], mean = 0, md = 0;
    for (size_t j = 0; j < 14; j++) {
      size_t k = i - 13 + j;
      tp[j] = (s.high[k] + s.low[k] + s.close[k]) / 3.0;
      mean += tp[j] / 14.0;
    }
    for (size_t j = 0; j < 14; j++) md += fabs(tp[j] - mean) / 14.0;
    CHECK_NEAR(b.o[0][i], (tp[13] - mean) / (0.015 * md), 1e-8);
    /* MFI(14): 100 * positive flow / total flow over the last 14 changes */
    double pos = 0, neg = 0;
    for (size_t k = i - 13; k <= i; k++) {
      double t1 = (s.high[k] + s.low[k] + s.close[k]) / 3.0;
      double t0 = (s.high[k - 1] + s.low[k - 1] + s.close[k - 1]) / 3.0;
      if (t1 > t0) pos += t1 * s.volume[k];
      if (t1 < t0) neg += t1 * s.volume[k];
    }
    double want = pos + neg < 1.0 ? 0.0 : 100.0 * pos / (pos + neg);
    CHECK_NEAR(a.o[0][i], want, 1e-9);
  }
  REQUIRE_OK(b_willr(&s, b.o));
  REQUIRE_OK(b_roc(&s, a.o));
  for (size_t i = 13; i < n; i++) {
    double hh = scan_max(s.high, i - 13, i), ll = scan_min(s.low, i - 13, i);
    CHECK_NEAR(b.o[0][i], -100.0 * (hh - s.close[i]) / (hh - ll), 1e-9);
    if (i >= 10) CHECK_NEAR(a.o[0][i], 100.0 * (s.close[i] / s.close[i - 10] - 1.0), 1e-9);
  }
  REQUIRE_OK(b_natr(&s, b.o));
  REQUIRE_OK(b_atr(&s, a.o));
  for (size_t i = 14; i < n; i++) CHECK_NEAR(b.o[0][i], a.o[0][i] / s.close[i] * 100.0, 1e-12);
  REQUIRE_OK(b_vwaps(&s, b.o));
  for (size_t i = 0; i < n; i++) {
    double pv = 0, v = 0;
    for (size_t j = i + 1; j-- > 0 && s.ts[j] / LB_MS_DAY == s.ts[i] / LB_MS_DAY;) {
      pv += (s.high[j] + s.low[j] + s.close[j]) / 3.0 * s.volume[j];
      v += s.volume[j];
    }
    double tp = (s.high[i] + s.low[i] + s.close[i]) / 3.0;
    CHECK_NEAR(b.o[0][i], v > 0 ? pv / v : tp, 1e-9 * tp);
  }
  outs_free(&b);
  outs_free(&a);
  series_free(&s);
}

TEST(stochastic_k_is_the_smoothed_position_in_the_14_bar_range) {
  rng r;
  rng_seed(&r, lbt_seed() + 6);
  series s;
  series_random(&s, 300, 5.0, &r);
  outs b;
  outs_alloc(&b, s.n);
  REQUIRE_OK(b_stoch(&s, b.o));
  for (size_t i = 17; i < s.n; i++) {
    double fk[5];
    for (size_t j = 0; j < 5; j++) {
      size_t k = i - 4 + j;
      double hh = scan_max(s.high, k - 13, k), ll = scan_min(s.low, k - 13, k);
      fk[j] = 100.0 * (s.close[k] - ll) / (hh - ll);
    }
    double k2 = (fk[2] + fk[3] + fk[4]) / 3, k1 = (fk[1] + fk[2] + fk[3]) / 3,
           k0 = (fk[0] + fk[1] + fk[2]) / 3;
    CHECK_NEAR(b.o[0][i], k2, 1e-9);
    CHECK_NEAR(b.o[1][i], (k0 + k1 + k2) / 3, 1e-9);
  }
  outs_free(&b);
  series_free(&s);
}

TEST(parabolic_sar_stays_outside_the_bar_and_matches_a_hand_calculation) {
  rng r;
  rng_seed(&r, lbt_seed() + 7);
  series s;
  series_random(&s, 2000, 80.0, &r);
  outs b;
  outs_alloc(&b, s.n);
  REQUIRE_OK(b_sar(&s, b.o));
  for (size_t i = 1; i < s.n; i++)
    CHECK(b.o[0][i] <= s.low[i] || b.o[0][i] >= s.high[i]); /* below in a long, above in a short */
  outs_free(&b);
  series_free(&s);
  /* Hand calculation (TA-Lib's rules): bar 1's high rose more than its low
   * fell -> long, first SAR = bar 0's low.
   *   bar 1: out 9.0;  ep 12 (bar 1's high), af .02: next 9 + .02*(12-9) = 9.06
   *   bar 2: high 13 > ep -> ep 13, af .04; out 9.06; next 9.06 + .04*(13-9.06)
   *          = 9.2176, capped by the lows of bars 1 and 2 (10, 11): 9.2176
   *   bar 3: low 9.1 <= 9.2176 -> short; out = max(ep 13, highs 13, 12) = 13;
   *          ep 9.1, af .02, next 13 + .02*(9.1-13) = 12.922, at least the
   *          highs of bars 2 and 3 (13, 12) -> 13
   *   bar 4: high 12.5 < 13: out 13. */
  const double hi[] = {10.5, 12, 13, 12, 12.5}, lo[] = {9, 10, 11, 9.1, 11.5};
  double out[5];
  REQUIRE_OK(ta_sar(hi, lo, 5, 0.02, 0.2, out));
  CHECK(isnan(out[0]));
  CHECK_NEAR(out[1], 9.0, 1e-12);
  CHECK_NEAR(out[2], 9.06, 1e-12);
  CHECK_NEAR(out[3], 13.0, 1e-12);
  CHECK_NEAR(out[4], 13.0, 1e-12);
}

TEST(fused_pass_gives_the_same_numbers_as_each_batch_call) {
  rng r;
  rng_seed(&r, lbt_seed() + 8);
  series s;
  series_random(&s, 1000, 12.0, &r);
  ta_values *v = malloc(s.n * sizeof *v);
  REQUIRE(v);
  REQUIRE_OK(ta_compute_all(s.c, s.n, NULL, v));
  outs b;
  outs_alloc(&b, s.n);
  struct {
    lb_err (*f)(const series *, double **);
    size_t off[MAXOUT];
    int nout;
  } map[] = {
      {b_cci, {offsetof(ta_values, cci)}, 1},
      {b_mfi, {offsetof(ta_values, mfi)}, 1},
      {b_willr, {offsetof(ta_values, willr)}, 1},
      {b_roc, {offsetof(ta_values, roc)}, 1},
      {b_sar, {offsetof(ta_values, sar)}, 1},
      {b_natr, {offsetof(ta_values, natr)}, 1},
      {b_vwaps, {offsetof(ta_values, vwap)}, 1},
      {b_vwapr, {offsetof(ta_values, vwap_rolling)}, 1},
      {b_rsi, {offsetof(ta_values, rsi)}, 1},
      {b_dmi,
       {offsetof(ta_values, adx), offsetof(ta_values, plus_di), offsetof(ta_values, minus_di)},
       3},
      {b_stoch, {offsetof(ta_values, stoch_k), offsetof(ta_values, stoch_d)}, 2},
      {b_sma, {offsetof(ta_values, sma)}, 1},
      {b_ema, {offsetof(ta_values, ema_fast)}, 1},
      {b_ema50, {offsetof(ta_values, ema_mid)}, 1},
      {b_ema200, {offsetof(ta_values, ema_slow)}, 1},
      {b_volsma, {offsetof(ta_values, volume_sma)}, 1},
      {b_obv, {offsetof(ta_values, obv)}, 1},
      {b_atr, {offsetof(ta_values, atr)}, 1},
      {b_macd,
       {offsetof(ta_values, macd), offsetof(ta_values, macd_signal),
        offsetof(ta_values, macd_hist)},
       3},
      {b_bb,
       {offsetof(ta_values, bb_upper), offsetof(ta_values, bb_middle),
        offsetof(ta_values, bb_lower)},
       3},
  };
  for (size_t m = 0; m < sizeof map / sizeof map[0]; m++) {
    REQUIRE_OK(map[m].f(&s, b.o));
    for (int k = 0; k < map[m].nout; k++)
      for (size_t i = 0; i < s.n; i++) {
        double got;
        memcpy(&got, (const char *)&v[i] + map[m].off[k], sizeof got);
        if (!same_bits(got, b.o[k][i])) {
          lbt_fail(__FILE__, __LINE__, "map %zu output %d bar %zu: %.17g vs %.17g", m, k, i, got,
                   b.o[k][i]);
          break;
        }
      }
  }
  outs_free(&b);
  free(v);
  series_free(&s);
}

TEST(bollinger_width_is_the_band_spread_over_the_middle) {
  rng r;
  rng_seed(&r, lbt_seed() + 9);
  series s;
  series_random(&s, 300, 7.0, &r);
  ta_bbands_state st;
  REQUIRE_OK(ta_bbands_init(&st, 20, 2.0));
  for (size_t i = 0; i < s.n; i++) {
    ta_bbands_value v = ta_bbands_update(&st, s.close[i]);
    if (i < 19) {
      CHECK(isnan(v.width));
      continue;
    }
    CHECK(v.width == (v.upper - v.lower) / v.middle);
    CHECK(v.width > 0.0);
  }
  ta_bbands_close(&st);
  series_free(&s);
}

/* ta_values holds doubles only: compared field by field as an array. */
#define NFIELDS (sizeof(ta_values) / sizeof(double))

TEST(a_run_over_many_candles_equals_one_candle_at_a_time) {
  rng r;
  rng_seed(&r, lbt_seed() + 10);
  series s;
  series_random(&s, 1000, 0.42, &r);
  ta_params p;
  ta_params_default(&p);
  for (int variant = 0; variant < 2; variant++) {
    if (variant == 1) { /* windows not shared: WILLR and SMA on their own */
      p.willr_period = 10;
      p.sma_period = 30;
    }
    ta_ind_set a, b;
    REQUIRE_OK(ta_ind_set_init(&a, &p));
    REQUIRE_OK(ta_ind_set_init(&b, &p));
    ta_values *ra = malloc(s.n * sizeof *ra), *rb = malloc(s.n * sizeof *rb);
    REQUIRE(ra && rb);
    /* uneven pieces, so runs start and end inside blocks */
    for (size_t i = 0; i < s.n;) {
      size_t k = 1 + (i * 7) % 150;
      if (k > s.n - i) k = s.n - i;
      ta_ind_set_run(&a, &s.c[i], k, &ra[i]);
      i += k;
    }
    for (size_t i = 0; i < s.n; i++) ta_ind_set_update(&b, &s.c[i], &rb[i]);
    int bad = 0;
    for (size_t i = 0; i < s.n; i++) {
      const double *x = (const double *)&ra[i], *y = (const double *)&rb[i];
      for (size_t f = 0; f < NFIELDS; f++)
        if (!same_bits(x[f], y[f]) && bad++ < 3)
          lbt_fail(__FILE__, __LINE__, "variant %d bar %zu field %zu: run %.17g, update %.17g",
                   variant, i, f, x[f], y[f]);
    }
    free(ra);
    free(rb);
    ta_ind_set_close(&a);
    ta_ind_set_close(&b);
  }
  series_free(&s);
}
