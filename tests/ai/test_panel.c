/* test_panel.c -- the AI panel against stub providers on 127.0.0.1, over the real wire formats.
 *
 * Retries are checked on a recording clock (back-off waits are recorded,
 * never slept); per-attempt timeouts are real (they bound a real socket),
 * so the timeout test uses a short one.
 */
#include <jansson.h>
#include <string.h>

#include "aitest.h"
#include "core/log.h"
#include "unit.h"

#define NOW INT64_C(1700000000000)

typedef struct {
  ai_config cfg;
  aitest_clock clk;
  lb_clock clock;
  aitest_events ev;
  strategy_panel *panel;
  ta_snapshot snap;
  strategy_context ctx;
  strategy_vote votes[STRATEGY_MAX_VOTERS];
  int n;
} fixture;

static void fx_init(fixture *f) {
  memset(f, 0, sizeof *f);
  aitest_config(&f->cfg);
  f->clock = aitest_clock_bind(&f->clk, NOW);
  aitest_snapshot(&f->snap, 42000);
  aitest_context(&f->ctx, NOW);
}

static void fx_open(fixture *f, store *db) {
  ai_deps deps = {db, &f->clock, NULL, aitest_on_event, &f->ev};
  lb_errbuf eb;
  lb_err rc = ai_panel_new(&f->cfg, &deps, &f->panel, &eb);
  if (rc) printf("    ai_panel_new: %s\n", eb.msg);
  REQUIRE_OK(rc);
}

static void fx_ask(fixture *f) {
  f->n = f->panel->ask(f->panel, &f->snap, &f->ctx, f->votes, STRATEGY_MAX_VOTERS);
}

static void fx_close(fixture *f) {
  if (f->panel) f->panel->destroy(f->panel);
  f->panel = NULL;
}

static json_t *request_json(stub_llm *s, int i, stub_request *rq) {
  if (!stub_request_get(s, i, rq)) return NULL;
  json_error_t e;
  return json_loads(rq->body, 0, &e);
}

TEST(panel_anthropic_answer_is_a_vote_and_the_request_is_the_messages_api) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  stub_push(s, &(stub_reply){.text = stub_decision("LONG", 0.86, 3, 0.075, 0.16, "trending"),
                             .tokens_in = 2095, .tokens_out = 503});
  fixture f;
  fx_init(&f);
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, s, "sk-ant-test-key-0001");
  fx_open(&f, NULL);
  fx_ask(&f);
  REQUIRE_EQ(f.n, 1);
  strategy_vote *v = &f.votes[0];
  CHECK(v->ok);
  CHECK_STREQ(v->analyst, "anthropic/anthropic-model");
  CHECK_EQ(v->decision.action, LB_ACTION_LONG);
  CHECK_NEAR(v->decision.confidence, 0.86, 1e-12);
  CHECK_EQ(v->decision.leverage, 3);
  CHECK_NEAR(v->decision.stop_loss_percent, 0.075, 1e-12);
  CHECK_EQ(v->attempts, 1);
  CHECK(!v->cached);

  REQUIRE_EQ(stub_requests(s), 1);
  stub_request rq;
  json_t *o = request_json(s, 0, &rq);
  REQUIRE(o != NULL);
  CHECK_STREQ(rq.path, "/v1/messages");
  CHECK_STREQ(rq.api_key, "sk-ant-test-key-0001");
  CHECK_STREQ(rq.version, "2023-06-01");
  CHECK_STREQ(rq.auth, "");
  CHECK_STREQ(json_string_value(json_object_get(o, "model")), "anthropic-model");
  CHECK_CONTAINS(json_string_value(json_object_get(o, "system")), "CORE PRINCIPLES");
  const char *user =
      json_string_value(json_object_get(json_array_get(json_object_get(o, "messages"), 0), "content"));
  CHECK_CONTAINS(user, "BTCUSDT");
  CHECK_CONTAINS(user, "\"max_leverage\":3");
  CHECK_CONTAINS(user, "capital 100 USDT");
  CHECK_CONTAINS(user, "Funding rate: 0.00010");
  char *snap_json = ta_snapshot_to_json(&f.snap);
  CHECK_CONTAINS(user, snap_json); /* the snapshot travels verbatim */
  free(snap_json);
  json_decref(o);
  stub_request_free(&rq);

  ai_stats st;
  ai_panel_stats(f.panel, &st);
  CHECK_EQ(st.llm_calls, 1);
  CHECK_EQ(st.http_requests, 1);
  CHECK_EQ(st.tokens_in, 2095);
  CHECK_EQ(st.tokens_out, 503);
  lb_dec want;
  REQUIRE_OK(lb_dec_parse("0.01383", &want)); /* 2095 x 3 + 503 x 15 per million */
  CHECK_EQ(st.cost_usd, want);
  fx_close(&f);
  stub_stop(s);
}

TEST(panel_openai_compatible_answer_is_a_vote_and_the_request_is_chat_completions) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  stub_push(s, &(stub_reply){.text = stub_decision("SHORT", 0.81, 2, 0.07, 0.12, "ranging")});
  fixture f;
  fx_init(&f);
  aitest_add_provider(&f.cfg, "openai", AI_WIRE_OPENAI, s, "sk-openai-test-0002");
  fx_open(&f, NULL);
  fx_ask(&f);
  REQUIRE_EQ(f.n, 1);
  CHECK(f.votes[0].ok);
  CHECK_EQ(f.votes[0].decision.action, LB_ACTION_SHORT);
  CHECK_EQ(f.votes[0].decision.regime, LB_REGIME_RANGING);
  stub_request rq;
  json_t *o = request_json(s, 0, &rq);
  REQUIRE(o != NULL);
  CHECK_STREQ(rq.path, "/v1/chat/completions");
  CHECK_STREQ(rq.auth, "Bearer sk-openai-test-0002");
  CHECK_STREQ(rq.api_key, "");
  CHECK_STREQ(json_string_value(json_object_get(json_object_get(o, "response_format"), "type")),
              "json_schema");
  json_t *msgs = json_object_get(o, "messages");
  CHECK_STREQ(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
  CHECK_CONTAINS(json_string_value(json_object_get(json_array_get(msgs, 0), "content")),
                 "CONFIDENCE CALIBRATION");
  json_decref(o);
  stub_request_free(&rq);
  fx_close(&f);
  stub_stop(s);
}

TEST(panel_fenced_and_prose_wrapped_answers_are_votes) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  char fenced[700], prose[700];
  snprintf(fenced, sizeof fenced, "```json\n%s\n```",
           stub_decision("LONG", 0.9, 2, 0.07, 0.2, "trending"));
  snprintf(prose, sizeof prose, "Based on the confluence {1h, 4h} I decide:\n%s\nTrade safely.",
           stub_decision("LONG", 0.8, 2, 0.07, 0.2, "trending"));
  stub_push(s, &(stub_reply){.text = fenced});
  stub_push(s, &(stub_reply){.text = prose});
  fixture f;
  fx_init(&f);
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, s, "k1-abcdefgh");
  aitest_add_provider(&f.cfg, "openai", AI_WIRE_OPENAI, s, "k2-abcdefgh");
  fx_open(&f, NULL);
  fx_ask(&f);
  REQUIRE_EQ(f.n, 2);
  CHECK(f.votes[0].ok);
  CHECK(f.votes[1].ok);
  CHECK_EQ(f.votes[0].decision.action, LB_ACTION_LONG);
  CHECK_EQ(f.votes[1].decision.action, LB_ACTION_LONG);
  fx_close(&f);
  stub_stop(s);
}

typedef struct {
  const char *name;
  stub_reply reply;
  ai_wire wire;
  const char *reason;
} bad_reply;

TEST(panel_malformed_truncated_refused_and_out_of_range_answers_are_hold_with_reason) {
  const bad_reply cases[] = {
      {"leverage 5 > MAX_LEVERAGE 3",
       {.text = "{\"action\": \"LONG\", \"confidence\": 0.9, \"leverage\": 5, \"stop_loss_percent\": "
                "0.07, \"take_profit_percent\": 0.2, \"market_regime\": \"trending\", "
                "\"reasoning\": \"x\"}"},
       AI_WIRE_ANTHROPIC, "leverage 5 outside 1..3"},
      {"not JSON", {.text = "I would go long here, strongly."}, AI_WIRE_OPENAI,
       "no JSON object in the answer"},
      {"max_tokens", {.text = "{\"action\": \"LONG\", \"confid", .stop = "max_tokens"},
       AI_WIRE_ANTHROPIC, "truncated at the token limit"},
      {"length", {.text = "{\"action\": \"LONG\", \"confid", .stop = "length"}, AI_WIRE_OPENAI,
       "truncated at the token limit"},
      {"anthropic refusal", {.text = "I can't provide trading advice.", .stop = "refusal"},
       AI_WIRE_ANTHROPIC, "model refused: I can't provide trading advice."},
      {"openai refusal", {.refusal = "I'm sorry, I cannot help."}, AI_WIRE_OPENAI,
       "model refused: I'm sorry, I cannot help."},
      {"content filter", {.text = "", .stop = "content_filter"}, AI_WIRE_OPENAI, "content filter"},
      {"missing field",
       {.text = "{\"action\": \"LONG\", \"confidence\": 0.9, \"leverage\": 2, \"market_regime\": "
                "\"trending\", \"reasoning\": \"x\"}"},
       AI_WIRE_OPENAI, "field \"stop_loss_percent\" missing"},
      {"confidence out of range", {.text = stub_decision("SHORT", 1.7, 2, 0.07, 0.1, "ranging")},
       AI_WIRE_ANTHROPIC, "confidence 1.7 outside 0..1"},
      {"stop out of range", {.text = stub_decision("SHORT", 0.9, 2, 0.03, 0.1, "ranging")},
       AI_WIRE_OPENAI, "stop_loss_percent 0.03 outside 0.07..0.08"},
      {"200 with garbage body", {.body = "<html>gateway</html>"}, AI_WIRE_OPENAI,
       "bad reply: reply body is not a JSON object"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    stub_llm *s = stub_start();
    REQUIRE(s != NULL);
    stub_push(s, &cases[i].reply);
    fixture f;
    fx_init(&f);
    aitest_add_provider(&f.cfg, cases[i].wire == AI_WIRE_ANTHROPIC ? "anthropic" : "openai",
                        cases[i].wire, s, "key-abcdefgh");
    fx_open(&f, NULL);
    fx_ask(&f);
    REQUIRE_EQ(f.n, 1);
    strategy_vote *v = &f.votes[0];
    if (v->ok || !strstr(v->error, cases[i].reason))
      printf("  case \"%s\": ok=%d error=\"%s\"\n", cases[i].name, v->ok, v->error);
    CHECK(!v->ok);
    CHECK_EQ(v->decision.action, LB_ACTION_HOLD);
    CHECK_CONTAINS(v->error, cases[i].reason);
    CHECK_CONTAINS(v->decision.reasoning, cases[i].reason);
    CHECK_EQ(v->attempts, 1); /* a bad answer is not retried: it would cost again */
    CHECK_EQ(stub_requests(s), 1);
    fx_close(&f);
    stub_stop(s);
  }
}

TEST(panel_timeout_is_retried_three_times_with_exponential_backoff) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  stub_set_default(s, &(stub_reply){.delay_ms = 3000, .text = stub_decision("LONG", 0.9, 2, 0.07,
                                                                            0.2, "trending")});
  fixture f;
  fx_init(&f);
  f.cfg.timeout_ms = 250;
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, s, "key-abcdefgh");
  fx_open(&f, NULL);
  fx_ask(&f);
  strategy_vote *v = &f.votes[0];
  CHECK(!v->ok);
  CHECK_EQ(v->decision.action, LB_ACTION_HOLD);
  CHECK_CONTAINS(v->error, "timeout after 250 ms after 3 attempts");
  CHECK_EQ(v->attempts, 3);
  CHECK_EQ(stub_requests(s), 3);
  REQUIRE_EQ(f.clk.n_sleeps, 2);
  CHECK_EQ(f.clk.sleeps[0], 2000); /* 2^1 s */
  CHECK_EQ(f.clk.sleeps[1], 4000); /* 2^2 s */
  /* Back-off waits plus three attempts of about the timeout each (curl's
   * timer may fire a millisecond early). */
  CHECK(v->latency_ms >= 6000 + 3 * 200);
  fx_close(&f);
  stub_stop(s);
}

TEST(panel_429_waits_the_retry_after_then_succeeds) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  stub_push(s, &(stub_reply){.status = 429, .retry_after = "7",
                             .body = "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
                                     "\"message\":\"slow down\"}}"});
  stub_push(s, &(stub_reply){.text = stub_decision("LONG", 0.9, 2, 0.07, 0.2, "trending")});
  fixture f;
  fx_init(&f);
  f.cfg.jitter = 0.25; /* retry-after is exact: no jitter on top */
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, s, "key-abcdefgh");
  fx_open(&f, NULL);
  fx_ask(&f);
  CHECK(f.votes[0].ok);
  CHECK_EQ(f.votes[0].attempts, 2);
  CHECK_EQ(stub_requests(s), 2);
  REQUIRE_EQ(f.clk.n_sleeps, 1);
  CHECK_EQ(f.clk.sleeps[0], 7000);
  fx_close(&f);
  stub_stop(s);
}

TEST(panel_openai_retry_after_ms_is_honoured) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  stub_push(s, &(stub_reply){.status = 429, .retry_after_ms = "1500",
                             .body = "{\"error\":{\"message\":\"Rate limit\",\"type\":\"requests\","
                                     "\"param\":null,\"code\":\"rate_limit_exceeded\"}}"});
  stub_push(s, &(stub_reply){.text = stub_decision("HOLD", 0.5, 1, 0.07, 0.14, "ranging")});
  fixture f;
  fx_init(&f);
  aitest_add_provider(&f.cfg, "openai", AI_WIRE_OPENAI, s, "key-abcdefgh");
  fx_open(&f, NULL);
  fx_ask(&f);
  CHECK(f.votes[0].ok);
  CHECK_EQ(f.votes[0].attempts, 2);
  REQUIRE_EQ(f.clk.n_sleeps, 1);
  CHECK_EQ(f.clk.sleeps[0], 1500);
  fx_close(&f);
  stub_stop(s);
}

TEST(panel_529_overloaded_backs_off_with_jitter_then_succeeds) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  stub_push(s, &(stub_reply){.status = 529, .body = "{\"type\":\"error\",\"error\":{\"type\":"
                                                    "\"overloaded_error\",\"message\":\"Overloaded\"}}"});
  stub_push(s, &(stub_reply){.text = stub_decision("SHORT", 0.85, 2, 0.07, 0.2, "trending")});
  fixture f;
  fx_init(&f);
  f.cfg.jitter = 0.25;
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, s, "key-abcdefgh");
  fx_open(&f, NULL);
  fx_ask(&f);
  CHECK(f.votes[0].ok);
  CHECK_EQ(f.votes[0].attempts, 2);
  REQUIRE_EQ(f.clk.n_sleeps, 1);
  CHECK(f.clk.sleeps[0] >= 2000 && f.clk.sleeps[0] < 2500); /* 2 s + up to 25 % */
  fx_close(&f);
  stub_stop(s);
}

TEST(panel_500_then_success_counts_two_attempts_and_one_wait) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  stub_push(s, &(stub_reply){.status = 500, .body = "{\"error\":{\"message\":\"oops\",\"type\":"
                                                    "\"server_error\",\"param\":null,\"code\":null}}"});
  stub_push(s, &(stub_reply){.status = 500, .body = "{\"error\":{\"message\":\"oops\",\"type\":"
                                                    "\"server_error\",\"param\":null,\"code\":null}}"});
  stub_push(s, &(stub_reply){.text = stub_decision("LONG", 0.9, 2, 0.07, 0.2, "trending")});
  fixture f;
  fx_init(&f);
  aitest_add_provider(&f.cfg, "openai", AI_WIRE_OPENAI, s, "key-abcdefgh");
  fx_open(&f, NULL);
  fx_ask(&f);
  CHECK(f.votes[0].ok);
  CHECK_EQ(f.votes[0].attempts, 3);
  CHECK_EQ(stub_requests(s), 3);
  REQUIRE_EQ(f.clk.n_sleeps, 2);
  CHECK_EQ(f.clk.sleeps[0], 2000);
  CHECK_EQ(f.clk.sleeps[1], 4000);
  ai_stats st;
  ai_panel_stats(f.panel, &st);
  CHECK_EQ(st.http_requests, 3);
  CHECK_EQ(st.llm_calls, 1);
  fx_close(&f);
  stub_stop(s);
}

TEST(panel_401_is_not_retried) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  stub_set_default(s, &(stub_reply){.status = 401,
                                    .body = "{\"type\":\"error\",\"error\":{\"type\":"
                                            "\"authentication_error\",\"message\":\"invalid "
                                            "x-api-key\"}}"});
  fixture f;
  fx_init(&f);
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, s, "key-abcdefgh");
  fx_open(&f, NULL);
  fx_ask(&f);
  CHECK(!f.votes[0].ok);
  CHECK_CONTAINS(f.votes[0].error, "HTTP 401 authentication_error (not retried)");
  CHECK_EQ(f.votes[0].attempts, 1);
  CHECK_EQ(stub_requests(s), 1);
  CHECK_EQ(f.clk.n_sleeps, 0);
  fx_close(&f);
  stub_stop(s);
}

TEST(panel_spend_limit_429_is_not_retried_on_either_wire) {
  const struct {
    ai_wire wire;
    const char *body, *why;
  } cases[] = {
      {AI_WIRE_OPENAI,
       "{\"error\":{\"message\":\"You exceeded your current quota\",\"type\":\"insufficient_quota\","
       "\"param\":null,\"code\":\"insufficient_quota\"}}",
       "spend limit reached (insufficient_quota)"},
      {AI_WIRE_ANTHROPIC,
       "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":\"spend limit\","
       "\"details\":{\"error_code\":\"enforced_spend_limit_reached\"}}}",
       "spend limit reached (enforced_spend_limit_reached)"},
  };
  for (int i = 0; i < 2; i++) {
    stub_llm *s = stub_start();
    REQUIRE(s != NULL);
    stub_set_default(s, &(stub_reply){.status = 429, .body = cases[i].body});
    fixture f;
    fx_init(&f);
    aitest_add_provider(&f.cfg, "p", cases[i].wire, s, "key-abcdefgh");
    fx_open(&f, NULL);
    fx_ask(&f);
    CHECK(!f.votes[0].ok);
    CHECK_CONTAINS(f.votes[0].error, cases[i].why);
    CHECK_EQ(f.votes[0].attempts, 1);
    CHECK_EQ(stub_requests(s), 1);
    CHECK_EQ(f.clk.n_sleeps, 0);
    fx_close(&f);
    stub_stop(s);
  }
}

TEST(panel_retry_after_longer_than_the_limit_fails_at_once) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  stub_set_default(s, &(stub_reply){.status = 429, .retry_after = "3600",
                                    .body = "{\"type\":\"error\",\"error\":{\"type\":"
                                            "\"rate_limit_error\"}}"});
  fixture f;
  fx_init(&f);
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, s, "key-abcdefgh");
  fx_open(&f, NULL);
  fx_ask(&f);
  CHECK(!f.votes[0].ok);
  CHECK_CONTAINS(f.votes[0].error, "retry-after 3600 s exceeds the 60 s we wait");
  CHECK_EQ(f.votes[0].attempts, 1);
  CHECK_EQ(f.clk.n_sleeps, 0);
  fx_close(&f);
  stub_stop(s);
}

TEST(panel_one_provider_down_the_others_decide) {
  stub_llm *a = stub_start(), *b = stub_start(), *dead = stub_start();
  REQUIRE(a && b && dead);
  stub_set_default(a, &(stub_reply){.text = stub_decision("LONG", 0.9, 3, 0.07, 0.2, "trending")});
  stub_set_default(b, &(stub_reply){.text = stub_decision("LONG", 0.84, 2, 0.08, 0.15, "trending")});
  fixture f;
  fx_init(&f);
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, a, "key-abcdefgh");
  aitest_add_provider(&f.cfg, "openai", AI_WIRE_OPENAI, b, "key-abcdefgh");
  aitest_add_provider(&f.cfg, "grok", AI_WIRE_OPENAI, dead, "key-abcdefgh");
  stub_stop(dead); /* its port now refuses connections */
  fx_open(&f, NULL);
  fx_ask(&f);
  REQUIRE_EQ(f.n, 3);
  CHECK(f.votes[0].ok);
  CHECK(f.votes[1].ok);
  CHECK(!f.votes[2].ok);
  CHECK_CONTAINS(f.votes[2].error, "after 3 attempts"); /* connection errors are retried */
  CHECK_EQ(f.votes[2].attempts, 3);
  strategy_consensus_rules rules;
  ai_panel_rules(f.panel, &rules);
  strategy_consensus c;
  strategy_consensus_decide(f.votes, f.n, &rules, &c);
  CHECK_EQ(c.decision.action, LB_ACTION_LONG);
  CHECK_EQ(c.n_answered, 2);
  CHECK_EQ(c.decision.leverage, 2);
  CHECK_NEAR(c.decision.confidence, (0.9 + 0.84) / 2, 1e-12);
  CHECK_EQ(f.ev.all_failed, 0);
  fx_close(&f);
  stub_stop(a);
  stub_stop(b);
}

TEST(panel_all_providers_down_is_hold_and_a_failure_event) {
  stub_llm *a = stub_start(), *b = stub_start();
  REQUIRE(a && b);
  stub_set_default(a, &(stub_reply){.status = 503, .body = "unavailable"});
  stub_set_default(b, &(stub_reply){.status = 401, .body = "{\"error\":{\"message\":\"bad key\","
                                                           "\"type\":\"invalid_request_error\","
                                                           "\"param\":null,\"code\":"
                                                           "\"invalid_api_key\"}}"});
  fixture f;
  fx_init(&f);
  f.cfg.unhealthy_after = 2;
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, a, "key-abcdefgh");
  aitest_add_provider(&f.cfg, "openai", AI_WIRE_OPENAI, b, "key-abcdefgh");
  fx_open(&f, NULL);
  fx_ask(&f);
  CHECK(!f.votes[0].ok);
  CHECK(!f.votes[1].ok);
  strategy_consensus_rules rules;
  ai_panel_rules(f.panel, &rules);
  strategy_consensus c;
  strategy_consensus_decide(f.votes, f.n, &rules, &c);
  CHECK_EQ(c.decision.action, LB_ACTION_HOLD);
  CHECK_CONTAINS(c.decision.reasoning, "no analyst answered");
  CHECK_EQ(f.ev.all_failed, 1);
  CHECK_CONTAINS(f.ev.last_detail, "anthropic: HTTP 503");
  CHECK_CONTAINS(f.ev.last_detail, "openai: HTTP 401");
  ai_stats st;
  ai_panel_stats(f.panel, &st);
  CHECK_EQ(st.failure_streak, 1);
  CHECK_EQ(st.all_failed, 1);

  /* The second failure in a row marks both unhealthy (unhealthy_after 2). */
  fx_ask(&f);
  ai_panel_stats(f.panel, &st);
  CHECK_EQ(st.failure_streak, 2);
  CHECK_EQ(f.ev.down, 2);
  ai_provider_health h[4];
  REQUIRE_EQ(ai_panel_health(f.panel, h, 4), 2);
  CHECK(!h[0].healthy);
  CHECK(!h[1].healthy);
  CHECK_EQ(h[0].consecutive_failures, 2);
  CHECK_CONTAINS(h[1].last_error, "HTTP 401");

  /* A provider that answers again is healthy, and the streak ends. */
  stub_set_default(a, &(stub_reply){.text = stub_decision("HOLD", 0.5, 1, 0.07, 0.14, "ranging")});
  fx_ask(&f);
  ai_panel_stats(f.panel, &st);
  CHECK_EQ(st.failure_streak, 0);
  CHECK_EQ(f.ev.up, 1);
  REQUIRE_EQ(ai_panel_health(f.panel, h, 4), 2);
  CHECK(h[0].healthy);
  CHECK(!h[1].healthy);
  fx_close(&f);
  stub_stop(a);
  stub_stop(b);
}

TEST(panel_asks_all_providers_at_once) {
  /* Three providers, each answering after 1 s: the analysis takes about
   * 1 s, not 3 (measured with generous slack for a loaded CI machine). */
  stub_llm *s[3];
  fixture f;
  fx_init(&f);
  const char *names[3] = {"anthropic", "openai", "grok"};
  for (int i = 0; i < 3; i++) {
    s[i] = stub_start();
    REQUIRE(s[i] != NULL);
    stub_set_default(s[i], &(stub_reply){.delay_ms = 1000,
                                         .text = stub_decision("LONG", 0.9, 2, 0.07, 0.2,
                                                               "trending")});
    aitest_add_provider(&f.cfg, names[i], i == 0 ? AI_WIRE_ANTHROPIC : AI_WIRE_OPENAI, s[i],
                        "key-abcdefgh");
  }
  fx_open(&f, NULL);
  lb_ms t0 = lb_time_mono_ms();
  fx_ask(&f);
  lb_ms took = lb_time_mono_ms() - t0;
  printf("    three 1 s providers answered in %lld ms\n", (long long)took);
  for (int i = 0; i < 3; i++) CHECK(f.votes[i].ok);
  CHECK(took >= 1000);
  CHECK(took < 2500); /* sequential asking would take 3000 */
  fx_close(&f);
  for (int i = 0; i < 3; i++) stub_stop(s[i]);
}

TEST(panel_a_slow_retry_does_not_delay_the_other_providers_votes) {
  stub_llm *a = stub_start(), *b = stub_start();
  REQUIRE(a && b);
  stub_push(a, &(stub_reply){.status = 500, .body = "{}"});
  stub_push(a, &(stub_reply){.text = stub_decision("LONG", 0.9, 2, 0.07, 0.2, "trending")});
  stub_set_default(b, &(stub_reply){.text = stub_decision("LONG", 0.8, 2, 0.07, 0.2, "trending")});
  fixture f;
  fx_init(&f);
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, a, "key-abcdefgh");
  aitest_add_provider(&f.cfg, "openai", AI_WIRE_OPENAI, b, "key-abcdefgh");
  fx_open(&f, NULL);
  fx_ask(&f);
  CHECK(f.votes[0].ok);
  CHECK(f.votes[1].ok);
  CHECK_EQ(f.votes[0].attempts, 2);
  CHECK_EQ(f.votes[1].attempts, 1);
  CHECK(f.votes[1].latency_ms < 2000); /* no back-off in its latency */
  CHECK(f.votes[0].latency_ms >= 2000);
  fx_close(&f);
  stub_stop(a);
  stub_stop(b);
}

TEST(panel_api_key_never_reaches_votes_health_or_events) {
  const char *key = "sk-ant-SECRET-never-show-1234";
  lb_log_add_secret(key);
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  char body[300];
  /* A provider echoing the key in its error message. */
  snprintf(body, sizeof body,
           "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":"
           "\"invalid x-api-key %s\"}}",
           key);
  stub_set_default(s, &(stub_reply){.status = 401, .body = body});
  fixture f;
  fx_init(&f);
  f.cfg.unhealthy_after = 1;
  aitest_add_provider(&f.cfg, "anthropic", AI_WIRE_ANTHROPIC, s, key);
  fx_open(&f, NULL);
  fx_ask(&f);
  CHECK(!f.votes[0].ok);
  CHECK_NOT_CONTAINS(f.votes[0].error, "SECRET");
  CHECK_NOT_CONTAINS(f.votes[0].decision.reasoning, "SECRET");
  ai_provider_health h;
  REQUIRE_EQ(ai_panel_health(f.panel, &h, 1), 1);
  CHECK_NOT_CONTAINS(h.last_error, "SECRET");
  CHECK_NOT_CONTAINS(f.ev.last_detail, "SECRET");
  stub_request rq;
  REQUIRE(stub_request_get(s, 0, &rq));
  CHECK_NOT_CONTAINS(rq.body, "SECRET"); /* only in the x-api-key header */
  CHECK_STREQ(rq.api_key, key);
  stub_request_free(&rq);
  fx_close(&f);
  stub_stop(s);
  lb_log_clear_secrets();
}
