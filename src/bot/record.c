/* record.c -- the engine's observer: what the user watches, the store's rows, the notifications.
 *
 * Every callback runs on the engine thread inside the engine call that
 * caused it, so nothing here waits: store writes are STORE_ASYNC (the
 * store's queue keeps them in order, W1) and notifications notify_post()
 * (never blocks, notify.h invariant 1).  Console lines keep the format
 * `levbot run --paper --replay` always printed ("OPEN   #1 BTCUSDT ...").
 *
 * Fills are keyed by the order's cumulative filled quantity after them
 * ("c0.098"), not by a sequence number: the engine books cumulative order
 * updates, and restart recovery books what is missing up to the exchange's
 * cumulative figure with the same key, so a fill is never written twice
 * however often the bot restarts (bot.h R4).
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "bot/bot_int.h"
#include "core/log.h"

/* ==== Client ids and mappings ==== */

void bot_trade_cid(long n, char *out, size_t len) { snprintf(out, len, BOT_CID_PREFIX "-%ld-E", n); }

long bot_cid_trade(const char *cid, char *kind, int *version) {
  if (kind) *kind = '?';
  if (version) *version = 0;
  size_t pl = strlen(BOT_CID_PREFIX);
  if (strncmp(cid, BOT_CID_PREFIX "-", pl + 1) != 0) return 0;
  char *end;
  long n = strtol(cid + pl + 1, &end, 10);
  if (n <= 0 || *end != '-' || !end[1]) return 0;
  char k = end[1];
  if (k != 'E' && k != 'S' && k != 'T' && k != 'X') return 0;
  int v = 0;
  if (end[2]) {
    char *e2;
    long vv = strtol(end + 2, &e2, 10);
    if (*e2 || vv <= 0 || vv > 100000) return 0;
    v = (int)vv;
  } else if (k == 'X') {
    v = 1;
  }
  if (kind) *kind = k;
  if (version) *version = v;
  return n;
}

store_order_kind bot_order_kind(char kind) {
  switch (kind) {
  case 'E': return STORE_ORDER_ENTRY;
  case 'S': return STORE_ORDER_STOP;
  case 'T': return STORE_ORDER_TAKE_PROFIT;
  default: return STORE_ORDER_EXIT;
  }
}

store_order_type bot_order_type(xchg_type t) {
  switch (t) {
  case XCHG_LIMIT: return STORE_OT_LIMIT;
  case XCHG_STOP_MARKET: return STORE_OT_STOP_MARKET;
  case XCHG_TAKE_PROFIT_MARKET: return STORE_OT_TAKE_PROFIT_MARKET;
  case XCHG_TRAILING_STOP_MARKET: return STORE_OT_TRAILING_STOP_MARKET;
  default: return STORE_OT_MARKET;
  }
}

store_order_status bot_order_status(xchg_status s) {
  switch (s) {
  case XCHG_ST_NEW: return STORE_OS_NEW;
  case XCHG_ST_PARTIALLY_FILLED: return STORE_OS_PARTIALLY_FILLED;
  case XCHG_ST_FILLED: return STORE_OS_FILLED;
  case XCHG_ST_CANCELED: return STORE_OS_CANCELED;
  case XCHG_ST_REJECTED: return STORE_OS_REJECTED;
  case XCHG_ST_EXPIRED: return STORE_OS_EXPIRED;
  case XCHG_ST_TRIGGERED: return STORE_OS_TRIGGERED;
  }
  return STORE_OS_NEW;
}

store_exit_reason bot_exit_reason(engine_exit_reason r) {
  switch (r) {
  case ENGINE_EXIT_STOP: return STORE_EXIT_STOP_LOSS;
  case ENGINE_EXIT_TRAILING_STOP: return STORE_EXIT_TRAILING_STOP;
  case ENGINE_EXIT_TAKE_PROFIT: return STORE_EXIT_TAKE_PROFIT;
  case ENGINE_EXIT_LIQUIDATION: return STORE_EXIT_LIQUIDATION;
  case ENGINE_EXIT_NO_STOP: return STORE_EXIT_NO_STOP;
  case ENGINE_EXIT_MANUAL: return STORE_EXIT_MANUAL;
  default: return STORE_EXIT_EXTERNAL;
  }
}

/* ==== Console ==== */

void bot_out(bot *b, const char *fmt, ...) {
  if (!b->opt.out) return;
  va_list ap;
  va_start(ap, fmt);
  vfprintf(b->opt.out, fmt, ap);
  va_end(ap);
  fflush(b->opt.out);
}

static const char *when(lb_ms t, char *buf, size_t n) {
  lb_tm tm;
  lb_time_split(t, &tm);
  snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", tm.year, tm.month, tm.day, tm.hour, tm.minute);
  return buf;
}

static const char *num(lb_dec d, char *buf, size_t n) {
  lb_dec_fmt(d, buf, n);
  return buf;
}

/* ==== Store helpers ==== */

void bot_record_capital(bot *b, lb_dec capital, lb_ms at) {
  if (!b->db) return;
  lb_errbuf eb;
  store_capital_update(b->db, capital, at, STORE_ASYNC, &eb);
}

void bot_record_position(bot *b, const char *symbol, store_pos_state st, long trade, lb_ms at,
                         store_wmode mode) {
  if (!b->db) return;
  store_position p;
  memset(&p, 0, sizeof p);
  snprintf(p.symbol, sizeof p.symbol, "%s", symbol);
  p.state = st;
  if (trade > 0) bot_trade_cid(trade, p.trade_id, sizeof p.trade_id);
  if (st == STORE_POS_OPEN || st == STORE_POS_EXITING) {
    snprintf(p.stop_client_id, sizeof p.stop_client_id, "%s", b->stop_cid);
    snprintf(p.tp_client_id, sizeof p.tp_client_id, "%s", b->tp_cid);
  }
  p.updated_at = at;
  lb_errbuf eb;
  if (store_position_put(b->db, &p, mode, &eb) != LB_OK && mode == STORE_SYNC)
    LB_WARN("bot", "positions row of %s not written: %s", symbol, eb.msg);
}

static void ledger_capital(bot *b, lb_ms at) {
  if (!b->eng) return;
  engine_ledger led;
  engine_get_ledger(b->eng, &led);
  bot_record_capital(b, led.capital, at);
}

void bot_record_round(bot *b, engine_scan *s) {
  if (b->round_recorded || !b->panel || !ai_panel_is(b->panel)) return;
  b->round_recorded = true;
  char id[STORE_ID_MAX] = "";
  lb_errbuf eb;
  if (ai_panel_record_round(b->panel, &s->consensus, id, &eb) != LB_OK) {
    LB_DEBUG("bot", "AI round of %s not recorded: %s", s->symbol, eb.msg);
    return;
  }
  if (s->consensus.decision.action != LB_ACTION_HOLD) {
    snprintf(b->consensus_id, sizeof b->consensus_id, "%s", id);
    b->n_votes = 0;
    for (int i = 0; i < s->n_votes && b->n_votes < NOTIFY_MAX_VOTES; i++) {
      notify_vote *v = &b->votes[b->n_votes++];
      notify_set(v->model, s->votes[i].analyst);
      v->action = s->votes[i].decision.action;
      v->confidence = s->votes[i].decision.confidence;
    }
  }
}

/* ==== Observer ==== */

static void o_scan(void *ctx, const engine_scan *s) {
  bot *b = ctx;
  if (s == b->scan_applying) bot_record_round(b, b->scan_applying);
  if (s->outcome == ENGINE_SCAN_ENTERED && b->eng) {
    engine_position pos;
    engine_get_position(b->eng, &pos);
    b->consensus_trade = pos.trade.id;
  }
  if (s->outcome == ENGINE_SCAN_BUSY) return; /* the position lines say enough */
  char t[32];
  bot_out(b, "%s  scan   %-9s %-9s %.160s\n", when(s->time, t, sizeof t), s->symbol,
          engine_scan_outcome_name(s->outcome), s->detail);
}

static void o_order(void *ctx, const xchg_order *o, long trade_id) {
  bot *b = ctx;
  char kind;
  long n = bot_cid_trade(o->client_id, &kind, NULL);
  if (n <= 0) return;
  bool open = o->status == XCHG_ST_NEW || o->status == XCHG_ST_PARTIALLY_FILLED;
  if (kind == 'S' && open) snprintf(b->stop_cid, sizeof b->stop_cid, "%s", o->client_id);
  if (kind == 'T' && open) snprintf(b->tp_cid, sizeof b->tp_cid, "%s", o->client_id);
  lb_ms now = bot_wall(b);
  if (b->db) {
    lb_errbuf eb;
    store_order_update(b->db, o->client_id, bot_order_status(o->status), o->exchange_id,
                       o->filled_qty, o->filled_qty > 0 ? o->avg_price : -1, now, STORE_ASYNC, &eb);
  }
  if ((kind == 'S' || kind == 'T') && open && b->eng) {
    engine_position pos;
    engine_get_position(b->eng, &pos);
    if (pos.state == ENGINE_OPEN && pos.trade.id == trade_id)
      bot_record_position(b, o->symbol, STORE_POS_OPEN, trade_id, now, STORE_ASYNC);
  }
}

/* ==== Fills: keyed by the order's cumulative quantity ==== */

void bot_fill_key(lb_dec cum, char *out, size_t n) {
  char d[LB_DEC_STRLEN];
  lb_dec_fmt(cum, d, sizeof d);
  snprintf(out, n, "c%s", d);
}

static int cum_find(bot *b, const char *cid) {
  for (int i = 0; i < b->n_cum; i++)
    if (strcmp(b->cum[i].cid, cid) == 0) return i;
  return -1;
}

void bot_fill_cum_seed(bot *b, const char *cid, lb_dec cum) {
  int i = cum_find(b, cid);
  if (i < 0) {
    i = b->next_cum;
    b->next_cum = (b->next_cum + 1) % BOT_CUM_MAX;
    if (b->n_cum < BOT_CUM_MAX) b->n_cum++;
    snprintf(b->cum[i].cid, sizeof b->cum[i].cid, "%s", cid);
  }
  b->cum[i].cum = cum;
}

static lb_dec cum_add(bot *b, const char *cid, lb_dec qty) {
  int i = cum_find(b, cid);
  lb_dec c = (i >= 0 ? b->cum[i].cum : 0) + qty;
  bot_fill_cum_seed(b, cid, c);
  return c;
}

static void o_fill(void *ctx, const xchg_fill *f, long trade_id) {
  bot *b = ctx;
  lb_ms now = bot_wall(b);
  const char *cid = f->client_id[0] ? f->client_id : "unknown";
  lb_dec cum = cum_add(b, cid, f->qty);
  if (b->db && f->qty > 0) {
    lb_errbuf eb;
    if (bot_cid_trade(cid, NULL, NULL) <= 0) {
      /* an execution levbot did not order (a liquidation, someone's order):
       * its order row first (a fill references its order) */
      store_order o;
      memset(&o, 0, sizeof o);
      snprintf(o.client_id, sizeof o.client_id, "%s", cid);
      bot_trade_cid(trade_id, o.trade_id, sizeof o.trade_id);
      snprintf(o.symbol, sizeof o.symbol, "%s", f->symbol);
      o.kind = STORE_ORDER_EXIT;
      o.side = f->side == XCHG_BUY ? STORE_BUY : STORE_SELL;
      o.type = STORE_OT_MARKET;
      o.qty = f->qty;
      o.reduce_only = true;
      o.status = STORE_OS_FILLED;
      o.created_at = o.updated_at = now;
      store_order_record(b->db, &o, STORE_ASYNC, &eb);
    }
    store_fill sf;
    memset(&sf, 0, sizeof sf);
    snprintf(sf.order_client_id, sizeof sf.order_client_id, "%s", cid);
    bot_fill_key(cum, sf.exchange_trade_id, sizeof sf.exchange_trade_id);
    sf.qty = f->qty;
    sf.price = f->price > 0 ? f->price : 0;
    sf.fee = f->fee;
    snprintf(sf.fee_asset, sizeof sf.fee_asset, "USDT");
    sf.realized_pnl = f->realized_pnl;
    sf.filled_at = f->time > 0 ? f->time : now;
    if (sf.price > 0 && store_fill_record(b->db, &sf, STORE_ASYNC, &eb) != LB_OK)
      LB_WARN("bot", "fill of %s not recorded: %s", cid, eb.msg);
  }
  ledger_capital(b, now);
}

static void o_opened(void *ctx, const engine_trade *t) {
  bot *b = ctx;
  if (b->rep_obs.on_trade_opened) b->rep_obs.on_trade_opened(b->rep_obs.ctx, t);
  char w[32], a[32], p[32], c[32], d[32], e[32];
  bot_out(b, "%s  OPEN   #%ld %s %s %dx qty %s at %s  stop %s  take-profit %s  liquidation %s\n",
          when(t->entry_time, w, sizeof w), t->id, t->symbol,
          t->side == LB_ACTION_LONG ? "LONG" : "SHORT", t->leverage, num(t->qty, a, sizeof a),
          num(t->entry_price, p, sizeof p), num(t->initial_stop, c, sizeof c),
          num(t->take_profit, d, sizeof d), num(t->liquidation, e, sizeof e));
  LB_INFO("bot", "trade %ld opened: %s %s qty %s at %s", t->id, t->symbol,
          lb_action_name(t->side), a, p);
  if (b->scan_applying) bot_record_round(b, b->scan_applying);
  bool mine = b->consensus_trade == t->id || b->scan_applying;
  if (b->db) {
    store_trade st;
    memset(&st, 0, sizeof st);
    bot_trade_cid(t->id, st.id, sizeof st.id);
    snprintf(st.symbol, sizeof st.symbol, "%s", t->symbol);
    st.side = t->side == LB_ACTION_SHORT ? STORE_SHORT : STORE_LONG;
    st.qty = t->qty;
    st.entry_price = t->entry_price;
    st.leverage = t->leverage;
    st.stop_price = t->stop > 0 ? t->stop : t->initial_stop;
    /* the plan, kept as it was: the report's R must not follow the trailing stop */
    st.initial_stop = t->initial_stop;
    st.loss_at_stop = t->loss_at_stop;
    st.planned_rr = t->planned_rr;
    st.take_profit = t->take_profit;
    st.liquidation_price = t->liquidation;
    st.margin = t->margin;
    st.ai_confidence = t->confidence;
    if (mine) snprintf(st.consensus_id, sizeof st.consensus_id, "%s", b->consensus_id);
    st.opened_at = t->entry_time;
    lb_errbuf eb;
    if (store_trade_open(b->db, &st, STORE_ASYNC, &eb) != LB_OK)
      LB_WARN("bot", "trade %ld not recorded: %s", t->id, eb.msg);
    b->stop_cid[0] = b->tp_cid[0] = '\0';
    bot_record_position(b, t->symbol, STORE_POS_OPEN, t->id, bot_wall(b), STORE_ASYNC);
  }
  if (b->nq) {
    notify_event ev;
    notify_event_init(&ev, NOTIFY_EV_ENTRY_FILLED);
    notify_set(ev.symbol, t->symbol);
    ev.side = t->side;
    ev.size = t->qty;
    ev.leverage = t->leverage;
    ev.entry = t->entry_price;
    ev.stop = t->initial_stop;
    ev.take_profit = t->take_profit;
    ev.liquidation = t->liquidation;
    ev.confidence = t->confidence;
    if (mine) {
      ev.n_votes = b->n_votes;
      memcpy(ev.votes, b->votes, sizeof ev.votes);
    }
    ev.time = t->entry_time;
    notify_post(b->nq, &ev);
  }
}

static void o_moved(void *ctx, const engine_trade *t, lb_dec from, lb_dec to, lb_ms time) {
  bot *b = ctx;
  char w[32], a[32], c[32];
  bot_out(b, "%s  STOP   #%ld %s trailing stop %s -> %s\n", when(time, w, sizeof w), t->id, t->symbol,
          num(from, a, sizeof a), num(to, c, sizeof c));
  LB_INFO("bot", "trade %ld: stop moved %s -> %s", t->id, a, c);
  if (b->db) {
    char id[STORE_ID_MAX];
    bot_trade_cid(t->id, id, sizeof id);
    lb_errbuf eb;
    store_trade_move_stop(b->db, id, to, STORE_ASYNC, &eb);
  }
  if (b->nq) {
    notify_event ev;
    notify_event_init(&ev, NOTIFY_EV_STOP_MOVED);
    notify_set(ev.symbol, t->symbol);
    ev.side = t->side;
    ev.prev_stop = from;
    ev.stop = to;
    notify_set(ev.reason, "trailing stop");
    ev.time = time;
    notify_post(b->nq, &ev);
  }
}

static void o_closed(void *ctx, const engine_trade *t) {
  bot *b = ctx;
  if (b->rep_obs.on_trade_closed) b->rep_obs.on_trade_closed(b->rep_obs.ctx, t);
  char w[32], a[32], n2[32];
  lb_dec net = engine_trade_net(t);
  lb_dec_fmt_places(net, 2, n2, sizeof n2);
  bot_out(b, "%s  CLOSE  #%ld %s at %s (%s)  net %s%s USDT\n", when(t->exit_time, w, sizeof w), t->id,
          t->symbol, num(t->exit_price, a, sizeof a), engine_exit_name(t->exit_reason),
          net > 0 ? "+" : "", n2);
  LB_INFO("bot", "trade %ld closed: %s at %s (%s), net %s", t->id, t->symbol, a,
          engine_exit_name(t->exit_reason), n2);
  lb_ms now = bot_wall(b);
  if (b->db) {
    char id[STORE_ID_MAX];
    bot_trade_cid(t->id, id, sizeof id);
    store_trade_exit x = {.exit_price = t->exit_price > 0 ? t->exit_price : t->entry_price,
                          .reason = bot_exit_reason(t->exit_reason),
                          .realized_pnl = t->realized_pnl,
                          .fees = t->fees,
                          .funding = t->funding,
                          .closed_at = t->exit_time > t->entry_time ? t->exit_time : t->entry_time};
    lb_errbuf eb;
    if (store_trade_close(b->db, id, &x, STORE_ASYNC, &eb) != LB_OK)
      LB_WARN("bot", "close of trade %ld not recorded: %s", t->id, eb.msg);
    b->stop_cid[0] = b->tp_cid[0] = '\0';
    bot_record_position(b, t->symbol, STORE_POS_FLAT, t->id, now, STORE_ASYNC);
    ledger_capital(b, now);
    if (b->eng) {
      engine_ledger led;
      engine_get_ledger(b->eng, &led);
      store_equity eq = {.ts = x.closed_at, .equity = led.capital, .capital = led.capital};
      if (eq.ts > b->last_equity_mark) {
        store_equity_record(b->db, &eq, STORE_ASYNC, &eb);
        b->last_equity_mark = eq.ts;
      }
    }
  }
  pthread_mutex_lock(&b->mu);
  lb_ms day = lb_time_day_start(t->exit_time);
  if (day != b->snap.day) {
    b->snap.day = day;
    b->snap.daily_pnl = 0;
  }
  b->snap.daily_pnl += net;
  pthread_mutex_unlock(&b->mu);
  bot_house_kick(b);
  if (b->nq) {
    notify_event ev;
    notify_event_init(&ev, NOTIFY_EV_EXIT);
    notify_set(ev.symbol, t->symbol);
    ev.side = t->side;
    ev.size = t->qty;
    ev.entry = t->entry_price;
    ev.exit_price = t->exit_price;
    notify_set(ev.reason, engine_exit_name(t->exit_reason));
    ev.pnl = net;
    ev.r_multiple = t->loss_at_stop > 0 ? lb_dec_to_double(net) / lb_dec_to_double(t->loss_at_stop) : 0;
    if (t->exit_reason == ENGINE_EXIT_LIQUIDATION || t->exit_reason == ENGINE_EXIT_NO_STOP)
      ev.severity = NOTIFY_CRITICAL;
    ev.time = t->exit_time;
    notify_post(b->nq, &ev);
  }
}

static void o_funding(void *ctx, const char *symbol, lb_dec amount, double rate, lb_ms time) {
  bot *b = ctx;
  char a[32];
  LB_INFO("bot", "funding %s: %s (rate %.6f)", symbol, num(amount, a, sizeof a), rate);
  ledger_capital(b, time > 0 ? time : bot_wall(b));
}

static void o_breaker(void *ctx, const risk_breaker_event *ev) {
  bot *b = ctx;
  if (b->rep_obs.on_breaker) b->rep_obs.on_breaker(b->rep_obs.ctx, ev);
  char w[32];
  bot_out(b, "%s  BREAKER %s %s: %s\n", when(ev->time, w, sizeof w), risk_breaker_name(ev->kind),
          ev->trip ? "TRIPPED" : "resumed", ev->detail);
  if (ev->trip)
    LB_WARN("bot", "circuit breaker %s tripped: %s", risk_breaker_name(ev->kind), ev->detail);
  else
    LB_INFO("bot", "circuit breaker %s resumed: %s", risk_breaker_name(ev->kind), ev->detail);
  bot_note_breaker(b, ev);
  if (b->db) {
    lb_errbuf eb;
    if (ev->trip) {
      store_breaker_event se;
      memset(&se, 0, sizeof se);
      snprintf(se.kind, sizeof se.kind, "%s", risk_breaker_name(ev->kind));
      se.tripped_at = ev->time;
      snprintf(se.detail, sizeof se.detail, "%s", ev->detail);
      se.resume_at = ev->resume_at;
      store_breaker_trip(b->db, &se, STORE_ASYNC, &eb);
    } else {
      store_breaker_resume(b->db, risk_breaker_name(ev->kind), ev->time, ev->detail, STORE_ASYNC, &eb);
    }
  }
  if (b->nq) {
    notify_event n;
    notify_event_init(&n, ev->trip ? NOTIFY_EV_BREAKER_TRIPPED : NOTIFY_EV_BREAKER_RESUMED);
    notify_set(n.breaker, risk_breaker_name(ev->kind));
    if (ev->trip) {
      notify_set(n.detail, ev->detail);
      n.resume_at = ev->resume_at;
    } else {
      notify_set(n.reason, ev->detail);
    }
    n.time = ev->time;
    notify_post(b->nq, &n);
  }
}

static void o_equity(void *ctx, lb_ms time, lb_dec capital, lb_dec equity) {
  bot *b = ctx;
  if (b->rep_obs.on_equity) b->rep_obs.on_equity(b->rep_obs.ctx, time, capital, equity);
  if (!b->db) return;
  lb_ms every = (lb_ms)b->cfg.equity_snapshot_seconds * LB_MS_SECOND;
  if (b->last_equity_mark && time - b->last_equity_mark < every) return;
  if (time <= b->last_equity_mark) return;
  b->last_equity_mark = time;
  store_equity eq = {.ts = time, .equity = equity, .capital = capital, .unrealized_pnl = equity - capital};
  lb_errbuf eb;
  store_equity_record(b->db, &eq, STORE_ASYNC, &eb);
}

static void o_alert(void *ctx, engine_alert kind, const char *symbol, lb_ms time, const char *msg) {
  bot *b = ctx;
  if (b->rep_obs.on_alert) b->rep_obs.on_alert(b->rep_obs.ctx, kind, symbol, time, msg);
  char w[32];
  bot_out(b, "%s  ALERT  %s %s: %s\n", when(time, w, sizeof w), engine_alert_name(kind), symbol, msg);
  bool critical = kind == ENGINE_ALERT_LIQUIDATED || kind == ENGINE_ALERT_STOP_NOT_CONFIRMED;
  if (critical) LB_ERROR("bot", "%s %s: %s", engine_alert_name(kind), symbol, msg);
  else LB_WARN("bot", "%s %s: %s", engine_alert_name(kind), symbol, msg);
  if (!b->nq) return;
  notify_event ev;
  if (kind == ENGINE_ALERT_EXCHANGE_ERROR) {
    notify_event_init(&ev, NOTIFY_EV_EXCHANGE_DEGRADED);
    notify_set(ev.component, b->market ? "binance" : "sim");
    notify_set(ev.detail, msg);
  } else {
    notify_event_init(&ev, NOTIFY_EV_TEXT);
    ev.severity = critical ? NOTIFY_CRITICAL : NOTIFY_WARNING;
    char title[NOTIFY_TITLE_MAX];
    snprintf(title, sizeof title, "%s %s", engine_alert_name(kind), symbol);
    notify_set(ev.title, title);
    notify_set(ev.detail, msg);
  }
  ev.time = time;
  notify_post(b->nq, &ev);
}

engine_observer bot_observer(bot *b) {
  engine_observer o = {.ctx = b,
                       .on_scan = o_scan,
                       .on_order = o_order,
                       .on_fill = o_fill,
                       .on_trade_opened = o_opened,
                       .on_stop_moved = o_moved,
                       .on_trade_closed = o_closed,
                       .on_funding = o_funding,
                       .on_breaker = o_breaker,
                       .on_equity = o_equity,
                       .on_alert = o_alert};
  return o;
}

/* ==== Other modules' events ==== */

void bot_on_store_event(void *ctx, const store_event *ev) {
  bot *b = ctx;
  switch (ev->kind) {
  case STORE_EV_DB_DOWN:
    atomic_store(&b->db_down, true);
    LB_ERROR("bot", "database unreachable: writes queue and are journaled (%s)", ev->detail);
    if (b->nq) {
      notify_event n;
      notify_event_init(&n, NOTIFY_EV_DB_DOWN);
      notify_set(n.detail, ev->detail);
      notify_post(b->nq, &n);
    }
    break;
  case STORE_EV_DB_UP:
    atomic_store(&b->db_down, false);
    LB_INFO("bot", "database reachable again: queued writes are flushing");
    break;
  case STORE_EV_REJECTED:
    LB_ERROR("bot", "the database refused a write (kept in the .rejected file): %s", ev->detail);
    break;
  case STORE_EV_LOCK_LOST:
    atomic_store(&b->lock_lost, true);
    LB_ERROR("bot", "the single-instance lock was lost: another levbot may be running; entries stop");
    if (b->nq) notify_post_text(b->nq, NOTIFY_CRITICAL, "Instance lock lost", ev->detail);
    break;
  case STORE_EV_UNWRITTEN:
    LB_ERROR("bot", "%ld database writes neither written nor journaled: %s", ev->count, ev->detail);
    break;
  default: break;
  }
}

void bot_on_ai_event(void *ctx, const ai_event *ev) {
  bot *b = ctx;
  if (ev->kind == AI_EV_ALL_FAILED) {
    atomic_fetch_add(&b->ai_failures, 1);
    LB_WARN("bot", "no AI provider answered (%d analyses in a row): %s", ev->failures, ev->detail);
  }
  if (!b->nq || ev->kind == AI_EV_ALL_FAILED) return;
  notify_event n;
  notify_event_init(&n, NOTIFY_EV_AI_DEGRADED);
  if (ev->kind == AI_EV_PROVIDER_UP) n.severity = NOTIFY_INFO;
  notify_set(n.component, ev->provider ? ev->provider : "ai");
  char d[NOTIFY_DETAIL_MAX];
  snprintf(d, sizeof d, "%s after %d failures: %s", ev->kind == AI_EV_PROVIDER_UP ? "answering again" : "down",
           ev->failures, ev->detail ? ev->detail : "");
  notify_set(n.detail, d);
  notify_post(b->nq, &n);
}

/* ==== Notification outbox: the store behind notify_persist ==== */

static lb_err p_enqueue(void *ctx, const char *channel, const char *payload, lb_ms created, char *id,
                        lb_errbuf *eb) {
  bot *b = ctx;
  /* ASYNC: a sync write while the database is down would hold the notifier */
  return store_outbox_enqueue(b->db, channel, "critical", payload, created, id, STORE_ASYNC, eb);
}

typedef struct {
  notify_pending_fn fn;
  void *ctx;
} pending_cb;

static lb_err p_list(void *ctx, notify_pending_fn fn, void *fn_ctx, lb_errbuf *eb) {
  bot *b = ctx;
  store_note *notes = calloc(64, sizeof *notes);
  if (!notes) return lb_fail(eb, LB_ENOMEM, "out of memory");
  int n = 0;
  /* every pending one, whenever due: the end of year 9999, the latest time
   * both back ends store (PostgreSQL refuses INT64_MAX ms as out of range) */
  lb_err rc = store_outbox_pending(b->db, (lb_ms)253402300799999LL, notes, 64, &n, eb);
  for (int i = 0; rc == LB_OK && i < n; i++) fn(fn_ctx, notes[i].id, notes[i].channel, notes[i].text, notes[i].created_at);
  free(notes);
  return rc;
}

static lb_err p_done(void *ctx, const char *id, bool delivered, const char *error, lb_ms at,
                     lb_errbuf *eb) {
  bot *b = ctx;
  if (!delivered) store_outbox_mark_attempt(b->db, id, 1, at, error ? error : "", STORE_ASYNC, eb);
  return store_outbox_mark_delivered(b->db, id, at, STORE_ASYNC, eb);
}

notify_persist bot_notify_persist(bot *b) {
  notify_persist p = {.ctx = b, .enqueue = p_enqueue, .list_pending = p_list, .mark_done = p_done};
  return p;
}
