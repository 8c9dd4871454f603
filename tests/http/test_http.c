/* test_http.c -- the health server over real HTTP (libcurl) against a fake
 * bot, and `levbot healthcheck` against the same server.
 *
 * The fake bot keeps its state under its own mutex and its callbacks copy it
 * out, as http.h asks of the real one.  Every expectation on a document is
 * checked by parsing it independently (jansson for JSON, a small parser of
 * the Prometheus text format written here from the format's rules).
 */
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "http/http.h"
#include "unit.h"

/* ==== A fake bot ==== */

typedef struct {
  pthread_mutex_t mu;
  http_health health;
  http_status status;
  http_metrics metrics;
  lb_err health_rc, status_rc, metrics_rc, control_rc;
  char fail_msg[128];
  char control_result[128];
  int control_calls;
  http_action last_action;
  int health_sleep_ms;
} fake_bot;

static lb_err fb_health(void *ctx, http_health *out, lb_errbuf *eb) {
  fake_bot *b = ctx;
  pthread_mutex_lock(&b->mu);
  *out = b->health;
  lb_err rc = b->health_rc;
  int sleep_ms = b->health_sleep_ms;
  if (rc) lb_fail(eb, rc, "%s", b->fail_msg);
  pthread_mutex_unlock(&b->mu);
  if (sleep_ms) usleep((useconds_t)sleep_ms * 1000);
  return rc;
}

static lb_err fb_status(void *ctx, http_status *out, lb_errbuf *eb) {
  fake_bot *b = ctx;
  pthread_mutex_lock(&b->mu);
  *out = b->status;
  lb_err rc = b->status_rc;
  if (rc) lb_fail(eb, rc, "%s", b->fail_msg);
  pthread_mutex_unlock(&b->mu);
  return rc;
}

static lb_err fb_metrics(void *ctx, http_metrics *out, lb_errbuf *eb) {
  fake_bot *b = ctx;
  pthread_mutex_lock(&b->mu);
  *out = b->metrics;
  lb_err rc = b->metrics_rc;
  if (rc) lb_fail(eb, rc, "%s", b->fail_msg);
  pthread_mutex_unlock(&b->mu);
  return rc;
}

static lb_err fb_control(void *ctx, http_action a, char *result, size_t n) {
  fake_bot *b = ctx;
  pthread_mutex_lock(&b->mu);
  b->control_calls++;
  b->last_action = a;
  snprintf(result, n, "%s", b->control_result);
  lb_err rc = b->control_rc;
  pthread_mutex_unlock(&b->mu);
  return rc;
}

static lb_dec D(const char *s) {
  lb_dec d = 0;
  lb_dec_parse(s, &d);
  return d;
}

static const lb_ms T0 = INT64_C(1650000000000); /* 2022-04-15T05:20:00Z */

static void fb_init(fake_bot *b) {
  memset(b, 0, sizeof *b);
  pthread_mutex_init(&b->mu, NULL);
  http_health *h = &b->health;
  h->database_ok = true;
  h->database_latency_ms = 1.25;
  h->exchange_ok = true;
  snprintf(h->exchange_name, sizeof h->exchange_name, "sim");
  h->engine_ok = true;
  h->n_ai = 2;
  snprintf(h->ai[0].name, sizeof h->ai[0].name, "technical");
  h->ai[0].last_ok_at = T0;
  snprintf(h->ai[1].name, sizeof h->ai[1].name, "anthropic");
  h->ai[1].state = HTTP_AI_DISABLED;
  h->uptime_s = 3600;
  h->as_of = T0;
  http_status *s = &b->status;
  s->mode = HTTP_MODE_PAPER;
  s->state = HTTP_STATE_SCANNING;
  snprintf(s->exchange, sizeof s->exchange, "sim");
  s->capital = D("100.5");
  s->equity = D("100.5");
  s->daily_pnl = D("-1.25");
  s->last_scan_at = T0 - 60000;
  s->next_scan_at = T0 + 240000;
  s->as_of = T0;
  http_metrics *m = &b->metrics;
  m->total_trades = 10;
  m->winning_trades = 6;
  m->losing_trades = 4;
  m->win_rate = 0.6;
  m->average_pnl = D("1.25");
  m->total_pnl = D("12.5");
  m->profit_factor = 1.8;
  m->max_drawdown = 0.05;
  m->sharpe = 1.1;
  snprintf(b->control_result, sizeof b->control_result, "done");
}

static void fb_in_position(fake_bot *b) {
  http_status *s = &b->status;
  s->state = HTTP_STATE_IN_POSITION;
  s->has_position = true;
  http_position *p = &s->position;
  snprintf(p->symbol, sizeof p->symbol, "BTCUSDT");
  p->is_long = true;
  p->entry_price = D("42503.5");
  p->quantity = D("0.007");
  p->mark_price = D("42600.1");
  p->leverage = 3;
  p->stop_price = D("39528.3");
  p->take_profit_price = D("48453.9");
  p->liquidation_price = D("28476.13");
  p->unrealized_pnl = D("0.6762");
  p->stop_on_exchange = true;
  p->opened_at = T0 - 3600000;
}

static http_provider fb_provider(fake_bot *b) {
  return (http_provider){b, fb_health, fb_status, fb_metrics, fb_control};
}

static http_server *start(fake_bot *b, const char *token) {
  http_options o = {.host = "127.0.0.1", .port = 0, .control_token = token};
  http_provider p = fb_provider(b);
  http_server *s = NULL;
  lb_errbuf eb = {{0}};
  lb_err rc = http_server_new(&o, &p, &s, &eb);
  if (rc != LB_OK) lbt_fail(__FILE__, __LINE__, "http_server_new: %s", eb.msg);
  return s;
}

/* ==== An HTTP client ==== */

typedef struct {
  long code;
  char *body;
  size_t len;
  char ctype[128], allow[64], www_auth[128];
} resp;

static size_t on_data(char *d, size_t sz, size_t nm, void *ud) {
  resp *r = ud;
  size_t n = sz * nm;
  char *nb = realloc(r->body, r->len + n + 1);
  if (!nb) return 0;
  memcpy(nb + r->len, d, n);
  r->body = nb;
  r->len += n;
  nb[r->len] = '\0';
  return n;
}

static void header_value(const char *line, size_t n, const char *name, char *dst, size_t dn) {
  size_t k = strlen(name);
  if (n <= k + 1 || strncasecmp(line, name, k) != 0 || line[k] != ':') return;
  const char *v = line + k + 1;
  while (*v == ' ') v++;
  size_t vl = n - (size_t)(v - line);
  while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n')) vl--;
  snprintf(dst, dn, "%.*s", (int)vl, v);
}

static size_t on_header(char *d, size_t sz, size_t nm, void *ud) {
  resp *r = ud;
  size_t n = sz * nm;
  header_value(d, n, "Content-Type", r->ctype, sizeof r->ctype);
  header_value(d, n, "Allow", r->allow, sizeof r->allow);
  header_value(d, n, "WWW-Authenticate", r->www_auth, sizeof r->www_auth);
  return n;
}

/* method GET/HEAD/POST/other; h1, h2 extra header lines or NULL. */
static long req(int port, const char *method, const char *path, const char *h1, const char *h2, resp *r) {
  memset(r, 0, sizeof *r);
  r->body = calloc(1, 1);
  CURL *c = curl_easy_init();
  char url[256];
  snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
  struct curl_slist *hl = NULL;
  if (h1) hl = curl_slist_append(hl, h1);
  if (h2) hl = curl_slist_append(hl, h2);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  if (strcmp(method, "HEAD") == 0) curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
  else if (strcmp(method, "POST") == 0) curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
  else if (strcmp(method, "GET") != 0) curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  CURLcode cc = curl_easy_perform(c);
  if (cc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->code);
  else lbt_fail(__FILE__, __LINE__, "%s %s: %s", method, url, curl_easy_strerror(cc));
  curl_slist_free_all(hl);
  curl_easy_cleanup(c);
  return r->code;
}

static long get(int port, const char *path, resp *r) { return req(port, "GET", path, NULL, NULL, r); }

static void resp_free(resp *r) { free(r->body); }

/* The body as JSON; the test stops if it is not a JSON object. */
static json_t *as_json(const resp *r) {
  json_error_t e;
  json_t *j = json_loads(r->body, 0, &e);
  if (!json_is_object(j)) {
    lbt_fail(__FILE__, __LINE__, "not a JSON object: %s (%s)", r->body, e.text);
    json_decref(j);
    lbt_abort_test();
  }
  return j;
}

static const char *jstr(json_t *o, const char *path) {
  /* "a.b" walks objects */
  char key[64];
  const char *dot;
  while ((dot = strchr(path, '.'))) {
    snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
    o = json_object_get(o, key);
    path = dot + 1;
  }
  return json_string_value(json_object_get(o, path));
}

static json_t *jget(json_t *o, const char *path) {
  char key[64];
  const char *dot;
  while ((dot = strchr(path, '.'))) {
    snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
    o = json_object_get(o, key);
    path = dot + 1;
  }
  return json_object_get(o, path);
}

/* ==== /health ==== */

TEST(http_health_healthy_answers_200_with_every_documented_field) {
  fake_bot b;
  fb_init(&b);
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  resp r;
  CHECK_EQ(get(http_server_port(s), "/health", &r), 200);
  CHECK_CONTAINS(r.ctype, "application/json");
  json_t *j = as_json(&r);
  CHECK_STREQ(jstr(j, "status"), "healthy");
  CHECK(json_is_true(jget(j, "healthy")));
  CHECK_EQ(json_integer_value(jget(j, "uptime_seconds")), 3600);
  CHECK_STREQ(jstr(j, "checked_at"), "2022-04-15T05:20:00.000Z");
  CHECK(json_is_true(jget(j, "database.ok")));
  CHECK_NEAR(json_number_value(jget(j, "database.latency_ms")), 1.25, 1e-9);
  CHECK(json_is_null(jget(j, "database.error")));
  CHECK(json_is_true(jget(j, "exchange.ok")));
  CHECK_STREQ(jstr(j, "exchange.name"), "sim");
  CHECK(json_is_null(jget(j, "exchange.error")));
  CHECK(json_is_true(jget(j, "engine.ok")));
  json_t *ai = jget(j, "ai_providers");
  REQUIRE_EQ(json_array_size(ai), 2);
  CHECK_STREQ(jstr(json_array_get(ai, 0), "name"), "technical");
  CHECK_STREQ(jstr(json_array_get(ai, 0), "status"), "ok");
  CHECK_STREQ(jstr(json_array_get(ai, 0), "last_ok_at"), "2022-04-15T05:20:00.000Z");
  CHECK(json_is_null(jget(json_array_get(ai, 0), "last_error")));
  CHECK_STREQ(jstr(json_array_get(ai, 1), "status"), "disabled");
  CHECK(json_is_null(jget(json_array_get(ai, 1), "last_ok_at")));
  json_decref(j);
  resp_free(&r);
  /* HEAD: same status, no body. */
  CHECK_EQ(req(http_server_port(s), "HEAD", "/health", NULL, NULL, &r), 200);
  CHECK_EQ(r.len, 0);
  resp_free(&r);
  http_server_free(s);
}

TEST(http_health_is_503_when_database_exchange_or_engine_is_down) {
  fake_bot b;
  fb_init(&b);
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  int port = http_server_port(s);
  for (int which = 0; which < 3; which++) {
    fb_init(&b);
    if (which == 0) {
      b.health.database_ok = false;
      snprintf(b.health.database_error, sizeof b.health.database_error, "connection refused");
    } else if (which == 1) {
      b.health.exchange_ok = false;
      snprintf(b.health.exchange_error, sizeof b.health.exchange_error, "HTTP 503 from /fapi/v1/time");
    } else {
      b.health.engine_ok = false;
    }
    resp r;
    CHECK_EQ(get(port, "/health", &r), 503);
    json_t *j = as_json(&r);
    CHECK_STREQ(jstr(j, "status"), "unhealthy");
    CHECK(json_is_false(jget(j, "healthy")));
    if (which == 0) CHECK_STREQ(jstr(j, "database.error"), "connection refused");
    if (which == 1) CHECK_STREQ(jstr(j, "exchange.error"), "HTTP 503 from /fapi/v1/time");
    json_decref(j);
    resp_free(&r);
  }
  http_server_free(s);
}

TEST(http_health_degraded_ai_provider_is_200_degraded_with_its_error) {
  fake_bot b;
  fb_init(&b);
  b.health.ai[1].state = HTTP_AI_DOWN;
  snprintf(b.health.ai[1].last_error, sizeof b.health.ai[1].last_error, "HTTP 529 overloaded");
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  resp r;
  CHECK_EQ(get(http_server_port(s), "/health", &r), 200);
  json_t *j = as_json(&r);
  CHECK_STREQ(jstr(j, "status"), "degraded");
  CHECK(json_is_true(jget(j, "healthy")));
  CHECK_STREQ(jstr(json_array_get(jget(j, "ai_providers"), 1), "status"), "down");
  CHECK_STREQ(jstr(json_array_get(jget(j, "ai_providers"), 1), "last_error"), "HTTP 529 overloaded");
  json_decref(j);
  resp_free(&r);
  http_server_free(s);
}

TEST(http_health_is_503_when_the_provider_fails_or_is_missing) {
  fake_bot b;
  fb_init(&b);
  b.health_rc = LB_ETIMEOUT;
  snprintf(b.fail_msg, sizeof b.fail_msg, "engine lock not taken within 500 ms");
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  resp r;
  CHECK_EQ(get(http_server_port(s), "/health", &r), 503);
  json_t *j = as_json(&r);
  CHECK_STREQ(jstr(j, "status"), "unhealthy");
  CHECK_CONTAINS(jstr(j, "error"), "engine lock not taken within 500 ms");
  json_decref(j);
  resp_free(&r);
  http_server_free(s);

  http_options o = {.host = "127.0.0.1"};
  http_provider none = {0};
  lb_errbuf eb;
  REQUIRE_OK(http_server_new(&o, &none, &s, &eb));
  CHECK_EQ(get(http_server_port(s), "/health", &r), 503);
  CHECK_CONTAINS(r.body, "not provided");
  resp_free(&r);
  CHECK_EQ(get(http_server_port(s), "/status", &r), 503);
  resp_free(&r);
  CHECK_EQ(get(http_server_port(s), "/metrics", &r), 503);
  resp_free(&r);
  http_server_free(s);
}

/* ==== /status ==== */

TEST(http_status_when_flat_has_null_position_and_exact_money_strings) {
  fake_bot b;
  fb_init(&b);
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  resp r;
  CHECK_EQ(get(http_server_port(s), "/status", &r), 200);
  json_t *j = as_json(&r);
  CHECK_STREQ(jstr(j, "mode"), "paper");
  CHECK_STREQ(jstr(j, "state"), "scanning");
  CHECK_STREQ(jstr(j, "exchange"), "sim");
  CHECK_STREQ(jstr(j, "capital"), "100.5");
  CHECK_STREQ(jstr(j, "equity"), "100.5");
  CHECK_STREQ(jstr(j, "daily_pnl"), "-1.25");
  CHECK(json_is_null(jget(j, "position")));
  CHECK(json_is_false(jget(j, "breaker.active")));
  CHECK(json_is_null(jget(j, "breaker.kind")));
  CHECK_STREQ(jstr(j, "last_scan_at"), "2022-04-15T05:19:00.000Z");
  CHECK_STREQ(jstr(j, "next_scan_at"), "2022-04-15T05:24:00.000Z");
  CHECK_STREQ(jstr(j, "as_of"), "2022-04-15T05:20:00.000Z");
  json_decref(j);
  resp_free(&r);
  http_server_free(s);
}

TEST(http_status_in_position_lists_every_position_field) {
  fake_bot b;
  fb_init(&b);
  fb_in_position(&b);
  b.status.mode = HTTP_MODE_LIVE;
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  resp r;
  CHECK_EQ(get(http_server_port(s), "/status", &r), 200);
  json_t *j = as_json(&r);
  CHECK_STREQ(jstr(j, "mode"), "live");
  CHECK_STREQ(jstr(j, "state"), "in_position");
  CHECK_STREQ(jstr(j, "position.symbol"), "BTCUSDT");
  CHECK_STREQ(jstr(j, "position.side"), "long");
  CHECK_STREQ(jstr(j, "position.entry_price"), "42503.5");
  CHECK_STREQ(jstr(j, "position.quantity"), "0.007");
  CHECK_EQ(json_integer_value(jget(j, "position.leverage")), 3);
  CHECK_STREQ(jstr(j, "position.mark_price"), "42600.1");
  CHECK_STREQ(jstr(j, "position.stop_price"), "39528.3");
  CHECK_STREQ(jstr(j, "position.take_profit_price"), "48453.9");
  CHECK_STREQ(jstr(j, "position.liquidation_price"), "28476.13");
  CHECK_STREQ(jstr(j, "position.unrealized_pnl"), "0.6762");
  CHECK(json_is_true(jget(j, "position.stop_on_exchange")));
  CHECK_STREQ(jstr(j, "position.opened_at"), "2022-04-15T04:20:00.000Z");
  json_decref(j);
  resp_free(&r);
  http_server_free(s);
}

TEST(http_status_paused_by_breaker_shows_kind_detail_and_resume_time) {
  fake_bot b;
  fb_init(&b);
  b.status.state = HTTP_STATE_PAUSED;
  b.status.mode = HTTP_MODE_REPLAY;
  http_breaker *br = &b.status.breaker;
  br->active = true;
  snprintf(br->kind, sizeof br->kind, "daily_loss");
  snprintf(br->detail, sizeof br->detail, "daily loss 5.2 USDT >= limit 5.0 USDT");
  br->tripped_at = T0;
  br->resume_at = T0 + 67 * 60000;
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  resp r;
  CHECK_EQ(get(http_server_port(s), "/status", &r), 200);
  json_t *j = as_json(&r);
  CHECK_STREQ(jstr(j, "mode"), "replay");
  CHECK_STREQ(jstr(j, "state"), "paused");
  CHECK(json_is_true(jget(j, "breaker.active")));
  CHECK_STREQ(jstr(j, "breaker.kind"), "daily_loss");
  CHECK_STREQ(jstr(j, "breaker.detail"), "daily loss 5.2 USDT >= limit 5.0 USDT");
  CHECK_STREQ(jstr(j, "breaker.tripped_at"), "2022-04-15T05:20:00.000Z");
  CHECK_STREQ(jstr(j, "breaker.resume_at"), "2022-04-15T06:27:00.000Z");
  json_decref(j);
  resp_free(&r);
  http_server_free(s);
}

/* ==== /metrics ==== */

static void add_counter(http_metrics *m, const char *name, bool counter, double v, const char *help) {
  http_counter *c = &m->counters[m->n_counters++];
  snprintf(c->name, sizeof c->name, "%s", name);
  snprintf(c->help, sizeof c->help, "%s", help);
  c->is_counter = counter;
  c->value = v;
}

TEST(http_metrics_json_has_the_documented_fields_and_null_for_undefined_ratios) {
  fake_bot b;
  fb_init(&b);
  b.metrics.profit_factor = INFINITY; /* no losing trade yet */
  b.metrics.sharpe = NAN;
  add_counter(&b.metrics, "scans_total", true, 42, "Market scans");
  add_counter(&b.metrics, "Bad-Name", true, 1, "left out");
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  resp r;
  /* curl's default Accept (*\/\*) and an explicit JSON Accept both get JSON. */
  const char *accepts[] = {NULL, "Accept: application/json", "Accept: text/html,*/*;q=0.8"};
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(req(http_server_port(s), "GET", "/metrics", accepts[i], NULL, &r), 200);
    CHECK_CONTAINS(r.ctype, "application/json");
    json_t *j = as_json(&r);
    CHECK_EQ(json_integer_value(jget(j, "total_trades")), 10);
    CHECK_EQ(json_integer_value(jget(j, "winning_trades")), 6);
    CHECK_EQ(json_integer_value(jget(j, "losing_trades")), 4);
    CHECK_NEAR(json_number_value(jget(j, "win_rate")), 0.6, 1e-12);
    CHECK_STREQ(jstr(j, "average_pnl"), "1.25");
    CHECK_STREQ(jstr(j, "total_pnl"), "12.5");
    CHECK(json_is_null(jget(j, "profit_factor")));
    CHECK_NEAR(json_number_value(jget(j, "max_drawdown")), 0.05, 1e-12);
    CHECK(json_is_null(jget(j, "sharpe")));
    CHECK_NEAR(json_number_value(jget(j, "counters.scans_total")), 42, 0);
    CHECK(jget(j, "counters.Bad-Name") == NULL);
    json_decref(j);
    resp_free(&r);
  }
  http_server_free(s);
}

/* ---- A Prometheus text-format (0.0.4) checker ---- */

typedef struct {
  char name[96], type[16];
  bool help;
} pfam;

typedef struct {
  pfam fam[128];
  int n_fam, n_samples;
  char err[1200];
} pcheck;

static bool name_char(char c, bool first) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' || (!first && c >= '0' && c <= '9');
}

static pfam *pfind(pcheck *pc, const char *name) {
  for (int i = 0; i < pc->n_fam; i++)
    if (strcmp(pc->fam[i].name, name) == 0) return &pc->fam[i];
  return NULL;
}

/* Checks one line; returns false with pc->err set on a violation. */
static bool pline(pcheck *pc, const char *line) {
  char name[96];
  if (strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0) {
    bool is_help = line[2] == 'H';
    const char *p = line + 7, *e = p;
    while (name_char(*e, e == p)) e++;
    if (e == p || *e != ' ') return snprintf(pc->err, sizeof pc->err, "bad metric name: %s", line), false;
    snprintf(name, sizeof name, "%.*s", (int)(e - p), p);
    pfam *f = pfind(pc, name);
    if (!f) {
      if (pc->n_fam == 128) return false;
      f = &pc->fam[pc->n_fam++];
      snprintf(f->name, sizeof f->name, "%s", name);
    }
    if (is_help) {
      if (f->help) return snprintf(pc->err, sizeof pc->err, "second HELP for %s", name), false;
      f->help = true;
    } else {
      if (f->type[0]) return snprintf(pc->err, sizeof pc->err, "second TYPE for %s", name), false;
      snprintf(f->type, sizeof f->type, "%s", e + 1);
      if (strcmp(f->type, "counter") != 0 && strcmp(f->type, "gauge") != 0)
        return snprintf(pc->err, sizeof pc->err, "type %s of %s", f->type, name), false;
    }
    return true;
  }
  if (line[0] == '#' || line[0] == '\0') return snprintf(pc->err, sizeof pc->err, "stray line: '%s'", line), false;
  const char *p = line, *e = p;
  while (name_char(*e, e == p)) e++;
  snprintf(name, sizeof name, "%.*s", (int)(e - p), p);
  if (strncmp(name, "levbot_", 7) != 0) return snprintf(pc->err, sizeof pc->err, "not levbot_: %s", line), false;
  pfam *f = pfind(pc, name);
  if (!f || !f->help || !f->type[0])
    return snprintf(pc->err, sizeof pc->err, "sample before its HELP and TYPE: %s", line), false;
  if (*e == '{') { /* label="value"(,label="value")* } */
    e++;
    for (;;) {
      const char *ls = e;
      while (name_char(*e, e == ls)) e++;
      if (e == ls || e[0] != '=' || e[1] != '"') return snprintf(pc->err, sizeof pc->err, "bad label: %s", line), false;
      e += 2;
      while (*e && *e != '"') {
        if (*e == '\\') {
          if (e[1] != '\\' && e[1] != '"' && e[1] != 'n')
            return snprintf(pc->err, sizeof pc->err, "bad escape: %s", line), false;
          e++;
        }
        e++;
      }
      if (*e != '"') return snprintf(pc->err, sizeof pc->err, "unterminated label: %s", line), false;
      e++;
      if (*e == ',') {
        e++;
        continue;
      }
      if (*e != '}') return snprintf(pc->err, sizeof pc->err, "bad label list: %s", line), false;
      e++;
      break;
    }
  }
  if (*e != ' ') return snprintf(pc->err, sizeof pc->err, "no value: %s", line), false;
  e++;
  char *end;
  strtod(e, &end);
  if (end == e || *end != '\0') return snprintf(pc->err, sizeof pc->err, "bad value: %s", line), false;
  pc->n_samples++;
  return true;
}

/* Every line of text passes; returns the number of samples or -1. */
static int prom_check(const char *text, pcheck *pc) {
  memset(pc, 0, sizeof *pc);
  const char *p = text;
  size_t len = strlen(text);
  if (len == 0 || text[len - 1] != '\n') return snprintf(pc->err, sizeof pc->err, "no final newline"), -1;
  while (*p) {
    const char *nl = strchr(p, '\n');
    char line[1024];
    snprintf(line, sizeof line, "%.*s", (int)(nl - p), p);
    if (!pline(pc, line)) return -1;
    p = nl + 1;
  }
  return pc->n_samples;
}

/* The value of the sample whose whole "name{labels}" is key. */
static bool prom_value(const char *text, const char *key, double *v) {
  size_t k = strlen(key);
  for (const char *p = text; (p = strstr(p, key)); p += k)
    if ((p == text || p[-1] == '\n') && p[k] == ' ') {
      *v = strtod(p + k + 1, NULL);
      return true;
    }
  return false;
}

TEST(http_prometheus_text_parses_with_help_and_type_for_every_sample) {
  fake_bot b;
  fb_init(&b);
  fb_in_position(&b);
  b.metrics.profit_factor = INFINITY;
  b.health.ai[1].state = HTTP_AI_DEGRADED;
  snprintf(b.health.ai[1].name, sizeof b.health.ai[1].name, "we\"ird\\name");
  add_counter(&b.metrics, "scans_total", true, 42, "Market scans\nper process");
  add_counter(&b.metrics, "open_orders", false, 2, "");
  add_counter(&b.metrics, "trades_total", true, 99, "collides with a built-in: left out");
  add_counter(&b.metrics, "scans_total", true, 7, "duplicate: left out");
  add_counter(&b.metrics, "9starts_with_digit", true, 1, "left out");
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  const char *ways[][2] = {{"/metrics/prometheus", NULL},
                           {"/metrics", "Accept: text/plain"},
                           {"/metrics", "Accept: application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"}};
  for (int w = 0; w < 3; w++) {
    resp r;
    CHECK_EQ(req(http_server_port(s), "GET", ways[w][0], ways[w][1], NULL, &r), 200);
    CHECK_CONTAINS(r.ctype, "text/plain; version=0.0.4");
    pcheck pc;
    int n = prom_check(r.body, &pc);
    if (n < 0) lbt_fail(__FILE__, __LINE__, "Prometheus text rejected: %s\n%s", pc.err, r.body);
    CHECK(n >= 25);
    double v;
    CHECK(prom_value(r.body, "levbot_trades_total", &v) && v == 10);
    CHECK(prom_value(r.body, "levbot_win_rate", &v) && fabs(v - 0.6) < 1e-12);
    CHECK(prom_value(r.body, "levbot_profit_factor", &v) && isinf(v) && v > 0);
    CHECK(prom_value(r.body, "levbot_sharpe_ratio", &v) && fabs(v - 1.1) < 1e-12);
    CHECK(prom_value(r.body, "levbot_max_drawdown_ratio", &v) && fabs(v - 0.05) < 1e-12);
    CHECK(prom_value(r.body, "levbot_average_pnl_usd", &v) && v == 1.25);
    CHECK(prom_value(r.body, "levbot_healthy", &v) && v == 1);
    CHECK(prom_value(r.body, "levbot_degraded", &v) && v == 1);
    CHECK(prom_value(r.body, "levbot_database_latency_seconds", &v) && fabs(v - 0.00125) < 1e-15);
    CHECK(prom_value(r.body, "levbot_ai_provider_up{provider=\"technical\"}", &v) && v == 1);
    CHECK(prom_value(r.body, "levbot_ai_provider_up{provider=\"we\\\"ird\\\\name\"}", &v) && v == 0);
    CHECK(prom_value(r.body, "levbot_info{mode=\"paper\",state=\"in_position\",exchange=\"sim\"}", &v) && v == 1);
    CHECK(prom_value(r.body, "levbot_capital_usd", &v) && v == 100.5);
    CHECK(prom_value(r.body, "levbot_position_open", &v) && v == 1);
    CHECK(prom_value(r.body, "levbot_unrealized_pnl_usd", &v) && fabs(v - 0.6762) < 1e-12);
    CHECK(prom_value(r.body, "levbot_scans_total", &v) && v == 42);
    CHECK(prom_value(r.body, "levbot_open_orders", &v) && v == 2);
    CHECK_CONTAINS(r.body, "# HELP levbot_scans_total Market scans\\nper process\n");
    CHECK_CONTAINS(r.body, "# TYPE levbot_scans_total counter\n");
    CHECK_CONTAINS(r.body, "# TYPE levbot_open_orders gauge\n");
    CHECK_NOT_CONTAINS(r.body, "9starts_with_digit");
    CHECK_NOT_CONTAINS(r.body, "collides");
    resp_free(&r);
  }
  http_server_free(s);
}

/* ==== Control ==== */

#define TOKEN "ctl-7f3a9c2e41b8d6e0f5a7"

TEST(http_control_is_forbidden_with_a_hint_when_no_token_is_configured) {
  fake_bot b;
  fb_init(&b);
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  resp r;
  CHECK_EQ(req(http_server_port(s), "POST", "/control/pause", "Authorization: Bearer anything-at-all-123", NULL, &r),
           403);
  json_t *j = as_json(&r);
  CHECK_CONTAINS(jstr(j, "error"), "disabled");
  CHECK_CONTAINS(jstr(j, "hint"), "CONTROL_TOKEN");
  json_decref(j);
  resp_free(&r);
  CHECK_EQ(b.control_calls, 0);
  http_server_free(s);
}

TEST(http_control_rejects_missing_and_wrong_tokens_with_401) {
  fake_bot b;
  fb_init(&b);
  http_server *s = start(&b, TOKEN);
  REQUIRE(s);
  int port = http_server_port(s);
  const char *bad[] = {NULL,
                       "Authorization: Bearer",
                       "Authorization: Basic Y3RsOnNlY3JldA==",
                       "Authorization: Bearer ctl-7f3a9c2e41b8d6e0f5a8",   /* same length, last char */
                       "Authorization: Bearer ctl-7f3a9c2e41b8d6e0f5a",    /* a prefix */
                       "Authorization: Bearer ctl-7f3a9c2e41b8d6e0f5a77",  /* one more */
                       "Authorization: Bearer " TOKEN "x",
                       "X-Token: " TOKEN};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    resp r;
    CHECK_EQ(req(port, "POST", "/control/close", bad[i], NULL, &r), 401);
    CHECK_CONTAINS(r.www_auth, "Bearer");
    json_t *j = as_json(&r);
    CHECK_CONTAINS(jstr(j, "error"), "bearer token");
    json_decref(j);
    CHECK_NOT_CONTAINS(r.body, TOKEN);
    resp_free(&r);
  }
  CHECK_EQ(b.control_calls, 0);
  http_server_free(s);
}

TEST(http_control_with_the_right_token_performs_each_action) {
  fake_bot b;
  fb_init(&b);
  http_server *s = start(&b, TOKEN);
  REQUIRE(s);
  int port = http_server_port(s);
  const char *paths[] = {"/control/pause", "/control/resume", "/control/close"};
  const http_action acts[] = {HTTP_CTL_PAUSE, HTTP_CTL_RESUME, HTTP_CTL_CLOSE};
  const char *names[] = {"pause", "resume", "close"};
  for (int i = 0; i < 3; i++) {
    pthread_mutex_lock(&b.mu);
    snprintf(b.control_result, sizeof b.control_result, "%s done at once", names[i]);
    pthread_mutex_unlock(&b.mu);
    resp r;
    /* The scheme is case-insensitive (RFC 6750 uses RFC 7235 rules). */
    CHECK_EQ(req(port, "POST", paths[i], i == 1 ? "Authorization: bearer " TOKEN : "Authorization: Bearer " TOKEN,
                 NULL, &r),
             200);
    CHECK_EQ(b.control_calls, i + 1);
    CHECK_EQ(b.last_action, acts[i]);
    json_t *j = as_json(&r);
    CHECK_STREQ(jstr(j, "action"), names[i]);
    CHECK(json_is_true(jget(j, "ok")));
    char want[64];
    snprintf(want, sizeof want, "%s done at once", names[i]);
    CHECK_STREQ(jstr(j, "result"), want);
    json_decref(j);
    resp_free(&r);
  }
  /* Refused by the bot: 409 with its reason. */
  pthread_mutex_lock(&b.mu);
  b.control_rc = LB_ESTATE;
  snprintf(b.control_result, sizeof b.control_result, "no open position to close");
  pthread_mutex_unlock(&b.mu);
  resp r;
  CHECK_EQ(req(port, "POST", "/control/close", "Authorization: Bearer " TOKEN, NULL, &r), 409);
  json_t *j = as_json(&r);
  CHECK(json_is_false(jget(j, "ok")));
  CHECK_STREQ(jstr(j, "result"), "no open position to close");
  json_decref(j);
  resp_free(&r);
  pthread_mutex_lock(&b.mu);
  b.control_rc = LB_EIO;
  pthread_mutex_unlock(&b.mu);
  CHECK_EQ(req(port, "POST", "/control/close", "Authorization: Bearer " TOKEN, NULL, &r), 500);
  resp_free(&r);
  http_server_free(s);
}

/* ==== Routing ==== */

TEST(http_unknown_paths_are_404_and_wrong_methods_405_with_allow) {
  fake_bot b;
  fb_init(&b);
  http_server *s = start(&b, TOKEN);
  REQUIRE(s);
  int port = http_server_port(s);
  resp r;
  const char *missing[] = {"/", "/nope", "/health/", "/control", "/control/reboot", "/metrics/json"};
  for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
    CHECK_EQ(get(port, missing[i], &r), 404);
    json_t *j = as_json(&r);
    CHECK_CONTAINS(jstr(j, "error"), "no such endpoint");
    CHECK_CONTAINS(jstr(j, "hint"), "/health");
    json_decref(j);
    resp_free(&r);
  }
  const char *reads[] = {"/health", "/status", "/metrics", "/metrics/prometheus"};
  const char *methods[] = {"POST", "PUT", "DELETE", "PATCH"};
  for (size_t i = 0; i < 4; i++)
    for (size_t k = 0; k < 4; k++) {
      CHECK_EQ(req(port, methods[k], reads[i], NULL, NULL, &r), 405);
      CHECK_STREQ(r.allow, "GET, HEAD");
      resp_free(&r);
    }
  CHECK_EQ(req(port, "GET", "/control/pause", "Authorization: Bearer " TOKEN, NULL, &r), 405);
  CHECK_STREQ(r.allow, "POST");
  resp_free(&r);
  CHECK_EQ(req(port, "DELETE", "/control/close", "Authorization: Bearer " TOKEN, NULL, &r), 405);
  resp_free(&r);
  CHECK_EQ(b.control_calls, 0);
  http_server_free(s);
}

/* ==== Secrets ==== */

#define SECRET "sk-ant-api03-SUPERSECRETVALUE0123456789"

TEST(http_a_secret_in_any_provider_text_never_reaches_a_response) {
  lb_log_add_secret(SECRET);
  fake_bot b;
  fb_init(&b);
  fb_in_position(&b);
  http_health *h = &b.health;
  h->database_ok = false;
  snprintf(h->database_error, sizeof h->database_error, "auth failed for postgresql://u:%s@db/x", SECRET);
  snprintf(h->exchange_error, sizeof h->exchange_error, "401 with key %s", SECRET);
  snprintf(h->engine_error, sizeof h->engine_error, "x-api-key: %s", SECRET);
  h->ai[1].state = HTTP_AI_DOWN;
  snprintf(h->ai[1].last_error, sizeof h->ai[1].last_error, "invalid x-api-key %s", SECRET);
  b.status.breaker.active = true;
  snprintf(b.status.breaker.kind, sizeof b.status.breaker.kind, "ai_failures");
  snprintf(b.status.breaker.detail, sizeof b.status.breaker.detail, "repeated failures: key %s", SECRET);
  add_counter(&b.metrics, "ai_calls_total", true, 3, "calls made with " SECRET);
  snprintf(b.control_result, sizeof b.control_result, "paused; key %s", SECRET);
  http_server *s = start(&b, TOKEN);
  REQUIRE(s);
  int port = http_server_port(s);
  const char *paths[] = {"/health", "/status", "/metrics", "/metrics/prometheus"};
  const char *piece = "SUPERSECRETVALUE";
  for (int i = 0; i < 4; i++) {
    resp r;
    get(port, paths[i], &r);
    CHECK(r.code == 200 || r.code == 503);
    CHECK_NOT_CONTAINS(r.body, SECRET);
    CHECK_NOT_CONTAINS(r.body, piece);
    CHECK_NOT_CONTAINS(r.body, TOKEN);
    resp_free(&r);
  }
  resp r;
  CHECK_EQ(req(port, "POST", "/control/pause", "Authorization: Bearer " TOKEN, NULL, &r), 200);
  CHECK_NOT_CONTAINS(r.body, SECRET);
  CHECK_CONTAINS(r.body, "****");
  CHECK_NOT_CONTAINS(r.body, TOKEN);
  resp_free(&r);
  /* A failing callback's reason is redacted too. */
  pthread_mutex_lock(&b.mu);
  b.status_rc = LB_EDB;
  snprintf(b.fail_msg, sizeof b.fail_msg, "store: password %s rejected", SECRET);
  pthread_mutex_unlock(&b.mu);
  CHECK_EQ(get(port, "/status", &r), 503);
  CHECK_NOT_CONTAINS(r.body, SECRET);
  CHECK_CONTAINS(r.body, "store: password **** rejected");
  resp_free(&r);
  http_server_free(s);
}

/* ==== Consistency, binding ==== */

/* The fake bot moves its stop and size together under its lock; a response
 * mixing two moments would break stop = entry - 1000 * quantity. */
typedef struct {
  fake_bot *b;
  volatile int stop;
} mover;

static void *move_position(void *arg) {
  mover *mv = arg;
  for (long k = 1; !mv->stop; k++) {
    pthread_mutex_lock(&mv->b->mu);
    http_position *p = &mv->b->status.position;
    p->quantity = LB_DEC_INT(1) / 1000 * (k % 997 + 1);
    p->stop_price = p->entry_price - p->quantity * 1000;
    pthread_mutex_unlock(&mv->b->mu);
  }
  return NULL;
}

TEST(http_status_documents_are_consistent_snapshots_under_concurrent_updates) {
  fake_bot b;
  fb_init(&b);
  fb_in_position(&b);
  b.status.position.stop_price = b.status.position.entry_price - b.status.position.quantity * 1000;
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  mover mv = {&b, 0};
  pthread_t t;
  REQUIRE_EQ(pthread_create(&t, NULL, move_position, &mv), 0);
  int torn = 0;
  for (int i = 0; i < 150; i++) {
    resp r;
    get(http_server_port(s), "/status", &r);
    json_t *j = as_json(&r);
    lb_dec entry = D(jstr(j, "position.entry_price")), qty = D(jstr(j, "position.quantity")),
           stop = D(jstr(j, "position.stop_price"));
    if (stop != entry - qty * 1000) torn++;
    json_decref(j);
    resp_free(&r);
  }
  mv.stop = 1;
  pthread_join(t, NULL);
  CHECK_EQ(torn, 0);
  http_server_free(s);
}

/* The local address of the listening socket on port, from /proc/net/tcp
 * (hex, as the kernel writes it), or "" if not found. */
static void listen_addr(int port, char *out, size_t n) {
  out[0] = '\0';
  FILE *f = fopen("/proc/net/tcp", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    char local[64], remote[64], st[8];
    if (sscanf(line, "%*d: %63s %63s %7s", local, remote, st) != 3) continue;
    char *colon = strchr(local, ':');
    if (!colon || strtol(colon + 1, NULL, 16) != port || strcmp(st, "0A") != 0) continue;
    snprintf(out, n, "%.*s", (int)(colon - local), local);
  }
  fclose(f);
}

TEST(http_binds_loopback_by_default_and_reports_the_chosen_port) {
  fake_bot b;
  fb_init(&b);
  http_options o = {.host = NULL, .port = 0};
  http_provider p = fb_provider(&b);
  http_server *s;
  lb_errbuf eb;
  REQUIRE_OK(http_server_new(&o, &p, &s, &eb));
  int port = http_server_port(s);
  CHECK(port > 0 && port <= 65535);
  char addr[64];
  listen_addr(port, addr, sizeof addr);
  CHECK_STREQ(addr, "0100007F"); /* 127.0.0.1, little-endian hex */
  /* The same port again: a clear error naming the reason. */
  http_server *s2 = NULL;
  o.port = port;
  CHECK_EQ(http_server_new(&o, &p, &s2, &eb), LB_EIO);
  CHECK(s2 == NULL);
  CHECK_CONTAINS(eb.msg, "in use");
  http_server_free(s);
  o.port = 0;
  o.host = "example.com";
  CHECK_EQ(http_server_new(&o, &p, &s2, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "HEALTH_HOST=example.com");
  o.host = "127.0.0.1";
  o.port = 70000;
  CHECK_EQ(http_server_new(&o, &p, &s2, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "HEALTH_PORT=70000");
  o.host = "::1";
  o.port = 0;
  if (http_server_new(&o, &p, &s2, &eb) == LB_OK) { /* hosts without IPv6 skip this */
    CHECK(http_server_port(s2) > 0);
    http_server_free(s2);
  }
}

TEST(http_health_url_points_wildcard_binds_at_loopback) {
  lb_config c;
  lb_config_defaults(&c);
  char url[256];
  http_health_url(&c, url, sizeof url);
  CHECK_STREQ(url, "http://127.0.0.1:8000/health");
  snprintf(c.health_host, sizeof c.health_host, "0.0.0.0");
  c.health_port = 9100;
  http_health_url(&c, url, sizeof url);
  CHECK_STREQ(url, "http://127.0.0.1:9100/health");
  snprintf(c.health_host, sizeof c.health_host, "::");
  http_health_url(&c, url, sizeof url);
  CHECK_STREQ(url, "http://[::1]:9100/health");
}

/* ==== `levbot healthcheck` ==== */

static int levbot(const char *env, const char *args, char **out) {
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "cd '%s' && env -i PATH=/usr/bin:/bin %s '%s' healthcheck %s", lbt_tmpdir(),
           env ? env : "", lbt_binary_path("levbot"), args);
  return lbt_run(cmd, out);
}

TEST(http_levbot_healthcheck_exit_codes_follow_the_answer) {
  fake_bot b;
  fb_init(&b);
  http_server *s = start(&b, NULL);
  REQUIRE(s);
  int port = http_server_port(s);
  char args[256], env[64], *out;
  snprintf(args, sizeof args, "--url http://127.0.0.1:%d/health", port);
  CHECK_EQ(levbot(NULL, args, &out), 0);
  CHECK_CONTAINS(out, "healthy: http://127.0.0.1:");
  CHECK_CONTAINS(out, "database ok 1.2 ms");
  CHECK_CONTAINS(out, "exchange sim ok");
  CHECK_CONTAINS(out, "uptime 3600 s");
  CHECK_EQ(strchr(out, '\n') - out + 1, (long)strlen(out)); /* one line */
  free(out);
  /* The default URL comes from HEALTH_HOST/HEALTH_PORT, as the bot's does. */
  snprintf(env, sizeof env, "HEALTH_PORT=%d", port);
  CHECK_EQ(levbot(env, "", &out), 0);
  /* Configuration warnings (providers without keys) stay out of the line. */
  CHECK_EQ(strchr(out, '\n') - out + 1, (long)strlen(out));
  CHECK_CONTAINS(out, "healthy: http://127.0.0.1:");
  free(out);
  pthread_mutex_lock(&b.mu);
  b.health.ai[1].state = HTTP_AI_DEGRADED;
  pthread_mutex_unlock(&b.mu);
  CHECK_EQ(levbot(NULL, args, &out), 0);
  CHECK_CONTAINS(out, "degraded:");
  free(out);
  pthread_mutex_lock(&b.mu);
  b.health.exchange_ok = false;
  snprintf(b.health.exchange_error, sizeof b.health.exchange_error, "stream silent for 90 s");
  pthread_mutex_unlock(&b.mu);
  CHECK_EQ(levbot(NULL, args, &out), 8);
  CHECK_CONTAINS(out, "unhealthy:");
  CHECK_CONTAINS(out, "exchange sim DOWN (stream silent for 90 s)");
  free(out);
  /* Something that is not a levbot /health answers: unhealthy too. */
  snprintf(args, sizeof args, "--url http://127.0.0.1:%d/nope", port);
  CHECK_EQ(levbot(NULL, args, &out), 8);
  CHECK_CONTAINS(out, "not a levbot /health answer");
  free(out);
  /* Too slow: unreachable within the timeout. */
  pthread_mutex_lock(&b.mu);
  b.health_sleep_ms = 2500;
  pthread_mutex_unlock(&b.mu);
  snprintf(args, sizeof args, "--url http://127.0.0.1:%d/health --timeout 1", port);
  CHECK_EQ(levbot(NULL, args, &out), 1);
  CHECK_CONTAINS(out, "did not answer within 1000 ms");
  free(out);
  http_server_free(s);
  /* Nothing listening any more on that port. */
  snprintf(args, sizeof args, "--url http://127.0.0.1:%d/health", port);
  CHECK_EQ(levbot(NULL, args, &out), 1);
  CHECK_CONTAINS(out, "unreachable");
  free(out);
  CHECK_EQ(levbot(NULL, "--url ftp://127.0.0.1/health", &out), 2);
  free(out);
  CHECK_EQ(levbot(NULL, "--timeout 0", &out), 2);
  free(out);
  CHECK_EQ(levbot(NULL, "--bogus", &out), 2);
  free(out);
}

/* ==== Configuration rules (config_check.c, check_http) ==== */

static lb_err load_env(char *const *envp, lb_cfg_report *rep) {
  lb_config c;
  lb_cfg_source src = {.env_file = "/nonexistent/levbot-test.env", .env_file_explicit = false, .envp = envp};
  memset(rep, 0, sizeof *rep);
  return lb_config_load(&c, &src, rep);
}

static bool report_has(const lb_cfg_report *rep, const char *needle) {
  for (int i = 0; i < rep->n_errors; i++)
    if (strstr(rep->errors[i], needle)) return true;
  return false;
}

TEST(http_config_refuses_a_short_control_token_without_printing_it) {
  static lb_cfg_report rep;
  char *short_tok[] = {"CONTROL_TOKEN=hunter2pass", NULL};
  CHECK_EQ(load_env(short_tok, &rep), LB_ECONFIG);
  CHECK(report_has(&rep, "CONTROL_TOKEN is 11 characters long"));
  for (int i = 0; i < rep.n_errors; i++) CHECK_NOT_CONTAINS(rep.errors[i], "hunter2pass");
  char *good[] = {"CONTROL_TOKEN=" TOKEN, NULL};
  CHECK_OK(load_env(good, &rep));
  char *none[] = {"CONTROL_TOKEN=", NULL};
  CHECK_OK(load_env(none, &rep));
}

TEST(http_config_refuses_a_health_host_that_is_not_an_address) {
  static lb_cfg_report rep;
  char *bad[] = {"HEALTH_HOST=my-server.example", NULL};
  CHECK_EQ(load_env(bad, &rep), LB_ECONFIG);
  CHECK(report_has(&rep, "HEALTH_HOST=my-server.example is not an IP address"));
  const char *ok[] = {"HEALTH_HOST=0.0.0.0", "HEALTH_HOST=::1", "HEALTH_HOST=localhost", "HEALTH_HOST=127.0.0.1"};
  for (int i = 0; i < 4; i++) {
    char *env[] = {(char *)ok[i], NULL};
    CHECK_OK(load_env(env, &rep));
  }
}
