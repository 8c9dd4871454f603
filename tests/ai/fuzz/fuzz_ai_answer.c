/* fuzz_ai_answer.c -- libFuzzer target for everything src/ai reads from a provider.
 *
 * The first byte picks what the rest is fed to:
 *   0..3  a model's answer text, with stop reason END, LENGTH, REFUSAL,
 *         FILTER (ai_answer_parse);
 *   4     a retry-after header value (ai_retry_after_parse);
 *   5, 6  a 200 reply body, Anthropic / OpenAI wire (ai_reply_parse, then
 *         the answer it carries, its cost and classification);
 *   7     an error body with HTTP 429 (both wires; ai_classify).
 * Beyond "no crash, no leak, no read past the buffer" (the input is not
 * NUL-terminated), it checks the module's invariant: a decision is either
 * accepted and passes lb_decision_check, or it is a HOLD.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ai/ai_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_decision(lb_err rc, const lb_decision *d, const lb_decision_limits *lim) {
  if (rc == LB_OK) {
    if (lb_decision_check(d, lim, NULL) != LB_OK) abort();
  } else if (d->action != LB_ACTION_HOLD) {
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned mode = data[0] % 8;
  const char *text = (const char *)data + 1;
  size_t n = size - 1;
  const lb_decision_limits lim = {3, 0.07, 0.08};
  lb_decision d;
  lb_errbuf eb;
  if (mode < 4) {
    lb_err rc = ai_answer_parse(text, n, (ai_stop)mode, NULL, &lim, &d, &eb);
    check_decision(rc, &d, &lim);
    if (rc == LB_OK && mode != 0) abort(); /* truncated / refused / filtered never pass */
    return 0;
  }
  if (mode == 4) {
    char *s = malloc(n + 1);
    if (!s) return 0;
    memcpy(s, text, n);
    s[n] = '\0';
    lb_ms w = ai_retry_after_parse(s, 1700000000000);
    if (w < -1) abort();
    free(s);
    return 0;
  }
  ai_reply r;
  ai_reply_init(&r);
  char why[160];
  if (mode == 7) {
    for (int w = 0; w < 2; w++) {
      if (ai_reply_parse((ai_wire)w, 429, text, n, &r, &eb) != LB_OK) abort(); /* never fails */
      if (ai_classify(AI_TRANSPORT_OK, 429, &r, why, sizeof why) == AI_FAIL_NONE) abort();
      ai_reply_close(&r);
    }
    return 0;
  }
  ai_wire wire = mode == 5 ? AI_WIRE_ANTHROPIC : AI_WIRE_OPENAI;
  if (ai_reply_parse(wire, 200, text, n, &r, &eb) == LB_OK) {
    if (ai_classify(AI_TRANSPORT_OK, 200, &r, why, sizeof why) != AI_FAIL_NONE) abort();
    lb_dec cost = ai_cost_usd(&r, LB_DEC_INT(3), LB_DEC_INT(15));
    if (cost < 0) abort();
    lb_err rc = ai_answer_parse(r.text, r.text ? strlen(r.text) : 0, r.stop, r.refusal, &lim, &d,
                                &eb);
    check_decision(rc, &d, &lim);
  }
  ai_reply_close(&r);
  return 0;
}
