/* harness.h -- the binance suite's helpers: an exsim process per test, its
 * control endpoints, signed raw requests, and adapters configured for it.
 *
 * Each test starts its own exsim on 127.0.0.1 at free ports (--port 0, the
 * ports come back through --port-file) with the bundled real candles, so
 * tests are independent and can run in any order.
 */
#ifndef LB_TESTS_BINANCE_HARNESS_H
#define LB_TESTS_BINANCE_HARNESS_H

#include <jansson.h>
#include <sys/types.h>

#include "core/config.h"
#include "exchange/binance.h"

#define EXSIM_KEY "exsim-test-key-0123456789"
#define EXSIM_SECRET "exsim-test-secret-abcdefghijklmnopqrstuvwxyz"
#define SAMPLE_1M "data/binance-um/BTCUSDT-1m-2022-05-05.csv"

typedef struct {
  pid_t pid;
  int rest_port, ws_port;
  char state_file[512];
  char rest_url[64];
} exsim_proc;

/* Starts exsim with the sample data (unless extra has --data), the test key/secret, --paused, --quiet,
 * a state file in the test's temp dir, plus `extra` arguments (NULL-ended
 * list, may be NULL).  REQUIREs success. */
void exsim_start(exsim_proc *p, const char *const *extra);
/* Same state file as before (restart). */
void exsim_restart(exsim_proc *p, const char *const *extra);
/* POST /_exsim/shutdown, then waits; SIGKILL if it does not exit. */
void exsim_stop(exsim_proc *p);
void exsim_kill(exsim_proc *p); /* SIGKILL at once */

/* Control endpoints: answer JSON (caller json_decref), NULL on failure. */
json_t *exsim_ctl(exsim_proc *p, const char *method, const char *path_and_query, const char *body);
json_t *exsim_state(exsim_proc *p);
void exsim_faults(exsim_proc *p, const char *json_body);
void exsim_mark(exsim_proc *p, const char *symbol, const char *price);

/* A raw HTTP request to exsim; returns the status, body into *body
 * (caller frees), Retry-After into *retry_after (-1 if absent). */
int exsim_raw(exsim_proc *p, const char *method, const char *path_and_query, const char *body,
              const char *api_key, char **out_body, long *retry_after);
/* Signs `params` with the test secret (timestamp appended, signature last)
 * and sends it as a query (GET/DELETE) or form body (POST/PUT). */
int exsim_signed(exsim_proc *p, const char *method, const char *path, const char *params,
                 char **out_body);
/* Binance error code in a JSON body, 0 if none. */
int body_code(const char *body);

/* Configuration pointing at p, with short timeouts for tests; `overrides`
 * is a NULL-ended list of "NAME=value". */
void test_config(lb_config *c, const exsim_proc *p, const char *const *overrides);
xchg *test_adapter(const exsim_proc *p, const char *const *overrides);

/* A wall clock that records how long the adapter asked to sleep. */
typedef struct {
  long long slept_ms;
  int sleeps;
} test_clock_state;
lb_clock test_clock(test_clock_state *st);

/* Events: waits up to timeout_ms for an event matching type (and symbol if
 * not NULL), collecting every event seen into log (may be NULL).  Returns
 * true and *out when found. */
typedef struct {
  xchg_event ev[4096];
  int n;
} event_log;
bool wait_event(xchg *x, xchg_event_type type, int timeout_ms, xchg_event *out, event_log *log);
void sleep_ms(long ms);

/* Number of entries in state[key] (array) matching field == value. */
int count_where(const json_t *state, const char *key, const char *field, const char *value);
const json_t *find_where(const json_t *state, const char *key, const char *field, const char *value);
long long state_int(const json_t *state, const char *path); /* "counters.http_418" */
const char *state_str(const json_t *state, const char *path);

#endif
