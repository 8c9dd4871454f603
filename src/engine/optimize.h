/* optimize.h -- grid search of configuration values over backtests (`levbot optimize`).
 *
 * Owns: the grid ("NAME=v1,v2;NAME=v3,v4"), its validation with the
 * configuration table's own rules before anything runs (every value
 * through lb_config_set: type, range, allowed words; every combination
 * through lb_config_check: the cross-variable rules), one backtest per
 * combination and period, the ranking by one metric, and the table and
 * JSON renderings.  A backtest here is exactly what `levbot backtest` runs:
 * engine_replay_setup_load() with the combination's configuration,
 * engine_replay_run() with an engine_report, engine_report_stats(); so the
 * figures are the report's own and equal `levbot backtest --json`'s.
 *
 * Must not: compute a figure itself (the report does), change the engine's
 * behaviour, print anything but through engine_opt_print/_write_json, or
 * read the wall clock.
 *
 * Over-fitting: with a training cut-off the ranking uses the training
 * period only; the same combinations are then backtested on the held-out
 * period (from the cut-off on, started cold like `levbot backtest --from`)
 * and shown next to it with their rank there.
 *
 * Determinism: combinations run in grid order (the last variable varies
 * fastest); ties in the metric keep grid order; the table and the JSON
 * hold no time of day or duration, so the same input gives the same bytes.
 *
 * Ownership: engine_opt_run() fills an outcome whose results belong to it
 * until engine_opt_outcome_free().
 */
#ifndef LB_ENGINE_OPTIMIZE_H
#define LB_ENGINE_OPTIMIZE_H

#include <signal.h>
#include <stdio.h>

#include "core/config.h"
#include "engine/backtest.h"
#include "engine/report.h"

#define ENGINE_OPT_MAX_VARS 8
#define ENGINE_OPT_MAX_VALUES 64
#define ENGINE_OPT_VALUE_MAX 64
#define ENGINE_OPT_MAX_COMBOS 1000

/* ==== The grid ==== */

typedef struct {
  const lb_cfg_var *var;                                  /* the table's entry */
  int n;                                                  /* values */
  char value[ENGINE_OPT_MAX_VALUES][ENGINE_OPT_VALUE_MAX]; /* as the user wrote them (trimmed) */
} engine_opt_dim;

typedef struct {
  engine_opt_dim dim[ENGINE_OPT_MAX_VARS];
  int n_dims;
  size_t n_combos; /* product of the value counts, <= ENGINE_OPT_MAX_COMBOS */
} engine_opt_grid;

/* Parses and validates "NAME=v1,v2;NAME2=v3" against `base` (the loaded
 * configuration the values are applied to).  Refused, with eb naming the
 * variable and value (LB_EINVAL): an unknown or secret variable, a variable
 * listed twice, an empty or repeated value, a value the table refuses
 * ("TAKE_PROFIT_RISK_REWARD=25 is out of range (allowed: 0.5..20)"), more
 * than ENGINE_OPT_MAX_COMBOS combinations, and a combination that breaks a
 * cross-variable rule (named with its values). */
lb_err engine_opt_grid_parse(const char *text, const lb_config *base, engine_opt_grid *out,
                             lb_errbuf *eb);
/* Index into dim[d].value of combination k. */
int engine_opt_value_index(const engine_opt_grid *g, size_t k, int d);
/* base with combination k applied (validated again). */
lb_err engine_opt_config(const engine_opt_grid *g, size_t k, const lb_config *base, lb_config *out,
                         lb_errbuf *eb);
/* "STOP_LOSS_MODE=atr TAKE_PROFIT_RISK_REWARD=2" */
void engine_opt_describe(const engine_opt_grid *g, size_t k, char *buf, size_t n);

/* ==== Metrics (figures of the report; higher is better) ==== */

typedef enum {
  ENGINE_OPT_PROFIT_FACTOR = 0, /* engine_stats.profit_factor */
  ENGINE_OPT_SHARPE,            /* engine_stats.sharpe */
  ENGINE_OPT_TOTAL_PROFIT,      /* final capital - initial (the JSON's total_profit) */
  ENGINE_OPT_CALMAR             /* engine_stats.calmar */
} engine_opt_metric;

lb_err engine_opt_metric_parse(const char *name, engine_opt_metric *out);
const char *engine_opt_metric_name(engine_opt_metric m);
double engine_opt_metric_value(const engine_stats *s, engine_opt_metric m);

/* ==== Running ==== */

typedef struct {
  engine_replay_files files;  /* data, funding, timeframes, --from/--to (strings borrowed) */
  const char *train_until;    /* NULL: rank on the whole range; else the held-out period starts here */
  engine_opt_metric metric;
  int min_trades;             /* fewer trades in the ranked period: ranked after all others */
  volatile sig_atomic_t *stop; /* set asynchronously to stop after the current backtest (may be NULL) */
  void (*progress)(void *ctx, size_t done, size_t total); /* backtests done / to do */
  void *progress_ctx;
} engine_opt_params;

typedef struct {
  size_t combo;             /* index in grid order */
  engine_stats train;       /* the ranked period (the whole range without a cut-off) */
  engine_stats test;        /* the held-out period (with a cut-off) */
  int rank, rank_test;      /* 1-based, on each period */
  bool failed;              /* the backtest could not run: error says why */
  char error[LB_ERRBUF_SIZE + 16]; /* "held out: " + the backtest's message */
} engine_opt_result;

typedef struct {
  engine_opt_result *r;     /* n results in rank order (owned) */
  size_t n;                 /* combinations completed */
  size_t n_total;           /* combinations in the grid */
  size_t backtests;         /* backtests run */
  bool split, stopped;
  lb_ms train_start, train_end, test_start, test_end; /* spans of the data actually used */
} engine_opt_outcome;

/* Runs every combination (both periods with a cut-off) and ranks them.
 * Before the first backtest the data of each period is loaded once with
 * the base configuration, so a missing file or an empty period fails
 * first (the setup's errors: LB_EPARSE/LB_EIO/LB_EUNSUPPORTED, LB_EINVAL).
 * A combination whose backtest cannot run is kept as failed (ranked last);
 * if every one fails, LB_EUNSUPPORTED with the first one's reason. */
lb_err engine_opt_run(const engine_opt_params *p, const engine_opt_grid *g, const lb_config *base,
                      engine_opt_outcome *out, lb_errbuf *eb);
void engine_opt_outcome_free(engine_opt_outcome *o);

/* ==== Renderings ==== */

/* The ranked table (the first `top` rows; 0 = all) and the best combination. */
void engine_opt_print(const engine_opt_outcome *o, const engine_opt_grid *g,
                      const engine_opt_params *p, size_t top, FILE *f);
/* Every combination with the report's figures under the JSON report's names. */
lb_err engine_opt_write_json(const engine_opt_outcome *o, const engine_opt_grid *g,
                             const engine_opt_params *p, FILE *f, lb_errbuf *eb);

#endif
