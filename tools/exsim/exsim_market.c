/* exsim_market.c -- the market: real candles replayed as mark-price ticks, klines, funding.
 *
 * Each candle is walked in four ticks, open -> first extreme -> second
 * extreme -> close (low first on an up candle, high first on a down one),
 * and every tick is a new last and mark price: conditional orders, resting
 * limits and liquidations are checked on each, so a gap through a stop
 * fills at the open as on the real exchange.  All symbols share one base
 * timeframe and are stepped bar by bar in time order.
 *
 * Rebasing shifts every timestamp by a whole number of bars so that the
 * first replayed bar opens at the current minute: with --speed 1 exsim is
 * then indistinguishable from a live venue; faster speeds run the market
 * ahead of the wall clock (see exsim.h, Clocks).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "exsim.h"

/* ==== Loading ==== */

static void symbol_defaults(ex_symbol *s) {
  if (strcmp(s->symbol, "BTCUSDT") == 0) {
    lb_rules_binance_btcusdt(&s->rules);
    lb_brackets_binance_btcusdt(&s->brackets);
    s->price_prec = 2;
    s->qty_prec = 3;
  } else if (strcmp(s->symbol, "ETHUSDT") == 0) {
    lb_rules_binance_ethusdt(&s->rules);
    lb_brackets_binance_ethusdt(&s->brackets);
    s->price_prec = 2;
    s->qty_prec = 3;
  } else {
    /* Any other file: loose rules, BTCUSDT's brackets (README). */
    lb_rules_generic(&s->rules, s->symbol);
    lb_brackets_binance_btcusdt(&s->brackets);
    memcpy(s->brackets.symbol, s->symbol, sizeof s->brackets.symbol);
    s->price_prec = lb_dec_places_of(s->rules.tick_size);
    s->qty_prec = lb_dec_places_of(s->rules.step_size);
  }
}

ex_symbol *ex_symbol_find(exsim *e, const char *symbol) {
  for (int i = 0; i < e->nsym; i++)
    if (symbol && strcmp(e->sym[i].symbol, symbol) == 0) return &e->sym[i];
  return NULL;
}

static lb_dec to_price(const ex_symbol *s, double v) {
  lb_dec d;
  if (lb_dec_from_double(v, &d) != LB_OK) return 0;
  return lb_dec_round_to(d, s->rules.tick_size, LB_ROUND_HALF_EVEN);
}

lb_err ex_market_load(exsim *e, lb_errbuf *eb) {
  for (int i = 0; i < e->opt.n_data; i++) {
    if (e->nsym == EX_MAX_SYMBOLS) return lb_fail(eb, LB_ERANGE, "at most %d data files", EX_MAX_SYMBOLS);
    ex_symbol *s = &e->sym[e->nsym];
    memset(s, 0, sizeof *s);
    const char *spec = e->opt.data_files[i];
    const char *eq = strchr(spec, '=');
    const char *path = spec;
    if (eq && eq > spec && (size_t)(eq - spec) < sizeof s->symbol) {
      memcpy(s->symbol, spec, (size_t)(eq - spec));
      path = eq + 1;
    } else {
      data_symbol_from_name(spec, s->symbol, sizeof s->symbol);
    }
    if (ex_symbol_find(e, s->symbol))
      return lb_fail(eb, LB_EINVAL, "--data %s: symbol %s given twice", spec, s->symbol);
    snprintf(s->data_file, sizeof s->data_file, "%s", path);
    data_series_init(&s->series);
    data_load_info info;
    lb_err rc = data_load_file(path, DATA_FMT_AUTO, &s->series, &info, eb);
    if (rc) return rc;
    if (s->series.n < 2) return lb_fail(eb, LB_EINVAL, "--data %s: fewer than 2 candles", path);
    if (e->tf && info.timeframe != e->tf)
      return lb_fail(eb, LB_EINVAL, "--data %s: timeframe %lld ms differs from the first file's %lld ms",
                     path, (long long)info.timeframe, (long long)e->tf);
    e->tf = info.timeframe;
    symbol_defaults(s);
    s->leverage = e->opt.default_leverage;
    s->isolated = e->opt.default_isolated;
    s->phase = -1;
    e->nsym++;
  }
  if (e->nsym == 0) return lb_fail(eb, LB_EINVAL, "no --data file given");
  if (e->tf < 4) return lb_fail(eb, LB_EINVAL, "timeframe %lld ms too small", (long long)e->tf);
  if (e->opt.funding_file) {
    data_funding_init(&e->funding);
    lb_err rc = data_load_funding(e->opt.funding_file, &e->funding, eb);
    if (rc) return rc;
    e->have_funding = true;
  }
  return LB_OK;
}

/* First start (no state file): choose the replay start and the rebase. */
static void market_init_fresh(exsim *e) {
  lb_ms t0 = INT64_MAX;
  for (int i = 0; i < e->nsym; i++) {
    ex_symbol *s = &e->sym[i];
    size_t w = (size_t)e->opt.warmup < s->series.n - 1 ? (size_t)e->opt.warmup : s->series.n - 1;
    s->cursor = w;
    if (s->series.c[w].ts < t0) t0 = s->series.c[w].ts;
  }
  e->shift = 0;
  if (e->opt.rebase) {
    lb_ms now = lb_time_floor(lb_time_now_ms(), e->tf);
    e->shift = now - t0;
    e->shift -= e->shift % e->tf; /* whole bars */
  }
  e->market_now = t0 + e->shift;
  e->next_funding = lb_time_floor(e->market_now, 8 * LB_MS_HOUR) + 8 * LB_MS_HOUR;
}

static double path_price(const data_candle *c, int phase);

/* Applies the shift and the first marks (fresh start and after a reload). */
static void market_apply(exsim *e) {
  for (int i = 0; i < e->nsym; i++) {
    ex_symbol *s = &e->sym[i];
    for (size_t k = 0; k < s->series.n; k++) s->series.c[k].ts += e->shift;
    if (s->phase >= 0) { /* a reload in the middle of a candle: rebuild its ticks so far */
      const data_candle *c = &s->series.c[s->cursor];
      s->forming = (data_candle){.ts = c->ts, .open = c->open, .high = c->open, .low = c->open,
                                 .close = c->open};
      for (int ph = 1; ph <= s->phase; ph++) {
        double p = path_price(c, ph);
        if (p > s->forming.high) s->forming.high = p;
        if (p < s->forming.low) s->forming.low = p;
        s->forming.close = p;
      }
      s->forming.volume = c->volume * (s->phase + 1) / 4.0;
      if (s->phase == 3) s->forming = *c;
    }
    if (s->mark == 0) {
      const data_candle *c = &s->series.c[s->cursor];
      double p = s->cursor > 0 ? s->series.c[s->cursor - 1].close : c->open;
      s->last = s->mark = to_price(s, p);
    }
  }
}

/* ==== Replay ==== */

static double path_price(const data_candle *c, int phase) {
  bool up = c->close >= c->open;
  switch (phase) {
  case 0: return c->open;
  case 1: return up ? c->low : c->high;
  case 2: return up ? c->high : c->low;
  default: return c->close;
  }
}

void ex_fmt_price(const ex_symbol *s, double v, char *out, size_t n) {
  snprintf(out, n, "%.*f", s->price_prec, v);
}

void ex_fmt_qty(const ex_symbol *s, double v, char *out, size_t n) {
  snprintf(out, n, "%.*f", s->qty_prec, v);
}

static void lower(const char *in, char *out, size_t n) {
  size_t i = 0;
  for (; in[i] && i + 1 < n; i++) out[i] = (char)(in[i] >= 'A' && in[i] <= 'Z' ? in[i] + 32 : in[i]);
  out[i] = '\0';
}

static json_t *kline_event(exsim *e, const ex_symbol *s, const data_candle *c, lb_ms interval,
                           bool closed) {
  char o[32], h[32], l[32], cl[32], v[32], q[32], name[16];
  ex_fmt_price(s, c->open, o, sizeof o);
  ex_fmt_price(s, c->high, h, sizeof h);
  ex_fmt_price(s, c->low, l, sizeof l);
  ex_fmt_price(s, c->close, cl, sizeof cl);
  ex_fmt_qty(s, c->volume, v, sizeof v);
  snprintf(q, sizeof q, "%.5f", c->volume * c->close);
  lb_timeframe_name(interval, name, sizeof name);
  return json_pack("{s:s, s:I, s:s, s:{s:I, s:I, s:s, s:s, s:i, s:i, s:s, s:s, s:s, s:s, s:s, s:i, "
                   "s:b, s:s, s:s, s:s, s:s}}",
                   "e", "kline", "E", (json_int_t)ex_server_now(e), "s", s->symbol, "k", "t",
                   (json_int_t)c->ts, "T", (json_int_t)(c->ts + interval - 1), "s", s->symbol, "i",
                   name, "f", 0, "L", 0, "o", o, "c", cl, "h", h, "l", l, "v", v, "n", 0, "x",
                   closed, "q", q, "V", "0", "Q", "0", "B", "0");
}

void ex_publish_mark(exsim *e, ex_symbol *s) {
  char p[40], r[32], low[LB_SYMBOL_MAX], stream[64];
  lb_dec_fmt_places(s->mark, 8, p, sizeof p);
  snprintf(r, sizeof r, "%.8f", ex_funding_rate(e));
  lower(s->symbol, low, sizeof low);
  snprintf(stream, sizeof stream, "%s@markPrice", low);
  json_t *m = json_pack("{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:I}", "e", "markPriceUpdate", "E",
                        (json_int_t)ex_server_now(e), "s", s->symbol, "p", p, "i", p, "P", p, "r",
                        r, "T", (json_int_t)ex_next_funding_time(e));
  ex_ws_send(e, stream, m);
}

/* Higher-timeframe bar ending with base candle idx, aggregated from the series. */
static void aggregate(const ex_symbol *s, size_t idx, lb_ms interval, data_candle *out) {
  lb_ms start = data_bucket_start(s->series.c[idx].ts, interval);
  size_t k = idx;
  while (k > 0 && s->series.c[k - 1].ts >= start) k--;
  *out = s->series.c[k];
  out->ts = start;
  out->volume = 0;
  for (size_t i = k; i <= idx; i++) {
    const data_candle *c = &s->series.c[i];
    if (c->high > out->high) out->high = c->high;
    if (c->low < out->low) out->low = c->low;
    out->close = c->close;
    out->volume += c->volume;
  }
}

static void publish_klines(exsim *e, ex_symbol *s) {
  char low[LB_SYMBOL_MAX], name[16], stream[64];
  lower(s->symbol, low, sizeof low);
  bool closed = s->phase == 3;
  lb_timeframe_name(e->tf, name, sizeof name);
  snprintf(stream, sizeof stream, "%s@kline_%s", low, name);
  ex_ws_send(e, stream, kline_event(e, s, &s->forming, e->tf, closed));
  if (!closed) return;
  lb_ms iv[16];
  int n = ex_ws_intervals(e, low, iv, 16);
  for (int i = 0; i < n; i++) {
    if (iv[i] <= e->tf || iv[i] % e->tf) continue;
    data_candle agg;
    aggregate(s, s->cursor, iv[i], &agg);
    bool done = s->series.c[s->cursor].ts + e->tf == agg.ts + iv[i];
    lb_timeframe_name(iv[i], name, sizeof name);
    snprintf(stream, sizeof stream, "%s@kline_%s", low, name);
    ex_ws_send(e, stream, kline_event(e, s, &agg, iv[i], done));
  }
}

double ex_funding_rate(exsim *e) {
  if (e->have_funding) {
    double r = data_funding_at(&e->funding, e->next_funding - e->shift);
    if (!isnan(r)) return r;
  }
  return e->opt.funding_rate;
}

lb_ms ex_next_funding_time(exsim *e) { return e->next_funding; }

bool ex_replay_tick(exsim *e) {
  /* Continue the current bar, or move every symbol to the next one. */
  lb_ms bar = INT64_MAX;
  for (int i = 0; i < e->nsym; i++) {
    ex_symbol *s = &e->sym[i];
    if (s->phase >= 0 && s->phase < 3) bar = s->series.c[s->cursor].ts;
  }
  if (bar == INT64_MAX) {
    for (int i = 0; i < e->nsym; i++) {
      ex_symbol *s = &e->sym[i];
      if (s->phase == 3) {
        s->cursor++;
        s->phase = -1;
      }
      if (s->cursor < s->series.n && s->series.c[s->cursor].ts < bar) bar = s->series.c[s->cursor].ts;
    }
    if (bar == INT64_MAX) {
      e->replay_done = true;
      return false;
    }
  }
  int phase = 0;
  for (int i = 0; i < e->nsym; i++) {
    ex_symbol *s = &e->sym[i];
    if (s->cursor >= s->series.n || s->series.c[s->cursor].ts != bar) continue;
    s->phase++;
    phase = s->phase;
    const data_candle *c = &s->series.c[s->cursor];
    double p = path_price(c, s->phase);
    if (s->phase == 0) {
      s->forming = (data_candle){.ts = c->ts, .open = c->open, .high = c->open, .low = c->open,
                                 .close = c->open, .volume = 0};
    }
    if (p > s->forming.high) s->forming.high = p;
    if (p < s->forming.low) s->forming.low = p;
    s->forming.close = p;
    s->forming.volume = c->volume * (s->phase + 1) / 4.0;
    if (s->phase == 3) s->forming = *c;
    s->last = s->mark = to_price(s, p);
    s->mark_override = false;
  }
  e->market_now = bar + phase * (e->tf / 4);
  while (e->market_now >= e->next_funding) {
    ex_apply_funding(e, ex_funding_rate(e));
    e->next_funding += 8 * LB_MS_HOUR;
  }
  for (int i = 0; i < e->nsym; i++) {
    ex_symbol *s = &e->sym[i];
    if (s->cursor >= s->series.n || s->series.c[s->cursor].ts != bar) continue;
    ex_on_mark(e, s);
    ex_publish_mark(e, s);
    publish_klines(e, s);
  }
  e->dirty = true;
  return true;
}

/* ==== Klines ==== */

json_t *ex_klines(exsim *e, ex_symbol *s, lb_ms interval, lb_ms start, lb_ms end, int limit) {
  /* Rows: closed candles before the cursor, the cursor's candle (forming or
   * closed) once its first tick happened; aggregated into `interval`. */
  size_t last = s->phase >= 0 ? s->cursor : (s->cursor == 0 ? 0 : s->cursor - 1);
  bool has_any = s->phase >= 0 || s->cursor > 0;
  json_t *rows = json_array();
  if (!has_any) return rows;
  /* Buckets in order; keep at most `limit`, from the start when startTime
   * is given, else the most recent. */
  typedef struct {
    data_candle c;
    bool closed;
  } row;
  row *buf = calloc((size_t)limit + 1, sizeof *buf);
  if (!buf) return rows;
  int n = 0;
  bool from_start = start > 0;
  size_t lo = 0;
  if (from_start) {
    size_t a = 0, b = last + 1;
    while (a < b) {
      size_t m = (a + b) / 2;
      if (s->series.c[m].ts < data_bucket_start(start, interval)) a = m + 1;
      else b = m;
    }
    lo = a;
  }
  for (size_t i = lo; i <= last; i++) {
    const data_candle *c = i == s->cursor && s->phase >= 0 ? &s->forming : &s->series.c[i];
    lb_ms b0 = data_bucket_start(c->ts, interval);
    if (start > 0 && b0 < data_bucket_start(start, interval)) continue;
    if (end > 0 && b0 > end) break;
    bool closed = !(i == s->cursor && s->phase >= 0 && s->phase < 3);
    if (n > 0 && buf[n - 1].c.ts == b0) {
      row *r = &buf[n - 1];
      if (c->high > r->c.high) r->c.high = c->high;
      if (c->low < r->c.low) r->c.low = c->low;
      r->c.close = c->close;
      r->c.volume += c->volume;
      r->closed = closed && c->ts + e->tf == b0 + interval;
      continue;
    }
    if (n == limit + 1) {
      if (from_start) break;
      memmove(buf, buf + 1, (size_t)limit * sizeof *buf);
      n--;
    }
    buf[n].c = *c;
    buf[n].c.ts = b0;
    buf[n].closed = closed && c->ts + e->tf == b0 + interval;
    n++;
  }
  int first = 0, count = n;
  if (n > limit) {
    if (from_start) count = limit;
    else first = n - limit, count = limit;
  }
  for (int i = first; i < first + count; i++) {
    const data_candle *c = &buf[i].c;
    char o[32], h[32], l[32], cl[32], v[32], q[32];
    ex_fmt_price(s, c->open, o, sizeof o);
    ex_fmt_price(s, c->high, h, sizeof h);
    ex_fmt_price(s, c->low, l, sizeof l);
    ex_fmt_price(s, c->close, cl, sizeof cl);
    ex_fmt_qty(s, c->volume, v, sizeof v);
    snprintf(q, sizeof q, "%.5f", c->volume * c->close);
    json_array_append_new(rows, json_pack("[I, s, s, s, s, s, I, s, i, s, s, s]", (json_int_t)c->ts, o,
                                          h, l, cl, v, (json_int_t)(c->ts + interval - 1), q, 0, "0",
                                          "0", "0"));
  }
  free(buf);
  return rows;
}

/* ==== Thread ==== */

static void *replay_main(void *arg) {
  exsim *e = arg;
  double tick_ms = (double)e->tf / 4.0 / e->opt.speed;
  if (tick_ms < 0.2) tick_ms = 0.2;
  double next = (double)lb_time_mono_ns() / 1e6;
  pthread_mutex_lock(&e->mu);
  while (!atomic_load(&e->stop)) {
    if (e->paused || e->replay_done) {
      pthread_cond_wait(&e->cv, &e->mu);
      next = (double)lb_time_mono_ns() / 1e6;
      continue;
    }
    ex_replay_tick(e);
    lb_ms mono = lb_time_mono_ms();
    if (mono - e->saved_at >= 1000) ex_state_flush(e);
    next += tick_ms;
    double now = (double)lb_time_mono_ns() / 1e6;
    if (next < now - 1000) next = now; /* fell far behind: do not burst */
    if (next > now) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      long long ns = (long long)((next - now) * 1e6);
      ts.tv_sec += (time_t)(ns / 1000000000LL);
      ts.tv_nsec += (long)(ns % 1000000000LL);
      if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
      }
      pthread_cond_timedwait(&e->cv, &e->mu, &ts);
    }
  }
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

lb_err ex_replay_start(exsim *e, lb_errbuf *eb) {
  bool loaded = false;
  lb_err rc = ex_state_load(e, &loaded, eb);
  if (rc) return rc;
  if (!loaded) {
    market_init_fresh(e);
    e->wallet = e->initial_balance = e->opt.balance;
  }
  market_apply(e);
  e->paused = e->opt.paused;
  if (pthread_create(&e->replay_thread, NULL, replay_main, e) != 0)
    return lb_fail(eb, LB_ENOMEM, "cannot start the replay thread");
  e->replay_started = true;
  return LB_OK;
}

void ex_replay_stop(exsim *e) {
  pthread_mutex_lock(&e->mu);
  atomic_store(&e->stop, true);
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  if (e->replay_started) pthread_join(e->replay_thread, NULL);
  e->replay_started = false;
}
