/* log.c -- formatting, redaction, sinks and the recent-lines ring (see log.h). */
#include "core/log.h"

#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>
#include <strings.h>

#include "core/time.h"

#define MAX_SECRETS 64
#define LINE_MAX_LEN 4096

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static lb_log_level log_level = LB_LOG_INFO;
static lb_log_format log_format = LB_LOG_HUMAN;
static FILE *log_out = NULL;
static char *secrets[MAX_SECRETS];
static int n_secrets = 0;
static char *ring[LB_LOG_RING];
static int ring_next = 0;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void lb_log_setup(lb_log_level level, lb_log_format format, FILE *out) {
  pthread_mutex_lock(&log_mu);
  log_level = level;
  log_format = format;
  log_out = out;
  pthread_mutex_unlock(&log_mu);
}

lb_log_level lb_log_get_level(void) { return log_level; }

int lb_log_level_parse(const char *s) {
  for (int i = 0; i < 4; i++)
    if (strcasecmp(s, level_names[i]) == 0) return i;
  return -1;
}

void lb_log_add_secret(const char *secret) {
  if (!secret || strlen(secret) < 4) return;
  pthread_mutex_lock(&log_mu);
  bool known = false;
  for (int i = 0; i < n_secrets; i++)
    if (strcmp(secrets[i], secret) == 0) known = true;
  if (!known && n_secrets < MAX_SECRETS) {
    char *copy = strdup(secret);
    if (copy) secrets[n_secrets++] = copy;
  }
  pthread_mutex_unlock(&log_mu);
}

void lb_log_clear_secrets(void) {
  pthread_mutex_lock(&log_mu);
  for (int i = 0; i < n_secrets; i++) free(secrets[i]);
  n_secrets = 0;
  pthread_mutex_unlock(&log_mu);
}

/* Credential-looking values masked even when nobody registered them: a
 * header or parameter name followed by the value up to a delimiter. */
static const char *const credential_keys[] = {
    "signature=", "X-MBX-APIKEY: ", "x-api-key: ", "Authorization: Bearer ",
    "Authorization: Basic ", "authorization: bearer ", "api_key=", "apiKey=", "password=",
    "token=",
};

static bool is_value_delim(char c) {
  return c == '\0' || c == '&' || c == ' ' || c == '"' || c == '\'' || c == '\n' || c == '\r' ||
         c == ',' || c == ';' || c == '}';
}

/* Caller holds log_mu (secrets array). */
static size_t redact_locked(const char *in, char *out, size_t n) {
  size_t k = 0;
  if (n == 0) return 0;
  const char *p = in, *end = in + strlen(in);
  while (*p && k + 1 < n) {
    bool hit = false;
    for (int i = 0; i < n_secrets && !hit; i++) {
      size_t sl = strlen(secrets[i]), left = (size_t)(end - p);
      /* The whole secret, or its first part ending the text: a text cut to
       * fit a buffer before it got here can end inside a secret.  Logs
       * never reveal any part of a secret, not even its tail. */
      bool whole = left >= sl && memcmp(p, secrets[i], sl) == 0;
      bool cut = !whole && left < sl && left >= 4 && memcmp(p, secrets[i], left) == 0;
      if (whole || cut) {
        for (const char *m = "****"; *m && k + 1 < n; m++) out[k++] = *m;
        p += whole ? sl : left;
        hit = true;
      }
    }
    for (size_t i = 0; i < sizeof credential_keys / sizeof credential_keys[0] && !hit; i++) {
      size_t kl = strlen(credential_keys[i]);
      if (strncasecmp(p, credential_keys[i], kl) == 0 && !is_value_delim(p[kl])) {
        for (size_t j = 0; j < kl && k + 1 < n; j++) out[k++] = p[j];
        for (const char *m = "****"; *m && k + 1 < n; m++) out[k++] = *m;
        p += kl;
        while (!is_value_delim(*p)) p++;
        hit = true;
      }
    }
    if (!hit) out[k++] = *p++;
  }
  out[k] = '\0';
  return k;
}

size_t lb_redact(const char *in, char *out, size_t n) {
  pthread_mutex_lock(&log_mu);
  size_t k = redact_locked(in, out, n);
  pthread_mutex_unlock(&log_mu);
  return k;
}

static void ring_push(const char *line) {
  char *copy = strdup(line);
  if (!copy) return;
  free(ring[ring_next]);
  ring[ring_next] = copy;
  ring_next = (ring_next + 1) % LB_LOG_RING;
}

void lb_log(lb_log_level level, const char *module, const char *fmt, ...) {
  if (level < log_level || level >= LB_LOG_OFF) return;
  char raw[LINE_MAX_LEN], msg[LINE_MAX_LEN], ts[LB_TIME_ISO_LEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(raw, sizeof raw, fmt, ap);
  va_end(ap);
  lb_time_fmt_iso(lb_time_now_ms(), ts, sizeof ts);

  pthread_mutex_lock(&log_mu);
  redact_locked(raw, msg, sizeof msg);
  FILE *out = log_out ? log_out : stderr;
  char line[LINE_MAX_LEN + 128];
  if (log_format == LB_LOG_JSON) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", level_names[level], "module",
                          module ? module : "", "msg", msg);
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    snprintf(line, sizeof line, "%s", s ? s : "{\"msg\":\"(unencodable log line)\"}");
    free(s);
    json_decref(o);
  } else {
    snprintf(line, sizeof line, "%s %-5s [%s] %s", ts, level_names[level], module ? module : "-",
             msg);
    for (char *c = line; *c; c++) /* one event, one line */
      if (*c == '\n' || *c == '\r') *c = ' ';
  }
  fprintf(out, "%s\n", line);
  fflush(out);
  ring_push(line);
  pthread_mutex_unlock(&log_mu);
}

void lb_log_shutdown(void) {
  lb_log_clear_secrets();
  pthread_mutex_lock(&log_mu);
  for (int i = 0; i < LB_LOG_RING; i++) {
    free(ring[i]);
    ring[i] = NULL;
  }
  pthread_mutex_unlock(&log_mu);
}

void lb_log_recent(int n, void (*fn)(void *ctx, const char *line), void *ctx) {
  if (n > LB_LOG_RING) n = LB_LOG_RING;
  pthread_mutex_lock(&log_mu);
  for (int i = n; i > 0; i--) {
    const char *s = ring[(ring_next - i + LB_LOG_RING) % LB_LOG_RING];
    if (s) fn(ctx, s);
  }
  pthread_mutex_unlock(&log_mu);
}
