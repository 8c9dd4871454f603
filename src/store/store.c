/* store.c -- opening a store, its connection pool, and the ordered write path.
 *
 * A store is a driver (store_int.h) plus three pieces of machinery that are
 * the same for both back ends:
 *
 *   the pool      connections reused across threads, pool_min opened at
 *                 start, grown to pool_max on demand; after a failed
 *                 connect, readers fail fast until a backoff expires, so a
 *                 health probe never waits on a dead server twice;
 *   the queue     every ledger write, sync or async, becomes a store_witem
 *                 with a sequence number and is written by ONE writer
 *                 thread in that order (store.h W1).  Sync callers wait on
 *                 their sequence number; async callers do not wait at all;
 *   the journal   an append-only file of JSON lines.  When a write fails
 *                 for want of the database, or the memory queue is full,
 *                 the queue moves there (fsync), and the writer replays it
 *                 line by line when the database answers, then truncates
 *                 it.  A journal left by a crash is replayed at the next
 *                 open before anything new.  Replaying a line that was
 *                 already applied is harmless (W2), so the journal needs no
 *                 commit protocol of its own.
 *
 * State of the queue (all under q_mu):
 *
 *     NORMAL  (spill false, journal empty): items in memory, head executing
 *        | a write fails transiently, or memory reaches queue_max
 *        v
 *     SPILL   (spill true): memory items are appended to the journal as
 *        |    soon as the writer sees them; the writer executes journal
 *        |    lines in order, retrying the first with backoff
 *        | the last line is written and memory is empty
 *        v
 *     NORMAL  (journal truncated)
 *
 * Invariants:
 *   Q1. Items are finished in increasing seq order; done_seq is the seq of
 *       the last finished item, so "seq <= done_seq" means written.
 *   Q2. In SPILL, every memory item is newer than every journal line.
 *   Q3. Only the writer removes items; a caller moving the queue to the
 *       journal leaves the executing item (inflight) to the writer.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "store/store_int.h"

#define EV_MAX 16

typedef struct waiter {
  struct waiter *next;
  uint64_t seq;
  bool done;
  lb_err rc;
  char msg[LB_ERRBUF_SIZE];
} waiter;

typedef struct {
  char path[1100];
  int fd;         /* -1: not open */
  bool unusable;  /* no path, or another process owns it */
  bool spill;     /* SPILL state (see above) */
  off_t size;     /* bytes written */
  off_t rpos;     /* next line to replay */
  long pending;   /* lines not yet replayed */
} journal;

struct store {
  const store_driver *drv;
  store_cfg cfg;
  store_options opt;
  unsigned flags;
  bool created_file;

  /* pool */
  pthread_mutex_t pool_mu;
  pthread_cond_t pool_cv;
  store_conn **idle;
  int n_idle, n_open;
  lb_ms readers_retry_at; /* mono ms: readers fail fast before this */
  int connect_failures;
  char down_msg[LB_ERRBUF_SIZE];

  pthread_mutex_t write_mu; /* drivers with serialize_writes */

  /* queue */
  pthread_mutex_t q_mu;
  pthread_cond_t q_work, q_done;
  store_witem *head, *tail;
  long q_len;
  size_t q_bytes;
  uint64_t next_seq, done_seq;
  store_witem *inflight;
  bool inflight_spilled;
  waiter *waiters;
  bool stalled;
  char stall_msg[LB_ERRBUF_SIZE];
  long rejected;
  lb_ms last_commit_at;
  bool stopping, abandon, writer_started;
  pthread_t writer;
  journal j;
  char rejected_path[1200];
  store_event_kind ev_kind[EV_MAX];
  long ev_count[EV_MAX];
  char ev_detail[EV_MAX][LB_ERRBUF_SIZE];
  int n_ev;

  /* instance lock */
  pthread_mutex_t lock_mu;
  void *lock;
  bool lock_lost;

  /* ids */
  pthread_mutex_t id_mu;
  uint64_t id_counter;
  uint32_t id_rand;
};

static lb_ms mono_now(void) { return lb_time_mono_ms(); }

static void deadline_ts(lb_ms mono_deadline, struct timespec *ts) {
  ts->tv_sec = (time_t)(mono_deadline / 1000);
  ts->tv_nsec = (long)(mono_deadline % 1000) * 1000000L;
}

/* Waits on cv until the monotonic deadline (the conds use CLOCK_MONOTONIC). */
static void timed_wait(pthread_cond_t *cv, pthread_mutex_t *mu, lb_ms deadline) {
  struct timespec ts;
  deadline_ts(deadline, &ts);
  pthread_cond_timedwait(cv, mu, &ts);
}

static void cond_init_mono(pthread_cond_t *cv) {
  pthread_condattr_t a;
  pthread_condattr_init(&a);
  pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &a);
  pthread_condattr_destroy(&a);
}

const store_driver *store_driver_of(const store *s) { return s->drv; }
bool store_created_file(const store *s) { return s->created_file; }

/* ==== URL ==== */

const char *store_backend_name(store_backend b) {
  return b == STORE_BACKEND_SQLITE ? "sqlite" : b == STORE_BACKEND_POSTGRES ? "postgres" : "?";
}

static lb_err url_parse_f(const char *url, store_url *out, char *password, size_t pwn,
                          store_fail *f) {
  memset(out, 0, sizeof *out);
  if (password && pwn) password[0] = '\0';
  if (!url || !*url)
    return store_failf(f, LB_EINVAL, STORE_FK_FATAL, STORE_DIAG_BAD_URL,
                       "DATABASE_URL is empty (allowed: sqlite://PATH or "
                       "postgresql://user:password@host:port/dbname)");
  if (strncmp(url, "sqlite://", 9) == 0) {
    out->backend = STORE_BACKEND_SQLITE;
    const char *p = url + 9;
    if (!*p)
      return store_failf(f, LB_EINVAL, STORE_FK_FATAL, STORE_DIAG_BAD_URL,
                         "DATABASE_URL=%s has no file path (e.g. sqlite://./levbot.db)", url);
    if (strlen(p) >= sizeof out->path)
      return store_failf(f, LB_EINVAL, STORE_FK_FATAL, STORE_DIAG_BAD_URL,
                         "DATABASE_URL: the SQLite path is longer than %zu characters",
                         sizeof out->path - 1);
    snprintf(out->path, sizeof out->path, "%s", p);
    snprintf(out->masked, sizeof out->masked, "%s", url);
    return LB_OK;
  }
  if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
    out->backend = STORE_BACKEND_POSTGRES;
    lb_mask_url(url, out->masked, sizeof out->masked);
    return store_pg_parse_url(url, out, password, pwn, f);
  }
  char masked[256];
  lb_mask_url(url, masked, sizeof masked);
  return store_failf(f, LB_EINVAL, STORE_FK_FATAL, STORE_DIAG_BAD_URL,
                     "DATABASE_URL=%s: unknown scheme (allowed: sqlite://PATH, "
                     "postgresql://user:password@host:port/dbname or postgres://...)",
                     masked);
}

lb_err store_url_parse(const char *url, store_url *out, lb_errbuf *eb) {
  store_fail f;
  lb_err e = url_parse_f(url, out, NULL, 0, &f);
  return e ? store_fail_to_eb(&f, eb) : LB_OK;
}

/* ==== Pool ==== */

static lb_err pool_acquire(store *s, bool probe, lb_ms deadline, store_conn **out,
                           store_fail *f) {
  pthread_mutex_lock(&s->pool_mu);
  for (;;) {
    if (s->n_idle > 0) {
      *out = s->idle[--s->n_idle];
      pthread_mutex_unlock(&s->pool_mu);
      return LB_OK;
    }
    if (s->n_open < s->opt.pool_max) {
      if (!probe && mono_now() < s->readers_retry_at) {
        lb_err e = store_failf(f, LB_EDB, STORE_FK_TRANSIENT, STORE_DIAG_UNREACHABLE,
                               "database unavailable: %s", s->down_msg);
        pthread_mutex_unlock(&s->pool_mu);
        return e;
      }
      s->n_open++;
      pthread_mutex_unlock(&s->pool_mu);
      int timeout_s = 0;
      if (deadline > 0) {
        lb_ms left = deadline - mono_now();
        timeout_s = left <= 1000 ? 1 : (int)((left + 999) / 1000);
        if (timeout_s > s->cfg.connect_timeout_s) timeout_s = s->cfg.connect_timeout_s;
      }
      store_conn *c = NULL;
      lb_err e = s->drv->connect(&s->cfg, timeout_s, &c, f);
      pthread_mutex_lock(&s->pool_mu);
      if (e != LB_OK) {
        s->n_open--;
        int backoff = 250 << (s->connect_failures < 4 ? s->connect_failures : 4);
        s->connect_failures++;
        s->readers_retry_at = mono_now() + backoff;
        if (f) snprintf(s->down_msg, sizeof s->down_msg, "%s", f->msg);
        pthread_cond_broadcast(&s->pool_cv);
        pthread_mutex_unlock(&s->pool_mu);
        return e;
      }
      s->connect_failures = 0;
      s->readers_retry_at = 0;
      pthread_mutex_unlock(&s->pool_mu);
      *out = c;
      return LB_OK;
    }
    if (deadline > 0) {
      if (mono_now() >= deadline) {
        pthread_mutex_unlock(&s->pool_mu);
        return store_failf(f, LB_ETIMEOUT, STORE_FK_TRANSIENT, STORE_DIAG_TIMEOUT,
                           "all %d database connections are busy", s->opt.pool_max);
      }
      timed_wait(&s->pool_cv, &s->pool_mu, deadline);
    } else {
      pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    }
  }
}

static void pool_release(store *s, store_conn *c) {
  bool alive = s->drv->alive(c);
  if (alive) s->drv->rollback(c); /* never hand on an open transaction */
  pthread_mutex_lock(&s->pool_mu);
  if (alive && s->drv->alive(c)) {
    s->idle[s->n_idle++] = c;
    c = NULL;
  } else {
    s->n_open--;
  }
  pthread_cond_broadcast(&s->pool_cv);
  pthread_mutex_unlock(&s->pool_mu);
  if (c) s->drv->disconnect(c);
}

/* After one dead connection the idle ones are suspect too (a restart
 * kills them all): drop them so the retry starts fresh. */
static void pool_drop_idle(store *s) {
  pthread_mutex_lock(&s->pool_mu);
  int n = s->n_idle;
  store_conn *dead[64];
  for (int i = 0; i < n && i < 64; i++) dead[i] = s->idle[i];
  s->n_open -= n;
  s->n_idle = 0;
  pthread_cond_broadcast(&s->pool_cv);
  pthread_mutex_unlock(&s->pool_mu);
  for (int i = 0; i < n && i < 64; i++) s->drv->disconnect(dead[i]);
}

lb_err store_conn_acquire(store *s, store_conn **c, store_fail *f) {
  return pool_acquire(s, true, 0, c, f);
}
void store_conn_release(store *s, store_conn *c) { pool_release(s, c); }

lb_err store_run_f(store *s, store_stmt_id id, const char *sql, const char *const *params, int n,
                   store_rows *rows, bool write, int timeout_ms, store_fail *f) {
  lb_ms deadline = timeout_ms > 0 ? mono_now() + timeout_ms : 0;
  for (int attempt = 0;; attempt++) {
    store_conn *c;
    lb_err e = pool_acquire(s, false, deadline, &c, f);
    if (e != LB_OK) return e;
    bool ser = write && s->drv->serialize_writes;
    if (ser) pthread_mutex_lock(&s->write_mu);
    e = s->drv->exec(c, (int)id, sql, params, n, rows, deadline, f);
    if (ser) pthread_mutex_unlock(&s->write_mu);
    bool dead = !s->drv->alive(c);
    pool_release(s, c);
    if (e != LB_OK && dead && attempt == 0 && f->kind == STORE_FK_TRANSIENT) {
      pool_drop_idle(s);
      continue;
    }
    return e;
  }
}

lb_err store_run(store *s, store_stmt_id id, const char *const *params, int n, store_rows *rows,
                 bool write, lb_errbuf *eb) {
  store_fail f;
  lb_err e = store_run_f(s, id, NULL, params, n, rows, write, 0, &f);
  return e ? store_fail_to_eb(&f, eb) : LB_OK;
}

/* ==== Write items ==== */

store_witem *store_witem_new(const char *what) {
  store_witem *w = calloc(1, sizeof *w);
  if (w) {
    w->what = what;
    w->bytes = sizeof *w;
  }
  return w;
}

void store_witem_free(store_witem *w) {
  if (!w) return;
  for (int i = 0; i < w->nsteps; i++)
    for (int k = 0; k < w->step[i].nparams; k++) free(w->step[i].param[k]);
  free(w->step);
  free(w);
}

lb_err store_witem_add(store_witem *w, store_stmt_id stmt, store_expect expect,
                       const char *const *params, int n) {
  if (n > STORE_MAX_PARAMS || w->nsteps >= STORE_MAX_STEPS) return LB_ERANGE;
  if (w->nsteps == w->cap) {
    int cap = w->cap ? w->cap * 2 : 1;
    store_wstep *ns = realloc(w->step, (size_t)cap * sizeof *ns);
    if (!ns) return LB_ENOMEM;
    w->step = ns;
    w->cap = cap;
  }
  store_wstep *st = &w->step[w->nsteps];
  memset(st, 0, sizeof *st);
  st->stmt = stmt;
  st->expect = expect;
  for (int i = 0; i < n; i++) {
    if (!params[i]) continue;
    st->param[i] = strdup(params[i]);
    if (!st->param[i]) {
      for (int k = 0; k < i; k++) free(st->param[k]);
      return LB_ENOMEM;
    }
    w->bytes += strlen(params[i]) + 1;
  }
  st->nparams = n;
  w->nsteps++;
  w->bytes += sizeof *st;
  return LB_OK;
}

char *store_witem_to_json(const store_witem *w) {
  json_t *steps = json_array();
  for (int i = 0; i < w->nsteps; i++) {
    const store_wstep *st = &w->step[i];
    json_t *p = json_array();
    for (int k = 0; k < st->nparams; k++)
      json_array_append_new(p, st->param[k] ? json_string(st->param[k]) : json_null());
    json_array_append_new(steps, json_pack("{s:s, s:i, s:o}", "op", store_stmt_name[st->stmt],
                                           "expect", (int)st->expect, "p", p));
  }
  json_t *root = json_pack("{s:I, s:s, s:o}", "seq", (json_int_t)w->seq, "what",
                           w->what ? w->what : "", "steps", steps);
  char *out = root ? json_dumps(root, JSON_COMPACT) : NULL;
  json_decref(root);
  return out;
}

/* The "what" of a journal item must outlive it: map back to static text. */
static const char *what_static(const char *w) {
  static const char *const known[] = {"trading_config", "trade", "order", "fill", "position",
                                      "breaker event", "AI round", "equity snapshot",
                                      "notification", NULL};
  for (int i = 0; known[i]; i++)
    if (strcmp(known[i], w) == 0) return known[i];
  return "write";
}

store_witem *store_witem_from_json(const char *line, size_t len, store_fail *f) {
  json_error_t jerr;
  json_t *root = json_loadb(line, len, 0, &jerr);
  store_witem *w = NULL;
  json_t *steps = root ? json_object_get(root, "steps") : NULL;
  json_t *seq = root ? json_object_get(root, "seq") : NULL;
  const char *what = root ? json_string_value(json_object_get(root, "what")) : NULL;
  if (!json_is_array(steps) || !json_is_integer(seq)) {
    store_failf(f, LB_EPARSE, STORE_FK_REJECTED, STORE_DIAG_OTHER,
                "journal line is not a write: %s", root ? "missing fields" : jerr.text);
    goto out;
  }
  w = store_witem_new(what_static(what ? what : ""));
  if (!w) goto out;
  w->seq = (uint64_t)json_integer_value(seq);
  size_t i;
  json_t *st;
  json_array_foreach(steps, i, st) {
    const char *op = json_string_value(json_object_get(st, "op"));
    json_t *p = json_object_get(st, "p");
    store_stmt_id id = op ? store_stmt_lookup(op) : STORE_Q__COUNT;
    if (id == STORE_Q__COUNT || !json_is_array(p) || json_array_size(p) > STORE_MAX_PARAMS) {
      store_failf(f, LB_EPARSE, STORE_FK_REJECTED, STORE_DIAG_OTHER,
                  "journal line names an unknown statement \"%s\"", op ? op : "?");
      store_witem_free(w);
      w = NULL;
      goto out;
    }
    const char *params[STORE_MAX_PARAMS];
    int n = (int)json_array_size(p);
    for (int k = 0; k < n; k++) params[k] = json_string_value(json_array_get(p, (size_t)k));
    int expect = (int)json_integer_value(json_object_get(st, "expect"));
    if (store_witem_add(w, id, expect ? STORE_EXPECT_ROW : STORE_EXPECT_ANY, params, n) != LB_OK) {
      store_failf(f, LB_ENOMEM, STORE_FK_TRANSIENT, STORE_DIAG_OTHER, "out of memory");
      store_witem_free(w);
      w = NULL;
      goto out;
    }
  }
out:
  json_decref(root);
  return w;
}

/* ==== Events ==== */

/* Events raised under q_mu are delivered later, outside it, by the writer
 * (or by store_close), so a callback may use the store's read functions. */
static void ev_push_locked(store *s, store_event_kind k, long count, const char *detail) {
  if (!s->opt.on_event) return;
  if (s->n_ev == EV_MAX) { /* coalesce: keep the newest */
    memmove(&s->ev_kind[0], &s->ev_kind[1], (EV_MAX - 1) * sizeof s->ev_kind[0]);
    memmove(&s->ev_count[0], &s->ev_count[1], (EV_MAX - 1) * sizeof s->ev_count[0]);
    memmove(&s->ev_detail[0], &s->ev_detail[1], (EV_MAX - 1) * sizeof s->ev_detail[0]);
    s->n_ev--;
  }
  s->ev_kind[s->n_ev] = k;
  s->ev_count[s->n_ev] = count;
  lb_redact(detail ? detail : "", s->ev_detail[s->n_ev], sizeof s->ev_detail[0]);
  s->n_ev++;
}

/* Called with q_mu held; drops it while the callbacks run. */
static void ev_deliver_locked(store *s) {
  while (s->n_ev > 0) {
    store_event_kind k = s->ev_kind[0];
    long count = s->ev_count[0];
    char detail[LB_ERRBUF_SIZE];
    memcpy(detail, s->ev_detail[0], sizeof detail);
    s->n_ev--;
    memmove(&s->ev_kind[0], &s->ev_kind[1], (size_t)s->n_ev * sizeof s->ev_kind[0]);
    memmove(&s->ev_count[0], &s->ev_count[1], (size_t)s->n_ev * sizeof s->ev_count[0]);
    memmove(&s->ev_detail[0], &s->ev_detail[1], (size_t)s->n_ev * sizeof s->ev_detail[0]);
    pthread_mutex_unlock(&s->q_mu);
    store_event ev = {k, count, detail};
    s->opt.on_event(s->opt.event_ctx, &ev);
    pthread_mutex_lock(&s->q_mu);
  }
}

/* ==== Journal ==== */

static bool journal_open_locked(store *s) {
  journal *j = &s->j;
  if (j->fd >= 0) return true;
  if (j->unusable) return false;
  int fd = open(j->path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    j->unusable = true;
    return false;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) { /* another levbot owns it */
    close(fd);
    j->unusable = true;
    return false;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    j->unusable = true;
    return false;
  }
  j->fd = fd;
  j->size = st.st_size;
  return true;
}

static lb_err write_all(int fd, const char *p, size_t n, off_t at) {
  while (n > 0) {
    ssize_t w = pwrite(fd, p, n, at);
    if (w < 0) {
      if (errno == EINTR) continue;
      return LB_EIO;
    }
    p += w;
    n -= (size_t)w;
    at += w;
  }
  return LB_OK;
}

/* Moves every memory item to the journal (fsync), entering SPILL.  The
 * executing item is written too but left to the writer (Q3).  On failure
 * the journal is cut back and memory is untouched. */
static lb_err journal_spill_locked(store *s, lb_errbuf *eb) {
  if (!s->head) return LB_OK;
  if (!journal_open_locked(s))
    return lb_fail(eb, LB_EIO, "no journal file to keep queued writes (%s%s)", s->j.path,
                   s->j.path[0] ? ": owned by another process or not writable" : "none configured");
  off_t start = s->j.size, at = start;
  long n = 0;
  lb_err e = LB_OK;
  for (store_witem *w = s->head; w && e == LB_OK; w = w->next) {
    char *line = store_witem_to_json(w);
    if (!line) {
      e = LB_ENOMEM;
      break;
    }
    size_t len = strlen(line);
    line[len] = '\0';
    e = write_all(s->j.fd, line, len, at);
    if (e == LB_OK) e = write_all(s->j.fd, "\n", 1, at + (off_t)len);
    at += (off_t)len + 1;
    free(line);
    n++;
  }
  if (e == LB_OK && fsync(s->j.fd) != 0) e = LB_EIO;
  if (e != LB_OK) {
    int err = errno;
    if (ftruncate(s->j.fd, start) != 0) { /* the lines past start are ignored anyway */
    }
    return lb_fail(eb, e, "cannot write journal %s: %s", s->j.path, strerror(err));
  }
  s->j.size = at;
  s->j.pending += n;
  s->j.spill = true;
  for (store_witem *w = s->head, *next; w; w = next) {
    next = w->next;
    if (w == s->inflight) s->inflight_spilled = true;
    else store_witem_free(w);
  }
  s->head = s->tail = NULL;
  s->q_len = 0;
  s->q_bytes = 0;
  ev_push_locked(s, STORE_EV_JOURNALED, n, s->j.path);
  return LB_OK;
}

/* The line at rpos.  NULL with *next == rpos: nothing to read now: either a
 * torn last line from a crash (cut off: it was never acknowledged, no fsync
 * returned) or, with *ioerr, a read error to retry later.  NULL with
 * *next > rpos: a bad line to skip (f says why; *bad gets its text). */
static store_witem *journal_read_locked(store *s, off_t *next, bool *ioerr, lb_buf *bad,
                                        store_fail *f) {
  journal *j = &s->j;
  lb_buf line;
  lb_buf_init(&line);
  off_t at = j->rpos;
  char chunk[4096];
  bool nl = false;
  *ioerr = false;
  while (!nl && at < j->size) {
    size_t want = (size_t)(j->size - at) < sizeof chunk ? (size_t)(j->size - at) : sizeof chunk;
    ssize_t r = pread(j->fd, chunk, want, at);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) { /* the file is shorter than we wrote, or unreadable: never cut it */
      *ioerr = true;
      break;
    }
    char *e = memchr(chunk, '\n', (size_t)r);
    size_t take = e ? (size_t)(e - chunk) : (size_t)r;
    if (lb_buf_append(&line, chunk, take) != LB_OK) {
      *ioerr = true;
      break;
    }
    at += (off_t)take + (e ? 1 : 0);
    nl = e != NULL;
  }
  *next = j->rpos;
  store_witem *w = NULL;
  if (!nl) {
    if (!*ioerr && ftruncate(j->fd, j->rpos) == 0) j->size = j->rpos;
    lb_buf_free(&line);
    return NULL;
  }
  *next = at;
  w = store_witem_from_json(line.data, line.len, f);
  if (!w) lb_buf_puts(bad, line.data);
  lb_buf_free(&line);
  return w;
}

/* Every line written: back to NORMAL.  Memory items, if any, are newer
 * than every line (Q2), so they simply go next from memory. */
static void journal_maybe_done_locked(store *s) {
  journal *j = &s->j;
  if (!j->spill || j->rpos < j->size) return;
  long n = j->pending;
  if (ftruncate(j->fd, 0) == 0) fsync(j->fd);
  j->size = j->rpos = 0;
  j->pending = 0;
  j->spill = false;
  ev_push_locked(s, STORE_EV_REPLAYED, n, j->path);
}

/* A journal found at open (a crash or an outage at the last close): count
 * its lines and continue the sequence after them. */
static void journal_recover(store *s) {
  journal *j = &s->j;
  struct stat st;
  if (j->unusable || stat(j->path, &st) != 0 || st.st_size == 0) return;
  pthread_mutex_lock(&s->q_mu);
  if (journal_open_locked(s) && j->size > 0) {
    uint64_t max_seq = 0;
    long n = 0;
    while (j->rpos < j->size) {
      off_t next;
      lb_buf bad;
      lb_buf_init(&bad);
      store_fail f;
      bool ioerr;
      store_witem *w = journal_read_locked(s, &next, &ioerr, &bad, &f);
      lb_buf_free(&bad);
      if (next == j->rpos) break;
      if (w && w->seq > max_seq) max_seq = w->seq;
      store_witem_free(w);
      j->rpos = next;
      n++;
    }
    j->rpos = 0;
    j->pending = n;
    j->spill = n > 0;
    s->next_seq = max_seq + 1;
  }
  pthread_mutex_unlock(&s->q_mu);
}

static void reject_record(store *s, const char *item_json, const char *why) {
  int fd = open(s->rejected_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return; /* still counted and reported through on_event */
  json_t *o = json_pack("{s:s, s:s}", "error", why, "write", item_json ? item_json : "");
  char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
  if (line) {
    size_t len = strlen(line);
    if (write(fd, line, len) == (ssize_t)len && write(fd, "\n", 1) == 1) fsync(fd);
  }
  free(line);
  json_decref(o);
  close(fd);
}

/* ==== The writer ==== */

static lb_err exec_item(store *s, store_witem *w, store_fail *f) {
  store_conn *c;
  lb_err e = pool_acquire(s, true, 0, &c, f);
  if (e != LB_OK) return e;
  bool ser = s->drv->serialize_writes;
  if (ser) pthread_mutex_lock(&s->write_mu);
  /* SQLite: always a transaction, BEGIN IMMEDIATE, so the write lock is
   * taken (with the busy timeout) before anything is read; an autocommit
   * write could fail at once with SQLITE_BUSY_SNAPSHOT in WAL mode. */
  bool tx = w->nsteps > 1 || s->drv->serialize_writes;
  if (tx) e = s->drv->begin(c, f);
  for (int i = 0; e == LB_OK && i < w->nsteps; i++) {
    const store_wstep *st = &w->step[i];
    store_rows r;
    e = s->drv->exec(c, (int)st->stmt, NULL, (const char *const *)st->param, st->nparams, &r, 0, f);
    if (e != LB_OK) break;
    long changes = r.changes;
    store_rows_free(&r);
    if (st->expect == STORE_EXPECT_ROW && changes == 0) {
      if (st->stmt == STORE_Q_capital_update) /* the only keyless update */
        e = store_failf(f, LB_ENOTFOUND, STORE_FK_REJECTED, STORE_DIAG_OTHER,
                        "trading_config has no row: run levbot setup-db");
      else
        e = store_failf(f, LB_ENOTFOUND, STORE_FK_REJECTED, STORE_DIAG_OTHER, "no such %s: %s",
                        w->what ? w->what : "row", st->param[0] ? st->param[0] : "?");
    }
  }
  if (tx) {
    if (e == LB_OK) e = s->drv->commit(c, f);
    else s->drv->rollback(c);
  }
  if (ser) pthread_mutex_unlock(&s->write_mu);
  bool dead = !s->drv->alive(c);
  pool_release(s, c);
  if (dead) pool_drop_idle(s); /* a restart killed them all: reconnect fresh */
  return e;
}

/* An item is done: wake its sync caller, or, if nobody waits for a refused
 * write, keep it in the .rejected file and say so (W3). */
static void finish_locked(store *s, store_witem *w, lb_err rc, const store_fail *f) {
  if (w->seq > s->done_seq) s->done_seq = w->seq;
  if (rc == LB_OK) s->last_commit_at = lb_time_now_ms();
  bool waited = false;
  for (waiter *x = s->waiters; x; x = x->next)
    if (x->seq == w->seq) {
      x->done = true;
      x->rc = rc;
      snprintf(x->msg, sizeof x->msg, "%s", rc ? f->msg : "");
      waited = true;
    }
  if (rc == LB_OK || waited) return;
  s->rejected++;
  char *json = store_witem_to_json(w);
  reject_record(s, json, f->msg);
  free(json);
  char d[2 * LB_ERRBUF_SIZE + sizeof s->rejected_path];
  snprintf(d, sizeof d, "%s write refused: %s (kept in %s)", w->what ? w->what : "a", f->msg,
           s->rejected_path);
  ev_push_locked(s, STORE_EV_REJECTED, 1, d);
}

static void *writer_main(void *arg) {
  store *s = arg;
  lb_ms retry_at = 0;
  int backoff = 0;
  pthread_mutex_lock(&s->q_mu);
  for (;;) {
    for (;;) {
      ev_deliver_locked(s);
      if (s->j.spill && s->head) journal_spill_locked(s, NULL);
      bool work = s->head || (s->j.spill && s->j.rpos < s->j.size);
      if (s->abandon || (s->stopping && !work)) goto out;
      if (work && mono_now() >= retry_at) break;
      if (work) timed_wait(&s->q_work, &s->q_mu, retry_at);
      else pthread_cond_wait(&s->q_work, &s->q_mu);
    }
    bool from_j = s->j.spill;
    off_t next = 0;
    store_witem *w;
    if (from_j) {
      store_fail f;
      lb_buf bad;
      lb_buf_init(&bad);
      bool ioerr;
      w = journal_read_locked(s, &next, &ioerr, &bad, &f);
      if (!w && ioerr) { /* the disk, not the line: try again later */
        lb_buf_free(&bad);
        if (!s->stalled) ev_push_locked(s, STORE_EV_DB_DOWN, s->j.pending, "cannot read the journal");
        s->stalled = true;
        snprintf(s->stall_msg, sizeof s->stall_msg, "cannot read the journal %.200s: %s",
                 s->j.path, strerror(errno));
        retry_at = mono_now() + s->opt.retry_max_ms;
        continue;
      }
      if (!w) {
        if (next > s->j.rpos) { /* unreadable line: keep it in .rejected, go on */
          reject_record(s, bad.data, f.msg);
          s->rejected++;
          ev_push_locked(s, STORE_EV_REJECTED, 1, f.msg);
          s->j.rpos = next;
          s->j.pending--;
        }
        lb_buf_free(&bad);
        journal_maybe_done_locked(s);
        continue;
      }
      lb_buf_free(&bad);
      if (w->seq <= s->done_seq) { /* written before it was journaled (Q3) */
        store_witem_free(w);
        s->j.rpos = next;
        s->j.pending--;
        journal_maybe_done_locked(s);
        continue;
      }
    } else {
      w = s->head;
    }
    s->inflight = w;
    s->inflight_spilled = false;
    pthread_mutex_unlock(&s->q_mu);

    store_fail f = {0};
    lb_err rc = exec_item(s, w, &f);

    pthread_mutex_lock(&s->q_mu);
    s->inflight = NULL;
    bool spilled = s->inflight_spilled;
    if (rc != LB_OK && f.kind != STORE_FK_REJECTED) {
      /* Not the write's fault: keep it, move the queue to disk, retry. */
      if (!s->stalled) ev_push_locked(s, STORE_EV_DB_DOWN, s->q_len + s->j.pending, f.msg);
      s->stalled = true;
      snprintf(s->stall_msg, sizeof s->stall_msg, "%s", f.msg);
      if (from_j || spilled) store_witem_free(w);
      else journal_spill_locked(s, NULL); /* if it fails, memory keeps them */
      backoff = backoff ? backoff * 2 : 100;
      if (backoff > s->opt.retry_max_ms) backoff = s->opt.retry_max_ms;
      retry_at = mono_now() + backoff;
      pthread_cond_broadcast(&s->q_done);
      continue;
    }
    if (s->stalled) ev_push_locked(s, STORE_EV_DB_UP, s->q_len + s->j.pending, "");
    s->stalled = false;
    backoff = 0;
    retry_at = 0;
    finish_locked(s, w, rc, &f);
    if (from_j) {
      s->j.rpos = next;
      s->j.pending--;
      store_witem_free(w);
      journal_maybe_done_locked(s);
    } else if (spilled) {
      store_witem_free(w);
    } else {
      s->head = w->next;
      if (!s->head) s->tail = NULL;
      s->q_len--;
      s->q_bytes -= w->bytes;
      store_witem_free(w);
    }
    pthread_cond_broadcast(&s->q_done);
  }
out:
  ev_deliver_locked(s);
  pthread_mutex_unlock(&s->q_mu);
  return NULL;
}

/* ==== Submitting ==== */

/* Links w at the tail (its seq in *seq).  w may be freed by the time this
 * returns LB_OK (moved to the journal): the caller must not touch it. */
static lb_err push_locked(store *s, store_witem *w, uint64_t *seq, lb_errbuf *eb) {
  if (s->stopping || !s->writer_started)
    return lb_fail(eb, LB_ESTATE, "the store is closing: %s write not accepted", w->what);
  *seq = w->seq = s->next_seq++;
  w->next = NULL;
  if (s->tail) s->tail->next = w;
  else s->head = w;
  s->tail = w;
  s->q_len++;
  s->q_bytes += w->bytes;
  if (s->q_len <= s->opt.queue_max) return LB_OK;
  /* Full: to the journal with everything before it (W3). */
  lb_errbuf jeb = {{0}};
  if (journal_spill_locked(s, &jeb) == LB_OK) return LB_OK;
  /* No journal: take it back out and fail loudly. */
  store_witem *p = s->head;
  if (p == w) {
    s->head = s->tail = NULL;
  } else {
    while (p->next != w) p = p->next;
    p->next = NULL;
    s->tail = p;
  }
  s->q_len--;
  s->q_bytes -= w->bytes;
  s->next_seq--; /* it was the last number given out: Q1 stays gap-free */
  return lb_fail(eb, LB_EBUSY,
                 "write queue full (%ld writes waiting: %s) and %s: %s write refused",
                 s->q_len, s->stalled ? s->stall_msg : "database slow", jeb.msg, w->what);
}

lb_err store_submit(store *s, store_witem *w, store_wmode mode, lb_errbuf *eb) {
  if (!w) return lb_fail(eb, LB_ENOMEM, "out of memory");
  const char *what = w->what; /* static text: w belongs to the queue after the push */
  uint64_t seq = 0;
  pthread_mutex_lock(&s->q_mu);
  lb_err e = push_locked(s, w, &seq, eb);
  if (e != LB_OK) {
    pthread_mutex_unlock(&s->q_mu);
    store_witem_free(w);
    return e;
  }
  pthread_cond_signal(&s->q_work);
  if (mode == STORE_ASYNC) {
    pthread_mutex_unlock(&s->q_mu);
    return LB_OK;
  }
  waiter me = {.seq = seq};
  me.next = s->waiters;
  s->waiters = &me;
  lb_ms deadline = mono_now() + s->opt.sync_timeout_ms;
  while (!me.done && !s->abandon && mono_now() < deadline)
    timed_wait(&s->q_done, &s->q_mu, deadline);
  for (waiter **pp = &s->waiters; *pp; pp = &(*pp)->next)
    if (*pp == &me) {
      *pp = me.next;
      break;
    }
  bool journaled = s->j.spill;
  char stall[LB_ERRBUF_SIZE];
  snprintf(stall, sizeof stall, "%s", s->stall_msg);
  pthread_mutex_unlock(&s->q_mu);
  if (me.done) {
    if (me.rc == LB_OK) return LB_OK;
    if (eb) lb_redact(me.msg, eb->msg, sizeof eb->msg);
    return me.rc;
  }
  return lb_fail(eb, LB_EDB,
                 "%s not written within %d ms (%s); it stays queued %s and will be written "
                 "when the database answers",
                 what, s->opt.sync_timeout_ms, stall[0] ? stall : "database slow",
                 journaled ? "in the journal" : "in memory");
}

lb_err store_flush(store *s, int timeout_ms, lb_errbuf *eb) {
  pthread_mutex_lock(&s->q_mu);
  uint64_t target = s->next_seq - 1;
  lb_ms deadline = mono_now() + (timeout_ms > 0 ? timeout_ms : 0);
  while (s->done_seq < target && (s->head || (s->j.spill && s->j.rpos < s->j.size) || s->inflight) &&
         mono_now() < deadline)
    timed_wait(&s->q_done, &s->q_mu, deadline);
  bool done = !(s->head || (s->j.spill && s->j.rpos < s->j.size) || s->inflight);
  long left = s->q_len + s->j.pending;
  char stall[LB_ERRBUF_SIZE];
  snprintf(stall, sizeof stall, "%s", s->stall_msg);
  pthread_mutex_unlock(&s->q_mu);
  if (done) return LB_OK;
  return lb_fail(eb, LB_ETIMEOUT, "%ld writes still queued after %d ms%s%s", left, timeout_ms,
                 stall[0] ? ": " : "", stall);
}

/* ==== Ids ==== */

void store_new_id(store *s, const char *prefix, char *buf) {
  pthread_mutex_lock(&s->id_mu);
  uint64_t n = ++s->id_counter;
  pthread_mutex_unlock(&s->id_mu);
  snprintf(buf, STORE_ID_MAX, "%s-%llx-%08x-%llu", prefix, (unsigned long long)lb_time_now_ms(),
           s->id_rand, (unsigned long long)n);
}

/* ==== Schema ==== */

static lb_err table_exists(store *s, store_conn *c, const char *table, bool *yes, store_fail *f) {
  /* The one catalog query that differs: asked through a statement that
   * fails cleanly on both when the table is absent. */
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE 1 = 0", table);
  lb_err e = s->drv->exec(c, STORE_Q__COUNT, sql, NULL, 0, NULL, 0, f);
  if (e == LB_OK) {
    *yes = true;
    return LB_OK;
  }
  *yes = false;
  /* Transient failures are real failures; anything else means "absent". */
  if (f->kind == STORE_FK_TRANSIENT) return e;
  s->drv->rollback(c);
  return LB_OK;
}

static lb_err version_on(store *s, store_conn *c, int *v, store_fail *f) {
  bool yes;
  lb_err e = table_exists(s, c, "schema_migrations", &yes, f);
  if (e != LB_OK) return e;
  if (!yes) {
    *v = 0;
    return LB_OK;
  }
  store_rows r;
  e = s->drv->exec(c, STORE_Q_schema_version, NULL, NULL, 0, &r, 0, f);
  if (e != LB_OK) return e;
  *v = r.nrows == 1 && store_cell(&r, 0, 0) ? (int)strtol(store_cell(&r, 0, 0), NULL, 10) : 0;
  store_rows_free(&r);
  return LB_OK;
}

lb_err store_schema_version_f(store *s, int *version, store_fail *f) {
  store_conn *c;
  lb_err e = pool_acquire(s, false, 0, &c, f);
  if (e != LB_OK) return e;
  e = version_on(s, c, version, f);
  pool_release(s, c);
  return e;
}

lb_err store_schema_version(store *s, int *version, lb_errbuf *eb) {
  store_fail f;
  lb_err e = store_schema_version_f(s, version, &f);
  return e ? store_fail_to_eb(&f, eb) : LB_OK;
}

static lb_err newer_fail(int v, store_fail *f) {
  return store_failf(f, LB_ESTATE, STORE_FK_FATAL, STORE_DIAG_SCHEMA_NEWER,
                     "the database schema is version %d, newer than this levbot knows "
                     "(version %d): upgrade levbot, or use another DATABASE_URL",
                     v, STORE_SCHEMA_VERSION);
}

static lb_err apply_one(store *s, store_conn *c, const store_migration *m, bool *applied,
                        store_fail *f) {
  *applied = false;
  lb_err e = s->drv->begin(c, f);
  if (e != LB_OK) return e;
  if (s->drv->migration_lock_sql)
    e = s->drv->exec(c, STORE_Q__COUNT, s->drv->migration_lock_sql, NULL, 0, NULL, 0, f);
  int v = 0;
  if (e == LB_OK) e = version_on(s, c, &v, f);
  if (e == LB_OK && v >= m->version) { /* another process got there first */
    s->drv->rollback(c);
    return LB_OK;
  }
  lb_buf sql;
  lb_buf_init(&sql);
  for (int i = 0; e == LB_OK && m->sql[i]; i++) {
    if (store_dialect_sql(m->sql[i], s->drv->backend, &sql) != LB_OK) {
      e = store_failf(f, LB_EINVAL, STORE_FK_FATAL, STORE_DIAG_OTHER,
                      "migration %d: bad dialect word in statement %d", m->version, i + 1);
      break;
    }
    e = s->drv->exec(c, STORE_Q__COUNT, sql.data, NULL, 0, NULL, 0, f);
  }
  lb_buf_free(&sql);
  if (e == LB_OK) {
    char ver[16], ts[40];
    snprintf(ver, sizeof ver, "%d", m->version);
    const char *p[3] = {ver, m->name, store_ts_fmt(lb_time_now_ms(), ts, sizeof ts)};
    e = s->drv->exec(c, STORE_Q_migration_record, NULL, p, 3, NULL, 0, f);
  }
  if (e == LB_OK) e = s->drv->commit(c, f);
  if (e != LB_OK) {
    s->drv->rollback(c);
    store_fail_prefix(f, "migration %d (%s) failed and was rolled back: ", m->version, m->name);
    return e;
  }
  *applied = true;
  return LB_OK;
}

lb_err store_migrate_f(store *s, int *applied, store_fail *f) {
  if (applied) *applied = 0;
  store_conn *c;
  lb_err e = pool_acquire(s, false, 0, &c, f);
  if (e != LB_OK) return e;
  bool ser = s->drv->serialize_writes;
  if (ser) pthread_mutex_lock(&s->write_mu);
  int v = 0;
  lb_buf sql;
  lb_buf_init(&sql);
  int target = s->opt.migrate_to;
  e = version_on(s, c, &v, f);
  if (e == LB_OK && v > STORE_SCHEMA_VERSION) e = newer_fail(v, f);
  if (e == LB_OK && v < target) {
    if (store_dialect_sql(store_migrations_table_sql, s->drv->backend, &sql) != LB_OK)
      e = store_failf(f, LB_ENOMEM, STORE_FK_FATAL, STORE_DIAG_OTHER, "out of memory");
    if (e == LB_OK) e = s->drv->exec(c, STORE_Q__COUNT, sql.data, NULL, 0, NULL, 0, f);
    if (e != LB_OK && f->msg[0]) {
      store_fail_prefix(f, "cannot create schema_migrations: ");
    }
  }
  for (int i = 0; e == LB_OK && i < store_n_migrations; i++) {
    if (store_migrations[i].version <= v || store_migrations[i].version > target) continue;
    bool did = false;
    e = apply_one(s, c, &store_migrations[i], &did, f);
    if (did && applied) (*applied)++;
  }
  lb_buf_free(&sql);
  if (ser) pthread_mutex_unlock(&s->write_mu);
  pool_release(s, c);
  return e;
}

lb_err store_migrate(store *s, int *applied, lb_errbuf *eb) {
  store_fail f;
  lb_err e = store_migrate_f(s, applied, &f);
  return e ? store_fail_to_eb(&f, eb) : LB_OK;
}

/* ==== Open and close ==== */

static void options_defaults(store_options *o, const store_driver *d) {
  if (o->pool_min <= 0) o->pool_min = d->pool_min;
  if (o->pool_max <= 0) o->pool_max = d->pool_max;
  if (o->pool_max > 64) o->pool_max = 64;
  if (o->pool_min > o->pool_max) o->pool_min = o->pool_max;
  if (o->connect_timeout_s <= 0) o->connect_timeout_s = 10;
  if (o->statement_timeout_ms <= 0) o->statement_timeout_ms = 60000;
  if (o->busy_timeout_ms <= 0) o->busy_timeout_ms = 5000;
  if (o->sync_timeout_ms <= 0) o->sync_timeout_ms = 15000;
  if (o->close_timeout_ms <= 0) o->close_timeout_ms = 5000;
  if (o->retry_max_ms <= 0) o->retry_max_ms = 5000;
  if (o->queue_max <= 0) o->queue_max = STORE_QUEUE_MAX;
  if (o->migrate_to <= 0 || o->migrate_to > STORE_SCHEMA_VERSION) o->migrate_to = STORE_SCHEMA_VERSION;
}

static void store_free(store *s) {
  if (!s) return;
  if (s->lock) s->drv->lock_release(s->lock);
  for (int i = 0; i < s->n_idle; i++) s->drv->disconnect(s->idle[i]);
  if (s->j.fd >= 0) close(s->j.fd); /* releases the journal's flock */
  for (store_witem *w = s->head, *n; w; w = n) {
    n = w->next;
    store_witem_free(w);
  }
  free(s->idle);
  free(s->cfg.raw_url);
  pthread_mutex_destroy(&s->pool_mu);
  pthread_cond_destroy(&s->pool_cv);
  pthread_mutex_destroy(&s->write_mu);
  pthread_mutex_destroy(&s->q_mu);
  pthread_cond_destroy(&s->q_work);
  pthread_cond_destroy(&s->q_done);
  pthread_mutex_destroy(&s->lock_mu);
  pthread_mutex_destroy(&s->id_mu);
  memset(s->cfg.password, 0, sizeof s->cfg.password);
  free(s);
}

static void journal_paths(store *s) {
  const char *jp = s->opt.journal_path;
  char dflt[1100];
  if (s->drv->backend == STORE_BACKEND_SQLITE)
    snprintf(dflt, sizeof dflt, "%s.pending", s->cfg.url.path);
  else
    snprintf(dflt, sizeof dflt, "./levbot-pending.jsonl");
  snprintf(s->rejected_path, sizeof s->rejected_path, "%s.rejected", jp ? jp : dflt);
  /* The journal belongs to the instance that holds the lock (the bot), or
   * to whoever names it explicitly; other handles (levbot status next to a
   * running bot) must not replay it under the bot's feet. */
  if (jp || s->opt.instance_lock) snprintf(s->j.path, sizeof s->j.path, "%s", jp ? jp : dflt);
  else s->j.unusable = true;
}

lb_err store_open_ex(const char *url, const store_options *opt, unsigned flags, store **out,
                     store_fail *f) {
  *out = NULL;
  store_url u;
  char password[256];
  lb_err e = url_parse_f(url, &u, password, sizeof password, f);
  if (e != LB_OK) return e;
  store *s = calloc(1, sizeof *s);
  if (!s) return store_failf(f, LB_ENOMEM, STORE_FK_FATAL, STORE_DIAG_OTHER, "out of memory");
  s->drv = u.backend == STORE_BACKEND_SQLITE ? &store_sqlite_driver : &store_pg_driver;
  if (opt) s->opt = *opt;
  options_defaults(&s->opt, s->drv);
  s->flags = flags;
  s->cfg.url = u;
  s->cfg.raw_url = strdup(url);
  snprintf(s->cfg.password, sizeof s->cfg.password, "%s", password);
  memset(password, 0, sizeof password);
  s->cfg.connect_timeout_s = s->opt.connect_timeout_s;
  s->cfg.statement_timeout_ms = s->opt.statement_timeout_ms;
  s->cfg.busy_timeout_ms = s->opt.busy_timeout_ms;
  s->cfg.create = (flags & STORE_OPEN_CREATE) || s->opt.migrate;
  s->j.fd = -1;
  s->next_seq = 1;
  pthread_mutex_init(&s->pool_mu, NULL);
  cond_init_mono(&s->pool_cv);
  pthread_mutex_init(&s->write_mu, NULL);
  pthread_mutex_init(&s->q_mu, NULL);
  cond_init_mono(&s->q_work);
  cond_init_mono(&s->q_done);
  pthread_mutex_init(&s->lock_mu, NULL);
  pthread_mutex_init(&s->id_mu, NULL);
  if (getrandom(&s->id_rand, sizeof s->id_rand, 0) != (ssize_t)sizeof s->id_rand)
    s->id_rand = (uint32_t)lb_time_mono_ns() ^ (uint32_t)getpid();
  s->idle = calloc((size_t)s->opt.pool_max, sizeof *s->idle);
  if (!s->cfg.raw_url || !s->idle) {
    e = store_failf(f, LB_ENOMEM, STORE_FK_FATAL, STORE_DIAG_OTHER, "out of memory");
    goto fail;
  }
  if (u.backend == STORE_BACKEND_SQLITE) s->created_file = access(u.path, F_OK) != 0;

  /* The minimum pool, opened now: an unreachable database fails here. */
  for (int i = 0; i < s->opt.pool_min; i++) {
    store_conn *c;
    e = s->drv->connect(&s->cfg, 0, &c, f);
    if (e != LB_OK) goto fail;
    s->idle[s->n_idle++] = c;
    s->n_open++;
  }
  if (!(flags & STORE_OPEN_NO_SCHEMA_CHECK)) {
    int v = 0;
    e = store_schema_version_f(s, &v, f);
    if (e == LB_OK && v > STORE_SCHEMA_VERSION) e = newer_fail(v, f);
    if (e == LB_OK && v < s->opt.migrate_to) {
      if (s->opt.migrate) e = store_migrate_f(s, NULL, f);
      else if (v == 0)
        e = store_failf(f, LB_ESTATE, STORE_FK_FATAL, STORE_DIAG_OTHER,
                        "the database %s is not set up: run levbot setup-db", u.masked);
      else
        e = store_failf(f, LB_ESTATE, STORE_FK_FATAL, STORE_DIAG_OTHER,
                        "the database schema is version %d, this levbot needs %d: run "
                        "levbot setup-db",
                        v, STORE_SCHEMA_VERSION);
    }
    if (e != LB_OK) goto fail;
  }
  if (s->opt.instance_lock) {
    e = s->drv->lock_take(&s->cfg, s->opt.lock_name ? s->opt.lock_name : "levbot", &s->lock, f);
    if (e != LB_OK) goto fail;
  }
  journal_paths(s);
  journal_recover(s);
  if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
    e = store_failf(f, LB_ENOMEM, STORE_FK_FATAL, STORE_DIAG_OTHER, "cannot start the writer thread");
    goto fail;
  }
  s->writer_started = true;
  *out = s;
  return LB_OK;
fail:
  store_free(s);
  return e;
}

lb_err store_open(const char *url, const store_options *opt, store **out, lb_errbuf *eb) {
  store_fail f = {0};
  lb_err e = store_open_ex(url, opt, 0, out, &f);
  return e ? store_fail_to_eb(&f, eb) : LB_OK;
}

void store_close(store *s) {
  if (!s) return;
  if (s->writer_started) {
    pthread_mutex_lock(&s->q_mu);
    s->stopping = true;
    pthread_cond_signal(&s->q_work);
    lb_ms deadline = mono_now() + s->opt.close_timeout_ms;
    while ((s->head || (s->j.spill && s->j.rpos < s->j.size) || s->inflight) &&
           mono_now() < deadline)
      timed_wait(&s->q_done, &s->q_mu, deadline);
    if (s->head) { /* the database did not take them in time: keep them on disk */
      lb_errbuf eb;
      long n = s->q_len;
      if (journal_spill_locked(s, &eb) != LB_OK) ev_push_locked(s, STORE_EV_UNWRITTEN, n, eb.msg);
    }
    s->abandon = true;
    pthread_cond_broadcast(&s->q_work);
    pthread_cond_broadcast(&s->q_done);
    pthread_mutex_unlock(&s->q_mu);
    pthread_join(s->writer, NULL);
    pthread_mutex_lock(&s->q_mu);
    ev_deliver_locked(s);
    pthread_mutex_unlock(&s->q_mu);
  }
  store_free(s);
}

/* ==== Health ==== */

lb_err store_health_check(store *s, int timeout_ms, store_health *out, lb_errbuf *eb) {
  (void)eb;
  memset(out, 0, sizeof *out);
  out->backend = s->drv->backend;
  if (timeout_ms <= 0) timeout_ms = 2000;
  store_fail f = {0};
  store_rows r;
  lb_ms t0 = mono_now();
  lb_err e = store_run_f(s, STORE_Q_schema_version, NULL, NULL, 0, &r, false, timeout_ms, &f);
  out->latency_ms = (long)(mono_now() - t0);
  if (e == LB_OK) {
    out->ok = true;
    out->schema_version = r.nrows == 1 && store_cell(&r, 0, 0)
                              ? (int)strtol(store_cell(&r, 0, 0), NULL, 10)
                              : 0;
    store_rows_free(&r);
  } else {
    lb_redact(f.msg, out->error, sizeof out->error);
  }
  pthread_mutex_lock(&s->q_mu);
  out->queued = s->q_len;
  out->journaled = s->j.pending;
  out->rejected = s->rejected;
  out->writer_stalled = s->stalled;
  out->last_commit_at = s->last_commit_at;
  char stall[LB_ERRBUF_SIZE];
  snprintf(stall, sizeof stall, "%s", s->stall_msg);
  pthread_mutex_unlock(&s->q_mu);
  if (out->ok && out->writer_stalled)
    snprintf(out->error, sizeof out->error, "writes are being retried: %s", stall);
  out->lock_held = true;
  if (s->lock) {
    pthread_mutex_lock(&s->lock_mu);
    bool held = s->drv->lock_check(&s->cfg, s->lock);
    bool newly_lost = !held && !s->lock_lost;
    s->lock_lost = !held;
    pthread_mutex_unlock(&s->lock_mu);
    out->lock_held = held;
    if (!held) {
      out->ok = false;
      snprintf(out->error, sizeof out->error,
               "the single-instance lock was lost: another levbot may be running");
      if (newly_lost) {
        pthread_mutex_lock(&s->q_mu);
        ev_push_locked(s, STORE_EV_LOCK_LOST, 1, out->error);
        pthread_cond_signal(&s->q_work);
        pthread_mutex_unlock(&s->q_mu);
      }
    }
  }
  return LB_OK;
}

/* ==== Raw SQL ==== */

lb_err store_exec_sql(store *s, const char *sql, long *changes, lb_errbuf *eb) {
  store_fail f;
  store_rows r;
  lb_err e = store_run_f(s, STORE_Q__COUNT, sql, NULL, 0, &r, true, 0, &f);
  if (e != LB_OK) return store_fail_to_eb(&f, eb);
  if (changes) *changes = r.changes;
  store_rows_free(&r);
  return LB_OK;
}

lb_err store_query_text(store *s, const char *sql, char **out, lb_errbuf *eb) {
  *out = NULL;
  store_fail f;
  store_rows r;
  lb_err e = store_run_f(s, STORE_Q__COUNT, sql, NULL, 0, &r, false, 0, &f);
  if (e != LB_OK) return store_fail_to_eb(&f, eb);
  if (r.nrows > 0 && r.ncols > 0 && store_cell(&r, 0, 0)) {
    *out = strdup(store_cell(&r, 0, 0));
    if (!*out) e = lb_fail(eb, LB_ENOMEM, "out of memory");
  }
  store_rows_free(&r);
  return e;
}
