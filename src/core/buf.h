/* buf.h -- a growable byte buffer, always NUL-terminated.
 *
 * Owns its memory: lb_buf_init() on a caller-allocated struct, lb_buf_free()
 * when done.  Used wherever text is assembled (HTTP bodies, CSV, JSON,
 * prompts) so no module hand-rolls realloc arithmetic.  On allocation
 * failure the append functions return LB_ENOMEM and leave the buffer as it
 * was.
 *
 * Must not: know what the bytes mean (escaping and encoding are the
 * caller's).
 *
 * Invariants: data is never NULL and data[len] == '\0' (also after a failed
 * append); cap == 0 means data points at a shared empty string that must
 * not be written.
 */
#ifndef LB_CORE_BUF_H
#define LB_CORE_BUF_H

#include <stddef.h>

#include "core/err.h"

typedef struct {
  char *data; /* NUL-terminated; "" after init */
  size_t len;
  size_t cap;
} lb_buf;

void lb_buf_init(lb_buf *b);
void lb_buf_free(lb_buf *b);
void lb_buf_reset(lb_buf *b); /* len = 0, keeps the allocation */
lb_err lb_buf_reserve(lb_buf *b, size_t extra);
lb_err lb_buf_append(lb_buf *b, const void *data, size_t n);
lb_err lb_buf_puts(lb_buf *b, const char *s);
lb_err lb_buf_printf(lb_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the string to the caller (free() it); the buffer is empty after. */
char *lb_buf_steal(lb_buf *b);

/* Reads a whole file into b (appending).  LB_EIO with the path and the
 * system's reason in eb.  max_bytes > 0 refuses larger files (LB_ERANGE). */
lb_err lb_buf_read_file(lb_buf *b, const char *path, size_t max_bytes, lb_errbuf *eb);

#endif
