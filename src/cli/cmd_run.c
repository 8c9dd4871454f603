/* cmd_run.c -- `levbot run`: the bot (src/bot), paper trading by default, live when asked twice.
 *
 *   levbot run                          paper trading on live prices
 *   levbot run --live                   real orders (USE_PAPER_TRADING=false too)
 *   levbot run --paper --replay FILE... paper trading on a replayed feed
 *
 * The command only decides the mode (and refuses live trading that was not
 * asked for in both places, or that has no keys), installs the signal
 * handlers (first signal: graceful stop; second: exit at once) and maps
 * the bot's errors to the documented exit codes.  docs/run.md is the
 * user's guide.
 */
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/bot.h"
#include "cli/cli.h"
#include "engine/report.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
  if (stop_flag) { /* the second signal: now */
    static const char msg[] = "levbot run: second signal: exiting at once\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(128 + sig);
  }
  stop_flag = 1;
}

typedef struct {
  engine_replay_files in;
  bool paper, live;
  double speed; /* 0 = as fast as possible */
  double duration_s;
  bool quiet;
} run_opts;

static int number(const char *opt, const char *v, double min, bool allow_max, double *out) {
  char *end = NULL;
  errno = 0;
  if (allow_max && strcmp(v, "max") == 0) {
    *out = 0;
    return CLI_EXIT_OK;
  }
  double x = strtod(v, &end);
  if (errno || !end || *end || !(x >= min) || !isfinite(x))
    return cli_error("run", CLI_EXIT_USAGE, "%s %s: use a number >= %g%s", opt, v, min,
                     allow_max ? " or max" : "");
  *out = x;
  return CLI_EXIT_OK;
}

static int parse(int argc, char **argv, run_opts *o, cli_common *common) {
  memset(o, 0, sizeof *o);
  o->speed = 600;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--replay") == 0 || strcmp(a, "--funding") == 0) {
      bool data = a[2] == 'r';
      int before = data ? o->in.n_data : o->in.n_funding;
      while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0) {
        if ((data ? o->in.n_data : o->in.n_funding) == ENGINE_REPLAY_MAX_FILES)
          return cli_error("run", CLI_EXIT_USAGE, "more than %d files after %s", ENGINE_REPLAY_MAX_FILES, a);
        if (data) o->in.data[o->in.n_data++] = argv[++i];
        else o->in.funding[o->in.n_funding++] = argv[++i];
      }
      if ((data ? o->in.n_data : o->in.n_funding) == before)
        return cli_error("run", CLI_EXIT_USAGE, "%s needs at least one file", a);
    } else if (strcmp(a, "--paper") == 0) {
      o->paper = true;
    } else if (strcmp(a, "--live") == 0) {
      o->live = true;
    } else if (strcmp(a, "--quiet") == 0) {
      o->quiet = true;
    } else if (strcmp(a, "--speed") == 0 || strcmp(a, "--timeframe") == 0 || strcmp(a, "--from") == 0 ||
               strcmp(a, "--to") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--duration") == 0) {
      if (i + 1 >= argc) return cli_error("run", CLI_EXIT_USAGE, "option %s needs a value", a);
      const char *v = argv[++i];
      int rc = CLI_EXIT_OK;
      if (strcmp(a, "--speed") == 0) rc = number(a, v, 1, true, &o->speed);
      else if (strcmp(a, "--duration") == 0) rc = number(a, v, 1, false, &o->duration_s);
      else if (strcmp(a, "--timeframe") == 0) o->in.timeframe = v;
      else if (strcmp(a, "--from") == 0) o->in.from = v;
      else if (strcmp(a, "--to") == 0) o->in.to = v;
      else common->env_file = v;
      if (rc) return rc;
    } else {
      return cli_error("run", CLI_EXIT_USAGE, "unknown option %s (see levbot run --help)", a);
    }
  }
  if (o->paper && o->live) return cli_error("run", CLI_EXIT_USAGE, "--paper and --live exclude each other");
  if (o->live && o->in.n_data > 0)
    return cli_error("run", CLI_EXIT_USAGE, "--replay is paper trading only (drop --live)");
  if (o->in.n_data == 0 && (o->in.n_funding || o->in.timeframe || o->in.from || o->in.to))
    return cli_error("run", CLI_EXIT_USAGE, "--funding, --timeframe, --from and --to go with --replay");
  return CLI_EXIT_OK;
}

/* Live trading must be asked for twice: USE_PAPER_TRADING=false in the
 * configuration, and --live or CONFIRM_LIVE_TRADING=true. */
static int choose_mode(const run_opts *o, const lb_config *cfg, bot_mode *mode) {
  if (o->in.n_data > 0) {
    *mode = BOT_REPLAY;
    return CLI_EXIT_OK;
  }
  if (o->paper) {
    *mode = BOT_PAPER;
    return CLI_EXIT_OK;
  }
  if (o->live && cfg->use_paper_trading)
    return cli_error("run", CLI_EXIT_REFUSED, "--live needs USE_PAPER_TRADING=false in the configuration "
                                              "as well (live trading is asked for in both places)");
  if (cfg->use_paper_trading) {
    *mode = BOT_PAPER;
    return CLI_EXIT_OK;
  }
  if (!o->live && !cfg->confirm_live_trading)
    return cli_error("run", CLI_EXIT_REFUSED,
                     "USE_PAPER_TRADING=false: live trading places real orders; confirm it with "
                     "`levbot run --live` or CONFIRM_LIVE_TRADING=true (or run --paper)");
  if (!cfg->binance_api_key[0] || !cfg->binance_api_secret[0])
    return cli_error("run", CLI_EXIT_REFUSED, "live trading needs BINANCE_API_KEY and BINANCE_API_SECRET");
  *mode = BOT_LIVE;
  return CLI_EXIT_OK;
}

static int exit_code(lb_err e) {
  switch (e) {
  case LB_EBUSY:
  case LB_ESTATE: return CLI_EXIT_REFUSED;
  case LB_EINVAL: return CLI_EXIT_USAGE;
  default: return cli_exit_for(e);
  }
}

static int run_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  run_opts o;
  rc = parse(argc, argv, &o, &common);
  if (rc) return rc;
  lb_config cfg;
  rc = cli_load_config(&common, &cfg);
  if (rc) return rc;
  bot_options bo;
  memset(&bo, 0, sizeof bo);
  rc = choose_mode(&o, &cfg, &bo.mode);
  if (rc) return rc;
  bo.replay = o.in;
  bo.speed = o.speed;
  bo.duration_ms = (lb_ms)(o.duration_s * 1000);
  bo.stop = &stop_flag;
  bo.out = o.quiet ? NULL : stdout;
  bo.report = true;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  if (bo.mode == BOT_REPLAY) {
    char pace[64];
    if (o.speed > 0) snprintf(pace, sizeof pace, "market time runs x%g", o.speed);
    else snprintf(pace, sizeof pace, "as fast as possible");
    printf("levbot paper trading on a replay: %d file%s, %s; Ctrl-C stops\n", o.in.n_data,
           o.in.n_data == 1 ? "" : "s", pace);
  } else if (bo.mode == BOT_LIVE) {
    printf("levbot LIVE trading: real orders on %s; Ctrl-C stops (the exchange-side stop stays)\n",
           cfg.binance_rest_url);
  } else {
    printf("levbot paper trading on live prices from %s; Ctrl-C stops\n", cfg.binance_rest_url);
  }
  fflush(stdout);
  lb_errbuf eb = {{0}};
  bot *b = NULL;
  lb_err err = bot_new(&cfg, &bo, &b, &eb);
  if (err) {
    curl_global_cleanup();
    if (err == LB_EBUSY)
      return cli_error("run", CLI_EXIT_REFUSED, "another levbot is running on this database: %s", eb.msg);
    return cli_error("run", exit_code(err), "%s", eb.msg);
  }
  bot_result res;
  err = bot_run(b, &res, &eb);
  if (bo.mode == BOT_REPLAY && !err)
    printf("\n%s after %ld candles\n\n", res.replay_done ? "replay finished" : "stopped", res.candles);
  else if (!err)
    printf("\nstopped%s\n\n", res.position.state != ENGINE_FLAT ? " (the open position keeps its stop on the exchange)" : "");
  if (res.report) {
    if (!err && !o.quiet) engine_report_print(res.report, stdout, 0);
    engine_report_free(res.report);
  }
  bot_free(b);
  curl_global_cleanup();
  if (err) return cli_error("run", exit_code(err), "%s", eb.msg);
  return CLI_EXIT_OK;
}

const cli_cmd cli_cmd_run = {
    "run", "trade: paper (default) or live",
    "Usage: levbot run [--paper | --live] [--duration SECONDS] [options]\n"
    "       levbot run --paper --replay FILE... [--speed N|max] [options]\n\n"
    "The bot: scans SYMBOLS on every closed ENTRY_TIMEFRAME candle and every\n"
    "SCAN_INTERVAL_SECONDS, trades one position at a time with its stop-loss on\n"
    "the exchange, serves /health, /status and /metrics on HEALTH_PORT, records\n"
    "everything in DATABASE_URL and notifies the configured channels.\n\n"
    "Modes:\n"
    "  (default)                paper trading on live prices (USE_PAPER_TRADING=true)\n"
    "  --paper                  paper trading even if USE_PAPER_TRADING=false\n"
    "  --live                   real orders: needs USE_PAPER_TRADING=false and the\n"
    "                           Binance keys (or CONFIRM_LIVE_TRADING=true instead of --live)\n"
    "  --replay FILE...         paper trading on candle files replayed on the clock\n\n"
    "Options:\n"
    "  --duration SECONDS       stop gracefully after this long\n"
    "  --speed N                replay: market time runs N x the wall clock (default 600);\n"
    "                           max = no waiting\n"
    "  --funding FILE...        replay: funding-rate files for the replayed symbols\n"
    "  --timeframe TF           replay: entry timeframe (default ENTRY_TIMEFRAME)\n"
    "  --from DATE, --to DATE   replay: only [from, to) (UTC)\n"
    "  --quiet                  no event lines on stdout (the log still has them)\n"
    "  --config PATH            read configuration from PATH (same as --env-file)\n\n"
    "Signals: SIGINT/SIGTERM stop gracefully (no new scans, the exchange-side stop\n"
    "stays, the database and the notifications are flushed, exit 0); a second\n"
    "signal exits at once.  Exit 7: live trading not confirmed or without keys,\n"
    "or another levbot holds the database.\n\n"
    "Examples:\n"
    "  levbot run\n"
    "  levbot run --paper --replay data/binance-um/BTCUSDT-1m-2022-05-0*.csv --speed 3600\n"
    "  USE_PAPER_TRADING=false levbot run --live\n\n"
    "docs/run.md explains restart recovery, the exchange simulator and the demo.",
    run_run};
