/* xchg.h -- the exchange interface: one struct of function pointers per venue.
 *
 * Owns: the vocabulary of orders, positions, balances and exchange events,
 * and the contract every back end implements: `sim` (backtests and paper
 * trading: fills, fees, slippage, funding, liquidation), `binance_usdm`
 * (live REST + WebSocket; exchange/binance.h), later `bybit`, `okx`.  The engine talks to an
 * xchg and nothing else, so the same strategy and risk code runs in a
 * backtest, on paper and live.
 *
 * Must not: decide what to trade or how much (src/risk, src/engine), or
 * know the configuration beyond what its constructor is given.
 *
 * Contract of every implementation:
 *   1. Every order carries a client id chosen by the caller (deterministic:
 *      derived from the trade), at most XCHG_ID_MAX-1 characters of
 *      [A-Za-z0-9._:/-].  A retried request reuses it, so an order is never
 *      placed twice: after a timeout or a 5xx ("status unknown") the adapter
 *      looks the order up by client id before any retry, and only if that
 *      is impossible returns XCHG_UNKNOWN (the caller must then query()).
 *   2. Errors are values: every call returns an xchg_kind and fills
 *      xchg_error (kind, venue code, message naming the cause); nothing
 *      aborts or exits.  XCHG_RETRYABLE = try again later (respect
 *      retry_after); XCHG_REJECTED = the venue refused this request for a
 *      reason in msg (do not repeat it unchanged); XCHG_FATAL = configuration
 *      or credentials are wrong (stop trading); XCHG_UNKNOWN = see 1.
 *   3. Stop-loss and take-profit orders are conditional orders that only
 *      reduce or close the position (close_position or reduce_only), are
 *      triggered by the MARK price, and live on the exchange: they protect
 *      the position even if levbot dies.
 *   4. Quantities and prices in requests are already on the symbol's step
 *      and tick (lb_symbol_rules); an implementation refuses, never rounds,
 *      anything else (XCHG_REJECTED), as the real exchange does.
 *   5. The ops are called from one thread (the engine's).  An
 *      implementation's own background threads (WebSocket streams) hand
 *      their results to that thread through poll_events(), which is the only
 *      op that must be safe against those threads.
 */
#ifndef LB_EXCHANGE_XCHG_H
#define LB_EXCHANGE_XCHG_H

#include <stdbool.h>

#include "core/err.h"
#include "core/money.h"
#include "core/symbol.h"
#include "core/time.h"
#include "data/data.h"

#define XCHG_ID_MAX 40

typedef enum {
  XCHG_OK = 0,
  XCHG_RETRYABLE, /* timeout, 429/418 (retry_after), 5xx before sending, -1021 ... */
  XCHG_REJECTED,  /* the venue refused: margin, filters, would-trigger, unknown order ... */
  XCHG_FATAL,     /* bad key, no permission, bad symbol: stop and tell the operator */
  XCHG_UNKNOWN    /* sent, outcome unknown, lookup failed too: query() before acting */
} xchg_kind;

typedef struct {
  xchg_kind kind;
  int code;         /* venue error code (Binance -2019, ...), 0 if none */
  int http_status;  /* 0 if not HTTP */
  lb_ms retry_after; /* > 0: wait at least this long */
  char msg[256];
} xchg_error;

const char *xchg_kind_name(xchg_kind k); /* "ok", "retryable", "rejected", "fatal", "unknown" */

typedef enum { XCHG_BUY = 1, XCHG_SELL = 2 } xchg_side;

typedef enum {
  XCHG_MARKET = 0,
  XCHG_LIMIT,
  XCHG_STOP_MARKET,        /* conditional (Binance: algo order since 2025-12-09) */
  XCHG_TAKE_PROFIT_MARKET, /* conditional */
  XCHG_TRAILING_STOP_MARKET /* conditional */
} xchg_type;

typedef enum {
  XCHG_ST_NEW = 0,
  XCHG_ST_PARTIALLY_FILLED,
  XCHG_ST_FILLED,
  XCHG_ST_CANCELED,
  XCHG_ST_REJECTED,
  XCHG_ST_EXPIRED,
  XCHG_ST_TRIGGERED /* a conditional order fired; its market order follows */
} xchg_status;

const char *xchg_side_name(xchg_side s);     /* "BUY" / "SELL" */
const char *xchg_type_name(xchg_type t);     /* "MARKET", "STOP_MARKET", ... */
const char *xchg_status_name(xchg_status s); /* "NEW", "FILLED", ... */
static inline bool xchg_type_is_conditional(xchg_type t) { return t >= XCHG_STOP_MARKET; }

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  char client_id[XCHG_ID_MAX];
  xchg_side side;
  xchg_type type;
  lb_dec qty;           /* base asset; 0 with close_position */
  lb_dec price;         /* LIMIT only */
  lb_dec trigger_price; /* STOP_MARKET, TAKE_PROFIT_MARKET (mark price) */
  bool reduce_only;
  bool close_position;  /* conditional orders: close whatever is open */
  double callback_rate; /* TRAILING_STOP_MARKET, percent (1.0 = 1 %) */
  lb_dec activate_price; /* TRAILING_STOP_MARKET, 0 = immediately */
} xchg_order_req;

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  char client_id[XCHG_ID_MAX];
  char exchange_id[XCHG_ID_MAX]; /* orderId / algoId as text */
  xchg_side side;
  xchg_type type;
  xchg_status status;
  bool reduce_only, close_position;
  lb_dec qty, filled_qty, avg_price, price, trigger_price;
  lb_dec fee;          /* cumulative commission in the quote asset */
  lb_dec realized_pnl; /* cumulative, for reducing fills */
  lb_ms created, updated;
} xchg_order;

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  lb_dec qty; /* signed: > 0 long, < 0 short, 0 flat */
  lb_dec entry_price, mark_price, liquidation_price;
  lb_dec isolated_margin, unrealized_pnl;
  int leverage;
  bool isolated;
  lb_ms updated;
} xchg_position;

typedef struct {
  lb_dec wallet_balance;    /* realized: deposits + realized PnL - fees +/- funding */
  lb_dec available_balance;
  lb_dec unrealized_pnl;
} xchg_balance;

/* One executed trade of ours, from the venue's history (restart recovery). */
typedef struct {
  char symbol[LB_SYMBOL_MAX];
  char client_id[XCHG_ID_MAX]; /* of the order it belongs to ("" if unknown) */
  char trade_id[XCHG_ID_MAX];
  xchg_side side;
  lb_dec qty, price, fee, realized_pnl;
  lb_ms time;
} xchg_fill;

typedef enum {
  XCHG_EV_FILL = 1,     /* .fill: one execution of an order (ours or a triggered stop) */
  XCHG_EV_ORDER,        /* .order: status change (new, canceled, expired, rejected, triggered) */
  XCHG_EV_POSITION,     /* .position changed */
  XCHG_EV_BALANCE,      /* .amount = new wallet balance */
  XCHG_EV_FUNDING,      /* .amount: funding received (> 0) or paid (< 0), .rate */
  XCHG_EV_LIQUIDATION,  /* .fill: the venue closed the position (liquidation or ADL) */
  XCHG_EV_MARK,         /* .price = mark price, .rate = current funding rate */
  XCHG_EV_CANDLE,       /* .candle closed, .timeframe */
  XCHG_EV_STREAM_DOWN,  /* market or user-data stream lost (REST fallback active) */
  XCHG_EV_STREAM_UP
} xchg_event_type;

/* Which stream a STREAM_DOWN / STREAM_UP event is about. */
typedef enum { XCHG_STREAM_NONE = 0, XCHG_STREAM_MARKET, XCHG_STREAM_USER } xchg_stream;

typedef struct {
  xchg_event_type type;
  lb_ms time;
  char symbol[LB_SYMBOL_MAX];
  xchg_order order;       /* FILL, ORDER, LIQUIDATION: the order as now known */
  xchg_fill fill;         /* FILL, LIQUIDATION */
  xchg_position position; /* POSITION */
  lb_dec amount;          /* BALANCE, FUNDING */
  lb_dec price;           /* MARK */
  double rate;            /* FUNDING, MARK */
  data_candle candle;     /* CANDLE */
  lb_ms timeframe;        /* CANDLE */
  xchg_stream stream;     /* STREAM_DOWN, STREAM_UP */
} xchg_event;

typedef struct xchg xchg;

typedef struct xchg_ops {
  const char *name; /* "sim", "binance_usdm" */
  xchg_kind (*symbol_rules)(xchg *x, const char *symbol, lb_symbol_rules *out, xchg_error *err);
  xchg_kind (*brackets)(xchg *x, const char *symbol, lb_bracket_table *out, xchg_error *err);
  xchg_kind (*balance)(xchg *x, xchg_balance *out, xchg_error *err);
  xchg_kind (*position)(xchg *x, const char *symbol, xchg_position *out, xchg_error *err);
  xchg_kind (*set_leverage)(xchg *x, const char *symbol, int leverage, xchg_error *err);
  /* Isolated margin; "already isolated" is success. */
  xchg_kind (*set_isolated)(xchg *x, const char *symbol, xchg_error *err);
  xchg_kind (*place)(xchg *x, const xchg_order_req *req, xchg_order *out, xchg_error *err);
  xchg_kind (*cancel)(xchg *x, const char *symbol, const char *client_id, xchg_error *err);
  xchg_kind (*query)(xchg *x, const char *symbol, const char *client_id, xchg_order *out,
                     xchg_error *err);
  /* Open regular AND conditional orders of the symbol (NULL = all). */
  xchg_kind (*open_orders)(xchg *x, const char *symbol, xchg_order *out, int max, int *n,
                           xchg_error *err);
  /* Our executions since `since` (restart recovery: real exits of trades
   * closed while the bot was down). */
  xchg_kind (*fills_since)(xchg *x, const char *symbol, lb_ms since, xchg_fill *out, int max,
                           int *n, xchg_error *err);
  /* Mark price and current funding rate. */
  xchg_kind (*mark_price)(xchg *x, const char *symbol, lb_dec *mark, double *funding_rate,
                          xchg_error *err);
  /* Closed candles [start, end) for warm-up (ascending). */
  xchg_kind (*klines)(xchg *x, const char *symbol, lb_ms timeframe, lb_ms start, lb_ms end,
                      data_series *out, xchg_error *err);
  /* Start market streams (closed candles of `timeframe`, mark prices) for
   * the symbols; results arrive through poll_events().  May be NULL for
   * venues without streams (sim is driven by its feeder instead). */
  xchg_kind (*subscribe)(xchg *x, const char *const *symbols, int n, lb_ms timeframe,
                         xchg_error *err);
  /* Drains up to max queued events in the order they happened; returns
   * how many were written. */
  int (*poll_events)(xchg *x, xchg_event *out, int max);
  void (*destroy)(xchg *x);
} xchg_ops;

struct xchg {
  const xchg_ops *ops;
  void *impl;
};

/* Thin wrappers so call sites read as verbs. */
static inline xchg_kind xchg_place(xchg *x, const xchg_order_req *r, xchg_order *o, xchg_error *e) {
  return x->ops->place(x, r, o, e);
}
static inline xchg_kind xchg_cancel(xchg *x, const char *s, const char *cid, xchg_error *e) {
  return x->ops->cancel(x, s, cid, e);
}
static inline xchg_kind xchg_query(xchg *x, const char *s, const char *cid, xchg_order *o,
                                   xchg_error *e) {
  return x->ops->query(x, s, cid, o, e);
}
static inline int xchg_poll_events(xchg *x, xchg_event *out, int max) {
  return x->ops->poll_events(x, out, max);
}
static inline void xchg_free(xchg *x) {
  if (x) x->ops->destroy(x);
}

/* Fills err (if not NULL) and returns kind. */
xchg_kind xchg_fail(xchg_error *err, xchg_kind kind, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Valid client id per contract 1 (length and characters). */
bool xchg_client_id_valid(const char *id);

/* Moves a protective conditional order (trailing by replacement): places
 * `req` under a NEW client id and cancels `old_client_id` only once the
 * venue has confirmed the new order as open, so the position is never
 * without a stop (contract 3).  If the new order is not confirmed, the old
 * one stays and that failure is returned.  If the cancel fails, both orders
 * remain (both only reduce or close), *out describes the new one, and the
 * cancel's kind is returned. */
static inline xchg_kind xchg_replace_stop(xchg *x, const char *old_client_id,
                                          const xchg_order_req *req, xchg_order *out,
                                          xchg_error *err) {
  xchg_kind k = x->ops->place(x, req, out, err);
  if (k != XCHG_OK) return k;
  if (out->status != XCHG_ST_NEW)
    return xchg_fail(err, XCHG_REJECTED, 0, "replacement %s is %s, not open: %s kept",
                     req->client_id, xchg_status_name(out->status), old_client_id);
  return x->ops->cancel(x, req->symbol, old_client_id, err);
}

#endif
