/* binance_usdm.c -- the xchg ops of the Binance USDT-M back end.
 *
 * Each op is one or two REST calls through bn_call().  The interesting one
 * is place(): regular orders go to POST /fapi/v1/order, conditional ones
 * (stop-loss, take-profit, trailing) to the Algo Order API, and an answer
 * that leaves the outcome open (5xx, -1007, timeout) is resolved by looking
 * the order up by its client id before anything is resent (binance.h
 * invariant 1), so an order is never placed twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "exchange/binance_internal.h"

static bn *B(xchg *x) { return x->impl; }

/* ==== Small caches ==== */

static int kind_find(bn *b, const char *cid) {
  for (int i = 0; i < 256; i++)
    if (b->kinds[i].client_id[0] && strcmp(b->kinds[i].client_id, cid) == 0) return i;
  return -1;
}

/* Remembers on which endpoint family a client id lives. */
static void kind_note(bn *b, const char *cid, bool algo) {
  int i = kind_find(b, cid);
  if (i < 0) {
    i = b->kinds_next;
    b->kinds_next = (b->kinds_next + 1) % 256;
  }
  snprintf(b->kinds[i].client_id, sizeof b->kinds[i].client_id, "%s", cid);
  b->kinds[i].algo = algo;
}

static void oid_note(bn *b, const xchg_order *o) {
  char *end;
  long long id = strtoll(o->exchange_id, &end, 10);
  if (*end || id <= 0 || !o->client_id[0]) return;
  for (int i = 0; i < 256; i++)
    if (b->oids[i].order_id == id) return;
  b->oids[b->oids_next].order_id = id;
  snprintf(b->oids[b->oids_next].client_id, XCHG_ID_MAX, "%s", o->client_id);
  b->oids_next = (b->oids_next + 1) % 256;
}

static const char *oid_find(bn *b, long long id) {
  for (int i = 0; i < 256; i++)
    if (b->oids[i].order_id == id) return b->oids[i].client_id;
  return NULL;
}

static int symcfg_slot(bn *b, const char *symbol) {
  for (int i = 0; i < b->n_symcfg; i++)
    if (strcmp(b->symcfg[i].symbol, symbol) == 0) return i;
  if (b->n_symcfg == BN_MAX_SYMBOLS) return -1;
  int i = b->n_symcfg++;
  snprintf(b->symcfg[i].symbol, LB_SYMBOL_MAX, "%s", symbol);
  b->symcfg[i].leverage = 0;
  b->symcfg[i].isolated = false;
  return i;
}

static bool symbol_ok(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (n == 0 || n >= LB_SYMBOL_MAX) return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))) return false;
  return true;
}

static xchg_kind bad_symbol(xchg_error *err, const char *s) {
  return xchg_fail(err, XCHG_REJECTED, 0, "binance: symbol \"%s\" is not a symbol (A-Z, 0-9)",
                   s ? s : "(null)");
}

/* Runs a call whose query is built in q; frees q. */
static xchg_kind call(bn *b, bn_method m, const char *path, lb_buf *q, unsigned flags, int weight,
                      json_t **out, xchg_error *err) {
  xchg_kind k = bn_call(b, &b->http, m, path, q->data, flags, weight, out, err);
  lb_buf_free(q);
  return k;
}

static xchg_kind parse_failed(json_t *j, xchg_error *err, const char *what, const lb_errbuf *eb) {
  json_decref(j);
  return xchg_fail(err, XCHG_RETRYABLE, 0, "binance: unexpected %s answer: %s", what, eb->msg);
}

/* ==== Market data and account ==== */

static xchg_kind op_symbol_rules(xchg *x, const char *symbol, lb_symbol_rules *out,
                                 xchg_error *err) {
  bn *b = B(x);
  if (!symbol_ok(symbol)) return bad_symbol(err, symbol);
  lb_buf q;
  lb_buf_init(&q);
  json_t *j;
  xchg_kind k = call(b, BN_GET, "/fapi/v1/exchangeInfo", &q, 0, 1, &j, err);
  if (k != XCHG_OK) return k;
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(j, "rateLimits"), i, e) {
    if (strcmp(bn_json_str(e, "rateLimitType"), "REQUEST_WEIGHT") == 0 &&
        strcmp(bn_json_str(e, "interval"), "MINUTE") == 0 &&
        json_integer_value(json_object_get(e, "intervalNum")) == 1) {
      long lim = (long)json_integer_value(json_object_get(e, "limit"));
      if (lim > 0) {
        pthread_mutex_lock(&b->sh.mu);
        b->sh.weight_limit = lim;
        pthread_mutex_unlock(&b->sh.mu);
      }
    }
  }
  json_array_foreach(json_object_get(j, "symbols"), i, e) {
    if (strcmp(bn_json_str(e, "symbol"), symbol) != 0) continue;
    lb_errbuf eb;
    if (strcmp(bn_json_str(e, "status"), "TRADING") != 0) {
      k = xchg_fail(err, XCHG_REJECTED, 0, "binance: %s is not trading (status %s)", symbol,
                    bn_json_str(e, "status"));
      json_decref(j);
      return k;
    }
    if (bn_parse_rules(e, out, &eb) != LB_OK) return parse_failed(j, err, "exchangeInfo", &eb);
    json_decref(j);
    return XCHG_OK;
  }
  json_decref(j);
  return xchg_fail(err, XCHG_FATAL, -1121, "binance: %s is not in exchangeInfo", symbol);
}

static xchg_kind op_brackets(xchg *x, const char *symbol, lb_bracket_table *out, xchg_error *err) {
  bn *b = B(x);
  if (!symbol_ok(symbol)) return bad_symbol(err, symbol);
  lb_buf q;
  lb_buf_init(&q);
  bn_param(&q, "symbol", symbol);
  json_t *j;
  xchg_kind k = call(b, BN_GET, "/fapi/v1/leverageBracket", &q, BN_F_SIGNED, 1, &j, err);
  if (k != XCHG_OK) return k;
  /* An object when a symbol is sent, an array otherwise (and on some hosts). */
  const json_t *entry = j;
  if (json_is_array(j)) {
    entry = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(j, i, e) if (strcmp(bn_json_str(e, "symbol"), symbol) == 0) entry = e;
  }
  lb_errbuf eb;
  if (!entry || strcmp(bn_json_str(entry, "symbol"), symbol) != 0) {
    json_decref(j);
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: leverageBracket has no entry for %s", symbol);
  }
  if (bn_parse_brackets(entry, out, &eb) != LB_OK) return parse_failed(j, err, "leverageBracket", &eb);
  json_decref(j);
  if (lb_brackets_validate(out, &eb) != LB_OK)
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: brackets reported for %s fail validation: %s",
                     symbol, eb.msg);
  return XCHG_OK;
}

static xchg_kind op_balance(xchg *x, xchg_balance *out, xchg_error *err) {
  bn *b = B(x);
  memset(out, 0, sizeof *out);
  lb_buf q;
  lb_buf_init(&q);
  json_t *j;
  xchg_kind k = call(b, BN_GET, "/fapi/v3/balance", &q, BN_F_SIGNED, 5, &j, err);
  if (k != XCHG_OK) return k;
  bool found = false;
  size_t i;
  json_t *e;
  json_array_foreach(j, i, e) {
    if (strcmp(bn_json_str(e, "asset"), "USDT") != 0) continue;
    found = bn_json_dec(e, "balance", &out->wallet_balance) &&
            bn_json_dec(e, "availableBalance", &out->available_balance);
  }
  json_decref(j);
  if (!found) return xchg_fail(err, XCHG_RETRYABLE, 0, "binance: /fapi/v3/balance has no USDT row");
  /* v3 balance carries only the cross unrealized PnL; isolated positions'
   * come from positionRisk. */
  lb_buf_init(&q);
  k = call(b, BN_GET, "/fapi/v3/positionRisk", &q, BN_F_SIGNED, 5, &j, err);
  if (k != XCHG_OK) return k;
  json_array_foreach(j, i, e) {
    lb_dec up;
    if (bn_json_dec(e, "unRealizedProfit", &up)) out->unrealized_pnl += up;
  }
  json_decref(j);
  return XCHG_OK;
}

/* Leverage and margin type of a symbol (GET /fapi/v1/symbolConfig), cached. */
static xchg_kind symbol_config(bn *b, const char *symbol, int *slot, xchg_error *err) {
  int i = symcfg_slot(b, symbol);
  if (i < 0) return xchg_fail(err, XCHG_REJECTED, 0, "binance: more than %d symbols", BN_MAX_SYMBOLS);
  *slot = i;
  if (b->symcfg[i].leverage > 0) return XCHG_OK;
  lb_buf q;
  lb_buf_init(&q);
  bn_param(&q, "symbol", symbol);
  json_t *j;
  xchg_kind k = call(b, BN_GET, "/fapi/v1/symbolConfig", &q, BN_F_SIGNED, 5, &j, err);
  if (k != XCHG_OK) return k;
  const json_t *e = json_is_array(j) ? json_array_get(j, 0) : j;
  json_t *lev = json_object_get(e, "leverage");
  if (json_is_integer(lev)) b->symcfg[i].leverage = (int)json_integer_value(lev);
  b->symcfg[i].isolated = strcmp(bn_json_str(e, "marginType"), "ISOLATED") == 0;
  json_decref(j);
  return XCHG_OK;
}

static xchg_kind op_position(xchg *x, const char *symbol, xchg_position *out, xchg_error *err) {
  bn *b = B(x);
  if (!symbol_ok(symbol)) return bad_symbol(err, symbol);
  memset(out, 0, sizeof *out);
  snprintf(out->symbol, sizeof out->symbol, "%s", symbol);
  lb_buf q;
  lb_buf_init(&q);
  bn_param(&q, "symbol", symbol);
  json_t *j;
  xchg_kind k = call(b, BN_GET, "/fapi/v3/positionRisk", &q, BN_F_SIGNED, 5, &j, err);
  if (k != XCHG_OK) return k;
  size_t i;
  json_t *e;
  json_array_foreach(j, i, e) {
    if (strcmp(bn_json_str(e, "symbol"), symbol) != 0) continue;
    const char *ps = bn_json_str(e, "positionSide");
    if (*ps && strcmp(ps, "BOTH") != 0) continue; /* hedge mode is not ours */
    lb_errbuf eb;
    if (bn_parse_position(e, out, &eb) != LB_OK) return parse_failed(j, err, "positionRisk", &eb);
  }
  json_decref(j);
  int slot = -1;
  if (symbol_config(b, symbol, &slot, err) == XCHG_OK) {
    out->leverage = b->symcfg[slot].leverage; /* slot is set on XCHG_OK */
    out->isolated = b->symcfg[slot].isolated;
  } else if (err) {
    memset(err, 0, sizeof *err); /* leverage is a nicety; the position itself is known */
  }
  if (!out->updated) out->updated = bn_server_now(b);
  return XCHG_OK;
}

static xchg_kind op_set_leverage(xchg *x, const char *symbol, int leverage, xchg_error *err) {
  bn *b = B(x);
  if (!symbol_ok(symbol)) return bad_symbol(err, symbol);
  lb_buf q;
  lb_buf_init(&q);
  bn_param(&q, "symbol", symbol);
  bn_param_long(&q, "leverage", leverage);
  json_t *j;
  xchg_kind k = call(b, BN_POST, "/fapi/v1/leverage", &q, BN_F_SIGNED, 1, &j, err);
  if (k != XCHG_OK) return k;
  json_decref(j);
  int i = symcfg_slot(b, symbol);
  if (i >= 0) b->symcfg[i].leverage = leverage;
  return XCHG_OK;
}

static xchg_kind op_set_isolated(xchg *x, const char *symbol, xchg_error *err) {
  bn *b = B(x);
  if (!symbol_ok(symbol)) return bad_symbol(err, symbol);
  lb_buf q;
  lb_buf_init(&q);
  bn_param(&q, "symbol", symbol);
  bn_param(&q, "marginType", "ISOLATED");
  json_t *j;
  xchg_kind k = call(b, BN_POST, "/fapi/v1/marginType", &q, BN_F_SIGNED, 1, &j, err);
  if (k == XCHG_REJECTED && err && err->code == -4046) {
    k = XCHG_OK; /* "No need to change margin type.": already isolated */
    memset(err, 0, sizeof *err);
  }
  if (k != XCHG_OK) return k;
  json_decref(j);
  int i = symcfg_slot(b, symbol);
  if (i >= 0) b->symcfg[i].isolated = true;
  return XCHG_OK;
}

/* ==== Orders ==== */

static xchg_kind parse_any_order(bn *b, json_t *j, bool algo, xchg_order *out, xchg_error *err) {
  lb_errbuf eb;
  lb_err rc = algo ? bn_parse_algo_order(j, out, &eb) : bn_parse_order(j, out, &eb);
  if (rc != LB_OK) return parse_failed(j, err, algo ? "algoOrder" : "order", &eb);
  json_decref(j);
  kind_note(b, out->client_id, algo);
  if (!algo) oid_note(b, out);
  return XCHG_OK;
}

/* GET one order by client id on one endpoint family. */
static xchg_kind lookup_on(bn *b, const char *symbol, const char *cid, bool algo, xchg_order *out,
                           xchg_error *err) {
  lb_buf q;
  lb_buf_init(&q);
  if (algo) {
    bn_param(&q, "clientAlgoId", cid);
  } else {
    bn_param(&q, "symbol", symbol);
    bn_param(&q, "origClientOrderId", cid);
  }
  json_t *j;
  xchg_kind k = call(b, BN_GET, algo ? "/fapi/v1/algoOrder" : "/fapi/v1/order", &q, BN_F_SIGNED, 1,
                     &j, err);
  if (k != XCHG_OK) return k;
  return parse_any_order(b, j, algo, out, err);
}

static bool not_found(xchg_kind k, const xchg_error *err) {
  return k == XCHG_REJECTED && (err->code == -2013 || err->code == -2011);
}

/* Looks a client id up, on the family we know it from or on both. */
static xchg_kind lookup(bn *b, const char *symbol, const char *cid, xchg_order *out,
                        xchg_error *err) {
  int i = kind_find(b, cid);
  bool first_algo = i >= 0 && b->kinds[i].algo;
  xchg_kind k = lookup_on(b, symbol, cid, first_algo, out, err);
  if (k == XCHG_OK || !not_found(k, err) || i >= 0) return k;
  return lookup_on(b, symbol, cid, !first_algo, out, err);
}

static xchg_kind build_order(const xchg_order_req *r, bool algo, lb_buf *q, xchg_error *err) {
  bool cond = xchg_type_is_conditional(r->type);
  if (!cond && r->close_position)
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: closePosition is for conditional orders only");
  if (!r->close_position && r->qty <= 0)
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: %s quantity must be > 0", r->client_id);
  if (r->close_position && r->type == XCHG_TRAILING_STOP_MARKET)
    return xchg_fail(err, XCHG_REJECTED, 0,
                     "binance: TRAILING_STOP_MARKET cannot closePosition; send quantity + reduceOnly");
  if (algo) bn_param(q, "algoType", "CONDITIONAL");
  bn_param(q, "symbol", r->symbol);
  bn_param(q, "side", xchg_side_name(r->side));
  bn_param(q, "type", xchg_type_name(r->type));
  if (r->type == XCHG_LIMIT) {
    if (r->price <= 0) return xchg_fail(err, XCHG_REJECTED, 0, "binance: LIMIT needs a price");
    bn_param(q, "timeInForce", "GTC");
    bn_param_dec(q, "price", r->price);
  }
  if (r->type == XCHG_STOP_MARKET || r->type == XCHG_TAKE_PROFIT_MARKET) {
    if (r->trigger_price <= 0)
      return xchg_fail(err, XCHG_REJECTED, 0, "binance: %s needs a trigger price",
                       xchg_type_name(r->type));
    bn_param_dec(q, "triggerPrice", r->trigger_price);
  }
  if (r->type == XCHG_TRAILING_STOP_MARKET) {
    lb_dec cb;
    if (lb_dec_from_double(r->callback_rate, &cb) != LB_OK || cb <= 0)
      return xchg_fail(err, XCHG_REJECTED, 0, "binance: callbackRate %g invalid", r->callback_rate);
    bn_param_dec(q, "callbackRate", cb);
    if (r->activate_price > 0) bn_param_dec(q, "activatePrice", r->activate_price);
  }
  if (cond) bn_param(q, "workingType", "MARK_PRICE"); /* contract 3: triggered by the mark */
  if (r->close_position) {
    bn_param(q, "closePosition", "true");
  } else {
    bn_param_dec(q, "quantity", r->qty);
    if (r->reduce_only) bn_param(q, "reduceOnly", "true");
  }
  if (algo) {
    bn_param(q, "clientAlgoId", r->client_id);
  } else {
    bn_param(q, "newClientOrderId", r->client_id);
    bn_param(q, "newOrderRespType", "RESULT");
  }
  return XCHG_OK;
}

/* The fee and realized PnL of a filled order, from the trade history.  A
 * failed read, or a history that does not cover the filled quantity yet
 * (the trade list can lag the order's answer), is read again: a fill
 * booked without its fee would keep it out of the fills rows for good (the
 * crash test met it under injected errors). */
#define FEE_READS 3
static void add_fees(bn *b, xchg_order *o) {
  for (int a = 0; a < FEE_READS; a++) {
    if (a > 0) lb_clock_sleep(b->clock, (lb_ms)50 << (a - 1));
    lb_buf q;
    lb_buf_init(&q);
    bn_param(&q, "symbol", o->symbol);
    bn_param(&q, "orderId", o->exchange_id);
    json_t *j;
    xchg_error e;
    if (call(b, BN_GET, "/fapi/v1/userTrades", &q, BN_F_SIGNED, 5, &j, &e) != XCHG_OK) continue;
    lb_dec fee_sum = 0, pnl_sum = 0, qty_sum = 0;
    size_t i;
    json_t *t;
    json_array_foreach(j, i, t) {
      lb_dec fee, pnl, qty;
      if (bn_json_dec(t, "commission", &fee)) fee_sum += fee;
      if (bn_json_dec(t, "realizedPnl", &pnl)) pnl_sum += pnl;
      if (bn_json_dec(t, "qty", &qty)) qty_sum += qty;
    }
    json_decref(j);
    if (qty_sum < o->filled_qty && a + 1 < FEE_READS) continue;
    o->fee += fee_sum;
    o->realized_pnl += pnl_sum;
    return;
  }
}

static xchg_kind op_place(xchg *x, const xchg_order_req *r, xchg_order *out, xchg_error *err) {
  bn *b = B(x);
  memset(out, 0, sizeof *out);
  if (!symbol_ok(r->symbol)) return bad_symbol(err, r->symbol);
  if (!xchg_client_id_valid(r->client_id))
    return xchg_fail(err, XCHG_REJECTED, 0,
                     "binance: client id \"%s\" invalid (1..36 of [A-Za-z0-9._:/-])", r->client_id);
  if (r->side != XCHG_BUY && r->side != XCHG_SELL)
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: side %d invalid", (int)r->side);
  if ((unsigned)r->type > XCHG_TRAILING_STOP_MARKET)
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: order type %d invalid", (int)r->type);
  bool algo = xchg_type_is_conditional(r->type);

  /* A client id this process already placed: answer from the exchange
   * instead of placing it again (contract 1). */
  if (kind_find(b, r->client_id) >= 0) {
    xchg_kind k = lookup(b, r->symbol, r->client_id, out, err);
    if (k != XCHG_REJECTED || !not_found(k, err)) return k;
  }

  lb_buf q;
  lb_buf_init(&q);
  xchg_kind k = build_order(r, algo, &q, err);
  if (k != XCHG_OK) {
    lb_buf_free(&q);
    return k;
  }
  const char *path = algo ? "/fapi/v1/algoOrder" : "/fapi/v1/order";
  for (int attempt = 0;; attempt++) {
    json_t *j;
    k = bn_call(b, &b->http, BN_POST, path, q.data, BN_F_SIGNED | BN_F_ORDER, algo ? 0 : 1, &j, err);
    if (k == XCHG_OK) {
      k = parse_any_order(b, j, algo, out, err);
      if (k == XCHG_OK && !algo && out->status == XCHG_ST_FILLED) add_fees(b, out);
      break;
    }
    bool dup = k == XCHG_REJECTED && err->code == -4116;
    if (k != XCHG_UNKNOWN && !dup) break;
    if (!dup) BN_STAT(b, unknown_outcomes, 1);
    /* Status unknown: look the order up before any retry (invariant 1). */
    char why[200];
    snprintf(why, sizeof why, "%.190s", err->msg);
    lb_clock_sleep(b->clock, b->conf.lookup_delay_ms);
    xchg_error le;
    kind_note(b, r->client_id, algo);
    xchg_kind lk = lookup_on(b, r->symbol, r->client_id, algo, out, &le);
    if (lk == XCHG_OK) {
      BN_STAT(b, lookups_found, 1);
      LB_INFO("binance", "%s %s: %s (%s); the exchange has it as %s", path, r->client_id,
              dup ? "client id already used" : "outcome was unknown", why,
              xchg_status_name(out->status));
      if (!algo && out->status == XCHG_ST_FILLED) add_fees(b, out);
      if (err) memset(err, 0, sizeof *err);
      k = XCHG_OK;
      break;
    }
    if (not_found(lk, &le) && !dup && attempt < b->conf.order_retries) {
      BN_STAT(b, resends, 1);
      LB_WARN("binance", "%s %s: outcome unknown (%s) and not on the exchange: resending", path,
              r->client_id, why);
      continue;
    }
    if (not_found(lk, &le)) {
      k = xchg_fail(err, XCHG_RETRYABLE, 0,
                    "binance: %s %s not placed (%s); the exchange does not have it: safe to retry "
                    "with the same client id",
                    path, r->client_id, why);
    } else {
      k = xchg_fail(err, XCHG_UNKNOWN, 0, "binance: %s %s outcome unknown (%s); lookup failed: %s",
                    path, r->client_id, why, le.msg);
    }
    break;
  }
  lb_buf_free(&q);
  return k;
}

static xchg_kind cancel_on(bn *b, const char *symbol, const char *cid, bool algo, xchg_error *err) {
  lb_buf q;
  lb_buf_init(&q);
  if (algo) {
    bn_param(&q, "clientAlgoId", cid);
  } else {
    bn_param(&q, "symbol", symbol);
    bn_param(&q, "origClientOrderId", cid);
  }
  json_t *j;
  xchg_kind k = call(b, BN_DELETE, algo ? "/fapi/v1/algoOrder" : "/fapi/v1/order", &q,
                     BN_F_SIGNED | BN_F_ORDER, 1, &j, err);
  if (k == XCHG_OK) json_decref(j);
  return k;
}

static xchg_kind op_cancel(xchg *x, const char *symbol, const char *cid, xchg_error *err) {
  bn *b = B(x);
  if (!symbol_ok(symbol)) return bad_symbol(err, symbol);
  if (!xchg_client_id_valid(cid))
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: client id \"%s\" invalid", cid ? cid : "");
  int i = kind_find(b, cid);
  bool algo = i >= 0 && b->kinds[i].algo;
  xchg_kind k = cancel_on(b, symbol, cid, algo, err);
  if (i < 0 && not_found(k, err)) {
    algo = !algo;
    k = cancel_on(b, symbol, cid, algo, err);
  }
  for (int attempt = 0; k == XCHG_UNKNOWN && attempt <= b->conf.order_retries; attempt++) {
    /* The cancel may or may not have happened: ask. */
    lb_clock_sleep(b->clock, b->conf.lookup_delay_ms);
    xchg_order o;
    xchg_error le;
    xchg_kind lk = lookup_on(b, symbol, cid, algo, &o, &le);
    if (lk != XCHG_OK)
      return xchg_fail(err, XCHG_UNKNOWN, 0, "binance: cancel of %s: outcome unknown; lookup: %s",
                       cid, le.msg);
    if (o.status == XCHG_ST_CANCELED || o.status == XCHG_ST_EXPIRED) {
      if (err) memset(err, 0, sizeof *err);
      return XCHG_OK;
    }
    if (o.status != XCHG_ST_NEW && o.status != XCHG_ST_PARTIALLY_FILLED)
      return xchg_fail(err, XCHG_REJECTED, -2011, "binance: cannot cancel %s: it is %s", cid,
                       xchg_status_name(o.status));
    k = cancel_on(b, symbol, cid, algo, err);
  }
  return k;
}

static xchg_kind op_query(xchg *x, const char *symbol, const char *cid, xchg_order *out,
                          xchg_error *err) {
  bn *b = B(x);
  memset(out, 0, sizeof *out);
  if (!symbol_ok(symbol)) return bad_symbol(err, symbol);
  if (!xchg_client_id_valid(cid))
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: client id \"%s\" invalid", cid ? cid : "");
  return lookup(b, symbol, cid, out, err); /* both families when the id is new to us */
}

static xchg_kind op_open_orders(xchg *x, const char *symbol, xchg_order *out, int max, int *n,
                                xchg_error *err) {
  bn *b = B(x);
  *n = 0;
  if (symbol && !symbol_ok(symbol)) return bad_symbol(err, symbol);
  static const struct {
    const char *path;
    bool algo;
  } fam[2] = {{"/fapi/v1/openOrders", false}, {"/fapi/v1/openAlgoOrders", true}};
  for (int f = 0; f < 2; f++) {
    lb_buf q;
    lb_buf_init(&q);
    if (symbol) bn_param(&q, "symbol", symbol);
    json_t *j;
    xchg_kind k = call(b, BN_GET, fam[f].path, &q, BN_F_SIGNED, symbol ? 1 : 40, &j, err);
    if (k != XCHG_OK) return k;
    /* openAlgoOrders may wrap its rows: {"orders": [...]} on some hosts. */
    json_t *rows = json_is_array(j) ? j : json_object_get(j, "orders");
    size_t i;
    json_t *e;
    json_array_foreach(rows, i, e) {
      if (*n >= max) break;
      lb_errbuf eb;
      lb_err rc = fam[f].algo ? bn_parse_algo_order(e, &out[*n], &eb) : bn_parse_order(e, &out[*n], &eb);
      if (rc != LB_OK) return parse_failed(j, err, fam[f].path, &eb);
      kind_note(b, out[*n].client_id, fam[f].algo);
      if (!fam[f].algo) oid_note(b, &out[*n]);
      (*n)++;
    }
    json_decref(j);
  }
  return XCHG_OK;
}

/* Client id of a trade's order: from the cache, else GET /fapi/v1/order.
 * A failed lookup fails the whole read: a fill left without its client id
 * would pass for another account user's and stay out of our books (the
 * crash test met it: an entry's fill lost to one injected 503). */
static xchg_kind fill_client_id(bn *b, xchg_fill *f, long long order_id, xchg_error *err) {
  const char *c = oid_find(b, order_id);
  if (c) {
    snprintf(f->client_id, sizeof f->client_id, "%s", c);
    return XCHG_OK;
  }
  lb_buf q;
  lb_buf_init(&q);
  bn_param(&q, "symbol", f->symbol);
  bn_param_long(&q, "orderId", order_id);
  json_t *j;
  xchg_order o;
  xchg_kind k = call(b, BN_GET, "/fapi/v1/order", &q, BN_F_SIGNED, 1, &j, err);
  if (k == XCHG_OK) k = parse_any_order(b, j, false, &o, err);
  if (k == XCHG_OK) snprintf(f->client_id, sizeof f->client_id, "%s", o.client_id);
  return k;
}

static xchg_kind fills_of(bn *b, const char *symbol, lb_ms since, xchg_fill *out, int max, int *n,
                          xchg_error *err) {
  const lb_ms week = 7 * LB_MS_DAY - 1; /* userTrades spans at most 7 days */
  lb_ms now = bn_server_now(b) + LB_MS_MINUTE;
  lb_ms from = since;
  while (from <= now && *n < max) {
    lb_ms to = from + week < now ? from + week : now;
    lb_buf q;
    lb_buf_init(&q);
    bn_param(&q, "symbol", symbol);
    bn_param_long(&q, "startTime", from);
    bn_param_long(&q, "endTime", to);
    bn_param_long(&q, "limit", 1000);
    json_t *j;
    xchg_kind k = call(b, BN_GET, "/fapi/v1/userTrades", &q, BN_F_SIGNED, 5, &j, err);
    if (k != XCHG_OK) return k;
    size_t cnt = json_array_size(j), i;
    lb_ms last = from;
    json_t *t;
    json_array_foreach(j, i, t) {
      if (*n >= max) break;
      long long oid;
      lb_errbuf eb;
      if (bn_parse_fill(t, &out[*n], &oid, &eb) != LB_OK) return parse_failed(j, err, "userTrades", &eb);
      if (out[*n].time > last) last = out[*n].time;
      xchg_kind ck = fill_client_id(b, &out[*n], oid, err);
      if (ck != XCHG_OK) {
        json_decref(j);
        return ck;
      }
      (*n)++;
    }
    json_decref(j);
    /* A full page may hold more trades in the same window. */
    from = cnt >= 1000 ? last + 1 : to + 1;
  }
  return XCHG_OK;
}

static xchg_kind op_fills_since(xchg *x, const char *symbol, lb_ms since, xchg_fill *out, int max,
                                int *n, xchg_error *err) {
  bn *b = B(x);
  *n = 0;
  if (symbol) {
    if (!symbol_ok(symbol)) return bad_symbol(err, symbol);
    return fills_of(b, symbol, since, out, max, n, err);
  }
  if (b->n_symbols == 0)
    return xchg_fail(err, XCHG_REJECTED, 0,
                     "binance: userTrades needs a symbol (none given, none subscribed)");
  for (int i = 0; i < b->n_symbols; i++) {
    xchg_kind k = fills_of(b, b->symbols[i], since, out, max, n, err);
    if (k != XCHG_OK) return k;
  }
  return XCHG_OK;
}

static xchg_kind op_mark_price(xchg *x, const char *symbol, lb_dec *mark, double *funding_rate,
                               xchg_error *err) {
  bn *b = B(x);
  if (!symbol_ok(symbol)) return bad_symbol(err, symbol);
  lb_buf q;
  lb_buf_init(&q);
  bn_param(&q, "symbol", symbol);
  json_t *j;
  xchg_kind k = call(b, BN_GET, "/fapi/v1/premiumIndex", &q, 0, 1, &j, err);
  if (k != XCHG_OK) return k;
  lb_dec r = 0;
  bool ok = bn_json_dec(j, "markPrice", mark) && *mark > 0;
  bn_json_dec(j, "lastFundingRate", &r);
  json_decref(j);
  if (!ok) return xchg_fail(err, XCHG_RETRYABLE, 0, "binance: premiumIndex has no markPrice");
  if (funding_rate) *funding_rate = lb_dec_to_double(r);
  return XCHG_OK;
}

static xchg_kind op_klines(xchg *x, const char *symbol, lb_ms tf, lb_ms start, lb_ms end,
                           data_series *out, xchg_error *err) {
  bn *b = B(x);
  if (!symbol_ok(symbol)) return bad_symbol(err, symbol);
  char interval[16];
  lb_timeframe_name(tf, interval, sizeof interval);
  if (interval[0] == '?')
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: no kline interval of %lld ms", (long long)tf);
  snprintf(out->symbol, sizeof out->symbol, "%s", symbol);
  out->timeframe = tf;
  /* "Closed" is judged against the exchange's clock. */
  xchg_kind sk = bn_ensure_synced(b, &b->http, err);
  if (sk != XCHG_OK) return sk;
  lb_ms from = start;
  for (;;) {
    lb_buf q;
    lb_buf_init(&q);
    bn_param(&q, "symbol", symbol);
    bn_param(&q, "interval", interval);
    bn_param_long(&q, "startTime", from);
    bn_param_long(&q, "endTime", end - 1);
    bn_param_long(&q, "limit", 1500);
    json_t *j;
    xchg_kind k = call(b, BN_GET, "/fapi/v1/klines", &q, 0, 10, &j, err);
    if (k != XCHG_OK) return k;
    size_t cnt = json_array_size(j), i;
    lb_ms server = bn_server_now(b);
    json_t *row;
    lb_ms last_open = -1;
    json_array_foreach(j, i, row) {
      data_candle c;
      lb_ms close_time;
      lb_errbuf eb;
      if (bn_parse_kline_row(row, &c, &close_time, &eb) != LB_OK) return parse_failed(j, err, "klines", &eb);
      last_open = c.ts;
      if (c.ts < start || c.ts >= end) continue;
      /* The exchange's last row is the candle still forming. */
      if (i + 1 == cnt && close_time >= server) continue;
      if (out->n > 0 && c.ts <= out->c[out->n - 1].ts) continue;
      if (data_series_push(out, &c) != LB_OK) {
        json_decref(j);
        return xchg_fail(err, XCHG_RETRYABLE, 0, "binance: out of memory for klines");
      }
    }
    json_decref(j);
    if (cnt < 1500 || last_open < 0 || last_open + tf >= end) break;
    from = last_open + tf;
  }
  return XCHG_OK;
}

static xchg_kind op_subscribe(xchg *x, const char *const *symbols, int n, lb_ms timeframe,
                              xchg_error *err) {
  bn *b = B(x);
  if (n < 1 || n > BN_MAX_SYMBOLS)
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: subscribe needs 1..%d symbols", BN_MAX_SYMBOLS);
  char name[16];
  if (lb_timeframe_name(timeframe, name, sizeof name)[0] == '?')
    return xchg_fail(err, XCHG_REJECTED, 0, "binance: no kline interval of %lld ms",
                     (long long)timeframe);
  for (int i = 0; i < n; i++)
    if (!symbol_ok(symbols[i])) return bad_symbol(err, symbols[i]);
  bn_streams_stop(b);
  b->n_symbols = n;
  for (int i = 0; i < n; i++) snprintf(b->symbols[i], LB_SYMBOL_MAX, "%s", symbols[i]);
  lb_errbuf eb;
  if (bn_streams_start(b, timeframe, &eb) != LB_OK)
    return xchg_fail(err, XCHG_RETRYABLE, 0, "binance: cannot start streams: %s", eb.msg);
  return XCHG_OK;
}

static int op_poll_events(xchg *x, xchg_event *out, int max) { return bn_streams_drain(B(x), out, max); }

static void op_destroy(xchg *x) {
  bn *b = B(x);
  bn_streams_stop(b);
  bn_http_close(&b->http);
  bn_shared_close(&b->sh);
  memset(b->conf.api_secret, 0, sizeof b->conf.api_secret);
  memset(b->conf.api_key, 0, sizeof b->conf.api_key);
  free(b);
}

static const xchg_ops binance_ops = {
    .name = "binance_usdm",
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
    .subscribe = op_subscribe,
    .poll_events = op_poll_events,
    .destroy = op_destroy,
};

/* ==== Construction ==== */

static bool url_ok(const char *u, const char *s1, const char *s2) {
  size_t a = strlen(s1), c = strlen(s2);
  return (strncmp(u, s1, a) == 0 && u[a]) || (strncmp(u, s2, c) == 0 && u[c]);
}

/* Copies a base URL without its trailing slashes. */
static void copy_base(char *dst, size_t n, const char *src) {
  snprintf(dst, n, "%s", src);
  size_t l = strlen(dst);
  while (l > 0 && dst[l - 1] == '/') dst[--l] = '\0';
}

lb_err xchg_binance_new(const lb_config *cfg, const lb_clock *clock, xchg **out, lb_errbuf *eb) {
  *out = NULL;
  if (!url_ok(cfg->binance_rest_url, "https://", "http://"))
    return lb_fail(eb, LB_ECONFIG, "BINANCE_REST_URL=%s must start with https:// or http://",
                   cfg->binance_rest_url);
  if (!url_ok(cfg->binance_ws_market_url, "wss://", "ws://"))
    return lb_fail(eb, LB_ECONFIG, "BINANCE_WS_MARKET_URL=%s must start with wss:// or ws://",
                   cfg->binance_ws_market_url);
  if (!url_ok(cfg->binance_ws_user_url, "wss://", "ws://"))
    return lb_fail(eb, LB_ECONFIG, "BINANCE_WS_USER_URL=%s must start with wss:// or ws://",
                   cfg->binance_ws_user_url);
  if (strlen(cfg->binance_api_key) >= BN_KEY_MAX || strlen(cfg->binance_api_secret) >= BN_KEY_MAX)
    return lb_fail(eb, LB_ECONFIG, "BINANCE_API_KEY or BINANCE_API_SECRET longer than %d characters",
                   BN_KEY_MAX - 1);
  bn *b = calloc(1, sizeof *b);
  if (!b) return lb_fail(eb, LB_ENOMEM, "binance: out of memory");
  bn_conf *c = &b->conf;
  copy_base(c->rest_url, sizeof c->rest_url, cfg->binance_rest_url);
  copy_base(c->ws_market_url, sizeof c->ws_market_url, cfg->binance_ws_market_url);
  copy_base(c->ws_user_url, sizeof c->ws_user_url, cfg->binance_ws_user_url);
  snprintf(c->api_key, sizeof c->api_key, "%.255s", cfg->binance_api_key);
  snprintf(c->api_secret, sizeof c->api_secret, "%.255s", cfg->binance_api_secret);
  c->recv_window_ms = cfg->binance_recv_window_ms;
  c->time_sync_ms = cfg->binance_time_sync_seconds * LB_MS_SECOND;
  c->http_timeout_ms = cfg->binance_http_timeout_ms;
  c->weight_limit = cfg->binance_weight_limit;
  c->weight_headroom = cfg->binance_weight_headroom;
  c->max_wait_ms = cfg->binance_max_wait_seconds * LB_MS_SECOND;
  c->order_retries = (int)cfg->binance_order_retries;
  c->lookup_delay_ms = cfg->binance_lookup_delay_ms;
  c->reconnect_min_ms = cfg->binance_ws_reconnect_min_ms;
  c->reconnect_max_ms = cfg->binance_ws_reconnect_max_ms;
  if (c->reconnect_max_ms < c->reconnect_min_ms) c->reconnect_max_ms = c->reconnect_min_ms;
  c->ping_seconds = (int)cfg->binance_ws_ping_seconds;
  c->poll_ms = cfg->binance_rest_poll_ms;
  c->keepalive_ms = cfg->binance_listenkey_keepalive_seconds * LB_MS_SECOND;
  /* Secrets are masked in every log line even if a bug tried to print them. */
  lb_log_add_secret(c->api_key);
  lb_log_add_secret(c->api_secret);
  b->clock = clock;
  lb_err rc = bn_shared_init(&b->sh, c->weight_limit);
  if (rc) {
    free(b);
    return lb_fail(eb, rc, "binance: cannot create a mutex");
  }
  rc = bn_http_init(&b->http, c, eb);
  if (rc) {
    bn_shared_close(&b->sh);
    free(b);
    return rc;
  }
  b->x.ops = &binance_ops;
  b->x.impl = b;
  *out = &b->x;
  return LB_OK;
}

void xchg_binance_get_stats(xchg *x, xchg_binance_stats *out) {
  bn *b = B(x);
  pthread_mutex_lock(&b->sh.mu);
  *out = b->sh.stats;
  pthread_mutex_unlock(&b->sh.mu);
}

lb_ms xchg_binance_server_time(xchg *x) { return bn_server_now(B(x)); }
