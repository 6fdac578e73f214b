#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""How an agent harness runs Agent Skill scripts under skillbox: one tool call, one sandbox.

The model asks for a tool call such as

    {"skill": "report-tools", "script": "scripts/summarize.py", "args": ["q3.txt"],
     "inputs": ["q3.txt"]}

and the harness, instead of running the script itself, runs

    skillbox run --audit AUDIT --read /abs/q3.txt:/in/q3.txt \\
        [--write OUTDIR:/out] SKILL_DIR -- scripts/summarize.py /in/q3.txt

The skill folder's manifest (written once by `skillbox init SKILL_DIR`, reviewed by a human)
says what the skill may do in general: its folder read-only at /skill, its interpreters, no
network, no secrets. What one call needs — the user's input file, a place for output — is
granted on the command line for that run only, and recorded in the audit trail as coming
from the command line. The script sees its input at /in/NAME; the model never names a host
path the sandbox would open.

Run it to see one call: python3 examples/harness/harness.py [REPORT]
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SKILLS = os.path.join(os.path.dirname(HERE), "agent-skill")


def skillbox_binary():
    """SKILLBOX, else the build tree's, else skillbox in PATH."""
    built = os.path.join(os.path.dirname(os.path.dirname(HERE)), "build", "launcher", "skillbox")
    return os.environ.get("SKILLBOX") or (built if os.access(built, os.X_OK) else "skillbox")


def run_tool_call(skill_dir, script, args=(), inputs=(), output_dir=None, timeout=120):
    """Runs one script of a skill in its own sandbox. inputs are host files the call may read
    (each appears as /in/BASENAME, and an argument naming it is rewritten to that); output_dir
    is a host directory the call may write (/out). Returns a dict for the model: exit status,
    stdout, stderr, and what skillbox refused, from the audit trail."""
    fd, audit = tempfile.mkstemp(prefix="tool-call-", suffix=".jsonl")
    os.close(fd)
    os.unlink(audit)
    argv = [skillbox_binary(), "run", "--audit", audit]
    mapped = {}
    for path in inputs:
        inside = "/in/" + os.path.basename(path)
        argv += ["--read", f"{os.path.abspath(path)}:{inside}"]
        mapped[path] = inside
    if output_dir:
        argv += ["--write", f"{os.path.abspath(output_dir)}:/out"]
    argv += [skill_dir, "--", script] + [mapped.get(a, a) for a in args]
    try:
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        result = {"exit": p.returncode, "stdout": p.stdout, "stderr": p.stderr}
    except subprocess.TimeoutExpired:
        result = {"exit": None, "stdout": "", "stderr": "the harness gave up waiting"}
    result["refused"] = refusals(audit)
    if os.path.exists(audit):
        os.unlink(audit)  # a real harness keeps it with the conversation
    return result


def refusals(audit):
    """What skillbox refused during the call, from run.summary."""
    try:
        with open(audit) as f:
            events = [json.loads(line) for line in f if line.strip()]
    except OSError:
        return None
    summary = next((e for e in events if e.get("event") == "run.summary"), {})
    return summary.get("refusals")


def main(argv):
    report = argv[1] if len(argv) > 1 else os.path.join(SKILLS, "report-tools", "SKILL.md")
    skill = os.path.join(SKILLS, "report-tools")
    for script, args in (("scripts/summarize.py", [report]),
                         ("scripts/headings.sh", [report]),
                         ("scripts/wordfreq.py", [report, "3"])):
        r = run_tool_call(skill, script, args, inputs=[report])
        print(f"$ {script} {' '.join(args)}  -> exit {r['exit']}, refused {r['refused']}")
        sys.stdout.write(r["stdout"])
        sys.stderr.write(r["stderr"])
        if r["exit"] != 0:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
