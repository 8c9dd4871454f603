/* harness.h -- a sim exchange, an engine and a scripted analyst for scenario tests.
 *
 * The scripted panel answers LONG or SHORT at the scan times it is given
 * (HOLD otherwise) with fixed stop and take-profit percentages, so a test
 * controls exactly when and how a trade opens; red flags are off and risk
 * uses the analyst's stop and take-profit ("fixed" / "analyst" modes), so
 * every price in a scenario can be worked out by hand.
 */
#ifndef LB_TESTS_ENGINE_HARNESS_H
#define LB_TESTS_ENGINE_HARNESS_H

#include "engine/engine.h"
#include "exchange/sim.h"

#define H_MAX_SIGNALS 32
#define H_MAX_TRADES 64
#define H_MAX_ALERTS 32

typedef struct {
  lb_ms at[H_MAX_SIGNALS]; /* scan (close) times */
  lb_action act[H_MAX_SIGNALS];
  int n;
  double stop, tp, confidence;
  int leverage;
  int asked;
} h_script;

typedef struct {
  engine_trade closed[H_MAX_TRADES];
  int n_closed, n_opened;
  engine_alert alerts[H_MAX_ALERTS];
  char alert_msg[H_MAX_ALERTS][160];
  int n_alerts;
  lb_dec stop_from[H_MAX_TRADES], stop_to[H_MAX_TRADES];
  int n_moves;
  int trips, resumes;
  int outcomes[ENGINE_SCAN_ENTERED + 1];
  lb_dec funding_sum;
  long equity_marks;
} h_record;

typedef struct {
  xchg *x;
  engine *e;
  strategy_panel panel;
  h_script script;
  h_record rec;
  engine_params p;
  lb_ms tf;
} harness;

/* Defaults: BTCUSDT, one 1h timeframe, capital 1000, no slippage, no
 * funding, max risk 10 %, stop 5 % / take-profit 10 %, leverage 3,
 * trailing off, breakers at their configuration defaults. */
void h_params(engine_params *p);
/* Builds sim + engine; sim params: slippage and funding from strings. */
void h_start(harness *h, const engine_params *p, const char *slippage, const char *funding);
void h_stop(harness *h);
void h_signal(harness *h, lb_ms at, lb_action a);
/* Feeds one candle of the symbol (index) to the sim then the engine, and
 * scans when due. */
void h_candle(harness *h, int sym, lb_ms ts, double o, double hi, double lo, double c);
/* n flat candles at price px from ts (step h->tf); returns the next ts. */
lb_ms h_flat(harness *h, int sym, lb_ms ts, int n, double px);
/* P6 and the sim's wallet: capital - initial == sum of net over closed
 * trades plus the open one, and == the sim's wallet - its initial balance. */
void h_check_ledger(harness *h);
int h_alerts(const harness *h, engine_alert kind);

#endif
