/* notify.h -- notifications and remote control: Telegram, email, SMS, webhook.
 *
 * Owns: the notification events and their rendering (one pure function per
 * channel format), an asynchronous bounded queue with its own thread that
 * delivers them over libcurl with per-channel retry, back-off and rate
 * limits, the channels themselves (Telegram Bot API sendMessage, SMTP/SMTPS,
 * Twilio Messages, a generic JSON webhook) behind one ops table, and the
 * Telegram command interface (getUpdates long polling, one allowed chat).
 *
 * Must not: know the engine or the store.  The bot wires notify in through
 * two small interfaces declared here: notify_persist (where pending critical
 * messages survive a restart: the store's notification outbox) and
 * notify_control (what Telegram commands read and do: the bot's state).
 * Neither is called with a notify lock held.
 *
 * Invariants:
 *   1. notify_post() never waits for the network, the persistence or the
 *      worker thread: it copies the event into per-channel lists under one
 *      mutex that the worker only holds for list operations (no I/O), in
 *      O(number of channels), and wakes the worker when it has something
 *      new to do.  A stalled channel cannot delay its caller (the engine's
 *      stop-loss path) nor the other channels (transfers run concurrently
 *      in one curl multi handle, one at a time per channel).
 *   2. Each channel delivers in posting order: its head is retried (with
 *      back-off, honouring retry_after / Retry-After up to an hour) until it
 *      succeeds or fails permanently (an HTTP 4xx other than 408/429, an
 *      SMTP 5xx, refused credentials).
 *   3. A channel's list is bounded by the queue capacity.  When full, the
 *      least important message goes first (the oldest of the lowest
 *      severity, or the new one if everything queued matters more).
 *      Critical messages are never dropped; every drop is counted.
 *   4. Critical messages are handed to notify_persist before their first
 *      delivery attempt and marked done when delivered or given up; pending
 *      ones are loaded again by notify_queue_start().  Delivery is at least
 *      once.
 *   5. Nothing that leaves the process carries a registered secret: every
 *      rendered text and every error text goes through lb_redact(); the
 *      Telegram token, SMTP password, Twilio token and webhook URL are
 *      registered with the log redactor when a channel is added.
 *   6. Time comes from the lb_clock given at creation (back-off, rate
 *      limits, command confirmation windows, the daily summary), so tests
 *      drive it; the real-time wait of the worker is capped (poll_ms).
 *
 * Files: notify.h (this, the whole public contract), notify_int.h (private
 * to src/notify: the channel ops table and helpers), event.c, render.c,
 * queue.c, chan_telegram.c, chan_email.c, chan_sms.c, chan_webhook.c,
 * command.c, config.c.
 */
#ifndef LB_NOTIFY_NOTIFY_H
#define LB_NOTIFY_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/decision.h"
#include "core/err.h"
#include "core/money.h"
#include "core/time.h"

struct lb_config;

/* ==== Events ==== */

typedef enum { NOTIFY_INFO = 0, NOTIFY_WARNING = 1, NOTIFY_CRITICAL = 2 } notify_severity;

#define NOTIFY_KIND_MAP(X)                          \
  X(TEXT, "text", INFO)                             \
  X(START, "start", INFO)                           \
  X(STOP, "stop", WARNING)                          \
  X(ENTRY_FILLED, "entry_filled", INFO)             \
  X(STOP_MOVED, "stop_moved", INFO)                 \
  X(EXIT, "exit", INFO)                             \
  X(BREAKER_TRIPPED, "breaker_tripped", WARNING)    \
  X(BREAKER_RESUMED, "breaker_resumed", INFO)       \
  X(EXCHANGE_DEGRADED, "exchange_degraded", WARNING) \
  X(AI_DEGRADED, "ai_degraded", WARNING)            \
  X(DB_DOWN, "db_down", CRITICAL)                   \
  X(DAILY_SUMMARY, "daily_summary", INFO)

/* NOTIFY_EV_TEXT, NOTIFY_EV_START, ...  Numbers are stable (stored). */
typedef enum {
#define NOTIFY_KIND_ENUM_(id, name, sev) NOTIFY_EV_##id,
  NOTIFY_KIND_MAP(NOTIFY_KIND_ENUM_)
#undef NOTIFY_KIND_ENUM_
  NOTIFY_EV__COUNT
} notify_kind;

#define NOTIFY_SYMBOL_MAX 32
#define NOTIFY_NAME_MAX 32
#define NOTIFY_REASON_MAX 128
#define NOTIFY_TITLE_MAX 128
#define NOTIFY_DETAIL_MAX 1024
#define NOTIFY_MAX_VOTES 8

/* One analyst's answer (the built-in technical analyst counts as a model). */
typedef struct {
  char model[NOTIFY_NAME_MAX]; /* "claude", "gpt", "grok", "technical" */
  lb_action action;
  double confidence; /* 0..1 */
} notify_vote;

/* Fields a kind does not use stay zero; which ones each kind prints:
 *   TEXT               title, detail
 *   START              detail (mode, symbols), capital
 *   STOP               reason, capital
 *   ENTRY_FILLED       symbol side size leverage entry stop take_profit
 *                      liquidation confidence votes
 *   STOP_MOVED         symbol side prev_stop -> stop, reason
 *   EXIT               symbol side size entry exit_price reason pnl r_multiple
 *   BREAKER_TRIPPED    breaker, detail, resume_at (0: until a command)
 *   BREAKER_RESUMED    breaker, reason
 *   EXCHANGE_DEGRADED  component, detail
 *   AI_DEGRADED        component, detail
 *   DB_DOWN            detail
 *   DAILY_SUMMARY      day, trades, wins, pnl, capital
 * Text fields are plain text (notify escapes them per channel). */
typedef struct notify_event {
  notify_kind kind;
  notify_severity severity;
  lb_ms time; /* when it happened; 0: notify_post() stamps it */

  char symbol[NOTIFY_SYMBOL_MAX];
  lb_action side; /* LB_ACTION_LONG / LB_ACTION_SHORT */
  lb_dec size;    /* base-asset quantity */
  int leverage;
  lb_dec entry, stop, take_profit, liquidation;
  lb_dec prev_stop;  /* STOP_MOVED: the stop before the move */
  lb_dec exit_price; /* EXIT */
  double confidence; /* consensus, 0..1 */
  int n_votes;
  notify_vote votes[NOTIFY_MAX_VOTES];
  lb_dec pnl;        /* EXIT: realized, after fees; DAILY_SUMMARY: the day's */
  double r_multiple; /* EXIT: pnl / risk at entry */

  char reason[NOTIFY_REASON_MAX];    /* exit/stop-move/resume/bot-stop reason */
  char breaker[NOTIFY_NAME_MAX];     /* "daily_loss", "consecutive_losses", ... */
  char component[NOTIFY_NAME_MAX];   /* degraded exchange or AI provider */
  char title[NOTIFY_TITLE_MAX];      /* TEXT */
  char detail[NOTIFY_DETAIL_MAX];
  lb_ms resume_at;

  lb_ms day; /* DAILY_SUMMARY: any time inside the UTC day covered */
  int trades, wins;
  lb_dec capital;
} notify_event;

/* Zeroes ev and sets kind and the kind's default severity (the table
 * above; the caller may raise or lower it). */
void notify_event_init(notify_event *ev, notify_kind kind);
/* Bounded copy into a text field: notify_set(ev->symbol, "BTCUSDT"). */
#define notify_set(field, text) notify_copy_text((field), sizeof(field), (text))
void notify_copy_text(char *dst, size_t n, const char *src);

const char *notify_kind_name(notify_kind k);     /* "entry_filled"; "?" if unknown */
const char *notify_severity_name(notify_severity s); /* "info" | "warning" | "critical" */
lb_err notify_kind_parse(const char *s, notify_kind *out);
lb_err notify_severity_parse(const char *s, notify_severity *out);

/* The event as one JSON object (every field, money as exact decimal
 * strings, texts redacted and cleaned as for rendering, at most
 * NOTIFY_PAYLOAD_MAX bytes: only a detail made of characters JSON escapes
 * can be long enough to be shortened): the payload persisted for critical
 * messages and the "event" member of the webhook body.  Caller frees with
 * free(); NULL on ENOMEM. */
char *notify_event_to_json(const notify_event *ev);
/* Strict inverse: unknown kind/severity, wrong types, bad decimals or too
 * long texts give LB_EPARSE naming the field. */
lb_err notify_event_from_json(const char *json, notify_event *out, lb_errbuf *eb);

/* ==== Rendering (pure: same event, same text) ==== */

/* Telegram HTML parse mode: <b> title, escaped fields, at most 4096
 * characters. */
lb_err notify_render_telegram(const notify_event *ev, lb_buf *out);
/* Plain text, one fact per line (email body, webhook "text"). */
lb_err notify_render_text(const notify_event *ev, lb_buf *out);
/* One line: "[levbot] WARNING Circuit breaker tripped: daily_loss". */
lb_err notify_render_subject(const notify_event *ev, lb_buf *out);
/* SMS: ASCII, at most NOTIFY_SMS_MAX characters (two segments). */
#define NOTIFY_SMS_MAX 300
lb_err notify_render_sms(const notify_event *ev, lb_buf *out);
/* Webhook body: {"text":..., "content":..., "event":{...}}: "text" suits
 * Slack-style receivers, "content" Discord-style ones, "event" automation. */
lb_err notify_render_webhook(const notify_event *ev, lb_buf *out);
/* RFC 5322 message (CRLF lines, Date, From, To, Subject, Message-ID, MIME
 * headers, UTF-8 body); message_id without angle brackets. */
lb_err notify_render_email(const notify_event *ev, const char *from, const char *to_list,
                           const char *message_id, lb_buf *out);

/* Appends s to out with &, <, > and " escaped for Telegram HTML. */
lb_err notify_html_escape(lb_buf *out, const char *s);

/* ==== Persistence of critical messages (the bot backs it with the store) ==== */

/* Ids are the persistence's own (the store's outbox uses text ids). */
#define NOTIFY_ID_MAX 64
/* strlen() of notify_event_to_json() of any event is at most this: it fits,
 * with its NUL, the 4096 bytes of the store's outbox text. */
#define NOTIFY_PAYLOAD_MAX 4095

typedef void (*notify_pending_fn)(void *fn_ctx, const char *id, const char *channel,
                                  const char *payload, lb_ms created);

/* Called from the notify thread only, never with a notify lock held; a
 * failure is logged and delivery goes on from memory.  `channel` is the
 * channel's name ("telegram", "email", "sms:+15551234567", "webhook");
 * `payload` is notify_event_to_json() text; every message handed over is
 * critical.  The bot maps it onto store_outbox_*(). */
typedef struct notify_persist {
  void *ctx;
  /* Stores one pending message for one channel; writes its id (a
   * NUL-terminated string of < NOTIFY_ID_MAX bytes) to id. */
  lb_err (*enqueue)(void *ctx, const char *channel, const char *payload, lb_ms created,
                    char *id, lb_errbuf *eb);
  /* Calls fn for every message not yet done, oldest first. */
  lb_err (*list_pending)(void *ctx, notify_pending_fn fn, void *fn_ctx, lb_errbuf *eb);
  /* The message is finished: delivered, or given up (permanent failure,
   * reason in `error`, "" when delivered). */
  lb_err (*mark_done)(void *ctx, const char *id, bool delivered, const char *error, lb_ms at,
                      lb_errbuf *eb);
} notify_persist;

/* ==== Remote control (the bot implements it) ==== */

typedef enum { NOTIFY_PERIOD_DAY = 0, NOTIFY_PERIOD_WEEK, NOTIFY_PERIOD_MONTH } notify_period;

/* Every callback appends PLAIN text (notify escapes it, masks secrets and
 * trims it to Telegram's limit) to `out`, or returns an error whose detail
 * in eb is shown to the user.  A NULL callback answers "not available".
 * They run on the notify thread: they must be thread-safe against the
 * engine, return promptly (signal the engine, do not wait for it), and must
 * not call notify_queue_free().  Replies are built only from what they
 * return, so /status, /health and the HTTP /status share one source. */
typedef struct notify_control {
  void *ctx;
  lb_err (*status)(void *ctx, lb_buf *out, lb_errbuf *eb);
  lb_err (*trades)(void *ctx, int n, lb_buf *out, lb_errbuf *eb); /* last n closed */
  lb_err (*profit)(void *ctx, lb_buf *out, lb_errbuf *eb);
  lb_err (*performance)(void *ctx, lb_buf *out, lb_errbuf *eb); /* per symbol */
  lb_err (*balance)(void *ctx, lb_buf *out, lb_errbuf *eb);
  /* /daily n, /weekly n, /monthly n: the last n periods, newest first. */
  lb_err (*periods)(void *ctx, notify_period p, int n, lb_buf *out, lb_errbuf *eb);
  lb_err (*health)(void *ctx, lb_buf *out, lb_errbuf *eb);
  lb_err (*show_config)(void *ctx, lb_buf *out, lb_errbuf *eb); /* secrets masked */
  /* NULL: notify answers /logs from lb_log_recent() itself. */
  lb_err (*logs)(void *ctx, int n, lb_buf *out, lb_errbuf *eb);
  lb_err (*version)(void *ctx, lb_buf *out, lb_errbuf *eb);
  lb_err (*pause)(void *ctx, lb_buf *out, lb_errbuf *eb);     /* /stopentry, /pause */
  lb_err (*resume)(void *ctx, lb_buf *out, lb_errbuf *eb);    /* /start, /resume */
  lb_err (*stop)(void *ctx, lb_buf *out, lb_errbuf *eb);      /* /stop: exchange stops stay */
  lb_err (*forceexit)(void *ctx, lb_buf *out, lb_errbuf *eb); /* after confirmation */
  /* Optional: called once per UTC day after midnight (by the queue's
   * clock) to fill the DAILY_SUMMARY of the day that just ended
   * (day_start = its 00:00 UTC); the queue posts it.  LB_ENOTFOUND skips. */
  lb_err (*daily_summary)(void *ctx, lb_ms day_start, notify_event *out, lb_errbuf *eb);
} notify_control;

/* The command interpreter on its own (the queue uses it for getUpdates;
 * tests call it directly).  Holds the /forceexit confirmation window. */
#define NOTIFY_CONFIRM_MS (60 * LB_MS_SECOND)
typedef struct {
  lb_ms forceexit_asked_at; /* 0: no confirmation pending */
} notify_cmd_state;

/* Runs one command text ("/trades 5", "/status@MyBot") and appends the
 * HTML reply to `reply`.  Returns LB_ENOTFOUND (and no reply) for text
 * that is not a command. */
lb_err notify_command_run(const notify_control *ctl, notify_cmd_state *st, const char *text,
                          lb_ms now, lb_buf *reply);

/* ==== Channels ==== */

#define NOTIFY_MAX_CHANNELS 16
#define NOTIFY_NAME_LEN 64

/* Common to every channel: which severities it gets and how it paces. */
typedef struct {
  notify_severity min_severity;
  lb_ms min_interval_ms; /* rate limit: at least this between two sends */
  lb_ms timeout_ms;      /* whole request */
  lb_ms backoff_base_ms; /* first retry after this, doubling ... */
  lb_ms backoff_max_ms;  /* ... up to this */
} notify_chan_opts;

/* Defaults: info, 0 ms, 15 s, 1 s, 5 min (each add_* below adjusts). */
void notify_chan_opts_default(notify_chan_opts *o);

typedef struct {
  notify_chan_opts opts; /* default min_interval 1 s (Telegram: ~1 msg/s per chat) */
  char api_url[512];     /* "https://api.telegram.org" (no trailing /bot...) */
  char token[256];
  char chat_id[64];      /* numeric id (groups negative) or "@channel" */
  bool commands;         /* poll getUpdates and answer commands from chat_id */
  int poll_timeout_s;    /* getUpdates long-poll timeout, 0..50 */
  lb_ms command_max_age_ms; /* older commands (queued while down) are ignored */
} notify_telegram_cfg;
void notify_telegram_cfg_default(notify_telegram_cfg *c);

typedef struct {
  notify_chan_opts opts; /* default min severity: warning */
  char url[512];         /* smtp://host:587 (STARTTLS) or smtps://host:465 */
  char user[256];
  char password[256];
  char from[256];        /* "levbot <bot@example.com>" or "bot@example.com" */
  char to[1024];         /* comma-separated addresses */
  bool starttls;         /* smtp:// only: require STARTTLS (default true) */
  char ca_file[512];     /* extra CA bundle for the server certificate, or "" */
} notify_email_cfg;
void notify_email_cfg_default(notify_email_cfg *c);

typedef struct {
  notify_chan_opts opts; /* default min severity: critical, 1 s spacing */
  char api_url[512];     /* "https://api.twilio.com" */
  char account_sid[128];
  char auth_token[256];
  char from[64];         /* "+15551234567", or a Messaging Service SID "MG..." */
  char to[64];           /* one number per channel */
} notify_sms_cfg;
void notify_sms_cfg_default(notify_sms_cfg *c);

typedef struct {
  notify_chan_opts opts;
  char url[1024];       /* http(s)://... (a secret: Discord/Slack URLs carry tokens) */
  char bearer[256];     /* optional "Authorization: Bearer" token */
} notify_webhook_cfg;
void notify_webhook_cfg_default(notify_webhook_cfg *c);

/* ==== The queue ==== */

typedef struct notify_queue notify_queue;

typedef struct {
  lb_clock clock;          /* copied; lb_clock_system in production */
  size_t capacity;         /* messages per channel (critical may exceed it) */
  lb_ms poll_ms;           /* longest real-time wait of the worker (default 1000) */
  notify_persist persist;  /* all NULL: critical messages live in memory only */
  notify_control control;  /* all NULL: no commands, no scheduled summary */
} notify_queue_opts;
void notify_queue_opts_default(notify_queue_opts *o);

/* Owns the result: free with notify_queue_free().  No thread yet. */
lb_err notify_queue_new(const notify_queue_opts *o, notify_queue **out, lb_errbuf *eb);

/* Adding channels: before notify_queue_start() only.  Each validates its
 * configuration (errors name the field, secrets masked) and registers its
 * secrets with the log redactor.  SMS: one channel per number. */
lb_err notify_queue_add_telegram(notify_queue *q, const notify_telegram_cfg *c, lb_errbuf *eb);
lb_err notify_queue_add_email(notify_queue *q, const notify_email_cfg *c, lb_errbuf *eb);
lb_err notify_queue_add_sms(notify_queue *q, const notify_sms_cfg *c, lb_errbuf *eb);
lb_err notify_queue_add_webhook(notify_queue *q, const notify_webhook_cfg *c, lb_errbuf *eb);

/* Builds every channel the configuration enables (TELEGRAM_*, SMTP_*,
 * TWILIO_*, WEBHOOK_*, NOTIFY_*).  o supplies clock, persist and control;
 * its capacity is replaced by NOTIFY_QUEUE_SIZE.  A configuration with no
 * channel gives a queue that accepts and discards. */
lb_err notify_queue_from_config(const struct lb_config *c, const notify_queue_opts *o,
                                notify_queue **out, lb_errbuf *eb);

int notify_queue_channel_count(const notify_queue *q);

/* Loads pending critical messages (ahead of anything posted so far) and
 * starts the worker thread. */
lb_err notify_queue_start(notify_queue *q, lb_errbuf *eb);

/* Queues ev for every channel whose min_severity it reaches.  Never waits
 * (invariant 1); thread-safe; may be called before start.  Returns the
 * number of channels that took it (drops are counted in the stats). */
int notify_post(notify_queue *q, const notify_event *ev);
/* The same for a one-line TEXT event. */
int notify_post_text(notify_queue *q, notify_severity sev, const char *title, const char *detail);

/* Wakes the worker to re-read the clock (tests that advance a virtual one). */
void notify_queue_kick(notify_queue *q);

/* Waits up to timeout_ms of real time until every channel is empty and
 * idle (for a clean shutdown: the "stopped" message goes out).  LB_ETIMEOUT
 * if something is still pending. */
lb_err notify_queue_drain(notify_queue *q, lb_ms timeout_ms);

/* Stops the thread, aborts transfers in flight, frees everything.  Pending
 * critical messages stay in the persistence for the next start. */
void notify_queue_free(notify_queue *q);

typedef struct {
  char name[NOTIFY_NAME_LEN];
  notify_severity min_severity;
  size_t queued;      /* waiting now, including one in flight */
  bool in_flight;
  uint64_t delivered; /* accepted by the peer */
  uint64_t failed;    /* given up: permanent error */
  uint64_t dropped;   /* pushed out of a full list (never critical) */
  uint64_t retries;   /* attempts that will be repeated */
  lb_ms next_attempt_at;
  char last_error[LB_ERRBUF_SIZE]; /* redacted */
} notify_channel_stats;

typedef struct {
  uint64_t posted;         /* notify_post() calls */
  uint64_t dropped;        /* sum over channels */
  uint64_t persist_errors;
  uint64_t commands;       /* accepted Telegram commands */
  uint64_t foreign_updates; /* updates from other chats, ignored */
  uint64_t poll_errors;    /* failed getUpdates */
  int n_channels;
  notify_channel_stats ch[NOTIFY_MAX_CHANNELS];
} notify_stats;

void notify_queue_stats(notify_queue *q, notify_stats *out);

#endif
