/* strategy.h -- red flags and the built-in technical analyst.
 *
 * Owns: the red-flag filter of DESIGN.md section 3 (conditions under which
 * no analyst is asked at all: it also saves LLM cost), and the built-in
 * technical analyst, a deterministic function from an indicator snapshot to
 * a decision in the very schema an LLM answers (lb_decision), wrapped as a
 * strategy_panel.  It is what trades when no LLM is configured, and what
 * backtests run.  The panel interface, the vote record and the consensus
 * rule are in strategy/analyst.h (consensus.c belongs to the AI issue).
 *
 * Must not: size positions, place stops on prices or orders (src/risk,
 * src/engine), read configuration or the clock, log.  Everything here is a
 * pure function of its arguments.
 *
 * Invariants: the red-flag filter and the technical analyst are pure (the
 * same snapshot and context always give the same flags and decision); a
 * vote of the technical panel passes lb_decision_check against the
 * context's limits (leverage <= max_leverage, stop inside [min_stop,
 * max_stop]) or is a HOLD that does not count (ok = false).
 *
 * Red flags (each names its numbers in the reason; the first one found is
 * `first`, every one found is in `mask`):
 *   warmup               the indicators of some timeframe are not ready yet
 *   rsi_overbought       RSI(14) > rsi_high (80) on the entry timeframe
 *   rsi_oversold         RSI(14) < rsi_low (20)
 *   low_volume           volume < min_volume_ratio (0.5) x its 20-bar average
 *   mid_range            price in the middle band between the nearest
 *                        support and resistance (ta_view.mid_range)
 *   macd_divergence      MACD divergence against the prevailing trend of
 *                        the entry timeframe (bearish in an up-trend,
 *                        bullish in a down-trend)
 *   volatile             the entry timeframe's regime is volatile
 *   timeframes_disagree  not every timeframe has the same trend direction
 *                        (ta_snapshot.confluence == 0)
 *
 * Technical analyst (strategy_technical_decide), in order:
 *   1. HOLD unless the entry timeframe is ready, every timeframe agrees on
 *      a direction (confluence) and the regime is trending or ranging.
 *   2. The direction is the confluence.  Seven confirmations are counted:
 *        trend strength  ADX(14) >= 25 on the highest timeframe with its
 *                        +DI/-DI on the trade's side
 *        volume          entry volume >= its 20-bar average
 *        momentum        MACD histogram on the trade's side and MACD on the
 *                        same side of its signal
 *        rsi zone        RSI(14) in 50..70 for a long, 30..50 for a short
 *        room            the next level against the trade (resistance for
 *                        a long) is at least 2 x the stop distance away, or
 *                        there is none (a breakout)
 *        divergence      a MACD or RSI divergence in the trade's favour
 *        long trend      close beyond the EMA(200) of the entry timeframe
 *                        (EMA(50) of the highest when EMA(200) is not ready)
 *      Regime-specific: in a ranging market "room" is required (trade from
 *      the edge of the range toward the other edge); in a trending market
 *      "momentum" is required (trade with the trend, not into a stall).
 *   3. confidence = base + step x confirmations (0.60 + 0.05 x n, at most
 *      0.95): 4 of 7 = 0.80 "strong", 6 of 7 = 0.90 "perfect".  Below 0.75
 *      the answer is HOLD, carrying that confidence and the reasons.
 *   4. leverage: 5 when trending with confidence >= 0.80, 3 when ranging,
 *      else 2; never above the context's max_leverage (risk caps again).
 *   5. stop_loss_percent: beyond the nearest swing low (long) / high
 *      (short) by swing_buffer, else atr_stop x ATR, clamped to the
 *      context's [min_stop, max_stop].  take_profit_percent: 2 x stop.
 *   6. market_regime: the entry timeframe's; reasoning lists the numbers.
 */
#ifndef LB_STRATEGY_STRATEGY_H
#define LB_STRATEGY_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>

#include "core/decision.h"
#include "core/err.h"
#include "strategy/analyst.h"
#include "ta/ta.h"

/* ==== Red flags ==== */

#define STRATEGY_RF_MAP(X)                 \
  X(WARMUP, "warmup")                      \
  X(RSI_HIGH, "rsi_overbought")            \
  X(RSI_LOW, "rsi_oversold")               \
  X(LOW_VOLUME, "low_volume")              \
  X(MID_RANGE, "mid_range")                \
  X(DIVERGENCE, "macd_divergence")         \
  X(VOLATILE, "volatile")                  \
  X(TF_DISAGREE, "timeframes_disagree")

typedef enum {
#define STRATEGY_RF_ENUM_(id, name) STRATEGY_RF_##id,
  STRATEGY_RF_MAP(STRATEGY_RF_ENUM_)
#undef STRATEGY_RF_ENUM_
  STRATEGY_RF__COUNT
} strategy_redflag;

const char *strategy_redflag_name(strategy_redflag f); /* "rsi_overbought"; "unknown" */

typedef struct {
  bool enabled;            /* false: never flags (scripted tests, research) */
  double rsi_high;         /* REDFLAG_RSI_HIGH, 80 */
  double rsi_low;          /* REDFLAG_RSI_LOW, 20 */
  double min_volume_ratio; /* REDFLAG_MIN_VOLUME_RATIO, 0.5 */
  bool quiet;              /* set mask and first only, no reason text (backtest speed) */
} strategy_redflag_params;

typedef struct {
  unsigned mask;           /* 1u << strategy_redflag, every flag raised */
  strategy_redflag first;  /* the first one (meaningful when mask != 0) */
  char reason[256];        /* "RSI(14) 83.1 > 80 on 15m; ..." */
} strategy_redflags;

void strategy_redflag_params_default(strategy_redflag_params *p);
/* eb names the field: rsi bounds in 50..100 / 0..50, ratio in 0..10. */
lb_err strategy_redflag_params_check(const strategy_redflag_params *p, lb_errbuf *eb);

/* The flags that need no market structure (RSI bounds, low volume), from
 * plain numbers: the engine's cheap first test before it builds a view.
 * NAN inputs raise nothing (warm-up is the view's to report).  The view and
 * snapshot checks below run the same test. */
bool strategy_redflags_quick(double rsi, double volume, double volume_sma, lb_ms tf,
                             const strategy_redflag_params *p, strategy_redflags *out);
/* Flags that need only the entry timeframe's view (all but
 * timeframes_disagree): the engine runs this first, before it copies the
 * other timeframes.  Returns true when any flag is raised. */
bool strategy_redflags_view(const ta_view *entry, const strategy_redflag_params *p,
                            strategy_redflags *out);
/* Every flag over a whole snapshot (tf[0] = entry timeframe). */
bool strategy_redflags_check(const ta_snapshot *s, const strategy_redflag_params *p,
                             strategy_redflags *out);
/* After the analysts: a divergence against the direction they chose (an
 * LLM may pick a side the trend filter did not).  true = flagged, why says
 * so. */
bool strategy_redflags_against(const ta_view *entry, lb_action side, char *why, size_t n);

/* ==== Technical analyst ==== */

typedef struct {
  double base_confidence; /* 0.60 */
  double step;            /* 0.05 per confirmation */
  double max_confidence;  /* 0.95 */
  double trend_adx;       /* 25 */
  double swing_buffer;    /* 0.003 beyond the swing, fraction of price */
  double atr_stop;        /* 2.0 x ATR when there is no swing */
  double reward_multiple; /* 2.0: take-profit = this x stop; "room" needs it */
} strategy_technical_params;

void strategy_technical_params_default(strategy_technical_params *p);

/* The analyst.  Always writes a decision that passes lb_decision_check
 * against the context's limits (a HOLD when there is no setup); its
 * reasoning names the rule and the numbers. */
void strategy_technical_decide(const ta_snapshot *s, const strategy_context *ctx,
                               const strategy_technical_params *p, lb_decision *out);

/* The analyst as a panel of one ("technical", weight 1).  p NULL =
 * defaults.  Freed with panel->destroy(panel). */
lb_err strategy_technical_panel_new(const strategy_technical_params *p, strategy_panel **out,
                                    lb_errbuf *eb);

#endif
