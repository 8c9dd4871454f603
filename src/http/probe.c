/* probe.c -- the client side of /health (`levbot healthcheck`, Docker's
 * HEALTHCHECK, systemd watchdogs): one GET with libcurl, the answer turned
 * into a verdict and one line for a person.
 *
 * It never goes through a proxy (a bot's health port is local by design)
 * and never follows redirects: the answer of the URL asked is the verdict.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "http/http.h"

#define PROBE_MAX_BODY (64 * 1024)

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata) {
  lb_buf *b = userdata;
  size_t n = size * nmemb;
  if (b->len + n > PROBE_MAX_BODY) return 0; /* not a /health document: stop reading */
  return lb_buf_append(b, data, n) == LB_OK ? n : 0;
}

static const char *jstr(json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* Appends "name state (error)" for one component, bounded by n. */
static void part(char *line, size_t n, const char *name, json_t *comp) {
  if (!json_is_object(comp)) return;
  size_t at = strlen(line);
  if (at + 1 >= n) return;
  bool ok = json_is_true(json_object_get(comp, "ok"));
  const char *err = jstr(comp, "error");
  json_t *lat = json_object_get(comp, "latency_ms");
  char extra[48] = "";
  if (json_is_number(lat)) snprintf(extra, sizeof extra, " %.1f ms", json_number_value(lat));
  snprintf(line + at, n - at, "%s%s %s%s%s%s%s", at ? ", " : "", name, ok ? "ok" : "DOWN", extra,
           *err ? " (" : "", err, *err ? ")" : "");
}

static void summarize(json_t *doc, http_probe_result *out) {
  char *line = out->summary;
  size_t n = sizeof out->summary;
  line[0] = '\0';
  part(line, n, "database", json_object_get(doc, "database"));
  json_t *ex = json_object_get(doc, "exchange");
  char exname[64];
  snprintf(exname, sizeof exname, "exchange%s%s", *jstr(ex, "name") ? " " : "", jstr(ex, "name"));
  part(line, n, exname, ex);
  part(line, n, "engine", json_object_get(doc, "engine"));
  json_t *ais = json_object_get(doc, "ai_providers");
  size_t i;
  json_t *a;
  json_array_foreach(ais, i, a) {
    const char *st = jstr(a, "status");
    if (strcmp(st, "disabled") == 0) continue;
    size_t at = strlen(line);
    const char *err = jstr(a, "last_error");
    bool show_err = strcmp(st, "ok") != 0 && *err;
    if (at + 1 < n)
      snprintf(line + at, n - at, "%sai %s %s%s%s%s", at ? ", " : "", jstr(a, "name"), st, show_err ? " (" : "",
               show_err ? err : "", show_err ? ")" : "");
  }
  json_t *up = json_object_get(doc, "uptime_seconds");
  size_t at = strlen(line);
  if (json_is_integer(up) && at + 1 < n)
    snprintf(line + at, n - at, "%suptime %lld s", at ? ", " : "", (long long)json_integer_value(up));
  const char *err = jstr(doc, "error");
  at = strlen(line);
  if (*err && at + 1 < n) snprintf(line + at, n - at, "%s%s", at ? ", " : "", err);
}

static void interpret(long code, const lb_buf *body, http_probe_result *out) {
  out->http_code = (int)code;
  out->verdict = HTTP_UNHEALTHY;
  json_error_t jerr;
  json_t *doc = json_loadb(body->data, body->len, 0, &jerr);
  const char *st = json_is_object(doc) ? jstr(doc, "status") : "";
  if (strcmp(st, "healthy") == 0 || strcmp(st, "degraded") == 0 || strcmp(st, "unhealthy") == 0) {
    out->is_levbot = true;
    /* The status code is authoritative: a 200 saying "unhealthy", or a 503
     * saying "healthy", is not a levbot answer to trust. */
    if (code == 200 && strcmp(st, "healthy") == 0) out->verdict = HTTP_HEALTHY;
    else if (code == 200 && strcmp(st, "degraded") == 0) out->verdict = HTTP_DEGRADED;
    summarize(doc, out);
  } else {
    snprintf(out->summary, sizeof out->summary, "HTTP %ld, not a levbot /health answer", code);
  }
  json_decref(doc);
  char red[sizeof out->summary];
  lb_redact(out->summary, red, sizeof red);
  memcpy(out->summary, red, sizeof red);
}

lb_err http_probe(const char *url, int timeout_ms, http_probe_result *out, lb_errbuf *eb) {
  memset(out, 0, sizeof *out);
  out->verdict = HTTP_UNHEALTHY;
  if (!url || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0))
    return lb_fail(eb, LB_EINVAL, "--url %s is not an http:// or https:// URL", url ? url : "(none)");
  CURL *h = curl_easy_init();
  if (!h) return lb_fail(eb, LB_ENOMEM, "libcurl could not start");
  lb_buf body;
  lb_buf_init(&body);
  char cerr[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(timeout_ms > 0 ? timeout_ms : 3000));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_USERAGENT, "levbot-healthcheck");
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
  CURLcode cc = curl_easy_perform(h);
  long code = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
  lb_err rc = LB_OK;
  if (cc == CURLE_OPERATION_TIMEDOUT)
    rc = lb_fail(eb, LB_ETIMEOUT, "%s did not answer within %d ms", url, timeout_ms);
  else if (cc != CURLE_OK && code == 0)
    rc = lb_fail(eb, LB_ENET, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(cc));
  else
    interpret(code, &body, out);
  lb_buf_free(&body);
  curl_easy_cleanup(h);
  return rc;
}

void http_health_url(const lb_config *c, char *buf, size_t n) {
  const char *host = c->health_host[0] ? c->health_host : HTTP_DEFAULT_HOST;
  if (strcmp(host, "0.0.0.0") == 0) host = "127.0.0.1";
  else if (strcmp(host, "::") == 0) host = "::1";
  bool v6 = strchr(host, ':') != NULL;
  snprintf(buf, n, "http://%s%s%s:%ld/health", v6 ? "[" : "", host, v6 ? "]" : "", c->health_port);
}
