/* bench_ai_cost.c -- what the AI engine costs per day, on real candles.
 *
 * Replays the bundled BTCUSDT 5m month (data/binance-um/) through the
 * engine with the AI panel built from the configuration exactly as
 * `levbot run` builds it (ai_panel_from_config), each provider pointed at a
 * stub LLM server on 127.0.0.1 (tests/ai/stub_llm.c) that answers over the
 * real wire formats.  The engine scans every SCAN_INTERVAL_SECONDS of
 * market time (the seed's 300 s by default), as the live loop does, not
 * only when an entry-timeframe candle closes.  The first days warm the
 * indicators up; the figures are for the last day (and, as a check, the
 * average day after warm-up):
 *   scans, how many the red flags stopped, LLM calls made, cache hits,
 *   calls saved by the red flags and by the cache, tokens, cost per day at
 *   the configured prices per provider,
 * against the baseline of the seed before its fixes: every scan asks every
 * model, no red-flag filter before the call, no working cache.
 *
 * The stub answers HOLD (so no position ever blocks a scan: the most calls
 * a day can take) and reports as input tokens the request's size / 4, a
 * tokenizer's usual ratio for English and JSON; output tokens 150.
 *
 *   build/bench/ai-cost/bench_ai_cost [VAR=value ...]
 * e.g. bench_ai_cost AI_CACHE_TTL=300 SCAN_INTERVAL_SECONDS=60
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ai/ai.h"
#include "core/log.h"
#include "engine/backtest.h"
#include "engine/engine.h"
#include "exchange/sim.h"
#include "store/store.h"
#include "stub_llm.h"

#ifndef LB_SOURCE_DIR
#define LB_SOURCE_DIR "."
#endif

#define DATA_FILE LB_SOURCE_DIR "/data/binance-um/BTCUSDT-5m-2022-04.csv"

typedef struct {
  long scans, red_flags, busy, asked;
  ai_stats ai;
} figures;

static void take(engine *e, strategy_panel *p, figures *f) {
  engine_counters c;
  engine_get_counters(e, &c);
  memset(f, 0, sizeof *f);
  f->scans = c.scans;
  for (int i = 0; i < STRATEGY_RF__COUNT; i++) f->red_flags += c.red_flags[i];
  f->busy = c.scans - f->red_flags - c.asked;
  f->asked = c.asked;
  ai_panel_stats(p, &f->ai);
}

static void diff(const figures *a, const figures *b, figures *d) {
  *d = *b;
  d->scans -= a->scans;
  d->red_flags -= a->red_flags;
  d->busy -= a->busy;
  d->asked -= a->asked;
  d->ai.llm_calls -= a->ai.llm_calls;
  d->ai.cache_hits -= a->ai.cache_hits;
  d->ai.http_requests -= a->ai.http_requests;
  d->ai.failures -= a->ai.failures;
  d->ai.tokens_in -= a->ai.tokens_in;
  d->ai.tokens_out -= a->ai.tokens_out;
  d->ai.cost_usd -= a->ai.cost_usd;
}

static int die(const char *what, const char *msg) {
  fprintf(stderr, "bench_ai_cost: %s: %s\n", what, msg);
  return 1;
}

static void print_day(const char *title, const figures *d, double days, int n_llm,
                      lb_dec baseline_cost) {
  double k = days > 0 ? 1.0 / days : 1.0;
  double calls = (double)d->ai.llm_calls * k, hits = (double)d->ai.cache_hits * k;
  double base_calls = (double)d->scans * k * n_llm;
  double cost = lb_dec_to_double(d->ai.cost_usd) * k, base = lb_dec_to_double(baseline_cost) * k;
  printf("%s\n", title);
  printf("  scans                         %8.1f\n", (double)d->scans * k);
  printf("    stopped by red flags        %8.1f\n", (double)d->red_flags * k);
  printf("    position open / breaker     %8.1f\n", (double)d->busy * k);
  printf("    analysts asked              %8.1f\n", (double)d->asked * k);
  printf("  LLM calls made                %8.1f\n", calls);
  printf("  cache hits                    %8.1f  (hit rate %.1f %%)\n", hits,
         calls + hits > 0 ? 100.0 * hits / (calls + hits) : 0.0);
  printf("  calls saved by red flags      %8.1f  (%d providers x flagged scans)\n",
         (double)d->red_flags * k * n_llm, n_llm);
  printf("  HTTP requests                 %8.1f\n", (double)d->ai.http_requests * k);
  printf("  tokens in / out               %8.0f / %.0f\n", (double)d->ai.tokens_in * k,
         (double)d->ai.tokens_out * k);
  printf("  cost                          %8.4f USD per day\n", cost);
  printf("  baseline (every scan asks every model, no filter, no cache):\n");
  printf("    calls %.1f, cost %.4f USD per day\n", base_calls, base);
  printf("  ratio to baseline             calls %.3f, cost %.3f\n\n",
         base_calls > 0 ? calls / base_calls : 0.0, base > 0 ? cost / base : 0.0);
}

int main(int argc, char **argv) {
  lb_log_setup(LB_LOG_ERROR, LB_LOG_HUMAN, NULL);
  lb_config cfg;
  lb_config_defaults(&cfg);
  lb_cfg_report rep;
  memset(&rep, 0, sizeof rep);
  /* Each default provider of AI_PROVIDERS gets a key and a stub. */
  stub_llm *stubs[AI_MAX_PROVIDERS];
  int n_stub = 0;
  char items[16][64];
  int n_items = lb_cfg_split_list(cfg.ai_providers, items, 16);
  for (int i = 0; i < n_items && n_stub < AI_MAX_PROVIDERS; i++) {
    stub_llm *s = stub_start();
    if (!s) return die("stub", "cannot start a stub server on 127.0.0.1");
    stub_set_default(s, &(stub_reply){.text = "{\"action\": \"HOLD\", \"confidence\": 0.55, "
                                              "\"leverage\": 1, \"stop_loss_percent\": 0.07, "
                                              "\"take_profit_percent\": 0.14, \"market_regime\": "
                                              "\"ranging\", \"reasoning\": \"no confluence\"}",
                                      .tokens_in = -1, .tokens_out = 150});
    stubs[n_stub++] = s;
    char up[64], name[96], val[128];
    size_t k = 0;
    for (; items[i][k] && k < sizeof up - 1; k++)
      up[k] = (char)(items[i][k] >= 'a' && items[i][k] <= 'z' ? items[i][k] - 32 : items[i][k]);
    up[k] = '\0';
    if (!strcmp(up, "LOCAL")) snprintf(up, sizeof up, "LOCAL_LLM");
    snprintf(name, sizeof name, "%s_API_KEY", up);
    lb_config_set(&cfg, name, "bench-key-0000", &rep);
    snprintf(name, sizeof name, "%s_BASE_URL", up);
    snprintf(val, sizeof val, "%s", stub_url(s, !strcmp(up, "ANTHROPIC") ? "" : "/v1"));
    lb_config_set(&cfg, name, val, &rep);
  }
  for (int i = 1; i < argc; i++) { /* VAR=value overrides */
    char *eq = strchr(argv[i], '=');
    if (!eq) return die("usage", "arguments are VAR=value");
    *eq = '\0';
    lb_config_set(&cfg, argv[i], eq + 1, &rep);
  }
  lb_config_check(&cfg, &rep);
  if (rep.n_errors) return die("configuration", rep.errors[0]);

  engine_replay_files files;
  memset(&files, 0, sizeof files);
  files.data[files.n_data++] = DATA_FILE;
  engine_replay_setup setup;
  lb_errbuf eb;
  if (engine_replay_setup_load(&setup, &files, &cfg, &eb)) return die(DATA_FILE, eb.msg);

  char dbpath[] = "/tmp/levbot-bench-ai-XXXXXX";
  if (!mkdtemp(dbpath)) return die("mkdtemp", "failed");
  char url[256];
  snprintf(url, sizeof url, "sqlite://%s/ai.db", dbpath);
  store_options so;
  memset(&so, 0, sizeof so);
  so.migrate = true;
  store *db = NULL;
  if (store_open(url, &so, &db, &eb)) return die("store", eb.msg);
  ai_deps deps = {db, NULL, NULL, NULL, NULL};
  strategy_panel *panel = NULL;
  if (ai_panel_from_config(&cfg, &deps, &panel, &eb)) return die("AI panel", eb.msg);
  ai_config acfg;
  ai_config_from_lb(&cfg, &acfg, NULL, &eb);

  engine_params ep = setup.params.engine;
  ep.n_symbols = 1;
  snprintf(ep.symbols[0], sizeof ep.symbols[0], "%s", setup.series[0].symbol);
  ai_panel_rules(panel, &ep.consensus);
  xchg *x = NULL;
  if (xchg_sim_new(&setup.params.sim, &x, &eb)) return die("sim", eb.msg);
  xchg_sim_symbol sy;
  memset(&sy, 0, sizeof sy);
  snprintf(sy.symbol, sizeof sy.symbol, "%s", setup.series[0].symbol);
  if (xchg_sim_add_symbol(x, &sy, &eb)) return die("sim", eb.msg);
  engine *e = NULL;
  if (engine_new(&ep, x, panel, NULL, &e, &eb)) return die("engine", eb.msg);

  const data_series *s = &setup.series[0];
  const lb_ms tf = s->timeframe, interval = cfg.scan_interval_seconds * LB_MS_SECOND;
  const lb_ms last_day = lb_time_day_start(s->c[s->n - 1].ts);
  const lb_ms warm_end = lb_time_day_start(s->c[0].ts) + 7 * LB_MS_DAY; /* 4h EMA(50) and ADX */
  figures at_warm, at_last_day, at_end;
  bool warm_taken = false, day_taken = false;
  lb_ms next_scan = 0;
  lb_ms t0 = lb_time_mono_ms();
  for (size_t i = 0; i < s->n; i++) {
    const data_candle *c = &s->c[i];
    lb_ms close_t = c->ts + tf;
    if (!warm_taken && c->ts >= warm_end) {
      take(e, panel, &at_warm);
      warm_taken = true;
    }
    if (!day_taken && c->ts >= last_day) {
      take(e, panel, &at_last_day);
      day_taken = true;
    }
    if (xchg_sim_on_candle_at(x, 0, tf, c) || engine_on_candle(e, 0, tf, c, NULL))
      return die("replay", "a candle was refused");
    if (close_t >= next_scan) {
      if (engine_scan_run(e, 0, close_t)) return die("scan", "the engine stopped");
      next_scan = close_t + interval;
    }
  }
  take(e, panel, &at_end);
  lb_ms took = lb_time_mono_ms() - t0;

  int n_llm = acfg.n_prov;
  char a[16], b[16], ttl[32];
  lb_time_fmt_date(s->c[0].ts, a, sizeof a);
  lb_time_fmt_date(last_day, b, sizeof b);
  snprintf(ttl, sizeof ttl, "%lld s", (long long)(acfg.cache_ttl_ms / 1000));
  printf("bench ai-cost: %s %s candles %s .. %s, entry timeframe %s, scan every %ld s, "
         "AI_CACHE_TTL %s\n",
         s->symbol, "5m", a, b, cfg.entry_timeframe, cfg.scan_interval_seconds, ttl);
  printf("providers:");
  for (int i = 0; i < n_llm; i++) {
    char pin[LB_DEC_STRLEN], pout[LB_DEC_STRLEN];
    lb_dec_fmt(acfg.prov[i].price_in, pin, sizeof pin);
    lb_dec_fmt(acfg.prov[i].price_out, pout, sizeof pout);
    printf(" %s/%s (%s/%s USD per M tokens)%s", acfg.prov[i].name, acfg.prov[i].model, pin, pout,
           i + 1 < n_llm ? "," : "\n");
  }
  printf("replayed %zu candles in %.1f s wall time\n\n", s->n, (double)took / 1000.0);

  /* Baseline cost: every scan asks every model at this run's average
   * tokens per call. */
  figures day, avg;
  diff(&at_last_day, &at_end, &day);
  diff(&at_warm, &at_end, &avg);
  lb_dec base_day = 0, base_avg = 0;
  if (avg.ai.llm_calls > 0) {
    lb_dec per_call = avg.ai.cost_usd / avg.ai.llm_calls;
    base_day = per_call * day.scans * n_llm;
    base_avg = per_call * avg.scans * n_llm;
  }
  print_day("Last day", &day, 1, n_llm, base_day);
  double days = (double)(last_day + LB_MS_DAY - warm_end) / (double)LB_MS_DAY;
  char title[128];
  snprintf(title, sizeof title, "Average day after warm-up (%.0f days)", days);
  print_day(title, &avg, days, n_llm, base_avg);

  engine_free(e);
  xchg_free(x);
  panel->destroy(panel); /* writes the last round's ai_decisions rows */
  /* The same day as `levbot ai-stats` shows it, per model. */
  store_ai_stat *rows = NULL;
  int nr = 0;
  if (store_flush(db, 30000, &eb) == LB_OK &&
      store_ai_stats(db, last_day, last_day + LB_MS_DAY, STORE_AI_BY_MODEL, &rows, &nr, &eb) ==
          LB_OK) {
    printf("Last day per model (from ai_decisions, as levbot ai-stats shows it)\n");
    for (int i = 0; i < nr; i++) {
      char cost[LB_DEC_STRLEN];
      lb_dec_fmt_places(rows[i].cost_usd, 4, cost, sizeof cost);
      double share = lb_dec_to_double(day.ai.cost_usd) > 0
                         ? 100.0 * lb_dec_to_double(rows[i].cost_usd) /
                               lb_dec_to_double(day.ai.cost_usd)
                         : 0.0;
      printf("  %-32s calls %5ld  cache hits %5ld  cost %s USD (%.1f %%)\n", rows[i].model,
             rows[i].calls, rows[i].cache_hits, cost, share);
    }
    free(rows);
  }
  store_close(db);
  engine_replay_setup_close(&setup);
  for (int i = 0; i < n_stub; i++) stub_stop(stubs[i]);
  char rm[300];
  snprintf(rm, sizeof rm, "rm -rf '%s'", dbpath);
  if (system(rm) != 0) fprintf(stderr, "could not remove %s\n", dbpath);
  lb_log_shutdown();
  return 0;
}
