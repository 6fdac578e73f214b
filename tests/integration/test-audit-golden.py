#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`skillbox audit summary` and `audit verify`, byte for byte against saved outputs.

The inputs are trails written by real runs (audit-golden/trails: the examples, skills that
hit the seccomp filter, the egress rules, the output and time limits, traced runs with file,
exec and connect events, an invalid manifest, an unprivileged caller, several runs in one
file), made machine-independent once (fixed run ids, times rebased to 2026-01-01, a fixed
kernel and paths, the chain recomputed). From them this test derives, in a temporary
directory, the damaged and hostile variants: lines edited, removed, swapped, cut, CRLF
endings, a forged line, interleaved runs, foreign lines (not JSON, no run id, hostile
strings for a terminal or markdown), and single lines made unusual in one way each with the
chain recomputed after them, so that only the reader's own checks can catch them.

Each case is summarised in the three formats and verified; the outputs must equal
audit-golden/expected/ exactly, and summary must exit 1 exactly when verify does. After a
deliberate change of the report, regenerate the expected files with
    SKILLBOX=build/launcher/skillbox tests/integration/test-audit-golden.py --update
and read the diff before committing it.
"""

import hashlib
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

HERE = os.path.join(h.source_root(), "tests", "integration", "audit-golden")
TRAILS = os.path.join(HERE, "trails")
EXPECTED = os.path.join(HERE, "expected")
FORMATS = ("text", "markdown", "json")
TIMEOUT = 30


def sha(b):
    return hashlib.sha256(b).hexdigest().encode()


def lines(b):
    return b.split(b"\n")[:-1]


def join(ls):
    return b"".join(x + b"\n" for x in ls)


def rechain(ls):
    """Recomputes prev after the first line (one run), as a forger would."""
    out = []
    for i, x in enumerate(ls):
        if i:
            x = re.sub(rb'"prev":"[0-9a-f]{64}"}$', b'"prev":"' + sha(out[-1]) + b'"}', x)
        out.append(x)
    return out


def derived(base):
    """The damaged and hostile variants, from the base trails: {name: bytes}."""
    t, s, r = lines(base["traced"]), lines(base["seccomp"]), lines(base["rofail"])
    run = re.search(rb'"run":"([0-9a-f-]{36})"', s[0]).group(1)
    cases = {}

    e = list(s)
    e[3] = e[3].replace(b'"ts":"2026', b'"ts":"2025', 1)
    cases["edited"] = join(e)
    e = list(t)
    del e[20]
    cases["removed"] = join(e)
    e = list(s)
    e[5], e[6] = e[6], e[5]
    cases["swapped"] = join(e)
    e = list(s)
    e[0] = e[0].replace(b'"seq":0,', b'"seq":-0,', 1)
    cases["edited-seq"] = join(e)  # the same number to a reader; other bytes to the chain
    cases["truncated"] = join(s)[:-40]
    cases["no-newline"] = join(s)[:-1]
    cases["nosummary"] = join(s[:-1])
    cases["crlf"] = b"".join(x + b"\r\n" for x in r)
    cases["empty"] = b""
    forged = (
        b'{"v":1,"seq":%d,"ts":"2026-01-01T10:00:00.000000Z","run":"%s","event":"net.connect",'
        b'"verdict":"allow","address":"6.6.6.6","port":443,"proto":"tcp","prev":"%s"}'
        % (len(r), re.search(rb'"run":"([0-9a-f-]{36})"', r[0]).group(1), sha(r[-1]))
    )
    cases["forged"] = join(r + [forged])
    il = []
    for i in range(max(len(r), len(s))):
        il += r[i : i + 1] + s[i : i + 1]
    cases["interleaved"] = join(il)

    common = b'{"v":1,"run":"' + run + b'",'
    foreign = [
        b"",
        b"not json at all",
        b"[1,2,3]",
        b'{"event":"net.connect","verdict":"deny","address":"1.2.3.4","port":8080,"proto":"tcp"}',
        common + b'"seq":99,"event":"file.open","declared":false,"path":"/home/`x`|y'
        b'\xe2\x80\xae\x1b[31mred","access":"read","ts":"2026-01-01T00:00:00.000000Z"}',
        common + b'"event":"dns.query","verdict":"deny","name":"a|b`c`.test","qtype":"TXT",'
        b'"dup":1,"dup":2}',
        common + b'"event":"syscall.deny","syscall":"evil","errno":"EPERM",'
        b'"huge":123456789012345678901234567890,"real":1.250000,"neg":-0,'
        b'"deep":[[[[{"a":[]}]]]]}',
        common + b'"event":"limit.hit","limit":"memory","value":18446744073709551615,'
        b'"action":"killed"}',
        common + b'"event":"bad\xff\xfeutf8","x":"\xc0\xaf"}',
        common + b'"event":"audit.lost","source":"trace","count":5}',
        common + b'"event":"proc.exec","path":"/bin/\\u0000nul\\ud83d\\ude00","nested":'
        + b"[" * 70
        + b"]" * 70
        + b"}",
        b'{"run":12,"event":"run.start"}',
        b'{"run":"other-run","event":"run.start","skill":"ghost","argv":["a b","c\'d",1,null]}',
        common + b'"event":"net.connect","verdict":"allow","address":"::1","port":80,'
        b'"proto":"tcp","host":"h"} trailing',
        b'\xef\xbb\xbf{"bom":1}',
        b'{"a":NaN}',
        b'{"a":1}/*c*/',
    ]
    cases["foreign"] = join(s[:8] + foreign + s[8:])
    cases["only-foreign"] = join(foreign)

    def mut(name, i, f):
        e = list(s)
        e[i] = f(e[i])
        cases["v-" + name] = join(rechain(e))

    def ins(extra):
        return lambda x: x.replace(b',"prev":', b"," + extra + b',"prev":', 1)

    mut("dup-common", 7, ins(b'"event":"x"'))
    mut("dup-other", 7, ins(b'"a":1,"a":2'))
    mut("nan", 7, ins(b'"a":NaN'))
    mut("infinity", 7, ins(b'"a":-Infinity'))
    mut("comment", 7, lambda x: x.replace(b',"prev":', b',/*c*/"prev":', 1))
    mut("squote", 7, ins(b"'a':1"))
    mut("bigint", 7, ins(b'"a":123456789012345678901234567890'))
    mut("uint64", 7, ins(b'"a":18446744073709551615'))
    mut("int64min-1", 7, ins(b'"a":-9223372036854775809'))
    mut("hugereal", 7, ins(b'"a":1e400'))
    mut("bad-utf8", 7, ins(b'"a":"\xff"'))
    mut("overlong", 7, ins(b'"a":"\xc0\xaf"'))
    mut("surrogate-raw", 7, ins(b'"a":"\xed\xa0\x80"'))
    mut("lone-surrogate", 7, ins(b'"a":"\\ud800"'))
    mut("raw-tab", 7, ins(b'"a":"x\ty"'))
    mut("nul-key", 7, ins(b'"a\\u0000b":1'))
    mut("nul-value", 7, ins(b'"a":"x\\u0000y"'))
    mut("depth64", 7, ins(b'"a":' + b"[" * 63 + b"]" * 63))
    mut("depth65", 7, ins(b'"a":' + b"[" * 64 + b"]" * 64))
    mut("depth3000", 7, ins(b'"a":' + b"[" * 3000 + b"]" * 3000))
    mut("v-real", 7, lambda x: x.replace(b'{"v":1,', b'{"v":1.0,', 1))
    mut("v-exp", 7, lambda x: x.replace(b'{"v":1,', b'{"v":1e0,', 1))
    mut("seq-neg0", 0, lambda x: x.replace(b'"seq":0,', b'"seq":-0,', 1))
    mut("seq-real", 7, lambda x: x.replace(b'"seq":7,', b'"seq":7.0,', 1))
    mut("seq-str", 7, lambda x: x.replace(b'"seq":7,', b'"seq":"7",', 1))
    mut("trailing", 7, lambda x: x + b" x")
    mut("ws", 7, lambda x: b" " + x.replace(b',"prev"', b' , "prev" ') + b" ")
    mut("trailing-comma", 7, lambda x: x[:-1] + b",}")
    mut("bom", 7, lambda x: b"\xef\xbb\xbf" + x)
    mut("prev-not-last", 7, lambda x: x[:-1] + b',"z":1}')
    mut("order", 7, lambda x: x.replace(b'{"v":1,"seq":7,', b'{"seq":7,"v":1,', 1))
    mut("escaped-key", 7, lambda x: x.replace(b'"event":', b'"\\u0065vent":', 1))
    mut("escaped-prev", 7, lambda x: x.replace(b'"prev":"', b'"pr\\u0065v":"', 1))
    mut("unicode-esc-value", 7, ins(b'"a":"\\u00e9\\ud83d\\ude00"'))
    mut("not-object", 7, lambda x: b"[" + x + b"]")
    mut("ctrl-c1", 7, ins(b'"a":"\xc2\x9b31m"'))
    return cases


def run(args, cwd):
    p = subprocess.run(
        [h.skillbox_binary()] + args,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if args[1] == "verify" else subprocess.PIPE,
        timeout=TIMEOUT,
    )
    return p.returncode, p.stdout


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a.split(b"\n"), b.split(b"\n"))):
        if x != y:
            return f"line {i + 1}:\n  expected {y[:300]!r}\n  got      {x[:300]!r}"
    return "lengths differ"


def main():
    update = "--update" in sys.argv
    base = {}
    for name in sorted(os.listdir(TRAILS)):
        if name.endswith(".jsonl"):
            with open(os.path.join(TRAILS, name), "rb") as f:
                base[name[: -len(".jsonl")]] = f.read()
    h.ok(len(base) >= 10, f"{len(base)} base trails found in {TRAILS}")
    cases = dict(base)
    cases.update(derived(base))
    if update:
        os.makedirs(EXPECTED, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="skillbox-golden-") as top:
        for name, data in sorted(cases.items()):
            fname = name + ".jsonl"
            with open(os.path.join(top, fname), "wb") as f:
                f.write(data)
            rc, out = run(["audit", "verify", fname], top)
            outputs = {"verify": b"rc=%d\n" % rc + out}
            for fmt in FORMATS if not name.startswith("v-") else ():
                src, rep = run(["audit", "summary", "--format", fmt, fname], top)
                h.ok(src == (1 if rc else 0), f"{name}: summary --format {fmt} exits {src}, "
                     f"verify {rc}")
                outputs[fmt] = rep
            for kind, got in outputs.items():
                path = os.path.join(EXPECTED, f"{name}.{kind}")
                if update:
                    with open(path, "wb") as f:
                        f.write(got)
                    continue
                try:
                    with open(path, "rb") as f:
                        want = f.read()
                except FileNotFoundError:
                    want = None
                same = got == want
                h.ok(same, f"{name}: {kind} output is the saved one",
                     None if same else ("no saved output" if want is None
                                        else first_difference(got, want)))
    h.done()


if __name__ == "__main__":
    main()
