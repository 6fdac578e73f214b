# Lines, words and headings of a plain-text report. (No "#!" line and not executable, as
# scripts in skill folders often are: skillbox gives it python3 by its extension.)
import sys

text = open(sys.argv[1], encoding="utf-8").read()
lines = text.splitlines()
headings = [l for l in lines if l.startswith("#")]
print(f"lines: {len(lines)}, words: {len(text.split())}, headings: {len(headings)}")
