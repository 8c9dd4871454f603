/* cmd_run.c -- `levbot run`: the bot.  In this build: paper trading on a replayed feed.
 *
 * `levbot run --paper --replay FILE... [--speed N]` drives the very engine
 * of `levbot backtest` with the simulated exchange, but paced by the wall
 * clock (market time runs N times faster), printing what the bot does as
 * it happens.  Live trading and paper trading on live prices plug in here
 * with the exchange adapter; until then they are refused with a message.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "engine/backtest.h"
#include "engine/report.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig) {
  (void)sig;
  stop_flag = 1;
}

static const char *when(lb_ms t, char *buf, size_t n) {
  lb_tm tm;
  lb_time_split(t, &tm);
  snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", tm.year, tm.month, tm.day, tm.hour, tm.minute);
  return buf;
}

static const char *num(lb_dec d, char *buf, size_t n) {
  lb_dec_fmt(d, buf, n);
  return buf;
}

/* ==== What the user watches ==== */

static void p_scan(void *ctx, const engine_scan *s) {
  (void)ctx;
  if (s->outcome == ENGINE_SCAN_BUSY) return; /* the position lines say enough */
  char t[32];
  printf("%s  scan   %-9s %-9s %.160s\n", when(s->time, t, sizeof t), s->symbol,
         engine_scan_outcome_name(s->outcome), s->detail);
  fflush(stdout);
}

static void p_opened(void *ctx, const engine_trade *tr) {
  (void)ctx;
  char t[32], a[32], b[32], c[32], d[32], e[32];
  printf("%s  OPEN   #%ld %s %s %dx qty %s at %s  stop %s  take-profit %s  liquidation %s\n",
         when(tr->entry_time, t, sizeof t), tr->id, tr->symbol,
         tr->side == LB_ACTION_LONG ? "LONG" : "SHORT", tr->leverage, num(tr->qty, a, sizeof a),
         num(tr->entry_price, b, sizeof b), num(tr->initial_stop, c, sizeof c),
         num(tr->take_profit, d, sizeof d), num(tr->liquidation, e, sizeof e));
  fflush(stdout);
}

static void p_moved(void *ctx, const engine_trade *tr, lb_dec from, lb_dec to, lb_ms time) {
  (void)ctx;
  char t[32], a[32], b[32];
  printf("%s  STOP   #%ld %s trailing stop %s -> %s\n", when(time, t, sizeof t), tr->id, tr->symbol,
         num(from, a, sizeof a), num(to, b, sizeof b));
  fflush(stdout);
}

static void p_closed(void *ctx, const engine_trade *tr) {
  (void)ctx;
  char t[32], a[32], b[32];
  lb_dec net = engine_trade_net(tr);
  lb_dec_fmt_places(net, 2, b, sizeof b);
  printf("%s  CLOSE  #%ld %s at %s (%s)  net %s%s USDT\n", when(tr->exit_time, t, sizeof t), tr->id,
         tr->symbol, num(tr->exit_price, a, sizeof a), engine_exit_name(tr->exit_reason),
         net > 0 ? "+" : "", b);
  fflush(stdout);
}

static void p_breaker(void *ctx, const risk_breaker_event *ev) {
  (void)ctx;
  char t[32];
  printf("%s  BREAKER %s %s: %s\n", when(ev->time, t, sizeof t), risk_breaker_name(ev->kind),
         ev->trip ? "TRIPPED" : "resumed", ev->detail);
  fflush(stdout);
}

static void p_alert(void *ctx, engine_alert kind, const char *symbol, lb_ms time, const char *msg) {
  (void)ctx;
  char t[32];
  printf("%s  ALERT  %s %s: %s\n", when(time, t, sizeof t), engine_alert_name(kind), symbol, msg);
  fflush(stdout);
}

/* ==== Options ==== */

typedef struct {
  engine_replay_files in;
  bool paper, live;
  double speed; /* 0 = as fast as possible */
} run_opts;

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
    } else if (strcmp(a, "--speed") == 0 || strcmp(a, "--timeframe") == 0 ||
               strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0 || strcmp(a, "--config") == 0) {
      if (i + 1 >= argc) return cli_error("run", CLI_EXIT_USAGE, "option %s needs a value", a);
      const char *v = argv[++i];
      if (a[2] == 's') {
        char *end = NULL;
        errno = 0;
        double sp = strcmp(v, "max") == 0 ? 0 : strtod(v, &end);
        if (strcmp(v, "max") != 0 && (errno || !end || *end || !(sp >= 1) || !isfinite(sp)))
          return cli_error("run", CLI_EXIT_USAGE, "--speed %s: use a number >= 1 or max", v);
        o->speed = sp;
      } else if (a[2] == 't') o->in.timeframe = v;
      else if (a[2] == 'f') o->in.from = v;
      else if (strcmp(a, "--to") == 0) o->in.to = v;
      else common->env_file = v;
    } else {
      return cli_error("run", CLI_EXIT_USAGE, "unknown option %s (see levbot run --help)", a);
    }
  }
  return CLI_EXIT_OK;
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
  if (o.live || (!o.paper && !cfg.use_paper_trading))
    return cli_error("run", CLI_EXIT_REFUSED, "live trading is not available in this build "
                                              "(use --paper --replay FILE...)");
  if (o.in.n_data == 0)
    return cli_error("run", CLI_EXIT_USAGE, "paper trading on live prices is not available in this "
                                            "build: give --replay FILE... (see levbot run --help)");
  engine_replay_setup *rs = calloc(1, sizeof *rs);
  if (!rs) return cli_error("run", CLI_EXIT_FAILURE, "out of memory");
  lb_errbuf eb = {{0}};
  lb_err err = engine_replay_setup_load(rs, &o.in, &cfg, &eb);
  if (err) {
    free(rs);
    return cli_error("run", err == LB_EINVAL ? CLI_EXIT_USAGE : cli_exit_for(err), "%s", eb.msg);
  }
  engine_report_info info;
  engine_replay_report_info(rs, &o.in, &cfg, &info);
  engine_report *report = NULL;
  if (engine_report_new(&info, &report, &eb) != LB_OK) {
    engine_replay_setup_close(rs);
    free(rs);
    return cli_error("run", CLI_EXIT_FAILURE, "%s", eb.msg);
  }
  engine_observer watch = {.on_scan = p_scan,
                           .on_trade_opened = p_opened,
                           .on_stop_moved = p_moved,
                           .on_trade_closed = p_closed,
                           .on_breaker = p_breaker,
                           .on_alert = p_alert};
  rs->params.report = report;
  rs->params.obs = &watch;
  rs->params.speed = o.speed;
  rs->params.stop = &stop_flag;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  char tfb[16];
  char pace[64];
  if (o.speed > 0) snprintf(pace, sizeof pace, "market time runs x%g", o.speed);
  else snprintf(pace, sizeof pace, "as fast as possible");
  printf("levbot paper trading on a replay: %zu symbol%s, %s candles, %s; Ctrl-C stops\n", rs->n,
         rs->n == 1 ? "" : "s", lb_timeframe_name(rs->data_tf, tfb, sizeof tfb), pace);
  fflush(stdout);
  engine_replay_result res;
  err = engine_replay_run(&rs->params, &res, &eb);
  if (err) {
    engine_report_free(report);
    engine_replay_setup_close(rs);
    free(rs);
    return cli_error("run", cli_exit_for(err), "%s", eb.msg);
  }
  printf("\n%s after %zu candles\n\n", res.stopped ? "stopped" : "replay finished", res.candles);
  engine_report_print(report, stdout, 0);
  engine_report_free(report);
  engine_replay_setup_close(rs);
  free(rs);
  return CLI_EXIT_OK;
}

const cli_cmd cli_cmd_run = {
    "run", "trade: paper (default) or live",
    "Usage: levbot run --paper --replay FILE... [--speed N] [options]\n\n"
    "Paper trading on a replayed feed: the same engine as live trading and as\n"
    "`levbot backtest`, with the simulated exchange, paced by the wall clock so you\n"
    "watch the bot scan, open, trail and close positions as it would live.\n"
    "(Live trading and paper trading on live prices come with the exchange adapter.)\n\n"
    "  --paper                  paper trading (the default while USE_PAPER_TRADING=true)\n"
    "  --replay FILE...         candle files to replay (formats as levbot backtest)\n"
    "  --funding FILE...        funding-rate files for the replayed symbols\n"
    "  --speed N                market time runs N x the wall clock (default 600:\n"
    "                           ten minutes of market per second); max = no waiting\n"
    "  --timeframe TF           entry timeframe (default ENTRY_TIMEFRAME)\n"
    "  --from DATE, --to DATE   replay only [from, to) (UTC)\n"
    "  --config PATH            read configuration from PATH (same as --env-file)\n\n"
    "Example:\n"
    "  levbot run --paper --replay data/binance-um/BTCUSDT-1m-2022-05-0*.csv --speed 3600\n\n"
    "Ctrl-C stops the replay and prints the report so far.",
    run_run};
