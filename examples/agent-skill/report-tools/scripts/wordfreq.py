#!/usr/bin/env python3
"""The most frequent words of a report."""
import collections
import re
import sys

words = re.findall(r"[a-z']+", open(sys.argv[1], encoding="utf-8").read().lower())
n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
for word, count in collections.Counter(words).most_common(n):
    print(f"{count:4d} {word}")
