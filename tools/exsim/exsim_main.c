/* exsim_main.c -- `exsim`: command line, start-up and shutdown of the simulator.
 *
 *   exsim --data data/binance-um/BTCUSDT-1m-2022-05-05.csv --port 9010 --ws-port 9011
 *
 * prints where it listens, writes --port-file (for tests that ask for port 0)
 * and runs until SIGINT/SIGTERM or POST /_exsim/shutdown, saving its state
 * on the way out.  README.md lists every option and the control endpoints.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "exsim.h"

static volatile sig_atomic_t got_signal;
static void on_signal(int sig) { got_signal = sig; }

lb_ms ex_server_now(const exsim *e) { return lb_time_now_ms() + e->faults.clock_skew_ms; }

unsigned ex_rand(exsim *e) {
  unsigned x = e->rng ? e->rng : 2463534242u;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  e->rng = x;
  return x;
}

double ex_rand01(exsim *e) { return (double)(ex_rand(e) & 0xffffff) / (double)0x1000000; }

static void usage(FILE *f) {
  fputs("usage: exsim --data [SYMBOL=]FILE [--data ...] [options]\n"
        "  Binance USDT-M futures simulator (REST + WebSocket) over replayed candles.\n"
        "  --host ADDR             listen address (127.0.0.1)\n"
        "  --port N / --ws-port N  REST / WebSocket ports (0 = any free port; see --port-file)\n"
        "  --port-file PATH        write \"REST_PORT WS_PORT\" there once listening\n"
        "  --state PATH            persist state there; reloaded on start\n"
        "  --speed X               market time runs X times the wall clock (60)\n"
        "  --warmup N              bars of history before the replay starts (500)\n"
        "  --no-rebase             keep the data's own timestamps\n"
        "  --paused                start paused (POST /_exsim/resume or /_exsim/step)\n"
        "  --api-key K --api-secret S   credentials (env EXSIM_API_KEY / EXSIM_API_SECRET;\n"
        "                          default exsim-api-key / exsim-api-secret)\n"
        "  --balance X             initial USDT wallet (10000)\n"
        "  --taker-fee R --maker-fee R   (0.0005 / 0.0002)\n"
        "  --funding-rate R        per 8 h when no --funding file covers it (0.0001)\n"
        "  --funding FILE          funding rates (freqtrade or LEAN format)\n"
        "  --leverage N            initial leverage of every symbol (20)\n"
        "  --margin crossed|isolated   initial margin type (crossed, like Binance)\n"
        "  --weight-limit N        request weight per minute (2400)\n"
        "  --ban-seconds N         418 ban after ignoring a 429 (120)\n"
        "  --listenkey-ttl-ms N    listenKey validity (3600000)\n"
        "  --ws-ping-ms N --ws-pong-timeout-ms N   (180000 / 600000)\n"
        "  --legacy-ws-paths       deliver market streams on /ws and /stream too\n"
        "  --seed N --quiet\n"
        "faults (also POST /_exsim/faults):\n"
        "  --error-rate 'METHOD PATH=R'  ('*=R' for every endpoint; repeatable)\n"
        "  --latency-ms 'METHOD PATH=MS' --error-status N --error-code N\n"
        "  --burst-429 N --retry-after S --clock-skew-ms N\n"
        "  --accept-then-503 N --accept-then-503-rate R --ws-drop-every-ms N\n",
        f);
}

static bool parse_dec(const char *s, lb_dec *out) { return s && lb_dec_parse(s, out) == LB_OK; }

static bool parse_long(const char *s, long *out) {
  char *end;
  if (!s || !*s) return false;
  *out = strtol(s, &end, 10);
  return *end == '\0';
}

static bool parse_double(const char *s, double *out) {
  char *end;
  if (!s || !*s) return false;
  *out = strtod(s, &end);
  return *end == '\0';
}

static bool endpoint_value(exsim *e, const char *spec, bool latency) {
  const char *eq = strrchr(spec, '=');
  if (!eq || eq == spec) return false;
  char ep[64];
  snprintf(ep, sizeof ep, "%.*s", (int)(eq - spec), spec);
  double v;
  if (!parse_double(eq + 1, &v) || v < 0) return false;
  ex_faults *f = &e->faults;
  ex_fault_ep *x = NULL;
  for (int i = 0; i < f->n_ep; i++)
    if (strcmp(f->ep[i].endpoint, ep) == 0) x = &f->ep[i];
  if (!x) {
    if (f->n_ep == EX_FAULT_ENDPOINTS) return false;
    x = &f->ep[f->n_ep++];
    snprintf(x->endpoint, sizeof x->endpoint, "%s", ep);
  }
  if (latency)
    x->latency_ms = (lb_ms)v;
  else
    x->error_rate = v;
  return true;
}

static int parse_args(exsim *e, int argc, char **argv) {
  ex_opts *o = &e->opt;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    long n;
    double d;
#define NEED()                                                   \
  do {                                                           \
    if (!v) {                                                    \
      fprintf(stderr, "exsim: %s needs a value\n", a);           \
      return 2;                                                  \
    }                                                            \
    i++;                                                         \
  } while (0)
#define BAD()                                                    \
  do {                                                           \
    fprintf(stderr, "exsim: %s: bad value \"%s\"\n", a, v);      \
    return 2;                                                    \
  } while (0)
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      return 1;
    } else if (!strcmp(a, "--data")) {
      NEED();
      if (o->n_data == EX_MAX_SYMBOLS) BAD();
      o->data_files[o->n_data++] = v;
    } else if (!strcmp(a, "--host")) {
      NEED();
      o->host = v;
    } else if (!strcmp(a, "--port") || !strcmp(a, "--ws-port")) {
      NEED();
      if (!parse_long(v, &n) || n < 0 || n > 65535) BAD();
      if (a[2] == 'p') o->port = (int)n;
      else o->ws_port = (int)n;
    } else if (!strcmp(a, "--port-file")) {
      NEED();
      o->port_file = v;
    } else if (!strcmp(a, "--state")) {
      NEED();
      o->state_file = v;
    } else if (!strcmp(a, "--speed")) {
      NEED();
      if (!parse_double(v, &d) || d <= 0) BAD();
      o->speed = d;
    } else if (!strcmp(a, "--warmup")) {
      NEED();
      if (!parse_long(v, &n) || n < 0) BAD();
      o->warmup = (int)n;
    } else if (!strcmp(a, "--no-rebase")) {
      o->rebase = false;
    } else if (!strcmp(a, "--paused")) {
      o->paused = true;
    } else if (!strcmp(a, "--api-key")) {
      NEED();
      o->api_key = v;
    } else if (!strcmp(a, "--api-secret")) {
      NEED();
      o->api_secret = v;
    } else if (!strcmp(a, "--balance")) {
      NEED();
      if (!parse_dec(v, &o->balance) || o->balance <= 0) BAD();
    } else if (!strcmp(a, "--taker-fee")) {
      NEED();
      if (!parse_dec(v, &o->taker_fee) || o->taker_fee < 0) BAD();
    } else if (!strcmp(a, "--maker-fee")) {
      NEED();
      if (!parse_dec(v, &o->maker_fee) || o->maker_fee < 0) BAD();
    } else if (!strcmp(a, "--funding-rate")) {
      NEED();
      if (!parse_double(v, &o->funding_rate)) BAD();
    } else if (!strcmp(a, "--funding")) {
      NEED();
      o->funding_file = v;
    } else if (!strcmp(a, "--leverage")) {
      NEED();
      if (!parse_long(v, &n) || n < 1 || n > 125) BAD();
      o->default_leverage = (int)n;
    } else if (!strcmp(a, "--margin")) {
      NEED();
      if (strcmp(v, "isolated") && strcmp(v, "crossed")) BAD();
      o->default_isolated = !strcmp(v, "isolated");
    } else if (!strcmp(a, "--weight-limit")) {
      NEED();
      if (!parse_long(v, &n) || n < 1) BAD();
      o->weight_limit = n;
    } else if (!strcmp(a, "--ban-seconds")) {
      NEED();
      if (!parse_long(v, &n) || n < 0) BAD();
      o->ban_seconds = (int)n;
    } else if (!strcmp(a, "--listenkey-ttl-ms")) {
      NEED();
      if (!parse_long(v, &n) || n < 1) BAD();
      o->listenkey_ttl_ms = n;
    } else if (!strcmp(a, "--ws-ping-ms")) {
      NEED();
      if (!parse_long(v, &n) || n < 10) BAD();
      o->ws_ping_ms = n;
    } else if (!strcmp(a, "--ws-pong-timeout-ms")) {
      NEED();
      if (!parse_long(v, &n) || n < 10) BAD();
      o->ws_pong_timeout_ms = n;
    } else if (!strcmp(a, "--legacy-ws-paths")) {
      o->legacy_ws_paths = true;
    } else if (!strcmp(a, "--seed")) {
      NEED();
      if (!parse_long(v, &n)) BAD();
      o->seed = (unsigned)n;
    } else if (!strcmp(a, "--quiet")) {
      o->quiet = true;
    } else if (!strcmp(a, "--error-rate") || !strcmp(a, "--latency-ms")) {
      NEED();
      if (!endpoint_value(e, v, a[2] == 'l')) BAD();
    } else if (!strcmp(a, "--error-status") || !strcmp(a, "--error-code") || !strcmp(a, "--burst-429") ||
               !strcmp(a, "--retry-after") || !strcmp(a, "--clock-skew-ms") ||
               !strcmp(a, "--accept-then-503") || !strcmp(a, "--ws-drop-every-ms")) {
      NEED();
      if (!parse_long(v, &n)) BAD();
      if (!strcmp(a, "--error-status")) e->faults.error_status = (int)n;
      else if (!strcmp(a, "--error-code")) e->faults.error_code = (int)n;
      else if (!strcmp(a, "--burst-429")) e->faults.burst_429 = (int)n;
      else if (!strcmp(a, "--retry-after")) e->faults.retry_after_s = (int)n;
      else if (!strcmp(a, "--clock-skew-ms")) e->faults.clock_skew_ms = n;
      else if (!strcmp(a, "--accept-then-503")) e->faults.accept_then_503 = (int)n;
      else e->faults.ws_drop_every_ms = n;
    } else if (!strcmp(a, "--accept-then-503-rate")) {
      NEED();
      if (!parse_double(v, &d) || d < 0 || d > 1) BAD();
      e->faults.accept_then_503_rate = d;
    } else {
      fprintf(stderr, "exsim: unknown option %s (see --help)\n", a);
      return 2;
    }
#undef NEED
#undef BAD
  }
  if (o->n_data == 0) {
    fprintf(stderr, "exsim: at least one --data FILE is needed (see --help)\n");
    return 2;
  }
  return 0;
}

static void defaults(exsim *e) {
  ex_opts *o = &e->opt;
  o->host = "127.0.0.1";
  o->speed = 60;
  o->warmup = 500;
  o->rebase = true;
  o->api_key = getenv("EXSIM_API_KEY") ? getenv("EXSIM_API_KEY") : "exsim-api-key";
  o->api_secret = getenv("EXSIM_API_SECRET") ? getenv("EXSIM_API_SECRET") : "exsim-api-secret";
  lb_dec_parse("10000", &o->balance);
  lb_dec_parse("0.0005", &o->taker_fee);
  lb_dec_parse("0.0002", &o->maker_fee);
  o->funding_rate = 0.0001;
  o->weight_limit = 2400;
  o->ban_seconds = 120;
  o->listenkey_ttl_ms = 60 * LB_MS_MINUTE;
  o->ws_ping_ms = 3 * LB_MS_MINUTE;
  o->ws_pong_timeout_ms = 10 * LB_MS_MINUTE;
  o->default_leverage = 20;
  e->next_order_id = 1000001;
  e->next_algo_id = 5000001;
  e->next_trade_id = 9000001;
}

static int write_port_file(const exsim *e) {
  char tmp[1100];
  snprintf(tmp, sizeof tmp, "%s.tmp", e->opt.port_file);
  FILE *f = fopen(tmp, "w");
  if (!f) return -1;
  fprintf(f, "%d %d\n", e->rest_port, e->ws_port);
  if (fclose(f) != 0) return -1;
  return rename(tmp, e->opt.port_file);
}

static void free_all(exsim *e) {
  for (int i = 0; i < e->nsym; i++) data_series_close(&e->sym[i].series);
  if (e->have_funding) data_funding_close(&e->funding);
  free(e->orders);
  free(e->algos);
  free(e->fills);
  free(e->fundings);
  free(e->gaps);
  pthread_mutex_destroy(&e->mu);
  pthread_cond_destroy(&e->cv);
}

int main(int argc, char **argv) {
  static exsim sim;
  exsim *e = &sim;
  defaults(e);
  int rc = parse_args(e, argc, argv);
  if (rc) return rc == 1 ? 0 : rc;
  e->rng = e->opt.seed ? e->opt.seed : (unsigned)lb_time_now_ms();
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->cv, NULL);
  atomic_init(&e->stop, false);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  lb_errbuf eb;
  int exit_code = 1;
  if (ex_market_load(e, &eb) != LB_OK) {
    fprintf(stderr, "exsim: %s\n", eb.msg);
    free_all(e);
    return 1;
  }
  /* Streams first (the replay publishes into them), then the replay (which
   * loads the state file), then the REST server. */
  if (ex_ws_start(e, &eb) != LB_OK || ex_replay_start(e, &eb) != LB_OK || ex_rest_start(e, &eb) != LB_OK) {
    fprintf(stderr, "exsim: %s\n", eb.msg);
    goto stop;
  }
  if (e->opt.port_file && write_port_file(e) != 0) {
    fprintf(stderr, "exsim: cannot write %s\n", e->opt.port_file);
    goto stop;
  }
  char tf[16];
  printf("exsim: REST http://%s:%d  WebSocket ws://%s:%d  (%d symbol%s, %s bars, speed %gx%s)\n", e->opt.host,
         e->rest_port, e->opt.host, e->ws_port, e->nsym, e->nsym == 1 ? "" : "s",
         lb_timeframe_name(e->tf, tf, sizeof tf), e->opt.speed, e->paused ? ", paused" : "");
  fflush(stdout);
  while (!got_signal && !atomic_load(&e->stop)) {
    struct timespec ts = {0, 50 * 1000000L};
    nanosleep(&ts, NULL);
  }
  exit_code = 0;
  if (atomic_load(&e->stop)) { /* POST /_exsim/shutdown: let its answer leave */
    struct timespec ts = {0, 200 * 1000000L};
    nanosleep(&ts, NULL);
  }
stop:
  ex_rest_stop(e);
  ex_replay_stop(e);
  pthread_mutex_lock(&e->mu);
  e->dirty = true;
  ex_state_flush(e);
  pthread_mutex_unlock(&e->mu);
  ex_ws_stop(e);
  free_all(e);
  return exit_code;
}
