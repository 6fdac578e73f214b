#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests for `skillbox run --isolation landlock`: the isolation cases that make
sense without namespaces, as root and as an unprivileged user. Each attempts the forbidden
thing, asserts that it fails the way the mode says it does, and checks the audit trail where
one is written (Landlock's own denials are not reported to skillbox: a refused open shows
only with --trace files).

What each case reaches for is made reachable by file permissions first (world-readable
secrets, a signal target of the skill's own uid), so that only the isolation can be what
refuses it; a control in the same run shows the permitted counterpart working.

Also here: the refusals of manifests this mode cannot enforce (exit 125, FILE:LINE:COLUMN),
and the message of the default mode where user namespaces cannot be created (a seccomp
filter as Docker's profile has it, from probes/no-userns.c; max_user_namespaces 0 in a user
namespace of the test's own), which must name this option. Nothing on the host is changed.
"""

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SYSTEM = ["/usr", "/bin", "/lib", "/lib64", "/sbin"]
PY = "/usr/bin/python3"
NOBODY = 65534
RANGE = (1879048192, 1879113727)  # the default range of per-run uids
ALT_USER = 4343
RUN_TIMEOUT = 30

PROBE = r'''
import ctypes, errno, json, os, resource, signal, socket, sys

def en(e):
    return errno.errorcode.get(e.errno, str(e.errno))

libc = ctypes.CDLL(None, use_errno=True)

def check(r):
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))
    return r

def op_read(p):
    with open(p, "rb") as f:
        return f.read(4096).decode("latin-1")

def op_write(p, text="x"):
    with open(p, "w") as f:
        f.write(text)
    return True

def op_ls(p):
    return sorted(os.listdir(p))

def op_stat(p):
    st = os.stat(p)
    return {"uid": st.st_uid, "mode": st.st_mode & 0o7777}

def op_chmod(p, mode):
    os.chmod(p, mode)
    return oct(os.stat(p).st_mode & 0o7777)

def op_kill(pid, sig):
    os.kill(pid, sig)
    return True

def op_kill_own_child():
    pid = os.fork()
    if pid == 0:
        signal.pause()
        os._exit(0)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return True

def op_ptrace(pid):
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    libc.ptrace.restype = ctypes.c_long
    check(libc.ptrace(16, pid, None, None))  # PTRACE_ATTACH
    libc.ptrace(17, pid, None, None)
    return "ATTACHED"

def op_connect_tcp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    return "CONNECTED"

def op_udp():
    socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    return True

def op_unix(name):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(name.replace("@", "\0", 1) if name.startswith("@") else name)
    return "CONNECTED"

def op_socketpair():
    a, b = socket.socketpair()
    a.send(b"x")
    return b.recv(1).decode()

def op_shmget():
    return check(libc.shmget(0, 4096, 0o1000 | 0o600))  # IPC_PRIVATE, IPC_CREAT

def op_mmap(size, shared):
    import mmap
    m = mmap.mmap(-1, size, flags=(mmap.MAP_SHARED if shared else mmap.MAP_PRIVATE))
    m.close()
    return True

def op_memfd():
    os.close(os.memfd_create("x"))
    return True

def op_prlimit(pid):
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (64, 64))
    return True

def op_ppid():
    return os.getppid()

def op_ancestor_uids():
    """The real uids of init (the parent) and of skillbox (its parent): /proc/PID/status
    is readable without ptrace access."""
    out = []
    pid = os.getppid()
    for _ in range(2):
        with open("/proc/%d/status" % pid) as f:
            st = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        out.append(int(st["Uid"].split()[0]))
        pid = int(st["PPid"])
    return out

def op_ptrace_parent():
    return op_ptrace(os.getppid())

def op_read_parent_environ():
    return op_read("/proc/%d/environ" % os.getppid())

def op_env(name):
    return os.environ.get(name)

def op_cwd():
    return os.getcwd()

def op_status():
    st = {}
    with open("/proc/self/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            st[k] = v.strip()
    return {"uid": os.getuid(), "groups": os.getgroups(), "CapEff": st.get("CapEff"),
            "CapPrm": st.get("CapPrm"), "CapBnd": st.get("CapBnd"),
            "NoNewPrivs": st.get("NoNewPrivs"), "Seccomp": st.get("Seccomp")}

def op_spawn_detached():
    """A grandchild in a session of its own, as a daemon would leave behind."""
    r, w = os.pipe()
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            os.write(w, str(os.getpid()).encode())
            os.close(w)
            signal.pause()
        os._exit(0)
    os.close(w)
    pid = int(os.read(r, 32))
    os.wait()
    return pid

OPS = {k[3:]: v for k, v in list(globals().items()) if k.startswith("op_")}

res = []
for op in json.loads(sys.argv[1]):
    try:
        res.append({"ok": True, "v": OPS[op[0]](*op[1:])})
    except OSError as e:
        res.append({"ok": False, "errno": en(e)})
print(json.dumps(res), flush=True)
'''


def manifest(command, read=(), write=(), extra=(), workdir="/skill", skill_inside=True):
    """The skill directory at /skill ("." mapped: the run translates it) unless
    skill_inside is False ("." at its own path)."""
    lines = [
        "skillbox: 1",
        "name: landlock-test",
        f"command: {json.dumps(command)}",
    ]
    if workdir:
        lines.append(f"workdir: {workdir}")
    lines += [
        "filesystem:",
        f"  read: {json.dumps(SYSTEM + (['.:/skill'] if skill_inside else ['.']) + list(read))}",
    ]
    if write:
        lines.append(f"  write: {json.dumps(list(write))}")
    lines += list(extra)
    return "\n".join(lines) + "\n"


def probe_manifest(**kw):
    return manifest([PY, "/skill/probe.py"], **kw)


def make_env(ident):
    env = h.Env(ident).__enter__()
    os.chown(env.top, ident.uid, ident.gid)
    return env


def skill_uid(env):
    """The skill's uid when its write paths belong to it (nobody, for a root caller's runs:
    the skill then runs as their owner, since there is no user namespace to idmap them)."""
    return NOBODY if env.ident.is_root else env.ident.uid


def own_uid_ok(env, uid):
    """A run without write paths: a root caller's skill gets a per-run uid."""
    if env.ident.is_root:
        return isinstance(uid, int) and RANGE[0] <= uid <= RANGE[1]
    return uid == env.ident.uid


def skill_dir(env, text, name="skill", files=None):
    files = dict(files or {})
    files.setdefault("probe.py", PROBE)
    return env.skill(text, name=name, files=files)


def run(env, d, args=(), opts=(), timeout=RUN_TIMEOUT, extra_env=None):
    argv = ["run", "--isolation", "landlock"] + list(opts) + [d]
    if args:
        argv += ["--"] + list(args)
    return env.skillbox(argv, timeout=timeout, env=extra_env)


def probe(env, d, ops, **kw):
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
        h.diag(f"the probe gave no result:\n{r.describe()}")
        res = [{"ok": None, "errno": "NO-RESULT"}] * len(ops)
    return r, res


def refused(res, errno_name):
    return res.get("ok") is False and res.get("errno") == errno_name


def denials(r, syscall):
    return [e for e in r.of("syscall.deny") if e.get("syscall") == syscall]


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def start_as(uid, argv):
    """A process of uid (its own session), for the skill to reach for."""
    pre = [] if uid == 0 else ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups"]
    return subprocess.Popen(pre + argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def victim_dir(env):
    """A directory outside every declared path whose files the skill's uid could read and
    change by their permissions alone: only Landlock stands in the way."""
    d = os.path.join(env.top, "victim")
    os.makedirs(os.path.join(d, ".ssh"), exist_ok=True)
    with open(os.path.join(d, ".ssh", "id_rsa"), "w") as f:
        f.write(h.Env.SSH_KEY)
    with open(os.path.join(d, "mine"), "w") as f:
        f.write("skill-owned\n")
    for p in (d, os.path.join(d, ".ssh")):
        os.chmod(p, 0o777)
    os.chmod(os.path.join(d, ".ssh", "id_rsa"), 0o644)
    os.chown(os.path.join(d, "mine"), skill_uid(env), skill_uid(env))
    os.chmod(os.path.join(d, "mine"), 0o644)
    return d


def writable_dir(env, name):
    d = os.path.join(env.top, name)
    os.makedirs(d, exist_ok=True)
    os.chown(d, skill_uid(env), skill_uid(env))
    os.chmod(d, 0o755)
    return d


# --- identity, layers and the audit trail --------------------------------------------------


def case_identity(env):
    tag = f"[{env.ident}] identity"
    d = skill_dir(env, probe_manifest(), name="identity")
    r, (st, cwd, anc) = probe(env, d, [["status"], ["cwd"], ["ancestor_uids"]])
    h.ok(r.rc == 0, f"{tag}: the run succeeds", r.describe())
    v = st.get("v") or {}
    uid = v.get("uid")
    h.ok(own_uid_ok(env, uid),
         f"{tag}: the skill runs as "
         + ("a per-run uid from the default range (a root caller never runs it as root)"
            if env.ident.is_root else "the caller"),
         json.dumps(st))
    h.ok(v.get("groups") == [] or not env.ident.is_root,
         f"{tag}: no supplementary groups", json.dumps(st))
    h.ok(v.get("CapEff") == "0000000000000000" and v.get("CapPrm") == "0000000000000000",
         f"{tag}: no capabilities (effective, permitted)", json.dumps(st))
    if env.ident.is_root:
        h.ok(v.get("CapBnd") == "0000000000000000", f"{tag}: the bounding set is empty",
             json.dumps(st))
    h.ok(v.get("NoNewPrivs") == "1" and v.get("Seccomp") == "2",
         f"{tag}: no_new_privs and a seccomp filter", json.dumps(st))
    h.ok(anc.get("v") == [uid] * 2,
         f"{tag}: skillbox's init and skillbox itself run as that uid too"
         + (" (a root caller's skillbox gives up root before it starts the sandbox)"
            if env.ident.is_root else ""), anc)
    h.ok(cwd.get("v") == d, f"{tag}: workdir /skill (declared as .:/skill) starts the skill in "
         f"its host path {d}", json.dumps(cwd))

    start = r.first("run.start") or {}
    h.ok(start.get("isolation") == "landlock"
         and start.get("layers") == ["landlock", "capabilities", "no_new_privs", "rlimits",
                                      "seccomp"]
         and start.get("sandbox_uid") == uid and start.get("host_uid") == uid
         and start.get("host_identity") == ("per-run" if env.ident.is_root else "caller"),
         f"{tag}: run.start says isolation landlock, lists only the layers this mode has, "
         "and the skill's real uid and where it comes from", json.dumps(start))
    iso = r.first("policy.isolation") or {}
    h.ok(iso.get("mode") == "landlock" and iso.get("namespaces") == []
         and iso.get("landlock_abi", 0) >= 6
         and "signal" in (iso.get("handled") or {}).get("scoped", [])
         and "connect_tcp" in (iso.get("handled") or {}).get("net", [])
         and iso.get("uid_switched") == env.ident.is_root,
         f"{tag}: policy.isolation: mode landlock, no namespace, ABI >= 6, TCP and signal "
         "scope handled", json.dumps(iso))
    not_enf = " ".join(iso.get("not_enforced", []))
    h.ok(all(w in not_enf for w in ("pid namespace", "network namespace", "mount namespace",
                                    "--trace files")),
         f"{tag}: policy.isolation says what is not enforced (pid, network, mount namespace; "
         "file refusals only with --trace files)", not_enf)
    fs = r.first("policy.fs") or {}
    rules = {x.get("path"): x for x in fs.get("rules", [])}
    h.ok(fs.get("isolation") == "landlock" and rules.get(d, {}).get("inside") == "/skill"
         and rules.get("/usr", {}).get("state") == "rule"
         and rules.get("/bin", {}).get("state", "").startswith("symlink")
         and rules.get("/proc", {}).get("access") == "ro",
         f"{tag}: policy.fs lists the rules: the skill dir with its inside path, /usr, /bin "
         "(a symlink: no rule), /proc read-only", json.dumps(fs)[:1500])
    ex = r.first("proc.exec") or {}
    h.ok(ex.get("pid") == ex.get("host_pid") and ex.get("pid", 0) > 1,
         f"{tag}: proc.exec names host pids (no pid namespace)", json.dumps(ex))


def case_user_option(env):
    tag = f"[{env.ident}] --user"
    if not env.ident.is_root:
        return
    d = skill_dir(env, probe_manifest(), name="user-opt")
    r, (st,) = probe(env, d, [["status"]], opts=["--user", str(ALT_USER)])
    h.ok(r.rc == 0 and (st.get("v") or {}).get("uid") == ALT_USER,
         f"{tag}: a root caller's --user {ALT_USER} is the skill's uid", r.describe())


def case_root_write_paths(env):
    """A root caller's write paths: there is no user namespace to idmap them, so the skill
    runs as their unprivileged owner, and a root-owned one is refused with the fix."""
    tag = f"[{env.ident}] root's write paths"
    if not env.ident.is_root:
        return
    out = writable_dir(env, "owned-by-nobody")
    d = skill_dir(env, manifest(["/bin/sh", "-c", f"id -u; echo x > {out}/f"], write=[out]),
                  name="owner")
    r = run(env, d)
    start = r.first("run.start") or {}
    h.ok(r.rc == 0 and r.out.split()[:1] == [str(NOBODY)]
         and os.stat(os.path.join(out, "f")).st_uid == NOBODY
         and start.get("host_identity") == "owner" and start.get("host_uid") == NOBODY
         and "--isolation landlock" in (start.get("identity_fallback") or ""),
         f"{tag}: a write path of nobody's: the skill runs as its owner, and run.start says "
         "why", r.describe() + json.dumps(start))
    rootdir = os.path.join(env.top, "owned-by-root")
    os.makedirs(rootdir, exist_ok=True)
    os.chown(rootdir, 0, 0)
    os.chmod(rootdir, 0o755)
    d2 = skill_dir(env, manifest(["/bin/sh", "-c", f"echo x > {rootdir}/f"],
                                 write=[rootdir]), name="rootowned")
    r2 = run(env, d2)
    h.ok(r2.rc == 125 and "belongs to root" in r2.err and rootdir in r2.err
         and "Fix:" in r2.err and "skillbox.yaml:" in r2.err
         and not os.path.exists(os.path.join(rootdir, "f")),
         f"{tag}: a root-owned write path: 125, naming FILE:LINE:COLUMN, the cause and the fix; "
         "nothing written", r2.describe())
    ex = (r2.first("run.exit") or {}).get("error") or ""
    h.ok("belongs to root" in ex, f"{tag}: run.exit carries the refusal", ex)
    rc, o, e = env.run([env.bin, "check", "--isolation", "landlock", d2])
    h.ok(rc == 1 and "belongs to root" in e.decode(errors="replace"),
         f"{tag}: check --isolation landlock predicts it", (rc, o, e))


# --- files ----------------------------------------------------------------------------------


def case_files(env):
    tag = f"[{env.ident}] files"
    victim = victim_dir(env)
    key = os.path.join(victim, ".ssh", "id_rsa")
    out = writable_dir(env, "out")
    ro = writable_dir(env, "readonly")
    with open(os.path.join(ro, "f"), "w") as f:
        f.write("declared\n")
    os.chmod(os.path.join(ro, "f"), 0o666)
    d = skill_dir(env, probe_manifest(read=[ro], write=[out]), name="files")
    r, res = probe(env, d, [
        ["read", key],
        ["read", os.path.join(ro, "f")],
        ["write", os.path.join(victim, "planted")],
        ["write", os.path.join(ro, "f"), "changed"],
        ["write", os.path.join(out, "made")],
        ["ls", victim],
        ["ls", "/"],
        ["write", "/tmp/skillbox-landlock-literal-tmp"],
    ], opts=["--trace", "files"])
    h.ok(refused(res[0], "EACCES"),
         f"{tag}: a world-readable ~/.ssh/id_rsa outside the declared paths: EACCES", res[0])
    h.ok(res[1].get("v") == "declared\n", f"{tag}: control: a declared read path is readable",
         res[1])
    h.ok(refused(res[2], "EACCES") and not os.path.exists(os.path.join(victim, "planted")),
         f"{tag}: creating a file in a world-writable directory outside the write paths: "
         "EACCES", res[2])
    h.ok(refused(res[3], "EACCES"), f"{tag}: writing into a read path: EACCES", res[3])
    h.ok(res[4].get("ok") and os.path.exists(os.path.join(out, "made")),
         f"{tag}: control: a write path is writable", res[4])
    h.ok(refused(res[5], "EACCES") and refused(res[6], "EACCES"),
         f"{tag}: listing an undeclared directory or / : EACCES", res[5:7])
    h.ok(refused(res[7], "EACCES"), f"{tag}: the host's /tmp itself is not writable", res[7])
    opens = {e.get("path"): e for e in r.of("file.open")}
    k = opens.get(key, {})
    h.ok(k.get("declared") is False and k.get("sensitive") is True,
         f"{tag}: --trace files records the key's open: declared false, sensitive", json.dumps(k))
    w = opens.get(os.path.join(out, "made"), {})
    h.ok(w.get("declared") is True, f"{tag}: --trace files: the write path's file is declared",
         json.dumps(w))
    summ = (r.first("run.summary") or {}).get("refusals", {})
    h.ok(summ.get("file", 0) >= 3, f"{tag}: run.summary counts the undeclared accesses",
         json.dumps(summ))

    # Without --trace files nothing is recorded per file: the trail says so instead.
    r2, res2 = probe(env, d, [["read", key]])
    h.ok(refused(res2[0], "EACCES") and not r2.of("file.open")
         and "not recorded" in (r2.first("policy.fs") or {}).get("otherwise", ""),
         f"{tag}: without --trace files the refusal is not an event, and policy.fs says so",
         r2.describe())


def case_private_dirs(env):
    tag = f"[{env.ident}] private /tmp and HOME"
    d = skill_dir(env, probe_manifest(extra=["  tmpfs: [{path: /tmp, size: 1M}]"]), name="priv")
    r, res = probe(env, d, [["env", "TMPDIR"], ["env", "HOME"]])
    tmp, home = res[0].get("v") or "", res[1].get("v") or ""
    h.ok(r.rc == 0 and re.match(r"^/tmp/skillbox-[0-9a-f-]{36}/tmp$", tmp)
         and home == os.path.join(os.path.dirname(tmp), "home"),
         f"{tag}: TMPDIR and HOME are the run's private directory", (tmp, home))
    run_dir = os.path.dirname(tmp)
    h.ok(not os.path.exists(run_dir), f"{tag}: the private directory is removed after the run",
         run_dir)
    d2 = skill_dir(env, manifest(["/bin/sh", "-c",
                                  'echo x > "$TMPDIR/a" && mkdir "$HOME/b" && '
                                  'stat -c "%a %u" "$TMPDIR" "$HOME" && cat "$TMPDIR/a"']),
                   name="priv2")
    r3 = run(env, d2)
    uid = (r3.first("run.start") or {}).get("host_uid")
    h.ok(r3.rc == 0 and own_uid_ok(env, uid)
         and r3.out.split() == ["700", str(uid), "700", str(uid), "x"],
         f"{tag}: both are writable, mode 0700, owned by the skill's uid", r3.describe())
    fs = r3.first("policy.fs") or {}
    priv = [x for x in fs.get("rules", []) if x.get("kind") == "private"]
    h.ok(len(priv) == 2 and all(x.get("size_enforced") is False for x in priv),
         f"{tag}: policy.fs lists both, their size not enforced", json.dumps(priv))


# --- network, IPC and other processes --------------------------------------------------------


def case_network(env):
    tag = f"[{env.ident}] network"
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    port = srv.getsockname()[1]
    d = skill_dir(env, probe_manifest(), name="net")
    try:
        r, res = probe(env, d, [["connect_tcp", port], ["udp"], ["socketpair"]])
    finally:
        srv.close()
    h.ok(refused(res[0], "EPERM"), f"{tag}: TCP connect to a listening loopback port: EPERM",
         res[0])
    h.ok(refused(res[1], "EPERM"), f"{tag}: a UDP socket: EPERM", res[1])
    h.ok(res[2].get("v") == "x", f"{tag}: control: socketpair (AF_UNIX) works", res[2])
    fams = [(e.get("args") or {}).get("family") for e in denials(r, "socket")]
    h.ok(fams.count("AF_INET") >= 2,
         f"{tag}: both sockets are audited as syscall.deny socket AF_INET", fams)
    net = r.first("policy.net") or {}
    h.ok(net.get("isolation") == "landlock" and net.get("egress") is False,
         f"{tag}: policy.net says there is no network namespace", json.dumps(net))


def case_unix_sockets(env):
    tag = f"[{env.ident}] unix sockets"
    name = f"skillbox-landlock-{uuid.uuid4().hex[:12]}"
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    abstract.bind("\0" + name)
    abstract.listen(4)
    sockdir = tempfile.mkdtemp(prefix="skillbox-ll-sock-")
    os.chmod(sockdir, 0o755)
    path = os.path.join(sockdir, "s")
    named = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    named.bind(path)
    os.chmod(path, 0o777)
    named.listen(4)
    d = skill_dir(env, probe_manifest(), name="unix")
    try:
        r, res = probe(env, d, [["unix", "@" + name], ["unix", path]])
    finally:
        abstract.close()
        named.close()
        os.unlink(path)
        os.rmdir(sockdir)
    h.ok(refused(res[0], "EPERM"),
         f"{tag}: connecting to an abstract unix socket outside the sandbox: EPERM (scope)",
         res[0])
    # Documented, not enforced: Landlock ABI 7 does not control connect() by path.
    h.ok(res[1].get("v") == "CONNECTED",
         f"{tag}: as documented, a unix socket bound to a path is reachable where file "
         "permissions allow", res[1])


def case_signals_and_ptrace(env):
    tag = f"[{env.ident}] other processes"
    # A target of the skill's own uid: only the scope can refuse the signal.
    target = start_as(skill_uid(env), ["sleep", "60"])
    d = skill_dir(env, probe_manifest(), name="procs")
    try:
        r, res = probe(env, d, [
            ["kill", target.pid, 0],
            ["kill", target.pid, signal.SIGTERM],
            ["kill_own_child"],
            ["ppid"],
            ["read", f"/proc/{target.pid}/environ"],
            ["read", f"/proc/{target.pid}/cmdline"],
            ["prlimit", target.pid],
            ["shmget"],
            ["ptrace_parent"],
            ["read_parent_environ"],
        ])
    finally:
        still = target.poll() is None
        target.kill()
        target.wait()
    h.ok(refused(res[0], "EPERM") and refused(res[1], "EPERM") and still,
         f"{tag}: signalling a process of the same uid outside the sandbox: EPERM, and it "
         "lives", res[:2])
    h.ok(res[2].get("v") is True, f"{tag}: control: the skill signals its own child", res[2])
    h.ok(refused(res[4], "EACCES"),
         f"{tag}: /proc/PID/environ of a process outside: EACCES (Landlock's ptrace rule)",
         res[4])
    h.ok(res[5].get("v", "").startswith("sleep"),
         f"{tag}: as documented, /proc/PID/cmdline of a host process is readable", res[5])
    h.ok(refused(res[6], "EPERM") and denials(r, "prlimit64"),
         f"{tag}: prlimit on another process: EPERM, audited", res[6])
    h.ok(refused(res[7], "EPERM") and denials(r, "shmget"),
         f"{tag}: System V shared memory (no IPC namespace): EPERM, audited", res[7])
    h.ok(refused(res[8], "EPERM") and denials(r, "ptrace"),
         f"{tag}: ptrace of its parent (skillbox's init): EPERM, audited", res[8])
    h.ok(refused(res[9], "EACCES"), f"{tag}: /proc/PPID/environ: EACCES", res[9])


def case_chmod(env):
    tag = f"[{env.ident}] chmod"
    victim = victim_dir(env)
    out = writable_dir(env, "chmod-out")
    inside = os.path.join(out, "tool")
    with open(inside, "w") as f:
        f.write("#!/bin/sh\necho tool-ran\n")
    os.chown(inside, skill_uid(env), skill_uid(env))
    os.chmod(inside, 0o644)
    d = skill_dir(env, probe_manifest(write=[out]), name="chmod")
    r, res = probe(env, d, [["chmod", os.path.join(victim, "mine"), 0o666],
                            ["chmod", inside, 0o755], ["chmod", inside, 0o4755]])
    h.ok(refused(res[0], "EPERM") and (os.stat(os.path.join(victim, "mine")).st_mode & 0o777)
         == 0o644, f"{tag}: chmod of a file the skill's uid owns outside the write paths: "
         "EPERM, unchanged", res[0])
    den = denials(r, "chmod")
    h.ok(den and den[0].get("path") == os.path.join(victim, "mine")
         and "outside the write paths" in den[0].get("reason", ""),
         f"{tag}: audited as syscall.deny chmod with its path and why", json.dumps(den))
    h.ok(res[1].get("v") == "0o755" and os.stat(inside).st_mode & 0o777 == 0o755,
         f"{tag}: chmod inside a write path is performed for the skill", res[1])
    h.ok(refused(res[2], "EPERM") and os.stat(inside).st_mode & 0o7777 == 0o755
         and any("S_ISUID" in x.get("reason", "") for x in den),
         f"{tag}: chmod u+s inside a write path: EPERM, unchanged, audited with why",
         res[2])
    # What a build does: the linker makes its output executable with chmod() by path.
    d2 = skill_dir(env, manifest(["/bin/sh", "-c",
                                  f'cp {inside} {out}/copy && chmod +x {out}/copy && '
                                  f'{out}/copy'], write=[out]), name="chmod-sh")
    r2 = run(env, d2)
    h.ok(r2.rc == 0 and "tool-ran" in r2.out,
         f"{tag}: a copied script made executable with chmod(1) runs", r2.describe())


# --- processes and limits -------------------------------------------------------------------


def case_processes(env):
    tag = f"[{env.ident}] processes"
    d = skill_dir(env, probe_manifest(), name="bg")
    r, res = probe(env, d, [["spawn_detached"]])
    pid = res[0].get("v")
    h.ok(r.rc == 0 and isinstance(pid, int), f"{tag}: the skill leaves a daemon behind", res)
    h.ok(isinstance(pid, int) and not h.wait_gone([pid], 10),
         f"{tag}: it is killed when the skill exits (init is its subreaper)", pid)

    d2 = skill_dir(env, manifest(["/bin/sh", "-c",
                                  'setsid sleep 300 & echo $!; echo "$TMPDIR"; exec sleep 300']),
                   name="to")
    live = env.popen([env.bin, "run", "--isolation", "landlock", "--timeout", "2s", d2],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    first = h.read_line(live.stdout, 20).decode(errors="replace").strip()
    try:
        live.wait(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        live.kill()
    h.ok(live.returncode == 124, f"{tag}: timeout: exit 124", live.returncode)
    h.ok(first.isdigit() and not h.wait_gone([int(first)], 10),
         f"{tag}: timeout: the skill's background process is gone too", first)

    live = env.popen([env.bin, "run", "--isolation", "landlock", d2],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    first = h.read_line(live.stdout, 20).decode(errors="replace").strip()
    tmpdir = h.read_line(live.stdout, 20).decode(errors="replace").strip()
    skillbox = live.pid  # setpriv exec's skillbox: the same pid for the unprivileged user
    try:
        with open(f"/proc/{skillbox}/task/{skillbox}/children") as f:
            init = [int(x) for x in f.read().split()]
    except OSError:
        init = []
    live.kill()  # SIGKILL skillbox itself
    live.wait()
    h.ok(first.isdigit() and not h.wait_gone([int(first)], 10),
         f"{tag}: skillbox killed with SIGKILL: its init sweeps the skill's processes "
         "(parent-death signal)", first)
    h.ok(init and not h.wait_gone(init, 10) and tmpdir.startswith("/tmp/skillbox-")
         and not os.path.exists(os.path.dirname(tmpdir)),
         f"{tag}: ... then removes the private directory skillbox could not, and exits",
         (init, tmpdir))


def case_limits_env(env):
    tag = f"[{env.ident}] limits and secrets"
    text = manifest(["/bin/sh", "-c", 'echo "secret=$TOKEN"; head -c 5000 /dev/zero | tr "\\0" a'],
                    extra=["env:", "  secrets: [{name: TOKEN, from_env: LL_TOKEN}]",
                           "limits:", "  output: 1K"])
    d = skill_dir(env, text, name="limits")
    r = run(env, d, extra_env={"LL_TOKEN": "tok-3141592"})
    h.ok("secret=tok-3141592" in r.out, f"{tag}: the secret reaches the skill", r.describe())
    h.ok(len(r.stdout) <= 1024 and r.of("limit.hit"),
         f"{tag}: the output cap cuts at 1K and records limit.hit", r.describe())
    h.ok(not any("tok-3141592" in l for l in r.audit_lines),
         f"{tag}: the secret's value is not in the audit trail", r.describe())


def case_limits(env):
    """limits.memory and limits.cpu where there is never a cgroup: memory no rlimit counts is
    refused (seccomp, audited; /dev/zero not granted); the whole sandbox's CPU time is read
    from the tree below init, its subreaper."""
    tag = f"[{env.ident}] limits without namespaces"
    d = skill_dir(env, probe_manifest(extra=["limits:", "  memory: 256M"]), name="mem")
    r, res = probe(env, d, [["mmap", 64 << 20, True], ["memfd"], ["shmget"],
                            ["read", "/dev/zero"], ["mmap", 64 << 20, False],
                            ["read", "/dev/full"]])
    h.ok(refused(res[0], "EPERM") and any(
        "MAP_SHARED" in (x.get("args") or {}).get("flags", "") for x in denials(r, "mmap")),
         f"{tag}: limits.memory: a shared anonymous mapping: EPERM, audited", res[0])
    h.ok(refused(res[1], "EPERM") and denials(r, "memfd_create"),
         f"{tag}: limits.memory: memfd_create: EPERM, audited", res[1])
    h.ok(refused(res[2], "EPERM") and denials(r, "shmget"),
         f"{tag}: limits.memory: shmget: EPERM, audited", res[2])
    h.ok(refused(res[3], "EACCES") and res[5].get("ok") is True,
         f"{tag}: limits.memory: /dev/zero is not granted (a shared mapping of it would not "
         "count); /dev/full still reads", res[3:6])
    h.ok(res[4].get("ok") is True, f"{tag}: limits.memory: private memory is allowed", res[4])
    pol = r.first("policy.limits") or {}
    h.ok(pol.get("memory_by") == "rlimits" and pol.get("cgroup") is None
         and "landlock" in (pol.get("cgroup_unavailable") or "")
         and "/dev/zero not granted" in (pol.get("shared_memory") or ""),
         f"{tag}: policy.limits: held by rlimits, no cgroup, and why", json.dumps(pol))

    d2 = skill_dir(env, probe_manifest(), name="nomem")
    r2, res2 = probe(env, d2, [["mmap", 1 << 20, True], ["read", "/dev/zero"]])
    h.ok(res2[0].get("ok") is True and res2[1].get("ok") is True,
         f"{tag}: without limits.memory, shared memory and /dev/zero stay allowed", res2)

    cmd = "for i in 1 2 3 4; do (while :; do :; done) & done; wait"
    d3 = skill_dir(env, manifest(["/bin/sh", "-c", cmd],
                                 extra=["limits:", "  cpu: 1s", "  timeout: 90s"]), name="cpu")
    r3 = run(env, d3, timeout=120)
    e = r3.first("run.exit") or {}
    hits = [x for x in r3.of("limit.hit") if x.get("limit") == "cpu"]
    h.ok(r3.rc == 128 + signal.SIGXCPU and e.get("reason") == "cpu" and len(hits) == 1
         and "whole sandbox" in hits[0].get("action", ""),
         f"{tag}: cpu 1s: four busy processes end the run together (152, one limit.hit)",
         r3.describe())


def case_terminal(env):
    """A caller on a terminal: the skill gets a pseudo-terminal of the host's devpts (no
    devpts of its own without a mount namespace), opened through /dev/ptmx, and can list or
    open no other terminal there."""
    tag = f"[{env.ident}] terminal"
    d = skill_dir(env, manifest(["/bin/sh", "-c", "tty; test -t 0 && echo stdin-is-tty; "
                                 "ls /dev/pts >/dev/null 2>&1 || echo pts-refused"]),
                  name="tty")
    rc, out, err, _, _ = h.run_on_pty(env, [env.bin, "run", "--isolation", "landlock", d],
                                      timeout=RUN_TIMEOUT)
    err = err.decode(errors="replace")
    text = out.decode(errors="replace")
    h.ok(rc == 0 and re.search(r"/dev/pts/\d+", text) and "stdin-is-tty" in text
         and "pts-refused" in text,
         f"{tag}: the skill's stdin is a pseudo-terminal of its own; /dev/pts is not listable",
         f"rc={rc}\n{text}\n{err}")


# --- what this mode refuses to run ------------------------------------------------------------


def case_refused_manifests(env):
    tag = f"[{env.ident}] refused"
    cases = [
        ("egress", ["network:", "  egress:", "    - {host: 127.0.0.1, ports: [80]}"],
         "127.0.0.1", ["network.egress", "cannot filter by address", "--isolation namespaces"]),
        ("hide", ["  hide: [/usr/lib/ssh]"], "hide:",
         ["filesystem.hide", "cannot take a path", "--isolation namespaces"]),
        ("tmpfs", ["  tmpfs: [{path: /var/cache/x}]"], "tmpfs:",
         ["filesystem.tmpfs", "mount namespace"]),
        ("nesting", ["  write: [\"/var/tmp:/skill/cache\"]"], "write:",
         ["filesystem.write", "nest"]),
        ("socket", ["syscalls:", "  allow: [socket]"], "allow:", ["syscalls.allow", "socket"]),
    ]
    for name, extra, needle, words in cases:
        text = probe_manifest(extra=extra)
        line = next(i for i, l in enumerate(text.splitlines(), 1) if needle in l)
        d = skill_dir(env, text, name=f"refused-{name}")
        r = run(env, d, args=["[]"])
        pat = rf"skillbox\.yaml:{line}:\d+"
        h.ok(r.rc == 125 and re.search(pat, r.err)
             and all(w.lower() in r.err.lower() for w in words),
             f"{tag}: {name}: exit 125, stderr names skillbox.yaml:{line} and says {words}",
             r.describe())
        e = r.first("run.exit") or {}
        h.ok(e.get("reason") == "setup-failed" and not r.of("proc.exec")
             and re.search(pat, e.get("error", "")),
             f"{tag}: {name}: run.exit setup-failed with the problem, nothing executed",
             json.dumps(e))
        rc, _, err = env.run([env.bin, "check", "--isolation", "landlock", d])
        h.ok(rc == 1 and re.search(pat, err.decode(errors="replace")),
             f"{tag}: {name}: check --isolation landlock says so too (exit 1)",
             f"rc={rc}\n{err!r}")


def case_grants(env):
    """skillbox run's command-line grants: an absolute one is a rule at its own path, a
    relative one below a mapped workdir cannot be (no mount namespace) and is refused with
    the way to give it."""
    tag = f"[{env.ident}] grants"
    extra = writable_dir(env, "granted")
    with open(os.path.join(extra, "f"), "w") as f:
        f.write("granted\n")
    os.chmod(os.path.join(extra, "f"), 0o644)
    d = skill_dir(env, probe_manifest(), name="grants")
    r, res = probe(env, d, [["read", os.path.join(extra, "f")], ["write",
                                                                   os.path.join(extra, "w")]],
                   opts=["--read", extra])
    h.ok(res[0].get("v") == "granted\n" and refused(res[1], "EACCES"),
         f"{tag}: --read of an absolute path: readable, not writable", res)
    r = run(env, d, args=["[]"], opts=["--read", "granted-rel"])
    h.ok(r.rc == 125 and "command line" in r.err and "SRC:SRC" in r.err,
         f"{tag}: a relative --read below the mapped workdir is refused with how to give it",
         r.describe())
    # --ask holds connections in the sandbox's network namespace, which this mode has not.
    r = run(env, d, args=["[]"], opts=["--ask"])
    h.ok(r.rc == 125 and "--ask and --isolation landlock" in r.err
         and "AF_UNIX" in r.err and not r.events,
         f"{tag}: --ask is refused (125), saying why; nothing ran", r.describe())


def case_explain(env):
    tag = f"[{env.ident}] explain"
    d = skill_dir(env, probe_manifest(), name="explain")
    rc, out, err = env.run([env.bin, "explain", "--isolation", "landlock", d])
    text = out.decode(errors="replace")
    h.ok(rc == 0 and "isolation: landlock" in text and "not enforced:" in text
         and "pid namespace" in text and f"{d}" in text and "declared at /skill" in text,
         f"{tag}: explain --isolation landlock states the rules and what is not enforced",
         text[:3000] + err.decode(errors="replace"))
    h.ok("chmod, fchmodat" in text and "every family but AF_UNIX" in text,
         f"{tag}: ... and the syscall policy of the host's namespaces", text[-3000:])


# --- where user namespaces cannot be created -----------------------------------------------------


NO_USERNS_HELPER = r'''
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
r, w = os.pipe(); r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w); os.close(r2)
    if libc.unshare(0x10000000) != 0:  # CLONE_NEWUSER
        os._exit(3)
    os.write(w2, b"u"); os.close(w2)
    os.read(r, 1)
    os.setresgid(0, 0, 0); os.setresuid(0, 0, 0)
    with open("/proc/sys/user/max_user_namespaces", "w") as f:
        f.write("0\n")
    os.execv(sys.argv[1], sys.argv[1:])
os.close(r); os.close(w2)
if os.read(r2, 1) != b"u":
    sys.exit(3)
for n in ("uid_map", "gid_map"):
    with open(f"/proc/{pid}/{n}", "w") as f:
        f.write("0 0 65536\n")
os.write(w, b"g")
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
'''


def case_no_userns(env):
    tag = f"[{env.ident}] no user namespaces"
    built = os.path.join(os.path.abspath(os.environ.get("PROBES_DIR") or os.path.join(
        h.build_root(), "tests", "integration")), "no-userns")
    d = skill_dir(env, manifest(["/bin/sh", "-c", "echo ran"]), name="nouserns")
    if not os.access(built, os.X_OK):
        h.skip(tag, "probes/no-userns is not built")
        return
    # A copy the identity can execute, like the skillbox binary of the Env.
    probe_bin = os.path.join(env.top, "no-userns")
    shutil.copy2(built, probe_bin)
    os.chmod(probe_bin, 0o755)
    # A seccomp filter like Docker's default profile without CAP_SYS_ADMIN.
    rc, out, err = env.run([probe_bin, env.bin, "run", d])
    err = err.decode(errors="replace")
    h.ok(rc == 125 and "seccomp filter" in err and "--isolation landlock" in err
         and err.count("\n") == 1,
         f"{tag}: under a Docker-like seccomp profile the default mode fails with one line "
         "naming the cause and --isolation landlock", f"rc={rc}\n{err}")
    rc, out, err = env.run([probe_bin, env.bin, "run", "--isolation", "landlock", d])
    h.ok(rc == 0 and out.decode().strip() == "ran",
         f"{tag}: ... where --isolation landlock runs the skill (clone3 answered ENOSYS)",
         f"rc={rc}\n{out!r}\n{err!r}")
    if not env.ident.is_root:
        return
    # user.max_user_namespaces 0, in a user namespace of the test's own (the host's sysctl
    # is never touched).
    helper = os.path.join(env.top, "nouserns-helper.py")
    with open(helper, "w") as f:
        f.write(NO_USERNS_HELPER)
    rc, out, err = env.run([sys.executable, helper, env.bin, "run", d])
    err = err.decode(errors="replace")
    h.ok(rc == 125 and "max_user_namespaces is 0" in err and "--isolation landlock" in err,
         f"{tag}: with user.max_user_namespaces 0 the message says so and names "
         "--isolation landlock", f"rc={rc}\n{err}")
    rc, out, err = env.run([sys.executable, helper, env.bin, "run", "--isolation", "landlock",
                            d])
    h.ok(rc == 0 and out.decode().strip() == "ran",
         f"{tag}: ... where --isolation landlock runs the skill", f"rc={rc}\n{out!r}\n{err!r}")


def case_no_ptrace_capability(env):
    """Root in a container holds no CAP_SYS_PTRACE (Docker's and podman's default set):
    the listener is still fetched, traced arguments read and chmod performed, because the
    supervisor is the skill's uid by then."""
    tag = f"[{env.ident}] root without CAP_SYS_PTRACE"
    if not env.ident.is_root:
        return
    out = writable_dir(env, "noptrace-out")
    d = skill_dir(env, manifest(["/bin/sh", "-c", f"echo x > {out}/f && chmod 700 {out}/f && "
                                 "cat /etc/hostname; echo done"], write=[out]),
                  name="noptrace")
    fd, audit = tempfile.mkstemp(prefix="audit-", suffix=".jsonl", dir=env.auditdir)
    os.close(fd)
    os.unlink(audit)
    rc, out_, err = env.run(["setpriv", "--bounding-set", "-sys_ptrace", "--inh-caps",
                             "-sys_ptrace", env.bin, "run", "--isolation", "landlock",
                             "--trace", "files", "--audit", audit, d])
    with open(audit) as f:
        evs = [json.loads(l) for l in f]
    opens = [e for e in evs if e.get("event") == "file.open" and e.get("path") == "/etc/hostname"]
    h.ok(rc == 0 and b"done" in out_ and os.stat(os.path.join(out, "f")).st_mode & 0o777 == 0o700,
         f"{tag}: the run works, chmod in the write path included", f"rc={rc}\n{err!r}")
    h.ok(opens and opens[0].get("declared") is False,
         f"{tag}: traced arguments are read (file.open /etc/hostname, declared false)",
         [e.get("event") for e in evs])


CASES = [
    case_identity,
    case_user_option,
    case_root_write_paths,
    case_files,
    case_private_dirs,
    case_network,
    case_unix_sockets,
    case_signals_and_ptrace,
    case_chmod,
    case_processes,
    case_limits_env,
    case_limits,
    case_terminal,
    case_no_ptrace_capability,
    case_refused_manifests,
    case_grants,
    case_explain,
    case_no_userns,
]


def landlock_abi():
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.syscall(444, None, 0, 1)  # landlock_create_ruleset(NULL, 0, VERSION)


def main():
    abi = landlock_abi()
    if abi < 6:
        h.skip("landlock", f"this kernel's Landlock ABI is {abi}; the mode needs 6")
        h.done()
    for ident in h.identities():
        env = make_env(ident)
        try:
            for case in CASES:
                case(env)
        finally:
            env.__exit__(None, None, None)
    h.done()


if __name__ == "__main__":
    main()
