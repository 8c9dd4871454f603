/* exsim_book.c -- the account: orders, algo orders, one-way positions, fills, funding, liquidation.
 *
 * Every function here runs under exsim.mu.  Validation follows Binance's
 * order of checks and codes (wire-formats.md section A plus the published
 * 40xx filter codes): a request Binance would refuse is refused here with
 * the same code, so the adapter's handling of each is exercised for real.
 *
 * Accounting (one-way mode, USDT):
 *   wallet  += realized PnL - fees + funding       (nothing else moves it)
 *   margin   = position margin: notional / leverage at entry, released pro
 *              rata on reduction, plus funding for isolated positions
 *   liquidation at the mark crossing the isolated-margin liquidation price
 *   (src/risk's formula with this symbol's brackets): the position closes at
 *   that price and the remaining margin goes to the insurance fund, so the
 *   wallet loses exactly the position margin.
 *
 * Ground truth for crash tests: every interval during which a position had
 * no protective stop on the exchange is logged (ex_check_protection).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exsim.h"
#include "risk/risk.h"

bool ex_fail(ex_err *err, int http, int code, const char *fmt, ...) {
  err->http = http;
  err->code = code;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
  return false;
}

const char *ex_param(const ex_params *p, const char *name) {
  for (int i = 0; i < p->n; i++)
    if (strcmp(p->name[i], name) == 0) return p->value[i];
  return NULL;
}

static void *grow(void **arr, size_t *n, size_t *cap, size_t sz) {
  if (*n == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    void *na = realloc(*arr, nc * sz);
    if (!na) return NULL;
    *arr = na;
    *cap = nc;
  }
  void *slot = (char *)*arr + (*n)++ * sz;
  memset(slot, 0, sz);
  return slot;
}

static const char *ost_name(ex_ost s) {
  static const char *const n[] = {"NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "REJECTED"};
  return n[s];
}

static const char *ast_name(ex_ast s) {
  static const char *const n[] = {"NEW", "TRIGGERED", "FINISHED", "CANCELED", "EXPIRED", "REJECTED"};
  return n[s];
}

static void dec_str(lb_dec v, int places, char *out, size_t n) { lb_dec_fmt_places(v, places, out, n); }

/* ==== Lookups ==== */

ex_order *ex_order_by_client(exsim *e, const char *symbol, const char *cid) {
  /* The newest order with that id (an id may be reused once the old one is done). */
  for (size_t i = e->n_orders; i-- > 0;)
    if (strcmp(e->orders[i].client_id, cid) == 0 && (!symbol || strcmp(e->orders[i].symbol, symbol) == 0))
      return &e->orders[i];
  return NULL;
}

ex_order *ex_order_by_id(exsim *e, long long id) {
  for (size_t i = 0; i < e->n_orders; i++)
    if (e->orders[i].id == id) return &e->orders[i];
  return NULL;
}

ex_algo *ex_algo_by_client(exsim *e, const char *cid) {
  for (size_t i = e->n_algos; i-- > 0;)
    if (strcmp(e->algos[i].client_id, cid) == 0) return &e->algos[i];
  return NULL;
}

ex_algo *ex_algo_by_id(exsim *e, long long id) {
  for (size_t i = 0; i < e->n_algos; i++)
    if (e->algos[i].id == id) return &e->algos[i];
  return NULL;
}

/* ==== Events ==== */

void ex_user_event(exsim *e, json_t *evt) { ex_ws_send(e, NULL, evt); }

static json_t *order_update(exsim *e, const ex_symbol *s, const ex_order *o, const char *exec,
                            const ex_fill *f) {
  char q[40], p[40], ap[40], sp[40], l[40], z[40], L[40], n[40], rp[40];
  dec_str(o->qty, s->qty_prec, q, sizeof q);
  dec_str(o->price, s->price_prec, p, sizeof p);
  dec_str(o->avg_price, s->price_prec, ap, sizeof ap);
  dec_str(o->stop_price, s->price_prec, sp, sizeof sp);
  dec_str(f ? f->qty : 0, s->qty_prec, l, sizeof l);
  dec_str(o->executed, s->qty_prec, z, sizeof z);
  dec_str(f ? f->price : 0, s->price_prec, L, sizeof L);
  dec_str(f ? f->fee : 0, 8, n, sizeof n);
  dec_str(f ? f->realized : 0, 8, rp, sizeof rp);
  lb_ms now = ex_server_now(e);
  json_t *oo = json_pack(
      "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I, "
      "s:I, s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:b, s:s, s:b, s:s, s:s, s:i}",
      "s", o->symbol, "c", o->client_id, "S", o->buy ? "BUY" : "SELL", "o", o->type, "f", "GTC", "q",
      q, "p", p, "ap", ap, "sp", sp, "x", exec, "X", ost_name(o->status), "i", (json_int_t)o->id,
      "l", l, "z", z, "L", L, "N", "USDT", "n", n, "T", (json_int_t)now, "t",
      (json_int_t)(f ? f->id : 0), "b", "0", "a", "0", "m", f ? f->maker : false, "R", o->reduce_only,
      "wt", o->orig_type[0] && strcmp(o->type, "MARKET") == 0 ? "MARK_PRICE" : "CONTRACT_PRICE", "ot",
      o->orig_type[0] ? o->orig_type : o->type, "ps", "BOTH", "cp", o->close_position, "rp", rp, "pP",
      false, "V", "NONE", "pm", "NONE", "gtd", 0);
  return json_pack("{s:s, s:I, s:I, s:o}", "e", "ORDER_TRADE_UPDATE", "E", (json_int_t)now, "T",
                   (json_int_t)now, "o", oo);
}

static json_t *position_item(const ex_symbol *s) {
  char pa[40], ep[40], up[40], iw[40];
  dec_str(s->pos, s->qty_prec, pa, sizeof pa);
  dec_str(s->entry, 8, ep, sizeof ep);
  dec_str(ex_unrealized(s), 8, up, sizeof up);
  dec_str(s->isolated ? s->margin : 0, 8, iw, sizeof iw);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "s", s->symbol, "pa", pa, "ep",
                   ep, "bep", ep, "cr", "0", "up", up, "mt", s->isolated ? "isolated" : "cross", "iw",
                   iw, "ps", "BOTH");
}

static lb_dec isolated_margins(const exsim *e) {
  lb_dec m = 0;
  for (int i = 0; i < e->nsym; i++)
    if (e->sym[i].isolated) m += e->sym[i].margin;
  return m;
}

static void account_update(exsim *e, const char *reason, lb_dec change, const ex_symbol *s) {
  char wb[40], cw[40], bc[40];
  dec_str(e->wallet, 8, wb, sizeof wb);
  dec_str(e->wallet - isolated_margins(e), 8, cw, sizeof cw);
  dec_str(change, 8, bc, sizeof bc);
  lb_ms now = ex_server_now(e);
  json_t *P = json_array();
  if (s) json_array_append_new(P, position_item(s));
  json_t *a = json_pack("{s:s, s:[{s:s, s:s, s:s, s:s}], s:o}", "m", reason, "B", "a", "USDT", "wb",
                        wb, "cw", cw, "bc", bc, "P", P);
  ex_user_event(e, json_pack("{s:s, s:I, s:I, s:o}", "e", "ACCOUNT_UPDATE", "E", (json_int_t)now, "T",
                             (json_int_t)now, "a", a));
}

static void algo_update(exsim *e, const ex_symbol *s, const ex_algo *a, const char *reason) {
  char q[40], tp[40], ap[40], aq[40], ai[32];
  dec_str(a->qty, s->qty_prec, q, sizeof q);
  dec_str(a->trigger, s->price_prec, tp, sizeof tp);
  dec_str(a->actual_price, s->price_prec, ap, sizeof ap);
  dec_str(a->actual_qty, s->qty_prec, aq, sizeof aq);
  if (a->actual_order_id)
    snprintf(ai, sizeof ai, "%lld", a->actual_order_id);
  else
    ai[0] = '\0';
  lb_ms now = ex_server_now(e);
  json_t *o = json_pack(
      "{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
      "s:b, s:b, s:b, s:I, s:i, s:s, s:b}",
      "caid", a->client_id, "aid", (json_int_t)a->id, "at", "CONDITIONAL", "o", a->type, "s",
      a->symbol, "S", a->buy ? "BUY" : "SELL", "ps", "BOTH", "f", "GTC", "q", q, "X",
      ast_name(a->status), "ai", ai, "ap", ap, "aq", aq, "act", "MARKET", "tp", tp, "p", "0", "V",
      "NONE", "wt", a->working_type, "cp", a->close_position, "pP", false, "R", a->reduce_only, "tt",
      (json_int_t)a->trigger_time, "gtd", 0, "rm", reason ? reason : "", "ia", a->activated);
  ex_user_event(e, json_pack("{s:s, s:I, s:I, s:o}", "e", "ALGO_UPDATE", "T", (json_int_t)now, "E",
                             (json_int_t)now, "o", o));
}

/* ==== Positions ==== */

lb_dec ex_unrealized(const ex_symbol *s) {
  lb_dec d;
  if (s->pos == 0 || lb_dec_mul(s->mark - s->entry, s->pos, LB_ROUND_HALF_EVEN, &d) != LB_OK) return 0;
  return d;
}

lb_dec ex_available(exsim *e) {
  lb_dec a = e->wallet;
  for (int i = 0; i < e->nsym; i++) {
    const ex_symbol *s = &e->sym[i];
    a -= s->margin;
    if (!s->isolated) a += ex_unrealized(s);
  }
  for (size_t i = 0; i < e->n_orders; i++) {
    const ex_order *o = &e->orders[i];
    if (o->status != EX_NEW || o->reduce_only) continue;
    ex_symbol *s = ex_symbol_find(e, o->symbol);
    lb_dec im;
    if (s && lb_dec_muldiv(o->qty, o->price, LB_DEC_INT(s->leverage), LB_ROUND_CEIL, &im) == LB_OK)
      a -= im;
  }
  return a;
}

lb_dec ex_max_notional(const ex_symbol *s, int leverage) {
  lb_dec cap = s->brackets.n ? s->brackets.tier[0].notional_cap : 0;
  for (int i = 0; i < s->brackets.n; i++)
    if (s->brackets.tier[i].max_leverage >= leverage && s->brackets.tier[i].notional_cap > cap)
      cap = s->brackets.tier[i].notional_cap;
  return cap;
}

lb_dec ex_liquidation_price(const ex_symbol *s) {
  if (s->pos == 0 || s->entry <= 0) return 0;
  lb_dec wb = s->margin;
  lb_dec liq = 0;
  if (risk_liquidation_price_for(s->pos > 0 ? LB_ACTION_LONG : LB_ACTION_SHORT, lb_dec_abs(s->pos),
                                 s->entry, wb < 0 ? 0 : wb, &s->brackets, NULL, &liq) != LB_OK)
    return 0;
  return liq;
}

/* Moves the position by one execution; returns the realized PnL. */
static lb_dec apply_fill(ex_symbol *s, bool buy, lb_dec qty, lb_dec price) {
  lb_dec realized = 0, t;
  lb_dec signed_qty = buy ? qty : -qty;
  if (s->pos != 0 && ((s->pos > 0) != buy)) {
    lb_dec close = lb_dec_min(qty, lb_dec_abs(s->pos));
    if (lb_dec_mul(price - s->entry, s->pos > 0 ? close : -close, LB_ROUND_HALF_EVEN, &t) == LB_OK)
      realized = t;
    lb_dec release = s->margin;
    if (close < lb_dec_abs(s->pos) &&
        lb_dec_muldiv(s->margin, close, lb_dec_abs(s->pos), LB_ROUND_HALF_EVEN, &t) == LB_OK)
      release = t;
    s->margin -= release;
    s->pos += buy ? close : -close;
    if (s->pos == 0) {
      s->entry = 0;
      s->margin = 0;
    }
    qty -= close;
    signed_qty = buy ? qty : -qty;
  }
  if (qty > 0) {
    lb_dec old = lb_dec_abs(s->pos), notional_old, notional_new;
    if (lb_dec_mul(old, s->entry, LB_ROUND_HALF_EVEN, &notional_old) == LB_OK &&
        lb_dec_mul(qty, price, LB_ROUND_HALF_EVEN, &notional_new) == LB_OK &&
        lb_dec_div(notional_old + notional_new, old + qty, LB_ROUND_HALF_EVEN, &t) == LB_OK)
      s->entry = t;
    lb_dec im;
    if (lb_dec_div(notional_new, LB_DEC_INT(s->leverage), LB_ROUND_CEIL, &im) == LB_OK) s->margin += im;
    s->pos += signed_qty;
  }
  return realized;
}

static void count_duplicate(exsim *e, const char *cid) {
  for (size_t i = 0; i < e->n_orders; i++)
    if (!e->orders[i].orig_type[0] && strcmp(e->orders[i].client_id, cid) == 0) {
      e->cnt.duplicate_client_ids++;
      return;
    }
  for (size_t i = 0; i < e->n_algos; i++)
    if (strcmp(e->algos[i].client_id, cid) == 0) {
      e->cnt.duplicate_client_ids++;
      return;
    }
}

/* Executes qty of order o at price; exec is "TRADE" or "CALCULATED". */
static void execute(exsim *e, ex_symbol *s, size_t oi, lb_dec qty, lb_dec price, bool maker,
                    const char *exec, lb_dec fee_override, bool has_override) {
  ex_order *o = &e->orders[oi];
  lb_dec notional = 0, fee = 0;
  lb_dec_mul(qty, price, LB_ROUND_HALF_EVEN, &notional);
  lb_dec_mul(notional, maker ? e->opt.maker_fee : e->opt.taker_fee, LB_ROUND_HALF_EVEN, &fee);
  lb_dec realized = apply_fill(s, o->buy, qty, price);
  if (has_override) fee = fee_override;
  e->wallet += realized - fee;
  ex_fill *f = grow((void **)&e->fills, &e->n_fills, &e->cap_fills, sizeof *f);
  o = &e->orders[oi];
  if (f) {
    f->id = e->next_trade_id++;
    f->order_id = o->id;
    snprintf(f->client_id, sizeof f->client_id, "%s", o->client_id);
    snprintf(f->symbol, sizeof f->symbol, "%s", s->symbol);
    f->buy = o->buy;
    f->maker = maker;
    f->qty = qty;
    f->price = price;
    f->quote = notional;
    f->fee = fee;
    f->realized = realized;
    f->time = ex_server_now(e);
  }
  lb_dec cum = o->cum_quote + notional, avg;
  o->executed += qty;
  o->cum_quote = cum;
  if (lb_dec_div(cum, o->executed, LB_ROUND_HALF_EVEN, &avg) == LB_OK) o->avg_price = avg;
  o->status = o->executed >= o->qty ? EX_FILLED : EX_PARTIALLY_FILLED;
  o->update_time = ex_server_now(e);
  ex_user_event(e, order_update(e, s, o, exec, f));
  account_update(e, "ORDER", realized - fee, s);
  e->dirty = true;
}

/* ==== Validation helpers ==== */

static bool parse_num(const char *name, const char *v, int max_places, lb_dec *out, ex_err *err) {
  if (!v || !*v)
    return ex_fail(err, 400, -1102, "Mandatory parameter '%s' was not sent, was empty/null, or malformed.",
                   name);
  if (lb_dec_parse(v, out) != LB_OK)
    return ex_fail(err, 400, -1102, "Mandatory parameter '%s' was not sent, was empty/null, or malformed.",
                   name);
  const char *dot = strchr(v, '.');
  if (dot) {
    int places = (int)strlen(dot + 1);
    while (places > 0 && dot[places] == '0') places--;
    if (places > max_places) return ex_fail(err, 400, -1111, "Precision is over the maximum defined for this asset.");
  }
  return true;
}

static bool check_client_id(const char *name, const char *cid, ex_err *err) {
  size_t n = strlen(cid);
  if (n > 36) return ex_fail(err, 400, -4015, "Client order id length should be less than 36 chars");
  for (size_t i = 0; i < n; i++) {
    char c = cid[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
    if (!ok)
      return ex_fail(err, 400, -1100,
                     "Illegal characters found in parameter '%s'; legal range is "
                     "'^[\\.A-Z\\:/a-z0-9_-]{1,36}$'.",
                     name);
  }
  return n > 0 || ex_fail(err, 400, -1102, "Parameter '%s' was empty.", name);
}

static bool check_qty(const ex_symbol *s, lb_dec qty, bool market, ex_err *err) {
  const lb_symbol_rules *r = &s->rules;
  lb_dec step = market && r->market_step_size > 0 ? r->market_step_size : r->step_size;
  lb_dec minq = market && r->market_min_qty > 0 ? r->market_min_qty : r->min_qty;
  lb_dec maxq = market && r->market_max_qty > 0 ? r->market_max_qty : r->max_qty;
  if (qty <= 0) return ex_fail(err, 400, -4003, "Quantity less than or equal to zero.");
  if (!lb_dec_is_multiple(qty, step)) return ex_fail(err, 400, -4023, "Qty not increased by step size.");
  if (qty < minq) return ex_fail(err, 400, -4004, "Quantity less than min quantity.");
  if (maxq > 0 && qty > maxq) return ex_fail(err, 400, -4005, "Quantity greater than max quantity.");
  return true;
}

static bool check_price(const ex_symbol *s, lb_dec price, ex_err *err) {
  const lb_symbol_rules *r = &s->rules;
  if (price <= 0) return ex_fail(err, 400, -4001, "Price less than 0.");
  if (!lb_dec_is_multiple(price, r->tick_size)) return ex_fail(err, 400, -4014, "Price not increased by tick size.");
  if (r->min_price > 0 && price < r->min_price) return ex_fail(err, 400, -4013, "Price less than min price.");
  if (r->max_price > 0 && price > r->max_price) return ex_fail(err, 400, -4002, "Price greater than max price.");
  return true;
}

static bool parse_bool(const ex_params *p, const char *name, bool *out, ex_err *err) {
  const char *v = ex_param(p, name);
  *out = false;
  if (!v) return true;
  if (strcmp(v, "true") == 0 || strcmp(v, "TRUE") == 0) *out = true;
  else if (strcmp(v, "false") != 0 && strcmp(v, "FALSE") != 0)
    return ex_fail(err, 400, -1130, "Data sent for parameter '%s' is not valid.", name);
  return true;
}

/* symbol, side, positionSide: common to both order endpoints. */
static bool common(exsim *e, const ex_params *p, ex_symbol **s, bool *buy, ex_err *err) {
  const char *sym = ex_param(p, "symbol"), *side = ex_param(p, "side"), *ps = ex_param(p, "positionSide");
  if (!sym) return ex_fail(err, 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
  *s = ex_symbol_find(e, sym);
  if (!*s) return ex_fail(err, 400, -1121, "Invalid symbol.");
  if (!side) return ex_fail(err, 400, -1102, "Mandatory parameter 'side' was not sent, was empty/null, or malformed.");
  if (strcmp(side, "BUY") != 0 && strcmp(side, "SELL") != 0) return ex_fail(err, 400, -1117, "Invalid side.");
  *buy = side[0] == 'B';
  if (ps && strcmp(ps, "BOTH") != 0)
    return ex_fail(err, 400, -4061, "Order's position side does not match user's setting.");
  return true;
}

/* Quantity that would increase the position (0 for a pure reduction). */
static lb_dec increasing_part(const ex_symbol *s, bool buy, lb_dec qty) {
  if (s->pos == 0 || (s->pos > 0) == buy) return qty;
  lb_dec a = lb_dec_abs(s->pos);
  return qty > a ? qty - a : 0;
}

static bool margin_ok(exsim *e, const ex_symbol *s, bool buy, lb_dec qty, lb_dec price, ex_err *err) {
  lb_dec inc = increasing_part(s, buy, qty);
  if (inc == 0) return true;
  lb_dec notional, im, fee, after;
  if (lb_dec_mul(inc, price, LB_ROUND_CEIL, &notional) != LB_OK ||
      lb_dec_div(notional, LB_DEC_INT(s->leverage), LB_ROUND_CEIL, &im) != LB_OK ||
      lb_dec_mul(notional, e->opt.taker_fee, LB_ROUND_CEIL, &fee) != LB_OK)
    return ex_fail(err, 400, -2019, "Margin is insufficient.");
  if (im + fee > ex_available(e)) return ex_fail(err, 400, -2019, "Margin is insufficient.");
  lb_dec now_abs = lb_dec_abs(s->pos);
  if (lb_dec_mul(now_abs + inc, price, LB_ROUND_CEIL, &after) == LB_OK &&
      after > ex_max_notional(s, s->leverage))
    return ex_fail(err, 400, -2027, "Exceeded the maximum allowable position at current leverage.");
  return true;
}

/* ==== POST /fapi/v1/order ==== */

bool ex_new_order(exsim *e, const ex_params *p, ex_order **out, ex_err *err) {
  ex_symbol *s;
  bool buy;
  *out = NULL;
  const char *type = ex_param(p, "type");
  if (!common(e, p, &s, &buy, err)) return false;
  if (!type) return ex_fail(err, 400, -1102, "Mandatory parameter 'type' was not sent, was empty/null, or malformed.");
  static const char *const algo_types[] = {"STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET",
                                           "TRAILING_STOP_MARKET"};
  for (size_t i = 0; i < 5; i++)
    if (strcmp(type, algo_types[i]) == 0) {
      e->cnt.stop_on_order_endpoint++;
      return ex_fail(err, 400, -4120,
                     "Order type not supported for this endpoint. Please use the Algo Order API "
                     "endpoints instead.");
    }
  bool market = strcmp(type, "MARKET") == 0;
  if (!market && strcmp(type, "LIMIT") != 0) return ex_fail(err, 400, -1116, "Invalid orderType.");
  if (ex_param(p, "closePosition"))
    return ex_fail(err, 400, -1106, "Parameter 'closePosition' sent when not required.");
  char cid[EX_ID_MAX];
  const char *c = ex_param(p, "newClientOrderId");
  if (c) {
    if (!check_client_id("newClientOrderId", c, err)) return false;
    snprintf(cid, sizeof cid, "%s", c);
  } else {
    snprintf(cid, sizeof cid, "exsim-%lld", e->next_order_id);
  }
  for (size_t i = 0; i < e->n_orders; i++)
    if ((e->orders[i].status == EX_NEW || e->orders[i].status == EX_PARTIALLY_FILLED) &&
        strcmp(e->orders[i].client_id, cid) == 0)
      return ex_fail(err, 400, -4116, "ClientOrderId is duplicated.");
  bool reduce;
  if (!parse_bool(p, "reduceOnly", &reduce, err)) return false;
  lb_dec qty, price = 0;
  if (!parse_num("quantity", ex_param(p, "quantity"), s->qty_prec, &qty, err)) return false;
  if (!check_qty(s, qty, market, err)) return false;
  if (market) {
    if (ex_param(p, "price")) return ex_fail(err, 400, -1106, "Parameter 'price' sent when not required.");
  } else {
    if (!ex_param(p, "timeInForce"))
      return ex_fail(err, 400, -1102, "Mandatory parameter 'timeInForce' was not sent, was empty/null, or malformed.");
    if (!parse_num("price", ex_param(p, "price"), s->price_prec, &price, err)) return false;
    if (!check_price(s, price, err)) return false;
  }
  lb_dec ref = market ? s->last : price, notional;
  if (!reduce && lb_dec_mul(qty, ref, LB_ROUND_FLOOR, &notional) == LB_OK &&
      notional < s->rules.min_notional) {
    char mn[40];
    lb_dec_fmt(s->rules.min_notional, mn, sizeof mn);
    return ex_fail(err, 400, -4164,
                   "Order's notional must be no smaller than %s (unless you choose reduce only).", mn);
  }
  if (reduce) {
    if (s->pos == 0 || (s->pos > 0) == buy) return ex_fail(err, 400, -2022, "ReduceOnly Order is rejected.");
    if (qty > lb_dec_abs(s->pos)) qty = lb_dec_abs(s->pos);
  } else if (!margin_ok(e, s, buy, qty, ref, err)) {
    return false;
  }
  count_duplicate(e, cid);
  ex_order *o = grow((void **)&e->orders, &e->n_orders, &e->cap_orders, sizeof *o);
  if (!o) return ex_fail(err, 500, -1000, "out of memory");
  o->id = e->next_order_id++;
  snprintf(o->client_id, sizeof o->client_id, "%s", cid);
  snprintf(o->symbol, sizeof o->symbol, "%s", s->symbol);
  o->buy = buy;
  snprintf(o->type, sizeof o->type, "%s", type);
  o->status = EX_NEW;
  o->qty = qty;
  o->price = price;
  o->reduce_only = reduce;
  o->time = o->update_time = ex_server_now(e);
  size_t oi = (size_t)(o - e->orders);
  ex_user_event(e, order_update(e, s, o, "NEW", NULL));
  bool marketable = market || (buy ? price >= s->last : price <= s->last);
  if (marketable) execute(e, s, oi, qty, s->last, false, "TRADE", 0, false);
  e->dirty = true;
  ex_check_protection(e);
  *out = &e->orders[oi];
  return true;
}

/* ==== POST /fapi/v1/algoOrder ==== */

static int open_algos(const exsim *e, const char *symbol) {
  int n = 0;
  for (size_t i = 0; i < e->n_algos; i++)
    if (e->algos[i].status == EX_A_NEW && strcmp(e->algos[i].symbol, symbol) == 0) n++;
  return n;
}

bool ex_new_algo(exsim *e, const ex_params *p, ex_algo **out, ex_err *err) {
  ex_symbol *s;
  bool buy;
  *out = NULL;
  const char *at = ex_param(p, "algoType"), *type = ex_param(p, "type");
  if (!at) return ex_fail(err, 400, -1102, "Mandatory parameter 'algoType' was not sent, was empty/null, or malformed.");
  if (strcmp(at, "CONDITIONAL") != 0) return ex_fail(err, 400, -1130, "Data sent for parameter 'algoType' is not valid.");
  if (!common(e, p, &s, &buy, err)) return false;
  if (!type) return ex_fail(err, 400, -1102, "Mandatory parameter 'type' was not sent, was empty/null, or malformed.");
  bool stop = strcmp(type, "STOP_MARKET") == 0, tp = strcmp(type, "TAKE_PROFIT_MARKET") == 0;
  bool trail = strcmp(type, "TRAILING_STOP_MARKET") == 0;
  if (!stop && !tp && !trail) return ex_fail(err, 400, -1116, "Invalid orderType.");
  char cid[EX_ID_MAX];
  const char *c = ex_param(p, "clientAlgoId");
  if (c) {
    if (!check_client_id("clientAlgoId", c, err)) return false;
    snprintf(cid, sizeof cid, "%s", c);
  } else {
    snprintf(cid, sizeof cid, "exsim-algo-%lld", e->next_algo_id);
  }
  for (size_t i = 0; i < e->n_algos; i++)
    if (e->algos[i].status == EX_A_NEW && strcmp(e->algos[i].client_id, cid) == 0)
      return ex_fail(err, 400, -4116, "ClientOrderId is duplicated.");
  bool close_pos, reduce;
  if (!parse_bool(p, "closePosition", &close_pos, err) || !parse_bool(p, "reduceOnly", &reduce, err))
    return false;
  lb_dec qty = 0, trigger = 0, activate = 0, cb = 0;
  if (close_pos) {
    if (trail) return ex_fail(err, 400, -1106, "Parameter 'closePosition' sent when not required.");
    if (ex_param(p, "quantity")) return ex_fail(err, 400, -1106, "Parameter 'quantity' sent when not required.");
    if (ex_param(p, "reduceOnly")) return ex_fail(err, 400, -1106, "Parameter 'reduceOnly' sent when not required.");
  } else {
    if (!parse_num("quantity", ex_param(p, "quantity"), s->qty_prec, &qty, err)) return false;
    if (!check_qty(s, qty, true, err)) return false;
  }
  const char *wt = ex_param(p, "workingType");
  if (wt && strcmp(wt, "MARK_PRICE") != 0 && strcmp(wt, "CONTRACT_PRICE") != 0)
    return ex_fail(err, 400, -4031, "Invalid workingType.");
  if (trail) {
    if (ex_param(p, "triggerPrice")) return ex_fail(err, 400, -1106, "Parameter 'triggerPrice' sent when not required.");
    if (!parse_num("callbackRate", ex_param(p, "callbackRate"), 2, &cb, err)) return false;
    if (cb < LB_DEC_SCALE / 10 || cb > LB_DEC_INT(10))
      return ex_fail(err, 400, -1130, "Data sent for parameter 'callbackRate' is not valid.");
    if (ex_param(p, "activatePrice")) {
      if (!parse_num("activatePrice", ex_param(p, "activatePrice"), s->price_prec, &activate, err)) return false;
      if (!check_price(s, activate, err)) return false;
      if (buy ? activate >= s->mark : activate <= s->mark)
        return ex_fail(err, 400, -4142, "Order would immediately trigger.");
    }
  } else {
    if (!parse_num("triggerPrice", ex_param(p, "triggerPrice"), s->price_prec, &trigger, err)) return false;
    if (!check_price(s, trigger, err)) return false;
    bool fires_up = (stop && buy) || (tp && !buy); /* triggers when the mark rises to it */
    if (fires_up ? s->mark >= trigger : s->mark <= trigger)
      return ex_fail(err, 400, -2021, "Order would immediately trigger.");
  }
  if (open_algos(e, s->symbol) >= 10) return ex_fail(err, 400, -4045, "Reach max stop order limit.");
  count_duplicate(e, cid);
  ex_algo *a = grow((void **)&e->algos, &e->n_algos, &e->cap_algos, sizeof *a);
  if (!a) return ex_fail(err, 500, -1000, "out of memory");
  a->id = e->next_algo_id++;
  snprintf(a->client_id, sizeof a->client_id, "%s", cid);
  snprintf(a->symbol, sizeof a->symbol, "%s", s->symbol);
  a->buy = buy;
  snprintf(a->type, sizeof a->type, "%s", type);
  a->status = EX_A_NEW;
  a->qty = qty;
  a->trigger = trigger;
  a->activate = activate;
  a->callback = cb;
  a->close_position = close_pos;
  a->reduce_only = reduce || close_pos;
  snprintf(a->working_type, sizeof a->working_type, "%s", wt ? wt : "CONTRACT_PRICE");
  if (trail && activate == 0) {
    a->activated = true;
    a->extreme = s->mark;
  }
  a->create_time = a->update_time = ex_server_now(e);
  algo_update(e, s, a, NULL);
  e->dirty = true;
  ex_check_protection(e);
  *out = a;
  return true;
}

/* ==== Cancel, leverage, margin type ==== */

bool ex_cancel_order(exsim *e, ex_order *o, ex_err *err) {
  if (o->status != EX_NEW && o->status != EX_PARTIALLY_FILLED)
    return ex_fail(err, 400, -2011, "Unknown order sent.");
  o->status = EX_CANCELED;
  o->update_time = ex_server_now(e);
  ex_user_event(e, order_update(e, ex_symbol_find(e, o->symbol), o, "CANCELED", NULL));
  e->dirty = true;
  return true;
}

bool ex_cancel_algo(exsim *e, ex_algo *a, ex_err *err) {
  if (a->status != EX_A_NEW) return ex_fail(err, 400, -2011, "Unknown order sent.");
  a->status = EX_A_CANCELED;
  a->update_time = ex_server_now(e);
  algo_update(e, ex_symbol_find(e, a->symbol), a, NULL);
  e->dirty = true;
  ex_check_protection(e);
  return true;
}

bool ex_set_leverage(exsim *e, ex_symbol *s, int lev, ex_err *err) {
  int max = s->brackets.n ? s->brackets.tier[0].max_leverage : 125;
  if (lev < 1 || lev > max) return ex_fail(err, 400, -4028, "Leverage %d is not valid", lev);
  if (s->pos != 0) {
    lb_dec notional, need;
    if (lb_dec_mul(lb_dec_abs(s->pos), s->mark, LB_ROUND_CEIL, &notional) == LB_OK &&
        notional > ex_max_notional(s, lev))
      return ex_fail(err, 400, -2027, "Exceeded the maximum allowable position at current leverage.");
    if (lb_dec_muldiv(lb_dec_abs(s->pos), s->entry, LB_DEC_INT(lev), LB_ROUND_CEIL, &need) == LB_OK &&
        need - s->margin > ex_available(e))
      return ex_fail(err, 400, -2028, "Leverage is smaller than permitted: insufficient margin balance");
  }
  s->leverage = lev;
  e->dirty = true;
  return true;
}

bool ex_set_margin_type(exsim *e, ex_symbol *s, bool isolated, ex_err *err) {
  if (s->isolated == isolated) return ex_fail(err, 400, -4046, "No need to change margin type.");
  if (s->pos != 0) return ex_fail(err, 400, -4048, "Margin type cannot be changed if there exists position.");
  for (size_t i = 0; i < e->n_orders; i++)
    if (e->orders[i].status == EX_NEW && strcmp(e->orders[i].symbol, s->symbol) == 0)
      return ex_fail(err, 400, -4047, "Margin type cannot be changed if there exists open orders.");
  if (open_algos(e, s->symbol) > 0)
    return ex_fail(err, 400, -4047, "Margin type cannot be changed if there exists open orders.");
  s->isolated = isolated;
  e->dirty = true;
  return true;
}

/* ==== Triggers, limits, liquidation ==== */

static size_t new_internal_order(exsim *e, const ex_symbol *s, bool buy, const char *cid,
                                 const char *type, const char *orig, lb_dec qty) {
  ex_order *o = grow((void **)&e->orders, &e->n_orders, &e->cap_orders, sizeof *o);
  if (!o) return (size_t)-1;
  o->id = e->next_order_id++;
  snprintf(o->client_id, sizeof o->client_id, "%s", cid);
  snprintf(o->symbol, sizeof o->symbol, "%s", s->symbol);
  o->buy = buy;
  snprintf(o->type, sizeof o->type, "%s", type);
  snprintf(o->orig_type, sizeof o->orig_type, "%s", orig);
  o->status = EX_NEW;
  o->qty = qty;
  o->reduce_only = true;
  o->time = o->update_time = ex_server_now(e);
  return (size_t)(o - e->orders);
}

static void trigger_algo(exsim *e, ex_symbol *s, size_t ai) {
  ex_algo *a = &e->algos[ai];
  lb_ms now = ex_server_now(e);
  a->status = EX_A_TRIGGERED;
  a->trigger_time = a->update_time = now;
  algo_update(e, s, a, NULL);
  bool closes = s->pos != 0 && (s->pos > 0) != a->buy;
  if (!closes) {
    /* Nothing to reduce any more (the position was closed meanwhile). */
    a->status = EX_A_EXPIRED;
    algo_update(e, s, a, "ReduceOnly Order is rejected.");
    return;
  }
  lb_dec qty = a->close_position ? lb_dec_abs(s->pos) : lb_dec_min(a->qty, lb_dec_abs(s->pos));
  size_t oi = new_internal_order(e, s, a->buy, a->client_id, "MARKET", a->type, qty);
  if (oi == (size_t)-1) return;
  a = &e->algos[ai];
  e->orders[oi].close_position = a->close_position;
  e->orders[oi].stop_price = a->trigger;
  ex_user_event(e, order_update(e, s, &e->orders[oi], "NEW", NULL));
  execute(e, s, oi, qty, s->mark, false, "TRADE", 0, false);
  a = &e->algos[ai];
  a->actual_order_id = e->orders[oi].id;
  a->actual_qty = e->orders[oi].executed;
  a->actual_price = e->orders[oi].avg_price;
  a->status = EX_A_FINISHED;
  a->update_time = ex_server_now(e);
  algo_update(e, s, a, NULL);
}

static bool algo_fires(ex_algo *a, lb_dec mark) {
  if (strcmp(a->type, "TRAILING_STOP_MARKET") == 0) {
    if (!a->activated) {
      if (a->buy ? mark > a->activate : mark < a->activate) return false;
      a->activated = true;
      a->extreme = mark;
    }
    lb_dec dist;
    if (a->buy) {
      if (mark < a->extreme) a->extreme = mark;
      if (lb_dec_muldiv(a->extreme, a->callback, LB_DEC_INT(100), LB_ROUND_HALF_EVEN, &dist) != LB_OK) return false;
      return mark >= a->extreme + dist;
    }
    if (mark > a->extreme) a->extreme = mark;
    if (lb_dec_muldiv(a->extreme, a->callback, LB_DEC_INT(100), LB_ROUND_HALF_EVEN, &dist) != LB_OK) return false;
    return mark <= a->extreme - dist;
  }
  bool stop = strcmp(a->type, "STOP_MARKET") == 0;
  bool fires_up = (stop && a->buy) || (!stop && !a->buy);
  return fires_up ? mark >= a->trigger : mark <= a->trigger;
}

static void close_everything(exsim *e, ex_symbol *s) {
  for (size_t i = 0; i < e->n_orders; i++) {
    ex_order *o = &e->orders[i];
    if (o->status == EX_NEW && strcmp(o->symbol, s->symbol) == 0) {
      o->status = EX_EXPIRED;
      ex_user_event(e, order_update(e, s, o, "EXPIRED", NULL));
    }
  }
  for (size_t i = 0; i < e->n_algos; i++) {
    ex_algo *a = &e->algos[i];
    if (a->status == EX_A_NEW && strcmp(a->symbol, s->symbol) == 0) {
      a->status = EX_A_EXPIRED;
      a->update_time = ex_server_now(e);
      algo_update(e, s, a, "position liquidated");
    }
  }
}

static void liquidate(exsim *e, ex_symbol *s, lb_dec price) {
  close_everything(e, s);
  char cid[EX_ID_MAX];
  snprintf(cid, sizeof cid, "autoclose-%lld", (long long)ex_server_now(e));
  bool buy = s->pos < 0;
  lb_dec qty = lb_dec_abs(s->pos), realized = 0;
  lb_dec_mul(price - s->entry, s->pos, LB_ROUND_HALF_EVEN, &realized);
  /* The remaining margin is the insurance clearance: the wallet loses the margin. */
  lb_dec clearance = s->isolated ? lb_dec_max(0, s->margin + realized) : 0;
  size_t oi = new_internal_order(e, s, buy, cid, "LIQUIDATION", "LIQUIDATION", qty);
  if (oi == (size_t)-1) return;
  ex_user_event(e, order_update(e, s, &e->orders[oi], "NEW", NULL));
  execute(e, s, oi, qty, price, false, "CALCULATED", clearance, true);
  e->cnt.liquidations++;
}

bool ex_adl(exsim *e, ex_symbol *s, ex_err *err) {
  if (s->pos == 0) return ex_fail(err, 400, -2022, "no position to auto-deleverage");
  lb_dec qty = lb_dec_abs(s->pos);
  size_t oi = new_internal_order(e, s, s->pos < 0, "adl_autoclose", "MARKET", "MARKET", qty);
  if (oi == (size_t)-1) return ex_fail(err, 500, -1000, "out of memory");
  ex_user_event(e, order_update(e, s, &e->orders[oi], "NEW", NULL));
  execute(e, s, oi, qty, s->mark, false, "TRADE", 0, true);
  e->cnt.adl++;
  ex_check_protection(e);
  return true;
}

void ex_on_mark(exsim *e, ex_symbol *s) {
  for (size_t i = 0; i < e->n_algos; i++) {
    ex_algo *a = &e->algos[i];
    if (a->status != EX_A_NEW || strcmp(a->symbol, s->symbol) != 0) continue;
    if (algo_fires(a, s->mark)) trigger_algo(e, s, i);
  }
  for (size_t i = 0; i < e->n_orders; i++) {
    ex_order *o = &e->orders[i];
    if (o->status != EX_NEW || strcmp(o->symbol, s->symbol) != 0 || strcmp(o->type, "LIMIT") != 0)
      continue;
    if (o->buy ? s->mark <= o->price : s->mark >= o->price) {
      lb_dec q = o->qty - o->executed;
      if (o->reduce_only) {
        if (s->pos == 0 || (s->pos > 0) == o->buy) {
          o->status = EX_EXPIRED;
          ex_user_event(e, order_update(e, s, o, "EXPIRED", NULL));
          continue;
        }
        q = lb_dec_min(q, lb_dec_abs(s->pos));
      }
      execute(e, s, i, q, o->price, true, "TRADE", 0, false);
    }
  }
  if (s->pos != 0) {
    lb_dec liq = ex_liquidation_price(s);
    if (liq > 0 && (s->pos > 0 ? s->mark <= liq : s->mark >= liq)) liquidate(e, s, liq);
  }
  ex_check_protection(e);
}

void ex_apply_funding(exsim *e, double rate) {
  lb_dec r;
  if (lb_dec_from_double(rate, &r) != LB_OK) return;
  for (int i = 0; i < e->nsym; i++) {
    ex_symbol *s = &e->sym[i];
    if (s->pos == 0) continue;
    lb_dec notional, amount;
    if (lb_dec_mul(s->pos, s->mark, LB_ROUND_HALF_EVEN, &notional) != LB_OK ||
        lb_dec_mul(notional, r, LB_ROUND_HALF_EVEN, &amount) != LB_OK)
      continue;
    amount = -amount; /* longs pay a positive rate */
    e->wallet += amount;
    if (s->isolated) s->margin += amount;
    ex_funding *f = grow((void **)&e->fundings, &e->n_fundings, &e->cap_fundings, sizeof *f);
    if (f) {
      snprintf(f->symbol, sizeof f->symbol, "%s", s->symbol);
      f->amount = amount;
      f->rate = r;
      f->mark = s->mark;
      f->qty = s->pos;
      f->time = ex_server_now(e);
      f->market_time = e->next_funding;
    }
    account_update(e, "FUNDING_FEE", amount, s->isolated ? s : NULL);
    e->dirty = true;
  }
}

/* ==== Ground truth: protection ==== */

static bool is_protected(const exsim *e, const ex_symbol *s) {
  for (size_t i = 0; i < e->n_algos; i++) {
    const ex_algo *a = &e->algos[i];
    if (a->status != EX_A_NEW || strcmp(a->symbol, s->symbol) != 0) continue;
    if (strcmp(a->type, "TAKE_PROFIT_MARKET") == 0) continue;
    if ((s->pos > 0) == a->buy) continue; /* would not reduce */
    if (a->close_position || (a->reduce_only && a->qty >= lb_dec_abs(s->pos))) return true;
  }
  return false;
}

void ex_check_protection(exsim *e) {
  lb_ms now = ex_server_now(e);
  for (int i = 0; i < e->nsym; i++) {
    ex_symbol *s = &e->sym[i];
    bool bare = s->pos != 0 && !is_protected(e, s);
    if (bare && !s->gap) {
      ex_gap *g = grow((void **)&e->gaps, &e->n_gaps, &e->cap_gaps, sizeof *g);
      if (!g) continue;
      snprintf(g->symbol, sizeof g->symbol, "%s", s->symbol);
      g->start = now;
      s->gap = (int)e->n_gaps;
      e->dirty = true;
    } else if (!bare && s->gap) {
      e->gaps[s->gap - 1].end = now;
      s->gap = 0;
      e->dirty = true;
    }
  }
}

/* ==== JSON ==== */

json_t *ex_order_json(const exsim *e, const ex_order *o, bool with_time) {
  (void)e;
  const ex_symbol *s = ex_symbol_find((exsim *)e, o->symbol);
  char price[40], avg[40], q[40], ex[40], cq[40], sp[40];
  dec_str(o->price, s->price_prec, price, sizeof price);
  dec_str(o->avg_price, s->price_prec, avg, sizeof avg);
  dec_str(o->qty, s->qty_prec, q, sizeof q);
  dec_str(o->executed, s->qty_prec, ex, sizeof ex);
  dec_str(o->cum_quote, 5, cq, sizeof cq);
  dec_str(o->stop_price, s->price_prec, sp, sizeof sp);
  json_t *j = json_pack(
      "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:s, s:s, s:s, s:s, "
      "s:b, s:s, s:s, s:s, s:i, s:I}",
      "orderId", (json_int_t)o->id, "symbol", o->symbol, "status", ost_name(o->status),
      "clientOrderId", o->client_id, "price", price, "avgPrice", avg, "origQty", q, "executedQty", ex,
      "cumQty", ex, "cumQuote", cq, "timeInForce", "GTC", "type", o->type, "reduceOnly", o->reduce_only,
      "closePosition", o->close_position, "side", o->buy ? "BUY" : "SELL", "positionSide", "BOTH",
      "stopPrice", sp, "workingType", o->orig_type[0] ? "MARK_PRICE" : "CONTRACT_PRICE", "priceProtect",
      false, "origType", o->orig_type[0] ? o->orig_type : o->type, "priceMatch", "NONE",
      "selfTradePreventionMode", "NONE", "goodTillDate", 0, "updateTime", (json_int_t)o->update_time);
  if (with_time) json_object_set_new(j, "time", json_integer(o->time));
  return j;
}

json_t *ex_algo_json(const exsim *e, const ex_algo *a, bool query) {
  const ex_symbol *s = ex_symbol_find((exsim *)e, a->symbol);
  char q[40], tp[40], act[40], cb[40];
  dec_str(a->qty, s->qty_prec, q, sizeof q);
  dec_str(a->trigger, s->price_prec, tp, sizeof tp);
  dec_str(a->activate, s->price_prec, act, sizeof act);
  lb_dec_fmt(a->callback, cb, sizeof cb);
  json_t *j = json_pack(
      "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, "
      "s:b, s:s, s:s, s:I, s:I, s:I, s:i}",
      "algoId", (json_int_t)a->id, "clientAlgoId", a->client_id, "algoType", "CONDITIONAL",
      "orderType", a->type, "symbol", a->symbol, "side", a->buy ? "BUY" : "SELL", "positionSide",
      "BOTH", "timeInForce", "GTC", "quantity", q, "algoStatus", ast_name(a->status), "triggerPrice",
      tp, "price", "0", "icebergQuantity", "0", "selfTradePreventionMode", "NONE", "workingType",
      a->working_type, "priceMatch", "NONE", "closePosition", a->close_position, "priceProtect", false,
      "reduceOnly", a->reduce_only, "activatePrice", act, "callbackRate", cb, "createTime",
      (json_int_t)a->create_time, "updateTime", (json_int_t)a->update_time, "triggerTime",
      (json_int_t)a->trigger_time, "goodTillDate", 0);
  if (query) {
    char aid[32], ap[40], aq[40];
    if (a->actual_order_id)
      snprintf(aid, sizeof aid, "%lld", a->actual_order_id);
    else
      aid[0] = '\0';
    dec_str(a->actual_price, s->price_prec, ap, sizeof ap);
    dec_str(a->actual_qty, s->qty_prec, aq, sizeof aq);
    json_object_set_new(j, "actualOrderId", json_string(aid));
    json_object_set_new(j, "actualPrice", json_string(ap));
    if (a->actual_order_id) {
      json_object_set_new(j, "actualType", json_string("MARKET"));
      json_object_set_new(j, "actualQty", json_string(aq));
    }
  }
  return j;
}

json_t *ex_fill_json(const ex_fill *f) {
  char q[40], p[40], qq[40], fee[40], rp[40];
  lb_dec_fmt(f->qty, q, sizeof q);
  lb_dec_fmt(f->price, p, sizeof p);
  lb_dec_fmt(f->quote, qq, sizeof qq);
  dec_str(f->fee, 8, fee, sizeof fee);
  dec_str(f->realized, 8, rp, sizeof rp);
  return json_pack("{s:b, s:s, s:s, s:I, s:b, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "buyer",
                   f->buy, "commission", fee, "commissionAsset", "USDT", "id", (json_int_t)f->id,
                   "maker", f->maker, "orderId", (json_int_t)f->order_id, "price", p, "qty", q,
                   "quoteQty", qq, "realizedPnl", rp, "side", f->buy ? "BUY" : "SELL", "positionSide",
                   "BOTH", "symbol", f->symbol, "time", (json_int_t)f->time);
}

json_t *ex_position_json(exsim *e, const ex_symbol *s) {
  char pa[40], ep[40], mp[40], up[40], lp[40], im[40], iw[40], no[40], mm[40];
  lb_dec notional = 0, maint = 0;
  lb_dec_mul(s->pos, s->mark, LB_ROUND_HALF_EVEN, &notional);
  const lb_bracket *b = lb_brackets_find(&s->brackets, lb_dec_abs(notional));
  if (b && lb_dec_mul(lb_dec_abs(notional), b->mmr, LB_ROUND_HALF_EVEN, &maint) == LB_OK) maint -= b->cum;
  if (maint < 0) maint = 0;
  dec_str(s->pos, s->qty_prec, pa, sizeof pa);
  dec_str(s->entry, 8, ep, sizeof ep);
  dec_str(s->mark, 8, mp, sizeof mp);
  dec_str(ex_unrealized(s), 8, up, sizeof up);
  dec_str(ex_liquidation_price(s), 8, lp, sizeof lp);
  dec_str(s->margin, 8, im, sizeof im);
  dec_str(s->isolated ? s->margin : 0, 8, iw, sizeof iw);
  dec_str(notional, 8, no, sizeof no);
  dec_str(maint, 8, mm, sizeof mm);
  char imr[40];
  dec_str(s->isolated ? s->margin + ex_unrealized(s) : 0, 8, imr, sizeof imr);
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, "
                   "s:i, s:s, s:s, s:I}",
                   "symbol", s->symbol, "positionSide", "BOTH", "positionAmt", pa, "entryPrice", ep,
                   "breakEvenPrice", ep, "markPrice", mp, "unRealizedProfit", up, "liquidationPrice",
                   lp, "isolatedMargin", imr, "notional", no, "marginAsset", "USDT", "isolatedWallet",
                   iw, "initialMargin", im, "maintMargin", mm, "positionInitialMargin", im,
                   "openOrderInitialMargin", "0", "adl", 0, "bidNotional", "0", "askNotional", "0",
                   "updateTime", (json_int_t)ex_server_now(e));
}
