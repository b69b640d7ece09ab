"""What server-side sessions cost (issue 10): the lookup every request makes (one indexed
SELECT of the session row joined to its member) with many sessions stored, and the statements
and writes a signed-in request makes. Prints the numbers and writes them into
benchmarks/RESULTS.md (its "Sessions" section).

    .venv/bin/python -m benchmarks.bench_sessions [--sessions 100000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from sqlalchemy import event, insert, text

from benchmarks import results
from fieldkit import members, migrate, sessions
from fieldkit.config import Settings
from fieldkit.db import make_engine, new_session
from fieldkit.models import Member, WebSession, utcnow
from pwa import auth as web_auth
from pwa import create_app
from tests.factories import build_world

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def fill(engine, count: int) -> tuple[str, int]:
    """`count` sessions spread over the world's members; one token we know."""
    with new_session(engine) as session:
        world = build_world(session, now=utcnow())
        session.commit()
        people = [world.volunteer.id, world.leader.id, world.staff.id, world.other_volunteer.id]
        moment = utcnow()
        rows = [
            {
                "token_hash": f"{i:064x}",
                "member_id": people[i % len(people)],
                "created_at": moment,
                "last_seen_at": moment,
                "proved_at": moment,
                "method": "link",
                "device": "Android · Chrome",
                "data": {},
            }
            for i in range(count)
        ]
        for start in range(0, count, 10_000):
            session.execute(insert(WebSession), rows[start : start + 10_000])
        token, _ = sessions.open_session(
            session, session.get(Member, world.volunteer.id), now=moment, method="link"
        )
        session.commit()
        return token, world.volunteer.id


def time_lookup(engine, token: str, rounds: int = 2000) -> float:
    """Median microseconds of sessions.find() — the per-request lookup."""
    samples = []
    with new_session(engine) as session:
        for _ in range(rounds):
            started = time.perf_counter()
            assert sessions.find(session, token, now=utcnow()) is not None
            samples.append((time.perf_counter() - started) * 1e6)
            session.expunge_all()
    return statistics.median(samples)


def requests_cost(url: str, instance: Path, requests: int = 300) -> dict:
    """Statements, writes and time per signed-in request through the real app."""
    settings = replace(
        Settings.from_env({}), instance_path=instance, database_url=url, secret_key="bench"
    )
    app = create_app({"FIELDKIT_SETTINGS": settings})
    engine = app.extensions["fieldkit_engine"]
    client = app.test_client()
    with new_session(engine) as session:
        volunteer = session.exec(text("SELECT id FROM member ORDER BY id LIMIT 1")).scalar_one()
        link = members.create_sign_in_link(session, session.get(Member, volunteer), now=utcnow())
        session.commit()
    page = client.get(f"/signin/{link}").get_data(as_text=True)
    client.post(f"/signin/{link}", data={"csrf_token": CSRF.search(page).group(1)})
    client.get("/api/v1/session")
    statements: list[str] = []

    def remember(_conn, _cursor, statement, *_args):
        statements.append(statement.lstrip().split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", remember)
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        assert client.get("/api/v1/session").status_code == 200
        samples.append((time.perf_counter() - started) * 1e3)
    quiet = list(statements)
    # The same requests a minute apart: last_seen is written every 5 minutes at most.
    statements.clear()
    moment = utcnow()
    original = web_auth.now
    try:
        for minute in range(60):
            web_auth.now = lambda m=minute: moment + timedelta(minutes=m + 1)
            assert client.get("/api/v1/session").status_code == 200
    finally:
        web_auth.now = original
        event.remove(engine, "before_cursor_execute", remember)
    spread = list(statements)
    engine.dispose()
    return {
        "ms_median": statistics.median(samples),
        "statements_per_request": len(quiet) / requests,
        "writes_per_request": sum(s in ("INSERT", "UPDATE", "DELETE") for s in quiet) / requests,
        "writes_per_hour_of_requests_a_minute_apart": sum(s == "UPDATE" for s in spread),
    }


def run(url: str, engine_name: str, count: int, instance: Path) -> dict:
    engine = make_engine(url)
    token, _ = fill(engine, count)
    lookup = time_lookup(engine, token)
    engine.dispose()
    cost = requests_cost(url, instance)
    return {"engine": engine_name, "sessions": count, "lookup_us": lookup, **cost}


def write_results(rows: list[dict]) -> None:
    lines = [
        "| engine | sessions stored | lookup (median µs) | request (median ms) | statements "
        "per request | writes per request | writes in 60 requests a minute apart |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['engine']} | {row['sessions']:,} | {row['lookup_us']:.0f} | "
            f"{row['ms_median']:.2f} | {row['statements_per_request']:.1f} | "
            f"{row['writes_per_request']:.2f} | "
            f"{row['writes_per_hour_of_requests_a_minute_apart']} |"
        )
    results.write(
        "bench_sessions",
        "Sessions (benchmarks/bench_sessions.py)",
        "python -m benchmarks.bench_sessions [--postgres URL]",
        "\n".join(lines),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=100_000)
    parser.add_argument("--postgres", default=os.environ.get("FIELDKIT_BENCH_POSTGRES_URL"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        migrate.upgrade(url)
        rows.append(run(url, "SQLite", args.sessions, Path(folder)))
        if args.postgres:
            engine = make_engine(args.postgres)
            with engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            engine.dispose()
            migrate.upgrade(args.postgres)
            rows.append(run(args.postgres, "PostgreSQL", args.sessions, Path(folder)))
    for row in rows:
        print(
            f"{row['engine']}: {row['sessions']:,} sessions; lookup {row['lookup_us']:.0f} µs; "
            f"request {row['ms_median']:.2f} ms; {row['statements_per_request']:.1f} statements "
            f"and {row['writes_per_request']:.2f} writes per request; "
            f"{row['writes_per_hour_of_requests_a_minute_apart']} writes in 60 requests a "
            "minute apart"
        )
    write_results(rows)


if __name__ == "__main__":
    main()
