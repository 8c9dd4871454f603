/* chan_sms.c -- SMS through the Twilio Messages API (wire-formats.md E).
 *
 * POST {api}/2010-04-01/Accounts/{sid}/Messages.json with basic auth
 * (account SID : auth token) and form fields To, From (or
 * MessagingServiceSid for an "MG..." sender) and Body.  One channel per
 * destination number, named "sms:<number>", so each number keeps its own
 * order and retry state.
 */
#include <string.h>

#include <jansson.h>

#include "core/log.h"
#include "notify/notify_int.h"

void notify_sms_cfg_default(notify_sms_cfg *c) {
  memset(c, 0, sizeof *c);
  notify_chan_opts_default(&c->opts);
  c->opts.min_severity = NOTIFY_CRITICAL;
  c->opts.min_interval_ms = LB_MS_SECOND;
  notify_copy_text(c->api_url, sizeof c->api_url, "https://api.twilio.com");
}

static bool is_e164(const char *s) {
  size_t n = strlen(s);
  if (n < 9 || n > 16 || s[0] != '+' || s[1] == '0') return false;
  return strspn(s + 1, "0123456789") == n - 1;
}

static bool is_alnum_word(const char *s, size_t min) {
  size_t n = strlen(s);
  return n >= min && n < 64 &&
         strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") == n;
}

static lb_err validate(const notify_sms_cfg *c, lb_errbuf *eb) {
  if (!is_alnum_word(c->account_sid, 8))
    return lb_fail(eb, LB_ECONFIG, "sms: account SID \"%.64s\" is not AC followed by letters "
                   "and digits", c->account_sid);
  if (!c->auth_token[0]) return lb_fail(eb, LB_ECONFIG, "sms: auth token is empty");
  bool service = strncmp(c->from, "MG", 2) == 0 && is_alnum_word(c->from, 8);
  if (!is_e164(c->from) && !service)
    return lb_fail(eb, LB_ECONFIG, "sms: sender \"%.64s\" is not +<digits> or a Messaging "
                   "Service SID (MG...)", c->from);
  if (!is_e164(c->to))
    return lb_fail(eb, LB_ECONFIG, "sms: recipient \"%.64s\" is not +<country><number>", c->to);
  if (strncmp(c->api_url, "http://", 7) != 0 && strncmp(c->api_url, "https://", 8) != 0)
    return lb_fail(eb, LB_ECONFIG, "sms: API URL \"%.200s\" is not http(s)://...", c->api_url);
  return LB_OK;
}

lb_err notify_queue_add_sms(notify_queue *q, const notify_sms_cfg *c, lb_errbuf *eb) {
  lb_err e = validate(c, eb);
  if (e) return e;
  lb_log_add_secret(c->auth_token);
  char name[NOTIFY_NAME_LEN];
  snprintf(name, sizeof name, "sms:%.32s", c->to); /* E.164: at most 16 */
  return notify_queue_add_chan(q, &notify_sms_ops, name, &c->opts, c, sizeof *c, NULL, eb);
}

static lb_err add_field(CURL *h, lb_buf *b, const char *key, const char *value) {
  char *esc = curl_easy_escape(h, value, 0);
  if (!esc) return LB_ENOMEM;
  lb_err e = lb_buf_printf(b, "%s%s=%s", b->len ? "&" : "", key, esc);
  curl_free(esc);
  return e;
}

static lb_err sms_prepare(notify_chan *ch, const notify_msg *m, lb_errbuf *eb) {
  const notify_sms_cfg *c = &ch->cfg.sms;
  CURL *h = ch->easy;
  char url[1024];
  size_t len = strlen(c->api_url);
  while (len > 0 && c->api_url[len - 1] == '/') len--;
  snprintf(url, sizeof url, "%.*s/2010-04-01/Accounts/%s/Messages.json", (int)len, c->api_url,
           c->account_sid);
  lb_buf text;
  lb_buf_init(&text);
  lb_err e = notify_render_sms(&m->ev, &text);
  if (!e) e = add_field(h, &ch->req_body, "To", c->to);
  if (!e) e = add_field(h, &ch->req_body, strncmp(c->from, "MG", 2) == 0 ? "MessagingServiceSid" : "From", c->from);
  if (!e) e = add_field(h, &ch->req_body, "Body", text.data);
  lb_buf_free(&text);
  if (e) return lb_fail(eb, e, "sms: cannot build the request");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
  curl_easy_setopt(h, CURLOPT_USERNAME, c->account_sid);
  curl_easy_setopt(h, CURLOPT_PASSWORD, c->auth_token);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, ch->req_body.data);
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)ch->req_body.len);
  return LB_OK;
}

static notify_outcome sms_classify(notify_chan *ch, CURLcode cc, long status,
                                   lb_ms *retry_after_ms, lb_errbuf *eb) {
  notify_outcome out = notify_http_classify(ch, cc, status, retry_after_ms, eb);
  if (out == NOTIFY_OUT_SENT || cc != CURLE_OK) return out;
  /* Twilio explains a refusal: {"code":21211,"message":"The 'To' number ..."} */
  json_t *o = json_loads(ch->resp_body.data, 0, NULL);
  json_t *code = json_object_get(o, "code"), *msg = json_object_get(o, "message");
  if (json_is_integer(code) && json_is_string(msg))
    notify_fail_redacted(eb, LB_EREJECTED, "%s: HTTP %ld: Twilio error %lld: %.150s", ch->name,
                         status, (long long)json_integer_value(code), json_string_value(msg));
  json_decref(o);
  return out;
}

const notify_chan_ops notify_sms_ops = {"sms", sms_prepare, sms_classify};
