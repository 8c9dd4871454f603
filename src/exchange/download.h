/* download.h -- closed klines from an exchange into a Binance public-data CSV file.
 *
 * Owns: `levbot download-data`'s library part.  It pages an xchg's klines
 * op over a date range (the venue's adapter does the HTTP, the paging by
 * startTime/limit and the request-weight accounting), retries what the
 * venue calls retryable (honouring retry_after), validates every candle it
 * gets (data_candle_check, on the UTC grid of the timeframe, strictly
 * increasing, inside the window asked for), asks once more for every hole
 * it finds, and writes the Binance 12-column kline layout (no header) that
 * src/data loads.  An existing file is resumed or extended: its rows are
 * kept byte for byte and only the bars it lacks are requested.
 *
 * Must not: speak HTTP itself (that is the xchg's job, with its rate
 * limits), round prices (they are written as the exchange sent them: the
 * shortest decimal that reads back as the same double), or leave a
 * half-written file behind (every write goes to a temporary file in the
 * same directory, is fsync'ed, then renamed over the target).
 *
 * Invariants of a file written here:
 *   1. rows are strictly increasing in open time, each on the timeframe's
 *      UTC grid, each passing data_candle_check;
 *   2. every bar in [from, to) is present except the holes reported in
 *      xchg_dl_result.gap (accepted only with allow_gaps) and bars before
 *      the exchange's history starts;
 *   3. a row taken from an existing file is copied unchanged.
 *
 * The xchg's klines op returns open time, OHLC and volume only: the columns
 * quote_volume, count, taker_buy_volume and taker_buy_quote_volume of a
 * downloaded row are written as 0 (levbot does not read them); close_time is
 * open time + timeframe - 1 as on Binance.
 */
#ifndef LB_EXCHANGE_DOWNLOAD_H
#define LB_EXCHANGE_DOWNLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/time.h"
#include "data/data.h"
#include "exchange/xchg.h"

#define XCHG_DL_GAPS_LISTED 8   /* holes kept in the result (all are counted) */
#define XCHG_DL_CHUNK_BARS 1500 /* bars per klines call by default: one page */

typedef struct {
  lb_ms done, total; /* bars covered so far / to cover (missing from the file) */
  size_t candles;    /* new candles received so far */
} xchg_dl_progress;

typedef struct {
  const char *symbol;   /* "BTCUSDT" */
  lb_ms timeframe;      /* a kline interval (lb_timeframe_parse) */
  lb_ms from, to;       /* bar open times in [from, to), UTC ms; to beyond the
                           bar forming now means "up to the latest closed bar" */
  const char *path;     /* output; resumed/extended if it exists */
  bool allow_gaps;      /* write holes the exchange cannot fill instead of failing */
  int retries;          /* retries of a retryable failure per call (>= 0) */
  long chunk_bars;      /* bars per klines call (1..1000000); 0 = XCHG_DL_CHUNK_BARS */
  const lb_clock *clock; /* now (for "closed") and the waits between retries; NULL = system */
  void (*progress)(void *ctx, const xchg_dl_progress *p); /* may be NULL */
  void *progress_ctx;
} xchg_dl_params;

typedef struct {
  lb_ms start, end; /* missing bars: open times in [start, end) */
} xchg_dl_span;

typedef struct {
  size_t kept;             /* rows taken from the existing file */
  size_t downloaded;       /* new candles written */
  size_t rows;             /* rows in the file as written (or as it was, if not written) */
  lb_ms first, last;       /* open times of its first and last row (0 if none) */
  lb_ms to_effective;      /* `to`, or the end of the latest closed bar if earlier */
  lb_ms history_start;     /* > 0: the exchange has no bar in [from, history_start) */
  int calls, retries_used; /* klines calls made, retries among them */
  size_t gaps, missing_bars; /* holes inside the range that the exchange could not fill */
  xchg_dl_span gap[XCHG_DL_GAPS_LISTED];
  bool written;            /* the file was (re)written */
} xchg_dl_result;

/* Downloads what `path` lacks of [from, to) and rewrites it atomically.
 * On failure after new candles were received, those up to the failure are
 * still written (so running again resumes) and res->written says so.
 * Errors (eb names the cause):
 *   LB_EINVAL    bad parameters (from >= to, no closed bar yet, timeframe);
 *   LB_EIO, LB_EPARSE, LB_EUNSUPPORTED  the existing file cannot be read,
 *                is not a Binance kline CSV of this timeframe, or the
 *                output cannot be written;
 *   LB_ENET      the exchange stayed unreachable or busy after the retries;
 *   LB_EREJECTED the exchange refused (unknown symbol, bad interval) or
 *                sent a candle that fails validation;
 *   LB_ENOTFOUND a hole the exchange cannot fill (without allow_gaps), or
 *                no candle at all in the range. */
lb_err xchg_download_klines(xchg *x, const xchg_dl_params *p, xchg_dl_result *res, lb_errbuf *eb);

/* Writes s as Binance 12-column kline rows (no header) to `path`
 * atomically (temporary file, fsync, rename, fsync of the directory). */
lb_err xchg_klines_write_csv(const char *path, const data_series *s, lb_errbuf *eb);

#endif
