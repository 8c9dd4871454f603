/* test_config.c -- every configuration rule, each bad value named in its error. */
#include <stdlib.h>

#include "core/config.h"
#include "core/log.h"
#include "unit.h"

static char *empty_env[] = {NULL};

/* Loads with the given NULL-terminated "K=V" list and no .env file. */
static lb_err load(lb_config *c, char **envp, lb_cfg_report *rep) {
  memset(rep, 0, sizeof *rep);
  lb_cfg_source src = {.env_file = "/nonexistent/levbot.env", .envp = envp};
  return lb_config_load(c, &src, rep);
}

static bool report_has(const lb_cfg_report *rep, const char *needle) {
  for (int i = 0; i < rep->n_errors; i++)
    if (strstr(rep->errors[i], needle)) return true;
  return false;
}

static void dump(const lb_cfg_report *rep) {
  for (int i = 0; i < rep->n_errors; i++) printf("    error: %s\n", rep->errors[i]);
}

TEST(config_defaults_are_valid_and_match_the_seed) {
  lb_config c;
  lb_cfg_report rep;
  REQUIRE_OK(load(&c, empty_env, &rep));
  CHECK_EQ(rep.n_errors, 0);
  CHECK_EQ(c.initial_capital, LB_DEC_INT(100));
  CHECK_EQ(c.max_leverage, 3);
  CHECK_NEAR(c.min_stop_loss_percent, 0.07, 0);
  CHECK_NEAR(c.max_stop_loss_percent, 0.08, 0);
  CHECK_EQ(c.min_profit_usd, LB_DEC_INT(3));
  CHECK_NEAR(c.min_ai_confidence, 0.80, 0);
  CHECK_EQ(c.scan_interval_seconds, 300);
  CHECK(c.use_paper_trading);
  CHECK(c.enable_grok);
  CHECK_NEAR(c.max_risk_per_trade, 0.10, 0);
}

TEST(config_every_default_parses_with_its_own_rules) {
  for (int i = 0; i < LB_CFGV__COUNT; i++) {
    lb_config c;
    lb_cfg_report rep = {0};
    lb_config_defaults(&c);
    if (lb_config_set(&c, lb_cfg_vars[i].name, lb_cfg_vars[i].def, &rep) != LB_OK) {
      dump(&rep);
      lbt_fail(__FILE__, __LINE__, "default of %s does not validate", lb_cfg_vars[i].name);
    }
  }
}

TEST(config_seed_aggressive_set_validates) {
  char *env[] = {"INITIAL_CAPITAL=500.00", "MAX_LEVERAGE=5", "MIN_STOP_LOSS_PERCENT=0.05",
                 "MAX_STOP_LOSS_PERCENT=0.10", "MIN_PROFIT_USD=5.00", "MIN_AI_CONFIDENCE=0.75",
                 "SCAN_INTERVAL_SECONDS=180", "USE_PAPER_TRADING=false", NULL};
  lb_config c;
  lb_cfg_report rep;
  lb_err rc = load(&c, env, &rep);
  dump(&rep);
  REQUIRE_OK(rc);
  CHECK_EQ(c.initial_capital, LB_DEC_INT(500));
  CHECK_EQ(c.max_leverage, 5);
  CHECK(!c.use_paper_trading);
  CHECK_EQ(c.source[LB_CFGV_MAX_LEVERAGE], LB_CFG_SRC_ENV);
}

/* One bad value per seed variable: each error names the variable, the value
 * and the allowed range. */
static const struct {
  const char *assign, *name, *value, *range;
} bad_cases[] = {
    {"INITIAL_CAPITAL=0", "INITIAL_CAPITAL", "=0 ", "> 0"},
    {"INITIAL_CAPITAL=-5", "INITIAL_CAPITAL", "=-5 ", "> 0"},
    {"INITIAL_CAPITAL=abc", "INITIAL_CAPITAL", "=abc ", "> 0"},
    {"MAX_LEVERAGE=11", "MAX_LEVERAGE", "=11 ", "integer 1..10"},
    {"MAX_LEVERAGE=0", "MAX_LEVERAGE", "=0 ", "integer 1..10"},
    {"MAX_LEVERAGE=2.5", "MAX_LEVERAGE", "=2.5 ", "integer 1..10"},
    {"MIN_STOP_LOSS_PERCENT=0.0005", "MIN_STOP_LOSS_PERCENT", "=0.0005 ", "0.001..0.5"},
    {"MIN_STOP_LOSS_PERCENT=7%", "MIN_STOP_LOSS_PERCENT", "=7% ", "0.001..0.5"},
    {"MAX_STOP_LOSS_PERCENT=0.6", "MAX_STOP_LOSS_PERCENT", "=0.6 ", "0.001..0.5"},
    {"MIN_PROFIT_USD=-1", "MIN_PROFIT_USD", "=-1 ", ">= 0"},
    {"MIN_AI_CONFIDENCE=0.7", "MIN_AI_CONFIDENCE", "=0.7 ", "0.75..1"},
    {"MIN_AI_CONFIDENCE=1.01", "MIN_AI_CONFIDENCE", "=1.01 ", "0.75..1"},
    {"SCAN_INTERVAL_SECONDS=5", "SCAN_INTERVAL_SECONDS", "=5 ", "integer 10..86400"},
    {"SCAN_INTERVAL_SECONDS=86401", "SCAN_INTERVAL_SECONDS", "=86401 ", "integer 10..86400"},
    {"SCAN_INTERVAL_SECONDS=", "SCAN_INTERVAL_SECONDS", "= is empty", "integer 10..86400"},
    {"USE_PAPER_TRADING=maybe", "USE_PAPER_TRADING", "=maybe ", "true/false"},
    {"ENABLE_GROK=2", "ENABLE_GROK", "=2 ", "true/false"},
    {"MAX_RISK_PER_TRADE=0.2", "MAX_RISK_PER_TRADE", "=0.2 ", "> 0, <= 0.1"},
    {"MAX_RISK_PER_TRADE=0", "MAX_RISK_PER_TRADE", "=0 ", "> 0, <= 0.1"},
    {"LOG_LEVEL=verbose", "LOG_LEVEL", "=verbose ", "one of debug, info, warn, error"},
};

TEST(config_each_bad_value_is_named_with_its_range) {
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    char *env[] = {(char *)bad_cases[i].assign, NULL};
    lb_config c;
    lb_cfg_report rep;
    CHECK_EQ(load(&c, env, &rep), LB_ECONFIG);
    char want[128];
    snprintf(want, sizeof want, "%s%s", bad_cases[i].name, bad_cases[i].value);
    if (rep.n_errors != 1 || !report_has(&rep, want) || !report_has(&rep, bad_cases[i].range)) {
      dump(&rep);
      lbt_fail(__FILE__, __LINE__, "case %s: want one error with \"%s\" and \"%s\"",
               bad_cases[i].assign, want, bad_cases[i].range);
    }
  }
}

TEST(config_reports_all_errors_at_once) {
  char *env[] = {"MAX_LEVERAGE=50", "MIN_AI_CONFIDENCE=0.5", "SCAN_INTERVAL_SECONDS=1",
                 "INITIAL_CAPITAL=0", "USE_PAPER_TRADING=perhaps", NULL};
  lb_config c;
  lb_cfg_report rep;
  CHECK_EQ(load(&c, env, &rep), LB_ECONFIG);
  CHECK_EQ(rep.n_errors, 5);
}

TEST(config_max_stop_below_min_stop_is_refused) {
  char *env[] = {"MIN_STOP_LOSS_PERCENT=0.07", "MAX_STOP_LOSS_PERCENT=0.05", NULL};
  lb_config c;
  lb_cfg_report rep;
  CHECK_EQ(load(&c, env, &rep), LB_ECONFIG);
  CHECK(report_has(&rep, "MAX_STOP_LOSS_PERCENT=0.05 is below MIN_STOP_LOSS_PERCENT=0.07"));
}

/* Plain http/ws to Binance is for the simulator on this machine only: the
 * API key travels in a header.  The host is what decides, not how the URL
 * begins: "127.0.0.1.example.com" and "127.0.0.1@example.com" are remote. */
TEST(config_plain_binance_urls_only_to_this_machine) {
  static const char *const remote[] = {
      "BINANCE_REST_URL=http://127.0.0.1.example.com", "BINANCE_REST_URL=http://127.0.0.1@example.com/",
      "BINANCE_REST_URL=http://localhost.example.com:80", "BINANCE_WS_MARKET_URL=ws://localhostx/ws",
      "BINANCE_WS_USER_URL=ws://[::1].example.com/ws", "BINANCE_REST_URL=http://127.1.2.300/",
      "BINANCE_REST_URL=http://example.com/127.0.0.1"};
  static const char *const local[] = {
      "BINANCE_REST_URL=http://127.0.0.1:8080", "BINANCE_REST_URL=http://127.0.0.2/",
      "BINANCE_REST_URL=http://localhost", "BINANCE_WS_MARKET_URL=ws://localhost:9443/ws",
      "BINANCE_WS_USER_URL=ws://[::1]:9443/private", "BINANCE_REST_URL=http://u:p@127.0.0.1:1",
      "BINANCE_REST_URL=https://127.0.0.1.example.com"};
  lb_config c;
  lb_cfg_report rep;
  for (size_t i = 0; i < sizeof remote / sizeof remote[0]; i++) {
    char *env[] = {(char *)remote[i], NULL};
    CHECK_EQ(load(&c, env, &rep), LB_ECONFIG);
    if (!report_has(&rep, "is only allowed to 127.0.0.1/localhost"))
      lbt_fail(__FILE__, __LINE__, "%s was accepted", remote[i]);
  }
  for (size_t i = 0; i < sizeof local / sizeof local[0]; i++) {
    char *env[] = {(char *)local[i], NULL};
    if (load(&c, env, &rep) != LB_OK) {
      dump(&rep);
      lbt_fail(__FILE__, __LINE__, "%s was refused", local[i]);
    }
  }
}

static bool warned(const lb_cfg_report *rep, const char *needle) {
  for (int i = 0; i < rep->n_warnings; i++)
    if (strstr(rep->warnings[i], needle)) return true;
  return false;
}

/* Tokens and keys sent over plain http to another machine can be read on
 * the way: a warning (a self-hosted server on the LAN may be meant), as for
 * SMTP without STARTTLS.  On this machine (test stubs) nothing is said. */
TEST(config_warns_when_a_credential_would_travel_over_plain_http) {
  lb_config c;
  lb_cfg_report rep;
  char *tg[] = {"TELEGRAM_BOT_TOKEN=123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678",
                "TELEGRAM_CHAT_ID=123456789", "TELEGRAM_API_URL=http://tg.example.com", NULL};
  REQUIRE_OK(load(&c, tg, &rep));
  CHECK(warned(&rep, "TELEGRAM_API_URL=http://tg.example.com is plain http to another machine: "
                     "TELEGRAM_BOT_TOKEN"));
  char *ai[] = {"AI_PROVIDERS=anthropic", "ANTHROPIC_API_KEY=sk-ant-0123456789abcdef",
                "ANTHROPIC_BASE_URL=http://llm.example.com", NULL};
  REQUIRE_OK(load(&c, ai, &rep));
  CHECK(warned(&rep, "ANTHROPIC_BASE_URL=http://llm.example.com is plain http to another "
                     "machine: ANTHROPIC_API_KEY"));
  char *hook[] = {"WEBHOOK_URL=http://hooks.example.com/T0KEN-IN-PATH",
                  "WEBHOOK_TOKEN=whk-0123456789abcdef", NULL};
  REQUIRE_OK(load(&c, hook, &rep));
  CHECK(warned(&rep, "WEBHOOK_URL is plain http to another machine: WEBHOOK_TOKEN"));
  for (int i = 0; i < rep.n_warnings; i++) CHECK_NOT_CONTAINS(rep.warnings[i], "T0KEN-IN-PATH");
  char *local[] = {"TELEGRAM_BOT_TOKEN=123456:ABCdefGHIjklMNOpqrSTUvwxYZ012345678",
                   "TELEGRAM_CHAT_ID=123456789", "TELEGRAM_API_URL=http://127.0.0.1:8081",
                   "AI_PROVIDERS=local", "LOCAL_LLM_BASE_URL=http://localhost:11434/v1",
                   "LOCAL_LLM_API_KEY=local-key-0123", "LOCAL_LLM_MODEL=llama3", NULL};
  if (load(&c, local, &rep) != LB_OK) dump(&rep);
  REQUIRE_OK(load(&c, local, &rep));
  CHECK(!warned(&rep, "plain http"));
}

TEST(config_booleans_accept_common_spellings) {
  const char *yes[] = {"true", "TRUE", "1", "yes", "On"}, *no[] = {"false", "0", "No", "off"};
  for (int i = 0; i < 5; i++) {
    lb_config c;
    lb_cfg_report rep = {0};
    lb_config_defaults(&c);
    CHECK_OK(lb_config_set(&c, "USE_PAPER_TRADING", "false", &rep));
    CHECK_OK(lb_config_set(&c, "USE_PAPER_TRADING", yes[i], &rep));
    CHECK(c.use_paper_trading);
    if (i < 4) {
      CHECK_OK(lb_config_set(&c, "USE_PAPER_TRADING", no[i], &rep));
      CHECK(!c.use_paper_trading);
    }
  }
}

static const char *write_file(const char *name, const char *text) {
  static char path[512];
  snprintf(path, sizeof path, "%s/%s", lbt_tmpdir(), name);
  FILE *f = fopen(path, "w");
  REQUIRE(f != NULL);
  fputs(text, f);
  fclose(f);
  return path;
}

TEST(config_env_file_is_read_and_environment_wins) {
  const char *path = write_file("a.env",
                                "# comment\n"
                                "\n"
                                "export MAX_LEVERAGE=4\n"
                                "MIN_PROFIT_USD = 5.50   # inline comment\n"
                                "SYMBOLS=\"BTCUSDT,ETHUSDT\"\n"
                                "TELEGRAM_CHAT_ID='12345'\n"
                                "TELEGRAM_BOT_TOKEN=123456:ABCdefGHIjkl\n"
                                "SCAN_INTERVAL_SECONDS=60\r\n"
                                "SOME_OTHER_TOOL=1\n");
  char *env[] = {"SCAN_INTERVAL_SECONDS=120", NULL};
  lb_config c;
  lb_cfg_report rep = {0};
  lb_cfg_source src = {.env_file = path, .env_file_explicit = true, .envp = env};
  lb_err rc = lb_config_load(&c, &src, &rep);
  dump(&rep);
  REQUIRE_OK(rc);
  CHECK_EQ(c.max_leverage, 4);
  CHECK_EQ(c.min_profit_usd, 550000000);
  CHECK_STREQ(c.symbols, "BTCUSDT,ETHUSDT");
  CHECK_STREQ(c.telegram_chat_id, "12345");
  CHECK_EQ(c.scan_interval_seconds, 120);
  CHECK_EQ(c.source[LB_CFGV_MAX_LEVERAGE], LB_CFG_SRC_FILE);
  CHECK_EQ(c.source[LB_CFGV_SCAN_INTERVAL_SECONDS], LB_CFG_SRC_ENV);
  bool warned = false;
  for (int i = 0; i < rep.n_warnings; i++)
    if (strstr(rep.warnings[i], "line 9: unknown variable SOME_OTHER_TOOL (ignored)")) warned = true;
  CHECK(warned);
}

TEST(config_env_file_errors_name_file_and_line) {
  const char *path = write_file("b.env", "MAX_LEVERAGE=3\nthis is not an assignment\nMAX_LEVERAGE=99\n"
                                         "SYMBOLS=\"unterminated\n");
  lb_config c;
  lb_cfg_report rep = {0};
  lb_cfg_source src = {.env_file = path, .env_file_explicit = true, .envp = empty_env};
  CHECK_EQ(lb_config_load(&c, &src, &rep), LB_ECONFIG);
  CHECK_EQ(rep.n_errors, 3);
  CHECK(report_has(&rep, "line 2: expected NAME=value"));
  CHECK(report_has(&rep, "MAX_LEVERAGE=99 is out of range"));
  CHECK(report_has(&rep, "line 3)"));
  CHECK(report_has(&rep, "line 4: unterminated"));
}

TEST(config_missing_explicit_env_file_is_an_error) {
  lb_config c;
  lb_cfg_report rep = {0};
  lb_cfg_source src = {.env_file = "/nonexistent/x.env", .env_file_explicit = true, .envp = empty_env};
  CHECK_EQ(lb_config_load(&c, &src, &rep), LB_ECONFIG);
  CHECK(report_has(&rep, "/nonexistent/x.env"));
}

TEST(config_symbols_list_is_validated) {
  char *env[] = {"SYMBOLS=BTCUSDT, eth-usdt", NULL};
  lb_config c;
  lb_cfg_report rep;
  CHECK_EQ(load(&c, env, &rep), LB_ECONFIG);
  CHECK(report_has(&rep, "\"eth-usdt\" is not a symbol"));
  char items[4][64];
  CHECK_EQ(lb_cfg_split_list(" A, B ,,C ", items, 4), 3);
  CHECK_STREQ(items[1], "B");
  CHECK_EQ(lb_cfg_split_list("A,B,C", items, 2), -1);
}

TEST(config_print_masks_secrets) {
  char *env[] = {"BINANCE_API_KEY=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A",
                 "DATABASE_URL=postgresql://levbot:hunter2pass@127.0.0.1:5432/levbot", NULL};
  lb_config c;
  lb_cfg_report rep;
  REQUIRE_OK(load(&c, env, &rep));
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  lb_config_print(f, &c);
  fclose(f);
  CHECK_CONTAINS(text, "BINANCE_API_KEY=****Eh8A");
  CHECK_NOT_CONTAINS(text, "vmPUZE6mv9SD5VNHk4Hl");
  CHECK_CONTAINS(text, "DATABASE_URL=postgresql://levbot:****@127.0.0.1:5432/levbot");
  CHECK_NOT_CONTAINS(text, "hunter2pass");
  free(text);
  lb_log_clear_secrets();
}

TEST(config_bad_secret_value_is_masked_in_the_error) {
  lb_config c;
  lb_cfg_report rep = {0};
  lb_config_defaults(&c);
  char longval[700];
  memset(longval, 'k', sizeof longval - 1);
  longval[sizeof longval - 1] = '\0';
  CHECK_EQ(lb_config_set(&c, "BINANCE_API_SECRET", longval, &rep), LB_ECONFIG);
  CHECK_CONTAINS(rep.errors[0], "BINANCE_API_SECRET=****kkkk is too long");
  CHECK_NOT_CONTAINS(rep.errors[0], "kkkkkkkkk");
}

TEST(config_mask_helpers) {
  char b[64];
  lb_mask_secret("abcdefghijklmnop", b, sizeof b);
  CHECK_STREQ(b, "****mnop");
  lb_mask_secret("short", b, sizeof b);
  CHECK_STREQ(b, "****");
  lb_mask_secret("", b, sizeof b);
  CHECK_STREQ(b, "");
  lb_mask_url("postgresql://u@h/db", b, sizeof b);
  CHECK_STREQ(b, "postgresql://u@h/db");
  lb_mask_url("smtps://me:pw@mail.example:465", b, sizeof b);
  CHECK_STREQ(b, "smtps://me:****@mail.example:465");
}

TEST(config_generated_docs_cover_every_variable) {
  char *md = NULL, *ex = NULL;
  size_t l1 = 0, l2 = 0;
  FILE *f = open_memstream(&md, &l1);
  lb_config_write_markdown(f);
  fclose(f);
  f = open_memstream(&ex, &l2);
  lb_config_write_env_example(f);
  fclose(f);
  for (int i = 0; i < LB_CFGV__COUNT; i++) {
    char want[128];
    snprintf(want, sizeof want, "| `%s` |", lb_cfg_vars[i].name);
    CHECK_CONTAINS(md, want);
    snprintf(want, sizeof want, "\n%s=", lb_cfg_vars[i].name);
    CHECK_CONTAINS(ex, want);
  }
  free(md);
  free(ex);
}
