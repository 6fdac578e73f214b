# SPDX-License-Identifier: MIT
"""Shared helpers for skillbox's integration tests.

Every test runs the built binary the way a user would, once as root and once as an
unprivileged user (when the suite runs as root; an unprivileged suite runs only the
unprivileged variant). Output is TAP, so meson shows each assertion.

Nothing here sleeps to synchronise: processes are waited for with bounded timeouts, and
"is it gone?" questions are answered with pidfds.
"""

import contextlib
import json
import os
import pwd
import select
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time

# The unprivileged identity used when the suite runs as root. It needs no passwd entry.
TEST_UID = int(os.environ.get("SKILLBOX_TEST_UID", "4242"))
DEFAULT_TIMEOUT = 60

_count = 0
_failed = 0
_skipped = 0


def ok(cond, name, diag=None):
    """One TAP assertion. Returns cond so callers can branch on it."""
    global _count, _failed
    _count += 1
    print(("ok" if cond else "not ok") + f" {_count} - {name}", flush=True)
    if not cond:
        _failed += 1
        if diag is not None:
            for line in str(diag).splitlines()[:60]:
                print(f"#   {line}", flush=True)
    return bool(cond)


def skip(name, reason):
    global _count, _skipped
    _count += 1
    _skipped += 1
    print(f"ok {_count} - {name} # SKIP {reason}", flush=True)


def diag(msg):
    for line in str(msg).splitlines():
        print(f"# {line}", flush=True)


def done():
    print(f"1..{_count}", flush=True)
    sys.exit(1 if _failed else 0)


def skillbox_binary():
    path = os.environ.get("SKILLBOX")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "..", "build", "launcher", "skillbox")
    return os.path.abspath(path)


def source_root():
    return os.environ.get(
        "SOURCE_ROOT", os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
    )


def build_root():
    return os.environ.get("BUILD_ROOT", os.path.dirname(os.path.dirname(skillbox_binary())))


class Identity:
    def __init__(self, name, uid, gid):
        self.name = name
        self.uid = uid
        self.gid = gid

    @property
    def is_root(self):
        return self.uid == 0

    def __str__(self):
        return self.name


def identities():
    """The identities this suite can run as: root (when we are root) and an unprivileged one."""
    if os.geteuid() == 0:
        return [Identity("root", 0, 0), Identity("user", TEST_UID, TEST_UID)]
    return [Identity("user", os.getuid(), os.getgid())]


def _chown_tree(path, uid, gid):
    os.chown(path, uid, gid, follow_symlinks=False)
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            os.chown(os.path.join(root, n), uid, gid, follow_symlinks=False)


class Result:
    def __init__(self, rc, stdout, stderr, audit_lines, elapsed):
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.audit_lines = audit_lines
        self.elapsed = elapsed

    @property
    def out(self):
        return self.stdout.decode(errors="replace")

    @property
    def err(self):
        return self.stderr.decode(errors="replace")

    @property
    def events(self):
        evs = []
        for line in self.audit_lines:
            try:
                evs.append(json.loads(line))
            except ValueError:
                evs.append({"event": "<unparseable>", "line": line})
        return evs

    def of(self, kind):
        return [e for e in self.events if e.get("event") == kind]

    def first(self, kind):
        evs = self.of(kind)
        return evs[0] if evs else None

    def describe(self):
        return (
            f"rc={self.rc}\nstdout:\n{self.out[-3000:]}\nstderr:\n{self.err[-3000:]}\n"
            f"audit events: {[e.get('event') for e in self.events]}"
        )


class Env:
    """A private world for one identity: a copy of skillbox it can execute, a workspace, and a
    fake HOME with planted credentials, all under one temporary directory that is removed at
    the end. Use as a context manager."""

    def __init__(self, ident):
        self.ident = ident

    def __enter__(self):
        self.top = tempfile.mkdtemp(prefix=f"skillbox-it-{self.ident.name}-")
        os.chmod(self.top, 0o755)
        self.bin = os.path.join(self.top, "skillbox")
        shutil.copy2(skillbox_binary(), self.bin)
        os.chmod(self.bin, 0o755)
        self.home = os.path.join(self.top, "home")
        self.work = os.path.join(self.top, "work")
        # Audit files are created by skillbox running as the identity.
        self.auditdir = os.path.join(self.top, "audit")
        os.makedirs(self.home)
        os.makedirs(self.work)
        os.makedirs(self.auditdir)
        os.chown(self.auditdir, self.ident.uid, self.ident.gid)
        self.plant_secrets()
        _chown_tree(self.home, self.ident.uid, self.ident.gid)
        _chown_tree(self.work, self.ident.uid, self.ident.gid)
        os.chmod(self.home, 0o700)
        return self

    def __exit__(self, *exc):
        shutil.rmtree(self.top, ignore_errors=True)

    # --- the victim's HOME -------------------------------------------------------------
    SSH_KEY = "-----BEGIN FAKE OPENSSH PRIVATE KEY-----\nskillbox-test-planted-key\n"

    def plant_secrets(self):
        ssh = os.path.join(self.home, ".ssh")
        os.makedirs(ssh, mode=0o700)
        with open(os.path.join(ssh, "id_rsa"), "w") as f:
            f.write(self.SSH_KEY)
        os.chmod(os.path.join(ssh, "id_rsa"), 0o600)
        aws = os.path.join(self.home, ".aws")
        os.makedirs(aws)
        with open(os.path.join(aws, "credentials"), "w") as f:
            f.write("[default]\naws_secret_access_key = FAKE-skillbox-test-aws\n")

    # --- files -------------------------------------------------------------------------
    def path(self, *parts):
        return os.path.join(self.work, *parts)

    def write(self, rel, content, mode=0o644):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, mode)
        _chown_tree(os.path.dirname(p), self.ident.uid, self.ident.gid)
        return p

    def mkdir(self, rel):
        p = self.path(rel)
        os.makedirs(p, exist_ok=True)
        _chown_tree(self.work, self.ident.uid, self.ident.gid)
        return p

    def symlink(self, target, rel):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        os.symlink(target, p)
        os.chown(p, self.ident.uid, self.ident.gid, follow_symlinks=False)
        return p

    def skill(self, manifest, name="skill", files=None):
        """Creates a skill directory with skillbox.yaml (text, dedented) and extra files."""
        d = self.path(name)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "skillbox.yaml"), "w") as f:
            f.write(textwrap.dedent(manifest).lstrip())
        for rel, content in (files or {}).items():
            p = os.path.join(d, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            mode = 0o755 if rel.endswith((".sh", ".py")) or "/bin/" in rel else 0o644
            if isinstance(content, tuple):
                content, mode = content
            data = content.encode() if isinstance(content, str) else content
            with open(p, "wb") as f:
                f.write(data)
            os.chmod(p, mode)
        _chown_tree(self.work, self.ident.uid, self.ident.gid)
        return d

    # --- running -----------------------------------------------------------------------
    def base_env(self):
        return {
            "PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": self.home,
            "LANG": "C.UTF-8",
        }

    def argv(self, args):
        """The command line that runs args as this identity."""
        if os.geteuid() == 0 and not self.ident.is_root:
            return [
                "setpriv",
                f"--reuid={self.ident.uid}",
                f"--regid={self.ident.gid}",
                "--clear-groups",
                "--inh-caps=-all",
                "--",
            ] + list(args)
        return list(args)

    def popen(self, args, env=None, **kw):
        e = self.base_env()
        e.update(env or {})
        return subprocess.Popen(self.argv(args), env=e, cwd=self.work, **kw)

    def run(self, args, env=None, timeout=DEFAULT_TIMEOUT, stdin=subprocess.DEVNULL):
        """Runs a command as this identity; returns (rc, stdout, stderr)."""
        p = self.popen(args, env=env, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return None, out, err
        return p.returncode, out, err

    def skillbox(self, verb_args, env=None, timeout=DEFAULT_TIMEOUT, audit=True, stdin=None):
        """Runs `skillbox ...` as this identity. With audit=True and a `run` verb, the audit
        trail goes to a fresh file that is read back into the result."""
        args = list(verb_args)
        audit_path = None
        if audit and args and args[0] == "run":
            fd, audit_path = tempfile.mkstemp(prefix="audit-", suffix=".jsonl", dir=self.auditdir)
            os.close(fd)
            os.unlink(audit_path)
            args = ["run", "--audit", audit_path] + args[1:]
        t0 = time.monotonic()
        rc, out, err = self.run(
            [self.bin] + args,
            env=env,
            timeout=timeout,
            stdin=subprocess.DEVNULL if stdin is None else stdin,
        )
        elapsed = time.monotonic() - t0
        lines = []
        if audit_path and os.path.exists(audit_path):
            with open(audit_path, "rb") as f:
                lines = [l.decode(errors="replace") for l in f.read().splitlines()]
            self.last_audit_path = audit_path
        return Result(rc, out, err, lines, elapsed)


def wait_gone(pids, timeout):
    """Waits until every pid has exited, via pidfds; returns the ones still alive."""
    fds = {}
    for pid in pids:
        try:
            fds[pid] = os.pidfd_open(pid)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    try:
        while fds:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            r, _, _ = select.select(list(fds.values()), [], [], left)
            for pid, fd in list(fds.items()):
                if fd in r:
                    os.close(fd)
                    del fds[pid]
        return sorted(fds)
    finally:
        for fd in fds.values():
            os.close(fd)


def pids_matching(marker):
    """Host pids whose command line contains marker."""
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/cmdline", "rb") as f:
                if marker.encode() in f.read():
                    found.append(int(d))
        except OSError:
            pass
    return found


def read_line(stream, timeout):
    """Reads one line from a pipe with a bounded wait; returns b'' on timeout/EOF."""
    fd = stream.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            return buf
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return buf
        c = os.read(fd, 1)
        if not c:
            return buf
        buf += c
    return buf


def mountinfo():
    with open("/proc/self/mountinfo") as f:
        return sorted(l.split(" ", 4)[4] for l in f)


SYSTEM_READ = "[/usr, /bin, /lib, /lib64, /sbin, /etc/alternatives]"
