/* server.c -- the libmicrohttpd daemon behind /health, /status, /metrics and
 * the control endpoints: listening socket, routing, bearer-token check, status codes.
 *
 * We open the listening socket ourselves (and hand it to MHD) so that a bind
 * failure comes back with the system's reason ("address already in use")
 * and so that port 0 can be resolved to the port the kernel chose.  The
 * server's fields are written once, before MHD starts, and only read after:
 * no lock is needed, and none is held while a provider callback runs
 * (http.h, "Threads and locks").
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "http/http_int.h"

struct http_server {
  struct MHD_Daemon *daemon;
  http_provider p;
  char *token; /* NULL = control disabled */
  size_t token_len;
  int port;
};

/* Per-request state: MHD calls the handler once for the headers, then for
 * each piece of the body, then once more to ask for the response. */
typedef struct {
  size_t body_bytes;
} http_request;

#define JSON_TYPE "application/json; charset=utf-8"
#define PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define ENDPOINTS "GET /health, /status, /metrics, /metrics/prometheus; POST /control/pause, /control/resume, /control/close"

void http_options_from_config(const lb_config *c, http_options *o) {
  memset(o, 0, sizeof *o);
  o->host = c->health_host;
  o->port = (int)c->health_port;
  o->control_token = c->control_token;
}

/* ==== Responses ==== */

/* Queues body (taken over, freed by MHD) with status and content type;
 * extra_name/extra_value add one header (Allow, WWW-Authenticate). */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, lb_buf *body,
                             const char *extra_name, const char *extra_value) {
  size_t len = body->len;
  char *data = lb_buf_steal(body);
  if (!data) return MHD_NO;
  struct MHD_Response *r = MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE);
  if (!r) {
    free(data);
    return MHD_NO;
  }
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  if (extra_name) MHD_add_response_header(r, extra_name, extra_value);
  enum MHD_Result rc = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return rc;
}

static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *msg,
                                   const char *hint, const char *extra_name, const char *extra_value) {
  lb_buf b;
  lb_buf_init(&b);
  if (http_render_error_json(msg, hint, &b) != LB_OK) {
    lb_buf_free(&b);
    return MHD_NO;
  }
  return reply(c, status, JSON_TYPE, &b, extra_name, extra_value);
}

/* Sends a rendered document, or 500 if rendering ran out of memory. */
static enum MHD_Result reply_doc(struct MHD_Connection *c, unsigned status, const char *type, lb_buf *b,
                                 lb_err rendered) {
  if (rendered != LB_OK) {
    lb_buf_free(b);
    return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory while rendering", NULL, NULL, NULL);
  }
  return reply(c, status, type, b, NULL, NULL);
}

/* "<what> unavailable: <reason>" for a callback that is missing or failed. */
static void unavailable(char *msg, size_t n, const char *what, bool missing, lb_err e, const lb_errbuf *eb) {
  if (missing) snprintf(msg, n, "%s not provided by this process", what);
  else snprintf(msg, n, "%s unavailable: %s", what, eb->msg[0] ? eb->msg : lb_strerror(e));
}

/* ==== Endpoints ==== */

static enum MHD_Result get_health(http_server *s, struct MHD_Connection *c) {
  http_health h;
  lb_errbuf eb = {{0}};
  memset(&h, 0, sizeof h);
  lb_err e = s->p.health ? s->p.health(s->p.ctx, &h, &eb) : LB_EUNSUPPORTED;
  lb_buf b;
  lb_buf_init(&b);
  if (e != LB_OK) {
    char msg[HTTP_TEXT_MAX + 64];
    unavailable(msg, sizeof msg, "health", !s->p.health, e, &eb);
    return reply_doc(c, MHD_HTTP_SERVICE_UNAVAILABLE, JSON_TYPE, &b, http_render_health_error_json(msg, &b));
  }
  unsigned status = http_health_verdict(&h) == HTTP_UNHEALTHY ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK;
  return reply_doc(c, status, JSON_TYPE, &b, http_render_health_json(&h, &b));
}

static enum MHD_Result get_status(http_server *s, struct MHD_Connection *c) {
  http_status st;
  lb_errbuf eb = {{0}};
  memset(&st, 0, sizeof st);
  lb_err e = s->p.status ? s->p.status(s->p.ctx, &st, &eb) : LB_EUNSUPPORTED;
  if (e != LB_OK) {
    char msg[HTTP_TEXT_MAX + 64];
    unavailable(msg, sizeof msg, "status", !s->p.status, e, &eb);
    return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg, NULL, NULL, NULL);
  }
  lb_buf b;
  lb_buf_init(&b);
  return reply_doc(c, MHD_HTTP_OK, JSON_TYPE, &b, http_render_status_json(&st, &b));
}

/* Prometheus text when the client prefers it: a scraper names text/plain or
 * OpenMetrics; a browser or curl (*\/\*) gets JSON. */
static bool wants_prometheus(struct MHD_Connection *c) {
  const char *accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
  if (!accept) return false;
  if (strstr(accept, "application/json")) return false;
  return strstr(accept, "text/plain") || strstr(accept, "application/openmetrics-text");
}

static enum MHD_Result get_metrics(http_server *s, struct MHD_Connection *c, bool prometheus) {
  /* Three snapshots: heap, not stack, to keep worker stacks small. */
  struct {
    http_metrics m;
    http_health h;
    http_status st;
  } *snap = calloc(1, sizeof *snap);
  if (!snap) return MHD_NO;
  lb_errbuf eb = {{0}};
  lb_err e = s->p.metrics ? s->p.metrics(s->p.ctx, &snap->m, &eb) : LB_EUNSUPPORTED;
  enum MHD_Result rc;
  lb_buf b;
  lb_buf_init(&b);
  if (e != LB_OK) {
    char msg[HTTP_TEXT_MAX + 64];
    unavailable(msg, sizeof msg, "metrics", !s->p.metrics, e, &eb);
    rc = reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, msg, NULL, NULL, NULL);
  } else if (!prometheus) {
    rc = reply_doc(c, MHD_HTTP_OK, JSON_TYPE, &b, http_render_metrics_json(&snap->m, &b));
  } else {
    /* One scrape carries health and status gauges too, each only when its
     * callback answered (a part that failed is simply absent). */
    lb_errbuf ignored;
    bool have_h = s->p.health && s->p.health(s->p.ctx, &snap->h, &ignored) == LB_OK;
    bool have_s = s->p.status && s->p.status(s->p.ctx, &snap->st, &ignored) == LB_OK;
    rc = reply_doc(c, MHD_HTTP_OK, PROM_TYPE, &b,
                   http_render_prometheus(have_h ? &snap->h : NULL, have_s ? &snap->st : NULL, &snap->m, &b));
  }
  free(snap);
  return rc;
}

/* Returns true when the request carries the configured token; otherwise
 * queues the 401/403 answer in *rc. */
static bool authorized(http_server *s, struct MHD_Connection *c, enum MHD_Result *rc) {
  static const char challenge[] = "Bearer realm=\"levbot control\"";
  if (!s->token) {
    *rc = reply_error(c, MHD_HTTP_FORBIDDEN, "control endpoints are disabled: no CONTROL_TOKEN is configured",
                      "set CONTROL_TOKEN (16 or more characters) in the environment or .env, restart the bot, "
                      "then send the header Authorization: Bearer <token>",
                      NULL, NULL);
    return false;
  }
  const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
  if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
    *rc = reply_error(c, MHD_HTTP_UNAUTHORIZED, "missing bearer token",
                      "send the header Authorization: Bearer <CONTROL_TOKEN>", "WWW-Authenticate", challenge);
    return false;
  }
  const char *tok = auth + 7;
  while (*tok == ' ') tok++;
  size_t len = strlen(tok);
  while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t')) len--;
  if (!http_token_equal(tok, len, s->token, s->token_len)) {
    *rc = reply_error(c, MHD_HTTP_UNAUTHORIZED, "wrong bearer token", NULL, "WWW-Authenticate", challenge);
    return false;
  }
  return true;
}

static enum MHD_Result post_control(http_server *s, struct MHD_Connection *c, http_action a) {
  enum MHD_Result rc;
  if (!authorized(s, c, &rc)) return rc;
  if (!s->p.control)
    return reply_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "control not provided by this process", NULL, NULL, NULL);
  char result[HTTP_TEXT_MAX] = "";
  lb_err e = s->p.control(s->p.ctx, a, result, sizeof result);
  result[sizeof result - 1] = '\0';
  if (e != LB_OK && !result[0]) snprintf(result, sizeof result, "%s", lb_strerror(e));
  unsigned status = e == LB_OK ? MHD_HTTP_OK
                    : (e == LB_ESTATE || e == LB_EBUSY || e == LB_EREJECTED) ? MHD_HTTP_CONFLICT
                                                                               : MHD_HTTP_INTERNAL_SERVER_ERROR;
  lb_buf b;
  lb_buf_init(&b);
  return reply_doc(c, status, JSON_TYPE, &b, http_render_control_json(a, e == LB_OK, result, &b));
}

/* ==== Routing ==== */

static enum MHD_Result route(http_server *s, struct MHD_Connection *c, const char *url, const char *method) {
  bool is_get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  bool is_post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
  static const struct {
    const char *path;
    int kind; /* 0 health, 1 status, 2 metrics, 3 prometheus, 4.. control */
  } routes[] = {{"/health", 0},         {"/status", 1},          {"/metrics", 2},
                {"/metrics/prometheus", 3}, {"/control/pause", 4}, {"/control/resume", 5},
                {"/control/close", 6}};
  for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
    if (strcmp(url, routes[i].path) != 0) continue;
    int k = routes[i].kind;
    if (k >= 4) {
      if (!is_post)
        return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: control endpoints take POST",
                           NULL, MHD_HTTP_HEADER_ALLOW, "POST");
      return post_control(s, c, (http_action)(k - 4));
    }
    if (!is_get)
      return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: this endpoint takes GET", NULL,
                         MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    switch (k) {
    case 0: return get_health(s, c);
    case 1: return get_status(s, c);
    case 2: return get_metrics(s, c, wants_prometheus(c));
    default: return get_metrics(s, c, true);
    }
  }
  char msg[HTTP_TEXT_MAX];
  snprintf(msg, sizeof msg, "no such endpoint: %.200s", url);
  return reply_error(c, MHD_HTTP_NOT_FOUND, msg, ENDPOINTS, NULL, NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size,
                                  void **con_cls) {
  (void)version;
  (void)upload_data;
  http_request *rq = *con_cls;
  if (!rq) {
    rq = calloc(1, sizeof *rq);
    if (!rq) return MHD_NO;
    *con_cls = rq;
    return MHD_YES;
  }
  if (*upload_size) { /* no endpoint reads a body: drain and ignore it */
    rq->body_bytes += *upload_size;
    *upload_size = 0;
    return MHD_YES;
  }
  return route(cls, c, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
  (void)cls;
  (void)c;
  (void)toe;
  free(*con_cls);
  *con_cls = NULL;
}

/* ==== Lifecycle ==== */

static lb_err listen_on(const char *host, int port, int *fd_out, int *bound, lb_errbuf *eb) {
  if (!host || !*host) host = HTTP_DEFAULT_HOST;
  if (port < 0 || port > 65535)
    return lb_fail(eb, LB_EINVAL, "HEALTH_PORT=%d is out of range (allowed: 0..65535)", port);
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  const char *addr = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
  if (inet_pton(AF_INET, addr, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    sl = sizeof *v4;
  } else if (inet_pton(AF_INET6, addr, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    sl = sizeof *v6;
  } else {
    return lb_fail(eb, LB_EINVAL,
                   "HEALTH_HOST=%s is not an IP address (allowed: an IPv4 or IPv6 literal, or localhost)", host);
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return lb_fail(eb, LB_EIO, "health server: socket: %s", strerror(errno));
  int one = 1;
  /* A restarted bot must not wait for the old connections' TIME_WAIT. */
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 64) != 0) {
    int err = errno;
    close(fd);
    return lb_fail(eb, LB_EIO, "health server: cannot listen on %s port %d: %s", host, port, strerror(err));
  }
  /* MHD's worker threads all accept on it. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  struct sockaddr_storage got;
  socklen_t gl = sizeof got;
  getsockname(fd, (struct sockaddr *)&got, &gl);
  *bound = ntohs(got.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&got)->sin6_port
                                           : ((struct sockaddr_in *)&got)->sin_port);
  *fd_out = fd;
  return LB_OK;
}

lb_err http_server_new(const http_options *o, const http_provider *p, http_server **out, lb_errbuf *eb) {
  *out = NULL;
  http_server *s = calloc(1, sizeof *s);
  if (!s) return lb_fail(eb, LB_ENOMEM, "health server: out of memory");
  if (p) s->p = *p;
  if (o->control_token && *o->control_token) {
    s->token_len = strlen(o->control_token);
    s->token = strdup(o->control_token);
    if (!s->token) {
      free(s);
      return lb_fail(eb, LB_ENOMEM, "health server: out of memory");
    }
    lb_log_add_secret(s->token); /* H4, even when the token did not come from lb_config_load() */
  }
  int fd = -1;
  lb_err rc = listen_on(o->host, o->port, &fd, &s->port, eb);
  if (rc != LB_OK) {
    http_server_free(s);
    return rc;
  }
  unsigned threads = o->threads > 0 ? (unsigned)o->threads : HTTP_THREADS_DEFAULT;
  unsigned timeout = o->conn_timeout_s > 0 ? (unsigned)o->conn_timeout_s : 10;
  /* No MHD_USE_ERROR_LOG: a library does not write to stderr (leaf rule). */
  s->daemon = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, s,
                               MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                               MHD_OPTION_THREAD_POOL_SIZE, threads,
                               MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                               MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                               MHD_OPTION_END);
  if (!s->daemon) {
    close(fd);
    http_server_free(s);
    return lb_fail(eb, LB_EIO, "health server: libmicrohttpd could not start on port %d", o->port);
  }
  *out = s;
  return LB_OK;
}

int http_server_port(const http_server *s) { return s ? s->port : 0; }

void http_server_free(http_server *s) {
  if (!s) return;
  if (s->daemon) MHD_stop_daemon(s->daemon); /* joins the workers, closes the socket */
  if (s->token) {
    explicit_bzero(s->token, s->token_len);
    free(s->token);
  }
  free(s);
}
