# SPDX-License-Identifier: MIT
"""A Debian root filesystem for the container tests, built with mmdebstrap from the Debian
mirror and cached between runs under SKILLBOX_CI_CACHE (default /var/cache/skillbox-ci),
keyed by suite, architecture and package list. Concurrent test runs share the cache: one
builds while the others wait on a lock; a build lands under its final name only when done."""

import fcntl
import hashlib
import os
import shutil
import subprocess
import tempfile

SUITE = "bookworm"
MIRROR = os.environ.get("SKILLBOX_CI_MIRROR", "http://deb.debian.org/debian")
# What skillbox needs at run time (libmnl; the rest of its libraries are linked statically),
# the user-mode network stacks, the sanitizer runtimes for an ASan/UBSan build, and python3
# for the tests' own servers and skills.
PACKAGES = ["libmnl0", "passt", "slirp4netns", "python3", "libasan8", "libubsan1",
            "util-linux", "procps"]
BUILD_TIMEOUT = 1800


def cache_dir():
    return os.environ.get("SKILLBOX_CI_CACHE", "/var/cache/skillbox-ci")


def key():
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()
    text = "\n".join([SUITE, arch, "minbase", MIRROR] + sorted(PACKAGES))
    return f"rootfs-{SUITE}-{arch}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def ensure(log):
    """Returns the path of the cached root filesystem (a directory), building it if needed.
    log(str) receives progress lines."""
    top = cache_dir()
    os.makedirs(top, mode=0o755, exist_ok=True)
    final = os.path.join(top, key())
    done = os.path.join(final, ".skillbox-ci-complete")
    if os.path.exists(done):
        return final
    with open(os.path.join(top, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(done):
            return final
        log(f"building {final} with mmdebstrap ({SUITE}, {len(PACKAGES)} packages) from "
            f"{MIRROR}; later runs reuse it")
        tmp = tempfile.mkdtemp(prefix=".building-", dir=top)
        tarball = os.path.join(tmp, "rootfs.tar")
        try:
            r = subprocess.run(
                ["mmdebstrap", "--variant=minbase", "--include=" + ",".join(PACKAGES),
                 SUITE, tarball, MIRROR],
                capture_output=True, text=True, timeout=BUILD_TIMEOUT)
            if r.returncode != 0:
                raise RuntimeError("mmdebstrap failed:\n" + r.stderr[-3000:])
            root = os.path.join(tmp, "root")
            os.makedirs(root)
            subprocess.run(["tar", "-C", root, "--numeric-owner", "-xpf", tarball],
                           check=True)
            os.unlink(tarball)
            with open(os.path.join(root, ".skillbox-ci-complete"), "w") as f:
                f.write(key() + "\n")
            if os.path.exists(final):
                shutil.rmtree(final)
            os.rename(root, final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final
