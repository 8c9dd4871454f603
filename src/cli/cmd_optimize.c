/* cmd_optimize.c -- `levbot optimize`: a grid of configuration values, one backtest each, ranked.
 *
 * Thin: options, the configuration, then the grid's validation
 * (engine_opt_grid_parse: every value and every combination against the
 * configuration table's rules, before anything runs), engine_opt_run() and
 * its renderings (src/engine/optimize.h).  Each backtest is the one
 * `levbot backtest` runs, with the same files and options.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "engine/optimize.h"

#define CMD "optimize"

typedef struct {
  engine_opt_params p;
  const char *grid, *json, *metric;
  long top;
  bool progress, quiet;
} opt_opts;

static int parse_long(const char *opt, const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno || end == s || *end || v < lo || v > hi)
    return cli_error(CMD, CLI_EXIT_USAGE, "%s %s is not an integer in %ld..%ld", opt, s, lo, hi);
  *out = v;
  return CLI_EXIT_OK;
}

static int parse_files(int argc, char **argv, int *i, engine_replay_files *in) {
  const char *a = argv[*i];
  bool data = strcmp(a, "--data") == 0;
  int *n = data ? &in->n_data : &in->n_funding;
  int before = *n;
  while (*i + 1 < argc && strncmp(argv[*i + 1], "--", 2) != 0) {
    if (*n == ENGINE_REPLAY_MAX_FILES)
      return cli_error(CMD, CLI_EXIT_USAGE, "more than %d files after %s", ENGINE_REPLAY_MAX_FILES, a);
    (data ? in->data : in->funding)[(*n)++] = argv[++*i];
  }
  if (*n == before) return cli_error(CMD, CLI_EXIT_USAGE, "%s needs at least one file", a);
  return CLI_EXIT_OK;
}

static int parse(int argc, char **argv, opt_opts *o, cli_common *common) {
  memset(o, 0, sizeof *o);
  o->top = 20;
  o->p.min_trades = 1;
  o->metric = "profit_factor";
  o->progress = isatty(STDERR_FILENO);
  engine_replay_files *in = &o->p.files;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    int rc = CLI_EXIT_OK;
    if (strcmp(a, "--data") == 0 || strcmp(a, "--funding") == 0) {
      if ((rc = parse_files(argc, argv, &i, in))) return rc;
      continue;
    }
    if (strcmp(a, "--no-progress") == 0) {
      o->progress = false;
      continue;
    }
    if (strcmp(a, "--quiet") == 0) {
      o->quiet = true;
      continue;
    }
    const char **slot = strcmp(a, "--grid") == 0               ? &o->grid
                        : strcmp(a, "--metric") == 0           ? &o->metric
                        : strcmp(a, "--train-until") == 0      ? &o->p.train_until
                        : strcmp(a, "--json") == 0             ? &o->json
                        : strcmp(a, "--timeframe") == 0        ? &in->timeframe
                        : strcmp(a, "--timeframe-detail") == 0 ? &in->detail
                        : strcmp(a, "--from") == 0             ? &in->from
                        : strcmp(a, "--to") == 0               ? &in->to
                        : strcmp(a, "--config") == 0           ? &common->env_file
                                                               : NULL;
    bool number = strcmp(a, "--top") == 0 || strcmp(a, "--min-trades") == 0;
    if (!slot && !number) return cli_error(CMD, CLI_EXIT_USAGE, "unknown option %s (see levbot optimize --help)", a);
    if (i + 1 >= argc) return cli_error(CMD, CLI_EXIT_USAGE, "option %s needs a value", a);
    const char *v = argv[++i];
    long n;
    if (slot) *slot = v;
    else if (strcmp(a, "--top") == 0) rc = parse_long(a, v, 0, ENGINE_OPT_MAX_COMBOS, &o->top);
    else if ((rc = parse_long(a, v, 0, 1000000, &n)) == CLI_EXIT_OK) o->p.min_trades = (int)n;
    if (rc) return rc;
  }
  if (in->n_data == 0) return cli_error(CMD, CLI_EXIT_USAGE, "--data FILE... is required (see levbot optimize --help)");
  if (!o->grid) return cli_error(CMD, CLI_EXIT_USAGE, "--grid is required, e.g. --grid \"STOP_LOSS_MODE=fixed,atr;TAKE_PROFIT_RISK_REWARD=1.5,2\"");
  if (engine_opt_metric_parse(o->metric, &o->p.metric) != LB_OK)
    return cli_error(CMD, CLI_EXIT_USAGE, "--metric %s is not one of profit_factor, sharpe, total_profit, calmar", o->metric);
  return CLI_EXIT_OK;
}

static volatile sig_atomic_t interrupted;
static void on_sigint(int sig) {
  (void)sig;
  interrupted = 1;
}

static void progress_line(void *ctx, size_t done, size_t total) {
  (void)ctx;
  fprintf(stderr, "\r  %zu / %zu backtests", done, total);
  if (done >= total) fprintf(stderr, "\r%*s\r", 40, "");
  fflush(stderr);
}

static int write_json(const char *path, const engine_opt_outcome *out, const engine_opt_grid *g,
                      const engine_opt_params *p) {
  FILE *f = fopen(path, "w");
  if (!f) return cli_error(CMD, CLI_EXIT_FAILURE, "cannot write %s: %s", path, strerror(errno));
  lb_errbuf eb = {{0}};
  lb_err rc = engine_opt_write_json(out, g, p, f, &eb);
  if (fclose(f) != 0 && rc == LB_OK) rc = lb_fail(&eb, LB_EIO, "closing failed");
  if (rc) return cli_error(CMD, CLI_EXIT_FAILURE, "%s: %s", path, eb.msg);
  return CLI_EXIT_OK;
}

static int run(opt_opts *o, const lb_config *cfg) {
  engine_opt_grid *g = malloc(sizeof *g);
  if (!g) return cli_error(CMD, CLI_EXIT_FAILURE, "out of memory");
  lb_errbuf eb = {{0}};
  if (engine_opt_grid_parse(o->grid, cfg, g, &eb) != LB_OK) {
    free(g);
    return cli_error(CMD, CLI_EXIT_USAGE, "%s", eb.msg);
  }
  struct sigaction sa, old;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_sigint;
  sigaction(SIGINT, &sa, &old);
  o->p.stop = &interrupted;
  if (o->progress && !o->quiet) o->p.progress = progress_line;
  engine_opt_outcome out;
  lb_ms t0 = lb_time_mono_ms();
  lb_err err = engine_opt_run(&o->p, g, cfg, &out, &eb);
  double secs = (double)(lb_time_mono_ms() - t0) / 1000.0;
  sigaction(SIGINT, &old, NULL);
  if (err) {
    free(g);
    int code = cli_exit_for(err);
    return cli_error(CMD, code == CLI_EXIT_FAILURE ? CLI_EXIT_DATA : code, "%s", eb.msg);
  }
  if (!o->quiet) {
    engine_opt_print(&out, g, &o->p, (size_t)o->top, stdout);
    fprintf(stderr, "levbot optimize: %zu backtests in %.2f s (%.1f per second)\n", out.backtests, secs,
            secs > 0 ? (double)out.backtests / secs : 0.0);
  }
  int rc = o->json ? write_json(o->json, &out, g, &o->p) : CLI_EXIT_OK;
  if (!rc && out.stopped) rc = cli_error(CMD, CLI_EXIT_FAILURE, "interrupted after %zu of %zu combinations", out.n, out.n_total);
  engine_opt_outcome_free(&out);
  free(g);
  return rc;
}

static int optimize_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  opt_opts o;
  if ((rc = parse(argc, argv, &o, &common))) return rc;
  lb_config *cfg = malloc(sizeof *cfg);
  if (!cfg) return cli_error(CMD, CLI_EXIT_FAILURE, "out of memory");
  rc = cli_load_config(&common, cfg);
  if (!rc) rc = run(&o, cfg);
  free(cfg);
  return rc;
}

const cli_cmd cli_cmd_optimize = {
    "optimize", "grid-search configuration values over backtests and rank them",
    "Usage: levbot optimize --data FILE... --grid \"NAME=v1,v2;NAME2=v3,v4\" [options]\n\n"
    "Runs `levbot backtest` once for every combination of the grid's values (on top of\n"
    "the configuration from the environment and .env) and ranks the combinations by one\n"
    "figure of the report. Every value is checked with the configuration's own rules\n"
    "(type, range, allowed words) and every combination with the cross-variable rules\n"
    "before the first backtest; at most 1000 combinations. With --train-until the\n"
    "ranking uses the data before that date only, and each combination is also\n"
    "backtested on the rest (the held-out period) and shown next to it with its rank\n"
    "there: a combination that ranks high on training and low held out is over-fitted.\n"
    "The output is deterministic.\n\n"
    "  --data FILE...           candle files, as for levbot backtest\n"
    "  --grid SPEC              NAME=value,value;NAME2=value,... (configuration variables,\n"
    "                           e.g. STOP_LOSS_MODE=fixed,swing,atr;TAKE_PROFIT_RISK_REWARD=1.5,2,3)\n"
    "  --metric NAME            profit_factor (default), sharpe, total_profit or calmar\n"
    "  --train-until DATE       rank on [start, DATE); report [DATE, end) as held out\n"
    "  --min-trades N           fewer trades in the ranked period: ranked last (default 1)\n"
    "  --top N                  rows of the table (default 20; 0 = all)\n"
    "  --json FILE              every combination with its figures (deterministic)\n"
    "  --funding FILE...        funding-rate files, as for levbot backtest\n"
    "  --timeframe TF           entry timeframe (default ENTRY_TIMEFRAME)\n"
    "  --timeframe-detail TF    resolve fills on TF candles (default: the data's own)\n"
    "  --from DATE, --to DATE   only candles in [from, to) (UTC)\n"
    "  --config PATH            read configuration from PATH (same as --env-file)\n"
    "  --no-progress            no progress line (it is shown only on a terminal)\n"
    "  --quiet                  print nothing (with --json)\n\n"
    "Example:\n"
    "  levbot optimize --data data/binance-um/BTCUSDT-5m-2022-04.csv --train-until 2022-04-20 \\\n"
    "      --grid \"STOP_LOSS_MODE=fixed,swing,atr;TAKE_PROFIT_RISK_REWARD=1.5,2,3\"\n\n"
    "Ctrl-C stops after the current backtest and prints the ranking of those done.\n"
    "Exit codes: 0 done, 1 interrupted, 2 bad options or grid, 3 invalid configuration,\n"
    "4 bad data file (or every combination failed).",
    optimize_run};
