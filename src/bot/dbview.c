/* dbview.c -- the database seen by `levbot status` and `levbot report` (no instance lock taken).
 *
 * The report reuses the backtest's collector (engine/report.h): the closed
 * trades and the equity marks the bot recorded are fed to it as the engine
 * would have, so a live or paper run is judged by exactly the figures and
 * renderings a backtest is.
 */
#include <stdlib.h>
#include <string.h>

#include "bot/bot_int.h"

lb_err bot_db_status_read(store *s, lb_ms now, bot_db_status *out, lb_errbuf *eb) {
  memset(out, 0, sizeof *out);
  lb_err rc = store_config_get(s, &out->config, eb);
  if (!rc) rc = store_trade_get_open(s, NULL, &out->open, &out->has_open, eb);
  if (!rc && out->has_open) {
    bool found = false;
    rc = store_position_get(s, out->open.symbol, &out->position, &found, eb);
    if (!found) memset(&out->position, 0, sizeof out->position);
  }
  if (!rc) rc = store_metrics_get(s, now, &out->metrics, eb);
  if (!rc) rc = store_breakers_active(s, out->breakers, 8, &out->n_breakers, eb);
  if (!rc) rc = store_trades_recent(s, out->recent, 5, &out->n_recent, eb);
  return rc;
}

static engine_exit_reason engine_reason(store_exit_reason r) {
  switch (r) {
  case STORE_EXIT_STOP_LOSS: return ENGINE_EXIT_STOP;
  case STORE_EXIT_TRAILING_STOP: return ENGINE_EXIT_TRAILING_STOP;
  case STORE_EXIT_TAKE_PROFIT: return ENGINE_EXIT_TAKE_PROFIT;
  case STORE_EXIT_LIQUIDATION: return ENGINE_EXIT_LIQUIDATION;
  case STORE_EXIT_NO_STOP: return ENGINE_EXIT_NO_STOP;
  case STORE_EXIT_MANUAL:
  case STORE_EXIT_SHUTDOWN: return ENGINE_EXIT_MANUAL;
  default: return ENGINE_EXIT_EXTERNAL;
  }
}

static void to_engine_trade(const store_trade *st, engine_trade *t) {
  memset(t, 0, sizeof *t);
  t->id = bot_cid_trade(st->id, NULL, NULL);
  snprintf(t->symbol, sizeof t->symbol, "%s", st->symbol);
  t->side = st->side == STORE_SHORT ? LB_ACTION_SHORT : LB_ACTION_LONG;
  t->leverage = st->leverage;
  t->entry_time = st->opened_at;
  t->exit_time = st->closed_at;
  t->qty = st->qty;
  t->entry_price = st->entry_price;
  t->exit_price = st->exit_price;
  /* The plan as recorded when the trade opened (0 = unknown: the report
   * leaves such a trade out of its R figures); stop_price is where the
   * trailing stop ended. */
  t->initial_stop = st->initial_stop;
  t->stop = st->stop_price;
  t->loss_at_stop = st->loss_at_stop;
  t->planned_rr = st->planned_rr;
  t->take_profit = st->take_profit;
  t->liquidation = st->liquidation_price;
  t->margin = st->margin;
  t->realized_pnl = st->realized_pnl;
  t->fees = st->fees;
  t->funding = st->funding;
  t->confidence = st->ai_confidence;
  t->exit_reason = engine_reason(st->exit_reason);
}

lb_err bot_db_report(store *s, const engine_report_info *info, lb_ms from, lb_ms to,
                     engine_report **out, lb_errbuf *eb) {
  *out = NULL;
  store_trading_config tc;
  lb_err rc = store_config_get(s, &tc, eb);
  if (rc) return rc;
  store_trade *tr = NULL;
  store_equity *eq = NULL;
  int nt = 0, ne = 0;
  rc = store_trades_range(s, from, to, true, &tr, &nt, eb);
  if (!rc) rc = store_equity_range(s, from, to, &eq, &ne, eb);
  if (rc) goto out;
  int closed = 0;
  for (int i = 0; i < nt; i++) closed += tr[i].status == STORE_TRADE_CLOSED;
  if (closed == 0) {
    rc = lb_fail(eb, LB_ENOTFOUND, "no trade closed in the period");
    goto out;
  }
  engine_report_info in = *info;
  /* the capital before the first trade of the period */
  in.initial_capital = tc.initial_capital;
  if (from > 0) {
    store_trade *before = NULL;
    int nb = 0;
    if (store_trades_range(s, 0, from, true, &before, &nb, eb) == LB_OK)
      for (int i = 0; i < nb; i++)
        if (before[i].status == STORE_TRADE_CLOSED) in.initial_capital += store_trade_net_pnl(&before[i]);
    free(before);
  }
  rc = engine_report_new(&in, out, eb);
  if (rc) goto out;
  engine_observer o = engine_report_observer(*out);
  lb_ms first = 0, last = 0;
  if (ne > 0) {
    for (int i = 0; i < ne; i++) o.on_equity(o.ctx, eq[i].ts, eq[i].capital, eq[i].equity);
  } else { /* no marks: the closed-trade curve */
    lb_dec cap = in.initial_capital;
    for (int i = 0; i < nt; i++) {
      if (tr[i].status != STORE_TRADE_CLOSED) continue;
      if (!first) o.on_equity(o.ctx, tr[i].opened_at, cap, cap);
      cap += store_trade_net_pnl(&tr[i]);
      o.on_equity(o.ctx, tr[i].closed_at, cap, cap);
      if (!first) first = tr[i].opened_at;
    }
  }
  lb_dec running = in.initial_capital;
  for (int i = 0; i < nt; i++) {
    if (tr[i].status != STORE_TRADE_CLOSED) continue;
    engine_trade t;
    to_engine_trade(&tr[i], &t);
    t.capital_at_entry = running;
    running += engine_trade_net(&t);
    o.on_trade_opened(o.ctx, &t);
    o.on_trade_closed(o.ctx, &t);
    if (!first || t.entry_time < first) first = t.entry_time;
    if (t.exit_time > last) last = t.exit_time;
  }
  if (ne > 0) {
    if (eq[0].ts < first) first = eq[0].ts;
    if (eq[ne - 1].ts > last) last = eq[ne - 1].ts;
  }
  store_breaker_event *brk = calloc(64, sizeof *brk);
  int nb = 0;
  if (brk && store_breakers_recent(s, brk, 64, &nb, eb) == LB_OK) {
    for (int i = nb - 1; i >= 0; i--) { /* oldest first */
      if (brk[i].tripped_at < from || brk[i].tripped_at >= to) continue;
      risk_breaker_event ev = {.kind = risk_breaker_from_name(brk[i].kind), .trip = true,
                               .time = brk[i].tripped_at, .resume_at = brk[i].resume_at};
      snprintf(ev.detail, sizeof ev.detail, "%.250s", brk[i].detail);
      if (ev.kind != RISK_BRK__COUNT) o.on_breaker(o.ctx, &ev);
    }
  }
  free(brk);
  engine_report_finish(*out, NULL, NULL, first, last);
out:
  free(tr);
  free(eq);
  if (rc && *out) {
    engine_report_free(*out);
    *out = NULL;
  }
  return rc;
}
