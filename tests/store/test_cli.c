/* test_cli.c -- `levbot setup-db` as a user runs it, on both back ends and when things go wrong. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "tb.h"

/* Runs levbot setup-db in dir with the given environment words (and
 * none of the variables a developer's shell may hold); returns the exit
 * code, output (stdout + stderr, lbt_run) in *out. */
static int setup_db(const char *dir, const char *env, const char *args, char **out) {
  char cmd[4096];
  snprintf(cmd, sizeof cmd,
           "cd '%s' && env -u DATABASE_URL -u INITIAL_CAPITAL -u USE_PAPER_TRADING %s '%s' setup-db %s",
           dir, env, lbt_binary_path("levbot"), args ? args : "");
  return lbt_run(cmd, out);
}

static lb_ms wall_ms(void) { return lb_time_mono_ms(); }

TEST(store_setup_db_creates_a_sqlite_database_and_reruns_cleanly) {
  char dir[600], env[800], *out = NULL;
  snprintf(dir, sizeof dir, "%s/cli_sqlite", lbt_tmpdir());
  char mk[700];
  snprintf(mk, sizeof mk, "mkdir -p '%s'", dir);
  REQUIRE_EQ(lbt_run(mk, NULL), 0);
  snprintf(env, sizeof env, "DATABASE_URL=sqlite://./data.db INITIAL_CAPITAL=250.5");
  int rc = setup_db(dir, env, NULL, &out);
  CHECK_EQ(rc, 0);
  CHECK_CONTAINS(out, "\xE2\x9C\x93 connect: SQLite");
  CHECK_CONTAINS(out, "\xE2\x9C\x93 migrations: applied 4 migrations, now at version 4");
  CHECK_CONTAINS(out, "\xE2\x9C\x93 tables: all 12 present");
  CHECK_CONTAINS(out, "paper trading, initial capital 250.5, current capital 250.5 (created)");
  CHECK_CONTAINS(out, "\xE2\x9C\x93 write check");
  CHECK_CONTAINS(out, "database ready");
  CHECK_NOT_CONTAINS(out, "\xE2\x9C\x97");
  free(out);
  rc = setup_db(dir, env, NULL, &out);
  CHECK_EQ(rc, 0);
  CHECK_CONTAINS(out, "migrations: up to date (version 4)");
  CHECK_CONTAINS(out, "(kept)");
  free(out);
  /* The library sees what the command made. */
  char url[700];
  snprintf(url, sizeof url, "sqlite://%s/data.db", dir);
  store *s = NULL;
  lb_errbuf eb;
  REQUIRE_OK(store_open(url, NULL, &s, &eb));
  store_trading_config c;
  CHECK_OK(store_config_get(s, &c, &eb));
  CHECK_EQ(c.initial_capital, 25050000000);
  store_close(s);
  /* Live on the paper ledger: refused for safety (7). */
  snprintf(env, sizeof env, "DATABASE_URL=sqlite://./data.db USE_PAPER_TRADING=false");
  rc = setup_db(dir, env, NULL, &out);
  CHECK_EQ(rc, 7);
  CHECK_CONTAINS(out, "\xE2\x9C\x97 trading_config: this database holds paper trading");
  CHECK_CONTAINS(out, "another DATABASE_URL");
  free(out);
}

TEST(store_setup_db_explains_an_unwritable_sqlite_path) {
  char *out = NULL;
  int rc = setup_db(lbt_tmpdir(), "DATABASE_URL=sqlite:///nonexistent-dir/levbot.db", NULL, &out);
  CHECK_EQ(rc, 5);
  CHECK_CONTAINS(out, "\xE2\x9C\x97 connect: cannot create /nonexistent-dir/levbot.db: directory "
                      "/nonexistent-dir does not exist");
  CHECK_CONTAINS(out, "ls -ld");
  free(out);
  rc = setup_db(lbt_tmpdir(), "DATABASE_URL=mysql://x", NULL, &out);
  CHECK_EQ(rc, 3);
  CHECK_CONTAINS(out, "DATABASE_URL");
  free(out);
}

TEST(store_setup_db_refuses_a_newer_schema) {
  char dir[600], mk[700], *out = NULL;
  snprintf(dir, sizeof dir, "%s/cli_newer", lbt_tmpdir());
  snprintf(mk, sizeof mk, "mkdir -p '%s'", dir);
  REQUIRE_EQ(lbt_run(mk, NULL), 0);
  REQUIRE_EQ(setup_db(dir, "DATABASE_URL=sqlite://./l.db", NULL, &out), 0);
  free(out);
  char url[700];
  snprintf(url, sizeof url, "sqlite://%s/l.db", dir);
  store *s = NULL;
  lb_errbuf eb;
  REQUIRE_OK(store_open(url, NULL, &s, &eb));
  REQUIRE_OK(store_exec_sql(s, "INSERT INTO schema_migrations VALUES (7, 'x', '2030-01-01T00:00:00.000Z')", NULL, &eb));
  store_close(s);
  CHECK_EQ(setup_db(dir, "DATABASE_URL=sqlite://./l.db", NULL, &out), 5);
  CHECK_CONTAINS(out, "\xE2\x9C\x97 schema: schema version 7 is newer than this levbot (4)");
  CHECK_CONTAINS(out, "upgrade levbot");
  free(out);
}

/* A failing step after a new SQLite file was made removes that file. */
static void count_steps(void *ctx, const store_setup_step *st) {
  int *n = ctx;
  if (!st->ok) n[0]++;
  if (strcmp(st->name, "clean-up") == 0) n[1]++;
}

TEST(store_setup_removes_the_sqlite_file_it_created_when_a_step_fails) {
  char url[800], path[700];
  snprintf(path, sizeof path, "%s/half.db", lbt_tmpdir());
  snprintf(url, sizeof url, "sqlite://%s", path);
  store_setup_options o = {.initial_capital = 0, .mode = STORE_PAPER}; /* trading_config fails */
  int n[2] = {0, 0};
  store_diag d;
  lb_errbuf eb;
  CHECK(store_setup(url, &o, count_steps, n, &d, &eb) != LB_OK);
  CHECK_CONTAINS(eb.msg, "INITIAL_CAPITAL 0");
  CHECK_EQ(n[0], 1);
  CHECK_EQ(n[1], 1);
  CHECK(access(path, F_OK) != 0);
}

/* ==== PostgreSQL ==== */

static const char *pg_or_skip(void) {
  const char *u = tb_pg_url();
  if (!u) SKIP("LEVBOT_TEST_PG_URL is not set: run under scripts/with-postgres (make check does)");
  return u;
}

/* The test server's URL with user:password and database replaced. */
static void pg_url(char *out, size_t n, const char *userpass, const char *db) {
  store_url u;
  lb_errbuf eb;
  if (store_url_parse(tb_pg_url(), &u, &eb) != LB_OK) lbt_fail(__FILE__, __LINE__, "%s", eb.msg);
  snprintf(out, n, "postgresql://%s@%s:%s/%s", userpass, u.host, u.port, db);
}

TEST(store_setup_db_on_postgres_creates_the_schema_and_reruns_cleanly) {
  pg_or_skip();
  tb_pg_admin("DROP DATABASE IF EXISTS lbt_cli_ok WITH (FORCE)");
  tb_pg_admin("CREATE DATABASE lbt_cli_ok");
  char url[600], env[800], *out = NULL;
  pg_url(url, sizeof url, "levbot:levbot-test", "lbt_cli_ok");
  snprintf(env, sizeof env, "DATABASE_URL='%s'", url);
  int rc = setup_db(lbt_tmpdir(), env, NULL, &out);
  CHECK_EQ(rc, 0);
  CHECK_CONTAINS(out, "\xE2\x9C\x93 connect: PostgreSQL");
  CHECK_CONTAINS(out, "database lbt_cli_ok, user levbot");
  CHECK_CONTAINS(out, "applied 4 migrations");
  CHECK_CONTAINS(out, "database ready");
  CHECK_NOT_CONTAINS(out, "levbot-test"); /* the password */
  CHECK_CONTAINS(out, "****");
  free(out);
  rc = setup_db(lbt_tmpdir(), env, NULL, &out);
  CHECK_EQ(rc, 0);
  CHECK_CONTAINS(out, "up to date");
  free(out);
  tb_pg_admin("DROP DATABASE IF EXISTS lbt_cli_ok WITH (FORCE)");
}

TEST(store_setup_db_wrong_password_says_authentication_failed) {
  pg_or_skip();
  char url[600], env[800], *out = NULL;
  pg_url(url, sizeof url, "levbot:Wrong-Pass-31337", "levbot");
  snprintf(env, sizeof env, "DATABASE_URL='%s'", url);
  lb_ms t0 = wall_ms();
  int rc = setup_db(lbt_tmpdir(), env, "--connect-timeout 3", &out);
  CHECK(wall_ms() - t0 < 15000);
  CHECK_EQ(rc, 5);
  CHECK_CONTAINS(out, "\xE2\x9C\x97 connect:");
  CHECK_CONTAINS(out, "password authentication failed for user \"levbot\"");
  CHECK_CONTAINS(out, "ALTER ROLE levbot PASSWORD");
  CHECK_NOT_CONTAINS(out, "Wrong-Pass-31337");
  free(out);
}

TEST(store_setup_db_missing_database_says_how_to_create_it) {
  pg_or_skip();
  char url[600], env[800], *out = NULL;
  pg_url(url, sizeof url, "levbot:levbot-test", "lbt_no_such_db");
  snprintf(env, sizeof env, "DATABASE_URL='%s'", url);
  CHECK_EQ(setup_db(lbt_tmpdir(), env, NULL, &out), 5);
  CHECK_CONTAINS(out, "database \"lbt_no_such_db\" does not exist");
  store_url u;
  lb_errbuf eb;
  REQUIRE_OK(store_url_parse(url, &u, &eb));
  char hint[400];
  snprintf(hint, sizeof hint, "createdb -h %s -p %s -U levbot lbt_no_such_db", u.host, u.port);
  CHECK_CONTAINS(out, hint);
  free(out);
}

/* A port on 127.0.0.1 where nothing listens. */
static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  bind(fd, (struct sockaddr *)&a, sizeof a);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

TEST(store_setup_db_server_not_running_points_at_pg_isready) {
  char env[300], hint[128], *out = NULL;
  int port = closed_port();
  snprintf(env, sizeof env, "DATABASE_URL=postgresql://levbot:pw@127.0.0.1:%d/levbot", port);
  lb_ms t0 = wall_ms();
  CHECK_EQ(setup_db(lbt_tmpdir(), env, NULL, &out), 5);
  CHECK(wall_ms() - t0 < 15000);
  CHECK_CONTAINS(out, "Connection refused");
  snprintf(hint, sizeof hint, "pg_isready -h 127.0.0.1 -p %d", port);
  CHECK_CONTAINS(out, hint);
  CHECK_CONTAINS(out, "systemctl start postgresql");
  free(out);
}

TEST(store_setup_db_silent_host_times_out_within_the_connect_timeout) {
  /* A listener that accepts connections in the kernel and never answers:
   * the client waits for the server's reply until its timeout. */
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  REQUIRE(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  REQUIRE(listen(fd, 8) == 0);
  char env[300], *out = NULL;
  snprintf(env, sizeof env, "DATABASE_URL=postgresql://levbot:pw@127.0.0.1:%d/levbot",
           ntohs(a.sin_port));
  lb_ms t0 = wall_ms();
  int rc = setup_db(lbt_tmpdir(), env, "--connect-timeout 2", &out);
  lb_ms took = wall_ms() - t0;
  close(fd);
  CHECK_EQ(rc, 5);
  CHECK(took >= 1900);
  CHECK(took < 12000);
  CHECK_CONTAINS(out, "\xE2\x9C\x97 connect:");
  CHECK_CONTAINS(out, "timeout expired");
  CHECK_CONTAINS(out, "No answer from 127.0.0.1");
  CHECK_CONTAINS(out, "pg_isready");
  free(out);
}

TEST(store_setup_db_permission_denied_explains_grants_and_leaves_nothing) {
  pg_or_skip();
  tb_pg_admin("DROP DATABASE IF EXISTS lbt_cli_perm WITH (FORCE)");
  tb_pg_admin("DROP ROLE IF EXISTS lbt_reader");
  tb_pg_admin("CREATE ROLE lbt_reader LOGIN PASSWORD 'reader-pw'");
  tb_pg_admin("CREATE DATABASE lbt_cli_perm"); /* owned by levbot; public schema not writable */
  char url[600], env[800], *out = NULL;
  pg_url(url, sizeof url, "lbt_reader:reader-pw", "lbt_cli_perm");
  snprintf(env, sizeof env, "DATABASE_URL='%s'", url);
  CHECK_EQ(setup_db(lbt_tmpdir(), env, NULL, &out), 5);
  CHECK_CONTAINS(out, "\xE2\x9C\x93 connect");
  CHECK_CONTAINS(out, "\xE2\x9C\x97 migrations:");
  CHECK_CONTAINS(out, "permission denied");
  CHECK_CONTAINS(out, "GRANT ALL ON SCHEMA public TO lbt_reader");
  free(out);
  /* Nothing half-made: not one table. */
  char admin[600];
  pg_url(admin, sizeof admin, "levbot:levbot-test", "lbt_cli_perm");
  store *s = NULL;
  lb_errbuf eb;
  store_options o = {0};
  o.migrate = false;
  CHECK(store_open(admin, &o, &s, &eb) != LB_OK); /* "not set up" */
  CHECK_CONTAINS(eb.msg, "not set up");
  tb_pg_admin("DROP DATABASE IF EXISTS lbt_cli_perm WITH (FORCE)");
  tb_pg_admin("DROP ROLE IF EXISTS lbt_reader");
}
