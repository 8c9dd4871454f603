/* notify_int.h -- private to src/notify: queue nodes, the channel ops table,
 * helpers shared by the channels.  Nothing outside src/notify includes it.
 *
 * A channel is a name, pacing options, a list of pending messages and one
 * curl easy handle.  Its ops build a request for the head message and
 * classify the finished transfer; queue.c owns everything else (ordering,
 * retry, back-off, rate limit, persistence, statistics), so a new channel
 * is two functions and a config struct.
 */
#ifndef LB_NOTIFY_NOTIFY_INT_H
#define LB_NOTIFY_NOTIFY_INT_H

#include <curl/curl.h>

#include "notify/notify.h"

/* One message waiting for one channel.  The list links and flags are
 * guarded by the queue mutex; only the worker frees a node. */
typedef struct notify_msg {
  struct notify_msg *prev, *next;
  struct notify_msg *sprev, *snext; /* same-severity list (info, warning only) */
  bool in_sev;
  struct notify_msg *persist_next; /* on the to-be-persisted list */
  struct notify_chan *owner;
  notify_event ev;
  char *html;          /* Telegram command reply, already rendered (owned) */
  bool in_flight;      /* never evicted while true */
  bool persist_wait;   /* critical, not yet handed to notify_persist */
  bool persisted;
  char persist_id[NOTIFY_ID_MAX];
  int attempts;
} notify_msg;

typedef enum { NOTIFY_OUT_SENT = 0, NOTIFY_OUT_RETRY, NOTIFY_OUT_FAILED } notify_outcome;

typedef struct notify_chan notify_chan;

typedef struct {
  const char *kind; /* "telegram", "email", "sms", "webhook" */
  /* Sets up ch->easy (already reset, with the common options) to deliver
   * m; request-lifetime data goes into ch->req_* (freed by queue.c). */
  lb_err (*prepare)(notify_chan *ch, const notify_msg *m, lb_errbuf *eb);
  /* What the finished transfer means.  *retry_after_ms > 0 when the peer
   * asked for a pause; eb gets the reason for RETRY and FAILED. */
  notify_outcome (*classify)(notify_chan *ch, CURLcode cc, long status, lb_ms *retry_after_ms,
                             lb_errbuf *eb);
} notify_chan_ops;

struct notify_chan {
  const notify_chan_ops *ops;
  char name[NOTIFY_NAME_LEN];
  notify_chan_opts opts;
  union { /* the channel's own configuration (a copy) */
    notify_telegram_cfg tg;
    notify_email_cfg email;
    notify_sms_cfg sms;
    notify_webhook_cfg hook;
  } cfg;

  /* Guarded by the queue mutex. */
  notify_msg *head, *tail;
  /* The droppable messages by severity (info, warning), oldest first, so
   * choosing what to drop is O(1) however many critical ones wait. */
  notify_msg *sev_head[2], *sev_tail[2];
  size_t len;
  bool busy;
  lb_ms next_at;
  uint64_t delivered, failed, dropped, retries;
  char last_error[LB_ERRBUF_SIZE];

  /* Worker thread only. */
  CURL *easy;
  notify_msg *cur;
  lb_ms started_at;
  struct curl_slist *req_headers;
  struct curl_slist *req_rcpt;
  lb_buf req_body;
  size_t req_off; /* upload position (SMTP) */
  lb_buf resp_body;
  char curl_err[CURL_ERROR_SIZE];
};

extern const notify_chan_ops notify_telegram_ops;
extern const notify_chan_ops notify_email_ops;
extern const notify_chan_ops notify_sms_ops;
extern const notify_chan_ops notify_webhook_ops;

/* ==== Shared helpers (queue.c) ==== */

/* Common curl options: body collection, timeouts, allowed protocols
 * ("http,https" or "smtp,smtps"), error buffer.  Called after reset. */
void notify_easy_common(notify_chan *ch, CURL *easy, const char *protocols);
/* A curl failure as text (the error buffer or curl_easy_strerror). */
void notify_curl_error(lb_errbuf *eb, const char *chan, CURLcode cc, const char *errbuf);
/* Classification shared by the plain HTTP channels: 2xx sent; 408, 429
 * and 5xx retried (Retry-After honoured); other statuses failed. */
notify_outcome notify_http_classify(notify_chan *ch, CURLcode cc, long status,
                                    lb_ms *retry_after_ms, lb_errbuf *eb);
/* Copies text through lb_redact into eb (error texts leave the process). */
lb_err notify_fail_redacted(lb_errbuf *eb, lb_err e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Registers a validated channel (the add_* functions call it); the
 * queue copies cfg.  Before notify_queue_start() only. */
lb_err notify_queue_add_chan(notify_queue *q, const notify_chan_ops *ops, const char *name,
                             const notify_chan_opts *opts, const void *cfg, size_t cfg_size,
                             notify_chan **out, lb_errbuf *eb);
/* The Telegram channel whose chat may send commands (the first one). */
void notify_queue_set_command_chan(notify_queue *q, notify_chan *ch);

/* ==== Shared helpers (render.c) ==== */

/* s with invalid UTF-8 replaced by U+FFFD and control characters (except
 * \n when multiline) by spaces, redacted; appended to out. */
lb_err notify_clean_text(lb_buf *out, const char *s, bool multiline);
/* Appends at most max_chars UTF-8 characters of s (HTML-escaped when
 * html), ending with "..." when cut. */
lb_err notify_append_limited(lb_buf *out, const char *s, size_t max_chars, bool html);
/* Number of UTF-8 characters (code points) in s. */
size_t notify_utf8_len(const char *s);
/* "Fri, 01 Mar 2024 12:00:00 +0000" */
void notify_rfc5322_date(lb_ms t, char *buf, size_t n);
/* The address inside "Name <a@b>" or the trimmed text; false if it is not
 * one plausible address (one '@', no spaces, no CR/LF, no <>). */
bool notify_mail_addr(const char *s, char *out, size_t n);

/* ==== Telegram commands (chan_telegram.c, command.c, queue.c) ==== */

/* Sets up a getUpdates long poll from offset. */
lb_err notify_telegram_poll_prepare(notify_chan *ch, CURL *easy, long long offset, lb_buf *body,
                                    struct curl_slist **headers, lb_errbuf *eb);
/* Reads {"description":..,"parameters":{"retry_after":N}}; false if body
 * is not JSON (desc then holds its start). */
bool notify_telegram_parse_error(const char *body, lb_ms *retry_after_ms, char *desc, size_t n);

/* chat id as Telegram sends it (integer) compared with the configured text. */
bool notify_chat_id_matches(const char *configured, long long chat_id);

#endif
