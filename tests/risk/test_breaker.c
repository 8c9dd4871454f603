/* test_breaker.c -- circuit breakers: each trips exactly at its threshold,
 * blocks entries (and the planner refuses), and resumes by its rule. */
#include "fixtures.h"

/* 2024-03-01T00:00:00Z */
#define T0 INT64_C(1709251200000)

static risk_params brk_params(void) {
  risk_params p;
  risk_params_default(&p);
  p.daily_loss_limit = 0.15;
  p.max_consecutive_losses = 3;
  p.max_drawdown = 0.20;
  p.max_failures = 5;
  p.failure_window = 15 * LB_MS_MINUTE;
  p.cooldown = 240 * LB_MS_MINUTE;
  return p;
}

static void trade(risk_breakers *b, const risk_params *p, lb_ms t, const char *pnl,
                  risk_breaker_events *ev) {
  lb_errbuf eb;
  if (risk_breakers_on_trade(b, p, t, D(pnl), ev, &eb) != LB_OK)
    lbt_fail(__FILE__, __LINE__, "on_trade: %s", eb.msg);
}

TEST(breaker_daily_loss_trips_exactly_at_the_limit) {
  risk_params p = brk_params();
  p.max_consecutive_losses = 10; /* only the daily limit in play */
  risk_breakers b;
  risk_breaker_events ev;
  risk_breakers_init(&b, D("1000"), T0 + LB_MS_HOUR);
  /* limit 0.15 x 1000 = 150 */
  trade(&b, &p, T0 + 2 * LB_MS_HOUR, "-100", &ev);
  trade(&b, &p, T0 + 3 * LB_MS_HOUR, "30", &ev); /* wins offset losses */
  trade(&b, &p, T0 + 4 * LB_MS_HOUR, "-79.99999999", &ev);
  CHECK_EQ(ev.n, 0); /* 149.99999999: one unit below */
  CHECK(!risk_breakers_blocking(&b, T0 + 4 * LB_MS_HOUR));
  trade(&b, &p, T0 + 5 * LB_MS_HOUR, "-0.00000001", &ev);
  REQUIRE_EQ(ev.n, 1);
  CHECK_EQ(ev.ev[0].kind, RISK_BRK_DAILY_LOSS);
  CHECK(ev.ev[0].trip);
  CHECK_EQ(ev.ev[0].time, T0 + 5 * LB_MS_HOUR);
  CHECK_EQ(ev.ev[0].resume_at, T0 + LB_MS_DAY); /* next 00:00 UTC */
  CHECK_CONTAINS(ev.ev[0].detail, "realized loss today 150 USDT >= DAILY_LOSS_LIMIT_PERCENT 0.15 "
                                  "x start-of-day equity 1000 = 150 USDT");
  CHECK_CONTAINS(ev.ev[0].detail, "paused until 2024-03-02T00:00:00.000Z");
  CHECK(risk_breakers_blocking(&b, T0 + LB_MS_DAY - 1));
  CHECK(!risk_breakers_blocking(&b, T0 + LB_MS_DAY));
  /* more losses the same day: no second event */
  trade(&b, &p, T0 + 6 * LB_MS_HOUR, "-10", &ev);
  CHECK_EQ(ev.n, 0);
  /* the new day resumes it, with its own start-of-day equity */
  lb_errbuf eb;
  REQUIRE_OK(risk_breakers_advance(&b, &p, T0 + LB_MS_DAY, &ev, &eb));
  REQUIRE_EQ(ev.n, 1);
  CHECK(!ev.ev[0].trip);
  CHECK_EQ(ev.ev[0].kind, RISK_BRK_DAILY_LOSS);
  CHECK_CONTAINS(ev.ev[0].detail, "daily_loss resumed: a new UTC day began");
}

TEST(breaker_daily_loss_uses_start_of_day_equity) {
  risk_params p = brk_params();
  risk_breakers b;
  risk_breaker_events ev;
  lb_errbuf eb;
  risk_breakers_init(&b, D("1000"), T0);
  REQUIRE_OK(risk_breakers_on_equity(&b, &p, T0 + 20 * LB_MS_HOUR, D("800"), &ev, &eb));
  /* day 2 starts at 800: limit 120 */
  trade(&b, &p, T0 + LB_MS_DAY + LB_MS_HOUR, "-119.99999999", &ev);
  CHECK_EQ(ev.n, 0);
  trade(&b, &p, T0 + LB_MS_DAY + 2 * LB_MS_HOUR, "-0.00000001", &ev);
  REQUIRE_EQ(ev.n, 1);
  CHECK_EQ(ev.ev[0].kind, RISK_BRK_DAILY_LOSS);
  /* losses on different days do not add up */
  risk_breakers_init(&b, D("1000"), T0);
  trade(&b, &p, T0 + LB_MS_HOUR, "-100", &ev);
  trade(&b, &p, T0 + LB_MS_DAY + LB_MS_HOUR, "-100", &ev);
  CHECK_EQ(ev.n, 0);
}

TEST(breaker_consecutive_losses_trip_at_n_and_cool_down) {
  risk_params p = brk_params();
  risk_breakers b;
  risk_breaker_events ev;
  lb_errbuf eb;
  risk_breakers_init(&b, D("100000"), T0);
  trade(&b, &p, T0 + 1, "-1", &ev);
  trade(&b, &p, T0 + 2, "-1", &ev);
  trade(&b, &p, T0 + 3, "0.5", &ev); /* a win restarts the count */
  trade(&b, &p, T0 + 4, "-1", &ev);
  trade(&b, &p, T0 + 5, "-1", &ev);
  CHECK_EQ(ev.n, 0);
  lb_ms t = T0 + 10 * LB_MS_HOUR;
  trade(&b, &p, t, "-1", &ev);
  REQUIRE_EQ(ev.n, 1);
  CHECK_EQ(ev.ev[0].kind, RISK_BRK_CONSECUTIVE_LOSSES);
  CHECK_EQ(ev.ev[0].resume_at, t + 240 * LB_MS_MINUTE);
  CHECK_CONTAINS(ev.ev[0].detail, "3 losing trades in a row (MAX_CONSECUTIVE_LOSSES 3)");
  CHECK(risk_breakers_blocking(&b, t + 240 * LB_MS_MINUTE - 1));
  CHECK(!risk_breakers_blocking(&b, t + 240 * LB_MS_MINUTE));
  /* the next event after the cool-down reports the resume first */
  trade(&b, &p, t + 240 * LB_MS_MINUTE, "-1", &ev);
  REQUIRE_EQ(ev.n, 1);
  CHECK(!ev.ev[0].trip);
  CHECK_CONTAINS(ev.ev[0].detail, "the cool-down has passed");
  /* and the count restarted: one loss is not three */
  CHECK(!risk_breakers_blocking(&b, t + 240 * LB_MS_MINUTE));
  REQUIRE_OK(risk_breakers_advance(&b, &p, t + 241 * LB_MS_MINUTE, &ev, &eb));
  CHECK_EQ(ev.n, 0);
}

TEST(breaker_max_drawdown_trips_at_the_limit_and_needs_a_reset) {
  risk_params p = brk_params();
  risk_breakers b;
  risk_breaker_events ev;
  lb_errbuf eb;
  risk_breakers_init(&b, D("900"), T0);
  REQUIRE_OK(risk_breakers_on_equity(&b, &p, T0 + 1, D("1000"), &ev, &eb)); /* peak */
  REQUIRE_OK(risk_breakers_on_equity(&b, &p, T0 + 2, D("800.00000001"), &ev, &eb));
  CHECK_EQ(ev.n, 0); /* 199.99999999 below the peak */
  REQUIRE_OK(risk_breakers_on_equity(&b, &p, T0 + 3, D("800"), &ev, &eb));
  REQUIRE_EQ(ev.n, 1);
  CHECK_EQ(ev.ev[0].kind, RISK_BRK_MAX_DRAWDOWN);
  CHECK_EQ(ev.ev[0].resume_at, 0);
  CHECK_CONTAINS(ev.ev[0].detail, "equity 800 USDT is 200 below its peak 1000");
  CHECK_CONTAINS(ev.ev[0].detail, "paused until reset by command");
  /* no time rule resumes it */
  REQUIRE_OK(risk_breakers_advance(&b, &p, T0 + 365 * LB_MS_DAY, &ev, &eb));
  CHECK_EQ(ev.n, 0);
  CHECK(risk_breakers_blocking(&b, T0 + 365 * LB_MS_DAY));
  char why[256];
  risk_breakers_describe(&b, T0 + 365 * LB_MS_DAY, why, sizeof why);
  CHECK_STREQ(why, "max_drawdown until reset");
  /* the command resumes it and re-bases the peak on the last equity */
  REQUIRE_OK(risk_breakers_reset(&b, RISK_BRK_MAX_DRAWDOWN, T0 + 365 * LB_MS_DAY, &ev, &eb));
  REQUIRE_EQ(ev.n, 1);
  CHECK(!ev.ev[0].trip);
  CHECK_CONTAINS(ev.ev[0].detail, "reset by command");
  CHECK(!risk_breakers_blocking(&b, T0 + 365 * LB_MS_DAY));
  REQUIRE_OK(risk_breakers_on_equity(&b, &p, T0 + 366 * LB_MS_DAY, D("799"), &ev, &eb));
  CHECK_EQ(ev.n, 0);
}

TEST(breaker_failures_trip_within_the_window_only) {
  risk_params p = brk_params();
  risk_breakers b;
  risk_breaker_events ev;
  lb_errbuf eb;
  risk_breakers_init(&b, D("1000"), T0);
  /* five exchange failures, first to last exactly 15 minutes: trips */
  lb_ms at[5] = {T0, T0 + 60000, T0 + 120000, T0 + 180000, T0 + 15 * LB_MS_MINUTE};
  for (int i = 0; i < 5; i++) {
    REQUIRE_OK(risk_breakers_on_failure(&b, &p, at[i], RISK_FAIL_EXCHANGE, &ev, &eb));
    CHECK_EQ(ev.n, i == 4 ? 1 : 0);
  }
  CHECK_EQ(ev.ev[0].kind, RISK_BRK_EXCHANGE_FAILURES);
  CHECK_EQ(ev.ev[0].resume_at, T0 + 15 * LB_MS_MINUTE + 240 * LB_MS_MINUTE);
  CHECK_CONTAINS(ev.ev[0].detail, "5 exchange failures within 900 s");
  /* one millisecond wider: no trip */
  risk_breakers_init(&b, D("1000"), T0);
  at[4] += 1;
  for (int i = 0; i < 5; i++)
    REQUIRE_OK(risk_breakers_on_failure(&b, &p, at[i], RISK_FAIL_EXCHANGE, &ev, &eb));
  CHECK_EQ(ev.n, 0);
  /* ...but one more soon after makes five within the window */
  REQUIRE_OK(risk_breakers_on_failure(&b, &p, at[4] + 1000, RISK_FAIL_EXCHANGE, &ev, &eb));
  CHECK_EQ(ev.n, 1);
  /* AI failures count separately */
  risk_breakers_init(&b, D("1000"), T0);
  for (int i = 0; i < 4; i++) {
    REQUIRE_OK(risk_breakers_on_failure(&b, &p, T0 + i, RISK_FAIL_EXCHANGE, &ev, &eb));
    REQUIRE_OK(risk_breakers_on_failure(&b, &p, T0 + i, RISK_FAIL_AI, &ev, &eb));
  }
  CHECK(!risk_breakers_blocking(&b, T0 + 10));
  REQUIRE_OK(risk_breakers_on_failure(&b, &p, T0 + 10, RISK_FAIL_AI, &ev, &eb));
  REQUIRE_EQ(ev.n, 1);
  CHECK_EQ(ev.ev[0].kind, RISK_BRK_AI_FAILURES);
}

TEST(breaker_refuses_events_out_of_order_and_changes_nothing) {
  risk_params p = brk_params();
  risk_breakers b, before;
  risk_breaker_events ev;
  lb_errbuf eb;
  risk_breakers_init(&b, D("1000"), T0 + LB_MS_HOUR);
  trade(&b, &p, T0 + 2 * LB_MS_HOUR, "-10", &ev);
  memcpy(&before, &b, sizeof b);
  CHECK_EQ(risk_breakers_on_trade(&b, &p, T0, D("-500"), &ev, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "is older than the last one at 2024-03-01T02:00:00.000Z");
  CHECK(memcmp(&b, &before, sizeof b) == 0);
  CHECK_EQ(risk_breakers_on_equity(&b, &p, T0 + 3 * LB_MS_HOUR, D("-1"), &ev, &eb), LB_EINVAL);
  CHECK_EQ(risk_breakers_on_failure(&b, &p, T0 + 3 * LB_MS_HOUR, (risk_failure_source)7, &ev, &eb),
           LB_EINVAL);
}

TEST(breaker_blocks_the_planner_and_restores_after_restart) {
  risk_params p = brk_params();
  p.stop_mode = RISK_STOP_FIXED;
  risk_breakers b;
  risk_breaker_events ev;
  lb_errbuf eb;
  risk_breakers_init(&b, D("1000"), T0);
  for (int i = 1; i <= 3; i++) trade(&b, &p, T0 + i * LB_MS_MINUTE, "-5", &ev);
  REQUIRE_EQ(ev.n, 1);
  risk_breaker_event stored = ev.ev[0]; /* what the engine wrote to the store */
  lb_symbol_rules r;
  lb_bracket_table t;
  btc(&r, &t);
  lb_decision d = dec(LB_ACTION_LONG, 0.9, 3, 0.07, 0.14, LB_REGIME_TRENDING);
  risk_market m = mkt("60000");
  m.breaker_active = risk_breakers_blocking(&b, T0 + 4 * LB_MS_MINUTE);
  risk_plan pl;
  CHECK_EQ(risk_plan_entry(D("1000"), &d, &m, &r, &t, &p, &pl), RISK_BREAKER_ACTIVE);
  /* a restart: fresh state, the stored trip re-applied, still sticky */
  risk_breakers_init(&b, D("985"), T0 + 5 * LB_MS_MINUTE);
  CHECK(!risk_breakers_blocking(&b, T0 + 5 * LB_MS_MINUTE));
  REQUIRE_OK(risk_breakers_restore(&b, &stored, &eb));
  CHECK(risk_breakers_blocking(&b, T0 + 5 * LB_MS_MINUTE));
  char why[256];
  risk_breakers_describe(&b, T0 + 5 * LB_MS_MINUTE, why, sizeof why);
  CHECK_STREQ(why, "consecutive_losses until 2024-03-01T04:03:00.000Z");
  /* reset of everything by command */
  REQUIRE_OK(risk_breakers_reset(&b, RISK_BRK__COUNT, T0 + 6 * LB_MS_MINUTE, &ev, &eb));
  CHECK_EQ(ev.n, 1);
  CHECK(!risk_breakers_blocking(&b, T0 + 6 * LB_MS_MINUTE));
  risk_breaker_event resume = ev.ev[0];
  CHECK_EQ(risk_breakers_restore(&b, &resume, &eb), LB_EINVAL); /* not a trip */
}

TEST(breaker_names_round_trip) {
  const char *want[] = {"daily_loss", "consecutive_losses", "max_drawdown", "exchange_failures",
                        "ai_failures"};
  REQUIRE_EQ(sizeof want / sizeof want[0], RISK_BRK__COUNT);
  for (int i = 0; i < RISK_BRK__COUNT; i++) {
    CHECK_STREQ(risk_breaker_name((risk_breaker_kind)i), want[i]);
    CHECK_EQ(risk_breaker_from_name(want[i]), i);
  }
  CHECK_EQ(risk_breaker_from_name("x"), RISK_BRK__COUNT);
}
