/* cmd_backtest.c -- `levbot backtest`: not built yet (placeholder so the command table is complete). */
#include "cli/cli.h"

static int backtest_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_error("backtest", CLI_EXIT_FAILURE, "not available in this build yet");
}

const cli_cmd cli_cmd_backtest = {"backtest", "replay candle files through the engine and print a report", "Usage: levbot backtest", backtest_run};
