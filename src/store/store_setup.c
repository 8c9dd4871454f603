/* store_setup.c -- `levbot setup-db`: create or upgrade a database and prove it works.
 *
 * The steps a careful operator would take by hand, each reported as it
 * ends: connect (with the connect timeout), read the schema version
 * (refusing a newer one), apply the pending migrations (each in a
 * transaction, so a failure leaves nothing half-made), check that every
 * table is there, create the trading_config row, and write a row inside a
 * transaction that is rolled back (permissions).  A failure says why in a
 * store_diag so the command prints the matching troubleshooting; an SQLite
 * file that this run created is removed again when a later step fails.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "store/store_int.h"

typedef struct {
  void (*fn)(void *ctx, const store_setup_step *st);
  void *ctx;
  store_diag *diag;
} reporter;

static void ok(reporter *r, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void ok(reporter *r, const char *name, const char *fmt, ...) {
  store_setup_step st = {.name = name, .ok = true};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(st.detail, sizeof st.detail, fmt, ap);
  va_end(ap);
  if (r->fn) r->fn(r->ctx, &st);
}

static lb_err failed(reporter *r, const char *name, const store_fail *f, lb_errbuf *eb) {
  store_setup_step st = {.name = name, .ok = false, .diag = f->diag ? f->diag : STORE_DIAG_OTHER};
  lb_redact(f->msg, st.detail, sizeof st.detail);
  if (r->diag) *r->diag = st.diag;
  if (r->fn) r->fn(r->ctx, &st);
  if (eb) lb_redact(f->msg, eb->msg, sizeof eb->msg);
  return f->code ? f->code : LB_EDB;
}

static const char *plural(long n) { return n == 1 ? "" : "s"; }

/* The row of the write check: inserted and rolled back, never committed. */
static lb_err write_check(store *s, store_fail *f) {
  store_conn *c;
  lb_err e = store_conn_acquire(s, &c, f);
  if (e != LB_OK) return e;
  const store_driver *d = store_driver_of(s);
  char ts[40];
  store_ts_fmt(INT64_C(946684800000), ts, sizeof ts); /* 2000-01-01: no real mark is that old */
  const char *p[4] = {ts, "0", "0", "0"};
  e = d->begin(c, f);
  if (e == LB_OK) e = d->exec(c, STORE_Q_equity_insert, NULL, p, 4, NULL, 0, f);
  d->rollback(c);
  store_conn_release(s, c);
  return e;
}

static lb_err run_steps(store *s, const store_url *u, const store_setup_options *opt,
                        reporter *r, lb_ms t0, lb_errbuf *eb) {
  store_fail f = {0};
  const store_driver *d = store_driver_of(s);
  char ver[64] = "";
  store_conn *c;
  if (store_conn_acquire(s, &c, &f) != LB_OK) return failed(r, "connect", &f, eb);
  d->version(c, ver, sizeof ver);
  store_conn_release(s, c);
  if (u->backend == STORE_BACKEND_SQLITE)
    ok(r, "connect", "%s, file %s%s (%lld ms)", ver, u->path,
       store_created_file(s) ? " (new)" : "", (long long)(lb_time_mono_ms() - t0));
  else
    ok(r, "connect", "%s at %s:%s, database %s, user %s (%lld ms)", ver,
       u->host[0] ? u->host : "local socket", u->port[0] ? u->port : "5432", u->dbname, u->user,
       (long long)(lb_time_mono_ms() - t0));

  int v = 0;
  if (store_schema_version_f(s, &v, &f) != LB_OK) return failed(r, "schema", &f, eb);
  if (v > STORE_SCHEMA_VERSION) {
    store_failf(&f, LB_ESTATE, STORE_FK_FATAL, STORE_DIAG_SCHEMA_NEWER,
                "schema version %d is newer than this levbot (%d): refusing to touch it", v,
                STORE_SCHEMA_VERSION);
    return failed(r, "schema", &f, eb);
  }
  ok(r, "schema", "version %d (this levbot writes version %d)", v, STORE_SCHEMA_VERSION);

  int applied = 0;
  if (store_migrate_f(s, &applied, &f) != LB_OK) return failed(r, "migrations", &f, eb);
  if (applied) ok(r, "migrations", "applied %d migration%s, now at version %d", applied,
                  plural(applied), STORE_SCHEMA_VERSION);
  else ok(r, "migrations", "up to date (version %d)", STORE_SCHEMA_VERSION);

  char missing[STORE_TEXT_MAX] = "";
  int n = 0, n_missing = 0;
  for (const char *const *t = store_tables; *t; t++, n++) {
    char sql[128];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE 1 = 0", *t);
    if (store_run_f(s, STORE_Q__COUNT, sql, NULL, 0, NULL, false, 0, &f) != LB_OK) {
      if (f.kind == STORE_FK_TRANSIENT) return failed(r, "tables", &f, eb);
      size_t len = strlen(missing);
      snprintf(missing + len, sizeof missing - len, "%s%s", n_missing ? ", " : "", *t);
      n_missing++;
    }
  }
  if (n_missing) {
    store_failf(&f, LB_EDB, STORE_FK_FATAL, STORE_DIAG_OTHER, "missing %d of %d tables: %s",
                n_missing, n, missing);
    return failed(r, "tables", &f, eb);
  }
  ok(r, "tables", "all %d present", n);

  store_trading_config cfg;
  lb_errbuf geb;
  bool created = false;
  lb_err e = store_config_get(s, &cfg, &geb);
  if (e == LB_ENOTFOUND) {
    char cap[LB_DEC_STRLEN], ts[40];
    lb_dec_fmt(opt->initial_capital, cap, sizeof cap);
    const char *p[3] = {cap, store_trading_mode_name(opt->mode),
                        store_ts_fmt(lb_time_now_ms(), ts, sizeof ts)};
    if (opt->initial_capital <= 0) {
      store_failf(&f, LB_EINVAL, STORE_FK_FATAL, STORE_DIAG_OTHER,
                  "INITIAL_CAPITAL %s must be > 0", cap);
      return failed(r, "trading_config", &f, eb);
    }
    if (store_run_f(s, STORE_Q_config_insert, NULL, p, 3, NULL, true, 0, &f) != LB_OK)
      return failed(r, "trading_config", &f, eb);
    created = true;
    e = store_config_get(s, &cfg, &geb);
  }
  if (e != LB_OK) {
    store_failf(&f, e, STORE_FK_FATAL, STORE_DIAG_OTHER, "%s", geb.msg);
    return failed(r, "trading_config", &f, eb);
  }
  char ic[LB_DEC_STRLEN], cc[LB_DEC_STRLEN];
  lb_dec_fmt(cfg.initial_capital, ic, sizeof ic);
  lb_dec_fmt(cfg.current_capital, cc, sizeof cc);
  if (cfg.mode != opt->mode) {
    store_failf(&f, LB_ESTATE, STORE_FK_FATAL, STORE_DIAG_MODE_MISMATCH,
                "this database holds %s trading (capital %s) and the configuration says %s",
                store_trading_mode_name(cfg.mode), cc, store_trading_mode_name(opt->mode));
    return failed(r, "trading_config", &f, eb);
  }
  ok(r, "trading_config", "%s trading, initial capital %s, current capital %s (%s)",
     store_trading_mode_name(cfg.mode), ic, cc, created ? "created" : "kept");

  if (write_check(s, &f) != LB_OK) return failed(r, "write check", &f, eb);
  ok(r, "write check", "a row written to equity_snapshots and rolled back");
  return LB_OK;
}

/* Removes an SQLite file (and its WAL companions) this run created. */
static void remove_created(const store_url *u, char *note, size_t n) {
  const char *suffix[] = {"", "-wal", "-shm", "-journal"};
  for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
    char p[1100];
    snprintf(p, sizeof p, "%s%s", u->path, suffix[i]);
    unlink(p);
  }
  snprintf(note, n, "removed the half-made file %.400s", u->path);
}

lb_err store_setup(const char *url, const store_setup_options *opt,
                   void (*step)(void *ctx, const store_setup_step *st), void *ctx,
                   store_diag *diag, lb_errbuf *eb) {
  reporter r = {step, ctx, diag};
  if (diag) *diag = STORE_DIAG_NONE;
  store_fail f = {0};
  store_url u;
  lb_errbuf ueb;
  if (store_url_parse(url, &u, &ueb) != LB_OK) {
    store_failf(&f, LB_EINVAL, STORE_FK_FATAL, STORE_DIAG_BAD_URL, "%s", ueb.msg);
    return failed(&r, "DATABASE_URL", &f, eb);
  }
  store_options o = {0};
  o.connect_timeout_s = opt && opt->connect_timeout_s > 0 ? opt->connect_timeout_s : 10;
  o.pool_min = 1;
  store_setup_options dflt = {.initial_capital = LB_DEC_INT(100), .mode = STORE_PAPER};
  if (!opt) opt = &dflt;
  lb_ms t0 = lb_time_mono_ms();
  store *s = NULL;
  if (store_open_ex(url, &o, STORE_OPEN_NO_SCHEMA_CHECK | STORE_OPEN_CREATE, &s, &f) != LB_OK)
    return failed(&r, "connect", &f, eb);
  lb_err e = run_steps(s, &u, opt, &r, t0, eb);
  bool created = store_created_file(s);
  store_close(s);
  if (e != LB_OK && created && u.backend == STORE_BACKEND_SQLITE) {
    char note[STORE_TEXT_MAX];
    remove_created(&u, note, sizeof note);
    store_setup_step st = {.name = "clean-up", .ok = true};
    snprintf(st.detail, sizeof st.detail, "%s", note);
    if (step) step(ctx, &st);
  }
  return e;
}
