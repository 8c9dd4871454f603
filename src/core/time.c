/* time.c -- UTC calendar arithmetic, timeframes and clocks (see time.h).
 *
 * The civil-date conversions are Howard Hinnant's well-known algorithms
 * (days_from_civil / civil_from_days), valid for the proleptic Gregorian
 * calendar over the whole int64 range that matters here.
 */
#include "core/time.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* ==== Clocks ==== */

lb_ms lb_time_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (lb_ms)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t lb_time_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

lb_ms lb_time_mono_ms(void) { return lb_time_mono_ns() / 1000000; }

static lb_ms system_now(void *ctx) {
  (void)ctx;
  return lb_time_now_ms();
}

static void system_sleep(void *ctx, lb_ms d) {
  (void)ctx;
  if (d <= 0) return;
  struct timespec ts = {.tv_sec = d / 1000, .tv_nsec = (d % 1000) * 1000000};
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
}

const lb_clock lb_clock_system = {system_now, system_sleep, NULL};

static lb_ms manual_now(void *ctx) { return ((lb_manual_clock *)ctx)->now; }

static void manual_sleep(void *ctx, lb_ms d) {
  lb_manual_clock *mc = ctx;
  if (d <= 0) return;
  mc->now += d;
  mc->slept_total += d;
}

lb_clock lb_manual_clock_bind(lb_manual_clock *mc) {
  lb_clock c = {manual_now, manual_sleep, mc};
  return c;
}

/* ==== Calendar ==== */

static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t yy = yoe + era * 400;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (int)(doy - (153 * mp + 2) / 5 + 1);
  *m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y = (int)(yy + (*m <= 2));
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

void lb_time_split(lb_ms t, lb_tm *o) {
  int64_t days = floor_div(t, LB_MS_DAY);
  int64_t rem = t - days * LB_MS_DAY;
  civil_from_days(days, &o->year, &o->month, &o->day);
  o->hour = (int)(rem / LB_MS_HOUR);
  o->minute = (int)(rem % LB_MS_HOUR / LB_MS_MINUTE);
  o->second = (int)(rem % LB_MS_MINUTE / 1000);
  o->ms = (int)(rem % 1000);
  /* 1970-01-01 was a Thursday (ISO index 3). */
  o->wday = (int)(((days % 7) + 7 + 3) % 7);
}

lb_ms lb_time_join(const lb_tm *tm) {
  return days_from_civil(tm->year, tm->month, tm->day) * LB_MS_DAY +
         (lb_ms)tm->hour * LB_MS_HOUR + (lb_ms)tm->minute * LB_MS_MINUTE +
         (lb_ms)tm->second * 1000 + tm->ms;
}

int lb_time_fmt_iso(lb_ms t, char *buf, size_t n) {
  lb_tm tm;
  lb_time_split(t, &tm);
  return snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.year, tm.month,
                  tm.day, tm.hour, tm.minute, tm.second, tm.ms);
}

int lb_time_fmt_date(lb_ms t, char *buf, size_t n) {
  lb_tm tm;
  lb_time_split(t, &tm);
  return snprintf(buf, n, "%04d-%02d-%02d", tm.year, tm.month, tm.day);
}

static int take_digits(const char **p, int count, int *out) {
  int v = 0;
  for (int i = 0; i < count; i++) {
    char c = (*p)[i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  *p += count;
  *out = v;
  return 0;
}

static int days_in_month(int y, int m) {
  static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return dm[m - 1];
}

lb_err lb_time_parse_iso(const char *s, lb_ms *out) {
  if (!s) return LB_EPARSE;
  lb_tm tm = {0};
  const char *p = s;
  if (take_digits(&p, 4, &tm.year) || *p++ != '-' || take_digits(&p, 2, &tm.month) ||
      *p++ != '-' || take_digits(&p, 2, &tm.day))
    return LB_EPARSE;
  if (*p == 'T' || *p == ' ') {
    p++;
    if (take_digits(&p, 2, &tm.hour) || *p++ != ':' || take_digits(&p, 2, &tm.minute))
      return LB_EPARSE;
    if (*p == ':') {
      p++;
      if (take_digits(&p, 2, &tm.second)) return LB_EPARSE;
      if (*p == '.') {
        p++;
        int digits = 0, ms = 0;
        while (*p >= '0' && *p <= '9') {
          if (digits < 3) ms = ms * 10 + (*p - '0');
          digits++;
          p++;
        }
        if (digits == 0) return LB_EPARSE;
        for (; digits < 3; digits++) ms *= 10;
        tm.ms = ms;
      }
    }
  }
  if (*p == 'Z') p++;
  else if (strcmp(p, "+00:00") == 0) p += 6;
  if (*p != '\0') return LB_EPARSE;
  if (tm.month < 1 || tm.month > 12 || tm.day < 1 ||
      tm.day > days_in_month(tm.year, tm.month) || tm.hour > 23 || tm.minute > 59 ||
      tm.second > 59)
    return LB_ERANGE;
  *out = lb_time_join(&tm);
  return LB_OK;
}

lb_ms lb_time_floor(lb_ms t, lb_ms period) {
  if (period <= 0) return t;
  return floor_div(t, period) * period;
}

lb_ms lb_time_day_start(lb_ms t) { return lb_time_floor(t, LB_MS_DAY); }

lb_ms lb_time_week_start(lb_ms t) {
  lb_tm tm;
  lb_time_split(t, &tm);
  return lb_time_day_start(t) - (lb_ms)tm.wday * LB_MS_DAY;
}

lb_ms lb_time_month_start(lb_ms t) {
  lb_tm tm;
  lb_time_split(t, &tm);
  tm.day = 1;
  tm.hour = tm.minute = tm.second = tm.ms = 0;
  return lb_time_join(&tm);
}

/* ==== Timeframes ==== */

static const struct {
  const char *name;
  lb_ms ms;
} timeframes[] = {
    {"1m", LB_MS_MINUTE},      {"3m", 3 * LB_MS_MINUTE},  {"5m", 5 * LB_MS_MINUTE},
    {"15m", 15 * LB_MS_MINUTE}, {"30m", 30 * LB_MS_MINUTE}, {"1h", LB_MS_HOUR},
    {"2h", 2 * LB_MS_HOUR},    {"4h", 4 * LB_MS_HOUR},    {"6h", 6 * LB_MS_HOUR},
    {"8h", 8 * LB_MS_HOUR},    {"12h", 12 * LB_MS_HOUR},  {"1d", LB_MS_DAY},
    {"3d", 3 * LB_MS_DAY},     {"1w", 7 * LB_MS_DAY},
};

lb_err lb_timeframe_parse(const char *s, lb_ms *out) {
  if (!s) return LB_EPARSE;
  for (size_t i = 0; i < sizeof timeframes / sizeof timeframes[0]; i++) {
    if (strcmp(s, timeframes[i].name) == 0) {
      *out = timeframes[i].ms;
      return LB_OK;
    }
  }
  return LB_EPARSE;
}

const char *lb_timeframe_name(lb_ms tf, char *buf, size_t n) {
  for (size_t i = 0; i < sizeof timeframes / sizeof timeframes[0]; i++) {
    if (timeframes[i].ms == tf) {
      snprintf(buf, n, "%s", timeframes[i].name);
      return buf;
    }
  }
  snprintf(buf, n, "?");
  return buf;
}
