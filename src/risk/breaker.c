/* breaker.c -- circuit breakers: the state machine of risk.h, fed by the engine.
 *
 * Each kind is ARMED or TRIPPED; a trip blocks new entries only and stays
 * until its resume rule (next UTC day, cool-down, or the reset command).
 * Every function first resumes what is due at the event's time, then applies
 * the event, and reports each transition as an event the engine stores in
 * circuit_breaker_events.  Thresholds are compared exactly in lb_dec and
 * trip AT the threshold (>=), so "one unit below" never trips.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "risk/internal.h"

static const char *const kind_names[] = {
#define RISK_BREAKER_NAME_(id, name) name,
    RISK_BREAKER_MAP(RISK_BREAKER_NAME_)
#undef RISK_BREAKER_NAME_
};

const char *risk_breaker_name(risk_breaker_kind k) {
  return (unsigned)k < RISK_BRK__COUNT ? kind_names[k] : "unknown";
}

risk_breaker_kind risk_breaker_from_name(const char *name) {
  for (int i = 0; name && i < RISK_BRK__COUNT; i++)
    if (strcmp(kind_names[i], name) == 0) return (risk_breaker_kind)i;
  return RISK_BRK__COUNT;
}

/* ==== Invariants ==== */

static bool slot_blocks(const risk_breaker_slot *s, lb_ms now) {
  return s->tripped && (s->resume_at == 0 || now < s->resume_at);
}

#ifndef NDEBUG
static void assert_breakers(const risk_breakers *b) {
  for (int k = 0; k < RISK_BRK__COUNT; k++) {
    const risk_breaker_slot *s = &b->slot[k];
    /* a timed resume lies after its trip; max_drawdown resumes by command only */
    assert(!s->tripped || s->resume_at == 0 || s->resume_at > s->tripped_at);
  }
  assert(b->peak >= b->equity); /* B5: the peak is a maximum of the marks */
  assert(b->consecutive_losses >= 0);
  for (int i = 0; i < 2; i++) assert(b->fail_n[i] >= 0 && b->fail_n[i] <= RISK_FAILURES_MAX);
  assert(b->day == lb_time_day_start(b->day));
}
#else
#define assert_breakers(b) ((void)0)
#endif

/* ==== Events ==== */

static void emit(risk_breaker_events *out, risk_breaker_kind k, bool trip, lb_ms t, lb_ms resume_at,
                 const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void emit(risk_breaker_events *out, risk_breaker_kind k, bool trip, lb_ms t, lb_ms resume_at,
                 const char *fmt, ...) {
  if (out->n >= RISK_BREAKER_EVENTS_MAX) return; /* cannot happen: one trip + one resume per kind */
  risk_breaker_event *e = &out->ev[out->n++];
  e->kind = k;
  e->trip = trip;
  e->time = t;
  e->resume_at = resume_at;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e->detail, sizeof e->detail, fmt, ap);
  va_end(ap);
}

static void clear_failures(risk_breakers *b, int src) {
  b->fail_n[src] = 0;
  b->fail_head[src] = 0;
}

static void trip(risk_breakers *b, risk_breaker_kind k, lb_ms t, lb_ms resume_at, const char *why,
                 risk_breaker_events *out) {
  char when[LB_TIME_ISO_LEN];
  risk_breaker_slot *s = &b->slot[k];
  if (s->tripped) return; /* B2 */
  s->tripped = true;
  s->tripped_at = t;
  s->resume_at = resume_at;
  if (resume_at) lb_time_fmt_iso(resume_at, when, sizeof when);
  emit(out, k, true, t, resume_at, "%s; new entries paused until %s", why,
       resume_at ? when : "reset by command");
}

/* Arms a kind again and restarts its counters (B5). */
static void resume(risk_breakers *b, risk_breaker_kind k, lb_ms t, const char *how,
                   risk_breaker_events *out) {
  b->slot[k].tripped = false;
  if (k == RISK_BRK_CONSECUTIVE_LOSSES) b->consecutive_losses = 0;
  if (k == RISK_BRK_MAX_DRAWDOWN) b->peak = b->equity;
  if (k == RISK_BRK_EXCHANGE_FAILURES) clear_failures(b, RISK_FAIL_EXCHANGE);
  if (k == RISK_BRK_AI_FAILURES) clear_failures(b, RISK_FAIL_AI);
  emit(out, k, false, t, 0, "%s resumed: %s", risk_breaker_name(k), how);
}

/* ==== Time ==== */

void risk_breakers_init(risk_breakers *b, lb_dec equity, lb_ms t) {
  memset(b, 0, sizeof *b);
  b->last_time = t;
  b->day = lb_time_day_start(t);
  b->equity = b->peak = b->day_start_equity = equity;
  assert_breakers(b);
}

/* Common start of every event: B3, then the resumes due at t, then the day
 * roll (B4). */
static lb_err begin(risk_breakers *b, const risk_params *p, lb_ms t, risk_breaker_events *out,
                    lb_errbuf *eb) {
  char a[LB_TIME_ISO_LEN], c[LB_TIME_ISO_LEN];
  out->n = 0;
  if (risk_params_check(p, eb)) return LB_EINVAL;
  if (t < b->last_time) {
    lb_time_fmt_iso(t, a, sizeof a);
    lb_time_fmt_iso(b->last_time, c, sizeof c);
    return lb_fail(eb, LB_EINVAL, "breaker event at %s is older than the last one at %s", a, c);
  }
  b->last_time = t;
  for (int k = 0; k < RISK_BRK__COUNT; k++) {
    const risk_breaker_slot *s = &b->slot[k];
    if (s->tripped && s->resume_at != 0 && t >= s->resume_at)
      resume(b, (risk_breaker_kind)k, t,
             k == RISK_BRK_DAILY_LOSS ? "a new UTC day began" : "the cool-down has passed", out);
  }
  lb_ms day = lb_time_day_start(t);
  if (day > b->day) {
    b->day = day;
    b->day_start_equity = b->equity;
    b->day_pnl = 0;
  }
  return LB_OK;
}

lb_err risk_breakers_advance(risk_breakers *b, const risk_params *p, lb_ms t,
                             risk_breaker_events *out, lb_errbuf *eb) {
  lb_err rc = begin(b, p, t, out, eb);
  assert_breakers(b);
  return rc;
}

/* ==== Trades ==== */

static void check_daily(risk_breakers *b, const risk_params *p, lb_ms t, risk_breaker_events *out) {
  lb_dec rate, limit, loss = -b->day_pnl;
  if (loss <= 0 || risk_i_rate(p->daily_loss_limit, &rate) ||
      lb_dec_mul(b->day_start_equity, rate, LB_ROUND_CEIL, &limit) || loss < limit)
    return;
  char a[LB_DEC_STRLEN], c[LB_DEC_STRLEN], d[LB_DEC_STRLEN], why[RISK_MSG_MAX];
  snprintf(why, sizeof why,
           "daily_loss: realized loss today %s USDT >= DAILY_LOSS_LIMIT_PERCENT %g x "
           "start-of-day equity %s = %s USDT",
           risk_i_fmt(loss, a), p->daily_loss_limit, risk_i_fmt(b->day_start_equity, c),
           risk_i_fmt(limit, d));
  trip(b, RISK_BRK_DAILY_LOSS, t, b->day + LB_MS_DAY, why, out);
}

static void check_consecutive(risk_breakers *b, const risk_params *p, lb_ms t,
                              risk_breaker_events *out) {
  if (b->consecutive_losses < p->max_consecutive_losses ||
      b->slot[RISK_BRK_CONSECUTIVE_LOSSES].tripped)
    return;
  char why[RISK_MSG_MAX];
  snprintf(why, sizeof why, "consecutive_losses: %d losing trades in a row (MAX_CONSECUTIVE_LOSSES %d)",
           b->consecutive_losses, p->max_consecutive_losses);
  b->consecutive_losses = 0; /* B5 */
  trip(b, RISK_BRK_CONSECUTIVE_LOSSES, t, t + p->cooldown, why, out);
}

lb_err risk_breakers_on_trade(risk_breakers *b, const risk_params *p, lb_ms t, lb_dec pnl,
                              risk_breaker_events *out, lb_errbuf *eb) {
  char a[LB_DEC_STRLEN];
  lb_dec today = lb_time_day_start(t) > b->day ? 0 : b->day_pnl, sum;
  out->n = 0;
  if (lb_dec_add(today, pnl, &sum))
    return lb_fail(eb, LB_EOVERFLOW, "trade PnL %s overflows the daily total", risk_i_fmt(pnl, a));
  lb_err rc = begin(b, p, t, out, eb);
  if (rc) return rc;
  b->day_pnl = sum; /* begin() rolled the day exactly when `today` assumed it would */
  b->consecutive_losses = pnl < 0 ? b->consecutive_losses + 1 : 0;
  check_daily(b, p, t, out);
  check_consecutive(b, p, t, out);
  assert_breakers(b);
  return LB_OK;
}

/* ==== Equity ==== */

lb_err risk_breakers_on_equity(risk_breakers *b, const risk_params *p, lb_ms t, lb_dec equity,
                               risk_breaker_events *out, lb_errbuf *eb) {
  char a[LB_DEC_STRLEN], c[LB_DEC_STRLEN], d[LB_DEC_STRLEN], e[LB_DEC_STRLEN], why[RISK_MSG_MAX];
  out->n = 0;
  if (equity < 0)
    return lb_fail(eb, LB_EINVAL, "equity %s must be >= 0", risk_i_fmt(equity, a));
  lb_err rc = begin(b, p, t, out, eb);
  if (rc) return rc;
  b->equity = equity;
  if (equity > b->peak) b->peak = equity;
  lb_dec rate, limit, dd = b->peak - equity;
  if (dd > 0 && !risk_i_rate(p->max_drawdown, &rate) &&
      !lb_dec_mul(b->peak, rate, LB_ROUND_CEIL, &limit) && dd >= limit) {
    snprintf(why, sizeof why,
             "max_drawdown: equity %s USDT is %s below its peak %s (MAX_DRAWDOWN_PERCENT %g: "
             "limit %s)",
             risk_i_fmt(equity, a), risk_i_fmt(dd, c), risk_i_fmt(b->peak, d), p->max_drawdown,
             risk_i_fmt(limit, e));
    trip(b, RISK_BRK_MAX_DRAWDOWN, t, 0, why, out);
  }
  assert_breakers(b);
  return LB_OK;
}

/* ==== Failures ==== */

lb_err risk_breakers_on_failure(risk_breakers *b, const risk_params *p, lb_ms t,
                                risk_failure_source src, risk_breaker_events *out,
                                lb_errbuf *eb) {
  out->n = 0;
  if (src != RISK_FAIL_EXCHANGE && src != RISK_FAIL_AI)
    return lb_fail(eb, LB_EINVAL, "failure source %d is not exchange or ai", (int)src);
  lb_err rc = begin(b, p, t, out, eb);
  if (rc) return rc;
  int n = p->max_failures, cap = RISK_FAILURES_MAX;
  lb_ms *ring = b->failures[src];
  ring[b->fail_head[src]] = t;
  b->fail_head[src] = (b->fail_head[src] + 1) % cap;
  if (b->fail_n[src] < cap) b->fail_n[src]++;
  risk_breaker_kind k = src == RISK_FAIL_EXCHANGE ? RISK_BRK_EXCHANGE_FAILURES : RISK_BRK_AI_FAILURES;
  if (b->fail_n[src] >= n && !b->slot[k].tripped) {
    /* the n-th most recent failure (the newest is 1st) */
    lb_ms first = ring[(b->fail_head[src] - n + cap) % cap];
    if (t - first <= p->failure_window) {
      char why[RISK_MSG_MAX];
      snprintf(why, sizeof why, "%s: %d %s failures within %lld s (MAX_FAILURES %d in "
               "FAILURE_WINDOW_MINUTES %lld)",
               risk_breaker_name(k), n, src == RISK_FAIL_EXCHANGE ? "exchange" : "AI",
               (long long)((t - first) / LB_MS_SECOND), n,
               (long long)(p->failure_window / LB_MS_MINUTE));
      clear_failures(b, src); /* B5 */
      trip(b, k, t, t + p->cooldown, why, out);
    }
  }
  assert_breakers(b);
  return LB_OK;
}

/* ==== Commands and queries ==== */

lb_err risk_breakers_reset(risk_breakers *b, risk_breaker_kind kind, lb_ms t,
                           risk_breaker_events *out, lb_errbuf *eb) {
  out->n = 0;
  if ((unsigned)kind > RISK_BRK__COUNT)
    return lb_fail(eb, LB_EINVAL, "breaker kind %d is unknown", (int)kind);
  if (t < b->last_time) return lb_fail(eb, LB_EINVAL, "reset is older than the last event");
  b->last_time = t;
  for (int k = 0; k < RISK_BRK__COUNT; k++)
    if ((kind == RISK_BRK__COUNT || (int)kind == k) && b->slot[k].tripped)
      resume(b, (risk_breaker_kind)k, t, "reset by command", out);
  assert_breakers(b);
  return LB_OK;
}

lb_err risk_breakers_restore(risk_breakers *b, const risk_breaker_event *ev, lb_errbuf *eb) {
  if (!ev || !ev->trip || (unsigned)ev->kind >= RISK_BRK__COUNT ||
      (ev->resume_at != 0 && ev->resume_at <= ev->time))
    return lb_fail(eb, LB_EINVAL, "not a breaker trip that can be restored");
  risk_breaker_slot *s = &b->slot[ev->kind];
  s->tripped = true;
  s->tripped_at = ev->time;
  s->resume_at = ev->resume_at;
  assert_breakers(b);
  return LB_OK;
}

bool risk_breakers_blocking(const risk_breakers *b, lb_ms now) {
  for (int k = 0; k < RISK_BRK__COUNT; k++)
    if (slot_blocks(&b->slot[k], now)) return true;
  return false;
}

int risk_breakers_describe(const risk_breakers *b, lb_ms now, char *buf, size_t n) {
  size_t k = 0;
  if (n) buf[0] = '\0';
  for (int i = 0; i < RISK_BRK__COUNT; i++) {
    const risk_breaker_slot *s = &b->slot[i];
    if (!slot_blocks(s, now)) continue;
    char when[LB_TIME_ISO_LEN];
    if (s->resume_at) lb_time_fmt_iso(s->resume_at, when, sizeof when);
    int w = snprintf(buf + k, n > k ? n - k : 0, "%s%s until %s", k ? "; " : "",
                     risk_breaker_name((risk_breaker_kind)i), s->resume_at ? when : "reset");
    if (w > 0) k += (size_t)w;
    if (k >= n) k = n ? n - 1 : 0;
  }
  return (int)k;
}
