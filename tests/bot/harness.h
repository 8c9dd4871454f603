/* harness.h -- the bot suite's helpers: an exsim process, a `levbot run` process, and their peers.
 *
 * Every test starts its own exsim on 127.0.0.1 at free ports (paused: the
 * test steps the market bar by bar) and runs the built levbot binary as a
 * user would, with a .env file and a SQLite database in a directory of its
 * own, reading what it logs and asking its health server.
 */
#ifndef LB_TESTS_BOT_HARNESS_H
#define LB_TESTS_BOT_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

#include "core/money.h"

#define MONTH_5M "data/binance-um/BTCUSDT-5m-2022-04.csv"
#define XKEY "exsim-bot-test-key-0123456789"
#define XSECRET "exsim-bot-test-secret-abcdefghijklmnop"
#define BOT_WAIT_MS 20000 /* generous: reached only when something is broken */

/* ==== exsim ==== */

typedef struct {
  pid_t pid;
  int rest_port, ws_port;
  char state_file[600];
  char url[64];
} xsim;

/* exsim on the month of 5m bars, paused, warm-up 1500 bars, 1000 USDT,
 * plus `extra` arguments (NULL-ended, may be NULL). */
void xsim_start(xsim *x, const char *const *extra);
void xsim_stop(xsim *x);
json_t *xsim_ctl(xsim *x, const char *method, const char *path_and_query, const char *body);
json_t *xsim_state(xsim *x);
void xsim_step(xsim *x, int ticks);
void xsim_faults(xsim *x, const char *json);

/* ==== levbot run ==== */

typedef struct {
  pid_t pid;
  char dir[600];   /* working directory (database, .env, output) */
  char env[700];   /* the .env file */
  char out[700], err[700];
  int port;        /* health server, read from the log */
  int status;      /* exit status once waited for (-1 before) */
  int runs;
} lbot;

/* A directory and a .env for a bot in live mode against x (x NULL: paper
 * replay, no exchange), SQLite in the directory, HEALTH_PORT=0, the 5m
 * strategy the tests use, plus `extra` "NAME=value" lines (NULL-ended). */
void lbot_init(lbot *b, const char *name, const xsim *x, const char *const *extra);
/* Starts `levbot ARGS --env-file ENV` in the directory (stdout and stderr
 * to files); waits until the health server's port is logged (unless
 * wait_port is false). */
void lbot_start(lbot *b, const char *args, bool wait_port);
/* Sends sig and waits (SIGKILL: at once); returns the exit status as
 * lbt_run would (exit code, or -1 when killed by a signal). */
int lbot_signal(lbot *b, int sig, int timeout_ms);
int lbot_wait(lbot *b, int timeout_ms);
/* The log (stderr) so far, malloc()ed. */
char *lbot_log(const lbot *b);
char *lbot_stdout(const lbot *b);
int lbot_count(const lbot *b, const char *needle);
/* Waits until the log holds `needle` at least n times. */
bool lbot_wait_log(const lbot *b, const char *needle, int n, int timeout_ms);
/* GET/POST on its health server: HTTP status, body (malloc()ed) into *body. */
int lbot_http(const lbot *b, const char *method, const char *path, const char *auth, char **body);
json_t *lbot_json(const lbot *b, const char *path);
double lbot_counter(const lbot *b, const char *name);
/* `levbot ARGS` in the bot's directory with its .env (status, report, ...). */
int lbot_cli(const lbot *b, const char *args, char **out);

/* Steps the market one bar at a time (4 ticks), each time until the bot has
 * taken the candle and finished the scan it made due.  Stops early when
 * the log holds `until` (NULL: never); returns the bars stepped. */
int step_bars(xsim *x, lbot *b, int max_bars, const char *until);

/* ==== Checks ==== */

/* The last line of `text` whose first words (after the indent) are `label`,
 * copied into buf without its newline; "" when there is none.  Reads a
 * figure of a printed report ("Expectancy", "Average R:R"). */
const char *text_line(const char *text, const char *label, char *buf, size_t n);

lb_dec dec_of(const char *s);
lb_dec jdec(const json_t *o, const char *key);
/* Every fill on exsim is a fills row with the same order, quantity, fee and
 * realized PnL (summed per order), and the ledger equals the wallet. */
void check_store_matches_exsim(lbot *b, xsim *x);
/* One SQL value from the bot's SQLite database (malloc()ed text, or NULL). */
char *lbot_sql(const lbot *b, const char *sql);
long lbot_sql_long(const lbot *b, const char *sql);
/* Runs a statement on the bot's SQLite file (what an operator's UPDATE, an
 * old levbot or a lost write leaves); fails the test if it fails. */
void lbot_sql_exec(const lbot *b, const char *sql);
/* Runs an administrative statement (CREATE/DROP DATABASE) on the server of
 * LEVBOT_TEST_PG_URL; false (and the error printed) if it failed. */
bool lbot_pg_admin(const char *sql);

void ms_sleep(int ms);

#endif
