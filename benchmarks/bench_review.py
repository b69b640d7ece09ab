"""The review inbox's cost on a phone's main thread (issue 12, part 7), measured in Debian's
Chromium against a real server process, with the CPU slowed 4× (Chrome DevTools' "mid-tier
mobile" setting) at 390×844.

For commune staff of the demo commune (its inbox full: 50 records shown of many), prints the
main thread's busy time (top-level tasks in a Chromium trace: script, style, layout, paint)
and the wall time for
- opening /review (median of 5 loads), and
- one "Duyệt" tap until the record has left the list (median of 5 decisions).

    .venv/bin/python -m benchmarks.bench_review [--before DIR]

--before DIR also runs the server from another checkout (e.g. a `git worktree` of an older
commit, with its own .venv) and puts its figures beside this one's.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlmodel import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import results  # noqa: E402
from benchmarks.bench_offline import ARGS, free_port, link_for  # noqa: E402
from benchmarks.bench_pages import database  # noqa: E402
from fieldkit.db import make_engine, new_session  # noqa: E402
from fieldkit.models import Member, Role  # noqa: E402

RUNS = 5
THROTTLE = 4


def staff_of(url: str) -> Member:
    engine = make_engine(url)
    with new_session(engine) as session:
        member = session.exec(
            select(Member).where(Member.role == Role.staff).order_by(Member.id)
        ).first()
    engine.dispose()
    return member


def main_thread_busy(trace: bytes) -> float:
    """Seconds the pages' main threads (CrRendererMain, any renderer process: a navigation may
    change process) spent in tasks during a trace. Chromium's Performance.getMetrics cannot
    say it: its counters start again when a navigation swaps the renderer."""
    events = json.loads(trace)
    events = events["traceEvents"] if isinstance(events, dict) else events
    mains = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("ph") == "M"
        and e.get("name") == "thread_name"
        and e["args"].get("name") == "CrRendererMain"
    }
    tasks = sorted(
        (e["pid"], e["tid"], e["ts"], e.get("dur", 0))
        for e in events
        if e.get("ph") == "X"
        and e.get("name") == "ThreadControllerImpl::RunTask"
        and (e["pid"], e["tid"]) in mains
    )
    total, ends = 0, {}
    for pid, tid, start, duration in tasks:  # a task run inside another counts once
        if start >= ends.get((pid, tid), 0):
            total += duration
            ends[(pid, tid)] = start + duration
    return total / 1e6


def traced(browser, page, action) -> tuple[float, float]:
    """(main-thread busy seconds, wall seconds) of `action()`."""
    browser.start_tracing(page=page, categories=["devtools.timeline", "toplevel"])
    started = time.perf_counter()
    action()
    wall = time.perf_counter() - started
    page.wait_for_timeout(500)  # work the page does after it looks done
    return main_thread_busy(browser.stop_tracing()), wall


def measure(checkout: Path) -> dict[str, float]:
    source = Path(database(1520).removeprefix("sqlite:///"))
    workdir = Path(tempfile.mkdtemp())
    copy = workdir / "review.db"
    shutil.copy(source, copy)  # decisions change it: each run starts from the same inbox
    url = f"sqlite:///{copy}"
    staff = staff_of(url)
    port = free_port()
    base = f"http://localhost:{port}"
    env = {
        **os.environ,
        "FIELDKIT_DATABASE_URL": url,
        "FIELDKIT_INSTANCE": str(workdir),
        "FIELDKIT_BASE_URL": base,
        "FIELDKIT_PORT": str(port),
        "FIELDKIT_SECRET_KEY": "bench-review",
    }
    python = checkout / ".venv" / "bin" / "python"
    server = subprocess.Popen(
        [str(python), "-m", "pwa"],
        cwd=checkout,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            context = browser.new_context(viewport={"width": 390, "height": 844})
            page = context.new_page()
            page.goto(link_for(url, staff, base))
            page.get_by_role("button", name="Đăng nhập").click()
            page.wait_for_load_state("load")
            page.goto(f"{base}/review")  # templates compiled, static files cached
            cdp = context.new_cdp_session(page)
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": THROTTLE})

            def open_inbox():
                page.goto(f"{base}/review")
                page.wait_for_load_state("load")

            loads = [traced(browser, page, open_inbox) for _ in range(RUNS)]

            def decide_first():
                item = page.locator(".review-item").first
                item_id = item.get_attribute("id")
                item.get_by_role("button", name="Duyệt", exact=True).click()
                page.wait_for_function(
                    "id => !document.getElementById(id)", arg=item_id, timeout=60_000
                )
                page.wait_for_load_state("load")

            decides = [traced(browser, page, decide_first) for _ in range(RUNS)]
            shown = page.locator(".review-item").count()
            browser.close()
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(workdir, ignore_errors=True)
    return {
        "load_busy": statistics.median(busy for busy, _ in loads) * 1000,
        "load_wall": statistics.median(wall for _, wall in loads) * 1000,
        "decide_busy": statistics.median(busy for busy, _ in decides) * 1000,
        "decide_wall": statistics.median(wall for _, wall in decides) * 1000,
        "shown": shown,
    }


def row(label: str, figures: dict[str, float]) -> str:
    return (
        f"| {label} | {figures['load_busy']:.0f} ms ({figures['load_wall']:.0f} ms) "
        f"| {figures['decide_busy']:.0f} ms ({figures['decide_wall']:.0f} ms) "
        f"| {figures['shown']} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="another checkout to measure beside this one")
    options = parser.parse_args()
    here = Path(__file__).resolve().parents[1]
    rows = []
    if options.before:
        label = subprocess.run(
            ["git", "log", "-1", "--format=%h (before)"],
            cwd=options.before,
            capture_output=True,
            text=True,
        ).stdout.strip()
        rows.append(row(label, measure(options.before.resolve())))
        print(rows[-1])
    rows.append(row("this commit", measure(here)))
    print(rows[-1])
    body = (
        "Commune staff of the demo commune (1,520 households; the inbox shows its 50 oldest "
        f"records), Chromium at 390×844 with the CPU slowed {THROTTLE}× (a mid-range phone). "
        "Main-thread busy time (the top-level tasks of the page's main thread in a Chromium "
        "trace: script, style, layout, paint), wall time in brackets; medians of "
        f"{RUNS}. The server runs on the same machine, and a busy machine (see its load) "
        "slows both columns: compare rows of one run, not runs.\n\n"
        "| | open /review | one “Duyệt” until the record leaves the list | records shown |\n"
        "|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    results.write(
        "bench_review",
        "Review inbox on a phone's main thread (bench_review)",
        "python -m benchmarks.bench_review --before DIR",
        body,
    )


if __name__ == "__main__":
    main()
