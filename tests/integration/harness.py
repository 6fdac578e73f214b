# SPDX-License-Identifier: MIT
"""Shared helpers for skillbox's integration tests.

Every test runs the built binary the way a user would, once as root and once as an
unprivileged user (when the suite runs as root; an unprivileged suite runs only the
unprivileged variant). Output is TAP, so meson shows each assertion.

Nothing here sleeps to synchronise: processes are waited for with bounded timeouts, and
"is it gone?" questions are answered with pidfds.

The suite must pass on a busy host, next to another copy of itself: nothing here assumes a
quiet machine. Every temporary file is under one directory per test process (SUITE_TMP);
ports are bound by the test itself (port 0) and passed on; processes are found by ancestry
(this process is a child subreaper, so whatever its runs leave behind stays its descendant),
never by name or by uid (uid 4242 is shared with other suites, and so is the range of a
root caller's per-run uids); host state is
compared only where skillbox could have changed it; /dev/net/tun is shared through a holder
count (tun_for_all()).
"""

import atexit
import contextlib
import ctypes
import fcntl
import json
import os
import pwd
import random
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
HERE = os.path.dirname(os.path.abspath(__file__))

# Every temporary file and directory of this test process lives under SUITE_TMP, so that a
# second suite on the machine finds at most one new root-owned entry per test in /tmp, and a
# check of the host's /tmp can tell this process's files from the rest. 0755: the
# unprivileged identity reaches its own directories below it.
SUITE_TMP = tempfile.mkdtemp(prefix="skillbox-it-")
os.chmod(SUITE_TMP, 0o755)
tempfile.tempdir = SUITE_TMP
atexit.register(shutil.rmtree, SUITE_TMP, ignore_errors=True)


def _exit_on_signal(signum, frame):
    # meson's timeout and a Ctrl-C end the test with SIGTERM/SIGINT: unwind, so that every
    # finally block runs (/dev/net/tun's holder count, servers, namespaces, SUITE_TMP).
    sys.exit(128 + signum)


signal.signal(signal.SIGTERM, _exit_on_signal)
signal.signal(signal.SIGHUP, _exit_on_signal)

_count = 0
_failed = 0
_skipped = 0


def _tap_lines(text):
    """text as TAP comment lines: split at newlines only, as the TAP reader does, with the
    other characters Python would split lines at (form feed, \x1c, U+2028, ...) escaped, so
    that no part of a diagnostic reaches the reader as a line of its own."""
    for line in str(text).split("\n"):
        yield "".join(c if c == "\t" or c.isprintable() else repr(c)[1:-1] for c in line)


def ok(cond, name, diag=None):
    """One TAP assertion. Returns cond so callers can branch on it."""
    global _count, _failed
    _count += 1
    print(("ok" if cond else "not ok") + f" {_count} - {name}", flush=True)
    if not cond:
        _failed += 1
        if diag is not None:
            for line in list(_tap_lines(diag))[:60]:
                print(f"#   {line}", flush=True)
    return bool(cond)


def skip(name, reason):
    global _count, _skipped
    _count += 1
    _skipped += 1
    print(f"ok {_count} - {name} # SKIP {reason}", flush=True)


def diag(msg):
    for line in _tap_lines(msg):
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
        self.top = tempfile.mkdtemp(prefix=f"{self.ident.name}-")
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

    def popen(self, args, env=None, wrap=(), **kw):
        """Starts args as this identity; wrap is a command prefix run as the caller (root),
        outside the identity switch (private_host_wrap())."""
        e = self.base_env()
        e.update(env or {})
        return subprocess.Popen(list(wrap) + self.argv(args), env=e, cwd=self.work, **kw)

    def run(self, args, env=None, timeout=DEFAULT_TIMEOUT, stdin=subprocess.DEVNULL, wrap=()):
        """Runs a command as this identity; returns (rc, stdout, stderr). On timeout its whole
        process group is killed (it runs in a session of its own)."""
        p = self.popen(args, env=env, wrap=wrap, stdin=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            return None, out, err
        return p.returncode, out, err

    def skillbox(self, verb_args, env=None, timeout=DEFAULT_TIMEOUT, audit=True, stdin=None,
                 private_host=False):
        """Runs `skillbox ...` as this identity. With audit=True and a `run` verb, the audit
        trail goes to a fresh file that is read back into the result. With private_host (and a
        suite run as root) it runs in a private copy of the host (private_host_wrap()), and
        result.host_changes is what it changed there (None when that cannot be done)."""
        args = list(verb_args)
        audit_path = None
        if audit and args and args[0] == "run":
            fd, audit_path = tempfile.mkstemp(prefix="audit-", suffix=".jsonl", dir=self.auditdir)
            os.close(fd)
            os.unlink(audit_path)
            args = ["run", "--audit", audit_path] + args[1:]
        wrap, report = private_host_wrap() if private_host else ((), None)
        t0 = time.monotonic()
        rc, out, err = self.run(
            [self.bin] + args,
            env=env,
            timeout=timeout,
            stdin=subprocess.DEVNULL if stdin is None else stdin,
            wrap=wrap,
        )
        elapsed = time.monotonic() - t0
        lines = []
        if audit_path and os.path.exists(audit_path):
            with open(audit_path, "rb") as f:
                lines = [l.decode(errors="replace") for l in f.read().splitlines()]
            self.last_audit_path = audit_path
        res = Result(rc, out, err, lines, elapsed)
        res.host_changes = read_private_host_report(report) if report else None
        return res


# --- a private copy of the host ------------------------------------------------------------


def private_host_wrap(net=False):
    """A command prefix that runs a command in a private copy of the host's mount table, /tmp
    and /dev/shm (SUITE_TMP bound back at its path, so the test's files stay where they are)
    and, with net, in a network namespace of its own with loopback up; afterwards it reports
    what the command changed there: exactly the command's doing, whatever else runs on the
    machine (private-host.py). Returns (prefix, report path), or ((), None) when the suite does
    not run as root."""
    if os.geteuid() != 0:
        return (), None
    fd, report = tempfile.mkstemp(prefix="private-host-", suffix=".json")
    os.close(fd)
    prefix = [sys.executable, os.path.join(HERE, "private-host.py"), "--report", report,
              "--keep", SUITE_TMP] + (["--net"] if net else []) + ["--"]
    return prefix, report


def read_private_host_report(report):
    """private-host.py's report: {"left": [...], "mounts_added": [...], "mounts_removed":
    [...]}, or None when it wrote none (it failed before the command ran)."""
    try:
        with open(report) as f:
            return json.loads(f.read() or "null")
    except (OSError, ValueError):
        return None
    finally:
        with contextlib.suppress(OSError):
            os.unlink(report)


# --- /dev/net/tun ----------------------------------------------------------------------------

TUN = "/dev/net/tun"


def _lock_dir():
    """A root-owned directory for the locks shared by every suite on this host (all of them
    must agree on it: not SUITE_TMP)."""
    base = "/run/lock" if os.path.isdir("/run/lock") else "/tmp"
    d = os.path.join(base, "skillbox-tests")
    with contextlib.suppress(FileExistsError):
        os.mkdir(d, 0o755)
    st = os.lstat(d)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != 0 or st.st_mode & 0o022:
        raise RuntimeError(f"{d} is not a directory of root's that only root may write")
    return d


def _flock(fd, op, timeout=60):
    """flock() with a bounded wait (SIGALRM interrupts it)."""
    def expired(signum, frame):
        raise TimeoutError(f"no lock within {timeout}s")

    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(timeout)
    try:
        fcntl.flock(fd, op)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def host_addresses():
    """Every address on the host's interfaces, and their names (ip -j addr)."""
    p = subprocess.run(["ip", "-j", "addr"], capture_output=True, timeout=15, check=True)
    names, addrs = set(), set()
    for link in json.loads(p.stdout or b"[]"):
        names.add(link.get("ifname"))
        for a in link.get("addr_info", []):
            addrs.add(a.get("local"))
    return names, addrs


def free_subnet(prefix, names_of):
    """A third octet N for the subnet prefix.N.0/24 that no interface on the host uses, and
    interface names (names_of(tag)) that do not exist; call under host_lock("netns") and
    create the interfaces before releasing it, so that another suite never picks the same."""
    names, addrs = host_addresses()
    rnd = random.SystemRandom()
    for _ in range(500):
        n, tag = rnd.randint(20, 239), f"{rnd.getrandbits(28):07x}"
        if not any(a and a.startswith(f"{prefix}.{n}.") for a in addrs) \
                and not set(names_of(tag)) & names:
            return n, tag
    raise RuntimeError(f"no free {prefix}.N.0/24 on this host")


class VethNS:
    """A network namespace joined to the host by a veth pair, the host's end PREFIX.N.1/24.
    N and the names are chosen under a host-wide lock among those free on this host, and
    created before it is released, so that suites running at once never pick the same.
    Subclasses set PREFIX and KIND (in the names) and add their addresses in setup() (both
    ends exist, not yet up) and up() (both ends up)."""

    PREFIX = "10.231"
    KIND = "net"

    def ip(self, *args):
        subprocess.run(["ip"] + list(args), check=True, capture_output=True, timeout=15)

    def __enter__(self):
        with host_lock("netns"):
            self.n, tag = free_subnet(self.PREFIX, lambda t: (f"sbx{t}h", f"sbx{t}n"))
            self.name = f"sbx{self.KIND}-{tag}"
            self.host_if, self.ns_if = f"sbx{tag}h", f"sbx{tag}n"
            self.host_addr = f"{self.PREFIX}.{self.n}.1"
            self.ip("netns", "add", self.name)
            try:
                self.before_link()
                self.ip("link", "add", self.host_if, "type", "veth", "peer", "name", self.ns_if)
                self.ip("link", "set", self.ns_if, "netns", self.name)
                self.ip("addr", "add", f"{self.host_addr}/24", "dev", self.host_if)
                self.setup()
                self.ip("link", "set", self.host_if, "up")
                self.ip("-n", self.name, "link", "set", "lo", "up")
                self.ip("-n", self.name, "link", "set", self.ns_if, "up")
                self.up()
            except BaseException:
                self.__exit__()
                raise
        return self

    def before_link(self):
        pass

    def setup(self):
        pass

    def up(self):
        pass

    def __exit__(self, *exc):
        subprocess.run(["ip", "link", "del", self.host_if], capture_output=True, timeout=15)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=15)


@contextlib.contextmanager
def host_lock(name):
    """An exclusive lock shared by every suite on this host, for a short critical section
    (choosing and creating host-wide names, counting /dev/net/tun's holders)."""
    fd = os.open(os.path.join(_lock_dir(), name + ".lock"),
                 os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        _flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _boot_id():
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()


def _tun_state(path, st):
    """The mode /dev/net/tun had before the first current holder changed it, if the state
    file is about this device in this boot."""
    try:
        with open(path) as f:
            state = json.load(f)
        if state["boot"] == _boot_id() and state["dev"] == [st.st_ino, st.st_rdev]:
            return state["mode"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


@contextlib.contextmanager
def tun_for_all():
    """For the block, /dev/net/tun is mode 0666, as distributions ship it: the user-mode
    network stack runs unprivileged (as the run's host uid) and opens it. Yields whether
    it is usable. A suite run as root changes the mode; an unprivileged one can only look.

    Suites running at once share the change. Each holds a shared flock on tun.holders while
    it needs the device; joining and leaving happen under tun.lock. The first to join records
    the original mode in tun.state (with the boot id and the device, so a stale file is
    recognised) and sets 0666; the one that leaves last (its exclusive flock on tun.holders
    succeeds) restores the recorded mode. A suite killed with SIGKILL loses its flock with
    its life; the next suite to leave last restores the mode it recorded."""
    if os.geteuid() != 0:
        yield os.access(TUN, os.R_OK | os.W_OK)
        return
    d = _lock_dir()
    state_path = os.path.join(d, "tun.state")
    holders = os.open(os.path.join(d, "tun.holders"),
                      os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        with host_lock("tun"):
            # Never blocks for long: an exclusive flock on it is only ever tried under
            # tun.lock, which this process holds.
            _flock(holders, fcntl.LOCK_SH)
            st = os.stat(TUN)
            mode = stat.S_IMODE(st.st_mode)
            if _tun_state(state_path, st) is None:
                tmp = state_path + ".new"
                with open(tmp, "w") as f:
                    json.dump({"boot": _boot_id(), "dev": [st.st_ino, st.st_rdev],
                               "mode": mode}, f)
                os.replace(tmp, state_path)
            if mode & 0o666 != 0o666:
                diag(f"{TUN} is {mode:04o}: set to 0666 (as distributions ship it) while "
                     "tests need it; the last suite to finish restores it")
                os.chmod(TUN, mode | 0o666)
        yield True
    finally:
        with host_lock("tun"):
            try:
                fcntl.flock(holders, fcntl.LOCK_EX | fcntl.LOCK_NB)
                last = True
            except BlockingIOError:
                last = False
            if last:
                st = os.stat(TUN)
                mode = _tun_state(state_path, st)
                if mode is not None and stat.S_IMODE(st.st_mode) != mode:
                    os.chmod(TUN, mode)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(state_path)
            os.close(holders)


# --- processes -------------------------------------------------------------------------------

PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Orphans among this process's descendants (what a run leaves behind) become its
    children instead of init's: descendants() then finds them, and only them."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def ppid_of(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return None


def descendants(pid=None):
    """The live (not zombie) descendants of pid (default: this process), found by ancestry."""
    root = os.getpid() if pid is None else pid
    children = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            pp = ppid_of(d)
            if pp is not None:
                children.setdefault(pp, []).append(int(d))
    found, todo = [], [root]
    while todo:
        for c in children.get(todo.pop(), []):
            found.append(c)
            todo.append(c)
    return alive(found)


def alive(pids):
    """The pids that are running (zombies waiting for a reaper are not)."""
    out = []
    for p in pids:
        try:
            with open(f"/proc/{p}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                    out.append(p)
        except (OSError, IndexError):
            pass
    return out


# --- addresses and ports ---------------------------------------------------------------------


def loopback_address():
    """A 127.0.0.0/8 address for this test alone (all of 127/8 is the host's loopback): a
    server that must listen on a fixed port (DNS on 53) binds it there, not on 127.0.0.1,
    which another program or suite may hold. Chosen at random; bind() says if it is taken."""
    r = random.SystemRandom()
    return f"127.{r.randint(64, 254)}.{r.randint(1, 254)}.{r.randint(1, 254)}"


PF_EXITING = 0x4  # task->flags, field 9 of /proc/PID/stat: do_exit() has begun
SIGKILL_BIT = 1 << (signal.SIGKILL - 1)


def exiting(pid):
    """True when pid is gone, a zombie, or dying: do_exit() has begun (PF_EXITING), or a
    SIGKILL is pending for it (taken when sent: it runs no more code of its own)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/status") as f:
            status = dict(line.split(":", 1) for line in f if ":" in line)
    except (OSError, IndexError):
        return True
    if fields[0] in ("Z", "X", "x") or int(fields[6]) & PF_EXITING:
        return True
    return any(int(status.get(k, "0").strip(), 16) & SIGKILL_BIT for k in ("SigPnd", "ShdPnd"))


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


@contextlib.contextmanager
def ready_server(cmd, timeout=20):
    """Starts a test server (net-server.py, relay-server.py) that prints one line, "ready
    {JSON}", once its sockets are bound, and serves until its stdin closes; yields the JSON;
    stops it (bounded) when the block ends."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        line = read_line(p.stdout, timeout)
        if not line.startswith(b"ready "):
            p.kill()
            raise RuntimeError(f"server did not start: {line!r} {p.stderr.read()[-500:]!r}")
        yield json.loads(line[len(b"ready "):])
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()


def run_on_pty(env, args, stdin_tty=True, react=None, timeout=60, ctty=True, pass_fds=()):
    """Runs args (env.popen) with a new pseudo-terminal as its controlling terminal, on its
    stdout (and stdin unless stdin_tty is False); stderr is a pipe. react(master, output so
    far) may write to the master and returns True once it has nothing more to do. Returns
    (rc, output read from the master, stderr, the terminal's modes before and after)."""
    import pty
    import termios

    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)

    def set_ctty():
        fcntl.ioctl(1, termios.TIOCSCTTY, 0)

    p = env.popen(args, stdin=slave if stdin_tty else subprocess.DEVNULL, stdout=slave,
                  stderr=subprocess.PIPE, start_new_session=ctty,
                  preexec_fn=set_ctty if ctty else None, pass_fds=pass_fds)
    out, err = b"", b""
    done = react is None
    err_fd = p.stderr.fileno()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        fds = [master] + ([err_fd] if err_fd is not None else [])
        r, _, _ = select.select(fds, [], [], 0.1)
        if master in r:
            try:
                out += os.read(master, 65536)
            except OSError:  # EIO: the last holder of the slave is gone (we hold one)
                pass
        if err_fd is not None and err_fd in r:
            chunk = os.read(err_fd, 65536)
            err += chunk
            if not chunk:
                err_fd = None
        if not done:
            done = react(master, out)
        if not r and p.poll() is not None:
            break
    if p.poll() is None:
        p.kill()
    p.wait()
    after = termios.tcgetattr(slave)
    os.close(slave)
    os.close(master)
    err += p.stderr.read()
    p.stderr.close()
    return p.returncode, out, err, before, after


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
