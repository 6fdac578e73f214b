# SPDX-License-Identifier: MIT
"""OCI runtime configurations as the container engines generate them, for the container tests.

`runc spec` gives the runtime's default configuration; profile() adjusts it the way podman
(and Docker, and a Kubernetes pod) would: the default capability set, the seccomp profile that
Debian's containers-common ships (/usr/share/containers/seccomp.json) converted into the OCI
form as podman converts it, the masked and read-only /proc paths, a user namespace where the
profile asks for one. Resource limits are dropped: the machine the tests run on is itself a
container without CAP_SYS_RESOURCE, where the runtime's setrlimit() may fail.
"""

import copy
import json
import os
import platform
import subprocess

# podman's and Docker's default capability set (containers/common pkg/config, moby oci/caps).
DEFAULT_CAPS = [
    "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
    "CAP_SETUID", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SYS_CHROOT",
    "CAP_MKNOD", "CAP_AUDIT_WRITE", "CAP_SETFCAP",
]

# podman's defaults (containers/common pkg/config/default.go): masked, and read-only.
PODMAN_MASKED = [
    "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/sched_debug",
    "/proc/scsi", "/proc/timer_list", "/proc/timer_stats", "/sys/dev/block",
    "/sys/devices/virtual/powercap", "/sys/firmware", "/sys/fs/selinux",
]
PODMAN_READONLY = [
    "/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
]

CONTAINERS_SECCOMP = "/usr/share/containers/seccomp.json"

# Docker's default profile refuses these without CAP_SYS_ADMIN, and clone() with namespace
# flags (moby profiles/seccomp/default.json); clone3 gets ENOSYS so that libc falls back.
DOCKER_SYS_ADMIN_ONLY = {
    "unshare", "setns", "mount", "umount", "umount2", "pivot_root", "open_tree", "move_mount",
    "mount_setattr", "fsopen", "fsconfig", "fsmount", "fspick", "clone", "clone3",
}
CLONE_NAMESPACE_FLAGS = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET

_ARCH = {"x86_64": ("amd64", "SCMP_ARCH_X86_64"), "aarch64": ("arm64", "SCMP_ARCH_AARCH64")}


def _kernel_at_least(want):
    have = [int(x) for x in platform.release().split("-")[0].split(".")[:2]]
    need = [int(x) for x in want.split(".")[:2]]
    return have >= need


def _applies(rule, caps, arch):
    inc, exc = rule.get("includes") or {}, rule.get("excludes") or {}
    if inc.get("caps") and not set(inc["caps"]) <= caps:
        return False
    if inc.get("arches") and arch not in inc["arches"]:
        return False
    if inc.get("minKernel") and not _kernel_at_least(inc["minKernel"]):
        return False
    if exc.get("caps") and set(exc["caps"]) & caps:
        return False
    if exc.get("arches") and arch in exc["arches"]:
        return False
    return True


def seccomp_from_containers_common(caps, path=CONTAINERS_SECCOMP):
    """The OCI linux.seccomp podman makes of containers-common's profile for a container with
    these capabilities (bounding set): conditional rules resolved, architectures expanded.
    A syscall named by two argument-less rules keeps the first (libseccomp refuses two
    actions for the same unconditional rule)."""
    with open(path) as f:
        prof = json.load(f)
    arch, scmp_arch = _ARCH.get(platform.machine(), (platform.machine(), None))
    archs = []
    for m in prof.get("archMap") or []:
        if m["architecture"] == scmp_arch:
            archs = [m["architecture"]] + list(m.get("subArchitectures") or [])
    out = {"defaultAction": prof["defaultAction"], "architectures": archs, "syscalls": []}
    if "defaultErrnoRet" in prof:
        out["defaultErrnoRet"] = prof["defaultErrnoRet"]
    plain = set()
    for rule in prof["syscalls"]:
        if not _applies(rule, set(caps), arch):
            continue
        names = list(rule["names"])
        if not rule.get("args"):
            names = [n for n in names if n not in plain]
            plain.update(names)
        if not names:
            continue
        r = {"names": names, "action": rule["action"]}
        if rule.get("args"):
            r["args"] = rule["args"]
        if rule.get("errnoRet") is not None:
            r["errnoRet"] = rule["errnoRet"]
        out["syscalls"].append(r)
    return out


def docker_like(seccomp, caps):
    """podman's profile made to refuse namespaces the way Docker's default does without
    CAP_SYS_ADMIN: the mount and namespace calls refused (EPERM, the default), clone allowed
    only without namespace flags, clone3 answered with ENOSYS."""
    s = copy.deepcopy(seccomp)
    s["defaultErrnoRet"] = 1
    if "CAP_SYS_ADMIN" in caps:
        return s
    for r in s["syscalls"]:
        r["names"] = [n for n in r["names"] if n not in DOCKER_SYS_ADMIN_ONLY]
    s["syscalls"] = [r for r in s["syscalls"] if r["names"]]
    s["syscalls"].append({"names": ["clone"], "action": "SCMP_ACT_ALLOW", "args": [
        {"index": 0, "value": CLONE_NAMESPACE_FLAGS, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]})
    s["syscalls"].append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38})
    return s


def runtime_spec(runtime):
    """`<runtime> spec`, read back."""
    d = subprocess.run(["mktemp", "-d"], capture_output=True, text=True, check=True).stdout.strip()
    try:
        subprocess.run([runtime, "spec"], cwd=d, check=True, capture_output=True)
        with open(os.path.join(d, "config.json")) as f:
            return json.load(f)
    finally:
        subprocess.run(["rm", "-rf", d], check=False)


def profile(base, *, rootfs, args, env, uid=0, gid=0, masked=True, seccomp="podman",
            extra_caps=(), userns_base=None, binds=(), tun=True, cgroups_path=None,
            hostname="skillbox-ci"):
    """A configuration derived from `runc spec` (base) as an engine would generate it.

    seccomp: "podman" (containers-common's profile), "docker" (namespace flags refused),
    or None. masked: podman's masked and read-only paths (False: as with podman
    --security-opt unmask=ALL, Docker systempaths=unconfined, Kubernetes procMount Unmasked).
    userns_base: a user namespace mapping 0-65535 to this host range (podman --userns=auto,
    Kubernetes hostUsers: false). binds: (host, container, read_only) bind mounts."""
    c = copy.deepcopy(base)
    caps = DEFAULT_CAPS + list(extra_caps)
    c["root"] = {"path": rootfs, "readonly": False}
    c["hostname"] = hostname
    p = c["process"]
    p["terminal"] = False
    p["user"] = {"uid": uid, "gid": gid, "additionalGids": [gid]}
    p["args"] = list(args)
    p["env"] = list(env)
    p["cwd"] = "/"
    p.pop("rlimits", None)
    p["noNewPrivileges"] = False  # podman's and Docker's default
    # Root gets the set in every set but ambient; another user only in bounding (podman).
    p["capabilities"] = {
        "bounding": caps,
        "effective": caps if uid == 0 else [],
        "permitted": caps if uid == 0 else [],
        "inheritable": [],
        "ambient": [],
    }
    lx = c["linux"]
    lx["maskedPaths"] = list(PODMAN_MASKED) if masked else []
    lx["readonlyPaths"] = list(PODMAN_READONLY) if masked else []
    if seccomp:
        s = seccomp_from_containers_common(caps)
        lx["seccomp"] = docker_like(s, caps) if seccomp == "docker" else s
    else:
        lx.pop("seccomp", None)
    if cgroups_path:
        lx["cgroupsPath"] = cgroups_path
    lx.setdefault("resources", {})
    lx["resources"]["devices"] = [{"allow": False, "access": "rwm"}]
    if tun:
        # podman --device /dev/net/tun (the user-mode network stack needs it).
        lx.setdefault("devices", []).append({
            "path": "/dev/net/tun", "type": "c", "major": 10, "minor": 200,
            "fileMode": 0o666, "uid": 0, "gid": 0})
        lx["resources"]["devices"].append(
            {"allow": True, "type": "c", "major": 10, "minor": 200, "access": "rwm"})
    ns = [n for n in lx.get("namespaces", []) if n["type"] != "user"]
    if userns_base is not None:
        ns.append({"type": "user"})
        lx["uidMappings"] = [{"containerID": 0, "hostID": userns_base, "size": 65536}]
        lx["gidMappings"] = [{"containerID": 0, "hostID": userns_base, "size": 65536}]
        # A user namespace cannot mount a new sysfs for a network namespace it does not
        # own, nor the cgroup hierarchy: bind the host's read-only, as engines do.
        c["mounts"] = [m for m in c["mounts"] if m["destination"] not in ("/sys",
                                                                           "/sys/fs/cgroup")]
        c["mounts"].append({"destination": "/sys", "type": "bind", "source": "/sys",
                            "options": ["rbind", "nosuid", "noexec", "nodev", "ro"]})
    lx["namespaces"] = ns
    for host, inside, ro in binds:
        c["mounts"].append({"destination": inside, "type": "bind", "source": host,
                            "options": ["rbind", "nosuid", "nodev"] + (["ro"] if ro else [])})
    return c
