/* test_email.c -- the email channel against an SMTP server stub: the
 * message received parses as RFC 5322 with the right recipients, over a
 * plain session, STARTTLS with AUTH, and implicit TLS; a server without
 * STARTTLS never sees the password; 5xx is final, 4xx retried. */
#include <stdlib.h>

#include "core/log.h"
#include "stubs.h"
#include "unit.h"

#define PASSWORD "app-password-0123456789"

typedef struct {
  smtpstub s;
  tclock clk;
  notify_queue *q;
} mailfix;

static void mail_setup(mailfix *x, smtp_mode mode, const char *user, const char *pass,
                       bool starttls, bool use_ca) {
  memset(x, 0, sizeof *x);
  REQUIRE(smtpstub_start(&x->s, mode, "alerts", PASSWORD));
  if (!user) x->s.user[0] = '\0'; /* the server does not ask for AUTH */
  tclock_set(&x->clk, T0);
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  o.clock = tclock_bind(&x->clk);
  o.poll_ms = 10;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_new(&o, &x->q, &eb));
  notify_email_cfg c;
  notify_email_cfg_default(&c);
  c.opts.min_severity = NOTIFY_INFO;
  c.opts.timeout_ms = 5000;
  snprintf(c.url, sizeof c.url, "%s://127.0.0.1:%d", mode == SMTP_IMPLICIT ? "smtps" : "smtp",
           x->s.port);
  notify_set(c.user, user ? user : "");
  notify_set(c.password, pass ? pass : "");
  notify_set(c.from, "levbot <bot@example.com>");
  notify_set(c.to, "me@example.com, Ops Team <ops@example.org>");
  c.starttls = starttls;
  if (use_ca) notify_set(c.ca_file, x->s.ca_path);
  REQUIRE_OK(notify_queue_add_email(x->q, &c, &eb));
  REQUIRE_OK(notify_queue_start(x->q, &eb));
}

static void mail_teardown(mailfix *x) {
  notify_queue_free(x->q);
  smtpstub_free(&x->s);
}

typedef struct {
  smtpstub *s;
  int n;
} mail_wait;
static bool mail_reached(void *c) {
  mail_wait *w = c;
  return smtpstub_count(w->s) >= w->n;
}
static bool wait_mail(smtpstub *s, int n) {
  mail_wait w = {s, n};
  return wait_for(mail_reached, &w, WAIT_MS);
}

static void breaker_event(notify_event *ev) {
  notify_event_init(ev, NOTIFY_EV_BREAKER_TRIPPED);
  ev->time = T0;
  notify_set(ev->breaker, "daily_loss");
  notify_set(ev->detail, "Daily loss 6.2% >= limit 6%\n.leading dot survives dot-stuffing");
  ev->resume_at = T0 + 12 * LB_MS_HOUR;
}

/* The checks every received message must pass. */
static void check_message(const smtpmsg *m) {
  char err[200], v[512];
  CHECK_EQ(strncmp(m->from, "<bot@example.com>", 17), 0);
  REQUIRE_EQ(m->n_rcpt, 2);
  CHECK_STREQ(m->rcpt[0], "<me@example.com>");
  CHECK_STREQ(m->rcpt[1], "<ops@example.org>");
  const char *why = rfc5322_check(m->data, err, sizeof err);
  CHECK(why == NULL);
  if (why) printf("    %s\n", why);
  CHECK(rfc5322_header(m->data, "To", v, sizeof v));
  CHECK_STREQ(v, "me@example.com, Ops Team <ops@example.org>");
  CHECK(rfc5322_header(m->data, "From", v, sizeof v));
  CHECK_STREQ(v, "levbot <bot@example.com>");
  CHECK(rfc5322_header(m->data, "Subject", v, sizeof v));
  CHECK_STREQ(v, "[levbot] WARNING Circuit breaker tripped: daily_loss");
  CHECK(rfc5322_header(m->data, "Date", v, sizeof v));
  CHECK_STREQ(v, "Fri, 01 Mar 2024 12:00:00 +0000");
  CHECK(rfc5322_header(m->data, "Message-ID", v, sizeof v));
  CHECK(v[0] == '<' && strstr(v, "@example.com>") != NULL);
  CHECK_STREQ(rfc5322_body(m->data),
              "WARNING Circuit breaker tripped: daily_loss\r\nDaily loss 6.2% >= limit 6%\r\n"
              ".leading dot survives dot-stuffing\r\n"
              "New entries paused until 2024-03-02 00:00:00 UTC\r\n2024-03-01 12:00:00 UTC\r\n");
}

TEST(email_plain_session_delivers_an_rfc5322_message_to_every_recipient) {
  mailfix x;
  mail_setup(&x, SMTP_PLAIN, NULL, NULL, false, false);
  notify_event ev;
  breaker_event(&ev);
  CHECK_EQ(notify_post(x.q, &ev), 1);
  REQUIRE(wait_mail(&x.s, 1));
  check_message(&x.s.msgs[0]);
  CHECK(!x.s.msgs[0].tls);
  CHECK(wait_stat(x.q, 0, ST_DELIVERED, 1));
  mail_teardown(&x);
}

TEST(email_starttls_with_login_delivers_over_tls) {
  mailfix x;
  mail_setup(&x, SMTP_STARTTLS, "alerts", PASSWORD, true, true);
  notify_event ev;
  breaker_event(&ev);
  notify_post(x.q, &ev);
  REQUIRE(wait_mail(&x.s, 1));
  check_message(&x.s.msgs[0]);
  CHECK(x.s.msgs[0].tls);
  CHECK_STREQ(x.s.msgs[0].user, "alerts");
  CHECK_EQ(x.s.auth_failures, 0);
  mail_teardown(&x);
}

TEST(email_implicit_tls_smtps_delivers) {
  mailfix x;
  mail_setup(&x, SMTP_IMPLICIT, "alerts", PASSWORD, true, true);
  notify_event ev;
  breaker_event(&ev);
  notify_post(x.q, &ev);
  REQUIRE(wait_mail(&x.s, 1));
  check_message(&x.s.msgs[0]);
  CHECK(x.s.msgs[0].tls);
  mail_teardown(&x);
}

TEST(email_server_without_starttls_never_sees_the_password) {
  mailfix x;
  mail_setup(&x, SMTP_PLAIN, "alerts", PASSWORD, true, false);
  notify_event ev;
  breaker_event(&ev);
  notify_post(x.q, &ev);
  REQUIRE(wait_stat(x.q, 0, ST_RETRIES, 1));
  CHECK_EQ(smtpstub_count(&x.s), 0);
  CHECK_EQ(x.s.auth_failures, 0); /* no AUTH was even tried */
  notify_stats st;
  notify_queue_stats(x.q, &st);
  CHECK_NOT_CONTAINS(st.ch[0].last_error, PASSWORD);
  mail_teardown(&x);
}

TEST(email_wrong_password_is_given_up_without_retrying) {
  mailfix x;
  log_capture_start();
  mail_setup(&x, SMTP_STARTTLS, "alerts", "wrong-password-999", true, true);
  notify_event ev;
  breaker_event(&ev);
  notify_post(x.q, &ev);
  REQUIRE(wait_stat(x.q, 0, ST_FAILED, 1));
  CHECK_EQ(get_stat(x.q, 0, ST_RETRIES), 0);
  CHECK(x.s.auth_failures >= 1);
  CHECK_EQ(smtpstub_count(&x.s), 0);
  notify_queue_free(x.q);
  x.q = NULL;
  char *log = log_capture_end();
  CHECK_NOT_CONTAINS(log, "wrong-password-999");
  free(log);
  mail_teardown(&x);
}

TEST(email_temporary_refusal_is_retried_after_backoff) {
  mailfix x;
  mail_setup(&x, SMTP_PLAIN, NULL, NULL, false, false);
  pthread_mutex_lock(&x.s.mu);
  x.s.fail_mail_from = 1; /* 451 once */
  pthread_mutex_unlock(&x.s.mu);
  notify_event ev;
  breaker_event(&ev);
  notify_post(x.q, &ev);
  REQUIRE(wait_stat(x.q, 0, ST_RETRIES, 1));
  CHECK_EQ(smtpstub_count(&x.s), 0);
  tclock_advance(&x.clk, LB_MS_SECOND);
  notify_queue_kick(x.q);
  REQUIRE(wait_mail(&x.s, 1));
  check_message(&x.s.msgs[0]);
  mail_teardown(&x);
}

TEST(email_config_is_validated_naming_the_field) {
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  notify_queue *q;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_new(&o, &q, &eb));
  notify_email_cfg c;
  notify_email_cfg_default(&c);
  notify_set(c.url, "http://mail.example.com");
  notify_set(c.from, "bot@example.com");
  notify_set(c.to, "me@example.com");
  CHECK_EQ(notify_queue_add_email(q, &c, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "URL");
  notify_set(c.url, "smtps://me:secretpw@mail.example.com:465");
  notify_set(c.to, "me@example.com, not an address");
  CHECK_EQ(notify_queue_add_email(q, &c, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "\"not an address\"");
  notify_set(c.to, "me@example.com");
  notify_set(c.from, "bot@example.com\r\nBcc: victim@example.com");
  CHECK_EQ(notify_queue_add_email(q, &c, &eb), LB_ECONFIG); /* no header injection */
  notify_set(c.url, "ftp://me:secretpw@mail.example.com");
  CHECK_EQ(notify_queue_add_email(q, &c, &eb), LB_ECONFIG);
  CHECK_NOT_CONTAINS(eb.msg, "secretpw");
  notify_set(c.url, "smtp://mail.example.com:587");
  notify_set(c.from, "bot@example.com");
  notify_set(c.password, "pw-without-user");
  CHECK_EQ(notify_queue_add_email(q, &c, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "without a user");
  notify_queue_free(q);
}
