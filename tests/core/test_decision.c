/* test_decision.c -- the decision schema: strict JSON, ranges, HOLD on any doubt. */
#include <stdlib.h>

#include "core/decision.h"
#include "unit.h"

static const lb_decision_limits LIM = {.max_leverage = 3, .min_stop = 0.07, .max_stop = 0.08};

static lb_err parse(const char *json, lb_decision *d, lb_errbuf *eb) {
  return lb_decision_from_json(json, strlen(json), &LIM, d, eb);
}

TEST(decision_valid_answer_parses) {
  lb_decision d;
  lb_errbuf eb;
  REQUIRE_OK(parse("{\"action\":\"LONG\",\"confidence\":0.86,\"leverage\":3,"
                   "\"stop_loss_percent\":0.075,\"take_profit_percent\":0.15,"
                   "\"market_regime\":\"trending\",\"reasoning\":\"1h and 4h agree\"}",
                   &d, &eb));
  CHECK_EQ(d.action, LB_ACTION_LONG);
  CHECK_NEAR(d.confidence, 0.86, 0);
  CHECK_EQ(d.leverage, 3);
  CHECK_EQ(d.regime, LB_REGIME_TRENDING);
  CHECK_STREQ(d.reasoning, "1h and 4h agree");
}

static const struct {
  const char *json, *reason;
} bad[] = {
    {"{\"action\":\"BUY\",\"confidence\":0.9,\"leverage\":2,\"stop_loss_percent\":0.07,\"take_profit_percent\":0.1,\"market_regime\":\"trending\",\"reasoning\":\"\"}", "action \"BUY\""},
    {"{\"action\":\"LONG\",\"confidence\":1.2,\"leverage\":2,\"stop_loss_percent\":0.07,\"take_profit_percent\":0.1,\"market_regime\":\"trending\",\"reasoning\":\"\"}", "confidence 1.2 outside 0..1"},
    {"{\"action\":\"LONG\",\"confidence\":\"0.9\",\"leverage\":2,\"stop_loss_percent\":0.07,\"take_profit_percent\":0.1,\"market_regime\":\"trending\",\"reasoning\":\"\"}", "\"confidence\" is not a number"},
    {"{\"action\":\"LONG\",\"confidence\":0.9,\"leverage\":5,\"stop_loss_percent\":0.07,\"take_profit_percent\":0.1,\"market_regime\":\"trending\",\"reasoning\":\"\"}", "leverage 5 outside 1..3"},
    {"{\"action\":\"LONG\",\"confidence\":0.9,\"leverage\":2.5,\"stop_loss_percent\":0.07,\"take_profit_percent\":0.1,\"market_regime\":\"trending\",\"reasoning\":\"\"}", "leverage 2.5 is not an integer"},
    {"{\"action\":\"SHORT\",\"confidence\":0.9,\"leverage\":2,\"stop_loss_percent\":0.2,\"take_profit_percent\":0.1,\"market_regime\":\"trending\",\"reasoning\":\"\"}", "stop_loss_percent 0.2 outside 0.07..0.08"},
    {"{\"action\":\"SHORT\",\"confidence\":0.9,\"leverage\":2,\"stop_loss_percent\":0.07,\"take_profit_percent\":-0.1,\"market_regime\":\"trending\",\"reasoning\":\"\"}", "take_profit_percent -0.1"},
    {"{\"action\":\"SHORT\",\"confidence\":0.9,\"leverage\":2,\"stop_loss_percent\":0.07,\"take_profit_percent\":0.1,\"market_regime\":\"sideways\",\"reasoning\":\"\"}", "market_regime \"sideways\""},
    {"{\"action\":\"SHORT\",\"confidence\":0.9,\"leverage\":2,\"stop_loss_percent\":0.07,\"take_profit_percent\":0.1,\"market_regime\":\"ranging\"}", "\"reasoning\" missing"},
    {"{\"action\":\"SHORT\",\"confidence\":0.9,\"leverage\":2,\"stop_loss_percent\":0.07,\"take_profit_percent\":0.1,\"market_regime\":\"ranging\",\"reasoning\":\"\",\"extra\":1}", "unexpected field \"extra\""},
    {"{\"action\":\"LONG\",\"action\":\"SHORT\"}", "not valid JSON"},
    {"[1,2]", "not an object"},
    {"{\"action\":\"LONG\",\"confidence\":0.9", "not valid JSON"},
};

TEST(decision_bad_answers_become_hold_with_reason) {
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    lb_decision d;
    lb_errbuf eb = {{0}};
    CHECK(parse(bad[i].json, &d, &eb) != LB_OK);
    CHECK_EQ(d.action, LB_ACTION_HOLD);
    CHECK_CONTAINS(eb.msg, bad[i].reason);
    CHECK_CONTAINS(d.reasoning, bad[i].reason);
  }
}

TEST(decision_hold_needs_no_trade_parameters_in_range) {
  lb_decision d;
  lb_errbuf eb;
  CHECK_OK(parse("{\"action\":\"HOLD\",\"confidence\":0.4,\"leverage\":0,\"stop_loss_percent\":0,"
                 "\"take_profit_percent\":0,\"market_regime\":\"volatile\",\"reasoning\":\"chop\"}",
                 &d, &eb));
  CHECK_EQ(d.action, LB_ACTION_HOLD);
}

TEST(decision_round_trips_through_json) {
  lb_decision d = {.action = LB_ACTION_SHORT, .confidence = 0.85, .leverage = 2,
                   .stop_loss_percent = 0.075, .take_profit_percent = 0.15,
                   .regime = LB_REGIME_RANGING};
  snprintf(d.reasoning, sizeof d.reasoning, "rejected at \"resistance\"");
  char *s = lb_decision_to_json(&d);
  REQUIRE(s != NULL);
  lb_decision e;
  lb_errbuf eb;
  REQUIRE_OK(lb_decision_from_json(s, strlen(s), &LIM, &e, &eb));
  CHECK_EQ(e.action, d.action);
  CHECK_NEAR(e.confidence, d.confidence, 0);
  CHECK_NEAR(e.stop_loss_percent, d.stop_loss_percent, 0);
  CHECK_STREQ(e.reasoning, d.reasoning);
  free(s);
}
