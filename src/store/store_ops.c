/* store_ops.c -- the verbs of store.h: check a record, turn it into statements, decode rows.
 *
 * Every write is validated here, field by field, before it is queued: an
 * async caller gets "trade.qty 0 must be > 0" at once instead of a rejected
 * row later, and the database's CHECK constraints are the second line.
 * Free texts are redacted before they are stored (no secret in the
 * database).  Reads decode text cells back into lb_dec / lb_ms exactly; a
 * cell that does not parse is reported with its table and column.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/store_int.h"

/* ==== Names ==== */

#define NAME_FN(fn, type, first, ...)                                         \
  static const char *const fn##_names[] = {__VA_ARGS__};                      \
  const char *fn(type v) {                                                    \
    int i = (int)v - (first);                                                 \
    int n = (int)(sizeof fn##_names / sizeof fn##_names[0]);                  \
    return i >= 0 && i < n ? fn##_names[i] : "?";                             \
  }                                                                           \
  static int fn##_parse(const char *s) {                                      \
    int n = (int)(sizeof fn##_names / sizeof fn##_names[0]);                  \
    for (int i = 0; s && i < n; i++)                                          \
      if (strcmp(fn##_names[i], s) == 0) return i + (first);                  \
    return -1;                                                                \
  }

NAME_FN(store_trading_mode_name, store_trading_mode, 1, "paper", "live", "backtest")
NAME_FN(store_side_name, store_side, 1, "LONG", "SHORT")
NAME_FN(store_exit_reason_name, store_exit_reason, 1, "stop_loss", "take_profit", "trailing_stop",
        "liquidation", "signal", "manual", "no_stop", "shutdown", "external")
NAME_FN(store_order_kind_name, store_order_kind, 1, "entry", "stop", "take_profit", "exit")
NAME_FN(store_order_side_name, store_order_side, 1, "BUY", "SELL")
NAME_FN(store_order_type_name, store_order_type, 1, "MARKET", "LIMIT", "STOP_MARKET",
        "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
NAME_FN(store_order_status_name, store_order_status, 1, "PENDING", "NEW", "PARTIALLY_FILLED",
        "FILLED", "CANCELED", "REJECTED", "EXPIRED", "TRIGGERED")
NAME_FN(store_pos_state_name, store_pos_state, 0, "FLAT", "ENTERING", "OPEN", "EXITING")

lb_dec store_trade_net_pnl(const store_trade *t) {
  if (t->status != STORE_TRADE_CLOSED) return 0;
  return t->realized_pnl - t->fees + t->funding;
}

/* ==== Checks ==== */

/* Identifiers: 1..max-1 printable characters, no spaces or quotes. */
static lb_err check_id(const char *field, const char *v, size_t max, lb_errbuf *eb) {
  if (!v || !*v) return lb_fail(eb, LB_EINVAL, "%s is empty", field);
  size_t n = strlen(v);
  if (n >= max) return lb_fail(eb, LB_EINVAL, "%s \"%.40s...\" is longer than %zu characters", field, v, max - 1);
  for (const char *p = v; *p; p++)
    if ((unsigned char)*p <= ' ' || *p == '\'' || *p == '"' || *p == '\\' || (unsigned char)*p >= 127)
      return lb_fail(eb, LB_EINVAL, "%s \"%s\" holds a character that is not allowed (0x%02x)", field,
                     v, (unsigned char)*p);
  return LB_OK;
}

static lb_err check_opt_id(const char *field, const char *v, size_t max, lb_errbuf *eb) {
  return v && *v ? check_id(field, v, max, eb) : LB_OK;
}

static lb_err check_pos(const char *field, lb_dec v, lb_errbuf *eb) {
  if (v > 0) return LB_OK;
  char b[LB_DEC_STRLEN];
  lb_dec_fmt(v, b, sizeof b);
  return lb_fail(eb, LB_EINVAL, "%s %s must be > 0", field, b);
}

static lb_err check_nonneg(const char *field, lb_dec v, lb_errbuf *eb) {
  if (v >= 0) return LB_OK;
  char b[LB_DEC_STRLEN];
  lb_dec_fmt(v, b, sizeof b);
  return lb_fail(eb, LB_EINVAL, "%s %s must be >= 0", field, b);
}

static lb_err check_ts(const char *field, lb_ms t, lb_errbuf *eb) {
  /* 2000-01-01 .. 9999: anything else is a unit mistake (seconds for ms). */
  if (t >= INT64_C(946684800000) && t <= STORE_TS_MAX) return LB_OK;
  return lb_fail(eb, LB_EINVAL, "%s %lld is not a time in ms since 1970 (2000..9999)", field,
                 (long long)t);
}

static lb_err check_enum(const char *field, int v, const char *name, lb_errbuf *eb) {
  if (strcmp(name, "?") != 0) return LB_OK;
  return lb_fail(eb, LB_EINVAL, "%s %d is not a valid value", field, v);
}

#define TRY(expr)                                                             \
  do {                                                                        \
    lb_err try_rc_ = (expr);                                                  \
    if (try_rc_ != LB_OK) return try_rc_;                                     \
  } while (0)

/* ==== Text forms of parameters ==== */

typedef struct {
  char b[LB_DEC_STRLEN];
} dtxt;
typedef struct {
  char b[40];
} ttxt;

static const char *D(dtxt *t, lb_dec v) {
  lb_dec_fmt(v, t->b, sizeof t->b);
  return t->b;
}
/* 0 = none (SQL NULL). */
static const char *DZ(dtxt *t, lb_dec v) { return v ? D(t, v) : NULL; }
static const char *T(ttxt *t, lb_ms v) { return store_ts_fmt(v, t->b, sizeof t->b); }
/* Range bounds: anything outside what the text form can sort is clamped. */
static const char *TR(ttxt *t, lb_ms v) {
  return T(t, v < 0 ? 0 : v > STORE_TS_MAX ? STORE_TS_MAX : v);
}
static const char *TZ(ttxt *t, lb_ms v) { return v ? T(t, v) : NULL; }
static const char *I(ttxt *t, long long v) {
  snprintf(t->b, sizeof t->b, "%lld", v);
  return t->b;
}
static const char *S(const char *s) { return s && *s ? s : NULL; }

/* A redacted, length-bounded copy for free text (caller frees). */
static char *redacted(const char *s, size_t max) {
  if (!s) return NULL;
  size_t n = strlen(s);
  size_t cap = 2 * n + 64; /* masking can lengthen short credential values */
  char *out = malloc(cap);
  if (!out) return NULL;
  lb_redact(s, out, cap);
  if (max && strlen(out) >= max) {
    out[max - 1] = '\0';
    /* do not leave half of a UTF-8 sequence at the cut */
    size_t k = max - 1;
    while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80) k--;
    if (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0xC0) out[k - 1] = '\0';
  }
  return out;
}

/* One statement as one queued write. */
static lb_err submit1(store *s, const char *what, store_stmt_id id, store_expect ex,
                      const char *const *p, int n, store_wmode mode, lb_errbuf *eb) {
  store_witem *w = store_witem_new(what);
  if (!w || store_witem_add(w, id, ex, p, n) != LB_OK) {
    store_witem_free(w);
    return lb_fail(eb, LB_ENOMEM, "out of memory");
  }
  return store_submit(s, w, mode, eb);
}

/* ==== Decoding rows ==== */

typedef struct {
  const store_rows *r;
  int row;
  const char *table;
  const char *const *cols; /* column names, for messages */
  lb_err err;
  lb_errbuf *eb;
} rd;

static const char *cell(rd *d, int c) { return store_cell(d->r, d->row, c); }

static void bad(rd *d, int c, const char *v) {
  if (d->err == LB_OK)
    d->err = lb_fail(d->eb, LB_EPARSE, "%s.%s holds \"%.40s\", not a valid value", d->table,
                     d->cols[c], v ? v : "NULL");
}

static lb_dec rdec(rd *d, int c) {
  const char *v = cell(d, c);
  lb_dec x = 0;
  if (v && lb_dec_parse(v, &x) != LB_OK) bad(d, c, v);
  return x;
}
static lb_ms rts(rd *d, int c) {
  const char *v = cell(d, c);
  lb_ms x = 0;
  if (v && store_ts_parse(v, &x) != LB_OK) bad(d, c, v);
  return x;
}
static long long rint_(rd *d, int c) {
  const char *v = cell(d, c);
  if (!v) return 0;
  char *e;
  long long x = strtoll(v, &e, 10);
  if (e == v || *e) bad(d, c, v);
  return x;
}
static double rdbl(rd *d, int c) {
  const char *v = cell(d, c);
  if (!v) return 0;
  char *e;
  double x = strtod(v, &e);
  if (e == v || *e) bad(d, c, v);
  return x;
}
static void rstr(rd *d, int c, char *out, size_t n) {
  const char *v = cell(d, c);
  snprintf(out, n, "%s", v ? v : "");
}
static int renum(rd *d, int c, int (*parse)(const char *)) {
  const char *v = cell(d, c);
  int x = parse(v);
  if (x < 0) {
    bad(d, c, v);
    return 0;
  }
  return x;
}

/* ==== trading_config ==== */

static const char *const config_cols[] = {"initial_capital", "current_capital", "mode", "updated_at"};

static lb_err config_get_f(store *s, store_trading_config *out, bool *found, lb_errbuf *eb) {
  store_rows r;
  TRY(store_run(s, STORE_Q_config_get, NULL, 0, &r, false, eb));
  *found = r.nrows == 1;
  lb_err e = LB_OK;
  if (*found) {
    rd d = {&r, 0, "trading_config", config_cols, LB_OK, eb};
    out->initial_capital = rdec(&d, 0);
    out->current_capital = rdec(&d, 1);
    out->mode = (store_trading_mode)renum(&d, 2, store_trading_mode_name_parse);
    out->updated_at = rts(&d, 3);
    e = d.err;
  }
  store_rows_free(&r);
  return e;
}

lb_err store_config_get(store *s, store_trading_config *out, lb_errbuf *eb) {
  memset(out, 0, sizeof *out);
  bool found;
  TRY(config_get_f(s, out, &found, eb));
  if (!found)
    return lb_fail(eb, LB_ENOTFOUND, "trading_config has no row: run levbot setup-db");
  return LB_OK;
}

lb_err store_config_init(store *s, lb_dec initial_capital, store_trading_mode mode, lb_ms now,
                         bool *created, lb_errbuf *eb) {
  if (created) *created = false;
  TRY(check_pos("trading_config.initial_capital", initial_capital, eb));
  TRY(check_enum("trading_config.mode", mode, store_trading_mode_name(mode), eb));
  TRY(check_ts("trading_config.updated_at", now, eb));
  store_trading_config cur;
  bool found;
  TRY(config_get_f(s, &cur, &found, eb));
  if (!found) {
    dtxt a;
    ttxt t;
    const char *p[3] = {D(&a, initial_capital), store_trading_mode_name(mode), T(&t, now)};
    TRY(submit1(s, "trading_config", STORE_Q_config_insert, STORE_EXPECT_ANY, p, 3, STORE_SYNC, eb));
    TRY(config_get_f(s, &cur, &found, eb));
    if (created) *created = found && cur.mode == mode && cur.initial_capital == initial_capital;
  }
  if (found && cur.mode != mode)
    return lb_fail(eb, LB_ESTATE,
                   "this database holds %s trading and levbot runs in %s mode: paper and live "
                   "must not share a ledger (use another DATABASE_URL)",
                   store_trading_mode_name(cur.mode), store_trading_mode_name(mode));
  return LB_OK;
}

lb_err store_capital_update(store *s, lb_dec current_capital, lb_ms at, store_wmode mode,
                            lb_errbuf *eb) {
  TRY(check_ts("trading_config.updated_at", at, eb));
  dtxt a;
  ttxt t;
  const char *p[2] = {D(&a, current_capital), T(&t, at)};
  return submit1(s, "trading_config", STORE_Q_capital_update, STORE_EXPECT_ROW, p, 2, mode, eb);
}

/* ==== trades ==== */

static const char *const trade_cols[] = {
    "id", "symbol", "side", "qty", "entry_price", "leverage", "stop_price", "take_profit",
    "liquidation_price", "margin", "ai_confidence", "consensus_id", "opened_at", "status",
    "exit_price", "exit_reason", "realized_pnl", "fees", "funding", "closed_at", "initial_stop",
    "loss_at_stop", "planned_rr"};

static int status_parse(const char *s) {
  return s && strcmp(s, "OPEN") == 0 ? STORE_TRADE_OPEN : s && strcmp(s, "CLOSED") == 0 ? STORE_TRADE_CLOSED : -1;
}

static lb_err trade_from_row(const store_rows *r, int row, store_trade *t, lb_errbuf *eb) {
  rd d = {r, row, "trades", trade_cols, LB_OK, eb};
  memset(t, 0, sizeof *t);
  rstr(&d, 0, t->id, sizeof t->id);
  rstr(&d, 1, t->symbol, sizeof t->symbol);
  t->side = (store_side)renum(&d, 2, store_side_name_parse);
  t->qty = rdec(&d, 3);
  t->entry_price = rdec(&d, 4);
  t->leverage = (int)rint_(&d, 5);
  t->stop_price = rdec(&d, 6);
  t->take_profit = rdec(&d, 7);
  t->liquidation_price = rdec(&d, 8);
  t->margin = rdec(&d, 9);
  t->ai_confidence = rdbl(&d, 10);
  rstr(&d, 11, t->consensus_id, sizeof t->consensus_id);
  t->opened_at = rts(&d, 12);
  t->status = (store_trade_status)renum(&d, 13, status_parse);
  t->exit_price = rdec(&d, 14);
  if (cell(&d, 15)) t->exit_reason = (store_exit_reason)renum(&d, 15, store_exit_reason_name_parse);
  t->realized_pnl = rdec(&d, 16);
  t->fees = rdec(&d, 17);
  t->funding = rdec(&d, 18);
  t->closed_at = rts(&d, 19);
  t->initial_stop = rdec(&d, 20); /* NULL (unknown) reads as 0 */
  t->loss_at_stop = rdec(&d, 21);
  t->planned_rr = rdbl(&d, 22);
  return d.err;
}

lb_err store_trade_open(store *s, const store_trade *t, store_wmode mode, lb_errbuf *eb) {
  TRY(check_id("trade.id", t->id, STORE_ID_MAX, eb));
  TRY(check_id("trade.symbol", t->symbol, LB_SYMBOL_MAX, eb));
  TRY(check_enum("trade.side", t->side, store_side_name(t->side), eb));
  TRY(check_pos("trade.qty", t->qty, eb));
  TRY(check_pos("trade.entry_price", t->entry_price, eb));
  if (t->leverage < 1 || t->leverage > 125)
    return lb_fail(eb, LB_EINVAL, "trade.leverage %d outside 1..125", t->leverage);
  TRY(check_pos("trade.stop_price", t->stop_price, eb));
  TRY(check_nonneg("trade.take_profit", t->take_profit, eb));
  TRY(check_nonneg("trade.liquidation_price", t->liquidation_price, eb));
  TRY(check_pos("trade.margin", t->margin, eb));
  if (!(t->ai_confidence >= 0 && t->ai_confidence <= 1))
    return lb_fail(eb, LB_EINVAL, "trade.ai_confidence %g outside 0..1", t->ai_confidence);
  TRY(check_opt_id("trade.consensus_id", t->consensus_id, STORE_ID_MAX, eb));
  TRY(check_ts("trade.opened_at", t->opened_at, eb));
  TRY(check_nonneg("trade.initial_stop", t->initial_stop, eb));
  TRY(check_nonneg("trade.loss_at_stop", t->loss_at_stop, eb));
  if (!(isfinite(t->planned_rr) && t->planned_rr >= 0))
    return lb_fail(eb, LB_EINVAL, "trade.planned_rr %g must be a number >= 0", t->planned_rr);
  dtxt q, e, st, tp, lq, mg, is, ls;
  ttxt lev, at;
  char cbuf[32] = "", rbuf[32] = "";
  if (t->ai_confidence > 0) snprintf(cbuf, sizeof cbuf, "%.17g", t->ai_confidence);
  if (t->planned_rr > 0) snprintf(rbuf, sizeof rbuf, "%.17g", t->planned_rr);
  const char *p[16] = {t->id,           t->symbol,
                       store_side_name(t->side), D(&q, t->qty),
                       D(&e, t->entry_price),    I(&lev, t->leverage),
                       D(&st, t->stop_price),    DZ(&tp, t->take_profit),
                       DZ(&lq, t->liquidation_price), D(&mg, t->margin),
                       S(cbuf),                  S(t->consensus_id),
                       T(&at, t->opened_at),     DZ(&is, t->initial_stop),
                       DZ(&ls, t->loss_at_stop), S(rbuf)};
  return submit1(s, "trade", STORE_Q_trade_open_v4, STORE_EXPECT_ANY, p, 16, mode, eb);
}

lb_err store_trade_move_stop(store *s, const char *trade_id, lb_dec stop_price, store_wmode mode,
                             lb_errbuf *eb) {
  TRY(check_id("trade.id", trade_id, STORE_ID_MAX, eb));
  TRY(check_pos("trade.stop_price", stop_price, eb));
  dtxt sp;
  const char *p[2] = {trade_id, D(&sp, stop_price)};
  return submit1(s, "trade", STORE_Q_trade_move_stop, STORE_EXPECT_ROW, p, 2, mode, eb);
}

lb_err store_trade_close(store *s, const char *trade_id, const store_trade_exit *x,
                         store_wmode mode, lb_errbuf *eb) {
  TRY(check_id("trade.id", trade_id, STORE_ID_MAX, eb));
  TRY(check_pos("trade.exit_price", x->exit_price, eb));
  if (x->reason == STORE_EXIT_NONE || strcmp(store_exit_reason_name(x->reason), "?") == 0)
    return lb_fail(eb, LB_EINVAL, "trade.exit_reason %d is not a valid value", (int)x->reason);
  TRY(check_nonneg("trade.fees", x->fees, eb));
  TRY(check_ts("trade.closed_at", x->closed_at, eb));
  dtxt ep, pnl, fee, fund;
  ttxt at;
  const char *p[7] = {trade_id,          D(&ep, x->exit_price), store_exit_reason_name(x->reason),
                      D(&pnl, x->realized_pnl), D(&fee, x->fees), D(&fund, x->funding),
                      T(&at, x->closed_at)};
  return submit1(s, "trade", STORE_Q_trade_close, STORE_EXPECT_ROW, p, 7, mode, eb);
}

/* Runs a query and decodes up to max rows with fn. */
typedef lb_err (*row_fn)(const store_rows *r, int row, void *out, lb_errbuf *eb);

static lb_err query_rows(store *s, store_stmt_id id, const char *const *p, int n, void *out,
                         size_t size, int max, int *count, row_fn fn, lb_errbuf *eb) {
  *count = 0;
  store_rows r;
  TRY(store_run(s, id, p, n, &r, false, eb));
  lb_err e = LB_OK;
  for (int i = 0; i < r.nrows && i < max && e == LB_OK; i++) {
    e = fn(&r, i, (char *)out + (size_t)i * size, eb);
    if (e == LB_OK) (*count)++;
  }
  store_rows_free(&r);
  return e;
}

/* The same into a malloc()ed array of every row. */
static lb_err query_all(store *s, store_stmt_id id, const char *const *p, int n, void **out,
                        size_t size, int *count, row_fn fn, lb_errbuf *eb) {
  *out = NULL;
  *count = 0;
  store_rows r;
  TRY(store_run(s, id, p, n, &r, false, eb));
  lb_err e = LB_OK;
  int rows = r.nrows;
  char *arr = rows ? calloc((size_t)rows, size) : NULL;
  if (rows && !arr) e = lb_fail(eb, LB_ENOMEM, "out of memory");
  for (int i = 0; i < rows && e == LB_OK; i++) e = fn(&r, i, arr + (size_t)i * size, eb);
  store_rows_free(&r);
  if (e != LB_OK) {
    free(arr);
    return e;
  }
  *out = arr;
  *count = rows;
  return LB_OK;
}

static lb_err trade_row(const store_rows *r, int row, void *out, lb_errbuf *eb) {
  return trade_from_row(r, row, out, eb);
}

lb_err store_trade_get(store *s, const char *id, store_trade *out, lb_errbuf *eb) {
  TRY(check_id("trade.id", id, STORE_ID_MAX, eb));
  const char *p[1] = {id};
  int n;
  TRY(query_rows(s, STORE_Q_trade_get, p, 1, out, sizeof *out, 1, &n, trade_row, eb));
  return n == 1 ? LB_OK : lb_fail(eb, LB_ENOTFOUND, "no trade with id %s", id);
}

lb_err store_trade_get_open(store *s, const char *symbol, store_trade *out, bool *found,
                            lb_errbuf *eb) {
  *found = false;
  int n;
  if (symbol) {
    TRY(check_id("trade.symbol", symbol, LB_SYMBOL_MAX, eb));
    const char *p[1] = {symbol};
    TRY(query_rows(s, STORE_Q_trade_open_of_symbol, p, 1, out, sizeof *out, 1, &n, trade_row, eb));
  } else {
    TRY(query_rows(s, STORE_Q_trade_open_any, NULL, 0, out, sizeof *out, 1, &n, trade_row, eb));
  }
  *found = n == 1;
  return LB_OK;
}

lb_err store_trades_recent(store *s, store_trade *out, int max, int *n, lb_errbuf *eb) {
  *n = 0;
  if (max <= 0) return LB_OK;
  ttxt lim;
  const char *p[1] = {I(&lim, max)};
  return query_rows(s, STORE_Q_trades_recent, p, 1, out, sizeof *out, max, n, trade_row, eb);
}

lb_err store_trades_range(store *s, lb_ms from, lb_ms to, bool by_close, store_trade **out,
                          int *n, lb_errbuf *eb) {
  ttxt a, b;
  const char *p[2] = {TR(&a, from), TR(&b, to)};
  return query_all(s, by_close ? STORE_Q_trades_by_close : STORE_Q_trades_by_open, p, 2,
                   (void **)out, sizeof **out, n, trade_row, eb);
}

/* ==== orders and fills ==== */

static const char *const order_cols[] = {
    "client_id", "exchange_id", "trade_id", "symbol", "kind", "side", "type", "qty", "price",
    "trigger_price", "reduce_only", "status", "filled_qty", "avg_price", "created_at", "updated_at"};

static lb_err order_row(const store_rows *r, int row, void *out, lb_errbuf *eb) {
  store_order *o = out;
  rd d = {r, row, "orders", order_cols, LB_OK, eb};
  memset(o, 0, sizeof *o);
  rstr(&d, 0, o->client_id, sizeof o->client_id);
  rstr(&d, 1, o->exchange_id, sizeof o->exchange_id);
  rstr(&d, 2, o->trade_id, sizeof o->trade_id);
  rstr(&d, 3, o->symbol, sizeof o->symbol);
  o->kind = (store_order_kind)renum(&d, 4, store_order_kind_name_parse);
  o->side = (store_order_side)renum(&d, 5, store_order_side_name_parse);
  o->type = (store_order_type)renum(&d, 6, store_order_type_name_parse);
  o->qty = rdec(&d, 7);
  o->price = rdec(&d, 8);
  o->trigger_price = rdec(&d, 9);
  o->reduce_only = rint_(&d, 10) != 0;
  o->status = (store_order_status)renum(&d, 11, store_order_status_name_parse);
  o->filled_qty = rdec(&d, 12);
  o->avg_price = rdec(&d, 13);
  o->created_at = rts(&d, 14);
  o->updated_at = rts(&d, 15);
  return d.err;
}

lb_err store_order_record(store *s, const store_order *o, store_wmode mode, lb_errbuf *eb) {
  TRY(check_id("order.client_id", o->client_id, STORE_ID_MAX, eb));
  TRY(check_opt_id("order.exchange_id", o->exchange_id, STORE_ID_MAX, eb));
  TRY(check_opt_id("order.trade_id", o->trade_id, STORE_ID_MAX, eb));
  TRY(check_id("order.symbol", o->symbol, LB_SYMBOL_MAX, eb));
  TRY(check_enum("order.kind", o->kind, store_order_kind_name(o->kind), eb));
  TRY(check_enum("order.side", o->side, store_order_side_name(o->side), eb));
  TRY(check_enum("order.type", o->type, store_order_type_name(o->type), eb));
  TRY(check_enum("order.status", o->status, store_order_status_name(o->status), eb));
  TRY(check_pos("order.qty", o->qty, eb));
  TRY(check_nonneg("order.price", o->price, eb));
  TRY(check_nonneg("order.trigger_price", o->trigger_price, eb));
  TRY(check_nonneg("order.filled_qty", o->filled_qty, eb));
  TRY(check_nonneg("order.avg_price", o->avg_price, eb));
  if (o->type == STORE_OT_LIMIT) TRY(check_pos("order.price (LIMIT)", o->price, eb));
  if (o->type == STORE_OT_STOP_MARKET || o->type == STORE_OT_TAKE_PROFIT_MARKET)
    TRY(check_pos("order.trigger_price (conditional)", o->trigger_price, eb));
  TRY(check_ts("order.created_at", o->created_at, eb));
  lb_ms upd = o->updated_at ? o->updated_at : o->created_at;
  TRY(check_ts("order.updated_at", upd, eb));
  dtxt q, pr, tr, fq, ap;
  ttxt ca, ua;
  const char *p[16] = {o->client_id,
                       S(o->exchange_id),
                       S(o->trade_id),
                       o->symbol,
                       store_order_kind_name(o->kind),
                       store_order_side_name(o->side),
                       store_order_type_name(o->type),
                       D(&q, o->qty),
                       DZ(&pr, o->price),
                       DZ(&tr, o->trigger_price),
                       o->reduce_only ? "1" : "0",
                       store_order_status_name(o->status),
                       D(&fq, o->filled_qty),
                       DZ(&ap, o->avg_price),
                       T(&ca, o->created_at),
                       T(&ua, upd)};
  return submit1(s, "order", STORE_Q_order_record, STORE_EXPECT_ANY, p, 16, mode, eb);
}

lb_err store_order_update(store *s, const char *client_id, store_order_status status,
                          const char *exchange_id, lb_dec filled_qty, lb_dec avg_price,
                          lb_ms at, store_wmode mode, lb_errbuf *eb) {
  TRY(check_id("order.client_id", client_id, STORE_ID_MAX, eb));
  TRY(check_enum("order.status", status, store_order_status_name(status), eb));
  TRY(check_opt_id("order.exchange_id", exchange_id, STORE_ID_MAX, eb));
  TRY(check_ts("order.updated_at", at, eb));
  dtxt fq, ap;
  ttxt ua;
  const char *p[6] = {client_id,
                      store_order_status_name(status),
                      S(exchange_id),
                      filled_qty >= 0 ? D(&fq, filled_qty) : NULL,
                      avg_price > 0 ? D(&ap, avg_price) : NULL,
                      T(&ua, at)};
  return submit1(s, "order", STORE_Q_order_update, STORE_EXPECT_ROW, p, 6, mode, eb);
}

lb_err store_order_get(store *s, const char *client_id, store_order *out, lb_errbuf *eb) {
  TRY(check_id("order.client_id", client_id, STORE_ID_MAX, eb));
  const char *p[1] = {client_id};
  int n;
  TRY(query_rows(s, STORE_Q_order_get, p, 1, out, sizeof *out, 1, &n, order_row, eb));
  return n == 1 ? LB_OK : lb_fail(eb, LB_ENOTFOUND, "no order with client id %s", client_id);
}

lb_err store_orders_for_trade(store *s, const char *trade_id, store_order *out, int max, int *n,
                              lb_errbuf *eb) {
  *n = 0;
  TRY(check_id("order.trade_id", trade_id, STORE_ID_MAX, eb));
  if (max <= 0) return LB_OK;
  ttxt lim;
  const char *p[2] = {trade_id, I(&lim, max)};
  return query_rows(s, STORE_Q_orders_for_trade, p, 2, out, sizeof *out, max, n, order_row, eb);
}

static const char *const fill_cols[] = {"order_client_id", "exchange_trade_id", "seq", "qty",
                                        "price", "fee", "fee_asset", "realized_pnl", "maker",
                                        "filled_at"};

static lb_err fill_row(const store_rows *r, int row, void *out, lb_errbuf *eb) {
  store_fill *f = out;
  rd d = {r, row, "fills", fill_cols, LB_OK, eb};
  memset(f, 0, sizeof *f);
  rstr(&d, 0, f->order_client_id, sizeof f->order_client_id);
  rstr(&d, 1, f->exchange_trade_id, sizeof f->exchange_trade_id);
  f->seq = (int)rint_(&d, 2);
  f->qty = rdec(&d, 3);
  f->price = rdec(&d, 4);
  f->fee = rdec(&d, 5);
  rstr(&d, 6, f->fee_asset, sizeof f->fee_asset);
  f->realized_pnl = rdec(&d, 7);
  f->maker = rint_(&d, 8) != 0;
  f->filled_at = rts(&d, 9);
  return d.err;
}

lb_err store_fill_record(store *s, const store_fill *f, store_wmode mode, lb_errbuf *eb) {
  TRY(check_id("fill.order_client_id", f->order_client_id, STORE_ID_MAX, eb));
  TRY(check_opt_id("fill.exchange_trade_id", f->exchange_trade_id, STORE_ID_MAX, eb));
  bool by_tid = f->exchange_trade_id[0] != '\0';
  if (!by_tid && f->seq < 1)
    return lb_fail(eb, LB_EINVAL, "fill.seq %d must be >= 1 when fill.exchange_trade_id is empty",
                   f->seq);
  TRY(check_pos("fill.qty", f->qty, eb));
  TRY(check_pos("fill.price", f->price, eb));
  TRY(check_opt_id("fill.fee_asset", f->fee_asset, sizeof f->fee_asset, eb));
  TRY(check_ts("fill.filled_at", f->filled_at, eb));
  dtxt q, pr, fee, pnl;
  ttxt seq, at;
  const char *p[10] = {f->order_client_id,
                       by_tid ? f->exchange_trade_id : NULL,
                       by_tid ? NULL : I(&seq, f->seq),
                       D(&q, f->qty),
                       D(&pr, f->price),
                       D(&fee, f->fee),
                       f->fee_asset[0] ? f->fee_asset : "USDT",
                       D(&pnl, f->realized_pnl),
                       f->maker ? "1" : "0",
                       T(&at, f->filled_at)};
  return submit1(s, "fill", STORE_Q_fill_record, STORE_EXPECT_ANY, p, 10, mode, eb);
}

lb_err store_fills_for_order(store *s, const char *order_client_id, store_fill *out, int max,
                             int *n, lb_errbuf *eb) {
  *n = 0;
  TRY(check_id("fill.order_client_id", order_client_id, STORE_ID_MAX, eb));
  if (max <= 0) return LB_OK;
  ttxt lim;
  const char *p[2] = {order_client_id, I(&lim, max)};
  return query_rows(s, STORE_Q_fills_for_order, p, 2, out, sizeof *out, max, n, fill_row, eb);
}

/* ==== positions ==== */

static const char *const position_cols[] = {"symbol", "state", "trade_id", "stop_client_id",
                                            "tp_client_id", "updated_at"};

static lb_err position_row(const store_rows *r, int row, void *out, lb_errbuf *eb) {
  store_position *p = out;
  rd d = {r, row, "positions", position_cols, LB_OK, eb};
  memset(p, 0, sizeof *p);
  rstr(&d, 0, p->symbol, sizeof p->symbol);
  p->state = (store_pos_state)renum(&d, 1, store_pos_state_name_parse);
  rstr(&d, 2, p->trade_id, sizeof p->trade_id);
  rstr(&d, 3, p->stop_client_id, sizeof p->stop_client_id);
  rstr(&d, 4, p->tp_client_id, sizeof p->tp_client_id);
  p->updated_at = rts(&d, 5);
  return d.err;
}

lb_err store_position_put(store *s, const store_position *ps, store_wmode mode, lb_errbuf *eb) {
  TRY(check_id("position.symbol", ps->symbol, LB_SYMBOL_MAX, eb));
  TRY(check_enum("position.state", ps->state, store_pos_state_name(ps->state), eb));
  if (ps->state != STORE_POS_FLAT) TRY(check_id("position.trade_id", ps->trade_id, STORE_ID_MAX, eb));
  else TRY(check_opt_id("position.trade_id", ps->trade_id, STORE_ID_MAX, eb));
  TRY(check_opt_id("position.stop_client_id", ps->stop_client_id, STORE_ID_MAX, eb));
  TRY(check_opt_id("position.tp_client_id", ps->tp_client_id, STORE_ID_MAX, eb));
  TRY(check_ts("position.updated_at", ps->updated_at, eb));
  ttxt at;
  const char *p[6] = {ps->symbol, store_pos_state_name(ps->state), S(ps->trade_id),
                      S(ps->stop_client_id), S(ps->tp_client_id), T(&at, ps->updated_at)};
  return submit1(s, "position", STORE_Q_position_put, STORE_EXPECT_ANY, p, 6, mode, eb);
}

lb_err store_position_get(store *s, const char *symbol, store_position *out, bool *found,
                          lb_errbuf *eb) {
  *found = false;
  TRY(check_id("position.symbol", symbol, LB_SYMBOL_MAX, eb));
  const char *p[1] = {symbol};
  int n;
  TRY(query_rows(s, STORE_Q_position_get, p, 1, out, sizeof *out, 1, &n, position_row, eb));
  *found = n == 1;
  return LB_OK;
}

lb_err store_positions_active(store *s, store_position *out, int max, int *n, lb_errbuf *eb) {
  *n = 0;
  if (max <= 0) return LB_OK;
  ttxt lim;
  const char *p[1] = {I(&lim, max)};
  return query_rows(s, STORE_Q_positions_active, p, 1, out, sizeof *out, max, n, position_row, eb);
}

/* ==== circuit_breaker_events ==== */

static const char *const breaker_cols[] = {"id", "kind", "tripped_at", "detail", "resume_at",
                                           "resumed_at", "resumed_how"};

static lb_err breaker_row(const store_rows *r, int row, void *out, lb_errbuf *eb) {
  store_breaker_event *e = out;
  rd d = {r, row, "circuit_breaker_events", breaker_cols, LB_OK, eb};
  memset(e, 0, sizeof *e);
  e->id = rint_(&d, 0);
  rstr(&d, 1, e->kind, sizeof e->kind);
  e->tripped_at = rts(&d, 2);
  rstr(&d, 3, e->detail, sizeof e->detail);
  e->resume_at = rts(&d, 4);
  e->resumed_at = rts(&d, 5);
  rstr(&d, 6, e->resumed_how, sizeof e->resumed_how);
  return d.err;
}

static lb_err check_kind(const char *v, lb_errbuf *eb) {
  TRY(check_id("breaker.kind", v, STORE_NAME_MAX, eb));
  for (const char *p = v; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return lb_fail(eb, LB_EINVAL, "breaker.kind \"%s\" must be lower-case letters, digits and _", v);
  return LB_OK;
}

lb_err store_breaker_trip(store *s, const store_breaker_event *ev, store_wmode mode,
                          lb_errbuf *eb) {
  TRY(check_kind(ev->kind, eb));
  TRY(check_ts("breaker.tripped_at", ev->tripped_at, eb));
  if (ev->resume_at) {
    TRY(check_ts("breaker.resume_at", ev->resume_at, eb));
    if (ev->resume_at <= ev->tripped_at)
      return lb_fail(eb, LB_EINVAL, "breaker.resume_at %lld is not after tripped_at %lld",
                     (long long)ev->resume_at, (long long)ev->tripped_at);
  }
  char *detail = redacted(ev->detail, STORE_TEXT_MAX);
  if (!detail) return lb_fail(eb, LB_ENOMEM, "out of memory");
  ttxt ta, ra;
  const char *p[4] = {ev->kind, T(&ta, ev->tripped_at), detail, TZ(&ra, ev->resume_at)};
  lb_err e = submit1(s, "breaker event", STORE_Q_breaker_trip, STORE_EXPECT_ANY, p, 4, mode, eb);
  free(detail);
  return e;
}

lb_err store_breaker_resume(store *s, const char *kind, lb_ms resumed_at, const char *how,
                            store_wmode mode, lb_errbuf *eb) {
  if (kind && *kind) TRY(check_kind(kind, eb));
  TRY(check_ts("breaker.resumed_at", resumed_at, eb));
  if (!how || !*how) return lb_fail(eb, LB_EINVAL, "breaker.resumed_how is empty");
  char *h = redacted(how, STORE_TEXT_MAX);
  if (!h) return lb_fail(eb, LB_ENOMEM, "out of memory");
  ttxt at;
  lb_err e;
  if (kind && *kind) {
    const char *p[3] = {kind, T(&at, resumed_at), h};
    e = submit1(s, "breaker event", STORE_Q_breaker_resume_kind, STORE_EXPECT_ANY, p, 3, mode, eb);
  } else {
    const char *p[2] = {T(&at, resumed_at), h};
    e = submit1(s, "breaker event", STORE_Q_breaker_resume_all, STORE_EXPECT_ANY, p, 2, mode, eb);
  }
  free(h);
  return e;
}

lb_err store_breakers_active(store *s, store_breaker_event *out, int max, int *n, lb_errbuf *eb) {
  *n = 0;
  if (max <= 0) return LB_OK;
  ttxt lim;
  const char *p[1] = {I(&lim, max)};
  return query_rows(s, STORE_Q_breakers_active, p, 1, out, sizeof *out, max, n, breaker_row, eb);
}

lb_err store_breakers_recent(store *s, store_breaker_event *out, int max, int *n, lb_errbuf *eb) {
  *n = 0;
  if (max <= 0) return LB_OK;
  ttxt lim;
  const char *p[1] = {I(&lim, max)};
  return query_rows(s, STORE_Q_breakers_recent, p, 1, out, sizeof *out, max, n, breaker_row, eb);
}

/* ==== ai_analysis_cache ==== */

static lb_err check_key(const char *key, lb_errbuf *eb) {
  if (!key || !*key) return lb_fail(eb, LB_EINVAL, "cache key is empty");
  if (strlen(key) > 512) return lb_fail(eb, LB_EINVAL, "cache key is longer than 512 characters");
  return LB_OK;
}

lb_err store_ai_cache_get(store *s, const char *key, lb_ms now, char **response, bool *hit,
                          lb_errbuf *eb) {
  *response = NULL;
  *hit = false;
  TRY(check_key(key, eb));
  TRY(check_ts("cache now", now, eb));
  const char *p[1] = {key};
  store_rows r;
  TRY(store_run(s, STORE_Q_cache_get, p, 1, &r, false, eb));
  lb_err e = LB_OK;
  bool expired = false;
  if (r.nrows == 1) {
    static const char *const cols[] = {"response", "expires_at"};
    rd d = {&r, 0, "ai_analysis_cache", cols, LB_OK, eb};
    lb_ms exp = rts(&d, 1);
    e = d.err;
    if (e == LB_OK && exp > now) {
      *response = strdup(cell(&d, 0) ? cell(&d, 0) : "");
      if (!*response) e = lb_fail(eb, LB_ENOMEM, "out of memory");
      else *hit = true;
    } else if (e == LB_OK) {
      expired = true;
    }
  }
  store_rows_free(&r);
  if (expired) { /* a miss, and the row goes now rather than at the next purge */
    ttxt t;
    const char *q[2] = {key, T(&t, now)};
    store_fail f;
    store_run_f(s, STORE_Q_cache_delete_expired_key, NULL, q, 2, NULL, true, 0, &f);
  }
  return e;
}

lb_err store_ai_cache_put(store *s, const char *key, const char *symbol, const char *model,
                          const char *response, lb_ms ttl, lb_ms now, lb_errbuf *eb) {
  TRY(check_key(key, eb));
  TRY(check_id("cache symbol", symbol, LB_SYMBOL_MAX, eb));
  TRY(check_id("cache model", model, STORE_NAME_MAX, eb));
  if (!response) return lb_fail(eb, LB_EINVAL, "cache response is NULL");
  if (ttl <= 0) return lb_fail(eb, LB_EINVAL, "cache ttl %lld ms must be > 0", (long long)ttl);
  TRY(check_ts("cache now", now, eb));
  ttxt c, x;
  const char *p[6] = {key, symbol, model, response, T(&c, now), T(&x, now + ttl)};
  return store_run(s, STORE_Q_cache_put, p, 6, NULL, true, eb);
}

lb_err store_ai_cache_purge(store *s, lb_ms now, long *deleted, lb_errbuf *eb) {
  TRY(check_ts("cache now", now, eb));
  ttxt t;
  const char *p[1] = {T(&t, now)};
  store_rows r;
  TRY(store_run(s, STORE_Q_cache_purge, p, 1, &r, true, eb));
  if (deleted) *deleted = r.changes;
  store_rows_free(&r);
  return LB_OK;
}

/* ==== ai_decisions, ai_consensus ==== */

static lb_err check_decision(const store_ai_decision *d, int i, lb_errbuf *eb) {
  char f[48];
#define FIELD(name) (snprintf(f, sizeof f, "ai_decision[%d].%s", i, name), f)
  TRY(check_opt_id(FIELD("id"), d->id, STORE_ID_MAX, eb));
  TRY(check_id(FIELD("provider"), d->provider, STORE_NAME_MAX, eb));
  TRY(check_id(FIELD("model"), d->model, STORE_NAME_MAX, eb));
  TRY(check_id(FIELD("symbol"), d->symbol, LB_SYMBOL_MAX, eb));
  TRY(check_opt_id(FIELD("prompt_hash"), d->prompt_hash, STORE_HASH_MAX, eb));
  TRY(check_opt_id(FIELD("snapshot_hash"), d->snapshot_hash, STORE_HASH_MAX, eb));
  if (d->latency_ms < 0 || d->attempts < 0 || d->tokens_in < 0 || d->tokens_out < 0 ||
      d->tokens_cache < 0)
    return lb_fail(eb, LB_EINVAL,
                   "ai_decision[%d]: latency_ms %ld, attempts %d, tokens %ld/%ld/%ld must be >= 0",
                   i, d->latency_ms, d->attempts, d->tokens_in, d->tokens_out, d->tokens_cache);
  TRY(check_nonneg(FIELD("cost_usd"), d->cost_usd, eb));
  if (!d->decision_json && !d->error)
    return lb_fail(eb, LB_EINVAL, "ai_decision[%d] has neither decision_json nor error", i);
  TRY(check_ts(FIELD("created_at"), d->created_at, eb));
#undef FIELD
  return LB_OK;
}

lb_err store_ai_round_record(store *s, const store_ai_consensus *c, const store_ai_decision *d,
                             int n, store_wmode mode, lb_errbuf *eb) {
  if (n < 0 || n > STORE_MAX_STEPS - 2)
    return lb_fail(eb, LB_EINVAL, "an AI round holds 0..%d decisions, not %d", STORE_MAX_STEPS - 2, n);
  if (!c && n == 0) return LB_OK;
  if (c) {
    TRY(check_id("ai_consensus.id", c->id, STORE_ID_MAX, eb));
    TRY(check_id("ai_consensus.symbol", c->symbol, LB_SYMBOL_MAX, eb));
    if (c->action != LB_ACTION_HOLD && c->action != LB_ACTION_LONG && c->action != LB_ACTION_SHORT)
      return lb_fail(eb, LB_EINVAL, "ai_consensus.action %d is not a valid value", (int)c->action);
    if (!(c->confidence >= 0 && c->confidence <= 1))
      return lb_fail(eb, LB_EINVAL, "ai_consensus.confidence %g outside 0..1", c->confidence);
    if (c->n_voters < 0)
      return lb_fail(eb, LB_EINVAL, "ai_consensus.n_voters %d must be >= 0", c->n_voters);
    TRY(check_ts("ai_consensus.created_at", c->created_at, eb));
  }
  for (int i = 0; i < n; i++) {
    TRY(check_decision(&d[i], i, eb));
    if (!c) TRY(check_opt_id("ai_decision.consensus_id", d[i].consensus_id, STORE_ID_MAX, eb));
  }
  store_witem *w = store_witem_new("AI round");
  if (!w) return lb_fail(eb, LB_ENOMEM, "out of memory");
  lb_err e = LB_OK;
  if (c) {
    char conf[32];
    ttxt nv, at;
    snprintf(conf, sizeof conf, "%.17g", c->confidence);
    const char *p[6] = {c->id, c->symbol, lb_action_name(c->action), conf, I(&nv, c->n_voters),
                        T(&at, c->created_at)};
    e = store_witem_add(w, STORE_Q_consensus_insert, STORE_EXPECT_ANY, p, 6);
  }
  for (int i = 0; i < n && e == LB_OK; i++) {
    const store_ai_decision *x = &d[i];
    char id[STORE_ID_MAX];
    if (x->id[0]) snprintf(id, sizeof id, "%s", x->id);
    else store_new_id(s, "aid", id); /* fixed now, so a replay is the same row (W2) */
    char *json = redacted(x->decision_json, 0), *err = redacted(x->error, STORE_TEXT_MAX);
    if ((x->decision_json && !json) || (x->error && !err)) {
      free(json);
      free(err);
      e = LB_ENOMEM;
      break;
    }
    ttxt lat, att, ti, to, tc, at;
    dtxt cost;
    const char *p[17] = {id,
                         c ? c->id : S(x->consensus_id),
                         x->provider,
                         x->model,
                         x->symbol,
                         S(x->prompt_hash),
                         S(x->snapshot_hash),
                         I(&lat, x->latency_ms),
                         I(&att, x->attempts),
                         I(&ti, x->tokens_in),
                         I(&to, x->tokens_out),
                         I(&tc, x->tokens_cache),
                         D(&cost, x->cost_usd),
                         x->cached ? "1" : "0",
                         json,
                         err,
                         T(&at, x->created_at)};
    e = store_witem_add(w, STORE_Q_decision_insert, STORE_EXPECT_ANY, p, 17);
    free(json);
    free(err);
  }
  if (e != LB_OK) {
    store_witem_free(w);
    return lb_fail(eb, e, "out of memory");
  }
  return store_submit(s, w, mode, eb);
}

static const char *const stat_cols[] = {"created_at", "provider", "model", "cached", "error",
                                        "latency_ms", "tokens_in", "tokens_out", "tokens_cache",
                                        "cost_usd"};

static int stat_cmp(const void *a, const void *b) {
  const store_ai_stat *x = a, *y = b;
  if (x->day != y->day) return x->day < y->day ? -1 : 1;
  int c = strcmp(x->provider, y->provider);
  return c ? c : strcmp(x->model, y->model);
}

lb_err store_ai_stats(store *s, lb_ms from, lb_ms to, store_ai_grouping g, store_ai_stat **out,
                      int *n, lb_errbuf *eb) {
  *out = NULL;
  *n = 0;
  ttxt a, b;
  const char *p[2] = {TR(&a, from), TR(&b, to)};
  store_rows r;
  TRY(store_run(s, STORE_Q_decisions_for_stats, p, 2, &r, false, eb));
  /* Summed here in lb_dec: SQLite cannot add decimal text exactly. */
  store_ai_stat *st = NULL;
  double *lat_sum = NULL;
  int cnt = 0, cap = 0;
  lb_err e = LB_OK;
  for (int i = 0; i < r.nrows && e == LB_OK; i++) {
    rd d = {&r, i, "ai_decisions", stat_cols, LB_OK, eb};
    store_ai_stat k = {0};
    k.day = g == STORE_AI_BY_MODEL ? 0 : lb_time_day_start(rts(&d, 0));
    if (g != STORE_AI_BY_DAY) {
      rstr(&d, 1, k.provider, sizeof k.provider);
      rstr(&d, 2, k.model, sizeof k.model);
    }
    bool cached = rint_(&d, 3) != 0, failed = rint_(&d, 4) != 0;
    long long lat = rint_(&d, 5), ti = rint_(&d, 6), to_ = rint_(&d, 7), tc = rint_(&d, 8);
    lb_dec cost = rdec(&d, 9);
    if ((e = d.err) != LB_OK) break;
    int j = 0;
    while (j < cnt && stat_cmp(&st[j], &k) != 0) j++;
    if (j == cnt) {
      if (cnt == cap) {
        cap = cap ? cap * 2 : 16;
        store_ai_stat *ns = realloc(st, (size_t)cap * sizeof *ns);
        double *nl = realloc(lat_sum, (size_t)cap * sizeof *nl);
        if (ns) st = ns;
        if (nl) lat_sum = nl;
        if (!ns || !nl) {
          e = lb_fail(eb, LB_ENOMEM, "out of memory");
          break;
        }
      }
      st[cnt] = k;
      lat_sum[cnt] = 0;
      cnt++;
    }
    if (cached) {
      st[j].cache_hits++;
    } else {
      st[j].calls++;
      lat_sum[j] += (double)lat;
    }
    if (failed) st[j].errors++;
    st[j].tokens_in += (long)ti;
    st[j].tokens_out += (long)to_;
    st[j].tokens_cache += (long)tc;
    if (lb_dec_add(st[j].cost_usd, cost, &st[j].cost_usd) != LB_OK)
      e = lb_fail(eb, LB_EOVERFLOW, "AI cost total overflows");
  }
  store_rows_free(&r);
  for (int j = 0; j < cnt && e == LB_OK; j++)
    st[j].avg_latency_ms = st[j].calls ? lat_sum[j] / (double)st[j].calls : 0;
  free(lat_sum);
  if (e != LB_OK) {
    free(st);
    return e;
  }
  if (cnt > 1) qsort(st, (size_t)cnt, sizeof *st, stat_cmp);
  *out = st;
  *n = cnt;
  return LB_OK;
}

/* ==== equity_snapshots ==== */

static const char *const equity_cols[] = {"ts", "equity", "capital", "unrealized_pnl"};

static lb_err equity_row(const store_rows *r, int row, void *out, lb_errbuf *eb) {
  store_equity *q = out;
  rd d = {r, row, "equity_snapshots", equity_cols, LB_OK, eb};
  q->ts = rts(&d, 0);
  q->equity = rdec(&d, 1);
  q->capital = rdec(&d, 2);
  q->unrealized_pnl = rdec(&d, 3);
  return d.err;
}

lb_err store_equity_record(store *s, const store_equity *q, store_wmode mode, lb_errbuf *eb) {
  TRY(check_ts("equity.ts", q->ts, eb));
  dtxt e, c, u;
  ttxt t;
  const char *p[4] = {T(&t, q->ts), D(&e, q->equity), D(&c, q->capital), D(&u, q->unrealized_pnl)};
  return submit1(s, "equity snapshot", STORE_Q_equity_insert, STORE_EXPECT_ANY, p, 4, mode, eb);
}

lb_err store_equity_range(store *s, lb_ms from, lb_ms to, store_equity **out, int *n,
                          lb_errbuf *eb) {
  ttxt a, b;
  const char *p[2] = {TR(&a, from), TR(&b, to)};
  return query_all(s, STORE_Q_equity_range, p, 2, (void **)out, sizeof **out, n, equity_row, eb);
}

/* ==== notification outbox ==== */

static const char *const note_cols[] = {"id", "channel", "severity", "body", "attempts",
                                        "created_at", "next_attempt_at", "delivered_at",
                                        "last_error"};

static lb_err note_row(const store_rows *r, int row, void *out, lb_errbuf *eb) {
  store_note *m = out;
  rd d = {r, row, "notification_outbox", note_cols, LB_OK, eb};
  memset(m, 0, sizeof *m);
  rstr(&d, 0, m->id, sizeof m->id);
  rstr(&d, 1, m->channel, sizeof m->channel);
  rstr(&d, 2, m->severity, sizeof m->severity);
  rstr(&d, 3, m->text, sizeof m->text);
  m->attempts = (int)rint_(&d, 4);
  m->created_at = rts(&d, 5);
  m->next_attempt_at = rts(&d, 6);
  m->delivered_at = rts(&d, 7);
  rstr(&d, 8, m->last_error, sizeof m->last_error);
  return d.err;
}

lb_err store_outbox_enqueue(store *s, const char *channel, const char *severity,
                            const char *text, lb_ms now, char *id_out, store_wmode mode,
                            lb_errbuf *eb) {
  if (channel && *channel) TRY(check_id("note.channel", channel, STORE_NAME_MAX, eb));
  if (!severity || (strcmp(severity, "critical") != 0 && strcmp(severity, "warning") != 0 &&
                    strcmp(severity, "info") != 0))
    return lb_fail(eb, LB_EINVAL, "note.severity \"%s\" is not one of critical, warning, info",
                   severity ? severity : "(null)");
  if (!text || !*text) return lb_fail(eb, LB_EINVAL, "note.text is empty");
  TRY(check_ts("note.created_at", now, eb));
  char *body = redacted(text, STORE_NOTE_MAX);
  if (!body) return lb_fail(eb, LB_ENOMEM, "out of memory");
  char id[STORE_ID_MAX];
  store_new_id(s, "note", id);
  if (id_out) snprintf(id_out, STORE_ID_MAX, "%s", id);
  ttxt t;
  const char *p[5] = {id, channel ? channel : "", severity, body, T(&t, now)};
  lb_err e = submit1(s, "notification", STORE_Q_outbox_insert, STORE_EXPECT_ANY, p, 5, mode, eb);
  free(body);
  return e;
}

lb_err store_outbox_pending(store *s, lb_ms now, store_note *out, int max, int *n, lb_errbuf *eb) {
  *n = 0;
  if (max <= 0) return LB_OK;
  ttxt t, lim;
  const char *p[2] = {T(&t, now), I(&lim, max)};
  return query_rows(s, STORE_Q_outbox_pending, p, 2, out, sizeof *out, max, n, note_row, eb);
}

lb_err store_outbox_mark_delivered(store *s, const char *id, lb_ms at, store_wmode mode,
                                   lb_errbuf *eb) {
  TRY(check_id("note.id", id, STORE_ID_MAX, eb));
  TRY(check_ts("note.delivered_at", at, eb));
  ttxt t;
  const char *p[2] = {id, T(&t, at)};
  return submit1(s, "notification", STORE_Q_outbox_delivered, STORE_EXPECT_ROW, p, 2, mode, eb);
}

lb_err store_outbox_mark_attempt(store *s, const char *id, int attempts, lb_ms next_attempt_at,
                                 const char *error, store_wmode mode, lb_errbuf *eb) {
  TRY(check_id("note.id", id, STORE_ID_MAX, eb));
  if (attempts < 0) return lb_fail(eb, LB_EINVAL, "note.attempts %d must be >= 0", attempts);
  TRY(check_ts("note.next_attempt_at", next_attempt_at, eb));
  char *err = redacted(error ? error : "", STORE_TEXT_MAX);
  if (!err) return lb_fail(eb, LB_ENOMEM, "out of memory");
  ttxt a, t;
  const char *p[4] = {id, I(&a, attempts), T(&t, next_attempt_at), S(err)};
  lb_err e = submit1(s, "notification", STORE_Q_outbox_attempt, STORE_EXPECT_ROW, p, 4, mode, eb);
  free(err);
  return e;
}

/* ==== Metrics ==== */

lb_err store_metrics_get(store *s, lb_ms now, store_metrics *out, lb_errbuf *eb) {
  memset(out, 0, sizeof *out);
  store_trading_config cfg = {0};
  bool found;
  TRY(config_get_f(s, &cfg, &found, eb));
  store_trade *closed = NULL;
  int n = 0;
  TRY(query_all(s, STORE_Q_trades_closed_all, NULL, 0, (void **)&closed, sizeof *closed, &n,
                trade_row, eb));
  store_equity *eq = NULL;
  int neq = 0;
  lb_err e = store_equity_range(s, 0, STORE_TS_MAX, &eq, &neq, eb);
  if (e == LB_OK)
    store_metrics_compute(closed, n, eq, neq, found ? cfg.initial_capital : 0, now, out);
  free(closed);
  free(eq);
  return e;
}
