/* backtest.c -- the replay driver (see backtest.h). */
#include "engine/backtest.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

lb_err engine_series_append(data_series *dst, const data_series *src, lb_errbuf *eb) {
  if (src->n == 0) return LB_OK;
  if (dst->n > 0) {
    if (strcmp(dst->symbol, src->symbol) != 0)
      return lb_fail(eb, LB_EINVAL, "cannot join %s and %s into one series", dst->symbol, src->symbol);
    if (dst->timeframe != src->timeframe) {
      char a[16], b[16];
      return lb_fail(eb, LB_EINVAL, "%s: files have different timeframes (%s and %s): pass one set",
                     dst->symbol, lb_timeframe_name(dst->timeframe, a, sizeof a),
                     lb_timeframe_name(src->timeframe, b, sizeof b));
    }
    if (src->c[0].ts <= dst->c[dst->n - 1].ts) {
      char a[LB_TIME_ISO_LEN];
      lb_time_fmt_iso(src->c[0].ts, a, sizeof a);
      return lb_fail(eb, LB_EINVAL, "%s: files overlap (a file starting %s begins before the "
                                    "previous one ends)", dst->symbol, a);
    }
  } else {
    snprintf(dst->symbol, sizeof dst->symbol, "%s", src->symbol);
    dst->timeframe = src->timeframe;
  }
  lb_err rc = data_series_reserve(dst, dst->n + src->n);
  if (rc) return lb_fail(eb, rc, "out of memory joining %s", src->symbol);
  memcpy(dst->c + dst->n, src->c, src->n * sizeof *src->c);
  dst->n += src->n;
  return LB_OK;
}

/* ==== Observer tee: the report first, then the caller's listeners ==== */

typedef struct {
  engine_observer a, b;
} tee;

#define TEE_CALL(name, ...)                                         \
  do {                                                              \
    tee *t_ = ctx;                                                  \
    if (t_->a.name) t_->a.name(t_->a.ctx, __VA_ARGS__);             \
    if (t_->b.name) t_->b.name(t_->b.ctx, __VA_ARGS__);             \
  } while (0)

static void tee_scan(void *ctx, const engine_scan *s) { TEE_CALL(on_scan, s); }
static void tee_order(void *ctx, const xchg_order *o, long id) { TEE_CALL(on_order, o, id); }
static void tee_fill(void *ctx, const xchg_fill *f, long id) { TEE_CALL(on_fill, f, id); }
static void tee_opened(void *ctx, const engine_trade *t) { TEE_CALL(on_trade_opened, t); }
static void tee_moved(void *ctx, const engine_trade *t, lb_dec from, lb_dec to, lb_ms time) {
  TEE_CALL(on_stop_moved, t, from, to, time);
}
static void tee_closed(void *ctx, const engine_trade *t) { TEE_CALL(on_trade_closed, t); }
static void tee_funding(void *ctx, const char *s, lb_dec amount, double rate, lb_ms time) {
  TEE_CALL(on_funding, s, amount, rate, time);
}
static void tee_breaker(void *ctx, const risk_breaker_event *ev) { TEE_CALL(on_breaker, ev); }
static void tee_equity(void *ctx, lb_ms time, lb_dec capital, lb_dec equity) {
  TEE_CALL(on_equity, time, capital, equity);
}
static void tee_alert(void *ctx, engine_alert kind, const char *s, lb_ms time, const char *msg) {
  TEE_CALL(on_alert, kind, s, time, msg);
}

/* Only the callbacks someone listens to are set, so an engine without
 * listeners (benchmarks) does not pay for calls. */
static engine_observer tee_observer(tee *t) {
  engine_observer o;
  memset(&o, 0, sizeof o);
  o.ctx = t;
#define TEE_SET(name, fn) \
  if (t->a.name || t->b.name) o.name = fn
  TEE_SET(on_scan, tee_scan);
  TEE_SET(on_order, tee_order);
  TEE_SET(on_fill, tee_fill);
  TEE_SET(on_trade_opened, tee_opened);
  TEE_SET(on_stop_moved, tee_moved);
  TEE_SET(on_trade_closed, tee_closed);
  TEE_SET(on_funding, tee_funding);
  TEE_SET(on_breaker, tee_breaker);
  TEE_SET(on_equity, tee_equity);
  TEE_SET(on_alert, tee_alert);
#undef TEE_SET
  return o;
}

/* ==== The run ==== */

static lb_err setup(const engine_replay_params *p, engine_params *ep, xchg **x, lb_errbuf *eb) {
  if (p->n_series == 0 || p->n_series > ENGINE_MAX_SYMBOLS)
    return lb_fail(eb, LB_EINVAL, "%zu series (allowed 1..%d)", p->n_series, ENGINE_MAX_SYMBOLS);
  lb_ms tf = p->series[0]->timeframe;
  *ep = p->engine;
  ep->n_symbols = (int)p->n_series;
  for (size_t i = 0; i < p->n_series; i++) {
    const data_series *s = p->series[i];
    char a[16], b[16];
    if (s->n == 0) return lb_fail(eb, LB_EINVAL, "%s: no candles in the chosen period", s->symbol);
    if (s->timeframe != tf)
      return lb_fail(eb, LB_EINVAL, "%s is %s candles but %s is %s: every symbol needs the same timeframe",
                     s->symbol, lb_timeframe_name(s->timeframe, a, sizeof a), p->series[0]->symbol,
                     lb_timeframe_name(tf, b, sizeof b));
    for (size_t k = 0; k < i; k++)
      if (strcmp(p->series[k]->symbol, s->symbol) == 0)
        return lb_fail(eb, LB_EINVAL, "%s is given twice (join its files into one series)", s->symbol);
    snprintf(ep->symbols[i], sizeof ep->symbols[i], "%s", s->symbol);
  }
  if (tf <= 0 || ep->timeframes[0] % tf != 0) {
    char a[16], b[16];
    return lb_fail(eb, LB_EINVAL, "the data's timeframe %s does not divide the entry timeframe %s "
                                  "(use finer data or a larger --timeframe)",
                   lb_timeframe_name(tf, a, sizeof a), lb_timeframe_name(ep->timeframes[0], b, sizeof b));
  }
  lb_err rc = xchg_sim_new(&p->sim, x, eb);
  if (rc) return rc;
  for (size_t i = 0; i < p->n_series; i++) {
    xchg_sim_symbol sy;
    memset(&sy, 0, sizeof sy);
    snprintf(sy.symbol, sizeof sy.symbol, "%s", p->series[i]->symbol);
    sy.funding = p->funding ? p->funding[i] : NULL;
    rc = xchg_sim_add_symbol(*x, &sy, eb);
    if (rc) {
      xchg_free(*x);
      *x = NULL;
      return rc;
    }
  }
  return LB_OK;
}

lb_err engine_replay_run(const engine_replay_params *p, engine_replay_result *res, lb_errbuf *eb) {
  memset(res, 0, sizeof *res);
  engine_params ep;
  xchg *x = NULL;
  engine *e = NULL;
  data_replay rp;
  bool rp_ok = false;
  lb_err rc = setup(p, &ep, &x, eb);
  if (rc) return rc;
  tee t;
  memset(&t, 0, sizeof t);
  if (p->report) t.a = engine_report_observer(p->report);
  if (p->obs) t.b = *p->obs;
  engine_observer obs = tee_observer(&t);
  rc = engine_new(&ep, x, p->panel, &obs, &e, eb);
  if (rc) goto out;
  rc = data_replay_init(&rp, p->series, p->n_series, p->repeat > 1 ? p->repeat : 1);
  if (rc) {
    lb_fail(eb, rc, "replay: %s", lb_strerror(rc));
    goto out;
  }
  rp_ok = true;
  const lb_ms tf = p->series[0]->timeframe;
  size_t total = 0;
  for (size_t i = 0; i < p->n_series; i++) total += p->series[i]->n;
  total *= (size_t)(p->repeat > 1 ? p->repeat : 1);
  const lb_clock *clk = p->clock ? p->clock : &lb_clock_system;
  lb_ms wall0 = 0;
  size_t which;
  data_candle c;
  while (data_replay_next(&rp, &which, &c)) {
    if (p->stop && *p->stop) {
      res->stopped = true;
      break;
    }
    if (res->candles == 0) {
      res->first = c.ts;
      wall0 = p->speed > 0 ? lb_clock_now(clk) : 0;
    }
    lb_ms close_t = c.ts + tf;
    if (p->speed > 0) { /* paper replay: wait until this close is due on the scaled clock */
      lb_ms due = wall0 + (lb_ms)((double)(close_t - res->first) / p->speed);
      lb_ms now = lb_clock_now(clk);
      if (due > now) lb_clock_sleep(clk, due - now);
    }
    rc = xchg_sim_on_candle_at(x, (int)which, tf, &c);
    if (rc == LB_OK) {
      bool due = false;
      rc = engine_on_candle(e, (int)which, tf, &c, &due);
      if (rc == LB_OK && due) rc = engine_scan_run(e, (int)which, close_t);
    }
    if (rc) {
      char when[LB_TIME_ISO_LEN];
      lb_time_fmt_iso(c.ts, when, sizeof when);
      lb_fail(eb, rc, "%s candle at %s: %s", ep.symbols[which], when, lb_strerror(rc));
      goto out;
    }
    res->candles++;
    if (close_t > res->last) res->last = close_t;
    if (p->progress && (res->candles & 0xffff) == 0) p->progress(p->progress_ctx, res->candles, total);
  }
  if (p->progress) p->progress(p->progress_ctx, res->candles, total);
  engine_get_ledger(e, &res->ledger);
  engine_get_counters(e, &res->counters);
  xchg_sim_get_stats(x, &res->sim);
  xchg_balance bal;
  xchg_error xe;
  if (x->ops->balance(x, &bal, &xe) == XCHG_OK) res->sim_wallet = bal.wallet_balance;
  if (p->report) engine_report_finish(p->report, e, x, res->first, res->last);
out:
  if (rp_ok) data_replay_close(&rp);
  engine_free(e);
  xchg_free(x);
  return rc;
}
