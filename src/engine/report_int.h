/* report_int.h -- the collector's state, shared by report.c (figures) and report_out.c (renderings).
 *
 * Private to src/engine: other modules see only report.h.
 */
#ifndef LB_ENGINE_REPORT_INT_H
#define LB_ENGINE_REPORT_INT_H

#include <stdio.h>

#include <jansson.h>

#include "engine/report.h"

#define ENGINE_CURVE_MAX 2048   /* equity curve buckets kept */
#define ENGINE_REPORT_EVENTS 64 /* breaker events and alerts kept for the report */
#define ENGINE_ALERT_KINDS 8

typedef struct {
  lb_ms day;     /* 00:00 UTC */
  double equity; /* at the last mark of the day */
} engine_day;

typedef struct {
  lb_ms t;       /* last mark in the bucket */
  double equity; /* at t */
  double low;    /* lowest mark in the bucket */
} engine_curve_pt;

typedef struct {
  engine_alert kind;
  lb_ms time;
  char msg[200];
} engine_alert_rec;

struct engine_report {
  engine_report_info info;
  engine_trade *trades;
  size_t n, cap;
  long opened;
  lb_ms exposure_ms;
  engine_drawdown dd;
  lb_dec peak_dec, max_dd_usd;
  lb_dec min_bal, max_bal;
  bool marked;
  engine_day *days;
  size_t nd, capd;
  lb_ms day_end;    /* end of the last day in days[] */
  engine_curve_pt curve[ENGINE_CURVE_MAX];
  size_t nc;
  lb_ms bucket, curve_origin;
  lb_ms bucket_end; /* end of the last point's bucket */
  risk_breaker_event breakers[ENGINE_REPORT_EVENTS];
  int n_breakers;
  long trips;
  engine_alert_rec alerts[ENGINE_REPORT_EVENTS];
  int n_alerts;
  long alert_count[ENGINE_ALERT_KINDS];
  /* engine_report_finish */
  bool finished, oom;
  engine_ledger led;
  engine_counters cnt;
  xchg_sim_stats sim;
  bool have_sim;
  engine_trade open_trade;
  lb_dec open_mark, open_unreal;
  int n_open;
  lb_ms first, last;
};

void engine_group_add(engine_group *g, const engine_trade *t);

/* JSON values as every engine rendering writes them (report_out.c):
 * money as exact decimal text, a non-finite real as null, time as ISO
 * 8601 UTC (0: null). */
json_t *engine_json_money(lb_dec d);
json_t *engine_json_real(double x);
json_t *engine_json_time(lb_ms t);

/* The summary figures under the names of `levbot backtest --json`.  With
 * the report r, all of them; with r NULL (levbot optimize's rows), those
 * the statistics alone give, in the same order and with the same rules. */
json_t *engine_stats_json(const engine_stats *s, const engine_report *r);

#endif
