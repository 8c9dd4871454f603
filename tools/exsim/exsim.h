/* exsim.h -- exchange simulator speaking the Binance USDT-M futures wire format.
 *
 * Owns: one simulated account on a replay of real candles: REST (libmicrohttpd)
 * and WebSocket streams (libwebsockets) shaped exactly like Binance's
 * (wire-formats.md section A), request verification the way the exchange
 * does it (API key, HMAC signature, timestamp/recvWindow, filters, the real
 * error codes, stop types refused on /fapi/v1/order with -4120), one-way
 * positions with isolated or cross margin, conditional (algo) orders
 * triggered by the mark price, fees, funding, liquidation, rate limits,
 * fault injection, and a state file that survives a restart of exsim.
 *
 * Must not: trade, or take shortcuts the real venue does not (an order that
 * Binance would refuse is refused here with the same code).  It listens on
 * 127.0.0.1 unless --host says otherwise.
 *
 * Invariants: a client id names at most one order (a reuse is refused with
 * -4116, as Binance does); conditional orders fire on the mark price only;
 * the state file is replaced atomically, so a restart finds the last whole
 * state.
 *
 * Files:
 *   exsim_main.c    options, start-up, signals
 *   exsim_market.c  candles, rebasing, the replay thread, klines, funding
 *   exsim_book.c    orders, algo orders, positions, fills, liquidation,
 *                   the log of unprotected intervals (ground truth)
 *   exsim_rest.c    the HTTP server: auth, rate limits, faults, endpoints,
 *                   control endpoints /_exsim/...
 *   exsim_ws.c      the WebSocket server: routed market streams, user data
 *   exsim_store.c   the state file (JSON, written atomically)
 *
 * Threads: the HTTP server (one thread per connection), the replay thread
 * and the WebSocket thread.  All simulator state is under exsim.mu; the
 * outbox to the WebSocket thread has its own mutex.
 *
 * Clocks: "server time" = wall clock + the clock-skew fault; it stamps
 * requests (recvWindow checks), orders, fills and events.  "Market time" is
 * the replay's position in the candle data (rebased by a whole number of
 * bars so that the replay starts at the wall clock unless --no-rebase) and
 * runs --speed times faster than the wall clock.
 */
#ifndef LB_TOOLS_EXSIM_H
#define LB_TOOLS_EXSIM_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/money.h"
#include "core/symbol.h"
#include "core/time.h"
#include "data/data.h"

#define EX_ID_MAX 40
#define EX_MAX_SYMBOLS 32
#define EX_REQLOG 4096

/* ==== Options ==== */

typedef struct {
  const char *host;
  int port, ws_port;
  const char *port_file;
  const char *state_file;
  const char *data_files[EX_MAX_SYMBOLS];
  int n_data;
  const char *funding_file;
  double speed;
  int warmup;   /* bars of history before the replay starts */
  bool rebase;
  bool paused;  /* start paused (tests step it) */
  bool loop;    /* replay again from the start at the end */
  const char *api_key, *api_secret;
  lb_dec balance;
  lb_dec taker_fee, maker_fee;
  double funding_rate;
  long weight_limit;
  int ban_seconds;
  lb_ms listenkey_ttl_ms;
  lb_ms ws_ping_ms, ws_pong_timeout_ms;
  bool legacy_ws_paths;
  int default_leverage;
  bool default_isolated;
  unsigned seed;
  bool quiet;
} ex_opts;

/* ==== Faults (flags or POST /_exsim/faults) ==== */

#define EX_FAULT_ENDPOINTS 16
typedef struct {
  char endpoint[64]; /* "POST /fapi/v1/order", or "*" */
  double error_rate;
  lb_ms latency_ms;
} ex_fault_ep;

typedef struct {
  ex_fault_ep ep[EX_FAULT_ENDPOINTS];
  int n_ep;
  int error_status; /* HTTP status of injected errors (503) */
  int error_code;   /* Binance code in their body, 0 = non-JSON "Service Unavailable" */
  int burst_429;    /* the next N API requests answer 429 */
  int retry_after_s;
  lb_ms clock_skew_ms;
  int accept_then_503;      /* the next N order requests are executed, then answered 503 */
  double accept_then_503_rate;
  lb_ms ws_refuse_until;    /* server time; new WebSocket connections refused until then */
  lb_ms ws_drop_every_ms;   /* drop every stream connection periodically (0 = never) */
} ex_faults;

/* ==== Book ==== */

typedef enum { EX_NEW = 0, EX_PARTIALLY_FILLED, EX_FILLED, EX_CANCELED, EX_EXPIRED, EX_REJECTED } ex_ost;
typedef enum { EX_A_NEW = 0, EX_A_TRIGGERED, EX_A_FINISHED, EX_A_CANCELED, EX_A_EXPIRED, EX_A_REJECTED } ex_ast;

typedef struct {
  long long id;
  char client_id[EX_ID_MAX];
  char symbol[LB_SYMBOL_MAX];
  bool buy;
  char type[24];      /* MARKET LIMIT LIQUIDATION */
  char orig_type[24]; /* STOP_MARKET ... for orders of triggered algo orders */
  ex_ost status;
  lb_dec qty, price, executed, avg_price, cum_quote, stop_price;
  bool reduce_only, close_position;
  lb_ms time, update_time;
} ex_order;

typedef struct {
  long long id;
  char client_id[EX_ID_MAX];
  char symbol[LB_SYMBOL_MAX];
  bool buy;
  char type[24]; /* STOP_MARKET TAKE_PROFIT_MARKET TRAILING_STOP_MARKET */
  ex_ast status;
  lb_dec qty, trigger, activate, callback; /* callback: percent */
  lb_dec extreme;                          /* trailing: best mark since activation */
  bool activated;
  bool close_position, reduce_only;
  char working_type[16];
  long long actual_order_id;
  lb_dec actual_qty, actual_price;
  lb_ms create_time, update_time, trigger_time;
} ex_algo;

typedef struct {
  long long id, order_id;
  char client_id[EX_ID_MAX];
  char symbol[LB_SYMBOL_MAX];
  bool buy, maker;
  lb_dec qty, price, quote, fee, realized;
  lb_ms time;
} ex_fill;

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  lb_dec amount, rate, mark, qty;
  lb_ms time, market_time;
} ex_funding;

/* An interval during which a position was open without a protective stop. */
typedef struct {
  char symbol[LB_SYMBOL_MAX];
  lb_ms start, end; /* server time; end 0 = still open */
} ex_gap;

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  lb_symbol_rules rules;
  int price_prec, qty_prec;
  lb_bracket_table brackets;
  char data_file[512];
  data_series series; /* rebased */
  size_t cursor;      /* candle being replayed */
  int phase;          /* -1 = not started, 0..3 = open, extreme, extreme, close */
  data_candle forming;
  lb_dec last, mark;
  bool mark_override;
  /* account */
  int leverage;
  bool isolated;
  lb_dec pos, entry, margin; /* signed qty, average entry, isolated wallet (position margin) */
  int gap; /* index+1 of the open ex_gap, 0 = none */
} ex_symbol;

typedef struct {
  long requests, errors_injected, accepted_then_503, r429, r418, bad_signature, bad_timestamp,
      bad_key, stop_on_order_endpoint, duplicate_client_ids, liquidations, adl, ws_connects,
      ws_drops, ws_pongs, ws_refused;
} ex_counters;

typedef struct {
  long seq;
  lb_ms time;       /* server time when answered */
  int64_t recv_us;  /* wall clock (us) when the request was complete: bench/run's outside latency */
  char method[8];
  char path[48];
  char client_id[EX_ID_MAX];
  int status, code;
} ex_reqlog;

typedef struct ex_ws ex_ws;

typedef struct exsim {
  ex_opts opt;
  pthread_mutex_t mu;

  ex_symbol sym[EX_MAX_SYMBOLS];
  int nsym;
  lb_ms tf;    /* base timeframe of the data */
  lb_ms shift; /* added to every data timestamp */
  lb_ms market_now;
  bool replay_done;
  data_funding_series funding;
  bool have_funding;
  lb_ms next_funding; /* market time of the next settlement */

  ex_order *orders;
  size_t n_orders, cap_orders;
  ex_algo *algos;
  size_t n_algos, cap_algos;
  ex_fill *fills;
  size_t n_fills, cap_fills;
  ex_funding *fundings;
  size_t n_fundings, cap_fundings;
  ex_gap *gaps;
  size_t n_gaps, cap_gaps;

  lb_dec initial_balance, wallet;
  long long next_order_id, next_algo_id, next_trade_id;
  char listen_key[72];
  lb_ms listen_key_expiry; /* server time, 0 = none */

  ex_faults faults;
  long weight_used;
  lb_ms weight_minute;
  lb_ms retry_after_until, ban_until; /* server time */
  ex_counters cnt;
  ex_reqlog reqlog[EX_REQLOG];
  long reqlog_seq;
  unsigned rng;

  bool dirty;
  lb_ms saved_at; /* mono */

  /* threads */
  atomic_bool stop;
  pthread_cond_t cv; /* replay thread: pause, step, stop */
  bool paused;
  int steps;
  struct MHD_Daemon *mhd;
  ex_ws *ws;
  pthread_t replay_thread;
  bool replay_started;
  int rest_port, ws_port;
} exsim;

/* ==== exsim_main.c ==== */
lb_ms ex_server_now(const exsim *e);
unsigned ex_rand(exsim *e);      /* under mu */
double ex_rand01(exsim *e);      /* under mu */

/* ==== exsim_market.c ==== */
lb_err ex_market_load(exsim *e, lb_errbuf *eb);
ex_symbol *ex_symbol_find(exsim *e, const char *symbol);
lb_err ex_replay_start(exsim *e, lb_errbuf *eb);
void ex_replay_stop(exsim *e);
/* One tick of every symbol (under mu); false at the end of the data. */
bool ex_replay_tick(exsim *e);
/* GET /fapi/v1/klines rows (under mu).  interval is a multiple of e->tf. */
json_t *ex_klines(exsim *e, ex_symbol *s, lb_ms interval, lb_ms start, lb_ms end, int limit);
double ex_funding_rate(exsim *e);
lb_ms ex_next_funding_time(exsim *e);
void ex_fmt_price(const ex_symbol *s, double v, char *out, size_t n);
void ex_fmt_qty(const ex_symbol *s, double v, char *out, size_t n);
/* Publishes the mark of s to market streams (under mu). */
void ex_publish_mark(exsim *e, ex_symbol *s);

/* ==== exsim_book.c ==== */

/* A refusal: HTTP status, Binance code, message. */
typedef struct {
  int http;
  int code;
  char msg[200];
} ex_err;

bool ex_fail(ex_err *err, int http, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Parameters of a request, decoded (query wins over body). */
#define EX_MAX_PARAMS 40
typedef struct {
  int n;
  char name[EX_MAX_PARAMS][32];
  char value[EX_MAX_PARAMS][128];
} ex_params;
const char *ex_param(const ex_params *p, const char *name); /* NULL if absent */

ex_order *ex_order_by_client(exsim *e, const char *symbol, const char *cid);
ex_order *ex_order_by_id(exsim *e, long long id);
ex_algo *ex_algo_by_client(exsim *e, const char *cid);
ex_algo *ex_algo_by_id(exsim *e, long long id);

bool ex_new_order(exsim *e, const ex_params *p, ex_order **out, ex_err *err);
bool ex_new_algo(exsim *e, const ex_params *p, ex_algo **out, ex_err *err);
bool ex_cancel_order(exsim *e, ex_order *o, ex_err *err);
bool ex_cancel_algo(exsim *e, ex_algo *a, ex_err *err);
bool ex_set_leverage(exsim *e, ex_symbol *s, int leverage, ex_err *err);
bool ex_set_margin_type(exsim *e, ex_symbol *s, bool isolated, ex_err *err);
/* After the mark of s moved: triggers, resting limits, liquidation. */
void ex_on_mark(exsim *e, ex_symbol *s);
void ex_apply_funding(exsim *e, double rate);
bool ex_adl(exsim *e, ex_symbol *s, ex_err *err);
lb_dec ex_available(exsim *e);
lb_dec ex_unrealized(const ex_symbol *s);
lb_dec ex_liquidation_price(const ex_symbol *s);
lb_dec ex_max_notional(const ex_symbol *s, int leverage);
/* Re-evaluates whether each position has a protective stop (ground truth). */
void ex_check_protection(exsim *e);

json_t *ex_order_json(const exsim *e, const ex_order *o, bool with_time);
json_t *ex_algo_json(const exsim *e, const ex_algo *a, bool query);
json_t *ex_fill_json(const ex_fill *f);
json_t *ex_position_json(exsim *e, const ex_symbol *s);

/* ==== exsim_ws.c ==== */
lb_err ex_ws_start(exsim *e, lb_errbuf *eb);
void ex_ws_stop(exsim *e);
/* Queue a message (any thread).  stream: a market stream name
 * ("btcusdt@kline_1m", "btcusdt@markPrice"), or NULL for the user stream. */
void ex_ws_send(exsim *e, const char *stream, json_t *msg); /* steals msg */
void ex_ws_drop(exsim *e, bool market, bool user);
void ex_ws_listenkey_expired(exsim *e);
/* Market streams wanted by at least one connection right now (for
 * higher-timeframe klines): a comma-free list of intervals in ms. */
int ex_ws_intervals(exsim *e, const char *symbol_lower, lb_ms *out, int max);

/* ==== exsim_rest.c ==== */
lb_err ex_rest_start(exsim *e, lb_errbuf *eb);
void ex_rest_stop(exsim *e);
/* Publishes an event to the user stream (under mu). */
void ex_user_event(exsim *e, json_t *evt);

/* ==== exsim_store.c ==== */
lb_err ex_state_save(exsim *e, lb_errbuf *eb);
lb_err ex_state_load(exsim *e, bool *loaded, lb_errbuf *eb);
/* Saves if dirty (under mu); errors go to stderr (a simulator may report). */
void ex_state_flush(exsim *e);
/* GET /_exsim/state */
json_t *ex_state_json(exsim *e);

#endif
