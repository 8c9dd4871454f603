/* test_adopt.c -- restart recovery in the engine: a position found on the exchange is adopted.
 *
 * A trade opens on the simulated exchange as in test_scenarios.c (entry at
 * 20000, stop 19000, take-profit 22000, 0.098 BTC); then the engine is
 * thrown away (the bot died) and a new one is built over the same
 * exchange, which still holds the position and its orders.  The adoption
 * is assembled here from the exchange's own answers (position, open
 * orders, fills), the way a driver does after a restart, and the new
 * engine must carry the trade to its end with an exact ledger.
 */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "unit.h"

#define HR LB_MS_HOUR

static lb_dec D(const char *s) {
  lb_dec d = 0;
  REQUIRE_OK(lb_dec_parse(s, &d));
  return d;
}

static void open_long(harness *h) {
  h_signal(h, 3 * HR, LB_ACTION_LONG);
  h_flat(h, 0, 0, 3, 20000);
  engine_position pos;
  engine_get_position(h->e, &pos);
  REQUIRE_EQ(pos.state, ENGINE_OPEN);
}

static engine_order_kind kind_of(const char *cid) {
  const char *s = strrchr(cid, '-');
  if (!s) return ENGINE_ORDER_EXIT;
  return s[1] == 'E' ? ENGINE_ORDER_ENTRY
         : s[1] == 'S' ? ENGINE_ORDER_STOP
         : s[1] == 'T' ? ENGINE_ORDER_TAKE_PROFIT
                       : ENGINE_ORDER_EXIT;
}

/* The adoption of trade `id` from what the exchange reports. */
static void adoption_from_exchange(xchg *x, long id, lb_dec stop, engine_adoption *a) {
  memset(a, 0, sizeof *a);
  xchg_error err;
  xchg_position xp;
  REQUIRE_EQ(x->ops->position(x, "BTCUSDT", &xp, &err), XCHG_OK);
  a->held = xp.qty;
  a->trade.id = id;
  a->trade.side = xp.qty > 0 ? LB_ACTION_LONG : LB_ACTION_SHORT;
  a->trade.leverage = 3;
  a->trade.entry_time = 3 * HR;
  a->trade.stop = stop;
  xchg_fill f[16];
  int nf = 0;
  REQUIRE_EQ(x->ops->fills_since(x, "BTCUSDT", 0, f, 16, &nf, &err), XCHG_OK);
  lb_dec notional = 0;
  for (int i = 0; i < nf; i++) {
    a->trade.realized_pnl += f[i].realized_pnl;
    a->trade.fees += f[i].fee;
    engine_adopt_order *o = &a->orders[a->n_orders++];
    snprintf(o->client_id, sizeof o->client_id, "%s", f[i].client_id);
    o->kind = kind_of(f[i].client_id);
    o->status = XCHG_ST_FILLED;
    o->filled = f[i].qty;
    o->avg_price = f[i].price;
    o->fee = f[i].fee;
    o->realized = f[i].realized_pnl;
    if (o->kind == ENGINE_ORDER_ENTRY) {
      a->trade.qty += f[i].qty;
      lb_dec n = 0;
      REQUIRE_OK(lb_dec_mul(f[i].price, f[i].qty, LB_ROUND_HALF_EVEN, &n));
      notional += n;
    }
  }
  REQUIRE_OK(lb_dec_div(notional, a->trade.qty, LB_ROUND_HALF_EVEN, &a->trade.entry_price));
  xchg_order open[16];
  int no = 0;
  REQUIRE_EQ(x->ops->open_orders(x, "BTCUSDT", open, 16, &no, &err), XCHG_OK);
  for (int i = 0; i < no; i++) {
    engine_adopt_order *o = &a->orders[a->n_orders++];
    snprintf(o->client_id, sizeof o->client_id, "%s", open[i].client_id);
    o->kind = kind_of(open[i].client_id);
    o->status = open[i].status;
    o->trigger = open[i].trigger_price;
    if (o->kind == ENGINE_ORDER_STOP) a->stop_version = 1;
    if (o->kind == ENGINE_ORDER_TAKE_PROFIT) a->trade.take_profit = open[i].trigger_price;
  }
}

/* The bot died: a new engine over the same exchange, its ledger starting
 * from the capital before the open trade (the trade's fees join it). */
static void restart(harness *h, const engine_adoption *a, lb_err want) {
  engine_ledger led;
  engine_get_ledger(h->e, &led);
  engine_free(h->e);
  h->e = NULL;
  engine_params p = h->p;
  p.initial_capital = led.capital - (a->trade.realized_pnl - a->trade.fees + a->trade.funding);
  engine_observer obs = {.ctx = &h->rec};
  lb_errbuf eb;
  REQUIRE_OK(engine_new(&p, h->x, &h->panel, &obs, &h->e, &eb));
  CHECK_EQ(engine_adopt(h->e, a, 3 * HR, &eb), want);
}

static void check_wallet(harness *h) {
  engine_ledger led;
  engine_get_ledger(h->e, &led);
  CHECK_EQ(led.capital, led.initial + led.realized - led.fees + led.funding);
  xchg_balance b;
  xchg_error err;
  REQUIRE_EQ(h->x->ops->balance(h->x, &b, &err), XCHG_OK);
  CHECK_EQ(led.capital, b.wallet_balance); /* sim started with the same 1000 */
}

TEST(engine_adopts_a_position_and_its_stop_after_a_restart) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  open_long(&h);
  engine_adoption a;
  adoption_from_exchange(h.x, 1, D("19000"), &a);
  CHECK_EQ(a.held, D("0.098"));
  xchg_sim_stats before;
  xchg_sim_get_stats(h.x, &before);
  restart(&h, &a, LB_OK);
  engine_position pos;
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_OPEN);
  CHECK_EQ(pos.trade.id, 1);
  CHECK_EQ(pos.trade.stop, D("19000"));
  CHECK_EQ(pos.trade.initial_stop, D("19000"));
  CHECK_EQ(pos.held, D("0.098"));
  xchg_sim_stats after;
  xchg_sim_get_stats(h.x, &after);
  CHECK_EQ(after.orders, before.orders); /* the live stop and take-profit were kept */
  check_wallet(&h);
  /* The stop fires under the new engine: booked once, with the entry fee
   * carried over from before the restart. */
  h_candle(&h, 0, 3 * HR, 20000, 20100, 18900, 19500);
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_FLAT);
  engine_counters c;
  engine_get_counters(h.e, &c);
  CHECK_EQ(c.trades_closed, 1);
  engine_ledger led;
  engine_get_ledger(h.e, &led);
  CHECK_EQ(led.realized, D("-98"));
  CHECK_EQ(led.fees, D("0.98") + D("0.931"));
  check_wallet(&h);
  /* Numbering goes on after the adopted trade. */
  h_signal(&h, 6 * HR, LB_ACTION_LONG);
  h_flat(&h, 0, 4 * HR, 2, 20000);
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_OPEN);
  CHECK_EQ(pos.trade.id, 2);
  h_stop(&h);
}

TEST(engine_adoption_places_a_missing_stop_at_once) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  open_long(&h);
  xchg_error err;
  REQUIRE_EQ(xchg_cancel(h.x, "BTCUSDT", "t-1-S1", &err), XCHG_OK); /* died mid-trail, say */
  engine_adoption a;
  adoption_from_exchange(h.x, 1, D("19000"), &a);
  a.stop_version = 1; /* S1 was used */
  restart(&h, &a, LB_OK);
  engine_position pos;
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_OPEN);
  xchg_order o;
  REQUIRE_EQ(xchg_query(h.x, "BTCUSDT", "t-1-S2", &o, &err), XCHG_OK);
  CHECK_EQ(o.status, XCHG_ST_NEW);
  CHECK_EQ(o.trigger_price, D("19000"));
  CHECK(o.reduce_only || o.close_position);
  /* ... and it is the stop that protects the position now. */
  h_candle(&h, 0, 3 * HR, 20000, 20100, 18900, 19500);
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_FLAT);
  xchg_position xp;
  REQUIRE_EQ(h.x->ops->position(h.x, "BTCUSDT", &xp, &err), XCHG_OK);
  CHECK_EQ(xp.qty, 0);
  check_wallet(&h);
  h_stop(&h);
}

TEST(engine_adoption_closes_the_position_when_no_stop_can_be_placed) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  open_long(&h);
  xchg_error err;
  REQUIRE_EQ(xchg_cancel(h.x, "BTCUSDT", "t-1-S1", &err), XCHG_OK);
  engine_adoption a;
  adoption_from_exchange(h.x, 1, D("19000"), &a);
  a.stop_version = 1;
  xchg_sim_inject(h.x, XCHG_SIM_FAULT_REJECT_CONDITIONAL, 5);
  restart(&h, &a, LB_OK);
  engine_position pos;
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_FLAT); /* the sim fills the close at once */
  xchg_position xp;
  REQUIRE_EQ(h.x->ops->position(h.x, "BTCUSDT", &xp, &err), XCHG_OK);
  CHECK_EQ(xp.qty, 0);
  engine_counters c;
  engine_get_counters(h.e, &c);
  CHECK_EQ(c.no_stop_closes, 1);
  CHECK_EQ(c.trades_closed, 1);
  check_wallet(&h);
  h_stop(&h);
}

TEST(engine_adoption_refuses_contradictions_and_a_second_position) {
  harness h;
  engine_params p;
  h_params(&p);
  h_start(&h, &p, "0", "0");
  open_long(&h);
  engine_adoption a;
  adoption_from_exchange(h.x, 1, D("19000"), &a);
  lb_errbuf eb;
  CHECK_EQ(engine_adopt(h.e, &a, 3 * HR, &eb), LB_ESTATE); /* the engine holds trade 1 already */
  engine_adoption bad = a;
  bad.trade.side = LB_ACTION_SHORT; /* a long position adopted as a short */
  restart(&h, &bad, LB_EINVAL);
  engine_position pos;
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_FLAT);
  h_stop(&h);
}

TEST(engine_failures_trip_the_breaker_and_restored_trips_block_entries) {
  harness h;
  engine_params p;
  h_params(&p);
  p.risk.max_failures = 3;
  h_start(&h, &p, "0", "0");
  for (int i = 0; i < 3; i++) CHECK_OK(engine_on_failure(h.e, RISK_FAIL_AI, HR + i * LB_MS_MINUTE));
  CHECK_EQ(h.rec.trips, 1);
  CHECK(engine_breakers_blocking(h.e, HR + 5 * LB_MS_MINUTE));
  CHECK_EQ(engine_time(h.e), HR + 2 * LB_MS_MINUTE);
  h_stop(&h);

  h_start(&h, &p, "0", "0");
  risk_breaker_event trip = {.kind = RISK_BRK_MAX_DRAWDOWN, .trip = true, .time = HR, .resume_at = 0};
  lb_errbuf eb;
  REQUIRE_OK(engine_restore_breaker(h.e, &trip, &eb));
  CHECK_EQ(h.rec.trips, 0); /* no event: it was recorded when it tripped */
  h_signal(&h, 3 * HR, LB_ACTION_LONG);
  h_flat(&h, 0, 0, 4, 20000);
  engine_position pos;
  engine_get_position(h.e, &pos);
  CHECK_EQ(pos.state, ENGINE_FLAT);
  CHECK(h.rec.outcomes[ENGINE_SCAN_BREAKER] > 0);
  h_stop(&h);
}
