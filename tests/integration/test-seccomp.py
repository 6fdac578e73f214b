#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests for the seccomp layer, once per identity (root and an unprivileged user).

Inside the sandbox a small C program (probes/seccomp-probe.c) attempts one thing per argument
and prints "<attempt> <errno name|OK|FAULT>", so one run answers many questions. Each refused
attempt must fail with the documented errno AND leave a syscall.deny event naming the syscall
and its decoded argument. Real programs (a shell pipeline, coreutils, Python with threads, a
pthread program, gcc compiling and running hello.c) must run under `default` without any
syscall.deny event. `strict`, syscalls.allow/deny and the traced syscalls are checked the same
way.
"""

import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SYSTEM = ["/usr", "/bin", "/lib", "/lib64", "/sbin"]
RUN_TIMEOUT = 60
PROBES = os.environ.get("PROBES_DIR") or os.path.join(h.build_root(), "tests", "integration")

# attempt -> (expected result, syscall name in syscall.deny or None, check of the event)
HOSTILE = {
    "unshare-user": ("EPERM", "unshare",
                     lambda e: "CLONE_NEWUSER" in e.get("args", {}).get("flags", [])),
    "clone-newns": ("EPERM", "clone",
                    lambda e: "CLONE_NEWNS" in e.get("args", {}).get("flags", [])),
    "mount": ("EPERM", "mount", None),
    "fsopen": ("EPERM", "fsopen", None),
    "ptrace-traceme": ("EPERM", "ptrace", None),
    "ptrace-attach": ("EPERM", "ptrace", None),
    "io-uring": ("EPERM", "io_uring_setup", None),
    "keyctl": ("EPERM", "keyctl", None),
    "bpf": ("EPERM", "bpf", None),
    "tiocsti": ("EPERM", "ioctl",
                lambda e: e.get("args", {}).get("request") == "TIOCSTI"
                and "request_raw" not in e.get("args", {})),
    "tiocsti-high": ("EPERM", "ioctl",
                     lambda e: e.get("args", {}).get("request") == "TIOCSTI"
                     and e.get("args", {}).get("request_raw") == "0x100005412"),
    "tioclinux": ("EPERM", "ioctl", lambda e: e.get("args", {}).get("request") == "TIOCLINUX"),
    "x32-getpid": ("EPERM", "getpid", lambda e: e.get("abi") == "x32"),
    "socket-packet": ("EPERM", "socket",
                      lambda e: e.get("args", {}).get("family") == "AF_PACKET"),
    "socket-netlink-audit": ("EPERM", "socket",
                             lambda e: e.get("args", {}).get("family") == "AF_NETLINK"
                             and e.get("args", {}).get("protocol") == "NETLINK_AUDIT"),
    "personality-norandom": ("EPERM", "personality",
                             lambda e: e.get("args", {}).get("persona") == "0x40000"),
    "sysfs": ("ENOSYS", "sysfs", None),
    # Refused by the kernel for lack of capabilities: the filter refuses them first, with the
    # kernel's own answer (ping: EPERM, where the kernel says EACCES), so they are audited.
    "socket-raw": ("EPERM", "socket",
                   lambda e: e.get("args", {}).get("family") == "AF_INET"
                   and e.get("args", {}).get("type") == "SOCK_RAW"),
    "socket-raw6": ("EPERM", "socket",
                    lambda e: e.get("args", {}).get("family") == "AF_INET6"
                    and e.get("args", {}).get("type") == "SOCK_RAW|SOCK_CLOEXEC"),
    "socket-ping": ("EPERM", "socket",
                    lambda e: e.get("args", {}).get("type") == "SOCK_DGRAM"
                    and e.get("args", {}).get("protocol") == "IPPROTO_ICMP"),
    "socket-ping6": ("EPERM", "socket",
                     lambda e: e.get("args", {}).get("protocol") == "IPPROTO_ICMPV6"),
    "mknod-dev": ("EPERM", "mknodat",
                  lambda e: e.get("args", {}).get("type") == "S_IFCHR"
                  and e.get("args", {}).get("dev") == "1:3"),
    "setgroups": ("EPERM", "setgroups", None),
    "setuid-root": ("EINVAL", "setuid", lambda e: e.get("args", {}).get("id") == 0),
    "setresgid-root": ("EINVAL", "setresgid",
                       lambda e: e.get("args", {}) == {"real": -1, "effective": 0,
                                                       "saved": -1}),
}

# Allowed under default: the answer is the kernel's, and no syscall.deny event appears.
ALLOWED = ["clone-plain", "socket-netlink-route", "socket-tcp", "socket-udp6", "socket-unix",
           "fionread", "ioctl-signext", "personality-query", "getpid", "mknod-fifo",
           "setuid-self"]


def manifest(command, profile=None, allow=(), deny=(), trace=(), read=(), workdir="/skill"):
    lines = [
        "skillbox: 1",
        "name: seccomp-test",
        f"command: {json.dumps(command)}",
        f"workdir: {workdir}",
        "filesystem:",
        f"  read: {json.dumps(SYSTEM + ['.:/skill'] + list(read))}",
        "limits:",
        "  timeout: 50s",
    ]
    if profile or allow or deny:
        lines.append("syscalls:")
        if profile:
            lines.append(f"  profile: {profile}")
        if allow:
            lines.append(f"  allow: {json.dumps(list(allow))}")
        if deny:
            lines.append(f"  deny: {json.dumps(list(deny))}")
    if trace:
        lines.append("audit:")
        lines.append(f"  trace: {json.dumps(list(trace))}")
    return "\n".join(lines) + "\n"


def probe_bytes(name):
    with open(os.path.join(PROBES, name), "rb") as f:
        return f.read()


def make_env(ident):
    env = h.Env(ident).__enter__()
    # The audit file goes to env.top: the identity must be able to create it there.
    os.chown(env.top, ident.uid, ident.gid)
    return env


def probe_skill(env, name="probe", **kw):
    text = manifest(["/skill/seccomp-probe"], **kw)
    files = {"seccomp-probe": (probe_bytes("seccomp-probe"), 0o755)}
    return env.skill(text, name=name, files=files)


def run(env, d, args=(), opts=()):
    argv = ["run"] + list(opts) + [d]
    if args:
        argv += ["--"] + list(args)
    return env.skillbox(argv, timeout=RUN_TIMEOUT)


def results(r):
    res = {}
    for line in r.out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            res[parts[0]] = parts[1]
    return res


def denies(r):
    return r.of("syscall.deny")


def fmt(evs):
    return "\n".join(json.dumps({k: v for k, v in e.items() if k not in ("v", "run", "prev")})
                     for e in evs)


def host_i386_works():
    """Can this machine make an i386 syscall at all? Under some hypervisors int $0x80 raises
    #GP whatever the kernel's IA32 emulation says."""
    try:
        out = subprocess.run([os.path.join(PROBES, "seccomp-probe"), "i386-getpid"],
                             capture_output=True, timeout=20).stdout.decode()
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.strip() == "i386-getpid OK"


def check_hostile(env, tag):
    d = probe_skill(env)
    attempts = list(HOSTILE) + ["clone3"] + ALLOWED
    r = run(env, d, attempts)
    res = results(r)
    h.ok(r.rc == 0, f"{tag}: the probe ran to the end under default", r.describe())

    pol = r.first("policy.seccomp") or {}
    h.ok(pol.get("profile") == "default" and pol.get("default_action") == "notify"
         and isinstance(pol.get("bpf_instructions"), int) and pol["bpf_instructions"] > 0
         and re.fullmatch(r"[0-9a-f]{64}", pol.get("bpf_sha256", "") or "")
         and "x86_64" in pol.get("arches", []) and pol.get("traced") == [],
         f"{tag}: policy.seccomp states the profile, program size and digest", json.dumps(pol))

    evs = denies(r)
    used = set()
    for attempt, (want, syscall, check) in HOSTILE.items():
        got = res.get(attempt)
        h.ok(got == want, f"{tag}: {attempt} fails with {want} (got {got})", r.out)
        match = [i for i, e in enumerate(evs)
                 if i not in used and e.get("syscall") == syscall
                 and e.get("errno") == want and (check is None or check(e))]
        if h.ok(match, f"{tag}: {attempt}: syscall.deny names {syscall} with errno {want}",
                fmt(evs)):
            used.add(match[0])
            e = evs[match[0]]
            h.ok(e.get("pid") == 2 and isinstance(e.get("host_pid"), int)
                 and e["host_pid"] > 2 and isinstance(e.get("nr"), int)
                 and e.get("abi") in ("x86_64", "x32", "i386", "aarch64"),
                 f"{tag}: {attempt}: the event carries pid 2 (inside), host_pid, nr and abi",
                 json.dumps(e))

    h.ok(res.get("clone3") == "ENOSYS", f"{tag}: clone3 fails with ENOSYS", r.out)
    h.ok(not [e for e in evs if e.get("syscall") == "clone3"],
         f"{tag}: clone3 leaves no syscall.deny event (documented)", fmt(evs))
    for attempt in ALLOWED:
        h.ok(res.get(attempt) == "OK", f"{tag}: {attempt} is allowed ({res.get(attempt)})",
             r.out)
    extra = [e for i, e in enumerate(evs) if i not in used]
    h.ok(not extra, f"{tag}: no other syscall.deny event", fmt(extra))

    summ = r.first("run.summary") or {}
    refusals = summ.get("refusals", {})
    whats = [x.get("what") for x in summ.get("examples", []) if x.get("kind") == "syscall"]
    h.ok(refusals.get("syscall") == len(HOSTILE) and whats
         and whats[0] == "unshare(CLONE_NEWUSER)",
         f"{tag}: run.summary counts {len(HOSTILE)} syscall refusals, with examples",
         json.dumps(summ))

    # i386 through int $0x80.
    r = run(env, d, ["i386-getpid"])
    got = results(r).get("i386-getpid")
    if got == "FAULT" and not host_i386_works():
        h.skip(f"{tag}: an i386 syscall is refused and audited",
               "int $0x80 raises #GP on this machine, outside the sandbox too (no usable i386 "
               "entry); the unit test checks the filter's i386 branch")
    else:
        e = [x for x in denies(r) if x.get("abi") == "i386"]
        h.ok(got == "EPERM" and e and e[0].get("syscall") == "getpid" and e[0].get("nr") == 20,
             f"{tag}: an i386 syscall (int $0x80 getpid) fails with EPERM and is audited "
             f"(got {got})", r.out + fmt(denies(r)))


def check_programs(env, tag):
    hello = '#include <stdio.h>\nint main(void) { printf("hello from gcc\\n"); return 0; }\n'
    pyprog = (
        "import threading, subprocess, hashlib\n"
        "out = []\n"
        "def work(i):\n"
        "    out.append(hashlib.sha256(str(i).encode() * 10000).hexdigest()[:8])\n"
        "ts = [threading.Thread(target=work, args=(i,)) for i in range(8)]\n"
        "[t.start() for t in ts]\n"
        "[t.join() for t in ts]\n"
        "p = subprocess.run(['ls', '/skill'], capture_output=True, text=True)\n"
        "print('py', len(out), 'hello.c' in p.stdout)\n"
    )
    script = (
        "set -e\n"
        "seq 1 2000 | sort -rn | head -3 | tr '\\n' ' '; echo\n"
        "mkdir -p /tmp/w/a && cp /skill/hello.c /tmp/w/a/ && mv /tmp/w/a/hello.c /tmp/w/h.c\n"
        "ln -s h.c /tmp/w/l && chmod 600 /tmp/w/h.c && stat -c %a /tmp/w/h.c\n"
        "sha256sum /tmp/w/h.c | cut -c1-8; find /tmp/w | sort | wc -l; date +%Y >/dev/null\n"
        "tar -C /tmp -cf /tmp/w.tar w && tar -tf /tmp/w.tar | wc -l; rm -rf /tmp/w\n"
        "/usr/bin/python3 /skill/prog.py\n"
        "/skill/threads\n"
        "gcc -O1 -o /tmp/hello /skill/hello.c && /tmp/hello\n"
    )
    files = {
        "run.sh": script,
        "prog.py": pyprog,
        "hello.c": hello,
        "threads": (probe_bytes("threads"), 0o755),
    }
    d = env.skill(manifest(["/bin/sh", "/skill/run.sh"]), name="programs", files=files)
    r = run(env, d)
    out = r.out
    h.ok(r.rc == 0, f"{tag}: shell, coreutils, python, threads and gcc run under default",
         r.describe())
    h.ok("2000 1999 1998" in out and "\n600\n" in out, f"{tag}: the pipeline and coreutils "
         "give the right answers", out)
    h.ok("py 8 True" in out, f"{tag}: python3 with threads and a subprocess works", out)
    h.ok("threads ok 80000" in out, f"{tag}: the pthread program works", out)
    h.ok("hello from gcc" in out, f"{tag}: gcc compiles hello.c and the result runs", r.describe())
    h.ok(not denies(r), f"{tag}: no syscall.deny event from ordinary programs", fmt(denies(r)))
    return d


def check_strict(env, tag):
    d = probe_skill(env, name="strict", profile="strict")
    r = run(env, d, ["socket-tcp", "socket-udp6", "socket-unix", "personality-query",
                     "fionread", "getpid"])
    res = results(r)
    evs = denies(r)
    h.ok(res.get("socket-tcp") == "EPERM", f"{tag}: strict refuses a TCP socket "
         f"({res.get('socket-tcp')})", r.describe())
    h.ok(any(e.get("syscall") == "socket" and e.get("args", {}).get("family") == "AF_INET"
             for e in evs), f"{tag}: strict: syscall.deny for socket(AF_INET)", fmt(evs))
    h.ok(res.get("socket-udp6") == "EPERM" and res.get("personality-query") == "EPERM",
         f"{tag}: strict refuses IPv6 sockets and personality", r.out)
    h.ok(res.get("socket-unix") == "OK" and res.get("fionread") == "OK"
         and res.get("getpid") == "OK", f"{tag}: strict allows AF_UNIX, FIONREAD, getpid", r.out)
    h.ok((r.first("policy.seccomp") or {}).get("profile") == "strict",
         f"{tag}: policy.seccomp says strict", json.dumps(r.first("policy.seccomp")))

    # An ordinary file transform still works.
    script = "set -e\nseq 1 500 | sort -rn | head -2 | tr '\\n' ' '\ncat /skill/run.sh | wc -l\n"
    d = env.skill(manifest(["/bin/sh", "/skill/run.sh"], profile="strict"), name="strict-sh",
                  files={"run.sh": script})
    r = run(env, d)
    h.ok(r.rc == 0 and "500 499" in r.out and not denies(r),
         f"{tag}: a shell pipeline runs under strict without refusals",
         r.describe() + fmt(denies(r)))


def check_adjusted(env, tag):
    d = probe_skill(env, name="adjusted", allow=["kcmp", "socket"], deny=["getpid"])
    r = run(env, d, ["getpid", "kcmp", "socket-packet", "mount"])
    res = results(r)
    evs = denies(r)
    h.ok(res.get("getpid") == "EPERM", f"{tag}: syscalls.deny getpid: EPERM "
         f"({res.get('getpid')})", r.describe())
    h.ok(any(e.get("syscall") == "getpid" and e.get("errno") == "EPERM" for e in evs),
         f"{tag}: syscalls.deny getpid: syscall.deny event", fmt(evs))
    h.ok(res.get("kcmp") == "OK" and not any(e.get("syscall") == "kcmp" for e in evs),
         f"{tag}: syscalls.allow kcmp: allowed, no event ({res.get('kcmp')})", r.out)
    # socket is allowed outright: AF_PACKET reaches the kernel, which refuses it for lack of
    # CAP_NET_RAW; the filter stays silent.
    h.ok(res.get("socket-packet") in ("EPERM", "EAFNOSUPPORT")
         and not any(e.get("syscall") == "socket" for e in evs),
         f"{tag}: syscalls.allow socket: AF_PACKET is the kernel's to refuse, no event "
         f"({res.get('socket-packet')})", r.out + fmt(evs))
    h.ok(res.get("mount") == "EPERM" and any(e.get("syscall") == "mount" for e in evs),
         f"{tag}: the rest of the profile still applies (mount refused)", r.out)
    pol = r.first("policy.seccomp") or {}
    h.ok(pol.get("allow") == ["kcmp", "socket"] and pol.get("deny") == ["getpid"],
         f"{tag}: policy.seccomp lists the adjustments", json.dumps(pol))

    # skillbox's own start-up needs write(): denying it is refused with the manifest line.
    text = manifest(["/skill/seccomp-probe"], deny=["write"])
    d = env.skill(text, name="deny-write",
                  files={"seccomp-probe": (probe_bytes("seccomp-probe"), 0o755)})
    r = run(env, d, ["getpid"])
    line = next(i for i, l in enumerate(text.splitlines(), 1) if "deny:" in l)
    h.ok(r.rc == 125 and re.search(rf"skillbox\.yaml:{line}:\d+: syscalls\.deny: write", r.err)
         and not r.of("proc.exec"),
         f"{tag}: syscalls.deny write is refused before anything runs (exit 125, line {line})",
         r.describe())


def check_trace(env, programs_dir, tag):
    # Traced syscalls pass the listener and are continued: the same programs still work.
    r = run(env, programs_dir, opts=["--trace", "exec,files,connect"])
    pol = r.first("policy.seccomp") or {}
    h.ok(r.rc == 0 and "hello from gcc" in r.out and "threads ok" in r.out,
         f"{tag}: with --trace exec,files,connect the programs run normally", r.describe())
    h.ok({"execve", "openat", "connect", "unlinkat"} <= set(pol.get("traced", [])),
         f"{tag}: policy.seccomp lists the traced syscalls", json.dumps(pol))
    h.ok(not denies(r), f"{tag}: traced syscalls are not refusals", fmt(denies(r)))


SETID_PY = r'''
import ctypes, errno, json, os, shutil, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
res = {}

def attempt(name, fn):
    try:
        fn()
        res[name] = "OK"
    except OSError as e:
        res[name] = errno.errorcode.get(e.errno, str(e.errno))

def sc(nr, *args):
    if libc.syscall(ctypes.c_long(nr), *args) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))

AT_FDCWD = ctypes.c_int(-100)
fd = os.open("/out/h", os.O_RDONLY)
attempt("fchmod-4755", lambda: os.fchmod(fd, 0o4755))
attempt("python-chmod-2755", lambda: os.chmod("/out/h", 0o2755))
attempt("fchmodat2-4755", lambda: sc(452, AT_FDCWD, b"/out/h", ctypes.c_uint(0o4755), 0))
attempt("fchmodat-6755", lambda: sc(268, AT_FDCWD, b"/out/h", ctypes.c_uint(0o6755)))
attempt("chmod-syscall-4755", lambda: sc(90, b"/out/h", ctypes.c_uint(0o4755)))
attempt("openat-creat-4755",
        lambda: os.close(os.open("/out/o", os.O_WRONLY | os.O_CREAT, 0o4755)))
attempt("open-syscall-creat-4755", lambda: sc(2, b"/out/o2", os.O_WRONLY | os.O_CREAT, 0o4755))
attempt("creat-2755", lambda: sc(85, b"/out/o3", ctypes.c_uint(0o2755)))
attempt("tmpfile-4755", lambda: sc(257, AT_FDCWD, b"/out", os.O_TMPFILE | os.O_RDWR, 0o4755))
attempt("mkdir-2755", lambda: os.mkdir("/out/d", 0o2755))
attempt("mknod-4755", lambda: os.mknod("/out/n", 0o100000 | 0o4755))
attempt("openat2", lambda: sc(437, AT_FDCWD, b"/out/h", ctypes.c_char_p(b"\0" * 24), 24))
# File capabilities: security.capability needs CAP_SETFCAP, which the skill never holds.
attempt("setxattr-capability",
        lambda: os.setxattr("/out/h", "security.capability",
                            bytes([0, 0, 0, 2]) + bytes([0x20, 0, 0, 0]) + bytes(12)))
attempt("creat-0644", lambda: os.close(os.open("/out/plain", os.O_WRONLY | os.O_CREAT, 0o644)))
attempt("chmod-0755", lambda: os.chmod("/out/plain", 0o755))
attempt("mkdir-0755", lambda: os.mkdir("/out/plaindir", 0o755))
print(json.dumps(res))
'''

# attempt -> (errno, syscall named by syscall.deny or None, decoded mode)
SETID = {
    "fchmod-4755": ("EPERM", "fchmod", "04755"),
    "python-chmod-2755": ("EPERM", ("chmod", "fchmodat"), "02755"),
    "fchmodat2-4755": ("EPERM", "fchmodat2", "04755"),
    "fchmodat-6755": ("EPERM", "fchmodat", "06755"),
    "chmod-syscall-4755": ("EPERM", "chmod", "04755"),
    "openat-creat-4755": ("EPERM", "openat", "04755"),
    "open-syscall-creat-4755": ("EPERM", "open", "04755"),
    "creat-2755": ("EPERM", "creat", "02755"),
    "tmpfile-4755": ("EPERM", "openat", "04755"),
    "mkdir-2755": ("EPERM", ("mkdir", "mkdirat"), "02755"),
    "mknod-4755": ("EPERM", ("mknod", "mknodat"), "0104755"),
    "openat2": ("ENOSYS", "openat2", None),
    "setxattr-capability": ("EPERM", None, None),
    "chmod-0755": ("OK", None, None),
    "creat-0644": ("OK", None, None),
    "mkdir-0755": ("OK", None, None),
}


def check_setid(env, tag):
    """No file the skill creates or changes in a write path may carry set-user-ID or
    set-group-ID: `cp /bin/cat /out/h && chmod 4755 /out/h`, chmod 2755, open(O_CREAT,
    04755), mkdir 02755, fchmodat2 and the rest fail with EPERM, each audited as syscall.deny
    with its decoded mode, and the file on the host has no such bit."""
    out = env.mkdir("setid-out")
    # The caller's own directory: for root, root-owned and idmapped, so that a bit that got
    # through would make a set-user-ID-root program on the host.
    uid = env.ident.uid
    script = ("cp /bin/cat /out/h && chmod 4755 /out/h; echo chmod-shell=$?; "
              "exec python3 /skill/setid.py")
    text = manifest(["/bin/sh", "-c", script], read=["/etc/alternatives"])
    text = text.replace("filesystem:\n", f"filesystem:\n  write: [\"{out}:/out\"]\n")
    d = env.skill(text, name="setid", files={"setid.py": SETID_PY})
    os.chown(out, uid, uid)
    r = run(env, d)
    h.ok(r.rc == 0, f"{tag}: setid: the skill ran", r.describe())
    h.ok("chmod-shell=1" in r.out and "Operation not permitted" in r.err,
         f"{tag}: setid: `cp /bin/cat /out/h && chmod 4755 /out/h` fails with EPERM",
         r.describe())
    res = {}
    for line in r.out.splitlines():
        if line.startswith("{"):
            res = json.loads(line)
    evs = denies(r)
    for name, (want, syscall, mode) in SETID.items():
        h.ok(res.get(name) == want, f"{tag}: setid: {name} -> {want} (got {res.get(name)})",
             r.out)
        if syscall is None:
            continue
        names = syscall if isinstance(syscall, tuple) else (syscall,)
        match = [e for e in evs if e.get("syscall") in names and e.get("errno") == want
                 and (mode is None or e.get("args", {}).get("mode") == mode)]
        h.ok(match, f"{tag}: setid: {name}: syscall.deny {'/'.join(names)}"
             + (f" with mode {mode}" if mode else ""), fmt(evs))
    chmods = [e for e in evs if e.get("syscall") in ("fchmodat", "chmod", "fchmodat2")
              and e.get("args", {}).get("mode") == "04755"]
    h.ok(chmods, f"{tag}: setid: the shell's chmod 4755 is audited with mode 04755", fmt(evs))
    host = {}
    for n in ("h", "o", "o2", "o3", "d", "n", "plain", "plaindir"):
        p = os.path.join(out, n)
        host[n] = os.lstat(p).st_mode if os.path.lexists(p) else None
    h.ok(host["h"] is not None and host["h"] & 0o6000 == 0 and host["h"] & 0o777 == 0o755,
         f"{tag}: setid: /out/h on the host has no set-user-ID or set-group-ID bit "
         f"({oct(host['h'] or 0)})")
    h.ok(all(host[n] is None for n in ("o", "o2", "o3", "d", "n")),
         f"{tag}: setid: nothing was created by a refused call", host)
    h.ok(host["plain"] is not None and host["plaindir"] is not None
         and not any((m or 0) & 0o6000 for m in host.values()),
         f"{tag}: setid: plain creates work, and no file on the host carries either bit", host)


def main():
    for name in ("seccomp-probe", "threads"):
        if not os.path.exists(os.path.join(PROBES, name)):
            h.skip(f"probe {name}", f"not built in {PROBES}")
            h.done()
    if not shutil.which("gcc"):
        h.diag("gcc is not installed: the gcc case will fail")
    for ident in h.identities():
        tag = ident.name
        env = make_env(ident)
        try:
            check_hostile(env, tag)
            programs = check_programs(env, tag)
            check_strict(env, tag)
            check_adjusted(env, tag)
            check_trace(env, programs, tag)
            check_setid(env, tag)
        finally:
            env.__exit__(None, None, None)
    h.done()


if __name__ == "__main__":
    main()
