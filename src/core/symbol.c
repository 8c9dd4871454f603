/* symbol.c -- order filters and maintenance-margin brackets (see symbol.h). */
#include "core/symbol.h"

#include <stdio.h>
#include <string.h>

static lb_dec dec_of(const char *s) {
  lb_dec d = 0;
  lb_err rc = lb_dec_parse(s, &d);
  (void)rc; /* only called on literals below */
  return d;
}

static void set_name(lb_symbol_rules *r, const char *sym, const char *base, const char *quote) {
  snprintf(r->symbol, sizeof r->symbol, "%s", sym);
  snprintf(r->base, sizeof r->base, "%s", base);
  snprintf(r->quote, sizeof r->quote, "%s", quote);
}

void lb_rules_binance_btcusdt(lb_symbol_rules *r) {
  memset(r, 0, sizeof *r);
  set_name(r, "BTCUSDT", "BTC", "USDT");
  r->tick_size = dec_of("0.10");
  r->min_price = dec_of("556.80");
  r->max_price = dec_of("4529764");
  r->step_size = dec_of("0.001");
  r->min_qty = dec_of("0.001");
  r->max_qty = dec_of("1000");
  r->market_step_size = dec_of("0.001");
  r->market_min_qty = dec_of("0.001");
  r->market_max_qty = dec_of("120");
  r->min_notional = dec_of("100");
}

void lb_rules_binance_ethusdt(lb_symbol_rules *r) {
  memset(r, 0, sizeof *r);
  set_name(r, "ETHUSDT", "ETH", "USDT");
  r->tick_size = dec_of("0.01");
  r->min_price = dec_of("39.86");
  r->max_price = dec_of("306177");
  r->step_size = dec_of("0.001");
  r->min_qty = dec_of("0.001");
  r->max_qty = dec_of("10000");
  r->market_step_size = dec_of("0.001");
  r->market_min_qty = dec_of("0.001");
  r->market_max_qty = dec_of("2000");
  r->min_notional = dec_of("20");
}

void lb_rules_generic(lb_symbol_rules *r, const char *symbol) {
  memset(r, 0, sizeof *r);
  set_name(r, symbol, "", "");
  r->tick_size = 1;
  r->step_size = 1;
  r->market_step_size = 1;
  r->min_qty = 1;
  r->market_min_qty = 1;
}

lb_dec lb_rules_qty_floor(const lb_symbol_rules *r, lb_dec qty, bool market) {
  lb_dec step = market && r->market_step_size > 0 ? r->market_step_size : r->step_size;
  return lb_dec_round_to(qty, step, LB_ROUND_FLOOR);
}

lb_dec lb_rules_price_round(const lb_symbol_rules *r, lb_dec price, lb_round mode) {
  return lb_dec_round_to(price, r->tick_size, mode);
}

lb_err lb_rules_check_order(const lb_symbol_rules *r, lb_dec price, lb_dec qty,
                            bool market, bool reduce_only, lb_errbuf *eb) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN];
  if (qty <= 0) {
    lb_dec_fmt(qty, a, sizeof a);
    return lb_fail(eb, LB_EINVAL, "%s: quantity %s must be > 0", r->symbol, a);
  }
  if (price < 0) {
    lb_dec_fmt(price, a, sizeof a);
    return lb_fail(eb, LB_EINVAL, "%s: price %s must be >= 0", r->symbol, a);
  }
  if (price > 0) {
    if (!lb_dec_is_multiple(price, r->tick_size)) {
      lb_dec_fmt(price, a, sizeof a);
      lb_dec_fmt(r->tick_size, b, sizeof b);
      return lb_fail(eb, LB_EREJECTED, "%s: price %s is not a multiple of tickSize %s",
                     r->symbol, a, b);
    }
    if ((r->min_price > 0 && price < r->min_price) || (r->max_price > 0 && price > r->max_price)) {
      lb_dec_fmt(price, a, sizeof a);
      return lb_fail(eb, LB_EREJECTED, "%s: price %s outside PRICE_FILTER limits", r->symbol, a);
    }
  }
  lb_dec step = market && r->market_step_size > 0 ? r->market_step_size : r->step_size;
  lb_dec minq = market && r->market_min_qty > 0 ? r->market_min_qty : r->min_qty;
  lb_dec maxq = market && r->market_max_qty > 0 ? r->market_max_qty : r->max_qty;
  if (!lb_dec_is_multiple(qty, step)) {
    lb_dec_fmt(qty, a, sizeof a);
    lb_dec_fmt(step, b, sizeof b);
    return lb_fail(eb, LB_EREJECTED, "%s: quantity %s is not a multiple of stepSize %s",
                   r->symbol, a, b);
  }
  if (qty < minq || (maxq > 0 && qty > maxq)) {
    lb_dec_fmt(qty, a, sizeof a);
    return lb_fail(eb, LB_EREJECTED, "%s: quantity %s outside %s limits", r->symbol, a,
                   market ? "MARKET_LOT_SIZE" : "LOT_SIZE");
  }
  if (!reduce_only && price > 0 && r->min_notional > 0) {
    lb_dec notional;
    if (lb_dec_mul(price, qty, LB_ROUND_FLOOR, &notional) != LB_OK)
      return lb_fail(eb, LB_EOVERFLOW, "%s: notional overflows", r->symbol);
    if (notional < r->min_notional) {
      lb_dec_fmt(notional, a, sizeof a);
      lb_dec_fmt(r->min_notional, b, sizeof b);
      return lb_fail(eb, LB_EREJECTED, "%s: notional %s is below MIN_NOTIONAL %s", r->symbol,
                     a, b);
    }
  }
  return LB_OK;
}

/* ==== Brackets ==== */

const lb_bracket *lb_brackets_find(const lb_bracket_table *t, lb_dec notional) {
  if (!t || t->n <= 0) return NULL;
  lb_dec a = lb_dec_abs(notional);
  for (int i = 0; i < t->n; i++)
    if (a >= t->tier[i].notional_floor && a < t->tier[i].notional_cap) return &t->tier[i];
  return &t->tier[t->n - 1];
}

typedef struct {
  int lev;
  const char *floor, *cap, *mmr, *cum;
} bracket_row;

static void fill_table(lb_bracket_table *t, const char *sym, const bracket_row *rows, int n) {
  memset(t, 0, sizeof *t);
  snprintf(t->symbol, sizeof t->symbol, "%s", sym);
  t->n = n;
  for (int i = 0; i < n; i++) {
    t->tier[i].bracket = i + 1;
    t->tier[i].max_leverage = rows[i].lev;
    t->tier[i].notional_floor = dec_of(rows[i].floor);
    t->tier[i].notional_cap = dec_of(rows[i].cap);
    t->tier[i].mmr = dec_of(rows[i].mmr);
    t->tier[i].cum = dec_of(rows[i].cum);
  }
}

/* GET /fapi/v1/leverageBracket, BTCUSDT (as recorded by freqtrade; see
 * data/brackets/README.md for the origin). */
static const bracket_row btcusdt_rows[] = {
    {125, "0", "50000", "0.004", "0"},
    {100, "50000", "600000", "0.005", "50"},
    {75, "600000", "3000000", "0.0065", "950"},
    {50, "3000000", "12000000", "0.01", "11450"},
    {25, "12000000", "70000000", "0.02", "131450"},
    {20, "70000000", "100000000", "0.025", "481450"},
    {10, "100000000", "230000000", "0.05", "2981450"},
    {5, "230000000", "480000000", "0.1", "14481450"},
    {4, "480000000", "600000000", "0.125", "26481450"},
    {3, "600000000", "800000000", "0.15", "41481450"},
    {2, "800000000", "1200000000", "0.25", "121481450"},
    {1, "1200000000", "1800000000", "0.5", "421481450"},
};

static const bracket_row ethusdt_rows[] = {
    {125, "0", "50000", "0.004", "0"},
    {100, "50000", "600000", "0.005", "50"},
    {75, "600000", "3000000", "0.0065", "950"},
    {50, "3000000", "12000000", "0.01", "11450"},
    {25, "12000000", "50000000", "0.02", "131450"},
    {20, "50000000", "65000000", "0.025", "381450"},
    {10, "65000000", "150000000", "0.05", "2006450"},
    {5, "150000000", "320000000", "0.1", "9506450"},
    {4, "320000000", "400000000", "0.125", "17506450"},
    {3, "400000000", "530000000", "0.15", "27506450"},
    {2, "530000000", "800000000", "0.25", "80506450"},
    {1, "800000000", "1200000000", "0.5", "280506450"},
};

void lb_brackets_binance_btcusdt(lb_bracket_table *t) {
  fill_table(t, "BTCUSDT", btcusdt_rows, (int)(sizeof btcusdt_rows / sizeof btcusdt_rows[0]));
}

void lb_brackets_binance_ethusdt(lb_bracket_table *t) {
  fill_table(t, "ETHUSDT", ethusdt_rows, (int)(sizeof ethusdt_rows / sizeof ethusdt_rows[0]));
}

lb_err lb_brackets_validate(const lb_bracket_table *t, lb_errbuf *eb) {
  if (t->n <= 0 || t->n > LB_BRACKETS_MAX)
    return lb_fail(eb, LB_EINVAL, "%s: bracket table has %d tiers", t->symbol, t->n);
  if (t->tier[0].notional_floor != 0 || t->tier[0].cum != 0)
    return lb_fail(eb, LB_EINVAL, "%s: first bracket must start at notional 0 with cum 0",
                   t->symbol);
  for (int i = 0; i < t->n; i++) {
    const lb_bracket *b = &t->tier[i];
    if (b->mmr <= 0 || b->mmr >= LB_DEC_SCALE || b->max_leverage < 1 ||
        b->notional_cap <= b->notional_floor)
      return lb_fail(eb, LB_EINVAL, "%s: bracket %d has invalid fields", t->symbol, i + 1);
    if (i == 0) continue;
    const lb_bracket *p = &t->tier[i - 1];
    if (b->notional_floor != p->notional_cap || b->mmr < p->mmr)
      return lb_fail(eb, LB_EINVAL, "%s: bracket %d does not continue bracket %d", t->symbol,
                     i + 1, i);
    lb_dec step, want;
    if (lb_dec_mul(b->notional_floor, b->mmr - p->mmr, LB_ROUND_HALF_EVEN, &step) != LB_OK ||
        lb_dec_add(p->cum, step, &want) != LB_OK)
      return lb_fail(eb, LB_EOVERFLOW, "%s: bracket %d overflows", t->symbol, i + 1);
    if (lb_dec_abs(want - b->cum) > LB_DEC_SCALE / 100)
      return lb_fail(eb, LB_EINVAL, "%s: bracket %d maintenance amount %.2f, expected %.2f",
                     t->symbol, i + 1, lb_dec_to_double(b->cum), lb_dec_to_double(want));
  }
  return LB_OK;
}
