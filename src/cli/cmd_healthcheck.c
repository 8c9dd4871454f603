/* cmd_healthcheck.c -- `levbot healthcheck`: asks a running bot's /health and
 * turns the answer into an exit code, so Docker's HEALTHCHECK (and any
 * monitor) needs no curl in the image. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "http/http.h"

static int healthcheck_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  const char *url = NULL;
  long timeout_s = 3;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if ((strcmp(a, "--url") == 0 || strcmp(a, "--timeout") == 0) && i + 1 >= argc)
      return cli_error("healthcheck", CLI_EXIT_USAGE, "option %s needs a value", a);
    if (strcmp(a, "--url") == 0) {
      url = argv[++i];
    } else if (strcmp(a, "--timeout") == 0) {
      const char *v = argv[++i];
      char *end;
      errno = 0;
      timeout_s = strtol(v, &end, 10);
      if (errno || end == v || *end || timeout_s < 1 || timeout_s > 300)
        return cli_error("healthcheck", CLI_EXIT_USAGE, "--timeout %s is not a whole number of seconds 1..300", v);
    } else {
      return cli_error("healthcheck", CLI_EXIT_USAGE, "unknown option %s (see levbot healthcheck --help)", a);
    }
  }
  char def_url[600];
  if (!url) { /* the bot's own address, from the same configuration it reads */
    /* Configuration warnings (a provider without a key...) belong to the
     * bot's log, not to the one line a health check prints. */
    if (!common.log_level) common.log_level = "error";
    lb_config cfg;
    rc = cli_load_config(&common, &cfg);
    if (rc) return rc;
    http_health_url(&cfg, def_url, sizeof def_url);
    url = def_url;
  }
  http_probe_result res;
  lb_errbuf eb = {{0}};
  lb_err e = http_probe(url, (int)(timeout_s * 1000), &res, &eb);
  if (e == LB_EINVAL) return cli_error("healthcheck", CLI_EXIT_USAGE, "%s", eb.msg);
  if (e != LB_OK) return cli_error("healthcheck", CLI_EXIT_FAILURE, "unreachable: %s", eb.msg);
  bool ok = res.verdict != HTTP_UNHEALTHY;
  printf("%s: %s answered %d: %s\n", http_verdict_name(res.verdict), url, res.http_code, res.summary);
  return ok ? CLI_EXIT_OK : CLI_EXIT_UNHEALTHY;
}

const cli_cmd cli_cmd_healthcheck = {
    "healthcheck", "query /health of a running bot (exit 0 if healthy)",
    "Usage: levbot healthcheck [--url URL] [--timeout SECONDS]\n\n"
    "Asks a running bot's health server and prints one line: the verdict, then each\n"
    "component (database, exchange, engine, AI providers) with its error if any.\n"
    "Docker's HEALTHCHECK and systemd use it, so the image needs no curl.\n\n"
    "  --url URL          default http://HEALTH_HOST:HEALTH_PORT/health (0.0.0.0 and ::\n"
    "                     are asked on the loopback address)\n"
    "  --timeout SECONDS  give up after this long (default 3)\n\n"
    "Exit codes: 0 healthy or degraded (an AI provider is down; the bot trades without\n"
    "it), 8 the bot answered and is unhealthy (or something else answered), 1 nothing\n"
    "answered in time, 2 bad command line, 3 invalid configuration.\n\n"
    "Example:\n"
    "  levbot healthcheck --url http://127.0.0.1:8000/health",
    healthcheck_run};
