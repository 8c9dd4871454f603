/* queue.c -- the notification queue: per-channel lists, the worker thread,
 * retry with back-off, rate limits, drops, persistence of critical messages
 * and the Telegram command poller.
 *
 * One mutex (q->mu) guards every list and counter; notify_post() holds it
 * for a few pointer operations and never does I/O, so the engine's
 * stop-loss path cannot wait for a peer.  The worker holds it only to pick
 * work and to record outcomes; rendering, persistence, control callbacks
 * and the network all run without it.  All transfers share one curl multi
 * handle: a channel that accepts a connection and never answers costs one
 * idle socket until its timeout, and the others go on.
 *
 * A channel's head message is its only one in flight (invariant 2 of
 * notify.h): ordering per channel comes from that, and the head is never
 * evicted while in flight.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/log.h"
#include "notify/notify_int.h"

#define MOD "notify"
#define MAX_FOREIGN 64

struct notify_queue {
  notify_queue_opts o;
  pthread_mutex_t mu;
  pthread_cond_t idle_cv; /* CLOCK_MONOTONIC; signalled when all lists empty */
  pthread_t thread;
  bool started, stopping;
  CURLM *multi;
  notify_chan *ch[NOTIFY_MAX_CHANNELS];
  int n_ch;
  notify_msg *persist_head, *persist_tail; /* critical messages to store */

  /* Telegram commands (worker only, except the counters). */
  notify_chan *tg;         /* the channel whose chat may command, or NULL */
  struct {
    CURL *easy;
    lb_buf req, resp;
    struct curl_slist *headers;
    char curl_err[CURL_ERROR_SIZE];
    bool busy;
    lb_ms next_at;
    long long offset;
    int errors;
  } poll;
  notify_cmd_state cmd;
  long long foreign[MAX_FOREIGN];
  int n_foreign;
  lb_ms next_summary_at;

  uint64_t posted, persist_errors, commands, foreign_updates, poll_errors;
  uint64_t drops_logged; /* the worker logs drops, notify_post() does not */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

static lb_ms now_ms(notify_queue *q) { return lb_clock_now(&q->o.clock); }

/* ==== Options ==== */

void notify_chan_opts_default(notify_chan_opts *o) {
  o->min_severity = NOTIFY_INFO;
  o->min_interval_ms = 0;
  o->timeout_ms = 15 * LB_MS_SECOND;
  o->backoff_base_ms = LB_MS_SECOND;
  o->backoff_max_ms = 5 * LB_MS_MINUTE;
}

void notify_queue_opts_default(notify_queue_opts *o) {
  memset(o, 0, sizeof *o);
  o->clock = lb_clock_system;
  o->capacity = 256;
  o->poll_ms = LB_MS_SECOND;
}

/* ==== Helpers the channels share ==== */

static size_t collect_body(char *data, size_t size, size_t nmemb, void *ud) {
  lb_buf *b = ud;
  size_t n = size * nmemb;
  /* A peer cannot make us hold more than 1 MiB of answer. */
  if (b->len + n > (1u << 20)) return 0;
  return lb_buf_append(b, data, n) == LB_OK ? n : 0;
}

static void easy_common(CURL *easy, lb_buf *resp, char *errbuf, lb_ms timeout_ms,
                        const char *protocols) {
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, collect_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, resp);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 10000 ? timeout_ms : 10000));
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, protocols);
  curl_easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "levbot-notify");
  errbuf[0] = '\0';
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
}

void notify_easy_common(notify_chan *ch, CURL *easy, const char *protocols) {
  easy_common(easy, &ch->resp_body, ch->curl_err, ch->opts.timeout_ms, protocols);
}

lb_err notify_fail_redacted(lb_errbuf *eb, lb_err e, const char *fmt, ...) {
  char raw[LB_ERRBUF_SIZE * 2];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  if (eb) lb_redact(raw, eb->msg, sizeof eb->msg);
  return e;
}

void notify_curl_error(lb_errbuf *eb, const char *chan, CURLcode cc, const char *errbuf) {
  notify_fail_redacted(eb, LB_ENET, "%s: %s", chan,
                       errbuf && errbuf[0] ? errbuf : curl_easy_strerror(cc));
}

notify_outcome notify_http_classify(notify_chan *ch, CURLcode cc, long status,
                                    lb_ms *retry_after_ms, lb_errbuf *eb) {
  if (cc != CURLE_OK) {
    notify_curl_error(eb, ch->name, cc, ch->curl_err);
    return NOTIFY_OUT_RETRY;
  }
  curl_off_t ra = 0;
  if (curl_easy_getinfo(ch->easy, CURLINFO_RETRY_AFTER, &ra) == CURLE_OK && ra > 0)
    *retry_after_ms = (lb_ms)ra * LB_MS_SECOND;
  if (status >= 200 && status < 300) return NOTIFY_OUT_SENT;
  notify_fail_redacted(eb, LB_EREJECTED, "%s: HTTP %ld: %.160s", ch->name, status,
                       ch->resp_body.data);
  if (status == 408 || status == 429 || status >= 500 || status < 200) return NOTIFY_OUT_RETRY;
  return NOTIFY_OUT_FAILED;
}

/* ==== Nodes ==== */

static void msg_free(notify_msg *m) {
  if (!m) return;
  free(m->html);
  free(m);
}

static void unlink_msg(notify_chan *ch, notify_msg *m) {
  if (m->prev) m->prev->next = m->next;
  else ch->head = m->next;
  if (m->next) m->next->prev = m->prev;
  else ch->tail = m->prev;
  m->prev = m->next = NULL;
  if (m->in_sev) {
    int s = m->ev.severity;
    if (m->sprev) m->sprev->snext = m->snext;
    else ch->sev_head[s] = m->snext;
    if (m->snext) m->snext->sprev = m->sprev;
    else ch->sev_tail[s] = m->sprev;
    m->sprev = m->snext = NULL;
    m->in_sev = false;
  }
  ch->len--;
}

static void append_msg(notify_chan *ch, notify_msg *m) {
  m->prev = ch->tail;
  m->next = NULL;
  if (ch->tail) ch->tail->next = m;
  else ch->head = m;
  ch->tail = m;
  ch->len++;
  if (m->ev.severity == NOTIFY_INFO || m->ev.severity == NOTIFY_WARNING) {
    int s = m->ev.severity;
    m->sprev = ch->sev_tail[s];
    m->snext = NULL;
    if (ch->sev_tail[s]) ch->sev_tail[s]->snext = m;
    else ch->sev_head[s] = m;
    ch->sev_tail[s] = m;
    m->in_sev = true;
  }
}

/* The oldest of the least important messages that may go (invariant 3).
 * Only a channel's head can be in flight, so at most one is skipped. */
static notify_msg *drop_victim(notify_chan *ch) {
  for (int s = NOTIFY_INFO; s <= NOTIFY_WARNING; s++) {
    notify_msg *m = ch->sev_head[s];
    if (m && m->in_flight) m = m->snext;
    if (m) return m;
  }
  return NULL;
}

/* Caller holds q->mu.  Takes ownership of m; false if m was dropped.
 * *wake is set when the worker has something new to do: m became the head
 * of an idle channel, or it must be persisted. */
static bool chan_push_locked(notify_queue *q, notify_chan *ch, notify_msg *m, bool *wake) {
  if (ch->len >= q->o.capacity) {
    notify_msg *victim = drop_victim(ch);
    if (victim && victim->ev.severity <= m->ev.severity) {
      unlink_msg(ch, victim);
      msg_free(victim);
      ch->dropped++;
    } else if (m->ev.severity != NOTIFY_CRITICAL) {
      ch->dropped++;
      msg_free(m);
      return false;
    } /* else: critical messages are never dropped; the list grows. */
  }
  m->owner = ch;
  append_msg(ch, m);
  if (m->ev.severity == NOTIFY_CRITICAL && !m->html && q->o.persist.enqueue && !m->persisted) {
    m->persist_wait = true;
    m->persist_next = NULL;
    if (q->persist_tail) q->persist_tail->persist_next = m;
    else q->persist_head = m;
    q->persist_tail = m;
    *wake = true;
  }
  if (ch->head == m && !ch->busy) *wake = true;
  return true;
}

static bool all_idle_locked(notify_queue *q) {
  if (q->persist_head) return false;
  for (int i = 0; i < q->n_ch; i++)
    if (q->ch[i]->len || q->ch[i]->busy) return false;
  return true;
}

/* ==== Posting (any thread) ==== */

int notify_post(notify_queue *q, const notify_event *ev) {
  if (!q || !ev) return 0;
  notify_msg *nodes[NOTIFY_MAX_CHANNELS] = {0};
  int n = q->n_ch, taken = 0; /* fixed once channels are added */
  lb_ms stamp = ev->time ? ev->time : now_ms(q);
  /* Allocate before locking: the lock is for pointer moves only. */
  for (int i = 0; i < n; i++) {
    /* An out-of-range severity counts as critical (it is not dropped). */
    notify_severity sev = (unsigned)ev->severity > NOTIFY_CRITICAL ? NOTIFY_CRITICAL : ev->severity;
    if (sev < q->ch[i]->opts.min_severity) continue;
    nodes[i] = calloc(1, sizeof *nodes[i]);
    if (nodes[i]) {
      nodes[i]->ev = *ev;
      nodes[i]->ev.time = stamp;
      if ((unsigned)ev->severity > NOTIFY_CRITICAL) nodes[i]->ev.severity = NOTIFY_CRITICAL;
    }
  }
  bool wake = false;
  pthread_mutex_lock(&q->mu);
  q->posted++;
  for (int i = 0; i < n; i++)
    if (nodes[i] && chan_push_locked(q, q->ch[i], nodes[i], &wake)) taken++;
  pthread_mutex_unlock(&q->mu);
  /* A message behind others (an outage, a back-off) changes nothing the
   * worker waits for: no wake-up, no contention on the hot path. */
  if (wake && q->multi) curl_multi_wakeup(q->multi);
  return taken;
}

int notify_post_text(notify_queue *q, notify_severity sev, const char *title, const char *detail) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_TEXT);
  ev.severity = sev;
  notify_set(ev.title, title);
  notify_set(ev.detail, detail);
  return notify_post(q, &ev);
}

void notify_queue_kick(notify_queue *q) {
  if (q && q->multi) curl_multi_wakeup(q->multi);
}

/* ==== Construction ==== */

lb_err notify_queue_new(const notify_queue_opts *o, notify_queue **out, lb_errbuf *eb) {
  *out = NULL;
  if (!o || !o->clock.now || !o->clock.sleep)
    return lb_fail(eb, LB_EINVAL, "notify queue: a clock is required");
  if (o->capacity < 1 || o->capacity > 1000000)
    return lb_fail(eb, LB_ERANGE, "notify queue: capacity %zu outside 1..1000000", o->capacity);
  pthread_once(&curl_once, curl_init_once);
  notify_queue *q = calloc(1, sizeof *q);
  if (!q) return lb_fail(eb, LB_ENOMEM, "notify queue: out of memory");
  q->o = *o;
  if (q->o.poll_ms <= 0) q->o.poll_ms = LB_MS_SECOND;
  pthread_mutex_init(&q->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&q->idle_cv, &ca);
  pthread_condattr_destroy(&ca);
  lb_buf_init(&q->poll.req);
  lb_buf_init(&q->poll.resp);
  q->multi = curl_multi_init();
  if (!q->multi) {
    notify_queue_free(q);
    return lb_fail(eb, LB_ENOMEM, "notify queue: curl_multi_init failed");
  }
  *out = q;
  return LB_OK;
}

lb_err notify_queue_add_chan(notify_queue *q, const notify_chan_ops *ops, const char *name,
                             const notify_chan_opts *opts, const void *cfg, size_t cfg_size,
                             notify_chan **out, lb_errbuf *eb) {
  if (q->started) return lb_fail(eb, LB_ESTATE, "notify: channel %s added after start", name);
  if (q->n_ch >= NOTIFY_MAX_CHANNELS)
    return lb_fail(eb, LB_ERANGE, "notify: more than %d channels", NOTIFY_MAX_CHANNELS);
  for (int i = 0; i < q->n_ch; i++)
    if (strcmp(q->ch[i]->name, name) == 0)
      return lb_fail(eb, LB_EEXISTS, "notify: channel %s configured twice", name);
  if (opts->timeout_ms < 100 || opts->backoff_base_ms < 1 ||
      opts->backoff_max_ms < opts->backoff_base_ms || opts->min_interval_ms < 0 ||
      (unsigned)opts->min_severity > NOTIFY_CRITICAL)
    return lb_fail(eb, LB_EINVAL,
                   "notify: channel %s: timeout %lld ms (>= 100), back-off %lld..%lld ms or "
                   "interval %lld ms out of range",
                   name, (long long)opts->timeout_ms, (long long)opts->backoff_base_ms,
                   (long long)opts->backoff_max_ms, (long long)opts->min_interval_ms);
  notify_chan *ch = calloc(1, sizeof *ch);
  if (!ch) return lb_fail(eb, LB_ENOMEM, "notify: out of memory");
  ch->easy = curl_easy_init();
  if (!ch->easy) {
    free(ch);
    return lb_fail(eb, LB_ENOMEM, "notify: curl_easy_init failed");
  }
  ch->ops = ops;
  notify_copy_text(ch->name, sizeof ch->name, name);
  ch->opts = *opts;
  memcpy(&ch->cfg, cfg, cfg_size);
  lb_buf_init(&ch->req_body);
  lb_buf_init(&ch->resp_body);
  q->ch[q->n_ch++] = ch;
  if (out) *out = ch;
  return LB_OK;
}

void notify_queue_set_command_chan(notify_queue *q, notify_chan *ch) {
  if (!q->tg) q->tg = ch;
}

int notify_queue_channel_count(const notify_queue *q) { return q ? q->n_ch : 0; }

static void chan_release_request(notify_chan *ch) {
  curl_slist_free_all(ch->req_headers);
  curl_slist_free_all(ch->req_rcpt);
  ch->req_headers = ch->req_rcpt = NULL;
  lb_buf_reset(&ch->req_body);
  ch->req_off = 0;
}

static void chan_free(notify_chan *ch) {
  notify_msg *m = ch->head;
  while (m) {
    notify_msg *next = m->next;
    msg_free(m);
    m = next;
  }
  chan_release_request(ch);
  lb_buf_free(&ch->req_body);
  lb_buf_free(&ch->resp_body);
  if (ch->easy) curl_easy_cleanup(ch->easy);
  free(ch);
}

/* ==== Restart: pending critical messages ==== */

typedef struct {
  notify_queue *q;
  notify_msg *first[NOTIFY_MAX_CHANNELS], *last[NOTIFY_MAX_CHANNELS];
  int restored, unusable;
  char bad_ids[256][NOTIFY_ID_MAX];
  int n_bad;
} restore_ctx;

static void restore_one(void *ctx, const char *id, const char *channel, const char *payload,
                        lb_ms created) {
  restore_ctx *r = ctx;
  (void)created;
  int k = -1;
  for (int i = 0; i < r->q->n_ch; i++)
    if (channel && strcmp(r->q->ch[i]->name, channel) == 0) k = i;
  notify_msg *m = calloc(1, sizeof *m);
  lb_errbuf eb = {{0}};
  if (k < 0 || !m || !payload || notify_event_from_json(payload, &m->ev, &eb) != LB_OK) {
    free(m);
    LB_WARN(MOD, "pending message %s for channel %s cannot be delivered (%s)", id ? id : "?",
            channel ? channel : "?", k < 0 ? "channel not configured" : eb.msg);
    if (r->n_bad < 256 && id) notify_copy_text(r->bad_ids[r->n_bad++], NOTIFY_ID_MAX, id);
    r->unusable++;
    return;
  }
  m->ev.severity = NOTIFY_CRITICAL; /* only critical messages are persisted */
  m->persisted = true;
  notify_copy_text(m->persist_id, sizeof m->persist_id, id ? id : "");
  m->owner = r->q->ch[k];
  m->prev = r->last[k];
  if (r->last[k]) r->last[k]->next = m;
  else r->first[k] = m;
  r->last[k] = m;
  r->restored++;
}

static void restore_pending(notify_queue *q) {
  if (!q->o.persist.list_pending) return;
  restore_ctx r;
  memset(&r, 0, sizeof r);
  r.q = q;
  lb_errbuf eb = {{0}};
  if (q->o.persist.list_pending(q->o.persist.ctx, restore_one, &r, &eb) != LB_OK) {
    LB_WARN(MOD, "could not read pending notifications: %s", eb.msg);
    q->persist_errors++;
  }
  for (int i = 0; i < r.n_bad && q->o.persist.mark_done; i++)
    q->o.persist.mark_done(q->o.persist.ctx, r.bad_ids[i], false, "not deliverable after restart",
                           now_ms(q), &eb);
  pthread_mutex_lock(&q->mu);
  for (int i = 0; i < q->n_ch; i++) {
    notify_chan *ch = q->ch[i];
    if (!r.first[i]) continue;
    size_t n = 0;
    for (notify_msg *m = r.first[i]; m; m = m->next) n++;
    /* Older than anything posted since: they go first. */
    r.last[i]->next = ch->head;
    if (ch->head) ch->head->prev = r.last[i];
    else ch->tail = r.last[i];
    ch->head = r.first[i];
    ch->len += n;
  }
  pthread_mutex_unlock(&q->mu);
  if (r.restored) LB_INFO(MOD, "%d pending critical notification(s) restored", r.restored);
}

/* ==== Worker: persistence ==== */

static void persist_new(notify_queue *q) {
  pthread_mutex_lock(&q->mu);
  notify_msg *list = q->persist_head;
  q->persist_head = q->persist_tail = NULL;
  pthread_mutex_unlock(&q->mu);
  /* Critical messages are never evicted and only this thread frees them:
   * the pointers stay valid without the lock. */
  for (notify_msg *m = list; m;) {
    notify_msg *next = m->persist_next;
    char *payload = notify_event_to_json(&m->ev);
    char id[NOTIFY_ID_MAX] = "";
    lb_errbuf eb = {{0}};
    lb_err e = payload ? q->o.persist.enqueue(q->o.persist.ctx, m->owner->name, payload,
                                              m->ev.time, id, &eb)
                       : lb_fail(&eb, LB_ENOMEM, "out of memory");
    free(payload);
    pthread_mutex_lock(&q->mu);
    m->persist_wait = false;
    m->persist_next = NULL;
    if (e == LB_OK) {
      m->persisted = true;
      notify_copy_text(m->persist_id, sizeof m->persist_id, id);
    } else {
      q->persist_errors++;
    }
    pthread_mutex_unlock(&q->mu);
    if (e) /* delivery goes on from memory */
      LB_WARN(MOD, "%s: could not store a critical notification: %s", m->owner->name, eb.msg);
    m = next;
  }
}

/* ==== Worker: channel transfers ==== */

static lb_ms backoff(const notify_chan *ch, int attempts) {
  lb_ms d = ch->opts.backoff_base_ms;
  for (int i = 1; i < attempts && d < ch->opts.backoff_max_ms; i++) d *= 2;
  return d < ch->opts.backoff_max_ms ? d : ch->opts.backoff_max_ms;
}

static void chan_finish(notify_queue *q, notify_chan *ch, notify_outcome out, lb_ms retry_after,
                        const lb_errbuf *eb) {
  lb_ms now = now_ms(q);
  notify_msg *done = NULL;
  int attempts;
  lb_ms next;
  pthread_mutex_lock(&q->mu);
  notify_msg *m = ch->cur;
  ch->cur = NULL;
  m->in_flight = false;
  if (out == NOTIFY_OUT_RETRY) {
    m->attempts++;
    ch->retries++;
    /* The peer's pause is honoured, up to an hour (a mistaken Retry-After
     * date must not silence a channel for days). */
    lb_ms delay = retry_after > 0 ? (retry_after < LB_MS_HOUR ? retry_after : LB_MS_HOUR)
                                  : backoff(ch, m->attempts);
    if (ch->next_at < now + delay) ch->next_at = now + delay;
    notify_copy_text(ch->last_error, sizeof ch->last_error, eb->msg);
  } else {
    unlink_msg(ch, m);
    done = m;
    if (out == NOTIFY_OUT_SENT) ch->delivered++;
    else {
      ch->failed++;
      notify_copy_text(ch->last_error, sizeof ch->last_error, eb->msg);
    }
  }
  attempts = m->attempts;
  next = ch->next_at;
  /* A finished critical message keeps the channel busy until the
   * persistence has heard of it, so drain() means "all bookkept". */
  bool bookkeep = done && done->persisted && q->o.persist.mark_done;
  if (!bookkeep) {
    ch->busy = false;
    if (all_idle_locked(q)) pthread_cond_broadcast(&q->idle_cv);
  }
  pthread_mutex_unlock(&q->mu);

  chan_release_request(ch);
  if (out == NOTIFY_OUT_RETRY) {
    /* One line when a channel starts failing, then every tenth attempt. */
    if (attempts == 1 || attempts % 10 == 0)
      LB_WARN(MOD, "%s: attempt %d failed, retrying in %lld ms: %s", ch->name, attempts,
              (long long)(next - now), eb->msg);
  } else if (out == NOTIFY_OUT_FAILED) {
    LB_ERROR(MOD, "%s: %s message given up: %s", ch->name, notify_kind_name(done->ev.kind),
             eb->msg);
  } else if (done->attempts > 0) {
    LB_INFO(MOD, "%s: delivered after %d retries", ch->name, done->attempts);
  }
  if (bookkeep) {
    lb_errbuf peb = {{0}};
    lb_err pe = q->o.persist.mark_done(q->o.persist.ctx, done->persist_id,
                                       out == NOTIFY_OUT_SENT,
                                       out == NOTIFY_OUT_SENT ? "" : eb->msg, now, &peb);
    if (pe)
      LB_WARN(MOD, "%s: could not mark notification %s done: %s", ch->name, done->persist_id,
              peb.msg);
    pthread_mutex_lock(&q->mu);
    q->persist_errors += pe != LB_OK;
    ch->busy = false;
    if (all_idle_locked(q)) pthread_cond_broadcast(&q->idle_cv);
    pthread_mutex_unlock(&q->mu);
  }
  msg_free(done);
}

static void chan_begin(notify_queue *q, notify_chan *ch) {
  lb_errbuf eb = {{0}};
  chan_release_request(ch);
  lb_buf_reset(&ch->resp_body);
  curl_easy_reset(ch->easy);
  notify_easy_common(ch, ch->easy, ch->ops == &notify_email_ops ? "smtp,smtps" : "http,https");
  curl_easy_setopt(ch->easy, CURLOPT_PRIVATE, ch);
  ch->started_at = now_ms(q);
  if (ch->ops->prepare(ch, ch->cur, &eb) != LB_OK) {
    chan_finish(q, ch, NOTIFY_OUT_FAILED, 0, &eb);
    return;
  }
  if (curl_multi_add_handle(q->multi, ch->easy) != CURLM_OK) {
    notify_fail_redacted(&eb, LB_ENET, "%s: could not start the transfer", ch->name);
    chan_finish(q, ch, NOTIFY_OUT_RETRY, 0, &eb);
  }
}

static void chan_done(notify_queue *q, notify_chan *ch, CURLcode cc) {
  long status = 0;
  lb_ms retry_after = 0;
  lb_errbuf eb = {{0}};
  curl_easy_getinfo(ch->easy, CURLINFO_RESPONSE_CODE, &status);
  notify_outcome out = ch->ops->classify(ch, cc, status, &retry_after, &eb);
  chan_finish(q, ch, out, retry_after, &eb);
}

/* Picks every channel whose head is due and starts it. */
static void start_due(notify_queue *q, lb_ms now) {
  notify_chan *go[NOTIFY_MAX_CHANNELS];
  int n = 0;
  pthread_mutex_lock(&q->mu);
  for (int i = 0; i < q->n_ch; i++) {
    notify_chan *ch = q->ch[i];
    if (ch->busy || !ch->head || ch->head->persist_wait || now < ch->next_at) continue;
    ch->busy = true;
    ch->cur = ch->head;
    ch->cur->in_flight = true;
    /* The rate limit counts from the start of each send. */
    ch->next_at = now + ch->opts.min_interval_ms;
    go[n++] = ch;
  }
  pthread_mutex_unlock(&q->mu);
  for (int i = 0; i < n; i++) chan_begin(q, go[i]);
}

/* Real time the worker may sleep before something is due. */
static lb_ms wait_budget(notify_queue *q, lb_ms now) {
  lb_ms w = q->o.poll_ms;
  pthread_mutex_lock(&q->mu);
  if (q->persist_head) w = 0;
  for (int i = 0; i < q->n_ch; i++) {
    notify_chan *ch = q->ch[i];
    if (!ch->busy && ch->head && ch->next_at - now < w) w = ch->next_at - now;
  }
  pthread_mutex_unlock(&q->mu);
  if (q->tg && q->tg->cfg.tg.commands && !q->poll.busy && q->poll.next_at - now < w)
    w = q->poll.next_at - now;
  if (q->o.control.daily_summary && q->next_summary_at - now < w) w = q->next_summary_at - now;
  return w < 0 ? 0 : w;
}

/* ==== Worker: Telegram commands ==== */


static void poll_begin(notify_queue *q, lb_ms now) {
  lb_errbuf eb = {{0}};
  notify_chan *ch = q->tg;
  curl_slist_free_all(q->poll.headers);
  q->poll.headers = NULL;
  lb_buf_reset(&q->poll.req);
  lb_buf_reset(&q->poll.resp);
  curl_easy_reset(q->poll.easy);
  /* The long poll may legitimately last poll_timeout_s: the HTTP timeout
   * must be longer. */
  easy_common(q->poll.easy, &q->poll.resp, q->poll.curl_err,
              ch->cfg.tg.poll_timeout_s * LB_MS_SECOND + ch->opts.timeout_ms, "http,https");
  curl_easy_setopt(q->poll.easy, CURLOPT_PRIVATE, &q->poll);
  if (notify_telegram_poll_prepare(ch, q->poll.easy, q->poll.offset, &q->poll.req,
                                   &q->poll.headers, &eb) != LB_OK ||
      curl_multi_add_handle(q->multi, q->poll.easy) != CURLM_OK) {
    LB_WARN(MOD, "telegram: cannot poll commands: %s", eb.msg);
    q->poll.next_at = now + 60 * LB_MS_SECOND;
    return;
  }
  q->poll.busy = true;
}

static bool seen_foreign(notify_queue *q, long long chat) {
  for (int i = 0; i < q->n_foreign; i++)
    if (q->foreign[i] == chat) return true;
  if (q->n_foreign < MAX_FOREIGN) q->foreign[q->n_foreign++] = chat;
  return false;
}

static void reply(notify_queue *q, char *html) {
  notify_msg *m = calloc(1, sizeof *m);
  if (!m) {
    free(html);
    return;
  }
  notify_event_init(&m->ev, NOTIFY_EV_TEXT);
  m->ev.time = now_ms(q);
  m->html = html;
  bool wake = false; /* this is the worker: it looks again before it sleeps */
  pthread_mutex_lock(&q->mu);
  chan_push_locked(q, q->tg, m, &wake); /* replies ignore the severity filter */
  pthread_mutex_unlock(&q->mu);
}

static void handle_update(notify_queue *q, json_t *u, lb_ms now) {
  json_t *msg = json_object_get(u, "message");
  json_t *chat = json_object_get(json_object_get(msg, "chat"), "id");
  json_t *text = json_object_get(msg, "text");
  json_t *date = json_object_get(msg, "date");
  if (!json_is_object(msg) || !json_is_integer(chat)) return;
  long long chat_id = json_integer_value(chat);
  if (!notify_chat_id_matches(q->tg->cfg.tg.chat_id, chat_id)) {
    pthread_mutex_lock(&q->mu);
    q->foreign_updates++;
    pthread_mutex_unlock(&q->mu);
    if (!seen_foreign(q, chat_id))
      LB_WARN(MOD, "telegram: ignoring messages from chat %lld (only TELEGRAM_CHAT_ID may command)",
              chat_id);
    return;
  }
  if (!json_is_string(text)) return;
  if (json_is_integer(date) &&
      json_integer_value(date) * LB_MS_SECOND < now - q->tg->cfg.tg.command_max_age_ms) {
    LB_INFO(MOD, "telegram: ignoring a command sent %lld s ago (older than %lld s)",
            (long long)((now / LB_MS_SECOND) - json_integer_value(date)),
            (long long)(q->tg->cfg.tg.command_max_age_ms / LB_MS_SECOND));
    return;
  }
  lb_buf out;
  lb_buf_init(&out);
  if (notify_command_run(&q->o.control, &q->cmd, json_string_value(text), now, &out) == LB_OK &&
      out.len) {
    pthread_mutex_lock(&q->mu);
    q->commands++;
    pthread_mutex_unlock(&q->mu);
    reply(q, lb_buf_steal(&out));
  }
  lb_buf_free(&out);
}

static void poll_done(notify_queue *q, CURLcode cc) {
  lb_ms now = now_ms(q);
  long status = 0;
  curl_easy_getinfo(q->poll.easy, CURLINFO_RESPONSE_CODE, &status);
  q->poll.busy = false;
  json_t *root = cc == CURLE_OK ? json_loadb(q->poll.resp.data, q->poll.resp.len, 0, NULL) : NULL;
  json_t *result = json_object_get(root, "result");
  if (cc == CURLE_OK && status == 200 && json_is_true(json_object_get(root, "ok")) &&
      json_is_array(result)) {
    if (q->poll.errors) LB_INFO(MOD, "telegram: command polling works again");
    q->poll.errors = 0;
    size_t i;
    json_t *u;
    json_array_foreach(result, i, u) {
      json_t *id = json_object_get(u, "update_id");
      if (!json_is_integer(id)) continue;
      /* Confirm every update, even ignored ones, or Telegram resends it. */
      if (json_integer_value(id) >= q->poll.offset) q->poll.offset = json_integer_value(id) + 1;
      handle_update(q, u, now);
    }
    q->poll.next_at = q->tg->cfg.tg.poll_timeout_s > 0 ? now : now + LB_MS_SECOND;
  } else {
    lb_ms ra = 0;
    char desc[160] = "";
    if (cc != CURLE_OK) {
      lb_errbuf eb;
      notify_curl_error(&eb, "telegram getUpdates", cc, q->poll.curl_err);
      notify_copy_text(desc, sizeof desc, eb.msg);
    } else {
      notify_telegram_parse_error(q->poll.resp.data, &ra, desc, sizeof desc);
    }
    q->poll.errors++;
    pthread_mutex_lock(&q->mu);
    q->poll_errors++;
    pthread_mutex_unlock(&q->mu);
    lb_ms d = LB_MS_SECOND;
    for (int k = 1; k < q->poll.errors && d < LB_MS_MINUTE; k++) d *= 2;
    if (d > LB_MS_MINUTE) d = LB_MS_MINUTE;
    if (ra > d) d = ra;
    q->poll.next_at = now + d;
    if (q->poll.errors == 1 || q->poll.errors % 20 == 0)
      LB_WARN(MOD, "telegram: getUpdates failed (HTTP %ld: %s); next try in %lld ms", status,
              desc, (long long)d);
  }
  json_decref(root);
}

/* ==== Worker: daily summary ==== */

static void maybe_summary(notify_queue *q, lb_ms now) {
  if (!q->o.control.daily_summary || now < q->next_summary_at) return;
  lb_ms today = lb_time_day_start(now);
  q->next_summary_at = today + LB_MS_DAY;
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_DAILY_SUMMARY);
  lb_errbuf eb = {{0}};
  lb_err e = q->o.control.daily_summary(q->o.control.ctx, today - LB_MS_DAY, &ev, &eb);
  if (e == LB_ENOTFOUND) return;
  if (e) {
    LB_WARN(MOD, "daily summary unavailable: %s", eb.msg);
    return;
  }
  ev.kind = NOTIFY_EV_DAILY_SUMMARY;
  ev.day = today - LB_MS_DAY;
  if (!ev.time) ev.time = now;
  notify_post(q, &ev);
}

/* ==== Worker loop ==== */

static void log_drops(notify_queue *q) {
  uint64_t total = 0;
  pthread_mutex_lock(&q->mu);
  for (int i = 0; i < q->n_ch; i++) total += q->ch[i]->dropped;
  uint64_t before = q->drops_logged;
  q->drops_logged = total;
  pthread_mutex_unlock(&q->mu);
  if (total > before)
    LB_WARN(MOD, "queue full: %llu notification(s) dropped so far (never critical ones)",
            (unsigned long long)total);
}

static void collect_done(notify_queue *q) {
  CURLMsg *msg;
  int left;
  while ((msg = curl_multi_info_read(q->multi, &left))) {
    if (msg->msg != CURLMSG_DONE) continue;
    CURL *easy = msg->easy_handle;
    CURLcode cc = msg->data.result;
    void *priv = NULL;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
    curl_multi_remove_handle(q->multi, easy);
    if (priv == &q->poll) poll_done(q, cc);
    else chan_done(q, priv, cc);
  }
}

static void *worker_main(void *arg) {
  notify_queue *q = arg;
  for (;;) {
    pthread_mutex_lock(&q->mu);
    bool stop = q->stopping;
    pthread_mutex_unlock(&q->mu);
    if (stop) break;
    persist_new(q);
    lb_ms now = now_ms(q);
    start_due(q, now);
    if (q->tg && q->tg->cfg.tg.commands && !q->poll.busy && now >= q->poll.next_at)
      poll_begin(q, now);
    maybe_summary(q, now);
    int running = 0;
    curl_multi_perform(q->multi, &running);
    collect_done(q);
    log_drops(q);
    lb_ms w = wait_budget(q, now_ms(q));
    if (w > 0) curl_multi_poll(q->multi, NULL, 0, (int)w, NULL);
  }
  /* Abort what is in flight; persisted messages stay pending. */
  for (int i = 0; i < q->n_ch; i++)
    if (q->ch[i]->busy) curl_multi_remove_handle(q->multi, q->ch[i]->easy);
  if (q->poll.busy) curl_multi_remove_handle(q->multi, q->poll.easy);
  return NULL;
}

lb_err notify_queue_start(notify_queue *q, lb_errbuf *eb) {
  if (q->started) return lb_fail(eb, LB_ESTATE, "notify queue already started");
  restore_pending(q);
  lb_ms now = now_ms(q);
  q->next_summary_at = lb_time_day_start(now) + LB_MS_DAY;
  if (q->tg && q->tg->cfg.tg.commands) {
    q->poll.easy = curl_easy_init();
    if (!q->poll.easy) return lb_fail(eb, LB_ENOMEM, "notify: curl_easy_init failed");
  }
  q->started = true;
  if (pthread_create(&q->thread, NULL, worker_main, q) != 0) {
    q->started = false;
    return lb_fail(eb, LB_EIO, "notify: cannot start the worker thread");
  }
  return LB_OK;
}

lb_err notify_queue_drain(notify_queue *q, lb_ms timeout_ms) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += (time_t)(timeout_ms / 1000);
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (ts.tv_nsec >= 1000000000L) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000L;
  }
  lb_err e = LB_OK;
  pthread_mutex_lock(&q->mu);
  while (!all_idle_locked(q)) {
    if (!q->started || pthread_cond_timedwait(&q->idle_cv, &q->mu, &ts) != 0) {
      e = all_idle_locked(q) ? LB_OK : LB_ETIMEOUT;
      break;
    }
  }
  pthread_mutex_unlock(&q->mu);
  return e;
}

void notify_queue_free(notify_queue *q) {
  if (!q) return;
  if (q->started) {
    pthread_mutex_lock(&q->mu);
    q->stopping = true;
    pthread_mutex_unlock(&q->mu);
    curl_multi_wakeup(q->multi);
    pthread_join(q->thread, NULL);
  }
  for (int i = 0; i < q->n_ch; i++) chan_free(q->ch[i]);
  if (q->poll.easy) curl_easy_cleanup(q->poll.easy);
  curl_slist_free_all(q->poll.headers);
  lb_buf_free(&q->poll.req);
  lb_buf_free(&q->poll.resp);
  if (q->multi) curl_multi_cleanup(q->multi);
  pthread_cond_destroy(&q->idle_cv);
  pthread_mutex_destroy(&q->mu);
  free(q);
}

/* ==== Statistics ==== */

void notify_queue_stats(notify_queue *q, notify_stats *out) {
  memset(out, 0, sizeof *out);
  if (!q) return;
  pthread_mutex_lock(&q->mu);
  out->posted = q->posted;
  out->persist_errors = q->persist_errors;
  out->commands = q->commands;
  out->foreign_updates = q->foreign_updates;
  out->poll_errors = q->poll_errors;
  out->n_channels = q->n_ch;
  for (int i = 0; i < q->n_ch; i++) {
    const notify_chan *ch = q->ch[i];
    notify_channel_stats *s = &out->ch[i];
    notify_copy_text(s->name, sizeof s->name, ch->name);
    s->min_severity = ch->opts.min_severity;
    s->queued = ch->len;
    s->in_flight = ch->busy;
    s->delivered = ch->delivered;
    s->failed = ch->failed;
    s->dropped = ch->dropped;
    s->retries = ch->retries;
    s->next_attempt_at = ch->next_at;
    notify_copy_text(s->last_error, sizeof s->last_error, ch->last_error);
    out->dropped += ch->dropped;
  }
  pthread_mutex_unlock(&q->mu);
}
