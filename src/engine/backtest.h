/* backtest.h -- the replay driver: backtests, benchmarks and paper trading on a replayed feed.
 *
 * Owns: building the simulated exchange and the engine for a set of
 * candle series, and feeding them in time order: for each candle the sim
 * first (so stops and take-profits fill on the candle's price path), then
 * the engine (indicators, position monitor), then a scan when the candle
 * closed an entry-timeframe bar.  With speed > 0 the driver also waits,
 * through an injectable clock, so that market time runs `speed` times
 * faster than the wall clock: that is paper trading on a replay, the very
 * same code path as a backtest.
 *
 * Must not: load files or parse options (the CLI does), print anything
 * (the observer and the report do), read the wall clock directly.
 */
#ifndef LB_ENGINE_BACKTEST_H
#define LB_ENGINE_BACKTEST_H

#include <signal.h>

#include "engine/engine.h"
#include "engine/report.h"
#include "exchange/sim.h"

typedef struct {
  const data_series *const *series;            /* one per symbol, same timeframe; borrowed */
  const data_funding_series *const *funding;   /* per series, entries may be NULL; may be NULL */
  size_t n_series;
  int repeat;                /* > 1: replay the set again, shifted (benchmarks) */
  engine_params engine;      /* symbols are taken from the series */
  xchg_sim_params sim;
  strategy_panel *panel;     /* borrowed */
  engine_report *report;     /* may be NULL; finished at the end */
  const engine_observer *obs; /* more listeners (may be NULL), called after the report */
  /* paper replay: market time runs `speed` x the clock; 0 = no waiting */
  double speed;
  const lb_clock *clock;     /* NULL = lb_clock_system */
  volatile sig_atomic_t *stop; /* set asynchronously to end early (may be NULL) */
  void (*progress)(void *ctx, size_t done, size_t total);
  void *progress_ctx;
} engine_replay_params;

typedef struct {
  size_t candles;
  lb_ms first, last;         /* first open .. last close */
  engine_ledger ledger;
  engine_counters counters;
  xchg_sim_stats sim;
  lb_dec sim_wallet;
  bool stopped;              /* ended early by *stop */
} engine_replay_result;

/* Runs the whole replay.  Errors: LB_EINVAL with the reason (series of
 * different timeframes, a timeframe the entry timeframe is not a multiple
 * of, an empty set), or what the engine refused. */
lb_err engine_replay_run(const engine_replay_params *p, engine_replay_result *res, lb_errbuf *eb);

/* ==== Setting up a replay from files and the configuration ==== */

#define ENGINE_REPLAY_MAX_FILES 256

/* What a user names on the command line (`levbot backtest`, `levbot run
 * --paper --replay`).  Strings are borrowed. */
typedef struct {
  const char *data[ENGINE_REPLAY_MAX_FILES];
  int n_data;
  const char *funding[ENGINE_REPLAY_MAX_FILES];
  int n_funding;
  const char *timeframe; /* entry timeframe; NULL = ENTRY_TIMEFRAME */
  const char *detail;    /* fill timeframe; NULL = the data's own */
  const char *from, *to; /* dates (UTC); NULL = unbounded */
} engine_replay_files;

/* Everything a replay needs, owned: the joined series per symbol, funding
 * series, the technical analyst's panel and the parameters. */
typedef struct {
  engine_replay_params params;
  data_series series[ENGINE_MAX_SYMBOLS];
  const data_series *series_ptr[ENGINE_MAX_SYMBOLS];
  data_funding_series funding[ENGINE_MAX_SYMBOLS];
  const data_funding_series *funding_ptr[ENGINE_MAX_SYMBOLS];
  size_t n;
  strategy_panel *panel;
  lb_ms data_tf; /* the files' own timeframe */
} engine_replay_setup;

/* Loads and validates every file (errors name the file, the line and the
 * field: LB_EPARSE/LB_EIO/LB_EUNSUPPORTED), joins files of one symbol,
 * keeps [from, to), resamples to the detail timeframe, maps funding files to
 * their symbol, and fills the engine and simulator parameters from the
 * configuration with the technical analyst deciding alone.  LB_EINVAL for
 * option values that cannot work (eb says which).  On error everything is
 * released. */
lb_err engine_replay_setup_load(engine_replay_setup *s, const engine_replay_files *f,
                                const lb_config *cfg, lb_errbuf *eb);
void engine_replay_setup_close(engine_replay_setup *s);
/* The report's header from a setup (files, timeframes, costs). */
void engine_replay_report_info(const engine_replay_setup *s, const engine_replay_files *f,
                               const lb_config *cfg, engine_report_info *out);

/* Appends src to dst (same symbol, same timeframe, src entirely after
 * dst): several monthly or daily files of one symbol become one series. */
lb_err engine_series_append(data_series *dst, const data_series *src, lb_errbuf *eb);

#endif
