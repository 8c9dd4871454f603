/* ai_config.c -- from the configuration table (src/core/cfg/ai.def) to ai_config.
 *
 * One row per provider: its wire format, which lb_config fields hold its
 * settings, and how it is asked for JSON.  The names here and in
 * check_ai() (src/core/config_check.c) are the same list; tests/ai checks
 * that every name here is accepted there.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "ai/ai_int.h"
#include "strategy/strategy.h"

const char *const ai_provider_names[] = {"anthropic", "openai",     "deepseek",
                                         "grok",      "openrouter", "local", NULL};

typedef struct {
  const char *name;
  ai_wire wire;
  bool needs_key;
  bool max_completion_tokens;
  const char *title;
  size_t key, url, model, weight, price_in, price_out;
  long json_mode; /* offset of the *_JSON_MODE field, or -1 (Anthropic) */
} provider_row;

#define ROW(name, wire, needs_key, mct, title, f, json)                                      \
  {name, wire, needs_key, mct, title, offsetof(lb_config, f##_api_key),                      \
   offsetof(lb_config, f##_base_url), offsetof(lb_config, f##_model),                        \
   offsetof(lb_config, f##_weight), offsetof(lb_config, f##_price_input),                    \
   offsetof(lb_config, f##_price_output), json}

static const provider_row rows[] = {
    ROW("anthropic", AI_WIRE_ANTHROPIC, true, false, NULL, anthropic, -1),
    ROW("openai", AI_WIRE_OPENAI, true, true, NULL, openai,
        (long)offsetof(lb_config, openai_json_mode)),
    ROW("deepseek", AI_WIRE_OPENAI, true, false, NULL, deepseek,
        (long)offsetof(lb_config, deepseek_json_mode)),
    ROW("grok", AI_WIRE_OPENAI, true, false, NULL, grok, (long)offsetof(lb_config, grok_json_mode)),
    ROW("openrouter", AI_WIRE_OPENAI, true, false, "levbot", openrouter,
        (long)offsetof(lb_config, openrouter_json_mode)),
    ROW("local", AI_WIRE_OPENAI, false, false, NULL, local_llm,
        (long)offsetof(lb_config, local_llm_json_mode)),
};

#define FIELD(c, off, type) ((const type *)((const char *)(c) + (off)))

void ai_config_defaults(ai_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->technical_weight = 1.0;
  cfg->timeout_ms = 30 * LB_MS_SECOND;
  cfg->max_attempts = 3;
  cfg->jitter = 0.25;
  cfg->max_retry_after_ms = 60 * LB_MS_SECOND;
  cfg->max_tokens = 1024;
  cfg->temperature = 0.2;
  cfg->cache_ttl_ms = 900 * LB_MS_SECOND;
  cfg->unhealthy_after = 3;
  cfg->limits = (lb_decision_limits){3, 0.07, 0.08};
  cfg->rules = (strategy_consensus_rules){2, false, 0.80};
}

static const provider_row *find_row(const char *name) {
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
    if (strcmp(rows[i].name, name) == 0) return &rows[i];
  return NULL;
}

static lb_err fill_provider(const lb_config *c, const provider_row *r, ai_provider_cfg *p,
                            lb_errbuf *eb) {
  memset(p, 0, sizeof *p);
  snprintf(p->name, sizeof p->name, "%s", r->name);
  p->wire = r->wire;
  snprintf(p->api_key, sizeof p->api_key, "%s", FIELD(c, r->key, char));
  snprintf(p->base_url, sizeof p->base_url, "%s", FIELD(c, r->url, char));
  const char *model = FIELD(c, r->model, char);
  if (strlen(model) >= sizeof p->model)
    return lb_fail(eb, LB_EINVAL, "model name of %s is longer than %zu characters", r->name,
                   sizeof p->model - 1);
  snprintf(p->model, sizeof p->model, "%s", model);
  p->weight = *FIELD(c, r->weight, double);
  p->price_in = *FIELD(c, r->price_in, lb_dec);
  p->price_out = *FIELD(c, r->price_out, lb_dec);
  p->json_mode = AI_JSON_PROMPT;
  if (r->json_mode >= 0 &&
      ai_json_mode_parse(FIELD(c, (size_t)r->json_mode, char), &p->json_mode) != LB_OK)
    return lb_fail(eb, LB_EINVAL, "JSON mode \"%s\" of %s is unknown",
                   FIELD(c, (size_t)r->json_mode, char), r->name);
  p->max_completion_tokens = r->max_completion_tokens;
  p->title = r->title;
  return LB_OK;
}

lb_err ai_config_from_lb(const lb_config *c, ai_config *out, int *skipped, lb_errbuf *eb) {
  ai_config_defaults(out);
  if (skipped) *skipped = 0;
  char items[16][64];
  int n = lb_cfg_split_list(c->ai_providers, items, 16);
  if (n < 0) return lb_fail(eb, LB_ECONFIG, "AI_PROVIDERS lists more than 16 providers");
  for (int i = 0; i < n; i++) {
    const provider_row *r = find_row(items[i]);
    if (!r) return lb_fail(eb, LB_ECONFIG, "AI_PROVIDERS: unknown provider \"%s\"", items[i]);
    for (int k = 0; k < out->n_prov; k++)
      if (strcmp(out->prov[k].name, r->name) == 0)
        return lb_fail(eb, LB_ECONFIG, "AI_PROVIDERS lists %s twice", r->name);
    if (!strcmp(r->name, "grok") && !c->enable_grok) continue; /* the seed's switch */
    if (r->needs_key && !*FIELD(c, r->key, char)) {
      if (skipped) (*skipped)++;
      continue;
    }
    if (out->n_prov >= AI_MAX_PROVIDERS)
      return lb_fail(eb, LB_ECONFIG, "more than %d providers", AI_MAX_PROVIDERS);
    lb_err rc = fill_provider(c, r, &out->prov[out->n_prov], eb);
    if (rc) return rc;
    out->n_prov++;
  }
  out->technical_voter = c->ai_technical_voter;
  out->technical_weight = c->ai_technical_weight;
  out->timeout_ms = c->ai_timeout_seconds * LB_MS_SECOND;
  out->max_attempts = (int)c->ai_max_attempts;
  out->max_retry_after_ms = c->ai_max_retry_after_seconds * LB_MS_SECOND;
  out->max_tokens = (int)c->ai_max_tokens;
  out->temperature = c->ai_temperature;
  out->cache_ttl_ms = c->ai_cache_ttl * LB_MS_SECOND;
  out->unhealthy_after = (int)c->ai_unhealthy_after;
  out->limits.max_leverage = (int)c->max_leverage;
  out->limits.min_stop = c->min_stop_loss_percent;
  out->limits.max_stop = c->max_stop_loss_percent;
  out->rules.min_agree = (int)c->ai_min_agree;
  out->rules.allow_single = c->allow_single_model;
  out->rules.min_confidence = c->min_ai_confidence;
  snprintf(out->prompt_file, sizeof out->prompt_file, "%s", c->ai_prompt_file);
  return LB_OK;
}

lb_err ai_panel_from_config(const lb_config *c, const ai_deps *deps, strategy_panel **out,
                            lb_errbuf *eb) {
  ai_config cfg;
  ai_deps d;
  if (deps) d = *deps;
  else memset(&d, 0, sizeof d);
  *out = NULL;
  lb_err rc = ai_config_from_lb(c, &cfg, NULL, eb);
  if (rc) {
    if (d.technical) d.technical->destroy(d.technical);
    return rc;
  }
  /* The built-in analyst votes when asked to, and decides alone when no
   * LLM has a key (the bot then runs offline). */
  if (!d.technical && (cfg.technical_voter || cfg.n_prov == 0)) {
    rc = strategy_technical_panel_new(NULL, &d.technical, eb);
    if (rc) return rc;
  }
  return ai_panel_new(&cfg, &d, out, eb);
}
