/* cmd_backtest.c -- `levbot backtest`: replay candle files through the engine and print a report.
 *
 * Thin: options, the configuration, loading and joining the files, then
 * engine_replay_run() with the built-in technical analyst and the report's
 * renderings.  Everything that trades is in src/engine (the same code as
 * paper and live).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/backtest.h"
#include "engine/report.h"
#include "strategy/strategy.h"

typedef struct {
  engine_replay_files in;
  const char *json, *csv, *html;
  unsigned breakdown;
  bool progress, quiet;
} bt_opts;

static int parse_breakdown(const char *s, unsigned *out) {
  char items[8][64];
  int n = lb_cfg_split_list(s, items, 8);
  if (n <= 0) return -1;
  for (int i = 0; i < n; i++) {
    if (strcmp(items[i], "day") == 0) *out |= ENGINE_BREAKDOWN_DAY;
    else if (strcmp(items[i], "week") == 0) *out |= ENGINE_BREAKDOWN_WEEK;
    else if (strcmp(items[i], "month") == 0) *out |= ENGINE_BREAKDOWN_MONTH;
    else return -1;
  }
  return 0;
}

static int parse(int argc, char **argv, bt_opts *o, cli_common *common) {
  memset(o, 0, sizeof *o);
  o->progress = isatty(STDERR_FILENO);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--data") == 0 || strcmp(a, "--funding") == 0) {
      bool data = a[2] == 'd';
      int before = data ? o->in.n_data : o->in.n_funding;
      while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
        if ((data ? o->in.n_data : o->in.n_funding) == ENGINE_REPLAY_MAX_FILES)
          return cli_error("backtest", CLI_EXIT_USAGE, "more than %d files after %s",
                           ENGINE_REPLAY_MAX_FILES, a);
        if (data) o->in.data[o->in.n_data++] = argv[++i];
        else o->in.funding[o->in.n_funding++] = argv[++i];
      }
      if ((data ? o->in.n_data : o->in.n_funding) == before)
        return cli_error("backtest", CLI_EXIT_USAGE, "%s needs at least one file", a);
      continue;
    }
    const char **slot = strcmp(a, "--timeframe") == 0          ? &o->in.timeframe
                        : strcmp(a, "--timeframe-detail") == 0 ? &o->in.detail
                        : strcmp(a, "--from") == 0             ? &o->in.from
                        : strcmp(a, "--to") == 0               ? &o->in.to
                        : strcmp(a, "--config") == 0           ? &common->env_file
                        : strcmp(a, "--json") == 0             ? &o->json
                        : strcmp(a, "--trades") == 0           ? &o->csv
                        : strcmp(a, "--html") == 0             ? &o->html
                                                               : NULL;
    if (slot) {
      if (i + 1 >= argc) return cli_error("backtest", CLI_EXIT_USAGE, "option %s needs a value", a);
      *slot = argv[++i];
      continue;
    }
    bool has_val = i + 1 < argc;
    if (strcmp(a, "--breakdown") == 0) {
      /* --breakdown alone = day,week,month; --breakdown week,month */
      const char *v = has_val && argv[i + 1][0] != '-' ? argv[++i] : "day,week,month";
      if (parse_breakdown(v, &o->breakdown) != 0)
        return cli_error("backtest", CLI_EXIT_USAGE, "--breakdown %s: use day, week, month or a list", v);
    } else if (strcmp(a, "--no-progress") == 0) o->progress = false;
    else if (strcmp(a, "--quiet") == 0) o->quiet = true;
    else return cli_error("backtest", CLI_EXIT_USAGE, "unknown option %s (see levbot backtest --help)", a);
  }
  if (o->in.n_data == 0)
    return cli_error("backtest", CLI_EXIT_USAGE, "--data FILE... is required (see levbot backtest --help)");
  return CLI_EXIT_OK;
}

static void progress_bar(void *ctx, size_t done, size_t total) {
  (void)ctx;
  int width = 40, fill = total ? (int)((double)done / (double)total * width) : width;
  if (fill > width) fill = width;
  fprintf(stderr, "\r  [%.*s%*s] %3d%%  %zu candles", fill, "########################################",
          width - fill, "", total ? (int)(100.0 * (double)done / (double)total) : 100, done);
  if (done >= total) fprintf(stderr, "\r%*s\r", 70, "");
  fflush(stderr);
}

typedef lb_err (*writer)(const engine_report *, FILE *, lb_errbuf *);

static int write_file(const char *path, writer w, const engine_report *r) {
  FILE *f = fopen(path, "w");
  if (!f) return cli_error("backtest", CLI_EXIT_FAILURE, "cannot write %s: %s", path, strerror(errno));
  lb_errbuf eb = {{0}};
  lb_err rc = w(r, f, &eb);
  if (fclose(f) != 0 && rc == LB_OK) rc = LB_EIO;
  if (rc) return cli_error("backtest", CLI_EXIT_FAILURE, "%s: %s", path, eb.msg[0] ? eb.msg : lb_strerror(rc));
  return CLI_EXIT_OK;
}

static int backtest_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  bt_opts o;
  rc = parse(argc, argv, &o, &common);
  if (rc) return rc;
  lb_config cfg;
  rc = cli_load_config(&common, &cfg);
  if (rc) return rc;

  engine_replay_setup *rs = calloc(1, sizeof *rs);
  if (!rs) return cli_error("backtest", CLI_EXIT_FAILURE, "out of memory");
  lb_errbuf eb = {{0}};
  lb_err err = engine_replay_setup_load(rs, &o.in, &cfg, &eb);
  if (err) {
    free(rs);
    return cli_error("backtest", err == LB_EINVAL ? CLI_EXIT_USAGE : cli_exit_for(err), "%s", eb.msg);
  }
  engine_report_info info;
  engine_replay_report_info(rs, &o.in, &cfg, &info);
  engine_report *report = NULL;
  if (engine_report_new(&info, &report, &eb) != LB_OK) {
    engine_replay_setup_close(rs);
    free(rs);
    return cli_error("backtest", CLI_EXIT_FAILURE, "%s", eb.msg);
  }
  rs->params.report = report;
  if (o.progress && !o.quiet) rs->params.progress = progress_bar;
  engine_replay_result res;
  err = engine_replay_run(&rs->params, &res, &eb);
  if (err) {
    engine_report_free(report);
    engine_replay_setup_close(rs);
    free(rs);
    return cli_error("backtest", cli_exit_for(err) == CLI_EXIT_USAGE ? CLI_EXIT_DATA : cli_exit_for(err),
                     "%s", eb.msg);
  }
  if (!o.quiet) engine_report_print(report, stdout, o.breakdown);
  rc = CLI_EXIT_OK;
  if (o.json && !rc) rc = write_file(o.json, engine_report_write_json, report);
  if (o.csv && !rc) rc = write_file(o.csv, engine_report_write_csv, report);
  if (o.html && !rc) rc = write_file(o.html, engine_report_write_html, report);
  engine_report_free(report);
  engine_replay_setup_close(rs);
  free(rs);
  return rc;
}

const cli_cmd cli_cmd_backtest = {
    "backtest", "replay candle files through the engine and print a report",
    "Usage: levbot backtest --data FILE... [options]\n\n"
    "Replays historical candles through the same engine that trades live, with the\n"
    "simulated exchange (fees, slippage, funding, liquidation) and the built-in\n"
    "technical analyst, and prints a report. Files of one symbol (daily or monthly\n"
    "files) are joined; several symbols are replayed together in time order.\n\n"
    "  --data FILE...           candle files: Binance kline CSV, freqtrade JSON (.gz),\n"
    "                           ts,open,high,low,close,volume CSV, LEAN bars\n"
    "  --funding FILE...        funding-rate files (freqtrade *-funding_rate, LEAN\n"
    "                           margin_interest); FUNDING_RATE otherwise\n"
    "  --timeframe TF           entry timeframe (default ENTRY_TIMEFRAME, 15m); the\n"
    "                           higher TIMEFRAMES are analysed for confluence\n"
    "  --timeframe-detail TF    resolve fills on TF candles (default: the data's own,\n"
    "                           the finest); TF = the entry timeframe is the coarse mode\n"
    "  --from DATE, --to DATE   only candles in [from, to) (YYYY-MM-DD[THH:MM], UTC)\n"
    "  --config PATH            read configuration from PATH (same as --env-file)\n"
    "  --breakdown [LIST]       add day/week/month tables (default: all three)\n"
    "  --json FILE              every figure and every trade (deterministic)\n"
    "  --trades FILE            the trades as CSV\n"
    "  --html FILE              a self-contained report (equity, drawdown, trades)\n"
    "  --no-progress            no progress bar (it is shown only on a terminal)\n"
    "  --quiet                  print nothing (with --json/--html/--trades)\n\n"
    "Example:\n"
    "  levbot backtest --data data/binance-um/BTCUSDT-5m-2022-04.csv --html report.html\n\n"
    "Exit codes: 0 done, 2 bad options, 3 invalid configuration, 4 bad data file.",
    backtest_run};
