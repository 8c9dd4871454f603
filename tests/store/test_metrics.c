/* test_metrics.c -- status and performance figures against hand-computed values. */
#include <math.h>
#include <stdlib.h>

#include "tb.h"

/* Five closed trades, net of fees and funding: +10, -5, +20, -15, 0. */
static void five_trades(store_trade tr[5]) {
  const lb_dec pnl[5] = {LB_DEC_INT(11), -LB_DEC_INT(4), LB_DEC_INT(21), -LB_DEC_INT(14), LB_DEC_INT(1)};
  const lb_dec fee[5] = {LB_DEC_INT(1), LB_DEC_INT(1), LB_DEC_INT(2), LB_DEC_INT(1), LB_DEC_INT(1)};
  const lb_dec fund[5] = {0, 0, LB_DEC_INT(1), 0, 0};
  for (int i = 0; i < 5; i++) {
    char id[16];
    snprintf(id, sizeof id, "m-%d", i);
    tr[i] = tb_trade(id, "BTCUSDT", tb_t(i * LB_MS_DAY));
    tr[i].status = STORE_TRADE_CLOSED;
    tr[i].exit_price = LB_DEC_INT(50000);
    tr[i].exit_reason = STORE_EXIT_SIGNAL;
    tr[i].realized_pnl = pnl[i];
    tr[i].fees = fee[i];
    tr[i].funding = fund[i];
    tr[i].closed_at = tb_t(i * LB_MS_DAY + LB_MS_HOUR);
  }
}

static void check_five(const store_metrics *m) {
  CHECK_EQ(m->total_trades, 5);
  CHECK_EQ(m->wins, 2);
  CHECK_EQ(m->losses, 2);
  CHECK_NEAR(m->win_rate, 0.4, 1e-15);
  CHECK_EQ(m->total_pnl, LB_DEC_INT(10));
  CHECK_EQ(m->avg_pnl, LB_DEC_INT(2));
  CHECK_EQ(m->gross_profit, LB_DEC_INT(30));
  CHECK_EQ(m->gross_loss, -LB_DEC_INT(20));
  CHECK_NEAR(m->profit_factor, 1.5, 1e-15);
}

TEST(store_metrics_compute_matches_hand_computed_figures) {
  store_trade tr[5];
  five_trades(tr);
  store_metrics m;
  /* "now" is the day of the 4th trade (-15). */
  store_metrics_compute(tr, 5, NULL, 0, LB_DEC_INT(100), tb_t(3 * LB_MS_DAY + 5 * LB_MS_HOUR), &m);
  check_five(&m);
  /* Equity 100 -> 110 -> 105 -> 125 -> 110 -> 110: the worst fall is 125 -> 110. */
  CHECK(!m.drawdown_from_snapshots);
  CHECK_EQ(m.max_drawdown, LB_DEC_INT(15));
  CHECK_NEAR(m.max_drawdown_pct, 0.12, 1e-12);
  CHECK_EQ(m.today_pnl, -LB_DEC_INT(15));
  CHECK_EQ(m.today_trades, 1);
  /* avg rounds half-even: 10 / 3 -> 3.33333333 */
  store_metrics_compute(tr, 3, NULL, 0, LB_DEC_INT(100), tb_t(0), &m);
  CHECK_EQ(m.total_pnl, LB_DEC_INT(25));
  CHECK_EQ(m.avg_pnl, 833333333); /* 25 / 3 = 8.33333333 */
}

TEST(store_metrics_edge_cases_no_trades_and_no_losses) {
  store_metrics m;
  store_metrics_compute(NULL, 0, NULL, 0, LB_DEC_INT(100), tb_t(0), &m);
  CHECK_EQ(m.total_trades, 0);
  CHECK_NEAR(m.win_rate, 0, 0);
  CHECK_NEAR(m.profit_factor, 0, 0);
  CHECK_EQ(m.max_drawdown, 0);
  store_trade tr[5];
  five_trades(tr);
  store_metrics_compute(tr, 1, NULL, 0, LB_DEC_INT(100), tb_t(0), &m);
  CHECK(isinf(m.profit_factor) && m.profit_factor > 0);
  CHECK_EQ(m.max_drawdown, 0);
  /* An open trade in the list is not counted. */
  tr[1].status = STORE_TRADE_OPEN;
  store_metrics_compute(tr, 2, NULL, 0, LB_DEC_INT(100), tb_t(0), &m);
  CHECK_EQ(m.total_trades, 1);
  /* Snapshots win over the trade curve: 200, 260, 195, 250, 182 -> worst fall 260 -> 182. */
  store_equity eq[5] = {{tb_t(0), LB_DEC_INT(200), 0, 0},
                        {tb_t(1), LB_DEC_INT(260), 0, 0},
                        {tb_t(2), LB_DEC_INT(195), 0, 0},
                        {tb_t(3), LB_DEC_INT(250), 0, 0},
                        {tb_t(4), LB_DEC_INT(182), 0, 0}};
  store_metrics_compute(tr, 2, eq, 5, LB_DEC_INT(100), tb_t(0), &m);
  CHECK(m.drawdown_from_snapshots);
  CHECK_EQ(m.max_drawdown, LB_DEC_INT(78));
  CHECK_NEAR(m.max_drawdown_pct, 0.3, 1e-12);
}

STORE_TEST(store_metrics_from_the_database_match_hand_computed_figures) {
  lb_errbuf eb;
  bool created;
  REQUIRE_OK(store_config_init(t->s, LB_DEC_INT(100), STORE_PAPER, tb_t(0), &created, &eb));
  store_trade tr[5];
  five_trades(tr);
  for (int i = 0; i < 5; i++) {
    REQUIRE_OK(store_trade_open(t->s, &tr[i], STORE_ASYNC, &eb));
    store_trade_exit x = {tr[i].exit_price, tr[i].exit_reason, tr[i].realized_pnl, tr[i].fees,
                          tr[i].funding, tr[i].closed_at};
    REQUIRE_OK(store_trade_close(t->s, tr[i].id, &x, STORE_ASYNC, &eb));
  }
  /* One still open: no effect on the figures. */
  store_trade open = tb_trade("m-open", "ETHUSDT", tb_t(4 * LB_MS_DAY));
  REQUIRE_OK(store_trade_open(t->s, &open, STORE_ASYNC, &eb));
  REQUIRE_OK(store_flush(t->s, 10000, &eb));
  store_metrics m;
  REQUIRE_OK(store_metrics_get(t->s, tb_t(3 * LB_MS_DAY + 5 * LB_MS_HOUR), &m, &eb));
  check_five(&m);
  CHECK_EQ(m.max_drawdown, LB_DEC_INT(15));
  CHECK_EQ(m.today_pnl, -LB_DEC_INT(15));
  /* With equity marks, drawdown comes from them. */
  lb_dec marks[4] = {LB_DEC_INT(100), LB_DEC_INT(120), LB_DEC_INT(90), LB_DEC_INT(118)};
  for (int i = 0; i < 4; i++) {
    store_equity q = {tb_t(i * LB_MS_HOUR), marks[i], marks[i], 0};
    REQUIRE_OK(store_equity_record(t->s, &q, STORE_ASYNC, &eb));
  }
  REQUIRE_OK(store_flush(t->s, 10000, &eb));
  REQUIRE_OK(store_metrics_get(t->s, tb_t(0), &m, &eb));
  CHECK(m.drawdown_from_snapshots);
  CHECK_EQ(m.max_drawdown, LB_DEC_INT(30));
  CHECK_NEAR(m.max_drawdown_pct, 0.25, 1e-12);
  CHECK_EQ(m.today_trades, 1); /* m-0 closed on 2026-01-15 */
  CHECK_EQ(m.today_pnl, LB_DEC_INT(10));
}
