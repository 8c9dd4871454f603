/* aitest.h -- shared fixtures of the AI tests: snapshots, contexts, clocks, panels on stubs. */
#ifndef LB_TESTS_AI_AITEST_H
#define LB_TESTS_AI_AITEST_H

#include "ai/ai.h"
#include "stub_llm.h"

/* A snapshot of BTCUSDT, two timeframes, last close `close`. */
void aitest_snapshot(ta_snapshot *s, double close);
/* Capital 100, limits 3x / 0.07..0.08 / 0.10, funding 0.0001, now. */
void aitest_context(strategy_context *c, lb_ms now);

/* A clock whose sleeps are recorded and advance time without waiting. */
typedef struct {
  lb_ms now;
  lb_ms sleeps[32];
  int n_sleeps;
} aitest_clock;
lb_clock aitest_clock_bind(aitest_clock *c, lb_ms start);

/* Events seen by a panel. */
typedef struct {
  int all_failed, down, up;
  char last_detail[512];
  char last_provider[32];
} aitest_events;
void aitest_on_event(void *ctx, const ai_event *ev);

/* ai_config with test defaults (no jitter, short timeout, seed fixed) and
 * no provider. */
void aitest_config(ai_config *cfg);
/* Appends a provider named `name` on `wire` pointing at the stub. */
void aitest_add_provider(ai_config *cfg, const char *name, ai_wire wire, const stub_llm *stub,
                         const char *key);

/* A fresh SQLite store in the test's temp directory (NULL if it cannot be
 * opened: the reason is printed).  url_out (may be NULL, 600 bytes) gets
 * its DATABASE_URL. */
store *aitest_store_at(char *url_out);
store *aitest_store(void);

#endif
