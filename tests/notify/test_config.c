/* test_config.c -- the notification variables as a user sets them: the
 * cross-variable checks refuse half-configured channels (naming the
 * variables, never printing a secret), and the queue built from the
 * configuration reaches every configured peer. */
#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "stubs.h"
#include "unit.h"

#define TOKEN "123456789:AAEtestTOKENfor-the-stub_0123456789"
#define SID "AC0123456789abcdef0123456789abcdef"
#define AUTH "twilio-auth-token-0123456789abcdef"

static void set(lb_config *c, const char *name, const char *value) {
  lb_cfg_report rep;
  memset(&rep, 0, sizeof rep);
  if (lb_config_set(c, name, value, &rep) != LB_OK || rep.n_errors)
    lbt_fail(__FILE__, __LINE__, "%s=%s refused: %s", name, value, rep.errors[0]);
}

/* Runs the cross-variable checks; returns every message joined. */
static char *check(const lb_config *c, int *errors, int *warnings) {
  lb_cfg_report *rep = calloc(1, sizeof *rep);
  lb_config_check(c, rep);
  lb_buf b;
  lb_buf_init(&b);
  for (int i = 0; i < rep->n_errors; i++) lb_buf_printf(&b, "E %s\n", rep->errors[i]);
  for (int i = 0; i < rep->n_warnings; i++) lb_buf_printf(&b, "W %s\n", rep->warnings[i]);
  *errors = rep->n_errors;
  *warnings = rep->n_warnings;
  free(rep);
  return lb_buf_steal(&b);
}

TEST(config_notify_defaults_are_valid_and_everything_is_off) {
  lb_config c;
  lb_config_defaults(&c);
  int e, w;
  char *msg = check(&c, &e, &w);
  CHECK_NOT_CONTAINS(msg, "TELEGRAM");
  CHECK_NOT_CONTAINS(msg, "SMTP");
  CHECK_NOT_CONTAINS(msg, "TWILIO");
  CHECK_NOT_CONTAINS(msg, "WEBHOOK");
  free(msg);
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  notify_queue *q;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_from_config(&c, &o, &q, &eb));
  CHECK_EQ(notify_queue_channel_count(q), 0);
  REQUIRE_OK(notify_queue_start(q, &eb));
  CHECK_EQ(notify_post_text(q, NOTIFY_CRITICAL, "nobody listens", ""), 0);
  CHECK_OK(notify_queue_drain(q, 100));
  notify_queue_free(q);
}

TEST(config_half_configured_channels_are_refused_by_name) {
  lb_config c;
  lb_config_defaults(&c);
  set(&c, "TELEGRAM_BOT_TOKEN", TOKEN);
  set(&c, "SMTP_URL", "smtp://mail.example.com:587");
  set(&c, "TWILIO_ACCOUNT_SID", SID);
  set(&c, "TWILIO_TO", "+447700900123");
  int e, w;
  char *msg = check(&c, &e, &w);
  CHECK_CONTAINS(msg, "E TELEGRAM_BOT_TOKEN is set but TELEGRAM_CHAT_ID is empty");
  CHECK_CONTAINS(msg, "E SMTP_URL=smtp://mail.example.com:587 is set but SMTP_TO is empty");
  CHECK_CONTAINS(msg, "but SMTP_FROM is empty");
  CHECK_CONTAINS(msg, "E TWILIO_AUTH_TOKEN is empty but other TWILIO_* variables are set");
  CHECK_CONTAINS(msg, "E TWILIO_FROM is empty");
  CHECK_NOT_CONTAINS(msg, "AAEtestTOKEN");
  CHECK_EQ(e, 5);
  free(msg);
}

TEST(config_formats_are_checked_without_printing_secrets) {
  lb_config c;
  lb_config_defaults(&c);
  set(&c, "TELEGRAM_BOT_TOKEN", TOKEN);
  set(&c, "TELEGRAM_CHAT_ID", "my-chat");
  set(&c, "WEBHOOK_URL", "ftp://hooks.example.com/T000/B000/XXXXsecretXXXX");
  set(&c, "SMTP_URL", "smtp://bot:mailpass123@mail.example.com:25");
  set(&c, "SMTP_TO", "me@example.com");
  set(&c, "SMTP_FROM", "bot@example.com");
  set(&c, "SMTP_USER", "bot");
  set(&c, "SMTP_PASSWORD", "mailpass123");
  set(&c, "SMTP_STARTTLS", "false");
  int e, w;
  char *msg = check(&c, &e, &w);
  CHECK_CONTAINS(msg, "E TELEGRAM_CHAT_ID=my-chat is not a chat id");
  CHECK_CONTAINS(msg, "E WEBHOOK_URL is not an http(s) URL (value not shown");
  CHECK_CONTAINS(msg, "W SMTP_URL=smtp://bot:****@mail.example.com:25 with SMTP_STARTTLS=false sends "
                      "SMTP_PASSWORD unencrypted");
  CHECK_NOT_CONTAINS(msg, "XXXXsecretXXXX");
  CHECK_NOT_CONTAINS(msg, "mailpass123");
  free(msg);
  set(&c, "TELEGRAM_CHAT_ID", "@levbot_alerts");
  msg = check(&c, &e, &w);
  CHECK_CONTAINS(msg, "commands need the numeric chat id");
  free(msg);
  set(&c, "TELEGRAM_COMMANDS", "false");
  set(&c, "WEBHOOK_URL", "https://hooks.example.com/x");
  set(&c, "SMTP_STARTTLS", "true");
  msg = check(&c, &e, &w);
  CHECK_NOT_CONTAINS(msg, "TELEGRAM");
  CHECK_NOT_CONTAINS(msg, "WEBHOOK");
  CHECK_NOT_CONTAINS(msg, "SMTP");
  free(msg);
  lb_log_clear_secrets();
}

TEST(config_severity_words_are_the_only_ones_accepted) {
  lb_config c;
  lb_config_defaults(&c);
  lb_cfg_report rep;
  memset(&rep, 0, sizeof rep);
  CHECK_EQ(lb_config_set(&c, "TWILIO_MIN_SEVERITY", "urgent", &rep), LB_ECONFIG);
  CHECK(rep.n_errors == 1 && strstr(rep.errors[0], "info, warning, critical") != NULL);
  CHECK_STREQ(c.telegram_min_severity, "info");
  CHECK_STREQ(c.smtp_min_severity, "warning");
  CHECK_STREQ(c.twilio_min_severity, "critical");
}

typedef struct {
  tgstub tg;
  smtpstub smtp;
  twstub tw;
  hookstub hook;
} peers;

TEST(config_builds_every_channel_and_a_critical_alert_reaches_all_peers) {
  peers *p = calloc(1, sizeof *p);
  REQUIRE(tgstub_start(&p->tg, TOKEN));
  REQUIRE(smtpstub_start(&p->smtp, SMTP_PLAIN, NULL, NULL));
  REQUIRE(twstub_start(&p->tw, SID, AUTH));
  REQUIRE(hookstub_start(&p->hook));
  lb_config c;
  lb_config_defaults(&c);
  char v[256];
  set(&c, "TELEGRAM_BOT_TOKEN", TOKEN);
  set(&c, "TELEGRAM_CHAT_ID", "123456789");
  tgstub_base_url(&p->tg, v, sizeof v);
  set(&c, "TELEGRAM_API_URL", v);
  set(&c, "TELEGRAM_COMMANDS", "false");
  snprintf(v, sizeof v, "smtp://127.0.0.1:%d", p->smtp.port);
  set(&c, "SMTP_URL", v);
  set(&c, "SMTP_STARTTLS", "false");
  set(&c, "SMTP_FROM", "levbot <bot@example.com>");
  set(&c, "SMTP_TO", "me@example.com");
  set(&c, "TWILIO_ACCOUNT_SID", SID);
  set(&c, "TWILIO_AUTH_TOKEN", AUTH);
  set(&c, "TWILIO_FROM", "+15551234567");
  set(&c, "TWILIO_TO", "+447700900123, +15005550006");
  snprintf(v, sizeof v, "http://127.0.0.1:%d", p->tw.h.port);
  set(&c, "TWILIO_API_URL", v);
  snprintf(v, sizeof v, "http://127.0.0.1:%d/hook", p->hook.h.port);
  set(&c, "WEBHOOK_URL", v);
  set(&c, "WEBHOOK_MIN_SEVERITY", "warning");
  set(&c, "NOTIFY_QUEUE_SIZE", "32");
  set(&c, "NOTIFY_TIMEOUT_SECONDS", "5");
  int e, w;
  char *msg = check(&c, &e, &w);
  CHECK_EQ(e, 0);
  free(msg);

  tclock clk;
  tclock_set(&clk, T0);
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  o.clock = tclock_bind(&clk);
  o.poll_ms = 10;
  notify_queue *q;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_from_config(&c, &o, &q, &eb));
  REQUIRE_EQ(notify_queue_channel_count(q), 5);
  notify_stats st;
  notify_queue_stats(q, &st);
  const char *names[] = {"telegram", "email", "sms:+447700900123", "sms:+15005550006", "webhook"};
  notify_severity mins[] = {NOTIFY_INFO, NOTIFY_WARNING, NOTIFY_CRITICAL, NOTIFY_CRITICAL, NOTIFY_WARNING};
  for (int i = 0; i < 5; i++) {
    CHECK_STREQ(st.ch[i].name, names[i]);
    CHECK_EQ(st.ch[i].min_severity, mins[i]);
  }
  REQUIRE_OK(notify_queue_start(q, &eb));
  CHECK_EQ(notify_post_text(q, NOTIFY_INFO, "info only to telegram", ""), 1);
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_DB_DOWN);
  notify_set(ev.detail, "connection refused");
  CHECK_EQ(notify_post(q, &ev), 5);
  /* Telegram's default pace is one message a second per chat. */
  REQUIRE(wait_stat(q, 0, ST_DELIVERED, 1));
  sleep_ms(30);
  CHECK_EQ(tgstub_sent(&p->tg), 1);
  notify_queue_stats(q, &st);
  CHECK_EQ(st.ch[0].next_attempt_at, T0 + LB_MS_SECOND);
  tclock_advance(&clk, LB_MS_SECOND);
  notify_queue_kick(q);
  CHECK_OK(notify_queue_drain(q, WAIT_MS));
  CHECK_EQ(tgstub_sent(&p->tg), 2);
  CHECK_EQ(smtpstub_count(&p->smtp), 1);
  pthread_mutex_lock(&p->tw.h.mu);
  CHECK_EQ(p->tw.n, 2);
  CHECK_CONTAINS(p->tw.msgs[0].body, "CRITICAL Database down: connection refused");
  pthread_mutex_unlock(&p->tw.h.mu);
  pthread_mutex_lock(&p->hook.h.mu);
  CHECK_EQ(p->hook.n, 1);
  pthread_mutex_unlock(&p->hook.h.mu);
  notify_queue_free(q);
  tgstub_free(&p->tg);
  smtpstub_free(&p->smtp);
  twstub_free(&p->tw);
  hookstub_free(&p->hook);
  free(p);
  lb_log_clear_secrets();
}

TEST(config_daily_summary_can_be_turned_off) {
  hookstub hook;
  REQUIRE(hookstub_start(&hook));
  lb_config c;
  lb_config_defaults(&c);
  char v[128];
  snprintf(v, sizeof v, "http://127.0.0.1:%d/hook", hook.h.port);
  set(&c, "WEBHOOK_URL", v);
  set(&c, "NOTIFY_DAILY_SUMMARY", "false");
  fakectl f;
  fakectl_init(&f);
  tclock clk;
  tclock_set(&clk, T0);
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  o.clock = tclock_bind(&clk);
  o.poll_ms = 10;
  o.control = fakectl_iface(&f);
  notify_queue *q;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_from_config(&c, &o, &q, &eb));
  REQUIRE_OK(notify_queue_start(q, &eb));
  tclock_advance(&clk, LB_MS_DAY);
  notify_queue_kick(q);
  sleep_ms(40);
  pthread_mutex_lock(&f.mu);
  CHECK_EQ(f.summaries, 0);
  pthread_mutex_unlock(&f.mu);
  notify_queue_free(q);
  hookstub_free(&hook);
  lb_log_clear_secrets();
}
