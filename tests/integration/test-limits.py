#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Limits that hold for the whole sandbox, as root and as an unprivileged user.

- limits.memory against every kind of memory a skill can make the host commit: a 3 GiB
  shared anonymous mapping, a memfd, a shared mapping of /dev/zero, MAP_GROWSDOWN, System V
  shared memory and the tmpfs mounts. Each is touched page by page by probes/mem-probe.c,
  which also reports the largest rise of the host's Shmem+AnonPages (/proc/meminfo is global)
  while it touches. Without a delegated cgroup v2 (this machine has cgroup v1 only) each is
  refused (EPERM, audited as syscall.deny) or bounded (the tmpfs sizes); with one, the
  cgroup's memory.max stops the sandbox (limit.hit memory). Which one held is in
  policy.limits (memory_by); the other path is skipped with the reason.
- The default limits, with no `limits` in the manifest: a fork bomb stops at 1024 tasks
  (EAGAIN), threads too; a descriptor leak at 1024 (EMFILE), and at 4096 after raising the
  soft limit to the hard one; empty files stop at a tmpfs's inode count.
- limits.cpu for the whole sandbox: four busy processes together, not 4 x the limit.
"""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SYSTEM = ["/usr", "/bin", "/lib", "/lib64", "/sbin"]
PROBES = os.environ.get("PROBES_DIR") or os.path.join(h.build_root(), "tests", "integration")
RUN_TIMEOUT = 120
MIB = 1 << 20


def manifest(command, limits=None, tmpfs=None):
    lines = [
        "skillbox: 1",
        "name: limits-test",
        f"command: {json.dumps(command)}",
        "workdir: /skill",
        "filesystem:",
        f"  read: {json.dumps(SYSTEM + ['.:/skill'])}",
    ]
    if tmpfs:
        lines.append(f"  tmpfs: {tmpfs}")
    if limits:
        lines.append("limits:")
        for k, v in limits.items():
            lines.append(f"  {k}: {v}")
    return "\n".join(lines) + "\n"


def make_env(ident):
    env = h.Env(ident).__enter__()
    os.chown(env.top, ident.uid, ident.gid)
    return env


def probe_skill(env, name, limits):
    with open(os.path.join(PROBES, "mem-probe"), "rb") as f:
        data = f.read()
    return env.skill(manifest(["/skill/mem-probe"], limits), name=name,
                     files={"mem-probe": (data, 0o755)})


def run(env, d, args=(), timeout=RUN_TIMEOUT):
    argv = ["run", d]
    if args:
        argv += ["--"] + list(args)
    return env.skillbox(argv, timeout=timeout)


def results(r):
    out = {}
    for line in r.out.splitlines():
        p = line.split()
        if len(p) >= 4:
            out[p[0] if p[0] != "statfs" else "statfs:" + p[1]] = p[1:]
    return out


def denies(r, syscall):
    return [e for e in r.of("syscall.deny") if e.get("syscall") == syscall]


def fmt(evs):
    return "\n".join(json.dumps({k: v for k, v in e.items() if k not in ("v", "run", "prev")})
                     for e in evs)


# --- limits.memory ---------------------------------------------------------------------


def check_memory(env, tag):
    d = probe_skill(env, "mem", {"memory": "64M", "timeout": "100s"})
    big = 3072
    attempts = [f"shared-anon:{big}", f"memfd:{big}", f"devzero:{big}", f"growsdown:{big}",
                f"private:{big}", f"shmget:{big}", "fill:/tmp", "fill:/dev/shm",
                "statfs:/tmp", "statfs:/home/skill", "statfs:/dev/shm", "readzero"]
    r = run(env, d, attempts)
    res = results(r)
    h.ok(r.rc == 0, f"{tag}: memory 64M: the probe ran", r.describe())
    pol = r.first("policy.limits") or {}
    by = pol.get("memory_by")
    h.ok(pol.get("memory") == 64 * MIB and by in ("rlimits", "cgroup"),
         f"{tag}: memory 64M: policy.limits says what holds it ({by})", json.dumps(pol))
    limit = 64 * MIB

    def rise(name):
        v = res.get(name, ["?", "0", "0"])
        return int(v[2]) if v[2].lstrip("-").isdigit() else 0

    # Whatever holds the limit, the host never commits gigabytes for the skill.
    for name in ("shared-anon", "memfd", "devzero", "growsdown", "private", "shmget"):
        v = res.get(name, ["NO-RESULT", "0", "0"])
        h.ok(int(v[1]) <= 2 * limit and rise(name) < 256 * MIB,
             f"{tag}: memory 64M: {name} 3G: the host did not commit it ({v[0]}, "
             f"{int(v[1]) // MIB} MiB touched, host rose {rise(name) // MIB} MiB)", r.out)

    if by == "rlimits":
        want = {
            "shared-anon": ("EPERM", "mmap", lambda e: e["args"].get("flags")
                            == "MAP_SHARED|MAP_ANONYMOUS"),
            "memfd": ("EPERM", "memfd_create", None),
            "growsdown": ("EPERM", "mmap", lambda e: "MAP_GROWSDOWN" in e["args"].get("flags")),
            "shmget": ("EPERM", "shmget", None),
        }
        for name, (errno_, syscall, check) in want.items():
            got = res.get(name, ["NO-RESULT"])[0]
            h.ok(got == errno_, f"{tag}: memory 64M: {name} is refused with {errno_} "
                 f"(got {got})", r.out)
            evs = [e for e in denies(r, syscall) if check is None or check(e)]
            h.ok(evs and evs[0].get("errno") == errno_,
                 f"{tag}: memory 64M: {name}: syscall.deny {syscall}", fmt(r.of("syscall.deny")))
        got = res.get("devzero", ["NO-RESULT"])[0]
        h.ok(got == "ENODEV", f"{tag}: memory 64M: a shared mapping of /dev/zero fails "
             f"(ENODEV: it is /dev/full; got {got})", r.out)
        h.ok(res.get("readzero", [""])[0] == "OK",
             f"{tag}: memory 64M: /dev/zero still reads zeros", r.out)
        got = res.get("private", ["NO-RESULT"])[0]
        h.ok(got == "ENOMEM", f"{tag}: memory 64M: 3G of private memory: ENOMEM "
             f"(RLIMIT_DATA; got {got})", r.out)
        sizes = {p: int(res.get(f"statfs:{p}", ["0", "0"])[1])
                 for p in ("/tmp", "/home/skill", "/dev/shm")}
        h.ok(sum(sizes.values()) <= limit and all(sizes.values()),
             f"{tag}: memory 64M: the tmpfs mounts fit in it together "
             f"({ {k: v // MIB for k, v in sizes.items()} } MiB)", r.out)
        fills = [l.split() for l in r.out.splitlines() if l.startswith("fill ")]
        h.ok(len(fills) == 2 and all(f[1] == "ENOSPC" for f in fills)
             and int(fills[0][2]) <= sizes["/tmp"] and int(fills[1][2]) <= sizes["/dev/shm"],
             f"{tag}: memory 64M: filling /tmp and /dev/shm stops at their sizes (ENOSPC)",
             r.out)
        h.ok("cgroup_unavailable" in pol and pol.get("cgroup") is None
             and "refused" in pol.get("shared_memory", ""),
             f"{tag}: memory 64M: policy.limits says why there is no cgroup and what is refused",
             json.dumps(pol))
        h.skip(f"{tag}: memory 64M through a cgroup v2 (memory.max, limit.hit memory)",
               f"no delegated cgroup v2 here: {pol.get('cgroup_unavailable')}")
    elif by == "cgroup":
        h.ok(pol.get("cgroup"), f"{tag}: memory 64M: the run had a cgroup of its own",
             json.dumps(pol))
        hits = [e for e in r.of("limit.hit") if e.get("limit") == "memory"]
        h.ok(hits, f"{tag}: memory 64M: the cgroup's OOM killer stopped the sandbox "
             "(limit.hit memory)", r.describe())

    rc, out, err = env.run([env.bin, "explain", d])
    text = out.decode(errors="replace")
    h.ok(rc == 0 and ("held without a cgroup" in text or "a cgroup of its own" in text),
         f"{tag}: explain says which mechanism holds limits.memory", text)


def check_memory_tmpfs_refused(env, tag):
    """Declared tmpfs sizes beyond limits.memory are refused, naming the manifest line."""
    text = manifest(["/bin/true"], {"memory": "64M"}, "[{path: /data, size: 1G}]")
    d = env.skill(text, name="tmpfs-big")
    r = run(env, d)
    h.ok(r.rc == 125 and "limits.memory" in r.err and "skillbox.yaml:" in r.err,
         f"{tag}: memory 64M with a 1G tmpfs: refused (125), naming the manifest line",
         r.describe())


# --- default limits ---------------------------------------------------------------------

FORK_PY = r'''
import errno, json, os, sys, threading
what = sys.argv[1]
cap = 2000
n, err = 0, None
if what == "threads":
    ev = threading.Event()
    ts = []
    while n < cap:
        t = threading.Thread(target=ev.wait)
        try:
            t.start()
        except RuntimeError as e:
            err = "EAGAIN" if "thread" in str(e) else str(e)
            break
        ts.append(t)
        n += 1
    ev.set()
    for t in ts:
        t.join()
elif what == "fds":
    fds = []
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    def leak():
        global err
        while len(fds) < 20000:
            try:
                fds.append(os.open("/dev/null", os.O_RDONLY))
            except OSError as e:
                err = errno.errorcode.get(e.errno, str(e.errno))
                return
    leak()
    first = len(fds)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    leak()
    print(json.dumps({"what": what, "soft": soft, "hard": hard, "first": first,
                      "n": len(fds), "errno": err}))
    sys.exit(0)
print(json.dumps({"what": what, "n": n, "errno": err}))
'''


def check_defaults(env, tag):
    d = env.skill(manifest(["/usr/bin/python3", "/skill/bomb.py"]), name="defaults",
                  files={"bomb.py": FORK_PY})
    mem_probe = (open(os.path.join(PROBES, "mem-probe"), "rb").read(), 0o755)
    d2 = env.skill(manifest(["/skill/mem-probe"]), name="inodes",
                   files={"mem-probe": mem_probe})
    r = run(env, d2, ["forks:3000"], timeout=90)
    got = results(r).get("forks", ["NO-RESULT", "0"])
    h.ok(r.rc == 0 and got[0] == "EAGAIN" and 900 <= int(got[1]) < 1024,
         f"{tag}: defaults: a fork bomb stops below 1024 tasks with EAGAIN ({got[0]} after "
         f"{got[1]}) and the run ends ({r.elapsed:.1f}s)", r.describe())
    r = run(env, d, ["threads"], timeout=90)
    res = {}
    for line in r.out.splitlines():
        if line.startswith("{"):
            res = json.loads(line)
    h.ok(r.rc == 0 and res.get("errno") == "EAGAIN" and 900 <= res.get("n", 0) < 1024,
         f"{tag}: defaults: threads count too: they stop below 1024 with EAGAIN "
         f"({res.get('n')}, {res.get('errno')})", r.describe())
    pol = r.first("policy.limits") or {}
    h.ok(pol.get("processes") == 1024 and pol.get("open_files") == 1024
         and pol.get("open_files_hard") == 4096
         and set(pol.get("defaults", [])) == {"processes", "open_files"},
         f"{tag}: defaults: policy.limits shows processes 1024, open_files 1024/4096, as "
         "defaults", json.dumps(pol))

    r = run(env, d, ["fds"], timeout=90)
    res = {}
    for line in r.out.splitlines():
        if line.startswith("{"):
            res = json.loads(line)
    h.ok(r.rc == 0 and res.get("soft") == 1024 and res.get("hard") == 4096
         and res.get("errno") == "EMFILE" and 1000 <= res.get("first", 0) < 1024
         and 4000 <= res.get("n", 0) < 4096,
         f"{tag}: defaults: a descriptor leak stops at 1024 (EMFILE), and at 4096 after "
         f"raising the soft limit ({res})", r.describe())

    r = run(env, d2, ["files:/home/skill:40000", "statfs:/home/skill"], timeout=90)
    res = results(r)
    got = res.get("files", ["NO-RESULT", "0"])
    h.ok(got[0] == "ENOSPC" and int(got[1]) < 16384
         and int(res.get("statfs:/home/skill", ["0", "0", "0"])[2]) == 16384,
         f"{tag}: defaults: empty files stop at HOME's 16384 inodes (one per 4 KiB of its 64M; "
         f"got {got[0]} after {got[1]})", r.out)

    rc, out, err = env.run([env.bin, "explain", d])
    text = out.decode(errors="replace")
    h.ok(rc == 0 and "processes   1024 (default" in text and "open_files  1024" in text
         and "4096" in text,
         f"{tag}: defaults: explain marks processes and open_files as defaults", text)

    # A manifest's own value wins over the default.
    d3 = env.skill(manifest(["/usr/bin/python3", "/skill/bomb.py"], {"processes": 2000}),
                   name="more", files={"bomb.py": FORK_PY})
    r = run(env, d3, ["threads"], timeout=90)
    res = {}
    for line in r.out.splitlines():
        if line.startswith("{"):
            res = json.loads(line)
    h.ok(res.get("n", 0) > 1100,
         f"{tag}: defaults: processes: 2000 in the manifest overrides the default ({res})",
         r.describe())


# --- limits.cpu for the whole sandbox ---------------------------------------------------

def check_cpu(env, tag):
    cmd = "for i in 1 2 3 4; do (while :; do :; done) & done; wait"
    d = env.skill(manifest(["/bin/sh", "-c", cmd], {"cpu": "1s", "timeout": "90s"}),
                  name="cpu")
    r = run(env, d, timeout=120)
    e = r.first("run.exit") or {}
    hits = [x for x in r.of("limit.hit") if x.get("limit") == "cpu"]
    h.ok(r.rc == 128 + signal.SIGXCPU and e.get("reason") == "cpu",
         f"{tag}: cpu 1s: four busy processes end the run together (152, reason cpu; rc "
         f"{r.rc})", r.describe())
    h.ok(len(hits) == 1 and hits[0].get("value") == "1s"
         and "whole sandbox" in hits[0].get("action", ""),
         f"{tag}: cpu 1s: one limit.hit for the whole sandbox", json.dumps(r.of("limit.hit")))
    pol = r.first("policy.limits") or {}
    h.ok(pol.get("cpu_sandbox_interval") == "100ms",
         f"{tag}: cpu 1s: policy.limits says how often the sandbox is read", json.dumps(pol))


def main():
    if not os.path.exists(os.path.join(PROBES, "mem-probe")):
        h.skip("limits", f"probe mem-probe is not built in {PROBES}")
        h.done()
    only = os.environ.get("TEST_LIMITS_ONLY")
    for ident in h.identities():
        env = make_env(ident)
        try:
            for check in (check_memory, check_memory_tmpfs_refused, check_defaults,
                          check_cpu):
                if not only or only in check.__name__:
                    check(env, ident.name)
        finally:
            env.__exit__(None, None, None)
    h.done()


if __name__ == "__main__":
    main()
