/* test_ai.c -- the AI cache (expiry), the decision log and the ai-stats figures. */
#include <stdlib.h>

#include "tb.h"

STORE_TEST(store_ai_cache_hits_until_expiry_then_misses_and_cleans_up) {
  lb_errbuf eb;
  char *resp = NULL;
  bool hit = true;
  REQUIRE_OK(store_ai_cache_get(t->s, "BTCUSDT|claude|abc", tb_t(0), &resp, &hit, &eb));
  CHECK(!hit);
  CHECK(resp == NULL);
  REQUIRE_OK(store_ai_cache_put(t->s, "BTCUSDT|claude|abc", "BTCUSDT", "claude", "{\"action\":\"HOLD\"}",
                                60 * LB_MS_SECOND, tb_t(0), &eb));
  REQUIRE_OK(store_ai_cache_get(t->s, "BTCUSDT|claude|abc", tb_t(59999), &resp, &hit, &eb));
  CHECK(hit);
  CHECK_STREQ(resp, "{\"action\":\"HOLD\"}");
  free(resp);
  /* expires_at = now + ttl: at exactly that instant it is a miss... */
  REQUIRE_OK(store_ai_cache_get(t->s, "BTCUSDT|claude|abc", tb_t(60000), &resp, &hit, &eb));
  CHECK(!hit);
  CHECK(resp == NULL);
  /* ...and the row is gone. */
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM ai_analysis_cache"), 0);
  CHECK_EQ(store_ai_cache_put(t->s, "k", "BTCUSDT", "m", "r", 0, tb_t(0), &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "ttl 0");
}

STORE_TEST(store_ai_cache_put_replaces_and_purge_counts_expired_rows) {
  lb_errbuf eb;
  for (int i = 1; i <= 3; i++) {
    char key[16];
    snprintf(key, sizeof key, "k%d", i);
    REQUIRE_OK(store_ai_cache_put(t->s, key, "BTCUSDT", "gpt", "old", i * 10 * LB_MS_SECOND, tb_t(0), &eb));
  }
  /* k3 refreshed later with a new answer. */
  REQUIRE_OK(store_ai_cache_put(t->s, "k3", "BTCUSDT", "gpt", "new", 10 * LB_MS_SECOND,
                                tb_t(25 * LB_MS_SECOND), &eb));
  long deleted = -1;
  REQUIRE_OK(store_ai_cache_purge(t->s, tb_t(20 * LB_MS_SECOND), &deleted, &eb));
  CHECK_EQ(deleted, 2); /* k1 (10 s) and k2 (exactly 20 s) */
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM ai_analysis_cache"), 1);
  char *resp;
  bool hit;
  REQUIRE_OK(store_ai_cache_get(t->s, "k3", tb_t(30 * LB_MS_SECOND), &resp, &hit, &eb));
  CHECK(hit);
  CHECK_STREQ(resp, "new");
  free(resp);
  REQUIRE_OK(store_ai_cache_purge(t->s, tb_t(35 * LB_MS_SECOND), &deleted, &eb));
  CHECK_EQ(deleted, 1);
}

static store_ai_decision decision(const char *provider, const char *model, lb_ms at, long lat,
                                  lb_dec cost, bool cached, bool failed) {
  store_ai_decision d = {0};
  snprintf(d.provider, sizeof d.provider, "%s", provider);
  snprintf(d.model, sizeof d.model, "%s", model);
  snprintf(d.symbol, sizeof d.symbol, "BTCUSDT");
  snprintf(d.prompt_hash, sizeof d.prompt_hash, "p1");
  snprintf(d.snapshot_hash, sizeof d.snapshot_hash, "s1");
  d.latency_ms = lat;
  d.attempts = cached ? 0 : 1;
  d.tokens_in = cached ? 0 : 1200;
  d.tokens_out = cached ? 0 : 150;
  d.tokens_cache = cached ? 0 : 1000;
  d.cost_usd = cost;
  d.cached = cached;
  d.decision_json = failed ? NULL : "{\"action\":\"LONG\",\"confidence\":0.82}";
  d.error = failed ? "HTTP 529 overloaded" : NULL;
  d.created_at = at;
  return d;
}

STORE_TEST(store_ai_round_links_decisions_to_their_consensus) {
  lb_errbuf eb;
  store_ai_consensus c = {.action = LB_ACTION_LONG, .confidence = 0.83, .n_voters = 2,
                          .created_at = tb_t(5000)};
  snprintf(c.id, sizeof c.id, "cons-1");
  snprintf(c.symbol, sizeof c.symbol, "BTCUSDT");
  store_ai_decision d[3] = {decision("anthropic", "claude-sonnet-4", tb_t(1000), 2100, 1234567, false, false),
                            decision("openai", "gpt-4o", tb_t(1000), 3, 0, true, false),
                            decision("xai", "grok-3", tb_t(1000), 30000, 0, false, true)};
  REQUIRE_OK(store_ai_round_record(t->s, &c, d, 3, STORE_SYNC, &eb));
  REQUIRE_OK(store_ai_round_record(t->s, &c, d, 0, STORE_SYNC, &eb)); /* consensus replay */
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM ai_consensus"), 1);
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(*) FROM ai_decisions WHERE consensus_id = 'cons-1'"), 3);
  CHECK_EQ(tb_count(t->s, "SELECT COUNT(DISTINCT id) FROM ai_decisions"), 3);
  CHECK_STREQ(tb_q(t->s, "SELECT action FROM ai_consensus"), "LONG");
  CHECK_STREQ(tb_q(t->s, "SELECT error FROM ai_decisions WHERE provider = 'xai'"), "HTTP 529 overloaded");
  lb_dec cost;
  REQUIRE_OK(lb_dec_parse(tb_q(t->s, "SELECT cost_usd FROM ai_decisions WHERE provider = 'anthropic'"), &cost));
  CHECK_EQ(cost, 1234567);
  /* A decision naming a consensus that does not exist: refused (foreign key). */
  store_ai_decision orphan = decision("anthropic", "m", tb_t(0), 1, 0, false, false);
  snprintf(orphan.consensus_id, sizeof orphan.consensus_id, "no-such-round");
  CHECK(store_ai_round_record(t->s, NULL, &orphan, 1, STORE_SYNC, &eb) != LB_OK);
  store_ai_decision empty = decision("anthropic", "m", tb_t(0), 1, 0, false, false);
  empty.decision_json = NULL;
  CHECK_EQ(store_ai_round_record(t->s, NULL, &empty, 1, STORE_SYNC, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "ai_decision[0] has neither");
}

/* Two days, two models; every figure below is worked out by hand. */
STORE_TEST(store_ai_stats_per_day_and_model_match_hand_computed_figures) {
  lb_errbuf eb;
  lb_ms d1 = tb_t(0), d2 = tb_t(LB_MS_DAY);
  store_ai_decision day1[3] = {
      decision("anthropic", "claude", d1 + LB_MS_HOUR, 2000, 1234567, false, false),  /* 0.01234567 */
      decision("anthropic", "claude", d1 + 2 * LB_MS_HOUR, 4000, 1, false, false),    /* 0.00000001 */
      decision("openai", "gpt", d1 + 3 * LB_MS_HOUR, 5, 0, true, false)};
  store_ai_decision day2[3] = {
      decision("anthropic", "claude", d2 + LB_MS_HOUR, 1000, 100000000, false, true), /* 1.00 */
      decision("openai", "gpt", d2 + LB_MS_HOUR, 3000, 33333333, false, false),       /* 0.33333333 */
      decision("openai", "gpt", d2 + 2 * LB_MS_HOUR, 4, 0, true, false)};
  REQUIRE_OK(store_ai_round_record(t->s, NULL, day1, 3, STORE_ASYNC, &eb));
  REQUIRE_OK(store_ai_round_record(t->s, NULL, day2, 3, STORE_ASYNC, &eb));
  REQUIRE_OK(store_flush(t->s, 10000, &eb));

  store_ai_stat *st = NULL;
  int n = 0;
  REQUIRE_OK(store_ai_stats(t->s, d1, d2 + LB_MS_DAY, STORE_AI_BY_DAY_MODEL, &st, &n, &eb));
  REQUIRE_EQ(n, 4);
  CHECK_EQ(st[0].day, d1);
  CHECK_STREQ(st[0].model, "claude");
  CHECK_EQ(st[0].calls, 2);
  CHECK_EQ(st[0].cache_hits, 0);
  CHECK_EQ(st[0].cost_usd, 1234568);
  CHECK_NEAR(st[0].avg_latency_ms, 3000, 1e-9);
  CHECK_EQ(st[0].tokens_in, 2400);
  CHECK_STREQ(st[1].model, "gpt");
  CHECK_EQ(st[1].calls, 0);
  CHECK_EQ(st[1].cache_hits, 1);
  CHECK_EQ(st[1].cost_usd, 0);
  CHECK_EQ(st[2].day, d2);
  CHECK_EQ(st[2].errors, 1);
  CHECK_EQ(st[2].cost_usd, 100000000);
  CHECK_EQ(st[3].calls, 1);
  CHECK_EQ(st[3].cache_hits, 1);
  CHECK_NEAR(st[3].avg_latency_ms, 3000, 1e-9);
  free(st);

  REQUIRE_OK(store_ai_stats(t->s, d1, d2 + LB_MS_DAY, STORE_AI_BY_DAY, &st, &n, &eb));
  REQUIRE_EQ(n, 2);
  CHECK_EQ(st[0].calls, 2);
  CHECK_EQ(st[0].cache_hits, 1);
  CHECK_EQ(st[0].cost_usd, 1234568);
  CHECK_EQ(st[1].calls, 2);
  CHECK_EQ(st[1].cost_usd, 133333333); /* 1.33333333 */
  CHECK_NEAR(st[1].avg_latency_ms, 2000, 1e-9);
  free(st);

  REQUIRE_OK(store_ai_stats(t->s, d1, d2 + LB_MS_DAY, STORE_AI_BY_MODEL, &st, &n, &eb));
  REQUIRE_EQ(n, 2);
  CHECK_STREQ(st[0].provider, "anthropic");
  CHECK_EQ(st[0].day, 0);
  CHECK_EQ(st[0].calls, 3);
  CHECK_EQ(st[0].errors, 1);
  CHECK_EQ(st[0].cost_usd, 101234568);
  CHECK_NEAR(st[0].avg_latency_ms, 7000.0 / 3.0, 1e-9);
  CHECK_STREQ(st[1].provider, "openai");
  CHECK_EQ(st[1].calls, 1);
  CHECK_EQ(st[1].cache_hits, 2);
  CHECK_EQ(st[1].cost_usd, 33333333);
  free(st);

  /* Only the first day. */
  REQUIRE_OK(store_ai_stats(t->s, d1, d2, STORE_AI_BY_DAY, &st, &n, &eb));
  CHECK_EQ(n, 1);
  free(st);
}
