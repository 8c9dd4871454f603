/* exsim_ws.c -- exsim's WebSocket server (libwebsockets): routed market streams and user data.
 *
 * Paths, as on Binance since the routed-path change:
 *   /market/ws/<stream>, /market/stream?streams=a/b   klines, mark prices
 *   /public/...                                       book data only: kline and
 *                                                     markPrice are NOT delivered
 *                                                     (fails silently, as at Binance)
 *   /private/ws/<listenKey>                           user data
 *   /ws/<listenKey>                                   user data (legacy form)
 *   /ws/<stream>, /stream?streams=                    legacy: market data only
 *                                                     with --legacy-ws-paths
 * Live SUBSCRIBE/UNSUBSCRIBE messages are answered like Binance's.  The
 * server pings every --ws-ping-ms and drops a connection that has not
 * answered within --ws-pong-timeout-ms; faults drop connections or refuse
 * new ones.  Every lws call happens on this file's thread; other threads
 * queue messages in the outbox and wake it with lws_cancel_service().
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exsim.h"

#define WS_URI_MAX 4096
#define SESS_STREAMS (2 * EX_MAX_SYMBOLS) /* a kline and a markPrice stream per symbol */
#define SESS_QUEUE_MAX 20000

typedef struct sess {
  struct sess *next;
  struct lws *wsi;
  bool user, combined, market_ok;
  char streams[SESS_STREAMS][64];
  int nstreams;
  char **q;
  size_t qhead, qlen, qcap;
  bool close, ping_due;
  lb_ms ping_sent, last_pong; /* mono */
} sess;

typedef struct {
  char *stream; /* NULL = user stream */
  char *text;
} outmsg;

struct ex_ws {
  exsim *e;
  struct lws_context *ctx;
  pthread_t th;
  bool started;
  atomic_bool stop;
  sess *list;
  pthread_mutex_t mu; /* outbox, flags, wanted */
  outmsg *out;
  size_t nout, capout;
  bool drop_market, drop_user, key_expired;
  struct {
    char sym[LB_SYMBOL_MAX];
    lb_ms iv;
  } wanted[64];
  int nwanted;
  lws_sorted_usec_list_t sul;
  lb_ms last_ping, last_drop; /* mono */
};

/* ==== Queues ==== */

static void sess_push(sess *s, const char *text) {
  if (s->qlen == SESS_QUEUE_MAX) { /* a client that does not read: drop its oldest */
    free(s->q[s->qhead]);
    s->qhead = (s->qhead + 1) % s->qcap;
    s->qlen--;
  }
  if (s->qlen == s->qcap) {
    size_t nc = s->qcap ? s->qcap * 2 : 64;
    char **nq = malloc(nc * sizeof *nq);
    if (!nq) return;
    for (size_t i = 0; i < s->qlen; i++) nq[i] = s->q[(s->qhead + i) % s->qcap];
    free(s->q);
    s->q = nq;
    s->qcap = nc;
    s->qhead = 0;
  }
  char *copy = strdup(text);
  if (!copy) return;
  s->q[(s->qhead + s->qlen) % s->qcap] = copy;
  s->qlen++;
}

static void sess_free(sess *s) {
  for (size_t i = 0; i < s->qlen; i++) free(s->q[(s->qhead + i) % s->qcap]);
  free(s->q);
  s->q = NULL;
  s->qlen = s->qcap = s->qhead = 0;
}

void ex_ws_send(exsim *e, const char *stream, json_t *msg) {
  ex_ws *w = e->ws;
  if (!w || !msg) {
    json_decref(msg);
    return;
  }
  char *text = json_dumps(msg, JSON_COMPACT);
  json_decref(msg);
  if (!text) return;
  pthread_mutex_lock(&w->mu);
  if (w->nout == w->capout) {
    size_t nc = w->capout ? w->capout * 2 : 256;
    outmsg *no = realloc(w->out, nc * sizeof *no);
    if (!no) {
      pthread_mutex_unlock(&w->mu);
      free(text);
      return;
    }
    w->out = no;
    w->capout = nc;
  }
  w->out[w->nout].stream = stream ? strdup(stream) : NULL;
  w->out[w->nout].text = text;
  w->nout++;
  pthread_mutex_unlock(&w->mu);
  lws_cancel_service(w->ctx);
}

void ex_ws_drop(exsim *e, bool market, bool user) {
  ex_ws *w = e->ws;
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->drop_market |= market;
  w->drop_user |= user;
  pthread_mutex_unlock(&w->mu);
  lws_cancel_service(w->ctx);
}

void ex_ws_listenkey_expired(exsim *e) {
  ex_ws *w = e->ws;
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->key_expired = true;
  pthread_mutex_unlock(&w->mu);
  lws_cancel_service(w->ctx);
}

int ex_ws_intervals(exsim *e, const char *symbol_lower, lb_ms *out, int max) {
  ex_ws *w = e->ws;
  if (!w) return 0;
  int n = 0;
  pthread_mutex_lock(&w->mu);
  for (int i = 0; i < w->nwanted && n < max; i++)
    if (strcmp(w->wanted[i].sym, symbol_lower) == 0) out[n++] = w->wanted[i].iv;
  pthread_mutex_unlock(&w->mu);
  return n;
}

/* Rebuilds the (symbol, kline interval) set wanted by open connections. */
static void refresh_wanted(ex_ws *w) {
  pthread_mutex_lock(&w->mu);
  w->nwanted = 0;
  for (sess *s = w->list; s; s = s->next) {
    if (!s->market_ok) continue;
    for (int i = 0; i < s->nstreams; i++) {
      const char *k = strstr(s->streams[i], "@kline_");
      lb_ms iv;
      if (!k || lb_timeframe_parse(k + 7, &iv) != LB_OK) continue;
      char sym[LB_SYMBOL_MAX];
      snprintf(sym, sizeof sym, "%.*s", (int)(k - s->streams[i]), s->streams[i]);
      bool have = false;
      for (int j = 0; j < w->nwanted; j++)
        if (w->wanted[j].iv == iv && strcmp(w->wanted[j].sym, sym) == 0) have = true;
      if (!have && w->nwanted < 64) {
        snprintf(w->wanted[w->nwanted].sym, LB_SYMBOL_MAX, "%s", sym);
        w->wanted[w->nwanted].iv = iv;
        w->nwanted++;
      }
    }
  }
  pthread_mutex_unlock(&w->mu);
}

/* The session's name for a market stream, or NULL if it does not want it.
 * "<sym>@markPrice" messages reach "@markPrice" and "@markPrice@1s". */
static const char *wants(const sess *s, const char *stream) {
  size_t n = strlen(stream);
  for (int i = 0; i < s->nstreams; i++) {
    const char *x = s->streams[i];
    if (strcmp(x, stream) == 0) return x;
    if (strncmp(x, stream, n) == 0 && strcmp(x + n, "@1s") == 0 && strstr(stream, "@markPrice")) return x;
  }
  return NULL;
}

static void deliver(ex_ws *w, const outmsg *m) {
  for (sess *s = w->list; s; s = s->next) {
    if (!m->stream) {
      if (!s->user) continue;
      sess_push(s, m->text);
    } else {
      if (s->user || !s->market_ok) continue;
      const char *name = wants(s, m->stream);
      if (!name) continue;
      if (s->combined) {
        size_t len = strlen(m->text) + strlen(name) + 32;
        char *wrapped = malloc(len);
        if (!wrapped) continue;
        snprintf(wrapped, len, "{\"stream\":\"%s\",\"data\":%s}", name, m->text);
        sess_push(s, wrapped);
        free(wrapped);
      } else {
        sess_push(s, m->text);
      }
    }
    lws_callback_on_writable(s->wsi);
  }
}

static void drain_outbox(ex_ws *w) {
  pthread_mutex_lock(&w->mu);
  outmsg *out = w->out;
  size_t n = w->nout;
  bool dm = w->drop_market, du = w->drop_user, kx = w->key_expired;
  w->out = NULL;
  w->nout = w->capout = 0;
  w->drop_market = w->drop_user = w->key_expired = false;
  pthread_mutex_unlock(&w->mu);
  for (size_t i = 0; i < n; i++) {
    deliver(w, &out[i]);
    free(out[i].stream);
    free(out[i].text);
  }
  free(out);
  if (kx) {
    char msg[160];
    pthread_mutex_lock(&w->e->mu);
    lb_ms now = ex_server_now(w->e);
    pthread_mutex_unlock(&w->e->mu);
    snprintf(msg, sizeof msg, "{\"e\":\"listenKeyExpired\",\"E\":%lld,\"listenKey\":\"\"}", (long long)now);
    for (sess *s = w->list; s; s = s->next)
      if (s->user) {
        sess_push(s, msg);
        s->close = true;
        lws_callback_on_writable(s->wsi);
      }
  }
  if (dm || du)
    for (sess *s = w->list; s; s = s->next)
      if ((s->user && du) || (!s->user && dm)) {
        s->close = true;
        sess_free(s); /* a drop loses what was in flight */
        lws_callback_on_writable(s->wsi);
      }
}

/* ==== Routing ==== */

static void add_streams(sess *s, const char *list) {
  while (*list && s->nstreams < SESS_STREAMS) {
    size_t n = strcspn(list, "/");
    if (n > 0 && n < sizeof s->streams[0]) {
      snprintf(s->streams[s->nstreams], sizeof s->streams[0], "%.*s", (int)n, list);
      s->nstreams++;
    }
    list += n;
    if (*list == '/') list++;
  }
}

/* Decides what a connection is from its path; false = refuse it. */
static bool route(ex_ws *w, struct lws *wsi, sess *s) {
  /* one combined stream of every symbol: about 40 characters each */
  char uri[WS_URI_MAX] = "", arg[WS_URI_MAX] = "", streams[WS_URI_MAX] = "";
  lws_hdr_copy(wsi, uri, sizeof uri, WSI_TOKEN_GET_URI);
  for (int i = 0; lws_hdr_copy_fragment(wsi, arg, sizeof arg, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++)
    if (strncmp(arg, "streams=", 8) == 0) snprintf(streams, sizeof streams, "%s", arg + 8);
  exsim *e = w->e;
  pthread_mutex_lock(&e->mu);
  bool key_ok = e->listen_key[0] && ex_server_now(e) < e->listen_key_expiry;
  char key[72];
  snprintf(key, sizeof key, "%s", e->listen_key);
  bool legacy = e->opt.legacy_ws_paths;
  pthread_mutex_unlock(&e->mu);

  const char *p = uri;
  enum { ROUTE_NONE, ROUTE_MARKET, ROUTE_PUBLIC, ROUTE_PRIVATE } route = ROUTE_NONE;
  if (strncmp(p, "/market/", 8) == 0) route = ROUTE_MARKET, p += 7;
  else if (strncmp(p, "/public/", 8) == 0) route = ROUTE_PUBLIC, p += 7;
  else if (strncmp(p, "/private/", 9) == 0) route = ROUTE_PRIVATE, p += 8;
  if (strncmp(p, "/ws/", 4) == 0) {
    const char *x = p + 4;
    if (route == ROUTE_PRIVATE || (route == ROUTE_NONE && strcmp(x, key) == 0)) {
      s->user = true;
      return key_ok && strcmp(x, key) == 0;
    }
    add_streams(s, x);
  } else if (strcmp(p, "/stream") == 0) {
    if (route == ROUTE_PRIVATE) return false;
    s->combined = true;
    add_streams(s, streams);
  } else {
    return false;
  }
  s->market_ok = route == ROUTE_MARKET || (route == ROUTE_NONE && legacy);
  return true;
}

/* SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS */
static void on_text(ex_ws *w, sess *s, const char *text, size_t len) {
  json_error_t je;
  json_t *j = json_loadb(text, len, 0, &je);
  if (!j) return;
  const char *m = json_string_value(json_object_get(j, "method"));
  json_t *id = json_object_get(j, "id");
  json_t *params = json_object_get(j, "params");
  json_t *result = json_null();
  if (m && strcmp(m, "SUBSCRIBE") == 0) {
    size_t i;
    json_t *x;
    json_array_foreach(params, i, x) if (json_is_string(x)) add_streams(s, json_string_value(x));
    s->combined = true;
  } else if (m && strcmp(m, "UNSUBSCRIBE") == 0) {
    size_t i;
    json_t *x;
    json_array_foreach(params, i, x) {
      for (int k = 0; k < s->nstreams; k++)
        if (json_is_string(x) && strcmp(s->streams[k], json_string_value(x)) == 0) {
          memmove(s->streams[k], s->streams[k + 1], (size_t)(s->nstreams - k - 1) * sizeof s->streams[0]);
          s->nstreams--;
          break;
        }
    }
  } else if (m && strcmp(m, "LIST_SUBSCRIPTIONS") == 0) {
    result = json_array();
    for (int k = 0; k < s->nstreams; k++) json_array_append_new(result, json_string(s->streams[k]));
  }
  json_t *resp = json_pack("{s:o, s:O}", "result", result, "id", id ? id : json_null());
  char *t = json_dumps(resp, JSON_COMPACT);
  json_decref(resp);
  json_decref(j);
  if (t) sess_push(s, t);
  free(t);
  refresh_wanted(w);
  lws_callback_on_writable(s->wsi);
}

/* ==== Callback ==== */

static void on_timer(lws_sorted_usec_list_t *sul) {
  ex_ws *w = lws_container_of(sul, ex_ws, sul);
  exsim *e = w->e;
  lb_ms mono = lb_time_mono_ms();
  pthread_mutex_lock(&e->mu);
  lb_ms drop_every = e->faults.ws_drop_every_ms;
  bool expired = e->listen_key[0] && ex_server_now(e) >= e->listen_key_expiry;
  if (expired) {
    e->listen_key[0] = '\0';
    e->listen_key_expiry = 0;
    e->dirty = true;
  }
  pthread_mutex_unlock(&e->mu);
  if (expired) ex_ws_listenkey_expired(e);
  if (drop_every > 0 && mono - w->last_drop >= drop_every) {
    w->last_drop = mono;
    ex_ws_drop(e, true, true);
  }
  if (mono - w->last_ping >= e->opt.ws_ping_ms) {
    w->last_ping = mono;
    for (sess *s = w->list; s; s = s->next) {
      if (s->ping_sent > s->last_pong && mono - s->ping_sent > e->opt.ws_pong_timeout_ms) s->close = true;
      else s->ping_due = true;
      lws_callback_on_writable(s->wsi);
    }
  }
  lws_sul_schedule(w->ctx, 0, &w->sul, on_timer, 50 * LWS_US_PER_MS);
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
  ex_ws *w = lws_context_user(lws_get_context(wsi));
  sess *s = user;
  switch (reason) {
  case LWS_CALLBACK_PROTOCOL_INIT:
    if (w) lws_sul_schedule(lws_get_context(wsi), 0, &w->sul, on_timer, 50 * LWS_US_PER_MS);
    break;
  case LWS_CALLBACK_FILTER_PROTOCOL_CONNECTION: {
    pthread_mutex_lock(&w->e->mu);
    bool refuse = ex_server_now(w->e) < w->e->faults.ws_refuse_until;
    if (refuse) w->e->cnt.ws_refused++;
    pthread_mutex_unlock(&w->e->mu);
    if (refuse) return 1;
    sess tmp;
    memset(&tmp, 0, sizeof tmp);
    if (!route(w, wsi, &tmp)) {
      pthread_mutex_lock(&w->e->mu);
      w->e->cnt.ws_refused++;
      pthread_mutex_unlock(&w->e->mu);
      return 1;
    }
    break;
  }
  case LWS_CALLBACK_ESTABLISHED:
    memset(s, 0, sizeof *s);
    if (!route(w, wsi, s)) return -1;
    s->wsi = wsi;
    s->last_pong = lb_time_mono_ms();
    s->next = w->list;
    w->list = s;
    pthread_mutex_lock(&w->e->mu);
    w->e->cnt.ws_connects++;
    pthread_mutex_unlock(&w->e->mu);
    refresh_wanted(w);
    break;
  case LWS_CALLBACK_RECEIVE:
    if (lws_is_first_fragment(wsi) && lws_is_final_fragment(wsi)) on_text(w, s, in, len);
    break;
  case LWS_CALLBACK_RECEIVE_PONG:
    s->last_pong = lb_time_mono_ms();
    pthread_mutex_lock(&w->e->mu);
    w->e->cnt.ws_pongs++;
    pthread_mutex_unlock(&w->e->mu);
    break;
  case LWS_CALLBACK_SERVER_WRITEABLE: {
    if (s->close && s->qlen == 0) {
      pthread_mutex_lock(&w->e->mu);
      w->e->cnt.ws_drops++;
      pthread_mutex_unlock(&w->e->mu);
      return -1;
    }
    if (s->ping_due) {
      unsigned char buf[LWS_PRE + 4];
      s->ping_due = false;
      s->ping_sent = lb_time_mono_ms();
      memcpy(buf + LWS_PRE, "ping", 4); /* lws sends no empty PING */
      if (lws_write(wsi, buf + LWS_PRE, 4, LWS_WRITE_PING) < 0) return -1;
    } else if (s->qlen > 0) {
      char *t = s->q[s->qhead];
      s->qhead = (s->qhead + 1) % s->qcap;
      s->qlen--;
      size_t n = strlen(t);
      unsigned char *buf = malloc(LWS_PRE + n);
      if (!buf) {
        free(t);
        return -1;
      }
      memcpy(buf + LWS_PRE, t, n);
      int wr = lws_write(wsi, buf + LWS_PRE, n, LWS_WRITE_TEXT);
      free(buf);
      free(t);
      if (wr < (int)n) return -1;
    }
    if (s->qlen > 0 || s->close || s->ping_due) lws_callback_on_writable(wsi);
    break;
  }
  case LWS_CALLBACK_CLOSED:
    for (sess **pp = &w->list; *pp; pp = &(*pp)->next)
      if (*pp == s) {
        *pp = s->next;
        break;
      }
    sess_free(s);
    refresh_wanted(w);
    break;
  case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
    if (w) drain_outbox(w);
    break;
  default:
    break;
  }
  return 0;
}

static const struct lws_protocols protocols[] = {
    {"exsim", on_lws, sizeof(sess), 1 << 16, 0, NULL, 0}, {NULL, NULL, 0, 0, 0, NULL, 0}};

static void *ws_main(void *arg) {
  ex_ws *w = arg;
  while (!atomic_load(&w->stop))
    if (lws_service(w->ctx, 0) < 0) break;
  return NULL;
}

static void quiet_log(int level, const char *line) {
  (void)level, (void)line;
}

lb_err ex_ws_start(exsim *e, lb_errbuf *eb) {
  ex_ws *w = calloc(1, sizeof *w);
  if (!w) return lb_fail(eb, LB_ENOMEM, "out of memory");
  w->e = e;
  atomic_init(&w->stop, false);
  pthread_mutex_init(&w->mu, NULL);
  lws_set_log_level(e->opt.quiet ? 0 : LLL_ERR, e->opt.quiet ? quiet_log : NULL);
  struct lws_context_creation_info ci;
  memset(&ci, 0, sizeof ci);
  ci.port = e->opt.ws_port;
  ci.iface = e->opt.host;
  ci.protocols = protocols;
  ci.user = w;
  ci.options = LWS_SERVER_OPTION_DISABLE_IPV6;
  ci.max_http_header_data = WS_URI_MAX + 1024; /* the request line of a combined stream of every symbol */
  w->ctx = lws_create_context(&ci);
  if (!w->ctx) {
    pthread_mutex_destroy(&w->mu);
    free(w);
    return lb_fail(eb, LB_EIO, "cannot listen for WebSocket on %s:%d", e->opt.host, e->opt.ws_port);
  }
  struct lws_vhost *vh = lws_get_vhost_by_name(w->ctx, "default");
  e->ws_port = vh ? lws_get_vhost_listen_port(vh) : e->opt.ws_port;
  e->ws = w;
  if (pthread_create(&w->th, NULL, ws_main, w) != 0) {
    ex_ws_stop(e);
    return lb_fail(eb, LB_ENOMEM, "cannot start the WebSocket thread");
  }
  w->started = true;
  return LB_OK;
}

void ex_ws_stop(exsim *e) {
  ex_ws *w = e->ws;
  if (!w) return;
  atomic_store(&w->stop, true);
  lws_cancel_service(w->ctx);
  if (w->started) pthread_join(w->th, NULL);
  e->ws = NULL;
  lws_context_destroy(w->ctx);
  for (size_t i = 0; i < w->nout; i++) {
    free(w->out[i].stream);
    free(w->out[i].text);
  }
  free(w->out);
  pthread_mutex_destroy(&w->mu);
  free(w);
}
