"""How long the province's pages take at province size (issue 14): ~100 communes, 1,000,000
households, ~10 million visits, on PostgreSQL.

Uses the PostgreSQL database at --database-url (default: $FIELDKIT_BENCH_PROVINCE_URL); when it
holds no households, builds the demo province there first (`fieldkit demo --province`, the
same code) and reports how long that took. Then renders, in-process through the Flask test
client, signed in as the right person, median and 95th percentile in milliseconds:

- the province overview (/province) as province staff — target < 1 s;
- the week's numbers by commune (/province/week), which the overview fetches after itself;
- a commune's overview, read-only for the province (/province/communes/<id>);
- a commune overview (/villages/commune) as commune staff of the largest commune — < 150 ms;
- a village dashboard (/villages/<id>) as the leader of the largest village — < 50 ms;
- the province's XLSX file (/province/export.xlsx).

Writes its section of benchmarks/RESULTS.md through benchmarks/results.py (date, machine with
its load when it ran — the machine may be shared — and commit).

    .venv/bin/python -m benchmarks.bench_province --database-url \
        postgresql+psycopg://fieldkit:fieldkit@localhost:5432/fieldkit_province [--runs 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import inspect, text
from sqlmodel import col, func, select

from benchmarks import results
from fieldkit.config import Settings
from fieldkit.db import make_engine, new_session
from fieldkit.models import (
    Assistance,
    Commune,
    Household,
    Member,
    Role,
    Village,
    Visit,
    utcnow,
)
from pwa import create_app

TARGETS_MS = {"province overview": 1000, "commune overview": 150, "village dashboard": 50}


def timed(work, runs: int) -> tuple[float, float]:
    work()  # warm caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(int(len(samples) * 0.95) - 1, 0)]


def signed_in_client(app, session, member: Member):
    from fieldkit import members

    client = app.test_client()
    token = members.create_sign_in_link(session, member, now=utcnow())
    session.commit()
    page = client.get(f"/signin/{token}").get_data(as_text=True)
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert client.post(f"/signin/{token}", data={"csrf_token": csrf}).status_code == 303
    return client


def build_if_empty(url: str, communes: int, households: int) -> float | None:
    """Build the demo province when the database holds no households; seconds taken."""
    engine = make_engine(url)
    empty = True
    if inspect(engine).has_table(Household.__tablename__):  # migrated already
        with new_session(engine) as session:
            empty = session.exec(select(func.count()).select_from(Household)).one() == 0
    engine.dispose()
    if not empty:
        return None
    env = {**os.environ, "FIELDKIT_DATABASE_URL": url}
    fieldkit = Path(sys.executable).parent / "fieldkit"
    started = time.perf_counter()
    subprocess.run([str(fieldkit), "migrate"], env=env, check=True)
    subprocess.run(
        [
            str(fieldkit),
            "demo",
            "--province",
            "--communes",
            str(communes),
            "--households",
            str(households),
        ],
        env=env,
        check=True,
    )
    return time.perf_counter() - started


def sizes(session) -> dict[str, int]:
    count = {}
    for name, model in (
        ("communes", Commune),
        ("villages", Village),
        ("households", Household),
        ("visits", Visit),
        ("assistance lines", Assistance),
    ):
        # The planner's estimate for visits and lines (an exact count of 10 million rows is
        # itself seconds), exact for the rest.
        estimate = session.execute(
            text("SELECT reltuples::bigint FROM pg_class WHERE relname = :t"),
            {"t": model.__tablename__},
        ).scalar()
        if estimate is None or estimate < 1_000_000 or name not in ("visits", "assistance lines"):
            estimate = session.exec(select(func.count()).select_from(model)).one()
        count[name] = int(estimate)
    return count


def bench(url: str, runs: int, communes: int, households: int, note: str) -> None:
    built = build_if_empty(url, communes, households)
    settings = replace(
        Settings.from_env({}),
        instance_path=Path("/tmp/fieldkit-bench-province"),
        database_url=url,
        secret_key="bench",
    )
    settings.instance_path.mkdir(exist_ok=True)
    app = create_app({"FIELDKIT_SETTINGS": settings})
    engine = app.extensions["fieldkit_engine"]
    with new_session(engine) as session:
        counted = sizes(session)
        province_staff = session.exec(
            select(Member).where(Member.role == Role.province).order_by(col(Member.id))
        ).first()
        assert province_staff is not None, "no province staff: build with fieldkit demo --province"
        # The largest village, its leader, and commune staff of its commune.
        village_id, village_size = session.exec(
            select(Household.village_id, func.count())
            .group_by(Household.village_id)
            .order_by(func.count().desc(), Household.village_id)
            .limit(1)
        ).one()
        village = session.get(Village, village_id)
        leader = session.exec(
            select(Member).where(Member.village_id == village_id, Member.role == Role.leader)
        ).first()
        staff = session.exec(
            select(Member).where(Member.commune_id == village.commune_id, Member.role == Role.staff)
        ).first()
        village_visits = session.exec(
            select(func.count())
            .select_from(Visit)
            .join(Household, Household.id == Visit.household_id)
            .where(Household.village_id == village_id)
        ).one()
        clients = {
            "province": signed_in_client(app, session, province_staff),
            "staff": signed_in_client(app, session, staff),
            "leader": signed_in_client(app, session, leader),
        }
        commune = session.get(Commune, village.commune_id)
    pages = [
        ("province", "province overview", "/province"),
        ("province", "province week (fetched after the overview)", "/province/week"),
        ("province", "a commune's overview, read-only", f"/province/communes/{commune.id}"),
        ("staff", "commune overview", "/villages/commune"),
        ("leader", "village dashboard", f"/villages/{village_id}"),
        ("province", "province XLSX export", "/province/export.xlsx"),
    ]
    rows = []
    print(
        f"\n{counted['communes']:,} communes, {counted['villages']:,} villages, "
        f"{counted['households']:,} households, ~{counted['visits']:,} visits, "
        f"~{counted['assistance lines']:,} assistance lines; the largest village has "
        f"{village_size:,} households and {village_visits:,} visits"
    )
    print(f"  {'page':58} {'median ms':>9} {'p95 ms':>8}")
    for who, name, path in pages:
        client = clients[who]

        def get(client=client, path=path):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        median, p95 = timed(get, max(3, runs // 4) if "XLSX" in name else runs)
        rows.append((name, path, median, p95))
        print(f"  {name + ' (' + path + ')':58} {median:9.1f} {p95:8.1f}")
    engine.dispose()
    write_results(rows, counted, village_size, village_visits, built, runs, note)


def write_results(rows, counted, village_size, village_visits, built, runs, note) -> None:
    lines = [
        f"- data (PostgreSQL, `fieldkit demo --province`): {counted['communes']:,} communes, "
        f"{counted['villages']:,} villages, {counted['households']:,} households, "
        f"~{counted['visits']:,} visits, ~{counted['assistance lines']:,} assistance lines; "
        f"largest village {village_size:,} households, {village_visits:,} visits",
        f"- each page rendered in-process through the Flask test client, signed in as the "
        f"person who reads it, {runs} runs after one warm-up (the XLSX fewer)",
    ]
    if built is not None:
        lines.append(f"- the demo province was built by this run in {built / 60:.1f} min")
    if note:
        lines.append(f"- {note}")
    lines += ["", "| page | median ms | p95 ms | target |", "|---|---:|---:|---|"]
    for name, path, median, p95 in rows:
        goal = next((f"< {ms:,} ms" for key, ms in TARGETS_MS.items() if name == key), "")
        if goal:
            limit = TARGETS_MS[name]
            goal += " met" if p95 < limit else (" met (median)" if median < limit else " MISSED")
        lines.append(f"| {name} (`{path}`) | {median:,.1f} | {p95:,.1f} | {goal} |")
    results.write(
        "bench_province",
        "Province pages at province size (benchmarks/bench_province.py, issue 14)",
        "python -m benchmarks.bench_province --database-url postgresql+psycopg://… [--runs 20]"
        " (builds the demo province first when the database is empty)",
        "\n".join(lines),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FIELDKIT_BENCH_PROVINCE_URL"),
        help="a PostgreSQL URL (the demo province is built there when it is empty)",
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--communes", type=int, default=100)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--note", default="", help="a line added to RESULTS.md")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("give --database-url postgresql+psycopg://… (the province runs on PostgreSQL)")
    bench(args.database_url, args.runs, args.communes, args.households, args.note)


if __name__ == "__main__":
    main()
