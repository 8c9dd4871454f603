/* engine.h -- the trading engine: one loop and one position state machine for backtest, paper and live.
 *
 * Owns: turning closed candles and exchange events into trades.  Per
 * symbol it keeps streaming resamplers and indicator frames (src/ta) for
 * every configured timeframe; on each closed candle of the entry timeframe
 * it scans (snapshot -> red flags -> analysts -> consensus -> risk plan ->
 * entry), and while a position is open it watches it (trailing stop,
 * liquidation distance) and books every fill, fee and funding payment in an
 * exact ledger.  What happens is reported through an observer (a struct of
 * callbacks) so the store, the notifier and the backtest report plug in
 * without the engine knowing them.
 *
 * Must not: know which exchange it talks to (an xchg: sim in backtests and
 * paper trading, binance_usdm live), which analysts it asks (a
 * strategy_panel), read configuration after engine_params_from_config(),
 * read the wall clock (time is the candle's or the caller's), or write to
 * the store or notify anyone directly.
 *
 * Other headers of this module: engine/report.h (statistics and the
 * backtest report), engine/backtest.h (the backtest and paper-replay
 * drivers).
 *
 * ---- Position state machine (at most one position, over all symbols) ----
 *
 *                 scan_apply: plan accepted, entry order sent
 *     +-------+ -------------------------------------------> +----------+
 *     | FLAT  |                                              | ENTERING |
 *     +-------+ <------------------------------------------- +----------+
 *       ^   ^      entry refused / expired with nothing filled    |    |
 *       |   |                                                     |    | stop cannot be
 *       |   |                     entry filled, stop confirmed    |    | confirmed: close
 *       |   |                     on the exchange                 v    | at once
 *       |   |                                              +----------+ |
 *       |   |                 trailing: stop replaced ---> |   OPEN   | |
 *       |   |                 (stays OPEN)            <--- +----------+ |
 *       |   |                                                     |     |
 *       |   |   position flat           stop / take-profit fill,  |     |
 *       |   +---------------- +---------+ liquidation, or close   |     |
 *       +-------------------- | EXITING | <-----------------------+     |
 *            (trade closed)   +---------+ <-----------------------------+
 *
 * restart recovery (engine_adopt): FLAT -> OPEN with a position found on the exchange
 * and its stop, or FLAT -> EXITING when no stop can be confirmed (closed at once).
 *
 * | from     | to       | when                                          | function           |
 * |----------|----------|-----------------------------------------------|--------------------|
 * | FLAT     | ENTERING | consensus trades, risk plan accepted and      | engine_scan_apply  |
 * |          |          | re-checked, entry market order accepted       |  -> pos_enter      |
 * | ENTERING | FLAT     | entry order refused, canceled or expired      | pos_entry_failed   |
 * |          |          | with nothing filled                           |                    |
 * | ENTERING | OPEN     | entry filled and the stop-loss accepted by    | pos_protect        |
 * |          |          | the exchange (take-profit placed after)       |                    |
 * | ENTERING | EXITING  | entry filled but the stop could not be        | pos_protect        |
 * |          |          | confirmed: reduce-only market close sent      |  -> pos_close      |
 * | OPEN     | OPEN     | trailing intent: new stop placed, old one     | pos_trail          |
 * |          |          | canceled (a new stop that fails: close)       |                    |
 * | OPEN     | EXITING  | a reducing fill (stop, take-profit), a        | on_fill /          |
 * |          |          | liquidation, or engine_close_position()       |  on_liquidation /  |
 * |          |          |                                               |  pos_close         |
 * | EXITING  | FLAT     | the position is flat: leftovers canceled,     | pos_finish         |
 * |          |          | trade booked, breakers told                   |                    |
 * | FLAT     | OPEN     | restart recovery: a position of ours on the   | engine_adopt       |
 * |          |          | exchange, its stop open there or placed now   |                    |
 * | FLAT     | EXITING  | restart recovery: no stop can be confirmed:   | engine_adopt       |
 * |          |          | reduce-only market close sent                 |  -> pos_close      |
 *
 * Invariants (numbered; engine.c asserts them at every transition in debug
 * builds through pos_check(), like sqlite's assert_pager_state()):
 *   P1. At most one position: every state but FLAT belongs to exactly one
 *       symbol, and no scan may start an entry unless the state is FLAT.
 *   P2. FLAT: the engine holds nothing (held == 0) and has no working
 *       order ids.
 *   P3. ENTERING: an entry order id exists; no stop is confirmed yet.
 *   P4. OPEN: held != 0, its sign matches the trade's side, a stop is
 *       confirmed on the exchange, the initial stop lies on the protective
 *       side of the average entry (below it for a long) and the current
 *       stop is no looser than the initial one.
 *   P5. The stop only tightens while OPEN (a long's stop never moves down).
 *   P6. Ledger: capital == initial + realized PnL - fees + funding, exactly,
 *       and equals the sum over trades (closed and open) of the same terms.
 *   P7. A trade is booked closed exactly once, when held returns to 0.
 *
 * ---- Scans: prepare (fast) | ask (slow, any thread) | apply (fast) ----
 * engine_scan_prepare() reads indicators, builds the snapshot and runs the
 * red flags: it decides whether analysts are asked at all.
 * engine_scan_ask() calls the panel and touches nothing in the engine, so
 * a live driver may run it on another thread while the position monitor
 * (engine_on_candle / engine_on_mark / engine_poll) keeps reacting to
 * prices.  engine_scan_apply() (engine thread) runs consensus, risk and
 * the orders, after checking the world did not change meanwhile (state
 * still FLAT, the scan not older than `max_scan_age`).  Backtests call the
 * three back to back (engine_scan_run).
 *
 * Ownership: engine_new() returns a heap engine freed by engine_free(); the
 * xchg, the panel and the observer are borrowed and must outlive it.
 * Single-threaded except engine_scan_ask (see above).
 */
#ifndef LB_ENGINE_ENGINE_H
#define LB_ENGINE_ENGINE_H

#include <stdbool.h>

#include "core/config.h"
#include "core/decision.h"
#include "core/err.h"
#include "core/money.h"
#include "core/time.h"
#include "data/data.h"
#include "exchange/xchg.h"
#include "risk/risk.h"
#include "strategy/analyst.h"
#include "strategy/strategy.h"
#include "ta/ta.h"

#define ENGINE_MAX_SYMBOLS 32 /* also the configuration check's limit (core/config_check.c) */

/* ==== Parameters ==== */

typedef struct {
  char symbols[ENGINE_MAX_SYMBOLS][LB_SYMBOL_MAX];
  int n_symbols;
  lb_ms timeframes[TA_MAX_TF]; /* ascending; [0] is the entry timeframe */
  int n_tf;
  ta_params ta;
  risk_params risk;
  strategy_redflag_params redflags;
  strategy_consensus_rules consensus;
  lb_dec initial_capital;     /* INITIAL_CAPITAL: what the ledger starts from */
  double slippage;            /* SLIPPAGE_BPS / 10000: expected entry price for the plan */
  double liq_warn;            /* LIQUIDATION_WARNING_PERCENT of the mark */
  lb_ms max_scan_age;         /* apply refuses a scan older than this (0 = no limit) */
  char cid_prefix[12];        /* client ids "<prefix>-<trade>-E|S<n>|T|X" */
  long first_trade_id;        /* 1 in backtests; live continues from the store */
} engine_params;

/* From a loaded, validated configuration.  LB_ECONFIG with the variable
 * named in eb if something cannot be used (a timeframe the engine cannot
 * build, more than TA_MAX_TF frames). */
lb_err engine_params_from_config(const lb_config *cfg, engine_params *out, lb_errbuf *eb);
/* Timeframe list: entry first, then every item of `list` above it
 * ("15m,1h,4h"), ascending, at most TA_MAX_TF. */
lb_err engine_parse_timeframes(const char *entry, const char *list, lb_ms *out, int *n,
                               lb_errbuf *eb);

/* ==== Trades ==== */

#define ENGINE_EXIT_MAP(X)                                                   \
  X(NONE, "none")                         /* still open */                   \
  X(STOP, "stop_loss")                    /* the initial stop */             \
  X(TRAILING_STOP, "trailing_stop")       /* a stop the engine had moved */  \
  X(TAKE_PROFIT, "take_profit")                                              \
  X(LIQUIDATION, "liquidation")           /* must never happen */            \
  X(NO_STOP, "stop_not_confirmed")        /* closed at once: no stop */      \
  X(MANUAL, "manual")                     /* engine_close_position() */      \
  X(EXTERNAL, "external")                 /* closed outside levbot */

typedef enum {
#define ENGINE_EXIT_ENUM_(id, name) ENGINE_EXIT_##id,
  ENGINE_EXIT_MAP(ENGINE_EXIT_ENUM_)
#undef ENGINE_EXIT_ENUM_
  ENGINE_EXIT__COUNT
} engine_exit_reason;

const char *engine_exit_name(engine_exit_reason r);

typedef struct {
  long id;
  char symbol[LB_SYMBOL_MAX];
  lb_action side;           /* LONG / SHORT */
  int leverage;
  lb_ms entry_time, exit_time; /* exit_time 0 while open */
  lb_dec qty;               /* filled entry quantity */
  lb_dec entry_price;       /* average entry fill */
  lb_dec exit_price;        /* average exit fill (0 while open) */
  lb_dec initial_stop, stop, take_profit, liquidation;
  lb_dec margin;            /* isolated margin of the plan */
  lb_dec realized_pnl;      /* from the exchange's fills */
  lb_dec fees;              /* entry + exit */
  lb_dec funding;           /* received (+) / paid (-) while open */
  lb_dec loss_at_stop;      /* planned risk (R) */
  lb_dec capital_at_entry;  /* ledger capital when it opened */
  double planned_rr;        /* plan's reward:risk after fees */
  double confidence;
  lb_regime regime;
  engine_exit_reason exit_reason;
  int stop_moves;
  bool gap_exit;            /* the exit filled worse than its trigger price */
} engine_trade;

/* realized - fees + funding */
static inline lb_dec engine_trade_net(const engine_trade *t) {
  return t->realized_pnl - t->fees + t->funding;
}

/* ==== Scans ==== */

typedef enum {
  ENGINE_SCAN_NONE = 0,
  ENGINE_SCAN_BUSY,     /* a position is open or being entered */
  ENGINE_SCAN_BREAKER,  /* a circuit breaker blocks entries */
  ENGINE_SCAN_RED_FLAG, /* analysts not asked (includes warm-up) */
  ENGINE_SCAN_HOLD,     /* asked; consensus is HOLD */
  ENGINE_SCAN_REFUSED,  /* consensus traded; risk refused (plan.refusal) */
  ENGINE_SCAN_STALE,    /* apply: the world changed since prepare */
  ENGINE_SCAN_FAILED,   /* the exchange refused the entry */
  ENGINE_SCAN_ENTERED   /* entry sent */
} engine_scan_outcome;

const char *engine_scan_outcome_name(engine_scan_outcome o);

typedef struct {
  long seq;                /* engine's scan counter when prepared */
  int sym;
  char symbol[LB_SYMBOL_MAX];
  lb_ms time;              /* close time of the entry candle */
  ta_snapshot snap;
  strategy_context ctx;
  strategy_redflags flags;
  int n_votes;
  strategy_vote votes[STRATEGY_MAX_VOTERS];
  strategy_consensus consensus;
  risk_market market;
  risk_plan plan;
  engine_scan_outcome outcome;
  char detail[256];        /* one line: why this outcome */
} engine_scan;

/* ==== Observer ==== */

typedef enum {
  ENGINE_ALERT_LIQUIDATION_NEAR = 1, /* mark within liq_warn of the liquidation price */
  ENGINE_ALERT_LIQUIDATED,           /* the exchange liquidated the position */
  ENGINE_ALERT_STOP_NOT_CONFIRMED,   /* position closed at once */
  ENGINE_ALERT_EXCHANGE_ERROR,       /* an order call failed (detail in msg) */
  ENGINE_ALERT_TAKE_PROFIT_MISSING,  /* protected by the stop only */
  ENGINE_ALERT_EXTERNAL_CHANGE       /* the exchange's position differs from ours */
} engine_alert;

const char *engine_alert_name(engine_alert a);

/* Every callback may be NULL.  They run on the engine's thread, inside
 * the call that caused them, and must not call back into the engine. */
typedef struct {
  void *ctx;
  void (*on_scan)(void *ctx, const engine_scan *s);
  void (*on_order)(void *ctx, const xchg_order *o, long trade_id);
  void (*on_fill)(void *ctx, const xchg_fill *f, long trade_id);
  void (*on_trade_opened)(void *ctx, const engine_trade *t);
  void (*on_stop_moved)(void *ctx, const engine_trade *t, lb_dec from, lb_dec to, lb_ms time);
  void (*on_trade_closed)(void *ctx, const engine_trade *t);
  void (*on_funding)(void *ctx, const char *symbol, lb_dec amount, double rate, lb_ms time);
  void (*on_breaker)(void *ctx, const risk_breaker_event *ev);
  /* capital = realized ledger; equity = capital + unrealized at the mark */
  void (*on_equity)(void *ctx, lb_ms time, lb_dec capital, lb_dec equity);
  void (*on_alert)(void *ctx, engine_alert kind, const char *symbol, lb_ms time, const char *msg);
} engine_observer;

/* ==== Lifecycle ==== */

typedef struct engine engine;

/* Reads symbol rules and brackets from the exchange (LB_EREJECTED / LB_ENET
 * with the exchange's message if it cannot).  obs may be NULL. */
lb_err engine_new(const engine_params *p, xchg *x, strategy_panel *panel,
                  const engine_observer *obs, engine **out, lb_errbuf *eb);
void engine_free(engine *e);

/* Index of a configured symbol, -1 if not configured. */
int engine_symbol_index(const engine *e, const char *symbol);

/* ==== Feeding ==== */

/* One closed candle of the symbol at the feed's timeframe (which must
 * divide every configured timeframe): updates resamplers and indicators,
 * watches an open position (trailing stop, liquidation distance), marks
 * equity.  *scan_due (may be NULL) is set when the candle closed an entry-
 * timeframe bar: the caller then scans (engine_scan_run, or the three steps).
 * Drains exchange events first. */
lb_err engine_on_candle(engine *e, int sym, lb_ms feed_tf, const data_candle *c, bool *scan_due);
/* A mark price (live and paper on live marks): position monitor only. */
lb_err engine_on_mark(engine *e, int sym, lb_ms time, lb_dec mark);
/* Drains and applies the exchange's events: fills, funding, liquidation,
 * and, from a streaming venue, closed candles (as engine_on_candle) and mark
 * prices (as engine_on_mark).  A streamed candle that closes an entry bar
 * makes a scan due: engine_next_scan() hands those out. */
lb_err engine_poll(engine *e);
/* The earliest scan made due by a streamed candle (symbol and the close
 * time to pass to engine_scan_prepare); false when none is pending.  Only
 * the latest due scan per symbol is kept: a late one is not worth making. */
bool engine_next_scan(engine *e, int *sym, lb_ms *time);

/* ==== Scanning ==== */

/* Fast.  Returns true when analysts must be asked; otherwise s->outcome
 * says why not (BUSY, BREAKER, RED_FLAG) and the observer has been told. */
bool engine_scan_prepare(engine *e, int sym, lb_ms now, engine_scan *s);
/* Slow, thread-safe with respect to the engine (reads only s). */
void engine_scan_ask(strategy_panel *panel, engine_scan *s);
/* Fast.  Consensus -> risk -> orders; s->outcome and s->detail say what
 * happened; the observer's on_scan is called.  Returns an error only for
 * failures that must stop trading (LB_ECONFIG: fatal exchange error). */
lb_err engine_scan_apply(engine *e, engine_scan *s, lb_ms now);
/* prepare -> ask -> apply on this thread with the engine's own panel. */
lb_err engine_scan_run(engine *e, int sym, lb_ms now);

/* Closes the open position at market (reason MANUAL).  No-op when FLAT. */
lb_err engine_close_position(engine *e, lb_ms now);
/* Resets breakers (RISK_BRK__COUNT = all), as the operator's command. */
lb_err engine_reset_breakers(engine *e, risk_breaker_kind kind, lb_ms now);

/* ==== Outside events and restart recovery (the live driver) ==== */

/* One failed call of an outside service (an AI analysis in which no model
 * gave a valid answer, an exchange call): feeds the failure breakers
 * (ai_failures / exchange_failures).  The observer hears a trip. */
lb_err engine_on_failure(engine *e, risk_failure_source src, lb_ms now);
/* Re-applies a breaker trip read back from the store after a restart (no
 * observer event: it was recorded when it tripped). */
lb_err engine_restore_breaker(engine *e, const risk_breaker_event *trip, lb_errbuf *eb);
/* The engine's time: the latest candle close, mark or event time seen. */
lb_ms engine_time(const engine *e);

typedef enum {
  ENGINE_ORDER_ENTRY = 0,
  ENGINE_ORDER_STOP,
  ENGINE_ORDER_TAKE_PROFIT,
  ENGINE_ORDER_EXIT
} engine_order_kind;

/* One order of an adopted trade as the exchange knows it now.  Its fills
 * (cumulative) are already counted in engine_adoption.trade, so a later
 * update of the same order books only what is new. */
typedef struct {
  char client_id[XCHG_ID_MAX];
  engine_order_kind kind;
  xchg_status status;
  lb_dec filled, avg_price, fee, realized; /* cumulative, as booked */
  lb_dec trigger;                          /* stops and take-profits */
} engine_adopt_order;

#define ENGINE_ADOPT_MAX_ORDERS 8

/* A position of ours found on the exchange after a restart.  trade: id
 * (the number in its client ids), side, leverage, entry_time, qty and
 * entry_price (its entry fills), initial_stop (0 = unknown), stop (the
 * stop to hold: the live stop order's trigger wins), take_profit (0 =
 * none), liquidation, margin, loss_at_stop, and realized_pnl, fees and
 * funding booked so far (they join the ledger: the caller's
 * initial_capital must exclude them). */
typedef struct {
  int sym;
  engine_trade trade;
  lb_dec held;      /* signed quantity the exchange holds (its sign = the side) */
  int n_orders;
  engine_adopt_order orders[ENGINE_ADOPT_MAX_ORDERS];
  int stop_version; /* highest "-S<n>" the trade used; a new stop takes the next */
  int exit_version; /* highest "-X<n>" used ("-X" alone is 1) */
} engine_adoption;

/* FLAT -> OPEN with a position found on the exchange (restart recovery):
 * a stop order of the trade still open on the exchange is kept; without
 * one, a new stop at trade.stop is placed at once (client id "-S<n+1>").
 * If no stop can be confirmed, FLAT -> EXITING: the position is closed at
 * market (reason stop_not_confirmed), as after an entry.  A missing
 * take-profit is placed if none was ever placed.  Trade numbering
 * continues after trade.id.  LB_ESTATE unless FLAT; LB_EINVAL for an
 * adoption that contradicts itself (held against the side). */
lb_err engine_adopt(engine *e, const engine_adoption *a, lb_ms now, lb_errbuf *eb);

/* ==== State (read-only views) ==== */

typedef enum { ENGINE_FLAT = 0, ENGINE_ENTERING, ENGINE_OPEN, ENGINE_EXITING } engine_pos_state;
const char *engine_pos_state_name(engine_pos_state s);

typedef struct {
  lb_dec initial;
  lb_dec realized, fees, funding; /* fees paid (>= 0); funding received (+) / paid (-) */
  lb_dec capital;                 /* initial + realized - fees + funding (P6) */
} engine_ledger;

typedef struct {
  engine_pos_state state;
  engine_trade trade;        /* meaningful when state != FLAT */
  lb_dec held;               /* signed quantity the engine holds */
  lb_dec mark;               /* last price of its symbol */
  lb_dec unrealized;
} engine_position;

void engine_get_ledger(const engine *e, engine_ledger *out);
void engine_get_position(const engine *e, engine_position *out);

typedef struct {
  long candles, scans, asked, entries, trades_closed;
  long red_flags[STRATEGY_RF__COUNT]; /* scans stopped by each flag (first flag counted) */
  long holds, refusals[RISK_REFUSAL__COUNT];
  long stale, failed_entries;
  long liquidations, no_stop_closes, stop_moves;
  long breaker_trips, breaker_blocked;
  long exchange_errors;
} engine_counters;

void engine_get_counters(const engine *e, engine_counters *out);
bool engine_breakers_blocking(const engine *e, lb_ms now);

#endif
