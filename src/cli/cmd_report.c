/* cmd_report.c -- `levbot report`: not built yet (placeholder so the command table is complete). */
#include "cli/cli.h"

static int report_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_error("report", CLI_EXIT_FAILURE, "not available in this build yet");
}

const cli_cmd cli_cmd_report = {"report", "performance report from the database", "Usage: levbot report", report_run};
