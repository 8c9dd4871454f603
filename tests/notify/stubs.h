/* stubs.h -- peers for the notify tests, all on 127.0.0.1, speaking the
 * real wire formats (wire-formats.md D and E):
 *
 *   tgstub   Telegram Bot API (libmicrohttpd): records sendMessage, checks
 *            the HTML the way Telegram does, answers scripted failures (429
 *            with retry_after, 5xx), serves scripted updates to getUpdates
 *            with real long polling;
 *   twstub   Twilio Messages API: basic auth, form fields, Twilio's errors;
 *   hookstub a webhook receiver with scripted statuses;
 *   smtpstub an SMTP server with AUTH PLAIN/LOGIN, STARTTLS and implicit
 *            TLS (OpenSSL, a certificate made at start), recording the
 *            envelope and the message;
 *   stall    accepts connections and never answers;
 * plus a thread-safe virtual clock, an in-memory notify_persist and a fake
 * notify_control that records what the bot would have been asked.
 */
#ifndef LB_TESTS_NOTIFY_STUBS_H
#define LB_TESTS_NOTIFY_STUBS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "core/buf.h"
#include "notify/notify.h"

/* ==== Clock and waiting ==== */

typedef struct {
  _Atomic long long now;
} tclock;
#define T0 INT64_C(1709294400000) /* 2024-03-01T12:00:00Z */
lb_clock tclock_bind(tclock *c);
void tclock_set(tclock *c, lb_ms t);
void tclock_advance(tclock *c, lb_ms d);

/* Polls pred every 2 ms of real time until it holds or timeout_ms pass. */
bool wait_for(bool (*pred)(void *), void *ctx, int timeout_ms);
#define WAIT_MS 8000 /* generous: only reached when something is broken */
void sleep_ms(int ms);

/* Waits until a queue counter reaches n (for ST_QUEUED: equals n); ch is
 * the channel index for per-channel counters. */
typedef enum {
  ST_DELIVERED, ST_RETRIES, ST_FAILED, ST_QUEUED, ST_DROPPED, ST_COMMANDS, ST_FOREIGN,
  ST_POLL_ERRORS, ST_IN_FLIGHT
} stat_kind;
bool wait_stat(notify_queue *q, int ch, stat_kind k, long long n);
long long get_stat(notify_queue *q, int ch, stat_kind k);

/* Captures log output between log_capture_start() and _end() (returns the
 * text; caller frees). */
void log_capture_start(void);
char *log_capture_end(void);
int count_substr(const char *hay, const char *needle);

/* ==== Generic HTTP stub ==== */

typedef struct {
  char method[16];
  char url[512];
  const char *body;
  size_t body_len;
  char auth[512];
  char ctype[128];
} hreq;

typedef struct {
  int status;
  char *body; /* malloc()ed, freed by the stub */
  char retry_after[16];
} hresp;

typedef struct hstub hstub;
/* Runs with h->mu held; may pthread_cond_timedwait(&h->cv, &h->mu). */
typedef void (*hstub_fn)(hstub *h, const hreq *rq, hresp *rs);

struct hstub {
  struct MHD_Daemon *d;
  int port;
  hstub_fn fn;
  pthread_mutex_t mu;
  pthread_cond_t cv; /* CLOCK_MONOTONIC */
  bool stopping;
  int requests;
};

bool hstub_start(hstub *h, hstub_fn fn, int port); /* port 0: any */
void hstub_stop(hstub *h);                          /* keeps h->port */
void hstub_destroy(hstub *h);
char *jdup(const char *s);

/* ==== Telegram ==== */

#define TG_MAX 256
typedef struct {
  hstub h;
  char token[128];
  long long chat_id;
  char *texts[TG_MAX]; /* accepted sendMessage texts, in order */
  long long chats[TG_MAX];
  int n_sent;
  int attempts; /* sendMessage requests, accepted or not */
  char parse_mode[16];
  /* Scripted answers to the next sendMessage requests. */
  struct {
    int status, retry_after;
  } script[16];
  int n_script, script_pos;
  int html_errors;
  char html_error[256];
  /* getUpdates */
  char *updates[64];
  long long update_ids[64];
  int n_updates;
  long long next_update_id;
  long long last_offset;
  int polls;
  int poll_wait_ms;
} tgstub;

bool tgstub_start(tgstub *s, const char *token);
bool tgstub_restart(tgstub *s); /* same port, after hstub_stop(&s->h) */
void tgstub_free(tgstub *s);
void tgstub_script(tgstub *s, int status, int retry_after);
void tgstub_push_update(tgstub *s, long long chat_id, lb_ms date, const char *text);
int tgstub_sent(tgstub *s);
/* Copy of the i-th accepted text (caller frees), or NULL. */
char *tgstub_text(tgstub *s, int i);
void tgstub_base_url(tgstub *s, char *buf, size_t n);
/* Telegram's HTML rules: known tags, balanced, entities; NULL when valid. */
const char *tg_html_check(const char *text, char *err, size_t n);

/* ==== Twilio ==== */

typedef struct {
  char to[64], from[64], service[64], body[1024];
} twmsg;

typedef struct {
  hstub h;
  char sid[64], token[128];
  twmsg msgs[64];
  int n;
  int auth_failures, bad_requests;
  int script[8]; /* statuses for the next requests */
  int n_script, script_pos;
} twstub;

bool twstub_start(twstub *s, const char *sid, const char *token);
void twstub_free(twstub *s);

/* ==== Webhook ==== */

typedef struct {
  hstub h;
  char *bodies[128];
  char auth[128][256];
  int n;
  int attempts;
  int script[16];
  int script_retry_after[16];
  int n_script, script_pos;
} hookstub;

bool hookstub_start(hookstub *s);
void hookstub_free(hookstub *s);
void hookstub_script(hookstub *s, int status, int retry_after);

/* ==== SMTP ==== */

typedef enum { SMTP_PLAIN = 0, SMTP_STARTTLS, SMTP_IMPLICIT } smtp_mode;

typedef struct {
  char from[256];
  char rcpt[8][256];
  int n_rcpt;
  char *data; /* the message, dot-unstuffed, CRLF as received */
  bool tls;
  char user[64];
} smtpmsg;

typedef struct {
  int fd, port;
  smtp_mode mode;
  void *ssl_ctx;
  char ca_path[512];
  char user[64], pass[64]; /* "" : no AUTH required */
  int fail_mail_from;      /* answer MAIL FROM with 451 this many times */
  _Atomic bool stopping;
  pthread_t accept_thread;
  pthread_t conn_threads[32];
  int n_conn;
  pthread_mutex_t mu;
  smtpmsg msgs[16];
  int n;
  int auth_failures;
  int sessions, tls_sessions;
} smtpstub;

bool smtpstub_start(smtpstub *s, smtp_mode mode, const char *user, const char *pass);
void smtpstub_free(smtpstub *s);
int smtpstub_count(smtpstub *s);

/* ==== A peer that accepts and never answers ==== */

typedef struct {
  int fd, port;
  _Atomic bool stopping;
  _Atomic int accepted;
  int conns[64];
  pthread_t thread;
} stall;

bool stall_start(stall *s);
void stall_free(stall *s);

/* ==== In-memory persistence ==== */

typedef struct {
  char id[NOTIFY_ID_MAX];
  char channel[NOTIFY_NAME_LEN];
  char *payload;
  lb_ms created;
  bool done, delivered;
  char error[256];
} memrow;

typedef struct {
  pthread_mutex_t mu;
  memrow rows[128];
  int n;
  bool fail_enqueue;
} mempersist;

void mempersist_init(mempersist *m);
void mempersist_close(mempersist *m);
notify_persist mempersist_iface(mempersist *m);
int mempersist_pending(mempersist *m);

/* ==== Fake control ==== */

typedef struct {
  pthread_mutex_t mu;
  bool paused, stopped;
  int forceexits, calls;
  int last_n;
  notify_period last_period;
  char last_call[32];
  const char *secret; /* show_config puts it in its text: must come out masked */
  bool fail_status;
  int summaries;
  lb_ms summary_day;
} fakectl;

void fakectl_init(fakectl *f);
notify_control fakectl_iface(fakectl *f);

/* ==== RFC 5322 (rfc5322.c) ==== */

/* NULL when msg is a well-formed RFC 5322 message: CRLF line ends only,
 * lines <= 998 octets, header fields "name: value" (folding allowed) in
 * ASCII, exactly one Date (RFC 5322 date-time) and one From, a blank line,
 * then the body; else the first problem in err. */
const char *rfc5322_check(const char *msg, char *err, size_t n);
/* The unfolded value of the first header `name` (case-insensitive). */
bool rfc5322_header(const char *msg, const char *name, char *out, size_t n);
/* The body (after the blank line). */
const char *rfc5322_body(const char *msg);
/* Decodes RFC 2047 "=?UTF-8?B?...?=" words (separated by folding) in place. */
void rfc2047_decode(char *s);

#endif
