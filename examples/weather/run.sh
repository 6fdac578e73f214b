#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Runs the weather skill under skillbox against the fake weather API (fake_api.py) on the
# host's 127.0.0.1:18765, then stops the API.  Usage: examples/weather/run.sh [CITY...]
# SKILLBOX overrides the binary (default: ./build/launcher/skillbox of this checkout).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
skillbox=${SKILLBOX:-$root/build/launcher/skillbox}
export WEATHER_KEY=${WEATHER_KEY:-FAKE-weather-api-key-0000}

if [[ ! -x $skillbox ]]; then
	echo "run.sh: $skillbox is not built (./quickstart, or meson setup build && ninja -C build)" >&2
	exit 1
fi

coproc API { exec python3 -u "$here/fake_api.py" --key "$WEATHER_KEY" 2>&1; }
api_pid=$API_PID
trap 'kill "$api_pid" 2>/dev/null; wait "$api_pid" 2>/dev/null || true' EXIT
if ! read -r -t 10 line <&"${API[0]}" || [[ $line != ready* ]]; then
	echo "run.sh: the fake weather API did not start: ${line:-no answer}" >&2
	exit 1
fi
"$skillbox" run "$here" -- "${@:-Paris}"
