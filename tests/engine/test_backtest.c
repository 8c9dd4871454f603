/* test_backtest.c -- whole backtests on real data, through the same setup `levbot backtest` uses.
 *
 * Every run here is checked the same way (check_run):
 *   - the ledger reconciles exactly: final capital - initial capital ==
 *     sum over trades of realized PnL - fees + funding (closed trades plus
 *     the one left open), == the simulator's wallet, == the simulator's
 *     own sums;
 *   - each closed trade's realized PnL and fees are recomputed from its
 *     fill prices, independently of the engine and the sim (to the unit,
 *     up to two units where the recorded prices are averages of 8-decimal
 *     quantities);
 *   - a stop exit that did not gap loses at most the plan's loss at the
 *     stop (fees and the stop's slippage included; funding is not bounded
 *     in advance: docs/risk.md);
 *   - every entry's risk plan passes risk_plan_check again (the
 *     invariants of the risk issue), with the capital of that moment;
 *   - no liquidation.
 */
#include <math.h>
#include <stdlib.h>

#include "engine/backtest.h"
#include "engine/report.h"
#include "unit.h"

typedef struct {
  int entries, plan_failures;
  char why[256];
  risk_params risk;
} plan_audit;

static void audit_scan(void *ctx, const engine_scan *s) {
  plan_audit *a = ctx;
  if (s->outcome != ENGINE_SCAN_ENTERED) return;
  a->entries++;
  lb_symbol_rules rules;
  lb_bracket_table br;
  if (strcmp(s->symbol, "BTCUSDT") == 0) {
    lb_rules_binance_btcusdt(&rules);
    lb_brackets_binance_btcusdt(&br);
  } else if (strcmp(s->symbol, "ETHUSDT") == 0) {
    lb_rules_binance_ethusdt(&rules);
    lb_brackets_binance_ethusdt(&br);
  } else {
    lb_rules_generic(&rules, s->symbol);
    lb_brackets_binance_btcusdt(&br);
  }
  lb_errbuf eb = {{0}};
  risk_refusal rf = risk_plan_check(&s->plan, s->ctx.capital, &s->consensus.decision, &s->market,
                                    &rules, &br, &a->risk, &eb);
  if (rf != RISK_OK) {
    a->plan_failures++;
    snprintf(a->why, sizeof a->why, "%s: %.200s", risk_refusal_name(rf), eb.msg);
  }
  /* the headline invariants, restated from the plan's own numbers */
  lb_dec budget = 0;
  lb_dec_from_double(a->risk.max_risk_per_trade * lb_dec_to_double(s->ctx.capital), &budget);
  if (s->plan.loss_at_stop > budget + 1) a->plan_failures++;
  bool is_long = s->plan.side == LB_ACTION_LONG;
  if (s->plan.liquidation > 0 && (is_long ? s->plan.stop <= s->plan.liquidation : s->plan.stop >= s->plan.liquidation))
    a->plan_failures++;
}

static lb_dec fee_of(lb_dec price, lb_dec qty, lb_dec rate) {
  lb_dec n = 0, f = 0;
  lb_dec_mul(price, qty, LB_ROUND_HALF_EVEN, &n);
  lb_dec_mul(n, rate, LB_ROUND_HALF_EVEN, &f);
  return f;
}

/* entry_price and exit_price are averages, notional / qty rounded to 1e-8:
 * with a quantity finer than 1e-4 (symbols on generic rules have 8-decimal
 * steps) that rounding moves a recomputation from them by up to a unit on
 * each leg.  With BTCUSDT's and ETHUSDT's 0.001 step it is exact. */
static void check_close(lb_dec got, lb_dec want, lb_dec qty) {
  lb_dec slack = qty % 10000 != 0 ? 2 : 0;
  if (got < want - slack || got > want + slack)
    lbt_fail(__FILE__, __LINE__, "%lld != %lld (slack %lld units)", (long long)got,
             (long long)want, (long long)slack);
}

static void check_run(const engine_replay_setup *s, const engine_report *r, const engine_replay_result *res,
                      const plan_audit *a) {
  lb_dec sum = 0;
  size_t n = engine_report_trade_count(r);
  for (size_t i = 0; i < n; i++) {
    const engine_trade *t = engine_report_trade(r, i);
    sum += engine_trade_net(t);
    lb_dec move = 0;
    REQUIRE_OK(lb_dec_mul(t->exit_price - t->entry_price, t->qty, LB_ROUND_HALF_EVEN, &move));
    if (t->exit_reason != ENGINE_EXIT_LIQUIDATION)
      check_close(t->realized_pnl, t->side == LB_ACTION_LONG ? move : -move, t->qty);
    check_close(t->fees, fee_of(t->entry_price, t->qty, s->params.sim.taker_fee) +
                             fee_of(t->exit_price, t->qty, s->params.sim.taker_fee), t->qty);
    if (t->exit_reason == ENGINE_EXIT_STOP && !t->gap_exit && t->fees - t->realized_pnl > t->loss_at_stop)
      lbt_fail(__FILE__, __LINE__, "trade %ld (%s): stop loss %lld + fees %lld above the plan's loss at the "
               "stop %lld", t->id, t->symbol, (long long)-t->realized_pnl, (long long)t->fees,
               (long long)t->loss_at_stop);
    CHECK(t->exit_time >= t->entry_time);
  }
  const engine_trade *open = NULL;
  if (engine_report_open_trades(r, &open, NULL, NULL)) sum += engine_trade_net(open);
  const engine_ledger *l = &res->ledger;
  CHECK_EQ(l->capital - l->initial, sum);
  CHECK_EQ(l->capital, l->initial + l->realized - l->fees + l->funding);
  CHECK_EQ(l->capital, res->sim_wallet);
  CHECK_EQ(res->sim.realized_pnl - res->sim.fees + res->sim.funding, l->capital - l->initial);
  CHECK_EQ(res->sim.liquidations, 0);
  CHECK_EQ(res->counters.liquidations, 0);
  CHECK_EQ(a->entries, (int)res->counters.entries);
  if (a->plan_failures) lbt_fail(__FILE__, __LINE__, "risk plan check: %s", a->why);
  CHECK_EQ(a->plan_failures, 0);
}

static lb_err load(engine_replay_setup *s, const char *const *files, int n, const char *funding,
                   lb_config *cfg, lb_errbuf *eb) {
  engine_replay_files f;
  memset(&f, 0, sizeof f);
  for (int i = 0; i < n; i++) f.data[f.n_data++] = files[i];
  if (funding) f.funding[f.n_funding++] = funding;
  return engine_replay_setup_load(s, &f, cfg, eb);
}

/* One backtest with the default configuration (plus `set`), audited. */
static void backtest(const char *const *files, int n, const char *funding, const char *set[][2],
                     engine_replay_result *res, engine_report **report_out) {
  lb_config cfg;
  lb_config_defaults(&cfg);
  lb_cfg_report rep;
  memset(&rep, 0, sizeof rep);
  for (int i = 0; set && set[i][0]; i++) REQUIRE_OK(lb_config_set(&cfg, set[i][0], set[i][1], &rep));
  engine_replay_setup *s = calloc(1, sizeof *s);
  REQUIRE(s);
  lb_errbuf eb = {{0}};
  lb_err rc = load(s, files, n, funding, &cfg, &eb);
  if (rc) {
    free(s);
    lbt_fail(__FILE__, __LINE__, "setup: %s", eb.msg);
    lbt_abort_test();
  }
  engine_report_info info;
  memset(&info, 0, sizeof info);
  info.initial_capital = cfg.initial_capital;
  engine_report *r = NULL;
  REQUIRE_OK(engine_report_new(&info, &r, &eb));
  plan_audit a;
  memset(&a, 0, sizeof a);
  a.risk = s->params.engine.risk;
  engine_observer obs = {.ctx = &a, .on_scan = audit_scan};
  s->params.report = r;
  s->params.obs = &obs;
  rc = engine_replay_run(&s->params, res, &eb);
  if (rc) lbt_fail(__FILE__, __LINE__, "run: %s", eb.msg);
  check_run(s, r, res, &a);
  engine_replay_setup_close(s);
  free(s);
  if (report_out) *report_out = r;
  else engine_report_free(r);
}

static const char *bundled(const char *name) {
  static char buf[4][512];
  static int slot;
  char *b = buf[slot++ % 4];
  snprintf(b, 512, "%s", lbt_source_path(name));
  return b;
}

TEST(backtest_bundled_month_reconciles_and_keeps_risk_invariants) {
  const char *files[] = {bundled("data/binance-um/BTCUSDT-5m-2022-04.csv")};
  engine_replay_result res;
  backtest(files, 1, NULL, NULL, &res, NULL);
  CHECK_EQ(res.candles, 8640);
  CHECK(res.counters.entries >= 1); /* the month has setups: the test exercises trades */
}

TEST(backtest_joins_daily_files_and_runs_them_in_order) {
  const char *files[] = {bundled("data/binance-um/BTCUSDT-1m-2022-05-06.csv"),
                         bundled("data/binance-um/BTCUSDT-1m-2022-05-04.csv"),
                         bundled("data/binance-um/BTCUSDT-1m-2022-05-05.csv")};
  const char *set[][2] = {{"TIMEFRAMES", "15m,1h"}, {NULL, NULL}};
  engine_replay_result res;
  backtest(files, 3, NULL, set, &res, NULL);
  CHECK_EQ(res.candles, 3 * 1440);
  CHECK_EQ(res.first, 1651622400000); /* 2022-05-04 00:00 */
  CHECK_EQ(res.last, 1651881600000);  /* 2022-05-07 00:00 */
}

TEST(backtest_gives_byte_identical_json_for_the_same_inputs) {
  const char *files[] = {bundled("data/binance-um/BTCUSDT-5m-2022-04.csv")};
  char *text[2] = {NULL, NULL};
  for (int k = 0; k < 2; k++) {
    engine_replay_result res;
    engine_report *r = NULL;
    backtest(files, 1, NULL, NULL, &res, &r);
    size_t len = 0;
    FILE *f = open_memstream(&text[k], &len);
    REQUIRE(f);
    lb_errbuf eb;
    CHECK_OK(engine_report_write_json(r, f, &eb));
    fclose(f);
    engine_report_free(r);
  }
  REQUIRE(text[0] && text[1]);
  CHECK(strlen(text[0]) > 1000);
  CHECK(strcmp(text[0], text[1]) == 0);
  free(text[0]);
  free(text[1]);
}

TEST(backtest_coarse_fills_on_entry_candles_also_reconcile) {
  /* --timeframe-detail 15m: the sim sees only 15m candles */
  lb_config cfg;
  lb_config_defaults(&cfg);
  engine_replay_setup *s = calloc(1, sizeof *s);
  REQUIRE(s);
  engine_replay_files f;
  memset(&f, 0, sizeof f);
  f.data[f.n_data++] = bundled("data/binance-um/BTCUSDT-5m-2022-04.csv");
  f.detail = "15m";
  lb_errbuf eb;
  REQUIRE_OK(engine_replay_setup_load(s, &f, &cfg, &eb));
  CHECK_EQ(s->series[0].timeframe, 15 * LB_MS_MINUTE);
  CHECK_EQ(s->series[0].n, 2880);
  engine_report *r = NULL;
  engine_report_info info = {.initial_capital = cfg.initial_capital};
  REQUIRE_OK(engine_report_new(&info, &r, &eb));
  plan_audit a;
  memset(&a, 0, sizeof a);
  a.risk = s->params.engine.risk;
  engine_observer obs = {.ctx = &a, .on_scan = audit_scan};
  s->params.report = r;
  s->params.obs = &obs;
  engine_replay_result res;
  REQUIRE_OK(engine_replay_run(&s->params, &res, &eb));
  check_run(s, r, &res, &a);
  engine_report_free(r);
  engine_replay_setup_close(s);
  free(s);
}

TEST(backtest_refuses_inputs_that_cannot_work_with_the_reason) {
  lb_config cfg;
  lb_config_defaults(&cfg);
  engine_replay_setup *s = calloc(1, sizeof *s);
  REQUIRE(s);
  lb_errbuf eb;
  engine_replay_files f;
  memset(&f, 0, sizeof f);
  f.data[f.n_data++] = bundled("data/binance-um/BTCUSDT-5m-2022-04.csv");
  f.data[f.n_data++] = bundled("data/binance-um/BTCUSDT-1m-2022-04-08.csv");
  CHECK_EQ(engine_replay_setup_load(s, &f, &cfg, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "different timeframes");
  f.n_data = 1;
  f.timeframe = "1m"; /* finer than the 5m data */
  REQUIRE_OK(engine_replay_setup_load(s, &f, &cfg, &eb));
  engine_replay_result res;
  CHECK_EQ(engine_replay_run(&s->params, &res, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "does not divide the entry timeframe 1m");
  engine_replay_setup_close(s);
  f.timeframe = NULL;
  f.from = "2022-05-01";
  CHECK_EQ(engine_replay_setup_load(s, &f, &cfg, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "no candles");
  f.from = "yesterday";
  CHECK_EQ(engine_replay_setup_load(s, &f, &cfg, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "--from yesterday");
  f.from = NULL;
  f.data[0] = "/nonexistent/BTCUSDT-5m.csv";
  CHECK(engine_replay_setup_load(s, &f, &cfg, &eb) != LB_OK);
  CHECK_CONTAINS(eb.msg, "/nonexistent/BTCUSDT-5m.csv");
  free(s);
}

TEST(backtest_two_symbols_share_one_position_slot) {
  /* BTCUSDT and a second symbol made from the same real candles (scaled),
   * replayed together: at most one position at a time. */
  lb_config cfg;
  lb_config_defaults(&cfg);
  engine_replay_setup *s = calloc(1, sizeof *s);
  REQUIRE(s);
  engine_replay_files f;
  memset(&f, 0, sizeof f);
  f.data[f.n_data++] = bundled("data/binance-um/BTCUSDT-5m-2022-04.csv");
  lb_errbuf eb;
  REQUIRE_OK(engine_replay_setup_load(s, &f, &cfg, &eb));
  data_series *b = &s->series[1];
  data_series_init(b);
  REQUIRE_OK(data_series_reserve(b, s->series[0].n));
  snprintf(b->symbol, sizeof b->symbol, "ETHUSDT");
  b->timeframe = s->series[0].timeframe;
  for (size_t i = 0; i < s->series[0].n; i++) {
    data_candle c = s->series[0].c[i];
    double k = 0.075; /* ETH near 3000 */
    c.open = round(c.open * k * 100) / 100;
    c.high = round(c.high * k * 100) / 100;
    c.low = round(c.low * k * 100) / 100;
    c.close = round(c.close * k * 100) / 100;
    if (c.high < c.open || c.high < c.close) c.high = fmax(c.open, c.close);
    if (c.low > c.open || c.low > c.close) c.low = fmin(c.open, c.close);
    b->c[b->n++] = c;
  }
  s->series_ptr[1] = b;
  s->n = 2;
  s->params.n_series = 2;
  engine_report_info info = {.initial_capital = cfg.initial_capital};
  engine_report *r = NULL;
  REQUIRE_OK(engine_report_new(&info, &r, &eb));
  plan_audit a;
  memset(&a, 0, sizeof a);
  a.risk = s->params.engine.risk;
  engine_observer obs = {.ctx = &a, .on_scan = audit_scan};
  s->params.report = r;
  s->params.obs = &obs;
  engine_replay_result res;
  REQUIRE_OK(engine_replay_run(&s->params, &res, &eb));
  CHECK_EQ(res.candles, 2 * 8640);
  check_run(s, r, &res, &a);
  /* no two trades overlap in time */
  size_t n = engine_report_trade_count(r);
  for (size_t i = 1; i < n; i++)
    CHECK(engine_report_trade(r, i)->entry_time >= engine_report_trade(r, i - 1)->exit_time);
  engine_report_free(r);
  engine_replay_setup_close(s);
  free(s);
}

/* ==== Paper replay pacing ==== */

TEST(paper_replay_paces_market_time_by_the_speed_on_the_clock) {
  lb_config cfg;
  lb_config_defaults(&cfg);
  engine_replay_setup *s = calloc(1, sizeof *s);
  REQUIRE(s);
  engine_replay_files f;
  memset(&f, 0, sizeof f);
  f.data[f.n_data++] = bundled("data/binance-um/BTCUSDT-1m-2022-04-08.csv");
  lb_errbuf eb;
  REQUIRE_OK(engine_replay_setup_load(s, &f, &cfg, &eb));
  lb_manual_clock mc = {.now = 1000000};
  lb_clock clk = lb_manual_clock_bind(&mc);
  s->params.clock = &clk;
  s->params.speed = 600; /* one day in 144 s */
  engine_replay_result res;
  REQUIRE_OK(engine_replay_run(&s->params, &res, &eb));
  CHECK_EQ(res.candles, 1440);
  /* the last candle closes 1440 market minutes after the first opened:
   * at speed 600 that is 144,000 ms on the clock, slept in steps */
  CHECK_EQ(mc.slept_total, 1440 * 60000 / 600);
  CHECK_EQ(mc.now - 1000000, 1440 * 60000 / 600);
  engine_replay_setup_close(s);
  free(s);
}

static volatile sig_atomic_t stop_after;
static int scans_seen;
static void stop_scan(void *ctx, const engine_scan *s) {
  (void)ctx, (void)s;
  if (++scans_seen == 10) stop_after = 1;
}

TEST(paper_replay_stops_when_asked_and_reports_what_it_did) {
  lb_config cfg;
  lb_config_defaults(&cfg);
  engine_replay_setup *s = calloc(1, sizeof *s);
  REQUIRE(s);
  engine_replay_files f;
  memset(&f, 0, sizeof f);
  f.data[f.n_data++] = bundled("data/binance-um/BTCUSDT-1m-2022-04-08.csv");
  lb_errbuf eb;
  REQUIRE_OK(engine_replay_setup_load(s, &f, &cfg, &eb));
  engine_observer obs = {.on_scan = stop_scan};
  s->params.obs = &obs;
  s->params.stop = &stop_after;
  engine_replay_result res;
  REQUIRE_OK(engine_replay_run(&s->params, &res, &eb));
  CHECK(res.stopped);
  CHECK_EQ(res.candles, 150); /* ten 15m scans = 150 one-minute candles */
  engine_replay_setup_close(s);
  free(s);
}

/* ==== The shared real data (skipped when ../shared is absent) ==== */

TEST(backtest_shared_ftx_btc_perp_month_of_1m_bars) {
  const char *files[] = {lbt_require_shared("data/nautilus-testdata/btc-perp-20211231-20220201_1m.csv")};
  engine_replay_result res;
  backtest(files, 1, NULL, NULL, &res, NULL);
  CHECK_EQ(res.candles, 45031);
}

TEST(backtest_shared_binance_futures_month_and_days) {
  const char *month[] = {lbt_require_shared("data/alphakit-testdata/futures-um-inferred/BTCUSDT-5m-2022-04.csv")};
  engine_replay_result res;
  backtest(month, 1, NULL, NULL, &res, NULL);
  CHECK_EQ(res.candles, 8640);
  const char *days[] = {
      lbt_require_shared("data/alphakit-testdata/futures-um-inferred/BTCUSDT-1m-2022-05-04.csv"),
      lbt_require_shared("data/alphakit-testdata/futures-um-inferred/BTCUSDT-1m-2022-05-05.csv"),
      lbt_require_shared("data/alphakit-testdata/futures-um-inferred/BTCUSDT-1m-2022-05-06.csv")};
  const char *set[][2] = {{"ENTRY_TIMEFRAME", "5m"}, {"TIMEFRAMES", "15m,1h"}, {NULL, NULL}};
  backtest(days, 3, NULL, set, &res, NULL);
  CHECK_EQ(res.candles, 4320);
}

TEST(backtest_shared_xrp_futures_with_real_funding_rates) {
  const char *files[] = {lbt_require_shared("data/freqtrade-testdata/futures/XRP_USDT_USDT-5m-futures.json")};
  const char *funding = lbt_require_shared("data/freqtrade-testdata/futures/XRP_USDT_USDT-8h-funding_rate.json");
  const char *set[][2] = {{"TIMEFRAMES", "15m,1h"}, {"MIN_PROFIT_USD", "0.5"}, {NULL, NULL}};
  engine_replay_result res;
  backtest(files, 1, funding, set, &res, NULL);
  CHECK_EQ(res.candles, 1999);
}

/* The run that showed stop slippage breaking the risk promise: ETHUSDT 1h,
 * January to March 2021, default configuration.  A trade sized without the
 * stop's slippage lost 9.89109 + 0.12278129 fees = 10.01387129 USDT at its
 * stop (1190.5, filled at 1190.26) against a budget of 10.  Every stop exit
 * must now stay within the plan's loss at the stop (check_run) and within
 * MAX_RISK_PER_TRADE (default 0.10) x the capital at entry. */
TEST(backtest_shared_eth_1h_stop_exits_stay_within_the_risk_budget) {
  const char *files[3];
  char path[3][128];
  for (int i = 0; i < 3; i++) {
    snprintf(path[i], sizeof path[i], "data/alphakit-testdata/spot-1h/ETHUSDT-1h-2021-%02d.csv", i + 1);
    files[i] = lbt_require_shared(path[i]);
  }
  const char *set[][2] = {{"ENTRY_TIMEFRAME", "1h"}, {NULL, NULL}};
  engine_replay_result res;
  engine_report *r = NULL;
  backtest(files, 3, NULL, set, &res, &r);
  int stops = 0;
  for (size_t i = 0; i < engine_report_trade_count(r); i++) {
    const engine_trade *t = engine_report_trade(r, i);
    if (t->exit_reason != ENGINE_EXIT_STOP || t->gap_exit) continue;
    stops++;
    lb_dec budget = 0;
    REQUIRE_OK(lb_dec_mul(t->capital_at_entry, LB_DEC_INT(1) / 10, LB_ROUND_FLOOR, &budget));
    CHECK(t->fees - t->realized_pnl <= budget);
  }
  CHECK(stops >= 1); /* the data has stop exits: the test exercises the promise */
  engine_report_free(r);
}

TEST(backtest_shared_lean_ada_and_dydx_minute_bars) {
  const char *ada[] = {lbt_require_shared("data/lean-cryptofuture/binance/minute/adausdt/20221213_adausdt_minute_trade_perp.csv")};
  const char *set[][2] = {{"ENTRY_TIMEFRAME", "5m"}, {"TIMEFRAMES", "15m"}, {NULL, NULL}};
  engine_replay_result res;
  backtest(ada, 1, NULL, set, &res, NULL);
  CHECK_EQ(res.candles, 1440);
  const char *dydx[] = {lbt_require_shared("data/lean-cryptofuture/dydx/minute/btcusd/20260101_btcusd_minute_trade_perp.csv")};
  backtest(dydx, 1, NULL, set, &res, NULL);
  CHECK_EQ(res.candles, 1410); /* 30 minutes missing: gaps are fine */
}

TEST(backtest_shared_four_years_of_hourly_spot_bars) {
  /* 55 monthly files (2017-08 .. 2022-02), with the exchange's own holes
   * and the off-grid rows of 2018-02: one long run. */
  static char names[55][512];
  const char *files[55];
  int n = 0;
  for (int y = 2017; y <= 2022; y++)
    for (int m = 1; m <= 12; m++) {
      if ((y == 2017 && m < 8) || (y == 2022 && m > 2)) continue;
      char rel[128];
      snprintf(rel, sizeof rel, "data/alphakit-testdata/spot-1h/BTCUSDT-1h-%04d-%02d.csv", y, m);
      snprintf(names[n], sizeof names[n], "%s", lbt_require_shared(rel));
      files[n] = names[n];
      n++;
    }
  REQUIRE_EQ(n, 55);
  const char *set[][2] = {{"ENTRY_TIMEFRAME", "1h"}, {"TIMEFRAMES", "4h,1d"}, {NULL, NULL}};
  engine_replay_result res;
  backtest(files, n, NULL, set, &res, NULL);
  CHECK(res.candles > 39000);
}

/* ==== The engine's snapshots are the ones ta_snapshot_build makes ==== */

/* The engine builds snapshots from views it caches per frame (faster than
 * ta_snapshot_build, which rebuilds every view).  Here independent frames,
 * fed by batch resampling of the same file, give the snapshot at every scan
 * that built one: the JSON (every number the analysts see) must be the
 * same bytes. */
typedef struct {
  data_series tf[3];
  size_t pos[3];
  ta_frame *fr[3];
  int compared, differ;
} snap_check;

static void compare_snapshot(void *ctx, const engine_scan *s) {
  snap_check *c = ctx;
  if (s->snap.n != 3 || s->snap.ts + 15 * LB_MS_MINUTE != s->time) return; /* not built this scan */
  if (s->outcome == ENGINE_SCAN_BUSY || s->outcome == ENGINE_SCAN_BREAKER) return;
  if (s->outcome == ENGINE_SCAN_RED_FLAG && s->flags.first != STRATEGY_RF_TF_DISAGREE &&
      !(s->flags.first == STRATEGY_RF_WARMUP && s->snap.tf[0].ready))
    return; /* stopped before the snapshot */
  for (int i = 0; i < 3; i++)
    while (c->pos[i] < c->tf[i].n && c->tf[i].c[c->pos[i]].ts + c->tf[i].timeframe <= s->time)
      ta_frame_update(c->fr[i], &c->tf[i].c[c->pos[i]++]);
  ta_snapshot want;
  if (ta_snapshot_build((const ta_frame *const *)c->fr, 3, s->symbol, &want) != LB_OK) {
    c->differ++;
    return;
  }
  char *a = ta_snapshot_to_json(&want), *b = ta_snapshot_to_json(&s->snap);
  c->compared++;
  if (!a || !b || strcmp(a, b) != 0) c->differ++;
  free(a);
  free(b);
}

TEST(engine_snapshots_equal_ta_snapshot_build_of_independent_frames) {
  lb_config cfg;
  lb_config_defaults(&cfg);
  engine_replay_setup *s = calloc(1, sizeof *s);
  snap_check *c = calloc(1, sizeof *c);
  REQUIRE(s && c);
  engine_replay_files f;
  memset(&f, 0, sizeof f);
  f.data[f.n_data++] = bundled("data/binance-um/BTCUSDT-5m-2022-04.csv");
  lb_errbuf eb;
  REQUIRE_OK(engine_replay_setup_load(s, &f, &cfg, &eb));
  const lb_ms tfs[3] = {15 * LB_MS_MINUTE, LB_MS_HOUR, 4 * LB_MS_HOUR};
  for (int i = 0; i < 3; i++) {
    REQUIRE_OK(data_resample(&s->series[0], tfs[i], &c->tf[i], &eb));
    c->fr[i] = ta_frame_new(tfs[i], &s->params.engine.ta);
    REQUIRE(c->fr[i]);
  }
  engine_observer obs = {.ctx = c, .on_scan = compare_snapshot};
  s->params.obs = &obs;
  engine_replay_result res;
  REQUIRE_OK(engine_replay_run(&s->params, &res, &eb));
  CHECK(c->compared > 100);
  CHECK_EQ(c->differ, 0);
  for (int i = 0; i < 3; i++) {
    data_series_close(&c->tf[i]);
    ta_frame_free(c->fr[i]);
  }
  free(c);
  engine_replay_setup_close(s);
  free(s);
}
