/* test_reqlog_time.c -- exsim's request log says when each request arrived, in microseconds of the wall clock.
 *
 * bench/run measures the trailing-stop latency from outside the bot: from
 * the moment it moves the mark (its own clock) to the moment the
 * replacement stop request reached exsim (this field, the same clock).
 */
#include <stdlib.h>
#include <time.h>

#include "harness.h"
#include "unit.h"

static long long wall_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

TEST(exsim_request_log_stamps_arrival_in_microseconds) {
  exsim_proc p;
  exsim_start(&p, NULL);
  long long before = wall_us();
  char *body = NULL;
  CHECK_EQ(exsim_raw(&p, "GET", "/fapi/v1/time", NULL, NULL, &body, NULL), 200);
  free(body);
  long long after = wall_us();
  json_t *rq = exsim_ctl(&p, "GET", "/_exsim/requests", NULL);
  REQUIRE(json_array_size(rq) >= 1);
  const json_t *last = json_array_get(rq, json_array_size(rq) - 1);
  CHECK_STREQ(json_string_value(json_object_get(last, "path")), "/fapi/v1/time");
  long long us = (long long)json_integer_value(json_object_get(last, "time_us"));
  long long ms = (long long)json_integer_value(json_object_get(last, "time"));
  CHECK(us >= before && us <= after); /* between the client's send and its answer */
  CHECK(us / 1000 <= ms);              /* arrived no later than answered */
  json_decref(rq);
  exsim_stop(&p);
}
