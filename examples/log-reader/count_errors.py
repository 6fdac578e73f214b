#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Counts lines containing ERROR in every file under a log directory, then tries to leave a
summary next to the logs. Under its manifest the logs are read-only, so that write fails
with EROFS, and the skill says so: reading was all it was allowed to do.

Usage: count_errors.py LOGDIR
"""

import errno
import os
import sys


def count(logdir):
    per_file = {}
    lines = 0
    for root, dirs, files in os.walk(logdir):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            n = 0
            with open(path, "rb") as f:
                for line in f:
                    lines += 1
                    if b"ERROR" in line:
                        n += 1
            per_file[os.path.relpath(path, logdir)] = n
    return per_file, lines


def main(argv):
    if len(argv) != 1:
        print("usage: count_errors.py LOGDIR", file=sys.stderr)
        return 2
    logdir = argv[0]
    try:
        per_file, lines = count(logdir)
    except OSError as e:
        print(f"log-reader: {e.filename}: {e.strerror}", file=sys.stderr)
        return 1
    for name, n in per_file.items():
        print(f"{name}: {n} error{'s' if n != 1 else ''}")
    total = sum(per_file.values())
    print(f"total: {total} errors in {len(per_file)} files ({lines} lines)")

    summary = os.path.join(logdir, "error-summary.txt")
    try:
        with open(summary, "w") as f:
            f.write(f"{total} errors\n")
        print(f"wrote {summary}")
    except OSError as e:
        name = errno.errorcode.get(e.errno, str(e.errno))
        print(f"writing {summary}: refused: {name} ({e.strerror})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
