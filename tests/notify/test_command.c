/* test_command.c -- the Telegram command interpreter on its own: every
 * command reaches the right control callback with the right argument, the
 * reply is valid Telegram HTML built from what the callback returned,
 * secrets are masked, /forceexit needs its confirmation. */
#include <stdlib.h>

#include "core/log.h"
#include "stubs.h"
#include "unit.h"

typedef struct {
  fakectl f;
  notify_control ctl;
  notify_cmd_state st;
} cmdfix;

static void fix_init(cmdfix *x) {
  fakectl_init(&x->f);
  x->ctl = fakectl_iface(&x->f);
  memset(&x->st, 0, sizeof x->st);
}

static size_t chars(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* Runs a command and returns the reply (caller frees); checks the HTML. */
static char *run(cmdfix *x, const char *text, lb_ms now) {
  lb_buf r;
  lb_buf_init(&r);
  lb_err e = notify_command_run(&x->ctl, &x->st, text, now, &r);
  if (e != LB_OK) {
    lb_buf_free(&r);
    return NULL;
  }
  char err[200];
  const char *why = tg_html_check(r.data, err, sizeof err);
  if (why) lbt_fail(__FILE__, __LINE__, "invalid HTML (%s) in reply to %s: %s", why, text, r.data);
  if (chars(r.data) > 4096) lbt_fail(__FILE__, __LINE__, "reply over 4096 characters");
  return lb_buf_steal(&r);
}

TEST(command_status_reply_is_escaped_callback_text) {
  cmdfix x;
  fix_init(&x);
  char *r = run(&x, "/status", T0);
  CHECK_STREQ(r, "<b>Status</b>\n<pre>State: scanning\nPosition: LONG BTC&lt;USDT&gt; 0.015 @ 61000\n"
                 "Capital: 100.00 USDT</pre>");
  CHECK_STREQ(x.f.last_call, "status");
  free(r);
}

TEST(command_every_command_reaches_its_callback) {
  cmdfix x;
  fix_init(&x);
  struct {
    const char *text, *call, *in_reply;
    int n;
  } cases[] = {
      {"/trades", "trades", "#10 BTCUSDT", 10},
      {"/trades 3", "trades", "#3 BTCUSDT", 3},
      {"/profit", "profit", "profit report", 0},
      {"/performance", "performance", "performance report", 0},
      {"/balance", "balance", "balance report", 0},
      {"/daily", "periods", "7 days", 7},
      {"/daily 30", "periods", "30 days", 30},
      {"/weekly", "periods", "4 weeks", 4},
      {"/monthly 12", "periods", "12 months", 12},
      {"/health", "health", "health report", 0},
      {"/show_config", "show_config", "MAX_LEVERAGE=3", 0},
      {"/logs 2", "logs", "line 2", 2},
      {"/version", "version", "levbot 0.1.0", 0},
      {"/stopentry", "pause", "New entries paused", 0},
      {"/start", "resume", "New entries allowed", 0},
      {"/pause", "pause", "New entries paused", 0},
      {"/resume", "resume", "New entries allowed", 0},
      {"/stop", "stop", "exchange stops stay", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    x.f.last_call[0] = '\0';
    x.f.last_n = 0;
    char *r = run(&x, cases[i].text, T0);
    REQUIRE(r != NULL);
    CHECK_STREQ(x.f.last_call, cases[i].call);
    CHECK_CONTAINS(r, cases[i].in_reply);
    if (cases[i].n) CHECK_EQ(x.f.last_n, cases[i].n);
    free(r);
  }
  CHECK(x.f.stopped);
  free(run(&x, "/weekly", T0));
  CHECK_EQ(x.f.last_period, NOTIFY_PERIOD_WEEK);
  free(run(&x, "/monthly", T0));
  CHECK_EQ(x.f.last_period, NOTIFY_PERIOD_MONTH);
}

TEST(command_pause_and_start_flip_the_bot_state) {
  cmdfix x;
  fix_init(&x);
  free(run(&x, "/stopentry", T0));
  CHECK(x.f.paused);
  char *r = run(&x, "/status", T0);
  CHECK_CONTAINS(r, "State: paused"); /* /status reads the same state */
  free(r);
  free(run(&x, "/start", T0));
  CHECK(!x.f.paused);
}

TEST(command_accepts_bot_suffix_case_and_spaces) {
  cmdfix x;
  fix_init(&x);
  char *r = run(&x, "  /Trades@levbot_test_bot   5 ", T0);
  CHECK_EQ(x.f.last_n, 5);
  CHECK_CONTAINS(r, "#5 BTCUSDT");
  free(r);
}

TEST(command_rejects_bad_counts_naming_the_value) {
  cmdfix x;
  fix_init(&x);
  const char *bad[] = {"/trades 0", "/trades 51", "/trades five", "/daily -1", "/logs 9999999999999"};
  for (size_t i = 0; i < 5; i++) {
    x.f.calls = 0;
    char *r = run(&x, bad[i], T0);
    CHECK_CONTAINS(r, "is not a count (allowed: 1..");
    CHECK_EQ(x.f.calls, 0);
    free(r);
  }
  char *r = run(&x, "/trades <b>", T0);
  CHECK_CONTAINS(r, "&quot;&lt;b&gt;&quot; is not a count (allowed: 1..50)");
  free(r);
}

TEST(command_forceexit_needs_confirmation_in_time) {
  cmdfix x;
  fix_init(&x);
  char *r = run(&x, "/forceexit confirm", T0); /* nothing asked yet */
  CHECK_CONTAINS(r, "nothing to confirm");
  CHECK_EQ(x.f.forceexits, 0);
  free(r);
  r = run(&x, "/forceexit", T0);
  CHECK_CONTAINS(r, "<code>/forceexit confirm</code> within 60 s");
  CHECK_EQ(x.f.forceexits, 0);
  free(r);
  r = run(&x, "/forceexit confirm", T0 + 59 * LB_MS_SECOND);
  CHECK_EQ(x.f.forceexits, 1);
  CHECK_CONTAINS(r, "Closed LONG BTCUSDT at market.");
  free(r);
  r = run(&x, "/forceexit confirm", T0 + 60 * LB_MS_SECOND); /* one ask, one exit */
  CHECK_EQ(x.f.forceexits, 1);
  free(r);
  free(run(&x, "/forceexit", T0 + 100 * LB_MS_SECOND));
  r = run(&x, "/forceexit confirm", T0 + 161 * LB_MS_SECOND); /* expired */
  CHECK_CONTAINS(r, "expired");
  CHECK_EQ(x.f.forceexits, 1);
  free(r);
  free(run(&x, "/forceexit", T0 + 200 * LB_MS_SECOND));
  free(run(&x, "/status", T0 + 201 * LB_MS_SECOND)); /* another command cancels the ask */
  free(run(&x, "/forceexit confirm", T0 + 202 * LB_MS_SECOND));
  CHECK_EQ(x.f.forceexits, 1);
}

TEST(command_show_config_masks_secrets_even_if_the_bot_forgets) {
  cmdfix x;
  fix_init(&x);
  x.f.secret = "7777777777:AAFrealTokenThatMustNotLeak";
  lb_log_add_secret(x.f.secret);
  char *r = run(&x, "/show_config", T0);
  CHECK_NOT_CONTAINS(r, "AAFrealToken");
  CHECK_CONTAINS(r, "TELEGRAM_BOT_TOKEN=****");
  free(r);
  lb_log_clear_secrets();
}

TEST(command_errors_unknown_and_missing_callbacks) {
  cmdfix x;
  fix_init(&x);
  x.f.fail_status = true;
  char *r = run(&x, "/status", T0);
  CHECK_CONTAINS(r, "/status failed");
  CHECK_CONTAINS(r, "database &lt;down&gt; &amp; unreachable");
  free(r);
  r = run(&x, "/frobnicate", T0);
  CHECK_STREQ(r, "Unknown command /frobnicate. Send /help for the list.");
  free(r);
  x.ctl.balance = NULL;
  r = run(&x, "/balance", T0);
  CHECK_CONTAINS(r, "not available");
  free(r);
  CHECK(run(&x, "hello there", T0) == NULL); /* not a command: no reply */
  CHECK(run(&x, "/", T0) == NULL);
}

TEST(command_help_lists_every_command) {
  cmdfix x;
  fix_init(&x);
  char *r = run(&x, "/help", T0);
  const char *all[] = {"/status", "/trades", "/profit", "/performance", "/balance", "/daily",
                       "/weekly", "/monthly", "/health", "/show_config", "/logs", "/version",
                       "/stopentry", "/pause", "/start", "/resume", "/stop", "/forceexit", "/help"};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) CHECK_CONTAINS(r, all[i]);
  free(r);
}

TEST(command_logs_default_to_the_log_ring_newest_kept) {
  cmdfix x;
  fix_init(&x);
  x.ctl.logs = NULL; /* notify reads lb_log_recent itself */
  char *sink = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&sink, &len);
  lb_log_setup(LB_LOG_INFO, LB_LOG_HUMAN, f);
  for (int i = 0; i < 120; i++) LB_INFO("test", "ring line %03d %s", i, "padding padding padding padding padding");
  lb_log_setup(LB_LOG_INFO, LB_LOG_HUMAN, NULL);
  fclose(f);
  free(sink);
  char *r = run(&x, "/logs 3", T0);
  CHECK_CONTAINS(r, "ring line 119");
  CHECK_CONTAINS(r, "ring line 117");
  CHECK_NOT_CONTAINS(r, "ring line 116");
  free(r);
  r = run(&x, "/logs 50", T0); /* over the size limit: the newest lines stay */
  CHECK_CONTAINS(r, "ring line 119");
  CHECK_NOT_CONTAINS(r, "ring line 070");
  CHECK_CONTAINS(r, "<pre>...\n");
  free(r);
}

TEST(command_parser_survives_random_text) {
  cmdfix x;
  fix_init(&x);
  x.ctl.stop = NULL; /* nothing random may stop or close anything */
  x.ctl.forceexit = NULL;
  x.ctl.pause = NULL;
  x.ctl.resume = NULL;
  const char *seeds[] = {"/trades 5", "/forceexit confirm", "/daily@bot 3", "/logs", "/x"};
  unsigned long seed = lbt_seed();
  char buf[64] = {0}; /* a mutation may overwrite the terminator: the bytes after it must be defined */
  for (int i = 0; i < 3000; i++) {
    snprintf(buf, sizeof buf, "%s", seeds[i % 5]);
    size_t len = strlen(buf);
    for (int k = 0; k < 3; k++) {
      seed = seed * 6364136223846793005UL + 1442695040888963407UL;
      size_t at = (seed >> 33) % (len + 1);
      if (at < sizeof buf - 1) buf[at] = (char)(1 + (seed >> 20) % 255);
    }
    buf[sizeof buf - 1] = '\0';
    char *r = run(&x, buf, T0); /* run() checks every reply is valid Telegram HTML */
    free(r);
  }
  CHECK_EQ(x.f.forceexits, 0);
  CHECK(!x.f.stopped);
}

/* One line far over the limit, all two-byte characters: no newline to
 * realign on, so the cut itself must land between characters. */
static lb_err huge_logs(void *ctx, int n, lb_buf *out, lb_errbuf *eb) {
  (void)ctx;
  (void)n;
  (void)eb;
  lb_buf_puts(out, "x\n");
  for (int i = 0; i < 5001; i++) lb_buf_puts(out, "\xc3\xa9");
  return LB_OK;
}

TEST(command_long_multibyte_logs_are_cut_on_character_boundaries) {
  cmdfix x;
  fix_init(&x);
  x.ctl.logs = huge_logs;
  char *r = run(&x, "/logs 3", T0);
  REQUIRE(r != NULL);
  CHECK_CONTAINS(r, "<pre>...\n\xc3\xa9");
  for (const unsigned char *p = (const unsigned char *)r; *p; p++) {
    if (*p == 0xC3) { /* every lead byte has its continuation */
      CHECK(p[1] == 0xA9);
      p++;
    } else {
      CHECK(*p < 0x80);
    }
  }
  free(r);
}
