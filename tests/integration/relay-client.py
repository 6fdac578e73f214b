# SPDX-License-Identifier: MIT
"""Runs inside the sandbox for test-relay.py: connects through skillbox's relay the way real
clients do and prints one JSON line per action with what happened, measured here.

Usage: relay-client.py ACTION...  where each ACTION is a JSON list:
  ["tls", host, port, sni, split]   a TLS handshake with python's ssl module (no certificate
                                    checks) naming sni; split: "" (one write), or "records" (the
                                    ClientHello cut into 64-byte TLS records sent 16 bytes per
                                    write with TCP_NODELAY); then reads one line of data
  ["http", host, port, host_header, body, half_close]
                                    an HTTP/1.1 request naming host_header; with half_close the
                                    sending side is shut down after it; reads until EOF
  ["reset", host, port, host_header]
                                    sends a request, then closes with a reset (SO_LINGER 0)
  ["udp", host, port]               one datagram, an answer awaited for 2 s
"""

import errno
import json
import socket
import ssl
import struct
import sys
import time

TIMEOUT = 5.0


def err_name(e):
    if getattr(e, "errno", None):
        return errno.errorcode.get(e.errno, str(e.errno))
    return type(e).__name__


def connect(host, port):
    s = socket.create_connection((host, port), timeout=TIMEOUT)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reframe(hello, size):
    """The ClientHello's handshake message in TLS records of at most size bytes."""
    body = hello[5:5 + struct.unpack(">H", hello[3:5])[0]]
    out = b""
    for i in range(0, len(body), size):
        chunk = body[i:i + size]
        out += b"\x16\x03\x01" + struct.pack(">H", len(chunk)) + chunk
    return out + hello[5 + len(body):]


def tls(host, port, sni, split):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing, server_hostname=sni or None)
    s = connect(host, port)
    try:
        try:
            obj.do_handshake()
        except ssl.SSLWantReadError:
            pass
        hello = outgoing.read()
        if split == "records":
            data = reframe(hello, 64)
            for i in range(0, len(data), 16):
                s.send(data[i:i + 16])
                time.sleep(0.002)  # pacing, so the pieces travel as separate segments
        else:
            s.sendall(hello)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionResetError(errno.ECONNRESET, "closed during the handshake")
            incoming.write(chunk)
            try:
                obj.do_handshake()
                break
            except ssl.SSLWantReadError:
                pending = outgoing.read()
                if pending:
                    s.sendall(pending)
        pending = outgoing.read()
        if pending:
            s.sendall(pending)
        data = b""
        while not data.endswith(b"\n"):
            try:
                data += obj.read(4096)
                continue
            except ssl.SSLWantReadError:
                pass
            chunk = s.recv(65536)
            if not chunk:
                break
            incoming.write(chunk)
        return {"ok": True, "data": data.decode(errors="replace").strip(),
                "hello_bytes": len(hello)}
    finally:
        s.close()


def http(host, port, host_header, body, half_close):
    s = connect(host, port)
    try:
        req = (f"POST / HTTP/1.1\r\nHost: {host_header}\r\nContent-Length: {len(body)}\r\n"
               f"Connection: close\r\n\r\n{body}").encode()
        s.sendall(req)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        return {"ok": True, "data": data.decode(errors="replace"), "sent": len(req)}
    finally:
        s.close()


def reset(host, port, host_header):
    s = connect(host, port)
    s.sendall(f"GET / HTTP/1.1\r\nHost: {host_header}\r\n\r\n".encode())
    # Wait for the server's greeting, so that the connection is relayed, then reset.
    first = s.recv(64)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
    return {"ok": True, "first": first.decode(errors="replace")}


def udp(host, port):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2.0)
    try:
        s.connect((host, port))
        s.send(b"quic-ish")
        return {"ok": True, "data": s.recv(4096).decode(errors="replace")}
    finally:
        s.close()


ACTIONS = {"tls": tls, "http": http, "reset": reset, "udp": udp}


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
