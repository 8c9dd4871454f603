/* cmd_report.c -- `levbot report`: the performance report of the trades in the database.
 *
 * The same figures and renderings as `levbot backtest` (engine/report.h),
 * computed from the closed trades and equity marks a paper or live run
 * recorded (bot_db_report).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "bot/bot.h"
#include "cli/cli.h"
#include "engine/report.h"

static int parse_date(const char *opt, const char *v, lb_ms *out) {
  if (lb_time_parse_iso(v, out) != LB_OK)
    return cli_error("report", CLI_EXIT_USAGE, "%s %s: use a date (2024-03-01) or time (2024-03-01T12:00:00Z)", opt, v);
  return CLI_EXIT_OK;
}

static int write_file(const char *path, lb_err (*fn)(const engine_report *, FILE *, lb_errbuf *),
                      const engine_report *r) {
  FILE *f = fopen(path, "w");
  if (!f) return cli_error("report", CLI_EXIT_DATA, "%s: %s", path, strerror(errno));
  lb_errbuf eb = {{0}};
  lb_err e = fn(r, f, &eb);
  if (fclose(f) != 0 && !e) e = LB_EIO;
  if (e) return cli_error("report", CLI_EXIT_DATA, "%s: %s", path, eb.msg[0] ? eb.msg : lb_strerror(e));
  return CLI_EXIT_OK;
}

static int report_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  lb_ms from = 0, to = INT64_MAX;
  const char *json = NULL, *csv = NULL, *html = NULL;
  unsigned breakdown = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--breakdown") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      if (strcmp(v, "day") == 0) breakdown |= ENGINE_BREAKDOWN_DAY;
      else if (strcmp(v, "week") == 0) breakdown |= ENGINE_BREAKDOWN_WEEK;
      else if (strcmp(v, "month") == 0) breakdown |= ENGINE_BREAKDOWN_MONTH;
      else return cli_error("report", CLI_EXIT_USAGE, "--breakdown %s: use day, week or month", v);
    } else if ((strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0 || strcmp(a, "--json") == 0 ||
                strcmp(a, "--csv") == 0 || strcmp(a, "--html") == 0) && i + 1 < argc) {
      const char *v = argv[++i];
      if (strcmp(a, "--from") == 0) rc = parse_date(a, v, &from);
      else if (strcmp(a, "--to") == 0) rc = parse_date(a, v, &to);
      else if (strcmp(a, "--json") == 0) json = v;
      else if (strcmp(a, "--csv") == 0) csv = v;
      else html = v;
      if (rc) return rc;
    } else {
      return cli_error("report", CLI_EXIT_USAGE, "%s %s (see levbot report --help)",
                       a[0] == '-' && i + 1 >= argc ? "option needs a value:" : "unknown option", a);
    }
  }
  lb_config cfg;
  rc = cli_load_config(&common, &cfg);
  if (rc) return rc;
  store_options opt = {.pool_min = 1, .pool_max = 1};
  store *db = NULL;
  lb_errbuf eb = {{0}};
  if (store_open(cfg.database_url, &opt, &db, &eb) != LB_OK)
    return cli_error("report", CLI_EXIT_DB, "%s", eb.msg);
  engine_report_info info;
  memset(&info, 0, sizeof info);
  snprintf(info.title, sizeof info.title, "levbot report");
  snprintf(info.timeframes, sizeof info.timeframes, "%.60s", cfg.timeframes);
  snprintf(info.panel, sizeof info.panel, "recorded trades");
  info.max_leverage = (int)cfg.max_leverage;
  info.max_risk_per_trade = cfg.max_risk_per_trade;
  info.taker_fee = cfg.taker_fee;
  engine_report *r = NULL;
  lb_err e = bot_db_report(db, &info, from, to, &r, &eb);
  store_close(db);
  if (e == LB_ENOTFOUND) {
    printf("levbot report: no trade closed in the period yet (levbot status shows the open one)\n");
    return CLI_EXIT_OK;
  }
  if (e) return cli_error("report", CLI_EXIT_DB, "%s", eb.msg);
  engine_report_print(r, stdout, breakdown);
  rc = CLI_EXIT_OK;
  if (json) rc = write_file(json, engine_report_write_json, r);
  if (!rc && csv) rc = write_file(csv, engine_report_write_csv, r);
  if (!rc && html) rc = write_file(html, engine_report_write_html, r);
  engine_report_free(r);
  return rc;
}

const cli_cmd cli_cmd_report = {
    "report", "performance report from the database",
    "Usage: levbot report [--from DATE] [--to DATE] [--breakdown day|week|month]\n"
    "                     [--json FILE] [--csv FILE] [--html FILE]\n\n"
    "The performance report of the trades recorded in DATABASE_URL (paper or live),\n"
    "with the figures of `levbot backtest`: win rate, profit factor, expectancy,\n"
    "Sharpe, drawdown from the recorded equity marks, per symbol and exit reason.\n"
    "--from/--to keep the trades closed in [from, to) (UTC).\n\n"
    "Example:\n"
    "  levbot report --from 2024-03-01 --html report.html",
    report_run};
