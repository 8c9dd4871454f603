/* test_resample.c -- UTC-aligned resampling (batch and streaming) and replay. */
#include <stdlib.h>

#include "data/data.h"
#include "unit.h"

static data_candle C(lb_ms ts, double o, double h, double l, double c, double v) {
  data_candle x = {ts, o, h, l, c, v};
  return x;
}

static void series_of(data_series *s, const data_candle *c, size_t n, lb_ms tf) {
  data_series_init(s);
  for (size_t i = 0; i < n; i++) REQUIRE_OK(data_series_push(s, &c[i]));
  s->timeframe = tf;
  snprintf(s->symbol, sizeof s->symbol, "TEST");
}

#define T0 INT64_C(1651622400000) /* 2022-05-04T00:00:00Z */
#define M LB_MS_MINUTE

TEST(resample_1m_to_5m_matches_hand_computed_bars) {
  /* 12 one-minute bars starting at 00:02: buckets 00:00 (3 bars), 00:05 (5),
   * 00:10 (4 bars, incomplete: 00:10..00:13 -> not emitted). */
  data_candle in[12];
  for (int i = 0; i < 12; i++) {
    double o = 100 + i;
    in[i] = C(T0 + (2 + i) * M, o, o + 2 + (i % 3), o - 1 - (i % 2), o + 0.5, 10 + i);
  }
  data_series s, out;
  series_of(&s, in, 12, M);
  lb_errbuf eb;
  REQUIRE_OK(data_resample(&s, 5 * M, &out, &eb));
  REQUIRE_EQ(out.n, 2);
  /* bucket 00:00 from bars at 00:02, 00:03, 00:04 (i = 0,1,2) */
  CHECK_EQ(out.c[0].ts, T0);
  CHECK_NEAR(out.c[0].open, 100, 0);
  CHECK_NEAR(out.c[0].high, fmax(fmax(102, 104), 106), 0); /* o+2+(i%3): 102, 104, 106 */
  CHECK_NEAR(out.c[0].low, fmin(fmin(99, 99), 101), 0);   /* o-1-(i%2): 99, 99, 101 */
  CHECK_NEAR(out.c[0].close, 102.5, 0);
  CHECK_NEAR(out.c[0].volume, 10 + 11 + 12, 0);
  /* bucket 00:05 from i = 3..7 */
  CHECK_EQ(out.c[1].ts, T0 + 5 * M);
  CHECK_NEAR(out.c[1].open, 103, 0);
  CHECK_NEAR(out.c[1].high, 110, 0); /* highs 105, 107, 109, 108, 110 */
  CHECK_NEAR(out.c[1].low, 101, 0);  /* lows 101, 103, 103, 105, 105 */
  CHECK_NEAR(out.c[1].close, 107.5, 0);
  CHECK_NEAR(out.c[1].volume, 13 + 14 + 15 + 16 + 17, 0);
  CHECK_EQ(out.timeframe, 5 * M);
  data_series_close(&s);
  data_series_close(&out);
}

TEST(resample_real_1m_day_reproduces_binance_5m_bars) {
  data_series m1, m5, r5;
  lb_errbuf eb;
  REQUIRE_OK(data_load_file(lbt_source_path("data/binance-um/BTCUSDT-1m-2022-04-08.csv"), DATA_FMT_AUTO, &m1, NULL, &eb));
  REQUIRE_OK(data_load_file(lbt_source_path("data/binance-um/BTCUSDT-5m-2022-04.csv"), DATA_FMT_AUTO, &m5, NULL, &eb));
  REQUIRE_OK(data_resample(&m1, 5 * M, &r5, &eb));
  REQUIRE_EQ(r5.n, 288);
  size_t k = 0;
  while (k < m5.n && m5.c[k].ts != r5.c[0].ts) k++;
  REQUIRE(k + 288 <= m5.n);
  for (size_t i = 0; i < 288; i++) {
    const data_candle *a = &r5.c[i], *b = &m5.c[k + i];
    CHECK_EQ(a->ts, b->ts);
    CHECK_NEAR(a->open, b->open, 0);
    CHECK_NEAR(a->high, b->high, 0);
    CHECK_NEAR(a->low, b->low, 0);
    CHECK_NEAR(a->close, b->close, 0);
    CHECK_NEAR(a->volume, b->volume, 1e-9 * b->volume); /* sum of five 3-decimal values */
  }
  data_series_close(&m1);
  data_series_close(&m5);
  data_series_close(&r5);
}

TEST(resample_to_15m_1h_4h_1d_aligned_to_utc) {
  data_series m5, out;
  lb_errbuf eb;
  REQUIRE_OK(data_load_file(lbt_source_path("data/binance-um/BTCUSDT-5m-2022-04.csv"), DATA_FMT_AUTO, &m5, NULL, &eb));
  const lb_ms tfs[] = {15 * M, LB_MS_HOUR, 4 * LB_MS_HOUR, LB_MS_DAY};
  const size_t want[] = {2880, 720, 180, 30};
  for (int t = 0; t < 4; t++) {
    REQUIRE_OK(data_resample(&m5, tfs[t], &out, &eb));
    CHECK_EQ(out.n, want[t]);
    for (size_t i = 0; i < out.n; i++) CHECK_EQ(out.c[i].ts % tfs[t], 0);
    /* Each output bar equals the aggregate of the input bars in its bucket. */
    size_t j = 0;
    for (size_t i = 0; i < out.n; i++) {
      double hi = -1, lo = 1e18, vol = 0, open = 0, close = 0;
      int cnt = 0;
      while (j < m5.n && m5.c[j].ts < out.c[i].ts + tfs[t]) {
        if (cnt++ == 0) open = m5.c[j].open;
        hi = fmax(hi, m5.c[j].high);
        lo = fmin(lo, m5.c[j].low);
        vol += m5.c[j].volume;
        close = m5.c[j].close;
        j++;
      }
      CHECK_NEAR(out.c[i].open, open, 0);
      CHECK_NEAR(out.c[i].high, hi, 0);
      CHECK_NEAR(out.c[i].low, lo, 0);
      CHECK_NEAR(out.c[i].close, close, 0);
      CHECK_NEAR(out.c[i].volume, vol, 1e-9 * vol);
    }
    data_series_close(&out);
  }
  CHECK_EQ(data_resample(&m5, 7 * M, &out, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "not a multiple");
  data_series_close(&m5);
}

TEST(resample_weeks_start_on_monday) {
  CHECK_EQ(data_bucket_start(T0 + 3 * LB_MS_HOUR, 7 * LB_MS_DAY), T0 - 2 * LB_MS_DAY); /* Wed -> Mon 2022-05-02 */
}

TEST(streaming_resampler_emits_on_completion_and_on_gaps) {
  data_resampler r;
  data_resampler_init(&r, M, 5 * M);
  data_candle out[2];
  data_candle c = C(T0, 10, 11, 9, 10.5, 1);
  CHECK_EQ(data_resampler_push(&r, &c, out), 0);
  c = C(T0 + 4 * M, 10.5, 12, 10, 11, 2); /* 00:04 completes 00:00..00:05 */
  REQUIRE_EQ(data_resampler_push(&r, &c, out), 1);
  CHECK_EQ(out[0].ts, T0);
  CHECK_NEAR(out[0].high, 12, 0);
  CHECK_NEAR(out[0].volume, 3, 0);
  c = C(T0 + 6 * M, 11, 11, 11, 11, 1);  /* opens 00:05 */
  CHECK_EQ(data_resampler_push(&r, &c, out), 0);
  c = C(T0 + 14 * M, 12, 13, 12, 13, 1); /* gap: closes 00:05 and completes 00:10 */
  REQUIRE_EQ(data_resampler_push(&r, &c, out), 2);
  CHECK_EQ(out[0].ts, T0 + 5 * M);
  CHECK_EQ(out[1].ts, T0 + 10 * M);
  CHECK_NEAR(out[1].open, 12, 0);
}

TEST(replay_merges_symbols_in_time_order_and_repeats) {
  data_candle a[] = {C(T0, 1, 1, 1, 1, 0), C(T0 + 2 * M, 1, 1, 1, 1, 0)};
  data_candle b[] = {C(T0, 2, 2, 2, 2, 0), C(T0 + M, 2, 2, 2, 2, 0), C(T0 + 2 * M, 2, 2, 2, 2, 0)};
  data_series sa, sb;
  series_of(&sa, a, 2, M);
  series_of(&sb, b, 3, M);
  const data_series *set[] = {&sa, &sb};
  data_replay r;
  REQUIRE_OK(data_replay_init(&r, set, 2, 2));
  size_t which;
  data_candle c;
  const size_t want_which[] = {0, 1, 1, 0, 1};
  const lb_ms want_ts[] = {T0, T0, T0 + M, T0 + 2 * M, T0 + 2 * M};
  for (int round = 0; round < 2; round++)
    for (int i = 0; i < 5; i++) {
      REQUIRE(data_replay_next(&r, &which, &c));
      CHECK_EQ(which, want_which[i]);
      CHECK_EQ(c.ts, want_ts[i] + round * LB_MS_DAY); /* span rounded up to a whole day */
    }
  CHECK(!data_replay_next(&r, &which, &c));
  data_replay_close(&r);
  data_series_close(&sa);
  data_series_close(&sb);
}

TEST(series_slice_keeps_the_window) {
  data_candle a[] = {C(T0, 1, 1, 1, 1, 0), C(T0 + M, 1, 1, 1, 1, 0), C(T0 + 2 * M, 1, 1, 1, 1, 0)};
  data_series s;
  series_of(&s, a, 3, M);
  data_series_slice(&s, T0 + M, T0 + 2 * M);
  CHECK_EQ(s.n, 1);
  CHECK_EQ(s.c[0].ts, T0 + M);
  data_series_close(&s);
}
