"""How soon an idle phone's outbox drains once its server is back (issue 11), and how soon
"Gửi ngay" gives up on a hung server — in Debian's Chromium against a real server process.

For each outage length: a phone (390×844) signed in, one visit saved while the server is
stopped, the outage held, the server started; the time from the server accepting connections
to the visit being stored, with no tap, reload or `online` event. Then a hung server (a
loopback proxy that accepts and never answers): the time from "Gửi ngay" to the phone saying
"Máy chủ không trả lời". Writes its section of benchmarks/RESULTS.md (benchmarks/results.py).

    .venv/bin/python -m benchmarks.bench_drain [outage seconds ...]   # default: 6 6 6 30 120

Targets (issue 11): drained within 15 s of the server's return, idle; a hung server given up
on within the request deadline (10 s for a small batch, outbox-rules.js).
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from playwright.sync_api import expect, sync_playwright
from sqlmodel import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks import results  # noqa: E402
from fieldkit import migrate  # noqa: E402
from fieldkit.db import make_engine, new_session  # noqa: E402
from fieldkit.models import Visit  # noqa: E402
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, Server  # noqa: E402
from tests.e2e.flows import invite_link  # noqa: E402
from tests.e2e.proxy import FaultProxy  # noqa: E402
from tests.factories import build_world  # noqa: E402


def visits(engine) -> int:
    with new_session(engine) as session:
        return session.exec(select(func.count()).select_from(Visit)).one()


def save_visit(page, household_id: int) -> None:
    """What the visit form does: into the outbox, then a forced send (which fails)."""
    page.wait_for_function("!!window.FieldkitOutbox")
    page.evaluate(
        """async (householdId) => {
            const uuid = crypto.randomUUID();
            const local = new Date(Date.now() + 7 * 3600e3).toISOString().slice(0, 16);
            const payload = {uuid, household_id: String(householdId), outcome: "not_home",
                             visited_at: local};
            await FieldkitOutbox.enqueue({id: uuid, kind: "visit", payload, householdId});
            await FieldkitOutbox.flush({force: true});
        }""",
        household_id,
    )


def main(outages: list[float]) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-drain-"))
    url = f"sqlite:///{workdir / 'fieldkit.db'}"
    migrate.upgrade(url)
    engine = make_engine(url)
    with new_session(engine) as session:
        world = build_world(session, now=datetime.now(UTC))
        session.commit()
        phone, household_id = world.volunteer.phone, world.household.id
    server = Server(url, workdir)
    server.start()
    rows = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh"
        )
        page = context.new_page()
        page.goto(invite_link(server, phone))
        page.get_by_role("button", name="Đăng nhập").click()
        page.goto(f"{server.url}/households/{household_id}")
        expect(page.locator("[data-ready]")).to_contain_text("Sẵn sàng", timeout=60_000)
        for outage in outages:
            before = visits(engine)
            server.stop()
            stopped = time.monotonic()
            save_visit(page, household_id)
            time.sleep(max(0.0, outage - (time.monotonic() - stopped)))
            server.start()
            back = time.monotonic()
            while visits(engine) == before:
                time.sleep(0.05)
            rows.append((f"idle phone, server down {outage:g} s", time.monotonic() - back))
            print(f"outage {outage:>5g} s → stored {rows[-1][1]:.1f} s after the server was back")

        proxy = FaultProxy(server.port).start()
        other = context.new_page()
        other.goto(invite_link(server, phone).replace(server.url, proxy.url))
        other.get_by_role("button", name="Đăng nhập").click()
        other.goto(f"{proxy.url}/households/{household_id}")
        context.set_offline(True)
        save_visit(other, household_id)
        proxy.set("hang")
        context.set_offline(False)
        tapped = time.monotonic()
        other.get_by_role("button", name="Gửi ngay").click()
        expect(other.locator("[data-net]")).to_have_text(
            re.compile("Máy chủ không trả lời"), timeout=120_000
        )
        rows.append(
            ("hung server: «Gửi ngay» → «Máy chủ không trả lời»", time.monotonic() - tapped)
        )
        print(f"hung server → gave up after {rows[-1][1]:.1f} s")
        proxy.stop()
        browser.close()
    server.stop()
    engine.dispose()
    write(rows)


def write(rows: list[tuple[str, float]]) -> None:
    by_case: dict[str, list[float]] = {}
    for name, seconds in rows:
        by_case.setdefault(name, []).append(seconds)
    lines = [
        "| case | runs | seconds (each run) | median |",
        "|---|---:|---|---:|",
        *[
            f"| {name} | {len(times)} | {', '.join(f'{t:.1f}' for t in times)} | "
            f"{statistics.median(times):.1f} |"
            for name, times in by_case.items()
        ],
        "",
        "Idle phone: one visit saved while the server is stopped; seconds from the server "
        "accepting connections again to the visit being stored, with no tap, reload or "
        "`online` event (Chromium 390×844, SQLite, one server process). Before issue 11 "
        "four visits left 58 s, 178 s and 358 s after a 6-second outage (the chaos run). "
        "Target: within 15 s.",
        "",
        "Hung server: a loopback proxy that accepts and never answers; seconds from "
        "«Gửi ngay» to the bar saying «Máy chủ không trả lời». The deadline of a request is "
        "10 s + its upload at 4 KB/s, at most 60 s (outbox-rules.js: a cheap phone on 3G "
        "inside a house), so a small batch is given up on after ~10 s; before issue 11 "
        "there was no deadline.",
        "",
        "A shared machine with up to five other sessions running tests: indicative figures.",
    ]
    results.write(
        "bench_drain",
        "Outbox: drain after an outage, giving up on a hung server (benchmarks/bench_drain.py)",
        "python -m benchmarks.bench_drain [outage seconds ...]",
        "\n".join(lines),
    )


if __name__ == "__main__":
    main([float(a) for a in sys.argv[1:]] or [6, 6, 6, 30, 120])
