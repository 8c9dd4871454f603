/* test_log.c -- levels, JSON lines and the redaction no secret can pass. */
#include <jansson.h>
#include <stdlib.h>

#include "core/log.h"
#include "unit.h"

static char *capture_text;
static size_t capture_len;
static FILE *capture;

static void start(lb_log_level lvl, lb_log_format fmt) {
  capture = open_memstream(&capture_text, &capture_len);
  lb_log_setup(lvl, fmt, capture);
}

static char *finish(void) {
  lb_log_setup(LB_LOG_INFO, LB_LOG_HUMAN, NULL);
  fclose(capture);
  return capture_text;
}

TEST(log_configured_key_never_reaches_output) {
  const char *key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
  lb_log_add_secret(key);
  for (int fmt = 0; fmt < 2; fmt++) {
    start(LB_LOG_DEBUG, (lb_log_format)fmt);
    LB_DEBUG("exchange", "request with key %s and again %s", key, key);
    LB_ERROR("exchange", "failure: %s", key);
    char *out = finish();
    CHECK_NOT_CONTAINS(out, key);
    CHECK_NOT_CONTAINS(out, "Eh8A"); /* not even its tail */
    CHECK_CONTAINS(out, "****");
    free(out);
  }
  lb_log_clear_secrets();
}

/* A text cut to fit a buffer before it is redacted (a log line longer than
 * the line buffer, an error text cut at LB_ERRBUF_SIZE and redacted later)
 * can end in the first part of a secret: that part is masked too. */
TEST(log_masks_a_secret_cut_short_at_the_end_of_a_text) {
  const char *key = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
  lb_log_add_secret(key);
  char in[300], out[300];
  snprintf(in, sizeof in, "GET /x failed (%.30s", key);
  lb_redact(in, out, sizeof out);
  CHECK_NOT_CONTAINS(out, "vmPUZE6m");
  CHECK_CONTAINS(out, "GET /x failed (****");
  snprintf(in, sizeof in, "short tail: %.4s", key); /* four characters are a prefix too */
  lb_redact(in, out, sizeof out);
  CHECK_NOT_CONTAINS(out, "vmPU");
  snprintf(in, sizeof in, "three: %.3s", key); /* shorter tails are ordinary text */
  lb_redact(in, out, sizeof out);
  CHECK_CONTAINS(out, "three: vmP");
  /* a log line longer than the line buffer, the key straddling its end */
  size_t pad = 4096 - 40;
  char *msg = malloc(pad + 1);
  REQUIRE(msg != NULL);
  memset(msg, 'x', pad);
  msg[pad] = '\0';
  start(LB_LOG_DEBUG, LB_LOG_HUMAN);
  LB_DEBUG("exchange", "%s %s", msg, key);
  char *text = finish();
  CHECK_NOT_CONTAINS(text, "vmPUZE6m");
  free(text);
  free(msg);
  lb_log_clear_secrets();
}

TEST(log_masks_credentials_on_the_wire_without_registration) {
  start(LB_LOG_DEBUG, LB_LOG_HUMAN);
  LB_DEBUG("binance", "POST /fapi/v1/order?symbol=BTCUSDT&timestamp=1&signature=c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71 X-MBX-APIKEY: abcdef123456");
  LB_DEBUG("ai", "Authorization: Bearer sk-proj-0123456789 next");
  char *out = finish();
  CHECK_CONTAINS(out, "signature=****");
  CHECK_NOT_CONTAINS(out, "c8db56825ae7");
  CHECK_NOT_CONTAINS(out, "abcdef123456");
  CHECK_NOT_CONTAINS(out, "sk-proj-0123456789");
  CHECK_CONTAINS(out, "symbol=BTCUSDT&timestamp=1");
  free(out);
}

TEST(log_json_lines_are_valid_json) {
  start(LB_LOG_INFO, LB_LOG_JSON);
  LB_INFO("engine", "entry \"filled\"\nsecond line");
  LB_DEBUG("engine", "filtered out");
  char *out = finish();
  char *nl = strchr(out, '\n');
  REQUIRE(nl != NULL);
  CHECK(nl[1] == '\0'); /* exactly one line: debug filtered */
  json_error_t e;
  json_t *o = json_loadb(out, (size_t)(nl - out), 0, &e);
  REQUIRE(o != NULL);
  CHECK_STREQ(json_string_value(json_object_get(o, "level")), "info");
  CHECK_STREQ(json_string_value(json_object_get(o, "module")), "engine");
  CHECK_STREQ(json_string_value(json_object_get(o, "msg")), "entry \"filled\"\nsecond line");
  json_decref(o);
  free(out);
}

static void collect(void *ctx, const char *line) {
  int *n = ctx;
  (*n)++;
  (void)line;
}

TEST(log_recent_ring_holds_redacted_lines) {
  lb_log_add_secret("TOKEN-123456789");
  start(LB_LOG_INFO, LB_LOG_HUMAN);
  LB_INFO("notify", "sending with TOKEN-123456789");
  char *out = finish();
  free(out);
  int n = 0;
  lb_log_recent(1, collect, &n);
  CHECK_EQ(n, 1);
  char red[128];
  lb_redact("x TOKEN-123456789 y", red, sizeof red);
  CHECK_STREQ(red, "x **** y");
  lb_log_clear_secrets();
  lb_log_shutdown();
}

TEST(log_level_names_parse) {
  CHECK_EQ(lb_log_level_parse("debug"), LB_LOG_DEBUG);
  CHECK_EQ(lb_log_level_parse("WARN"), LB_LOG_WARN);
  CHECK_EQ(lb_log_level_parse("loud"), -1);
}
