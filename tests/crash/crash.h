/* crash.h -- the crash test: `levbot run --live` against exsim, SIGKILLed at seeded moments.
 *
 * One run (crash_run) starts exsim paused on the bundled month of BTCUSDT
 * 5m bars and a live bot against it, then repeats until `kills` SIGKILLs
 * were delivered: pick a moment (seeded), step the market bar by bar until
 * it comes, kill the bot, sometimes let the market move while it is down,
 * sometimes kill the next start again inside its recovery, and restart it.
 * At the end it restarts the bot cleanly, closes the position, stops it
 * with SIGTERM and checks exsim's ground truth against the store
 * (docs/crash.md says what each check proves).
 *
 * Kill moments (log lines of docs/run.md, "kill points"):
 *   between    the entry's answer held back by exsim (latency fault) and
 *              the bot killed on `entry sent` once the position is open
 *   stop_sent  on `order sent: ... STOP_MARKET` (initial or trailing stop)
 *   stop_ok    on `stop confirmed` (right after the exchange has the stop)
 *   tp_sent    on `order sent: ... TAKE_PROFIT_MARKET`
 *   cancel     on `cancel: cid=` (old stop after a move, leftovers)
 *   closing    after POST /control/close, on the exit order or a few ms later
 *   closed     on `trade N closed` (its rows still queued)
 *   random     a random delay into a random bar
 *   recovery   a restart killed inside its recovery (a recovery line, the
 *              stop it places, `recovery done`, or a random delay)
 */
#ifndef LB_TESTS_CRASH_CRASH_H
#define LB_TESTS_CRASH_CRASH_H

#include "core/time.h"

typedef enum { CRASH_PLAIN = 0, CRASH_FAULTS, CRASH_POSTGRES } crash_variant;

enum {
  K_BETWEEN = 0,
  K_STOP_SENT,
  K_STOP_OK,
  K_TP_SENT,
  K_CANCEL,
  K_CLOSING,
  K_CLOSED,
  K_RANDOM,
  K_RECOVERY,
  K__COUNT
};

typedef struct {
  const char *name;      /* label and directory */
  crash_variant variant;
  int kills;             /* SIGKILLs to deliver */
  unsigned long seed;
  const char *db_url;    /* CRASH_POSTGRES: the database (created empty) */
  const char *pg_ctl;    /* CRASH_POSTGRES: "pg_ctl ... -w" prefix (restart/stop/start) */
} crash_opts;

typedef struct {
  int kills;
  int kills_unprotected;   /* killed while exsim held a position without a stop */
  int kills_after_stop;    /* killed on `stop confirmed` */
  int kills_in_recovery;
  int kills_by_kind[K__COUNT];
  int fallbacks;           /* a moment that did not come in time: killed where it stood */
  int restarts;            /* starts after the first */
  int failed_starts;       /* starts that exited on their own (exit 5/6: restarted) */
  int pg_restarts;          /* PostgreSQL restarted under the running bot */
  int pg_outages;           /* PostgreSQL stopped across a kill and a refused start */
  int bars, slow_bars, down_bars;
  long trades, entries, fills;
  int intervals;           /* unprotected intervals on exsim */
  lb_ms longest_exposure;  /* longest stretch of one of them while a bot process ran */
  lb_ms raw_max_unprotected; /* exsim's max_unprotected_ms (includes the time the bot was dead) */
  lb_ms bound;             /* one recovery cycle: the longest a bot process may leave a position bare */
  lb_ms longest_recovery;  /* process start -> `recovery done` */
  lb_ms median_recovery;
  double seconds;
} crash_counts;

/* Runs it; failures are reported with CHECK/REQUIRE (unit.h).  Prints the
 * seed first and the counts at the end. */
void crash_run(const crash_opts *o, crash_counts *out);

#endif
