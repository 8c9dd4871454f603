/* test_alloc.c -- the adapter when memory runs out while it writes a request or queues an event.
 *
 * The suite is linked with --wrap=realloc (CMakeLists.txt): every realloc of
 * the adapter's and core's code (lb_buf and the stream event queue grow
 * through realloc) goes through the wrapper below, which fails exactly one
 * call when armed, or every call of one size.  A request whose parameters
 * could not all be written must never leave the process: a stop that lost
 * its reduceOnly, or its trigger, is worse than no order.  A fill or order
 * event the queue cannot take must not vanish silently: the user-data
 * stream is reported down, and its return makes the engine re-read orders
 * and fills over REST.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "harness.h"
#include "unit.h"

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);

static long fail_in = -1; /* realloc calls to let through before the failing one; -1: none */
static atomic_size_t fail_size; /* every realloc of exactly this many bytes fails; 0: none */

void *__wrap_realloc(void *p, size_t n) {
  if (fail_in >= 0 && fail_in-- == 0) return NULL;
  if (n && n == atomic_load(&fail_size)) return NULL;
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

/* Drains every event into log until `until` returns true or ms pass. */
static bool drain_until(xchg *x, event_log *log, bool (*until)(const event_log *), int ms) {
  lb_ms end = lb_time_mono_ms() + ms;
  while (lb_time_mono_ms() < end) {
    xchg_event ev[64];
    int n = xchg_poll_events(x, ev, 64);
    for (int i = 0; i < n && log->n < 4096; i++) log->ev[log->n++] = ev[i];
    if (until(log)) return true;
    if (n == 0) sleep_ms(5);
  }
  return until(log);
}

static int find_user_state(const event_log *log, int from, xchg_event_type t) {
  for (int i = from; i < log->n; i++)
    if (log->ev[i].type == t && log->ev[i].stream == XCHG_STREAM_USER) return i;
  return -1;
}

static bool user_up(const event_log *log) { return find_user_state(log, 0, XCHG_EV_STREAM_UP) >= 0; }

static bool user_back_up(const event_log *log) {
  int d = find_user_state(log, 0, XCHG_EV_STREAM_DOWN);
  return d >= 0 && find_user_state(log, d, XCHG_EV_STREAM_UP) > d;
}

static event_log alloc_log;

TEST(stream_user_event_the_queue_cannot_take_reports_the_stream_down_and_reconnects) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  xchg_error e;
  const char *syms[] = {"BTCUSDT"};
  REQUIRE_EQ(x->ops->subscribe(x, syms, 1, LB_MS_MINUTE, &e), XCHG_OK);
  alloc_log.n = 0;
  REQUIRE(drain_until(x, &alloc_log, user_up, 5000));
  exsim_mark(&p, "BTCUSDT", "40000.0");
  REQUIRE_EQ(x->ops->set_leverage(x, "BTCUSDT", 20, &e), XCHG_OK); /* margin for 300 orders */
  xchg_binance_stats st;
  xchg_binance_get_stats(x, &st);
  long connects = st.stream_connects;
  /* The queue holds its first 256 events (fewer came so far, so it grew
   * once); growing past them fails from now on.  Nobody drains while 300
   * orders are placed: each is an ORDER event on the user-data stream, so
   * some cannot be queued. */
  REQUIRE(alloc_log.n < 200);
  atomic_store(&fail_size, 512 * sizeof(xchg_event));
  enum { N = 300 };
  bool placed = true;
  for (int k = 0; k < N && placed; k++) {
    xchg_order_req r = {.symbol = "BTCUSDT", .side = XCHG_BUY, .type = XCHG_LIMIT,
                        .qty = D("0.004"), .price = D("30000")}; /* 120 USDT: above the minimum */
    snprintf(r.client_id, sizeof r.client_id, "oom-%d", k);
    xchg_order o;
    placed = x->ops->place(x, &r, &o, &e) == XCHG_OK;
    if (!placed) printf("    order %d: %s\n", k, e.msg);
  }
  for (int i = 0; i < 200; i++) { /* the last events are on their way */
    xchg_binance_get_stats(x, &st);
    if (st.events_lost > 0) break;
    sleep_ms(10);
  }
  atomic_store(&fail_size, 0); /* memory is back (also for the tests after this one) */
  REQUIRE(placed);
  CHECK(st.events_lost > 0);
  alloc_log.n = 0;
  REQUIRE(drain_until(x, &alloc_log, user_back_up, 10000));
  /* The stream is reported down where the first event was lost: every
   * order event before that point arrived, in order.  (Events a new
   * connection brings once memory is back may follow the STREAM_DOWN; the
   * STREAM_UP after them is when the engine reconciles.) */
  int down = find_user_state(&alloc_log, 0, XCHG_EV_STREAM_DOWN);
  int seen = 0;
  for (int i = 0; i < down; i++) {
    const xchg_event *ev = &alloc_log.ev[i];
    if (ev->type != XCHG_EV_ORDER || strncmp(ev->order.client_id, "oom-", 4) != 0) continue;
    char want[32];
    snprintf(want, sizeof want, "oom-%d", seen++);
    CHECK_STREQ(ev->order.client_id, want);
  }
  printf("    %d of %d order events queued before the first lost one; %ld events lost\n", seen, N,
         st.events_lost);
  CHECK(seen > 100 && seen < N);
  /* ... once: the closed connection does not report it a second time ... */
  int up = find_user_state(&alloc_log, down, XCHG_EV_STREAM_UP);
  CHECK_EQ(find_user_state(&alloc_log, down + 1, XCHG_EV_STREAM_DOWN) < 0 ||
               find_user_state(&alloc_log, down + 1, XCHG_EV_STREAM_DOWN) > up,
           1);
  /* ... and it reconnected: after that STREAM_UP the engine reconciles, and
   * the exchange has every order for it to read. */
  xchg_binance_get_stats(x, &st);
  CHECK(st.stream_connects > connects);
  CHECK(st.stream_drops >= 1);
  xchg_order *open = calloc(N + 8, sizeof *open);
  REQUIRE(open != NULL);
  int n = 0;
  REQUIRE_EQ(x->ops->open_orders(x, "BTCUSDT", open, N + 8, &n, &e), XCHG_OK);
  CHECK_EQ(n, N);
  free(open);
  xchg_free(x);
  exsim_stop(&p);
}
