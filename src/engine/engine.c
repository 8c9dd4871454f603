/* engine.c -- the trading loop and the position state machine (diagram, table and invariants in engine.h).
 *
 * The engine never trusts its own idea of a fill: every quantity, fee and
 * realized PnL it books comes from the exchange's order updates, which
 * carry cumulative figures (xchg_order.filled_qty, fee, realized_pnl).  Each
 * order the engine tracks remembers what has been booked already, so the
 * synchronous answer of place() and the FILL event that follows it (or a
 * duplicate event after a reconnect) are booked once.  That is what keeps
 * the ledger exact (P6) whatever the exchange's event timing.
 *
 * Sections: state checks, ledger and tracked orders, transitions (the
 * functions named in the table of engine.h), exchange events, candles and
 * the position monitor, scans, accessors.
 */
#include "engine/engine.h"

#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_TRACKED 12
#define PLACE_ATTEMPTS 3

typedef enum { ROLE_ENTRY, ROLE_STOP, ROLE_OLD_STOP, ROLE_TP, ROLE_EXIT, ROLE_OTHER } order_role;

typedef struct {
  char cid[XCHG_ID_MAX];
  order_role role;
  xchg_status status;
  lb_dec filled, fee, realized, notional; /* booked so far */
  lb_dec trigger;
  bool canceling; /* we asked for the cancel: its CANCELED event is expected */
} tracked;

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  lb_symbol_rules rules;
  lb_bracket_table br;
  lb_ms feed_tf;
  data_resampler rs[TA_MAX_TF];
  ta_frame *fr[TA_MAX_TF];
  double close;
  lb_ms close_time;
  bool have_price;
  /* Views are built lazily and kept until their frame takes a new bar: a
   * view costs microseconds (support/resistance), a bar check nothing. */
  ta_view view[TA_MAX_TF];
  int64_t view_bars[TA_MAX_TF];
  double entry_volume; /* volume of the last entry-timeframe bar */
  double atr;          /* entry timeframe ATR, as of atr_bars */
  int64_t atr_bars;
} engine_sym;

typedef struct {
  engine_pos_state state;
  int sym;
  engine_trade t;
  risk_plan plan;
  lb_decision decision;
  risk_market market;
  risk_trail trail;
  bool trail_ok;
  lb_dec held;
  lb_dec entry_qty, entry_notional, exit_qty, exit_notional;
  tracked ord[MAX_TRACKED];
  int n_ord;
  int stop_version, exit_version;
  bool stop_live;
  engine_exit_reason reason; /* of the exit in progress */
  bool liq_warned;
  lb_dec exit_trigger;       /* trigger of the conditional order that closed it */
} engine_pos;

struct engine {
  engine_params p;
  xchg *x;
  strategy_panel *panel;
  engine_observer obs;
  int n_sym;
  engine_sym sym[ENGINE_MAX_SYMBOLS];
  engine_pos pos;
  engine_ledger led;
  risk_breakers brk;
  bool brk_ready;
  engine_counters cnt;
  long next_trade;
  long scan_seq;
  lb_ms now;
  bool explain; /* someone listens to scans: write their reasons */
  lb_ms due[ENGINE_MAX_SYMBOLS]; /* close time of a streamed entry candle not scanned yet (0 = none) */
  engine_scan scratch; /* engine_scan_run()'s working copy (large) */
};

/* ==== Names ==== */

const char *engine_exit_name(engine_exit_reason r) {
  static const char *const names[] = {
#define ENGINE_EXIT_NAME_(id, name) name,
      ENGINE_EXIT_MAP(ENGINE_EXIT_NAME_)
#undef ENGINE_EXIT_NAME_
  };
  return (unsigned)r < ENGINE_EXIT__COUNT ? names[r] : "unknown";
}

const char *engine_pos_state_name(engine_pos_state s) {
  static const char *const names[] = {"FLAT", "ENTERING", "OPEN", "EXITING"};
  return (unsigned)s < 4 ? names[s] : "?";
}

const char *engine_scan_outcome_name(engine_scan_outcome o) {
  static const char *const names[] = {"none",  "busy",  "breaker", "red_flag", "hold",
                                      "refused", "stale", "failed", "entered"};
  return (unsigned)o <= ENGINE_SCAN_ENTERED ? names[o] : "?";
}

const char *engine_alert_name(engine_alert a) {
  switch (a) {
  case ENGINE_ALERT_LIQUIDATION_NEAR: return "liquidation_near";
  case ENGINE_ALERT_LIQUIDATED: return "liquidated";
  case ENGINE_ALERT_STOP_NOT_CONFIRMED: return "stop_not_confirmed";
  case ENGINE_ALERT_EXCHANGE_ERROR: return "exchange_error";
  case ENGINE_ALERT_TAKE_PROFIT_MISSING: return "take_profit_missing";
  case ENGINE_ALERT_EXTERNAL_CHANGE: return "external_change";
  }
  return "unknown";
}

/* ==== State checks (P1-P7) ==== */

static int side_dir(lb_action a) { return a == LB_ACTION_LONG ? 1 : a == LB_ACTION_SHORT ? -1 : 0; }

#ifndef NDEBUG
static void pos_check(const engine *e) {
  const engine_pos *p = &e->pos;
  const engine_ledger *l = &e->led;
  assert(l->capital == l->initial + l->realized - l->fees + l->funding); /* P6 */
  switch (p->state) {
  case ENGINE_FLAT: /* P2 */
    assert(p->held == 0);
    assert(p->n_ord == 0);
    break;
  case ENGINE_ENTERING: /* P1, P3 */
    assert(p->sym >= 0 && p->sym < e->n_sym);
    assert(p->n_ord > 0 && p->ord[0].role == ROLE_ENTRY);
    assert(!p->stop_live);
    break;
  case ENGINE_OPEN: { /* P1, P4 */
    int d = side_dir(p->t.side);
    assert(p->sym >= 0 && p->sym < e->n_sym);
    assert(p->held != 0 && (p->held > 0) == (d > 0));
    assert(p->stop_live);
    assert(d > 0 ? p->t.initial_stop < p->t.entry_price : p->t.initial_stop > p->t.entry_price);
    assert(d > 0 ? p->t.stop >= p->t.initial_stop : p->t.stop <= p->t.initial_stop);
    break;
  }
  case ENGINE_EXITING:
    assert(p->sym >= 0 && p->sym < e->n_sym);
    break;
  }
}
#else
#define pos_check(e) ((void)0)
#endif

static void set_state(engine *e, engine_pos_state s) {
  e->pos.state = s;
  pos_check(e);
}

static void alert(engine *e, engine_alert kind, const char *symbol, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void alert(engine *e, engine_alert kind, const char *symbol, const char *fmt, ...) {
  if (!e->obs.on_alert) return;
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  e->obs.on_alert(e->obs.ctx, kind, symbol, e->now, msg);
}

/* ==== Ledger and tracked orders ==== */

static void book(engine *e, lb_dec realized, lb_dec fee, lb_dec funding) {
  e->led.realized += realized;
  e->led.fees += fee;
  e->led.funding += funding;
  e->led.capital = e->led.initial + e->led.realized - e->led.fees + e->led.funding;
}

static tracked *find_order(engine_pos *p, const char *cid) {
  for (int i = 0; i < p->n_ord; i++)
    if (strcmp(p->ord[i].cid, cid) == 0) return &p->ord[i];
  return NULL;
}

/* Adds an order to the table; drops the oldest finished stop that never
 * filled when the table is full (trailing replaces stops many times). */
static tracked *track(engine_pos *p, const char *cid, order_role role, lb_dec trigger) {
  if (p->n_ord == MAX_TRACKED) {
    for (int i = 1; i < p->n_ord; i++) {
      tracked *o = &p->ord[i];
      if (o->role == ROLE_OLD_STOP && o->filled == 0 && o->status != XCHG_ST_NEW) {
        memmove(o, o + 1, (size_t)(p->n_ord - i - 1) * sizeof *o);
        p->n_ord--;
        break;
      }
    }
    if (p->n_ord == MAX_TRACKED) return NULL;
  }
  tracked *o = &p->ord[p->n_ord++];
  memset(o, 0, sizeof *o);
  snprintf(o->cid, sizeof o->cid, "%s", cid);
  o->role = role;
  o->status = XCHG_ST_NEW;
  o->trigger = trigger;
  return o;
}

static void make_cid(const engine *e, char *out, const char *suffix, int n) {
  if (n > 0)
    snprintf(out, XCHG_ID_MAX, "%s-%ld-%s%d", e->p.cid_prefix, e->pos.t.id, suffix, n);
  else
    snprintf(out, XCHG_ID_MAX, "%s-%ld-%s", e->p.cid_prefix, e->pos.t.id, suffix);
}

/* ==== Exchange calls with the contract's retry rules ==== */

/* Places r; RETRYABLE is retried with the same client id (contract 1);
 * UNKNOWN is resolved by query().  Returns the final kind. */
static xchg_kind place_checked(engine *e, const xchg_order_req *r, xchg_order *out,
                               xchg_error *err) {
  xchg_kind k = XCHG_RETRYABLE;
  for (int a = 0; a < PLACE_ATTEMPTS && k == XCHG_RETRYABLE; a++) {
    k = xchg_place(e->x, r, out, err);
    if (k == XCHG_UNKNOWN) {
      xchg_error qe;
      k = xchg_query(e->x, r->symbol, r->client_id, out, &qe) == XCHG_OK ? XCHG_OK : XCHG_RETRYABLE;
    }
  }
  if (k != XCHG_OK) e->cnt.exchange_errors++;
  if (k == XCHG_OK && e->obs.on_order) e->obs.on_order(e->obs.ctx, out, e->pos.t.id);
  return k;
}

static void cancel_quiet(engine *e, tracked *o) {
  if (o->status != XCHG_ST_NEW && o->status != XCHG_ST_PARTIALLY_FILLED) return;
  xchg_error err;
  o->canceling = true;
  if (xchg_cancel(e->x, e->sym[e->pos.sym].symbol, o->cid, &err) == XCHG_OK)
    o->status = XCHG_ST_CANCELED;
}

static xchg_order_req make_req(engine *e, const char *cid, xchg_type type, bool reduce,
                               lb_dec qty, lb_dec trigger) {
  xchg_order_req r;
  memset(&r, 0, sizeof r);
  snprintf(r.symbol, sizeof r.symbol, "%s", e->sym[e->pos.sym].symbol);
  snprintf(r.client_id, sizeof r.client_id, "%s", cid);
  int d = side_dir(e->pos.t.side);
  bool buy = reduce ? d < 0 : d > 0;
  r.side = buy ? XCHG_BUY : XCHG_SELL;
  r.type = type;
  r.qty = qty;
  r.trigger_price = trigger;
  r.reduce_only = reduce;
  return r;
}

/* One line of why a scan ended as it did (texts from analysts and risk
 * may be long: truncated, never overflowed). */
static void set_detail(engine_scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_detail(engine_scan *s, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->detail, sizeof s->detail, fmt, ap);
  va_end(ap);
}

/* ==== Transitions ==== */

static void apply_order(engine *e, const xchg_order *o, lb_ms t);

static void pos_reset(engine *e) {
  engine_pos *p = &e->pos;
  memset(p, 0, sizeof *p);
  p->state = ENGINE_FLAT;
  p->sym = -1;
}

/* ENTERING -> FLAT */
static void pos_entry_failed(engine *e, const char *why) {
  e->cnt.failed_entries++;
  alert(e, ENGINE_ALERT_EXCHANGE_ERROR, e->sym[e->pos.sym].symbol, "entry of trade %ld failed: %s",
        e->pos.t.id, why);
  e->pos.n_ord = 0;
  pos_reset(e);
  set_state(e, ENGINE_FLAT);
}

static void pos_finish(engine *e);

/* -> EXITING: a reduce-only market order for what is held. */
static void pos_close(engine *e, engine_exit_reason reason) {
  engine_pos *p = &e->pos;
  if (p->state == ENGINE_FLAT) return;
  if (p->reason == ENGINE_EXIT_NONE) p->reason = reason;
  set_state(e, ENGINE_EXITING);
  if (p->held == 0) {
    pos_finish(e);
    return;
  }
  for (int i = 0; i < p->n_ord; i++) /* an exit in flight already? */
    if (p->ord[i].role == ROLE_EXIT && p->ord[i].status == XCHG_ST_NEW) return;
  char cid[XCHG_ID_MAX];
  make_cid(e, cid, "X", ++p->exit_version > 1 ? p->exit_version : 0);
  if (!track(p, cid, ROLE_EXIT, 0)) return;
  xchg_order_req r = make_req(e, cid, XCHG_MARKET, true, lb_dec_abs(p->held), 0);
  xchg_order out;
  xchg_error err;
  xchg_kind k = place_checked(e, &r, &out, &err);
  if (k == XCHG_OK) {
    apply_order(e, &out, e->now);
    return;
  }
  find_order(p, cid)->status = XCHG_ST_REJECTED;
  alert(e, ENGINE_ALERT_EXCHANGE_ERROR, r.symbol,
        "closing trade %ld failed (%s: %s); will retry on the next price", p->t.id,
        xchg_kind_name(k), err.msg);
}

/* ENTERING -> OPEN, or ENTERING -> EXITING when the stop cannot be confirmed. */
static void pos_protect(engine *e) {
  engine_pos *p = &e->pos;
  engine_trade *t = &p->t;
  const char *symbol = e->sym[p->sym].symbol;
  t->qty = lb_dec_abs(p->held);
  if (lb_dec_div(p->entry_notional, p->entry_qty, LB_ROUND_HALF_EVEN, &t->entry_price) != LB_OK)
    t->entry_price = p->plan.entry;
  t->entry_time = e->now;
  e->cnt.entries++;
  if (e->obs.on_trade_opened) e->obs.on_trade_opened(e->obs.ctx, t);

  int d = side_dir(t->side);
  bool protective = d > 0 ? p->plan.stop < t->entry_price : p->plan.stop > t->entry_price;
  char cid[XCHG_ID_MAX];
  make_cid(e, cid, "S", ++p->stop_version);
  xchg_kind k = XCHG_REJECTED;
  xchg_error err;
  snprintf(err.msg, sizeof err.msg, "stop %s the entry fill", d > 0 ? "not below" : "not above");
  if (protective && track(p, cid, ROLE_STOP, p->plan.stop)) {
    xchg_order_req r = make_req(e, cid, XCHG_STOP_MARKET, true, t->qty, p->plan.stop);
    xchg_order out;
    k = place_checked(e, &r, &out, &err);
    if (k != XCHG_OK) find_order(p, cid)->status = XCHG_ST_REJECTED;
  }
  if (k != XCHG_OK) {
    e->cnt.no_stop_closes++;
    alert(e, ENGINE_ALERT_STOP_NOT_CONFIRMED, symbol,
          "trade %ld: stop-loss at %.8g not confirmed (%s: %s): closing the position at once",
          t->id, lb_dec_to_double(p->plan.stop), xchg_kind_name(k), err.msg);
    pos_close(e, ENGINE_EXIT_NO_STOP);
    return;
  }
  p->stop_live = true;
  t->stop = t->initial_stop = p->plan.stop;
  lb_errbuf eb;
  p->trail_ok = risk_trail_init(&p->trail, t->side, t->entry_price, t->stop, &eb) == LB_OK;
  set_state(e, ENGINE_OPEN);

  make_cid(e, cid, "T", 0);
  if (p->plan.take_profit > 0 && track(p, cid, ROLE_TP, p->plan.take_profit)) {
    xchg_order_req r = make_req(e, cid, XCHG_TAKE_PROFIT_MARKET, true, t->qty, p->plan.take_profit);
    xchg_order out;
    k = place_checked(e, &r, &out, &err);
    if (k != XCHG_OK) {
      find_order(p, cid)->status = XCHG_ST_REJECTED;
      alert(e, ENGINE_ALERT_TAKE_PROFIT_MISSING, symbol,
            "trade %ld: take-profit at %.8g not placed (%s: %s); the stop protects the position",
            t->id, lb_dec_to_double(p->plan.take_profit), xchg_kind_name(k), err.msg);
    }
  }
}

static void breaker_events(engine *e, const risk_breaker_events *ev) {
  for (int i = 0; i < ev->n; i++) {
    if (ev->ev[i].trip) e->cnt.breaker_trips++;
    if (e->obs.on_breaker) e->obs.on_breaker(e->obs.ctx, &ev->ev[i]);
  }
}

/* EXITING -> FLAT: the position is flat; book the trade. */
static void pos_finish(engine *e) {
  engine_pos *p = &e->pos;
  engine_trade *t = &p->t;
  for (int i = 0; i < p->n_ord; i++) cancel_quiet(e, &p->ord[i]);
  t->exit_time = e->now;
  t->exit_reason = p->reason == ENGINE_EXIT_NONE ? ENGINE_EXIT_EXTERNAL : p->reason;
  if (p->exit_qty > 0)
    lb_dec_div(p->exit_notional, p->exit_qty, LB_ROUND_HALF_EVEN, &t->exit_price);
  if (p->exit_trigger > 0 && t->exit_price > 0) {
    /* worse than the trigger by more than the expected slippage and one
     * tick of rounding: the price jumped over the trigger (a gap) */
    double slip = e->p.slippage, trig = lb_dec_to_double(p->exit_trigger);
    double tick = lb_dec_to_double(e->sym[p->sym].rules.tick_size);
    double fill = lb_dec_to_double(t->exit_price);
    int d = side_dir(t->side); /* a long's exit sells: worse is lower */
    t->gap_exit = d > 0 ? fill < trig * (1 - slip) - tick - 1e-9 : fill > trig * (1 + slip) + tick + 1e-9;
  }
  e->cnt.trades_closed++;
  if (t->exit_reason == ENGINE_EXIT_LIQUIDATION) e->cnt.liquidations++;
  if (e->obs.on_trade_closed) e->obs.on_trade_closed(e->obs.ctx, t);
  if (e->brk_ready) {
    risk_breaker_events ev;
    lb_errbuf eb;
    if (risk_breakers_on_trade(&e->brk, &e->p.risk, e->now, engine_trade_net(t), &ev, &eb) == LB_OK)
      breaker_events(e, &ev);
    if (risk_breakers_on_equity(&e->brk, &e->p.risk, e->now, e->led.capital, &ev, &eb) == LB_OK)
      breaker_events(e, &ev);
  }
  p->n_ord = 0;
  p->held = 0;
  pos_reset(e);
  set_state(e, ENGINE_FLAT);
}

/* OPEN -> OPEN: place the tighter stop, then cancel the old one.  If the
 * new stop is refused the old one still protects the position. */
static void pos_trail(engine *e, const risk_stop_intent *in) {
  engine_pos *p = &e->pos;
  engine_trade *t = &p->t;
  char cid[XCHG_ID_MAX], old_cid[XCHG_ID_MAX] = "";
  for (int i = 0; i < p->n_ord; i++)
    if (p->ord[i].role == ROLE_STOP) snprintf(old_cid, sizeof old_cid, "%s", p->ord[i].cid);
  make_cid(e, cid, "S", p->stop_version + 1);
  tracked *nw = track(p, cid, ROLE_STOP, in->to);
  if (!nw) {
    p->trail.stop = in->from;
    return;
  }
  xchg_order_req r = make_req(e, cid, XCHG_STOP_MARKET, true, lb_dec_abs(p->held), in->to);
  xchg_order out;
  xchg_error err;
  if (place_checked(e, &r, &out, &err) != XCHG_OK) {
    nw = find_order(p, cid);
    nw->status = XCHG_ST_REJECTED;
    nw->role = ROLE_OLD_STOP;
    p->trail.stop = in->from; /* P5: nothing moved; the old stop still protects */
    return;
  }
  p->stop_version++;
  tracked *old = old_cid[0] ? find_order(p, old_cid) : NULL;
  if (old) {
    old->role = ROLE_OLD_STOP;
    cancel_quiet(e, old);
  }
  lb_dec from = t->stop;
  assert(side_dir(t->side) > 0 ? in->to > from : in->to < from); /* P5 */
  t->stop = in->to;
  t->stop_moves++;
  e->cnt.stop_moves++;
  if (e->obs.on_stop_moved) e->obs.on_stop_moved(e->obs.ctx, t, from, in->to, e->now);
  pos_check(e);
}

/* FLAT -> ENTERING (and on, synchronously, when the venue fills at once). */
static bool pos_enter(engine *e, engine_scan *s) {
  engine_pos *p = &e->pos;
  engine_sym *y = &e->sym[s->sym];
  pos_reset(e);
  p->sym = s->sym;
  p->plan = s->plan;
  p->decision = s->consensus.decision;
  p->market = s->market;
  engine_trade *t = &p->t;
  t->id = e->next_trade++;
  snprintf(t->symbol, sizeof t->symbol, "%s", y->symbol);
  t->side = s->plan.side;
  t->leverage = s->plan.leverage;
  t->stop = t->initial_stop = s->plan.stop;
  t->take_profit = s->plan.take_profit;
  t->liquidation = s->plan.liquidation;
  t->margin = s->plan.margin;
  t->loss_at_stop = s->plan.loss_at_stop;
  t->capital_at_entry = e->led.capital;
  t->planned_rr = s->plan.rr;
  t->confidence = s->consensus.decision.confidence;
  t->regime = s->consensus.decision.regime;

  xchg_error err;
  xchg_kind k = e->x->ops->set_leverage(e->x, y->symbol, s->plan.leverage, &err);
  if (k == XCHG_OK) k = e->x->ops->set_isolated(e->x, y->symbol, &err);
  if (k != XCHG_OK) {
    e->cnt.exchange_errors++;
    e->cnt.failed_entries++;
    set_detail(s, "leverage/margin mode refused: %s", err.msg);
    pos_reset(e);
    return false;
  }
  char cid[XCHG_ID_MAX];
  make_cid(e, cid, "E", 0);
  track(p, cid, ROLE_ENTRY, 0);
  set_state(e, ENGINE_ENTERING);
  xchg_order_req r = make_req(e, cid, XCHG_MARKET, false, s->plan.qty, 0);
  xchg_order out;
  k = place_checked(e, &r, &out, &err);
  if (k != XCHG_OK) {
    set_detail(s, "entry refused by the exchange (%s): %s",
             xchg_kind_name(k), err.msg);
    pos_entry_failed(e, err.msg);
    return false;
  }
  apply_order(e, &out, e->now);
  return true;
}

/* ==== Exchange events ==== */

static bool is_final(xchg_status s) {
  return s == XCHG_ST_FILLED || s == XCHG_ST_CANCELED || s == XCHG_ST_EXPIRED ||
         s == XCHG_ST_REJECTED;
}

/* Books what an order update adds to what was booked, then lets the state
 * machine react (the transitions of the table). */
static void apply_order(engine *e, const xchg_order *o, lb_ms t) {
  engine_pos *p = &e->pos;
  if (p->state == ENGINE_FLAT || p->sym < 0 || strcmp(o->symbol, e->sym[p->sym].symbol) != 0) {
    /* an order of a trade already closed (a late cancel or expiry) is
     * expected; an execution nobody here asked for is not */
    bool ours = strncmp(o->client_id, e->p.cid_prefix, strlen(e->p.cid_prefix)) == 0;
    if (!ours && o->filled_qty > 0)
      alert(e, ENGINE_ALERT_EXTERNAL_CHANGE, o->symbol,
            "an order levbot did not place (%s) filled while levbot holds nothing on %s: not booked",
            o->client_id, o->symbol);
    return;
  }
  tracked *tr = find_order(p, o->client_id);
  if (!tr) {
    if (o->filled_qty == 0) return;
    tr = track(p, o->client_id, ROLE_OTHER, 0);
    if (!tr) return;
    alert(e, ENGINE_ALERT_EXTERNAL_CHANGE, o->symbol, "an order levbot did not place (%s) filled",
          o->client_id);
  }
  if (t > e->now) e->now = t;
  lb_dec dq = o->filled_qty - tr->filled;
  lb_dec dfee = o->fee - tr->fee, dreal = o->realized_pnl - tr->realized;
  if (dq < 0) return; /* older than what was booked */
  if (dq > 0 || dfee != 0 || dreal != 0) {
    lb_dec cum_notional = 0;
    if (lb_dec_mul(o->avg_price, o->filled_qty, LB_ROUND_HALF_EVEN, &cum_notional) != LB_OK)
      cum_notional = tr->notional;
    lb_dec dn = cum_notional - tr->notional;
    tr->filled = o->filled_qty;
    tr->fee = o->fee;
    tr->realized = o->realized_pnl;
    tr->notional = cum_notional;
    book(e, dreal, dfee, 0);
    p->t.realized_pnl += dreal;
    p->t.fees += dfee;
    if (e->obs.on_fill) {
      xchg_fill f;
      memset(&f, 0, sizeof f);
      snprintf(f.symbol, sizeof f.symbol, "%s", o->symbol);
      snprintf(f.client_id, sizeof f.client_id, "%s", o->client_id);
      f.side = o->side;
      f.qty = dq;
      if (dq > 0) lb_dec_div(dn, dq, LB_ROUND_HALF_EVEN, &f.price);
      f.fee = dfee;
      f.realized_pnl = dreal;
      f.time = t;
      e->obs.on_fill(e->obs.ctx, &f, p->t.id);
    }
    int dir = o->side == XCHG_BUY ? 1 : -1;
    bool reducing = p->held != 0 && (p->held > 0) != (dir > 0);
    p->held += dir * dq;
    if (reducing) {
      p->exit_qty += dq;
      p->exit_notional += dn;
    } else {
      p->entry_qty += dq;
      p->entry_notional += dn;
    }
    if (reducing && p->state == ENGINE_OPEN) {
      p->reason = tr->role == ROLE_TP                            ? ENGINE_EXIT_TAKE_PROFIT
                  : tr->role == ROLE_STOP && p->t.stop != p->t.initial_stop ? ENGINE_EXIT_TRAILING_STOP
                  : tr->role == ROLE_STOP || tr->role == ROLE_OLD_STOP ? ENGINE_EXIT_STOP
                                                                       : ENGINE_EXIT_EXTERNAL;
      p->exit_trigger = tr->trigger;
      p->stop_live = false;
      set_state(e, ENGINE_EXITING);
    }
  }
  if (!is_final(tr->status) || is_final(o->status)) tr->status = o->status; /* never regress */

  switch (p->state) {
  case ENGINE_ENTERING:
    if (tr->role == ROLE_ENTRY && is_final(o->status)) {
      if (p->held == 0) pos_entry_failed(e, xchg_status_name(o->status));
      else pos_protect(e);
    }
    break;
  case ENGINE_OPEN:
    if (tr->role == ROLE_STOP && !tr->canceling &&
        (o->status == XCHG_ST_CANCELED || o->status == XCHG_ST_EXPIRED ||
         o->status == XCHG_ST_REJECTED)) {
      e->cnt.no_stop_closes++;
      p->stop_live = false;
      alert(e, ENGINE_ALERT_STOP_NOT_CONFIRMED, o->symbol,
            "trade %ld: the stop-loss %s was %s on the exchange: closing at once", p->t.id, tr->cid,
            xchg_status_name(o->status));
      p->state = ENGINE_EXITING; /* P4 no longer holds: leave OPEN first */
      pos_close(e, ENGINE_EXIT_NO_STOP);
    }
    break;
  case ENGINE_EXITING:
    if (p->held == 0) pos_finish(e);
    else if (tr->role != ROLE_EXIT && is_final(o->status) && tr->filled > 0) pos_close(e, p->reason);
    break;
  case ENGINE_FLAT: break;
  }
}

static void on_liquidation(engine *e, const xchg_event *ev) {
  engine_pos *p = &e->pos;
  e->now = ev->time > e->now ? ev->time : e->now;
  alert(e, ENGINE_ALERT_LIQUIDATED, ev->symbol,
        "LIQUIDATED: %s %s at %.8g, loss %.8g: a stop failed to protect the position",
        ev->symbol, xchg_side_name(ev->fill.side), lb_dec_to_double(ev->fill.price),
        lb_dec_to_double(ev->fill.realized_pnl));
  book(e, ev->fill.realized_pnl, ev->fill.fee, 0);
  if (p->state == ENGINE_FLAT || strcmp(ev->symbol, e->sym[p->sym].symbol) != 0) {
    alert(e, ENGINE_ALERT_EXTERNAL_CHANGE, ev->symbol, "liquidation of a position levbot did not hold");
    return;
  }
  p->t.realized_pnl += ev->fill.realized_pnl;
  p->t.fees += ev->fill.fee;
  int dir = ev->fill.side == XCHG_BUY ? 1 : -1;
  p->held += dir * ev->fill.qty;
  p->exit_qty += ev->fill.qty;
  lb_dec n = 0;
  lb_dec_mul(ev->fill.price, ev->fill.qty, LB_ROUND_HALF_EVEN, &n);
  p->exit_notional += n;
  p->reason = ENGINE_EXIT_LIQUIDATION;
  p->stop_live = false;
  set_state(e, ENGINE_EXITING);
  if (p->held == 0) pos_finish(e);
}

static void on_funding(engine *e, const xchg_event *ev) {
  engine_pos *p = &e->pos;
  book(e, 0, 0, ev->amount);
  if (p->state != ENGINE_FLAT && strcmp(ev->symbol, e->sym[p->sym].symbol) == 0)
    p->t.funding += ev->amount;
  else
    alert(e, ENGINE_ALERT_EXTERNAL_CHANGE, ev->symbol, "funding %.8g for a position levbot does not hold",
          lb_dec_to_double(ev->amount));
  if (e->obs.on_funding) e->obs.on_funding(e->obs.ctx, ev->symbol, ev->amount, ev->rate, ev->time);
}

static lb_err candle_apply(engine *e, int sym, lb_ms feed_tf, const data_candle *c, bool *scan_due);
static void mark_apply(engine *e, int sym, lb_ms time, lb_dec mark);

lb_err engine_poll(engine *e) {
  xchg_event ev[16];
  int n;
  while ((n = xchg_poll_events(e->x, ev, 16)) > 0) {
    for (int i = 0; i < n; i++) {
      switch (ev[i].type) {
      case XCHG_EV_FILL:
      case XCHG_EV_ORDER:
        apply_order(e, &ev[i].order, ev[i].time);
        break;
      case XCHG_EV_LIQUIDATION: on_liquidation(e, &ev[i]); break;
      case XCHG_EV_FUNDING: on_funding(e, &ev[i]); break;
      case XCHG_EV_CANDLE: { /* streamed candles (live): a scan may come due */
        int sym = engine_symbol_index(e, ev[i].symbol);
        bool due = false;
        if (sym >= 0 && candle_apply(e, sym, ev[i].timeframe, &ev[i].candle, &due) == LB_OK && due)
          e->due[sym] = ev[i].candle.ts + ev[i].timeframe;
        break;
      }
      case XCHG_EV_MARK: {
        int sym = engine_symbol_index(e, ev[i].symbol);
        if (sym >= 0 && ev[i].price > 0) mark_apply(e, sym, ev[i].time, ev[i].price);
        break;
      }
      default: break; /* positions and balances: the engine books fills, not snapshots */
      }
    }
  }
  return LB_OK;
}

/* ==== Candles and the position monitor ==== */

static const ta_view *sym_view(engine_sym *y, int i) {
  int64_t bars = ta_frame_bars(y->fr[i]);
  if (y->view_bars[i] != bars) {
    ta_frame_view(y->fr[i], &y->view[i]);
    y->view_bars[i] = bars;
  }
  return &y->view[i];
}

static lb_dec to_dec(double x) {
  lb_dec d = 0;
  return lb_dec_from_double(x, &d) == LB_OK ? d : 0;
}

/* Capital plus the open position's unrealized PnL at its last price. */
static lb_dec equity_now(const engine *e) {
  const engine_pos *p = &e->pos;
  lb_dec u = 0;
  if (p->state != ENGINE_FLAT && p->held != 0 &&
      lb_dec_mul(to_dec(e->sym[p->sym].close) - p->t.entry_price, p->held, LB_ROUND_HALF_EVEN,
                 &u) != LB_OK)
    u = 0;
  return e->led.capital + u;
}

static void mark_equity(engine *e, engine_sym *y, lb_ms t) {
  if (!e->obs.on_equity) return;
  const engine_pos *p = &e->pos;
  if (p->state != ENGINE_FLAT && p->held != 0 && &e->sym[p->sym] != y)
    return; /* the position's own symbol marks equity */
  e->obs.on_equity(e->obs.ctx, t, e->led.capital, equity_now(e));
}

/* Trailing stop and liquidation distance for a price of the position's symbol. */
static void monitor(engine *e, engine_sym *y, lb_dec price) {
  engine_pos *p = &e->pos;
  if (p->state == ENGINE_EXITING && p->held != 0) { /* an exit that failed: try again */
    bool working = false;
    for (int i = 0; i < p->n_ord; i++)
      working |= p->ord[i].role == ROLE_EXIT && p->ord[i].status == XCHG_ST_NEW;
    if (!working) pos_close(e, p->reason);
    return;
  }
  if (p->state != ENGINE_OPEN) return;
  lb_dec lp = p->t.liquidation;
  if (lp > 0 && !p->liq_warned && price > 0) {
    double dist = fabs(lb_dec_to_double(price - lp)) / lb_dec_to_double(price);
    if (dist <= e->p.liq_warn) {
      p->liq_warned = true;
      alert(e, ENGINE_ALERT_LIQUIDATION_NEAR, y->symbol,
            "trade %ld: mark %.8g is %.2f%% from the liquidation price %.8g", p->t.id,
            lb_dec_to_double(price), dist * 100, lb_dec_to_double(lp));
    }
  }
  if (!p->trail_ok || !e->p.risk.trail_enabled) return;
  double atr = NAN;
  if (e->p.risk.trail_mode == RISK_TRAIL_ATR) {
    int64_t bars = ta_frame_bars(y->fr[0]);
    if (bars != y->atr_bars) {
      ta_values vals;
      ta_frame_values(y->fr[0], &vals);
      y->atr = vals.atr;
      y->atr_bars = bars;
    }
    atr = y->atr;
  }
  risk_stop_intent in;
  if (risk_trail_update(&p->trail, &e->p.risk, &y->rules, price, atr, &in)) pos_trail(e, &in);
}

/* A closed candle, without draining the exchange's events first (the
 * callers do: engine_on_candle, or engine_poll for streamed candles). */
static lb_err candle_apply(engine *e, int sym, lb_ms feed_tf, const data_candle *c, bool *scan_due) {
  if (scan_due) *scan_due = false;
  if (sym < 0 || sym >= e->n_sym || feed_tf <= 0) return LB_EINVAL;
  engine_sym *y = &e->sym[sym];
  if (y->feed_tf == 0) {
    for (int i = 0; i < e->p.n_tf; i++)
      if (e->p.timeframes[i] % feed_tf != 0) return LB_EINVAL;
    y->feed_tf = feed_tf;
    for (int i = 0; i < e->p.n_tf; i++) data_resampler_init(&y->rs[i], feed_tf, e->p.timeframes[i]);
  } else if (feed_tf != y->feed_tf) {
    return LB_EINVAL;
  }
  lb_ms close_t = c->ts + feed_tf;
  if (y->have_price && c->ts < y->close_time) return LB_EINVAL;
  e->cnt.candles++;
  if (!e->brk_ready) {
    risk_breakers_init(&e->brk, e->led.capital, c->ts);
    e->brk_ready = true;
  }
  if (close_t > e->now) e->now = close_t;
  y->close = c->close;
  y->close_time = close_t;
  y->have_price = true;

  for (int i = 0; i < e->p.n_tf; i++) {
    data_candle out[2];
    int n;
    if (e->p.timeframes[i] == feed_tf) {
      out[0] = *c;
      n = 1;
    } else {
      n = data_resampler_push(&y->rs[i], c, out);
    }
    for (int k = 0; k < n; k++) {
      lb_err rc = ta_frame_update(y->fr[i], &out[k]);
      if (rc) return rc;
      if (i == 0) y->entry_volume = out[k].volume;
      if (i == 0 && out[k].ts + e->p.timeframes[0] == close_t && scan_due) *scan_due = true;
    }
  }
  engine_pos *p = &e->pos;
  if (p->state != ENGINE_FLAT && p->sym == sym) monitor(e, y, to_dec(c->close));
  mark_equity(e, y, close_t);
  return LB_OK;
}

static void mark_apply(engine *e, int sym, lb_ms time, lb_dec mark) {
  if (time > e->now) e->now = time;
  engine_sym *y = &e->sym[sym];
  y->close = lb_dec_to_double(mark);
  y->have_price = true;
  if (e->pos.state != ENGINE_FLAT && e->pos.sym == sym) monitor(e, y, mark);
  mark_equity(e, y, time);
}

lb_err engine_on_candle(engine *e, int sym, lb_ms feed_tf, const data_candle *c, bool *scan_due) {
  if (scan_due) *scan_due = false;
  if (sym < 0 || sym >= e->n_sym) return LB_EINVAL;
  engine_poll(e); /* what the exchange did during this candle, at its own times */
  return candle_apply(e, sym, feed_tf, c, scan_due);
}

lb_err engine_on_mark(engine *e, int sym, lb_ms time, lb_dec mark) {
  if (sym < 0 || sym >= e->n_sym || mark <= 0) return LB_EINVAL;
  engine_poll(e);
  mark_apply(e, sym, time, mark);
  return LB_OK;
}

bool engine_next_scan(engine *e, int *sym, lb_ms *time) {
  int best = -1;
  for (int i = 0; i < e->n_sym; i++)
    if (e->due[i] && (best < 0 || e->due[i] < e->due[best])) best = i;
  if (best < 0) return false;
  *sym = best;
  *time = e->due[best];
  e->due[best] = 0;
  return true;
}

/* ==== Scans ==== */

static bool scan_end(engine *e, engine_scan *s, engine_scan_outcome o) {
  s->outcome = o;
  if (e->obs.on_scan) e->obs.on_scan(e->obs.ctx, s);
  return false;
}

bool engine_scan_prepare(engine *e, int sym, lb_ms now, engine_scan *s) {
  s->seq = ++e->scan_seq;
  s->sym = sym;
  s->time = now;
  s->n_votes = 0;
  s->detail[0] = '\0';
  s->outcome = ENGINE_SCAN_NONE;
  s->symbol[0] = '\0';
  memset(&s->flags, 0, sizeof s->flags);
  if (sym < 0 || sym >= e->n_sym) return scan_end(e, s, ENGINE_SCAN_FAILED);
  engine_sym *y = &e->sym[sym];
  snprintf(s->symbol, sizeof s->symbol, "%s", y->symbol);
  if (now > e->now) e->now = now;
  e->cnt.scans++;
  /* Breakers first: equity (with the open position's unrealized PnL) may
   * trip max_drawdown while a position is open; that blocks entries only. */
  /* breakers take time from e->now, which only moves forward (B3): an
   * exchange event stamped after the scan's time must not make them refuse */
  if (e->brk_ready) {
    risk_breaker_events ev;
    lb_errbuf eb;
    if (risk_breakers_on_equity(&e->brk, &e->p.risk, e->now, equity_now(e), &ev, &eb) == LB_OK)
      breaker_events(e, &ev);
  }
  if (e->pos.state != ENGINE_FLAT) {
    if (e->explain) set_detail(s, "trade %ld is %s", e->pos.t.id, engine_pos_state_name(e->pos.state));
    return scan_end(e, s, ENGINE_SCAN_BUSY);
  }
  if (e->brk_ready && risk_breakers_blocking(&e->brk, e->now)) {
    e->cnt.breaker_blocked++;
    if (e->explain) risk_breakers_describe(&e->brk, e->now, s->detail, sizeof s->detail);
    return scan_end(e, s, ENGINE_SCAN_BREAKER);
  }
  /* Cheapest first: RSI and volume need no market structure; then the
   * entry timeframe's view; the other timeframes only when both pass. */
  if (e->p.redflags.enabled) {
    ta_values vals;
    ta_frame_values(y->fr[0], &vals);
    if (strategy_redflags_quick(vals.rsi, y->entry_volume, vals.volume_sma, e->p.timeframes[0],
                                &e->p.redflags, &s->flags)) {
      e->cnt.red_flags[s->flags.first]++;
      if (e->explain) set_detail(s, "%s", s->flags.reason);
      return scan_end(e, s, ENGINE_SCAN_RED_FLAG);
    }
  }
  const ta_view *v0 = sym_view(y, 0);
  if (e->p.redflags.enabled && strategy_redflags_view(v0, &e->p.redflags, &s->flags)) {
    e->cnt.red_flags[s->flags.first]++;
    if (e->explain) set_detail(s, "%s", s->flags.reason);
    return scan_end(e, s, ENGINE_SCAN_RED_FLAG);
  }
  ta_snapshot *snap = &s->snap; /* what ta_snapshot_build makes, from the cached views */
  memset(snap, 0, offsetof(ta_snapshot, tf));
  snprintf(snap->symbol, sizeof snap->symbol, "%s", y->symbol);
  snap->ts = v0->ts;
  snap->n = e->p.n_tf;
  int trend[TA_MAX_TF];
  for (int i = 0; i < e->p.n_tf; i++) {
    snap->tf[i] = *sym_view(y, i);
    trend[i] = snap->tf[i].trend;
  }
  snap->confluence = ta_confluence(trend, snap->n, &snap->n_agree, &snap->n_up, &snap->n_down);
  if (strategy_redflags_check(snap, &e->p.redflags, &s->flags)) {
    e->cnt.red_flags[s->flags.first]++;
    if (e->explain) set_detail(s, "%s", s->flags.reason);
    return scan_end(e, s, ENGINE_SCAN_RED_FLAG);
  }
  strategy_context *ctx = &s->ctx;
  ctx->capital = e->led.capital;
  ctx->mark_price = to_dec(y->close);
  ctx->funding_rate = NAN;
  xchg_error err;
  lb_dec mark;
  double rate;
  if (e->x->ops->mark_price && e->x->ops->mark_price(e->x, y->symbol, &mark, &rate, &err) == XCHG_OK)
    ctx->funding_rate = rate;
  ctx->max_leverage = e->p.risk.max_leverage;
  ctx->min_stop = e->p.risk.min_stop;
  ctx->max_stop = e->p.risk.max_stop;
  ctx->max_risk_per_trade = e->p.risk.max_risk_per_trade;
  ctx->now = now;
  e->cnt.asked++;
  return true;
}

void engine_scan_ask(strategy_panel *panel, engine_scan *s) {
  s->n_votes = panel ? panel->ask(panel, &s->snap, &s->ctx, s->votes, STRATEGY_MAX_VOTERS) : 0;
  if (s->n_votes < 0) s->n_votes = 0;
  if (s->n_votes > STRATEGY_MAX_VOTERS) s->n_votes = STRATEGY_MAX_VOTERS;
}

/* The price the entry is expected to fill at: the last close moved by the
 * configured slippage against us, on the tick (what the sim will do). */
static lb_dec expected_fill(const engine *e, const engine_sym *y, lb_action side) {
  double px = y->close * (side == LB_ACTION_LONG ? 1 + e->p.slippage : 1 - e->p.slippage);
  return lb_rules_price_round(&y->rules, to_dec(px),
                              side == LB_ACTION_LONG ? LB_ROUND_CEIL : LB_ROUND_FLOOR);
}

lb_err engine_scan_apply(engine *e, engine_scan *s, lb_ms now) {
  if (now > e->now) e->now = now;
  if (s->sym < 0 || s->sym >= e->n_sym) return LB_EINVAL;
  if (e->pos.state != ENGINE_FLAT || (e->p.max_scan_age > 0 && now - s->time > e->p.max_scan_age)) {
    e->cnt.stale++;
    set_detail(s, "scan of %s at %lld is stale", s->symbol,
             (long long)s->time);
    scan_end(e, s, ENGINE_SCAN_STALE);
    return LB_OK;
  }
  engine_sym *y = &e->sym[s->sym];
  strategy_consensus_decide(s->votes, s->n_votes, &e->p.consensus, &s->consensus);
  lb_decision *d = &s->consensus.decision;
  if (d->action == LB_ACTION_HOLD) {
    e->cnt.holds++;
    set_detail(s, "%s", d->reasoning);
    scan_end(e, s, ENGINE_SCAN_HOLD);
    return LB_OK;
  }
  if (e->p.redflags.enabled && strategy_redflags_against(&s->snap.tf[0], d->action, s->detail,
                                                         sizeof s->detail)) {
    s->flags.mask |= 1u << STRATEGY_RF_DIVERGENCE;
    s->flags.first = STRATEGY_RF_DIVERGENCE;
    e->cnt.red_flags[STRATEGY_RF_DIVERGENCE]++;
    scan_end(e, s, ENGINE_SCAN_RED_FLAG);
    return LB_OK;
  }
  const ta_view *v = &s->snap.tf[0];
  risk_market *m = &s->market;
  memset(m, 0, sizeof *m);
  m->entry_price = expected_fill(e, y, d->action);
  m->atr = v->atr14;
  m->swing_low = v->swing_low;
  m->swing_high = v->swing_high;
  m->regime = v->regime;
  m->open_positions = 0;
  m->breaker_active = e->brk_ready && risk_breakers_blocking(&e->brk, e->now);
  risk_refusal rf = risk_plan_entry(e->led.capital, d, m, &y->rules, &y->br, &e->p.risk, &s->plan);
  lb_errbuf eb = {{0}};
  if (rf == RISK_OK)
    rf = risk_plan_check(&s->plan, e->led.capital, d, m, &y->rules, &y->br, &e->p.risk, &eb);
  if (rf != RISK_OK) {
    e->cnt.refusals[rf < RISK_REFUSAL__COUNT ? rf : RISK_INVALID_INPUT]++;
    s->plan.refusal = rf;
    set_detail(s, "%s: %s", risk_refusal_name(rf),
             eb.msg[0] ? eb.msg : s->plan.message);
    scan_end(e, s, ENGINE_SCAN_REFUSED);
    return LB_OK;
  }
  if (!pos_enter(e, s)) {
    scan_end(e, s, ENGINE_SCAN_FAILED);
    return LB_OK;
  }
  set_detail(s, "trade %ld: %s", e->pos.t.id ? e->pos.t.id : e->next_trade - 1,
           s->plan.message);
  scan_end(e, s, ENGINE_SCAN_ENTERED);
  return LB_OK;
}

lb_err engine_scan_run(engine *e, int sym, lb_ms now) {
  engine_scan *s = &e->scratch;
  if (!engine_scan_prepare(e, sym, now, s)) return LB_OK;
  engine_scan_ask(e->panel, s);
  return engine_scan_apply(e, s, now);
}

lb_err engine_close_position(engine *e, lb_ms now) {
  if (now > e->now) e->now = now;
  if (e->pos.state == ENGINE_FLAT) return LB_OK;
  if (e->pos.state == ENGINE_OPEN) e->pos.state = ENGINE_EXITING;
  pos_close(e, ENGINE_EXIT_MANUAL);
  return LB_OK;
}

lb_err engine_reset_breakers(engine *e, risk_breaker_kind kind, lb_ms now) {
  if (now > e->now) e->now = now;
  if (!e->brk_ready) return LB_OK;
  risk_breaker_events ev;
  lb_errbuf eb;
  lb_err rc = risk_breakers_reset(&e->brk, kind, e->now, &ev, &eb);
  if (rc == LB_OK) breaker_events(e, &ev);
  return rc;
}

/* ==== Outside events and restart recovery ==== */

static void breakers_ready(engine *e, lb_ms t) {
  if (e->brk_ready) return;
  risk_breakers_init(&e->brk, e->led.capital, t);
  e->brk_ready = true;
}

lb_err engine_on_failure(engine *e, risk_failure_source src, lb_ms now) {
  if (now > e->now) e->now = now;
  breakers_ready(e, e->now);
  risk_breaker_events ev;
  lb_errbuf eb;
  lb_err rc = risk_breakers_on_failure(&e->brk, &e->p.risk, e->now, src, &ev, &eb);
  if (rc == LB_OK) breaker_events(e, &ev);
  return rc;
}

lb_err engine_restore_breaker(engine *e, const risk_breaker_event *trip, lb_errbuf *eb) {
  breakers_ready(e, trip->time);
  return risk_breakers_restore(&e->brk, trip, eb);
}

lb_ms engine_time(const engine *e) { return e->now; }

static order_role adopt_role(engine_order_kind k) {
  switch (k) {
  case ENGINE_ORDER_ENTRY: return ROLE_ENTRY;
  case ENGINE_ORDER_STOP: return ROLE_OLD_STOP; /* the live one is promoted below */
  case ENGINE_ORDER_TAKE_PROFIT: return ROLE_TP;
  case ENGINE_ORDER_EXIT: return ROLE_EXIT;
  }
  return ROLE_OTHER;
}

/* The initial stop of an adopted trade: the caller's if it lies on the
 * protective side of the entry, else MIN_STOP_LOSS_PERCENT from the entry
 * (the tightest stop a plan may have), and never tighter than the stop held
 * now (P4: the current stop is no looser than the initial one). */
static lb_dec adopt_initial_stop(const engine *e, const engine_sym *y, const engine_trade *t) {
  int d = side_dir(t->side);
  lb_dec init = t->initial_stop;
  if (!(init > 0 && (d > 0 ? init < t->entry_price : init > t->entry_price))) {
    double px = lb_dec_to_double(t->entry_price) * (1 - d * e->p.risk.min_stop);
    init = lb_rules_price_round(&y->rules, to_dec(px), d > 0 ? LB_ROUND_FLOOR : LB_ROUND_CEIL);
  }
  if (d > 0 ? t->stop < init : t->stop > init) init = t->stop;
  return init;
}

/* Places the adopted trade's stop under a new client id; true when the
 * exchange has it open.  A client id used before the restart may come back
 * as that old order (finished): then the next version is tried. */
static bool adopt_place_stop(engine *e, lb_dec stop, xchg_error *err) {
  engine_pos *p = &e->pos;
  for (int attempt = 0; attempt < 3; attempt++) {
    char cid[XCHG_ID_MAX];
    make_cid(e, cid, "S", ++p->stop_version);
    tracked *o = track(p, cid, ROLE_STOP, stop);
    if (!o) return false;
    xchg_order_req r = make_req(e, cid, XCHG_STOP_MARKET, true, lb_dec_abs(p->held), stop);
    xchg_order out;
    xchg_kind k = place_checked(e, &r, &out, err);
    o = find_order(p, cid);
    if (k == XCHG_OK && (out.status == XCHG_ST_NEW || out.status == XCHG_ST_PARTIALLY_FILLED)) {
      o->status = out.status;
      return true;
    }
    o->role = ROLE_OLD_STOP;
    o->status = k == XCHG_OK ? out.status : XCHG_ST_REJECTED;
    if (k != XCHG_OK) return false;
  }
  return false;
}

lb_err engine_adopt(engine *e, const engine_adoption *a, lb_ms now, lb_errbuf *eb) {
  if (e->pos.state != ENGINE_FLAT)
    return lb_fail(eb, LB_ESTATE, "engine_adopt: trade %ld is %s", e->pos.t.id,
                   engine_pos_state_name(e->pos.state));
  if (a->sym < 0 || a->sym >= e->n_sym) return lb_fail(eb, LB_EINVAL, "engine_adopt: symbol %d", a->sym);
  const engine_trade *in = &a->trade;
  int d = side_dir(in->side);
  if (d == 0 || in->id < 1 || a->held == 0 || (a->held > 0) != (d > 0) || in->entry_price <= 0 ||
      a->n_orders < 0 || a->n_orders > ENGINE_ADOPT_MAX_ORDERS)
    return lb_fail(eb, LB_EINVAL, "engine_adopt: trade %ld: side, held %.8g, entry %.8g or orders invalid",
                   in->id, lb_dec_to_double(a->held), lb_dec_to_double(in->entry_price));
  if (now > e->now) e->now = now;
  engine_pos *p = &e->pos;
  engine_sym *y = &e->sym[a->sym];
  pos_reset(e);
  p->sym = a->sym;
  p->t = *in;
  engine_trade *t = &p->t;
  snprintf(t->symbol, sizeof t->symbol, "%s", y->symbol);
  t->exit_time = 0;
  t->exit_price = 0;
  t->exit_reason = ENGINE_EXIT_NONE;
  if (e->next_trade <= t->id) e->next_trade = t->id + 1;
  p->held = a->held;
  p->stop_version = a->stop_version;
  p->exit_version = a->exit_version;
  /* What was booked before the restart joins the ledger (P6). */
  book(e, t->realized_pnl, t->fees, t->funding);
  tracked *live_stop = NULL;
  bool live_tp = false, tp_seen = false;
  for (int i = 0; i < a->n_orders; i++) {
    const engine_adopt_order *ao = &a->orders[i];
    tracked *o = track(p, ao->client_id, adopt_role(ao->kind), ao->trigger);
    if (!o) break;
    o->status = ao->status;
    o->filled = ao->filled;
    o->fee = ao->fee;
    o->realized = ao->realized;
    lb_dec_mul(ao->avg_price, ao->filled, LB_ROUND_HALF_EVEN, &o->notional);
    if (ao->kind == ENGINE_ORDER_ENTRY) {
      p->entry_qty += ao->filled;
      p->entry_notional += o->notional;
    } else {
      p->exit_qty += ao->filled;
      p->exit_notional += o->notional;
    }
    bool open = ao->status == XCHG_ST_NEW || ao->status == XCHG_ST_PARTIALLY_FILLED;
    if (ao->kind == ENGINE_ORDER_STOP && open && ao->trigger > 0) live_stop = o;
    if (ao->kind == ENGINE_ORDER_TAKE_PROFIT) {
      tp_seen = true;
      live_tp |= open;
    }
  }
  if (t->qty <= 0) t->qty = p->entry_qty > 0 ? p->entry_qty : lb_dec_abs(p->held);
  if (t->entry_time <= 0) t->entry_time = e->now;
  if (live_stop) t->stop = live_stop->trigger;
  t->initial_stop = adopt_initial_stop(e, y, t);
  /* Every state but FLAT needs its orders tracked (P3); an adopted position
   * is EXITING until its stop is confirmed. */
  set_state(e, ENGINE_EXITING);
  xchg_error err;
  memset(&err, 0, sizeof err);
  snprintf(err.msg, sizeof err.msg, "no stop price known");
  bool protected_now = false;
  if (live_stop) {
    live_stop->role = ROLE_STOP;
    protected_now = true;
  } else if (t->stop > 0) {
    protected_now = adopt_place_stop(e, t->stop, &err);
  }
  if (!protected_now) {
    e->cnt.no_stop_closes++;
    alert(e, ENGINE_ALERT_STOP_NOT_CONFIRMED, y->symbol,
          "trade %ld adopted after a restart: stop-loss at %.8g not confirmed (%s): closing the "
          "position at once",
          t->id, lb_dec_to_double(t->stop), err.msg);
    pos_close(e, ENGINE_EXIT_NO_STOP);
    return LB_OK;
  }
  p->stop_live = true;
  lb_errbuf teb;
  p->trail_ok = risk_trail_init(&p->trail, t->side, t->entry_price, t->initial_stop, &teb) == LB_OK;
  if (p->trail_ok) {
    p->trail.stop = t->stop;
    p->trail.active = t->stop != t->initial_stop;
  }
  set_state(e, ENGINE_OPEN);
  if (!live_tp && t->take_profit > 0) {
    char cid[XCHG_ID_MAX];
    make_cid(e, cid, "T", 0);
    xchg_kind k = XCHG_REJECTED;
    snprintf(err.msg, sizeof err.msg, "it was placed before the restart and is no longer open");
    if (!tp_seen && track(p, cid, ROLE_TP, t->take_profit)) {
      xchg_order_req r = make_req(e, cid, XCHG_TAKE_PROFIT_MARKET, true, lb_dec_abs(p->held),
                                  t->take_profit);
      xchg_order out;
      k = place_checked(e, &r, &out, &err);
      if (k != XCHG_OK) find_order(p, cid)->status = XCHG_ST_REJECTED;
    }
    if (k != XCHG_OK)
      alert(e, ENGINE_ALERT_TAKE_PROFIT_MISSING, y->symbol,
            "trade %ld: take-profit at %.8g not placed (%s); the stop protects the position", t->id,
            lb_dec_to_double(t->take_profit), err.msg);
  }
  return LB_OK;
}

/* ==== Lifecycle and accessors ==== */

lb_err engine_new(const engine_params *p, xchg *x, strategy_panel *panel,
                  const engine_observer *obs, engine **out, lb_errbuf *eb) {
  *out = NULL;
  if (p->n_symbols < 1 || p->n_symbols > ENGINE_MAX_SYMBOLS)
    return lb_fail(eb, LB_EINVAL, "engine: %d symbols (allowed 1..%d)", p->n_symbols,
                   ENGINE_MAX_SYMBOLS);
  if (p->n_tf < 1 || p->n_tf > TA_MAX_TF)
    return lb_fail(eb, LB_EINVAL, "engine: %d timeframes (allowed 1..%d)", p->n_tf, TA_MAX_TF);
  for (int i = 1; i < p->n_tf; i++)
    if (p->timeframes[i] <= p->timeframes[i - 1])
      return lb_fail(eb, LB_EINVAL, "engine: timeframes must be ascending, entry first");
  if (p->initial_capital <= 0) return lb_fail(eb, LB_EINVAL, "engine: initial capital must be > 0");
  lb_err rc = risk_params_check(&p->risk, eb);
  if (rc) return rc;
  engine *e = calloc(1, sizeof *e);
  if (!e) return lb_fail(eb, LB_ENOMEM, "engine: out of memory");
  e->p = *p;
  if (!e->p.cid_prefix[0]) snprintf(e->p.cid_prefix, sizeof e->p.cid_prefix, "lb");
  e->x = x;
  e->panel = panel;
  if (obs) e->obs = *obs;
  e->explain = e->obs.on_scan != NULL;
  e->p.redflags.quiet = !e->explain;
  e->led.initial = e->led.capital = p->initial_capital;
  e->next_trade = p->first_trade_id > 0 ? p->first_trade_id : 1;
  pos_reset(e);
  e->n_sym = p->n_symbols;
  for (int i = 0; i < e->n_sym; i++) {
    engine_sym *y = &e->sym[i];
    snprintf(y->symbol, sizeof y->symbol, "%s", p->symbols[i]);
    xchg_error err;
    if (x->ops->symbol_rules(x, y->symbol, &y->rules, &err) != XCHG_OK ||
        x->ops->brackets(x, y->symbol, &y->br, &err) != XCHG_OK) {
      engine_free(e);
      return lb_fail(eb, LB_EREJECTED, "engine: %s: %s", p->symbols[i], err.msg);
    }
    y->atr_bars = -1;
    y->entry_volume = NAN;
    for (int k = 0; k < p->n_tf; k++) {
      y->view_bars[k] = -1;
      y->fr[k] = ta_frame_new(p->timeframes[k], &p->ta);
      if (!y->fr[k]) {
        engine_free(e);
        return lb_fail(eb, LB_EINVAL, "engine: indicator frame refused (check the TA parameters)");
      }
    }
  }
  *out = e;
  return LB_OK;
}

void engine_free(engine *e) {
  if (!e) return;
  for (int i = 0; i < ENGINE_MAX_SYMBOLS; i++)
    for (int k = 0; k < TA_MAX_TF; k++) ta_frame_free(e->sym[i].fr[k]);
  free(e);
}

int engine_symbol_index(const engine *e, const char *symbol) {
  for (int i = 0; i < e->n_sym; i++)
    if (strcmp(e->sym[i].symbol, symbol) == 0) return i;
  return -1;
}

void engine_get_ledger(const engine *e, engine_ledger *out) { *out = e->led; }

void engine_get_position(const engine *e, engine_position *out) {
  memset(out, 0, sizeof *out);
  out->state = e->pos.state;
  if (e->pos.state == ENGINE_FLAT) return;
  out->trade = e->pos.t;
  out->held = e->pos.held;
  const engine_sym *y = &e->sym[e->pos.sym];
  out->mark = to_dec(y->close);
  if (e->pos.held != 0)
    lb_dec_mul(out->mark - e->pos.t.entry_price, e->pos.held, LB_ROUND_HALF_EVEN, &out->unrealized);
}

void engine_get_counters(const engine *e, engine_counters *out) { *out = e->cnt; }

bool engine_breakers_blocking(const engine *e, lb_ms now) {
  return e->brk_ready && risk_breakers_blocking(&e->brk, now);
}
