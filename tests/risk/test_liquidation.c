/* test_liquidation.c -- the liquidation price against Binance's worked cases
 * and hand-computed cases at several bracket tiers of the shipped tables. */
#include <jansson.h>

#include "fixtures.h"

static lb_dec num(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  lb_dec d = 0;
  if (!json_is_number(v) || lb_dec_from_double(json_number_value(v), &d) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "vector field %s missing", key);
  return d;
}

/* Binance's general formula with cross margin reduces to the isolated one
 * with WB replaced by WB - TMM1 + UPNL1 (one position in the symbol,
 * one-way mode); so one function reproduces all four published cases. */
TEST(liquidation_matches_binance_worked_vectors) {
  json_error_t jerr;
  json_t *root = json_load_file(lbt_source_path("tests/risk/data/liquidation_price_vectors.json"),
                                0, &jerr);
  REQUIRE(root != NULL);
  json_t *vecs = json_object_get(root, "vectors");
  REQUIRE(json_array_size(vecs) == 4);
  size_t i;
  json_t *v;
  json_array_foreach(vecs, i, v) {
    lb_dec wb = num(v, "WB") - num(v, "TMM1") + num(v, "UPNL1");
    lb_action side = json_integer_value(json_object_get(v, "side")) == 1 ? LB_ACTION_LONG
                                                                          : LB_ACTION_SHORT;
    lb_dec lp;
    REQUIRE_OK(risk_liquidation_price(side, num(v, "position"), num(v, "entry"), wb, num(v, "mmr"),
                                      num(v, "cum"), &lp));
    double got = lb_dec_to_double(lp);
    double want2 = json_number_value(json_object_get(v, "expected_freqtrade"));
    double want4 = json_number_value(json_object_get(v, "computed"));
    if (fabs(round(got * 100) / 100 - want2) > 1e-9 || fabs(got - want4) > 0.00006)
      lbt_fail(__FILE__, __LINE__, "%s: %.8f, want %.2f (%.4f)",
               json_string_value(json_object_get(v, "case")), got, want2, want4);
  }
  json_decref(root);
}

/* Hand computations (exact fractions, rounded toward the entry at the 8th
 * decimal), BTCUSDT and ETHUSDT brackets as shipped. */
TEST(liquidation_hand_computed_at_several_tiers) {
  struct {
    const char *what;
    int eth;
    lb_action side;
    const char *qty, *entry, *wallet;
    int tier;
    const char *want;
  } rows[] = {
      /* tier 1: 600 notional, 5x: (600 - 120) / (0.01 x 0.996) */
      {"btc t1 long 5x", 0, LB_ACTION_LONG, "0.01", "60000", "120", 1, "48192.77108434"},
      /* tier 2 (50000 <= n < 600000): (100000 - 10000 - 50) / (2 x 0.995) */
      {"btc t2 long 10x", 0, LB_ACTION_LONG, "2", "50000", "10000", 2, "45201.00502513"},
      /* tier 3: (800000 + 40000 + 950) / (20 x 1.0065) */
      {"btc t3 short 20x", 0, LB_ACTION_SHORT, "20", "40000", "40000", 3, "41775.95628415"},
      /* ETH tier 4: (5000000 + 500000 + 11450) / (2000 x 1.01) */
      {"eth t4 short 10x", 1, LB_ACTION_SHORT, "2000", "2500", "500000", 4, "2728.44059405"},
      /* tier 5: (15000000 - 3000000 - 131450) / (300 x 0.98) */
      {"btc t5 long 5x", 0, LB_ACTION_LONG, "300", "50000", "3000000", 5, "40369.21768708"},
      /* the tier floor is inclusive: 50000 is tier 2, (50000 - 5000 - 50) / 0.995 */
      {"btc floor long 10x", 0, LB_ACTION_LONG, "1", "50000", "5000", 2, "45175.87939699"},
      /* 1x long: the margin covers a fall to zero */
      {"btc 1x long", 0, LB_ACTION_LONG, "0.01", "60000", "600", 1, "0"},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    lb_symbol_rules r;
    lb_bracket_table t;
    if (rows[i].eth) eth(&r, &t);
    else btc(&r, &t);
    const lb_bracket *b = NULL;
    lb_dec lp;
    REQUIRE_OK(risk_liquidation_price_for(rows[i].side, D(rows[i].qty), D(rows[i].entry),
                                          D(rows[i].wallet), &t, &b, &lp));
    if (b->bracket != rows[i].tier || lp != D(rows[i].want)) {
      char got[LB_DEC_STRLEN];
      lb_dec_fmt(lp, got, sizeof got);
      lbt_fail(__FILE__, __LINE__, "%s: tier %d price %s, want tier %d price %s", rows[i].what,
               b->bracket, got, rows[i].tier, rows[i].want);
    }
  }
}

TEST(liquidation_is_rounded_toward_the_entry) {
  /* 480 / 0.00996 = 48192.771084337349...: a long rounds up; the short
   * (600 + 120) / (0.01 x 1.004) = 71713.147410358565... rounds down. */
  lb_dec lp;
  REQUIRE_OK(risk_liquidation_price(LB_ACTION_LONG, D("0.01"), D("60000"), D("120"), D("0.004"),
                                    0, &lp));
  CHECK_EQ(lp, D("48192.77108434"));
  REQUIRE_OK(risk_liquidation_price(LB_ACTION_SHORT, D("0.01"), D("60000"), D("120"), D("0.004"),
                                    0, &lp));
  CHECK_EQ(lp, D("71713.14741035"));
}

TEST(liquidation_rejects_bad_arguments) {
  lb_dec lp;
  CHECK_EQ(risk_liquidation_price(LB_ACTION_HOLD, D("1"), D("1"), 0, 0, 0, &lp), LB_EINVAL);
  CHECK_EQ(risk_liquidation_price(LB_ACTION_LONG, 0, D("1"), 0, 0, 0, &lp), LB_EINVAL);
  CHECK_EQ(risk_liquidation_price(LB_ACTION_LONG, D("1"), D("-1"), 0, 0, 0, &lp), LB_EINVAL);
  CHECK_EQ(risk_liquidation_price(LB_ACTION_LONG, D("1"), D("1"), D("-1"), 0, 0, &lp), LB_EINVAL);
  CHECK_EQ(risk_liquidation_price(LB_ACTION_LONG, D("1"), D("1"), 0, D("1"), 0, &lp), LB_EINVAL);
  lb_bracket_table empty = {.n = 0};
  CHECK_EQ(risk_liquidation_price_for(LB_ACTION_LONG, D("1"), D("1"), 0, &empty, NULL, &lp),
           LB_EINVAL);
  /* far too large to express: reported, never wrapped */
  CHECK_EQ(risk_liquidation_price(LB_ACTION_SHORT, 1, LB_DEC_MAX / 2, LB_DEC_MAX / 2, 0, 0, &lp),
           LB_EOVERFLOW);
}
