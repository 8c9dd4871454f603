/* store_sqlite.c -- the SQLite back end: the embedded default (sqlite://PATH).
 *
 * One sqlite3 handle per pooled connection, in WAL mode (readers never wait
 * for the writer), synchronous=FULL (a commit is on disk when it returns:
 * the ledger's durability), foreign keys on, and a busy timeout for locks
 * held by another process (levbot status beside the bot).  Statements are
 * prepared once per connection and kept.  The single-instance lock is an
 * flock() on "<file>.lock": the kernel drops it when the process dies, so
 * a crash never leaves a stale lock behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

struct store_conn {
  sqlite3 *db;
  sqlite3_stmt *stmt[STORE_Q__COUNT];
  bool broken;
};

/* ==== Errors ==== */

static lb_err sq_fail(sqlite3 *db, int rc, const char *what, store_fail *f) {
  int prim = rc & 0xff;
  const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  store_fkind kind = STORE_FK_FATAL;
  store_diag diag = STORE_DIAG_OTHER;
  lb_err code = LB_EDB;
  switch (prim) {
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    kind = STORE_FK_TRANSIENT;
    code = LB_EBUSY;
    break;
  case SQLITE_INTERRUPT:
    kind = STORE_FK_TRANSIENT;
    diag = STORE_DIAG_TIMEOUT;
    code = LB_ETIMEOUT;
    msg = "timed out";
    break;
  case SQLITE_FULL:
  case SQLITE_IOERR:
  case SQLITE_NOMEM:
  case SQLITE_PROTOCOL:
    kind = STORE_FK_TRANSIENT;
    break;
  case SQLITE_CONSTRAINT:
  case SQLITE_MISMATCH:
  case SQLITE_TOOBIG:
  case SQLITE_RANGE:
    kind = STORE_FK_REJECTED;
    break;
  case SQLITE_READONLY:
  case SQLITE_PERM:
  case SQLITE_AUTH:
  case SQLITE_CANTOPEN:
    diag = STORE_DIAG_PERMISSION;
    break;
  default:
    break;
  }
  return store_failf(f, code, kind, diag, "%s: %s", what, msg);
}

/* ==== Connections ==== */

static lb_err sq_simple(store_conn *c, const char *sql, store_fail *f) {
  int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
  return rc == SQLITE_OK ? LB_OK : sq_fail(c->db, rc, sql, f);
}

/* Why a file cannot be opened, in the user's terms. */
static lb_err sq_open_fail(const store_cfg *cfg, int rc, sqlite3 *db, store_fail *f) {
  const char *path = cfg->url.path;
  char dir[1024];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
  else snprintf(dir, sizeof dir, ".");
  struct stat st;
  if (stat(dir, &st) != 0)
    return store_failf(f, LB_EDB, STORE_FK_FATAL, STORE_DIAG_PERMISSION,
                       "cannot create %s: directory %s does not exist", path, dir);
  if (!S_ISDIR(st.st_mode))
    return store_failf(f, LB_EDB, STORE_FK_FATAL, STORE_DIAG_PERMISSION,
                       "cannot create %s: %s is not a directory", path, dir);
  if (access(dir, W_OK) != 0 && access(path, F_OK) != 0)
    return store_failf(f, LB_EDB, STORE_FK_FATAL, STORE_DIAG_PERMISSION,
                       "cannot create %s: permission denied on directory %s", path, dir);
  return sq_fail(db, rc, path, f);
}

static lb_err sq_connect(const store_cfg *cfg, int timeout_s, store_conn **out, store_fail *f) {
  (void)timeout_s; /* a local file: opening does not wait on anyone */
  const char *path = cfg->url.path;
  if (!cfg->create && access(path, F_OK) != 0)
    return store_failf(f, LB_ENOTFOUND, STORE_FK_FATAL, STORE_DIAG_NO_DATABASE,
                       "database file %s does not exist (create it with levbot setup-db)", path);
  store_conn *c = calloc(1, sizeof *c);
  if (!c) return store_failf(f, LB_ENOMEM, STORE_FK_TRANSIENT, STORE_DIAG_OTHER, "out of memory");
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (cfg->create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path, &c->db, flags, NULL);
  lb_err e = LB_OK;
  if (rc != SQLITE_OK) {
    e = sq_open_fail(cfg, rc, c->db, f);
    goto out;
  }
  sqlite3_extended_result_codes(c->db, 1);
  sqlite3_busy_timeout(c->db, cfg->busy_timeout_ms);
  /* journal_mode=WAL is a property of the file (kept once set); the others
   * are per connection.  The count query makes a non-database file fail
   * here, at open, instead of at the first write. */
  e = sq_simple(c, "PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL; "
                   "PRAGMA journal_mode = WAL; SELECT count(*) FROM sqlite_master", f);
  if (e == LB_OK) {
    *out = c;
    return LB_OK;
  }
  if (f && f->kind == STORE_FK_FATAL && f->diag == STORE_DIAG_OTHER)
    snprintf(f->msg, sizeof f->msg, "%.100s is not a usable SQLite database: %.100s", path,
             sqlite3_errmsg(c->db));
out:
  sqlite3_close(c->db);
  free(c);
  return e;
}

static void sq_disconnect(store_conn *c) {
  if (!c) return;
  for (int i = 0; i < STORE_Q__COUNT; i++) sqlite3_finalize(c->stmt[i]);
  sqlite3_close(c->db);
  free(c);
}

/* ==== Statements ==== */

static int sq_progress(void *arg) {
  lb_ms deadline = *(const lb_ms *)arg;
  return lb_time_mono_ms() >= deadline; /* non-zero interrupts */
}

static lb_err rows_push(store_rows *r, sqlite3_stmt *st, int *cap) {
  int nc = sqlite3_column_count(st);
  if (r->nrows == 0) r->ncols = nc;
  int need = (r->nrows + 1) * nc;
  if (need > *cap) {
    int ncap = *cap ? *cap * 2 : 16 * (nc ? nc : 1);
    while (ncap < need) ncap *= 2;
    char **nc_ = realloc(r->cell, (size_t)ncap * sizeof *nc_);
    if (!nc_) return LB_ENOMEM;
    r->cell = nc_;
    *cap = ncap;
  }
  for (int i = 0; i < nc; i++) {
    char **slot = &r->cell[r->nrows * nc + i];
    if (sqlite3_column_type(st, i) == SQLITE_NULL) {
      *slot = NULL;
      continue;
    }
    const char *t = (const char *)sqlite3_column_text(st, i);
    *slot = strdup(t ? t : "");
    if (!*slot) {
      for (int k = 0; k < i; k++) free(r->cell[r->nrows * nc + k]);
      return LB_ENOMEM;
    }
  }
  r->nrows++;
  return LB_OK;
}

/* Binds, steps to the end, collects rows; leaves st reset. */
static lb_err sq_run(store_conn *c, sqlite3_stmt *st, const char *what, const char *const *params,
                     int n, store_rows *out, store_fail *f) {
  lb_err e = LB_OK;
  int cap = out ? (out->nrows * out->ncols) : 0;
  for (int i = 0; i < n; i++) {
    int rc = params[i] ? sqlite3_bind_text(st, i + 1, params[i], -1, SQLITE_TRANSIENT)
                       : sqlite3_bind_null(st, i + 1);
    if (rc != SQLITE_OK) {
      e = sq_fail(c->db, rc, what, f);
      goto out;
    }
  }
  for (;;) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
      if (out && rows_push(out, st, &cap) != LB_OK) {
        e = store_failf(f, LB_ENOMEM, STORE_FK_TRANSIENT, STORE_DIAG_OTHER, "out of memory");
        goto out;
      }
      continue;
    }
    if (rc == SQLITE_DONE) break;
    e = sq_fail(c->db, rc, what, f);
    goto out;
  }
  if (out && !sqlite3_stmt_readonly(st)) out->changes += (long)sqlite3_changes64(c->db);
out:
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return e;
}

static lb_err sq_exec(store_conn *c, int id, const char *sql, const char *const *params, int n,
                      store_rows *out, lb_ms deadline, store_fail *f) {
  if (out) memset(out, 0, sizeof *out);
  if (deadline > 0) sqlite3_progress_handler(c->db, 1000, sq_progress, &deadline);
  lb_err e = LB_OK;
  if (id >= 0 && id < STORE_Q__COUNT) {
    if (!c->stmt[id]) {
      lb_buf b;
      lb_buf_init(&b);
      if (store_sql_to_sqlite(store_stmt_sql[id], &b) != LB_OK) {
        lb_buf_free(&b);
        e = store_failf(f, LB_ENOMEM, STORE_FK_TRANSIENT, STORE_DIAG_OTHER, "out of memory");
        goto out;
      }
      int rc = sqlite3_prepare_v3(c->db, b.data, -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id], NULL);
      lb_buf_free(&b);
      if (rc != SQLITE_OK) {
        e = sq_fail(c->db, rc, store_stmt_name[id], f);
        goto out;
      }
    }
    e = sq_run(c, c->stmt[id], store_stmt_name[id], params, n, out, f);
    goto out;
  }
  /* Raw SQL: each statement in turn (parameters only for a single one). */
  const char *tail = sql;
  while (tail && *tail) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, tail, -1, &st, &tail);
    if (rc != SQLITE_OK) {
      e = sq_fail(c->db, rc, "SQL", f);
      break;
    }
    if (!st) continue; /* whitespace or a comment */
    if (out) { /* rows of the last statement that returns any */
      store_rows r = {0};
      e = sq_run(c, st, "SQL", params, n, &r, f);
      if (e != LB_OK) {
        store_rows_free(&r);
        sqlite3_finalize(st);
        break;
      }
      long changes = out->changes + r.changes;
      if (r.nrows > 0 || !out->cell) {
        store_rows_free(out);
        *out = r;
      } else {
        store_rows_free(&r);
      }
      out->changes = changes;
    } else {
      e = sq_run(c, st, "SQL", params, n, NULL, f);
    }
    sqlite3_finalize(st);
    if (e != LB_OK) break;
  }
out:
  if (deadline > 0) sqlite3_progress_handler(c->db, 0, NULL, NULL);
  if (e != LB_OK && out) store_rows_free(out);
  return e;
}

static lb_err sq_begin(store_conn *c, store_fail *f) {
  /* IMMEDIATE takes the write lock now, so the transaction never fails
   * half-way for want of it (SQLITE_BUSY_SNAPSHOT in WAL mode). */
  return sq_simple(c, "BEGIN IMMEDIATE", f);
}
static lb_err sq_commit(store_conn *c, store_fail *f) { return sq_simple(c, "COMMIT", f); }
static void sq_rollback(store_conn *c) {
  if (!sqlite3_get_autocommit(c->db)) sqlite3_exec(c->db, "ROLLBACK", NULL, NULL, NULL);
}
static bool sq_alive(store_conn *c) { return !c->broken; }
static void sq_version(store_conn *c, char *buf, size_t n) {
  (void)c;
  snprintf(buf, n, "SQLite %s", sqlite3_libversion());
}

/* ==== Instance lock ==== */

typedef struct {
  int fd;
} sq_lock;

static lb_err sq_lock_take(const store_cfg *cfg, const char *name, void **lock, store_fail *f) {
  (void)name; /* one file, one ledger, one bot */
  char path[1100];
  snprintf(path, sizeof path, "%s.lock", cfg->url.path);
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return store_failf(f, LB_EDB, STORE_FK_FATAL, STORE_DIAG_PERMISSION,
                       "cannot create lock file %s: %s", path, strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = "";
    ssize_t r = pread(fd, pid, sizeof pid - 1, 0);
    pid[r > 0 ? r : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    close(fd);
    return store_failf(f, LB_EBUSY, STORE_FK_FATAL, STORE_DIAG_OTHER,
                       "another levbot (pid %s) is running on %s (lock file %s)",
                       pid[0] ? pid : "?", cfg->url.path, path);
  }
  char pid[32];
  int len = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
    /* the pid is only informative: the flock is what excludes */
  }
  sq_lock *l = malloc(sizeof *l);
  if (!l) {
    close(fd);
    return store_failf(f, LB_ENOMEM, STORE_FK_FATAL, STORE_DIAG_OTHER, "out of memory");
  }
  l->fd = fd;
  *lock = l;
  return LB_OK;
}

static bool sq_lock_check(const store_cfg *cfg, void *lock) {
  (void)cfg;
  (void)lock;
  return true; /* an flock lives as long as its descriptor */
}

static void sq_lock_release(void *lock) {
  sq_lock *l = lock;
  if (!l) return;
  if (ftruncate(l->fd, 0) != 0) { /* informative content only */
  }
  close(l->fd); /* releases the flock */
  free(l);
}

const store_driver store_sqlite_driver = {
    .name = "sqlite",
    .backend = STORE_BACKEND_SQLITE,
    .pool_min = 1,
    .pool_max = 4,
    .serialize_writes = true,
    .migration_lock_sql = NULL,
    .connect = sq_connect,
    .disconnect = sq_disconnect,
    .exec = sq_exec,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .alive = sq_alive,
    .version = sq_version,
    .lock_take = sq_lock_take,
    .lock_check = sq_lock_check,
    .lock_release = sq_lock_release,
};
