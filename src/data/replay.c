/* replay.c -- several series merged into one time-ordered stream (see data.h).
 *
 * A linear scan over the cursors per step: the number of symbols is small
 * (tens), and the scan keeps ties in series order, which makes replays
 * deterministic.
 */
#include <stdio.h>
#include <stdlib.h>

#include "data/data.h"

lb_err data_replay_init(data_replay *r, const data_series *const *series, size_t n, int repeat) {
  r->series = series;
  r->nseries = n;
  r->repeat = repeat < 1 ? 1 : repeat;
  r->round = 0;
  r->shift = 0;
  r->pos = calloc(n ? n : 1, sizeof *r->pos);
  if (!r->pos) return LB_ENOMEM;
  lb_ms first = INT64_MAX, last = INT64_MIN, step = INT64_MAX;
  for (size_t i = 0; i < n; i++) {
    const data_series *s = series[i];
    if (s->n == 0) continue;
    if (s->c[0].ts < first) first = s->c[0].ts;
    if (s->c[s->n - 1].ts > last) last = s->c[s->n - 1].ts;
    if (s->timeframe > 0 && s->timeframe < step) step = s->timeframe;
  }
  if (step == INT64_MAX) step = LB_MS_MINUTE;
  /* One span = the set's duration plus one bar, rounded up to whole days so
   * repeated rounds keep bars on the same UTC grid (daily breakdowns and
   * funding times stay aligned). */
  lb_ms span = first <= last ? last - first + step : 0;
  r->span = ((span + LB_MS_DAY - 1) / LB_MS_DAY) * LB_MS_DAY;
  return LB_OK;
}

void data_replay_close(data_replay *r) {
  free(r->pos);
  r->pos = NULL;
}

bool data_replay_next(data_replay *r, size_t *which, data_candle *out) {
  for (;;) {
    size_t best = r->nseries;
    lb_ms best_ts = INT64_MAX;
    for (size_t i = 0; i < r->nseries; i++) {
      const data_series *s = r->series[i];
      if (r->pos[i] < s->n && s->c[r->pos[i]].ts < best_ts) {
        best_ts = s->c[r->pos[i]].ts;
        best = i;
      }
    }
    if (best < r->nseries) {
      *out = r->series[best]->c[r->pos[best]++];
      out->ts += r->shift;
      *which = best;
      return true;
    }
    if (++r->round >= r->repeat || r->span == 0) return false;
    r->shift += r->span;
    for (size_t i = 0; i < r->nseries; i++) r->pos[i] = 0;
  }
}
