"""Browser tests: Debian's Chromium driven by Playwright against the real app, served by a real
server process on a free port (so a test can stop and start it), on a fresh SQLite database."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fieldkit.db import make_engine, new_session
from tests.conftest import NOW
from tests.factories import build_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # A fake camera (a test pattern) for the QR scanner; no permission prompt.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 390, "height": 844}


def pytest_collection_modifyitems(items):
    """Every test under tests/e2e is marked `e2e` (`-m "not e2e"` leaves the browser out; a
    pytestmark in a conftest marks nothing). Under pytest-xdist they run in two queues
    (tests/conftest.py, pytest_xdist_make_scheduler)."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's Chromium is missing: run scripts/setup-chromium (make test does)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "viewport": PHONE,
        "locale": "vi-VN",
        "timezone_id": "Asia/Ho_Chi_Minh",
        "device_scale_factor": 2,
    }


# A test stops its server and starts it again on the same port (the page's origin, and its
# service worker's, is that port). A port the kernel handed out (bind to port 0) is one of the
# ephemeral ports, which every outgoing connection and every other worker's `free_port()`
# draws from too: while the server was stopped another process could take it, and the test
# then talked to someone else's server (a one-off CI failure: a day's visits "sent" and left
# needing attention). So the browser tests' servers use ports below the ephemeral range
# (32768–60999 here), 1,000 per pytest-xdist worker.
_PORTS = itertools.count()


def _server_port() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    base = 20000 + 1000 * (int(worker) % 12 if worker.isdigit() else 0)
    for _ in range(1000):
        port = base + next(_PORTS) % 1000
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {base}–{base + 999}")


class Server:
    """The app in its own process. stop() and start() let a test make it truly unreachable."""

    def __init__(self, database_url: str, instance: Path, command: list[str] | None = None):
        # Flask's server by default; the production tests pass gunicorn's command.
        self.command = command or [sys.executable, "-m", "pwa"]
        self.port = _server_port()
        self.url = f"http://localhost:{self.port}"
        self.env = {
            **os.environ,
            "FIELDKIT_DATABASE_URL": database_url,
            "FIELDKIT_INSTANCE": str(instance),
            "FIELDKIT_BASE_URL": self.url,
            "FIELDKIT_PORT": str(self.port),
            "FIELDKIT_SECRET_KEY": "e2e-secret",
        }
        self.process: subprocess.Popen | None = None
        self.log = instance / "server.log"

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("server did not start in 20 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def live_world(sqlite_url):
    engine = make_engine(sqlite_url)
    with new_session(engine) as session:
        world = build_world(session, now=NOW)
        session.commit()
    yield world, engine
    engine.dispose()


@pytest.fixture
def server(live_world, sqlite_url, tmp_path):
    server = Server(sqlite_url, tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def shot():
    """Save a screenshot of the page under test-artifacts/, to be looked at."""
    ARTIFACTS.mkdir(exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
