/* ai_wire.c -- request bodies and reply parsing for the two LLM wire formats.
 *
 * Anthropic Messages (POST {base}/v1/messages, x-api-key, anthropic-version)
 * and OpenAI chat completions (POST {base}/chat/completions, Bearer key),
 * the latter spoken by OpenAI, DeepSeek, xAI, OpenRouter, Ollama and
 * llama.cpp alike.  Field names and error types follow the reference in
 * ../shared/reference/wire-formats.md section C.  Replies from local servers
 * are looser (usage missing, finish_reason null, content as an array of
 * parts), so the parse accepts those shapes and nothing else.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_wire.h"

#define ANTHROPIC_VERSION "2023-06-01"

static const char *const json_mode_names[] = {"json_schema", "json_object", "none"};

const char *ai_json_mode_name(ai_json_mode m) {
  return (unsigned)m < 3 ? json_mode_names[m] : "none";
}

lb_err ai_json_mode_parse(const char *s, ai_json_mode *out) {
  for (int i = 0; i < 3; i++)
    if (s && strcmp(s, json_mode_names[i]) == 0) {
      *out = (ai_json_mode)i;
      return LB_OK;
    }
  return LB_EPARSE;
}

/* ==== Requests ==== */

/* The decision schema of DESIGN.md section 3 in OpenAI's strict subset
 * (every property required, no extra ones).  Ranges are in the prompt and
 * checked by lb_decision_check: strict mode does not enforce them. */
static json_t *decision_schema(void) {
  return json_pack(
      "{s:s, s:{s:s, s:b, s:{s:s, s:{s:{s:s, s:[s,s,s]}, s:{s:s}, s:{s:s}, s:{s:s}, s:{s:s}, "
      "s:{s:s, s:[s,s,s]}, s:{s:s}}, s:[s,s,s,s,s,s,s], s:b}}}",
      "type", "json_schema", "json_schema", "name", "trade_decision", "strict", 1, "schema",
      "type", "object", "properties", "action", "type", "string", "enum", "LONG", "SHORT", "HOLD",
      "confidence", "type", "number", "leverage", "type", "integer", "stop_loss_percent", "type",
      "number", "take_profit_percent", "type", "number", "market_regime", "type", "string", "enum",
      "trending", "ranging", "volatile", "reasoning", "type", "string", "required", "action",
      "confidence", "leverage", "stop_loss_percent", "take_profit_percent", "market_regime",
      "reasoning", "additionalProperties", 0);
}

static lb_err join_url(const char *base, const char *path, char *out, size_t n, lb_errbuf *eb) {
  if (!base || (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0))
    return lb_fail(eb, LB_EINVAL, "base URL \"%.100s\" must start with http:// or https://",
                   base ? base : "");
  size_t bl = strlen(base);
  while (bl > 0 && base[bl - 1] == '/') bl--;
  int w = snprintf(out, n, "%.*s%s", (int)bl, base, path);
  if (w < 0 || (size_t)w >= n) return lb_fail(eb, LB_ERANGE, "base URL too long");
  return LB_OK;
}

static lb_err add_hdr(ai_request_head *h, lb_errbuf *eb, const char *name, const char *value) {
  if (h->n_hdrs >= (int)(sizeof h->hdrs / sizeof h->hdrs[0]))
    return lb_fail(eb, LB_ERANGE, "too many headers");
  /* A header value must not carry a line break: it would inject headers. */
  if (strpbrk(value, "\r\n")) return lb_fail(eb, LB_EINVAL, "header %s contains a line break", name);
  /* "Name:" with nothing after the colon tells curl to leave the header out. */
  int w = *value ? snprintf(h->hdrs[h->n_hdrs], sizeof h->hdrs[0], "%s: %s", name, value)
                 : snprintf(h->hdrs[h->n_hdrs], sizeof h->hdrs[0], "%s:", name);
  if (w < 0 || (size_t)w >= sizeof h->hdrs[0])
    return lb_fail(eb, LB_ERANGE, "header %s too long", name);
  h->n_hdrs++;
  return LB_OK;
}

static json_t *anthropic_body(const ai_request_spec *s, const char *sys, const char *user) {
  json_t *o = json_pack("{s:s, s:i, s:s, s:[{s:s, s:s}]}", "model", s->model, "max_tokens",
                        s->max_tokens, "system", sys, "messages", "role", "user", "content", user);
  if (o && s->temperature >= 0) json_object_set_new(o, "temperature", json_real(s->temperature));
  return o;
}

static json_t *openai_body(const ai_request_spec *s, const char *sys, const char *user) {
  json_t *o = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "model", s->model, "messages",
                        "role", "system", "content", sys, "role", "user", "content", user);
  if (!o) return NULL;
  json_object_set_new(o, s->max_completion_tokens ? "max_completion_tokens" : "max_tokens",
                      json_integer(s->max_tokens));
  if (s->temperature >= 0) json_object_set_new(o, "temperature", json_real(s->temperature));
  if (s->json_mode == AI_JSON_SCHEMA) {
    json_t *rf = decision_schema();
    if (!rf) {
      json_decref(o);
      return NULL;
    }
    json_object_set_new(o, "response_format", rf);
  } else if (s->json_mode == AI_JSON_OBJECT) {
    json_object_set_new(o, "response_format", json_pack("{s:s}", "type", "json_object"));
  }
  return o;
}

lb_err ai_request_build(const ai_request_spec *spec, const char *system_prompt,
                        const char *user_msg, ai_request_head *head, lb_buf *body, lb_errbuf *eb) {
  memset(head, 0, sizeof *head);
  if (!spec->model || !*spec->model) return lb_fail(eb, LB_EINVAL, "model is empty");
  lb_err rc;
  json_t *o;
  if (spec->wire == AI_WIRE_ANTHROPIC) {
    if ((rc = join_url(spec->base_url, "/v1/messages", head->url, sizeof head->url, eb))) return rc;
    if ((rc = add_hdr(head, eb, "x-api-key", spec->api_key ? spec->api_key : ""))) return rc;
    if ((rc = add_hdr(head, eb, "anthropic-version", ANTHROPIC_VERSION))) return rc;
    o = anthropic_body(spec, system_prompt, user_msg);
  } else {
    if ((rc = join_url(spec->base_url, "/chat/completions", head->url, sizeof head->url, eb)))
      return rc;
    if (spec->api_key && *spec->api_key) {
      char v[560];
      snprintf(v, sizeof v, "Bearer %.540s", spec->api_key);
      if ((rc = add_hdr(head, eb, "Authorization", v))) return rc;
    }
    if (spec->title && (rc = add_hdr(head, eb, "X-Title", spec->title))) return rc;
    o = openai_body(spec, system_prompt, user_msg);
  }
  if ((rc = add_hdr(head, eb, "Content-Type", "application/json"))) return rc;
  /* curl would otherwise wait for "100 Continue" before sending a large body. */
  if ((rc = add_hdr(head, eb, "Expect", ""))) return rc;
  if (!o) return lb_fail(eb, LB_ENOMEM, "cannot build request body");
  char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(o);
  if (!s) return lb_fail(eb, LB_ENOMEM, "cannot serialise request body");
  rc = lb_buf_puts(body, s);
  free(s);
  return rc ? lb_fail(eb, rc, "out of memory") : LB_OK;
}

/* ==== Replies ==== */

void ai_reply_init(ai_reply *r) { memset(r, 0, sizeof *r); }

void ai_reply_close(ai_reply *r) {
  free(r->text);
  free(r->refusal);
  ai_reply_init(r);
}

static long get_count(json_t *o, const char *k) {
  json_t *v = json_object_get(o, k);
  if (!json_is_integer(v)) return 0;
  json_int_t x = json_integer_value(v);
  return x < 0 ? 0 : x > 1000000000 ? 1000000000 : (long)x;
}

static void copy_str(char *dst, size_t n, json_t *v) {
  if (json_is_string(v)) snprintf(dst, n, "%s", json_string_value(v));
}

/* Both wires put {"type", "message", "code" | "details.error_code"} under
 * "error"; Ollama sends {"error": "text"}. */
static void read_error(json_t *root, ai_reply *r) {
  json_t *e = json_object_get(root, "error");
  if (json_is_string(e)) {
    copy_str(r->err_msg, sizeof r->err_msg, e);
    return;
  }
  if (!json_is_object(e)) return;
  copy_str(r->err_type, sizeof r->err_type, json_object_get(e, "type"));
  copy_str(r->err_msg, sizeof r->err_msg, json_object_get(e, "message"));
  copy_str(r->err_code, sizeof r->err_code, json_object_get(e, "code"));
  if (!r->err_code[0])
    copy_str(r->err_code, sizeof r->err_code,
             json_object_get(json_object_get(e, "details"), "error_code"));
}

/* Concatenates the text of an array of parts ({"type":"text","text":..}). */
static char *join_text_parts(json_t *arr) {
  lb_buf b;
  lb_buf_init(&b);
  size_t i;
  json_t *part;
  bool any = false;
  json_array_foreach(arr, i, part) {
    json_t *t = json_object_get(part, "text");
    json_t *ty = json_object_get(part, "type");
    if (!json_is_string(t)) continue;
    if (json_is_string(ty) && strcmp(json_string_value(ty), "text") != 0) continue;
    if (lb_buf_append(&b, json_string_value(t), json_string_length(t))) {
      lb_buf_free(&b);
      return NULL;
    }
    any = true;
  }
  if (!any) {
    lb_buf_free(&b);
    return NULL;
  }
  return lb_buf_steal(&b);
}

static char *dup_string(json_t *v) {
  if (!json_is_string(v)) return NULL;
  size_t n = json_string_length(v);
  char *s = malloc(n + 1);
  if (s) {
    memcpy(s, json_string_value(v), n);
    s[n] = '\0';
  }
  return s;
}

static lb_err parse_anthropic(json_t *root, ai_reply *r, lb_errbuf *eb) {
  json_t *content = json_object_get(root, "content");
  if (!json_is_array(content)) return lb_fail(eb, LB_EPARSE, "reply has no \"content\" array");
  r->text = join_text_parts(content);
  json_t *sr = json_object_get(root, "stop_reason");
  const char *s = json_is_string(sr) ? json_string_value(sr) : "";
  snprintf(r->stop_raw, sizeof r->stop_raw, "%s", s);
  if (!strcmp(s, "end_turn") || !strcmp(s, "stop_sequence")) r->stop = AI_STOP_END;
  else if (!strcmp(s, "max_tokens")) r->stop = AI_STOP_LENGTH;
  else if (!strcmp(s, "refusal")) r->stop = AI_STOP_REFUSAL;
  else r->stop = AI_STOP_OTHER;
  json_t *u = json_object_get(root, "usage");
  r->tokens_in = get_count(u, "input_tokens");
  r->tokens_out = get_count(u, "output_tokens");
  r->cache_write = get_count(u, "cache_creation_input_tokens");
  r->cache_read = get_count(u, "cache_read_input_tokens");
  return LB_OK;
}

static lb_err parse_openai(json_t *root, ai_reply *r, lb_errbuf *eb) {
  json_t *choices = json_object_get(root, "choices");
  json_t *c0 = json_array_get(choices, 0);
  if (!json_is_object(c0)) return lb_fail(eb, LB_EPARSE, "reply has no \"choices[0]\"");
  json_t *msg = json_object_get(c0, "message");
  if (!json_is_object(msg)) return lb_fail(eb, LB_EPARSE, "reply has no \"choices[0].message\"");
  json_t *content = json_object_get(msg, "content");
  r->text = json_is_array(content) ? join_text_parts(content) : dup_string(content);
  r->refusal = dup_string(json_object_get(msg, "refusal"));
  json_t *fr = json_object_get(c0, "finish_reason");
  const char *s = json_is_string(fr) ? json_string_value(fr) : "";
  snprintf(r->stop_raw, sizeof r->stop_raw, "%s", s);
  /* Local servers may leave finish_reason null on a complete answer. */
  if (!strcmp(s, "stop") || !*s) r->stop = AI_STOP_END;
  else if (!strcmp(s, "length")) r->stop = AI_STOP_LENGTH;
  else if (!strcmp(s, "content_filter")) r->stop = AI_STOP_FILTER;
  else r->stop = AI_STOP_OTHER;
  if (r->refusal && *r->refusal) r->stop = AI_STOP_REFUSAL;
  json_t *u = json_object_get(root, "usage");
  r->tokens_in = get_count(u, "prompt_tokens");
  r->tokens_out = get_count(u, "completion_tokens");
  /* Cached prompt tokens are part of prompt_tokens here (OpenAI's
   * prompt_tokens_details.cached_tokens, DeepSeek's prompt_cache_hit_tokens). */
  r->cache_read = get_count(json_object_get(u, "prompt_tokens_details"), "cached_tokens");
  if (!r->cache_read) r->cache_read = get_count(u, "prompt_cache_hit_tokens");
  r->cache_included = true;
  return LB_OK;
}

lb_err ai_reply_parse(ai_wire wire, long http_status, const char *body, size_t n, ai_reply *out,
                      lb_errbuf *eb) {
  ai_reply_close(out);
  json_error_t jerr;
  json_t *root = body && n ? json_loadb(body, n, 0, &jerr) : NULL;
  bool ok_status = http_status >= 200 && http_status < 300;
  if (!json_is_object(root)) {
    json_decref(root);
    return ok_status ? lb_fail(eb, LB_EPARSE, "reply body is not a JSON object") : LB_OK;
  }
  read_error(root, out);
  lb_err rc = LB_OK;
  if (ok_status) {
    if (json_object_get(root, "error") && !json_object_get(root, "choices") &&
        !json_object_get(root, "content"))
      rc = lb_fail(eb, LB_EPARSE, "reply is an error object: %s %.100s", out->err_type,
                   out->err_msg);
    else
      rc = wire == AI_WIRE_ANTHROPIC ? parse_anthropic(root, out, eb) : parse_openai(root, out, eb);
  }
  json_decref(root);
  return rc;
}

/* ==== Retry policy ==== */

static bool is_spend_limit(const ai_reply *r) {
  if (!r) return false;
  return !strcmp(r->err_code, "insufficient_quota") || !strcmp(r->err_type, "insufficient_quota") ||
         !strcmp(r->err_code, "enforced_spend_limit_reached") ||
         !strcmp(r->err_type, "billing_error");
}

ai_fail_kind ai_classify(int transport_err, long http_status, const ai_reply *reply, char *why,
                         size_t why_n) {
  switch (transport_err) {
    case AI_TRANSPORT_OK: break;
    case AI_TRANSPORT_TIMEOUT: snprintf(why, why_n, "timeout"); return AI_FAIL_RETRY;
    case AI_TRANSPORT_CONNECT: snprintf(why, why_n, "connection failed"); return AI_FAIL_RETRY;
    default: snprintf(why, why_n, "request failed"); return AI_FAIL_FATAL;
  }
  if (http_status >= 200 && http_status < 300) {
    snprintf(why, why_n, "HTTP %ld", http_status);
    return AI_FAIL_NONE;
  }
  const char *type = reply && reply->err_type[0] ? reply->err_type : "";
  if (is_spend_limit(reply)) {
    snprintf(why, why_n, "HTTP %ld spend limit reached (%s)", http_status,
             reply->err_code[0] ? reply->err_code : reply->err_type);
    return AI_FAIL_FATAL;
  }
  snprintf(why, why_n, "HTTP %ld%s%s", http_status, *type ? " " : "", type);
  if (http_status == 408 || http_status == 409 || http_status == 429 ||
      (http_status >= 500 && http_status <= 599))
    return AI_FAIL_RETRY;
  return AI_FAIL_FATAL;
}

lb_ms ai_retry_after_parse(const char *value, lb_ms now) {
  if (!value) return -1;
  while (*value == ' ' || *value == '\t') value++;
  if (*value >= '0' && *value <= '9') {
    char *end;
    double s = strtod(value, &end);
    while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n') end++;
    if (*end || !isfinite(s) || s < 0) return -1;
    if (s > 1e7) s = 1e7; /* far beyond any wait we accept; keeps the cast defined */
    return (lb_ms)(s * 1000.0 + 0.5);
  }
  time_t t = curl_getdate(value, NULL);
  if (t == (time_t)-1) return -1;
  /* In seconds, clamped like the numeric form: a date far in the future
   * (the fuzzer found year 2015001001) must not overflow the ms count. */
  double wait_s = (double)t - (double)now / 1000.0;
  if (!(wait_s > 0)) return 0;
  if (wait_s > 1e7) wait_s = 1e7;
  return (lb_ms)(wait_s * 1000.0 + 0.5);
}

lb_ms ai_backoff_ms(int attempt, double jitter, double rand01, lb_ms retry_after_ms) {
  if (retry_after_ms >= 0) return retry_after_ms;
  if (attempt < 1) attempt = 1;
  if (attempt > 20) attempt = 20;
  lb_ms base = (INT64_C(1) << attempt) * LB_MS_SECOND;
  if (!(jitter > 0) || !(rand01 > 0)) return base;
  if (rand01 > 1) rand01 = 1;
  return base + (lb_ms)(jitter * rand01 * (double)base);
}

/* ==== Cost ==== */

static lb_dec part_cost(long tokens, lb_dec price, int64_t num, int64_t den) {
  lb_dec out = 0;
  if (tokens <= 0 || price <= 0) return 0;
  /* tokens * price * num / (den * 1e6), rounded once. */
  if (lb_dec_muldiv(LB_DEC_INT(tokens), price * num, LB_DEC_INT(1000000) * den, LB_ROUND_HALF_EVEN,
                    &out))
    return 0;
  return out;
}

lb_dec ai_cost_usd(const ai_reply *r, lb_dec price_in, lb_dec price_out) {
  lb_dec c = part_cost(r->tokens_in, price_in, 1, 1) + part_cost(r->tokens_out, price_out, 1, 1);
  /* Anthropic reports cache tokens apart from input_tokens; OpenAI-style
   * cached tokens are inside prompt_tokens and already priced above. */
  c += part_cost(r->cache_write, price_in, 5, 4);
  if (!r->cache_included) c += part_cost(r->cache_read, price_in, 1, 10);
  return c;
}
