/* chan_email.c -- email over SMTP or SMTPS with libcurl (wire-formats.md E).
 *
 * smtps://host:465 is implicit TLS; smtp://host:587 upgrades with STARTTLS,
 * required unless the user turned it off (then curl never sends the
 * password over a plain connection it did not ask for).  The envelope
 * recipients come from SMTP_TO only (CURLOPT_MAIL_RCPT); the message is a
 * whole RFC 5322 text built by notify_render_email().  SMTP replies 5xx are
 * permanent (the message is given up), 4xx and transport errors retried.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "notify/notify_int.h"

#define MAX_RCPT 32

void notify_email_cfg_default(notify_email_cfg *c) {
  memset(c, 0, sizeof *c);
  notify_chan_opts_default(&c->opts);
  c->opts.min_severity = NOTIFY_WARNING;
  c->opts.timeout_ms = 30 * LB_MS_SECOND;
  c->starttls = true;
}

static bool is_ascii_line(const char *s) {
  for (const char *p = s; *p; p++)
    if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7F) return false;
  return true;
}

/* Splits the recipient list; each entry must be one address. */
static int split_rcpt(const char *list, char out[][256], lb_errbuf *eb) {
  char copy[1024];
  notify_copy_text(copy, sizeof copy, list);
  int n = 0;
  for (char *tok = copy; tok; n++) {
    char *comma = strchr(tok, ',');
    if (comma) *comma = '\0';
    if (n >= MAX_RCPT) return lb_fail(eb, LB_ECONFIG, "email: more than %d recipients", MAX_RCPT), -1;
    if (!notify_mail_addr(tok, out[n], 256))
      return lb_fail(eb, LB_ECONFIG, "email: recipient \"%.100s\" is not an address",
                     tok + strspn(tok, " \t")), -1;
    tok = comma ? comma + 1 : NULL;
  }
  return n;
}

static lb_err validate(const notify_email_cfg *c, lb_errbuf *eb) {
  char masked[600], addr[256], rcpt[MAX_RCPT][256];
  lb_mask_url(c->url, masked, sizeof masked);
  bool smtps = strncmp(c->url, "smtps://", 8) == 0;
  if ((!smtps && strncmp(c->url, "smtp://", 7) != 0) || strlen(c->url) < 9 ||
      !is_ascii_line(c->url) || strchr(c->url, ' '))
    return lb_fail(eb, LB_ECONFIG, "email: URL \"%.200s\" is not smtp://host:port or "
                   "smtps://host:port", masked);
  if (!is_ascii_line(c->from) || !notify_mail_addr(c->from, addr, sizeof addr))
    return lb_fail(eb, LB_ECONFIG, "email: sender \"%.100s\" is not an address "
                   "(bot@example.com or Name <bot@example.com>)", c->from);
  if (!is_ascii_line(c->to) || split_rcpt(c->to, rcpt, eb) < 1)
    return eb && eb->msg[0] ? LB_ECONFIG
                            : lb_fail(eb, LB_ECONFIG, "email: recipients \"%.100s\" invalid", c->to);
  if (c->password[0] && !c->user[0])
    return lb_fail(eb, LB_ECONFIG, "email: a password is set without a user name");
  if (c->ca_file[0] && access(c->ca_file, R_OK) != 0)
    return lb_fail(eb, LB_ECONFIG, "email: CA file %.200s is not readable", c->ca_file);
  return LB_OK;
}

lb_err notify_queue_add_email(notify_queue *q, const notify_email_cfg *c, lb_errbuf *eb) {
  if (eb) eb->msg[0] = '\0';
  lb_err e = validate(c, eb);
  if (e) return e;
  lb_log_add_secret(c->password);
  return notify_queue_add_chan(q, &notify_email_ops, "email", &c->opts, c, sizeof *c, NULL, eb);
}

static size_t read_payload(char *dst, size_t size, size_t nmemb, void *ud) {
  notify_chan *ch = ud;
  size_t room = size * nmemb, left = ch->req_body.len - ch->req_off;
  size_t n = left < room ? left : room;
  memcpy(dst, ch->req_body.data + ch->req_off, n);
  ch->req_off += n;
  return n;
}

static lb_err email_prepare(notify_chan *ch, const notify_msg *m, lb_errbuf *eb) {
  static unsigned long seq; /* only worker threads prepare; uniqueness is all it needs */
  const notify_email_cfg *c = &ch->cfg.email;
  char from[256], rcpt[MAX_RCPT][256], mid[400], angle[260];
  notify_mail_addr(c->from, from, sizeof from);
  int n = split_rcpt(c->to, rcpt, eb);
  if (n < 1) return LB_ECONFIG;
  snprintf(mid, sizeof mid, "%lld.%lu.levbot@%s", (long long)m->ev.time,
           __atomic_add_fetch(&seq, 1, __ATOMIC_RELAXED), strchr(from, '@') + 1);
  if (notify_render_email(&m->ev, c->from, c->to, mid, &ch->req_body) != LB_OK)
    return lb_fail(eb, LB_ENOMEM, "email: cannot render the message");
  for (int i = 0; i < n; i++) {
    snprintf(angle, sizeof angle, "<%.255s>", rcpt[i]);
    ch->req_rcpt = curl_slist_append(ch->req_rcpt, angle);
  }
  snprintf(angle, sizeof angle, "<%.255s>", from);
  CURL *h = ch->easy;
  curl_easy_setopt(h, CURLOPT_URL, c->url);
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, angle);
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, ch->req_rcpt);
  if (c->user[0]) {
    curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
    curl_easy_setopt(h, CURLOPT_PASSWORD, c->password);
  }
  if (strncmp(c->url, "smtp://", 7) == 0 && c->starttls)
    curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
  if (c->ca_file[0]) curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, read_payload);
  curl_easy_setopt(h, CURLOPT_READDATA, ch);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)ch->req_body.len);
  return LB_OK;
}

static notify_outcome email_classify(notify_chan *ch, CURLcode cc, long status,
                                     lb_ms *retry_after_ms, lb_errbuf *eb) {
  (void)retry_after_ms;
  if (cc == CURLE_OK) return NOTIFY_OUT_SENT;
  notify_curl_error(eb, "email", cc, ch->curl_err);
  if (cc == CURLE_LOGIN_DENIED) return NOTIFY_OUT_FAILED; /* SMTP_USER / SMTP_PASSWORD */
  /* A 5xx reply is the server's final no (RFC 5321 4.2.1). */
  if (status >= 500 && status < 600) return NOTIFY_OUT_FAILED;
  return NOTIFY_OUT_RETRY;
}

const notify_chan_ops notify_email_ops = {"email", email_prepare, email_classify};
