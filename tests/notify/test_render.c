/* test_render.c -- every event renders to the expected text in every
 * format (golden texts written from the format described in notify.h, not
 * copied from output), HTML escaping, secret masking, UTF-8 hygiene, the
 * JSON form and its strict parser. */
#include <jansson.h>
#include <stdlib.h>

#include "core/log.h"
#include "stubs.h"
#include "unit.h"

#define WHEN "2024-03-01 12:00:00 UTC"
#define TG_WHEN "<i>" WHEN "</i>"
#define WARN_ICON "\xE2\x9A\xA0\xEF\xB8\x8F "
#define CRIT_ICON "\xF0\x9F\x9A\xA8 "

static lb_dec D(const char *s) {
  lb_dec d = 0;
  if (lb_dec_parse(s, &d) != LB_OK) abort();
  return d;
}

static char *tg(const notify_event *ev) {
  lb_buf b;
  lb_buf_init(&b);
  if (notify_render_telegram(ev, &b) != LB_OK) abort();
  return lb_buf_steal(&b);
}

static char *txt(const notify_event *ev) {
  lb_buf b;
  lb_buf_init(&b);
  if (notify_render_text(ev, &b) != LB_OK) abort();
  return lb_buf_steal(&b);
}

static char *with(lb_err (*fn)(const notify_event *, lb_buf *), const notify_event *ev) {
  lb_buf b;
  lb_buf_init(&b);
  if (fn(ev, &b) != LB_OK) abort();
  return lb_buf_steal(&b);
}

#define CHECK_RENDER(ev, fn, want)        \
  do {                                    \
    char *got_ = (fn)(ev);                \
    CHECK_STREQ(got_, want);              \
    char err_[200];                       \
    if ((fn) == tg) CHECK(tg_html_check(got_, err_, sizeof err_) == NULL); \
    free(got_);                           \
  } while (0)

static void entry_event(notify_event *ev) {
  notify_event_init(ev, NOTIFY_EV_ENTRY_FILLED);
  ev->time = T0;
  notify_set(ev->symbol, "BTCUSDT");
  ev->side = LB_ACTION_LONG;
  ev->size = D("0.015");
  ev->leverage = 5;
  ev->entry = D("61000");
  ev->stop = D("56730");
  ev->take_profit = D("67100");
  ev->liquidation = D("49200.5");
  ev->confidence = 0.85;
  ev->n_votes = 3;
  notify_set(ev->votes[0].model, "claude");
  ev->votes[0].action = LB_ACTION_LONG;
  ev->votes[0].confidence = 0.88;
  notify_set(ev->votes[1].model, "gpt");
  ev->votes[1].action = LB_ACTION_LONG;
  ev->votes[1].confidence = 0.82;
  notify_set(ev->votes[2].model, "grok");
  ev->votes[2].action = LB_ACTION_HOLD;
  ev->votes[2].confidence = 0.6;
}

TEST(render_entry_filled_in_every_format) {
  notify_event ev;
  entry_event(&ev);
  CHECK_EQ(ev.severity, NOTIFY_INFO);
  CHECK_RENDER(&ev, tg,
               "<b>LONG BTCUSDT filled</b>\n"
               "Size: 0.015 @ 61000 (5x)\n"
               "Stop: 56730 | Take-profit: 67100\n"
               "Liquidation: 49200.5\n"
               "AI confidence: 85% (claude LONG 88%, gpt LONG 82%, grok HOLD 60%)\n" TG_WHEN);
  CHECK_RENDER(&ev, txt,
               "LONG BTCUSDT filled\n"
               "Size: 0.015 @ 61000 (5x)\n"
               "Stop: 56730 | Take-profit: 67100\n"
               "Liquidation: 49200.5\n"
               "AI confidence: 85% (claude LONG 88%, gpt LONG 82%, grok HOLD 60%)\n" WHEN "\n");
  char *s = with(notify_render_subject, &ev);
  CHECK_STREQ(s, "[levbot] LONG BTCUSDT filled");
  free(s);
  s = with(notify_render_sms, &ev);
  CHECK_STREQ(s, "[levbot] LONG BTCUSDT filled: Size: 0.015 @ 61000 (5x); Stop: 56730 | "
                 "Take-profit: 67100; Liquidation: 49200.5; AI confidence: 85% (claude LONG 88%, "
                 "gpt LONG 82%, grok HOLD 60%)");
  free(s);
}

TEST(render_entry_without_optional_fields_leaves_them_out) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_ENTRY_FILLED);
  ev.time = T0;
  notify_set(ev.symbol, "ETHUSDT");
  ev.side = LB_ACTION_SHORT;
  ev.size = D("1.2");
  ev.entry = D("3400.25");
  ev.stop = D("3638.27");
  CHECK_RENDER(&ev, txt, "SHORT ETHUSDT filled\nSize: 1.2 @ 3400.25\nStop: 3638.27\n" WHEN "\n");
}

TEST(render_start_and_stop) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_START);
  ev.time = T0;
  notify_set(ev.detail, "paper trading, BTCUSDT ETHUSDT");
  ev.capital = D("100");
  CHECK_RENDER(&ev, tg,
               "<b>levbot started</b>\npaper trading, BTCUSDT ETHUSDT\nCapital: 100.00 USDT\n" TG_WHEN);
  notify_event_init(&ev, NOTIFY_EV_STOP);
  ev.time = T0;
  notify_set(ev.reason, "/stop from Telegram");
  ev.capital = D("112.5");
  CHECK_EQ(ev.severity, NOTIFY_WARNING);
  CHECK_RENDER(&ev, tg,
               WARN_ICON "<b>levbot stopped</b>\nReason: /stop from Telegram\n"
                         "Capital: 112.50 USDT\n" TG_WHEN);
  CHECK_RENDER(&ev, txt,
               "WARNING levbot stopped\nReason: /stop from Telegram\nCapital: 112.50 USDT\n" WHEN "\n");
}

TEST(render_stop_moved) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_STOP_MOVED);
  ev.time = T0;
  notify_set(ev.symbol, "ETHUSDT");
  ev.side = LB_ACTION_SHORT;
  ev.prev_stop = D("3500");
  ev.stop = D("3420.5");
  notify_set(ev.reason, "trailing");
  CHECK_RENDER(&ev, tg,
               "<b>SHORT ETHUSDT stop moved</b>\nStop: 3500 -&gt; 3420.5\nReason: trailing\n" TG_WHEN);
}

TEST(render_exit_profit_and_loss_round_half_even_to_cents) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_EXIT);
  ev.time = T0;
  notify_set(ev.symbol, "BTCUSDT");
  ev.side = LB_ACTION_LONG;
  ev.size = D("0.015");
  ev.entry = D("61000");
  ev.exit_price = D("67100");
  notify_set(ev.reason, "take-profit");
  ev.pnl = D("90.8735");
  ev.r_multiple = 2.148;
  CHECK_RENDER(&ev, tg,
               "<b>LONG BTCUSDT closed: take-profit</b>\n"
               "Size: 0.015 | Entry: 61000 | Exit: 67100\n"
               "PnL: +90.87 USDT (+2.15R)\n" TG_WHEN);
  ev.exit_price = D("58125");
  notify_set(ev.reason, "stop-loss");
  ev.pnl = D("-43.125"); /* a tie: half-even keeps the even cent */
  ev.r_multiple = -1.0;
  CHECK_RENDER(&ev, txt,
               "LONG BTCUSDT closed: stop-loss\n"
               "Size: 0.015 | Entry: 61000 | Exit: 58125\n"
               "PnL: -43.12 USDT (-1.00R)\n" WHEN "\n");
  ev.pnl = D("-0.004"); /* rounds to zero: no sign */
  ev.r_multiple = 0;
  char *t = txt(&ev);
  CHECK_CONTAINS(t, "PnL: 0.00 USDT (+0.00R)");
  free(t);
}

TEST(render_breakers) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_BREAKER_TRIPPED);
  ev.time = T0;
  notify_set(ev.breaker, "daily_loss");
  notify_set(ev.detail, "Daily loss 6.2% >= limit 6%");
  ev.resume_at = T0 + 12 * LB_MS_HOUR;
  CHECK_EQ(ev.severity, NOTIFY_WARNING);
  CHECK_RENDER(&ev, tg,
               WARN_ICON "<b>Circuit breaker tripped: daily_loss</b>\n"
                         "Daily loss 6.2% &gt;= limit 6%\n"
                         "New entries paused until 2024-03-02 00:00:00 UTC\n" TG_WHEN);
  ev.resume_at = 0;
  char *t = txt(&ev);
  CHECK_CONTAINS(t, "New entries paused until /start\n");
  free(t);
  notify_event_init(&ev, NOTIFY_EV_BREAKER_RESUMED);
  ev.time = T0;
  notify_set(ev.breaker, "consecutive_losses");
  notify_set(ev.reason, "/start");
  CHECK_RENDER(&ev, tg,
               "<b>Circuit breaker resumed: consecutive_losses</b>\nReason: /start\n"
               "New entries allowed again\n" TG_WHEN);
}

TEST(render_degraded_and_database_down) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_EXCHANGE_DEGRADED);
  ev.time = T0;
  notify_set(ev.component, "binance_usdm");
  notify_set(ev.detail, "user data stream down for 45 s");
  CHECK_RENDER(&ev, tg,
               WARN_ICON "<b>Exchange degraded: binance_usdm</b>\nuser data stream down for 45 s\n" TG_WHEN);
  notify_event_init(&ev, NOTIFY_EV_AI_DEGRADED);
  ev.time = T0;
  notify_set(ev.component, "grok");
  notify_set(ev.detail, "3 failures in a row\ndeciding with claude, gpt");
  CHECK_RENDER(&ev, txt,
               "WARNING AI provider degraded: grok\n3 failures in a row\ndeciding with claude, gpt\n" WHEN "\n");
  notify_event_init(&ev, NOTIFY_EV_DB_DOWN);
  ev.time = T0;
  notify_set(ev.detail, "sqlite: database is locked");
  CHECK_EQ(ev.severity, NOTIFY_CRITICAL);
  CHECK_RENDER(&ev, tg, CRIT_ICON "<b>Database down</b>\nsqlite: database is locked\n" TG_WHEN);
  char *s = with(notify_render_subject, &ev);
  CHECK_STREQ(s, "[levbot] CRITICAL Database down");
  free(s);
  s = with(notify_render_sms, &ev);
  CHECK_STREQ(s, "[levbot] CRITICAL Database down: sqlite: database is locked");
  free(s);
}

TEST(render_daily_summary_and_text) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_DAILY_SUMMARY);
  ev.time = T0 + 12 * LB_MS_HOUR + 5 * LB_MS_SECOND;
  ev.day = T0;
  ev.trades = 4;
  ev.wins = 3;
  ev.pnl = D("12.5");
  ev.capital = D("112.5");
  CHECK_RENDER(&ev, tg,
               "<b>Daily summary 2024-03-01</b>\nTrades: 4 (3 won, win rate 75%)\n"
               "PnL: +12.50 USDT\nCapital: 112.50 USDT\n<i>2024-03-02 00:00:05 UTC</i>");
  ev.trades = ev.wins = 0;
  ev.pnl = 0;
  char *t = txt(&ev);
  CHECK_CONTAINS(t, "Trades: 0\nPnL: 0.00 USDT\n");
  free(t);
  notify_event_init(&ev, NOTIFY_EV_TEXT);
  ev.time = T0;
  notify_set(ev.title, "Hello");
  notify_set(ev.detail, "first\n\nsecond");
  CHECK_RENDER(&ev, tg, "<b>Hello</b>\nfirst\nsecond\n" TG_WHEN);
}

TEST(render_escapes_html_in_symbols_and_reasons) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_EXIT);
  ev.time = T0;
  notify_set(ev.symbol, "BTC<USDT>&");
  ev.side = LB_ACTION_SHORT;
  notify_set(ev.reason, "<b>liq</b> & \"x\"");
  char *t = tg(&ev);
  CHECK_CONTAINS(t, "<b>SHORT BTC&lt;USDT&gt;&amp; closed: &lt;b&gt;liq&lt;/b&gt; &amp; &quot;x&quot;</b>");
  char err[200];
  CHECK(tg_html_check(t, err, sizeof err) == NULL);
  free(t);
  t = txt(&ev); /* plain text keeps the characters */
  CHECK_CONTAINS(t, "SHORT BTC<USDT>& closed: <b>liq</b> & \"x\"");
  free(t);
  lb_buf b;
  lb_buf_init(&b);
  CHECK_OK(notify_html_escape(&b, "a<b>&c\"d'"));
  CHECK_STREQ(b.data, "a&lt;b&gt;&amp;c&quot;d'");
  lb_buf_free(&b);
}

TEST(render_masks_registered_secrets_in_every_format) {
  const char *secret = "5555555555:AAHsecretTOKENvalue-xyz";
  lb_log_add_secret(secret);
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_DB_DOWN);
  ev.time = T0;
  snprintf(ev.detail, sizeof ev.detail, "connect failed with token %s", secret);
  lb_err (*fns[])(const notify_event *, lb_buf *) = {notify_render_telegram, notify_render_text,
                                                      notify_render_subject, notify_render_sms,
                                                      notify_render_webhook};
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    char *s = with(fns[i], &ev);
    CHECK_NOT_CONTAINS(s, "AAHsecret");
    CHECK_NOT_CONTAINS(s, "value-xyz");
    if (i != 2) CHECK_CONTAINS(s, "****"); /* the subject has no detail */
    free(s);
  }
  lb_log_clear_secrets();
}

TEST(render_repairs_invalid_utf8_and_control_characters) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_TEXT);
  ev.time = T0;
  notify_set(ev.title, "bad \xff\xfe byte\x01s");
  notify_set(ev.detail, "caf\xc3\xa9 \xe2\x82"); /* a valid é, then a cut € */
  char *t = tg(&ev);
  CHECK_STREQ(t, "<b>bad \xEF\xBF\xBD\xEF\xBF\xBD byte s</b>\ncaf\xc3\xa9 \xEF\xBF\xBD\xEF\xBF\xBD\n" TG_WHEN);
  free(t);
  char *s = with(notify_render_sms, &ev); /* SMS stays ASCII: one '?' per character */
  CHECK_STREQ(s, "[levbot] bad ?? byte s: caf? ??");
  free(s);
}

TEST(render_sms_is_cut_to_two_segments) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_DB_DOWN);
  ev.time = T0;
  memset(ev.detail, 'x', 900);
  ev.detail[900] = '\0';
  char *s = with(notify_render_sms, &ev);
  CHECK_EQ(strlen(s), NOTIFY_SMS_MAX);
  CHECK(strcmp(s + NOTIFY_SMS_MAX - 3, "...") == 0);
  free(s);
}

TEST(render_webhook_carries_text_content_and_the_event) {
  notify_event ev;
  entry_event(&ev);
  char *body = with(notify_render_webhook, &ev);
  json_error_t je;
  json_t *o = json_loads(body, 0, &je);
  REQUIRE(o != NULL);
  char *t = txt(&ev);
  CHECK_STREQ(json_string_value(json_object_get(o, "text")), t);
  CHECK_STREQ(json_string_value(json_object_get(o, "content")), t);
  CHECK_STREQ(json_string_value(json_object_get(o, "kind")), "entry_filled");
  CHECK_STREQ(json_string_value(json_object_get(o, "severity")), "info");
  json_t *e = json_object_get(o, "event");
  CHECK_STREQ(json_string_value(json_object_get(e, "symbol")), "BTCUSDT");
  CHECK_STREQ(json_string_value(json_object_get(e, "side")), "LONG");
  CHECK_STREQ(json_string_value(json_object_get(e, "liquidation")), "49200.5");
  CHECK_EQ(json_array_size(json_object_get(e, "votes")), 3);
  CHECK_EQ(json_integer_value(json_object_get(e, "time")), T0);
  free(t);
  free(body);
  json_decref(o);
}

TEST(render_email_is_a_valid_rfc5322_message) {
  notify_event ev;
  entry_event(&ev);
  lb_buf b;
  lb_buf_init(&b);
  REQUIRE_OK(notify_render_email(&ev, "levbot <bot@example.com>", "me@example.com, Ops <ops@example.org>",
                                 "1709294400000.1.levbot@example.com", &b));
  char err[200], v[512];
  const char *why = rfc5322_check(b.data, err, sizeof err);
  CHECK(why == NULL);
  if (why) printf("    %s\n%s\n", why, b.data);
  CHECK(rfc5322_header(b.data, "Date", v, sizeof v));
  CHECK_STREQ(v, "Fri, 01 Mar 2024 12:00:00 +0000");
  CHECK(rfc5322_header(b.data, "From", v, sizeof v));
  CHECK_STREQ(v, "levbot <bot@example.com>");
  CHECK(rfc5322_header(b.data, "To", v, sizeof v));
  CHECK_STREQ(v, "me@example.com, Ops <ops@example.org>");
  CHECK(rfc5322_header(b.data, "Subject", v, sizeof v));
  CHECK_STREQ(v, "[levbot] LONG BTCUSDT filled");
  CHECK(rfc5322_header(b.data, "Message-ID", v, sizeof v));
  CHECK_STREQ(v, "<1709294400000.1.levbot@example.com>");
  CHECK(rfc5322_header(b.data, "Content-Type", v, sizeof v));
  CHECK_STREQ(v, "text/plain; charset=UTF-8");
  CHECK_STREQ(rfc5322_body(b.data),
              "LONG BTCUSDT filled\r\nSize: 0.015 @ 61000 (5x)\r\nStop: 56730 | Take-profit: 67100\r\n"
              "Liquidation: 49200.5\r\nAI confidence: 85% (claude LONG 88%, gpt LONG 82%, grok HOLD "
              "60%)\r\n" WHEN "\r\n");
  lb_buf_free(&b);
}

TEST(render_email_encodes_a_non_ascii_subject_and_wraps_long_lines) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_TEXT);
  ev.time = T0;
  notify_set(ev.title, "Prix \xc3\xa9lev\xc3\xa9 \xe2\x9c\x93 sur BTCUSDT, seuil d\xc3\xa9pass\xc3\xa9 de 12 %");
  memset(ev.detail, 'y', 1000); /* one 1000-octet line: over the 998 limit */
  ev.detail[1000] = '\0';
  lb_buf b;
  lb_buf_init(&b);
  REQUIRE_OK(notify_render_email(&ev, "bot@example.com", "me@example.com", "x.1@example.com", &b));
  char err[200], v[1024];
  CHECK(rfc5322_check(b.data, err, sizeof err) == NULL);
  CHECK(rfc5322_header(b.data, "Subject", v, sizeof v));
  CHECK_CONTAINS(v, "=?UTF-8?B?");
  rfc2047_decode(v);
  CHECK_STREQ(v, "[levbot] Prix \xc3\xa9lev\xc3\xa9 \xe2\x9c\x93 sur BTCUSDT, seuil d\xc3\xa9pass\xc3\xa9 de 12 %");
  lb_buf_free(&b);
}

TEST(event_json_round_trips_and_fits_the_outbox) {
  notify_event ev, back;
  entry_event(&ev);
  notify_set(ev.reason, "line\none \"quoted\"");
  char *j1 = notify_event_to_json(&ev);
  REQUIRE(j1 != NULL);
  lb_errbuf eb;
  REQUIRE_OK(notify_event_from_json(j1, &back, &eb));
  char *j2 = notify_event_to_json(&back);
  CHECK_STREQ(j2, j1);
  CHECK_EQ(back.entry, ev.entry);
  CHECK_EQ(back.liquidation, ev.liquidation);
  CHECK_EQ(back.votes[2].action, LB_ACTION_HOLD);
  CHECK_STREQ(back.reason, "line\none \"quoted\"");
  free(j1);
  free(j2);
  /* The largest event: every text full of characters JSON escapes. */
  notify_event big;
  notify_event_init(&big, NOTIFY_EV_TEXT);
  big.time = INT64_C(4102444800000);
  char *fields[] = {big.symbol, big.reason, big.breaker, big.component, big.title, big.detail};
  size_t sizes[] = {sizeof big.symbol, sizeof big.reason, sizeof big.breaker,
                    sizeof big.component, sizeof big.title, sizeof big.detail};
  for (size_t i = 0; i < 6; i++) {
    memset(fields[i], '"', sizes[i] - 1);
    fields[i][sizes[i] - 1] = '\0';
  }
  big.n_votes = NOTIFY_MAX_VOTES;
  for (int i = 0; i < NOTIFY_MAX_VOTES; i++) {
    memset(big.votes[i].model, '\\', sizeof big.votes[i].model - 1);
    big.votes[i].confidence = 0.123456789012345;
  }
  big.size = big.entry = big.stop = big.take_profit = big.liquidation = big.prev_stop =
      big.exit_price = big.pnl = big.capital = LB_DEC_MIN;
  big.r_multiple = -123456.789012345;
  big.confidence = 0.987654321098765;
  big.trades = big.wins = 1000000000;
  big.resume_at = big.day = INT64_C(4102444800000);
  char *j = notify_event_to_json(&big);
  REQUIRE(j != NULL);
  CHECK(strlen(j) <= NOTIFY_PAYLOAD_MAX);
  free(j);
}

TEST(event_json_parser_names_the_bad_field) {
  notify_event ev;
  entry_event(&ev);
  char *good = notify_event_to_json(&ev);
  struct {
    const char *from, *to, *field;
  } cases[] = {
      {"\"kind\":\"entry_filled\"", "\"kind\":\"fill\"", "kind"},
      {"\"severity\":\"info\"", "\"severity\":\"loud\"", "severity"},
      {"\"size\":\"0.015\"", "\"size\":\"0,015\"", "size"},
      {"\"size\":\"0.015\"", "\"size\":0.015", "size"},
      {"\"leverage\":5", "\"leverage\":\"5\"", "leverage"},
      {"\"side\":\"LONG\"", "\"side\":\"UP\"", "side"},
      {"\"confidence\":0.85", "\"confidence\":1.5", "confidence"},
      {"\"symbol\":\"BTCUSDT\"",
       "\"symbol\":\"BTCUSDTBTCUSDTBTCUSDTBTCUSDTBTCUSDTBTCUSDT\"", "symbol"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *p = strstr(good, cases[i].from);
    REQUIRE(p != NULL);
    lb_buf b;
    lb_buf_init(&b);
    lb_buf_append(&b, good, (size_t)(p - good));
    lb_buf_puts(&b, cases[i].to);
    lb_buf_puts(&b, p + strlen(cases[i].from));
    lb_errbuf eb = {{0}};
    CHECK_EQ(notify_event_from_json(b.data, &ev, &eb), LB_EPARSE);
    CHECK_CONTAINS(eb.msg, cases[i].field);
    lb_buf_free(&b);
  }
  lb_errbuf eb;
  CHECK_EQ(notify_event_from_json("[1,2]", &ev, &eb), LB_EPARSE);
  CHECK_EQ(notify_event_from_json("{\"kind\":\"text\"}", &ev, &eb), LB_EPARSE);
  CHECK_EQ(ev.kind, NOTIFY_EV_TEXT); /* a failed parse leaves a clean event */
  free(good);
}

TEST(event_defaults_and_names) {
  notify_event ev;
  for (int k = 0; k < NOTIFY_EV__COUNT; k++) {
    notify_event_init(&ev, (notify_kind)k);
    notify_kind back;
    CHECK_OK(notify_kind_parse(notify_kind_name((notify_kind)k), &back));
    CHECK_EQ(back, k);
    CHECK_EQ(ev.side, LB_ACTION_HOLD);
  }
  notify_event_init(&ev, NOTIFY_EV_DB_DOWN);
  CHECK_EQ(ev.severity, NOTIFY_CRITICAL);
  notify_event_init(&ev, NOTIFY_EV_BREAKER_TRIPPED);
  CHECK_EQ(ev.severity, NOTIFY_WARNING);
  notify_severity s;
  CHECK_EQ(notify_severity_parse("urgent", &s), LB_EPARSE);
  CHECK_OK(notify_severity_parse("critical", &s));
  CHECK_EQ(s, NOTIFY_CRITICAL);
  char small[6];
  notify_copy_text(small, sizeof small, "ab\xc3\xa9\xc3\xa9"); /* never half a character */
  CHECK_STREQ(small, "ab\xc3\xa9");
}

TEST(event_json_parser_survives_random_mutations) {
  notify_event ev, out;
  entry_event(&ev);
  notify_set(ev.detail, "detail with \"quotes\" and \\ backslashes");
  char *good = notify_event_to_json(&ev);
  size_t len = strlen(good);
  unsigned long seed = lbt_seed();
  char *buf = malloc(len + 1);
  int parsed = 0;
  for (int i = 0; i < 3000; i++) {
    memcpy(buf, good, len + 1);
    int edits = 1 + (int)(seed % 4);
    for (int k = 0; k < edits; k++) {
      seed = seed * 6364136223846793005UL + 1442695040888963407UL;
      size_t at = (seed >> 33) % len;
      unsigned char b = (unsigned char)(seed >> 17);
      if ((seed >> 8) % 5 == 0) buf[at] = '\0'; /* truncation */
      else buf[at] = (char)(b ? b : 1);
    }
    lb_errbuf eb = {{0}};
    lb_err e = notify_event_from_json(buf, &out, &eb);
    if (e == LB_OK) {
      parsed++;
      /* Whatever parses renders and re-serializes. */
      char *t = tg(&out), *j = notify_event_to_json(&out);
      CHECK(t != NULL && j != NULL);
      free(t);
      free(j);
    } else {
      CHECK_EQ(e, LB_EPARSE);
      CHECK(eb.msg[0] != '\0');
    }
  }
  CHECK(parsed < 3000);
  free(buf);
  free(good);
}

TEST(render_detail_of_invalid_bytes_stays_valid_utf8_everywhere) {
  notify_event ev;
  notify_event_init(&ev, NOTIFY_EV_DB_DOWN);
  ev.time = T0;
  memset(ev.detail, 0xff, sizeof ev.detail - 1); /* each byte becomes U+FFFD (3 bytes) */
  ev.detail[sizeof ev.detail - 1] = '\0';
  memset(ev.title, 0xfe, sizeof ev.title - 1);
  ev.title[sizeof ev.title - 1] = '\0';
  lb_err (*fns[])(const notify_event *, lb_buf *) = {notify_render_telegram, notify_render_text,
                                                      notify_render_webhook};
  for (size_t i = 0; i < 3; i++) {
    char *s = with(fns[i], &ev);
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, "\xEF\xBF\xBD")); p += 3) n++;
    CHECK(i == 2 || n == sizeof ev.detail - 1); /* all there, none cut in half */
    json_t *j = json_string(s); /* jansson refuses invalid UTF-8 */
    CHECK(j != NULL);
    json_decref(j);
    free(s);
  }
}
