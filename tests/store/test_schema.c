/* test_schema.c -- migrations, constraints, exact money: the schema on both back ends. */
#include <stdlib.h>
#include <sys/stat.h>

#include "tb.h"

STORE_TEST(store_migrations_are_recorded_once_and_rerun_is_a_noop) {
  int v = 0, applied = -1;
  lb_errbuf eb;
  REQUIRE_OK(store_schema_version(t->s, &v, &eb));
  CHECK_EQ(v, STORE_SCHEMA_VERSION);
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM schema_migrations"), STORE_SCHEMA_VERSION);
  CHECK_STREQ(tb_q(t->s, "SELECT name FROM schema_migrations WHERE version = 1"), "ledger");
  REQUIRE_OK(store_migrate(t->s, &applied, &eb));
  CHECK_EQ(applied, 0);
  /* A second handle with migrate on: still one row per migration. */
  store *again = tb_open(t, NULL);
  CHECK_EQ(tb_count(again, "SELECT COUNT(*) FROM schema_migrations"), STORE_SCHEMA_VERSION);
  /* Every table the documentation lists is there. */
  for (const char *const *tab = store_tables; *tab; tab++) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM %s", *tab);
    lb_errbuf e2;
    char *out = NULL;
    if (store_query_text(t->s, sql, &out, &e2) != LB_OK)
      lbt_fail(__FILE__, __LINE__, "[%s] table %s: %s", t->bname, *tab, e2.msg);
    free(out);
  }
}

STORE_TEST(store_empty_database_is_refused_until_migrated) {
  char url[1024];
  tb_new_db(t, url, sizeof url);
  store_options o = tb_options(t);
  o.migrate = false;
  store *s = NULL;
  lb_errbuf eb = {{0}};
  lb_err e = store_open(url, &o, &s, &eb);
  CHECK(e != LB_OK);
  CHECK(s == NULL);
  CHECK_CONTAINS(eb.msg, "levbot setup-db");
  o.migrate = true;
  REQUIRE_OK(store_open(url, &o, &s, &eb));
  int v = 0;
  CHECK_OK(store_schema_version(s, &v, &eb));
  CHECK_EQ(v, STORE_SCHEMA_VERSION);
  store_close(s);
  /* Now it opens without migrate too. */
  o.migrate = false;
  CHECK_OK(store_open(url, &o, &s, &eb));
  store_close(s);
}

STORE_TEST(store_database_newer_than_the_binary_is_refused) {
  lb_errbuf eb = {{0}};
  REQUIRE_OK(store_exec_sql(t->s,
                            "INSERT INTO schema_migrations (version, name, applied_at) "
                            "VALUES (99, 'from the future', '2030-01-01T00:00:00.000Z')",
                            NULL, &eb));
  int applied = 0;
  lb_err e = store_migrate(t->s, &applied, &eb);
  CHECK_EQ(e, LB_ESTATE);
  CHECK_CONTAINS(eb.msg, "version 99");
  CHECK_CONTAINS(eb.msg, "newer than this levbot");
  store_options o = tb_options(t);
  store *s = NULL;
  e = store_open(t->url, &o, &s, &eb);
  CHECK_EQ(e, LB_ESTATE);
  CHECK_CONTAINS(eb.msg, "upgrade levbot");
  CHECK(s == NULL);
}

/* A database an earlier levbot (schema version 3) left, with its rows as
 * that version wrote them, opened by this one: migration 4 adds the trade
 * plan's columns and every row stays as it was, its plan unknown. */
STORE_TEST(store_migration_3_to_4_keeps_the_rows_of_a_version_3_database) {
  char url[1024];
  tb_new_db(t, url, sizeof url);
  store_options o = tb_options(t);
  o.migrate_to = 3;
  store *old = NULL;
  lb_errbuf eb = {{0}};
  REQUIRE_OK(store_open(url, &o, &old, &eb));
  int v = 0;
  REQUIRE_OK(store_schema_version(old, &v, &eb));
  REQUIRE_EQ(v, 3);
  char *cell = NULL;
  CHECK(store_query_text(old, "SELECT loss_at_stop FROM trades", &cell, &eb) != LB_OK); /* not yet */
  REQUIRE_OK(store_config_init(old, LB_DEC_INT(500), STORE_LIVE, tb_t(0), NULL, &eb));
  /* trades as version 3 wrote them (its INSERT had no plan columns) */
  REQUIRE_OK(store_exec_sql(old,
                            "INSERT INTO trades (id, symbol, side, qty, entry_price, leverage, "
                            "stop_price, take_profit, liquidation_price, margin, ai_confidence, "
                            "consensus_id, opened_at, status) VALUES ('lb-1-E', 'BTCUSDT', 'LONG', "
                            "'0.01', '50000', 3, '47000', '56000', '33500', '166.66666667', 0.85, "
                            "'c-1', '2026-01-15T00:00:00.000Z', 'OPEN')",
                            NULL, &eb));
  REQUIRE_OK(store_exec_sql(old,
                            "INSERT INTO trades (id, symbol, side, qty, entry_price, leverage, "
                            "stop_price, margin, opened_at, status) VALUES ('lb-0-E', 'ETHUSDT', "
                            "'SHORT', '0.5', '3000', 2, '3210', '750', "
                            "'2026-01-14T00:00:00.000Z', 'OPEN')",
                            NULL, &eb));
  store_trade_exit x = {.exit_price = LB_DEC_INT(2900), .reason = STORE_EXIT_TAKE_PROFIT,
                        .realized_pnl = LB_DEC_INT(50), .fees = 123456789, .funding = -1000,
                        .closed_at = tb_t(-LB_MS_HOUR)};
  REQUIRE_OK(store_trade_close(old, "lb-0-E", &x, STORE_SYNC, &eb));
  store_order ord = tb_order("lb-1-E", "lb-1-E", tb_t(0));
  REQUIRE_OK(store_order_record(old, &ord, STORE_SYNC, &eb));
  store_fill f = {.order_client_id = "lb-1-E", .exchange_trade_id = "x-1", .qty = 1000000,
                  .price = LB_DEC_INT(50000), .fee = 20000000, .fee_asset = "USDT",
                  .filled_at = tb_t(0)};
  REQUIRE_OK(store_fill_record(old, &f, STORE_SYNC, &eb));
  store_close(old);

  /* This levbot refuses the old schema until it is migrated ... */
  o.migrate_to = 0;
  o.migrate = false;
  store *s = NULL;
  CHECK_EQ(store_open(url, &o, &s, &eb), LB_ESTATE);
  CHECK_CONTAINS(eb.msg, "version 3");
  CHECK_CONTAINS(eb.msg, "levbot setup-db");
  /* ... and migrates it (what setup-db and the bot do). */
  o.migrate = true;
  REQUIRE_OK(store_open(url, &o, &s, &eb));
  REQUIRE_OK(store_schema_version(s, &v, &eb));
  CHECK_EQ(v, 4);
  CHECK_STREQ(tb_q(s, "SELECT name FROM schema_migrations WHERE version = 4"), "trade_plan");
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM trades"), 2);
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM trades WHERE initial_stop IS NULL AND "
                       "loss_at_stop IS NULL AND planned_rr IS NULL"),
           2);
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM orders"), 1);
  CHECK_EQ(tb_count(s, "SELECT COUNT(*) FROM fills"), 1);
  store_trading_config tc;
  REQUIRE_OK(store_config_get(s, &tc, &eb));
  CHECK_EQ(tc.initial_capital, LB_DEC_INT(500));
  CHECK_EQ(tc.mode, STORE_LIVE);
  store_trade g;
  REQUIRE_OK(store_trade_get(s, "lb-1-E", &g, &eb));
  CHECK_EQ(g.status, STORE_TRADE_OPEN);
  CHECK_EQ(g.side, STORE_LONG);
  CHECK_EQ(g.qty, 1000000);
  CHECK_EQ(g.entry_price, LB_DEC_INT(50000));
  CHECK_EQ(g.stop_price, LB_DEC_INT(47000));
  CHECK_EQ(g.take_profit, LB_DEC_INT(56000));
  CHECK_EQ(g.margin, 16666666667);
  CHECK_NEAR(g.ai_confidence, 0.85, 0);
  CHECK_STREQ(g.consensus_id, "c-1");
  CHECK_EQ(g.initial_stop, 0); /* unknown, not invented */
  CHECK_EQ(g.loss_at_stop, 0);
  CHECK(g.planned_rr == 0);
  REQUIRE_OK(store_trade_get(s, "lb-0-E", &g, &eb));
  CHECK_EQ(g.status, STORE_TRADE_CLOSED);
  CHECK_EQ(store_trade_net_pnl(&g), LB_DEC_INT(50) - 123456789 - 1000);
  CHECK_EQ(g.closed_at, tb_t(-LB_MS_HOUR));
  /* The upgraded database takes the new writes: the old open trade's stop
   * moves, a new trade keeps its plan. */
  REQUIRE_OK(store_trade_move_stop(s, "lb-1-E", LB_DEC_INT(49000), STORE_SYNC, &eb));
  x.closed_at = tb_t(LB_MS_HOUR / 2);
  REQUIRE_OK(store_trade_close(s, "lb-1-E", &x, STORE_SYNC, &eb));
  store_trade nt = tb_trade("lb-2-E", "BTCUSDT", tb_t(LB_MS_HOUR));
  nt.initial_stop = LB_DEC_INT(46500);
  nt.loss_at_stop = LB_DEC_INT(37);
  nt.planned_rr = 1.5;
  REQUIRE_OK(store_trade_open(s, &nt, STORE_SYNC, &eb));
  REQUIRE_OK(store_trade_get(s, "lb-2-E", &g, &eb));
  CHECK_EQ(g.loss_at_stop, LB_DEC_INT(37));
  CHECK_NEAR(g.planned_rr, 1.5, 0);
  store_close(s);
}

/* A journal an earlier levbot left (its trade write names trade_open with
 * the 13 parameters of version 3) still replays after the upgrade. */
STORE_TEST(store_journal_written_before_migration_4_replays_its_trade) {
  store_close(t->s); /* the journal belongs to the handle that opens next */
  t->s = NULL;
  FILE *jf = fopen(t->journal, "w");
  REQUIRE(jf);
  fputs("{\"seq\":1,\"what\":\"trade\",\"steps\":[{\"op\":\"trade_open\",\"expect\":0,"
        "\"p\":[\"lb-7-E\",\"BTCUSDT\",\"LONG\",\"0.01\",\"50000\",\"3\",\"47000\",null,null,"
        "\"166.66666667\",\"0.9\",null,\"2026-01-15T00:00:00.000Z\"]}]}\n",
        jf);
  fclose(jf);
  store_options o = tb_options(t);
  store *s = tb_open(t, &o);
  lb_errbuf eb;
  REQUIRE_OK(store_flush(s, 20000, &eb));
  store_trade g;
  REQUIRE_OK(store_trade_get(s, "lb-7-E", &g, &eb));
  CHECK_EQ(g.stop_price, LB_DEC_INT(47000));
  CHECK_EQ(g.loss_at_stop, 0); /* unknown */
  CHECK(g.planned_rr == 0);
  struct stat st;
  REQUIRE(stat(t->journal, &st) == 0);
  CHECK_EQ(st.st_size, 0);
}

/* Raw rows, each breaking exactly one rule of a valid control row. */
#define TS "'2026-01-15T00:00:00.000Z'"
#define TS2 "'2026-01-15T01:00:00.000Z'"
static const char *const trade_ok =
    "INSERT INTO trades (id, symbol, side, qty, entry_price, leverage, stop_price, margin, "
    "opened_at) VALUES ('%s', '%s', '%s', '%s', '%s', %s, '%s', '%s', " TS ")";

static void trade_sql(char *buf, size_t n, const char *id, const char *sym, const char *side,
                      const char *qty, const char *entry, const char *lev, const char *stop,
                      const char *margin) {
  snprintf(buf, n, trade_ok, id, sym, side, qty, entry, lev, stop, margin);
}

static void expect_refused(tb *t, const char *what, const char *sql) {
  lb_errbuf eb = {{0}};
  if (store_exec_sql(t->s, sql, NULL, &eb) == LB_OK)
    lbt_fail(__FILE__, __LINE__, "[%s] %s was accepted: %s", t->bname, what, sql);
}

static void expect_ok(tb *t, const char *sql) {
  lb_errbuf eb = {{0}};
  if (store_exec_sql(t->s, sql, NULL, &eb) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "[%s] control row refused: %s: %s", t->bname, sql, eb.msg);
}

STORE_TEST(store_schema_constraints_reject_bad_rows) {
  char sql[1024];
  trade_sql(sql, sizeof sql, "ok1", "BTCUSDT", "LONG", "0.01", "50000", "3", "46500", "166.67");
  expect_ok(t, sql);
  trade_sql(sql, sizeof sql, "b1", "ETHUSDT", "UP", "0.01", "50000", "3", "46500", "166.67");
  expect_refused(t, "side UP", sql);
  trade_sql(sql, sizeof sql, "b2", "ETHUSDT", "LONG", "0.01", "50000", "0", "46500", "166.67");
  expect_refused(t, "leverage 0", sql);
  trade_sql(sql, sizeof sql, "b3", "ETHUSDT", "LONG", "0", "50000", "3", "46500", "166.67");
  expect_refused(t, "qty 0", sql);
  trade_sql(sql, sizeof sql, "b4", "ETHUSDT", "LONG", "0.01", "-1", "3", "46500", "166.67");
  expect_refused(t, "entry price -1", sql);
  trade_sql(sql, sizeof sql, "b5", "ETHUSDT", "LONG", "0.01", "50000", "3", "0", "166.67");
  expect_refused(t, "stop 0", sql);
  trade_sql(sql, sizeof sql, "b6", "ETHUSDT", "LONG", "0.01", "50000", "3", "46500", "abc");
  expect_refused(t, "margin abc", sql);
  trade_sql(sql, sizeof sql, "b7", "BTCUSDT", "SHORT", "0.01", "50000", "3", "53500", "166.67");
  expect_refused(t, "a second open trade on BTCUSDT", sql);
  trade_sql(sql, sizeof sql, "ok1", "ETHUSDT", "LONG", "0.01", "50000", "3", "46500", "166.67");
  expect_refused(t, "a duplicate trade id", sql);
  expect_refused(t, "CLOSED without exit fields",
                 "UPDATE trades SET status = 'CLOSED' WHERE id = 'ok1'");
  expect_refused(t, "negative fees",
                 "UPDATE trades SET status = 'CLOSED', exit_price = '51000', exit_reason = "
                 "'take_profit', realized_pnl = '10', fees = '-1', funding = '0', closed_at = " TS2
                 " WHERE id = 'ok1'");
  expect_refused(t, "closed before opened",
                 "UPDATE trades SET status = 'CLOSED', exit_price = '51000', exit_reason = "
                 "'take_profit', realized_pnl = '10', fees = '1', funding = '0', closed_at = "
                 "'2026-01-14T00:00:00.000Z' WHERE id = 'ok1'");
  expect_refused(t, "unknown exit reason",
                 "UPDATE trades SET status = 'CLOSED', exit_price = '51000', exit_reason = "
                 "'luck', realized_pnl = '10', fees = '1', funding = '0', closed_at = " TS2
                 " WHERE id = 'ok1'");
  expect_ok(t, "UPDATE trades SET status = 'CLOSED', exit_price = '51000', exit_reason = "
               "'take_profit', realized_pnl = '10', fees = '1', funding = '0', closed_at = " TS2
               " WHERE id = 'ok1'");

  expect_ok(t, "INSERT INTO orders (client_id, symbol, kind, side, type, qty, status, created_at, "
               "updated_at) VALUES ('o1', 'BTCUSDT', 'entry', 'BUY', 'MARKET', '0.01', 'NEW', " TS
               ", " TS ")");
  expect_refused(t, "LIMIT order without price",
                 "INSERT INTO orders (client_id, symbol, kind, side, type, qty, status, "
                 "created_at, updated_at) VALUES ('o2', 'BTCUSDT', 'entry', 'BUY', 'LIMIT', "
                 "'0.01', 'NEW', " TS ", " TS ")");
  expect_refused(t, "STOP_MARKET without trigger",
                 "INSERT INTO orders (client_id, symbol, kind, side, type, qty, status, "
                 "created_at, updated_at) VALUES ('o3', 'BTCUSDT', 'stop', 'SELL', "
                 "'STOP_MARKET', '0.01', 'NEW', " TS ", " TS ")");
  expect_refused(t, "order status DONE",
                 "INSERT INTO orders (client_id, symbol, kind, side, type, qty, status, "
                 "created_at, updated_at) VALUES ('o4', 'BTCUSDT', 'entry', 'BUY', 'MARKET', "
                 "'0.01', 'DONE', " TS ", " TS ")");
  expect_ok(t, "INSERT INTO fills (order_client_id, exchange_trade_id, qty, price, fee, "
               "fee_asset, realized_pnl, maker, filled_at) VALUES ('o1', 'x1', '0.01', '50000', "
               "'0.2', 'USDT', '0', 0, " TS ")");
  expect_refused(t, "a fill of an unknown order (foreign key)",
                 "INSERT INTO fills (order_client_id, exchange_trade_id, qty, price, fee, "
                 "fee_asset, realized_pnl, maker, filled_at) VALUES ('nope', 'x2', '0.01', "
                 "'50000', '0.2', 'USDT', '0', 0, " TS ")");
  expect_refused(t, "a fill with neither trade id nor seq",
                 "INSERT INTO fills (order_client_id, qty, price, fee, fee_asset, realized_pnl, "
                 "maker, filled_at) VALUES ('o1', '0.01', '50000', '0.2', 'USDT', '0', 0, " TS ")");
  expect_refused(t, "the same exchange trade id twice",
                 "INSERT INTO fills (order_client_id, exchange_trade_id, qty, price, fee, "
                 "fee_asset, realized_pnl, maker, filled_at) VALUES ('o1', 'x1', '0.01', "
                 "'50000', '0.2', 'USDT', '0', 0, " TS ")");
  expect_refused(t, "position OPEN without trade",
                 "INSERT INTO positions (symbol, state, updated_at) VALUES ('BTCUSDT', 'OPEN', " TS ")");
  expect_refused(t, "a second trading_config row",
                 "INSERT INTO trading_config (id, initial_capital, current_capital, mode, "
                 "updated_at) VALUES (2, '100', '100', 'paper', " TS ")");
  expect_refused(t, "trading mode 'demo'",
                 "INSERT INTO trading_config (id, initial_capital, current_capital, mode, "
                 "updated_at) VALUES (1, '100', '100', 'demo', " TS ")");
  expect_refused(t, "breaker resuming before it tripped",
                 "INSERT INTO circuit_breaker_events (kind, tripped_at, resume_at) VALUES "
                 "('daily_loss', " TS2 ", " TS ")");
  expect_refused(t, "an AI decision with neither answer nor error",
                 "INSERT INTO ai_decisions (id, provider, model, symbol, latency_ms, attempts, "
                 "cached, created_at) VALUES ('d1', 'anthropic', 'm', 'BTCUSDT', 10, 1, 0, " TS ")");
  expect_refused(t, "a cache row expiring before it was made",
                 "INSERT INTO ai_analysis_cache (key, symbol, model, response, created_at, "
                 "expires_at) VALUES ('k', 'BTCUSDT', 'm', 'r', " TS2 ", " TS ")");
  expect_refused(t, "notification severity 'loud'",
                 "INSERT INTO notification_outbox (id, severity, body, created_at, "
                 "next_attempt_at) VALUES ('n1', 'loud', 'x', " TS ", " TS ")");
  if (t->backend == STORE_BACKEND_SQLITE) /* PostgreSQL parses it as a real timestamp */
    expect_refused(t, "a timestamp not in the one sortable text form",
                   "INSERT INTO equity_snapshots (ts, equity, capital, unrealized_pnl) VALUES "
                   "('2026-1-5 3:00', '1', '1', '0')");
}

STORE_TEST(store_money_is_exact_decimal_never_float) {
  lb_errbuf eb;
  store_trade tr = tb_trade("exact-1", "BTCUSDT", tb_t(0));
  tr.qty = 1;                              /* 0.00000001 */
  /* The largest lb_dec, every one of its 19 digits significant. */
  tr.entry_price = LB_DEC_MAX; /* 92233720368.54775807 */
  tr.stop_price = INT64_C(1);              /* 0.00000001 */
  REQUIRE_OK(store_trade_open(t->s, &tr, STORE_SYNC, &eb));
  store_trade back;
  REQUIRE_OK(store_trade_get(t->s, "exact-1", &back, &eb));
  CHECK_EQ(back.qty, 1);
  CHECK_EQ(back.entry_price, tr.entry_price);
  CHECK_EQ(back.stop_price, 1);
  CHECK_EQ(back.margin, tr.margin);
  if (t->backend == STORE_BACKEND_SQLITE) {
    CHECK_STREQ(tb_q(t->s, "SELECT typeof(entry_price) FROM trades"), "text");
    CHECK_STREQ(tb_q(t->s, "SELECT entry_price FROM trades"), "92233720368.54775807");
  } else {
    CHECK_STREQ(tb_q(t->s, "SELECT pg_typeof(entry_price)::text FROM trades"), "numeric");
    CHECK_STREQ(tb_q(t->s, "SELECT entry_price FROM trades"), "92233720368.54775807");
  }
  /* The operator's troubleshooting query reads naturally on both. */
  bool created;
  REQUIRE_OK(store_config_init(t->s, 10050000000, STORE_PAPER, tb_t(0), &created, &eb));
  lb_dec cap;
  REQUIRE_OK(lb_dec_parse(tb_q(t->s, "SELECT current_capital FROM trading_config"), &cap));
  CHECK_EQ(cap, 10050000000); /* 100.5 */
}
