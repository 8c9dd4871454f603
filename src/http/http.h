/* http.h -- the health server: /health, /status, /metrics (JSON and
 * Prometheus text) and the control endpoints, on libmicrohttpd; plus the
 * client side of /health that `levbot healthcheck` uses.
 *
 * Owns: the listening socket and the server's threads, the URL routes, the
 * rendering of the snapshots below as JSON (field names are a public,
 * stable interface: docs/http.md lists them) and as Prometheus text, the
 * bearer-token check of the control endpoints, and the HTTP status codes.
 *
 * Must not: know the engine, the store or any exchange.  Everything it shows
 * comes through an http_provider, a struct of callbacks that the running bot
 * implements by copying its own state into the plain structs below.  The
 * server never decides anything about trading: the control endpoints only
 * forward the request to the provider and report what it answered.
 *
 * Threads and locks.  The callbacks are called from the server's worker
 * threads (HTTP_THREADS_DEFAULT of them, so two callbacks, or the same one
 * twice, may run at once), never from the bot's threads.  A callback must
 * take the bot's own lock, copy what it needs into *out and release the lock
 * before returning, so that every response is one consistent snapshot (no
 * torn reads: a position's stop and size come from the same moment).  It
 * must not block for long (the database latency it reports is that of the
 * bot's last check, not a query made inside the callback).  The server holds
 * no lock of its own at any time: its state is fixed once
 * http_server_new() returns, so a callback can never deadlock against it,
 * and http_server_free() may be called while a callback runs (it waits for
 * the callback to return before freeing anything).
 *
 * Invariants:
 *   H1. Binds to HTTP_DEFAULT_HOST (127.0.0.1) unless told otherwise.
 *   H2. /health answers 200 when the verdict is healthy or degraded and 503
 *       when unhealthy or when the provider cannot answer.
 *   H3. Control endpoints answer 403 with an explanation while no token is
 *       configured, 401 for a missing or wrong token (compared in constant
 *       time), and only then call the provider.
 *   H4. No secret reaches a response: every text a callback hands over passes
 *       through lb_redact() (log.h) before rendering, and the control token
 *       is registered with the redactor when the server starts.
 *   H5. Money is rendered from lb_dec as exact decimal text (JSON strings),
 *       never through a double; Prometheus samples are doubles by definition.
 */
#ifndef LB_HTTP_HTTP_H
#define LB_HTTP_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/err.h"
#include "core/money.h"
#include "core/symbol.h"
#include "core/time.h"

#define HTTP_DEFAULT_HOST "127.0.0.1"
#define HTTP_DEFAULT_PORT 8000
#define HTTP_THREADS_DEFAULT 2
#define HTTP_NAME_MAX 32   /* provider, exchange, breaker kind, counter names */
#define HTTP_TEXT_MAX 256  /* error and detail texts (truncated beyond) */
#define HTTP_MAX_AI 8      /* AI providers listed in /health */
#define HTTP_MAX_COUNTERS 32

/* ==== /health ==== */

typedef enum {
  HTTP_AI_OK = 0,   /* answering */
  HTTP_AI_DEGRADED, /* answering with errors or retries; still consulted */
  HTTP_AI_DOWN,     /* left out of the consensus for now */
  HTTP_AI_DISABLED  /* not configured (no key): listed, never counted */
} http_ai_state;

typedef struct {
  char name[HTTP_NAME_MAX];       /* "anthropic", "openai", "technical", ... */
  http_ai_state state;
  char last_error[HTTP_TEXT_MAX]; /* "" = none */
  lb_ms last_ok_at;               /* 0 = never */
} http_ai_health;

/* Filled by the provider.  Zero-initialised means "not ok" on purpose: a
 * provider that forgets a component reports the bot unhealthy, not healthy. */
typedef struct {
  bool database_ok;
  double database_latency_ms;     /* last check's round trip; < 0 = unknown */
  char database_error[HTTP_TEXT_MAX];
  bool exchange_ok;
  char exchange_name[HTTP_NAME_MAX]; /* "sim", "binance_usdm" */
  char exchange_error[HTTP_TEXT_MAX];
  bool engine_ok;                 /* scan loop and position monitor alive */
  char engine_error[HTTP_TEXT_MAX];
  int n_ai;                       /* 0..HTTP_MAX_AI; more are ignored */
  http_ai_health ai[HTTP_MAX_AI];
  int64_t uptime_s;               /* seconds since the bot started */
  lb_ms as_of;                    /* when this snapshot was taken (UTC) */
} http_health;

typedef enum { HTTP_HEALTHY = 0, HTTP_DEGRADED, HTTP_UNHEALTHY } http_verdict;

/* The overall verdict (pure): unhealthy when the database, the exchange or
 * the engine is not ok; degraded when some enabled AI provider is not ok
 * (the consensus runs without it: DESIGN.md section 3); else healthy. */
http_verdict http_health_verdict(const http_health *h);
/* "healthy" | "degraded" | "unhealthy" */
const char *http_verdict_name(http_verdict v);

/* ==== /status ==== */

typedef enum { HTTP_MODE_PAPER = 0, HTTP_MODE_LIVE, HTTP_MODE_REPLAY } http_mode;
typedef enum {
  HTTP_STATE_SCANNING = 0, /* flat, looking for an entry */
  HTTP_STATE_IN_POSITION,
  HTTP_STATE_PAUSED,       /* by command or by a circuit breaker */
  HTTP_STATE_STARTING,     /* restart recovery running */
  HTTP_STATE_STOPPING      /* shutdown requested */
} http_state;

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  bool is_long;
  lb_dec entry_price, quantity, mark_price;
  int leverage;
  lb_dec stop_price, take_profit_price; /* 0 = none */
  lb_dec liquidation_price;
  lb_dec unrealized_pnl;                /* USDT, at mark */
  bool stop_on_exchange;                /* the exchange confirmed the stop order */
  lb_ms opened_at;
} http_position;

typedef struct {
  bool active;
  char kind[HTTP_NAME_MAX];     /* "daily_loss", "consecutive_losses", ... */
  char detail[HTTP_TEXT_MAX];
  lb_ms tripped_at;
  lb_ms resume_at;              /* 0 = only by command */
} http_breaker;

typedef struct {
  http_mode mode;
  http_state state;
  char exchange[HTTP_NAME_MAX];
  bool has_position;
  http_position position;
  lb_dec capital;    /* current capital, USDT */
  lb_dec equity;     /* capital + unrealized PnL */
  lb_dec daily_pnl;  /* realized since 00:00 UTC, fees included */
  http_breaker breaker;
  lb_ms last_scan_at, next_scan_at; /* 0 = none yet / not scheduled */
  lb_ms as_of;
} http_status;

/* ==== /metrics ==== */

/* An extra figure the bot publishes.  name: [a-z_][a-z0-9_]* (rendered as
 * levbot_<name> in Prometheus); a counter's name should end in _total.
 * Entries with an invalid name are left out of both renderings. */
typedef struct {
  char name[HTTP_NAME_MAX + 16];
  char help[128];
  bool is_counter; /* else a gauge */
  double value;
} http_counter;

typedef struct {
  long total_trades, winning_trades, losing_trades;
  double win_rate;      /* 0..1; NaN when there are no trades */
  lb_dec average_pnl;   /* per closed trade, fees included */
  lb_dec total_pnl;
  double profit_factor; /* gross profit / gross loss: +inf without a loss, NaN without trades */
  double max_drawdown;  /* fraction of peak equity, 0..1 */
  double sharpe;        /* NaN when undefined */
  int n_counters;
  http_counter counters[HTTP_MAX_COUNTERS];
} http_metrics;

/* ==== Control ==== */

typedef enum { HTTP_CTL_PAUSE = 0, HTTP_CTL_RESUME, HTTP_CTL_CLOSE } http_action;
/* "pause" | "resume" | "close" */
const char *http_action_name(http_action a);

/* ==== The provider ==== */

/* Implemented by the bot.  Each callback fills *out from one consistent
 * snapshot (see "Threads and locks" above) and returns LB_OK, or an error
 * with a reason in eb (the endpoint then answers 503 with that reason,
 * redacted).  Any callback may be NULL: its endpoint answers 503 "not
 * provided".  control() performs the action (or refuses it: LB_ESTATE,
 * e.g. close without a position, answers 409) and writes a one-line result
 * for the user into result[n]. */
typedef struct {
  void *ctx;
  lb_err (*health)(void *ctx, http_health *out, lb_errbuf *eb);
  lb_err (*status)(void *ctx, http_status *out, lb_errbuf *eb);
  lb_err (*metrics)(void *ctx, http_metrics *out, lb_errbuf *eb);
  lb_err (*control)(void *ctx, http_action action, char *result, size_t n);
} http_provider;

/* ==== The server ==== */

typedef struct {
  const char *host;          /* IPv4 or IPv6 literal, or "localhost"; NULL = 127.0.0.1 */
  int port;                  /* 0 = any free port (see http_server_port) */
  const char *control_token; /* NULL or "" = control endpoints disabled */
  int threads;               /* worker threads; 0 = HTTP_THREADS_DEFAULT */
  int conn_timeout_s;        /* idle connection timeout; 0 = 10 */
} http_options;

/* HEALTH_HOST, HEALTH_PORT, CONTROL_TOKEN.  The strings point into c, which
 * must outlive the call to http_server_new() (the server copies them). */
void http_options_from_config(const lb_config *c, http_options *o);

typedef struct http_server http_server;

/* Listens and starts serving at once.  The provider struct is copied; its
 * ctx must stay valid until http_server_free().  LB_EINVAL for a bad host
 * or port (naming it), LB_EIO when the address cannot be bound (with the
 * system's reason: "address already in use"). */
lb_err http_server_new(const http_options *o, const http_provider *p, http_server **out,
                       lb_errbuf *eb);
/* The port actually bound (the chosen one when options.port was 0). */
int http_server_port(const http_server *s);
/* Stops listening, waits for requests in progress, frees.  NULL is a no-op. */
void http_server_free(http_server *s);

/* ==== Client: `levbot healthcheck` ==== */

typedef struct {
  int http_code;           /* 0 when nothing answered */
  http_verdict verdict;    /* from the body's "status"; HTTP_UNHEALTHY if absent */
  bool is_levbot;          /* the body was a levbot /health document */
  char summary[512];       /* one line for a person: components and errors */
} http_probe_result;

/* GET url with a total timeout.  LB_OK whenever something answered (look at
 * out->http_code and out->verdict); LB_ENET when nothing did (refused,
 * unresolvable, reset) and LB_ETIMEOUT on timeout, with the reason in eb. */
lb_err http_probe(const char *url, int timeout_ms, http_probe_result *out, lb_errbuf *eb);

/* "http://HOST:PORT/health" for a bot configured with c: a wildcard host
 * (0.0.0.0, ::) is replaced by the loopback address, where a bot that
 * listens everywhere also answers. */
void http_health_url(const lb_config *c, char *buf, size_t n);

#endif
