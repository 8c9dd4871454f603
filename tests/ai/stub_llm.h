/* stub_llm.h -- a scriptable LLM server on 127.0.0.1 for the AI tests.
 *
 * Speaks both wire formats on one port: POST /v1/messages is answered as
 * the Anthropic Messages API, POST <anything>/chat/completions as OpenAI
 * chat completions.  Each request takes the next scripted reply (or the
 * default one when the script is empty); a reply is either a raw body with
 * a status, or an assistant text that the stub wraps in the wire format the
 * request used, with a stop reason and token usage.  Every request is
 * recorded (path, the headers a provider checks, body) so tests can assert
 * what levbot sent and how often.  One thread per connection: a delayed
 * reply holds back no other request, as with a real provider.
 */
#ifndef LB_TESTS_AI_STUB_LLM_H
#define LB_TESTS_AI_STUB_LLM_H

#include <stdbool.h>

typedef struct {
  int status;          /* HTTP status; 0 = 200 */
  int delay_ms;        /* wait before answering */
  const char *text;    /* assistant text wrapped in the request's wire format, or NULL */
  const char *stop;    /* stop_reason / finish_reason for text; NULL = end_turn / stop */
  const char *refusal; /* OpenAI message.refusal (with text NULL) */
  const char *body;    /* raw body instead (text NULL); NULL = "" */
  const char *retry_after;    /* retry-after header, or NULL */
  const char *retry_after_ms; /* retry-after-ms header, or NULL */
  int tokens_in, tokens_out;  /* usage reported with text (0: 1000 / 100; tokens_in < 0:
                               * the request's size / 4, a tokenizer's usual ratio) */
} stub_reply;

typedef struct {
  char path[128];
  char api_key[128];     /* x-api-key */
  char auth[160];        /* Authorization */
  char version[64];      /* anthropic-version */
  char *body;            /* malloc()ed */
} stub_request;

typedef struct stub_llm stub_llm;

/* Starts on 127.0.0.1 with a free port; NULL on failure. */
stub_llm *stub_start(void);
void stub_stop(stub_llm *s);
int stub_port(const stub_llm *s);
/* "http://127.0.0.1:PORT" + suffix ("" or "/v1"), in a static rotating buffer. */
const char *stub_url(const stub_llm *s, const char *suffix);

/* Appends one reply to the script (strings are copied). */
void stub_push(stub_llm *s, const stub_reply *r);
/* The reply used when the script is empty (copied). */
void stub_set_default(stub_llm *s, const stub_reply *r);

int stub_requests(stub_llm *s);
/* Copy of request i (0-based); body malloc()ed, free with stub_request_free. */
bool stub_request_get(stub_llm *s, int i, stub_request *out);
void stub_request_free(stub_request *r);

/* A decision object as text: {"action": action, "confidence": conf, ...},
 * in one of 8 rotating static buffers (copy it to keep it longer). */
const char *stub_decision(const char *action, double conf, int lev, double sl, double tp,
                          const char *regime);

#endif
