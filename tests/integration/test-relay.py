#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""skillbox's TCP relay: names on the wire, and a relayed connection behaving like a direct one.

Names (needs root: a network namespace the test creates, and a private /etc/hosts): a manifest
declares a host name; a TLS ClientHello (python's ssl module, no certificate checks) and an HTTP
request naming it pass, also when the ClientHello is cut into small TLS records sent in small
writes; the same address with another name, or with none, is reset, and net.connect records
the name the client sent. A declared network is checked by address only. QUIC (UDP) to a host
declared for TCP is refused.

Behaviour (host-loopback, so it runs unprivileged too): a half close is passed on (the server
reads to the end, then still answers), a reset by the skill reaches the server as a reset, a
reset by the server reaches the skill, and a destination that refuses resets the skill's
connection. net.close says which, with the bytes each way.

Reserved ranges: a declared 0.0.0.0/0 never relays to link-local (169.254.169.254, and as root
a server on a link-local address of the test's network namespace, reachable when declared by
address): refused at connect, net.connect deny, reason reserved.

Every case runs as root and as an unprivileged user. No user-mode stack is involved, so
/dev/net/tun is left alone.
"""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "relay-client.py")) as f:
    CLIENT = f.read()
SERVER = os.path.join(HERE, "relay-server.py")
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "python3"

MANIFEST = """\
skillbox: 1
name: relay-test
command: [python3, /skill/relay-client.py]
workdir: /skill
filesystem:
  read: [/usr, /bin, /lib, /lib64, /sbin, /etc/alternatives, /etc/ssl, ".:/skill"]
limits:
  timeout: 60s
"""


def server(args, netns=None):
    cmd = [PYTHON, SERVER] + args
    return h.ready_server(["ip", "netns", "exec", netns] + cmd if netns else cmd)


class NetNS(h.VethNS):
    """A network namespace with a veth to the host: 10.233.N.2 and .3, and a link-local
    address, 169.254.233.N, routed to it from the host (a /32 route through the veth, gone
    with it; 169.254.169.254 is never touched)."""

    PREFIX, KIND = "10.233", "rly"

    def setup(self):
        self.link_local = f"169.254.233.{self.n}"  # reserved: no wider network covers it
        self.addr2 = f"10.233.{self.n}.2"
        self.addr3 = f"10.233.{self.n}.3"
        ns = ["-n", self.name]
        self.ip(*ns, "addr", "add", f"{self.addr2}/24", "dev", self.ns_if)
        self.ip(*ns, "addr", "add", f"{self.addr3}/24", "dev", self.ns_if)
        self.ip(*ns, "addr", "add", f"{self.link_local}/32", "dev", self.ns_if)

    def up(self):
        self.ip("route", "add", f"{self.link_local}/32", "dev", self.host_if)


def results_of(res):
    out = []
    for line in res.out.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def run_skill(env, network, actions, hosts=None):
    """Runs relay-client.py with actions; with hosts, in a private mount namespace whose
    /etc/hosts is that text (root sets it up, then becomes the identity)."""
    d = env.skill(MANIFEST + network, name="relay", files={"relay-client.py": CLIENT})
    args = [d, "--"] + [json.dumps(a) for a in actions]
    if not hosts:
        res = env.skillbox(["run"] + args, timeout=120)
        return res, results_of(res)
    fd, path = tempfile.mkstemp(prefix="hosts-", dir=env.top)
    with os.fdopen(fd, "w") as f:
        f.write(hosts)
    os.chmod(path, 0o644)
    fd, audit = tempfile.mkstemp(prefix="audit-", suffix=".jsonl", dir=env.auditdir)
    os.close(fd)
    os.unlink(audit)
    inner = env.argv([env.bin, "run", "--audit", audit] + args)
    cmd = ["unshare", "-m", "--", "sh", "-c", 'mount --bind "$1" /etc/hosts && shift && exec "$@"',
           "sh", path] + inner
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, env=env.base_env(), cwd=env.work, capture_output=True,
                           timeout=120, stdin=subprocess.DEVNULL)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as t:
        rc, out, err = None, t.stdout or b"", t.stderr or b""
    lines = []
    if os.path.exists(audit):
        with open(audit, "rb") as f:
            lines = [l.decode(errors="replace") for l in f.read().splitlines()]
    res = h.Result(rc, out, err, lines, time.monotonic() - t0)
    return res, results_of(res)


def result(results, *action):
    for r in results:
        if r.get("action") == list(action):
            return r
    return {"ok": None, "error": "no result", "action": list(action)}


def connects(res, **want):
    return [e for e in res.of("net.connect") if all(e.get(k) == v for k, v in want.items())]


def closes(res, **want):
    return [e for e in res.of("net.close") if all(e.get(k) == v for k, v in want.items())]


RESET = ("ECONNRESET", "EPIPE", "ConnectionResetError")


# --- cases ----------------------------------------------------------------------------


def case_names(ident, env, ctx):
    ns = ctx["netns"]
    label = f"{ident} names"
    pt, ph = ctx["ns_tls"], ctx["ns_http"]
    hosts = (f"127.0.0.1 localhost\n{ns.addr2} api.relay.test www.relay.test\n"
             f"{ns.addr3} net.relay.test\n")
    net = f"""\
network:
  egress:
    - host: api.relay.test
      ports: [{pt}, {ph}]
    - cidr: {ns.addr3}/32
      ports: [{ph}]
"""
    actions = [
        ["tls", "api.relay.test", pt, "api.relay.test", ""],
        ["tls", ns.addr2, pt, "www.relay.test", ""],
        ["tls", "api.relay.test", pt, "API.Relay.Test", "records"],
        ["tls", ns.addr2, pt, "", ""],
        ["http", "api.relay.test", ph, "api.relay.test", "hello", False],
        ["http", ns.addr2, ph, "www.relay.test", "hello", False],
        ["http", ns.addr3, ph, "www.relay.test", "by address", False],
        ["udp", ns.addr2, 443],
    ]
    res, results = run_skill(env, net, actions, hosts=hosts)
    if not h.ok(res.rc == 0, f"{label}: runs", res.describe()):
        return

    r = result(results, *actions[0])
    h.ok(r.get("ok") and r.get("data") == "tls api.relay.test",
         f"{label}: a TLS handshake naming the declared host passes end to end", r)
    ev = connects(res, verdict="allow", address=ns.addr2, port=pt, name="api.relay.test")
    h.ok(ev and ev[0].get("name_from") == "tls" and ev[0].get("host") == "api.relay.test"
         and ev[0].get("via") == "relay",
         f"{label}: net.connect allow carries the name the client used (tls)", ev)

    r = result(results, *actions[1])
    h.ok(r.get("ok") is False and r.get("error") in RESET,
         f"{label}: the same address with another server name is reset", r)
    ev = connects(res, verdict="deny", address=ns.addr2, port=pt, name="www.relay.test")
    h.ok(ev and ev[0].get("reason") == "name-mismatch" and ev[0].get("name_from") == "tls",
         f"{label}: ... net.connect deny, reason name-mismatch, with the name it sent",
         res.of("net.connect"))

    r = result(results, *actions[2])
    h.ok(r.get("ok") and r.get("data") == "tls API.Relay.Test",
         f"{label}: a ClientHello in 64-byte TLS records, sent 16 bytes a write, passes "
         "(the server gets it unchanged)", r)
    ev = [e for e in connects(res, verdict="allow", port=pt) if e.get("name") == "api.relay.test"]
    rep = [e for e in res.of("audit.repeated") if e.get("repeated_event") == "net.connect"
           and e.get("first_seq") == (ev[0].get("seq") if ev else None)]
    h.ok(len(ev) == 1 and rep and rep[0].get("count") == 1,
         f"{label}: ... recorded with the name compared: api.relay.test (the second connection "
         "a counted repeat of the first)", ev + rep)

    r = result(results, *actions[3])
    ev = [e for e in connects(res, verdict="deny", port=pt) if e.get("name") is None]
    h.ok(r.get("ok") is False and ev and ev[0].get("reason") == "name-mismatch",
         f"{label}: a ClientHello without a server name is reset (name-mismatch, no name)",
         [r, ev])

    r = result(results, *actions[4])
    h.ok(r.get("ok") and r.get("data", "").endswith("host=api.relay.test"),
         f"{label}: an HTTP request naming the declared host passes", r)
    ev = connects(res, verdict="allow", port=ph, name="api.relay.test")
    h.ok(ev and ev[0].get("name_from") == "http", f"{label}: ... its name is recorded (http)", ev)

    r = result(results, *actions[5])
    ev = connects(res, verdict="deny", port=ph, name="www.relay.test")
    h.ok(r.get("ok") is False and r.get("error") in RESET and ev
         and ev[0].get("reason") == "name-mismatch",
         f"{label}: an HTTP request naming another host on the same address is reset", [r, ev])

    r = result(results, *actions[6])
    ev = connects(res, verdict="allow", address=ns.addr3, port=ph)
    h.ok(r.get("ok") and r.get("data", "").endswith("host=www.relay.test") and ev
         and ev[0].get("name") is None,
         f"{label}: a declared network is checked by address only", [r, ev])

    r = result(results, *actions[7])
    ev = [e for e in res.of("net.connect") if e.get("proto") == "udp" and e.get("port") == 443]
    h.ok(r.get("ok") is False and ev and ev[0].get("verdict") == "deny",
         f"{label}: QUIC (UDP 443) to a host declared for TCP is refused and recorded", [r, ev])
    start = res.first("run.start") or {}
    h.ok(start.get("network_stack_requested") == "relay", f"{label}: no user-mode stack was needed")


def case_behaviour(ident, env, ctx):
    label = f"{ident} relay"
    ph, ps, pr, pn, pt = ctx["http"], ctx["sink"], ctx["rst"], ctx["refused"], ctx["tls"]
    net = f"""\
network:
  egress:
    - host: host-loopback
      ports: [{ph}, {ps}, {pr}, {pn}, {pt}]
"""
    body = "b" * 100000  # a single argument is at most 128 KiB
    actions = [
        ["http", "10.0.2.2", ps, "anything", body, True],
        ["reset", "10.0.2.2", ps, "anything"],
        ["http", "10.0.2.2", pr, "anything", "", False],
        ["http", "10.0.2.2", pn, "anything", "", False],
        ["tls", "10.0.2.2", pt, "whatever.test", ""],
        ["http", "fd00::2", ph, "anything", "v6", False],
    ]
    open(ctx["log"], "w").close()
    res, results = run_skill(env, net, actions)
    if not h.ok(res.rc == 0, f"{label}: runs", res.describe()):
        return
    with open(ctx["log"]) as f:
        seen = [json.loads(l) for l in f if l.strip()]

    r = result(results, *actions[0])
    sent = r.get("sent", 0)
    h.ok(r.get("ok") and r.get("data") == f"hi\ngot {sent}\n",
         f"{label}: half close: the server read to the end ({sent} bytes), then still answered",
         {k: v for k, v in r.items() if k != "action"})
    want = res.first("run.start").get("host_uid")
    uids = [s.get("peer_uid") for s in seen if s.get("port") == ps]
    h.ok(want is not None and uids and all(u == want for u in uids) and
         res.first("policy.net").get("relay_uid") == want,
         f"{label}: the relay's host-side socket belongs to the sandbox user's host uid "
         f"({want}; policy.net relay_uid says so)", [uids, res.first("policy.net")])
    ev = closes(res, port=ps, end="closed")
    h.ok(ev and ev[0].get("bytes_sent") == sent and ev[0].get("bytes_received") ==
         len(f"hi\ngot {sent}\n") and ev[0].get("duration_s", -1) >= 0,
         f"{label}: net.close: closed, with the bytes each way and the duration", ev)

    r = result(results, *actions[1])
    h.ok(r.get("ok") and any(s.get("port") == ps and s.get("end") == "reset" for s in seen),
         f"{label}: a reset by the skill reaches the server as a reset", [r, seen])
    ev = closes(res, port=ps, end="reset", by="skill")
    h.ok(ev, f"{label}: ... net.close says reset by the skill", res.of("net.close"))

    r = result(results, *actions[2])
    h.ok(r.get("ok") is False and r.get("error") in RESET,
         f"{label}: a reset by the server reaches the skill", r)
    h.ok(closes(res, port=pr, end="reset", by="destination"),
         f"{label}: ... net.close says reset by the destination", res.of("net.close"))

    r = result(results, *actions[3])
    h.ok(r.get("ok") is False and r.get("error") in RESET + ("ECONNREFUSED",),
         f"{label}: a destination that refuses resets the skill's connection", r)
    ev = closes(res, port=pn, end="refused", by="destination")
    h.ok(ev and connects(res, verdict="allow", port=pn),
         f"{label}: ... the trail says allowed, then refused by the destination",
         res.of("net.close"))

    r = result(results, *actions[4])
    h.ok(r.get("ok") and r.get("data") == "tls whatever.test",
         f"{label}: host-loopback is checked by address only (any TLS name passes)", r)
    r = result(results, *actions[5])
    h.ok(r.get("ok") and r.get("data", "").endswith("host=anything"),
         f"{label}: over IPv6, to the host's ::1", r)


def case_reserved(ident, env, ctx):
    """A declared 0.0.0.0/0 is relayed, but never to a reserved range (link-local here, where
    clouds serve instance credentials): the relay chain leaves it to the filter, which refuses
    the connection at once (no relayed connect() that succeeds, then a reset) and audits
    net.connect deny, reason reserved. As root the test's network namespace has a server on
    169.254.233.N that the relay can reach from the host: declared by address it answers, so
    the refusal under 0.0.0.0/0 is the ruleset's, not a missing route; and 10.233.N.2 under the
    same 0.0.0.0/0 still passes (the wide network is still relayed)."""
    label = f"{ident} reserved"
    ns = ctx.get("netns")
    port = ctx["ns_http"] if ns else ctx["http"]
    net = f"""\
network:
  egress:
    - cidr: 0.0.0.0/0
      ports: [{port}]
"""
    targets = ["169.254.169.254"] + ([ns.link_local] if ns else [])
    actions = [["http", t, port, "reserved.test", "", False] for t in targets]
    if ns:
        actions.append(["http", ns.addr2, port, "wide.test", "", False])
    res, results = run_skill(env, net, actions)
    if not h.ok(res.rc == 0, f"{label}: runs", res.describe()):
        return
    for t, a in zip(targets, actions):
        r = result(results, *a)
        h.ok(r.get("ok") is False and r.get("error") == "ECONNREFUSED",
             f"{label}: tcp {t}:{port} under 0.0.0.0/0 is refused at connect (never relayed)", r)
        ev = connects(res, verdict="deny", address=t, port=port)
        h.ok(ev and ev[0].get("reason") == "reserved" and ev[0].get("proto") == "tcp",
             f"{label}: ... net.connect deny, reason reserved", res.of("net.connect"))
        h.ok(not connects(res, verdict="allow", address=t) and
             not [e for e in res.of("net.close") if e.get("address") == t],
             f"{label}: ... never allowed, never relayed", res.of("net.connect"))
    if not ns:
        h.skip(f"{ident} reserved reachable", "needs root (a network namespace)")
        return
    r = result(results, *actions[-1])
    ev = connects(res, verdict="allow", address=ns.addr2, port=port)
    h.ok(r.get("ok") and r.get("data", "").endswith("host=wide.test") and ev
         and ev[0].get("via") == "relay",
         f"{label}: under the same 0.0.0.0/0, {ns.addr2} is relayed", [r, ev])

    net = f"""\
network:
  egress:
    - cidr: {ns.link_local}/32
      ports: [{port}]
"""
    a = ["http", ns.link_local, port, "named.test", "", False]
    res, results = run_skill(env, net, [a])
    r = result(results, *a)
    ev = connects(res, verdict="allow", address=ns.link_local, port=port)
    h.ok(res.rc == 0 and r.get("ok") and r.get("data", "").endswith("host=named.test") and ev
         and ev[0].get("via") == "relay",
         f"{label}: declared by address, {ns.link_local} is relayed and answers", [r, ev])


def case_explain(ident, env, ctx):
    """explain says which path carries what, and lists only what the manifest declares."""
    label = f"{ident} explain"
    net = f"""\
network:
  egress:
    - host: host-loopback
      ports: [{ctx["http"]}]
    - host: localhost
      ports: [443]
"""
    d = env.skill(MANIFEST + net, name="relay-explain", files={"relay-client.py": CLIENT})
    r = env.skillbox(["explain", d])
    out = r.out
    h.ok(r.rc == 0 and "tcp: relayed by skillbox itself" in out and "stack: none" in out
         and "[relay, name checked]" in out,
         f"{label}: TCP relayed, no stack, the declared name checked", r.describe())
    h.ok("ask-" not in out and "udp 53" not in out,
         f"{label}: without run --ask, nothing undeclared is listed (no ask rules)", out)


# --- main -----------------------------------------------------------------------------


def main():
    root = os.geteuid() == 0
    if not shutil.which("openssl"):
        h.skip("relay", "openssl is not installed (it makes the test's certificate)")
        h.done()
    tmp = tempfile.mkdtemp(prefix="skillbox-relay-")
    try:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj",
                        "/CN=relay.test", "-keyout", key, "-out", cert],
                       check=True, capture_output=True, timeout=60)
        ctx = {"log": os.path.join(tmp, "server.log")}
        args = ["--cert", cert, "--key", key, "--log", ctx["log"]]
        for where in ("127.0.0.1", "[::1]"):
            args += ["--tls", f"{where}:@tls", "--http", f"{where}:@http"]
        args += ["--sink", "127.0.0.1:@sink", "--rst", "127.0.0.1:@rst",
                 "--closed", "127.0.0.1:@refused"]
        with contextlib.ExitStack() as stack:
            ctx.update(stack.enter_context(server(args)))
            if root:
                ns = stack.enter_context(NetNS())
                ctx["netns"] = ns
                ports = stack.enter_context(server(
                    ["--cert", cert, "--key", key, "--tls", f"{ns.addr2}:@tls",
                     "--http", f"{ns.addr2}:@http", "--http", f"{ns.addr3}:@http",
                     "--http", f"{ns.link_local}:@http"], netns=ns.name))
                ctx["ns_tls"], ctx["ns_http"] = ports["tls"], ports["http"]
            for ident in h.identities():
                with h.Env(ident) as env:
                    if root:
                        case_names(ident, env, ctx)
                    else:
                        h.skip(f"{ident} names", "needs root (network namespace, private /etc)")
                    case_behaviour(ident, env, ctx)
                    case_reserved(ident, env, ctx)
                    case_explain(ident, env, ctx)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    h.done()


if __name__ == "__main__":
    main()
