/* test_answer.c -- finding the decision in a model's reply, and every way it can be wrong. */
#include <stdlib.h>
#include <string.h>

#include "ai/ai_wire.h"
#include "unit.h"

static const lb_decision_limits LIM = {3, 0.07, 0.08};

#define DEC_LONG                                                                            \
  "{\"action\": \"LONG\", \"confidence\": 0.85, \"leverage\": 3, \"stop_loss_percent\": 0.07, " \
  "\"take_profit_percent\": 0.15, \"market_regime\": \"trending\", \"reasoning\": \"EMA stack\"}"

static lb_err parse(const char *text, ai_stop stop, lb_decision *d, lb_errbuf *eb) {
  return ai_answer_parse(text, strlen(text), stop, NULL, &LIM, d, eb);
}

TEST(answer_plain_json_is_accepted) {
  lb_decision d;
  lb_errbuf eb;
  REQUIRE_OK(parse(DEC_LONG, AI_STOP_END, &d, &eb));
  CHECK_EQ(d.action, LB_ACTION_LONG);
  CHECK_NEAR(d.confidence, 0.85, 1e-12);
  CHECK_EQ(d.leverage, 3);
  CHECK_NEAR(d.stop_loss_percent, 0.07, 1e-12);
  CHECK_NEAR(d.take_profit_percent, 0.15, 1e-12);
  CHECK_EQ(d.regime, LB_REGIME_TRENDING);
  CHECK_STREQ(d.reasoning, "EMA stack");
}

TEST(answer_fenced_json_is_accepted) {
  lb_decision d;
  lb_errbuf eb;
  REQUIRE_OK(parse("```json\n" DEC_LONG "\n```", AI_STOP_END, &d, &eb));
  CHECK_EQ(d.action, LB_ACTION_LONG);
  REQUIRE_OK(parse("Here is my decision:\n```\n" DEC_LONG "\n```\nGood luck.", AI_STOP_END, &d, &eb));
  CHECK_EQ(d.leverage, 3);
}

TEST(answer_json_surrounded_by_prose_is_accepted) {
  lb_decision d;
  lb_errbuf eb;
  /* Braces in the prose ({not json}, a lone "{") must not confuse the search. */
  REQUIRE_OK(parse("After weighing {not json} and the set {a, b}, I answer " DEC_LONG
                   " -- and { that's all.",
                   AI_STOP_END, &d, &eb));
  CHECK_EQ(d.action, LB_ACTION_LONG);
  CHECK_STREQ(d.reasoning, "EMA stack");
  /* Packaging around the one object is prose too. */
  REQUIRE_OK(parse("[" DEC_LONG "]", AI_STOP_END, &d, &eb));
  CHECK_EQ(d.action, LB_ACTION_LONG);
}

TEST(answer_braces_inside_reasoning_strings_are_not_object_ends) {
  lb_decision d;
  lb_errbuf eb;
  const char *t =
      "{\"action\": \"HOLD\", \"confidence\": 0.6, \"leverage\": 1, \"stop_loss_percent\": 0.07, "
      "\"take_profit_percent\": 0.14, \"market_regime\": \"ranging\", \"reasoning\": \"mid "
      "range } between {levels} \\\" quoted\"}";
  REQUIRE_OK(parse(t, AI_STOP_END, &d, &eb));
  CHECK_EQ(d.action, LB_ACTION_HOLD);
  CHECK_CONTAINS(d.reasoning, "} between {levels}");
}

TEST(answer_repeated_identical_object_is_accepted_but_two_decisions_are_not) {
  lb_decision d;
  lb_errbuf eb;
  CHECK_OK(parse(DEC_LONG "\n" DEC_LONG, AI_STOP_END, &d, &eb));
  const char *two = DEC_LONG
      " or maybe {\"action\": \"SHORT\", \"confidence\": 0.8, \"leverage\": 2, "
      "\"stop_loss_percent\": 0.07, \"take_profit_percent\": 0.1, \"market_regime\": "
      "\"trending\", \"reasoning\": \"x\"}";
  CHECK_EQ(parse(two, AI_STOP_END, &d, &eb), LB_EPARSE);
  CHECK_EQ(d.action, LB_ACTION_HOLD);
  CHECK_CONTAINS(eb.msg, "more than one decision object");
  CHECK_CONTAINS(d.reasoning, "more than one decision object");
}

typedef struct {
  const char *name;
  const char *text;
  ai_stop stop;
  lb_err rc;
  const char *reason;
} bad_case;

/* Each malformed or out-of-range answer is HOLD with its own reason. */
static const bad_case bad[] = {
    {"empty", "", AI_STOP_END, LB_EPARSE, "empty answer"},
    {"prose only", "I would wait for a better setup.", AI_STOP_END, LB_EPARSE,
     "no JSON object in the answer"},
    {"cut off", "```json\n{\"action\": \"LONG\", \"confidence\": 0.8", AI_STOP_END, LB_EPARSE,
     "unterminated JSON object"},
    {"max_tokens", DEC_LONG, AI_STOP_LENGTH, LB_EPARSE, "truncated at the token limit"},
    {"refusal", "I can't help with trading decisions.", AI_STOP_REFUSAL, LB_EREJECTED,
     "model refused: I can't help"},
    {"content filter", "", AI_STOP_FILTER, LB_EREJECTED, "content filter"},
    {"tool use", DEC_LONG, AI_STOP_OTHER, LB_EPARSE, "unexpected stop reason"},
    {"leverage too high",
     "{\"action\": \"LONG\", \"confidence\": 0.85, \"leverage\": 7, \"stop_loss_percent\": 0.07, "
     "\"take_profit_percent\": 0.15, \"market_regime\": \"trending\", \"reasoning\": \"r\"}",
     AI_STOP_END, LB_ERANGE, "leverage 7 outside 1..3"},
    {"stop too wide",
     "{\"action\": \"SHORT\", \"confidence\": 0.85, \"leverage\": 2, \"stop_loss_percent\": 0.2, "
     "\"take_profit_percent\": 0.15, \"market_regime\": \"trending\", \"reasoning\": \"r\"}",
     AI_STOP_END, LB_ERANGE, "stop_loss_percent 0.2 outside 0.07..0.08"},
    {"confidence above 1",
     "{\"action\": \"LONG\", \"confidence\": 1.3, \"leverage\": 2, \"stop_loss_percent\": 0.07, "
     "\"take_profit_percent\": 0.15, \"market_regime\": \"trending\", \"reasoning\": \"r\"}",
     AI_STOP_END, LB_ERANGE, "confidence 1.3 outside 0..1"},
    {"percent instead of fraction",
     "{\"action\": \"LONG\", \"confidence\": 85, \"leverage\": 2, \"stop_loss_percent\": 7, "
     "\"take_profit_percent\": 15, \"market_regime\": \"trending\", \"reasoning\": \"r\"}",
     AI_STOP_END, LB_ERANGE, "confidence 85 outside 0..1"},
    {"unknown action",
     "{\"action\": \"BUY\", \"confidence\": 0.85, \"leverage\": 2, \"stop_loss_percent\": 0.07, "
     "\"take_profit_percent\": 0.15, \"market_regime\": \"trending\", \"reasoning\": \"r\"}",
     AI_STOP_END, LB_ERANGE, "action \"BUY\" is not LONG, SHORT or HOLD"},
    {"unknown regime",
     "{\"action\": \"LONG\", \"confidence\": 0.85, \"leverage\": 2, \"stop_loss_percent\": 0.07, "
     "\"take_profit_percent\": 0.15, \"market_regime\": \"sideways\", \"reasoning\": \"r\"}",
     AI_STOP_END, LB_ERANGE, "market_regime \"sideways\""},
    {"leverage as text",
     "{\"action\": \"LONG\", \"confidence\": 0.85, \"leverage\": \"3\", \"stop_loss_percent\": "
     "0.07, \"take_profit_percent\": 0.15, \"market_regime\": \"trending\", \"reasoning\": \"r\"}",
     AI_STOP_END, LB_EPARSE, "field \"leverage\" is not a number"},
    {"fractional leverage",
     "{\"action\": \"LONG\", \"confidence\": 0.85, \"leverage\": 2.5, \"stop_loss_percent\": "
     "0.07, \"take_profit_percent\": 0.15, \"market_regime\": \"trending\", \"reasoning\": \"r\"}",
     AI_STOP_END, LB_ERANGE, "leverage 2.5 is not an integer"},
    {"missing field",
     "{\"action\": \"LONG\", \"confidence\": 0.85, \"leverage\": 2, \"stop_loss_percent\": 0.07, "
     "\"market_regime\": \"trending\", \"reasoning\": \"r\"}",
     AI_STOP_END, LB_EPARSE, "field \"take_profit_percent\" missing"},
    {"extra field",
     "{\"action\": \"LONG\", \"confidence\": 0.85, \"leverage\": 2, \"stop_loss_percent\": 0.07, "
     "\"take_profit_percent\": 0.15, \"market_regime\": \"trending\", \"reasoning\": \"r\", "
     "\"position_size\": 1000}",
     AI_STOP_END, LB_EPARSE, "unexpected field \"position_size\""},
    {"zero take-profit",
     "{\"action\": \"LONG\", \"confidence\": 0.85, \"leverage\": 2, \"stop_loss_percent\": 0.07, "
     "\"take_profit_percent\": 0, \"market_regime\": \"trending\", \"reasoning\": \"r\"}",
     AI_STOP_END, LB_ERANGE, "take_profit_percent 0 must be > 0"},
    {"wrapped in another object",
     "{\"decision\": " DEC_LONG "}", AI_STOP_END, LB_EPARSE, "unexpected field \"decision\""},
};

TEST(answer_every_malformed_or_out_of_range_case_is_hold_with_its_reason) {
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    lb_decision d;
    lb_errbuf eb;
    memset(&eb, 0, sizeof eb);
    lb_err rc = parse(bad[i].text, bad[i].stop, &d, &eb);
    if (rc != bad[i].rc || !strstr(eb.msg, bad[i].reason))
      printf("  case \"%s\": rc %d, reason \"%s\"\n", bad[i].name, rc, eb.msg);
    CHECK_EQ(rc, bad[i].rc);
    CHECK_EQ(d.action, LB_ACTION_HOLD);
    CHECK_CONTAINS(eb.msg, bad[i].reason);
    CHECK_CONTAINS(d.reasoning, bad[i].reason); /* the recorded reason */
  }
}

TEST(answer_openai_refusal_field_refuses_even_with_text) {
  lb_decision d;
  lb_errbuf eb;
  CHECK_EQ(ai_answer_parse(DEC_LONG, strlen(DEC_LONG), AI_STOP_END, "I won't do that", &LIM, &d,
                           &eb),
           LB_EREJECTED);
  CHECK_EQ(d.action, LB_ACTION_HOLD);
  CHECK_CONTAINS(d.reasoning, "model refused: I won't do that");
}

TEST(answer_parser_reads_only_the_given_length) {
  /* The text is not NUL-terminated where the reply ends. */
  char buf[512];
  size_t n = strlen(DEC_LONG);
  memcpy(buf, DEC_LONG, n);
  memcpy(buf + n, "{\"action\":\"SHORT\"}", 19);
  lb_decision d;
  lb_errbuf eb;
  REQUIRE_OK(ai_answer_parse(buf, n, AI_STOP_END, NULL, &LIM, &d, &eb));
  CHECK_EQ(d.action, LB_ACTION_LONG);
  size_t off, len;
  CHECK_EQ(ai_answer_find_json(buf, n - 1, &off, &len, &eb), LB_EPARSE); /* cut before '}' */
  CHECK_CONTAINS(eb.msg, "unterminated");
}

TEST(answer_oversized_reply_is_refused) {
  size_t n = AI_ANSWER_MAX + 10;
  char *big = malloc(n);
  REQUIRE(big != NULL);
  memset(big, ' ', n);
  memcpy(big, DEC_LONG, strlen(DEC_LONG));
  lb_decision d;
  lb_errbuf eb;
  CHECK_EQ(ai_answer_parse(big, n, AI_STOP_END, NULL, &LIM, &d, &eb), LB_EPARSE);
  CHECK_CONTAINS(eb.msg, "exceeds");
  free(big);
}

TEST(answer_hold_passes_without_trade_fields_in_range) {
  /* A HOLD's leverage and stop are not checked (DESIGN.md: nothing to trade). */
  lb_decision d;
  lb_errbuf eb;
  REQUIRE_OK(parse("{\"action\": \"HOLD\", \"confidence\": 0.4, \"leverage\": 1, "
                   "\"stop_loss_percent\": 0.5, \"take_profit_percent\": 0.1, "
                   "\"market_regime\": \"volatile\", \"reasoning\": \"volatile\"}",
                   AI_STOP_END, &d, &eb));
  CHECK_EQ(d.action, LB_ACTION_HOLD);
  CHECK_EQ(d.regime, LB_REGIME_VOLATILE);
}
