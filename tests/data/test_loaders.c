/* test_loaders.c -- every real file loads (or is refused with a reason);
 * broken inputs give errors naming file, line and field. */
#include <stdlib.h>

#include "data/data.h"
#include "unit.h"

typedef struct {
  const char *path;   /* under ../shared/data */
  long rows;          /* expected rows; -1 = refused */
  const char *reason; /* refusal text or expected symbol */
  long missing;       /* expected missing bars (-1: don't check) */
} real_case;

static const real_case real_files[] = {
    {"binance/format_sample_um_BTCUSDT-1h-2024-01-01.csv", 1, "BTCUSDT", 0},
    {"freqtrade-testdata/ADA_BTC-5m.json", 5720, "ADABTC", 40},
    {"freqtrade-testdata/DASH_BTC-5m.json", 5758, "DASHBTC", 2},
    {"freqtrade-testdata/ETC_BTC-5m.json", 5759, "ETCBTC", 0},
    {"freqtrade-testdata/ETH_BTC-5m.json", 5760, "ETHBTC", 0},
    {"freqtrade-testdata/LTC_BTC-5m.json", 5760, "LTCBTC", 0},
    {"freqtrade-testdata/NXT_BTC-5m.json", 5760, "NXTBTC", 0},
    {"freqtrade-testdata/TRX_BTC-5m.json", 5754, "TRXBTC", 6},
    {"freqtrade-testdata/XLM_BTC-5m.json", 5760, "XLMBTC", 0},
    {"freqtrade-testdata/XMR_BTC-5m.json", 5758, "XMRBTC", 2},
    {"freqtrade-testdata/ZEC_BTC-5m.json", 5757, "ZECBTC", 2},
    {"freqtrade-testdata/UNITTEST_BTC-5m.json", 5760, "UNITTESTBTC", 0},
    {"freqtrade-testdata/UNITTEST_BTC-1m.json", 13681, "UNITTESTBTC", 717},
    {"freqtrade-testdata/UNITTEST_BTC-8m.json.gz", 13681, "UNITTESTBTC", 717},
    {"freqtrade-testdata/UNITTEST_BTC-30m.json", 1920, "UNITTESTBTC", 0},
    {"freqtrade-testdata/XRP_ETH-1m.json", 3560, "XRPETH", 0},
    {"freqtrade-testdata/XRP_ETH-5m.json", 712, "XRPETH", 0},
    {"freqtrade-testdata/XRP_ETH-trades.json.gz", -1, "a trade list", -1},
    {"freqtrade-testdata/futures/XRP_USDT_USDT-5m-futures.json", 1999, "XRPUSDT", 0},
    {"freqtrade-testdata/futures/XRP_USDT_USDT-5m-futures.csv", 1999, "XRPUSDT", 0},
    {"freqtrade-testdata/futures/XRP_USDT_USDT-1h-futures.json", 100, "XRPUSDT", 0},
    {"freqtrade-testdata/futures/XRP_USDT_USDT-1h-futures.csv", 100, "XRPUSDT", 0},
    {"freqtrade-testdata/futures/XRP_USDT_USDT-1h-mark.json", 100, "XRPUSDT", 0},
    {"freqtrade-testdata/futures/XRP_USDT_USDT-1h-mark.csv", 100, "XRPUSDT", 0},
    {"freqtrade-testdata/futures/UNITTEST_USDT_USDT-1h-mark.json", 100, "UNITTESTUSDT", 0},
    {"freqtrade-testdata/futures/UNITTEST_USDT_USDT-1h-mark.csv", 100, "UNITTESTUSDT", 0},
    {"freqtrade-testdata/futures/XRP_USDT_USDT-8h-mark.json", 91, "XRPUSDT", 0},
    {"freqtrade-testdata/futures/XRP_USDT_USDT-8h-mark.csv", 91, "XRPUSDT", 0},
    {"freqtrade-testdata/futures/XRP_USDT_USDT-8h-funding_rate.json", -1, "funding rates", -1},
    {"freqtrade-testdata/futures/XRP_USDT_USDT-8h-funding_rate.csv", -1, "funding rates", -1},
    {"nautilus-testdata/btc-perp-20211231-20220201_1m.csv", 45031, "BTCPERP", 0},
    {"nautilus-testdata/ADABTC-1m-2021-11-27.csv", 10, "ADABTC", 0},
    {"nautilus-testdata/ADABTC-1m-2021-11-28.csv", 11, "ADABTC", 0},
    {"nautilus-testdata/binance/btcusdt-depth-snap.csv", -1, "order-book depth", -1},
    {"nautilus-testdata/binance/btcusdt-depth-update.csv", -1, "order-book depth", -1},
    {"nautilus-testdata/tardis/binance-futures_book_snapshot_5_BTCUSDT.csv", -1, "order-book snapshots", -1},
    {"nautilus-testdata/tardis/binance-futures_book_snapshot_25_BTCUSDT.csv", -1, "order-book snapshots", -1},
    {"alphakit-testdata/futures-um-inferred/BTCUSDT-5m-2022-04.csv", 8640, "BTCUSDT", 0},
    {"alphakit-testdata/futures-um-inferred/BTCUSDT-1m-2022-04-08.csv", 1440, "BTCUSDT", 0},
    {"alphakit-testdata/spot-1h/BTCUSDT-1h-2017-09.csv", 713, "BTCUSDT", 7},
    {"alphakit-testdata/spot-1h/BTCUSDT-1h-2018-02.csv", 640, "BTCUSDT", -1},
    {"alphakit-testdata/spot-1h/ETHUSDT-1h-2021-02.csv", 671, "ETHUSDT", 1},
    {"lean-cryptofuture/binance/minute/btcusd/20221213_btcusd_minute_trade_perp.csv", 1439, "BTCUSD", 1},
    {"lean-cryptofuture/binance/minute/btcusd/20221213_btcusd_minute_quote_perp.csv", -1, "quote bars", -1},
    {"lean-cryptofuture/binance/minute/adausdt/20221213_adausdt_minute_trade_perp.csv", 1440, "ADAUSDT", 0},
    {"lean-cryptofuture/binance/hour/adausdt_trade_perp.csv", 24, "ADAUSDT", 0},
    {"lean-cryptofuture/binance/hour/adausdt_quote_perp.csv", -1, "quote bars", -1},
    {"lean-cryptofuture/binance/daily/adausdt_trade_perp.csv", 9, "ADAUSDT", 0},
    {"lean-cryptofuture/binance/margin_interest/btcusd.csv", -1, "funding rates", -1},
    {"lean-cryptofuture/bybit/minute/btcusdt/20221213_btcusdt_minute_trade_perp.csv", 721, "BTCUSDT", 0},
    {"lean-cryptofuture/bybit/minute/btcusd/20221213_btcusd_minute_trade_perp.csv", 721, "BTCUSD", 0},
    {"lean-cryptofuture/dydx/minute/btcusd/20260101_btcusd_minute_trade_perp.csv", 1410, "BTCUSD", 30},
};

TEST(loader_reads_or_refuses_every_real_file) {
  lbt_require_shared("data/README.md");
  for (size_t i = 0; i < sizeof real_files / sizeof real_files[0]; i++) {
    const real_case *rc = &real_files[i];
    char rel[512];
    snprintf(rel, sizeof rel, "data/%s", rc->path);
    data_series s;
    data_load_info info;
    lb_errbuf eb = {{0}};
    lb_err e = data_load_file(lbt_shared_path(rel), DATA_FMT_AUTO, &s, &info, &eb);
    if (rc->rows < 0) {
      if (e != LB_EUNSUPPORTED || !strstr(eb.msg, rc->reason))
        lbt_fail(__FILE__, __LINE__, "%s: want refusal '%s', got %d '%s'", rc->path, rc->reason, e, eb.msg);
      continue;
    }
    if (e != LB_OK) {
      lbt_fail(__FILE__, __LINE__, "%s: %s", rc->path, eb.msg);
      continue;
    }
    if ((long)s.n != rc->rows) lbt_fail(__FILE__, __LINE__, "%s: %zu rows, want %ld", rc->path, s.n, rc->rows);
    if (strcmp(s.symbol, rc->reason) != 0) lbt_fail(__FILE__, __LINE__, "%s: symbol %s, want %s", rc->path, s.symbol, rc->reason);
    if (rc->missing >= 0 && (long)info.missing_bars != rc->missing)
      lbt_fail(__FILE__, __LINE__, "%s: %zu missing bars, want %ld", rc->path, info.missing_bars, rc->missing);
    data_series_close(&s);
  }
}

TEST(loader_reads_all_55_hourly_btc_files) {
  lbt_require_shared("data/alphakit-testdata/spot-1h/BTCUSDT-1h-2017-08.csv");
  size_t total = 0;
  for (int y = 2017; y <= 2022; y++)
    for (int m = 1; m <= 12; m++) {
      if ((y == 2017 && m < 8) || (y == 2022 && m > 2)) continue;
      char rel[256];
      snprintf(rel, sizeof rel, "data/alphakit-testdata/spot-1h/BTCUSDT-1h-%04d-%02d.csv", y, m);
      data_series s;
      lb_errbuf eb;
      lb_err e = data_load_file(lbt_shared_path(rel), DATA_FMT_AUTO, &s, NULL, &eb);
      if (e) {
        lbt_fail(__FILE__, __LINE__, "%s", eb.msg);
        continue;
      }
      CHECK_EQ(s.timeframe, LB_MS_HOUR);
      total += s.n;
      data_series_close(&s);
    }
  CHECK_EQ(total, 39638);
}

TEST(loader_reports_gaps_count_and_largest) {
  lbt_require_shared("data/README.md");
  data_series s;
  data_load_info info;
  lb_errbuf eb;
  REQUIRE_OK(data_load_file(lbt_shared_path("data/freqtrade-testdata/ADA_BTC-5m.json"), DATA_FMT_AUTO, &s, &info, &eb));
  CHECK_EQ(info.timeframe, 5 * LB_MS_MINUTE);
  CHECK_EQ(info.gaps, 5);
  CHECK_EQ(info.missing_bars, 40);
  CHECK_EQ(info.largest_gap, (2 * 60 + 50) * LB_MS_MINUTE); /* 2 h 50 min between two bars */
  CHECK_EQ(info.format, DATA_FMT_FREQTRADE_JSON);
  data_series_close(&s);
}

TEST(loader_reads_bundled_sample_without_shared_data) {
  data_series s;
  data_load_info info;
  lb_errbuf eb;
  REQUIRE_OK(data_load_file(lbt_source_path("data/binance-um/BTCUSDT-5m-2022-04.csv"), DATA_FMT_AUTO, &s, &info, &eb));
  CHECK_EQ(s.n, 8640);
  CHECK_EQ(info.format, DATA_FMT_BINANCE_CSV);
  CHECK_EQ(info.gaps, 0);
  CHECK_STREQ(s.symbol, "BTCUSDT");
  CHECK_EQ(s.c[0].ts, INT64_C(1648771200000));
  CHECK_NEAR(s.c[0].open, 45505.9, 0);
  CHECK_NEAR(s.c[0].volume, 1675.835, 0);
  data_series_close(&s);
}

/* ==== Broken inputs ==== */

static lb_err load_text(const char *name, const char *text, data_series *s, lb_errbuf *eb) {
  return data_load_buffer(text, strlen(text), name, DATA_FMT_AUTO, s, NULL, eb);
}

static const struct {
  const char *name, *text, *msg;
  lb_err rc;
} broken[] = {
    {"empty.csv", "", "empty.csv: empty file", LB_EPARSE},
    {"blank.json", "  \n\n", "blank.json: empty file", LB_EPARSE},
    {"header-only.csv", "ts,open,high,low,close,volume\n", "no data rows", LB_EPARSE},
    {"trunc.json", "[[1515560100000, 0.0984, 0.0994, 0.0982, 0.0994, 1820.5], [1515560400000, 0.09", "trunc.json line 1: invalid JSON", LB_EPARSE},
    {"trunc.csv", "1648771200000,45505.90,45565.00,45411.20,45549.20,1675.835,1648771499999,76237834.02366,13970,774.015,35215193.52625,0\n1648771500000,45549.20,45591.70,4552", "trunc.csv line 2: expected 12 fields, found 4 (truncated row?)", LB_EPARSE},
    {"badnum.csv", "ts,open,high,low,close,volume\n1648771200000,45505.9,45565,45411.2,45549.2,12\n1648771500000,45549.2,45x91.7,45524.2,45590.3,8\n", "badnum.csv line 3: field 'high' is not a number: '45x91.7'", LB_EPARSE},
    {"order.csv", "ts,open,high,low,close,volume\n1648771500000,1,2,0.5,1.5,1\n1648771200000,1,2,0.5,1.5,1\n", "order.csv line 3: field 'ts' 2022-04-01T00:00:00.000Z is not after the previous row's 2022-04-01T00:05:00.000Z", LB_EPARSE},
    {"dup.csv", "ts,open,high,low,close,volume\n1648771200000,1,2,0.5,1.5,1\n1648771200000,1,2,0.5,1.5,1\n", "dup.csv line 3: field 'ts'", LB_EPARSE},
    {"hl.csv", "ts,open,high,low,close,volume\n1648771200000,1,1.2,0.5,1.5,1\n", "hl.csv line 2: field 'high' 1.2 is below max(open, close) 1.5", LB_EPARSE},
    {"low.csv", "ts,open,high,low,close,volume\n1648771200000,1,2,1.1,1.5,1\n", "low.csv line 2: field 'low' 1.1 is above min(open, close) 1", LB_EPARSE},
    {"vol.csv", "ts,open,high,low,close,volume\n1648771200000,1,2,0.5,1.5,-3\n", "vol.csv line 2: field 'volume' -3 is negative", LB_EPARSE},
    {"nan.csv", "ts,open,high,low,close,volume\n1648771200000,nan,2,0.5,1.5,1\n", "nan.csv line 2: field 'open' is not a number: 'nan'", LB_EPARSE},
    {"secs.csv", "ts,open,high,low,close,volume\n1648771200,1,2,0.5,1.5,1\n", "secs.csv line 2: field 'ts' 1648771200 looks like seconds", LB_EPARSE},
    {"iso.csv", "ts,open,high,low,close,volume\n2022-04-01 00:00:00,1,2,0.5,1.5,1\n2022-04-01 00:0x:00,1,2,0.5,1.5,1\n", "iso.csv line 3: field 'ts' is not an ISO-8601 UTC time", LB_EPARSE},
    {"odd.csv", "when,o,h,l,c,v\n1,2,3,4,5,6\n", "odd.csv line 1: unknown header", LB_EUNSUPPORTED},
    {"rowshape.json", "[[1515560100000, 0.0984, 0.0994]]", "rowshape.json row 1: expected [ms, open, high, low, close, volume]", LB_EPARSE},
    {"strnum.json", "[[1515560100000, \"0.0984\", 0.0994, 0.0982, 0.0994, 1]]", "strnum.json row 1: field 'open' is not a number", LB_EPARSE},
    {"obj.json", "[{\"t\":1}]", "obj.json row 1", LB_EPARSE},
};

TEST(loader_broken_inputs_name_file_line_and_field) {
  for (size_t i = 0; i < sizeof broken / sizeof broken[0]; i++) {
    data_series s;
    lb_errbuf eb = {{0}};
    lb_err e = load_text(broken[i].name, broken[i].text, &s, &eb);
    if (e != broken[i].rc || !strstr(eb.msg, broken[i].msg))
      lbt_fail(__FILE__, __LINE__, "%s: got %d '%s', want %d '%s'", broken[i].name, e, eb.msg, broken[i].rc, broken[i].msg);
    CHECK_EQ(s.n, 0);
    CHECK(s.c == NULL);
  }
}

TEST(loader_missing_file_is_a_clear_error) {
  data_series s;
  lb_errbuf eb;
  CHECK_EQ(data_load_file("/nonexistent/BTCUSDT-1m.csv", DATA_FMT_AUTO, &s, NULL, &eb), LB_EIO);
  CHECK_CONTAINS(eb.msg, "/nonexistent/BTCUSDT-1m.csv: No such file or directory");
}

TEST(loader_plain_csv_accepts_ms_and_iso_times) {
  data_series s;
  lb_errbuf eb;
  REQUIRE_OK(load_text("x.csv", "ts,open,high,low,close,volume\n2022-04-01T00:00:00Z,1,2,0.5,1.5,1\n2022-04-01T00:01:00Z,1.5,2,1,1.2,0\n", &s, &eb));
  CHECK_EQ(s.n, 2);
  CHECK_EQ(s.c[1].ts, INT64_C(1648771260000));
  CHECK_EQ(s.timeframe, LB_MS_MINUTE);
  data_series_close(&s);
  REQUIRE_OK(load_text("y.csv", "1648771200000,1,2,0.5,1.5,1\r\n1648771260000,1.5,2,1,1.2,0\r\n", &s, &eb));
  CHECK_EQ(s.n, 2);
  data_series_close(&s);
  /* Binance spot public data since 2025: microseconds */
  REQUIRE_OK(load_text("z.csv", "1735689600000000,1,2,0.5,1.5,1,1735689659999999,1,1,1,1,0\n", &s, &eb));
  CHECK_EQ(s.c[0].ts, INT64_C(1735689600000));
  data_series_close(&s);
}

TEST(loader_mark_files_without_volume_read_as_zero) {
  data_series s;
  data_load_info info;
  lb_errbuf eb;
  const char *t = "[[1636956000000, 1.20932, 1.21787, 1.20763, 1.21431, null]]";
  REQUIRE_OK(data_load_buffer(t, strlen(t), "XRP_USDT_USDT-1h-mark.json", DATA_FMT_AUTO, &s, &info, &eb));
  CHECK(info.no_volume);
  CHECK_NEAR(s.c[0].volume, 0, 0);
  data_series_close(&s);
}

TEST(symbol_is_guessed_from_file_names) {
  static const char *const cases[][2] = {
      {"/x/BTCUSDT-1m-2022-04-08.csv", "BTCUSDT"}, {"ETH_BTC-5m.json", "ETHBTC"},
      {"XRP_USDT_USDT-5m-futures.json", "XRPUSDT"}, {"btc-perp-20211231-20220201_1m.csv", "BTCPERP"},
      {"20221213_adausdt_minute_trade_perp.csv", "ADAUSDT"}, {"adausdt_trade_perp.csv", "ADAUSDT"},
      {"format_sample_um_BTCUSDT-1h-2024-01-01.csv", "BTCUSDT"}, {"", "UNKNOWN"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char out[32];
    data_symbol_from_name(cases[i][0], out, sizeof out);
    CHECK_STREQ(out, cases[i][1]);
  }
}

TEST(funding_rates_load_from_both_layouts) {
  lbt_require_shared("data/README.md");
  data_funding_series f;
  lb_errbuf eb;
  REQUIRE_OK(data_load_funding(lbt_shared_path("data/freqtrade-testdata/futures/XRP_USDT_USDT-8h-funding_rate.json"), &f, &eb));
  CHECK_EQ(f.n, 91);
  CHECK_EQ(f.f[0].ts, INT64_C(1637193600000)); /* 1637193600017 rounded to the 8 h grid */
  CHECK_NEAR(data_funding_at(&f, INT64_C(1637193600000)), 0.0001, 0);
  CHECK(isnan(data_funding_at(&f, INT64_C(1637193600000) + LB_MS_HOUR)));
  data_funding_close(&f);
  REQUIRE_OK(data_load_funding(lbt_shared_path("data/freqtrade-testdata/futures/XRP_USDT_USDT-8h-funding_rate.csv"), &f, &eb));
  CHECK_EQ(f.n, 91);
  data_funding_close(&f);
  REQUIRE_OK(data_load_funding(lbt_shared_path("data/lean-cryptofuture/binance/margin_interest/btcusd.csv"), &f, &eb));
  CHECK_EQ(f.n, 12);
  CHECK_NEAR(f.f[1].rate, 0.00046053, 0);
  data_funding_close(&f);
}

TEST(funding_rejects_bad_rows) {
  data_funding_series f;
  lb_errbuf eb;
  const char *path = lbt_tmpdir();
  char p[512];
  snprintf(p, sizeof p, "%s/bad-funding.csv", path);
  FILE *fp = fopen(p, "w");
  REQUIRE(fp);
  fputs("20201229 00:00:00,0.0002\n20201229 08:00:00,0.9\n", fp);
  fclose(fp);
  CHECK_EQ(data_load_funding(p, &f, &eb), LB_ERANGE);
  CHECK_CONTAINS(eb.msg, "line 2: funding rate 0.9 is outside");
}

#include <dirent.h>
#include <sys/stat.h>

static void walk(const char *dir, int *loaded, int *refused) {
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(p, &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      walk(p, loaded, refused);
      continue;
    }
    if (strstr(e->d_name, ".md")) continue;
    data_series s;
    lb_errbuf eb = {{0}};
    lb_err rc = data_load_file(p, DATA_FMT_AUTO, &s, NULL, &eb);
    if (rc == LB_OK) {
      (*loaded)++;
      data_series_close(&s);
    } else if (rc == LB_EUNSUPPORTED && strstr(eb.msg, e->d_name)) {
      (*refused)++;
    } else {
      lbt_fail(__FILE__, __LINE__, "%s: neither loaded nor refused with a reason: %d %s", p, rc, eb.msg);
    }
  }
  closedir(d);
}

TEST(loader_every_file_in_shared_data_loads_or_is_refused_with_reason) {
  lbt_require_shared("data/README.md");
  int loaded = 0, refused = 0;
  walk(lbt_shared_path("data"), &loaded, &refused);
  printf("    %d files loaded, %d refused with a reason\n", loaded, refused);
  CHECK(loaded >= 100);
  CHECK(refused >= 10);
}
