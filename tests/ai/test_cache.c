/* test_cache.c -- the AI cache and the audit rows, through the real store (SQLite). */
#include <stdlib.h>
#include <string.h>

#include "aitest.h"
#include "unit.h"

#define NOW INT64_C(1700000000000)

typedef struct {
  stub_llm *stub, *stub2; /* the second provider's: scripts must not race */
  store *db;
  ai_config cfg;
  aitest_clock clk;
  lb_clock clock;
  strategy_panel *panel;
  ta_snapshot snap;
  strategy_context ctx;
  strategy_vote v[4];
  int n;
} cfx;

static bool cfx_open(cfx *f, int n_prov) {
  memset(f, 0, sizeof *f);
  f->stub = stub_start();
  f->stub2 = stub_start();
  f->db = aitest_store();
  if (!f->stub || !f->stub2 || !f->db) return false;
  stub_set_default(f->stub, &(stub_reply){.text = stub_decision("LONG", 0.88, 2, 0.07, 0.2,
                                                                "trending")});
  stub_set_default(f->stub2, &(stub_reply){.text = stub_decision("LONG", 0.88, 2, 0.07, 0.2,
                                                                 "trending")});
  aitest_config(&f->cfg);
  f->cfg.cache_ttl_ms = 300 * LB_MS_SECOND;
  const char *names[2] = {"anthropic", "openai"};
  for (int i = 0; i < n_prov; i++)
    aitest_add_provider(&f->cfg, names[i], i ? AI_WIRE_OPENAI : AI_WIRE_ANTHROPIC,
                        i ? f->stub2 : f->stub, "key-abcdefgh");
  f->clock = aitest_clock_bind(&f->clk, NOW);
  ai_deps deps = {f->db, &f->clock, NULL, NULL, NULL};
  lb_errbuf eb;
  if (ai_panel_new(&f->cfg, &deps, &f->panel, &eb)) {
    printf("    %s\n", eb.msg);
    return false;
  }
  aitest_snapshot(&f->snap, 42000);
  aitest_context(&f->ctx, NOW);
  return true;
}

static void cfx_ask(cfx *f) { f->n = f->panel->ask(f->panel, &f->snap, &f->ctx, f->v, 4); }

static void cfx_close(cfx *f) {
  if (f->panel) f->panel->destroy(f->panel);
  if (f->db) store_close(f->db);
  stub_stop(f->stub);
  stub_stop(f->stub2);
}

TEST(cache_same_snapshot_twice_makes_one_request_and_again_after_the_ttl) {
  cfx f;
  REQUIRE(cfx_open(&f, 1));
  cfx_ask(&f);
  REQUIRE(f.v[0].ok);
  CHECK(!f.v[0].cached);
  CHECK_EQ(stub_requests(f.stub), 1);

  /* Same closed candle a scan later, capital and mark price moved: a hit. */
  f.ctx.now = NOW + 60 * LB_MS_SECOND;
  f.ctx.capital = LB_DEC_INT(97);
  f.ctx.mark_price = LB_DEC_INT(42050);
  cfx_ask(&f);
  CHECK(f.v[0].ok);
  CHECK(f.v[0].cached);
  CHECK_EQ(f.v[0].attempts, 0);
  CHECK_EQ(f.v[0].decision.action, LB_ACTION_LONG);
  CHECK_NEAR(f.v[0].decision.confidence, 0.88, 1e-12);
  CHECK_EQ(stub_requests(f.stub), 1); /* no HTTP request */

  /* Past the TTL (expires_at = put time + 300 s): asked again. */
  f.ctx.now = NOW + 300 * LB_MS_SECOND;
  cfx_ask(&f);
  CHECK(f.v[0].ok);
  CHECK(!f.v[0].cached);
  CHECK_EQ(stub_requests(f.stub), 2);

  ai_stats st;
  ai_panel_stats(f.panel, &st);
  CHECK_EQ(st.llm_calls, 2);
  CHECK_EQ(st.cache_hits, 1);
  ai_provider_health h;
  REQUIRE_EQ(ai_panel_health(f.panel, &h, 1), 1);
  CHECK_EQ(h.cache_hits, 1);
  CHECK_EQ(h.calls, 2);
  cfx_close(&f);
}

TEST(cache_a_new_candle_or_another_model_is_a_miss) {
  cfx f;
  REQUIRE(cfx_open(&f, 2));
  cfx_ask(&f);
  CHECK_EQ(stub_requests(f.stub) + stub_requests(f.stub2), 2); /* one per model */
  cfx_ask(&f);
  CHECK_EQ(stub_requests(f.stub) + stub_requests(f.stub2), 2);
  CHECK(f.v[0].cached && f.v[1].cached);
  aitest_snapshot(&f.snap, 42075); /* the next candle closed elsewhere */
  f.snap.ts += 15 * LB_MS_MINUTE;
  cfx_ask(&f);
  CHECK_EQ(stub_requests(f.stub) + stub_requests(f.stub2), 4);
  CHECK(!f.v[0].cached && !f.v[1].cached);
  cfx_close(&f);
}

TEST(cache_keeps_only_valid_answers) {
  cfx f;
  REQUIRE(cfx_open(&f, 1));
  stub_push(f.stub, &(stub_reply){.text = "no idea"});
  cfx_ask(&f);
  CHECK(!f.v[0].ok);
  cfx_ask(&f); /* the failure was not cached: asked again, gets the default */
  CHECK(f.v[0].ok);
  CHECK(!f.v[0].cached);
  CHECK_EQ(stub_requests(f.stub), 2);
  cfx_ask(&f);
  CHECK(f.v[0].cached);
  CHECK_EQ(stub_requests(f.stub), 2);
  cfx_close(&f);
}

TEST(cache_other_limits_are_another_question) {
  cfx f;
  REQUIRE(cfx_open(&f, 1));
  stub_set_default(f.stub, &(stub_reply){.text = stub_decision("LONG", 0.9, 3, 0.08, 0.2,
                                                               "trending")});
  cfx_ask(&f);
  REQUIRE(f.v[0].ok);
  f.panel->destroy(f.panel);
  /* Restarted with MAX_LEVERAGE 2: the limits are part of the market hash
   * (and a cached answer is checked again against the limits on a hit). */
  f.cfg.limits.max_leverage = 2;
  f.ctx.max_leverage = 2;
  ai_deps deps = {f.db, &f.clock, NULL, NULL, NULL};
  lb_errbuf eb;
  REQUIRE_OK(ai_panel_new(&f.cfg, &deps, &f.panel, &eb));
  cfx_ask(&f);
  CHECK(!f.v[0].cached);
  CHECK_EQ(stub_requests(f.stub), 2);
  CHECK(!f.v[0].ok); /* the stub still says 3x */
  CHECK_CONTAINS(f.v[0].error, "leverage 3 outside 1..2");
  cfx_close(&f);
}

static char *query(store *db, const char *sql) {
  char *out = NULL;
  lb_errbuf eb;
  if (store_query_text(db, sql, &out, &eb)) printf("    %s: %s\n", sql, eb.msg);
  return out;
}

TEST(audit_every_answer_is_a_decision_row_linked_to_its_consensus) {
  cfx f;
  REQUIRE(cfx_open(&f, 2));
  stub_push(f.stub, &(stub_reply){.text = stub_decision("LONG", 0.9, 2, 0.07, 0.2, "trending"),
                                  .tokens_in = 2000, .tokens_out = 400});
  stub_push(f.stub2, &(stub_reply){.status = 401, .body = "{\"error\":{\"message\":\"bad\","
                                                         "\"type\":\"invalid_request_error\","
                                                         "\"param\":null,\"code\":null}}"});
  cfx_ask(&f);
  strategy_consensus_rules rules = {2, true, 0.8};
  strategy_consensus c;
  strategy_consensus_decide(f.v, f.n, &rules, &c);
  char id[STORE_ID_MAX];
  lb_errbuf eb;
  REQUIRE_OK(ai_panel_record_round(f.panel, &c, id, &eb));
  CHECK(id[0] != '\0');
  CHECK_EQ(ai_panel_record_round(f.panel, &c, id, &eb), LB_ESTATE); /* once per round */
  /* Rounds the engine never records are still written (without consensus):
   * at the next ask, or when the panel goes. */
  cfx_ask(&f);
  cfx_ask(&f);
  f.panel->destroy(f.panel);
  f.panel = NULL;
  REQUIRE_OK(store_flush(f.db, 5000, &eb));

  char sql[512];
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM ai_decisions WHERE consensus_id = '%s'", id);
  char *s = query(f.db, sql);
  CHECK_STREQ(s, "2");
  free(s);
  s = query(f.db, "SELECT COUNT(*) FROM ai_decisions");
  CHECK_STREQ(s, "6");
  free(s);
  snprintf(sql, sizeof sql, "SELECT COUNT(*) FROM ai_consensus WHERE id = '%s'", id);
  s = query(f.db, sql);
  CHECK_STREQ(s, "1");
  free(s);
  s = query(f.db, "SELECT error FROM ai_decisions WHERE provider = 'openai' AND error IS NOT NULL");
  CHECK_CONTAINS(s, "HTTP 401");
  free(s);

  /* Per model: calls, cache hits, errors, cost. */
  store_ai_stat *rows = NULL;
  int n = 0;
  REQUIRE_OK(store_ai_stats(f.db, NOW - LB_MS_DAY, NOW + LB_MS_DAY, STORE_AI_BY_MODEL, &rows, &n,
                            &eb));
  REQUIRE_EQ(n, 2);
  const store_ai_stat *an = strcmp(rows[0].provider, "anthropic") == 0 ? &rows[0] : &rows[1];
  const store_ai_stat *oa = an == &rows[0] ? &rows[1] : &rows[0];
  CHECK_EQ(an->calls, 1);
  CHECK_EQ(an->cache_hits, 2);
  CHECK_EQ(an->errors, 0);
  CHECK_EQ(an->tokens_in, 2000);
  lb_dec want;
  REQUIRE_OK(lb_dec_parse("0.012", &want)); /* 2000 x 3 + 400 x 15 per million */
  CHECK_EQ(an->cost_usd, want);
  CHECK_EQ(oa->errors, 1);
  CHECK_EQ(oa->calls, 2); /* the 401, then a valid answer that was cached */
  CHECK_EQ(oa->cache_hits, 1);
  free(rows);
  cfx_close(&f);
}
