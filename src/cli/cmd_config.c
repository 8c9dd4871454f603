/* cmd_config.c -- `levbot config`: the effective configuration, secrets masked. */
#include <string.h>

#include "cli/cli.h"

static int config_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  enum { SHOW, ENV_EXAMPLE, MARKDOWN, CHECK } what = SHOW;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--env-example") == 0) what = ENV_EXAMPLE;
    else if (strcmp(argv[i], "--markdown") == 0) what = MARKDOWN;
    else if (strcmp(argv[i], "--check") == 0) what = CHECK;
    else return cli_error("config", CLI_EXIT_USAGE, "unknown option %s (see levbot config --help)", argv[i]);
  }
  if (what == ENV_EXAMPLE) {
    lb_config_write_env_example(stdout);
    return CLI_EXIT_OK;
  }
  if (what == MARKDOWN) {
    lb_config_write_markdown(stdout);
    return CLI_EXIT_OK;
  }
  lb_config cfg;
  rc = cli_load_config(&common, &cfg);
  if (rc) return rc;
  if (what == CHECK) printf("configuration is valid\n");
  else lb_config_print(stdout, &cfg);
  return CLI_EXIT_OK;
}

const cli_cmd cli_cmd_config = {
    "config", "print the effective configuration (secrets masked) or check it",
    "Usage: levbot config [--check | --env-example | --markdown]\n\n"
    "Prints every variable with its value and where it came from (default, env file,\n"
    "environment). Secrets are masked as ****abcd. Exits 3 listing every invalid value.\n\n"
    "  --check        only validate; print \"configuration is valid\" or the errors\n"
    "  --env-example  print a documented .env.example (generated from the table)\n"
    "  --markdown     print the README's configuration table",
    config_run};
