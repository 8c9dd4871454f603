/* resample.c -- higher timeframes from lower ones, aligned to UTC (see data.h).
 *
 * Buckets start at epoch multiples of the timeframe (what exchanges use for
 * 1m..1d), except weeks, which start on Monday 00:00 UTC like Binance's 1w
 * klines.  Batch and streaming share bucket_merge() so they cannot disagree.
 */
#include <stdio.h>

#include "data/data.h"

lb_ms data_bucket_start(lb_ms t, lb_ms tf) {
  if (tf == 7 * LB_MS_DAY) return lb_time_week_start(t);
  return lb_time_floor(t, tf);
}

static void bucket_open(data_candle *cur, const data_candle *c, lb_ms start) {
  *cur = *c;
  cur->ts = start;
}

static void bucket_merge(data_candle *cur, const data_candle *c) {
  if (c->high > cur->high) cur->high = c->high;
  if (c->low < cur->low) cur->low = c->low;
  cur->close = c->close;
  cur->volume += c->volume;
}

lb_err data_resample(const data_series *in, lb_ms tf, data_series *out, lb_errbuf *eb) {
  data_series_init(out);
  if (in->timeframe <= 0)
    return lb_fail(eb, LB_EINVAL, "%s: input timeframe unknown", in->symbol);
  if (tf < in->timeframe || tf % in->timeframe != 0) {
    char a[8], b[8];
    return lb_fail(eb, LB_EINVAL, "%s: cannot resample %s bars into %s (not a multiple)", in->symbol,
                   lb_timeframe_name(in->timeframe, a, sizeof a), lb_timeframe_name(tf, b, sizeof b));
  }
  snprintf(out->symbol, sizeof out->symbol, "%s", in->symbol);
  out->timeframe = tf;
  data_resampler r;
  data_resampler_init(&r, in->timeframe, tf);
  data_candle done[2];
  for (size_t i = 0; i < in->n; i++) {
    int k = data_resampler_push(&r, &in->c[i], done);
    for (int j = 0; j < k; j++)
      if (data_series_push(out, &done[j])) {
        data_series_close(out);
        return lb_fail(eb, LB_ENOMEM, "out of memory");
      }
  }
  /* The last bucket stays open unless the input reached its end: it is not
   * a complete bar yet. */
  return LB_OK;
}

void data_resampler_init(data_resampler *r, lb_ms base_tf, lb_ms tf) {
  r->tf = tf;
  r->base_tf = base_tf;
  r->open = false;
}

int data_resampler_push(data_resampler *r, const data_candle *c, data_candle out[2]) {
  int n = 0;
  lb_ms start = data_bucket_start(c->ts, r->tf);
  if (r->open && start != r->cur.ts) { /* a gap skipped the end of the open bucket */
    out[n++] = r->cur;
    r->open = false;
  }
  if (!r->open) {
    bucket_open(&r->cur, c, start);
    r->open = true;
  } else {
    bucket_merge(&r->cur, c);
  }
  lb_ms end = r->tf == 7 * LB_MS_DAY ? start + 7 * LB_MS_DAY : start + r->tf;
  if (c->ts + r->base_tf >= end) {
    out[n++] = r->cur;
    r->open = false;
  }
  return n;
}
