/* test_config.c -- provider configuration: from environment variables to a panel, and start-up errors. */
#include <stdio.h>
#include <string.h>

#include "aitest.h"
#include "core/config.h"
#include "core/log.h"
#include "unit.h"

/* Loads the configuration from `env` only (an empty .env file). */
static lb_err load(char *const *env, lb_config *c, lb_cfg_report *rep) {
  char path[600];
  snprintf(path, sizeof path, "%s/empty.env", lbt_tmpdir());
  FILE *f = fopen(path, "w");
  if (f) fclose(f);
  lb_cfg_source src = {path, true, env};
  memset(rep, 0, sizeof *rep);
  return lb_config_load(c, &src, rep);
}

static bool report_has(const lb_cfg_report *rep, bool errors, const char *needle) {
  int n = errors ? rep->n_errors : rep->n_warnings;
  for (int i = 0; i < n; i++)
    if (strstr(errors ? rep->errors[i] : rep->warnings[i], needle)) return true;
  return false;
}

static void dump(const lb_cfg_report *rep) {
  for (int i = 0; i < rep->n_errors; i++) printf("    error: %s\n", rep->errors[i]);
  for (int i = 0; i < rep->n_warnings; i++) printf("    warning: %s\n", rep->warnings[i]);
}

TEST(config_default_has_the_seed_three_and_runs_offline_with_one_warning_each) {
  char *env[] = {NULL};
  lb_config c;
  lb_cfg_report rep;
  REQUIRE_OK(load(env, &c, &rep));
  CHECK_STREQ(c.ai_providers, "anthropic,openai,grok");
  CHECK(c.enable_grok);
  CHECK(report_has(&rep, false, "ANTHROPIC_API_KEY is empty: provider anthropic is skipped"));
  CHECK(report_has(&rep, false, "OPENAI_API_KEY is empty: provider openai is skipped"));
  CHECK(report_has(&rep, false, "GROK_API_KEY is empty: provider grok is skipped"));
  int ai_warnings = 0;
  for (int i = 0; i < rep.n_warnings; i++) ai_warnings += strstr(rep.warnings[i], "_API_KEY") != NULL;
  CHECK_EQ(ai_warnings, 3);
  ai_config ac;
  int skipped = -1;
  lb_errbuf eb;
  REQUIRE_OK(ai_config_from_lb(&c, &ac, &skipped, &eb));
  CHECK_EQ(ac.n_prov, 0);
  CHECK_EQ(skipped, 3);
  CHECK_EQ(ac.timeout_ms, 30000);
  CHECK_EQ(ac.max_attempts, 3);
  CHECK_EQ(ac.cache_ttl_ms, 900000);
  CHECK_EQ(ac.rules.min_agree, 2);
  CHECK(!ac.rules.allow_single);
  CHECK_NEAR(ac.rules.min_confidence, 0.80, 1e-12);
}

TEST(config_providers_with_keys_become_a_panel_in_list_order) {
  char *env[] = {"AI_PROVIDERS=openai, anthropic,grok,local",
                 "ANTHROPIC_API_KEY=sk-ant-abcdefgh1234",
                 "OPENAI_API_KEY=sk-openai-abcdefgh5678",
                 "OPENAI_WEIGHT=2",
                 "OPENAI_PRICE_INPUT=0.25",
                 "GROK_API_KEY=xai-abcdefgh9012",
                 "ENABLE_GROK=false",
                 "LOCAL_LLM_MODEL=llama3.1",
                 "LOCAL_LLM_BASE_URL=http://127.0.0.1:8080/v1",
                 "AI_TIMEOUT_SECONDS=12",
                 "AI_CACHE_TTL=600",
                 "ALLOW_SINGLE_MODEL=true",
                 "MAX_LEVERAGE=5",
                 NULL};
  lb_config c;
  lb_cfg_report rep;
  lb_err rc = load(env, &c, &rep);
  if (rc) dump(&rep);
  REQUIRE_OK(rc);
  CHECK(!report_has(&rep, false, "_API_KEY is empty")); /* grok is off, local needs no key */
  ai_config ac;
  lb_errbuf eb;
  REQUIRE_OK(ai_config_from_lb(&c, &ac, NULL, &eb));
  REQUIRE_EQ(ac.n_prov, 3);
  CHECK_STREQ(ac.prov[0].name, "openai");
  CHECK_EQ(ac.prov[0].wire, AI_WIRE_OPENAI);
  CHECK_STREQ(ac.prov[0].base_url, "https://api.openai.com/v1");
  CHECK_STREQ(ac.prov[0].model, "gpt-4o-mini");
  CHECK_STREQ(ac.prov[0].api_key, "sk-openai-abcdefgh5678");
  CHECK_NEAR(ac.prov[0].weight, 2.0, 0);
  CHECK_EQ(ac.prov[0].price_in, 25000000);
  CHECK_EQ(ac.prov[0].json_mode, AI_JSON_SCHEMA);
  CHECK(ac.prov[0].max_completion_tokens);
  CHECK_STREQ(ac.prov[1].name, "anthropic");
  CHECK_EQ(ac.prov[1].wire, AI_WIRE_ANTHROPIC);
  CHECK_STREQ(ac.prov[1].base_url, "https://api.anthropic.com");
  CHECK_STREQ(ac.prov[2].name, "local");
  CHECK_STREQ(ac.prov[2].base_url, "http://127.0.0.1:8080/v1");
  CHECK_STREQ(ac.prov[2].api_key, "");
  CHECK_EQ(ac.prov[2].json_mode, AI_JSON_OBJECT);
  CHECK_EQ(ac.timeout_ms, 12000);
  CHECK_EQ(ac.cache_ttl_ms, 600000);
  CHECK(ac.rules.allow_single);
  CHECK_EQ(ac.limits.max_leverage, 5);
  lb_log_clear_secrets();
}

TEST(config_unknown_or_incomplete_provider_is_a_startup_error_naming_the_variable) {
  const struct {
    char *env[4];
    const char *error;
  } cases[] = {
      {{"AI_PROVIDERS=anthropic,gemini", NULL},
       "AI_PROVIDERS=anthropic,gemini: unknown provider \"gemini\""},
      {{"AI_PROVIDERS=openai,openai", "OPENAI_API_KEY=sk-abcdefgh", NULL},
       "AI_PROVIDERS=openai,openai lists openai twice"},
      {{"AI_PROVIDERS=openrouter", "OPENROUTER_API_KEY=sk-or-abcdefgh", NULL},
       "OPENROUTER_MODEL is empty (required: openrouter is in AI_PROVIDERS)"},
      {{"AI_PROVIDERS=local", NULL}, "LOCAL_LLM_MODEL is empty"},
      {{"AI_PROVIDERS=deepseek", "DEEPSEEK_API_KEY=sk-abcdefgh", "DEEPSEEK_BASE_URL=api.deepseek.com"},
       "DEEPSEEK_BASE_URL=api.deepseek.com is not an http(s) URL"},
      {{"OPENAI_JSON_MODE=xml", NULL}, "OPENAI_JSON_MODE"},
      {{"ANTHROPIC_WEIGHT=0", NULL}, "ANTHROPIC_WEIGHT"},
      {{"AI_MAX_ATTEMPTS=9", NULL}, "AI_MAX_ATTEMPTS"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    lb_config c;
    lb_cfg_report rep;
    CHECK_EQ(load(cases[i].env, &c, &rep), LB_ECONFIG);
    if (!report_has(&rep, true, cases[i].error)) {
      printf("  case %zu: expected error \"%s\"\n", i, cases[i].error);
      dump(&rep);
    }
    CHECK(report_has(&rep, true, cases[i].error));
  }
  lb_log_clear_secrets();
}

TEST(config_every_provider_name_of_src_ai_is_accepted_by_the_startup_check) {
  for (int i = 0; ai_provider_names[i]; i++) {
    char list[64];
    snprintf(list, sizeof list, "AI_PROVIDERS=%s", ai_provider_names[i]);
    char *env[] = {list, "LOCAL_LLM_MODEL=m", "OPENROUTER_MODEL=m", NULL};
    lb_config c;
    lb_cfg_report rep;
    lb_err rc = load(env, &c, &rep);
    if (rc) dump(&rep);
    CHECK_OK(rc);
    ai_config ac;
    lb_errbuf eb;
    CHECK_OK(ai_config_from_lb(&c, &ac, NULL, &eb));
  }
}

TEST(config_min_agree_above_the_voters_is_warned) {
  char *env[] = {"AI_PROVIDERS=anthropic,openai", "ANTHROPIC_API_KEY=sk-ant-abcdefgh",
                 "OPENAI_API_KEY=sk-abcdefgh", "AI_MIN_AGREE=3", NULL};
  lb_config c;
  lb_cfg_report rep;
  REQUIRE_OK(load(env, &c, &rep));
  CHECK(report_has(&rep, false, "AI_MIN_AGREE=3 but only 2 analysts can vote"));
  lb_log_clear_secrets();
}

TEST(config_no_llm_key_gives_a_panel_of_the_technical_analyst_alone) {
  char *env[] = {NULL};
  lb_config c;
  lb_cfg_report rep;
  REQUIRE_OK(load(env, &c, &rep));
  strategy_panel *p = NULL;
  lb_errbuf eb;
  lb_err rc = ai_panel_from_config(&c, NULL, &p, &eb);
  if (rc) printf("    %s\n", eb.msg);
  REQUIRE_OK(rc);
  strategy_consensus_rules rules;
  ai_panel_rules(p, &rules);
  CHECK(rules.allow_single); /* the technical analyst may decide alone */
  ta_snapshot snap;
  strategy_context ctx;
  aitest_snapshot(&snap, 42000);
  aitest_context(&ctx, 1700000000000);
  strategy_vote v[4];
  int n = p->ask(p, &snap, &ctx, v, 4);
  REQUIRE_EQ(n, 1);
  CHECK_CONTAINS(v[0].analyst, "technical");
  CHECK(v[0].ok);
  ai_provider_health h[2];
  CHECK_EQ(ai_panel_health(p, h, 2), 0); /* no LLM to report */
  p->destroy(p);
}

TEST(config_technical_analyst_votes_with_the_llms_when_asked) {
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  char url[128], key[] = "ANTHROPIC_API_KEY=sk-ant-abcdefgh";
  snprintf(url, sizeof url, "ANTHROPIC_BASE_URL=%s", stub_url(s, ""));
  char *env[] = {"AI_PROVIDERS=anthropic", key, url, "AI_TECHNICAL_VOTER=true",
                 "AI_TECHNICAL_WEIGHT=0.5", NULL};
  lb_config c;
  lb_cfg_report rep;
  REQUIRE_OK(load(env, &c, &rep));
  strategy_panel *p = NULL;
  lb_errbuf eb;
  REQUIRE_OK(ai_panel_from_config(&c, NULL, &p, &eb));
  ta_snapshot snap;
  strategy_context ctx;
  aitest_snapshot(&snap, 42000);
  aitest_context(&ctx, 1700000000000);
  strategy_vote v[4];
  int n = p->ask(p, &snap, &ctx, v, 4);
  REQUIRE_EQ(n, 2);
  CHECK_STREQ(v[0].analyst, "anthropic/claude-sonnet-4-5");
  CHECK(v[0].ok);
  CHECK_CONTAINS(v[1].analyst, "technical");
  CHECK_NEAR(v[1].weight, 0.5, 0);
  CHECK_EQ(stub_requests(s), 1);
  strategy_consensus_rules rules;
  ai_panel_rules(p, &rules);
  CHECK(!rules.allow_single);
  p->destroy(p);
  stub_stop(s);
  lb_log_clear_secrets();
}
