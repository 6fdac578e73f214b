# SPDX-License-Identifier: MIT
"""Servers for test-relay.py, on the host's loopback or in a network namespace the test
creates. Once every socket is bound it prints one line, "ready {JSON}" where JSON maps each
port name to the port it got, then serves until stdin closes.

  --tls ADDR:PORT    TLS (--cert, --key); after the handshake sends "tls <server name>\\n"
  --http ADDR:PORT   reads a request head and answers 200 with "host=<Host>"
  --sink ADDR:PORT   reads until the client ends its stream (half close), then answers
                     "got <bytes>\\n" and closes
  --rst ADDR:PORT    reads a request head, answers "x", then resets the connection after
                     reading until the client goes away
  --closed ADDR:PORT bound and never listening: a connection to it is refused, and no other
                     program can take the port meanwhile
--log FILE gets one JSON line per connection of --sink: how the client's side ended, and the
uid that owns the client's socket (from /proc/net/tcp, where both ends are on this host).
IPv6 addresses are written in brackets: [::1]:8080. PORT is a number or @NAME: every socket
named @NAME gets the same port, one the kernel chose for the first of them (bind to port 0),
so that no other program's port (another suite's) is ever assumed free.
"""

import argparse
import errno
import json
import socket
import ssl
import struct
import sys
import threading

LOCK = threading.Lock()


def split(spec):
    host, port = spec.rsplit(":", 1)
    return host.strip("[]"), port


def log(path, **kw):
    if not path:
        return
    with LOCK, open(path, "a") as f:
        f.write(json.dumps(kw) + "\n")


def read_head(c):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = c.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def serve(sock, handler, *args):
    while True:
        try:
            c, _ = sock.accept()
        except OSError:
            return
        threading.Thread(target=handler, args=(c,) + args, daemon=True).start()


def tls_client(c, ctx):
    try:
        c.settimeout(10)
        with ctx.wrap_socket(c, server_side=True) as t:
            t.sendall(b"tls %s\n" % (getattr(t, "sni_name", None) or "").encode())
    except (OSError, ssl.SSLError):
        pass


def http_client(c):
    with c:
        c.settimeout(10)
        try:
            head = read_head(c).decode(errors="replace")
            host = ""
            for line in head.split("\r\n")[1:]:
                if line.lower().startswith("host:"):
                    host = line.split(":", 1)[1].strip()
            body = f"host={host}".encode()
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                      % (len(body), body))
        except OSError:
            pass


def peer_uid(c):
    """The uid owning the peer's socket, when the peer is a socket of this network namespace
    (/proc/net/tcp lists it with its local port and ours as its remote one)."""
    peer, mine = c.getpeername()[1], c.getsockname()[1]
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table) as f:
                rows = f.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            x = row.split()
            if int(x[1].rsplit(":", 1)[1], 16) == peer and int(x[2].rsplit(":", 1)[1], 16) == mine:
                return int(x[7])
    return None


def sink_client(c, port, path):
    with c:
        c.settimeout(10)
        n, how = 0, "eof"
        uid = peer_uid(c)
        try:
            c.sendall(b"hi\n")
            while True:
                chunk = c.recv(65536)
                if not chunk:
                    break
                n += len(chunk)
            c.sendall(b"got %d\n" % n)
        except ConnectionResetError:
            how = "reset"
        except OSError as e:
            how = type(e).__name__
        log(path, port=port, end=how, bytes=n, peer_uid=uid)


def rst_client(c, port, path):
    c.settimeout(10)
    try:
        read_head(c)
        c.sendall(b"x")
    except OSError:
        pass
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()


def bind(host, port, listen):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if fam == socket.AF_INET6:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    try:
        s.bind((host, port))
    except OSError:
        s.close()
        raise
    if listen:
        s.listen(64)
    return s


def bind_all(wanted):
    """wanted: [(role, spec)]. Binds them all; sockets sharing a port name get one port. A
    port the kernel picked for the first socket of a name may be taken for another address:
    then everything is tried again with fresh ports."""
    for _ in range(100):
        socks, ports = [], {}
        try:
            for role, spec in wanted:
                host, port = split(spec)
                number = ports.get(port[1:], 0) if port.startswith("@") else int(port)
                s = bind(host, number, role != "closed")
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
    for opt in ("--tls", "--http", "--sink", "--rst", "--closed"):
        ap.add_argument(opt, action="append", default=[])
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--log")
    a = ap.parse_args()
    if a.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.cert, a.key)

        def sni(sslsock, name, _ctx):
            sslsock.sni_name = name

        ctx.sni_callback = sni
    wanted = [(role, spec) for role in ("tls", "http", "sink", "rst", "closed")
              for spec in getattr(a, role)]
    socks, ports = bind_all(wanted)
    for (role, _), s in zip(wanted, socks):
        port = s.getsockname()[1]
        if role == "tls":
            target, args = serve, (s, tls_client, ctx)
        elif role == "http":
            target, args = serve, (s, http_client)
        elif role == "sink":
            target, args = serve, (s, sink_client, port, a.log)
        elif role == "rst":
            target, args = serve, (s, rst_client, port, a.log)
        else:
            continue  # closed: kept bound, never accepted
        threading.Thread(target=target, args=args, daemon=True).start()
    print("ready " + json.dumps(ports), flush=True)
    sys.stdin.read()
    sys.exit(0)


if __name__ == "__main__":
    main()
