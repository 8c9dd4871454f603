/* symbol.h -- an instrument's trading rules and maintenance-margin brackets.
 *
 * Owns: the filters an exchange applies to every order (tick size, step
 * size, min/max quantity, min notional) and the leverage brackets that give
 * the maintenance margin rate for a notional.  Both come from the exchange
 * (exchangeInfo, leverageBracket) or from the defaults shipped for the
 * simulator; every module that builds or checks an order uses these
 * functions, so an order that leaves levbot is already valid.
 *
 * Must not: know any exchange's wire format (the adapters fill these
 * structs), or decide how much to trade (that is src/risk).
 *
 * Invariants of a table that passed lb_brackets_validate (every table the
 * risk rules use): tiers are contiguous from notional 0, their maintenance
 * rates never decrease, and each maintenance amount equals the previous one
 * plus floor x (rate - previous rate), so the liquidation price is
 * continuous across tiers.  Rounding to the tick or step is always in a
 * direction the caller names (quantities only ever down).
 */
#ifndef LB_CORE_SYMBOL_H
#define LB_CORE_SYMBOL_H

#include <stdbool.h>

#include "core/err.h"
#include "core/money.h"

#define LB_SYMBOL_MAX 32

typedef struct {
  char symbol[LB_SYMBOL_MAX]; /* "BTCUSDT" */
  char base[16], quote[16];   /* "BTC", "USDT" */
  lb_dec tick_size;           /* PRICE_FILTER.tickSize */
  lb_dec min_price, max_price;
  lb_dec step_size;           /* LOT_SIZE (limit orders) */
  lb_dec min_qty, max_qty;
  lb_dec market_step_size;    /* MARKET_LOT_SIZE */
  lb_dec market_min_qty, market_max_qty;
  lb_dec min_notional;        /* MIN_NOTIONAL.notional */
} lb_symbol_rules;

/* Binance USDT-M BTCUSDT / ETHUSDT filters as published (exchangeInfo,
 * 2024-2026): used by the simulator and as fallbacks in tests. */
void lb_rules_binance_btcusdt(lb_symbol_rules *r);
void lb_rules_binance_ethusdt(lb_symbol_rules *r);
/* Loose rules for an arbitrary symbol from data files (tick and step
 * 1e-8, no minimums): good for replays of non-Binance data. */
void lb_rules_generic(lb_symbol_rules *r, const char *symbol);

/* Quantity rounded DOWN to the step (market or limit step). */
lb_dec lb_rules_qty_floor(const lb_symbol_rules *r, lb_dec qty, bool market);
/* Price rounded to the tick in the given direction. */
lb_dec lb_rules_price_round(const lb_symbol_rules *r, lb_dec price, lb_round mode);

/* Checks an order as the exchange would: price on the tick and within
 * [min_price, max_price] (price 0 = market order, not checked), quantity on
 * the step and within limits, notional >= min_notional unless reduce_only.
 * On failure writes which filter failed, naming the value, into eb. */
lb_err lb_rules_check_order(const lb_symbol_rules *r, lb_dec price, lb_dec qty,
                            bool market, bool reduce_only, lb_errbuf *eb);

/* ==== Maintenance-margin brackets ==== */

#define LB_BRACKETS_MAX 32

typedef struct {
  int bracket;          /* 1-based tier number */
  int max_leverage;     /* initialLeverage */
  lb_dec notional_floor; /* tier applies for floor <= notional < cap */
  lb_dec notional_cap;
  lb_dec mmr;           /* maintMarginRatio, e.g. 0.004 */
  lb_dec cum;           /* maintenance amount ("cum") */
} lb_bracket;

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  int n;
  lb_bracket tier[LB_BRACKETS_MAX];
} lb_bracket_table;

/* The tier whose [floor, cap) holds |notional|; the last tier for larger
 * notionals; NULL only for an empty table. */
const lb_bracket *lb_brackets_find(const lb_bracket_table *t, lb_dec notional);

/* Binance's published USDT-M brackets for BTCUSDT and ETHUSDT (from
 * GET /fapi/v1/leverageBracket; see data/brackets/README.md). */
void lb_brackets_binance_btcusdt(lb_bracket_table *t);
void lb_brackets_binance_ethusdt(lb_bracket_table *t);

/* Checks a table: tiers contiguous from 0, increasing MMR, and the
 * maintenance amounts consistent (cum_n = cum_{n-1} + floor_n*(mmr_n -
 * mmr_{n-1})).  Used on what an exchange reports before trusting it. */
lb_err lb_brackets_validate(const lb_bracket_table *t, lb_errbuf *eb);

#endif
