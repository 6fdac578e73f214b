# SPDX-License-Identifier: MIT
"""Runs a command in a private copy of the host's mount table, /tmp and /dev/shm, then says
what it changed there.

  private-host.py --report FILE [--keep DIR]... [--net] -- COMMAND...

Needs root. In a private mount namespace (a new peer group of shared mounts: mounts made by
COMMAND's own namespaces propagate back to it if they are not private, as they would to the
host, and nothing of the host's propagates in), /tmp and /dev/shm become fresh tmpfs; each
--keep directory (the test's own files, under /tmp) is bound back at its path. With --net
COMMAND also gets a network namespace of its own with loopback up (its own ports). COMMAND
runs as a child; when it has exited, FILE gets

  {"left": [...], "mounts_added": [...], "mounts_removed": [...]}

"left" is every entry of the private /tmp and /dev/shm that is neither a --keep directory nor
on the way to one, as "PATH (uid N, KIND)"; the mounts are the lines of mountinfo that appeared
or went away while COMMAND ran. That is exactly what COMMAND changed there, whatever else runs
on the machine: the host's /tmp and mount table are shared with every user and suite, so
comparing them before and after cannot tell. The exit status is COMMAND's (a signal is raised
again).

Used by the integration tests for "the host is left as it was" (harness.py, private_host_wrap()).
"""

import ctypes
import json
import os
import signal
import stat
import subprocess
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWNET = 0x40000000
MS_NOSUID = 2
MS_NODEV = 4
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SHARED = 1 << 20
PR_SET_PDEATHSIG = 1

libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_char_p]


def check(r, what):
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def mount(src, target, fstype, flags, data=None):
    check(libc.mount(src.encode() if src else None, target.encode(),
                     fstype.encode() if fstype else None, flags,
                     data.encode() if data else None), f"mount {target}")


def usage():
    print(__doc__, file=sys.stderr)
    sys.exit(2)


def parse(argv):
    report, keep, net = None, [], False
    i = 0
    while i < len(argv) and argv[i] != "--":
        if argv[i] == "--report" and i + 1 < len(argv):
            report = argv[i + 1]
            i += 2
        elif argv[i] == "--keep" and i + 1 < len(argv):
            keep.append(os.path.realpath(argv[i + 1]))
            i += 2
        elif argv[i] == "--net":
            net = True
            i += 1
        else:
            usage()
    if report is None or i + 1 >= len(argv):
        usage()
    return report, keep, net, argv[i + 1:]


def under(path, top):
    return path == top or path.startswith(top.rstrip("/") + "/")


def leftovers(tops, keep):
    """Entries below tops other than the keep directories and the directories leading to
    them."""
    ways = set()
    for k in keep:
        p = k
        while p not in ("/", ""):
            ways.add(p)
            p = os.path.dirname(p)
    left = []

    def walk(d):
        try:
            names = sorted(os.listdir(d))
        except OSError:
            return
        for n in names:
            p = os.path.join(d, n)
            if p in keep:
                continue
            try:
                st = os.lstat(p)
            except OSError:
                continue
            if p in ways and stat.S_ISDIR(st.st_mode):
                walk(p)
                continue
            kind = ("dir" if stat.S_ISDIR(st.st_mode) else "link" if stat.S_ISLNK(st.st_mode)
                    else "file" if stat.S_ISREG(st.st_mode) else "other")
            left.append(f"{p} (uid {st.st_uid}, {kind})")

    for t in tops:
        walk(t)
    return left


def mountinfo():
    with open("/proc/self/mountinfo") as f:
        return f.read().splitlines()


def unlinked_elsewhere(line):
    """A network namespace pinned under /run/netns by `ip netns` (another test, another
    program): `ip netns del` unlinks the file, and the kernel then detaches the mounts on it in
    every mount namespace, this private copy included. skillbox never mounts there, so such a
    removal is someone else's doing, not the command's."""
    fields = line.split()
    try:
        fstype = fields[fields.index("-") + 1]
    except (ValueError, IndexError):
        return False
    return fstype == "nsfs" and fields[4].startswith("/run/netns/")


def main():
    report, keep, net, cmd = parse(sys.argv[1:])
    tops = [d for d in ("/tmp", "/dev/shm") if os.path.isdir(d)]
    keep = [k for k in keep if any(under(k, t) for t in tops)]
    # The report and the kept directories are opened before /tmp is covered (the kept ones
    # in the new namespace: a bind mount's source must be one of its mounts).
    out = os.open(report, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    check(libc.unshare(CLONE_NEWNS | (CLONE_NEWNET if net else 0)), "unshare")
    mount(None, "/", None, MS_REC | MS_PRIVATE)
    mount(None, "/", None, MS_REC | MS_SHARED)
    keep_fds = [os.open(k, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC) for k in keep]
    for t in tops:
        mount("skillbox-test-tmp", t, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for k, fd in zip(keep, keep_fds):
        os.makedirs(k, mode=0o755, exist_ok=True)
        mount(f"/proc/self/fd/{fd}", k, None, MS_BIND | MS_REC)
        os.close(fd)
    if net:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=15)

    def die_with_us():
        # Cleared again when the command changes its uid (setpriv): the tests then kill the
        # whole process group on a timeout.
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)

    mounts_before = mountinfo()
    child = subprocess.Popen(cmd, preexec_fn=die_with_us)

    def forward(signum, frame):
        child.send_signal(signum)

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, forward)
    rc = child.wait()
    mounts_after = mountinfo()
    os.write(out, json.dumps({
        "left": leftovers(tops, keep),
        "mounts_added": [m for m in mounts_after if m not in mounts_before],
        "mounts_removed": [m for m in mounts_before if m not in mounts_after
                           and not unlinked_elsewhere(m)],
    }).encode())
    os.close(out)
    if rc < 0:
        signal.signal(-rc, signal.SIG_DFL)
        os.kill(os.getpid(), -rc)
    sys.exit(rc)


if __name__ == "__main__":
    main()
