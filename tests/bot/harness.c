/* harness.c -- exsim and `levbot run` processes, their HTTP endpoints, and the store-vs-exchange check. */
#include "harness.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/time.h"
#include "unit.h"

/* ==== Processes ==== */

static pid_t live_pids[64];
static int n_live;

static void kill_leftovers(void) {
  for (int i = 0; i < n_live; i++)
    if (live_pids[i] > 0) {
      kill(live_pids[i], SIGKILL);
      waitpid(live_pids[i], NULL, 0);
    }
}

static void track(pid_t pid, bool add) {
  static bool registered;
  if (!registered) {
    atexit(kill_leftovers);
    registered = true;
  }
  for (int i = 0; i < n_live; i++) {
    if (add && live_pids[i] == 0) {
      live_pids[i] = pid;
      return;
    }
    if (!add && live_pids[i] == pid) {
      live_pids[i] = 0;
      return;
    }
  }
  if (add && n_live < 64) live_pids[n_live++] = pid;
}

void ms_sleep(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* A clean environment: only PATH and the sanitizers' options. */
static char **child_env(void) {
  static char *env[8];
  static char keep[4][512];
  int n = 0;
  env[n++] = "PATH=/usr/bin:/bin";
  const char *names[] = {"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS"};
  for (int i = 0; i < 3; i++) {
    const char *v = getenv(names[i]);
    if (v) {
      snprintf(keep[i], sizeof keep[i], "%s=%s", names[i], v);
      env[n++] = keep[i];
    }
  }
  env[n] = NULL;
  return env;
}

static pid_t spawn(const char *dir, const char *const *argv, const char *out, const char *err) {
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    if (dir && chdir(dir) != 0) _exit(126);
    int fo = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int fe = open(err, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fo < 0 || fe < 0) _exit(126);
    dup2(fo, 1);
    dup2(fe, 2);
    int fn = open("/dev/null", O_RDONLY);
    if (fn >= 0) dup2(fn, 0);
    execve(argv[0], (char *const *)argv, child_env());
    _exit(127);
  }
  track(pid, true);
  return pid;
}

static char *slurp(const char *path) {
  lb_buf b;
  lb_buf_init(&b);
  lb_errbuf eb;
  if (lb_buf_read_file(&b, path, 0, &eb) != LB_OK) {
    lb_buf_free(&b);
    return calloc(1, 1);
  }
  char *s = lb_buf_steal(&b);
  return s ? s : calloc(1, 1);
}

/* ==== HTTP ==== */

static size_t on_body(char *d, size_t s, size_t n, void *u) {
  return lb_buf_append(u, d, s * n) == LB_OK ? s * n : 0;
}

static int http(const char *url, const char *method, const char *body, const char *auth, char **out) {
  CURL *c = curl_easy_init();
  if (!c) return 0;
  lb_buf b;
  lb_buf_init(&b);
  struct curl_slist *h = NULL;
  if (auth) {
    char hdr[300];
    snprintf(hdr, sizeof hdr, "Authorization: %s", auth);
    h = curl_slist_append(h, hdr);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (body || strcmp(method, "POST") == 0) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (out) {
    *out = lb_buf_steal(&b);
    if (!*out) *out = calloc(1, 1);
  } else {
    lb_buf_free(&b);
  }
  return (int)status;
}

/* ==== exsim ==== */

void xsim_start(xsim *x, const char *const *extra) {
  static int seq;
  memset(x, 0, sizeof *x);
  int k = ++seq;
  char port_file[600], log[600];
  snprintf(port_file, sizeof port_file, "%s/xsim-%d.port", lbt_tmpdir(), k);
  snprintf(log, sizeof log, "%s/xsim-%d.log", lbt_tmpdir(), k);
  snprintf(x->state_file, sizeof x->state_file, "%s/xsim-%d.json", lbt_tmpdir(), k);
  unlink(port_file);
  unlink(x->state_file);
  char exe[1024], data[1024];
  snprintf(exe, sizeof exe, "%s", lbt_binary_path("tools/exsim/exsim"));
  snprintf(data, sizeof data, "%s", lbt_source_path(MONTH_5M));
  const char *argv[64] = {exe,          "--data",       data,         "--port",    "0",
                          "--ws-port",  "0",            "--port-file", port_file, "--state",
                          x->state_file, "--api-key",   XKEY,         "--api-secret", XSECRET,
                          "--paused",   "--quiet",      "--warmup",   "1500",      "--balance",
                          "1000",       "--seed",       "11"};
  int n = 23;
  for (int i = 0; extra && extra[i] && n < 62; i++) argv[n++] = extra[i];
  argv[n] = NULL;
  x->pid = spawn(NULL, argv, log, log);
  for (int i = 0; i < 2000; i++) {
    FILE *f = fopen(port_file, "r");
    if (f) {
      int ok = fscanf(f, "%d %d", &x->rest_port, &x->ws_port);
      fclose(f);
      if (ok == 2) break;
    }
    ms_sleep(5);
  }
  REQUIRE(x->rest_port > 0 && x->ws_port > 0);
  snprintf(x->url, sizeof x->url, "http://127.0.0.1:%d", x->rest_port);
}

void xsim_stop(xsim *x) {
  if (x->pid <= 0) return;
  char url[128];
  snprintf(url, sizeof url, "%s/_exsim/shutdown", x->url);
  http(url, "POST", NULL, NULL, NULL);
  for (int i = 0; i < 1000; i++) {
    int st;
    if (waitpid(x->pid, &st, WNOHANG) == x->pid) {
      track(x->pid, false);
      x->pid = 0;
      return;
    }
    ms_sleep(5);
  }
  kill(x->pid, SIGKILL);
  waitpid(x->pid, NULL, 0);
  track(x->pid, false);
  x->pid = 0;
}

json_t *xsim_ctl(xsim *x, const char *method, const char *pq, const char *body) {
  char url[1024], *out = NULL;
  snprintf(url, sizeof url, "%s%s", x->url, pq);
  int st = http(url, method, body, NULL, &out);
  json_error_t je;
  json_t *j = st == 200 ? json_loads(out, 0, &je) : NULL;
  if (st != 200) lbt_fail(__FILE__, __LINE__, "%s %s -> %d %s", method, pq, st, out);
  free(out);
  return j;
}

json_t *xsim_state(xsim *x) {
  json_t *j = xsim_ctl(x, "GET", "/_exsim/state", NULL);
  REQUIRE(j != NULL);
  return j;
}

void xsim_step(xsim *x, int ticks) {
  char pq[64];
  snprintf(pq, sizeof pq, "/_exsim/step?n=%d", ticks);
  json_decref(xsim_ctl(x, "POST", pq, NULL));
}

void xsim_faults(xsim *x, const char *json) {
  json_decref(xsim_ctl(x, json ? "POST" : "DELETE", "/_exsim/faults", json));
}

/* ==== levbot ==== */

void lbot_init(lbot *b, const char *name, const xsim *x, const char *const *extra) {
  memset(b, 0, sizeof *b);
  b->status = -1;
  snprintf(b->dir, sizeof b->dir, "%s/%s", lbt_tmpdir(), name);
  mkdir(b->dir, 0700);
  snprintf(b->env, sizeof b->env, "%s/bot.env", b->dir);
  snprintf(b->out, sizeof b->out, "%s/out.txt", b->dir);
  snprintf(b->err, sizeof b->err, "%s/log.txt", b->dir);
  unlink(b->out);
  unlink(b->err);
  FILE *f = fopen(b->env, "w");
  REQUIRE(f != NULL);
  fprintf(f, "AI_PROVIDERS=\nHEALTH_PORT=0\nDATABASE_URL=sqlite://%s/bot.db\n"
             "ENTRY_TIMEFRAME=5m\nTIMEFRAMES=5m,15m,1h\nMIN_STOP_LOSS_PERCENT=0.01\n"
             "MAX_STOP_LOSS_PERCENT=0.02\nMIN_PROFIT_USD=1\nINITIAL_CAPITAL=1000\n"
             "SCAN_INTERVAL_SECONDS=86400\nTELEGRAM_COMMANDS=false\n",
          b->dir);
  if (x) {
    fprintf(f, "USE_PAPER_TRADING=false\nCONFIRM_LIVE_TRADING=true\n"
               "BINANCE_REST_URL=http://127.0.0.1:%d\nBINANCE_WS_MARKET_URL=ws://127.0.0.1:%d/market\n"
               "BINANCE_WS_USER_URL=ws://127.0.0.1:%d/private\nBINANCE_API_KEY=%s\nBINANCE_API_SECRET=%s\n"
               "BINANCE_HTTP_TIMEOUT_MS=3000\nBINANCE_LOOKUP_DELAY_MS=20\nBINANCE_WS_RECONNECT_MIN_MS=50\n"
               "BINANCE_WS_RECONNECT_MAX_MS=400\nBINANCE_REST_POLL_MS=200\n",
            x->rest_port, x->ws_port, x->ws_port, XKEY, XSECRET);
  }
  for (int i = 0; extra && extra[i]; i++) fprintf(f, "%s\n", extra[i]);
  fclose(f);
}

/* The health server's port of the current run (the log's last run marker on). */
static int port_from_log(const lbot *b) {
  char *log = lbot_log(b);
  int port = 0;
  const char *run = log;
  for (const char *m = strstr(log, "==== run "); m; m = strstr(m + 1, "==== run ")) run = m;
  const char *p = strstr(run, "health server on http://");
  if (p) {
    p = strchr(p + strlen("health server on http://"), ':');
    if (p) port = (int)strtol(p + 1, NULL, 10);
  }
  free(log);
  return port;
}

void lbot_start(lbot *b, const char *args, bool wait_port) {
  char exe[1024], line[2048];
  snprintf(exe, sizeof exe, "%s", lbt_binary_path("levbot"));
  snprintf(line, sizeof line, "run %s --env-file %s", args, b->env);
  const char *argv[32];
  int n = 0;
  argv[n++] = exe;
  char *save = NULL;
  for (char *tok = strtok_r(line, " ", &save); tok && n < 31; tok = strtok_r(NULL, " ", &save)) argv[n++] = tok;
  argv[n] = NULL;
  /* a marker so several runs in one log can be told apart */
  FILE *f = fopen(b->err, "a");
  if (f) {
    fprintf(f, "==== run %d ====\n", ++b->runs);
    fclose(f);
  }
  b->port = 0;
  b->status = -1;
  b->pid = spawn(b->dir, argv, b->out, b->err);
  if (!wait_port) return;
  for (int i = 0; i < BOT_WAIT_MS / 5 && !b->port; i++) {
    b->port = port_from_log(b);
    int st;
    if (!b->port && waitpid(b->pid, &st, WNOHANG) == b->pid) {
      track(b->pid, false);
      b->pid = 0;
      char *l = lbot_log(b);
      printf("%s\n", l);
      free(l);
      lbt_fail(__FILE__, __LINE__, "levbot run exited before serving (status %d)", st);
      lbt_abort_test();
    }
    if (!b->port) ms_sleep(5);
  }
  REQUIRE(b->port > 0);
  /* then until recovery and warm-up are over */
  for (int i = 0; i < BOT_WAIT_MS / 5; i++) {
    json_t *st = lbot_json(b, "/status");
    const char *state = st ? json_string_value(json_object_get(st, "state")) : NULL;
    bool ready = state && strcmp(state, "starting") != 0;
    json_decref(st);
    if (ready) return;
    ms_sleep(5);
  }
  lbt_fail(__FILE__, __LINE__, "levbot did not finish starting");
}

int lbot_wait(lbot *b, int timeout_ms) {
  if (b->pid <= 0) return b->status;
  for (int i = 0; i < timeout_ms / 5; i++) {
    int st;
    if (waitpid(b->pid, &st, WNOHANG) == b->pid) {
      track(b->pid, false);
      b->pid = 0;
      b->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
      return b->status;
    }
    ms_sleep(5);
  }
  return -2;
}

int lbot_signal(lbot *b, int sig, int timeout_ms) {
  if (b->pid <= 0) return b->status;
  kill(b->pid, sig);
  int st = lbot_wait(b, timeout_ms);
  if (st == -2) {
    lbt_fail(__FILE__, __LINE__, "levbot did not exit within %d ms of signal %d", timeout_ms, sig);
    kill(b->pid, SIGKILL);
    lbot_wait(b, 5000);
  }
  return st;
}

char *lbot_log(const lbot *b) { return slurp(b->err); }
char *lbot_stdout(const lbot *b) { return slurp(b->out); }

int lbot_count(const lbot *b, const char *needle) {
  char *log = lbot_log(b);
  int n = 0;
  for (const char *p = strstr(log, needle); p; p = strstr(p + 1, needle)) n++;
  free(log);
  return n;
}

bool lbot_wait_log(const lbot *b, const char *needle, int n, int timeout_ms) {
  for (int i = 0; i < timeout_ms / 5; i++) {
    if (lbot_count(b, needle) >= n) return true;
    ms_sleep(5);
  }
  return false;
}

int lbot_http(const lbot *b, const char *method, const char *path, const char *auth, char **body) {
  char url[512];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", b->port, path);
  return http(url, method, NULL, auth, body);
}

json_t *lbot_json(const lbot *b, const char *path) {
  char *body = NULL;
  int st = lbot_http(b, "GET", path, NULL, &body);
  json_error_t je;
  json_t *j = st > 0 ? json_loads(body, 0, &je) : NULL;
  free(body);
  return j;
}

double lbot_counter(const lbot *b, const char *name) {
  json_t *m = lbot_json(b, "/metrics");
  double v = -1;
  if (m) v = json_number_value(json_object_get(json_object_get(m, "counters"), name));
  json_decref(m);
  return v;
}

int lbot_cli(const lbot *b, const char *args, char **out) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "cd '%s' && env -i PATH=/usr/bin:/bin %s%s '%s' %s --env-file '%s' 2>&1", b->dir,
           getenv("ASAN_OPTIONS") ? "ASAN_OPTIONS=" : "", getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "",
           lbt_binary_path("levbot"), args, b->env);
  return lbt_run(cmd, out);
}

int step_bars(xsim *x, lbot *b, int max_bars, const char *until) {
  for (int bar = 0; bar < max_bars; bar++) {
    if (until && lbot_count(b, until) > 0) return bar;
    double c0 = lbot_counter(b, "candles_total"), s0 = lbot_counter(b, "scans_completed_total");
    REQUIRE(c0 >= 0);
    xsim_step(x, 4);
    bool done = false;
    for (int i = 0; i < BOT_WAIT_MS / 2 && !done; i++) {
      if (until && lbot_count(b, until) > 0) return bar + 1; /* the moment itself: do not wait it out */
      done = lbot_counter(b, "candles_total") > c0 && lbot_counter(b, "scans_completed_total") > s0;
      if (!done) ms_sleep(2);
    }
    REQUIRE(done);
  }
  return until && lbot_count(b, until) > 0 ? max_bars : -1;
}

/* ==== Reading the database ==== */

static bool is_pg(const lbot *b, char *url, size_t n) {
  FILE *f = fopen(b->env, "r");
  char line[1024];
  bool pg = false;
  url[0] = '\0';
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "DATABASE_URL=", 13) == 0) {
      snprintf(url, n, "%s", line + 13);
      url[strcspn(url, "\n")] = '\0';
    }
  }
  if (f) fclose(f);
  pg = strncmp(url, "postgres", 8) == 0;
  return pg;
}

char *lbot_sql(const lbot *b, const char *sql) {
  char url[1024];
  char *res = NULL;
  if (is_pg(b, url, sizeof url)) {
    PGconn *c = PQconnectdb(url);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
      res = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return res;
  }
  sqlite3 *db;
  char path[700];
  snprintf(path, sizeof path, "%s/bot.db", b->dir);
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    sqlite3_close(db);
    return NULL;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
      sqlite3_column_type(st, 0) != SQLITE_NULL)
    res = strdup((const char *)sqlite3_column_text(st, 0));
  else if (sqlite3_errcode(db) != SQLITE_OK && sqlite3_errcode(db) != SQLITE_DONE &&
           sqlite3_errcode(db) != SQLITE_ROW)
    printf("    sql: %s: %s\n", sql, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return res;
}

void lbot_sql_exec(const lbot *b, const char *sql) {
  char path[700];
  snprintf(path, sizeof path, "%s/bot.db", b->dir);
  sqlite3 *db = NULL;
  REQUIRE(sqlite3_open(path, &db) == SQLITE_OK);
  char *err = NULL;
  int rc = sqlite3_exec(db, sql, NULL, NULL, &err);
  if (rc != SQLITE_OK) lbt_fail(__FILE__, __LINE__, "%s: %s", sql, err ? err : "?");
  sqlite3_free(err);
  sqlite3_close(db);
}

bool lbot_pg_admin(const char *sql) {
  PGconn *c = PQconnectdb(getenv("LEVBOT_TEST_PG_URL"));
  bool ok = PQstatus(c) == CONNECTION_OK;
  if (ok) {
    PGresult *r = PQexec(c, sql);
    ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) printf("    %s: %s", sql, PQerrorMessage(c));
    PQclear(r);
  }
  PQfinish(c);
  return ok;
}

long lbot_sql_long(const lbot *b, const char *sql) {
  char *v = lbot_sql(b, sql);
  long n = v ? strtol(v, NULL, 10) : -1;
  free(v);
  return n;
}

const char *text_line(const char *text, const char *label, char *buf, size_t n) {
  buf[0] = '\0';
  for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
    const char *q = p;
    while (*q == ' ') q++;
    if (strncmp(q, label, strlen(label)) == 0) snprintf(buf, n, "%.*s", (int)strcspn(p, "\n"), p);
  }
  return buf;
}

lb_dec dec_of(const char *s) {
  lb_dec d = 0;
  if (!s || lb_dec_parse(s, &d) != LB_OK) return INT64_MIN;
  return d;
}

lb_dec jdec(const json_t *o, const char *key) { return dec_of(json_string_value(json_object_get(o, key))); }

static lb_dec sql_dec(const lbot *b, const char *sql) {
  char *v = lbot_sql(b, sql);
  lb_dec d = v ? dec_of(v) : 0;
  free(v);
  return d;
}

void check_store_matches_exsim(lbot *b, xsim *x) {
  json_t *st = xsim_state(x);
  json_t *fills = json_object_get(st, "fills");
  size_t i;
  json_t *f;
  /* per order: exsim's sums against the store's */
  json_array_foreach(fills, i, f) {
    const char *cid = json_string_value(json_object_get(f, "client_id"));
    char q[512];
    lb_dec qty = 0, fee = 0, rp = 0;
    size_t k;
    json_t *g;
    json_array_foreach(fills, k, g) {
      if (strcmp(json_string_value(json_object_get(g, "client_id")), cid) != 0) continue;
      qty += jdec(g, "qty");
      fee += jdec(g, "fee");
      rp += jdec(g, "realized");
    }
    snprintf(q, sizeof q, "SELECT COUNT(*) FROM fills WHERE order_client_id = '%s'", cid);
    CHECK(lbot_sql_long(b, q) >= 1);
    lb_dec sq = 0, sf = 0, sr = 0;
    char sql[512];
    /* sums in exact decimal: read every row */
    for (long row = 0;; row++) {
      snprintf(sql, sizeof sql, "SELECT qty || ' ' || fee || ' ' || realized_pnl FROM fills "
                                "WHERE order_client_id = '%s' ORDER BY qty LIMIT 1 OFFSET %ld", cid, row);
      char *v = lbot_sql(b, sql);
      if (!v) break;
      char a[64], c[64], d[64];
      if (sscanf(v, "%63s %63s %63s", a, c, d) == 3) {
        sq += dec_of(a);
        sf += dec_of(c);
        sr += dec_of(d);
      }
      free(v);
    }
    if (sq != qty || sf != fee || sr != rp)
      lbt_fail(__FILE__, __LINE__, "fills of %s: store qty %lld fee %lld rp %lld, exsim %lld %lld %lld", cid,
               (long long)sq, (long long)sf, (long long)sr, (long long)qty, (long long)fee, (long long)rp);
  }
  /* every fill row is an exsim fill */
  long rows = lbot_sql_long(b, "SELECT COUNT(DISTINCT order_client_id) FROM fills");
  long orders = 0;
  json_array_foreach(fills, i, f) {
    bool first = true;
    for (size_t k = 0; k < i; k++)
      if (strcmp(json_string_value(json_object_get(json_array_get(fills, k), "client_id")),
                 json_string_value(json_object_get(f, "client_id"))) == 0)
        first = false;
    orders += first;
  }
  CHECK_EQ(rows, orders);
  /* the ledger: capital == wallet (the store started from the wallet) */
  json_t *bal = json_object_get(st, "balance");
  lb_dec wallet = jdec(bal, "wallet");
  lb_dec capital = sql_dec(b, "SELECT current_capital FROM trading_config");
  if (capital != wallet)
    lbt_fail(__FILE__, __LINE__, "store capital %lld != exsim wallet %lld", (long long)capital, (long long)wallet);
  CHECK_EQ(json_array_size(json_object_get(st, "duplicate_client_ids")), 0);
  json_decref(st);
}
