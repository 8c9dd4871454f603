/* cmd_download_data.c -- `levbot download-data`: closed klines from Binance USDT-M into a CSV file.
 *
 * Thin: options, the configuration (BINANCE_REST_URL, timeouts, rate-limit
 * settings), the binance_usdm adapter built from it, then
 * xchg_download_klines() (src/exchange/download.h), which pages the public
 * GET /fapi/v1/klines through the adapter, validates, resumes and writes
 * atomically.  No API key is needed or sent.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "exchange/binance.h"
#include "exchange/download.h"

#define CMD "download-data"

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  const char *timeframe, *from, *to, *out, *base_url;
  int retries;
  bool allow_gaps, quiet, progress;
} dl_opts;

static int parse_int(const char *opt, const char *s, int lo, int hi, int *out) {
  char *end;
  long v = strtol(s, &end, 10);
  if (end == s || *end || v < lo || v > hi)
    return cli_error(CMD, CLI_EXIT_USAGE, "%s %s is not an integer in %d..%d", opt, s, lo, hi);
  *out = (int)v;
  return CLI_EXIT_OK;
}

static int set_symbol(dl_opts *o, const char *s) {
  size_t n = strlen(s);
  bool ok = n > 0 && n < sizeof o->symbol;
  for (size_t i = 0; i < n && ok; i++) ok = isalnum((unsigned char)s[i]);
  if (!ok)
    return cli_error(CMD, CLI_EXIT_USAGE, "--symbol %s is not a symbol (letters and digits, e.g. BTCUSDT)", s);
  for (size_t i = 0; i <= n; i++) o->symbol[i] = (char)toupper((unsigned char)s[i]);
  return CLI_EXIT_OK;
}

static int parse(int argc, char **argv, dl_opts *o) {
  memset(o, 0, sizeof *o);
  o->retries = 3;
  o->progress = isatty(STDERR_FILENO);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--allow-gaps") == 0) {
      o->allow_gaps = true;
      continue;
    }
    if (strcmp(a, "--quiet") == 0) {
      o->quiet = true;
      continue;
    }
    if (strcmp(a, "--no-progress") == 0) {
      o->progress = false;
      continue;
    }
    const char **slot = strcmp(a, "--timeframe") == 0  ? &o->timeframe
                        : strcmp(a, "--from") == 0     ? &o->from
                        : strcmp(a, "--to") == 0       ? &o->to
                        : strcmp(a, "--out") == 0      ? &o->out
                        : strcmp(a, "--base-url") == 0 ? &o->base_url
                                                       : NULL;
    bool takes = slot || strcmp(a, "--symbol") == 0 || strcmp(a, "--retries") == 0;
    if (!takes) return cli_error(CMD, CLI_EXIT_USAGE, "unknown option %s (see levbot download-data --help)", a);
    if (i + 1 >= argc) return cli_error(CMD, CLI_EXIT_USAGE, "option %s needs a value", a);
    const char *v = argv[++i];
    int rc = CLI_EXIT_OK;
    if (slot) *slot = v;
    else if (strcmp(a, "--symbol") == 0) rc = set_symbol(o, v);
    else rc = parse_int(a, v, 0, 20, &o->retries);
    if (rc) return rc;
  }
  const char *missing = !o->symbol[0] ? "--symbol" : !o->timeframe ? "--timeframe" : !o->from ? "--from"
                        : !o->to ? "--to" : !o->out ? "--out" : NULL;
  if (missing) return cli_error(CMD, CLI_EXIT_USAGE, "%s is required (see levbot download-data --help)", missing);
  return CLI_EXIT_OK;
}

static int parse_date(const char *opt, const char *s, lb_ms *out) {
  if (lb_time_parse_iso(s, out) != LB_OK)
    return cli_error(CMD, CLI_EXIT_USAGE, "%s %s is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)", opt, s);
  return CLI_EXIT_OK;
}

/* --base-url replaces BINANCE_REST_URL, with the same checks as the file. */
static int apply_base_url(lb_config *cfg, const char *url) {
  lb_cfg_report *rep = calloc(1, sizeof *rep);
  if (!rep) return cli_error(CMD, CLI_EXIT_FAILURE, "out of memory");
  if (lb_config_set(cfg, "BINANCE_REST_URL", url, rep) == LB_OK) lb_config_check(cfg, rep);
  int rc = CLI_EXIT_OK;
  for (int i = 0; i < rep->n_errors && !rc; i++)
    if (strstr(rep->errors[i], "BINANCE_REST_URL")) rc = cli_error(CMD, CLI_EXIT_USAGE, "--base-url: %s", rep->errors[i]);
  free(rep);
  return rc;
}

static const char *when(lb_ms t, char *b, size_t n) {
  lb_time_fmt_iso(t, b, n);
  b[10] = ' ';
  b[16] = '\0';
  return b;
}

static void progress_line(void *ctx, const xchg_dl_progress *p) {
  const char *symbol = ctx;
  int pct = p->total ? (int)(100.0 * (double)p->done / (double)p->total) : 100;
  fprintf(stderr, "\r  %s: %lld / %lld bars (%3d %%), %zu candles", symbol, (long long)p->done,
          (long long)p->total, pct, p->candles);
  if (p->done >= p->total) fprintf(stderr, "\r%*s\r", 70, "");
  fflush(stderr);
}

static int exit_for(lb_err e) {
  switch (e) {
  case LB_EINVAL: return CLI_EXIT_USAGE;
  case LB_ENET:
  case LB_EREJECTED:
  case LB_ENOTFOUND: return CLI_EXIT_EXCHANGE;
  default: return cli_exit_for(e);
  }
}

static void report(const dl_opts *o, const xchg_dl_params *p, const xchg_dl_result *r, double secs) {
  char a[LB_TIME_ISO_LEN], b[LB_TIME_ISO_LEN];
  printf("%s %s  %s .. %s UTC\n", p->symbol, o->timeframe, when(p->from, a, sizeof a), when(r->to_effective, b, sizeof b));
  if (r->to_effective < p->to) printf("  --to is after the latest closed candle: downloaded up to it\n");
  if (r->downloaded == 0)
    printf("  %s already holds every candle the exchange has in this range: nothing downloaded\n", o->out);
  else
    printf("  downloaded %zu candles in %.2f s (%.0f candles/s; %d klines call%s, %d retr%s)\n", r->downloaded,
           secs, secs > 0 ? (double)r->downloaded / secs : 0.0, r->calls, r->calls == 1 ? "" : "s",
           r->retries_used, r->retries_used == 1 ? "y" : "ies");
  if (r->history_start)
    printf("  the exchange has no candle before %s UTC (where its %s history starts)\n",
           when(r->history_start, a, sizeof a), p->symbol);
  if (r->written || r->kept)
    printf("  %s %s: %zu rows (%zu kept, %zu new), %s .. %s UTC\n", r->written ? "wrote" : "unchanged", o->out,
           r->rows, r->kept, r->downloaded, when(r->first, a, sizeof a), when(r->last, b, sizeof b));
  if (r->gaps == 0) {
    printf("  no gaps in the range\n");
    return;
  }
  printf("  %zu gap%s the exchange cannot fill (%zu bars missing):\n", r->gaps, r->gaps == 1 ? "" : "s",
         r->missing_bars);
  for (size_t i = 0; i < r->gaps && i < XCHG_DL_GAPS_LISTED; i++)
    printf("    %s .. %s UTC (%lld bars)\n", when(r->gap[i].start, a, sizeof a), when(r->gap[i].end, b, sizeof b),
           (long long)((r->gap[i].end - r->gap[i].start) / p->timeframe));
  if (r->gaps > XCHG_DL_GAPS_LISTED) printf("    ... and %zu more\n", r->gaps - XCHG_DL_GAPS_LISTED);
}

static int download_data_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  dl_opts o;
  if ((rc = parse(argc, argv, &o))) return rc;
  xchg_dl_params p = {.symbol = o.symbol, .path = o.out, .allow_gaps = o.allow_gaps, .retries = o.retries};
  if (lb_timeframe_parse(o.timeframe, &p.timeframe) != LB_OK)
    return cli_error(CMD, CLI_EXIT_USAGE, "--timeframe %s is not a kline interval (1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w)",
                     o.timeframe);
  if ((rc = parse_date("--from", o.from, &p.from)) || (rc = parse_date("--to", o.to, &p.to))) return rc;
  if (p.to <= p.from) return cli_error(CMD, CLI_EXIT_USAGE, "--to %s is not after --from %s", o.to, o.from);
  if (p.from > lb_time_now_ms()) return cli_error(CMD, CLI_EXIT_USAGE, "--from %s is in the future", o.from);
  lb_config cfg;
  if ((rc = cli_load_config(&common, &cfg))) return rc;
  if (o.base_url && (rc = apply_base_url(&cfg, o.base_url))) return rc;
  char named[LB_SYMBOL_MAX];
  data_symbol_from_name(o.out, named, sizeof named);
  if (!o.quiet && strcmp(named, o.symbol) != 0)
    fprintf(stderr, "levbot %s: note: backtests read the symbol from the file name, and %s reads as %s "
                    "(a name like %s-%s-....csv reads as %s)\n", CMD, o.out, named, o.symbol, o.timeframe, o.symbol);

  xchg *x = NULL;
  lb_errbuf eb = {{0}};
  if (xchg_binance_new(&cfg, &lb_clock_system, &x, &eb) != LB_OK)
    return cli_error(CMD, CLI_EXIT_CONFIG, "%s", eb.msg);
  if (o.progress && !o.quiet) {
    p.progress = progress_line;
    p.progress_ctx = o.symbol;
  }
  xchg_dl_result res;
  lb_ms t0 = lb_time_mono_ms();
  lb_err err = xchg_download_klines(x, &p, &res, &eb);
  double secs = (double)(lb_time_mono_ms() - t0) / 1000.0;
  xchg_free(x);
  if (err) {
    char a[LB_TIME_ISO_LEN];
    if (res.written)
      return cli_error(CMD, exit_for(err), "%s (exchange at %s); %zu candles up to %s UTC are saved in %s: "
                       "run the same command again to resume", eb.msg, cfg.binance_rest_url, res.rows,
                       when(res.last, a, sizeof a), o.out);
    return cli_error(CMD, exit_for(err), "%s (exchange at %s)", eb.msg, cfg.binance_rest_url);
  }
  if (!o.quiet) report(&o, &p, &res, secs);
  return CLI_EXIT_OK;
}

const cli_cmd cli_cmd_download_data = {
    "download-data", "download closed klines from Binance USDT-M into a CSV file",
    "Usage: levbot download-data --symbol SYMBOL --timeframe TF --from DATE --to DATE --out FILE [options]\n\n"
    "Downloads the closed candles of a Binance USDT-M perpetual from the public endpoint\n"
    "GET /fapi/v1/klines (no API key needed; request weight is respected) and writes them\n"
    "in Binance's public-data kline CSV layout (12 columns, no header), which\n"
    "levbot backtest and levbot optimize read. Every candle is checked (on the timeframe's\n"
    "UTC grid, strictly increasing, high/low around open/close); a hole is asked for again\n"
    "before it counts as a gap. The file is written atomically (temporary file, fsync,\n"
    "rename). If FILE exists, its rows are kept unchanged and only the bars it lacks are\n"
    "downloaded: the same command resumes an interrupted download or extends a file.\n\n"
    "  --symbol SYMBOL    perpetual symbol, e.g. BTCUSDT\n"
    "  --timeframe TF     1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w\n"
    "  --from DATE        first bar to include (UTC, YYYY-MM-DD or YYYY-MM-DDTHH:MM)\n"
    "  --to DATE          end, excluded; a later time than now means up to the latest\n"
    "                     closed candle\n"
    "  --out FILE         output CSV (name it SYMBOL-TF-....csv: backtests read the symbol\n"
    "                     from the name)\n"
    "  --base-url URL     REST base URL (default BINANCE_REST_URL, https://fapi.binance.com;\n"
    "                     plain http only to 127.0.0.1, e.g. the exsim simulator)\n"
    "  --allow-gaps       write the file even where the exchange has no candles (each gap\n"
    "                     is listed); without it such a gap is an error\n"
    "  --retries N        retries of a request that failed for a passing reason (network,\n"
    "                     429/418 with Retry-After, 5xx), 0..20, default 3\n"
    "  --no-progress      no progress line (it is shown only on a terminal)\n"
    "  --quiet            print only errors\n\n"
    "Example:\n"
    "  levbot download-data --symbol BTCUSDT --timeframe 1m --from 2022-05-04 --to 2022-05-07 \\\n"
    "      --out BTCUSDT-1m-2022-05.csv\n\n"
    "Exit codes: 0 done, 2 bad options, 3 invalid configuration, 4 the existing FILE is not\n"
    "a kline CSV of this timeframe or cannot be written, 6 the exchange is unreachable,\n"
    "refused (unknown symbol) or has a gap it cannot fill (candles received before the\n"
    "failure are saved: run again to resume).",
    download_data_run};
