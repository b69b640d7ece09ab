"""How long the volunteer's household list and household page take to render.

Builds (once, cached under /tmp) a demo database for a commune with 500-household villages and
the 100,000-household demo, then renders each page many times in-process through the Flask
test client (no network, real SQLite) as a signed-in volunteer and as commune staff, and prints
median and 95th percentile in milliseconds. Aim (issue 2): under 30 ms median per page.

    .venv/bin/python benchmarks/bench_pages.py [--runs 60] [--only 500|100000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from pathlib import Path

from sqlmodel import func, select

from fieldkit import demo, members, migrate
from fieldkit.config import Settings
from fieldkit.db import make_engine, new_session
from fieldkit.models import Household, Member, Role, utcnow
from pwa import create_app

CACHE = Path("/tmp/fieldkit-bench")


def database(households: int) -> str:
    """A migrated demo database with `households` households, built once and reused."""
    path = CACHE / f"demo-{households}.db"
    url = f"sqlite:///{path}"
    CACHE.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    migrate.upgrade(url)  # also brings a database built by an older version up to date
    if fresh:
        engine = make_engine(url)
        started = time.perf_counter()
        with new_session(engine) as session:
            demo.build(
                session, commune_code="15349", households=households, seed=2025, now=utcnow()
            )
            session.commit()
        print(f"  built {households:,} households in {time.perf_counter() - started:.1f} s")
        engine.dispose()
    return url


def timed(client, url: str, runs: int) -> tuple[float, float]:
    client.get(url)  # warm caches and templates
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def signed_in_client(app, session, member: Member):
    client = app.test_client()
    token = members.create_sign_in_link(session, member, now=utcnow())
    session.commit()
    page = client.get(f"/signin/{token}").get_data(as_text=True)
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    assert client.post(f"/signin/{token}", data={"csrf_token": csrf}).status_code == 303
    return client


def bench(households: int, runs: int) -> None:
    url = database(households)
    settings = replace(
        Settings.from_env({}), instance_path=CACHE, database_url=url, secret_key="bench"
    )
    app = create_app({"FIELDKIT_SETTINGS": settings})
    engine = app.extensions["fieldkit_engine"]
    with new_session(engine) as session:
        _, _leader, staff = demo.demo_people(session)
        # A volunteer of the largest village: the heaviest list a volunteer opens.
        village_id, village_size = session.exec(
            select(Household.village_id, func.count())
            .group_by(Household.village_id)
            .order_by(func.count().desc(), Household.village_id)
        ).first()
        volunteer = session.exec(
            select(Member)
            .where(Member.village_id == village_id, Member.role == Role.volunteer)
            .order_by(Member.id)
        ).first()
        household_id = session.exec(
            select(Household.id)
            .where(Household.village_id == volunteer.village_id, Household.visit_count > 0)
            .order_by(Household.id)
        ).first()
        clients = {
            f"volunteer (village of {village_size:,})": signed_in_client(app, session, volunteer),
            "commune staff (whole commune)": signed_in_client(app, session, staff),
        }
        assert staff.role is Role.staff
    print(f"\n{households:,}-household demo")
    print(f"  {'who':40} {'page':34} {'median ms':>9} {'p95 ms':>8}")
    pages = [
        ("household list", "/households"),
        ("list, search 'nguyen van'", "/households?q=nguyen+van"),
        ("list, filter follow-ups", "/households?filter=follow_up"),
        ("list, htmx fragment", "/households?q=thi"),
        ("household page", f"/households/{household_id}"),
    ]
    for who, client in clients.items():
        for name, path in pages:
            headers = {"HX-Request": "true"} if "fragment" in name else {}
            client.environ_base.update(
                {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()}
            )
            median, p95 = timed(client, path, runs)
            for key in list(client.environ_base):
                if key.startswith("HTTP_HX"):
                    del client.environ_base[key]
            print(f"  {who:40} {name:34} {median:9.1f} {p95:8.1f}")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--only", type=int, choices=[4000, 100000])
    args = parser.parse_args()
    # 4,000 households over 8 villages: villages of 500 households.
    for households in [args.only] if args.only else [4000, 100000]:
        bench(households, args.runs)


if __name__ == "__main__":
    main()
