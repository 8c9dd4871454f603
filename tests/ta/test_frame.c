/* test_frame.c -- ta_frame, ta_view, ta_snapshot and the JSON, driven the
 * way the engine drives them: one closed candle at a time.
 *
 * The series are built so the answer is known: a steady climb is an up
 * trend with no swing points; a triangle wave has its swing highs and lows
 * at the turning bars, one level at each extreme and the middle of the
 * range half-way; a steep fall then a gentle fall to a slightly lower low
 * is the textbook bullish divergence; a calm market hit by a few wide bars
 * is volatile. */
#include <jansson.h>
#include <stdlib.h>

#include "series.h"
#include "ta/ta.h"
#include "unit.h"

#define M5 (5 * LB_MS_MINUTE)

static ta_frame *feed(const series *s, size_t upto, lb_ms tf) {
  ta_frame *f = ta_frame_new(tf, NULL);
  REQUIRE(f != NULL);
  for (size_t i = 0; i < upto; i++) REQUIRE_OK(ta_frame_update(f, &s->c[i]));
  return f;
}

static void view_after(const series *s, size_t upto, ta_view *v) {
  ta_frame *f = feed(s, upto, M5);
  ta_frame_view(f, v);
  ta_frame_free(f);
}

TEST(frame_view_holds_the_same_numbers_as_the_batch_pass) {
  rng r;
  rng_seed(&r, lbt_seed() + 11);
  series s;
  series_random(&s, 700, 250.0, &r);
  ta_values *all = malloc(s.n * sizeof *all);
  REQUIRE(all);
  REQUIRE_OK(ta_compute_all(s.c, s.n, NULL, all));
  ta_frame *f = ta_frame_new(M5, NULL);
  REQUIRE(f);
  for (size_t i = 0; i < s.n; i++) {
    REQUIRE_OK(ta_frame_update(f, &s.c[i]));
    if (i % 97 != 0 && i != s.n - 1) continue;
    ta_view v;
    ta_frame_view(f, &v);
    const ta_values *x = &all[i];
    const double pairs[][2] = {{v.sma20, x->sma},
                               {v.ema20, x->ema_fast},
                               {v.ema50, x->ema_mid},
                               {v.ema200, x->ema_slow},
                               {v.rsi14, x->rsi},
                               {v.macd, x->macd},
                               {v.macd_signal, x->macd_signal},
                               {v.macd_hist, x->macd_hist},
                               {v.atr14, x->atr},
                               {v.natr14, x->natr},
                               {v.bb_upper, x->bb_upper},
                               {v.bb_lower, x->bb_lower},
                               {v.adx14, x->adx},
                               {v.stoch_k, x->stoch_k},
                               {v.obv, x->obv},
                               {v.vwap, x->vwap},
                               {v.cci, x->cci},
                               {v.mfi14, x->mfi},
                               {v.willr14, x->willr},
                               {v.psar, x->sar},
                               {v.volume_sma20, x->volume_sma}};
    for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++)
      CHECK((isnan(pairs[k][0]) && isnan(pairs[k][1])) || pairs[k][0] == pairs[k][1]);
    CHECK_EQ(v.bars, (long long)i + 1);
    CHECK_EQ(v.ts, s.c[i].ts);
    CHECK(v.close == s.c[i].close);
    CHECK_EQ(v.ready, i >= 49); /* EMA(50) is the last core indicator to warm up */
    CHECK_EQ(v.n_recent, i + 1 < TA_RECENT ? (int)i + 1 : TA_RECENT);
    CHECK_EQ(v.recent[v.n_recent - 1].ts, s.c[i].ts);
    CHECK_EQ(v.recent[0].ts, s.c[i + 1 - (size_t)v.n_recent].ts);
  }
  ta_frame_free(f);
  free(all);
  series_free(&s);
}

TEST(frame_refuses_out_of_order_and_non_finite_candles) {
  rng r;
  rng_seed(&r, lbt_seed() + 12);
  series s;
  series_random(&s, 30, 10.0, &r);
  ta_frame *f = feed(&s, 30, M5);
  data_candle c = s.c[29];
  CHECK_EQ(ta_frame_update(f, &c), LB_EINVAL); /* same ts again */
  c.ts -= M5;
  CHECK_EQ(ta_frame_update(f, &c), LB_EINVAL);
  c = s.c[29];
  c.ts += M5;
  c.close = NAN;
  CHECK_EQ(ta_frame_update(f, &c), LB_EINVAL);
  c.close = c.open;
  c.volume = INFINITY;
  CHECK_EQ(ta_frame_update(f, &c), LB_EINVAL);
  c.volume = 1.0;
  c.low = c.open + 1.0; /* low above the open */
  CHECK_EQ(ta_frame_update(f, &c), LB_EINVAL);
  c.low = c.open;
  c.high = c.open * 2;
  c.volume = -1.0;
  CHECK_EQ(ta_frame_update(f, &c), LB_EINVAL);
  CHECK_EQ(ta_frame_update(f, NULL), LB_EINVAL);
  CHECK_EQ(ta_frame_bars(f), 30); /* nothing was taken */
  c.volume = 1.0;
  c.low = fmin(c.open, c.close);
  c.high = fmax(c.open, c.close);
  CHECK_OK(ta_frame_update(f, &c));
  CHECK_EQ(ta_frame_bars(f), 31);
  ta_frame_free(f);
  series_free(&s);
  ta_params p;
  ta_params_default(&p);
  p.macd_fast = 40;
  CHECK(ta_frame_new(M5, &p) == NULL);
  CHECK(ta_frame_new(0, NULL) == NULL);
}

TEST(empty_frame_view_is_unknown_everywhere) {
  ta_frame *f = ta_frame_new(LB_MS_HOUR, NULL);
  REQUIRE(f);
  ta_view v;
  ta_frame_view(f, &v);
  CHECK_EQ(v.bars, 0);
  CHECK(!v.ready);
  CHECK(isnan(v.close) && isnan(v.rsi14) && isnan(v.support) && isnan(v.swing_low));
  CHECK_EQ(v.regime, LB_REGIME_UNKNOWN);
  CHECK_EQ(v.trend, 0);
  CHECK_EQ(v.n_recent, 0);
  ta_frame_free(f);
}

TEST(steady_climb_is_an_up_trend_and_its_mirror_a_down_trend) {
  /* A climb (fall) whose relative pace slows a little: the band width, as
   * a fraction of price, narrows bar after bar, so nothing is "volatile". */
  double cl[300];
  for (int dir = 1; dir >= -1; dir -= 2) {
    for (int i = 0; i < 300; i++)
      cl[i] = 200.0 * exp(dir * (0.004 * i - 0.000003 * i * i)) * (1.0 + (i % 2 ? 0.001 : -0.001));
    series s;
    series_from_closes(&s, cl, 300, 0.05);
    ta_view v;
    view_after(&s, 300, &v);
    CHECK(v.bb_width_rank < 0.1);
    CHECK(v.ready);
    CHECK_EQ(v.trend, dir);
    CHECK_EQ(v.regime, LB_REGIME_TRENDING);
    CHECK(v.adx14 >= 25.0);
    CHECK(dir > 0 ? v.plus_di14 > v.minus_di14 : v.minus_di14 > v.plus_di14);
    CHECK(dir > 0 ? v.rsi14 > 70 : v.rsi14 < 30);
    /* every new high is above the last ones: no pivot highs in a climb, no
     * pivot lows in a fall */
    CHECK(dir > 0 ? isnan(v.swing_high) : isnan(v.swing_low));
    CHECK_EQ(v.div_macd, 0);
    CHECK_EQ(v.div_rsi, 0);
    series_free(&s);
  }
}

/* Triangle wave 95..105, 6 bars up and 6 down, bars of spread 0.2. */
static void triangle(series *s, size_t n) {
  double *cl = malloc(n * sizeof *cl);
  REQUIRE(cl);
  for (size_t i = 0; i < n; i++) {
    int k = (int)(i % 12);
    cl[i] = 95.0 + 10.0 * (k <= 6 ? k : 12 - k) / 6.0;
  }
  series_from_closes(s, cl, n, 0.2);
  free(cl);
}

TEST(triangle_wave_has_swings_at_its_turns_and_levels_at_its_extremes) {
  series s;
  triangle(&s, 242); /* last bar: k = 241 % 12 = 1, close 96.67 */
  ta_frame *f = feed(&s, 242, M5);
  ta_swing sw[600];
  size_t n = ta_frame_swings(f, sw, 600);
  REQUIRE(n >= 10);
  for (size_t i = 0; i < n; i++) {
    /* swing highs at the peak bar (k = 6), lows at the trough bar (k = 0): the
     * next bar has the same extreme, and the first of equal extremes is the pivot */
    CHECK_EQ(sw[i].idx % 12, sw[i].kind > 0 ? 6 : 0);
    CHECK_NEAR(sw[i].price, sw[i].kind > 0 ? 105.2 : 94.8, 1e-9);
    if (i) CHECK(sw[i].idx > sw[i - 1].idx);
  }
  /* the last confirmed pivot is N = 3 bars or more before the last bar */
  CHECK(sw[n - 1].idx <= 241 - 3);
  ta_level lv[8];
  size_t nl = ta_frame_levels(f, lv, 8);
  REQUIRE_EQ(nl, 2);
  CHECK_NEAR(lv[0].price, 94.8, 1e-9);
  CHECK_NEAR(lv[1].price, 105.2, 1e-9);
  CHECK_EQ(lv[0].touches + lv[1].touches, (int)n);
  ta_view v;
  ta_frame_view(f, &v);
  CHECK_NEAR(v.support, 94.8, 1e-9);
  CHECK_NEAR(v.resistance, 105.2, 1e-9);
  CHECK_NEAR(v.swing_high, 105.2, 1e-9);
  CHECK_NEAR(v.swing_low, 94.8, 1e-9);
  CHECK(!v.mid_range); /* close 96.67: (96.67-94.8)/10.4 = 0.18 */
  CHECK_NEAR(v.range_pos, (95.0 + 10.0 / 6 - 94.8) / 10.4, 1e-9);
  CHECK(v.adx14 < 25.0);
  CHECK_EQ(v.regime, LB_REGIME_RANGING);
  ta_frame_free(f);
  series_free(&s);
  /* one bar later the close is exactly half-way: the red-flag zone */
  triangle(&s, 244); /* k = 3: close 100 */
  ta_view w;
  view_after(&s, 244, &w);
  CHECK(w.mid_range);
  CHECK_NEAR(w.range_pos, (100.0 - 94.8) / 10.4, 1e-9);
  series_free(&s);
}

/* closes: warm-up wiggle, a steep fall to a low, a bounce, a gentle fall to
 * a slightly lower low, a bounce.  dir = -1 mirrors it (bearish). */
static void divergence_series(series *s, int dir) {
  double cl[122];
  int i = 0;
  for (; i < 80; i++) cl[i] = 100.0 + 0.3 * sin(i * 0.7);
  for (; i < 90; i++) cl[i] = cl[i - 1] - 1.0;  /* steep: to ~90 at bar 89 */
  for (; i < 98; i++) cl[i] = cl[i - 1] + 0.6;  /* bounce */
  for (; i < 112; i++) cl[i] = cl[i - 1] - 0.4; /* gentle: lower low at bar 111 */
  for (; i < 122; i++) cl[i] = cl[i - 1] + 0.5;
  if (dir < 0)
    for (i = 0; i < 122; i++) cl[i] = 200.0 - cl[i];
  series_from_closes(s, cl, 122, 0.1);
}

TEST(lower_low_with_higher_rsi_and_macd_is_a_bullish_divergence) {
  for (int dir = 1; dir >= -1; dir -= 2) {
    series s;
    divergence_series(&s, dir);
    /* the construction does what it claims: a lower low (higher high) at bar
     * 111 than at bar 89, with a less extreme RSI and MACD histogram */
    double rsi[122], m[122], sig[122], hist[122];
    REQUIRE_OK(ta_rsi(s.close, s.n, 14, rsi));
    REQUIRE_OK(ta_macd(s.close, s.n, 12, 26, 9, m, sig, hist));
    CHECK(dir > 0 ? s.low[111] < s.low[89] : s.high[111] > s.high[89]);
    CHECK(dir > 0 ? rsi[111] > rsi[89] : rsi[111] < rsi[89]);
    CHECK(dir > 0 ? hist[111] > hist[89] : hist[111] < hist[89]);
    /* bar 114 confirms the pivot at 111 (3 bars after); up to bar 121 it is
     * within div_recent_bars = 10 */
    ta_frame *f = feed(&s, 122, M5);
    ta_swing sw[64];
    size_t n = ta_frame_swings(f, sw, 64);
    int found = 0;
    for (size_t k = 0; k < n; k++)
      if (sw[k].kind == -dir && (sw[k].idx == 89 || sw[k].idx == 111)) {
        found++;
        CHECK(sw[k].rsi == rsi[sw[k].idx]);
        CHECK(sw[k].macd_hist == hist[sw[k].idx]);
      }
    CHECK_EQ(found, 2);
    ta_view v;
    ta_frame_view(f, &v);
    CHECK_EQ(v.div_rsi, dir);
    CHECK_EQ(v.div_macd, dir);
    ta_frame_free(f);
    /* before the confirmation there is no divergence yet */
    ta_view early;
    view_after(&s, 114, &early);
    CHECK_EQ(early.div_rsi, 0);
    view_after(&s, 115, &early);
    CHECK_EQ(early.div_rsi, dir);
    series_free(&s);
  }
}

TEST(calm_market_hit_by_wide_bars_is_volatile) {
  /* a wiggle whose amplitude shrinks: every band width is narrower than the
   * ones before it (rank 0), until five wide bars at the end */
  double cl[260];
  for (int i = 0; i < 260; i++) cl[i] = 50.0 + (0.5 - 0.001 * i) * (i % 2 ? 1 : -1);
  for (int i = 255; i < 260; i++) cl[i] = cl[i - 1] * (i % 2 ? 1.04 : 0.97);
  series s;
  series_from_closes(&s, cl, 260, 0.02);
  ta_view before, after;
  view_after(&s, 250, &before);
  view_after(&s, 260, &after);
  CHECK(before.ready && after.ready);
  CHECK(before.bb_width_rank < 0.1);
  CHECK(before.regime != LB_REGIME_VOLATILE);
  CHECK(after.bb_width_rank >= 0.95);
  CHECK_EQ(after.regime, LB_REGIME_VOLATILE);
  series_free(&s);
}

TEST(frame_structure_stays_inside_its_window) {
  rng r;
  rng_seed(&r, lbt_seed() + 13);
  series s;
  series_random(&s, 5000, 1000.0, &r);
  ta_params p;
  ta_params_default(&p);
  p.window = 120;
  ta_frame *f = ta_frame_new(M5, &p);
  REQUIRE(f);
  for (size_t i = 0; i < s.n; i++) REQUIRE_OK(ta_frame_update(f, &s.c[i]));
  ta_swing sw[400];
  size_t n = ta_frame_swings(f, sw, 400);
  CHECK(n > 0 && n <= 240);
  for (size_t i = 0; i < n && i < 400; i++) CHECK(sw[i].idx >= 5000 - 120);
  /* the frame's swings are exactly the pivots of the last 120 bars */
  ta_swing all[2000];
  size_t na = ta_find_swings(s.ts, s.high, s.low, NULL, NULL, s.n, 3, all, 2000);
  size_t in_window = 0;
  for (size_t i = 0; i < na; i++) in_window += all[i].idx >= 5000 - 120;
  CHECK_EQ(n, in_window);
  ta_frame_free(f);
  series_free(&s);
}

/* ==== Snapshot and JSON ==== */

static void resample(const series *s, lb_ms tf, series *out) {
  data_series in, rs;
  data_series_init(&in);
  data_series_init(&rs);
  for (size_t i = 0; i < s->n; i++) REQUIRE_OK(data_series_push(&in, &s->c[i]));
  in.timeframe = M5;
  lb_errbuf eb;
  REQUIRE_OK(data_resample(&in, tf, &rs, &eb));
  memset(out, 0, sizeof *out);
  double *cl = malloc(rs.n * sizeof *cl);
  REQUIRE(cl);
  for (size_t i = 0; i < rs.n; i++) cl[i] = rs.c[i].close;
  series_from_closes(out, cl, rs.n, 0.0); /* allocate, then copy the real bars */
  for (size_t i = 0; i < rs.n; i++) out->c[i] = rs.c[i];
  series_sync(out);
  free(cl);
  data_series_close(&in);
  data_series_close(&rs);
}

TEST(snapshot_orders_timeframes_and_reports_confluence) {
  double cl[4000];
  for (int i = 0; i < 4000; i++) cl[i] = 100.0 + 0.05 * i + 0.4 * sin(i * 0.5);
  series s5, s15, s60;
  series_from_closes(&s5, cl, 4000, 0.05);
  resample(&s5, 15 * LB_MS_MINUTE, &s15);
  resample(&s5, LB_MS_HOUR, &s60);
  ta_frame *f5 = feed(&s5, s5.n, M5), *f15 = feed(&s15, s15.n, 15 * LB_MS_MINUTE),
           *f60 = feed(&s60, s60.n, LB_MS_HOUR);
  const ta_frame *frames[] = {f60, f5, f15}; /* any order */
  ta_snapshot snap;
  REQUIRE_OK(ta_snapshot_build(frames, 3, "BTCUSDT", &snap));
  CHECK_STREQ(snap.symbol, "BTCUSDT");
  CHECK_EQ(snap.n, 3);
  CHECK_EQ(snap.tf[0].tf, M5);
  CHECK_EQ(snap.tf[1].tf, 15 * LB_MS_MINUTE);
  CHECK_EQ(snap.tf[2].tf, LB_MS_HOUR);
  CHECK_EQ(snap.ts, s5.c[s5.n - 1].ts);
  for (int i = 0; i < 3; i++) CHECK_EQ(snap.tf[i].trend, 1);
  CHECK_EQ(snap.confluence, 1);
  CHECK_EQ(snap.n_agree, 3);
  CHECK_EQ(snap.n_up, 3);
  /* a falling entry timeframe against rising higher ones: mixed */
  ta_frame *fd = ta_frame_new(M5, NULL);
  for (int i = 0; i < 200; i++) {
    data_candle c = {s5.c[0].ts + i * M5, 300.0 - i, 300.5 - i, 298.5 - i, 299.0 - i, 10};
    REQUIRE_OK(ta_frame_update(fd, &c));
  }
  const ta_frame *mixed[] = {fd, f15, f60};
  REQUIRE_OK(ta_snapshot_build(mixed, 3, "BTCUSDT", &snap));
  CHECK_EQ(snap.tf[0].trend, -1);
  CHECK_EQ(snap.confluence, 0);
  CHECK_EQ(snap.n_agree, 1);
  CHECK_EQ(snap.n_up, 2);
  CHECK_EQ(snap.n_down, 1);
  /* refused: no frame, too many, a duplicate timeframe, a NULL frame */
  const ta_frame *dup[] = {f5, fd};
  const ta_frame *five[] = {f5, f15, f60, fd, fd};
  const ta_frame *null1[] = {f5, NULL};
  CHECK_EQ(ta_snapshot_build(frames, 0, "X", &snap), LB_EINVAL);
  CHECK_EQ(ta_snapshot_build(five, 5, "X", &snap), LB_EINVAL);
  CHECK_EQ(ta_snapshot_build(dup, 2, "X", &snap), LB_EINVAL);
  CHECK_EQ(ta_snapshot_build(null1, 2, "X", &snap), LB_EINVAL);
  ta_frame_free(fd);
  ta_frame_free(f5);
  ta_frame_free(f15);
  ta_frame_free(f60);
  series_free(&s5);
  series_free(&s15);
  series_free(&s60);
}

TEST(snapshot_json_is_the_same_bytes_for_the_same_state) {
  rng r;
  rng_seed(&r, lbt_seed() + 14);
  series s;
  series_random(&s, 400, 43000.0, &r);
  ta_frame *a = feed(&s, 400, M5), *b = feed(&s, 400, M5), *c = feed(&s, 399, M5);
  ta_snapshot sa, sb, sc;
  REQUIRE_OK(ta_snapshot_build((const ta_frame *const[]){a}, 1, "BTCUSDT", &sa));
  REQUIRE_OK(ta_snapshot_build((const ta_frame *const[]){b}, 1, "BTCUSDT", &sb));
  REQUIRE_OK(ta_snapshot_build((const ta_frame *const[]){c}, 1, "BTCUSDT", &sc));
  char *ja = ta_snapshot_to_json(&sa), *jb = ta_snapshot_to_json(&sb),
       *jc = ta_snapshot_to_json(&sc);
  REQUIRE(ja && jb && jc);
  CHECK_STREQ(ja, jb);
  CHECK(strcmp(ja, jc) != 0);
  /* it parses, and carries what the prompt needs */
  json_error_t err;
  json_t *root = json_loads(ja, 0, &err);
  REQUIRE(root != NULL);
  CHECK_STREQ(json_string_value(json_object_get(root, "symbol")), "BTCUSDT");
  json_t *tf0 = json_array_get(json_object_get(root, "timeframes"), 0);
  REQUIRE(tf0 != NULL);
  CHECK_STREQ(json_string_value(json_object_get(tf0, "tf")), "5m");
  CHECK_EQ(json_array_size(json_object_get(tf0, "recent")), TA_RECENT);
  CHECK(json_is_real(json_object_get(tf0, "rsi14")));
  CHECK(json_is_true(json_object_get(tf0, "ready")));
  json_decref(root);
  free(ja);
  free(jb);
  free(jc);
  ta_frame_free(a);
  ta_frame_free(b);
  ta_frame_free(c);
  series_free(&s);
}

TEST(snapshot_json_has_a_fixed_layout_and_number_format) {
  /* A snapshot written by hand: every field's place and format is fixed. */
  ta_snapshot s;
  memset(&s, 0, sizeof s);
  snprintf(s.symbol, sizeof s.symbol, "ETHUSDT");
  s.ts = INT64_C(1636934400000); /* 2021-11-15 00:00 UTC */
  s.n = 1;
  s.confluence = -1;
  s.n_agree = 1;
  s.n_down = 1;
  ta_view *v = &s.tf[0];
  double *nums[] = {
      &v->open,      &v->high,        &v->low,          &v->close,    &v->volume,
      &v->sma20,     &v->ema20,       &v->ema50,        &v->ema200,   &v->rsi14,
      &v->macd,      &v->macd_signal, &v->macd_hist,    &v->atr14,    &v->natr14,
      &v->bb_upper,  &v->bb_middle,   &v->bb_lower,     &v->bb_width, &v->bb_width_rank,
      &v->adx14,     &v->plus_di14,   &v->minus_di14,   &v->stoch_k,  &v->stoch_d,
      &v->obv,       &v->vwap,        &v->cci,          &v->mfi14,    &v->willr14,
      &v->roc,       &v->psar,        &v->volume_sma20, &v->support,  &v->resistance,
      &v->range_pos, &v->swing_low,   &v->swing_high};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) *nums[i] = NAN;
  v->tf = 15 * LB_MS_MINUTE;
  v->ts = s.ts;
  v->bars = 3;
  v->close = 4321.123456789; /* 10 significant digits: 4321.123457 */
  v->volume = 0.0;           /* 0.0 */
  v->rsi14 = 55.5;
  v->macd = -1e-7;         /* -1e-7 */
  v->obv = 123456789012.0; /* 1.23456789e+11 */
  v->regime = LB_REGIME_RANGING;
  v->trend = -1;
  v->div_rsi = 1;
  v->n_recent = 1;
  v->recent[0] = (data_candle){s.ts, 1.5, 2.0, 1.0, 1.25, 10.0};
  char *j = ta_snapshot_to_json(&s);
  REQUIRE(j);
  CHECK_STREQ(j,
              "{\"symbol\":\"ETHUSDT\",\"ts\":1636934400000,\"time\":\"2021-11-15T00:00:00.000Z\","
              "\"confluence\":-1,\"n_agree\":1,\"n_up\":0,\"n_down\":1,\"timeframes\":[{"
              "\"tf\":\"15m\",\"ts\":1636934400000,\"time\":\"2021-11-15T00:00:00.000Z\","
              "\"bars\":3,\"ready\":false,\"open\":null,\"high\":null,\"low\":null,"
              "\"close\":4321.123457,\"volume\":0.0,\"sma20\":null,\"ema20\":null,"
              "\"ema50\":null,\"ema200\":null,\"rsi14\":55.5,\"macd\":-1e-7,"
              "\"macd_signal\":null,\"macd_hist\":null,\"atr14\":null,\"natr14\":null,"
              "\"bb_upper\":null,\"bb_middle\":null,\"bb_lower\":null,\"bb_width\":null,"
              "\"bb_width_rank\":null,\"adx14\":null,\"plus_di14\":null,\"minus_di14\":null,"
              "\"stoch_k\":null,\"stoch_d\":null,\"obv\":1.23456789e11,\"vwap\":null,"
              "\"cci\":null,\"mfi14\":null,\"willr14\":null,\"roc\":null,\"psar\":null,"
              "\"volume_sma20\":null,\"regime\":\"ranging\",\"trend\":-1,\"support\":null,"
              "\"resistance\":null,\"range_pos\":null,\"mid_range\":false,\"swing_low\":null,"
              "\"swing_high\":null,\"div_macd\":0,\"div_rsi\":1,"
              "\"recent\":[[1636934400000,1.5,2.0,1.0,1.25,10.0]]}]}");
  free(j);
}

TEST(frame_values_are_the_last_candles_indicators_without_structure_work) {
  ta_frame *f = ta_frame_new(M5, NULL);
  REQUIRE(f);
  ta_values v;
  ta_frame_values(f, &v);
  const double *d = (const double *)&v;
  for (size_t i = 0; i < sizeof v / sizeof(double); i++) CHECK(isnan(d[i]));
  rng r;
  rng_seed(&r, lbt_seed() + 15);
  series s;
  series_random(&s, 120, 3.0, &r);
  ta_values *all = malloc(s.n * sizeof *all);
  REQUIRE(all);
  REQUIRE_OK(ta_compute_all(s.c, s.n, NULL, all));
  for (size_t i = 0; i < s.n; i++) REQUIRE_OK(ta_frame_update(f, &s.c[i]));
  ta_frame_values(f, &v);
  const double *a = (const double *)&all[s.n - 1];
  for (size_t i = 0; i < sizeof v / sizeof(double); i++)
    CHECK((isnan(d[i]) && isnan(a[i])) || d[i] == a[i]);
  free(all);
  ta_frame_free(f);
  series_free(&s);
}
