/* test_report.c -- `levbot report` shows the R the plan promised, also for trades whose stop trailed.
 *
 * The bot's own run prints the engine's report over the trades it made (R
 * multiples from each trade's planned loss at the stop, computed by risk
 * at the entry); `levbot report` rebuilds the same report from the
 * database.  A trailing stop moves trades.stop_price, so the report must
 * take R and the planned R:R from what the trade recorded when it opened,
 * and say "unknown" for a trade recorded without them (a database from
 * before migration 4), never count them as 0.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit.h"

static json_t *report_json(lbot *b, char **text) {
  char path[800], args[1024];
  snprintf(path, sizeof path, "%s/report.json", b->dir);
  snprintf(args, sizeof args, "report --json %s", path);
  REQUIRE_EQ(lbot_cli(b, args, text), 0);
  json_error_t je;
  json_t *r = json_load_file(path, 0, &je);
  REQUIRE(r != NULL);
  return r;
}

/* One column of the i-th closed trade in closing order (the report's order). */
static char *closed_col(const lbot *b, const char *col, size_t i) {
  char sql[256];
  snprintf(sql, sizeof sql, "SELECT %s FROM trades WHERE status = 'CLOSED' ORDER BY closed_at, id "
                            "LIMIT 1 OFFSET %zu", col, i);
  return lbot_sql(b, sql);
}

TEST(bot_report_shows_the_planned_r_of_trades_whose_stop_trailed) {
  lbot b;
  lbot_init(&b, "report_plan_r", NULL, NULL);
  char args[1024], *run = NULL;
  snprintf(args, sizeof args, "run --paper --replay %s --speed max", lbt_source_path(MONTH_5M));
  REQUIRE_EQ(lbot_cli(&b, args, &run), 0);
  /* What the engine computed over its own trades, at the end of the run. */
  char exp_run[256], rr_run[256];
  text_line(run, "Expectancy", exp_run, sizeof exp_run);
  text_line(run, "Average R:R", rr_run, sizeof rr_run);
  free(run);
  REQUIRE(exp_run[0] && rr_run[0]);
  CHECK_NOT_CONTAINS(rr_run, "unknown");
  CHECK_NOT_CONTAINS(rr_run, " 0.00 : 1");
  long closed = lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE status = 'CLOSED'");
  REQUIRE(closed >= 3);
  /* The month has trades whose stop the trailing moved before they closed. */
  long trailed = lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE status = 'CLOSED' AND "
                                   "exit_reason = 'trailing_stop' AND stop_price <> initial_stop");
  REQUIRE(trailed >= 1);
  CHECK_EQ(lbot_sql_long(&b, "SELECT COUNT(*) FROM trades WHERE loss_at_stop IS NULL OR "
                             "planned_rr IS NULL OR initial_stop IS NULL"),
           0);

  /* The report from the database: the engine's figures, to the printed digit. */
  char *text = NULL;
  json_t *r = report_json(&b, &text);
  char exp_db[256], rr_db[256];
  CHECK_STREQ(text_line(text, "Expectancy", exp_db, sizeof exp_db), exp_run);
  CHECK_STREQ(text_line(text, "Average R:R", rr_db, sizeof rr_db), rr_run);
  free(text);
  /* ... and per trade, the plan the row kept, independently re-averaged. */
  json_t *trades = json_object_get(r, "trades");
  REQUIRE_EQ((long)json_array_size(trades), closed);
  double r_sum = 0, rr_sum = 0, r_first = 0, rr_first = 0;
  int checked_trailed = 0;
  for (size_t i = 0; i < json_array_size(trades); i++) {
    const json_t *t = json_array_get(trades, i);
    char *loss = closed_col(&b, "loss_at_stop", i), *rr = closed_col(&b, "planned_rr", i);
    char *init = closed_col(&b, "initial_stop", i), *stop = closed_col(&b, "stop_price", i);
    REQUIRE(loss && rr && init && stop);
    lb_dec l = jdec(t, "loss_at_stop");
    CHECK_EQ(l, dec_of(loss));
    CHECK_EQ(jdec(t, "initial_stop"), dec_of(init));
    CHECK_EQ(jdec(t, "stop"), dec_of(stop));
    CHECK_NEAR(json_real_value(json_object_get(t, "planned_rr")), strtod(rr, NULL), 1e-9);
    /* R is the distance to the initial stop (plus fees and slippage), not
     * to where the trailing stop ended */
    lb_dec qty = jdec(t, "qty"), entry = jdec(t, "entry_price");
    double dist = lb_dec_to_double(qty) * fabs(lb_dec_to_double(entry - dec_of(init)));
    double loss_d = lb_dec_to_double(l);
    CHECK(loss_d > dist && loss_d < 1.5 * dist);
    if (dec_of(stop) != dec_of(init)) {
      /* a trailing stop only tightens: toward the entry and beyond */
      bool is_long = strcmp(json_string_value(json_object_get(t, "side")), "LONG") == 0;
      CHECK(is_long ? dec_of(stop) > dec_of(init) : dec_of(stop) < dec_of(init));
      checked_trailed++;
    }
    double r_mult = lb_dec_to_double(jdec(t, "net_pnl")) / loss_d;
    r_sum += r_mult;
    rr_sum += strtod(rr, NULL);
    if (i == 0) {
      r_first = r_mult;
      rr_first = strtod(rr, NULL);
    }
    free(loss);
    free(rr);
    free(init);
    free(stop);
  }
  CHECK(checked_trailed >= 1);
  const json_t *sum = json_object_get(r, "summary");
  CHECK_NEAR(json_real_value(json_object_get(sum, "expectancy_r")), r_sum / (double)closed, 1e-9);
  CHECK_NEAR(json_real_value(json_object_get(sum, "avg_planned_rr")), rr_sum / (double)closed, 1e-9);
  char want[64];
  snprintf(want, sizeof want, "(%+.2f R)", r_sum / (double)closed);
  CHECK_CONTAINS(exp_db, want);
  json_decref(r);

  /* A trade recorded without its plan (before migration 4) is left out of
   * the R figures, and they say over how many trades they are. */
  lbot_sql_exec(&b, "UPDATE trades SET initial_stop = NULL, loss_at_stop = NULL, planned_rr = NULL "
               "WHERE id = (SELECT id FROM trades WHERE status = 'CLOSED' ORDER BY closed_at, id "
               "LIMIT 1)");
  r = report_json(&b, &text);
  snprintf(want, sizeof want, "over %ld of %ld trades", closed - 1, closed);
  CHECK_CONTAINS(text_line(text, "Expectancy", exp_db, sizeof exp_db), want);
  CHECK_CONTAINS(text_line(text, "Average R:R", rr_db, sizeof rr_db), want);
  free(text);
  const json_t *first = json_array_get(json_object_get(r, "trades"), 0);
  CHECK(json_is_null(json_object_get(first, "loss_at_stop")));
  CHECK(json_is_null(json_object_get(first, "planned_rr")));
  CHECK(json_is_null(json_object_get(first, "initial_stop")));
  sum = json_object_get(r, "summary");
  CHECK_NEAR(json_real_value(json_object_get(sum, "expectancy_r")), (r_sum - r_first) / (double)(closed - 1),
             1e-9);
  CHECK_NEAR(json_real_value(json_object_get(sum, "avg_planned_rr")),
             (rr_sum - rr_first) / (double)(closed - 1), 1e-9);
  json_decref(r);

  /* None recorded: unknown, not 0. */
  lbot_sql_exec(&b, "UPDATE trades SET initial_stop = NULL, loss_at_stop = NULL, planned_rr = NULL");
  r = report_json(&b, &text);
  CHECK_CONTAINS(text_line(text, "Average R:R", rr_db, sizeof rr_db),
                 "unknown planned  (R unknown realized on average)");
  CHECK_CONTAINS(text_line(text, "Expectancy", exp_db, sizeof exp_db), "(R unknown)");
  free(text);
  sum = json_object_get(r, "summary");
  CHECK(json_is_null(json_object_get(sum, "expectancy_r")));
  CHECK(json_is_null(json_object_get(sum, "avg_planned_rr")));
  json_decref(r);
}
