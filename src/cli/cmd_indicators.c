/* cmd_indicators.c -- `levbot indicators`: not built yet (placeholder so the command table is complete). */
#include "cli/cli.h"

static int indicators_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_error("indicators", CLI_EXIT_FAILURE, "not available in this build yet");
}

const cli_cmd cli_cmd_indicators = {"indicators", "compute every indicator over a candle file, as CSV", "Usage: levbot indicators", indicators_run};
