/* trail.c -- the trailing stop: a ratchet that follows the best price.
 *
 * The state only ever moves the stop toward the price (up for a long, down
 * for a short), so whatever the price path, the worst exit is the stop the
 * position started with.  It waits until the trade has earned
 * TRAILING_ACTIVATION_R times its initial risk, so ordinary noise right after
 * the entry cannot take the position out at a small loss; and it never puts
 * the stop on the wrong side of the current price, where the exchange would
 * trigger it at once (or refuse it).
 */
#include <math.h>

#include "risk/internal.h"

lb_err risk_trail_init(risk_trail *t, lb_action side, lb_dec entry, lb_dec stop, lb_errbuf *eb) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN];
  bool ok = entry > 0 && stop > 0 &&
            ((side == LB_ACTION_LONG && stop < entry) || (side == LB_ACTION_SHORT && stop > entry));
  if (!ok)
    return lb_fail(eb, LB_EINVAL, "trailing stop: %s entry %s with stop %s (a long's stop must be "
                   "below its entry, a short's above, both > 0)",
                   lb_action_name(side), risk_i_fmt(entry, a), risk_i_fmt(stop, b));
  *t = (risk_trail){.side = side, .entry = entry, .initial_stop = stop, .stop = stop,
                    .best = entry, .active = false};
  return LB_OK;
}

/* The trailing distance in price, or -1 when it cannot be known (no ATR). */
static lb_dec trail_distance(const risk_params *p, lb_dec best, double atr) {
  lb_dec d, rate;
  if (p->trail_mode == RISK_TRAIL_ATR) {
    if (!(isfinite(atr) && atr > 0)) return -1;
    if (lb_dec_from_double(p->trail_atr_multiple * atr, &d)) return -1;
    return d > 0 ? d : -1;
  }
  if (risk_i_rate(p->trail_percent, &rate) || lb_dec_mul(best, rate, LB_ROUND_CEIL, &d)) return -1;
  return d > 0 ? d : -1;
}

bool risk_trail_update(risk_trail *t, const risk_params *p, const lb_symbol_rules *rules,
                       lb_dec price, double atr, risk_stop_intent *intent) {
  if (!p->trail_enabled || price <= 0) return false;
  bool is_long = t->side == LB_ACTION_LONG;
  if (is_long ? price > t->best : price < t->best) t->best = price;
  lb_dec risk = lb_dec_abs(t->entry - t->initial_stop);
  lb_dec gained = is_long ? t->best - t->entry : t->entry - t->best;
  if (!t->active) {
    lb_dec rate, need;
    if (risk_i_rate(p->trail_activation_r, &rate) ||
        lb_dec_mul(risk, rate, LB_ROUND_CEIL, &need) || gained < need)
      return false;
    t->active = true;
  }
  lb_dec dist = trail_distance(p, t->best, atr);
  if (dist < 0) return false;
  /* away from the price: the trail is never shorter than configured */
  lb_dec cand = is_long ? lb_dec_round_to(t->best - dist, rules->tick_size, LB_ROUND_FLOOR)
                        : lb_dec_round_to(t->best + dist, rules->tick_size, LB_ROUND_CEIL);
  bool tighter = is_long ? cand > t->stop : cand < t->stop;
  bool protective = is_long ? cand < price : cand > price;
  if (!tighter || !protective || cand <= 0) return false;
  *intent = (risk_stop_intent){.from = t->stop, .to = cand, .price = price,
                               .r_multiple = (double)gained / (double)risk};
  t->stop = cand;
  return true;
}
