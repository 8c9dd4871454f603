/* technical.c -- the built-in technical analyst and its one-analyst panel (rules in strategy.h).
 *
 * Deterministic: the same snapshot and context give the same decision,
 * byte for byte, so backtests repeat and the decision can be audited.  The
 * rules follow the seed's framework (multi-timeframe confluence, volume
 * confirmation, support/resistance, regime-specific behaviour) and speak
 * the LLM's decision schema, so consensus and risk never care who decided.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strategy/strategy.h"

void strategy_technical_params_default(strategy_technical_params *p) {
  p->base_confidence = 0.60;
  p->step = 0.05;
  p->max_confidence = 0.95;
  p->trend_adx = 25;
  p->swing_buffer = 0.003;
  p->atr_stop = 2.0;
  p->reward_multiple = 2.0;
}

typedef struct {
  char text[LB_REASONING_MAX];
  size_t len;
} reasons;

static void say(reasons *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(reasons *r, const char *fmt, ...) {
  if (r->len + 1 >= sizeof r->text) return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(r->text + r->len, sizeof r->text - r->len, fmt, ap);
  va_end(ap);
  if (n > 0) r->len += (size_t)n < sizeof r->text - r->len ? (size_t)n : sizeof r->text - r->len - 1;
}

static double clamp(double x, double lo, double hi) { return x < lo ? lo : x > hi ? hi : x; }

/* Stop distance as a fraction of the price: beyond the swing against the
 * trade, else k x ATR, clamped to the allowed range. */
static double stop_fraction(const ta_view *v, int dir, const strategy_context *ctx,
                            const strategy_technical_params *p) {
  double d = NAN;
  double swing = dir > 0 ? v->swing_low : v->swing_high;
  if (isfinite(swing) && v->close > 0 && (dir > 0 ? swing < v->close : swing > v->close))
    d = fabs(v->close - swing) / v->close + p->swing_buffer;
  else if (isfinite(v->atr14) && v->close > 0)
    d = p->atr_stop * v->atr14 / v->close;
  if (!isfinite(d)) d = ctx->min_stop;
  return clamp(d, ctx->min_stop, ctx->max_stop);
}

static void hold(lb_decision *out, lb_regime regime, double confidence, const char *why) {
  lb_decision_hold(out, "%s", why);
  out->regime = regime == LB_REGIME_UNKNOWN ? LB_REGIME_RANGING : regime;
  out->confidence = clamp(confidence, 0, 1);
}

void strategy_technical_decide(const ta_snapshot *s, const strategy_context *ctx,
                               const strategy_technical_params *p, lb_decision *out) {
  char tf[16];
  if (s->n <= 0 || !s->tf[0].ready) {
    hold(out, LB_REGIME_UNKNOWN, 0, "technical: indicators warming up");
    return;
  }
  const ta_view *v = &s->tf[0];
  const ta_view *top = &s->tf[s->n - 1];
  lb_timeframe_name(v->tf, tf, sizeof tf);
  if (s->confluence == 0) {
    hold(out, v->regime, 0, "technical: timeframes disagree on the trend");
    return;
  }
  if (v->regime != LB_REGIME_TRENDING && v->regime != LB_REGIME_RANGING) {
    hold(out, v->regime, 0, "technical: no trade in a volatile or unknown regime");
    return;
  }
  int dir = s->confluence;
  double stop = stop_fraction(v, dir, ctx, p);
  int n = 0;
  reasons r = {.len = 0};
  say(&r, "%s %s %s, %d timeframes agree;", dir > 0 ? "LONG" : "SHORT", tf,
      lb_regime_name(v->regime), s->n);

  bool strong = isfinite(top->adx14) && top->adx14 >= p->trend_adx &&
                (dir > 0 ? top->plus_di14 > top->minus_di14 : top->minus_di14 > top->plus_di14);
  if (strong) n++, say(&r, " ADX %.1f on the highest timeframe;", top->adx14);

  bool volume = isfinite(v->volume_sma20) && v->volume_sma20 > 0 && v->volume >= v->volume_sma20;
  if (volume) n++, say(&r, " volume %.2fx its average;", v->volume / v->volume_sma20);

  bool momentum = isfinite(v->macd_hist) && isfinite(v->macd) && isfinite(v->macd_signal) &&
                  (dir > 0 ? v->macd_hist > 0 && v->macd > v->macd_signal
                           : v->macd_hist < 0 && v->macd < v->macd_signal);
  if (momentum) n++, say(&r, " MACD histogram %.4g;", v->macd_hist);

  bool rsi = dir > 0 ? v->rsi14 >= 50 && v->rsi14 <= 70 : v->rsi14 >= 30 && v->rsi14 <= 50;
  if (rsi) n++, say(&r, " RSI %.1f;", v->rsi14);

  double level = dir > 0 ? v->resistance : v->support;
  double room = isfinite(level) && v->close > 0 ? fabs(level - v->close) / v->close : INFINITY;
  bool roomy = room >= p->reward_multiple * stop;
  if (roomy) {
    n++;
    if (isfinite(room)) say(&r, " %.2f%% to the next %s;", room * 100, dir > 0 ? "resistance" : "support");
    else say(&r, " no %s beyond the price;", dir > 0 ? "resistance" : "support");
  }

  bool div = v->div_macd == dir || v->div_rsi == dir;
  if (div) n++, say(&r, " %s divergence;", dir > 0 ? "bullish" : "bearish");

  double slow = isfinite(v->ema200) ? v->ema200 : top->ema50;
  bool long_trend = isfinite(slow) && (dir > 0 ? v->close > slow : v->close < slow);
  if (long_trend) n++, say(&r, " beyond the slow EMA %.6g;", slow);

  double conf = clamp(p->base_confidence + p->step * n, 0, p->max_confidence);
  say(&r, " %d of 7 confirmations", n);
  const char *missing = NULL;
  if (v->regime == LB_REGIME_RANGING && !roomy) missing = "ranging market without room to the other edge";
  if (v->regime == LB_REGIME_TRENDING && !momentum) missing = "trend without momentum";
  if (missing || conf < 0.75 - 1e-9) {
    char why[LB_REASONING_MAX];
    snprintf(why, sizeof why, "technical HOLD: %s (%.*s)", missing ? missing : "weak setup",
             (int)(r.len > 900 ? 900 : r.len), r.text);
    hold(out, v->regime, conf, why);
    return;
  }

  memset(out, 0, sizeof *out);
  out->action = dir > 0 ? LB_ACTION_LONG : LB_ACTION_SHORT;
  out->confidence = conf;
  out->regime = v->regime;
  int lev = v->regime == LB_REGIME_TRENDING && conf >= 0.80 - 1e-9 ? 5
            : v->regime == LB_REGIME_RANGING                     ? 3
                                                                 : 2;
  if (lev > ctx->max_leverage) lev = ctx->max_leverage;
  out->leverage = lev < 1 ? 1 : lev;
  out->stop_loss_percent = stop;
  out->take_profit_percent = p->reward_multiple * stop;
  snprintf(out->reasoning, sizeof out->reasoning, "technical: %.1000s", r.text);
}

/* ==== The panel of one ==== */

typedef struct {
  strategy_technical_params p;
} technical_panel;

static int technical_ask(strategy_panel *self, const ta_snapshot *snap, const strategy_context *ctx,
                         strategy_vote *votes, int max) {
  if (max < 1) return 0;
  technical_panel *tp = self->impl;
  strategy_vote *v = &votes[0];
  memset(v, 0, sizeof *v);
  snprintf(v->analyst, sizeof v->analyst, "technical");
  v->weight = 1.0;
  v->attempts = 1;
  strategy_technical_decide(snap, ctx, &tp->p, &v->decision);
  lb_decision_limits lim = {ctx->max_leverage, ctx->min_stop, ctx->max_stop};
  lb_errbuf eb;
  if (lb_decision_check(&v->decision, &lim, &eb) != LB_OK) {
    /* cannot happen by construction; if it does, it must not trade */
    snprintf(v->error, sizeof v->error, "technical analyst produced an invalid decision: %.180s", eb.msg);
    lb_decision_hold(&v->decision, "%s", v->error);
    return 1;
  }
  v->ok = true;
  return 1;
}

static void technical_destroy(strategy_panel *self) {
  if (!self) return;
  free(self->impl);
  free(self);
}

lb_err strategy_technical_panel_new(const strategy_technical_params *p, strategy_panel **out,
                                    lb_errbuf *eb) {
  *out = NULL;
  strategy_panel *panel = calloc(1, sizeof *panel);
  technical_panel *tp = calloc(1, sizeof *tp);
  if (!panel || !tp) {
    free(panel);
    free(tp);
    return lb_fail(eb, LB_ENOMEM, "technical panel: out of memory");
  }
  if (p) tp->p = *p;
  else strategy_technical_params_default(&tp->p);
  panel->name = "technical";
  panel->ask = technical_ask;
  panel->destroy = technical_destroy;
  panel->impl = tp;
  *out = panel;
  return LB_OK;
}
