/* cmd_healthcheck.c -- `levbot healthcheck`: not built yet (placeholder so the command table is complete). */
#include "cli/cli.h"

static int healthcheck_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_error("healthcheck", CLI_EXIT_FAILURE, "not available in this build yet");
}

const cli_cmd cli_cmd_healthcheck = {"healthcheck", "query /health of a running bot (exit 0 if healthy)", "Usage: levbot healthcheck", healthcheck_run};
