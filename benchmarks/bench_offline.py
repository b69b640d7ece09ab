"""A volunteer's phone on a weak 3G link: the home page's weight, the day's preparation for
offline use, the refresh after a day's visits, and what a repeat visit needs with no network.

Debian's Chromium against a real server process, through a loopback proxy that delays and
rate-limits every byte and counts them (benchmarks/shaped_link.py: 300 ms round trip,
700 kbit/s each way by default). Chromium's own network emulation is not used: it does not
slow what the service worker fetches (RECIPES.md).

For the volunteer of the largest village of the 4,000-household demo (621 households):
- the home page (the household list) on first load, empty cache: bytes and requests;
- preparing the village offline, from the home page's load until the status bar says
  "Sẵn sàng ngoại tuyến": bytes down and up, requests, seconds;
- with the network off: requests that still reach for the network on a reload of the list
  and on opening a household;
- the refresh after a day of 20 visits: 19 stored on the server (the day's earlier syncs, the
  team's), the 20th logged on the phone and sent with "Gửi ngay"; bytes, requests and seconds
  from the tap until "Sẵn sàng" again, and of these the refresh proper (from the phone's first
  request for its pages, after the sync);
- the server's CPU time for the preparation and the refresh (from /proc): on a busy machine
  the seconds on the clock are mostly waiting for a core, this is the work itself.

`--before DIR` measures the same for another checkout of the app (e.g. the commit before a
change, from `git archive <commit> | tar -x -C DIR`) and puts both side by side. The figures
go to the terminal and to benchmarks/RESULTS.md (its "Offline preparation" section).

    .venv/bin/python benchmarks/bench_offline.py [--before DIR] [--households 4000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlmodel import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import results  # noqa: E402
from benchmarks.bench_pages import database  # noqa: E402
from benchmarks.shaped_link import ShapedLink  # noqa: E402
from fieldkit import members, visits  # noqa: E402
from fieldkit.db import make_engine, new_session  # noqa: E402
from fieldkit.models import Household, Member, Resident, Role, utcnow  # noqa: E402

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
READY = "document.querySelector('[data-ready]').textContent.startsWith('Sẵn sàng')"
STALE = "2000-01-01T00:00:00.000Z"


@dataclass
class Run:
    label: str
    first_load_bytes: int = 0
    first_load_requests: int = 0
    prepare_down: int = 0
    prepare_up: int = 0
    prepare_requests: int = 0
    prepare_seconds: float = 0.0
    offline_list_requests: int = 0
    offline_household_requests: int = 0
    refresh_down: int = 0
    refresh_up: int = 0
    refresh_requests: int = 0
    refresh_seconds: float = 0.0
    after_sync_down: int = 0
    after_sync_up: int = 0
    after_sync_requests: int = 0
    after_sync_seconds: float = 0.0
    prepare_server_cpu: float = 0.0
    refresh_server_cpu: float = 0.0
    ready_text: str = ""
    # Each answer of the preparation's pack: asked, first and last byte at the phone (seconds
    # from the home page's load), KB.
    chunks: list[tuple[float, float, float, float]] = field(default_factory=list)


def cpu_seconds(pid: int) -> float:
    """CPU time the server has used so far (user + system), from /proc: the process, its
    children that ended (gunicorn recycles workers) and those alive (its workers)."""

    def stat(process: int) -> list[str]:
        return Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()

    fields = stat(pid)
    ticks = sum(int(value) for value in fields[11:15])
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                child = stat(int(entry.name))
            except OSError:
                continue
            if child[1] == str(pid):
                ticks += int(child[11]) + int(child[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(pid: int, seconds: float = 90) -> None:
    """Until the server has finished starting: its processes (gunicorn boots each worker,
    ~2.5 s of CPU apiece) no longer use the CPU. Otherwise the first measurements would
    wait on workers still booting, which a running server's phones never do."""
    deadline = time.monotonic() + seconds
    used = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = cpu_seconds(pid)
        if now - used < 0.05:
            return
        used = now


def start_server(app_dir: Path, env: dict, port: int, kind: str) -> subprocess.Popen:
    """The app of `app_dir` on `port`: as production serves it (gunicorn, its
    gunicorn.conf.py when the checkout has one: 2 × cores + 1 processes with threads), or
    Flask's threaded server (`python -m pwa`, one process)."""
    if kind == "flask":
        command = [sys.executable, "-m", "pwa"]
    elif (app_dir / "gunicorn.conf.py").exists():
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"]
    else:  # an older checkout: the same processes and threads
        workers = str(2 * (os.cpu_count() or 1) + 1)
        command = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", workers]
        command += ["-k", "gthread", "--threads", "16", "--timeout", "60", "pwa:create_app()"]
    return subprocess.Popen(
        command, env=env, cwd=app_dir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


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


def a_day_of_visits(url: str, member: Member, count: int) -> dict:
    """`count` visits to households of the member's village, spread over the list: all but the
    last stored on the server as the day's syncs would have stored them; the last returned as
    the outbox item the phone will send."""
    engine = make_engine(url)
    now = utcnow()
    with new_session(engine) as session:
        volunteer = session.get(Member, member.id)
        ids = session.exec(
            select(Household.id)
            .where(Household.village_id == volunteer.village_id)
            .order_by(Household.id)
        ).all()
        step = max(1, len(ids) // count)
        payloads = []
        for n, household_id in enumerate(ids[::step][:count]):
            resident = session.exec(
                select(Resident.id).where(Resident.household_id == household_id)
            ).first()
            moment = now - timedelta(hours=8) + timedelta(minutes=20 * n)
            payloads.append(
                (
                    household_id,
                    {
                        "uuid": f"00000000-0000-4000-8000-{n:012d}",
                        "household_id": household_id,
                        "visited_at": (moment + timedelta(hours=7)).strftime("%Y-%m-%dT%H:%M"),
                        "outcome": "met",
                        "notes": "",
                        "lines-0-resident_id": str(resident) if resident else "",
                        "lines-0-service_code": "vneid_level1" if resident else "",
                        "lines-0-result": "done",
                    },
                )
            )
        for household_id, payload in payloads[:-1]:
            visit_in = visits.VisitIn.parse(payload, household_id=household_id)
            visits.log_visit(session, visit_in, volunteer=volunteer, now=now)
        session.commit()
    engine.dispose()
    household_id, payload = payloads[-1]
    return {
        "id": payload["uuid"],
        "kind": "visit",
        "payload": payload,
        "label": "Lượt thăm",
        "householdId": str(household_id),
    }


class NetworkMeter:
    """Requests the page sent that the service worker did not answer (Chromium's events)."""

    def __init__(self, cdp):
        self.from_network = 0
        self._from_worker: set[str] = set()
        self._sent: set[str] = set()
        cdp.on("Network.requestWillBeSent", lambda e: self._sent.add(e["requestId"]))
        cdp.on("Network.responseReceived", self._response)
        cdp.on("Network.loadingFinished", self._done)
        cdp.on("Network.loadingFailed", self._done)

    def _response(self, event):
        if event["response"].get("fromServiceWorker"):
            self._from_worker.add(event["requestId"])

    def _done(self, event):
        if event["requestId"] not in self._from_worker:
            self.from_network += 1

    def reset(self):
        self.from_network = 0
        self._from_worker.clear()


def wait(page, condition: str, seconds: float) -> None:
    """Polls from here: the page's Content-Security-Policy refuses Playwright's own polling
    (it evaluates a string)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(condition):
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {seconds} s: {condition}")
        time.sleep(0.05)


def measure(
    label: str, app_dir: Path, demo_url: str, visits_per_day: int, shape: dict, server_kind: str
) -> Run:
    run = Run(label)
    work = Path(tempfile.mkdtemp(prefix="fieldkit-bench-offline-"))
    shutil.copy(demo_url.removeprefix("sqlite:///"), work / "demo.db")
    url = f"sqlite:///{work / 'demo.db'}"
    volunteer, _ = volunteer_of_largest_village(url)
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(app_dir),
        "FIELDKIT_DATABASE_URL": url,
        "FIELDKIT_INSTANCE": str(work),
        "FIELDKIT_PORT": str(port),
        "FIELDKIT_SECRET_KEY": "bench",
    }
    server = start_server(app_dir, env, port, server_kind)
    link = ShapedLink(port, **shape)
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        settle(server.pid)
        shaped = f"http://localhost:{link.start()}"
        direct = f"http://localhost:{port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            # Sign in on the direct port (cookies are per host, not per port), then open the
            # home page through the shaped link in a fresh profile: empty cache, no worker.
            signing = browser.new_context()
            page = signing.new_page()
            page.goto(link_for(url, volunteer, direct))
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_url("**/households")
            cookies = signing.cookies()
            signing.close()

            context = browser.new_context(
                viewport={"width": 390, "height": 844},
                locale="vi-VN",
                timezone_id="Asia/Ho_Chi_Minh",
            )
            context.add_cookies(cookies)
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            meter = NetworkMeter(cdp)

            link.reset()
            page.goto(f"{shaped}/households")
            page.wait_for_load_state("load")
            loaded = time.monotonic()
            run.first_load_bytes = link.down_bytes + link.up_bytes
            run.first_load_requests = len(link.requests)
            first = {r.path for r in link.requests}
            link.reset()
            cpu = cpu_seconds(server.pid)
            wait(page, READY, 600)
            run.prepare_seconds = time.monotonic() - loaded
            run.prepare_server_cpu = cpu_seconds(server.pid) - cpu
            run.prepare_down, run.prepare_up = link.down_bytes, link.up_bytes
            run.prepare_requests = len(link.requests)
            for request in link.requests:
                came = ""
                if request.first_down is not None:
                    came = (
                        f"  first byte +{request.first_down - loaded:5.1f} s, last "
                        f"+{request.last_down - loaded:5.1f} s, {request.down / 1024:.0f} KB"
                    )
                print(
                    f"    +{request.at - loaded:5.1f} s  {request.method} {request.path[:40]}{came}"
                )
            run.chunks = [
                (r.at - loaded, r.first_down - loaded, r.last_down - loaded, r.down / 1024)
                for r in link.requests
                if r.path.startswith("/api/v1/offline-pack") and r.first_down is not None
            ]
            run.ready_text = page.locator("[data-ready]").text_content()
            print(f"  [{label}] first load: {sorted(first)}")

            context.set_offline(True)
            meter.reset()
            page.reload()
            page.wait_for_load_state("load")
            run.offline_list_requests = meter.from_network
            meter.reset()
            href = page.locator(".household-row").nth(300).get_attribute("href")
            page.goto(shaped + href)
            page.wait_for_load_state("load")
            run.offline_household_requests = meter.from_network
            context.set_offline(False)

            # The day: all but one visit reached the server earlier (this phone's syncs, the
            # team's); the last is logged on this phone and sent with "Gửi ngay" — the sync
            # after which the phone refreshes its pages.
            last = a_day_of_visits(url, volunteer, visits_per_day)
            page.goto(f"{shaped}/households")
            page.wait_for_load_state("load")
            page.wait_for_load_state("networkidle")
            page.wait_for_function("!!window.FieldkitOutbox")  # added after the load
            before = page.evaluate("FieldkitOutbox.getMeta('readyAt')")
            page.evaluate("item => FieldkitOutbox.enqueue(item).then(() => true)", last)
            time.sleep(1)  # the update checks the navigation started are done
            link.reset()
            cpu = cpu_seconds(server.pid)
            started = time.monotonic()
            page.get_by_role("button", name="Gửi ngay").click()
            wait(
                page,
                f"FieldkitOutbox.getMeta('readyAt').then(at => at && at !== '{before}' && {READY})",
                300,
            )
            ready_at = time.monotonic()
            loaded = started
            run.refresh_server_cpu = cpu_seconds(server.pid) - cpu
            # The refresh proper: from the phone's first request for its pages (after the
            # sync) until ready.
            asked = [r for r in link.requests if r.path.startswith("/api/v1/offline-pack")]
            if asked:
                after = [r for r in link.requests if r.at >= asked[0].at]
                run.after_sync_down = sum(r.down for r in after)
                run.after_sync_up = sum(r.up for r in after)
                run.after_sync_requests = len(after)
                run.after_sync_seconds = ready_at - asked[0].at
            run.refresh_seconds = time.monotonic() - loaded
            run.refresh_down, run.refresh_up = link.down_bytes, link.up_bytes
            run.refresh_requests = len(link.requests)
            for request in link.requests:
                print(f"    +{request.at - loaded:5.1f} s  {request.method} {request.path[:60]}")
            browser.close()
    finally:
        link.stop()
        server.terminate()
        server.wait()
        shutil.rmtree(work, ignore_errors=True)
    return run


def kb(n: int) -> str:
    return f"{n / 1024:,.0f} KB"


def table(runs: list[Run], size: int, visits_per_day: int) -> str:
    """One row per figure, one column per run, and the target where issue 16 set one."""
    rows = [
        ("home page, first load (empty cache)", lambda r: kb(r.first_load_bytes), "≤ 50 KB"),
        ("… its requests", lambda r: str(r.first_load_requests), ""),
        (
            f"prepare {size} households: bytes down (up)",
            lambda r: f"{kb(r.prepare_down)} ({kb(r.prepare_up)})",
            "≤ 400 KB",
        ),
        ("… requests", lambda r: str(r.prepare_requests), ""),
        ("… seconds to “Sẵn sàng”", lambda r: f"{r.prepare_seconds:.1f} s", "≤ 10 s"),
        ("… server CPU time spent", lambda r: f"{r.prepare_server_cpu:.1f} s", ""),
        (
            f"refresh after a day of {visits_per_day} visits, from “Gửi ngay”: bytes down (up)",
            lambda r: f"{kb(r.refresh_down)} ({kb(r.refresh_up)})",
            "",
        ),
        ("… requests", lambda r: str(r.refresh_requests), ""),
        ("… seconds to “Sẵn sàng”", lambda r: f"{r.refresh_seconds:.1f} s", ""),
        ("… server CPU time spent", lambda r: f"{r.refresh_server_cpu:.1f} s", ""),
        (
            "… of which the refresh after the sync: bytes down (up)",
            lambda r: f"{kb(r.after_sync_down)} ({kb(r.after_sync_up)})",
            "≤ 30 KB",
        ),
        ("… … requests", lambda r: str(r.after_sync_requests), ""),
        ("… … seconds to “Sẵn sàng”", lambda r: f"{r.after_sync_seconds:.1f} s", "≤ 3 s"),
        (
            "network off: requests that reach for the network (list, household)",
            lambda r: f"{r.offline_list_requests}, {r.offline_household_requests}",
            "0, 0",
        ),
    ]
    header = "| | " + " | ".join(r.label for r in runs) + " | target |"
    lines = [header, "|---|" + "---|" * (len(runs) + 1)]
    for name, value, target in rows:
        lines.append(f"| {name} | " + " | ".join(value(r) for r in runs) + f" | {target} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--households", type=int, default=4000, help="size of the demo commune")
    parser.add_argument("--visits", type=int, default=20, help="visits during the day")
    parser.add_argument("--before", type=Path, help="another checkout of the app, to compare")
    parser.add_argument(
        "--before-label", default="before (one page at a time)", help="its column's title"
    )
    parser.add_argument("--rtt", type=float, default=300, help="round trip, ms")
    parser.add_argument("--kbit", type=float, default=700, help="link rate each way, kbit/s")
    parser.add_argument(
        "--server",
        choices=["gunicorn", "flask"],
        default="gunicorn",
        help="gunicorn as in production (default), or Flask's threaded server",
    )
    args = parser.parse_args()

    url = database(args.households)
    _, size = volunteer_of_largest_village(url)
    shape = {"rtt_ms": args.rtt, "down_kbit": args.kbit, "up_kbit": args.kbit}
    runs = []
    if args.before:
        runs.append(
            measure(args.before_label, args.before.resolve(), url, args.visits, shape, args.server)
        )
    runs.append(measure("this commit", ROOT, url, args.visits, shape, args.server))

    last = runs[-1]
    body = "\n".join(
        [
            "Numbers from a machine shared with other work (its load is in the line above): "
            "server time is slower than on a quiet one. Chromium is Debian's.",
            "",
            f"Volunteer of the largest village ({size} households) of the "
            f"{args.households:,}-household demo, Chromium at 390×844, through a loopback proxy "
            f"shaping the link to {args.rtt:.0f} ms round trip and {args.kbit:.0f} kbit/s each "
            "way (benchmarks/shaped_link.py). Bytes are counted at the proxy, as on the wire. "
            + (
                "Served by gunicorn as in production (gunicorn.conf.py: 2 × cores + 1 processes "
                "with threads), SQLite."
                if args.server == "gunicorn"
                else "Served by Flask's threaded server (`python -m pwa`, one process), SQLite."
            ),
            "",
            table(runs, size, args.visits),
            "",
            "The home page's first load is what the page shows (the list, app.js, app.css); "
            "the outbox's scripts and the scan button's come after its load and are counted "
            "in the preparation, which starts once the outbox has sent what waited.",
            "",
            f"Where the {last.prepare_seconds:.1f} s of the preparation went: the bytes alone "
            f"take {(last.prepare_down + last.prepare_up) * 8 / (args.kbit * 1000):.1f} s on "
            f"this link, the server's work {last.prepare_server_cpu:.1f} s of CPU (overlapping "
            "the transfer: pages leave as they are made); the rest is round trips and, on a "
            "busy machine, waiting for a core.",
            "",
            "The preparation's answers (one per chunk), as the phone saw them, in seconds "
            "from the home page's load (the phone asks for a chunk as soon as the answer "
            "before it names it, and stores the chunks in order):",
            "",
            "| chunk | asked | first byte | last byte | KB |",
            "|---|---|---|---|---|",
            *(
                f"| {n} | {asked:.1f} | {first:.1f} | {last_byte:.1f} | {kb:.0f} |"
                for n, (asked, first, last_byte, kb) in enumerate(last.chunks, 1)
            ),
            f"| ready | | | {last.prepare_seconds:.1f} | |",
            "",
            f"Ready text at the end: “{last.ready_text}”.",
        ]
    )
    print(body)
    results.write(
        "bench_offline",
        "Offline preparation on a weak 3G link (benchmarks/bench_offline.py, issue 16)",
        "python benchmarks/bench_offline.py" + "".join(f" {a}" for a in sys.argv[1:]),
        body,
    )


if __name__ == "__main__":
    main()
