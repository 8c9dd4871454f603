/* chan_telegram.c -- Telegram Bot API: sendMessage in HTML parse mode, and
 * the getUpdates request the command poller sends (wire-formats.md D).
 *
 * The token is part of every URL (/bot<token>/method), so it is registered
 * with the log redactor when the channel is added and never appears in an
 * error text.  Telegram answers {"ok":false,"error_code":429,
 * "parameters":{"retry_after":N}} when it wants us to slow down: N is
 * honoured exactly.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/config.h"
#include "core/log.h"
#include "notify/notify_int.h"


void notify_telegram_cfg_default(notify_telegram_cfg *c) {
  memset(c, 0, sizeof *c);
  notify_chan_opts_default(&c->opts);
  c->opts.min_interval_ms = LB_MS_SECOND; /* ~1 message a second per chat */
  notify_copy_text(c->api_url, sizeof c->api_url, "https://api.telegram.org");
  c->commands = true;
  c->poll_timeout_s = 30;
  c->command_max_age_ms = 2 * LB_MS_MINUTE;
}

/* "-1001234567890" -> true and the number. */
static bool numeric_chat(const char *s, long long *out) {
  if (!s || !*s) return false;
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || *end || end == s || s[0] == '+' || s[0] == ' ') return false;
  *out = v;
  return true;
}

bool notify_chat_id_matches(const char *configured, long long chat_id) {
  long long want;
  return numeric_chat(configured, &want) && want == chat_id;
}

static bool valid_http_url(const char *u) {
  if (strncmp(u, "http://", 7) != 0 && strncmp(u, "https://", 8) != 0) return false;
  for (const char *p = u; *p; p++)
    if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7F) return false;
  return strlen(u) > 8;
}

static lb_err validate(const notify_telegram_cfg *c, lb_errbuf *eb) {
  char masked[64];
  lb_mask_secret(c->token, masked, sizeof masked);
  const char *colon = strchr(c->token, ':');
  bool tok_ok = colon && colon > c->token && colon[1];
  for (const char *p = c->token; *p && tok_ok; p++)
    tok_ok = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
             *p == ':' || *p == '_' || *p == '-';
  if (!tok_ok)
    return lb_fail(eb, LB_ECONFIG, "telegram: token %s is not of the form 123456:ABC... "
                   "(from @BotFather)", masked[0] ? masked : "(empty)");
  long long id;
  bool named = c->chat_id[0] == '@' && strlen(c->chat_id) >= 6;
  for (const char *p = c->chat_id + 1; named && *p; p++)
    named = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '_';
  if (!numeric_chat(c->chat_id, &id) && !named)
    return lb_fail(eb, LB_ECONFIG, "telegram: chat id \"%.64s\" is not a number or @channelname",
                   c->chat_id);
  if (c->commands && named)
    return lb_fail(eb, LB_ECONFIG,
                   "telegram: commands need a numeric chat id, not \"%.64s\"", c->chat_id);
  if (!valid_http_url(c->api_url))
    return lb_fail(eb, LB_ECONFIG, "telegram: API URL \"%.200s\" is not http(s)://...",
                   c->api_url);
  if (c->poll_timeout_s < 0 || c->poll_timeout_s > 50)
    return lb_fail(eb, LB_ECONFIG, "telegram: poll timeout %d s outside 0..50", c->poll_timeout_s);
  if (c->command_max_age_ms < LB_MS_SECOND)
    return lb_fail(eb, LB_ECONFIG, "telegram: command max age %lld ms below 1 s",
                   (long long)c->command_max_age_ms);
  return LB_OK;
}

lb_err notify_queue_add_telegram(notify_queue *q, const notify_telegram_cfg *c, lb_errbuf *eb) {
  lb_err e = validate(c, eb);
  if (e) return e;
  lb_log_add_secret(c->token);
  notify_chan *ch;
  e = notify_queue_add_chan(q, &notify_telegram_ops, "telegram", &c->opts, c, sizeof *c, &ch, eb);
  if (!e && c->commands) notify_queue_set_command_chan(q, ch);
  return e;
}

static void method_url(const notify_telegram_cfg *c, const char *method, char *out, size_t n) {
  size_t len = strlen(c->api_url);
  while (len > 0 && c->api_url[len - 1] == '/') len--;
  snprintf(out, n, "%.*s/bot%s/%s", (int)len, c->api_url, c->token, method);
}

static json_t *chat_json(const char *chat_id) {
  long long id;
  return numeric_chat(chat_id, &id) ? json_integer(id) : json_string(chat_id);
}

static lb_err post_json(CURL *easy, const char *url, json_t *body, lb_buf *buf,
                        struct curl_slist **headers, lb_errbuf *eb) {
  char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
  lb_err e = text ? lb_buf_puts(buf, text) : LB_ENOMEM;
  free(text);
  if (e) return lb_fail(eb, LB_ENOMEM, "telegram: cannot build the request");
  *headers = curl_slist_append(*headers, "Content-Type: application/json");
  curl_easy_setopt(easy, CURLOPT_URL, url);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, *headers);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, buf->data);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)buf->len);
  return LB_OK;
}

static lb_err tg_prepare(notify_chan *ch, const notify_msg *m, lb_errbuf *eb) {
  const notify_telegram_cfg *c = &ch->cfg.tg;
  char url[1024];
  lb_buf text;
  lb_buf_init(&text);
  lb_err e = m->html ? lb_buf_puts(&text, m->html) : notify_render_telegram(&m->ev, &text);
  if (e) {
    lb_buf_free(&text);
    return lb_fail(eb, e, "telegram: cannot render the message");
  }
  method_url(c, "sendMessage", url, sizeof url);
  json_t *body = json_pack("{s:o, s:s, s:s, s:b}", "chat_id", chat_json(c->chat_id), "text",
                           text.data, "parse_mode", "HTML", "disable_web_page_preview", 1);
  e = post_json(ch->easy, url, body, &ch->req_body, &ch->req_headers, eb);
  json_decref(body);
  lb_buf_free(&text);
  return e;
}

lb_err notify_telegram_poll_prepare(notify_chan *ch, CURL *easy, long long offset, lb_buf *body,
                                    struct curl_slist **headers, lb_errbuf *eb) {
  const notify_telegram_cfg *c = &ch->cfg.tg;
  char url[1024];
  method_url(c, "getUpdates", url, sizeof url);
  json_t *o = json_pack("{s:I, s:i, s:[s]}", "offset", (json_int_t)offset, "timeout",
                        c->poll_timeout_s, "allowed_updates", "message");
  lb_err e = post_json(easy, url, o, body, headers, eb);
  json_decref(o);
  return e;
}

bool notify_telegram_parse_error(const char *body, lb_ms *retry_after_ms, char *desc, size_t n) {
  json_t *o = body ? json_loads(body, 0, NULL) : NULL;
  if (!json_is_object(o)) {
    json_decref(o);
    snprintf(desc, n, "%.120s", body ? body : "");
    return false;
  }
  json_t *d = json_object_get(o, "description");
  snprintf(desc, n, "%.200s", json_is_string(d) ? json_string_value(d) : "no description");
  json_t *ra = json_object_get(json_object_get(o, "parameters"), "retry_after");
  if (json_is_integer(ra) && json_integer_value(ra) > 0 && json_integer_value(ra) < 86400)
    *retry_after_ms = json_integer_value(ra) * LB_MS_SECOND;
  json_decref(o);
  return true;
}

static notify_outcome tg_classify(notify_chan *ch, CURLcode cc, long status,
                                  lb_ms *retry_after_ms, lb_errbuf *eb) {
  if (cc != CURLE_OK) {
    notify_curl_error(eb, "telegram", cc, ch->curl_err);
    return NOTIFY_OUT_RETRY;
  }
  json_t *o = json_loads(ch->resp_body.data, 0, NULL);
  bool ok = json_is_true(json_object_get(o, "ok"));
  json_decref(o);
  if (status == 200 && ok) return NOTIFY_OUT_SENT;
  char desc[256];
  notify_telegram_parse_error(ch->resp_body.data, retry_after_ms, desc, sizeof desc);
  notify_fail_redacted(eb, LB_EREJECTED, "telegram: HTTP %ld: %s", status, desc);
  if (status == 429 || status == 408 || status >= 500 || status < 200 || status == 200)
    return NOTIFY_OUT_RETRY;
  return NOTIFY_OUT_FAILED; /* 400 bad request, 401 bad token, 403 blocked by the user */
}

const notify_chan_ops notify_telegram_ops = {"telegram", tg_prepare, tg_classify};
