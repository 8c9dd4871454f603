/* chan_webhook.c -- a generic JSON webhook: POST notify_render_webhook()
 * to WEBHOOK_URL ("text" for Slack-style receivers, "content" for
 * Discord-style ones, "event" for the user's own automation).
 *
 * Webhook URLs of chat services carry their token in the path, so the whole
 * URL is treated as a secret.  A 429 is retried after Retry-After or, as
 * Discord sends it, the body's "retry_after" (seconds, may be fractional).
 */
#include <string.h>

#include <jansson.h>

#include "core/log.h"
#include "notify/notify_int.h"

void notify_webhook_cfg_default(notify_webhook_cfg *c) {
  memset(c, 0, sizeof *c);
  notify_chan_opts_default(&c->opts);
}

lb_err notify_queue_add_webhook(notify_queue *q, const notify_webhook_cfg *c, lb_errbuf *eb) {
  bool ok = strncmp(c->url, "http://", 7) == 0 || strncmp(c->url, "https://", 8) == 0;
  for (const char *p = c->url; *p && ok; p++) ok = (unsigned char)*p > 0x20 && (unsigned char)*p < 0x7F;
  if (!ok || strlen(c->url) < 10)
    return lb_fail(eb, LB_ECONFIG, "webhook: URL is not http(s)://... (value not shown: it may "
                   "carry a token)");
  for (const char *p = c->bearer; *p; p++)
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F)
      return lb_fail(eb, LB_ECONFIG, "webhook: bearer token has spaces or control characters");
  lb_log_add_secret(c->url);
  lb_log_add_secret(c->bearer);
  return notify_queue_add_chan(q, &notify_webhook_ops, "webhook", &c->opts, c, sizeof *c, NULL, eb);
}

static lb_err hook_prepare(notify_chan *ch, const notify_msg *m, lb_errbuf *eb) {
  const notify_webhook_cfg *c = &ch->cfg.hook;
  if (notify_render_webhook(&m->ev, &ch->req_body) != LB_OK)
    return lb_fail(eb, LB_ENOMEM, "webhook: cannot render the message");
  ch->req_headers = curl_slist_append(ch->req_headers, "Content-Type: application/json");
  if (c->bearer[0]) {
    char auth[300];
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", c->bearer);
    ch->req_headers = curl_slist_append(ch->req_headers, auth);
  }
  curl_easy_setopt(ch->easy, CURLOPT_URL, c->url);
  curl_easy_setopt(ch->easy, CURLOPT_HTTPHEADER, ch->req_headers);
  curl_easy_setopt(ch->easy, CURLOPT_POSTFIELDS, ch->req_body.data);
  curl_easy_setopt(ch->easy, CURLOPT_POSTFIELDSIZE, (long)ch->req_body.len);
  return LB_OK;
}

static notify_outcome hook_classify(notify_chan *ch, CURLcode cc, long status,
                                    lb_ms *retry_after_ms, lb_errbuf *eb) {
  notify_outcome out = notify_http_classify(ch, cc, status, retry_after_ms, eb);
  if (status == 429 && *retry_after_ms == 0) {
    json_t *o = json_loads(ch->resp_body.data, 0, NULL);
    json_t *ra = json_object_get(o, "retry_after");
    if (json_is_number(ra) && json_number_value(ra) > 0 && json_number_value(ra) < 86400)
      *retry_after_ms = (lb_ms)(json_number_value(ra) * 1000.0 + 0.5);
    json_decref(o);
  }
  return out;
}

const notify_chan_ops notify_webhook_ops = {"webhook", hook_prepare, hook_classify};
