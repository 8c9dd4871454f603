/* refcsv.c -- reader for the TA-Lib reference CSV files (see refcsv.h). */
#include "refcsv.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double rel_diff(double a, double b) {
  double m = fmax(fabs(a), fabs(b));
  return m == 0.0 ? 0.0 : fabs(a - b) / m;
}

void refcsv_free(refcsv *r) {
  for (int i = 0; i < r->ncols; i++) {
    free(r->names[i]);
    free(r->col[i]);
  }
  memset(r, 0, sizeof *r);
}

const double *refcsv_col(const refcsv *r, const char *name) {
  for (int i = 0; i < r->ncols; i++)
    if (strcmp(r->names[i], name) == 0) return r->col[i];
  return NULL;
}

/* Splits line in place at commas; returns the field count. */
static int split(char *line, char **f, int max) {
  int n = 0;
  char *p = line;
  for (;;) {
    if (n == max) return -1;
    f[n++] = p;
    char *c = strchr(p, ',');
    if (!c) break;
    *c = '\0';
    p = c + 1;
  }
  return n;
}

int refcsv_load(const char *path, refcsv *out) {
  memset(out, 0, sizeof *out);
  FILE *fp = fopen(path, "r");
  if (!fp) {
    printf("    cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  char *line = NULL;
  size_t cap = 0, lineno = 0, rcap = 0;
  ssize_t len;
  char *f[REF_MAX_COLS];
  int rc = -1;
  while ((len = getline(&line, &cap, fp)) > 0) {
    lineno++;
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
    int nf = split(line, f, REF_MAX_COLS);
    if (lineno == 1) {
      if (nf < 6) goto bad;
      out->ncols = nf;
      for (int i = 0; i < nf; i++) out->names[i] = strdup(f[i]);
      continue;
    }
    if (nf != out->ncols) goto bad;
    if (out->rows == rcap) {
      rcap = rcap ? rcap * 2 : 1024;
      for (int i = 0; i < nf; i++) {
        double *c = realloc(out->col[i], rcap * sizeof(double));
        if (!c) goto bad;
        out->col[i] = c;
      }
    }
    for (int i = 0; i < nf; i++) {
      if (!*f[i]) {
        out->col[i][out->rows] = NAN;
        continue;
      }
      char *end;
      errno = 0;
      double v = strtod(f[i], &end);
      if (*end || errno) goto bad;
      out->col[i][out->rows] = v;
    }
    out->rows++;
  }
  rc = out->rows > 0 ? 0 : -1;
  if (rc) printf("    %s: no rows\n", path);
  goto done;
bad:
  printf("    %s:%zu: malformed line\n", path, lineno);
  refcsv_free(out);
done:
  free(line);
  fclose(fp);
  return rc;
}
