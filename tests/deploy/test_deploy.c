/* test_deploy.c -- the fast part of the deployment checks, on every build:
 * the compose file, .env.example and Dockerfile rules
 * (deploy/check-deploy-files.py), the systemd unit (systemd-analyze verify
 * against a scratch root holding the built binary), the container
 * entrypoint's behaviour (driven with a stand-in levbot that records its
 * calls), and the .dockerignore rules of the chroot verifier.  The full
 * image build in chroots is deploy/verify-chroot, run by hand
 * (docs/deploy.md says why).
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "unit.h"

static void write_file(const char *path, const char *text, int mode) {
  FILE *f = fopen(path, "w");
  if (!f) {
    lbt_fail(__FILE__, __LINE__, "cannot write %s", path);
    lbt_abort_test();
  }
  fputs(text, f);
  fclose(f);
  chmod(path, (mode_t)mode);
}

static char *read_all(const char *path) {
  lb_buf b;
  lb_buf_init(&b);
  lb_errbuf eb;
  if (lb_buf_read_file(&b, path, 0, &eb) != LB_OK) {
    lb_buf_free(&b);
    return NULL;
  }
  return lb_buf_steal(&b);
}

TEST(deploy_compose_env_example_and_dockerfile_pass_the_static_checks) {
  char cmd[1024], *out;
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s'", lbt_source_path("deploy/check-deploy-files.py"),
           lbt_source_path("."));
  int rc = lbt_run(cmd, &out);
  if (rc != 0) lbt_fail(__FILE__, __LINE__, "check-deploy-files.py exited %d:\n%s", rc, out);
  CHECK_CONTAINS(out, "PASS  every variable the compose file references is in .env.example");
  CHECK_CONTAINS(out, "PASS  bot waits for the database to be healthy");
  CHECK_NOT_CONTAINS(out, "FAIL");
  free(out);
}

TEST(deploy_static_checks_catch_an_undocumented_compose_variable) {
  /* The checker must be able to fail: a copy of the repository files with
   * one more ${VARIABLE} in the compose file. */
  const char *dir = lbt_tmpdir();
  char cmd[4096], *out;
  snprintf(cmd, sizeof cmd,
           "mkdir -p '%s/repo' && cd '%s' && cp docker-compose.yml Dockerfile .dockerignore .gitignore .env.example "
           "'%s/repo/' && sed -i 's/HEALTH_HOST: 0.0.0.0/HEALTH_HOST: ${NOT_DOCUMENTED_ANYWHERE}/' "
           "'%s/repo/docker-compose.yml' && /usr/bin/python3 '%s' '%s/repo'",
           dir, lbt_source_path("."), dir, dir, lbt_source_path("deploy/check-deploy-files.py"), dir);
  CHECK_EQ(lbt_run(cmd, &out), 1);
  CHECK_CONTAINS(out, "missing: ['NOT_DOCUMENTED_ANYWHERE']");
  free(out);
}

TEST(deploy_systemd_unit_verifies_with_systemd_analyze) {
  if (lbt_run("command -v systemd-analyze >/dev/null && test -d /lib/systemd/system", NULL) != 0)
    SKIP("systemd-analyze or /lib/systemd/system not present on this machine");
  const char *dir = lbt_tmpdir();
  char cmd[4096], *out;
  /* A scratch root: the host's unit directory (for the targets the unit
   * names), the unit and the built binary where the unit expects them. */
  snprintf(cmd, sizeof cmd,
           "r='%s/sa-root' && mkdir -p $r/etc/systemd/system $r/usr/local/bin $r/lib/systemd && "
           "cp -a /lib/systemd/system $r/lib/systemd/ && cp '%s' $r/etc/systemd/system/levbot.service && "
           "cp '%s' $r/usr/local/bin/levbot && systemd-analyze verify --root=$r /etc/systemd/system/levbot.service",
           dir, lbt_source_path("deploy/levbot.service"), lbt_binary_path("levbot"));
  int rc = lbt_run(cmd, &out);
  CHECK_EQ(rc, 0);
  /* systemd-analyze exits 0 on many problems and only warns: any output fails. */
  if (out && *out) lbt_fail(__FILE__, __LINE__, "systemd-analyze verify said:\n%s", out);
  free(out);
  char *unit = read_all(lbt_source_path("deploy/levbot.service"));
  REQUIRE(unit);
  const char *must[] = {"\nUser=levbot\n", "\nEnvironmentFile=/etc/levbot/levbot.env\n", "\nRestart=on-failure\n",
                        "\nProtectSystem=strict\n", "\nNoNewPrivileges=yes\n", "\nStateDirectory=levbot\n",
                        "\nExecStart=/usr/local/bin/levbot run\n"};
  for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) CHECK_CONTAINS(unit, must[i]);
  free(unit);
}

/* ---- the entrypoint, with a stand-in levbot ---- */

/* A fake levbot that appends its arguments to calls.log and exits with the
 * next code from codes (one per line; 0 when the list is used up). */
static const char *fake_levbot(const char *codes) {
  static char bin[512];
  const char *dir = lbt_tmpdir();
  char path[600], log[600], list[600];
  snprintf(bin, sizeof bin, "%s/fakebin", dir);
  snprintf(path, sizeof path, "mkdir -p '%s'", bin);
  lbt_run(path, NULL);
  snprintf(log, sizeof log, "%s/calls.log", dir);
  snprintf(list, sizeof list, "%s/codes", dir);
  remove(log);
  write_file(list, codes, 0644);
  char script[2048];
  snprintf(script, sizeof script,
           "#!/bin/sh\necho \"$*\" >> '%s'\n"
           "c=$(head -n 1 '%s'); sed -i 1d '%s'; exit ${c:-0}\n",
           log, list, list);
  snprintf(path, sizeof path, "%s/levbot", bin);
  write_file(path, script, 0755);
  return bin;
}

/* Runs deploy/entrypoint.sh with args and the fake levbot (exit codes from
 * codes); *calls gets the fake's argument lines, *out the script's output. */
static int entrypoint(const char *codes, const char *env, const char *args, char **calls, char **out) {
  char cmd[2048], log[600];
  const char *bin = fake_levbot(codes);
  snprintf(cmd, sizeof cmd,
           "env -i PATH='%s:/usr/bin:/bin' LEVBOT_SETUP_DB_TRIES=3 LEVBOT_SETUP_DB_DELAY=0 %s /bin/sh '%s' %s", bin,
           env ? env : "", lbt_source_path("deploy/entrypoint.sh"), args);
  int rc = lbt_run(cmd, out);
  snprintf(log, sizeof log, "%s/calls.log", lbt_tmpdir());
  *calls = read_all(log);
  if (!*calls) *calls = calloc(1, 1);
  return rc;
}

TEST(deploy_entrypoint_runs_setup_db_before_run_and_passes_other_commands_through) {
  char *calls, *out;
  CHECK_EQ(entrypoint("0\n0\n", NULL, "", &calls, &out), 0);
  CHECK_STREQ(calls, "setup-db\nrun\n"); /* no argument: the default command is run */
  free(calls);
  free(out);
  CHECK_EQ(entrypoint("0\n0\n", NULL, "run --live", &calls, &out), 0);
  CHECK_STREQ(calls, "setup-db\nrun --live\n");
  free(calls);
  free(out);
  CHECK_EQ(entrypoint("0\n", NULL, "backtest --data x.csv", &calls, &out), 0);
  CHECK_STREQ(calls, "backtest --data x.csv\n");
  free(calls);
  free(out);
  CHECK_EQ(entrypoint("0\n", "LEVBOT_SETUP_DB=0", "run", &calls, &out), 0);
  CHECK_STREQ(calls, "run\n");
  free(calls);
  free(out);
  /* The bot's own exit code is the container's. */
  CHECK_EQ(entrypoint("0\n7\n", NULL, "run", &calls, &out), 7);
  free(calls);
  free(out);
}

TEST(deploy_entrypoint_waits_for_the_database_but_not_for_a_bad_configuration) {
  char *calls, *out;
  /* Exit 5 (database unreachable) twice, then success: run starts. */
  CHECK_EQ(entrypoint("5\n5\n0\n0\n", NULL, "run", &calls, &out), 0);
  CHECK_STREQ(calls, "setup-db\nsetup-db\nsetup-db\nrun\n");
  CHECK_CONTAINS(out, "database not ready (attempt 1 of 3)");
  free(calls);
  free(out);
  /* Still unreachable after LEVBOT_SETUP_DB_TRIES: give up with that code. */
  CHECK_EQ(entrypoint("5\n5\n5\n0\n", NULL, "run", &calls, &out), 5);
  CHECK_STREQ(calls, "setup-db\nsetup-db\nsetup-db\n");
  CHECK_CONTAINS(out, "attempt 3 of 3");
  free(calls);
  free(out);
  /* Invalid configuration (3): no retry, run never starts. */
  CHECK_EQ(entrypoint("3\n0\n", NULL, "run", &calls, &out), 3);
  CHECK_STREQ(calls, "setup-db\n");
  free(calls);
  free(out);
}

TEST(deploy_chroot_verifier_applies_dockerignore_like_docker) {
  /* The verifier's build context must leave out exactly what Docker would:
   * above all every .env file (secrets) but not .env.example. */
  char cmd[2048], *out;
  snprintf(cmd, sizeof cmd,
           "cd '%s' && /usr/bin/python3 -c \""
           "import importlib.util as u; s=u.spec_from_file_location('d','deploy/dockerfile-chroot.py'); "
           "m=u.module_from_spec(s); s.loader.exec_module(m); p=m.load_ignore('.'); "
           "cases={'.env':1,'.env.prod':1,'.env.example':0,'.git/config':1,'build-http/levbot':1,'build/x':1,"
           "'src/http/server.c':0,'src/a.o':1,'levbot.db':1,'reports/r.html':1,'deploy/verify-chroot':0,"
           "'Dockerfile':0,'data/binance-um/BTCUSDT-5m-2022-04.csv':0}; "
           "bad=[k for k,v in cases.items() if m.ignored(k,p)!=bool(v)]; print('wrong:',bad); exit(1 if bad else 0)\"",
           lbt_source_path("."));
  int rc = lbt_run(cmd, &out);
  if (rc != 0) lbt_fail(__FILE__, __LINE__, "%s", out);
  free(out);
}
