/* store_sql.c -- the statement table, the numbered migrations and the dialect rewriting.
 *
 * Owns the text of the database: every statement (store_stmts.def) and
 * every migration, each written once for both back ends.  The few places
 * where PostgreSQL and SQLite differ are spelled as @WORDS@ in the
 * migrations and rewritten here (store_dialect_sql), so a reader sees the
 * whole schema in one place and every difference by name.
 *
 * Migrations are append-only: a released one is never edited (a database
 * that applied it keeps its version number); a change is a new migration.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "store/store_int.h"

/* ==== Statements ==== */

const char *const store_stmt_sql[STORE_Q__COUNT] = {
#define STORE_STMT(id, sql) sql,
#include "store/store_stmts.def"
#undef STORE_STMT
};

const char *const store_stmt_name[STORE_Q__COUNT] = {
#define STORE_STMT(id, sql) #id,
#include "store/store_stmts.def"
#undef STORE_STMT
};

store_stmt_id store_stmt_lookup(const char *name) {
  for (int i = 0; i < STORE_Q__COUNT; i++)
    if (strcmp(store_stmt_name[i], name) == 0) return (store_stmt_id)i;
  return STORE_Q__COUNT;
}

/* ==== Migrations ==== */

const char *const store_tables[] = {
    "schema_migrations", "trading_config", "trades",        "orders",
    "fills",             "positions",      "circuit_breaker_events", "equity_snapshots",
    "ai_analysis_cache", "ai_consensus",   "ai_decisions",  "notification_outbox",
    NULL};

const char *const store_migrations_table_sql =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version INTEGER PRIMARY KEY CHECK (version >= 1),"
    " name TEXT NOT NULL,"
    " applied_at @TS@ NOT NULL)";

/* 1: the ledger the engine writes. */
static const char *const m1_ledger[] = {
    "CREATE TABLE trading_config ("
    " id INTEGER PRIMARY KEY CHECK (id = 1),"
    " initial_capital @MONEY@ NOT NULL CHECK (@N(initial_capital)@ > 0),"
    " current_capital @MONEY@ NOT NULL,"
    " mode TEXT NOT NULL CHECK (mode IN ('paper', 'live', 'backtest')),"
    " updated_at @TS@ NOT NULL)",

    "CREATE TABLE trades ("
    " id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 63),"
    " symbol TEXT NOT NULL CHECK (length(symbol) BETWEEN 1 AND 31),"
    " side TEXT NOT NULL CHECK (side IN ('LONG', 'SHORT')),"
    " qty @MONEY@ NOT NULL CHECK (@N(qty)@ > 0),"
    " entry_price @MONEY@ NOT NULL CHECK (@N(entry_price)@ > 0),"
    " leverage INTEGER NOT NULL CHECK (leverage BETWEEN 1 AND 125),"
    " stop_price @MONEY@ NOT NULL CHECK (@N(stop_price)@ > 0),"
    " take_profit @MONEY@ CHECK (@N(take_profit)@ > 0),"
    " liquidation_price @MONEY@ CHECK (@N(liquidation_price)@ > 0),"
    " margin @MONEY@ NOT NULL CHECK (@N(margin)@ > 0),"
    " ai_confidence @REAL@ CHECK (ai_confidence > 0 AND ai_confidence <= 1),"
    " consensus_id TEXT,"
    " opened_at @TS@ NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'OPEN' CHECK (status IN ('OPEN', 'CLOSED')),"
    " exit_price @MONEY@ CHECK (@N(exit_price)@ > 0),"
    " exit_reason TEXT CHECK (exit_reason IN ('stop_loss', 'take_profit', 'trailing_stop',"
    "   'liquidation', 'signal', 'manual', 'no_stop', 'shutdown', 'external')),"
    " realized_pnl @MONEY@,"
    " fees @MONEY@ CHECK (@N(fees)@ >= 0),"
    " funding @MONEY@,"
    " closed_at @TS@,"
    " CHECK ((status = 'OPEN' AND closed_at IS NULL AND exit_price IS NULL"
    "         AND exit_reason IS NULL)"
    "     OR (status = 'CLOSED' AND closed_at IS NOT NULL AND exit_price IS NOT NULL"
    "         AND exit_reason IS NOT NULL AND realized_pnl IS NOT NULL AND fees IS NOT NULL"
    "         AND funding IS NOT NULL AND closed_at >= opened_at)))",
    /* At most one open trade per symbol, whatever the engine believes. */
    "CREATE UNIQUE INDEX trades_one_open_per_symbol ON trades (symbol) WHERE status = 'OPEN'",
    "CREATE INDEX trades_opened_at ON trades (opened_at)",
    "CREATE INDEX trades_closed_at ON trades (closed_at)",

    "CREATE TABLE orders ("
    " client_id TEXT PRIMARY KEY CHECK (length(client_id) BETWEEN 1 AND 63),"
    " exchange_id TEXT,"
    " trade_id TEXT,"
    " symbol TEXT NOT NULL CHECK (length(symbol) BETWEEN 1 AND 31),"
    " kind TEXT NOT NULL CHECK (kind IN ('entry', 'stop', 'take_profit', 'exit')),"
    " side TEXT NOT NULL CHECK (side IN ('BUY', 'SELL')),"
    " type TEXT NOT NULL CHECK (type IN ('MARKET', 'LIMIT', 'STOP_MARKET',"
    "   'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET')),"
    " qty @MONEY@ NOT NULL CHECK (@N(qty)@ > 0),"
    " price @MONEY@ CHECK (@N(price)@ > 0),"
    " trigger_price @MONEY@ CHECK (@N(trigger_price)@ > 0),"
    " reduce_only INTEGER NOT NULL DEFAULT 0 CHECK (reduce_only IN (0, 1)),"
    " status TEXT NOT NULL CHECK (status IN ('PENDING', 'NEW', 'PARTIALLY_FILLED', 'FILLED',"
    "   'CANCELED', 'REJECTED', 'EXPIRED', 'TRIGGERED')),"
    " filled_qty @MONEY@ NOT NULL DEFAULT 0 CHECK (@N(filled_qty)@ >= 0),"
    " avg_price @MONEY@ CHECK (@N(avg_price)@ > 0),"
    " created_at @TS@ NOT NULL,"
    " updated_at @TS@ NOT NULL,"
    " CHECK (type <> 'LIMIT' OR price IS NOT NULL),"
    " CHECK (type NOT IN ('STOP_MARKET', 'TAKE_PROFIT_MARKET') OR trigger_price IS NOT NULL))",
    "CREATE INDEX orders_trade_id ON orders (trade_id)",
    "CREATE INDEX orders_exchange_id ON orders (symbol, exchange_id)",

    /* A fill is identified by the venue's trade id, or by its sequence
     * number within the order when the venue has none. */
    "CREATE TABLE fills ("
    " id @ID@,"
    " order_client_id TEXT NOT NULL REFERENCES orders (client_id),"
    " exchange_trade_id TEXT,"
    " seq INTEGER CHECK (seq >= 1),"
    " qty @MONEY@ NOT NULL CHECK (@N(qty)@ > 0),"
    " price @MONEY@ NOT NULL CHECK (@N(price)@ > 0),"
    " fee @MONEY@ NOT NULL,"
    " fee_asset TEXT NOT NULL,"
    " realized_pnl @MONEY@ NOT NULL,"
    " maker INTEGER NOT NULL CHECK (maker IN (0, 1)),"
    " filled_at @TS@ NOT NULL,"
    " CHECK ((exchange_trade_id IS NULL) <> (seq IS NULL)),"
    " UNIQUE (order_client_id, exchange_trade_id),"
    " UNIQUE (order_client_id, seq))",

    "CREATE TABLE positions ("
    " symbol TEXT PRIMARY KEY CHECK (length(symbol) BETWEEN 1 AND 31),"
    " state TEXT NOT NULL CHECK (state IN ('FLAT', 'ENTERING', 'OPEN', 'EXITING')),"
    " trade_id TEXT,"
    " stop_client_id TEXT,"
    " tp_client_id TEXT,"
    " updated_at @TS@ NOT NULL,"
    " CHECK (state = 'FLAT' OR trade_id IS NOT NULL))",

    "CREATE TABLE circuit_breaker_events ("
    " id @ID@,"
    " kind TEXT NOT NULL CHECK (length(kind) BETWEEN 1 AND 63),"
    " tripped_at @TS@ NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '',"
    " resume_at @TS@,"
    " resumed_at @TS@,"
    " resumed_how TEXT,"
    " CHECK (resume_at IS NULL OR resume_at > tripped_at),"
    " CHECK (resumed_at IS NULL OR resumed_at >= tripped_at),"
    " CHECK ((resumed_at IS NULL) = (resumed_how IS NULL)),"
    " UNIQUE (kind, tripped_at))",
    "CREATE INDEX circuit_breaker_events_active ON circuit_breaker_events (tripped_at)"
    " WHERE resumed_at IS NULL",

    "CREATE TABLE equity_snapshots ("
    " ts @TS@ PRIMARY KEY,"
    " equity @MONEY@ NOT NULL,"
    " capital @MONEY@ NOT NULL,"
    " unrealized_pnl @MONEY@ NOT NULL)",
    NULL};

/* 2: the AI engine's cache and its audit trail. */
static const char *const m2_ai[] = {
    "CREATE TABLE ai_analysis_cache ("
    " key TEXT PRIMARY KEY CHECK (length(key) BETWEEN 1 AND 512),"
    " symbol TEXT NOT NULL,"
    " model TEXT NOT NULL,"
    " response TEXT NOT NULL,"
    " created_at @TS@ NOT NULL,"
    " expires_at @TS@ NOT NULL,"
    " CHECK (expires_at > created_at))",
    "CREATE INDEX ai_analysis_cache_expires_at ON ai_analysis_cache (expires_at)",

    "CREATE TABLE ai_consensus ("
    " id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 63),"
    " symbol TEXT NOT NULL CHECK (length(symbol) BETWEEN 1 AND 31),"
    " action TEXT NOT NULL CHECK (action IN ('LONG', 'SHORT', 'HOLD')),"
    " confidence @REAL@ NOT NULL CHECK (confidence >= 0 AND confidence <= 1),"
    " n_voters INTEGER NOT NULL CHECK (n_voters >= 0),"
    " created_at @TS@ NOT NULL)",
    "CREATE INDEX ai_consensus_created_at ON ai_consensus (created_at)",

    "CREATE TABLE ai_decisions ("
    " id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 63),"
    " consensus_id TEXT REFERENCES ai_consensus (id),"
    " provider TEXT NOT NULL CHECK (length(provider) BETWEEN 1 AND 63),"
    " model TEXT NOT NULL CHECK (length(model) BETWEEN 1 AND 63),"
    " symbol TEXT NOT NULL CHECK (length(symbol) BETWEEN 1 AND 31),"
    " prompt_hash TEXT,"
    " snapshot_hash TEXT,"
    " latency_ms BIGINT NOT NULL CHECK (latency_ms >= 0),"
    " attempts INTEGER NOT NULL CHECK (attempts >= 0),"
    " tokens_in BIGINT NOT NULL DEFAULT 0 CHECK (tokens_in >= 0),"
    " tokens_out BIGINT NOT NULL DEFAULT 0 CHECK (tokens_out >= 0),"
    " tokens_cache BIGINT NOT NULL DEFAULT 0 CHECK (tokens_cache >= 0),"
    " cost_usd @MONEY@ NOT NULL DEFAULT 0 CHECK (@N(cost_usd)@ >= 0),"
    " cached INTEGER NOT NULL CHECK (cached IN (0, 1)),"
    " decision_json TEXT,"
    " error TEXT,"
    " created_at @TS@ NOT NULL,"
    " CHECK (decision_json IS NOT NULL OR error IS NOT NULL))",
    "CREATE INDEX ai_decisions_created_at ON ai_decisions (created_at)",
    "CREATE INDEX ai_decisions_consensus_id ON ai_decisions (consensus_id)",
    NULL};

/* 3: critical alerts that must survive a restart. */
static const char *const m3_outbox[] = {
    "CREATE TABLE notification_outbox ("
    " id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 63),"
    " channel TEXT NOT NULL DEFAULT '',"
    " severity TEXT NOT NULL CHECK (severity IN ('critical', 'warning', 'info')),"
    " body TEXT NOT NULL CHECK (length(body) BETWEEN 1 AND 4096),"
    " attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),"
    " created_at @TS@ NOT NULL,"
    " next_attempt_at @TS@ NOT NULL,"
    " delivered_at @TS@,"
    " last_error TEXT)",
    "CREATE INDEX notification_outbox_pending ON notification_outbox (next_attempt_at)"
    " WHERE delivered_at IS NULL",
    NULL};

/* 4: what each trade's plan promised, kept when the trailing stop moves
 * stop_price (the report's R multiples and planned R:R).  Rows written
 * before it keep NULL: unknown. */
static const char *const m4_trade_plan[] = {
    "ALTER TABLE trades ADD COLUMN initial_stop @MONEY@ CHECK (@N(initial_stop)@ > 0)",
    "ALTER TABLE trades ADD COLUMN loss_at_stop @MONEY@ CHECK (@N(loss_at_stop)@ > 0)",
    "ALTER TABLE trades ADD COLUMN planned_rr @REAL@ CHECK (planned_rr > 0)",
    NULL};

const store_migration store_migrations[] = {
    {1, "ledger", m1_ledger},
    {2, "ai", m2_ai},
    {3, "notification_outbox", m3_outbox},
    {4, "trade_plan", m4_trade_plan},
};
const int store_n_migrations = (int)(sizeof store_migrations / sizeof store_migrations[0]);

_Static_assert(sizeof store_migrations / sizeof store_migrations[0] == STORE_SCHEMA_VERSION,
               "STORE_SCHEMA_VERSION must be the number of the last migration");

/* ==== Dialect ==== */

/* The column a @TS@ belongs to: the identifier just before it. */
static int column_before(const char *start, const char *at, const char **name) {
  const char *e = at;
  while (e > start && e[-1] == ' ') e--;
  const char *b = e;
  while (b > start && (b[-1] == '_' || (b[-1] >= 'a' && b[-1] <= 'z') || (b[-1] >= '0' && b[-1] <= '9')))
    b--;
  *name = b;
  return (int)(e - b);
}

lb_err store_dialect_sql(const char *in, store_backend b, lb_buf *out) {
  bool pg = b == STORE_BACKEND_POSTGRES;
  lb_buf_reset(out);
  const char *p = in;
  lb_err rc = LB_OK;
  while (*p && rc == LB_OK) {
    if (*p != '@') {
      size_t n = strcspn(p, "@");
      rc = lb_buf_append(out, p, n);
      p += n;
      continue;
    }
    if (strncmp(p, "@MONEY@", 7) == 0) {
      rc = lb_buf_puts(out, pg ? "NUMERIC(20,8)" : "TEXT");
      p += 7;
    } else if (strncmp(p, "@REAL@", 6) == 0) {
      rc = lb_buf_puts(out, pg ? "DOUBLE PRECISION" : "REAL");
      p += 6;
    } else if (strncmp(p, "@ID@", 4) == 0) {
      rc = lb_buf_puts(out, pg ? "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"
                               : "INTEGER PRIMARY KEY");
      p += 4;
    } else if (strncmp(p, "@TS@", 4) == 0) {
      if (pg) {
        rc = lb_buf_puts(out, "TIMESTAMPTZ");
      } else {
        /* Text timestamps compare correctly only in one fixed form. */
        const char *col;
        int len = column_before(in, p, &col);
        if (len == 0) return LB_EINVAL;
        rc = lb_buf_printf(out,
                           "TEXT CHECK (%.*s GLOB '[0-9][0-9][0-9][0-9]-[0-1][0-9]-[0-3][0-9]T"
                           "[0-2][0-9]:[0-5][0-9]:[0-6][0-9].[0-9][0-9][0-9]Z')",
                           len, col);
      }
      p += 4;
    } else if (strncmp(p, "@N(", 3) == 0) {
      const char *e = strstr(p, ")@");
      if (!e) return LB_EINVAL;
      int len = (int)(e - (p + 3));
      rc = pg ? lb_buf_printf(out, "%.*s", len, p + 3)
              : lb_buf_printf(out, "CAST(%.*s AS REAL)", len, p + 3);
      p = e + 2;
    } else {
      return LB_EINVAL; /* an unknown @WORD@ is a bug in a migration */
    }
  }
  return rc;
}

lb_err store_sql_to_sqlite(const char *in, lb_buf *out) {
  lb_buf_reset(out);
  char quote = 0;
  for (const char *p = in; *p; p++) {
    char c = *p;
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '$' && p[1] >= '0' && p[1] <= '9') {
      c = '?';
    }
    if (lb_buf_append(out, &c, 1) != LB_OK) return LB_ENOMEM;
  }
  return LB_OK;
}

/* ==== Text forms ==== */

char *store_ts_fmt(lb_ms t, char *buf, size_t n) {
  lb_time_fmt_iso(t, buf, n);
  return buf;
}

lb_err store_ts_parse(const char *s, lb_ms *out) {
  char tmp[48];
  size_t len = strlen(s);
  if (len < 10 || len >= sizeof tmp) return LB_EPARSE;
  memcpy(tmp, s, len + 1);
  /* PostgreSQL prints "+00" with TimeZone=UTC; lb_time_parse_iso wants Z. */
  if (len > 3 && strcmp(tmp + len - 3, "+00") == 0) {
    tmp[len - 3] = 'Z';
    tmp[len - 2] = '\0';
  }
  return lb_time_parse_iso(tmp, out);
}

void store_scrub(char *s, size_t n, const char *secret) {
  if (secret && *secret) {
    size_t sl = strlen(secret);
    char *from = s, *p;
    while ((p = strstr(from, secret)) != NULL) {
      size_t keep = sl < 4 ? sl : 4;
      memcpy(p, "****", keep);
      if (sl > keep) memmove(p + keep, p + sl, strlen(p + sl) + 1);
      from = p + keep;
    }
  }
  char tmp[LB_ERRBUF_SIZE * 2];
  lb_redact(s, tmp, sizeof tmp);
  snprintf(s, n, "%s", tmp);
}

/* ==== Failures and rows ==== */

lb_err store_failf(store_fail *f, lb_err code, store_fkind kind, store_diag diag,
                   const char *fmt, ...) {
  if (!f) return code;
  f->code = code;
  f->kind = kind;
  f->diag = diag;
  f->sqlstate[0] = '\0';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->msg, sizeof f->msg, fmt, ap);
  va_end(ap);
  return code;
}

void store_fail_prefix(store_fail *f, const char *fmt, ...) {
  if (!f) return;
  char pre[LB_ERRBUF_SIZE], all[2 * LB_ERRBUF_SIZE + 8];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(pre, sizeof pre, fmt, ap);
  va_end(ap);
  snprintf(all, sizeof all, "%s%s", pre, f->msg);
  size_t n = strlen(all);
  if (n >= sizeof f->msg) n = sizeof f->msg - 1;
  memcpy(f->msg, all, n);
  f->msg[n] = '\0';
}

lb_err store_fail_to_eb(const store_fail *f, lb_errbuf *eb) {
  if (eb) lb_redact(f->msg, eb->msg, sizeof eb->msg);
  return f->code;
}

void store_rows_free(store_rows *r) {
  if (!r || !r->cell) return;
  for (int i = 0; i < r->nrows * r->ncols; i++) free(r->cell[i]);
  free(r->cell);
  r->cell = NULL;
  r->nrows = r->ncols = 0;
}
