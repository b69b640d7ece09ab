"""A loopback HTTP proxy in front of the real server, started by a test, that misbehaves on
demand as the field's networks, gateways and servers do: passes requests through, answers a
status of its own (a gateway's 502, a 429), accepts and never answers (a hung server), drops
the connection, answers 500 to any sync batch naming one item, or holds sync requests until
the test lets them go. The browser talks to the proxy only, as a phone talks to nginx; the
server behind it is the real app. Every request is logged with when it came and what it got,
so a test can wait for an event instead of sleeping."""

from __future__ import annotations

import http.client
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}
SYNC = "/api/v1/sync"


@dataclass(frozen=True)
class Event:
    at: float  # time.monotonic()
    method: str
    path: str
    outcome: str  # "200", "502", "hung", "dropped", "held", ...
    body: bytes = b""


class FaultProxy:
    """`mode`: "pass", "hang", "drop" or "status" (answer `status` to everything).
    `poison`: an item id; a sync POST whose body names it answers 500 (the rest pass).
    `hold_sync`: while set, sync POSTs wait (logged "held") until `release_sync()`.
    `page_delay`: seconds every page load (a navigation) waits before it is forwarded, as on
    3G; the API's small requests are not slowed."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        self.mode = "pass"
        self.status = 502
        self.retry_after: str | None = None
        self.poison: str | None = None
        self.page_delay = 0.0
        self.events: list[Event] = []
        self._changed = threading.Condition()
        self._closing = threading.Event()
        self._gate = threading.Event()
        self._gate.set()
        proxy = self

        class Handler(_Handler):
            owner = proxy

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://localhost:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._closing.set()
        self._gate.set()
        self._server.shutdown()
        self._server.server_close()

    # --- what the test sets --------------------------------------------------------------
    def set(self, mode: str, status: int = 502, retry_after: str | None = None) -> None:
        self.mode, self.status, self.retry_after = mode, status, retry_after

    def hold_sync(self) -> None:
        self._gate.clear()

    def release_sync(self) -> None:
        self._gate.set()

    # --- what the test reads -------------------------------------------------------------
    def log(self, event: Event) -> None:
        with self._changed:
            self.events.append(event)
            self._changed.notify_all()

    def wait_for(self, predicate, timeout: float = 30) -> Event:
        """The first logged event (from now on or before) matching `predicate`."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                assert left > 0, "the proxy saw no such request in time"
                self._changed.wait(left)

    def syncs(self, since: float = 0) -> list[Event]:
        return [e for e in self.events if e.path.startswith(SYNC) and e.at >= since]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultProxy

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_HEAD(self) -> None:
        self._handle()

    def _handle(self) -> None:
        proxy = self.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        now = time.monotonic()
        is_sync = self.command == "POST" and self.path.startswith(SYNC)
        if proxy.mode == "hang":
            proxy.log(Event(now, self.command, self.path, "hung", body))
            proxy._closing.wait()  # never answers while the test runs
            self.close_connection = True
            return
        if proxy.mode == "drop":
            proxy.log(Event(now, self.command, self.path, "dropped", body))
            self.close_connection = True
            self.connection.close()
            return
        if proxy.mode == "status":
            self._answer(proxy.status, body)
            return
        if is_sync and proxy.poison and proxy.poison.encode() in body:
            self._answer(500, body)
            return
        # A page load: the browser's own, or the service worker's fetch of it (which does not
        # keep Sec-Fetch-Mode: navigate); not the day's preparation in the background.
        navigation = (
            self.command == "GET"
            and (self.headers.get("Accept") or "").startswith("text/html")
            and not self.headers.get("X-Fieldkit-Prepare")
        )
        if navigation and proxy.page_delay:
            proxy._closing.wait(proxy.page_delay)
        if is_sync and not proxy._gate.is_set():
            proxy.log(Event(now, self.command, self.path, "held", body))
            proxy._gate.wait()
        self._forward(body)

    def _answer(self, status: int, body: bytes) -> None:
        proxy = self.owner
        page = (
            f"<html><body><h1>{status} {http.client.responses.get(status, '')}</h1></body></html>"
        )
        data = page.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        if proxy.retry_after:
            self.send_header("Retry-After", proxy.retry_after)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        proxy.log(Event(time.monotonic(), self.command, self.path, str(status), body))

    def _forward(self, body: bytes) -> None:
        proxy = self.owner
        headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
        try:
            upstream = http.client.HTTPConnection("127.0.0.1", proxy.upstream_port, timeout=120)
            upstream.request(self.command, self.path, body=body or None, headers=headers)
            response = upstream.getresponse()
            data = response.read()
            upstream.close()
        except OSError:
            self._answer(502, body)  # as nginx does when the app behind it is down
            return
        self.send_response(response.status, response.reason)  # writes its own Date, Server
        for name, value in response.getheaders():
            if name.lower() not in HOP_BY_HOP | {"date", "server"}:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        proxy.log(Event(time.monotonic(), self.command, self.path, str(response.status), body))
