/* report.h -- backtest statistics and the report: text, JSON, CSV and self-contained HTML.
 *
 * Owns: the figures a trader reads after a backtest (freqtrade's set and
 * more: docs/backtest.md defines each one), computed from what the engine
 * reports through its observer, and their four renderings.  The collector
 * is an engine_observer; it keeps the trades, streaming drawdown and
 * balance extremes, the daily closing equity (for Sharpe, Sortino and the
 * period breakdown) and a bounded equity curve, so its memory grows with
 * trades and days, never with candles.
 *
 * Must not: influence trading (it only listens), read the clock, or touch
 * the network (the HTML report is one file with inline SVG: it opens
 * offline).
 *
 * Determinism: the same engine events give byte-identical JSON, CSV and
 * HTML (fixed field order, fixed number formats, no time of generation).
 *
 * Definitions (pure functions below, tested on hand-computed series):
 *   net PnL of a trade   realized - fees + funding
 *   win / draw / loss    net > 0 / == 0 / < 0
 *   profit factor        gross profit / gross loss (INFINITY without losses)
 *   expectancy           mean net PnL per trade (USD); in R: mean of net /
 *                        planned loss at the stop
 *   Sharpe               mean / sample stdev of daily returns x sqrt(365)
 *   Sortino              mean / downside deviation x sqrt(365), downside
 *                        deviation = sqrt(sum(min(r, 0)^2) / n)
 *   CAGR                 (final equity / initial)^(365 days / span) - 1
 *   Calmar               CAGR / max drawdown (fraction)
 *   max drawdown         largest fall of equity (capital + unrealized,
 *                        marked at every candle close) from its running
 *                        peak, as a fraction of that peak, with the peak's
 *                        and the trough's times
 *   exposure             fraction of the span with a position open
 */
#ifndef LB_ENGINE_REPORT_H
#define LB_ENGINE_REPORT_H

#include <stdio.h>

#include "engine/engine.h"
#include "exchange/sim.h"

/* ==== Pure statistics ==== */

/* Annualised Sharpe of periodic returns (periods per year, e.g. 365); 0
 * with fewer than 2 returns or zero deviation. */
double engine_stats_sharpe(const double *r, size_t n, double periods_per_year);
/* Annualised Sortino; INFINITY when no return is negative and the mean is
 * positive, 0 with no returns. */
double engine_stats_sortino(const double *r, size_t n, double periods_per_year);
/* Compound annual growth over span_ms; 0 when span <= 0 or initial <= 0;
 * -1 when final <= 0. */
double engine_stats_cagr(double initial, double final, lb_ms span_ms);

typedef struct {
  double peak;
  lb_ms peak_time;
  double max_dd;     /* fraction of the peak */
  double max_dd_abs; /* in money, at the max fraction */
  lb_ms dd_start, dd_end; /* the peak and the trough of max_dd */
  bool started;
} engine_drawdown;

/* Streaming drawdown over equity marks in time order. */
void engine_drawdown_add(engine_drawdown *d, lb_ms t, double equity);

/* ==== The collector ==== */

typedef struct {
  char files[8][256];   /* data files, for the header (first 8) */
  int n_files;
  int n_files_total;    /* all of them */
  char timeframes[64];  /* "15m,1h,4h" */
  lb_ms feed_tf;        /* fill resolution */
  char panel[64];       /* "technical" */
  lb_dec initial_capital;
  int max_leverage;
  double max_risk_per_trade;
  double slippage_bps, taker_fee, funding_rate;
  char title[48];       /* first word of the text report; "" = "levbot backtest" */
} engine_report_info;

typedef struct engine_report engine_report;

lb_err engine_report_new(const engine_report_info *info, engine_report **out, lb_errbuf *eb);
void engine_report_free(engine_report *r);
/* The observer to hand to engine_new(); ctx is r. */
engine_observer engine_report_observer(engine_report *r);
/* Ends the run: takes the open position (listed as left open), the
 * ledger, the counters and the simulator's figures (sim may be NULL).
 * With e NULL the ledger is the sum of the trades fed to the observer. */
void engine_report_finish(engine_report *r, const engine *e, const xchg *sim, lb_ms first,
                          lb_ms last);

/* ==== Figures ==== */

typedef struct {
  int trades, wins, draws, losses;
  lb_dec net, gross_profit, gross_loss;
  lb_ms duration_sum;
} engine_group;

typedef struct {
  lb_ms start, end;             /* first candle open .. last candle close */
  long candles;
  lb_dec initial, final_capital, final_equity;
  lb_dec net_closed;            /* sum of net over closed trades */
  lb_dec fees, funding;         /* whole ledger (open trade included) */
  lb_dec min_balance, max_balance; /* realized capital over the run */
  engine_group all, longs, shorts;
  double win_rate, profit_factor;
  double avg_profit_usd, avg_profit_pct; /* per trade; % of the margin */
  double total_profit_pct;      /* (final capital - initial) / initial */
  double expectancy_usd, expectancy_r, avg_planned_rr, avg_realized_r;
  /* Trades whose planned R (loss_at_stop > 0) and planned R:R (planned_rr
   * > 0) are known: the R figures above average over these only (a trade
   * recorded without its plan is unknown, not 0); 0 = the figure is unknown. */
  int r_known, rr_known;
  double sharpe, sortino, calmar, cagr;
  engine_drawdown dd;
  lb_dec max_dd_usd;            /* largest fall in money (may differ in time from dd) */
  int max_consec_wins, max_consec_losses;
  int best, worst;              /* indexes into the trades, -1 if none */
  lb_ms avg_duration, avg_win_duration, avg_loss_duration;
  double exposure;
  long liquidations, breaker_trips, gap_exits;
  int open_trades;
} engine_stats;

/* Computes every figure (call after engine_report_finish). */
void engine_report_stats(const engine_report *r, engine_stats *out);
size_t engine_report_trade_count(const engine_report *r); /* closed */
const engine_trade *engine_report_trade(const engine_report *r, size_t i);
/* Trades left open at the end (0 or 1 with one position) and their mark. */
int engine_report_open_trades(const engine_report *r, const engine_trade **t, lb_dec *mark,
                              lb_dec *unrealized);

/* ==== Renderings ==== */

enum {
  ENGINE_BREAKDOWN_DAY = 1 << 0,
  ENGINE_BREAKDOWN_WEEK = 1 << 1,
  ENGINE_BREAKDOWN_MONTH = 1 << 2
};

/* The summary and tables (per symbol, per exit reason, left open, why no
 * trade, and the breakdowns asked for). */
void engine_report_print(const engine_report *r, FILE *f, unsigned breakdown);
/* Every figure and every trade; money as exact decimal strings. */
lb_err engine_report_write_json(const engine_report *r, FILE *f, lb_errbuf *eb);
lb_err engine_report_write_csv(const engine_report *r, FILE *f, lb_errbuf *eb);
lb_err engine_report_write_html(const engine_report *r, FILE *f, lb_errbuf *eb);

#endif
