/* money.c -- exact decimal arithmetic (see money.h).
 *
 * All rounding funnels through div_round(): one place decides what "half
 * even" or "floor" means for a signed 128-bit ratio.
 */
#include "core/money.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef __int128 i128;

static const int64_t pow10_tab[] = {
    1,         10,         100,         1000,        10000,
    100000,    1000000,    10000000,    100000000};

/* num/den rounded to an integer; den > 0. */
static i128 div_round(i128 num, i128 den, lb_round mode) {
  i128 q = num / den, r = num % den;
  if (r == 0) return q;
  int sign = num < 0 ? -1 : 1;
  i128 ar = r < 0 ? -r : r;
  switch (mode) {
  case LB_ROUND_TRUNC:
    return q;
  case LB_ROUND_FLOOR:
    return r < 0 ? q - 1 : q;
  case LB_ROUND_CEIL:
    return r > 0 ? q + 1 : q;
  case LB_ROUND_HALF_UP:
    return 2 * ar >= den ? q + sign : q;
  case LB_ROUND_HALF_EVEN:
  default:
    if (2 * ar > den) return q + sign;
    if (2 * ar < den) return q;
    return (q % 2 != 0) ? q + sign : q;
  }
}

static lb_err fit(i128 v, lb_dec *out) {
  if (v > LB_DEC_MAX || v < LB_DEC_MIN) return LB_EOVERFLOW;
  *out = (lb_dec)v;
  return LB_OK;
}

lb_err lb_dec_parse_n(const char *s, size_t n, lb_dec *out) {
  size_t i = 0;
  int neg = 0;
  if (!s || n == 0) return LB_EPARSE;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    i++;
  }
  i128 ip = 0;
  int digits = 0;
  for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
    ip = ip * 10 + (s[i] - '0');
    if (ip > LB_DEC_MAX / LB_DEC_SCALE + 1) return LB_EOVERFLOW;
  }
  int64_t frac = 0;
  int fdigits = 0;
  int round_dir = 0; /* 0: exact, 1: below half, 2: exactly half, 3: above half */
  if (i < n && s[i] == '.') {
    i++;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, digits++) {
      int dg = s[i] - '0';
      if (fdigits < LB_DEC_PLACES) {
        frac = frac * 10 + dg;
        fdigits++;
      } else if (fdigits == LB_DEC_PLACES) {
        round_dir = dg > 5 ? 3 : dg == 5 ? 2 : dg > 0 ? 1 : 0;
        fdigits++;
      } else if (dg != 0) {
        if (round_dir == 2) round_dir = 3;
        else if (round_dir == 0) round_dir = 1;
      }
    }
  }
  if (digits == 0 || i != n) return LB_EPARSE;
  int kept = fdigits > LB_DEC_PLACES ? LB_DEC_PLACES : fdigits;
  i128 v = ip * LB_DEC_SCALE + (i128)frac * pow10_tab[LB_DEC_PLACES - kept];
  if (round_dir == 3 || (round_dir == 2 && (v % 2) != 0)) v += 1;
  if (neg) v = -v;
  return fit(v, out);
}

lb_err lb_dec_parse(const char *s, lb_dec *out) {
  if (!s) return LB_EPARSE;
  return lb_dec_parse_n(s, strlen(s), out);
}

lb_err lb_dec_from_double(double x, lb_dec *out) {
  if (!isfinite(x)) return LB_ERANGE;
  double scaled = x * (double)LB_DEC_SCALE;
  if (fabs(scaled) >= 9.2e18) return LB_EOVERFLOW;
  *out = (lb_dec)llrint(scaled); /* default FP mode: ties to even */
  return LB_OK;
}

double lb_dec_to_double(lb_dec d) {
  /* Split so large values keep their integer part exact. */
  return (double)(d / LB_DEC_SCALE) + (double)(d % LB_DEC_SCALE) / (double)LB_DEC_SCALE;
}

static int fmt_abs(uint64_t a, int neg, int places, int trim, char *buf, size_t n) {
  uint64_t ip = a / (uint64_t)LB_DEC_SCALE, fp = a % (uint64_t)LB_DEC_SCALE;
  char frac[16];
  snprintf(frac, sizeof frac, "%08llu", (unsigned long long)fp);
  int fl = places;
  if (trim) {
    fl = LB_DEC_PLACES;
    while (fl > 0 && frac[fl - 1] == '0') fl--;
  }
  frac[fl] = '\0';
  if (fl == 0) return snprintf(buf, n, "%s%llu", neg ? "-" : "", (unsigned long long)ip);
  return snprintf(buf, n, "%s%llu.%s", neg ? "-" : "", (unsigned long long)ip, frac);
}

int lb_dec_fmt(lb_dec d, char *buf, size_t n) {
  int neg = d < 0;
  uint64_t a = neg ? (uint64_t)0 - (uint64_t)d : (uint64_t)d;
  return fmt_abs(a, neg && a != 0, 0, 1, buf, n);
}

int lb_dec_fmt_places(lb_dec d, int places, char *buf, size_t n) {
  if (places < 0) places = 0;
  if (places > LB_DEC_PLACES) places = LB_DEC_PLACES;
  int64_t unit = pow10_tab[LB_DEC_PLACES - places];
  i128 r = div_round((i128)d, unit, LB_ROUND_HALF_EVEN) * unit;
  int neg = r < 0;
  uint64_t a = (uint64_t)(neg ? -r : r);
  return fmt_abs(a, neg, places, 0, buf, n);
}

lb_err lb_dec_mul(lb_dec a, lb_dec b, lb_round mode, lb_dec *out) {
  return fit(div_round((i128)a * b, LB_DEC_SCALE, mode), out);
}

lb_err lb_dec_div(lb_dec a, lb_dec b, lb_round mode, lb_dec *out) {
  if (b == 0) return LB_EINVAL;
  i128 num = (i128)a * LB_DEC_SCALE, den = b;
  if (den < 0) {
    num = -num;
    den = -den;
  }
  return fit(div_round(num, den, mode), out);
}

lb_err lb_dec_muldiv(lb_dec a, lb_dec b, lb_dec c, lb_round mode, lb_dec *out) {
  if (c == 0) return LB_EINVAL;
  i128 num = (i128)a * b, den = c;
  if (den < 0) {
    num = -num;
    den = -den;
  }
  return fit(div_round(num, den, mode), out);
}

lb_err lb_dec_add(lb_dec a, lb_dec b, lb_dec *out) { return fit((i128)a + b, out); }
lb_err lb_dec_sub(lb_dec a, lb_dec b, lb_dec *out) { return fit((i128)a - b, out); }

lb_dec lb_dec_round_to(lb_dec x, lb_dec step, lb_round mode) {
  if (step <= 0) return x;
  i128 v = div_round((i128)x, step, mode) * step;
  if (v > LB_DEC_MAX) v = (LB_DEC_MAX / step) * step;
  if (v < LB_DEC_MIN) v = -((LB_DEC_MAX / step) * step);
  return (lb_dec)v;
}

bool lb_dec_is_multiple(lb_dec x, lb_dec step) {
  if (step <= 0) return true;
  return x % step == 0;
}

int lb_dec_places_of(lb_dec step) {
  if (step <= 0) return LB_DEC_PLACES;
  for (int p = 0; p <= LB_DEC_PLACES; p++)
    if (step % pow10_tab[LB_DEC_PLACES - p] == 0) return p;
  return LB_DEC_PLACES;
}
