/* recover.c -- restart recovery (bot.h R2) and live reconciliation.
 *
 * At start, before the engine exists and before the first scan, for every
 * configured symbol the exchange's position, open orders and fills are
 * compared with what the store remembers (the open trade, the positions row
 * naming the trade being entered or held, the trade's orders):
 *
 *   position open, ours    its stop kept (the newest open "-S<n>"; older
 *                          ones canceled) or, missing, placed at once; if no
 *                          stop can be placed the position is closed at
 *                          market.  The trade is then adopted by the engine
 *                          after its warm-up (engine_adopt).
 *   position flat          the trade closed while the bot was down: booked
 *                          closed from the exchange's fills (exit price,
 *                          reason from the order that closed it, fees); an
 *                          entry that never filled is marked so.
 *   orders of ours         every open order that does not protect an adopted
 *                          position is canceled (orphans).
 *   fills                  every fill of the trade's orders on the exchange
 *                          becomes a fills row if the store lacks it (keyed
 *                          by the order's cumulative quantity: record.c).
 *
 * The ledger then restarts from the store's rows (initial capital + net of
 * closed trades + the open trade's fills), not from the current_capital cell
 * a kill -9 may have left behind; live, the difference to the exchange's
 * wallet while a position was open is funding the fills do not show, and
 * is booked to that trade.  Paper trading has no exchange to ask: a paper
 * position left by the previous run is closed at the current price.
 *
 * Everything here runs on the engine thread (the caller of bot_run).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bot/bot_int.h"
#include "core/log.h"

#define R_MAX_ORDERS 24
#define R_MAX_FILLS 1000

typedef struct {
  char cid[XCHG_ID_MAX];
  char kind; /* E S T X, L = liquidation / auto-deleverage */
  int version;
  xchg_side side;
  lb_dec qty, fee, realized, notional; /* the exchange's fills */
  lb_ms first_time, last_time;
  bool open;
  xchg_order live;
  bool in_store;
  store_order so;
  lb_dec st_qty, st_fee, st_realized, st_notional; /* the store's fills */
} rorder;

typedef struct {
  int sym;
  const char *symbol;
  long n;
  bool has_t, has_p;
  store_trade t;
  store_position p;
  xchg_position x;
  rorder o[R_MAX_ORDERS];
  int no;
  lb_dec entry_qty, entry_notional, exit_qty, exit_notional, realized, fees;
  lb_ms entry_time, exit_time;
  char exit_cid[XCHG_ID_MAX];
  int max_s, max_x;
  lb_dec first_stop; /* trigger of "-S1" as recorded: the initial stop */
  lb_dec last_stop;  /* trigger of the newest stop recorded */
  lb_dec tp;
} rtrade;

static const char *fmt(lb_dec d, char *buf, size_t n) {
  lb_dec_fmt(d, buf, n);
  return buf;
}

static void cid_of(long n, char kind, int v, char *out, size_t len) {
  if (kind == 'S') snprintf(out, len, BOT_CID_PREFIX "-%ld-S%d", n, v);
  else if (kind == 'X' && v > 1) snprintf(out, len, BOT_CID_PREFIX "-%ld-X%d", n, v);
  else snprintf(out, len, BOT_CID_PREFIX "-%ld-%c", n, kind);
}

static bool is_liquidation(const char *cid) {
  return strncmp(cid, "autoclose", 9) == 0 || strncmp(cid, "adl_autoclose", 13) == 0;
}

static rorder *order_slot(rtrade *r, const char *cid) {
  for (int i = 0; i < r->no; i++)
    if (strcmp(r->o[i].cid, cid) == 0) return &r->o[i];
  if (r->no == R_MAX_ORDERS) return NULL;
  rorder *o = &r->o[r->no++];
  memset(o, 0, sizeof *o);
  snprintf(o->cid, sizeof o->cid, "%s", cid);
  if (is_liquidation(cid)) {
    o->kind = 'L';
  } else {
    bot_cid_trade(cid, &o->kind, &o->version);
  }
  if (o->kind == 'S' && o->version > r->max_s) r->max_s = o->version;
  if (o->kind == 'X' && o->version > r->max_x) r->max_x = o->version;
  return o;
}

/* ==== Reading both sides ==== */

/* Exchange reads are retried a few times (an exchange having a bad moment
 * should not turn a restart into an exit): RETRYABLE and UNKNOWN answers,
 * waiting 100, 200, 400, 800 ms or the venue's retry_after. */
#define RETRY_READ(k, call, err)                                                    \
  do {                                                                              \
    for (int a_ = 0; a_ < 5; a_++) {                                                \
      (k) = (call);                                                                 \
      if ((k) != XCHG_RETRYABLE && (k) != XCHG_UNKNOWN) break;                      \
      lb_ms w_ = (err)->retry_after > 0 ? (err)->retry_after : (lb_ms)100 << a_;    \
      if (a_ < 4) lb_clock_sleep(&lb_clock_system, w_ > 5000 ? 5000 : w_);          \
    }                                                                               \
  } while (0)

static lb_err read_store(bot *b, rtrade *r, lb_errbuf *eb) {
  lb_err rc = store_trade_get_open(b->db, r->symbol, &r->t, &r->has_t, eb);
  if (!rc) rc = store_position_get(b->db, r->symbol, &r->p, &r->has_p, eb);
  if (rc) return rc;
  if (r->has_t) r->n = bot_cid_trade(r->t.id, NULL, NULL);
  if (!r->n && r->has_p && r->p.state != STORE_POS_FLAT) r->n = bot_cid_trade(r->p.trade_id, NULL, NULL);
  return LB_OK;
}

static lb_err read_store_orders(bot *b, rtrade *r, lb_ms *since, lb_errbuf *eb) {
  char tid[STORE_ID_MAX];
  bot_trade_cid(r->n, tid, sizeof tid);
  store_order *so = calloc(R_MAX_ORDERS, sizeof *so);
  if (!so) return lb_fail(eb, LB_ENOMEM, "out of memory");
  int n = 0;
  lb_err rc = store_orders_for_trade(b->db, tid, so, R_MAX_ORDERS, &n, eb);
  for (int i = 0; rc == LB_OK && i < n; i++) {
    rorder *o = order_slot(r, so[i].client_id);
    if (!o) break;
    o->in_store = true;
    o->so = so[i];
    if (*since == 0 || so[i].created_at < *since) *since = so[i].created_at;
    if (o->kind == 'S' && o->version == 1) r->first_stop = so[i].trigger_price;
    if (o->kind == 'S' && so[i].trigger_price > 0) r->last_stop = so[i].trigger_price;
    if (o->kind == 'T') r->tp = so[i].trigger_price;
    store_fill f[16];
    int nf = 0;
    lb_errbuf feb;
    if (store_fills_for_order(b->db, so[i].client_id, f, 16, &nf, &feb) == LB_OK) {
      for (int k = 0; k < nf; k++) {
        o->st_qty += f[k].qty;
        o->st_fee += f[k].fee;
        o->st_realized += f[k].realized_pnl;
        lb_dec nn = 0;
        lb_dec_mul(f[k].price, f[k].qty, LB_ROUND_HALF_EVEN, &nn);
        o->st_notional += nn;
      }
    }
  }
  free(so);
  return rc;
}

/* The trade's fills on the exchange since its first order (minus a
 * minute of clock slack), folded per order. */
static xchg_kind read_fills(bot *b, rtrade *r, lb_ms since, xchg_error *err) {
  xchg_fill *f = calloc(R_MAX_FILLS, sizeof *f);
  if (!f) return xchg_fail(err, XCHG_RETRYABLE, 0, "out of memory");
  int n = 0;
  xchg_kind k;
  RETRY_READ(k, b->market->ops->fills_since(b->market, r->symbol, since - LB_MS_MINUTE, f, R_MAX_FILLS, &n, err),
             err);
  char prefix[32];
  snprintf(prefix, sizeof prefix, BOT_CID_PREFIX "-%ld-", r->n);
  for (int i = 0; k == XCHG_OK && i < n; i++) {
    bool ours = strncmp(f[i].client_id, prefix, strlen(prefix)) == 0;
    if (!ours && !is_liquidation(f[i].client_id)) continue;
    if (!ours && (r->entry_time == 0 || f[i].time < r->entry_time)) continue;
    rorder *o = order_slot(r, f[i].client_id);
    if (!o) continue;
    lb_dec nn = 0;
    lb_dec_mul(f[i].price, f[i].qty, LB_ROUND_HALF_EVEN, &nn);
    o->side = f[i].side;
    o->qty += f[i].qty;
    o->fee += f[i].fee;
    o->realized += f[i].realized_pnl;
    o->notional += nn;
    if (!o->first_time || f[i].time < o->first_time) o->first_time = f[i].time;
    if (f[i].time > o->last_time) o->last_time = f[i].time;
    r->realized += f[i].realized_pnl;
    r->fees += f[i].fee;
    if (o->kind == 'E') {
      r->entry_qty += f[i].qty;
      r->entry_notional += nn;
      if (!r->entry_time || f[i].time < r->entry_time) r->entry_time = f[i].time;
    } else {
      r->exit_qty += f[i].qty;
      r->exit_notional += nn;
      if (f[i].time >= r->exit_time) {
        r->exit_time = f[i].time;
        snprintf(r->exit_cid, sizeof r->exit_cid, "%s", f[i].client_id);
      }
    }
  }
  free(f);
  return k;
}

/* ==== Writing what the store lacks ==== */

/* The row of an order of ours the store lacks: its asynchronous record
 * was lost with a kill after the order left.  Written from what the
 * exchange knows of it, so that its fills and status updates have a row
 * to refer to (a conditional order's row needs its trigger: from the open
 * order, else from the exchange's lookup, else the price it filled at). */
static void record_order_row(bot *b, rtrade *r, rorder *o, const char *tid, lb_ms now) {
  store_order so;
  memset(&so, 0, sizeof so);
  snprintf(so.client_id, sizeof so.client_id, "%s", o->cid);
  snprintf(so.trade_id, sizeof so.trade_id, "%s", tid);
  snprintf(so.symbol, sizeof so.symbol, "%s", r->symbol);
  so.kind = o->kind == 'L' ? STORE_ORDER_EXIT : bot_order_kind(o->kind);
  so.side = (o->open ? o->live.side : o->side) == XCHG_SELL ? STORE_SELL : STORE_BUY;
  so.type = o->kind == 'S'   ? STORE_OT_STOP_MARKET
            : o->kind == 'T' ? STORE_OT_TAKE_PROFIT_MARKET
                             : STORE_OT_MARKET;
  so.qty = o->open && o->live.qty > 0 ? o->live.qty : o->qty;
  if (so.type != STORE_OT_MARKET) {
    xchg_order q;
    xchg_error err;
    if (o->open) so.trigger_price = o->live.trigger_price;
    else if (xchg_query(b->market, r->symbol, o->cid, &q, &err) == XCHG_OK) so.trigger_price = q.trigger_price;
    if (so.trigger_price <= 0 && o->qty > 0) lb_dec_div(o->notional, o->qty, LB_ROUND_HALF_EVEN, &so.trigger_price);
  }
  so.reduce_only = o->kind != 'E';
  so.status = o->open ? bot_order_status(o->live.status) : STORE_OS_FILLED;
  so.created_at = so.updated_at = o->first_time ? o->first_time : now;
  lb_errbuf eb;
  if (store_order_record(b->db, &so, STORE_ASYNC, &eb) != LB_OK)
    LB_WARN("bot", "recovery: order %s not recorded: %s", o->cid, eb.msg);
  else
    LB_INFO("bot", "recovery: order %s was missing from the database: recorded from the exchange", o->cid);
  o->in_store = true;
  o->so = so; /* its status is final or open: nothing for settle_statuses() to ask */
}

static void record_missing_fills(bot *b, rtrade *r) {
  lb_ms now = bot_wall(b);
  char tid[STORE_ID_MAX];
  bot_trade_cid(r->n, tid, sizeof tid);
  for (int i = 0; i < r->no; i++) {
    rorder *o = &r->o[i];
    bot_fill_cum_seed(b, o->cid, o->qty > o->st_qty ? o->qty : o->st_qty);
    if (!o->in_store && (o->open || o->qty > 0)) record_order_row(b, r, o, tid, now);
    if (o->qty <= o->st_qty) continue;
    lb_errbuf eb;
    store_fill f;
    memset(&f, 0, sizeof f);
    snprintf(f.order_client_id, sizeof f.order_client_id, "%s", o->cid);
    bot_fill_key(o->qty, f.exchange_trade_id, sizeof f.exchange_trade_id);
    f.qty = o->qty - o->st_qty;
    if (lb_dec_div(o->notional - o->st_notional, f.qty, LB_ROUND_HALF_EVEN, &f.price) != LB_OK ||
        f.price <= 0)
      lb_dec_div(o->notional, o->qty, LB_ROUND_HALF_EVEN, &f.price);
    f.fee = o->fee - o->st_fee;
    f.realized_pnl = o->realized - o->st_realized;
    snprintf(f.fee_asset, sizeof f.fee_asset, "USDT");
    f.filled_at = o->last_time ? o->last_time : now;
    char q[32];
    LB_INFO("bot", "recovery: fill of %s (%s) booked from the exchange", o->cid, fmt(f.qty, q, sizeof q));
    if (store_fill_record(b->db, &f, STORE_ASYNC, &eb) != LB_OK)
      LB_WARN("bot", "recovery: fill of %s not recorded: %s", o->cid, eb.msg);
    lb_dec avg = 0;
    lb_dec_div(o->notional, o->qty, LB_ROUND_HALF_EVEN, &avg);
    store_order_update(b->db, o->cid, o->open ? STORE_OS_PARTIALLY_FILLED : STORE_OS_FILLED, NULL,
                       o->qty, avg, now, STORE_ASYNC, &eb);
  }
}

/* Orders the store still thinks are working but the exchange no longer
 * lists: their final status. */
static void settle_statuses(bot *b, rtrade *r) {
  lb_ms now = bot_wall(b);
  for (int i = 0; i < r->no; i++) {
    rorder *o = &r->o[i];
    if (!o->in_store || o->open || o->kind == 'L') continue;
    store_order_status st = o->so.status;
    if (st != STORE_OS_PENDING && st != STORE_OS_NEW && st != STORE_OS_PARTIALLY_FILLED) continue;
    xchg_order q;
    xchg_error err;
    store_order_status now_st;
    xchg_kind k = xchg_query(b->market, r->symbol, o->cid, &q, &err);
    if (k == XCHG_OK) now_st = bot_order_status(q.status);
    else if (k == XCHG_REJECTED) now_st = o->qty > 0 ? STORE_OS_FILLED : STORE_OS_REJECTED; /* not on the exchange: never arrived */
    else continue;
    if (now_st == STORE_OS_NEW && !o->open) now_st = STORE_OS_EXPIRED;
    lb_errbuf eb;
    store_order_update(b->db, o->cid, now_st, k == XCHG_OK ? q.exchange_id : NULL, -1, -1, now,
                       STORE_ASYNC, &eb);
  }
}

static void cancel_order(bot *b, const char *symbol, const char *cid, const char *why) {
  xchg_error err;
  xchg_kind k = xchg_cancel(&b->tapx, symbol, cid, &err);
  LB_INFO("bot", "recovery: canceled %s (%s): %s", cid, why, k == XCHG_OK ? "ok" : err.msg);
  if (k == XCHG_OK && b->db) {
    lb_errbuf eb;
    store_order_update(b->db, cid, STORE_OS_CANCELED, NULL, -1, -1, bot_wall(b), STORE_ASYNC, &eb);
  }
}

/* ==== Closing a trade that ended while the bot was down ==== */

static store_exit_reason exit_reason_of(const rtrade *r) {
  char kind = '?';
  int v = 0;
  if (is_liquidation(r->exit_cid)) return STORE_EXIT_LIQUIDATION;
  bot_cid_trade(r->exit_cid, &kind, &v);
  switch (kind) {
  case 'S': return r->first_stop > 0 && r->last_stop != r->first_stop ? STORE_EXIT_TRAILING_STOP
                                                                       : STORE_EXIT_STOP_LOSS;
  case 'T': return STORE_EXIT_TAKE_PROFIT;
  case 'X': return STORE_EXIT_MANUAL;
  default: return STORE_EXIT_EXTERNAL;
  }
}

static lb_dec entry_price_of(const rtrade *r) {
  lb_dec p = 0;
  if (r->entry_qty > 0) lb_dec_div(r->entry_notional, r->entry_qty, LB_ROUND_HALF_EVEN, &p);
  if (p <= 0 && r->has_t) p = r->t.entry_price;
  return p;
}

/* The trade row for a trade the store never saw open (killed between the
 * entry's fill and its record). */
static void record_trade_open(bot *b, rtrade *r, lb_dec stop) {
  store_trade st;
  memset(&st, 0, sizeof st);
  bot_trade_cid(r->n, st.id, sizeof st.id);
  snprintf(st.symbol, sizeof st.symbol, "%s", r->symbol);
  rorder *e = NULL;
  for (int i = 0; i < r->no; i++)
    if (r->o[i].kind == 'E') e = &r->o[i];
  st.side = e && e->side == XCHG_SELL ? STORE_SHORT : STORE_LONG;
  if (r->x.qty != 0) st.side = r->x.qty > 0 ? STORE_LONG : STORE_SHORT;
  st.qty = r->entry_qty > 0 ? r->entry_qty : lb_dec_abs(r->x.qty);
  st.entry_price = entry_price_of(r);
  if (st.entry_price <= 0) st.entry_price = r->x.entry_price;
  st.leverage = r->x.leverage > 0 ? r->x.leverage : (int)b->cfg.max_leverage;
  st.stop_price = stop > 0 ? stop : st.entry_price;
  /* The plan itself died with the process: its first stop is known when
   * its "-S1" order was recorded; R and the planned R:R are unknown (0). */
  st.initial_stop = r->first_stop;
  st.take_profit = r->tp;
  st.liquidation_price = r->x.liquidation_price;
  lb_dec notional = 0;
  lb_dec_mul(st.entry_price, st.qty, LB_ROUND_HALF_EVEN, &notional);
  st.margin = r->x.isolated_margin > 0 ? r->x.isolated_margin : notional / (st.leverage > 0 ? st.leverage : 1);
  if (st.margin <= 0) st.margin = 1;
  st.opened_at = r->entry_time ? r->entry_time : bot_wall(b);
  lb_errbuf eb;
  if (store_trade_open(b->db, &st, STORE_ASYNC, &eb) != LB_OK)
    LB_WARN("bot", "recovery: trade %ld not recorded: %s", r->n, eb.msg);
  r->t = st;
  r->has_t = true;
}

static void close_in_store(bot *b, rtrade *r, store_exit_reason reason, lb_dec funding) {
  char tid[STORE_ID_MAX];
  bot_trade_cid(r->n, tid, sizeof tid);
  if (!r->has_t) record_trade_open(b, r, r->last_stop);
  store_trade_exit x;
  memset(&x, 0, sizeof x);
  x.reason = reason;
  if (r->exit_qty > 0) lb_dec_div(r->exit_notional, r->exit_qty, LB_ROUND_HALF_EVEN, &x.exit_price);
  if (x.exit_price <= 0) x.exit_price = r->t.entry_price;
  x.realized_pnl = r->realized;
  x.fees = r->fees;
  x.funding = funding;
  /* exit fills carry the exchange's clock; a trade's times are the
   * engine's (market) time, which a fast simulator runs ahead */
  x.closed_at = r->exit_time > r->t.opened_at ? r->exit_time : r->t.opened_at;
  lb_errbuf eb;
  char px[32];
  LB_INFO("bot", "recovery: trade %ld on %s closed while levbot was down: %s at %s", r->n, r->symbol,
          store_exit_reason_name(reason), fmt(x.exit_price, px, sizeof px));
  bot_out(b, "recovery: trade #%ld %s was closed while levbot was down (%s at %s)\n", r->n, r->symbol,
          store_exit_reason_name(reason), px);
  if (store_trade_close(b->db, tid, &x, STORE_ASYNC, &eb) != LB_OK)
    LB_WARN("bot", "recovery: close of trade %ld not recorded: %s", r->n, eb.msg);
}

/* The trade named by the positions row (no open trade in the store) is
 * closed there already. */
static bool booked_closed(bot *b, const rtrade *r) {
  char tid[STORE_ID_MAX];
  bot_trade_cid(r->n, tid, sizeof tid);
  store_trade t;
  lb_errbuf eb;
  return store_trade_get(b->db, tid, &t, &eb) == LB_OK && t.status == STORE_TRADE_CLOSED;
}

/* ==== Protecting a position found open ==== */

static lb_dec fallback_stop(bot *b, const lb_symbol_rules *rules, lb_dec entry, bool is_long) {
  double px = lb_dec_to_double(entry) * (is_long ? 1 - b->cfg.min_stop_loss_percent
                                                 : 1 + b->cfg.min_stop_loss_percent);
  lb_dec d = 0;
  lb_dec_from_double(px, &d);
  return lb_rules_price_round(rules, d, is_long ? LB_ROUND_FLOOR : LB_ROUND_CEIL);
}

/* A stop for what is held, at `stop`; true when the exchange has it open.
 * A client id used before the crash can come back finished: the next
 * version is tried then. */
static bool place_stop(bot *b, rtrade *r, lb_dec stop, xchg_order *out) {
  for (int attempt = 0; attempt < 3; attempt++) {
    xchg_order_req q;
    memset(&q, 0, sizeof q);
    snprintf(q.symbol, sizeof q.symbol, "%s", r->symbol);
    cid_of(r->n, 'S', ++r->max_s, q.client_id, sizeof q.client_id);
    q.side = r->x.qty > 0 ? XCHG_SELL : XCHG_BUY;
    q.type = XCHG_STOP_MARKET;
    q.qty = lb_dec_abs(r->x.qty);
    q.trigger_price = stop;
    q.reduce_only = true;
    xchg_error err;
    xchg_kind k = xchg_place(&b->tapx, &q, out, &err);
    if (k == XCHG_UNKNOWN) k = xchg_query(&b->tapx, q.symbol, q.client_id, out, &err);
    if (k == XCHG_OK && (out->status == XCHG_ST_NEW || out->status == XCHG_ST_PARTIALLY_FILLED)) {
      rorder *o = order_slot(r, q.client_id);
      if (o) {
        o->open = true;
        o->live = *out;
        o->in_store = true;
      }
      return true;
    }
    LB_ERROR("bot", "recovery: stop %s at %.8g for trade %ld not placed: %s", q.client_id,
             lb_dec_to_double(stop), r->n, k == XCHG_OK ? xchg_status_name(out->status) : err.msg);
    if (k != XCHG_OK) return false;
  }
  return false;
}

static bool close_position(bot *b, rtrade *r) {
  xchg_order_req q;
  memset(&q, 0, sizeof q);
  snprintf(q.symbol, sizeof q.symbol, "%s", r->symbol);
  cid_of(r->n, 'X', ++r->max_x, q.client_id, sizeof q.client_id);
  q.side = r->x.qty > 0 ? XCHG_SELL : XCHG_BUY;
  q.type = XCHG_MARKET;
  q.qty = lb_dec_abs(r->x.qty);
  q.reduce_only = true;
  xchg_order out;
  xchg_error err;
  xchg_kind k = XCHG_RETRYABLE;
  for (int a = 0; a < 3 && (k == XCHG_RETRYABLE || k == XCHG_UNKNOWN); a++) {
    k = xchg_place(&b->tapx, &q, &out, &err);
    if (k == XCHG_UNKNOWN) k = xchg_query(&b->tapx, q.symbol, q.client_id, &out, &err);
  }
  if (k != XCHG_OK) {
    LB_ERROR("bot", "recovery: trade %ld on %s has no stop and cannot be closed: %s", r->n, r->symbol,
             err.msg);
    return false;
  }
  return true;
}

/* ==== One symbol ==== */

typedef struct {
  bool adopt;
  bool closed;      /* booked closed here */
  bool foreign;     /* a position levbot did not open */
  lb_dec open_net;  /* adopted: realized - fees of its fills */
  rtrade *r;
} rresult;

static lb_err recover_symbol(bot *b, int sym, rtrade *r, engine_adoption *a, rresult *res,
                             store_exit_reason force, lb_errbuf *eb) {
  memset(res, 0, sizeof *res);
  res->r = r;
  memset(r, 0, sizeof *r);
  r->sym = sym;
  r->symbol = b->ep.symbols[sym];
  lb_err rc = read_store(b, r, eb);
  if (rc) return rc;
  xchg_error err;
  xchg_kind k;
  RETRY_READ(k, b->market->ops->position(b->market, r->symbol, &r->x, &err), &err);
  if (k != XCHG_OK) return lb_fail(eb, LB_ENET, "recovery: position of %s: %s", r->symbol, err.msg);
  xchg_order open[64];
  int nopen = 0;
  RETRY_READ(k, b->market->ops->open_orders(b->market, r->symbol, open, 64, &nopen, &err), &err);
  if (k != XCHG_OK) return lb_fail(eb, LB_ENET, "recovery: open orders of %s: %s", r->symbol, err.msg);
  /* A position without a trade we remember: its open orders may name it. */
  for (int i = 0; !r->n && r->x.qty != 0 && i < nopen; i++) {
    char kind;
    long n = bot_cid_trade(open[i].client_id, &kind, NULL);
    if (n > 0 && (kind == 'S' || kind == 'T')) r->n = n;
  }
  if (r->n > 0) {
    lb_ms since = 0;
    rc = read_store_orders(b, r, &since, eb);
    if (rc) return rc;
    if (since == 0) since = bot_wall(b) - 7 * LB_MS_DAY;
    if (r->has_t && r->t.opened_at > 0 && r->t.opened_at < since) since = r->t.opened_at;
    k = read_fills(b, r, since, &err);
    if (k != XCHG_OK) return lb_fail(eb, LB_ENET, "recovery: fills of %s: %s", r->symbol, err.msg);
  }
  /* Open orders: the trade's are kept for now, other ones of ours are orphans. */
  for (int i = 0; i < nopen; i++) {
    long n = bot_cid_trade(open[i].client_id, NULL, NULL);
    if (n <= 0) continue;
    if (n != r->n) {
      cancel_order(b, r->symbol, open[i].client_id, "an order of a trade that is over");
      continue;
    }
    rorder *o = order_slot(r, open[i].client_id);
    if (!o) continue;
    o->open = true;
    o->live = open[i];
    if (o->kind == 'S' && open[i].trigger_price > 0) r->last_stop = open[i].trigger_price;
    if (o->kind == 'T' && open[i].trigger_price > 0) r->tp = open[i].trigger_price;
  }
  if (r->n == 0) {
    if (r->x.qty != 0) {
      res->foreign = true;
      char q[32];
      LB_ERROR("bot", "recovery: a %s position of %s on %s was not opened by levbot: it is left "
                      "alone and entries stay paused until it is gone",
               r->x.qty > 0 ? "long" : "short", fmt(lb_dec_abs(r->x.qty), q, sizeof q), r->symbol);
    }
    return LB_OK;
  }
  record_missing_fills(b, r);
  settle_statuses(b, r);

  if (r->x.qty == 0) {
    /* Flat: the trade ended (or never began) while the bot was away. */
    for (int i = 0; i < r->no; i++)
      if (r->o[i].open) cancel_order(b, r->symbol, r->o[i].cid, "its position is closed");
    if (!r->has_t && booked_closed(b, r)) {
      /* the positions row, written after the close, was what the kill
       * lost: the trade's own close is in the database already */
      LB_INFO("bot", "recovery: trade %ld on %s was booked closed before the restart", r->n, r->symbol);
    } else if (r->entry_qty > 0 || r->has_t) {
      store_exit_reason why = force ? force : r->exit_qty > 0 ? exit_reason_of(r) : STORE_EXIT_EXTERNAL;
      close_in_store(b, r, why, 0);
      res->closed = true;
    } else {
      LB_INFO("bot", "recovery: the entry of trade %ld on %s never filled", r->n, r->symbol);
    }
    bot_record_position(b, r->symbol, STORE_POS_FLAT, r->n, bot_wall(b), STORE_ASYNC);
    return LB_OK;
  }

  /* Open and ours: the newest open stop protects it, older ones go. */
  rorder *live = NULL;
  for (int i = 0; i < r->no; i++)
    if (r->o[i].kind == 'S' && r->o[i].open && (!live || r->o[i].version > live->version)) live = &r->o[i];
  for (int i = 0; i < r->no; i++) {
    rorder *o = &r->o[i];
    if (!o->open || o == live) continue;
    if (o->kind == 'S' || o->kind == 'E' || o->kind == 'X') {
      cancel_order(b, r->symbol, o->cid, "superseded");
      o->open = false;
    }
  }
  bool is_long = r->x.qty > 0;
  lb_dec entry = entry_price_of(r);
  if (entry <= 0) entry = r->x.entry_price;
  lb_symbol_rules rules;
  RETRY_READ(k, b->market->ops->symbol_rules(b->market, r->symbol, &rules, &err), &err);
  if (k != XCHG_OK) lb_rules_generic(&rules, r->symbol); /* a stop off the tick is refused: then closed */
  if (!live) {
    lb_dec stop = r->has_t && r->t.stop_price > 0 ? r->t.stop_price : r->last_stop;
    if (stop <= 0) stop = fallback_stop(b, &rules, entry, is_long);
    char s1[32];
    LB_WARN("bot", "recovery: trade %ld on %s is open without a stop on the exchange: placing one at %s",
            r->n, r->symbol, fmt(stop, s1, sizeof s1));
    xchg_order o;
    if (place_stop(b, r, stop, &o)) {
      live = order_slot(r, o.client_id);
      bot_out(b, "recovery: trade #%ld %s had no stop: placed %s at %s\n", r->n, r->symbol,
              o.client_id, s1);
    } else if (close_position(b, r)) {
      LB_ERROR("bot", "recovery: trade %ld on %s closed at market: no stop could be placed", r->n,
               r->symbol);
      bot_out(b, "recovery: trade #%ld %s closed at market: no stop could be placed\n", r->n, r->symbol);
      /* Book the close from the exchange's answer: the symbol read again. */
      return recover_symbol(b, sym, r, a, res, STORE_EXIT_NO_STOP, eb);
    }
  }
  /* The adoption the engine takes after its warm-up. */
  memset(a, 0, sizeof *a);
  a->sym = sym;
  engine_trade *t = &a->trade;
  t->id = r->n;
  snprintf(t->symbol, sizeof t->symbol, "%s", r->symbol);
  t->side = is_long ? LB_ACTION_LONG : LB_ACTION_SHORT;
  t->leverage = r->has_t ? r->t.leverage : r->x.leverage > 0 ? r->x.leverage : 1;
  t->entry_time = r->has_t ? r->t.opened_at : r->entry_time;
  t->qty = r->entry_qty > 0 ? r->entry_qty : lb_dec_abs(r->x.qty);
  t->entry_price = entry;
  /* The plan as the trade's row kept it (migration 4); without it the
   * first stop recorded, and R and the planned R:R stay unknown (0). */
  t->initial_stop = r->has_t && r->t.initial_stop > 0 ? r->t.initial_stop : r->first_stop;
  t->loss_at_stop = r->has_t ? r->t.loss_at_stop : 0;
  t->planned_rr = r->has_t ? r->t.planned_rr : 0;
  t->stop = live ? live->live.trigger_price : r->last_stop;
  if (live && t->stop <= 0) t->stop = r->last_stop;
  t->take_profit = r->has_t ? r->t.take_profit : r->tp;
  t->liquidation = r->x.liquidation_price > 0 ? r->x.liquidation_price : r->has_t ? r->t.liquidation_price : 0;
  t->margin = r->has_t ? r->t.margin : r->x.isolated_margin;
  t->confidence = r->has_t ? r->t.ai_confidence : 0;
  t->realized_pnl = r->realized;
  t->fees = r->fees;
  a->held = r->x.qty;
  a->stop_version = r->max_s;
  a->exit_version = r->max_x;
  for (int i = 0; i < r->no && a->n_orders < ENGINE_ADOPT_MAX_ORDERS; i++) {
    rorder *o = &r->o[i];
    if (o->kind == 'L') continue;
    if (o->qty == 0 && !o->open) continue; /* nothing booked, nothing working */
    engine_adopt_order *ao = &a->orders[a->n_orders++];
    snprintf(ao->client_id, sizeof ao->client_id, "%s", o->cid);
    ao->kind = o->kind == 'E'   ? ENGINE_ORDER_ENTRY
               : o->kind == 'S' ? ENGINE_ORDER_STOP
               : o->kind == 'T' ? ENGINE_ORDER_TAKE_PROFIT
                                : ENGINE_ORDER_EXIT;
    ao->status = o->open ? o->live.status : XCHG_ST_FILLED;
    ao->filled = o->qty;
    if (o->qty > 0) lb_dec_div(o->notional, o->qty, LB_ROUND_HALF_EVEN, &ao->avg_price);
    ao->fee = o->fee;
    ao->realized = o->realized;
    ao->trigger = o->open ? o->live.trigger_price : o->so.trigger_price;
    bot_tap_note_placed(b, r->symbol, o->cid);
    bot_tap_seed(b, o->cid, o->qty, o->fee, o->realized);
    if (o->kind == 'S' && o->open) snprintf(b->stop_cid, sizeof b->stop_cid, "%s", o->cid);
    if (o->kind == 'T' && o->open) snprintf(b->tp_cid, sizeof b->tp_cid, "%s", o->cid);
  }
  if (!r->has_t) record_trade_open(b, r, t->stop);
  bot_record_position(b, r->symbol, STORE_POS_OPEN, r->n, bot_wall(b), STORE_ASYNC);
  res->adopt = true;
  res->open_net = r->realized - r->fees;
  char s1[32], q[32];
  LB_INFO("bot", "recovery: trade %ld on %s adopted: %s %s, stop %s on the exchange (%s)", r->n,
          r->symbol, is_long ? "long" : "short", fmt(lb_dec_abs(r->x.qty), q, sizeof q),
          fmt(t->stop, s1, sizeof s1), live ? live->cid : "?");
  bot_out(b, "recovery: trade #%ld %s %s %s adopted; its stop %s is on the exchange\n", r->n, r->symbol,
          is_long ? "LONG" : "SHORT", q, s1);
  return LB_OK;
}

/* ==== Paper: the simulated exchange did not survive ==== */

static lb_err recover_paper_symbol(bot *b, int sym, rresult *res, lb_errbuf *eb) {
  memset(res, 0, sizeof *res);
  const char *symbol = b->ep.symbols[sym];
  store_trade t;
  bool has = false;
  lb_err rc = store_trade_get_open(b->db, symbol, &t, &has, eb);
  if (rc) return rc;
  long n = has ? bot_cid_trade(t.id, NULL, NULL) : 0;
  store_position p;
  bool has_p = false;
  if (store_position_get(b->db, symbol, &p, &has_p, eb) == LB_OK && has_p && p.state != STORE_POS_FLAT)
    bot_record_position(b, symbol, STORE_POS_FLAT, bot_cid_trade(p.trade_id, NULL, NULL), bot_wall(b),
                        STORE_ASYNC);
  if (!has) return LB_OK;
  lb_dec px = b->paper_mark[sym];
  if (px <= 0 && b->market && b->market->ops->mark_price) {
    xchg_error err;
    double rate;
    if (b->market->ops->mark_price(b->market, symbol, &px, &rate, &err) != XCHG_OK) px = 0;
  }
  if (px <= 0) px = t.entry_price;
  int dir = t.side == STORE_SHORT ? -1 : 1;
  store_trade_exit x;
  memset(&x, 0, sizeof x);
  x.exit_price = px;
  x.reason = STORE_EXIT_SHUTDOWN;
  lb_dec_mul(px - t.entry_price, t.qty, LB_ROUND_HALF_EVEN, &x.realized_pnl);
  x.realized_pnl *= dir;
  lb_dec fee_rate = 0, notional = 0;
  lb_dec_from_double(b->cfg.taker_fee, &fee_rate);
  lb_dec_mul(px, t.qty, LB_ROUND_HALF_EVEN, &notional);
  lb_dec_mul(notional, fee_rate, LB_ROUND_HALF_EVEN, &x.fees);
  /* the entry's fee was paid too (paper fills are not kept) */
  lb_dec entry_notional = 0, entry_fee = 0;
  lb_dec_mul(t.entry_price, t.qty, LB_ROUND_HALF_EVEN, &entry_notional);
  lb_dec_mul(entry_notional, fee_rate, LB_ROUND_HALF_EVEN, &entry_fee);
  x.fees += entry_fee;
  x.closed_at = bot_wall(b) > t.opened_at ? bot_wall(b) : t.opened_at;
  char a[32];
  LB_WARN("bot", "recovery: paper trade %ld on %s was open when levbot stopped; the simulated "
                 "exchange did not survive: closed at %s",
          n, symbol, fmt(px, a, sizeof a));
  bot_out(b, "recovery: paper trade #%ld %s closed at %s (the previous run ended with it open)\n", n,
          symbol, a);
  rc = store_trade_close(b->db, t.id, &x, STORE_ASYNC, eb);
  res->closed = rc == LB_OK;
  return rc;
}

/* ==== Entry point ==== */

static long max_trade_number(bot *b) {
  long best = 0;
  store_trade t;
  int n = 0;
  lb_errbuf eb;
  if (store_trades_recent(b->db, &t, 1, &n, &eb) == LB_OK && n == 1) best = bot_cid_trade(t.id, NULL, NULL);
  for (int i = 0; i < b->ep.n_symbols; i++) {
    store_position p;
    bool found = false;
    if (store_position_get(b->db, b->ep.symbols[i], &p, &found, &eb) == LB_OK && found) {
      long k = bot_cid_trade(p.trade_id, NULL, NULL);
      if (k > best) best = k;
    }
  }
  return best;
}

lb_err bot_recover(bot *b, engine_adoption *adopt, long *next_trade, lb_errbuf *eb) {
  memset(adopt, 0, sizeof *adopt);
  store_trading_config tc;
  lb_err rc = store_config_get(b->db, &tc, eb);
  if (rc) return rc;
  long best = max_trade_number(b);
  rtrade *r = calloc(1, sizeof *r);
  if (!r) return lb_fail(eb, LB_ENOMEM, "out of memory");
  bool adopted = false, foreign = false, closed_any = false;
  lb_dec open_net = 0;
  long adopted_n = 0;
  char closed_id[STORE_ID_MAX] = "";
  int64_t t0 = lb_time_mono_ns();
  for (int i = 0; i < b->ep.n_symbols && rc == LB_OK; i++) {
    rresult res;
    engine_adoption a;
    if (b->opt.mode == BOT_LIVE) rc = recover_symbol(b, i, r, &a, &res, STORE_EXIT_NONE, eb);
    else rc = recover_paper_symbol(b, i, &res, eb);
    if (rc) break;
    if (b->opt.mode == BOT_LIVE && r->n > best) best = r->n;
    for (int k = 0; b->opt.mode == BOT_LIVE && k < r->no; k++) {
      long n = bot_cid_trade(r->o[k].cid, NULL, NULL);
      if (n > best) best = n;
    }
    if (res.adopt && !adopted) {
      *adopt = a;
      adopted = true;
      adopted_n = a.trade.id;
      open_net = res.open_net;
    }
    if (res.closed) {
      closed_any = true;
      if (res.r) bot_trade_cid(res.r->n, closed_id, sizeof closed_id);
      b->recovered++;
    }
    foreign |= res.foreign;
  }
  free(r);
  if (rc) return rc;
  if (adopted) b->recovered++;
  if (foreign) bot_set_paused(b, true, "a position levbot did not open is on the exchange");
  *next_trade = best + 1;

  /* The ledger from the rows (closed trades + the open trade's fills). */
  lb_errbuf feb;
  if (store_flush(b->db, 15000, &feb) != LB_OK)
    LB_WARN("bot", "recovery: the database is slow to take the recovered rows: %s", feb.msg);
  store_metrics m;
  rc = store_metrics_get(b->db, bot_wall(b), &m, eb);
  if (rc) return rc;
  lb_dec capital = tc.initial_capital + m.total_pnl + open_net;
  lb_dec gap = 0;
  if (b->opt.mode == BOT_LIVE) {
    xchg_balance bal;
    xchg_error err;
    if (b->market->ops->balance(b->market, &bal, &err) == XCHG_OK) gap = bal.wallet_balance - capital;
    else LB_WARN("bot", "recovery: balance not read (%s): the ledger is not checked against it", err.msg);
  } else {
    gap = tc.current_capital - capital; /* paper: funding booked by the last run, if any */
    if (!adopted && !closed_any) gap = 0;
  }
  if (gap != 0) {
    char g[32];
    fmt(gap, g, sizeof g);
    if (adopted) {
      adopt->trade.funding = gap;
      LB_INFO("bot", "recovery: %s USDT between the ledger and the wallet is trade %ld's funding", g,
              adopted_n);
    } else if (closed_any && closed_id[0] && b->opt.mode == BOT_LIVE) {
      /* the trade closed while down was the only one open: its funding */
      store_trade t;
      if (store_trade_get(b->db, closed_id, &t, &feb) == LB_OK && t.status == STORE_TRADE_CLOSED) {
        store_trade_exit x = {.exit_price = t.exit_price, .reason = t.exit_reason,
                              .realized_pnl = t.realized_pnl, .fees = t.fees,
                              .funding = t.funding + gap, .closed_at = t.closed_at};
        store_trade_close(b->db, closed_id, &x, STORE_SYNC, &feb);
        LB_INFO("bot", "recovery: %s USDT between the ledger and the wallet is %s's funding", g, closed_id);
      }
    } else if (b->opt.mode == BOT_LIVE) {
      LB_WARN("bot", "recovery: the exchange wallet differs from levbot's ledger by %s USDT "
                     "(deposits, withdrawals or trades outside levbot); the ledger is kept",
              g);
      gap = 0;
    } else {
      gap = 0;
    }
    capital += gap;
  }
  b->capital0 = capital;
  rc = store_capital_update(b->db, capital, bot_wall(b), STORE_SYNC, eb);
  if (rc) LB_WARN("bot", "recovery: capital not written now (it stays queued): %s", eb->msg);
  char c[32];
  LB_INFO("bot", "recovery done in %.1f ms: capital %s USDT, next trade %ld%s", 
          (double)(lb_time_mono_ns() - t0) / 1e6, fmt(capital, c, sizeof c), *next_trade,
          adopted ? ", one position adopted" : "");
  return LB_OK;
}

/* ==== Live reconciliation while running ==== */

void bot_reconcile(bot *b) {
  if (!b->eng || b->opt.mode != BOT_LIVE) return;
  engine_position pos;
  engine_get_position(b->eng, &pos);
  if (pos.state == ENGINE_FLAT) return;
  const char *symbol = pos.trade.symbol;
  xchg_error err;
  xchg_position xp;
  if (b->market->ops->position(b->market, symbol, &xp, &err) != XCHG_OK) return;
  /* Fills of the trade's orders, folded per order: what the exchange did
   * while the user-data stream was away. */
  char prefix[32];
  snprintf(prefix, sizeof prefix, BOT_CID_PREFIX "-%ld-", pos.trade.id);
  lb_ms since = lb_time_now_ms() - 7 * LB_MS_DAY;
  xchg_fill *f = calloc(R_MAX_FILLS, sizeof *f);
  if (!f) return;
  int nf = 0;
  if (b->market->ops->fills_since(b->market, symbol, since, f, R_MAX_FILLS, &nf, &err) != XCHG_OK) {
    free(f);
    return;
  }
  bool injected = false;
  for (int i = 0; i < b->tap.n_placed; i++) {
    const char *cid = b->tap.placed[i].cid;
    if (strncmp(cid, prefix, strlen(prefix)) != 0) continue;
    xchg_order o;
    if (xchg_query(b->market, symbol, cid, &o, &err) != XCHG_OK) continue;
    lb_dec qty = 0, fee = 0, realized = 0, notional = 0;
    for (int k = 0; k < nf; k++) {
      if (strcmp(f[k].client_id, cid) != 0) continue;
      lb_dec nn = 0;
      lb_dec_mul(f[k].price, f[k].qty, LB_ROUND_HALF_EVEN, &nn);
      qty += f[k].qty;
      fee += f[k].fee;
      realized += f[k].realized_pnl;
      notional += nn;
    }
    if (qty < o.filled_qty) continue; /* the history lags the order: next time */
    o.filled_qty = qty;
    o.fee = fee;
    o.realized_pnl = realized;
    if (qty > 0) lb_dec_div(notional, qty, LB_ROUND_HALF_EVEN, &o.avg_price);
    xchg_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = XCHG_EV_ORDER;
    ev.time = o.updated > 0 ? o.updated : lb_time_now_ms();
    snprintf(ev.symbol, sizeof ev.symbol, "%s", symbol);
    ev.order = o;
    bot_tap_inject(b, &ev);
    injected = true;
  }
  /* Flat on the exchange and nothing of ours closed it: a liquidation or an
   * auto-deleverage whose event was missed. */
  if (xp.qty == 0) {
    for (int k = 0; k < nf; k++) {
      if (!is_liquidation(f[k].client_id) || f[k].time < pos.trade.entry_time - LB_MS_MINUTE) continue;
      if (bot_liquidation_seen(b, &f[k], true)) continue; /* the engine has it */
      xchg_event ev;
      memset(&ev, 0, sizeof ev);
      ev.type = XCHG_EV_LIQUIDATION;
      ev.time = f[k].time;
      snprintf(ev.symbol, sizeof ev.symbol, "%s", symbol);
      ev.fill = f[k];
      bot_tap_inject(b, &ev);
      injected = true;
    }
  }
  free(f);
  if (injected) LB_INFO("bot", "reconciliation: trade %ld's orders re-read from the exchange", pos.trade.id);
}
