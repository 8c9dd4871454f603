/* ai_int.h -- internals of src/ai shared between its files (not a public header).
 *
 * The concurrent HTTP runner with its retry loop, the prompt and hashing
 * helpers.  Only the files of src/ai include this.
 */
#ifndef LB_AI_INT_H
#define LB_AI_INT_H

#include <stdint.h>

#include "ai/ai.h"

/* ==== Concurrent calls with retries (ai_http.c) ==== */

#define AI_ATTEMPTS_MAX 5

typedef struct {
  /* In: one request, asked again unchanged on each attempt. */
  ai_wire wire;
  ai_request_head head;
  lb_buf body;
  /* Out, after ai_calls_run: */
  int attempts;
  long status;        /* HTTP status of the last attempt (0: none) */
  int transport;      /* AI_TRANSPORT_* of the last attempt */
  lb_buf resp;        /* body of the last attempt */
  ai_reply reply;     /* parsed last reply */
  lb_err reply_rc;    /* ai_reply_parse of a 2xx body */
  char reply_err[LB_ERRBUF_SIZE];
  ai_fail_kind fail;  /* AI_FAIL_NONE: a 2xx reply came back */
  char why[200];      /* the last failure, "... after N attempts" */
  lb_ms http_ms;      /* wall time spent in requests */
  lb_ms waited_ms;    /* back-off waited on the clock */
  lb_ms delays[AI_ATTEMPTS_MAX];
  int n_delays;
  /* Private to ai_http.c. */
  void *easy;
  struct curl_slist *slist;
  lb_ms next_at;
  bool in_flight, done;
  lb_ms retry_after_ms;
} ai_call;

void ai_call_init(ai_call *c);
void ai_call_close(ai_call *c);

typedef struct {
  lb_ms timeout_ms;
  int max_attempts;
  double jitter;
  lb_ms max_retry_after_ms;
  const lb_clock *clock;
  uint64_t *rng; /* xorshift state for the jitter */
} ai_retry_policy;

/* Runs every call at once (one libcurl multi handle, `multi`, reused across
 * runs so connections are kept), retrying each as the policy says, until
 * every call has succeeded or given up.  Back-off waits use pol->clock: a
 * call waiting for its next attempt is started when the clock reaches its
 * time (with a manual clock, once no request is in flight).  Returns
 * LB_ENOMEM/LB_EIO only when libcurl itself cannot be driven; the outcome
 * of each call is in the call. */
lb_err ai_calls_run(void *multi, ai_call *calls, int n, const ai_retry_policy *pol, lb_errbuf *eb);

double ai_rand01(uint64_t *state);

/* snprintf that truncates on purpose (reasons and names have fixed-size
 * homes); always NUL-terminates. */
void ai_strf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ==== Prompt and hashing (ai_prompt.c) ==== */

/* Lowercase hex SHA-256 of n bytes (65 bytes with the NUL). */
#define AI_HASH_HEX 65
void ai_sha256_hex(const void *data, size_t n, char out[AI_HASH_HEX]);

/* The built-in system prompt (prompts/system-v1.txt) and its version. */
extern const char ai_prompt_v1_text[];
#define AI_PROMPT_V1_NAME "system-v1"

typedef struct {
  const char *text;   /* the system prompt */
  char *owned;        /* text read from AI_PROMPT_FILE (freed by close) */
  char version[64];   /* "system-v1", or the file's name */
  char hash[AI_HASH_HEX];
} ai_prompt;

/* path NULL or "": the built-in prompt. */
lb_err ai_prompt_load(const char *path, ai_prompt *out, lb_errbuf *eb);
void ai_prompt_close(ai_prompt *p);

/* The user message for one analysis, and the hash of its market part
 * (limits, funding, snapshot: not capital or mark price). */
lb_err ai_user_message(const ta_snapshot *snap, const strategy_context *ctx, double min_confidence,
                       lb_buf *msg, char market_hash[AI_HASH_HEX], lb_errbuf *eb);

#endif
