/* ai_panel.c -- the AI panel: cache, concurrent calls, votes, health, audit rows.
 *
 * One ask() is one analysis of one snapshot:
 *   1. build the user message and the market hash (ai_prompt.c);
 *   2. per provider, look the answer up in the cache (a hit asks nobody);
 *   3. ask every remaining provider at once with retries (ai_http.c);
 *   4. parse each reply into a vote (ai_answer.c), cache the valid ones;
 *   5. let the technical analyst vote when configured;
 *   6. update health and counters, raise events, keep the round's rows
 *      until ai_panel_record_round() links them to the engine's consensus.
 * The consensus itself is the engine's call (strategy_consensus_decide).
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_int.h"
#include "core/log.h"

#define LOG_MOD "ai"
/* Expired cache rows are deleted at most this often (a miss also deletes
 * the expired row it finds). */
#define PURGE_EVERY LB_MS_HOUR

typedef struct {
  strategy_panel base;
  ai_config cfg;
  ai_deps deps;
  const lb_clock *clock;
  bool use_technical;
  ai_prompt prompt;
  CURLM *multi;
  uint64_t rng;
  lb_ms last_purge;
  unsigned long seq;

  pthread_mutex_t mu; /* guards health and stats (read by other threads) */
  ai_provider_health health[AI_MAX_PROVIDERS];
  ai_stats stats;

  /* The last analysis, until recorded. */
  bool pending;
  int n_rows;
  store_ai_decision rows[STRATEGY_MAX_VOTERS];
  char *row_json[STRATEGY_MAX_VOTERS];
  char row_err[STRATEGY_MAX_VOTERS][256];
  char round_symbol[LB_SYMBOL_MAX];
  lb_ms round_at;
} ai_panel;

static int panel_ask(strategy_panel *self, const ta_snapshot *snap, const strategy_context *ctx,
                     strategy_vote *votes, int max);
static void panel_destroy(strategy_panel *self);

bool ai_panel_is(const strategy_panel *p) { return p && p->ask == panel_ask; }

/* ==== Rounds ==== */

static void clear_round(ai_panel *P) {
  for (int i = 0; i < P->n_rows; i++) {
    free(P->row_json[i]);
    P->row_json[i] = NULL;
  }
  P->n_rows = 0;
  P->pending = false;
}

static void flush_round(ai_panel *P, const store_ai_consensus *c) {
  if (P->pending && P->deps.db && P->n_rows > 0) {
    for (int i = 0; i < P->n_rows; i++)
      snprintf(P->rows[i].consensus_id, sizeof P->rows[i].consensus_id, "%s", c ? c->id : "");
    lb_errbuf eb;
    if (store_ai_round_record(P->deps.db, c, P->rows, P->n_rows, STORE_ASYNC, &eb))
      LB_WARN(LOG_MOD, "cannot record AI decisions: %s", eb.msg);
  }
  clear_round(P);
}

lb_err ai_panel_record_round(strategy_panel *p, const strategy_consensus *c, char *id_out,
                             lb_errbuf *eb) {
  if (!ai_panel_is(p)) return lb_fail(eb, LB_EINVAL, "not an AI panel");
  ai_panel *P = p->impl;
  if (!P->pending) return lb_fail(eb, LB_ESTATE, "no analysis to record");
  store_ai_consensus sc;
  memset(&sc, 0, sizeof sc);
  snprintf(sc.id, sizeof sc.id, "c-%s-%lld-%lu-%04x", P->round_symbol, (long long)P->round_at,
           P->seq, (unsigned)(P->rng & 0xffff));
  snprintf(sc.symbol, sizeof sc.symbol, "%s", P->round_symbol);
  sc.action = c->decision.action;
  sc.confidence = c->decision.confidence;
  sc.n_voters = c->n_answered;
  sc.created_at = P->round_at;
  if (id_out) snprintf(id_out, STORE_ID_MAX, "%s", sc.id);
  flush_round(P, &sc);
  return LB_OK;
}

/* ==== Votes ==== */

static void vote_init(strategy_vote *v, const char *name, const char *model, double weight) {
  memset(v, 0, sizeof *v);
  snprintf(v->analyst, sizeof v->analyst, "%s/%.*s", name, (int)(sizeof v->analyst - 2 - strlen(name)),
           model);
  v->weight = weight;
}

static void vote_fail(strategy_vote *v, const char *what, const char *why) {
  v->ok = false;
  ai_strf(v->error, sizeof v->error, "%s%s", what, why);
  lb_decision_hold(&v->decision, "%s", v->error);
}

static void cache_key(const ai_panel *P, const ai_provider_cfg *pc, const char *symbol,
                      const char *market_hash, char *out, size_t n) {
  snprintf(out, n, "%s|%s/%s|%s|%s", symbol, pc->name, pc->model, P->prompt.hash, market_hash);
}

/* A valid cached answer: the decision is checked again against today's
 * limits, and one that no longer passes is a miss. */
static bool cache_lookup(ai_panel *P, const char *key, lb_ms now, strategy_vote *v) {
  if (!P->deps.db || P->cfg.cache_ttl_ms <= 0) return false;
  char *resp = NULL;
  bool hit = false;
  lb_errbuf eb;
  if (store_ai_cache_get(P->deps.db, key, now, &resp, &hit, &eb) != LB_OK) {
    LB_WARN(LOG_MOD, "AI cache read failed: %s", eb.msg);
    return false;
  }
  if (!hit || !resp) {
    free(resp);
    return false;
  }
  lb_decision d;
  bool ok = lb_decision_from_json(resp, strlen(resp), &P->cfg.limits, &d, &eb) == LB_OK;
  free(resp);
  if (!ok) return false;
  v->ok = true;
  v->cached = true;
  v->decision = d;
  return true;
}

static void cache_store(ai_panel *P, const char *key, const char *symbol, const char *model,
                        const lb_decision *d, lb_ms now) {
  if (!P->deps.db || P->cfg.cache_ttl_ms <= 0) return;
  char *json = lb_decision_to_json(d);
  if (!json) return;
  lb_errbuf eb;
  if (store_ai_cache_put(P->deps.db, key, symbol, model, json, P->cfg.cache_ttl_ms, now, &eb))
    LB_WARN(LOG_MOD, "AI cache write failed: %s", eb.msg);
  free(json);
}

/* The vote of a finished call. */
static void vote_from_call(const ai_panel *P, ai_call *c, strategy_vote *v) {
  v->attempts = c->attempts;
  v->latency_ms = c->http_ms + c->waited_ms;
  if (c->fail != AI_FAIL_NONE) {
    vote_fail(v, "", c->why);
    return;
  }
  if (c->reply_rc != LB_OK) {
    vote_fail(v, "bad reply: ", c->reply_err);
    return;
  }
  const ai_reply *r = &c->reply;
  lb_errbuf eb;
  size_t n = r->text ? strlen(r->text) : 0;
  if (ai_answer_parse(r->text, n, r->stop, r->refusal, &P->cfg.limits, &v->decision, &eb)) {
    v->ok = false;
    snprintf(v->error, sizeof v->error, "%s", eb.msg);
    return;
  }
  v->ok = true;
}

/* ==== Health, stats, events ==== */

static void emit(ai_panel *P, ai_event_kind kind, const char *provider, int failures,
                 const char *detail) {
  if (!P->deps.on_event) return;
  char red[512];
  lb_redact(detail ? detail : "", red, sizeof red);
  ai_event ev = {kind, provider, failures, red};
  P->deps.on_event(P->deps.event_ctx, &ev);
}

typedef struct {
  bool requested; /* made HTTP requests (not a cache hit) */
  bool ok;
  lb_ms latency;
  const char *error;
} call_outcome;

static void update_health(ai_panel *P, int i, const call_outcome *o, lb_ms now) {
  ai_provider_health *h = &P->health[i];
  bool was_healthy, is_healthy;
  int streak;
  pthread_mutex_lock(&P->mu);
  was_healthy = h->healthy;
  if (!o->requested) {
    h->cache_hits++;
  } else {
    h->calls++;
    h->last_latency_ms = o->latency;
    if (o->ok) {
      h->consecutive_failures = 0;
      h->last_ok_at = now;
    } else {
      h->failures++;
      h->consecutive_failures++;
      h->last_failure_at = now;
      lb_redact(o->error ? o->error : "", h->last_error, sizeof h->last_error);
    }
    h->healthy = h->consecutive_failures < P->cfg.unhealthy_after;
  }
  is_healthy = h->healthy;
  streak = h->consecutive_failures;
  pthread_mutex_unlock(&P->mu);
  if (was_healthy && !is_healthy) {
    LB_ERROR(LOG_MOD, "%s is unhealthy after %d consecutive failures: %s", h->name, streak,
             o->error ? o->error : "");
    emit(P, AI_EV_PROVIDER_DOWN, h->name, streak, o->error);
  } else if (!was_healthy && is_healthy) {
    LB_INFO(LOG_MOD, "%s answers again", h->name);
    emit(P, AI_EV_PROVIDER_UP, h->name, 0, "");
  }
}

/* ==== Audit rows ==== */

static void add_row(ai_panel *P, const strategy_vote *v, const char *provider, const char *model,
                    const char *symbol, const char *market_hash, const ai_reply *r, lb_dec cost,
                    lb_ms now) {
  if (P->n_rows >= STRATEGY_MAX_VOTERS) return;
  int k = P->n_rows++;
  store_ai_decision *d = &P->rows[k];
  memset(d, 0, sizeof *d);
  snprintf(d->id, sizeof d->id, "d-%lld-%lu-%d", (long long)now, P->seq, k);
  snprintf(d->provider, sizeof d->provider, "%s", provider);
  snprintf(d->model, sizeof d->model, "%s", model);
  snprintf(d->symbol, sizeof d->symbol, "%s", symbol);
  snprintf(d->prompt_hash, sizeof d->prompt_hash, "%s", P->prompt.hash);
  snprintf(d->snapshot_hash, sizeof d->snapshot_hash, "%s", market_hash);
  d->latency_ms = (long)v->latency_ms;
  d->attempts = v->attempts;
  if (r) {
    d->tokens_in = r->tokens_in;
    d->tokens_out = r->tokens_out;
    d->tokens_cache = r->cache_read + r->cache_write;
  }
  d->cost_usd = cost;
  d->cached = v->cached;
  P->row_json[k] = v->ok ? lb_decision_to_json(&v->decision) : NULL;
  d->decision_json = P->row_json[k];
  if (!v->ok) {
    snprintf(P->row_err[k], sizeof P->row_err[k], "%s", v->error);
    d->error = P->row_err[k];
  }
  d->created_at = now;
}

/* ==== ask() ==== */

static lb_err start_calls(ai_panel *P, const char *user, ai_call *calls, const int *todo, int n,
                          lb_errbuf *eb) {
  for (int k = 0; k < n; k++) {
    const ai_provider_cfg *pc = &P->cfg.prov[todo[k]];
    ai_request_spec spec = {pc->wire,      pc->base_url,  pc->api_key,
                            pc->model,     pc->json_mode, pc->max_completion_tokens,
                            P->cfg.max_tokens, P->cfg.temperature, pc->title};
    calls[k].wire = pc->wire;
    lb_err rc = ai_request_build(&spec, P->prompt.text, user, &calls[k].head, &calls[k].body, eb);
    if (rc) return rc;
  }
  ai_retry_policy pol = {P->cfg.timeout_ms, P->cfg.max_attempts, P->cfg.jitter,
                         P->cfg.max_retry_after_ms, P->clock, &P->rng};
  return ai_calls_run(P->multi, calls, n, &pol, eb);
}

static void ask_llms(ai_panel *P, const ta_snapshot *snap, const strategy_context *ctx,
                     strategy_vote *votes, int nv, lb_ms now, bool *any_ok, lb_buf *errors) {
  lb_buf user;
  lb_buf_init(&user);
  char mhash[AI_HASH_HEX] = "";
  lb_errbuf eb;
  ai_call calls[AI_MAX_PROVIDERS];
  int todo[AI_MAX_PROVIDERS], n_todo = 0;
  char keys[AI_MAX_PROVIDERS][512];
  for (int i = 0; i < AI_MAX_PROVIDERS; i++) ai_call_init(&calls[i]);

  lb_err rc = ai_user_message(snap, ctx, P->cfg.rules.min_confidence, &user, mhash, &eb);
  for (int i = 0; i < nv; i++) {
    const ai_provider_cfg *pc = &P->cfg.prov[i];
    vote_init(&votes[i], pc->name, pc->model, pc->weight);
    if (rc) {
      vote_fail(&votes[i], "cannot build the prompt: ", eb.msg);
      continue;
    }
    cache_key(P, pc, snap->symbol, mhash, keys[i], sizeof keys[i]);
    if (!cache_lookup(P, keys[i], now, &votes[i])) todo[n_todo++] = i;
  }
  lb_err run_rc = LB_OK;
  if (!rc && n_todo > 0) run_rc = start_calls(P, user.data, calls, todo, n_todo, &eb);

  ai_stats delta;
  memset(&delta, 0, sizeof delta);
  for (int i = 0, k = 0; i < nv; i++) {
    const ai_provider_cfg *pc = &P->cfg.prov[i];
    strategy_vote *v = &votes[i];
    ai_call *c = (k < n_todo && todo[k] == i) ? &calls[k++] : NULL;
    lb_dec cost = 0;
    if (c) {
      if (run_rc && c->attempts == 0) vote_fail(v, "not asked: ", eb.msg);
      else vote_from_call(P, c, v);
      if (c->fail == AI_FAIL_NONE && c->reply_rc == LB_OK)
        cost = ai_cost_usd(&c->reply, pc->price_in, pc->price_out);
      delta.http_requests += c->attempts;
      delta.llm_calls++;
      delta.failures += !v->ok;
      delta.tokens_in += c->reply.tokens_in;
      delta.tokens_out += c->reply.tokens_out;
      delta.tokens_cache += c->reply.cache_read + c->reply.cache_write;
      delta.cost_usd += cost;
      if (v->ok) cache_store(P, keys[i], snap->symbol, pc->model, &v->decision, now);
    } else if (v->cached) {
      delta.cache_hits++;
    }
    if (v->ok) *any_ok = true;
    else {
      lb_buf_printf(errors, "%s%s: %s", errors->len ? "; " : "", pc->name, v->error);
      LB_WARN(LOG_MOD, "%s (%s) gave no valid answer for %s: %s", pc->name, pc->model,
              snap->symbol, v->error);
    }
    call_outcome o = {c != NULL || !v->cached, v->ok, v->latency_ms, v->error};
    update_health(P, i, &o, now);
    add_row(P, v, pc->name, pc->model, snap->symbol, mhash, c ? &c->reply : NULL, cost, now);
  }
  pthread_mutex_lock(&P->mu);
  P->stats.http_requests += delta.http_requests;
  P->stats.llm_calls += delta.llm_calls;
  P->stats.failures += delta.failures;
  P->stats.cache_hits += delta.cache_hits;
  P->stats.tokens_in += delta.tokens_in;
  P->stats.tokens_out += delta.tokens_out;
  P->stats.tokens_cache += delta.tokens_cache;
  P->stats.cost_usd += delta.cost_usd;
  pthread_mutex_unlock(&P->mu);

  for (int i = 0; i < AI_MAX_PROVIDERS; i++) ai_call_close(&calls[i]);
  lb_buf_free(&user);
}

static int ask_technical(ai_panel *P, const ta_snapshot *snap, const strategy_context *ctx,
                         strategy_vote *votes, int max, lb_ms now) {
  strategy_panel *t = P->deps.technical;
  int n = t->ask(t, snap, ctx, votes, max);
  if (n < 0) n = 0;
  if (n > max) n = max;
  for (int i = 0; i < n; i++) {
    if (P->cfg.n_prov > 0) votes[i].weight = P->cfg.technical_weight;
    add_row(P, &votes[i], "technical", votes[i].analyst, snap->symbol, "", NULL, 0, now);
  }
  return n;
}

static void maybe_purge(ai_panel *P, lb_ms now) {
  if (!P->deps.db || P->cfg.cache_ttl_ms <= 0) return;
  if (P->last_purge && now - P->last_purge < PURGE_EVERY) return;
  P->last_purge = now;
  long deleted = 0;
  lb_errbuf eb;
  if (store_ai_cache_purge(P->deps.db, now, &deleted, &eb))
    LB_WARN(LOG_MOD, "AI cache purge failed: %s", eb.msg);
}

static int panel_ask(strategy_panel *self, const ta_snapshot *snap, const strategy_context *ctx,
                     strategy_vote *votes, int max) {
  ai_panel *P = self->impl;
  flush_round(P, NULL);
  if (!snap || !ctx || !votes || max <= 0) return 0;
  lb_ms now = ctx->now ? ctx->now : lb_clock_now(P->clock);
  P->seq++;
  P->pending = true;
  P->round_at = now;
  snprintf(P->round_symbol, sizeof P->round_symbol, "%s", snap->symbol);
  maybe_purge(P, now);

  int nv = P->cfg.n_prov < max ? P->cfg.n_prov : max;
  bool any_ok = false;
  lb_buf errors;
  lb_buf_init(&errors);
  if (nv > 0) ask_llms(P, snap, ctx, votes, nv, now, &any_ok, &errors);
  if (P->use_technical && nv < max) nv += ask_technical(P, snap, ctx, votes + nv, max - nv, now);

  bool all_failed = P->cfg.n_prov > 0 && !any_ok;
  int streak;
  pthread_mutex_lock(&P->mu);
  P->stats.asks++;
  if (all_failed) {
    P->stats.all_failed++;
    P->stats.failure_streak++;
  } else if (P->cfg.n_prov > 0) {
    P->stats.failure_streak = 0;
  }
  streak = P->stats.failure_streak;
  pthread_mutex_unlock(&P->mu);
  if (all_failed) {
    LB_ERROR(LOG_MOD, "no LLM answered for %s (%d in a row): %s", snap->symbol, streak,
             errors.data);
    emit(P, AI_EV_ALL_FAILED, NULL, streak, errors.data);
  }
  lb_buf_free(&errors);
  return nv;
}

/* ==== Construction ==== */

static void panel_destroy(strategy_panel *self) {
  if (!self) return;
  ai_panel *P = self->impl;
  flush_round(P, NULL);
  if (P->deps.technical) P->deps.technical->destroy(P->deps.technical);
  if (P->multi) curl_multi_cleanup(P->multi);
  curl_global_cleanup();
  ai_prompt_close(&P->prompt);
  pthread_mutex_destroy(&P->mu);
  memset(P->cfg.prov, 0, sizeof P->cfg.prov); /* api keys */
  free(P);
}

static lb_err check_provider(const ai_provider_cfg *p, lb_errbuf *eb) {
  if (!p->name[0]) return lb_fail(eb, LB_EINVAL, "a provider has no name");
  if (!p->model[0]) return lb_fail(eb, LB_EINVAL, "provider %s: model is empty", p->name);
  if (strncmp(p->base_url, "http://", 7) != 0 && strncmp(p->base_url, "https://", 8) != 0)
    return lb_fail(eb, LB_EINVAL, "provider %s: base URL \"%.100s\" is not http(s)", p->name,
                   p->base_url);
  if (!(p->weight > 0)) return lb_fail(eb, LB_EINVAL, "provider %s: weight %g is not > 0",
                                       p->name, p->weight);
  if (p->price_in < 0 || p->price_out < 0)
    return lb_fail(eb, LB_EINVAL, "provider %s: a price is negative", p->name);
  return LB_OK;
}

lb_err ai_panel_new(const ai_config *cfg, const ai_deps *deps, strategy_panel **out,
                    lb_errbuf *eb) {
  *out = NULL;
  strategy_panel *tech = deps ? deps->technical : NULL;
  lb_err rc = LB_OK;
  if (cfg->n_prov < 0 || cfg->n_prov > AI_MAX_PROVIDERS)
    rc = lb_fail(eb, LB_EINVAL, "%d providers (allowed 0..%d)", cfg->n_prov, AI_MAX_PROVIDERS);
  for (int i = 0; !rc && i < cfg->n_prov; i++) rc = check_provider(&cfg->prov[i], eb);
  if (!rc && cfg->technical_voter && !tech)
    rc = lb_fail(eb, LB_EINVAL, "AI_TECHNICAL_VOTER is set but no technical analyst was given");
  if (!rc && cfg->n_prov == 0 && !tech)
    rc = lb_fail(eb, LB_ECONFIG,
                 "no analyst: no LLM provider in AI_PROVIDERS has an API key and there is no "
                 "technical analyst");
  if (!rc && (cfg->max_attempts < 1 || cfg->max_attempts > AI_ATTEMPTS_MAX))
    rc = lb_fail(eb, LB_EINVAL, "max_attempts %d outside 1..%d", cfg->max_attempts,
                 AI_ATTEMPTS_MAX);
  if (!rc && cfg->timeout_ms <= 0) rc = lb_fail(eb, LB_EINVAL, "timeout must be > 0");
  ai_panel *P = NULL;
  if (!rc && !(P = calloc(1, sizeof *P))) rc = lb_fail(eb, LB_ENOMEM, "out of memory");
  if (rc) {
    if (tech) tech->destroy(tech);
    return rc;
  }
  P->cfg = *cfg;
  if (deps) P->deps = *deps;
  P->clock = P->deps.clock ? P->deps.clock : &lb_clock_system;
  P->use_technical = tech && (cfg->technical_voter || cfg->n_prov == 0);
  P->rng = cfg->seed ? cfg->seed
                     : (uint64_t)lb_clock_now(P->clock) ^ (uint64_t)(uintptr_t)P ^ UINT64_C(0x5DEECE66D);
  pthread_mutex_init(&P->mu, NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  P->base = (strategy_panel){"ai", panel_ask, panel_destroy, P};
  rc = ai_prompt_load(cfg->prompt_file, &P->prompt, eb);
  if (!rc && !(P->multi = curl_multi_init())) rc = lb_fail(eb, LB_ENOMEM, "curl_multi_init failed");
  if (rc) {
    panel_destroy(&P->base);
    return rc;
  }
  for (int i = 0; i < cfg->n_prov; i++) {
    snprintf(P->health[i].name, sizeof P->health[i].name, "%s", cfg->prov[i].name);
    snprintf(P->health[i].model, sizeof P->health[i].model, "%s", cfg->prov[i].model);
    P->health[i].healthy = true;
  }
  snprintf(P->stats.prompt_version, sizeof P->stats.prompt_version, "%s", P->prompt.version);
  snprintf(P->stats.prompt_hash, sizeof P->stats.prompt_hash, "%s", P->prompt.hash);
  *out = &P->base;
  return LB_OK;
}

/* ==== Queries ==== */

void ai_panel_rules(const strategy_panel *p, strategy_consensus_rules *out) {
  if (!ai_panel_is(p)) {
    *out = (strategy_consensus_rules){2, false, 0.80};
    return;
  }
  const ai_panel *P = p->impl;
  *out = P->cfg.rules;
  if (P->cfg.n_prov == 0) out->allow_single = true; /* the technical analyst alone */
}

int ai_panel_health(const strategy_panel *p, ai_provider_health *out, int max) {
  if (!ai_panel_is(p)) return 0;
  ai_panel *P = p->impl;
  pthread_mutex_lock(&P->mu);
  int n = P->cfg.n_prov < max ? P->cfg.n_prov : max;
  for (int i = 0; i < n; i++) out[i] = P->health[i];
  pthread_mutex_unlock(&P->mu);
  return n;
}

void ai_panel_stats(const strategy_panel *p, ai_stats *out) {
  memset(out, 0, sizeof *out);
  if (!ai_panel_is(p)) return;
  ai_panel *P = p->impl;
  pthread_mutex_lock(&P->mu);
  *out = P->stats;
  pthread_mutex_unlock(&P->mu);
}
