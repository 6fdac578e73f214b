#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The attacker's collection server for the credential-stealer demo, on 127.0.0.1 only.

It stands in for the attacker's infrastructure and records every byte that reaches it:

  - TCP ("HTTP-ish"): reads a request (or whatever the client sends), answers 200, keeps
    the bytes; listens on 127.0.0.1 and, when the host has it, on ::1 (same port);
  - UDP: keeps every datagram;
  - DNS over UDP: answers A queries under its zone with 127.0.0.1 (that is how the stealer
    finds "ingest.<zone>"), and reassembles data smuggled in the labels of queries named
    <base32>.<base32>...<seq>.<stream>.x.<zone>.

Nothing here sleeps to synchronise: start() returns once every socket is bound and
listening, so a client can connect at once. Python standard library only.

Usage as a program: catcher.py [--zone ZONE]   prints its ports as JSON, then every record as a
JSON line, until interrupted.
"""

import base64
import json
import selectors
import socket
import struct
import sys
import threading
import time

DEFAULT_ZONE = "weather-metrics.test"


def b32decode(text):
    text = text.upper()
    return base64.b32decode(text + "=" * (-len(text) % 8))


def parse_qname(packet, off=12):
    labels = []
    while off < len(packet):
        n = packet[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        if n & 0xC0:
            raise ValueError("compressed name in a query")
        labels.append(packet[off : off + n].decode("ascii", "replace"))
        off += n
    raise ValueError("truncated name")


class Catcher:
    """Start with start(), stop with stop(); the records are in .records (a list of dicts:
    kind tcp|udp|dns, route, peer, port, data bytes, and name for dns)."""

    def __init__(self, zone=DEFAULT_ZONE, host="127.0.0.1", on_record=None):
        self.zone = zone.strip(".").lower()
        self.host = host
        self.on_record = on_record
        self.records = []
        self.lock = threading.Lock()
        self.sel = selectors.DefaultSelector()
        self.socks = []
        self.ipv6 = False
        self.thread = None
        self.stop_r, self.stop_w = socket.socketpair()

    # --- life cycle --------------------------------------------------------------------
    def start(self):
        tcp = self._listen(socket.AF_INET, (self.host, 0))
        self.http_port = tcp.getsockname()[1]
        try:
            self._listen(socket.AF_INET6, ("::1", self.http_port))
            self.ipv6 = True
        except OSError:
            self.ipv6 = False
        udp = self._bind_udp((self.host, 0), self._on_udp)
        self.udp_port = udp.getsockname()[1]
        dns = self._bind_udp((self.host, 0), self._on_dns)
        self.dns_port = dns.getsockname()[1]
        self.sel.register(self.stop_r, selectors.EVENT_READ, None)
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.thread:
            self.stop_w.send(b"x")
            self.thread.join(timeout=10)
            self.thread = None
        for s in self.socks + [self.stop_r, self.stop_w]:
            s.close()
        self.socks = []
        self.sel.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def config(self):
        """What the attacker bakes into its payload (the demo writes it as c2.json)."""
        return {"zone": self.zone, "c2_name": "ingest." + self.zone, "catcher": self.host,
                "http_port": self.http_port, "udp_port": self.udp_port,
                "dns_port": self.dns_port}

    def clear(self):
        with self.lock:
            self.records = []

    def snapshot(self):
        with self.lock:
            return list(self.records)

    # --- sockets -----------------------------------------------------------------------
    def _listen(self, family, addr):
        s = socket.socket(family, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            s.bind(addr)
            s.listen(64)
        except OSError:
            s.close()
            raise
        s.setblocking(False)
        self.socks.append(s)
        self.sel.register(s, selectors.EVENT_READ, self._on_accept)
        return s

    def _bind_udp(self, addr, handler):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(addr)
        s.setblocking(False)
        self.socks.append(s)
        self.sel.register(s, selectors.EVENT_READ, handler)
        return s

    def _loop(self):
        while True:
            for key, _ in self.sel.select():
                if key.data is None:
                    return
                try:
                    key.data(key.fileobj)
                except OSError:
                    pass

    def _record(self, **rec):
        rec["time"] = time.time()
        with self.lock:
            self.records.append(rec)
        if self.on_record:
            self.on_record(rec)

    # --- TCP ---------------------------------------------------------------------------
    def _on_accept(self, lsock):
        conn, peer = lsock.accept()
        port = lsock.getsockname()[1]
        threading.Thread(target=self._serve_tcp, args=(conn, peer, port), daemon=True).start()

    def _serve_tcp(self, conn, peer, port):
        """Reads one request: the headers, then Content-Length bytes (or until the client stops
        sending for 2 s or closes); answers 200 and records everything it got."""
        data = b""
        conn.settimeout(2.0)
        try:
            while True:
                head, sep, body = data.partition(b"\r\n\r\n")
                if sep:
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        if k.strip().lower() == b"content-length" and v.strip().isdigit():
                            length = int(v)
                    if len(body) >= length:
                        break
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
                if len(data) > 16 << 20:
                    break
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\nConnection: close\r\n\r\n"
                         b"thanks\n")
        except OSError:
            pass
        finally:
            conn.close()
        if data:
            first = data.split(b"\r\n", 1)[0].decode("latin-1")
            route = "tcp"
            if "via=" in first:
                route = first.split("via=", 1)[1].split()[0].split("&")[0]
            self._record(kind="tcp", route=route, peer=peer[0], port=port, data=data,
                         request=first)

    # --- UDP ---------------------------------------------------------------------------
    def _on_udp(self, s):
        data, peer = s.recvfrom(65536)
        route = "udp"
        if data.startswith(b"WX1 "):
            route = data[4:].split(b" ", 1)[0].decode("latin-1")
        self._record(kind="udp", route=route, peer=peer[0], port=s.getsockname()[1], data=data)

    # --- DNS ---------------------------------------------------------------------------
    def _on_dns(self, s):
        packet, peer = s.recvfrom(4096)
        try:
            qid, flags, qd = struct.unpack(">HHH", packet[:6])
            name, end = parse_qname(packet)
            qtype = struct.unpack(">H", packet[end : end + 2])[0]
        except (ValueError, struct.error):
            self._record(kind="dns", route="dns", peer=peer[0], port=s.getsockname()[1],
                         data=packet, name=None)
            return
        lname = name.lower()
        route = "dns-exfil" if lname.endswith(".x." + self.zone) else "dns-lookup"
        self._record(kind="dns", route=route, peer=peer[0], port=s.getsockname()[1],
                     data=packet, name=name)
        question = packet[12 : end + 4]
        if lname == self.zone or lname.endswith("." + self.zone):
            # NOERROR with one A record, 127.0.0.1: the name "resolves" to the catcher.
            answer = b""
            if qtype == 1:
                answer = b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) + socket.inet_aton(
                    "127.0.0.1")
            hdr = struct.pack(">HHHHHH", qid, 0x8180, 1, 1 if answer else 0, 0, 0)
        else:
            hdr = struct.pack(">HHHHHH", qid, 0x8185, 1, 0, 0, 0)  # REFUSED
            answer = b""
        s.sendto(hdr + question + answer, peer)

    # --- what arrived ------------------------------------------------------------------
    def dns_streams(self, records=None):
        """Data smuggled in DNS names, reassembled: {stream id: bytes}."""
        parts = {}
        suffix = ".x." + self.zone
        for r in records if records is not None else self.snapshot():
            name = (r.get("name") or "").lower()
            if r["kind"] != "dns" or not name.endswith(suffix):
                continue
            labels = name[: -len(suffix)].split(".")
            if len(labels) < 3 or not labels[-2].isdigit():
                continue
            sid, seq, chunk = labels[-1], int(labels[-2]), "".join(labels[:-2])
            parts.setdefault(sid, {})[seq] = chunk
        out = {}
        for sid, chunks in parts.items():
            text = "".join(chunks[k] for k in sorted(chunks))
            try:
                out[sid] = b32decode(text)
            except ValueError:
                out[sid] = text.encode()
        return out

    def udp_streams(self, records=None):
        """Datagrams of the form "WX1 <route> <stream> <seq>/<total>\\n<data>", reassembled:
        {(route, stream): bytes}; other datagrams as they came."""
        parts, out = {}, {}
        for i, r in enumerate(records if records is not None else self.snapshot()):
            if r["kind"] != "udp":
                continue
            head, nl, body = r["data"].partition(b"\n")
            f = head.decode("latin-1").split()
            if nl and len(f) == 4 and f[0] == "WX1" and "/" in f[3]:
                parts.setdefault((f[1], f[2]), {})[int(f[3].split("/")[0])] = body
            else:
                out[("udp", str(i))] = r["data"]
        for k, chunks in parts.items():
            out[k] = b"".join(chunks[n] for n in sorted(chunks))
        return out

    def by_route(self, records=None):
        """Everything received, as {route: [bytes, ...]}, with smuggled data reassembled and
        decoded, so that a secret split across datagrams or DNS labels is found whole."""
        recs = records if records is not None else self.snapshot()
        routes = {}
        for r in recs:
            routes.setdefault(r["route"], []).append(r["data"])
            if r.get("name"):
                routes[r["route"]].append(r["name"].encode())
        for (route, _), data in self.udp_streams(recs).items():
            routes.setdefault(route, []).append(data)
        for data in self.dns_streams(recs).values():
            routes.setdefault("dns-exfil", []).append(data)
        return routes

    def leaks(self, secrets, records=None):
        """{secret label: sorted routes that delivered its value} for each secret found."""
        found = {}
        for route, blobs in self.by_route(records).items():
            for label, value in secrets.items():
                v = value.encode()
                if any(v in b for b in blobs):
                    found.setdefault(label, set()).add(route)
        return {k: sorted(v) for k, v in found.items()}

    def total_bytes(self, records=None):
        return sum(len(r["data"]) for r in (records if records is not None else self.snapshot()))


def main():
    zone = DEFAULT_ZONE
    if len(sys.argv) == 3 and sys.argv[1] == "--zone":
        zone = sys.argv[2]
    elif len(sys.argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2

    def show(rec):
        out = {k: v for k, v in rec.items() if k != "data"}
        out["bytes"] = len(rec["data"])
        out["preview"] = rec["data"][:120].decode("latin-1")
        print(json.dumps(out), flush=True)

    with Catcher(zone, on_record=show) as c:
        print(json.dumps(c.config()), flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
