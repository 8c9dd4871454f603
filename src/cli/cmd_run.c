/* cmd_run.c -- `levbot run`: not built yet (placeholder so the command table is complete). */
#include "cli/cli.h"

static int run_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_error("run", CLI_EXIT_FAILURE, "not available in this build yet");
}

const cli_cmd cli_cmd_run = {"run", "trade: paper (default) or live", "Usage: levbot run", run_run};
