/* stub_llm.c -- the scriptable LLM server of the AI tests (see stub_llm.h).
 *
 * The replies it builds follow the reference shapes of
 * ../shared/reference/wire-formats.md section C (Anthropic: content blocks,
 * stop_reason, usage.input_tokens; OpenAI: choices[0].message,
 * finish_reason, usage.prompt_tokens), so levbot's parser is tested
 * against the wire, not against itself.
 */
#include "stub_llm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STUB_SCRIPT_MAX 64
#define STUB_LOG_MAX 256

typedef struct {
  stub_reply r;
  char *text, *stop, *refusal, *body, *retry_after, *retry_after_ms;
} owned_reply;

struct stub_llm {
  struct MHD_Daemon *d;
  int port;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stopping;
  owned_reply script[STUB_SCRIPT_MAX];
  int head, tail;
  owned_reply def;
  stub_request log[STUB_LOG_MAX];
  int n_log;
};

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void own(owned_reply *o, const stub_reply *r) {
  o->r = *r;
  o->text = dup_or_null(r->text);
  o->stop = dup_or_null(r->stop);
  o->refusal = dup_or_null(r->refusal);
  o->body = dup_or_null(r->body);
  o->retry_after = dup_or_null(r->retry_after);
  o->retry_after_ms = dup_or_null(r->retry_after_ms);
  o->r.text = o->text;
  o->r.stop = o->stop;
  o->r.refusal = o->refusal;
  o->r.body = o->body;
  o->r.retry_after = o->retry_after;
  o->r.retry_after_ms = o->retry_after_ms;
}

static void disown(owned_reply *o) {
  free(o->text);
  free(o->stop);
  free(o->refusal);
  free(o->body);
  free(o->retry_after);
  free(o->retry_after_ms);
  memset(o, 0, sizeof *o);
}

/* The wire body for a scripted text, in the format of the request path. */
static char *wire_body(const stub_reply *r, bool anthropic, size_t request_len) {
  /* tokens_in < 0: about four bytes per token of the request, as a
   * provider's tokenizer counts English text and JSON. */
  int tin = r->tokens_in < 0 ? (int)(request_len / 4) : r->tokens_in ? r->tokens_in : 1000;
  int tout = r->tokens_out ? r->tokens_out : 100;
  json_t *o;
  if (anthropic) {
    o = json_pack("{s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:s, s:n, s:{s:i, s:i, s:i, s:i}}", "id",
                  "msg_01stub", "type", "message", "role", "assistant", "model", "stub-model",
                  "content", "type", "text", "text", r->text ? r->text : "", "stop_reason",
                  r->stop ? r->stop : "end_turn", "stop_sequence", "usage", "input_tokens", tin,
                  "output_tokens", tout, "cache_creation_input_tokens", 0,
                  "cache_read_input_tokens", 0);
  } else {
    json_t *content = r->text ? json_string(r->text) : json_null();
    json_t *refusal = r->refusal ? json_string(r->refusal) : json_null();
    o = json_pack("{s:s, s:s, s:i, s:s, s:[{s:i, s:{s:s, s:o, s:o}, s:s}], s:{s:i, s:i, s:i}}",
                  "id", "chatcmpl-stub", "object", "chat.completion", "created", 1741570283,
                  "model", "stub-model", "choices", "index", 0, "message", "role", "assistant",
                  "content", content, "refusal", refusal, "finish_reason",
                  r->stop ? r->stop : "stop", "usage", "prompt_tokens", tin,
                  "completion_tokens", tout, "total_tokens", tin + tout);
  }
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

/* Waits ms unless the stub is stopping (so a slow reply never delays the
 * test's teardown). */
static void stub_wait(stub_llm *s, int ms) {
  if (ms <= 0) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += ms / 1000;
  ts.tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  pthread_mutex_lock(&s->mu);
  while (!s->stopping && pthread_cond_timedwait(&s->cv, &s->mu, &ts) != ETIMEDOUT) {
  }
  pthread_mutex_unlock(&s->mu);
}

typedef struct {
  char *buf;
  size_t len;
} upload;

static void copy_hdr(struct MHD_Connection *c, const char *name, char *out, size_t n) {
  const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
  snprintf(out, n, "%s", v ? v : "");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *data,
                              size_t *data_size, void **con_cls) {
  (void)version;
  stub_llm *s = cls;
  upload *u = *con_cls;
  if (!u) {
    u = calloc(1, sizeof *u);
    if (!u) return MHD_NO;
    *con_cls = u;
    return MHD_YES;
  }
  if (*data_size) {
    char *p = realloc(u->buf, u->len + *data_size + 1);
    if (!p) return MHD_NO;
    memcpy(p + u->len, data, *data_size);
    u->buf = p;
    u->len += *data_size;
    u->buf[u->len] = '\0';
    *data_size = 0;
    return MHD_YES;
  }
  bool anthropic = strstr(url, "/v1/messages") != NULL;
  bool known = strcmp(method, "POST") == 0 && (anthropic || strstr(url, "/chat/completions"));

  owned_reply r;
  memset(&r, 0, sizeof r);
  pthread_mutex_lock(&s->mu);
  if (s->n_log < STUB_LOG_MAX) {
    stub_request *q = &s->log[s->n_log++];
    snprintf(q->path, sizeof q->path, "%s", url);
    copy_hdr(conn, "x-api-key", q->api_key, sizeof q->api_key);
    copy_hdr(conn, "Authorization", q->auth, sizeof q->auth);
    copy_hdr(conn, "anthropic-version", q->version, sizeof q->version);
    q->body = strdup(u->buf ? u->buf : "");
  }
  if (s->head != s->tail) {
    r = s->script[s->head];
    s->head = (s->head + 1) % STUB_SCRIPT_MAX;
  } else {
    own(&r, &s->def.r);
  }
  pthread_mutex_unlock(&s->mu);

  stub_wait(s, r.r.delay_ms);
  char *body;
  int status = r.r.status ? r.r.status : 200;
  if (!known) {
    body = strdup("{\"error\":{\"type\":\"not_found_error\",\"message\":\"no such path\"}}");
    status = 404;
  } else if (r.r.text || r.r.refusal) {
    body = wire_body(&r.r, anthropic, u->len);
  } else {
    body = strdup(r.r.body ? r.r.body : "");
  }
  struct MHD_Response *resp =
      MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(resp, "Content-Type", "application/json");
  if (r.r.retry_after) MHD_add_response_header(resp, "retry-after", r.r.retry_after);
  if (r.r.retry_after_ms) MHD_add_response_header(resp, "retry-after-ms", r.r.retry_after_ms);
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
  MHD_destroy_response(resp);
  disown(&r);
  return ret;
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)conn;
  (void)toe;
  upload *u = *con_cls;
  if (u) {
    free(u->buf);
    free(u);
  }
  *con_cls = NULL;
}

stub_llm *stub_start(void) {
  stub_llm *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  s->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION, 0, NULL,
                          NULL, handle, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
                          MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
  if (!s->d) {
    stub_stop(s);
    return NULL;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info ? info->port : 0;
  stub_reply def = {.text = "{\"action\": \"HOLD\", \"confidence\": 0.5, \"leverage\": 1, "
                            "\"stop_loss_percent\": 0.07, \"take_profit_percent\": 0.14, "
                            "\"market_regime\": \"ranging\", \"reasoning\": \"stub default\"}"};
  own(&s->def, &def);
  return s;
}

void stub_stop(stub_llm *s) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  s->stopping = true;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  if (s->d) MHD_stop_daemon(s->d);
  while (s->head != s->tail) {
    disown(&s->script[s->head]);
    s->head = (s->head + 1) % STUB_SCRIPT_MAX;
  }
  disown(&s->def);
  for (int i = 0; i < s->n_log; i++) free(s->log[i].body);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  free(s);
}

int stub_port(const stub_llm *s) { return s->port; }

const char *stub_url(const stub_llm *s, const char *suffix) {
  static char bufs[4][96];
  static int k;
  char *b = bufs[k++ % 4];
  snprintf(b, sizeof bufs[0], "http://127.0.0.1:%d%s", s->port, suffix);
  return b;
}

void stub_push(stub_llm *s, const stub_reply *r) {
  pthread_mutex_lock(&s->mu);
  int next = (s->tail + 1) % STUB_SCRIPT_MAX;
  if (next != s->head) {
    own(&s->script[s->tail], r);
    s->tail = next;
  }
  pthread_mutex_unlock(&s->mu);
}

void stub_set_default(stub_llm *s, const stub_reply *r) {
  pthread_mutex_lock(&s->mu);
  disown(&s->def);
  own(&s->def, r);
  pthread_mutex_unlock(&s->mu);
}

int stub_requests(stub_llm *s) {
  pthread_mutex_lock(&s->mu);
  int n = s->n_log;
  pthread_mutex_unlock(&s->mu);
  return n;
}

bool stub_request_get(stub_llm *s, int i, stub_request *out) {
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&s->mu);
  bool ok = i >= 0 && i < s->n_log;
  if (ok) {
    *out = s->log[i];
    out->body = strdup(s->log[i].body ? s->log[i].body : "");
  }
  pthread_mutex_unlock(&s->mu);
  return ok;
}

void stub_request_free(stub_request *r) {
  free(r->body);
  r->body = NULL;
}

const char *stub_decision(const char *action, double conf, int lev, double sl, double tp,
                          const char *regime) {
  static char bufs[8][512];
  static int k;
  char *b = bufs[k++ % 8];
  snprintf(b, sizeof bufs[0],
           "{\"action\": \"%s\", \"confidence\": %g, \"leverage\": %d, \"stop_loss_percent\": %g, "
           "\"take_profit_percent\": %g, \"market_regime\": \"%s\", \"reasoning\": \"stub %s\"}",
           action, conf, lev, sl, tp, regime, action);
  return b;
}
