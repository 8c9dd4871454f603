/* buf.c -- growable NUL-terminated buffer (see buf.h). */
#include "core/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char empty_str[1] = "";

void lb_buf_init(lb_buf *b) {
  b->data = empty_str;
  b->len = 0;
  b->cap = 0;
}

void lb_buf_free(lb_buf *b) {
  if (b->cap) free(b->data);
  lb_buf_init(b);
}

void lb_buf_reset(lb_buf *b) {
  b->len = 0;
  if (b->cap) b->data[0] = '\0';
}

lb_err lb_buf_reserve(lb_buf *b, size_t extra) {
  if (extra > SIZE_MAX / 2 - b->len) return LB_ENOMEM;
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return LB_OK;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  char *p = realloc(b->cap ? b->data : NULL, cap);
  if (!p) return LB_ENOMEM;
  if (!b->cap) p[0] = '\0';
  b->data = p;
  b->cap = cap;
  return LB_OK;
}

lb_err lb_buf_append(lb_buf *b, const void *data, size_t n) {
  if (lb_buf_reserve(b, n)) return LB_ENOMEM;
  if (n) memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
  return LB_OK;
}

lb_err lb_buf_puts(lb_buf *b, const char *s) { return lb_buf_append(b, s, strlen(s)); }

lb_err lb_buf_printf(lb_buf *b, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || lb_buf_reserve(b, (size_t)n)) {
    va_end(ap2);
    return LB_ENOMEM;
  }
  vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
  va_end(ap2);
  b->len += (size_t)n;
  return LB_OK;
}

char *lb_buf_steal(lb_buf *b) {
  char *s = b->cap ? b->data : strdup("");
  lb_buf_init(b);
  return s;
}

lb_err lb_buf_read_file(lb_buf *b, const char *path, size_t max_bytes, lb_errbuf *eb) {
  FILE *f = fopen(path, "rb");
  if (!f) return lb_fail(eb, LB_EIO, "%s: %s", path, strerror(errno));
  char chunk[65536];
  size_t n, total = 0;
  lb_err rc = LB_OK;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    total += n;
    if (max_bytes && total > max_bytes) {
      rc = lb_fail(eb, LB_ERANGE, "%s: larger than %zu bytes", path, max_bytes);
      break;
    }
    if (lb_buf_append(b, chunk, n)) {
      rc = lb_fail(eb, LB_ENOMEM, "%s: out of memory", path);
      break;
    }
  }
  if (rc == LB_OK && ferror(f)) rc = lb_fail(eb, LB_EIO, "%s: read error", path);
  fclose(f);
  return rc;
}
