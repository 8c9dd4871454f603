/* serve.c -- what the bot shows and what it is told: the snapshot, /health
 * /status /metrics, the control endpoints, Telegram's commands, and the
 * housekeeper that reads the database for them.
 *
 * The engine thread copies its state into b->snap under b->mu (bot_publish)
 * and never reads the database for anyone; the housekeeper refreshes the
 * database figures (health check, metrics, recent trades) into the same
 * lock; the HTTP and notify threads copy what they need under it and
 * format outside it.  So every answer is one consistent moment (no torn
 * reads), and a slow database or a slow reader delays neither the position
 * monitor nor each other.  Control requests only set flags the engine
 * thread acts on in its next iteration (within a millisecond or so).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bot/bot_int.h"
#include "core/log.h"

/* ==== Publishing (engine thread) ==== */

void bot_note_breaker(bot *b, const risk_breaker_event *ev) {
  if ((unsigned)ev->kind >= RISK_BRK__COUNT) return;
  pthread_mutex_lock(&b->mu);
  if (ev->trip) b->trips[ev->kind] = *ev;
  b->trip_active[ev->kind] = ev->trip;
  pthread_mutex_unlock(&b->mu);
}

static void breaker_of(bot *b, lb_ms now, http_breaker *out) {
  memset(out, 0, sizeof *out);
  for (int k = 0; k < RISK_BRK__COUNT; k++) {
    if (!b->trip_active[k]) continue;
    const risk_breaker_event *t = &b->trips[k];
    if (t->resume_at && now >= t->resume_at) continue;
    out->active = true;
    snprintf(out->kind, sizeof out->kind, "%s", risk_breaker_name((risk_breaker_kind)k));
    snprintf(out->detail, sizeof out->detail, "%s", t->detail);
    out->tripped_at = t->time;
    out->resume_at = t->resume_at;
    return;
  }
}

void bot_publish(bot *b, bool force) {
  int64_t mono = lb_time_mono_ms();
  if (!force && mono - b->last_publish_mono < 50) {
    pthread_mutex_lock(&b->mu);
    b->snap.heartbeat_ms = mono;
    pthread_mutex_unlock(&b->mu);
    return;
  }
  b->last_publish_mono = mono;
  engine_position pos;
  engine_ledger led;
  engine_counters cnt;
  memset(&pos, 0, sizeof pos);
  memset(&led, 0, sizeof led);
  memset(&cnt, 0, sizeof cnt);
  lb_ms et = 0;
  bool blocking = false;
  if (b->eng) {
    engine_get_position(b->eng, &pos);
    engine_get_ledger(b->eng, &led);
    engine_get_counters(b->eng, &cnt);
    et = engine_time(b->eng);
    blocking = engine_breakers_blocking(b->eng, et);
  }
  pthread_mutex_lock(&b->mu);
  bot_snap *s = &b->snap;
  s->pos = pos;
  s->led = led;
  s->cnt = cnt;
  s->equity = led.capital + (pos.state != ENGINE_FLAT ? pos.unrealized : 0);
  s->candles = cnt.candles;
  s->scans_done = b->scans_done;
  s->heartbeat_ms = mono;
  s->as_of = lb_time_now_ms();
  s->paused = b->paused;
  snprintf(s->pause_reason, sizeof s->pause_reason, "%s", b->pause_reason);
  breaker_of(b, et, &s->breaker);
  if (!blocking) s->breaker.active = false;
  if (s->state != HTTP_STATE_STARTING && s->state != HTTP_STATE_STOPPING)
    s->state = pos.state != ENGINE_FLAT          ? HTTP_STATE_IN_POSITION
               : b->paused || s->breaker.active ? HTTP_STATE_PAUSED
                                                 : HTTP_STATE_SCANNING;
  s->market_up = atomic_load(&b->market_up);
  s->user_up = atomic_load(&b->user_up);
  s->exchange_ok = !atomic_load(&b->fatal);
  if (!s->exchange_ok) snprintf(s->exchange_error, sizeof s->exchange_error, "fatal exchange error: trading stopped");
  else if (b->market && !s->market_up) snprintf(s->exchange_error, sizeof s->exchange_error, "market stream down (REST polling)");
  else if (b->opt.mode == BOT_LIVE && !s->user_up) snprintf(s->exchange_error, sizeof s->exchange_error, "user-data stream down");
  else s->exchange_error[0] = '\0';
  pthread_mutex_unlock(&b->mu);
}

/* ==== Housekeeper ==== */

static void house_refresh(bot *b, bool metrics) {
  store_health h;
  lb_errbuf eb;
  if (store_health_check(b->db, 2000, &h, &eb) != LB_OK) {
    memset(&h, 0, sizeof h);
    snprintf(h.error, sizeof h.error, "%s", eb.msg);
  }
  store_metrics m;
  bool m_ok = false;
  store_trade recent[BOT_RECENT_MAX];
  int n_recent = 0;
  if (metrics && h.ok) {
    m_ok = store_metrics_get(b->db, lb_time_now_ms(), &m, &eb) == LB_OK;
    if (store_trades_recent(b->db, recent, BOT_RECENT_MAX, &n_recent, &eb) != LB_OK) n_recent = -1;
  }
  pthread_mutex_lock(&b->mu);
  b->dbh = h;
  b->dbh_valid = true;
  if (m_ok) {
    b->metrics = m;
    b->metrics_valid = true;
  }
  if (n_recent >= 0 && metrics && h.ok) {
    memcpy(b->recent, recent, (size_t)n_recent * sizeof recent[0]);
    b->n_recent = n_recent;
  }
  pthread_mutex_unlock(&b->mu);
}

static void *house_main(void *arg) {
  bot *b = arg;
  int64_t last_metrics = 0, last_purge = lb_time_mono_ms();
  pthread_mutex_lock(&b->mu);
  while (!b->house_quit) {
    bool kick = b->house_kick;
    b->house_kick = false;
    pthread_mutex_unlock(&b->mu);
    int64_t now = lb_time_mono_ms();
    bool metrics = kick || last_metrics == 0 || now - last_metrics >= 30000;
    house_refresh(b, metrics);
    if (metrics) last_metrics = now;
    if (now - last_purge >= 3600 * 1000) {
      long deleted = 0;
      lb_errbuf eb;
      store_ai_cache_purge(b->db, lb_time_now_ms(), &deleted, &eb);
      last_purge = now;
    }
    pthread_mutex_lock(&b->mu);
    if (b->house_quit || b->house_kick) continue;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 2;
    pthread_cond_timedwait(&b->house_cv, &b->mu, &ts);
  }
  pthread_mutex_unlock(&b->mu);
  return NULL;
}

lb_err bot_house_start(bot *b, lb_errbuf *eb) {
  if (pthread_create(&b->house_thread, NULL, house_main, b) != 0)
    return lb_fail(eb, LB_ENOMEM, "cannot start the housekeeping thread");
  b->house_started = true;
  return LB_OK;
}

void bot_house_stop(bot *b) {
  if (!b->house_started) return;
  pthread_mutex_lock(&b->mu);
  b->house_quit = true;
  pthread_cond_signal(&b->house_cv);
  pthread_mutex_unlock(&b->mu);
  pthread_join(b->house_thread, NULL);
  b->house_started = false;
}

void bot_house_kick(bot *b) {
  pthread_mutex_lock(&b->mu);
  b->house_kick = true;
  pthread_cond_signal(&b->house_cv);
  pthread_mutex_unlock(&b->mu);
}

/* ==== HTTP provider ==== */

static const char *exchange_name(const bot *b) {
  return b->opt.mode == BOT_LIVE ? "binance_usdm" : "sim";
}

static lb_err h_health(void *ctx, http_health *out, lb_errbuf *eb) {
  bot *b = ctx;
  (void)eb;
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&b->mu);
  bot_snap s = b->snap;
  store_health h = b->dbh;
  bool hv = b->dbh_valid;
  pthread_mutex_unlock(&b->mu);
  out->database_ok = hv && h.ok && !atomic_load(&b->lock_lost);
  out->database_latency_ms = hv ? (double)h.latency_ms : -1;
  if (!hv) snprintf(out->database_error, sizeof out->database_error, "not checked yet");
  else if (atomic_load(&b->lock_lost)) snprintf(out->database_error, sizeof out->database_error, "instance lock lost");
  else if (!h.ok) snprintf(out->database_error, sizeof out->database_error, "%.200s", h.error);
  else if (h.writer_stalled) snprintf(out->database_error, sizeof out->database_error, "writes are being retried: %.200s", h.error);
  out->exchange_ok = s.exchange_ok;
  snprintf(out->exchange_name, sizeof out->exchange_name, "%s", exchange_name(b));
  snprintf(out->exchange_error, sizeof out->exchange_error, "%s", s.exchange_error);
  int64_t age = lb_time_mono_ms() - s.heartbeat_ms;
  out->engine_ok = s.heartbeat_ms > 0 && age < 15000 && !atomic_load(&b->fatal);
  if (!out->engine_ok)
    snprintf(out->engine_error, sizeof out->engine_error, "%s",
             s.heartbeat_ms == 0 ? "starting" : atomic_load(&b->fatal) ? "stopped after a fatal error"
                                                                        : "engine loop not responding");
  if (b->panel && ai_panel_is(b->panel)) {
    ai_provider_health ph[HTTP_MAX_AI];
    int n = ai_panel_health(b->panel, ph, HTTP_MAX_AI);
    for (int i = 0; i < n && i < HTTP_MAX_AI - 1; i++) {
      http_ai_health *a = &out->ai[out->n_ai++];
      snprintf(a->name, sizeof a->name, "%.31s", ph[i].name);
      a->state = !ph[i].healthy ? HTTP_AI_DOWN : ph[i].consecutive_failures > 0 ? HTTP_AI_DEGRADED : HTTP_AI_OK;
      snprintf(a->last_error, sizeof a->last_error, "%.199s", ph[i].last_error);
      a->last_ok_at = ph[i].last_ok_at;
    }
  }
  if (out->n_ai < HTTP_MAX_AI) {
    http_ai_health *a = &out->ai[out->n_ai++];
    snprintf(a->name, sizeof a->name, "technical");
    a->state = b->cfg.ai_technical_voter || out->n_ai == 1 ? HTTP_AI_OK : HTTP_AI_DISABLED;
  }
  out->uptime_s = (lb_time_mono_ms() - b->started_mono) / 1000;
  out->as_of = s.as_of ? s.as_of : lb_time_now_ms();
  return LB_OK;
}

static void fill_status(bot *b, const bot_snap *s, http_status *out) {
  memset(out, 0, sizeof *out);
  out->mode = b->opt.mode == BOT_LIVE ? HTTP_MODE_LIVE : b->opt.mode == BOT_REPLAY ? HTTP_MODE_REPLAY : HTTP_MODE_PAPER;
  out->state = s->state;
  snprintf(out->exchange, sizeof out->exchange, "%s", exchange_name(b));
  const engine_position *p = &s->pos;
  out->has_position = p->state != ENGINE_FLAT && p->held != 0;
  if (out->has_position) {
    http_position *h = &out->position;
    snprintf(h->symbol, sizeof h->symbol, "%s", p->trade.symbol);
    h->is_long = p->trade.side == LB_ACTION_LONG;
    h->entry_price = p->trade.entry_price;
    h->quantity = lb_dec_abs(p->held);
    h->mark_price = p->mark;
    h->leverage = p->trade.leverage;
    h->stop_price = p->trade.stop;
    h->take_profit_price = p->trade.take_profit;
    h->liquidation_price = p->trade.liquidation;
    h->unrealized_pnl = p->unrealized;
    h->stop_on_exchange = p->state == ENGINE_OPEN;
    h->opened_at = p->trade.entry_time;
  }
  out->capital = s->led.capital;
  out->equity = s->equity;
  out->daily_pnl = s->daily_pnl;
  out->breaker = s->breaker;
  out->last_scan_at = s->last_scan_at;
  out->next_scan_at = s->next_scan_at;
  out->as_of = s->as_of;
}

/* The snapshot, with the pause flag as of now (a command's effect shows at
 * once, not at the engine thread's next publication). */
static void snap_now(bot *b, bot_snap *s) {
  pthread_mutex_lock(&b->mu);
  *s = b->snap;
  s->paused = b->paused;
  snprintf(s->pause_reason, sizeof s->pause_reason, "%s", b->pause_reason);
  pthread_mutex_unlock(&b->mu);
  if (s->state == HTTP_STATE_SCANNING || s->state == HTTP_STATE_PAUSED)
    s->state = s->paused || s->breaker.active ? HTTP_STATE_PAUSED : HTTP_STATE_SCANNING;
}

static lb_err h_status(void *ctx, http_status *out, lb_errbuf *eb) {
  bot *b = ctx;
  (void)eb;
  bot_snap s;
  snap_now(b, &s);
  fill_status(b, &s, out);
  return LB_OK;
}

static void counter(http_metrics *m, const char *name, const char *help, bool is_counter, double v) {
  if (m->n_counters >= HTTP_MAX_COUNTERS) return;
  http_counter *c = &m->counters[m->n_counters++];
  snprintf(c->name, sizeof c->name, "%s", name);
  snprintf(c->help, sizeof c->help, "%s", help);
  c->is_counter = is_counter;
  c->value = v;
}

static lb_err h_metrics(void *ctx, http_metrics *out, lb_errbuf *eb) {
  bot *b = ctx;
  (void)eb;
  memset(out, 0, sizeof *out);
  pthread_mutex_lock(&b->mu);
  bot_snap s = b->snap;
  store_metrics m = b->metrics;
  bool mv = b->metrics_valid;
  store_health h = b->dbh;
  pthread_mutex_unlock(&b->mu);
  if (mv) {
    out->total_trades = m.total_trades;
    out->winning_trades = m.wins;
    out->losing_trades = m.losses;
    out->win_rate = m.total_trades ? m.win_rate : NAN;
    out->average_pnl = m.avg_pnl;
    out->total_pnl = m.total_pnl;
    out->profit_factor = m.total_trades ? m.profit_factor : NAN;
    out->max_drawdown = m.max_drawdown_pct;
  } else {
    out->win_rate = out->profit_factor = NAN;
  }
  out->sharpe = NAN;
  counter(out, "scans_total", "Scans started", true, (double)s.cnt.scans);
  counter(out, "analyses_total", "Scans that asked the analysts", true, (double)s.cnt.asked);
  counter(out, "entries_total", "Positions opened", true, (double)s.cnt.entries);
  counter(out, "trades_closed_total", "Trades closed", true, (double)s.cnt.trades_closed);
  counter(out, "stop_moves_total", "Trailing stop moves", true, (double)s.cnt.stop_moves);
  counter(out, "no_stop_closes_total", "Positions closed because no stop could be confirmed", true,
          (double)s.cnt.no_stop_closes);
  counter(out, "liquidations_total", "Positions the exchange liquidated", true, (double)s.cnt.liquidations);
  counter(out, "exchange_errors_total", "Failed exchange order calls", true, (double)s.cnt.exchange_errors);
  counter(out, "breaker_trips_total", "Circuit breaker trips", true, (double)s.cnt.breaker_trips);
  counter(out, "candles_total", "Candles the engine took", true, (double)s.candles);
  counter(out, "scans_completed_total", "Scans finished (answered and applied, or stopped early)", true,
          (double)s.scans_done);
  counter(out, "capital_usdt", "Ledger capital", false, lb_dec_to_double(s.led.capital));
  counter(out, "equity_usdt", "Capital plus unrealized PnL", false, lb_dec_to_double(s.equity));
  counter(out, "position_open", "1 while a position is open", false, s.pos.state != ENGINE_FLAT);
  counter(out, "entries_paused", "1 while entries are paused by command", false, s.paused);
  counter(out, "db_queued_writes", "Database writes waiting in memory", false, (double)h.queued);
  counter(out, "db_journaled_writes", "Database writes waiting in the journal", false, (double)h.journaled);
  double p50, p99, wire;
  long n;
  bot_latency(b, &p50, &p99, &wire, &n);
  counter(out, "trail_latency_p50_us", "Mark price seen to replacement stop request, median (us)", false, p50);
  counter(out, "trail_latency_p99_us", "Mark price seen to replacement stop request, p99 (us)", false, p99);
  counter(out, "trail_latency_samples_total", "Trailing stop replacements timed", true, (double)n);
  if (b->nq) {
    notify_stats ns;
    notify_queue_stats(b->nq, &ns);
    counter(out, "notifications_total", "Notifications posted", true, (double)ns.posted);
    counter(out, "notifications_dropped_total", "Notifications dropped (queue full)", true, (double)ns.dropped);
  }
  if (b->panel && ai_panel_is(b->panel)) {
    ai_stats as;
    ai_panel_stats(b->panel, &as);
    counter(out, "ai_llm_calls_total", "LLM answers not from the cache", true, (double)as.llm_calls);
    counter(out, "ai_failures_total", "LLM calls without a valid answer", true, (double)as.failures);
    counter(out, "ai_cost_usd_total", "LLM cost", true, lb_dec_to_double(as.cost_usd));
  }
  counter(out, "uptime_seconds", "Seconds since start", false,
          (double)(lb_time_mono_ms() - b->started_mono) / 1000.0);
  return LB_OK;
}

static lb_err do_control(bot *b, http_action a, char *result, size_t n) {
  pthread_mutex_lock(&b->mu);
  engine_position pos = b->snap.pos;
  pthread_mutex_unlock(&b->mu);
  switch (a) {
  case HTTP_CTL_PAUSE:
    bot_set_paused(b, true, "paused by command");
    snprintf(result, n, "entries paused; the open position (if any) keeps its stop");
    return LB_OK;
  case HTTP_CTL_RESUME:
    bot_set_paused(b, false, "");
    atomic_store(&b->reset_req, true);
    snprintf(result, n, "entries resumed (circuit breakers reset)");
    return LB_OK;
  case HTTP_CTL_CLOSE:
    if (pos.state == ENGINE_FLAT) {
      snprintf(result, n, "no open position");
      return LB_ESTATE;
    }
    atomic_store(&b->close_req, true);
    snprintf(result, n, "closing trade %ld (%s) at market", pos.trade.id, pos.trade.symbol);
    return LB_OK;
  }
  snprintf(result, n, "unknown action");
  return LB_EINVAL;
}

static lb_err h_control(void *ctx, http_action a, char *result, size_t n) {
  bot *b = ctx;
  lb_err rc = do_control(b, a, result, n);
  LB_INFO("bot", "control %s over HTTP: %s", http_action_name(a), result);
  return rc;
}

http_provider bot_http_provider(bot *b) {
  http_provider p = {.ctx = b, .health = h_health, .status = h_status, .metrics = h_metrics,
                     .control = h_control};
  return p;
}

/* ==== Telegram ==== */

static const char *money(lb_dec d, char *buf, size_t n) {
  lb_dec_fmt_places(d, 2, buf, n);
  return buf;
}

static lb_err n_status(void *ctx, lb_buf *out, lb_errbuf *eb) {
  bot *b = ctx;
  (void)eb;
  bot_snap s;
  snap_now(b, &s);
  http_status st;
  fill_status(b, &s, &st);
  static const char *states[] = {"scanning", "in position", "paused", "starting", "stopping"};
  char a[32], c[32], d[32];
  lb_buf_printf(out, "levbot %s, %s\ncapital %s USDT, equity %s, today %s\n", bot_mode_name(b->opt.mode),
                (unsigned)st.state < 5 ? states[st.state] : "?", money(st.capital, a, sizeof a),
                money(st.equity, c, sizeof c), money(st.daily_pnl, d, sizeof d));
  if (st.has_position) {
    const http_position *p = &st.position;
    char e[32], q[32], sp[32], u[32];
    lb_dec_fmt(p->entry_price, e, sizeof e);
    lb_dec_fmt(p->quantity, q, sizeof q);
    lb_dec_fmt(p->stop_price, sp, sizeof sp);
    lb_buf_printf(out, "%s %s %s at %s, %dx, stop %s%s, unrealized %s\n", p->symbol,
                  p->is_long ? "LONG" : "SHORT", q, e, p->leverage, sp,
                  p->stop_on_exchange ? " (on the exchange)" : " (NOT CONFIRMED)",
                  money(p->unrealized_pnl, u, sizeof u));
  } else {
    lb_buf_puts(out, "no open position\n");
  }
  if (s.paused) lb_buf_printf(out, "entries paused: %s\n", s.pause_reason);
  if (st.breaker.active) lb_buf_printf(out, "circuit breaker %s: %s\n", st.breaker.kind, st.breaker.detail);
  return LB_OK;
}

static lb_err n_trades(void *ctx, int n, lb_buf *out, lb_errbuf *eb) {
  bot *b = ctx;
  (void)eb;
  store_trade t[BOT_RECENT_MAX];
  pthread_mutex_lock(&b->mu);
  int k = b->n_recent;
  memcpy(t, b->recent, (size_t)k * sizeof t[0]);
  pthread_mutex_unlock(&b->mu);
  int shown = 0;
  for (int i = 0; i < k && shown < n; i++) {
    if (t[i].status != STORE_TRADE_CLOSED) continue;
    char p[32];
    lb_buf_printf(out, "%s %s %s: %s (%s)\n", t[i].id, t[i].symbol, store_side_name(t[i].side),
                  money(store_trade_net_pnl(&t[i]), p, sizeof p), store_exit_reason_name(t[i].exit_reason));
    shown++;
  }
  if (!shown) lb_buf_puts(out, "no closed trade yet\n");
  return LB_OK;
}

static lb_err n_profit(void *ctx, lb_buf *out, lb_errbuf *eb) {
  bot *b = ctx;
  pthread_mutex_lock(&b->mu);
  store_metrics m = b->metrics;
  bool mv = b->metrics_valid;
  pthread_mutex_unlock(&b->mu);
  if (!mv) return lb_fail(eb, LB_ESTATE, "the database figures are not read yet");
  char t[32], a[32];
  lb_buf_printf(out, "%ld closed trades, %ld won (%.0f %%), total %s USDT, average %s, profit factor %.2f, "
                     "max drawdown %.1f %%\n",
                m.total_trades, m.wins, m.win_rate * 100, money(m.total_pnl, t, sizeof t),
                money(m.avg_pnl, a, sizeof a), m.profit_factor, m.max_drawdown_pct * 100);
  return LB_OK;
}

static lb_err n_balance(void *ctx, lb_buf *out, lb_errbuf *eb) {
  bot *b = ctx;
  (void)eb;
  pthread_mutex_lock(&b->mu);
  bot_snap s = b->snap;
  pthread_mutex_unlock(&b->mu);
  char c[32], e[32], f[32];
  lb_buf_printf(out, "capital %s USDT (fees paid %s), equity %s USDT\n", money(s.led.capital, c, sizeof c),
                money(s.led.fees, f, sizeof f), money(s.equity, e, sizeof e));
  return LB_OK;
}

static lb_err n_health(void *ctx, lb_buf *out, lb_errbuf *eb) {
  http_health h;
  h_health(ctx, &h, eb);
  lb_buf_printf(out, "%s: database %s, exchange %s, engine %s\n",
                http_verdict_name(http_health_verdict(&h)), h.database_ok ? "ok" : h.database_error,
                h.exchange_ok ? "ok" : h.exchange_error, h.engine_ok ? "ok" : h.engine_error);
  return LB_OK;
}

static lb_err n_config(void *ctx, lb_buf *out, lb_errbuf *eb) {
  bot *b = ctx;
  (void)eb;
  static const char *const names[] = {"USE_PAPER_TRADING", "SYMBOLS", "ENTRY_TIMEFRAME", "TIMEFRAMES",
                                      "MAX_LEVERAGE", "MAX_RISK_PER_TRADE", "MIN_STOP_LOSS_PERCENT",
                                      "MAX_STOP_LOSS_PERCENT", "MIN_AI_CONFIDENCE", "SCAN_INTERVAL_SECONDS",
                                      "AI_PROVIDERS", "DATABASE_URL", "BINANCE_API_KEY"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const lb_cfg_var *v = lb_config_find(names[i]);
    if (!v) continue;
    char val[256];
    lb_config_format(&b->cfg, v, true, val, sizeof val);
    lb_buf_printf(out, "%s=%s\n", names[i], val);
  }
  return LB_OK;
}

static lb_err n_version(void *ctx, lb_buf *out, lb_errbuf *eb) {
  bot *b = ctx;
  (void)eb;
  lb_buf_printf(out, "levbot, %s mode\n", bot_mode_name(b->opt.mode));
  return LB_OK;
}

static lb_err n_pause(void *ctx, lb_buf *out, lb_errbuf *eb) {
  char r[128];
  lb_err rc = do_control(ctx, HTTP_CTL_PAUSE, r, sizeof r);
  (void)eb;
  LB_INFO("bot", "control pause over Telegram");
  lb_buf_puts(out, "Entries paused; the open position (if any) keeps its stop.");
  return rc;
}

static lb_err n_resume(void *ctx, lb_buf *out, lb_errbuf *eb) {
  char r[128];
  lb_err rc = do_control(ctx, HTTP_CTL_RESUME, r, sizeof r);
  (void)eb;
  LB_INFO("bot", "control resume over Telegram");
  lb_buf_puts(out, "Entries resumed (circuit breakers reset).");
  return rc;
}

static lb_err n_stop(void *ctx, lb_buf *out, lb_errbuf *eb) {
  bot *b = ctx;
  (void)eb;
  LB_INFO("bot", "stop requested over Telegram");
  bot_stop(b);
  lb_buf_puts(out, "Stopping: no new scans; the exchange-side stop stays in place.");
  return LB_OK;
}

static lb_err n_forceexit(void *ctx, lb_buf *out, lb_errbuf *eb) {
  char r[128];
  lb_err rc = do_control(ctx, HTTP_CTL_CLOSE, r, sizeof r);
  if (rc == LB_ESTATE) return lb_fail(eb, LB_ESTATE, "%s", r);
  LB_INFO("bot", "control close over Telegram: %s", r);
  lb_buf_printf(out, "%s", r);
  return rc;
}

notify_control bot_notify_control(bot *b) {
  notify_control c;
  memset(&c, 0, sizeof c);
  c.ctx = b;
  c.status = n_status;
  c.trades = n_trades;
  c.profit = n_profit;
  c.balance = n_balance;
  c.health = n_health;
  c.show_config = n_config;
  c.version = n_version;
  c.pause = n_pause;
  c.resume = n_resume;
  c.stop = n_stop;
  c.forceexit = n_forceexit;
  return c;
}
