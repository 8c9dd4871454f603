/* bot.c -- building the bot from the configuration, running it, stopping it gracefully (bot.h).
 *
 * bot_new() opens everything that can refuse to start (the database and
 * its instance lock, the exchange adapter, the AI panel, the notifier's
 * channels, the health server's port), so `levbot run` fails before it
 * trades with a precise exit code; bot_run() is the engine thread's life
 * (loop.c); bot_free() closes in the order the wiring needs: the health
 * server and the notifier before the store (the notifier's outbox lives
 * there), the engine before its exchange.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bot/bot_int.h"
#include "core/log.h"

const char *bot_mode_name(bot_mode m) {
  switch (m) {
  case BOT_PAPER: return "paper";
  case BOT_LIVE: return "live";
  case BOT_REPLAY: return "replay";
  }
  return "?";
}

lb_ms bot_wall(const bot *b) {
  (void)b;
  return lb_time_now_ms();
}

void bot_set_paused(bot *b, bool paused, const char *why) {
  pthread_mutex_lock(&b->mu);
  bool was = b->paused;
  b->paused = paused;
  snprintf(b->pause_reason, sizeof b->pause_reason, "%s", paused ? why : "");
  pthread_mutex_unlock(&b->mu);
  if (was != paused) LB_INFO("bot", "entries %s%s%s", paused ? "paused" : "resumed", paused ? ": " : "", paused ? why : "");
}

bool bot_is_paused(bot *b) {
  pthread_mutex_lock(&b->mu);
  bool p = b->paused;
  pthread_mutex_unlock(&b->mu);
  return p;
}

bool bot_should_stop(bot *b) {
  if (atomic_load(&b->stop_req)) return true;
  if (b->opt.stop && *b->opt.stop) return true;
  if (b->opt.duration_ms > 0 && lb_clock_now(b->clock) - b->started_wall >= b->opt.duration_ms) return true;
  return false;
}

void bot_stop(bot *b) { atomic_store(&b->stop_req, true); }

int bot_http_port(const bot *b) { return b->http ? http_server_port(b->http) : 0; }

/* ==== Opening ==== */

/* Live: a new ledger starts from the account's wallet (INITIAL_CAPITAL is
 * for paper trading). */
static lb_err wallet(bot *b, lb_dec *out, lb_errbuf *eb) {
  xchg_balance bal;
  xchg_error err;
  xchg_kind k = b->market->ops->balance(b->market, &bal, &err);
  if (k != XCHG_OK)
    return lb_fail(eb, k == XCHG_FATAL ? LB_EAUTH : LB_ENET, "exchange balance: %s", err.msg);
  *out = bal.wallet_balance;
  return LB_OK;
}

/* A SQLite file that does not exist yet is created as `levbot setup-db`
 * would; an existing database must be set up and current (setup-db). */
static lb_err open_store(bot *b, lb_errbuf *eb) {
  store_url u;
  lb_errbuf ueb;
  lb_err rc = store_url_parse(b->cfg.database_url, &u, &ueb);
  if (rc) return lb_fail(eb, LB_ECONFIG, "DATABASE_URL: %s", ueb.msg);
  store_trading_mode mode = b->opt.mode == BOT_LIVE ? STORE_LIVE : STORE_PAPER;
  if (u.backend == STORE_BACKEND_SQLITE && access(u.path, F_OK) != 0) {
    lb_dec initial = b->cfg.initial_capital;
    if (b->opt.mode == BOT_LIVE) {
      rc = wallet(b, &initial, eb);
      if (rc) return rc;
    }
    store_setup_options so = {.initial_capital = initial, .mode = mode};
    LB_INFO("bot", "creating the database %s (as levbot setup-db does)", u.masked);
    rc = store_setup(b->cfg.database_url, &so, NULL, NULL, NULL, eb);
    if (rc) return rc;
  }
  store_options o;
  memset(&o, 0, sizeof o);
  o.instance_lock = true;
  o.on_event = bot_on_store_event;
  o.event_ctx = b;
  rc = store_open(b->cfg.database_url, &o, &b->db, eb);
  /* an unreachable PostgreSQL (LB_ENET from the store) is a database
   * error, exit 5, not the exchange's; a refusal keeps its code */
  if (rc) return rc == LB_EBUSY || rc == LB_ESTATE || rc == LB_ECONFIG || rc == LB_ENOMEM ? rc : LB_EDB;
  store_trading_config tc;
  lb_errbuf geb;
  lb_err g = store_config_get(b->db, &tc, &geb);
  if (g == LB_OK && tc.mode != mode)
    return lb_fail(eb, LB_ESTATE, "the database %s holds %s trading and this is %s trading: use "
                                  "another DATABASE_URL (paper and live never share a ledger)",
                   u.masked, store_trading_mode_name(tc.mode), store_trading_mode_name(mode));
  if (g == LB_ENOTFOUND) {
    lb_dec initial = b->cfg.initial_capital;
    if (b->opt.mode == BOT_LIVE) { /* live: the ledger starts from the account */
      rc = wallet(b, &initial, eb);
      if (rc) return rc;
    }
    rc = store_config_init(b->db, initial, mode, lb_time_now_ms(), NULL, eb);
    if (rc) return rc;
  } else if (g != LB_OK) {
    return lb_fail(eb, g, "%s", geb.msg);
  }
  return LB_OK;
}

static lb_err open_panel(bot *b, lb_errbuf *eb) {
  strategy_panel *tech = NULL;
  lb_err rc = strategy_technical_panel_new(NULL, &tech, eb);
  if (rc) return rc;
  ai_deps deps = {.db = b->db, .clock = NULL, .technical = tech, .on_event = bot_on_ai_event, .event_ctx = b};
  if (b->opt.mode == BOT_REPLAY) {
    /* a replay is the backtest's decision path: the technical analyst alone */
    ai_config ac;
    int skipped = 0;
    rc = ai_config_from_lb(&b->cfg, &ac, &skipped, eb);
    if (rc) {
      tech->destroy(tech);
      return rc;
    }
    ac.n_prov = 0;
    rc = ai_panel_new(&ac, &deps, &b->panel, eb);
  } else {
    rc = ai_panel_from_config(&b->cfg, &deps, &b->panel, eb);
  }
  if (rc) return rc;
  ai_panel_rules(b->panel, &b->ep.consensus);
  return LB_OK;
}

static lb_err open_notify(bot *b, lb_errbuf *eb) {
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  o.clock = lb_clock_system;
  o.persist = bot_notify_persist(b);
  o.control = bot_notify_control(b);
  lb_err rc = notify_queue_from_config(&b->cfg, &o, &b->nq, eb);
  if (rc) return rc;
  return notify_queue_start(b->nq, eb);
}

static lb_err open_http(bot *b, lb_errbuf *eb) {
  http_options ho;
  http_options_from_config(&b->cfg, &ho);
  http_provider p = bot_http_provider(b);
  lb_err rc = http_server_new(&ho, &p, &b->http, eb);
  if (rc) return rc;
  LB_INFO("bot", "health server on http://%s:%d (/health /status /metrics)", ho.host ? ho.host : "127.0.0.1",
          http_server_port(b->http));
  return LB_OK;
}

static lb_err open_report(bot *b, lb_errbuf *eb) {
  engine_report_info info;
  memset(&info, 0, sizeof info);
  if (b->rs) {
    engine_replay_report_info(b->rs, &b->opt.replay, &b->cfg, &info);
    snprintf(info.title, sizeof info.title, "levbot run (paper, replay)");
  } else {
    size_t off = 0;
    for (int i = 0; i < b->ep.n_tf && off < sizeof info.timeframes; i++) {
      char tf[16];
      off += (size_t)snprintf(info.timeframes + off, sizeof info.timeframes - off, "%s%s", i ? "," : "",
                              lb_timeframe_name(b->ep.timeframes[i], tf, sizeof tf));
    }
    info.feed_tf = b->feed_tf;
    info.initial_capital = b->cfg.initial_capital;
    info.max_leverage = (int)b->cfg.max_leverage;
    info.max_risk_per_trade = b->cfg.max_risk_per_trade;
    info.slippage_bps = b->cfg.slippage_bps;
    info.taker_fee = b->cfg.taker_fee;
    info.funding_rate = b->cfg.funding_rate;
    snprintf(info.title, sizeof info.title, "levbot run (%s)", bot_mode_name(b->opt.mode));
  }
  snprintf(info.panel, sizeof info.panel, "%s", b->panel && b->panel->name ? b->panel->name : "?");
  return engine_report_new(&info, &b->report, eb);
}

lb_err bot_new(const lb_config *cfg, const bot_options *o, bot **out, lb_errbuf *eb) {
  *out = NULL;
  bot *b = calloc(1, sizeof *b);
  if (!b) return lb_fail(eb, LB_ENOMEM, "out of memory");
  b->cfg = *cfg;
  b->opt = *o;
  b->clock = o->clock ? o->clock : &lb_clock_system;
  b->started_wall = lb_clock_now(b->clock);
  b->started_mono = lb_time_mono_ms();
  pthread_mutex_init(&b->mu, NULL);
  pthread_mutex_init(&b->scan_mu, NULL);
  pthread_cond_init(&b->scan_cv, NULL);
  pthread_cond_init(&b->house_cv, NULL);
  pthread_mutex_init(&b->tap.lat_mu, NULL);
  atomic_init(&b->market_up, o->mode == BOT_REPLAY);
  atomic_init(&b->user_up, false);
  b->snap.state = HTTP_STATE_STARTING;
  lb_err rc;
  if (o->mode == BOT_REPLAY) {
    b->rs = calloc(1, sizeof *b->rs);
    if (!b->rs) {
      rc = lb_fail(eb, LB_ENOMEM, "out of memory");
      goto fail;
    }
    rc = engine_replay_setup_load(b->rs, &o->replay, cfg, eb);
    if (rc) {
      free(b->rs);
      b->rs = NULL;
      goto fail;
    }
    b->ep = b->rs->params.engine;
    b->ep.n_symbols = (int)b->rs->n;
    for (size_t i = 0; i < b->rs->n; i++)
      snprintf(b->ep.symbols[i], sizeof b->ep.symbols[i], "%s", b->rs->series[i].symbol);
    b->feed_tf = b->rs->data_tf;
    if (b->ep.timeframes[0] % b->feed_tf != 0) {
      char a[16], c[16];
      rc = lb_fail(eb, LB_EINVAL, "the data's timeframe %s does not divide the entry timeframe %s",
                   lb_timeframe_name(b->feed_tf, a, sizeof a), lb_timeframe_name(b->ep.timeframes[0], c, sizeof c));
      goto fail;
    }
  } else {
    rc = engine_params_from_config(cfg, &b->ep, eb);
    if (rc) goto fail;
    b->feed_tf = b->ep.timeframes[0];
    rc = xchg_binance_new(cfg, &lb_clock_system, &b->market, eb);
    if (rc) goto fail;
    if (o->mode == BOT_LIVE) bot_tap_init(b, b->market, true);
  }
  snprintf(b->ep.cid_prefix, sizeof b->ep.cid_prefix, BOT_CID_PREFIX);
  snprintf(b->mode_name, sizeof b->mode_name, "%s", bot_mode_name(o->mode));
  rc = open_store(b, eb);
  if (!rc) rc = open_panel(b, eb);
  if (!rc) rc = open_notify(b, eb);
  if (!rc) rc = open_http(b, eb);
  if (!rc && o->report) rc = open_report(b, eb);
  if (!rc) rc = bot_house_start(b, eb);
  if (rc) goto fail;
  *out = b;
  return LB_OK;
fail:
  bot_free(b);
  return rc;
}

/* ==== Running and stopping ==== */

lb_err bot_run(bot *b, bot_result *res, lb_errbuf *eb) {
  memset(res, 0, sizeof *res);
  lb_err rc = bot_loop(b, res, eb);
  res->recovered = b->recovered;
  res->candles = b->candles;
  if (b->eng) {
    engine_get_counters(b->eng, &res->counters);
    res->candles = res->counters.candles;
    engine_get_ledger(b->eng, &res->ledger);
    engine_get_position(b->eng, &res->position);
  }
  if (b->report) {
    lb_ms last = b->last_close ? b->last_close : b->eng ? engine_time(b->eng) : 0;
    engine_report_finish(b->report, b->eng, b->sim, b->first_candle, last);
    res->report = b->report;
    b->report = NULL;
  }
  if (res->position.state != ENGINE_FLAT)
    LB_INFO("bot", "stopping with trade %ld open: its stop stays on the exchange", res->position.trade.id);
  if (b->nq) {
    notify_event ev;
    notify_event_init(&ev, NOTIFY_EV_STOP);
    notify_set(ev.reason, rc ? "error" : res->replay_done ? "replay finished" : "stopped");
    ev.capital = res->ledger.capital;
    notify_post(b->nq, &ev);
    notify_queue_drain(b->nq, 5000);
  }
  if (b->db) {
    lb_errbuf feb;
    if (store_flush(b->db, 10000, &feb) != LB_OK)
      LB_WARN("bot", "database writes still queued at shutdown (kept in the journal): %s", feb.msg);
  }
  bot_publish(b, true);
  return rc;
}

void bot_free(bot *b) {
  if (!b) return;
  bot_house_stop(b);
  http_server_free(b->http);
  b->http = NULL;
  notify_queue_free(b->nq);
  b->nq = NULL;
  bot_scan_worker_stop(b);
  engine_free(b->eng);
  b->eng = NULL;
  if (b->panel && !b->panel_in_use) b->panel->destroy(b->panel);
  b->panel = NULL;
  xchg_free(b->sim);
  xchg_free(b->market);
  bot_tap_close(b);
  store_close(b->db);
  if (b->rs) {
    engine_replay_setup_close(b->rs);
    free(b->rs);
  }
  free(b->job);
  engine_report_free(b->report);
  pthread_mutex_destroy(&b->tap.lat_mu);
  pthread_cond_destroy(&b->house_cv);
  pthread_cond_destroy(&b->scan_cv);
  pthread_mutex_destroy(&b->scan_mu);
  pthread_mutex_destroy(&b->mu);
  free(b);
}
