/* redflags.c -- the conditions under which no analyst is asked (see strategy.h).
 *
 * Each flag is a small test on the entry timeframe's view, except the
 * timeframe disagreement, which needs the whole snapshot.  All of them are
 * evaluated (the mask records every one, for the report's "why no trade"
 * table) but the first one found is what a HOLD says first.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "strategy/strategy.h"

const char *strategy_redflag_name(strategy_redflag f) {
  static const char *const names[] = {
#define STRATEGY_RF_NAME_(id, name) name,
      STRATEGY_RF_MAP(STRATEGY_RF_NAME_)
#undef STRATEGY_RF_NAME_
  };
  return (unsigned)f < STRATEGY_RF__COUNT ? names[f] : "unknown";
}

void strategy_redflag_params_default(strategy_redflag_params *p) {
  p->enabled = true;
  p->rsi_high = 80;
  p->rsi_low = 20;
  p->min_volume_ratio = 0.5;
  p->quiet = false;
}

lb_err strategy_redflag_params_check(const strategy_redflag_params *p, lb_errbuf *eb) {
  if (!(p->rsi_high >= 50 && p->rsi_high <= 100))
    return lb_fail(eb, LB_ERANGE, "rsi_high %g outside 50..100", p->rsi_high);
  if (!(p->rsi_low >= 0 && p->rsi_low <= 50))
    return lb_fail(eb, LB_ERANGE, "rsi_low %g outside 0..50", p->rsi_low);
  if (!(p->min_volume_ratio >= 0 && p->min_volume_ratio <= 10))
    return lb_fail(eb, LB_ERANGE, "min_volume_ratio %g outside 0..10", p->min_volume_ratio);
  return LB_OK;
}

static void raise_flag(strategy_redflags *out, bool quiet, strategy_redflag f, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void raise_flag(strategy_redflags *out, bool quiet, strategy_redflag f, const char *fmt, ...) {
  if (!out->mask) out->first = f;
  out->mask |= 1u << f;
  if (quiet) return;
  size_t len = strlen(out->reason);
  if (len + 3 >= sizeof out->reason) return;
  if (len) {
    memcpy(out->reason + len, "; ", 3);
    len += 2;
  }
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out->reason + len, sizeof out->reason - len, fmt, ap);
  va_end(ap);
}

static const char *tf_name(lb_ms tf, char *buf, size_t n) { return lb_timeframe_name(tf, buf, n); }

static void quick(double rsi, double volume, double volume_sma, const char *tf,
                  const strategy_redflag_params *p, strategy_redflags *out) {
  if (rsi > p->rsi_high)
    raise_flag(out, p->quiet, STRATEGY_RF_RSI_HIGH, "RSI(14) %.1f > %.0f on %s", rsi, p->rsi_high, tf);
  if (rsi < p->rsi_low)
    raise_flag(out, p->quiet, STRATEGY_RF_RSI_LOW, "RSI(14) %.1f < %.0f on %s", rsi, p->rsi_low, tf);
  if (isfinite(volume_sma) && volume < p->min_volume_ratio * volume_sma)
    raise_flag(out, p->quiet, STRATEGY_RF_LOW_VOLUME, "volume %.4g < %.2f x 20-bar average %.4g on %s",
               volume, p->min_volume_ratio, volume_sma, tf);
}

bool strategy_redflags_quick(double rsi, double volume, double volume_sma, lb_ms tf,
                             const strategy_redflag_params *p, strategy_redflags *out) {
  memset(out, 0, sizeof *out);
  if (!p->enabled) return false;
  char name[16] = "";
  if (!p->quiet) tf_name(tf, name, sizeof name);
  quick(rsi, volume, volume_sma, name, p, out);
  return out->mask != 0;
}

bool strategy_redflags_view(const ta_view *v, const strategy_redflag_params *p,
                            strategy_redflags *out) {
  memset(out, 0, sizeof *out);
  if (!p->enabled) return false;
  char tf[16] = "";
  if (!p->quiet) tf_name(v->tf, tf, sizeof tf);
  if (!v->ready) {
    raise_flag(out, p->quiet, STRATEGY_RF_WARMUP, "indicators warming up on %s (%lld bars)", tf,
               (long long)v->bars);
    return true;
  }
  quick(v->rsi14, v->volume, v->volume_sma20, tf, p, out);
  if (v->mid_range)
    raise_flag(out, p->quiet, STRATEGY_RF_MID_RANGE,
               "price %.6g in the middle of support %.6g / resistance %.6g on %s", v->close,
               v->support, v->resistance, tf);
  if ((v->trend > 0 && v->div_macd < 0) || (v->trend < 0 && v->div_macd > 0))
    raise_flag(out, p->quiet, STRATEGY_RF_DIVERGENCE, "%s MACD divergence against the %s trend on %s",
               v->div_macd > 0 ? "bullish" : "bearish", v->trend > 0 ? "up" : "down", tf);
  if (v->regime == LB_REGIME_VOLATILE)
    raise_flag(out, p->quiet, STRATEGY_RF_VOLATILE, "volatile regime on %s (NATR %.2f%%)", tf, v->natr14);
  return out->mask != 0;
}

bool strategy_redflags_check(const ta_snapshot *s, const strategy_redflag_params *p,
                             strategy_redflags *out) {
  memset(out, 0, sizeof *out);
  if (!p->enabled) return false;
  if (s->n <= 0) {
    raise_flag(out, p->quiet, STRATEGY_RF_WARMUP, "no timeframe in the snapshot");
    return true;
  }
  strategy_redflags_view(&s->tf[0], p, out);
  if (out->mask & (1u << STRATEGY_RF_WARMUP)) return true;
  for (int i = 1; i < s->n; i++)
    if (!s->tf[i].ready) {
      char tf[16];
      raise_flag(out, p->quiet, STRATEGY_RF_WARMUP, "indicators warming up on %s (%lld bars)",
                 tf_name(s->tf[i].tf, tf, sizeof tf), (long long)s->tf[i].bars);
      return true;
    }
  if (s->confluence == 0) {
    char list[128] = "";
    size_t off = 0;
    for (int i = 0; i < s->n && off < sizeof list && !p->quiet; i++) {
      char tf[16];
      int t = s->tf[i].trend;
      off += (size_t)snprintf(list + off, sizeof list - off, "%s%s %s", i ? ", " : "",
                              tf_name(s->tf[i].tf, tf, sizeof tf),
                              t > 0 ? "up" : t < 0 ? "down" : "flat");
    }
    raise_flag(out, p->quiet, STRATEGY_RF_TF_DISAGREE, "timeframes disagree (%s)", list);
  }
  return out->mask != 0;
}

bool strategy_redflags_against(const ta_view *v, lb_action side, char *why, size_t n) {
  int dir = side == LB_ACTION_LONG ? 1 : side == LB_ACTION_SHORT ? -1 : 0;
  if (dir == 0 || v->div_macd == 0 || v->div_macd == dir) return false;
  if (why && n)
    snprintf(why, n, "%s MACD divergence against the %s", v->div_macd > 0 ? "bullish" : "bearish",
             lb_action_name(side));
  return true;
}
