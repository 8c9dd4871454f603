/* test_records.c -- every write and read of the ledger, on both back ends. */
#include <math.h>
#include <stdlib.h>

#include "core/log.h"
#include "tb.h"

/* A money cell as the database holds it, parsed exactly (-1 if it is not a decimal). */
static lb_dec dec_cell(tb *t, const char *sql) {
  lb_dec d = 0;
  return lb_dec_parse(tb_q(t->s, sql), &d) == LB_OK ? d : -1;
}

STORE_TEST(store_config_init_get_and_capital_update) {
  lb_errbuf eb;
  store_trading_config c;
  CHECK_EQ(store_config_get(t->s, &c, &eb), LB_ENOTFOUND);
  CHECK_CONTAINS(eb.msg, "setup-db");
  bool created = false;
  REQUIRE_OK(store_config_init(t->s, LB_DEC_INT(500), STORE_PAPER, tb_t(0), &created, &eb));
  CHECK(created);
  REQUIRE_OK(store_config_get(t->s, &c, &eb));
  CHECK_EQ(c.initial_capital, LB_DEC_INT(500));
  CHECK_EQ(c.current_capital, LB_DEC_INT(500));
  CHECK_EQ(c.mode, STORE_PAPER);
  CHECK_EQ(c.updated_at, tb_t(0));
  REQUIRE_OK(store_capital_update(t->s, 48712345678, tb_t(LB_MS_HOUR), STORE_SYNC, &eb));
  REQUIRE_OK(store_config_get(t->s, &c, &eb));
  CHECK_EQ(c.current_capital, 48712345678); /* 487.12345678 */
  CHECK_EQ(c.initial_capital, LB_DEC_INT(500));
  CHECK_EQ(c.updated_at, tb_t(LB_MS_HOUR));
  /* Again: kept, not reset. */
  REQUIRE_OK(store_config_init(t->s, LB_DEC_INT(100), STORE_PAPER, tb_t(0), &created, &eb));
  CHECK(!created);
  REQUIRE_OK(store_config_get(t->s, &c, &eb));
  CHECK_EQ(c.current_capital, 48712345678);
  /* Live on a paper ledger: refused. */
  CHECK_EQ(store_config_init(t->s, LB_DEC_INT(100), STORE_LIVE, tb_t(0), &created, &eb), LB_ESTATE);
  CHECK_CONTAINS(eb.msg, "paper");
  CHECK_CONTAINS(eb.msg, "DATABASE_URL");
  CHECK_EQ(store_capital_update(t->s, 1, 1700000000, STORE_SYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "1700000000");
}

STORE_TEST(store_trade_open_move_stop_close_roundtrip) {
  lb_errbuf eb;
  store_trade tr = tb_trade("ent-1", "BTCUSDT", tb_t(1234));
  tr.side = STORE_SHORT;
  tr.stop_price = LB_DEC_INT(53500);
  tr.take_profit = LB_DEC_INT(43000);
  tr.liquidation_price = 6650012345678;
  tr.initial_stop = LB_DEC_INT(53500);
  tr.loss_at_stop = 3612345678; /* 36.12345678 */
  tr.planned_rr = 2.1875;
  REQUIRE_OK(store_trade_open(t->s, &tr, STORE_SYNC, &eb));
  store_trade g;
  REQUIRE_OK(store_trade_get(t->s, "ent-1", &g, &eb));
  CHECK_EQ(g.initial_stop, LB_DEC_INT(53500));
  CHECK_EQ(g.loss_at_stop, 3612345678);
  CHECK_NEAR(g.planned_rr, 2.1875, 0);
  CHECK_EQ(dec_cell(t, "SELECT loss_at_stop FROM trades"), 3612345678); /* exact in the database */
  CHECK_STREQ(g.id, "ent-1");
  CHECK_STREQ(g.symbol, "BTCUSDT");
  CHECK_EQ(g.side, STORE_SHORT);
  CHECK_EQ(g.qty, tr.qty);
  CHECK_EQ(g.entry_price, tr.entry_price);
  CHECK_EQ(g.leverage, 3);
  CHECK_EQ(g.stop_price, LB_DEC_INT(53500));
  CHECK_EQ(g.take_profit, LB_DEC_INT(43000));
  CHECK_EQ(g.liquidation_price, 6650012345678);
  CHECK_EQ(g.margin, tr.margin);
  CHECK_NEAR(g.ai_confidence, 0.85, 0);
  CHECK_STREQ(g.consensus_id, "c-ent-1");
  CHECK_EQ(g.opened_at, tb_t(1234));
  CHECK_EQ(g.status, STORE_TRADE_OPEN);
  CHECK_EQ(g.closed_at, 0);
  CHECK_EQ(store_trade_net_pnl(&g), 0);

  bool found = false;
  REQUIRE_OK(store_trade_get_open(t->s, "BTCUSDT", &g, &found, &eb));
  CHECK(found);
  REQUIRE_OK(store_trade_get_open(t->s, "ETHUSDT", &g, &found, &eb));
  CHECK(!found);
  REQUIRE_OK(store_trade_get_open(t->s, NULL, &g, &found, &eb));
  CHECK(found);
  CHECK_STREQ(g.id, "ent-1");

  REQUIRE_OK(store_trade_move_stop(t->s, "ent-1", LB_DEC_INT(52000), STORE_SYNC, &eb));
  store_trade_exit x = {.exit_price = LB_DEC_INT(52000),
                        .reason = STORE_EXIT_TRAILING_STOP,
                        .realized_pnl = -LB_DEC_INT(20),
                        .fees = 4400000000, /* 44 */
                        .funding = 123456,  /* 0.00123456 received */
                        .closed_at = tb_t(LB_MS_HOUR)};
  REQUIRE_OK(store_trade_close(t->s, "ent-1", &x, STORE_SYNC, &eb));
  REQUIRE_OK(store_trade_get(t->s, "ent-1", &g, &eb));
  CHECK_EQ(g.status, STORE_TRADE_CLOSED);
  CHECK_EQ(g.stop_price, LB_DEC_INT(52000));
  /* the plan is what it was at the entry, whatever the trailing stop did */
  CHECK_EQ(g.initial_stop, LB_DEC_INT(53500));
  CHECK_EQ(g.loss_at_stop, 3612345678);
  CHECK_NEAR(g.planned_rr, 2.1875, 0);
  CHECK_EQ(g.exit_price, LB_DEC_INT(52000));
  CHECK_EQ(g.exit_reason, STORE_EXIT_TRAILING_STOP);
  CHECK_EQ(g.realized_pnl, -LB_DEC_INT(20));
  CHECK_EQ(g.fees, 4400000000);
  CHECK_EQ(g.funding, 123456);
  CHECK_EQ(g.closed_at, tb_t(LB_MS_HOUR));
  CHECK_EQ(store_trade_net_pnl(&g), -LB_DEC_INT(64) + 123456); /* -20 - 44 + 0.00123456 */
  REQUIRE_OK(store_trade_get_open(t->s, NULL, &g, &found, &eb));
  CHECK(!found);
  CHECK_STREQ(tb_q(t->s, "SELECT exit_reason FROM trades"), "trailing_stop");
}

STORE_TEST(store_trade_plan_unknown_is_stored_as_null_and_read_as_zero) {
  lb_errbuf eb;
  store_trade tr = tb_trade("np-1", "BTCUSDT", tb_t(0)); /* no plan fields: unknown */
  REQUIRE_OK(store_trade_open(t->s, &tr, STORE_SYNC, &eb));
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM trades WHERE initial_stop IS NULL AND "
                          "loss_at_stop IS NULL AND planned_rr IS NULL"),
           1);
  store_trade g;
  REQUIRE_OK(store_trade_get(t->s, "np-1", &g, &eb));
  CHECK_EQ(g.initial_stop, 0);
  CHECK_EQ(g.loss_at_stop, 0);
  CHECK(g.planned_rr == 0);
  /* the database itself refuses a plan of zero (zero means unknown: NULL) */
  CHECK(store_exec_sql(t->s, "UPDATE trades SET loss_at_stop = 0", NULL, &eb) != LB_OK);
  CHECK(store_exec_sql(t->s, "UPDATE trades SET planned_rr = -1", NULL, &eb) != LB_OK);
}

STORE_TEST(store_trade_writes_are_idempotent_and_one_open_per_symbol) {
  lb_errbuf eb;
  store_trade tr = tb_trade("dup-1", "BTCUSDT", tb_t(0));
  REQUIRE_OK(store_trade_open(t->s, &tr, STORE_SYNC, &eb));
  REQUIRE_OK(store_trade_open(t->s, &tr, STORE_SYNC, &eb)); /* a retry */
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM trades"), 1);
  store_trade other = tb_trade("dup-2", "BTCUSDT", tb_t(1000));
  lb_err e = store_trade_open(t->s, &other, STORE_SYNC, &eb);
  CHECK(e != LB_OK);
  CHECK_CONTAINS(eb.msg, "trade");
  store_trade eth = tb_trade("dup-3", "ETHUSDT", tb_t(1000));
  CHECK_OK(store_trade_open(t->s, &eth, STORE_SYNC, &eb));
  store_trade_exit x = {LB_DEC_INT(51000), STORE_EXIT_TAKE_PROFIT, LB_DEC_INT(10), LB_DEC_INT(1), 0, tb_t(LB_MS_HOUR)};
  REQUIRE_OK(store_trade_close(t->s, "dup-1", &x, STORE_SYNC, &eb));
  REQUIRE_OK(store_trade_close(t->s, "dup-1", &x, STORE_SYNC, &eb)); /* a replay */
  CHECK_OK(store_trade_open(t->s, &other, STORE_SYNC, &eb));       /* BTCUSDT is free again */
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM trades"), 3);
  CHECK_EQ(store_trade_close(t->s, "never-opened", &x, STORE_SYNC, &eb), LB_ENOTFOUND);
  CHECK_CONTAINS(eb.msg, "never-opened");
  CHECK_EQ(store_trade_move_stop(t->s, "never-opened", 1, STORE_SYNC, &eb), LB_ENOTFOUND);
}

STORE_TEST(store_trade_validation_names_the_field_and_value) {
  lb_errbuf eb;
  store_trade tr = tb_trade("v-1", "BTCUSDT", tb_t(0));
  tr.qty = 0;
  CHECK_EQ(store_trade_open(t->s, &tr, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.qty 0");
  tr = tb_trade("v-1", "BTCUSDT", tb_t(0));
  tr.leverage = 0;
  CHECK_EQ(store_trade_open(t->s, &tr, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.leverage 0");
  tr = tb_trade("v-1", "BTCUSDT", tb_t(0));
  tr.side = 7;
  CHECK_EQ(store_trade_open(t->s, &tr, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.side");
  tr = tb_trade("v-1", "BTCUSDT", 1768435200); /* seconds, not ms */
  CHECK_EQ(store_trade_open(t->s, &tr, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.opened_at 1768435200");
  tr = tb_trade("has space", "BTCUSDT", tb_t(0));
  CHECK_EQ(store_trade_open(t->s, &tr, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.id");
  tr = tb_trade("v-1", "BTCUSDT", tb_t(0));
  tr.ai_confidence = 1.5;
  CHECK_EQ(store_trade_open(t->s, &tr, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.ai_confidence 1.5");
  tr = tb_trade("v-1", "BTCUSDT", tb_t(0));
  tr.loss_at_stop = -1;
  CHECK_EQ(store_trade_open(t->s, &tr, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.loss_at_stop -0.00000001");
  tr = tb_trade("v-1", "BTCUSDT", tb_t(0));
  tr.initial_stop = -LB_DEC_INT(5);
  CHECK_EQ(store_trade_open(t->s, &tr, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.initial_stop -5");
  tr = tb_trade("v-1", "BTCUSDT", tb_t(0));
  tr.planned_rr = NAN;
  CHECK_EQ(store_trade_open(t->s, &tr, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.planned_rr nan");
  tr.planned_rr = -0.5;
  CHECK_EQ(store_trade_open(t->s, &tr, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.planned_rr -0.5");
  store_trade_exit x = {LB_DEC_INT(1), STORE_EXIT_NONE, 0, 0, 0, tb_t(0)};
  CHECK_EQ(store_trade_close(t->s, "v-1", &x, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.exit_reason");
  x.reason = STORE_EXIT_MANUAL;
  x.fees = -1;
  CHECK_EQ(store_trade_close(t->s, "v-1", &x, STORE_ASYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "trade.fees -0.00000001");
  REQUIRE_OK(store_flush(t->s, 5000, &eb));
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM trades"), 0);
}

STORE_TEST(store_trades_recent_and_time_ranges) {
  lb_errbuf eb;
  const char *syms[] = {"AUSDT", "BUSDT", "CUSDT", "DUSDT", "EUSDT"};
  for (int i = 0; i < 5; i++) {
    char id[16];
    snprintf(id, sizeof id, "r-%d", i);
    store_trade tr = tb_trade(id, syms[i], tb_t(i * LB_MS_HOUR));
    REQUIRE_OK(store_trade_open(t->s, &tr, STORE_ASYNC, &eb));
  }
  /* Close r-3 first, then r-0, then r-1. */
  int order[] = {3, 0, 1};
  for (int k = 0; k < 3; k++) {
    char id[16];
    snprintf(id, sizeof id, "r-%d", order[k]);
    store_trade_exit x = {LB_DEC_INT(50100), STORE_EXIT_SIGNAL, LB_DEC_INT(1), 0, 0,
                          tb_t(10 * LB_MS_HOUR + k * LB_MS_MINUTE)};
    REQUIRE_OK(store_trade_close(t->s, id, &x, STORE_ASYNC, &eb));
  }
  REQUIRE_OK(store_flush(t->s, 10000, &eb));
  store_trade rec[3];
  int n = 0;
  REQUIRE_OK(store_trades_recent(t->s, rec, 3, &n, &eb));
  REQUIRE_EQ(n, 3);
  CHECK_STREQ(rec[0].id, "r-4");
  CHECK_STREQ(rec[1].id, "r-3");
  CHECK_STREQ(rec[2].id, "r-2");
  store_trade *rg = NULL;
  REQUIRE_OK(store_trades_range(t->s, tb_t(LB_MS_HOUR), tb_t(4 * LB_MS_HOUR), false, &rg, &n, &eb));
  REQUIRE_EQ(n, 3);
  CHECK_STREQ(rg[0].id, "r-1");
  CHECK_STREQ(rg[2].id, "r-3");
  free(rg);
  REQUIRE_OK(store_trades_range(t->s, tb_t(0), tb_t(24 * LB_MS_HOUR), true, &rg, &n, &eb));
  REQUIRE_EQ(n, 3);
  CHECK_STREQ(rg[0].id, "r-3"); /* in closing order */
  CHECK_STREQ(rg[1].id, "r-0");
  CHECK_STREQ(rg[2].id, "r-1");
  free(rg);
  REQUIRE_OK(store_trades_range(t->s, tb_t(-LB_MS_DAY), tb_t(0), false, &rg, &n, &eb));
  CHECK_EQ(n, 0);
  CHECK(rg == NULL);
}

STORE_TEST(store_orders_and_fills_are_recorded_once) {
  lb_errbuf eb;
  store_order o = tb_order("ent-9", "ent-9", tb_t(0));
  REQUIRE_OK(store_order_record(t->s, &o, STORE_SYNC, &eb));
  REQUIRE_OK(store_order_record(t->s, &o, STORE_SYNC, &eb));
  store_order stop = tb_order("ent-9-sl", "ent-9", tb_t(1000));
  stop.kind = STORE_ORDER_STOP;
  stop.side = STORE_SELL;
  stop.type = STORE_OT_STOP_MARKET;
  stop.trigger_price = LB_DEC_INT(46500);
  stop.reduce_only = true;
  stop.status = STORE_OS_NEW;
  REQUIRE_OK(store_order_record(t->s, &stop, STORE_SYNC, &eb));
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM orders"), 2);
  REQUIRE_OK(store_order_update(t->s, "ent-9", STORE_OS_FILLED, "8389765", 1000000,
                                5000012000000, tb_t(500), STORE_SYNC, &eb));
  store_order g;
  REQUIRE_OK(store_order_get(t->s, "ent-9", &g, &eb));
  CHECK_EQ(g.status, STORE_OS_FILLED);
  CHECK_STREQ(g.exchange_id, "8389765");
  CHECK_EQ(g.filled_qty, 1000000);
  CHECK_EQ(g.avg_price, 5000012000000);
  CHECK_EQ(g.updated_at, tb_t(500));
  CHECK_EQ(g.created_at, tb_t(0));
  /* A later update without the exchange id keeps it. */
  REQUIRE_OK(store_order_update(t->s, "ent-9", STORE_OS_FILLED, NULL, -1, -1, tb_t(600), STORE_SYNC, &eb));
  REQUIRE_OK(store_order_get(t->s, "ent-9", &g, &eb));
  CHECK_STREQ(g.exchange_id, "8389765");
  CHECK_EQ(g.filled_qty, 1000000);
  CHECK_EQ(store_order_update(t->s, "ghost", STORE_OS_NEW, NULL, -1, -1, tb_t(0), STORE_SYNC, &eb),
           LB_ENOTFOUND);
  store_order list[4];
  int n = 0;
  REQUIRE_OK(store_orders_for_trade(t->s, "ent-9", list, 4, &n, &eb));
  REQUIRE_EQ(n, 2);
  CHECK_STREQ(list[0].client_id, "ent-9");
  CHECK_STREQ(list[1].client_id, "ent-9-sl");
  CHECK_EQ(list[1].type, STORE_OT_STOP_MARKET);
  CHECK_EQ(list[1].trigger_price, LB_DEC_INT(46500));
  CHECK(list[1].reduce_only);

  store_fill f = {0};
  snprintf(f.order_client_id, sizeof f.order_client_id, "ent-9");
  snprintf(f.exchange_trade_id, sizeof f.exchange_trade_id, "tr-1");
  f.qty = 600000;
  f.price = LB_DEC_INT(50000);
  f.fee = 12000000; /* 0.12 */
  f.filled_at = tb_t(400);
  REQUIRE_OK(store_fill_record(t->s, &f, STORE_SYNC, &eb));
  REQUIRE_OK(store_fill_record(t->s, &f, STORE_SYNC, &eb)); /* the stream repeated it */
  snprintf(f.exchange_trade_id, sizeof f.exchange_trade_id, "tr-2");
  f.qty = 400000;
  f.price = 5000030000000;
  f.maker = true;
  f.filled_at = tb_t(450);
  REQUIRE_OK(store_fill_record(t->s, &f, STORE_SYNC, &eb));
  store_fill sf = f; /* a venue without trade ids: identified by seq */
  sf.exchange_trade_id[0] = '\0';
  sf.seq = 1;
  snprintf(sf.order_client_id, sizeof sf.order_client_id, "ent-9-sl");
  REQUIRE_OK(store_fill_record(t->s, &sf, STORE_SYNC, &eb));
  REQUIRE_OK(store_fill_record(t->s, &sf, STORE_SYNC, &eb));
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM fills"), 3);
  sf.seq = 0;
  CHECK_EQ(store_fill_record(t->s, &sf, STORE_SYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "fill.seq 0");
  store_fill ghost = f;
  snprintf(ghost.order_client_id, sizeof ghost.order_client_id, "no-such-order");
  CHECK(store_fill_record(t->s, &ghost, STORE_SYNC, &eb) != LB_OK); /* foreign key */
  store_fill fl[4];
  REQUIRE_OK(store_fills_for_order(t->s, "ent-9", fl, 4, &n, &eb));
  REQUIRE_EQ(n, 2);
  CHECK_STREQ(fl[0].exchange_trade_id, "tr-1");
  CHECK_EQ(fl[0].qty, 600000);
  CHECK_EQ(fl[0].fee, 12000000);
  CHECK_STREQ(fl[0].fee_asset, "USDT");
  CHECK(!fl[0].maker);
  CHECK_EQ(fl[1].price, 5000030000000);
  CHECK(fl[1].maker);
  CHECK_EQ(fl[1].filled_at, tb_t(450));
}

STORE_TEST(store_positions_upsert_and_restart_recovery_list) {
  lb_errbuf eb;
  store_position p = {.state = STORE_POS_ENTERING, .updated_at = tb_t(0)};
  snprintf(p.symbol, sizeof p.symbol, "BTCUSDT");
  snprintf(p.trade_id, sizeof p.trade_id, "ent-1");
  REQUIRE_OK(store_position_put(t->s, &p, STORE_SYNC, &eb));
  p.state = STORE_POS_OPEN;
  snprintf(p.stop_client_id, sizeof p.stop_client_id, "ent-1-sl");
  snprintf(p.tp_client_id, sizeof p.tp_client_id, "ent-1-tp");
  p.updated_at = tb_t(1000);
  REQUIRE_OK(store_position_put(t->s, &p, STORE_SYNC, &eb));
  store_position eth = {.state = STORE_POS_FLAT, .updated_at = tb_t(0)};
  snprintf(eth.symbol, sizeof eth.symbol, "ETHUSDT");
  REQUIRE_OK(store_position_put(t->s, &eth, STORE_SYNC, &eb));
  store_position g;
  bool found;
  REQUIRE_OK(store_position_get(t->s, "BTCUSDT", &g, &found, &eb));
  REQUIRE(found);
  CHECK_EQ(g.state, STORE_POS_OPEN);
  CHECK_STREQ(g.trade_id, "ent-1");
  CHECK_STREQ(g.stop_client_id, "ent-1-sl");
  CHECK_STREQ(g.tp_client_id, "ent-1-tp");
  CHECK_EQ(g.updated_at, tb_t(1000));
  REQUIRE_OK(store_position_get(t->s, "SOLUSDT", &g, &found, &eb));
  CHECK(!found);
  store_position act[4];
  int n;
  REQUIRE_OK(store_positions_active(t->s, act, 4, &n, &eb));
  REQUIRE_EQ(n, 1);
  CHECK_STREQ(act[0].symbol, "BTCUSDT");
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM positions"), 2);
  store_position bad = {.state = STORE_POS_OPEN, .updated_at = tb_t(0)};
  snprintf(bad.symbol, sizeof bad.symbol, "XRPUSDT");
  CHECK_EQ(store_position_put(t->s, &bad, STORE_SYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "position.trade_id");
}

STORE_TEST(store_breaker_events_trip_resume_and_secrets_are_redacted) {
  lb_errbuf eb;
  lb_log_add_secret("sk-test-SECRET-0042");
  store_breaker_event e = {.tripped_at = tb_t(0), .resume_at = tb_t(LB_MS_DAY)};
  snprintf(e.kind, sizeof e.kind, "daily_loss");
  snprintf(e.detail, sizeof e.detail, "loss 6.1%% >= 5%% (key sk-test-SECRET-0042 leaked?)");
  REQUIRE_OK(store_breaker_trip(t->s, &e, STORE_SYNC, &eb));
  REQUIRE_OK(store_breaker_trip(t->s, &e, STORE_SYNC, &eb)); /* replay: one row */
  store_breaker_event dd = {.tripped_at = tb_t(LB_MS_HOUR)};
  snprintf(dd.kind, sizeof dd.kind, "max_drawdown");
  snprintf(dd.detail, sizeof dd.detail, "drawdown 21%% from peak 612");
  REQUIRE_OK(store_breaker_trip(t->s, &dd, STORE_SYNC, &eb));
  store_breaker_event act[8];
  int n;
  REQUIRE_OK(store_breakers_active(t->s, act, 8, &n, &eb));
  REQUIRE_EQ(n, 2);
  CHECK_STREQ(act[0].kind, "daily_loss");
  CHECK_EQ(act[0].resume_at, tb_t(LB_MS_DAY));
  CHECK_EQ(act[1].resume_at, 0);
  CHECK_NOT_CONTAINS(act[0].detail, "SECRET");
  CHECK_CONTAINS(act[0].detail, "loss 6.1%");
  CHECK_NOT_CONTAINS(tb_q(t->s, "SELECT detail FROM circuit_breaker_events WHERE kind = 'daily_loss'"),
                     "sk-test-SECRET-0042");
  REQUIRE_OK(store_breaker_resume(t->s, "daily_loss", tb_t(LB_MS_DAY), "next UTC day", STORE_SYNC, &eb));
  REQUIRE_OK(store_breakers_active(t->s, act, 8, &n, &eb));
  REQUIRE_EQ(n, 1);
  CHECK_STREQ(act[0].kind, "max_drawdown");
  /* A resume never ends a trip that happened after it. */
  store_breaker_event late = {.tripped_at = tb_t(3 * LB_MS_DAY)};
  snprintf(late.kind, sizeof late.kind, "ai_failures");
  REQUIRE_OK(store_breaker_trip(t->s, &late, STORE_SYNC, &eb));
  REQUIRE_OK(store_breaker_resume(t->s, NULL, tb_t(2 * LB_MS_DAY), "reset command", STORE_SYNC, &eb));
  REQUIRE_OK(store_breakers_active(t->s, act, 8, &n, &eb));
  REQUIRE_EQ(n, 1);
  CHECK_STREQ(act[0].kind, "ai_failures");
  REQUIRE_OK(store_breakers_recent(t->s, act, 8, &n, &eb));
  REQUIRE_EQ(n, 3);
  CHECK_STREQ(act[0].kind, "ai_failures");
  CHECK_STREQ(act[1].kind, "max_drawdown");
  CHECK_EQ(act[1].resumed_at, tb_t(2 * LB_MS_DAY));
  CHECK_STREQ(act[1].resumed_how, "reset command");
  CHECK_STREQ(act[2].resumed_how, "next UTC day");
  CHECK(act[2].id > 0);
  /* The seed's troubleshooting query. */
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM circuit_breaker_events"), 3);
  snprintf(e.kind, sizeof e.kind, "Daily Loss");
  CHECK_EQ(store_breaker_trip(t->s, &e, STORE_SYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "breaker.kind");
  lb_log_clear_secrets();
}

STORE_TEST(store_equity_snapshots_roundtrip_once_per_timestamp) {
  lb_errbuf eb;
  for (int i = 0; i < 4; i++) {
    store_equity q = {tb_t(i * LB_MS_MINUTE), LB_DEC_INT(100) + i * 12345678, LB_DEC_INT(100),
                      i * 12345678};
    REQUIRE_OK(store_equity_record(t->s, &q, STORE_ASYNC, &eb));
    REQUIRE_OK(store_equity_record(t->s, &q, STORE_ASYNC, &eb));
  }
  REQUIRE_OK(store_flush(t->s, 10000, &eb));
  store_equity *eq = NULL;
  int n = 0;
  REQUIRE_OK(store_equity_range(t->s, tb_t(LB_MS_MINUTE), tb_t(10 * LB_MS_MINUTE), &eq, &n, &eb));
  REQUIRE_EQ(n, 3);
  CHECK_EQ(eq[0].ts, tb_t(LB_MS_MINUTE));
  CHECK_EQ(eq[2].equity, LB_DEC_INT(100) + 3 * 12345678);
  CHECK_EQ(eq[2].unrealized_pnl, 3 * 12345678);
  CHECK_EQ(eq[2].capital, LB_DEC_INT(100));
  free(eq);
}

STORE_TEST(store_notification_outbox_survives_and_tracks_attempts) {
  lb_errbuf eb;
  lb_log_add_secret("tg-token-987654321");
  char id1[STORE_ID_MAX], id2[STORE_ID_MAX];
  REQUIRE_OK(store_outbox_enqueue(t->s, "telegram", "critical", "stop not confirmed: closing",
                                  tb_t(0), id1, STORE_SYNC, &eb));
  REQUIRE_OK(store_outbox_enqueue(t->s, "", "warning", "bot token tg-token-987654321 rejected",
                                  tb_t(10), id2, STORE_SYNC, &eb));
  CHECK(strcmp(id1, id2) != 0);
  /* A new handle (a restart) sees them. */
  store *after = tb_open(t, NULL);
  store_note notes[4];
  int n;
  REQUIRE_OK(store_outbox_pending(after, tb_t(20), notes, 4, &n, &eb));
  REQUIRE_EQ(n, 2);
  CHECK_STREQ(notes[0].id, id1);
  CHECK_STREQ(notes[0].channel, "telegram");
  CHECK_STREQ(notes[0].severity, "critical");
  CHECK_STREQ(notes[0].text, "stop not confirmed: closing");
  CHECK_EQ(notes[0].attempts, 0);
  CHECK_NOT_CONTAINS(notes[1].text, "987654321");
  REQUIRE_OK(store_outbox_mark_attempt(after, id1, 1, tb_t(60000), "HTTP 502", STORE_SYNC, &eb));
  REQUIRE_OK(store_outbox_pending(after, tb_t(20), notes, 4, &n, &eb));
  REQUIRE_EQ(n, 1);
  CHECK_STREQ(notes[0].id, id2);
  REQUIRE_OK(store_outbox_pending(after, tb_t(60000), notes, 4, &n, &eb));
  REQUIRE_EQ(n, 2);
  CHECK_EQ(notes[0].attempts, 1);
  CHECK_STREQ(notes[0].last_error, "HTTP 502");
  REQUIRE_OK(store_outbox_mark_delivered(after, id1, tb_t(61000), STORE_SYNC, &eb));
  REQUIRE_OK(store_outbox_pending(after, tb_t(120000), notes, 4, &n, &eb));
  REQUIRE_EQ(n, 1);
  CHECK_EQ(store_outbox_mark_delivered(after, "note-nope", tb_t(0), STORE_SYNC, &eb), LB_ENOTFOUND);
  CHECK_EQ(store_outbox_enqueue(after, "", "loud", "x", tb_t(0), NULL, STORE_SYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "note.severity \"loud\"");
  lb_log_clear_secrets();
}
