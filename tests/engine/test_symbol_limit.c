/* test_symbol_limit.c -- SYMBOLS may list up to ENGINE_MAX_SYMBOLS (32): the configuration check and the engine agree.
 *
 * bench/run trades 20 symbols; the limit was 16 in both places.
 */
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"
#include "unit.h"

/* "S00USDT,S01USDT,..." with n symbols. */
static void symbol_list(int n, char *out, size_t len) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < n && used < len; i++)
    used += (size_t)snprintf(out + used, len - used, "%sS%02dUSDT", i ? "," : "", i);
}

static bool report_has(const lb_cfg_report *rep, const char *needle) {
  for (int i = 0; i < rep->n_errors; i++)
    if (strstr(rep->errors[i], needle)) return true;
  return false;
}

TEST(symbols_up_to_the_engine_limit_are_accepted_by_the_check_and_the_engine) {
  char list[1024];
  symbol_list(ENGINE_MAX_SYMBOLS, list, sizeof list);
  lb_config c;
  lb_config_defaults(&c);
  lb_cfg_report rep;
  memset(&rep, 0, sizeof rep);
  REQUIRE_OK(lb_config_set(&c, "SYMBOLS", list, &rep));
  lb_config_check(&c, &rep);
  CHECK_EQ(rep.n_errors, 0);
  engine_params p;
  lb_errbuf eb;
  REQUIRE_OK(engine_params_from_config(&c, &p, &eb));
  CHECK_EQ(p.n_symbols, ENGINE_MAX_SYMBOLS);
  CHECK(ENGINE_MAX_SYMBOLS >= 20); /* bench/run: 20 symbols x 3 timeframes */
  CHECK_STREQ(p.symbols[ENGINE_MAX_SYMBOLS - 1], "S31USDT");
}

TEST(symbols_beyond_the_engine_limit_are_refused_naming_the_limit) {
  char list[1024];
  symbol_list(ENGINE_MAX_SYMBOLS + 1, list, sizeof list);
  lb_config c;
  lb_config_defaults(&c);
  lb_cfg_report rep;
  memset(&rep, 0, sizeof rep);
  REQUIRE_OK(lb_config_set(&c, "SYMBOLS", list, &rep));
  lb_config_check(&c, &rep);
  CHECK(report_has(&rep, "SYMBOLS lists 33 symbols (allowed: at most 32)"));
  engine_params p;
  lb_errbuf eb;
  CHECK_EQ(engine_params_from_config(&c, &p, &eb), LB_ECONFIG);
}
