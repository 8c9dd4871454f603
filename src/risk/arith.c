/* arith.c -- the money formulas the planner and the checker share (internal.h).
 *
 * Kept in one place so a plan and its check can never disagree on how a fee
 * or a margin is rounded.  Products of three decimals go through one 128-bit
 * intermediate and one rounding, like lb_dec_muldiv.
 */
#include <math.h>
#include <stdio.h>

#include "risk/internal.h"

typedef __int128 i128;

static const i128 SCALE2 = (i128)LB_DEC_SCALE * LB_DEC_SCALE;

/* num / den rounded (den > 0). */
static i128 div_round(i128 num, i128 den, lb_round mode) {
  i128 q = num / den, r = num % den;
  if (r == 0) return q;
  if (mode == LB_ROUND_FLOOR) return r < 0 ? q - 1 : q;
  if (mode == LB_ROUND_CEIL) return r > 0 ? q + 1 : q;
  i128 ar = r < 0 ? -r : r;
  int sign = num < 0 ? -1 : 1;
  if (mode == LB_ROUND_TRUNC) return q;
  if (2 * ar > den || (2 * ar == den && (mode == LB_ROUND_HALF_UP || q % 2 != 0))) return q + sign;
  return q;
}

lb_err risk_i_rate(double x, lb_dec *out) { return lb_dec_from_double(x, out); }

lb_err risk_i_mul3(lb_dec a, lb_dec b, lb_dec c, lb_round mode, lb_dec *out) {
  i128 ab = (i128)a * b, abc;
  if (__builtin_mul_overflow(ab, (i128)c, &abc)) return LB_EOVERFLOW;
  i128 v = div_round(abc, SCALE2, mode);
  if (v > LB_DEC_MAX || v < LB_DEC_MIN) return LB_EOVERFLOW;
  *out = (lb_dec)v;
  return LB_OK;
}

lb_dec risk_i_step(const lb_symbol_rules *r) {
  return r->market_step_size > 0 ? r->market_step_size : r->step_size;
}

lb_dec risk_i_min_qty(const lb_symbol_rules *r) {
  return r->market_min_qty > 0 ? r->market_min_qty : r->min_qty;
}

lb_dec risk_i_max_qty(const lb_symbol_rules *r) {
  return r->market_max_qty > 0 ? r->market_max_qty : r->max_qty;
}

lb_err risk_i_exit_fill(lb_action side, lb_dec trigger, lb_dec slip_rate, lb_dec tick,
                        lb_dec *out) {
  lb_dec d, px;
  lb_err rc = lb_dec_mul(trigger, slip_rate, LB_ROUND_CEIL, &d);
  if (rc) return rc;
  if (side == LB_ACTION_LONG) { /* the exit sells */
    rc = lb_dec_sub(trigger, d, &px);
    if (!rc) px = px > 0 ? lb_dec_round_to(px, tick, LB_ROUND_FLOOR) : 0;
  } else {
    rc = lb_dec_add(trigger, d, &px);
    lb_dec up = rc ? 0 : lb_dec_round_to(px, tick, LB_ROUND_CEIL);
    if (!rc && up < px) rc = LB_EOVERFLOW; /* round_to clamped at the top */
    px = up;
  }
  if (!rc) *out = px;
  return rc;
}

lb_err risk_i_fee(lb_dec qty, lb_dec price, lb_dec fee_rate, lb_dec *out) {
  return risk_i_mul3(qty, price, fee_rate, LB_ROUND_CEIL, out);
}

lb_err risk_i_loss(lb_dec qty, lb_dec entry, lb_dec stop, lb_dec fee_rate, lb_dec *out) {
  lb_dec move, f1, f2, sum;
  lb_err rc = lb_dec_mul(qty, lb_dec_abs(entry - stop), LB_ROUND_CEIL, &move);
  if (!rc) rc = risk_i_fee(qty, entry, fee_rate, &f1);
  if (!rc) rc = risk_i_fee(qty, stop, fee_rate, &f2);
  if (!rc) rc = lb_dec_add(move, f1, &sum);
  if (!rc) rc = lb_dec_add(sum, f2, out);
  return rc;
}

lb_err risk_i_profit(lb_action side, lb_dec qty, lb_dec entry, lb_dec tp, lb_dec fee_rate,
                     lb_dec *out) {
  lb_dec move, f1, f2, sum;
  lb_err rc = lb_dec_mul(qty, side == LB_ACTION_LONG ? tp - entry : entry - tp, LB_ROUND_FLOOR,
                         &move);
  if (!rc) rc = risk_i_fee(qty, entry, fee_rate, &f1);
  if (!rc) rc = risk_i_fee(qty, tp, fee_rate, &f2);
  if (!rc) rc = lb_dec_sub(move, f1, &sum);
  if (!rc) rc = lb_dec_sub(sum, f2, out);
  return rc;
}

lb_err risk_i_margin(lb_dec qty, lb_dec entry, int leverage, lb_dec *out) {
  if (leverage < 1) return LB_EINVAL;
  return lb_dec_muldiv(qty, entry, LB_DEC_INT(leverage), LB_ROUND_CEIL, out);
}

lb_err risk_i_budget(lb_dec capital, double max_risk, lb_dec *out) {
  lb_dec rate;
  lb_err rc = risk_i_rate(max_risk, &rate);
  return rc ? rc : lb_dec_mul(capital, rate, LB_ROUND_FLOOR, out);
}

lb_err risk_i_stop_band(lb_dec entry, double min_stop, double max_stop, lb_dec *dmin,
                        lb_dec *dmax) {
  lb_dec rmin, rmax;
  lb_err rc = risk_i_rate(min_stop, &rmin);
  if (!rc) rc = risk_i_rate(max_stop, &rmax);
  if (!rc) rc = lb_dec_mul(entry, rmin, LB_ROUND_CEIL, dmin);
  if (!rc) rc = lb_dec_mul(entry, rmax, LB_ROUND_FLOOR, dmax);
  return rc;
}

int risk_i_table_ceiling(const risk_params *p, const lb_decision *d, const risk_market *m) {
  int c = risk_regime_ceiling(&p->lev, d->regime, m->regime, d->confidence);
  return c < p->max_leverage ? c : p->max_leverage;
}

const char *risk_i_fmt(lb_dec d, char *buf) {
  lb_dec_fmt(d, buf, LB_DEC_STRLEN);
  return buf;
}
