/* optimize.c -- grid search of configuration values over backtests (see optimize.h).
 *
 * Each combination is a configuration: the loaded one with the grid's
 * values set through lb_config_set(), the same path as a value from the
 * environment, so a grid can hold nothing the bot itself would refuse.
 * Each backtest goes through the same three calls as `levbot backtest`
 * (setup from files and configuration, replay with a report, the report's
 * statistics): the optimizer adds the loop and the ranking, nothing else.
 */
#include "engine/optimize.h"
#include "engine/report_int.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ==== The grid ==== */

/* [s, e) without surrounding blanks. */
static void trim(const char **s, const char **e) {
  while (*s < *e && (**s == ' ' || **s == '\t')) (*s)++;
  while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t')) (*e)--;
}

typedef struct {
  lb_config *tmp;
  lb_cfg_report *rep;
} scratch;

static lb_err scratch_new(scratch *s, lb_errbuf *eb) {
  s->tmp = malloc(sizeof *s->tmp);
  s->rep = malloc(sizeof *s->rep);
  if (!s->tmp || !s->rep) {
    free(s->tmp);
    free(s->rep);
    return lb_fail(eb, LB_ENOMEM, "out of memory");
  }
  return LB_OK;
}

static void scratch_free(scratch *s) {
  free(s->tmp);
  free(s->rep);
}

/* One value of dimension d: the table's check, then no repeat of an
 * earlier value once both are in canonical form ("2" and "2.0"). */
static lb_err add_value(engine_opt_dim *d, const char *v, const lb_config *base, scratch *s,
                        char canon[][LB_CFG_STR_MAX], lb_errbuf *eb) {
  const char *name = d->var->name;
  if (!v[0]) return lb_fail(eb, LB_EINVAL, "--grid: %s has an empty value", name);
  if (d->n == ENGINE_OPT_MAX_VALUES)
    return lb_fail(eb, LB_EINVAL, "--grid: %s has more than %d values", name, ENGINE_OPT_MAX_VALUES);
  *s->tmp = *base;
  memset(s->rep, 0, sizeof *s->rep);
  if (lb_config_set(s->tmp, name, v, s->rep) != LB_OK)
    return lb_fail(eb, LB_EINVAL, "--grid: %s", s->rep->errors[0]);
  lb_config_format(s->tmp, d->var, false, canon[d->n], LB_CFG_STR_MAX);
  for (int i = 0; i < d->n; i++)
    if (strcmp(canon[i], canon[d->n]) == 0)
      return lb_fail(eb, LB_EINVAL, "--grid: %s lists one value twice (%s and %s)", name, d->value[i], v);
  snprintf(d->value[d->n++], ENGINE_OPT_VALUE_MAX, "%s", v);
  return LB_OK;
}

/* "NAME=v1,v2" in [p, e). */
static lb_err parse_dim(engine_opt_grid *g, const char *p, const char *e, const lb_config *base,
                        scratch *s, lb_errbuf *eb) {
  trim(&p, &e);
  if (p == e) return LB_OK; /* "A=1;;B=2" or a trailing ';' */
  const char *eq = memchr(p, '=', (size_t)(e - p));
  if (!eq) return lb_fail(eb, LB_EINVAL, "--grid: '%.*s' is not NAME=value,value,...", (int)(e - p), p);
  const char *ns = p, *ne = eq;
  trim(&ns, &ne);
  char name[64];
  snprintf(name, sizeof name, "%.*s", (int)(ne - ns), ns);
  const lb_cfg_var *var = lb_config_find(name);
  if (!var) return lb_fail(eb, LB_EINVAL, "--grid: %s is not a levbot variable (levbot config lists them)", name);
  if (var->flags & LB_CF_SECRET) return lb_fail(eb, LB_EINVAL, "--grid: %s is a secret, not a parameter", name);
  for (int i = 0; i < g->n_dims; i++)
    if (g->dim[i].var == var) return lb_fail(eb, LB_EINVAL, "--grid: %s is listed twice", name);
  if (g->n_dims == ENGINE_OPT_MAX_VARS)
    return lb_fail(eb, LB_EINVAL, "--grid: more than %d variables", ENGINE_OPT_MAX_VARS);
  engine_opt_dim *d = &g->dim[g->n_dims++];
  memset(d, 0, sizeof *d);
  d->var = var;
  char(*canon)[LB_CFG_STR_MAX] = calloc(ENGINE_OPT_MAX_VALUES + 1, sizeof *canon);
  if (!canon) return lb_fail(eb, LB_ENOMEM, "out of memory");
  lb_err rc = LB_OK;
  for (const char *v = eq + 1; !rc;) {
    const char *comma = memchr(v, ',', (size_t)(e - v));
    const char *ve = comma ? comma : e, *vs = v;
    trim(&vs, &ve);
    if (ve - vs >= ENGINE_OPT_VALUE_MAX) {
      rc = lb_fail(eb, LB_EINVAL, "--grid: a value of %s is longer than %d characters", name,
                   ENGINE_OPT_VALUE_MAX - 1);
      break;
    }
    char val[ENGINE_OPT_VALUE_MAX];
    snprintf(val, sizeof val, "%.*s", (int)(ve - vs), vs);
    rc = add_value(d, val, base, s, canon, eb);
    if (!comma) break;
    v = comma + 1;
  }
  free(canon);
  return rc;
}

int engine_opt_value_index(const engine_opt_grid *g, size_t k, int d) {
  size_t stride = 1;
  for (int i = g->n_dims - 1; i > d; i--) stride *= (size_t)g->dim[i].n;
  return (int)((k / stride) % (size_t)g->dim[d].n);
}

void engine_opt_describe(const engine_opt_grid *g, size_t k, char *buf, size_t n) {
  size_t off = 0;
  buf[0] = '\0';
  for (int d = 0; d < g->n_dims && off < n; d++)
    off += (size_t)snprintf(buf + off, n - off, "%s%s=%s", d ? " " : "", g->dim[d].var->name,
                            g->dim[d].value[engine_opt_value_index(g, k, d)]);
}

static lb_err apply(const engine_opt_grid *g, size_t k, const lb_config *base, lb_config *out,
                    lb_cfg_report *rep, lb_errbuf *eb) {
  *out = *base;
  memset(rep, 0, sizeof *rep);
  for (int d = 0; d < g->n_dims; d++)
    if (lb_config_set(out, g->dim[d].var->name, g->dim[d].value[engine_opt_value_index(g, k, d)], rep) != LB_OK)
      return lb_fail(eb, LB_EINVAL, "--grid: %s", rep->errors[0]);
  lb_config_check(out, rep);
  if (rep->n_errors > 0) {
    char what[512];
    engine_opt_describe(g, k, what, sizeof what);
    return lb_fail(eb, LB_EINVAL, "--grid: the combination %s is invalid: %s", what, rep->errors[0]);
  }
  return LB_OK;
}

lb_err engine_opt_config(const engine_opt_grid *g, size_t k, const lb_config *base, lb_config *out,
                         lb_errbuf *eb) {
  lb_cfg_report *rep = malloc(sizeof *rep);
  if (!rep) return lb_fail(eb, LB_ENOMEM, "out of memory");
  lb_err rc = apply(g, k, base, out, rep, eb);
  free(rep);
  return rc;
}

lb_err engine_opt_grid_parse(const char *text, const lb_config *base, engine_opt_grid *g,
                             lb_errbuf *eb) {
  memset(g, 0, sizeof *g);
  scratch s;
  lb_err rc = scratch_new(&s, eb);
  if (rc) return rc;
  for (const char *p = text; !rc;) {
    const char *semi = strchr(p, ';');
    const char *e = semi ? semi : p + strlen(p);
    rc = parse_dim(g, p, e, base, &s, eb);
    if (!semi) break;
    p = semi + 1;
  }
  if (!rc && g->n_dims == 0)
    rc = lb_fail(eb, LB_EINVAL, "--grid is empty: give NAME=value,value;NAME2=value,...");
  unsigned long long n = 1;
  for (int d = 0; d < g->n_dims && !rc; d++) n *= (unsigned long long)g->dim[d].n;
  if (!rc && n > ENGINE_OPT_MAX_COMBOS)
    rc = lb_fail(eb, LB_EINVAL,
                 "--grid has %llu combinations, more than %d: narrow it or split it into several runs",
                 n, ENGINE_OPT_MAX_COMBOS);
  if (!rc) g->n_combos = (size_t)n;
  /* Every combination against the cross-variable rules, before any backtest. */
  for (size_t k = 0; k < g->n_combos && !rc; k++) rc = apply(g, k, base, s.tmp, s.rep, eb);
  scratch_free(&s);
  if (rc) memset(g, 0, sizeof *g);
  return rc;
}

/* ==== Metrics ==== */

static const char *const metric_names[] = {"profit_factor", "sharpe", "total_profit", "calmar"};

lb_err engine_opt_metric_parse(const char *name, engine_opt_metric *out) {
  for (int i = 0; i < 4; i++)
    if (strcmp(name, metric_names[i]) == 0) {
      *out = (engine_opt_metric)i;
      return LB_OK;
    }
  return LB_EINVAL;
}

const char *engine_opt_metric_name(engine_opt_metric m) {
  return (unsigned)m < 4 ? metric_names[m] : "?";
}

static lb_dec total_profit(const engine_stats *s) { return s->final_capital - s->initial; }

double engine_opt_metric_value(const engine_stats *s, engine_opt_metric m) {
  switch (m) {
  case ENGINE_OPT_PROFIT_FACTOR: return s->profit_factor;
  case ENGINE_OPT_SHARPE: return s->sharpe;
  case ENGINE_OPT_TOTAL_PROFIT: return lb_dec_to_double(total_profit(s));
  case ENGINE_OPT_CALMAR: return s->calmar;
  }
  return NAN;
}

/* ==== Running ==== */

static lb_err load_period(const engine_replay_files *f, const lb_config *cfg, lb_ms *start, lb_ms *end,
                          lb_errbuf *eb) {
  engine_replay_setup *rs = calloc(1, sizeof *rs);
  if (!rs) return lb_fail(eb, LB_ENOMEM, "out of memory");
  lb_err rc = engine_replay_setup_load(rs, f, cfg, eb);
  if (!rc) {
    *start = INT64_MAX;
    *end = 0;
    for (size_t i = 0; i < rs->n; i++) {
      const data_series *s = &rs->series[i];
      if (s->c[0].ts < *start) *start = s->c[0].ts;
      if (s->c[s->n - 1].ts + s->timeframe > *end) *end = s->c[s->n - 1].ts + s->timeframe;
    }
    engine_replay_setup_close(rs);
  }
  free(rs);
  return rc;
}

/* One backtest, as `levbot backtest` runs it. */
static lb_err backtest(const engine_replay_files *f, const lb_config *cfg, volatile sig_atomic_t *stop,
                       engine_stats *st, bool *stopped, lb_errbuf *eb) {
  *stopped = false;
  engine_replay_setup *rs = calloc(1, sizeof *rs);
  if (!rs) return lb_fail(eb, LB_ENOMEM, "out of memory");
  lb_err rc = engine_replay_setup_load(rs, f, cfg, eb);
  if (rc) {
    free(rs);
    return rc;
  }
  engine_report_info info;
  engine_replay_report_info(rs, f, cfg, &info);
  engine_report *report = NULL;
  rc = engine_report_new(&info, &report, eb);
  if (!rc) {
    rs->params.report = report;
    rs->params.stop = stop;
    engine_replay_result res;
    rc = engine_replay_run(&rs->params, &res, eb);
    if (!rc) {
      *stopped = res.stopped;
      engine_report_stats(report, st);
    }
  }
  engine_report_free(report);
  engine_replay_setup_close(rs);
  free(rs);
  return rc;
}

/* ==== Ranking ==== */

typedef struct {
  int cls;      /* 0 ranked, 1 too few trades, 2 failed */
  bool nan;
  double v;
  lb_dec d;     /* total profit, compared exactly */
  bool use_dec;
  size_t combo, at;
} rank_key;

static int key_cmp(const void *pa, const void *pb) {
  const rank_key *a = pa, *b = pb;
  if (a->cls != b->cls) return a->cls - b->cls;
  if (a->nan != b->nan) return a->nan ? 1 : -1;
  if (a->use_dec && a->d != b->d) return a->d > b->d ? -1 : 1;
  if (!a->use_dec && !a->nan && a->v != b->v) return a->v > b->v ? -1 : 1;
  return a->combo < b->combo ? -1 : a->combo > b->combo;
}

static lb_err rank(engine_opt_result *r, size_t n, bool test, engine_opt_metric m, int min_trades,
                   lb_errbuf *eb) {
  rank_key *k = calloc(n ? n : 1, sizeof *k);
  if (!k) return lb_fail(eb, LB_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const engine_stats *s = test ? &r[i].test : &r[i].train;
    k[i].at = i;
    k[i].combo = r[i].combo;
    k[i].cls = r[i].failed ? 2 : s->all.trades < min_trades ? 1 : 0;
    k[i].use_dec = m == ENGINE_OPT_TOTAL_PROFIT;
    k[i].d = r[i].failed ? 0 : total_profit(s);
    k[i].v = r[i].failed ? 0 : engine_opt_metric_value(s, m);
    k[i].nan = isnan(k[i].v);
  }
  qsort(k, n, sizeof *k, key_cmp);
  for (size_t i = 0; i < n; i++) {
    if (test) r[k[i].at].rank_test = (int)i + 1;
    else r[k[i].at].rank = (int)i + 1;
  }
  free(k);
  return LB_OK;
}

static int by_rank(const void *pa, const void *pb) {
  const engine_opt_result *a = pa, *b = pb;
  return a->rank - b->rank;
}

/* ==== The search ==== */

static lb_err periods(const engine_opt_params *p, engine_replay_files *train, engine_replay_files *test,
                      lb_errbuf *eb) {
  *train = p->files;
  *test = p->files;
  if (!p->train_until) return LB_OK;
  lb_ms cut, from, to;
  if (lb_time_parse_iso(p->train_until, &cut) != LB_OK)
    return lb_fail(eb, LB_EINVAL, "--train-until %s is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM, UTC)",
                   p->train_until);
  if (p->files.from && lb_time_parse_iso(p->files.from, &from) == LB_OK && cut <= from)
    return lb_fail(eb, LB_EINVAL, "--train-until %s is not after --from %s", p->train_until, p->files.from);
  if (p->files.to && lb_time_parse_iso(p->files.to, &to) == LB_OK && cut >= to)
    return lb_fail(eb, LB_EINVAL, "--train-until %s is not before --to %s", p->train_until, p->files.to);
  train->to = p->train_until;
  test->from = p->train_until;
  return LB_OK;
}

static void fail_note(engine_opt_result *r, const char *period, const lb_errbuf *e) {
  r->failed = true;
  snprintf(r->error, sizeof r->error, "%s%s", period, e->msg);
}

lb_err engine_opt_run(const engine_opt_params *p, const engine_opt_grid *g, const lb_config *base,
                      engine_opt_outcome *out, lb_errbuf *eb) {
  memset(out, 0, sizeof *out);
  engine_replay_files train, test;
  lb_err rc = periods(p, &train, &test, eb);
  if (rc) return rc;
  out->split = p->train_until != NULL;
  out->n_total = g->n_combos;
  /* The data first: a bad file or an empty period stops everything here. */
  rc = load_period(&train, base, &out->train_start, &out->train_end, eb);
  if (!rc && out->split) rc = load_period(&test, base, &out->test_start, &out->test_end, eb);
  if (rc) return rc;
  out->r = calloc(g->n_combos ? g->n_combos : 1, sizeof *out->r);
  lb_config *cfg = malloc(sizeof *cfg);
  if (!out->r || !cfg) {
    free(cfg);
    engine_opt_outcome_free(out);
    return lb_fail(eb, LB_ENOMEM, "out of memory");
  }
  size_t total = g->n_combos * (out->split ? 2 : 1), failures = 0;
  lb_errbuf first_failure = {{0}};
  lb_err first_rc = LB_OK;
  for (size_t k = 0; k < g->n_combos && !rc; k++) {
    if (p->stop && *p->stop) {
      out->stopped = true;
      break;
    }
    engine_opt_result *r = &out->r[out->n];
    memset(r, 0, sizeof *r);
    r->combo = k;
    rc = engine_opt_config(g, k, base, cfg, eb);
    if (rc) break;
    bool stopped = false;
    lb_errbuf e = {{0}};
    lb_err brc = backtest(&train, cfg, p->stop, &r->train, &stopped, &e);
    out->backtests++;
    if (brc) fail_note(r, out->split ? "training: " : "", &e);
    if (!brc && !stopped && out->split) {
      brc = backtest(&test, cfg, p->stop, &r->test, &stopped, &e);
      out->backtests++;
      if (brc) fail_note(r, "held out: ", &e);
    }
    if (stopped) { /* cut short: not a result, not a backtest run */
      out->backtests--;
      out->stopped = true;
      break;
    }
    if (brc && failures++ == 0) {
      first_rc = brc;
      char what[512];
      engine_opt_describe(g, k, what, sizeof what);
      lb_fail(&first_failure, brc, "%s: %s", what, r->error);
    }
    out->n++;
    if (p->progress) p->progress(p->progress_ctx, out->n * (out->split ? 2 : 1), total);
  }
  free(cfg);
  if (!rc && out->n > 0 && failures == out->n)
    rc = lb_fail(eb, first_rc == LB_ENOMEM ? LB_ENOMEM : LB_EUNSUPPORTED,
                 "every combination failed; the first: %s", first_failure.msg);
  if (!rc) rc = rank(out->r, out->n, false, p->metric, p->min_trades, eb);
  if (!rc && out->split) rc = rank(out->r, out->n, true, p->metric, p->min_trades, eb);
  if (!rc) qsort(out->r, out->n, sizeof *out->r, by_rank);
  if (rc) engine_opt_outcome_free(out);
  return rc;
}

void engine_opt_outcome_free(engine_opt_outcome *o) {
  free(o->r);
  o->r = NULL;
  o->n = 0;
}

/* ==== Table ==== */

static const char *when(lb_ms t, char *b, size_t n) {
  lb_tm tm;
  lb_time_split(t, &tm);
  snprintf(b, n, "%04d-%02d-%02d %02d:%02d", tm.year, tm.month, tm.day, tm.hour, tm.minute);
  return b;
}

static const char *ratio(double x, char *b, size_t n) {
  if (isnan(x)) snprintf(b, n, "-");
  else if (isinf(x)) snprintf(b, n, "%sinf", x < 0 ? "-" : "");
  else snprintf(b, n, "%.2f", x);
  return b;
}

static const char *usd(lb_dec d, char *b, size_t n) {
  char t[LB_DEC_STRLEN];
  lb_dec_fmt_places(d, 2, t, sizeof t);
  snprintf(b, n, "%s%s", d > 0 ? "+" : "", t);
  return b;
}

static const char *metric_text(const engine_stats *s, engine_opt_metric m, char *b, size_t n) {
  if (m == ENGINE_OPT_TOTAL_PROFIT) return usd(total_profit(s), b, n);
  return ratio(engine_opt_metric_value(s, m), b, n);
}

static const char *short_metric(engine_opt_metric m) {
  static const char *const s[] = {"PF", "Sharpe", "profit", "Calmar"};
  return (unsigned)m < 4 ? s[m] : "?";
}

static void print_header(const engine_opt_outcome *o, const engine_opt_grid *g, const engine_opt_params *p,
                         FILE *f) {
  char a[32], b[32];
  fprintf(f, "levbot optimize  %zu combination%s, ranked by %s (higher is better)\n", o->n_total,
          o->n_total == 1 ? "" : "s", engine_opt_metric_name(p->metric));
  if (o->split) {
    fprintf(f, "  training  %s .. %s UTC  (ranked)\n", when(o->train_start, a, sizeof a), when(o->train_end, b, sizeof b));
    fprintf(f, "  held out  %s .. %s UTC  (not used for the ranking; indicators start cold there)\n",
            when(o->test_start, a, sizeof a), when(o->test_end, b, sizeof b));
  } else {
    fprintf(f, "  period    %s .. %s UTC\n", when(o->train_start, a, sizeof a), when(o->train_end, b, sizeof b));
  }
  for (int i = 0; i < p->files.n_data; i++) fprintf(f, "  data: %s\n", p->files.data[i]);
  fprintf(f, "  grid:");
  for (int d = 0; d < g->n_dims; d++) {
    fprintf(f, "%s %s=", d ? ";" : "", g->dim[d].var->name);
    for (int v = 0; v < g->dim[d].n; v++) fprintf(f, "%s%s", v ? "," : "", g->dim[d].value[v]);
  }
  fprintf(f, "\n");
  if (p->min_trades > 0)
    fprintf(f, "  combinations with fewer than %d trade%s in the ranked period are ranked last (marked *)\n",
            p->min_trades, p->min_trades == 1 ? "" : "s");
  fprintf(f, "\n");
}

static void print_row(const engine_opt_outcome *o, const engine_opt_grid *g, const engine_opt_params *p,
                      const engine_opt_result *r, const int *w, FILE *f) {
  char rk[16];
  snprintf(rk, sizeof rk, "%d%s", r->rank, !r->failed && r->train.all.trades < p->min_trades ? "*" : "");
  fprintf(f, "%5s", rk);
  for (int d = 0; d < g->n_dims; d++)
    fprintf(f, "  %-*s", w[d], g->dim[d].value[engine_opt_value_index(g, r->combo, d)]);
  if (r->failed) {
    fprintf(f, " | failed: %s\n", r->error);
    return;
  }
  const engine_stats *s = &r->train;
  char pf[48], sh[48], ca[48], pr[48], m[48];
  fprintf(f, " | %6d %5.1f %7s %7s %7s %10s %7.2f", s->all.trades, s->win_rate * 100,
          ratio(s->profit_factor, pf, sizeof pf), ratio(s->sharpe, sh, sizeof sh), ratio(s->calmar, ca, sizeof ca),
          usd(total_profit(s), pr, sizeof pr), s->dd.max_dd * 100);
  if (o->split) {
    const engine_stats *t = &r->test;
    const char *mv = p->metric == ENGINE_OPT_TOTAL_PROFIT ? "" : ratio(engine_opt_metric_value(t, p->metric), m, sizeof m);
    fprintf(f, " | %6d", t->all.trades);
    if (p->metric != ENGINE_OPT_TOTAL_PROFIT) fprintf(f, " %7s", mv);
    fprintf(f, " %10s %7.2f %5d", usd(total_profit(t), pr, sizeof pr), t->dd.max_dd * 100, r->rank_test);
  }
  fprintf(f, "\n");
}

void engine_opt_print(const engine_opt_outcome *o, const engine_opt_grid *g, const engine_opt_params *p,
                      size_t top, FILE *f) {
  print_header(o, g, p, f);
  int w[ENGINE_OPT_MAX_VARS], width = 5;
  for (int d = 0; d < g->n_dims; d++) {
    w[d] = (int)strlen(g->dim[d].var->name);
    for (int v = 0; v < g->dim[d].n; v++)
      if ((int)strlen(g->dim[d].value[v]) > w[d]) w[d] = (int)strlen(g->dim[d].value[v]);
    width += 2 + w[d];
  }
  if (o->split) fprintf(f, "%*s | %-54s | held out\n", width, "", "training (ranked)");
  else fprintf(f, "%*s | whole period\n", width, "");
  fprintf(f, "%5s", "rank");
  for (int d = 0; d < g->n_dims; d++) fprintf(f, "  %-*s", w[d], g->dim[d].var->name);
  fprintf(f, " | %6s %5s %7s %7s %7s %10s %7s", "trades", "win%", "PF", "Sharpe", "Calmar", "profit", "maxDD%");
  if (o->split) {
    fprintf(f, " | %6s", "trades");
    if (p->metric != ENGINE_OPT_TOTAL_PROFIT) fprintf(f, " %7s", short_metric(p->metric));
    fprintf(f, " %10s %7s %5s", "profit", "maxDD%", "rank");
  }
  fprintf(f, "\n");
  size_t shown = top && top < o->n ? top : o->n;
  for (size_t i = 0; i < shown; i++) print_row(o, g, p, &o->r[i], w, f);
  if (shown < o->n) fprintf(f, "  ... %zu more (every combination is in --json)\n", o->n - shown);
  fprintf(f, "\n");
  if (o->stopped)
    fprintf(f, "Interrupted: %zu of %zu combinations ran; the ranking covers those.\n", o->n, o->n_total);
  if (o->n == 0 || o->r[0].failed) return;
  if (o->r[0].train.all.trades < p->min_trades) {
    fprintf(f, "No combination has %d trade%s or more in the ranked period.\n", p->min_trades,
            p->min_trades == 1 ? "" : "s");
    return;
  }
  char what[512], a[48];
  engine_opt_describe(g, o->r[0].combo, what, sizeof what);
  const engine_stats *s = &o->r[0].train;
  fprintf(f, "Best: %s  (%s %s, %d trades", what, engine_opt_metric_name(p->metric),
          metric_text(s, p->metric, a, sizeof a), s->all.trades);
  if (o->split) {
    const engine_stats *t = &o->r[0].test;
    fprintf(f, "; held out: %s %s, %d trades, rank %d of %zu", engine_opt_metric_name(p->metric),
            metric_text(t, p->metric, a, sizeof a), t->all.trades, o->r[0].rank_test, o->n);
  }
  fprintf(f, ")\n");
}

/* ==== JSON ==== */

static json_t *jspan(lb_ms a, lb_ms b) {
  return json_pack("{s:o, s:o}", "from", engine_json_time(a), "to", engine_json_time(b));
}

static json_t *jresult(const engine_opt_outcome *o, const engine_opt_grid *g, const engine_opt_params *p,
                       const engine_opt_result *r) {
  json_t *params = json_object();
  for (int d = 0; d < g->n_dims; d++)
    json_object_set_new(params, g->dim[d].var->name,
                        json_string(g->dim[d].value[engine_opt_value_index(g, r->combo, d)]));
  json_t *j = json_object();
  json_object_set_new(j, "rank", json_integer(r->rank));
  json_object_set_new(j, "combination", json_integer((json_int_t)r->combo));
  json_object_set_new(j, "params", params);
  json_object_set_new(j, "ranked_last_few_trades", json_boolean(!r->failed && r->train.all.trades < p->min_trades));
  json_object_set_new(j, "error", r->failed ? json_string(r->error) : json_null());
  json_object_set_new(j, o->split ? "train" : "result", r->failed ? json_null() : engine_stats_json(&r->train, NULL));
  if (o->split) {
    json_object_set_new(j, "held_out", r->failed ? json_null() : engine_stats_json(&r->test, NULL));
    json_object_set_new(j, "held_out_rank", json_integer(r->rank_test));
  }
  return j;
}

lb_err engine_opt_write_json(const engine_opt_outcome *o, const engine_opt_grid *g, const engine_opt_params *p,
                             FILE *f, lb_errbuf *eb) {
  json_t *grid = json_array(), *data = json_array(), *results = json_array();
  for (int d = 0; d < g->n_dims; d++) {
    json_t *vals = json_array();
    for (int v = 0; v < g->dim[d].n; v++) json_array_append_new(vals, json_string(g->dim[d].value[v]));
    json_array_append_new(grid, json_pack("{s:s, s:o}", "name", g->dim[d].var->name, "values", vals));
  }
  for (int i = 0; i < p->files.n_data; i++) json_array_append_new(data, json_string(p->files.data[i]));
  for (size_t i = 0; i < o->n; i++) json_array_append_new(results, jresult(o, g, p, &o->r[i]));
  json_t *root = json_object();
  json_object_set_new(root, "format", json_string("levbot-optimize/1"));
  json_object_set_new(root, "metric", json_string(engine_opt_metric_name(p->metric)));
  json_object_set_new(root, "min_trades", json_integer(p->min_trades));
  json_object_set_new(root, "data", data);
  json_object_set_new(root, "grid", grid);
  json_object_set_new(root, o->split ? "train" : "period", jspan(o->train_start, o->train_end));
  json_object_set_new(root, "held_out", o->split ? jspan(o->test_start, o->test_end) : json_null());
  json_object_set_new(root, "combinations", json_integer((json_int_t)o->n_total));
  json_object_set_new(root, "completed", json_integer((json_int_t)o->n));
  json_object_set_new(root, "interrupted", json_boolean(o->stopped));
  json_object_set_new(root, "results", results);
  int rc = json_dumpf(root, f, JSON_INDENT(1) | JSON_REAL_PRECISION(10));
  json_decref(root);
  if (rc != 0 || fputc('\n', f) == EOF) return lb_fail(eb, LB_EIO, "optimize: writing JSON failed");
  return LB_OK;
}
