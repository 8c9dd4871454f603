/* test_faults.c -- PostgreSQL stopped and restarted under a stream of writes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#include "tb.h"

typedef struct {
  store *s;
  int n;
  atomic_int written;
  atomic_int errors;
} stream;

static void *stream_writes(void *arg) {
  stream *st = arg;
  for (int i = 0; i < st->n; i++) {
    lb_errbuf eb;
    char id[32];
    snprintf(id, sizeof id, "pg-%05d", i);
    store_order o = tb_order(id, NULL, tb_t(i));
    store_fill f = {.seq = 1, .qty = o.qty, .price = LB_DEC_INT(50000), .filled_at = tb_t(i)};
    snprintf(f.order_client_id, sizeof f.order_client_id, "%s", id);
    if (store_order_record(st->s, &o, STORE_ASYNC, &eb) != LB_OK ||
        store_fill_record(st->s, &f, STORE_ASYNC, &eb) != LB_OK) {
      atomic_fetch_add(&st->errors, 1);
      printf("    write %d: %s\n", i, eb.msg);
    }
    atomic_fetch_add(&st->written, 1);
    usleep(2000 * (useconds_t)lbt_slowdown()); /* a steady stream across the outage, however slow the run */
  }
  return NULL;
}

static int pg_ctl(const char *what) {
  const char *ctl = getenv("LEVBOT_TEST_PG_CTL");
  char cmd[1024];
  snprintf(cmd, sizeof cmd, "%s %s >/dev/null 2>&1", ctl, what);
  return lbt_run(cmd, NULL);
}

TEST(store_postgres_restart_during_writes_loses_nothing_and_duplicates_nothing) {
  if (!tb_pg_url() || !getenv("LEVBOT_TEST_PG_CTL"))
    SKIP("LEVBOT_TEST_PG_URL / LEVBOT_TEST_PG_CTL are not set: run under scripts/with-postgres");
  char db[64], url[1024];
  snprintf(db, sizeof db, "lbt_restart_%ld", (long)getpid());
  char sql[128];
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
  tb_pg_admin(sql);
  store_url u;
  lb_errbuf eb;
  REQUIRE_OK(store_url_parse(tb_pg_url(), &u, &eb));
  snprintf(url, sizeof url, "postgresql://levbot:levbot-test@%s:%s/%s", u.host, u.port, db);
  char journal[600];
  snprintf(journal, sizeof journal, "%s/restart.jsonl", lbt_tmpdir());
  store_options o = {.migrate = true, .journal_path = journal, .retry_max_ms = 300,
                     .connect_timeout_s = 2, .sync_timeout_ms = 30000,
                     .instance_lock = true, .lock_name = "restart-test"};
  store *s = NULL;
  REQUIRE_OK(store_open(url, &o, &s, &eb));
  stream st = {.s = s, .n = 400};
  pthread_t th;
  pthread_create(&th, NULL, stream_writes, &st);
  while (atomic_load(&st.written) < 100) usleep(1000);
  CHECK_EQ(pg_ctl("stop -m fast"), 0);
  usleep(500 * 1000);
  int during = atomic_load(&st.written);
  usleep(500 * 1000);
  CHECK(atomic_load(&st.written) > during); /* the writers never blocked */
  CHECK_EQ(pg_ctl("start"), 0);
  pthread_join(th, NULL);
  CHECK_EQ(atomic_load(&st.errors), 0);
  REQUIRE_OK(store_flush(s, 60000, &eb));
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM orders"), 400);
  CHECK_EQ(tb_count(s, "SELECT COUNT(DISTINCT client_id) FROM orders"), 400);
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM fills"), 400);
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM (SELECT order_client_id FROM fills GROUP BY "
                       "order_client_id HAVING COUNT(*) > 1) d"), 0);
  store_health h;
  REQUIRE_OK(store_health_check(s, 5000, &h, &eb));
  CHECK(h.ok);
  CHECK(!h.writer_stalled);
  CHECK_EQ(h.rejected, 0);
  /* The advisory lock died with its session and was taken again. */
  CHECK(h.lock_held);
  store *second = NULL;
  store_options o2 = o;
  o2.journal_path = NULL;
  CHECK_EQ(store_open(url, &o2, &second, &eb), LB_EBUSY);
  CHECK_CONTAINS(eb.msg, "another levbot holds the instance lock \"restart-test\"");
  store_close(s);
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
  tb_pg_admin(sql);
}
