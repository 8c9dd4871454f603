/* test_many_symbols.c -- exsim serves 27 symbols and one combined market stream carries all of them.
 *
 * bench/run trades 20 symbols against exsim; exsim took at most 16 data
 * files and a WebSocket session at most 32 streams (a kline and a
 * markPrice stream per symbol), and its request line buffers were 1 KB.
 * Here the adapter subscribes to 27 symbols on one connection (54
 * streams, a request line over 1 KB; 27 is what the harness's
 * argument list holds; EX_MAX_SYMBOLS is 32) and must see a mark price and
 * a closed candle of every one.
 */
#include <stdlib.h>

#include "harness.h"
#include "unit.h"

#define NSYM 27

TEST(exsim_serves_27_symbols_on_one_combined_stream) {
  char data[1024];
  snprintf(data, sizeof data, "%s", lbt_source_path("data/binance-um/BTCUSDT-1m-2022-05-05.csv"));
  static char args[NSYM][sizeof data + 32];
  const char *extra[2 * NSYM + 1];
  char syms[NSYM][24];
  const char *sym_ptr[NSYM];
  for (int i = 0; i < NSYM; i++) {
    snprintf(syms[i], sizeof syms[i], "S%02dUSDT", i);
    sym_ptr[i] = syms[i];
    snprintf(args[i], sizeof args[i], "%.23s=%s", syms[i], data); /* bounds for -Wformat-truncation */
    extra[2 * i] = "--data";
    extra[2 * i + 1] = args[i];
  }
  extra[2 * NSYM] = NULL;
  exsim_proc p;
  exsim_start(&p, extra);
  json_t *s = exsim_state(&p);
  CHECK_EQ(json_array_size(json_object_get(s, "symbols")), NSYM);
  json_decref(s);
  xchg *x = test_adapter(&p, NULL);
  xchg_error e;
  REQUIRE_EQ(x->ops->subscribe(x, sym_ptr, NSYM, LB_MS_MINUTE, &e), XCHG_OK);
  xchg_event up;
  REQUIRE(wait_event(x, XCHG_EV_STREAM_UP, 5000, &up, NULL));
  bool mark[NSYM] = {false}, candle[NSYM] = {false};
  int seen = 0;
  for (int round = 0; round < 200 && seen < 2 * NSYM; round++) {
    json_decref(exsim_ctl(&p, "POST", "/_exsim/step?n=4", NULL)); /* one 1m bar: marks and its close */
    lb_ms end = lb_time_mono_ms() + 100;
    while (lb_time_mono_ms() < end && seen < 2 * NSYM) {
      xchg_event ev[64];
      int n = xchg_poll_events(x, ev, 64);
      for (int i = 0; i < n; i++)
        for (int k = 0; k < NSYM; k++) {
          if (strcmp(ev[i].symbol, syms[k]) != 0) continue;
          if (ev[i].type == XCHG_EV_MARK && !mark[k]) mark[k] = true, seen++;
          if (ev[i].type == XCHG_EV_CANDLE && !candle[k]) candle[k] = true, seen++;
        }
      if (n == 0) sleep_ms(2);
    }
  }
  for (int k = 0; k < NSYM; k++)
    if (!mark[k] || !candle[k])
      lbt_fail(__FILE__, __LINE__, "%s: mark %d, candle %d", syms[k], mark[k], candle[k]);
  xchg_free(x);
  exsim_stop(&p);
}
