/* test_symbol.c -- order filters and maintenance-margin brackets. */
#include "core/symbol.h"
#include "unit.h"

static lb_dec D(const char *s) {
  lb_dec d = 0;
  REQUIRE_OK(lb_dec_parse(s, &d));
  return d;
}

TEST(rules_btcusdt_round_and_check_orders) {
  lb_symbol_rules r;
  lb_rules_binance_btcusdt(&r);
  CHECK_EQ(lb_rules_qty_floor(&r, D("0.0037"), true), D("0.003"));
  CHECK_EQ(lb_rules_price_round(&r, D("61000.06"), LB_ROUND_FLOOR), D("61000"));
  lb_errbuf eb;
  CHECK_OK(lb_rules_check_order(&r, D("61000"), D("0.002"), true, false, &eb));
  CHECK_EQ(lb_rules_check_order(&r, D("61000.05"), D("0.002"), false, false, &eb), LB_EREJECTED);
  CHECK_CONTAINS(eb.msg, "tickSize 0.1");
  CHECK_EQ(lb_rules_check_order(&r, D("61000"), D("0.0025"), true, false, &eb), LB_EREJECTED);
  CHECK_CONTAINS(eb.msg, "stepSize 0.001");
  /* 0.001 BTC at 61000 = 61 USDT < MIN_NOTIONAL 100 */
  CHECK_EQ(lb_rules_check_order(&r, D("61000"), D("0.001"), true, false, &eb), LB_EREJECTED);
  CHECK_CONTAINS(eb.msg, "MIN_NOTIONAL 100");
  /* ...but a reduce-only close of that size is allowed */
  CHECK_OK(lb_rules_check_order(&r, D("61000"), D("0.001"), true, true, &eb));
  CHECK_EQ(lb_rules_check_order(&r, D("61000"), D("121"), true, false, &eb), LB_EREJECTED);
  CHECK_CONTAINS(eb.msg, "MARKET_LOT_SIZE");
  CHECK_EQ(lb_rules_check_order(&r, 0, 0, true, false, &eb), LB_EINVAL);
}

TEST(brackets_find_tier_by_notional) {
  lb_bracket_table t;
  lb_brackets_binance_btcusdt(&t);
  CHECK_EQ(t.n, 12);
  CHECK_EQ(lb_brackets_find(&t, D("1000"))->bracket, 1);
  CHECK_EQ(lb_brackets_find(&t, D("50000"))->bracket, 2); /* floor is inclusive */
  CHECK_EQ(lb_brackets_find(&t, D("-700000"))->bracket, 3);
  CHECK_EQ(lb_brackets_find(&t, D("5000000000"))->bracket, 12);
  CHECK_EQ(lb_brackets_find(&t, D("1000"))->max_leverage, 125);
}

TEST(brackets_shipped_tables_are_consistent) {
  lb_bracket_table t;
  lb_errbuf eb;
  lb_brackets_binance_btcusdt(&t);
  CHECK_OK(lb_brackets_validate(&t, &eb));
  lb_brackets_binance_ethusdt(&t);
  CHECK_OK(lb_brackets_validate(&t, &eb));
  t.tier[3].cum += LB_DEC_SCALE; /* a maintenance amount off by 1 USDT */
  CHECK_EQ(lb_brackets_validate(&t, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "bracket 4");
}
