/* test_time.c -- UTC calendar, ISO-8601, timeframes, clocks. */
#include "core/time.h"
#include "unit.h"

TEST(time_formats_and_parses_iso_utc) {
  char b[LB_TIME_ISO_LEN];
  lb_time_fmt_iso(INT64_C(1704067200000), b, sizeof b);
  CHECK_STREQ(b, "2024-01-01T00:00:00.000Z");
  lb_ms t;
  REQUIRE_OK(lb_time_parse_iso("2024-01-01T00:00:00Z", &t));
  CHECK_EQ(t, INT64_C(1704067200000));
  REQUIRE_OK(lb_time_parse_iso("2021-12-31 23:01:00.000000", &t)); /* nautilus CSV form */
  CHECK_EQ(t, INT64_C(1640991660000));
  REQUIRE_OK(lb_time_parse_iso("2022-02-01", &t));
  CHECK_EQ(t, INT64_C(1643673600000));
  REQUIRE_OK(lb_time_parse_iso("2020-02-29T12:30:15.5+00:00", &t));
  lb_time_fmt_iso(t, b, sizeof b);
  CHECK_STREQ(b, "2020-02-29T12:30:15.500Z");
}

TEST(time_refuses_bad_dates_and_offsets) {
  lb_ms t;
  CHECK_EQ(lb_time_parse_iso("2021-02-29", &t), LB_ERANGE);
  CHECK_EQ(lb_time_parse_iso("2021-13-01", &t), LB_ERANGE);
  CHECK_EQ(lb_time_parse_iso("2021-01-01T25:00", &t), LB_ERANGE);
  CHECK_EQ(lb_time_parse_iso("2021-01-01T10:00+02:00", &t), LB_EPARSE);
  CHECK_EQ(lb_time_parse_iso("yesterday", &t), LB_EPARSE);
  CHECK_EQ(lb_time_parse_iso("", &t), LB_EPARSE);
}

TEST(time_calendar_round_trips_every_day_1970_2100) {
  for (lb_ms d = 0; d < 47482; d++) {
    lb_ms t = d * LB_MS_DAY + 12345678;
    lb_tm tm;
    lb_time_split(t, &tm);
    REQUIRE_EQ(lb_time_join(&tm), t);
  }
  lb_tm tm;
  lb_time_split(INT64_C(1704067200000), &tm); /* 2024-01-01 was a Monday */
  CHECK_EQ(tm.wday, 0);
  lb_time_split(-1, &tm); /* 1969-12-31T23:59:59.999 */
  CHECK_EQ(tm.year, 1969);
  CHECK_EQ(tm.ms, 999);
}

TEST(time_floors_to_utc_periods) {
  lb_ms t;
  REQUIRE_OK(lb_time_parse_iso("2022-05-05T13:47:12Z", &t));
  char b[LB_TIME_ISO_LEN];
  lb_time_fmt_iso(lb_time_floor(t, 15 * LB_MS_MINUTE), b, sizeof b);
  CHECK_STREQ(b, "2022-05-05T13:45:00.000Z");
  lb_time_fmt_iso(lb_time_floor(t, 4 * LB_MS_HOUR), b, sizeof b);
  CHECK_STREQ(b, "2022-05-05T12:00:00.000Z");
  lb_time_fmt_iso(lb_time_week_start(t), b, sizeof b);
  CHECK_STREQ(b, "2022-05-02T00:00:00.000Z"); /* Monday */
  lb_time_fmt_iso(lb_time_month_start(t), b, sizeof b);
  CHECK_STREQ(b, "2022-05-01T00:00:00.000Z");
}

TEST(timeframes_parse_and_name) {
  lb_ms tf;
  REQUIRE_OK(lb_timeframe_parse("15m", &tf));
  CHECK_EQ(tf, 15 * LB_MS_MINUTE);
  REQUIRE_OK(lb_timeframe_parse("4h", &tf));
  CHECK_EQ(tf, 4 * LB_MS_HOUR);
  CHECK_EQ(lb_timeframe_parse("7m", &tf), LB_EPARSE);
  char b[8];
  CHECK_STREQ(lb_timeframe_name(LB_MS_DAY, b, sizeof b), "1d");
  CHECK_STREQ(lb_timeframe_name(7 * LB_MS_MINUTE, b, sizeof b), "?");
}

TEST(manual_clock_advances_on_sleep) {
  lb_manual_clock mc = {.now = 1000};
  lb_clock c = lb_manual_clock_bind(&mc);
  lb_clock_sleep(&c, 2000);
  lb_clock_sleep(&c, 4000);
  CHECK_EQ(lb_clock_now(&c), 7000);
  CHECK_EQ(mc.slept_total, 6000);
}
