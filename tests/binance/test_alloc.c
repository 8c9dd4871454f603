/* test_alloc.c -- the adapter when memory runs out while it writes a request.
 *
 * The suite is linked with --wrap=realloc (CMakeLists.txt): every realloc of
 * the adapter's and core's code (lb_buf grows through realloc) goes through
 * the wrapper below, which fails exactly one call when armed.  A request
 * whose parameters could not all be written must never leave the process:
 * a stop that lost its reduceOnly, or its trigger, is worse than no order.
 */
#include <stdlib.h>

#include "harness.h"
#include "unit.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static long fail_in = -1; /* realloc calls to let through before the failing one; -1: none */

void *__wrap_realloc(void *p, size_t n) {
  if (fail_in >= 0 && fail_in-- == 0) return NULL;
  return __real_realloc(p, n);
}

static lb_dec D(const char *s) {
  lb_dec d = 0;
  if (lb_dec_parse(s, &d) != LB_OK) lbt_fail(__FILE__, __LINE__, "bad decimal %s", s);
  return d;
}

/* Sequence number the next logged request will get. */
static long next_request_seq(exsim_proc *p) {
  json_t *log = exsim_ctl(p, "GET", "/_exsim/requests", NULL);
  REQUIRE(log != NULL);
  size_t n = json_array_size(log);
  long seq = n ? (long)json_integer_value(json_object_get(json_array_get(log, n - 1), "seq")) + 1 : 0;
  json_decref(log);
  return seq;
}

TEST(adapter_sends_no_request_it_could_not_build_completely) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_error e;
  xchg_order o;
  exsim_mark(&p, "BTCUSDT", "40000.0");
  REQUIRE_EQ(x->ops->set_isolated(x, "BTCUSDT", &e), XCHG_OK);
  REQUIRE_EQ(x->ops->set_leverage(x, "BTCUSDT", 5, &e), XCHG_OK);
  xchg_order_req entry = {.side = XCHG_BUY, .type = XCHG_MARKET, .qty = D("0.010")};
  snprintf(entry.symbol, sizeof entry.symbol, "BTCUSDT");
  snprintf(entry.client_id, sizeof entry.client_id, "oom-entry");
  REQUIRE_EQ(x->ops->place(x, &entry, &o, &e), XCHG_OK);
  long since = next_request_seq(&p);
  int placed = 0, refused = 0;
  for (int k = 0; k < 24; k++) {
    xchg_order_req r = {.side = XCHG_SELL, .type = XCHG_STOP_MARKET, .qty = D("0.010"),
                        .trigger_price = D("30000.0"), .reduce_only = true};
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    snprintf(r.client_id, sizeof r.client_id, "oom-stop-%d", k);
    fail_in = k;
    xchg_kind kind = x->ops->place(x, &r, &o, &e);
    fail_in = -1;
    json_t *s = exsim_state(&p);
    const json_t *a = find_where(s, "algo_orders", "client_id", r.client_id);
    if (kind == XCHG_OK) {
      placed++;
      CHECK(a != NULL);
    } else {
      refused++;
    }
    /* whatever reached the exchange is the stop as asked, in full */
    if (a) {
      CHECK(json_is_true(json_object_get(a, "reduce_only")));
      CHECK_EQ(count_where(s, "algo_orders", "client_id", r.client_id), 1);
    }
    json_decref(s);
    if (a) CHECK_EQ(x->ops->cancel(x, "BTCUSDT", r.client_id, &e), XCHG_OK);
  }
  /* ... and no request was malformed: the exchange refused none of them */
  json_t *log = exsim_ctl(&p, "GET", "/_exsim/requests", NULL);
  REQUIRE(log != NULL);
  size_t i;
  json_t *q;
  json_array_foreach(log, i, q) {
    if (json_integer_value(json_object_get(q, "seq")) < since) continue;
    int status = (int)json_integer_value(json_object_get(q, "status"));
    if (status != 200)
      lbt_fail(__FILE__, __LINE__, "%s %s (client id \"%s\") answered %d, code %d",
               json_string_value(json_object_get(q, "method")),
               json_string_value(json_object_get(q, "path")),
               json_string_value(json_object_get(q, "client_id")), status,
               (int)json_integer_value(json_object_get(q, "code")));
  }
  json_decref(log);
  printf("    allocation failures: %d stops placed in full, %d refused before sending\n", placed,
         refused);
  CHECK(refused > 0); /* the failures did land inside place() */
  CHECK(placed > 0);  /* ... and some after it no longer mattered */
  xchg_free(x);
  exsim_stop(&p);
}
