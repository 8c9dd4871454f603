/* store_metrics.c -- performance figures from closed trades and equity marks (pure).
 *
 * Kept apart from the SQL so the arithmetic is one function over arrays,
 * tested against hand-computed values, and identical on both back ends.
 * Money stays lb_dec (exact sums); only the ratios are double.
 */
#include <math.h>
#include <string.h>

#include "store/store.h"

/* One step of a running peak/drawdown over an equity curve. */
static void dd_step(lb_dec equity, bool first, lb_dec *peak, store_metrics *m) {
  if (first || equity > *peak) *peak = equity;
  lb_dec dd = *peak - equity;
  if (dd > m->max_drawdown) m->max_drawdown = dd;
  if (*peak > 0) {
    double pct = lb_dec_to_double(dd) / lb_dec_to_double(*peak);
    if (pct > m->max_drawdown_pct) m->max_drawdown_pct = pct;
  }
}

void store_metrics_compute(const store_trade *closed, int n, const store_equity *eq, int neq,
                           lb_dec initial_capital, lb_ms now, store_metrics *out) {
  memset(out, 0, sizeof *out);
  lb_ms day = lb_time_day_start(now);
  lb_dec equity = initial_capital, peak = initial_capital;
  for (int i = 0; i < n; i++) {
    const store_trade *t = &closed[i];
    if (t->status != STORE_TRADE_CLOSED) continue;
    lb_dec net = store_trade_net_pnl(t);
    out->total_trades++;
    out->total_pnl += net;
    if (net > 0) {
      out->wins++;
      out->gross_profit += net;
    } else if (net < 0) {
      out->losses++;
      out->gross_loss += net;
    }
    if (t->closed_at >= day && t->closed_at < day + LB_MS_DAY) {
      out->today_pnl += net;
      out->today_trades++;
    }
    if (neq == 0) {
      equity += net;
      dd_step(equity, false, &peak, out);
    }
  }
  if (out->total_trades > 0) {
    out->win_rate = (double)out->wins / (double)out->total_trades;
    if (lb_dec_div(out->total_pnl, LB_DEC_INT(out->total_trades), LB_ROUND_HALF_EVEN,
                   &out->avg_pnl) != LB_OK)
      out->avg_pnl = 0;
  }
  if (out->gross_loss < 0)
    out->profit_factor = lb_dec_to_double(out->gross_profit) / -lb_dec_to_double(out->gross_loss);
  else
    out->profit_factor = out->gross_profit > 0 ? INFINITY : 0;
  if (neq > 0) {
    out->max_drawdown = 0;
    out->max_drawdown_pct = 0;
    out->drawdown_from_snapshots = true;
    for (int i = 0; i < neq; i++) dd_step(eq[i].equity, i == 0, &peak, out);
  }
}
