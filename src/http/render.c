/* render.c -- the health server's documents: JSON (jansson) and Prometheus
 * text exposition format 0.0.4.
 *
 * Field names here are the public interface documented in docs/http.md:
 * add fields freely, never rename or retype one.  Every text that came from
 * the provider goes through lb_redact() before it is placed in a document
 * (invariant H4 in http.h), and money is written from lb_dec as exact
 * decimal text (H5).  Pure functions of their input: no I/O, no locks.
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/http_int.h"

/* ==== Shared ==== */

http_verdict http_health_verdict(const http_health *h) {
  if (!h->database_ok || !h->exchange_ok || !h->engine_ok) return HTTP_UNHEALTHY;
  int n = h->n_ai < 0 ? 0 : h->n_ai > HTTP_MAX_AI ? HTTP_MAX_AI : h->n_ai;
  for (int i = 0; i < n; i++)
    if (h->ai[i].state == HTTP_AI_DEGRADED || h->ai[i].state == HTTP_AI_DOWN) return HTTP_DEGRADED;
  return HTTP_HEALTHY;
}

const char *http_verdict_name(http_verdict v) {
  switch (v) {
  case HTTP_HEALTHY: return "healthy";
  case HTTP_DEGRADED: return "degraded";
  default: return "unhealthy";
  }
}

const char *http_action_name(http_action a) {
  switch (a) {
  case HTTP_CTL_PAUSE: return "pause";
  case HTTP_CTL_RESUME: return "resume";
  default: return "close";
  }
}

static const char *ai_state_name(http_ai_state s) {
  switch (s) {
  case HTTP_AI_OK: return "ok";
  case HTTP_AI_DEGRADED: return "degraded";
  case HTTP_AI_DOWN: return "down";
  default: return "disabled";
  }
}

static const char *mode_name(http_mode m) {
  switch (m) {
  case HTTP_MODE_LIVE: return "live";
  case HTTP_MODE_REPLAY: return "replay";
  default: return "paper";
  }
}

static const char *state_name(http_state s) {
  switch (s) {
  case HTTP_STATE_IN_POSITION: return "in_position";
  case HTTP_STATE_PAUSED: return "paused";
  case HTTP_STATE_STARTING: return "starting";
  case HTTP_STATE_STOPPING: return "stopping";
  default: return "scanning";
  }
}

bool http_counter_name_ok(const char *name) {
  size_t n = strnlen(name, HTTP_NAME_MAX + 16);
  if (n == 0 || n >= HTTP_NAME_MAX + 16) return false;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

bool http_token_equal(const char *given, size_t given_len, const char *want, size_t want_len) {
  /* volatile keeps the compiler from turning the loop into an early exit. */
  volatile unsigned char diff = (unsigned char)(given_len != want_len);
  for (size_t i = 0; i < want_len; i++) {
    unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
    diff |= (unsigned char)(g ^ (unsigned char)want[i]);
  }
  return diff == 0;
}

/* ==== JSON ==== */

/* A provider's text, bounded and redacted; "" is null.  Bytes that are not
 * UTF-8 are replaced rather than failing the whole document. */
static json_t *j_text(const char *s, size_t max) {
  size_t n = strnlen(s, max);
  if (n == 0) return json_null();
  char raw[HTTP_TEXT_MAX * 2], red[HTTP_TEXT_MAX * 2 + 64];
  if (n >= sizeof raw) n = sizeof raw - 1;
  memcpy(raw, s, n);
  raw[n] = '\0';
  lb_redact(raw, red, sizeof red);
  json_t *j = json_string(red);
  if (j) return j;
  for (char *p = red; *p; p++)
    if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20) *p = '?';
  return json_string(red);
}

static json_t *j_dec(lb_dec d) {
  char b[LB_DEC_STRLEN];
  lb_dec_fmt(d, b, sizeof b);
  return json_string(b);
}

static json_t *j_time(lb_ms t) {
  if (t <= 0) return json_null();
  char b[LB_TIME_ISO_LEN];
  lb_time_fmt_iso(t, b, sizeof b);
  return json_string(b);
}

static json_t *j_num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* Sets o[k] = v, remembering any allocation failure (v == NULL). */
static void put(json_t *o, const char *k, json_t *v, bool *bad) {
  if (!v || json_object_set_new(o, k, v) != 0) *bad = true;
}

static lb_err finish(json_t *doc, bool bad, lb_buf *out) {
  char *text = bad ? NULL : json_dumps(doc, JSON_INDENT(2) | JSON_REAL_PRECISION(12));
  json_decref(doc);
  if (!text) return LB_ENOMEM;
  lb_err rc = lb_buf_puts(out, text);
  if (rc == LB_OK) rc = lb_buf_puts(out, "\n");
  free(text);
  return rc;
}

static json_t *component(bool ok, const char *error, bool *bad) {
  json_t *o = json_object();
  if (!o) {
    *bad = true;
    return NULL;
  }
  put(o, "ok", json_boolean(ok), bad);
  put(o, "error", j_text(error, HTTP_TEXT_MAX), bad);
  return o;
}

lb_err http_render_health_json(const http_health *h, lb_buf *out) {
  bool bad = false;
  json_t *doc = json_object();
  if (!doc) return LB_ENOMEM;
  http_verdict v = http_health_verdict(h);
  put(doc, "status", json_string(http_verdict_name(v)), &bad);
  put(doc, "healthy", json_boolean(v != HTTP_UNHEALTHY), &bad);
  put(doc, "uptime_seconds", json_integer(h->uptime_s), &bad);
  put(doc, "checked_at", j_time(h->as_of), &bad);
  json_t *db = component(h->database_ok, h->database_error, &bad);
  if (db) put(db, "latency_ms", h->database_latency_ms >= 0 ? j_num(h->database_latency_ms) : json_null(), &bad);
  put(doc, "database", db, &bad);
  json_t *ex = component(h->exchange_ok, h->exchange_error, &bad);
  if (ex) put(ex, "name", j_text(h->exchange_name, HTTP_NAME_MAX), &bad);
  put(doc, "exchange", ex, &bad);
  put(doc, "engine", component(h->engine_ok, h->engine_error, &bad), &bad);
  json_t *ais = json_array();
  int n = h->n_ai < 0 ? 0 : h->n_ai > HTTP_MAX_AI ? HTTP_MAX_AI : h->n_ai;
  for (int i = 0; ais && i < n; i++) {
    const http_ai_health *a = &h->ai[i];
    json_t *o = json_object();
    if (!o || json_array_append_new(ais, o) != 0) {
      bad = true;
      break;
    }
    put(o, "name", j_text(a->name, HTTP_NAME_MAX), &bad);
    put(o, "status", json_string(ai_state_name(a->state)), &bad);
    put(o, "last_error", j_text(a->last_error, HTTP_TEXT_MAX), &bad);
    put(o, "last_ok_at", j_time(a->last_ok_at), &bad);
  }
  put(doc, "ai_providers", ais, &bad);
  return finish(doc, bad, out);
}

static json_t *position_json(const http_position *p, bool *bad) {
  json_t *o = json_object();
  if (!o) {
    *bad = true;
    return NULL;
  }
  put(o, "symbol", j_text(p->symbol, LB_SYMBOL_MAX), bad);
  put(o, "side", json_string(p->is_long ? "long" : "short"), bad);
  put(o, "entry_price", j_dec(p->entry_price), bad);
  put(o, "quantity", j_dec(p->quantity), bad);
  put(o, "leverage", json_integer(p->leverage), bad);
  put(o, "mark_price", j_dec(p->mark_price), bad);
  put(o, "stop_price", p->stop_price ? j_dec(p->stop_price) : json_null(), bad);
  put(o, "take_profit_price", p->take_profit_price ? j_dec(p->take_profit_price) : json_null(), bad);
  put(o, "liquidation_price", j_dec(p->liquidation_price), bad);
  put(o, "unrealized_pnl", j_dec(p->unrealized_pnl), bad);
  put(o, "stop_on_exchange", json_boolean(p->stop_on_exchange), bad);
  put(o, "opened_at", j_time(p->opened_at), bad);
  return o;
}

lb_err http_render_status_json(const http_status *s, lb_buf *out) {
  bool bad = false;
  json_t *doc = json_object();
  if (!doc) return LB_ENOMEM;
  put(doc, "mode", json_string(mode_name(s->mode)), &bad);
  put(doc, "state", json_string(state_name(s->state)), &bad);
  put(doc, "exchange", j_text(s->exchange, HTTP_NAME_MAX), &bad);
  put(doc, "capital", j_dec(s->capital), &bad);
  put(doc, "equity", j_dec(s->equity), &bad);
  put(doc, "daily_pnl", j_dec(s->daily_pnl), &bad);
  put(doc, "position", s->has_position ? position_json(&s->position, &bad) : json_null(), &bad);
  json_t *br = json_object();
  if (br) {
    const http_breaker *b = &s->breaker;
    put(br, "active", json_boolean(b->active), &bad);
    put(br, "kind", b->active ? j_text(b->kind, HTTP_NAME_MAX) : json_null(), &bad);
    put(br, "detail", b->active ? j_text(b->detail, HTTP_TEXT_MAX) : json_null(), &bad);
    put(br, "tripped_at", b->active ? j_time(b->tripped_at) : json_null(), &bad);
    put(br, "resume_at", b->active ? j_time(b->resume_at) : json_null(), &bad);
  }
  put(doc, "breaker", br, &bad);
  put(doc, "last_scan_at", j_time(s->last_scan_at), &bad);
  put(doc, "next_scan_at", j_time(s->next_scan_at), &bad);
  put(doc, "as_of", j_time(s->as_of), &bad);
  return finish(doc, bad, out);
}

lb_err http_render_metrics_json(const http_metrics *m, lb_buf *out) {
  bool bad = false;
  json_t *doc = json_object();
  if (!doc) return LB_ENOMEM;
  put(doc, "total_trades", json_integer(m->total_trades), &bad);
  put(doc, "winning_trades", json_integer(m->winning_trades), &bad);
  put(doc, "losing_trades", json_integer(m->losing_trades), &bad);
  put(doc, "win_rate", j_num(m->win_rate), &bad);
  put(doc, "average_pnl", j_dec(m->average_pnl), &bad);
  put(doc, "total_pnl", j_dec(m->total_pnl), &bad);
  put(doc, "profit_factor", j_num(m->profit_factor), &bad);
  put(doc, "max_drawdown", j_num(m->max_drawdown), &bad);
  put(doc, "sharpe", j_num(m->sharpe), &bad);
  json_t *cs = json_object();
  int n = m->n_counters < 0 ? 0 : m->n_counters > HTTP_MAX_COUNTERS ? HTTP_MAX_COUNTERS : m->n_counters;
  for (int i = 0; cs && i < n; i++)
    if (http_counter_name_ok(m->counters[i].name) && !json_object_get(cs, m->counters[i].name))
      put(cs, m->counters[i].name, j_num(m->counters[i].value), &bad);
  put(doc, "counters", cs, &bad);
  return finish(doc, bad, out);
}

lb_err http_render_error_json(const char *msg, const char *hint, lb_buf *out) {
  bool bad = false;
  json_t *doc = json_object();
  if (!doc) return LB_ENOMEM;
  put(doc, "error", j_text(msg, HTTP_TEXT_MAX), &bad);
  if (hint) put(doc, "hint", j_text(hint, HTTP_TEXT_MAX), &bad);
  return finish(doc, bad, out);
}

lb_err http_render_health_error_json(const char *msg, lb_buf *out) {
  bool bad = false;
  json_t *doc = json_object();
  if (!doc) return LB_ENOMEM;
  put(doc, "status", json_string(http_verdict_name(HTTP_UNHEALTHY)), &bad);
  put(doc, "healthy", json_false(), &bad);
  put(doc, "error", j_text(msg, HTTP_TEXT_MAX), &bad);
  return finish(doc, bad, out);
}

lb_err http_render_control_json(http_action a, bool ok, const char *result, lb_buf *out) {
  bool bad = false;
  json_t *doc = json_object();
  if (!doc) return LB_ENOMEM;
  put(doc, "action", json_string(http_action_name(a)), &bad);
  put(doc, "ok", json_boolean(ok), &bad);
  put(doc, "result", j_text(result, HTTP_TEXT_MAX), &bad);
  return finish(doc, bad, out);
}

/* ==== Prometheus text ==== */

typedef struct {
  lb_buf *out;
  lb_err rc;
} prom;

static void p_puts(prom *p, const char *s) {
  if (p->rc == LB_OK) p->rc = lb_buf_puts(p->out, s);
}

/* HELP text: backslash and newline escaped, as the format requires. */
static void p_escaped(prom *p, const char *s, bool quotes) {
  char one[3] = {0};
  for (; *s; s++) {
    if (*s == '\\') p_puts(p, "\\\\");
    else if (*s == '\n') p_puts(p, "\\n");
    else if (quotes && *s == '"') p_puts(p, "\\\"");
    else {
      one[0] = *s;
      p_puts(p, one);
    }
  }
}

static void p_family(prom *p, const char *name, const char *type, const char *help) {
  char red[512];
  lb_redact(help, red, sizeof red);
  p_puts(p, "# HELP levbot_");
  p_puts(p, name);
  p_puts(p, " ");
  p_escaped(p, red, false);
  p_puts(p, "\n# TYPE levbot_");
  p_puts(p, name);
  p_puts(p, " ");
  p_puts(p, type);
  p_puts(p, "\n");
}

/* A double as Prometheus writes it: NaN, +Inf, -Inf, or the shortest
 * decimal that reads back to the same value. */
static void p_value(prom *p, double v) {
  char b[40];
  if (isnan(v)) snprintf(b, sizeof b, "NaN");
  else if (isinf(v)) snprintf(b, sizeof b, "%s", v > 0 ? "+Inf" : "-Inf");
  else {
    snprintf(b, sizeof b, "%.15g", v);
    if (strtod(b, NULL) != v) snprintf(b, sizeof b, "%.17g", v);
  }
  p_puts(p, b);
}

/* A provider's fixed-size field, which may lack its NUL, redacted. */
static void bounded_redact(const char *s, size_t max, char *out, size_t n) {
  char raw[HTTP_TEXT_MAX + 1];
  size_t len = strnlen(s, max < sizeof raw - 1 ? max : sizeof raw - 1);
  memcpy(raw, s, len);
  raw[len] = '\0';
  lb_redact(raw, out, n);
}

/* One sample: levbot_<name>{<label>="<value>"} v.  label may be NULL;
 * lvalue is a provider field of at most HTTP_NAME_MAX bytes. */
static void p_sample(prom *p, const char *name, const char *label, const char *lvalue, double v) {
  p_puts(p, "levbot_");
  p_puts(p, name);
  if (label) {
    char red[HTTP_TEXT_MAX + 64];
    bounded_redact(lvalue, HTTP_NAME_MAX, red, sizeof red);
    p_puts(p, "{");
    p_puts(p, label);
    p_puts(p, "=\"");
    p_escaped(p, red, true);
    p_puts(p, "\"}");
  }
  p_puts(p, " ");
  p_value(p, v);
  p_puts(p, "\n");
}

static void p_metric(prom *p, const char *name, const char *type, const char *help, double v) {
  p_family(p, name, type, help);
  p_sample(p, name, NULL, NULL, v);
}

static void prom_health(prom *p, const http_health *h) {
  http_verdict v = http_health_verdict(h);
  p_metric(p, "healthy", "gauge", "1 when /health answers 200 (healthy or degraded)", v != HTTP_UNHEALTHY);
  p_metric(p, "degraded", "gauge", "1 when some AI provider is degraded or down", v == HTTP_DEGRADED);
  p_metric(p, "uptime_seconds", "gauge", "Seconds since the bot started", (double)h->uptime_s);
  p_metric(p, "database_up", "gauge", "1 when the database answers", h->database_ok);
  if (h->database_latency_ms >= 0)
    p_metric(p, "database_latency_seconds", "gauge", "Round trip of the last database check",
             h->database_latency_ms / 1000.0);
  p_metric(p, "exchange_up", "gauge", "1 when the exchange answers", h->exchange_ok);
  p_metric(p, "engine_up", "gauge", "1 when the scan loop and position monitor are alive", h->engine_ok);
  int n = h->n_ai < 0 ? 0 : h->n_ai > HTTP_MAX_AI ? HTTP_MAX_AI : h->n_ai;
  if (n > 0) p_family(p, "ai_provider_up", "gauge", "1 when the AI provider answers normally (label: provider)");
  for (int i = 0; i < n; i++)
    if (h->ai[i].state != HTTP_AI_DISABLED)
      p_sample(p, "ai_provider_up", "provider", h->ai[i].name, h->ai[i].state == HTTP_AI_OK);
}

static void prom_status(prom *p, const http_status *s) {
  p_family(p, "info", "gauge", "Always 1; the labels say the mode, state and exchange");
  char labels[64 + HTTP_NAME_MAX];
  char ex[HTTP_NAME_MAX + 64];
  bounded_redact(s->exchange, HTTP_NAME_MAX, ex, sizeof ex);
  /* Three labels on one sample: written by hand, values from fixed sets
   * except the exchange name, which is escaped below. */
  snprintf(labels, sizeof labels, "mode=\"%s\",state=\"%s\",exchange=\"", mode_name(s->mode),
           state_name(s->state));
  p_puts(p, "levbot_info{");
  p_puts(p, labels);
  p_escaped(p, ex, true);
  p_puts(p, "\"} 1\n");
  p_metric(p, "capital_usd", "gauge", "Current capital in USDT", lb_dec_to_double(s->capital));
  p_metric(p, "equity_usd", "gauge", "Capital plus unrealized PnL in USDT", lb_dec_to_double(s->equity));
  p_metric(p, "daily_pnl_usd", "gauge", "Realized PnL since 00:00 UTC in USDT, fees included",
           lb_dec_to_double(s->daily_pnl));
  p_metric(p, "position_open", "gauge", "1 while a position is open", s->has_position);
  p_metric(p, "unrealized_pnl_usd", "gauge", "Unrealized PnL of the open position in USDT (0 when flat)",
           s->has_position ? lb_dec_to_double(s->position.unrealized_pnl) : 0.0);
  p_metric(p, "paused", "gauge", "1 while new entries are paused (command or breaker)",
           s->state == HTTP_STATE_PAUSED);
  p_metric(p, "breaker_active", "gauge", "1 while a circuit breaker is tripped", s->breaker.active);
}

/* Names the server writes itself: a bot counter with one of these names
 * would make a second family of the same name, so it is left out. */
static const char *const builtin_names[] = {
    "trades_total", "winning_trades_total", "losing_trades_total", "win_rate", "average_pnl_usd",
    "realized_pnl_usd", "profit_factor", "max_drawdown_ratio", "sharpe_ratio", "healthy", "degraded",
    "uptime_seconds", "database_up", "database_latency_seconds", "exchange_up", "engine_up",
    "ai_provider_up", "info", "capital_usd", "equity_usd", "daily_pnl_usd", "position_open",
    "unrealized_pnl_usd", "paused", "breaker_active"};

static bool counter_usable(const http_metrics *m, int i) {
  const char *name = m->counters[i].name;
  if (!http_counter_name_ok(name)) return false;
  for (size_t k = 0; k < sizeof builtin_names / sizeof builtin_names[0]; k++)
    if (strcmp(name, builtin_names[k]) == 0) return false;
  for (int j = 0; j < i; j++)
    if (strcmp(name, m->counters[j].name) == 0) return false;
  return true;
}

static void prom_metrics(prom *p, const http_metrics *m) {
  p_metric(p, "trades_total", "counter", "Closed trades", (double)m->total_trades);
  p_metric(p, "winning_trades_total", "counter", "Closed trades with a positive PnL after fees",
           (double)m->winning_trades);
  p_metric(p, "losing_trades_total", "counter", "Closed trades with a zero or negative PnL after fees",
           (double)m->losing_trades);
  p_metric(p, "win_rate", "gauge", "Winning trades / closed trades (NaN before the first trade)", m->win_rate);
  p_metric(p, "average_pnl_usd", "gauge", "Average PnL per closed trade in USDT, fees included",
           lb_dec_to_double(m->average_pnl));
  p_metric(p, "realized_pnl_usd", "gauge", "Sum of realized PnL in USDT, fees included",
           lb_dec_to_double(m->total_pnl));
  p_metric(p, "profit_factor", "gauge", "Gross profit / gross loss (+Inf without a loss)", m->profit_factor);
  p_metric(p, "max_drawdown_ratio", "gauge", "Largest fall from peak equity, as a fraction", m->max_drawdown);
  p_metric(p, "sharpe_ratio", "gauge", "Sharpe ratio of the trade returns", m->sharpe);
  int n = m->n_counters < 0 ? 0 : m->n_counters > HTTP_MAX_COUNTERS ? HTTP_MAX_COUNTERS : m->n_counters;
  for (int i = 0; i < n; i++) {
    const http_counter *c = &m->counters[i];
    if (!counter_usable(m, i)) continue;
    char help[sizeof c->help + 1];
    size_t hl = strnlen(c->help, sizeof c->help);
    memcpy(help, c->help, hl);
    help[hl] = '\0';
    p_metric(p, c->name, c->is_counter ? "counter" : "gauge", hl ? help : c->name, c->value);
  }
}

lb_err http_render_prometheus(const http_health *h, const http_status *s, const http_metrics *m,
                              lb_buf *out) {
  prom p = {out, LB_OK};
  if (h) prom_health(&p, h);
  if (s) prom_status(&p, s);
  if (m) prom_metrics(&p, m);
  return p.rc;
}
