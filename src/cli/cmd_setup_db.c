/* cmd_setup_db.c -- `levbot setup-db`: not built yet (placeholder so the command table is complete). */
#include "cli/cli.h"

static int setup_db_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_error("setup-db", CLI_EXIT_FAILURE, "not available in this build yet");
}

const cli_cmd cli_cmd_setup_db = {"setup-db", "create or upgrade the database (migrations) and verify it", "Usage: levbot setup-db", setup_db_run};
