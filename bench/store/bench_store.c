/* bench_store.c -- durable trade-record writes per second, per back end.
 *
 * For each back end (SQLite in LEVBOT_BENCH_DIR or the working directory;
 * PostgreSQL at LEVBOT_TEST_PG_URL when set):
 *   sync    N store_trade_open(STORE_SYNC): each returns once its row is
 *           committed durably (SQLite WAL + synchronous=FULL, PostgreSQL
 *           COMMIT): writes/s and latency percentiles;
 *   async   N store_trade_open(STORE_ASYNC) then store_flush(): writes/s
 *           through the writer thread, and what each call cost its caller
 *           (the stop-loss path's price for recording a row).
 * PostgreSQL's figures are only durable if the server fsyncs: the bench
 * prints the server's fsync setting (scripts/with-postgres turns it off
 * unless LEVBOT_PG_FSYNC=on).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/time.h"
#include "store/store.h"

static int cmp_ll(const void *a, const void *b) {
  long long x = *(const long long *)a, y = *(const long long *)b;
  return (x > y) - (x < y);
}

static long long pct(long long *v, int n, double p) {
  qsort(v, (size_t)n, sizeof *v, cmp_ll);
  int i = (int)(p * (n - 1) + 0.5);
  return v[i];
}

static store_trade trade(const char *prefix, int i) {
  store_trade t = {0};
  snprintf(t.id, sizeof t.id, "%s-%06d", prefix, i);
  snprintf(t.symbol, sizeof t.symbol, "S%06dUSDT", i); /* one open trade per symbol */
  t.side = i % 2 ? STORE_SHORT : STORE_LONG;
  t.qty = 1000000;
  t.entry_price = LB_DEC_INT(50000) + i;
  t.leverage = 3;
  t.stop_price = i % 2 ? LB_DEC_INT(53500) : LB_DEC_INT(46500);
  t.take_profit = i % 2 ? LB_DEC_INT(43000) : LB_DEC_INT(57000);
  t.margin = 16666666667;
  t.ai_confidence = 0.85;
  t.opened_at = INT64_C(1768435200000) + i;
  return t;
}

static int run(const char *label, const char *url, int n) {
  store_options o = {.migrate = true, .queue_max = n + 16};
  store *s = NULL;
  lb_errbuf eb;
  if (store_open(url, &o, &s, &eb) != LB_OK) {
    fprintf(stderr, "%s: %s\n", label, eb.msg);
    return 1;
  }
  char *fsync_setting = NULL;
  if (strncmp(url, "postgres", 8) == 0) store_query_text(s, "SHOW fsync", &fsync_setting, &eb);
  long long *lat = calloc((size_t)n, sizeof *lat);
  if (!lat) return 1;

  int64_t t0 = lb_time_mono_ns();
  for (int i = 0; i < n; i++) {
    store_trade t = trade("sync", i);
    int64_t a = lb_time_mono_ns();
    if (store_trade_open(s, &t, STORE_SYNC, &eb) != LB_OK) {
      fprintf(stderr, "%s sync write %d: %s\n", label, i, eb.msg);
      return 1;
    }
    lat[i] = (lb_time_mono_ns() - a) / 1000;
  }
  double sync_s = (double)(lb_time_mono_ns() - t0) / 1e9;
  long long p50 = pct(lat, n, 0.5), p99 = pct(lat, n, 0.99);

  t0 = lb_time_mono_ns();
  for (int i = 0; i < n; i++) {
    store_trade t = trade("async", i + n);
    int64_t a = lb_time_mono_ns();
    if (store_trade_open(s, &t, STORE_ASYNC, &eb) != LB_OK) {
      fprintf(stderr, "%s async write %d: %s\n", label, i, eb.msg);
      return 1;
    }
    lat[i] = (lb_time_mono_ns() - a) / 1000;
  }
  if (store_flush(s, 600000, &eb) != LB_OK) {
    fprintf(stderr, "%s flush: %s\n", label, eb.msg);
    return 1;
  }
  double async_s = (double)(lb_time_mono_ns() - t0) / 1e9;
  long long a50 = pct(lat, n, 0.5), a99 = pct(lat, n, 0.99), amax = lat[n - 1];

  printf("%-10s sync : %7.0f durable trade writes/s  (latency p50 %lld us, p99 %lld us)%s%s\n",
         label, n / sync_s, p50, p99, fsync_setting ? "  server fsync=" : "",
         fsync_setting ? fsync_setting : "");
  printf("%-10s async: %7.0f trade writes/s committed; the caller waits p50 %lld us, p99 %lld "
         "us, max %lld us\n",
         label, n / async_s, a50, a99, amax);
  free(fsync_setting);
  free(lat);
  store_close(s);
  return 0;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? (int)strtol(argv[1], NULL, 10) : 2000;
  if (n < 10) n = 10;
  const char *dir = getenv("LEVBOT_BENCH_DIR");
  char path[1024], url[1100];
  snprintf(path, sizeof path, "%s/bench-store-%ld.db", dir && *dir ? dir : ".", (long)getpid());
  snprintf(url, sizeof url, "sqlite://%s", path);
  printf("bench_store: %d trade records per mode\n", n);
  int rc = run("sqlite", url, n);
  const char *suffix[] = {"", "-wal", "-shm"};
  for (int i = 0; i < 3; i++) {
    char p[1100];
    snprintf(p, sizeof p, "%s%s", path, suffix[i]);
    unlink(p);
  }
  const char *pg = getenv("LEVBOT_TEST_PG_URL");
  if (pg && *pg) rc |= run("postgres", pg, n);
  else printf("postgres   skipped: set LEVBOT_TEST_PG_URL (scripts/with-postgres does)\n");
  return rc;
}
