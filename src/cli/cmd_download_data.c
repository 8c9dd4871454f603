/* cmd_download_data.c -- `levbot download-data`: not built yet (placeholder so the command table is complete). */
#include "cli/cli.h"

static int download_data_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_error("download-data", CLI_EXIT_FAILURE, "not available in this build yet");
}

const cli_cmd cli_cmd_download_data = {"download-data", "download Binance public-data klines", "Usage: levbot download-data", download_data_run};
