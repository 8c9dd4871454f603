/* check.c -- the invariant checker: proves a plan safe, or names what is wrong.
 *
 * It trusts only the plan's primary fields (side, entry, quantity, leverage,
 * stop, take-profit) and recomputes everything else (notional, bracket,
 * margin, liquidation price, loss, profit, budget) from them and from the
 * inputs, so a stale or tampered derived field cannot hide a violation: the
 * invariants are judged on the recomputed numbers, and only then are the
 * stored numbers compared with them (plan_inconsistent).  The engine calls
 * it again right before the entry order, with the capital, market state and
 * breaker state of that moment.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "risk/internal.h"

typedef struct {
  lb_dec fee_rate, notional, floor_notional, margin, entry_fee, liquidation, loss, profit,
      budget, gap, dmin, dmax;
  const lb_bracket *tier;
  int ceiling;
  double rr, stop_percent;
} truth;

static risk_refusal fail(lb_errbuf *eb, risk_refusal r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static risk_refusal fail(lb_errbuf *eb, risk_refusal r, const char *fmt, ...) {
  if (eb) {
    va_list ap;
    va_start(ap, fmt);
    int k = snprintf(eb->msg, sizeof eb->msg, "%s: ", risk_refusal_name(r));
    if (k > 0 && (size_t)k < sizeof eb->msg)
      vsnprintf(eb->msg + k, sizeof eb->msg - (size_t)k, fmt, ap);
    va_end(ap);
  }
  return r;
}

/* Recomputes the derived numbers from the primary fields. */
static lb_err recompute(const risk_plan *pl, lb_dec capital, const lb_decision *d,
                        const risk_market *m, const lb_symbol_rules *r,
                        const lb_bracket_table *t, const risk_params *p, truth *tr) {
  lb_dec rate, slip, stop_fill, tp_fill;
  lb_err rc = risk_i_rate(p->taker_fee, &tr->fee_rate);
  if (!rc) rc = risk_i_rate(p->slippage, &slip);
  if (!rc) rc = risk_i_exit_fill(pl->side, pl->stop, slip, r->tick_size, &stop_fill);
  if (!rc) rc = risk_i_exit_fill(pl->side, pl->take_profit, slip, r->tick_size, &tp_fill);
  if (!rc) rc = lb_dec_mul(pl->qty, pl->entry, LB_ROUND_CEIL, &tr->notional);
  if (!rc) rc = lb_dec_mul(pl->qty, pl->entry, LB_ROUND_FLOOR, &tr->floor_notional);
  if (!rc) rc = risk_i_margin(pl->qty, pl->entry, pl->leverage, &tr->margin);
  if (!rc) rc = risk_i_fee(pl->qty, pl->entry, tr->fee_rate, &tr->entry_fee);
  if (!rc) rc = risk_i_loss(pl->qty, pl->entry, stop_fill, tr->fee_rate, &tr->loss);
  if (!rc) rc = risk_i_profit(pl->side, pl->qty, pl->entry, tp_fill, tr->fee_rate, &tr->profit);
  if (!rc) rc = risk_i_budget(capital, p->max_risk_per_trade, &tr->budget);
  if (!rc) rc = risk_i_stop_band(pl->entry, p->min_stop, p->max_stop, &tr->dmin, &tr->dmax);
  if (!rc) rc = risk_i_rate(p->liquidation_buffer, &rate);
  if (!rc) rc = lb_dec_mul(pl->entry, rate, LB_ROUND_CEIL, &tr->gap);
  if (rc) return rc;
  tr->tier = lb_brackets_find(t, tr->notional);
  if (!tr->tier) return LB_EINVAL;
  rc = risk_liquidation_price(pl->side, pl->qty, pl->entry, tr->margin, tr->tier->mmr,
                              tr->tier->cum, &tr->liquidation);
  if (rc) return rc;
  int table = risk_i_table_ceiling(p, d, m);
  tr->ceiling = table < tr->tier->max_leverage ? table : tr->tier->max_leverage;
  tr->rr = tr->loss > 0 ? (double)tr->profit / (double)tr->loss : 0;
  tr->stop_percent = (double)lb_dec_abs(pl->entry - pl->stop) / (double)pl->entry;
  return LB_OK;
}

/* Invariants 4 and 5: the exchange's filters. */
static risk_refusal check_filters(const risk_plan *pl, const lb_symbol_rules *r, const truth *tr,
                                  lb_errbuf *eb) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN], c[LB_DEC_STRLEN];
  lb_dec step = risk_i_step(r), minq = risk_i_min_qty(r), maxq = risk_i_max_qty(r);
  if (!lb_dec_is_multiple(pl->qty, step))
    return fail(eb, RISK_QTY_OFF_STEP, "quantity %s is not a multiple of %s's step %s",
                risk_i_fmt(pl->qty, a), r->symbol, risk_i_fmt(step, b));
  if (pl->qty < minq)
    return fail(eb, RISK_BELOW_MIN_QTY, "quantity %s is below %s's minimum %s",
                risk_i_fmt(pl->qty, a), r->symbol, risk_i_fmt(minq, b));
  if (maxq > 0 && pl->qty > maxq)
    return fail(eb, RISK_ABOVE_MAX_QTY, "quantity %s is above %s's maximum %s",
                risk_i_fmt(pl->qty, a), r->symbol, risk_i_fmt(maxq, b));
  lb_dec px[2] = {pl->stop, pl->take_profit};
  const char *what[2] = {"stop", "take-profit"};
  for (int i = 0; i < 2; i++) {
    if (!lb_dec_is_multiple(px[i], r->tick_size))
      return fail(eb, RISK_PRICE_OFF_TICK, "%s %s is not a multiple of %s's tick %s", what[i],
                  risk_i_fmt(px[i], a), r->symbol, risk_i_fmt(r->tick_size, b));
    if (px[i] <= 0 || (r->min_price > 0 && px[i] < r->min_price) ||
        (r->max_price > 0 && px[i] > r->max_price))
      return fail(eb, RISK_PRICE_OUTSIDE_FILTER, "%s %s outside %s's price filter %s..%s",
                  what[i], risk_i_fmt(px[i], a), r->symbol, risk_i_fmt(r->min_price, b),
                  r->max_price > 0 ? risk_i_fmt(r->max_price, c) : "none");
  }
  if (tr->floor_notional < r->min_notional)
    return fail(eb, RISK_BELOW_MIN_NOTIONAL, "notional %s USDT is below %s's minimum %s USDT",
                risk_i_fmt(tr->floor_notional, a), r->symbol, risk_i_fmt(r->min_notional, b));
  return RISK_OK;
}

/* Invariant 7 and the take-profit's side. */
static risk_refusal check_prices(const risk_plan *pl, const risk_params *p, const truth *tr,
                                 lb_errbuf *eb) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN];
  bool is_long = pl->side == LB_ACTION_LONG;
  lb_dec dist = is_long ? pl->entry - pl->stop : pl->stop - pl->entry;
  if (dist < tr->dmin || dist > tr->dmax)
    return fail(eb, RISK_STOP_DISTANCE_OUT_OF_RANGE,
                "%s stop %s is %.4f%% from entry %s, outside %g..%g%%", lb_action_name(pl->side),
                risk_i_fmt(pl->stop, a), (double)dist / (double)pl->entry * 100,
                risk_i_fmt(pl->entry, b), p->min_stop * 100, p->max_stop * 100);
  if (is_long ? pl->take_profit <= pl->entry : pl->take_profit >= pl->entry)
    return fail(eb, RISK_TAKE_PROFIT_INVALID, "%s take-profit %s is not beyond entry %s",
                lb_action_name(pl->side), risk_i_fmt(pl->take_profit, a),
                risk_i_fmt(pl->entry, b));
  return RISK_OK;
}

/* Invariants 3, 1, 9, 2, 8 on the recomputed numbers. */
static risk_refusal check_money(const risk_plan *pl, lb_dec capital, const lb_decision *d,
                                const risk_params *p, const truth *tr, lb_errbuf *eb) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN], c[LB_DEC_STRLEN], e[LB_DEC_STRLEN];
  if (pl->leverage > tr->ceiling || pl->leverage > d->leverage)
    return fail(eb, RISK_LEVERAGE_ABOVE_CEILING,
                "leverage %dx is above the ceiling %dx (regime table and MAX_LEVERAGE %d, "
                "bracket %d allows %dx, asked %dx)",
                pl->leverage, tr->ceiling, p->max_leverage, tr->tier->bracket,
                tr->tier->max_leverage, d->leverage);
  if (tr->loss > tr->budget)
    return fail(eb, RISK_LOSS_ABOVE_MAX_RISK,
                "loss at stop %s USDT (fees and %g bps slippage included) exceeds "
                "MAX_RISK_PER_TRADE %g x capital %s = %s USDT",
                risk_i_fmt(tr->loss, a), p->slippage * 10000, p->max_risk_per_trade,
                risk_i_fmt(capital, b), risk_i_fmt(tr->budget, c));
  if (tr->margin > capital - tr->entry_fee)
    return fail(eb, RISK_MARGIN_ABOVE_CAPITAL,
                "margin %s + entry fee %s USDT exceed capital %s USDT", risk_i_fmt(tr->margin, a),
                risk_i_fmt(tr->entry_fee, b), risk_i_fmt(capital, c));
  bool is_long = pl->side == LB_ACTION_LONG;
  lb_dec room = is_long ? pl->stop - tr->liquidation : tr->liquidation - pl->stop;
  if (!(room > 0 && room >= tr->gap))
    return fail(eb, RISK_STOP_BEYOND_LIQUIDATION,
                "%s %dx: stop %s is not at least %s before the liquidation price %s (entry %s)",
                lb_action_name(pl->side), pl->leverage, risk_i_fmt(pl->stop, a),
                risk_i_fmt(tr->gap, b), risk_i_fmt(tr->liquidation, c),
                risk_i_fmt(pl->entry, e));
  if (tr->profit < p->min_profit_usd)
    return fail(eb, RISK_PROFIT_BELOW_MIN_PROFIT_USD,
                "profit at take-profit after fees and slippage %s USDT is below MIN_PROFIT_USD %s",
                risk_i_fmt(tr->profit, a), risk_i_fmt(p->min_profit_usd, b));
  if (!(tr->rr >= p->min_rr))
    return fail(eb, RISK_RISK_REWARD_BELOW_MIN,
                "R:R after fees and slippage %.3f is below MIN_RISK_REWARD %g",
                tr->rr, p->min_rr);
  return RISK_OK;
}

#define SAME_DEC(field, value)                                                              \
  do {                                                                                      \
    if (pl->field != (value))                                                               \
      return fail(eb, RISK_PLAN_INCONSISTENT, #field " is %s, recomputed %s",              \
                  risk_i_fmt(pl->field, a), risk_i_fmt((value), b));                        \
  } while (0)

/* Invariant 10: the stored numbers are the recomputed ones. */
static risk_refusal check_consistent(const risk_plan *pl, const truth *tr, lb_errbuf *eb) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN];
  SAME_DEC(notional, tr->notional);
  SAME_DEC(margin, tr->margin);
  SAME_DEC(liquidation, tr->liquidation);
  SAME_DEC(loss_at_stop, tr->loss);
  SAME_DEC(profit_at_tp, tr->profit);
  SAME_DEC(risk_budget, tr->budget);
  SAME_DEC(mmr, tr->tier->mmr);
  SAME_DEC(cum, tr->tier->cum);
  if (pl->bracket != tr->tier->bracket || pl->leverage_ceiling != tr->ceiling)
    return fail(eb, RISK_PLAN_INCONSISTENT, "bracket %d / ceiling %dx, recomputed %d / %dx",
                pl->bracket, pl->leverage_ceiling, tr->tier->bracket, tr->ceiling);
  if (pl->rr != tr->rr || pl->stop_percent != tr->stop_percent)
    return fail(eb, RISK_PLAN_INCONSISTENT, "R:R %.6f / stop %.6f, recomputed %.6f / %.6f",
                pl->rr, pl->stop_percent, tr->rr, tr->stop_percent);
  return RISK_OK;
}

risk_refusal risk_plan_check(const risk_plan *pl, lb_dec capital, const lb_decision *d,
                             const risk_market *m, const lb_symbol_rules *r,
                             const lb_bracket_table *t, const risk_params *p, lb_errbuf *eb) {
  lb_errbuf tmp;
  if (!eb) eb = &tmp;
  if (!pl || !d || !m || !r || !t || !p)
    return fail(eb, RISK_INVALID_INPUT, "missing argument");
  if (pl->refusal != RISK_OK)
    return fail(eb, pl->refusal, "the plan was refused: %s", pl->message);
  if (risk_params_check(p, eb)) return RISK_INVALID_INPUT;
  if (capital <= 0 || pl->entry <= 0 || pl->qty <= 0 || pl->leverage < 1 ||
      r->tick_size <= 0 || risk_i_step(r) <= 0 || t->n <= 0)
    return fail(eb, RISK_INVALID_INPUT,
                "capital, entry, quantity, leverage, tick, step and brackets must be positive");
  if ((pl->side != LB_ACTION_LONG && pl->side != LB_ACTION_SHORT) || pl->side != d->action)
    return fail(eb, RISK_PLAN_INCONSISTENT, "plan side %s does not match the decision %s",
                lb_action_name(pl->side), lb_action_name(d->action));
  if (m->breaker_active)
    return fail(eb, RISK_BREAKER_ACTIVE, "a circuit breaker blocks new entries");
  if (m->open_positions >= p->max_open_positions)
    return fail(eb, RISK_MAX_POSITIONS, "%d position(s) open, MAX_OPEN_POSITIONS is %d",
                m->open_positions, p->max_open_positions);
  if (!(d->confidence >= p->min_confidence))
    return fail(eb, RISK_CONFIDENCE_BELOW_MIN, "confidence %.2f is below %.2f", d->confidence,
                p->min_confidence);
  truth tr;
  if (recompute(pl, capital, d, m, r, t, p, &tr))
    return fail(eb, RISK_INVALID_INPUT, "numbers too large to check");
  risk_refusal rf;
  if ((rf = check_filters(pl, r, &tr, eb)) != RISK_OK) return rf;
  if ((rf = check_prices(pl, p, &tr, eb)) != RISK_OK) return rf;
  if ((rf = check_money(pl, capital, d, p, &tr, eb)) != RISK_OK) return rf;
  return check_consistent(pl, &tr, eb);
}
