/* tb.h -- the store tests' harness: the same test body on both back ends.
 *
 *   STORE_TEST(trade_roundtrip) { ... t->s is an open, migrated store ... }
 *
 * registers trade_roundtrip_sqlite and trade_roundtrip_postgres.  Each run
 * gets a fresh database (a new SQLite file; a new PostgreSQL database made
 * with libpq on the server named by LEVBOT_TEST_PG_URL, dropped afterwards)
 * and a scratch directory.  Without LEVBOT_TEST_PG_URL the PostgreSQL runs
 * skip, saying how to enable them.  Bodies use the public store.h only;
 * the harness alone talks to the servers directly (creating databases,
 * holding locks to simulate an unavailable database).
 */
#ifndef LB_TESTS_STORE_TB_H
#define LB_TESTS_STORE_TB_H

#include "store/store.h"
#include "unit.h"

typedef struct tb {
  store_backend backend;
  const char *bname;   /* "sqlite" / "postgres" */
  char name[96];       /* test name */
  char dir[512];       /* scratch directory for this run */
  char url[1024];      /* the fresh database */
  char journal[600];   /* a journal path in dir */
  store *s;            /* open on url, migrated */
} tb;

typedef void (*tb_body)(tb *t);
void tb_run(store_backend b, const char *name, tb_body body);

#define STORE_TEST(name)                                                      \
  static void body_##name(tb *t);                                             \
  TEST(name##_sqlite) { tb_run(STORE_BACKEND_SQLITE, #name, body_##name); }   \
  TEST(name##_postgres) { tb_run(STORE_BACKEND_POSTGRES, #name, body_##name); } \
  static void body_##name(tb *t)

/* Test options: migrate, an explicit journal in t->dir, short timeouts so
 * outage tests run in well under a second per step. */
store_options tb_options(const tb *t);
/* Another handle on t's database (closed by the harness). */
store *tb_open(tb *t, const store_options *o);
/* Closes a handle from tb_open() early (events are delivered then). */
void tb_close(store *s);
/* A fresh, empty database of t's back end (not migrated): its URL. */
void tb_new_db(tb *t, char *url, size_t n);

/* Makes the database refuse writes (a lock held by another session) until
 * tb_unblock(): what a busy or unavailable database looks like to levbot. */
void tb_block(tb *t);
void tb_unblock(tb *t);

/* The first cell of a query as text ("" for NULL), via store_query_text. */
const char *tb_q(store *s, const char *sql);
long tb_count(store *s, const char *sql);

/* 2026-01-15T00:00:00Z plus an offset. */
lb_ms tb_t(lb_ms offset);
/* A valid open trade with this id and symbol at time at. */
store_trade tb_trade(const char *id, const char *symbol, lb_ms at);
/* A valid market entry order. */
store_order tb_order(const char *client_id, const char *trade_id, lb_ms at);

/* The PostgreSQL server of the test run, or NULL (then SKIPs). */
const char *tb_pg_url(void);
/* Creates/drops a database on the test server through libpq. */
void tb_pg_admin(const char *sql);

#endif
