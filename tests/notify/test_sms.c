/* test_sms.c -- the SMS channel against a Twilio Messages API stub that
 * checks basic auth and the form fields the way Twilio does. */
#include <stdlib.h>

#include "core/log.h"
#include "stubs.h"
#include "unit.h"

#define SID "AC0123456789abcdef0123456789abcdef"
#define AUTH "twilio-auth-token-0123456789abcdef"

typedef struct {
  twstub s;
  tclock clk;
  notify_queue *q;
} smsfix;

static void sms_setup(smsfix *x, const char *token, const char *from, int n_to) {
  memset(x, 0, sizeof *x);
  REQUIRE(twstub_start(&x->s, SID, AUTH));
  tclock_set(&x->clk, T0);
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  o.clock = tclock_bind(&x->clk);
  o.poll_ms = 10;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_new(&o, &x->q, &eb));
  const char *to[] = {"+447700900123", "+15005550006"};
  for (int i = 0; i < n_to; i++) {
    notify_sms_cfg c;
    notify_sms_cfg_default(&c);
    c.opts.min_interval_ms = 0;
    snprintf(c.api_url, sizeof c.api_url, "http://127.0.0.1:%d/", x->s.h.port);
    notify_set(c.account_sid, SID);
    notify_set(c.auth_token, token);
    notify_set(c.from, from);
    notify_set(c.to, to[i]);
    REQUIRE_OK(notify_queue_add_sms(x->q, &c, &eb));
  }
  REQUIRE_OK(notify_queue_start(x->q, &eb));
}

static void sms_teardown(smsfix *x) {
  notify_queue_free(x->q);
  twstub_free(&x->s);
}

static int count(twstub *s) {
  pthread_mutex_lock(&s->h.mu);
  int n = s->n;
  pthread_mutex_unlock(&s->h.mu);
  return n;
}

static void db_down(notify_event *ev) {
  notify_event_init(ev, NOTIFY_EV_DB_DOWN);
  ev->time = T0;
  notify_set(ev->detail, "postgres: connection refused & retrying");
}

TEST(sms_sends_form_fields_with_basic_auth_to_every_number) {
  smsfix x;
  sms_setup(&x, AUTH, "+15551234567", 2);
  notify_event ev;
  db_down(&ev);
  CHECK_EQ(notify_post(x.q, &ev), 2);
  REQUIRE(wait_stat(x.q, 0, ST_DELIVERED, 1));
  REQUIRE(wait_stat(x.q, 1, ST_DELIVERED, 1));
  REQUIRE_EQ(count(&x.s), 2);
  const char *want = "[levbot] CRITICAL Database down: postgres: connection refused & retrying";
  bool seen[2] = {false, false};
  for (int i = 0; i < 2; i++) {
    twmsg *m = &x.s.msgs[i];
    CHECK_STREQ(m->from, "+15551234567");
    CHECK_STREQ(m->body, want); /* "&" and spaces survived form encoding */
    if (strcmp(m->to, "+447700900123") == 0) seen[0] = true;
    if (strcmp(m->to, "+15005550006") == 0) seen[1] = true;
  }
  CHECK(seen[0] && seen[1]);
  CHECK_EQ(x.s.auth_failures, 0);
  notify_stats st;
  notify_queue_stats(x.q, &st);
  CHECK_STREQ(st.ch[0].name, "sms:+447700900123");
  sms_teardown(&x);
}

TEST(sms_gets_only_critical_by_default) {
  smsfix x;
  sms_setup(&x, AUTH, "+15551234567", 1);
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_BREAKER_TRIPPED); /* warning */
  CHECK_EQ(notify_post(x.q, &ev), 0);
  db_down(&ev);
  CHECK_EQ(notify_post(x.q, &ev), 1);
  REQUIRE(wait_stat(x.q, 0, ST_DELIVERED, 1));
  CHECK_EQ(count(&x.s), 1);
  CHECK_EQ(x.s.h.requests, 1);
  sms_teardown(&x);
}

TEST(sms_messaging_service_sender_uses_its_own_field) {
  smsfix x;
  sms_setup(&x, AUTH, "MG0123456789abcdef0123456789abcdef", 1);
  notify_event ev;
  db_down(&ev);
  notify_post(x.q, &ev);
  REQUIRE(wait_stat(x.q, 0, ST_DELIVERED, 1));
  CHECK_STREQ(x.s.msgs[0].service, "MG0123456789abcdef0123456789abcdef");
  CHECK_STREQ(x.s.msgs[0].from, "");
  sms_teardown(&x);
}

TEST(sms_wrong_token_is_given_up_with_twilios_reason) {
  smsfix x;
  log_capture_start();
  sms_setup(&x, "not-the-right-token-42", "+15551234567", 1);
  notify_event ev;
  db_down(&ev);
  notify_post(x.q, &ev);
  REQUIRE(wait_stat(x.q, 0, ST_FAILED, 1));
  notify_stats st;
  notify_queue_stats(x.q, &st);
  CHECK_CONTAINS(st.ch[0].last_error, "HTTP 401: Twilio error 20003: Authenticate");
  CHECK_EQ(st.ch[0].retries, 0);
  notify_queue_free(x.q);
  x.q = NULL;
  char *log = log_capture_end();
  CHECK_NOT_CONTAINS(log, "not-the-right-token-42");
  free(log);
  sms_teardown(&x);
}

TEST(sms_429_honours_retry_after) {
  smsfix x;
  sms_setup(&x, AUTH, "+15551234567", 1);
  pthread_mutex_lock(&x.s.h.mu);
  x.s.script[x.s.n_script++] = 429; /* with Retry-After: 2 */
  pthread_mutex_unlock(&x.s.h.mu);
  notify_event ev;
  db_down(&ev);
  notify_post(x.q, &ev);
  REQUIRE(wait_stat(x.q, 0, ST_RETRIES, 1));
  notify_stats st;
  notify_queue_stats(x.q, &st);
  CHECK_EQ(st.ch[0].next_attempt_at, T0 + 2000);
  tclock_advance(&x.clk, 2000);
  notify_queue_kick(x.q);
  REQUIRE(wait_stat(x.q, 0, ST_DELIVERED, 1));
  CHECK_EQ(count(&x.s), 1);
  sms_teardown(&x);
}

TEST(sms_config_is_validated_naming_the_field) {
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  notify_queue *q;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_new(&o, &q, &eb));
  notify_sms_cfg c;
  notify_sms_cfg_default(&c);
  notify_set(c.account_sid, SID);
  notify_set(c.auth_token, AUTH);
  notify_set(c.from, "+15551234567");
  notify_set(c.to, "07700 900123");
  CHECK_EQ(notify_queue_add_sms(q, &c, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "recipient \"07700 900123\"");
  notify_set(c.to, "+447700900123");
  notify_set(c.from, "Levbot");
  CHECK_EQ(notify_queue_add_sms(q, &c, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "sender \"Levbot\"");
  notify_set(c.from, "+15551234567");
  notify_set(c.auth_token, "");
  CHECK_EQ(notify_queue_add_sms(q, &c, &eb), LB_ECONFIG);
  notify_queue_free(q);
}
