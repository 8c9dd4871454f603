/* bench_backtest.c -- candles per second of the whole backtest pipeline.
 *
 *   bench_backtest [--candles N] [FILE...]
 *
 * The full pipeline of `levbot backtest`: streaming resampling and
 * indicators on three timeframes (15m, 1h, 4h from 1m candles), red flags,
 * the technical analyst, consensus, risk plans, the simulated exchange's
 * fills, fees and funding, the ledger and the report collector.  The input
 * is a real 1m sample (default: the FTX BTC-PERP month in ../shared when it
 * is there, else the bundled Binance days) replayed end to end with shifted
 * timestamps until at least N candles (default 5,000,000) have run, so the
 * candles are streamed, never all in memory.
 *
 * Prints the candles, the seconds, candles per second and the peak RSS
 * after a short run and after the long one: equal figures show memory does
 * not grow with the number of candles.  Figures only (bench/README.md).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "engine/backtest.h"
#include "engine/report.h"
#include "strategy/strategy.h"

#ifndef LB_SOURCE_DIR
#define LB_SOURCE_DIR "."
#endif

static double peak_rss_mb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_maxrss / 1024.0; /* KiB on Linux */
}

static int die(const char *what, const lb_errbuf *eb) {
  fprintf(stderr, "bench_backtest: %s: %s\n", what, eb->msg);
  return 1;
}

static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct {
  size_t candles;
  double seconds, cpu;
  long trades, scans;
  lb_dec capital;
} run_out;

static int run(engine_replay_setup *s, int repeat, run_out *out) {
  lb_errbuf eb = {{0}};
  engine_report_info info = {.initial_capital = s->params.sim.initial_balance};
  engine_report *r = NULL;
  if (engine_report_new(&info, &r, &eb) != LB_OK) return die("report", &eb);
  s->params.repeat = repeat;
  s->params.report = r;
  engine_replay_result res;
  double c0 = cpu_seconds();
  int64_t t0 = lb_time_mono_ns();
  lb_err rc = engine_replay_run(&s->params, &res, &eb);
  int64_t t1 = lb_time_mono_ns();
  out->cpu = cpu_seconds() - c0;
  if (rc) {
    engine_report_free(r);
    return die("run", &eb);
  }
  out->candles = res.candles;
  out->seconds = (double)(t1 - t0) / 1e9;
  out->trades = res.counters.trades_closed;
  out->scans = res.counters.scans;
  out->capital = res.ledger.capital;
  if (res.ledger.capital - res.ledger.initial != res.sim.realized_pnl - res.sim.fees + res.sim.funding ||
      res.ledger.capital != res.sim_wallet) {
    fprintf(stderr, "bench_backtest: the ledger does not reconcile\n");
    engine_report_free(r);
    return 1;
  }
  engine_report_free(r);
  return 0;
}

int main(int argc, char **argv) {
  size_t want = 5000000;
  engine_replay_files f;
  memset(&f, 0, sizeof f);
  static char paths[4][1024];
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--candles") == 0 && i + 1 < argc) want = strtoull(argv[++i], NULL, 10);
    else if (f.n_data < ENGINE_REPLAY_MAX_FILES) f.data[f.n_data++] = argv[i];
  }
  if (f.n_data == 0) {
    const char *shared = getenv("LEVBOT_SHARED_DIR");
    snprintf(paths[0], sizeof paths[0], "%s/data/nautilus-testdata/btc-perp-20211231-20220201_1m.csv",
             shared && *shared ? shared : LB_SOURCE_DIR "/../shared");
    FILE *t = fopen(paths[0], "r");
    if (t) {
      fclose(t);
      f.data[f.n_data++] = paths[0];
    } else {
      const char *days[] = {"05-04", "05-05", "05-06"};
      for (int i = 0; i < 3; i++) {
        snprintf(paths[i + 1], sizeof paths[i + 1], "%s/data/binance-um/BTCUSDT-1m-2022-%s.csv", LB_SOURCE_DIR,
                 days[i]);
        f.data[f.n_data++] = paths[i + 1];
      }
    }
  }
  lb_config cfg;
  lb_config_defaults(&cfg);
  lb_cfg_report rep;
  memset(&rep, 0, sizeof rep);
  lb_config_set(&cfg, "ENTRY_TIMEFRAME", "15m", &rep);
  lb_config_set(&cfg, "TIMEFRAMES", "15m,1h,4h", &rep);
  /* A research setting: the max-drawdown breaker would pause entries for
   * good after the first bad stretch and leave little for the strategy to
   * do; every other rule stays as configured. */
  lb_config_set(&cfg, "MAX_DRAWDOWN_PERCENT", "0.99", &rep);
  engine_replay_setup *s = calloc(1, sizeof *s);
  if (!s) return 1;
  lb_errbuf eb = {{0}};
  if (engine_replay_setup_load(s, &f, &cfg, &eb) != LB_OK) return die("load", &eb);
  size_t base = 0;
  for (size_t i = 0; i < s->n; i++) base += s->series[i].n;
  char tfb[16];
  printf("bench/backtest: %s, %zu candles of %s per pass", f.data[0], base,
         lb_timeframe_name(s->data_tf, tfb, sizeof tfb));
  if (f.n_data > 1) printf(" (%d files)", f.n_data);
  printf("\npipeline: resample + indicators on 15m,1h,4h, red flags, technical analyst, consensus, "
         "risk, sim fills/fees/funding, ledger, report\n");
  int repeat = (int)((want + base - 1) / base);
  int small = repeat / 10 > 0 ? repeat / 10 : 1;
  run_out a, b;
  if (run(s, small, &a)) return 1;
  double rss_small = peak_rss_mb();
  if (run(s, repeat, &b)) return 1;
  double rss_big = peak_rss_mb();
  printf("candles        %zu (%d passes)\n", b.candles, repeat);
  printf("seconds        %.3f wall, %.3f CPU (one thread)\n", b.seconds, b.cpu);
  printf("candles/s      %.0f\n", (double)b.candles / b.seconds);
  printf("candles/cpu-s  %.0f\n", (double)b.candles / b.cpu);
  printf("ns/candle      %.1f\n", b.seconds * 1e9 / (double)b.candles);
  printf("scans          %ld, trades %ld\n", b.scans, b.trades);
  printf("peak RSS       %.1f MB after %zu candles; %.1f MB after %zu candles\n", rss_small, a.candles,
         rss_big, b.candles);
  engine_replay_setup_close(s);
  free(s);
  return 0;
}
