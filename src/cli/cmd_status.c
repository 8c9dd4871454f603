/* cmd_status.c -- `levbot status`: not built yet (placeholder so the command table is complete). */
#include "cli/cli.h"

static int status_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_error("status", CLI_EXIT_FAILURE, "not available in this build yet");
}

const cli_cmd cli_cmd_status = {"status", "show the running bot's state from the database", "Usage: levbot status", status_run};
