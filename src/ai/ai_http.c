/* ai_http.c -- every provider asked at once, each retried on its own schedule.
 *
 * One libcurl multi handle drives all requests of an analysis, so three
 * models answering in one second each take one second together, not three.
 * Each call has its own retry schedule (ai_classify decides what is
 * retryable, ai_backoff_ms how long to wait); a call waiting for its next
 * attempt does not hold back the others.  Back-off waits go through the
 * injectable clock, so tests check the delays without sleeping; the
 * per-attempt timeout is libcurl's own (real time), since it bounds a real
 * socket.
 */
#include <curl/curl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ai/ai_int.h"

/* A reply larger than this is not a decision: the transfer is aborted. */
#define AI_RESPONSE_MAX (1024 * 1024)

void ai_call_init(ai_call *c) {
  memset(c, 0, sizeof *c);
  lb_buf_init(&c->body);
  lb_buf_init(&c->resp);
  ai_reply_init(&c->reply);
}

void ai_call_close(ai_call *c) {
  if (c->easy) curl_easy_cleanup(c->easy);
  curl_slist_free_all(c->slist);
  lb_buf_free(&c->body);
  lb_buf_free(&c->resp);
  ai_reply_close(&c->reply);
  memset(c, 0, sizeof *c);
}

void ai_strf(char *buf, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, n, fmt, ap);
  va_end(ap);
}

double ai_rand01(uint64_t *s) {
  /* xorshift64*: the jitter only needs to differ between runs and calls. */
  uint64_t x = *s ? *s : UINT64_C(0x9E3779B97F4A7C15);
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *s = x;
  return (double)((x * UINT64_C(2685821657736338717)) >> 11) * (1.0 / 9007199254740992.0);
}

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud) {
  ai_call *c = ud;
  size_t n = size * nmemb;
  if (c->resp.len + n > AI_RESPONSE_MAX) return 0; /* aborts: CURLE_WRITE_ERROR */
  return lb_buf_append(&c->resp, ptr, n) == LB_OK ? n : 0;
}

static lb_err prepare(ai_call *c, const ai_retry_policy *pol, lb_errbuf *eb) {
  if (!c->easy) {
    c->easy = curl_easy_init();
    if (!c->easy) return lb_fail(eb, LB_ENOMEM, "curl_easy_init failed");
    for (int i = 0; i < c->head.n_hdrs; i++) {
      struct curl_slist *l = curl_slist_append(c->slist, c->head.hdrs[i]);
      if (!l) return lb_fail(eb, LB_ENOMEM, "out of memory");
      c->slist = l;
    }
  }
  CURL *e = c->easy;
  curl_easy_setopt(e, CURLOPT_URL, c->head.url);
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->slist);
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body.data);
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)c->body.len);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)pol->timeout_ms);
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                   (long)(pol->timeout_ms < 10000 ? pol->timeout_ms : 10000));
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(e, CURLOPT_PRIVATE, c);
  lb_buf_reset(&c->resp);
  return LB_OK;
}

static int transport_of(CURLcode cc) {
  switch (cc) {
    case CURLE_OK: return AI_TRANSPORT_OK;
    case CURLE_OPERATION_TIMEDOUT: return AI_TRANSPORT_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return AI_TRANSPORT_CONNECT;
    default: return AI_TRANSPORT_OTHER;
  }
}

/* The server's wait, from retry-after-ms (OpenAI) or retry-after. */
static lb_ms server_wait(CURL *e, lb_ms now) {
  struct curl_header *h;
  if (curl_easy_header(e, "retry-after-ms", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
    /* The value counts milliseconds; the parser reads numbers as seconds. */
    lb_ms x = ai_retry_after_parse(h->value, now);
    if (x >= 0) return x / 1000;
  }
  if (curl_easy_header(e, "retry-after", 0, CURLH_HEADER, -1, &h) == CURLHE_OK)
    return ai_retry_after_parse(h->value, now);
  return -1;
}

/* An attempt ended: decide between done and another attempt. */
static void finish_attempt(ai_call *c, CURLcode cc, const ai_retry_policy *pol) {
  CURL *e = c->easy;
  curl_off_t us = 0;
  curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &us);
  c->http_ms += (lb_ms)(us / 1000);
  c->transport = transport_of(cc);
  c->status = 0;
  if (cc == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &c->status);
  lb_errbuf reb = {{0}};
  c->reply_rc = LB_OK;
  c->reply_err[0] = '\0';
  if (c->transport == AI_TRANSPORT_OK) {
    c->reply_rc = ai_reply_parse(c->wire, c->status, c->resp.data, c->resp.len, &c->reply, &reb);
    if (c->reply_rc) snprintf(c->reply_err, sizeof c->reply_err, "%s", reb.msg);
  } else {
    ai_reply_close(&c->reply);
  }
  char why[160];
  c->fail = ai_classify(c->transport, c->status, &c->reply, why, sizeof why);
  if (c->transport == AI_TRANSPORT_TIMEOUT)
    snprintf(why, sizeof why, "timeout after %lld ms", (long long)pol->timeout_ms);
  else if (c->transport != AI_TRANSPORT_OK)
    snprintf(why, sizeof why, "%s", curl_easy_strerror(cc));
  if (c->fail == AI_FAIL_NONE) {
    c->why[0] = '\0';
    c->done = true;
    return;
  }
  lb_ms now = lb_clock_now(pol->clock);
  lb_ms ra = c->status ? server_wait(e, now) : -1;
  if (c->fail == AI_FAIL_RETRY && ra > pol->max_retry_after_ms) {
    ai_strf(c->why, sizeof c->why, "%s: retry-after %lld s exceeds the %lld s we wait", why,
             (long long)(ra / 1000), (long long)(pol->max_retry_after_ms / 1000));
    c->fail = AI_FAIL_FATAL;
    c->done = true;
    return;
  }
  if (c->fail == AI_FAIL_FATAL || c->attempts >= pol->max_attempts) {
    if (c->fail == AI_FAIL_RETRY)
      ai_strf(c->why, sizeof c->why, "%s after %d attempts", why, c->attempts);
    else
      ai_strf(c->why, sizeof c->why, "%s (not retried)", why);
    c->done = true;
    return;
  }
  lb_ms wait = ai_backoff_ms(c->attempts, pol->jitter, ai_rand01(pol->rng), ra);
  if (c->n_delays < AI_ATTEMPTS_MAX) c->delays[c->n_delays++] = wait;
  c->waited_ms += wait;
  c->next_at = now + wait;
  snprintf(c->why, sizeof c->why, "%s", why);
}

lb_err ai_calls_run(void *multi, ai_call *calls, int n, const ai_retry_policy *pol,
                    lb_errbuf *eb) {
  CURLM *m = multi;
  lb_ms t0 = lb_clock_now(pol->clock);
  for (int i = 0; i < n; i++) {
    calls[i].next_at = t0;
    calls[i].done = calls[i].in_flight = false;
  }
  lb_err rc = LB_OK;
  for (;;) {
    lb_ms now = lb_clock_now(pol->clock);
    int in_flight = 0, waiting = 0;
    lb_ms next_due = 0;
    for (int i = 0; i < n; i++) {
      ai_call *c = &calls[i];
      if (c->done) continue;
      if (!c->in_flight && c->next_at <= now) {
        if ((rc = prepare(c, pol, eb))) goto out;
        if (curl_multi_add_handle(m, c->easy) != CURLM_OK) {
          rc = lb_fail(eb, LB_EIO, "curl_multi_add_handle failed");
          goto out;
        }
        c->in_flight = true;
        c->attempts++;
      }
      if (c->in_flight) {
        in_flight++;
      } else {
        if (!waiting || c->next_at < next_due) next_due = c->next_at;
        waiting++;
      }
    }
    if (!in_flight && !waiting) break;
    if (!in_flight) {
      lb_clock_sleep(pol->clock, next_due - now);
      continue;
    }
    int running = 0;
    if (curl_multi_perform(m, &running) != CURLM_OK) {
      rc = lb_fail(eb, LB_EIO, "curl_multi_perform failed");
      goto out;
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(m, &left))) {
      if (msg->msg != CURLMSG_DONE) continue;
      ai_call *c = NULL;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&c);
      CURLcode cc = msg->data.result;
      curl_multi_remove_handle(m, msg->easy_handle);
      c->in_flight = false;
      finish_attempt(c, cc, pol);
    }
    if (running) {
      /* Wake for socket activity, or when a waiting call falls due. */
      long wait_ms = 200;
      if (waiting) {
        lb_ms d = next_due - lb_clock_now(pol->clock);
        if (d < wait_ms) wait_ms = d < 0 ? 0 : (long)d;
      }
      curl_multi_poll(m, NULL, 0, (int)wait_ms, NULL);
    }
  }
out:
  for (int i = 0; i < n; i++)
    if (calls[i].in_flight) {
      curl_multi_remove_handle(m, calls[i].easy);
      calls[i].in_flight = false;
      calls[i].done = true;
      ai_strf(calls[i].why, sizeof calls[i].why, "aborted: %s", eb ? eb->msg : "libcurl failed");
      calls[i].fail = AI_FAIL_FATAL;
    }
  return rc;
}
