/* setup.c -- a replay from the files a user names and the configuration (see backtest.h).
 *
 * Shared by `levbot backtest` and `levbot run --paper --replay`, so both
 * load, join and check data the same way and the commands stay thin.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/backtest.h"
#include "strategy/strategy.h"

static lb_err dec_of(double x, lb_dec *out, const char *name, lb_errbuf *eb) {
  if (lb_dec_from_double(x, out) != LB_OK) return lb_fail(eb, LB_ECONFIG, "%s=%g is not usable", name, x);
  return LB_OK;
}

static int symbol_slot(engine_replay_setup *s, const char *symbol) {
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->series[i].symbol, symbol) == 0) return (int)i;
  return -1;
}

/* Files of one symbol in time order, whatever order the user gave. */
static int by_first_ts(const void *a, const void *b) {
  const data_series *x = a, *y = b;
  lb_ms tx = x->n ? x->c[0].ts : 0, ty = y->n ? y->c[0].ts : 0;
  return (tx > ty) - (tx < ty);
}

static lb_err load_data(engine_replay_setup *s, const engine_replay_files *f, lb_errbuf *eb) {
  data_series *tmp = calloc((size_t)f->n_data, sizeof *tmp);
  if (!tmp) return lb_fail(eb, LB_ENOMEM, "out of memory");
  lb_err rc = LB_OK;
  int loaded = 0;
  for (int i = 0; i < f->n_data && !rc; i++, loaded++) {
    data_series_init(&tmp[i]);
    rc = data_load_file(f->data[i], DATA_FMT_AUTO, &tmp[i], NULL, eb);
  }
  if (!rc) qsort(tmp, (size_t)f->n_data, sizeof *tmp, by_first_ts);
  for (int i = 0; i < f->n_data && !rc; i++) {
    int k = symbol_slot(s, tmp[i].symbol);
    if (k < 0) {
      if (s->n == ENGINE_MAX_SYMBOLS) {
        rc = lb_fail(eb, LB_EINVAL, "more than %d symbols in the data files", ENGINE_MAX_SYMBOLS);
        break;
      }
      k = (int)s->n++;
      data_series_init(&s->series[k]);
    }
    rc = engine_series_append(&s->series[k], &tmp[i], eb);
  }
  for (int i = 0; i < loaded; i++) data_series_close(&tmp[i]);
  free(tmp);
  return rc;
}

static lb_err parse_when(const char *s, const char *opt, lb_ms *out, lb_errbuf *eb) {
  *out = 0;
  if (!s) return LB_OK;
  if (lb_time_parse_iso(s, out) != LB_OK)
    return lb_fail(eb, LB_EINVAL, "%s %s is not a date (use YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)", opt, s);
  return LB_OK;
}

/* Exchange history has rows off the time grid (Binance spot, Feb 2018:
 * hh:28:14 open times after an outage).  Bucketing every row to its UTC
 * grid slot makes the feed regular again; a slot hit twice is merged. */
static lb_err align_to_grid(data_series *x, lb_errbuf *eb) {
  bool aligned = true;
  for (size_t i = 0; i < x->n && aligned; i++)
    aligned = data_bucket_start(x->c[i].ts, x->timeframe) == x->c[i].ts;
  if (aligned) return LB_OK;
  data_series out;
  lb_err rc = data_resample(x, x->timeframe, &out, eb);
  if (rc) return rc;
  data_series_close(x);
  *x = out;
  return LB_OK;
}

static lb_err slice_and_detail(engine_replay_setup *s, const engine_replay_files *f, lb_errbuf *eb) {
  lb_ms from, to, detail = 0;
  lb_err rc = parse_when(f->from, "--from", &from, eb);
  if (!rc) rc = parse_when(f->to, "--to", &to, eb);
  if (rc) return rc;
  if (from && to && to <= from) return lb_fail(eb, LB_EINVAL, "--to %s is not after --from %s", f->to, f->from);
  if (f->detail && lb_timeframe_parse(f->detail, &detail) != LB_OK)
    return lb_fail(eb, LB_EINVAL, "--timeframe-detail %s is not a timeframe", f->detail);
  s->data_tf = s->series[0].timeframe;
  for (size_t i = 0; i < s->n; i++) {
    data_series *x = &s->series[i];
    if (from || to) data_series_slice(x, from, to);
    if (x->n == 0)
      return lb_fail(eb, LB_EINVAL, "%s has no candles between %s and %s", x->symbol,
                     f->from ? f->from : "the start", f->to ? f->to : "the end");
    rc = align_to_grid(x, eb);
    if (rc) return rc;
    if (detail && detail != x->timeframe) {
      char a[16];
      if (detail < x->timeframe || detail % x->timeframe != 0)
        return lb_fail(eb, LB_EINVAL, "--timeframe-detail %s cannot be built from %s candles of %s",
                       f->detail, lb_timeframe_name(x->timeframe, a, sizeof a), x->symbol);
      data_series out;
      data_series_init(&out);
      rc = data_resample(x, detail, &out, eb);
      if (rc) return rc;
      snprintf(out.symbol, sizeof out.symbol, "%s", x->symbol);
      data_series_close(x);
      *x = out;
    }
    s->series_ptr[i] = x;
  }
  return LB_OK;
}

static lb_err load_funding(engine_replay_setup *s, const engine_replay_files *f, lb_errbuf *eb) {
  for (int i = 0; i < f->n_funding; i++) {
    char sym[LB_SYMBOL_MAX];
    data_symbol_from_name(f->funding[i], sym, sizeof sym);
    int k = symbol_slot(s, sym);
    if (k < 0) return lb_fail(eb, LB_EINVAL, "funding file %s is for %s, which has no candle file", f->funding[i], sym);
    if (s->funding_ptr[k])
      return lb_fail(eb, LB_EINVAL, "two funding files for %s (%s)", sym, f->funding[i]);
    data_funding_init(&s->funding[k]);
    lb_err rc = data_load_funding(f->funding[i], &s->funding[k], eb);
    if (rc) return rc;
    s->funding_ptr[k] = &s->funding[k];
  }
  return LB_OK;
}

static lb_err params_from(engine_replay_setup *s, const engine_replay_files *f, const lb_config *cfg,
                          lb_errbuf *eb) {
  engine_replay_params *p = &s->params;
  lb_err rc = engine_params_from_config(cfg, &p->engine, eb);
  if (rc) return rc;
  if (f->timeframe) {
    rc = engine_parse_timeframes(f->timeframe, cfg->timeframes, p->engine.timeframes, &p->engine.n_tf, eb);
    if (rc) return lb_fail(eb, LB_EINVAL, "--timeframe: %s", eb->msg);
  }
  /* The technical analyst is a panel of one: it decides alone. */
  p->engine.consensus.min_agree = 1;
  p->engine.consensus.allow_single = true;
  xchg_sim_params_default(&p->sim);
  p->sim.initial_balance = cfg->initial_capital;
  rc = dec_of(cfg->taker_fee, &p->sim.taker_fee, "TAKER_FEE", eb);
  if (!rc) rc = dec_of(cfg->maker_fee, &p->sim.maker_fee, "MAKER_FEE", eb);
  if (!rc) rc = dec_of(cfg->slippage_bps / 10000.0, &p->sim.slippage, "SLIPPAGE_BPS", eb);
  if (!rc) rc = dec_of(cfg->funding_rate, &p->sim.funding_rate, "FUNDING_RATE", eb);
  if (rc) return rc;
  rc = strategy_technical_panel_new(NULL, &s->panel, eb);
  if (rc) return rc;
  p->panel = s->panel;
  p->series = s->series_ptr;
  p->funding = s->funding_ptr;
  p->n_series = s->n;
  return LB_OK;
}

lb_err engine_replay_setup_load(engine_replay_setup *s, const engine_replay_files *f,
                                const lb_config *cfg, lb_errbuf *eb) {
  memset(s, 0, sizeof *s);
  lb_err rc = f->n_data > 0 ? LB_OK : lb_fail(eb, LB_EINVAL, "no data file given");
  if (!rc) rc = load_data(s, f, eb);
  if (!rc) rc = slice_and_detail(s, f, eb);
  if (!rc) rc = load_funding(s, f, eb);
  if (!rc) rc = params_from(s, f, cfg, eb);
  if (rc) engine_replay_setup_close(s);
  return rc;
}

void engine_replay_setup_close(engine_replay_setup *s) {
  for (size_t i = 0; i < ENGINE_MAX_SYMBOLS; i++) {
    if (i < s->n) data_series_close(&s->series[i]);
    if (s->funding_ptr[i]) data_funding_close(&s->funding[i]);
  }
  if (s->panel) s->panel->destroy(s->panel);
  memset(s, 0, sizeof *s);
}

void engine_replay_report_info(const engine_replay_setup *s, const engine_replay_files *f,
                               const lb_config *cfg, engine_report_info *out) {
  memset(out, 0, sizeof *out);
  for (int i = 0; i < f->n_data && out->n_files < 8; i++)
    snprintf(out->files[out->n_files++], sizeof out->files[0], "%s", f->data[i]);
  out->n_files_total = f->n_data;
  size_t off = 0;
  for (int i = 0; i < s->params.engine.n_tf && off < sizeof out->timeframes; i++) {
    char tf[16];
    off += (size_t)snprintf(out->timeframes + off, sizeof out->timeframes - off, "%s%s", i ? "," : "",
                            lb_timeframe_name(s->params.engine.timeframes[i], tf, sizeof tf));
  }
  out->feed_tf = s->n ? s->series[0].timeframe : 0;
  snprintf(out->panel, sizeof out->panel, "%s", s->panel ? s->panel->name : "none");
  out->initial_capital = cfg->initial_capital;
  out->max_leverage = (int)cfg->max_leverage;
  out->max_risk_per_trade = cfg->max_risk_per_trade;
  out->slippage_bps = cfg->slippage_bps;
  out->taker_fee = cfg->taker_fee;
  out->funding_rate = cfg->funding_rate;
}
