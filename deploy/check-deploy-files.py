#!/usr/bin/python3
"""check-deploy-files.py -- static checks of the deployment files: the compose
file parses (Debian's python3-yaml) and says what docs/deploy.md promises,
every variable it references is documented in .env.example, and the
Dockerfile keeps the properties issue 11 asks for.  Fast (no network, no
root): run by the test suite (tests/deploy) and by deploy/verify-chroot.

  deploy/check-deploy-files.py [REPO_DIR]     exit 0 when every check passes
"""
import os
import re
import sys

try:
    import yaml
except ImportError:
    print("check-deploy-files: python3-yaml is missing (scripts/install-deps installs it)", file=sys.stderr)
    sys.exit(2)

repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
failures = 0


def check(ok, what):
    global failures
    print("%s  %s" % ("PASS" if ok else "FAIL", what))
    if not ok:
        failures += 1


def read(rel):
    with open(os.path.join(repo, rel)) as f:
        return f.read()


# ---- docker-compose.yml ----
text = read("docker-compose.yml")
doc = yaml.safe_load(text)
check(isinstance(doc, dict) and "services" in doc, "docker-compose.yml parses as YAML with services")
svc = doc.get("services", {})
db, bot = svc.get("db", {}), svc.get("bot", {})
check(str(db.get("image", "")).startswith("postgres:15"), "db runs PostgreSQL 15 (%s)" % db.get("image"))
check("test" in (db.get("healthcheck") or {}), "db has a health check")
named = set((doc.get("volumes") or {}).keys())
db_vols = [v.split(":")[0] for v in db.get("volumes", [])]
check(bool(db_vols) and all(v in named for v in db_vols), "db data on a named volume %s" % db_vols)
check("ports" not in db, "db publishes no port (only the bot reaches it)")
check((bot.get("depends_on") or {}).get("db", {}).get("condition") == "service_healthy",
      "bot waits for the database to be healthy")
check(bot.get("restart") in ("always", "unless-stopped", "on-failure"), "bot has a restart policy (%s)" % bot.get("restart"))
ports = [str(p) for s in svc.values() for p in (s.get("ports") or [])]
check(bool(ports) and all(p.startswith("127.0.0.1:") for p in ports), "every published port is on 127.0.0.1 %s" % ports)
envf = bot.get("env_file")
envf = [envf] if isinstance(envf, str) else (envf or [])
check(".env" in [e if isinstance(e, str) else e.get("path") for e in envf], "bot reads secrets from .env")
bot_vols = [v.split(":")[0] for v in bot.get("volumes", [])]
check(bool(bot_vols) and all(v in named for v in bot_vols), "bot data on a named volume %s" % bot_vols)
check("redis" not in svc and re.search(r"^\s*#\s*redis:", text, re.M) is not None,
      "Redis is present only as a commented, reserved service")
literal_secrets = []
for name, s in svc.items():
    env = s.get("environment") or {}
    items = env.items() if isinstance(env, dict) else (e.split("=", 1) + [""] for e in env)
    for k, v in ((kv[0], kv[1]) for kv in items):
        if re.search(r"PASSWORD|SECRET|TOKEN|KEY", k) and "${" not in str(v):
            literal_secrets.append("%s.%s" % (name, k))
        if k == "DATABASE_URL" and re.search(r"://[^:/@]+:(?!\$\{)[^@]+@", str(v)):
            literal_secrets.append("%s.%s" % (name, k))
check(not literal_secrets, "no secret is written in the compose file itself %s" % literal_secrets)
code = "\n".join(l for l in text.splitlines() if not l.lstrip().startswith("#"))
refs = sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", code)))
example = read(".env.example")
documented = set(re.findall(r"^#?\s*([A-Z_][A-Z0-9_]*)=", example, re.M))
missing = [r for r in refs if r not in documented]
check(not missing, "every variable the compose file references is in .env.example %s%s" %
      (refs, " (missing: %s)" % missing if missing else ""))

# ---- secrets stay out of git and out of the image ----
gitignore = read(".gitignore").split()
dockerignore = read(".dockerignore").split()
check(".env" in gitignore, ".env is git-ignored")
check(".env" in dockerignore and ".env.*" in dockerignore, ".env files are docker-ignored (never copied into an image)")

# ---- Dockerfile ----
df = read("Dockerfile")
lines = [l for l in re.sub(r"\\\n", " ", df).splitlines() if l.strip() and not l.lstrip().startswith("#")]
froms = [l for l in lines if l.startswith("FROM ")]
check(len(froms) == 2 and all("debian:12-slim" in l for l in froms), "two stages, both debian:12-slim")
runs = [l for l in lines if l.startswith("RUN ")]
check(any("install-deps --build" in l for l in runs) and any("install-deps --runtime" in l for l in runs),
      "both stages install through scripts/install-deps")
first_src = next(i for i, l in enumerate(lines) if l.startswith("COPY . ") or l.startswith("COPY src"))
first_deps = next(i for i, l in enumerate(lines) if "install-deps --build" in l)
check(first_deps < first_src, "dependency layer comes before the sources")
check("-DCMAKE_BUILD_TYPE=Release" in df, "builds in Release")
user = [l.split()[1] for l in lines if l.startswith("USER ")]
check(bool(user) and user[-1].split(":")[0] not in ("root", "0"), "runtime runs as a non-root user (%s)" % user)
hc = [l for l in lines if l.startswith("HEALTHCHECK ")]
check(len(hc) == 1 and "--interval=60s" in hc[0] and "levbot\", \"healthcheck" in hc[0],
      "HEALTHCHECK every 60 s through `levbot healthcheck` (no curl in the image)")
check(any(l.split()[:2] == ["EXPOSE", "8000"] for l in lines), "EXPOSE 8000")
check(any(l.startswith("VOLUME ") and "/var/lib/levbot" in l for l in lines), "data under a volume")
check(not any(re.search(r"COPY .*\.env\b", l) for l in lines), "no .env is copied into the image")

print("%d check%s failed" % (failures, "" if failures == 1 else "s") if failures else "all deployment-file checks passed")
sys.exit(1 if failures else 0)
