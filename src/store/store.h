/* store.h -- the ledger: every trade, order, fill, AI answer, breaker event
 * and equity mark, on SQLite (embedded, default) or PostgreSQL.
 *
 * Owns: the database behind DATABASE_URL, its schema and numbered
 * migrations, the connection pool, the single-instance lock, and the write
 * path that makes a record survive a crash or a database outage.  Callers
 * see plain structs (money as lb_dec, times as lb_ms UTC) and verbs; which
 * back end runs is chosen once by the URL scheme in store_open() and is
 * invisible above this header (internally each back end is an ops table,
 * as sqlite3_io_methods: see store_int.h).
 *
 * Must not: decide anything (risk, engine), format anything for a user
 * (cli, http), log, or store a secret: free texts given to it (error
 * messages, breaker details, notifications) pass through lb_redact() first.
 *
 * Writes.  Every write verb takes a store_wmode:
 *   STORE_SYNC   returns when the row is committed (durable: SQLite
 *                synchronous=FULL, PostgreSQL commit), or with an error;
 *   STORE_ASYNC  returns at once (it never waits for the database: the
 *                engine's stop-loss path uses this; at worst, while the
 *                database is down and the queue full, for a local fsync of
 *                the journal); LB_OK means "accepted, will be written in
 *                order".
 * Both kinds go through one ordered queue served by one writer thread, so a
 * fill never overtakes its order and a sync write sees every earlier async
 * write committed first.  Invariants:
 *   W1. Order: writes are committed in the order they were accepted.
 *   W2. Idempotence: every write is keyed (client ids, exchange trade ids,
 *       (kind, tripped_at), timestamps, or an id fixed when it is accepted)
 *       and written with "insert if absent" or an absolute update, so a
 *       retried or replayed write never duplicates a row.
 *   W3. Nothing is silently dropped.  A write that fails because the
 *       database is unreachable (or busy) is retried with backoff until it
 *       succeeds.  While it is down, writes wait in a bounded memory queue
 *       (STORE_QUEUE_MAX); when that is full, or when the database fails,
 *       they are appended (fsync) to an append-only journal file, replayed
 *       in order when it returns, also at the next store_open() after a
 *       crash.  (What a kill -9 can still take: async writes accepted in
 *       the last moments while the database is healthy and not yet
 *       committed; restart recovery reconciles those with the exchange.)
 *       A write the database refuses (a constraint: a bug, not an
 *       outage) is never retried: a sync caller gets the error, an async
 *       one is appended to the "<journal>.rejected" file and reported
 *       through store_options.on_event.  The journal belongs to the handle
 *       that takes the instance lock (or names journal_path); a handle
 *       without one (levbot status beside the bot) fails a write loudly
 *       (LB_EBUSY) when its memory queue is full.
 *   W4. A STORE_SYNC write that cannot be committed within
 *       store_options.sync_timeout_ms returns LB_EDB saying so; the write
 *       stays queued (memory or journal) and is still written later.
 * Reads run in the caller's thread on a pooled connection and see what has
 * been committed; store_flush() waits for the queue when a reader must see
 * its own async writes.
 *
 * Threads: every function is safe to call from any thread at once (the
 * engine, the health server, the AI engine, the notifier).  on_event runs
 * on the writer thread and must not call store functions that wait for the
 * writer (STORE_SYNC writes, store_flush).
 *
 * Schema (docs/store.md lists every table): the same numbered migrations on
 * both back ends; money is NUMERIC(20,8) on PostgreSQL and exact decimal
 * text on SQLite (never a float), timestamps are TIMESTAMPTZ / ISO-8601 UTC
 * text, so `SELECT current_capital FROM trading_config;` reads naturally
 * on both.  Sums over money are done here in lb_dec, never in SQL floats.
 *
 * Ownership: store_open() returns a heap object freed by store_close().
 * Record structs are caller-owned.  Functions whose result has variable
 * size return malloc()ed memory named in their comment; the caller free()s.
 */
#ifndef LB_STORE_STORE_H
#define LB_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/decision.h"
#include "core/err.h"
#include "core/money.h"
#include "core/symbol.h"
#include "core/time.h"

typedef struct store store;

typedef enum {
  STORE_SYNC = 0, /* return when committed (or failed) */
  STORE_ASYNC = 1 /* return at once; written in order by the writer thread */
} store_wmode;

/* ==== Opening ==== */

/* The schema version this binary writes (highest numbered migration). */
#define STORE_SCHEMA_VERSION 4

#define STORE_ID_MAX 64     /* client ids, trade ids, consensus ids (xchg's are <= 40) */
#define STORE_NAME_MAX 64   /* breaker kinds, providers, models, channels */
#define STORE_TEXT_MAX 512  /* breaker details, resume notes, last errors */
#define STORE_NOTE_MAX 4096 /* one notification's text (Telegram's limit) */
#define STORE_HASH_MAX 72   /* prompt / snapshot hashes (hex SHA-256 fits) */
#define STORE_QUEUE_MAX 10000

typedef enum {
  STORE_EV_DB_DOWN = 1, /* a write failed: database unreachable or busy; writes now queue */
  STORE_EV_DB_UP,       /* the database answered again; queued writes are flushing */
  STORE_EV_JOURNALED,   /* count writes were appended to the journal file */
  STORE_EV_REPLAYED,    /* the journal was written to the database and emptied */
  STORE_EV_REJECTED,    /* the database refused an async write (detail); kept in .rejected */
  STORE_EV_LOCK_LOST,   /* the single-instance lock was lost and could not be re-taken */
  STORE_EV_UNWRITTEN    /* store_close: count writes neither written nor journaled */
} store_event_kind;

typedef struct {
  store_event_kind kind;
  long count;
  const char *detail; /* redacted text, may be "" */
} store_event;

/* Zero means "the default" for every field; a zeroed struct (or NULL) gives
 * the documented defaults. */
typedef struct {
  bool migrate;             /* apply pending migrations at open (else an old schema is refused) */
  bool instance_lock;       /* take the single-instance lock (the running bot; not CLI reads) */
  const char *lock_name;    /* what the lock guards, e.g. the exchange account; NULL = "levbot" */
  const char *journal_path; /* NULL: "<sqlite file>.pending" / "./levbot-pending.jsonl" */
  int pool_min, pool_max;   /* PostgreSQL connections: 2 and 10 (SQLite: 1 and 4) */
  int connect_timeout_s;    /* 10 */
  int statement_timeout_ms; /* 60000 */
  int busy_timeout_ms;      /* SQLite: wait for another process's lock: 5000 */
  int sync_timeout_ms;      /* W4: 15000 */
  int close_timeout_ms;     /* store_close waits this long for the queue: 5000 */
  int retry_max_ms;         /* backoff ceiling between write retries: 5000 */
  long queue_max;           /* memory queue bound, in writes: STORE_QUEUE_MAX */
  void (*on_event)(void *ctx, const store_event *ev);
  void *event_ctx;
  /* Migrate only up to this version (1..STORE_SCHEMA_VERSION; 0 = the
   * newest) and accept a database at it or newer.  Upgrade tests use it to
   * make the database an older levbot left; the bot never sets it (its
   * writes need the newest schema). */
  int migrate_to;
} store_options;

/* DATABASE_URL:
 *   sqlite://PATH   PATH is everything after "sqlite://": sqlite://./levbot.db
 *                   (relative to the working directory), sqlite:///var/lib/levbot.db
 *                   (absolute)
 *   postgresql://user:password@host:port/dbname[?param=value...]  (or postgres://;
 *                   any libpq URI parameter, e.g. sslmode=require)
 * Opens the database, checks the schema (a database newer than this binary
 * is refused; an older one too unless opt->migrate), takes the instance
 * lock if asked (LB_EBUSY when another levbot holds it), replays a journal
 * left by an earlier run, and starts the writer thread.  PostgreSQL must be
 * reachable at open.  Error texts never contain the password. */
lb_err store_open(const char *url, const store_options *opt, store **out, lb_errbuf *eb);
/* Waits up to close_timeout_ms for queued writes, journals what is left
 * (STORE_EV_UNWRITTEN if it cannot), releases the lock and frees
 * everything.  NULL is a no-op. */
void store_close(store *s);

/* Waits until every write accepted so far is committed (LB_OK), or
 * timeout_ms passes (LB_ETIMEOUT: the writes stay queued). */
lb_err store_flush(store *s, int timeout_ms, lb_errbuf *eb);

typedef enum { STORE_BACKEND_SQLITE = 1, STORE_BACKEND_POSTGRES = 2 } store_backend;
const char *store_backend_name(store_backend b); /* "sqlite" / "postgres" */

/* The parts of a DATABASE_URL, for messages and troubleshooting hints.
 * Never holds the password. */
typedef struct {
  store_backend backend;
  char path[1024];          /* SQLite: the file */
  char host[256], port[16]; /* PostgreSQL; "" where libpq's default applies */
  char user[128], dbname[128];
  char masked[1024];        /* the URL with its password as "****" */
} store_url;
/* LB_EINVAL naming the problem (unknown scheme, empty path, bad URI). */
lb_err store_url_parse(const char *url, store_url *out, lb_errbuf *eb);

/* ==== Schema ==== */

/* The tables of a migrated database, NULL-terminated. */
extern const char *const store_tables[];

/* The version recorded in schema_migrations (0: empty database). */
lb_err store_schema_version(store *s, int *version, lb_errbuf *eb);
/* Applies pending migrations, each in one transaction recorded in
 * schema_migrations; re-running is a no-op (*applied = 0).  A database
 * newer than STORE_SCHEMA_VERSION is refused with LB_ESTATE. */
lb_err store_migrate(store *s, int *applied, lb_errbuf *eb);

/* ==== trading_config: one row (capital and mode) ==== */

typedef enum { STORE_PAPER = 1, STORE_LIVE = 2, STORE_BACKTEST = 3 } store_trading_mode;
const char *store_trading_mode_name(store_trading_mode m); /* "paper", "live", "backtest" */

typedef struct {
  lb_dec initial_capital;
  lb_dec current_capital;
  store_trading_mode mode;
  lb_ms updated_at;
} store_trading_config;

/* Creates the row if absent (sync, with current = initial capital).  If it
 * exists its capital is kept; another mode is refused with LB_ESTATE
 * (paper and live never share a ledger: use another DATABASE_URL).
 * *created (may be NULL) tells which happened. */
lb_err store_config_init(store *s, lb_dec initial_capital, store_trading_mode mode, lb_ms now,
                         bool *created, lb_errbuf *eb);
/* LB_ENOTFOUND until store_config_init ran (levbot setup-db does). */
lb_err store_config_get(store *s, store_trading_config *out, lb_errbuf *eb);
/* Sets current_capital (an absolute value, so a replay is harmless).  A
 * ledger write: STORE_SYNC unless on the stop-loss path. */
lb_err store_capital_update(store *s, lb_dec current_capital, lb_ms at, store_wmode mode,
                            lb_errbuf *eb);

/* ==== trades ==== */

typedef enum { STORE_LONG = 1, STORE_SHORT = 2 } store_side; /* same values as lb_action */
typedef enum { STORE_TRADE_OPEN = 0, STORE_TRADE_CLOSED = 1 } store_trade_status;
typedef enum {
  STORE_EXIT_NONE = 0,      /* still open */
  STORE_EXIT_STOP_LOSS,     /* the exchange-side stop fired */
  STORE_EXIT_TAKE_PROFIT,
  STORE_EXIT_TRAILING_STOP,
  STORE_EXIT_LIQUIDATION,   /* the venue liquidated (or ADL) */
  STORE_EXIT_SIGNAL,        /* closed by a decision */
  STORE_EXIT_MANUAL,        /* operator command */
  STORE_EXIT_NO_STOP,       /* closed at once: the stop could not be confirmed */
  STORE_EXIT_SHUTDOWN,
  STORE_EXIT_EXTERNAL       /* found closed on the exchange (restart recovery) */
} store_exit_reason;
const char *store_side_name(store_side s);               /* "LONG" / "SHORT" */
const char *store_exit_reason_name(store_exit_reason r); /* "stop_loss", ... */

/* A trade is one position from entry fill to exit.  Its id is the entry
 * order's client id.  Money: net PnL = realized_pnl - fees + funding, where
 * realized_pnl is the price PnL, fees >= 0 everything paid (entry and
 * exit), funding > 0 received and < 0 paid. */
typedef struct {
  char id[STORE_ID_MAX];
  char symbol[LB_SYMBOL_MAX];
  store_side side;
  lb_dec qty;               /* > 0, base asset */
  lb_dec entry_price;       /* > 0 */
  int leverage;             /* 1..125 */
  lb_dec stop_price;        /* > 0, the current stop (store_trade_move_stop) */
  lb_dec take_profit;       /* 0 = none */
  lb_dec liquidation_price; /* 0 = none / unknown */
  lb_dec margin;            /* > 0, isolated margin */
  double ai_confidence;     /* 0..1; 0 = no AI decision behind it */
  char consensus_id[STORE_ID_MAX]; /* "" = none */
  lb_ms opened_at;
  /* What the plan promised (migration 4; 0 = unknown: a trade recorded
   * before it, or adopted after a restart without its plan).  They never
   * change after the trade opens, whatever the trailing stop does. */
  lb_dec initial_stop;      /* the stop the plan placed */
  lb_dec loss_at_stop;      /* planned loss at that stop (R), fees and slippage included */
  double planned_rr;        /* planned reward:risk after fees */
  /* Set by store_trade_close: */
  store_trade_status status;
  lb_dec exit_price;
  store_exit_reason exit_reason;
  lb_dec realized_pnl, fees, funding;
  lb_ms closed_at;          /* 0 while open */
} store_trade;

/* net PnL of a closed trade (see above); 0 for an open one. */
lb_dec store_trade_net_pnl(const store_trade *t);

/* Records an OPEN trade (status/exit fields ignored).  Each field is
 * checked (LB_EINVAL naming it): initial_stop and loss_at_stop >= 0,
 * planned_rr finite and >= 0 (0 = unknown, stored as NULL); at most one
 * open trade per symbol.  Recording the same id again is a no-op (W2). */
lb_err store_trade_open(store *s, const store_trade *t, store_wmode mode, lb_errbuf *eb);
lb_err store_trade_move_stop(store *s, const char *trade_id, lb_dec stop_price, store_wmode mode,
                             lb_errbuf *eb);

typedef struct {
  lb_dec exit_price; /* > 0 */
  store_exit_reason reason;
  lb_dec realized_pnl, fees, funding;
  lb_ms closed_at;   /* >= opened_at */
} store_trade_exit;
/* Closes the trade.  An unknown id: LB_ENOTFOUND (sync) / rejected (async). */
lb_err store_trade_close(store *s, const char *trade_id, const store_trade_exit *x,
                         store_wmode mode, lb_errbuf *eb);

lb_err store_trade_get(store *s, const char *id, store_trade *out, lb_errbuf *eb); /* LB_ENOTFOUND */
/* The open trade of `symbol` (NULL: of any symbol, the oldest). */
lb_err store_trade_get_open(store *s, const char *symbol, store_trade *out, bool *found,
                            lb_errbuf *eb);
/* Up to max trades, newest opened first; *n = how many. */
lb_err store_trades_recent(store *s, store_trade *out, int max, int *n, lb_errbuf *eb);
/* Trades with opened_at (by_close false) or closed_at (by_close true) in
 * [from, to), oldest first; *out is malloc()ed (free it), *n its length. */
lb_err store_trades_range(store *s, lb_ms from, lb_ms to, bool by_close, store_trade **out,
                          int *n, lb_errbuf *eb);

/* ==== orders and fills ==== */

typedef enum { STORE_ORDER_ENTRY = 1, STORE_ORDER_STOP, STORE_ORDER_TAKE_PROFIT, STORE_ORDER_EXIT } store_order_kind;
typedef enum { STORE_BUY = 1, STORE_SELL = 2 } store_order_side;
typedef enum {
  STORE_OT_MARKET = 1,
  STORE_OT_LIMIT,
  STORE_OT_STOP_MARKET,
  STORE_OT_TAKE_PROFIT_MARKET,
  STORE_OT_TRAILING_STOP_MARKET
} store_order_type;
typedef enum {
  STORE_OS_PENDING = 1, /* recorded before the exchange acknowledged it */
  STORE_OS_NEW,
  STORE_OS_PARTIALLY_FILLED,
  STORE_OS_FILLED,
  STORE_OS_CANCELED,
  STORE_OS_REJECTED,
  STORE_OS_EXPIRED,
  STORE_OS_TRIGGERED
} store_order_status;
const char *store_order_kind_name(store_order_kind k);     /* "entry", "stop", "take_profit", "exit" */
const char *store_order_side_name(store_order_side s);     /* "BUY", "SELL" */
const char *store_order_type_name(store_order_type t);     /* "MARKET", "STOP_MARKET", ... */
const char *store_order_status_name(store_order_status s); /* "PENDING", "NEW", "FILLED", ... */

typedef struct {
  char client_id[STORE_ID_MAX];   /* unique: the key */
  char exchange_id[STORE_ID_MAX]; /* "" until acknowledged */
  char trade_id[STORE_ID_MAX];    /* the trade it belongs to ("" none); not a foreign key:
                                   * the entry order exists before its trade */
  char symbol[LB_SYMBOL_MAX];
  store_order_kind kind;
  store_order_side side;
  store_order_type type;
  lb_dec qty;           /* > 0; for close-position orders the position size */
  lb_dec price;         /* LIMIT; 0 = none */
  lb_dec trigger_price; /* conditional orders; 0 = none */
  bool reduce_only;
  store_order_status status;
  lb_dec filled_qty;    /* >= 0 */
  lb_dec avg_price;     /* 0 = no fill yet */
  lb_ms created_at, updated_at;
} store_order;

/* Records an order; the same client id again is a no-op (W2). */
lb_err store_order_record(store *s, const store_order *o, store_wmode mode, lb_errbuf *eb);
/* New status (last write wins, in queue order).  exchange_id NULL or "" keeps
 * the stored one; filled_qty/avg_price < 0 keep theirs.  Unknown client id:
 * LB_ENOTFOUND (sync) / rejected (async). */
lb_err store_order_update(store *s, const char *client_id, store_order_status status,
                          const char *exchange_id, lb_dec filled_qty, lb_dec avg_price,
                          lb_ms at, store_wmode mode, lb_errbuf *eb);
lb_err store_order_get(store *s, const char *client_id, store_order *out, lb_errbuf *eb);
/* Orders of a trade, oldest first. */
lb_err store_orders_for_trade(store *s, const char *trade_id, store_order *out, int max, int *n,
                              lb_errbuf *eb);

/* One execution.  Identity: (order, exchange_trade_id) when the venue gives
 * a trade id, else (order, seq); recording it again is a no-op (W2). */
typedef struct {
  char order_client_id[STORE_ID_MAX]; /* must be recorded first (foreign key) */
  char exchange_trade_id[STORE_ID_MAX]; /* "" = none: then seq >= 1 identifies it */
  int seq;
  lb_dec qty, price;  /* > 0 */
  lb_dec fee;         /* commission paid (negative: rebate) */
  char fee_asset[16]; /* "USDT" */
  lb_dec realized_pnl;
  bool maker;
  lb_ms filled_at;
} store_fill;

lb_err store_fill_record(store *s, const store_fill *f, store_wmode mode, lb_errbuf *eb);
/* Fills of an order, in time order. */
lb_err store_fills_for_order(store *s, const char *order_client_id, store_fill *out, int max,
                             int *n, lb_errbuf *eb);

/* ==== positions: the engine's state for restart recovery ==== */

typedef enum { STORE_POS_FLAT = 0, STORE_POS_ENTERING, STORE_POS_OPEN, STORE_POS_EXITING } store_pos_state;
const char *store_pos_state_name(store_pos_state s); /* "FLAT", "ENTERING", "OPEN", "EXITING" */

typedef struct {
  char symbol[LB_SYMBOL_MAX];
  store_pos_state state;
  char trade_id[STORE_ID_MAX];       /* required unless FLAT */
  char stop_client_id[STORE_ID_MAX]; /* "" = none */
  char tp_client_id[STORE_ID_MAX];   /* "" = none */
  lb_ms updated_at;
} store_position;

/* Insert or replace the symbol's row. */
lb_err store_position_put(store *s, const store_position *p, store_wmode mode, lb_errbuf *eb);
lb_err store_position_get(store *s, const char *symbol, store_position *out, bool *found,
                          lb_errbuf *eb);
/* Every row that is not FLAT, by symbol. */
lb_err store_positions_active(store *s, store_position *out, int max, int *n, lb_errbuf *eb);

/* ==== circuit_breaker_events ==== */

typedef struct {
  int64_t id;                   /* assigned by the database (reads only) */
  char kind[STORE_NAME_MAX];    /* risk_breaker_name(): "daily_loss", ... */
  lb_ms tripped_at;
  char detail[STORE_TEXT_MAX];  /* the rule and its numbers */
  lb_ms resume_at;              /* when entries resume by themselves; 0 = by command only */
  lb_ms resumed_at;             /* 0 = still active */
  char resumed_how[STORE_TEXT_MAX];
} store_breaker_event;

/* Records a trip (kind, tripped_at, detail, resume_at); the same (kind,
 * tripped_at) again is a no-op. */
lb_err store_breaker_trip(store *s, const store_breaker_event *e, store_wmode mode,
                          lb_errbuf *eb);
/* Marks the active trips of `kind` (NULL: of every kind) that tripped at or
 * before resumed_at as resumed.  No active trip is not an error. */
lb_err store_breaker_resume(store *s, const char *kind, lb_ms resumed_at, const char *how,
                            store_wmode mode, lb_errbuf *eb);
/* Trips not yet resumed, oldest first (risk_breakers_restore after a restart). */
lb_err store_breakers_active(store *s, store_breaker_event *out, int max, int *n, lb_errbuf *eb);
/* The latest events, newest first. */
lb_err store_breakers_recent(store *s, store_breaker_event *out, int max, int *n, lb_errbuf *eb);

/* ==== ai_analysis_cache (direct: not through the write queue) ==== */

/* A hit only when expires_at > now; an expired row is a miss and is deleted.
 * On a hit *response is malloc()ed (free it); else NULL. */
lb_err store_ai_cache_get(store *s, const char *key, lb_ms now, char **response, bool *hit,
                          lb_errbuf *eb);
/* Insert or replace, with expires_at = now + ttl (ttl > 0). */
lb_err store_ai_cache_put(store *s, const char *key, const char *symbol, const char *model,
                          const char *response, lb_ms ttl, lb_ms now, lb_errbuf *eb);
/* Deletes rows with expires_at <= now; *deleted (may be NULL) = how many. */
lb_err store_ai_cache_purge(store *s, lb_ms now, long *deleted, lb_errbuf *eb);

/* ==== ai_decisions and ai_consensus ==== */

/* One model's answer (or its failure). */
typedef struct {
  char id[STORE_ID_MAX];        /* "" = assigned when accepted */
  char provider[STORE_NAME_MAX];/* "anthropic", "openai", "xai", "technical" */
  char model[STORE_NAME_MAX];
  char symbol[LB_SYMBOL_MAX];
  char prompt_hash[STORE_HASH_MAX], snapshot_hash[STORE_HASH_MAX];
  long latency_ms;
  int attempts;                 /* 0 for a cache hit */
  long tokens_in, tokens_out, tokens_cache;
  lb_dec cost_usd;              /* exact, >= 0 */
  bool cached;                  /* answered from ai_analysis_cache */
  const char *decision_json;    /* the parsed decision; NULL when it failed */
  const char *error;            /* why it failed; NULL when it answered (redacted on write) */
  char consensus_id[STORE_ID_MAX]; /* "" = none; set by store_ai_round_record */
  lb_ms created_at;
} store_ai_decision;

typedef struct {
  char id[STORE_ID_MAX];
  char symbol[LB_SYMBOL_MAX];
  lb_action action;  /* HOLD, LONG, SHORT */
  double confidence; /* 0..1 */
  int n_voters;      /* answers that took part */
  lb_ms created_at;
} store_ai_consensus;

/* One round, in one transaction: the consensus row (c may be NULL) and
 * its n (<= 32) decisions, each linked to c->id (without c, to their own
 * consensus_id, which must exist, or to none). */
lb_err store_ai_round_record(store *s, const store_ai_consensus *c, const store_ai_decision *d,
                             int n, store_wmode mode, lb_errbuf *eb);

/* `levbot ai-stats`: per UTC day and model, over created_at in [from, to). */
typedef struct {
  lb_ms day; /* 00:00 UTC of the day; 0 in per-model totals */
  char provider[STORE_NAME_MAX], model[STORE_NAME_MAX]; /* "" in per-day totals */
  long calls;      /* answers not from the cache (including failures) */
  long cache_hits;
  long errors;
  long tokens_in, tokens_out, tokens_cache;
  lb_dec cost_usd;
  double avg_latency_ms; /* over calls */
} store_ai_stat;
typedef enum {
  STORE_AI_BY_DAY_MODEL = 0, /* one row per (day, provider, model) */
  STORE_AI_BY_DAY,           /* one row per day, all models */
  STORE_AI_BY_MODEL          /* one row per (provider, model), all days */
} store_ai_grouping;
/* Rows sorted by day then provider/model; *out malloc()ed (free it). */
lb_err store_ai_stats(store *s, lb_ms from, lb_ms to, store_ai_grouping g, store_ai_stat **out,
                      int *n, lb_errbuf *eb);

/* ==== equity_snapshots ==== */

typedef struct {
  lb_ms ts;              /* key: one mark per millisecond */
  lb_dec equity;         /* capital + unrealized PnL */
  lb_dec capital;
  lb_dec unrealized_pnl;
} store_equity;

lb_err store_equity_record(store *s, const store_equity *e, store_wmode mode, lb_errbuf *eb);
/* Marks with ts in [from, to), oldest first; *out malloc()ed (free it). */
lb_err store_equity_range(store *s, lb_ms from, lb_ms to, store_equity **out, int *n,
                          lb_errbuf *eb);

/* ==== notification outbox (critical alerts that must survive a restart) ==== */

typedef struct {
  char id[STORE_ID_MAX];
  char channel[STORE_NAME_MAX]; /* "telegram", "email", ...; "" = every channel */
  char severity[16];            /* "critical", "warning", "info" */
  char text[STORE_NOTE_MAX];
  int attempts;
  lb_ms created_at, next_attempt_at, delivered_at; /* delivered_at 0 = pending */
  char last_error[STORE_TEXT_MAX];
} store_note;

/* Adds a pending notification (text redacted); its id is written to id_out
 * (STORE_ID_MAX bytes, may be NULL) before the function returns. */
lb_err store_outbox_enqueue(store *s, const char *channel, const char *severity,
                            const char *text, lb_ms now, char *id_out, store_wmode mode,
                            lb_errbuf *eb);
/* Undelivered notes due at `now` (next_attempt_at <= now), oldest first. */
lb_err store_outbox_pending(store *s, lb_ms now, store_note *out, int max, int *n, lb_errbuf *eb);
lb_err store_outbox_mark_delivered(store *s, const char *id, lb_ms at, store_wmode mode,
                                   lb_errbuf *eb);
/* After a failed attempt: the attempt count so far (absolute, for W2), when
 * to try next, and why it failed (redacted). */
lb_err store_outbox_mark_attempt(store *s, const char *id, int attempts, lb_ms next_attempt_at,
                                 const char *error, store_wmode mode, lb_errbuf *eb);

/* ==== Status and metrics ==== */

/* Over closed trades; PnL is net (see store_trade). */
typedef struct {
  long total_trades; /* closed */
  long wins, losses; /* net > 0, net < 0 (break-even counts in neither) */
  double win_rate;   /* wins / total_trades; 0 without trades */
  lb_dec total_pnl, avg_pnl; /* avg rounded half-even */
  lb_dec gross_profit, gross_loss; /* sum of wins, sum of losses (<= 0) */
  double profit_factor; /* gross_profit / |gross_loss|; INFINITY with profit and no
                         * loss; 0 without trades */
  lb_dec max_drawdown;  /* largest fall from a running peak, >= 0 */
  double max_drawdown_pct; /* largest fall as a fraction of its peak (may be another fall) */
  bool drawdown_from_snapshots; /* equity_snapshots, else the closed-trade curve */
  lb_dec today_pnl;     /* trades closed since 00:00 UTC of now */
  long today_trades;
} store_metrics;

/* Metrics from the database at `now`: max drawdown over equity_snapshots
 * when there are any, else over initial capital + cumulative net PnL in
 * closing order.  Reads every closed trade and every snapshot (O(rows), a
 * year of minute marks is ~0.5 M rows): cache it rather than run it per
 * HTTP request. */
lb_err store_metrics_get(store *s, lb_ms now, store_metrics *out, lb_errbuf *eb);
/* The same computation, pure: `closed` in closing order, eq in time order
 * (neq 0 = use the trade curve from initial_capital). */
void store_metrics_compute(const store_trade *closed, int n, const store_equity *eq, int neq,
                           lb_dec initial_capital, lb_ms now, store_metrics *out);

typedef struct {
  bool ok;                   /* the trivial query answered in time (and the instance
                              * lock, when taken, is still ours) */
  store_backend backend;
  long latency_ms;
  int schema_version;
  long queued;               /* writes waiting in memory */
  long journaled;            /* writes waiting in the journal */
  long rejected;             /* async writes refused since open */
  bool writer_stalled;       /* the oldest queued write failed and is being retried
                              * (error says why): the ledger is behind */
  bool lock_held;            /* instance lock (when asked for) still ours */
  lb_ms last_commit_at;      /* wall clock of the last committed write, 0 = none */
  char error[STORE_TEXT_MAX];/* why not ok, "" when ok */
} store_health;
/* Runs SELECT 1 within timeout_ms (ms > 0) and reports the write path.
 * Returns LB_OK whenever *out was filled; out->ok says healthy or not. */
lb_err store_health_check(store *s, int timeout_ms, store_health *out, lb_errbuf *eb);

/* ==== levbot setup-db ==== */

/* What went wrong, so the command can print the right troubleshooting. */
typedef enum {
  STORE_DIAG_NONE = 0,
  STORE_DIAG_BAD_URL,       /* DATABASE_URL malformed */
  STORE_DIAG_UNREACHABLE,   /* connection refused / no such host: server not running */
  STORE_DIAG_TIMEOUT,       /* no answer within the connect timeout */
  STORE_DIAG_AUTH,          /* password authentication failed / no such role */
  STORE_DIAG_NO_DATABASE,   /* the database does not exist */
  STORE_DIAG_PERMISSION,    /* permission denied (schema, table, file, directory) */
  STORE_DIAG_SCHEMA_NEWER,  /* written by a newer levbot */
  STORE_DIAG_MODE_MISMATCH, /* trading_config holds another mode */
  STORE_DIAG_OTHER
} store_diag;

typedef struct {
  const char *name; /* "connect", "schema", "migrations", "tables", "trading_config", "write check" */
  bool ok;
  char detail[STORE_TEXT_MAX];
  store_diag diag;  /* when !ok */
} store_setup_step;

typedef struct {
  lb_dec initial_capital;  /* INITIAL_CAPITAL, for a new trading_config row */
  store_trading_mode mode; /* from USE_PAPER_TRADING */
  int connect_timeout_s;   /* 0 = 10 */
} store_setup_options;

/* `levbot setup-db`: connect, refuse a newer schema, apply migrations, check
 * every table, create trading_config, try a write (rolled back).  Calls
 * step() once per step, in order, and stops at the first failure, after
 * undoing it (a migration's transaction is rolled back; an SQLite file this
 * call created is removed).  Returns LB_OK or the failure's code, with
 * *diag (may be NULL) saying why. */
lb_err store_setup(const char *url, const store_setup_options *opt,
                   void (*step)(void *ctx, const store_setup_step *st), void *ctx,
                   store_diag *diag, lb_errbuf *eb);

/* ==== For tests and operator tools ==== */

/* Runs one SQL statement as written (no translation, not through the write
 * queue) on a pooled connection; *changes (may be NULL) = rows changed.
 * The errors are the database's own (redacted). */
lb_err store_exec_sql(store *s, const char *sql, long *changes, lb_errbuf *eb);
/* The first column of the first row of a query as text (malloc()ed, NULL
 * for SQL NULL or no row). */
lb_err store_query_text(store *s, const char *sql, char **out, lb_errbuf *eb);

#endif
