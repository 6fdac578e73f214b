#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""skillbox learn: a first manifest without guessing. Once per identity (root and an
unprivileged user), learn observes real programs:

  - a Python script that reads a config file and writes an output file in its directory,
  - a shell pipeline (sh -c 'grep -c x data.txt | tee out/count.txt'),
  - a Python program fetching http://host-loopback:PORT/ from an HTTP server this test
    starts on the host's loopback,
  - a threaded Python program (40 threads at once, writing in results/),
  - a shell pipeline with awk in a directory whose group is root (mode 775),
  - a command below /tmp reading its sibling directory,

and for each: the command's output passes through, learn's own writes never reach the host
(the overlay threw them away), the generated manifest passes `skillbox check`, running the
same command under it with `skillbox run` succeeds with the same output, and an undeclared
action fails under it and is in the audit trail (a file not read while learning, a write
outside the learned write path, another port). Also: learn exits with the command's status
and still writes the manifest, writes nothing for a command that cannot run, prints the
manifest on stdout without -o, and how much slower learning is than running.

Learn always starts the user-mode network stack (to observe). /dev/net/tun is mode 0600 on
some machines; the stack runs unprivileged and needs it usable, as distributions ship it
(0666): the test sets that for its duration, shared with any other suite running
(harness.tun_for_all()), and the last to finish restores it. The HTTP servers bind ports of
their own choosing (port 0).
"""

import contextlib
import http.server
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

TIMEOUT = 90

MAIN_PY = r"""
import json
import helper  # a module of its own: Python would write __pycache__ beside it
cfg = json.load(open("config.json"))
with open("output.txt", "w") as f:
    f.write("hello %s\n" % cfg["name"])
print("hello", cfg["name"])
"""

FETCH_PY = r"""
import sys, urllib.request
url = "http://host-loopback:%s/data.txt" % sys.argv[1]
print(urllib.request.urlopen(url, timeout=20).read().decode().strip())
"""

# Used under a learned manifest for what the command did not do while learning.
PROBE_PY = r"""
import errno, sys
try:
    open(sys.argv[1]).read()
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
    sys.exit(3)
"""


# --- HTTP servers on the host's loopback, both families --------------------------------


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"payload from port {self.server.server_address[1]}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class Server6(http.server.ThreadingHTTPServer):
    address_family = socket.AF_INET6


@contextlib.contextmanager
def http_servers(n):
    """n HTTP servers on the host's loopback, each on 127.0.0.1 and ::1 (host-loopback may be
    tried over IPv6 first) with the same port, one the kernel picked (port 0): no port another
    program may hold is assumed free. Yields the ports."""
    servers, ports = [], []
    try:
        while len(ports) < n:
            s4 = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
            port = s4.server_address[1]
            try:
                s6 = Server6(("::1", port), Handler)
            except OSError:
                s4.server_close()  # taken on ::1 by someone else: another port
                continue
            servers += [s4, s6]
            ports.append(port)
        for s in servers:
            threading.Thread(target=s.serve_forever, daemon=True).start()
        yield tuple(ports)
    finally:
        for s in servers:
            s.shutdown()
            s.server_close()


# --- helpers ---------------------------------------------------------------------------


# The owner of a root caller's skill directories: skillbox learn, run by root in a directory
# that belongs to an unprivileged user, makes the sandbox user that user.
ROOT_SKILL_OWNER = 4343


def sandbox_uid(env):
    return ROOT_SKILL_OWNER if env.ident.is_root else env.ident.uid


def make_skill(env, name, files, dirs=()):
    """A skill directory owned by an unprivileged user, so the command may write in it (for
    root: ROOT_SKILL_OWNER, whom learn then runs the command as; the workspace stays root's)."""
    d = env.path(name)
    os.makedirs(d, exist_ok=True)
    for rel in dirs:
        os.makedirs(os.path.join(d, rel), exist_ok=True)
    for rel, content in files.items():
        with open(os.path.join(d, rel), "w") as f:
            f.write(content)
    uid = sandbox_uid(env)
    for root, ds, fs in os.walk(d):
        os.chown(root, uid, uid)
        for n in fs:
            os.chown(os.path.join(root, n), uid, uid)
    return d


class Ran:
    def __init__(self, rc, out, err, elapsed):
        self.rc, self.stdout, self.stderr, self.elapsed = rc, out, err, elapsed

    @property
    def out(self):
        return self.stdout.decode(errors="replace")

    @property
    def err(self):
        return self.stderr.decode(errors="replace")

    def describe(self):
        return f"rc={self.rc}\nstdout:\n{self.out[-2000:]}\nstderr:\n{self.err[-3000:]}"


def run_in(env, cwd, args):
    """Runs args as the identity in cwd, with a bounded wait."""
    t0 = time.monotonic()
    p = subprocess.Popen(env.argv(args), env=env.base_env(), cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
        return Ran(None, out, err, time.monotonic() - t0)
    return Ran(p.returncode, out, err, time.monotonic() - t0)


def learn(env, d, command, output="skillbox.yaml"):
    args = [env.bin, "learn"] + (["-o", output] if output else []) + ["--"] + command
    return run_in(env, d, args)


def read_manifest(d, name="skillbox.yaml"):
    p = os.path.join(d, name)
    if not os.path.exists(p):
        return None
    with open(p) as f:
        return f.read()


def section(text, key):
    """The lines of a top-level key's block (comments dropped)."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.startswith("#") or line.strip().startswith("#"):
            continue
        if re.match(r"^[a-z]", line):
            inside = line.startswith(key + ":")
            continue
        if inside:
            lines.append(line.split("  #")[0].rstrip())
    return lines


def entries(text, key):
    """The list entries under filesystem.<key> ("read" or "write"), unquoted."""
    out, inside = [], False
    for line in section(text, "filesystem"):
        m = re.match(r"^  (\w+):", line)
        if m:
            inside = m.group(1) == key
            continue
        m = re.match(r"^    - (.*)$", line)
        if inside and m:
            v = m.group(1)
            out.append(json.loads(v) if v.startswith('"') else v)
    return out


def variant(d, text, command, name="variant.yaml"):
    """The learned manifest with another command: the same policy, another action."""
    lines = [f"command: {json.dumps(command)}" if l.startswith("command:") else l
             for l in text.splitlines()]
    p = os.path.join(d, name)
    with open(p, "w") as f:
        f.write("\n".join(lines) + "\n")
    return p


def check(env, d, label):
    r = env.run([env.bin, "check", d])
    h.ok(r[0] == 0, f"{label}: the generated manifest passes skillbox check",
         r[1].decode() + r[2].decode())


# --- cases -----------------------------------------------------------------------------


def case_python(env, timings):
    label = f"{env.ident} python"
    d = make_skill(env, "pyskill", {"main.py": MAIN_PY, "config.json": '{"name": "world"}\n',
                                    "probe.py": PROBE_PY, "helper.py": "X = 1\n"})
    # A host file the command does not read, and no profile has.
    other = next(p for p in ("/etc/hostname", "/etc/shells", "/etc/issue", "/etc/adduser.conf")
                 if os.path.isfile(p))
    r = learn(env, d, ["python3", "main.py"])
    timings.append(("learn", r.elapsed))
    if not h.ok(r.rc == 0 and r.out == "hello world\n",
                f"{label}: learn runs it; its stdout passes through", r.describe()):
        return
    h.ok(not os.path.exists(os.path.join(d, "output.txt")),
         f"{label}: learn's write went to the overlay, not to the host", os.listdir(d))
    text = read_manifest(d)
    if not h.ok(text is not None, f"{label}: learn wrote skillbox.yaml", r.describe()):
        return
    reads, writes = entries(text, "read"), entries(text, "write")
    h.ok("\ninclude: [python3]\n" in text and "/usr" not in reads
         and not any(p.startswith("/proc") for p in reads),
         f"{label}: the python3 profile instead of /usr, /lib64 ...; no /proc", text)
    h.ok(not os.path.exists(os.path.join(d, "__pycache__"))
         and "__pycache__" not in "\n".join(writes),
         f"{label}: no __pycache__ while learning, none granted", (writes, os.listdir(d)))
    h.ok(writes == [f".:{d}"] and not any(p.startswith(".:") for p in reads),
         f"{label}: the directory it wrote in is the write path (relative, at its path)",
         (reads, writes))
    h.ok('command: ["python3", "main.py"]' in text and f"workdir: {d}" in text
         and "network:" not in text.replace("# network:", ""),
         f"{label}: command and workdir as given; no network", text)
    h.ok(text.startswith("# Generated by skillbox learn") and "Review before use" in text,
         f"{label}: the header says where it comes from and to review it", text[:400])
    check(env, d, label)

    res = env.skillbox(["run", d])
    timings.append(("run", res.elapsed))
    h.ok(res.rc == 0 and res.out == r.out,
         f"{label}: skillbox run under the learned manifest: same output", res.describe())
    out = os.path.join(d, "output.txt")
    h.ok(os.path.exists(out) and open(out).read() == "hello world\n",
         f"{label}: ... and under skillbox run the write reaches the host", os.listdir(d))

    # A file that was not read while learning: absent from the view, and traced as such.
    h.ok(other not in text, f"{label}: ({other} was not read while learning)", text)
    v = variant(d, text, ["python3", "probe.py", other])
    res = env.skillbox(["run", "--trace", "files", v])
    ev = [e for e in res.of("file.open") if e.get("path") == other]
    h.ok(res.rc == 3 and res.out.strip() == "ENOENT",
         f"{label}: reading a file not read while learning fails", res.describe())
    h.ok(ev and ev[0].get("declared") is False
         and (res.first("run.summary") or {}).get("refusals", {}).get("file", 0) >= 1,
         f"{label}: ... and the audit trail has it as undeclared", ev)


def case_pipeline(env):
    label = f"{env.ident} pipeline"
    cmd = ["sh", "-c", "grep -c x data.txt | tee out/count.txt"]
    d = make_skill(env, "pipe", {"data.txt": "x\nxx\ny\nax\n"}, dirs=["out"])
    r = learn(env, d, cmd)
    if not h.ok(r.rc == 0 and r.out == "3\n", f"{label}: learn runs it; stdout passes through",
                r.describe()):
        return
    h.ok(os.listdir(os.path.join(d, "out")) == [],
         f"{label}: out/count.txt went to the overlay, not to the host",
         os.listdir(os.path.join(d, "out")))
    text = read_manifest(d)
    if not h.ok(text is not None, f"{label}: learn wrote skillbox.yaml", r.describe()):
        return
    reads, writes = entries(text, "read"), entries(text, "write")
    h.ok(writes == [f"./out:{d}/out"] and f".:{d}" in reads,
         f"{label}: the write path is out/ only; the directory is read", (reads, writes))
    m = re.search(r"processes: (\d+) +# at most (\d+) at once", text)
    h.ok(m is not None and int(m.group(2)) >= 3 and int(m.group(1)) >= 16,
         f"{label}: sh, grep and tee counted as tasks at once", text)
    check(env, d, label)

    res = env.skillbox(["run", d])
    count = os.path.join(d, "out", "count.txt")
    h.ok(res.rc == 0 and res.out == "3\n" and os.path.exists(count)
         and open(count).read() == "3\n",
         f"{label}: skillbox run under the learned manifest: same output and file",
         res.describe())

    # Writing beside out/, in the directory that was only read.
    v = variant(d, text, ["sh", "-c", "echo y > count.txt"])
    res = env.skillbox(["run", "--trace", "files", v])
    target = os.path.join(d, "count.txt")
    ev = [e for e in res.of("file.open") if e.get("path") == target]
    h.ok(res.rc != 0 and not os.path.exists(target) and "Read-only" in res.err,
         f"{label}: writing outside the learned write path fails", res.describe())
    h.ok(ev and ev[0].get("declared") is False and ev[0].get("access") == "write",
         f"{label}: ... and the audit trail has it as undeclared", ev)


def case_no_network(env):
    """--no-network: no user-mode stack at all, so it works even where /dev/net/tun is not
    usable; the draft declares no network."""
    label = f"{env.ident} --no-network"
    d = make_skill(env, "offline", {"data.txt": "a\nb\n"})
    r = run_in(env, d, [env.bin, "learn", "--no-network", "-o", "skillbox.yaml", "--",
                        "sh", "-c", "wc -l < data.txt"])
    if not h.ok(r.rc == 0 and r.out.strip() == "2", f"{label}: learn runs it", r.describe()):
        return
    text = read_manifest(d) or ""
    h.ok("egress" not in "\n".join(section(text, "network")) and "dns:" not in text,
         f"{label}: the draft declares no network", text)
    check(env, d, label)
    res = env.skillbox(["run", d])
    h.ok(res.rc == 0 and res.out.strip() == "2" and res.first("run.start") and
         res.first("run.start").get("network_stack_requested") == "none",
         f"{label}: runs under the draft with no network stack", res.describe())


def case_fetch(env, ports):
    label = f"{env.ident} fetch"
    d = make_skill(env, "fetch", {"fetch.py": FETCH_PY})
    p1, p2 = ports
    r = learn(env, d, ["python3", "fetch.py", str(p1)])
    if not h.ok(r.rc == 0 and r.out == f"payload from port {p1}\n",
                f"{label}: learn runs it; host-loopback resolves and connects", r.describe()):
        return
    text = read_manifest(d)
    if not h.ok(text is not None, f"{label}: learn wrote skillbox.yaml", r.describe()):
        return
    net = section(text, "network")
    h.ok(net[:3] == ["  egress:", "    - host: host-loopback", f"      ports: [{p1}]"]
         and "  dns: pinned" in net and len([l for l in net if l.startswith("    - ")]) == 1,
         f"{label}: egress: host-loopback, the one port; dns pinned", text)
    h.ok(entries(text, "write") == [],
         f"{label}: nothing written, no write path", entries(text, "write"))
    check(env, d, label)

    res = env.skillbox(["run", d])
    h.ok(res.rc == 0 and res.out == r.out,
         f"{label}: skillbox run under the learned manifest: same output", res.describe())
    conns = [e for e in res.of("net.connect") if e.get("verdict")]
    h.ok(conns and all(e.get("verdict") == "allow" and e.get("port") == p1 for e in conns),
         f"{label}: ... through the declared rule", conns)

    # Another port of the same host, where a server does answer.
    v = variant(d, text, ["python3", "fetch.py", str(p2)])
    res = env.skillbox(["run", v])
    deny = [e for e in res.of("net.connect") if e.get("verdict") == "deny"]
    h.ok(res.rc != 0 and "payload" not in res.out and "refused" in res.err.lower(),
         f"{label}: connecting to another port fails", res.describe())
    h.ok(deny and all(e.get("port") == p2 for e in deny),
         f"{label}: ... and the audit trail has the refused connection", deny)


THREADS_PY = r"""
import threading, time
import helper
N = 40
barrier = threading.Barrier(N + 1)
def work():
    barrier.wait(timeout=30)
    time.sleep(0.3)  # the workload: 41 threads alive together for a while
ts = [threading.Thread(target=work) for _ in range(N)]
for t in ts:
    t.start()
barrier.wait(timeout=30)
for t in ts:
    t.join()
open("results/threads.txt", "w").write("%d\n" % N)
print("threads", N)
"""


def case_threads(env):
    """A threaded program: 40 threads alive at once. RLIMIT_NPROC counts them, RLIMIT_DATA
    their 8 MiB stacks; a draft that counted processes (16) or resident memory (64M) would
    fail with "can't start new thread". It writes in results/ only: the one write grant."""
    label = f"{env.ident} threads"
    d = make_skill(env, "threaded", {"threads.py": THREADS_PY, "helper.py": "X = 1\n"},
                   dirs=["results"])
    r = learn(env, d, ["python3", "threads.py"])
    if not h.ok(r.rc == 0 and r.out == "threads 40\n", f"{label}: learn runs it", r.describe()):
        return
    text = read_manifest(d) or ""
    m = re.search(r"processes: (\d+) +# at most (\d+) at once", text)
    h.ok(m is not None and int(m.group(2)) >= 41 and int(m.group(1)) >= 4 * 41,
         f"{label}: processes counts the threads, with headroom", text)
    mem = re.search(r"memory: (\d+)M", text)
    h.ok(mem is not None and int(mem.group(1)) >= 320,
         f"{label}: memory covers what RLIMIT_DATA counts (the threads' stacks)", text)
    h.ok(entries(text, "write") == [f"./results:{d}/results"],
         f"{label}: the one write grant is results/, leaf-most", entries(text, "write"))
    check(env, d, label)
    res = env.skillbox(["run", d])
    out = os.path.join(d, "results", "threads.txt")
    h.ok(res.rc == 0 and res.out == "threads 40\n" and os.path.exists(out),
         f"{label}: the draft runs unchanged", res.describe())


def case_awk(env):
    """A shell pipeline with awk (awk is /etc/alternatives/awk -> mawk), in a directory whose
    group is root with mode 775: during learning the directory is writable as the caller
    could write it, and `mkdir -p out` of a directory that exists grants nothing."""
    label = f"{env.ident} awk"
    cmd = ["sh", "-c", "mkdir -p out && awk -F, '$2 > 10 { n++; s += $2 } END "
           "{ printf \"%d %d\\n\", n, s }' sales.csv | tee out/total.txt"]
    d = make_skill(env, "awk", {"sales.csv": "a,5\nb,20\nc,30\nd,7\n"}, dirs=["out"])
    os.chown(d, sandbox_uid(env), 0)
    os.chmod(d, 0o775)
    r = learn(env, d, cmd)
    if not h.ok(r.rc == 0 and r.out == "2 50\n",
                f"{label}: learn runs it in a group-root 775 directory", r.describe()):
        return
    text = read_manifest(d) or ""
    h.ok("\ninclude: [shell]\n" in text or "\ninclude: [system, shell]\n" in text
         or "include: [shell" in text, f"{label}: the shell profile (awk, sh, tee)", text)
    h.ok(entries(text, "write") == [f"./out:{d}/out"],
         f"{label}: write only out/ (mkdir -p of it changed nothing)", entries(text, "write"))
    check(env, d, label)
    res = env.skillbox(["run", d])
    h.ok(res.rc == 0 and res.out == "2 50\n"
         and open(os.path.join(d, "out", "total.txt")).read() == "2 50\n",
         f"{label}: the draft runs unchanged", res.describe())


def case_tmp_sibling(env):
    """Learning shows the host's files read-only, /tmp's included: a directory below /tmp
    reads its sibling, and the draft declares it."""
    label = f"{env.ident} /tmp sibling"
    top = os.path.join(env.top, "sib")
    d = os.path.join(top, "app")
    data = os.path.join(top, "data")
    os.makedirs(d)
    os.makedirs(data)
    with open(os.path.join(data, "in.txt"), "w") as f:
        f.write("from a sibling\n")
    for p in (top, d, data):
        os.chmod(p, 0o755)
    os.chmod(os.path.join(data, "in.txt"), 0o644)
    os.chown(d, sandbox_uid(env), sandbox_uid(env))
    r = learn(env, d, ["cat", "../data/in.txt"])
    if not h.ok(r.rc == 0 and r.out == "from a sibling\n",
                f"{label}: learn reads ../data below /tmp", r.describe()):
        return
    text = read_manifest(d) or ""
    h.ok(os.path.join(data, "in.txt") in entries(text, "read"),
         f"{label}: the draft declares the sibling's file", text)
    res = env.skillbox(["run", d])
    h.ok(res.rc == 0 and res.out == "from a sibling\n", f"{label}: the draft runs unchanged",
         res.describe())


def case_status(env):
    label = f"{env.ident} status"
    d = make_skill(env, "failing", {})
    r = learn(env, d, ["sh", "-c", "echo partial; exit 3"])
    text = read_manifest(d)
    h.ok(r.rc == 3 and r.out == "partial\n" and "exited with status 3" in r.err,
         f"{label}: learn exits with the command's status and warns", r.describe())
    h.ok(text is not None and "# It exited with status 3." in text and "WARNING" in text,
         f"{label}: ... and still writes the manifest, with the warning", text)
    if text is not None:
        check(env, d, label)

    d = make_skill(env, "missing", {})
    r = learn(env, d, ["no-such-command-skillbox"])
    h.ok(r.rc == 127 and read_manifest(d) is None,
         f"{label}: a command that is not found: 127, no manifest", r.describe())

    r = learn(env, d, ["sh", "-c", "echo first"], output=None)
    h.ok(r.rc == 0 and r.out.startswith("first\n# Generated by skillbox learn")
         and "\nskillbox: 1\n" in r.out and f"    - {d}\n" in r.out,
         f"{label}: without -o the manifest follows the command's output, paths absolute",
         r.describe())


# --- main ------------------------------------------------------------------------------


def main():
    if not shutil.which("pasta", path="/usr/bin:/bin") and \
            not shutil.which("slirp4netns", path="/usr/bin:/bin"):
        h.skip("learn", "neither pasta nor slirp4netns is installed")
        h.done()
    with h.tun_for_all() as usable:
        if not usable:
            h.skip("learn", "/dev/net/tun is not usable by this user (needs mode 0666)")
            h.done()
        with http_servers(2) as ports:
            for ident in h.identities():
                with h.Env(ident) as env:
                    timings = []
                    case_python(env, timings)
                    case_pipeline(env)
                    case_no_network(env)
                    case_fetch(env, ports)
                    case_status(env)
                    case_threads(env)
                    case_awk(env)
                    case_tmp_sibling(env)
                    t = dict(timings)
                    if "learn" in t and "run" in t:
                        h.diag(f"{ident}: overhead: learn {t['learn'] * 1000:.0f} ms, "
                               f"run {t['run'] * 1000:.0f} ms for the Python case "
                               f"(learn traces every exec, open and connect, starts the "
                               f"network stack, and reads its trail back)")
    h.done()


if __name__ == "__main__":
    main()
