#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""skillbox inside a real OCI runtime, configured as podman (and Docker, and a Kubernetes pod)
configure containers by default.

A Debian bookworm root filesystem is built once with mmdebstrap and cached (rootfs.py); each
profile below gets a container on an overlay of it (the engines' layout), generated from
`runc spec` the way the engine would (oci.py), and runs tests/container/inside.sh there as
root or as uid 1000. This script then judges what each case left in the results directory:
what must work works, and what cannot work in that configuration fails with one line naming
the cause and the runtime option that fixes it.

Runs as root (a runtime needs it), in a private mount namespace of its own (re-executed under
unshare), so the overlays vanish with it and the host's mount table is left as it was.
"""

import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness as h  # noqa: E402
import oci  # noqa: E402
import rootfs  # noqa: E402

CONTAINER_TIMEOUT = 600
PER_RUN = (1879048192, 1879113727)
PER_RUN16 = (60578, 61183)
USER = 1000

# Every case; profiles where /proc is masked or namespaces are refused need only the first.
ALL_CASES = ["basic", "write", "concurrent", "seccomp", "egress"]


class Profile:
    def __init__(self, name, *, uid=0, masked=True, seccomp="podman", extra_caps=(),
                 userns=False, runtime="runc", cases=ALL_CASES, expect="works", note=""):
        self.name, self.uid, self.masked, self.seccomp = name, uid, masked, seccomp
        self.extra_caps, self.userns, self.runtime = list(extra_caps), userns, runtime
        self.cases, self.expect, self.note = list(cases), expect, note

    @property
    def root(self):
        return self.uid == 0


PROFILES = [
    # podman run (rootful) defaults: masked /proc, containers-common's seccomp profile.
    # --isolation landlock mounts no /proc: it runs there as it is.
    Profile("podman-root", cases=["basic", "landlock"], expect="proc-masked"),
    Profile("podman-user", uid=USER, cases=["basic"], expect="proc-masked"),
    # ... with --security-opt unmask=/proc/* (Docker: systempaths=unconfined).
    Profile("podman-root-unmasked", masked=False),
    Profile("podman-user-unmasked", uid=USER, masked=False),
    # ... and --cap-add SYS_ADMIN: idmapped write paths on the bind-mounted volume.
    Profile("podman-root-unmasked-sysadmin", masked=False, extra_caps=["CAP_SYS_ADMIN"],
            cases=["basic", "write", "concurrent"]),
    # A user-namespaced container (podman --userns=auto, Kubernetes hostUsers: false with
    # procMount: Unmasked): only 0-65535 are mapped, so per-run uids come from 60578-61183.
    Profile("userns-root-unmasked", masked=False, userns=True,
            cases=["basic", "write", "concurrent", "seccomp"]),
    # The same podman configuration under crun.
    Profile("crun-root-unmasked", masked=False, runtime="crun",
            cases=["basic", "write", "seccomp"]),
    # Docker's default seccomp profile refuses namespace flags without CAP_SYS_ADMIN: the
    # default mode refuses, naming --isolation landlock, which runs there.
    Profile("docker-root", seccomp="docker", cases=["basic", "landlock"], expect="no-userns"),
    Profile("docker-user", uid=USER, seccomp="docker", cases=["basic", "landlock"],
            expect="no-userns"),
]


# --- running a container ----------------------------------------------------------------


def reexec_private():
    """Re-runs this script in a mount namespace of its own (mounts made here stay here)."""
    if os.environ.get("SKILLBOX_CI_PRIVATE_NS") == "1":
        return
    env = dict(os.environ, SKILLBOX_CI_PRIVATE_NS="1")
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", sys.executable,
                        os.path.abspath(__file__)] + sys.argv[1:], env=env)
    sys.exit(r.returncode)


def owner(p, ident_uid):
    """A container uid as the host sees it."""
    return ident_uid + p.userns_base if p.userns else ident_uid


def prepare_tree(top, p):
    """root-owned, user-owned (1000), shared (1777) and fifo-dir (1777 with a FIFO) below top,
    with the ownership the container's root and user 1000 see."""
    specs = [("root-owned", 0, 0o755), ("user-owned", USER, 0o755), ("shared", 0, 0o1777),
             ("fifo-dir", 0, 0o1777)]
    for name, uid, mode in specs:
        d = os.path.join(top, name)
        os.makedirs(d)
        os.chown(d, owner(p, uid), owner(p, uid))
        os.chmod(d, mode)
    fifo = os.path.join(top, "fifo-dir", "fifo")
    os.mkfifo(fifo, 0o666)
    os.chmod(fifo, 0o666)
    os.chown(fifo, owner(p, 0), owner(p, 0))


def runtime_argv(runtime):
    """crun 1.8 refuses a hybrid cgroup layout (v1 controllers, and a v2 mount that holds a
    controller, as on the CI machine): it runs in a mount namespace of its own where the v2
    mount is covered, so it sees cgroup v1 only, and without a cgroup manager (the tests
    need none)."""
    if runtime == "crun" and os.path.ismount("/sys/fs/cgroup/unified"):
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount -t tmpfs -o ro,size=4k tmpfs /sys/fs/cgroup/unified && exec "$@"', "sh",
                "crun", "--cgroup-manager=disabled"]
    return [runtime]


def run_container(p, base_spec, lower, binary):
    """Runs inside.sh in a container of profile p; returns (rc, out, err, tmp) where tmp holds
    results/, upper/ (the overlay's upper layer) and vol/."""
    tmp = tempfile.mkdtemp(prefix=f"skillbox-ci-{p.name}-")
    os.chmod(tmp, 0o755)
    upper, work, merged = (os.path.join(tmp, n) for n in ("upper", "work", "rootfs"))
    results, vol, opt = (os.path.join(tmp, n) for n in ("results", "vol", "opt"))
    for d in (upper, work, merged, results, vol, opt):
        os.makedirs(d)
    # The container's root: an overlay of the cached rootfs, as an engine's storage makes it.
    # Mount points exist beforehand: the root of a user-namespaced container cannot create
    # them in directories that belong to the host's root.
    for m in ("opt/skillbox", "results", "vol"):
        os.makedirs(os.path.join(upper, m))
    os.makedirs(os.path.join(upper, "work"))
    prepare_tree(os.path.join(upper, "work"), p)
    prepare_tree(vol, p)
    os.chown(results, owner(p, p.uid), owner(p, p.uid))
    shutil.copy2(binary, os.path.join(opt, "skillbox"))
    shutil.copy2(os.path.join(HERE, "inside.sh"), os.path.join(opt, "inside.sh"))
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={upper},workdir={work}", merged], check=True)
    cid = f"skillbox-ci-{p.name}-{os.getpid()}-{random.randrange(1 << 30)}"
    spec = oci.profile(
        base_spec, rootfs=merged,
        args=["/bin/sh", "/opt/skillbox/inside.sh"] + p.cases,
        env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "HOME=/root" if p.root else "HOME=/tmp", "LANG=C.UTF-8"] +
        # A sanitizer build's options reach the skillbox inside.
        [f"{k}={v}" for k, v in os.environ.items()
         if k in ("ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS")],
        uid=p.uid, gid=p.uid, masked=p.masked, seccomp=p.seccomp, extra_caps=p.extra_caps,
        userns_base=p.userns_base if p.userns else None,
        binds=[(opt, "/opt/skillbox", True), (results, "/results", False), (vol, "/vol", False)],
        tun=not p.userns, cgroups_path=f"/skillbox-ci/{cid}")
    bundle = os.path.join(tmp, "bundle")
    os.makedirs(bundle)
    with open(os.path.join(bundle, "config.json"), "w") as f:
        json.dump(spec, f, indent=1)
    try:
        r = subprocess.run(runtime_argv(p.runtime) + ["run", "--bundle", bundle, cid],
                           capture_output=True, timeout=CONTAINER_TIMEOUT,
                           stdin=subprocess.DEVNULL)
        rc, out, err = r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(
            errors="replace")
    except subprocess.TimeoutExpired as e:
        subprocess.run(runtime_argv(p.runtime) + ["kill", cid, "KILL"], capture_output=True)
        rc, out, err = None, (e.stdout or b"").decode(errors="replace"), "timed out"
    subprocess.run(runtime_argv(p.runtime) + ["delete", "--force", cid], capture_output=True)
    subprocess.run(["umount", "-l", merged], capture_output=True)
    return rc, out, err, tmp


# --- judging the results ----------------------------------------------------------------


class Case:
    def __init__(self, results, name):
        d = os.path.join(results, name)
        self.name = name
        self.present = os.path.isdir(d)

        def read(n):
            try:
                with open(os.path.join(d, n), errors="replace") as f:
                    return f.read()
            except OSError:
                return ""
        self.rc = int(read("rc") or -1)
        self.out, self.err = read("out"), read("err")
        self.events = []
        for line in read("audit.jsonl").splitlines():
            try:
                self.events.append(json.loads(line))
            except ValueError:
                self.events.append({"event": "<unparseable>"})

    def first(self, kind):
        return next((e for e in self.events if e.get("event") == kind), None) or {}

    def of(self, kind):
        return [e for e in self.events if e.get("event") == kind]

    def describe(self):
        return (f"rc={self.rc}\nstdout:\n{self.out[-1500:]}\nstderr:\n{self.err[-2000:]}\n"
                f"events: {[e.get('event') for e in self.events]}")

    @property
    def host_uid(self):
        return self.first("run.start").get("host_uid")

    def one_line_error(self, *needles):
        lines = [l for l in self.err.splitlines() if l.strip()]
        return (self.rc == 125 and len(lines) == 1 and lines[0].startswith("skillbox: ")
                and all(n in lines[0] for n in needles))


def in_range(uid, rng):
    return isinstance(uid, int) and rng[0] <= uid <= rng[1]


def judge_basic(p, tag, c):
    if p.expect == "proc-masked":
        h.ok(c.one_line_error("/proc", "covered", "systempaths=unconfined", "unmask=/proc/*",
                              "procMount: Unmasked", "--isolation landlock"),
             f"{tag}: /proc is masked: refused in one line naming Docker's, podman's and "
             "Kubernetes' option, and --isolation landlock", c.describe())
        return
    if p.expect == "no-userns":
        h.ok(c.one_line_error("namespaces", "seccomp", "--isolation landlock"),
             f"{tag}: no user namespaces: refused in one line naming the container's seccomp "
             "profile and --isolation landlock", c.describe())
        return
    lines = c.out.splitlines()
    h.ok(c.rc == 0 and lines[-1:] == ["ok"] and lines[:1] == ["1000"],
         f"{tag}: a skill runs (uid 1000 inside)", c.describe())
    rs = c.first("run.start")
    if p.root:
        rng = PER_RUN16 if p.userns else PER_RUN
        h.ok(rs.get("host_identity") == "per-run" and in_range(c.host_uid, rng)
             and rs.get("uid_range") == f"{rng[0]}-{rng[1]}",
             f"{tag}: run.start: a per-run host uid from {rng[0]}-{rng[1]} ({c.host_uid})",
             json.dumps(rs))
    else:
        h.ok(rs.get("host_identity") == "caller" and c.host_uid == USER,
             f"{tag}: run.start: the sandbox user is the caller, uid {USER}", json.dumps(rs))
    degraded = [e for e in c.of("policy.degraded") if e.get("layer") == "uts"]
    if "CAP_SYS_ADMIN" in p.extra_caps:
        h.ok(not degraded and "skillbox" in lines[1:2],
             f"{tag}: with CAP_SYS_ADMIN the profile allows sethostname: hostname skillbox",
             c.describe())
    else:
        h.ok(len(degraded) == 1 and degraded[0].get("error") == "Operation not permitted",
             f"{tag}: the profile refuses sethostname: not fatal, recorded as policy.degraded",
             c.describe())


def host_file(tmp, where, d):
    top = os.path.join(tmp, "upper", "work") if where == "work" else os.path.join(tmp, "vol")
    return os.path.join(top, d, "made-by-skill")


def judge_write(p, tag, results, tmp):
    sysadmin = "CAP_SYS_ADMIN" in p.extra_caps
    for where in ("work", "vol"):
        for d in ("root-owned", "user-owned", "shared"):
            c = Case(results, ("write-" if where == "work" else "vol-") + d)
            t = f"{tag}: write path /{where}/{d}"
            f = host_file(tmp, where, d)
            st = os.lstat(f) if os.path.exists(f) else None
            pf = next((m for m in c.first("policy.fs").get("mounts", [])
                       if m.get("path") == "/out"), {})
            if not p.root:
                if d == "user-owned":
                    h.ok(c.rc == 0 and st is not None and st.st_uid == owner(p, USER),
                         f"{t}: written by the skill, the file is the caller's", c.describe())
                elif d == "root-owned":
                    h.ok(c.rc not in (0, 125) and "Permission denied" in c.err
                         and st is None,
                         f"{t}: the caller cannot write it, nor can its skill", c.describe())
                continue
            # Root. Idmapped mounts need CAP_SYS_ADMIN over the filesystem, and overlayfs
            # (the container's root) has none.
            idmap = sysadmin and where == "vol" and not p.userns
            if d == "root-owned" and idmap:
                h.ok(c.rc == 0 and st is not None and st.st_uid == owner(p, 0)
                     and pf.get("idmap") == "owner is the sandbox user"
                     and pf.get("new_files_uid") == 0,
                     f"{t}: idmapped: the skill writes it, the file belongs to root",
                     c.describe() + "\n" + json.dumps(pf))
            elif d == "root-owned":
                why = "does not support idmapped mounts" if sysadmin else "CAP_SYS_ADMIN"
                h.ok(c.one_line_error("/" + where, "belongs to root", why, "Fix:")
                     and st is None,
                     f"{t}: cannot be idmapped here: refused in one line with the cause "
                     f"({why}) and the fix", c.describe())
            elif d == "user-owned" and idmap:
                h.ok(c.rc == 0 and st is not None and st.st_uid == owner(p, USER)
                     and c.first("run.start").get("host_identity") == "per-run",
                     f"{t}: idmapped to its owner: the file belongs to uid {USER}",
                     c.describe())
            elif d == "user-owned":
                rs = c.first("run.start")
                h.ok(c.rc == 0 and st is not None and st.st_uid == owner(p, USER)
                     and rs.get("host_identity") == "owner" and c.host_uid == USER
                     and rs.get("identity_fallback"),
                     f"{t}: cannot be idmapped: the sandbox user becomes its owner, uid "
                     f"{USER}, and run.start says why", c.describe())
            else:  # shared, mode 1777: any uid may write there
                want = 0 if idmap else c.host_uid
                h.ok(c.rc == 0 and st is not None and isinstance(want, int)
                     and st.st_uid == owner(p, want) and pf.get("new_files_uid") == want,
                     f"{t}: writable by others: new files belong to uid {want}",
                     c.describe() + "\n" + json.dumps(pf))


def judge_concurrent(p, tag, results, tmp):
    for where in ("work", "vol"):
        a = Case(results, f"concurrent-{where}-a")
        b = Case(results, f"concurrent-{where}-b")
        top = os.path.join(tmp, "upper", "work") if where == "work" else os.path.join(tmp, "vol")
        got = os.path.join(top, "fifo-dir", "got")
        text = open(got).read() if os.path.exists(got) else None
        h.ok(a.rc == 0 and b.rc == 0 and text == "met\n",
             f"{tag}: two concurrent runs meet on a FIFO in /{where}/fifo-dir",
             a.describe() + "\n" + b.describe())
        if p.root:
            h.ok(a.host_uid != b.host_uid and None not in (a.host_uid, b.host_uid),
                 f"{tag}: ... with different host uids ({a.host_uid}, {b.host_uid})")
        else:
            h.ok(a.host_uid == b.host_uid == USER,
                 f"{tag}: ... both as the caller ({a.host_uid}, {b.host_uid})")


def judge_seccomp(p, tag, results):
    c = Case(results, "seccomp")
    deny = [e for e in c.of("syscall.deny") if e.get("syscall") == "unshare"]
    execs = [e for e in c.of("proc.exec") if e.get("source") == "trace"]
    h.ok(c.rc == 1 and "Operation not permitted" in c.err and deny,
         f"{tag}: seccomp: unshare is refused (EPERM) by skillbox's listener and audited",
         c.describe())
    h.ok(any(e.get("argv", [])[:2] == ["/usr/bin/unshare", "-U"] for e in execs),
         f"{tag}: tracing reads the execve's arguments from the skill's memory",
         c.describe())


def judge_egress(p, tag, results):
    c = Case(results, "egress")
    lines = c.out.splitlines()
    h.ok(c.rc == 0 and lines[:1] == ["hello from the container"]
         and lines[1:2] == ["other port: 111"],
         f"{tag}: egress through {c.first('run.start').get('network_stack_requested')}: the declared "
         "port answers, another is refused (ECONNREFUSED)", c.describe())
    verdicts = {e.get("verdict") for e in c.of("net.connect") if e.get("source") != "trace"}
    h.ok(verdicts == {"allow", "deny"}, f"{tag}: net.connect allow and deny are audited",
         c.describe())
    want = c.host_uid
    if c.first("run.start").get("network_stack_requested") == "relay":
        # skillbox carried the connection itself: its host-side socket is the host uid's.
        pol = c.first("policy.net")
        h.ok(pol.get("relay_uid") == want, f"{tag}: the relay's sockets are the sandbox user's "
             f"host uid's ({pol.get('relay_uid')})", json.dumps(pol))
        return
    stack = c.first("net.stack")
    h.ok(stack.get("uid") == want, f"{tag}: the stack ran as the sandbox user's host uid "
         f"({stack.get('uid')})", json.dumps(stack))


def judge_landlock(p, tag, results, tmp):
    c = Case(results, "landlock-basic")
    lines = c.out.splitlines()
    rs = c.first("run.start")
    uid = int(lines[0]) if lines[:1] and lines[0].isdigit() else None
    if p.root:
        rng = PER_RUN16 if p.userns else PER_RUN
        who, good = f"a per-run uid from {rng[0]}-{rng[1]}", in_range(uid, rng)
    else:
        who, good = f"the caller, uid {USER}", uid == USER
    h.ok(c.rc == 0 and lines[1:2] == ["ok"] and good and c.host_uid == uid
         and rs.get("isolation") == "landlock",
         f"{tag}: --isolation landlock: a skill runs, as {who} ({uid})", c.describe())
    iso = c.first("policy.isolation")
    h.ok(iso.get("mode") == "landlock" and iso.get("namespaces") == []
         and any("pid namespace" in x for x in iso.get("not_enforced", [])),
         f"{tag}: --isolation landlock: policy.isolation says what is not enforced",
         json.dumps(iso))
    c = Case(results, "landlock-socket")
    deny = [e for e in c.of("syscall.deny") if e.get("syscall") == "socket"]
    h.ok(c.rc == 1 and "PermissionError" in c.err and deny,
         f"{tag}: --isolation landlock: an AF_INET socket is refused by skillbox's filter "
         "and audited", c.describe())
    c = Case(results, "landlock-user-owned")
    f = os.path.join(tmp, "vol", "user-owned", "made-by-landlock")
    st = os.lstat(f) if os.path.exists(f) else None
    rs = c.first("run.start")
    h.ok(c.rc == 0 and c.out.split()[:1] == [str(USER)] and st is not None
         and st.st_uid == owner(p, USER) and c.host_uid == USER
         and rs.get("host_identity") == ("owner" if p.root else "caller"),
         f"{tag}: --isolation landlock: uid {USER}'s write path is written"
         + (" by its owner (nothing to idmap without a user namespace)" if p.root else ""),
         c.describe())
    c = Case(results, "landlock-root-owned")
    f = os.path.join(tmp, "vol", "root-owned", "made-by-landlock")
    if p.root:
        h.ok(c.one_line_error("/vol/root-owned", "belongs to root", "Fix:")
             and not os.path.exists(f),
             f"{tag}: --isolation landlock: a root-owned write path is refused in one line "
             "with the fix; the skill never runs as root", c.describe())
    else:
        h.ok(c.rc not in (0, 125) and "Permission denied" in c.err and not os.path.exists(f),
             f"{tag}: --isolation landlock: the caller cannot write a root-owned path, nor "
             "can its skill", c.describe())


def judge_leftovers(p, tag, results):
    try:
        with open(os.path.join(results, "ps.txt")) as f:
            procs = [l.split() for l in f.read().splitlines() if l.strip()]
    except OSError:
        procs = None
    strays = [x for x in procs or [] if x[2:3] not in (["sh"], ["ps"])]
    h.ok(procs is not None and not strays,
         f"{tag}: nothing of any run is left running in the container", procs)


# --- main -------------------------------------------------------------------------------


def remove_cgroup_parents():
    """runc removes each container's cgroup but leaves the parent it made (skillbox-ci) in
    every hierarchy; an empty one goes (a concurrent suite's containers keep theirs busy)."""
    top = "/sys/fs/cgroup"
    for d in os.listdir(top) if os.path.isdir(top) else []:
        try:
            os.rmdir(os.path.join(top, d, "skillbox-ci"))
        except OSError:
            pass


def missing_tools():
    need = {"runc": "runc", "crun": "crun", "mmdebstrap": "mmdebstrap", "unshare": "util-linux"}
    missing = [f"{t} ({pkg})" for t, pkg in need.items() if not shutil.which(t)]
    if not os.path.exists(oci.CONTAINERS_SECCOMP):
        missing.append(f"{oci.CONTAINERS_SECCOMP} (golang-github-containers-common)")
    return missing


def main():
    if os.geteuid() != 0:
        h.skip("container tests", "a container runtime needs root; run the suite as root "
               "(CI does)")
        h.done()
    missing = missing_tools()
    if missing:
        h.skip("container tests", "not installed: " + ", ".join(missing) +
               " (.ci/run installs them)")
        h.done()
    reexec_private()
    binary = h.skillbox_binary()
    try:
        lower = rootfs.ensure(h.diag)
    except Exception as e:  # noqa: BLE001 - reported, not swallowed
        h.ok(False, "a Debian bookworm root filesystem (mmdebstrap, cached)", str(e))
        h.done()
    base = {rt: oci.runtime_spec(rt) for rt in {p.runtime for p in PROFILES}}
    only = os.environ.get("SKILLBOX_CI_PROFILES")
    for p in PROFILES:
        if only and p.name not in only.split(","):
            continue
        p.userns_base = 0x60000000 + (os.getpid() % 4096) * 65536
        tag = f"[{p.name}]"
        rc, out, err, tmp = run_container(p, base[p.runtime], lower, binary)
        try:
            results = os.path.join(tmp, "results")
            h.ok(rc == 0 and out.strip().endswith("done"),
                 f"{tag}: the container ran ({p.runtime}, uid {p.uid}"
                 f"{', /proc masked' if p.masked else ''}, {p.seccomp} seccomp profile"
                 f"{', user namespace' if p.userns else ''})",
                 f"rc={rc}\nstdout:\n{out[-1500:]}\nstderr:\n{err[-3000:]}")
            judge_basic(p, tag, Case(results, "basic"))
            if "write" in p.cases:
                judge_write(p, tag, results, tmp)
            if "concurrent" in p.cases:
                judge_concurrent(p, tag, results, tmp)
            if "seccomp" in p.cases:
                judge_seccomp(p, tag, results)
            if "egress" in p.cases:
                judge_egress(p, tag, results)
            if "landlock" in p.cases:
                judge_landlock(p, tag, results, tmp)
            judge_leftovers(p, tag, results)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    remove_cgroup_parents()
    h.done()


if __name__ == "__main__":
    main()
