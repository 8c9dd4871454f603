/* store_pg.c -- the PostgreSQL back end (libpq): postgresql://user:pass@host:port/db.
 *
 * Each pooled connection is opened with connect_timeout, TCP keepalives,
 * and session settings that make results uniform (statement_timeout,
 * TimeZone=UTC, DateStyle=ISO), on top of whatever the user's URL asks
 * for.  Statements are prepared once per connection (PQprepare) and run
 * asynchronously (PQsendQueryPrepared + poll) so every call has a
 * deadline; a call past it is cancelled on the server.
 *
 * Failures are classified by SQLSTATE (class 08 and 57P0x: the server went
 * away, retry; 23 and 22: the row is bad, never retry; 42501: permission);
 * connection failures, which carry no SQLSTATE, by libpq's text.  Every
 * message is scrubbed of the password before it leaves this file.
 *
 * The single-instance lock is pg_try_advisory_lock() on a connection of its
 * own: the server drops it with that session, so a crashed bot frees it.
 */
#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"

struct store_conn {
  PGconn *pg;
  bool prepared[STORE_Q__COUNT];
  bool broken;
  const char *password; /* the cfg's, for scrubbing */
};

/* ==== Messages ==== */

/* libpq messages span lines ("...failed: Connection refused\n\tIs the
 * server running..."): one line, trimmed, password removed. */
static void tidy(char *dst, size_t n, const char *src, const char *password) {
  size_t k = 0;
  bool space = false;
  for (const char *p = src ? src : ""; *p && k + 1 < n; p++) {
    if (*p == '\n' || *p == '\t' || *p == '\r' || *p == ' ') {
      space = k > 0;
      continue;
    }
    if (space && k + 2 < n) dst[k++] = ' ';
    space = false;
    dst[k++] = *p;
  }
  dst[k] = '\0';
  store_scrub(dst, n, password);
}

static bool has(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

/* A failed connection attempt: no SQLSTATE, so the server's (English)
 * text and libpq's own decide.  Unknown failures count as transient, so
 * the writer keeps trying instead of giving up on a ledger row. */
static lb_err connect_fail(const store_cfg *cfg, const char *raw, store_fail *f) {
  char msg[LB_ERRBUF_SIZE];
  tidy(msg, sizeof msg, raw, cfg->password);
  store_diag d = STORE_DIAG_OTHER;
  store_fkind k = STORE_FK_TRANSIENT;
  lb_err code = LB_EDB;
  if (has(msg, "password authentication failed") || has(msg, "no password supplied") ||
      (has(msg, "role \"") && has(msg, "does not exist")) || has(msg, "authentication failed") ||
      has(msg, "pg_hba.conf")) {
    d = STORE_DIAG_AUTH;
    k = STORE_FK_FATAL;
    code = LB_EAUTH;
  } else if (has(msg, "database \"") && has(msg, "does not exist")) {
    d = STORE_DIAG_NO_DATABASE;
    k = STORE_FK_FATAL;
  } else if (has(msg, "timeout expired")) {
    d = STORE_DIAG_TIMEOUT;
    code = LB_ETIMEOUT;
  } else if (has(msg, "Connection refused") || has(msg, "could not translate host name") ||
             has(msg, "No such file or directory") || has(msg, "Network is unreachable") ||
             has(msg, "No route to host") || has(msg, "could not connect")) {
    d = STORE_DIAG_UNREACHABLE;
    code = LB_ENET;
  } else if (has(msg, "permission denied")) {
    d = STORE_DIAG_PERMISSION;
    k = STORE_FK_FATAL;
  }
  return store_failf(f, code, k, d, "%s", msg);
}

static lb_err result_fail(store_conn *c, const PGresult *r, const char *what, store_fail *f) {
  const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  const char *primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
  char msg[LB_ERRBUF_SIZE];
  tidy(msg, sizeof msg, primary ? primary : PQerrorMessage(c->pg), c->password);
  if (PQstatus(c->pg) != CONNECTION_OK) c->broken = true;
  store_fkind k = STORE_FK_FATAL;
  store_diag d = STORE_DIAG_OTHER;
  lb_err code = LB_EDB;
  if (!state || c->broken) {
    k = STORE_FK_TRANSIENT;
    c->broken = true;
  } else if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0 ||
             strncmp(state, "53", 2) == 0 || strcmp(state, "40001") == 0 ||
             strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0) {
    k = STORE_FK_TRANSIENT;
    if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P0", 4) == 0) c->broken = true;
  } else if (strcmp(state, "57014") == 0) {
    k = STORE_FK_TRANSIENT;
    d = STORE_DIAG_TIMEOUT;
    code = LB_ETIMEOUT;
  } else if (strncmp(state, "23", 2) == 0 || strncmp(state, "22", 2) == 0) {
    k = STORE_FK_REJECTED;
  } else if (strcmp(state, "42501") == 0) {
    d = STORE_DIAG_PERMISSION;
  } else if (strcmp(state, "3D000") == 0) {
    d = STORE_DIAG_NO_DATABASE;
  } else if (strncmp(state, "28", 2) == 0) {
    d = STORE_DIAG_AUTH;
    code = LB_EAUTH;
  }
  store_failf(f, code, k, d, "%s: %s%s%s%s", what, msg, state ? " (SQLSTATE " : "",
              state ? state : "", state ? ")" : "");
  if (f && state) snprintf(f->sqlstate, sizeof f->sqlstate, "%s", state);
  return code;
}

/* ==== URL ==== */

lb_err store_pg_parse_url(const char *url, store_url *out, char *password, size_t pwn,
                          store_fail *f) {
  char *err = NULL;
  PQconninfoOption *opts = PQconninfoParse(url, &err);
  if (!opts) {
    char msg[LB_ERRBUF_SIZE];
    tidy(msg, sizeof msg, err ? err : "out of memory", NULL);
    PQfreemem(err);
    return store_failf(f, LB_EINVAL, STORE_FK_FATAL, STORE_DIAG_BAD_URL,
                       "DATABASE_URL is not a valid PostgreSQL URL: %s", msg);
  }
  if (password) password[0] = '\0';
  for (PQconninfoOption *o = opts; o->keyword; o++) {
    if (!o->val) continue;
    if (strcmp(o->keyword, "host") == 0) snprintf(out->host, sizeof out->host, "%s", o->val);
    else if (strcmp(o->keyword, "hostaddr") == 0 && !out->host[0])
      snprintf(out->host, sizeof out->host, "%s", o->val);
    else if (strcmp(o->keyword, "port") == 0) snprintf(out->port, sizeof out->port, "%s", o->val);
    else if (strcmp(o->keyword, "user") == 0) snprintf(out->user, sizeof out->user, "%s", o->val);
    else if (strcmp(o->keyword, "dbname") == 0)
      snprintf(out->dbname, sizeof out->dbname, "%s", o->val);
    else if (strcmp(o->keyword, "password") == 0 && password)
      snprintf(password, pwn, "%s", o->val);
  }
  PQconninfoFree(opts);
  /* For messages, libpq's defaults spelled out: PGUSER, else the login. */
  if (!out->user[0]) {
    const char *u = getenv("PGUSER");
    struct passwd *pw = u && *u ? NULL : getpwuid(geteuid());
    snprintf(out->user, sizeof out->user, "%s", u && *u ? u : pw ? pw->pw_name : "");
  }
  if (!out->dbname[0]) snprintf(out->dbname, sizeof out->dbname, "%s", out->user);
  return LB_OK;
}

/* ==== Connections ==== */

#define KW_MAX 48

/* Server notices ("relation already exists, skipping") are not errors and
 * must not reach the user's terminal. */
static void quiet(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static lb_err pg_connect(const store_cfg *cfg, int timeout_s, store_conn **out, store_fail *f) {
  char *err = NULL;
  PQconninfoOption *opts = PQconninfoParse(cfg->raw_url, &err);
  if (!opts) {
    lb_err e = store_failf(f, LB_EINVAL, STORE_FK_FATAL, STORE_DIAG_BAD_URL,
                           "DATABASE_URL is not a valid PostgreSQL URL");
    PQfreemem(err);
    return e;
  }
  const char *kw[KW_MAX + 1], *val[KW_MAX + 1];
  int n = 0;
  const char *user_options = "", *appname = "levbot";
  bool keepalive_set = false;
  for (PQconninfoOption *o = opts; o->keyword && n < KW_MAX - 8; o++) {
    if (!o->val) continue;
    if (strcmp(o->keyword, "options") == 0) {
      user_options = o->val;
      continue;
    }
    if (strcmp(o->keyword, "connect_timeout") == 0) continue; /* ours (10 s) */
    if (strcmp(o->keyword, "application_name") == 0) appname = o->val;
    if (strncmp(o->keyword, "keepalives", 10) == 0) keepalive_set = true;
    kw[n] = o->keyword;
    val[n++] = o->val;
  }
  char timeout[16], options[1024];
  snprintf(timeout, sizeof timeout, "%d", timeout_s > 0 ? timeout_s : cfg->connect_timeout_s);
  /* The session settings every statement relies on: bounded statements,
   * UTC timestamps in ISO form (store_ts_parse reads them). */
  snprintf(options, sizeof options,
           "%s -c statement_timeout=%d -c TimeZone=UTC -c DateStyle=ISO,YMD -c "
           "extra_float_digits=1",
           user_options, cfg->statement_timeout_ms);
  kw[n] = "connect_timeout", val[n++] = timeout;
  kw[n] = "options", val[n++] = options;
  kw[n] = "application_name", val[n++] = appname;
  kw[n] = "client_encoding", val[n++] = "UTF8";
  if (!keepalive_set) {
    /* A server that vanishes without closing the socket is noticed in
     * about a minute instead of the kernel's two hours. */
    kw[n] = "keepalives", val[n++] = "1";
    kw[n] = "keepalives_idle", val[n++] = "30";
    kw[n] = "keepalives_interval", val[n++] = "10";
    kw[n] = "keepalives_count", val[n++] = "3";
  }
  kw[n] = NULL, val[n] = NULL;
  PGconn *pg = PQconnectdbParams(kw, val, 0);
  PQconninfoFree(opts);
  if (!pg) return store_failf(f, LB_ENOMEM, STORE_FK_TRANSIENT, STORE_DIAG_OTHER, "out of memory");
  if (PQstatus(pg) != CONNECTION_OK) {
    lb_err e = connect_fail(cfg, PQerrorMessage(pg), f);
    PQfinish(pg);
    return e;
  }
  PQsetNoticeProcessor(pg, quiet, NULL);
  store_conn *c = calloc(1, sizeof *c);
  if (!c) {
    PQfinish(pg);
    return store_failf(f, LB_ENOMEM, STORE_FK_TRANSIENT, STORE_DIAG_OTHER, "out of memory");
  }
  c->pg = pg;
  c->password = cfg->password;
  *out = c;
  return LB_OK;
}

static void pg_disconnect(store_conn *c) {
  if (!c) return;
  PQfinish(c->pg);
  free(c);
}

/* ==== Statements ==== */

/* Without a deadline a call still ends: statement_timeout on the server,
 * keepalives on the socket; this is the client's own bound on top. */
#define PG_DEFAULT_WAIT_MS (120 * LB_MS_SECOND)

static void cancel_running(store_conn *c) {
  PGcancel *cn = PQgetCancel(c->pg);
  if (cn) {
    char buf[256];
    PQcancel(cn, buf, sizeof buf);
    PQfreeCancel(cn);
  }
}

/* Waits for every result of the last command; returns the last good one
 * in *out (may be NULL), or the first error. */
static lb_err pg_wait(store_conn *c, const char *what, lb_ms deadline, PGresult **out,
                      store_fail *f) {
  if (out) *out = NULL;
  PGresult *last = NULL;
  lb_err e = LB_OK;
  bool canceled = false;
  for (;;) {
    while (PQisBusy(c->pg)) {
      lb_ms left = deadline - lb_time_mono_ms();
      if (left <= 0) {
        if (canceled) { /* the server ignored the cancel: give the connection up */
          c->broken = true;
          PQclear(last);
          return store_failf(f, LB_ETIMEOUT, STORE_FK_TRANSIENT, STORE_DIAG_TIMEOUT,
                             "%s: timed out", what);
        }
        cancel_running(c);
        canceled = true;
        deadline = lb_time_mono_ms() + 2 * LB_MS_SECOND;
        continue;
      }
      struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
      if (pfd.fd < 0) break;
      int pr = poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
      if (pr < 0 && errno != EINTR) break;
      if (pr > 0 && !PQconsumeInput(c->pg)) break;
    }
    if (PQisBusy(c->pg) || PQstatus(c->pg) != CONNECTION_OK) {
      /* socket gone */
      c->broken = true;
      PQclear(last);
      char msg[LB_ERRBUF_SIZE];
      tidy(msg, sizeof msg, PQerrorMessage(c->pg), c->password);
      return store_failf(f, LB_EDB, STORE_FK_TRANSIENT, STORE_DIAG_UNREACHABLE,
                         "%s: connection lost: %s", what, msg[0] ? msg : "no answer");
    }
    PGresult *r = PQgetResult(c->pg);
    if (!r) break;
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
      if (e == LB_OK) {
        e = result_fail(c, r, what, f);
        if (canceled && f) {
          f->kind = STORE_FK_TRANSIENT;
          f->diag = STORE_DIAG_TIMEOUT;
          f->code = e = LB_ETIMEOUT;
        }
      }
      PQclear(r);
    } else {
      PQclear(last);
      last = r;
    }
    if (c->broken) break;
  }
  if (e != LB_OK || !out) PQclear(last);
  else *out = last;
  return e;
}

static lb_err rows_from(const PGresult *r, store_rows *out) {
  memset(out, 0, sizeof *out);
  if (!r) return LB_OK;
  const char *ct = PQcmdTuples((PGresult *)r);
  out->changes = ct && *ct ? strtol(ct, NULL, 10) : 0;
  int nr = PQntuples(r), nc = PQnfields(r);
  if (nr == 0 || nc == 0) return LB_OK;
  out->cell = calloc((size_t)nr * (size_t)nc, sizeof *out->cell);
  if (!out->cell) return LB_ENOMEM;
  out->nrows = nr;
  out->ncols = nc;
  for (int i = 0; i < nr; i++)
    for (int j = 0; j < nc; j++) {
      if (PQgetisnull(r, i, j)) continue;
      char *v = strdup(PQgetvalue(r, i, j));
      if (!v) {
        store_rows_free(out);
        return LB_ENOMEM;
      }
      out->cell[i * nc + j] = v;
    }
  return LB_OK;
}

static lb_err pg_exec(store_conn *c, int id, const char *sql, const char *const *params, int n,
                      store_rows *out, lb_ms deadline, store_fail *f) {
  if (out) memset(out, 0, sizeof *out);
  if (c->broken || PQstatus(c->pg) != CONNECTION_OK) {
    c->broken = true;
    return store_failf(f, LB_EDB, STORE_FK_TRANSIENT, STORE_DIAG_UNREACHABLE,
                       "connection to the database lost");
  }
  if (deadline <= 0) deadline = lb_time_mono_ms() + PG_DEFAULT_WAIT_MS;
  bool named = id >= 0 && id < STORE_Q__COUNT;
  const char *what = named ? store_stmt_name[id] : "SQL";
  char name[16];
  if (named) {
    snprintf(name, sizeof name, "s%d", id);
    if (!c->prepared[id]) {
      if (!PQsendPrepare(c->pg, name, store_stmt_sql[id], 0, NULL))
        return result_fail(c, NULL, what, f);
      lb_err e = pg_wait(c, what, deadline, NULL, f);
      if (e != LB_OK) return e;
      c->prepared[id] = true;
    }
  }
  int ok;
  if (named) ok = PQsendQueryPrepared(c->pg, name, n, params, NULL, NULL, 0);
  else if (params) ok = PQsendQueryParams(c->pg, sql, n, NULL, params, NULL, NULL, 0);
  else ok = PQsendQuery(c->pg, sql);
  if (!ok) return result_fail(c, NULL, what, f);
  PGresult *r = NULL;
  lb_err e = pg_wait(c, what, deadline, &r, f);
  if (e == LB_OK && out && rows_from(r, out) != LB_OK)
    e = store_failf(f, LB_ENOMEM, STORE_FK_TRANSIENT, STORE_DIAG_OTHER, "out of memory");
  PQclear(r);
  return e;
}

static lb_err pg_simple(store_conn *c, const char *sql, store_fail *f) {
  return pg_exec(c, STORE_Q__COUNT, sql, NULL, 0, NULL, 0, f);
}
static lb_err pg_begin(store_conn *c, store_fail *f) { return pg_simple(c, "BEGIN", f); }
static lb_err pg_commit(store_conn *c, store_fail *f) { return pg_simple(c, "COMMIT", f); }
static void pg_rollback(store_conn *c) {
  if (c->broken || PQtransactionStatus(c->pg) == PQTRANS_IDLE) return;
  store_fail f;
  pg_simple(c, "ROLLBACK", &f);
}
static bool pg_alive(store_conn *c) {
  return !c->broken && PQstatus(c->pg) == CONNECTION_OK &&
         PQtransactionStatus(c->pg) == PQTRANS_IDLE;
}
static void pg_version(store_conn *c, char *buf, size_t n) {
  const char *v = PQparameterStatus(c->pg, "server_version");
  snprintf(buf, n, "PostgreSQL %s", v ? v : "?");
}

/* ==== Instance lock ==== */

typedef struct {
  store_conn *conn;
  char key[24]; /* the advisory lock key, as text */
  char name[128];
  bool held;
} pg_lock;

/* FNV-1a: a stable 64-bit key for the lock name. */
static void lock_key(const char *name, char *buf, size_t n) {
  uint64_t h = UINT64_C(1469598103934665603);
  for (const char *p = "levbot:"; *p; p++) h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
  for (const char *p = name; *p; p++) h = (h ^ (unsigned char)*p) * UINT64_C(1099511628211);
  snprintf(buf, n, "%lld", (long long)(int64_t)h);
}

static lb_err try_lock(pg_lock *l, bool *got, store_fail *f) {
  const char *p[1] = {l->key};
  store_rows r;
  lb_err e = pg_exec(l->conn, STORE_Q__COUNT, "SELECT pg_try_advisory_lock($1::bigint)", p, 1, &r,
                     lb_time_mono_ms() + 10 * LB_MS_SECOND, f);
  if (e != LB_OK) return e;
  *got = r.nrows == 1 && store_cell(&r, 0, 0) && store_cell(&r, 0, 0)[0] == 't';
  store_rows_free(&r);
  return LB_OK;
}

static lb_err pg_lock_take(const store_cfg *cfg, const char *name, void **lock, store_fail *f) {
  pg_lock *l = calloc(1, sizeof *l);
  if (!l) return store_failf(f, LB_ENOMEM, STORE_FK_FATAL, STORE_DIAG_OTHER, "out of memory");
  snprintf(l->name, sizeof l->name, "%s", name);
  lock_key(name, l->key, sizeof l->key);
  lb_err e = pg_connect(cfg, 0, &l->conn, f);
  bool got = false;
  if (e == LB_OK) e = try_lock(l, &got, f);
  if (e == LB_OK && !got)
    e = store_failf(f, LB_EBUSY, STORE_FK_FATAL, STORE_DIAG_OTHER,
                    "another levbot holds the instance lock \"%s\" on database %s", name,
                    cfg->url.dbname);
  if (e != LB_OK) {
    pg_disconnect(l->conn);
    free(l);
    return e;
  }
  l->held = true;
  *lock = l;
  return LB_OK;
}

/* The lock lives in its session: after a server restart it is gone and is
 * taken again if nobody else took it meanwhile. */
static bool pg_lock_check(const store_cfg *cfg, void *lock) {
  pg_lock *l = lock;
  store_fail f;
  if (l->conn && pg_exec(l->conn, STORE_Q__COUNT, "SELECT 1", NULL, 0, NULL,
                         lb_time_mono_ms() + 5 * LB_MS_SECOND, &f) == LB_OK) {
    if (!l->held) try_lock(l, &l->held, &f);
    return l->held;
  }
  pg_disconnect(l->conn);
  l->conn = NULL;
  if (pg_connect(cfg, 5, &l->conn, &f) != LB_OK) {
    l->conn = NULL;
    return true; /* server down: nobody can take it either; check again later */
  }
  bool got = false;
  if (try_lock(l, &got, &f) != LB_OK) return true;
  l->held = got;
  return got;
}

static void pg_lock_release(void *lock) {
  pg_lock *l = lock;
  if (!l) return;
  pg_disconnect(l->conn); /* ending the session releases the advisory lock */
  free(l);
}

const store_driver store_pg_driver = {
    .name = "postgres",
    .backend = STORE_BACKEND_POSTGRES,
    .pool_min = 2,
    .pool_max = 10,
    .serialize_writes = false,
    .migration_lock_sql = "LOCK TABLE schema_migrations IN EXCLUSIVE MODE",
    .connect = pg_connect,
    .disconnect = pg_disconnect,
    .exec = pg_exec,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .alive = pg_alive,
    .version = pg_version,
    .lock_take = pg_lock_take,
    .lock_check = pg_lock_check,
    .lock_release = pg_lock_release,
};
