#!/bin/sh
# The headings of a report, one per line, without their '#' marks.
set -eu
grep '^#' "$1" | sed 's/^#* *//' | awk '{ printf "%d. %s\n", NR, $0 }'
