/* binance_json.c -- Binance payloads to xchg structs: orders, positions, rules, stream events.
 *
 * Binance sends decimals as strings ("42503.50") and a few as JSON numbers
 * (leverageBracket); both go through lb_dec so no float noise reaches a
 * ledger.  Every parser validates what it reads and names the field it
 * refuses; a stream message that does not parse yields no event rather
 * than a half-filled one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exchange/binance_internal.h"

/* ==== Field helpers ==== */

bool bn_json_dec(const json_t *obj, const char *key, lb_dec *out) {
  *out = 0;
  const json_t *v = json_object_get(obj, key);
  if (json_is_string(v)) {
    const char *s = json_string_value(v);
    if (!*s) return false;
    return lb_dec_parse(s, out) == LB_OK;
  }
  if (json_is_integer(v)) {
    json_int_t i = json_integer_value(v);
    if (i > INT64_MAX / LB_DEC_SCALE || i < -(INT64_MAX / LB_DEC_SCALE)) return false;
    *out = LB_DEC_INT(i);
    return true;
  }
  if (json_is_real(v)) return lb_dec_from_double(json_real_value(v), out) == LB_OK;
  return false;
}

lb_ms bn_json_ms(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  if (json_is_integer(v)) return (lb_ms)json_integer_value(v);
  if (json_is_string(v)) {
    char *end;
    long long x = strtoll(json_string_value(v), &end, 10);
    if (end != json_string_value(v) && *end == '\0') return (lb_ms)x;
  }
  return 0;
}

const char *bn_json_str(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  return json_is_string(v) ? json_string_value(v) : "";
}

bool bn_json_bool(const json_t *obj, const char *key) {
  const json_t *v = json_object_get(obj, key);
  if (json_is_boolean(v)) return json_is_true(v);
  if (json_is_string(v)) return strcmp(json_string_value(v), "true") == 0;
  return false;
}

/* An id that arrives as a number or a string, as text. */
static void id_text(const json_t *obj, const char *key, char *out, size_t n) {
  const json_t *v = json_object_get(obj, key);
  if (json_is_integer(v))
    snprintf(out, n, "%lld", (long long)json_integer_value(v));
  else if (json_is_string(v))
    snprintf(out, n, "%s", json_string_value(v));
  else if (n)
    out[0] = '\0';
}

static void copy_str(char *dst, size_t n, const char *src) { snprintf(dst, n, "%s", src); }

bool bn_parse_side(const char *s, xchg_side *out) {
  if (strcmp(s, "BUY") == 0) *out = XCHG_BUY;
  else if (strcmp(s, "SELL") == 0) *out = XCHG_SELL;
  else return false;
  return true;
}

bool bn_parse_type(const char *s, xchg_type *out) {
  static const struct {
    const char *name;
    xchg_type t;
  } map[] = {{"MARKET", XCHG_MARKET},
             {"LIMIT", XCHG_LIMIT},
             {"STOP_MARKET", XCHG_STOP_MARKET},
             {"TAKE_PROFIT_MARKET", XCHG_TAKE_PROFIT_MARKET},
             {"TRAILING_STOP_MARKET", XCHG_TRAILING_STOP_MARKET},
             {"LIQUIDATION", XCHG_MARKET}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(s, map[i].name) == 0) {
      *out = map[i].t;
      return true;
    }
  return false;
}

bool bn_parse_status(const char *s, xchg_status *out) {
  static const struct {
    const char *name;
    xchg_status st;
  } map[] = {{"NEW", XCHG_ST_NEW},           {"PARTIALLY_FILLED", XCHG_ST_PARTIALLY_FILLED},
             {"FILLED", XCHG_ST_FILLED},     {"CANCELED", XCHG_ST_CANCELED},
             {"REJECTED", XCHG_ST_REJECTED}, {"EXPIRED", XCHG_ST_EXPIRED},
             {"EXPIRED_IN_MATCH", XCHG_ST_EXPIRED}};
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (strcmp(s, map[i].name) == 0) {
      *out = map[i].st;
      return true;
    }
  return false;
}

/* algoStatus: NEW TRIGGERING TRIGGERED FINISHED CANCELED REJECTED EXPIRED. */
bool bn_parse_algo_status(const char *s, xchg_status *out) {
  if (strcmp(s, "TRIGGERING") == 0 || strcmp(s, "TRIGGERED") == 0) {
    *out = XCHG_ST_TRIGGERED;
    return true;
  }
  if (strcmp(s, "FINISHED") == 0) {
    *out = XCHG_ST_FILLED;
    return true;
  }
  return bn_parse_status(s, out);
}

/* ==== REST objects ==== */

lb_err bn_parse_order(const json_t *o, xchg_order *out, lb_errbuf *eb) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(o)) return lb_fail(eb, LB_EPARSE, "order: not a JSON object");
  copy_str(out->symbol, sizeof out->symbol, bn_json_str(o, "symbol"));
  copy_str(out->client_id, sizeof out->client_id, bn_json_str(o, "clientOrderId"));
  id_text(o, "orderId", out->exchange_id, sizeof out->exchange_id);
  const char *side = bn_json_str(o, "side"), *status = bn_json_str(o, "status");
  const char *type = bn_json_str(o, "origType");
  if (!*type) type = bn_json_str(o, "type");
  if (!out->symbol[0] || !out->exchange_id[0])
    return lb_fail(eb, LB_EPARSE, "order: symbol or orderId missing");
  if (!bn_parse_side(side, &out->side)) return lb_fail(eb, LB_EPARSE, "order: side \"%s\"", side);
  if (!bn_parse_type(type, &out->type)) return lb_fail(eb, LB_EPARSE, "order: type \"%s\"", type);
  if (!bn_parse_status(status, &out->status))
    return lb_fail(eb, LB_EPARSE, "order: status \"%s\"", status);
  out->reduce_only = bn_json_bool(o, "reduceOnly");
  out->close_position = bn_json_bool(o, "closePosition");
  bn_json_dec(o, "origQty", &out->qty);
  bn_json_dec(o, "executedQty", &out->filled_qty);
  bn_json_dec(o, "avgPrice", &out->avg_price);
  bn_json_dec(o, "price", &out->price);
  bn_json_dec(o, "stopPrice", &out->trigger_price);
  out->updated = bn_json_ms(o, "updateTime");
  out->created = bn_json_ms(o, "time");
  if (!out->created) out->created = out->updated;
  return LB_OK;
}

lb_err bn_parse_algo_order(const json_t *o, xchg_order *out, lb_errbuf *eb) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(o)) return lb_fail(eb, LB_EPARSE, "algo order: not a JSON object");
  copy_str(out->symbol, sizeof out->symbol, bn_json_str(o, "symbol"));
  copy_str(out->client_id, sizeof out->client_id, bn_json_str(o, "clientAlgoId"));
  id_text(o, "algoId", out->exchange_id, sizeof out->exchange_id);
  const char *side = bn_json_str(o, "side"), *status = bn_json_str(o, "algoStatus");
  const char *type = bn_json_str(o, "orderType");
  if (!out->symbol[0] || !out->exchange_id[0])
    return lb_fail(eb, LB_EPARSE, "algo order: symbol or algoId missing");
  if (!bn_parse_side(side, &out->side))
    return lb_fail(eb, LB_EPARSE, "algo order: side \"%s\"", side);
  if (!bn_parse_type(type, &out->type) || !xchg_type_is_conditional(out->type))
    return lb_fail(eb, LB_EPARSE, "algo order: orderType \"%s\"", type);
  if (!bn_parse_algo_status(status, &out->status))
    return lb_fail(eb, LB_EPARSE, "algo order: algoStatus \"%s\"", status);
  out->reduce_only = bn_json_bool(o, "reduceOnly");
  out->close_position = bn_json_bool(o, "closePosition");
  bn_json_dec(o, "quantity", &out->qty);
  bn_json_dec(o, "triggerPrice", &out->trigger_price);
  bn_json_dec(o, "price", &out->price);
  if (!bn_json_dec(o, "actualQty", &out->filled_qty)) bn_json_dec(o, "executedQty", &out->filled_qty);
  if (!bn_json_dec(o, "actualPrice", &out->avg_price)) bn_json_dec(o, "avgPrice", &out->avg_price);
  out->created = bn_json_ms(o, "createTime");
  out->updated = bn_json_ms(o, "updateTime");
  return LB_OK;
}

lb_err bn_parse_position(const json_t *o, xchg_position *out, lb_errbuf *eb) {
  memset(out, 0, sizeof *out);
  if (!json_is_object(o)) return lb_fail(eb, LB_EPARSE, "position: not a JSON object");
  copy_str(out->symbol, sizeof out->symbol, bn_json_str(o, "symbol"));
  if (!out->symbol[0]) return lb_fail(eb, LB_EPARSE, "position: symbol missing");
  if (!bn_json_dec(o, "positionAmt", &out->qty))
    return lb_fail(eb, LB_EPARSE, "position %s: positionAmt missing", out->symbol);
  bn_json_dec(o, "entryPrice", &out->entry_price);
  bn_json_dec(o, "markPrice", &out->mark_price);
  bn_json_dec(o, "liquidationPrice", &out->liquidation_price);
  bn_json_dec(o, "unRealizedProfit", &out->unrealized_pnl);
  if (!bn_json_dec(o, "isolatedWallet", &out->isolated_margin) || out->isolated_margin == 0)
    bn_json_dec(o, "isolatedMargin", &out->isolated_margin);
  out->isolated = out->isolated_margin > 0;
  out->updated = bn_json_ms(o, "updateTime");
  return LB_OK;
}

static const json_t *find_filter(const json_t *filters, const char *type) {
  size_t i;
  const json_t *f;
  json_array_foreach(filters, i, f) if (strcmp(bn_json_str(f, "filterType"), type) == 0) return f;
  return NULL;
}

lb_err bn_parse_rules(const json_t *s, lb_symbol_rules *r, lb_errbuf *eb) {
  memset(r, 0, sizeof *r);
  const char *sym = bn_json_str(s, "symbol");
  if (!*sym || strlen(sym) >= sizeof r->symbol)
    return lb_fail(eb, LB_EPARSE, "exchangeInfo: symbol \"%s\" invalid", sym);
  copy_str(r->symbol, sizeof r->symbol, sym);
  copy_str(r->base, sizeof r->base, bn_json_str(s, "baseAsset"));
  copy_str(r->quote, sizeof r->quote, bn_json_str(s, "quoteAsset"));
  const json_t *filters = json_object_get(s, "filters");
  const json_t *pf = find_filter(filters, "PRICE_FILTER");
  const json_t *lot = find_filter(filters, "LOT_SIZE");
  const json_t *mlot = find_filter(filters, "MARKET_LOT_SIZE");
  const json_t *mn = find_filter(filters, "MIN_NOTIONAL");
  if (!pf || !lot) return lb_fail(eb, LB_EPARSE, "exchangeInfo %s: PRICE_FILTER or LOT_SIZE missing", sym);
  if (!bn_json_dec(pf, "tickSize", &r->tick_size) || r->tick_size <= 0)
    return lb_fail(eb, LB_EPARSE, "exchangeInfo %s: tickSize \"%s\" invalid", sym,
                   bn_json_str(pf, "tickSize"));
  bn_json_dec(pf, "minPrice", &r->min_price);
  bn_json_dec(pf, "maxPrice", &r->max_price);
  if (!bn_json_dec(lot, "stepSize", &r->step_size) || r->step_size <= 0)
    return lb_fail(eb, LB_EPARSE, "exchangeInfo %s: LOT_SIZE stepSize \"%s\" invalid", sym,
                   bn_json_str(lot, "stepSize"));
  bn_json_dec(lot, "minQty", &r->min_qty);
  bn_json_dec(lot, "maxQty", &r->max_qty);
  if (mlot) {
    bn_json_dec(mlot, "stepSize", &r->market_step_size);
    bn_json_dec(mlot, "minQty", &r->market_min_qty);
    bn_json_dec(mlot, "maxQty", &r->market_max_qty);
  }
  if (r->market_step_size <= 0) r->market_step_size = r->step_size;
  if (mn) bn_json_dec(mn, "notional", &r->min_notional);
  return LB_OK;
}

lb_err bn_parse_brackets(const json_t *e, lb_bracket_table *t, lb_errbuf *eb) {
  memset(t, 0, sizeof *t);
  copy_str(t->symbol, sizeof t->symbol, bn_json_str(e, "symbol"));
  const json_t *arr = json_object_get(e, "brackets");
  if (!json_is_array(arr) || json_array_size(arr) == 0)
    return lb_fail(eb, LB_EPARSE, "leverageBracket %s: no brackets", t->symbol);
  if (json_array_size(arr) > LB_BRACKETS_MAX)
    return lb_fail(eb, LB_ERANGE, "leverageBracket %s: %zu brackets (at most %d)", t->symbol,
                   json_array_size(arr), LB_BRACKETS_MAX);
  size_t i;
  const json_t *b;
  json_array_foreach(arr, i, b) {
    lb_bracket *x = &t->tier[i];
    json_t *br = json_object_get(b, "bracket"), *il = json_object_get(b, "initialLeverage");
    if (!json_is_integer(br) || !json_is_integer(il) ||
        !bn_json_dec(b, "notionalFloor", &x->notional_floor) ||
        !bn_json_dec(b, "notionalCap", &x->notional_cap) ||
        !bn_json_dec(b, "maintMarginRatio", &x->mmr) || !bn_json_dec(b, "cum", &x->cum))
      return lb_fail(eb, LB_EPARSE, "leverageBracket %s: bracket %zu has a missing field",
                     t->symbol, i + 1);
    x->bracket = (int)json_integer_value(br);
    x->max_leverage = (int)json_integer_value(il);
    t->n++;
  }
  return LB_OK;
}

static bool row_double(const json_t *row, size_t i, double *out) {
  const json_t *v = json_array_get(row, i);
  if (json_is_string(v)) {
    char *end;
    *out = strtod(json_string_value(v), &end);
    return end != json_string_value(v) && *end == '\0';
  }
  if (json_is_number(v)) {
    *out = json_number_value(v);
    return true;
  }
  return false;
}

lb_err bn_parse_kline_row(const json_t *row, data_candle *c, lb_ms *close_time, lb_errbuf *eb) {
  memset(c, 0, sizeof *c);
  if (!json_is_array(row) || json_array_size(row) < 7 || !json_is_integer(json_array_get(row, 0)))
    return lb_fail(eb, LB_EPARSE, "kline: row is not [openTime, o, h, l, c, v, closeTime, ...]");
  c->ts = (lb_ms)json_integer_value(json_array_get(row, 0));
  *close_time = (lb_ms)json_integer_value(json_array_get(row, 6));
  if (!row_double(row, 1, &c->open) || !row_double(row, 2, &c->high) ||
      !row_double(row, 3, &c->low) || !row_double(row, 4, &c->close) ||
      !row_double(row, 5, &c->volume))
    return lb_fail(eb, LB_EPARSE, "kline %lld: a price or the volume is not a number",
                   (long long)c->ts);
  return data_candle_check(c, eb);
}

lb_err bn_parse_fill(const json_t *t, xchg_fill *f, long long *order_id, lb_errbuf *eb) {
  memset(f, 0, sizeof *f);
  copy_str(f->symbol, sizeof f->symbol, bn_json_str(t, "symbol"));
  id_text(t, "id", f->trade_id, sizeof f->trade_id);
  const json_t *oid = json_object_get(t, "orderId");
  *order_id = json_is_integer(oid) ? (long long)json_integer_value(oid) : 0;
  if (!f->symbol[0] || !f->trade_id[0] || !*order_id)
    return lb_fail(eb, LB_EPARSE, "userTrades: symbol, id or orderId missing");
  if (!bn_parse_side(bn_json_str(t, "side"), &f->side))
    return lb_fail(eb, LB_EPARSE, "userTrades %s: side \"%s\"", f->trade_id, bn_json_str(t, "side"));
  if (!bn_json_dec(t, "qty", &f->qty) || !bn_json_dec(t, "price", &f->price))
    return lb_fail(eb, LB_EPARSE, "userTrades %s: qty or price missing", f->trade_id);
  bn_json_dec(t, "commission", &f->fee);
  bn_json_dec(t, "realizedPnl", &f->realized_pnl);
  f->time = bn_json_ms(t, "time");
  return LB_OK;
}

/* ==== Stream messages ==== */

/* Combined streams wrap the payload: {"stream": "...", "data": {...}}. */
static const json_t *payload(const json_t *msg) {
  const json_t *d = json_object_get(msg, "data");
  return json_is_object(d) ? d : msg;
}

int bn_parse_market_msg(const json_t *msg, xchg_event *out, int max) {
  const json_t *d = payload(msg);
  const char *e = bn_json_str(d, "e");
  if (max < 1) return 0;
  xchg_event *ev = &out[0];
  memset(ev, 0, sizeof *ev);
  if (strcmp(e, "kline") == 0) {
    const json_t *k = json_object_get(d, "k");
    if (!json_is_object(k) || !bn_json_bool(k, "x")) return 0; /* only closed candles */
    lb_ms tf;
    if (lb_timeframe_parse(bn_json_str(k, "i"), &tf) != LB_OK) return 0;
    data_candle c = {.ts = bn_json_ms(k, "t")};
    lb_dec o, h, l, cl, v;
    if (!bn_json_dec(k, "o", &o) || !bn_json_dec(k, "h", &h) || !bn_json_dec(k, "l", &l) ||
        !bn_json_dec(k, "c", &cl) || !bn_json_dec(k, "v", &v) || c.ts <= 0)
      return 0;
    c.open = lb_dec_to_double(o);
    c.high = lb_dec_to_double(h);
    c.low = lb_dec_to_double(l);
    c.close = lb_dec_to_double(cl);
    c.volume = lb_dec_to_double(v);
    if (data_candle_check(&c, NULL) != LB_OK) return 0;
    ev->type = XCHG_EV_CANDLE;
    ev->time = bn_json_ms(d, "E");
    copy_str(ev->symbol, sizeof ev->symbol, bn_json_str(k, "s"));
    ev->candle = c;
    ev->timeframe = tf;
    return ev->symbol[0] ? 1 : 0;
  }
  if (strcmp(e, "markPriceUpdate") == 0) {
    lb_dec r = 0;
    if (!bn_json_dec(d, "p", &ev->price) || ev->price <= 0) return 0;
    bn_json_dec(d, "r", &r);
    ev->type = XCHG_EV_MARK;
    ev->time = bn_json_ms(d, "E");
    ev->rate = lb_dec_to_double(r);
    copy_str(ev->symbol, sizeof ev->symbol, bn_json_str(d, "s"));
    return ev->symbol[0] ? 1 : 0;
  }
  return 0;
}

static bool is_liquidation(const char *cid, const char *type, const char *exec) {
  return strncmp(cid, "autoclose-", 10) == 0 || strcmp(cid, "adl_autoclose") == 0 ||
         strcmp(type, "LIQUIDATION") == 0 || strcmp(exec, "CALCULATED") == 0;
}

static int order_update(const json_t *d, xchg_event *out, int max) {
  const json_t *o = json_object_get(d, "o");
  if (!json_is_object(o) || max < 1) return 0;
  xchg_order ord = {0};
  copy_str(ord.symbol, sizeof ord.symbol, bn_json_str(o, "s"));
  copy_str(ord.client_id, sizeof ord.client_id, bn_json_str(o, "c"));
  id_text(o, "i", ord.exchange_id, sizeof ord.exchange_id);
  const char *type = bn_json_str(o, "ot");
  if (!*type) type = bn_json_str(o, "o");
  const char *exec = bn_json_str(o, "x");
  if (!bn_parse_side(bn_json_str(o, "S"), &ord.side) || !ord.symbol[0]) return 0;
  if (!bn_parse_type(type, &ord.type)) ord.type = XCHG_MARKET;
  if (!bn_parse_status(bn_json_str(o, "X"), &ord.status)) return 0;
  ord.reduce_only = bn_json_bool(o, "R");
  ord.close_position = bn_json_bool(o, "cp");
  bn_json_dec(o, "q", &ord.qty);
  bn_json_dec(o, "z", &ord.filled_qty);
  bn_json_dec(o, "ap", &ord.avg_price);
  bn_json_dec(o, "p", &ord.price);
  bn_json_dec(o, "sp", &ord.trigger_price);
  ord.updated = bn_json_ms(o, "T");
  if (!ord.updated) ord.updated = bn_json_ms(d, "T");

  xchg_event *ev = &out[0];
  memset(ev, 0, sizeof *ev);
  ev->time = ord.updated ? ord.updated : bn_json_ms(d, "E");
  copy_str(ev->symbol, sizeof ev->symbol, ord.symbol);
  lb_dec last_qty = 0;
  bn_json_dec(o, "l", &last_qty);
  bool trade = (strcmp(exec, "TRADE") == 0 || strcmp(exec, "CALCULATED") == 0) && last_qty > 0;
  if (trade) {
    xchg_fill *f = &ev->fill;
    copy_str(f->symbol, sizeof f->symbol, ord.symbol);
    copy_str(f->client_id, sizeof f->client_id, ord.client_id);
    id_text(o, "t", f->trade_id, sizeof f->trade_id);
    f->side = ord.side;
    f->qty = last_qty;
    bn_json_dec(o, "L", &f->price);
    bn_json_dec(o, "n", &f->fee);
    bn_json_dec(o, "rp", &f->realized_pnl);
    f->time = ev->time;
    ev->type = is_liquidation(ord.client_id, bn_json_str(o, "o"), exec) ? XCHG_EV_LIQUIDATION
                                                                        : XCHG_EV_FILL;
  } else {
    ev->type = XCHG_EV_ORDER;
  }
  ev->order = ord;
  return 1;
}

static int account_update(const json_t *d, xchg_event *out, int max) {
  const json_t *a = json_object_get(d, "a");
  if (!json_is_object(a)) return 0;
  lb_ms t = bn_json_ms(d, "T") ? bn_json_ms(d, "T") : bn_json_ms(d, "E");
  bool funding = strcmp(bn_json_str(a, "m"), "FUNDING_FEE") == 0;
  const json_t *P = json_object_get(a, "P");
  int n = 0;
  size_t i;
  const json_t *x;
  json_array_foreach(json_object_get(a, "B"), i, x) {
    if (strcmp(bn_json_str(x, "a"), "USDT") != 0 || n >= max) continue;
    xchg_event *ev = &out[n];
    memset(ev, 0, sizeof *ev);
    if (!bn_json_dec(x, "wb", &ev->amount)) continue;
    ev->type = XCHG_EV_BALANCE;
    ev->time = t;
    n++;
    if (funding && n < max) {
      xchg_event *fe = &out[n];
      memset(fe, 0, sizeof *fe);
      fe->type = XCHG_EV_FUNDING;
      fe->time = t;
      bn_json_dec(x, "bc", &fe->amount);
      if (json_array_size(P) > 0)
        copy_str(fe->symbol, sizeof fe->symbol, bn_json_str(json_array_get(P, 0), "s"));
      n++;
    }
  }
  json_array_foreach(P, i, x) {
    if (n >= max) break;
    xchg_event *ev = &out[n];
    memset(ev, 0, sizeof *ev);
    xchg_position *p = &ev->position;
    copy_str(p->symbol, sizeof p->symbol, bn_json_str(x, "s"));
    if (!p->symbol[0] || !bn_json_dec(x, "pa", &p->qty)) continue;
    bn_json_dec(x, "ep", &p->entry_price);
    bn_json_dec(x, "up", &p->unrealized_pnl);
    bn_json_dec(x, "iw", &p->isolated_margin);
    p->isolated = strcmp(bn_json_str(x, "mt"), "isolated") == 0;
    p->updated = t;
    ev->type = XCHG_EV_POSITION;
    ev->time = t;
    copy_str(ev->symbol, sizeof ev->symbol, p->symbol);
    n++;
  }
  return n;
}

static int algo_update(const json_t *d, xchg_event *out, int max) {
  const json_t *o = json_object_get(d, "o");
  if (!json_is_object(o) || max < 1) return 0;
  xchg_event *ev = &out[0];
  memset(ev, 0, sizeof *ev);
  xchg_order *ord = &ev->order;
  copy_str(ord->symbol, sizeof ord->symbol, bn_json_str(o, "s"));
  copy_str(ord->client_id, sizeof ord->client_id, bn_json_str(o, "caid"));
  id_text(o, "aid", ord->exchange_id, sizeof ord->exchange_id);
  if (!ord->symbol[0] || !bn_parse_side(bn_json_str(o, "S"), &ord->side) ||
      !bn_parse_type(bn_json_str(o, "o"), &ord->type) ||
      !bn_parse_algo_status(bn_json_str(o, "X"), &ord->status))
    return 0;
  ord->reduce_only = bn_json_bool(o, "R");
  ord->close_position = bn_json_bool(o, "cp");
  bn_json_dec(o, "q", &ord->qty);
  bn_json_dec(o, "tp", &ord->trigger_price);
  bn_json_dec(o, "p", &ord->price);
  bn_json_dec(o, "aq", &ord->filled_qty);
  bn_json_dec(o, "ap", &ord->avg_price);
  ord->updated = bn_json_ms(d, "T") ? bn_json_ms(d, "T") : bn_json_ms(d, "E");
  ev->type = XCHG_EV_ORDER;
  ev->time = ord->updated;
  copy_str(ev->symbol, sizeof ev->symbol, ord->symbol);
  return 1;
}

int bn_parse_user_msg(const json_t *msg, xchg_event *out, int max) {
  const json_t *d = payload(msg);
  const char *e = bn_json_str(d, "e");
  if (strcmp(e, "ORDER_TRADE_UPDATE") == 0) return order_update(d, out, max);
  if (strcmp(e, "ACCOUNT_UPDATE") == 0) return account_update(d, out, max);
  if (strcmp(e, "ALGO_UPDATE") == 0) return algo_update(d, out, max);
  return 0;
}
