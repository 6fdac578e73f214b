#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests for `skillbox run`: the filesystem view, symlink escapes, processes,
capabilities, environment, limits, signals, exit codes, audit plumbing, and that the host is
left as it was. Every case runs once per identity (root and an unprivileged user); each
attempts the forbidden thing, asserts that it fails, and checks what the audit trail says.

Inside the sandbox the checks are made by a small Python program (probe.py, below) that takes
a JSON list of operations and prints one JSON list of results, so one run answers many
questions. Nothing sleeps to synchronise: long-running skills print "ready" on a pipe that
the test reads with a bounded wait, and "is it gone?" is answered with pidfds.
"""

import collections
import hashlib
import json
import os
import pty
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import threading
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SYSTEM = ["/usr", "/bin", "/lib", "/lib64", "/sbin"]
PY = "/usr/bin/python3"
NOBODY = 65534
ALT_USER = 4343  # the --user target in the root-only variant
# Where a root caller's per-run uids come from by default (SKILLBOX_UID_RANGE unset).
PER_RUN_FIRST, PER_RUN_LAST = 1879048192, 1879113727
RUN_TIMEOUT = 30  # bounded wait for any one skillbox run
PROBES = os.environ.get("PROBES_DIR", os.path.join(h.build_root(), "tests", "integration"))
SEALED_RUNS, SEALED_AT_ONCE = 48, 3  # case_init_sealed

# The in-sandbox probe. Each operation returns {"ok": true, "v": ...} or
# {"ok": false, "errno": "ENOENT"}.
PROBE = r'''
import ctypes, errno, json, os, resource, signal, sys

def en(e):
    return errno.errorcode.get(e.errno, str(e.errno))

def op_read(p):
    with open(p, "rb") as f:
        return f.read(65536).decode("latin-1")

def op_write(p, n, flags=""):
    if "noxfsz" in flags:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        done = 0
        chunk = b"x" * 65536
        while done < n:
            done += os.write(fd, chunk[: min(len(chunk), n - done)])
        return done
    finally:
        os.close(fd)

def op_writetext(p, text):
    with open(p, "w") as f:
        f.write(text)
    return True

def op_ls(p):
    return sorted(os.listdir(p))

def op_readlink(p):
    return os.readlink(p)

def op_lstat(p):
    st = os.lstat(p)
    return {"uid": st.st_uid, "gid": st.st_gid, "mode": st.st_mode, "size": st.st_size}

def op_procs():
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/cmdline" % d, "rb") as f:
                    out[d] = f.read().decode("latin-1")
            except OSError as e:
                out[d] = "<%s>" % en(e)
    return out

def op_kill(pid, sig):
    os.kill(pid, sig)
    return True

def op_ptrace(pid):
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    if libc.ptrace(16, pid, None, None) != 0:  # PTRACE_ATTACH
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
    return "ATTACHED"

def op_status():
    st = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    st["ids"] = [os.getresuid(), os.getresgid(), os.getgroups()]
    return st

def op_mounts():
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            a, _, b = line.partition(" - ")
            a = a.split()
            b = b.split()
            out.append([a[4], b[0], a[5] + "," + (b[2] if len(b) > 2 else "")])
    return out

def op_ppid():
    return os.getppid()

def op_env():
    return dict(os.environ)

def op_rlimits():
    return {n: list(resource.getrlimit(getattr(resource, "RLIMIT_" + n)))
            for n in ("NOFILE", "NPROC", "FSIZE", "CPU", "DATA", "CORE")}

def op_forklimit(n):
    r, w = os.pipe()
    kids = []
    err = None
    for _ in range(n):
        try:
            pid = os.fork()
        except OSError as e:
            err = en(e)
            break
        if pid == 0:
            os.close(w)
            os.read(r, 1)
            os._exit(0)
        kids.append(pid)
    os.close(w)
    for k in kids:
        os.waitpid(k, 0)
    return {"forked": len(kids), "errno": err}

def op_chmod(p, mode):
    os.chmod(p, mode)
    return oct(os.lstat(p).st_mode & 0o7777)

def op_create(p, mode):
    os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, mode))
    return oct(os.lstat(p).st_mode & 0o7777)

def op_alloc(n):
    try:
        b = bytearray(n)
    except MemoryError:
        raise OSError(errno.ENOMEM, "MemoryError")
    return len(b)

OPS = {k[3:]: v for k, v in list(globals().items()) if k.startswith("op_")}

res = []
for op in json.loads(sys.argv[1]):
    try:
        res.append({"ok": True, "v": OPS[op[0]](*op[1:])})
    except OSError as e:
        res.append({"ok": False, "errno": en(e)})
print(json.dumps(res), flush=True)
'''


# --- helpers ------------------------------------------------------------------------------


def manifest(command, read=(), write=(), tmpfs=(), hide=(), env=None, limits=None,
             workdir="/skill"):
    """A manifest reading SYSTEM and the skill dir (".:/skill"). Lists are written as JSON,
    which YAML reads as flow sequences, so every entry of a key sits on one known line."""
    lines = [
        "skillbox: 1",
        "name: run-test",
        f"command: {json.dumps(command)}",
        f"workdir: {workdir}",
        "filesystem:",
        f"  read: {json.dumps(SYSTEM + ['.:/skill'] + list(read))}",
    ]
    if write:
        lines.append(f"  write: {json.dumps(list(write))}")
    if tmpfs:
        lines.append(f"  tmpfs: {json.dumps(list(tmpfs))}")
    if hide:
        lines.append(f"  hide: {json.dumps(list(hide))}")
    if env:
        lines.append("env:")
        for k in ("pass", "set", "secrets"):
            if k in env:
                lines.append(f"  {k}: {json.dumps(env[k])}")
    if limits:
        lines.append("limits:")
        for k, v in limits.items():
            lines.append(f"  {k}: {v}")
    return "\n".join(lines) + "\n"


def line_of(text, needle):
    """1-based number of the first manifest line containing needle."""
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            return i
    raise ValueError(needle)


def make_env(ident):
    env = h.Env(ident).__enter__()
    # Env.skillbox() puts the audit file in env.top, which is root's 0755 directory: an
    # unprivileged skillbox cannot create it there. Give the directory to the identity.
    os.chown(env.top, ident.uid, ident.gid)
    return env


def skill_dir(env, text, files=None, name="skill"):
    files = dict(files or {})
    files.setdefault("probe.py", PROBE)
    return env.skill(text, name=name, files=files)


def run(env, d, args=(), opts=(), extra_env=None, stdin=None, timeout=RUN_TIMEOUT,
        private_host=False):
    argv = ["run"] + list(opts) + [d]
    if args:
        argv += ["--"] + list(args)
    return env.skillbox(argv, env=extra_env, timeout=timeout, stdin=stdin,
                        private_host=private_host)


def probe_ops(env, d, ops, refused=False, **kw):
    """Runs probe.py with ops; returns (result, one answer per op). refused: the run is
    expected to be refused, so a missing answer is not worth a diagnostic."""
    r = run(env, d, args=[json.dumps(ops)], **kw)
    res = None
    for line in reversed(r.out.splitlines()):
        if line.startswith("["):
            try:
                res = json.loads(line)
            except ValueError:
                pass
            break
    if res is None or len(res) != len(ops):
        if not refused:
            h.diag(f"the probe gave no result:\n{r.describe()}")
        res = [{"ok": None, "errno": "NO-RESULT"}] * len(ops)
    return r, res


def probe_manifest(**kw):
    return manifest([PY, "/skill/probe.py"], **kw)


def raw_audit(env):
    p = getattr(env, "last_audit_path", None)
    if not p or not os.path.exists(p):
        return b""
    with open(p, "rb") as f:
        return f.read()


def host_uid_of(env, user_opt=None):
    """The host uid the sandbox user is, when known before the run: None for a root caller
    without --user (a per-run uid, claimed at launch)."""
    if user_opt is not None:
        return user_opt
    return None if env.ident.is_root else env.ident.uid


def per_run(uid):
    return isinstance(uid, int) and PER_RUN_FIRST <= uid <= PER_RUN_LAST


def host_uid_matches(env, uid, user_opt=None):
    """Is uid (from run.start) the host uid this identity's sandbox user should have?"""
    want = host_uid_of(env, user_opt)
    return per_run(uid) if want is None else uid == want


def run_host_uid(r):
    return (r.first("run.start") or {}).get("host_uid")


def run_exit(r):
    return r.first("run.exit") or {}


def check_exit_event(name, r, status, reason, exit_code=None, sig=None):
    e = run_exit(r)
    ok = (
        e.get("status") == status
        and e.get("reason") == reason
        and e.get("exit") == exit_code
        and e.get("signal") == sig
        and all(k in e for k in ("wall_s", "user_cpu_s", "sys_cpu_s", "max_rss_kb"))
    )
    h.ok(ok, f"{name}: run.exit status={status} reason={reason} exit={exit_code} "
         f"signal={sig}", json.dumps(e) + "\n" + r.describe())
    evs = r.events
    h.ok(bool(evs) and evs[-1].get("event") == "run.summary" and evs[-1].get("status") == status,
         f"{name}: run.summary is last with status {status}", r.describe())


def setup_failed(name, r, line, words, secret=None):
    """A refused run: 125, FILE:LINE on stderr naming the manifest, the words, audit
    setup-failed with the same error, no proc.exec."""
    h.ok(r.rc == 125, f"{name}: exits 125", r.describe())
    pat = rf"skillbox\.yaml:{line}:\d+"
    h.ok(re.search(pat, r.err) and all(w.lower() in r.err.lower() for w in words),
         f"{name}: stderr names skillbox.yaml:{line} and says {words}", r.describe())
    e = run_exit(r)
    h.ok(e.get("reason") == "setup-failed" and e.get("status") == 125
         and re.search(pat, e.get("error", "")),
         f"{name}: run.exit reason setup-failed with the error", json.dumps(e))
    h.ok(not r.of("proc.exec"), f"{name}: nothing was executed (no proc.exec)",
         [x.get("event") for x in r.events])
    if secret is not None:
        h.ok(secret not in r.out + r.err and secret.encode() not in b"".join(
            l.encode() for l in r.audit_lines),
             f"{name}: the secret is not in the output or the audit trail", r.describe())


class Live:
    """A skillbox run started in the background, for cases that act while it runs."""

    def __init__(self, env, d, args=(), opts=(), extra_env=None):
        fd, self.audit = tempfile.mkstemp(prefix="audit-", suffix=".jsonl", dir=env.top)
        os.close(fd)
        os.unlink(self.audit)
        argv = [env.bin, "run", "--audit", self.audit] + list(opts) + [d]
        if args:
            argv += ["--"] + list(args)
        self.t0 = time.monotonic()
        self.p = env.popen(argv, env=extra_env, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.pid = self.p.pid

    def line(self, timeout=10):
        return h.read_line(self.p.stdout, timeout)

    def finish(self, timeout=RUN_TIMEOUT):
        try:
            out, err = self.p.communicate(timeout=timeout)
            rc = self.p.returncode
        except subprocess.TimeoutExpired:
            self.p.kill()
            out, err = self.p.communicate()
            rc = None
        elapsed = time.monotonic() - self.t0
        lines = []
        if os.path.exists(self.audit):
            with open(self.audit, "rb") as f:
                lines = [l.decode(errors="replace") for l in f.read().splitlines()]
        return h.Result(rc, out, err, lines, elapsed)


def ns_of(pid, kind):
    try:
        return os.readlink(f"/proc/{pid}/ns/{kind}")
    except OSError:
        return None


def pids_in_ns(kind, ns):
    """Host pids whose namespace of this kind is ns."""
    found = []
    for d in os.listdir("/proc"):
        if d.isdigit() and ns_of(d, kind) == ns:
            found.append(int(d))
    return found


def tmp_entries_of(uid):
    """Entries of the host's /tmp owned by uid, or by any per-run uid when uid is None."""
    out = set()
    for n in os.listdir("/tmp"):
        try:
            owner = os.lstat(os.path.join("/tmp", n)).st_uid
        except OSError:
            continue
        if owner == uid or (uid is None and per_run(owner)):
            out.add(n)
    return out


class HostBefore:
    """What the host's /tmp and mount table looked like, for a suite that cannot run skillbox
    in a private copy of the host (not root). Comparing them is only an approximation on a
    busy host: other programs, and other suites as the same uid, change them too."""

    def __init__(self, uid):
        self.uid = uid
        self.tmp = tmp_entries_of(uid)
        self.mounts = h.mountinfo()


def check_host_left(tag, r, before, marker, env):
    """The host's /tmp, /dev/shm and mount table are as the run found them, and no process of
    the run is left: exactly, from private_host's report when the suite runs as root; by
    comparing the host's state otherwise. Processes are this test's descendants (it is a
    subreaper: whatever a run leaves behind stays its descendant), not a uid's processes:
    uid 4242 and the per-run uids run other suites' skills too."""
    ch = r.host_changes
    if ch is not None:
        h.ok(not ch["left"], f"{tag}: the run left nothing in /tmp or /dev/shm (a private copy, "
             "listed after the run)", ch["left"])
        h.ok(not ch["mounts_added"] and not ch["mounts_removed"],
             f"{tag}: the mount table the run started in is unchanged",
             ch["mounts_added"] + ["removed: " + m for m in ch["mounts_removed"]])
    else:
        new = tmp_entries_of(before.uid) - before.tmp
        h.ok(not new and not find_named("/tmp", marker, exclude=env.top),
             f"{tag}: no new entry in the host's /tmp owned by "
             f"{'a per-run uid' if before.uid is None else f'uid {before.uid}'}", new)
        h.ok(h.mountinfo() == before.mounts, f"{tag}: the host's mount table is unchanged")
    left = h.descendants()
    h.ok(not left and not h.pids_matching(marker),
         f"{tag}: no process of the run is left on the host", left)


def find_named(top, name, depth=3, exclude=None):
    """Paths under top (bounded depth, not below exclude) whose last component contains
    name."""
    hits = []
    top_depth = top.rstrip("/").count("/")
    for root, dirs, files in os.walk(top, onerror=lambda e: None):
        if exclude:
            dirs[:] = [n for n in dirs if os.path.join(root, n) != exclude]
        for n in dirs + files:
            if name in n:
                hits.append(os.path.join(root, n))
        if root.count("/") - top_depth >= depth:
            dirs[:] = []
    return hits


# --- 0. starting at all -------------------------------------------------------------------


def case_start_reliability(env):
    tag = f"[{env.ident}] start"
    d = skill_dir(env, manifest(["/bin/true"]), name="true")
    fails = []
    for i in range(30):
        rc, out, err = env.run([env.bin, "run", d], timeout=RUN_TIMEOUT)
        if rc != 0:
            fails.append((i, rc, err.decode(errors="replace").strip()))
    h.ok(not fails, f"{tag}: 30 runs of /bin/true in a row all start and exit 0",
         "\n".join(map(str, fails[:10])))


# --- 1. filesystem ------------------------------------------------------------------------


def case_fs_secret(env):
    tag = f"[{env.ident}] fs"
    key_path = os.path.join(env.home, ".ssh", "id_rsa")
    aws_path = os.path.join(env.home, ".aws", "credentials")
    d = skill_dir(env, probe_manifest())
    tries = [
        key_path,
        aws_path,
        os.path.expanduser("~") + "/.ssh/id_rsa",  # the test's own HOME
        "/root/.ssh/id_rsa",
        "/home/skill/.ssh/id_rsa",  # what ~ means inside
        "/proc/self/root" + key_path,
        "/proc/1/root" + key_path,
        "/proc/1/cwd/" + os.path.relpath(key_path, "/"),
    ]
    tries.append("/home/skill/.aws/credentials")
    # The caller's HOME is the planted one, so "~" means it outside and /home/skill inside.
    r, res = probe_ops(env, d, [["read", p] for p in tries], extra_env={"HOME": env.home})
    h.ok(r.rc == 0, f"{tag}: the probe ran", r.describe())
    for p, x in zip(tries, res):
        h.ok(x.get("ok") is False and x.get("errno") in ("ENOENT", "EACCES", "EPERM"),
             f"{tag}: reading {p} fails ({x.get('errno')})", json.dumps(x))
    leaked = ["skillbox-test-planted-key", "FAKE-skillbox-test-aws"]
    raw = raw_audit(env)
    h.ok(not any(s in r.out or s in r.err or s.encode() in raw for s in leaked),
         f"{tag}: the planted key never appears in stdout, stderr or the audit file",
         r.describe())
    pf = r.first("policy.fs") or {}
    mounts = pf.get("mounts", [])
    declared = set(SYSTEM) | {"/skill"}
    defaults = {"/proc", "/dev", "/tmp", "/home/skill", "/etc/passwd", "/etc/group",
                "/etc/hosts", "/etc/resolv.conf"}
    paths = {m.get("path") for m in mounts}
    h.ok(paths == declared | defaults,
         f"{tag}: policy.fs lists only the declared mounts and the defaults",
         f"got {sorted(paths)}\nwant {sorted(declared | defaults)}")
    home = os.path.realpath(env.home)

    def exposes(host):
        host = os.path.realpath(host)
        return host == home or host.startswith(home + "/") or home.startswith(host.rstrip("/") + "/")

    h.ok(not any(exposes(m["host"]) for m in mounts if m.get("host")),
         f"{tag}: no policy.fs mount exposes the caller's HOME",
         json.dumps(mounts))


def case_fs_write(env):
    tag = f"[{env.ident}] fs"
    # Writing into a read path.
    d = skill_dir(env, probe_manifest(read=[env.path("ro") + ":/ro"]),
                  files={"data.txt": "original\n"})
    ro = env.mkdir("ro")
    with open(os.path.join(ro, "keep.txt"), "w") as f:
        f.write("keep\n")
    before = {n: open(os.path.join(ro, n)).read() for n in os.listdir(ro)}
    before_skill = sorted(os.listdir(d))
    r, res = probe_ops(env, d, [
        ["writetext", "/ro/new.txt", "x"],
        ["writetext", "/ro/keep.txt", "changed"],
        ["writetext", "/skill/data.txt", "changed"],
        ["writetext", "/skill/new.txt", "x"],
        ["writetext", "/usr/skillbox-test", "x"],
        ["writetext", "/newdir-at-root", "x"],
    ])
    for (what, x) in zip(["/ro/new.txt", "/ro/keep.txt", "/skill/data.txt", "/skill/new.txt",
                          "/usr/skillbox-test"], res):
        h.ok(x.get("ok") is False and x.get("errno") == "EROFS",
             f"{tag}: writing {what} in a read path fails with EROFS ({x.get('errno')})",
             json.dumps(x))
    h.ok(res[5].get("ok") is False and res[5].get("errno") in ("EROFS", "EACCES"),
         f"{tag}: creating a file in / fails ({res[5].get('errno')})", json.dumps(res[5]))
    after = {n: open(os.path.join(ro, n)).read() for n in os.listdir(ro)}
    h.ok(before == after and sorted(os.listdir(d)) == before_skill
         and open(os.path.join(d, "data.txt")).read() == "original\n",
         f"{tag}: the read-only host directories are unchanged", f"{before} {after}")
    pf = {m["path"]: m for m in (r.first("policy.fs") or {}).get("mounts", [])}
    h.ok(pf.get("/ro", {}).get("access") == "ro" and pf.get("/skill", {}).get("access") == "ro",
         f"{tag}: policy.fs says /ro and /skill are ro", json.dumps(pf.get("/ro")))

    # A write path: the file appears on the host. For an unprivileged caller it belongs to the
    # caller. For root the path stays root's, as a CI job's build directory is: the write path
    # is idmapped, so the skill (a per-run uid, or --user) writes there as its owner and the
    # file belongs to root afterwards.
    variants = [None]
    if env.ident.is_root:
        variants += [ALT_USER, "owned"]
    for user in variants:
        vtag = tag + {None: "", ALT_USER: f" --user {ALT_USER}",
                      "owned": f" --user {ALT_USER}, path owned by it"}[user]
        out = env.mkdir(f"out-{user or 'default'}")
        d = skill_dir(env, probe_manifest(write=[out + ":/out"]), name=f"w-{user or 'd'}")
        # After skill_dir(): Env.skill() gives the whole workspace back to the identity.
        owner = ALT_USER if user == "owned" else env.ident.uid
        os.chown(out, owner, owner)
        os.chmod(out, 0o755)
        opts = ["--user", str(ALT_USER)] if user else []
        r, res = probe_ops(env, d, [["writetext", "/out/result.txt", "written inside\n"],
                                    ["lstat", "/out/result.txt"],
                                    ["lstat", "/out"]],
                           opts=opts)
        host_file = os.path.join(out, "result.txt")
        h.ok(res[0].get("ok") is True and os.path.exists(host_file)
             and open(host_file).read() == "written inside\n",
             f"{vtag}: a write path owned by uid {owner} works and the file appears on the host",
             r.describe())
        st = os.lstat(host_file) if os.path.exists(host_file) else None
        h.ok(st is not None and st.st_uid == owner and st.st_gid == owner,
             f"{vtag}: the host file belongs to the path's owner, uid {owner}",
             f"uid={st.st_uid if st else None} gid={st.st_gid if st else None}")
        h.ok(res[1].get("ok") and res[1]["v"]["uid"] == 1000 and res[2].get("ok")
             and res[2]["v"]["uid"] == 1000,
             f"{vtag}: inside, the path and the file belong to the sandbox user 1000",
             json.dumps(res[1:]))
        pf = {m["path"]: m for m in (r.first("policy.fs") or {}).get("mounts", [])}
        rs = r.first("run.start") or {}
        o = pf.get("/out", {})
        want_idmap = ("none: the sandbox user is the caller" if not env.ident.is_root else
                      "none" if user == "owned" else "owner is the sandbox user")
        h.ok(o.get("access") == "rw" and o.get("host") == out and o.get("owner_uid") == owner
             and o.get("idmap") == want_idmap and o.get("new_files_uid") == owner
             and host_uid_matches(env, rs.get("host_uid"), ALT_USER if user else None),
             f"{vtag}: policy.fs has /out rw from {out}, owner {owner}, idmap '{want_idmap}'; "
             f"run.start names the host uid", json.dumps([o, rs.get("host_uid")]))


def case_no_setid(env):
    """The skill cannot make set-user-ID or set-group-ID files: through a root caller's
    idmapped write path they would be root's on the host. Refused and audited; the mode
    without those bits still works."""
    tag = f"[{env.ident}] setid"
    out = env.mkdir("setid-out")
    d = skill_dir(env, probe_manifest(write=[out + ":/out"]), name="setid")
    os.chown(out, env.ident.uid, env.ident.gid)
    r, res = probe_ops(env, d, [["writetext", "/out/tool", "#!/bin/sh\n"],
                                ["chmod", "/out/tool", 0o4755],
                                ["chmod", "/out/tool", 0o2755],
                                ["create", "/out/made", 0o6755],
                                ["chmod", "/out/tool", 0o755]])
    h.ok(res[1].get("errno") == "EPERM" and res[2].get("errno") == "EPERM"
         and res[3].get("errno") == "EPERM",
         f"{tag}: chmod u+s, chmod g+s and open(O_CREAT, 06755) are refused (EPERM)",
         json.dumps(res))
    h.ok(res[4].get("v") == "0o755", f"{tag}: chmod 0755 works", json.dumps(res[4]))
    tool = os.path.join(out, "tool")
    st = os.lstat(tool) if os.path.exists(tool) else None
    h.ok(st is not None and st.st_mode & 0o6000 == 0 and st.st_uid == env.ident.uid
         and not os.path.exists(os.path.join(out, "made")),
         f"{tag}: on the host the file is the caller's (uid {env.ident.uid}) and not set-id",
         st and oct(st.st_mode))
    modes = [e.get("args", {}).get("mode") for e in r.of("syscall.deny")]
    h.ok(modes.count("04755") == 1 and modes.count("02755") == 1 and "06755" in modes,
         f"{tag}: each refusal is a syscall.deny event with the mode", modes)


def case_concurrent_uids(env):
    """Two runs alive at the same time: as root each has a host uid of its own; an unprivileged
    caller's are both the caller. They meet on a FIFO in a shared write path (root-owned for a
    root caller), which makes them overlap without any sleep: the reader waits for the writer."""
    tag = f"[{env.ident}] identity"
    shared = env.mkdir("shared")
    os.mkfifo(os.path.join(shared, "fifo"), 0o666)
    owner = 0 if env.ident.is_root else env.ident.uid
    os.chown(shared, owner, owner)
    os.chown(os.path.join(shared, "fifo"), owner, owner)
    reader = skill_dir(env, manifest(["/bin/sh", "-c", "cat /shared/fifo > /shared/got"],
                                     write=[shared + ":/shared"]), name="reader")
    writer = skill_dir(env, manifest(["/bin/sh", "-c", "echo met > /shared/fifo"],
                                     write=[shared + ":/shared"]), name="writer")
    results = {}

    def go(name, d):
        results[name] = run(env, d)

    threads = [threading.Thread(target=go, args=(n, d)) for n, d in
               (("reader", reader), ("writer", writer))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(RUN_TIMEOUT + 10)
    a, b = results.get("reader"), results.get("writer")
    got = os.path.join(shared, "got")
    h.ok(a is not None and b is not None and a.rc == 0 and b.rc == 0 and os.path.exists(got)
         and open(got).read() == "met\n",
         f"{tag}: two concurrent runs met on a FIFO in a shared write path",
         (a.describe() if a else "reader did not finish") + "\n" +
         (b.describe() if b else "writer did not finish"))
    ua, ub = (run_host_uid(a) if a else None), (run_host_uid(b) if b else None)
    if env.ident.is_root:
        h.ok(per_run(ua) and per_run(ub) and ua != ub,
             f"{tag}: two concurrent root runs have different per-run host uids ({ua}, {ub})")
        st = os.lstat(got) if os.path.exists(got) else None
        h.ok(st is not None and st.st_uid == 0,
             f"{tag}: what they wrote in the root-owned path belongs to root",
             st and st.st_uid)
    else:
        h.ok(ua == ub == env.ident.uid,
             f"{tag}: an unprivileged caller's runs are both the caller ({ua}, {ub})")


def case_explain_identity(env):
    """explain says who the sandbox user is on the host and how a write path is mapped."""
    tag = f"[{env.ident}] explain"
    out = env.mkdir("explained-out")
    d = skill_dir(env, manifest(["/bin/true"], write=[out + ":/out"]), name="explained")
    os.chown(out, env.ident.uid, env.ident.gid)
    r = env.skillbox(["explain", d])
    host = [l for l in r.out.splitlines() if l.startswith("host uid: ")]
    write = [l for l in r.out.splitlines() if l.strip().startswith("/out ")]
    if env.ident.is_root:
        h.ok(r.rc == 0 and host and "a uid of the run's own" in host[0]
             and f"{PER_RUN_FIRST}-{PER_RUN_LAST}" in host[0],
             f"{tag}: names the per-run uid range", r.describe())
        h.ok(write and "idmapped: its owner, uid 0, is the sandbox user" in write[0],
             f"{tag}: the root-owned write path is idmapped to its owner", r.describe())
        r = env.skillbox(["explain", "--user", str(ALT_USER), d])
        h.ok(r.rc == 0 and f"host uid: uid {ALT_USER} (--user)" in r.out,
             f"{tag} --user {ALT_USER}: names that uid", r.describe())
    else:
        h.ok(r.rc == 0 and host and host[0] == f"host uid: uid {env.ident.uid}, the caller",
             f"{tag}: the sandbox user is the caller", r.describe())
        h.ok(write and "idmapped" not in write[0],
             f"{tag}: the write path is the caller's, not idmapped", r.describe())


def case_user_option(env):
    """--user: accepted values work, everything else is refused with one line."""
    tag = f"[{env.ident}] --user"
    d = skill_dir(env, manifest(["/bin/true"]), name="true")
    if not env.ident.is_root:
        r = run(env, d, opts=["--user", str(ALT_USER)])
        lines = r.err.strip().splitlines()
        h.ok(r.rc == 125 and len(lines) == 1 and "only for callers that are root" in lines[0],
             f"{tag}: refused for an unprivileged caller, in one line", r.describe())
        return
    for value, want in (("root", "never maps to root"), ("0", "never maps to root"),
                        ("skillbox-no-such-user", "no such user"),
                        ("4294967295", "not a valid uid"), ("-5", "no such user")):
        r = run(env, d, opts=["--user", value])
        lines = r.err.strip().splitlines()
        h.ok(r.rc == 125 and len(lines) == 1 and want in lines[0],
             f"{tag} {value}: refused in one line ({want})", r.describe())
    for value, uid in (("nobody", NOBODY), (str(ALT_USER), ALT_USER)):
        r = run(env, d, opts=["--user", value])
        h.ok(r.rc == 0 and run_host_uid(r) == uid
             and (r.first("run.start") or {}).get("host_identity") == "user",
             f"{tag} {value}: runs as host uid {uid}", r.describe())
    r = run(env, d, opts=["--uid-range", "5000-5000"])
    h.ok(r.rc == 0 and run_host_uid(r) == 5000
         and (r.first("run.start") or {}).get("uid_range") == "5000-5000",
         f"{tag}: --uid-range 5000-5000 gives host uid 5000", r.describe())
    r = run(env, d, opts=["--uid-range", "0-10"])
    h.ok(r.rc == 125 and len(r.err.strip().splitlines()) == 1 and "FIRST-LAST" in r.err,
         f"{tag}: --uid-range 0-10 is refused in one line", r.describe())


def case_fs_tmpfs_hide(env):
    tag = f"[{env.ident}] fs"
    text = probe_manifest(
        tmpfs=[{"path": "/scratch", "size": "64K"}],
        hide=["/skill/private", "/skill/hidden.txt"],
    )
    d = skill_dir(env, text, files={
        "private/key.txt": "skillbox-hidden-dir-content\n",
        "hidden.txt": "skillbox-hidden-file-content\n",
        "visible.txt": "visible\n",
    })
    r, res = probe_ops(env, d, [
        ["write", "/scratch/small", 16 * 1024],
        ["write", "/scratch/big", 256 * 1024],
        ["read", "/skill/private/key.txt"],
        ["ls", "/skill/private"],
        ["read", "/skill/hidden.txt"],
        ["read", "/skill/visible.txt"],
        ["mounts"],
    ])
    h.ok(res[0].get("ok") is True, f"{tag}: tmpfs 64K: writing 16K works", json.dumps(res[0]))
    h.ok(res[1].get("ok") is False and res[1].get("errno") == "ENOSPC",
         f"{tag}: tmpfs 64K: writing 256K more fails with ENOSPC", json.dumps(res[1]))
    h.ok(res[2].get("ok") is False and res[2].get("errno") in ("EACCES", "ENOENT"),
         f"{tag}: hide masks a directory in a read tree ({res[2].get('errno')})",
         json.dumps(res[2]))
    h.ok(res[3].get("ok") is False or res[3].get("v") == [],
         f"{tag}: the hidden directory lists as nothing", json.dumps(res[3]))
    h.ok(res[4].get("ok") is False or res[4].get("v") == "",
         f"{tag}: hide masks a file in a read tree (empty or unreadable)", json.dumps(res[4]))
    h.ok(res[5].get("v") == "visible\n", f"{tag}: the rest of the read tree stays visible",
         json.dumps(res[5]))
    h.ok("skillbox-hidden" not in r.out + r.err, f"{tag}: hidden content never reaches stdout")
    h.ok(os.path.exists(os.path.join(d, "private", "key.txt"))
         and os.path.exists(os.path.join(d, "hidden.txt")),
         f"{tag}: hiding leaves the host files in place")
    pf = (r.first("policy.fs") or {}).get("mounts", [])
    kinds = {(m.get("path"), m.get("kind")) for m in pf}
    h.ok({("/skill/private", "hide"), ("/skill/hidden.txt", "hide")} <= kinds
         and any(m.get("path") == "/scratch" and m.get("kind") == "tmpfs"
                 and m.get("size") == "64K" and m.get("line") == line_of(text, "tmpfs:")
                 for m in pf),
         f"{tag}: policy.fs lists the hides and the 64K tmpfs with its manifest line",
         json.dumps(pf))


def case_fs_tmp_home(env):
    tag = f"[{env.ident}] fs"
    marker = "skillbox-it-" + uuid.uuid4().hex[:12]
    before = HostBefore(host_uid_of(env))
    d = skill_dir(env, probe_manifest())
    r, res = probe_ops(env, d, [
        ["writetext", f"/tmp/{marker}", "t"],
        ["writetext", f"/home/skill/{marker}", "h"],
        ["mounts"],
        ["lstat", "/tmp"],
        ["lstat", "/home/skill"],
        ["env"],
    ], private_host=True)
    h.ok(res[0].get("ok") is True and res[1].get("ok") is True,
         f"{tag}: /tmp and /home/skill are writable", json.dumps(res[:2]))
    mounts = {m[0]: m for m in (res[2].get("v") or [])}
    h.ok(mounts.get("/tmp", [None, None])[1] == "tmpfs"
         and mounts.get("/home/skill", [None, None])[1] == "tmpfs",
         f"{tag}: /tmp and /home/skill are tmpfs", json.dumps(res[2]))
    h.ok(res[3].get("ok") and res[3]["v"]["mode"] & 0o7777 == 0o1777,
         f"{tag}: /tmp is mode 1777", json.dumps(res[3]))
    e = res[5].get("v") or {}
    h.ok(e.get("HOME") == "/home/skill" and e.get("TMPDIR") == "/tmp",
         f"{tag}: HOME=/home/skill, TMPDIR=/tmp", json.dumps(e))
    hits = find_named("/home", marker, depth=2)
    h.ok(not hits, f"{tag}: nothing the skill wrote to HOME is left on the host", hits)
    check_host_left(tag, r, before, marker, env)


def case_fs_dev_root(env):
    tag = f"[{env.ident}] fs"
    d = skill_dir(env, probe_manifest())
    ops = [["ls", "/dev"], ["ls", "/"], ["ls", "/etc"], ["ls", "/home"], ["ls", "/dev/shm"]]
    r, res = probe_ops(env, d, ops)
    want_dev = ["fd", "full", "null", "random", "shm", "stderr", "stdin", "stdout", "tty",
                "urandom", "zero"]
    h.ok(res[0].get("v") == want_dev, f"{tag}: /dev without a terminal is exactly {want_dev}",
         json.dumps(res[0]))
    tops = sorted({m["path"].split("/")[1] for m in (r.first("policy.fs") or {}).get("mounts", [])})
    want_root = ["bin", "dev", "etc", "home", "lib", "lib64", "proc", "sbin", "skill", "tmp", "usr"]
    h.ok(res[1].get("v") == want_root and tops == want_root,
         f"{tag}: / holds only what policy.fs declares", f"ls /: {res[1]}\npolicy.fs: {tops}")
    h.ok(res[2].get("v") == ["group", "hosts", "passwd", "resolv.conf"]
         and res[3].get("v") == ["skill"],
         f"{tag}: /etc has only passwd, group, hosts and resolv.conf, /home only skill",
         json.dumps(res[2:4]))

    # A terminal on stdin alone (output to pipes) is read as it is, into a pipe: the skill
    # gets no pseudo-terminal, so no /dev/pts (test-stdio.py covers the terminal cases).
    master, slave = pty.openpty()
    try:
        r, res = probe_ops(env, d, [["ls", "/dev"]], stdin=slave)
    finally:
        os.close(slave)
        os.close(master)
    h.ok(res[0].get("v") == want_dev,
         f"{tag}: with a terminal on stdin only, /dev is the same", json.dumps(res[0]))


# --- 2. symlinks --------------------------------------------------------------------------


def case_symlinks(env):
    tag = f"[{env.ident}] symlink"
    key_path = os.path.join(env.home, ".ssh", "id_rsa")
    secret = "skillbox-test-planted-key"

    # A workspace symlink declared as a write path, as the declared path itself ...
    text = probe_manifest(write=["./cache:/cache"])
    d = skill_dir(env, text, name="sl1")
    env.symlink(os.path.join(env.home, ".ssh"), "sl1/cache")
    r, res = probe_ops(env, d, [["read", "/cache/id_rsa"], ["ls", "/cache"]], refused=True)
    setup_failed(f"{tag}: write path cache -> ~/.ssh", r, line_of(text, "write:"),
                 ["symbolic link"], secret)
    h.ok(all(x.get("ok") is not True for x in res),
         f"{tag}: write path cache -> ~/.ssh: the key is not reachable", r.describe())

    # ... and as a directory on the way.
    text = probe_manifest(write=["./cachedir/.ssh:/cache"])
    d = skill_dir(env, text, name="sl2")
    env.symlink(env.home, "sl2/cachedir")
    r, res = probe_ops(env, d, [["read", "/cache/id_rsa"]], refused=True)
    setup_failed(f"{tag}: write path through cachedir -> ~", r, line_of(text, "write:"),
                 ["symbolic link"], secret)

    # A symlink planted where a later mount lands (inside the read-only skill dir) must not
    # redirect the mount: the mount point is walked without following symlinks.
    text = probe_manifest(write=["./data:/skill/mnt"])
    d = skill_dir(env, text, name="sl4")
    env.mkdir("sl4/data")
    victim = env.mkdir("victim")
    env.symlink(victim, "sl4/mnt")
    r = run(env, d, args=[json.dumps([["writetext", "/skill/mnt/planted", "x"]])])
    setup_failed(f"{tag}: mount point /skill/mnt is a planted symlink", r,
                 line_of(text, "write:"), ["/skill/mnt"])
    h.ok("symbolic link" in r.err, f"{tag}: mount point /skill/mnt: the message says a symbolic "
         "link was met", r.err)
    h.ok(os.listdir(victim) == [], f"{tag}: the symlink's host target is untouched",
         os.listdir(victim))

    # Symlinks inside a read tree point at paths that do not exist in the view.
    d = skill_dir(env, probe_manifest(), name="sl3")
    links = {
        "shadow": "/etc/shadow",
        "key": key_path,
        "homedir": env.home,
        "rel": os.path.relpath(key_path, d),
        "passwd": "/etc/passwd",
    }
    for n, t in links.items():
        env.symlink(t, f"sl3/{n}")
    r, res = probe_ops(env, d, [["read", "/skill/shadow"], ["read", "/skill/key"],
                                ["ls", "/skill/homedir"], ["read", "/skill/rel"],
                                ["read", "/skill/passwd"], ["readlink", "/skill/key"]])
    for n, x in zip(["shadow", "key", "homedir", "rel"], res):
        h.ok(x.get("ok") is False and x.get("errno") in ("ENOENT", "EACCES"),
             f"{tag}: /skill/{n} -> {links[n]} does not reach the host ({x.get('errno')})",
             json.dumps(x))
    p = res[4].get("v") or ""
    h.ok(res[4].get("ok") and "skill:x:1000" in p and "root:x:0:0" in p
         and len(p.splitlines()) == 3,
         f"{tag}: /skill/passwd -> /etc/passwd reads the sandbox's passwd, not the host's",
         json.dumps(res[4]))
    h.ok(res[5].get("v") == key_path, f"{tag}: readlink inside shows the planted target",
         json.dumps(res[5]))
    h.ok(secret not in r.out + r.err and secret.encode() not in raw_audit(env),
         f"{tag}: the key never appears", r.describe())

    # Declared paths that are themselves symlinks on the host are recreated as symlinks.
    host_links = {p: os.readlink(p) for p in SYSTEM if os.path.islink(p)}
    if not host_links:
        h.skip(f"{tag}: merged-/usr symlinks are recreated", "no symlink among " + str(SYSTEM))
        return
    ops = [["readlink", p] for p in host_links]
    r, res = probe_ops(env, d, ops)
    inside = {p: x.get("v") for p, x in zip(host_links, res)}
    h.ok(inside == host_links, f"{tag}: {sorted(host_links)} are symlinks with the host's targets",
         f"inside {inside}\nhost {host_links}")
    pf = {m["path"]: m for m in (r.first("policy.fs") or {}).get("mounts", [])}
    h.ok(all(p in pf for p in host_links), f"{tag}: policy.fs lists the symlinked paths",
         json.dumps(list(pf)))


# --- 3. processes -------------------------------------------------------------------------


def case_processes(env):
    tag = f"[{env.ident}] proc"
    marker = "skillbox-host-" + uuid.uuid4().hex[:12]
    caller_secret = "caller-secret-" + uuid.uuid4().hex
    host = env.popen(["/bin/sh", "-c", "read x", marker], stdin=subprocess.PIPE,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        d = skill_dir(env, probe_manifest())
        r, res = probe_ops(env, d, [
            ["ppid"],
            ["read", "/proc/1/environ"],
            ["read", "/proc/1/cmdline"],
            ["procs"],
            ["kill", host.pid, 0],
            ["ptrace", 1],
            ["read", "/proc/1/mem"],
            ["ls", "/proc/1/root"],
            ["read", f"/proc/{host.pid}/cmdline"],
        ], extra_env={"CALLER_SECRET": caller_secret})
    finally:
        host.stdin.close()
        host.wait(timeout=10)
    h.ok(res[0].get("v") == 1, f"{tag}: the skill's parent is pid 1", json.dumps(res[0]))
    h.ok(res[1].get("ok") is False and res[1].get("errno") in ("EACCES", "EPERM"),
         f"{tag}: reading /proc/1/environ fails ({res[1].get('errno')})", json.dumps(res[1]))
    h.ok(caller_secret not in r.out + r.err and caller_secret.encode() not in raw_audit(env),
         f"{tag}: the caller's environment does not leak", r.describe())
    cmd = res[2].get("v") or ""
    h.ok(res[2].get("ok") is True and d not in cmd and env.bin not in cmd and "--audit" not in cmd
         and env.top not in cmd,
         f"{tag}: /proc/1/cmdline does not reveal the caller's command line", repr(cmd))
    procs = res[3].get("v") or {}
    h.ok(res[3].get("ok") and not any(marker in c for c in procs.values()),
         f"{tag}: the host process is not visible in /proc", json.dumps(procs))
    h.ok(sorted(procs) == ["1", "2"], f"{tag}: only pid 1 and the skill (2) are visible",
         json.dumps(procs))
    if str(host.pid) in procs:
        h.skip(f"{tag}: kill -0 of the host pid fails", f"pid {host.pid} exists inside")
    else:
        h.ok(res[4].get("ok") is False and res[4].get("errno") == "ESRCH",
             f"{tag}: kill -0 of the host process's pid fails with ESRCH", json.dumps(res[4]))
    h.ok(res[5].get("ok") is False and res[5].get("errno") == "EPERM",
         f"{tag}: ptrace attach to pid 1 fails with EPERM", json.dumps(res[5]))
    h.ok(res[6].get("ok") is False and res[7].get("ok") is False,
         f"{tag}: /proc/1/mem and /proc/1/root are not accessible", json.dumps(res[6:8]))
    h.ok(res[8].get("ok") is False and res[8].get("errno") == "ENOENT",
         f"{tag}: /proc/<host pid> does not exist inside", json.dumps(res[8]))
    pe = r.first("proc.exec") or {}
    h.ok(pe.get("pid") == 2 and pe.get("ppid") == 1 and isinstance(pe.get("host_pid"), int),
         f"{tag}: proc.exec records pid 2, ppid 1 and the host pid", json.dumps(pe))
    check_exit_event(tag, r, 0, "exited", 0, None)


# --- 4. capabilities ----------------------------------------------------------------------


def case_caps(env):
    tag = f"[{env.ident}] caps"
    d = skill_dir(env, probe_manifest())
    r, res = probe_ops(env, d, [["status"]])
    st = res[0].get("v") or {}
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        h.ok(st.get(k) is not None and int(st[k], 16) == 0, f"{tag}: {k} is 0 ({st.get(k)})")
    h.ok(st.get("NoNewPrivs") == "1", f"{tag}: NoNewPrivs is 1 ({st.get('NoNewPrivs')})")
    h.ok(st.get("Uid", "").split() == ["1000"] * 4 and st.get("Gid", "").split() == ["1000"] * 4,
         f"{tag}: uid and gid inside are 1000 (real, effective, saved, fs)",
         f"Uid {st.get('Uid')} Gid {st.get('Gid')}")
    rs = r.first("run.start") or {}
    want = "a per-run uid" if host_uid_of(env) is None else f"uid {host_uid_of(env)}"
    h.ok(rs.get("sandbox_uid") == 1000 and host_uid_matches(env, rs.get("host_uid"))
         and rs.get("host_identity") == ("per-run" if env.ident.is_root else "caller")
         and {"userns", "capabilities", "no_new_privs", "rlimits"} <= set(rs.get("layers", [])),
         f"{tag}: run.start names sandbox uid 1000, host {want} and the layers",
         json.dumps(rs))


# --- 5. environment -----------------------------------------------------------------------


def write_secret_file(env, name, content, mode):
    p = os.path.join(env.home, ".config", name)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "w") as f:
        f.write(content)
    os.chmod(p, mode)
    os.chown(os.path.dirname(p), env.ident.uid, env.ident.gid)
    os.chown(p, env.ident.uid, env.ident.gid)
    return p


def case_env(env):
    tag = f"[{env.ident}] env"
    api = "sk-api-" + uuid.uuid4().hex
    db = "db-pass-" + uuid.uuid4().hex
    caller_secret = "caller-only-" + uuid.uuid4().hex
    db_file = write_secret_file(env, "db", db + "\n", 0o600)
    spec = {
        "pass": ["TZ", "MYPASS", "NOT_SET_ANYWHERE"],
        "set": {"FOO": "bar"},
        "secrets": [{"name": "API_KEY", "from_env": "CALLER_API_KEY"},
                    {"name": "DB_PASSWORD", "from_file": db_file}],
    }
    caller = {"CALLER_SECRET": caller_secret, "CALLER_API_KEY": api, "TZ": "UTC",
              "MYPASS": "passed-value"}
    text = manifest(["/usr/bin/env"], env=spec)
    d = skill_dir(env, text)
    r = run(env, d, extra_env=caller)
    h.ok(r.rc == 0, f"{tag}: /usr/bin/env ran directly", r.describe())
    got = dict(l.split("=", 1) for l in r.out.splitlines() if "=" in l)
    want = {"PATH", "HOME", "LANG", "TMPDIR", "TZ", "MYPASS", "FOO", "API_KEY", "DB_PASSWORD"}
    h.ok(set(got) == want, f"{tag}: exactly the declared names are present",
         f"got {sorted(got)}\nwant {sorted(want)}")
    h.ok(got.get("TZ") == "UTC" and got.get("MYPASS") == "passed-value" and got.get("FOO") == "bar"
         and got.get("HOME") == "/home/skill" and got.get("TMPDIR") == "/tmp"
         and got.get("LANG") == "C.UTF-8",
         f"{tag}: passed, set and default values are right", json.dumps(got))
    h.ok(got.get("API_KEY") == api and got.get("DB_PASSWORD") == db,
         f"{tag}: secrets arrive under their declared names (file's trailing newline dropped)")
    h.ok([l for l in r.out.splitlines() if api in l] == [f"API_KEY={api}"]
         and [l for l in r.out.splitlines() if db in l] == [f"DB_PASSWORD={db}"],
         f"{tag}: each secret's value appears only under its declared name")
    h.ok(caller_secret not in r.out and "CALLER_" not in r.out,
         f"{tag}: the caller's other variables are not passed", r.out)
    raw = raw_audit(env)
    h.ok(api.encode() not in raw and db.encode() not in raw and caller_secret.encode() not in raw
         and b"passed-value" not in raw,
         f"{tag}: no value appears in the raw audit file")
    pe = r.first("policy.env") or {}
    h.ok(pe.get("passed") == ["TZ", "MYPASS"] and pe.get("missing") == ["NOT_SET_ANYWHERE"]
         and pe.get("set") == ["FOO"] and pe.get("secrets") == ["API_KEY", "DB_PASSWORD"]
         and {"CALLER_SECRET", "CALLER_API_KEY"} <= set(pe.get("stripped", []))
         and not set(pe.get("stripped", [])) & {"TZ", "MYPASS"},
         f"{tag}: policy.env lists passed/missing/set/secrets/stripped by name",
         json.dumps(pe))
    h.ok(all("=" not in s for k in ("passed", "stripped", "set", "secrets", "defaults")
             for s in pe.get(k, [])),
         f"{tag}: policy.env holds names only", json.dumps(pe))

    # A secret's value given as an argument is redacted in run.start and proc.exec argv.
    d2 = skill_dir(env, manifest(["/bin/echo"], env={"secrets": spec["secrets"][:1]}),
                   name="echo")
    r = run(env, d2, args=["token", api], extra_env=caller)
    raw = raw_audit(env)
    h.ok(r.out.strip() == f"token {api}", f"{tag}: the skill may print its own argument",
         r.describe())
    argvs = [(r.first("run.start") or {}).get("argv"), (r.first("proc.exec") or {}).get("argv")]
    h.ok(api.encode() not in raw and all(a and "[redacted:API_KEY]" in a for a in argvs),
         f"{tag}: a secret's value in argv is written as [redacted:API_KEY]", json.dumps(argvs))

    # A secret file that others may read is refused, naming the manifest line.
    loose = write_secret_file(env, "loose", "loose-secret-value\n", 0o644)
    text = manifest(["/usr/bin/env"], env={"secrets": [{"name": "DB", "from_file": loose}]})
    d3 = skill_dir(env, text, name="loose")
    r = run(env, d3)
    setup_failed(f"{tag}: secret file mode 0644", r, line_of(text, "secrets:"),
                 ["permissions", "DB"], "loose-secret-value")
    os.chmod(loose, 0o600)
    r = run(env, d3)
    h.ok(r.rc == 0 and "DB=loose-secret-value" in r.out,
         f"{tag}: the same secret file with mode 0600 works", r.describe())

    # A from_env secret the caller does not have.
    text = manifest(["/usr/bin/env"], env={"secrets": [{"name": "TOKEN",
                                                        "from_env": "NO_SUCH_CALLER_VAR"}]})
    d4 = skill_dir(env, text, name="missing")
    r = run(env, d4)
    setup_failed(f"{tag}: secret from a missing variable", r, line_of(text, "secrets:"),
                 ["NO_SUCH_CALLER_VAR"])


def case_secret_symlinks(env):
    """A skill bundle that ships `api.key -> ~/.ssh/id_ed25519` (or a directory link to
    ~/.ssh) must not receive the caller's key: from_file follows no symbolic link below the
    skill's directory or HOME. As root, the target is root's own 0600 file."""
    tag = f"[{env.ident}] env: secret symlink"
    key = "FAKE-ed25519-" + uuid.uuid4().hex
    target = os.path.join(env.home, ".ssh", "id_ed25519")
    with open(target, "w") as f:
        f.write(key + "\n")
    os.chmod(target, 0o600)
    os.chown(target, env.ident.uid, env.ident.gid)

    def attempt(label, secret_path, setup):
        text = manifest(["/usr/bin/env"], env={"secrets": [{"name": "API_KEY",
                                                            "from_file": secret_path}]})
        d = skill_dir(env, text, name=label)
        link, link_target = setup(d)
        r = run(env, d)
        setup_failed(f"{tag}: {label}", r, line_of(text, "secrets:"),
                     ["symbolic link", "API_KEY"], key)
        h.ok(link in r.err and link_target in r.err,
             f"{tag}: {label}: the message names the link {link} and where it points",
             r.describe())
        return d

    def file_link(d):
        link = os.path.join(d, "api.key")
        os.symlink(target, link)
        os.chown(link, env.ident.uid, env.ident.gid, follow_symlinks=False)
        return link, target

    d = attempt("the file is a link", "./api.key", file_link)
    # explain opens it the same way (without reading) and says why it is refused.
    rc, out, err = env.run([env.bin, "explain", d])
    out = out.decode(errors="replace")
    h.ok(rc == 0 and "REFUSED" in out and "symbolic link" in out and key not in out,
         f"{tag}: explain shows the secret as refused, naming the link", out + err.decode())
    rc, out, err = env.run([env.bin, "check", d])
    err = err.decode(errors="replace")
    h.ok("warning: secret API_KEY: the run would fail (125)" in err and "symbolic link" in err
         and key not in err, f"{tag}: check predicts the refusal", err)

    def dir_link(d):
        link = os.path.join(d, "keys")
        os.symlink(os.path.join(env.home, ".ssh"), link)
        os.chown(link, env.ident.uid, env.ident.gid, follow_symlinks=False)
        return link, os.path.join(env.home, ".ssh")

    attempt("a directory on the way is a link", "./keys/id_ed25519", dir_link)

    # Below HOME too: ~/.config/tool -> ~/.ssh is not followed.
    def home_link(d):
        cfg = os.path.join(env.home, ".config")
        os.makedirs(cfg, exist_ok=True)
        os.chown(cfg, env.ident.uid, env.ident.gid)
        link = os.path.join(cfg, "tool")
        if not os.path.lexists(link):
            os.symlink(os.path.join(env.home, ".ssh"), link)
            os.chown(link, env.ident.uid, env.ident.gid, follow_symlinks=False)
        return link, os.path.join(env.home, ".ssh")

    attempt("a directory below HOME is a link", "~/.config/tool/id_ed25519", home_link)

    # The real file, named as it is, works; policy.env and explain record where it was read.
    real = write_secret_file(env, "real.key", "real-value\n", 0o600)
    text = manifest(["/usr/bin/env"], env={"secrets": [{"name": "API_KEY",
                                                        "from_file": "~/.config/real.key"}]})
    d = skill_dir(env, text, name="real")
    r = run(env, d)
    pe = r.first("policy.env") or {}
    h.ok(r.rc == 0 and "API_KEY=real-value" in r.out,
         f"{tag}: the file itself, named through ~, is read", r.describe())
    h.ok(pe.get("secret_files") == [{"name": "API_KEY", "path": real}]
         and b"real-value" not in raw_audit(env),
         f"{tag}: policy.env records the path it was read from, never the value",
         json.dumps(pe))
    rc, out, err = env.run([env.bin, "explain", d])
    out = out.decode(errors="replace")
    h.ok(rc == 0 and real in out and "real-value" not in out,
         f"{tag}: explain shows the path it would read", out)


# --- 6. limits ----------------------------------------------------------------------------

TREE_SH = r'''
M=$1
sh -c 'sleep 300; :' "$M-bg1" &
sh -c 'sleep 300; :' "$M-bg2" &
( sh -c 'sleep 300; :' "$M-dbl" & )
setsid -f sh -c 'sleep 300; :' "$M-sid"
echo ready
wait
'''


def start_tree(env, d, marker, opts=()):
    """Starts the process-tree skill; returns (live run, sandbox pids, pid namespace). The
    namespace is held open (live.ns_fd, closed by the caller) until the checks are done: a
    freed namespace's inode number is given to the next one made on the machine, maybe by
    another suite, whose processes would then look like this run's."""
    live = Live(env, d, args=[marker], opts=opts)
    live.ns_fd = None
    line = live.line(15)
    sandbox = []
    ns = None
    if line.strip() == b"ready":
        # skillbox's own argv carries the marker too; the sandbox's are in another pid ns.
        mine = ns_of(os.getpid(), "pid")
        found = [p for p in h.pids_matching(marker) if ns_of(p, "pid") not in (None, mine)]
        if found:
            try:
                live.ns_fd = os.open(f"/proc/{found[0]}/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
                ns = ns_of(found[0], "pid")
            except OSError:
                ns = None
        if ns:
            sandbox = sorted(set(found) | set(pids_in_ns("pid", ns)))
    return live, line, sandbox, ns


def release_ns(live):
    if live.ns_fd is not None:
        os.close(live.ns_fd)
        live.ns_fd = None


def case_timeout(env):
    tag = f"[{env.ident}] limits"
    marker = "skillbox-tree-" + uuid.uuid4().hex[:12]
    d = skill_dir(env, manifest(["/bin/sh", "/skill/tree.sh"], limits={"timeout": "3s"}),
                  files={"tree.sh": TREE_SH}, name="timeout")
    live, line, sandbox, ns = start_tree(env, d, marker)
    h.ok(line.strip() == b"ready" and len(sandbox) >= 6,
         f"{tag}: timeout: the skill started its background, double-forked and setsid "
         f"processes", f"line={line!r} pids={sandbox}")
    r = live.finish(RUN_TIMEOUT)
    h.ok(r.rc == 124, f"{tag}: timeout: exits 124", r.describe())
    h.ok(r.elapsed < 20, f"{tag}: timeout: wall time {r.elapsed:.1f}s, far under the sleeps")
    lh = [e for e in r.of("limit.hit") if e.get("limit") == "timeout"]
    h.ok(len(lh) == 1 and lh[0].get("value") == "3s",
         f"{tag}: timeout: one limit.hit timeout event with value 3s", json.dumps(r.of("limit.hit")))
    check_exit_event(f"{tag}: timeout", r, 124, "timeout", None, None)
    e = run_exit(r)
    h.ok(2.5 <= float(e.get("wall_s", 0)) < 20, f"{tag}: timeout: run.exit wall_s about 3s",
         json.dumps(e))
    h.ok("timeout" in ((r.first("run.summary") or {}).get("limits_hit") or []),
         f"{tag}: timeout: run.summary limits_hit has timeout")
    left = h.wait_gone(sandbox, 10)
    h.ok(sandbox and not left, f"{tag}: timeout: every sandboxed process is gone",
         f"found {sandbox}, left {left}")
    h.ok(not h.pids_matching(marker) and not (ns and pids_in_ns("pid", ns)),
         f"{tag}: timeout: no process with the marker or in the sandbox's pid namespace",
         f"marker: {h.pids_matching(marker)}, namespace: {ns and pids_in_ns('pid', ns)}")
    release_ns(live)


def case_output(env):
    tag = f"[{env.ident}] limits"
    cmd = ("head -c 10000000 /dev/zero | tr '\\0' A; "
           "head -c 10000000 /dev/zero | tr '\\0' B >&2")
    d = skill_dir(env, manifest(["/bin/sh", "-c", cmd], limits={"output": "1K", "timeout": "20s"}),
                  name="output")
    r = run(env, d)
    total = len(r.stdout) + len(r.stderr)
    h.ok(total == 1024 and r.stdout == b"A" * len(r.stdout),
         f"{tag}: output 1K: exactly 1024 bytes reach stdout+stderr ({len(r.stdout)}+"
         f"{len(r.stderr)})", r.err[:500])
    h.ok(r.rc not in (None, 124, 125), f"{tag}: output 1K: the run ends by itself (rc {r.rc})")
    lh = [e for e in r.of("limit.hit") if e.get("limit") == "output"]
    h.ok(len(lh) == 1 and lh[0].get("value") == "1K", f"{tag}: output 1K: limit.hit output",
         json.dumps(r.of("limit.hit")))
    h.ok("output" in ((r.first("run.summary") or {}).get("limits_hit") or []),
         f"{tag}: output 1K: run.summary limits_hit has output")


def case_cpu_fsize(env):
    tag = f"[{env.ident}] limits"
    d = skill_dir(env, manifest(["/bin/sh", "-c", "while :; do :; done"],
                                limits={"cpu": "1s", "timeout": "20s"}), name="cpu")
    r = run(env, d)
    h.ok(r.rc in (128 + signal.SIGXCPU, 128 + signal.SIGKILL),
         f"{tag}: cpu 1s: a busy loop dies of SIGXCPU/SIGKILL (rc {r.rc})", r.describe())
    e = run_exit(r)
    # Either the kernel stops the one busy process (RLIMIT_CPU), or skillbox, reading the
    # whole sandbox's CPU time, stops everything first (reason cpu, exit 152).
    # RLIMIT_CPU is checked against tick-sampled CPU time, while rusage is scaled to the
    # scheduler's runtime: on a loaded virtual machine (steal time) the two part by 10% or
    # more (0.89 s measured), so "about 1s" is a lower bound of 0.5 s here.
    h.ok((e.get("reason") == "signaled" and e.get("signal") in ("SIGXCPU", "SIGKILL")
          and float(e.get("user_cpu_s", 0)) + float(e.get("sys_cpu_s", 0)) >= 0.5)
         or (e.get("reason") == "cpu" and e.get("status") == 128 + signal.SIGXCPU),
         f"{tag}: cpu 1s: run.exit signaled with about 1s of CPU, or reason cpu",
         json.dumps(e))
    lh = [x for x in r.of("limit.hit") if x.get("limit") == "cpu"]
    h.ok(len(lh) == 1 and lh[0].get("value") == "1s", f"{tag}: cpu 1s: limit.hit cpu",
         json.dumps(r.of("limit.hit")))
    h.ok(r.elapsed < 15, f"{tag}: cpu 1s: ended in {r.elapsed:.1f}s")

    d = skill_dir(env, manifest(["/bin/sh", "-c", "exec head -c 1000000 /dev/zero > /tmp/big"],
                                limits={"file_size": "64K"}), name="fsize")
    r = run(env, d)
    h.ok(r.rc == 128 + signal.SIGXFSZ, f"{tag}: file_size 64K: writing past it -> SIGXFSZ "
         f"(rc {r.rc})", r.describe())
    check_exit_event(f"{tag}: file_size", r, 128 + signal.SIGXFSZ, "signaled", None, "SIGXFSZ")
    lh = [x for x in r.of("limit.hit") if x.get("limit") == "file_size"]
    h.ok(len(lh) == 1 and lh[0].get("value") == "64K", f"{tag}: file_size: limit.hit file_size",
         json.dumps(r.of("limit.hit")))

    d = skill_dir(env, probe_manifest(limits={"file_size": "64K"}), name="fsize2")
    r, res = probe_ops(env, d, [["write", "/tmp/big", 1 << 20, "noxfsz"]])
    h.ok(res[0].get("ok") is False and res[0].get("errno") == "EFBIG",
         f"{tag}: file_size 64K with SIGXFSZ ignored: EFBIG", json.dumps(res[0]))


def case_rlimits(env):
    tag = f"[{env.ident}] limits"
    text = probe_manifest(limits={"processes": 16, "open_files": 40, "memory": "128M"})
    d = skill_dir(env, text)
    r, res = probe_ops(env, d, [["rlimits"], ["forklimit", 40], ["alloc", 512 << 20]])
    rl = res[0].get("v") or {}
    h.ok(rl.get("NOFILE") == [40, 40] and rl.get("NPROC") == [16, 16]
         and rl.get("DATA") == [128 << 20, 128 << 20] and rl.get("CORE") == [0, 0],
         f"{tag}: ulimit inside: open_files 40, processes 16, memory 128M, no core dumps",
         json.dumps(rl))
    fl = res[1].get("v") or {}
    h.ok(fl.get("errno") == "EAGAIN" and 0 < fl.get("forked", 99) < 16,
         f"{tag}: processes 16: forking stops with EAGAIN ({fl})")
    h.ok(res[2].get("ok") is False and res[2].get("errno") == "ENOMEM",
         f"{tag}: memory 128M: a 512M allocation fails", json.dumps(res[2]))
    sh = skill_dir(env, manifest(["/bin/sh", "-c", "ulimit -n; ulimit -p"],
                                 limits={"processes": 16, "open_files": 40}), name="ulimit")
    r2 = run(env, sh)
    h.ok(r2.out.split() == ["40", "16"], f"{tag}: `ulimit -n; ulimit -p` in sh says 40 and 16",
         r2.describe())
    pl = r.first("policy.limits") or {}
    h.ok(pl.get("processes") == 16 and pl.get("open_files") == 40 and pl.get("memory") == 128 << 20
         and pl.get("timeout") is None,
         f"{tag}: policy.limits records the limits", json.dumps(pl))


# --- 7. signals and supervision -----------------------------------------------------------


def case_sigterm(env):
    tag = f"[{env.ident}] signals"
    script = "trap 'echo got-term; exit 7' TERM\necho ready\nsleep 300 &\nwait\n"
    d = skill_dir(env, manifest(["/bin/sh", "/skill/term.sh"], limits={"timeout": "30s"}),
                  files={"term.sh": script}, name="term")
    live = Live(env, d)
    line = live.line(15)
    h.ok(line.strip() == b"ready", f"{tag}: the skill is ready", repr(line))
    if line.strip() == b"ready":
        os.kill(live.pid, signal.SIGTERM)
    r = live.finish()
    h.ok(r.rc == 7 and "got-term" in r.out,
         f"{tag}: SIGTERM to skillbox reaches the skill's trap; skillbox exits 7", r.describe())
    check_exit_event(f"{tag}: SIGTERM", r, 7, "exited", 7, None)


def case_sigkill(env):
    tag = f"[{env.ident}] signals"
    marker = "skillbox-kill-" + uuid.uuid4().hex[:12]
    d = skill_dir(env, manifest(["/bin/sh", "/skill/tree.sh"], limits={"timeout": "60s"}),
                  files={"tree.sh": TREE_SH}, name="kill")
    live, line, sandbox, ns = start_tree(env, d, marker)
    h.ok(line.strip() == b"ready" and len(sandbox) >= 5,
         f"{tag}: the skill and its background processes are running",
         f"line={line!r} pids={sandbox}")
    userns = ns_of(sandbox[0], "user") if sandbox else None
    netns = ns_of(sandbox[0], "net") if sandbox else None
    # Held like the pid namespace (which holds its user namespace): no reuse of the inode.
    net_fd = os.open(f"/proc/{sandbox[0]}/ns/net", os.O_RDONLY | os.O_CLOEXEC) if netns else None
    # The sandbox's init is skillbox's child too; a suite run unprivileged cannot read its
    # namespaces (it is not dumpable), but its cmdline says what it is.
    helpers = [p for p in all_pids() if p != live.pid
               and h.ppid_of(p) == live.pid and p not in sandbox and not is_init(p)]
    h.ok(not helpers, f"{tag}: skillbox has no helper process (no pasta at this stage)",
         helpers)
    # Namespace inode numbers are reused once freed: only processes that existed before the
    # kill can be strays. init (pid 1 inside) dies last, after reaping the rest: wait for it
    # too before looking for strays, or a slow exit would look like one.
    before_kill = all_pids()
    inits = [p for p in before_kill if h.ppid_of(p) == live.pid and is_init(p)]
    # A root caller's per-run uid is claimed by an abstract socket skillbox and init hold.
    uid = host_uid_of_pid(sandbox[0]) if sandbox else None
    if env.ident.is_root:
        h.ok(per_run(uid) and not claimable(uid),
             f"{tag}: the run's per-run uid {uid} is claimed while it runs")
    os.kill(live.pid, signal.SIGKILL)
    r = live.finish(RUN_TIMEOUT)
    h.ok(r.rc == -signal.SIGKILL, f"{tag}: skillbox died of SIGKILL", r.rc)
    h.wait_gone(inits, 10)
    left = h.wait_gone(sandbox, 10)
    h.ok(sandbox and not left, f"{tag}: SIGKILL of skillbox: every sandboxed process is gone",
         f"found {sandbox}, left {left}")
    if env.ident.is_root:
        h.ok(per_run(uid) and claimable(uid),
             f"{tag}: SIGKILL of skillbox: once its sandbox is gone, uid {uid} is free again")
    stray = [p for p in h.alive(before_kill)
             if (userns and ns_of(p, "user") == userns) or (netns and ns_of(p, "net") == netns)]
    h.ok(not h.pids_matching(marker) and not stray,
         f"{tag}: nothing is left in the sandbox's namespaces (no pasta either)", stray)
    release_ns(live)
    if net_fd is not None:
        os.close(net_fd)


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def host_uid_of_pid(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return None


def claimable(uid):
    """Whether skillbox's claim on a per-run uid (the abstract socket skillbox/uid/N) is free:
    binding it here succeeds only then (and is let go at once)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.bind(f"\0skillbox/uid/{uid}")
        return True
    except OSError:
        return False
    finally:
        s.close()


def is_init(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().startswith(b"skillbox-init")
    except OSError:
        return False


# --- 8. exit codes ------------------------------------------------------------------------


def case_exit_codes(env):
    tag = f"[{env.ident}] exit"
    # A bad manifest.
    text = "skillbox: 1\nname: bad\ncommand: [/bin/true]\nbogus_key: 1\n"
    d = env.skill(text, name="bad")
    r = run(env, d)
    h.ok(r.rc == 125 and re.search(r"skillbox\.yaml:4:1\b", r.err),
         f"{tag}: an unknown key exits 125 with skillbox.yaml:4:1 on stderr", r.describe())
    check_exit_event(f"{tag}: bad manifest", r, 125, "setup-failed", None, None)

    # A missing mount source.
    text = probe_manifest(read=["./nope:/nope"])
    d = skill_dir(env, text, name="nosrc")
    r = run(env, d)
    setup_failed(f"{tag}: missing mount source", r, line_of(text, "read:"), ["nope"])

    # Not executable; not found.
    d = skill_dir(env, manifest(["/skill/noexec.sh"]),
                  files={"noexec.sh": ("#!/bin/sh\necho ran\n", 0o644)}, name="noexec")
    r = run(env, d)
    h.ok(r.rc == 126 and "ran" not in r.out, f"{tag}: a command without x bit exits 126",
         r.describe())
    check_exit_event(f"{tag}: not executable", r, 126, "exec-failed", None, None)
    for cmd in (["no-such-command-skillbox"], ["/skill/no-such-file"]):
        text = manifest(cmd)
        d = skill_dir(env, text, name="notfound")
        r = run(env, d)
        h.ok(r.rc == 127 and cmd[0] in r.err, f"{tag}: {cmd[0]}: exits 127 naming the command",
             r.describe())
        check_exit_event(f"{tag}: {cmd[0]}", r, 127, "exec-failed", None, None)
        h.ok(not r.of("proc.exec"), f"{tag}: {cmd[0]}: no proc.exec event")
    h.ok(re.search(rf"skillbox\.yaml:{line_of(text, 'command:')}:\d+", r.err),
         f"{tag}: command not found names the manifest's command line", r.err)

    # The skill's own status, and death by its own signal.
    d = skill_dir(env, manifest(["/bin/sh", "-c", "exit 3"]), name="exit3")
    r = run(env, d)
    h.ok(r.rc == 3, f"{tag}: the skill exits 3 -> 3", r.describe())
    check_exit_event(f"{tag}: exit 3", r, 3, "exited", 3, None)
    d = skill_dir(env, manifest(["/bin/sh", "-c", "kill -TERM $$; echo not-reached"]),
                  name="selfterm")
    r = run(env, d)
    h.ok(r.rc == 143 and "not-reached" not in r.out, f"{tag}: killed by its own SIGTERM -> 143",
         r.describe())
    check_exit_event(f"{tag}: SIGTERM", r, 143, "signaled", None, "SIGTERM")

    # Arguments after -- are appended.
    d = skill_dir(env, manifest(["/usr/bin/printf", "%s|", "a"]), name="args")
    r = run(env, d, args=["b", "c d", "--x"])
    h.ok(r.rc == 0 and r.out == "a|b|c d|--x|", f"{tag}: args after -- are appended", r.describe())
    want = ["/usr/bin/printf", "%s|", "a", "b", "c d", "--x"]
    h.ok((r.first("proc.exec") or {}).get("argv") == want
         and (r.first("run.start") or {}).get("argv") == want,
         f"{tag}: run.start and proc.exec record the full argv",
         json.dumps([r.first("run.start"), r.first("proc.exec")]))


# --- 9. audit plumbing --------------------------------------------------------------------


def check_chain(name, lines):
    evs = []
    for l in lines:
        try:
            evs.append(json.loads(l))
        except ValueError:
            evs.append({})
    h.ok(bool(evs) and [e.get("seq") for e in evs] == list(range(len(evs))),
         f"{name}: seq runs 0..{len(evs) - 1}", [e.get("seq") for e in evs])
    kinds = [e.get("event") for e in evs]
    h.ok(kinds[:4] == ["run.start", "policy.fs", "policy.env", "policy.limits"]
         and "proc.exec" in kinds and kinds[-2:] == ["run.exit", "run.summary"],
         f"{name}: run.start, policy.*, proc.exec, run.exit, run.summary in order", kinds)
    run_ids = {e.get("run") for e in evs}
    prev_ok = bool(evs) and len(run_ids) == 1
    expect = hashlib.sha256(evs[0].get("run", "").encode()).hexdigest() if evs else None
    for l, e in zip(lines, evs):
        prev_ok = prev_ok and e.get("prev") == expect
        expect = hashlib.sha256(l.encode()).hexdigest()
    h.ok(prev_ok, f"{name}: one run id; each prev is the SHA-256 of the line before")
    summ = evs[-1] if evs else {}
    h.ok(summ.get("events") == len(evs), f"{name}: run.summary counts {len(evs)} events",
         json.dumps(summ))


def case_init_sealed(env):
    """init (pid 1) is sealed (not dumpable) from the skill's first instruction on: its /proc
    files belong to root (unmapped inside: 65534), not to the sandbox user, and its descriptor
    table cannot be listed; the skill's own files are its user's. The skill runs on init's
    memory map until its execve() and makes it dumpable for the parent's pidfd_getfd(); it
    seals it again before the execve, and with exec tracing it runs on a copy of the map
    (launcher/sandbox.c). The probe looks first thing after its execve, a few runs at a time,
    many times: before the fix about one run in four saw init as its own."""
    tag = f"[{env.ident}] proc"
    with open(os.path.join(PROBES, "sealed-probe"), "rb") as f:
        probe = f.read()
    d = skill_dir(env, manifest(["/skill/sealed-probe"]), name="sealed",
                  files={"sealed-probe": (probe, 0o755)})
    want = "init=65534 fd=EACCES self=1000"
    for mode, opts in (("untraced", []), ("exec traced", ["--trace", "exec"])):
        seen = collections.Counter()
        for _ in range(SEALED_RUNS // SEALED_AT_ONCE):
            ps = [env.popen([env.bin, "run"] + opts + [d], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                  for _ in range(SEALED_AT_ONCE)]
            for p in ps:
                try:
                    out, _ = p.communicate(timeout=RUN_TIMEOUT)
                except subprocess.TimeoutExpired:
                    p.kill()
                    out, _ = p.communicate()
                seen[(p.returncode, out.decode(errors="replace").strip())] += 1
        h.ok(seen == {(0, want): SEALED_RUNS},
             f"{tag}: {mode}: in {SEALED_RUNS} runs init is sealed from the skill's first "
             f"instruction ({want})", dict(seen))


def case_audit(env):
    tag = f"[{env.ident}] audit"
    d = skill_dir(env, manifest(["/bin/echo", "hello"]))
    r = env.skillbox(["run", "--audit", "-", d], audit=False, timeout=RUN_TIMEOUT)
    lines = [l for l in r.err.splitlines() if l.strip()]
    h.ok(r.rc == 0 and r.out == "hello\n", f"{tag}: --audit -: stdout is only the skill's",
         r.describe())
    h.ok(lines and all(l.startswith("{") for l in lines),
         f"{tag}: --audit -: stderr holds JSON lines", r.err)
    check_chain(f"{tag}: --audit -", lines)

    # --audit PATH through a planted symlink: refused, and the target untouched.
    victim = os.path.join(env.auditdir, "victim.txt")
    link = os.path.join(env.auditdir, "planted.jsonl")
    with open(victim, "w") as f:
        f.write("keep\n")
    os.chmod(victim, 0o666)
    os.symlink(victim, link)
    r = env.skillbox(["run", "--audit", link, d], audit=False, timeout=RUN_TIMEOUT)
    h.ok(r.rc == 125 and "symbolic link" in r.err and open(victim).read() == "keep\n",
         f"{tag}: --audit through a symlink is refused; its target is untouched", r.describe())

    # --audit-fd: the descriptor is not inherited by the skill.
    path = os.path.join(env.top, "audit-fd.jsonl")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    N = 37
    os.dup2(fd, N)
    os.close(fd)
    try:
        d = skill_dir(env, manifest(["/bin/ls", "/proc/self/fd"]), name="fds")
        p = env.popen([env.bin, "run", "--audit-fd", str(N), d], stdin=subprocess.DEVNULL,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, pass_fds=(N,))
        try:
            out, err = p.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
    finally:
        os.close(N)
    fds = out.decode().split()
    h.ok(p.returncode == 0 and str(N) not in fds and set(fds) <= {"0", "1", "2", "3"},
         f"{tag}: --audit-fd {N}: the skill sees only 0,1,2 (and ls's own 3)",
         f"rc={p.returncode} fds={fds} err={err.decode()[-500:]}")
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    check_chain(f"{tag}: --audit-fd", lines)


# --- 10. the host is left as it was -------------------------------------------------------


def case_host_unchanged(env):
    tag = f"[{env.ident}] host"
    marker = "skillbox-left-" + uuid.uuid4().hex[:12]
    out = env.mkdir("host-out")
    script = (f"sh -c 'sleep 300; :' {marker} &\n"
              f"echo x > /tmp/{marker}; echo y > /out/{marker}; echo done\n")
    d = skill_dir(env, manifest(["/bin/sh", "/skill/left.sh"], write=[out + ":/out"],
                                tmpfs=[{"path": "/scratch", "size": "1M"}]),
                  files={"left.sh": script}, name="left")
    # The caller's own directory (root's, for root).
    os.chown(out, env.ident.uid, env.ident.gid)
    # A root caller's host uid is a per-run one (None: any per-run uid).
    before = HostBefore(host_uid_of(env))
    r = run(env, d, private_host=True)
    h.ok(r.rc == 0 and r.out == "done\n",
         f"{tag}: a skill that leaves a background process behind ends with it", r.describe())
    check_host_left(tag, r, before, marker, env)
    made = os.path.join(out, marker)
    h.ok(os.path.exists(made) and os.lstat(made).st_uid == env.ident.uid,
         f"{tag}: the write path got its file, owned by the caller (uid {env.ident.uid})")


# --- 11. the launch path runs no subprocess -----------------------------------------------


def case_no_subprocess(env):
    tag = f"[{env.ident}] exec"
    strace = shutil.which("strace")
    if not strace:
        h.skip(f"{tag}: only skillbox and the command are executed", "strace is not installed")
        return
    d = skill_dir(env, manifest(["/bin/true"]), name="true")
    log = os.path.join(env.top, "strace.log")
    # LeakSanitizer cannot run under ptrace; a sanitizer build would exit 1 for that alone.
    rc, out, err = env.run([strace, "-f", "-qq", "-e", "trace=execve", "-o", log,
                            env.bin, "run", d], timeout=RUN_TIMEOUT,
                           env={"ASAN_OPTIONS": "detect_leaks=0"})
    if not os.path.exists(log):
        h.ok(False, f"{tag}: strace wrote its log", f"rc={rc} {err.decode()[-1000:]}")
        return
    with open(log) as f:
        text = f.read()
    # Lines look like `PID execve("/path", [...], ...) = 0`, or split in two with
    # "<unfinished ...>" / "<... execve resumed>". The path shows as a bare pointer when strace
    # may not read the tracee's memory (the non-dumpable sandbox, for an unprivileged tracer).
    calls = {}  # pid -> path of the pending execve
    done = []
    for line in text.splitlines():
        m = re.match(r'^(\d+)\s+execve\(("(?:[^"\\]|\\.)*"|0x[0-9a-f]+)', line)
        if m:
            path = m.group(2).strip('"')
            res = re.search(r"\) = (-?\d+)", line)
            if res:
                if res.group(1) == "0":
                    done.append(path)
            else:
                calls[m.group(1)] = path
            continue
        m = re.match(r"^(\d+)\s+<\.\.\. execve resumed>.*= (-?\d+)", line)
        if m:
            path = calls.pop(m.group(1), "?")
            if m.group(2) == "0":
                done.append(path)
    h.ok(rc == 0 and len(done) == 2 and done[0] == env.bin
         and (done[1] in ("/bin/true", "/usr/bin/true") or done[1].startswith("0x")),
         f"{tag}: under strace, exactly two execve succeed: skillbox and /bin/true",
         f"rc={rc} execs={done}\n{text[-2000:]}")


# --- main ---------------------------------------------------------------------------------

CASES = [
    case_start_reliability,
    case_fs_secret,
    case_fs_write,
    case_no_setid,
    case_concurrent_uids,
    case_user_option,
    case_explain_identity,
    case_fs_tmpfs_hide,
    case_fs_tmp_home,
    case_fs_dev_root,
    case_symlinks,
    case_processes,
    case_caps,
    case_env,
    case_secret_symlinks,
    case_timeout,
    case_output,
    case_cpu_fsize,
    case_rlimits,
    case_sigterm,
    case_sigkill,
    case_exit_codes,
    case_init_sealed,
    case_audit,
    case_host_unchanged,
    case_no_subprocess,
]


def main():
    binary = h.skillbox_binary()
    if not os.access(binary, os.X_OK):
        h.skip("skillbox run", f"{binary} is not built")
        h.done()
    only = os.environ.get("TEST_RUN_ONLY")
    h.become_subreaper()
    for ident in h.identities():
        h.diag(f"identity {ident} (uid {ident.uid})")
        for case in CASES:
            if only and only not in case.__name__:
                continue
            env = make_env(ident)
            try:
                case(env)
            except Exception:  # a crash in one case must not hide the others
                import traceback

                h.ok(False, f"[{ident}] {case.__name__} ran to the end", traceback.format_exc())
            finally:
                env.__exit__(None, None, None)
    h.done()


if __name__ == "__main__":
    main()
