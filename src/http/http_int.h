/* http_int.h -- internals shared by the files of src/http (not a contract). */
#ifndef LB_HTTP_HTTP_INT_H
#define LB_HTTP_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "http/http.h"

/* JSON documents (render.c).  Each appends to out; text fields are
 * redacted here (invariant H4).  LB_ENOMEM on allocation failure. */
lb_err http_render_health_json(const http_health *h, lb_buf *out);
lb_err http_render_status_json(const http_status *s, lb_buf *out);
lb_err http_render_metrics_json(const http_metrics *m, lb_buf *out);
/* {"error": msg, ...}: msg is redacted; hint may be NULL. */
lb_err http_render_error_json(const char *msg, const char *hint, lb_buf *out);
/* {"status": "unhealthy", "healthy": false, "error": msg}: /health when
 * the provider cannot answer. */
lb_err http_render_health_error_json(const char *msg, lb_buf *out);
/* {"action": ..., "ok": ..., "result": ...} */
lb_err http_render_control_json(http_action a, bool ok, const char *result, lb_buf *out);

/* Prometheus text exposition format 0.0.4.  Any of h, s, m may be NULL
 * (that part is left out). */
lb_err http_render_prometheus(const http_health *h, const http_status *s, const http_metrics *m,
                              lb_buf *out);

/* true when name is [a-z_][a-z0-9_]* and not too long for a metric. */
bool http_counter_name_ok(const char *name);

/* Constant-time comparison of a presented token with the configured one:
 * the time depends only on the configured token's length. */
bool http_token_equal(const char *given, size_t given_len, const char *want, size_t want_len);

#endif
