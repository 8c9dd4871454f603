/* aitest.c -- shared fixtures of the AI tests (see aitest.h). */
#include "aitest.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

void aitest_snapshot(ta_snapshot *s, double close) {
  memset(s, 0, sizeof *s);
  snprintf(s->symbol, sizeof s->symbol, "BTCUSDT");
  s->ts = INT64_C(1700000000000);
  s->n = 2;
  for (int i = 0; i < 2; i++) {
    ta_view *v = &s->tf[i];
    v->tf = i == 0 ? 15 * LB_MS_MINUTE : LB_MS_HOUR;
    v->ts = s->ts;
    v->bars = 500;
    v->ready = true;
    v->open = close - 50;
    v->high = close + 80;
    v->low = close - 120;
    v->close = close;
    v->volume = 1234.5;
    v->rsi14 = 61.2;
    v->ema20 = close - 100;
    v->ema50 = close - 300;
    v->ema200 = NAN;
    v->macd = 12.5;
    v->macd_signal = 9.1;
    v->macd_hist = 3.4;
    v->atr14 = 310;
    v->adx14 = 28;
    v->regime = LB_REGIME_TRENDING;
    v->trend = 1;
    v->support = close - 900;
    v->resistance = close + 1500;
    v->range_pos = 900.0 / 2400.0;
    v->swing_low = close - 700;
    v->swing_high = close + 1500;
    v->n_recent = 2;
    v->recent[0] = (data_candle){s->ts - v->tf, close - 60, close + 10, close - 90, close - 50, 900};
    v->recent[1] = (data_candle){s->ts, close - 50, close + 80, close - 120, close, 1234.5};
  }
  s->confluence = 1;
  s->n_agree = 2;
  s->n_up = 2;
}

void aitest_context(strategy_context *c, lb_ms now) {
  memset(c, 0, sizeof *c);
  c->capital = LB_DEC_INT(100);
  c->mark_price = LB_DEC_INT(42000);
  c->funding_rate = 0.0001;
  c->max_leverage = 3;
  c->min_stop = 0.07;
  c->max_stop = 0.08;
  c->max_risk_per_trade = 0.10;
  c->now = now;
}

static lb_ms clock_now(void *ctx) { return ((aitest_clock *)ctx)->now; }

static void clock_sleep(void *ctx, lb_ms d) {
  aitest_clock *c = ctx;
  if (c->n_sleeps < 32) c->sleeps[c->n_sleeps++] = d;
  c->now += d;
}

lb_clock aitest_clock_bind(aitest_clock *c, lb_ms start) {
  memset(c, 0, sizeof *c);
  c->now = start;
  return (lb_clock){clock_now, clock_sleep, c};
}

void aitest_on_event(void *ctx, const ai_event *ev) {
  aitest_events *e = ctx;
  if (ev->kind == AI_EV_ALL_FAILED) e->all_failed++;
  if (ev->kind == AI_EV_PROVIDER_DOWN) e->down++;
  if (ev->kind == AI_EV_PROVIDER_UP) e->up++;
  snprintf(e->last_detail, sizeof e->last_detail, "%s", ev->detail ? ev->detail : "");
  snprintf(e->last_provider, sizeof e->last_provider, "%s", ev->provider ? ev->provider : "");
}

void aitest_config(ai_config *cfg) {
  ai_config_defaults(cfg);
  cfg->timeout_ms = 2000;
  cfg->jitter = 0;
  cfg->seed = 42;
  cfg->cache_ttl_ms = 300 * LB_MS_SECOND;
}

void aitest_add_provider(ai_config *cfg, const char *name, ai_wire wire, const stub_llm *stub,
                         const char *key) {
  ai_provider_cfg *p = &cfg->prov[cfg->n_prov++];
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", name);
  p->wire = wire;
  snprintf(p->base_url, sizeof p->base_url, "%s",
           stub_url(stub, wire == AI_WIRE_ANTHROPIC ? "" : "/v1"));
  snprintf(p->api_key, sizeof p->api_key, "%s", key);
  snprintf(p->model, sizeof p->model, "%s-model", name);
  p->weight = 1.0;
  p->price_in = LB_DEC_INT(3);
  p->price_out = LB_DEC_INT(15);
  p->json_mode = wire == AI_WIRE_OPENAI ? AI_JSON_SCHEMA : AI_JSON_PROMPT;
}

store *aitest_store(void) { return aitest_store_at(NULL); }

store *aitest_store_at(char *url_out) {
  static int n;
  char url[600];
  snprintf(url, sizeof url, "sqlite://%.500s/ai-%d.db", lbt_tmpdir(), n++);
  if (url_out) snprintf(url_out, 600, "%s", url);
  store_options opt;
  memset(&opt, 0, sizeof opt);
  opt.migrate = true;
  store *s = NULL;
  lb_errbuf eb;
  if (store_open(url, &opt, &s, &eb) != LB_OK) {
    printf("    store_open(%s): %s\n", url, eb.msg);
    return NULL;
  }
  return s;
}
