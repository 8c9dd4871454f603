/* test_prompt.c -- the system prompt (a reviewed artefact), its hash, and the user message. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aitest.h"
#include "core/buf.h"
#include "unit.h"

/* The hash as an independent tool computes it. */
static void sha256sum(const char *path, char out[65]) {
  char cmd[1200], *text = NULL;
  snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
  out[0] = '\0';
  if (lbt_run(cmd, &text) != 0 || sscanf(text, "%64s", out) != 1) out[0] = '\0';
  free(text);
}

static strategy_panel *idle_panel(const char *prompt_file) {
  /* A panel needs an analyst; a provider that is never asked will do. */
  ai_config cfg;
  aitest_config(&cfg);
  snprintf(cfg.prompt_file, sizeof cfg.prompt_file, "%s", prompt_file ? prompt_file : "");
  ai_provider_cfg *p = &cfg.prov[cfg.n_prov++];
  snprintf(p->name, sizeof p->name, "local");
  p->wire = AI_WIRE_OPENAI;
  snprintf(p->base_url, sizeof p->base_url, "http://127.0.0.1:9/v1");
  snprintf(p->model, sizeof p->model, "m");
  p->weight = 1;
  strategy_panel *panel = NULL;
  lb_errbuf eb;
  if (ai_panel_new(&cfg, NULL, &panel, &eb)) printf("    %s\n", eb.msg);
  return panel;
}

TEST(prompt_builtin_text_is_the_reviewed_file_byte_for_byte) {
  /* prompts/embed.py generates the compiled-in copy; a stale copy fails here. */
  const char *path = lbt_source_path("prompts/system-v1.txt");
  lb_buf file;
  lb_buf_init(&file);
  lb_errbuf eb;
  REQUIRE_OK(lb_buf_read_file(&file, path, 0, &eb));
  strategy_panel *p = idle_panel(NULL);
  REQUIRE(p != NULL);
  ai_stats st;
  ai_panel_stats(p, &st);
  CHECK_STREQ(st.prompt_version, "system-v1");
  char want[65];
  sha256sum(path, want);
  REQUIRE(strlen(want) == 64);
  CHECK_STREQ(st.prompt_hash, want);
  p->destroy(p);
  lb_buf_free(&file);
}

TEST(prompt_carries_the_seed_framework_and_the_output_schema) {
  lb_buf t;
  lb_buf_init(&t);
  lb_errbuf eb;
  REQUIRE_OK(lb_buf_read_file(&t, lbt_source_path("prompts/system-v1.txt"), 0, &eb));
  /* The five principles. */
  CHECK_CONTAINS(t.data, "Capital preservation first");
  CHECK_CONTAINS(t.data, "Probabilistic thinking");
  CHECK_CONTAINS(t.data, "Risk-adjusted returns");
  CHECK_CONTAINS(t.data, "Market regime awareness");
  CHECK_CONTAINS(t.data, "Leverage is a tool, not a goal");
  /* The analysis framework. */
  CHECK_CONTAINS(t.data, "Multi-timeframe confluence");
  CHECK_CONTAINS(t.data, "Volume confirmation");
  CHECK_CONTAINS(t.data, "Support and resistance");
  CHECK_CONTAINS(t.data, "Regime strategies");
  CHECK_CONTAINS(t.data, "Funding rate");
  /* Red flags, sizing, stops, confidence. */
  CHECK_CONTAINS(t.data, "RSI(14) above 80 or below 20");
  CHECK_CONTAINS(t.data, "Extremely low volume");
  CHECK_CONTAINS(t.data, "middle between the nearest support and resistance");
  CHECK_CONTAINS(t.data, "MACD divergence");
  CHECK_CONTAINS(t.data, "Volatile market regime");
  CHECK_CONTAINS(t.data, "Timeframes disagreeing");
  CHECK_CONTAINS(t.data, "up to 4-5x");
  CHECK_CONTAINS(t.data, "3x at most");
  CHECK_CONTAINS(t.data, "2x at most, or no trade");
  CHECK_CONTAINS(t.data, "beyond the nearest swing low");
  CHECK_CONTAINS(t.data, "0.90-1.00");
  CHECK_CONTAINS(t.data, "0.80-0.89");
  CHECK_CONTAINS(t.data, "0.75-0.79");
  CHECK_CONTAINS(t.data, "below 0.75: do not trade");
  /* The schema of DESIGN.md section 3, every field. */
  const char *fields[] = {"\"action\": \"LONG\" | \"SHORT\" | \"HOLD\"", "\"confidence\"",
                          "\"leverage\"", "\"stop_loss_percent\"", "\"take_profit_percent\"",
                          "\"market_regime\": \"trending\" | \"ranging\" | \"volatile\"",
                          "\"reasoning\""};
  for (int i = 0; i < 7; i++) CHECK_CONTAINS(t.data, fields[i]);
  lb_buf_free(&t);
}

TEST(prompt_file_override_changes_version_and_hash_and_is_sent) {
  char path[400];
  snprintf(path, sizeof path, "%.300s/my-prompt-v2.txt", lbt_tmpdir());
  FILE *fp = fopen(path, "w");
  REQUIRE(fp != NULL);
  fputs("You are a cautious analyst. Answer with JSON.\n", fp);
  fclose(fp);
  stub_llm *s = stub_start();
  REQUIRE(s != NULL);
  ai_config cfg;
  aitest_config(&cfg);
  snprintf(cfg.prompt_file, sizeof cfg.prompt_file, "%s", path);
  aitest_add_provider(&cfg, "anthropic", AI_WIRE_ANTHROPIC, s, "key-abcdefgh");
  strategy_panel *p = NULL;
  lb_errbuf eb;
  REQUIRE_OK(ai_panel_new(&cfg, NULL, &p, &eb));
  ai_stats st;
  ai_panel_stats(p, &st);
  CHECK_STREQ(st.prompt_version, "my-prompt-v2.txt");
  char want[65];
  sha256sum(path, want);
  CHECK_STREQ(st.prompt_hash, want);
  ta_snapshot snap;
  strategy_context ctx;
  aitest_snapshot(&snap, 100);
  aitest_context(&ctx, 1700000000000);
  strategy_vote v[2];
  p->ask(p, &snap, &ctx, v, 2);
  stub_request rq;
  REQUIRE(stub_request_get(s, 0, &rq));
  CHECK_CONTAINS(rq.body, "\"system\":\"You are a cautious analyst. Answer with JSON.\\n\"");
  stub_request_free(&rq);
  p->destroy(p);
  stub_stop(s);

  snprintf(cfg.prompt_file, sizeof cfg.prompt_file, "%.300s/missing.txt", lbt_tmpdir());
  CHECK_EQ(ai_panel_new(&cfg, NULL, &p, &eb), LB_EIO);
  CHECK_CONTAINS(eb.msg, "missing.txt");
}

/* The user message's market part: what is hashed for the cache. */
static void user_hash(double close, double funding, lb_dec capital, lb_dec mark, int max_lev,
                      char out[65], lb_buf *msg) {
  ta_snapshot snap;
  strategy_context ctx;
  aitest_snapshot(&snap, close);
  aitest_context(&ctx, 1700000000000);
  ctx.funding_rate = funding;
  ctx.capital = capital;
  ctx.mark_price = mark;
  ctx.max_leverage = max_lev;
  lb_errbuf eb;
  lb_buf_reset(msg);
  /* The user message as a provider receives it. */
  stub_llm *s = stub_start();
  ai_config cfg;
  aitest_config(&cfg);
  aitest_add_provider(&cfg, "openai", AI_WIRE_OPENAI, s, "key-abcdefgh");
  strategy_panel *p = NULL;
  if (ai_panel_new(&cfg, NULL, &p, &eb)) return;
  strategy_vote v[2];
  p->ask(p, &snap, &ctx, v, 2);
  stub_request rq;
  if (stub_request_get(s, 0, &rq)) {
    json_error_t je;
    json_t *o = json_loads(rq.body, 0, &je);
    const char *u = json_string_value(
        json_object_get(json_array_get(json_object_get(o, "messages"), 1), "content"));
    lb_buf_puts(msg, u ? u : "");
    json_decref(o);
    stub_request_free(&rq);
  }
  p->destroy(p);
  stub_stop(s);
  /* The market part starts at "Limits" (capital and mark price come before). */
  const char *m = strstr(msg->data, "Limits");
  char tmp[65] = "";
  if (m) {
    char path[600];
    snprintf(path, sizeof path, "%s/market.txt", lbt_tmpdir());
    FILE *f = fopen(path, "w");
    if (f) {
      fputs(m, f);
      fclose(f);
      sha256sum(path, tmp);
    }
  }
  snprintf(out, 65, "%s", tmp);
}

TEST(prompt_user_message_carries_snapshot_funding_capital_and_limits) {
  lb_buf msg;
  lb_buf_init(&msg);
  char h1[65], h2[65], h3[65], h4[65], h5[65];
  user_hash(42000, 0.0001, LB_DEC_INT(100), LB_DEC_INT(42010), 3, h1, &msg);
  CHECK_CONTAINS(msg.data, "Analyse the BTCUSDT perpetual future");
  CHECK_CONTAINS(msg.data, "capital 100 USDT; current mark price 42010");
  CHECK_CONTAINS(msg.data, "\"max_leverage\":3");
  CHECK_CONTAINS(msg.data, "\"min_stop_loss_percent\":0.07");
  CHECK_CONTAINS(msg.data, "\"max_stop_loss_percent\":0.08");
  CHECK_CONTAINS(msg.data, "\"max_risk_per_trade\":0.1");
  CHECK_CONTAINS(msg.data, "\"min_confidence\":0.8");
  CHECK_CONTAINS(msg.data, "Funding rate: 0.00010 (0.0100% per 8 h");
  CHECK_CONTAINS(msg.data, "\"timeframes\":[");
  CHECK_CONTAINS(msg.data, "\"rsi14\":61.2");
  REQUIRE(strlen(h1) == 64);
  /* Capital and mark price move every scan: they do not change the market part. */
  user_hash(42000, 0.0001, LB_DEC_INT(250), LB_DEC_INT(41990), 3, h2, &msg);
  CHECK_STREQ(h1, h2);
  /* A new candle, another funding rate or other limits do. */
  user_hash(42100, 0.0001, LB_DEC_INT(100), LB_DEC_INT(42010), 3, h3, &msg);
  user_hash(42000, 0.0005, LB_DEC_INT(100), LB_DEC_INT(42010), 3, h4, &msg);
  user_hash(42000, 0.0001, LB_DEC_INT(100), LB_DEC_INT(42010), 5, h5, &msg);
  CHECK(strcmp(h1, h3) != 0);
  CHECK(strcmp(h1, h4) != 0);
  CHECK(strcmp(h1, h5) != 0);
  user_hash(42000, NAN, LB_DEC_INT(100), LB_DEC_INT(42010), 3, h5, &msg);
  CHECK_CONTAINS(msg.data, "Funding rate: unknown");
  lb_buf_free(&msg);
}
