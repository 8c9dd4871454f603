/* tap.c -- the engine's exchange: the real one (sim or Binance) seen through a tap.
 *
 * The engine talks to an xchg and nothing else, so this is where the bot
 * stands between the two without the engine knowing:
 *
 *   - every order is written to the store before it leaves (an entry
 *     durably, STORE_SYNC, with its positions row: restart recovery then
 *     always knows which trade was being entered; the others STORE_ASYNC),
 *     and logged as it leaves and as it is answered ("entry sent", "stop
 *     confirmed": the moments a crash test looks for);
 *   - the time from the mark price the engine saw last to a replacement
 *     stop request is sampled (the trailing-stop latency bench/run reads);
 *   - events wait inside the exchange while the bot warms up and recovers
 *     (hold), synthetic ones from reconciliation go first, and streamed
 *     candles pass the feed filter (no candle twice, holes fetched).
 * Every op runs on the engine thread (xchg.h contract 5).
 */
#include <stdlib.h>
#include <string.h>

#include "bot/bot_int.h"
#include "core/log.h"

static bot_tap *T(xchg *x) { return x->impl; }

/* ==== Forwarded ops ==== */

static xchg_kind t_rules(xchg *x, const char *s, lb_symbol_rules *o, xchg_error *e) {
  return T(x)->inner->ops->symbol_rules(T(x)->inner, s, o, e);
}
static xchg_kind t_brackets(xchg *x, const char *s, lb_bracket_table *o, xchg_error *e) {
  return T(x)->inner->ops->brackets(T(x)->inner, s, o, e);
}
static xchg_kind t_balance(xchg *x, xchg_balance *o, xchg_error *e) {
  return T(x)->inner->ops->balance(T(x)->inner, o, e);
}
static xchg_kind t_position(xchg *x, const char *s, xchg_position *o, xchg_error *e) {
  return T(x)->inner->ops->position(T(x)->inner, s, o, e);
}
static xchg_kind t_leverage(xchg *x, const char *s, int lev, xchg_error *e) {
  return T(x)->inner->ops->set_leverage(T(x)->inner, s, lev, e);
}
static xchg_kind t_isolated(xchg *x, const char *s, xchg_error *e) {
  return T(x)->inner->ops->set_isolated(T(x)->inner, s, e);
}
static void fold(bot_tap *t, xchg_order *o, const xchg_fill *f);

static xchg_kind t_query(xchg *x, const char *s, const char *cid, xchg_order *o, xchg_error *e) {
  xchg_kind k = T(x)->inner->ops->query(T(x)->inner, s, cid, o, e);
  if (k == XCHG_OK) fold(T(x), o, NULL);
  return k;
}
static xchg_kind t_open_orders(xchg *x, const char *s, xchg_order *o, int max, int *n, xchg_error *e) {
  return T(x)->inner->ops->open_orders(T(x)->inner, s, o, max, n, e);
}
static xchg_kind t_fills(xchg *x, const char *s, lb_ms since, xchg_fill *o, int max, int *n,
                         xchg_error *e) {
  return T(x)->inner->ops->fills_since(T(x)->inner, s, since, o, max, n, e);
}
static xchg_kind t_mark(xchg *x, const char *s, lb_dec *m, double *r, xchg_error *e) {
  xchg *in = T(x)->inner;
  if (!in->ops->mark_price) return xchg_fail(e, XCHG_REJECTED, 0, "no mark price");
  return in->ops->mark_price(in, s, m, r, e);
}
static xchg_kind t_klines(xchg *x, const char *s, lb_ms tf, lb_ms a, lb_ms z, data_series *o,
                          xchg_error *e) {
  xchg *in = T(x)->inner;
  if (!in->ops->klines) return xchg_fail(e, XCHG_REJECTED, 0, "no klines");
  return in->ops->klines(in, s, tf, a, z, o, e);
}

/* ==== Orders: recorded, logged, timed ==== */

void bot_tap_note_placed(bot *b, const char *symbol, const char *cid) {
  bot_tap *t = &b->tap;
  for (int i = 0; i < t->n_placed; i++)
    if (strcmp(t->placed[i].cid, cid) == 0) return;
  int k = t->next_placed;
  t->next_placed = (t->next_placed + 1) % BOT_PLACED_MAX;
  if (t->n_placed < BOT_PLACED_MAX) t->n_placed++;
  snprintf(t->placed[k].cid, sizeof t->placed[k].cid, "%s", cid);
  snprintf(t->placed[k].symbol, sizeof t->placed[k].symbol, "%s", symbol);
}

static void lat_sample(bot_tap *t) {
  if (t->mark_ns == 0) return;
  int64_t d_us = (lb_time_mono_ns() - t->mark_ns) / 1000;
  lb_ms wire = lb_time_now_ms() - t->mark_time;
  pthread_mutex_lock(&t->lat_mu);
  int k = (int)(t->n_lat % BOT_LAT_MAX);
  t->lat_us[k] = d_us < 0 ? 0 : d_us > UINT32_MAX ? UINT32_MAX : (uint32_t)d_us;
  t->lat_wire_ms[k] = wire < INT32_MIN ? INT32_MIN : wire > INT32_MAX ? INT32_MAX : (int32_t)wire;
  t->n_lat++;
  pthread_mutex_unlock(&t->lat_mu);
}

/* ==== Cumulative fees and realized PnL per order ====
 *
 * xchg.h wants an order's fee and realized PnL cumulative, and the engine
 * books the difference to what it booked before.  Binance's
 * ORDER_TRADE_UPDATE carries them per execution ("n", "rp" go to the
 * event's fill; its order has none), and order lookups carry none: taken
 * as they come, a later update of an order would un-book its fee.  So the
 * tap keeps each order's running figures (from place() answers, which the
 * adapter completes from the trade history, and from executions, counted
 * once by their cumulative quantity) and fills them in where the venue
 * left them empty.  A venue that sends them (the simulator) is trusted. */

static int acc_slot(bot_tap *t, const char *cid, bool create) {
  for (int i = 0; i < t->n_acc; i++)
    if (strcmp(t->acc[i].cid, cid) == 0) return i;
  if (!create) return -1;
  int k = t->next_acc;
  t->next_acc = (t->next_acc + 1) % 32;
  if (t->n_acc < 32) t->n_acc++;
  memset(&t->acc[k], 0, sizeof t->acc[k]);
  snprintf(t->acc[k].cid, sizeof t->acc[k].cid, "%s", cid);
  return k;
}

static void fold(bot_tap *t, xchg_order *o, const xchg_fill *f) {
  if (!o->client_id[0]) return;
  int k = acc_slot(t, o->client_id, true);
  if (o->fee != 0 || o->realized_pnl != 0) { /* the venue gave cumulative figures */
    if (o->filled_qty >= t->acc[k].filled) {
      t->acc[k].filled = o->filled_qty;
      t->acc[k].fee = o->fee;
      t->acc[k].realized = o->realized_pnl;
    }
    return;
  }
  if (f && f->qty > 0 && o->filled_qty > t->acc[k].filled) { /* an execution not counted yet */
    t->acc[k].fee += f->fee;
    t->acc[k].realized += f->realized_pnl;
    t->acc[k].filled = o->filled_qty;
  }
  if (o->filled_qty > 0 && o->filled_qty <= t->acc[k].filled) {
    o->fee = t->acc[k].fee;
    o->realized_pnl = t->acc[k].realized;
  }
}

void bot_tap_seed(bot *b, const char *cid, lb_dec filled, lb_dec fee, lb_dec realized) {
  bot_tap *t = &b->tap;
  int k = acc_slot(t, cid, true);
  t->acc[k].filled = filled;
  t->acc[k].fee = fee;
  t->acc[k].realized = realized;
}

static const char *dec(lb_dec d, char *buf, size_t n) {
  lb_dec_fmt(d, buf, n);
  return buf;
}

/* The order's row before it leaves: durable for an entry (with the
 * positions row saying which trade is being entered), queued otherwise. */
static lb_err prerecord(bot *b, const xchg_order_req *r, long trade, char kind, lb_errbuf *eb) {
  if (!b->db) return LB_OK;
  store_order o;
  memset(&o, 0, sizeof o);
  snprintf(o.client_id, sizeof o.client_id, "%s", r->client_id);
  bot_trade_cid(trade, o.trade_id, sizeof o.trade_id);
  snprintf(o.symbol, sizeof o.symbol, "%s", r->symbol);
  o.kind = bot_order_kind(kind);
  o.side = r->side == XCHG_BUY ? STORE_BUY : STORE_SELL;
  o.type = bot_order_type(r->type);
  o.qty = r->qty;
  o.price = r->type == XCHG_LIMIT ? r->price : 0;
  o.trigger_price = xchg_type_is_conditional(r->type) ? r->trigger_price : 0;
  o.reduce_only = r->reduce_only || r->close_position;
  o.status = STORE_OS_PENDING;
  o.created_at = o.updated_at = bot_wall(b);
  bool entry = kind == 'E';
  lb_err rc = store_order_record(b->db, &o, entry ? STORE_SYNC : STORE_ASYNC, eb);
  if (rc == LB_OK && entry)
    bot_record_position(b, r->symbol, STORE_POS_ENTERING, trade, o.created_at, STORE_SYNC);
  return rc;
}

static xchg_kind t_place(xchg *x, const xchg_order_req *r, xchg_order *out, xchg_error *err) {
  bot_tap *t = T(x);
  bot *b = t->b;
  char kind = '?';
  int version = 0;
  long trade = bot_cid_trade(r->client_id, &kind, &version);
  char q[32], tr[32];
  dec(r->qty, q, sizeof q);
  dec(r->trigger_price, tr, sizeof tr);
  bool trailing = false;
  if (kind == 'S' && version > 1 && b->eng) {
    engine_position pos;
    engine_get_position(b->eng, &pos);
    trailing = pos.state == ENGINE_OPEN; /* a trailing replacement, not a recovery */
  }
  if (trade > 0) {
    lb_errbuf eb = {{0}};
    if (prerecord(b, r, trade, kind, &eb) != LB_OK) {
      LB_ERROR("bot", "order %s not sent: the database cannot record it: %s", r->client_id, eb.msg);
      return xchg_fail(err, XCHG_REJECTED, 0, "not sent: the database cannot record it (%s)", eb.msg);
    }
    bot_tap_note_placed(b, r->symbol, r->client_id);
  }
  if (kind == 'E')
    LB_INFO("bot", "entry sent: trade %ld cid=%s %s %s %s qty %s", trade, r->client_id, r->symbol,
            xchg_side_name(r->side), xchg_type_name(r->type), q);
  else
    LB_INFO("bot", "order sent: cid=%s %s %s %s qty %s trigger %s", r->client_id, r->symbol,
            xchg_side_name(r->side), xchg_type_name(r->type), q, tr);
  if (trailing) lat_sample(t);
  xchg_kind k = t->inner->ops->place(t->inner, r, out, err);
  if (k == XCHG_OK) {
    fold(t, out, NULL);
    char f[32], p[32];
    dec(out->filled_qty, f, sizeof f);
    dec(out->avg_price, p, sizeof p);
    if (kind == 'S' && (out->status == XCHG_ST_NEW || out->status == XCHG_ST_PARTIALLY_FILLED))
      LB_INFO("bot", "stop confirmed: trade %ld cid=%s trigger %s", trade, r->client_id, tr);
    else if (kind == 'E')
      LB_INFO("bot", "entry answered: trade %ld cid=%s %s filled %s at %s", trade, r->client_id,
              xchg_status_name(out->status), f, p);
    else
      LB_INFO("bot", "order answered: cid=%s %s filled %s at %s", r->client_id,
              xchg_status_name(out->status), f, p);
  } else {
    LB_WARN("bot", "order failed: cid=%s %s: %s", r->client_id, xchg_kind_name(k), err ? err->msg : "");
    if (trade > 0 && b->db && k == XCHG_REJECTED) {
      lb_errbuf eb;
      store_order_update(b->db, r->client_id, STORE_OS_REJECTED, NULL, -1, -1, bot_wall(b),
                         STORE_ASYNC, &eb);
    }
  }
  return k;
}

static xchg_kind t_cancel(xchg *x, const char *s, const char *cid, xchg_error *e) {
  bot_tap *t = T(x);
  xchg_kind k = t->inner->ops->cancel(t->inner, s, cid, e);
  LB_INFO("bot", "cancel: cid=%s %s", cid, xchg_kind_name(k));
  return k;
}

static xchg_kind t_subscribe(xchg *x, const char *const *syms, int n, lb_ms tf, xchg_error *e) {
  xchg *in = T(x)->inner;
  if (!in->ops->subscribe) return XCHG_OK;
  return in->ops->subscribe(in, syms, n, tf, e);
}

/* ==== Events ==== */

static void out_push(bot_tap *t, const xchg_event *ev) {
  if (t->n_out == t->cap_out) {
    if (t->pos_out > 0) { /* reuse the consumed front */
      memmove(t->out, t->out + t->pos_out, (t->n_out - t->pos_out) * sizeof *t->out);
      t->n_out -= t->pos_out;
      t->pos_out = 0;
    }
    if (t->n_out == t->cap_out) {
      size_t cap = t->cap_out ? t->cap_out * 2 : 64;
      xchg_event *n = realloc(t->out, cap * sizeof *n);
      if (!n) return; /* out of memory: the event is lost, the next reconcile finds it */
      t->out = n;
      t->cap_out = cap;
    }
  }
  t->out[t->n_out++] = *ev;
}

static void emit_out(void *ctx, const xchg_event *ev) { out_push(ctx, ev); }

void bot_tap_inject(bot *b, const xchg_event *ev) { out_push(&b->tap, ev); }

static void liq_key(const xchg_fill *f, char *out, size_t n) {
  if (f->trade_id[0]) {
    snprintf(out, n, "%s", f->trade_id);
  } else {
    char q[32];
    lb_dec_fmt(f->qty, q, sizeof q);
    snprintf(out, n, "t%lldq%s", (long long)f->time, q);
  }
}

bool bot_liquidation_seen(bot *b, const xchg_fill *f, bool note) {
  char key[XCHG_ID_MAX];
  liq_key(f, key, sizeof key);
  for (int i = 0; i < b->n_liq_seen && i < 16; i++)
    if (strcmp(b->liq_seen[i], key) == 0) return true;
  if (note) snprintf(b->liq_seen[b->n_liq_seen++ % 16], XCHG_ID_MAX, "%s", key);
  return false;
}

/* The exchange closed (part of) the position itself: the order it made
 * and its fill become rows like ours (the engine books the money). */
static void record_liquidation(bot *b, const xchg_event *ev) {
  LB_ERROR("bot", "%s: the exchange liquidated or auto-deleveraged the position (%s)", ev->symbol,
           ev->fill.client_id[0] ? ev->fill.client_id : ev->order.client_id);
  if (!b->db) return;
  const char *cid = ev->fill.client_id[0] ? ev->fill.client_id : ev->order.client_id;
  char fallback[XCHG_ID_MAX];
  if (!cid[0]) {
    snprintf(fallback, sizeof fallback, "liquidation-%lld", (long long)ev->time);
    cid = fallback;
  }
  long trade = 0;
  if (b->eng) {
    engine_position pos;
    engine_get_position(b->eng, &pos);
    trade = pos.trade.id;
  }
  lb_ms now = bot_wall(b);
  lb_errbuf eb;
  store_order o;
  memset(&o, 0, sizeof o);
  snprintf(o.client_id, sizeof o.client_id, "%s", cid);
  if (trade > 0) bot_trade_cid(trade, o.trade_id, sizeof o.trade_id);
  snprintf(o.symbol, sizeof o.symbol, "%s", ev->symbol);
  o.kind = STORE_ORDER_EXIT;
  o.side = ev->fill.side == XCHG_BUY ? STORE_BUY : STORE_SELL;
  o.type = STORE_OT_MARKET;
  o.qty = ev->fill.qty > 0 ? ev->fill.qty : 1;
  o.reduce_only = true;
  o.status = STORE_OS_FILLED;
  o.filled_qty = ev->fill.qty;
  o.avg_price = ev->fill.price;
  o.created_at = o.updated_at = now;
  store_order_record(b->db, &o, STORE_ASYNC, &eb);
  if (ev->fill.qty <= 0 || ev->fill.price <= 0) return;
  store_fill f;
  memset(&f, 0, sizeof f);
  snprintf(f.order_client_id, sizeof f.order_client_id, "%s", cid);
  snprintf(f.exchange_trade_id, sizeof f.exchange_trade_id, "%s", ev->fill.trade_id);
  if (!f.exchange_trade_id[0]) bot_fill_key(ev->fill.qty, f.exchange_trade_id, sizeof f.exchange_trade_id);
  f.qty = ev->fill.qty;
  f.price = ev->fill.price;
  f.fee = ev->fill.fee;
  snprintf(f.fee_asset, sizeof f.fee_asset, "USDT");
  f.realized_pnl = ev->fill.realized_pnl;
  f.filled_at = ev->time > 0 ? ev->time : now;
  store_fill_record(b->db, &f, STORE_ASYNC, &eb);
}

static void take(bot_tap *t, const xchg_event *in) {
  bot *b = t->b;
  xchg_event copy = *in;
  const xchg_event *ev = &copy;
  if (copy.type == XCHG_EV_FILL || copy.type == XCHG_EV_ORDER)
    fold(t, &copy.order, copy.type == XCHG_EV_FILL ? &copy.fill : NULL);
  switch (ev->type) {
  case XCHG_EV_STREAM_DOWN:
  case XCHG_EV_STREAM_UP: {
    bool up = ev->type == XCHG_EV_STREAM_UP;
    bool user = ev->stream == XCHG_STREAM_USER;
    atomic_store(user ? &b->user_up : &b->market_up, up);
    if (user && up) atomic_store(&b->user_stream_up_evt, true);
    LB_INFO("bot", "%s stream %s", user ? "user-data" : "market", up ? "up" : "down");
    break;
  }
  case XCHG_EV_LIQUIDATION:
    if (bot_liquidation_seen(b, &ev->fill, true)) return; /* reconciliation injected it already */
    record_liquidation(b, ev);
    break;
  case XCHG_EV_CANDLE:
    if (t->filter) {
      bot_feed_candle(b, ev, emit_out, t);
      return;
    }
    break;
  default: break;
  }
  out_push(t, ev);
}

static int t_poll(xchg *x, xchg_event *out, int max) {
  bot_tap *t = T(x);
  if (t->pos_out == t->n_out) {
    t->pos_out = t->n_out = 0;
    if (t->hold) return 0;
    xchg_event in[16];
    int n = xchg_poll_events(t->inner, in, 16);
    for (int i = 0; i < n; i++) take(t, &in[i]);
  }
  int k = 0;
  while (k < max && t->pos_out < t->n_out) {
    out[k] = t->out[t->pos_out++];
    if (out[k].type == XCHG_EV_MARK) bot_mark_seen(t->b, out[k].time);
    k++;
  }
  t->events += k;
  return k;
}

static void t_destroy(xchg *x) { (void)x; /* the inner exchange belongs to the bot */ }

static const xchg_ops tap_ops = {
    .name = "tap",
    .symbol_rules = t_rules,
    .brackets = t_brackets,
    .balance = t_balance,
    .position = t_position,
    .set_leverage = t_leverage,
    .set_isolated = t_isolated,
    .place = t_place,
    .cancel = t_cancel,
    .query = t_query,
    .open_orders = t_open_orders,
    .fills_since = t_fills,
    .mark_price = t_mark,
    .klines = t_klines,
    .subscribe = t_subscribe,
    .poll_events = t_poll,
    .destroy = t_destroy,
};

void bot_tap_init(bot *b, xchg *inner, bool filter) {
  bot_tap *t = &b->tap;
  t->inner = inner;
  t->b = b;
  t->filter = filter;
  b->tapx.ops = &tap_ops;
  b->tapx.impl = t;
}

void bot_tap_close(bot *b) {
  free(b->tap.out);
  b->tap.out = NULL;
  b->tap.n_out = b->tap.pos_out = b->tap.cap_out = 0;
}

void bot_tap_hold(bot *b, bool hold) { b->tap.hold = hold; }

/* ==== The feed filter ==== */

static int sym_index(const bot *b, const char *symbol) {
  for (int i = 0; i < b->ep.n_symbols; i++)
    if (strcmp(b->ep.symbols[i], symbol) == 0) return i;
  return -1;
}

void bot_feed_set_last(bot *b, int sym, lb_ms ts) {
  if (sym >= 0 && sym < ENGINE_MAX_SYMBOLS && ts > b->feed_last[sym]) b->feed_last[sym] = ts;
}

void bot_feed_candle(bot *b, const xchg_event *ev, void (*emit)(void *ctx, const xchg_event *ev),
                     void *ctx) {
  int sym = sym_index(b, ev->symbol);
  if (sym < 0 || ev->timeframe != b->feed_tf) return;
  lb_ms last = b->feed_last[sym];
  if (last && ev->candle.ts <= last) return; /* warm-up had it, or a repeat */
  if (last && ev->candle.ts > last + b->feed_tf && b->market && b->market->ops->klines) {
    data_series s;
    data_series_init(&s);
    xchg_error err;
    xchg_kind k = b->market->ops->klines(b->market, ev->symbol, b->feed_tf, last + b->feed_tf,
                                         ev->candle.ts, &s, &err);
    if (k == XCHG_OK) {
      for (size_t i = 0; i < s.n; i++) {
        if (s.c[i].ts <= last || s.c[i].ts >= ev->candle.ts) continue;
        xchg_event g = *ev;
        g.candle = s.c[i];
        emit(ctx, &g);
        last = s.c[i].ts;
      }
    } else {
      LB_WARN("bot", "%s: %lld ms of candles missing before a streamed one and not fetched: %s",
              ev->symbol, (long long)(ev->candle.ts - last - b->feed_tf), err.msg);
    }
    data_series_close(&s);
  }
  b->feed_last[sym] = ev->candle.ts;
  emit(ctx, ev);
}

/* ==== Latency ==== */

void bot_mark_seen(bot *b, lb_ms ev_time) {
  b->tap.mark_ns = lb_time_mono_ns();
  b->tap.mark_time = ev_time;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static int cmp_i32(const void *a, const void *b) {
  int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return x < y ? -1 : x > y;
}

void bot_latency(bot *b, double *p50_us, double *p99_us, double *p99_wire_ms, long *n) {
  bot_tap *t = &b->tap;
  uint32_t *us = malloc(BOT_LAT_MAX * sizeof *us);
  int32_t *wire = malloc(BOT_LAT_MAX * sizeof *wire);
  *p50_us = *p99_us = *p99_wire_ms = 0;
  *n = 0;
  if (!us || !wire) {
    free(us);
    free(wire);
    return;
  }
  pthread_mutex_lock(&t->lat_mu);
  long total = t->n_lat;
  int k = total < BOT_LAT_MAX ? (int)total : BOT_LAT_MAX;
  memcpy(us, t->lat_us, (size_t)k * sizeof *us);
  memcpy(wire, t->lat_wire_ms, (size_t)k * sizeof *wire);
  pthread_mutex_unlock(&t->lat_mu);
  *n = total;
  if (k > 0) {
    qsort(us, (size_t)k, sizeof *us, cmp_u32);
    qsort(wire, (size_t)k, sizeof *wire, cmp_i32);
    *p50_us = us[(k - 1) / 2];
    *p99_us = us[(k * 99 + 99) / 100 - 1];
    *p99_wire_ms = wire[(k * 99 + 99) / 100 - 1];
  }
  free(us);
  free(wire);
}
