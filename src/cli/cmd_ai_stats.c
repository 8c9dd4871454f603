/* cmd_ai_stats.c -- `levbot ai-stats`: not built yet (placeholder so the command table is complete). */
#include "cli/cli.h"

static int ai_stats_run(int argc, char **argv) {
  (void)argc;
  (void)argv;
  return cli_error("ai-stats", CLI_EXIT_FAILURE, "not available in this build yet");
}

const cli_cmd cli_cmd_ai_stats = {"ai-stats", "LLM calls, cache hit rate and spend per day and model", "Usage: levbot ai-stats", ai_stats_run};
