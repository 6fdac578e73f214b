#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A fake weather API for the examples: answers GET /v1/current?city=NAME with canned JSON,
for requests that carry the right key in X-Api-Key. Python standard library only.

Usage: fake_api.py [--port 18765] [--key KEY] [--log FILE] [--stop-on-eof]

Listens on 127.0.0.1 (and ::1 when the host has it) only. The key defaults to $WEATHER_KEY.
Prints "ready PORT" on stdout once it accepts connections, then serves until SIGTERM/SIGINT
(or, with --stop-on-eof, until its stdin closes). The port is fixed because the manifest
has to name it; when it is taken the server says so and exits 2.
"""

import argparse
import errno
import hashlib
import http.server
import json
import os
import signal
import socket
import sys
import threading
import urllib.parse

DEFAULT_PORT = 18765
CONDITIONS = ["clear sky", "light rain", "overcast", "fog", "snow showers", "windy", "sunny"]
KNOWN = {"paris": (14.2, "light rain"), "london": (11.0, "overcast"), "tokyo": (19.5, "clear sky")}


def weather_for(city):
    """Deterministic: the same city always gets the same weather."""
    known = KNOWN.get(city.lower())
    if known:
        return known
    h = hashlib.sha256(city.lower().encode()).digest()
    return round(-5 + h[0] / 255 * 35, 1), CONDITIONS[h[1] % len(CONDITIONS)]


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "FakeWeather/1.0"

    def log_message(self, fmt, *args):
        log = self.server.log_path
        if log:
            with open(log, "a") as f:
                f.write("%s %s\n" % (self.client_address[0], fmt % args))

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/v1/current":
            return self.reply(404, {"error": "not found"})
        if self.headers.get("X-Api-Key") != self.server.key:
            return self.reply(401, {"error": "missing or wrong API key"})
        city = (urllib.parse.parse_qs(url.query).get("city") or [""])[0].strip()
        if not city:
            return self.reply(400, {"error": "city is required"})
        temp, cond = weather_for(city)
        self.reply(200, {"city": city, "temp_c": temp, "conditions": cond})


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Server6(Server):
    address_family = socket.AF_INET6


def serve(port, key, log_path=None):
    """Starts the servers; returns them (the caller calls shutdown()). Raises OSError when the
    port is taken on 127.0.0.1. Port 0 picks a free one, the same on 127.0.0.1 and ::1
    (servers[0].server_address[1] says which)."""
    for _ in range(100):
        servers = [Server(("127.0.0.1", port), Handler)]
        try:
            servers.append(Server6(("::1", servers[0].server_address[1]), Handler))
        except OSError as e:
            if port == 0 and e.errno == errno.EADDRINUSE:
                servers[0].server_close()  # taken on ::1 only: another port
                continue
            # no IPv6 loopback here: IPv4 is enough
        break
    else:
        raise OSError(errno.EADDRINUSE, "no port free on both 127.0.0.1 and ::1")
    for s in servers:
        s.key = key
        s.log_path = log_path
        # A short poll interval: shutdown() waits for it.
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
    return servers


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=DEFAULT_PORT)
    ap.add_argument("--key", default=os.environ.get("WEATHER_KEY"))
    ap.add_argument("--log")
    ap.add_argument("--stop-on-eof", action="store_true")
    a = ap.parse_args()
    if not a.key:
        print("fake_api: no key: pass --key or set WEATHER_KEY", file=sys.stderr)
        return 2
    try:
        servers = serve(a.port, a.key, a.log)
    except OSError as e:
        print(f"fake_api: cannot listen on 127.0.0.1:{a.port}: {e.strerror}. The weather "
              f"manifest names this port; stop whatever uses it (ss -ltnp 'sport = :{a.port}').",
              file=sys.stderr)
        return 2
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    print(f"ready {a.port}", flush=True)

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        stop.set()

    if a.stop_on_eof:
        threading.Thread(target=watch_stdin, daemon=True).start()
    stop.wait()
    for s in servers:
        s.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
