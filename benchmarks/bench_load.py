"""A load test against the production server: simulated volunteers (locust, headless, in a
bounded time) mixing page views, offline preparation and syncs, against gunicorn with
gunicorn.conf.py on a fresh demo commune (PostgreSQL when given, else SQLite).

    .venv/bin/python -m benchmarks.bench_load [--full] [--users N] [--seconds S]
        [--postgres-url URL]   # or FIELDKIT_BENCH_POSTGRES_URL; the database is wiped

Small by default (50 volunteers, 30 s); --full: 500 volunteers for 120 s (spawned at 25/s).
Prints and writes to RESULTS.md, per kind of request: requests, failures, median, p95, p99.
Target (issue 13): 500 volunteers, 0 errors, page p95 < 500 ms, sync p95 < 1 s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
from pathlib import Path

from sqlmodel import select

from benchmarks import results
from benchmarks.bench_ingest import WORK, _guard
from benchmarks.ingest_data import fresh_database, phones
from fieldkit import members
from fieldkit.db import make_engine, new_session
from fieldkit.models import Member, utcnow
from tests.serving import Gunicorn

LOCUSTFILE = Path(__file__).parent / "locustfile.py"


def people(url: str, users: int) -> list[dict]:
    """One sign-in link per simulated volunteer (volunteers of the demo, reused round robin:
    several phones of one person), with the households and residents of their village."""
    engine = make_engine(url)
    senders = phones(url, users)
    out = []
    with new_session(engine) as session:
        for phone in senders:
            member = session.get(Member, phone.member_id)
            token = members.create_sign_in_link(session, member, now=utcnow())
            # A volunteer's own village; a sample keeps the file small.
            households = dict(list(phone.households.items())[:60])
            out.append({"token": token, "households": households})
        session.commit()
        assert session.exec(select(Member)).first() is not None
    engine.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="500 volunteers for 120 s")
    parser.add_argument("--users", type=int)
    parser.add_argument("--seconds", type=int)
    parser.add_argument("--workers", help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--postgres-url", default=os.environ.get("FIELDKIT_BENCH_POSTGRES_URL", ""))
    args = parser.parse_args()
    users = args.users or (500 if args.full else 50)
    seconds = args.seconds or (120 if args.full else 30)
    spawn_rate = 25 if users >= 100 else 10
    WORK.mkdir(parents=True, exist_ok=True)
    if args.postgres_url:
        _guard(args.postgres_url)
        url, engine_name = args.postgres_url, "PostgreSQL"
    else:
        url, engine_name = f"sqlite:///{WORK / 'load.db'}", "SQLite"
    print(f"{users} simulated volunteers for {seconds} s against gunicorn on {engine_name}")
    fresh_database(url, 1520)
    people_file = WORK / "load-people.json"
    people_file.write_text(json.dumps(people(url, users)))
    env = {"FIELDKIT_LOG_LEVEL": "warning"}
    if args.workers:
        env["FIELDKIT_WORKERS"] = args.workers
    server = Gunicorn(url, WORK / "instance-load", env=env).start()
    prefix = WORK / "load"
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(LOCUSTFILE),
                "--headless",
                "--users",
                str(users),
                "--spawn-rate",
                str(spawn_rate),
                "--run-time",
                f"{seconds}s",
                "--stop-timeout",
                "20",
                "--host",
                server.url,
                "--csv",
                str(prefix),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env={**os.environ, "FIELDKIT_LOAD_PEOPLE": str(people_file)},
            check=False,
            timeout=seconds + 180,
        )
    finally:
        server.stop()
    with open(f"{prefix}_stats.csv") as stats_file:
        rows = list(csv.DictReader(stats_file))
    server_errors = sum('"status": 500' in text for text in server.log_lines())
    table = [
        "| request | count | failures | median | p95 | p99 | max |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        table.append(
            f"| {row['Name']} | {int(row['Request Count']):,} | {row['Failure Count']} | "
            f"{row['50%']} ms | {row['95%']} ms | {row['99%']} ms | "
            f"{float(row['Max Response Time']):.0f} ms |"
        )
    failures = Path(f"{prefix}_failures.csv").read_text().strip().splitlines()[1:]
    body = "\n".join(table) + "\n\n"
    body += (
        f"{users} simulated volunteers (spawned at {spawn_rate}/s) for {seconds} s on "
        f"{engine_name}, each pausing 5–15 s between actions: household list (3), household "
        "page (6), follow-ups (1), offline preparation = the pack + 5 of its pages (1), sync "
        "of 5 visits with 1–2 lines (6). Locust runs on the same machine as the server. "
        f"Server log lines with status 500: {server_errors}.\n"
    )
    if failures:
        body += "\nFailures:\n\n" + "\n".join(f"- {line}" for line in failures[:10]) + "\n"
    print("\n".join(table))
    if failures:
        print("failures:", *failures[:10], sep="\n  ")
    size = "--full" if args.full else "(small)"
    results.write(
        "bench_load",
        f"Load test, simulated volunteers against gunicorn {size}",
        "python -m benchmarks.bench_load" + (" --full" if args.full else ""),
        body,
    )


if __name__ == "__main__":
    main()
