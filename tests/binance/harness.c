/* harness.c -- exsim processes, control requests and configured adapters for the binance suite. */
#include "harness.h"

#include <curl/curl.h>
#include <strings.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "unit.h"

static pid_t live[64];
static int n_live;

static void kill_leftovers(void) {
  for (int i = 0; i < n_live; i++)
    if (live[i] > 0) {
      kill(live[i], SIGKILL);
      waitpid(live[i], NULL, 0);
    }
}

static void track(pid_t pid, bool add) {
  static bool registered;
  if (!registered) {
    atexit(kill_leftovers);
    registered = true;
  }
  if (add) {
    for (int i = 0; i < n_live; i++)
      if (live[i] == 0) {
        live[i] = pid;
        return;
      }
    if (n_live < 64) live[n_live++] = pid;
    return;
  }
  for (int i = 0; i < n_live; i++)
    if (live[i] == pid) live[i] = 0;
}

void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void spawn(exsim_proc *p, const char *const *extra) {
  static int seq;
  char port_file[600], log_file[600];
  snprintf(port_file, sizeof port_file, "%s/exsim-%d-%d.port", lbt_tmpdir(), (int)getpid(), ++seq);
  snprintf(log_file, sizeof log_file, "%s/exsim-%d.log", lbt_tmpdir(), seq);
  unlink(port_file);
  const char *argv[80];
  int n = 0;
  argv[n++] = lbt_binary_path("tools/exsim/exsim");
  const char *fixed[] = {"--data",       lbt_source_path(SAMPLE_1M), "--port",       "0",
                         "--ws-port",    "0",                        "--port-file",  port_file,
                         "--state",      p->state_file,              "--api-key",    EXSIM_KEY,
                         "--api-secret", EXSIM_SECRET,               "--paused",     "--quiet",
                         "--warmup",     "300",                      "--seed",       "7",
                         "--speed",      "600",                      "--margin",     "crossed"};
  char exe[1024];
  snprintf(exe, sizeof exe, "%s", argv[0]);
  argv[0] = exe;
  char data[1024];
  snprintf(data, sizeof data, "%s", fixed[1]);
  bool own_data = false;
  for (int i = 0; extra && extra[i]; i++) own_data |= strcmp(extra[i], "--data") == 0;
  for (size_t i = own_data ? 2 : 0; i < sizeof fixed / sizeof fixed[0]; i++) argv[n++] = i == 1 ? data : fixed[i];
  for (int i = 0; extra && extra[i] && n < 78; i++) argv[n++] = extra[i];
  argv[n] = NULL;
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    FILE *lf = freopen(log_file, "w", stdout);
    (void)lf;
    dup2(fileno(stdout), 2);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  track(pid, true);
  p->pid = pid;
  for (int i = 0; i < 1000; i++) {
    FILE *f = fopen(port_file, "r");
    if (f) {
      int ok = fscanf(f, "%d %d", &p->rest_port, &p->ws_port);
      fclose(f);
      if (ok == 2) break;
    }
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) {
      track(pid, false);
      p->pid = 0;
      char cmd[700];
      snprintf(cmd, sizeof cmd, "cat '%s'", log_file);
      if (system(cmd) != 0) {}
      lbt_fail(__FILE__, __LINE__, "exsim exited before listening (status %d)", st);
      lbt_abort_test();
    }
    sleep_ms(10);
  }
  REQUIRE(p->rest_port > 0 && p->ws_port > 0);
  snprintf(p->rest_url, sizeof p->rest_url, "http://127.0.0.1:%d", p->rest_port);
}

void exsim_start(exsim_proc *p, const char *const *extra) {
  static int seq;
  memset(p, 0, sizeof *p);
  snprintf(p->state_file, sizeof p->state_file, "%s/state-%d.json", lbt_tmpdir(), ++seq);
  unlink(p->state_file);
  spawn(p, extra);
}

void exsim_restart(exsim_proc *p, const char *const *extra) { spawn(p, extra); }

void exsim_kill(exsim_proc *p) {
  if (p->pid <= 0) return;
  kill(p->pid, SIGKILL);
  waitpid(p->pid, NULL, 0);
  track(p->pid, false);
  p->pid = 0;
}

void exsim_stop(exsim_proc *p) {
  if (p->pid <= 0) return;
  /* The answer may be cut short by the shutdown itself: only the exit counts. */
  exsim_raw(p, "POST", "/_exsim/shutdown", NULL, NULL, NULL, NULL);
  for (int i = 0; i < 500; i++) {
    int st;
    if (waitpid(p->pid, &st, WNOHANG) == p->pid) {
      track(p->pid, false);
      p->pid = 0;
      /* exit 0 also means ASan found no leak in exsim */
      CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
      return;
    }
    sleep_ms(10);
  }
  lbt_fail(__FILE__, __LINE__, "exsim did not stop within 5 s");
  exsim_kill(p);
}

/* ==== HTTP ==== */

typedef struct {
  lb_buf body;
  long retry_after;
} resp_ctx;

static size_t on_body(char *d, size_t s, size_t n, void *u) {
  resp_ctx *r = u;
  return lb_buf_append(&r->body, d, s * n) == LB_OK ? s * n : 0;
}

static size_t on_hdr(char *d, size_t s, size_t n, void *u) {
  resp_ctx *r = u;
  if (s * n > 12 && strncasecmp(d, "Retry-After:", 12) == 0) r->retry_after = strtol(d + 12, NULL, 10);
  return s * n;
}

int exsim_raw(exsim_proc *p, const char *method, const char *pq, const char *body, const char *api_key,
              char **out_body, long *retry_after) {
  CURL *c = curl_easy_init();
  if (!c) return 0;
  char url[4096];
  snprintf(url, sizeof url, "%s%s", p->rest_url, pq);
  resp_ctx r = {.retry_after = -1};
  lb_buf_init(&r.body);
  struct curl_slist *h = NULL;
  if (api_key) {
    char hdr[256];
    snprintf(hdr, sizeof hdr, "X-MBX-APIKEY: %s", api_key);
    h = curl_slist_append(h, hdr);
  }
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_hdr);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  if (body) curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
  long status = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(h);
  curl_easy_cleanup(c);
  if (retry_after) *retry_after = r.retry_after;
  if (out_body)
    *out_body = lb_buf_steal(&r.body);
  else
    lb_buf_free(&r.body);
  return (int)status;
}

int exsim_signed(exsim_proc *p, const char *method, const char *path, const char *params, char **out_body) {
  char q[4096], sig[XCHG_BINANCE_SIG_LEN];
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
  snprintf(q, sizeof q, "%s%stimestamp=%lld", params, *params ? "&" : "", now);
  xchg_binance_sign(EXSIM_SECRET, q, strlen(q), sig);
  size_t l = strlen(q);
  snprintf(q + l, sizeof q - l, "&signature=%s", sig);
  bool body = strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0;
  char pq[4300];
  snprintf(pq, sizeof pq, "%s%s%s", path, body ? "" : "?", body ? "" : q);
  return exsim_raw(p, method, pq, body ? q : NULL, EXSIM_KEY, out_body, NULL);
}

int body_code(const char *body) {
  json_error_t je;
  json_t *j = json_loads(body ? body : "", 0, &je);
  int code = j ? (int)json_integer_value(json_object_get(j, "code")) : 0;
  json_decref(j);
  return code;
}

json_t *exsim_ctl(exsim_proc *p, const char *method, const char *pq, const char *body) {
  char *out = NULL;
  int st = exsim_raw(p, method, pq, body, NULL, &out, NULL);
  json_error_t je;
  json_t *j = st == 200 && out ? json_loads(out, 0, &je) : NULL;
  if (st != 200) lbt_fail(__FILE__, __LINE__, "%s %s -> %d %s", method, pq, st, out ? out : "");
  free(out);
  return j;
}

json_t *exsim_state(exsim_proc *p) {
  json_t *j = exsim_ctl(p, "GET", "/_exsim/state", NULL);
  REQUIRE(j != NULL);
  return j;
}

void exsim_faults(exsim_proc *p, const char *json_body) {
  json_t *j = exsim_ctl(p, json_body ? "POST" : "DELETE", "/_exsim/faults", json_body);
  REQUIRE(j != NULL);
  json_decref(j);
}

void exsim_mark(exsim_proc *p, const char *symbol, const char *price) {
  char pq[200];
  snprintf(pq, sizeof pq, "/_exsim/mark?symbol=%s&price=%s", symbol, price);
  json_t *j = exsim_ctl(p, "POST", pq, NULL);
  REQUIRE(j != NULL);
  json_decref(j);
}

/* ==== Adapters ==== */

void test_config(lb_config *c, const exsim_proc *p, const char *const *overrides) {
  lb_config_defaults(c);
  lb_cfg_report rep = {0};
  char url[128], ws[128], wsu[128];
  snprintf(url, sizeof url, "http://127.0.0.1:%d", p->rest_port);
  snprintf(ws, sizeof ws, "ws://127.0.0.1:%d/market", p->ws_port);
  snprintf(wsu, sizeof wsu, "ws://127.0.0.1:%d/private", p->ws_port);
  const char *set[][2] = {{"BINANCE_REST_URL", url},
                          {"BINANCE_WS_MARKET_URL", ws},
                          {"BINANCE_WS_USER_URL", wsu},
                          {"BINANCE_API_KEY", EXSIM_KEY},
                          {"BINANCE_API_SECRET", EXSIM_SECRET},
                          {"BINANCE_HTTP_TIMEOUT_MS", "2000"},
                          {"BINANCE_LOOKUP_DELAY_MS", "20"},
                          {"BINANCE_WS_RECONNECT_MIN_MS", "50"},
                          {"BINANCE_WS_RECONNECT_MAX_MS", "400"},
                          {"BINANCE_REST_POLL_MS", "100"},
                          {"BINANCE_MAX_WAIT_SECONDS", "5"}};
  for (size_t i = 0; i < sizeof set / sizeof set[0]; i++)
    REQUIRE_OK(lb_config_set(c, set[i][0], set[i][1], &rep));
  for (int i = 0; overrides && overrides[i]; i++) {
    char name[64];
    const char *eq = strchr(overrides[i], '=');
    REQUIRE(eq != NULL);
    snprintf(name, sizeof name, "%.*s", (int)(eq - overrides[i]), overrides[i]);
    if (lb_config_set(c, name, eq + 1, &rep) != LB_OK) {
      for (int k = 0; k < rep.n_errors; k++) printf("    %s\n", rep.errors[k]);
      REQUIRE(false);
    }
  }
}

xchg *test_adapter(const exsim_proc *p, const char *const *overrides) {
  lb_config c;
  test_config(&c, p, overrides);
  xchg *x = NULL;
  lb_errbuf eb;
  lb_err rc = xchg_binance_new(&c, &lb_clock_system, &x, &eb);
  if (rc) printf("    %s\n", eb.msg);
  REQUIRE_OK(rc);
  return x;
}

static lb_ms tc_now(void *ctx) {
  (void)ctx;
  return lb_time_now_ms();
}
static void tc_sleep(void *ctx, lb_ms d) {
  test_clock_state *st = ctx;
  st->slept_ms += d;
  st->sleeps++;
  if (d > 0) sleep_ms((long)d);
}
lb_clock test_clock(test_clock_state *st) { return (lb_clock){tc_now, tc_sleep, st}; }

bool wait_event(xchg *x, xchg_event_type type, int timeout_ms, xchg_event *out, event_log *log) {
  lb_ms end = lb_time_mono_ms() + timeout_ms;
  while (lb_time_mono_ms() < end) {
    xchg_event ev[64];
    int n = xchg_poll_events(x, ev, 64);
    bool found = false;
    for (int i = 0; i < n; i++) {
      if (log && log->n < 4096) log->ev[log->n++] = ev[i];
      if (!found && ev[i].type == type) {
        if (out) *out = ev[i];
        found = true;
        /* keep collecting the rest of this batch into the log */
      }
    }
    if (found) return true;
    if (n == 0) sleep_ms(5);
  }
  return false;
}

/* ==== State queries ==== */

int count_where(const json_t *state, const char *key, const char *field, const char *value) {
  int n = 0;
  size_t i;
  const json_t *x;
  json_array_foreach(json_object_get(state, key), i, x) {
    const char *v = json_string_value(json_object_get(x, field));
    if (!field || (v && strcmp(v, value) == 0)) n++;
  }
  return n;
}

const json_t *find_where(const json_t *state, const char *key, const char *field, const char *value) {
  size_t i;
  const json_t *x;
  json_array_foreach(json_object_get(state, key), i, x) {
    const char *v = json_string_value(json_object_get(x, field));
    if (v && strcmp(v, value) == 0) return x;
  }
  return NULL;
}

static const json_t *path_get(const json_t *j, const char *path) {
  char part[64];
  while (j && *path) {
    size_t n = strcspn(path, ".");
    snprintf(part, sizeof part, "%.*s", (int)n, path);
    j = json_object_get(j, part);
    path += n;
    if (*path == '.') path++;
  }
  return j;
}

long long state_int(const json_t *state, const char *path) {
  const json_t *v = path_get(state, path);
  return json_is_integer(v) ? (long long)json_integer_value(v) : -999999;
}

const char *state_str(const json_t *state, const char *path) {
  const json_t *v = path_get(state, path);
  return json_is_string(v) ? json_string_value(v) : "";
}
