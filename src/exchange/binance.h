/* binance.h -- the Binance USDT-M futures back end of xchg ("binance_usdm").
 *
 * Owns: the venue's wire protocol: HMAC-SHA256 request signing, the clock
 * offset to the exchange (GET /fapi/v1/time, refreshed periodically and on
 * -1021), rate-limit accounting (X-MBX-USED-WEIGHT-1M, 429/418 with
 * Retry-After), the mapping of Binance error codes to xchg kinds, REST calls
 * for every xchg op (regular orders on /fapi/v1/order, conditional orders on
 * the Algo Order API /fapi/v1/algoOrder since 2025-12-09), and the
 * WebSocket streams (klines and mark prices on the routed /market path,
 * the user-data stream on /private) with reconnect, ping/pong and REST
 * polling while a stream is down.
 *
 * Must not: decide anything about trading (the engine does), round a
 * quantity or price (xchg.h contract 4: the exchange refuses, so do we), or
 * let a secret reach a log line, an error text or an event.
 *
 * Invariants:
 *   1. An order is never placed twice: after a 5xx, a -1007/-1006 or a
 *      timeout on an order request the adapter waits BINANCE_LOOKUP_DELAY_MS,
 *      looks the order up by its client id (GET /fapi/v1/order or
 *      GET /fapi/v1/algoOrder) and resends the same client id only when the
 *      exchange says it does not exist (xchg.h contract 1).
 *   2. Nothing is sent while a 429/418 Retry-After is running; market-data
 *      and account reads wait for the next minute once the used weight
 *      passes BINANCE_WEIGHT_HEADROOM of the limit, orders and cancels only
 *      at the limit itself (a stop must not queue behind a kline poll).
 *   3. Request logging (debug level) shows method, path and parameters with
 *      the signature masked; the API key travels only in the X-MBX-APIKEY
 *      header, which is never logged.
 *   4. Threads: the xchg ops run on the caller's thread (xchg.h contract 5);
 *      one stream thread runs libwebsockets, one worker thread polls REST
 *      while the market stream is down and keeps the listenKey alive.  They
 *      share only the clock offset, the rate-limit state and the event
 *      queue, each under its own mutex.
 *
 * Endpoints used (docs/binance.md lists them with their weights):
 *   GET  /fapi/v1/time, /fapi/v1/exchangeInfo, /fapi/v1/leverageBracket,
 *        /fapi/v1/klines, /fapi/v1/premiumIndex, /fapi/v3/balance,
 *        /fapi/v3/positionRisk, /fapi/v1/symbolConfig, /fapi/v1/order,
 *        /fapi/v1/algoOrder, /fapi/v1/openOrders, /fapi/v1/openAlgoOrders,
 *        /fapi/v1/userTrades
 *   POST /fapi/v1/leverage, /fapi/v1/marginType, /fapi/v1/order,
 *        /fapi/v1/algoOrder, /fapi/v1/listenKey;  PUT /fapi/v1/listenKey
 *   DELETE /fapi/v1/order, /fapi/v1/algoOrder
 */
#ifndef LB_EXCHANGE_BINANCE_H
#define LB_EXCHANGE_BINANCE_H

#include <stddef.h>

#include "core/config.h"
#include "core/err.h"
#include "core/time.h"
#include "exchange/xchg.h"

/* Builds the adapter from the configuration (BINANCE_* variables).  No
 * network traffic happens here: the first request synchronises the clock,
 * subscribe() starts the streams.  `clock` is borrowed and must outlive the
 * adapter (lb_clock_system in production; tests inject their own).  On
 * success *out belongs to the caller (xchg_free).  LB_ECONFIG names the
 * variable that is wrong (for example a URL that is not http(s)/ws(s)). */
lb_err xchg_binance_new(const lb_config *cfg, const lb_clock *clock, xchg **out, lb_errbuf *eb);

/* HMAC-SHA256 of payload[0..len) keyed by secret, as 64 lowercase hex
 * digits plus NUL: the `signature` parameter. */
#define XCHG_BINANCE_SIG_LEN 65
void xchg_binance_sign(const char *secret, const char *payload, size_t len,
                       char out[XCHG_BINANCE_SIG_LEN]);

/* The kind a Binance answer maps to (wire-formats.md section A, error
 * table): http_status 0 with code 0 means a transport failure after the
 * request may have left (timeout).  XCHG_UNKNOWN only for answers that
 * leave an order's fate open (5xx other than -1008, -1006, -1007, 408,
 * timeouts). */
xchg_kind xchg_binance_classify(int http_status, int code);

/* Counters for the health endpoint and for tests (monotonic since new()). */
typedef struct {
  long requests;          /* REST requests sent */
  long time_syncs;        /* GET /fapi/v1/time done */
  long resyncs_1021;      /* requests retried after -1021 */
  long unknown_outcomes;  /* order requests whose answer left the outcome open */
  long lookups_found;     /* ... resolved: the order existed */
  long resends;           /* ... resolved: it did not, the same client id was resent */
  long rate_waits;        /* times a request waited for weight headroom */
  long rate_refusals;     /* calls refused locally during a Retry-After */
  long stream_connects;   /* successful WebSocket handshakes (market + user) */
  long stream_drops;      /* WebSocket connections lost */
  long rest_polls;        /* REST polls made while the market stream was down */
  long listenkey_creates; /* POST /fapi/v1/listenKey */
  long listenkey_keepalives;
  long used_weight;       /* last X-MBX-USED-WEIGHT-1M seen */
  long events_lost;       /* user-data events the queue could not take (out of memory):
                           * each outage is reported as that stream going down */
} xchg_binance_stats;

/* x must come from xchg_binance_new(); safe from any thread. */
void xchg_binance_get_stats(xchg *x, xchg_binance_stats *out);
/* The adapter's estimate of the exchange's clock (local clock + offset). */
lb_ms xchg_binance_server_time(xchg *x);

#endif
