#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Integration tests for `skillbox audit verify` and `skillbox audit summary`, on audit trails
written by real runs: a skill whose write to a read-only path fails and that exits 3, one that
runs past its timeout, and one with an invalid manifest (125). Every case runs once per
identity (root and an unprivileged user).

The trails are checked intact (verify exits 0 and prints the head, the SHA-256 of the last
line), then tampered copies are made the ways an attacker or an accident would (an edited
field in a middle line, a removed line, two lines swapped, the last line cut in the middle,
a dropped run.summary, a forged line appended with a correct prev): verify must exit 1 naming
the right line, and summary must say so loudly at the top and exit 1 while still reporting
what is there. Events of layers that are not finished yet (syscall.deny, net.connect,
file.open) are covered by the unit tests with trails made by the real writer.
"""

import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

SYSTEM = ["/usr", "/bin", "/lib", "/lib64", "/sbin"]
RUN_TIMEOUT = 30  # bounded wait for any one skillbox command
FORMATS = ("text", "markdown", "json")


def manifest(name, command, limits=None):
    lines = [
        "skillbox: 1",
        f"name: {name}",
        f"command: {json.dumps(command)}",
        "workdir: /skill",
        "filesystem:",
        f"  read: {json.dumps(SYSTEM + ['.:/skill'])}",
    ]
    if limits:
        lines.append("limits:")
        lines += [f"  {k}: {v}" for k, v in limits.items()]
    return "\n".join(lines) + "\n"


def make_env(ident):
    env = h.Env(ident).__enter__()
    # Audit files go to env.top; an unprivileged skillbox must be able to create them there.
    os.chown(env.top, ident.uid, ident.gid)
    return env


def audit(env, args):
    return env.skillbox(["audit"] + list(args), timeout=RUN_TIMEOUT)


def put(env, name, data):
    """Writes a (tampered) copy the identity can read; returns its path."""
    p = os.path.join(env.top, name)
    with open(p, "wb") as f:
        f.write(data)
    os.chown(p, env.ident.uid, env.ident.gid)
    return p


def read(p):
    with open(p, "rb") as f:
        return f.read()


def sha256(b):
    return hashlib.sha256(b).hexdigest()


def lines_of(data):
    """Lines without their newlines (the file must end with one)."""
    return data.split(b"\n")[:-1]


def join(lines):
    return b"".join(l + b"\n" for l in lines)


class Trails:
    """The three real runs of one identity, and their trails."""

    def __init__(self, env):
        self.env = env
        tag = f"[{env.ident}]"
        d = env.skill(manifest("exit-three", ["/bin/sh", "-c", "echo x > /skill/ro.txt || exit 3"]),
                      name="exit-three")
        r = env.skillbox(["run", d], timeout=RUN_TIMEOUT)
        h.ok(r.rc == 3, f"{tag} setup: the read-only write fails and the skill exits 3",
             r.describe())
        self.exit3 = env.last_audit_path
        self.exit3_events = r.events

        d = env.skill(manifest("slow", ["/bin/sleep", "30"], limits={"timeout": "1s"}),
                      name="slow")
        r = env.skillbox(["run", d], timeout=RUN_TIMEOUT)
        h.ok(r.rc == 124, f"{tag} setup: the slow skill times out (124)", r.describe())
        self.slow = env.last_audit_path

        d = env.skill("skillbox: 1\nname: Bad-Name\n", name="bad")
        r = env.skillbox(["run", d], timeout=RUN_TIMEOUT)
        h.ok(r.rc == 125, f"{tag} setup: an invalid manifest is refused (125)", r.describe())
        self.bad = env.last_audit_path

        self.all = put(env, "all.jsonl", read(self.exit3) + read(self.slow) + read(self.bad))


# --- cases --------------------------------------------------------------------------------


def case_verify_intact(env, t):
    tag = f"[{env.ident}] verify"
    for name, p, runs in (("exit 3", t.exit3, 1), ("timeout", t.slow, 1),
                          ("bad manifest", t.bad, 1), ("three runs", t.all, 3)):
        data = read(p)
        lines = lines_of(data)
        r = audit(env, ["verify", p])
        m = re.fullmatch(r"(.*): intact: (\d+) lines, (\d+) runs?, head sha256:([0-9a-f]{64})\n",
                         r.out)
        h.ok(r.rc == 0 and m, f"{tag}: {name}: intact, exit 0", r.describe())
        if m:
            h.ok(m.group(1) == p and int(m.group(2)) == len(lines) and int(m.group(3)) == runs,
                 f"{tag}: {name}: names the file, {len(lines)} lines, {runs} run(s)", r.out)
            h.ok(m.group(4) == sha256(lines[-1]),
                 f"{tag}: {name}: the head is the SHA-256 of the last line", r.out)
    r = audit(env, ["verify", "-q", t.all])
    h.ok(r.rc == 0 and r.out == "", f"{tag}: -q prints nothing", r.describe())


def case_head(env, t):
    tag = f"[{env.ident}] verify --head"
    data = read(t.exit3)
    lines = lines_of(data)
    head = sha256(lines[-1])
    r = audit(env, ["verify", "--head", head, t.exit3])
    h.ok(r.rc == 0, f"{tag}: the printed head passes", r.describe())
    r = audit(env, ["verify", "--head", head.upper(), t.exit3])
    h.ok(r.rc == 0, f"{tag}: the head is compared without regard to case", r.describe())
    other = sha256(b"not the head")
    r = audit(env, ["verify", "--head", other, t.exit3])
    h.ok(r.rc == 1 and "not the recorded head" in r.err and other in r.err,
         f"{tag}: another hash fails, naming both", r.describe())

    # No later line vouches for the last one: only the head catches its edit.
    edited = lines[:-1] + [lines[-1].replace(b'"status":3', b'"status":0', 1)]
    p = put(env, "last-edited.jsonl", join(edited))
    r = audit(env, ["verify", p])
    h.ok(r.rc == 0, f"{tag}: an edited last line still chains (why --head exists)",
         r.describe())
    r = audit(env, ["verify", "--head", head, p])
    h.ok(r.rc == 1 and f"{p}:{len(lines)}:" in r.err,
         f"{tag}: with the kept head, the edited last line is caught", r.describe())


def tampered_copies(t):
    """(name, data, bad line, words of the reason, a skill the summary still names)."""
    one = lines_of(read(t.exit3))
    all_ = lines_of(read(t.all))
    n1 = len(one)
    out = []

    # policy.fs is line 2: making a writable mount look read-only is a forgery worth trying.
    fs = [i for i, l in enumerate(one) if b'"event":"policy.fs"' in l][0]
    edited = list(one)
    edited[fs] = edited[fs].replace(b'"access":"ro"', b'"access":"rw"', 1)
    out.append(("edited field in a middle line", join(edited), fs + 2,
                f"line {fs + 1} was edited", "exit-three"))

    removed = one[:2] + one[3:]
    out.append(("removed line", join(removed), 3, "seq 3, expected 2", "exit-three"))

    swapped = list(one)
    swapped[2], swapped[3] = swapped[3], swapped[2]
    out.append(("two lines reordered", join(swapped), 3, "seq 3, expected 2", "exit-three"))

    cut = join(all_)[: -(len(all_[-1]) // 2) - 1]
    out.append(("last line truncated mid-way", cut, len(all_), "no newline at the end",
                "exit-three"))

    out.append(("run.summary dropped at the end", join(one[:-1]), n1,
                "ends without run.summary", "exit-three"))
    out.append(("run.summary of the first run dropped", join(all_[: n1 - 1] + all_[n1:]), n1,
                "ends without run.summary", "slow"))

    # A forged line appended after run.summary, correctly chained to it.
    last = json.loads(one[-1])
    forged = {"v": 1, "seq": last["seq"] + 1, "ts": last["ts"], "run": last["run"],
              "event": "run.exit", "status": 0, "prev": sha256(one[-1])}
    out.append(("forged line appended", join(one + [json.dumps(forged, separators=(",", ":"))
                                                   .encode()]),
                n1 + 1, "already ended with run.summary", "exit-three"))
    return out


def case_tampered(env, t):
    for i, (name, data, bad, words, skill) in enumerate(tampered_copies(t)):
        tag = f"[{env.ident}] {name}"
        p = put(env, f"tampered-{i}.jsonl", data)
        r = audit(env, ["verify", p])
        h.ok(r.rc == 1 and r.err.startswith(f"{p}:{bad}:") and words in r.err,
             f"{tag}: verify exits 1 naming line {bad} ({words})", r.describe())

        r = audit(env, ["summary", p])
        top = "\n".join(r.out.splitlines()[:4])
        # A missing run.summary is reported after the last line there is.
        h.ok(r.rc == 1 and "CHAIN BROKEN" in top
             and (f"at line {bad}:" in top or f"after line {bad - 1}:" in top),
             f"{tag}: summary says so at the top, naming line {bad}, and exits 1",
             r.describe())
        h.ok(f"== run 1 of" in r.out and skill in r.out and "[CHAIN BROKEN]" in r.out,
             f"{tag}: summary still reports what is there, the broken run marked", r.out)

        r = audit(env, ["summary", "--format", "markdown", p])
        h.ok(r.rc == 1 and "❌ **CHAIN INTEGRITY: BROKEN**" in r.out
             and "❌ **CHAIN BROKEN**" in r.out,
             f"{tag}: markdown has the ❌ integrity line, and per run", r.describe())

        r = audit(env, ["summary", "--format", "json", p])
        try:
            rep = json.loads(r.out)
        except ValueError as e:
            rep = None
            h.diag(f"json: {e}")
        h.ok(r.rc == 1 and rep and rep["chain"]["intact"] is False
             and rep["chain"]["bad_line"] == bad
             and any(not run["integrity"]["intact"] for run in rep["runs"]),
             f"{tag}: json says the chain is broken at line {bad}", r.describe())


def check_markdown_lines(tag, out, intact):
    integrity = "✅ **Chain integrity: intact**" if intact else "❌ **CHAIN INTEGRITY: BROKEN**"
    h.ok(integrity in out, f"{tag}: markdown integrity line", out)
    m = re.search(r"^(✅|❌) \*\*Refusals: (\d+)\*\*$", out, re.M)
    h.ok(m and (m.group(1) == "✅") == (m.group(2) == "0"),
         f"{tag}: markdown refusals line, ✅ only for 0", out)
    return int(m.group(2)) if m else None


def case_summary(env, t):
    tag = f"[{env.ident}] summary"
    outs = {}
    for fmt in FORMATS:
        r = audit(env, ["summary", "--format", fmt, t.all])
        h.ok(r.rc == 0 and r.err == "", f"{tag} {fmt}: intact trail, exit 0", r.describe())
        outs[fmt] = r.out

    text = outs["text"]
    h.ok(text.startswith(f"skillbox audit summary: {t.all}\nchain: intact, "),
         f"{tag} text: chain line first", text[:300])
    h.ok("== run 1 of 3: exit-three ==" in text and "== run 2 of 3: slow ==" in text
         and "== run 3 of 3 ==" in text, f"{tag} text: one section per run", text)
    h.ok("status 3: exited, exit code 3" in text, f"{tag} text: exit 3", text)
    h.ok("status 124: timeout" in text and "timeout 1s -> killed" in text,
         f"{tag} text: the timeout, and the limit hit", text)
    h.ok("status 125: setup-failed" in text and "error: invalid manifest" in text,
         f"{tag} text: the refused manifest", text)
    h.ok(f"uid {env.ident.uid}, gid {env.ident.gid}" in text,
         f"{tag} text: who ran it", text)
    h.ok(re.search(r"when +\d{4}-\d\d-\d\dT[0-9:.]+Z, ran 1\.\d{3} s", text),
         f"{tag} text: when, and how long the slow run took", text)

    md = outs["markdown"]
    refusals = check_markdown_lines(f"{tag} markdown", md, True)
    h.ok("## Run 1 of 3: `exit-three`, exit 3" in md and "## Run 2 of 3: `slow`, exit 124" in md
         and "## Run 3 of 3: unknown skill, exit 125" in md,
         f"{tag} markdown: a heading per run with skill and exit", md)
    h.ok("| 1 | `exit-three` | 3 |" in md and "| 2 | `slow` | 124 |" in md,
         f"{tag} markdown: runs overview table", md)
    h.ok("`timeout 1s -> killed" in md, f"{tag} markdown: the limit hit", md)

    try:
        rep = json.loads(outs["json"])
    except ValueError as e:
        h.ok(False, f"{tag} json: parses", str(e))
        return
    h.ok(True, f"{tag} json: parses")
    runs = rep.get("runs", [])
    r = audit(env, ["verify", t.all])
    h.ok(rep["chain"]["intact"] is True and rep["chain"]["head"] in r.out and len(runs) == 3,
         f"{tag} json: chain intact with verify's head, 3 runs", outs["json"][:2000])
    if len(runs) != 3:
        return
    h.ok(rep["refusals"] == refusals, f"{tag} json: refusals agree with markdown")
    a, b, c = runs
    h.ok(a["skill"] == "exit-three" and a["exit"]["status"] == 3 and a["exit"]["exit"] == 3
         and a["exit"]["reason"] == "exited", f"{tag} json: exit 3", json.dumps(a)[:2000])
    h.ok(a["caller_uid"] == env.ident.uid and a["host_uid"] is not None
         and (a["host_uid"] != 0 or not env.ident.is_root),
         f"{tag} json: caller uid, and a host uid that is not root", json.dumps(a)[:2000])
    h.ok(b["skill"] == "slow" and b["exit"]["status"] == 124
         and [g["limit"] for g in b["limits_hit"]] == ["timeout"]
         and b["policy"]["limits"].get("timeout") == "1s",
         f"{tag} json: the timeout, its limit and limit hit", json.dumps(b)[:2000])
    h.ok(c["skill"] is None and c["exit"]["status"] == 125 and c["exit"]["reason"] ==
         "setup-failed", f"{tag} json: the refused manifest", json.dumps(c)[:2000])
    h.ok(all(run["integrity"]["intact"] for run in runs), f"{tag} json: every run intact")

    # When a file tracer records the refused write, every format must list it.
    paths = [e.get("path") for e in t.exit3_events
             if e.get("event") in ("file.open", "file.change") and e.get("declared") is False]
    if not paths:
        h.skip(f"{tag}: file accesses outside the manifest listed",
               "no file.open/file.change events in the trail (tracing not recorded yet)")
    for p in paths:
        h.ok(p in text and p in md and p in json.dumps(a["files_outside_manifest"]),
             f"{tag}: {p} listed in every format")


def case_usage(env, t):
    tag = f"[{env.ident}] usage"
    r = audit(env, ["summary", os.path.join(env.top, "missing.jsonl")])
    h.ok(r.rc == 125 and "missing.jsonl" in r.err, f"{tag}: a missing file is 125",
         r.describe())
    r = audit(env, ["summary", "--format", "yaml", t.exit3])
    h.ok(r.rc == 125 and "--format" in r.err, f"{tag}: an unknown format is 125", r.describe())
    p = put(env, "empty.jsonl", b"")
    r = audit(env, ["summary", p])
    h.ok(r.rc == 1 and "CHAIN BROKEN" in r.out and "No runs" in r.out,
         f"{tag}: an empty file is reported broken", r.describe())
    p = put(env, "garbage.jsonl", bytes(range(256)) * 8 + b"\n{}\n[]\n")
    for fmt in FORMATS:
        r = audit(env, ["summary", "--format", fmt, p])
        h.ok(r.rc == 1 and r.err == "", f"{tag}: garbage gives a report ({fmt}), exit 1",
             r.describe())
        if fmt == "text":
            h.ok(not re.search(r"[\x00-\x09\x0b-\x1f\x7f]", r.out),
                 f"{tag}: no control characters reach the terminal", repr(r.out[:500]))
        if fmt == "json":
            try:
                json.loads(r.out)
                h.ok(True, f"{tag}: garbage gives valid JSON")
            except ValueError as e:
                h.ok(False, f"{tag}: garbage gives valid JSON", str(e))


CASES = [case_verify_intact, case_head, case_tampered, case_summary, case_usage]


def main():
    binary = h.skillbox_binary()
    if not os.access(binary, os.X_OK):
        h.skip("skillbox audit", f"{binary} is not built")
        h.done()
    for ident in h.identities():
        h.diag(f"identity {ident} (uid {ident.uid})")
        env = make_env(ident)
        try:
            t = Trails(env)
            for case in CASES:
                try:
                    case(env, t)
                except Exception:  # a crash in one case must not hide the others
                    import traceback

                    h.ok(False, f"[{ident}] {case.__name__} ran to the end",
                         traceback.format_exc())
        finally:
            env.__exit__(None, None, None)
    h.done()


if __name__ == "__main__":
    main()
