/* test_money.c -- exact decimals: parsing, formatting, rounding, products. */
#include "core/money.h"
#include "unit.h"

static lb_dec D(const char *s) {
  lb_dec d = 0;
  REQUIRE_OK(lb_dec_parse(s, &d));
  return d;
}

static const char *F(lb_dec d) {
  static char buf[4][LB_DEC_STRLEN];
  static int slot;
  char *b = buf[slot++ % 4];
  lb_dec_fmt(d, b, LB_DEC_STRLEN);
  return b;
}

TEST(money_parses_exchange_strings_exactly) {
  CHECK_EQ(D("0.10"), 10000000);
  CHECK_EQ(D("42503.50"), INT64_C(4250350000000));
  CHECK_EQ(D("0.00038246"), 38246);
  CHECK_EQ(D("-3"), -300000000);
  CHECK_EQ(D("+7."), 700000000);
  CHECK_EQ(D(".5"), 50000000);
  CHECK_EQ(D("1800000000"), INT64_C(180000000000000000));
}

TEST(money_rejects_malformed_numbers) {
  lb_dec d;
  const char *bad[] = {"", "-", ".", "1e5", "1.2.3", " 1", "1 ", "abc", "0x10", "1,5", "nan"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    CHECK_EQ(lb_dec_parse(bad[i], &d), LB_EPARSE);
  CHECK_EQ(lb_dec_parse("99999999999999", &d), LB_EOVERFLOW);
}

TEST(money_rounds_ninth_decimal_half_even) {
  CHECK_EQ(D("0.000000015"), 2);  /* 1.5 units -> 2 */
  CHECK_EQ(D("0.000000025"), 2);  /* 2.5 units -> 2 (even) */
  CHECK_EQ(D("0.0000000250001"), 3);
  CHECK_EQ(D("0.000000024999"), 2);
  CHECK_EQ(D("-0.000000035"), -4);
}

TEST(money_formats_without_float_noise) {
  CHECK_STREQ(F(D("42503.5")), "42503.5");
  CHECK_STREQ(F(D("0.1")), "0.1");
  CHECK_STREQ(F(D("0.001")), "0.001");
  CHECK_STREQ(F(D("-0.00000001")), "-0.00000001");
  CHECK_STREQ(F(0), "0");
  CHECK_STREQ(F(D("100")), "100");
  char b[LB_DEC_STRLEN];
  lb_dec_fmt_places(D("1.23"), 4, b, sizeof b);
  CHECK_STREQ(b, "1.2300");
  lb_dec_fmt_places(D("2.345"), 2, b, sizeof b);
  CHECK_STREQ(b, "2.34"); /* half-even */
  lb_dec_fmt_places(D("-2.355"), 2, b, sizeof b);
  CHECK_STREQ(b, "-2.36");
  lb_dec_fmt_places(D("-0.001"), 2, b, sizeof b);
  CHECK_STREQ(b, "0.00");
}

TEST(money_round_trips_through_text) {
  unsigned long s = lbt_seed();
  for (int i = 0; i < 100000; i++) {
    s = s * 6364136223846793005UL + 1442695040888963407UL;
    lb_dec x = (lb_dec)(s >> 8) - (lb_dec)(1UL << 55);
    char b[LB_DEC_STRLEN];
    lb_dec_fmt(x, b, sizeof b);
    lb_dec y;
    REQUIRE_OK(lb_dec_parse(b, &y));
    REQUIRE_EQ(x, y);
  }
}

TEST(money_quantity_rounds_down_to_binance_step) {
  lb_dec step = D("0.001"); /* BTCUSDT LOT_SIZE */
  CHECK_STREQ(F(lb_dec_round_to(D("0.0029999"), step, LB_ROUND_FLOOR)), "0.002");
  CHECK_STREQ(F(lb_dec_round_to(D("0.002"), step, LB_ROUND_FLOOR)), "0.002");
  CHECK_STREQ(F(lb_dec_round_to(D("1.23456789"), step, LB_ROUND_FLOOR)), "1.234");
  CHECK(lb_dec_is_multiple(D("0.123"), step));
  CHECK(!lb_dec_is_multiple(D("0.1235"), step));
  CHECK_EQ(lb_dec_places_of(step), 3);
  CHECK_EQ(lb_dec_places_of(D("0.10")), 1);
  CHECK_EQ(lb_dec_places_of(D("1")), 0);
}

TEST(money_price_rounds_to_binance_tick_each_way) {
  lb_dec tick = D("0.10"); /* BTCUSDT PRICE_FILTER */
  CHECK_STREQ(F(lb_dec_round_to(D("42503.57"), tick, LB_ROUND_FLOOR)), "42503.5");
  CHECK_STREQ(F(lb_dec_round_to(D("42503.51"), tick, LB_ROUND_CEIL)), "42503.6");
  CHECK_STREQ(F(lb_dec_round_to(D("42503.55"), tick, LB_ROUND_HALF_EVEN)), "42503.6");
  CHECK_STREQ(F(lb_dec_round_to(D("42503.45"), tick, LB_ROUND_HALF_EVEN)), "42503.4");
  CHECK_STREQ(F(lb_dec_round_to(D("-1.05"), tick, LB_ROUND_FLOOR)), "-1.1");
  CHECK_STREQ(F(lb_dec_round_to(D("-1.05"), tick, LB_ROUND_TRUNC)), "-1");
}

TEST(money_products_and_quotients_round_as_asked) {
  lb_dec r;
  REQUIRE_OK(lb_dec_mul(D("42503.5"), D("0.002"), LB_ROUND_HALF_EVEN, &r));
  CHECK_STREQ(F(r), "85.007");
  /* taker fee 0.05 % of 85.007 = 0.0425035 exactly */
  REQUIRE_OK(lb_dec_mul(r, D("0.0005"), LB_ROUND_HALF_EVEN, &r));
  CHECK_STREQ(F(r), "0.0425035");
  REQUIRE_OK(lb_dec_div(D("10"), D("3"), LB_ROUND_FLOOR, &r));
  CHECK_STREQ(F(r), "3.33333333");
  REQUIRE_OK(lb_dec_div(D("10"), D("3"), LB_ROUND_CEIL, &r));
  CHECK_STREQ(F(r), "3.33333334");
  REQUIRE_OK(lb_dec_div(D("-10"), D("3"), LB_ROUND_FLOOR, &r));
  CHECK_STREQ(F(r), "-3.33333334");
  CHECK_EQ(lb_dec_div(D("1"), 0, LB_ROUND_FLOOR, &r), LB_EINVAL);
  REQUIRE_OK(lb_dec_muldiv(D("100"), D("7"), D("3"), LB_ROUND_HALF_EVEN, &r));
  CHECK_STREQ(F(r), "233.33333333");
  CHECK_EQ(lb_dec_mul(D("90000000000"), D("1000"), LB_ROUND_FLOOR, &r), LB_EOVERFLOW);
  CHECK_EQ(lb_dec_add(LB_DEC_MAX, 1, &r), LB_EOVERFLOW);
}

TEST(money_from_double_is_nearest) {
  lb_dec r;
  REQUIRE_OK(lb_dec_from_double(0.07, &r));
  CHECK_EQ(r, 7000000);
  REQUIRE_OK(lb_dec_from_double(-1234.56789012, &r));
  CHECK_EQ(r, INT64_C(-123456789012));
  CHECK_EQ(lb_dec_from_double(NAN, &r), LB_ERANGE);
  CHECK_EQ(lb_dec_from_double(1e300, &r), LB_EOVERFLOW);
  CHECK_NEAR(lb_dec_to_double(D("42503.5")), 42503.5, 0);
}
