/* test_writes.c -- the write path: order, idempotence, outages, the journal, locks, threads. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tb.h"

typedef struct {
  atomic_int n[8];
  char last[256];
  pthread_mutex_t mu;
} events;

static void on_event(void *ctx, const store_event *ev) {
  events *e = ctx;
  if (ev->kind >= 1 && ev->kind < 8) atomic_fetch_add(&e->n[ev->kind], 1);
  pthread_mutex_lock(&e->mu);
  snprintf(e->last, sizeof e->last, "%s", ev->detail);
  pthread_mutex_unlock(&e->mu);
}

static void order_and_fill(store *s, int i, store_wmode mode) {
  lb_errbuf eb;
  char id[32];
  snprintf(id, sizeof id, "o-%04d", i);
  store_order o = tb_order(id, NULL, tb_t(i));
  if (store_order_record(s, &o, mode, &eb) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "order %s: %s", id, eb.msg);
  store_fill f = {0};
  snprintf(f.order_client_id, sizeof f.order_client_id, "%s", id);
  f.seq = 1;
  f.qty = o.qty;
  f.price = LB_DEC_INT(50000) + i;
  f.filled_at = tb_t(i + 1);
  if (store_fill_record(s, &f, mode, &eb) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "fill %s: %s", id, eb.msg);
  if (store_order_update(s, id, STORE_OS_FILLED, NULL, o.qty, f.price, tb_t(i + 2), mode, &eb) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "update %s: %s", id, eb.msg);
}

/* Every order once, every fill once, every order FILLED (the update came
 * after its record: order kept). */
static void check_orders(store *s, int n) {
  char sql[160];
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM orders"), n);
  CHECK_EQ(tb_count(s, "SELECT COUNT(DISTINCT client_id) FROM orders"), n);
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM fills"), n);
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM orders WHERE status = 'FILLED'"), n);
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM fills f JOIN orders o ON o.client_id = f.order_client_id");
  CHECK_EQ(tb_count(s, sql), n);
}

STORE_TEST(store_async_writes_are_committed_in_order) {
  lb_errbuf eb;
  for (int i = 0; i < 200; i++) order_and_fill(t->s, i, STORE_ASYNC);
  REQUIRE_OK(store_flush(t->s, 30000, &eb));
  check_orders(t->s, 200);
  store_health h;
  REQUIRE_OK(store_health_check(t->s, 2000, &h, &eb));
  CHECK(h.ok);
  CHECK_EQ(h.queued, 0);
  CHECK_EQ(h.journaled, 0);
  CHECK_EQ(h.rejected, 0);
  CHECK(h.last_commit_at > 0);
}

STORE_TEST(store_sync_write_sees_earlier_async_writes_committed) {
  lb_errbuf eb;
  store_order o = tb_order("first", NULL, tb_t(0));
  REQUIRE_OK(store_order_record(t->s, &o, STORE_ASYNC, &eb));
  /* The fill's foreign key needs the order: only true if W1 holds. */
  store_fill f = {.seq = 1, .qty = 1, .price = 1, .filled_at = tb_t(1)};
  snprintf(f.order_client_id, sizeof f.order_client_id, "first");
  REQUIRE_OK(store_fill_record(t->s, &f, STORE_SYNC, &eb));
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM fills"), 1);
}

STORE_TEST(store_refused_async_write_is_kept_and_reported_not_retried) {
  static events ev; /* static: outlives a handle the harness closes late */
  memset(&ev, 0, sizeof ev);
  pthread_mutex_init(&ev.mu, NULL);
  store_options o = tb_options(t);
  o.on_event = on_event;
  o.event_ctx = &ev;
  store *s = tb_open(t, &o);
  lb_errbuf eb;
  store_fill f = {.seq = 1, .qty = 1, .price = 1, .filled_at = tb_t(1)};
  snprintf(f.order_client_id, sizeof f.order_client_id, "no-such-order");
  REQUIRE_OK(store_fill_record(s, &f, STORE_ASYNC, &eb)); /* accepted... */
  order_and_fill(s, 1, STORE_ASYNC);                       /* ...and the queue goes on */
  REQUIRE_OK(store_flush(s, 10000, &eb));
  check_orders(s, 1);
  store_health h;
  REQUIRE_OK(store_health_check(s, 2000, &h, &eb));
  CHECK_EQ(h.rejected, 1);
  tb_close(s); /* delivers the pending events */
  CHECK_EQ(atomic_load(&ev.n[STORE_EV_REJECTED]), 1);
  CHECK_CONTAINS(ev.last, "fill write refused");
  char path[700];
  snprintf(path, sizeof path, "%s.rejected", t->journal);
  char *text = NULL;
  char cmd[800];
  snprintf(cmd, sizeof cmd, "cat '%s'", path);
  CHECK_EQ(lbt_run(cmd, &text), 0);
  CHECK_CONTAINS(text, "no-such-order");
  CHECK_CONTAINS(text, "fill_record");
  free(text);
  pthread_mutex_destroy(&ev.mu);
}

/* Options for a store that meets a blocked database quickly. */
static store_options outage_options(tb *t, events *ev) {
  store_options o = tb_options(t);
  o.busy_timeout_ms = 100;       /* SQLite: another writer holds the lock */
  o.statement_timeout_ms = 300;  /* PostgreSQL: waiting for a lock ends */
  o.retry_max_ms = 100;
  o.on_event = on_event;
  o.event_ctx = ev;
  return o;
}

STORE_TEST(store_full_queue_spills_to_the_journal_and_replays_in_order) {
  static events ev; /* static: outlives a handle the harness closes late */
  memset(&ev, 0, sizeof ev);
  pthread_mutex_init(&ev.mu, NULL);
  store_options o = outage_options(t, &ev);
  o.queue_max = 8;
  store_close(t->s); /* this test's handle owns the journal */
  t->s = NULL;
  store *s = tb_open(t, &o);
  lb_errbuf eb;
  tb_block(t);
  for (int i = 0; i < 40; i++) order_and_fill(s, i, STORE_ASYNC); /* 120 writes, never waiting */
  store_health h;
  REQUIRE_OK(store_health_check(s, 3000, &h, &eb));
  CHECK(h.journaled > 0);
  CHECK(h.queued <= 8);
  CHECK(h.ok); /* reads still answer */
  /* The writer meets the lock (after the busy / statement timeout). */
  lb_ms until = lb_time_mono_ms() + 10000;
  while (!h.writer_stalled && lb_time_mono_ms() < until) {
    usleep(20000);
    REQUIRE_OK(store_health_check(s, 3000, &h, &eb));
  }
  CHECK(h.writer_stalled);
  CHECK_CONTAINS(h.error, "writes are being retried");
  struct stat st;
  REQUIRE(stat(t->journal, &st) == 0);
  CHECK(st.st_size > 0);
  tb_unblock(t);
  REQUIRE_OK(store_flush(s, 30000, &eb));
  check_orders(s, 40);
  REQUIRE(stat(t->journal, &st) == 0);
  CHECK_EQ(st.st_size, 0); /* replayed and emptied */
  REQUIRE_OK(store_health_check(s, 3000, &h, &eb));
  CHECK(h.ok);
  CHECK_EQ(h.journaled, 0);
  CHECK_EQ(h.rejected, 0);
  tb_close(s);
  CHECK(atomic_load(&ev.n[STORE_EV_JOURNALED]) >= 1);
  CHECK(atomic_load(&ev.n[STORE_EV_REPLAYED]) >= 1);
  pthread_mutex_destroy(&ev.mu);
}

STORE_TEST(store_full_queue_without_a_journal_fails_the_write_loudly) {
  static events ev;
  memset(&ev, 0, sizeof ev);
  pthread_mutex_init(&ev.mu, NULL);
  store_options o = outage_options(t, &ev);
  o.journal_path = NULL; /* no instance lock either: this handle has no journal */
  o.queue_max = 4;
  o.close_timeout_ms = 10000;
  store *s = tb_open(t, &o);
  lb_errbuf eb = {{0}};
  tb_block(t);
  int accepted = 0;
  lb_err last = LB_OK;
  for (int i = 0; i < 6; i++) {
    char id[16];
    snprintf(id, sizeof id, "q-%d", i);
    store_order ord = tb_order(id, NULL, tb_t(i));
    last = store_order_record(s, &ord, STORE_ASYNC, &eb);
    if (last == LB_OK) accepted++;
    else break;
  }
  CHECK_EQ(accepted, 4);
  CHECK_EQ(last, LB_EBUSY);
  CHECK_CONTAINS(eb.msg, "write queue full");
  CHECK_CONTAINS(eb.msg, "order write refused");
  tb_unblock(t);
  REQUIRE_OK(store_flush(s, 30000, &eb));
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM orders"), 4);
  tb_close(s);
  pthread_mutex_destroy(&ev.mu);
}

STORE_TEST(store_queued_writes_survive_close_and_replay_at_next_open) {
  static events ev; /* static: outlives a handle the harness closes late */
  memset(&ev, 0, sizeof ev);
  pthread_mutex_init(&ev.mu, NULL);
  store_options o = outage_options(t, &ev);
  o.close_timeout_ms = 300;
  store_close(t->s);
  t->s = NULL;
  store *s = NULL;
  lb_errbuf eb;
  REQUIRE_OK(store_open(t->url, &o, &s, &eb));
  tb_block(t);
  for (int i = 0; i < 10; i++) order_and_fill(s, i, STORE_ASYNC);
  store_close(s); /* the database never answered: everything goes to the journal */
  CHECK_EQ(atomic_load(&ev.n[STORE_EV_UNWRITTEN]), 0);
  struct stat st;
  REQUIRE(stat(t->journal, &st) == 0);
  CHECK(st.st_size > 0);
  tb_unblock(t);
  /* A torn last line (a crash mid-append) is ignored. */
  FILE *jf = fopen(t->journal, "a");
  REQUIRE(jf);
  fputs("{\"seq\":99999,\"what\":\"order\",\"steps\":[{\"op\":\"order_rec", jf);
  fclose(jf);
  s = tb_open(t, &o);
  REQUIRE_OK(store_flush(s, 30000, &eb));
  check_orders(s, 10);
  REQUIRE(stat(t->journal, &st) == 0);
  CHECK_EQ(st.st_size, 0);
  tb_close(s); /* before ev goes out of scope */
  CHECK(atomic_load(&ev.n[STORE_EV_REPLAYED]) >= 1);
  pthread_mutex_destroy(&ev.mu);
}

STORE_TEST(store_sync_write_fails_loudly_while_blocked_and_is_written_later) {
  static events ev; /* static: outlives a handle the harness closes late */
  memset(&ev, 0, sizeof ev);
  pthread_mutex_init(&ev.mu, NULL);
  store_options o = outage_options(t, &ev);
  o.sync_timeout_ms = 700;
  store_close(t->s);
  t->s = NULL;
  store *s = tb_open(t, &o);
  lb_errbuf eb = {{0}};
  tb_block(t);
  store_trade tr = tb_trade("late-1", "BTCUSDT", tb_t(0));
  lb_err e = store_trade_open(s, &tr, STORE_SYNC, &eb);
  CHECK_EQ(e, LB_EDB);
  CHECK_CONTAINS(eb.msg, "not written within 700 ms");
  CHECK_CONTAINS(eb.msg, "stays queued");
  tb_unblock(t);
  REQUIRE_OK(store_flush(s, 30000, &eb));
  store_trade g;
  CHECK_OK(store_trade_get(s, "late-1", &g, &eb));
  tb_close(s);
  CHECK(atomic_load(&ev.n[STORE_EV_DB_DOWN]) >= 1);
  CHECK(atomic_load(&ev.n[STORE_EV_DB_UP]) >= 1);
  pthread_mutex_destroy(&ev.mu);
}

STORE_TEST(store_instance_lock_keeps_a_second_bot_out_until_released) {
  store_options o = tb_options(t);
  o.instance_lock = true;
  o.lock_name = "binance_usdm:acct-1";
  char j2[700];
  snprintf(j2, sizeof j2, "%s.2", t->journal);
  store *first = NULL, *second = NULL;
  lb_errbuf eb = {{0}};
  REQUIRE_OK(store_open(t->url, &o, &first, &eb));
  store_options o2 = o;
  o2.journal_path = j2;
  CHECK_EQ(store_open(t->url, &o2, &second, &eb), LB_EBUSY);
  CHECK(second == NULL);
  CHECK_CONTAINS(eb.msg, "another levbot");
  store_health h;
  REQUIRE_OK(store_health_check(first, 2000, &h, &eb));
  CHECK(h.lock_held);
  store_close(first);
  CHECK_OK(store_open(t->url, &o2, &second, &eb));
  store_close(second);
}

typedef struct {
  store *s;
  int base, n;
  atomic_int *errors;
  atomic_int *done;
} job;

static void *writer_job(void *arg) {
  job *j = arg;
  for (int i = 0; i < j->n; i++) {
    lb_errbuf eb;
    int k = j->base + i;
    char id[32];
    snprintf(id, sizeof id, "w-%05d", k);
    store_trade tr = tb_trade(id, id, tb_t(k)); /* a symbol per trade: all may stay open */
    store_order o = tb_order(id, id, tb_t(k));
    store_wmode m = i % 3 == 0 ? STORE_SYNC : STORE_ASYNC;
    if (store_order_record(j->s, &o, m, &eb) != LB_OK ||
        store_trade_open(j->s, &tr, m, &eb) != LB_OK ||
        store_capital_update(j->s, LB_DEC_INT(100) + k, tb_t(k), STORE_ASYNC, &eb) != LB_OK) {
      atomic_fetch_add(j->errors, 1);
      printf("    writer %d: %s\n", k, eb.msg);
    }
  }
  lb_errbuf eb;
  if (store_flush(j->s, 60000, &eb) != LB_OK) atomic_fetch_add(j->errors, 1);
  atomic_fetch_add(j->done, 1);
  return NULL;
}

static void *reader_job(void *arg) {
  job *j = arg;
  int rounds = 0;
  while (atomic_load(j->done) < 2 || rounds < 5) {
    lb_errbuf eb;
    store_health h;
    store_metrics m;
    store_trade rec[5];
    int n;
    bool found;
    store_trade open;
    if (store_health_check(j->s, 5000, &h, &eb) != LB_OK || !h.ok || h.writer_stalled ||
        store_metrics_get(j->s, tb_t(0), &m, &eb) != LB_OK ||
        store_trades_recent(j->s, rec, 5, &n, &eb) != LB_OK ||
        store_trade_get_open(j->s, NULL, &open, &found, &eb) != LB_OK) {
      atomic_fetch_add(j->errors, 1);
      printf("    reader: %s %s\n", eb.msg, h.error);
    }
    rounds++;
  }
  return NULL;
}

/* Two writers on two handles (two processes' worth of connections) and the
 * health server's reads, all at once. */
STORE_TEST(store_two_writers_and_a_reader_at_once_without_errors) {
  lb_errbuf eb;
  bool created;
  REQUIRE_OK(store_config_init(t->s, LB_DEC_INT(100), STORE_PAPER, tb_t(0), &created, &eb));
  /* Production lock waits: two writers queue for SQLite's lock. */
  store_options o = tb_options(t);
  o.busy_timeout_ms = 0;
  o.statement_timeout_ms = 0;
  char j2[700];
  snprintf(j2, sizeof j2, "%s.2", t->journal);
  o.journal_path = j2;
  store *other = tb_open(t, &o);
  o.journal_path = t->journal;
  store_close(t->s);
  t->s = NULL;
  store *mine = tb_open(t, &o);
  atomic_int errors = 0, done = 0;
  job a = {mine, 0, 150, &errors, &done}, b = {other, 1000, 150, &errors, &done},
      r = {mine, 0, 0, &errors, &done};
  pthread_t ta, tb_, tr;
  pthread_create(&ta, NULL, writer_job, &a);
  pthread_create(&tb_, NULL, writer_job, &b);
  pthread_create(&tr, NULL, reader_job, &r);
  pthread_join(ta, NULL);
  pthread_join(tb_, NULL);
  pthread_join(tr, NULL);
  CHECK_EQ(atomic_load(&errors), 0);
  CHECK_EQ(tb_count(mine, "SELECT COUNT(*) FROM trades"), 300);
  CHECK_EQ(tb_count(mine, "SELECT COUNT(*) FROM orders"), 300);
  CHECK_EQ(tb_count(mine, "SELECT COUNT(DISTINCT id) FROM trades"), 300);
  store_trading_config c;
  REQUIRE_OK(store_config_get(mine, &c, &eb));
  /* Each handle's last capital write is its own highest k; one of the two wins. */
  CHECK(c.current_capital == LB_DEC_INT(100) + 149 || c.current_capital == LB_DEC_INT(100) + 1149);
}

STORE_TEST(store_health_check_reports_the_database_and_the_queue) {
  lb_errbuf eb;
  store_health h;
  REQUIRE_OK(store_health_check(t->s, 2000, &h, &eb));
  CHECK(h.ok);
  CHECK_EQ(h.backend, t->backend);
  CHECK_EQ(h.schema_version, STORE_SCHEMA_VERSION);
  CHECK(h.latency_ms >= 0 && h.latency_ms < 2000);
  CHECK_STREQ(h.error, "");
  /* The session settings the durability story relies on. */
  if (t->backend == STORE_BACKEND_SQLITE) {
    CHECK_STREQ(tb_q(t->s, "PRAGMA journal_mode"), "wal");
    CHECK_STREQ(tb_q(t->s, "PRAGMA synchronous"), "2"); /* FULL */
    CHECK_STREQ(tb_q(t->s, "PRAGMA foreign_keys"), "1");
    CHECK_STREQ(tb_q(t->s, "PRAGMA busy_timeout"), "500");
  } else {
    CHECK_STREQ(tb_q(t->s, "SHOW statement_timeout"), "5s"); /* tb_options; default 60s */
    CHECK_STREQ(tb_q(t->s, "SHOW TimeZone"), "UTC");
    /* The pool's minimum is opened at start (the query's own connection is one). */
    CHECK(tb_count(t->s, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = "
                         "current_database() AND application_name = 'levbot'") >= 2);
  }
}

STORE_TEST(store_default_timeouts_are_the_documented_ones) {
  store_options o = {.migrate = true, .journal_path = t->journal};
  store *s = tb_open(t, &o);
  if (t->backend == STORE_BACKEND_SQLITE) {
    CHECK_STREQ(tb_q(s, "PRAGMA busy_timeout"), "5000");
  } else {
    CHECK_STREQ(tb_q(s, "SHOW statement_timeout"), "1min");
  }
}
