# SPDX-License-Identifier: MIT
"""Servers for test-net.py, on the host's loopback or inside a network namespace the test
creates. Once every socket is bound it prints one line, "ready {JSON}" where JSON maps each
port name to the port it got, then serves until stdin closes, and exits.

  --tcp ADDR:PORT   answers each line with "hello from ADDR:PORT: <line>"
  --udp ADDR:PORT   echoes each datagram
  --dns ADDR:PORT   answers A queries for names under --dns-zone (default: every name) with
                    --dns-answer (default 10.231.0.2), others with NXDOMAIN, and appends each
                    name asked to --dns-log
IPv6 addresses are written in brackets: [::1]:8080. PORT is a number or @NAME: every socket
named @NAME gets the same port, one the kernel chose for the first of them (bind to port 0),
so that no other program's port is ever assumed free.
"""

import argparse
import errno
import json
import os
import socket
import struct
import sys
import threading


def split(spec):
    host, port = spec.rsplit(":", 1)
    return host.strip("[]"), port


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


def bind(kind, host, port):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, kind)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        s.bind((host, port))
    except OSError:
        s.close()
        raise
    if kind == socket.SOCK_STREAM:
        s.listen(64)
    return s


def bind_all(wanted):
    """wanted: [(role, spec)], role tcp, udp or dns. Binds them all; sockets sharing a port
    name get one port. A port the kernel picked for the first socket of a name may be taken
    for another address or protocol: then everything is tried again with fresh ports."""
    for _ in range(100):
        socks, ports = [], {}
        try:
            for role, spec in wanted:
                host, port = split(spec)
                number = ports.get(port[1:], 0) if port.startswith("@") else int(port)
                kind = socket.SOCK_STREAM if role == "tcp" else socket.SOCK_DGRAM
                s = bind(kind, host, number)
                socks.append(s)
                if port.startswith("@"):
                    ports[port[1:]] = s.getsockname()[1]
            return socks, ports
        except OSError as e:
            for s in socks:
                s.close()
            if e.errno != errno.EADDRINUSE:
                raise
    raise RuntimeError("no common free port")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tcp", action="append", default=[])
    ap.add_argument("--udp", action="append", default=[])
    ap.add_argument("--dns", action="append", default=[])
    ap.add_argument("--dns-answer", default="10.231.0.2")
    ap.add_argument("--dns-log")
    ap.add_argument("--dns-zone")
    a = ap.parse_args()
    wanted = ([("tcp", x) for x in a.tcp] + [("udp", x) for x in a.udp]
              + [("dns", x) for x in a.dns])
    socks, ports = bind_all(wanted)
    for (role, spec), s in zip(wanted, socks):
        host, port = split(spec)
        if role == "dns":
            target, args = dns_server, (s, a.dns_answer, a.dns_log, a.dns_zone)
        elif role == "tcp":
            label = f"{host}:{s.getsockname()[1]}" if ":" not in host else \
                f"[{host}]:{s.getsockname()[1]}"
            target, args = tcp_server, (s, label)
        else:
            target, args = udp_server, (s,)
        threading.Thread(target=target, args=args, daemon=True).start()
    print("ready " + json.dumps(ports), flush=True)
    sys.stdin.read()
    os._exit(0)


if __name__ == "__main__":
    main()
