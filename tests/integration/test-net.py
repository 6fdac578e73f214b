#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Network egress: a skill reaches exactly the destinations its manifest declares; every
other attempt is refused at once (measured inside the skill) and shows up in the audit trail
with its address, port and protocol.

Servers are the test's own: on the host's loopback (reached through `host: host-loopback`),
on ports they bind themselves (port 0), and, when the suite runs as root, in a network
namespace it creates (ip netns + veth, names and subnets chosen under a host-wide lock so that
a second suite never picks the same) with names given to skillbox through a private /etc/hosts
(unshare -m; the host's file is never touched). The resolver the `dns: resolver` case reaches
listens on port 53 of a loopback address of this test's own (127.x.y.z), not of 127.0.0.1.
Every case runs as root and as an unprivileged user.

At the end, the host's nftables ruleset must be as it was: its structure (tables, chains,
rules, sets and their static elements), not the counters, quotas and timeouts the host's own
traffic moves; and no commit to it may come from skillbox. Commits by other programs (a
container runtime starting a container) are named, not failed on.

/dev/net/tun is mode 0600 on some machines; the user-mode stack runs unprivileged and needs
it usable, as distributions ship it (0666). The test sets that for its duration, shared with
any other suite running (harness.tun_for_all()), and the last to finish restores it.

By default skillbox relays declared TCP itself and starts no user-mode stack for a TCP-only
manifest. With SKILLBOX_TEST_NET_STACK=pasta (the integration-net-stack test) every run is made
with SKILLBOX_NET_STACK=pasta, so the same cases go through pasta (falling back to slirp4netns),
as all egress did before the relay; declared host names still go through the relay, which is
the only place their names are checked.
"""

import base64
import contextlib
import errno
import json
import os
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(HERE, "net-probe.py")) as f:
    PROBE = f.read()
SERVER = os.path.join(HERE, "net-server.py")
PYTHON = shutil.which("python3", path="/usr/bin:/bin") or "python3"

# A refusal must come back within this many seconds, measured in the skill. It is immediate
# (a reset or an ICMP error); a dropped packet would take the probe's timeout (10 s for TCP,
# 5 s for UDP), an unanswered DNS query the resolver's 5 s. The margin is for a loaded host.
FAST = 2.0
REFUSED = {"ECONNREFUSED", "EPERM", "EHOSTUNREACH", "EACCES", "ENETUNREACH"}
RUN_IDS = set()  # every run this test made: their stacks are marked SKILLBOX_RUN=<id>
# The stack every run is made with (SKILLBOX_NET_STACK), or None: the relay where it can.
FORCED = os.environ.get("SKILLBOX_TEST_NET_STACK") or None

MANIFEST = """\
skillbox: 1
name: net-test
command: [python3, /skill/net-probe.py]
workdir: /skill
filesystem:
  read: [/usr, /bin, /lib, /lib64, /sbin, /etc/alternatives, ".:/skill"]
limits:
  timeout: 60s
"""


def manifest(network):
    return MANIFEST + network


def egress_lines(text):
    """The manifest line of each '- host:' / '- cidr:' entry, in order."""
    full = MANIFEST + text
    return [i + 1 for i, line in enumerate(full.splitlines()) if line.strip().startswith("- ")]


# --- servers --------------------------------------------------------------------------


def servers(args, netns=None):
    """Starts net-server.py (in netns when given); yields the ports it bound for each @name
    in args (net-server.py picks free ones); stops it when the block ends."""
    cmd = [PYTHON, SERVER] + args
    return h.ready_server(["ip", "netns", "exec", netns] + cmd if netns else cmd)


class NetNS(h.VethNS):
    """A network namespace with a veth to the host: 10.231.N.2 and .3, fd77:231:N::2."""

    PREFIX, KIND = "10.231", "net"

    def setup(self):
        self.addr2 = f"10.231.{self.n}.2"
        self.addr3 = f"10.231.{self.n}.3"
        self.addr6 = f"fd77:231:{self.n}::2"
        self.ip("-6", "addr", "add", f"fd77:231:{self.n}::1/64", "dev", self.host_if, "nodad")
        ns = ["-n", self.name]
        self.ip(*ns, "addr", "add", f"{self.addr2}/24", "dev", self.ns_if)
        self.ip(*ns, "addr", "add", f"{self.addr3}/24", "dev", self.ns_if)
        self.ip(*ns, "-6", "addr", "add", f"{self.addr6}/64", "dev", self.ns_if, "nodad")


# --- running skills -------------------------------------------------------------------


def parse_results(res):
    out = []
    for line in res.out.splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def mode_env(extra_env=None):
    """The environment of a run in this test's mode."""
    e = dict(extra_env or {})
    if FORCED and "SKILLBOX_NET_STACK" not in e:
        e["SKILLBOX_NET_STACK"] = FORCED
    return e


def probe(env, network, actions, extra_env=None, private_etc=None, name="skill"):
    """Runs net-probe.py with actions in a skill; returns (Result, [action results])."""
    extra_env = mode_env(extra_env)
    d = env.skill(manifest(network), name=name, files={"net-probe.py": PROBE})
    args = ["run", d, "--"] + [json.dumps(a) for a in actions]
    if private_etc:
        res = skillbox_private_etc(env, args, private_etc, extra_env)
    else:
        res = env.skillbox(args, env=extra_env, timeout=90)
    RUN_IDS.update(e.get("run") for e in res.events if e.get("run"))
    return res, parse_results(res)


def skillbox_private_etc(env, verb_args, etc, extra_env=None, timeout=90):
    """Runs skillbox in a private mount namespace whose /etc/hosts and /etc/resolv.conf are
    the test's own (root sets them up, then becomes the identity)."""
    files = []
    for name in ("hosts", "resolv.conf"):
        fd, path = tempfile.mkstemp(prefix=f"etc-{name}-", dir=env.top)
        with os.fdopen(fd, "w") as f:
            f.write(etc[name])
        os.chmod(path, 0o644)
        files.append(path)
    fd, audit = tempfile.mkstemp(prefix="audit-", suffix=".jsonl",
                                 dir=getattr(env, "auditdir", env.top))
    os.close(fd)
    os.unlink(audit)
    inner = env.argv([env.bin, "run", "--audit", audit] + list(verb_args[1:]))
    script = ('mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/resolv.conf && '
              'shift 2 && exec "$@"')
    cmd = ["unshare", "-m", "--", "sh", "-c", script, "sh"] + files + inner
    e = env.base_env()
    e.update(extra_env or {})
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, env=e, cwd=env.work, capture_output=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as t:
        rc, out, err = None, t.stdout or b"", t.stderr or b""
    lines = []
    if os.path.exists(audit):
        with open(audit, "rb") as f:
            lines = [l.decode(errors="replace") for l in f.read().splitlines()]
    return h.Result(rc, out, err, lines, time.monotonic() - t0)


def result_of(results, kind, *args):
    for r in results:
        a = r.get("action", [])
        if a[:1] == [kind] and all(x == y for x, y in zip(a[1:], args)):
            return r
    return {"ok": None, "error": "no result", "action": [kind] + list(args)}


def refused_fast(r):
    return r.get("ok") is False and r.get("error") in REFUSED and r.get("elapsed", 99) < FAST


def connect_events(res, verdict, address, port, proto):
    return [
        e
        for e in res.of("net.connect")
        if e.get("verdict") == verdict and e.get("address") == address and e.get("port") == port
        and e.get("proto") == proto
    ]


def check_refusal(label, res, results, action, address, port, proto):
    r = result_of(results, *action)
    h.ok(refused_fast(r), f"{label}: refused within {FAST}s ({r.get('error')}, "
         f"{r.get('elapsed')}s)", r)
    ev = connect_events(res, "deny", address, port, proto)
    h.ok(ev and ev[0].get("host") is None and ev[0].get("rule") is None,
         f"{label}: net.connect deny {proto} {address}:{port} in the audit trail",
         res.of("net.connect"))


def stack_pids(run_ids):
    """User-mode stacks of the given runs: skillbox gives each stack the environment
    SKILLBOX_RUN=<run id> and nothing else."""
    marks = {b"SKILLBOX_RUN=" + r.encode() + b"\0" for r in run_ids}
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read()
        except PermissionError:
            # A suite run by an unprivileged user cannot read the environment of a process
            # that made itself non-dumpable (pasta does): a stack among this test's
            # descendants counts (the test is a subreaper: a stack its skillbox left behind
            # stays its descendant). Not "any stack of our uid": other suites run as it too.
            if own_stack(d):
                found.append(int(d))
            continue
        except OSError:
            continue
        if any(m in env for m in marks):
            found.append(int(d))
    return found


def own_stack(pid):
    """A live stack process that descends from this test."""
    try:
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        return False
    return comm.startswith(("pasta", "passt", "slirp4netns")) and int(pid) in h.descendants()


# --- the host's nftables ruleset ------------------------------------------------------

# What the host's own traffic and clock move in a ruleset, and skillbox could never change:
# counter values, quota use, a "last" statement's time, set elements' remaining timeouts.
NFT_STATE = {"counter": {"packets", "bytes"}, "quota": {"used", "used_unit"}, "last": {"used"}}


def nft_stateless(x):
    if isinstance(x, list):
        return [nft_stateless(v) for v in x]
    if not isinstance(x, dict):
        return x
    out = {}
    for k, v in x.items():
        if k == "expires":
            continue
        if k in NFT_STATE and isinstance(v, dict):
            v = {kk: vv for kk, vv in v.items() if kk not in NFT_STATE[k]}
        out[k] = nft_stateless(v)
    for kind in ("set", "map"):
        body = out.get(kind)
        # Elements of dynamic sets (and meters) are added by packets, and timeouts expire.
        if isinstance(body, dict) and {"dynamic", "timeout"} & set(body.get("flags") or []):
            body.pop("elem", None)
    return out


def nft_structure():
    """The host's ruleset as skillbox could change it: every table, chain, rule, set, map and
    object with its static content, without what traffic and time move (NFT_STATE, dynamic
    set elements). `nft -s` alone is not enough: in JSON it still prints named counters' and
    quotas' values."""
    p = subprocess.run(["nft", "-s", "-j", "list", "ruleset"], capture_output=True, timeout=15)
    if p.returncode != 0:
        return {"error": p.stderr.decode(errors="replace")}
    doc = json.loads(p.stdout or b'{"nftables": []}').get("nftables", [])
    return [nft_stateless(o) for o in doc if "metainfo" not in o]


def nft_diff(before, after):
    if isinstance(before, dict) or isinstance(after, dict):
        return [before, after]
    a = [json.dumps(o, sort_keys=True) for o in before]
    b = [json.dumps(o, sort_keys=True) for o in after]
    return ["- " + x for x in a if x not in b] + ["+ " + x for x in b if x not in a]


NETLINK_NETFILTER, NFNLGRP_NFTABLES = 12, 7
SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, SO_RCVBUFFORCE = 270, 1, 33
NFT_MSG_NEWGEN = (10 << 8) | 15  # NFNL_SUBSYS_NFTABLES, NFT_MSG_NEWGEN
NFTA_GEN_PROC_PID, NFTA_GEN_PROC_NAME = 2, 3


class NftCommits:
    """Every commit to the host's nftables ruleset from now on, with the process that made it:
    the kernel sends NFT_MSG_NEWGEN with its pid and name to the nftables multicast group of
    the network namespace it changed. Subscribed at once, so nothing between this and the
    first snapshot is missed; read at the end (a large receive buffer holds them)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                                  NETLINK_NETFILTER)
        self.sock.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
        self.sock.bind((0, 0))
        self.sock.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)

    def collect(self):
        """[(pid, name)] of each commit, and whether some were lost (ENOBUFS)."""
        commits, lost = [], False
        self.sock.setblocking(False)
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except BlockingIOError:
                break
            except OSError as e:
                if e.errno != errno.ENOBUFS:
                    raise
                lost = True
                continue
            off = 0
            while off + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, off)
                if length < 16:
                    break
                if kind == NFT_MSG_NEWGEN:
                    pid, name = None, None
                    a = off + 16 + 4  # nlmsghdr, nfgenmsg
                    while a + 4 <= off + length:
                        alen, atype = struct.unpack_from("=HH", data, a)
                        if alen < 4:
                            break
                        value = data[a + 4:a + alen]
                        if atype & 0x3FFF == NFTA_GEN_PROC_PID:
                            pid = struct.unpack(">I", value[:4])[0]
                        elif atype & 0x3FFF == NFTA_GEN_PROC_NAME:
                            name = value.split(b"\0")[0].decode(errors="replace")
                        a += (alen + 3) & ~3
                    commits.append((pid, name))
                off += (length + 3) & ~3
        self.sock.close()
        return commits, lost


def check_host_ruleset(commits, before):
    """No commit by skillbox reached the host's ruleset, and its structure is as it was
    (unless other programs committed changes while the test ran: then they are named)."""
    seen, lost = commits.collect()
    after = nft_structure()
    ours = [c for c in seen if c[1] == "skillbox"]
    others = sorted({f"{n} (pid {p})" for p, n in seen if (p, n) not in ours})
    h.ok(not ours, "no commit to the host's nftables ruleset came from skillbox", ours)
    if others:
        h.diag(f"the host's ruleset was changed by other programs while the test ran: {others}"
               + ("; some notifications were lost" if lost else ""))
    same = before == after
    h.ok(same or (others and not lost and not ours),
         "the host's nftables ruleset is unchanged (tables, chains, rules, sets; not the "
         "counters, quotas and timeouts traffic moves)"
         + ("" if same or not others else f" (changed by {', '.join(others)} only)"),
         "\n".join(nft_diff(before, after)))


# --- cases ----------------------------------------------------------------------------


def case_host_loopback(ident, env, ctx):
    label = f"{ident} host-loopback"
    p1, p2 = ctx["p1"], ctx["p2"]
    net = f"""\
network:
  egress:
    - host: host-loopback
      ports: [{p1}]
"""
    line = egress_lines(net)[0]
    actions = [
        ["tcp", "10.0.2.2", p1, "over the declared port"],
        ["tcp", "fd00::2", p1, "over IPv6"],
        ["tcp", "10.0.2.2", p2, "undeclared port"],
        ["udp", "10.0.2.2", p1, "udp to the declared tcp port"],
        ["dns", "10.0.2.3", "raw.query.skillbox.test"],
        ["resolve", "undeclared.skillbox.test"],
        ["resolve", "skillbox"],
        ["resolve", "host-loopback"],
        ["run", "/usr/sbin/nft", "list", "ruleset"],
        ["run", "/usr/sbin/nft", "flush", "ruleset"],
        ["run", "/usr/sbin/ip", "link", "set", "lo", "down"],
        ["run", "/usr/sbin/ip", "link", "set", "eth0", "down"],
        ["run", "/usr/sbin/ip", "addr", "del", "10.0.2.100/32", "dev", "lo"],
        ["tcp", "10.0.2.2", p2, "still undeclared after the attempts"],
        ["tcp", "10.0.2.2", p1, "still declared after the attempts"],
    ]
    res, results = probe(env, net, actions)
    if not h.ok(res.rc == 0, f"{label}: runs", res.describe()):
        return
    start = res.first("run.start") or {}
    # skillbox kills the stack when the skill ends and does not wait for its teardown: what
    # is still there when the run has returned must be exiting (SIGKILL taken), and go.
    stacks = stack_pids([start.get("run")])
    exiting = {p: h.exiting(p) for p in stacks}
    h.ok(all(exiting.values()) and not h.wait_gone(stacks, 10),
         f"{label}: once the run returned, its stack is dead or dying (killed), and gone within "
         f"10 s ({exiting})")
    h.ok(start.get("network_stack_requested") == ctx["stack"]
         and "network_stack" not in start,
         f"{label}: run.start names the stack requested, and only that "
         f"({start.get('network_stack_requested')})", start)
    stack = res.first("net.stack") or {}
    if ctx["stack"] == "relay":
        h.ok(not stack, f"{label}: no user-mode stack for a TCP-only manifest (no net.stack)",
             stack)
    else:
        # Where pasta is installed it must carry the traffic: a fallback here is a failure
        # (Debian 13's pasta once fell back on every run, silently).
        h.ok(stack.get("stack") == ctx["stack"] and "fallback_from" not in stack
             and not res.of("net.stack.fallback"),
             f"{label}: net.stack says {ctx['stack']} carried the traffic, no fallback",
             [stack, res.of("net.stack.fallback"), res.err])
        h.diag(f"{label}: {stack.get('stack')} ready after {stack.get('ready_s')}s")

    r = result_of(results, "tcp", "10.0.2.2", p1, "over the declared port")
    h.ok(r.get("data") == f"hello from 127.0.0.1:{p1}: over the declared port",
         f"{label}: the declared port connects and transfers data", r)
    ev = connect_events(res, "allow", "10.0.2.2", p1, "tcp")
    h.ok(ev and ev[0].get("host") == "host-loopback" and ev[0].get("line") == line
         and ev[0].get("rule") == 0,
         f"{label}: net.connect allow names the manifest host and line {line}",
         res.of("net.connect"))
    # Must-record: the first connection to a destination is written, the second counted.
    rep = [e for e in res.of("audit.repeated") if e.get("repeated_event") == "net.connect"
           and e.get("first_seq") == (ev[0].get("seq") if ev else None)]
    h.ok(len(ev) == 1 and len(rep) == 1 and rep[0].get("count") == 1,
         f"{label}: one allow event for the destination, the second connection counted "
         f"({len(ev)} events)", ev + rep)
    if ctx["stack"] == "relay":
        h.ok(all(e.get("via") == "relay" for e in ev), f"{label}: carried by the relay", ev)
        # net.close follows the connection net.connect recorded (a counted repeat has none).
        closes = [e for e in res.of("net.close") if e.get("port") == p1
                  and e.get("address") == "10.0.2.2"]
        h.ok(len(closes) == 1 and all(e.get("end") == "closed" and e.get("by") is None
                                      and e.get("bytes_sent", 0) > 0
                                      and e.get("bytes_received", 0) > 0 for e in closes),
             f"{label}: net.close: bytes both ways, ended by both sides", closes)
    if ctx["stack"] in ("pasta", "relay"):
        r = result_of(results, "tcp", "fd00::2", p1)
        h.ok(r.get("data") == f"hello from [::1]:{p1}: over IPv6",
             f"{label}: over IPv6 too, the gateway reaches the host's ::1", r)
        h.ok(connect_events(res, "allow", "fd00::2", p1, "tcp"), f"{label}: ... and is audited")

    check_refusal(f"{label}: undeclared port on the same host", res, results,
                  ["tcp", "10.0.2.2", p2, "undeclared port"], "10.0.2.2", p2, "tcp")
    check_refusal(f"{label}: UDP to the declared TCP port", res, results,
                  ["udp", "10.0.2.2", p1], "10.0.2.2", p1, "udp")
    check_refusal(f"{label}: raw DNS query to the stack's resolver", res, results,
                  ["dns", "10.0.2.3"], "10.0.2.3", 53, "udp")
    q = [e for e in res.of("dns.query") if e.get("name") == "raw.query.skillbox.test"]
    h.ok(q and q[0].get("verdict") == "deny" and q[0].get("type") == "A",
         f"{label}: the refused query's name is in the audit trail (dns.query deny)",
         res.of("dns.query"))

    r = result_of(results, "resolve", "undeclared.skillbox.test")
    h.ok(r.get("ok") is False and r.get("elapsed", 99) < FAST,
         f"{label}: an undeclared name does not resolve, at once ({r.get('elapsed')}s)", r)
    r = result_of(results, "resolve", "skillbox")
    h.ok(r.get("ok") and r.get("addresses") == ["127.0.1.1"],
         f"{label}: the sandbox's own name resolves", r)
    r = result_of(results, "resolve", "host-loopback")
    h.ok(r.get("ok") and "10.0.2.2" in (r.get("addresses") or []),
         f"{label}: a declared host-loopback is also a name inside", r)

    # Without a stack the sandbox's address is on lo, and it has no eth0.
    cmds = [["/usr/sbin/nft", "list", "ruleset"], ["/usr/sbin/nft", "flush", "ruleset"],
            ["/usr/sbin/ip", "link", "set", "lo", "down"]]
    if ctx["stack"] == "relay":
        cmds.append(["/usr/sbin/ip", "addr", "del", "10.0.2.100/32", "dev", "lo"])
    else:
        cmds.append(["/usr/sbin/ip", "link", "set", "eth0", "down"])
    for cmd in cmds:
        r = result_of(results, "run", *cmd)
        h.ok(r.get("rc", 0) != 0 and "Operation not permitted" in r.get("stderr", ""),
             f"{label}: `{' '.join(cmd[0:1] + cmd[1:])}` fails with EPERM inside", r)
    check_refusal(f"{label}: after the attempts, the undeclared port", res, results,
                  ["tcp", "10.0.2.2", p2, "still undeclared after the attempts"], "10.0.2.2", p2,
                  "tcp")
    r = result_of(results, "tcp", "10.0.2.2", p1, "still declared after the attempts")
    h.ok(r.get("ok"), f"{label}: after the attempts, the declared port still works", r)

    pol = res.first("policy.net") or {}
    rules = pol.get("rules") or [{}]
    h.ok(pol.get("egress") is True and rules[0].get("addresses") == ["10.0.2.2", "fd00::2"]
         and rules[0].get("ports") == [p1] and len(pol.get("ruleset_sha256") or "") == 64,
         f"{label}: policy.net records the rule, its addresses and the ruleset digest", pol)
    summ = res.first("run.summary") or {}
    h.ok((summ.get("refusals") or {}).get("net", 0) >= 5,
         f"{label}: run.summary counts the network refusals", summ)


def case_reserved(ident, env, ctx):
    """A declared 0.0.0.0/0 and ::/0 never cover multicast, broadcast or link-local: the stack
    would send those from the host, to the host's own services bound to the wildcard address.
    A host-side UDP listener on [::]:P (both families) must receive nothing but the control
    datagram, sent last to host-loopback; each refusal is audited (net.connect deny,
    reason reserved). Named explicitly (224.0.0.0/24), multicast is allowed."""
    label = f"{ident} reserved"
    listener = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    listener.bind(("::", 0))
    port = listener.getsockname()[1]
    targets = ["224.0.0.1", "255.255.255.255", "10.0.2.255", "ff02::1", "169.254.169.254"]
    net = f"""\
network:
  egress:
    - {{cidr: 0.0.0.0/0, ports: [{port}], proto: udp}}
    - {{cidr: "::/0", ports: [{port}], proto: udp}}
    - {{host: host-loopback, ports: [{port}], proto: udp}}
"""
    actions = [["udp_send", t, port, "leak-" + t] for t in targets]
    actions.append(["udp_send", "10.0.2.2", port, "control"])
    try:
        res, results = probe(env, net, actions, name="reserved")
        got = []
        deadline = time.monotonic() + 15
        while "control" not in got:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([listener], [], [], left)[0]:
                break
            got.append(listener.recvfrom(4096)[0].decode(errors="replace"))
        # Datagrams sent before the control took the same path; drain what is queued.
        listener.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            while True:
                got.append(listener.recvfrom(4096)[0].decode(errors="replace"))
    finally:
        listener.close()
    h.ok(res.rc == 0 and "control" in got,
         f"{label}: the control datagram to host-loopback arrived", res.describe())
    h.ok(got == ["control"],
         f"{label}: the host's wildcard listener received nothing sent to multicast, "
         f"broadcast or link-local", got)
    for t in targets:
        ev = [e for e in connect_events(res, "deny", t, port, "udp")
              if e.get("reason") == "reserved"]
        h.ok(ev and ev[0].get("host") is None,
             f"{label}: udp {t}:{port} audited as net.connect deny (reserved)",
             res.of("net.connect"))
        h.ok(not connect_events(res, "allow", t, port, "udp"),
             f"{label}: udp {t}:{port} never audited as allowed")
    pol = res.first("policy.net") or {}
    h.ok({"224.0.0.0/4", "255.255.255.255", "10.0.2.255", "169.254.0.0/16", "ff00::/8",
          "fe80::/10"} <= set(pol.get("reserved", [])),
         f"{label}: policy.net lists the reserved ranges", json.dumps(pol))

    # Named explicitly, a reserved destination opens.
    net = f"""\
network:
  egress:
    - {{cidr: 224.0.0.0/24, ports: [{port}], proto: udp}}
"""
    res, results = probe(env, net, [["udp_send", "224.0.0.1", port, "named"]],
                         name="reserved-named")
    h.ok(result_of(results, "udp_send", "224.0.0.1").get("ok") is True
         and connect_events(res, "allow", "224.0.0.1", port, "udp"),
         f"{label}: declared as 224.0.0.0/24, 224.0.0.1 is allowed and audited",
         res.describe())


def case_no_egress(ident, env, ctx):
    label = f"{ident} no egress"
    actions = [
        ["run", "/usr/sbin/ip", "route", "show"],
        ["run", "/usr/sbin/ip", "-6", "route", "show"],
        ["file", "/proc/net/route"],
        ["tcp", "10.0.2.2", ctx["p1"], "x"],
        ["tcp", "2001:db8::1", 80, "x"],
        ["udp", "192.0.2.7", 5353, "x"],
        ["udp", "2001:db8::7", 5353, "x"],
        ["resolve", "localhost"],
        ["resolve", "skillbox"],
        ["file", "/etc/hosts"],
        ["run", "/usr/sbin/ip", "-o", "link", "show"],
    ]
    res, results = probe(env, "", actions)
    if not h.ok(res.rc == 0, f"{label}: runs", res.describe()):
        return
    # Only the catch-all routes through lo, which bring every attempt to the ruleset.
    r4 = result_of(results, "run", "/usr/sbin/ip", "route", "show")
    r6 = result_of(results, "run", "/usr/sbin/ip", "-6", "route", "show")
    h.ok(r4.get("rc") == 0 and r4.get("stdout", "").strip().splitlines()
         == ["default dev lo proto static src 127.0.0.1 metric 4294967295"]
         and r6.get("stdout", "").strip().startswith("default dev lo proto static metric "
                                                     "4294967295"),
         f"{label}: the only routes are the catch-all ones, through lo", [r4, r6])
    r = result_of(results, "file", "/proc/net/route")
    h.ok(len((r.get("data") or "").strip().splitlines()) == 2,
         f"{label}: /proc/net/route has only that route", r)
    for a in (["tcp", "10.0.2.2"], ["tcp", "2001:db8::1"]):
        r = result_of(results, *a)
        h.ok(r.get("error") == "ECONNREFUSED" and r.get("elapsed", 99) < FAST,
             f"{label}: connect to {a[1]} is refused at once (ECONNREFUSED)", r)
    for a in (["udp", "192.0.2.7"], ["udp", "2001:db8::7"]):
        r = result_of(results, *a)
        h.ok(r.get("error") == "EPERM" and r.get("elapsed", 99) < FAST,
             f"{label}: a datagram to {a[1]} is refused at once (EPERM)", r)
    # Nothing refused silently: each attempt is a net.connect deny with address and port.
    for proto, addr, port in (("tcp", "10.0.2.2", ctx["p1"]), ("tcp", "2001:db8::1", 80),
                              ("udp", "192.0.2.7", 5353), ("udp", "2001:db8::7", 5353)):
        ev = connect_events(res, "deny", addr, port, proto)
        h.ok(len(ev) == 1 and ev[0].get("reason") == "undeclared",
             f"{label}: {proto} to {addr}:{port} is recorded (net.connect deny)",
             res.of("net.connect"))
    summ = res.first("run.summary") or {}
    h.ok((summ.get("refusals") or {}).get("net") == 4,
         f"{label}: run.summary counts the 4 network refusals", summ.get("refusals"))
    links = result_of(results, "run", "/usr/sbin/ip", "-o", "link", "show").get("stdout", "")
    h.ok(links.count("\n") == 1 and "lo:" in links and "UP" in links,
         f"{label}: loopback only, and up", links)
    h.ok(result_of(results, "resolve", "localhost").get("ok")
         and result_of(results, "resolve", "skillbox").get("addresses") == ["127.0.1.1"],
         f"{label}: localhost and the hostname skillbox resolve")
    start = res.first("run.start") or {}
    pol = res.first("policy.net") or {}
    h.ok(start.get("network_stack_requested") == "none" and pol.get("egress") is False
         and pol.get("stack_requested") == "none" and not res.of("net.stack"),
         f"{label}: no user-mode stack was started", [start, pol])
    h.ok(len(pol.get("ruleset_sha256") or "") == 64 and "logged" in (pol.get("otherwise") or "")
         and not res.of("policy.degraded"),
         f"{label}: policy.net records the refusing ruleset's digest; nothing degraded", pol)


def case_netns(ident, env, ctx):
    """Hosts in a network namespace the test made, reached by name through pinned DNS."""
    ns = ctx["netns"]
    label = f"{ident} netns"
    port = ctx["ns_port"]
    etc = {
        "hosts": "127.0.0.1 localhost\n"
        f"{ns.addr2} svc.skillbox.test\n"
        f"{ns.addr3} other.skillbox.test\n"
        f"{ns.addr6} svc6.skillbox.test\n",
        "resolv.conf": f"nameserver {ctx['dns_addr']}\noptions timeout:1 attempts:1\n",
    }
    net = f"""\
network:
  egress:
    - host: svc.skillbox.test
      ports: [{port}]
    - host: gone.skillbox.test
      ports: [443]
      optional: true
"""
    line = egress_lines(net)[0]
    big = "x" * 60000
    # A declared host name is checked on the wire: the request names it (HTTP/1.1 Host).
    request = f"GET / HTTP/1.1\r\nHost: svc.skillbox.test\r\n\r\n{big}"
    actions = [
        ["resolve", "svc.skillbox.test"],
        ["resolve", "other.skillbox.test"],
        ["resolve", "svc6.skillbox.test"],
        ["tcp", "svc.skillbox.test", port, request],
        ["tcp", "svc.skillbox.test", port, "no name in this"],
        ["tcp", ns.addr2, ctx["ns_port2"], "undeclared port"],
        ["tcp", ns.addr3, port, "undeclared host"],
        ["udp", ns.addr2, port, "udp to the tcp port"],
        ["tcp", ns.addr6, port, "ipv6"],
        ["dns", ns.addr2, "leak.skillbox.test"],
    ]
    res, results = probe(env, net, actions, private_etc=etc)
    if not h.ok(res.rc == 0, f"{label}: runs", res.describe()):
        return
    r = result_of(results, "resolve", "svc.skillbox.test")
    h.ok(r.get("addresses") == [ns.addr2], f"{label}: the declared name resolves, pinned", r)
    for n in ("other.skillbox.test", "svc6.skillbox.test"):
        r = result_of(results, "resolve", n)
        h.ok(r.get("ok") is False and r.get("elapsed", 99) < FAST,
             f"{label}: {n} (not declared) does not resolve inside", r)
    r = result_of(results, "tcp", "svc.skillbox.test", port, request)
    h.ok(r.get("data") == f"hello from {ns.addr2}:{port}: {request}",
         f"{label}: the declared host and port transfer data (60 kB both ways)",
         {k: (v[:80] if isinstance(v, str) else v) for k, v in r.items()})
    ev = connect_events(res, "allow", ns.addr2, port, "tcp")
    h.ok(ev and ev[0].get("host") == "svc.skillbox.test" and ev[0].get("line") == line
         and ev[0].get("name") == "svc.skillbox.test" and ev[0].get("name_from") == "http",
         f"{label}: net.connect allow names svc.skillbox.test, line {line} and the name sent",
         res.of("net.connect"))
    r = result_of(results, "tcp", "svc.skillbox.test", port, "no name in this")
    ev = connect_events(res, "deny", ns.addr2, port, "tcp")
    h.ok(r.get("ok") is False and r.get("error") in ("ECONNRESET", "EPIPE")
         and ev and ev[0].get("reason") == "no-name",
         f"{label}: the same host without a name on the wire is reset, reason no-name",
         [r, ev])
    check_refusal(f"{label}: undeclared port on the declared host", res, results,
                  ["tcp", ns.addr2, ctx["ns_port2"]], ns.addr2, ctx["ns_port2"], "tcp")
    check_refusal(f"{label}: undeclared host", res, results, ["tcp", ns.addr3, port], ns.addr3,
                  port, "tcp")
    check_refusal(f"{label}: UDP to the declared TCP port", res, results, ["udp", ns.addr2, port],
                  ns.addr2, port, "udp")
    check_refusal(f"{label}: IPv6", res, results, ["tcp", ns.addr6, port], ns.addr6, port, "tcp")
    check_refusal(f"{label}: raw DNS query to a resolver", res, results, ["dns", ns.addr2],
                  ns.addr2, 53, "udp")
    q = [e for e in res.of("dns.query") if e.get("name") == "leak.skillbox.test"]
    h.ok(q and q[0].get("verdict") == "deny", f"{label}: the refused query's name is audited", q)
    pol = res.first("policy.net") or {}
    rules = pol.get("rules") or [{}, {}]
    h.ok(pol.get("pinned") == ["svc.skillbox.test"] and rules[0].get("addresses") == [ns.addr2]
         and rules[1].get("resolved") is False and rules[1].get("optional") is True,
         f"{label}: policy.net: pinned name with its address; the optional one skipped", pol)
    h.ok(not ctx["netns_log"] or "leak.skillbox.test" not in open(ctx["netns_log"]).read(),
         f"{label}: the resolver in the namespace never saw the query")


class V4OnlyNS(h.VethNS):
    """A network namespace with IPv4 only (IPv6 disabled), reached from the host by a veth:
    a stand-in for a host without IPv6, where the user-mode stack gives the sandbox none."""

    PREFIX, KIND = "10.232", "v4"

    def before_link(self):
        subprocess.run(["ip", "netns", "exec", self.name, "sysctl", "-qw",
                        "net.ipv6.conf.all.disable_ipv6=1",
                        "net.ipv6.conf.default.disable_ipv6=1"],
                       check=True, capture_output=True, timeout=15)

    def setup(self):
        self.ns_addr = f"10.232.{self.n}.2"
        self.ip("-n", self.name, "addr", "add", f"{self.ns_addr}/24", "dev", self.ns_if)

    def up(self):
        self.ip("-n", self.name, "route", "add", "default", "via", self.host_addr)


def case_no_host_ipv6(ident, env, ctx):
    """On a host without IPv6 the stack gives the sandbox no IPv6 route; attempts must still
    meet the ruleset (refused at once, audited), not fail unseen with ENETUNREACH."""
    label = f"{ident} host without IPv6"
    net = f"""\
network:
  egress:
    - cidr: 198.51.100.0/24
      ports: [{ctx['p1']}]
"""
    actions = [
        ["tcp", "2001:db8::c2", 443, "ipv6 with no ipv6 on the host"],
        ["udp", "2001:db8::c2", 53, "ipv6 udp"],
        ["tcp", "203.0.113.7", 443, "ipv4 for comparison"],
    ]
    with V4OnlyNS() as ns:
        d = env.skill(manifest(net), name="v4only", files={"net-probe.py": PROBE})
        fd, audit = tempfile.mkstemp(prefix="audit-", suffix=".jsonl", dir=env.auditdir)
        os.close(fd)
        os.unlink(audit)
        cmd = ["ip", "netns", "exec", ns.name] + env.argv(
            [env.bin, "run", "--audit", audit, d, "--"] + [json.dumps(a) for a in actions])
        p = subprocess.run(cmd, env={**env.base_env(), **mode_env()}, cwd=env.work,
                           capture_output=True, timeout=90, stdin=subprocess.DEVNULL)
        lines = []
        if os.path.exists(audit):
            with open(audit, "rb") as f:
                lines = [l.decode(errors="replace") for l in f.read().splitlines()]
        res = h.Result(p.returncode, p.stdout, p.stderr, lines, 0)
    RUN_IDS.update(e.get("run") for e in res.events if e.get("run"))
    results = parse_results(res)
    if not h.ok(res.rc == 0, f"{label}: runs", res.describe()):
        return
    check_refusal(f"{label}: IPv6 TCP", res, results, ["tcp", "2001:db8::c2", 443],
                  "2001:db8::c2", 443, "tcp")
    r = result_of(results, "udp", "2001:db8::c2", 53)
    h.ok(r.get("ok") is False and r.get("error") != "ENETUNREACH",
         f"{label}: IPv6 UDP is refused by the ruleset, not by a missing route", r)
    check_refusal(f"{label}: IPv4 still refused as before", res, results,
                  ["tcp", "203.0.113.7", 443], "203.0.113.7", 443, "tcp")


def case_unresolvable(ident, env, ctx):
    label = f"{ident} unresolvable host"
    etc = {"hosts": "127.0.0.1 localhost\n",
           "resolv.conf": f"nameserver {ctx['dns_addr']}\noptions timeout:1 attempts:1\n"}
    net = """\
network:
  egress:
    - host: missing.skillbox.test
      ports: [443]
"""
    line = egress_lines(net)[0]
    res, results = probe(env, net, [["resolve", "localhost"]], private_etc=etc)
    h.ok(res.rc == 125, f"{label}: refuses to run (125)", res.describe())
    h.ok(f"skillbox.yaml:{line}:" in res.err and "missing.skillbox.test" in res.err
         and "does not resolve" in res.err, f"{label}: the message names the manifest line",
         res.err)
    h.ok(not results, f"{label}: the skill never ran")

    # Optional: the run goes on, says so on stderr, and nothing presents it as an open door.
    net_opt = net.replace("      ports: [443]\n", "      ports: [443]\n      optional: true\n")
    res, results = probe(env, net_opt, [["resolve", "localhost"]], private_etc=etc,
                         name="optional")
    h.ok(res.rc == 0 and results, f"{label}: optional: runs", res.describe())
    h.ok(f"skillbox.yaml:{line}:" in res.err and "warning" in res.err
         and "optional host missing.skillbox.test does not resolve" in res.err,
         f"{label}: optional: a warning names the host and its manifest line", res.err)
    pol = res.first("policy.net") or {}
    rule = ([r for r in pol.get("rules", []) if r.get("host") == "missing.skillbox.test"]
            or [{}])[0]
    h.ok(pol.get("unresolved") == ["missing.skillbox.test"] and rule.get("resolved") is False
         and rule.get("optional") is True and rule.get("addresses") == []
         and "missing.skillbox.test" not in (pol.get("pinned") or []),
         f"{label}: optional: policy.net marks the host unresolved, with no address", pol)
    path = os.path.join(env.top, "optional-trail.jsonl")
    with open(path, "w") as f:
        f.write("".join(x + "\n" for x in res.audit_lines))
    os.chmod(path, 0o644)
    rc, out, err = env.run([env.bin, "audit", "summary", path])
    text = out.decode(errors="replace")
    egress = [x for x in text.splitlines() if "missing.skillbox.test" in x]
    h.ok(rc == 0 and egress and all("DID NOT RESOLVE, no rule" in x for x in egress),
         f"{label}: optional: audit summary does not show it as an active rule", egress)


def case_resolver(ident, env, ctx):
    """dns: resolver opens the stack's resolver only, and every query's name is audited."""
    label = f"{ident} dns resolver"
    etc = {"hosts": "127.0.0.1 localhost\n", "resolv.conf": f"nameserver {ctx['dns_addr']}\n"}
    net = """\
network:
  dns: resolver
"""
    actions = [
        ["dns", "10.0.2.3", "asked.resolver.test"],
        ["resolve", "via-libc.resolver.test"],
        ["dns", "10.0.2.2", "other-resolver.resolver.test"],
    ]
    res, results = probe(env, net, actions, private_etc=etc)
    if not h.ok(res.rc == 0, f"{label}: runs", res.describe()):
        return
    r = result_of(results, "dns", "10.0.2.3", "asked.resolver.test")
    h.ok(r.get("ok") and r.get("addresses") == ["10.231.0.2"],
         f"{label}: a query to the stack's resolver is answered by the host's", r)
    r = result_of(results, "resolve", "via-libc.resolver.test")
    h.ok(r.get("ok") and r.get("addresses") == ["10.231.0.2"],
         f"{label}: the C library resolves through it", r)
    names = {(e.get("name"), e.get("type"), e.get("verdict")) for e in res.of("dns.query")}
    h.ok(("asked.resolver.test", "A", "allow") in names
         and ("via-libc.resolver.test", "A", "allow") in names,
         f"{label}: each query's name is recorded as dns.query", names)
    check_refusal(f"{label}: another resolver", res, results, ["dns", "10.0.2.2"], "10.0.2.2", 53,
                  "udp")
    with open(ctx["dns_log"]) as f:
        asked = f.read()
    h.ok("asked.resolver.test" in asked and "other-resolver" not in asked,
         f"{label}: the host's resolver saw the allowed queries only", asked)


SECRET = "hunter2-Sk1llb0x-s3cret"


def encodings_of(value):
    """The secret as a stealer may encode it (what the trail must never contain)."""
    v = value.encode()
    forms = {value, value.lower(), v.hex(), v.hex().upper()}
    for pre in (b"", b"x", b"xy"):  # every base64 alignment
        for enc in (base64.b64encode, base64.urlsafe_b64encode):
            e = enc(pre + v).decode().rstrip("=")
            forms.add(e[(len(pre) * 4 + 2) // 3 + 1:-2])
    for pre in (b"", b"x", b"xy", b"xyz", b"xyzw"):  # every base32 alignment
        e = base64.b32encode(pre + v).decode().rstrip("=")
        forms.add(e[(len(pre) * 8 + 4) // 5 + 1:-2].lower())
    return forms


def case_flood_exfil(ident, env, ctx):
    """After a flood of refused datagrams, a DNS query through the resolver carrying a
    declared secret is in the trail, redacted in every encoding (or the run was stopped
    before it and the name never left)."""
    label = f"{ident} flood then exfiltrate"
    etc = {"hosts": "127.0.0.1 localhost\n", "resolv.conf": f"nameserver {ctx['dns_addr']}\n"}
    net = """\
network:
  dns: resolver
env:
  secrets:
    - {name: API_KEY, from_env: SKILLBOX_TEST_SECRET}
"""
    with open(ctx["dns_log"], "w"):
        pass
    # 10001 datagrams over 1000 ports of an undeclared address: 1000 destinations, each
    # refused 10 times (9 counted repeats each), then the exfiltration.
    port = 20000
    actions = [["udpflood", "10.0.2.2", port, 1000, 10001],
               ["exfil", "10.0.2.3", ".resolver.test", "API_KEY"]]
    res, results = probe(env, net, actions, extra_env={"SKILLBOX_TEST_SECRET": SECRET},
                         private_etc=etc, name="exfil")
    flood = result_of(results, "udpflood")
    h.ok(flood.get("errors", {}).get("EPERM") == 10001,
         f"{label}: the 10001 datagrams are refused (EPERM)", flood.get("errors") or res.describe())
    with open(ctx["dns_log"]) as f:
        asked = f.read()
    ex = res.first("run.exit") or {}
    if ex.get("reason") == "audit-overflow":
        # Allowed by the issue: the run stopped before the exfiltration could happen.
        h.ok("exfil" not in asked and not result_of(results, "exfil").get("sent"),
             f"{label}: the run was stopped before the exfiltration (nothing asked)", asked)
        return
    h.ok(res.rc == 0 and result_of(results, "exfil").get("ok"),
         f"{label}: runs to the end; the exfiltration queries are answered", res.describe())
    denies = [e for e in res.of("net.connect") if e.get("verdict") == "deny"
              and e.get("address") == "10.0.2.2" and e.get("proto") == "udp"]
    reps = [e for e in res.of("audit.repeated") if e.get("repeated_event") == "net.connect"
            and (e.get("key") or "").startswith("deny udp 10.0.2.2 ")]
    others = [e for e in res.of("audit.repeated") if e not in reps]
    if others:
        h.diag(f"{label}: other repeats: " + fmt_events(others))
    h.ok(sorted(e.get("port") for e in denies) == list(range(port, port + 1000))
         and sum(e.get("count", 0) for e in reps) == 9001,
         f"{label}: each of the 1000 destinations is written once, the 9001 repeats counted "
         f"({len(denies)} written, {sum(e.get('count', 0) for e in reps)} counted)",
         fmt_events(reps[:3]))
    h.ok(not res.of("audit.lost") and not res.of("audit.overflow"),
         f"{label}: nothing lost", fmt_events(res.of("audit.lost")))
    queries = [e for e in res.of("dns.query") if "resolver.test" in (e.get("name") or "")]
    names = [e.get("name") for e in queries]
    h.ok(len(queries) == 4 and all(e.get("verdict") == "allow" for e in queries),
         f"{label}: the four exfiltration queries are in the trail (dns.query allow)", names)
    h.ok(len(asked.strip().splitlines()) >= 4, f"{label}: ... and did leave (the resolver "
         "saw them)", asked)
    kinds = {"literal": "[redacted:API_KEY]", "base64": "[redacted:API_KEY:base64]",
             "base32": "[redacted:API_KEY:base32]", "hex": "[redacted:API_KEY:hex]"}
    for kind, marker in kinds.items():
        h.ok(any(marker in (n or "") for n in names),
             f"{label}: the {kind} form is written as {marker}", names)
    h.ok(all(e.get("redacted") == ["API_KEY"] for e in queries),
         f"{label}: each such dns.query says what was taken out (redacted: [API_KEY])",
         fmt_events(queries))
    raw = "\n".join(res.audit_lines).lower()
    leaked = [f for f in encodings_of(SECRET) if len(f) >= 6 and f.lower() in raw]
    h.ok(not leaked, f"{label}: no encoding of the secret anywhere in the trail", leaked)
    path = os.path.join(env.top, "exfil-trail.jsonl")
    with open(path, "w") as f:
        f.write("".join(line + "\n" for line in res.audit_lines))
    os.chmod(path, 0o644)
    rc, out, err = env.run([env.bin, "audit", "verify", path])
    h.ok(rc == 0, f"{label}: the trail verifies", out + err)


def fmt_events(evs):
    return "\n".join(json.dumps(e) for e in evs)


def case_fallback(ident, env, ctx):
    """pasta, else slirp4netns. The relay needs neither, so without FORCED these runs ask for a
    stack (SKILLBOX_NET_STACK=pasta), and a TCP-only manifest is also run with neither."""
    label = f"{ident} fallback"
    p1 = ctx["p1"]
    force = {"SKILLBOX_NET_STACK": FORCED or "pasta"}
    net = f"""\
network:
  egress:
    - host: host-loopback
      ports: [{p1}]
"""
    actions = [["tcp", "10.0.2.2", p1, "via slirp4netns"], ["tcp", "10.0.2.2", ctx["p2"], "no"]]
    if shutil.which("slirp4netns", path="/usr/bin:/bin") is None:
        h.skip(f"{label}: slirp4netns", "slirp4netns is not installed")
        return
    res, results = probe(env, net, actions,
                         extra_env={**force, "SKILLBOX_PASTA": "/nonexistent/pasta"})
    start = res.first("run.start") or {}
    st = res.first("net.stack") or {}
    h.ok(res.rc == 0 and start.get("network_stack_requested") == "slirp4netns"
         and st.get("stack") == "slirp4netns" and "fallback_from" not in st
         and not res.of("net.stack.fallback"),
         f"{label}: without pasta, slirp4netns is requested and used (not a fallback)",
         res.describe())
    r = result_of(results, "tcp", "10.0.2.2", p1)
    h.ok(r.get("data") == f"hello from 127.0.0.1:{p1}: via slirp4netns",
         f"{label}: slirp4netns: host-loopback connects", r)
    check_refusal(f"{label}: slirp4netns: undeclared port", res, results,
                  ["tcp", "10.0.2.2", ctx["p2"]], "10.0.2.2", ctx["p2"], "tcp")
    h.ok("warning" not in res.err, f"{label}: no IPv6 declared, no warning", res.err)

    res, results = probe(env, net, actions[:1],
                         extra_env={**force, "SKILLBOX_PASTA": "/bin/false"})
    start = res.first("run.start") or {}
    st = res.first("net.stack") or {}
    fb = res.of("net.stack.fallback")
    names = [e.get("event") for e in res.events]
    h.ok(res.rc == 0 and start.get("network_stack_requested") == "pasta"
         and len(fb) == 1 and fb[0].get("from") == "pasta" and fb[0].get("to") == "slirp4netns"
         and "pasta" in (fb[0].get("reason") or "")
         and names.index("net.stack.fallback") < names.index("net.stack"),
         f"{label}: a pasta that fails to start: net.stack.fallback says so and why, first",
         res.describe())
    h.ok(fb and st.get("stack") == "slirp4netns" and st.get("fallback_from") == "pasta"
         and st.get("reason") == fb[0].get("reason"),
         f"{label}: ... and net.stack names slirp4netns, the stack used", st)
    h.ok("warning: network: pasta" in res.err and "falling back to slirp4netns" in res.err,
         f"{label}: ... and a warning says so at once", res.err)
    h.ok(result_of(results, "tcp", "10.0.2.2", p1).get("ok"), f"{label}: ... and connects")

    # IPv6 declared: slirp4netns cannot carry it, and the trail, stderr and explain say so.
    net6 = net + """\
    - cidr: 2001:db8:5::/48
      ports: [443]
"""
    line6 = egress_lines(net6)[1]
    for pasta, what in (("/bin/false", "falls back"), ("/nonexistent/pasta", "is missing")):
        res, results = probe(env, net6, actions[:1],
                             extra_env={**force, "SKILLBOX_PASTA": pasta})
        st = res.first("net.stack") or {}
        lost = st.get("ipv6_unreachable") or []
        h.ok(res.rc == 0 and st.get("stack") == "slirp4netns"
             and [(x.get("host"), x.get("line")) for x in lost] == [("2001:db8:5::/48", line6)],
             f"{label}: IPv6 declared, pasta {what}: net.stack lists what it cannot reach", st)
        h.ok("no IPv6, so these rules cannot be reached: " in res.err
             and f"skillbox.yaml:{line6} (2001:db8:5::/48)" in res.err,
             f"{label}: IPv6 declared, pasta {what}: a warning names the rule", res.err)
        if pasta == "/bin/false":
            fb = res.first("net.stack.fallback") or {}
            h.ok([x.get("line") for x in fb.get("ipv6_unreachable") or []] == [line6],
                 f"{label}: IPv6 declared: net.stack.fallback lists it too", fb)
    d = env.skill(manifest(net6), name="explain6", files={"net-probe.py": PROBE})
    for pasta, says, verb in ((None, "would be unreachable", "would not reach"),
                              ("/nonexistent/pasta", "are unreachable", "does not reach")):
        rc, out, err = env.run([env.bin, "explain", d],
                               env={**force, **({"SKILLBOX_PASTA": pasta} if pasta else {})})
        text = out.decode()
        h.ok(rc == 0 and f"no IPv6, so these rules {says} through it: " in text
             and f"skillbox.yaml:{line6} (2001:db8:5::/48)" in text,
             f"{label}: explain{' without pasta' if pasta else ''} warns: slirp4netns {verb} "
             "the IPv6 rule", text + err.decode())

    neither = {"SKILLBOX_PASTA": "/nonexistent/pasta",
               "SKILLBOX_SLIRP4NETNS": "/nonexistent/slirp4netns"}
    res, results = probe(env, net, actions[:1], extra_env={**force, "SKILLBOX_NET_STACK": "pasta",
                                                           **neither})
    h.ok(res.rc == 125 and "neither pasta" in res.err and not results,
         f"{label}: with neither stack, a run that needs one refuses to run (125)",
         res.describe())
    if FORCED:
        return
    res, results = probe(env, net, actions[:1], extra_env=neither)
    h.ok(res.rc == 0 and result_of(results, "tcp", "10.0.2.2", p1).get("ok"),
         f"{label}: with neither stack installed, the relay still carries a TCP-only manifest",
         res.describe())
    udp = net + f"""\
    - cidr: 198.51.100.0/24
      ports: [53]
      proto: udp
"""
    res, results = probe(env, udp, actions[:1], extra_env=neither)
    h.ok(res.rc == 125 and "rule 1" in res.err and "declares udp" in res.err and not results,
         f"{label}: a UDP rule needs a stack, and the message says which rule",
         res.describe())


def case_sigkill(ident, env, ctx):
    """SIGKILL of skillbox leaves no user-mode stack behind."""
    label = f"{ident} SIGKILL"
    net = f"""\
network:
  egress:
    - host: host-loopback
      ports: [{ctx['p1']}]
"""
    d = env.skill(manifest(net), name="sigkill", files={"net-probe.py": PROBE})
    audit = os.path.join(getattr(env, "auditdir", env.top), "sigkill.jsonl")
    p = env.popen([env.bin, "run", "--audit", audit, d, "--", json.dumps(["wait"])],
                  env=mode_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
    try:
        line = h.read_line(p.stdout, 30)
        if not h.ok(b"waiting" in line, f"{label}: the skill runs", line):
            return
        with open(audit) as f:
            run_id = json.loads(f.readline())["run"]
        RUN_IDS.add(run_id)
        stacks = stack_pids([run_id])
        want = 0 if ctx["stack"] == "relay" else 1
        h.ok(len(stacks) == want, f"{label}: {want} user-mode stack running ({stacks})")
        # Found by ancestry: another suite's net-probe.py runs on this host too.
        sandbox = h.descendants(p.pid)
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=10)
        left = h.wait_gone(stacks + sandbox, 10)
        h.ok(not left, f"{label}: the stack and the sandbox are gone after SIGKILL of skillbox",
             left)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdin.close()


def children(pid):
    """Direct children of pid, from every thread's children list."""
    kids = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/children") as f:
            kids.update(int(x) for x in f.read().split())
    return sorted(kids)


def cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read()
    except OSError:
        return b""


def case_nflog_overrun(ident, env, ctx):
    """The kernel drops logged packets when skillbox cannot read them fast enough: here
    skillbox is stopped (SIGSTOP) while the skill sends 60000 refused datagrams, far beyond
    the log socket's 4 MiB. Once it runs again it must find the overrun: the run is stopped
    (125, audit-overflow) with audit.lost naming the log, or, with audit.overflow: count,
    the run goes on and the loss is counted."""
    for mode in ("stop", "count"):
        label = f"{ident} log overrun ({mode})"
        extra = "audit:\n  overflow: count\n" if mode == "count" else ""
        d = env.skill(manifest("") + extra, name=f"overrun-{mode}",
                      files={"net-probe.py": PROBE})
        audit = os.path.join(env.auditdir, f"overrun-{mode}.jsonl")
        actions = [["sigwait"], ["udpflood", "192.0.2.1", 9, 100, 60000]]
        p = env.popen([env.bin, "run", "--audit", audit, d, "--"] +
                      [json.dumps(a) for a in actions], env=mode_env(), stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        stopped = False
        try:
            line = h.read_line(p.stdout, 30)
            if not h.ok(b"waiting" in line, f"{label}: the skill runs", line):
                continue
            skill = [k for k in h.descendants(p.pid) if b"net-probe" in cmdline(k)]
            os.kill(p.pid, signal.SIGSTOP)
            stopped = True
            os.kill(skill[0], signal.SIGUSR1)
            # The skill floods and exits (its last line waits in the pipe to skillbox).
            h.ok(not h.wait_gone(skill, 60), f"{label}: the skill flooded while skillbox "
                 "was stopped, and exited")
            os.kill(p.pid, signal.SIGCONT)
            stopped = False
            flood = {}
            for _ in range(2):  # sigwait's own result line, then the flood's
                flood = json.loads(h.read_line(p.stdout, 60) or b"{}")
                if (flood.get("action") or [None])[0] == "udpflood":
                    break
            h.ok(flood.get("errors", {}).get("EPERM") == 60000,
                 f"{label}: the 60000 datagrams were sent and refused (EPERM)", flood)
            p.wait(timeout=60)
        finally:
            if stopped:
                os.kill(p.pid, signal.SIGCONT)
            if p.poll() is None:
                p.kill()
                p.wait()
            err = p.stderr.read().decode(errors="replace")
            for f in (p.stdout, p.stderr):
                f.close()
            if not p.stdin.closed:
                p.stdin.close()
        with open(audit) as f:
            events = [json.loads(l) for l in f]
        RUN_IDS.update(e.get("run") for e in events)
        lost = [e for e in events if e.get("event") == "audit.lost"
                and e.get("source") == "nflog"]
        ex = next((e for e in events if e.get("event") == "run.exit"), {})
        h.ok(lost and "overran" in (lost[0].get("reason") or ""),
             f"{label}: audit.lost names the log socket's overrun", fmt_events(lost) or err)
        if mode == "stop":
            over = [e for e in events if e.get("event") == "audit.overflow"]
            h.ok(p.returncode == 125 and ex.get("reason") == "audit-overflow"
                 and over and over[0].get("reason") == "lost" and "were lost" in err,
                 f"{label}: the run is stopped (125, audit-overflow), and stderr says why",
                 f"rc={p.returncode} {ex}\n{err}")
        else:
            summ = next((e for e in events if e.get("event") == "run.summary"), {})
            h.ok(p.returncode == 0 and ex.get("status") == 0 and summ,
                 f"{label}: the run goes on to its end (exit 0), the loss counted",
                 f"rc={p.returncode} {ex}\n{err}")
        path = os.path.join(env.top, f"overrun-{mode}-copy.jsonl")
        shutil.copy(audit, path)
        os.chmod(path, 0o644)
        rc, out, verr = env.run([env.bin, "audit", "verify", path])
        h.ok(rc == 0, f"{label}: the trail verifies", out + verr)


def case_no_second_process(ident, env, ctx):
    """A TCP-only manifest runs with no user-mode stack: skillbox's only child is the sandbox's
    init (found by ancestry, not by name), and the relay carries the connection."""
    label = f"{ident} relay only"
    net = f"""\
network:
  egress:
    - host: host-loopback
      ports: [{ctx['p1']}]
"""
    d = env.skill(manifest(net), name="nostack", files={"net-probe.py": PROBE})
    audit = os.path.join(env.auditdir, "nostack.jsonl")
    actions = [["tcp", "10.0.2.2", ctx["p1"], "before"], ["wait"]]
    p = env.popen([env.bin, "run", "--audit", audit, d, "--"] + [json.dumps(a) for a in actions],
                  env=mode_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                  stderr=subprocess.PIPE)
    try:
        first = json.loads(h.read_line(p.stdout, 30) or b"{}")
        line = h.read_line(p.stdout, 30)
        if not h.ok(b"waiting" in line, f"{label}: the skill runs", [first, line]):
            return
        kids = children(p.pid)
        inits = [k for k in kids if os.readlink(f"/proc/{k}/ns/pid") !=
                 os.readlink("/proc/self/ns/pid")]
        h.ok(len(kids) == 1 and inits == kids,
             f"{label}: skillbox's one child is the sandbox's init: no second process", kids)
        h.ok(first.get("data") == f"hello from 127.0.0.1:{ctx['p1']}: before",
             f"{label}: ... and the connection went through", first)
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    with open(audit) as f:
        events = [json.loads(l) for l in f]
    RUN_IDS.update(e.get("run") for e in events)
    start = next((e for e in events if e.get("event") == "run.start"), {})
    h.ok(p.returncode == 0 and start.get("network_stack_requested") == "relay"
         and not [e for e in events if e.get("event") == "net.stack"],
         f"{label}: run.start says relay, and no net.stack was written", start)


# --- main -----------------------------------------------------------------------------


def main():
    pasta = shutil.which("pasta", path="/usr/bin:/bin")
    slirp = shutil.which("slirp4netns", path="/usr/bin:/bin")
    if not pasta and not slirp:
        h.skip("network egress", "neither pasta nor slirp4netns is installed")
        h.done()
    root = os.geteuid() == 0
    h.become_subreaper()
    commits = NftCommits() if root else None
    before = nft_structure() if root else None
    with contextlib.ExitStack() as stack:
        if not stack.enter_context(h.tun_for_all()):
            h.skip("network egress", "/dev/net/tun is not usable by this user (needs mode 0666)")
            h.done()
        ports = stack.enter_context(servers([
            "--tcp", "127.0.0.1:@p1", "--tcp", "[::1]:@p1", "--udp", "127.0.0.1:@p1",
            "--tcp", "127.0.0.1:@p2"]))
        if FORCED:
            stack_name = FORCED if FORCED == "slirp4netns" or not pasta else "pasta"
        else:
            stack_name = "relay"
        ctx = {"stack": stack_name, "p1": ports["p1"],
               "p2": ports["p2"], "netns": None, "netns_log": None, "dns_addr": None}
        if root:
            ns = stack.enter_context(NetNS())
            ctx["netns"] = ns
            fd, ctx["netns_log"] = tempfile.mkstemp(prefix="netns-dns-")
            os.close(fd)
            ports = stack.enter_context(servers([
                "--tcp", f"{ns.addr2}:@ns", "--tcp", f"{ns.addr2}:@ns2",
                "--tcp", f"{ns.addr3}:@ns", "--tcp", f"[{ns.addr6}]:@ns",
                "--udp", f"{ns.addr2}:@ns",
                "--dns", f"{ns.addr2}:53", "--dns-log", ctx["netns_log"]], netns=ns.name))
            ctx["ns_port"], ctx["ns_port2"] = ports["ns"], ports["ns2"]
            fd, ctx["dns_log"] = tempfile.mkstemp(prefix="host-dns-")
            os.close(fd)
            # The resolver must be on port 53: on a loopback address of this test's own, as
            # another program or suite may hold 127.0.0.1:53.
            for _ in range(5):
                addr = h.loopback_address()
                try:
                    stack.enter_context(servers(["--dns", f"{addr}:53",
                                                 "--dns-log", ctx["dns_log"],
                                                 "--dns-zone", ".resolver.test"]))
                    ctx["dns_addr"] = addr
                    break
                except RuntimeError as e:
                    h.diag(f"no resolver on {addr}:53: {e}")

        for ident in h.identities():
            with h.Env(ident) as env:
                case_host_loopback(ident, env, ctx)
                case_reserved(ident, env, ctx)
                case_no_egress(ident, env, ctx)
                if root and ctx["dns_addr"]:
                    case_netns(ident, env, ctx)
                    case_no_host_ipv6(ident, env, ctx)
                    case_unresolvable(ident, env, ctx)
                    case_resolver(ident, env, ctx)
                    case_flood_exfil(ident, env, ctx)
                else:
                    for what in ("netns", "host without IPv6", "unresolvable host",
                                 "dns resolver", "flood then exfiltrate"):
                        h.skip(f"{ident} {what}",
                               "needs root (network namespace, private /etc)" if not root
                               else "no loopback address for the test's resolver")
                case_fallback(ident, env, ctx)
                case_sigkill(ident, env, ctx)
                case_nflog_overrun(ident, env, ctx)
                if not FORCED:
                    case_no_second_process(ident, env, ctx)
                left = stack_pids(RUN_IDS)
                dying = all(h.exiting(p) for p in left)
                left = h.wait_gone(left, 10)
                h.ok(RUN_IDS and dying and not left,
                     f"{ident}: no user-mode stack of the {len(RUN_IDS)} runs is left behind",
                     left)
    if root:
        check_host_ruleset(commits, before)
    h.done()


if __name__ == "__main__":
    main()
