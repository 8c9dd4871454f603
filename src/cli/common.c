/* common.c -- options and helpers shared by every subcommand (see cli.h). */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/log.h"

int cli_common_parse(int *argc, char **argv, cli_common *out) {
  memset(out, 0, sizeof *out);
  int k = 1;
  for (int i = 1; i < *argc; i++) {
    const char **slot = NULL;
    const char *a = argv[i];
    size_t eqlen = strcspn(a, "=");
    const char *inline_val = a[eqlen] == '=' ? a + eqlen + 1 : NULL;
    if (strncmp(a, "--env-file", eqlen) == 0 && eqlen == 10) slot = &out->env_file;
    else if (strncmp(a, "--log-level", eqlen) == 0 && eqlen == 11) slot = &out->log_level;
    else if (strncmp(a, "--log-format", eqlen) == 0 && eqlen == 12) slot = &out->log_format;
    if (!slot) {
      argv[k++] = argv[i];
      continue;
    }
    if (inline_val) {
      *slot = inline_val;
    } else {
      if (i + 1 >= *argc) {
        fprintf(stderr, "levbot %s: option %s needs a value\n", argv[0], a);
        return CLI_EXIT_USAGE;
      }
      *slot = argv[++i];
    }
  }
  argv[k] = NULL;
  *argc = k;
  if (out->log_level && lb_log_level_parse(out->log_level) < 0) {
    fprintf(stderr, "levbot %s: --log-level %s is not one of debug, info, warn, error\n", argv[0],
            out->log_level);
    return CLI_EXIT_USAGE;
  }
  if (out->log_format && strcmp(out->log_format, "human") != 0 &&
      strcmp(out->log_format, "json") != 0) {
    fprintf(stderr, "levbot %s: --log-format %s is not one of human, json\n", argv[0],
            out->log_format);
    return CLI_EXIT_USAGE;
  }
  return CLI_EXIT_OK;
}

int cli_load_config(const cli_common *common, lb_config *cfg) {
  lb_cfg_report *rep = calloc(1, sizeof *rep);
  if (!rep) return CLI_EXIT_FAILURE;
  lb_cfg_source src = {.env_file = common ? common->env_file : NULL,
                       .env_file_explicit = common && common->env_file};
  lb_err rc = lb_config_load(cfg, &src, rep);
  const char *lvl = common && common->log_level ? common->log_level : cfg->log_level;
  const char *fmt = common && common->log_format ? common->log_format : cfg->log_format;
  lb_log_setup((lb_log_level)lb_log_level_parse(lvl),
               strcmp(fmt, "json") == 0 ? LB_LOG_JSON : LB_LOG_HUMAN, NULL);
  for (int i = 0; i < rep->n_warnings; i++) LB_WARN("config", "%s", rep->warnings[i]);
  if (rc != LB_OK) {
    fprintf(stderr, "levbot: invalid configuration (%d error%s):\n", rep->n_errors,
            rep->n_errors == 1 ? "" : "s");
    for (int i = 0; i < rep->n_errors; i++) {
      char line[512];
      lb_redact(rep->errors[i], line, sizeof line);
      fprintf(stderr, "  %s\n", line);
    }
    free(rep);
    return CLI_EXIT_CONFIG;
  }
  free(rep);
  return CLI_EXIT_OK;
}

bool cli_wants_help(const cli_cmd *cmd, int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) break;
    if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      printf("%s\n\n%s", cmd->usage, CLI_COMMON_USAGE);
      return true;
    }
  }
  return false;
}

int cli_error(const char *cmd, int code, const char *fmt, ...) {
  char msg[1024], red[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  lb_redact(msg, red, sizeof red);
  fprintf(stderr, "levbot %s: %s\n", cmd, red);
  return code;
}

int cli_exit_for(lb_err e) {
  switch (e) {
  case LB_OK: return CLI_EXIT_OK;
  case LB_EINVAL: return CLI_EXIT_USAGE;
  case LB_ECONFIG: return CLI_EXIT_CONFIG;
  case LB_EIO:
  case LB_EPARSE:
  case LB_ENOTFOUND:
  case LB_EUNSUPPORTED: return CLI_EXIT_DATA;
  case LB_EDB: return CLI_EXIT_DB;
  case LB_ENET:
  case LB_EREJECTED:
  case LB_EAUTH: return CLI_EXIT_EXCHANGE;
  default: return CLI_EXIT_FAILURE;
  }
}
