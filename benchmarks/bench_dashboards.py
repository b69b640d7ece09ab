"""How long the leaders' and the commune's numbers take on the 100,000-household demo (issue 5).

Builds once (cached under /tmp/fieldkit-bench, shared with bench_pages.py) a migrated
100,000-household SQLite demo, then times, in-process, median and 95th percentile in milliseconds:

- fieldkit.reporting.indicators.village_indicators: one village, the whole commune (read from the
  pre-aggregated VillageProgress), one week (counted from that week's visits), and the
  from-scratch recount of the whole commune for comparison;
- fieldkit.followups: the counts and the lists of one village and of the commune;
- fieldkit.reporting.targets.targets_for;
- the pages, rendered through the Flask test client as a signed-in leader and commune staff
  member (as benchmarks/bench_pages.py does): the village dashboard, the commune overview,
  the follow-ups and the targets page — those that exist.

Aim: the village dashboard and the commune overview under 150 ms median.

    .venv/bin/python -m benchmarks.bench_dashboards [--runs 30] [--households 100000]
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import replace
from datetime import timedelta

from sqlmodel import func, select

from benchmarks.bench_pages import CACHE, database, signed_in_client
from fieldkit import demo, followups
from fieldkit.config import Settings
from fieldkit.db import new_session
from fieldkit.forms import local_today
from fieldkit.models import Household, Visit, utcnow
from fieldkit.policy import Scope
from fieldkit.reporting import indicators, targets
from pwa import create_app


def timed(work, runs: int) -> tuple[float, float]:
    work()  # warm caches
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(int(len(samples) * 0.95) - 1, 0)]


def line(name: str, median: float, p95: float) -> None:
    print(f"  {name:58} {median:9.1f} {p95:8.1f}")


def bench(households: int, runs: int) -> None:
    url = database(households)
    settings = replace(
        Settings.from_env({}), instance_path=CACHE, database_url=url, secret_key="bench"
    )
    app = create_app({"FIELDKIT_SETTINGS": settings})
    engine = app.extensions["fieldkit_engine"]
    with new_session(engine) as session:
        volunteer, leader, staff = demo.demo_people(session)
        commune = Scope(commune_id=staff.commune_id, village_id=None)
        village = Scope(commune_id=leader.commune_id, village_id=leader.village_id)
        size = session.exec(
            select(func.count())
            .select_from(Household)
            .where(Household.village_id == leader.village_id)
        ).one()
        last = session.exec(select(func.max(Visit.visited_at))).one()
        week = {"since": last - timedelta(days=7), "until": last + timedelta(seconds=1)}
        in_week = session.exec(
            select(func.count()).select_from(Visit).where(Visit.visited_at >= week["since"])
        ).one()
        today = local_today(utcnow())
        print(
            f"\n{households:,}-household demo; the leader's village has {size:,} households;"
            f" {in_week:,} visits in the last week"
        )
        print(f"  {'what':58} {'median ms':>9} {'p95 ms':>8}")
        cases = [
            (
                "village_indicators, one village",
                lambda: indicators.village_indicators(session, scope=village),
            ),
            (
                "village_indicators, whole commune",
                lambda: indicators.village_indicators(session, scope=commune),
            ),
            (
                "village_indicators, whole commune, one week",
                lambda: indicators.village_indicators(session, scope=commune, **week),
            ),
            (
                "village_indicators, one village, one week",
                lambda: indicators.village_indicators(session, scope=village, **week),
            ),
            (
                "followup_counts, one village",
                lambda: followups.followup_counts(session, scope=village, today=today),
            ),
            (
                "followup_counts, whole commune",
                lambda: followups.followup_counts(session, scope=commune, today=today),
            ),
            (
                "followups lists, one village",
                lambda: followups.followups(session, scope=village, today=today),
            ),
            (
                "followups lists, whole commune",
                lambda: followups.followups(session, scope=commune, today=today),
            ),
            (
                "targets_for, commune",
                lambda: targets.targets_for(session, commune_id=commune.commune_id, on=today),
            ),
        ]
        for name, work in cases:
            line(name, *timed(work, runs))
        line(
            "(reference) recount from scratch, whole commune",
            *timed(lambda: indicators.recount(session, scope=commune), max(3, runs // 10)),
        )
        clients = {
            "leader": signed_in_client(app, session, leader),
            "staff": signed_in_client(app, session, staff),
        }
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    pages = [
        ("leader", "village dashboard", "villages.show", f"/villages/{leader.village_id}"),
        ("staff", "commune overview", "villages.commune", "/villages/commune"),
        ("leader", "follow-ups, village", "followups.index", "/follow-ups"),
        ("staff", "follow-ups, commune", "followups.index", "/follow-ups"),
        ("leader", "targets, village (read)", "targets.index", "/targets"),
        ("staff", "targets, commune grid", "targets.index", "/targets"),
    ]
    for who, name, endpoint, path in pages:
        if endpoint not in endpoints:
            print(f"  {who + ': ' + name:58} (no such page yet)")
            continue
        client = clients[who]

        def get(client=client, path=path):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        line(f"page {who}: {name} ({path})", *timed(get, runs))
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--households", type=int, default=100_000)
    args = parser.parse_args()
    bench(args.households, args.runs)


if __name__ == "__main__":
    main()
