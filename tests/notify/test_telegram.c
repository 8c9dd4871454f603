/* test_telegram.c -- the queue against a Telegram Bot API stub: delivery,
 * 429 with retry_after, an outage with nothing lost or reordered, commands
 * by long polling from the configured chat only. */
#include <stdlib.h>

#include "core/log.h"
#include "stubs.h"
#include "unit.h"

#define TOKEN "123456789:AAEtestTOKENfor-the-stub_0123456789"
#define CHAT "123456789"
#define CHAT_ID 123456789LL

typedef struct {
  tgstub s;
  tclock clk;
  fakectl f;
  mempersist mp;
  notify_queue *q;
} tgfix;

static void tg_setup(tgfix *x, bool commands, bool persist) {
  memset(x, 0, sizeof *x);
  REQUIRE(tgstub_start(&x->s, TOKEN));
  tclock_set(&x->clk, T0);
  fakectl_init(&x->f);
  mempersist_init(&x->mp);
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  o.clock = tclock_bind(&x->clk);
  o.poll_ms = 10;
  o.control = fakectl_iface(&x->f);
  o.control.daily_summary = NULL;
  if (persist) o.persist = mempersist_iface(&x->mp);
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_new(&o, &x->q, &eb));
  notify_telegram_cfg c;
  notify_telegram_cfg_default(&c);
  c.opts.min_interval_ms = 0;
  c.opts.timeout_ms = 3000;
  tgstub_base_url(&x->s, c.api_url, sizeof c.api_url);
  notify_set(c.token, TOKEN);
  notify_set(c.chat_id, CHAT);
  c.commands = commands;
  c.poll_timeout_s = 1;
  REQUIRE_OK(notify_queue_add_telegram(x->q, &c, &eb));
}

static void tg_start(tgfix *x) {
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_start(x->q, &eb));
}

static void tg_teardown(tgfix *x) {
  notify_queue_free(x->q);
  tgstub_free(&x->s);
  mempersist_close(&x->mp);
}

typedef struct {
  tgstub *s;
  int n;
} sent_wait;
static bool sent_reached(void *c) {
  sent_wait *w = c;
  return tgstub_sent(w->s) >= w->n;
}
static bool wait_sent(tgstub *s, int n) {
  sent_wait w = {s, n};
  return wait_for(sent_reached, &w, WAIT_MS);
}

static int attempts(tgstub *s) {
  pthread_mutex_lock(&s->h.mu);
  int n = s->attempts;
  pthread_mutex_unlock(&s->h.mu);
  return n;
}

TEST(telegram_delivers_the_rendered_html_to_the_chat) {
  tgfix x;
  tg_setup(&x, false, false);
  tg_start(&x);
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_EXIT);
  notify_set(ev.symbol, "BTC<USDT>");
  ev.side = LB_ACTION_LONG;
  notify_set(ev.reason, "stop-loss & \"gap\"");
  CHECK_EQ(notify_post(x.q, &ev), 1);
  REQUIRE(wait_sent(&x.s, 1));
  ev.time = T0; /* notify_post stamps the queue's clock */
  lb_buf want;
  lb_buf_init(&want);
  notify_render_telegram(&ev, &want);
  char *got = tgstub_text(&x.s, 0);
  CHECK_STREQ(got, want.data);
  CHECK_CONTAINS(got, "BTC&lt;USDT&gt; closed: stop-loss &amp; &quot;gap&quot;");
  CHECK_EQ(x.s.chats[0], CHAT_ID);
  CHECK_STREQ(x.s.parse_mode, "HTML");
  CHECK_EQ(x.s.html_errors, 0);
  CHECK(wait_stat(x.q, 0, ST_DELIVERED, 1));
  free(got);
  lb_buf_free(&want);
  tg_teardown(&x);
}

TEST(telegram_429_waits_exactly_retry_after_then_succeeds) {
  tgfix x;
  tg_setup(&x, false, false);
  tgstub_script(&x.s, 429, 7);
  tg_start(&x);
  notify_post_text(x.q, NOTIFY_WARNING, "Hello", "after the limit");
  REQUIRE(wait_stat(x.q, 0, ST_RETRIES, 1));
  notify_stats st;
  notify_queue_stats(x.q, &st);
  CHECK_EQ(st.ch[0].next_attempt_at, T0 + 7000);
  CHECK_CONTAINS(st.ch[0].last_error, "Too Many Requests: retry after 7");
  tclock_advance(&x.clk, 6999);
  notify_queue_kick(x.q);
  sleep_ms(60); /* the worker had its chance: it must still wait */
  CHECK_EQ(attempts(&x.s), 1);
  CHECK_EQ(tgstub_sent(&x.s), 0);
  tclock_advance(&x.clk, 1);
  notify_queue_kick(x.q);
  REQUIRE(wait_sent(&x.s, 1));
  CHECK_EQ(attempts(&x.s), 2);
  char *t = tgstub_text(&x.s, 0);
  CHECK_CONTAINS(t, "<b>Hello</b>\nafter the limit");
  free(t);
  tg_teardown(&x);
}

TEST(telegram_outage_then_recovery_delivers_everything_in_order) {
  tgfix x;
  tg_setup(&x, false, false);
  hstub_stop(&x.s.h); /* connection refused from now on */
  tg_start(&x);
  char title[32];
  for (int i = 1; i <= 6; i++) {
    snprintf(title, sizeof title, "message %d", i);
    notify_post_text(x.q, i == 3 ? NOTIFY_CRITICAL : NOTIFY_INFO, title, "");
  }
  /* Several failed attempts with growing back-off while it is down. */
  for (int k = 1; k <= 3; k++) {
    REQUIRE(wait_stat(x.q, 0, ST_RETRIES, k));
    notify_stats st;
    notify_queue_stats(x.q, &st);
    lb_ms now = (lb_ms)atomic_load(&x.clk.now);
    CHECK_EQ(st.ch[0].next_attempt_at - now, LB_MS_SECOND << (k - 1)); /* 1 s, 2 s, 4 s */
    CHECK_EQ(st.ch[0].queued, 6);
    tclock_advance(&x.clk, LB_MS_SECOND << (k - 1));
    notify_queue_kick(x.q);
  }
  REQUIRE(wait_stat(x.q, 0, ST_RETRIES, 4));
  REQUIRE(tgstub_restart(&x.s));
  tclock_advance(&x.clk, 8 * LB_MS_SECOND);
  notify_queue_kick(x.q);
  REQUIRE(wait_sent(&x.s, 6));
  for (int i = 0; i < 6; i++) {
    char *t = tgstub_text(&x.s, i);
    snprintf(title, sizeof title, "message %d</b>", i + 1);
    CHECK_CONTAINS(t, title);
    free(t);
  }
  CHECK(wait_stat(x.q, 0, ST_QUEUED, 0));
  CHECK_EQ(get_stat(x.q, 0, ST_DROPPED), 0);
  CHECK_EQ(get_stat(x.q, 0, ST_DELIVERED), 6);
  CHECK_OK(notify_queue_drain(x.q, 1000));
  tg_teardown(&x);
}

TEST(telegram_commands_from_a_foreign_chat_are_ignored_and_logged_once) {
  tgfix x;
  tg_setup(&x, true, false);
  log_capture_start();
  tg_start(&x);
  tgstub_push_update(&x.s, 999, T0, "/stop");
  tgstub_push_update(&x.s, 999, T0, "/forceexit");
  tgstub_push_update(&x.s, CHAT_ID, T0, "/status");
  REQUIRE(wait_sent(&x.s, 1));
  REQUIRE(wait_stat(x.q, 0, ST_FOREIGN, 2));
  notify_queue_free(x.q);
  x.q = NULL;
  char *log = log_capture_end();
  CHECK(!x.f.stopped);
  CHECK_EQ(x.f.forceexits, 0);
  CHECK_EQ(tgstub_sent(&x.s), 1); /* only the answer to /status */
  char *t = tgstub_text(&x.s, 0);
  CHECK_CONTAINS(t, "<b>Status</b>");
  CHECK_EQ(x.s.chats[0], CHAT_ID);
  free(t);
  CHECK_EQ(count_substr(log, "ignoring messages from chat 999"), 1);
  CHECK_NOT_CONTAINS(log, "AAEtestTOKEN");
  free(log);
  tg_teardown(&x);
}

TEST(telegram_every_command_is_answered_end_to_end) {
  tgfix x;
  tg_setup(&x, true, false);
  tg_start(&x);
  const char *cmds[] = {"/status", "/trades 2", "/profit", "/performance", "/balance",
                        "/daily 3", "/weekly", "/monthly", "/health", "/show_config",
                        "/logs 2", "/version", "/stopentry", "/start", "/forceexit",
                        "/forceexit confirm", "/help", "/stop"};
  const char *expect[] = {"State: scanning", "#2 BTCUSDT", "profit report", "performance report",
                          "balance report", "3 days", "4 weeks", "3 months", "health report",
                          "MAX_LEVERAGE=3", "line 2", "levbot 0.1.0", "New entries paused",
                          "New entries allowed", "/forceexit confirm</code>",
                          "Closed LONG BTCUSDT at market.", "/show_config",
                          "exchange stops stay"};
  int n = (int)(sizeof cmds / sizeof cmds[0]);
  for (int i = 0; i < n; i++) tgstub_push_update(&x.s, CHAT_ID, T0, cmds[i]);
  REQUIRE(wait_sent(&x.s, n));
  for (int i = 0; i < n; i++) {
    char *t = tgstub_text(&x.s, i);
    CHECK_CONTAINS(t, expect[i]);
    free(t);
  }
  CHECK_EQ(x.s.html_errors, 0);
  CHECK_EQ(x.f.forceexits, 1);
  CHECK(x.f.stopped);
  CHECK_EQ(get_stat(x.q, 0, ST_COMMANDS), n);
  /* Every update was confirmed: the next poll starts after the last. */
  pthread_mutex_lock(&x.s.h.mu);
  long long want_offset = x.s.next_update_id;
  pthread_mutex_unlock(&x.s.h.mu);
  for (int i = 0; i < WAIT_MS / 10; i++) {
    pthread_mutex_lock(&x.s.h.mu);
    long long got = x.s.last_offset;
    pthread_mutex_unlock(&x.s.h.mu);
    if (got == want_offset) break;
    sleep_ms(10);
  }
  CHECK_EQ(x.s.last_offset, want_offset);
  tg_teardown(&x);
}

TEST(telegram_commands_queued_while_down_are_not_replayed_when_stale) {
  tgfix x;
  tg_setup(&x, true, false);
  tg_start(&x);
  tgstub_push_update(&x.s, CHAT_ID, T0 - 10 * LB_MS_MINUTE, "/stop");
  tgstub_push_update(&x.s, CHAT_ID, T0 - 5 * LB_MS_SECOND, "/version");
  REQUIRE(wait_sent(&x.s, 1));
  char *t = tgstub_text(&x.s, 0);
  CHECK_CONTAINS(t, "levbot 0.1.0");
  free(t);
  CHECK(!x.f.stopped);
  CHECK_EQ(get_stat(x.q, 0, ST_COMMANDS), 1);
  tg_teardown(&x);
}

TEST(telegram_pause_command_reaches_the_bot_while_messages_flow) {
  /* What the engine test at integration builds on: /stopentry arrives
   * through getUpdates and flips the bot's pause flag through
   * notify_control while notifications keep going out. */
  tgfix x;
  tg_setup(&x, true, false);
  tg_start(&x);
  notify_post_text(x.q, NOTIFY_INFO, "before", "");
  tgstub_push_update(&x.s, CHAT_ID, T0, "/stopentry");
  bool paused = false;
  for (int i = 0; i < WAIT_MS / 5 && !paused; i++) {
    pthread_mutex_lock(&x.f.mu);
    paused = x.f.paused;
    pthread_mutex_unlock(&x.f.mu);
    if (!paused) sleep_ms(5);
  }
  CHECK(paused);
  notify_post_text(x.q, NOTIFY_INFO, "after", "");
  REQUIRE(wait_sent(&x.s, 3));
  tg_teardown(&x);
}

TEST(telegram_bad_token_is_given_up_and_never_logged) {
  tgfix x;
  tg_setup(&x, false, false);
  notify_queue_free(x.q);
  /* A queue whose token the stub does not know. */
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  o.clock = tclock_bind(&x.clk);
  o.poll_ms = 10;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_new(&o, &x.q, &eb));
  notify_telegram_cfg c;
  notify_telegram_cfg_default(&c);
  c.opts.min_interval_ms = 0;
  tgstub_base_url(&x.s, c.api_url, sizeof c.api_url);
  notify_set(c.token, "987654321:AAwrongTOKENwrongTOKENwrong");
  notify_set(c.chat_id, CHAT);
  c.commands = false;
  REQUIRE_OK(notify_queue_add_telegram(x.q, &c, &eb));
  log_capture_start();
  REQUIRE_OK(notify_queue_start(x.q, &eb));
  notify_post_text(x.q, NOTIFY_INFO, "one", "");
  notify_post_text(x.q, NOTIFY_INFO, "two", "");
  REQUIRE(wait_stat(x.q, 0, ST_FAILED, 2)); /* 401 is final: no retry storm */
  notify_stats st;
  notify_queue_stats(x.q, &st);
  CHECK_EQ(st.ch[0].retries, 0);
  CHECK_CONTAINS(st.ch[0].last_error, "HTTP 401");
  CHECK_NOT_CONTAINS(st.ch[0].last_error, "AAwrongTOKEN");
  notify_queue_free(x.q);
  x.q = NULL;
  char *log = log_capture_end();
  CHECK_CONTAINS(log, "given up");
  CHECK_NOT_CONTAINS(log, "AAwrongTOKEN");
  free(log);
  tg_teardown(&x);
}

TEST(telegram_config_is_validated_naming_the_field) {
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  notify_queue *q;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_new(&o, &q, &eb));
  notify_telegram_cfg c;
  notify_telegram_cfg_default(&c);
  notify_set(c.token, "not a token with spaces");
  notify_set(c.chat_id, CHAT);
  CHECK_EQ(notify_queue_add_telegram(q, &c, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "token");
  CHECK_NOT_CONTAINS(eb.msg, "spaces");
  notify_set(c.token, TOKEN);
  notify_set(c.chat_id, "12ab");
  CHECK_EQ(notify_queue_add_telegram(q, &c, &eb), LB_ECONFIG);
  CHECK_CONTAINS(eb.msg, "chat id \"12ab\"");
  notify_set(c.chat_id, "@levbot_alerts");
  CHECK_EQ(notify_queue_add_telegram(q, &c, &eb), LB_ECONFIG); /* commands need a number */
  c.commands = false;
  CHECK_OK(notify_queue_add_telegram(q, &c, &eb));
  CHECK_EQ(notify_queue_add_telegram(q, &c, &eb), LB_EEXISTS);
  notify_queue_free(q);
}
