/* binance_ws.c -- Binance streams: market data and user data over libwebsockets, REST fallback.
 *
 * Two threads per adapter once subscribe() has run:
 *
 *   stream thread   one lws context, two client connections:
 *                     market  <BINANCE_WS_MARKET_URL>/stream?streams=<sym>@kline_<tf>/<sym>@markPrice@1s/...
 *                     user    <BINANCE_WS_USER_URL>/ws/<listenKey>
 *                   lws answers the server's pings and pings an idle
 *                   connection itself (retry_and_idle_policy); a lost
 *                   market connection is retried after a delay that doubles
 *                   from BINANCE_WS_RECONNECT_MIN_MS to ..._MAX_MS.
 *   worker thread   REST: polls klines and premiumIndex every
 *                   BINANCE_REST_POLL_MS while the market stream is down,
 *                   creates the listenKey (again after -1125, an expiry or a
 *                   failed connection) and keeps it alive.
 *
 * Both push xchg events into one queue (mutex) that poll_events() drains on
 * the engine's thread.  Closed candles are deduplicated per symbol by open
 * time, so the stream and the polling can overlap without a candle being
 * delivered twice or out of order.  Every lws call happens on the stream
 * thread; the others only set flags and call lws_cancel_service().
 *
 * A user-data event (fill, order, position, ...) is never lost silently:
 * if the queue cannot grow for it (out of memory), the drain reports the
 * user-data stream down at that point and the connection is closed, so it
 * comes back with a STREAM_UP after which the engine re-reads orders and
 * fills over REST (the same path as any other outage of that stream).
 */
#include <libwebsockets.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "exchange/binance_internal.h"

#define QUEUE_MAX (1 << 20)

typedef struct bn_conn {
  lws_sorted_usec_list_t sul; /* first: the timer callback gets &sul */
  struct bn_streams *s;
  struct lws *wsi;
  bool user;
  bool up;          /* handshake done, not yet closed */
  bool announced;   /* STREAM_DOWN already sent for the current outage */
  bool connecting;  /* an attempt is under way (stream thread) */
  atomic_bool kill;        /* close at the next chance (set by any thread) */
  atomic_bool connect_req; /* connect at the next chance (set by any thread) */
  int failures;
  lb_buf rx; /* fragments of the message being received */
} bn_conn;

struct bn_streams {
  bn *b;
  lb_ms tf;
  char interval[16];
  struct lws_context *ctx;
  lws_retry_bo_t policy;
  pthread_t ws_thread, worker_thread;
  bool ws_started, worker_started;
  atomic_bool stop;

  /* URL parts */
  bool m_ssl, u_ssl;
  char m_host[256], u_host[256];
  int m_port, u_port;
  char m_path[2048];
  char u_prefix[512];

  bn_conn market, user;

  /* worker <-> stream thread (mu) */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char listen_key[128];
  bool need_key;       /* worker must (re)create the listenKey */
  lb_ms key_retry_at;  /* mono ms */
  int key_failures;
  lb_ms next_keepalive;
  bool market_down;    /* REST polling active */
  lb_ms next_poll;
  bn_http http;        /* the worker's */

  /* event queue (qmu) */
  pthread_mutex_t qmu;
  xchg_event *q;
  size_t qhead, qlen, qcap;
  uint64_t q_in, q_out;  /* events queued / drained so far */
  bool user_lost;        /* a user-data event was dropped: a STREAM_DOWN is owed ... */
  uint64_t lost_at;      /* ... right after the q_in-th event, where it was dropped */
  bool user_down;        /* a user STREAM_DOWN is queued or owed, no STREAM_UP since */
  struct {
    char symbol[LB_SYMBOL_MAX];
    lb_ms last_ts;
    /* Candles held back after a gap until REST has filled it (order!). */
    xchg_event pending[64];
    int n_pending;
    lb_ms pending_since; /* mono */
  } last[BN_MAX_SYMBOLS];
  bool gap_fill; /* some symbol has pending candles (qmu) */
  struct {
    char order_id[XCHG_ID_MAX];
    char client_id[XCHG_ID_MAX];
  } algo_orders[64]; /* triggered algo order -> its client id (ALGO_UPDATE "ai") */
  int algo_next;
};

/* ==== Event queue ==== */

static bool enqueue_locked(bn_streams *s, const xchg_event *ev);

/* Appends under qmu.  Closed candles are delivered once each, in order,
 * without holes: one older than or equal to the last of its symbol is
 * dropped (stream and polling overlap), and one that leaves a hole is held
 * back while the worker fetches the missing bars over REST
 * (fill_gaps()).  `accept_gap` lets a candle through anyway (the exchange
 * itself has no bars there). */
static void push_candle_locked(bn_streams *s, const xchg_event *ev, bool accept_gap) {
  for (int i = 0; i < s->b->n_symbols; i++) {
    if (strcmp(s->last[i].symbol, ev->symbol) != 0) continue;
    if (ev->timeframe != s->tf || ev->candle.ts <= s->last[i].last_ts) return;
    bool hole = s->last[i].last_ts > 0 && ev->candle.ts > s->last[i].last_ts + s->tf;
    if (!accept_gap && (hole || s->last[i].n_pending > 0)) {
      int n = s->last[i].n_pending;
      if (n > 0 && ev->candle.ts <= s->last[i].pending[n - 1].candle.ts) return;
      if (n == 64) return; /* the fill will fetch it */
      if (n == 0) s->last[i].pending_since = lb_time_mono_ms();
      s->last[i].pending[s->last[i].n_pending++] = *ev;
      s->gap_fill = true;
      pthread_cond_signal(&s->cv);
      return;
    }
    s->last[i].last_ts = ev->candle.ts;
    break;
  }
  enqueue_locked(s, ev);
}

static void push_locked(bn_streams *s, const xchg_event *ev) {
  if (ev->type == XCHG_EV_CANDLE)
    push_candle_locked(s, ev, false);
  else
    enqueue_locked(s, ev);
}

/* Events of the user-data stream (and its own up/down): what reconciliation
 * must re-read if one is lost. */
static bool is_user_event(const xchg_event *ev) {
  switch (ev->type) {
  case XCHG_EV_CANDLE:
  case XCHG_EV_MARK: return false;
  case XCHG_EV_STREAM_DOWN:
  case XCHG_EV_STREAM_UP: return ev->stream == XCHG_STREAM_USER;
  default: return true;
  }
}

/* Doubles the ring (a full one: qlen == qcap); false when memory is short. */
static bool grow_locked(bn_streams *s) {
  size_t ncap = s->qcap ? s->qcap * 2 : 256;
  xchg_event *nq = realloc(s->q, ncap * sizeof *nq);
  if (!nq) return false;
  /* the wrapped part [0, qhead) moves after the old end */
  memcpy(nq + s->qcap, nq, s->qhead * sizeof *nq);
  s->q = nq;
  s->qcap = ncap;
  return true;
}

/* A user-data event could not be queued: the drain owes a STREAM_DOWN at
 * this point (unless one is queued or owed already), and the connection
 * goes, so that its STREAM_UP makes the engine reconcile over REST. */
static void user_event_lost_locked(bn_streams *s, const xchg_event *ev) {
  BN_STAT(s->b, events_lost, 1);
  if (!s->user_down) {
    LB_WARN("binance", "out of memory: a user-data event (type %d) was not queued; the user-data "
                       "stream is reported down and reconnects (orders and fills are re-read)",
            (int)ev->type);
    s->user_down = true;
    s->user_lost = true;
    s->lost_at = s->q_in;
  }
  atomic_store(&s->user.kill, true);
  if (s->ctx) lws_cancel_service(s->ctx);
}

/* Appends under qmu; false when the event was dropped. */
static bool enqueue_locked(bn_streams *s, const xchg_event *ev) {
  bool user = is_user_event(ev);
  if (user && ev->type == XCHG_EV_STREAM_DOWN && s->user_down) return true; /* said already */
  if (s->qlen == s->qcap) {
    bool market = ev->type == XCHG_EV_CANDLE || ev->type == XCHG_EV_MARK;
    if (s->qcap >= QUEUE_MAX && market) return false; /* nobody drains: drop market data, never fills */
    if (!grow_locked(s)) {
      if (user) user_event_lost_locked(s, ev);
      return false;
    }
  }
  s->q[(s->qhead + s->qlen) % s->qcap] = *ev;
  s->qlen++;
  s->q_in++;
  if (user && ev->type == XCHG_EV_STREAM_DOWN) s->user_down = true;
  if (user && ev->type == XCHG_EV_STREAM_UP) s->user_down = false;
  return true;
}

static void push(bn_streams *s, const xchg_event *ev) {
  pthread_mutex_lock(&s->qmu);
  push_locked(s, ev);
  pthread_mutex_unlock(&s->qmu);
}

static void push_stream_state(bn_streams *s, xchg_event_type t, xchg_stream which) {
  xchg_event ev = {.type = t, .stream = which, .time = bn_server_now(s->b)};
  push(s, &ev);
}

int bn_streams_drain(bn *b, xchg_event *out, int max) {
  bn_streams *s = b->streams;
  if (!s || max <= 0) return 0;
  lb_ms now = bn_server_now(b);
  pthread_mutex_lock(&s->qmu);
  int n = 0;
  while (n < max) {
    if (s->user_lost && s->q_out == s->lost_at) { /* where a user-data event was dropped */
      out[n++] = (xchg_event){.type = XCHG_EV_STREAM_DOWN, .stream = XCHG_STREAM_USER, .time = now};
      s->user_lost = false;
      continue;
    }
    if (s->qlen == 0) break;
    out[n++] = s->q[s->qhead];
    s->qhead = (s->qhead + 1) % s->qcap;
    s->qlen--;
    s->q_out++;
  }
  pthread_mutex_unlock(&s->qmu);
  return n;
}

/* ==== Messages ==== */

static void on_market_text(bn_streams *s, const char *text, size_t len) {
  json_error_t je;
  json_t *j = json_loadb(text, len, 0, &je);
  if (!j) return;
  xchg_event ev[2];
  int n = bn_parse_market_msg(j, ev, 2);
  json_decref(j);
  pthread_mutex_lock(&s->qmu);
  for (int i = 0; i < n; i++) push_locked(s, &ev[i]);
  pthread_mutex_unlock(&s->qmu);
}

static void on_user_text(bn_streams *s, const char *text, size_t len) {
  json_error_t je;
  json_t *j = json_loadb(text, len, 0, &je);
  if (!j) return;
  const json_t *d = json_is_object(json_object_get(j, "data")) ? json_object_get(j, "data") : j;
  const char *e = bn_json_str(d, "e");
  if (strcmp(e, "listenKeyExpired") == 0) {
    pthread_mutex_lock(&s->mu);
    s->need_key = true;
    s->key_retry_at = 0;
    pthread_mutex_unlock(&s->mu);
    pthread_cond_signal(&s->cv);
    atomic_store(&s->user.kill, true);
    json_decref(j);
    return;
  }
  xchg_event ev[8];
  int n = bn_parse_user_msg(j, ev, 8);
  pthread_mutex_lock(&s->qmu);
  if (strcmp(e, "ALGO_UPDATE") == 0) {
    /* Remember which real order a triggered algo order became, so its fills
     * carry the stop's client id. */
    const json_t *o = json_object_get(d, "o");
    const char *ai = bn_json_str(o, "ai");
    char aid[XCHG_ID_MAX];
    if (!*ai && json_is_integer(json_object_get(o, "ai"))) {
      snprintf(aid, sizeof aid, "%lld", (long long)json_integer_value(json_object_get(o, "ai")));
      ai = aid;
    }
    if (*ai && strcmp(ai, "0") != 0 && *bn_json_str(o, "caid")) {
      int k = s->algo_next;
      s->algo_next = (s->algo_next + 1) % 64;
      snprintf(s->algo_orders[k].order_id, XCHG_ID_MAX, "%s", ai);
      snprintf(s->algo_orders[k].client_id, XCHG_ID_MAX, "%s", bn_json_str(o, "caid"));
    }
  }
  for (int i = 0; i < n; i++) {
    if (ev[i].type == XCHG_EV_FILL || ev[i].type == XCHG_EV_ORDER) {
      for (int k = 0; k < 64; k++)
        if (s->algo_orders[k].order_id[0] &&
            strcmp(s->algo_orders[k].order_id, ev[i].order.exchange_id) == 0 &&
            strcmp(e, "ORDER_TRADE_UPDATE") == 0) {
          snprintf(ev[i].order.client_id, XCHG_ID_MAX, "%s", s->algo_orders[k].client_id);
          snprintf(ev[i].fill.client_id, XCHG_ID_MAX, "%s", s->algo_orders[k].client_id);
        }
    }
    push_locked(s, &ev[i]);
  }
  pthread_mutex_unlock(&s->qmu);
  json_decref(j);
}

/* ==== Stream thread ==== */

static void schedule_connect(bn_conn *c);

static void conn_down(bn_conn *c) {
  bn_streams *s = c->s;
  bool was_up = c->up;
  c->up = false;
  c->connecting = false;
  c->wsi = NULL;
  lb_buf_reset(&c->rx);
  if (atomic_load(&s->stop)) return;
  if (was_up) BN_STAT(s->b, stream_drops, 1);
  if (!c->announced) {
    c->announced = true;
    push_stream_state(s, XCHG_EV_STREAM_DOWN, c->user ? XCHG_STREAM_USER : XCHG_STREAM_MARKET);
  }
  c->failures++;
  if (c->user) {
    /* A new listenKey first (the old one may be what failed), then connect,
     * no sooner than the reconnect delay. */
    lb_ms d = s->b->conf.reconnect_min_ms;
    for (int i = 1; i < c->failures && d < s->b->conf.reconnect_max_ms; i++) d *= 2;
    if (d > s->b->conf.reconnect_max_ms) d = s->b->conf.reconnect_max_ms;
    pthread_mutex_lock(&s->mu);
    s->need_key = true;
    s->key_retry_at = lb_time_mono_ms() + d;
    pthread_mutex_unlock(&s->mu);
    pthread_cond_signal(&s->cv);
  } else {
    pthread_mutex_lock(&s->mu);
    if (!s->market_down) {
      s->market_down = true;
      s->next_poll = 0;
    }
    pthread_mutex_unlock(&s->mu);
    pthread_cond_signal(&s->cv);
    schedule_connect(c);
  }
}

static void connect_now(bn_conn *c) {
  bn_streams *s = c->s;
  if (c->wsi || atomic_load(&s->stop)) return;
  char path[2200];
  struct lws_client_connect_info i;
  memset(&i, 0, sizeof i);
  i.context = s->ctx;
  if (c->user) {
    pthread_mutex_lock(&s->mu);
    bool have = s->listen_key[0] != '\0';
    snprintf(path, sizeof path, "%s/ws/%s", s->u_prefix, s->listen_key);
    pthread_mutex_unlock(&s->mu);
    if (!have) return;
    i.address = s->u_host;
    i.port = s->u_port;
    i.ssl_connection = s->u_ssl ? LCCSCF_USE_SSL : 0;
  } else {
    snprintf(path, sizeof path, "%s", s->m_path);
    i.address = s->m_host;
    i.port = s->m_port;
    i.ssl_connection = s->m_ssl ? LCCSCF_USE_SSL : 0;
  }
  i.path = path;
  i.host = i.address;
  i.origin = i.address;
  i.local_protocol_name = "levbot-binance";
  i.pwsi = &c->wsi;
  i.opaque_user_data = c;
  i.retry_and_idle_policy = &s->policy;
  c->connecting = true;
  if (!lws_client_connect_via_info(&i) && c->connecting) {
    /* Failed synchronously without the error callback. */
    conn_down(c);
  }
}

static void on_connect_timer(lws_sorted_usec_list_t *sul) { connect_now((bn_conn *)sul); }

static void schedule_connect(bn_conn *c) {
  bn_streams *s = c->s;
  lb_ms d = s->b->conf.reconnect_min_ms;
  for (int i = 1; i < c->failures && d < s->b->conf.reconnect_max_ms; i++) d *= 2;
  if (d > s->b->conf.reconnect_max_ms) d = s->b->conf.reconnect_max_ms;
  lws_sul_schedule(s->ctx, 0, &c->sul, on_connect_timer, (lws_usec_t)d * LWS_US_PER_MS);
}

static int on_lws(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
                  size_t len) {
  (void)user;
  bn_conn *c = wsi ? lws_get_opaque_user_data(wsi) : NULL;
  bn_streams *s = c ? c->s : NULL;
  switch (reason) {
  case LWS_CALLBACK_EVENT_WAIT_CANCELLED: {
    bn_streams *st = lws_context_user(lws_get_context(wsi));
    if (!st) break;
    bn_conn *cs[2] = {&st->market, &st->user};
    for (int i = 0; i < 2; i++) {
      if (atomic_exchange(&cs[i]->kill, false) && cs[i]->wsi)
        lws_set_timeout(cs[i]->wsi, 1, LWS_TO_KILL_ASYNC);
      if (atomic_exchange(&cs[i]->connect_req, false)) connect_now(cs[i]);
    }
    break;
  }
  case LWS_CALLBACK_CLIENT_ESTABLISHED:
    if (!c) break;
    c->up = true;
    c->connecting = false;
    c->failures = 0;
    c->announced = false;
    BN_STAT(s->b, stream_connects, 1);
    push_stream_state(s, XCHG_EV_STREAM_UP, c->user ? XCHG_STREAM_USER : XCHG_STREAM_MARKET);
    if (!c->user) {
      pthread_mutex_lock(&s->mu);
      s->market_down = false;
      pthread_mutex_unlock(&s->mu);
    } else {
      pthread_mutex_lock(&s->mu);
      s->key_failures = 0;
      pthread_mutex_unlock(&s->mu);
    }
    break;
  case LWS_CALLBACK_CLIENT_RECEIVE:
    if (!c) break;
    if (lb_buf_append(&c->rx, in, len) != LB_OK || c->rx.len > (8u << 20)) {
      lb_buf_reset(&c->rx);
      break;
    }
    if (!lws_is_final_fragment(wsi)) break;
    if (c->user)
      on_user_text(s, c->rx.data, c->rx.len);
    else
      on_market_text(s, c->rx.data, c->rx.len);
    lb_buf_reset(&c->rx);
    if (atomic_exchange(&c->kill, false)) return -1;
    break;
  case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
    if (!c) break;
    LB_DEBUG("binance", "%s stream: connection failed: %s", c->user ? "user" : "market",
             in ? (const char *)in : "?");
    conn_down(c);
    break;
  case LWS_CALLBACK_CLIENT_CLOSED:
    if (!c) break;
    conn_down(c);
    break;
  default:
    break;
  }
  return 0;
}

static const struct lws_protocols protocols[] = {
    {"levbot-binance", on_lws, 0, 1 << 16, 0, NULL, 0},
    {NULL, NULL, 0, 0, 0, NULL, 0}};

static void *ws_main(void *arg) {
  bn_streams *s = arg;
  connect_now(&s->market);
  while (!atomic_load(&s->stop))
    if (lws_service(s->ctx, 0) < 0) break;
  return NULL;
}

/* ==== Worker thread (REST) ==== */

static void poll_market(bn_streams *s) {
  bn *b = s->b;
  xchg_error se;
  if (bn_ensure_synced(b, &s->http, &se) != XCHG_OK) return;
  for (int i = 0; i < b->n_symbols && !atomic_load(&s->stop); i++) {
    char q[256];
    snprintf(q, sizeof q, "symbol=%s&interval=%s&limit=10", b->symbols[i], s->interval);
    json_t *j;
    xchg_error e;
    if (bn_call(b, &s->http, BN_GET, "/fapi/v1/klines", q, 0, 1, &j, &e) == XCHG_OK) {
      size_t n = json_array_size(j), k;
      lb_ms server = bn_server_now(b);
      json_t *row;
      pthread_mutex_lock(&s->qmu);
      json_array_foreach(j, k, row) {
        xchg_event ev = {.type = XCHG_EV_CANDLE, .timeframe = s->tf, .time = server};
        lb_ms close_time;
        if (bn_parse_kline_row(row, &ev.candle, &close_time, NULL) != LB_OK) continue;
        if (k + 1 == n && close_time >= server) continue; /* still forming */
        snprintf(ev.symbol, sizeof ev.symbol, "%s", b->symbols[i]);
        push_locked(s, &ev);
      }
      pthread_mutex_unlock(&s->qmu);
      json_decref(j);
    }
    snprintf(q, sizeof q, "symbol=%s", b->symbols[i]);
    if (bn_call(b, &s->http, BN_GET, "/fapi/v1/premiumIndex", q, 0, 1, &j, &e) == XCHG_OK) {
      xchg_event ev = {.type = XCHG_EV_MARK, .time = bn_json_ms(j, "time")};
      lb_dec r = 0;
      snprintf(ev.symbol, sizeof ev.symbol, "%s", b->symbols[i]);
      if (bn_json_dec(j, "markPrice", &ev.price) && ev.price > 0) {
        bn_json_dec(j, "lastFundingRate", &r);
        ev.rate = lb_dec_to_double(r);
        push(s, &ev);
      }
      json_decref(j);
    }
  }
  BN_STAT(b, rest_polls, 1);
}

/* Fetches the bars between the last delivered candle and the first held
 * back one, delivers them, then the held-back ones.  Runs on the worker. */
static void fill_gaps(bn_streams *s) {
  bn *b = s->b;
  for (int i = 0; i < b->n_symbols && !atomic_load(&s->stop); i++) {
    pthread_mutex_lock(&s->qmu);
    int n = s->last[i].n_pending;
    lb_ms from = s->last[i].last_ts + s->tf;
    lb_ms to = n ? s->last[i].pending[0].candle.ts - 1 : 0;
    pthread_mutex_unlock(&s->qmu);
    if (n == 0) continue;
    char q[256];
    snprintf(q, sizeof q, "symbol=%s&interval=%s&startTime=%lld&endTime=%lld&limit=1500", b->symbols[i],
             s->interval, (long long)from, (long long)to);
    json_t *j;
    xchg_error e;
    xchg_kind k = bn_call(b, &s->http, BN_GET, "/fapi/v1/klines", q, 0, 10, &j, &e);
    pthread_mutex_lock(&s->qmu);
    if (k == XCHG_OK) {
      size_t r;
      json_t *row;
      json_array_foreach(j, r, row) {
        xchg_event ev = {.type = XCHG_EV_CANDLE, .timeframe = s->tf, .time = bn_server_now(b)};
        lb_ms close_time;
        if (bn_parse_kline_row(row, &ev.candle, &close_time, NULL) != LB_OK) continue;
        snprintf(ev.symbol, sizeof ev.symbol, "%s", b->symbols[i]);
        push_candle_locked(s, &ev, true);
      }
      json_decref(j);
    }
    /* Filled, or the exchange could not say for a while: release in order. */
    if (k == XCHG_OK || lb_time_mono_ms() - s->last[i].pending_since > 10 * b->conf.poll_ms) {
      int cnt = s->last[i].n_pending;
      xchg_event held[64];
      memcpy(held, s->last[i].pending, (size_t)cnt * sizeof held[0]);
      s->last[i].n_pending = 0;
      for (int h = 0; h < cnt; h++) push_candle_locked(s, &held[h], true);
    }
    pthread_mutex_unlock(&s->qmu);
  }
  pthread_mutex_lock(&s->qmu);
  s->gap_fill = false;
  for (int i = 0; i < b->n_symbols; i++) s->gap_fill |= s->last[i].n_pending > 0;
  pthread_mutex_unlock(&s->qmu);
}

static void create_key(bn_streams *s) {
  bn *b = s->b;
  json_t *j;
  xchg_error e;
  xchg_kind k = bn_call(b, &s->http, BN_POST, "/fapi/v1/listenKey", "", BN_F_KEY, 1, &j, &e);
  lb_ms now = lb_time_mono_ms();
  pthread_mutex_lock(&s->mu);
  if (k == XCHG_OK && *bn_json_str(j, "listenKey")) {
    snprintf(s->listen_key, sizeof s->listen_key, "%s", bn_json_str(j, "listenKey"));
    s->need_key = false;
    s->next_keepalive = now + b->conf.keepalive_ms;
    pthread_mutex_unlock(&s->mu);
    BN_STAT(b, listenkey_creates, 1);
    atomic_store(&s->user.connect_req, true);
    lws_cancel_service(s->ctx);
  } else {
    /* Back off like a reconnect. */
    lb_ms d = b->conf.reconnect_min_ms;
    for (int i = 0; i < s->key_failures && d < b->conf.reconnect_max_ms; i++) d *= 2;
    if (d > b->conf.reconnect_max_ms) d = b->conf.reconnect_max_ms;
    s->key_failures++;
    s->key_retry_at = now + d;
    pthread_mutex_unlock(&s->mu);
    LB_WARN("binance", "listenKey: %s", k == XCHG_OK ? "no key in the answer" : e.msg);
  }
  if (k == XCHG_OK) json_decref(j);
}

static void keep_key_alive(bn_streams *s) {
  bn *b = s->b;
  json_t *j;
  xchg_error e;
  /* Binance's PUT takes no parameters: it extends the account's key. */
  xchg_kind k = bn_call(b, &s->http, BN_PUT, "/fapi/v1/listenKey", "", BN_F_KEY, 1, &j, &e);
  lb_ms now = lb_time_mono_ms();
  if (k == XCHG_OK) {
    json_decref(j);
    BN_STAT(b, listenkey_keepalives, 1);
    pthread_mutex_lock(&s->mu);
    s->next_keepalive = now + b->conf.keepalive_ms;
    pthread_mutex_unlock(&s->mu);
    return;
  }
  pthread_mutex_lock(&s->mu);
  if (e.code == -1125) {
    /* The key is gone: a new one, and the stream must move to it. */
    s->need_key = true;
    s->key_retry_at = 0;
    atomic_store(&s->user.kill, true);
  } else {
    s->next_keepalive = now + 5000;
  }
  pthread_mutex_unlock(&s->mu);
  lws_cancel_service(s->ctx);
}

static void *worker_main(void *arg) {
  bn_streams *s = arg;
  bn *b = s->b;
  bool want_user = b->conf.api_key[0] != '\0';
  while (!atomic_load(&s->stop)) {
    lb_ms now = lb_time_mono_ms();
    pthread_mutex_lock(&s->mu);
    bool poll = s->market_down && now >= s->next_poll;
    bool key = want_user && s->need_key && now >= s->key_retry_at;
    bool alive = want_user && !s->need_key && s->listen_key[0] && now >= s->next_keepalive;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->qmu);
    bool gaps = s->gap_fill;
    pthread_mutex_unlock(&s->qmu);
    if (gaps) fill_gaps(s);
    if (poll) {
      poll_market(s);
      pthread_mutex_lock(&s->mu);
      s->next_poll = lb_time_mono_ms() + b->conf.poll_ms;
      pthread_mutex_unlock(&s->mu);
    }
    if (key) create_key(s);
    if (alive) keep_key_alive(s);
    if (atomic_load(&s->stop)) break;
    /* Sleep until the next deadline or a signal. */
    pthread_mutex_lock(&s->mu);
    lb_ms wake = lb_time_mono_ms() + 1000;
    pthread_mutex_lock(&s->qmu);
    if (s->gap_fill) wake = lb_time_mono_ms() + 20;
    pthread_mutex_unlock(&s->qmu);
    if (s->market_down && s->next_poll < wake) wake = s->next_poll;
    if (want_user && s->need_key && s->key_retry_at < wake) wake = s->key_retry_at;
    if (want_user && !s->need_key && s->next_keepalive < wake) wake = s->next_keepalive;
    lb_ms now2 = lb_time_mono_ms();
    if (wake > now2 && !atomic_load(&s->stop)) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      lb_ms d = wake - now2;
      ts.tv_sec += d / 1000;
      ts.tv_nsec += (long)(d % 1000) * 1000000L;
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    pthread_mutex_unlock(&s->mu);
  }
  return NULL;
}

/* ==== Start / stop ==== */

/* ws://host:port/prefix -> parts; the prefix keeps no trailing slash. */
static lb_err split_url(const char *url, bool *ssl, char *host, size_t hn, int *port, char *prefix,
                        size_t pn, lb_errbuf *eb) {
  const char *p;
  if (strncmp(url, "wss://", 6) == 0) {
    *ssl = true;
    p = url + 6;
    *port = 443;
  } else if (strncmp(url, "ws://", 5) == 0) {
    *ssl = false;
    p = url + 5;
    *port = 80;
  } else {
    return lb_fail(eb, LB_ECONFIG, "WebSocket URL %s must start with ws:// or wss://", url);
  }
  size_t hl = strcspn(p, ":/");
  if (hl == 0 || hl >= hn) return lb_fail(eb, LB_ECONFIG, "WebSocket URL %s has no host", url);
  memcpy(host, p, hl);
  host[hl] = '\0';
  p += hl;
  if (*p == ':') {
    char *end;
    long v = strtol(p + 1, &end, 10);
    if (end == p + 1 || v <= 0 || v > 65535)
      return lb_fail(eb, LB_ECONFIG, "WebSocket URL %s has a bad port", url);
    *port = (int)v;
    p = end;
  }
  snprintf(prefix, pn, "%s", p);
  size_t l = strlen(prefix);
  while (l > 0 && prefix[l - 1] == '/') prefix[--l] = '\0';
  return LB_OK;
}

static void lws_log_to_debug(int level, const char *line) {
  (void)level;
  LB_DEBUG("lws", "%.*s", (int)strcspn(line, "\n"), line);
}

lb_err bn_streams_start(bn *b, lb_ms tf, lb_errbuf *eb) {
  bn_streams *s = calloc(1, sizeof *s);
  if (!s) return lb_fail(eb, LB_ENOMEM, "out of memory");
  s->b = b;
  s->tf = tf;
  lb_timeframe_name(tf, s->interval, sizeof s->interval);
  s->market.s = s->user.s = s;
  atomic_init(&s->market.kill, false);
  atomic_init(&s->user.kill, false);
  atomic_init(&s->market.connect_req, false);
  atomic_init(&s->user.connect_req, false);
  s->user.user = true;
  lb_buf_init(&s->market.rx);
  lb_buf_init(&s->user.rx);
  atomic_init(&s->stop, false);
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
  pthread_mutex_init(&s->qmu, NULL);
  for (int i = 0; i < b->n_symbols; i++)
    snprintf(s->last[i].symbol, LB_SYMBOL_MAX, "%s", b->symbols[i]);
  s->need_key = b->conf.api_key[0] != '\0';
  b->streams = s;

  char prefix[512];
  lb_err rc = split_url(b->conf.ws_market_url, &s->m_ssl, s->m_host, sizeof s->m_host, &s->m_port,
                        prefix, sizeof prefix, eb);
  if (!rc)
    rc = split_url(b->conf.ws_user_url, &s->u_ssl, s->u_host, sizeof s->u_host, &s->u_port,
                   s->u_prefix, sizeof s->u_prefix, eb);
  if (rc) goto fail;
  /* <prefix>/stream?streams=btcusdt@kline_1m/btcusdt@markPrice@1s/... */
  size_t used = (size_t)snprintf(s->m_path, sizeof s->m_path, "%s/stream?streams=", prefix);
  for (int i = 0; i < b->n_symbols && used < sizeof s->m_path; i++) {
    char low[LB_SYMBOL_MAX];
    size_t k = 0;
    for (; b->symbols[i][k] && k + 1 < sizeof low; k++)
      low[k] = (char)(b->symbols[i][k] >= 'A' && b->symbols[i][k] <= 'Z' ? b->symbols[i][k] + 32
                                                                          : b->symbols[i][k]);
    low[k] = '\0';
    used += (size_t)snprintf(s->m_path + used, sizeof s->m_path - used, "%s%s@kline_%s/%s@markPrice@1s",
                             i ? "/" : "", low, s->interval, low);
  }
  if (used >= sizeof s->m_path) {
    rc = lb_fail(eb, LB_ERANGE, "too many symbols for one stream URL");
    goto fail;
  }
  rc = bn_http_init(&s->http, &b->conf, eb);
  if (rc) goto fail;
  s->http.abort = &s->stop; /* destroy() does not wait out a slow request */

  s->policy.secs_since_valid_ping = (uint16_t)b->conf.ping_seconds;
  s->policy.secs_since_valid_hangup = (uint16_t)(2 * b->conf.ping_seconds);
  lws_set_log_level(LLL_ERR | LLL_WARN, lws_log_to_debug);
  struct lws_context_creation_info ci;
  memset(&ci, 0, sizeof ci);
  ci.port = CONTEXT_PORT_NO_LISTEN;
  ci.protocols = protocols;
  ci.user = s;
  ci.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
  ci.retry_and_idle_policy = &s->policy;
  s->ctx = lws_create_context(&ci);
  if (!s->ctx) {
    rc = lb_fail(eb, LB_ENOMEM, "lws_create_context failed");
    goto fail;
  }
  if (pthread_create(&s->ws_thread, NULL, ws_main, s) != 0) {
    rc = lb_fail(eb, LB_ENOMEM, "cannot start the stream thread");
    goto fail;
  }
  s->ws_started = true;
  if (pthread_create(&s->worker_thread, NULL, worker_main, s) != 0) {
    rc = lb_fail(eb, LB_ENOMEM, "cannot start the REST worker thread");
    goto fail;
  }
  s->worker_started = true;
  return LB_OK;
fail:
  bn_streams_stop(b);
  return rc;
}

void bn_streams_stop(bn *b) {
  bn_streams *s = b->streams;
  if (!s) return;
  atomic_store(&s->stop, true);
  pthread_mutex_lock(&s->mu);
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  if (s->ctx) lws_cancel_service(s->ctx);
  if (s->worker_started) pthread_join(s->worker_thread, NULL);
  if (s->ws_started) pthread_join(s->ws_thread, NULL);
  if (s->ctx) lws_context_destroy(s->ctx);
  if (s->http.curl) bn_http_close(&s->http);
  lb_buf_free(&s->market.rx);
  lb_buf_free(&s->user.rx);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->qmu);
  free(s->q);
  free(s);
  b->streams = NULL;
}
