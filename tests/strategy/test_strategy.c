/* test_strategy.c -- red flags and the technical analyst on constructed indicator views.
 *
 * Each view is built by hand with the numbers a rule looks at, so every
 * test shows one rule firing (or not) for a stated reason.
 */
#include <math.h>
#include <stdlib.h>

#include "strategy/strategy.h"
#include "unit.h"

/* A ready 15m view of a calm up-trend: nothing in it raises a flag. */
static ta_view calm(lb_ms tf) {
  ta_view v;
  memset(&v, 0, sizeof v);
  v.tf = tf;
  v.ts = 1000 * tf;
  v.bars = 1000;
  v.ready = true;
  v.open = 100;
  v.high = 101;
  v.low = 99;
  v.close = 100;
  v.volume = 120;
  v.volume_sma20 = 100;
  v.rsi14 = 60;
  v.macd = 0.5;
  v.macd_signal = 0.3;
  v.macd_hist = 0.2;
  v.atr14 = 1.0;
  v.natr14 = 1.0;
  v.adx14 = 30;
  v.plus_di14 = 28;
  v.minus_di14 = 12;
  v.ema20 = 99;
  v.ema50 = 97;
  v.ema200 = 90;
  v.regime = LB_REGIME_TRENDING;
  v.trend = 1;
  v.support = 97;
  v.resistance = 120;
  v.range_pos = (100.0 - 97) / (120 - 97);
  v.mid_range = false;
  v.swing_low = 97;
  v.swing_high = 104;
  v.div_macd = 0;
  v.div_rsi = 0;
  return v;
}

static ta_snapshot snap3(int t0, int t1, int t2) {
  ta_snapshot s;
  memset(&s, 0, sizeof s);
  snprintf(s.symbol, sizeof s.symbol, "BTCUSDT");
  s.n = 3;
  s.tf[0] = calm(15 * LB_MS_MINUTE);
  s.tf[1] = calm(LB_MS_HOUR);
  s.tf[2] = calm(4 * LB_MS_HOUR);
  s.tf[0].trend = t0;
  s.tf[1].trend = t1;
  s.tf[2].trend = t2;
  int tr[3] = {t0, t1, t2};
  s.confluence = ta_confluence(tr, 3, &s.n_agree, &s.n_up, &s.n_down);
  return s;
}

static strategy_redflag_params defaults(void) {
  strategy_redflag_params p;
  strategy_redflag_params_default(&p);
  return p;
}

static strategy_context ctx(void) {
  strategy_context c;
  memset(&c, 0, sizeof c);
  c.capital = LB_DEC_INT(100);
  c.mark_price = LB_DEC_INT(100);
  c.funding_rate = 0.0001;
  c.max_leverage = 3;
  c.min_stop = 0.07;
  c.max_stop = 0.08;
  c.max_risk_per_trade = 0.10;
  return c;
}

/* ==== Red flags ==== */

TEST(redflags_calm_trend_raises_nothing) {
  strategy_redflag_params p = defaults();
  ta_snapshot s = snap3(1, 1, 1);
  strategy_redflags f;
  CHECK(!strategy_redflags_check(&s, &p, &f));
  CHECK_EQ(f.mask, 0);
}

TEST(redflags_rsi_beyond_80_or_below_20_forces_hold) {
  strategy_redflag_params p = defaults();
  strategy_redflags f;
  ta_view v = calm(15 * LB_MS_MINUTE);
  v.rsi14 = 83;
  CHECK(strategy_redflags_view(&v, &p, &f));
  CHECK_EQ(f.first, STRATEGY_RF_RSI_HIGH);
  CHECK_CONTAINS(f.reason, "RSI(14) 83.0 > 80 on 15m");
  v.rsi14 = 80; /* the bound itself is allowed */
  CHECK(!strategy_redflags_view(&v, &p, &f));
  v.rsi14 = 15;
  CHECK(strategy_redflags_view(&v, &p, &f));
  CHECK_EQ(f.first, STRATEGY_RF_RSI_LOW);
  p.rsi_low = 10; /* configurable */
  CHECK(!strategy_redflags_view(&v, &p, &f));
}

TEST(redflags_volume_below_the_configured_fraction_of_its_average) {
  strategy_redflag_params p = defaults();
  strategy_redflags f;
  ta_view v = calm(15 * LB_MS_MINUTE);
  v.volume = 49; /* 0.49 x the 20-bar average of 100 */
  CHECK(strategy_redflags_view(&v, &p, &f));
  CHECK_EQ(f.first, STRATEGY_RF_LOW_VOLUME);
  v.volume = 51;
  CHECK(!strategy_redflags_view(&v, &p, &f));
  p.min_volume_ratio = 0.6;
  CHECK(strategy_redflags_view(&v, &p, &f));
}

TEST(redflags_mid_range_divergence_and_volatility) {
  strategy_redflag_params p = defaults();
  strategy_redflags f;
  ta_view v = calm(15 * LB_MS_MINUTE);
  v.mid_range = true;
  CHECK(strategy_redflags_view(&v, &p, &f));
  CHECK_EQ(f.first, STRATEGY_RF_MID_RANGE);
  v = calm(15 * LB_MS_MINUTE);
  v.div_macd = -1; /* bearish divergence in an up-trend */
  CHECK(strategy_redflags_view(&v, &p, &f));
  CHECK_EQ(f.first, STRATEGY_RF_DIVERGENCE);
  v.div_macd = 1; /* bullish in an up-trend: with the trend, no flag */
  CHECK(!strategy_redflags_view(&v, &p, &f));
  v = calm(15 * LB_MS_MINUTE);
  v.regime = LB_REGIME_VOLATILE;
  CHECK(strategy_redflags_view(&v, &p, &f));
  CHECK_EQ(f.first, STRATEGY_RF_VOLATILE);
}

TEST(redflags_record_every_flag_and_name_the_first) {
  strategy_redflag_params p = defaults();
  strategy_redflags f;
  ta_view v = calm(15 * LB_MS_MINUTE);
  v.rsi14 = 90;
  v.volume = 10;
  v.regime = LB_REGIME_VOLATILE;
  CHECK(strategy_redflags_view(&v, &p, &f));
  CHECK_EQ(f.first, STRATEGY_RF_RSI_HIGH);
  CHECK_EQ(f.mask, (1u << STRATEGY_RF_RSI_HIGH) | (1u << STRATEGY_RF_LOW_VOLUME) |
                       (1u << STRATEGY_RF_VOLATILE));
  CHECK_CONTAINS(f.reason, "volatile");
}

TEST(redflags_timeframes_disagreeing_on_trend) {
  strategy_redflag_params p = defaults();
  strategy_redflags f;
  ta_snapshot s = snap3(1, -1, 1);
  CHECK(strategy_redflags_check(&s, &p, &f));
  CHECK_EQ(f.first, STRATEGY_RF_TF_DISAGREE);
  CHECK_CONTAINS(f.reason, "15m up, 1h down, 4h up");
  s = snap3(-1, -1, -1);
  s.tf[0].rsi14 = 40;
  CHECK(!strategy_redflags_check(&s, &p, &f)); /* all down: agreement */
}

TEST(redflags_warm_up_on_any_timeframe_comes_first) {
  strategy_redflag_params p = defaults();
  strategy_redflags f;
  ta_snapshot s = snap3(1, 1, 0);
  s.tf[2].ready = false;
  s.tf[2].bars = 12;
  CHECK(strategy_redflags_check(&s, &p, &f));
  CHECK_EQ(f.first, STRATEGY_RF_WARMUP);
  CHECK_CONTAINS(f.reason, "4h (12 bars)");
}

TEST(redflags_off_never_flag) {
  strategy_redflag_params p = defaults();
  p.enabled = false;
  strategy_redflags f;
  ta_snapshot s = snap3(1, -1, 0);
  s.tf[0].rsi14 = 99;
  CHECK(!strategy_redflags_check(&s, &p, &f));
}

TEST(redflags_divergence_against_the_chosen_side) {
  ta_view v = calm(15 * LB_MS_MINUTE);
  char why[128];
  v.div_macd = -1;
  CHECK(strategy_redflags_against(&v, LB_ACTION_LONG, why, sizeof why));
  CHECK_CONTAINS(why, "bearish MACD divergence against the LONG");
  CHECK(!strategy_redflags_against(&v, LB_ACTION_SHORT, why, sizeof why));
  CHECK(!strategy_redflags_against(&v, LB_ACTION_HOLD, why, sizeof why));
}

TEST(redflag_params_out_of_range_are_refused_by_name) {
  strategy_redflag_params p = defaults();
  lb_errbuf eb;
  CHECK_OK(strategy_redflag_params_check(&p, &eb));
  p.rsi_high = 40;
  CHECK_EQ(strategy_redflag_params_check(&p, &eb), LB_ERANGE);
  CHECK_CONTAINS(eb.msg, "rsi_high 40");
  p = defaults();
  p.min_volume_ratio = NAN;
  CHECK_EQ(strategy_redflag_params_check(&p, &eb), LB_ERANGE);
}

/* ==== Technical analyst ==== */

static lb_decision decide(const ta_snapshot *s) {
  strategy_technical_params p;
  strategy_technical_params_default(&p);
  strategy_context c = ctx();
  lb_decision d;
  strategy_technical_decide(s, &c, &p, &d);
  /* every answer is a valid decision in the LLM schema */
  lb_decision_limits lim = {c.max_leverage, c.min_stop, c.max_stop};
  lb_errbuf eb;
  if (lb_decision_check(&d, &lim, &eb) != LB_OK) lbt_fail(__FILE__, __LINE__, "invalid: %s", eb.msg);
  return d;
}

TEST(technical_long_in_a_confirmed_up_trend) {
  ta_snapshot s = snap3(1, 1, 1);
  lb_decision d = decide(&s);
  CHECK_EQ(d.action, LB_ACTION_LONG);
  /* 6 of 7: ADX, volume, MACD, RSI 60, room (20 % to resistance 120 >=
   * 2 x 7 %), close above EMA200; no divergence -> 0.60 + 6 x 0.05 */
  CHECK_NEAR(d.confidence, 0.90, 1e-9);
  CHECK_EQ(d.leverage, 3); /* 5 for a strong trend, capped by MAX_LEVERAGE */
  CHECK_NEAR(d.stop_loss_percent, 0.07, 1e-12); /* swing 3 % + 0.3 % -> clamped up to 7 % */
  CHECK_NEAR(d.take_profit_percent, 0.14, 1e-12);
  CHECK_EQ(d.regime, LB_REGIME_TRENDING);
  CHECK_CONTAINS(d.reasoning, "6 of 7 confirmations");
  CHECK_CONTAINS(d.reasoning, "RSI 60.0");
}

TEST(technical_short_mirrors_the_long) {
  ta_snapshot s = snap3(-1, -1, -1);
  for (int i = 0; i < 3; i++) {
    ta_view *v = &s.tf[i];
    v->plus_di14 = 12;
    v->minus_di14 = 28;
    v->macd = -0.5;
    v->macd_signal = -0.3;
    v->macd_hist = -0.2;
    v->rsi14 = 40;
    v->ema200 = 110;
    v->support = 80;
    v->resistance = 103;
    v->swing_high = 103;
  }
  lb_decision d = decide(&s);
  CHECK_EQ(d.action, LB_ACTION_SHORT);
  CHECK_NEAR(d.confidence, 0.90, 1e-9);
}

TEST(technical_holds_a_trend_without_momentum) {
  ta_snapshot s = snap3(1, 1, 1);
  s.tf[0].macd_hist = -0.1;
  lb_decision d = decide(&s);
  CHECK_EQ(d.action, LB_ACTION_HOLD);
  CHECK_CONTAINS(d.reasoning, "trend without momentum");
  CHECK_NEAR(d.confidence, 0.85, 1e-9); /* still reported */
}

TEST(technical_needs_room_in_a_ranging_market) {
  ta_snapshot s = snap3(1, 1, 1);
  s.tf[0].regime = LB_REGIME_RANGING;
  s.tf[0].resistance = 105; /* 5 % away, less than 2 x the 7 % stop */
  lb_decision d = decide(&s);
  CHECK_EQ(d.action, LB_ACTION_HOLD);
  CHECK_CONTAINS(d.reasoning, "ranging market without room");
  s.tf[0].resistance = 130;
  d = decide(&s);
  CHECK_EQ(d.action, LB_ACTION_LONG);
  CHECK_EQ(d.leverage, 3);
  CHECK_EQ(d.regime, LB_REGIME_RANGING);
}

TEST(technical_weak_setup_is_a_hold_below_075) {
  ta_snapshot s = snap3(1, 1, 1);
  ta_view *v = &s.tf[0];
  v->volume = 50;                 /* below average */
  v->rsi14 = 75;                  /* outside 50..70 */
  v->resistance = 105;            /* no room */
  s.tf[2].adx14 = 15;             /* weak higher trend */
  v->ema200 = 120;                /* below the slow EMA */
  lb_decision d = decide(&s);     /* momentum only: 1 of 7 */
  CHECK_EQ(d.action, LB_ACTION_HOLD);
  CHECK_NEAR(d.confidence, 0.65, 1e-9);
  CHECK_CONTAINS(d.reasoning, "weak setup");
}

TEST(technical_holds_when_timeframes_disagree_or_market_is_volatile) {
  ta_snapshot s = snap3(1, 0, 1);
  CHECK_EQ(decide(&s).action, LB_ACTION_HOLD);
  s = snap3(1, 1, 1);
  s.tf[0].regime = LB_REGIME_VOLATILE;
  lb_decision d = decide(&s);
  CHECK_EQ(d.action, LB_ACTION_HOLD);
  CHECK_EQ(d.regime, LB_REGIME_VOLATILE);
  s = snap3(1, 1, 1);
  s.tf[0].ready = false;
  CHECK_EQ(decide(&s).action, LB_ACTION_HOLD);
}

TEST(technical_is_deterministic_and_speaks_the_llm_json_schema) {
  ta_snapshot s = snap3(1, 1, 1);
  lb_decision a = decide(&s), b = decide(&s);
  CHECK(memcmp(&a, &b, sizeof a) == 0);
  char *json = lb_decision_to_json(&a);
  REQUIRE(json);
  lb_decision_limits lim = {3, 0.07, 0.08};
  lb_decision back;
  lb_errbuf eb;
  CHECK_OK(lb_decision_from_json(json, strlen(json), &lim, &back, &eb));
  CHECK_EQ(back.action, a.action);
  CHECK_NEAR(back.confidence, a.confidence, 1e-12);
  CHECK_EQ(back.leverage, a.leverage);
  free(json);
}

TEST(technical_panel_answers_one_valid_vote) {
  strategy_panel *panel = NULL;
  lb_errbuf eb;
  REQUIRE_OK(strategy_technical_panel_new(NULL, &panel, &eb));
  CHECK_STREQ(panel->name, "technical");
  ta_snapshot s = snap3(1, 1, 1);
  strategy_context c = ctx();
  strategy_vote votes[STRATEGY_MAX_VOTERS];
  CHECK_EQ(panel->ask(panel, &s, &c, votes, STRATEGY_MAX_VOTERS), 1);
  CHECK(votes[0].ok);
  CHECK_STREQ(votes[0].analyst, "technical");
  CHECK_EQ(votes[0].decision.action, LB_ACTION_LONG);
  strategy_consensus_rules rules = {.min_agree = 2, .allow_single = true, .min_confidence = 0.80};
  strategy_consensus out;
  strategy_consensus_decide(votes, 1, &rules, &out);
  CHECK_EQ(out.decision.action, LB_ACTION_LONG);
  panel->destroy(panel);
}
