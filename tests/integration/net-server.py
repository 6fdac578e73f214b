# SPDX-License-Identifier: MIT
"""Servers for test-net.py, on the host's loopback or inside a network namespace the test
creates. Prints "ready" once every socket is bound, serves until stdin closes, then exits.

  --tcp ADDR:PORT   answers each line with "hello from ADDR:PORT: <line>"
  --udp ADDR:PORT   echoes each datagram
  --dns ADDR:PORT   answers A queries for names under --dns-zone (default: every name) with
                    --dns-answer (default 10.231.0.2), others with NXDOMAIN, and appends each
                    name asked to --dns-log
IPv6 addresses are written in brackets: [::1]:8080.
"""

import argparse
import os
import socket
import struct
import sys
import threading


def split(spec):
    host, port = spec.rsplit(":", 1)
    host = host.strip("[]")
    return host, int(port)


def tcp_server(sock, label):
    while True:
        try:
            c, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=tcp_client, args=(c, label), daemon=True).start()


def tcp_client(c, label):
    with c:
        c.settimeout(5)
        data = b""
        try:
            while not data.endswith(b"\n"):
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            c.sendall(b"hello from %s: %s\n" % (label.encode(), data.strip()))
        except OSError:
            pass


def udp_server(sock):
    while True:
        try:
            data, peer = sock.recvfrom(4096)
            sock.sendto(data, peer)
        except OSError:
            return


def dns_server(sock, answer, log, zone):
    while True:
        try:
            data, peer = sock.recvfrom(4096)
        except OSError:
            return
        if len(data) < 12:
            continue
        off, labels = 12, []
        while off < len(data) and data[off]:
            n = data[off]
            labels.append(data[off + 1:off + 1 + n].decode(errors="replace"))
            off += 1 + n
        qend = off + 5
        name = ".".join(labels)
        if log:
            with open(log, "a") as f:
                f.write(name + "\n")
        qid = data[:2]
        question = data[12:qend]
        qtype = struct.unpack(">H", data[off + 1:off + 3])[0] if off + 3 <= len(data) else 0
        if zone and not name.endswith(zone):
            sock.sendto(qid + struct.pack(">HHHHH", 0x8183, 1, 0, 0, 0) + question, peer)
        elif qtype != 1:
            sock.sendto(qid + struct.pack(">HHHHH", 0x8180, 1, 0, 0, 0) + question, peer)
        else:
            header = qid + struct.pack(">HHHHH", 0x8180, 1, 1, 0, 0)
            rr = struct.pack(">HHHIH", 0xC00C, 1, 1, 60, 4) + socket.inet_aton(answer)
            sock.sendto(header + question + rr, peer)


def bind(kind, spec):
    host, port = split(spec)
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    s.bind((host, port))
    if kind == socket.SOCK_STREAM:
        s.listen(64)
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tcp", action="append", default=[])
    ap.add_argument("--udp", action="append", default=[])
    ap.add_argument("--dns", action="append", default=[])
    ap.add_argument("--dns-answer", default="10.231.0.2")
    ap.add_argument("--dns-log")
    ap.add_argument("--dns-zone")
    a = ap.parse_args()
    for spec in a.tcp:
        threading.Thread(target=tcp_server, args=(bind(socket.SOCK_STREAM, spec), spec),
                         daemon=True).start()
    for spec in a.udp:
        threading.Thread(target=udp_server, args=(bind(socket.SOCK_DGRAM, spec),),
                         daemon=True).start()
    for spec in a.dns:
        threading.Thread(target=dns_server,
                         args=(bind(socket.SOCK_DGRAM, spec), a.dns_answer, a.dns_log, a.dns_zone),
                         daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
