/* bot_int.h -- private to src/bot: the bot's struct and the functions its files share.
 *
 * Files: bot.c (building, running, stopping), loop.c (the engine thread's
 * loops and the scan worker), tap.c (the engine's exchange: a wrapper that
 * records and times orders and filters the market feed), record.c (the
 * engine observer: console lines, store rows, notifications), recover.c
 * (restart recovery and live reconciliation), serve.c (the snapshot, the
 * health server's provider, Telegram's control, the housekeeper), dbview.c
 * (`levbot status` and `levbot report` from the database).
 *
 * Locks: `mu` guards the snapshot, the housekeeper's cache and the control
 * requests; `scan_mu` the scan hand-off; the tap's latency ring has its
 * own.  No lock is held while calling another module.
 */
#ifndef LB_BOT_BOT_INT_H
#define LB_BOT_BOT_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "ai/ai.h"
#include "bot/bot.h"
#include "exchange/binance.h"
#include "exchange/sim.h"
#include "http/http.h"
#include "notify/notify.h"
#include "strategy/strategy.h"

#define BOT_CID_PREFIX "lb"
#define BOT_LAT_MAX 4096   /* trailing-stop latency samples kept (ring) */
#define BOT_PLACED_MAX 64  /* client ids placed by this process (ring) */
#define BOT_RECENT_MAX 10  /* recent closed trades cached for Telegram */
#define BOT_CUM_MAX 32     /* orders whose cumulative fills are remembered (fill keys) */

/* ==== The engine's exchange: a tap on the real one (tap.c) ==== */

typedef struct {
  xchg *inner;
  struct bot *b;
  bool hold;        /* warm-up and recovery: events wait inside the inner exchange */
  bool filter;      /* pass candles through the feed filter (live: streamed candles) */
  xchg_event *out;  /* events ready for the engine (gap candles first) */
  size_t n_out, pos_out, cap_out;
  long events;      /* events handed to the engine (activity for the loop) */
  /* cumulative fills per order as the venue reported them (see fold() in tap.c) */
  struct {
    char cid[XCHG_ID_MAX];
    lb_dec filled, fee, realized;
  } acc[32];
  int n_acc, next_acc;
  /* client ids of this process, for reconciliation */
  struct {
    char cid[XCHG_ID_MAX];
    char symbol[LB_SYMBOL_MAX];
  } placed[BOT_PLACED_MAX];
  int n_placed, next_placed;
  /* trailing latency hook (bench/run): the last mark the engine saw */
  int64_t mark_ns;  /* monotonic ns when it was handed over */
  lb_ms mark_time;  /* its exchange time stamp */
  pthread_mutex_t lat_mu;
  uint32_t lat_us[BOT_LAT_MAX];     /* mark handed over -> replacement stop request */
  int32_t lat_wire_ms[BOT_LAT_MAX]; /* mark's exchange time -> request (same host clock) */
  long n_lat;
} bot_tap;

/* ==== What the engine thread publishes (serve.c) ==== */

typedef struct {
  http_state state;
  bool paused;               /* entries paused by command */
  char pause_reason[128];
  engine_position pos;
  engine_ledger led;
  engine_counters cnt;
  lb_dec equity;
  lb_dec daily_pnl;          /* net of trades closed since 00:00 UTC (engine time) */
  lb_ms day;
  http_breaker breaker;
  lb_ms last_scan_at, next_scan_at;
  lb_ms as_of;
  int64_t heartbeat_ms;      /* monotonic, last loop iteration */
  bool market_up, user_up;
  bool exchange_ok;
  char exchange_error[HTTP_TEXT_MAX];
  bool engine_ok;
  char engine_error[HTTP_TEXT_MAX];
  long candles;
  long scans_done;           /* scans finished (told by prepare, or applied) */
} bot_snap;

/* ==== The bot ==== */

struct bot {
  lb_config cfg;
  bot_options opt;
  const lb_clock *clock;
  lb_ms started_wall;
  int64_t started_mono;
  char mode_name[16];

  store *db;
  xchg *market;              /* Binance adapter: market data (paper), everything (live) */
  xchg *sim;                 /* paper and replay: the venue */
  xchg tapx;                 /* the engine's exchange */
  bot_tap tap;
  strategy_panel *panel;
  bool panel_in_use;         /* a detached scan worker still asks it: not destroyed */
  engine_params ep;
  engine *eng;
  notify_queue *nq;
  http_server *http;
  engine_replay_setup *rs;   /* replay */
  engine_report *report;     /* options.report */
  engine_observer rep_obs;   /* its collector, called before the bot's own callbacks */
  lb_ms first_candle, last_close;
  lb_ms feed_tf;             /* candles fed to the engine */
  lb_dec capital0;           /* ledger capital at start (recovery) */

  /* control (any thread) */
  atomic_bool stop_req;
  atomic_bool close_req;
  atomic_bool reset_req;     /* resume: also reset the breakers */
  atomic_int ai_failures;    /* AI_EV_ALL_FAILED not yet fed to the breaker */
  atomic_bool user_stream_up_evt; /* reconcile: the user stream came back */
  atomic_bool fatal;
  atomic_bool db_down;
  atomic_bool lock_lost;
  atomic_bool market_up, user_up;

  /* engine thread */
  long exch_errors_seen;
  lb_ms last_reconcile_mono;
  bool reconcile_due;
  lb_ms due[ENGINE_MAX_SYMBOLS];         /* scans due (entry close time), 0 = none */
  lb_ms last_scan_mono[ENGINE_MAX_SYMBOLS];
  lb_ms last_equity_mark;
  lb_ms last_publish_mono;
  long candles;
  long scans_done;
  long recovered;
  lb_ms feed_last[ENGINE_MAX_SYMBOLS];   /* open time of the last candle fed, per symbol */
  engine_scan *scan_applying;            /* the scan inside engine_scan_apply (record.c) */
  bool round_recorded;
  char consensus_id[STORE_ID_MAX];       /* of the last scan that entered */
  long consensus_trade;
  int n_votes;
  notify_vote votes[NOTIFY_MAX_VOTES];
  char stop_cid[XCHG_ID_MAX], tp_cid[XCHG_ID_MAX]; /* of the open trade (positions row) */
  lb_dec paper_mark[ENGINE_MAX_SYMBOLS]; /* replay: first price, for a stale paper trade */
  struct {
    char cid[XCHG_ID_MAX];
    lb_dec cum;
  } cum[BOT_CUM_MAX];                    /* cumulative quantity filled per order (fill keys) */
  int n_cum, next_cum;
  char liq_seen[16][XCHG_ID_MAX];        /* liquidation fills the engine has had */
  int n_liq_seen;

  /* scan worker (scan_mu) */
  pthread_t scan_thread;
  bool scan_started;
  pthread_mutex_t scan_mu;
  pthread_cond_t scan_cv;
  enum { SCAN_IDLE = 0, SCAN_ASKING, SCAN_DONE } scan_state;
  bool scan_quit;
  engine_scan *job;

  /* housekeeper */
  pthread_t house_thread;
  bool house_started;
  pthread_cond_t house_cv;
  bool house_quit, house_kick;

  /* snapshot, cache and requests (mu) */
  pthread_mutex_t mu;
  bot_snap snap;
  bool paused;
  char pause_reason[128];
  store_health dbh;
  bool dbh_valid;
  store_metrics metrics;
  bool metrics_valid;
  store_trade recent[BOT_RECENT_MAX];
  int n_recent;
  risk_breaker_event trips[RISK_BRK__COUNT]; /* active trips, by kind */
  bool trip_active[RISK_BRK__COUNT];
};

/* ==== bot.c ==== */
lb_ms bot_wall(const bot *b);            /* wall clock (UTC ms) */
void bot_set_paused(bot *b, bool paused, const char *why);
bool bot_is_paused(bot *b);
bool bot_should_stop(bot *b);

/* ==== tap.c ==== */
void bot_tap_init(bot *b, xchg *inner, bool filter);
void bot_tap_close(bot *b);
void bot_tap_hold(bot *b, bool hold);
/* A synthetic event (reconciliation) handed to the engine before anything else. */
void bot_tap_inject(bot *b, const xchg_event *ev);
/* Remembers a client id this process placed (the tap does it for the engine's). */
void bot_tap_note_placed(bot *b, const char *symbol, const char *cid);
/* An order's cumulative figures known before the restart (adoption). */
void bot_tap_seed(bot *b, const char *cid, lb_dec filled, lb_dec fee, lb_dec realized);
/* The feed filter: drops candles the engine has (warm-up, duplicates) and
 * fetches the bars a hole skipped; emit() gets them in order. */
void bot_feed_candle(bot *b, const xchg_event *ev, void (*emit)(void *ctx, const xchg_event *ev),
                     void *ctx);
void bot_feed_set_last(bot *b, int sym, lb_ms ts);
void bot_mark_seen(bot *b, lb_ms ev_time);
/* True if this liquidation fill was handed to the engine already; `note`
 * remembers it. */
bool bot_liquidation_seen(bot *b, const xchg_fill *f, bool note);
void bot_latency(bot *b, double *p50_us, double *p99_us, double *p99_wire_ms, long *n);

/* ==== record.c ==== */
engine_observer bot_observer(bot *b);
void bot_out(bot *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void bot_on_store_event(void *ctx, const store_event *ev);
void bot_on_ai_event(void *ctx, const ai_event *ev);
notify_persist bot_notify_persist(bot *b);
/* "lb-<n>-E" for trade n; the trade number of one of our client ids (0 if not ours). */
void bot_trade_cid(long n, char *out, size_t len);
long bot_cid_trade(const char *cid, char *kind, int *version);
store_order_kind bot_order_kind(char kind);
store_order_type bot_order_type(xchg_type t);
store_order_status bot_order_status(xchg_status s);
store_exit_reason bot_exit_reason(engine_exit_reason r);
/* After a scan went through the analysts: its AI round in the store. */
void bot_record_round(bot *b, engine_scan *s);
/* Fill keys: "c<cumulative quantity of the order after the fill>". */
void bot_fill_key(lb_dec cum, char *out, size_t n);
void bot_fill_cum_seed(bot *b, const char *cid, lb_dec cum);
void bot_record_capital(bot *b, lb_dec capital, lb_ms at);
void bot_record_position(bot *b, const char *symbol, store_pos_state st, long trade, lb_ms at,
                         store_wmode mode);

/* ==== recover.c ==== */
/* Restart recovery before the engine exists (R2); fills b->capital0 and,
 * when a position of ours is open, *adopt (adopt->trade.id 0 otherwise). */
lb_err bot_recover(bot *b, engine_adoption *adopt, long *next_trade, lb_errbuf *eb);
/* Live, while running: re-reads the open trade's orders and the position
 * (after a user-stream reconnect and every RECONCILE_SECONDS). */
void bot_reconcile(bot *b);

/* ==== serve.c ==== */
void bot_publish(bot *b, bool force);
http_provider bot_http_provider(bot *b);
notify_control bot_notify_control(bot *b);
lb_err bot_house_start(bot *b, lb_errbuf *eb);
void bot_house_stop(bot *b);
void bot_house_kick(bot *b);
void bot_note_breaker(bot *b, const risk_breaker_event *ev);

/* ==== loop.c ==== */
lb_err bot_loop(bot *b, bot_result *res, lb_errbuf *eb);
lb_err bot_scan_worker_start(bot *b, lb_errbuf *eb);
void bot_scan_worker_stop(bot *b);

#endif
