/* exsim_rest.c -- the REST side of exsim: libmicrohttpd, Binance's checks, faults, endpoints.
 *
 * A request goes through the same gates as at Binance, in this order:
 *   1. rate limits: an IP banned (418) stays banned; a request sent while a
 *      429's Retry-After runs earns a 418 ban; request weight per minute
 *      (X-MBX-USED-WEIGHT-1M on every answer) over the limit answers 429;
 *   2. injected faults (error rate per endpoint, 429 bursts);
 *   3. API key (X-MBX-APIKEY), then for SIGNED endpoints the HMAC-SHA256
 *      signature over exactly the bytes received (query + body, signature
 *      last) and the timestamp against recvWindow (-1021);
 *   4. the endpoint itself (exsim_book.c validates like the exchange);
 *   5. "accept then 503" on order requests, added latency.
 * The state is saved before an answer leaves, so whatever a client was told
 * survives a restart of exsim.
 *
 * /_exsim/... are control endpoints for tests and operators (no auth,
 * never faulty): ground truth, faults, replay control, stream drops.
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "exsim.h"

typedef struct {
  char uri[8192];
  lb_buf body;
  bool started;
} ex_req;

typedef struct {
  int status;
  json_t *json;   /* body, or NULL with text */
  char text[128]; /* non-JSON body */
  long retry_after; /* seconds, -1 = none */
  int code;       /* Binance code of an error body, for the request log */
} ex_resp;

/* ==== Parameters ==== */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static void url_decode(const char *in, size_t n, char *out, size_t cap) {
  size_t o = 0;
  for (size_t i = 0; i < n && o + 1 < cap; i++) {
    if (in[i] == '%' && i + 2 < n && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
      out[o++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
      i += 2;
    } else {
      out[o++] = in[i] == '+' ? ' ' : in[i];
    }
  }
  out[o] = '\0';
}

static void parse_params(const char *s, ex_params *p) {
  while (s && *s && p->n < EX_MAX_PARAMS) {
    size_t len = strcspn(s, "&");
    const char *eq = memchr(s, '=', len);
    if (eq) {
      char name[32];
      url_decode(s, (size_t)(eq - s), name, sizeof name);
      if (!ex_param(p, name)) {
        snprintf(p->name[p->n], sizeof p->name[p->n], "%s", name);
        url_decode(eq + 1, len - (size_t)(eq - s) - 1, p->value[p->n], sizeof p->value[p->n]);
        p->n++;
      }
    }
    s += len;
    if (*s == '&') s++;
  }
}

/* Removes a trailing "signature=<hex>" from s (in place); copies the value. */
static bool strip_signature(char *s, char *sig, size_t n) {
  char *at = strstr(s, "signature=");
  while (at && at != s && at[-1] != '&') at = strstr(at + 1, "signature=");
  if (!at) return false;
  if (strchr(at, '&')) return false; /* not last: Binance requires it last */
  snprintf(sig, n, "%s", at + 10);
  if (at != s) at--; /* the '&' before it */
  *at = '\0';
  return true;
}

/* ==== Answers ==== */

static void err_resp(ex_resp *r, const ex_err *e) {
  r->status = e->http ? e->http : 400;
  r->code = e->code;
  r->json = json_pack("{s:i, s:s}", "code", e->code, "msg", e->msg);
}

static void fail_resp(ex_resp *r, int http, int code, const char *msg) {
  ex_err e;
  ex_fail(&e, http, code, "%s", msg);
  err_resp(r, &e);
}

static void ok(ex_resp *r, json_t *j) {
  r->status = 200;
  r->json = j;
}

/* ==== Endpoints ==== */

typedef enum { AUTH_NONE = 0, AUTH_KEY, AUTH_SIGNED } ex_auth;

typedef struct {
  const ex_params *p;
  ex_resp *r;
} ex_call;

static ex_symbol *need_symbol(exsim *e, ex_call *c) {
  const char *s = ex_param(c->p, "symbol");
  ex_symbol *sym = ex_symbol_find(e, s);
  if (!s)
    fail_resp(c->r, 400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed.");
  else if (!sym)
    fail_resp(c->r, 400, -1121, "Invalid symbol.");
  return sym;
}

static bool opt_symbol(exsim *e, ex_call *c, ex_symbol **out) {
  *out = NULL;
  if (!ex_param(c->p, "symbol")) return true;
  *out = need_symbol(e, c);
  return *out != NULL;
}

static long long param_ll(const ex_params *p, const char *name, long long def, bool *bad) {
  const char *v = ex_param(p, name);
  if (!v) return def;
  char *end;
  long long x = strtoll(v, &end, 10);
  if (end == v || *end) *bad = true;
  return x;
}

static void h_ping(exsim *e, ex_call *c) {
  (void)e;
  ok(c->r, json_object());
}

static void h_time(exsim *e, ex_call *c) { ok(c->r, json_pack("{s:I}", "serverTime", (json_int_t)ex_server_now(e))); }

static json_t *symbol_info(const ex_symbol *s) {
  char t[40], mn[40], mx[40], st[40], mq[40], xq[40], mst[40], mmq[40], mxq[40], no[40];
  const lb_symbol_rules *r = &s->rules;
  lb_dec_fmt(r->tick_size, t, sizeof t);
  lb_dec_fmt(r->min_price, mn, sizeof mn);
  lb_dec_fmt(r->max_price, mx, sizeof mx);
  lb_dec_fmt(r->step_size, st, sizeof st);
  lb_dec_fmt(r->min_qty, mq, sizeof mq);
  lb_dec_fmt(r->max_qty, xq, sizeof xq);
  lb_dec_fmt(r->market_step_size, mst, sizeof mst);
  lb_dec_fmt(r->market_min_qty, mmq, sizeof mmq);
  lb_dec_fmt(r->market_max_qty, mxq, sizeof mxq);
  lb_dec_fmt(r->min_notional, no, sizeof no);
  json_t *filters = json_pack(
      "[{s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}, {s:s, s:s, s:s, s:s}, {s:s, s:i}, {s:s, s:i}, "
      "{s:s, s:s}, {s:s, s:s, s:s, s:s}]",
      "filterType", "PRICE_FILTER", "minPrice", mn, "maxPrice", mx, "tickSize", t, "filterType",
      "LOT_SIZE", "minQty", mq, "maxQty", xq, "stepSize", st, "filterType", "MARKET_LOT_SIZE",
      "minQty", mmq, "maxQty", mxq, "stepSize", mst, "filterType", "MAX_NUM_ORDERS", "limit", 200,
      "filterType", "MAX_NUM_ALGO_ORDERS", "limit", 10, "filterType", "MIN_NOTIONAL", "notional", no,
      "filterType", "PERCENT_PRICE", "multiplierUp", "1.0500", "multiplierDown", "0.9500",
      "multiplierDecimal", "4");
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:s, s:s, s:o, s:[s,s,s,s,s,s,s], "
                   "s:[s,s,s,s]}",
                   "symbol", s->symbol, "pair", s->symbol, "contractType", "PERPETUAL", "status",
                   "TRADING", "baseAsset", r->base, "quoteAsset", r->quote, "marginAsset", "USDT",
                   "pricePrecision", s->price_prec, "quantityPrecision", s->qty_prec,
                   "baseAssetPrecision", 8, "quotePrecision", 8, "underlyingType", "COIN",
                   "triggerProtect", "0.0500", "filters", filters, "orderTypes", "LIMIT", "MARKET",
                   "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET",
                   "timeInForce", "GTC", "IOC", "FOK", "GTX");
}

static void h_exchange_info(exsim *e, ex_call *c) {
  json_t *syms = json_array();
  for (int i = 0; i < e->nsym; i++) json_array_append_new(syms, symbol_info(&e->sym[i]));
  ok(c->r, json_pack("{s:s, s:I, s:[{s:s, s:s, s:i, s:I}, {s:s, s:s, s:i, s:i}, {s:s, s:s, s:i, s:i}], "
                     "s:[], s:[{s:s, s:b}], s:o}",
                     "timezone", "UTC", "serverTime", (json_int_t)ex_server_now(e), "rateLimits",
                     "rateLimitType", "REQUEST_WEIGHT", "interval", "MINUTE", "intervalNum", 1,
                     "limit", (json_int_t)e->opt.weight_limit, "rateLimitType", "ORDERS", "interval",
                     "MINUTE", "intervalNum", 1, "limit", 1200, "rateLimitType", "ORDERS", "interval",
                     "SECOND", "intervalNum", 10, "limit", 300, "exchangeFilters", "assets", "asset",
                     "USDT", "marginAvailable", true, "symbols", syms));
}

static int klines_weight(const ex_params *p) {
  bool bad = false;
  long long l = param_ll(p, "limit", 500, &bad);
  return l < 100 ? 1 : l < 500 ? 2 : l <= 1000 ? 5 : 10;
}

static void h_klines(exsim *e, ex_call *c) {
  ex_symbol *s = need_symbol(e, c);
  if (!s) return;
  const char *iv = ex_param(c->p, "interval");
  lb_ms tf;
  if (!iv || lb_timeframe_parse(iv, &tf) != LB_OK || tf < e->tf || tf % e->tf)
    return fail_resp(c->r, 400, -1120, "Invalid interval.");
  bool bad = false;
  long long start = param_ll(c->p, "startTime", 0, &bad), end = param_ll(c->p, "endTime", 0, &bad);
  long long limit = param_ll(c->p, "limit", 500, &bad);
  if (bad || limit < 1) return fail_resp(c->r, 400, -1100, "Illegal characters found in a parameter.");
  if (limit > 1500) limit = 1500;
  if (start && end && start > end)
    return fail_resp(c->r, 400, -1023, "Start time is greater than end time.");
  ok(c->r, ex_klines(e, s, tf, start, end, (int)limit));
}

static json_t *premium(exsim *e, const ex_symbol *s) {
  char p[40], r[32];
  lb_dec_fmt_places(s->mark, 8, p, sizeof p);
  snprintf(r, sizeof r, "%.8f", ex_funding_rate(e));
  return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "symbol", s->symbol, "markPrice", p,
                   "indexPrice", p, "estimatedSettlePrice", p, "lastFundingRate", r, "interestRate",
                   "0.00010000", "nextFundingTime", (json_int_t)ex_next_funding_time(e), "time",
                   (json_int_t)ex_server_now(e));
}

static void h_premium(exsim *e, ex_call *c) {
  ex_symbol *s;
  if (!opt_symbol(e, c, &s)) return;
  if (s) return ok(c->r, premium(e, s));
  json_t *a = json_array();
  for (int i = 0; i < e->nsym; i++) json_array_append_new(a, premium(e, &e->sym[i]));
  ok(c->r, a);
}

static json_t *bracket_json(const ex_symbol *s) {
  json_t *arr = json_array();
  for (int i = 0; i < s->brackets.n; i++) {
    const lb_bracket *b = &s->brackets.tier[i];
    json_array_append_new(arr, json_pack("{s:i, s:i, s:f, s:f, s:f, s:f}", "bracket", b->bracket,
                                         "initialLeverage", b->max_leverage, "notionalCap",
                                         lb_dec_to_double(b->notional_cap), "notionalFloor",
                                         lb_dec_to_double(b->notional_floor), "maintMarginRatio",
                                         lb_dec_to_double(b->mmr), "cum", lb_dec_to_double(b->cum)));
  }
  return json_pack("{s:s, s:o}", "symbol", s->symbol, "brackets", arr);
}

static void h_brackets(exsim *e, ex_call *c) {
  ex_symbol *s;
  if (!opt_symbol(e, c, &s)) return;
  if (s) return ok(c->r, bracket_json(s));
  json_t *a = json_array();
  for (int i = 0; i < e->nsym; i++) json_array_append_new(a, bracket_json(&e->sym[i]));
  ok(c->r, a);
}

static void h_balance(exsim *e, ex_call *c) {
  char b[40], cw[40], cu[40], av[40];
  lb_dec iso = 0, cross_up = 0;
  for (int i = 0; i < e->nsym; i++) {
    if (e->sym[i].isolated) iso += e->sym[i].margin;
    else cross_up += ex_unrealized(&e->sym[i]);
  }
  lb_dec avail = ex_available(e);
  lb_dec_fmt_places(e->wallet, 8, b, sizeof b);
  lb_dec_fmt_places(e->wallet - iso, 8, cw, sizeof cw);
  lb_dec_fmt_places(cross_up, 8, cu, sizeof cu);
  lb_dec_fmt_places(avail > 0 ? avail : 0, 8, av, sizeof av);
  ok(c->r, json_pack("[{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I}]", "accountAlias", "exsim", "asset",
                     "USDT", "balance", b, "crossWalletBalance", cw, "crossUnPnl", cu,
                     "availableBalance", av, "maxWithdrawAmount", av, "marginAvailable", true,
                     "updateTime", (json_int_t)ex_server_now(e)));
}

static bool has_open(exsim *e, const char *symbol) {
  for (size_t i = 0; i < e->n_orders; i++)
    if (e->orders[i].status == EX_NEW && strcmp(e->orders[i].symbol, symbol) == 0) return true;
  for (size_t i = 0; i < e->n_algos; i++)
    if (e->algos[i].status == EX_A_NEW && strcmp(e->algos[i].symbol, symbol) == 0) return true;
  return false;
}

static void h_position_risk(exsim *e, ex_call *c) {
  ex_symbol *s;
  if (!opt_symbol(e, c, &s)) return;
  json_t *a = json_array();
  for (int i = 0; i < e->nsym; i++) {
    ex_symbol *y = &e->sym[i];
    if (s && y != s) continue;
    if (y->pos != 0 || has_open(e, y->symbol)) json_array_append_new(a, ex_position_json(e, y));
  }
  ok(c->r, a);
}

static void h_symbol_config(exsim *e, ex_call *c) {
  ex_symbol *s;
  if (!opt_symbol(e, c, &s)) return;
  json_t *a = json_array();
  for (int i = 0; i < e->nsym; i++) {
    ex_symbol *y = &e->sym[i];
    if (s && y != s) continue;
    char mx[40];
    lb_dec_fmt(ex_max_notional(y, y->leverage), mx, sizeof mx);
    json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:i, s:s}", "symbol", y->symbol, "marginType",
                                       y->isolated ? "ISOLATED" : "CROSSED", "isAutoAddMargin", "false",
                                       "leverage", y->leverage, "maxNotionalValue", mx));
  }
  ok(c->r, a);
}

static void h_leverage(exsim *e, ex_call *c) {
  ex_symbol *s = need_symbol(e, c);
  if (!s) return;
  bool bad = false;
  long long lev = param_ll(c->p, "leverage", -1, &bad);
  if (bad || !ex_param(c->p, "leverage"))
    return fail_resp(c->r, 400, -1102, "Mandatory parameter 'leverage' was not sent, was empty/null, or malformed.");
  ex_err err;
  if (!ex_set_leverage(e, s, (int)(lev > 1000 ? 1000 : lev < -1 ? -1 : lev), &err)) return err_resp(c->r, &err);
  char mx[40];
  lb_dec_fmt(ex_max_notional(s, s->leverage), mx, sizeof mx);
  ok(c->r, json_pack("{s:i, s:s, s:s}", "leverage", s->leverage, "maxNotionalValue", mx, "symbol", s->symbol));
}

static void h_margin_type(exsim *e, ex_call *c) {
  ex_symbol *s = need_symbol(e, c);
  if (!s) return;
  const char *t = ex_param(c->p, "marginType");
  if (!t || (strcmp(t, "ISOLATED") != 0 && strcmp(t, "CROSSED") != 0))
    return fail_resp(c->r, 400, -1130, "Data sent for parameter 'marginType' is not valid.");
  ex_err err;
  if (!ex_set_margin_type(e, s, strcmp(t, "ISOLATED") == 0, &err)) return err_resp(c->r, &err);
  ok(c->r, json_pack("{s:i, s:s}", "code", 200, "msg", "success"));
}

static void h_new_order(exsim *e, ex_call *c) {
  ex_order *o;
  ex_err err;
  if (!ex_new_order(e, c->p, &o, &err)) return err_resp(c->r, &err);
  ok(c->r, ex_order_json(e, o, false));
}

static ex_order *find_order(exsim *e, ex_call *c, ex_symbol *s, int missing_code, const char *missing_msg) {
  bool bad = false;
  long long id = param_ll(c->p, "orderId", 0, &bad);
  const char *cid = ex_param(c->p, "origClientOrderId");
  if (!id && !cid) {
    fail_resp(c->r, 400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!");
    return NULL;
  }
  ex_order *o = id ? ex_order_by_id(e, id) : ex_order_by_client(e, s->symbol, cid);
  if (o && strcmp(o->symbol, s->symbol) != 0) o = NULL;
  if (!o) fail_resp(c->r, 400, missing_code, missing_msg);
  return o;
}

static void h_get_order(exsim *e, ex_call *c) {
  ex_symbol *s = need_symbol(e, c);
  if (!s) return;
  ex_order *o = find_order(e, c, s, -2013, "Order does not exist.");
  if (o) ok(c->r, ex_order_json(e, o, true));
}

static void h_cancel_order(exsim *e, ex_call *c) {
  ex_symbol *s = need_symbol(e, c);
  if (!s) return;
  ex_order *o = find_order(e, c, s, -2011, "Unknown order sent.");
  if (!o) return;
  ex_err err;
  if (!ex_cancel_order(e, o, &err)) return err_resp(c->r, &err);
  ok(c->r, ex_order_json(e, o, false));
}

static void h_new_algo(exsim *e, ex_call *c) {
  ex_algo *a;
  ex_err err;
  if (!ex_new_algo(e, c->p, &a, &err)) return err_resp(c->r, &err);
  ok(c->r, ex_algo_json(e, a, false));
}

static ex_algo *find_algo(exsim *e, ex_call *c, int missing_code, const char *missing_msg) {
  bool bad = false;
  long long id = param_ll(c->p, "algoId", 0, &bad);
  const char *cid = ex_param(c->p, "clientAlgoId");
  if (!id && !cid) {
    fail_resp(c->r, 400, -1102, "Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!");
    return NULL;
  }
  ex_algo *a = id ? ex_algo_by_id(e, id) : ex_algo_by_client(e, cid);
  const char *sym = ex_param(c->p, "symbol");
  if (a && sym && strcmp(sym, a->symbol) != 0) a = NULL;
  if (!a) fail_resp(c->r, 400, missing_code, missing_msg);
  return a;
}

static void h_get_algo(exsim *e, ex_call *c) {
  ex_algo *a = find_algo(e, c, -2013, "Order does not exist.");
  if (a) ok(c->r, ex_algo_json(e, a, true));
}

static void h_cancel_algo(exsim *e, ex_call *c) {
  ex_algo *a = find_algo(e, c, -2011, "Unknown order sent.");
  if (!a) return;
  ex_err err;
  if (!ex_cancel_algo(e, a, &err)) return err_resp(c->r, &err);
  ok(c->r, json_pack("{s:I, s:s, s:s, s:s}", "algoId", (json_int_t)a->id, "clientAlgoId", a->client_id,
                     "code", "200", "msg", "success"));
}

static void h_open_orders(exsim *e, ex_call *c) {
  ex_symbol *s;
  if (!opt_symbol(e, c, &s)) return;
  json_t *a = json_array();
  for (size_t i = 0; i < e->n_orders; i++) {
    const ex_order *o = &e->orders[i];
    if ((o->status == EX_NEW || o->status == EX_PARTIALLY_FILLED) && (!s || strcmp(o->symbol, s->symbol) == 0))
      json_array_append_new(a, ex_order_json(e, o, true));
  }
  ok(c->r, a);
}

static void h_open_algos(exsim *e, ex_call *c) {
  ex_symbol *s;
  if (!opt_symbol(e, c, &s)) return;
  json_t *a = json_array();
  for (size_t i = 0; i < e->n_algos; i++) {
    const ex_algo *x = &e->algos[i];
    if (x->status == EX_A_NEW && (!s || strcmp(x->symbol, s->symbol) == 0))
      json_array_append_new(a, ex_algo_json(e, x, false));
  }
  ok(c->r, a);
}

static void h_all_algos(exsim *e, ex_call *c) {
  ex_symbol *s = need_symbol(e, c);
  if (!s) return;
  json_t *a = json_array();
  for (size_t i = 0; i < e->n_algos; i++)
    if (strcmp(e->algos[i].symbol, s->symbol) == 0) json_array_append_new(a, ex_algo_json(e, &e->algos[i], true));
  ok(c->r, a);
}

static void h_cancel_all(exsim *e, ex_call *c) {
  ex_symbol *s = need_symbol(e, c);
  if (!s) return;
  ex_err err;
  for (size_t i = 0; i < e->n_orders; i++)
    if (e->orders[i].status == EX_NEW && strcmp(e->orders[i].symbol, s->symbol) == 0)
      ex_cancel_order(e, &e->orders[i], &err);
  ok(c->r, json_pack("{s:i, s:s}", "code", 200, "msg", "The operation of cancel all open order is done."));
}

static void h_cancel_all_algos(exsim *e, ex_call *c) {
  ex_symbol *s = need_symbol(e, c);
  if (!s) return;
  ex_err err;
  for (size_t i = 0; i < e->n_algos; i++)
    if (e->algos[i].status == EX_A_NEW && strcmp(e->algos[i].symbol, s->symbol) == 0)
      ex_cancel_algo(e, &e->algos[i], &err);
  ok(c->r, json_pack("{s:i, s:s}", "code", 200, "msg", "The operation of cancel all open order is done."));
}

static void h_user_trades(exsim *e, ex_call *c) {
  ex_symbol *s = need_symbol(e, c);
  if (!s) return;
  bool bad = false;
  long long start = param_ll(c->p, "startTime", 0, &bad), end = param_ll(c->p, "endTime", 0, &bad);
  long long from = param_ll(c->p, "fromId", 0, &bad), oid = param_ll(c->p, "orderId", 0, &bad);
  long long limit = param_ll(c->p, "limit", 500, &bad);
  if (bad) return fail_resp(c->r, 400, -1100, "Illegal characters found in a parameter.");
  if (limit < 1 || limit > 1000) limit = limit < 1 ? 500 : 1000;
  if (start && end && end - start > 7 * LB_MS_DAY)
    return fail_resp(c->r, 400, -1127, "More than 7 days between startTime and endTime.");
  if (!start && !end && !from) start = ex_server_now(e) - 7 * LB_MS_DAY;
  if (start && !end) end = start + 7 * LB_MS_DAY;
  json_t *a = json_array();
  for (size_t i = 0; i < e->n_fills && (long long)json_array_size(a) < limit; i++) {
    const ex_fill *f = &e->fills[i];
    if (strcmp(f->symbol, s->symbol) != 0 || (oid && f->order_id != oid) || f->id < from) continue;
    if ((start && f->time < start) || (end && f->time > end)) continue;
    json_array_append_new(a, ex_fill_json(f));
  }
  ok(c->r, a);
}

static void new_listen_key(exsim *e) {
  static const char al[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  for (int i = 0; i < 64; i++) e->listen_key[i] = al[ex_rand(e) % (sizeof al - 1)];
  e->listen_key[64] = '\0';
}

static void h_listen_key(exsim *e, ex_call *c, const char *method) {
  lb_ms now = ex_server_now(e);
  bool live = e->listen_key[0] && now < e->listen_key_expiry;
  const char *given = ex_param(c->p, "listenKey");
  if (strcmp(method, "POST") == 0) {
    if (!live) new_listen_key(e);
    e->listen_key_expiry = now + e->opt.listenkey_ttl_ms;
    e->dirty = true;
    return ok(c->r, json_pack("{s:s}", "listenKey", e->listen_key));
  }
  if (!live || (given && strcmp(given, e->listen_key) != 0))
    return fail_resp(c->r, 400, -1125, "This listenKey does not exist.");
  if (strcmp(method, "PUT") == 0) {
    e->listen_key_expiry = now + e->opt.listenkey_ttl_ms;
    e->dirty = true;
    return ok(c->r, json_pack("{s:s}", "listenKey", e->listen_key));
  }
  e->listen_key[0] = '\0';
  e->listen_key_expiry = 0;
  e->dirty = true;
  ok(c->r, json_object());
}

typedef struct {
  const char *method, *path;
  ex_auth auth;
  int weight; /* -1: computed */
  void (*fn)(exsim *, ex_call *);
  bool order; /* places an order: "accept then 503" applies */
} ex_route;

static void h_listen_post(exsim *e, ex_call *c) { h_listen_key(e, c, "POST"); }
static void h_listen_put(exsim *e, ex_call *c) { h_listen_key(e, c, "PUT"); }
static void h_listen_del(exsim *e, ex_call *c) { h_listen_key(e, c, "DELETE"); }

static const ex_route routes[] = {
    {"GET", "/fapi/v1/ping", AUTH_NONE, 1, h_ping, false},
    {"GET", "/fapi/v1/time", AUTH_NONE, 1, h_time, false},
    {"GET", "/fapi/v1/exchangeInfo", AUTH_NONE, 1, h_exchange_info, false},
    {"GET", "/fapi/v1/klines", AUTH_NONE, -1, h_klines, false},
    {"GET", "/fapi/v1/premiumIndex", AUTH_NONE, 1, h_premium, false},
    {"GET", "/fapi/v1/leverageBracket", AUTH_SIGNED, 1, h_brackets, false},
    {"GET", "/fapi/v3/balance", AUTH_SIGNED, 5, h_balance, false},
    {"GET", "/fapi/v2/balance", AUTH_SIGNED, 5, h_balance, false},
    {"GET", "/fapi/v3/positionRisk", AUTH_SIGNED, 5, h_position_risk, false},
    {"GET", "/fapi/v1/symbolConfig", AUTH_SIGNED, 5, h_symbol_config, false},
    {"POST", "/fapi/v1/leverage", AUTH_SIGNED, 1, h_leverage, false},
    {"POST", "/fapi/v1/marginType", AUTH_SIGNED, 1, h_margin_type, false},
    {"POST", "/fapi/v1/order", AUTH_SIGNED, 1, h_new_order, true},
    {"GET", "/fapi/v1/order", AUTH_SIGNED, 1, h_get_order, false},
    {"DELETE", "/fapi/v1/order", AUTH_SIGNED, 1, h_cancel_order, false},
    {"POST", "/fapi/v1/algoOrder", AUTH_SIGNED, 0, h_new_algo, true},
    {"GET", "/fapi/v1/algoOrder", AUTH_SIGNED, 1, h_get_algo, false},
    {"DELETE", "/fapi/v1/algoOrder", AUTH_SIGNED, 1, h_cancel_algo, false},
    {"GET", "/fapi/v1/openOrders", AUTH_SIGNED, -1, h_open_orders, false},
    {"GET", "/fapi/v1/openAlgoOrders", AUTH_SIGNED, -1, h_open_algos, false},
    {"GET", "/fapi/v1/allAlgoOrders", AUTH_SIGNED, 5, h_all_algos, false},
    {"DELETE", "/fapi/v1/allOpenOrders", AUTH_SIGNED, 1, h_cancel_all, false},
    {"DELETE", "/fapi/v1/algoOpenOrders", AUTH_SIGNED, 1, h_cancel_all_algos, false},
    {"GET", "/fapi/v1/userTrades", AUTH_SIGNED, 5, h_user_trades, false},
    {"POST", "/fapi/v1/listenKey", AUTH_KEY, 1, h_listen_post, false},
    {"PUT", "/fapi/v1/listenKey", AUTH_KEY, 1, h_listen_put, false},
    {"DELETE", "/fapi/v1/listenKey", AUTH_KEY, 1, h_listen_del, false},
};

static int route_weight(const ex_route *rt, const ex_params *p) {
  if (rt->weight >= 0) return rt->weight;
  if (rt->fn == h_klines) return klines_weight(p);
  return ex_param(p, "symbol") ? 1 : 40; /* openOrders / openAlgoOrders without a symbol */
}

/* ==== Faults ==== */

static const ex_fault_ep *fault_for(const exsim *e, const char *method, const char *path) {
  char key[80];
  snprintf(key, sizeof key, "%.7s %.70s", method, path);
  for (int i = 0; i < e->faults.n_ep; i++)
    if (strcmp(e->faults.ep[i].endpoint, key) == 0) return &e->faults.ep[i];
  for (int i = 0; i < e->faults.n_ep; i++)
    if (strcmp(e->faults.ep[i].endpoint, "*") == 0) return &e->faults.ep[i];
  return NULL;
}

static void injected_error(const exsim *e, ex_resp *r) {
  r->status = e->faults.error_status ? e->faults.error_status : 503;
  if (e->faults.error_code) {
    r->code = e->faults.error_code;
    r->json = json_pack("{s:i, s:s}", "code", e->faults.error_code, "msg",
                        e->faults.error_code == -1008
                            ? "Server is currently overloaded with other requests. Please try again in a few minutes."
                            : "Internal error; unable to process your request. Please try again.");
  } else {
    snprintf(r->text, sizeof r->text, "Service Unavailable");
  }
}

/* Applies the fault object of POST /_exsim/faults (fields absent = unchanged). */
static bool faults_apply(exsim *e, const json_t *j, char *why, size_t n) {
  if (!json_is_object(j)) return snprintf(why, n, "body must be a JSON object"), false;
  ex_faults *f = &e->faults;
  json_t *v;
  if ((v = json_object_get(j, "error_rate"))) {
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
      ex_fault_ep *ep = NULL;
      for (int i = 0; i < f->n_ep; i++)
        if (strcmp(f->ep[i].endpoint, k) == 0) ep = &f->ep[i];
      if (!ep && f->n_ep < EX_FAULT_ENDPOINTS) {
        ep = &f->ep[f->n_ep++];
        memset(ep, 0, sizeof *ep);
        snprintf(ep->endpoint, sizeof ep->endpoint, "%s", k);
      }
      if (ep) ep->error_rate = json_number_value(x);
    }
  }
  if ((v = json_object_get(j, "latency_ms"))) {
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x) {
      ex_fault_ep *ep = NULL;
      for (int i = 0; i < f->n_ep; i++)
        if (strcmp(f->ep[i].endpoint, k) == 0) ep = &f->ep[i];
      if (!ep && f->n_ep < EX_FAULT_ENDPOINTS) {
        ep = &f->ep[f->n_ep++];
        memset(ep, 0, sizeof *ep);
        snprintf(ep->endpoint, sizeof ep->endpoint, "%s", k);
      }
      if (ep) ep->latency_ms = (lb_ms)json_number_value(x);
    }
  }
  if ((v = json_object_get(j, "error_status"))) f->error_status = (int)json_integer_value(v);
  if ((v = json_object_get(j, "error_code"))) f->error_code = (int)json_integer_value(v);
  if ((v = json_object_get(j, "burst_429"))) f->burst_429 = (int)json_integer_value(v);
  if ((v = json_object_get(j, "retry_after_s"))) f->retry_after_s = (int)json_integer_value(v);
  if ((v = json_object_get(j, "clock_skew_ms"))) f->clock_skew_ms = (lb_ms)json_integer_value(v);
  if ((v = json_object_get(j, "accept_then_503"))) f->accept_then_503 = (int)json_integer_value(v);
  if ((v = json_object_get(j, "accept_then_503_rate"))) f->accept_then_503_rate = json_number_value(v);
  if ((v = json_object_get(j, "ws_refuse_ms")))
    f->ws_refuse_until = ex_server_now(e) + (lb_ms)json_integer_value(v);
  if ((v = json_object_get(j, "ws_drop_every_ms"))) f->ws_drop_every_ms = (lb_ms)json_integer_value(v);
  return true;
}

static json_t *faults_json(const exsim *e) {
  const ex_faults *f = &e->faults;
  json_t *rate = json_object(), *lat = json_object();
  for (int i = 0; i < f->n_ep; i++) {
    json_object_set_new(rate, f->ep[i].endpoint, json_real(f->ep[i].error_rate));
    json_object_set_new(lat, f->ep[i].endpoint, json_integer(f->ep[i].latency_ms));
  }
  return json_pack("{s:o, s:o, s:i, s:i, s:i, s:i, s:I, s:i, s:f, s:I, s:I}", "error_rate", rate,
                   "latency_ms", lat, "error_status", f->error_status, "error_code", f->error_code,
                   "burst_429", f->burst_429, "retry_after_s", f->retry_after_s, "clock_skew_ms",
                   (json_int_t)f->clock_skew_ms, "accept_then_503", f->accept_then_503,
                   "accept_then_503_rate", f->accept_then_503_rate, "ws_refuse_until",
                   (json_int_t)f->ws_refuse_until, "ws_drop_every_ms", (json_int_t)f->ws_drop_every_ms);
}

/* ==== Control endpoints ==== */

static json_t *requests_json(const exsim *e, long since) {
  json_t *a = json_array();
  long first = e->reqlog_seq - EX_REQLOG > since ? e->reqlog_seq - EX_REQLOG : since;
  for (long s = first; s < e->reqlog_seq; s++) {
    const ex_reqlog *l = &e->reqlog[s % EX_REQLOG];
    json_array_append_new(a, json_pack("{s:i, s:I, s:I, s:s, s:s, s:s, s:i, s:i}", "seq", (int)l->seq, "time",
                                       (json_int_t)l->time, "time_us", (json_int_t)l->recv_us, "method",
                                       l->method, "path", l->path, "client_id", l->client_id, "status",
                                       l->status, "code", l->code));
  }
  return a;
}

static void control(exsim *e, const char *method, const char *path, const ex_params *p, const char *body,
                    ex_resp *r) {
  char why[200] = "";
  bool post = strcmp(method, "POST") == 0;
  if (strcmp(path, "/_exsim/state") == 0) return ok(r, ex_state_json(e));
  if (strcmp(path, "/_exsim/requests") == 0) {
    bool bad = false;
    return ok(r, requests_json(e, (long)param_ll(p, "since", 0, &bad)));
  }
  if (strcmp(path, "/_exsim/faults") == 0) {
    if (strcmp(method, "DELETE") == 0) memset(&e->faults, 0, sizeof e->faults);
    if (post) {
      json_error_t je;
      json_t *j = json_loads(body, 0, &je);
      bool good = j && faults_apply(e, j, why, sizeof why);
      if (!j) snprintf(why, sizeof why, "invalid JSON: %s", je.text);
      json_decref(j);
      if (!good) return fail_resp(r, 400, -1, why);
    }
    return ok(r, faults_json(e));
  }
  if (!post) return fail_resp(r, 405, -1, "use POST");
  if (strcmp(path, "/_exsim/pause") == 0 || strcmp(path, "/_exsim/resume") == 0) {
    e->paused = strcmp(path, "/_exsim/pause") == 0;
    pthread_cond_broadcast(&e->cv);
    return ok(r, json_pack("{s:b}", "paused", e->paused));
  }
  if (strcmp(path, "/_exsim/step") == 0) {
    bool bad = false;
    long long n = param_ll(p, "n", 1, &bad);
    int done = 0;
    while (done < n && ex_replay_tick(e)) done++;
    return ok(r, json_pack("{s:i, s:I}", "ticks", done, "market_time", (json_int_t)e->market_now));
  }
  if (strcmp(path, "/_exsim/mark") == 0) {
    ex_symbol *s = ex_symbol_find(e, ex_param(p, "symbol"));
    lb_dec px;
    if (!s || !ex_param(p, "price") || lb_dec_parse(ex_param(p, "price"), &px) != LB_OK || px <= 0)
      return fail_resp(r, 400, -1, "need symbol=<known symbol>&price=<decimal>");
    s->mark = s->last = px;
    s->mark_override = true;
    ex_on_mark(e, s);
    ex_publish_mark(e, s);
    e->dirty = true;
    return ok(r, json_pack("{s:s, s:s}", "symbol", s->symbol, "mark", ex_param(p, "price")));
  }
  if (strcmp(path, "/_exsim/ws/drop") == 0) {
    const char *w = ex_param(p, "which");
    bool m = !w || strcmp(w, "all") == 0 || strcmp(w, "market") == 0;
    bool u = !w || strcmp(w, "all") == 0 || strcmp(w, "user") == 0;
    ex_ws_drop(e, m, u);
    return ok(r, json_pack("{s:b, s:b}", "market", m, "user", u));
  }
  if (strcmp(path, "/_exsim/listenkey/expire") == 0) {
    e->listen_key[0] = '\0';
    e->listen_key_expiry = 0;
    e->dirty = true;
    /* silent=1: the key is gone but nobody is told (the next keep-alive gets -1125) */
    const char *silent = ex_param(p, "silent");
    if (!silent || strcmp(silent, "1") != 0) ex_ws_listenkey_expired(e);
    return ok(r, json_object());
  }
  if (strcmp(path, "/_exsim/adl") == 0) {
    ex_symbol *s = ex_symbol_find(e, ex_param(p, "symbol"));
    ex_err err;
    if (!s) return fail_resp(r, 400, -1121, "Invalid symbol.");
    if (!ex_adl(e, s, &err)) return err_resp(r, &err);
    return ok(r, json_object());
  }
  if (strcmp(path, "/_exsim/shutdown") == 0) {
    atomic_store(&e->stop, true);
    pthread_cond_broadcast(&e->cv);
    return ok(r, json_object());
  }
  fail_resp(r, 404, -1, "unknown control endpoint");
}

/* ==== Request handling ==== */

static bool verify_signature(exsim *e, char *query, char *body, ex_resp *r) {
  char sig[130] = "";
  bool in_q = strip_signature(query, sig, sizeof sig), in_b = !in_q && strip_signature(body, sig, sizeof sig);
  if (!in_q && !in_b) {
    fail_resp(r, 400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.");
    return false;
  }
  lb_buf total;
  lb_buf_init(&total);
  lb_buf_puts(&total, query);
  lb_buf_puts(&total, body);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  HMAC(EVP_sha256(), e->opt.api_secret, (int)strlen(e->opt.api_secret), (const unsigned char *)total.data,
       total.len, md, &md_len);
  lb_buf_free(&total);
  char hex[65];
  for (unsigned i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
  if (strcasecmp(hex, sig) != 0) {
    e->cnt.bad_signature++;
    fail_resp(r, 400, -1022, "Signature for this request is not valid.");
    return false;
  }
  return true;
}

static bool verify_timestamp(exsim *e, const ex_params *p, ex_resp *r) {
  bool bad = false;
  long long ts = param_ll(p, "timestamp", 0, &bad);
  long long rw = param_ll(p, "recvWindow", 5000, &bad);
  if (!ex_param(p, "timestamp") || bad) {
    fail_resp(r, 400, -1102, "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.");
    return false;
  }
  if (rw <= 0 || rw > 60000) {
    fail_resp(r, 400, -1130, "Data sent for parameter 'recvWindow' is not valid.");
    return false;
  }
  lb_ms now = ex_server_now(e);
  if (ts >= now + 1000 || now - ts > rw) {
    e->cnt.bad_timestamp++;
    fail_resp(r, 400, -1021, "Timestamp for this request is outside of the recvWindow.");
    return false;
  }
  return true;
}

static void log_request(exsim *e, const char *method, const char *path, const ex_params *p, const ex_resp *r,
                        int64_t recv_us) {
  ex_reqlog *l = &e->reqlog[e->reqlog_seq % EX_REQLOG];
  l->seq = e->reqlog_seq++;
  l->time = ex_server_now(e);
  l->recv_us = recv_us;
  snprintf(l->method, sizeof l->method, "%s", method);
  snprintf(l->path, sizeof l->path, "%.47s", path);
  const char *cid = ex_param(p, "newClientOrderId");
  if (!cid) cid = ex_param(p, "clientAlgoId");
  if (!cid) cid = ex_param(p, "origClientOrderId");
  snprintf(l->client_id, sizeof l->client_id, "%s", cid ? cid : "");
  l->status = r->status;
  l->code = r->code;
}

/* The API path: returns the added latency to apply after unlocking. */
static lb_ms api(exsim *e, struct MHD_Connection *con, const char *method, const char *path, char *query,
                 char *body, ex_resp *r, int64_t recv_us) {
  const ex_route *rt = NULL;
  bool path_known = false;
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
    if (strcmp(routes[i].path, path) == 0) {
      path_known = true;
      if (strcmp(routes[i].method, method) == 0) rt = &routes[i];
    }
  if (!rt) {
    r->status = path_known ? 405 : 404;
    snprintf(r->text, sizeof r->text, path_known ? "Method Not Allowed" : "Not Found");
    return 0;
  }
  ex_params p = {0};
  parse_params(query, &p);
  parse_params(body, &p);
  lb_ms now = ex_server_now(e);
  e->cnt.requests++;
  const ex_fault_ep *fep = fault_for(e, method, path);
  lb_ms latency = fep ? fep->latency_ms : 0;

  /* 1. rate limits */
  if (now < e->ban_until || now < e->retry_after_until) {
    if (now >= e->ban_until) e->ban_until = now + (lb_ms)e->opt.ban_seconds * 1000;
    e->cnt.r418++;
    r->status = 418;
    r->retry_after = (long)((e->ban_until - now + 999) / 1000);
    r->code = -1003;
    r->json = json_pack("{s:i, s:s}", "code", -1003, "msg", "Way too many requests; IP banned.");
    goto done;
  }
  lb_ms minute = now / 60000;
  if (minute != e->weight_minute) {
    e->weight_minute = minute;
    e->weight_used = 0;
  }
  e->weight_used += route_weight(rt, &p);
  /* 2. faults */
  if (e->faults.burst_429 > 0 || e->weight_used > e->opt.weight_limit) {
    long ra = e->faults.burst_429 > 0 ? (e->faults.retry_after_s > 0 ? e->faults.retry_after_s : 1)
                                      : (long)((60000 - now % 60000 + 999) / 1000);
    if (e->faults.burst_429 > 0) e->faults.burst_429--;
    e->retry_after_until = now + ra * 1000;
    e->cnt.r429++;
    r->status = 429;
    r->retry_after = ra;
    r->code = -1003;
    r->json = json_pack("{s:i, s:s}", "code", -1003, "msg",
                        "Too many requests; current limit is exceeded. Please use the websocket for live updates.");
    goto done;
  }
  if (fep && fep->error_rate > 0 && ex_rand01(e) < fep->error_rate) {
    e->cnt.errors_injected++;
    injected_error(e, r);
    goto done;
  }
  /* 3. auth */
  if (rt->auth != AUTH_NONE) {
    const char *key = MHD_lookup_connection_value(con, MHD_HEADER_KIND, "X-MBX-APIKEY");
    if (!key || !*key) {
      e->cnt.bad_key++;
      fail_resp(r, 401, -2014, "API-key format invalid.");
      goto done;
    }
    if (strcmp(key, e->opt.api_key) != 0) {
      e->cnt.bad_key++;
      fail_resp(r, 401, -2015, "Invalid API-key, IP, or permissions for action.");
      goto done;
    }
  }
  if (rt->auth == AUTH_SIGNED && (!verify_signature(e, query, body, r) || !verify_timestamp(e, &p, r)))
    goto done;
  /* 4. the endpoint */
  ex_call c = {&p, r};
  rt->fn(e, &c);
  if (e->dirty) ex_state_flush(e);
  /* 5. accepted, but the client hears 503 */
  if (rt->order && r->status == 200 &&
      (e->faults.accept_then_503 > 0 ||
       (e->faults.accept_then_503_rate > 0 && ex_rand01(e) < e->faults.accept_then_503_rate))) {
    if (e->faults.accept_then_503 > 0) e->faults.accept_then_503--;
    e->cnt.accepted_then_503++;
    json_decref(r->json);
    r->status = 503;
    r->code = -1007;
    r->json = json_pack("{s:i, s:s}", "code", -1007, "msg",
                        "Timeout waiting for response from backend server. Send status unknown; execution status unknown.");
  }
done:
  log_request(e, method, path, &p, r, recv_us);
  return latency;
}

static enum MHD_Result send_resp(struct MHD_Connection *con, exsim *e, ex_resp *r, bool api_call) {
  char *text = r->json ? json_dumps(r->json, JSON_COMPACT) : NULL;
  const char *out = text ? text : r->text;
  struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(out), (void *)out, MHD_RESPMEM_MUST_COPY);
  free(text);
  json_decref(r->json);
  if (!resp) return MHD_NO;
  MHD_add_response_header(resp, "Content-Type", r->json || text ? "application/json" : "text/plain");
  if (api_call) {
    char w[32];
    pthread_mutex_lock(&e->mu);
    snprintf(w, sizeof w, "%ld", e->weight_used);
    pthread_mutex_unlock(&e->mu);
    MHD_add_response_header(resp, "X-MBX-USED-WEIGHT-1M", w);
  }
  if (r->retry_after >= 0) {
    char ra[32];
    snprintf(ra, sizeof ra, "%ld", r->retry_after);
    MHD_add_response_header(resp, "Retry-After", ra);
  }
  enum MHD_Result ret = MHD_queue_response(con, (unsigned)r->status, resp);
  MHD_destroy_response(resp);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **req_cls) {
  (void)url, (void)version;
  exsim *e = cls;
  ex_req *q = *req_cls;
  if (!q) return MHD_NO;
  if (!q->started) {
    q->started = true;
    return MHD_YES;
  }
  if (*upload_size) {
    if (q->body.len + *upload_size > (1u << 20)) return MHD_NO;
    lb_buf_append(&q->body, upload, *upload_size);
    *upload_size = 0;
    return MHD_YES;
  }
  char path[256];
  size_t pl = strcspn(q->uri, "?");
  snprintf(path, sizeof path, "%.*s", (int)(pl < 255 ? pl : 255), q->uri);
  char *query = q->uri[pl] == '?' ? q->uri + pl + 1 : q->uri + pl;
  char *body = q->body.data;
  ex_resp r = {.status = 500, .retry_after = -1};
  bool api_call = strncmp(path, "/_exsim/", 8) != 0;
  lb_ms latency = 0;
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  int64_t recv_us = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
  pthread_mutex_lock(&e->mu);
  if (api_call) {
    latency = api(e, con, method, path, query, body, &r, recv_us);
  } else {
    ex_params p = {0};
    parse_params(query, &p);
    control(e, method, path, &p, body, &r);
    if (e->dirty) ex_state_flush(e);
  }
  pthread_mutex_unlock(&e->mu);
  if (latency > 0) {
    struct timespec ts = {(time_t)(latency / 1000), (long)(latency % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  return send_resp(con, e, &r, api_call);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con) {
  (void)cls, (void)con;
  ex_req *q = calloc(1, sizeof *q);
  if (!q) return NULL;
  snprintf(q->uri, sizeof q->uri, "%s", uri);
  lb_buf_init(&q->body);
  return q;
}

static void on_done(void *cls, struct MHD_Connection *con, void **req_cls, enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)con, (void)toe;
  ex_req *q = *req_cls;
  if (!q) return;
  lb_buf_free(&q->body);
  free(q);
  *req_cls = NULL;
}

lb_err ex_rest_start(exsim *e, lb_errbuf *eb) {
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)e->opt.port);
  if (inet_pton(AF_INET, e->opt.host, &sa.sin_addr) != 1)
    return lb_fail(eb, LB_EINVAL, "--host %s is not an IPv4 address", e->opt.host);
  e->mhd = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG,
                            (uint16_t)e->opt.port, NULL, NULL, on_request, e, MHD_OPTION_SOCK_ADDR, &sa,
                            MHD_OPTION_URI_LOG_CALLBACK, on_uri, e, MHD_OPTION_NOTIFY_COMPLETED, on_done, e,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_END);
  if (!e->mhd) return lb_fail(eb, LB_EIO, "cannot listen on %s:%d", e->opt.host, e->opt.port);
  const union MHD_DaemonInfo *di = MHD_get_daemon_info(e->mhd, MHD_DAEMON_INFO_BIND_PORT);
  e->rest_port = di ? di->port : e->opt.port;
  return LB_OK;
}

void ex_rest_stop(exsim *e) {
  if (e->mhd) MHD_stop_daemon(e->mhd);
  e->mhd = NULL;
}
