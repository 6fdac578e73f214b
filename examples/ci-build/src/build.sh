#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds roman (a Roman numeral converter) and its tests into the current directory, then
# runs the tests. Runs inside the sandbox: sources in /src (read-only), output in /build.
set -eu
src=${SRC:-/src}
CC=${CC:-gcc}  # not cc: that is a symlink through /etc/alternatives, which is not in the view
CFLAGS="-std=c11 -O2 -Wall -Wextra -Werror"

if [ ! -w . ]; then
	echo "ci-build: $(pwd) is not writable: on the host, the build directory must be writable" \
		"by the user who runs skillbox (see skillbox run's audit trail, policy.fs)" >&2
	exit 1
fi
echo "cc: $($CC --version | head -n 1)"
$CC $CFLAGS -c -o roman.o "$src/roman.c"
$CC $CFLAGS -o roman "$src/main.c" roman.o
$CC $CFLAGS -o test-roman "$src/test_roman.c" roman.o
echo "built: roman test-roman"
./test-roman
echo "example: ./roman 2026 -> $(./roman 2026)"
