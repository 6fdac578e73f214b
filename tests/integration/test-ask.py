#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""skillbox run --ask: undeclared destinations are asked about on the caller's terminal.

The test is the caller: it runs skillbox on a pseudo-terminal (python's pty module), reads the
question skillbox writes there and types the answer. Without a terminal --ask is refused.
Answers covered: allow once (the next connection is asked again), deny, add to the manifest
(the diff is shown, the file written after "y", and a later run without --ask is allowed by
the new entry), no answer (denied by the timeout), and, as root with a private /etc/hosts, a
DNS name allowed for the run (resolved on the host, answered by skillbox). Every answer is in
the trail as net.approve. A reserved destination (169.254.169.254) is refused, never asked
about. Runs as root and as an unprivileged user; the servers are the test's
own on the host's loopback.
"""

import json
import os
import pty
import re
import select
import shutil
import signal
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

MANIFEST = """\
skillbox: 1
name: ask-test
command: [python3, /skill/net-probe.py]
workdir: /skill
filesystem:
  read: [/usr, /bin, /lib, /lib64, /sbin, /etc/alternatives, ".:/skill"]
network:
  dns: pinned   # nothing declared: everything is asked about
limits:
  timeout: 60s
"""

# The skill's output reaches the terminal through skillbox's relay, so a line of it may land
# after a question's prompt: the prompt counts wherever it is in what came since the last answer.
PROMPT = re.compile(rb"\(deny in [^)]*\) |\[y/N\] ")


class Terminal:
    """skillbox on a pseudo-terminal: its controlling terminal is ours to read and type on."""

    def __init__(self, env, args, hosts=None):
        argv = env.argv(args)
        if hosts:
            argv = ["unshare", "-m", "--", "sh", "-c",
                    'mount --bind "$1" /etc/hosts && shift && exec "$@"', "sh", hosts] + argv
        e = env.base_env()
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            try:
                os.chdir(env.work)
                os.execvpe(argv[0], argv, e)
            finally:
                os._exit(127)
        self.out = b""
        self.status = None

    def read_until(self, pattern, timeout=30):
        """Reads until pattern matches the end of the output; False on timeout or EOF."""
        deadline = time.monotonic() + timeout
        start = len(self.out)
        while True:
            if pattern.search(self.out[start:]):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            r, _, _ = select.select([self.fd], [], [], left)
            if not r:
                return False
            try:
                data = os.read(self.fd, 4096)
            except OSError:
                return False
            if not data:
                return False
            self.out += data

    def answer(self, text):
        self.out += b"\n"  # what follows belongs to the next question
        os.write(self.fd, text.encode() + b"\n")

    def finish(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            r, _, _ = select.select([self.fd], [], [], 0.5)
            if r:
                try:
                    data = os.read(self.fd, 4096)
                except OSError:
                    data = b""
                self.out += data
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                break
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        os.close(self.fd)
        return self.status

    def results(self):
        out = []
        for line in self.out.decode(errors="replace").splitlines():
            line = line.strip()
            # A result may follow a prompt on the same line (see PROMPT).
            if '{"' in line:
                try:
                    out.append(json.loads(line[line.index('{"'):]))
                except ValueError:
                    pass
        return out


def audit_events(path):
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(l) for l in f if l.strip()]


def of(events, event, **want):
    return [e for e in events if e.get("event") == event
            and all(e.get(k) == v for k, v in want.items())]


def result(results, *action):
    for r in results:
        if r.get("action") == list(action):
            return r
    return {"ok": None, "error": "no result", "action": list(action)}


def start(env, actions, extra=(), hosts=None, name="ask"):
    d = env.skill(MANIFEST, name=name, files={"net-probe.py": PROBE})
    audit = os.path.join(env.auditdir, f"{name}-{time.monotonic_ns()}.jsonl")
    args = [env.bin, "run", "--ask", "--audit", audit] + list(extra) + [d, "--"]
    args += [json.dumps(a) for a in actions]
    return Terminal(env, args, hosts=hosts), audit, d


# --- cases ----------------------------------------------------------------------------


def case_no_terminal(ident, env, ctx):
    label = f"{ident} no terminal"
    d = env.skill(MANIFEST, name="noterm", files={"net-probe.py": PROBE})
    p = subprocess.run(env.argv([env.bin, "run", "--ask", d, "--", json.dumps(["file", "/"])]),
                       env=env.base_env(), cwd=env.work, capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL, start_new_session=True)
    err = p.stderr.decode(errors="replace")
    h.ok(p.returncode == 125 and "--ask needs a terminal" in err and not p.stdout,
         f"{label}: --ask without a terminal is refused (125) before anything runs",
         [p.returncode, err])


def case_once_then_deny(ident, env, ctx):
    label = f"{ident} once, deny"
    port = ctx["port"]
    actions = [["tcp", "10.0.2.2", port, "first"], ["tcp", "10.0.2.2", port, "second"]]
    t, audit, _ = start(env, actions, name="once")
    q1 = t.read_until(PROMPT)
    asked = t.out.decode(errors="replace")
    if q1:
        t.answer("o")
    q2 = q1 and t.read_until(PROMPT)
    if q2:
        t.answer("d")
    rc = t.finish()
    h.ok(q1 and "skillbox --ask: the skill wants to connect to the host's own loopback" in asked
         and f"port {port}" in asked and "[o]nce" in asked,
         f"{label}: the question is on the terminal, marked and naming the destination", asked)
    h.ok(q2, f"{label}: allowed once, the next connection is asked about again",
         t.out.decode(errors="replace")[-800:])
    results = t.results()
    r1, r2 = result(results, *actions[0]), result(results, *actions[1])
    h.ok(rc == 0 and r1.get("data") == f"hello from 127.0.0.1:{port}: first",
         f"{label}: the first connection went through after 'o'", [rc, r1])
    h.ok(r2.get("ok") is False and r2.get("error") in ("ECONNRESET", "EPIPE"),
         f"{label}: the second was reset after 'd'", r2)
    ev = audit_events(audit)
    approves = of(ev, "net.approve", kind="connect", port=port)
    h.ok([a.get("answer") for a in approves] == ["once", "deny"]
         and all(a.get("by") == "terminal" and a.get("tty", "").startswith("/dev/")
                 and a.get("uid") == ident.uid for a in approves),
         f"{label}: net.approve once, then deny, by the terminal (its tty, the caller's uid)",
         approves)
    h.ok(of(ev, "net.connect", verdict="allow", port=port, approval="once")
         and of(ev, "net.connect", verdict="deny", port=port, reason="ask-denied"),
         f"{label}: net.connect: allowed (approval once), then denied (ask-denied)",
         of(ev, "net.connect"))


def case_add(ident, env, ctx):
    label = f"{ident} add"
    port = ctx["port"]
    actions = [["tcp", "10.0.2.2", port, "to be added"]]
    t, audit, d = start(env, actions, name="add")
    path = os.path.join(d, "skillbox.yaml")
    before = open(path).read()
    mode = os.stat(path).st_mode
    q = t.read_until(PROMPT)
    if q:
        t.answer("a")
    confirm = q and t.read_until(PROMPT)
    shown = t.out.decode(errors="replace")
    if confirm:
        t.answer("y")
    rc = t.finish()
    after = open(path).read()
    h.ok(confirm and "+    - host: host-loopback" in shown and f"+      ports: [{port}]" in shown
         and "write this to" in shown,
         f"{label}: the addition is shown as a diff, then confirmation is asked", shown[-1000:])
    h.ok(rc == 0 and after != before and "- host: host-loopback" in after
         and f"ports: [{port}]" in after and after.startswith(before.split("limits:")[0].rstrip())
         and os.stat(path).st_mode == mode,
         f"{label}: the manifest was written after 'y', the rest kept, its mode too", after)
    r = result(t.results(), *actions[0])
    h.ok(r.get("data") == f"hello from 127.0.0.1:{port}: to be added",
         f"{label}: the connection went through", r)
    ap = of(audit_events(audit), "net.approve", kind="connect", answer="add")
    h.ok(ap and ap[0].get("written") is True and ap[0].get("manifest_line"),
         f"{label}: net.approve add, written, with the line", ap)
    res = env.skillbox(["run", d, "--", json.dumps(actions[0])])
    ev = res.of("net.connect")
    h.ok(res.rc == 0 and ev and ev[0].get("verdict") == "allow" and ev[0].get("rule") == 0,
         f"{label}: the next run, without --ask, is allowed by the new entry",
         res.describe())


def case_timeout(ident, env, ctx):
    label = f"{ident} timeout"
    port = ctx["port"]
    actions = [["tcp", "10.0.2.2", port, "unanswered"]]
    t0 = time.monotonic()
    t, audit, _ = start(env, actions, extra=["--ask-timeout", "1s"], name="timeout")
    asked = t.read_until(PROMPT)
    rc = t.finish()
    elapsed = time.monotonic() - t0
    r = result(t.results(), *actions[0])
    h.ok(asked and rc == 0 and r.get("ok") is False and "no answer: denied" in
         t.out.decode(errors="replace"),
         f"{label}: unanswered for --ask-timeout 1s, the connection is denied ({elapsed:.1f}s)",
         [r, t.out.decode(errors="replace")[-500:]])
    ap = of(audit_events(audit), "net.approve", answer="deny", by="timeout")
    h.ok(ap, f"{label}: net.approve deny, by timeout", ap)


def case_reserved(ident, env, ctx):
    """--ask redirects every other TCP connection to the relay, but not a reserved destination
    (link-local, 169.254.169.254): it is refused at once and audited (reason reserved), and
    never asked about; the next, undeclared, connection is the first question."""
    label = f"{ident} reserved"
    port = ctx["port"]
    actions = [["tcp", "169.254.169.254", port, "metadata"], ["tcp", "10.0.2.2", port, "next"]]
    t, audit, _ = start(env, actions, name="reserved")
    q = t.read_until(PROMPT)
    asked = t.out.decode(errors="replace")
    if q:
        t.answer("d")
    rc = t.finish()
    r = result(t.results(), *actions[0])
    h.ok(rc == 0 and r.get("ok") is False and r.get("error") == "ECONNREFUSED",
         f"{label}: tcp 169.254.169.254 is refused at connect, not relayed", [rc, r])
    # (without a result of the skill's that followed a prompt on its line: see PROMPT)
    questions = [l.split('{"')[0] for l in asked.splitlines() if l.startswith("skillbox --ask:")]
    h.ok(q and questions and not [l for l in questions if "169.254" in l]
         and "host's own loopback" in questions[0],
         f"{label}: never asked about; the first question is the next connection", asked)
    ev = audit_events(audit)
    h.ok(of(ev, "net.connect", verdict="deny", address="169.254.169.254", reason="reserved")
         and not of(ev, "net.approve", address="169.254.169.254")
         and not of(ev, "net.connect", verdict="allow", address="169.254.169.254"),
         f"{label}: net.connect deny, reason reserved; no net.approve for it",
         of(ev, "net.connect") + of(ev, "net.approve"))


def case_dns(ident, env, ctx):
    label = f"{ident} dns"
    fd, hosts = tempfile.mkstemp(prefix="hosts-", dir=env.top)
    with os.fdopen(fd, "w") as f:
        f.write("127.0.0.1 localhost\n127.0.0.1 approved.ask.test\n")
    os.chmod(hosts, 0o644)
    actions = [["resolve", "approved.ask.test"], ["resolve", "approved.ask.test"],
               ["resolve", "refused.ask.test"]]
    t, audit, _ = start(env, actions, hosts=hosts, name="dns")
    q1 = t.read_until(PROMPT)
    shown = t.out.decode(errors="replace")
    if q1:
        t.answer("r")
    q2 = q1 and t.read_until(PROMPT)
    if q2:
        t.answer("d")
    rc = t.finish()
    results = t.results()
    h.ok(q1 and "look up the name approved.ask.test" in shown,
         f"{label}: the DNS name is asked about", shown[-600:])
    h.ok(rc == 0 and result(results, *actions[0]).get("addresses") == ["127.0.0.1"]
         and result(results, *actions[1]).get("addresses") == ["127.0.0.1"],
         f"{label}: allowed for the run, resolved on the host; asked once for two lookups",
         results)
    h.ok(result(results, *actions[2]).get("ok") is False,
         f"{label}: a denied name does not resolve", result(results, *actions[2]))
    ev = audit_events(audit)
    h.ok([a.get("answer") for a in of(ev, "net.approve", kind="dns")] == ["run", "deny"],
         f"{label}: net.approve for each name", of(ev, "net.approve"))
    q = of(ev, "dns.query", name="approved.ask.test", type="A")
    h.ok(q and q[0].get("verdict") == "allow" and q[0].get("answered_by") == "skillbox"
         and q[0].get("addresses") == ["127.0.0.1"]
         and of(ev, "dns.query", name="refused.ask.test", verdict="deny"),
         f"{label}: dns.query: answered by skillbox with the pinned address; the other denied",
         of(ev, "dns.query"))


def main():
    root = os.geteuid() == 0
    # The server binds a port the kernel picks (net-server.py's @name) and says which.
    p = subprocess.Popen([PYTHON, SERVER, "--tcp", "127.0.0.1:@p"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        line = h.read_line(p.stdout, 20)
        if not line.startswith(b"ready "):
            h.ok(False, "the test's server starts", [line, p.stderr.read()[-500:]])
            h.done()
        ctx = {"port": json.loads(line[len(b"ready "):])["p"]}
        for ident in h.identities():
            with h.Env(ident) as env:
                case_no_terminal(ident, env, ctx)
                case_once_then_deny(ident, env, ctx)
                case_add(ident, env, ctx)
                case_timeout(ident, env, ctx)
                case_reserved(ident, env, ctx)
                if root:
                    case_dns(ident, env, ctx)
                else:
                    h.skip(f"{ident} dns", "needs root (a private /etc/hosts)")
    finally:
        p.stdin.close()
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    h.done()


if __name__ == "__main__":
    main()
