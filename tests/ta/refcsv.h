/* refcsv.h -- a tiny reader for the TA-Lib reference files (tests only).
 *
 * The reference files (tests/data/talib_*.csv, ../shared/data/reference/)
 * are `ts,open,high,low,close,volume` followed by the indicator columns,
 * printed with %.17g; an empty field is a warm-up bar.  This reader keeps
 * every column as doubles (NAN for empty) so tests can compare column by
 * column.  Candles for indicators in src/ come from the data module; this
 * is only how the expected values are read.
 */
#ifndef LB_TESTS_TA_REFCSV_H
#define LB_TESTS_TA_REFCSV_H

#include <stddef.h>

#define REF_MAX_COLS 64

typedef struct {
  int ncols;
  char *names[REF_MAX_COLS];
  double *col[REF_MAX_COLS]; /* each rows long */
  size_t rows;
} refcsv;

/* 0 on success; on failure prints why and returns -1. */
int refcsv_load(const char *path, refcsv *out);
/* The column named `name`, or NULL. */
const double *refcsv_col(const refcsv *r, const char *name);
void refcsv_free(refcsv *r);

/* Relative difference |a-b| / max(|a|,|b|) (0 when both are 0). */
double rel_diff(double a, double b);

#endif
