/* test_structure.c -- the market-structure rules on inputs whose answer is
 * known by construction: swings, S/R clustering, nearest levels, the
 * middle-of-range test, divergences, trend, regime and confluence. */
#include "ta/ta.h"
#include "unit.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

TEST(swing_points_are_pivots_with_n_bars_each_side) {
  /* N = 2.  Highs peak at 4 (bar 3), at 5 (bars 9 and 10: a flat top, the
   * first bar is the pivot) and at 6 (bar 15, but only one bar follows it:
   * not confirmed).  Lows trough at bar 0 (no bars before: not a pivot),
   * bar 6 and bar 12. */
  const double high[] = {2, 3, 3.5, 4, 3.5, 3, 2.5, 3, 4, 5, 5, 4, 3, 4, 5, 6, 5.5};
  const double low[] = {1, 2, 2.5, 3, 2.5, 2, 1.5, 2, 3, 4, 4, 3, 2, 3, 4, 5, 4.5};
  const size_t n = NELEM(high);
  ta_swing sw[16];
  size_t k = ta_find_swings(NULL, high, low, NULL, NULL, n, 2, sw, 16);
  REQUIRE_EQ(k, 4);
  const struct {
    int64_t idx;
    int kind;
    double price;
  } want[] = {{3, 1, 4}, {6, -1, 1.5}, {9, 1, 5}, {12, -1, 2}};
  for (size_t i = 0; i < 4; i++) {
    CHECK_EQ(sw[i].idx, want[i].idx);
    CHECK_EQ(sw[i].kind, want[i].kind);
    CHECK(sw[i].price == want[i].price);
    CHECK(isnan(sw[i].rsi) && isnan(sw[i].macd_hist));
  }
  /* The same count from the rule spelled out for N = 2. */
  size_t expect = 0;
  for (size_t i = 2; i + 2 < n; i++) {
    bool hi = high[i] > high[i - 1] && high[i] > high[i - 2] && high[i] >= high[i + 1] &&
              high[i] >= high[i + 2];
    bool lo =
        low[i] < low[i - 1] && low[i] < low[i - 2] && low[i] <= low[i + 1] && low[i] <= low[i + 2];
    expect += hi + lo;
  }
  CHECK_EQ(k, expect);
  /* Too few bars for even one pivot. */
  CHECK_EQ(ta_find_swings(NULL, high, low, NULL, NULL, 4, 2, sw, 16), 0);
  /* max limits the writes, not the count. */
  CHECK_EQ(ta_find_swings(NULL, high, low, NULL, NULL, n, 2, sw, 1), k);
}

TEST(levels_cluster_swings_within_the_tolerance) {
  ta_swing sw[] = {
      {1, 0, 1, 100.0, NAN, NAN},  {5, 0, -1, 100.4, NAN, NAN}, {9, 0, 1, 101.0, NAN, NAN},
      {12, 0, -1, 95.0, NAN, NAN}, {20, 0, 1, 100.2, NAN, NAN}, {25, 0, -1, 95.0, NAN, NAN},
  };
  ta_level lv[8];
  /* tol 0.5: {95, 95} {100, 100.2, 100.4} {101} (101 is 1.0 above 100) */
  size_t n = ta_sr_levels(sw, NELEM(sw), 0.5, 1, lv, 8);
  REQUIRE_EQ(n, 3);
  CHECK_NEAR(lv[0].price, 95.0, 1e-12);
  CHECK_EQ(lv[0].touches, 2);
  CHECK_EQ(lv[0].lows, 2);
  CHECK_EQ(lv[0].last_idx, 25);
  CHECK_NEAR(lv[1].price, (100.0 + 100.2 + 100.4) / 3, 1e-12);
  CHECK_EQ(lv[1].touches, 3);
  CHECK_EQ(lv[1].highs, 2);
  CHECK_EQ(lv[1].lows, 1);
  CHECK(lv[1].lo == 100.0 && lv[1].hi == 100.4);
  CHECK_EQ(lv[1].last_idx, 20);
  CHECK_NEAR(lv[2].price, 101.0, 1e-12);
  CHECK_EQ(lv[2].touches, 1);
  /* at least two touches: the single swing at 101 is not a level */
  CHECK_EQ(ta_sr_levels(sw, NELEM(sw), 0.5, 2, lv, 8), 2);
  /* tolerance 0 (ATR unknown): only equal prices merge */
  CHECK_EQ(ta_sr_levels(sw, NELEM(sw), 0.0, 1, lv, 8), 5);
  CHECK_EQ(ta_sr_levels(sw, NELEM(sw), NAN, 1, lv, 8), 5);
  /* a wide tolerance makes one level of everything within it of the lowest */
  CHECK_EQ(ta_sr_levels(sw, NELEM(sw), 10.0, 1, lv, 8), 1);
  CHECK_EQ(lv[0].touches, 6);
}

TEST(nearest_support_is_at_or_below_and_resistance_strictly_above) {
  ta_level lv[] = {
      {95, 95, 95, 1, 0, 1, 0}, {100, 100, 100, 2, 1, 1, 0}, {110, 110, 110, 1, 1, 0, 0}};
  double s, r;
  ta_sr_nearest(lv, 3, 103, &s, &r);
  CHECK(s == 100 && r == 110);
  ta_sr_nearest(lv, 3, 100, &s, &r);
  CHECK(s == 100 && r == 110);
  ta_sr_nearest(lv, 3, 90, &s, &r);
  CHECK(isnan(s) && r == 95);
  ta_sr_nearest(lv, 3, 120, &s, &r);
  CHECK(s == 110 && isnan(r));
  ta_sr_nearest(lv, 0, 120, &s, &r);
  CHECK(isnan(s) && isnan(r));
}

TEST(middle_of_range_is_the_central_band_between_support_and_resistance) {
  double pos;
  const double third = 1.0 / 3.0;
  CHECK(ta_mid_range(105, 100, 110, third, &pos));
  CHECK_NEAR(pos, 0.5, 1e-12);
  CHECK(ta_mid_range(103.4, 100, 110, third, &pos));  /* 0.34: inside 1/3..2/3 */
  CHECK(!ta_mid_range(103.0, 100, 110, third, &pos)); /* 0.30 */
  CHECK_NEAR(pos, 0.3, 1e-12);
  CHECK(!ta_mid_range(109.5, 100, 110, third, &pos));
  CHECK(!ta_mid_range(101, 100, 110, third, NULL));
  CHECK(ta_mid_range(101, 100, 110, 1.0, NULL)); /* band 1: the whole range */
  CHECK(!ta_mid_range(105, NAN, 110, third, &pos));
  CHECK(isnan(pos));
  CHECK(!ta_mid_range(105, 100, NAN, third, &pos));
  CHECK(!ta_mid_range(105, 110, 100, third, &pos)); /* inverted */
}

static ta_swing S(int64_t idx, int kind, double price, double rsi, double hist) {
  return (ta_swing){idx, 0, kind, price, rsi, hist};
}

TEST(divergence_compares_the_last_two_swings_of_each_kind) {
  /* lower low with a higher RSI and a higher histogram: bullish */
  ta_swing bull[] = {S(10, -1, 100, 25, -0.5), S(20, 1, 104, 60, 0.2), S(30, -1, 98, 32, -0.3)};
  CHECK_EQ(ta_divergence(bull, 3, TA_DIV_RSI, 35, 60, 10), 1);
  CHECK_EQ(ta_divergence(bull, 3, TA_DIV_MACD, 35, 60, 10), 1);
  /* the indicator also lower: no divergence */
  bull[2].rsi = 20;
  CHECK_EQ(ta_divergence(bull, 3, TA_DIV_RSI, 35, 60, 10), 0);
  CHECK_EQ(ta_divergence(bull, 3, TA_DIV_MACD, 35, 60, 10), 1);
  /* too far apart, too old, or unknown indicator: no divergence */
  CHECK_EQ(ta_divergence(bull, 3, TA_DIV_MACD, 35, 15, 10), 0);
  CHECK_EQ(ta_divergence(bull, 3, TA_DIV_MACD, 41, 60, 10), 0);
  CHECK_EQ(ta_divergence(bull, 3, TA_DIV_MACD, 40, 60, 10), 1);
  bull[0].macd_hist = NAN;
  CHECK_EQ(ta_divergence(bull, 3, TA_DIV_MACD, 35, 60, 10), 0);
  /* higher high with a lower indicator: bearish */
  ta_swing bear[] = {S(5, 1, 110, 75, 0.9), S(12, -1, 104, 40, -0.1), S(18, 1, 112, 66, 0.4)};
  CHECK_EQ(ta_divergence(bear, 3, TA_DIV_RSI, 20, 60, 10), -1);
  CHECK_EQ(ta_divergence(bear, 3, TA_DIV_MACD, 20, 60, 10), -1);
  /* only one swing of a kind: nothing to compare */
  CHECK_EQ(ta_divergence(bear, 2, TA_DIV_RSI, 20, 60, 10), 0);
  /* both present: the one whose newer swing is later wins */
  ta_swing both[] = {S(10, -1, 100, 25, -0.5), S(12, 1, 110, 75, 0.9), S(30, -1, 98, 32, -0.3),
                     S(33, 1, 112, 66, 0.4)};
  CHECK_EQ(ta_divergence(both, 4, TA_DIV_RSI, 35, 60, 10), -1);
  both[3].idx = 28;
  CHECK_EQ(ta_divergence(both, 4, TA_DIV_RSI, 35, 60, 10), 1);
}

TEST(trend_direction_needs_fast_ema_and_close_on_the_same_side) {
  CHECK_EQ(ta_trend_dir(105, 103, 100), 1);
  CHECK_EQ(ta_trend_dir(99, 103, 100), 0); /* close below the mid EMA */
  CHECK_EQ(ta_trend_dir(95, 97, 100), -1);
  CHECK_EQ(ta_trend_dir(101, 97, 100), 0);
  CHECK_EQ(ta_trend_dir(101, 100, 100), 0);
  CHECK_EQ(ta_trend_dir(NAN, 103, 100), 0);
  CHECK_EQ(ta_trend_dir(105, 103, NAN), 0);
}

TEST(regime_rule_checks_volatility_first_then_trend) {
  ta_params p;
  ta_params_default(&p);
  ta_regime_in up = {105, 103, 100, 30, 28, 12, 0.8, 0.5};
  CHECK_EQ(ta_regime_classify(&up, &p), LB_REGIME_TRENDING);
  ta_regime_in x = up;
  x.plus_di = 10; /* DI disagrees with the EMAs */
  CHECK_EQ(ta_regime_classify(&x, &p), LB_REGIME_RANGING);
  x = up;
  x.adx = 24.9;
  CHECK_EQ(ta_regime_classify(&x, &p), LB_REGIME_RANGING);
  x = up;
  x.close = 99; /* no direction */
  CHECK_EQ(ta_regime_classify(&x, &p), LB_REGIME_RANGING);
  x = up;
  x.natr = 5.0;
  CHECK_EQ(ta_regime_classify(&x, &p), LB_REGIME_VOLATILE);
  x = up;
  x.bb_width_rank = 0.95;
  CHECK_EQ(ta_regime_classify(&x, &p), LB_REGIME_VOLATILE);
  x.bb_width_rank = 0.94;
  CHECK_EQ(ta_regime_classify(&x, &p), LB_REGIME_TRENDING);
  ta_regime_in down = {95, 97, 100, 40, 10, 30, 1.0, 0.2};
  CHECK_EQ(ta_regime_classify(&down, &p), LB_REGIME_TRENDING);
  down.adx = NAN;
  CHECK_EQ(ta_regime_classify(&down, &p), LB_REGIME_UNKNOWN);
  p.trend_adx = 50;
  CHECK_EQ(ta_regime_classify(&up, &p), LB_REGIME_RANGING);
}

TEST(rank_is_the_fraction_of_history_strictly_below) {
  const double h[] = {1, 2, 3, 4, 5, 5, 6, 7, 8, 9};
  CHECK_NEAR(ta_rank(h, 10, 5), 0.4, 1e-12);
  CHECK_NEAR(ta_rank(h, 10, 100), 1.0, 1e-12);
  CHECK_NEAR(ta_rank(h, 10, 0), 0.0, 1e-12);
  CHECK_NEAR(ta_rank(h, 0, 3), 0.0, 1e-12);
}

TEST(confluence_is_unanimity_and_agreement_counts_the_entry_direction) {
  int agree, up, down;
  const int all_up[] = {1, 1, 1}, all_down[] = {-1, -1}, mixed[] = {1, -1, 1}, flat[] = {0, 1, 1};
  CHECK_EQ(ta_confluence(all_up, 3, &agree, &up, &down), 1);
  CHECK(agree == 3 && up == 3 && down == 0);
  CHECK_EQ(ta_confluence(all_down, 2, &agree, &up, &down), -1);
  CHECK(agree == 2 && down == 2);
  CHECK_EQ(ta_confluence(mixed, 3, &agree, &up, &down), 0);
  CHECK(agree == 2 && up == 2 && down == 1);
  CHECK_EQ(ta_confluence(flat, 3, &agree, NULL, NULL), 0);
  CHECK_EQ(agree, 0);
  CHECK_EQ(ta_confluence(all_up, 1, &agree, NULL, NULL), 1);
  CHECK_EQ(agree, 1);
}
