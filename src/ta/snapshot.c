/* snapshot.c -- one symbol across timeframes, and its deterministic JSON.
 *
 * The JSON is what the LLM reads and what the AI cache hashes, so the same
 * snapshot must always give the same bytes: fields are added in one fixed
 * order, numbers are printed with 10 significant digits (enough for any
 * price or indicator, short enough for a prompt), unknown values are null.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ta/ta.h"

lb_err ta_snapshot_build(const ta_frame *const *frames, int n, const char *symbol,
                         ta_snapshot *out) {
  memset(out, 0, sizeof *out);
  if (!frames || n < 1 || n > TA_MAX_TF) return LB_EINVAL;
  for (int i = 0; i < n; i++) {
    if (!frames[i]) return LB_EINVAL;
    for (int j = 0; j < i; j++)
      if (ta_frame_tf(frames[j]) == ta_frame_tf(frames[i])) return LB_EINVAL;
  }
  /* Insertion sort by timeframe: at most TA_MAX_TF entries. */
  const ta_frame *sorted[TA_MAX_TF];
  for (int i = 0; i < n; i++) {
    int k = i;
    while (k > 0 && ta_frame_tf(sorted[k - 1]) > ta_frame_tf(frames[i])) {
      sorted[k] = sorted[k - 1];
      k--;
    }
    sorted[k] = frames[i];
  }
  snprintf(out->symbol, sizeof out->symbol, "%s", symbol ? symbol : "");
  out->n = n;
  int trend[TA_MAX_TF];
  for (int i = 0; i < n; i++) {
    ta_frame_view(sorted[i], &out->tf[i]);
    trend[i] = out->tf[i].trend;
  }
  out->ts = out->tf[0].ts;
  out->confluence = ta_confluence(trend, n, &out->n_agree, &out->n_up, &out->n_down);
  return LB_OK;
}

/* ==== JSON ==== */

typedef struct {
  json_t *o;
  bool failed;
} jobj;

static void put(jobj *j, const char *key, json_t *v) {
  if (!v || json_object_set_new(j->o, key, v) != 0) j->failed = true;
}

static void put_num(jobj *j, const char *key, double x) {
  put(j, key, isfinite(x) ? json_real(x) : json_null());
}

static void put_int(jobj *j, const char *key, json_int_t x) { put(j, key, json_integer(x)); }

static void put_time(jobj *j, const char *key, lb_ms t) {
  char iso[LB_TIME_ISO_LEN];
  lb_time_fmt_iso(t, iso, sizeof iso);
  put(j, key, json_string(iso));
}

static json_t *candle_json(const data_candle *c) {
  json_t *a = json_array();
  if (!a) return NULL;
  const double v[] = {c->open, c->high, c->low, c->close, c->volume};
  bool ok = json_array_append_new(a, json_integer(c->ts)) == 0;
  for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
    ok = ok && json_array_append_new(a, isfinite(v[i]) ? json_real(v[i]) : json_null()) == 0;
  if (!ok) {
    json_decref(a);
    return NULL;
  }
  return a;
}

static json_t *view_json(const ta_view *v) {
  jobj j = {json_object(), false};
  if (!j.o) return NULL;
  char tfname[16];
  put(&j, "tf", json_string(lb_timeframe_name(v->tf, tfname, sizeof tfname)));
  put_int(&j, "ts", v->ts);
  put_time(&j, "time", v->ts);
  put_int(&j, "bars", v->bars);
  put(&j, "ready", json_boolean(v->ready));
  const struct {
    const char *k;
    double x;
  } nums[] = {
      {"open", v->open},
      {"high", v->high},
      {"low", v->low},
      {"close", v->close},
      {"volume", v->volume},
      {"sma20", v->sma20},
      {"ema20", v->ema20},
      {"ema50", v->ema50},
      {"ema200", v->ema200},
      {"rsi14", v->rsi14},
      {"macd", v->macd},
      {"macd_signal", v->macd_signal},
      {"macd_hist", v->macd_hist},
      {"atr14", v->atr14},
      {"natr14", v->natr14},
      {"bb_upper", v->bb_upper},
      {"bb_middle", v->bb_middle},
      {"bb_lower", v->bb_lower},
      {"bb_width", v->bb_width},
      {"bb_width_rank", v->bb_width_rank},
      {"adx14", v->adx14},
      {"plus_di14", v->plus_di14},
      {"minus_di14", v->minus_di14},
      {"stoch_k", v->stoch_k},
      {"stoch_d", v->stoch_d},
      {"obv", v->obv},
      {"vwap", v->vwap},
      {"cci", v->cci},
      {"mfi14", v->mfi14},
      {"willr14", v->willr14},
      {"roc", v->roc},
      {"psar", v->psar},
      {"volume_sma20", v->volume_sma20},
  };
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) put_num(&j, nums[i].k, nums[i].x);
  put(&j, "regime", json_string(lb_regime_name(v->regime)));
  put_int(&j, "trend", v->trend);
  put_num(&j, "support", v->support);
  put_num(&j, "resistance", v->resistance);
  put_num(&j, "range_pos", v->range_pos);
  put(&j, "mid_range", json_boolean(v->mid_range));
  put_num(&j, "swing_low", v->swing_low);
  put_num(&j, "swing_high", v->swing_high);
  put_int(&j, "div_macd", v->div_macd);
  put_int(&j, "div_rsi", v->div_rsi);
  json_t *rec = json_array();
  for (int i = 0; rec && i < v->n_recent; i++)
    if (json_array_append_new(rec, candle_json(&v->recent[i])) != 0) j.failed = true;
  put(&j, "recent", rec);
  if (j.failed) {
    json_decref(j.o);
    return NULL;
  }
  return j.o;
}

char *ta_snapshot_to_json(const ta_snapshot *s) {
  jobj j = {json_object(), false};
  if (!j.o) return NULL;
  put(&j, "symbol", json_string(s->symbol));
  put_int(&j, "ts", s->ts);
  put_time(&j, "time", s->ts);
  put_int(&j, "confluence", s->confluence);
  put_int(&j, "n_agree", s->n_agree);
  put_int(&j, "n_up", s->n_up);
  put_int(&j, "n_down", s->n_down);
  json_t *tfs = json_array();
  for (int i = 0; tfs && i < s->n && i < TA_MAX_TF; i++)
    if (json_array_append_new(tfs, view_json(&s->tf[i])) != 0) j.failed = true;
  put(&j, "timeframes", tfs);
  char *text = j.failed
                   ? NULL
                   : json_dumps(j.o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10));
  json_decref(j.o);
  return text;
}
