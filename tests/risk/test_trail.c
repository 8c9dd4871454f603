/* test_trail.c -- the trailing stop: activation at +N R, ATR and percent
 * distances, ticks, and the ratchet that never loosens. */
#include "fixtures.h"

static risk_params trail_params(risk_trail_mode mode) {
  risk_params p;
  risk_params_default(&p);
  p.trail_enabled = true;
  p.trail_activation_r = 1.0;
  p.trail_mode = mode;
  p.trail_percent = 0.03;
  p.trail_atr_multiple = 2.0;
  return p;
}

TEST(trail_long_percent_activates_at_one_r_and_tightens) {
  risk_params p = trail_params(RISK_TRAIL_PERCENT);
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  risk_trail tr;
  lb_errbuf eb;
  REQUIRE_OK(risk_trail_init(&tr, LB_ACTION_LONG, D("60000"), D("55800"), &eb)); /* R = 4200 */
  risk_stop_intent in;
  CHECK(!risk_trail_update(&tr, &p, &r, D("64199.9"), NAN, &in)); /* 0.99998 R */
  CHECK(!tr.active);
  /* +1 R: best 64200, 3 % = 1926 -> 62274 */
  REQUIRE(risk_trail_update(&tr, &p, &r, D("64200"), NAN, &in));
  CHECK(tr.active);
  CHECK_EQ(in.from, D("55800"));
  CHECK_EQ(in.to, D("62274"));
  CHECK_EQ(in.price, D("64200"));
  CHECK_NEAR(in.r_multiple, 1.0, 1e-12);
  CHECK_EQ(tr.stop, D("62274"));
  /* a pullback changes nothing */
  CHECK(!risk_trail_update(&tr, &p, &r, D("63000"), NAN, &in));
  CHECK_EQ(tr.stop, D("62274"));
  /* a new high: 66000 - 1980 = 64020 */
  REQUIRE(risk_trail_update(&tr, &p, &r, D("66000"), NAN, &in));
  CHECK_EQ(in.from, D("62274"));
  CHECK_EQ(in.to, D("64020"));
  /* 3 % of 66000.33 is 1980.0099 -> 64020.3201, rounded down to the tick: 64020.3 */
  REQUIRE(risk_trail_update(&tr, &p, &r, D("66000.33"), NAN, &in));
  CHECK_EQ(in.to, D("64020.3"));
}

TEST(trail_short_atr_follows_the_low) {
  risk_params p = trail_params(RISK_TRAIL_ATR);
  lb_symbol_rules r;
  lb_bracket_table t;
  eth(&r, &t);
  risk_trail tr;
  lb_errbuf eb;
  REQUIRE_OK(risk_trail_init(&tr, LB_ACTION_SHORT, D("3000"), D("3150"), &eb)); /* R = 150 */
  risk_stop_intent in;
  CHECK(!risk_trail_update(&tr, &p, &r, D("2860"), 20, &in)); /* 0.93 R */
  /* 1 R at 2850; ATR 20 -> 2 x 20 = 40 -> 2890 */
  REQUIRE(risk_trail_update(&tr, &p, &r, D("2850"), 20, &in));
  CHECK_EQ(in.to, D("2890"));
  /* no ATR: no move, but the low is still tracked */
  CHECK(!risk_trail_update(&tr, &p, &r, D("2800"), NAN, &in));
  CHECK_EQ(tr.best, D("2800"));
  /* ATR 12.345 -> 24.69 -> 2824.69, rounded up (away from the price) */
  REQUIRE(risk_trail_update(&tr, &p, &r, D("2801"), 12.345, &in));
  CHECK_EQ(in.to, D("2824.69"));
  /* a wider ATR would loosen it: refused */
  CHECK(!risk_trail_update(&tr, &p, &r, D("2805"), 30, &in));
  CHECK_EQ(tr.stop, D("2824.69"));
}

TEST(trail_never_moves_the_stop_through_the_price) {
  /* After a retrace, a shrinking ATR would put the long's stop above the
   * price: the exchange would trigger it at once, so it is not moved. */
  risk_params p = trail_params(RISK_TRAIL_ATR);
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  risk_trail tr;
  lb_errbuf eb;
  REQUIRE_OK(risk_trail_init(&tr, LB_ACTION_LONG, D("60000"), D("55800"), &eb));
  risk_stop_intent in;
  REQUIRE(risk_trail_update(&tr, &p, &r, D("66000"), 1000, &in)); /* 64000 */
  CHECK(!risk_trail_update(&tr, &p, &r, D("65000"), 100, &in));   /* 65800 > 65000 */
  CHECK_EQ(tr.stop, D("64000"));
  REQUIRE(risk_trail_update(&tr, &p, &r, D("65900"), 100, &in)); /* 65800 < 65900 */
  CHECK_EQ(in.to, D("65800"));
}

TEST(trail_disabled_never_moves) {
  risk_params p = trail_params(RISK_TRAIL_PERCENT);
  p.trail_enabled = false;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  risk_trail tr;
  lb_errbuf eb;
  REQUIRE_OK(risk_trail_init(&tr, LB_ACTION_LONG, D("60000"), D("55800"), &eb));
  risk_stop_intent in;
  CHECK(!risk_trail_update(&tr, &p, &r, D("90000"), 100, &in));
  CHECK_EQ(tr.stop, D("55800"));
}

TEST(trail_activation_multiple_is_configurable) {
  risk_params p = trail_params(RISK_TRAIL_PERCENT);
  p.trail_activation_r = 2.0;
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  risk_trail tr;
  lb_errbuf eb;
  REQUIRE_OK(risk_trail_init(&tr, LB_ACTION_LONG, D("60000"), D("55800"), &eb));
  risk_stop_intent in;
  CHECK(!risk_trail_update(&tr, &p, &r, D("68399.9"), NAN, &in));
  REQUIRE(risk_trail_update(&tr, &p, &r, D("68400"), NAN, &in)); /* +2 R */
  CHECK_NEAR(in.r_multiple, 2.0, 1e-12);
}

TEST(trail_init_rejects_a_stop_on_the_wrong_side) {
  risk_trail tr;
  lb_errbuf eb;
  CHECK_EQ(risk_trail_init(&tr, LB_ACTION_LONG, D("60000"), D("61000"), &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "LONG entry 60000 with stop 61000");
  CHECK_EQ(risk_trail_init(&tr, LB_ACTION_SHORT, D("60000"), D("59000"), &eb), LB_EINVAL);
  CHECK_EQ(risk_trail_init(&tr, LB_ACTION_HOLD, D("60000"), D("59000"), &eb), LB_EINVAL);
  CHECK_EQ(risk_trail_init(&tr, LB_ACTION_LONG, D("60000"), 0, &eb), LB_EINVAL);
}
