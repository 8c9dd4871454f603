/* unit.c -- the runner behind unit.h: registration, filtering, reporting. */
#include "unit.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef LB_SOURCE_DIR
#define LB_SOURCE_DIR "."
#endif
#ifndef LB_SHARED_DIR
#define LB_SHARED_DIR "../shared"
#endif
#ifndef LB_BINARY_DIR
#define LB_BINARY_DIR "."
#endif

typedef struct {
  const char *name, *file;
  lbt_fn fn;
} lbt_case;

static lbt_case *cases;
static int n_cases, cap_cases;
static jmp_buf test_jmp;
static int cur_failed, cur_skipped;
static char skip_reason[512];
static char tmpdir[256];

void lbt_register(const char *name, const char *file, lbt_fn fn) {
  if (n_cases == cap_cases) {
    cap_cases = cap_cases ? cap_cases * 2 : 64;
    cases = realloc(cases, (size_t)cap_cases * sizeof *cases);
    if (!cases) abort();
  }
  cases[n_cases++] = (lbt_case){name, file, fn};
}

void lbt_fail(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stdout, "    %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  cur_failed++;
}

void lbt_abort_test(void) { longjmp(test_jmp, 1); }

void lbt_skip(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(skip_reason, sizeof skip_reason, fmt, ap);
  va_end(ap);
  cur_skipped = 1;
  longjmp(test_jmp, 1);
}

static const char *path_join(const char *base, const char *rel) {
  static char bufs[4][1024];
  static int slot;
  char *b = bufs[slot++ % 4];
  snprintf(b, 1024, "%s/%s", base, rel);
  return b;
}

const char *lbt_source_path(const char *rel) { return path_join(LB_SOURCE_DIR, rel); }
const char *lbt_binary_path(const char *rel) { return path_join(LB_BINARY_DIR, rel); }

const char *lbt_shared_path(const char *rel) {
  const char *env = getenv("LEVBOT_SHARED_DIR");
  return path_join(env && *env ? env : LB_SHARED_DIR, rel);
}

const char *lbt_require_shared(const char *rel) {
  const char *p = lbt_shared_path(rel);
  if (access(p, R_OK) != 0)
    lbt_skip("needs %s from the shared data set (../shared), which is not present here", rel);
  return p;
}

static void remove_tmpdir(void) {
  if (!tmpdir[0] || getenv("LEVBOT_KEEP_TMP")) return;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
}

const char *lbt_tmpdir(void) {
  if (!tmpdir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/levbot-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(tmpdir)) {
      perror("mkdtemp");
      abort();
    }
    atexit(remove_tmpdir);
  }
  return tmpdir;
}

int lbt_run(const char *cmdline, char **out) {
  char *full = malloc(strlen(cmdline) + 16);
  if (!full) return -1;
  snprintf(full, strlen(cmdline) + 16, "%s 2>&1", cmdline);
  FILE *p = popen(full, "r");
  free(full);
  if (!p) return -1;
  size_t cap = 4096, len = 0;
  char *buf = malloc(cap);
  if (!buf) {
    pclose(p);
    return -1;
  }
  size_t n;
  while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
    len += n;
    if (cap - len < 2) {
      char *nb = realloc(buf, cap * 2);
      if (!nb) break;
      buf = nb;
      cap *= 2;
    }
  }
  buf[len] = '\0';
  int st = pclose(p);
  if (out) *out = buf;
  else free(buf);
  if (st == -1 || !WIFEXITED(st)) return -1;
  return WEXITSTATUS(st);
}

unsigned long lbt_seed(void) {
  const char *s = getenv("LEVBOT_TEST_SEED");
  return s && *s ? strtoul(s, NULL, 10) : 20261126UL;
}

int lbt_slowdown(void) {
  const char *s = getenv("LEVBOT_TEST_SLOWDOWN");
  long v = s && *s ? strtol(s, NULL, 10) : 1;
  return v >= 1 && v <= 1000 ? (int)v : 1;
}

static int matches(const char *name, int argc, char **argv) {
  int any = 0;
  for (int i = 1; i < argc; i++) {
    if (argv[i][0] == '-') continue;
    any = 1;
    if (strstr(name, argv[i])) return 1;
  }
  return !any;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int i = 1; i < argc; i++)
    if (strcmp(argv[i], "--list") == 0) {
      for (int k = 0; k < n_cases; k++) printf("%s\n", cases[k].name);
      return 0;
    }
  int passed = 0, failed = 0, skipped = 0;
  for (int k = 0; k < n_cases; k++) {
    if (!matches(cases[k].name, argc, argv)) continue;
    cur_failed = cur_skipped = 0;
    if (setjmp(test_jmp) == 0) cases[k].fn();
    if (cur_failed) {
      failed++;
      printf("FAIL %s (%s)\n", cases[k].name, cases[k].file);
    } else if (cur_skipped) {
      skipped++;
      printf("skip %s: %s\n", cases[k].name, skip_reason);
    } else {
      passed++;
      printf("ok   %s\n", cases[k].name);
    }
  }
  printf("%d passed, %d failed, %d skipped (seed %lu)\n", passed, failed, skipped, lbt_seed());
  free(cases);
  return failed ? 1 : 0;
}
