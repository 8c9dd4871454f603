/* sim.c -- the simulated exchange (see sim.h for the fill model and invariants).
 *
 * Everything the venue keeps is here: the wallet, one isolated position and
 * the open conditional orders per symbol, a ring of recent orders and fills
 * (query(), fills_since()), and the queue of events poll_events() drains.
 * Money is lb_dec end to end; candle prices (double) become decimals on the
 * symbol's tick the moment they are used for a fill.
 *
 * The hot path is a candle for a symbol with no position and no orders: it
 * only records the close and advances the funding clock, so a backtest of
 * millions of candles spends its time in the strategy, not here.
 */
#include "exchange/sim.h"

#include "risk/risk.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_HISTORY 1024

typedef struct {
  xchg_order o;
  bool deaf; /* fault injection: accepted, never triggers */
} sim_order;

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  lb_symbol_rules rules;
  lb_bracket_table br;
  const data_funding_series *funding;
  int leverage;
  lb_dec qty;    /* signed */
  lb_dec entry;  /* average entry price */
  lb_dec margin; /* isolated margin */
  lb_dec lp;     /* liquidation price of the position, valid when lp_ok */
  bool lp_ok;    /* cleared whenever qty, entry or margin change */
  /* Quick test of a candle in doubles: nothing can happen unless the low
   * reaches `down` (the highest level that fires on a fall) or the high
   * reaches `up`.  Valid when reach_ok; cleared with lp_ok and whenever the
   * open orders change. */
  double down, up;
  bool reach_ok;
  double last;   /* current price as fed (close or mark) */
  bool have_price;
  lb_ms last_ts; /* open time of the last candle (ordering check) */
  lb_ms now;     /* time of the current price */
  lb_ms next_funding; /* next settlement not yet applied; -1 = unset */
  sim_order open[XCHG_SIM_MAX_OPEN];
  int n_open;
} sim_sym;

typedef struct {
  xchg x;
  xchg_sim_params p;
  sim_sym *sym;
  int n_sym;
  lb_dec wallet;
  xchg_sim_stats st;
  xchg_event *ev;
  size_t ev_head, ev_n, ev_cap;
  xchg_order hist[SIM_HISTORY];
  size_t hist_n; /* total ever written; ring index = n % SIM_HISTORY */
  xchg_fill fills[SIM_HISTORY];
  size_t fill_n;
  long next_order_id, next_trade_id;
  xchg_sim_fault fault;
  int fault_count;
  lb_err sticky; /* first internal arithmetic failure (overflow): reported by the feeder */
} sim;

static const xchg_ops sim_ops;

static sim *S(const xchg *x) { return (sim *)x->impl; }

bool xchg_is_sim(const xchg *x) { return x && x->ops == &sim_ops; }

void xchg_sim_params_default(xchg_sim_params *p) {
  memset(p, 0, sizeof *p);
  p->initial_balance = LB_DEC_INT(10000);
  p->taker_fee = 50000;    /* 0.0005 */
  p->maker_fee = 20000;    /* 0.0002 */
  p->slippage = 0;
  p->funding_rate = 10000; /* 0.0001 */
  p->funding_interval = XCHG_SIM_FUNDING_INTERVAL;
}

/* ==== Exact arithmetic helpers ==== */

/* Products and quotients that overflow are recorded once in s->sticky and
 * yield 0: with prices and sizes of real markets they cannot happen, and
 * the feeder reports the failure instead of trading on a wrapped number. */
static lb_dec mul(sim *s, lb_dec a, lb_dec b, lb_round m) {
  lb_dec r = 0;
  if (lb_dec_mul(a, b, m, &r) != LB_OK && !s->sticky) s->sticky = LB_EOVERFLOW;
  return r;
}

static lb_dec divd(sim *s, lb_dec a, lb_dec b, lb_round m) {
  lb_dec r = 0;
  if (lb_dec_div(a, b, m, &r) != LB_OK && !s->sticky) s->sticky = LB_EOVERFLOW;
  return r;
}

static lb_dec price_dec(sim *s, const sim_sym *y, double px) {
  lb_dec d = 0;
  if (lb_dec_from_double(px, &d) != LB_OK && !s->sticky) s->sticky = LB_ERANGE;
  return lb_rules_price_round(&y->rules, d, LB_ROUND_HALF_EVEN);
}

static int sgn(lb_dec v) { return (v > 0) - (v < 0); }

/* ==== Events and history ==== */

static xchg_event *ev_push(sim *s, xchg_event_type type, lb_ms t, const char *symbol) {
  if (s->ev_head > 0 && s->ev_head == s->ev_n) s->ev_head = s->ev_n = 0;
  if (s->ev_n == s->ev_cap) {
    if (s->ev_head > 0) { /* compact before growing */
      memmove(s->ev, s->ev + s->ev_head, (s->ev_n - s->ev_head) * sizeof *s->ev);
      s->ev_n -= s->ev_head;
      s->ev_head = 0;
    }
    if (s->ev_n == s->ev_cap) {
      size_t cap = s->ev_cap ? s->ev_cap * 2 : 64;
      xchg_event *n = realloc(s->ev, cap * sizeof *n);
      if (!n) {
        if (!s->sticky) s->sticky = LB_ENOMEM;
        return NULL;
      }
      s->ev = n;
      s->ev_cap = cap;
    }
  }
  xchg_event *e = &s->ev[s->ev_n++];
  memset(e, 0, sizeof *e);
  e->type = type;
  e->time = t;
  snprintf(e->symbol, sizeof e->symbol, "%s", symbol);
  return e;
}

static void hist_put(sim *s, const xchg_order *o) { s->hist[s->hist_n++ % SIM_HISTORY] = *o; }

static const xchg_order *hist_find(const sim *s, const char *symbol, const char *cid) {
  size_t n = s->hist_n < SIM_HISTORY ? s->hist_n : SIM_HISTORY;
  for (size_t k = 0; k < n; k++) {
    const xchg_order *o = &s->hist[(s->hist_n - 1 - k) % SIM_HISTORY];
    if (strcmp(o->client_id, cid) == 0 && (!symbol || strcmp(o->symbol, symbol) == 0)) return o;
  }
  return NULL;
}

static sim_sym *find_sym(sim *s, const char *symbol) {
  for (int i = 0; i < s->n_sym; i++)
    if (strcmp(s->sym[i].symbol, symbol) == 0) return &s->sym[i];
  return NULL;
}

int xchg_sim_symbol_index(const xchg *x, const char *symbol) {
  if (!xchg_is_sim(x)) return -1;
  sim *s = S(x);
  for (int i = 0; i < s->n_sym; i++)
    if (strcmp(s->sym[i].symbol, symbol) == 0) return i;
  return -1;
}

/* ==== Margin and liquidation (the venue's own rules) ==== */

/* Where margin + unrealized PnL falls to the maintenance margin: the
 * venue and the bot's risk module use the one formula (risk.h), so what
 * risk promises (the stop lies before liquidation) is what the sim
 * enforces.  0 when the position cannot be liquidated. */
static lb_dec liq_price(sim *s, sim_sym *y) {
  if (y->qty == 0) return 0;
  if (y->lp_ok) return y->lp;
  lb_dec lp = 0;
  lb_err rc = risk_liquidation_price_for(y->qty > 0 ? LB_ACTION_LONG : LB_ACTION_SHORT,
                                         lb_dec_abs(y->qty), y->entry, lb_dec_max(y->margin, 0),
                                         &y->br, NULL, &lp);
  if (rc != LB_OK && !s->sticky) s->sticky = rc;
  y->lp = lp;
  y->lp_ok = rc == LB_OK;
  return lp;
}

/* Where the position's margin is exactly used up (liquidation fill). */
static lb_dec bankruptcy_price(sim *s, const sim_sym *y) {
  lb_dec q = lb_dec_abs(y->qty);
  lb_dec per = divd(s, y->margin, q, LB_ROUND_HALF_EVEN);
  lb_dec p = y->qty > 0 ? y->entry - per : y->entry + per;
  if (p < 0) p = 0;
  return lb_rules_price_round(&y->rules, p, LB_ROUND_HALF_EVEN);
}

static lb_dec margin_total(const sim *s) {
  lb_dec m = 0;
  for (int i = 0; i < s->n_sym; i++) m += s->sym[i].margin;
  return m;
}

static void fill_position(sim *s, sim_sym *y, xchg_position *p) {
  memset(p, 0, sizeof *p);
  snprintf(p->symbol, sizeof p->symbol, "%s", y->symbol);
  p->qty = y->qty;
  p->entry_price = y->entry;
  p->mark_price = y->have_price ? price_dec(s, y, y->last) : 0;
  p->liquidation_price = liq_price(s, y);
  p->isolated_margin = y->margin;
  p->unrealized_pnl = y->qty ? mul(s, p->mark_price - y->entry, y->qty, LB_ROUND_HALF_EVEN) : 0;
  p->leverage = y->leverage;
  p->isolated = true;
  p->updated = y->now;
}

static void push_position(sim *s, sim_sym *y, lb_ms t) {
  xchg_event *e = ev_push(s, XCHG_EV_POSITION, t, y->symbol);
  if (e) fill_position(s, y, &e->position);
  e = ev_push(s, XCHG_EV_BALANCE, t, y->symbol);
  if (e) e->amount = s->wallet;
}

/* ==== Fills ==== */

/* Executes qty (> 0) of order o at price for symbol y: reduces the open
 * position first, opens (or adds to) a position with what is left, books
 * realized PnL and the taker fee, and queues FILL (or LIQUIDATION),
 * POSITION and BALANCE events.  Liquidation books -margin and no fee. */
static void execute(sim *s, sim_sym *y, xchg_order *o, lb_dec qty, lb_dec price, lb_ms t,
                    bool liquidation) {
  int dir = o->side == XCHG_BUY ? 1 : -1;
  lb_dec realized = 0, fee = 0;
  lb_dec rest = qty;
  y->lp_ok = y->reach_ok = false;
  if (y->qty != 0 && sgn(y->qty) != dir) {
    lb_dec held = lb_dec_abs(y->qty);
    lb_dec r = rest < held ? rest : held;
    if (liquidation) {
      realized = -y->margin;
    } else {
      realized = mul(s, price - y->entry, r, LB_ROUND_HALF_EVEN);
      if (y->qty < 0) realized = -realized;
    }
    lb_dec release = y->margin;
    if (r != held && lb_dec_muldiv(y->margin, r, held, LB_ROUND_HALF_EVEN, &release) != LB_OK &&
        !s->sticky)
      s->sticky = LB_EOVERFLOW;
    y->margin -= release;
    y->qty += dir * r;
    if (y->qty == 0) y->entry = 0;
    rest -= r;
  }
  if (rest > 0) {
    lb_dec notional = mul(s, price, rest, LB_ROUND_HALF_EVEN);
    lb_dec held = lb_dec_abs(y->qty);
    if (held == 0) {
      y->entry = price;
    } else { /* average entry, as the venue reports it */
      lb_dec old = mul(s, y->entry, held, LB_ROUND_HALF_EVEN);
      y->entry = divd(s, old + notional, held + rest, LB_ROUND_HALF_EVEN);
    }
    y->qty += dir * rest;
    y->margin += divd(s, notional, LB_DEC_INT(y->leverage), LB_ROUND_CEIL);
  }
  if (!liquidation)
    fee = mul(s, mul(s, price, qty, LB_ROUND_HALF_EVEN), s->p.taker_fee, LB_ROUND_HALF_EVEN);
  s->wallet += realized - fee;
  s->st.realized_pnl += realized;
  s->st.fees += fee;
  s->st.fills++;

  lb_dec prev_filled = o->filled_qty;
  o->filled_qty += qty;
  lb_dec avg_num = mul(s, o->avg_price, prev_filled, LB_ROUND_HALF_EVEN) +
                   mul(s, price, qty, LB_ROUND_HALF_EVEN);
  o->avg_price = lb_rules_price_round(&y->rules, divd(s, avg_num, o->filled_qty, LB_ROUND_HALF_EVEN),
                                      LB_ROUND_HALF_EVEN);
  o->fee += fee;
  o->realized_pnl += realized;
  o->status = XCHG_ST_FILLED;
  o->updated = t;
  if (o->qty == 0) o->qty = qty; /* close-position orders report what they closed */

  xchg_fill f;
  memset(&f, 0, sizeof f);
  snprintf(f.symbol, sizeof f.symbol, "%s", y->symbol);
  snprintf(f.client_id, sizeof f.client_id, "%s", o->client_id);
  snprintf(f.trade_id, sizeof f.trade_id, "simt-%ld", ++s->next_trade_id);
  f.side = o->side;
  f.qty = qty;
  f.price = price;
  f.fee = fee;
  f.realized_pnl = realized;
  f.time = t;
  s->fills[s->fill_n++ % SIM_HISTORY] = f;

  xchg_event *e = ev_push(s, liquidation ? XCHG_EV_LIQUIDATION : XCHG_EV_FILL, t, y->symbol);
  if (e) {
    e->order = *o;
    e->fill = f;
  }
  push_position(s, y, t);
}

/* The position went flat: what is left of its reduce-only orders expires. */
static void expire_reducing(sim *s, sim_sym *y, lb_ms t) {
  int k = 0;
  for (int i = 0; i < y->n_open; i++) {
    xchg_order *o = &y->open[i].o;
    if (y->qty == 0 && (o->reduce_only || o->close_position)) {
      o->status = XCHG_ST_EXPIRED;
      o->updated = t;
      hist_put(s, o);
      xchg_event *e = ev_push(s, XCHG_EV_ORDER, t, y->symbol);
      if (e) e->order = *o;
      s->st.expired++;
    } else {
      y->open[k++] = y->open[i];
    }
  }
  y->n_open = k;
  y->reach_ok = false;
}

static lb_dec slip(sim *s, const sim_sym *y, lb_dec px, xchg_side side) {
  if (s->p.slippage == 0) return px;
  lb_dec d = mul(s, px, s->p.slippage, LB_ROUND_HALF_EVEN);
  lb_dec p = side == XCHG_BUY ? px + d : px - d;
  if (p <= 0) p = y->rules.tick_size > 0 ? y->rules.tick_size : 1;
  return lb_rules_price_round(&y->rules, p, side == XCHG_BUY ? LB_ROUND_CEIL : LB_ROUND_FLOOR);
}

/* ==== Conditional orders on the price path ==== */

/* +1: the order fires when the price is >= trigger ("up"); -1: <= ("down"). */
static int trigger_dir(const xchg_order *o) {
  bool stop = o->type == XCHG_STOP_MARKET;
  if (o->side == XCHG_BUY) return stop ? 1 : -1;
  return stop ? -1 : 1;
}

static bool fires_at(const xchg_order *o, lb_dec px) {
  return trigger_dir(o) > 0 ? px >= o->trigger_price : px <= o->trigger_price;
}

static bool liq_at(const sim_sym *y, lb_dec lp, lb_dec px) { /* lp from liq_price() */
  if (lp <= 0) return false;
  return y->qty > 0 ? px <= lp : px >= lp;
}

/* Fires order i of y at price px (the trigger, or the open after a gap). */
static void fire(sim *s, sim_sym *y, int i, lb_dec px, lb_ms t, bool gap) {
  sim_order so = y->open[i];
  y->open[i] = y->open[--y->n_open];
  y->reach_ok = false;
  xchg_order *o = &so.o;
  lb_dec held = lb_dec_abs(y->qty);
  lb_dec qty = o->close_position ? held : lb_dec_min(o->qty, held);
  o->status = XCHG_ST_TRIGGERED;
  o->updated = t;
  xchg_event *e = ev_push(s, XCHG_EV_ORDER, t, y->symbol);
  if (e) e->order = *o;
  if (gap) s->st.gap_fills++;
  execute(s, y, o, qty, slip(s, y, px, o->side), t, false);
  hist_put(s, o);
  if (y->qty == 0) expire_reducing(s, y, t);
}

static void liquidate(sim *s, sim_sym *y, lb_ms t) {
  xchg_order o;
  memset(&o, 0, sizeof o);
  snprintf(o.symbol, sizeof o.symbol, "%s", y->symbol);
  snprintf(o.client_id, sizeof o.client_id, "autoclose-%ld", s->next_order_id + 1);
  snprintf(o.exchange_id, sizeof o.exchange_id, "sim-%ld", ++s->next_order_id);
  o.side = y->qty > 0 ? XCHG_SELL : XCHG_BUY;
  o.type = XCHG_MARKET;
  o.reduce_only = true;
  o.created = t;
  s->st.liquidations++;
  execute(s, y, &o, lb_dec_abs(y->qty), bankruptcy_price(s, y), t, true);
  hist_put(s, &o);
  expire_reducing(s, y, t);
}

/* Everything that holds at one price point (the open after a jump, or a
 * mark): liquidation first, then stops, then take-profits.  Returns true
 * if something happened. */
static bool settle_point(sim *s, sim_sym *y, lb_dec px, lb_ms t) {
  if (y->qty == 0) return false;
  lb_dec lp = liq_price(s, y);
  if (liq_at(y, lp, px)) {
    liquidate(s, y, t);
    return true;
  }
  for (int pass = 0; pass < 2; pass++) {
    xchg_type want = pass == 0 ? XCHG_STOP_MARKET : XCHG_TAKE_PROFIT_MARKET;
    for (int i = 0; i < y->n_open; i++) {
      xchg_order *o = &y->open[i].o;
      if (o->type != want || y->open[i].deaf || !fires_at(o, px)) continue;
      fire(s, y, i, px, t, true);
      return true;
    }
  }
  return false;
}

/* The first event on the segment a -> b (a != b), if any: the order or
 * the liquidation whose level the path meets first.  Ties go to the order
 * (it sits at that price already). */
static bool settle_segment(sim *s, sim_sym *y, lb_dec a, lb_dec b, lb_ms t) {
  if (y->qty == 0 || a == b) return false;
  int dir = b > a ? 1 : -1;
  int best = -1;
  lb_dec level = 0;
  for (int i = 0; i < y->n_open; i++) {
    const xchg_order *o = &y->open[i].o;
    if (y->open[i].deaf || trigger_dir(o) != dir) continue;
    lb_dec k = o->trigger_price;
    bool on = dir > 0 ? (k > a && k <= b) : (k < a && k >= b);
    if (!on) continue;
    if (best < 0 || (dir > 0 ? k < level : k > level)) {
      best = i;
      level = k;
    }
  }
  lb_dec lp = liq_price(s, y);
  bool liq_dir = (y->qty > 0 && dir < 0) || (y->qty < 0 && dir > 0);
  if (lp > 0 && liq_dir) {
    bool on = dir > 0 ? (lp > a && lp <= b) : (lp < a && lp >= b);
    if (on && (best < 0 || (dir > 0 ? lp < level : lp > level))) {
      liquidate(s, y, t);
      return true;
    }
  }
  if (best < 0) return false;
  fire(s, y, best, level, t, false);
  return true;
}

/* Levels in doubles, two ticks of slack for the rounding of candle prices
 * to the tick: the quick test may send a candle to the exact walk for
 * nothing, never skip one that would fire. */
static void compute_reach(sim *s, sim_sym *y) {
  double down = -INFINITY, up = INFINITY;
  for (int i = 0; i < y->n_open; i++) {
    if (y->open[i].deaf) continue;
    double k = lb_dec_to_double(y->open[i].o.trigger_price);
    if (trigger_dir(&y->open[i].o) < 0) down = k > down ? k : down;
    else up = k < up ? k : up;
  }
  lb_dec lp = liq_price(s, y);
  if (lp > 0) {
    double l = lb_dec_to_double(lp);
    if (y->qty > 0) down = l > down ? l : down;
    else up = l < up ? l : up;
  }
  double slack = 2 * lb_dec_to_double(y->rules.tick_size > 0 ? y->rules.tick_size : 1);
  y->down = down + slack;
  y->up = up - slack;
  y->reach_ok = true;
}

static void walk_path(sim *s, sim_sym *y, const data_candle *c, lb_ms t0, lb_ms t1) {
  if (!s->p.exact_walk) {
    if (!y->reach_ok) compute_reach(s, y);
    if (c->low > y->down && c->high < y->up) return;
  }
  lb_dec o = price_dec(s, y, c->open), h = price_dec(s, y, c->high), l = price_dec(s, y, c->low),
         cl = price_dec(s, y, c->close);
  /* The jump from the previous price to the open triggers at the open. */
  while (settle_point(s, y, o, t0)) {
  }
  if (y->qty == 0) return;
  lb_dec pts[4] = {o, y->qty > 0 ? l : h, y->qty > 0 ? h : l, cl};
  for (int k = 0; k < 3 && y->qty != 0; k++) {
    lb_dec a = pts[k];
    while (y->qty != 0 && settle_segment(s, y, a, pts[k + 1], t1)) {
    }
  }
}

/* ==== Funding ==== */

static lb_dec funding_rate_at(sim *s, const sim_sym *y, lb_ms t) {
  double r = y->funding ? data_funding_at(y->funding, t) : NAN;
  if (isnan(r)) return s->p.funding_rate;
  lb_dec d = 0;
  if (lb_dec_from_double(r, &d) != LB_OK && !s->sticky) s->sticky = LB_ERANGE;
  return d;
}

/* Applies every settlement strictly before `until` not applied yet, on
 * the position held now, at price px. */
static void settle_funding(sim *s, sim_sym *y, lb_ms until, double px, lb_ms t) {
  lb_ms iv = s->p.funding_interval;
  if (iv <= 0) return;
  if (y->next_funding < 0) y->next_funding = lb_time_floor(t + iv - 1, iv);
  while (y->next_funding < until) {
    lb_ms at = y->next_funding;
    y->next_funding += iv;
    if (y->qty == 0) continue;
    lb_dec rate = funding_rate_at(s, y, at);
    lb_dec mark = price_dec(s, y, px);
    lb_dec notional = mul(s, lb_dec_abs(y->qty), mark, LB_ROUND_HALF_EVEN);
    lb_dec pay = mul(s, notional, rate, LB_ROUND_HALF_EVEN);
    lb_dec amount = y->qty > 0 ? -pay : pay; /* longs pay a positive rate */
    s->wallet += amount;
    y->margin += amount;
    y->lp_ok = y->reach_ok = false;
    s->st.funding += amount;
    s->st.fundings++;
    xchg_event *e = ev_push(s, XCHG_EV_FUNDING, t, y->symbol);
    if (e) {
      e->amount = amount;
      e->rate = lb_dec_to_double(rate);
      e->price = mark;
    }
    push_position(s, y, t);
  }
}

/* ==== Feeder ==== */

lb_err xchg_sim_on_candle_at(xchg *x, int idx, lb_ms tf, const data_candle *c) {
  sim *s = S(x);
  if (idx < 0 || idx >= s->n_sym || tf <= 0) return LB_EINVAL;
  sim_sym *y = &s->sym[idx];
  if (y->have_price && c->ts <= y->last_ts) return LB_EINVAL;
  lb_ms t1 = c->ts + tf;
  if (y->next_funding < 0 || y->next_funding < t1) settle_funding(s, y, t1, c->open, c->ts);
  if (y->qty != 0) walk_path(s, y, c, c->ts, t1);
  y->last = c->close;
  y->have_price = true;
  y->last_ts = c->ts;
  y->now = t1;
  return s->sticky;
}

lb_err xchg_sim_on_candle(xchg *x, const char *symbol, lb_ms tf, const data_candle *c) {
  if (!xchg_is_sim(x)) return LB_EINVAL;
  return xchg_sim_on_candle_at(x, xchg_sim_symbol_index(x, symbol), tf, c);
}

lb_err xchg_sim_on_mark(xchg *x, const char *symbol, lb_ms t, lb_dec mark) {
  if (!xchg_is_sim(x)) return LB_EINVAL;
  sim *s = S(x);
  sim_sym *y = find_sym(s, symbol);
  if (!y || mark <= 0) return LB_EINVAL;
  if (y->have_price && t < y->now) return LB_EINVAL;
  double px = lb_dec_to_double(mark);
  settle_funding(s, y, t + 1, px, t);
  lb_dec m = lb_rules_price_round(&y->rules, mark, LB_ROUND_HALF_EVEN);
  while (settle_point(s, y, m, t)) {
  }
  y->last = px;
  y->have_price = true;
  y->last_ts = t;
  y->now = t;
  return s->sticky;
}

void xchg_sim_inject(xchg *x, xchg_sim_fault f, int count) {
  if (!xchg_is_sim(x)) return;
  S(x)->fault = count > 0 ? f : XCHG_SIM_FAULT_NONE;
  S(x)->fault_count = count;
}

void xchg_sim_get_stats(const xchg *x, xchg_sim_stats *out) {
  memset(out, 0, sizeof *out);
  if (!xchg_is_sim(x)) return;
  *out = S(x)->st;
  out->initial_balance = S(x)->p.initial_balance;
}

/* ==== Symbols ==== */

lb_err xchg_sim_add_symbol(xchg *x, const xchg_sim_symbol *d, lb_errbuf *eb) {
  if (!xchg_is_sim(x)) return lb_fail(eb, LB_EINVAL, "not a sim exchange");
  sim *s = S(x);
  if (!d->symbol[0]) return lb_fail(eb, LB_EINVAL, "sim: empty symbol name");
  if (find_sym(s, d->symbol)) return lb_fail(eb, LB_EEXISTS, "sim: symbol %s listed twice", d->symbol);
  if (s->n_sym >= XCHG_SIM_MAX_SYMBOLS)
    return lb_fail(eb, LB_ERANGE, "sim: more than %d symbols", XCHG_SIM_MAX_SYMBOLS);
  sim_sym *y = &s->sym[s->n_sym];
  memset(y, 0, sizeof *y);
  snprintf(y->symbol, sizeof y->symbol, "%s", d->symbol);
  if (d->rules) y->rules = *d->rules;
  else if (strcmp(d->symbol, "BTCUSDT") == 0) lb_rules_binance_btcusdt(&y->rules);
  else if (strcmp(d->symbol, "ETHUSDT") == 0) lb_rules_binance_ethusdt(&y->rules);
  else lb_rules_generic(&y->rules, d->symbol);
  snprintf(y->rules.symbol, sizeof y->rules.symbol, "%s", d->symbol);
  if (d->brackets) y->br = *d->brackets;
  else if (strcmp(d->symbol, "ETHUSDT") == 0) lb_brackets_binance_ethusdt(&y->br);
  else lb_brackets_binance_btcusdt(&y->br);
  snprintf(y->br.symbol, sizeof y->br.symbol, "%s", d->symbol);
  lb_err rc = lb_brackets_validate(&y->br, eb);
  if (rc) return rc;
  y->funding = d->funding;
  y->leverage = 1;
  y->next_funding = -1;
  s->n_sym++;
  return LB_OK;
}

/* ==== Ops ==== */

static xchg_kind no_symbol(xchg_error *err, const char *symbol) {
  return xchg_fail(err, XCHG_FATAL, -1121, "Invalid symbol %s (not listed in the simulator)",
                   symbol ? symbol : "(null)");
}

static xchg_kind op_symbol_rules(xchg *x, const char *symbol, lb_symbol_rules *out,
                                 xchg_error *err) {
  sim_sym *y = find_sym(S(x), symbol);
  if (!y) return no_symbol(err, symbol);
  *out = y->rules;
  return XCHG_OK;
}

static xchg_kind op_brackets(xchg *x, const char *symbol, lb_bracket_table *out, xchg_error *err) {
  sim_sym *y = find_sym(S(x), symbol);
  if (!y) return no_symbol(err, symbol);
  *out = y->br;
  return XCHG_OK;
}

static xchg_kind op_balance(xchg *x, xchg_balance *out, xchg_error *err) {
  (void)err;
  sim *s = S(x);
  memset(out, 0, sizeof *out);
  out->wallet_balance = s->wallet;
  out->available_balance = lb_dec_max(0, s->wallet - margin_total(s));
  for (int i = 0; i < s->n_sym; i++) {
    xchg_position p;
    fill_position(s, &s->sym[i], &p);
    out->unrealized_pnl += p.unrealized_pnl;
  }
  return XCHG_OK;
}

static xchg_kind op_position(xchg *x, const char *symbol, xchg_position *out, xchg_error *err) {
  sim_sym *y = find_sym(S(x), symbol);
  if (!y) return no_symbol(err, symbol);
  fill_position(S(x), y, out);
  return XCHG_OK;
}

static xchg_kind op_set_leverage(xchg *x, const char *symbol, int leverage, xchg_error *err) {
  sim_sym *y = find_sym(S(x), symbol);
  if (!y) return no_symbol(err, symbol);
  int max = y->br.n > 0 ? y->br.tier[0].max_leverage : 125;
  if (leverage < 1 || leverage > max)
    return xchg_fail(err, XCHG_REJECTED, -4028, "Leverage %d is not valid (1..%d for %s)", leverage,
                     max, symbol);
  if (y->qty != 0 && leverage != y->leverage)
    return xchg_fail(err, XCHG_REJECTED, -4161,
                     "the simulator does not change leverage of an open position (%s)", symbol);
  y->leverage = leverage;
  return XCHG_OK;
}

static xchg_kind op_set_isolated(xchg *x, const char *symbol, xchg_error *err) {
  /* The sim models isolated margin only: "already isolated" is success. */
  return find_sym(S(x), symbol) ? XCHG_OK : no_symbol(err, symbol);
}

static bool cid_taken(const sim *s, const char *cid) {
  for (int i = 0; i < s->n_sym; i++)
    for (int k = 0; k < s->sym[i].n_open; k++)
      if (strcmp(s->sym[i].open[k].o.client_id, cid) == 0) return true;
  return hist_find(s, NULL, cid) != NULL;
}

static bool take_fault(sim *s, xchg_sim_fault f) {
  if (s->fault != f || s->fault_count <= 0) return false;
  if (--s->fault_count == 0) s->fault = XCHG_SIM_FAULT_NONE;
  return true;
}

static void init_order(sim *s, const sim_sym *y, const xchg_order_req *r, xchg_order *o) {
  memset(o, 0, sizeof *o);
  snprintf(o->symbol, sizeof o->symbol, "%s", r->symbol);
  snprintf(o->client_id, sizeof o->client_id, "%s", r->client_id);
  snprintf(o->exchange_id, sizeof o->exchange_id, "sim-%ld", ++s->next_order_id);
  o->side = r->side;
  o->type = r->type;
  o->status = XCHG_ST_NEW;
  o->reduce_only = r->reduce_only || r->close_position;
  o->close_position = r->close_position;
  o->qty = r->qty;
  o->trigger_price = r->trigger_price;
  o->created = o->updated = y->now;
}

/* Initial margin and fee of the part of a market order that opens or adds. */
static xchg_kind check_margin(sim *s, const sim_sym *y, xchg_side side, lb_dec qty, lb_dec px,
                              xchg_error *err) {
  int dir = side == XCHG_BUY ? 1 : -1;
  lb_dec opening = qty;
  if (y->qty != 0 && sgn(y->qty) != dir) opening = qty - lb_dec_min(qty, lb_dec_abs(y->qty));
  if (opening <= 0) return XCHG_OK;
  lb_dec notional = mul(s, px, opening, LB_ROUND_HALF_EVEN);
  lb_dec pos_notional = notional + mul(s, y->entry, lb_dec_abs(y->qty), LB_ROUND_HALF_EVEN);
  lb_dec cap = 0;
  for (int i = 0; i < y->br.n; i++)
    if (y->br.tier[i].max_leverage >= y->leverage) cap = y->br.tier[i].notional_cap;
  if (cap > 0 && pos_notional > cap) {
    char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN];
    lb_dec_fmt(pos_notional, a, sizeof a);
    lb_dec_fmt(cap, b, sizeof b);
    return xchg_fail(err, XCHG_REJECTED, -2027,
                     "Exceeded the maximum allowable position at current leverage (%s > %s at %dx)",
                     a, b, y->leverage);
  }
  lb_dec need = divd(s, notional, LB_DEC_INT(y->leverage), LB_ROUND_CEIL) +
                mul(s, notional, s->p.taker_fee, LB_ROUND_HALF_EVEN);
  lb_dec avail = s->wallet - margin_total(s);
  if (need > avail) {
    char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN];
    lb_dec_fmt(need, a, sizeof a);
    lb_dec_fmt(avail, b, sizeof b);
    return xchg_fail(err, XCHG_REJECTED, -2019, "Margin is insufficient (need %s, available %s)",
                     a, b);
  }
  return XCHG_OK;
}

static xchg_kind place_market(sim *s, sim_sym *y, const xchg_order_req *r, xchg_order *out,
                              xchg_error *err) {
  if (take_fault(s, XCHG_SIM_FAULT_REJECT_MARKET))
    return xchg_fail(err, XCHG_REJECTED, -2010, "market order rejected (injected fault)");
  if (!y->have_price)
    return xchg_fail(err, XCHG_REJECTED, -1100, "%s: no market price yet", y->symbol);
  lb_dec qty = r->qty;
  bool reduce = r->reduce_only || r->close_position;
  if (reduce) {
    lb_dec held = lb_dec_abs(y->qty);
    int dir = r->side == XCHG_BUY ? 1 : -1;
    if (held == 0 || sgn(y->qty) == dir)
      return xchg_fail(err, XCHG_REJECTED, -2022, "ReduceOnly Order is rejected (%s has no %s position)",
                       y->symbol, dir > 0 ? "short" : "long");
    if (r->close_position || qty > held) qty = held;
  }
  lb_dec px = slip(s, y, price_dec(s, y, y->last), r->side);
  lb_errbuf eb;
  if (lb_rules_check_order(&y->rules, px, qty, true, reduce, &eb) != LB_OK)
    return xchg_fail(err, XCHG_REJECTED, -1013, "%s", eb.msg);
  xchg_kind k = check_margin(s, y, r->side, qty, px, err);
  if (k != XCHG_OK) return k;
  xchg_order o;
  init_order(s, y, r, &o);
  o.qty = qty;
  execute(s, y, &o, qty, px, y->now, false);
  hist_put(s, &o);
  if (y->qty == 0) expire_reducing(s, y, y->now);
  if (out) *out = o;
  return s->sticky ? xchg_fail(err, XCHG_FATAL, 0, "sim: arithmetic overflow") : XCHG_OK;
}

static xchg_kind place_conditional(sim *s, sim_sym *y, const xchg_order_req *r, xchg_order *out,
                                   xchg_error *err) {
  if (take_fault(s, XCHG_SIM_FAULT_REJECT_CONDITIONAL))
    return xchg_fail(err, XCHG_REJECTED, -4045, "conditional order rejected (injected fault)");
  if (take_fault(s, XCHG_SIM_FAULT_RETRY_CONDITIONAL))
    return xchg_fail(err, XCHG_RETRYABLE, -1007, "Timeout waiting for response (injected fault)");
  if (!r->reduce_only && !r->close_position)
    return xchg_fail(err, XCHG_REJECTED, -1106,
                     "the simulator accepts stop and take-profit orders only with reduceOnly or "
                     "closePosition");
  if (!y->have_price)
    return xchg_fail(err, XCHG_REJECTED, -1100, "%s: no market price yet", y->symbol);
  lb_errbuf eb;
  if (r->trigger_price <= 0 || !lb_dec_is_multiple(r->trigger_price, y->rules.tick_size)) {
    char a[LB_DEC_STRLEN];
    lb_dec_fmt(r->trigger_price, a, sizeof a);
    return xchg_fail(err, XCHG_REJECTED, -1111, "%s: stopPrice %s is not on the tick", y->symbol, a);
  }
  if (!r->close_position && lb_rules_check_order(&y->rules, 0, r->qty, true, true, &eb) != LB_OK)
    return xchg_fail(err, XCHG_REJECTED, -1013, "%s", eb.msg);
  if (y->n_open >= XCHG_SIM_MAX_OPEN)
    return xchg_fail(err, XCHG_REJECTED, -4045, "%s: too many open conditional orders", y->symbol);
  xchg_order o;
  init_order(s, y, r, &o);
  if (fires_at(&o, price_dec(s, y, y->last)))
    return xchg_fail(err, XCHG_REJECTED, -2021, "Order would immediately trigger.");
  sim_order so = {.o = o, .deaf = take_fault(s, XCHG_SIM_FAULT_DEAF_STOPS)};
  y->open[y->n_open++] = so;
  y->reach_ok = false;
  if (out) *out = o;
  return XCHG_OK;
}

static xchg_kind op_place(xchg *x, const xchg_order_req *r, xchg_order *out, xchg_error *err) {
  sim *s = S(x);
  sim_sym *y = find_sym(s, r->symbol);
  if (!y) return no_symbol(err, r->symbol);
  if (!xchg_client_id_valid(r->client_id))
    return xchg_fail(err, XCHG_REJECTED, -4015, "Client order id is not valid: \"%s\"", r->client_id);
  if (cid_taken(s, r->client_id))
    return xchg_fail(err, XCHG_REJECTED, -4116, "ClientOrderId is duplicated: %s", r->client_id);
  if (r->side != XCHG_BUY && r->side != XCHG_SELL)
    return xchg_fail(err, XCHG_REJECTED, -1117, "Invalid side %d", (int)r->side);
  s->st.orders++;
  switch (r->type) {
  case XCHG_MARKET: return place_market(s, y, r, out, err);
  case XCHG_STOP_MARKET:
  case XCHG_TAKE_PROFIT_MARKET: return place_conditional(s, y, r, out, err);
  default:
    return xchg_fail(err, XCHG_REJECTED, -1116, "order type %s is not supported by the simulator",
                     xchg_type_name(r->type));
  }
}

static xchg_kind op_cancel(xchg *x, const char *symbol, const char *cid, xchg_error *err) {
  sim *s = S(x);
  sim_sym *y = find_sym(s, symbol);
  if (!y) return no_symbol(err, symbol);
  for (int i = 0; i < y->n_open; i++) {
    xchg_order *o = &y->open[i].o;
    if (strcmp(o->client_id, cid) != 0) continue;
    o->status = XCHG_ST_CANCELED;
    o->updated = y->now;
    hist_put(s, o);
    xchg_event *e = ev_push(s, XCHG_EV_ORDER, y->now, y->symbol);
    if (e) e->order = *o;
    y->open[i] = y->open[--y->n_open];
    y->reach_ok = false;
    return XCHG_OK;
  }
  return xchg_fail(err, XCHG_REJECTED, -2011, "Unknown order sent (%s %s is not open)", symbol, cid);
}

static xchg_kind op_query(xchg *x, const char *symbol, const char *cid, xchg_order *out,
                          xchg_error *err) {
  sim *s = S(x);
  sim_sym *y = find_sym(s, symbol);
  if (!y) return no_symbol(err, symbol);
  for (int i = 0; i < y->n_open; i++)
    if (strcmp(y->open[i].o.client_id, cid) == 0) {
      *out = y->open[i].o;
      return XCHG_OK;
    }
  const xchg_order *o = hist_find(s, symbol, cid);
  if (!o) return xchg_fail(err, XCHG_REJECTED, -2013, "Order does not exist (%s %s)", symbol, cid);
  *out = *o;
  return XCHG_OK;
}

static xchg_kind op_open_orders(xchg *x, const char *symbol, xchg_order *out, int max, int *n,
                                xchg_error *err) {
  sim *s = S(x);
  *n = 0;
  if (symbol && !find_sym(s, symbol)) return no_symbol(err, symbol);
  for (int i = 0; i < s->n_sym; i++) {
    const sim_sym *y = &s->sym[i];
    if (symbol && strcmp(y->symbol, symbol) != 0) continue;
    for (int k = 0; k < y->n_open && *n < max; k++) out[(*n)++] = y->open[k].o;
  }
  return XCHG_OK;
}

static xchg_kind op_fills_since(xchg *x, const char *symbol, lb_ms since, xchg_fill *out, int max,
                                int *n, xchg_error *err) {
  sim *s = S(x);
  *n = 0;
  if (symbol && !find_sym(s, symbol)) return no_symbol(err, symbol);
  size_t have = s->fill_n < SIM_HISTORY ? s->fill_n : SIM_HISTORY;
  for (size_t k = s->fill_n - have; k < s->fill_n && *n < max; k++) {
    const xchg_fill *f = &s->fills[k % SIM_HISTORY];
    if (f->time >= since && (!symbol || strcmp(f->symbol, symbol) == 0)) out[(*n)++] = *f;
  }
  return XCHG_OK;
}

static xchg_kind op_mark_price(xchg *x, const char *symbol, lb_dec *mark, double *funding_rate,
                               xchg_error *err) {
  sim *s = S(x);
  sim_sym *y = find_sym(s, symbol);
  if (!y) return no_symbol(err, symbol);
  if (!y->have_price)
    return xchg_fail(err, XCHG_RETRYABLE, 0, "%s: no price fed to the simulator yet", symbol);
  *mark = price_dec(s, y, y->last);
  if (funding_rate) {
    lb_ms iv = s->p.funding_interval;
    lb_ms next = iv > 0 ? lb_time_floor(y->now + iv - 1, iv) : 0;
    *funding_rate = lb_dec_to_double(funding_rate_at(s, y, next));
  }
  return XCHG_OK;
}

static xchg_kind op_klines(xchg *x, const char *symbol, lb_ms tf, lb_ms start, lb_ms end,
                           data_series *out, xchg_error *err) {
  (void)x, (void)tf, (void)start, (void)end, (void)out;
  return xchg_fail(err, XCHG_REJECTED, 0,
                   "%s: the simulator keeps no candle history (its feeder supplies the candles)",
                   symbol);
}

static int op_poll_events(xchg *x, xchg_event *out, int max) {
  sim *s = S(x);
  int n = 0;
  while (n < max && s->ev_head < s->ev_n) out[n++] = s->ev[s->ev_head++];
  if (s->ev_head == s->ev_n) s->ev_head = s->ev_n = 0;
  return n;
}

static void op_destroy(xchg *x) {
  sim *s = S(x);
  free(s->ev);
  free(s->sym);
  free(s);
}

static const xchg_ops sim_ops = {
    .name = "sim",
    .symbol_rules = op_symbol_rules,
    .brackets = op_brackets,
    .balance = op_balance,
    .position = op_position,
    .set_leverage = op_set_leverage,
    .set_isolated = op_set_isolated,
    .place = op_place,
    .cancel = op_cancel,
    .query = op_query,
    .open_orders = op_open_orders,
    .fills_since = op_fills_since,
    .mark_price = op_mark_price,
    .klines = op_klines,
    .subscribe = NULL,
    .poll_events = op_poll_events,
    .destroy = op_destroy,
};

lb_err xchg_sim_new(const xchg_sim_params *p, xchg **out, lb_errbuf *eb) {
  *out = NULL;
  if (p->initial_balance <= 0) return lb_fail(eb, LB_EINVAL, "sim: initial balance must be > 0");
  if (p->taker_fee < 0 || p->maker_fee < 0 || p->slippage < 0 || p->slippage >= LB_DEC_SCALE / 10)
    return lb_fail(eb, LB_EINVAL, "sim: fees and slippage must be >= 0 (slippage < 10 %%)");
  if (p->funding_interval < 0) return lb_fail(eb, LB_EINVAL, "sim: funding interval must be >= 0");
  sim *s = calloc(1, sizeof *s);
  if (s) s->sym = calloc(XCHG_SIM_MAX_SYMBOLS, sizeof *s->sym);
  if (!s || !s->sym) {
    free(s);
    return lb_fail(eb, LB_ENOMEM, "sim: out of memory");
  }
  s->p = *p;
  s->wallet = p->initial_balance;
  s->x.ops = &sim_ops;
  s->x.impl = s;
  *out = &s->x;
  return LB_OK;
}
