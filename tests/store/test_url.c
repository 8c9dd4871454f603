/* test_url.c -- DATABASE_URL forms and their errors. */
#include "core/config.h"
#include "tb.h"

TEST(store_url_sqlite_path_is_what_follows_the_scheme) {
  store_url u;
  lb_errbuf eb;
  REQUIRE_OK(store_url_parse("sqlite://./levbot.db", &u, &eb));
  CHECK_EQ(u.backend, STORE_BACKEND_SQLITE);
  CHECK_STREQ(u.path, "./levbot.db");
  REQUIRE_OK(store_url_parse("sqlite:///var/lib/levbot/levbot.db", &u, &eb));
  CHECK_STREQ(u.path, "/var/lib/levbot/levbot.db");
  CHECK_EQ(store_url_parse("sqlite://", &u, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "no file path");
}

TEST(store_url_postgres_parts_and_masked_password) {
  store_url u;
  lb_errbuf eb;
  REQUIRE_OK(store_url_parse("postgresql://bot:s3cr3t-pw@db.example:6543/ledger?sslmode=require", &u, &eb));
  CHECK_EQ(u.backend, STORE_BACKEND_POSTGRES);
  CHECK_STREQ(u.host, "db.example");
  CHECK_STREQ(u.port, "6543");
  CHECK_STREQ(u.user, "bot");
  CHECK_STREQ(u.dbname, "ledger");
  CHECK_NOT_CONTAINS(u.masked, "s3cr3t-pw");
  CHECK_CONTAINS(u.masked, "****");
  REQUIRE_OK(store_url_parse("postgres://bot@localhost/ledger", &u, &eb));
  CHECK_EQ(u.backend, STORE_BACKEND_POSTGRES);
  CHECK_EQ(store_url_parse("mysql://bot:pw@h/db", &u, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "unknown scheme");
  CHECK_NOT_CONTAINS(eb.msg, ":pw@");
  CHECK_EQ(store_url_parse("postgresql://bot:pw@h/db?no_such_param=1", &u, &eb), LB_EINVAL);
  CHECK_CONTAINS(eb.msg, "not a valid PostgreSQL URL");
  CHECK_STREQ(store_backend_name(STORE_BACKEND_SQLITE), "sqlite");
}

TEST(store_open_errors_never_show_the_password) {
  store *s = NULL;
  lb_errbuf eb = {{0}};
  store_options o = {.connect_timeout_s = 2};
  CHECK(store_open("postgresql://bot:Hunter2-Secret@127.0.0.1:1/db", &o, &s, &eb) != LB_OK);
  CHECK(s == NULL);
  CHECK_NOT_CONTAINS(eb.msg, "Hunter2-Secret");
  CHECK_CONTAINS(eb.msg, "127.0.0.1");
}

/* check_store() in config_check.c: a bad DATABASE_URL is a start-up error. */
static int config_errors(const char *assign, char *first, size_t n) {
  char *env[] = {(char *)assign, NULL};
  lb_config c;
  lb_cfg_report rep = {0};
  lb_cfg_source src = {.env_file = "/nonexistent/levbot.env", .envp = env};
  lb_config_load(&c, &src, &rep);
  snprintf(first, n, "%s", rep.n_errors ? rep.errors[0] : "");
  return rep.n_errors;
}

TEST(store_config_check_refuses_an_unknown_database_url_scheme) {
  char msg[256];
  CHECK_EQ(config_errors("DATABASE_URL=mysql://bot:pw-123456@h/db", msg, sizeof msg), 1);
  CHECK_CONTAINS(msg, "DATABASE_URL=mysql://bot:****@h/db: unknown scheme");
  CHECK_EQ(config_errors("DATABASE_URL=sqlite://", msg, sizeof msg), 1);
  CHECK_CONTAINS(msg, "no file path");
  CHECK_EQ(config_errors("DATABASE_URL=postgres://bot:pw@localhost/levbot", msg, sizeof msg), 0);
  CHECK_EQ(config_errors("DATABASE_URL=sqlite:///var/lib/levbot.db", msg, sizeof msg), 0);
}
