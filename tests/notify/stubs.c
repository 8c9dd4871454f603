/* stubs.c -- the local peers of the notify tests (see stubs.h). */
#include "stubs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "unit.h"

/* ==== Clock and waiting ==== */

static lb_ms tc_now(void *ctx) { return atomic_load(&((tclock *)ctx)->now); }
static void tc_sleep(void *ctx, lb_ms d) {
  if (d > 0) atomic_fetch_add(&((tclock *)ctx)->now, d);
}
lb_clock tclock_bind(tclock *c) {
  lb_clock k = {tc_now, tc_sleep, c};
  return k;
}
void tclock_set(tclock *c, lb_ms t) { atomic_store(&c->now, t); }
void tclock_advance(tclock *c, lb_ms d) { atomic_fetch_add(&c->now, d); }

void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

bool wait_for(bool (*pred)(void *), void *ctx, int timeout_ms) {
  for (int waited = 0; waited <= timeout_ms; waited += 2) {
    if (pred(ctx)) return true;
    sleep_ms(2);
  }
  return pred(ctx);
}

long long get_stat(notify_queue *q, int ch, stat_kind k) {
  notify_stats st;
  notify_queue_stats(q, &st);
  const notify_channel_stats *c = &st.ch[ch];
  switch (k) {
  case ST_DELIVERED: return (long long)c->delivered;
  case ST_RETRIES: return (long long)c->retries;
  case ST_FAILED: return (long long)c->failed;
  case ST_QUEUED: return (long long)c->queued;
  case ST_DROPPED: return (long long)c->dropped;
  case ST_COMMANDS: return (long long)st.commands;
  case ST_FOREIGN: return (long long)st.foreign_updates;
  case ST_POLL_ERRORS: return (long long)st.poll_errors;
  case ST_IN_FLIGHT: return c->in_flight;
  }
  return -1;
}

typedef struct {
  notify_queue *q;
  int ch;
  stat_kind k;
  long long n;
} stat_wait;

static bool stat_reached(void *ctx) {
  stat_wait *w = ctx;
  long long v = get_stat(w->q, w->ch, w->k);
  return w->k == ST_QUEUED ? v == w->n : v >= w->n;
}

bool wait_stat(notify_queue *q, int ch, stat_kind k, long long n) {
  stat_wait w = {q, ch, k, n};
  return wait_for(stat_reached, &w, WAIT_MS);
}

static char *cap_text;
static size_t cap_len;
static FILE *cap_file;

void log_capture_start(void) {
  cap_file = open_memstream(&cap_text, &cap_len);
  lb_log_setup(LB_LOG_DEBUG, LB_LOG_HUMAN, cap_file);
}

char *log_capture_end(void) {
  lb_log_setup(LB_LOG_INFO, LB_LOG_HUMAN, NULL);
  fclose(cap_file);
  cap_file = NULL;
  return cap_text;
}

int count_substr(const char *hay, const char *needle) {
  int n = 0;
  for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle)) n++;
  return n;
}

char *jdup(const char *s) {
  char *d = strdup(s);
  if (!d) abort();
  return d;
}

/* ==== Generic HTTP stub ==== */

typedef struct {
  lb_buf body;
} hconn;

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls) {
  hstub *h = cls;
  (void)version;
  if (!*con_cls) {
    hconn *hc = calloc(1, sizeof *hc);
    if (!hc) return MHD_NO;
    lb_buf_init(&hc->body);
    *con_cls = hc;
    return MHD_YES;
  }
  hconn *hc = *con_cls;
  if (*upload_size) {
    lb_buf_append(&hc->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  hreq rq;
  memset(&rq, 0, sizeof rq);
  snprintf(rq.method, sizeof rq.method, "%s", method);
  snprintf(rq.url, sizeof rq.url, "%s", url);
  rq.body = hc->body.data;
  rq.body_len = hc->body.len;
  const char *v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
  snprintf(rq.auth, sizeof rq.auth, "%s", v ? v : "");
  v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Type");
  snprintf(rq.ctype, sizeof rq.ctype, "%s", v ? v : "");
  hresp rs = {200, NULL, ""};
  pthread_mutex_lock(&h->mu);
  h->requests++;
  h->fn(h, &rq, &rs);
  pthread_mutex_unlock(&h->mu);
  if (!rs.body) rs.body = jdup("{}");
  struct MHD_Response *r =
      MHD_create_response_from_buffer(strlen(rs.body), rs.body, MHD_RESPMEM_MUST_FREE);
  MHD_add_response_header(r, "Content-Type", "application/json");
  if (rs.retry_after[0]) MHD_add_response_header(r, "Retry-After", rs.retry_after);
  enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rs.status, r);
  MHD_destroy_response(r);
  return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  hconn *hc = *con_cls;
  if (hc) {
    lb_buf_free(&hc->body);
    free(hc);
    *con_cls = NULL;
  }
}

bool hstub_start(hstub *h, hstub_fn fn, int port) {
  if (!h->fn) { /* first start */
    pthread_mutex_init(&h->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->cv, &ca);
    pthread_condattr_destroy(&ca);
  }
  h->fn = fn;
  h->stopping = false;
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_port = htons((uint16_t)port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
                          (uint16_t)port, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, &a,
                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                          MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, MHD_OPTION_END);
  if (!h->d) return false;
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info ? info->port : 0;
  return h->port > 0;
}

void hstub_stop(hstub *h) {
  if (!h->d) return;
  pthread_mutex_lock(&h->mu);
  h->stopping = true; /* long polls give up */
  pthread_cond_broadcast(&h->cv);
  pthread_mutex_unlock(&h->mu);
  MHD_stop_daemon(h->d);
  h->d = NULL;
}

void hstub_destroy(hstub *h) {
  hstub_stop(h);
  if (h->fn) {
    pthread_mutex_destroy(&h->mu);
    pthread_cond_destroy(&h->cv);
  }
}

static void deadline_in(struct timespec *ts, int ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += ms / 1000;
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

/* ==== Telegram ==== */

/* Telegram's HTML parse mode: these tags, balanced; & only in entities. */
const char *tg_html_check(const char *text, char *err, size_t n) {
  static const char *const tags[] = {"b", "strong", "i", "em", "u", "ins", "s", "strike",
                                     "del", "code", "pre", "tg-spoiler"};
  char stack[32][16];
  int depth = 0;
  for (const char *p = text; *p; p++) {
    if (*p == '&') {
      const char *semi = strchr(p, ';');
      size_t len = semi ? (size_t)(semi - p) : 0;
      bool ok = semi && ((len == 4 && strncmp(p, "&amp", 4) == 0) ||
                         (len == 3 && (strncmp(p, "&lt", 3) == 0 || strncmp(p, "&gt", 3) == 0)) ||
                         (len == 5 && strncmp(p, "&quot", 5) == 0));
      if (!ok) return snprintf(err, n, "unsupported entity at \"%.12s\"", p), err;
      p = semi;
    } else if (*p == '>') {
      return snprintf(err, n, "stray '>'"), err; /* Telegram accepts it; we never send it */
    } else if (*p == '<') {
      const char *gt = strchr(p, '>');
      if (!gt) return snprintf(err, n, "unclosed tag"), err;
      bool close = p[1] == '/';
      char name[16];
      size_t len = (size_t)(gt - p - 1 - close);
      if (len == 0 || len >= sizeof name) return snprintf(err, n, "bad tag"), err;
      memcpy(name, p + 1 + close, len);
      name[len] = '\0';
      bool known = false;
      for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) known |= strcmp(name, tags[i]) == 0;
      if (!known) return snprintf(err, n, "unsupported start tag \"%s\"", name), err;
      if (close) {
        if (depth == 0 || strcmp(stack[depth - 1], name) != 0)
          return snprintf(err, n, "can't find end tag corresponding to start tag \"%s\"", name), err;
        depth--;
      } else {
        if (depth == 32) return snprintf(err, n, "too deep"), err;
        snprintf(stack[depth++], sizeof stack[0], "%s", name);
      }
      p = gt;
    }
  }
  if (depth) return snprintf(err, n, "unclosed tag \"%s\"", stack[depth - 1]), err;
  return NULL;
}

static char *tg_error(int code, const char *desc, int retry_after) {
  json_t *o = json_pack("{s:b, s:i, s:s}", "ok", 0, "error_code", code, "description", desc);
  if (retry_after > 0)
    json_object_set_new(o, "parameters", json_pack("{s:i}", "retry_after", retry_after));
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

static void tg_send(tgstub *s, json_t *body, hresp *rs) {
  s->attempts++;
  if (s->script_pos < s->n_script) {
    int st = s->script[s->script_pos].status, ra = s->script[s->script_pos].retry_after;
    s->script_pos++;
    rs->status = st;
    char desc[64];
    if (st == 429) snprintf(desc, sizeof desc, "Too Many Requests: retry after %d", ra);
    else snprintf(desc, sizeof desc, "Scripted failure %d", st);
    rs->body = tg_error(st, desc, st == 429 ? ra : 0);
    return;
  }
  json_t *chat = json_object_get(body, "chat_id");
  json_t *text = json_object_get(body, "text");
  const char *pm = json_string_value(json_object_get(body, "parse_mode"));
  if (!json_is_string(text) || json_string_length(text) == 0 ||
      !(json_is_integer(chat) || json_is_string(chat))) {
    rs->status = 400;
    rs->body = tg_error(400, "Bad Request: message text is empty", 0);
    return;
  }
  char err[200];
  if (pm && strcmp(pm, "HTML") == 0 && tg_html_check(json_string_value(text), err, sizeof err)) {
    s->html_errors++;
    snprintf(s->html_error, sizeof s->html_error, "%s", err);
    char desc[300];
    snprintf(desc, sizeof desc, "Bad Request: can't parse entities: %s", err);
    rs->status = 400;
    rs->body = tg_error(400, desc, 0);
    return;
  }
  long long cid = json_is_integer(chat) ? json_integer_value(chat)
                                        : strtoll(json_string_value(chat), NULL, 10);
  if (s->n_sent < TG_MAX) {
    s->texts[s->n_sent] = jdup(json_string_value(text));
    s->chats[s->n_sent] = cid;
    s->n_sent++;
  }
  snprintf(s->parse_mode, sizeof s->parse_mode, "%s", pm ? pm : "");
  json_t *o = json_pack("{s:b, s:{s:i, s:{s:I, s:s}, s:i, s:O}}", "ok", 1, "result", "message_id",
                        s->n_sent, "chat", "id", (json_int_t)cid, "type", "private", "date",
                        1709294400, "text", text);
  rs->body = json_dumps(o, JSON_COMPACT);
  json_decref(o);
}

static void tg_updates(tgstub *s, json_t *body, hresp *rs) {
  json_t *off = json_object_get(body, "offset");
  json_t *to = json_object_get(body, "timeout");
  long long offset = json_is_integer(off) ? json_integer_value(off) : 0;
  int timeout = json_is_integer(to) ? (int)json_integer_value(to) : 0;
  s->polls++;
  s->last_offset = offset;
  /* Real long polling, capped so the tests stay quick. */
  int wait = timeout * 1000 < s->poll_wait_ms ? timeout * 1000 : s->poll_wait_ms;
  struct timespec dl;
  deadline_in(&dl, wait);
  json_t *res = json_array();
  for (;;) {
    for (int i = 0; i < s->n_updates; i++)
      if (s->update_ids[i] >= offset) json_array_append_new(res, json_loads(s->updates[i], 0, NULL));
    if (json_array_size(res) || wait <= 0 || s->h.stopping) break;
    if (pthread_cond_timedwait(&s->h.cv, &s->h.mu, &dl) != 0) wait = 0;
  }
  json_t *o = json_pack("{s:b, s:o}", "ok", 1, "result", res);
  rs->body = json_dumps(o, JSON_COMPACT);
  json_decref(o);
}

static void tg_fn(hstub *h, const hreq *rq, hresp *rs) {
  tgstub *s = (tgstub *)h;
  char prefix[160];
  snprintf(prefix, sizeof prefix, "/bot%s/", s->token);
  if (strncmp(rq->url, prefix, strlen(prefix)) != 0) {
    rs->status = 401;
    rs->body = tg_error(401, "Unauthorized", 0);
    return;
  }
  const char *method = rq->url + strlen(prefix);
  json_t *body = json_loadb(rq->body ? rq->body : "", rq->body_len, 0, NULL);
  if (strcmp(rq->method, "POST") != 0 || !json_is_object(body) ||
      strncmp(rq->ctype, "application/json", 16) != 0) {
    rs->status = 400;
    rs->body = tg_error(400, "Bad Request: expected a JSON POST", 0);
  } else if (strcmp(method, "sendMessage") == 0) {
    tg_send(s, body, rs);
  } else if (strcmp(method, "getUpdates") == 0) {
    tg_updates(s, body, rs);
  } else {
    rs->status = 404;
    rs->body = tg_error(404, "Not Found", 0);
  }
  json_decref(body);
}

bool tgstub_start(tgstub *s, const char *token) {
  memset(s, 0, sizeof *s);
  snprintf(s->token, sizeof s->token, "%s", token);
  s->poll_wait_ms = 150;
  s->next_update_id = 815000001;
  return hstub_start(&s->h, tg_fn, 0);
}

bool tgstub_restart(tgstub *s) { return hstub_start(&s->h, tg_fn, s->h.port); }

void tgstub_free(tgstub *s) {
  hstub_destroy(&s->h);
  for (int i = 0; i < s->n_sent; i++) free(s->texts[i]);
  for (int i = 0; i < s->n_updates; i++) free(s->updates[i]);
}

void tgstub_script(tgstub *s, int status, int retry_after) {
  pthread_mutex_lock(&s->h.mu);
  s->script[s->n_script].status = status;
  s->script[s->n_script].retry_after = retry_after;
  s->n_script++;
  pthread_mutex_unlock(&s->h.mu);
}

void tgstub_push_update(tgstub *s, long long chat_id, lb_ms date, const char *text) {
  pthread_mutex_lock(&s->h.mu);
  long long id = s->next_update_id++;
  json_t *u = json_pack("{s:I, s:{s:i, s:{s:I, s:b, s:s}, s:{s:I, s:s}, s:I, s:s}}", "update_id",
                        (json_int_t)id, "message", "message_id", s->n_updates + 1, "from", "id",
                        (json_int_t)chat_id, "is_bot", 0, "first_name", "A", "chat", "id",
                        (json_int_t)chat_id, "type", "private", "date",
                        (json_int_t)(date / 1000), "text", text);
  s->updates[s->n_updates] = json_dumps(u, JSON_COMPACT);
  s->update_ids[s->n_updates++] = id;
  json_decref(u);
  pthread_cond_broadcast(&s->h.cv);
  pthread_mutex_unlock(&s->h.mu);
}

int tgstub_sent(tgstub *s) {
  pthread_mutex_lock(&s->h.mu);
  int n = s->n_sent;
  pthread_mutex_unlock(&s->h.mu);
  return n;
}

char *tgstub_text(tgstub *s, int i) {
  pthread_mutex_lock(&s->h.mu);
  char *t = i >= 0 && i < s->n_sent ? jdup(s->texts[i]) : NULL;
  pthread_mutex_unlock(&s->h.mu);
  return t;
}

void tgstub_base_url(tgstub *s, char *buf, size_t n) {
  snprintf(buf, n, "http://127.0.0.1:%d", s->h.port);
}

/* ==== Twilio ==== */

static void url_decode(const char *in, size_t n, char *out, size_t cap) {
  size_t k = 0;
  for (size_t i = 0; i < n && k + 1 < cap; i++) {
    if (in[i] == '+') out[k++] = ' ';
    else if (in[i] == '%' && i + 2 < n) {
      char hex[3] = {in[i + 1], in[i + 2], 0};
      out[k++] = (char)strtol(hex, NULL, 16);
      i += 2;
    } else out[k++] = in[i];
  }
  out[k] = '\0';
}

static bool form_get(const char *body, const char *key, char *out, size_t cap) {
  size_t kl = strlen(key);
  for (const char *p = body; p && *p;) {
    const char *amp = strchr(p, '&');
    size_t len = amp ? (size_t)(amp - p) : strlen(p);
    if (len > kl && strncmp(p, key, kl) == 0 && p[kl] == '=') {
      url_decode(p + kl + 1, len - kl - 1, out, cap);
      return true;
    }
    p = amp ? amp + 1 : NULL;
  }
  return false;
}

static char *tw_error(int code, const char *msg, int status) {
  json_t *o = json_pack("{s:i, s:s, s:s, s:i}", "code", code, "message", msg, "more_info",
                        "https://www.twilio.com/docs/errors", "status", status);
  char *s = json_dumps(o, JSON_COMPACT);
  json_decref(o);
  return s;
}

static void tw_fn(hstub *h, const hreq *rq, hresp *rs) {
  twstub *s = (twstub *)h;
  char path[256], want[256], dec[256] = "";
  snprintf(path, sizeof path, "/2010-04-01/Accounts/%s/Messages.json", s->sid);
  snprintf(want, sizeof want, "%s:%s", s->sid, s->token);
  if (strncmp(rq->auth, "Basic ", 6) == 0) {
    unsigned char raw[256];
    int n = EVP_DecodeBlock(raw, (const unsigned char *)rq->auth + 6, (int)strlen(rq->auth + 6));
    if (n > 0 && n < (int)sizeof dec) {
      memcpy(dec, raw, (size_t)n);
      dec[n] = '\0';
      /* EVP_DecodeBlock keeps the padding's zero bytes: the string ends at the first */
    }
  }
  if (strcmp(rq->method, "POST") != 0 || strcmp(rq->url, path) != 0) {
    rs->status = 404;
    rs->body = tw_error(20404, "The requested resource was not found", 404);
    return;
  }
  if (strcmp(dec, want) != 0) {
    s->auth_failures++;
    rs->status = 401;
    rs->body = tw_error(20003, "Authenticate", 401);
    return;
  }
  if (s->script_pos < s->n_script) {
    rs->status = s->script[s->script_pos++];
    if (rs->status == 429) snprintf(rs->retry_after, sizeof rs->retry_after, "2");
    rs->body = tw_error(rs->status == 429 ? 20429 : 20500, "Scripted failure", rs->status);
    return;
  }
  twmsg m;
  memset(&m, 0, sizeof m);
  const char *b = rq->body ? rq->body : "";
  bool ok = strncmp(rq->ctype, "application/x-www-form-urlencoded", 33) == 0 &&
            form_get(b, "To", m.to, sizeof m.to) && form_get(b, "Body", m.body, sizeof m.body);
  bool from = form_get(b, "From", m.from, sizeof m.from);
  bool svc = form_get(b, "MessagingServiceSid", m.service, sizeof m.service);
  if (!ok || from == svc) {
    s->bad_requests++;
    rs->status = 400;
    rs->body = tw_error(21604, "A 'To' phone number, a 'From' phone number and a 'Body' are required.", 400);
    return;
  }
  if (s->n < 64) s->msgs[s->n++] = m;
  json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:n, s:n}", "sid",
                        "SM0123456789abcdef0123456789abcdef", "status", "queued", "to", m.to, "from",
                        from ? m.from : "", "body", m.body, "direction", "outbound-api",
                        "error_code", "error_message");
  rs->status = 201;
  rs->body = json_dumps(o, JSON_COMPACT);
  json_decref(o);
}

bool twstub_start(twstub *s, const char *sid, const char *token) {
  memset(s, 0, sizeof *s);
  snprintf(s->sid, sizeof s->sid, "%s", sid);
  snprintf(s->token, sizeof s->token, "%s", token);
  return hstub_start(&s->h, tw_fn, 0);
}

void twstub_free(twstub *s) { hstub_destroy(&s->h); }

/* ==== Webhook ==== */

static void hook_fn(hstub *h, const hreq *rq, hresp *rs) {
  hookstub *s = (hookstub *)h;
  s->attempts++;
  if (s->script_pos < s->n_script) {
    int i = s->script_pos++;
    rs->status = s->script[i];
    if (s->script_retry_after[i] > 0)
      snprintf(rs->retry_after, sizeof rs->retry_after, "%d", s->script_retry_after[i]);
    rs->body = jdup("{\"message\":\"scripted\"}");
    return;
  }
  json_t *o = json_loadb(rq->body ? rq->body : "", rq->body_len, 0, NULL);
  bool ok = json_is_object(o) && strncmp(rq->ctype, "application/json", 16) == 0;
  json_decref(o);
  if (!ok) {
    rs->status = 400;
    rs->body = jdup("{\"message\":\"Cannot send an empty message\"}");
    return;
  }
  if (s->n < 128) {
    s->bodies[s->n] = jdup(rq->body);
    snprintf(s->auth[s->n], sizeof s->auth[0], "%.255s", rq->auth);
    s->n++;
  }
  rs->status = 204;
  rs->body = jdup("");
}

bool hookstub_start(hookstub *s) {
  memset(s, 0, sizeof *s);
  return hstub_start(&s->h, hook_fn, 0);
}

void hookstub_free(hookstub *s) {
  hstub_destroy(&s->h);
  for (int i = 0; i < s->n; i++) free(s->bodies[i]);
}

void hookstub_script(hookstub *s, int status, int retry_after) {
  pthread_mutex_lock(&s->h.mu);
  s->script[s->n_script] = status;
  s->script_retry_after[s->n_script] = retry_after;
  s->n_script++;
  pthread_mutex_unlock(&s->h.mu);
}

/* ==== Listening sockets ==== */

static int listen_local(int *port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a;
  memset(&a, 0, sizeof a);
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t al = sizeof a;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
      getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}

/* ==== SMTP ==== */

static SSL_CTX *make_tls(const char *ca_path) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *x = X509_new();
  SSL_CTX *ctx = NULL;
  if (!key || !x) goto out;
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME *name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"127.0.0.1", -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
  const char *exts[][2] = {{"subjectAltName", "IP:127.0.0.1"},
                           {"basicConstraints", "critical,CA:TRUE"},
                           {"keyUsage", "critical,digitalSignature,keyCertSign"}};
  for (size_t i = 0; i < 3; i++) {
    X509_EXTENSION *e = X509V3_EXT_conf(NULL, &v3, exts[i][0], exts[i][1]);
    if (!e) goto out;
    X509_add_ext(x, e, -1);
    X509_EXTENSION_free(e);
  }
  if (!X509_sign(x, key, EVP_sha256())) goto out;
  FILE *f = fopen(ca_path, "w");
  if (!f) goto out;
  PEM_write_X509(f, x);
  fclose(f);
  ctx = SSL_CTX_new(TLS_server_method());
  if (ctx && (SSL_CTX_use_certificate(ctx, x) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)) {
    SSL_CTX_free(ctx);
    ctx = NULL;
  }
out:
  X509_free(x);
  EVP_PKEY_free(key);
  return ctx;
}

typedef struct {
  smtpstub *s;
  int fd;
  SSL *ssl;
  char buf[8192];
  size_t len;
} sconn;

static bool sc_write(sconn *c, const char *text) {
  size_t n = strlen(text);
  if (c->ssl) return SSL_write(c->ssl, text, (int)n) == (int)n;
  return send(c->fd, text, n, MSG_NOSIGNAL) == (ssize_t)n;
}

/* One line into out, without its line end unless raw; false on EOF, error
 * or stop. */
static bool sc_read(sconn *c, char *out, size_t cap, bool raw) {
  for (;;) {
    char *nl = memchr(c->buf, '\n', c->len);
    if (nl) {
      size_t l = (size_t)(nl - c->buf) + 1;
      size_t keep = raw ? l : l - 1 - (l >= 2 && c->buf[l - 2] == '\r');
      if (keep >= cap) keep = cap - 1;
      memcpy(out, c->buf, keep);
      out[keep] = '\0';
      memmove(c->buf, c->buf + l, c->len - l);
      c->len -= l;
      return true;
    }
    if (c->len == sizeof c->buf) return false;
    if (!(c->ssl && SSL_pending(c->ssl))) {
      struct pollfd p = {c->fd, POLLIN, 0};
      int r = poll(&p, 1, 50);
      if (atomic_load(&c->s->stopping)) return false;
      if (r <= 0) continue;
    }
    int n = c->ssl ? SSL_read(c->ssl, c->buf + c->len, (int)(sizeof c->buf - c->len))
                   : (int)recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
    if (n <= 0) return false;
    c->len += (size_t)n;
  }
}

static bool sc_line(sconn *c, char *out, size_t cap) { return sc_read(c, out, cap, false); }

static bool sc_tls(sconn *c) {
  c->ssl = SSL_new(c->s->ssl_ctx);
  SSL_set_fd(c->ssl, c->fd);
  c->len = 0; /* nothing from before the handshake may be used (RFC 3207) */
  return SSL_accept(c->ssl) == 1;
}

static bool check_auth(smtpstub *s, const char *user, const char *pass) {
  return strcmp(user, s->user) == 0 && strcmp(pass, s->pass) == 0;
}

static int b64dec(const char *in, char *out, size_t cap) {
  unsigned char raw[512];
  size_t l = strlen(in);
  if (l == 0 || l > 600 || l % 4) return -1;
  int n = EVP_DecodeBlock(raw, (const unsigned char *)in, (int)l);
  if (n < 0) return -1;
  while (l > 0 && in[l - 1] == '=') n--, l--;
  if ((size_t)n >= cap) return -1;
  memcpy(out, raw, (size_t)n);
  out[n] = '\0';
  return n;
}

static void smtp_session(sconn *c) {
  smtpstub *s = c->s;
  char line[2048], tmp[512];
  bool authed = false, ehlo = false;
  smtpmsg cur;
  memset(&cur, 0, sizeof cur);
  if (s->mode == SMTP_IMPLICIT && !sc_tls(c)) return;
  pthread_mutex_lock(&s->mu);
  s->sessions++;
  s->tls_sessions += c->ssl != NULL;
  pthread_mutex_unlock(&s->mu);
  sc_write(c, "220 stub.local ESMTP ready\r\n");
  while (sc_line(c, line, sizeof line)) {
    if (strncasecmp(line, "EHLO ", 5) == 0) {
      ehlo = true;
      char r[256];
      snprintf(r, sizeof r, "250-stub.local\r\n%s250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
               s->mode == SMTP_STARTTLS && !c->ssl ? "250-STARTTLS\r\n" : "");
      sc_write(c, r);
    } else if (strcasecmp(line, "STARTTLS") == 0 && s->mode == SMTP_STARTTLS && !c->ssl) {
      sc_write(c, "220 2.0.0 Ready to start TLS\r\n");
      if (!sc_tls(c)) return;
      pthread_mutex_lock(&s->mu);
      s->tls_sessions++;
      pthread_mutex_unlock(&s->mu);
      ehlo = authed = false;
    } else if (strncasecmp(line, "AUTH PLAIN", 10) == 0) {
      char dec[300];
      if (line[10] == ' ') snprintf(tmp, sizeof tmp, "%.500s", line + 11);
      else if (!sc_write(c, "334 \r\n") || !sc_line(c, tmp, sizeof tmp)) return;
      int n = b64dec(tmp, dec, sizeof dec);
      /* authzid \0 authcid \0 password */
      const char *u = n > 0 ? memchr(dec, '\0', (size_t)n) : NULL;
      const char *p = u ? memchr(u + 1, '\0', (size_t)(dec + n - u - 1)) : NULL;
      if (p && check_auth(s, u + 1, p + 1)) {
        authed = true;
        snprintf(cur.user, sizeof cur.user, "%s", u + 1);
        sc_write(c, "235 2.7.0 Authentication successful\r\n");
      } else {
        pthread_mutex_lock(&s->mu);
        s->auth_failures++;
        pthread_mutex_unlock(&s->mu);
        sc_write(c, "535 5.7.8 Authentication credentials invalid\r\n");
      }
    } else if (strcasecmp(line, "AUTH LOGIN") == 0) {
      char u[128], p[128], b1[256], b2[256];
      if (!sc_write(c, "334 VXNlcm5hbWU6\r\n") || !sc_line(c, b1, sizeof b1) ||
          !sc_write(c, "334 UGFzc3dvcmQ6\r\n") || !sc_line(c, b2, sizeof b2))
        return;
      if (b64dec(b1, u, sizeof u) >= 0 && b64dec(b2, p, sizeof p) >= 0 && check_auth(s, u, p)) {
        authed = true;
        snprintf(cur.user, sizeof cur.user, "%.63s", u);
        sc_write(c, "235 2.7.0 Authentication successful\r\n");
      } else {
        pthread_mutex_lock(&s->mu);
        s->auth_failures++;
        pthread_mutex_unlock(&s->mu);
        sc_write(c, "535 5.7.8 Authentication credentials invalid\r\n");
      }
    } else if (strncasecmp(line, "MAIL FROM:", 10) == 0) {
      bool need_auth = s->user[0] && !authed;
      pthread_mutex_lock(&s->mu);
      bool fail = s->fail_mail_from > 0;
      if (fail) s->fail_mail_from--;
      pthread_mutex_unlock(&s->mu);
      if (!ehlo) sc_write(c, "503 5.5.1 EHLO first\r\n");
      else if (need_auth) sc_write(c, "530 5.7.0 Authentication required\r\n");
      else if (fail) sc_write(c, "451 4.3.0 Try again later\r\n");
      else {
        snprintf(cur.from, sizeof cur.from, "%.255s", line + 10);
        cur.n_rcpt = 0;
        sc_write(c, "250 2.1.0 Ok\r\n");
      }
    } else if (strncasecmp(line, "RCPT TO:", 8) == 0) {
      if (!cur.from[0]) sc_write(c, "503 5.5.1 MAIL first\r\n");
      else {
        if (cur.n_rcpt < 8) snprintf(cur.rcpt[cur.n_rcpt++], sizeof cur.rcpt[0], "%.255s", line + 8);
        sc_write(c, "250 2.1.5 Ok\r\n");
      }
    } else if (strcasecmp(line, "DATA") == 0) {
      if (!cur.n_rcpt) {
        sc_write(c, "503 5.5.1 RCPT first\r\n");
        continue;
      }
      sc_write(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
      lb_buf data;
      lb_buf_init(&data);
      /* Raw lines: the test checks the line ends the client sent. */
      bool done = false;
      while (sc_read(c, line, sizeof line, true)) {
        if (strcmp(line, ".\r\n") == 0) {
          done = true;
          break;
        }
        lb_buf_puts(&data, line[0] == '.' ? line + 1 : line);
      }
      if (!done) {
        lb_buf_free(&data);
        return;
      }
      cur.data = lb_buf_steal(&data);
      cur.tls = c->ssl != NULL;
      pthread_mutex_lock(&s->mu);
      if (s->n < 16) s->msgs[s->n++] = cur;
      else free(cur.data);
      pthread_mutex_unlock(&s->mu);
      char user[64];
      snprintf(user, sizeof user, "%s", cur.user);
      memset(&cur, 0, sizeof cur);
      snprintf(cur.user, sizeof cur.user, "%s", user);
      sc_write(c, "250 2.0.0 Ok: queued\r\n");
    } else if (strcasecmp(line, "RSET") == 0) {
      cur.from[0] = '\0';
      cur.n_rcpt = 0;
      sc_write(c, "250 2.0.0 Ok\r\n");
    } else if (strcasecmp(line, "NOOP") == 0) {
      sc_write(c, "250 2.0.0 Ok\r\n");
    } else if (strcasecmp(line, "QUIT") == 0) {
      sc_write(c, "221 2.0.0 Bye\r\n");
      return;
    } else {
      sc_write(c, "502 5.5.2 Command not recognized\r\n");
    }
  }
}

static void *smtp_conn_main(void *arg) {
  sconn *c = arg;
  smtp_session(c);
  if (c->ssl) {
    SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
  }
  close(c->fd);
  free(c);
  return NULL;
}

static void *smtp_accept_main(void *arg) {
  smtpstub *s = arg;
  while (!atomic_load(&s->stopping)) {
    struct pollfd p = {s->fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    int fd = accept(s->fd, NULL, NULL);
    if (fd < 0) continue;
    sconn *c = calloc(1, sizeof *c);
    c->s = s;
    c->fd = fd;
    if (s->n_conn < 32 && pthread_create(&s->conn_threads[s->n_conn], NULL, smtp_conn_main, c) == 0)
      s->n_conn++;
    else {
      close(fd);
      free(c);
    }
  }
  return NULL;
}

bool smtpstub_start(smtpstub *s, smtp_mode mode, const char *user, const char *pass) {
  memset(s, 0, sizeof *s);
  s->mode = mode;
  snprintf(s->user, sizeof s->user, "%s", user ? user : "");
  snprintf(s->pass, sizeof s->pass, "%s", pass ? pass : "");
  pthread_mutex_init(&s->mu, NULL);
  if (mode != SMTP_PLAIN) {
    snprintf(s->ca_path, sizeof s->ca_path, "%s/smtp-ca-%d.pem", lbt_tmpdir(), (int)mode);
    if (!(s->ssl_ctx = make_tls(s->ca_path))) return false;
  }
  s->fd = listen_local(&s->port);
  if (s->fd < 0) return false;
  return pthread_create(&s->accept_thread, NULL, smtp_accept_main, s) == 0;
}

void smtpstub_free(smtpstub *s) {
  atomic_store(&s->stopping, true);
  pthread_join(s->accept_thread, NULL);
  for (int i = 0; i < s->n_conn; i++) pthread_join(s->conn_threads[i], NULL);
  close(s->fd);
  for (int i = 0; i < s->n; i++) free(s->msgs[i].data);
  if (s->ssl_ctx) SSL_CTX_free(s->ssl_ctx);
  pthread_mutex_destroy(&s->mu);
}

int smtpstub_count(smtpstub *s) {
  pthread_mutex_lock(&s->mu);
  int n = s->n;
  pthread_mutex_unlock(&s->mu);
  return n;
}

/* ==== Stall ==== */

static void *stall_main(void *arg) {
  stall *s = arg;
  int n = 0;
  while (!atomic_load(&s->stopping)) {
    struct pollfd p = {s->fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    int fd = accept(s->fd, NULL, NULL);
    if (fd < 0) continue;
    if (n < 64) s->conns[n++] = fd; /* held open, never read, never answered */
    else close(fd);
    atomic_fetch_add(&s->accepted, 1);
  }
  for (int i = 0; i < n; i++) close(s->conns[i]);
  return NULL;
}

bool stall_start(stall *s) {
  memset(s, 0, sizeof *s);
  s->fd = listen_local(&s->port);
  return s->fd >= 0 && pthread_create(&s->thread, NULL, stall_main, s) == 0;
}

void stall_free(stall *s) {
  atomic_store(&s->stopping, true);
  pthread_join(s->thread, NULL);
  close(s->fd);
}

/* ==== In-memory persistence ==== */

void mempersist_init(mempersist *m) {
  memset(m, 0, sizeof *m);
  pthread_mutex_init(&m->mu, NULL);
}

void mempersist_close(mempersist *m) {
  for (int i = 0; i < m->n; i++) free(m->rows[i].payload);
  pthread_mutex_destroy(&m->mu);
}

static lb_err mp_enqueue(void *ctx, const char *channel, const char *payload, lb_ms created,
                         char *id, lb_errbuf *eb) {
  mempersist *m = ctx;
  pthread_mutex_lock(&m->mu);
  lb_err e = LB_OK;
  if (m->fail_enqueue || m->n == 128) {
    e = lb_fail(eb, LB_EDB, "database is locked");
  } else {
    memrow *r = &m->rows[m->n];
    snprintf(r->id, sizeof r->id, "note-%d", m->n + 1);
    snprintf(r->channel, sizeof r->channel, "%s", channel);
    r->payload = jdup(payload);
    r->created = created;
    snprintf(id, NOTIFY_ID_MAX, "%s", r->id);
    m->n++;
  }
  pthread_mutex_unlock(&m->mu);
  return e;
}

static lb_err mp_list(void *ctx, notify_pending_fn fn, void *fn_ctx, lb_errbuf *eb) {
  mempersist *m = ctx;
  (void)eb;
  pthread_mutex_lock(&m->mu);
  for (int i = 0; i < m->n; i++)
    if (!m->rows[i].done) fn(fn_ctx, m->rows[i].id, m->rows[i].channel, m->rows[i].payload, m->rows[i].created);
  pthread_mutex_unlock(&m->mu);
  return LB_OK;
}

static lb_err mp_done(void *ctx, const char *id, bool delivered, const char *error, lb_ms at,
                      lb_errbuf *eb) {
  mempersist *m = ctx;
  (void)at;
  lb_err e = lb_fail(eb, LB_ENOTFOUND, "no note %s", id);
  pthread_mutex_lock(&m->mu);
  for (int i = 0; i < m->n; i++)
    if (strcmp(m->rows[i].id, id) == 0) {
      m->rows[i].done = true;
      m->rows[i].delivered = delivered;
      snprintf(m->rows[i].error, sizeof m->rows[i].error, "%s", error ? error : "");
      e = LB_OK;
    }
  pthread_mutex_unlock(&m->mu);
  return e;
}

notify_persist mempersist_iface(mempersist *m) {
  notify_persist p = {m, mp_enqueue, mp_list, mp_done};
  return p;
}

int mempersist_pending(mempersist *m) {
  pthread_mutex_lock(&m->mu);
  int n = 0;
  for (int i = 0; i < m->n; i++) n += !m->rows[i].done;
  pthread_mutex_unlock(&m->mu);
  return n;
}

/* ==== Fake control ==== */

static void note(fakectl *f, const char *what) {
  pthread_mutex_lock(&f->mu);
  f->calls++;
  snprintf(f->last_call, sizeof f->last_call, "%s", what);
  pthread_mutex_unlock(&f->mu);
}

static lb_err fc_status(void *ctx, lb_buf *out, lb_errbuf *eb) {
  fakectl *f = ctx;
  note(f, "status");
  if (f->fail_status) return lb_fail(eb, LB_EDB, "database <down> & unreachable");
  return lb_buf_printf(out, "State: %s\nPosition: LONG BTC<USDT> 0.015 @ 61000\nCapital: 100.00 USDT\n",
                       f->paused ? "paused" : "scanning");
}
static lb_err fc_trades(void *ctx, int n, lb_buf *out, lb_errbuf *eb) {
  fakectl *f = ctx;
  (void)eb;
  note(f, "trades");
  f->last_n = n;
  for (int i = 0; i < n; i++) lb_buf_printf(out, "#%d BTCUSDT LONG +1.00\n", i + 1);
  return LB_OK;
}
static lb_err fc_text(void *ctx, const char *what, lb_buf *out) {
  note(ctx, what);
  return lb_buf_printf(out, "%s report", what);
}
static lb_err fc_profit(void *ctx, lb_buf *out, lb_errbuf *eb) {
  (void)eb;
  return fc_text(ctx, "profit", out);
}
static lb_err fc_performance(void *ctx, lb_buf *out, lb_errbuf *eb) {
  (void)eb;
  return fc_text(ctx, "performance", out);
}
static lb_err fc_balance(void *ctx, lb_buf *out, lb_errbuf *eb) {
  (void)eb;
  return fc_text(ctx, "balance", out);
}
static lb_err fc_health(void *ctx, lb_buf *out, lb_errbuf *eb) {
  (void)eb;
  return fc_text(ctx, "health", out);
}
static lb_err fc_version(void *ctx, lb_buf *out, lb_errbuf *eb) {
  (void)eb;
  note(ctx, "version");
  return lb_buf_puts(out, "levbot 0.1.0");
}
static lb_err fc_periods(void *ctx, notify_period p, int n, lb_buf *out, lb_errbuf *eb) {
  fakectl *f = ctx;
  (void)eb;
  note(f, "periods");
  f->last_period = p;
  f->last_n = n;
  return lb_buf_printf(out, "%d %s", n, p == NOTIFY_PERIOD_DAY ? "days" : p == NOTIFY_PERIOD_WEEK ? "weeks" : "months");
}
static lb_err fc_show_config(void *ctx, lb_buf *out, lb_errbuf *eb) {
  fakectl *f = ctx;
  (void)eb;
  note(f, "show_config");
  return lb_buf_printf(out, "MAX_LEVERAGE=3\nTELEGRAM_BOT_TOKEN=%s\n", f->secret ? f->secret : "");
}
static lb_err fc_logs(void *ctx, int n, lb_buf *out, lb_errbuf *eb) {
  fakectl *f = ctx;
  (void)eb;
  note(f, "logs");
  f->last_n = n;
  for (int i = 0; i < n; i++) lb_buf_printf(out, "line %d\n", i + 1);
  return LB_OK;
}
static lb_err fc_pause(void *ctx, lb_buf *out, lb_errbuf *eb) {
  fakectl *f = ctx;
  (void)eb;
  note(f, "pause");
  pthread_mutex_lock(&f->mu);
  f->paused = true;
  pthread_mutex_unlock(&f->mu);
  return lb_buf_puts(out, "New entries paused; the open position keeps its stop.");
}
static lb_err fc_resume(void *ctx, lb_buf *out, lb_errbuf *eb) {
  fakectl *f = ctx;
  (void)eb;
  note(f, "resume");
  pthread_mutex_lock(&f->mu);
  f->paused = false;
  pthread_mutex_unlock(&f->mu);
  return lb_buf_puts(out, "New entries allowed.");
}
static lb_err fc_stop(void *ctx, lb_buf *out, lb_errbuf *eb) {
  fakectl *f = ctx;
  (void)eb;
  note(f, "stop");
  pthread_mutex_lock(&f->mu);
  f->stopped = true;
  pthread_mutex_unlock(&f->mu);
  return lb_buf_puts(out, "Stopping; exchange stops stay in place.");
}
static lb_err fc_forceexit(void *ctx, lb_buf *out, lb_errbuf *eb) {
  fakectl *f = ctx;
  (void)eb;
  note(f, "forceexit");
  pthread_mutex_lock(&f->mu);
  f->forceexits++;
  pthread_mutex_unlock(&f->mu);
  return lb_buf_puts(out, "Closed LONG BTCUSDT at market.");
}
static lb_err fc_summary(void *ctx, lb_ms day, notify_event *ev, lb_errbuf *eb) {
  fakectl *f = ctx;
  (void)eb;
  pthread_mutex_lock(&f->mu);
  f->summaries++;
  f->summary_day = day;
  pthread_mutex_unlock(&f->mu);
  ev->trades = 4;
  ev->wins = 3;
  ev->pnl = LB_DEC_INT(12) + LB_DEC_SCALE / 2;
  ev->capital = LB_DEC_INT(112) + LB_DEC_SCALE / 2;
  return LB_OK;
}

void fakectl_init(fakectl *f) {
  memset(f, 0, sizeof *f);
  pthread_mutex_init(&f->mu, NULL);
}

notify_control fakectl_iface(fakectl *f) {
  notify_control c;
  memset(&c, 0, sizeof c);
  c.ctx = f;
  c.status = fc_status;
  c.trades = fc_trades;
  c.profit = fc_profit;
  c.performance = fc_performance;
  c.balance = fc_balance;
  c.periods = fc_periods;
  c.health = fc_health;
  c.show_config = fc_show_config;
  c.logs = fc_logs;
  c.version = fc_version;
  c.pause = fc_pause;
  c.resume = fc_resume;
  c.stop = fc_stop;
  c.forceexit = fc_forceexit;
  c.daily_summary = fc_summary;
  return c;
}
