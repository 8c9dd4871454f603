/* binance_internal.h -- what the binance_*.c files share; not part of the module's interface.
 *
 * binance_rest.c  HTTP with libcurl: signing, clock offset, rate limits, error mapping
 * binance_json.c  payload <-> xchg structs (orders, positions, stream events)
 * binance_usdm.c  the xchg ops
 * binance_ws.c    libwebsockets streams, REST polling fallback, listenKey, event queue
 *
 * Threads (binance.h invariant 4): every bn_http belongs to one thread; the
 * bn_shared state and the event queue carry their own mutexes.
 */
#ifndef LB_EXCHANGE_BINANCE_INTERNAL_H
#define LB_EXCHANGE_BINANCE_INTERNAL_H

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/buf.h"
#include "core/config.h"
#include "exchange/binance.h"

#define BN_URL_MAX 512
#define BN_KEY_MAX 256
#define BN_MAX_SYMBOLS 64

typedef struct {
  char rest_url[BN_URL_MAX];
  char ws_market_url[BN_URL_MAX];
  char ws_user_url[BN_URL_MAX];
  char api_key[BN_KEY_MAX];
  char api_secret[BN_KEY_MAX];
  long recv_window_ms;
  lb_ms time_sync_ms;
  long http_timeout_ms;
  long weight_limit;
  double weight_headroom;
  lb_ms max_wait_ms;
  int order_retries;
  lb_ms lookup_delay_ms;
  lb_ms reconnect_min_ms, reconnect_max_ms;
  int ping_seconds;
  lb_ms poll_ms;
  lb_ms keepalive_ms;
} bn_conf;

/* State every thread's requests share. */
typedef struct {
  pthread_mutex_t mu;
  lb_ms offset;          /* server time - local time */
  lb_ms synced_at;       /* local time of the last sync, 0 = never */
  long used_weight;      /* last X-MBX-USED-WEIGHT-1M */
  lb_ms weight_minute;   /* server minute (ms / 60000) that figure belongs to */
  long weight_limit;
  lb_ms blocked_until;   /* local time; nothing is sent before it (429/418) */
  xchg_binance_stats stats;
} bn_shared;

/* One thread's HTTP connection. */
typedef struct {
  CURL *curl;
  lb_buf body;
  long used_weight; /* -1 = header absent */
  long retry_after_s; /* -1 = header absent */
  char curl_err[CURL_ERROR_SIZE];
  const atomic_bool *abort; /* set: a transfer in progress gives up (shutdown) */
} bn_http;

typedef enum { BN_GET = 0, BN_POST, BN_PUT, BN_DELETE } bn_method;

enum {
  BN_F_SIGNED = 1 << 0, /* timestamp + recvWindow + signature, API key header */
  BN_F_KEY = 1 << 1,    /* API key header only (listenKey) */
  BN_F_ORDER = 1 << 2   /* order or cancel: waits only at the hard weight limit */
};

typedef struct bn_streams bn_streams;

/* The adapter (xchg.impl). */
typedef struct bn {
  xchg x;
  bn_conf conf;
  const lb_clock *clock;
  bn_shared sh;
  bn_http http; /* the engine thread's */

  /* leverage and margin type per symbol, as last set or read (positionRisk
   * v3 no longer carries them) */
  struct {
    char symbol[LB_SYMBOL_MAX];
    int leverage;
    bool isolated;
  } symcfg[BN_MAX_SYMBOLS];
  int n_symcfg;

  /* which endpoint family a client id lives on (ring of recent ids) */
  struct {
    char client_id[XCHG_ID_MAX];
    bool algo;
  } kinds[256];
  int kinds_next;

  /* orderId -> client id of recent orders (userTrades carry only orderId) */
  struct {
    long long order_id;
    char client_id[XCHG_ID_MAX];
  } oids[256];
  int oids_next;

  char symbols[BN_MAX_SYMBOLS][LB_SYMBOL_MAX]; /* subscribed */
  int n_symbols;
  bn_streams *streams;
} bn;

/* ==== binance_rest.c ==== */

lb_err bn_http_init(bn_http *h, const bn_conf *c, lb_errbuf *eb);
void bn_http_close(bn_http *h);
lb_err bn_shared_init(bn_shared *s, long weight_limit);
void bn_shared_close(bn_shared *s);

/* Appends "&name=value" (value percent-encoded) to a query string.  When
 * memory runs out the query is spoiled for good: it is freed and left
 * pointing at a marker (still a valid, empty lb_buf), every later bn_param
 * on it fails, and bn_call refuses it.  So a request that lost a parameter
 * (a stop without reduceOnly) can never be sent, even by a caller that does
 * not check each result. */
lb_err bn_param(lb_buf *q, const char *name, const char *value);
lb_err bn_param_dec(lb_buf *q, const char *name, lb_dec v);
lb_err bn_param_long(lb_buf *q, const char *name, long long v);

/* One request.  params: the query without timestamp/signature ("" = none;
 * a spoiled query or NULL: XCHG_RETRYABLE and nothing is sent).
 * On XCHG_OK *out holds the parsed body (caller json_decref()s; may be NULL
 * when out is NULL).  -1021 is handled here: one resync, one resend. */
xchg_kind bn_call(bn *b, bn_http *h, bn_method m, const char *path, const char *params,
                  unsigned flags, int weight, json_t **out, xchg_error *err);
/* GET /fapi/v1/time; updates the shared offset. */
xchg_kind bn_sync_time(bn *b, bn_http *h, xchg_error *err);
/* Syncs the clock offset if it never was or is older than
 * BINANCE_TIME_SYNC_SECONDS (unsigned calls that compare times need it). */
xchg_kind bn_ensure_synced(bn *b, bn_http *h, xchg_error *err);
lb_ms bn_server_now(bn *b);
void bn_stat_add(bn *b, size_t offset_in_stats, long n);
#define BN_STAT(b, field, n) bn_stat_add((b), offsetof(xchg_binance_stats, field), (n))

/* ==== binance_json.c ==== */

/* A decimal from a JSON string or number; false (and *out = 0) when absent
 * or malformed. */
bool bn_json_dec(const json_t *obj, const char *key, lb_dec *out);
lb_ms bn_json_ms(const json_t *obj, const char *key);
const char *bn_json_str(const json_t *obj, const char *key); /* "" when absent */
bool bn_json_bool(const json_t *obj, const char *key);

lb_err bn_parse_order(const json_t *o, xchg_order *out, lb_errbuf *eb);      /* /fapi/v1/order */
lb_err bn_parse_algo_order(const json_t *o, xchg_order *out, lb_errbuf *eb); /* /fapi/v1/algoOrder */
lb_err bn_parse_position(const json_t *o, xchg_position *out, lb_errbuf *eb); /* positionRisk v3 */
lb_err bn_parse_rules(const json_t *sym, lb_symbol_rules *out, lb_errbuf *eb); /* exchangeInfo entry */
lb_err bn_parse_brackets(const json_t *entry, lb_bracket_table *out, lb_errbuf *eb);
lb_err bn_parse_kline_row(const json_t *row, data_candle *out, lb_ms *close_time, lb_errbuf *eb);
lb_err bn_parse_fill(const json_t *t, xchg_fill *out, long long *order_id, lb_errbuf *eb); /* userTrades */
bool bn_parse_side(const char *s, xchg_side *out);
bool bn_parse_type(const char *s, xchg_type *out);
bool bn_parse_status(const char *s, xchg_status *out);
bool bn_parse_algo_status(const char *s, xchg_status *out);

/* Stream payloads -> events.  Return the number of events written (<= max). */
int bn_parse_market_msg(const json_t *msg, xchg_event *out, int max);
int bn_parse_user_msg(const json_t *msg, xchg_event *out, int max);

/* ==== binance_ws.c ==== */

lb_err bn_streams_start(bn *b, lb_ms timeframe, lb_errbuf *eb);
void bn_streams_stop(bn *b);
int bn_streams_drain(bn *b, xchg_event *out, int max);

#endif
