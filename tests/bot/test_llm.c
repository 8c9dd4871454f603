/* test_llm.c -- a slow LLM does not hold the engine thread: candles and marks are taken
 * while an analysis waits for its answer.
 *
 * An OpenAI-compatible stub (tests/ai/stub_llm.c) answers HOLD after 4 s;
 * the market is stepped meanwhile.  The engine takes each new candle at once
 * (candles_total) while the scan stays unfinished (scans_completed_total):
 * the analysis runs on the scan worker, and the position monitor, on the
 * engine thread, never waits for it.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "stub_llm.h"
#include "unit.h"

TEST(bot_a_slow_llm_does_not_hold_the_engine_thread) {
  stub_llm *llm = stub_start();
  REQUIRE(llm != NULL);
  stub_reply slow = {.delay_ms = 4000, .text = stub_decision("HOLD", 0.5, 1, 0.01, 0.02, "ranging")};
  stub_set_default(llm, &slow);
  xsim x;
  xsim_start(&x, NULL);
  char url[160];
  snprintf(url, sizeof url, "OPENAI_BASE_URL=%s", stub_url(llm, "/v1"));
  lbot b;
  lbot_init(&b, "slow_llm", &x,
            (const char *const[]){"AI_PROVIDERS=openai", "OPENAI_API_KEY=sk-test-0123456789abcdef", url,
                                  "OPENAI_MODEL=gpt-test", "AI_MAX_ATTEMPTS=1", "AI_TIMEOUT_SECONDS=30",
                                  "AI_CACHE_TTL=0", "ALLOW_SINGLE_MODEL=true", "AI_MIN_AGREE=1", NULL});
  lbot_start(&b, "", true);
  /* bar by bar until a scan passes the red flags and the LLM is asked */
  int bars = 0;
  while (stub_requests(llm) == 0 && bars < 300) {
    double s0 = lbot_counter(&b, "scans_completed_total");
    xsim_step(&x, 4);
    bars++;
    /* the bar's scan ends at the red flags, or asks the LLM */
    for (int i = 0; i < 4000 && stub_requests(llm) == 0 && lbot_counter(&b, "scans_completed_total") <= s0; i++)
      ms_sleep(2);
  }
  REQUIRE(stub_requests(llm) >= 1);
  double scans_done = lbot_counter(&b, "scans_completed_total");
  double c0 = lbot_counter(&b, "candles_total");
  /* the answer is seconds away: five more bars are taken meanwhile */
  for (int k = 1; k <= 5; k++) {
    xsim_step(&x, 4);
    for (int i = 0; i < 1000 && lbot_counter(&b, "candles_total") < c0 + k; i++) ms_sleep(2);
  }
  CHECK(lbot_counter(&b, "candles_total") >= c0 + 5);
  CHECK(lbot_counter(&b, "scans_completed_total") == scans_done); /* still asking */
  json_t *h = lbot_json(&b, "/health");
  CHECK(json_is_true(json_object_get(json_object_get(h, "engine"), "ok")));
  json_decref(h);
  /* then the answer comes and is applied (HOLD) */
  for (int i = 0; i < 4000 && lbot_counter(&b, "scans_completed_total") == scans_done; i++) ms_sleep(5);
  CHECK(lbot_counter(&b, "scans_completed_total") > scans_done);
  CHECK(lbot_count(&b, "entry sent") == 0);
  CHECK(lbot_sql_long(&b, "SELECT COUNT(*) FROM ai_decisions") >= 1); /* the round was recorded */
  CHECK_EQ(lbot_signal(&b, SIGTERM, BOT_WAIT_MS), 0);
  xsim_stop(&x);
  stub_stop(llm);
}
