/* cmd_ai_stats.c -- `levbot ai-stats`: LLM calls, cache hit rate and spend per day and per model.
 *
 * Reads the ai_decisions rows the AI panel writes (store_ai_stats), so it
 * works on a running bot's database as well as after the fact.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/time.h"
#include "store/store.h"

typedef struct {
  long calls, hits, errors, tin, tout;
  lb_dec cost;
} totals;

static double hit_rate(long calls, long hits) {
  return calls + hits > 0 ? 100.0 * (double)hits / (double)(calls + hits) : 0.0;
}

static void cost_text(lb_dec c, char *buf, size_t n) { lb_dec_fmt_places(c, 6, buf, n); }

static void print_text(lb_ms from, lb_ms to, const store_ai_stat *days, int nd,
                       const store_ai_stat *models, int nm, const totals *t) {
  char a[16], b[16], cost[LB_DEC_STRLEN];
  lb_time_fmt_date(from, a, sizeof a);
  lb_time_fmt_date(to - 1, b, sizeof b);
  printf("AI usage %s .. %s (UTC)\n\n", a, b);
  if (nd == 0) {
    printf("No AI calls recorded in this period.\n");
    return;
  }
  printf("Per day\n  %-10s  %7s  %10s  %8s  %6s  %10s  %10s  %12s\n", "day", "calls", "cache hits",
         "hit rate", "errors", "tokens in", "tokens out", "cost (USD)");
  for (int i = 0; i < nd; i++) {
    const store_ai_stat *r = &days[i];
    lb_time_fmt_date(r->day, a, sizeof a);
    cost_text(r->cost_usd, cost, sizeof cost);
    printf("  %-10s  %7ld  %10ld  %7.1f%%  %6ld  %10ld  %10ld  %12s\n", a, r->calls, r->cache_hits,
           hit_rate(r->calls, r->cache_hits), r->errors, r->tokens_in, r->tokens_out, cost);
  }
  printf("\nPer model\n  %-40s  %7s  %10s  %8s  %6s  %11s  %12s\n", "provider/model", "calls",
         "cache hits", "hit rate", "errors", "avg latency", "cost (USD)");
  for (int i = 0; i < nm; i++) {
    const store_ai_stat *r = &models[i];
    char name[160];
    snprintf(name, sizeof name, "%s/%s", r->provider, r->model);
    cost_text(r->cost_usd, cost, sizeof cost);
    printf("  %-40s  %7ld  %10ld  %7.1f%%  %6ld  %8.0f ms  %12s\n", name, r->calls, r->cache_hits,
           hit_rate(r->calls, r->cache_hits), r->errors, r->avg_latency_ms, cost);
  }
  cost_text(t->cost, cost, sizeof cost);
  int ndays = (int)((to - from) / LB_MS_DAY);
  char per_day[LB_DEC_STRLEN] = "0";
  lb_dec pd = 0;
  if (ndays > 0 && lb_dec_div(t->cost, LB_DEC_INT(ndays), LB_ROUND_HALF_EVEN, &pd) == LB_OK)
    cost_text(pd, per_day, sizeof per_day);
  printf("\nTotal: %ld calls, %ld cache hits (%.1f%%), %ld errors, %ld tokens in, %ld tokens out, "
         "cost %s USD (%s USD per day over %d day%s)\n",
         t->calls, t->hits, hit_rate(t->calls, t->hits), t->errors, t->tin, t->tout, cost,
         per_day, ndays, ndays == 1 ? "" : "s");
}

static json_t *stat_json(const store_ai_stat *r, bool with_day) {
  char cost[LB_DEC_STRLEN], day[16];
  lb_dec_fmt(r->cost_usd, cost, sizeof cost);
  json_t *o = json_pack("{s:I, s:I, s:f, s:I, s:I, s:I, s:I, s:s, s:f}", "calls",
                        (json_int_t)r->calls, "cache_hits", (json_int_t)r->cache_hits,
                        "cache_hit_rate", hit_rate(r->calls, r->cache_hits) / 100.0, "errors",
                        (json_int_t)r->errors, "tokens_in", (json_int_t)r->tokens_in,
                        "tokens_out", (json_int_t)r->tokens_out, "tokens_cache",
                        (json_int_t)r->tokens_cache, "cost_usd", cost, "avg_latency_ms",
                        r->avg_latency_ms);
  if (!o) return NULL;
  if (with_day) {
    lb_time_fmt_date(r->day, day, sizeof day);
    json_object_set_new(o, "day", json_string(day));
  } else {
    json_object_set_new(o, "provider", json_string(r->provider));
    json_object_set_new(o, "model", json_string(r->model));
  }
  return o;
}

static int print_json(lb_ms from, lb_ms to, const store_ai_stat *days, int nd,
                      const store_ai_stat *models, int nm, const totals *t) {
  char a[16], b[16], cost[LB_DEC_STRLEN];
  lb_time_fmt_date(from, a, sizeof a);
  lb_time_fmt_date(to - 1, b, sizeof b);
  lb_dec_fmt(t->cost, cost, sizeof cost);
  json_t *jd = json_array(), *jm = json_array();
  for (int i = 0; i < nd; i++) json_array_append_new(jd, stat_json(&days[i], true));
  for (int i = 0; i < nm; i++) json_array_append_new(jm, stat_json(&models[i], false));
  json_t *o = json_pack("{s:s, s:s, s:o, s:o, s:{s:I, s:I, s:f, s:I, s:I, s:I, s:s}}", "from", a,
                        "to", b, "days", jd, "models", jm, "total", "calls", (json_int_t)t->calls,
                        "cache_hits", (json_int_t)t->hits, "cache_hit_rate",
                        hit_rate(t->calls, t->hits) / 100.0, "errors", (json_int_t)t->errors,
                        "tokens_in", (json_int_t)t->tin, "tokens_out", (json_int_t)t->tout,
                        "cost_usd", cost);
  char *s = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
  json_decref(o);
  if (!s) return cli_error("ai-stats", CLI_EXIT_FAILURE, "out of memory");
  printf("%s\n", s);
  free(s);
  return CLI_EXIT_OK;
}

static int parse_date(const char *opt, const char *v, lb_ms *out) {
  if (lb_time_parse_iso(v, out) != LB_OK || lb_time_day_start(*out) != *out)
    return cli_error("ai-stats", CLI_EXIT_USAGE, "%s %s is not a date (YYYY-MM-DD)", opt, v);
  return CLI_EXIT_OK;
}

static int ai_stats_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  long days = 7;
  lb_ms from = 0, to = 0;
  bool json = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool takes = !strcmp(a, "--days") || !strcmp(a, "--from") || !strcmp(a, "--to");
    if (takes && i + 1 >= argc)
      return cli_error("ai-stats", CLI_EXIT_USAGE, "option %s needs a value", a);
    if (!strcmp(a, "--days")) {
      const char *v = argv[++i];
      char *end;
      errno = 0;
      days = strtol(v, &end, 10);
      if (errno || end == v || *end || days < 1 || days > 3660)
        return cli_error("ai-stats", CLI_EXIT_USAGE, "--days %s is not a whole number 1..3660", v);
    } else if (!strcmp(a, "--from")) {
      if ((rc = parse_date(a, argv[++i], &from))) return rc;
    } else if (!strcmp(a, "--to")) {
      if ((rc = parse_date(a, argv[++i], &to))) return rc;
    } else if (!strcmp(a, "--json")) {
      json = true;
    } else {
      return cli_error("ai-stats", CLI_EXIT_USAGE, "unknown option %s (see levbot ai-stats --help)",
                       a);
    }
  }
  /* [from, to) in whole UTC days; --to names the last day included. */
  if (to) to += LB_MS_DAY;
  else if (from) to = from + days * LB_MS_DAY;
  else to = lb_time_day_start(lb_time_now_ms()) + LB_MS_DAY;
  if (!from) from = to - days * LB_MS_DAY;
  if (from >= to)
    return cli_error("ai-stats", CLI_EXIT_USAGE, "--from is after --to");

  lb_config cfg;
  rc = cli_load_config(&common, &cfg);
  if (rc) return rc;
  store_options opt;
  memset(&opt, 0, sizeof opt); /* a reader: no lock, no migration */
  store *db = NULL;
  lb_errbuf eb;
  lb_err e = store_open(cfg.database_url, &opt, &db, &eb);
  if (e) return cli_error("ai-stats", CLI_EXIT_DB, "%s", eb.msg);
  store_ai_stat *byday = NULL, *bymodel = NULL;
  int nd = 0, nm = 0;
  e = store_ai_stats(db, from, to, STORE_AI_BY_DAY, &byday, &nd, &eb);
  if (!e) e = store_ai_stats(db, from, to, STORE_AI_BY_MODEL, &bymodel, &nm, &eb);
  store_close(db);
  if (e) {
    free(byday);
    free(bymodel);
    return cli_error("ai-stats", cli_exit_for(e), "%s", eb.msg);
  }
  totals t = {0};
  for (int i = 0; i < nd; i++) {
    t.calls += byday[i].calls;
    t.hits += byday[i].cache_hits;
    t.errors += byday[i].errors;
    t.tin += byday[i].tokens_in;
    t.tout += byday[i].tokens_out;
    t.cost += byday[i].cost_usd;
  }
  if (json) rc = print_json(from, to, byday, nd, bymodel, nm, &t);
  else print_text(from, to, byday, nd, bymodel, nm, &t);
  free(byday);
  free(bymodel);
  return rc;
}

const cli_cmd cli_cmd_ai_stats = {
    "ai-stats", "LLM calls, cache hit rate and spend per day and model",
    "Usage: levbot ai-stats [--days N | --from DATE [--to DATE]] [--json]\n\n"
    "Reads the AI decisions recorded in DATABASE_URL and prints, per UTC day and per\n"
    "provider/model: calls made (failures included), answers served from the cache and\n"
    "the cache hit rate, errors, tokens and the cost at the configured prices\n"
    "(<PROVIDER>_PRICE_INPUT / _PRICE_OUTPUT, USD per million tokens).\n\n"
    "  --days N     the last N days up to today, UTC (default 7)\n"
    "  --from DATE  first day (YYYY-MM-DD); with --days N, N days from it\n"
    "  --to DATE    last day included (YYYY-MM-DD)\n"
    "  --json       machine-readable output\n\n"
    "Examples:\n"
    "  levbot ai-stats\n"
    "  levbot ai-stats --from 2025-01-01 --to 2025-01-31 --json\n\n"
    "Exit codes: 0 printed, 2 bad option, 3 invalid configuration, 5 database error.",
    ai_stats_run};
