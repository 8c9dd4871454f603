/* test_cli.c -- `levbot ai-stats` driven as a user runs it, on a database the panel wrote. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aitest.h"
#include "unit.h"

#define NOW INT64_C(1700000000000) /* 2023-11-14T22:13:20Z */

/* Runs the built levbot with args (lbt_run: output, stdout + stderr, into *out); returns the exit code. */
static int levbot(const char *args, char **out) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "'%s' %s", lbt_binary_path("levbot"), args);
  return lbt_run(cmd, out);
}

/* A database holding two analyses by two models: the first asks both, the
 * second is served from the cache. */
static void fill_db(char *env_path, size_t n) {
  char url[600];
  store *db = aitest_store_at(url);
  REQUIRE(db != NULL);
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  stub_set_default(s, &(stub_reply){.text = stub_decision("LONG", 0.9, 2, 0.07, 0.2, "trending"),
                                    .tokens_in = 1000, .tokens_out = 200});
  ai_config cfg;
  aitest_config(&cfg);
  aitest_add_provider(&cfg, "anthropic", AI_WIRE_ANTHROPIC, s, "key-abcdefgh");
  aitest_add_provider(&cfg, "openai", AI_WIRE_OPENAI, s, "key-abcdefgh");
  aitest_clock clk;
  lb_clock clock = aitest_clock_bind(&clk, NOW);
  ai_deps deps = {db, &clock, NULL, NULL, NULL};
  strategy_panel *p = NULL;
  lb_errbuf eb;
  REQUIRE_OK(ai_panel_new(&cfg, &deps, &p, &eb));
  ta_snapshot snap;
  strategy_context ctx;
  aitest_snapshot(&snap, 42000);
  aitest_context(&ctx, NOW);
  strategy_vote v[4];
  p->ask(p, &snap, &ctx, v, 4); /* two calls */
  ctx.now += 60000;
  p->ask(p, &snap, &ctx, v, 4); /* two cache hits */
  p->destroy(p);
  REQUIRE_OK(store_flush(db, 5000, &eb));
  store_close(db);
  stub_stop(s);
  snprintf(env_path, n, "%.500s/ai-stats.env", lbt_tmpdir());
  FILE *f = fopen(env_path, "w");
  REQUIRE(f != NULL);
  fprintf(f, "DATABASE_URL=%s\nAI_PROVIDERS=\n", url);
  fclose(f);
}

TEST(cli_ai_stats_prints_calls_cache_hits_and_spend_per_day_and_model) {
  char env[600];
  fill_db(env, sizeof env);
  char args[1024], *out = NULL;
  snprintf(args, sizeof args, "ai-stats --env-file '%s' --from 2023-11-14 --to 2023-11-14", env);
  int rc = levbot(args, &out);
  printf("%s", out);
  CHECK_EQ(rc, 0);
  CHECK_CONTAINS(out, "AI usage 2023-11-14 .. 2023-11-14 (UTC)");
  CHECK_CONTAINS(out, "anthropic/anthropic-model");
  CHECK_CONTAINS(out, "openai/openai-model");
  /* 2 calls of 1000 + 200 tokens at 3 / 15 USD per million: 2 x 0.006 */
  CHECK_CONTAINS(out, "Total: 2 calls, 2 cache hits (50.0%), 0 errors, 2000 tokens in, 400 tokens "
                      "out, cost 0.012000 USD");
  free(out);

  snprintf(args, sizeof args, "ai-stats --env-file '%s' --from 2023-11-14 --json", env);
  rc = levbot(args, &out);
  CHECK_EQ(rc, 0);
  json_error_t je;
  json_t *o = json_loads(out, 0, &je);
  REQUIRE(o != NULL);
  json_t *total = json_object_get(o, "total");
  CHECK_EQ(json_integer_value(json_object_get(total, "calls")), 2);
  CHECK_EQ(json_integer_value(json_object_get(total, "cache_hits")), 2);
  CHECK_NEAR(json_real_value(json_object_get(total, "cache_hit_rate")), 0.5, 1e-12);
  CHECK_STREQ(json_string_value(json_object_get(total, "cost_usd")), "0.012");
  CHECK_EQ(json_array_size(json_object_get(o, "models")), 2);
  CHECK_EQ(json_array_size(json_object_get(o, "days")), 1);
  CHECK_STREQ(json_string_value(json_object_get(json_array_get(json_object_get(o, "days"), 0), "day")),
              "2023-11-14");
  json_decref(o);
  free(out);

  /* Another period has nothing. */
  snprintf(args, sizeof args, "ai-stats --env-file '%s' --from 2024-01-01 --days 3", env);
  rc = levbot(args, &out);
  CHECK_EQ(rc, 0);
  CHECK_CONTAINS(out, "No AI calls recorded in this period.");
  free(out);
}

TEST(cli_ai_stats_refuses_bad_options_with_usage_exit_code) {
  const char *bad[] = {"ai-stats --days 0", "ai-stats --days x", "ai-stats --from 2023-13-01",
                       "ai-stats --from 2023-11-14T10:00", "ai-stats --bogus",
                       "ai-stats --from 2023-11-20 --to 2023-11-10", "ai-stats --days"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char *out = NULL;
    int rc = levbot(bad[i], &out);
    if (rc != 2) printf("  %s -> %d: %s", bad[i], rc, out);
    CHECK_EQ(rc, 2);
    CHECK_CONTAINS(out, "levbot ai-stats:");
    free(out);
  }
  char *out = NULL;
  CHECK_EQ(levbot("ai-stats --help", &out), 0);
  CHECK_CONTAINS(out, "Usage: levbot ai-stats");
  free(out);
}
