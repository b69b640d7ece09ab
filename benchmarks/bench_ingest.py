"""Sync ingest through HTTP against the production server (gunicorn, gunicorn.conf.py), on
SQLite and on PostgreSQL, with the raw insert rate of the same rows as the ceiling.

For each engine: a fresh demo commune; N simulated phones (threads), each signed in through a
real one-time link, send their batches of 25 visits (two assistance lines each) one after the
other, all phones at once. Prints visits/s, batch latency p50/p95/p99 and errors; then a
replay storm (every phone sends every batch again, all at once) and the duplicates it left in
the database (must be 0); then, in the same run and database, the same rows inserted straight
into the visit and assistance tables (SQLAlchemy Core, 25 visits per transaction, one
connection) — the ceiling — and the same batches through fieldkit.sync.ingest in-process (no
HTTP), which splits the rest of the cost between the domain's work and the web/server layer.

    .venv/bin/python -m benchmarks.bench_ingest [--full] [--only sqlite|postgres]
        [--postgres-url URL]   # or FIELDKIT_BENCH_POSTGRES_URL; the database is wiped

Small by default (8 phones × 4 batches = 800 visits); --full: 16 phones × 25 batches =
10,000 visits per engine. Target (issue 13): ≥ 400 visits/s on PostgreSQL on a 2-core
machine, batch p95 < 1 s, 0 errors, 0 duplicates, HTTP ≥ 10 % of the raw ceiling.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import threading
import time
import uuid
from pathlib import Path

import requests
import sqlalchemy as sa
from sqlmodel import func, select

from benchmarks import results
from benchmarks.ingest_data import fresh_database, phones, visit_batch
from fieldkit import members, sync
from fieldkit.db import make_engine, new_session
from fieldkit.models import Assistance, Member, Visit, utcnow
from tests.serving import Gunicorn, sign_in

WORK = Path("/tmp/fieldkit-bench")
BATCH = 25


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def _kinds(errors: list[str]) -> dict[str, int]:
    kinds: dict[str, int] = {}
    for error in errors:
        kinds[error] = kinds.get(error, 0) + 1
    return kinds


def _guard(url: str) -> None:
    name = url.rsplit("/", 1)[-1]
    if not any(word in name for word in ("bench", "test")):
        raise SystemExit(
            f"refusing to wipe database {name!r}: give one whose name holds 'bench' or 'test'"
        )


RETRIES = 10  # a batch shed with 503 is sent again after Retry-After, as the outbox does


def send_all(server_url, sessions, batches, *, shuffle=False):
    """Every phone sends its batches in turn, all phones at once; a batch answered 503 is
    sent again after its Retry-After (at most RETRIES times), like the phone's outbox.
    Returns (seconds, latencies until each batch was answered 200 — retries included —,
    per-status counts of items, errors other than shedding, how many 503s were retried)."""
    latencies: list[float] = []
    counts: dict[str, int] = {}
    errors: list[str] = []
    shed = [0]
    network: dict[str, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(len(sessions) + 1)

    def phone(index: int) -> None:
        http, csrf = sessions[index]
        mine = list(batches[index])
        if shuffle:
            random.Random(index).shuffle(mine)
        start.wait()
        for body in mine:
            began = time.perf_counter()
            answer = None
            for _ in range(RETRIES + 1):
                try:
                    answer = http.post(
                        f"{server_url}/api/v1/sync",
                        data=body,
                        headers={"X-CSRF-Token": csrf, "Content-Type": "application/json"},
                        timeout=120,
                    )
                except requests.ConnectionError as error:
                    # The outbox sends again after a network error too; counted apart.
                    with lock:
                        network[repr(error)[:80]] = network.get(repr(error)[:80], 0) + 1
                    answer = None
                    time.sleep(1)
                    continue
                if answer.status_code != 503:
                    break
                with lock:
                    shed[0] += 1
                time.sleep(float(answer.headers.get("Retry-After", "5")))
            else:
                with lock:
                    errors.append("not stored after every retry")
                continue
            took = time.perf_counter() - began
            with lock:
                if answer.status_code != 200:
                    errors.append(f"HTTP {answer.status_code}")
                    continue
                latencies.append(took)
                for result in answer.json()["results"]:
                    counts[result["status"]] = counts.get(result["status"], 0) + 1

    threads = [threading.Thread(target=phone, args=(i,)) for i in range(len(sessions))]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    if network:
        print(f"  network errors, sent again: {network}")
    return time.perf_counter() - began, latencies, counts, errors, shed[0]


def raw_ceiling(url: str, senders, batches_count: int, rng: random.Random) -> float:
    """The same kind of rows straight into the same tables: visits/s."""
    engine = make_engine(url)
    visit_table, line_table = Visit.__table__, Assistance.__table__
    rows = [visit_batch(senders[i % len(senders)], BATCH, rng) for i in range(batches_count)]
    now = utcnow()
    began = time.perf_counter()
    for index, batch in enumerate(rows):
        member_id = senders[index % len(senders)].member_id
        with engine.begin() as connection:
            visit_rows = [
                {
                    "uuid": str(uuid.uuid4()),
                    "household_id": item["payload"]["household_id"],
                    "volunteer_id": member_id,
                    "visited_at": now,
                    "received_at": now,
                    "outcome": "met",
                    "notes": item["payload"]["notes"],
                    "smartphones": item["payload"]["smartphones"],
                    "internet_at_home": item["payload"]["internet_at_home"],
                    "review_state": "pending",
                    "revision": 1,
                    "fingerprint": "0" * 64,
                }
                for item in batch
            ]
            ids = (
                connection.execute(
                    sa.insert(visit_table).returning(
                        visit_table.c.id, sort_by_parameter_order=True
                    ),
                    visit_rows,
                )
                .scalars()
                .all()
            )
            connection.execute(
                sa.insert(line_table),
                [
                    {
                        "visit_id": visit_id,
                        "resident_id": line["resident_id"],
                        "service_code": line["service_code"],
                        "result": line["result"],
                        "device": line["device"],
                    }
                    for visit_id, item in zip(ids, batch, strict=True)
                    for line in item["payload"]["lines"]
                ],
            )
    took = time.perf_counter() - began
    engine.dispose()
    return batches_count * BATCH / took


def in_process(url: str, senders, batches_count: int, rng: random.Random) -> tuple[float, float]:
    """The same batches through fieldkit.sync.ingest, one after another, no HTTP: visits/s,
    and this process's CPU per visit in ms (the app's share, whatever else the machine does;
    the database server's CPU is not in it)."""
    engine = make_engine(url)
    bodies = [
        (senders[i % len(senders)], visit_batch(senders[i % len(senders)], BATCH, rng))
        for i in range(batches_count)
    ]
    began, cpu = time.perf_counter(), time.process_time()
    for phone, items in bodies:
        with new_session(engine) as session:
            member = session.get(Member, phone.member_id)
            sync.ingest(
                session,
                sync.parse_batch({"items": items}),
                member=member,
                now=utcnow(),
                commit=session.commit,
            )
    took, cpu = time.perf_counter() - began, time.process_time() - cpu
    engine.dispose()
    visits = batches_count * BATCH
    return visits / took, cpu / visits * 1000


def bench(engine_name: str, url: str, n_phones: int, per_phone: int, workers: str | None) -> dict:
    print(f"\n{engine_name}: {n_phones} phones × {per_phone} batches of {BATCH} visits")
    fresh_database(url, 1520)
    rng = random.Random(2025)
    senders = phones(url, n_phones)
    batches = [
        [json.dumps({"items": visit_batch(p, BATCH, rng)}) for _ in range(per_phone)]
        for p in senders
    ]
    env = {"FIELDKIT_LOG_LEVEL": "warning"}
    if workers:
        env["FIELDKIT_WORKERS"] = workers
    engine = make_engine(url)
    with new_session(engine) as session:
        before = session.exec(select(func.count()).select_from(Visit)).one()
    server = Gunicorn(url, WORK / f"instance-{engine_name}", env=env).start()
    try:
        sessions = []
        for phone in senders:
            with new_session(engine) as session:
                token = members.create_sign_in_link(
                    session, session.get(Member, phone.member_id), now=utcnow()
                )
                session.commit()
            http = requests.Session()
            sessions.append((http, sign_in(http, server.url, token)))
        seconds, latencies, counts, errors, shed = send_all(server.url, sessions, batches)
        sent = n_phones * per_phone * BATCH
        stored = counts.get("stored", 0)
        rate = stored / seconds
        print(
            f"  sent {sent:,} visits in {seconds:.1f} s: {rate:.0f} visits/s stored; "
            f"batch p50 {percentile(latencies, 0.5) * 1000:.0f} ms, "
            f"p95 {percentile(latencies, 0.95) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 0.99) * 1000:.0f} ms; errors {len(errors)} "
            f"{_kinds(errors)}; 503s retried {shed}; {counts}"
        )
        storm_seconds, _, storm_counts, storm_errors, storm_shed = send_all(
            server.url, sessions, batches, shuffle=True
        )
        with new_session(engine) as session:
            in_db = session.exec(select(func.count()).select_from(Visit)).one()
        engine.dispose()
        # Every visit sent, each once: anything more is a duplicate (and anything less lost).
        duplicates = in_db - before - sent
        print(
            f"  replay storm: {storm_counts} in {storm_seconds:.1f} s, errors "
            f"{len(storm_errors)} {_kinds(storm_errors)}, 503s retried {storm_shed}; "
            f"visit rows beyond one per visit sent: "
            f"{duplicates}"
        )
    finally:
        server.stop()
    ceiling = raw_ceiling(url, senders, max(8, n_phones * per_phone // 2), rng)
    domain, cpu_ms = in_process(url, senders, max(8, n_phones * per_phone // 4), rng)
    print(
        f"  raw insert ceiling {ceiling:,.0f} visits/s; in-process ingest {domain:,.0f} "
        f"visits/s ({cpu_ms:.1f} ms of app CPU per visit); HTTP is "
        f"{rate / ceiling * 100:.1f} % of the ceiling"
    )
    return {
        "engine": engine_name,
        "phones": n_phones,
        "visits": sent,
        "rate": rate,
        "p50": percentile(latencies, 0.5) * 1000,
        "p95": percentile(latencies, 0.95) * 1000,
        "p99": percentile(latencies, 0.99) * 1000,
        "errors": len(errors) + len(storm_errors),
        "shed": shed + storm_shed,
        "duplicates": duplicates,
        "storm": storm_counts,
        "ceiling": ceiling,
        "domain": domain,
        "cpu_ms": cpu_ms,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="16 phones × 25 batches per engine")
    parser.add_argument("--phones", type=int)
    parser.add_argument("--batches", type=int, help="batches per phone")
    parser.add_argument("--only", choices=["sqlite", "postgres"])
    parser.add_argument("--workers", help="gunicorn workers (default: gunicorn.conf.py's)")
    parser.add_argument("--postgres-url", default=os.environ.get("FIELDKIT_BENCH_POSTGRES_URL", ""))
    args = parser.parse_args()
    n_phones = args.phones or (16 if args.full else 8)
    per_phone = args.batches or (25 if args.full else 4)
    WORK.mkdir(parents=True, exist_ok=True)
    engines = []
    if args.only in (None, "sqlite"):
        engines.append(("SQLite", f"sqlite:///{WORK / 'ingest.db'}"))
    if args.only in (None, "postgres"):
        if args.postgres_url:
            _guard(args.postgres_url)
            engines.append(("PostgreSQL", args.postgres_url))
        else:
            print("PostgreSQL skipped: no --postgres-url / FIELDKIT_BENCH_POSTGRES_URL")
    rows = []
    for name, url in engines:
        rows.append(bench(name, url, n_phones, per_phone, args.workers))
    table = [
        "| engine | phones | visits sent | visits/s | batch p50 | p95 | p99 | errors | "
        "503s retried | "
        "duplicate rows after replay storm | raw insert ceiling | in-process ingest | "
        "app CPU per visit | HTTP / ceiling |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        table.append(
            f"| {r['engine']} | {r['phones']} | {r['visits']:,} | **{r['rate']:.0f}** | "
            f"{r['p50']:.0f} ms | {r['p95']:.0f} ms | {r['p99']:.0f} ms | {r['errors']} | "
            f"{r['shed']} | "
            f"{r['duplicates']} | {r['ceiling']:,.0f}/s | {r['domain']:,.0f}/s | "
            f"{r['cpu_ms']:.1f} ms | "
            f"{r['rate'] / r['ceiling'] * 100:.1f} % |"
        )
    notes = (
        "Batches of 25 visits with two assistance lines each, sent over HTTP by threads of "
        "this script (on the same machine: the client's CPU counts against the server's); a "
        "batch shed with 503 is sent again after its Retry-After, as the outbox does, and "
        "its latency counts until it was stored. "
        "The storm re-sends every batch, all phones at once, in shuffled order; every item "
        "must answer `duplicate` and add no row. The raw ceiling inserts the same kind of "
        "rows with SQLAlchemy Core, 25 visits per transaction; the in-process figure runs "
        "`fieldkit.sync.ingest` on the same batches one after another without HTTP. Between "
        "the ceiling and the in-process figure is the domain's work (parsing, scope and "
        "catalogue checks, the UUID lookup, savepoints, the recount of the touched "
        "households' summaries and indicators); between in-process and HTTP is the web "
        "layer (gunicorn, Flask, sessions and CSRF, JSON) — and the gain from serving "
        "several batches at once on several processes."
    )
    size = "--full" if args.full else "(small)"
    results.write(
        "bench_ingest",
        f"Sync ingest through HTTP (gunicorn) {size}",
        "python -m benchmarks.bench_ingest" + (" --full" if args.full else ""),
        "\n".join(table) + "\n\n" + notes,
    )


if __name__ == "__main__":
    main()
