#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Packaging and the CI and container examples, as far as a test gets without a CI service, a
container engine or a kernel with AppArmor. (.ci/package builds and installs the Debian
package, parses the profile with AppArmor 4, and runs the container example under runc.)

- examples/ci/github-workflow.yml, examples/ci/gitlab-ci.yml and examples/kubernetes/job.yaml
  are YAML of the shape their tools expect.
- Every skillbox command in the two CI files runs as written, in a copy of the repository's
  examples, with the built binary as `skillbox` on PATH: GitHub's as an unprivileged user (a
  runner's user), GitLab's as root (the docker executor's user). The CI step passes, and the
  job summary is the audit summary in markdown, chain intact.
- The Kubernetes image's entrypoint, run on the host as an unprivileged user: stdout is the
  audit trail and nothing else (JSON lines, chain intact), the skill's output is on stderr.
  The skill the Job runs is the one the Containerfile copies, and its manifest passes check.
- The AppArmor profile the build generates names this build's installed binary and grants
  userns; apparmor_parser >= 4.0 parses it (skipped where the parser is older).
- debian/: the changelog's version is meson's, and Build-Depends names every -dev package
  .ci/run installs.
"""

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

try:
    import yaml
except ImportError:  # python3-yaml; .ci/run installs it
    yaml = None

SRC = h.source_root()
BUILD = os.environ.get("BUILD_ROOT", os.path.join(SRC, "build"))
GITHUB = os.path.join(SRC, "examples", "ci", "github-workflow.yml")
GITLAB = os.path.join(SRC, "examples", "ci", "gitlab-ci.yml")
JOB = os.path.join(SRC, "examples", "kubernetes", "job.yaml")
CONTAINERFILE = os.path.join(SRC, "examples", "kubernetes", "Containerfile")


def load(path):
    with open(path) as f:
        return yaml.safe_load(f)


def skillbox_lines(lines):
    """The lines of a CI script that run skillbox (in any `;`-separated part)."""
    return [l for l in lines
            if any(part.strip().startswith("skillbox ") for part in l.split(";"))]


# --- shapes ------------------------------------------------------------------------------------


def check_shapes():
    gh = load(GITHUB)
    # PyYAML reads the key `on` as True (YAML 1.1); GitHub reads it as "on".
    trigger = gh.get("on", gh.get(True))
    job = (gh.get("jobs") or {}).get("skill") or {}
    steps = job.get("steps") or []
    h.ok(trigger and job.get("runs-on") == "ubuntu-24.04" and steps
         and all(("run" in s) != ("uses" in s) for s in steps),
         "github-workflow.yml: a workflow with a trigger, one ubuntu-24.04 job, and steps that "
         "each run or use one thing", json.dumps(gh, default=str)[:2000])
    summary = [s for s in steps if "GITHUB_STEP_SUMMARY" in s.get("run", "")]
    h.ok(summary and "audit summary --format markdown" in summary[0]["run"]
         and "always()" in summary[0].get("if", ""),
         "github-workflow.yml: the markdown audit summary goes to the job summary, also when "
         "the skill fails", summary)

    gl = load(GITLAB)
    jobs = {k: v for k, v in gl.items() if isinstance(v, dict) and "script" in v}
    job = jobs.get("skillbox") or {}
    h.ok(len(jobs) == 1 and job.get("image") and isinstance(job.get("script"), list)
         and (job.get("artifacts") or {}).get("when") == "always"
         and "skillbox-summary.md" in (job.get("artifacts") or {}).get("paths", []),
         "gitlab-ci.yml: one job with an image, a script, and the markdown summary kept as an "
         "artifact whatever the outcome", json.dumps(gl)[:2000])

    k = load(JOB)
    pod = k["spec"]["template"]["spec"]
    (ctr,) = pod["containers"]
    sc = ctr.get("securityContext", {})
    h.ok(k.get("kind") == "Job" and pod.get("hostUsers") is False
         and sc.get("procMount") == "Unmasked" and sc.get("runAsNonRoot") is True
         and sc.get("allowPrivilegeEscalation") is False and pod.get("restartPolicy") == "Never",
         "job.yaml: a Job whose pod has its own user namespace, an unmasked /proc, a non-root "
         "user and no privilege escalation", json.dumps(k)[:2000])


# --- the CI files' skillbox commands, run as written -------------------------------------------


def scratch_checkout(env):
    """What a CI job sees: a checkout of the repository (its examples are all these commands
    use), owned by the job's user."""
    d = os.path.join(env.work, "checkout")
    shutil.copytree(os.path.join(SRC, "examples"), os.path.join(d, "examples"), symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__", "c2.json"))
    bindir = os.path.join(env.top, "bin")
    os.makedirs(bindir, exist_ok=True)
    os.symlink(env.bin, os.path.join(bindir, "skillbox"))
    subprocess.run(["chown", "-R", f"{env.ident.uid}:{env.ident.gid}", d], check=True)
    return d, bindir


def run_script(env, cwd, bindir, script, extra_env=None):
    e = {"PATH": f"{bindir}:/usr/local/bin:/usr/bin:/bin", "HOME": env.home, "LANG": "C.UTF-8"}
    e.update(extra_env or {})
    p = subprocess.run(env.argv(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c",
                                 script]),
                       cwd=cwd, env=e, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=300)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def check_github(env):
    tag = f"{env.ident.name}: github-workflow.yml"
    steps = load(GITHUB)["jobs"]["skill"]["steps"]
    lines = skillbox_lines([l for s in steps for l in s.get("run", "").splitlines()])
    checkout, bindir = scratch_checkout(env)
    summary = os.path.join(env.top, "step-summary.md")
    with open(summary, "w"):
        pass
    os.chown(summary, env.ident.uid, env.ident.gid)
    h.diag(f"{tag}: running {lines}")
    rc, out, err = run_script(env, checkout, bindir, "\n".join(lines),
                              {"GITHUB_STEP_SUMMARY": summary})
    h.ok(rc == 0 and "# all 23 tests passed" in out,
         f"{tag}: its skillbox commands run as written and the CI step passes",
         f"rc={rc}\n{out[-2000:]}\n{err[-2000:]}")
    with open(summary) as f:
        md = f.read()
    h.ok(md.startswith("# skillbox audit") and "Chain integrity: intact" in md
         and "`ci-build`, exit 0" in md,
         f"{tag}: the job summary is the markdown audit summary of the run", md[:1500])


def check_gitlab(env):
    tag = f"{env.ident.name}: gitlab-ci.yml"
    job = load(GITLAB)["skillbox"]
    script = skillbox_lines(job.get("before_script", [])) + job["script"]
    # The checkout stays the job's (root's, for root): a root caller's write paths are
    # idmapped, so the build writes there as their owner.
    checkout, bindir = scratch_checkout(env)
    h.diag(f"{tag}: running {script}")
    rc, out, err = run_script(env, checkout, bindir, "\n".join(script))
    h.ok(rc == 0 and "# all 23 tests passed" in out and "chain: intact" in out,
         f"{tag}: its script runs as written, the CI step passes and the log has the summary",
         f"rc={rc}\n{out[-2000:]}\n{err[-2000:]}")
    build = os.path.join(checkout, "examples", "ci-build", "build")
    owners = {os.lstat(os.path.join(build, n)).st_uid for n in os.listdir(build)}
    h.ok(owners == {env.ident.uid},
         f"{tag}: the build output belongs to the job's user (uid {env.ident.uid})", owners)
    md_path = os.path.join(checkout, "skillbox-summary.md")
    md = open(md_path).read() if os.path.exists(md_path) else ""
    h.ok(md.startswith("# skillbox audit") and "Chain integrity: intact" in md,
         f"{tag}: skillbox-summary.md, the exposed artifact, is the markdown summary", md[:1500])


# --- the Kubernetes example ----------------------------------------------------------------


def containerfile_final_stage():
    with open(CONTAINERFILE) as f:
        text = f.read().replace("\\\n", " ")
    lines = [l.strip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    froms = [i for i, l in enumerate(lines) if l.upper().startswith("FROM ")]
    return lines[froms[-1]:]


def check_kubernetes(env):
    tag = f"{env.ident.name}: kubernetes"
    stage = containerfile_final_stage()
    entry = json.loads(next(l for l in stage if l.startswith("ENTRYPOINT "))[len("ENTRYPOINT "):])
    cmd = json.loads(next(l for l in stage if l.startswith("CMD "))[len("CMD "):])
    copies = {}
    for l in stage:
        if l.startswith("COPY ") and "--from=" not in l:
            src, dst = shlex.split(l)[1:]
            copies[dst] = src
    (ctr,) = load(JOB)["spec"]["template"]["spec"]["containers"]
    args = ctr.get("args") or cmd
    skill_src = copies.get(args[0])
    h.ok(skill_src and os.path.isdir(os.path.join(SRC, skill_src)),
         f"{tag}: the skill the Job runs ({args[0]}) is the one the Containerfile copies",
         f"copies={copies} args={args}")
    if not skill_src:
        return
    rc, out, err = env.run([env.bin, "check", os.path.join(SRC, skill_src)])
    h.ok(rc == 0, f"{tag}: its manifest passes skillbox check", out + err)

    # The entrypoint, as the pod runs it, with the image's paths replaced by a copy here.
    skill = os.path.join(env.work, "skills", os.path.basename(args[0]))
    shutil.copytree(os.path.join(SRC, skill_src), skill)
    subprocess.run(["chown", "-R", f"{env.ident.uid}:{env.ident.gid}", env.work], check=True)
    bindir = os.path.join(env.top, "bin")
    os.makedirs(bindir, exist_ok=True)
    if not os.path.exists(os.path.join(bindir, "skillbox")):
        os.symlink(env.bin, os.path.join(bindir, "skillbox"))
    argv = entry + [skill] + args[1:]
    p = subprocess.run(env.argv(argv), cwd=env.work, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=120,
                       env={"PATH": f"{bindir}:/usr/bin:/bin", "LANG": "C.UTF-8"})
    out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
    try:
        events = [json.loads(l) for l in out.splitlines()]
    except ValueError:
        events = []
    kinds = [e.get("event") for e in events]
    h.ok(p.returncode == 0 and kinds[:1] == ["run.start"] and kinds[-1:] == ["run.summary"],
         f"{tag}: the entrypoint's stdout is one whole audit trail and nothing else",
         f"rc={p.returncode}\nstdout:\n{out[-2000:]}\nstderr:\n{err[-2000:]}")
    h.ok("total: 4 errors in 3 files" in err and "total:" not in out,
         f"{tag}: the skill's output is on stderr", err[-2000:])
    trail = os.path.join(env.top, "pod-stdout.jsonl")
    with open(trail, "w") as f:
        f.write(out)
    rc, vout, verr = env.run([env.bin, "audit", "verify", trail])
    h.ok(rc == 0, f"{tag}: the audit trail from stdout verifies", vout + verr)


# --- AppArmor and debian/ ---------------------------------------------------------------------


def meson_option(name):
    p = subprocess.run(["meson", "introspect", "--buildoptions", BUILD], capture_output=True,
                       text=True, timeout=60)
    for o in json.loads(p.stdout or "[]"):
        if o["name"] == name:
            return o["value"]
    return None


def check_apparmor():
    profile = os.path.join(BUILD, "apparmor", "skillbox")
    text = open(profile).read() if os.path.exists(profile) else ""
    binary = os.path.join(meson_option("prefix") or "?", meson_option("bindir") or "?",
                          "skillbox")
    rules = [l.strip() for l in text.splitlines() if l.strip() and not l.lstrip().startswith("#")]
    h.ok(f"profile skillbox {binary} flags=(unconfined) {{" in rules and "userns," in rules
         and "abi <abi/4.0>," in rules,
         f"the AppArmor profile grants userns to this build's installed binary ({binary}), "
         "under policy ABI 4.0", text)
    parser = shutil.which("apparmor_parser", path="/usr/sbin:/sbin:/usr/bin:/bin")
    version = None
    if parser:
        p = subprocess.run([parser, "--version"], capture_output=True, text=True, timeout=30)
        m = re.search(r"version (\d+)\.", p.stdout)
        version = int(m.group(1)) if m else None
    if not version or version < 4:
        h.skip("apparmor_parser parses the profile",
               f"needs AppArmor >= 4.0 (have {version or 'none'}); .ci/package uses Debian 13's")
        return
    p = subprocess.run([parser, "-Q", "-K", profile], capture_output=True, text=True,
                       timeout=60)
    h.ok(p.returncode == 0, "apparmor_parser parses the profile", p.stdout + p.stderr)


def check_debian():
    with open(os.path.join(SRC, "meson.build")) as f:
        version = re.search(r"version\s*:\s*'([^']+)'", f.read()).group(1)
    with open(os.path.join(SRC, "debian", "changelog")) as f:
        m = re.match(r"skillbox \(([^)]+)\)", f.readline())
    h.ok(m and m.group(1).split("-")[0] == version,
         f"debian/changelog's version is meson's ({version})", m and m.group(0))
    with open(os.path.join(SRC, ".ci", "run")) as f:
        ci = f.read()
    m = re.search(r"apt-get install -y --no-install-recommends \\\n((?:.*\\\n)*.*\n)", ci)
    dev = {p for p in m.group(1).replace("\\", " ").split() if p.endswith("-dev")}
    with open(os.path.join(SRC, "debian", "control")) as f:
        control = f.read()
    bd = re.search(r"^Build-Depends:(.*?)^\S", control, re.S | re.M).group(1)
    names = {re.split(r"[\s(<\[]", d.strip())[0] for d in bd.split(",") if d.strip()}
    h.ok(dev and dev <= names, "debian/control's Build-Depends names every -dev package "
         ".ci/run installs", f"missing: {sorted(dev - names)}")


def main():
    check_debian()
    if os.path.isdir(BUILD):
        check_apparmor()
    if yaml is None:
        h.skip("the CI and Kubernetes examples", "python3-yaml is not installed")
        h.done()
    check_shapes()
    for ident in h.identities():
        with h.Env(ident) as env:
            if not ident.is_root or len(h.identities()) == 1:
                check_github(env)
                check_kubernetes(env)
            if ident.is_root or len(h.identities()) == 1:
                check_gitlab(env)
    h.done()


if __name__ == "__main__":
    main()
