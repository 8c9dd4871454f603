/* sim.h -- the simulated exchange ("sim"): the xchg back end of backtests and paper trading.
 *
 * Owns: a USDT-M perpetual venue in memory, driven by a feeder instead of a
 * network: one wallet, isolated-margin positions per symbol, market orders
 * filled at the current price plus slippage, reduce-only stop-market and
 * take-profit-market orders triggered by the price path of each candle,
 * taker fees, funding every 8 hours, and liquidation.  It implements every
 * op of xchg.h, so the engine cannot tell it from a real exchange.
 *
 * Must not: decide anything for the bot (sizing, stops: src/risk and
 * src/engine), or read the configuration (its constructor gets numbers).
 *
 * Fill model (docs/backtest.md explains the choices to a user):
 *   1. The "current price" of a symbol is the close of the last candle fed
 *      (or the last mark, in paper trading on live marks).  A market order
 *      fills at once at that price moved against the taker by `slippage`
 *      (buy: up, sell: down), rounded to the tick against the taker.
 *   2. A candle is walked as open -> adverse extreme -> favourable extreme
 *      -> close, adverse meaning against the open position (a long sees the
 *      low first).  So when one candle touches both the stop and the
 *      take-profit, the stop fills (the conservative rule).  Feeding finer
 *      candles (1m under a 15m strategy) resolves the order inside the
 *      coarse candle, as freqtrade's --timeframe-detail does.
 *   3. A conditional order triggers when the path reaches its trigger price
 *      and fills as a market order at the trigger price (slippage against
 *      us); if the candle OPENS beyond the trigger (a gap), it fills at the
 *      open, which for a stop is worse than the stop.
 *   4. Liquidation: isolated margin + unrealized PnL <= maintenance margin
 *      (Binance brackets).  The sim computes the price where that happens on
 *      the path; if the path reaches it before any stop, the position is
 *      liquidated: the whole isolated margin is lost (fill at the bankruptcy
 *      price).  With correct stops this never happens; it is counted.
 *   5. Funding settles at every multiple of `funding_interval` (00:00,
 *      08:00, 16:00 UTC): payment = |qty| x price x rate, paid by longs to
 *      shorts when the rate is positive.  The rate comes from the symbol's
 *      funding series when it has that settlement, else `funding_rate`.
 *      Settlements are applied when the first candle at or after them
 *      arrives, at that candle's open, on the position held then.
 *   6. Ledger: wallet = initial balance + realized PnL - fees +/- funding,
 *      exactly (lb_dec), at every moment.  Isolated margin is the part of
 *      the wallet locked by the position; funding moves it too.
 *
 * Invariants (checked by tests/sim):
 *   - wallet_balance == initial + sum(fill.realized_pnl) - sum(fill.fee)
 *     + sum(funding amounts), to the last 1e-8;
 *   - a position's isolated margin > 0 iff its qty != 0;
 *   - conditional orders are reduce-only or close-position; when a position
 *     goes flat, its remaining reduce-only orders expire (an ORDER event).
 *
 * Ownership: xchg_sim_new() returns an xchg the caller frees with
 * xchg_free().  Rules, bracket tables are copied; funding series are
 * borrowed and must outlive the xchg.  Single-threaded (contract 5 holds
 * trivially: the sim has no threads of its own).
 */
#ifndef LB_EXCHANGE_SIM_H
#define LB_EXCHANGE_SIM_H

#include <stdbool.h>

#include "core/err.h"
#include "core/money.h"
#include "core/symbol.h"
#include "data/data.h"
#include "exchange/xchg.h"

#define XCHG_SIM_FUNDING_INTERVAL (8 * LB_MS_HOUR)
#define XCHG_SIM_MAX_SYMBOLS 64
#define XCHG_SIM_MAX_OPEN 16 /* open conditional orders per symbol */

typedef struct {
  lb_dec initial_balance; /* USDT in the wallet at start, > 0 */
  lb_dec taker_fee;       /* rate: 0.0005 = 0.05 % (market, stop and take-profit fills) */
  lb_dec maker_fee;       /* rate; reported only (the sim fills no resting limit orders) */
  lb_dec slippage;        /* fraction of the price against the taker: 0.0002 = 2 bps */
  lb_dec funding_rate;    /* per settlement, when a symbol has no data for it */
  lb_ms funding_interval; /* XCHG_SIM_FUNDING_INTERVAL */
  bool exact_walk;        /* walk every candle exactly, without the quick test in doubles
                             (tests check that both give the same fills) */
} xchg_sim_params;

/* Binance USDT-M defaults: 0.05 % taker, 0.02 % maker, no slippage,
 * 0.01 % funding per 8 h, 10,000 USDT. */
void xchg_sim_params_default(xchg_sim_params *p);

lb_err xchg_sim_new(const xchg_sim_params *p, xchg **out, lb_errbuf *eb);

/* True when x is a sim (the feeder calls below are only valid then). */
bool xchg_is_sim(const xchg *x);

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  const lb_symbol_rules *rules;       /* copied; NULL = Binance rules for BTCUSDT/ETHUSDT, generic otherwise */
  const lb_bracket_table *brackets;   /* copied; NULL = Binance table for ETHUSDT, BTCUSDT's otherwise */
  const data_funding_series *funding; /* borrowed, may be NULL */
} xchg_sim_symbol;

/* Lists a tradable symbol.  LB_EEXISTS if listed already, LB_ERANGE past
 * XCHG_SIM_MAX_SYMBOLS, LB_EINVAL for an invalid bracket table. */
lb_err xchg_sim_add_symbol(xchg *x, const xchg_sim_symbol *s, lb_errbuf *eb);
/* Index of a listed symbol for the fast feeder calls, -1 if not listed. */
int xchg_sim_symbol_index(const xchg *x, const char *symbol);

/* ==== Feeder ==== */

/* One closed candle of duration tf (> 0) for the symbol: settles funding,
 * walks the price path (fill model 2-4), then makes the close the current
 * price.  Candles of one symbol must arrive in time order (LB_EINVAL
 * otherwise); the events it caused are queued for poll_events(). */
lb_err xchg_sim_on_candle(xchg *x, const char *symbol, lb_ms tf, const data_candle *c);
lb_err xchg_sim_on_candle_at(xchg *x, int idx, lb_ms tf, const data_candle *c);
/* A mark price at time t (paper trading on live marks): a point path. */
lb_err xchg_sim_on_mark(xchg *x, const char *symbol, lb_ms t, lb_dec mark);

/* ==== Fault injection (tests) ==== */

typedef enum {
  XCHG_SIM_FAULT_NONE = 0,
  XCHG_SIM_FAULT_REJECT_CONDITIONAL, /* the next `count` conditional orders are REJECTED */
  XCHG_SIM_FAULT_RETRY_CONDITIONAL,  /* ... fail with RETRYABLE (as a timeout would) */
  XCHG_SIM_FAULT_DEAF_STOPS,         /* the next `count` conditional orders are accepted but never trigger */
  XCHG_SIM_FAULT_REJECT_MARKET       /* the next `count` market orders are REJECTED */
} xchg_sim_fault;

void xchg_sim_inject(xchg *x, xchg_sim_fault f, int count);

/* ==== Figures ==== */

typedef struct {
  long orders, fills, liquidations, fundings, gap_fills, expired;
  lb_dec realized_pnl, fees, funding; /* sums; wallet = initial + realized - fees + funding */
  lb_dec initial_balance;
} xchg_sim_stats;

void xchg_sim_get_stats(const xchg *x, xchg_sim_stats *out);

#endif
