/* test_grid.c -- the grid of `levbot optimize`: parsing, order of combinations, and refusal of
 * every value or combination the configuration table would refuse. */
#include <stdlib.h>

#include "engine/optimize.h"
#include "unit.h"

static lb_config *base(void) {
  static lb_config c;
  lb_config_defaults(&c);
  return &c;
}

static engine_opt_grid *grid_new(void) {
  engine_opt_grid *g = calloc(1, sizeof *g);
  REQUIRE(g);
  return g;
}

TEST(grid_expands_in_grid_order_with_the_last_variable_fastest) {
  engine_opt_grid *g = grid_new();
  lb_errbuf eb = {{0}};
  REQUIRE_OK(engine_opt_grid_parse(" STOP_LOSS_MODE = fixed, swing ,atr ; TAKE_PROFIT_RISK_REWARD=1.5,2;", base(), g, &eb));
  REQUIRE_EQ(g->n_dims, 2);
  CHECK_EQ(g->n_combos, 6);
  CHECK_STREQ(g->dim[0].var->name, "STOP_LOSS_MODE");
  CHECK_STREQ(g->dim[0].value[1], "swing");
  CHECK_STREQ(g->dim[1].value[0], "1.5");
  const char *want[] = {"STOP_LOSS_MODE=fixed TAKE_PROFIT_RISK_REWARD=1.5", "STOP_LOSS_MODE=fixed TAKE_PROFIT_RISK_REWARD=2",
                        "STOP_LOSS_MODE=swing TAKE_PROFIT_RISK_REWARD=1.5", "STOP_LOSS_MODE=swing TAKE_PROFIT_RISK_REWARD=2",
                        "STOP_LOSS_MODE=atr TAKE_PROFIT_RISK_REWARD=1.5",   "STOP_LOSS_MODE=atr TAKE_PROFIT_RISK_REWARD=2"};
  for (size_t k = 0; k < 6; k++) {
    char d[256];
    engine_opt_describe(g, k, d, sizeof d);
    CHECK_STREQ(d, want[k]);
  }
  free(g);
}

TEST(grid_combination_is_the_base_configuration_with_its_values_set) {
  engine_opt_grid *g = grid_new();
  lb_errbuf eb = {{0}};
  lb_config *b = base();
  b->max_leverage = 5; /* something from the user's environment, not in the grid */
  REQUIRE_OK(engine_opt_grid_parse("STOP_LOSS_MODE=fixed,ATR;TAKE_PROFIT_RISK_REWARD=1.5,3;TRAILING_STOP_ENABLED=no", b, g, &eb));
  lb_config *c = malloc(sizeof *c);
  REQUIRE(c);
  REQUIRE_OK(engine_opt_config(g, 3, b, c, &eb)); /* ATR, 3, no */
  CHECK_STREQ(c->stop_loss_mode, "atr");
  CHECK(c->take_profit_risk_reward == 3.0);
  CHECK(!c->trailing_stop_enabled);
  CHECK_EQ(c->max_leverage, 5);
  REQUIRE_OK(engine_opt_config(g, 0, b, c, &eb));
  CHECK_STREQ(c->stop_loss_mode, "fixed");
  CHECK(c->take_profit_risk_reward == 1.5);
  free(c);
  free(g);
}

TEST(grid_refuses_with_a_message_naming_the_variable_and_the_allowed_range) {
  struct {
    const char *grid, *msg;
  } cases[] = {
      {"TAKE_PROFIT_RISK_REWARD=2,25", "TAKE_PROFIT_RISK_REWARD=25 is out of range (allowed: 0.5..20)"},
      {"MAX_LEVERAGE=2,11", "MAX_LEVERAGE=11 is out of range (allowed: integer 1..10)"},
      {"MAX_LEVERAGE=2.5", "MAX_LEVERAGE=2.5 is not an integer"},
      {"STOP_LOSS_MODE=fixed,wide", "STOP_LOSS_MODE=wide is not an allowed value (allowed: one of fixed, swing, atr)"},
      {"TRAILING_STOP_ENABLED=maybe", "TRAILING_STOP_ENABLED=maybe is not a boolean"},
      {"STOP_LOSS_MOD=fixed", "STOP_LOSS_MOD is not a levbot variable"},
      {"BINANCE_API_SECRET=a,b", "BINANCE_API_SECRET is a secret"},
      {"STOP_LOSS_MODE=fixed;STOP_LOSS_MODE=atr", "STOP_LOSS_MODE is listed twice"},
      {"STOP_LOSS_MODE=fixed,,atr", "STOP_LOSS_MODE has an empty value"},
      {"TAKE_PROFIT_RISK_REWARD=2,2.0", "lists one value twice (2 and 2.0)"},
      {"STOP_LOSS_MODE=atr,ATR", "lists one value twice (atr and ATR)"},
      {"STOP_LOSS_MODE", "'STOP_LOSS_MODE' is not NAME=value"},
      {" ; ", "--grid is empty"},
      /* 0.09 > MAX_STOP_LOSS_PERCENT's 0.08: a cross-variable rule, named with the combination. */
      {"MIN_STOP_LOSS_PERCENT=0.05,0.09;MAX_STOP_LOSS_PERCENT=0.08",
       "the combination MIN_STOP_LOSS_PERCENT=0.09 MAX_STOP_LOSS_PERCENT=0.08 is invalid"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    engine_opt_grid *g = grid_new();
    lb_errbuf eb = {{0}};
    CHECK_EQ(engine_opt_grid_parse(cases[i].grid, base(), g, &eb), LB_EINVAL);
    CHECK_CONTAINS(eb.msg, cases[i].msg);
    CHECK_EQ(g->n_combos, 0);
    free(g);
  }
}

TEST(grid_refuses_more_than_a_thousand_combinations) {
  engine_opt_grid *g = grid_new();
  lb_errbuf eb = {{0}};
  /* 11 x 10 x 10 = 1100 */
  const char *big = "MAX_LEVERAGE=1,2,3,4,5,6,7,8,9,10;TAKE_PROFIT_RISK_REWARD=1,2,3,4,5,6,7,8,9,10;"
                    "ATR_STOP_MULTIPLE=1,2,3,4,5,6,7,8,9,10,11";
  CHECK_EQ(engine_opt_grid_parse(big, base(), g, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "--grid has 1100 combinations, more than 1000");
  /* 1000 exactly is fine. */
  REQUIRE_OK(engine_opt_grid_parse("MAX_LEVERAGE=1,2,3,4,5,6,7,8,9,10;TAKE_PROFIT_RISK_REWARD=2,3,4,5,6,7,8,9,10,11;"
                                   "ATR_STOP_MULTIPLE=1,2,3,4,5,6,7,8,9,10", base(), g, &eb));
  CHECK_EQ(g->n_combos, 1000);
  free(g);
}

TEST(metric_names_parse_and_read_the_reports_figures) {
  engine_opt_metric m;
  CHECK_OK(engine_opt_metric_parse("profit_factor", &m));
  CHECK_EQ(m, ENGINE_OPT_PROFIT_FACTOR);
  CHECK_OK(engine_opt_metric_parse("calmar", &m));
  CHECK_EQ(m, ENGINE_OPT_CALMAR);
  CHECK_EQ(engine_opt_metric_parse("sortino", &m), LB_EINVAL);
  CHECK_STREQ(engine_opt_metric_name(ENGINE_OPT_TOTAL_PROFIT), "total_profit");
  engine_stats s;
  memset(&s, 0, sizeof s);
  s.profit_factor = 1.25;
  s.sharpe = -0.5;
  s.calmar = 3;
  s.initial = LB_DEC_INT(100);
  s.final_capital = LB_DEC_INT(9050) / 100;
  CHECK(engine_opt_metric_value(&s, ENGINE_OPT_PROFIT_FACTOR) == 1.25);
  CHECK(engine_opt_metric_value(&s, ENGINE_OPT_SHARPE) == -0.5);
  CHECK(engine_opt_metric_value(&s, ENGINE_OPT_CALMAR) == 3);
  CHECK_NEAR(engine_opt_metric_value(&s, ENGINE_OPT_TOTAL_PROFIT), -9.5, 1e-12);
}
