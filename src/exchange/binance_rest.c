/* binance_rest.c -- Binance REST transport: signing, clock offset, rate limits, error kinds.
 *
 * Every request of the adapter goes through bn_call(), so the rules of the
 * venue live in one place: a signed request carries timestamp and
 * recvWindow and ends with `signature` (HMAC-SHA256 over exactly the bytes
 * sent); the clock offset comes from GET /fapi/v1/time and is refreshed
 * every BINANCE_TIME_SYNC_SECONDS and on -1021; the used weight is read
 * from every answer; 429/418 block every thread until Retry-After has
 * passed; answers are mapped to xchg kinds by xchg_binance_classify().
 */
#include <ctype.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "exchange/binance_internal.h"

/* ==== Signing ==== */

void xchg_binance_sign(const char *secret, const char *payload, size_t len,
                       char out[XCHG_BINANCE_SIG_LEN]) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  static const char hex[] = "0123456789abcdef";
  HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)payload, len, md, &md_len);
  for (unsigned i = 0; i < md_len && i < 32; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[64] = '\0';
}

/* ==== Error kinds (wire-formats.md section A, error table) ==== */

xchg_kind xchg_binance_classify(int http_status, int code) {
  switch (code) {
  case -1021: /* timestamp outside recvWindow: resync, then try again */
  case -1003: /* too many requests */
  case -1008: /* throttled; the request was not processed */
  case -1125: /* listenKey gone: create a new one */
    return XCHG_RETRYABLE;
  case -1000: /* unknown error while processing */
  case -1001: /* internal error; unable to process (may have been processed) */
  case -1006: /* unexpected response from the message bus: execution status unknown */
  case -1007: /* backend timeout: execution status unknown */
    return XCHG_UNKNOWN;
  case -1002: /* unauthorized */
  case -1022: /* signature invalid: wrong secret */
  case -2014: /* API-key format invalid */
  case -2015: /* invalid key, IP or permissions */
  case -1121: /* invalid symbol: configuration error */
  case -4120: /* stop types on /fapi/v1/order: the adapter is out of date */
    return XCHG_FATAL;
  default:
    break;
  }
  if (http_status == 429 || http_status == 418 || http_status == 403) return XCHG_RETRYABLE;
  if (http_status == 408) return XCHG_UNKNOWN;
  if (http_status >= 500 || http_status == 0) return XCHG_UNKNOWN;
  if (http_status == 401) return XCHG_FATAL;
  if (http_status >= 400 || code < 0) return XCHG_REJECTED;
  return XCHG_OK;
}

/* ==== Shared state ==== */

lb_err bn_shared_init(bn_shared *s, long weight_limit) {
  memset(s, 0, sizeof *s);
  if (pthread_mutex_init(&s->mu, NULL) != 0) return LB_ENOMEM;
  s->weight_limit = weight_limit;
  return LB_OK;
}

void bn_shared_close(bn_shared *s) { pthread_mutex_destroy(&s->mu); }

void bn_stat_add(bn *b, size_t off, long n) {
  pthread_mutex_lock(&b->sh.mu);
  *(long *)((char *)&b->sh.stats + off) += n;
  pthread_mutex_unlock(&b->sh.mu);
}

lb_ms bn_server_now(bn *b) {
  pthread_mutex_lock(&b->sh.mu);
  lb_ms off = b->sh.offset;
  pthread_mutex_unlock(&b->sh.mu);
  return lb_clock_now(b->clock) + off;
}

/* ==== Parameters ==== */

/* What a query that lost a parameter points at (see bn_param). */
static char spoiled_query[1];

lb_err bn_param(lb_buf *q, const char *name, const char *value) {
  static const char hex[] = "0123456789ABCDEF";
  if (q->data == spoiled_query) return LB_ENOMEM;
  lb_err rc = LB_OK;
  if (q->len > 0) rc = lb_buf_puts(q, "&");
  if (!rc) rc = lb_buf_puts(q, name);
  if (!rc) rc = lb_buf_puts(q, "=");
  for (const unsigned char *p = (const unsigned char *)value; !rc && *p; p++) {
    if (isalnum(*p) || *p == '-' || *p == '_' || *p == '.' || *p == '~') {
      rc = lb_buf_append(q, p, 1);
    } else {
      char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
      rc = lb_buf_append(q, e, 3);
    }
  }
  if (rc) {
    lb_buf_free(q);
    q->data = spoiled_query; /* half a parameter, or none: it must not be sent */
  }
  return rc;
}

lb_err bn_param_dec(lb_buf *q, const char *name, lb_dec v) {
  char s[LB_DEC_STRLEN];
  lb_dec_fmt(v, s, sizeof s);
  return bn_param(q, name, s);
}

lb_err bn_param_long(lb_buf *q, const char *name, long long v) {
  char s[32];
  snprintf(s, sizeof s, "%lld", v);
  return bn_param(q, name, s);
}

/* ==== HTTP ==== */

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud) {
  bn_http *h = ud;
  size_t n = size * nmemb;
  return lb_buf_append(&h->body, data, n) == LB_OK ? n : 0;
}

static long header_value(const char *line, size_t n, const char *name) {
  size_t nl = strlen(name);
  if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return -1;
  long v = 0;
  bool any = false;
  for (size_t i = nl + 1; i < n; i++) {
    if (line[i] >= '0' && line[i] <= '9') {
      if (v < 100000000) v = v * 10 + (line[i] - '0');
      any = true;
    } else if (any) {
      break;
    }
  }
  return any ? v : -1;
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *ud) {
  bn_http *h = ud;
  size_t n = size * nmemb;
  long v;
  if ((v = header_value(line, n, "X-MBX-USED-WEIGHT-1M")) >= 0) h->used_weight = v;
  if ((v = header_value(line, n, "Retry-After")) >= 0) h->retry_after_s = v;
  return n;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un) {
  (void)dt, (void)dn, (void)ut, (void)un;
  const bn_http *h = ud;
  return h->abort && atomic_load(h->abort) ? 1 : 0;
}

lb_err bn_http_init(bn_http *h, const bn_conf *c, lb_errbuf *eb) {
  memset(h, 0, sizeof *h);
  lb_buf_init(&h->body);
  h->curl = curl_easy_init();
  if (!h->curl) return lb_fail(eb, LB_ENOMEM, "binance: curl_easy_init failed");
  curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h->curl, CURLOPT_TIMEOUT_MS, c->http_timeout_ms);
  curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS, c->http_timeout_ms);
  curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, h);
  curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, h);
  curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, h->curl_err);
  curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "levbot/binance_usdm");
  curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h->curl, CURLOPT_XFERINFODATA, h);
  curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
  return LB_OK;
}

void bn_http_close(bn_http *h) {
  if (h->curl) curl_easy_cleanup(h->curl);
  h->curl = NULL;
  lb_buf_free(&h->body);
}

static const char *method_name(bn_method m) {
  static const char *const n[] = {"GET", "POST", "PUT", "DELETE"};
  return n[m];
}

/* The outcome of one exchange of bytes. */
typedef struct {
  int status;       /* HTTP status, 0 = no answer */
  bool may_have_run; /* no answer, but the request may have reached the venue */
  int code;         /* Binance code from an error body */
  char msg[160];
  json_t *json;
} bn_answer;

/* Waits (or refuses) so that the request respects 429/418 bans and the
 * weight headroom (invariant 2).  Returns XCHG_OK to go ahead. */
static xchg_kind rate_gate(bn *b, unsigned flags, int weight, xchg_error *err) {
  for (;;) {
    lb_ms now = lb_clock_now(b->clock);
    pthread_mutex_lock(&b->sh.mu);
    lb_ms blocked = b->sh.blocked_until;
    lb_ms server = now + b->sh.offset;
    long used = b->sh.weight_minute == server / 60000 ? b->sh.used_weight : 0;
    long limit = b->sh.weight_limit;
    pthread_mutex_unlock(&b->sh.mu);
    if (now < blocked) {
      BN_STAT(b, rate_refusals, 1);
      xchg_fail(err, XCHG_RETRYABLE, -1003, "binance: rate limited, retry after %lld ms",
                (long long)(blocked - now));
      err->retry_after = blocked - now;
      return XCHG_RETRYABLE;
    }
    double cap = (flags & BN_F_ORDER) ? (double)limit : (double)limit * b->conf.weight_headroom;
    if ((double)(used + weight) <= cap) return XCHG_OK;
    lb_ms wait = 60000 - server % 60000 + 50;
    if (wait > b->conf.max_wait_ms) {
      xchg_fail(err, XCHG_RETRYABLE, 0,
                "binance: used weight %ld of %ld this minute; next minute in %lld ms", used, limit,
                (long long)wait);
      err->retry_after = wait;
      return XCHG_RETRYABLE;
    }
    BN_STAT(b, rate_waits, 1);
    LB_DEBUG("binance", "used weight %ld of %ld: waiting %lld ms for the next minute", used, limit,
             (long long)wait);
    lb_clock_sleep(b->clock, wait);
  }
}

/* Copies q with the value of signature= masked, for the debug log. */
static void mask_query(const char *q, char *out, size_t n) {
  const char *s = strstr(q, "signature=");
  if (!s) {
    snprintf(out, n, "%s", q);
    return;
  }
  snprintf(out, n, "%.*ssignature=****", (int)(s - q), q);
}

static void parse_error_body(bn_answer *a, const char *body) {
  json_error_t je;
  json_t *j = json_loads(body, JSON_DECODE_ANY, &je);
  if (j && json_is_object(j)) {
    json_t *c = json_object_get(j, "code");
    json_t *m = json_object_get(j, "msg");
    if (json_is_integer(c)) a->code = (int)json_integer_value(c);
    if (json_is_string(m)) snprintf(a->msg, sizeof a->msg, "%.150s", json_string_value(m));
  }
  if (!a->msg[0]) {
    /* A proxy or WAF page: keep a short, printable excerpt. */
    size_t i = 0;
    for (; body[i] && i < 80 && i + 1 < sizeof a->msg; i++)
      a->msg[i] = isprint((unsigned char)body[i]) ? body[i] : ' ';
    a->msg[i] = '\0';
  }
  json_decref(j);
}

/* Sends once; fills a.  Never fails locally except for memory. */
static lb_err send_once(bn *b, bn_http *h, bn_method m, const char *path, const char *params,
                        unsigned flags, bn_answer *a) {
  memset(a, 0, sizeof *a);
  lb_buf q, url;
  lb_buf_init(&q);
  lb_buf_init(&url);
  struct curl_slist *hdrs = NULL;
  lb_err rc = lb_buf_puts(&q, params);
  if (!rc && (flags & BN_F_SIGNED)) {
    lb_ms ts = bn_server_now(b);
    rc = bn_param_long(&q, "recvWindow", b->conf.recv_window_ms);
    if (!rc) rc = bn_param_long(&q, "timestamp", ts);
    char sig[XCHG_BINANCE_SIG_LEN];
    if (!rc) xchg_binance_sign(b->conf.api_secret, q.data, q.len, sig);
    if (!rc) rc = bn_param(&q, "signature", sig);
  }
  bool in_body = (m == BN_POST || m == BN_PUT);
  if (!rc) rc = lb_buf_printf(&url, "%s%s", b->conf.rest_url, path);
  if (!rc && !in_body && q.len > 0) rc = lb_buf_printf(&url, "?%s", q.data);
  if (rc) goto out;

  if (flags & (BN_F_SIGNED | BN_F_KEY)) {
    char hdr[BN_KEY_MAX + 16];
    snprintf(hdr, sizeof hdr, "X-MBX-APIKEY: %s", b->conf.api_key);
    hdrs = curl_slist_append(hdrs, hdr);
    memset(hdr, 0, sizeof hdr);
  }
  if (in_body) hdrs = curl_slist_append(hdrs, "Content-Type: application/x-www-form-urlencoded");

  CURL *c = h->curl;
  lb_buf_reset(&h->body);
  h->used_weight = -1;
  h->retry_after_s = -1;
  h->curl_err[0] = '\0';
  curl_easy_setopt(c, CURLOPT_URL, url.data);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
  if (in_body) {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, q.data);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)q.len);
  }
  if (m != BN_GET && m != BN_POST) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method_name(m));

  lb_ms t0 = lb_time_mono_ms();
  CURLcode cc = curl_easy_perform(c);
  lb_ms took = lb_time_mono_ms() - t0;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
  BN_STAT(b, requests, 1);

  if (lb_log_get_level() <= LB_LOG_DEBUG) {
    char shown[768];
    mask_query(q.data, shown, sizeof shown);
    long st = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
    LB_DEBUG("binance", "%s %s %s -> %ld (%lld ms)", method_name(m), path, shown, st,
             (long long)took);
  }

  if (cc != CURLE_OK) {
    /* Refused or unresolvable: the request never left.  Anything later
     * (timeout, reset) may have reached the venue. */
    a->may_have_run = !(cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST ||
                        cc == CURLE_COULDNT_RESOLVE_PROXY || cc == CURLE_URL_MALFORMAT ||
                        cc == CURLE_UNSUPPORTED_PROTOCOL);
    snprintf(a->msg, sizeof a->msg, "%.150s", h->curl_err[0] ? h->curl_err : curl_easy_strerror(cc));
    goto out;
  }
  long status = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  a->status = (int)status;

  pthread_mutex_lock(&b->sh.mu);
  if (h->used_weight >= 0) {
    b->sh.used_weight = h->used_weight;
    b->sh.weight_minute = (lb_clock_now(b->clock) + b->sh.offset) / 60000;
    b->sh.stats.used_weight = h->used_weight;
  }
  if (status == 429 || status == 418) {
    lb_ms ra = h->retry_after_s >= 0 ? h->retry_after_s * 1000 : 60000;
    lb_ms until = lb_clock_now(b->clock) + ra;
    if (until > b->sh.blocked_until) b->sh.blocked_until = until;
  }
  pthread_mutex_unlock(&b->sh.mu);

  if (status >= 200 && status < 300) {
    json_error_t je;
    a->json = json_loads(h->body.data, JSON_DECODE_ANY, &je);
    if (!a->json) {
      a->status = 502; /* garbage with a 2xx: treat as an unusable answer */
      snprintf(a->msg, sizeof a->msg, "unparsable JSON in a %ld answer: %.100s", status, je.text);
    } else if (json_is_object(a->json) && json_is_integer(json_object_get(a->json, "code")) &&
               json_integer_value(json_object_get(a->json, "code")) < 0) {
      a->code = (int)json_integer_value(json_object_get(a->json, "code"));
      parse_error_body(a, h->body.data);
      a->status = 400;
      json_decref(a->json);
      a->json = NULL;
    }
  } else {
    parse_error_body(a, h->body.data);
  }
out:
  curl_slist_free_all(hdrs);
  lb_buf_free(&url);
  lb_buf_free(&q);
  return rc;
}

xchg_kind bn_sync_time(bn *b, bn_http *h, xchg_error *err) {
  bn_answer a;
  lb_ms t0 = lb_clock_now(b->clock);
  if (send_once(b, h, BN_GET, "/fapi/v1/time", "", 0, &a) != LB_OK)
    return xchg_fail(err, XCHG_RETRYABLE, 0, "binance: out of memory");
  lb_ms t1 = lb_clock_now(b->clock);
  json_t *st = a.json ? json_object_get(a.json, "serverTime") : NULL;
  if (a.status != 200 || !json_is_integer(st)) {
    xchg_kind k = a.status ? xchg_binance_classify(a.status, a.code) : XCHG_RETRYABLE;
    if (k == XCHG_OK || k == XCHG_UNKNOWN) k = XCHG_RETRYABLE;
    xchg_fail(err, k, a.code, "binance: GET /fapi/v1/time failed (HTTP %d): %s", a.status,
              a.msg[0] ? a.msg : "no serverTime");
    err->http_status = a.status;
    json_decref(a.json);
    return k;
  }
  lb_ms server = (lb_ms)json_integer_value(st);
  json_decref(a.json);
  pthread_mutex_lock(&b->sh.mu);
  b->sh.offset = server - (t0 + t1) / 2;
  b->sh.synced_at = t1;
  b->sh.stats.time_syncs++;
  pthread_mutex_unlock(&b->sh.mu);
  return XCHG_OK;
}

static bool sync_due(bn *b) {
  lb_ms now = lb_clock_now(b->clock);
  pthread_mutex_lock(&b->sh.mu);
  bool due = b->sh.synced_at == 0 || now - b->sh.synced_at >= b->conf.time_sync_ms;
  pthread_mutex_unlock(&b->sh.mu);
  return due;
}

xchg_kind bn_ensure_synced(bn *b, bn_http *h, xchg_error *err) {
  return sync_due(b) ? bn_sync_time(b, h, err) : XCHG_OK;
}

xchg_kind bn_call(bn *b, bn_http *h, bn_method m, const char *path, const char *params,
                  unsigned flags, int weight, json_t **out, xchg_error *err) {
  if (out) *out = NULL;
  if (!params || params == spoiled_query)
    return xchg_fail(err, XCHG_RETRYABLE, 0,
                     "binance: out of memory writing the parameters of %s %s; nothing was sent",
                     method_name(m), path);
  if ((flags & (BN_F_SIGNED | BN_F_KEY)) && !b->conf.api_key[0])
    return xchg_fail(err, XCHG_FATAL, 0, "binance: %s %s needs BINANCE_API_KEY", method_name(m),
                     path);
  if ((flags & BN_F_SIGNED) && !b->conf.api_secret[0])
    return xchg_fail(err, XCHG_FATAL, 0, "binance: %s %s needs BINANCE_API_SECRET",
                     method_name(m), path);
  for (int attempt = 0;; attempt++) {
    xchg_kind k = rate_gate(b, flags, weight, err);
    if (k != XCHG_OK) return k;
    if ((flags & BN_F_SIGNED) && sync_due(b)) {
      k = bn_sync_time(b, h, err);
      if (k != XCHG_OK) return k;
    }
    bn_answer a;
    if (send_once(b, h, m, path, params, flags, &a) != LB_OK)
      return xchg_fail(err, XCHG_RETRYABLE, 0, "binance: out of memory building %s", path);
    if (a.json && a.status >= 200 && a.status < 300) {
      if (out)
        *out = a.json;
      else
        json_decref(a.json);
      if (err) memset(err, 0, sizeof *err);
      return XCHG_OK;
    }
    json_decref(a.json);
    if (a.code == -1021 && attempt == 0 && (flags & BN_F_SIGNED)) {
      /* Our clock drifted from the exchange's: resync and resend once. */
      BN_STAT(b, resyncs_1021, 1);
      k = bn_sync_time(b, h, err);
      if (k != XCHG_OK) return k;
      continue;
    }
    if (a.status == 0) {
      /* Only an order or a cancel can leave something half done; any other
       * request is safe to repeat. */
      k = a.may_have_run && (flags & BN_F_ORDER) ? XCHG_UNKNOWN : XCHG_RETRYABLE;
      xchg_fail(err, k, 0, "binance: %s %s: %s", method_name(m), path, a.msg);
      return k;
    }
    k = xchg_binance_classify(a.status, a.code);
    if (k == XCHG_OK) k = XCHG_REJECTED; /* a 3xx or an unexpected body */
    if (k == XCHG_UNKNOWN && !(flags & BN_F_ORDER)) k = XCHG_RETRYABLE;
    xchg_fail(err, k, a.code, "binance: %s %s: HTTP %d code %d: %s", method_name(m), path,
              a.status, a.code, a.msg);
    err->http_status = a.status;
    if (a.status == 429 || a.status == 418)
      err->retry_after = h->retry_after_s >= 0 ? h->retry_after_s * 1000 : 60000;
    return k;
  }
}
