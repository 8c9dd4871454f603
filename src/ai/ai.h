/* ai.h -- the AI engine: several LLMs asked at once, strict answers, cache, cost.
 *
 * Owns: the LLM providers (Anthropic Messages; OpenAI-compatible chat
 * completions for OpenAI, DeepSeek, xAI Grok, OpenRouter and a local Ollama
 * or llama.cpp server), the system prompt (prompts/system-v1.txt, compiled
 * in) and the user message built from a ta_snapshot, answer parsing and
 * validation, retry with back-off, the AI cache, the audit rows
 * (ai_decisions, ai_consensus) and the per-provider health the /health
 * endpoint and the AI failure breaker read.  The result is a strategy_panel
 * (strategy/analyst.h): the engine asks it off the position-monitor path
 * and takes the consensus itself with strategy_consensus_decide().
 *
 * Headers: ai.h (this: configuration, panel, health, stats) and
 * ai/ai_wire.h (wire formats, answer parser, retry policy: pure pieces).
 *
 * Must not: size positions, place orders or touch risk limits (a decision
 * is only checked against them); write SQL (everything persistent goes
 * through store.h); send a secret anywhere but the provider's auth header.
 *
 * Invariants:
 *   1. A vote is ok only for a complete, schema-valid, in-range answer;
 *      every other outcome is a HOLD whose reasoning (and vote.error) says
 *      why, and never counts as a vote for a trade.
 *   2. All configured providers are asked concurrently; one provider's
 *      failure or retries never delay or change another's vote.
 *   3. A cache hit makes no HTTP request; the cache key is symbol +
 *      provider/model + prompt hash + market hash (the snapshot at the last
 *      closed candle with the limits and funding), and a hit expires at
 *      put time + AI_CACHE_TTL.
 *   4. Every answer or failure, cached or not, becomes one ai_decisions row
 *      (provider, model, latency, attempts, tokens, cost, the decision or
 *      the error, prompt and market hashes).
 *
 * Threads: ask() is blocking and not reentrant (one analysis at a time per
 * panel); ai_panel_health() and ai_panel_stats() may be called from any
 * thread at any time.
 */
#ifndef LB_AI_AI_H
#define LB_AI_AI_H

#include <stdbool.h>
#include <stdint.h>

#include "ai/ai_wire.h"
#include "core/config.h"
#include "core/decision.h"
#include "core/money.h"
#include "core/time.h"
#include "store/store.h"
#include "strategy/analyst.h"

#define AI_MAX_PROVIDERS 6
#define AI_NAME_MAX 32
#define AI_MODEL_MAX 128

/* ==== Configuration ==== */

typedef struct {
  char name[AI_NAME_MAX]; /* "anthropic", "openai", "deepseek", "grok", "openrouter", "local" */
  ai_wire wire;
  char base_url[LB_CFG_STR_MAX];
  char api_key[LB_CFG_STR_MAX]; /* secret: sent only in the provider's auth header */
  char model[AI_MODEL_MAX];
  double weight;                /* > 0, the vote's weight in the consensus */
  lb_dec price_in, price_out;   /* USD per million input / output tokens */
  ai_json_mode json_mode;       /* OpenAI wire only */
  bool max_completion_tokens;   /* OpenAI itself names max_tokens so */
  const char *title;            /* OpenRouter's X-Title, else NULL */
} ai_provider_cfg;

typedef struct {
  ai_provider_cfg prov[AI_MAX_PROVIDERS];
  int n_prov;
  bool technical_voter;      /* the built-in technical analyst votes too */
  double technical_weight;
  lb_ms timeout_ms;          /* per attempt (AI_TIMEOUT_SECONDS) */
  int max_attempts;          /* AI_MAX_ATTEMPTS, 1..5 */
  double jitter;             /* random extra back-off, fraction of the wait (0.25) */
  lb_ms max_retry_after_ms;  /* a longer retry-after is not waited for: the call fails */
  int max_tokens;
  double temperature;        /* < 0: not sent */
  lb_ms cache_ttl_ms;        /* 0: no cache */
  int unhealthy_after;       /* consecutive failed calls that mark a provider unhealthy */
  lb_decision_limits limits; /* MAX_LEVERAGE, MIN/MAX_STOP_LOSS_PERCENT */
  strategy_consensus_rules rules; /* AI_MIN_AGREE, ALLOW_SINGLE_MODEL, MIN_AI_CONFIDENCE */
  char prompt_file[LB_CFG_STR_MAX]; /* "" = the built-in prompt */
  uint64_t seed;             /* jitter's random state; 0 = from the clock */
} ai_config;

/* Defaults of every field (no provider). */
void ai_config_defaults(ai_config *cfg);

/* From the validated configuration: the providers of AI_PROVIDERS in list
 * order (grok only while ENABLE_GROK), each only when it has an API key or
 * needs none (a local server); lb_config_check has warned about the rest.
 * *skipped (may be NULL) counts the providers left out for want of a key. */
lb_err ai_config_from_lb(const lb_config *c, ai_config *out, int *skipped, lb_errbuf *eb);

/* Names accepted in AI_PROVIDERS, NULL-terminated (kept equal to
 * check_ai()'s list in src/core/config_check.c; tests/ai checks). */
extern const char *const ai_provider_names[];

/* ==== Events (the AI failure breaker, notifications) ==== */

typedef enum {
  AI_EV_ALL_FAILED = 1, /* no LLM gave a valid answer in an analysis (detail: each reason) */
  AI_EV_PROVIDER_DOWN,  /* a provider reached unhealthy_after consecutive failures */
  AI_EV_PROVIDER_UP     /* an unhealthy provider answered again */
} ai_event_kind;

typedef struct {
  ai_event_kind kind;
  const char *provider; /* NULL for AI_EV_ALL_FAILED */
  int failures;         /* consecutive failures (provider) or failed analyses (all) */
  const char *detail;   /* redacted text */
} ai_event;

/* ==== The panel ==== */

typedef struct {
  store *db;                 /* cache and audit rows; NULL = neither (still works) */
  const lb_clock *clock;     /* back-off waits, and "now" when ctx->now is 0; NULL = system */
  strategy_panel *technical; /* the built-in analyst (src/strategy); owned by the AI
                              * panel from ai_panel_new on (also on failure); NULL = none */
  void (*on_event)(void *ctx, const ai_event *ev); /* runs in ask()'s thread; may be NULL */
  void *event_ctx;
} ai_deps;

/* A panel asking every provider of cfg (and deps->technical when
 * cfg->technical_voter is set, or when cfg has no provider: then it is the
 * only analyst).  LB_ECONFIG when there is no analyst at all; LB_EINVAL
 * naming a bad provider field; LB_EIO when AI_PROMPT_FILE cannot be read.
 * Free with panel->destroy(panel). */
lb_err ai_panel_new(const ai_config *cfg, const ai_deps *deps, strategy_panel **out,
                    lb_errbuf *eb);

/* The one call `levbot run` makes: ai_config_from_lb + ai_panel_new. */
lb_err ai_panel_from_config(const lb_config *c, const ai_deps *deps, strategy_panel **out,
                            lb_errbuf *eb);

/* True when p was made by ai_panel_new (the functions below need one). */
bool ai_panel_is(const strategy_panel *p);

/* The consensus rules to use with this panel's votes: the configured ones,
 * except that a panel whose only analyst is the technical one lets it
 * decide alone (allow_single). */
void ai_panel_rules(const strategy_panel *p, strategy_consensus_rules *out);

/* Writes the last ask()'s ai_decisions rows with their consensus (one
 * round, one transaction, asynchronously) and gives the consensus id for
 * the trade row (id_out: STORE_ID_MAX bytes, may be NULL).  A round not
 * recorded before the next ask() or destroy is written without a
 * consensus, so no answer is ever lost.  LB_ESTATE if there is no round. */
lb_err ai_panel_record_round(strategy_panel *p, const strategy_consensus *c, char *id_out,
                             lb_errbuf *eb);

/* ==== Health and statistics ==== */

typedef struct {
  char name[AI_NAME_MAX];
  char model[AI_MODEL_MAX];
  bool healthy;             /* fewer than unhealthy_after consecutive failures */
  int consecutive_failures;
  long calls;               /* analyses that made a request */
  long failures;            /* of those, ended without a valid answer */
  long cache_hits;
  lb_ms last_ok_at, last_failure_at; /* 0 = never */
  lb_ms last_latency_ms;
  char last_error[200];     /* redacted */
} ai_provider_health;

/* One entry per LLM provider (not the technical analyst), in order.
 * Returns the count written (at most max). */
int ai_panel_health(const strategy_panel *p, ai_provider_health *out, int max);

typedef struct {
  long asks;           /* analyses */
  long http_requests;  /* attempts sent, retries included */
  long llm_calls;      /* provider answers not from the cache */
  long cache_hits;
  long failures;       /* LLM calls without a valid answer */
  long all_failed;     /* analyses where no LLM answered (AI_EV_ALL_FAILED) */
  int failure_streak;  /* consecutive analyses with AI_EV_ALL_FAILED (the breaker's count) */
  long tokens_in, tokens_out, tokens_cache;
  lb_dec cost_usd;
  char prompt_version[64];
  char prompt_hash[72];
} ai_stats;

void ai_panel_stats(const strategy_panel *p, ai_stats *out);

#endif
