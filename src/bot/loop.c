/* loop.c -- the engine thread: start-up (warm-up, recovery, adoption) and the loops of the three modes.
 *
 * Live:   the engine's exchange is the tap on the Binance adapter;
 *         engine_poll() drains fills, candles and marks (the position
 *         monitor runs inside it) and engine_next_scan() hands out the scans
 *         streamed candles made due.
 * Paper:  the engine's exchange is the tap on the simulated one; this loop
 *         drains the Binance adapter's market events itself and feeds the
 *         marks to the simulator (fills) and the engine (monitor), the
 *         candles to the engine (indicators, scans).
 * Replay: candle files paced by the clock; the simulator first, then the
 *         engine, then the scan on the same thread (market time waits for the
 *         analysts, as in a backtest, so a replay is deterministic).
 *
 * Live and paper scans are split (engine.h): prepare here, ask on the scan
 * worker thread, apply here when the answer is back, so a slow LLM never
 * holds the position monitor.  One scan is in flight at a time (a panel is
 * not reentrant); due scans wait, latest per symbol.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bot/bot_int.h"
#include "core/log.h"

/* ==== Scan worker ==== */

static void *scan_main(void *arg) {
  bot *b = arg;
  pthread_mutex_lock(&b->scan_mu);
  for (;;) {
    while (!b->scan_quit && b->scan_state != SCAN_ASKING) pthread_cond_wait(&b->scan_cv, &b->scan_mu);
    if (b->scan_quit) break;
    pthread_mutex_unlock(&b->scan_mu);
    engine_scan_ask(b->panel, b->job); /* slow: LLM calls */
    pthread_mutex_lock(&b->scan_mu);
    b->scan_state = SCAN_DONE;
  }
  pthread_mutex_unlock(&b->scan_mu);
  return NULL;
}

lb_err bot_scan_worker_start(bot *b, lb_errbuf *eb) {
  if (pthread_create(&b->scan_thread, NULL, scan_main, b) != 0)
    return lb_fail(eb, LB_ENOMEM, "cannot start the scan worker");
  b->scan_started = true;
  return LB_OK;
}

/* A worker still asking an LLM is not waited for beyond a few seconds: the
 * process is ending and the answer would be stale anyway. */
void bot_scan_worker_stop(bot *b) {
  if (!b->scan_started) return;
  pthread_mutex_lock(&b->scan_mu);
  b->scan_quit = true;
  pthread_cond_signal(&b->scan_cv);
  bool busy = b->scan_state == SCAN_ASKING;
  pthread_mutex_unlock(&b->scan_mu);
  for (int i = 0; busy && i < 500; i++) {
    struct timespec ts = {0, 10 * 1000000L};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&b->scan_mu);
    busy = b->scan_state == SCAN_ASKING;
    pthread_mutex_unlock(&b->scan_mu);
  }
  if (busy) {
    LB_WARN("bot", "an analysis is still running at shutdown: not waited for");
    pthread_detach(b->scan_thread);
    b->panel_in_use = true; /* left to the process exit: the worker still uses it */
  } else {
    pthread_join(b->scan_thread, NULL);
  }
  b->scan_started = false;
}

/* ==== Small helpers ==== */

static void idle(void) {
  struct timespec ts = {0, 1000000L}; /* 1 ms: the monitor's worst added wait */
  nanosleep(&ts, NULL);
}

static void set_state(bot *b, http_state st) {
  pthread_mutex_lock(&b->mu);
  b->snap.state = st;
  pthread_mutex_unlock(&b->mu);
  bot_publish(b, true);
}

static lb_ms top_tf(const bot *b) { return b->ep.timeframes[b->ep.n_tf - 1]; }

/* Control requests, failure feeds and breaker housekeeping: every loop. */
static void handle_requests(bot *b) {
  lb_ms now = engine_time(b->eng);
  if (atomic_exchange(&b->close_req, false)) {
    LB_INFO("bot", "closing the open position at market (command)");
    engine_close_position(b->eng, now);
  }
  if (atomic_exchange(&b->reset_req, false)) engine_reset_breakers(b->eng, RISK_BRK__COUNT, now);
  for (int n = atomic_exchange(&b->ai_failures, 0); n > 0; n--)
    engine_on_failure(b->eng, RISK_FAIL_AI, now);
  engine_counters c;
  engine_get_counters(b->eng, &c);
  for (; b->exch_errors_seen < c.exchange_errors; b->exch_errors_seen++)
    engine_on_failure(b->eng, RISK_FAIL_EXCHANGE, now);
  if (atomic_load(&b->lock_lost) && !bot_is_paused(b))
    bot_set_paused(b, true, "the single-instance lock was lost");
}

/* ==== Scans (live and paper) ==== */

static void note_scan(bot *b, lb_ms t) {
  pthread_mutex_lock(&b->mu);
  b->snap.last_scan_at = t;
  b->snap.next_scan_at = 0;
  pthread_mutex_unlock(&b->mu);
}

static void apply_done(bot *b) {
  b->scans_done++;
  if (bot_is_paused(b)) {
    LB_INFO("bot", "scan of %s dropped: entries are paused", b->job->symbol);
    return;
  }
  b->scan_applying = b->job;
  b->round_recorded = false;
  lb_err rc = engine_scan_apply(b->eng, b->job, engine_time(b->eng));
  if (!b->round_recorded) bot_record_round(b, b->job);
  b->scan_applying = NULL;
  if (rc == LB_ECONFIG) {
    LB_ERROR("bot", "fatal exchange error on entry: trading stops (%s)", b->job->detail);
    atomic_store(&b->fatal, true);
  }
}

/* Returns true when something happened. */
static bool run_scans(bot *b) {
  bool busy = false, act = false;
  pthread_mutex_lock(&b->scan_mu);
  if (b->scan_state == SCAN_DONE) {
    pthread_mutex_unlock(&b->scan_mu);
    apply_done(b);
    act = true;
    pthread_mutex_lock(&b->scan_mu);
    b->scan_state = SCAN_IDLE;
  }
  busy = b->scan_state != SCAN_IDLE;
  pthread_mutex_unlock(&b->scan_mu);
  if (busy) return act;
  /* periodic scans, SCAN_INTERVAL_SECONDS after the last of each symbol */
  lb_ms mono = lb_time_mono_ms();
  lb_ms every = (lb_ms)b->cfg.scan_interval_seconds * LB_MS_SECOND;
  for (int i = 0; i < b->ep.n_symbols; i++)
    if (!b->due[i] && b->feed_last[i] && mono - b->last_scan_mono[i] >= every)
      b->due[i] = engine_time(b->eng);
  if (bot_is_paused(b) || atomic_load(&b->fatal)) { /* no entry now: those scans are done */
    for (int i = 0; i < b->ep.n_symbols; i++)
      if (b->due[i]) {
        b->due[i] = 0;
        b->scans_done++;
        b->last_scan_mono[i] = mono;
      }
    return act;
  }
  for (;;) {
    int best = -1;
    for (int i = 0; i < b->ep.n_symbols; i++)
      if (b->due[i] && (best < 0 || b->due[i] < b->due[best])) best = i;
    if (best < 0) return act;
    lb_ms t = b->due[best];
    b->due[best] = 0;
    b->last_scan_mono[best] = mono;
    note_scan(b, t);
    act = true;
    if (engine_scan_prepare(b->eng, best, t, b->job)) {
      pthread_mutex_lock(&b->scan_mu);
      b->scan_state = SCAN_ASKING;
      pthread_cond_signal(&b->scan_cv);
      pthread_mutex_unlock(&b->scan_mu);
      return act;
    }
    b->scans_done++;
  }
}

/* ==== Start-up: exchange, recovery, engine, warm-up ==== */

static lb_err make_engine(bot *b, long next_trade, lb_dec booked, lb_errbuf *eb) {
  b->ep.initial_capital = b->capital0 - booked;
  b->ep.first_trade_id = next_trade;
  if (b->ep.initial_capital <= 0) b->ep.initial_capital = 1; /* ruined: the engine refuses 0 */
  engine_observer obs = bot_observer(b);
  return engine_new(&b->ep, &b->tapx, b->panel, &obs, &b->eng, eb);
}

static lb_err make_sim(bot *b, lb_errbuf *eb) {
  xchg_sim_params sp;
  xchg_sim_params_default(&sp);
  if (b->rs) sp = b->rs->params.sim;
  sp.initial_balance = b->capital0 > 0 ? b->capital0 : 1;
  lb_err rc = lb_dec_from_double(b->cfg.taker_fee, &sp.taker_fee);
  if (!rc) rc = lb_dec_from_double(b->cfg.maker_fee, &sp.maker_fee);
  if (!rc) rc = lb_dec_from_double(b->cfg.slippage_bps / 10000.0, &sp.slippage);
  if (!rc) rc = lb_dec_from_double(b->cfg.funding_rate, &sp.funding_rate);
  if (rc) return lb_fail(eb, rc, "simulator costs out of range");
  rc = xchg_sim_new(&sp, &b->sim, eb);
  for (int i = 0; rc == LB_OK && i < b->ep.n_symbols; i++) {
    xchg_sim_symbol s;
    memset(&s, 0, sizeof s);
    snprintf(s.symbol, sizeof s.symbol, "%s", b->ep.symbols[i]);
    lb_symbol_rules rules;
    lb_bracket_table br;
    xchg_error err;
    if (b->market) {
      if (b->market->ops->symbol_rules(b->market, s.symbol, &rules, &err) != XCHG_OK)
        return lb_fail(eb, LB_ENET, "%s: the exchange's rules could not be read: %s", s.symbol, err.msg);
      s.rules = &rules;
      /* the brackets endpoint is signed: without keys, Binance's published table */
      if (b->market->ops->brackets(b->market, s.symbol, &br, &err) == XCHG_OK) s.brackets = &br;
      else LB_INFO("bot", "%s: leverage brackets not read (%s): the simulator uses Binance's published table", s.symbol, err.msg);
    }
    if (b->rs && b->rs->funding_ptr[i]) s.funding = b->rs->funding_ptr[i];
    rc = xchg_sim_add_symbol(b->sim, &s, eb);
  }
  return rc;
}

/* Candles of the feed timeframe from the exchange's history, so the
 * indicators are ready at the first scan. */
static lb_err warm_up(bot *b, lb_errbuf *eb) {
  lb_ms now = lb_time_now_ms();
  lb_ms back = (lb_ms)b->cfg.warmup_bars * top_tf(b);
  if (back <= 0) return LB_OK;
  int64_t t0 = lb_time_mono_ns();
  for (int i = 0; i < b->ep.n_symbols; i++) {
    data_series s;
    data_series_init(&s);
    xchg_error err;
    /* up to far ahead: a simulator replaying fast runs its market ahead of the clock;
     * a failing exchange is given a few tries (0.1, 0.2, 0.4, 0.8 s) */
    xchg_kind k = XCHG_RETRYABLE;
    for (int a = 0; a < 5 && (k == XCHG_RETRYABLE || k == XCHG_UNKNOWN); a++) {
      if (a > 0) lb_clock_sleep(&lb_clock_system, (lb_ms)100 << (a - 1));
      data_series_close(&s);
      data_series_init(&s);
      k = b->market->ops->klines(b->market, b->ep.symbols[i], b->feed_tf, lb_time_floor(now - back, b->feed_tf),
                                 now + 365 * LB_MS_DAY, &s, &err);
    }
    if (k != XCHG_OK) {
      data_series_close(&s);
      return lb_fail(eb, k == XCHG_FATAL ? LB_EAUTH : LB_ENET, "warm-up candles of %s: %s",
                     b->ep.symbols[i], err.msg);
    }
    for (size_t c = 0; c < s.n; c++) {
      if (engine_on_candle(b->eng, i, b->feed_tf, &s.c[c], NULL) != LB_OK) continue;
      bot_feed_set_last(b, i, s.c[c].ts);
      b->candles++;
    }
    if (b->sim && s.n > 0) xchg_sim_on_candle(b->sim, b->ep.symbols[i], b->feed_tf, &s.c[s.n - 1]);
    LB_INFO("bot", "%s: %zu candles of history loaded", b->ep.symbols[i], s.n);
    data_series_close(&s);
  }
  LB_INFO("bot", "warm-up done in %.0f ms", (double)(lb_time_mono_ns() - t0) / 1e6);
  return LB_OK;
}

static void restore_breakers(bot *b) {
  store_breaker_event ev[16];
  int n = 0;
  lb_errbuf eb;
  if (store_breakers_active(b->db, ev, 16, &n, &eb) != LB_OK) {
    LB_WARN("bot", "active circuit breakers not read: %s", eb.msg);
    return;
  }
  for (int i = 0; i < n; i++) {
    risk_breaker_event t = {.kind = risk_breaker_from_name(ev[i].kind), .trip = true,
                            .time = ev[i].tripped_at, .resume_at = ev[i].resume_at};
    snprintf(t.detail, sizeof t.detail, "%.250s", ev[i].detail);
    if (t.kind == RISK_BRK__COUNT) continue;
    if (engine_restore_breaker(b->eng, &t, &eb) == LB_OK) {
      bot_note_breaker(b, &t);
      LB_INFO("bot", "circuit breaker %s is still tripped (since the last run)", ev[i].kind);
    }
  }
}

static lb_err start_exchange_modes(bot *b, lb_errbuf *eb) {
  /* Streams first: what happens during recovery waits in the adapter. */
  const char *syms[ENGINE_MAX_SYMBOLS];
  for (int i = 0; i < b->ep.n_symbols; i++) syms[i] = b->ep.symbols[i];
  bot_tap_hold(b, true);
  xchg_error err;
  xchg_kind k = b->market->ops->subscribe(b->market, syms, b->ep.n_symbols, b->feed_tf, &err);
  if (k != XCHG_OK) return lb_fail(eb, LB_ENET, "cannot start the exchange's streams: %s", err.msg);
  engine_adoption adopt;
  long next = 1;
  lb_err rc = bot_recover(b, &adopt, &next, eb);
  if (rc) return rc;
  lb_dec booked = adopt.trade.id ? adopt.trade.realized_pnl - adopt.trade.fees + adopt.trade.funding : 0;
  if (b->opt.mode == BOT_PAPER) {
    rc = make_sim(b, eb);
    if (rc) return rc;
    bot_tap_init(b, b->sim, false);
    bot_tap_hold(b, true);
  }
  rc = make_engine(b, next, booked, eb);
  if (rc) return rc;
  rc = warm_up(b, eb);
  if (rc) return rc;
  restore_breakers(b);
  if (adopt.trade.id && engine_adopt(b->eng, &adopt, engine_time(b->eng), eb) != LB_OK) {
    /* its stop is on the exchange (recovery saw to it), but nobody trails or
     * books it: say so loudly and open nothing beside it */
    LB_ERROR("bot", "recovery: the engine refused trade %ld (%s): it keeps its stop on the exchange, "
                    "entries are paused",
             adopt.trade.id, eb->msg);
    bot_set_paused(b, true, "an open position could not be adopted after the restart");
    if (b->nq) notify_post_text(b->nq, NOTIFY_CRITICAL, "Position not adopted after a restart", eb->msg);
  }
  bot_tap_hold(b, false);
  return LB_OK;
}

/* ==== Live ==== */

static void run_live(bot *b) {
  int64_t last_rec = lb_time_mono_ms();
  while (!bot_should_stop(b) && !atomic_load(&b->fatal)) {
    long before = b->tap.events;
    engine_poll(b->eng);
    int sym;
    lb_ms t;
    while (engine_next_scan(b->eng, &sym, &t)) b->due[sym] = t;
    bool act = b->tap.events != before;
    handle_requests(b);
    act |= run_scans(b);
    int64_t mono = lb_time_mono_ms();
    bool rec = atomic_exchange(&b->user_stream_up_evt, false);
    engine_position pos;
    engine_get_position(b->eng, &pos);
    if (pos.state != ENGINE_FLAT && mono - last_rec >= b->cfg.reconcile_seconds * 1000) rec = true;
    if (rec) {
      bot_reconcile(b);
      last_rec = mono;
    }
    bot_publish(b, act);
    if (!act) idle();
  }
}

/* ==== Paper ==== */

typedef struct {
  bot *b;
  bool act;
} paper_ctx;

static void paper_candle(void *ctx, const xchg_event *ev) {
  paper_ctx *p = ctx;
  bot *b = p->b;
  int sym = engine_symbol_index(b->eng, ev->symbol);
  if (sym < 0) return;
  bool due = false;
  if (engine_on_candle(b->eng, sym, ev->timeframe, &ev->candle, &due) == LB_OK) {
    b->candles++;
    if (due) b->due[sym] = ev->candle.ts + ev->timeframe;
  }
  p->act = true;
}

static void paper_mark(bot *b, const xchg_event *ev) {
  int sym = engine_symbol_index(b->eng, ev->symbol);
  if (sym < 0 || ev->price <= 0) return;
  /* the simulator's time only moves forward; a fast simulator's market
   * runs ahead of the marks' own stamps */
  lb_ms t = ev->time;
  lb_ms et = engine_time(b->eng);
  if (t < et) t = et;
  bot_mark_seen(b, ev->time);
  xchg_sim_on_mark(b->sim, ev->symbol, t, ev->price);
  engine_on_mark(b->eng, sym, t, ev->price);
}

static void run_paper(bot *b) {
  while (!bot_should_stop(b) && !atomic_load(&b->fatal)) {
    paper_ctx pc = {b, false};
    xchg_event ev[16];
    int n = xchg_poll_events(b->market, ev, 16);
    for (int i = 0; i < n; i++) {
      pc.act = true;
      switch (ev[i].type) {
      case XCHG_EV_CANDLE: bot_feed_candle(b, &ev[i], paper_candle, &pc); break;
      case XCHG_EV_MARK: paper_mark(b, &ev[i]); break;
      case XCHG_EV_STREAM_UP:
      case XCHG_EV_STREAM_DOWN:
        if (ev[i].stream == XCHG_STREAM_MARKET) {
          atomic_store(&b->market_up, ev[i].type == XCHG_EV_STREAM_UP);
          LB_INFO("bot", "market stream %s", ev[i].type == XCHG_EV_STREAM_UP ? "up" : "down");
        }
        break;
      default: break;
      }
    }
    engine_poll(b->eng); /* the simulator's fills */
    handle_requests(b);
    pc.act |= run_scans(b);
    bot_publish(b, pc.act);
    if (!pc.act) idle();
  }
}

/* ==== Replay ==== */

/* Waits until `until` on the bot's clock, serving requests meanwhile. */
static void replay_wait(bot *b, lb_ms until) {
  for (;;) {
    if (bot_should_stop(b)) return;
    lb_ms now = lb_clock_now(b->clock);
    if (now >= until) return;
    handle_requests(b);
    bot_publish(b, false);
    lb_ms d = until - now;
    lb_clock_sleep(b->clock, d > 50 ? 50 : d);
  }
}

static lb_err run_replay(bot *b, bot_result *res, lb_errbuf *eb) {
  engine_replay_setup *rs = b->rs;
  data_replay rp;
  lb_err rc = data_replay_init(&rp, rs->params.series, rs->params.n_series, 1);
  if (rc) return lb_fail(eb, rc, "replay: %s", lb_strerror(rc));
  const lb_ms tf = b->feed_tf;
  lb_ms wall0 = 0, first = 0;
  size_t which;
  data_candle c;
  bool any = false;
  while (data_replay_next(&rp, &which, &c)) {
    if (bot_should_stop(b) || atomic_load(&b->fatal)) {
      res->stopped = true;
      break;
    }
    lb_ms close_t = c.ts + tf;
    if (!any) { /* market time runs from the bot's start on its clock */
      first = b->first_candle = c.ts;
      wall0 = b->started_wall;
      any = true;
    }
    if (b->opt.speed > 0) replay_wait(b, wall0 + (lb_ms)((double)(close_t - first) / b->opt.speed));
    if (bot_should_stop(b)) {
      res->stopped = true;
      break;
    }
    bool due = false;
    rc = xchg_sim_on_candle_at(b->sim, (int)which, tf, &c);
    if (!rc) rc = engine_on_candle(b->eng, (int)which, tf, &c, &due);
    if (rc) {
      char when[LB_TIME_ISO_LEN];
      lb_time_fmt_iso(c.ts, when, sizeof when);
      lb_fail(eb, rc, "%s candle at %s: %s", b->ep.symbols[which], when, lb_strerror(rc));
      break;
    }
    b->candles++;
    if (close_t > b->last_close) b->last_close = close_t;
    handle_requests(b);
    if (due && !bot_is_paused(b)) {
      note_scan(b, close_t);
      if (engine_scan_prepare(b->eng, (int)which, close_t, b->job)) {
        engine_scan_ask(b->panel, b->job);
        b->scan_applying = b->job;
        b->round_recorded = false;
        rc = engine_scan_apply(b->eng, b->job, close_t);
        if (!b->round_recorded) bot_record_round(b, b->job);
        b->scan_applying = NULL;
        if (rc) {
          lb_fail(eb, rc, "scan of %s: %s", b->ep.symbols[which], b->job->detail);
          break;
        }
      }
      b->scans_done++;
    }
    bot_publish(b, false);
  }
  data_replay_close(&rp);
  if (!rc && !res->stopped) res->replay_done = true;
  return rc;
}

static lb_err start_replay(bot *b, lb_errbuf *eb) {
  for (size_t i = 0; i < b->rs->n; i++)
    if (b->rs->series[i].n > 0) lb_dec_from_double(b->rs->series[i].c[0].open, &b->paper_mark[i]);
  engine_adoption adopt;
  long next = 1;
  lb_err rc = bot_recover(b, &adopt, &next, eb);
  if (!rc) rc = make_sim(b, eb);
  if (rc) return rc;
  bot_tap_init(b, b->sim, false);
  rc = make_engine(b, next, 0, eb);
  if (rc) return rc;
  restore_breakers(b);
  return LB_OK;
}

/* ==== The whole run ==== */

lb_err bot_loop(bot *b, bot_result *res, lb_errbuf *eb) {
  set_state(b, HTTP_STATE_STARTING);
  b->job = calloc(1, sizeof *b->job);
  if (!b->job) return lb_fail(eb, LB_ENOMEM, "out of memory");
  lb_err rc = b->opt.mode == BOT_REPLAY ? start_replay(b, eb) : start_exchange_modes(b, eb);
  if (rc) return rc;
  if (b->opt.mode != BOT_REPLAY) {
    rc = bot_scan_worker_start(b, eb);
    if (rc) return rc;
  }
  /* the first timer scan one SCAN_INTERVAL_SECONDS after the start (candles scan before) */
  for (int i = 0; i < b->ep.n_symbols; i++) b->last_scan_mono[i] = lb_time_mono_ms();
  if (b->report) b->rep_obs = engine_report_observer(b->report);
  if (!b->first_candle && b->eng) b->first_candle = engine_time(b->eng);
  set_state(b, HTTP_STATE_SCANNING);
  if (b->nq) {
    notify_event ev;
    notify_event_init(&ev, NOTIFY_EV_START);
    char d[NOTIFY_DETAIL_MAX];
    snprintf(d, sizeof d, "%s trading, %.200s", bot_mode_name(b->opt.mode), b->cfg.symbols);
    notify_set(ev.detail, d);
    ev.capital = b->capital0;
    notify_post(b->nq, &ev);
  }
  LB_INFO("bot", "running: %s mode, capital %.2f USDT", bot_mode_name(b->opt.mode),
          lb_dec_to_double(b->capital0));
  switch (b->opt.mode) {
  case BOT_LIVE: run_live(b); break;
  case BOT_PAPER: run_paper(b); break;
  case BOT_REPLAY: rc = run_replay(b, res, eb); break;
  }
  if (b->opt.mode != BOT_REPLAY) res->stopped = true;
  set_state(b, HTTP_STATE_STOPPING);
  bot_scan_worker_stop(b);
  if (!rc && atomic_load(&b->fatal)) rc = lb_fail(eb, LB_EAUTH, "a fatal exchange error stopped trading");
  return rc;
}
