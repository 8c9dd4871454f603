/* main.c -- `levbot`: dispatch to one subcommand from the table below.
 *
 * Common options may also come before the command name
 * (`levbot --env-file prod.env run`): they are moved behind it so every
 * command sees them in its own argv.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"

static const cli_cmd *const commands[] = {
    &cli_cmd_run,    &cli_cmd_backtest, &cli_cmd_indicators,    &cli_cmd_setup_db,
    &cli_cmd_status, &cli_cmd_report,   &cli_cmd_config,        &cli_cmd_ai_stats,
    &cli_cmd_healthcheck, &cli_cmd_download_data, &cli_cmd_optimize, &cli_cmd_version,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f) {
  fprintf(f, "levbot %s -- autonomous leverage-trading bot for crypto perpetual futures\n\n"
             "Usage: levbot COMMAND [OPTIONS]   (levbot COMMAND --help for details)\n\n"
             "Commands:\n", LEVBOT_VERSION);
  for (size_t i = 0; i < N_COMMANDS; i++)
    fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
  fprintf(f, "\n%s\n", CLI_COMMON_USAGE);
  fprintf(f, "Exit codes:\n"
             "  0 success             1 failure             2 bad command line\n"
             "  3 invalid config      4 bad input data      5 database error\n"
             "  6 exchange error      7 refused for safety  8 unhealthy (healthcheck)\n\n"
             "Leverage trading can lose everything you put in. Paper-trade first.\n");
}

static int takes_value(const char *opt) {
  return strcmp(opt, "--env-file") == 0 || strcmp(opt, "--log-level") == 0 ||
         strcmp(opt, "--log-format") == 0;
}

int main(int argc, char **argv) {
  /* Leading common options: find the command behind them. */
  int cmd_at = 1;
  while (cmd_at < argc && argv[cmd_at][0] == '-' && takes_value(argv[cmd_at])) cmd_at += 2;
  if (cmd_at >= argc) {
    if (argc > 1 && cmd_at > argc) {
      fprintf(stderr, "levbot: option %s needs a value\n", argv[argc - 1]);
      return CLI_EXIT_USAGE;
    }
    usage(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *name = argv[cmd_at];
  if (strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "help") == 0) {
    usage(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(name, "--version") == 0) name = "version";
  const cli_cmd *cmd = NULL;
  for (size_t i = 0; i < N_COMMANDS; i++)
    if (strcmp(commands[i]->name, name) == 0) cmd = commands[i];
  if (!cmd) {
    fprintf(stderr, "levbot: unknown command '%s' (levbot --help lists the commands)\n", name);
    return CLI_EXIT_USAGE;
  }
  /* argv for the command: name, then the leading options, then the rest. */
  char **cargv = calloc((size_t)argc + 1, sizeof *cargv);
  if (!cargv) return CLI_EXIT_FAILURE;
  int k = 0;
  cargv[k++] = argv[cmd_at];
  for (int i = 1; i < cmd_at; i++) cargv[k++] = argv[i];
  for (int i = cmd_at + 1; i < argc; i++) cargv[k++] = argv[i];
  cargv[k] = NULL;
  int rc;
  if (cli_wants_help(cmd, k, cargv)) rc = CLI_EXIT_OK;
  else rc = cmd->run(k, cargv);
  free(cargv);
  lb_log_shutdown();
  return rc;
}
