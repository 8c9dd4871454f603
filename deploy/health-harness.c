/* health-harness.c -- the health server with a fixed, healthy provider, for
 * deploy/verify-chroot while `levbot run` does not exist yet.
 *
 * It reads the configuration exactly as levbot does (environment, then
 * ./.env), starts src/http's server on HEALTH_HOST:HEALTH_PORT, prints
 * "listening on PORT" and serves until SIGTERM/SIGINT or the given number of
 * seconds.  This proves, inside the runtime image, that the shared libraries
 * are enough for the server, that the port is reachable from outside the
 * chroot, and that the image's HEALTHCHECK command (levbot healthcheck)
 * accepts the answer.  Not installed in the image; built by the verifier
 * against the build stage's static libraries:
 *
 *   cc -Isrc deploy/health-harness.c BUILD/liblevbot_http.a BUILD/liblevbot_core.a \
 *      $(pkg-config --libs libmicrohttpd libcurl jansson) -lpthread -lm
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "core/time.h"
#include "http/http.h"

static volatile sig_atomic_t stop;
static lb_ms started;

static void on_signal(int sig) {
  (void)sig;
  stop = 1;
}

static lb_err h_health(void *ctx, http_health *out, lb_errbuf *eb) {
  (void)ctx;
  (void)eb;
  out->database_ok = true;
  out->database_latency_ms = 0;
  out->exchange_ok = true;
  snprintf(out->exchange_name, sizeof out->exchange_name, "harness");
  out->engine_ok = true;
  out->n_ai = 1;
  snprintf(out->ai[0].name, sizeof out->ai[0].name, "technical");
  out->as_of = lb_time_now_ms();
  out->uptime_s = (out->as_of - started) / 1000;
  return LB_OK;
}

static lb_err h_status(void *ctx, http_status *out, lb_errbuf *eb) {
  (void)ctx;
  (void)eb;
  snprintf(out->exchange, sizeof out->exchange, "harness");
  out->capital = out->equity = LB_DEC_INT(100);
  out->as_of = lb_time_now_ms();
  return LB_OK;
}

static lb_err h_metrics(void *ctx, http_metrics *out, lb_errbuf *eb) {
  (void)ctx;
  (void)eb;
  out->win_rate = out->profit_factor = out->sharpe = NAN;
  return LB_OK;
}

int main(int argc, char **argv) {
  long seconds = argc > 1 ? strtol(argv[1], NULL, 10) : 60;
  lb_config cfg;
  static lb_cfg_report rep;
  lb_cfg_source src = {0};
  if (lb_config_load(&cfg, &src, &rep) != LB_OK) {
    for (int i = 0; i < rep.n_errors; i++) fprintf(stderr, "health-harness: %s\n", rep.errors[i]);
    return 3;
  }
  started = lb_time_now_ms();
  http_options o;
  http_options_from_config(&cfg, &o);
  http_provider p = {NULL, h_health, h_status, h_metrics, NULL};
  http_server *s;
  lb_errbuf eb = {{0}};
  if (http_server_new(&o, &p, &s, &eb) != LB_OK) {
    fprintf(stderr, "health-harness: %s\n", eb.msg);
    return 1;
  }
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  printf("health-harness: listening on %s port %d\n", o.host, http_server_port(s));
  fflush(stdout);
  for (long i = 0; i < seconds * 10 && !stop; i++) usleep(100000);
  http_server_free(s);
  lb_log_shutdown();
  return 0;
}
