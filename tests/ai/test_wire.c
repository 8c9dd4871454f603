/* test_wire.c -- request bodies, reply parsing, retry classification and cost, per wire format. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_wire.h"
#include "unit.h"

static json_t *body_json(const lb_buf *b) {
  json_error_t e;
  return json_loadb(b->data, b->len, 0, &e);
}

static bool has_header(const ai_request_head *h, const char *line) {
  for (int i = 0; i < h->n_hdrs; i++)
    if (strcmp(h->hdrs[i], line) == 0) return true;
  return false;
}

static bool header_mentions(const ai_request_head *h, const char *s) {
  for (int i = 0; i < h->n_hdrs; i++)
    if (strstr(h->hdrs[i], s)) return true;
  return false;
}

TEST(wire_anthropic_request_has_key_version_and_system_prompt) {
  ai_request_spec spec = {AI_WIRE_ANTHROPIC, "https://api.anthropic.com/", "sk-ant-secret-1234",
                          "claude-sonnet-4-5", AI_JSON_SCHEMA, false, 1024, 0.2, NULL};
  ai_request_head h;
  lb_buf body;
  lb_buf_init(&body);
  lb_errbuf eb;
  REQUIRE_OK(ai_request_build(&spec, "SYSTEM TEXT", "USER TEXT", &h, &body, &eb));
  CHECK_STREQ(h.url, "https://api.anthropic.com/v1/messages");
  CHECK(has_header(&h, "x-api-key: sk-ant-secret-1234"));
  CHECK(has_header(&h, "anthropic-version: 2023-06-01"));
  CHECK(has_header(&h, "Content-Type: application/json"));
  CHECK(has_header(&h, "Expect:")); /* no 100-continue round trip */
  CHECK(!header_mentions(&h, "Authorization"));
  CHECK_NOT_CONTAINS(body.data, "sk-ant-secret"); /* the key travels in the header only */
  json_t *o = body_json(&body);
  REQUIRE(o != NULL);
  CHECK_STREQ(json_string_value(json_object_get(o, "model")), "claude-sonnet-4-5");
  CHECK_EQ(json_integer_value(json_object_get(o, "max_tokens")), 1024);
  CHECK_STREQ(json_string_value(json_object_get(o, "system")), "SYSTEM TEXT");
  json_t *m0 = json_array_get(json_object_get(o, "messages"), 0);
  CHECK_STREQ(json_string_value(json_object_get(m0, "role")), "user");
  CHECK_STREQ(json_string_value(json_object_get(m0, "content")), "USER TEXT");
  CHECK_EQ(json_array_size(json_object_get(o, "messages")), 1);
  CHECK_NEAR(json_real_value(json_object_get(o, "temperature")), 0.2, 1e-12);
  CHECK(json_object_get(o, "response_format") == NULL); /* not an Anthropic field */
  json_decref(o);
  lb_buf_free(&body);
}

TEST(wire_openai_request_asks_for_the_strict_decision_schema) {
  ai_request_spec spec = {AI_WIRE_OPENAI, "https://api.openai.com/v1", "sk-test-abcd",
                          "gpt-4o-mini", AI_JSON_SCHEMA, true, 800, -1, NULL};
  ai_request_head h;
  lb_buf body;
  lb_buf_init(&body);
  lb_errbuf eb;
  REQUIRE_OK(ai_request_build(&spec, "SYS", "USR", &h, &body, &eb));
  CHECK_STREQ(h.url, "https://api.openai.com/v1/chat/completions");
  CHECK(has_header(&h, "Authorization: Bearer sk-test-abcd"));
  CHECK(!header_mentions(&h, "x-api-key"));
  json_t *o = body_json(&body);
  REQUIRE(o != NULL);
  json_t *msgs = json_object_get(o, "messages");
  CHECK_EQ(json_array_size(msgs), 2);
  CHECK_STREQ(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
  CHECK_STREQ(json_string_value(json_object_get(json_array_get(msgs, 0), "content")), "SYS");
  CHECK_STREQ(json_string_value(json_object_get(json_array_get(msgs, 1), "role")), "user");
  CHECK_EQ(json_integer_value(json_object_get(o, "max_completion_tokens")), 800);
  CHECK(json_object_get(o, "max_tokens") == NULL);
  CHECK(json_object_get(o, "temperature") == NULL); /* negative: not sent */
  json_t *rf = json_object_get(o, "response_format");
  CHECK_STREQ(json_string_value(json_object_get(rf, "type")), "json_schema");
  json_t *js = json_object_get(rf, "json_schema");
  CHECK(json_is_true(json_object_get(js, "strict")));
  json_t *schema = json_object_get(js, "schema");
  CHECK(json_is_false(json_object_get(schema, "additionalProperties")));
  json_t *req = json_object_get(schema, "required");
  CHECK_EQ(json_array_size(req), 7);
  json_t *props = json_object_get(schema, "properties");
  CHECK_EQ(json_object_size(props), 7);
  const char *fields[] = {"action", "confidence", "leverage", "stop_loss_percent",
                          "take_profit_percent", "market_regime", "reasoning"};
  for (int i = 0; i < 7; i++) CHECK(json_object_get(props, fields[i]) != NULL);
  json_t *actions = json_object_get(json_object_get(props, "action"), "enum");
  CHECK_EQ(json_array_size(actions), 3);
  CHECK_STREQ(json_string_value(json_object_get(json_object_get(props, "leverage"), "type")),
              "integer");
  json_decref(o);
  lb_buf_free(&body);
}

TEST(wire_openai_compatible_json_modes_and_local_server_without_key) {
  ai_request_spec spec = {AI_WIRE_OPENAI, "http://127.0.0.1:11434/v1", "", "llama3.1",
                          AI_JSON_OBJECT, false, 512, 0, "levbot"};
  ai_request_head h;
  lb_buf body;
  lb_buf_init(&body);
  lb_errbuf eb;
  REQUIRE_OK(ai_request_build(&spec, "S", "U", &h, &body, &eb));
  CHECK(!header_mentions(&h, "Authorization")); /* Ollama needs no key */
  CHECK(has_header(&h, "X-Title: levbot"));
  json_t *o = body_json(&body);
  CHECK_STREQ(json_string_value(json_object_get(json_object_get(o, "response_format"), "type")),
              "json_object");
  CHECK_EQ(json_integer_value(json_object_get(o, "max_tokens")), 512);
  CHECK_NEAR(json_real_value(json_object_get(o, "temperature")), 0.0, 0);
  json_decref(o);
  lb_buf_reset(&body);
  spec.json_mode = AI_JSON_PROMPT;
  REQUIRE_OK(ai_request_build(&spec, "S", "U", &h, &body, &eb));
  o = body_json(&body);
  CHECK(json_object_get(o, "response_format") == NULL);
  json_decref(o);
  lb_buf_free(&body);
}

TEST(wire_request_refuses_bad_urls_and_header_injection) {
  ai_request_spec spec = {AI_WIRE_OPENAI, "ftp://example", "k", "m", AI_JSON_PROMPT, false, 100,
                          0, NULL};
  ai_request_head h;
  lb_buf body;
  lb_buf_init(&body);
  lb_errbuf eb;
  CHECK_EQ(ai_request_build(&spec, "S", "U", &h, &body, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "must start with http:// or https://");
  spec.base_url = "http://127.0.0.1:1/v1";
  spec.api_key = "abc\r\nX-Evil: 1";
  CHECK_EQ(ai_request_build(&spec, "S", "U", &h, &body, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "line break");
  CHECK_NOT_CONTAINS(eb.msg, "abc"); /* never echo a key */
  spec.api_key = "k";
  spec.model = "";
  CHECK_EQ(ai_request_build(&spec, "S", "U", &h, &body, &eb), LB_EINVAL);
  lb_buf_free(&body);
}

/* The Anthropic sample response of the wire-format reference. */
static const char *ANTHROPIC_REPLY =
    "{\"id\":\"msg_01X\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\","
    "\"content\":[{\"type\":\"text\",\"text\":\"{\\\"a\\\":1}\"}],\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null,\"usage\":{\"input_tokens\":2095,\"output_tokens\":503,"
    "\"cache_creation_input_tokens\":10,\"cache_read_input_tokens\":20,\"cache_creation\":{"
    "\"ephemeral_5m_input_tokens\":0,\"ephemeral_1h_input_tokens\":0}}}";

TEST(wire_anthropic_reply_gives_text_stop_and_usage) {
  ai_reply r;
  ai_reply_init(&r);
  lb_errbuf eb;
  REQUIRE_OK(ai_reply_parse(AI_WIRE_ANTHROPIC, 200, ANTHROPIC_REPLY, strlen(ANTHROPIC_REPLY), &r,
                            &eb));
  CHECK_STREQ(r.text, "{\"a\":1}");
  CHECK_EQ(r.stop, AI_STOP_END);
  CHECK_STREQ(r.stop_raw, "end_turn");
  CHECK_EQ(r.tokens_in, 2095);
  CHECK_EQ(r.tokens_out, 503);
  CHECK_EQ(r.cache_write, 10);
  CHECK_EQ(r.cache_read, 20);
  CHECK(!r.cache_included);
  ai_reply_close(&r);

  const struct {
    const char *sr;
    ai_stop want;
  } stops[] = {{"max_tokens", AI_STOP_LENGTH}, {"refusal", AI_STOP_REFUSAL},
               {"stop_sequence", AI_STOP_END}, {"tool_use", AI_STOP_OTHER},
               {"pause_turn", AI_STOP_OTHER}};
  for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
    char body[256];
    snprintf(body, sizeof body,
             "{\"content\":[{\"type\":\"text\",\"text\":\"x\"}],\"stop_reason\":\"%s\"}",
             stops[i].sr);
    REQUIRE_OK(ai_reply_parse(AI_WIRE_ANTHROPIC, 200, body, strlen(body), &r, &eb));
    CHECK_EQ(r.stop, stops[i].want);
    ai_reply_close(&r);
  }
}

TEST(wire_openai_reply_gives_text_finish_reason_refusal_and_usage) {
  const char *body =
      "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1741570283,\"model\":"
      "\"gpt\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
      "\"{\\\"action\\\":\\\"HOLD\\\"}\",\"refusal\":null},\"finish_reason\":\"stop\"}],"
      "\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29,"
      "\"prompt_tokens_details\":{\"cached_tokens\":4,\"audio_tokens\":0}}}";
  ai_reply r;
  ai_reply_init(&r);
  lb_errbuf eb;
  REQUIRE_OK(ai_reply_parse(AI_WIRE_OPENAI, 200, body, strlen(body), &r, &eb));
  CHECK_STREQ(r.text, "{\"action\":\"HOLD\"}");
  CHECK(r.refusal == NULL);
  CHECK_EQ(r.stop, AI_STOP_END);
  CHECK_EQ(r.tokens_in, 19);
  CHECK_EQ(r.tokens_out, 10);
  CHECK_EQ(r.cache_read, 4);
  CHECK(r.cache_included);
  ai_reply_close(&r);

  const char *refused = "{\"choices\":[{\"message\":{\"content\":null,\"refusal\":\"I can't "
                        "assist\"},\"finish_reason\":\"stop\"}]}";
  REQUIRE_OK(ai_reply_parse(AI_WIRE_OPENAI, 200, refused, strlen(refused), &r, &eb));
  CHECK_EQ(r.stop, AI_STOP_REFUSAL);
  CHECK_STREQ(r.refusal, "I can't assist");
  ai_reply_close(&r);

  const char *cut = "{\"choices\":[{\"message\":{\"content\":\"{\\\"act\"},\"finish_reason\":"
                    "\"length\"}]}";
  REQUIRE_OK(ai_reply_parse(AI_WIRE_OPENAI, 200, cut, strlen(cut), &r, &eb));
  CHECK_EQ(r.stop, AI_STOP_LENGTH);
  ai_reply_close(&r);

  /* llama.cpp / Ollama shapes: finish_reason null, content as parts, no usage. */
  const char *local = "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                      "{\"type\":\"text\",\"text\":\"b\"}]},\"finish_reason\":null}]}";
  REQUIRE_OK(ai_reply_parse(AI_WIRE_OPENAI, 200, local, strlen(local), &r, &eb));
  CHECK_STREQ(r.text, "ab");
  CHECK_EQ(r.stop, AI_STOP_END);
  CHECK_EQ(r.tokens_in, 0);
  ai_reply_close(&r);

  /* DeepSeek reports its cache hits under another name. */
  const char *ds = "{\"choices\":[{\"message\":{\"content\":\"x\"},\"finish_reason\":\"stop\"}],"
                   "\"usage\":{\"prompt_tokens\":100,\"completion_tokens\":5,"
                   "\"prompt_cache_hit_tokens\":60,\"prompt_cache_miss_tokens\":40}}";
  REQUIRE_OK(ai_reply_parse(AI_WIRE_OPENAI, 200, ds, strlen(ds), &r, &eb));
  CHECK_EQ(r.cache_read, 60);
  ai_reply_close(&r);

  CHECK_EQ(ai_reply_parse(AI_WIRE_OPENAI, 200, "{\"id\":1}", 8, &r, &eb), LB_EPARSE);
  CHECK_CONTAINS(eb.msg, "choices[0]");
  CHECK_EQ(ai_reply_parse(AI_WIRE_ANTHROPIC, 200, "<html>", 6, &r, &eb), LB_EPARSE);
  CHECK_CONTAINS(eb.msg, "not a JSON object");
  ai_reply_close(&r);
}

typedef struct {
  int transport;
  long status;
  const char *body;
  ai_fail_kind want;
  const char *why;
} cls_case;

static const cls_case cls[] = {
    {AI_TRANSPORT_TIMEOUT, 0, NULL, AI_FAIL_RETRY, "timeout"},
    {AI_TRANSPORT_CONNECT, 0, NULL, AI_FAIL_RETRY, "connection failed"},
    {AI_TRANSPORT_OTHER, 0, NULL, AI_FAIL_FATAL, "request failed"},
    {AI_TRANSPORT_OK, 200, NULL, AI_FAIL_NONE, "HTTP 200"},
    {AI_TRANSPORT_OK, 400, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                           "\"message\":\"bad\"}}", AI_FAIL_FATAL, "HTTP 400 invalid_request_error"},
    {AI_TRANSPORT_OK, 401, "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\","
                           "\"message\":\"invalid x-api-key\"}}", AI_FAIL_FATAL,
     "HTTP 401 authentication_error"},
    {AI_TRANSPORT_OK, 402, "{\"type\":\"error\",\"error\":{\"type\":\"billing_error\"}}",
     AI_FAIL_FATAL, "spend limit"},
    {AI_TRANSPORT_OK, 403, NULL, AI_FAIL_FATAL, "HTTP 403"},
    {AI_TRANSPORT_OK, 404, NULL, AI_FAIL_FATAL, "HTTP 404"},
    {AI_TRANSPORT_OK, 408, NULL, AI_FAIL_RETRY, "HTTP 408"},
    {AI_TRANSPORT_OK, 409, NULL, AI_FAIL_RETRY, "HTTP 409"},
    {AI_TRANSPORT_OK, 413, NULL, AI_FAIL_FATAL, "HTTP 413"},
    {AI_TRANSPORT_OK, 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"}}",
     AI_FAIL_RETRY, "HTTP 429 rate_limit_error"},
    {AI_TRANSPORT_OK, 429, "{\"error\":{\"message\":\"You exceeded your current quota\",\"type\":"
                           "\"insufficient_quota\",\"param\":null,\"code\":\"insufficient_quota\"}}",
     AI_FAIL_FATAL, "spend limit reached (insufficient_quota)"},
    {AI_TRANSPORT_OK, 429, "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
                           "\"details\":{\"error_code\":\"enforced_spend_limit_reached\"}}}",
     AI_FAIL_FATAL, "spend limit reached (enforced_spend_limit_reached)"},
    {AI_TRANSPORT_OK, 500, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}",
     AI_FAIL_RETRY, "HTTP 500 api_error"},
    {AI_TRANSPORT_OK, 503, "not json", AI_FAIL_RETRY, "HTTP 503"},
    {AI_TRANSPORT_OK, 529, "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                           "\"message\":\"Overloaded\"}}", AI_FAIL_RETRY,
     "HTTP 529 overloaded_error"},
};

TEST(wire_only_retryable_failures_are_retried) {
  for (size_t i = 0; i < sizeof cls / sizeof cls[0]; i++) {
    ai_reply r;
    ai_reply_init(&r);
    lb_errbuf eb;
    if (cls[i].body)
      CHECK_OK(ai_reply_parse(AI_WIRE_ANTHROPIC, cls[i].status, cls[i].body, strlen(cls[i].body),
                              &r, &eb));
    char why[160];
    ai_fail_kind k = ai_classify(cls[i].transport, cls[i].status, &r, why, sizeof why);
    if (k != cls[i].want) printf("  case %zu (HTTP %ld): kind %d, why \"%s\"\n", i, cls[i].status, k, why);
    CHECK_EQ(k, cls[i].want);
    CHECK_CONTAINS(why, cls[i].why);
    ai_reply_close(&r);
  }
}

TEST(wire_retry_after_is_read_as_seconds_or_http_date) {
  CHECK_EQ(ai_retry_after_parse("30", 0), 30000);
  CHECK_EQ(ai_retry_after_parse(" 7 ", 0), 7000);
  CHECK_EQ(ai_retry_after_parse("1.5", 0), 1500);
  CHECK_EQ(ai_retry_after_parse("0", 0), 0);
  CHECK_EQ(ai_retry_after_parse("", 0), -1);
  CHECK_EQ(ai_retry_after_parse("soon", 0), -1);
  CHECK_EQ(ai_retry_after_parse("-3", 0), -1);
  CHECK_EQ(ai_retry_after_parse("12abc", 0), -1);
  CHECK_EQ(ai_retry_after_parse(NULL, 0), -1);
  lb_ms at;
  REQUIRE_OK(lb_time_parse_iso("2015-10-21T07:28:00Z", &at));
  CHECK_EQ(ai_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", at - 5000), 5000);
  CHECK_EQ(ai_retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", at + 5000), 0);
  /* A date centuries away is a very long wait, not an overflow (found by the fuzzer). */
  CHECK_EQ(ai_retry_after_parse(",1 Oct 2015001001", at), 10000000000);
}

TEST(wire_backoff_doubles_per_attempt_and_honours_the_server) {
  CHECK_EQ(ai_backoff_ms(1, 0, 0.9, -1), 2000);
  CHECK_EQ(ai_backoff_ms(2, 0, 0.9, -1), 4000);
  CHECK_EQ(ai_backoff_ms(3, 0, 0.9, -1), 8000);
  CHECK_EQ(ai_backoff_ms(1, 0.25, 0.5, -1), 2000 + 250);
  CHECK_EQ(ai_backoff_ms(2, 0.25, 0.999999, -1), 4000 + 999);
  CHECK_EQ(ai_backoff_ms(1, 0.25, 0.5, 7000), 7000); /* retry-after wins, no jitter */
  CHECK_EQ(ai_backoff_ms(2, 0.25, 0.5, 0), 0);
}

TEST(wire_cost_uses_the_configured_prices_per_million_tokens) {
  ai_reply r;
  ai_reply_init(&r);
  r.tokens_in = 2095;
  r.tokens_out = 503;
  lb_dec pin, pout, want;
  REQUIRE_OK(lb_dec_parse("3.00", &pin));
  REQUIRE_OK(lb_dec_parse("15.00", &pout));
  /* 2095 * 3 / 1e6 + 503 * 15 / 1e6 = 0.006285 + 0.007545 */
  REQUIRE_OK(lb_dec_parse("0.01383", &want));
  CHECK_EQ(ai_cost_usd(&r, pin, pout), want);
  /* Anthropic cache: writes at 1.25x, reads at 0.1x the input price. */
  r.cache_write = 1000;
  r.cache_read = 1000;
  REQUIRE_OK(lb_dec_parse("0.01788", &want)); /* + 0.00375 + 0.0003 */
  CHECK_EQ(ai_cost_usd(&r, pin, pout), want);
  /* OpenAI-style cached tokens are inside prompt tokens: not added again. */
  r.cache_write = 0;
  r.cache_included = true;
  REQUIRE_OK(lb_dec_parse("0.01383", &want));
  CHECK_EQ(ai_cost_usd(&r, pin, pout), want);
  CHECK_EQ(ai_cost_usd(&r, 0, 0), 0); /* a local model */
}
