"""A weak mobile link on the loopback: a TCP proxy that delays and rate-limits the bytes between
the browser and the app, and counts them.

Chromium's own network emulation (CDP `Network.emulateNetworkConditions`) slows only the
requests of the page it is attached to: what the service worker fetches goes at loopback
speed and is not counted (RECIPES.md). A proxy sees every byte whoever asked for it.

The link is one shared pipe per direction, as on a phone: connections queue for it, each
byte takes its share of the rate, and arrives half a round trip after it left. Opening a
connection costs one round trip more (the TCP handshake) before its first byte goes out.

    link = ShapedLink(target_port=8000, rtt_ms=300, down_kbit=700, up_kbit=700)
    port = link.start()        # browse http://localhost:<port>
    link.reset(); ...; link.down_bytes, link.up_bytes, link.requests
    link.stop()
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from dataclasses import dataclass, field

READ_SIZE = 4096
REQUEST_LINE = re.compile(rb"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) (/\S*) HTTP/1\.[01]\r\n")


@dataclass
class Direction:
    """One way of the link: a rate in bits per second and when the pipe is next free."""

    bits_per_second: float
    free_at: float = 0.0
    bytes: int = 0

    def departure(self, now: float, size: int) -> float:
        """When the last bit of `size` bytes handed over at `now` has left."""
        start = max(now, self.free_at)
        self.free_at = start + size * 8 / self.bits_per_second
        self.bytes += size
        return self.free_at


@dataclass
class Request:
    """One HTTP request seen on the link, with the bytes of its exchange: what went up from
    its request line to the next request on the same connection, and what came down in
    between (browsers do not pipeline HTTP/1.1, so answers follow requests in order)."""

    method: str
    path: str
    at: float
    up: int = 0
    down: int = 0
    # When its first and last bytes down reach the browser (time.monotonic clock).
    first_down: float | None = None
    last_down: float | None = None


@dataclass
class ShapedLink:
    target_port: int
    rtt_ms: float = 300
    down_kbit: float = 700
    up_kbit: float = 700
    requests: list[Request] = field(default_factory=list)

    def __post_init__(self):
        self.down = Direction(self.down_kbit * 1000)
        self.up = Direction(self.up_kbit * 1000)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # --- what a benchmark reads ------------------------------------------------------------
    @property
    def down_bytes(self) -> int:
        return self.down.bytes

    @property
    def up_bytes(self) -> int:
        return self.up.bytes

    def reset(self) -> None:
        with self._lock:
            self.down.bytes = self.up.bytes = 0
            self.requests = []

    def last_arrival(self) -> float:
        """When the last byte sent so far reaches the browser (time.monotonic clock)."""
        return self.down.free_at + self.rtt_ms / 2000

    # --- running it ----------------------------------------------------------------------
    def start(self) -> int:
        ready = threading.Event()
        port: list[int] = []

        def run():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._server = self._loop.run_until_complete(
                asyncio.start_server(self._connection, "127.0.0.1", 0)
            )
            port.append(self._server.sockets[0].getsockname()[1])
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()
        ready.wait(10)
        return port[0]

    def stop(self) -> None:
        if self._loop is None:
            return

        async def close():
            self._server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()  # its own sockets too (a test's warnings are errors)
        self._loop = None

    async def _connection(self, client_reader, client_writer):
        try:
            server_reader, server_writer = await asyncio.open_connection(
                "127.0.0.1", self.target_port
            )
        except OSError:
            client_writer.close()
            return
        # The handshake: the first request leaves one round trip after the connection opened.
        opened = time.monotonic() + self.rtt_ms / 1000
        connection: list[Request | None] = [None]  # the request being answered on it
        try:
            await asyncio.gather(
                self._pipe(client_reader, server_writer, self.up, opened, connection, upward=True),
                self._pipe(server_reader, client_writer, self.down, 0.0, connection, upward=False),
                return_exceptions=True,
            )
        finally:
            server_writer.close()
            client_writer.close()

    async def _pipe(
        self, reader, writer, direction: Direction, not_before: float, connection, upward: bool
    ):
        """Carries bytes one way, each chunk arriving when the link would deliver it. Reading
        and delivering run apart (a queue between them), so a slow link does not stop the
        other end from sending, as the phone's network buffers would not."""
        queue: asyncio.Queue = asyncio.Queue()

        async def deliver():
            while True:
                arrival, data = await queue.get()
                if data is None:
                    break
                delay = arrival - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(data)
                await writer.drain()
            writer.close()

        delivering = asyncio.ensure_future(deliver())
        try:
            while True:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                now = max(time.monotonic(), not_before)
                with self._lock:
                    if upward:
                        for match in REQUEST_LINE.finditer(data):
                            connection[0] = Request(
                                match[1].decode(), match[2].decode(), time.monotonic()
                            )
                            self.requests.append(connection[0])
                    if connection[0] is not None:
                        if upward:
                            connection[0].up += len(data)
                        else:
                            connection[0].down += len(data)
                    departed = direction.departure(now, len(data))
                    if connection[0] is not None and not upward:
                        arrives = departed + self.rtt_ms / 2000
                        if connection[0].first_down is None:
                            connection[0].first_down = now + self.rtt_ms / 2000
                        connection[0].last_down = arrives
                queue.put_nowait((departed + self.rtt_ms / 2000, data))
        finally:
            queue.put_nowait((0.0, None))
            await delivering
