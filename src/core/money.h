/* money.h -- exact decimal arithmetic for prices, quantities and USD amounts.
 *
 * An lb_dec is a signed 64-bit count of 1e-8 units: 1.5 USDT is 150000000.
 * Eight decimals hold every number an exchange sends (Binance prints at most
 * eight), and 64 bits hold +-92 billion units, far beyond any position here.
 * Products and quotients go through 128-bit intermediates and name their
 * rounding explicitly, so there is never float noise in a ledger and the
 * capital change of a backtest equals realized PnL - fees +/- funding to the
 * last unit.
 *
 * Indicators and statistics use double (that is what TA-Lib does); money
 * crosses into double only for display and for ratios, never back into the
 * ledger without an explicit lb_dec_from_double() that rounds half-even.
 *
 * Invariants:
 *   - every function is pure; none allocates;
 *   - a result that would overflow is reported (LB_EOVERFLOW), never wrapped.
 */
#ifndef LB_CORE_MONEY_H
#define LB_CORE_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef int64_t lb_dec;

#define LB_DEC_PLACES 8
#define LB_DEC_SCALE INT64_C(100000000)
#define LB_DEC_MAX INT64_MAX
#define LB_DEC_MIN (-INT64_MAX)
/* A whole number as a decimal: LB_DEC_INT(3) == 3.00000000 */
#define LB_DEC_INT(n) ((lb_dec)(n) * LB_DEC_SCALE)

typedef enum {
  LB_ROUND_FLOOR,     /* toward -infinity */
  LB_ROUND_CEIL,      /* toward +infinity */
  LB_ROUND_TRUNC,     /* toward zero */
  LB_ROUND_HALF_EVEN, /* banker's rounding: ties to the even neighbour */
  LB_ROUND_HALF_UP    /* ties away from zero */
} lb_round;

/* Parses "-123.45", "0.00038246", "+7", "42.". Digits beyond the eighth
 * decimal are rounded half-even.  No exponents, no spaces, no empty string.
 * Returns LB_EPARSE (not a number) or LB_EOVERFLOW (too large). */
lb_err lb_dec_parse(const char *s, lb_dec *out);
/* The same over exactly n bytes (for fields inside a larger buffer). */
lb_err lb_dec_parse_n(const char *s, size_t n, lb_dec *out);

/* Nearest decimal to x (half-even). LB_EOVERFLOW for |x| too large or
 * LB_ERANGE for NaN/inf. */
lb_err lb_dec_from_double(double x, lb_dec *out);
double lb_dec_to_double(lb_dec d);

/* Shortest exact text: 42503.5, 0.001, -3, 0. Returns the length written
 * (buffers of LB_DEC_STRLEN always suffice). */
#define LB_DEC_STRLEN 32
int lb_dec_fmt(lb_dec d, char *buf, size_t n);
/* Exactly `places` decimals (0..8), rounded half-even: 1.23 at 4 -> 1.2300 */
int lb_dec_fmt_places(lb_dec d, int places, char *buf, size_t n);

/* a*b, a/b with an explicit rounding; LB_EOVERFLOW / LB_EINVAL (b == 0). */
lb_err lb_dec_mul(lb_dec a, lb_dec b, lb_round mode, lb_dec *out);
lb_err lb_dec_div(lb_dec a, lb_dec b, lb_round mode, lb_dec *out);
/* a*b/c in one step with one rounding (e.g. notional * rate / 1). */
lb_err lb_dec_muldiv(lb_dec a, lb_dec b, lb_dec c, lb_round mode, lb_dec *out);
/* Checked a+b and a-b. */
lb_err lb_dec_add(lb_dec a, lb_dec b, lb_dec *out);
lb_err lb_dec_sub(lb_dec a, lb_dec b, lb_dec *out);

/* x rounded to a multiple of step (> 0) in the given direction.  step <= 0
 * returns x unchanged (an exchange without that filter). */
lb_dec lb_dec_round_to(lb_dec x, lb_dec step, lb_round mode);
/* true when x is an exact multiple of step (step <= 0: always true). */
bool lb_dec_is_multiple(lb_dec x, lb_dec step);
/* Number of decimals needed to print step exactly (0.10 -> 1, 0.001 -> 3). */
int lb_dec_places_of(lb_dec step);

static inline lb_dec lb_dec_abs(lb_dec a) { return a < 0 ? -a : a; }
static inline lb_dec lb_dec_min(lb_dec a, lb_dec b) { return a < b ? a : b; }
static inline lb_dec lb_dec_max(lb_dec a, lb_dec b) { return a > b ? a : b; }

#endif
