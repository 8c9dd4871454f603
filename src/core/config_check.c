/* config_check.c -- rules that involve more than one variable.
 *
 * One static function per module, each appending to the report.  Messages
 * name the variables, their values and the allowed relation, like the
 * single-variable messages of config.c.
 */
#include <string.h>

#include "core/config.h"
#include "core/time.h"

static void check_risk(const lb_config *c, lb_cfg_report *rep) {
  if (c->max_stop_loss_percent < c->min_stop_loss_percent)
    lb_cfg_error(rep,
                 "MAX_STOP_LOSS_PERCENT=%g is below MIN_STOP_LOSS_PERCENT=%g (allowed: >= "
                 "MIN_STOP_LOSS_PERCENT, <= 0.5)",
                 c->max_stop_loss_percent, c->min_stop_loss_percent);
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
}

void lb_config_check(const lb_config *c, lb_cfg_report *rep) {
  check_risk(c, rep);
  check_engine(c, rep);
}
