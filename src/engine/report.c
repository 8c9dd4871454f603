/* report.c -- the backtest collector (an engine observer) and the statistics (definitions in report.h).
 *
 * Memory is bounded by trades and days: the equity curve is kept in
 * buckets whose width doubles whenever there are too many, the drawdown is
 * streamed, and daily closing equity is one number per UTC day.
 */
#include "engine/report_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== Pure statistics ==== */

double engine_stats_sharpe(const double *r, size_t n, double ppy) {
  if (n < 2) return 0;
  double mean = 0, var = 0;
  for (size_t i = 0; i < n; i++) mean += r[i];
  mean /= (double)n;
  for (size_t i = 0; i < n; i++) var += (r[i] - mean) * (r[i] - mean);
  var /= (double)(n - 1);
  if (!(var > 0)) return 0;
  return mean / sqrt(var) * sqrt(ppy);
}

double engine_stats_sortino(const double *r, size_t n, double ppy) {
  if (n == 0) return 0;
  double mean = 0, down = 0;
  for (size_t i = 0; i < n; i++) {
    mean += r[i];
    if (r[i] < 0) down += r[i] * r[i];
  }
  mean /= (double)n;
  down = sqrt(down / (double)n);
  if (!(down > 0)) return mean > 0 ? INFINITY : 0;
  return mean / down * sqrt(ppy);
}

double engine_stats_cagr(double initial, double final, lb_ms span_ms) {
  if (span_ms <= 0 || !(initial > 0)) return 0;
  if (!(final > 0)) return -1;
  double years = (double)span_ms / (365.0 * (double)LB_MS_DAY);
  return pow(final / initial, 1.0 / years) - 1.0;
}

void engine_drawdown_add(engine_drawdown *d, lb_ms t, double equity) {
  if (!d->started || equity > d->peak) {
    d->started = true;
    d->peak = equity;
    d->peak_time = t;
    return;
  }
  if (d->peak <= 0) return;
  double dd = (d->peak - equity) / d->peak;
  if (dd > d->max_dd) {
    d->max_dd = dd;
    d->max_dd_abs = d->peak - equity;
    d->dd_start = d->peak_time;
    d->dd_end = t;
  }
}

/* ==== Collector ==== */

static void *grow(void *p, size_t *cap, size_t n, size_t size) {
  if (n < *cap) return p;
  size_t c = *cap ? *cap * 2 : 64;
  void *q = realloc(p, c * size);
  if (q) *cap = c;
  return q;
}

static void on_trade_opened(void *ctx, const engine_trade *t) {
  engine_report *r = ctx;
  (void)t;
  r->opened++;
}

static void on_trade_closed(void *ctx, const engine_trade *t) {
  engine_report *r = ctx;
  engine_trade *n = grow(r->trades, &r->cap, r->n, sizeof *r->trades);
  if (!n) {
    r->oom = true;
    return;
  }
  r->trades = n;
  r->trades[r->n++] = *t;
  r->exposure_ms += t->exit_time - t->entry_time;
}

static void curve_add(engine_report *r, lb_ms t, double eq) {
  if (r->nc > 0 && t < r->bucket_end) { /* same bucket: the common case */
    engine_curve_pt *p = &r->curve[r->nc - 1];
    p->t = t;
    p->equity = eq;
    if (eq < p->low) p->low = eq;
    return;
  }
  while (r->nc == ENGINE_CURVE_MAX) { /* halve the resolution until points merge */
    size_t k = 0;
    r->bucket *= 2;
    for (size_t i = 0; i < r->nc; i++) {
      engine_curve_pt *p = &r->curve[i];
      if (k > 0 && (p->t - r->curve_origin) / r->bucket ==
                       (r->curve[k - 1].t - r->curve_origin) / r->bucket) {
        engine_curve_pt *q = &r->curve[k - 1];
        q->t = p->t;
        q->equity = p->equity;
        if (p->low < q->low) q->low = p->low;
      } else {
        r->curve[k++] = *p;
      }
    }
    r->nc = k;
  }
  if (r->nc == 0) r->curve_origin = t;
  r->curve[r->nc++] = (engine_curve_pt){t, eq, eq};
  r->bucket_end = r->curve_origin + ((t - r->curve_origin) / r->bucket + 1) * r->bucket;
}

static void on_equity(void *ctx, lb_ms t, lb_dec capital, lb_dec equity) {
  engine_report *r = ctx;
  double eq = lb_dec_to_double(equity);
  engine_drawdown_add(&r->dd, t, eq);
  if (equity > r->peak_dec || !r->marked) r->peak_dec = equity;
  if (r->peak_dec - equity > r->max_dd_usd) r->max_dd_usd = r->peak_dec - equity;
  if (!r->marked || capital < r->min_bal) r->min_bal = capital;
  if (!r->marked || capital > r->max_bal) r->max_bal = capital;
  r->marked = true;
  /* a close at 00:00 ends the day before: the day of t - 1 */
  if (r->nd > 0 && t - 1 >= r->days[r->nd - 1].day && t - 1 < r->day_end) {
    r->days[r->nd - 1].equity = eq;
  } else {
    lb_ms day = lb_time_day_start(t - 1);
    engine_day *n = grow(r->days, &r->capd, r->nd, sizeof *r->days);
    if (!n) {
      r->oom = true;
      return;
    }
    r->days = n;
    r->days[r->nd++] = (engine_day){day, eq};
    r->day_end = day + LB_MS_DAY;
  }
  curve_add(r, t, eq);
}

static void on_breaker(void *ctx, const risk_breaker_event *ev) {
  engine_report *r = ctx;
  if (r->n_breakers < ENGINE_REPORT_EVENTS) r->breakers[r->n_breakers++] = *ev;
  if (ev->trip) r->trips++;
}

static void on_alert(void *ctx, engine_alert kind, const char *symbol, lb_ms time, const char *msg) {
  engine_report *r = ctx;
  (void)symbol;
  if ((unsigned)kind < ENGINE_ALERT_KINDS) r->alert_count[kind]++;
  if (r->n_alerts < ENGINE_REPORT_EVENTS) {
    r->alerts[r->n_alerts].kind = kind;
    r->alerts[r->n_alerts].time = time;
    snprintf(r->alerts[r->n_alerts].msg, sizeof r->alerts[0].msg, "%s", msg);
    r->n_alerts++;
  }
}

engine_observer engine_report_observer(engine_report *r) {
  engine_observer o;
  memset(&o, 0, sizeof o);
  o.ctx = r;
  o.on_trade_opened = on_trade_opened;
  o.on_trade_closed = on_trade_closed;
  o.on_equity = on_equity;
  o.on_breaker = on_breaker;
  o.on_alert = on_alert;
  return o;
}

lb_err engine_report_new(const engine_report_info *info, engine_report **out, lb_errbuf *eb) {
  *out = NULL;
  engine_report *r = calloc(1, sizeof *r);
  if (!r) return lb_fail(eb, LB_ENOMEM, "report: out of memory");
  if (info) r->info = *info;
  r->bucket = LB_MS_MINUTE;
  *out = r;
  return LB_OK;
}

void engine_report_free(engine_report *r) {
  if (!r) return;
  free(r->trades);
  free(r->days);
  free(r);
}

void engine_report_finish(engine_report *r, const engine *e, const xchg *sim, lb_ms first,
                          lb_ms last) {
  r->first = first;
  r->last = last;
  r->n_open = 0;
  if (e) {
    engine_get_ledger(e, &r->led);
    engine_get_counters(e, &r->cnt);
    engine_position pos;
    engine_get_position(e, &pos);
    if (pos.state != ENGINE_FLAT && pos.held != 0) {
      r->open_trade = pos.trade;
      r->open_mark = pos.mark;
      r->open_unreal = pos.unrealized;
      r->n_open = 1;
      if (last > pos.trade.entry_time) r->exposure_ms += last - pos.trade.entry_time;
    }
  } else { /* trades fed by hand (tests, imports): the ledger is their sum */
    memset(&r->led, 0, sizeof r->led);
    r->led.initial = r->info.initial_capital;
    for (size_t i = 0; i < r->n; i++) {
      r->led.realized += r->trades[i].realized_pnl;
      r->led.fees += r->trades[i].fees;
      r->led.funding += r->trades[i].funding;
    }
    r->led.capital = r->led.initial + r->led.realized - r->led.fees + r->led.funding;
  }
  r->have_sim = sim && xchg_is_sim(sim);
  if (r->have_sim) xchg_sim_get_stats(sim, &r->sim);
  r->finished = true;
}

size_t engine_report_trade_count(const engine_report *r) { return r->n; }
const engine_trade *engine_report_trade(const engine_report *r, size_t i) {
  return i < r->n ? &r->trades[i] : NULL;
}

int engine_report_open_trades(const engine_report *r, const engine_trade **t, lb_dec *mark,
                              lb_dec *unrealized) {
  if (r->n_open && t) *t = &r->open_trade;
  if (r->n_open && mark) *mark = r->open_mark;
  if (r->n_open && unrealized) *unrealized = r->open_unreal;
  return r->n_open;
}

/* ==== Figures ==== */

void engine_group_add(engine_group *g, const engine_trade *t) {
  lb_dec net = engine_trade_net(t);
  g->trades++;
  if (net > 0) {
    g->wins++;
    g->gross_profit += net;
  } else if (net < 0) {
    g->losses++;
    g->gross_loss -= net;
  } else {
    g->draws++;
  }
  g->net += net;
  g->duration_sum += t->exit_time - t->entry_time;
}

void engine_report_stats(const engine_report *r, engine_stats *s) {
  memset(s, 0, sizeof *s);
  s->start = r->first;
  s->end = r->last;
  s->candles = r->cnt.candles;
  s->initial = r->led.initial;
  s->final_capital = r->led.capital;
  s->final_equity = r->led.capital + (r->n_open ? r->open_unreal : 0);
  s->fees = r->led.fees;
  s->funding = r->led.funding;
  s->min_balance = r->marked ? r->min_bal : r->led.initial;
  s->max_balance = r->marked ? r->max_bal : r->led.initial;
  s->best = s->worst = -1;
  int run_w = 0, run_l = 0;
  double rr_sum = 0, r_sum = 0, pct_sum = 0;
  int r_n = 0;
  lb_ms win_dur = 0, loss_dur = 0;
  for (size_t i = 0; i < r->n; i++) {
    const engine_trade *t = &r->trades[i];
    lb_dec net = engine_trade_net(t);
    engine_group_add(&s->all, t);
    engine_group_add(t->side == LB_ACTION_LONG ? &s->longs : &s->shorts, t);
    if (net > 0) {
      run_w++;
      run_l = 0;
      win_dur += t->exit_time - t->entry_time;
    } else if (net < 0) {
      run_l++;
      run_w = 0;
      loss_dur += t->exit_time - t->entry_time;
    } else {
      run_w = run_l = 0;
    }
    if (run_w > s->max_consec_wins) s->max_consec_wins = run_w;
    if (run_l > s->max_consec_losses) s->max_consec_losses = run_l;
    if (s->best < 0 || net > engine_trade_net(&r->trades[s->best])) s->best = (int)i;
    if (s->worst < 0 || net < engine_trade_net(&r->trades[s->worst])) s->worst = (int)i;
    if (t->planned_rr > 0) {
      rr_sum += t->planned_rr;
      s->rr_known++;
    }
    if (t->loss_at_stop > 0) {
      r_sum += lb_dec_to_double(net) / lb_dec_to_double(t->loss_at_stop);
      r_n++;
    }
    if (t->capital_at_entry > 0)
      pct_sum += lb_dec_to_double(net) / lb_dec_to_double(t->capital_at_entry);
    if (t->exit_reason == ENGINE_EXIT_LIQUIDATION) s->liquidations++;
    if (t->gap_exit) s->gap_exits++;
  }
  int n = s->all.trades;
  s->net_closed = s->all.net;
  s->win_rate = n ? (double)s->all.wins / n : 0;
  s->profit_factor = s->all.gross_loss > 0
                         ? lb_dec_to_double(s->all.gross_profit) / lb_dec_to_double(s->all.gross_loss)
                         : (s->all.gross_profit > 0 ? INFINITY : 0);
  s->avg_profit_usd = n ? lb_dec_to_double(s->all.net) / n : 0;
  s->avg_profit_pct = n ? pct_sum / n : 0;
  s->expectancy_usd = s->avg_profit_usd;
  s->expectancy_r = r_n ? r_sum / r_n : 0;
  s->avg_realized_r = s->expectancy_r;
  s->r_known = r_n;
  s->avg_planned_rr = s->rr_known ? rr_sum / s->rr_known : 0;
  s->total_profit_pct = s->initial > 0 ? lb_dec_to_double(s->final_capital - s->initial) /
                                             lb_dec_to_double(s->initial)
                                       : 0;
  s->avg_duration = n ? s->all.duration_sum / n : 0;
  s->avg_win_duration = s->all.wins ? win_dur / s->all.wins : 0;
  s->avg_loss_duration = s->all.losses ? loss_dur / s->all.losses : 0;
  lb_ms span = r->last - r->first;
  s->exposure = span > 0 ? (double)r->exposure_ms / (double)span : 0;
  if (s->exposure > 1) s->exposure = 1;
  s->dd = r->dd;
  s->max_dd_usd = r->max_dd_usd;
  s->breaker_trips = r->trips;
  s->open_trades = r->n_open;
  if (r->have_sim && r->sim.liquidations > s->liquidations) s->liquidations = r->sim.liquidations;

  /* daily returns, the first against the initial capital */
  double *ret = r->nd ? malloc(r->nd * sizeof *ret) : NULL;
  size_t nr = 0;
  double prev = lb_dec_to_double(s->initial);
  for (size_t i = 0; ret && i < r->nd; i++) {
    if (prev > 0) ret[nr++] = r->days[i].equity / prev - 1;
    prev = r->days[i].equity;
  }
  s->sharpe = engine_stats_sharpe(ret, nr, 365);
  s->sortino = engine_stats_sortino(ret, nr, 365);
  free(ret);
  s->cagr = engine_stats_cagr(lb_dec_to_double(s->initial), lb_dec_to_double(s->final_equity), span);
  s->calmar = s->dd.max_dd > 0 ? s->cagr / s->dd.max_dd : (s->cagr > 0 ? INFINITY : 0);
}
