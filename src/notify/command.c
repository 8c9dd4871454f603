/* command.c -- Telegram commands: parsing, dispatch to notify_control,
 * replies in HTML.
 *
 * The table below is the whole command set (freqtrade's daily ones).  A
 * reply is built only from what the bot's callback returned, cleaned
 * (secrets masked, UTF-8 made valid), escaped, and trimmed to Telegram's
 * 4096 characters.  /forceexit closes a real position, so it takes two
 * steps: the ask opens a NOTIFY_CONFIRM_MS window, "/forceexit confirm"
 * inside it acts, and any other command closes the window.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "notify/notify_int.h"

/* Room left for the text of a reply after its title and markup. */
#define REPLY_MAX_CHARS 3800

typedef enum {
  C_STATUS, C_TRADES, C_PROFIT, C_PERFORMANCE, C_BALANCE, C_DAILY, C_WEEKLY, C_MONTHLY,
  C_HEALTH, C_SHOW_CONFIG, C_LOGS, C_VERSION, C_STOPENTRY, C_START, C_STOP, C_FORCEEXIT, C_HELP
} cmd_id;

typedef struct {
  const char *name, *alias;
  cmd_id id;
  int def_n, max_n; /* 0: takes no count */
  bool pre;         /* monospace reply (tables) */
  const char *title, *help;
} cmd_def;

static const cmd_def cmds[] = {
    {"status", NULL, C_STATUS, 0, 0, true, "Status", "state, open position, capital, breakers"},
    {"trades", NULL, C_TRADES, 10, 50, true, "Trades", "[n] last n closed trades (10)"},
    {"profit", NULL, C_PROFIT, 0, 0, true, "Profit", "realized profit and win rate"},
    {"performance", NULL, C_PERFORMANCE, 0, 0, true, "Performance", "profit per symbol"},
    {"balance", NULL, C_BALANCE, 0, 0, true, "Balance", "capital and margin"},
    {"daily", NULL, C_DAILY, 7, 90, true, "Daily", "[n] profit of the last n days (7)"},
    {"weekly", NULL, C_WEEKLY, 4, 52, true, "Weekly", "[n] profit of the last n weeks (4)"},
    {"monthly", NULL, C_MONTHLY, 3, 24, true, "Monthly", "[n] profit of the last n months (3)"},
    {"health", NULL, C_HEALTH, 0, 0, true, "Health", "database, exchange, AI providers"},
    {"show_config", NULL, C_SHOW_CONFIG, 0, 0, true, "Configuration",
     "the configuration (secrets masked)"},
    {"logs", NULL, C_LOGS, 10, 50, true, "Logs", "[n] last n log lines (10)"},
    {"version", NULL, C_VERSION, 0, 0, false, "Version", "levbot version"},
    {"stopentry", "pause", C_STOPENTRY, 0, 0, false, "Entries paused",
     "pause new entries (open positions keep their stops)"},
    {"start", "resume", C_START, 0, 0, false, "Entries resumed", "resume new entries"},
    {"stop", NULL, C_STOP, 0, 0, false, "Stopping", "stop the bot (exchange stops stay)"},
    {"forceexit", NULL, C_FORCEEXIT, 0, 0, false, "Force exit",
     "close the open position at market (asks first)"},
    {"help", NULL, C_HELP, 0, 0, false, "levbot commands", "this list"},
};
#define N_CMDS (sizeof cmds / sizeof cmds[0])

/* ==== Reply building ==== */

static lb_err put_title(lb_buf *r, const char *icon, const char *title) {
  lb_err e = icon ? lb_buf_puts(r, icon) : LB_OK;
  if (!e) e = lb_buf_puts(r, "<b>");
  if (!e) e = notify_html_escape(r, title);
  return e ? e : lb_buf_puts(r, "</b>\n");
}

/* Plain text from the bot, made safe and short enough.  Logs keep their
 * newest lines (the tail) when cut. */
static lb_err put_body(lb_buf *r, const char *text, bool pre, bool keep_tail) {
  lb_buf clean;
  lb_buf_init(&clean);
  lb_err e = notify_clean_text(&clean, text, true);
  while (clean.len && clean.data[clean.len - 1] == '\n') clean.data[--clean.len] = '\0';
  const char *s = clean.data;
  size_t chars = notify_utf8_len(clean.data);
  if (!e && keep_tail && chars > REPLY_MAX_CHARS) {
    /* Skip to a line start within the last REPLY_MAX_CHARS characters. */
    size_t skip = chars - (REPLY_MAX_CHARS - 4);
    while (*s && skip--) /* whole characters: never stop inside one */
      for (s++; ((unsigned char)*s & 0xC0) == 0x80; s++) {
      }
    const char *nl = strchr(s, '\n');
    if (nl) s = nl + 1;
    if (!e) e = lb_buf_puts(r, pre ? "<pre>...\n" : "...\n");
  } else if (!e && pre) {
    e = lb_buf_puts(r, "<pre>");
  }
  if (!e) e = notify_append_limited(r, clean.len ? s : "(nothing)", REPLY_MAX_CHARS, true);
  if (!e && pre) e = lb_buf_puts(r, "</pre>");
  lb_buf_free(&clean);
  return e;
}

static lb_err reply_error(lb_buf *r, const char *what, const char *detail) {
  lb_err e = put_title(r, "\xE2\x9A\xA0\xEF\xB8\x8F ", what);
  lb_buf clean;
  lb_buf_init(&clean);
  if (!e) e = notify_clean_text(&clean, detail, false);
  if (!e) e = notify_append_limited(r, clean.data, 500, true);
  lb_buf_free(&clean);
  return e;
}

/* ==== Dispatch ==== */

static void log_line(void *ctx, const char *line) {
  lb_buf *b = ctx;
  lb_buf_puts(b, line);
  lb_buf_puts(b, "\n");
}

static lb_err call(const notify_control *ctl, const cmd_def *d, int n, lb_buf *out,
                   lb_errbuf *eb, bool *unavailable) {
  void *x = ctl->ctx;
  *unavailable = false;
#define CALL0(f) return ctl->f ? ctl->f(x, out, eb) : (*unavailable = true, LB_OK)
  switch (d->id) {
  case C_STATUS: CALL0(status);
  case C_PROFIT: CALL0(profit);
  case C_PERFORMANCE: CALL0(performance);
  case C_BALANCE: CALL0(balance);
  case C_HEALTH: CALL0(health);
  case C_SHOW_CONFIG: CALL0(show_config);
  case C_STOPENTRY: CALL0(pause);
  case C_START: CALL0(resume);
  case C_STOP: CALL0(stop);
  case C_FORCEEXIT: CALL0(forceexit);
  case C_VERSION:
    if (ctl->version) return ctl->version(x, out, eb);
    return lb_buf_puts(out, "levbot (version unknown)");
  case C_TRADES: return ctl->trades ? ctl->trades(x, n, out, eb) : (*unavailable = true, LB_OK);
  case C_DAILY:
  case C_WEEKLY:
  case C_MONTHLY: {
    notify_period p = d->id == C_DAILY ? NOTIFY_PERIOD_DAY
                      : d->id == C_WEEKLY ? NOTIFY_PERIOD_WEEK : NOTIFY_PERIOD_MONTH;
    return ctl->periods ? ctl->periods(x, p, n, out, eb) : (*unavailable = true, LB_OK);
  }
  case C_LOGS:
    if (ctl->logs) return ctl->logs(x, n, out, eb);
    lb_log_recent(n, log_line, out);
    return LB_OK;
  case C_HELP:
  default:
    return LB_OK;
  }
#undef CALL0
}

static lb_err help(lb_buf *r) {
  lb_err e = put_title(r, NULL, "levbot commands");
  for (size_t i = 0; i < N_CMDS && !e; i++) {
    e = lb_buf_printf(r, "/%s", cmds[i].name);
    if (!e && cmds[i].alias) e = lb_buf_printf(r, " (/%s)", cmds[i].alias);
    if (!e) e = lb_buf_puts(r, " - ");
    if (!e) e = notify_html_escape(r, cmds[i].help);
    if (!e && i + 1 < N_CMDS) e = lb_buf_puts(r, "\n");
  }
  return e;
}

static const cmd_def *find_cmd(const char *word) {
  for (size_t i = 0; i < N_CMDS; i++)
    if (strcasecmp(word, cmds[i].name) == 0 || (cmds[i].alias && strcasecmp(word, cmds[i].alias) == 0))
      return &cmds[i];
  return NULL;
}

static lb_err run_forceexit(const notify_control *ctl, notify_cmd_state *st, const char *arg,
                            lb_ms now, lb_buf *r) {
  if (!ctl->forceexit) return reply_error(r, "/forceexit", "not available in this build");
  if (arg[0] == '\0') {
    st->forceexit_asked_at = now;
    lb_err e = put_title(r, "\xE2\x9A\xA0\xEF\xB8\x8F ", "Force exit?");
    return e ? e : lb_buf_printf(r, "This closes the open position at market. Send "
                                    "<code>/forceexit confirm</code> within %lld s to proceed.",
                                 (long long)(NOTIFY_CONFIRM_MS / LB_MS_SECOND));
  }
  if (strcasecmp(arg, "confirm") != 0)
    return reply_error(r, "/forceexit", "send /forceexit, then /forceexit confirm");
  lb_ms asked = st->forceexit_asked_at;
  st->forceexit_asked_at = 0;
  if (asked == 0 || now - asked > NOTIFY_CONFIRM_MS || now < asked)
    return reply_error(r, "/forceexit", "nothing to confirm (or it expired): send /forceexit first");
  lb_buf out;
  lb_errbuf eb = {{0}};
  lb_buf_init(&out);
  lb_err e = ctl->forceexit(ctl->ctx, &out, &eb);
  e = e ? reply_error(r, "/forceexit failed", eb.msg[0] ? eb.msg : lb_strerror(e))
        : put_title(r, NULL, "Force exit");
  if (!e && out.len) e = put_body(r, out.data, false, false);
  lb_buf_free(&out);
  return e;
}

/* "/trades@MyBot 5" -> word "trades", arg "5". */
static bool split_command(const char *text, char *word, size_t wn, char *arg, size_t an) {
  const char *p = text + strspn(text, " \t");
  if (*p != '/') return false;
  p++;
  size_t len = strcspn(p, " \t\n@");
  if (len == 0 || len >= wn) return false;
  memcpy(word, p, len);
  word[len] = '\0';
  p += len;
  if (*p == '@') p += strcspn(p, " \t\n");
  p += strspn(p, " \t\n");
  notify_copy_text(arg, an, p);
  size_t l = strlen(arg);
  while (l > 0 && (arg[l - 1] == ' ' || arg[l - 1] == '\t' || arg[l - 1] == '\n')) arg[--l] = '\0';
  return true;
}

lb_err notify_command_run(const notify_control *ctl, notify_cmd_state *st, const char *text,
                          lb_ms now, lb_buf *reply) {
  char word[40], arg[128];
  if (!text || !split_command(text, word, sizeof word, arg, sizeof arg)) return LB_ENOTFOUND;
  const cmd_def *d = find_cmd(word);
  if (d && d->id == C_FORCEEXIT) return run_forceexit(ctl, st, arg, now, reply);
  st->forceexit_asked_at = 0; /* any other command cancels a pending ask */
  if (!d) {
    lb_buf w;
    lb_buf_init(&w);
    notify_clean_text(&w, word, false);
    lb_err e = lb_buf_puts(reply, "Unknown command /");
    if (!e) e = notify_append_limited(reply, w.data, 40, true);
    if (!e) e = lb_buf_puts(reply, ". Send /help for the list.");
    lb_buf_free(&w);
    return e;
  }
  if (d->id == C_HELP) return help(reply);
  int n = d->def_n;
  if (d->max_n && arg[0]) {
    char *end;
    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || *end || end == arg || v < 1 || v > d->max_n) {
      char msg[200];
      snprintf(msg, sizeof msg, "\"%.40s\" is not a count (allowed: 1..%d)", arg, d->max_n);
      char what[64];
      snprintf(what, sizeof what, "/%s", d->name);
      return reply_error(reply, what, msg);
    }
    n = (int)v;
  }
  lb_buf out;
  lb_errbuf eb = {{0}};
  bool unavailable;
  lb_buf_init(&out);
  lb_err ce = call(ctl, d, n, &out, &eb, &unavailable);
  lb_err e;
  char what[64];
  snprintf(what, sizeof what, "/%s", d->name);
  if (unavailable) {
    e = reply_error(reply, what, "not available in this build");
  } else if (ce) {
    char t[80];
    snprintf(t, sizeof t, "/%s failed", d->name);
    e = reply_error(reply, t, eb.msg[0] ? eb.msg : lb_strerror(ce));
  } else {
    e = put_title(reply, NULL, d->title);
    if (!e) e = put_body(reply, out.data, d->pre, d->id == C_LOGS);
  }
  lb_buf_free(&out);
  return e;
}
