/* ai_wire.h -- the LLM wire formats, answer parsing and the retry policy.
 *
 * Part of src/ai (listed in ai.h).  These are the pure pieces the panel is
 * built from, public so the tests and the parser's fuzz target can drive
 * them directly:
 *
 *   - request bodies and headers for the two wire formats (Anthropic
 *     Messages; OpenAI-compatible chat completions, which also covers
 *     DeepSeek, xAI Grok, OpenRouter, Ollama and llama.cpp), and the parse
 *     of their replies (text, stop reason, refusal, token usage, error);
 *   - finding the decision object in a model's free text and turning the
 *     whole reply into a checked lb_decision or a HOLD with the reason;
 *   - which failures are retried and how long to wait.
 *
 * Invariants: nothing here does I/O, reads the clock or allocates without
 * saying who frees it; every function is total over arbitrary input bytes
 * (the fuzz target in tests/ai checks the answer parser).
 */
#ifndef LB_AI_WIRE_H
#define LB_AI_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/decision.h"
#include "core/err.h"
#include "core/money.h"
#include "core/time.h"

typedef enum { AI_WIRE_ANTHROPIC = 0, AI_WIRE_OPENAI = 1 } ai_wire;

/* How an OpenAI-compatible request asks for JSON.  Anthropic requests
 * always use AI_JSON_PROMPT (the schema is in the system prompt). */
typedef enum {
  AI_JSON_SCHEMA = 0, /* response_format json_schema, strict */
  AI_JSON_OBJECT = 1, /* response_format json_object (older JSON mode) */
  AI_JSON_PROMPT = 2  /* no response_format: the prompt's instructions only */
} ai_json_mode;

const char *ai_json_mode_name(ai_json_mode m); /* "json_schema", "json_object", "none" */
lb_err ai_json_mode_parse(const char *s, ai_json_mode *out);

/* ==== Requests ==== */

typedef struct {
  ai_wire wire;
  const char *base_url; /* "https://api.anthropic.com", "https://api.openai.com/v1" */
  const char *api_key;  /* "" = no auth header (a local server) */
  const char *model;
  ai_json_mode json_mode;
  bool max_completion_tokens; /* OpenAI itself: max_completion_tokens, not max_tokens */
  int max_tokens;
  double temperature; /* < 0: not sent (some newer models refuse it) */
  const char *title;  /* OpenRouter's X-Title, or NULL */
} ai_request_spec;

/* The URL, the headers ("Name: value" lines, each NUL-terminated, written
 * into hdrs as a list of at most 8) and the JSON body of one request.
 * The body is appended to *body.  The api key appears only in hdrs. */
typedef struct {
  char url[600];
  char hdrs[8][600];
  int n_hdrs;
} ai_request_head;

lb_err ai_request_build(const ai_request_spec *spec, const char *system_prompt,
                        const char *user_msg, ai_request_head *head, lb_buf *body, lb_errbuf *eb);

/* ==== Replies ==== */

typedef enum {
  AI_STOP_END = 0,     /* end_turn / stop / stop_sequence */
  AI_STOP_LENGTH = 1,  /* max_tokens / length: the answer is cut off */
  AI_STOP_REFUSAL = 2, /* Anthropic stop_reason "refusal" or OpenAI message.refusal */
  AI_STOP_FILTER = 3,  /* OpenAI finish_reason content_filter */
  AI_STOP_OTHER = 4    /* tool_use, pause_turn, anything else */
} ai_stop;

typedef struct {
  char *text;    /* the assistant's text (malloc; NULL if none) */
  char *refusal; /* OpenAI message.refusal (malloc; NULL if none) */
  ai_stop stop;
  char stop_raw[32]; /* the provider's word, for the audit row */
  long tokens_in, tokens_out, cache_read, cache_write; /* 0 when not reported */
  bool cache_included; /* cache_read is part of tokens_in (OpenAI style) */
  /* From an error body (any status): type, code and message, or "". */
  char err_type[64], err_code[64], err_msg[200];
} ai_reply;

void ai_reply_init(ai_reply *r);
void ai_reply_close(ai_reply *r);

/* Parses a response body.  For a 2xx status the reply must be the wire's
 * completion object (LB_EPARSE naming the missing field otherwise); for any
 * other status the error object is read if there is one (never an error:
 * an unreadable error body leaves err_* empty). */
lb_err ai_reply_parse(ai_wire wire, long http_status, const char *body, size_t n, ai_reply *out,
                      lb_errbuf *eb);

/* ==== Answers ==== */

/* Largest reply text the parser looks at; longer text is refused. */
#define AI_ANSWER_MAX (64 * 1024)

/* Finds the decision object in a model's reply: a plain object, one fenced
 * with ```json (or bare ```), or one surrounded by prose.  The first
 * balanced JSON object with an "action" key wins (or the first JSON object
 * when none has one, so the schema check names what is missing); a second,
 * different object with "action" makes the answer ambiguous (LB_EPARSE).
 * On success [*off, *off + *len) is the object's text. */
lb_err ai_answer_find_json(const char *text, size_t n, size_t *off, size_t *len, lb_errbuf *eb);

/* A whole reply to a decision: truncated (AI_STOP_LENGTH), refused, filtered
 * or unparsable answers, and answers failing lb_decision_from_json, give an
 * error and *out = HOLD whose reasoning says why (the same text as eb). */
lb_err ai_answer_parse(const char *text, size_t n, ai_stop stop, const char *refusal,
                       const lb_decision_limits *lim, lb_decision *out, lb_errbuf *eb);

/* ==== Retry policy ==== */

typedef enum {
  AI_FAIL_NONE = 0,  /* a 2xx reply */
  AI_FAIL_RETRY = 1, /* timeout, connection error, 408/409/429/5xx/529 */
  AI_FAIL_FATAL = 2  /* 400/401/403/404, spend limit, insufficient quota, bad URL... */
} ai_fail_kind;

/* Classifies one attempt's outcome.  transport_err is 0 for a completed
 * HTTP exchange, else one of AI_TRANSPORT_*; reply holds the parsed error
 * body (may be NULL).  A short reason ("HTTP 429 rate_limit_error",
 * "timeout", "spend limit reached") goes into why. */
enum {
  AI_TRANSPORT_OK = 0,
  AI_TRANSPORT_TIMEOUT = 1,
  AI_TRANSPORT_CONNECT = 2, /* refused, reset, resolve, TLS handshake, empty reply */
  AI_TRANSPORT_OTHER = 3    /* not retryable: bad URL, unsupported protocol */
};
ai_fail_kind ai_classify(int transport_err, long http_status, const ai_reply *reply, char *why,
                         size_t why_n);

/* Retry-After header value: delta seconds ("30", "1.5") or an HTTP date
 * (needs now).  Returns the wait in ms, or -1 if the value is unusable. */
lb_ms ai_retry_after_parse(const char *value, lb_ms now);

/* Wait before attempt number `attempt + 1` after `attempt` (1-based) failed:
 * 2^attempt seconds plus jitter * rand01 of it (rand01 in [0, 1)), or the
 * server's retry_after_ms when it gave one (>= 0).  */
lb_ms ai_backoff_ms(int attempt, double jitter, double rand01, lb_ms retry_after_ms);

/* ==== Cost ==== */

/* USD for a call: (in * price_in + out * price_out) / 1e6, with Anthropic's
 * cache writes at 1.25x and cache reads at 0.1x the input price (they are
 * reported apart from input_tokens).  Prices are USD per million tokens.
 * Rounded half-even to 1e-8. */
lb_dec ai_cost_usd(const ai_reply *r, lb_dec price_in, lb_dec price_out);

#endif
