"""Weight and offline readiness, measured in Debian's Chromium against a real server process.

Prints:
- the bytes over the wire (compressed, as transferred) for a volunteer's first load of the home
  page (the household list of their village) — aim ≤ 60 KB;
- the network requests a repeat visit needs with the network off — aim 0;
- bytes and time to prepare a ~500-household village for offline use on the loopback.

    .venv/bin/python benchmarks/bench_offline.py
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlmodel import func, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.bench_pages import database  # noqa: E402
from fieldkit import members  # noqa: E402
from fieldkit.db import make_engine, new_session  # noqa: E402
from fieldkit.models import Household, Member, Role, utcnow  # noqa: E402

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def volunteer_of_largest_village(url: str) -> tuple[Member, int]:
    engine = make_engine(url)
    with new_session(engine) as session:
        village_id, size = session.exec(
            select(Household.village_id, func.count())
            .group_by(Household.village_id)
            .order_by(func.count().desc())
        ).first()
        member = session.exec(
            select(Member)
            .where(Member.village_id == village_id, Member.role == Role.volunteer)
            .order_by(Member.id)
        ).first()
    engine.dispose()
    return member, size


def link_for(url: str, member: Member, base: str) -> str:
    engine = make_engine(url)
    with new_session(engine) as session:
        token = members.create_sign_in_link(session, session.get(Member, member.id), now=utcnow())
        session.commit()
    engine.dispose()
    return f"{base}/signin/{token}"


class Meter:
    """Bytes as transferred and requests, from Chromium's own network events."""

    def __init__(self, cdp):
        self.bytes = 0
        self.requests = 0
        self.from_network = 0
        self._from_sw: set[str] = set()
        self.urls: dict[str, str] = {}
        self.sizes: dict[str, int] = {}
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._finished)
        cdp.on("Network.requestWillBeSent", self._sent)

    def _sent(self, event):
        self.requests += 1
        self.urls[event["requestId"]] = event["request"]["url"]

    def _response(self, event):
        if event["response"].get("fromServiceWorker") or event["response"].get("fromDiskCache"):
            self._from_sw.add(event["requestId"])

    def _finished(self, event):
        self.bytes += event.get("encodedDataLength", 0)
        self.sizes[event["requestId"]] = event.get("encodedDataLength", 0)
        if event["requestId"] not in self._from_sw:
            self.from_network += 1

    def reset(self):
        self.bytes = self.requests = self.from_network = 0
        self._from_sw.clear()


def main() -> None:
    url = database(4000)
    volunteer, size = volunteer_of_largest_village(url)
    port = free_port()
    base = f"http://localhost:{port}"
    instance = Path(tempfile.mkdtemp())
    env = {
        **os.environ,
        "FIELDKIT_DATABASE_URL": url,
        "FIELDKIT_INSTANCE": str(instance),
        "FIELDKIT_BASE_URL": base,
        "FIELDKIT_PORT": str(port),
        "FIELDKIT_SECRET_KEY": "b",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "pwa"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            # Sign in once, then load the home page in a fresh browser profile that has only
            # the session cookie: an empty cache, no service worker — a true first load.
            signing = browser.new_context()
            page = signing.new_page()
            page.goto(link_for(url, volunteer, base))
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url("**/households")
            cookies = signing.cookies()
            signing.close()

            context = browser.new_context(viewport={"width": 390, "height": 844})
            context.add_cookies(cookies)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            meter = Meter(cdp)
            page.goto(f"{base}/households")
            page.wait_for_load_state("load")
            first_load = meter.bytes
            for rid, length in meter.sizes.items():
                print(f"    {length:7d} B  {meter.urls.get(rid, '?')[len(base) :]}")
            first_requests = meter.requests
            meter.reset()
            started = time.perf_counter()
            page.wait_for_function(
                "document.querySelector('[data-ready]').textContent.startsWith('Sẵn sàng')",
                timeout=300_000,
            )
            prepare_seconds = time.perf_counter() - started
            prepare_bytes, prepare_requests = meter.bytes, meter.requests

            context.set_offline(True)
            meter.reset()
            page.reload()
            page.wait_for_load_state("load")
            offline_network = meter.from_network
            page.goto(base + page.locator(".household-row").nth(5).get_attribute("href"))
            page.wait_for_load_state("load")
            offline_household_network = meter.from_network
            browser.close()
    finally:
        server.terminate()
        server.wait()

    print(f"Volunteer of a {size}-household village (4,000-household demo), Chromium, loopback")
    print(
        f"  first load of the home page: {first_load / 1024:.1f} KB over the wire "
        f"({first_requests} requests, empty cache)"
    )
    print(
        f"  preparing the village offline: {prepare_bytes / 1024:.0f} KB, "
        f"{prepare_requests} requests, {prepare_seconds:.1f} s"
    )
    print(
        f"  repeat visit with the network off: {offline_network} requests reached the network"
        f" (list page), {offline_household_network} after opening a household too"
    )


if __name__ == "__main__":
    main()
