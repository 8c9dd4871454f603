#!/usr/bin/python3
"""dockerfile-chroot.py -- execute a Dockerfile's stages in chroots, without a
Docker engine (used by deploy/verify-chroot).

Each stage starts from a copy of a Debian 12 root file system made by
debootstrap and trimmed like the debian:12-slim image; then its instructions
run in order: RUN lines through /bin/sh -c inside the chroot (with /proc,
/dev and /sys mounted, as the image's user and working directory), COPY from
the build context (after .dockerignore) or from an earlier stage, ENV,
WORKDIR, USER.  The metadata Docker keeps (ENV, USER, WORKDIR, ENTRYPOINT,
CMD, HEALTHCHECK, EXPOSE, VOLUME) is written as JSON beside each stage's
root, so the verifier can start the container's command as Docker would.

Supported: the instructions levbot's Dockerfile uses (FROM ... [AS name],
RUN (shell form), COPY [--from=stage] [--chown=...] src... dst, ENV k=v...,
WORKDIR, USER, ARG, LABEL, EXPOSE, VOLUME, HEALTHCHECK, STOPSIGNAL, CMD,
ENTRYPOINT); anything else is an error, so the verification can never pass
by skipping a line.

  dockerfile-chroot.py --dockerfile F --context DIR --base ROOTFS_DIR --out DIR
"""
import argparse
import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def die(msg):
    print("dockerfile-chroot: " + msg, file=sys.stderr)
    sys.exit(1)


def parse(path):
    """[(lineno, INSTRUCTION, rest)] with continuations joined, comments dropped."""
    out, buf, start = [], "", 0
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if not buf and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if buf and line.lstrip().startswith("#"):
                continue
            if not buf:
                start = n
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            buf += line
            word, _, rest = buf.strip().partition(" ")
            out.append((start, word.upper(), rest.strip()))
            buf = ""
    if buf:
        die("%s: unterminated continuation at line %d" % (path, start))
    return out


def json_or_shell(rest):
    """Exec form (JSON array) or shell form, as Docker reads CMD/ENTRYPOINT."""
    if rest.startswith("["):
        return json.loads(rest)
    return ["/bin/sh", "-c", rest]


def parse_env(rest):
    parts = shlex.split(rest)
    if parts and "=" not in parts[0]:  # legacy "ENV key value"
        return {parts[0]: " ".join(parts[1:])}
    env = {}
    for p in parts:
        k, _, v = p.partition("=")
        env[k] = v
    return env


# ---- build context and .dockerignore ----

def load_ignore(context):
    pats = []
    p = os.path.join(context, ".dockerignore")
    if os.path.exists(p):
        for line in open(p):
            line = line.strip()
            if line and not line.startswith("#"):
                pats.append(line)
    return pats


def ignored(rel, pats):
    """Docker's rule: the last matching pattern wins; '!' re-includes.  A
    pattern also matches everything under a matching directory."""
    result = False
    parts = rel.split("/")
    for pat in pats:
        neg = pat.startswith("!")
        pat = pat[1:] if neg else pat
        pat = pat.lstrip("/")
        hit = False
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            if fnmatch.fnmatchcase(prefix, pat) or (
                    pat.startswith("**/") and fnmatch.fnmatchcase(parts[i - 1], pat[3:])):
                hit = True
                break
        if hit:
            result = not neg
    return result


def copy_tree_filtered(src, dst, context, pats):
    if os.path.isdir(src) and not os.path.islink(src):
        os.makedirs(dst, exist_ok=True)
        for name in sorted(os.listdir(src)):
            s = os.path.join(src, name)
            rel = os.path.relpath(s, context)
            if ignored(rel, pats):
                continue
            copy_tree_filtered(s, os.path.join(dst, name), context, pats)
    else:
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst, follow_symlinks=False)


# ---- chroot execution ----

class Mounts:
    def __init__(self, root):
        self.root, self.done = root, []

    def __enter__(self):
        for fs, target, opts in (("proc", "proc", ["-t", "proc"]),
                                 ("/dev", "dev", ["--bind"]),
                                 ("sysfs", "sys", ["-t", "sysfs", "-o", "ro"])):
            t = os.path.join(self.root, target)
            os.makedirs(t, exist_ok=True)
            subprocess.run(["mount"] + opts + [fs, t], check=True)
            self.done.append(t)
        return self

    def __exit__(self, *a):
        for t in reversed(self.done):
            subprocess.run(["umount", "-l", t])


def chroot_cmd(root, user, workdir, env, argv):
    """The command line that runs argv in root as Docker would run it."""
    spec = []
    if user and user not in ("root", "0", "0:0"):
        u, _, g = user.partition(":")
        spec = ["--userspec=%s:%s" % (u, g or u)]
    envl = ["%s=%s" % kv for kv in sorted(env.items())]
    return (["chroot"] + spec + [root, "/usr/bin/env", "-i"] + envl +
            ["/bin/sh", "-c", 'cd "$0" && exec "$@"', workdir or "/"] + argv)


def run_stage(stage, idx, base, out, context, pats, roots):
    name = stage["name"] or str(idx)
    root = os.path.join(out, "stage-%s" % name)
    if os.path.exists(root):
        subprocess.run(["rm", "-rf", "--one-file-system", root], check=True)
    if stage["from"] not in ("debian:12-slim", "debian:bookworm-slim"):
        die("stage %s: FROM %s: only debian:12-slim is emulated" % (name, stage["from"]))
    subprocess.run(["cp", "-a", base, root], check=True)
    shutil.copy2("/etc/resolv.conf", os.path.join(root, "etc/resolv.conf"))
    meta = {"env": {"PATH": PATH}, "user": "", "workdir": "/", "entrypoint": None,
            "cmd": None, "healthcheck": None, "expose": [], "volume": [], "stopsignal": None}
    t0 = time.time()
    for (lineno, ins, rest) in stage["lines"]:
        where = "Dockerfile:%d %s" % (lineno, ins)
        if ins == "RUN":
            print("==> [%s] %s %s" % (name, ins, rest), flush=True)
            env = dict(meta["env"], HOME="/root" if not meta["user"] else meta["env"].get("HOME", "/"))
            with Mounts(root):
                rc = subprocess.run(chroot_cmd(root, meta["user"], meta["workdir"], env,
                                               ["/bin/sh", "-c", rest])).returncode
            if rc != 0:
                die("%s failed with exit %d" % (where, rc))
        elif ins == "COPY":
            args = shlex.split(rest)
            frm = None
            while args and args[0].startswith("--"):
                opt = args.pop(0)
                if opt.startswith("--from="):
                    frm = opt.split("=", 1)[1]
                elif not opt.startswith("--chown=") and not opt.startswith("--chmod="):
                    die("%s: option %s not emulated" % (where, opt))
            *srcs, dst = args
            if not dst.startswith("/"):
                dst = os.path.join(meta["workdir"], dst)
            for s in srcs:
                if frm is not None:
                    if frm not in roots:
                        die("%s: no earlier stage %s" % (where, frm))
                    src = os.path.join(roots[frm], s.lstrip("/"))
                    filt = []
                else:
                    src = os.path.normpath(os.path.join(context, s))
                    filt = pats
                if not os.path.exists(src):
                    die("%s: %s does not exist" % (where, s))
                target = root + dst
                if s in (".", "./"):
                    target = root + dst.rstrip("/")
                    for n in sorted(os.listdir(src)):
                        if not ignored(n, filt):
                            copy_tree_filtered(os.path.join(src, n), os.path.join(target, n), context, filt)
                    continue
                if dst.endswith("/") or (len(srcs) > 1):
                    target = os.path.join(root + dst, os.path.basename(s.rstrip("/")))
                copy_tree_filtered(src, target, context if frm is None else src, filt)
            print("==> [%s] COPY %s" % (name, rest), flush=True)
        elif ins == "ENV":
            meta["env"].update(parse_env(rest))
        elif ins == "WORKDIR":
            meta["workdir"] = rest if rest.startswith("/") else os.path.join(meta["workdir"], rest)
            os.makedirs(root + meta["workdir"], exist_ok=True)
        elif ins == "USER":
            meta["user"] = rest
        elif ins in ("ENTRYPOINT", "CMD"):
            meta[ins.lower()] = json_or_shell(rest)
        elif ins == "HEALTHCHECK":
            opts, _, cmd = rest.partition(" CMD ")
            meta["healthcheck"] = {"options": opts.split(), "cmd": json_or_shell(cmd.strip())}
        elif ins == "EXPOSE":
            meta["expose"] += rest.split()
        elif ins == "VOLUME":
            meta["volume"] += json.loads(rest) if rest.startswith("[") else rest.split()
        elif ins == "STOPSIGNAL":
            meta["stopsignal"] = rest
        elif ins in ("ARG", "LABEL"):
            pass
        else:
            die("%s is not emulated" % where)
    for v in meta["volume"]:
        os.makedirs(root + v, exist_ok=True)
    with open(root + ".json", "w") as f:
        json.dump(meta, f, indent=2)
    print("==> [%s] done in %.0f s" % (name, time.time() - t0), flush=True)
    return root


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dockerfile", required=True)
    ap.add_argument("--context", required=True)
    ap.add_argument("--base", required=True, help="trimmed debootstrap root (copied per stage)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    stages = []
    for (lineno, ins, rest) in parse(a.dockerfile):
        if ins == "FROM":
            words = rest.split()
            stages.append({"from": words[0], "name": words[2] if len(words) >= 3 and words[1].upper() == "AS" else None,
                           "lines": []})
        elif not stages:
            if ins != "ARG":
                die("Dockerfile:%d: %s before FROM" % (lineno, ins))
        else:
            stages[-1]["lines"].append((lineno, ins, rest))
    pats = load_ignore(a.context)
    roots = {}
    for i, st in enumerate(stages):
        root = run_stage(st, i, a.base, a.out, a.context, pats, roots)
        roots[str(i)] = root
        if st["name"]:
            roots[st["name"]] = root
    with open(os.path.join(a.out, "final-stage"), "w") as f:
        f.write(roots[str(len(stages) - 1)] + "\n")


if __name__ == "__main__":
    main()
