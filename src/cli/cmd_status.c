/* cmd_status.c -- `levbot status`: the bot's state from the database (it may be running or not).
 *
 * Reads without the instance lock: the open position and its stop, the
 * capital, today's realized PnL, active circuit breakers and the latest
 * trades, as text or as one JSON object (--json).
 */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "bot/bot.h"
#include "cli/cli.h"

static const char *money(lb_dec d, char *buf, size_t n) {
  lb_dec_fmt_places(d, 2, buf, n);
  return buf;
}

static const char *exact(lb_dec d, char *buf, size_t n) {
  lb_dec_fmt(d, buf, n);
  return buf;
}

static const char *iso(lb_ms t, char *buf, size_t n) {
  if (t <= 0) snprintf(buf, n, "-");
  else lb_time_fmt_iso(t, buf, n);
  return buf;
}

static void print_text(const char *url, const bot_db_status *s) {
  char a[32], b[32], c[32], d[32], e[LB_TIME_ISO_LEN];
  const store_metrics *m = &s->metrics;
  printf("levbot status: %s (%s trading)\n", url, store_trading_mode_name(s->config.mode));
  printf("  capital   %s USDT (initial %s), updated %s\n", money(s->config.current_capital, a, sizeof a),
         money(s->config.initial_capital, b, sizeof b), iso(s->config.updated_at, e, sizeof e));
  printf("  today     %s%s USDT over %ld closed trade%s (since 00:00 UTC)\n", m->today_pnl > 0 ? "+" : "",
         money(m->today_pnl, a, sizeof a), m->today_trades, m->today_trades == 1 ? "" : "s");
  if (s->has_open) {
    const store_trade *t = &s->open;
    printf("  position  %s %s %s qty %s at %s, %dx, since %s\n", t->id, t->symbol, store_side_name(t->side),
           exact(t->qty, a, sizeof a), exact(t->entry_price, b, sizeof b), t->leverage,
           iso(t->opened_at, e, sizeof e));
    printf("            stop %s (%s), take-profit %s, liquidation %s, engine state %s\n",
           exact(t->stop_price, a, sizeof a), s->position.stop_client_id[0] ? s->position.stop_client_id : "no stop order recorded",
           t->take_profit > 0 ? exact(t->take_profit, b, sizeof b) : "none",
           t->liquidation_price > 0 ? exact(t->liquidation_price, c, sizeof c) : "unknown",
           s->position.symbol[0] ? store_pos_state_name(s->position.state) : "?");
  } else {
    printf("  position  none\n");
  }
  if (s->n_breakers == 0) printf("  breakers  none active\n");
  for (int i = 0; i < s->n_breakers; i++) {
    const store_breaker_event *br = &s->breakers[i];
    printf("  breaker   %s tripped %s, %s%s: %s\n", br->kind, iso(br->tripped_at, e, sizeof e),
           br->resume_at ? "resumes " : "until reset by command", br->resume_at ? iso(br->resume_at, a, sizeof a) : "",
           br->detail);
  }
  printf("  trades    %ld closed, %ld won (%.1f %%), total %s%s USDT, profit factor %.2f, max drawdown %.1f %%\n",
         m->total_trades, m->wins, m->win_rate * 100, m->total_pnl > 0 ? "+" : "",
         money(m->total_pnl, d, sizeof d), m->profit_factor, m->max_drawdown_pct * 100);
  for (int i = 0; i < s->n_recent; i++) {
    const store_trade *t = &s->recent[i];
    if (t->status == STORE_TRADE_OPEN) continue;
    lb_dec net = store_trade_net_pnl(t);
    printf("            %s %s %s %s -> %s %s, net %s%s\n", t->id, t->symbol, store_side_name(t->side),
           exact(t->entry_price, a, sizeof a), exact(t->exit_price, b, sizeof b),
           store_exit_reason_name(t->exit_reason), net > 0 ? "+" : "", money(net, c, sizeof c));
  }
}

static json_t *jmoney(lb_dec d) {
  char b[LB_DEC_STRLEN];
  return json_string(exact(d, b, sizeof b));
}

static json_t *jtime(lb_ms t) {
  char b[LB_TIME_ISO_LEN];
  return t > 0 ? json_string(iso(t, b, sizeof b)) : json_null();
}

static void print_json(const bot_db_status *s) {
  const store_metrics *m = &s->metrics;
  json_t *o = json_object();
  json_object_set_new(o, "mode", json_string(store_trading_mode_name(s->config.mode)));
  json_object_set_new(o, "initial_capital", jmoney(s->config.initial_capital));
  json_object_set_new(o, "capital", jmoney(s->config.current_capital));
  json_object_set_new(o, "today_pnl", jmoney(m->today_pnl));
  json_object_set_new(o, "today_trades", json_integer(m->today_trades));
  if (s->has_open) {
    const store_trade *t = &s->open;
    json_t *p = json_object();
    json_object_set_new(p, "trade_id", json_string(t->id));
    json_object_set_new(p, "symbol", json_string(t->symbol));
    json_object_set_new(p, "side", json_string(store_side_name(t->side)));
    json_object_set_new(p, "quantity", jmoney(t->qty));
    json_object_set_new(p, "entry_price", jmoney(t->entry_price));
    json_object_set_new(p, "leverage", json_integer(t->leverage));
    json_object_set_new(p, "stop_price", jmoney(t->stop_price));
    json_object_set_new(p, "stop_client_id", s->position.stop_client_id[0] ? json_string(s->position.stop_client_id) : json_null());
    json_object_set_new(p, "take_profit_price", t->take_profit > 0 ? jmoney(t->take_profit) : json_null());
    json_object_set_new(p, "liquidation_price", t->liquidation_price > 0 ? jmoney(t->liquidation_price) : json_null());
    json_object_set_new(p, "engine_state", json_string(s->position.symbol[0] ? store_pos_state_name(s->position.state) : "?"));
    json_object_set_new(p, "opened_at", jtime(t->opened_at));
    json_object_set_new(o, "position", p);
  } else {
    json_object_set_new(o, "position", json_null());
  }
  json_t *br = json_array();
  for (int i = 0; i < s->n_breakers; i++)
    json_array_append_new(br, json_pack("{s:s, s:o, s:o, s:s}", "kind", s->breakers[i].kind, "tripped_at",
                                        jtime(s->breakers[i].tripped_at), "resume_at",
                                        jtime(s->breakers[i].resume_at), "detail", s->breakers[i].detail));
  json_object_set_new(o, "breakers", br);
  json_object_set_new(o, "closed_trades", json_integer(m->total_trades));
  json_object_set_new(o, "wins", json_integer(m->wins));
  json_object_set_new(o, "total_pnl", jmoney(m->total_pnl));
  char *text = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  if (text) printf("%s\n", text);
  free(text);
  json_decref(o);
}

static int status_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  bool json = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) json = true;
    else return cli_error("status", CLI_EXIT_USAGE, "unknown option %s (see levbot status --help)", argv[i]);
  }
  lb_config cfg;
  rc = cli_load_config(&common, &cfg);
  if (rc) return rc;
  store_url u;
  lb_errbuf eb = {{0}};
  if (store_url_parse(cfg.database_url, &u, &eb) != LB_OK)
    return cli_error("status", CLI_EXIT_CONFIG, "DATABASE_URL: %s", eb.msg);
  store_options opt = {.pool_min = 1, .pool_max = 1};
  store *db = NULL;
  lb_err e = store_open(cfg.database_url, &opt, &db, &eb);
  if (e) return cli_error("status", CLI_EXIT_DB, "%s", eb.msg);
  bot_db_status s;
  e = bot_db_status_read(db, lb_time_now_ms(), &s, &eb);
  store_close(db);
  if (e == LB_ENOTFOUND)
    return cli_error("status", CLI_EXIT_DB, "%s (run levbot setup-db, then levbot run)", eb.msg);
  if (e) return cli_error("status", CLI_EXIT_DB, "%s", eb.msg);
  if (json) print_json(&s);
  else print_text(u.masked, &s);
  return CLI_EXIT_OK;
}

const cli_cmd cli_cmd_status = {
    "status", "show the bot's state from the database",
    "Usage: levbot status [--json]\n\n"
    "The bot's state as recorded in DATABASE_URL (works while it runs, or after):\n"
    "the open position and its stop, the capital, today's realized PnL, active\n"
    "circuit breakers and the latest trades.  --json prints one JSON object\n"
    "(money as exact decimal strings).  For the live view of a running bot use\n"
    "its health server: curl http://127.0.0.1:8000/status",
    status_run};
