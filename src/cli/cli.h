/* cli.h -- the `levbot` command line: command table, exit codes, shared options.
 *
 * Owns: argument parsing and user-facing messages.  Each subcommand is one
 * file (cmd_<name>.c) exporting one cli_cmd; main.c holds the table.  The
 * commands are thin: they parse options, load the configuration, call the
 * library and turn lb_err into an exit code and one clear line.
 *
 * Must not: contain trading logic (that lives in the library, so tests drive
 * the same functions a user's command does).
 */
#ifndef LB_CLI_CLI_H
#define LB_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "core/config.h"
#include "core/err.h"

/* Documented exit codes (README "Exit codes", `levbot --help`). */
enum {
  CLI_EXIT_OK = 0,        /* success */
  CLI_EXIT_FAILURE = 1,   /* the command ran and failed (see the message) */
  CLI_EXIT_USAGE = 2,     /* bad command line: unknown option, missing argument */
  CLI_EXIT_CONFIG = 3,    /* invalid configuration (every error is listed) */
  CLI_EXIT_DATA = 4,      /* an input file is missing or invalid */
  CLI_EXIT_DB = 5,        /* the database is unreachable or refused an operation */
  CLI_EXIT_EXCHANGE = 6,  /* the exchange is unreachable or refused an operation */
  CLI_EXIT_REFUSED = 7,   /* refused for safety (live trading not confirmed, another bot running) */
  CLI_EXIT_UNHEALTHY = 8  /* healthcheck: the bot answered, and is not healthy */
};

typedef struct cli_cmd {
  const char *name;
  const char *summary; /* one line for `levbot --help` */
  const char *usage;   /* full --help text (options, examples) */
  int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_cmd;

/* Options every command accepts (parsed and removed by cli_common_parse):
 *   --env-file PATH      read this .env instead of ./.env (must exist)
 *   --log-level LEVEL    debug | info | warn | error
 *   --log-format FORMAT  human | json
 */
typedef struct {
  const char *env_file;
  const char *log_level;
  const char *log_format;
} cli_common;

#define CLI_COMMON_USAGE                                                     \
  "Common options:\n"                                                        \
  "  --env-file PATH      read configuration from PATH instead of ./.env\n"  \
  "  --log-level LEVEL    debug, info, warn or error (default: LOG_LEVEL)\n" \
  "  --log-format FORMAT  human or json (default: LOG_FORMAT)\n"            \
  "  -h, --help           show this help\n"

/* Removes the common options from argv (compacting it, updating *argc).
 * Returns CLI_EXIT_OK, or CLI_EXIT_USAGE after printing one line. */
int cli_common_parse(int *argc, char **argv, cli_common *out);

/* Loads and validates the configuration (all errors printed at once, one
 * per line, to stderr) and sets up logging from it and the common options.
 * Returns CLI_EXIT_OK or CLI_EXIT_CONFIG. */
int cli_load_config(const cli_common *common, lb_config *cfg);

/* True if argv holds -h or --help; prints cmd->usage (and the common
 * options) to stdout. */
bool cli_wants_help(const cli_cmd *cmd, int argc, char **argv);

/* "levbot <cmd>: <message>" to stderr and returns code. */
int cli_error(const char *cmd, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An lb_err from a library call as an exit code (data, db, exchange...). */
int cli_exit_for(lb_err e);

/* Every command, in the order of `levbot --help`. */
extern const cli_cmd cli_cmd_run, cli_cmd_backtest, cli_cmd_indicators, cli_cmd_setup_db,
    cli_cmd_status, cli_cmd_report, cli_cmd_config, cli_cmd_ai_stats, cli_cmd_healthcheck,
    cli_cmd_download_data, cli_cmd_optimize, cli_cmd_version;

#endif
