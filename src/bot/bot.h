/* bot.h -- the running bot: `levbot run` in paper, live and replay mode.
 *
 * Owns: the process that ties every module together and keeps going for
 * weeks.  It builds the exchange (the Binance adapter for market data and,
 * live, for orders; the simulated exchange for paper fills), the store, the
 * AI panel, the notifier and the health server from the configuration,
 * recovers the position after a restart, and runs these threads:
 *
 *   engine thread   owns the engine: drains the exchange's events (fills,
 *                   candles, marks: the position monitor), starts scans,
 *                   applies their results, acts on control requests and
 *                   publishes a snapshot of its state.  It never waits for
 *                   an LLM, a notification channel or the database.
 *   scan worker     runs engine_scan_ask() (slow LLM calls) on a scan the
 *                   engine thread prepared, and hands it back.
 *   housekeeper     reads the database for /health, /metrics and the
 *                   Telegram replies (cached: a slow database stalls only it).
 *   + the store's writer, the notifier's worker, the health server's
 *     threads and the Binance adapter's stream threads (their own modules).
 *
 * Must not: decide anything about trading (engine, risk, strategy, ai do),
 * talk a wire protocol itself (exchange, store, notify, http do), or let a
 * slow peer delay the position monitor: on the engine thread every store
 * write is STORE_ASYNC and every notification notify_post(), except the
 * durable record of an entry order before it is sent (STORE_SYNC: no entry
 * the database cannot remember is ever sent; a flat bot has no stop to
 * watch).
 *
 * Invariants:
 *   R1. At most one bot per database: the store's instance lock (LB_EBUSY).
 *   R2. Before the first scan after a start, the exchange's positions and
 *       open orders have been reconciled with the store (restart recovery,
 *       docs/run.md): our position adopted with a stop confirmed on the
 *       exchange (re-placed at once, or the position closed), orphaned
 *       orders of ours canceled, trades closed while the bot was down booked
 *       from the exchange's fills.
 *   R3. A graceful stop (bot_stop, SIGINT/SIGTERM) leaves the exchange-side
 *       stop in place, flushes the store and the notifier, and returns
 *       LB_OK.
 *   R4. Every engine observer event is written to the store and told to
 *       the notifier; every fill the engine books is a fills row (its key is
 *       the order's cumulative filled quantity, so a fill recovered after a
 *       restart is never written twice).
 *
 * Ownership: bot_new() returns a heap object freed by bot_free(); the
 * configuration is copied; options' pointers (files, clock, stop flag,
 * output) are borrowed and must outlive the bot.
 */
#ifndef LB_BOT_BOT_H
#define LB_BOT_BOT_H

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/config.h"
#include "core/err.h"
#include "core/time.h"
#include "engine/backtest.h"
#include "engine/engine.h"
#include "store/store.h"

typedef enum {
  BOT_PAPER = 0, /* live market data (Binance adapter), simulated fills */
  BOT_LIVE,      /* live market data and real orders (Binance adapter) */
  BOT_REPLAY     /* candle files replayed on the wall clock, simulated fills */
} bot_mode;

const char *bot_mode_name(bot_mode m); /* "paper", "live", "replay" */

typedef struct {
  bot_mode mode;
  engine_replay_files replay;    /* BOT_REPLAY: the files and the period */
  double speed;                  /* BOT_REPLAY: market time runs speed x the clock; 0 = no waiting */
  const lb_clock *clock;         /* NULL = lb_clock_system (replay pacing, timers) */
  lb_ms duration_ms;             /* > 0: stop gracefully after this much time on `clock` */
  volatile sig_atomic_t *stop;   /* set asynchronously (a signal handler) to stop gracefully */
  FILE *out;                     /* one line per event a user watches; NULL = none */
  bool report;                   /* collect this run's performance report (bot_result.report) */
} bot_options;

typedef struct bot bot;

/* Builds everything and starts the notifier and the health server; the
 * engine starts in bot_run().  Errors: LB_EBUSY another bot holds the
 * database; LB_ESTATE the database holds the other trading mode; LB_EDB
 * the database; LB_ENET / LB_EREJECTED / LB_EAUTH the exchange;
 * LB_ECONFIG a channel or provider; LB_EINVAL / LB_EIO / LB_EPARSE replay
 * files; eb says which. */
lb_err bot_new(const lb_config *cfg, const bot_options *o, bot **out, lb_errbuf *eb);

typedef struct {
  bool stopped;        /* ended by bot_stop / the stop flag / the duration */
  bool replay_done;    /* BOT_REPLAY: every candle was played */
  long candles;        /* candles the engine took (warm-up included) */
  long recovered;      /* restart recovery: trades adopted or booked closed */
  engine_counters counters;
  engine_ledger ledger;
  engine_position position; /* left open (its stop stays on the exchange) */
  engine_report *report;     /* options.report: this run's report, the caller's (engine_report_free) */
} bot_result;

/* Warm-up, restart recovery, then the loop until stopped (or, replaying,
 * until the files end); then the graceful stop (R3).  An error is returned
 * only when the bot could not run on (a fatal exchange error, the lock
 * lost), after the same graceful stop. */
lb_err bot_run(bot *b, bot_result *res, lb_errbuf *eb);

/* Asks the loop to stop gracefully; thread-safe (not async-signal-safe:
 * signal handlers set options.stop instead). */
void bot_stop(bot *b);

/* The health server's port (useful with HEALTH_PORT=0), 0 if none. */
int bot_http_port(const bot *b);

void bot_free(bot *b);

/* ==== The database's view, for `levbot status` and `levbot report` ==== */

typedef struct {
  store_trading_config config;
  bool has_open;
  store_trade open;          /* the open trade, if any */
  store_position position;   /* its engine state row */
  store_metrics metrics;     /* closed trades; today_pnl since 00:00 UTC */
  int n_breakers;
  store_breaker_event breakers[8]; /* active trips, oldest first */
  int n_recent;
  store_trade recent[5];     /* newest first */
} bot_db_status;

/* Reads it without taking the instance lock (the bot may be running). */
lb_err bot_db_status_read(store *s, lb_ms now, bot_db_status *out, lb_errbuf *eb);

/* The backtest report (engine/report.h) over the database's trades closed
 * in [from, to) and its equity marks of that period: the same figures and
 * renderings as `levbot backtest`.  info: the header (timeframes, costs;
 * its initial capital is replaced by the database's).  *out is the
 * caller's (engine_report_free).  LB_ENOTFOUND when no trade closed then. */
lb_err bot_db_report(store *s, const engine_report_info *info, lb_ms from, lb_ms to,
                     engine_report **out, lb_errbuf *eb);

#endif
