/* params.c -- the engine's parameters from the configuration table (engine.def, risk.def).
 *
 * The one place where configuration becomes numbers for the engine, the
 * red flags and the consensus; after this nothing in the engine reads the
 * configuration again.
 */
#include <stdio.h>
#include <string.h>

#include "engine/engine.h"

lb_err engine_parse_timeframes(const char *entry, const char *list, lb_ms *out, int *n,
                               lb_errbuf *eb) {
  lb_ms e;
  if (lb_timeframe_parse(entry, &e) != LB_OK)
    return lb_fail(eb, LB_ECONFIG, "ENTRY_TIMEFRAME=%s is not a timeframe (allowed: 1m 3m 5m 15m "
                                   "30m 1h 2h 4h 6h 8h 12h 1d 3d 1w)", entry);
  char items[16][64];
  int k = lb_cfg_split_list(list, items, 16);
  if (k < 0) return lb_fail(eb, LB_ECONFIG, "TIMEFRAMES=%s lists more than 16 items", list);
  lb_ms tfs[16];
  int m = 0;
  for (int i = 0; i < k; i++) {
    lb_ms t;
    if (lb_timeframe_parse(items[i], &t) != LB_OK)
      return lb_fail(eb, LB_ECONFIG, "TIMEFRAMES=%s: \"%s\" is not a timeframe", list, items[i]);
    if (t <= e) continue; /* at or below the entry timeframe: not a higher frame */
    bool dup = false;
    for (int j = 0; j < m; j++) dup |= tfs[j] == t;
    if (!dup) tfs[m++] = t;
  }
  for (int i = 1; i < m; i++) /* insertion sort: a handful of items */
    for (int j = i; j > 0 && tfs[j] < tfs[j - 1]; j--) {
      lb_ms tmp = tfs[j];
      tfs[j] = tfs[j - 1];
      tfs[j - 1] = tmp;
    }
  if (m + 1 > TA_MAX_TF)
    return lb_fail(eb, LB_ECONFIG,
                   "TIMEFRAMES=%s with ENTRY_TIMEFRAME=%s gives %d timeframes (allowed: at most %d, "
                   "the entry one included)",
                   list, entry, m + 1, TA_MAX_TF);
  out[0] = e;
  for (int i = 0; i < m; i++) {
    if (tfs[i] % e != 0) {
      char name[16];
      return lb_fail(eb, LB_ECONFIG, "TIMEFRAMES=%s: %s is not a multiple of ENTRY_TIMEFRAME=%s",
                     list, lb_timeframe_name(tfs[i], name, sizeof name), entry);
    }
    out[i + 1] = tfs[i];
  }
  *n = m + 1;
  return LB_OK;
}

lb_err engine_params_from_config(const lb_config *c, engine_params *p, lb_errbuf *eb) {
  memset(p, 0, sizeof *p);
  char items[ENGINE_MAX_SYMBOLS + 1][64];
  int n = lb_cfg_split_list(c->symbols, items, ENGINE_MAX_SYMBOLS + 1);
  if (n < 1 || n > ENGINE_MAX_SYMBOLS)
    return lb_fail(eb, LB_ECONFIG, "SYMBOLS=%s must list 1..%d symbols", c->symbols,
                   ENGINE_MAX_SYMBOLS);
  for (int i = 0; i < n; i++) {
    if (strlen(items[i]) >= LB_SYMBOL_MAX)
      return lb_fail(eb, LB_ECONFIG, "SYMBOLS=%s: \"%.64s\" is too long", c->symbols, items[i]);
    memcpy(p->symbols[i], items[i], strlen(items[i]) + 1);
  }
  p->n_symbols = n;
  lb_err rc = engine_parse_timeframes(c->entry_timeframe, c->timeframes, p->timeframes, &p->n_tf, eb);
  if (rc) return rc;
  ta_params_default(&p->ta);
  if (risk_params_from_config(c, &p->risk) != LB_OK)
    return lb_fail(eb, LB_ECONFIG, "risk parameters could not be read from the configuration");
  strategy_redflag_params_default(&p->redflags);
  p->redflags.rsi_high = c->redflag_rsi_high;
  p->redflags.rsi_low = c->redflag_rsi_low;
  p->redflags.min_volume_ratio = c->redflag_min_volume_ratio;
  rc = strategy_redflag_params_check(&p->redflags, eb);
  if (rc) return rc;
  /* The AI panel's rule (AI_MIN_AGREE, ALLOW_SINGLE_MODEL); a panel of one
   * (the technical analyst alone) is allowed to decide alone by its driver. */
  p->consensus.min_agree = (int)c->ai_min_agree;
  p->consensus.allow_single = c->allow_single_model;
  p->consensus.min_confidence = c->min_ai_confidence;
  p->initial_capital = c->initial_capital;
  p->slippage = c->slippage_bps / 10000.0;
  p->liq_warn = c->liquidation_warning_percent;
  p->max_scan_age = 2 * (lb_ms)c->scan_interval_seconds * LB_MS_SECOND;
  snprintf(p->cid_prefix, sizeof p->cid_prefix, "lb");
  p->first_trade_id = 1;
  return LB_OK;
}
