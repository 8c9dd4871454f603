/* config.c -- the queue the configuration asks for (TELEGRAM_*, SMTP_*,
 * TWILIO_*, WEBHOOK_*, NOTIFY_*): what `levbot run` calls.
 *
 * A channel is on when its key variable is set (the token, SMTP_URL, the
 * account SID, WEBHOOK_URL); lb_config_check() has already refused half-set
 * channels, and each add_* validates formats again, so a queue built here
 * never holds a channel that cannot work.
 */
#include <string.h>

#include "core/config.h"
#include "notify/notify.h"

static notify_severity sev_of(const char *s) {
  notify_severity v = NOTIFY_INFO;
  notify_severity_parse(s, &v); /* the config table only allows the three words */
  return v;
}

static void base_opts(const lb_config *c, notify_chan_opts *o, const char *min_sev) {
  o->min_severity = sev_of(min_sev);
  o->timeout_ms = c->notify_timeout_seconds * LB_MS_SECOND;
}

static lb_err add_all(const lb_config *c, notify_queue *q, lb_errbuf *eb) {
  lb_err e;
  if (c->telegram_bot_token[0]) {
    notify_telegram_cfg t;
    notify_telegram_cfg_default(&t);
    base_opts(c, &t.opts, c->telegram_min_severity);
    notify_set(t.api_url, c->telegram_api_url);
    notify_set(t.token, c->telegram_bot_token);
    notify_set(t.chat_id, c->telegram_chat_id);
    t.commands = c->telegram_commands;
    t.poll_timeout_s = (int)c->telegram_poll_seconds;
    if ((e = notify_queue_add_telegram(q, &t, eb))) return e;
  }
  if (c->smtp_url[0]) {
    notify_email_cfg m;
    notify_email_cfg_default(&m);
    base_opts(c, &m.opts, c->smtp_min_severity);
    notify_set(m.url, c->smtp_url);
    notify_set(m.user, c->smtp_user);
    notify_set(m.password, c->smtp_password);
    notify_set(m.from, c->smtp_from);
    notify_set(m.to, c->smtp_to);
    notify_set(m.ca_file, c->smtp_ca_file);
    m.starttls = c->smtp_starttls;
    if ((e = notify_queue_add_email(q, &m, eb))) return e;
  }
  if (c->twilio_account_sid[0]) {
    char to[16][64];
    int n = lb_cfg_split_list(c->twilio_to, to, 16);
    if (n <= 0) return lb_fail(eb, LB_ECONFIG, "TWILIO_TO=%.100s: 1..16 numbers", c->twilio_to);
    for (int i = 0; i < n; i++) {
      notify_sms_cfg s;
      notify_sms_cfg_default(&s);
      base_opts(c, &s.opts, c->twilio_min_severity);
      notify_set(s.api_url, c->twilio_api_url);
      notify_set(s.account_sid, c->twilio_account_sid);
      notify_set(s.auth_token, c->twilio_auth_token);
      notify_set(s.from, c->twilio_from);
      notify_set(s.to, to[i]);
      if ((e = notify_queue_add_sms(q, &s, eb))) return e;
    }
  }
  if (c->webhook_url[0]) {
    notify_webhook_cfg w;
    notify_webhook_cfg_default(&w);
    base_opts(c, &w.opts, c->webhook_min_severity);
    notify_set(w.url, c->webhook_url);
    notify_set(w.bearer, c->webhook_token);
    if ((e = notify_queue_add_webhook(q, &w, eb))) return e;
  }
  return LB_OK;
}

lb_err notify_queue_from_config(const lb_config *c, const notify_queue_opts *o,
                                notify_queue **out, lb_errbuf *eb) {
  notify_queue_opts qo = *o;
  qo.capacity = (size_t)c->notify_queue_size;
  if (!c->notify_daily_summary) qo.control.daily_summary = NULL;
  lb_err e = notify_queue_new(&qo, out, eb);
  if (e) return e;
  if ((e = add_all(c, *out, eb))) {
    notify_queue_free(*out);
    *out = NULL;
  }
  return e;
}
