#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs inside the test container as its user (root or 1000): each case named on the command
# line runs skillbox once (or twice) and leaves rc, out, err and audit.jsonl in
# /results/CASE/ for the harness outside (tests/container/test-container.py) to judge.
# The harness prepares /work (on the container's overlay root) and /vol (a bind of a host
# directory, as `-v` would): root-owned, user-owned (1000), shared (1777) and fifo-dir
# (1777, with a FIFO) in each.
set -u
SB=/opt/skillbox/skillbox
R=/results
T=$(mktemp -d /tmp/skillbox-ci.XXXXXX) || exit 1
SYSTEM='["/usr", "/bin", "/lib", "/lib64", "/sbin"]'

# skill NAME COMMAND-JSON [MANIFEST LINES...]: writes $T/NAME/skillbox.yaml.
skill() {
	name=$1 cmd=$2
	shift 2
	mkdir -p "$T/$name"
	{
		echo "skillbox: 1"
		echo "name: ci-$name"
		echo "command: $cmd"
		echo "filesystem:"
		echo "  read: $SYSTEM"
		for l in "$@"; do echo "$l"; done
	} >"$T/$name/skillbox.yaml"
}

# run CASE SKILL [OPTIONS...]: one skillbox run, its results under /results/CASE.
run() {
	c=$1 s=$2
	shift 2
	mkdir -p "$R/$c"
	"$SB" run --audit "$R/$c/audit.jsonl" "$@" "$T/$s" >"$R/$c/out" 2>"$R/$c/err"
	echo $? >"$R/$c/rc"
}

case_basic() {
	skill basic '["/bin/sh", "-c", "id -u; hostname; echo ok"]'
	run basic basic
}

case_write() {
	for d in root-owned user-owned shared; do
		skill "write-$d" '["/bin/sh", "-c", "echo written > /out/made-by-skill && ls -ln /out"]' \
			"  write: [\"/work/$d:/out\"]"
		run "write-$d" "write-$d"
		skill "vol-$d" '["/bin/sh", "-c", "echo written > /out/made-by-skill && ls -ln /out"]' \
			"  write: [\"/vol/$d:/out\"]"
		run "vol-$d" "vol-$d"
	done
}

# Two runs alive at once: the reader waits on the FIFO until the writer opens it.
case_concurrent() {
	for d in work vol; do
		skill "reader-$d" '["/bin/sh", "-c", "cat /shared/fifo > /shared/got"]' \
			"  write: [\"/$d/fifo-dir:/shared\"]"
		skill "writer-$d" '["/bin/sh", "-c", "echo met > /shared/fifo"]' \
			"  write: [\"/$d/fifo-dir:/shared\"]"
		run "concurrent-$d-a" "reader-$d" &
		a=$!
		run "concurrent-$d-b" "writer-$d"
		wait $a
	done
}

# The seccomp listener (a refused unshare is answered and audited by skillbox) and tracing
# (the traced execve's arguments are read from the skill's memory).
case_seccomp() {
	skill seccomp '["/usr/bin/unshare", "-U", "/bin/true"]'
	run seccomp seccomp --trace exec
}

# Egress through the user-mode network stack to a server on the container's loopback:
# the declared port answers, another is refused and audited.
case_egress() {
	mkfifo "$T/port"
	python3 -c '
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"hello from the container\n")
    def log_message(self, *a): pass
s = socketserver.TCPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.handle_request()
' >"$T/port" &
	server=$!
	read -r port <"$T/port"
	skill egress "[\"/usr/bin/python3\", \"-c\", \"import socket, urllib.request; print(urllib.request.urlopen('http://host-loopback:$port/', timeout=10).read().decode(), end=''); s = socket.socket(); s.settimeout(10); print('other port:', s.connect_ex(('host-loopback', $((port + 1)))))\"]" \
		"network:" \
		"  egress: [{host: host-loopback, ports: [$port]}]"
	run egress egress
	kill $server 2>/dev/null
	wait $server 2>/dev/null
}

# --isolation landlock, where the default mode cannot run (namespaces refused, /proc
# masked): a skill runs; a socket other than AF_UNIX is refused by skillbox's filter and
# audited; a write path of uid 1000's is written (a root caller's skill runs as its owner);
# a root-owned one is refused, before anything runs, with the fix.
case_landlock() {
	skill landlock-basic '["/bin/sh", "-c", "id -u; echo ok"]'
	run landlock-basic landlock-basic --isolation landlock
	skill landlock-socket '["/usr/bin/python3", "-c", "import socket; socket.socket()"]'
	run landlock-socket landlock-socket --isolation landlock
	for d in root-owned user-owned; do
		skill "landlock-$d" \
			"[\"/bin/sh\", \"-c\", \"id -u; echo written > /vol/$d/made-by-landlock\"]" \
			"  write: [\"/vol/$d\"]"
		run "landlock-$d" "landlock-$d" --isolation landlock
	done
}

for c in "$@"; do
	"case_$c"
done
# Whatever is still alive in the container (nothing of any run should be).
ps -eo uid=,pid=,comm= >"$R/ps.txt" 2>&1
rm -rf "$T"
echo done
