/* risk.h -- sizing, leverage, stops, liquidation price, trailing stops, circuit breakers.
 *
 * Owns: the rules of DESIGN.md section 3 that decide whether, and how much,
 * to trade.  A decision (src/core/decision.h) plus a market snapshot, the
 * symbol's filters and its maintenance-margin brackets (src/core/symbol.h)
 * become either an executable entry plan (side, quantity, leverage, isolated
 * margin, stop, take-profit, estimated liquidation price, loss at the stop
 * and profit at the take-profit after fees) or a refusal with one reason
 * code and a message naming the numbers.  Also: the invariant checker the
 * engine runs again before any order, the trailing stop, and the circuit
 * breakers that pause new entries.
 *
 * Must not: read a clock, sleep, do I/O, log, allocate, or keep globals.
 * Time is always an argument (lb_ms, UTC), so backtests, paper and live runs
 * get the same answers.  It never places, cancels or closes anything: it
 * returns plans, "move stop to X" intents and breaker events, and the engine
 * acts on them.  It never blocks an exit.
 *
 * Invariants of every plan with refusal == RISK_OK (risk_plan_check proves
 * each of them again; the numbers are the RISK_* codes it returns):
 *   1. loss_at_stop (price move from the entry to the stop's expected
 *      fill, SLIPPAGE_BPS beyond the stop, + taker fee on the entry and on
 *      that fill) <= MAX_RISK_PER_TRADE x capital      (loss_above_max_risk)
 *   2. the stop lies strictly between the entry and the liquidation price,
 *      at least LIQUIDATION_BUFFER_PERCENT x entry away from the
 *      liquidation price                                (stop_beyond_liquidation)
 *   3. leverage <= the regime x confidence table, MAX_LEVERAGE and the
 *      bracket's initialLeverage for the notional       (leverage_above_ceiling)
 *   4. quantity is a multiple of the (market) step, within min/max quantity
 *                                                       (qty_off_step, below_min_qty, above_max_qty)
 *   5. stop and take-profit are multiples of the tick and inside the price
 *      filter                                           (price_off_tick, price_outside_filter)
 *   6. notional >= the symbol's minimum notional          (below_min_notional)
 *   7. MIN_STOP_LOSS_PERCENT x entry <= |entry - stop| <= MAX_STOP_LOSS_PERCENT
 *      x entry                                          (stop_distance_out_of_range)
 *   8. profit_at_tp >= MIN_PROFIT_USD and R:R >= MIN_RISK_REWARD
 *                                                       (profit_below_min_profit_usd,
 *                                                        risk_reward_below_min)
 *   9. isolated margin + entry fee <= capital            (margin_above_capital)
 *  10. every derived number equals its recomputation     (plan_inconsistent)
 *
 * Rounding is always in the careful direction: quantities down to the step;
 * stop and take-profit toward the entry (the stop triggers no farther than
 * allowed, the profit is never overstated); losses and fees up; profits
 * down; the liquidation estimate toward the entry.
 *
 * Slippage: the stop and the take-profit are market orders once triggered,
 * so loss and profit are counted at their expected fills, the trigger moved
 * `slippage` (SLIPPAGE_BPS) against the exit and put on the tick against the
 * trader (what the simulator fills at).  The entry's slippage is the
 * caller's: risk_market.entry_price is the price the entry is expected to
 * fill at (the engine passes the last close moved by SLIPPAGE_BPS).  What
 * no plan can bound: a price that gaps over the stop (the fill is wherever
 * the market opens), slippage beyond SLIPPAGE_BPS, and funding paid while
 * the position is open.
 */
#ifndef LB_RISK_RISK_H
#define LB_RISK_RISK_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "core/decision.h"
#include "core/err.h"
#include "core/money.h"
#include "core/symbol.h"
#include "core/time.h"

/* ==== Refusal reasons ==== */

/* One list: enum, stable snake_case name (stored, logged, shown) and a
 * short description.  New codes go at the END; never renumber. */
#define RISK_REFUSAL_MAP(X)                                                                   \
  X(OK, "ok", "accepted")                                                                    \
  X(INVALID_INPUT, "invalid_input", "an input is missing, not finite or out of range")       \
  X(DECISION_HOLD, "decision_hold", "the decision is HOLD")                                  \
  X(BREAKER_ACTIVE, "breaker_active", "a circuit breaker blocks new entries")                \
  X(MAX_POSITIONS, "max_positions", "the maximum number of open positions is reached")       \
  X(CONFIDENCE_BELOW_MIN, "confidence_below_min", "confidence below MIN_AI_CONFIDENCE")      \
  X(REGIME_VOLATILE, "regime_volatile", "no trade in a volatile market")                     \
  X(STOP_NOT_REPRESENTABLE, "stop_not_representable",                                        \
    "no price on the tick lies inside the allowed stop range")                               \
  X(TAKE_PROFIT_INVALID, "take_profit_invalid", "the take-profit price is not usable")       \
  X(BELOW_MIN_QTY, "below_min_qty", "quantity below the symbol's minimum")                   \
  X(BELOW_MIN_NOTIONAL, "below_min_notional", "notional below the symbol's minimum")         \
  X(STOP_BEYOND_LIQUIDATION, "stop_beyond_liquidation",                                      \
    "the stop is not safely before the liquidation price")                                   \
  X(PROFIT_BELOW_MIN_PROFIT_USD, "profit_below_min_profit_usd",                              \
    "profit at take-profit after fees below MIN_PROFIT_USD")                                 \
  X(RISK_REWARD_BELOW_MIN, "risk_reward_below_min", "R:R after fees below MIN_RISK_REWARD")   \
  X(PRICE_OUTSIDE_FILTER, "price_outside_filter", "a price is outside the symbol's filter")  \
  X(LOSS_ABOVE_MAX_RISK, "loss_above_max_risk", "loss at stop above MAX_RISK_PER_TRADE")     \
  X(LEVERAGE_ABOVE_CEILING, "leverage_above_ceiling", "leverage above a ceiling")            \
  X(QTY_OFF_STEP, "qty_off_step", "quantity not a multiple of the step size")                \
  X(PRICE_OFF_TICK, "price_off_tick", "price not a multiple of the tick size")               \
  X(STOP_DISTANCE_OUT_OF_RANGE, "stop_distance_out_of_range",                                \
    "stop distance outside MIN/MAX_STOP_LOSS_PERCENT")                                       \
  X(MARGIN_ABOVE_CAPITAL, "margin_above_capital", "margin plus entry fee above capital")     \
  X(ABOVE_MAX_QTY, "above_max_qty", "quantity above the symbol's maximum")                   \
  X(PLAN_INCONSISTENT, "plan_inconsistent", "a derived number does not match its inputs")

typedef enum {
#define RISK_REFUSAL_ENUM_(id, name, desc) RISK_##id,
  RISK_REFUSAL_MAP(RISK_REFUSAL_ENUM_)
#undef RISK_REFUSAL_ENUM_
  RISK_REFUSAL__COUNT
} risk_refusal;

const char *risk_refusal_name(risk_refusal r); /* "below_min_notional"; "unknown" if out of range */
const char *risk_refusal_desc(risk_refusal r);
/* RISK_REFUSAL__COUNT when the name is unknown. */
risk_refusal risk_refusal_from_name(const char *name);

/* ==== Parameters ==== */

typedef enum { RISK_STOP_FIXED = 0, RISK_STOP_SWING, RISK_STOP_ATR } risk_stop_mode;
typedef enum { RISK_TP_RR = 0, RISK_TP_ANALYST } risk_tp_mode;
typedef enum { RISK_TRAIL_ATR = 0, RISK_TRAIL_PERCENT } risk_trail_mode;

const char *risk_stop_mode_name(risk_stop_mode m); /* "fixed" "swing" "atr" */

/* DESIGN.md section 3's leverage ceiling by regime and confidence. */
typedef struct {
  int trending_strong;      /* trending and confidence >= strong_confidence: 5 */
  int trending;             /* trending, lower confidence: 3 */
  int ranging;              /* 3 */
  int volatile_max;         /* 0 = no trade (regime_volatile), else the ceiling (<= 2) */
  int unknown;              /* regime not known (indicators warming up): 1 */
  double strong_confidence; /* 0.80 */
} risk_leverage_table;

/* Every threshold the module uses.  Filled from the configuration by
 * risk_params_from_config(); tests build them by hand.  Fractions are
 * fractions (0.07 = 7 %). */
typedef struct {
  /* entry */
  int max_leverage;             /* MAX_LEVERAGE */
  risk_leverage_table lev;      /* regime x confidence (VOLATILE_MAX_LEVERAGE) */
  double min_confidence;        /* max(MIN_AI_CONFIDENCE, 0.75) */
  int max_open_positions;       /* MAX_OPEN_POSITIONS */
  double max_risk_per_trade;    /* MAX_RISK_PER_TRADE, (0, 0.10] */
  double taker_fee;             /* TAKER_FEE: entry, stop and take-profit fills */
  double slippage;              /* SLIPPAGE_BPS / 10000: stop and take-profit fills, [0, 0.05] */
  lb_dec min_profit_usd;        /* MIN_PROFIT_USD */
  double min_rr;                /* MIN_RISK_REWARD, after fees */
  double liquidation_buffer;    /* LIQUIDATION_BUFFER_PERCENT, of the entry price, > 0 */
  /* stop and take-profit */
  double min_stop, max_stop;    /* MIN/MAX_STOP_LOSS_PERCENT */
  risk_stop_mode stop_mode;     /* STOP_LOSS_MODE */
  double atr_stop_multiple;     /* ATR_STOP_MULTIPLE (k in k x ATR) */
  double swing_buffer;          /* SWING_STOP_BUFFER_PERCENT beyond the swing level */
  risk_tp_mode tp_mode;         /* TAKE_PROFIT_MODE */
  double target_rr;             /* TAKE_PROFIT_RISK_REWARD (price distance ratio) */
  /* trailing stop */
  bool trail_enabled;           /* TRAILING_STOP_ENABLED */
  double trail_activation_r;    /* TRAILING_ACTIVATION_R */
  risk_trail_mode trail_mode;   /* TRAILING_STOP_MODE */
  double trail_atr_multiple;    /* TRAILING_ATR_MULTIPLE */
  double trail_percent;         /* TRAILING_STOP_PERCENT */
  /* circuit breakers */
  double daily_loss_limit;      /* DAILY_LOSS_LIMIT_PERCENT of start-of-day equity */
  int max_consecutive_losses;   /* MAX_CONSECUTIVE_LOSSES */
  double max_drawdown;          /* MAX_DRAWDOWN_PERCENT from peak equity */
  int max_failures;             /* MAX_FAILURES of one source ... */
  lb_ms failure_window;         /* ... within FAILURE_WINDOW_MINUTES */
  lb_ms cooldown;               /* BREAKER_COOLDOWN_MINUTES */
} risk_params;

/* From a loaded, validated configuration.  LB_ECONFIG only if an enum
 * variable holds a word this module does not know (a table/code mismatch). */
lb_err risk_params_from_config(const lb_config *cfg, risk_params *out);
/* The defaults of the configuration table (lb_config_defaults). */
void risk_params_default(risk_params *out);
/* Range checks for hand-made parameters; eb names the field and value. */
lb_err risk_params_check(const risk_params *p, lb_errbuf *eb);

/* ==== Entry plan ==== */

/* What the engine knows about the market when it asks for a plan (from its
 * indicator snapshot and its own state). */
typedef struct {
  lb_dec entry_price;      /* expected entry fill (slippage included), > 0 */
  double atr;              /* ATR on the entry timeframe; NAN if unknown */
  double swing_low;        /* nearest swing low below the price; NAN if none */
  double swing_high;       /* nearest swing high above the price; NAN if none */
  lb_regime regime;        /* the indicators' regime (the decision has its own) */
  int open_positions;      /* positions open now */
  bool breaker_active;     /* risk_breakers_blocking() at this time */
} risk_market;

#define RISK_MSG_MAX 256

typedef struct {
  risk_refusal refusal;    /* RISK_OK: the plan may be executed */
  char message[RISK_MSG_MAX]; /* the rule and its numbers, or a summary when accepted */
  lb_action side;          /* LB_ACTION_LONG / LB_ACTION_SHORT */
  lb_dec entry;            /* risk_market.entry_price: the expected entry fill */
  lb_dec qty;              /* base asset, a multiple of the market step */
  lb_dec notional;         /* qty x entry, rounded up (selects the bracket) */
  int leverage;
  int leverage_ceiling;    /* lowest of table, MAX_LEVERAGE and bracket */
  lb_dec margin;           /* isolated margin = notional / leverage, rounded up */
  lb_dec stop;             /* on the tick */
  lb_dec take_profit;      /* on the tick */
  lb_dec liquidation;      /* estimate, rounded toward entry; 0 = cannot be liquidated */
  lb_dec loss_at_stop;     /* qty x |entry - stop fill| + taker fee on both legs, rounded up */
  lb_dec profit_at_tp;     /* qty x |tp fill - entry| - taker fee on both legs, rounded down */
  lb_dec risk_budget;      /* MAX_RISK_PER_TRADE x capital, rounded down */
  double rr;               /* profit_at_tp / loss_at_stop */
  double stop_percent;     /* |entry - stop| / entry */
  risk_stop_mode stop_basis; /* how the stop was placed (fixed when swing/ATR had no data) */
  bool stop_clamped;       /* the unclamped stop lay outside [MIN, MAX]_STOP_LOSS_PERCENT */
  int bracket;             /* maintenance-margin tier used */
  lb_dec mmr, cum;         /* its rate and maintenance amount */
} risk_plan;

/* The whole entry rule.  capital is the current capital (USDT); the plan is
 * written to *out in every case (fields of a refused plan are those known
 * when the rule failed).  Returns out->refusal.  Checks, in order: inputs,
 * HOLD, breaker, open positions, confidence, regime, stop, take-profit,
 * sizing (risk budget, margin, max quantity), min quantity, min notional,
 * liquidation, profit, R:R; an accepted plan then passes risk_plan_check. */
risk_refusal risk_plan_entry(lb_dec capital, const lb_decision *d, const risk_market *m,
                             const lb_symbol_rules *rules, const lb_bracket_table *brackets,
                             const risk_params *p, risk_plan *out);

/* The invariants 1-10 above, on any plan (the engine runs it again before
 * sending an order, with the capital of that moment).  Returns RISK_OK or
 * the first invariant that fails, with its numbers in eb. */
risk_refusal risk_plan_check(const risk_plan *plan, lb_dec capital, const lb_decision *d,
                             const risk_market *m, const lb_symbol_rules *rules,
                             const lb_bracket_table *brackets, const risk_params *p,
                             lb_errbuf *eb);

/* The leverage ceiling of the regime x confidence table (before MAX_LEVERAGE
 * and brackets) for the more cautious of the two regimes (volatile > unknown
 * > ranging > trending).  0 means no trade. */
int risk_regime_ceiling(const risk_leverage_table *t, lb_regime decision_regime,
                        lb_regime market_regime, double confidence);

/* ==== Liquidation price ==== */

/* Isolated margin, one-way mode, USDT-M linear contract:
 *   long:  (Q*EP - WB - cum) / (Q*(1 - MMR))
 *   short: (Q*EP + WB + cum) / (Q*(1 + MMR))
 * Q = qty > 0, EP = entry > 0, WB = isolated margin (wallet) >= 0, MMR and
 * cum from the bracket of the notional.  Computed exactly (128-bit) and
 * rounded toward the entry.  A long whose margin covers a fall to zero gets
 * 0.  LB_EINVAL for bad arguments, LB_EOVERFLOW if out of range. */
lb_err risk_liquidation_price(lb_action side, lb_dec qty, lb_dec entry, lb_dec wallet, lb_dec mmr,
                              lb_dec cum, lb_dec *out);
/* The same with the bracket found for notional = qty x entry (rounded up);
 * *tier (may be NULL) receives the bracket used.  LB_EINVAL for an empty
 * table. */
lb_err risk_liquidation_price_for(lb_action side, lb_dec qty, lb_dec entry, lb_dec wallet,
                                  const lb_bracket_table *t, const lb_bracket **tier,
                                  lb_dec *out);

/* ==== Trailing stop ==== */

/* One open position's trailing stop.  Caller-owned; no resources.
 * Activation: once the price has moved trail_activation_r x the initial risk
 * (|entry - initial stop|) in favour.  Then the candidate stop is the best
 * price seen minus (long) / plus (short) the distance (trail_atr_multiple x
 * ATR, or trail_percent x best price), rounded to the tick away from the
 * price.  It is adopted only if it is strictly tighter than the current stop
 * and still on the protective side of the current price: the stop only ever
 * tightens. */
typedef struct {
  lb_action side;
  lb_dec entry, initial_stop;
  lb_dec stop;    /* the stop the engine has been told to hold */
  lb_dec best;    /* most favourable price seen since init */
  bool active;
} risk_trail;

typedef struct {
  lb_dec from, to;   /* move the exchange stop from -> to */
  lb_dec price;      /* the price that caused it */
  double r_multiple; /* best price's move from entry, in units of the initial risk */
} risk_stop_intent;

/* LB_EINVAL (eb names the values) unless side is LONG/SHORT, entry > 0 and
 * the stop is on the protective side of the entry (below for a long). */
lb_err risk_trail_init(risk_trail *t, lb_action side, lb_dec entry, lb_dec stop, lb_errbuf *eb);
/* Feeds one mark or close price (and the ATR, NAN if unknown).  Returns true
 * and fills *intent when the stop should move; t->stop is then intent->to.
 * Never moves the stop when p->trail_enabled is false. */
bool risk_trail_update(risk_trail *t, const risk_params *p, const lb_symbol_rules *rules,
                       lb_dec price, double atr, risk_stop_intent *intent);

/* ==== Circuit breakers ==== */

/* Each breaker kind is a two-state machine; new entries are blocked while
 * any kind is TRIPPED.  Breakers never close or reduce a position.
 *
 *              threshold reached (on_trade / on_equity / on_failure)
 *     ARMED  ---------------------------------------------------->  TRIPPED
 *       ^                                                              |
 *       |   resume rule reached (advance; every on_* call first)       |
 *       +--------------------- or explicit reset (reset) -------------+
 *
 * | from    | event                                             | to      | function               |
 * |---------|---------------------------------------------------|---------|------------------------|
 * | ARMED   | today's realized loss >= DAILY_LOSS_LIMIT_PERCENT  | TRIPPED | risk_breakers_on_trade |
 * |         |   x start-of-day equity          (daily_loss)     |         |                        |
 * | ARMED   | MAX_CONSECUTIVE_LOSSES-th losing trade in a row   | TRIPPED | risk_breakers_on_trade |
 * |         |                          (consecutive_losses)     |         |                        |
 * | ARMED   | peak equity - equity >= MAX_DRAWDOWN_PERCENT x    | TRIPPED | risk_breakers_on_equity|
 * |         |   peak                         (max_drawdown)     |         |                        |
 * | ARMED   | MAX_FAILURES failures of one source, first to     | TRIPPED | risk_breakers_on_failure|
 * |         |   last <= FAILURE_WINDOW  (exchange_/ai_failures) |         |                        |
 * | TRIPPED | now >= resume_at (resume_at != 0)                 | ARMED   | risk_breakers_advance  |
 * | TRIPPED | reset command                                     | ARMED   | risk_breakers_reset    |
 * | TRIPPED | a stored trip after a restart                     | TRIPPED | risk_breakers_restore  |
 *
 * Resume rules: daily_loss at the next 00:00 UTC; consecutive_losses and
 * the failure kinds after BREAKER_COOLDOWN_MINUTES; max_drawdown only by
 * command (resume_at = 0), since a 20 % fall from the peak means something
 * is wrong that a person must look at.
 *
 * Invariants (asserted in debug builds at every transition):
 *   B1. blocking(now) is true iff some kind is TRIPPED with resume_at == 0
 *       or now < resume_at.
 *   B2. a TRIPPED kind does not trip again (one event per trip) until it
 *       has resumed.
 *   B3. time never goes backwards: an event older than the last one seen is
 *       refused with LB_EINVAL and changes nothing.
 *   B4. start-of-day equity is the last equity known when the first event
 *       of a UTC day arrives; today's realized PnL counts trades closed
 *       since 00:00 UTC.
 *   B5. on a trip and again on its resume, that kind's counters restart (the
 *       consecutive-loss count, the failure window); resuming max_drawdown
 *       re-bases the peak on the last equity, so it does not trip again at
 *       once.
 * Equity comes only from on_equity (the engine marks equity after every
 * trade and periodically); trades feed the daily and consecutive counters.
 */
#define RISK_BREAKER_MAP(X)                                          \
  X(DAILY_LOSS, "daily_loss")                                        \
  X(CONSECUTIVE_LOSSES, "consecutive_losses")                        \
  X(MAX_DRAWDOWN, "max_drawdown")                                    \
  X(EXCHANGE_FAILURES, "exchange_failures")                          \
  X(AI_FAILURES, "ai_failures")

typedef enum {
#define RISK_BREAKER_ENUM_(id, name) RISK_BRK_##id,
  RISK_BREAKER_MAP(RISK_BREAKER_ENUM_)
#undef RISK_BREAKER_ENUM_
  RISK_BRK__COUNT
} risk_breaker_kind;

const char *risk_breaker_name(risk_breaker_kind k); /* "daily_loss", ...; "unknown" */
/* RISK_BRK__COUNT when unknown. */
risk_breaker_kind risk_breaker_from_name(const char *name);

typedef enum { RISK_FAIL_EXCHANGE = 0, RISK_FAIL_AI = 1 } risk_failure_source;

/* What the engine stores in circuit_breaker_events. */
typedef struct {
  risk_breaker_kind kind;
  bool trip;            /* true: a trip; false: a resume */
  lb_ms time;           /* when it happened */
  lb_ms resume_at;      /* trip: when entries resume by themselves (0 = by command only) */
  char detail[RISK_MSG_MAX]; /* the rule and its numbers, or how it resumed */
} risk_breaker_event;

#define RISK_BREAKER_EVENTS_MAX (2 * RISK_BRK__COUNT)
typedef struct {
  int n;
  risk_breaker_event ev[RISK_BREAKER_EVENTS_MAX];
} risk_breaker_events;

#define RISK_FAILURES_MAX 100 /* largest MAX_FAILURES */

typedef struct {
  bool tripped;
  lb_ms tripped_at, resume_at;
} risk_breaker_slot;

/* Caller-owned state; no resources (risk_breakers_init only). */
typedef struct {
  risk_breaker_slot slot[RISK_BRK__COUNT];
  lb_ms last_time;       /* latest event time seen (B3) */
  lb_ms day;             /* 00:00 UTC of the current day */
  lb_dec equity;         /* last equity mark */
  lb_dec peak;           /* peak equity (since init or the last drawdown reset) */
  lb_dec day_start_equity;
  lb_dec day_pnl;        /* realized PnL of trades closed today (fees included) */
  int consecutive_losses;
  lb_ms failures[2][RISK_FAILURES_MAX]; /* ring of failure times per source */
  int fail_n[2], fail_head[2];
} risk_breakers;

/* All kinds ARMED; equity, peak and start-of-day equity = equity at time t. */
void risk_breakers_init(risk_breakers *b, lb_dec equity, lb_ms t);

/* Each of these first performs the time-based resumes due at t (their
 * resume events come first in *out), then applies the event: a closed
 * trade's realized PnL (fees and funding included; < 0 is a loss), an
 * equity mark, or one failed exchange/AI call.  *out is
 * overwritten (out->n = 0 when nothing happened).  LB_EINVAL (B3, or bad
 * arguments) changes nothing. */
lb_err risk_breakers_on_trade(risk_breakers *b, const risk_params *p, lb_ms t, lb_dec pnl,
                              risk_breaker_events *out, lb_errbuf *eb);
lb_err risk_breakers_on_equity(risk_breakers *b, const risk_params *p, lb_ms t, lb_dec equity,
                               risk_breaker_events *out, lb_errbuf *eb);
lb_err risk_breakers_on_failure(risk_breakers *b, const risk_params *p, lb_ms t,
                                risk_failure_source src, risk_breaker_events *out,
                                lb_errbuf *eb);
/* Time passes: resumes whatever is due at t. */
lb_err risk_breakers_advance(risk_breakers *b, const risk_params *p, lb_ms t,
                             risk_breaker_events *out, lb_errbuf *eb);
/* The explicit command: resumes `kind`, or every kind with RISK_BRK__COUNT. */
lb_err risk_breakers_reset(risk_breakers *b, risk_breaker_kind kind, lb_ms t,
                           risk_breaker_events *out, lb_errbuf *eb);
/* Re-applies a trip read back from the store after a restart (no event). */
lb_err risk_breakers_restore(risk_breakers *b, const risk_breaker_event *trip, lb_errbuf *eb);

/* B1: true when new entries are blocked at `now` (pure; does not resume). */
bool risk_breakers_blocking(const risk_breakers *b, lb_ms now);
/* "consecutive_losses until 2024-03-01T16:00:00.000Z; max_drawdown until
 * reset" or "" when nothing blocks.  Returns the length. */
int risk_breakers_describe(const risk_breakers *b, lb_ms now, char *buf, size_t n);

#endif
