/* event.c -- notification events: defaults, names and their JSON form.
 *
 * The JSON form is what a pending critical message looks like in the
 * store's outbox, so after a restart it is outside input: parsing is
 * strict (every type checked, every text bounded, money as exact decimal
 * strings) and a failure names the field.
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "notify/notify.h"

static const struct {
  const char *name;
  notify_severity sev;
} kinds[NOTIFY_EV__COUNT] = {
#define NOTIFY_KIND_ROW_(id, name, sev) {name, NOTIFY_##sev},
    NOTIFY_KIND_MAP(NOTIFY_KIND_ROW_)
#undef NOTIFY_KIND_ROW_
};

static const char *const severity_names[] = {"info", "warning", "critical"};

void notify_copy_text(char *dst, size_t n, const char *src) {
  if (n == 0) return;
  if (!src) src = "";
  size_t len = strlen(src);
  if (len >= n) {
    len = n - 1;
    /* Never leave half a UTF-8 sequence at the end. */
    while (len > 0 && ((unsigned char)src[len] & 0xC0) == 0x80) len--;
  }
  memcpy(dst, src, len);
  dst[len] = '\0';
}

void notify_event_init(notify_event *ev, notify_kind kind) {
  memset(ev, 0, sizeof *ev);
  ev->kind = kind;
  ev->side = LB_ACTION_HOLD;
  ev->severity = (unsigned)kind < NOTIFY_EV__COUNT ? kinds[kind].sev : NOTIFY_INFO;
}

const char *notify_kind_name(notify_kind k) {
  return (unsigned)k < NOTIFY_EV__COUNT ? kinds[k].name : "?";
}

const char *notify_severity_name(notify_severity s) {
  return (unsigned)s <= NOTIFY_CRITICAL ? severity_names[s] : "?";
}

lb_err notify_kind_parse(const char *s, notify_kind *out) {
  for (int i = 0; i < NOTIFY_EV__COUNT; i++)
    if (strcmp(s, kinds[i].name) == 0) return (*out = (notify_kind)i), LB_OK;
  return LB_EPARSE;
}

lb_err notify_severity_parse(const char *s, notify_severity *out) {
  for (int i = 0; i <= NOTIFY_CRITICAL; i++)
    if (strcmp(s, severity_names[i]) == 0) return (*out = (notify_severity)i), LB_OK;
  return LB_EPARSE;
}

/* ==== To JSON ==== */

static int set_dec(json_t *o, const char *key, lb_dec d) {
  char b[LB_DEC_STRLEN];
  lb_dec_fmt(d, b, sizeof b);
  return json_object_set_new(o, key, json_string(b));
}

static const char *side_name(lb_action a) {
  return a == LB_ACTION_LONG ? "LONG" : a == LB_ACTION_SHORT ? "SHORT" : "";
}

/* Text for the JSON form, which leaves the process (the store's outbox, the
 * webhook): secrets are redacted and the result kept within the field's
 * size.  Control characters other than newline become spaces (as every
 * renderer shows them), so no character is escaped to more than two bytes.
 * json_string() refuses invalid UTF-8; such bytes become '?' so a message
 * with a mangled field is still stored rather than lost. */
static json_t *jstr(const char *s, size_t cap) {
  size_t tcap = 2 * strlen(s) + 64;
  char *tmp = malloc(tcap), *copy = malloc(cap);
  json_t *j = NULL;
  if (!tmp || !copy) goto out;
  lb_redact(s, tmp, tcap);
  notify_copy_text(copy, cap, tmp);
  for (unsigned char *p = (unsigned char *)copy; *p; p++)
    if ((*p < 0x20 && *p != '\n') || *p == 0x7F) *p = ' ';
  j = json_string(copy);
  if (!j) {
    for (unsigned char *p = (unsigned char *)copy; *p; p++)
      if (*p >= 0x80) *p = '?';
    j = json_string(copy);
  }
out:
  free(tmp);
  free(copy);
  return j;
}

static char *to_json(const notify_event *ev, size_t detail_cap) {
  json_t *o = json_object();
  json_t *votes = json_array();
  char *out = NULL;
  if (!o || !votes) goto out;
  int rc = 0;
  rc |= json_object_set_new(o, "kind", json_string(notify_kind_name(ev->kind)));
  rc |= json_object_set_new(o, "severity", json_string(notify_severity_name(ev->severity)));
  rc |= json_object_set_new(o, "time", json_integer(ev->time));
  rc |= json_object_set_new(o, "symbol", jstr(ev->symbol, sizeof ev->symbol));
  rc |= json_object_set_new(o, "side", json_string(side_name(ev->side)));
  rc |= set_dec(o, "size", ev->size);
  rc |= json_object_set_new(o, "leverage", json_integer(ev->leverage));
  rc |= set_dec(o, "entry", ev->entry);
  rc |= set_dec(o, "stop", ev->stop);
  rc |= set_dec(o, "take_profit", ev->take_profit);
  rc |= set_dec(o, "liquidation", ev->liquidation);
  rc |= set_dec(o, "prev_stop", ev->prev_stop);
  rc |= set_dec(o, "exit_price", ev->exit_price);
  rc |= json_object_set_new(o, "confidence", json_real(ev->confidence));
  for (int i = 0; i < ev->n_votes && i < NOTIFY_MAX_VOTES; i++) {
    const notify_vote *v = &ev->votes[i];
    json_t *jv = json_object();
    if (!jv) goto out;
    rc |= json_object_set_new(jv, "model", jstr(v->model, sizeof v->model));
    rc |= json_object_set_new(jv, "action", json_string(lb_action_name(v->action)));
    rc |= json_object_set_new(jv, "confidence", json_real(v->confidence));
    rc |= json_array_append_new(votes, jv);
  }
  rc |= json_object_set(o, "votes", votes);
  rc |= set_dec(o, "pnl", ev->pnl);
  rc |= json_object_set_new(o, "r_multiple", json_real(ev->r_multiple));
  rc |= json_object_set_new(o, "reason", jstr(ev->reason, sizeof ev->reason));
  rc |= json_object_set_new(o, "breaker", jstr(ev->breaker, sizeof ev->breaker));
  rc |= json_object_set_new(o, "component", jstr(ev->component, sizeof ev->component));
  rc |= json_object_set_new(o, "title", jstr(ev->title, sizeof ev->title));
  rc |= json_object_set_new(o, "detail", jstr(ev->detail, detail_cap));
  rc |= json_object_set_new(o, "resume_at", json_integer(ev->resume_at));
  rc |= json_object_set_new(o, "day", json_integer(ev->day));
  rc |= json_object_set_new(o, "trades", json_integer(ev->trades));
  rc |= json_object_set_new(o, "wins", json_integer(ev->wins));
  rc |= set_dec(o, "capital", ev->capital);
  if (rc == 0) out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
out:
  json_decref(votes);
  json_decref(o);
  return out;
}

char *notify_event_to_json(const notify_event *ev) {
  /* Only a detail full of characters JSON escapes can pass the limit: it
   * is shortened until the whole fits (the other fields are bounded well
   * below NOTIFY_PAYLOAD_MAX). */
  size_t cap = sizeof ev->detail;
  char *j = to_json(ev, cap);
  while (j && strlen(j) > NOTIFY_PAYLOAD_MAX && cap > 1) {
    size_t over = strlen(j) - NOTIFY_PAYLOAD_MAX;
    cap = cap > over / 2 + 2 ? cap - (over / 2 + 1) : 1;
    free(j);
    j = to_json(ev, cap);
  }
  return j;
}

/* ==== From JSON ==== */

static lb_err get_text(json_t *o, const char *key, char *dst, size_t n, lb_errbuf *eb) {
  json_t *v = json_object_get(o, key);
  if (!json_is_string(v)) return lb_fail(eb, LB_EPARSE, "event field %s: not a string", key);
  if (json_string_length(v) >= n || strlen(json_string_value(v)) != json_string_length(v))
    return lb_fail(eb, LB_EPARSE, "event field %s: longer than %zu bytes or contains NUL", key,
                   n - 1);
  memcpy(dst, json_string_value(v), json_string_length(v) + 1);
  return LB_OK;
}

static lb_err get_int(json_t *o, const char *key, long long lo, long long hi, long long *out,
                      lb_errbuf *eb) {
  json_t *v = json_object_get(o, key);
  if (!json_is_integer(v)) return lb_fail(eb, LB_EPARSE, "event field %s: not an integer", key);
  long long x = json_integer_value(v);
  if (x < lo || x > hi)
    return lb_fail(eb, LB_EPARSE, "event field %s: %lld outside %lld..%lld", key, x, lo, hi);
  *out = x;
  return LB_OK;
}

static lb_err get_real(json_t *o, const char *key, double lo, double hi, double *out,
                       lb_errbuf *eb) {
  json_t *v = json_object_get(o, key);
  if (!json_is_number(v)) return lb_fail(eb, LB_EPARSE, "event field %s: not a number", key);
  double x = json_number_value(v);
  if (!(x >= lo && x <= hi))
    return lb_fail(eb, LB_EPARSE, "event field %s: %g outside %g..%g", key, x, lo, hi);
  *out = x;
  return LB_OK;
}

static lb_err get_dec(json_t *o, const char *key, lb_dec *out, lb_errbuf *eb) {
  json_t *v = json_object_get(o, key);
  if (!json_is_string(v) || lb_dec_parse(json_string_value(v), out) != LB_OK)
    return lb_fail(eb, LB_EPARSE, "event field %s: not a decimal string", key);
  return LB_OK;
}

/* "" (no side) reads as HOLD, like the writer's side_name(). */
static lb_err get_side(json_t *o, const char *key, lb_action *out, lb_errbuf *eb) {
  json_t *v = json_object_get(o, key);
  const char *s = json_is_string(v) ? json_string_value(v) : NULL;
  if (s && s[0] == '\0') return (*out = LB_ACTION_HOLD), LB_OK;
  if (!s || lb_action_parse(s, out) != LB_OK)
    return lb_fail(eb, LB_EPARSE, "event field %s: not LONG, SHORT or HOLD", key);
  return LB_OK;
}

static lb_err parse_votes(json_t *arr, notify_event *ev, lb_errbuf *eb) {
  if (!json_is_array(arr)) return lb_fail(eb, LB_EPARSE, "event field votes: not an array");
  if (json_array_size(arr) > NOTIFY_MAX_VOTES)
    return lb_fail(eb, LB_EPARSE, "event field votes: more than %d", NOTIFY_MAX_VOTES);
  size_t i;
  json_t *jv;
  json_array_foreach(arr, i, jv) {
    notify_vote *v = &ev->votes[i];
    lb_err e;
    if (!json_is_object(jv)) return lb_fail(eb, LB_EPARSE, "event field votes[%zu]: not an object", i);
    if ((e = get_text(jv, "model", v->model, sizeof v->model, eb))) return e;
    if ((e = get_side(jv, "action", &v->action, eb))) return e;
    if ((e = get_real(jv, "confidence", 0, 1, &v->confidence, eb))) return e;
  }
  ev->n_votes = (int)json_array_size(arr);
  return LB_OK;
}

static lb_err parse_object(json_t *o, notify_event *ev, lb_errbuf *eb) {
  lb_err e;
  char word[32];
  long long x;
  if ((e = get_text(o, "kind", word, sizeof word, eb))) return e;
  if (notify_kind_parse(word, &ev->kind)) return lb_fail(eb, LB_EPARSE, "event field kind: unknown \"%s\"", word);
  if ((e = get_text(o, "severity", word, sizeof word, eb))) return e;
  if (notify_severity_parse(word, &ev->severity))
    return lb_fail(eb, LB_EPARSE, "event field severity: unknown \"%s\"", word);
  if ((e = get_int(o, "time", 0, INT64_MAX / 2, &x, eb))) return e;
  ev->time = x;
  if ((e = get_text(o, "symbol", ev->symbol, sizeof ev->symbol, eb))) return e;
  if ((e = get_side(o, "side", &ev->side, eb))) return e;
  if ((e = get_dec(o, "size", &ev->size, eb))) return e;
  if ((e = get_int(o, "leverage", 0, 1000, &x, eb))) return e;
  ev->leverage = (int)x;
  if ((e = get_dec(o, "entry", &ev->entry, eb)) || (e = get_dec(o, "stop", &ev->stop, eb)) ||
      (e = get_dec(o, "take_profit", &ev->take_profit, eb)) ||
      (e = get_dec(o, "liquidation", &ev->liquidation, eb)) ||
      (e = get_dec(o, "prev_stop", &ev->prev_stop, eb)) ||
      (e = get_dec(o, "exit_price", &ev->exit_price, eb)))
    return e;
  if ((e = get_real(o, "confidence", 0, 1, &ev->confidence, eb))) return e;
  if ((e = parse_votes(json_object_get(o, "votes"), ev, eb))) return e;
  if ((e = get_dec(o, "pnl", &ev->pnl, eb))) return e;
  if ((e = get_real(o, "r_multiple", -1e6, 1e6, &ev->r_multiple, eb))) return e;
  if ((e = get_text(o, "reason", ev->reason, sizeof ev->reason, eb)) ||
      (e = get_text(o, "breaker", ev->breaker, sizeof ev->breaker, eb)) ||
      (e = get_text(o, "component", ev->component, sizeof ev->component, eb)) ||
      (e = get_text(o, "title", ev->title, sizeof ev->title, eb)) ||
      (e = get_text(o, "detail", ev->detail, sizeof ev->detail, eb)))
    return e;
  if ((e = get_int(o, "resume_at", 0, INT64_MAX / 2, &x, eb))) return e;
  ev->resume_at = x;
  if ((e = get_int(o, "day", 0, INT64_MAX / 2, &x, eb))) return e;
  ev->day = x;
  if ((e = get_int(o, "trades", 0, 1000000000, &x, eb))) return e;
  ev->trades = (int)x;
  if ((e = get_int(o, "wins", 0, ev->trades, &x, eb))) return e;
  ev->wins = (int)x;
  return get_dec(o, "capital", &ev->capital, eb);
}

lb_err notify_event_from_json(const char *json, notify_event *out, lb_errbuf *eb) {
  json_error_t je;
  notify_event_init(out, NOTIFY_EV_TEXT);
  json_t *o = json_loads(json, JSON_REJECT_DUPLICATES, &je);
  if (!json_is_object(o)) {
    json_decref(o);
    return lb_fail(eb, LB_EPARSE, "event: not a JSON object (%s)", je.text);
  }
  lb_err e = parse_object(o, out, eb);
  json_decref(o);
  if (e) notify_event_init(out, NOTIFY_EV_TEXT);
  return e;
}
