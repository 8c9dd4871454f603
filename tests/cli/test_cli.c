/* test_cli.c -- the `levbot` command as a user runs it: help, usage errors,
 * configuration errors, masking, generated documentation kept fresh. */
#include <stdlib.h>

#include "core/buf.h"
#include "unit.h"

/* Runs levbot in an empty directory with a clean environment plus `env`. */
static int levbot(const char *env, const char *args, char **out) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "cd '%s' && env -i PATH=/usr/bin:/bin %s '%s' %s", lbt_tmpdir(),
           env ? env : "", lbt_binary_path("levbot"), args);
  return lbt_run(cmd, out);
}

TEST(cli_help_lists_every_command_and_exit_code) {
  char *out;
  CHECK_EQ(levbot(NULL, "--help", &out), 0);
  const char *cmds[] = {"run", "backtest", "indicators", "setup-db", "status", "report", "config",
                        "ai-stats", "healthcheck", "version"};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) CHECK_CONTAINS(out, cmds[i]);
  CHECK_CONTAINS(out, "3 invalid config");
  CHECK_CONTAINS(out, "Paper-trade first");
  free(out);
}

TEST(cli_every_command_has_help) {
  const char *cmds[] = {"run", "backtest", "indicators", "setup-db", "status", "report", "config",
                        "ai-stats", "healthcheck", "download-data", "optimize", "version"};
  for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
    char args[64], *out;
    snprintf(args, sizeof args, "%s --help", cmds[i]);
    CHECK_EQ(levbot(NULL, args, &out), 0);
    CHECK_CONTAINS(out, "Usage: levbot ");
    CHECK_CONTAINS(out, "--env-file");
    free(out);
  }
}

TEST(cli_unknown_command_and_option_are_one_clear_line) {
  char *out;
  CHECK_EQ(levbot(NULL, "frobnicate", &out), 2);
  CHECK_STREQ(out, "levbot: unknown command 'frobnicate' (levbot --help lists the commands)\n");
  free(out);
  CHECK_EQ(levbot(NULL, "config --frob", &out), 2);
  CHECK_CONTAINS(out, "unknown option --frob");
  free(out);
  CHECK_EQ(levbot(NULL, "config --log-level", &out), 2);
  CHECK_CONTAINS(out, "needs a value");
  free(out);
  CHECK_EQ(levbot(NULL, "config --log-format xml", &out), 2);
  CHECK_CONTAINS(out, "--log-format xml is not one of human, json");
  free(out);
  CHECK_EQ(levbot(NULL, "", &out), 2);
  free(out);
}

TEST(cli_invalid_configuration_lists_every_error_and_exits_3) {
  char *out;
  CHECK_EQ(levbot("MAX_LEVERAGE=25 MIN_AI_CONFIDENCE=0.6 USE_PAPER_TRADING=sometimes", "config", &out), 3);
  CHECK_CONTAINS(out, "invalid configuration (3 errors)");
  CHECK_CONTAINS(out, "MAX_LEVERAGE=25 is out of range (allowed: integer 1..10)");
  CHECK_CONTAINS(out, "MIN_AI_CONFIDENCE=0.6 is out of range (allowed: 0.75..1)");
  CHECK_CONTAINS(out, "USE_PAPER_TRADING=sometimes is not a boolean");
  free(out);
}

TEST(cli_env_file_option_and_environment_precedence) {
  char path[512];
  snprintf(path, sizeof path, "%s/custom.env", lbt_tmpdir());
  FILE *f = fopen(path, "w");
  REQUIRE(f);
  fputs("MAX_LEVERAGE=4\nSCAN_INTERVAL_SECONDS=60\n", f);
  fclose(f);
  char args[640], *out;
  snprintf(args, sizeof args, "--env-file '%s' config", path);
  CHECK_EQ(levbot("SCAN_INTERVAL_SECONDS=120", args, &out), 0);
  CHECK_CONTAINS(out, "MAX_LEVERAGE=4  # env file");
  CHECK_CONTAINS(out, "SCAN_INTERVAL_SECONDS=120  # environment");
  free(out);
  CHECK_EQ(levbot(NULL, "config --env-file /nonexistent.env", &out), 3);
  CHECK_CONTAINS(out, "/nonexistent.env does not exist");
  free(out);
}

TEST(cli_config_masks_secrets) {
  char *out;
  CHECK_EQ(levbot("BINANCE_API_SECRET=NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j "
                  "TELEGRAM_BOT_TOKEN=123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11 TELEGRAM_CHAT_ID=42",
                  "config", &out), 0);
  CHECK_CONTAINS(out, "BINANCE_API_SECRET=****Tj0j");
  CHECK_NOT_CONTAINS(out, "NhqPtmdSJYdKjVHjA7PZj4Mge3R5");
  CHECK_CONTAINS(out, "TELEGRAM_BOT_TOKEN=****ew11");
  CHECK_NOT_CONTAINS(out, "ABC-DEF1234ghIkl");
  free(out);
}

/* .env.example and the README table are generated from the configuration
 * table (make docs); a stale copy is a failure, so they never disagree. */
TEST(cli_generated_docs_are_up_to_date) {
  char *gen;
  REQUIRE_EQ(levbot(NULL, "config --env-example", &gen), 0);
  lb_buf file;
  lb_buf_init(&file);
  lb_errbuf eb;
  REQUIRE_OK(lb_buf_read_file(&file, lbt_source_path(".env.example"), 0, &eb));
  if (strcmp(gen, file.data) != 0)
    lbt_fail(__FILE__, __LINE__, ".env.example is stale: run `make docs`");
  free(gen);
  lb_buf_free(&file);

  REQUIRE_EQ(levbot(NULL, "config --markdown", &gen), 0);
  lb_buf readme;
  lb_buf_init(&readme);
  REQUIRE_OK(lb_buf_read_file(&readme, lbt_source_path("README.md"), 0, &eb));
  const char *b = strstr(readme.data, "<!-- config-table:begin -->\n");
  const char *e = strstr(readme.data, "<!-- config-table:end -->");
  REQUIRE(b && e && e > b);
  b += strlen("<!-- config-table:begin -->\n");
  if ((size_t)(e - b) != strlen(gen) || strncmp(b, gen, (size_t)(e - b)) != 0)
    lbt_fail(__FILE__, __LINE__, "README.md configuration table is stale: run `make docs`");
  free(gen);
  lb_buf_free(&readme);
}

TEST(cli_version_names_the_libraries) {
  char *out;
  CHECK_EQ(levbot(NULL, "version", &out), 0);
  CHECK_CONTAINS(out, "levbot ");
  CHECK_CONTAINS(out, "libcurl");
  CHECK_CONTAINS(out, "sqlite");
  free(out);
}
