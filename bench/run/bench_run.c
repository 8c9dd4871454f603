/* bench_run.c -- `levbot run` on 20 symbols x 3 timeframes against exsim: memory, CPU, trailing-stop latency.
 *
 * Runs the built binaries as a user would (bench/README.md, "run"):
 *
 *   exsim      serves 20 symbols, each replaying the bundled BTCUSDT 5m
 *              month (data/binance-um/), at --speed X (default 600: a
 *              market hour every 6 s), 1800 bars of history for warm-up.
 *   levbot run in paper mode (market data from exsim's streams, fills by
 *              the simulated exchange), SYMBOLS = the 20, ENTRY_TIMEFRAME
 *              5m, TIMEFRAMES 5m,15m,1h, the technical analyst, SQLite.
 *
 * Phases:
 *   1. steady state: after --warm seconds, over --window seconds, the
 *      bot's RSS (VmRSS every 0.5 s, and VmHWM) and CPU time (utime +
 *      stime of every thread, /proc) against the market time exsim
 *      advanced: CPU seconds per hour of market time.
 *   2. cost of one stream message: the replay paused, the bench sets
 *      20,000 mark prices through exsim (one markPrice message each, to
 *      symbols without a position); the bot's CPU time over them.  With
 *      phase 1 it estimates the CPU an hour of Binance's live streams
 *      costs (a kline update every 250 ms and a mark price every second
 *      per symbol, where the replay sends 4 ticks per 5-minute bar).
 *   3. trailing stop, paper: once the bot holds a position, the replay
 *      paused, the bench moves that symbol's mark in the position's favour
 *      one step at a time (TRAILING_STOP_PERCENT 0.2 %, activation at 0.01
 *      R: every new best price tightens the stop); each step is one
 *      replacement.  Figure: the bot's own hook (/metrics
 *      trail_latency_p50_us / _p99_us: from the engine taking the mark to
 *      the replacement request handed to the exchange adapter).
 *   4. trailing stop, live (unless --no-live): the same against exsim in
 *      live mode, where the replacement request leaves the process; the
 *      outside figure is exsim's arrival time of the replacement request
 *      (its request log, microseconds) minus the bench's clock just before
 *      it set the mark: mark published, WebSocket, parsing, engine,
 *      signing, HTTP, all on one machine.
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/time.h"

#define NSYM 20
#define DATA "data/binance-um/BTCUSDT-5m-2022-04.csv"
#define KEY "bench-run-key-0123456789"
#define SECRET "bench-run-secret-abcdefghijklmnopqrstuvwxyz"

static const char *const symbols[NSYM] = {
    "BTCUSDT", "ETHUSDT", "BNBUSDT",  "SOLUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT", "AVAXUSDT", "DOTUSDT",  "LINKUSDT",
    "LTCUSDT", "TRXUSDT", "ATOMUSDT", "NEARUSDT", "UNIUSDT", "APTUSDT", "ARBUSDT", "OPUSDT",   "FILUSDT", "ETCUSDT"};

static char dir[512];
static pid_t live_pids[4];

/* ==== Small helpers ==== */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "bench_run: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, " (files kept in %s)\n", dir);
  va_end(ap);
  for (int i = 0; i < 4; i++)
    if (live_pids[i] > 0) kill(live_pids[i], SIGKILL);
  exit(1);
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int64_t wall_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static double now_s(void) { return (double)lb_time_mono_ns() / 1e9; }

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

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest-rank percentile of n values (sorted in place). */
static double pct(double *v, int n, double p) {
  if (n == 0) return 0;
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  int k = (int)(p * n + 0.999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

/* ==== Processes ==== */

static pid_t spawn(const char *const *argv, const char *log) {
  pid_t pid = fork();
  if (pid < 0) die("fork: %s", strerror(errno));
  if (pid == 0) {
    if (chdir(dir) != 0) _exit(126);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    int fn = open("/dev/null", O_RDONLY);
    if (fn >= 0) dup2(fn, 0);
    char *env[] = {"PATH=/usr/bin:/bin", NULL};
    execve(argv[0], (char *const *)argv, env);
    _exit(127);
  }
  for (int i = 0; i < 4; i++)
    if (live_pids[i] <= 0) {
      live_pids[i] = pid;
      break;
    }
  return pid;
}

static int stop_proc(pid_t pid, int sig, int timeout_ms) {
  kill(pid, sig);
  for (int i = 0; i < timeout_ms / 10; i++) {
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      for (int k = 0; k < 4; k++)
        if (live_pids[k] == pid) live_pids[k] = 0;
      return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    }
    sleep_ms(10);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  for (int k = 0; k < 4; k++)
    if (live_pids[k] == pid) live_pids[k] = 0;
  return -1;
}

static long proc_status_kb(pid_t pid, const char *field) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  long kb = -1;
  size_t n = strlen(field);
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, field, n) == 0 && line[n] == ':') kb = strtol(line + n + 1, NULL, 10);
  if (f) fclose(f);
  return kb;
}

/* utime + stime of every thread, in seconds. */
static double proc_cpu_s(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  char *s = slurp(path);
  const char *p = strrchr(s, ')'); /* the command name may hold spaces */
  unsigned long long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2) ut = st = 0;
  free(s);
  return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* ==== HTTP ==== */

static size_t on_body(char *d, size_t s, size_t n, void *u) {
  return lb_buf_append(u, d, s * n) == LB_OK ? s * n : 0;
}

static CURL *curl;

static int http(const char *method, const char *url, char **out) {
  lb_buf b;
  lb_buf_init(&b);
  curl_easy_reset(curl);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 20000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  if (strcmp(method, "POST") == 0) curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  long status = 0;
  if (curl_easy_perform(curl) == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  if (out) {
    *out = lb_buf_steal(&b);
    if (!*out) *out = calloc(1, 1);
  } else {
    lb_buf_free(&b);
  }
  return (int)status;
}

static json_t *http_json(const char *method, const char *url) {
  char *body = NULL;
  int st = http(method, url, &body);
  json_error_t je;
  json_t *j = st == 200 ? json_loads(body, 0, &je) : NULL;
  free(body);
  return j;
}

/* ==== exsim ==== */

typedef struct {
  pid_t pid;
  char url[64];
  int rest, ws;
} xsim;

static void xsim_start(xsim *x, double speed) {
  static char args[NSYM][1200];
  char exe[1024], ports[600], log[600], sp[32];
  snprintf(exe, sizeof exe, "%s/tools/exsim/exsim", LB_BINARY_DIR);
  snprintf(ports, sizeof ports, "%s/exsim.ports", dir);
  snprintf(log, sizeof log, "%s/exsim.log", dir);
  snprintf(sp, sizeof sp, "%g", speed);
  const char *argv[2 * NSYM + 40];
  int n = 0;
  argv[n++] = exe;
  for (int i = 0; i < NSYM; i++) {
    snprintf(args[i], sizeof args[i], "%s=%s/%s", symbols[i], LB_SOURCE_DIR, DATA);
    argv[n++] = "--data";
    argv[n++] = args[i];
  }
  const char *rest[] = {"--port", "0", "--ws-port", "0", "--port-file", ports, "--speed", sp, "--warmup", "1800",
                        "--api-key", KEY, "--api-secret", SECRET, "--balance", "10000", "--weight-limit",
                        "1000000", "--quiet", "--paused", NULL};
  for (int i = 0; rest[i]; i++) argv[n++] = rest[i];
  argv[n] = NULL;
  unlink(ports);
  x->pid = spawn(argv, log);
  for (int i = 0; i < 3000; i++) {
    FILE *f = fopen(ports, "r");
    if (f) {
      int ok = fscanf(f, "%d %d", &x->rest, &x->ws);
      fclose(f);
      if (ok == 2) break;
    }
    sleep_ms(5);
  }
  if (x->rest <= 0) die("exsim did not start (%s)", log);
  snprintf(x->url, sizeof x->url, "http://127.0.0.1:%d", x->rest);
}

static json_t *xsim_call(xsim *x, const char *method, const char *path) {
  char url[512];
  snprintf(url, sizeof url, "%s%s", x->url, path);
  json_t *j = http_json(method, url);
  if (!j) die("exsim %s %s failed", method, path);
  return j;
}

static lb_ms xsim_market_time(xsim *x) {
  json_t *st = xsim_call(x, "GET", "/_exsim/state");
  lb_ms t = (lb_ms)json_integer_value(json_object_get(st, "market_time"));
  json_decref(st);
  return t;
}

static double xsim_mark(xsim *x, const char *symbol) {
  json_t *st = xsim_call(x, "GET", "/_exsim/state");
  double m = 0;
  size_t i;
  json_t *s;
  json_array_foreach(json_object_get(st, "symbols"), i, s)
    if (strcmp(json_string_value(json_object_get(s, "symbol")), symbol) == 0)
      m = strtod(json_string_value(json_object_get(s, "mark")), NULL);
  json_decref(st);
  return m;
}

static void xsim_set_mark(xsim *x, const char *symbol, double price) {
  char path[128];
  snprintf(path, sizeof path, "/_exsim/mark?symbol=%s&price=%.1f", symbol, price);
  json_decref(xsim_call(x, "POST", path));
}

/* ==== levbot run ==== */

typedef struct {
  pid_t pid;
  int port;
  char log[600];
} lbot;

static void bot_start(lbot *b, const xsim *x, bool live) {
  char env[600], list[512] = "";
  snprintf(env, sizeof env, "%s/%s.env", dir, live ? "live" : "paper");
  snprintf(b->log, sizeof b->log, "%s/%s.log", dir, live ? "live" : "paper");
  for (int i = 0; i < NSYM; i++) {
    strncat(list, i ? "," : "", sizeof list - strlen(list) - 1);
    strncat(list, symbols[i], sizeof list - strlen(list) - 1);
  }
  FILE *f = fopen(env, "w");
  if (!f) die("%s: %s", env, strerror(errno));
  fprintf(f, "USE_PAPER_TRADING=%s\nCONFIRM_LIVE_TRADING=%s\nDATABASE_URL=sqlite://%s/%s.db\nHEALTH_PORT=0\n"
             "AI_PROVIDERS=\nSYMBOLS=%s\nENTRY_TIMEFRAME=5m\nTIMEFRAMES=5m,15m,1h\nINITIAL_CAPITAL=1000\n"
             "MIN_STOP_LOSS_PERCENT=0.01\nMAX_STOP_LOSS_PERCENT=0.02\nMIN_PROFIT_USD=1\nTELEGRAM_COMMANDS=false\n"
             "TRAILING_STOP_MODE=percent\nTRAILING_STOP_PERCENT=0.002\nTRAILING_ACTIVATION_R=0.01\n"
             "TAKE_PROFIT_RISK_REWARD=20\nMAX_CONSECUTIVE_LOSSES=100\nMAX_DRAWDOWN_PERCENT=0.99\n"
             "DAILY_LOSS_LIMIT_PERCENT=1\nBINANCE_WEIGHT_LIMIT=1000000\nRECONCILE_SECONDS=3600\n"
             "BINANCE_REST_URL=http://127.0.0.1:%d\nBINANCE_WS_MARKET_URL=ws://127.0.0.1:%d/market\n"
             "BINANCE_WS_USER_URL=ws://127.0.0.1:%d/private\n",
          live ? "false" : "true", live ? "true" : "false", dir, live ? "live" : "paper", list, x->rest, x->ws,
          x->ws);
  if (live) fprintf(f, "BINANCE_API_KEY=%s\nBINANCE_API_SECRET=%s\n", KEY, SECRET);
  fclose(f);
  char exe[1024];
  snprintf(exe, sizeof exe, "%s/levbot", LB_BINARY_DIR);
  const char *argv[] = {exe, "run", "--env-file", env, NULL};
  b->pid = spawn(argv, b->log);
  b->port = 0;
  for (int i = 0; i < 6000 && !b->port; i++) {
    char *log = slurp(b->log);
    const char *p = strstr(log, "health server on http://");
    if (p && (p = strchr(p + strlen("health server on http://"), ':'))) b->port = (int)strtol(p + 1, NULL, 10);
    free(log);
    int st;
    if (!b->port && waitpid(b->pid, &st, WNOHANG) == b->pid) die("levbot run exited at start (%s)", b->log);
    if (!b->port) sleep_ms(5);
  }
  if (!b->port) die("levbot run did not serve (%s)", b->log);
}

static json_t *bot_json(const lbot *b, const char *path) {
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", b->port, path);
  return http_json("GET", url);
}

static double bot_counter(const lbot *b, const char *name) {
  json_t *m = bot_json(b, "/metrics");
  double v = m ? json_number_value(json_object_get(json_object_get(m, "counters"), name)) : -1;
  json_decref(m);
  return v;
}

static bool bot_state_is(const lbot *b, const char *state) {
  json_t *s = bot_json(b, "/status");
  const char *v = s ? json_string_value(json_object_get(s, "state")) : NULL;
  bool yes = v && strcmp(v, state) == 0;
  json_decref(s);
  return yes;
}

/* The open position: symbol and side (+1 long, -1 short); false if none. */
static bool bot_position(const lbot *b, char *symbol, size_t n, int *dir_out) {
  json_t *s = bot_json(b, "/status");
  json_t *p = s ? json_object_get(s, "position") : NULL;
  bool open = p && json_is_object(p) && json_is_true(json_object_get(p, "stop_on_exchange"));
  if (open) {
    snprintf(symbol, n, "%s", json_string_value(json_object_get(p, "symbol")));
    const char *side = json_string_value(json_object_get(p, "side"));
    *dir_out = side && (side[0] == 'l' || side[0] == 'L') ? 1 : -1;
  }
  json_decref(s);
  return open;
}

/* ==== Phases ==== */

/* Lets the replay run until the bot holds a position whose stop is on the
 * exchange, then pauses the market. */
static void until_position(xsim *x, const lbot *b, char *symbol, size_t n, int *d) {
  json_decref(xsim_call(x, "POST", "/_exsim/resume"));
  double t0 = now_s();
  while (!bot_position(b, symbol, n, d)) {
    if (now_s() - t0 > 600) die("no position within 600 s");
    sleep_ms(20);
  }
  json_decref(xsim_call(x, "POST", "/_exsim/pause"));
  sleep_ms(300); /* what the last ticks caused is over */
  if (!bot_position(b, symbol, n, d)) until_position(x, b, symbol, n, d);
}

/* Puts the position 0.1 % in profit (one mark), past the trailing
 * activation (0.01 R): from there every new best price is a replacement.
 * Without it the steps below would wait in vain until the market made
 * the position profitable. */
static void into_profit(xsim *x, const lbot *b, const char *symbol, int d) {
  json_t *s = bot_json(b, "/status");
  json_t *p = s ? json_object_get(s, "position") : NULL;
  const char *e = p ? json_string_value(json_object_get(p, "entry_price")) : NULL;
  double entry = e ? strtod(e, NULL) : 0;
  json_decref(s);
  if (entry <= 0) die("no entry price in /status");
  double target = entry * (1.0 + d * 0.001);
  if ((xsim_mark(x, symbol) - target) * d >= 0) return;
  double moves = bot_counter(b, "stop_moves_total");
  xsim_set_mark(x, symbol, target);
  for (int w = 0; w < 2000 && bot_counter(b, "stop_moves_total") <= moves; w++) sleep_ms(1);
  sleep_ms(100);
}

/* Moves the position's mark `steps` times in its favour (0.002 % a step:
 * every step a new best price, so a tighter stop), waiting for each
 * replacement.  outside_us (may be NULL): per step, exsim's arrival time
 * of the replacement stop request minus the bench's clock before the
 * mark was set.  Returns the replacements timed. */
static int drive_trailing(xsim *x, const lbot *b, const char *symbol, int d, int steps, double *outside_us) {
  into_profit(x, b, symbol, d);
  double price = xsim_mark(x, symbol);
  double n0 = bot_counter(b, "trail_latency_samples_total");
  long seq = 0;
  if (outside_us) {
    json_t *rq = xsim_call(x, "GET", "/_exsim/requests");
    size_t k = json_array_size(rq);
    seq = k ? (long)json_integer_value(json_object_get(json_array_get(rq, k - 1), "seq")) + 1 : 0;
    json_decref(rq);
  }
  int done = 0;
  for (int i = 0; i < steps; i++) {
    price *= 1.0 + d * 0.00002;
    int64_t t0 = wall_us();
    xsim_set_mark(x, symbol, price);
    bool moved = false;
    for (int w = 0; w < 2000 && !moved; w++) {
      moved = bot_counter(b, "trail_latency_samples_total") > n0 + done;
      if (!moved) sleep_ms(1);
    }
    if (!moved) continue;
    if (outside_us) {
      /* the new stop's request, then the old stop's cancel: the bot is
       * idle again before the next mark */
      int64_t arrived = 0;
      bool canceled = false;
      for (int w = 0; w < 2000 && !canceled; w++) {
        char path[64];
        snprintf(path, sizeof path, "/_exsim/requests?since=%ld", seq);
        json_t *rq = xsim_call(x, "GET", path);
        size_t k;
        json_t *q;
        json_array_foreach(rq, k, q) {
          const char *m = json_string_value(json_object_get(q, "method"));
          const char *p = json_string_value(json_object_get(q, "path"));
          seq = (long)json_integer_value(json_object_get(q, "seq")) + 1;
          if (strcmp(p, "/fapi/v1/algoOrder") != 0) continue;
          if (strcmp(m, "POST") == 0 && !arrived) arrived = json_integer_value(json_object_get(q, "time_us"));
          if (strcmp(m, "DELETE") == 0 && arrived) canceled = true;
        }
        json_decref(rq);
        if (!canceled) sleep_ms(1);
      }
      if (arrived) outside_us[done] = (double)(arrived - t0);
    }
    done++;
  }
  return done;
}

int main(int argc, char **argv) {
  double speed = 600, warm_s = 30, window_s = 120;
  int samples = 2000, marks = 20000;
  bool live = true;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--speed") && i + 1 < argc) speed = strtod(argv[++i], NULL);
    else if (!strcmp(argv[i], "--warm") && i + 1 < argc) warm_s = strtod(argv[++i], NULL);
    else if (!strcmp(argv[i], "--window") && i + 1 < argc) window_s = strtod(argv[++i], NULL);
    else if (!strcmp(argv[i], "--samples") && i + 1 < argc) samples = (int)strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--marks") && i + 1 < argc) marks = (int)strtol(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--no-live")) live = false;
    else {
      fprintf(stderr, "usage: bench_run [--speed X] [--warm S] [--window S] [--samples N] [--marks N] [--no-live]\n");
      return 2;
    }
  }
  if (speed <= 0 || window_s <= 0 || samples < 1 || marks < 1) {
    fprintf(stderr, "bench_run: bad arguments\n");
    return 2;
  }
  const char *base = getenv("LEVBOT_BENCH_DIR");
  snprintf(dir, sizeof dir, "%s/levbot-bench-run.XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(dir)) {
    fprintf(stderr, "bench_run: mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  setvbuf(stdout, NULL, _IOLBF, 0); /* each phase's figures as they come, also into a file */
  curl_global_init(CURL_GLOBAL_DEFAULT);
  curl = curl_easy_init();
  printf("bench/run: levbot run, paper, %d symbols x 5m,15m,1h against exsim replaying %s at %gx "
         "(every symbol the same month)\n", NSYM, DATA, speed);
#ifdef NDEBUG
  printf("  build: %s (Release)\n", LB_BINARY_DIR);
#else
  printf("  build: %s (not a Release build: figures are not representative)\n", LB_BINARY_DIR);
#endif

  /* ---- 1. steady state ---- */
  xsim x;
  xsim_start(&x, speed);
  lbot b;
  bot_start(&b, &x, false);
  for (int i = 0; i < 6000 && !bot_state_is(&b, "scanning") && !bot_state_is(&b, "in_position"); i++) sleep_ms(10);
  json_decref(xsim_call(&x, "POST", "/_exsim/resume"));
  sleep_ms((long)(warm_s * 1000));
  double cpu0 = proc_cpu_s(b.pid), c0 = bot_counter(&b, "candles_total"), t0 = now_s();
  lb_ms m0 = xsim_market_time(&x);
  long rss_first = proc_status_kb(b.pid, "VmRSS");
  int nrss = 0;
  double rss[4096];
  while (now_s() - t0 < window_s && nrss < 4096) {
    sleep_ms(500);
    rss[nrss++] = (double)proc_status_kb(b.pid, "VmRSS");
  }
  double cpu1 = proc_cpu_s(b.pid), c1 = bot_counter(&b, "candles_total"), t1 = now_s();
  lb_ms m1 = xsim_market_time(&x);
  long rss_last = proc_status_kb(b.pid, "VmRSS"), hwm = proc_status_kb(b.pid, "VmHWM");
  double market_h = (double)(m1 - m0) / 3.6e6;
  double cpu_h = (cpu1 - cpu0) / market_h;
  /* exsim's replay: 4 ticks per 5m bar, each a markPrice and a kline_5m message per symbol */
  double msgs_h = NSYM * 48.0 * 2;
  double rq[4] = {0}; /* before pct() sorts the samples */
  for (int q = 0; q < 4 && nrss >= 4; q++) rq[q] = rss[(q + 1) * nrss / 4 - 1];
  double rss_med = pct(rss, nrss, 0.5), rss_max = pct(rss, nrss, 1.0);
  printf("\n1. steady state over %.0f s of wall time after %.0f s of warm-up: %.1f hours of market time, "
         "%.0f closed 5m candles taken\n", t1 - t0, warm_s, market_h, c1 - c0);
  printf("   RSS   median %.1f MB, max %.1f MB (%.1f MB at the start of the window, %.1f MB at its end); "
         "VmHWM %.1f MB   target < 30 MB: %s\n", rss_med / 1024, rss_max / 1024, (double)rss_first / 1024,
         (double)rss_last / 1024, (double)hwm / 1024, rss_max / 1024 < 30 ? "met" : "NOT met");
  if (nrss >= 4)
    printf("   RSS   at the end of each quarter of the window: %.1f, %.1f, %.1f, %.1f MB\n", rq[0] / 1024,
           rq[1] / 1024, rq[2] / 1024, rq[3] / 1024);
  printf("   CPU   %.2f s per hour of market time (the replay's %.0f stream messages an hour); %.1f %% of one "
         "core at %gx\n", cpu_h, msgs_h, 100 * (cpu1 - cpu0) / (t1 - t0), speed);

  /* ---- 2. one stream message ---- */
  json_decref(xsim_call(&x, "POST", "/_exsim/pause"));
  sleep_ms(500);
  char held[32] = "";
  int hd = 0;
  bool holding = bot_position(&b, held, sizeof held, &hd);
  double base_px[NSYM];
  for (int i = 0; i < NSYM; i++) base_px[i] = xsim_mark(&x, symbols[i]);
  double mc0 = proc_cpu_s(b.pid);
  int sent = 0;
  for (int i = 0; sent < marks; i++) {
    int s = i % NSYM;
    if (holding && strcmp(symbols[s], held) == 0) continue; /* no stop moves here */
    xsim_set_mark(&x, symbols[s], base_px[s] * (1 + ((i / NSYM) % 2 ? 0.0001 : -0.0001)));
    sent++;
  }
  sleep_ms(300);
  double per_msg_us = (proc_cpu_s(b.pid) - mc0) / sent * 1e6;
  /* Binance USD-M: kline every 250 ms and markPrice@1s, per symbol */
  double live_msgs_h = NSYM * (14400.0 + 3600.0);
  double live_cpu_h = cpu_h + (live_msgs_h - msgs_h) * per_msg_us / 1e6;
  printf("\n2. one stream message (%d mark prices set through exsim, no position on those symbols): %.1f us of "
         "CPU in the bot\n", sent, per_msg_us);
  printf("   CPU   estimate at Binance's live stream rates (%.0f messages an hour: kline_5m every 250 ms and "
         "markPrice@1s per symbol): %.1f s per hour of market time (%.2f %% of one core)\n", live_msgs_h,
         live_cpu_h, 100 * live_cpu_h / 3600);

  /* ---- 3. trailing stop, paper ---- */
  char sym[32];
  int d = 0;
  until_position(&x, &b, sym, sizeof sym, &d);
  int got = drive_trailing(&x, &b, sym, d, samples, NULL);
  double p50 = bot_counter(&b, "trail_latency_p50_us"), p99 = bot_counter(&b, "trail_latency_p99_us");
  printf("\n3. trailing stop, paper: %d replacements on %s (%s), the replay paused, one mark at a time\n", got, sym,
         d > 0 ? "long" : "short");
  printf("   in-process (mark taken by the engine -> replacement request to the exchange adapter): p50 %.0f us, "
         "p99 %.0f us   target p99 < 1 ms: %s\n", p50, p99, p99 < 1000 ? "met" : "NOT met");
  int st = stop_proc(b.pid, SIGTERM, 20000);
  if (st != 0) printf("   (levbot run exited with %d)\n", st);

  /* ---- 4. trailing stop, live ---- */
  if (live) {
    lbot lv;
    bot_start(&lv, &x, true);
    for (int i = 0; i < 6000 && bot_state_is(&lv, "starting"); i++) sleep_ms(10);
    until_position(&x, &lv, sym, sizeof sym, &d);
    double *out = calloc((size_t)samples, sizeof *out);
    if (!out) die("out of memory");
    int n = drive_trailing(&x, &lv, sym, d, samples, out);
    double lp50 = bot_counter(&lv, "trail_latency_p50_us"), lp99 = bot_counter(&lv, "trail_latency_p99_us");
    int k = 0;
    for (int i = 0; i < n; i++)
      if (out[i] > 0) out[k++] = out[i];
    double o50 = pct(out, k, 0.5), o99 = pct(out, k, 0.99);
    printf("\n4. trailing stop, live against exsim: %d replacements on %s (%s)\n", n, sym, d > 0 ? "long" : "short");
    printf("   in-process hook: p50 %.0f us, p99 %.0f us\n", lp50, lp99);
    printf("   outside (bench sets the mark on exsim -> the replacement request arrives at exsim; %d timed): "
           "p50 %.0f us, p99 %.0f us\n", k, o50, o99);
    free(out);
    st = stop_proc(lv.pid, SIGTERM, 20000);
    if (st != 0) printf("   (levbot run exited with %d)\n", st);
  }
  json_decref(xsim_call(&x, "POST", "/_exsim/shutdown"));
  stop_proc(x.pid, SIGTERM, 10000);
  curl_easy_cleanup(curl);
  curl_global_cleanup();
  printf("\nfiles (logs, databases): %s\n", dir);
  return 0;
}
