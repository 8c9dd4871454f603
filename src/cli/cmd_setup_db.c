/* cmd_setup_db.c -- `levbot setup-db`: create or upgrade the database and verify it.
 *
 * Prints one line per step (store_setup does the work) with a check mark or
 * a cross; on a failure, what to do about it, in the terms of the user's
 * DATABASE_URL (host, port, user, database or file), then exits non-zero:
 * 3 for a malformed DATABASE_URL, 7 when the database holds the other
 * trading mode, 5 for every other database failure.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "store/store.h"

typedef struct {
  const store_url *url;
  bool have_url;
  int connect_timeout;
} setup_ctx;

static const char *host_of(const store_url *u) { return u->host[0] ? u->host : "localhost"; }
static const char *port_of(const store_url *u) { return u->port[0] ? u->port : "5432"; }

/* What to do about each kind of failure: the seed's troubleshooting,
 * spelled out for this user's URL. */
static void troubleshoot(const setup_ctx *c, store_diag d) {
  const store_url *u = c->url;
  bool pg = c->have_url && u->backend == STORE_BACKEND_POSTGRES;
  switch (d) {
  case STORE_DIAG_BAD_URL:
    printf("  DATABASE_URL must look like one of:\n"
           "    sqlite://./levbot.db                      (a file; sqlite:///abs/path.db for an absolute path)\n"
           "    postgresql://USER:PASSWORD@HOST:5432/DBNAME\n");
    break;
  case STORE_DIAG_UNREACHABLE:
    printf("  The PostgreSQL server is not running, or not listening on %s port %s.\n"
           "  - check it:   pg_isready -h %s -p %s\n"
           "  - start it:   sudo systemctl start postgresql   (Debian/Ubuntu)\n"
           "  - if it runs elsewhere, fix the host and port in DATABASE_URL; the server's\n"
           "    listen_addresses and port are in postgresql.conf\n",
           host_of(u), port_of(u), host_of(u), port_of(u));
    break;
  case STORE_DIAG_TIMEOUT:
    printf("  No answer from %s port %s within %d s: a wrong host, a firewall dropping the\n"
           "  connection, or an overloaded server.\n"
           "  - check it:   pg_isready -h %s -p %s -t 10\n"
           "  - check the host in DATABASE_URL and any firewall between here and there\n",
           host_of(u), port_of(u), c->connect_timeout, host_of(u), port_of(u));
    break;
  case STORE_DIAG_AUTH:
    printf("  PostgreSQL refused user \"%s\" with the password in DATABASE_URL.\n"
           "  - test it:    psql \"postgresql://%s@%s:%s/%s\"   (asks for the password)\n"
           "  - create the user:   sudo -u postgres createuser --pwprompt %s\n"
           "  - reset the password: sudo -u postgres psql -c \"ALTER ROLE %s PASSWORD '...'\"\n"
           "  - pg_hba.conf must allow this user from this host (scram-sha-256)\n",
           u->user, u->user, host_of(u), port_of(u), u->dbname, u->user, u->user);
    break;
  case STORE_DIAG_NO_DATABASE:
    if (pg)
      printf("  The database \"%s\" does not exist on %s port %s.\n"
             "  - create it:  createdb -h %s -p %s -U %s %s\n"
             "    (or as the postgres superuser: sudo -u postgres createdb -O %s %s)\n",
             u->dbname, host_of(u), port_of(u), host_of(u), port_of(u), u->user, u->dbname,
             u->user, u->dbname);
    else
      printf("  The database file does not exist; levbot setup-db creates it.\n");
    break;
  case STORE_DIAG_PERMISSION:
    if (pg)
      printf("  User \"%s\" may connect but not create or write tables in \"%s\".\n"
             "  - make it the owner: sudo -u postgres psql -c \"ALTER DATABASE %s OWNER TO %s\"\n"
             "  - or grant it:       sudo -u postgres psql -d %s -c \"GRANT ALL ON SCHEMA public TO %s\"\n",
             u->user, u->dbname, u->dbname, u->user, u->dbname, u->user);
    else
      printf("  levbot cannot create or write %s.\n"
             "  - the directory must exist and be writable by this user: ls -ld \"$(dirname %s)\"\n"
             "  - or point DATABASE_URL at a writable place, e.g. sqlite://./levbot.db\n",
             u->path, u->path);
    break;
  case STORE_DIAG_SCHEMA_NEWER:
    printf("  A newer levbot set this database up; this one would not understand its tables.\n"
           "  - upgrade levbot, or point DATABASE_URL at another database\n");
    break;
  case STORE_DIAG_MODE_MISMATCH:
    printf("  Paper and live trading never share a ledger.\n"
           "  - use another DATABASE_URL for this mode (e.g. sqlite://./levbot-live.db), or\n"
           "  - set USE_PAPER_TRADING to match the database\n");
    break;
  default:
    break;
  }
}

static void print_step(void *ctx, const store_setup_step *st) {
  const setup_ctx *c = ctx;
  printf("%s %s: %s\n", st->ok ? "\xE2\x9C\x93" : "\xE2\x9C\x97", st->name, st->detail);
  if (!st->ok) troubleshoot(c, st->diag);
  fflush(stdout);
}

static int setup_db_run(int argc, char **argv) {
  cli_common common;
  int rc = cli_common_parse(&argc, argv, &common);
  if (rc) return rc;
  int timeout = 10;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = NULL;
    if (strcmp(a, "--connect-timeout") == 0) {
      if (i + 1 >= argc)
        return cli_error("setup-db", CLI_EXIT_USAGE, "--connect-timeout needs a number of seconds");
      v = argv[++i];
    } else if (strncmp(a, "--connect-timeout=", 18) == 0) {
      v = a + 18;
    } else {
      return cli_error("setup-db", CLI_EXIT_USAGE, "unknown option %s (see levbot setup-db --help)", a);
    }
    char *end;
    errno = 0;
    long t = strtol(v, &end, 10);
    if (errno || end == v || *end || t < 1 || t > 300)
      return cli_error("setup-db", CLI_EXIT_USAGE,
                       "--connect-timeout %s is not a whole number of seconds in 1..300", v);
    timeout = (int)t;
  }
  lb_config cfg;
  rc = cli_load_config(&common, &cfg);
  if (rc) return rc;

  store_url url;
  lb_errbuf eb;
  setup_ctx ctx = {&url, store_url_parse(cfg.database_url, &url, &eb) == LB_OK, timeout};
  if (ctx.have_url) printf("levbot setup-db: %s (%s)\n", url.masked, store_backend_name(url.backend));
  store_setup_options opt = {.initial_capital = cfg.initial_capital,
                             .mode = cfg.use_paper_trading ? STORE_PAPER : STORE_LIVE,
                             .connect_timeout_s = timeout};
  store_diag diag = STORE_DIAG_NONE;
  lb_err e = store_setup(cfg.database_url, &opt, print_step, &ctx, &diag, &eb);
  if (e == LB_OK) {
    printf("database ready (schema version %d)\n", STORE_SCHEMA_VERSION);
    return CLI_EXIT_OK;
  }
  int code = diag == STORE_DIAG_BAD_URL        ? CLI_EXIT_CONFIG
             : diag == STORE_DIAG_MODE_MISMATCH ? CLI_EXIT_REFUSED
                                                : CLI_EXIT_DB;
  return cli_error("setup-db", code, "database setup failed (exit %d)", code);
}

const cli_cmd cli_cmd_setup_db = {
    "setup-db", "create or upgrade the database (migrations) and verify it",
    "Usage: levbot setup-db [--connect-timeout SECONDS]\n\n"
    "Connects to DATABASE_URL, applies the pending schema migrations (each in a\n"
    "transaction), checks that every table exists, creates the trading_config row\n"
    "(INITIAL_CAPITAL, paper or live from USE_PAPER_TRADING) and tries a write that\n"
    "is rolled back.  One line per step, with a check mark or a cross; a failure\n"
    "prints what to do about it.  Running it again is harmless.\n\n"
    "  --connect-timeout SECONDS  give up connecting after this long (default 10)\n\n"
    "DATABASE_URL:\n"
    "  sqlite://./levbot.db                          (default; a file, created if missing)\n"
    "  postgresql://USER:PASSWORD@HOST:5432/DBNAME   (the database must exist: createdb)\n\n"
    "Exit codes: 0 ready; 3 DATABASE_URL malformed; 5 database error (unreachable,\n"
    "authentication, missing database, permission, newer schema); 7 the database\n"
    "holds the other trading mode (paper vs live).\n\n"
    "Examples:\n"
    "  levbot setup-db\n"
    "  DATABASE_URL=postgresql://levbot:secret@localhost:5432/levbot levbot setup-db",
    setup_db_run};
