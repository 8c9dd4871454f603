/* tb.c -- the harness behind tb.h (fresh databases, blockers). */
#include "tb.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_EXTRA 8
#define MAX_DBS 16

static tb *cur;
static store *extra[MAX_EXTRA];
static int n_extra;
static char dbs[MAX_DBS][64];
static int n_dbs;
static PGconn *block_pg;
static sqlite3 *block_sq;
static int db_counter;

const char *tb_pg_url(void) {
  const char *u = getenv("LEVBOT_TEST_PG_URL");
  return u && *u ? u : NULL;
}

static void quiet_notice(void *arg, const char *msg) {
  (void)arg;
  (void)msg;
}

void tb_pg_admin(const char *sql) {
  PGconn *c = PQconnectdb(tb_pg_url());
  if (PQstatus(c) != CONNECTION_OK) {
    lbt_fail(__FILE__, __LINE__, "admin connection: %s", PQerrorMessage(c));
    PQfinish(c);
    return;
  }
  PQsetNoticeProcessor(c, quiet_notice, NULL);
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK)
    lbt_fail(__FILE__, __LINE__, "admin SQL %s: %s", sql, PQerrorMessage(c));
  PQclear(r);
  PQfinish(c);
}

/* The test server's URL with another database name. */
static void pg_url_for(const char *db, char *out, size_t n) {
  const char *base = tb_pg_url();
  const char *q = strchr(base, '?');
  const char *slash = strrchr(base, '/');
  if (q && slash > q) slash = NULL;
  int plen = slash ? (int)(slash - base) : (int)strlen(base);
  snprintf(out, n, "%.*s/%s%s", plen, base, db, q ? q : "");
}

static void cleanup(void) {
  tb_unblock(NULL);
  for (int i = 0; i < n_extra; i++) store_close(extra[i]);
  n_extra = 0;
  if (cur) {
    store_close(cur->s);
    free(cur);
    cur = NULL;
  }
  for (int i = 0; i < n_dbs; i++) {
    char sql[sizeof dbs[i] + 64];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %.63s WITH (FORCE)", dbs[i]);
    tb_pg_admin(sql);
  }
  n_dbs = 0;
}

store_options tb_options(const tb *t) {
  store_options o = {0};
  o.migrate = true;
  o.journal_path = t->journal;
  o.busy_timeout_ms = 500;
  o.statement_timeout_ms = 5000;
  o.retry_max_ms = 200;
  o.sync_timeout_ms = 20000;
  o.close_timeout_ms = 5000;
  o.connect_timeout_s = 5;
  return o;
}

store *tb_open(tb *t, const store_options *o) {
  store_options d = tb_options(t);
  store *s = NULL;
  lb_errbuf eb = {{0}};
  if (store_open(t->url, o ? o : &d, &s, &eb) != LB_OK) {
    lbt_fail(__FILE__, __LINE__, "store_open(%s): %s", t->url, eb.msg);
    lbt_abort_test();
  }
  if (n_extra < MAX_EXTRA) extra[n_extra++] = s;
  return s;
}

void tb_close(store *s) {
  for (int i = 0; i < n_extra; i++)
    if (extra[i] == s) {
      extra[i] = extra[--n_extra];
      break;
    }
  store_close(s);
}

void tb_new_db(tb *t, char *url, size_t n) {
  if (t->backend == STORE_BACKEND_SQLITE) {
    snprintf(url, n, "sqlite://%s/db%d.db", t->dir, ++db_counter);
    return;
  }
  if (n_dbs == MAX_DBS) {
    lbt_fail(__FILE__, __LINE__, "too many databases in one test");
    lbt_abort_test();
  }
  snprintf(dbs[n_dbs], sizeof dbs[0], "lbt_%ld_%d", (long)getpid(), ++db_counter);
  char sql[128];
  snprintf(sql, sizeof sql, "CREATE DATABASE %.63s", dbs[n_dbs]);
  tb_pg_admin(sql);
  pg_url_for(dbs[n_dbs], url, n);
  n_dbs++;
}

void tb_run(store_backend b, const char *name, tb_body body) {
  static bool registered;
  if (!registered) {
    atexit(cleanup);
    registered = true;
  }
  cleanup(); /* what an aborted test (REQUIRE) left behind */
  if (b == STORE_BACKEND_POSTGRES && !tb_pg_url())
    SKIP("LEVBOT_TEST_PG_URL is not set: run under scripts/with-postgres (make check does) "
         "to test PostgreSQL");
  tb *t = calloc(1, sizeof *t);
  REQUIRE(t);
  cur = t;
  t->backend = b;
  t->bname = store_backend_name(b);
  snprintf(t->name, sizeof t->name, "%s", name);
  snprintf(t->dir, sizeof t->dir, "%s/%s_%s", lbt_tmpdir(), name, t->bname);
  mkdir(t->dir, 0700);
  snprintf(t->journal, sizeof t->journal, "%s/pending.jsonl", t->dir);
  if (b == STORE_BACKEND_SQLITE) snprintf(t->url, sizeof t->url, "sqlite://%s/levbot.db", t->dir);
  else tb_new_db(t, t->url, sizeof t->url);
  store_options o = tb_options(t);
  lb_errbuf eb = {{0}};
  if (store_open(t->url, &o, &t->s, &eb) != LB_OK) {
    lbt_fail(__FILE__, __LINE__, "[%s] store_open: %s", t->bname, eb.msg);
    lbt_abort_test();
  }
  body(t);
  cleanup();
}

/* ==== Blocking the database ==== */

void tb_block(tb *t) {
  if (t->backend == STORE_BACKEND_SQLITE) {
    REQUIRE(sqlite3_open(t->url + strlen("sqlite://"), &block_sq) == SQLITE_OK);
    /* In WAL mode this holds the write lock: readers go on, writers wait. */
    REQUIRE(sqlite3_exec(block_sq, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
    return;
  }
  block_pg = PQconnectdb(t->url);
  REQUIRE(PQstatus(block_pg) == CONNECTION_OK);
  PGresult *r = PQexec(block_pg,
                       "BEGIN; LOCK TABLE trading_config, trades, orders, fills, positions, "
                       "circuit_breaker_events, equity_snapshots, ai_consensus, ai_decisions, "
                       "notification_outbox IN EXCLUSIVE MODE");
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  PQclear(r);
  REQUIRE(ok);
}

void tb_unblock(tb *t) {
  (void)t;
  if (block_sq) {
    sqlite3_exec(block_sq, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(block_sq);
    block_sq = NULL;
  }
  if (block_pg) {
    PQclear(PQexec(block_pg, "ROLLBACK"));
    PQfinish(block_pg);
    block_pg = NULL;
  }
}

/* ==== Queries and values ==== */

const char *tb_q(store *s, const char *sql) {
  static char bufs[4][4096];
  static int slot;
  char *b = bufs[slot++ % 4];
  char *v = NULL;
  lb_errbuf eb = {{0}};
  if (store_query_text(s, sql, &v, &eb) != LB_OK) {
    lbt_fail(__FILE__, __LINE__, "query %s: %s", sql, eb.msg);
    b[0] = '\0';
    return b;
  }
  snprintf(b, 4096, "%s", v ? v : "");
  free(v);
  return b;
}

long tb_count(store *s, const char *sql) { return strtol(tb_q(s, sql), NULL, 10); }

lb_ms tb_t(lb_ms offset) { return INT64_C(1768435200000) + offset; } /* 2026-01-15T00:00:00Z */

store_trade tb_trade(const char *id, const char *symbol, lb_ms at) {
  store_trade t = {0};
  snprintf(t.id, sizeof t.id, "%s", id);
  snprintf(t.symbol, sizeof t.symbol, "%s", symbol);
  t.side = STORE_LONG;
  t.qty = 1000000;                     /* 0.01 */
  t.entry_price = LB_DEC_INT(50000);
  t.leverage = 3;
  t.stop_price = LB_DEC_INT(46500);
  t.take_profit = LB_DEC_INT(57000);
  t.liquidation_price = 3350000000000; /* 33500 */
  t.margin = 16666666667;              /* 166.66666667 */
  t.ai_confidence = 0.85;
  snprintf(t.consensus_id, sizeof t.consensus_id, "c-%s", id);
  t.opened_at = at;
  return t;
}

store_order tb_order(const char *client_id, const char *trade_id, lb_ms at) {
  store_order o = {0};
  snprintf(o.client_id, sizeof o.client_id, "%s", client_id);
  snprintf(o.trade_id, sizeof o.trade_id, "%s", trade_id ? trade_id : "");
  snprintf(o.symbol, sizeof o.symbol, "BTCUSDT");
  o.kind = STORE_ORDER_ENTRY;
  o.side = STORE_BUY;
  o.type = STORE_OT_MARKET;
  o.qty = 1000000;
  o.status = STORE_OS_PENDING;
  o.created_at = at;
  return o;
}
