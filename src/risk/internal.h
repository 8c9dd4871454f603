/* internal.h -- helpers shared by the files of src/risk; not part of the contract.
 *
 * The planner (plan.c) and the checker (check.c) must compute every derived
 * number (fees, loss at stop, margin, ceilings) the same way, or the checker
 * would refuse the planner's plans; so those formulas live here, once.
 * Every money helper names its rounding: losses, fees and margins round up,
 * budgets and profits down.
 */
#ifndef LB_RISK_INTERNAL_H
#define LB_RISK_INTERNAL_H

#include "risk/risk.h"

/* A fraction as an exact 1e-8 rate (0.0005 -> 50000 units); LB_ERANGE for
 * NaN/inf, LB_EOVERFLOW if huge. */
lb_err risk_i_rate(double x, lb_dec *out);
/* a x b x c with one rounding (fees: qty x price x rate). */
lb_err risk_i_mul3(lb_dec a, lb_dec b, lb_dec c, lb_round mode, lb_dec *out);

/* The filters that apply to a market entry: MARKET_LOT_SIZE when present,
 * else LOT_SIZE (0 = no limit for the maximum). */
lb_dec risk_i_step(const lb_symbol_rules *r);
lb_dec risk_i_min_qty(const lb_symbol_rules *r);
lb_dec risk_i_max_qty(const lb_symbol_rules *r);

/* The expected fill of the exit market order a stop or take-profit
 * triggers: trigger x slip (rounded up) beyond the trigger, against the
 * position (lower for a long, higher for a short), then to the tick against
 * the trader; never below 0.  Loss and profit are counted at this price. */
lb_err risk_i_exit_fill(lb_action side, lb_dec trigger, lb_dec slip_rate, lb_dec tick,
                        lb_dec *out);

/* Numbers of a position (qty, entry, stop or take-profit fill, fee rate). */
lb_err risk_i_fee(lb_dec qty, lb_dec price, lb_dec fee_rate, lb_dec *out); /* rounded up */
/* qty x |entry - stop_fill| rounded up, plus the fee on both legs. */
lb_err risk_i_loss(lb_dec qty, lb_dec entry, lb_dec stop_fill, lb_dec fee_rate, lb_dec *out);
/* qty x (tp_fill - entry) for a long, (entry - tp_fill) for a short,
 * rounded down, minus the fee on both legs.  Signed: a take-profit close to
 * the entry can fill on the losing side of it once it slips. */
lb_err risk_i_profit(lb_action side, lb_dec qty, lb_dec entry, lb_dec tp_fill, lb_dec fee_rate,
                     lb_dec *out);
/* qty x entry / leverage, rounded up. */
lb_err risk_i_margin(lb_dec qty, lb_dec entry, int leverage, lb_dec *out);
/* capital x MAX_RISK_PER_TRADE, rounded down. */
lb_err risk_i_budget(lb_dec capital, double max_risk, lb_dec *out);
/* Allowed stop distance in price: [ceil(entry x min), floor(entry x max)]. */
lb_err risk_i_stop_band(lb_dec entry, double min_stop, double max_stop, lb_dec *dmin, lb_dec *dmax);

/* The ceilings: regime table, then MAX_LEVERAGE; the bracket's is separate
 * because it depends on the notional. */
int risk_i_table_ceiling(const risk_params *p, const lb_decision *d, const risk_market *m);

/* Shortest text of d in buf (LB_DEC_STRLEN bytes); returns buf. */
const char *risk_i_fmt(lb_dec d, char *buf);

#endif
