/* liquidation.c -- isolated-margin liquidation price of a USDT-M linear position.
 *
 * Binance's formula (futures FAQ "How to calculate liquidation price of USDT-M
 * contracts") reduced to one isolated position in one-way mode, where the
 * other positions' maintenance margin and unrealized PnL do not count:
 *   long:  LP = (Q*EP - WB - cum) / (Q*(1 - MMR))
 *   short: LP = (Q*EP + WB + cum) / (Q*(1 + MMR))
 * Everything is exact integer arithmetic in 128 bits: Q*EP carries 16
 * decimals, so the only rounding is the final division, which goes toward
 * the entry (the careful side: the estimate is never farther than the truth).
 */
#include "risk/internal.h"

typedef __int128 i128;

/* num/den rounded up (CEIL) or down (FLOOR); den > 0. */
static i128 div_dir(i128 num, i128 den, bool up) {
  i128 q = num / den, r = num % den;
  if (r == 0) return q;
  if (up) return r > 0 ? q + 1 : q;
  return r < 0 ? q - 1 : q;
}

lb_err risk_liquidation_price(lb_action side, lb_dec qty, lb_dec entry, lb_dec wallet, lb_dec mmr,
                              lb_dec cum, lb_dec *out) {
  if ((side != LB_ACTION_LONG && side != LB_ACTION_SHORT) || qty <= 0 || entry <= 0 ||
      wallet < 0 || mmr < 0 || mmr >= LB_DEC_SCALE || cum < 0)
    return LB_EINVAL;
  const i128 S = LB_DEC_SCALE;
  bool is_long = side == LB_ACTION_LONG;
  /* units: 1e-16 for both numerator and denominator */
  i128 qe = (i128)qty * entry;
  i128 extra = ((i128)wallet + cum) * S;
  i128 num = is_long ? qe - extra : qe + extra;
  i128 den = (i128)qty * (is_long ? S - mmr : S + mmr);
  if (is_long && num <= 0) {
    *out = 0; /* the margin covers a fall to zero */
    return LB_OK;
  }
  i128 scaled;
  if (__builtin_mul_overflow(num, S, &scaled)) return LB_EOVERFLOW;
  /* toward the entry: a long's price rounds up, a short's down */
  i128 lp = div_dir(scaled, den, is_long);
  if (lp > LB_DEC_MAX) return LB_EOVERFLOW;
  *out = (lb_dec)lp;
  return LB_OK;
}

lb_err risk_liquidation_price_for(lb_action side, lb_dec qty, lb_dec entry, lb_dec wallet,
                                  const lb_bracket_table *t, const lb_bracket **tier,
                                  lb_dec *out) {
  lb_dec notional;
  if (qty <= 0 || entry <= 0) return LB_EINVAL;
  lb_err rc = lb_dec_mul(qty, entry, LB_ROUND_CEIL, &notional);
  if (rc) return rc;
  const lb_bracket *b = lb_brackets_find(t, notional);
  if (!b) return LB_EINVAL;
  if (tier) *tier = b;
  return risk_liquidation_price(side, qty, entry, wallet, b->mmr, b->cum, out);
}
