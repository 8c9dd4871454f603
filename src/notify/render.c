/* render.c -- events as text: Telegram HTML, plain text, subject, SMS,
 * webhook JSON and a whole RFC 5322 email.
 *
 * Every renderer is pure (the same event gives the same bytes: the time
 * printed is the event's, never "now") and goes through one view: a title
 * and body lines built once per kind from cleaned fields.  Cleaning is where
 * outside text is made safe: secrets are redacted, invalid UTF-8 becomes
 * U+FFFD, control characters become spaces; escaping for HTML happens last,
 * per format, so no field can inject markup or headers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/log.h"
#include "notify/notify_int.h"

/* ==== Text hygiene ==== */

/* Length of the valid UTF-8 sequence at p, or 0 if it is not one. */
static size_t utf8_seq(const unsigned char *p) {
  unsigned c = p[0];
  size_t n;
  unsigned min;
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) n = 2, min = 0x80;
  else if (c >= 0xE0 && c <= 0xEF) n = 3, min = 0x800;
  else if (c >= 0xF0 && c <= 0xF4) n = 4, min = 0x10000;
  else return 0;
  unsigned cp = c & (0xFF >> (n + 1));
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return n;
}

size_t notify_utf8_len(const char *s) {
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
    size_t k = utf8_seq(p);
    p += k ? k : 1;
  }
  return n;
}

static lb_err sanitize(lb_buf *out, const char *s, bool multiline) {
  lb_err e = LB_OK;
  for (const unsigned char *p = (const unsigned char *)s; *p && !e;) {
    size_t k = utf8_seq(p);
    if (k == 0) {
      e = lb_buf_append(out, "\xEF\xBF\xBD", 3);
      p++;
    } else if (k == 1 && (*p < 0x20 || *p == 0x7F) && !(multiline && *p == '\n')) {
      e = lb_buf_append(out, " ", 1);
      p++;
    } else {
      e = lb_buf_append(out, p, k);
      p += k;
    }
  }
  return e;
}

lb_err notify_clean_text(lb_buf *out, const char *s, bool multiline) {
  if (!s) return LB_OK;
  /* lb_redact grows a text by at most 3 bytes per masked value, and a
   * value takes at least 2 bytes of input: twice the length is enough. */
  size_t cap = 2 * strlen(s) + 64;
  char *tmp = malloc(cap);
  if (!tmp) return LB_ENOMEM;
  lb_redact(s, tmp, cap);
  lb_err e = sanitize(out, tmp, multiline);
  free(tmp);
  return e;
}

lb_err notify_html_escape(lb_buf *out, const char *s) {
  lb_err e = LB_OK;
  for (const char *p = s; *p && !e; p++) {
    switch (*p) {
    case '&': e = lb_buf_puts(out, "&amp;"); break;
    case '<': e = lb_buf_puts(out, "&lt;"); break;
    case '>': e = lb_buf_puts(out, "&gt;"); break;
    case '"': e = lb_buf_puts(out, "&quot;"); break;
    default: e = lb_buf_append(out, p, 1);
    }
  }
  return e;
}

lb_err notify_append_limited(lb_buf *out, const char *s, size_t max_chars, bool html) {
  size_t chars = 0;
  const char *p = s;
  while (*p && chars < max_chars) {
    size_t k = utf8_seq((const unsigned char *)p);
    p += k ? k : 1;
    chars++;
  }
  bool cut = *p != '\0';
  if (cut && max_chars > 3) { /* make room for "..." */
    p = s;
    for (size_t i = 0; i < max_chars - 3 && *p; i++) {
      size_t k = utf8_seq((const unsigned char *)p);
      p += k ? k : 1;
    }
  }
  size_t n = (size_t)(p - s);
  char *part = malloc(n + 1);
  if (!part) return LB_ENOMEM;
  memcpy(part, s, n);
  part[n] = '\0';
  lb_err e = html ? notify_html_escape(out, part) : lb_buf_puts(out, part);
  free(part);
  if (!e && cut) e = lb_buf_puts(out, "...");
  return e;
}

/* ==== Numbers and times ==== */

static const char *price(lb_dec d, char *b) {
  lb_dec_fmt(d, b, LB_DEC_STRLEN);
  return b;
}

static const char *usd(lb_dec d, char *b) {
  lb_dec_fmt_places(d, 2, b, LB_DEC_STRLEN);
  return b;
}

/* "+91.50", "-12.00", "0.00": the sign of the amount as printed. */
static const char *signed_usd(lb_dec d, char *b) {
  lb_dec cents = lb_dec_round_to(d, LB_DEC_SCALE / 100, LB_ROUND_HALF_EVEN);
  b[0] = cents > 0 ? '+' : cents < 0 ? '-' : '\0';
  lb_dec_fmt_places(lb_dec_abs(cents), 2, b + (b[0] != '\0'), LB_DEC_STRLEN - 1);
  return b;
}

static void fmt_utc(lb_ms t, char *b, size_t n) {
  lb_tm tm;
  lb_time_split(t, &tm);
  snprintf(b, n, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.year, tm.month, tm.day, tm.hour,
           tm.minute, tm.second);
}

void notify_rfc5322_date(lb_ms t, char *buf, size_t n) {
  static const char *const wd[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
  static const char *const mo[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  lb_tm tm;
  lb_time_split(t, &tm);
  snprintf(buf, n, "%s, %02d %s %04d %02d:%02d:%02d +0000", wd[tm.wday % 7], tm.day,
           mo[(tm.month - 1) % 12], tm.year, tm.hour, tm.minute, tm.second);
}

static int pct(double x) { return (int)(x * 100.0 + (x >= 0 ? 0.5 : -0.5)); }

/* ==== The view: title and body lines, built once per kind ==== */

typedef struct {
  notify_severity sev;
  lb_buf title; /* one line, cleaned */
  lb_buf body;  /* lines separated by '\n', cleaned */
  char when[40];
  lb_err err;
} view;

/* A field cleaned into a short-lived buffer (single line). */
typedef struct {
  char s[2 * NOTIFY_DETAIL_MAX + 64];
} field;

static const char *clean1(field *f, const char *src) {
  lb_buf b;
  lb_buf_init(&b);
  if (notify_clean_text(&b, src, false) == LB_OK) notify_copy_text(f->s, sizeof f->s, b.data);
  else f->s[0] = '\0';
  lb_buf_free(&b);
  return f->s;
}

static void vtitle(view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vtitle(view *v, const char *fmt, ...) {
  char tmp[2048]; /* cleaned fields: at most 3 bytes per input byte */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (!v->err) v->err = lb_buf_puts(&v->title, tmp);
}

static void vline(view *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void vline(view *v, const char *fmt, ...) {
  char tmp[2 * NOTIFY_DETAIL_MAX + 256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (!v->err && v->body.len) v->err = lb_buf_puts(&v->body, "\n");
  if (!v->err) v->err = lb_buf_puts(&v->body, tmp);
}

/* Multi-line free text (detail): cleaned, blank lines dropped. */
static void vtext(view *v, const char *text) {
  lb_buf b;
  lb_buf_init(&b);
  if (!v->err) v->err = notify_clean_text(&b, text, true);
  for (char *line = b.data; !v->err && line && *line;) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    /* Appended as it is: a cleaned line can be three times its field's
     * size (each bad byte became U+FFFD), more than vline()'s buffer. */
    if (line[strspn(line, " ")]) {
      if (!v->err && v->body.len) v->err = lb_buf_puts(&v->body, "\n");
      if (!v->err) v->err = lb_buf_puts(&v->body, line);
    }
    line = nl ? nl + 1 : NULL;
  }
  lb_buf_free(&b);
}

static const char *side_word(lb_action a) {
  return a == LB_ACTION_LONG ? "LONG" : a == LB_ACTION_SHORT ? "SHORT" : "";
}

static void pos_title(view *v, const notify_event *ev, const char *what) {
  field sym;
  const char *side = side_word(ev->side);
  vtitle(v, "%s%s%s %s", side, *side ? " " : "", clean1(&sym, ev->symbol), what);
}

static void build_entry(view *v, const notify_event *ev) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN], lev[32] = "";
  pos_title(v, ev, "filled");
  if (ev->leverage > 0) snprintf(lev, sizeof lev, " (%dx)", ev->leverage);
  vline(v, "Size: %s @ %s%s", price(ev->size, a), price(ev->entry, b), lev);
  if (ev->take_profit)
    vline(v, "Stop: %s | Take-profit: %s", price(ev->stop, a), price(ev->take_profit, b));
  else
    vline(v, "Stop: %s", price(ev->stop, a));
  if (ev->liquidation) vline(v, "Liquidation: %s", price(ev->liquidation, a));
  if (ev->confidence > 0 || ev->n_votes > 0) {
    char votes[NOTIFY_MAX_VOTES * (NOTIFY_NAME_MAX + 16) + 8] = "";
    size_t k = 0;
    for (int i = 0; i < ev->n_votes && i < NOTIFY_MAX_VOTES; i++) {
      field m;
      k += (size_t)snprintf(votes + k, sizeof votes - k, "%s%s %s %d%%", i ? ", " : " (",
                            clean1(&m, ev->votes[i].model), lb_action_name(ev->votes[i].action),
                            pct(ev->votes[i].confidence));
      if (k >= sizeof votes) k = sizeof votes - 1;
    }
    if (ev->n_votes > 0) snprintf(votes + k, sizeof votes - k, ")");
    vline(v, "AI confidence: %d%%%s", pct(ev->confidence), votes);
  }
}

static void build_stop_moved(view *v, const notify_event *ev) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN];
  field r;
  pos_title(v, ev, "stop moved");
  if (ev->prev_stop) vline(v, "Stop: %s -> %s", price(ev->prev_stop, a), price(ev->stop, b));
  else vline(v, "Stop: %s", price(ev->stop, a));
  if (ev->reason[0]) vline(v, "Reason: %s", clean1(&r, ev->reason));
}

static void build_exit(view *v, const notify_event *ev) {
  char a[LB_DEC_STRLEN], b[LB_DEC_STRLEN], c[LB_DEC_STRLEN];
  field r;
  if (ev->reason[0]) {
    char what[sizeof r.s + 16];
    snprintf(what, sizeof what, "closed: %s", clean1(&r, ev->reason));
    pos_title(v, ev, what);
  } else {
    pos_title(v, ev, "closed");
  }
  vline(v, "Size: %s | Entry: %s | Exit: %s", price(ev->size, a), price(ev->entry, b),
        price(ev->exit_price, c));
  vline(v, "PnL: %s USDT (%+.2fR)", signed_usd(ev->pnl, a), ev->r_multiple);
}

static void build_breaker(view *v, const notify_event *ev) {
  field k, r;
  if (ev->kind == NOTIFY_EV_BREAKER_TRIPPED) {
    vtitle(v, "Circuit breaker tripped: %s", clean1(&k, ev->breaker));
    vtext(v, ev->detail);
    if (ev->resume_at > 0) {
      char t[40];
      fmt_utc(ev->resume_at, t, sizeof t);
      vline(v, "New entries paused until %s", t);
    } else {
      vline(v, "New entries paused until /start");
    }
  } else {
    vtitle(v, "Circuit breaker resumed: %s", clean1(&k, ev->breaker));
    if (ev->reason[0]) vline(v, "Reason: %s", clean1(&r, ev->reason));
    vline(v, "New entries allowed again");
  }
}

static void build_summary(view *v, const notify_event *ev) {
  char d[16], a[LB_DEC_STRLEN];
  lb_time_fmt_date(ev->day, d, sizeof d);
  vtitle(v, "Daily summary %s", d);
  if (ev->trades > 0)
    vline(v, "Trades: %d (%d won, win rate %d%%)", ev->trades, ev->wins,
          pct((double)ev->wins / ev->trades));
  else
    vline(v, "Trades: 0");
  vline(v, "PnL: %s USDT", signed_usd(ev->pnl, a));
  vline(v, "Capital: %s USDT", usd(ev->capital, a));
}

static void build_view(view *v, const notify_event *ev) {
  char a[LB_DEC_STRLEN];
  field f;
  memset(v, 0, sizeof *v);
  lb_buf_init(&v->title);
  lb_buf_init(&v->body);
  v->sev = ev->severity;
  fmt_utc(ev->time, v->when, sizeof v->when);
  switch (ev->kind) {
  case NOTIFY_EV_START:
    vtitle(v, "levbot started");
    vtext(v, ev->detail);
    vline(v, "Capital: %s USDT", usd(ev->capital, a));
    break;
  case NOTIFY_EV_STOP:
    vtitle(v, "levbot stopped");
    if (ev->reason[0]) vline(v, "Reason: %s", clean1(&f, ev->reason));
    vline(v, "Capital: %s USDT", usd(ev->capital, a));
    break;
  case NOTIFY_EV_ENTRY_FILLED: build_entry(v, ev); break;
  case NOTIFY_EV_STOP_MOVED: build_stop_moved(v, ev); break;
  case NOTIFY_EV_EXIT: build_exit(v, ev); break;
  case NOTIFY_EV_BREAKER_TRIPPED:
  case NOTIFY_EV_BREAKER_RESUMED: build_breaker(v, ev); break;
  case NOTIFY_EV_EXCHANGE_DEGRADED:
    vtitle(v, "Exchange degraded: %s", clean1(&f, ev->component));
    vtext(v, ev->detail);
    break;
  case NOTIFY_EV_AI_DEGRADED:
    vtitle(v, "AI provider degraded: %s", clean1(&f, ev->component));
    vtext(v, ev->detail);
    break;
  case NOTIFY_EV_DB_DOWN:
    vtitle(v, "Database down");
    vtext(v, ev->detail);
    break;
  case NOTIFY_EV_DAILY_SUMMARY: build_summary(v, ev); break;
  case NOTIFY_EV_TEXT:
  default:
    vtitle(v, "%s", ev->title[0] ? clean1(&f, ev->title) : "levbot");
    vtext(v, ev->detail);
    break;
  }
}

static void view_free(view *v) {
  lb_buf_free(&v->title);
  lb_buf_free(&v->body);
}

static const char *sev_word(notify_severity s) {
  return s == NOTIFY_CRITICAL ? "CRITICAL " : s == NOTIFY_WARNING ? "WARNING " : "";
}

/* ==== Formats ==== */

lb_err notify_render_telegram(const notify_event *ev, lb_buf *out) {
  view v;
  build_view(&v, ev);
  lb_err e = v.err;
  if (!e && v.sev == NOTIFY_CRITICAL) e = lb_buf_puts(out, "\xF0\x9F\x9A\xA8 "); /* police light */
  if (!e && v.sev == NOTIFY_WARNING) e = lb_buf_puts(out, "\xE2\x9A\xA0\xEF\xB8\x8F "); /* warning */
  if (!e) e = lb_buf_puts(out, "<b>");
  if (!e) e = notify_html_escape(out, v.title.data);
  if (!e) e = lb_buf_puts(out, "</b>\n");
  if (!e && v.body.len) e = notify_html_escape(out, v.body.data);
  if (!e) e = lb_buf_printf(out, "%s<i>%s</i>", v.body.len ? "\n" : "", v.when);
  view_free(&v);
  return e;
}

lb_err notify_render_text(const notify_event *ev, lb_buf *out) {
  view v;
  build_view(&v, ev);
  lb_err e = v.err;
  if (!e) e = lb_buf_printf(out, "%s%s\n", sev_word(v.sev), v.title.data);
  if (!e && v.body.len) e = lb_buf_printf(out, "%s\n", v.body.data);
  if (!e) e = lb_buf_printf(out, "%s\n", v.when);
  view_free(&v);
  return e;
}

lb_err notify_render_subject(const notify_event *ev, lb_buf *out) {
  view v;
  build_view(&v, ev);
  lb_err e = v.err;
  if (!e) e = lb_buf_printf(out, "[levbot] %s%s", sev_word(v.sev), v.title.data);
  view_free(&v);
  return e;
}

lb_err notify_render_sms(const notify_event *ev, lb_buf *out) {
  view v;
  lb_buf all;
  lb_buf_init(&all);
  build_view(&v, ev);
  lb_err e = v.err;
  if (!e) e = lb_buf_printf(&all, "[levbot] %s%s", sev_word(v.sev), v.title.data);
  if (!e && v.body.len) e = lb_buf_printf(&all, ": %s", v.body.data);
  if (!e) {
    /* GSM-7 keeps 160 characters a segment; anything else would halve it. */
    lb_buf tmp;
    lb_buf_init(&tmp);
    for (const char *p = all.data; *p && !e;) {
      size_t k = utf8_seq((const unsigned char *)p);
      if (*p == '\n') e = lb_buf_puts(&tmp, "; ");
      else e = lb_buf_append(&tmp, k == 1 ? p : "?", 1);
      p += k ? k : 1;
    }
    if (!e) e = notify_append_limited(out, tmp.data, NOTIFY_SMS_MAX, false);
    lb_buf_free(&tmp);
  }
  lb_buf_free(&all);
  view_free(&v);
  return e;
}

lb_err notify_render_webhook(const notify_event *ev, lb_buf *out) {
  lb_buf text, content;
  lb_buf_init(&text);
  lb_buf_init(&content);
  char *evjson = NULL, *dump = NULL;
  json_t *o = NULL, *evobj = NULL;
  lb_err e = notify_render_text(ev, &text);
  /* Discord refuses content over 2000 characters. */
  if (!e) e = notify_append_limited(&content, text.data, 2000, false);
  if (!e && !(evjson = notify_event_to_json(ev))) e = LB_ENOMEM;
  if (!e && !(evobj = json_loads(evjson, 0, NULL))) e = LB_ENOMEM;
  if (!e) {
    o = json_pack("{s:s, s:s, s:s, s:s, s:O}", "text", text.data, "content", content.data,
                  "kind", notify_kind_name(ev->kind), "severity",
                  notify_severity_name(ev->severity), "event", evobj);
    if (!o || !(dump = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER))) e = LB_ENOMEM;
  }
  if (!e) e = lb_buf_puts(out, dump);
  free(dump);
  free(evjson);
  json_decref(o);
  json_decref(evobj);
  lb_buf_free(&text);
  lb_buf_free(&content);
  return e;
}

/* ==== Email ==== */

bool notify_mail_addr(const char *s, char *out, size_t n) {
  const char *lt = strchr(s, '<');
  const char *start = s, *end;
  if (lt) {
    const char *gt = strchr(lt, '>');
    if (!gt || gt[1 + strspn(gt + 1, " \t")] != '\0') return false;
    start = lt + 1;
    end = gt;
  } else {
    start += strspn(start, " \t");
    end = start + strlen(start);
    while (end > start && (end[-1] == ' ' || end[-1] == '\t')) end--;
  }
  size_t len = (size_t)(end - start);
  if (len == 0 || len >= n) return false;
  int ats = 0;
  for (const char *p = start; p < end; p++) {
    unsigned char c = (unsigned char)*p;
    if (c <= 0x20 || c >= 0x7F || c == '<' || c == '>' || c == ',' || c == '"') return false;
    ats += c == '@';
  }
  if (ats != 1 || start[0] == '@' || end[-1] == '@') return false;
  memcpy(out, start, len);
  out[len] = '\0';
  return true;
}

static void b64(const unsigned char *in, size_t n, lb_buf *out) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                 (i + 2 < n ? in[i + 2] : 0);
    char q[4] = {tab[v >> 18 & 63], tab[v >> 12 & 63], i + 1 < n ? tab[v >> 6 & 63] : '=',
                 i + 2 < n ? tab[v & 63] : '='};
    lb_buf_append(out, q, 4);
  }
}

/* RFC 2047 encoded words for a non-ASCII subject, folded so no line
 * passes 78 characters; plain ASCII goes as it is. */
static lb_err put_subject(lb_buf *out, const char *subj) {
  bool ascii = true;
  for (const char *p = subj; *p; p++) ascii &= (unsigned char)*p < 0x80;
  if (ascii) return lb_buf_printf(out, "Subject: %s\r\n", subj);
  lb_err e = lb_buf_puts(out, "Subject:");
  const char *p = subj;
  while (*p && !e) {
    size_t take = 0;
    while (p[take]) {
      size_t k = utf8_seq((const unsigned char *)p + take);
      if (!k) k = 1;
      if (take + k > 45) break;
      take += k;
    }
    e = lb_buf_printf(out, "%s=?UTF-8?B?", p == subj ? " " : "\r\n ");
    if (!e) b64((const unsigned char *)p, take, out);
    if (!e) e = lb_buf_puts(out, "?=");
    p += take;
  }
  return e ? e : lb_buf_puts(out, "\r\n");
}

/* Body lines end in CRLF and stay under the 998-octet line limit. */
static lb_err put_body(lb_buf *out, const char *text) {
  lb_err e = LB_OK;
  for (const char *p = text; *p && !e;) {
    size_t len = strcspn(p, "\n");
    while (len > 900 && !e) {
      size_t cut = 900;
      while (cut > 0 && ((unsigned char)p[cut] & 0xC0) == 0x80) cut--;
      e = lb_buf_append(out, p, cut);
      if (!e) e = lb_buf_puts(out, "\r\n");
      p += cut;
      len -= cut;
    }
    if (!e) e = lb_buf_append(out, p, len);
    if (!e) e = lb_buf_puts(out, "\r\n");
    p += len;
    if (*p == '\n') p++;
  }
  return e;
}

lb_err notify_render_email(const notify_event *ev, const char *from, const char *to_list,
                           const char *message_id, lb_buf *out) {
  char date[64];
  lb_buf subj, body;
  lb_buf_init(&subj);
  lb_buf_init(&body);
  notify_rfc5322_date(ev->time, date, sizeof date);
  lb_err e = notify_render_subject(ev, &subj);
  if (!e) e = notify_render_text(ev, &body);
  if (!e) e = lb_buf_printf(out, "Date: %s\r\nFrom: %s\r\nTo: ", date, from);
  /* Addresses as configured (validated at add time), one list. */
  char list[1024];
  notify_copy_text(list, sizeof list, to_list);
  int n = 0;
  for (char *tok = list; tok && !e && n < 32; n++) {
    char *comma = strchr(tok, ',');
    if (comma) *comma = '\0';
    char *t = tok + strspn(tok, " \t");
    size_t l = strlen(t);
    while (l > 0 && (t[l - 1] == ' ' || t[l - 1] == '\t')) t[--l] = '\0';
    e = lb_buf_printf(out, "%s%s", n ? ", " : "", t);
    tok = comma ? comma + 1 : NULL;
  }
  if (!e) e = lb_buf_puts(out, "\r\n");
  if (!e) e = put_subject(out, subj.data);
  if (!e)
    e = lb_buf_printf(out,
                      "Message-ID: <%s>\r\nMIME-Version: 1.0\r\n"
                      "Content-Type: text/plain; charset=UTF-8\r\n"
                      "Content-Transfer-Encoding: 8bit\r\n\r\n",
                      message_id);
  if (!e) e = put_body(out, body.data);
  lb_buf_free(&subj);
  lb_buf_free(&body);
  return e;
}
