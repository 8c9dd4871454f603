/* data.h -- market data: candle series, file loaders, resampling, replay.
 *
 * Owns: the candle and series types every other module reads; loaders for
 * the formats levbot accepts (freqtrade JSON, Binance public-data kline CSV,
 * plain ts,open,high,low,close,volume CSV with epoch-ms or ISO-8601 UTC
 * times, QuantConnect LEAN crypto-future bars), with validation whose errors
 * name the file, the line (or JSON row) and the field; funding-rate loaders;
 * resampling to higher timeframes aligned to UTC, both batch and streaming;
 * and a replay feed that merges several symbols in time order.
 *
 * Must not: compute indicators (src/ta) or know about exchanges' live APIs
 * (src/exchange turns klines into data_candle itself).
 *
 * Invariants of a loaded series:
 *   - timestamps (bar open times, UTC ms) strictly increase;
 *   - low <= min(open, close) and high >= max(open, close);
 *   - volume >= 0; no NaN or infinity anywhere.
 * Gaps (missing bars) are allowed and reported in data_load_info.
 */
#ifndef LB_DATA_DATA_H
#define LB_DATA_DATA_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/symbol.h"
#include "core/time.h"

/* ==== Candles and series ==== */

typedef struct {
  lb_ms ts; /* bar open time, UTC ms */
  double open, high, low, close;
  double volume; /* base-asset volume (or what the file holds: see its README) */
} data_candle;

typedef struct {
  char symbol[LB_SYMBOL_MAX]; /* from the file name when the file does not say */
  lb_ms timeframe;            /* bar duration; detected on load (most common step) */
  data_candle *c;             /* owned */
  size_t n, cap;
} data_series;

void data_series_init(data_series *s);
void data_series_close(data_series *s); /* frees c; s is empty and reusable */
lb_err data_series_push(data_series *s, const data_candle *c);
lb_err data_series_reserve(data_series *s, size_t n);
/* Checks one candle against the invariants above; eb names the field. */
lb_err data_candle_check(const data_candle *c, lb_errbuf *eb);
/* Keeps only candles with from <= ts < to (0 = unbounded). */
void data_series_slice(data_series *s, lb_ms from, lb_ms to);

/* ==== Loading ==== */

typedef enum {
  DATA_FMT_AUTO = 0,
  DATA_FMT_FREQTRADE_JSON, /* [[ms, o, h, l, c, v], ...] (optionally .gz) */
  DATA_FMT_BINANCE_CSV,    /* 12-column kline CSV, header optional */
  DATA_FMT_PLAIN_CSV,      /* ts,open,high,low,close,volume; ts ms or ISO */
  DATA_FMT_LEAN_BARS       /* LEAN trade bars: ms-since-midnight or "YYYYMMDD HH:MM" */
} data_format;

typedef struct {
  data_format format;
  size_t rows;
  lb_ms first, last;  /* first and last bar open time */
  lb_ms timeframe;    /* detected bar duration */
  size_t gaps;        /* number of holes in the time grid */
  size_t missing_bars;
  lb_ms largest_gap;  /* longest time between two consecutive bars, when a gap
                         exists (0 = none) */
  bool no_volume;     /* volume column empty/null (mark-price files): read as 0 */
} data_load_info;

const char *data_format_name(data_format f);

/* Loads a candle file.  With DATA_FMT_AUTO the format is sniffed from the
 * content (and, for LEAN minute files, the date in the file name).  Files
 * that hold something other than candles (trades, order books, quotes,
 * funding rates) are refused with LB_EUNSUPPORTED and a reason.  info may be
 * NULL.  On error *out is left empty. */
lb_err data_load_file(const char *path, data_format fmt, data_series *out, data_load_info *info,
                      lb_errbuf *eb);
/* The same over a buffer already in memory; `name` stands for the file name
 * in messages and symbol/date detection. */
lb_err data_load_buffer(const char *text, size_t len, const char *name, data_format fmt,
                        data_series *out, data_load_info *info, lb_errbuf *eb);

/* Best guess of a symbol from a file name: "BTCUSDT-1m-2022-04-08.csv" ->
 * "BTCUSDT", "ETH_BTC-5m.json" -> "ETHBTC", "XRP_USDT_USDT-5m-futures" ->
 * "XRPUSDT", "btc-perp-2021..." -> "BTCPERP".  Writes "UNKNOWN" if none. */
void data_symbol_from_name(const char *path, char *out, size_t n);

/* ==== Funding rates ==== */

typedef struct {
  lb_ms ts;    /* settlement time, rounded to the 8 h grid */
  double rate; /* 0.0001 = 0.01 % per settlement */
} data_funding;

typedef struct {
  data_funding *f; /* owned */
  size_t n, cap;
} data_funding_series;

void data_funding_init(data_funding_series *s);
void data_funding_close(data_funding_series *s);
/* freqtrade *-funding_rate.{json,csv} (rate in the open column) or LEAN
 * margin_interest/<sym>.csv ("YYYYMMDD HH:MM:SS,rate"). */
lb_err data_load_funding(const char *path, data_funding_series *out, lb_errbuf *eb);
/* Rate applying at settlement time t, or NAN if the series has no entry
 * for that settlement. */
double data_funding_at(const data_funding_series *s, lb_ms t);

/* ==== Resampling ==== */

/* Batch: aggregates `in` into bars of `tf` (a multiple of in->timeframe)
 * aligned to UTC (epoch multiples; 1w starts on Monday).  A bucket is
 * emitted if any input bar falls in it; the last bucket only if the input
 * reaches its end.  open = first open, close = last close, high/low =
 * extremes, volume = sum. */
lb_err data_resample(const data_series *in, lb_ms tf, data_series *out, lb_errbuf *eb);

/* Streaming: push base bars one at a time; a higher-timeframe bar comes out
 * as soon as it is complete (the pushed bar ends exactly at the bucket end),
 * or when a bar of a later bucket arrives after a gap. */
typedef struct {
  lb_ms tf, base_tf;
  bool open;       /* a bucket is being built */
  data_candle cur; /* the bucket being built (ts = bucket start) */
} data_resampler;

void data_resampler_init(data_resampler *r, lb_ms base_tf, lb_ms tf);
/* Returns how many closed bars were written to out (0, 1 or 2: a gap may
 * close the previous bucket and the new bar may complete its own). */
int data_resampler_push(data_resampler *r, const data_candle *c, data_candle out[2]);
/* Start of the bucket holding t for timeframe tf (UTC; 1w on Monday). */
lb_ms data_bucket_start(lb_ms t, lb_ms tf);

/* ==== Replay ==== */

/* Merges several in-memory series into one stream in time order (ties in
 * series order).  `repeat` > 1 replays the whole set again, shifting every
 * timestamp by the set's span each time (benchmarks: long runs from a short
 * real sample without loading more into memory). */
typedef struct {
  const data_series *const *series; /* borrowed */
  size_t nseries;
  size_t *pos;                      /* owned, one cursor per series */
  int repeat, round;
  lb_ms span, shift;
} data_replay;

lb_err data_replay_init(data_replay *r, const data_series *const *series, size_t n, int repeat);
void data_replay_close(data_replay *r);
/* Next candle in time order; false at the end.  *which = series index. */
bool data_replay_next(data_replay *r, size_t *which, data_candle *out);

#endif
