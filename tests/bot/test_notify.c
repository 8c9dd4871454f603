/* test_notify.c -- the bot with its notifier: Telegram's /stopentry and /start act on a running
 * engine, and a notification channel that never answers does not delay a stop-loss.
 *
 * In-process (the bot's library), replaying April 2022 in paper mode with
 * the notify suite's stub peers on 127.0.0.1.  The replay is paced by a
 * clock the test holds, so "the engine has taken these candles" is exact:
 * with speed 1 the k-th candle is due k bars after the start.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bot/bot.h"
#include "core/log.h"
#include "stubs.h"
#include "unit.h"

#define MONTH "data/binance-um/BTCUSDT-5m-2022-04.csv"
#define BAR (5 * LB_MS_MINUTE)

/* ==== A clock the test moves ==== */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  lb_ms now;
} gate;

static lb_ms gate_now(void *ctx) {
  gate *g = ctx;
  pthread_mutex_lock(&g->mu);
  lb_ms t = g->now;
  pthread_mutex_unlock(&g->mu);
  return t;
}

/* Waits for the test to move time (or 10 ms of real time: the replay then
 * serves requests and asks again). */
static void gate_sleep(void *ctx, lb_ms d) {
  gate *g = ctx;
  pthread_mutex_lock(&g->mu);
  lb_ms until = g->now + d;
  if (g->now < until) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 10 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
      ts.tv_sec++;
      ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&g->cv, &g->mu, &ts);
  }
  pthread_mutex_unlock(&g->mu);
}

static void gate_set(gate *g, lb_ms t) {
  pthread_mutex_lock(&g->mu);
  g->now = t;
  pthread_cond_broadcast(&g->cv);
  pthread_mutex_unlock(&g->mu);
}

/* ==== The bot on a thread ==== */

typedef struct {
  bot *b;
  bot_result res;
  lb_err rc;
  pthread_t th;
} runner;

static void *run_main(void *arg) {
  runner *r = arg;
  lb_errbuf eb;
  r->rc = bot_run(r->b, &r->res, &eb);
  if (r->rc) printf("    bot_run: %s\n", eb.msg);
  return NULL;
}

static void config(lb_config *c, const char *name, const char *const *extra) {
  lb_config_defaults(c);
  lb_cfg_report rep = {0};
  char db[900];
  snprintf(db, sizeof db, "sqlite://%s/%s.db", lbt_tmpdir(), name);
  const char *set[][2] = {{"AI_PROVIDERS", ""},          {"HEALTH_PORT", "0"},
                          {"DATABASE_URL", db},          {"ENTRY_TIMEFRAME", "5m"},
                          {"TIMEFRAMES", "5m,15m,1h"},   {"MIN_STOP_LOSS_PERCENT", "0.01"},
                          {"MAX_STOP_LOSS_PERCENT", "0.02"}, {"MIN_PROFIT_USD", "1"},
                          {"INITIAL_CAPITAL", "1000"}};
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++) REQUIRE_OK(lb_config_set(c, set[i][0], set[i][1], &rep));
  for (int i = 0; extra && extra[i]; i += 2) {
    if (lb_config_set(c, extra[i], extra[i + 1], &rep) != LB_OK) {
      for (int k = 0; k < rep.n_errors; k++) printf("    %s\n", rep.errors[k]);
      REQUIRE(false);
    }
  }
  lb_config_check(c, &rep);
  for (int k = 0; k < rep.n_errors; k++) printf("    %s\n", rep.errors[k]);
  REQUIRE_EQ(rep.n_errors, 0);
}

static void start(runner *r, const lb_config *c, const lb_clock *clk, double speed) {
  static lb_clock keep[4];
  static int slot;
  memset(r, 0, sizeof *r);
  bot_options o;
  memset(&o, 0, sizeof o);
  o.mode = BOT_REPLAY;
  o.replay.data[0] = lbt_source_path(MONTH);
  o.replay.n_data = 1;
  o.speed = speed;
  if (clk) {
    keep[slot % 4] = *clk;
    o.clock = &keep[slot++ % 4];
  }
  o.report = true;
  lb_errbuf eb;
  lb_err rc = bot_new(c, &o, &r->b, &eb);
  if (rc) printf("    bot_new: %s\n", eb.msg);
  REQUIRE_OK(rc);
  REQUIRE(pthread_create(&r->th, NULL, run_main, r) == 0);
}

static void finish(runner *r) {
  pthread_join(r->th, NULL);
  bot_free(r->b);
  r->b = NULL;
}

/* /metrics of the in-process bot */
static double counter(runner *r, const char *name) {
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics", bot_http_port(r->b));
  char cmd[256];
  snprintf(cmd, sizeof cmd, "curl -s %s", url);
  char *out = NULL;
  lbt_run(cmd, &out);
  json_error_t je;
  json_t *j = out ? json_loads(out, 0, &je) : NULL;
  free(out);
  double v = j ? json_number_value(json_object_get(json_object_get(j, "counters"), name)) : -1;
  json_decref(j);
  return v;
}

static bool wait_counter(runner *r, const char *name, double want) {
  double v = -1;
  for (int i = 0; i < 4000; i++) {
    v = counter(r, name);
    if (v == want) return true;
    sleep_ms(5);
  }
  lbt_fail(__FILE__, __LINE__, "%s is %g, waited for %g", name, v, want);
  return false;
}

/* A failed wait must not leave the bot running on this test's stack. */
#define EXPECT_OR_STOP(cond, r)   \
  do {                            \
    if (!(cond)) {                \
      bot_stop((r)->b);           \
      finish(r);                  \
      lbt_abort_test();           \
    }                             \
  } while (0)

static bool tg_sent_contains(tgstub *s, const char *needle) {
  for (int i = 0; i < 2000; i++) {
    for (int k = 0; k < tgstub_sent(s); k++) {
      char *t = tgstub_text(s, k);
      bool hit = t && strstr(t, needle);
      free(t);
      if (hit) return true;
    }
    sleep_ms(5);
  }
  return false;
}

TEST(bot_telegram_stopentry_stops_entries_and_start_resumes_them) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  lb_log_setup(LB_LOG_WARN, LB_LOG_HUMAN, NULL);
  const lb_ms start0 = INT64_C(1700000000000);
  const int K = 1000; /* bars: the unpaused bot enters before this (control run) */
  /* control: no pause, K bars */
  gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, start0};
  lb_clock clk = {gate_now, gate_sleep, &g};
  lb_config c;
  config(&c, "control", NULL);
  runner r;
  start(&r, &c, &clk, 1);
  gate_set(&g, start0 + K * BAR);
  EXPECT_OR_STOP(wait_counter(&r, "candles_total", K), &r);
  double control_entries = counter(&r, "entries_total");
  CHECK(control_entries >= 1);
  bot_stop(r.b);
  finish(&r);
  engine_report_free(r.res.report);

  /* the same bars with /stopentry sent first */
  tgstub tg;
  REQUIRE(tgstub_start(&tg, "123456:test-token-abcdefghij"));
  char base[128];
  tgstub_base_url(&tg, base, sizeof base);
  config(&c, "paused",
         (const char *const[]){"TELEGRAM_BOT_TOKEN", "123456:test-token-abcdefghij", "TELEGRAM_CHAT_ID",
                               "4242", "TELEGRAM_API_URL", base, "TELEGRAM_POLL_SECONDS", "1",
                               "TELEGRAM_COMMANDS", "true", NULL});
  gate g2 = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, start0};
  lb_clock clk2 = {gate_now, gate_sleep, &g2};
  tgstub_push_update(&tg, 4242, lb_time_now_ms(), "/stopentry");
  start(&r, &c, &clk2, 1);
  EXPECT_OR_STOP(tg_sent_contains(&tg, "Entries paused"), &r);
  gate_set(&g2, start0 + K * BAR);
  EXPECT_OR_STOP(wait_counter(&r, "candles_total", K), &r);
  CHECK(counter(&r, "entries_total") == 0);
  /* /start: the next entry the strategy finds is taken */
  tgstub_push_update(&tg, 4242, lb_time_now_ms(), "/start");
  EXPECT_OR_STOP(tg_sent_contains(&tg, "Entries resumed"), &r);
  gate_set(&g2, INT64_MAX / 4);
  finish(&r);
  CHECK_OK(r.rc);
  CHECK(r.res.replay_done);
  CHECK(r.res.counters.entries >= 1);
  /* entries only after the resume: none during the paused bars */
  for (size_t i = 0; r.res.report && i < engine_report_trade_count(r.res.report); i++)
    CHECK(engine_report_trade(r.res.report, i)->entry_time > INT64_C(1648771200000) + K * BAR);
  engine_report_free(r.res.report);
  tgstub_free(&tg);
}

TEST(bot_a_stalled_notification_channel_does_not_delay_a_stop_loss) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
  lb_log_setup(LB_LOG_WARN, LB_LOG_HUMAN, NULL);
  /* control: no channel */
  lb_config c;
  config(&c, "nostall", NULL);
  runner r;
  start(&r, &c, NULL, 0);
  finish(&r);
  REQUIRE_OK(r.rc);
  engine_report *ctl = r.res.report;
  REQUIRE(ctl && engine_report_trade_count(ctl) >= 2);
  /* the same replay with a webhook that accepts and never answers */
  stall s;
  REQUIRE(stall_start(&s));
  char url[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", s.port);
  config(&c, "stall", (const char *const[]){"WEBHOOK_URL", url, "NOTIFY_TIMEOUT_SECONDS", "300", NULL});
  runner r2;
  start(&r2, &c, NULL, 0);
  finish(&r2);
  REQUIRE_OK(r2.rc);
  engine_report *st = r2.res.report;
  REQUIRE(st != NULL);
  CHECK(atomic_load(&s.accepted) >= 1); /* the webhook was tried and is still hanging */
  /* every trade closes at the same (market) time, price and reason */
  CHECK_EQ(engine_report_trade_count(st), engine_report_trade_count(ctl));
  bool stop_seen = false;
  for (size_t i = 0; i < engine_report_trade_count(ctl) && i < engine_report_trade_count(st); i++) {
    const engine_trade *a = engine_report_trade(ctl, i), *b = engine_report_trade(st, i);
    CHECK_EQ(a->exit_time, b->exit_time);
    CHECK_EQ(a->exit_price, b->exit_price);
    CHECK_EQ(a->exit_reason, b->exit_reason);
    stop_seen |= b->exit_reason == ENGINE_EXIT_STOP;
  }
  CHECK(stop_seen);
  engine_report_free(ctl);
  engine_report_free(st);
  stall_free(&s);
}
