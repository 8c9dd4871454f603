/* exsim_store.c -- exsim's state file and its ground-truth view (GET /_exsim/state).
 *
 * One JSON document serves both: it is what GET /_exsim/state answers and
 * what --state FILE holds, so a crash test reads exactly what survives a
 * restart.  Money is written as exact decimal strings.  The file is
 * replaced atomically (write to FILE.tmp, fsync, rename) after every
 * request that changed something and at most once a second during the
 * replay, before any answer leaves: what a client was told is on disk.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "exsim.h"

static json_t *dec(lb_dec v) {
  char s[LB_DEC_STRLEN];
  lb_dec_fmt(v, s, sizeof s);
  return json_string(s);
}

static lb_dec get_dec(const json_t *o, const char *k) {
  lb_dec v = 0;
  const char *s = json_string_value(json_object_get(o, k));
  if (s) lb_dec_parse(s, &v);
  return v;
}

static long long get_ll(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }
static bool get_b(const json_t *o, const char *k) { return json_is_true(json_object_get(o, k)); }
static void get_s(const json_t *o, const char *k, char *out, size_t n) {
  const char *s = json_string_value(json_object_get(o, k));
  snprintf(out, n, "%s", s ? s : "");
}

static const char *const ost[] = {"NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "EXPIRED", "REJECTED"};
static const char *const ast[] = {"NEW", "TRIGGERED", "FINISHED", "CANCELED", "EXPIRED", "REJECTED"};

static int index_of(const char *const *names, int n, const char *s) {
  for (int i = 0; i < n; i++)
    if (s && strcmp(names[i], s) == 0) return i;
  return 0;
}

static json_t *order_state(const ex_order *o) {
  json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:I, s:I}", "id", (json_int_t)o->id,
                        "client_id", o->client_id, "symbol", o->symbol, "side", o->buy ? "BUY" : "SELL",
                        "type", o->type, "orig_type", o->orig_type, "status", ost[o->status], "reduce_only",
                        o->reduce_only, "close_position", o->close_position, "time", (json_int_t)o->time,
                        "update_time", (json_int_t)o->update_time);
  json_object_set_new(j, "qty", dec(o->qty));
  json_object_set_new(j, "price", dec(o->price));
  json_object_set_new(j, "executed", dec(o->executed));
  json_object_set_new(j, "avg_price", dec(o->avg_price));
  json_object_set_new(j, "cum_quote", dec(o->cum_quote));
  json_object_set_new(j, "stop_price", dec(o->stop_price));
  return j;
}

static void order_load(const json_t *j, ex_order *o) {
  memset(o, 0, sizeof *o);
  o->id = get_ll(j, "id");
  get_s(j, "client_id", o->client_id, sizeof o->client_id);
  get_s(j, "symbol", o->symbol, sizeof o->symbol);
  char side[8];
  get_s(j, "side", side, sizeof side);
  o->buy = strcmp(side, "BUY") == 0;
  get_s(j, "type", o->type, sizeof o->type);
  get_s(j, "orig_type", o->orig_type, sizeof o->orig_type);
  o->status = (ex_ost)index_of(ost, 6, json_string_value(json_object_get(j, "status")));
  o->reduce_only = get_b(j, "reduce_only");
  o->close_position = get_b(j, "close_position");
  o->time = get_ll(j, "time");
  o->update_time = get_ll(j, "update_time");
  o->qty = get_dec(j, "qty");
  o->price = get_dec(j, "price");
  o->executed = get_dec(j, "executed");
  o->avg_price = get_dec(j, "avg_price");
  o->cum_quote = get_dec(j, "cum_quote");
  o->stop_price = get_dec(j, "stop_price");
}

static json_t *algo_state(const ex_algo *a) {
  json_t *j = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:s, s:I, s:I, s:I, s:I}", "id",
                        (json_int_t)a->id, "client_id", a->client_id, "symbol", a->symbol, "side",
                        a->buy ? "BUY" : "SELL", "type", a->type, "status", ast[a->status], "activated",
                        a->activated, "close_position", a->close_position, "reduce_only", a->reduce_only,
                        "working_type", a->working_type, "actual_order_id", (json_int_t)a->actual_order_id,
                        "create_time", (json_int_t)a->create_time, "update_time", (json_int_t)a->update_time,
                        "trigger_time", (json_int_t)a->trigger_time);
  json_object_set_new(j, "qty", dec(a->qty));
  json_object_set_new(j, "trigger", dec(a->trigger));
  json_object_set_new(j, "activate", dec(a->activate));
  json_object_set_new(j, "callback", dec(a->callback));
  json_object_set_new(j, "extreme", dec(a->extreme));
  json_object_set_new(j, "actual_qty", dec(a->actual_qty));
  json_object_set_new(j, "actual_price", dec(a->actual_price));
  return j;
}

static void algo_load(const json_t *j, ex_algo *a) {
  memset(a, 0, sizeof *a);
  a->id = get_ll(j, "id");
  get_s(j, "client_id", a->client_id, sizeof a->client_id);
  get_s(j, "symbol", a->symbol, sizeof a->symbol);
  char side[8];
  get_s(j, "side", side, sizeof side);
  a->buy = strcmp(side, "BUY") == 0;
  get_s(j, "type", a->type, sizeof a->type);
  a->status = (ex_ast)index_of(ast, 6, json_string_value(json_object_get(j, "status")));
  a->activated = get_b(j, "activated");
  a->close_position = get_b(j, "close_position");
  a->reduce_only = get_b(j, "reduce_only");
  get_s(j, "working_type", a->working_type, sizeof a->working_type);
  a->actual_order_id = get_ll(j, "actual_order_id");
  a->create_time = get_ll(j, "create_time");
  a->update_time = get_ll(j, "update_time");
  a->trigger_time = get_ll(j, "trigger_time");
  a->qty = get_dec(j, "qty");
  a->trigger = get_dec(j, "trigger");
  a->activate = get_dec(j, "activate");
  a->callback = get_dec(j, "callback");
  a->extreme = get_dec(j, "extreme");
  a->actual_qty = get_dec(j, "actual_qty");
  a->actual_price = get_dec(j, "actual_price");
}

static json_t *fill_state(const ex_fill *f) {
  json_t *j = json_pack("{s:I, s:I, s:s, s:s, s:s, s:b, s:I}", "id", (json_int_t)f->id, "order_id",
                        (json_int_t)f->order_id, "client_id", f->client_id, "symbol", f->symbol, "side",
                        f->buy ? "BUY" : "SELL", "maker", f->maker, "time", (json_int_t)f->time);
  json_object_set_new(j, "qty", dec(f->qty));
  json_object_set_new(j, "price", dec(f->price));
  json_object_set_new(j, "quote", dec(f->quote));
  json_object_set_new(j, "fee", dec(f->fee));
  json_object_set_new(j, "realized", dec(f->realized));
  return j;
}

static void fill_load(const json_t *j, ex_fill *f) {
  memset(f, 0, sizeof *f);
  f->id = get_ll(j, "id");
  f->order_id = get_ll(j, "order_id");
  get_s(j, "client_id", f->client_id, sizeof f->client_id);
  get_s(j, "symbol", f->symbol, sizeof f->symbol);
  char side[8];
  get_s(j, "side", side, sizeof side);
  f->buy = strcmp(side, "BUY") == 0;
  f->maker = get_b(j, "maker");
  f->time = get_ll(j, "time");
  f->qty = get_dec(j, "qty");
  f->price = get_dec(j, "price");
  f->quote = get_dec(j, "quote");
  f->fee = get_dec(j, "fee");
  f->realized = get_dec(j, "realized");
}

/* Client ids used by more than one order or algo order (ids of orders that
 * triggered algo orders created are the algo's own and do not count). */
static json_t *duplicates(const exsim *e) {
  json_t *seen = json_object(), *dups = json_array();
  for (size_t i = 0; i < e->n_orders + e->n_algos; i++) {
    const char *cid;
    if (i < e->n_orders) {
      if (e->orders[i].orig_type[0]) continue;
      cid = e->orders[i].client_id;
    } else {
      cid = e->algos[i - e->n_orders].client_id;
    }
    json_t *n = json_object_get(seen, cid);
    long long c = n ? json_integer_value(n) + 1 : 1;
    json_object_set_new(seen, cid, json_integer(c));
    if (c == 2) json_array_append_new(dups, json_string(cid));
  }
  json_decref(seen);
  return dups;
}

json_t *ex_state_json(exsim *e) {
  lb_ms now = ex_server_now(e);
  json_t *syms = json_array(), *orders = json_array(), *algos = json_array(), *fills = json_array(),
         *fund = json_array(), *gaps = json_array();
  lb_dec realized = 0, fees = 0, funding = 0, unreal = 0;
  for (int i = 0; i < e->nsym; i++) {
    const ex_symbol *s = &e->sym[i];
    json_t *j = json_pack("{s:s, s:s, s:I, s:i, s:i, s:b, s:i, s:b}", "symbol", s->symbol, "data_file",
                          s->data_file, "cursor", (json_int_t)s->cursor, "phase", s->phase, "leverage",
                          s->leverage, "isolated", s->isolated, "gap", s->gap, "mark_override",
                          s->mark_override);
    json_object_set_new(j, "mark", dec(s->mark));
    json_object_set_new(j, "last", dec(s->last));
    json_object_set_new(j, "pos", dec(s->pos));
    json_object_set_new(j, "entry", dec(s->entry));
    json_object_set_new(j, "margin", dec(s->margin));
    json_object_set_new(j, "unrealized", dec(ex_unrealized(s)));
    json_object_set_new(j, "liquidation_price", dec(ex_liquidation_price(s)));
    json_array_append_new(syms, j);
    unreal += ex_unrealized(s);
  }
  for (size_t i = 0; i < e->n_orders; i++) json_array_append_new(orders, order_state(&e->orders[i]));
  for (size_t i = 0; i < e->n_algos; i++) json_array_append_new(algos, algo_state(&e->algos[i]));
  for (size_t i = 0; i < e->n_fills; i++) {
    json_array_append_new(fills, fill_state(&e->fills[i]));
    realized += e->fills[i].realized;
    fees += e->fills[i].fee;
  }
  for (size_t i = 0; i < e->n_fundings; i++) {
    const ex_funding *f = &e->fundings[i];
    json_t *j = json_pack("{s:s, s:I, s:I}", "symbol", f->symbol, "time", (json_int_t)f->time, "market_time",
                          (json_int_t)f->market_time);
    json_object_set_new(j, "amount", dec(f->amount));
    json_object_set_new(j, "rate", dec(f->rate));
    json_object_set_new(j, "mark", dec(f->mark));
    json_object_set_new(j, "qty", dec(f->qty));
    json_array_append_new(fund, j);
    funding += f->amount;
  }
  lb_ms max_gap = 0;
  for (size_t i = 0; i < e->n_gaps; i++) {
    const ex_gap *g = &e->gaps[i];
    lb_ms len = (g->end ? g->end : now) - g->start;
    if (len > max_gap) max_gap = len;
    json_array_append_new(gaps, json_pack("{s:s, s:I, s:I, s:I, s:b}", "symbol", g->symbol, "start",
                                          (json_int_t)g->start, "end", (json_int_t)g->end, "ms",
                                          (json_int_t)len, "open", g->end == 0));
  }
  const ex_counters *c = &e->cnt;
  json_t *cnt = json_pack(
      "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "requests",
      (json_int_t)c->requests, "errors_injected", (json_int_t)c->errors_injected, "accepted_then_503",
      (json_int_t)c->accepted_then_503, "http_429", (json_int_t)c->r429, "http_418", (json_int_t)c->r418,
      "bad_signature", (json_int_t)c->bad_signature, "bad_timestamp", (json_int_t)c->bad_timestamp,
      "bad_key", (json_int_t)c->bad_key, "stop_on_order_endpoint", (json_int_t)c->stop_on_order_endpoint,
      "duplicate_client_ids", (json_int_t)c->duplicate_client_ids, "liquidations",
      (json_int_t)c->liquidations, "adl", (json_int_t)c->adl, "ws_connects", (json_int_t)c->ws_connects,
      "ws_drops", (json_int_t)c->ws_drops, "ws_pongs", (json_int_t)c->ws_pongs, "ws_refused",
      (json_int_t)c->ws_refused);
  lb_dec avail = ex_available(e);
  json_t *bal = json_object();
  json_object_set_new(bal, "initial", dec(e->initial_balance));
  json_object_set_new(bal, "wallet", dec(e->wallet));
  json_object_set_new(bal, "available", dec(avail));
  json_object_set_new(bal, "realized_pnl", dec(realized));
  json_object_set_new(bal, "fees", dec(fees));
  json_object_set_new(bal, "funding", dec(funding));
  json_object_set_new(bal, "unrealized_pnl", dec(unreal));
  json_t *root = json_pack(
      "{s:i, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:f, s:I, s:I, s:I, s:s, s:I, s:I, s:o, s:o, s:o, s:o, "
      "s:o, s:o, s:o, s:I, s:o, s:o, s:I}",
      "version", 1, "server_time", (json_int_t)now, "market_time", (json_int_t)e->market_now, "shift",
      (json_int_t)e->shift, "timeframe", (json_int_t)e->tf, "next_funding", (json_int_t)e->next_funding,
      "replay_done", e->replay_done, "paused", e->paused, "speed", e->opt.speed, "next_order_id",
      (json_int_t)e->next_order_id, "next_algo_id", (json_int_t)e->next_algo_id, "next_trade_id",
      (json_int_t)e->next_trade_id, "listen_key", e->listen_key, "listen_key_expiry",
      (json_int_t)e->listen_key_expiry, "weight_used", (json_int_t)e->weight_used, "balance", bal, "symbols",
      syms, "orders", orders, "algo_orders", algos, "fills", fills, "fundings", fund, "unprotected", gaps,
      "max_unprotected_ms", (json_int_t)max_gap, "counters", cnt, "duplicate_client_ids", duplicates(e),
      "reqlog_seq", (json_int_t)e->reqlog_seq);
  return root;
}

lb_err ex_state_save(exsim *e, lb_errbuf *eb) {
  if (!e->opt.state_file) return LB_OK;
  json_t *j = ex_state_json(e);
  char *text = json_dumps(j, JSON_COMPACT);
  json_decref(j);
  if (!text) return lb_fail(eb, LB_ENOMEM, "cannot serialise the state");
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp", e->opt.state_file);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  lb_err rc = LB_OK;
  size_t len = strlen(text), off = 0;
  if (fd < 0) {
    rc = lb_fail(eb, LB_EIO, "%s: cannot create", tmp);
  } else {
    while (off < len) {
      ssize_t w = write(fd, text + off, len - off);
      if (w <= 0) break;
      off += (size_t)w;
    }
    if (off < len || fsync(fd) != 0) rc = lb_fail(eb, LB_EIO, "%s: write failed", tmp);
    close(fd);
    if (!rc && rename(tmp, e->opt.state_file) != 0)
      rc = lb_fail(eb, LB_EIO, "cannot rename %s to %s", tmp, e->opt.state_file);
  }
  free(text);
  return rc;
}

void ex_state_flush(exsim *e) {
  e->saved_at = lb_time_mono_ms();
  if (!e->dirty) return;
  e->dirty = false;
  lb_errbuf eb;
  if (ex_state_save(e, &eb) != LB_OK) fprintf(stderr, "exsim: saving state: %s\n", eb.msg);
}

lb_err ex_state_load(exsim *e, bool *loaded, lb_errbuf *eb) {
  *loaded = false;
  if (!e->opt.state_file || access(e->opt.state_file, F_OK) != 0) return LB_OK;
  json_error_t je;
  json_t *j = json_load_file(e->opt.state_file, 0, &je);
  if (!j) return lb_fail(eb, LB_EPARSE, "%s line %d: %s", e->opt.state_file, je.line, je.text);
  lb_err rc = LB_OK;
  if (get_ll(j, "version") != 1 || get_ll(j, "timeframe") != e->tf) {
    rc = lb_fail(eb, LB_EINVAL, "%s: written for another version or timeframe", e->opt.state_file);
    goto out;
  }
  e->shift = get_ll(j, "shift");
  e->market_now = get_ll(j, "market_time");
  e->next_funding = get_ll(j, "next_funding");
  e->replay_done = get_b(j, "replay_done");
  e->next_order_id = get_ll(j, "next_order_id");
  e->next_algo_id = get_ll(j, "next_algo_id");
  e->next_trade_id = get_ll(j, "next_trade_id");
  get_s(j, "listen_key", e->listen_key, sizeof e->listen_key);
  e->listen_key_expiry = get_ll(j, "listen_key_expiry");
  json_t *bal = json_object_get(j, "balance");
  e->initial_balance = get_dec(bal, "initial");
  e->wallet = get_dec(bal, "wallet");
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(j, "symbols"), i, x) {
    char name[LB_SYMBOL_MAX], file[512];
    get_s(x, "symbol", name, sizeof name);
    get_s(x, "data_file", file, sizeof file);
    ex_symbol *s = ex_symbol_find(e, name);
    if (!s || strcmp(file, s->data_file) != 0) {
      rc = lb_fail(eb, LB_EINVAL, "%s: symbol %s was replayed from %s, not from this --data", e->opt.state_file,
                   name, file);
      goto out;
    }
    s->cursor = (size_t)get_ll(x, "cursor");
    s->phase = (int)get_ll(x, "phase");
    if (s->cursor >= s->series.n) {
      rc = lb_fail(eb, LB_EINVAL, "%s: %s cursor beyond the data", e->opt.state_file, name);
      goto out;
    }
    s->leverage = (int)get_ll(x, "leverage");
    s->isolated = get_b(x, "isolated");
    s->gap = (int)get_ll(x, "gap");
    s->mark = get_dec(x, "mark");
    s->last = get_dec(x, "last");
    s->pos = get_dec(x, "pos");
    s->entry = get_dec(x, "entry");
    s->margin = get_dec(x, "margin");
    s->mark_override = get_b(x, "mark_override");
  }
#define LOAD_ARRAY(key, arr, n, cap, loader)                                  \
  json_array_foreach(json_object_get(j, key), i, x) {                         \
    if (e->n == e->cap) {                                                     \
      size_t nc = e->cap ? e->cap * 2 : 64;                                   \
      void *na = realloc(e->arr, nc * sizeof *e->arr);                        \
      if (!na) {                                                              \
        rc = lb_fail(eb, LB_ENOMEM, "out of memory loading %s", key);         \
        goto out;                                                             \
      }                                                                       \
      e->arr = na;                                                            \
      e->cap = nc;                                                            \
    }                                                                         \
    loader(x, &e->arr[e->n++]);                                               \
  }
  LOAD_ARRAY("orders", orders, n_orders, cap_orders, order_load)
  LOAD_ARRAY("algo_orders", algos, n_algos, cap_algos, algo_load)
  LOAD_ARRAY("fills", fills, n_fills, cap_fills, fill_load)
#undef LOAD_ARRAY
  json_array_foreach(json_object_get(j, "fundings"), i, x) {
    if (e->n_fundings == e->cap_fundings) {
      size_t nc = e->cap_fundings ? e->cap_fundings * 2 : 64;
      void *na = realloc(e->fundings, nc * sizeof *e->fundings);
      if (!na) goto out;
      e->fundings = na;
      e->cap_fundings = nc;
    }
    ex_funding *f = &e->fundings[e->n_fundings++];
    memset(f, 0, sizeof *f);
    get_s(x, "symbol", f->symbol, sizeof f->symbol);
    f->amount = get_dec(x, "amount");
    f->rate = get_dec(x, "rate");
    f->mark = get_dec(x, "mark");
    f->qty = get_dec(x, "qty");
    f->time = get_ll(x, "time");
    f->market_time = get_ll(x, "market_time");
  }
  json_array_foreach(json_object_get(j, "unprotected"), i, x) {
    if (e->n_gaps == e->cap_gaps) {
      size_t nc = e->cap_gaps ? e->cap_gaps * 2 : 64;
      void *na = realloc(e->gaps, nc * sizeof *e->gaps);
      if (!na) goto out;
      e->gaps = na;
      e->cap_gaps = nc;
    }
    ex_gap *g = &e->gaps[e->n_gaps++];
    memset(g, 0, sizeof *g);
    get_s(x, "symbol", g->symbol, sizeof g->symbol);
    g->start = get_ll(x, "start");
    g->end = get_ll(x, "end");
  }
  json_t *cnt = json_object_get(j, "counters");
  e->cnt.requests = (long)get_ll(cnt, "requests");
  e->cnt.duplicate_client_ids = (long)get_ll(cnt, "duplicate_client_ids");
  e->cnt.liquidations = (long)get_ll(cnt, "liquidations");
  e->cnt.adl = (long)get_ll(cnt, "adl");
  e->cnt.stop_on_order_endpoint = (long)get_ll(cnt, "stop_on_order_endpoint");
  *loaded = true;
out:
  json_decref(j);
  return rc;
}
