/* report_out.c -- the report's renderings: text for the terminal, JSON, CSV and one offline HTML file.
 *
 * Every number is formatted here with a fixed format (money with two
 * decimals in text and HTML, exact decimal strings in JSON and CSV), and no
 * rendering mentions when it was generated: the same run gives the same
 * bytes (the determinism test compares JSON files).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/report_int.h"

/* ==== Formatting helpers ==== */

static const char *money(lb_dec d, bool sign, char *buf, size_t n) {
  char tmp[LB_DEC_STRLEN];
  lb_dec_fmt_places(d, 2, tmp, sizeof tmp);
  size_t off = 0, len = strlen(tmp);
  if (sign && d > 0 && strcmp(tmp, "0.00") != 0 && n > 1) buf[off++] = '+';
  if (off + len >= n) len = n - off - 1;
  memcpy(buf + off, tmp, len);
  buf[off + len] = '\0';
  return buf;
}

static const char *exact(lb_dec d, char *buf, size_t n) {
  lb_dec_fmt(d, buf, n);
  return buf;
}

static const char *when(lb_ms t, char *buf, size_t n) {
  lb_tm tm;
  lb_time_split(t, &tm);
  snprintf(buf, n, "%04d-%02d-%02d %02d:%02d", tm.year, tm.month, tm.day, tm.hour, tm.minute);
  return buf;
}

static const char *iso(lb_ms t, char *buf, size_t n) {
  lb_time_fmt_iso(t, buf, n);
  return buf;
}

static const char *dur(lb_ms ms, char *buf, size_t n) {
  long m = (long)(ms / LB_MS_MINUTE);
  if (m >= 1440) snprintf(buf, n, "%ldd %02ldh", m / 1440, (m % 1440) / 60);
  else if (m >= 60) snprintf(buf, n, "%ldh %02ldm", m / 60, m % 60);
  else snprintf(buf, n, "%ldm", m);
  return buf;
}

static const char *ratio(double x, char *buf, size_t n) {
  if (isinf(x)) snprintf(buf, n, x > 0 ? "inf" : "-inf");
  else if (isnan(x)) snprintf(buf, n, "n/a");
  else snprintf(buf, n, "%.2f", x);
  return buf;
}

static const char *side_name(lb_action a) { return a == LB_ACTION_SHORT ? "SHORT" : "LONG"; }

/* ==== Groups (per symbol, per exit reason, per period) ==== */

#define MAX_GROUPS 64

typedef struct {
  char key[LB_SYMBOL_MAX];
  engine_group g;
} keyed_group;

static int by_symbol(const engine_report *r, keyed_group *out) {
  int n = 0;
  for (size_t i = 0; i < r->n; i++) {
    const engine_trade *t = &r->trades[i];
    int k = 0;
    while (k < n && strcmp(out[k].key, t->symbol) != 0) k++;
    if (k == n) {
      if (n == MAX_GROUPS) continue;
      memset(&out[n], 0, sizeof out[n]);
      snprintf(out[n].key, sizeof out[n].key, "%s", t->symbol);
      n++;
    }
    engine_group_add(&out[k].g, t);
  }
  for (int i = 1; i < n; i++) /* alphabetical: the order must not depend on history */
    for (int j = i; j > 0 && strcmp(out[j].key, out[j - 1].key) < 0; j--) {
      keyed_group tmp = out[j];
      out[j] = out[j - 1];
      out[j - 1] = tmp;
    }
  return n;
}

static void by_reason(const engine_report *r, engine_group *out) {
  memset(out, 0, ENGINE_EXIT__COUNT * sizeof *out);
  for (size_t i = 0; i < r->n; i++) {
    unsigned k = (unsigned)r->trades[i].exit_reason;
    if (k < ENGINE_EXIT__COUNT) engine_group_add(&out[k], &r->trades[i]);
  }
}

typedef struct {
  lb_ms start;
  engine_group g;
  double equity; /* at the period's last daily close */
} period;

static lb_ms period_start(lb_ms t, unsigned kind) {
  if (kind == ENGINE_BREAKDOWN_WEEK) return lb_time_week_start(t);
  if (kind == ENGINE_BREAKDOWN_MONTH) return lb_time_month_start(t);
  return lb_time_day_start(t);
}

/* Periods from the daily closes (every period with data is listed, with
 * or without trades); trades go to the period of their exit.  Caller
 * frees. */
static period *periods(const engine_report *r, unsigned kind, size_t *n) {
  *n = 0;
  period *p = r->nd ? calloc(r->nd, sizeof *p) : NULL;
  if (!p) return NULL;
  for (size_t i = 0; i < r->nd; i++) {
    lb_ms s = period_start(r->days[i].day, kind);
    if (*n == 0 || p[*n - 1].start != s) p[(*n)++].start = s;
    p[*n - 1].equity = r->days[i].equity;
  }
  for (size_t i = 0; i < r->n; i++) {
    lb_ms s = period_start(lb_time_day_start(r->trades[i].exit_time - 1), kind);
    for (size_t k = 0; k < *n; k++)
      if (p[k].start == s) {
        engine_group_add(&p[k].g, &r->trades[i]);
        break;
      }
  }
  return p;
}

/* ==== Text ==== */

static void print_header(const engine_report *r, const engine_stats *s, FILE *f) {
  char a[32], b[32], c[32], tfb[16];
  const engine_report_info *in = &r->info;
  double days = (double)(s->end - s->start) / (double)LB_MS_DAY;
  const char *title = in->title[0] ? in->title : "levbot backtest";
  if (in->feed_tf > 0)
    fprintf(f, "%s  %s .. %s UTC  (%.1f days, %ld candles of %s)\n", title,
            when(s->start, a, sizeof a), when(s->end, b, sizeof b), days, s->candles,
            lb_timeframe_name(in->feed_tf, tfb, sizeof tfb));
  else /* figures from recorded trades (levbot report), not from candles */
    fprintf(f, "%s  %s .. %s UTC  (%.1f days)\n", title, when(s->start, a, sizeof a),
            when(s->end, b, sizeof b), days);
  for (int i = 0; i < in->n_files; i++) fprintf(f, "  data: %s\n", in->files[i]);
  if (in->n_files_total > in->n_files)
    fprintf(f, "  data: ... and %d more files\n", in->n_files_total - in->n_files);
  fprintf(f, "  analyst %s; timeframes %s; capital %s USDT; max leverage %dx; risk %.1f %% per trade\n",
          in->panel[0] ? in->panel : "?", in->timeframes, money(s->initial, false, c, sizeof c),
          in->max_leverage, in->max_risk_per_trade * 100);
  if (in->feed_tf > 0)
    fprintf(f, "  fills on %s candles, slippage %.1f bps, taker fee %.3f %%, funding %.4f %% per 8 h when "
               "the data has none\n\n",
            tfb, in->slippage_bps, in->taker_fee * 100, in->funding_rate * 100);
  else
    fprintf(f, "\n");
}

/* Appends " over 3 of 5 trades" to a figure when not every trade counts. */
static void over_known(char *buf, size_t n, int known, int total) {
  size_t k = strlen(buf);
  if (known < total && k < n) snprintf(buf + k, n - k, " over %d of %d trades", known, total);
}

static void print_summary(const engine_report *r, const engine_stats *s, FILE *f) {
  char a[32], b[32], c[32], d[32], e[32];
  fprintf(f, "SUMMARY\n");
  fprintf(f, "  %-26s %d  (%d wins, %d draws, %d losses; win rate %.1f %%)\n", "Trades", s->all.trades,
          s->all.wins, s->all.draws, s->all.losses, s->win_rate * 100);
  fprintf(f, "  %-26s %s USDT  (%+.2f %% of the initial capital, closed trades)\n", "Total profit",
          money(s->net_closed, true, a, sizeof a),
          s->initial > 0 ? 100 * lb_dec_to_double(s->net_closed) / lb_dec_to_double(s->initial) : 0.0);
  fprintf(f, "  %-26s %+.2f USDT per trade  (%+.2f %% of capital)\n", "Average profit",
          s->avg_profit_usd, s->avg_profit_pct * 100);
  fprintf(f, "  %-26s %s\n", "Profit factor", ratio(s->profit_factor, a, sizeof a));
  /* R figures average over the trades whose plan is known (trades
   * recorded before the plan was kept have none): unknown is said. */
  char rx[64] = "R unknown", rrx[64] = "unknown";
  if (s->r_known) {
    snprintf(rx, sizeof rx, "%+.2f R", s->expectancy_r);
    over_known(rx, sizeof rx, s->r_known, s->all.trades);
  }
  if (s->rr_known) {
    snprintf(rrx, sizeof rrx, "%.2f : 1", s->avg_planned_rr);
    over_known(rrx, sizeof rrx, s->rr_known, s->all.trades);
  }
  fprintf(f, "  %-26s %+.2f USDT per trade  (%s)\n", "Expectancy", s->expectancy_usd, rx);
  fprintf(f, "  %-26s %s planned  (%s realized on average)\n", "Average R:R", rrx, rx);
  fprintf(f, "  %-26s %s / %s / %s\n", "Sharpe / Sortino / Calmar", ratio(s->sharpe, a, sizeof a),
          ratio(s->sortino, b, sizeof b), ratio(s->calmar, c, sizeof c));
  fprintf(f, "  %-26s %.2f %%\n", "CAGR", s->cagr * 100);
  if (s->dd.max_dd > 0)
    fprintf(f, "  %-26s %.2f USDT (%.2f %%)  %s .. %s\n", "Max drawdown", s->dd.max_dd_abs,
            s->dd.max_dd * 100, when(s->dd.dd_start, a, sizeof a), when(s->dd.dd_end, b, sizeof b));
  else
    fprintf(f, "  %-26s none\n", "Max drawdown");
  fprintf(f, "  %-26s %d wins, %d losses\n", "Max consecutive", s->max_consec_wins,
          s->max_consec_losses);
  for (int k = 0; k < 2; k++) {
    int i = k == 0 ? s->best : s->worst;
    if (i < 0) continue;
    const engine_trade *t = &r->trades[i];
    fprintf(f, "  %-26s #%ld %s %s %s USDT (%+.2f %%) %s\n", k == 0 ? "Best trade" : "Worst trade",
            t->id, t->symbol, side_name(t->side), money(engine_trade_net(t), true, a, sizeof a),
            t->capital_at_entry > 0 ? 100 * lb_dec_to_double(engine_trade_net(t)) /
                                          lb_dec_to_double(t->capital_at_entry)
                                    : 0,
            engine_exit_name(t->exit_reason));
  }
  fprintf(f, "  %-26s %s  (wins %s, losses %s)\n", "Average duration", dur(s->avg_duration, a, sizeof a),
          dur(s->avg_win_duration, b, sizeof b), dur(s->avg_loss_duration, c, sizeof c));
  fprintf(f, "  %-26s %.1f %% of the time\n", "Exposure", s->exposure * 100);
  fprintf(f, "  %-26s %s USDT\n", "Fees paid", money(s->fees, false, a, sizeof a));
  fprintf(f, "  %-26s %s USDT (%s)\n", "Funding", money(s->funding, true, a, sizeof a),
          s->funding < 0 ? "paid" : s->funding > 0 ? "received" : "none");
  fprintf(f, "  %-26s %ld%s\n", "Liquidations", s->liquidations,
          s->liquidations ? "  << a stop failed to protect a position" : "");
  fprintf(f, "  %-26s %ld\n", "Breaker trips", s->breaker_trips);
  fprintf(f, "  %-26s %s -> %s USDT  (%+.2f %%; min %s, max %s)%s\n", "Capital",
          money(s->initial, false, a, sizeof a), money(s->final_capital, false, b, sizeof b),
          s->total_profit_pct * 100, money(s->min_balance, false, c, sizeof c),
          money(s->max_balance, false, d, sizeof d),
          s->open_trades ? "\n                             (includes the open trade's fees and funding)" : "");
  if (s->open_trades)
    fprintf(f, "  %-26s %s USDT (with the open trade at its last price)\n", "Final equity",
            money(s->final_equity, false, e, sizeof e));
  fprintf(f, "  %-26s %d (%s USDT) / %d (%s USDT)\n", "Long / short", s->longs.trades,
          money(s->longs.net, true, a, sizeof a), s->shorts.trades, money(s->shorts.net, true, b, sizeof b));
  fprintf(f, "\n");
}

static void print_group_row(FILE *f, const char *key, const engine_group *g, bool duration) {
  char a[32], b[32];
  fprintf(f, "  %-20s %6d %5d %5d %6d %6.1f %12s", key, g->trades, g->wins, g->draws, g->losses,
          g->trades ? 100.0 * g->wins / g->trades : 0.0, money(g->net, true, a, sizeof a));
  if (duration) fprintf(f, " %10s", g->trades ? dur(g->duration_sum / g->trades, b, sizeof b) : "-");
  fprintf(f, "\n");
}

static void print_tables(const engine_report *r, const engine_stats *s, FILE *f) {
  keyed_group syms[MAX_GROUPS];
  int ns = by_symbol(r, syms);
  fprintf(f, "PER SYMBOL\n  %-20s %6s %5s %5s %6s %6s %12s %10s\n", "symbol", "trades", "wins",
          "draws", "losses", "win %", "net USDT", "avg time");
  for (int i = 0; i < ns; i++) print_group_row(f, syms[i].key, &syms[i].g, true);
  if (ns == 0) fprintf(f, "  (no closed trades)\n");
  fprintf(f, "\nPER EXIT REASON\n  %-20s %6s %5s %5s %6s %6s %12s %10s\n", "reason", "trades",
          "wins", "draws", "losses", "win %", "net USDT", "avg time");
  engine_group rs[ENGINE_EXIT__COUNT];
  by_reason(r, rs);
  for (int k = 0; k < ENGINE_EXIT__COUNT; k++)
    if (rs[k].trades) print_group_row(f, engine_exit_name((engine_exit_reason)k), &rs[k], true);
  if (s->all.trades == 0) fprintf(f, "  (no closed trades)\n");
  fprintf(f, "\nLEFT OPEN AT THE END\n");
  if (!r->n_open) {
    fprintf(f, "  (none)\n");
  } else {
    const engine_trade *t = &r->open_trade;
    char a[32], b[32], c[32], d[32], e[32], g[32], h[32];
    fprintf(f, "  #%ld %s %s %dx qty %s since %s at %s; stop %s, take-profit %s; last %s, "
               "unrealized %s USDT\n",
            t->id, t->symbol, side_name(t->side), t->leverage, exact(t->qty, a, sizeof a),
            when(t->entry_time, b, sizeof b), exact(t->entry_price, c, sizeof c),
            exact(t->stop, d, sizeof d), exact(t->take_profit, e, sizeof e),
            exact(r->open_mark, g, sizeof g), money(r->open_unreal, true, h, sizeof h));
  }
  fprintf(f, "\n");
}

/* The question a user asks first when a backtest shows few trades. */
static void print_decisions(const engine_report *r, FILE *f) {
  const engine_counters *c = &r->cnt;
  long flagged = 0;
  for (int i = 0; i < STRATEGY_RF__COUNT; i++) flagged += c->red_flags[i];
  long refused = 0;
  for (int i = 0; i < RISK_REFUSAL__COUNT; i++) refused += c->refusals[i];
  long busy = c->scans - c->asked - flagged - c->breaker_blocked;
  if (busy < 0) busy = 0;
  if (c->scans == 0 && r->info.feed_tf == 0) return; /* recorded trades: no scan was counted */
  fprintf(f, "DECISIONS (one scan per closed entry candle and symbol)\n");
  fprintf(f, "  %-26s %ld\n", "Scans", c->scans);
  fprintf(f, "  %-26s %ld\n", "  position open", busy);
  fprintf(f, "  %-26s %ld\n", "  breaker active", c->breaker_blocked);
  fprintf(f, "  %-26s %ld", "  red flag (no analyst)", flagged);
  const char *sep = "  (";
  for (int i = 0; i < STRATEGY_RF__COUNT; i++)
    if (c->red_flags[i]) {
      fprintf(f, "%s%s %ld", sep, strategy_redflag_name((strategy_redflag)i), c->red_flags[i]);
      sep = ", ";
    }
  fprintf(f, "%s\n", flagged ? ")" : "");
  fprintf(f, "  %-26s %ld\n", "  analysts asked", c->asked);
  fprintf(f, "  %-26s %ld\n", "    consensus HOLD", c->holds);
  fprintf(f, "  %-26s %ld", "    refused by risk", refused);
  sep = "  (";
  for (int i = 0; i < RISK_REFUSAL__COUNT; i++)
    if (c->refusals[i]) {
      fprintf(f, "%s%s %ld", sep, risk_refusal_name((risk_refusal)i), c->refusals[i]);
      sep = ", ";
    }
  fprintf(f, "%s\n", refused ? ")" : "");
  fprintf(f, "  %-26s %ld\n", "    entries", c->entries);
  if (c->failed_entries) fprintf(f, "  %-26s %ld\n", "    entries refused", c->failed_entries);
  if (c->no_stop_closes) fprintf(f, "  %-26s %ld\n", "Closed for lack of stop", c->no_stop_closes);
  fprintf(f, "  %-26s %ld\n\n", "Stop moves (trailing)", c->stop_moves);
  for (int i = 0; i < r->n_breakers; i++) {
    char a[32];
    const risk_breaker_event *ev = &r->breakers[i];
    fprintf(f, "  breaker %s %s at %s: %s\n", risk_breaker_name(ev->kind), ev->trip ? "TRIPPED" : "resumed",
            when(ev->time, a, sizeof a), ev->detail);
  }
  if (r->n_breakers) fprintf(f, "\n");
}

static void print_breakdown(const engine_report *r, unsigned kind, FILE *f) {
  size_t n;
  period *p = periods(r, kind, &n);
  const char *name = kind == ENGINE_BREAKDOWN_DAY ? "DAY" : kind == ENGINE_BREAKDOWN_WEEK ? "WEEK" : "MONTH";
  fprintf(f, "BREAKDOWN BY %s\n  %-12s %6s %5s %5s %6s %12s %12s\n", name,
          kind == ENGINE_BREAKDOWN_WEEK ? "week of" : kind == ENGINE_BREAKDOWN_MONTH ? "month" : "day",
          "trades", "wins", "draws", "losses", "net USDT", "equity");
  for (size_t i = 0; i < n; i++) {
    char a[32], b[32];
    lb_tm tm;
    lb_time_split(p[i].start, &tm);
    if (kind == ENGINE_BREAKDOWN_MONTH) snprintf(a, sizeof a, "%04d-%02d", tm.year, tm.month);
    else lb_time_fmt_date(p[i].start, a, sizeof a);
    fprintf(f, "  %-12s %6d %5d %5d %6d %12s %12.2f\n", a, p[i].g.trades, p[i].g.wins, p[i].g.draws,
            p[i].g.losses, money(p[i].g.net, true, b, sizeof b), p[i].equity);
  }
  fprintf(f, "\n");
  free(p);
}

void engine_report_print(const engine_report *r, FILE *f, unsigned breakdown) {
  engine_stats s;
  engine_report_stats(r, &s);
  print_header(r, &s, f);
  print_summary(r, &s, f);
  print_tables(r, &s, f);
  print_decisions(r, f);
  if (breakdown & ENGINE_BREAKDOWN_DAY) print_breakdown(r, ENGINE_BREAKDOWN_DAY, f);
  if (breakdown & ENGINE_BREAKDOWN_WEEK) print_breakdown(r, ENGINE_BREAKDOWN_WEEK, f);
  if (breakdown & ENGINE_BREAKDOWN_MONTH) print_breakdown(r, ENGINE_BREAKDOWN_MONTH, f);
  if (r->oom) fprintf(f, "WARNING: out of memory while collecting: some trades or days are missing\n");
}

/* ==== JSON ==== */

json_t *engine_json_money(lb_dec d) {
  char b[LB_DEC_STRLEN];
  return json_string(exact(d, b, sizeof b));
}

json_t *engine_json_real(double x) { return isfinite(x) ? json_real(x) : json_null(); }

json_t *engine_json_time(lb_ms t) {
  char b[LB_TIME_ISO_LEN];
  return t ? json_string(iso(t, b, sizeof b)) : json_null();
}

/* A plan figure: 0 means unknown (a recorded trade without its plan): null. */
static json_t *jplan_money(lb_dec d) { return d > 0 ? engine_json_money(d) : json_null(); }
static json_t *jplan_real(double x) { return x > 0 ? engine_json_real(x) : json_null(); }

static json_t *jgroup(const engine_group *g) {
  return json_pack("{s:i, s:i, s:i, s:i, s:o, s:o, s:o, s:I}", "trades", g->trades, "wins", g->wins,
                   "draws", g->draws, "losses", g->losses, "net", engine_json_money(g->net), "gross_profit",
                   engine_json_money(g->gross_profit), "gross_loss", engine_json_money(g->gross_loss),
                   "avg_duration_min", (json_int_t)(g->trades ? g->duration_sum / g->trades / LB_MS_MINUTE : 0));
}

static json_t *jtrade(const engine_trade *t, bool open, lb_dec mark, lb_dec unreal) {
  json_t *o = json_object();
  json_object_set_new(o, "id", json_integer(t->id));
  json_object_set_new(o, "symbol", json_string(t->symbol));
  json_object_set_new(o, "side", json_string(side_name(t->side)));
  json_object_set_new(o, "leverage", json_integer(t->leverage));
  json_object_set_new(o, "entry_time", engine_json_time(t->entry_time));
  json_object_set_new(o, "exit_time", open ? json_null() : engine_json_time(t->exit_time));
  json_object_set_new(o, "qty", engine_json_money(t->qty));
  json_object_set_new(o, "entry_price", engine_json_money(t->entry_price));
  json_object_set_new(o, "exit_price", open ? json_null() : engine_json_money(t->exit_price));
  json_object_set_new(o, "initial_stop", jplan_money(t->initial_stop));
  json_object_set_new(o, "stop", engine_json_money(t->stop));
  json_object_set_new(o, "take_profit", engine_json_money(t->take_profit));
  json_object_set_new(o, "liquidation", engine_json_money(t->liquidation));
  json_object_set_new(o, "margin", engine_json_money(t->margin));
  json_object_set_new(o, "realized_pnl", engine_json_money(t->realized_pnl));
  json_object_set_new(o, "fees", engine_json_money(t->fees));
  json_object_set_new(o, "funding", engine_json_money(t->funding));
  json_object_set_new(o, "net_pnl", engine_json_money(engine_trade_net(t)));
  json_object_set_new(o, "loss_at_stop", jplan_money(t->loss_at_stop));
  json_object_set_new(o, "capital_at_entry", engine_json_money(t->capital_at_entry));
  json_object_set_new(o, "planned_rr", jplan_real(t->planned_rr));
  json_object_set_new(o, "confidence", engine_json_real(t->confidence));
  json_object_set_new(o, "regime", json_string(lb_regime_name(t->regime)));
  json_object_set_new(o, "exit_reason", json_string(open ? "open" : engine_exit_name(t->exit_reason)));
  json_object_set_new(o, "stop_moves", json_integer(t->stop_moves));
  json_object_set_new(o, "gap_exit", json_boolean(t->gap_exit));
  if (open) {
    json_object_set_new(o, "mark", engine_json_money(mark));
    json_object_set_new(o, "unrealized_pnl", engine_json_money(unreal));
  }
  return o;
}

static json_t *jbreakdown(const engine_report *r, unsigned kind) {
  size_t n;
  period *p = periods(r, kind, &n);
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++) {
    char d[16];
    lb_time_fmt_date(p[i].start, d, sizeof d);
    json_t *o = jgroup(&p[i].g);
    json_object_set_new(o, "start", json_string(d));
    json_object_set_new(o, "equity", engine_json_real(p[i].equity));
    json_array_append_new(a, o);
  }
  free(p);
  return a;
}

json_t *engine_stats_json(const engine_stats *s, const engine_report *r) {
  json_t *o = json_object();
  json_object_set_new(o, "trades", json_integer(s->all.trades));
  json_object_set_new(o, "wins", json_integer(s->all.wins));
  json_object_set_new(o, "draws", json_integer(s->all.draws));
  json_object_set_new(o, "losses", json_integer(s->all.losses));
  json_object_set_new(o, "win_rate", engine_json_real(s->win_rate));
  json_object_set_new(o, "initial_capital", engine_json_money(s->initial));
  json_object_set_new(o, "final_capital", engine_json_money(s->final_capital));
  json_object_set_new(o, "final_equity", engine_json_money(s->final_equity));
  json_object_set_new(o, "total_profit", engine_json_money(s->final_capital - s->initial));
  json_object_set_new(o, "total_profit_pct", engine_json_real(s->total_profit_pct * 100));
  json_object_set_new(o, "net_closed_trades", engine_json_money(s->net_closed));
  if (r) json_object_set_new(o, "realized_pnl", engine_json_money(r->led.realized));
  json_object_set_new(o, "fees", engine_json_money(s->fees));
  json_object_set_new(o, "funding", engine_json_money(s->funding));
  if (r) {
    json_object_set_new(o, "avg_profit", engine_json_real(s->avg_profit_usd));
    json_object_set_new(o, "avg_profit_pct", engine_json_real(s->avg_profit_pct * 100));
    json_object_set_new(o, "gross_profit", engine_json_money(s->all.gross_profit));
    json_object_set_new(o, "gross_loss", engine_json_money(s->all.gross_loss));
  }
  json_object_set_new(o, "profit_factor", engine_json_real(s->profit_factor));
  json_object_set_new(o, "expectancy", engine_json_real(s->expectancy_usd));
  json_object_set_new(o, "expectancy_r", s->r_known ? engine_json_real(s->expectancy_r) : json_null());
  if (r) json_object_set_new(o, "avg_planned_rr", jplan_real(s->avg_planned_rr));
  json_object_set_new(o, "sharpe", engine_json_real(s->sharpe));
  json_object_set_new(o, "sortino", engine_json_real(s->sortino));
  json_object_set_new(o, "calmar", engine_json_real(s->calmar));
  json_object_set_new(o, "cagr_pct", engine_json_real(s->cagr * 100));
  json_object_set_new(o, "max_drawdown", engine_json_real(s->dd.max_dd_abs));
  json_object_set_new(o, "max_drawdown_pct", engine_json_real(s->dd.max_dd * 100));
  if (r) {
    json_object_set_new(o, "max_drawdown_start", s->dd.max_dd > 0 ? engine_json_time(s->dd.dd_start) : json_null());
    json_object_set_new(o, "max_drawdown_end", s->dd.max_dd > 0 ? engine_json_time(s->dd.dd_end) : json_null());
    json_object_set_new(o, "max_drawdown_usd", engine_json_money(s->max_dd_usd));
    json_object_set_new(o, "max_consecutive_wins", json_integer(s->max_consec_wins));
    json_object_set_new(o, "max_consecutive_losses", json_integer(s->max_consec_losses));
    json_object_set_new(o, "best_trade", s->best >= 0 ? json_integer(r->trades[s->best].id) : json_null());
    json_object_set_new(o, "worst_trade", s->worst >= 0 ? json_integer(r->trades[s->worst].id) : json_null());
    json_object_set_new(o, "avg_duration_min", json_integer(s->avg_duration / LB_MS_MINUTE));
    json_object_set_new(o, "avg_win_duration_min", json_integer(s->avg_win_duration / LB_MS_MINUTE));
    json_object_set_new(o, "avg_loss_duration_min", json_integer(s->avg_loss_duration / LB_MS_MINUTE));
  }
  json_object_set_new(o, "exposure_pct", engine_json_real(s->exposure * 100));
  json_object_set_new(o, "liquidations", json_integer(s->liquidations));
  json_object_set_new(o, "breaker_trips", json_integer(s->breaker_trips));
  if (r) {
    json_object_set_new(o, "gap_exits", json_integer(s->gap_exits));
    json_object_set_new(o, "min_balance", engine_json_money(s->min_balance));
    json_object_set_new(o, "max_balance", engine_json_money(s->max_balance));
    json_object_set_new(o, "long", jgroup(&s->longs));
    json_object_set_new(o, "short", jgroup(&s->shorts));
  }
  json_object_set_new(o, "open_trades", json_integer(s->open_trades));
  return o;
}

static json_t *jdecisions(const engine_report *r) {
  const engine_counters *c = &r->cnt;
  json_t *flags = json_object(), *refusals = json_object();
  for (int i = 0; i < STRATEGY_RF__COUNT; i++)
    json_object_set_new(flags, strategy_redflag_name((strategy_redflag)i), json_integer(c->red_flags[i]));
  for (int i = 1; i < RISK_REFUSAL__COUNT; i++)
    if (c->refusals[i])
      json_object_set_new(refusals, risk_refusal_name((risk_refusal)i), json_integer(c->refusals[i]));
  return json_pack("{s:I, s:I, s:I, s:o, s:I, s:I, s:o, s:I, s:I, s:I, s:I, s:I}", "scans",
                   (json_int_t)c->scans, "candles", (json_int_t)c->candles, "breaker_blocked",
                   (json_int_t)c->breaker_blocked, "red_flags", flags, "asked", (json_int_t)c->asked,
                   "holds", (json_int_t)c->holds, "refusals", refusals, "entries",
                   (json_int_t)c->entries, "failed_entries", (json_int_t)c->failed_entries,
                   "stale", (json_int_t)c->stale, "no_stop_closes", (json_int_t)c->no_stop_closes,
                   "stop_moves", (json_int_t)c->stop_moves);
}

static json_t *jreport(const engine_report *r) {
  engine_stats s;
  engine_report_stats(r, &s);
  const engine_report_info *in = &r->info;
  char tfb[16];
  json_t *files = json_array();
  for (int i = 0; i < in->n_files; i++) json_array_append_new(files, json_string(in->files[i]));
  json_t *run = json_object();
  json_object_set_new(run, "files", files);
  json_object_set_new(run, "start", engine_json_time(s.start));
  json_object_set_new(run, "end", engine_json_time(s.end));
  json_object_set_new(run, "candles", json_integer(s.candles));
  json_object_set_new(run, "fill_timeframe", json_string(lb_timeframe_name(in->feed_tf, tfb, sizeof tfb)));
  json_object_set_new(run, "timeframes", json_string(in->timeframes));
  json_object_set_new(run, "analyst", json_string(in->panel));
  json_object_set_new(run, "initial_capital", engine_json_money(in->initial_capital));
  json_object_set_new(run, "max_leverage", json_integer(in->max_leverage));
  json_object_set_new(run, "max_risk_per_trade", engine_json_real(in->max_risk_per_trade));
  json_object_set_new(run, "slippage_bps", engine_json_real(in->slippage_bps));
  json_object_set_new(run, "taker_fee", engine_json_real(in->taker_fee));
  json_object_set_new(run, "funding_rate", engine_json_real(in->funding_rate));

  keyed_group syms[MAX_GROUPS];
  int ns = by_symbol(r, syms);
  json_t *bysym = json_object();
  for (int i = 0; i < ns; i++) json_object_set_new(bysym, syms[i].key, jgroup(&syms[i].g));
  engine_group rs[ENGINE_EXIT__COUNT];
  by_reason(r, rs);
  json_t *byreason = json_object();
  for (int k = 0; k < ENGINE_EXIT__COUNT; k++)
    if (rs[k].trades) json_object_set_new(byreason, engine_exit_name((engine_exit_reason)k), jgroup(&rs[k]));

  json_t *brk = json_array();
  for (int i = 0; i < r->n_breakers; i++) {
    const risk_breaker_event *ev = &r->breakers[i];
    json_array_append_new(brk, json_pack("{s:s, s:s, s:o, s:o, s:s}", "kind",
                                         risk_breaker_name(ev->kind), "event",
                                         ev->trip ? "trip" : "resume", "time", engine_json_time(ev->time),
                                         "resume_at", engine_json_time(ev->resume_at), "detail", ev->detail));
  }
  json_t *alerts = json_array();
  for (int i = 0; i < r->n_alerts; i++)
    json_array_append_new(alerts, json_pack("{s:s, s:o, s:s}", "kind",
                                            engine_alert_name(r->alerts[i].kind), "time",
                                            engine_json_time(r->alerts[i].time), "message", r->alerts[i].msg));
  json_t *curve = json_array();
  for (size_t i = 0; i < r->nc; i++)
    json_array_append_new(curve, json_pack("[o, o, o]", engine_json_time(r->curve[i].t),
                                           engine_json_real(r->curve[i].equity), engine_json_real(r->curve[i].low)));
  json_t *trades = json_array();
  for (size_t i = 0; i < r->n; i++) json_array_append_new(trades, jtrade(&r->trades[i], false, 0, 0));
  json_t *open = json_array();
  if (r->n_open) json_array_append_new(open, jtrade(&r->open_trade, true, r->open_mark, r->open_unreal));

  json_t *root = json_object();
  json_object_set_new(root, "format", json_string("levbot-backtest/1"));
  json_object_set_new(root, "run", run);
  json_object_set_new(root, "summary", engine_stats_json(&s, r));
  json_object_set_new(root, "by_symbol", bysym);
  json_object_set_new(root, "by_exit_reason", byreason);
  json_object_set_new(root, "decisions", jdecisions(r));
  json_object_set_new(root, "breakers", brk);
  json_object_set_new(root, "alerts", alerts);
  json_object_set_new(root, "breakdown",
                      json_pack("{s:o, s:o, s:o}", "day", jbreakdown(r, ENGINE_BREAKDOWN_DAY), "week",
                                jbreakdown(r, ENGINE_BREAKDOWN_WEEK), "month",
                                jbreakdown(r, ENGINE_BREAKDOWN_MONTH)));
  json_object_set_new(root, "equity_curve", curve);
  json_object_set_new(root, "trades", trades);
  json_object_set_new(root, "open_trades", open);
  return root;
}

lb_err engine_report_write_json(const engine_report *r, FILE *f, lb_errbuf *eb) {
  json_t *root = jreport(r);
  if (!root) return lb_fail(eb, LB_ENOMEM, "report: out of memory building JSON");
  int rc = json_dumpf(root, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
  json_decref(root);
  if (rc != 0 || fputc('\n', f) == EOF) return lb_fail(eb, LB_EIO, "report: writing JSON failed");
  return LB_OK;
}

/* ==== CSV ==== */

lb_err engine_report_write_csv(const engine_report *r, FILE *f, lb_errbuf *eb) {
  fprintf(f, "id,symbol,side,leverage,entry_time,exit_time,duration_min,qty,entry_price,exit_price,"
             "initial_stop,stop,take_profit,liquidation,margin,realized_pnl,fees,funding,net_pnl,"
             "loss_at_stop,exit_reason,confidence,regime,stop_moves,gap_exit\n");
  for (size_t i = 0; i < r->n + (size_t)r->n_open; i++) {
    bool open = i >= r->n;
    const engine_trade *t = open ? &r->open_trade : &r->trades[i];
    char b[14][LB_DEC_STRLEN], ta[LB_TIME_ISO_LEN], tb[LB_TIME_ISO_LEN];
    fprintf(f, "%ld,%s,%s,%d,%s,%s,%lld,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%.4f,%s,%d,%s\n",
            t->id, t->symbol, side_name(t->side), t->leverage, iso(t->entry_time, ta, sizeof ta),
            open ? "" : iso(t->exit_time, tb, sizeof tb),
            open ? 0LL : (long long)((t->exit_time - t->entry_time) / LB_MS_MINUTE),
            exact(t->qty, b[0], sizeof b[0]), exact(t->entry_price, b[1], sizeof b[1]),
            open ? "" : exact(t->exit_price, b[2], sizeof b[2]),
            t->initial_stop > 0 ? exact(t->initial_stop, b[3], sizeof b[3]) : "", /* "" unknown */
            exact(t->stop, b[4], sizeof b[4]), exact(t->take_profit, b[5], sizeof b[5]),
            exact(t->liquidation, b[6], sizeof b[6]), exact(t->margin, b[7], sizeof b[7]),
            exact(t->realized_pnl, b[8], sizeof b[8]), exact(t->fees, b[9], sizeof b[9]),
            exact(t->funding, b[10], sizeof b[10]), exact(engine_trade_net(t), b[11], sizeof b[11]),
            t->loss_at_stop > 0 ? exact(t->loss_at_stop, b[12], sizeof b[12]) : "",
            open ? "open" : engine_exit_name(t->exit_reason),
            t->confidence, lb_regime_name(t->regime), t->stop_moves, t->gap_exit ? "true" : "false");
  }
  if (ferror(f)) return lb_fail(eb, LB_EIO, "report: writing CSV failed");
  return LB_OK;
}

/* ==== HTML ==== */

static void html_text(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    default: fputc(*s, f);
    }
  }
}

#define SVG_W 960.0
#define SVG_PAD 64.0

/* A line chart of y over the curve's times; area = fill below the line. */
static void svg_chart(FILE *f, const engine_report *r, const double *y, size_t n, double h,
                      const char *color, bool area, const char *unit) {
  if (n == 0) {
    fprintf(f, "<p>(no data)</p>\n");
    return;
  }
  double lo = y[0], hi = y[0];
  for (size_t i = 1; i < n; i++) {
    if (y[i] < lo) lo = y[i];
    if (y[i] > hi) hi = y[i];
  }
  if (hi - lo < 1e-9) {
    hi += 1;
    lo -= 1;
  }
  double t0 = (double)r->curve[0].t, t1 = (double)r->curve[n - 1].t;
  if (t1 <= t0) t1 = t0 + 1;
  double w = SVG_W - 2 * SVG_PAD, ph = h - 2 * 20.0;
  fprintf(f, "<svg viewBox=\"0 0 %.0f %.0f\" width=\"100%%\" role=\"img\">\n", SVG_W, h);
  fprintf(f, "<rect x=\"%.0f\" y=\"20\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#ddd\"/>\n",
          SVG_PAD, w, ph);
  for (int k = 0; k <= 4; k++) { /* five horizontal guides with their values */
    double v = lo + (hi - lo) * k / 4.0, yy = 20 + ph - ph * k / 4.0;
    fprintf(f, "<line x1=\"%.0f\" x2=\"%.0f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>", SVG_PAD,
            SVG_PAD + w, yy, yy);
    fprintf(f, "<text x=\"%.0f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%.2f%s</text>\n",
            SVG_PAD - 4, yy + 4, v, unit);
  }
  char a[32], b[32];
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\">%s</text>", SVG_PAD, h - 4,
          when(r->curve[0].t, a, sizeof a));
  fprintf(f, "<text x=\"%.0f\" y=\"%.0f\" font-size=\"11\" text-anchor=\"end\">%s</text>\n",
          SVG_PAD + w, h - 4, when(r->curve[n - 1].t, b, sizeof b));
  fprintf(f, "<%s fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", area ? "polygon" : "polyline",
          area ? color : "none", color);
  /* an area is filled between the line and zero (the top, for drawdowns) */
  double zero = 0 < lo ? lo : 0 > hi ? hi : 0;
  double y0 = 20 + ph - ph * (zero - lo) / (hi - lo);
  if (area) fprintf(f, "%.1f,%.1f ", SVG_PAD, y0);
  for (size_t i = 0; i < n; i++) {
    double x = SVG_PAD + w * ((double)r->curve[i].t - t0) / (t1 - t0);
    double yy = 20 + ph - ph * (y[i] - lo) / (hi - lo);
    fprintf(f, "%.1f,%.1f ", x, yy);
  }
  if (area) fprintf(f, "%.1f,%.1f", SVG_PAD + w, y0);
  fprintf(f, "\"/>\n</svg>\n");
}

lb_err engine_report_write_html(const engine_report *r, FILE *f, lb_errbuf *eb) {
  engine_stats s;
  engine_report_stats(r, &s);
  char a[32], b[32], c[32];
  fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
             "<title>levbot backtest</title>\n<style>\n"
             "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1100px}\n"
             "table{border-collapse:collapse;font-size:13px}td,th{padding:3px 8px;border-bottom:1px solid #eee;"
             "text-align:right}th{background:#f4f4f4}td.l,th.l{text-align:left}\n"
             ".pos{color:#0a7d32}.neg{color:#b3261e}h2{margin-top:28px}\n</style></head><body>\n");
  fprintf(f, "<h1>levbot backtest</h1>\n<p>%s .. %s UTC, %ld candles; analyst ", when(s.start, a, sizeof a),
          when(s.end, b, sizeof b), s.candles);
  html_text(f, r->info.panel);
  fprintf(f, ", timeframes ");
  html_text(f, r->info.timeframes);
  fprintf(f, "</p>\n<table>\n");
  struct {
    const char *k;
    char v[96];
  } rows[16];
  int n = 0;
#define ROW(key, ...) (rows[n].k = key, snprintf(rows[n].v, sizeof rows[n].v, __VA_ARGS__), n++)
  ROW("Trades", "%d (%d wins, %d draws, %d losses; win rate %.1f %%)", s.all.trades, s.all.wins,
      s.all.draws, s.all.losses, s.win_rate * 100);
  ROW("Total profit", "%s USDT (%+.2f %%)", money(s.final_capital - s.initial, true, a, sizeof a),
      s.total_profit_pct * 100);
  ROW("Capital", "%s &rarr; %s USDT", money(s.initial, false, a, sizeof a),
      money(s.final_capital, false, b, sizeof b));
  ROW("Profit factor", "%s", ratio(s.profit_factor, a, sizeof a));
  if (s.r_known) ROW("Expectancy", "%+.2f USDT (%+.2f R)", s.expectancy_usd, s.expectancy_r);
  else ROW("Expectancy", "%+.2f USDT (R unknown)", s.expectancy_usd);
  ROW("Sharpe / Sortino / Calmar", "%s / %s / %s", ratio(s.sharpe, a, sizeof a),
      ratio(s.sortino, b, sizeof b), ratio(s.calmar, c, sizeof c));
  ROW("CAGR", "%.2f %%", s.cagr * 100);
  ROW("Max drawdown", "%.2f USDT (%.2f %%)", s.dd.max_dd_abs, s.dd.max_dd * 100);
  ROW("Fees / funding", "%s / %s USDT", money(s.fees, false, a, sizeof a), money(s.funding, true, b, sizeof b));
  ROW("Exposure", "%.1f %%", s.exposure * 100);
  ROW("Liquidations / breaker trips", "%ld / %ld", s.liquidations, s.breaker_trips);
#undef ROW
  for (int i = 0; i < n; i++) fprintf(f, "<tr><th class=\"l\">%s</th><td class=\"l\">%s</td></tr>\n", rows[i].k, rows[i].v);
  fprintf(f, "</table>\n");

  double *eq = r->nc ? malloc(r->nc * sizeof *eq) : NULL;
  double *dd = r->nc ? malloc(r->nc * sizeof *dd) : NULL;
  if (r->nc && (!eq || !dd)) {
    free(eq);
    free(dd);
    return lb_fail(eb, LB_ENOMEM, "report: out of memory");
  }
  double peak = 0;
  for (size_t i = 0; i < r->nc; i++) {
    eq[i] = r->curve[i].equity;
    if (i == 0 || r->curve[i].equity > peak) peak = r->curve[i].equity;
    dd[i] = peak > 0 ? -100.0 * (peak - r->curve[i].low) / peak : 0;
    if (dd[i] > 0) dd[i] = 0;
  }
  fprintf(f, "<h2>Equity (USDT)</h2>\n");
  svg_chart(f, r, eq, r->nc, 300, "#1f5fbf", false, "");
  fprintf(f, "<h2>Drawdown</h2>\n");
  svg_chart(f, r, dd, r->nc, 180, "#d9534f", true, "%");
  free(eq);
  free(dd);

  fprintf(f, "<h2>Trades</h2>\n<table>\n<tr><th>#</th><th class=\"l\">symbol</th><th class=\"l\">side</th>"
             "<th>lev</th><th class=\"l\">entry</th><th class=\"l\">exit</th><th>qty</th><th>entry price</th>"
             "<th>exit price</th><th>net USDT</th><th class=\"l\">reason</th></tr>\n");
  for (size_t i = 0; i < r->n + (size_t)r->n_open; i++) {
    bool open = i >= r->n;
    const engine_trade *t = open ? &r->open_trade : &r->trades[i];
    char q[LB_DEC_STRLEN], ep[LB_DEC_STRLEN], xp[LB_DEC_STRLEN];
    lb_dec net = open ? engine_trade_net(t) + r->open_unreal : engine_trade_net(t);
    fprintf(f, "<tr><td>%ld</td><td class=\"l\">", t->id);
    html_text(f, t->symbol);
    fprintf(f, "</td><td class=\"l\">%s</td><td>%d</td><td class=\"l\">%s</td><td class=\"l\">%s</td>"
               "<td>%s</td><td>%s</td><td>%s</td><td class=\"%s\">%s</td><td class=\"l\">%s</td></tr>\n",
            side_name(t->side), t->leverage, when(t->entry_time, a, sizeof a),
            open ? "open" : when(t->exit_time, b, sizeof b), exact(t->qty, q, sizeof q),
            exact(t->entry_price, ep, sizeof ep), open ? exact(r->open_mark, xp, sizeof xp) : exact(t->exit_price, xp, sizeof xp),
            net > 0 ? "pos" : net < 0 ? "neg" : "", money(net, true, c, sizeof c),
            open ? "open" : engine_exit_name(t->exit_reason));
  }
  fprintf(f, "</table>\n</body></html>\n");
  if (ferror(f)) return lb_fail(eb, LB_EIO, "report: writing HTML failed");
  return LB_OK;
}
