/* test_cli.c -- the risk settings as a user meets them: `levbot config`
 * shows them and `levbot config --check` refuses inconsistent ones, naming
 * the variables (exit code 3).  Skips when the levbot binary has not been
 * built (the full build, `make check`, always builds it). */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"

/* Runs levbot in an empty directory with a clean environment plus `env`;
 * stdout and stderr go to out.  Returns the exit code. */
static int levbot(const char *env, const char *args, char *out, size_t n) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "cd '%s' && env -i PATH=/usr/bin:/bin %s '%s' %s 2>&1", lbt_tmpdir(),
           env, lbt_binary_path("levbot"), args);
  FILE *p = popen(cmd, "r");
  if (!p) return -1;
  size_t k = fread(out, 1, n - 1, p);
  out[k] = '\0';
  int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void need_binary(void) {
  if (access(lbt_binary_path("levbot"), X_OK) != 0)
    SKIP("levbot is not built (build the levbot target to run this test)");
}

TEST(cli_config_check_refuses_inconsistent_risk_settings) {
  need_binary();
  static char out[16384];
  int rc = levbot("TAKE_PROFIT_RISK_REWARD=1.2 MIN_RISK_REWARD=1.5 STOP_LOSS_MODE=trailing "
                  "MAX_DRAWDOWN_PERCENT=0",
                  "config --check", out, sizeof out);
  CHECK_EQ(rc, 3);
  CHECK_CONTAINS(out, "TAKE_PROFIT_RISK_REWARD=1.2 is below MIN_RISK_REWARD=1.5");
  CHECK_CONTAINS(out, "STOP_LOSS_MODE=trailing is not an allowed value (allowed: one of fixed, "
                      "swing, atr)");
  CHECK_CONTAINS(out, "MAX_DRAWDOWN_PERCENT=0 is out of range");
}

TEST(cli_config_shows_the_risk_settings_of_the_seed_sets) {
  need_binary();
  static char out[65536];
  CHECK_EQ(levbot("INITIAL_CAPITAL=500.00 MAX_LEVERAGE=5 MIN_STOP_LOSS_PERCENT=0.05 "
                  "MAX_STOP_LOSS_PERCENT=0.10 MIN_PROFIT_USD=5.00 MIN_AI_CONFIDENCE=0.75",
                  "config --check", out, sizeof out),
           0);
  CHECK_CONTAINS(out, "configuration is valid");
  CHECK_EQ(levbot("STOP_LOSS_MODE=atr", "config", out, sizeof out), 0);
  CHECK_CONTAINS(out, "STOP_LOSS_MODE=atr");
  CHECK_CONTAINS(out, "DAILY_LOSS_LIMIT_PERCENT=0.15");
  CHECK_CONTAINS(out, "MAX_OPEN_POSITIONS=1");
  CHECK_CONTAINS(out, "LIQUIDATION_BUFFER_PERCENT=0.02");
}
