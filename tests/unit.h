/* unit.h -- levbot's test framework: one runner, tests named after what they prove.
 *
 *   TEST(money_rounds_quantity_down_to_step) { CHECK_EQ(..., ...); }
 *
 * Each tests/<module>/ folder builds one executable (test_<module>) whose
 * main() is in unit.c: it runs every registered test, or those whose names
 * contain one of the arguments, and prints one line per test.  `--list`
 * prints the names.  CHECK_* record a failure and continue; REQUIRE_* stop
 * the test.  SKIP() ends a test as skipped with a reason (used when the
 * larger shared data set is not present, as in a user's clone).
 */
#ifndef LB_TESTS_UNIT_H
#define LB_TESTS_UNIT_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef void (*lbt_fn)(void);
void lbt_register(const char *name, const char *file, lbt_fn fn);
void lbt_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void lbt_abort_test(void) __attribute__((noreturn));
void lbt_skip(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

#define TEST(name)                                                          \
  static void test_##name(void);                                            \
  __attribute__((constructor)) static void lbt_reg_##name(void) {           \
    lbt_register(#name, __FILE__, test_##name);                             \
  }                                                                         \
  static void test_##name(void)

#define CHECK(c)                                                            \
  do {                                                                      \
    if (!(c)) lbt_fail(__FILE__, __LINE__, "CHECK(%s)", #c);                \
  } while (0)
#define REQUIRE(c)                                                          \
  do {                                                                      \
    if (!(c)) {                                                             \
      lbt_fail(__FILE__, __LINE__, "REQUIRE(%s)", #c);                      \
      lbt_abort_test();                                                     \
    }                                                                       \
  } while (0)
#define CHECK_EQ(a, b)                                                      \
  do {                                                                      \
    long long lbt_a = (long long)(a), lbt_b = (long long)(b);               \
    if (lbt_a != lbt_b)                                                     \
      lbt_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, lbt_a, lbt_b); \
  } while (0)
#define REQUIRE_EQ(a, b)                                                    \
  do {                                                                      \
    long long lbt_a = (long long)(a), lbt_b = (long long)(b);               \
    if (lbt_a != lbt_b) {                                                   \
      lbt_fail(__FILE__, __LINE__, "%s == %s: %lld != %lld", #a, #b, lbt_a, lbt_b); \
      lbt_abort_test();                                                     \
    }                                                                       \
  } while (0)
#define CHECK_STREQ(a, b)                                                   \
  do {                                                                      \
    const char *lbt_a = (a), *lbt_b = (b);                                  \
    if (!lbt_a || !lbt_b || strcmp(lbt_a, lbt_b) != 0)                      \
      lbt_fail(__FILE__, __LINE__, "%s == %s: \"%s\" != \"%s\"", #a, #b,    \
               lbt_a ? lbt_a : "(null)", lbt_b ? lbt_b : "(null)");         \
  } while (0)
#define CHECK_CONTAINS(hay, needle)                                         \
  do {                                                                      \
    const char *lbt_h = (hay), *lbt_n = (needle);                           \
    if (!lbt_h || !strstr(lbt_h, lbt_n))                                    \
      lbt_fail(__FILE__, __LINE__, "\"%s\" should contain \"%s\"",          \
               lbt_h ? lbt_h : "(null)", lbt_n);                            \
  } while (0)
#define CHECK_NOT_CONTAINS(hay, needle)                                     \
  do {                                                                      \
    const char *lbt_h = (hay), *lbt_n = (needle);                           \
    if (lbt_h && strstr(lbt_h, lbt_n))                                      \
      lbt_fail(__FILE__, __LINE__, "\"%s\" should not contain \"%s\"", lbt_h, lbt_n); \
  } while (0)
/* |a-b| <= tol (absolute). */
#define CHECK_NEAR(a, b, tol)                                               \
  do {                                                                      \
    double lbt_a = (a), lbt_b = (b);                                        \
    if (!(fabs(lbt_a - lbt_b) <= (tol)))                                    \
      lbt_fail(__FILE__, __LINE__, "%s ~= %s: %.17g vs %.17g (tol %g)", #a, #b, lbt_a, lbt_b, (double)(tol)); \
  } while (0)
/* lb_err == LB_OK */
#define CHECK_OK(expr)                                                      \
  do {                                                                      \
    int lbt_rc = (int)(expr);                                               \
    if (lbt_rc != 0) lbt_fail(__FILE__, __LINE__, "%s returned %d, expected LB_OK", #expr, lbt_rc); \
  } while (0)
#define REQUIRE_OK(expr)                                                    \
  do {                                                                      \
    int lbt_rc = (int)(expr);                                               \
    if (lbt_rc != 0) {                                                      \
      lbt_fail(__FILE__, __LINE__, "%s returned %d, expected LB_OK", #expr, lbt_rc); \
      lbt_abort_test();                                                     \
    }                                                                       \
  } while (0)
#define SKIP(...) lbt_skip(__VA_ARGS__)

/* Paths.  lbt_shared_path("data/reference/x.csv") is under ../shared (or
 * $LEVBOT_SHARED_DIR); lbt_require_shared() SKIPs the test when the file is
 * absent, with a message saying so.  Returned strings are static per call
 * slot (4 rotating buffers). */
const char *lbt_source_path(const char *rel);
const char *lbt_shared_path(const char *rel);
const char *lbt_require_shared(const char *rel);
const char *lbt_binary_path(const char *rel);
/* A fresh directory for this test process, removed at exit (unless
 * LEVBOT_KEEP_TMP is set). */
const char *lbt_tmpdir(void);
/* Runs a shell command line (via /bin/sh), captures stdout and stderr
 * together into *out (malloc'd, caller frees; may be NULL to discard) and
 * returns the exit status (or -1 if it could not run / was killed). */
int lbt_run(const char *cmdline, char **out);

/* How many times slower than usual the processes under test run:
 * $LEVBOT_TEST_SLOWDOWN (an integer, default 1; scripts/valgrind-check sets
 * it).  Scales the sleeps that pace a test against a real process, never
 * the limits that only a broken run reaches. */
int lbt_slowdown(void);

/* Seed for property tests: $LEVBOT_TEST_SEED or a fixed default, printed
 * on failure so a run can be reproduced. */
unsigned long lbt_seed(void);

#endif
