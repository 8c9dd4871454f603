/* config_check.c -- rules that involve more than one variable.
 *
 * One static function per module, each appending to the report.  Messages
 * name the variables, their values and the allowed relation, like the
 * single-variable messages of config.c.
 */
#include <stdbool.h>
#include <stddef.h>
#include <arpa/inet.h>
#include <string.h>

#include "core/config.h"
#include "core/time.h"

static void check_risk(const lb_config *c, lb_cfg_report *rep) {
  if (c->max_stop_loss_percent < c->min_stop_loss_percent)
    lb_cfg_error(rep,
                 "MAX_STOP_LOSS_PERCENT=%g is below MIN_STOP_LOSS_PERCENT=%g (allowed: >= "
                 "MIN_STOP_LOSS_PERCENT, <= 0.5)",
                 c->max_stop_loss_percent, c->min_stop_loss_percent);
  bool rr_mode = strcmp(c->take_profit_mode, "rr") == 0;
  if (rr_mode && c->take_profit_risk_reward < c->min_risk_reward)
    lb_cfg_error(rep,
                 "TAKE_PROFIT_RISK_REWARD=%g is below MIN_RISK_REWARD=%g: every trade would be "
                 "refused (allowed: >= MIN_RISK_REWARD when TAKE_PROFIT_MODE=rr)",
                 c->take_profit_risk_reward, c->min_risk_reward);
  /* Distance from entry to the liquidation price at the highest leverage the
   * regime table allows (5x) or MAX_LEVERAGE if lower, with the first
   * bracket's 0.4 % maintenance rate: a stop farther than that minus the
   * buffer can never be placed, so such plans are refused. */
  double lev = c->max_leverage < 5 ? (double)c->max_leverage : 5.0, mmr = 0.004;
  double liq_long = 1.0 - (1.0 - 1.0 / lev) / (1.0 - mmr);
  double liq_short = (1.0 + 1.0 / lev) / (1.0 + mmr) - 1.0;
  double liq = liq_long < liq_short ? liq_long : liq_short;
  if (c->max_stop_loss_percent + c->liquidation_buffer_percent >= liq)
    lb_cfg_warn(rep,
                "MAX_STOP_LOSS_PERCENT=%g plus LIQUIDATION_BUFFER_PERCENT=%g reaches the "
                "liquidation distance %.4f at %gx leverage: such plans will be refused "
                "(lower MAX_LEVERAGE or the stop range)",
                c->max_stop_loss_percent, c->liquidation_buffer_percent, liq, lev);
  double best = lb_dec_to_double(c->initial_capital) * c->max_risk_per_trade *
                c->take_profit_risk_reward;
  if (rr_mode && lb_dec_to_double(c->min_profit_usd) > best)
    lb_cfg_warn(rep,
                "MIN_PROFIT_USD=%g is above the largest profit at take-profit, INITIAL_CAPITAL x "
                "MAX_RISK_PER_TRADE x TAKE_PROFIT_RISK_REWARD = %.2f: no trade will open",
                lb_dec_to_double(c->min_profit_usd), best);
}

/* ENTRY_TIMEFRAME and the TIMEFRAMES above it: the engine analyses at most
 * four timeframes (TA_MAX_TF), each higher one a multiple of the entry one
 * so their bars close together. */
static void check_engine_timeframes(const lb_config *c, lb_cfg_report *rep) {
  lb_ms entry;
  if (lb_timeframe_parse(c->entry_timeframe, &entry) != LB_OK) {
    lb_cfg_error(rep, "ENTRY_TIMEFRAME=%s is not a timeframe (allowed: 1m 3m 5m 15m 30m 1h 2h 4h 6h "
                      "8h 12h 1d 3d 1w)", c->entry_timeframe);
    return;
  }
  char items[16][64];
  int n = lb_cfg_split_list(c->timeframes, items, 16);
  if (n < 0) {
    lb_cfg_error(rep, "TIMEFRAMES=%s lists more than 16 items", c->timeframes);
    return;
  }
  int above = 0;
  for (int i = 0; i < n; i++) {
    lb_ms tf;
    if (lb_timeframe_parse(items[i], &tf) != LB_OK) {
      lb_cfg_error(rep, "TIMEFRAMES=%s: \"%s\" is not a timeframe (allowed: 1m 3m 5m 15m 30m 1h 2h "
                        "4h 6h 8h 12h 1d 3d 1w)", c->timeframes, items[i]);
      continue;
    }
    if (tf <= entry) continue;
    above++;
    if (tf % entry != 0)
      lb_cfg_error(rep, "TIMEFRAMES=%s: %s is not a multiple of ENTRY_TIMEFRAME=%s", c->timeframes,
                   items[i], c->entry_timeframe);
  }
  if (above > 3)
    lb_cfg_error(rep, "TIMEFRAMES=%s has %d timeframes above ENTRY_TIMEFRAME=%s (allowed: at most 3)",
                 c->timeframes, above, c->entry_timeframe);
  else if (above == 0)
    lb_cfg_warn(rep, "TIMEFRAMES=%s has no timeframe above ENTRY_TIMEFRAME=%s: no multi-timeframe "
                     "confluence", c->timeframes, c->entry_timeframe);
}

static void check_engine(const lb_config *c, lb_cfg_report *rep) {
  char items[64][64];
  int n = lb_cfg_split_list(c->symbols, items, 64);
  if (n <= 0) {
    lb_cfg_error(rep, "SYMBOLS=%s must list 1..64 symbols (allowed: comma-separated, e.g. BTCUSDT,ETHUSDT)",
                 c->symbols);
    return;
  }
  for (int i = 0; i < n; i++)
    for (const char *p = items[i]; *p; p++)
      if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))) {
        lb_cfg_error(rep, "SYMBOLS=%s: \"%s\" is not a symbol (allowed: upper-case letters and digits)",
                     c->symbols, items[i]);
        break;
      }
  if (n > 32) /* ENGINE_MAX_SYMBOLS (src/engine, above core) */
    lb_cfg_error(rep, "SYMBOLS lists %d symbols (allowed: at most 32): %s", n, c->symbols); /* the list may be cut */
  check_engine_timeframes(c, rep);
  if (c->redflag_rsi_low >= c->redflag_rsi_high)
    lb_cfg_error(rep, "REDFLAG_RSI_LOW=%g is not below REDFLAG_RSI_HIGH=%g", c->redflag_rsi_low,
                 c->redflag_rsi_high);
}

/* Notification channels (src/notify): a channel is on when its key
 * variable is set; a half-configured one would only fail at the first
 * alert, so it is refused at start-up.  Secret values are never printed. */
static bool is_http_url(const char *u) {
  return strncmp(u, "http://", 7) == 0 || strncmp(u, "https://", 8) == 0;
}

/* True when the URL's host is this machine (the simulator, test stubs). */
static bool loopback_url(const char *u) {
  const char *h = strstr(u, "://");
  if (!h) return false;
  h += 3;
  /* The host is what follows the last '@' of the authority, up to its
   * port: "127.0.0.1@example.com" and "127.0.0.1.example.com" are remote. */
  size_t n = strcspn(h, "/?#");
  for (size_t i = n; i > 0; i--)
    if (h[i - 1] == '@') {
      n -= i;
      h += i;
      break;
    }
  size_t hn = h[0] == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":");
  if (hn > n) hn = n;
  if (hn < n && h[hn] != ':') return false; /* "[::1]x" */
  if ((hn == 9 && strncmp(h, "localhost", 9) == 0) || (hn == 5 && strncmp(h, "[::1]", 5) == 0))
    return true;
  char ip[16];
  unsigned char a[4];
  if (hn >= sizeof ip) return false;
  memcpy(ip, h, hn);
  ip[hn] = '\0';
  return inet_pton(AF_INET, ip, a) == 1 && a[0] == 127;
}

/* A credential sent over plain http to another machine can be read on the
 * way.  A warning, not an error: a self-hosted server on the LAN may be
 * meant.  show: how to name the URL (the URL itself, or only the variable's
 * name when the URL is a secret). */
static void warn_plain_http(lb_cfg_report *rep, const char *url, const char *show,
                            const char *secret) {
  if (strncmp(url, "http://", 7) == 0 && !loopback_url(url))
    lb_cfg_warn(rep, "%s is plain http to another machine: %s travels unencrypted (use https://)",
                show, secret);
}

static void check_telegram(const lb_config *c, lb_cfg_report *rep) {
  bool tok = c->telegram_bot_token[0] != '\0', chat = c->telegram_chat_id[0] != '\0';
  if (tok && !chat)
    lb_cfg_error(rep, "TELEGRAM_BOT_TOKEN is set but TELEGRAM_CHAT_ID is empty (allowed: both "
                      "set, or both empty for no Telegram)");
  if (chat && !tok)
    lb_cfg_error(rep, "TELEGRAM_CHAT_ID=%s is set but TELEGRAM_BOT_TOKEN is empty (allowed: "
                      "both set, or both empty for no Telegram)", c->telegram_chat_id);
  if (!tok || !chat) return;
  const char *id = c->telegram_chat_id;
  bool numeric = strspn(id + (id[0] == '-'), "0123456789") == strlen(id + (id[0] == '-')) &&
                 id[id[0] == '-'] != '\0';
  if (!numeric && id[0] != '@')
    lb_cfg_error(rep, "TELEGRAM_CHAT_ID=%s is not a chat id (allowed: a number such as "
                      "123456789 or -1001234567890, or @channelname)", id);
  else if (!numeric && c->telegram_commands)
    lb_cfg_error(rep, "TELEGRAM_CHAT_ID=%s: commands need the numeric chat id (allowed: a "
                      "number, or TELEGRAM_COMMANDS=false)", id);
  char show[LB_CFG_STR_MAX + 32];
  snprintf(show, sizeof show, "TELEGRAM_API_URL=%s", c->telegram_api_url);
  if (!is_http_url(c->telegram_api_url))
    lb_cfg_error(rep, "TELEGRAM_API_URL=%s is not an http(s) URL", c->telegram_api_url);
  else
    warn_plain_http(rep, c->telegram_api_url, show, "TELEGRAM_BOT_TOKEN");
}

static void check_email(const lb_config *c, lb_cfg_report *rep) {
  char url[LB_CFG_STR_MAX];
  lb_mask_url(c->smtp_url, url, sizeof url);
  if (!c->smtp_url[0]) {
    if (c->smtp_to[0] || c->smtp_from[0] || c->smtp_user[0] || c->smtp_password[0])
      lb_cfg_warn(rep, "SMTP_TO/SMTP_FROM/SMTP_USER/SMTP_PASSWORD are set but SMTP_URL is "
                       "empty: email alerts are off");
    return;
  }
  bool plain = strncmp(c->smtp_url, "smtp://", 7) == 0;
  if (!plain && strncmp(c->smtp_url, "smtps://", 8) != 0)
    lb_cfg_error(rep, "SMTP_URL=%s is not smtp://host:port or smtps://host:port", url);
  if (!c->smtp_to[0])
    lb_cfg_error(rep, "SMTP_URL=%s is set but SMTP_TO is empty (allowed: one or more "
                      "comma-separated addresses)", url);
  if (!c->smtp_from[0])
    lb_cfg_error(rep, "SMTP_URL=%s is set but SMTP_FROM is empty (allowed: bot@example.com or "
                      "Name <bot@example.com>)", url);
  if (c->smtp_password[0] && !c->smtp_user[0])
    lb_cfg_error(rep, "SMTP_PASSWORD is set but SMTP_USER is empty");
  if (plain && !c->smtp_starttls && c->smtp_password[0])
    lb_cfg_warn(rep, "SMTP_URL=%s with SMTP_STARTTLS=false sends SMTP_PASSWORD unencrypted", url);
}

static void check_sms(const lb_config *c, lb_cfg_report *rep) {
  const char *names[] = {"TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM", "TWILIO_TO"};
  const char *vals[] = {c->twilio_account_sid, c->twilio_auth_token, c->twilio_from, c->twilio_to};
  int set = 0;
  for (int i = 0; i < 4; i++) set += vals[i][0] != '\0';
  if (set > 0 && set < 4)
    for (int i = 0; i < 4; i++)
      if (!vals[i][0])
        lb_cfg_error(rep, "%s is empty but other TWILIO_* variables are set (allowed: all of "
                          "TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM, TWILIO_TO, or none)",
                     names[i]);
  if (set == 4 && !is_http_url(c->twilio_api_url))
    lb_cfg_error(rep, "TWILIO_API_URL=%s is not an http(s) URL", c->twilio_api_url);
  else if (set == 4) {
    char show[LB_CFG_STR_MAX + 32];
    snprintf(show, sizeof show, "TWILIO_API_URL=%s", c->twilio_api_url);
    warn_plain_http(rep, c->twilio_api_url, show, "TWILIO_AUTH_TOKEN");
  }
}

static void check_notify(const lb_config *c, lb_cfg_report *rep) {
  check_telegram(c, rep);
  check_email(c, rep);
  check_sms(c, rep);
  if (c->webhook_url[0] && !is_http_url(c->webhook_url))
    lb_cfg_error(rep, "WEBHOOK_URL is not an http(s) URL (value not shown: it is a secret)");
  if (c->webhook_token[0] && !c->webhook_url[0])
    lb_cfg_warn(rep, "WEBHOOK_TOKEN is set but WEBHOOK_URL is empty: the webhook is off");
  if (c->webhook_token[0]) warn_plain_http(rep, c->webhook_url, "WEBHOOK_URL", "WEBHOOK_TOKEN");
}

/* LLM providers (src/ai; the same names as ai_provider_names in
 * src/ai/ai_config.c, checked by tests/ai).  A listed provider without a key
 * is skipped with one warning, so the bot still runs offline; one with a
 * key but no model or a base URL that is not http(s) would only fail at
 * the first analysis, so it is refused at start-up. */
static void check_ai(const lb_config *c, lb_cfg_report *rep) {
  static const struct {
    const char *name, *var;
    size_t key, url, model;
    bool needs_key;
  } provs[] = {
      {"anthropic", "ANTHROPIC", offsetof(lb_config, anthropic_api_key),
       offsetof(lb_config, anthropic_base_url), offsetof(lb_config, anthropic_model), true},
      {"openai", "OPENAI", offsetof(lb_config, openai_api_key), offsetof(lb_config, openai_base_url),
       offsetof(lb_config, openai_model), true},
      {"deepseek", "DEEPSEEK", offsetof(lb_config, deepseek_api_key),
       offsetof(lb_config, deepseek_base_url), offsetof(lb_config, deepseek_model), true},
      {"grok", "GROK", offsetof(lb_config, grok_api_key), offsetof(lb_config, grok_base_url),
       offsetof(lb_config, grok_model), true},
      {"openrouter", "OPENROUTER", offsetof(lb_config, openrouter_api_key),
       offsetof(lb_config, openrouter_base_url), offsetof(lb_config, openrouter_model), true},
      {"local", "LOCAL_LLM", offsetof(lb_config, local_llm_api_key),
       offsetof(lb_config, local_llm_base_url), offsetof(lb_config, local_llm_model), false},
  };
  const size_t np = sizeof provs / sizeof provs[0];
  char items[16][64];
  int n = lb_cfg_split_list(c->ai_providers, items, 16);
  if (n < 0) {
    lb_cfg_error(rep, "AI_PROVIDERS=%s lists more than 16 providers", c->ai_providers);
    return;
  }
  bool seen[8] = {false};
  int voters = c->ai_technical_voter ? 1 : 0;
  for (int i = 0; i < n; i++) {
    size_t k = 0;
    while (k < np && strcmp(items[i], provs[k].name) != 0) k++;
    if (k == np) {
      lb_cfg_error(rep,
                   "AI_PROVIDERS=%s: unknown provider \"%s\" (allowed: anthropic, openai, "
                   "deepseek, grok, openrouter, local)",
                   c->ai_providers, items[i]);
      continue;
    }
    if (seen[k]) {
      lb_cfg_error(rep, "AI_PROVIDERS=%s lists %s twice", c->ai_providers, provs[k].name);
      continue;
    }
    seen[k] = true;
    if (strcmp(provs[k].name, "grok") == 0 && !c->enable_grok) continue;
    const char *key = (const char *)c + provs[k].key;
    const char *url = (const char *)c + provs[k].url;
    const char *model = (const char *)c + provs[k].model;
    if (provs[k].needs_key && !*key) {
      lb_cfg_warn(rep, "%s_API_KEY is empty: provider %s is skipped (remove it from AI_PROVIDERS "
                       "to silence this)",
                  provs[k].var, provs[k].name);
      continue;
    }
    if (!*model)
      lb_cfg_error(rep, "%s_MODEL is empty (required: %s is in AI_PROVIDERS)", provs[k].var,
                   provs[k].name);
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) {
      lb_cfg_error(rep, "%s_BASE_URL=%s is not an http(s) URL", provs[k].var, url);
    } else if (*key) {
      char show[LB_CFG_STR_MAX + 32], secret[64];
      snprintf(show, sizeof show, "%s_BASE_URL=%s", provs[k].var, url);
      snprintf(secret, sizeof secret, "%s_API_KEY", provs[k].var);
      warn_plain_http(rep, url, show, secret);
    }
    voters++;
  }
  if (voters >= 2 && c->ai_min_agree > voters)
    lb_cfg_warn(rep, "AI_MIN_AGREE=%ld but only %d analysts can vote: no trade will open",
                c->ai_min_agree, voters);
}

static void check_http(const lb_config *c, lb_cfg_report *rep) {
  unsigned char addr[16];
  const char *h = c->health_host;
  if (strcmp(h, "localhost") != 0 && inet_pton(AF_INET, h, addr) != 1 && inet_pton(AF_INET6, h, addr) != 1)
    lb_cfg_error(rep, "HEALTH_HOST=%s is not an IP address (allowed: an IPv4 or IPv6 literal, or localhost)", h);
  /* A short token can be guessed by anyone who reaches the port, and the
   * token can close a position.  Its value is never printed. */
  size_t n = strlen(c->control_token);
  if (n > 0 && n < 16)
    lb_cfg_error(rep,
                 "CONTROL_TOKEN is %zu characters long (allowed: empty to disable the control "
                 "endpoints, or 16 characters or more, e.g. from `openssl rand -hex 24`)",
                 n);
}

/* Binance (src/exchange/binance*): base URLs with the right scheme, and no
 * plain http/ws anywhere but on this machine (the simulator): the API key
 * travels in a header and must not cross a network unencrypted. */

static void check_exchange(const lb_config *c, lb_cfg_report *rep) {
  static const struct {
    const char *name, *secure, *plain;
    size_t off;
  } urls[] = {
      {"BINANCE_REST_URL", "https://", "http://", offsetof(lb_config, binance_rest_url)},
      {"BINANCE_WS_MARKET_URL", "wss://", "ws://", offsetof(lb_config, binance_ws_market_url)},
      {"BINANCE_WS_USER_URL", "wss://", "ws://", offsetof(lb_config, binance_ws_user_url)},
  };
  for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
    const char *u = (const char *)c + urls[i].off;
    bool secure = strncmp(u, urls[i].secure, strlen(urls[i].secure)) == 0;
    bool plain = strncmp(u, urls[i].plain, strlen(urls[i].plain)) == 0;
    if (!secure && !plain)
      lb_cfg_error(rep, "%s=%s is not a %s or %s URL", urls[i].name, u, urls[i].secure, urls[i].plain);
    else if (plain && !loopback_url(u))
      lb_cfg_error(rep, "%s=%s: %s is only allowed to 127.0.0.1/localhost (the simulator); use %s",
                   urls[i].name, u, urls[i].plain, urls[i].secure);
  }
  if (c->binance_ws_reconnect_max_ms < c->binance_ws_reconnect_min_ms)
    lb_cfg_error(rep, "BINANCE_WS_RECONNECT_MAX_MS=%ld is below BINANCE_WS_RECONNECT_MIN_MS=%ld",
                 c->binance_ws_reconnect_max_ms, c->binance_ws_reconnect_min_ms);
  /* A warning, not an error: paper trading never uses the keys, and live
   * mode refuses to start without both. */
  if ((c->binance_api_key[0] != '\0') != (c->binance_api_secret[0] != '\0'))
    lb_cfg_warn(rep, "only one of BINANCE_API_KEY and BINANCE_API_SECRET is set: signed Binance "
                     "requests will fail (values not shown: they are secrets)");
}

/* DATABASE_URL: a scheme the store knows and a non-empty SQLite path, so a
 * typo stops the bot at start-up with the others, not at the first write.
 * (The full PostgreSQL URI is checked by libpq when the store opens.)  The
 * value is shown with its password masked. */
static void check_store(const lb_config *c, lb_cfg_report *rep) {
  const char *u = c->database_url;
  char shown[LB_CFG_STR_MAX];
  lb_mask_url(u, shown, sizeof shown);
  if (strncmp(u, "sqlite://", 9) == 0) {
    if (u[9] == '\0')
      lb_cfg_error(rep, "DATABASE_URL=%s has no file path (allowed: sqlite://PATH, e.g. "
                        "sqlite://./levbot.db)", shown);
  } else if (strncmp(u, "postgresql://", 13) != 0 && strncmp(u, "postgres://", 11) != 0) {
    lb_cfg_error(rep, "DATABASE_URL=%s: unknown scheme (allowed: sqlite://PATH or "
                      "postgresql://user:password@host:port/dbname)", shown);
  }
}

void lb_config_check(const lb_config *c, lb_cfg_report *rep) {
  check_risk(c, rep);
  check_engine(c, rep);
  check_notify(c, rep);
  check_ai(c, rep);
  check_http(c, rep);
  check_exchange(c, rep);
  check_store(c, rep);
}
