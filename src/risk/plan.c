/* plan.c -- the entry rule: a decision becomes an order plan or a refusal.
 *
 * The steps run in the order of risk.h (inputs, HOLD, breaker, positions,
 * confidence, regime, stop, take-profit, sizing, filters, liquidation,
 * profit, R:R) and the first rule that fails is the refusal, with the
 * numbers that made it fail.  Sizing works backwards from the loss the
 * trader accepts: quantity = risk budget / loss per unit at the stop's
 * expected fill (SLIPPAGE_BPS beyond the stop, fees on both legs included),
 * then limited by the capital the isolated margin may take and by the
 * symbol's maximum, rounded down to the step, and stepped down while a
 * rounding still pushes the exact loss or margin over.  Leverage only sets
 * the margin (and so the liquidation price), never the size: a higher
 * leverage cannot make a loss bigger.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "risk/internal.h"

/* ==== Helpers ==== */

static risk_refusal refuse(risk_plan *out, risk_refusal r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static risk_refusal refuse(risk_plan *out, risk_refusal r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = snprintf(out->message, sizeof out->message, "%s: ", risk_refusal_name(r));
  if (k > 0 && (size_t)k < sizeof out->message)
    vsnprintf(out->message + k, sizeof out->message - (size_t)k, fmt, ap);
  va_end(ap);
  out->refusal = r;
  return r;
}

static risk_refusal overflow(risk_plan *out, const char *what) {
  return refuse(out, RISK_INVALID_INPUT, "numbers too large computing the %s", what);
}

static bool valid_regime(lb_regime r) { return (unsigned)r <= LB_REGIME_VOLATILE; }

static bool finite_or_nan(double x) { return isnan(x) || isfinite(x); }

/* Everything the rules assume about their inputs; eb names the field and
 * its value. */
static lb_err check_inputs(lb_dec capital, const lb_decision *d, const risk_market *m,
                           const lb_symbol_rules *r, const lb_bracket_table *t,
                           const risk_params *p, lb_errbuf *eb) {
  char a[LB_DEC_STRLEN];
  if (risk_params_check(p, eb)) return LB_EINVAL;
  if (capital <= 0) return lb_fail(eb, LB_EINVAL, "capital %s must be > 0", risk_i_fmt(capital, a));
  if (m->entry_price <= 0)
    return lb_fail(eb, LB_EINVAL, "entry price %s must be > 0", risk_i_fmt(m->entry_price, a));
  if ((unsigned)d->action > LB_ACTION_SHORT)
    return lb_fail(eb, LB_EINVAL, "decision action %d is not LONG, SHORT or HOLD", (int)d->action);
  if (!(d->confidence >= 0 && d->confidence <= 1))
    return lb_fail(eb, LB_EINVAL, "decision confidence %g outside 0..1", d->confidence);
  if (d->action != LB_ACTION_HOLD && d->leverage < 1)
    return lb_fail(eb, LB_EINVAL, "decision leverage %d must be >= 1", d->leverage);
  if (d->action != LB_ACTION_HOLD && !(d->stop_loss_percent > 0 && d->stop_loss_percent < 1))
    return lb_fail(eb, LB_EINVAL, "decision stop_loss_percent %g outside (0, 1)",
                   d->stop_loss_percent);
  if (!(isfinite(d->take_profit_percent) && d->take_profit_percent >= 0))
    return lb_fail(eb, LB_EINVAL, "decision take_profit_percent %g must be >= 0",
                   d->take_profit_percent);
  if (!valid_regime(d->regime) || !valid_regime(m->regime))
    return lb_fail(eb, LB_EINVAL, "regime %d/%d is not a known value", (int)d->regime,
                   (int)m->regime);
  if (!finite_or_nan(m->atr) || !finite_or_nan(m->swing_low) || !finite_or_nan(m->swing_high))
    return lb_fail(eb, LB_EINVAL, "market atr %g, swing low %g, swing high %g: each must be "
                   "finite or NAN", m->atr, m->swing_low, m->swing_high);
  if (m->open_positions < 0)
    return lb_fail(eb, LB_EINVAL, "open positions %d must be >= 0", m->open_positions);
  if (r->tick_size <= 0 || risk_i_step(r) <= 0)
    return lb_fail(eb, LB_EINVAL, "%s: tick size and step size must be > 0", r->symbol);
  return lb_brackets_validate(t, eb);
}

/* ==== Stop ==== */

/* The wanted stop distance in price, before clamping; the basis says which
 * rule produced it (swing and ATR fall back to the analyst's percent when
 * their data is missing or on the wrong side of the entry). */
static lb_err wanted_stop_distance(const lb_decision *d, const risk_market *m,
                                   const risk_params *p, lb_dec E, risk_stop_mode *basis,
                                   lb_dec *want) {
  bool is_long = d->action == LB_ACTION_LONG;
  double e = lb_dec_to_double(E);
  if (p->stop_mode == RISK_STOP_SWING) {
    double lvl = is_long ? m->swing_low : m->swing_high;
    if (isfinite(lvl) && lvl > 0 && (is_long ? lvl < e : lvl > e)) {
      lb_dec beyond;
      lb_err rc = lb_dec_from_double(lvl * (is_long ? 1.0 - p->swing_buffer : 1.0 + p->swing_buffer),
                                     &beyond);
      *basis = RISK_STOP_SWING;
      *want = lb_dec_abs(E - beyond);
      return rc;
    }
  } else if (p->stop_mode == RISK_STOP_ATR && isfinite(m->atr) && m->atr > 0) {
    *basis = RISK_STOP_ATR;
    return lb_dec_from_double(p->atr_stop_multiple * m->atr, want);
  }
  lb_dec rate;
  *basis = RISK_STOP_FIXED;
  lb_err rc = risk_i_rate(d->stop_loss_percent, &rate);
  return rc ? rc : lb_dec_mul(E, rate, LB_ROUND_HALF_EVEN, want);
}

/* Places the stop on the tick inside [dmin, dmax] of the entry, as close to
 * the wanted distance as the tick allows and rounded toward the entry
 * unless that would fall short of the minimum distance. */
static risk_refusal place_stop(const lb_decision *d, const risk_market *m,
                               const lb_symbol_rules *r, const risk_params *p, risk_plan *out) {
  lb_dec E = out->entry, dmin, dmax, want;
  if (risk_i_stop_band(E, p->min_stop, p->max_stop, &dmin, &dmax) ||
      wanted_stop_distance(d, m, p, E, &out->stop_basis, &want))
    return overflow(out, "stop distance");
  out->stop_clamped = want < dmin || want > dmax;
  want = lb_dec_max(dmin, lb_dec_min(want, dmax));
  bool is_long = d->action == LB_ACTION_LONG;
  lb_dec tick = r->tick_size, S, dist;
  if (is_long) {
    S = lb_dec_round_to(E - want, tick, LB_ROUND_CEIL);
    if (E - S < dmin) S = lb_dec_round_to(E - dmin, tick, LB_ROUND_FLOOR);
    dist = E - S;
  } else {
    S = lb_dec_round_to(E + want, tick, LB_ROUND_FLOOR);
    if (S - E < dmin) S = lb_dec_round_to(E + dmin, tick, LB_ROUND_CEIL);
    dist = S - E;
  }
  out->stop = S;
  out->stop_percent = (double)dist / (double)E;
  if (dist < dmin || dist > dmax || S <= 0) {
    char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN];
    return refuse(out, RISK_STOP_NOT_REPRESENTABLE,
                  "no price on tick %s lies %g..%g%% from entry %s", risk_i_fmt(tick, a),
                  p->min_stop * 100, p->max_stop * 100, risk_i_fmt(E, b));
  }
  return RISK_OK;
}

/* ==== Take-profit ==== */

static risk_refusal place_take_profit(const lb_decision *d, const lb_symbol_rules *r,
                                      const risk_params *p, risk_plan *out) {
  lb_dec E = out->entry, dist = lb_dec_abs(E - out->stop), rate, tpd;
  lb_err rc = p->tp_mode == RISK_TP_RR ? risk_i_rate(p->target_rr, &rate)
                                       : risk_i_rate(d->take_profit_percent, &rate);
  if (!rc) rc = p->tp_mode == RISK_TP_RR ? lb_dec_mul(dist, rate, LB_ROUND_FLOOR, &tpd)
                                         : lb_dec_mul(E, rate, LB_ROUND_FLOOR, &tpd);
  if (rc) return overflow(out, "take-profit");
  bool is_long = d->action == LB_ACTION_LONG;
  /* toward the entry: the profit is never overstated */
  lb_dec T = is_long ? lb_dec_round_to(E + tpd, r->tick_size, LB_ROUND_FLOOR)
                     : lb_dec_round_to(E - tpd, r->tick_size, LB_ROUND_CEIL);
  out->take_profit = T;
  if (is_long ? T <= E : (T >= E || T <= 0)) {
    char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN];
    return refuse(out, RISK_TAKE_PROFIT_INVALID,
                  "take-profit %s is not on the profit side of entry %s (%s %g)",
                  risk_i_fmt(T, a), risk_i_fmt(E, b),
                  p->tp_mode == RISK_TP_RR ? "risk:reward" : "take_profit_percent",
                  p->tp_mode == RISK_TP_RR ? p->target_rr : d->take_profit_percent);
  }
  return RISK_OK;
}

static risk_refusal check_price_filter(const lb_symbol_rules *r, risk_plan *out) {
  lb_dec px[2] = {out->stop, out->take_profit};
  const char *what[2] = {"stop", "take-profit"};
  for (int i = 0; i < 2; i++)
    if ((r->min_price > 0 && px[i] < r->min_price) || (r->max_price > 0 && px[i] > r->max_price)) {
      char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN], c[LB_DEC_STRLEN];
      return refuse(out, RISK_PRICE_OUTSIDE_FILTER, "%s %s outside %s's price filter %s..%s",
                    what[i], risk_i_fmt(px[i], a), r->symbol, risk_i_fmt(r->min_price, b),
                    r->max_price > 0 ? risk_i_fmt(r->max_price, c) : "none");
    }
  return RISK_OK;
}

/* ==== Sizing ==== */

typedef struct {
  lb_dec fee_rate, slip_rate, budget;
  lb_dec qty_risk, qty_margin, qty_max; /* the three limits, on the step */
} sizing;

/* The largest quantity on the step whose loss at the stop's expected fill
 * stays within the budget and whose margin plus entry fee fits in the
 * capital. */
static lb_err size_position(lb_dec capital, int lev, const lb_symbol_rules *r, risk_plan *out,
                            sizing *sz) {
  lb_dec E = out->entry, step = risk_i_step(r), f = sz->fee_rate;
  lb_dec SF, fe, fs, per_unit, one_plus, den;
  lb_err rc = risk_i_exit_fill(out->side, out->stop, sz->slip_rate, r->tick_size, &SF);
  if (!rc) rc = risk_i_fee(LB_DEC_SCALE, E, f, &fe);
  if (!rc) rc = risk_i_fee(LB_DEC_SCALE, SF, f, &fs);
  if (!rc) rc = lb_dec_add(lb_dec_abs(E - SF), fe, &per_unit);
  if (!rc) rc = lb_dec_add(per_unit, fs, &per_unit);
  if (!rc) rc = lb_dec_div(sz->budget, per_unit, LB_ROUND_FLOOR, &sz->qty_risk);
  /* margin + entry fee <= capital:  qty <= capital x L / (E x (1 + L x f)) */
  if (!rc) rc = lb_dec_add(LB_DEC_SCALE, (lb_dec)lev * f, &one_plus);
  if (!rc) rc = lb_dec_mul(E, one_plus, LB_ROUND_CEIL, &den);
  if (!rc) rc = lb_dec_muldiv(capital, LB_DEC_INT(lev), den, LB_ROUND_FLOOR, &sz->qty_margin);
  if (rc) return rc;
  sz->qty_risk = lb_dec_round_to(sz->qty_risk, step, LB_ROUND_FLOOR);
  sz->qty_margin = lb_dec_round_to(sz->qty_margin, step, LB_ROUND_FLOOR);
  sz->qty_max = lb_dec_round_to(risk_i_max_qty(r), step, LB_ROUND_FLOOR);
  lb_dec q = lb_dec_min(sz->qty_risk, sz->qty_margin);
  if (sz->qty_max > 0) q = lb_dec_min(q, sz->qty_max);
  /* The per-unit figures round each fee once per unit; the exact totals
   * may still exceed by a few 1e-8: step down until they do not. */
  for (int guard = 0; q > 0 && guard < 64; guard++) {
    lb_dec loss, margin, fee;
    rc = risk_i_loss(q, E, SF, f, &loss);
    if (!rc) rc = risk_i_margin(q, E, lev, &margin);
    if (!rc) rc = risk_i_fee(q, E, f, &fee);
    if (rc) return rc;
    if (loss <= sz->budget && margin <= capital - fee) break;
    q -= step;
  }
  out->qty = q > 0 ? q : 0;
  return LB_OK;
}

/* Sizes at the lowest of the leverage ceilings; if the notional lands in a
 * bracket whose maximum leverage is lower, sizes again at that leverage. */
static risk_refusal size_and_lever(lb_dec capital, const lb_decision *d, const risk_market *m,
                                   const lb_symbol_rules *r, const lb_bracket_table *t,
                                   const risk_params *p, risk_plan *out, sizing *sz) {
  int table = risk_i_table_ceiling(p, d, m);
  int lev = d->leverage < table ? d->leverage : table;
  const lb_bracket *b = NULL;
  for (int round = 0; round <= LB_BRACKETS_MAX; round++) {
    if (size_position(capital, lev, r, out, sz) ||
        lb_dec_mul(out->qty, out->entry, LB_ROUND_CEIL, &out->notional))
      return overflow(out, "position size");
    b = lb_brackets_find(t, out->notional);
    if (b->max_leverage >= lev) break;
    lev = b->max_leverage;
  }
  out->leverage = lev;
  out->leverage_ceiling = table < b->max_leverage ? table : b->max_leverage;
  out->bracket = b->bracket;
  out->mmr = b->mmr;
  out->cum = b->cum;
  if (risk_i_margin(out->qty, out->entry, lev, &out->margin)) return overflow(out, "margin");
  return RISK_OK;
}

static risk_refusal check_filters(const lb_symbol_rules *r, risk_plan *out, const sizing *sz) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN], c[LB_DEC_STRLEN], e[LB_DEC_STRLEN], g[LB_DEC_STRLEN];
  lb_dec minq = risk_i_min_qty(r), floor_notional;
  if (out->qty <= 0 || out->qty < minq)
    return refuse(out, RISK_BELOW_MIN_QTY,
                  "quantity %s is below %s's minimum %s (risk budget %s USDT allows %s, margin "
                  "at %dx allows %s)",
                  risk_i_fmt(out->qty, a), r->symbol, risk_i_fmt(minq, b),
                  risk_i_fmt(sz->budget, c), risk_i_fmt(sz->qty_risk, e), out->leverage,
                  risk_i_fmt(sz->qty_margin, g));
  if (lb_dec_mul(out->qty, out->entry, LB_ROUND_FLOOR, &floor_notional))
    return overflow(out, "notional");
  if (floor_notional < r->min_notional)
    return refuse(out, RISK_BELOW_MIN_NOTIONAL,
                  "notional %s USDT (%s x %s) is below %s's minimum notional %s USDT",
                  risk_i_fmt(floor_notional, a), risk_i_fmt(out->qty, b),
                  risk_i_fmt(out->entry, c), r->symbol, risk_i_fmt(r->min_notional, e));
  return RISK_OK;
}

/* ==== Liquidation, profit, R:R ==== */

static risk_refusal check_liquidation(const risk_params *p, risk_plan *out) {
  lb_dec gap, rate, lp;
  if (risk_liquidation_price(out->side, out->qty, out->entry, out->margin, out->mmr, out->cum,
                             &lp) ||
      risk_i_rate(p->liquidation_buffer, &rate) ||
      lb_dec_mul(out->entry, rate, LB_ROUND_CEIL, &gap))
    return overflow(out, "liquidation price");
  out->liquidation = lp;
  bool is_long = out->side == LB_ACTION_LONG;
  lb_dec room = is_long ? out->stop - lp : lp - out->stop;
  if (room > 0 && room >= gap) return RISK_OK;
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN], c[LB_DEC_STRLEN], e[LB_DEC_STRLEN];
  return refuse(out, RISK_STOP_BEYOND_LIQUIDATION,
                "%s %dx: stop %s (%.2f%% from entry %s) is not at least %s (%.2f%% of entry) "
                "before the liquidation price %s",
                lb_action_name(out->side), out->leverage, risk_i_fmt(out->stop, a),
                out->stop_percent * 100, risk_i_fmt(out->entry, b), risk_i_fmt(gap, c),
                p->liquidation_buffer * 100, risk_i_fmt(lp, e));
}

static risk_refusal check_profit(const risk_params *p, const lb_symbol_rules *r,
                                 const sizing *sz, risk_plan *out) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN], c[LB_DEC_STRLEN];
  lb_dec sf, tf;
  if (risk_i_exit_fill(out->side, out->stop, sz->slip_rate, r->tick_size, &sf) ||
      risk_i_exit_fill(out->side, out->take_profit, sz->slip_rate, r->tick_size, &tf) ||
      risk_i_loss(out->qty, out->entry, sf, sz->fee_rate, &out->loss_at_stop) ||
      risk_i_profit(out->side, out->qty, out->entry, tf, sz->fee_rate, &out->profit_at_tp))
    return overflow(out, "profit and loss");
  out->rr = out->loss_at_stop > 0 ? (double)out->profit_at_tp / (double)out->loss_at_stop : 0;
  if (out->profit_at_tp < p->min_profit_usd)
    return refuse(out, RISK_PROFIT_BELOW_MIN_PROFIT_USD,
                  "profit at take-profit %s after fees and slippage is %s USDT, below "
                  "MIN_PROFIT_USD %s",
                  risk_i_fmt(out->take_profit, a), risk_i_fmt(out->profit_at_tp, b),
                  risk_i_fmt(p->min_profit_usd, c));
  if (!(out->rr >= p->min_rr))
    return refuse(out, RISK_RISK_REWARD_BELOW_MIN,
                  "R:R after fees and slippage %.3f (profit %s / loss %s USDT) is below "
                  "MIN_RISK_REWARD %g",
                  out->rr, risk_i_fmt(out->profit_at_tp, a), risk_i_fmt(out->loss_at_stop, b),
                  p->min_rr);
  return RISK_OK;
}

static void summarize(risk_plan *out) {
  char q[LB_DEC_STRLEN], e[LB_DEC_STRLEN], s[LB_DEC_STRLEN], t[LB_DEC_STRLEN],
      l[LB_DEC_STRLEN], ls[LB_DEC_STRLEN], pr[LB_DEC_STRLEN];
  snprintf(out->message, sizeof out->message,
           "%s %s @ %s %dx: stop %s (%.2f%%, %s), take-profit %s, liquidation %s, loss at stop "
           "%s, profit at take-profit %s, R:R %.2f",
           lb_action_name(out->side), risk_i_fmt(out->qty, q), risk_i_fmt(out->entry, e),
           out->leverage, risk_i_fmt(out->stop, s), out->stop_percent * 100,
           risk_stop_mode_name(out->stop_basis), risk_i_fmt(out->take_profit, t),
           risk_i_fmt(out->liquidation, l), risk_i_fmt(out->loss_at_stop, ls),
           risk_i_fmt(out->profit_at_tp, pr), out->rr);
}

/* ==== The rule ==== */

risk_refusal risk_plan_entry(lb_dec capital, const lb_decision *d, const risk_market *m,
                             const lb_symbol_rules *rules, const lb_bracket_table *brackets,
                             const risk_params *p, risk_plan *out) {
  memset(out, 0, sizeof *out);
  if (!d || !m || !rules || !brackets || !p)
    return refuse(out, RISK_INVALID_INPUT, "missing argument");
  lb_errbuf eb;
  if (check_inputs(capital, d, m, rules, brackets, p, &eb))
    return refuse(out, RISK_INVALID_INPUT, "%s", eb.msg);
  out->side = d->action;
  out->entry = m->entry_price;
  if (d->action == LB_ACTION_HOLD)
    return refuse(out, RISK_DECISION_HOLD, "the decision is HOLD (%.120s)", d->reasoning);
  if (m->breaker_active)
    return refuse(out, RISK_BREAKER_ACTIVE, "a circuit breaker blocks new entries");
  if (m->open_positions >= p->max_open_positions)
    return refuse(out, RISK_MAX_POSITIONS, "%d position(s) open, MAX_OPEN_POSITIONS is %d",
                  m->open_positions, p->max_open_positions);
  if (d->confidence < p->min_confidence)
    return refuse(out, RISK_CONFIDENCE_BELOW_MIN, "confidence %.2f is below MIN_AI_CONFIDENCE %.2f",
                  d->confidence, p->min_confidence);
  if (risk_i_table_ceiling(p, d, m) < 1)
    return refuse(out, RISK_REGIME_VOLATILE,
                  "regime is volatile (decision: %s, indicators: %s) and VOLATILE_MAX_LEVERAGE "
                  "is 0",
                  lb_regime_name(d->regime), lb_regime_name(m->regime));

  risk_refusal rf;
  sizing sz = {0};
  if ((rf = place_stop(d, m, rules, p, out)) != RISK_OK) return rf;
  if ((rf = place_take_profit(d, rules, p, out)) != RISK_OK) return rf;
  if ((rf = check_price_filter(rules, out)) != RISK_OK) return rf;
  if (risk_i_rate(p->taker_fee, &sz.fee_rate) || risk_i_rate(p->slippage, &sz.slip_rate) ||
      risk_i_budget(capital, p->max_risk_per_trade, &sz.budget))
    return overflow(out, "risk budget");
  out->risk_budget = sz.budget;
  if ((rf = size_and_lever(capital, d, m, rules, brackets, p, out, &sz)) != RISK_OK) return rf;
  if ((rf = check_filters(rules, out, &sz)) != RISK_OK) return rf;
  if ((rf = check_liquidation(p, out)) != RISK_OK) return rf;
  if ((rf = check_profit(p, rules, &sz, out)) != RISK_OK) return rf;

  /* The checker proves the invariants on what was built (it never fails
   * unless the planner has a bug; the property tests hold it to that). */
  rf = risk_plan_check(out, capital, d, m, rules, brackets, p, &eb);
  if (rf != RISK_OK) return refuse(out, rf, "invariant failed on the built plan: %s", eb.msg);
  summarize(out);
  return RISK_OK;
}
