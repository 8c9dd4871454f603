/* cmd_optimize.c -- `levbot optimize`: not built yet (placeholder so the command table is complete). */
#include "cli/cli.h"

static int optimize_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_error("optimize", CLI_EXIT_FAILURE, "not available in this build yet");
}

const cli_cmd cli_cmd_optimize = {"optimize", "grid-search strategy parameters over backtests", "Usage: levbot optimize", optimize_run};
