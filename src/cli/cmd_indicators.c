/* cmd_indicators.c -- `levbot indicators`: every indicator over a candle file, as CSV.
 *
 * Loads the file with the data module (any format it accepts), optionally
 * resamples it to a higher timeframe, runs ta's fused pass (the same code
 * the engine runs per candle) and prints one row per candle.  The first 22
 * columns are the TA-Lib reference layout, so the numbers can be checked
 * from outside against TA-Lib or a charting tool.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/data.h"
#include "ta/ta.h"

static const char header[] =
    "ts,open,high,low,close,volume,sma_20,ema_20,rsi_14,macd,macd_signal,macd_hist,atr_14,"
    "bb_upper,bb_middle,bb_lower,adx_14,plus_di_14,minus_di_14,stoch_k,stoch_d,obv,"
    "ema_50,ema_200,natr_14,bb_width,cci_14,mfi_14,willr_14,roc_10,sar,vwap,vwap_20,"
    "volume_sma_20\n";

/* %.17g (round-trip exact); a warm-up value is an empty field. */
static void put_num(FILE *out, double x) {
  if (isnan(x))
    fputs(",", out);
  else
    fprintf(out, ",%.17g", x);
}

static void write_row(FILE *out, const data_candle *c, const ta_values *v) {
  fprintf(out, "%lld", (long long)c->ts);
  const double cols[] = {c->open,      c->high,         c->low,       c->close,     c->volume,
                         v->sma,       v->ema_fast,     v->rsi,       v->macd,      v->macd_signal,
                         v->macd_hist, v->atr,          v->bb_upper,  v->bb_middle, v->bb_lower,
                         v->adx,       v->plus_di,      v->minus_di,  v->stoch_k,   v->stoch_d,
                         v->obv,       v->ema_mid,      v->ema_slow,  v->natr,      v->bb_width,
                         v->cci,       v->mfi,          v->willr,     v->roc,       v->sar,
                         v->vwap,      v->vwap_rolling, v->volume_sma};
  for (size_t i = 0; i < sizeof cols / sizeof cols[0]; i++) put_num(out, cols[i]);
  fputc('\n', out);
}

/* "--name VALUE" or "--name=VALUE"; returns 1 if argv[*i] was this option. */
static int take(const char *name, int argc, char **argv, int *i, const char **val, int *err) {
  const char *a = argv[*i];
  size_t n = strlen(name);
  if (strncmp(a, name, n) != 0 || (a[n] != '\0' && a[n] != '=')) return 0;
  if (a[n] == '=')
    *val = a + n + 1;
  else if (*i + 1 < argc)
    *val = argv[++*i];
  else
    *err = 1;
  return 1;
}

static int indicators_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  const char *data_path = NULL, *tf_text = NULL, *out_path = NULL;
  for (int i = 1; i < argc; i++) {
    int err = 0;
    if (take("--data", argc, argv, &i, &data_path, &err) ||
        take("--timeframe", argc, argv, &i, &tf_text, &err) ||
        take("--out", argc, argv, &i, &out_path, &err)) {
      if (err) return cli_error("indicators", CLI_EXIT_USAGE, "option %s needs a value", argv[i]);
      continue;
    }
    return cli_error("indicators", CLI_EXIT_USAGE,
                     "unknown option %s (see levbot indicators --help)", argv[i]);
  }
  if (!data_path || !*data_path)
    return cli_error("indicators", CLI_EXIT_USAGE, "--data FILE is required");
  lb_ms tf = 0;
  if (tf_text && lb_timeframe_parse(tf_text, &tf) != LB_OK)
    return cli_error(
        "indicators", CLI_EXIT_USAGE,
        "--timeframe %s is not a timeframe (1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w)",
        tf_text);

  lb_errbuf eb = {{0}};
  data_series s;
  lb_err e = data_load_file(data_path, DATA_FMT_AUTO, &s, NULL, &eb);
  if (e)
    return cli_error("indicators",
                     cli_exit_for(e) == CLI_EXIT_USAGE ? CLI_EXIT_DATA : cli_exit_for(e), "%s",
                     eb.msg[0] ? eb.msg : lb_strerror(e));
  if (tf && tf != s.timeframe) {
    data_series r;
    e = data_resample(&s, tf, &r, &eb);
    data_series_close(&s);
    if (e)
      return cli_error("indicators", e == LB_EINVAL ? CLI_EXIT_USAGE : CLI_EXIT_FAILURE, "%s",
                       eb.msg);
    s = r;
  }

  ta_values *vals = s.n ? malloc(s.n * sizeof *vals) : NULL;
  if (s.n && !vals) {
    data_series_close(&s);
    return cli_error("indicators", CLI_EXIT_FAILURE, "out of memory for %zu candles", s.n);
  }
  e = ta_compute_all(s.c, s.n, NULL, vals);
  if (e) {
    free(vals);
    data_series_close(&s);
    return cli_error("indicators", CLI_EXIT_FAILURE, "indicators failed: %s", lb_strerror(e));
  }

  FILE *out = stdout;
  if (out_path && !(out = fopen(out_path, "w"))) {
    int saved = errno;
    free(vals);
    data_series_close(&s);
    return cli_error("indicators", CLI_EXIT_FAILURE, "cannot write %s: %s", out_path,
                     strerror(saved));
  }
  fputs(header, out);
  for (size_t i = 0; i < s.n; i++) write_row(out, &s.c[i], &vals[i]);
  int werr = ferror(out);
  if (out != stdout)
    werr |= fclose(out) != 0;
  else
    werr |= fflush(out) != 0;
  if (werr)
    rc = cli_error("indicators", CLI_EXIT_FAILURE, "writing %s failed",
                   out_path ? out_path : "stdout");
  else if (out_path) {
    char tfname[16];
    fprintf(stderr, "levbot indicators: %zu candles (%s) written to %s\n", s.n,
            lb_timeframe_name(s.timeframe, tfname, sizeof tfname), out_path);
  }
  free(vals);
  data_series_close(&s);
  return rc;
}

const cli_cmd cli_cmd_indicators = {
    "indicators", "compute every indicator over a candle file, as CSV",
    "Usage: levbot indicators --data FILE [--timeframe TF] [--out FILE.csv]\n\n"
    "Reads a candle file (freqtrade JSON, Binance kline CSV, ts,open,high,low,close,volume CSV\n"
    "with epoch-ms or ISO-8601 UTC times, LEAN bars), computes every indicator with TA-Lib's\n"
    "default settings and prints one CSV row per candle.\n\n"
    "  --data FILE       the candle file (required)\n"
    "  --timeframe TF    resample to TF first (a multiple of the file's timeframe:\n"
    "                    5m 15m 30m 1h 4h 1d ...); buckets are aligned to UTC\n"
    "  --out FILE.csv    write there instead of standard output\n\n"
    "Columns: ts (bar open time, epoch ms), open, high, low, close, volume, sma_20, ema_20,\n"
    "rsi_14, macd, macd_signal, macd_hist, atr_14, bb_upper, bb_middle, bb_lower, adx_14,\n"
    "plus_di_14, minus_di_14, stoch_k, stoch_d, obv (TA-Lib's TA_SMA(20) ... TA_OBV), then\n"
    "ema_50, ema_200, natr_14, bb_width, cci_14, mfi_14, willr_14, roc_10, sar (0.02, 0.2),\n"
    "vwap (UTC session), vwap_20 (rolling), volume_sma_20.  Numbers use %.17g; a bar still\n"
    "warming up has an empty field.  See docs/ta.md.\n\n"
    "Exit codes: 0 ok, 1 failure (e.g. cannot write --out), 2 bad option or timeframe,\n"
    "4 the data file is missing or not a candle file (the reason is printed).\n\n"
    "Example:\n"
    "  levbot indicators --data data/BTCUSDT-5m-2022-04.csv --timeframe 1h --out btc-1h.csv",
    indicators_run};
