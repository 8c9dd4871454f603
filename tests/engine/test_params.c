/* test_params.c -- the engine's parameters from the configuration table. */
#include "engine/engine.h"
#include "unit.h"

#define MIN LB_MS_MINUTE
#define HR LB_MS_HOUR

TEST(params_defaults_map_every_engine_variable) {
  lb_config c;
  lb_config_defaults(&c);
  engine_params p;
  lb_errbuf eb;
  REQUIRE_OK(engine_params_from_config(&c, &p, &eb));
  CHECK_EQ(p.n_symbols, 1);
  CHECK_STREQ(p.symbols[0], "BTCUSDT");
  REQUIRE_EQ(p.n_tf, 3);
  CHECK_EQ(p.timeframes[0], 15 * MIN);
  CHECK_EQ(p.timeframes[1], HR);
  CHECK_EQ(p.timeframes[2], 4 * HR);
  CHECK_EQ(p.consensus.min_agree, 2);
  CHECK(!p.consensus.allow_single);
  CHECK_NEAR(p.consensus.min_confidence, 0.80, 1e-12);
  CHECK_NEAR(p.slippage, 0.0002, 1e-12);
  CHECK_NEAR(p.liq_warn, 0.03, 1e-12);
  CHECK_NEAR(p.redflags.rsi_high, 80, 0);
  CHECK_NEAR(p.redflags.rsi_low, 20, 0);
  CHECK_NEAR(p.redflags.min_volume_ratio, 0.5, 0);
  CHECK(p.redflags.enabled);
  CHECK_EQ(p.initial_capital, LB_DEC_INT(100));
  CHECK_EQ(p.max_scan_age, 600 * LB_MS_SECOND); /* twice SCAN_INTERVAL_SECONDS */
  CHECK_EQ(p.risk.max_leverage, 3);
}

TEST(params_follow_the_configuration) {
  lb_config c;
  lb_config_defaults(&c);
  lb_cfg_report rep;
  memset(&rep, 0, sizeof rep);
  CHECK_OK(lb_config_set(&c, "SYMBOLS", "BTCUSDT,ETHUSDT", &rep));
  CHECK_OK(lb_config_set(&c, "ENTRY_TIMEFRAME", "5m", &rep));
  CHECK_OK(lb_config_set(&c, "SLIPPAGE_BPS", "5", &rep));
  CHECK_OK(lb_config_set(&c, "ALLOW_SINGLE_MODEL", "true", &rep));
  CHECK_OK(lb_config_set(&c, "REDFLAG_MIN_VOLUME_RATIO", "0.3", &rep));
  engine_params p;
  lb_errbuf eb;
  REQUIRE_OK(engine_params_from_config(&c, &p, &eb));
  CHECK_EQ(p.n_symbols, 2);
  CHECK_STREQ(p.symbols[1], "ETHUSDT");
  REQUIRE_EQ(p.n_tf, 4); /* 5m and the three above it */
  CHECK_EQ(p.timeframes[0], 5 * MIN);
  CHECK_NEAR(p.slippage, 0.0005, 1e-12);
  CHECK(p.consensus.allow_single);
  CHECK_NEAR(p.redflags.min_volume_ratio, 0.3, 0);
}

TEST(params_timeframes_entry_first_then_the_higher_ones) {
  lb_ms tf[4];
  int n = 0;
  lb_errbuf eb;
  REQUIRE_OK(engine_parse_timeframes("1h", "15m,4h,1h,1d", tf, &n, &eb));
  REQUIRE_EQ(n, 3); /* 15m is below the entry: dropped; 1h is the entry itself */
  CHECK_EQ(tf[0], HR);
  CHECK_EQ(tf[1], 4 * HR);
  CHECK_EQ(tf[2], LB_MS_DAY);
  CHECK_EQ(engine_parse_timeframes("15m", "1h,2h,4h,1d", tf, &n, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "gives 5 timeframes");
  CHECK_EQ(engine_parse_timeframes("15m", "1h,soon", tf, &n, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "\"soon\" is not a timeframe");
  CHECK_EQ(engine_parse_timeframes("7m", "1h", tf, &n, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "ENTRY_TIMEFRAME=7m");
  CHECK_EQ(engine_parse_timeframes("3m", "1h,5m", tf, &n, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "5m is not a multiple of ENTRY_TIMEFRAME=3m");
}
