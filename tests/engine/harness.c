/* harness.c -- see harness.h. */
#include "harness.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

static lb_dec D(const char *s) {
  lb_dec d = 0;
  if (lb_dec_parse(s, &d) != LB_OK) lbt_fail(__FILE__, __LINE__, "bad decimal %s", s);
  return d;
}

void h_params(engine_params *p) {
  memset(p, 0, sizeof *p);
  snprintf(p->symbols[0], sizeof p->symbols[0], "BTCUSDT");
  p->n_symbols = 1;
  p->timeframes[0] = LB_MS_HOUR;
  p->n_tf = 1;
  ta_params_default(&p->ta);
  risk_params_default(&p->risk);
  p->risk.stop_mode = RISK_STOP_FIXED;
  p->risk.tp_mode = RISK_TP_ANALYST;
  p->risk.min_stop = 0.01;
  p->risk.max_stop = 0.10;
  p->risk.max_leverage = 3;
  p->risk.lev.unknown = 3; /* constructed candles never warm the regime up */
  p->risk.min_profit_usd = 0;
  p->risk.min_rr = 0;
  p->risk.trail_enabled = false;
  strategy_redflag_params_default(&p->redflags);
  p->redflags.enabled = false;
  p->consensus.min_agree = 1;
  p->consensus.allow_single = true;
  p->consensus.min_confidence = 0.80;
  p->initial_capital = D("1000");
  p->slippage = 0;
  p->risk.slippage = 0; /* the sim of h_start fills at the trigger unless a test sets both */
  p->liq_warn = 0.03;
  snprintf(p->cid_prefix, sizeof p->cid_prefix, "t");
  p->first_trade_id = 1;
}

static int script_ask(strategy_panel *self, const ta_snapshot *snap, const strategy_context *ctx,
                      strategy_vote *votes, int max) {
  (void)snap;
  h_script *s = self->impl;
  if (max < 1) return 0;
  s->asked++;
  strategy_vote *v = &votes[0];
  memset(v, 0, sizeof *v);
  snprintf(v->analyst, sizeof v->analyst, "script");
  v->weight = 1;
  v->ok = true;
  lb_decision_hold(&v->decision, "script: nothing at this time");
  v->decision.regime = LB_REGIME_TRENDING;
  for (int i = 0; i < s->n; i++)
    if (s->at[i] == ctx->now) {
      lb_decision *d = &v->decision;
      d->action = s->act[i];
      d->confidence = s->confidence;
      d->leverage = s->leverage;
      d->stop_loss_percent = s->stop;
      d->take_profit_percent = s->tp;
      d->regime = LB_REGIME_TRENDING;
      snprintf(d->reasoning, sizeof d->reasoning, "script: %s", lb_action_name(s->act[i]));
    }
  return 1;
}

static void rec_closed(void *ctx, const engine_trade *t) {
  h_record *r = ctx;
  if (r->n_closed < H_MAX_TRADES) r->closed[r->n_closed++] = *t;
}
static void rec_opened(void *ctx, const engine_trade *t) {
  (void)t;
  ((h_record *)ctx)->n_opened++;
}
static void rec_alert(void *ctx, engine_alert kind, const char *symbol, lb_ms time, const char *msg) {
  (void)symbol, (void)time;
  h_record *r = ctx;
  if (r->n_alerts < H_MAX_ALERTS) {
    r->alerts[r->n_alerts] = kind;
    snprintf(r->alert_msg[r->n_alerts], sizeof r->alert_msg[0], "%s", msg);
    r->n_alerts++;
  }
}
static void rec_moved(void *ctx, const engine_trade *t, lb_dec from, lb_dec to, lb_ms time) {
  (void)t, (void)time;
  h_record *r = ctx;
  if (r->n_moves < H_MAX_TRADES) {
    r->stop_from[r->n_moves] = from;
    r->stop_to[r->n_moves] = to;
    r->n_moves++;
  }
}
static void rec_breaker(void *ctx, const risk_breaker_event *ev) {
  h_record *r = ctx;
  if (ev->trip) r->trips++;
  else r->resumes++;
}
static void rec_scan(void *ctx, const engine_scan *s) {
  ((h_record *)ctx)->outcomes[s->outcome]++;
}
static void rec_funding(void *ctx, const char *symbol, lb_dec amount, double rate, lb_ms time) {
  (void)symbol, (void)rate, (void)time;
  ((h_record *)ctx)->funding_sum += amount;
}
static void rec_equity(void *ctx, lb_ms time, lb_dec capital, lb_dec equity) {
  (void)time, (void)capital, (void)equity;
  ((h_record *)ctx)->equity_marks++;
}

void h_start(harness *h, const engine_params *p, const char *slippage, const char *funding) {
  memset(h, 0, sizeof *h);
  h->p = *p;
  h->tf = p->timeframes[0];
  h->script.stop = 0.05;
  h->script.tp = 0.10;
  h->script.confidence = 0.90;
  h->script.leverage = 3;
  xchg_sim_params sp;
  xchg_sim_params_default(&sp);
  sp.initial_balance = p->initial_capital;
  sp.slippage = D(slippage);
  sp.funding_rate = D(funding);
  lb_errbuf eb;
  if (xchg_sim_new(&sp, &h->x, &eb) != LB_OK) lbt_fail(__FILE__, __LINE__, "sim: %s", eb.msg);
  for (int i = 0; i < p->n_symbols; i++) {
    xchg_sim_symbol s = {.rules = NULL};
    snprintf(s.symbol, sizeof s.symbol, "%s", p->symbols[i]);
    if (xchg_sim_add_symbol(h->x, &s, &eb) != LB_OK)
      lbt_fail(__FILE__, __LINE__, "sim symbol: %s", eb.msg);
  }
  h->panel.name = "script";
  h->panel.ask = script_ask;
  h->panel.impl = &h->script;
  engine_observer obs = {.ctx = &h->rec,
                         .on_scan = rec_scan,
                         .on_trade_opened = rec_opened,
                         .on_stop_moved = rec_moved,
                         .on_trade_closed = rec_closed,
                         .on_funding = rec_funding,
                         .on_breaker = rec_breaker,
                         .on_equity = rec_equity,
                         .on_alert = rec_alert};
  if (engine_new(&h->p, h->x, &h->panel, &obs, &h->e, &eb) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "engine: %s", eb.msg);
}

void h_stop(harness *h) {
  engine_free(h->e);
  xchg_free(h->x);
  h->e = NULL;
  h->x = NULL;
}

void h_signal(harness *h, lb_ms at, lb_action a) {
  h->script.at[h->script.n] = at;
  h->script.act[h->script.n] = a;
  h->script.n++;
}

void h_candle(harness *h, int sym, lb_ms ts, double o, double hi, double lo, double c) {
  data_candle k = {ts, o, hi, lo, c, 100.0};
  if (xchg_sim_on_candle(h->x, h->p.symbols[sym], h->tf, &k) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "sim refused candle %lld", (long long)ts);
  bool due = false;
  if (engine_on_candle(h->e, sym, h->tf, &k, &due) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "engine refused candle %lld", (long long)ts);
  if (due && engine_scan_run(h->e, sym, ts + h->tf) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "scan failed at %lld", (long long)ts);
}

lb_ms h_flat(harness *h, int sym, lb_ms ts, int n, double px) {
  for (int i = 0; i < n; i++, ts += h->tf) h_candle(h, sym, ts, px, px, px, px);
  return ts;
}

void h_check_ledger(harness *h) {
  engine_ledger l;
  engine_get_ledger(h->e, &l);
  lb_dec sum = 0;
  for (int i = 0; i < h->rec.n_closed; i++) sum += engine_trade_net(&h->rec.closed[i]);
  engine_position pos;
  engine_get_position(h->e, &pos);
  if (pos.state != ENGINE_FLAT) sum += engine_trade_net(&pos.trade);
  if (l.capital - l.initial != sum)
    lbt_fail(__FILE__, __LINE__, "ledger: capital - initial = %lld, trades sum = %lld",
             (long long)(l.capital - l.initial), (long long)sum);
  if (l.capital != l.initial + l.realized - l.fees + l.funding)
    lbt_fail(__FILE__, __LINE__, "ledger terms do not add up");
  xchg_balance b;
  xchg_error err;
  h->x->ops->balance(h->x, &b, &err);
  if (b.wallet_balance != l.capital)
    lbt_fail(__FILE__, __LINE__, "engine capital %lld != sim wallet %lld", (long long)l.capital,
             (long long)b.wallet_balance);
}

int h_alerts(const harness *h, engine_alert kind) {
  int n = 0;
  for (int i = 0; i < h->rec.n_alerts; i++) n += h->rec.alerts[i] == kind;
  return n;
}
