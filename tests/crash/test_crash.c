/* test_crash.c -- 50 SIGKILLs of a live bot against exsim, plain, under fault injection, on PostgreSQL.
 *
 * Each test runs crash_run() (crash.c) and then asserts that the run
 * exercised what it claims: the kills happened, some of them while exsim
 * held a position without a stop and some right after a stop was confirmed,
 * trades were made and fills compared.  The checks against exsim's ground
 * truth are inside crash_run (docs/crash.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"
#include "harness.h"
#include "unit.h"

#define KILLS 50

static void expect_coverage(const crash_counts *c) {
  CHECK_EQ(c->kills, KILLS);
  CHECK(c->kills_unprotected >= 5);
  CHECK(c->kills_after_stop >= 3);
  CHECK(c->kills_in_recovery >= 3);
  CHECK(c->restarts >= KILLS);
  CHECK(c->trades >= 8);
  CHECK(c->fills >= 2 * c->trades);
}

TEST(crash_50_kills_leave_no_position_unprotected_and_the_books_exact) {
  crash_opts o = {.name = "plain", .variant = CRASH_PLAIN, .kills = KILLS, .seed = lbt_seed()};
  crash_counts c;
  crash_run(&o, &c);
  expect_coverage(&c);
}

TEST(crash_50_kills_under_exchange_faults_leave_no_position_unprotected) {
  crash_opts o = {.name = "faults", .variant = CRASH_FAULTS, .kills = KILLS, .seed = lbt_seed()};
  crash_counts c;
  crash_run(&o, &c);
  expect_coverage(&c);
}

/* ==== PostgreSQL ==== */

TEST(crash_50_kills_with_postgresql_restarted_mid_run) {
  const char *base = getenv("LEVBOT_TEST_PG_URL"), *ctl = getenv("LEVBOT_TEST_PG_CTL");
  if (!base || !*base || !ctl || !*ctl)
    SKIP("LEVBOT_TEST_PG_URL / LEVBOT_TEST_PG_CTL are not set: run under scripts/with-postgres (make check does)");
  char name[64], url[1024], sql[128];
  snprintf(name, sizeof name, "lbcrash_%ld", (long)getpid());
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
  lbot_pg_admin(sql);
  snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
  REQUIRE(lbot_pg_admin(sql));
  snprintf(url, sizeof url, "%s", base); /* the same URL, another database */
  char *slash = strrchr(url, '/');
  REQUIRE(slash != NULL);
  snprintf(slash + 1, sizeof url - (size_t)(slash + 1 - url), "%s", name);
  crash_opts o = {.name = "postgres", .variant = CRASH_POSTGRES, .kills = KILLS, .seed = lbt_seed(),
                  .db_url = url, .pg_ctl = ctl};
  crash_counts c;
  crash_run(&o, &c);
  expect_coverage(&c);
  CHECK(c.pg_restarts >= 1);
  CHECK_EQ(c.pg_outages, 1);
  snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s WITH (FORCE)", name);
  lbot_pg_admin(sql);
}
