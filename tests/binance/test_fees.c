/* test_fees.c -- a filled market order's answer carries its fee even when the trade-history read fails.
 *
 * The adapter completes a MARKET order's answer with its commission and
 * realized PnL from GET /fapi/v1/userTrades.  If that read failed, the
 * order was booked with no fee, and the fill row the bot writes for it
 * kept none for good (found by tests/crash under exsim's injected errors).
 * Here a quarter of the userTrades reads fail (exsim draws them from its
 * seeded xorshift generator, which only those reads consume, so the run is
 * the same every time; a large seed, as a small one makes the first draws
 * tiny) and every answer must still carry exsim's own figures.  Without the
 * re-reads four of the sixteen answers come back without their fee.
 */
#include <stdlib.h>

#include "harness.h"
#include "unit.h"

/* exsim's commission and realized PnL of one client id (sum of its fills). */
static void exsim_fee(exsim_proc *p, const char *cid, lb_dec *fee, lb_dec *pnl) {
  json_t *s = exsim_state(p);
  size_t i;
  json_t *f;
  *fee = *pnl = 0;
  json_array_foreach(json_object_get(s, "fills"), i, f) {
    const char *c = json_string_value(json_object_get(f, "client_id"));
    if (!c || strcmp(c, cid) != 0) continue;
    lb_dec a = 0, b = 0;
    lb_dec_parse(json_string_value(json_object_get(f, "fee")), &a);
    lb_dec_parse(json_string_value(json_object_get(f, "realized")), &b);
    *fee += a;
    *pnl += b;
  }
  json_decref(s);
}

TEST(fee_of_a_market_order_survives_failed_trade_history_reads) {
  exsim_proc p;
  exsim_start(&p, (const char *const[]){"--error-rate", "GET /fapi/v1/userTrades=0.25", "--seed", "2463534242", NULL});
  xchg *x = test_adapter(&p, NULL);
  for (int i = 0; i < 16; i++) {
    xchg_order_req r = {.side = i % 2 ? XCHG_SELL : XCHG_BUY, .type = XCHG_MARKET, .reduce_only = i % 2};
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    snprintf(r.client_id, sizeof r.client_id, "fee-%d", i);
    REQUIRE_OK(lb_dec_parse("0.010", &r.qty));
    xchg_order o;
    xchg_error e;
    REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
    CHECK_EQ(o.status, XCHG_ST_FILLED);
    lb_dec fee, pnl;
    exsim_fee(&p, r.client_id, &fee, &pnl);
    CHECK(fee > 0);
    if (o.fee != fee || o.realized_pnl != pnl)
      lbt_fail(__FILE__, __LINE__, "%s: answer fee %lld pnl %lld, exsim %lld %lld", r.client_id,
               (long long)o.fee, (long long)o.realized_pnl, (long long)fee, (long long)pnl);
  }
  json_t *s = exsim_state(&p);
  CHECK(state_int(s, "counters.errors_injected") >= 3); /* the reads did fail, more than once */
  json_decref(s);
  xchg_free(x);
  exsim_stop(&p);
}

/* userTrades names an order by its exchange id only; the adapter finds the
 * client id in its cache or with GET /fapi/v1/order.  When that lookup
 * failed, the fill came back without a client id: restart recovery took
 * it for someone else's and an entry's fill never reached the store
 * (tests/crash, seed 7, under injected errors).  A failed lookup must fail
 * the read, and the read must name every fill once the lookups work. */
TEST(fills_since_fails_rather_than_return_a_fill_without_its_client_id) {
  exsim_proc p;
  exsim_start(&p, NULL);
  xchg *x = test_adapter(&p, NULL);
  for (int i = 0; i < 4; i++) {
    xchg_order_req r = {.side = i % 2 ? XCHG_SELL : XCHG_BUY, .type = XCHG_MARKET, .reduce_only = i % 2};
    snprintf(r.symbol, sizeof r.symbol, "BTCUSDT");
    snprintf(r.client_id, sizeof r.client_id, "own-%d", i);
    REQUIRE_OK(lb_dec_parse("0.010", &r.qty));
    xchg_order o;
    xchg_error e;
    REQUIRE_EQ(x->ops->place(x, &r, &o, &e), XCHG_OK);
  }
  xchg_free(x);
  xchg *y = test_adapter(&p, NULL); /* a restarted process: no order ids cached */
  json_decref(exsim_ctl(&p, "POST", "/_exsim/faults", "{\"error_rate\": {\"GET /fapi/v1/order\": 1.0}}"));
  xchg_fill f[16];
  int n = 0;
  xchg_error e;
  lb_ms since = lb_time_now_ms() - LB_MS_HOUR; /* exsim's fills carry its server (wall) time */
  xchg_kind k = y->ops->fills_since(y, "BTCUSDT", since, f, 16, &n, &e);
  CHECK(k != XCHG_OK);
  CHECK_EQ(k, XCHG_RETRYABLE);
  json_decref(exsim_ctl(&p, "DELETE", "/_exsim/faults", NULL));
  n = 0;
  k = y->ops->fills_since(y, "BTCUSDT", since, f, 16, &n, &e);
  if (k != XCHG_OK) lbt_fail(__FILE__, __LINE__, "after the faults: %s", e.msg);
  REQUIRE_EQ(k, XCHG_OK);
  CHECK_EQ(n, 4);
  for (int i = 0; i < n; i++)
    if (strncmp(f[i].client_id, "own-", 4) != 0)
      lbt_fail(__FILE__, __LINE__, "fill %d: client id '%s'", i, f[i].client_id);
  xchg_free(y);
  exsim_stop(&p);
}
