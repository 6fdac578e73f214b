#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The examples, run as a user would, once as root and once as an unprivileged user.

- examples/demo itself, end to end: exit 0, every fake secret leaked without the sandbox and
  none under skillbox.
- The credential stealer (examples/weather-stealer) in the demo's scenario, built from the
  demo's own pieces: a victim with FAKE secrets, the attacker's catcher on 127.0.0.1, the
  fake weather API. Without a sandbox the catcher gets every secret (so this test can see a
  leak). Under skillbox: the catcher gets zero bytes (every fake secret is looked for in
  everything it received, with DNS labels and datagrams reassembled); no file changes in the
  victim's home, the project or the skill's checkout (.git/hooks included); nothing new in
  the host's /tmp or /dev/shm; the only connection allowed is the weather API's; and the
  audit trail names every route the stealer reports having tried (its `stealer-route`
  lines on stderr), by destination and kind.
- weather: prints the fake API's answer; with a wrong key the API refuses it.
- log-reader: counts the errors; its write next to the logs fails with EROFS.
- ci-build: builds and passes its tests; only the build directory changes.
- skillbox check accepts every example manifest; explain describes each; ./quickstart installs
  the same packages as .ci/run.

/dev/net/tun is mode 0600 on some machines; the user-mode stack runs unprivileged and needs
it usable, as distributions ship it (0666). The test sets that for its duration, shared with
any other suite running (harness.tun_for_all()), and the last to finish restores it.

On a busy host: the fake weather API listens on a port it picked itself (the manifests' copies
name it); as root, the demo runs in a private copy of the host's /tmp, /dev/shm and network
(its own loopback, so its fixed port 18765 is always free), and the stealer's runs in a
private /tmp and /dev/shm, so "nothing new in /tmp" means exactly the run's files, and the
stealer's stash (/tmp/.wx-<uid>, a name every suite running as that uid shares) never
reaches the host. An unprivileged suite cannot make those copies and compares the host's
/tmp instead, which other programs change too.
"""

import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SRC = h.source_root()
EXAMPLES = os.path.join(SRC, "examples")
DEMO = os.path.join(EXAMPLES, "demo")


def load_demo():
    loader = importlib.machinery.SourceFileLoader("skillbox_demo", DEMO)
    spec = importlib.util.spec_from_loader("skillbox_demo", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


demo = load_demo()
KEY = demo.FAKE["WEATHER_KEY (env)"]
MANIFESTS = ["weather", "weather-stealer", "log-reader", "ci-build"]
# Every route the stealer has; a run that skips one is a broken payload, not a safe sandbox.
NET_ROUTES = {"dns-lookup", "http-name", "http-loopback", "https-ip", "http-ip", "ipv6", "udp",
              "dns-exfil"}
FILE_ROUTES = {"harvest", "stash", "git-hook", "rc-file"}


def port_free(port):
    for fam, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        s = socket.socket(fam, socket.SOCK_STREAM)
        # As the fake API binds: a finished run's connections in TIME_WAIT do not count.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if fam == socket.AF_INET or e.errno == 98:  # no ::1 at all is fine
                return False
        finally:
            s.close()
    return True


def chown_tree(path, uid, gid):
    os.chown(path, uid, gid, follow_symlinks=False)
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            os.chown(os.path.join(root, n), uid, gid, follow_symlinks=False)


# A root caller's sandbox user is a per-run uid from this range (SKILLBOX_UID_RANGE unset).
PER_RUN_FIRST, PER_RUN_LAST = 1879048192, 1879113727


def is_sandbox_host_uid(uid, ident):
    return PER_RUN_FIRST <= uid <= PER_RUN_LAST if ident.is_root else uid == ident.uid


def copy_example(env, name, port):
    """A private copy of an example, owned by the identity; the weather API's port (the one
    the test's fake API got) patched in."""
    d = os.path.join(env.work, name)
    shutil.copytree(os.path.join(EXAMPLES, name), d,
                    ignore=shutil.ignore_patterns("__pycache__", "c2.json"))
    if port != demo.API_PORT:
        patch_port(d, port)
    chown_tree(d, env.ident.uid, env.ident.gid)
    return d


def patch_port(skill_dir, port):
    p = os.path.join(skill_dir, "skillbox.yaml")
    with open(p) as f:
        text = f.read()
    with open(p, "w") as f:
        f.write(text.replace(str(demo.API_PORT), str(port)))


def tmp_listing():
    return demo.listing("/tmp", "/dev/shm")


def owned_by(path, uid):
    try:
        return os.lstat(path).st_uid == uid
    except OSError:
        return False


def suspicious(path, ident):
    """Could this new entry in /tmp or /dev/shm be the run's? Whatever the sandbox creates on
    the host belongs to the host uid it maps to, or is named by the stealer (.wx-), skillbox
    or pasta. Other test runs on the machine create files too (as root: gcc temporaries,
    harness directories); those are reported, not failed on."""
    name = os.path.basename(path)
    try:
        owner = os.lstat(path).st_uid
    except OSError:
        return False  # gone again: it did not survive
    if (is_sandbox_host_uid(owner, ident) or owner == ident.uid) and owner != 0:
        return True
    if ".wx-" in name or "pasta" in name:
        return True
    return "skillbox" in name and not name.startswith(("skillbox-it-", "skillbox-netns-",
                                                       "skillbox-host-"))


# --- static checks ---------------------------------------------------------------------------


def check_static(env, tag):
    for name in MANIFESTS:
        rc, out, err = env.run([env.bin, "check", os.path.join(EXAMPLES, name)])
        h.ok(rc == 0, f"{tag}: skillbox check accepts examples/{name}",
             out.decode() + err.decode())
        rc, out, err = env.run([env.bin, "explain", os.path.join(EXAMPLES, name)])
        text = out.decode()
        h.ok(rc == 0 and "filesystem" in text and "network" in text,
             f"{tag}: skillbox explain describes examples/{name}", text + err.decode())


def check_quickstart():
    with open(os.path.join(SRC, ".ci", "run")) as f:
        ci = f.read()
    m = re.search(r"apt-get install -y --no-install-recommends \\\n((?:.*\\\n)*.*\n)", ci)
    ci_pkgs = sorted(m.group(1).replace("\\", " ").split()) if m else None
    with open(os.path.join(SRC, "quickstart")) as f:
        qs = f.read()
    m = re.search(r"^packages=\(\n(.*?)^\)", qs, re.S | re.M)
    qs_pkgs = sorted(m.group(1).split()) if m else None
    h.ok(ci_pkgs and ci_pkgs == qs_pkgs, "./quickstart installs the same packages as .ci/run",
         f"ci: {ci_pkgs}\nquickstart: {qs_pkgs}")
    p = subprocess.run(["bash", "-n", os.path.join(SRC, "quickstart")], capture_output=True,
                       timeout=30)
    h.ok(p.returncode == 0 and os.access(os.path.join(SRC, "quickstart"), os.X_OK),
         "./quickstart is an executable bash script that parses", p.stderr)


# --- examples/demo, end to end ----------------------------------------------------------------


def check_demo_command(env, tag):
    wrap, report = h.private_host_wrap(net=True)
    argv = list(wrap) + env.argv([DEMO])
    if not wrap and not port_free(demo.API_PORT):
        # Only root can give the demo a loopback of its own, where 18765 is always free.
        h.skip(f"{tag}: examples/demo end to end", f"port {demo.API_PORT} is taken")
        return
    tmp_before = tmp_listing()
    e = env.base_env()
    e["SKILLBOX"] = env.bin
    try:
        p = subprocess.run(argv, env=e, cwd=env.work, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=120)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as t:
        rc, out, err = None, t.stdout or b"", t.stderr or b""
    changes = h.read_private_host_report(report) if report else None
    text = out.decode(errors="replace")
    h.ok(rc == 0, f"{tag}: examples/demo exits 0", text[-3000:] + err.decode()[-2000:])
    rows = [l for l in text.splitlines()
            if any(l.startswith(f"  {label}  ") for label in demo.FAKE)]
    h.ok(len(rows) == len(demo.FAKE) and all("LEAKED" in r and r.rstrip().endswith(
        "not received") for r in rows),
         f"{tag}: the demo shows each fake secret leaked without a sandbox, not received "
         "under skillbox", "\n".join(rows) or text[-3000:])
    m = re.search(r"The audit trail names (\d+) of the (\d+) things", text)
    h.ok(m and m.group(1) == m.group(2) and int(m.group(2)) > 30,
         f"{tag}: the demo finds every attempt in the audit trail",
         m.group(0) if m else text[-2000:])
    h.ok("skillbox audit summary:" in text and "chain: intact" in text,
         f"{tag}: the demo ends with skillbox audit summary", text[-2000:])
    if changes is not None:
        left = changes["left"]
    else:
        # Only what this demo run could have left: its uid's stash names and temporary
        # directory (a root suite's demo, say, stashes /tmp/.wx-0 meanwhile).
        uid = env.ident.uid
        left = [p for p in tmp_listing() - tmp_before
                if os.path.basename(p) in (f".wx-{uid}", f".wx-{uid}.cache")
                or ("skillbox-demo-" in p and owned_by(p, uid))]
    h.ok(not left, f"{tag}: the demo removed its temporary directory and the stashes", left)


# --- the stealer ------------------------------------------------------------------------------


def check_stealer(env, tag, catcher, port):
    ident = env.ident
    owner = (ident.uid, ident.gid)

    def plant():
        v = demo.seed_victim(os.path.join(env.top, "victim"), owner=owner)
        demo.write_c2(v, catcher, owner=owner)
        if port != demo.API_PORT:
            patch_port(v.skill, port)
        catcher.clear()
        return v

    # Without a sandbox: it must leak, or this test could not see a leak.
    victim = plant()
    before = demo.snapshot(victim.home, victim.project)
    wrap, report = h.private_host_wrap()
    plain = demo.run_unsandboxed(victim, prefix=list(wrap) + env.argv([]), api_port=port)
    leaks = catcher.leaks(demo.FAKE)
    if report:
        h.read_private_host_report(report)  # its stash stayed in its private /tmp
    else:
        demo.remove_stashes(plain.routes, ident.uid)
    h.ok(plain.rc == 0 and plain.out.startswith("Paris: 14.2 °C, light rain"),
         f"{tag}: unsandboxed, the stealer prints the weather", plain.out + plain.err)
    h.ok(set(leaks) == set(demo.FAKE),
         f"{tag}: unsandboxed, the catcher receives every fake secret ({len(leaks)} of "
         f"{len(demo.FAKE)})", json.dumps(leaks, indent=1) + plain.err[-2000:])
    h.diag(f"{tag}: unsandboxed leaks by route: "
           f"{sorted(set(r for v in leaks.values() for r in v))}")
    changed = {victim.display(p) for p, _ in demo.changes(before, demo.snapshot(
        victim.home, victim.project))}
    h.ok({"~/.bashrc", "project/.git/hooks/post-checkout",
          "the skill's .git/hooks/post-checkout"} <= changed,
         f"{tag}: unsandboxed, the stealer plants its hooks and rc lines", sorted(changed))

    # Under skillbox, on a freshly planted victim.
    victim = plant()
    watched = (victim.home, victim.project)
    before = demo.snapshot(*watched)
    tmp_before = tmp_listing()
    audit = os.path.join(env.auditdir, "stealer.jsonl")
    wrap, report = h.private_host_wrap()
    boxed = demo.run_sandboxed(env.bin, victim, audit, prefix=list(wrap) + env.argv([]))
    after = demo.snapshot(*watched)
    tmp_new = tmp_listing() - tmp_before
    changes = h.read_private_host_report(report) if report else None
    events = demo.read_audit(audit)
    records = catcher.snapshot()

    h.ok(boxed.rc == 0 and boxed.out == "Paris: 14.2 °C, light rain\n",
         f"{tag}: under skillbox, the stealer still prints the weather",
         f"rc={boxed.rc}\n{boxed.out}\n{boxed.err[-3000:]}")
    tried = {a.get("route") for a in boxed.routes}
    done = [a for a in boxed.routes if a.get("route") == "done"]
    h.ok(done and NET_ROUTES | FILE_ROUTES | {"host-loopback"} <= tried,
         f"{tag}: under skillbox, the stealer ran its whole payload "
         f"({len(boxed.attempts())} attempts)",
         f"missing: {sorted((NET_ROUTES | FILE_ROUTES | {'host-loopback'}) - tried)}\n"
         + boxed.err[-3000:])

    # Nothing reached the attacker.
    h.ok(not records and catcher.total_bytes(records) == 0,
         f"{tag}: under skillbox, the catcher received zero bytes",
         [(r["kind"], r["route"], r["data"][:200]) for r in records])
    found = catcher.leaks(demo.FAKE, records)
    h.ok(not found, f"{tag}: under skillbox, no fake secret reached the catcher by any route",
         found)

    # Nothing changed on the machine.
    diff = demo.changes(before, after)
    h.ok(not diff, f"{tag}: under skillbox, no file changed in the home, the project or the "
         "skill's checkout (.git/hooks included)", diff)
    if changes is not None:
        ours = set(changes["left"])
        h.ok(not changes["mounts_added"] and not changes["mounts_removed"],
             f"{tag}: under skillbox, the mount table the run started in is unchanged",
             changes["mounts_added"] + changes["mounts_removed"])
    else:
        ours = {p for p in tmp_new if suspicious(p, ident)}
        if tmp_new - ours:
            h.diag(f"{tag}: ignored in /tmp, /dev/shm (other programs): "
                   f"{sorted(tmp_new - ours)}")
    h.ok(not ours, f"{tag}: under skillbox, nothing new survives in the host's /tmp or /dev/shm",
         sorted(ours))
    allowed = [e for e in events if e.get("event") == "net.connect"
               and e.get("verdict") == "allow"]
    h.ok(allowed and all(e.get("port") == port and e.get("host") == "host-loopback"
                         for e in allowed),
         f"{tag}: the only connections allowed are to the weather API (host-loopback:{port})",
         allowed)

    check_audit(env, tag, boxed, events, audit)


def check_audit(env, tag, boxed, events, audit):
    attempts = boxed.attempts()

    def uncovered(sel):
        miss = [a for a in attempts if sel(a) and not demo.audit_covers(a, events)]
        return miss, len([a for a in attempts if sel(a)])

    def net(a):
        return a.get("kind") in ("tcp", "udp") and a.get("address") and not (
            demo.is_loopback(a["address"]))

    def loop(a):
        return a.get("kind") in ("tcp", "udp", "dns") and a.get("address") and (
            demo.is_loopback(a["address"]))

    def dns53(a):
        return a.get("kind") == "dns" and a.get("port") == 53

    def dns_other(a):
        return a.get("kind") == "dns" and a.get("port") != 53 and not loop(a)

    groups = [
        ("net.connect deny (address, port, proto) for raw IPs, IPv6, UDP and the host's "
         "loopback ports", net),
        ("dns.query with the very name for each DNS query to port 53", dns53),
        ("net.connect deny for DNS to the catcher's port on the host's loopback", dns_other),
        ("net.connect from the trace for each attempt on the sandbox's own 127.0.0.1/::1", loop),
        ("dns.query for the C library's lookups", lambda a: a.get("kind") == "resolve"),
        ("the lookups for the HTTP POST whose name did not resolve",
         lambda a: a.get("outcome") == "unresolved"),
        ("file.open/file.change for the git hook, rc file and stash writes",
         lambda a: a.get("kind") == "write"),
        ("file.open for every credential file read", lambda a: a.get("kind") == "read"),
    ]
    noroute = [a for a in attempts if net(a) and a.get("outcome") == "ENETUNREACH"]
    if noroute:
        h.diag(f"{tag}: {len(noroute)} attempts had no route in the sandbox (no IPv6 on this "
               "host?): the kernel refused them before the ruleset, so only the trace names "
               "them: " + ", ".join(f"{a['address']}:{a['port']}" for a in noroute))
    for title, sel in groups:
        miss, n = uncovered(sel)
        h.ok(n and not miss, f"{tag}: the audit trail has {title} ({n - len(miss)} of {n})",
             "\n".join(json.dumps(a) for a in miss))

    # The details the brief cares about, named.
    exfil = [a for a in attempts if a.get("route") == "dns-exfil" and a.get("port") == 53]
    q = [e for a in exfil for e in demo.audit_covers(a, events)]
    h.ok(q and all(e.get("verdict") == "deny" and e["name"].endswith(".x.weather-metrics.test")
                   and (len(e["name"]) > 100 or "[redacted:" in e["name"]) for e in q),
         f"{tag}: dns.query deny records the data-carrying names of the DNS exfiltration",
         q)
    # The stealer sends the API key base32-encoded over labels: the names that carry it say
    # so, and no encoding of it is anywhere in the trail.
    red = [e for e in q if "[redacted:WEATHER_API_KEY" in e["name"]]
    h.ok(red and all(e.get("redacted") == ["WEATHER_API_KEY"] for e in red),
         f"{tag}: the DNS names carrying the API key are redacted and say so "
         f"({len(red)} of {len(q)})", q)
    hooks = [a for a in attempts if a.get("route") == "git-hook"]
    ev = [e for a in hooks for e in demo.audit_covers(a, events)]
    h.ok(hooks and all(a.get("outcome") == "EROFS" for a in hooks)
         and ev and all(e.get("declared") is False for e in ev),
         f"{tag}: the git hook write fails with EROFS and is audited as undeclared", ev)
    for route, where in (("rc-file", "/home/skill/"), ("stash", ("/tmp/", "/dev/shm/"))):
        ws = [a for a in attempts if a.get("route") == route]
        h.ok(ws and all(a["path"].startswith(where) and a.get("outcome") == "ok" for a in ws),
             f"{tag}: the {route} writes land in the sandbox's private tmpfs", ws)
    reads = [a for a in attempts if a.get("kind") == "read" and a.get("outcome") != "ok"]
    creds = [a for a in reads if "/.ssh/" in a["path"] or "/.aws/" in a["path"]
             or "/.config/gcloud/" in a["path"] or a["path"].endswith(("/.netrc", "history"))]
    h.ok(creds and all(a.get("outcome") == "ENOENT" for a in creds),
         f"{tag}: every credential file is absent from the sandbox (ENOENT)", creds)
    opened = [e for a in creds for e in demo.audit_covers(a, events)]
    # A read in the sandbox's default HOME tmpfs is within the default view ("by": "default");
    # anything else the skill reaches for must be marked undeclared.
    h.ok(opened and all(e.get("declared") is False or e.get("by") == "default" for e in opened),
         f"{tag}: each credential read is a file.open that is undeclared or in the default "
         "HOME tmpfs", opened)
    undeclared = [e for e in events if e.get("event") == "file.open"
                  and e.get("path") == "/.env"]
    h.ok(undeclared and undeclared[0].get("declared") is False,
         f"{tag}: the .env search outside the view is a file.open declared=false", undeclared)
    summ = next((e for e in events if e.get("event") == "run.summary"), {})
    denied = {(e.get("address"), e.get("port"), e.get("proto")) for e in events
              if e.get("event") == "net.connect" and e.get("verdict") == "deny"}
    routed = {(a["address"], a["port"], a["proto"]) for a in attempts
              if a.get("kind") in ("tcp", "udp", "dns") and a.get("address")
              and not demo.is_loopback(a["address"]) and a.get("outcome") != "ENETUNREACH"}
    h.ok(routed and routed <= denied
         and (summ.get("refusals") or {}).get("net", 0) >= len(denied),
         f"{tag}: every refused destination is a net.connect deny, and run.summary counts them "
         f"({len(denied)} distinct)", f"missing: {sorted(routed - denied)}\n{summ}")
    rc, out, err = env.run([env.bin, "audit", "verify", audit])
    h.ok(rc == 0, f"{tag}: the stealer's audit trail verifies", out + err)
    rc, out, err = env.run([env.bin, "audit", "summary", audit])
    text = out.decode()
    h.ok(rc == 0 and "203.0.113.7:443" in text and "weather-metrics.test" in text
         and "/skill/.git/hooks/post-checkout" in text,
         f"{tag}: audit summary names the raw IP, the DNS exfiltration and the git hook",
         text[-4000:])


# --- the benign examples ----------------------------------------------------------------------


def check_weather(env, tag, port):
    d = copy_example(env, "weather", port)
    r = env.skillbox(["run", d, "--", "Paris"], env={"WEATHER_KEY": KEY})
    h.ok(r.rc == 0 and r.out == "Paris: 14.2 °C, light rain\n",
         f"{tag}: weather prints the fake API's answer", r.describe())
    allow = [e for e in r.of("net.connect") if e.get("verdict") == "allow"]
    h.ok(allow and allow[0].get("host") == "host-loopback" and allow[0].get("port") == port,
         f"{tag}: weather's one connection is to host-loopback:{port}, allowed and audited",
         r.of("net.connect"))
    pol = r.first("policy.env") or {}
    h.ok(pol.get("secrets") == ["WEATHER_API_KEY"] and KEY not in "\n".join(r.audit_lines),
         f"{tag}: the API key is passed as a secret and never written to the audit trail", pol)
    r = env.skillbox(["run", d, "--", "New", "York"], env={"WEATHER_KEY": "FAKE-wrong-key"})
    h.ok(r.rc == 1 and "401" in r.err, f"{tag}: with a wrong key the fake API refuses (401)",
         r.describe())


def check_log_reader(env, tag):
    d = copy_example(env, "log-reader", demo.API_PORT)
    logs = os.path.join(d, "sample-logs")
    before = demo.snapshot(d)
    r = env.skillbox(["run", d])
    h.ok(r.rc == 0 and "app.log: 3 errors\n" in r.out and "worker/worker.log: 1 error\n" in r.out
         and "total: 4 errors in 3 files (16 lines)" in r.out,
         f"{tag}: log-reader counts the errors", r.describe())
    h.ok("writing /logs/error-summary.txt: refused: EROFS" in r.out
         and not os.path.exists(os.path.join(logs, "error-summary.txt")),
         f"{tag}: log-reader's write next to the logs fails with EROFS", r.describe())
    h.ok(not demo.changes(before, demo.snapshot(d)), f"{tag}: log-reader changed nothing")
    h.ok((r.first("run.start") or {}).get("network_stack_requested") == "none",
         f"{tag}: log-reader has no network", r.first("run.start"))


def check_ci_build(env, tag):
    d = copy_example(env, "ci-build", demo.API_PORT)
    # The build directory stays the caller's (root's, for root: idmapped in the sandbox).
    build = os.path.join(d, "build")
    src_before = demo.snapshot(os.path.join(d, "src"))
    r = env.skillbox(["run", d], timeout=120)
    h.ok(r.rc == 0 and "# all 23 tests passed" in r.out and "example: ./roman 2026 -> MMXXVI"
         in r.out, f"{tag}: ci-build builds and its tests pass", r.describe())
    built = sorted(os.listdir(build))
    h.ok(built == [".gitignore", "roman", "roman.o", "test-roman"],
         f"{tag}: the build output is in the build directory", built)
    owners = {n: os.lstat(os.path.join(build, n)).st_uid for n in built}
    h.ok(all(u == env.ident.uid for u in owners.values()),
         f"{tag}: the build output belongs to the caller (uid {env.ident.uid})", owners)
    h.ok(not demo.changes(src_before, demo.snapshot(os.path.join(d, "src"))),
         f"{tag}: the sources are unchanged")
    h.ok((r.first("run.start") or {}).get("network_stack_requested") == "none",
         f"{tag}: ci-build has no network", r.first("run.start"))


# --- main -------------------------------------------------------------------------------------


def main():
    root = os.geteuid() == 0
    check_quickstart()
    idents = h.identities()
    for ident in idents:
        with h.Env(ident) as env:
            check_static(env, ident.name)
            check_log_reader(env, ident.name)
            check_ci_build(env, ident.name)

    have_stack = shutil.which("pasta", path="/usr/bin:/bin") or shutil.which(
        "slirp4netns", path="/usr/bin:/bin")
    if not have_stack:
        h.skip("weather, weather-stealer and the demo", "neither pasta nor slirp4netns")
        h.done()
    with h.tun_for_all() as usable:
        if not usable:
            h.skip("weather, weather-stealer and the demo",
                   "/dev/net/tun is not usable by this user (needs mode 0666)")
            h.done()
        for ident in idents:
            with h.Env(ident) as env:
                check_demo_command(env, ident.name)

        # The fake API on a port it picked (18765, the manifests' port, may be anyone's).
        api = demo.fake_api.serve(0, KEY)
        port = api[0].server_address[1]
        catcher = demo.catcher_mod.Catcher().start()
        try:
            for ident in idents:
                with h.Env(ident) as env:
                    check_weather(env, ident.name, port)
                    try:
                        check_stealer(env, ident.name, catcher, port)
                    finally:
                        if not root:
                            demo.remove_stashes(uid=ident.uid)
        finally:
            catcher.stop()
            for s in api:
                s.shutdown()
                s.server_close()
    h.done()


if __name__ == "__main__":
    main()
