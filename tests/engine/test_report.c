/* test_report.c -- backtest statistics on hand-computed series, and the four renderings.
 *
 * The numbers in comments are worked out by hand from the definitions in
 * src/engine/report.h; the renderings are parsed back (JSON with jansson)
 * rather than compared with stored output.
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "engine/report.h"
#include "unit.h"

#define HR LB_MS_HOUR

static lb_dec D(const char *s) {
  lb_dec d = 0;
  REQUIRE_OK(lb_dec_parse(s, &d));
  return d;
}

TEST(stats_sharpe_of_four_daily_returns) {
  /* r = 1 %, -2 %, 3 %, 0: mean 0.005; sample variance 0.0013 / 3;
   * sd 0.0208167; 0.005 / 0.0208167 x sqrt(365) = 4.58887 */
  double r[] = {0.01, -0.02, 0.03, 0.0};
  CHECK_NEAR(engine_stats_sharpe(r, 4, 365), 4.58887, 1e-4);
  CHECK_NEAR(engine_stats_sharpe(r, 1, 365), 0, 0);   /* one return: no deviation */
  double flat[] = {0.01, 0.01, 0.01};
  CHECK_NEAR(engine_stats_sharpe(flat, 3, 365), 0, 0); /* zero deviation */
}

TEST(stats_sortino_counts_only_the_downside) {
  /* downside deviation sqrt(0.02^2 / 4) = 0.01; 0.005 / 0.01 x sqrt(365) = 9.55249 */
  double r[] = {0.01, -0.02, 0.03, 0.0};
  CHECK_NEAR(engine_stats_sortino(r, 4, 365), 9.55249, 1e-4);
  double up[] = {0.01, 0.02};
  CHECK(isinf(engine_stats_sortino(up, 2, 365)));
  CHECK_NEAR(engine_stats_sortino(NULL, 0, 365), 0, 0);
}

TEST(stats_cagr_over_two_years) {
  CHECK_NEAR(engine_stats_cagr(100, 121, 730 * LB_MS_DAY), 0.10, 1e-12); /* 1.21^(1/2) - 1 */
  CHECK_NEAR(engine_stats_cagr(100, 50, 365 * LB_MS_DAY), -0.5, 1e-12);
  CHECK_NEAR(engine_stats_cagr(100, 0, 365 * LB_MS_DAY), -1, 0);
  CHECK_NEAR(engine_stats_cagr(100, 110, 0), 0, 0);
}

TEST(stats_max_drawdown_is_the_largest_fall_from_a_running_peak) {
  /* 100 110 99 105 88 120 114: from the peak 110 down to 88 = 20 %, the
   * later 120 -> 114 is only 5 % */
  double eq[] = {100, 110, 99, 105, 88, 120, 114};
  engine_drawdown d;
  memset(&d, 0, sizeof d);
  for (int i = 0; i < 7; i++) engine_drawdown_add(&d, (lb_ms)i * HR, eq[i]);
  CHECK_NEAR(d.max_dd, 0.20, 1e-12);
  CHECK_NEAR(d.max_dd_abs, 22, 1e-9);
  CHECK_EQ(d.dd_start, 1 * HR);
  CHECK_EQ(d.dd_end, 4 * HR);
}

/* ==== A report fed by hand ==== */

static engine_trade trade(long id, const char *sym, lb_action side, lb_ms in, lb_ms out, const char *net,
                          engine_exit_reason why) {
  engine_trade t;
  memset(&t, 0, sizeof t);
  t.id = id;
  snprintf(t.symbol, sizeof t.symbol, "%s", sym);
  t.side = side;
  t.leverage = 3;
  t.entry_time = in;
  t.exit_time = out;
  t.qty = D("0.01");
  t.entry_price = D("20000");
  t.exit_price = D("20100");
  t.realized_pnl = D(net) + D("1"); /* net = realized - fees (1) */
  t.fees = D("1");
  t.loss_at_stop = D("10");
  t.capital_at_entry = D("1000");
  t.planned_rr = 2.0;
  t.exit_reason = why;
  return t;
}

/* Five trades over three days: +10, +20, -5, -5, 0 USDT; the first
 * `unplanned` of them without their plan (R and planned R:R unknown, as a
 * trade recorded before the database kept them). */
static engine_report *five_trades_planned(int unplanned) {
  engine_report_info info;
  memset(&info, 0, sizeof info);
  info.initial_capital = D("1000");
  snprintf(info.timeframes, sizeof info.timeframes, "1h");
  snprintf(info.panel, sizeof info.panel, "script");
  info.feed_tf = HR;
  engine_report *r = NULL;
  lb_errbuf eb;
  if (engine_report_new(&info, &r, &eb) != LB_OK) return NULL;
  engine_observer o = engine_report_observer(r);
  engine_trade t[5] = {
      trade(1, "BTCUSDT", LB_ACTION_LONG, 0, 1 * HR, "10", ENGINE_EXIT_TAKE_PROFIT),
      trade(2, "ETHUSDT", LB_ACTION_SHORT, 2 * HR, 4 * HR, "20", ENGINE_EXIT_TRAILING_STOP),
      trade(3, "BTCUSDT", LB_ACTION_LONG, 24 * HR, 27 * HR, "-5", ENGINE_EXIT_STOP),
      trade(4, "BTCUSDT", LB_ACTION_SHORT, 27 * HR, 31 * HR, "-5", ENGINE_EXIT_STOP),
      trade(5, "ETHUSDT", LB_ACTION_LONG, 48 * HR, 53 * HR, "0", ENGINE_EXIT_MANUAL),
  };
  for (int i = 0; i < unplanned && i < 5; i++) {
    t[i].loss_at_stop = 0;
    t[i].planned_rr = 0;
  }
  /* equity at each day's last mark: 1030, 1020, 1020 */
  lb_dec cap = D("1000");
  o.on_equity(o.ctx, 1, cap, cap);
  for (int i = 0; i < 5; i++) {
    o.on_trade_opened(o.ctx, &t[i]);
    o.on_trade_closed(o.ctx, &t[i]);
    cap += engine_trade_net(&t[i]);
    o.on_equity(o.ctx, t[i].exit_time, cap, cap);
  }
  o.on_equity(o.ctx, 72 * HR, cap, cap);
  engine_report_finish(r, NULL, NULL, 0, 60 * HR);
  return r;
}

static engine_report *five_trades(void) { return five_trades_planned(0); }

TEST(report_figures_of_five_hand_made_trades) {
  engine_report *r = five_trades();
  REQUIRE(r);
  engine_stats s;
  engine_report_stats(r, &s);
  CHECK_EQ(s.all.trades, 5);
  CHECK_EQ(s.all.wins, 2);
  CHECK_EQ(s.all.draws, 1);
  CHECK_EQ(s.all.losses, 2);
  CHECK_NEAR(s.win_rate, 0.4, 1e-12);
  CHECK_EQ(s.all.gross_profit, D("30"));
  CHECK_EQ(s.all.gross_loss, D("10"));
  CHECK_NEAR(s.profit_factor, 3.0, 1e-12);
  CHECK_NEAR(s.expectancy_usd, 4.0, 1e-12);   /* 20 / 5 */
  CHECK_NEAR(s.expectancy_r, 0.4, 1e-12);     /* (1 + 2 - 0.5 - 0.5 + 0) / 5 */
  CHECK_NEAR(s.avg_planned_rr, 2.0, 1e-12);
  CHECK_EQ(s.max_consec_wins, 2);
  CHECK_EQ(s.max_consec_losses, 2);
  CHECK_EQ(s.best, 1);  /* trade #2, +20 */
  CHECK_EQ(s.worst, 2); /* trade #3, the first -5 */
  CHECK_EQ(s.avg_duration, 3 * HR);           /* 1 + 2 + 3 + 4 + 5 hours / 5 */
  CHECK_EQ(s.avg_win_duration, 90 * LB_MS_MINUTE);
  CHECK_EQ(s.avg_loss_duration, 210 * LB_MS_MINUTE);
  CHECK_NEAR(s.exposure, 15.0 / 60.0, 1e-12); /* 15 h in a position over 60 h */
  CHECK_EQ(s.final_capital, D("1020"));
  CHECK_EQ(s.longs.trades, 3);
  CHECK_EQ(s.longs.net, D("5"));
  CHECK_EQ(s.shorts.net, D("15"));
  CHECK_EQ(s.min_balance, D("1000"));
  CHECK_EQ(s.max_balance, D("1030"));
  CHECK_NEAR(s.total_profit_pct, 0.02, 1e-12);
  /* daily closes 1030, 1020, 1020 (a mark at 72:00 ends day 3):
   * returns 3 %, -0.97087 %, 0 -> the Sharpe of those three */
  double ret[] = {0.03, 1020.0 / 1030.0 - 1, 0.0};
  CHECK_NEAR(s.sharpe, engine_stats_sharpe(ret, 3, 365), 1e-12);
  CHECK_NEAR(s.dd.max_dd, 10.0 / 1030.0, 1e-12); /* 1030 -> 1020 */
  engine_report_free(r);
}

static char *render(const engine_report *r, lb_err (*w)(const engine_report *, FILE *, lb_errbuf *)) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  if (!f) return NULL;
  lb_errbuf eb;
  lb_err rc = w(r, f, &eb);
  fclose(f);
  if (rc) {
    free(buf);
    return NULL;
  }
  return buf;
}

static lb_err print_text(const engine_report *r, FILE *f, lb_errbuf *eb) {
  (void)eb;
  engine_report_print(r, f, ENGINE_BREAKDOWN_DAY | ENGINE_BREAKDOWN_WEEK | ENGINE_BREAKDOWN_MONTH);
  return LB_OK;
}

TEST(report_json_holds_every_figure_and_trade_with_exact_money) {
  engine_report *r = five_trades();
  REQUIRE(r);
  char *text = render(r, engine_report_write_json);
  REQUIRE(text);
  json_error_t je;
  json_t *root = json_loads(text, 0, &je);
  REQUIRE(root);
  json_t *sum = json_object_get(root, "summary");
  CHECK_EQ(json_integer_value(json_object_get(sum, "trades")), 5);
  CHECK_STREQ(json_string_value(json_object_get(sum, "gross_profit")), "30");
  CHECK_STREQ(json_string_value(json_object_get(sum, "final_capital")), "1020");
  CHECK_NEAR(json_real_value(json_object_get(sum, "profit_factor")), 3.0, 1e-9);
  CHECK(json_is_null(json_object_get(sum, "sortino")) || json_is_real(json_object_get(sum, "sortino")));
  json_t *trades = json_object_get(root, "trades");
  REQUIRE_EQ(json_array_size(trades), 5);
  /* the trades' net PnL add up to the capital change, from the JSON alone */
  lb_dec total = 0;
  for (size_t i = 0; i < 5; i++) {
    lb_dec net;
    REQUIRE_OK(lb_dec_parse(json_string_value(json_object_get(json_array_get(trades, i), "net_pnl")), &net));
    total += net;
  }
  CHECK_EQ(total, D("20"));
  json_t *bysym = json_object_get(root, "by_symbol");
  CHECK_EQ(json_integer_value(json_object_get(json_object_get(bysym, "BTCUSDT"), "trades")), 3);
  const char *first_key = json_object_iter_key(json_object_iter(bysym));
  CHECK_STREQ(first_key, "BTCUSDT");
  json_t *days = json_object_get(json_object_get(root, "breakdown"), "day");
  REQUIRE_EQ(json_array_size(days), 3);
  CHECK_EQ(json_integer_value(json_object_get(json_array_get(days, 0), "trades")), 2);
  CHECK_EQ(json_integer_value(json_object_get(json_array_get(days, 1), "trades")), 2);
  json_decref(root);
  /* same report, same bytes */
  char *again = render(r, engine_report_write_json);
  REQUIRE(again);
  CHECK_STREQ(text, again);
  free(again);
  free(text);
  engine_report_free(r);
}

TEST(report_text_csv_and_html_render_the_same_trades) {
  engine_report *r = five_trades();
  REQUIRE(r);
  char *text = render(r, print_text);
  REQUIRE(text);
  CHECK_CONTAINS(text, "Trades                     5  (2 wins, 1 draws, 2 losses; win rate 40.0 %)");
  CHECK_CONTAINS(text, "Profit factor              3.00");
  CHECK_CONTAINS(text, "PER SYMBOL");
  CHECK_CONTAINS(text, "trailing_stop");
  CHECK_CONTAINS(text, "BREAKDOWN BY MONTH");
  CHECK_CONTAINS(text, "1970-01");
  free(text);
  char *csv = render(r, engine_report_write_csv);
  REQUIRE(csv);
  int lines = 0;
  for (const char *p = csv; *p; p++) lines += *p == '\n';
  CHECK_EQ(lines, 6);
  CHECK_CONTAINS(csv, "2,ETHUSDT,SHORT,3,");
  free(csv);
  char *html = render(r, engine_report_write_html);
  REQUIRE(html);
  CHECK_CONTAINS(html, "<svg");
  CHECK_CONTAINS(html, "<polyline");
  CHECK_CONTAINS(html, "<polygon"); /* the drawdown area */
  CHECK_CONTAINS(html, "ETHUSDT");
  /* self-contained: nothing is fetched from anywhere */
  CHECK_NOT_CONTAINS(html, "http");
  CHECK_NOT_CONTAINS(html, "src=");
  CHECK_NOT_CONTAINS(html, "<link");
  free(html);
  engine_report_free(r);
}

TEST(report_r_figures_leave_out_trades_whose_plan_is_unknown) {
  engine_report *r = five_trades_planned(2); /* +10 and +20 have no plan */
  REQUIRE(r);
  engine_stats s;
  engine_report_stats(r, &s);
  CHECK_EQ(s.r_known, 3);
  CHECK_EQ(s.rr_known, 3);
  CHECK_NEAR(s.expectancy_r, -1.0 / 3.0, 1e-12); /* (-0.5 - 0.5 + 0) / 3, not / 5 */
  CHECK_NEAR(s.avg_planned_rr, 2.0, 1e-12);      /* not 6 / 5 */
  CHECK_NEAR(s.expectancy_usd, 4.0, 1e-12);      /* money counts every trade */
  char *text = render(r, print_text);
  REQUIRE(text);
  CHECK_CONTAINS(text, "(-0.33 R over 3 of 5 trades)");
  CHECK_CONTAINS(text, "2.00 : 1 over 3 of 5 trades planned");
  free(text);
  char *js = render(r, engine_report_write_json);
  REQUIRE(js);
  json_error_t je;
  json_t *root = json_loads(js, 0, &je);
  REQUIRE(root);
  json_t *t0 = json_array_get(json_object_get(root, "trades"), 0);
  CHECK(json_is_null(json_object_get(t0, "loss_at_stop")));
  CHECK(json_is_null(json_object_get(t0, "planned_rr")));
  json_t *t2 = json_array_get(json_object_get(root, "trades"), 2);
  CHECK_STREQ(json_string_value(json_object_get(t2, "loss_at_stop")), "10");
  CHECK_NEAR(json_real_value(json_object_get(json_object_get(root, "summary"), "expectancy_r")),
             -1.0 / 3.0, 1e-9);
  json_decref(root);
  free(js);
  char *csv = render(r, engine_report_write_csv);
  REQUIRE(csv);
  /* loss_at_stop is the 20th column: empty for trade 1, "10" for trade 3 */
  const char *l1 = strstr(csv, "\n1,BTCUSDT,");
  const char *l3 = strstr(csv, "\n3,BTCUSDT,");
  REQUIRE(l1 && l3);
  int commas = 0;
  const char *p = l1 + 1;
  for (; *p && commas < 19; p++) commas += *p == ',';
  CHECK(*p == ',');
  for (commas = 0, p = l3 + 1; *p && commas < 19; p++) commas += *p == ',';
  CHECK(strncmp(p, "10,", 3) == 0);
  free(csv);
  engine_report_free(r);

  /* No trade with its plan: the R figures are unknown, never 0. */
  r = five_trades_planned(5);
  REQUIRE(r);
  engine_report_stats(r, &s);
  CHECK_EQ(s.r_known, 0);
  CHECK_EQ(s.rr_known, 0);
  text = render(r, print_text);
  REQUIRE(text);
  CHECK_CONTAINS(text, "Average R:R                unknown planned  (R unknown realized on average)");
  CHECK_CONTAINS(text, "+4.00 USDT per trade  (R unknown)");
  free(text);
  js = render(r, engine_report_write_json);
  REQUIRE(js);
  root = json_loads(js, 0, &je);
  REQUIRE(root);
  CHECK(json_is_null(json_object_get(json_object_get(root, "summary"), "expectancy_r")));
  CHECK(json_is_null(json_object_get(json_object_get(root, "summary"), "avg_planned_rr")));
  json_decref(root);
  free(js);
  char *html = render(r, engine_report_write_html);
  REQUIRE(html);
  CHECK_CONTAINS(html, "(R unknown)");
  free(html);
  engine_report_free(r);
}

TEST(report_equity_curve_stays_bounded_over_a_million_marks) {
  engine_report_info info;
  memset(&info, 0, sizeof info);
  info.initial_capital = D("100");
  engine_report *r = NULL;
  lb_errbuf eb;
  REQUIRE_OK(engine_report_new(&info, &r, &eb));
  engine_observer o = engine_report_observer(r);
  for (long i = 1; i <= 1000000; i++) {
    lb_dec eq = D("100") + (lb_dec)((i * 7919) % 1000) * 100000;
    o.on_equity(o.ctx, (lb_ms)i * LB_MS_MINUTE, eq, eq);
  }
  engine_report_finish(r, NULL, NULL, 0, 1000000 * LB_MS_MINUTE);
  char *json = render(r, engine_report_write_json);
  REQUIRE(json);
  json_t *root = json_loads(json, 0, NULL);
  REQUIRE(root);
  size_t n = json_array_size(json_object_get(root, "equity_curve"));
  CHECK(n > 500 && n <= 2048);
  /* 1,000,000 minutes = 695 UTC days of daily closes */
  CHECK_EQ(json_array_size(json_object_get(json_object_get(root, "breakdown"), "day")), 695);
  json_decref(root);
  free(json);
  engine_report_free(r);
}
