/* test_queue.c -- the queue's promises (notify.h invariants 1-6) over the
 * webhook channel and a stalling peer: order through an outage, drops of
 * the least important first and never of critical, critical messages
 * across a restart, a stalled channel holding up neither notify_post() nor
 * the other channels, per-channel severities, the daily summary. */
#include <jansson.h>
#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "stubs.h"
#include "unit.h"

#define TOKEN "123456789:AAEtestTOKENfor-the-stub_0123456789"

typedef struct {
  hookstub s;
  tclock clk;
  mempersist mp;
  fakectl f;
  notify_queue *q;
} hookfix;

static void hook_queue(hookfix *x, size_t capacity, bool persist, bool summary,
                       notify_severity min) {
  tclock_set(&x->clk, T0);
  fakectl_init(&x->f);
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  o.clock = tclock_bind(&x->clk);
  o.poll_ms = 10;
  o.capacity = capacity;
  if (persist) o.persist = mempersist_iface(&x->mp);
  if (summary) o.control.daily_summary = fakectl_iface(&x->f).daily_summary;
  o.control.ctx = &x->f;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_new(&o, &x->q, &eb));
  notify_webhook_cfg c;
  notify_webhook_cfg_default(&c);
  c.opts.min_severity = min;
  c.opts.timeout_ms = 3000;
  snprintf(c.url, sizeof c.url, "http://127.0.0.1:%d/hooks/abc123secretpath", x->s.h.port);
  notify_set(c.bearer, "hook-bearer-token-0123");
  REQUIRE_OK(notify_queue_add_webhook(x->q, &c, &eb));
}

static void hook_setup(hookfix *x, size_t capacity, bool persist) {
  memset(x, 0, sizeof *x);
  REQUIRE(hookstub_start(&x->s));
  mempersist_init(&x->mp);
  hook_queue(x, capacity, persist, false, NOTIFY_INFO);
}

static void start(notify_queue *q) {
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_start(q, &eb));
}

static void hook_teardown(hookfix *x) {
  notify_queue_free(x->q);
  hookstub_free(&x->s);
  mempersist_close(&x->mp);
}

static int hook_count(hookstub *s) {
  pthread_mutex_lock(&s->h.mu);
  int n = s->n;
  pthread_mutex_unlock(&s->h.mu);
  return n;
}

typedef struct {
  hookstub *s;
  int n;
} hw;
static bool hook_reached(void *c) { return hook_count(((hw *)c)->s) >= ((hw *)c)->n; }
static bool wait_hooks(hookstub *s, int n) {
  hw w = {s, n};
  return wait_for(hook_reached, &w, WAIT_MS);
}

/* The title of the i-th received event ("" if none). */
static void hook_title(hookstub *s, int i, char *out, size_t n) {
  pthread_mutex_lock(&s->h.mu);
  json_t *o = i < s->n ? json_loads(s->bodies[i], 0, NULL) : NULL;
  pthread_mutex_unlock(&s->h.mu);
  const char *t = json_string_value(json_object_get(json_object_get(o, "event"), "title"));
  snprintf(out, n, "%s", t ? t : "");
  json_decref(o);
}

static void post_titled(notify_queue *q, notify_severity sev, const char *title) {
  notify_post_text(q, sev, title, "");
}

TEST(webhook_posts_json_with_the_bearer_token) {
  hookfix x;
  hook_setup(&x, 16, false);
  start(x.q);
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_STOP_MOVED);
  notify_set(ev.symbol, "ETHUSDT");
  ev.side = LB_ACTION_SHORT;
  ev.stop = 342050000000;
  notify_post(x.q, &ev);
  REQUIRE(wait_hooks(&x.s, 1));
  json_t *o = json_loads(x.s.bodies[0], 0, NULL);
  REQUIRE(o != NULL);
  CHECK_CONTAINS(json_string_value(json_object_get(o, "text")), "SHORT ETHUSDT stop moved\nStop: 3420.5\n");
  CHECK_STREQ(json_string_value(json_object_get(o, "kind")), "stop_moved");
  CHECK_STREQ(json_string_value(json_object_get(json_object_get(o, "event"), "stop")), "3420.5");
  CHECK_STREQ(x.s.auth[0], "Bearer hook-bearer-token-0123");
  json_decref(o);
  hook_teardown(&x);
}

TEST(webhook_down_for_a_while_then_up_delivers_all_in_order) {
  hookfix x;
  hook_setup(&x, 64, false);
  for (int i = 0; i < 4; i++) hookstub_script(&x.s, 503, 0);
  start(x.q);
  char t[32];
  for (int i = 1; i <= 8; i++) {
    snprintf(t, sizeof t, "event %d", i);
    post_titled(x.q, i % 3 ? NOTIFY_INFO : NOTIFY_WARNING, t);
  }
  for (int k = 1; k <= 4; k++) {
    REQUIRE(wait_stat(x.q, 0, ST_RETRIES, k));
    tclock_advance(&x.clk, 5 * LB_MS_MINUTE); /* past any back-off */
    notify_queue_kick(x.q);
  }
  REQUIRE(wait_hooks(&x.s, 8));
  for (int i = 0; i < 8; i++) {
    char want[32];
    hook_title(&x.s, i, t, sizeof t);
    snprintf(want, sizeof want, "event %d", i + 1);
    CHECK_STREQ(t, want);
  }
  CHECK_EQ(x.s.attempts, 12); /* 4 refusals + 8 deliveries: nothing sent twice */
  CHECK_EQ(get_stat(x.q, 0, ST_DROPPED), 0);
  hook_teardown(&x);
}

TEST(webhook_4xx_gives_up_that_message_and_goes_on) {
  hookfix x;
  hook_setup(&x, 16, false);
  hookstub_script(&x.s, 400, 0);
  start(x.q);
  post_titled(x.q, NOTIFY_INFO, "rejected");
  post_titled(x.q, NOTIFY_INFO, "accepted");
  REQUIRE(wait_hooks(&x.s, 1));
  char t[32];
  hook_title(&x.s, 0, t, sizeof t);
  CHECK_STREQ(t, "accepted");
  CHECK_EQ(get_stat(x.q, 0, ST_FAILED), 1);
  CHECK_EQ(get_stat(x.q, 0, ST_RETRIES), 0);
  hook_teardown(&x);
}

TEST(webhook_429_honours_retry_after) {
  hookfix x;
  hook_setup(&x, 16, false);
  hookstub_script(&x.s, 429, 30);
  start(x.q);
  post_titled(x.q, NOTIFY_INFO, "slow down");
  REQUIRE(wait_stat(x.q, 0, ST_RETRIES, 1));
  notify_stats st;
  notify_queue_stats(x.q, &st);
  CHECK_EQ(st.ch[0].next_attempt_at, T0 + 30000);
  CHECK_NOT_CONTAINS(st.ch[0].last_error, "abc123secretpath");
  tclock_advance(&x.clk, 30000);
  notify_queue_kick(x.q);
  REQUIRE(wait_hooks(&x.s, 1));
  hook_teardown(&x);
}

TEST(queue_full_drops_least_important_first_never_critical) {
  hookfix x;
  hook_setup(&x, 4, false);
  /* Posted before the worker starts, so nothing is in flight and the
   * result does not depend on timing.  Capacity 4:
   *   i1 i2 i3 w4      full
   *   +i5  -> drops i1 (oldest of the least important)
   *   +c6  -> drops i2;  +c7 -> drops i3;  +c8 -> drops i5;  +c9 -> drops w4
   *   +c10 -> nothing left to drop: critical is kept beyond capacity
   *   +i11, +w12 -> less important than everything queued: dropped */
  const char *names[] = {"i1", "i2", "i3", "w4", "i5", "c6", "c7", "c8", "c9", "c10", "i11", "w12"};
  for (int i = 0; i < 12; i++) {
    notify_severity sev = names[i][0] == 'c' ? NOTIFY_CRITICAL
                          : names[i][0] == 'w' ? NOTIFY_WARNING : NOTIFY_INFO;
    int took = notify_post_text(x.q, sev, names[i], "");
    CHECK_EQ(took, i >= 10 ? 0 : 1);
  }
  CHECK_EQ(get_stat(x.q, 0, ST_QUEUED), 5);
  CHECK_EQ(get_stat(x.q, 0, ST_DROPPED), 7);
  notify_stats st;
  notify_queue_stats(x.q, &st);
  CHECK_EQ(st.dropped, 7);
  CHECK_EQ(st.posted, 12);
  start(x.q);
  REQUIRE(wait_hooks(&x.s, 5));
  const char *kept[] = {"c6", "c7", "c8", "c9", "c10"};
  for (int i = 0; i < 5; i++) {
    char t[16];
    hook_title(&x.s, i, t, sizeof t);
    CHECK_STREQ(t, kept[i]);
  }
  hook_teardown(&x);
}

TEST(queue_critical_messages_survive_a_restart) {
  hookfix x;
  hook_setup(&x, 16, true);
  int port = x.s.h.port;
  hstub_stop(&x.s.h); /* down: connection refused */
  start(x.q);
  post_titled(x.q, NOTIFY_CRITICAL, "liquidation risk");
  post_titled(x.q, NOTIFY_INFO, "just info");
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_DB_DOWN);
  notify_set(ev.detail, "disk full");
  notify_post(x.q, &ev);
  REQUIRE(wait_stat(x.q, 0, ST_RETRIES, 1));
  /* Both critical ones were handed to the persistence, as event JSON. */
  pthread_mutex_lock(&x.mp.mu);
  int n = x.mp.n;
  pthread_mutex_unlock(&x.mp.mu);
  REQUIRE_EQ(n, 2);
  CHECK_STREQ(x.mp.rows[0].channel, "webhook");
  notify_event back;
  lb_errbuf eb;
  CHECK_OK(notify_event_from_json(x.mp.rows[0].payload, &back, &eb));
  CHECK_STREQ(back.title, "liquidation risk");
  CHECK_OK(notify_event_from_json(x.mp.rows[1].payload, &back, &eb));
  CHECK_EQ(back.kind, NOTIFY_EV_DB_DOWN);
  /* The bot goes down before the webhook comes back. */
  notify_queue_free(x.q);
  CHECK_EQ(mempersist_pending(&x.mp), 2);
  /* Next start: same persistence, the peer is up again. */
  REQUIRE(hstub_start(&x.s.h, x.s.h.fn, port));
  hook_queue(&x, 16, true, false, NOTIFY_INFO);
  post_titled(x.q, NOTIFY_INFO, "started again");
  start(x.q);
  REQUIRE(wait_hooks(&x.s, 3));
  char t[64];
  hook_title(&x.s, 0, t, sizeof t);
  CHECK_STREQ(t, "liquidation risk"); /* restored ones first, in order */
  pthread_mutex_lock(&x.s.h.mu);
  CHECK_CONTAINS(x.s.bodies[1], "disk full");
  pthread_mutex_unlock(&x.s.h.mu);
  hook_title(&x.s, 2, t, sizeof t);
  CHECK_STREQ(t, "started again");
  CHECK_OK(notify_queue_drain(x.q, WAIT_MS));
  CHECK_EQ(mempersist_pending(&x.mp), 0);
  CHECK(x.mp.rows[0].delivered && x.mp.rows[1].delivered);
  CHECK_EQ(mempersist_pending(&x.mp), 0);
  CHECK_EQ(hook_count(&x.s), 3); /* "just info" was never persisted: lost with the process */
  hook_teardown(&x);
}

TEST(queue_persistence_failure_does_not_stop_delivery) {
  hookfix x;
  hook_setup(&x, 16, true);
  x.mp.fail_enqueue = true;
  start(x.q);
  post_titled(x.q, NOTIFY_CRITICAL, "still delivered");
  REQUIRE(wait_hooks(&x.s, 1));
  notify_stats st;
  notify_queue_stats(x.q, &st);
  CHECK_EQ(st.persist_errors, 1);
  hook_teardown(&x);
}

TEST(queue_critical_given_up_is_marked_done_with_the_reason) {
  hookfix x;
  hook_setup(&x, 16, true);
  hookstub_script(&x.s, 400, 0);
  start(x.q);
  post_titled(x.q, NOTIFY_CRITICAL, "refused");
  REQUIRE(wait_stat(x.q, 0, ST_FAILED, 1));
  CHECK_OK(notify_queue_drain(x.q, WAIT_MS));
  CHECK_EQ(mempersist_pending(&x.mp), 0);
  CHECK(!x.mp.rows[0].delivered);
  CHECK_CONTAINS(x.mp.rows[0].error, "HTTP 400");
  hook_teardown(&x);
}

TEST(queue_restored_message_for_a_removed_channel_is_closed) {
  hookfix x;
  hook_setup(&x, 16, true);
  notify_queue_free(x.q);
  notify_persist p = mempersist_iface(&x.mp);
  char id[NOTIFY_ID_MAX];
  lb_errbuf eb;
  REQUIRE_OK(p.enqueue(p.ctx, "telegram", "{\"kind\":\"text\"}", T0, id, &eb));
  REQUIRE_OK(p.enqueue(p.ctx, "webhook", "not json", T0, id, &eb));
  hook_queue(&x, 16, true, false, NOTIFY_INFO);
  start(x.q);
  CHECK_EQ(mempersist_pending(&x.mp), 0); /* both unusable: closed, not retried forever */
  CHECK(!x.mp.rows[0].delivered && !x.mp.rows[1].delivered);
  CHECK_EQ(get_stat(x.q, 0, ST_QUEUED), 0);
  hook_teardown(&x);
}

TEST(queue_drain_waits_for_delivery_and_times_out_when_down) {
  hookfix x;
  hook_setup(&x, 16, false);
  start(x.q);
  CHECK_OK(notify_queue_drain(x.q, 10)); /* nothing to wait for */
  post_titled(x.q, NOTIFY_INFO, "bye");
  CHECK_OK(notify_queue_drain(x.q, WAIT_MS));
  CHECK_EQ(hook_count(&x.s), 1);
  hstub_stop(&x.s.h);
  post_titled(x.q, NOTIFY_INFO, "lost in the outage");
  CHECK_EQ(notify_queue_drain(x.q, 100), LB_ETIMEOUT);
  hook_teardown(&x);
}

TEST(queue_daily_summary_once_after_utc_midnight) {
  hookfix x;
  memset(&x, 0, sizeof x);
  REQUIRE(hookstub_start(&x.s));
  mempersist_init(&x.mp);
  hook_queue(&x, 16, false, true, NOTIFY_INFO);
  start(x.q);
  sleep_ms(30);
  CHECK_EQ(x.f.summaries, 0); /* noon: not yet */
  tclock_advance(&x.clk, 12 * LB_MS_HOUR + 5 * LB_MS_SECOND); /* 00:00:05 next day */
  notify_queue_kick(x.q);
  REQUIRE(wait_hooks(&x.s, 1));
  json_t *o = json_loads(x.s.bodies[0], 0, NULL);
  json_t *e = json_object_get(o, "event");
  CHECK_STREQ(json_string_value(json_object_get(e, "kind")), "daily_summary");
  CHECK_EQ(json_integer_value(json_object_get(e, "day")), T0 - 12 * LB_MS_HOUR);
  CHECK_EQ(json_integer_value(json_object_get(e, "trades")), 4);
  CHECK_CONTAINS(json_string_value(json_object_get(o, "text")),
                 "Daily summary 2024-03-01\nTrades: 4 (3 won, win rate 75%)\nPnL: +12.50 USDT\n");
  json_decref(o);
  CHECK_EQ(x.f.summary_day, T0 - 12 * LB_MS_HOUR);
  tclock_advance(&x.clk, LB_MS_HOUR);
  notify_queue_kick(x.q);
  sleep_ms(30);
  CHECK_EQ(x.f.summaries, 1);
  hook_teardown(&x);
}

/* ==== A stalled channel ==== */

typedef struct {
  notify_queue *q;
  int posts;
  _Atomic bool done;
} engine_sim;

/* What the engine's stop-loss path does: post and go on, many times. */
static void *stop_loss_loop(void *arg) {
  engine_sim *e = arg;
  for (int i = 0; i < e->posts; i++) {
    notify_event ev;
    notify_event_init(&ev, i % 10 == 0 ? NOTIFY_EV_EXIT : NOTIFY_EV_STOP_MOVED);
    if (i % 10 == 0) ev.severity = NOTIFY_CRITICAL;
    notify_set(ev.symbol, "BTCUSDT");
    notify_post(e->q, &ev);
  }
  atomic_store(&e->done, true);
  return NULL;
}

static bool sim_done(void *c) { return atomic_load(&((engine_sim *)c)->done); }

TEST(stalled_channel_blocks_neither_the_poster_nor_other_channels) {
  stall st;
  tgstub tg;
  tclock clk;
  REQUIRE(stall_start(&st));
  REQUIRE(tgstub_start(&tg, TOKEN));
  tclock_set(&clk, T0);
  notify_queue_opts o;
  notify_queue_opts_default(&o);
  o.clock = tclock_bind(&clk);
  o.poll_ms = 10;
  o.capacity = 64;
  notify_queue *q;
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_new(&o, &q, &eb));
  notify_webhook_cfg w;
  notify_webhook_cfg_default(&w);
  w.opts.timeout_ms = 120000; /* it never answers: stays stuck for the whole test */
  snprintf(w.url, sizeof w.url, "http://127.0.0.1:%d/stuck", st.port);
  REQUIRE_OK(notify_queue_add_webhook(q, &w, &eb));
  notify_telegram_cfg t;
  notify_telegram_cfg_default(&t);
  t.opts.min_interval_ms = 0;
  t.commands = false;
  tgstub_base_url(&tg, t.api_url, sizeof t.api_url);
  notify_set(t.token, TOKEN);
  notify_set(t.chat_id, "123456789");
  REQUIRE_OK(notify_queue_add_telegram(q, &t, &eb));
  REQUIRE_OK(notify_queue_start(q, &eb));

  post_titled(q, NOTIFY_INFO, "first");
  REQUIRE(wait_stat(q, 0, ST_IN_FLIGHT, 1)); /* the webhook transfer hangs ... */
  for (int i = 0; i < WAIT_MS / 2 && atomic_load(&st.accepted) == 0; i++) sleep_ms(2);
  CHECK(atomic_load(&st.accepted) >= 1);
  /* ... while the engine keeps posting (its stop-loss path) ... */
  engine_sim sim = {q, 500, false};
  pthread_t th;
  REQUIRE(pthread_create(&th, NULL, stop_loss_loop, &sim) == 0);
  CHECK(wait_for(sim_done, &sim, WAIT_MS));
  pthread_join(th, NULL);
  /* ... and Telegram gets its messages. */
  post_titled(q, NOTIFY_CRITICAL, "stop-loss filled");
  bool seen = false;
  for (int i = 0; i < WAIT_MS / 5 && !seen; i++) {
    int n = tgstub_sent(&tg);
    for (int k = 0; k < n && !seen; k++) {
      char *text = tgstub_text(&tg, k);
      seen = strstr(text, "stop-loss filled") != NULL;
      free(text);
    }
    if (!seen) sleep_ms(5);
  }
  CHECK(seen);
  CHECK_EQ(get_stat(q, 0, ST_IN_FLIGHT), 1); /* still stuck */
  CHECK_EQ(get_stat(q, 0, ST_DELIVERED), 0);
  notify_stats s;
  notify_queue_stats(q, &s);
  CHECK_EQ(s.posted, 502);
  CHECK(s.ch[0].queued <= 64 + 51); /* bounded: capacity + the critical ones */
  CHECK(s.ch[0].dropped > 0);
  notify_queue_free(q); /* aborts the stuck transfer */
  tgstub_free(&tg);
  stall_free(&st);
}

TEST(queue_routes_by_each_channels_minimum_severity) {
  hookfix x;
  tgstub tg;
  memset(&x, 0, sizeof x);
  REQUIRE(hookstub_start(&x.s));
  REQUIRE(tgstub_start(&tg, TOKEN));
  mempersist_init(&x.mp);
  hook_queue(&x, 16, false, false, NOTIFY_WARNING);
  notify_telegram_cfg t;
  notify_telegram_cfg_default(&t);
  t.opts.min_interval_ms = 0;
  t.commands = false;
  tgstub_base_url(&tg, t.api_url, sizeof t.api_url);
  notify_set(t.token, TOKEN);
  notify_set(t.chat_id, "123456789");
  lb_errbuf eb;
  REQUIRE_OK(notify_queue_add_telegram(x.q, &t, &eb));
  start(x.q);
  CHECK_EQ(notify_post_text(x.q, NOTIFY_INFO, "info", ""), 1);
  CHECK_EQ(notify_post_text(x.q, NOTIFY_WARNING, "warning", ""), 2);
  CHECK_OK(notify_queue_drain(x.q, WAIT_MS));
  CHECK_EQ(tgstub_sent(&tg), 2);
  CHECK_EQ(hook_count(&x.s), 1);
  char title[32];
  hook_title(&x.s, 0, title, sizeof title);
  CHECK_STREQ(title, "warning");
  hook_teardown(&x);
  tgstub_free(&tg);
}
