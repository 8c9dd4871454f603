/* time.h -- UTC time in epoch milliseconds, timeframes and an injectable clock.
 *
 * levbot keeps every timestamp as lb_ms (milliseconds since the Unix epoch,
 * UTC).  Calendar conversion is done here with pure integer arithmetic
 * (days-from-civil), so there is no dependency on the process time zone and
 * no call to gmtime/localtime.
 *
 * Code that waits or reads "now" takes an lb_clock, so tests replace the wall
 * clock with a virtual one (retry back-off, breaker resume, cache TTL) and
 * the same engine runs in backtests where time is the candle's time.
 *
 * Owns: lb_ms, ISO-8601 formatting and parsing, calendar splitting and
 * period starts, timeframe names, and the lb_clock interface with the
 * system and manual clocks.
 *
 * Must not: depend on the process time zone or locale, or sleep except
 * through an lb_clock.
 *
 * Invariants: every lb_ms is UTC; lb_time_join(split(t)) == t;
 * lb_time_parse_iso(lb_time_fmt_iso(t)) == t; a manual clock moves only
 * when told to (sleep advances it by exactly the duration).
 */
#ifndef LB_CORE_TIME_H
#define LB_CORE_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef int64_t lb_ms;

#define LB_MS_SECOND INT64_C(1000)
#define LB_MS_MINUTE INT64_C(60000)
#define LB_MS_HOUR INT64_C(3600000)
#define LB_MS_DAY INT64_C(86400000)

/* Wall clock (CLOCK_REALTIME) in ms, and a monotonic clock for durations. */
lb_ms lb_time_now_ms(void);
lb_ms lb_time_mono_ms(void);
int64_t lb_time_mono_ns(void);

/* "2022-01-31T05:31:00.000Z" (24 chars + NUL). Returns length written. */
#define LB_TIME_ISO_LEN 32
int lb_time_fmt_iso(lb_ms t, char *buf, size_t n);
/* "2022-01-31" (date only). */
int lb_time_fmt_date(lb_ms t, char *buf, size_t n);

/* Accepts "YYYY-MM-DD", "YYYY-MM-DDTHH:MM[:SS[.fff...]]" with 'T' or ' ' as
 * separator and an optional trailing 'Z' or "+00:00".  Any other offset is
 * refused (every input to levbot is UTC).  Fractions beyond ms truncate. */
lb_err lb_time_parse_iso(const char *s, lb_ms *out);

/* Calendar parts of t (UTC). */
typedef struct {
  int year, month, day, hour, minute, second, ms;
  int wday; /* 0 = Monday .. 6 = Sunday (ISO) */
} lb_tm;
void lb_time_split(lb_ms t, lb_tm *out);
/* Inverse of lb_time_split for valid fields (wday ignored). */
lb_ms lb_time_join(const lb_tm *tm);

/* Start of the period containing t: floor to a multiple of period (UTC,
 * epoch-aligned, which is what exchanges use for 1m..1d candles). */
lb_ms lb_time_floor(lb_ms t, lb_ms period);
lb_ms lb_time_day_start(lb_ms t);
lb_ms lb_time_week_start(lb_ms t);  /* Monday 00:00 UTC */
lb_ms lb_time_month_start(lb_ms t); /* 1st, 00:00 UTC */

/* Timeframes as exchanges write them: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h
 * 1d 3d 1w.  (Calendar months are not a fixed duration: not supported.) */
lb_err lb_timeframe_parse(const char *s, lb_ms *out);
/* "5m", "1h", ...; writes "?" for a duration without a name. */
const char *lb_timeframe_name(lb_ms tf, char *buf, size_t n);

/* An injectable clock.  now() returns ms since the epoch; sleep() waits (or,
 * for a virtual clock, advances time).  ctx belongs to the caller. */
typedef struct lb_clock {
  lb_ms (*now)(void *ctx);
  void (*sleep)(void *ctx, lb_ms duration);
  void *ctx;
} lb_clock;

/* The process wall clock (nanosleep). */
extern const lb_clock lb_clock_system;

static inline lb_ms lb_clock_now(const lb_clock *c) { return c->now(c->ctx); }
static inline void lb_clock_sleep(const lb_clock *c, lb_ms d) { c->sleep(c->ctx, d); }

/* A manual clock for tests and backtests: sleep advances it. */
typedef struct {
  lb_ms now;
  lb_ms slept_total;
} lb_manual_clock;
lb_clock lb_manual_clock_bind(lb_manual_clock *mc);

#endif
