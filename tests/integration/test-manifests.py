#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Writing manifests: profiles and include:, command-line grants, optional secrets and
mounts, check's predictions, explain's origins. Run as root and as an unprivileged user.

Each case runs the built binary as a user would and asserts the outcome and the audit
events: that a profile provides what a program needs (and that without it the program is
not found), that an included file's problems name its own FILE:LINE:COLUMN, that a grant
given on the command line reaches the sandbox and is recorded as coming from it, that what
check predicts is what the run does.
"""

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

NOBODY = 65534
PROFILES = ["cc", "git", "node", "python3", "shell", "system", "tls"]


def sandbox_uid(env):
    return NOBODY if env.ident.is_root else env.ident.uid


def writable(env, path):
    """A directory the sandbox user may write to (for root that is nobody)."""
    os.makedirs(path, exist_ok=True)
    os.chown(path, sandbox_uid(env), sandbox_uid(env))
    os.chmod(path, 0o755)
    return path


def write(path, text, mode=0o644):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(textwrap.dedent(text).lstrip())
    os.chmod(path, mode)
    return path


def in_dir(env, d, args, extra_env=None):
    """Runs skillbox ARGS as the identity with cwd d."""
    e = env.base_env()
    e.update(extra_env or {})
    p = subprocess.run(env.argv([env.bin] + args), cwd=d, env=e, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=h.DEFAULT_TIMEOUT)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


# --- profiles ---------------------------------------------------------------------------


def case_profiles(env):
    tag = f"{env.ident} profiles"
    pipeline = ["sh", "-c", "echo a,1 | awk -F, '{print $2}' | sed s/1/one/ | grep -c one"]
    d = env.skill(f"""
        skillbox: 1
        name: awk-sed
        include: [shell]
        command: {json.dumps(pipeline)}
        """, name="awk-sed")
    res = env.skillbox(["run", d])
    h.ok(res.rc == 0 and res.out == "1\n",
         f"{tag}: include: [shell]: sh | awk | sed | grep run (awk through "
         "/etc/alternatives)", res.describe())
    inc = (res.first("run.start") or {}).get("includes", [])
    h.ok([i.get("profile") for i in inc] == ["shell", "system"]
         and all(re.fullmatch(r"[0-9a-f]{64}", i.get("sha256", "")) for i in inc),
         f"{tag}: run.start lists the profiles included, with their SHA-256", inc)
    fs = (res.first("policy.fs") or {}).get("mounts", [])
    alt = [m for m in fs if m.get("path") == "/etc/alternatives"]
    h.ok(alt and re.search(r"/system\.yaml:\d+$", alt[0].get("origin", "")),
         f"{tag}: policy.fs: /etc/alternatives comes from system.yaml, with its line", alt)

    # The README's old list of paths: awk is a link through /etc/alternatives.
    d = env.skill(f"""
        skillbox: 1
        name: old-style
        command: {json.dumps(pipeline)}
        filesystem:
          read: [/usr, /bin, /lib, /lib64]
        """, name="old-style")
    res = env.skillbox(["run", d])
    h.ok(res.rc != 0 and "awk" in res.err,
         f"{tag}: without the profile, awk is not found (the issue's failure)",
         res.describe())

    rc, out, err = in_dir(env, env.work, ["explain", "--profiles"])
    h.ok(rc == 0 and all(re.search(rf"^  {p} ", out, re.M) for p in PROFILES),
         f"{tag}: explain --profiles lists {', '.join(PROFILES)} with descriptions", out + err)


def case_team_include(env):
    tag = f"{env.ident} include"
    write(env.path("team", "base.yaml"), """
        # The team's base: shared data and limits.
        include: [system]
        filesystem:
          read: ["./data:/data"]
        env:
          set: {TEAM: platform}
        limits: {processes: 32, timeout: 20s}
        """)
    write(env.path("team", "data", "ref.txt"), "team data\n")
    os.chmod(env.path("team", "data"), 0o755)
    d = env.skill("""
        skillbox: 1
        name: uses-team
        include: [../team/base.yaml, shell]
        command: [sh, -c, 'cat /data/ref.txt; echo "$TEAM"']
        limits: {processes: 64}
        """, name="uses-team")
    res = env.skillbox(["run", d])
    h.ok(res.rc == 0 and res.out == "team data\nplatform\n",
         f"{tag}: a team file's relative paths resolve against its own directory", res.describe())
    lim = res.first("policy.limits") or {}
    h.ok(lim.get("processes") == 32 and lim.get("origins", {}).get("processes", "").endswith(
        "team/base.yaml:7"), f"{tag}: limits take the stricter value, with its origin", lim)
    envev = res.first("policy.env") or {}
    h.ok(envev.get("origins", {}).get("TEAM", "").endswith("team/base.yaml:6"),
         f"{tag}: policy.env names the file and line of TEAM", envev)
    rc, out, err = in_dir(env, env.work, ["explain", d])
    h.ok(rc == 0 and re.search(r"/data +read-only +bind of .*team/data +\(.*team/base\.yaml:4 "
                               r"filesystem\.read\)", out)
         and re.search(r"set +TEAM +\(.*team/base\.yaml:6\)", out)
         and "(profile shell)" in out,
         f"{tag}: explain shows each grant with the file and line it came from", out + err)

    # Problems in an included file name that file, line and column.
    write(env.path("team", "bad.yaml"), """
        filesystem:
          read: [/usr, "/x:relative"]
        limits: {memory: lots}
        """)
    d = env.skill("""
        skillbox: 1
        name: bad-team
        include: [../team/bad.yaml, pyhton3]
        command: [true]
        """, name="bad-team")
    rc, out, err = in_dir(env, env.work, ["check", d])
    bad = env.path("team", "bad.yaml")
    h.ok(rc == 1 and f"{d}/skillbox.yaml:3:29: include profile 'pyhton3': no such profile" in err
         and f"{bad}:2:16: path 'relative' must be absolute" in err
         and f"{bad}:3:18: expected a size" in err,
         f"{tag}: check: FILE:LINE:COLUMN inside the included file, and at the include entry",
         err)
    write(env.path("team", "loop-a.yaml"), "include: [./loop-b.yaml]\n")
    write(env.path("team", "loop-b.yaml"), "include: [./loop-a.yaml]\n")
    d = env.skill("""
        skillbox: 1
        name: loop
        include: [../team/loop-a.yaml]
        command: [true]
        """, name="loop")
    res = env.skillbox(["run", d])
    h.ok(res.rc == 125 and "includes itself (an include cycle)" in res.err
         and "loop-b.yaml:1:11" in res.err,
         f"{tag}: an include cycle is refused, at the entry that closes it", res.describe())


# --- command-line grants -----------------------------------------------------------------


def case_grants(env):
    tag = f"{env.ident} grants"
    d = env.mkdir("pdf")
    write(os.path.join(d, "tool.py"), """
        import os, sys
        data = open(sys.argv[1]).read()
        open("out/result.txt", "w").write(data.upper())
        print("pages:", data.count("page"), "key:", os.environ.get("API_KEY", "-"),
              "tz:", os.environ.get("TZ", "-"))
        """)
    tool = write(os.path.join(d, "tool.yaml"), """
        skillbox: 1
        name: pdf-tool
        include: [python3]
        command: [python3, /work/tool.py]
        workdir: /work
        filesystem:
          read: [".:/work"]
        """)
    write(os.path.join(d, "input.pdf"), "page one\npage two\n")
    h._chown_tree(d, env.ident.uid, env.ident.gid)
    writable(env, os.path.join(d, "out"))
    digest = hashlib.sha256(open(tool, "rb").read()).hexdigest()
    audit = os.path.join(env.auditdir, f"grants-{env.ident}.jsonl")
    rc, out, err = in_dir(env, d, ["run", "--audit", audit, "--write", "./out", "--env", "TZ",
                                   "--secret", "API_KEY=PDF_KEY", "tool.yaml", "--",
                                   "input.pdf"],
                          {"TZ": "Europe/Paris", "PDF_KEY": "s3cr3t-pdf-key"})
    result = os.path.join(d, "out", "result.txt")
    h.ok(rc == 0 and out == "pages: 2 key: s3cr3t-pdf-key tz: Europe/Paris\n"
         and os.path.exists(result) and open(result).read() == "PAGE ONE\nPAGE TWO\n",
         f"{tag}: skillbox run --write ./out tool.yaml -- input.pdf (and --env, --secret)",
         out + err)
    h.ok(hashlib.sha256(open(tool, "rb").read()).hexdigest() == digest,
         f"{tag}: the manifest file is unchanged", "")
    text = open(audit).read() if os.path.exists(audit) else ""
    evs = [json.loads(l) for l in text.splitlines() if l]
    fs = next((e for e in evs if e.get("event") == "policy.fs"), {})
    outm = [m for m in fs.get("mounts", []) if m.get("path") == "/work/out"]
    h.ok(outm and outm[0].get("origin") == "command line" and outm[0].get("access") == "rw"
         and outm[0].get("host") == os.path.join(d, "out"),
         f"{tag}: policy.fs: /work/out from the command line, read-write, ./out of the caller's "
         "directory", outm)
    envev = next((e for e in evs if e.get("event") == "policy.env"), {})
    h.ok(envev.get("origins", {}).get("TZ") == "command line"
         and envev.get("origins", {}).get("API_KEY") == "command line"
         and "API_KEY" in envev.get("secrets", []),
         f"{tag}: policy.env: TZ and the secret API_KEY come from the command line", envev)
    h.ok("s3cr3t-pdf-key" not in text, f"{tag}: the secret's value is not in the audit trail",
         "")

    # --allow to a loopback server, and validation naming the option.
    rc, out, err = in_dir(env, d, ["run", "--allow", "example", "--read", "rel:tive",
                                   "--env", "1X", "tool.yaml"])
    h.ok(rc == 125 and "command line: --read 'rel:tive': the path inside must be absolute" in err
         and "command line: --env '1X': expected a variable name" in err
         and "command line: --allow 'example': expected HOST:PORT" in err,
         f"{tag}: invalid grants: 125, every one named by its option", err)


def case_optional(env):
    tag = f"{env.ident} optional"
    secret = env.path("secret.txt")
    d = env.skill(f"""
        skillbox: 1
        name: optional
        include: [shell]
        command: [sh, -c, 'echo "key=${{KEY:-unset}} file=${{FILEKEY:-unset}}"; ls /maybe 2>&1 | head -1']
        filesystem:
          read: [{{host: ./not-here, inside: /maybe, optional: true}}]
        env:
          secrets:
            - {{name: KEY, from_env: OPT_KEY, optional: true}}
            - {{name: FILEKEY, from_file: {secret}, optional: true}}
        """, name="optional")
    res = env.skillbox(["run", d])
    pe = res.first("policy.env") or {}
    fs = [m for m in (res.first("policy.fs") or {}).get("mounts", []) if m.get("path") == "/maybe"]
    h.ok(res.rc == 0 and res.out.startswith("key=unset file=unset\n"),
         f"{tag}: absent optional secrets are not set; an absent optional mount is left out",
         res.describe())
    h.ok(sorted(pe.get("secrets_absent", [])) == ["FILEKEY", "KEY"] and pe.get("secrets") == [],
         f"{tag}: policy.env records them as absent", pe)
    h.ok(fs and fs[0].get("optional") is True and fs[0].get("present") is False,
         f"{tag}: policy.fs: the mount is optional and not present", fs)
    with open(secret, "w") as f:
        f.write("from-file\n")
    os.chmod(secret, 0o600)
    os.chown(secret, env.ident.uid, env.ident.gid)
    res = env.skillbox(["run", d], env={"OPT_KEY": "from-env"})
    pe = res.first("policy.env") or {}
    h.ok(res.rc == 0 and res.out.startswith("key=from-env file=from-file\n")
         and pe.get("secrets_absent") == [],
         f"{tag}: present, they are injected", res.describe())
    d2 = env.skill("""
        skillbox: 1
        name: required
        command: [true]
        env:
          secrets: [{name: KEY, from_env: NOT_SET_ANYWHERE}]
        """, name="required")
    res = env.skillbox(["run", d2])
    h.ok(res.rc == 125 and "mark it optional: true" in res.err,
         f"{tag}: a required secret that is absent still stops the run, with a hint",
         res.describe())


# --- check predicts the run -------------------------------------------------------------


def case_check(env):
    tag = f"{env.ident} check"
    env.mkdir("chk")
    d = env.skill("""
        skillbox: 1
        name: predicted
        command: python3 -c print(1)
        workdir: /nowhere
        filesystem:
          read: [/usr, /lib/x86_64-linux-gnu, "./missing:/m", /lib64]
          write: ["./link:/out"]
        """, name="chk/bad")
    env.symlink("/tmp", "chk/bad/link")
    rc, out, err = in_dir(env, env.work, ["check", d])
    f = f"{d}/skillbox.yaml"
    want = [
        (f"{f}:6:16: warning:", "goes through the symbolic link /lib"),
        (f"{f}:6:39: warning:", "does not exist on this machine"),
        (f"{f}:7:11: warning:", "is a symbolic link: a write path must be the real"),
        (f"{f}:4:10: warning:", "workdir /nowhere is not a directory in the view"),
        (f"{f}:3:10: warning:", "command is one string with spaces"),
    ]
    h.ok(rc == 0 and all(any(l.startswith(a) and b in l for l in err.splitlines())
                         for a, b in want),
         f"{tag}: missing and symlinked sources, a one-string command, a workdir outside the "
         "view: warnings at FILE:LINE:COLUMN, exit 0", err)
    rc, out, err = in_dir(env, env.work, ["check", "--strict", d])
    h.ok(rc == 1 and f"{f}:3:10: error:" in err, f"{tag}: --strict makes them errors (exit 1)",
         err)

    # What check says about a command is what the run does.
    d = env.skill("""
        skillbox: 1
        name: no-loader
        command: [make, --version]
        filesystem: {read: [/usr, /bin]}
        """, name="chk/no-loader")
    rc, out, err = in_dir(env, env.work, ["check", d])
    res = env.skillbox(["run", d])
    h.ok("make needs /lib64/ld-linux" in err or "make needs /lib/ld-linux" in err,
         f"{tag}: a program whose dynamic loader is not in the view", err)
    h.ok(res.rc in (126, 127), f"{tag}: ... and the run fails to start it", res.describe())
    d = env.skill("""
        skillbox: 1
        name: not-found
        command: [git, --version]
        filesystem: {read: [/bin, /lib, /lib64, /etc/alternatives]}
        """, name="chk/not-found")
    rc, out, err = in_dir(env, env.work, ["check", d])
    res = env.skillbox(["run", d])
    h.ok("command git is not found in the view" in err and "include: [git] provides it" in err
         and res.rc == 127,
         f"{tag}: a command not found in the view: a hint to the profile; the run exits 127",
         err + res.describe())
    d = env.skill("""
        skillbox: 1
        name: fine
        include: [cc]
        command: [make, --version]
        """, name="chk/fine")
    rc, out, err = in_dir(env, env.work, ["check", "--strict", d])
    res = env.skillbox(["run", d])
    h.ok(rc == 0 and err == "" and res.rc == 0 and "GNU Make" in res.out,
         f"{tag}: include: [cc]: check --strict is silent and make runs", err + res.describe())


def case_folders(env):
    tag = f"{env.ident} folders"
    d = env.mkdir("ss-only")
    write(os.path.join(d, "skillsandbox.yaml"), "skill: {name: x}\n")
    res = env.skillbox(["run", d])
    h.ok(res.rc == 125 and "skillbox import" in res.err and "skillsandbox.yaml" in res.err,
         f"{tag}: run DIR with only skillsandbox.yaml says to run skillbox import", res.err)
    d = env.mkdir("skill-only")
    write(os.path.join(d, "SKILL.md"), "---\nname: x\n---\n")
    res = env.skillbox(["run", d])
    h.ok(res.rc == 125 and "skillbox init" in res.err,
         f"{tag}: run DIR with only SKILL.md says to run skillbox init", res.err)


def case_profile_trust(env):
    """A profiles directory another user could write to is refused: a profile is policy.
    The group-writable directory is a copy bound over the one the binary uses, in a private
    mount namespace of the one command: the source tree's profiles/ is shared with every test
    and every suite running at the same time, and is never changed. Needs a root suite."""
    tag = f"{env.ident} profile trust"
    rc, out, err = in_dir(env, env.work, ["explain", "--profiles"])
    m = re.match(r"profiles in (\S+) ", out)
    d = m.group(1) if m else None
    if not d or os.geteuid() != 0:
        h.skip(f"{tag}: a group-writable profiles directory is refused",
               "needs a root suite (a private mount namespace) and a profiles directory")
        return
    copy = os.path.join(env.mkdir("profiles-copy"), "profiles")
    shutil.copytree(d, copy)
    os.chown(copy, 0, 0)
    os.chmod(copy, 0o775)
    sk = env.skill("""
        skillbox: 1
        name: trust
        include: [shell]
        command: [true]
        """, name="trust")
    wrap = ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
            'mount --bind "$1" "$2" && shift 2 && exec "$@"', "sh", copy, d]
    rc, out, err = env.run([env.bin, "run", sk], wrap=wrap)
    h.ok(rc == 125 and b"profiles directory belongs to someone other than root" in err
         and b"others may write it" in err,
         f"{tag}: a group-writable profiles directory is refused", f"rc {rc}: {err[-400:]}")
    res = env.skillbox(["run", sk])
    h.ok(res.rc == 0, f"{tag}: ... and the directory in use is accepted", res.describe())


def case_import_details(env):
    """skillbox import: SkillSandbox's defaults, what cannot be declared, unknown keys."""
    tag = f"{env.ident} import"
    d = env.mkdir("ss-full")
    os.makedirs(os.path.join(d, "out"))
    write(os.path.join(d, "skillsandbox.yaml"), """
        skill: {name: "Full Example!", version: "2.0", author: someone}
        permissions:
          network:
            egress:
              - domain: api.example.com
              - domain: "*.cdn.example.com"
                ports: [443]
              - domain: metrics.example.com
                ports: [8125]
                protocol: udp
          filesystem:
            read: [/data/in, /skill/assets]
            write: [/skill/out, /proc/self]
          env_vars:
            allow: [GITHUB_TOKEN, TZ, HOME]
          syscalls: {profile: permissive}
          extra: true
        entrypoint: {command: node, args: [index.js]}
        """)
    h._chown_tree(d, env.ident.uid, env.ident.gid)
    rc, out, err = in_dir(env, env.work, ["import", d])
    want = [
        "name: full-example  # \"Full Example!\" made a valid name",
        "include: [node, tls]",
        "- host: api.example.com\n      ports: [443]  # SkillSandbox's default",
        "(left out: *.cdn.example.com",
        "proto: udp",
        "- \"./out:/skill/out\"  # write (line 13)",
        "/skill/assets (read, line 12) is part of the folder bound above",
        "- /data/in  # read (line 12): SkillSandbox gives it an empty scratch directory",
        "/proc/self (line 13) cannot be declared",
        "- {name: GITHUB_TOKEN, from_env: GITHUB_TOKEN, optional: true}",
        "pass: [TZ]",
        "HOME is not passed",
        "profile: default  # permissive (log only) has no equivalent",
        "timeout: 60s  # max_runtime_seconds (SkillSandbox's default)",
        "memory: 256M",
        "(left out: permissions.extra",
    ]
    missing = [w for w in want if w not in out]
    h.ok(rc == 0 and not missing, f"{tag}: defaults, judgements and what has no equivalent, "
         "as comments", f"missing: {missing}\n{out}{err}")
    h.ok("unknown key permissions.extra" in err and "wildcard domain cannot be declared" in err,
         f"{tag}: and a warning on stderr for each thing left out", err)
    rc2, out2, err2 = in_dir(env, env.work, ["import", "-o", d, d])
    rc3, out3, err3 = in_dir(env, env.work, ["check", d])
    h.ok(rc2 == 0 and rc3 == 0, f"{tag}: -o writes it, and it passes check", err2 + err3)
    rc4, out4, err4 = in_dir(env, env.work, ["import", "-o", d, d])
    h.ok(rc4 == 125 and "not overwritten" in err4, f"{tag}: an existing manifest is kept",
         err4)


def case_readme(env):
    """The README's manifests (```yaml blocks) are valid, and its first example runs."""
    tag = f"{env.ident} README"
    readme = open(os.path.join(h.source_root(), "README.md")).read()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", readme, re.S)
              if b.startswith("skillbox: 1")]
    for i, b in enumerate(blocks):
        d = env.skill(b, name=f"readme-{i}")
        rc, out, err = in_dir(env, env.work, ["check", d])
        h.ok(rc == 0, f"{tag}: manifest block {i + 1} of {len(blocks)} is valid", err)
    h.ok(len(blocks) >= 1, f"{tag}: the reference manifest is there", len(blocks))
    first = re.search(r"\$ cat skillbox.yaml\n(.*?)\$ skillbox run", readme, re.S)
    d = env.skill(first.group(1) if first else "", name="readme-hello",
                  files={"hello.py": "print('hello from a sandbox')\n"})
    res = env.skillbox(["run", d])
    h.ok(res.rc == 0 and res.out == "hello from a sandbox\n",
         f"{tag}: the first example runs as shown", res.describe())


def main():
    for ident in h.identities():
        with h.Env(ident) as env:
            os.chmod(env.work, 0o755)
            case_profiles(env)
            case_team_include(env)
            case_grants(env)
            case_optional(env)
            case_check(env)
            case_folders(env)
            case_readme(env)
            case_import_details(env)
            case_profile_trust(env)
    h.done()


if __name__ == "__main__":
    main()
