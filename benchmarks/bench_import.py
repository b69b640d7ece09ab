"""How long bringing a 10,000-row list in takes (issue 15): the preview (read the file, check
every row, match it against the register) and the import (everything in one transaction,
numbers recounted), then the same file again (nothing changes), on SQLite and PostgreSQL.

Into the demo commune (1,520 households with a few months of visits, `fieldkit demo`), two
real-looking files built as tests build them (tests/import_files.py):

- people.xlsx: 10,000 people, one row each, in ~3,000 households grouped by household code,
  with a title above the header, a row of column numbers, a citizen-ID column (dropped), birth
  dates as Excel dates, serial numbers and text, phones that lost their leading 0;
- households.csv: 10,000 households, one row each, Excel's Vietnamese CSV (";", BOM).

The preview is also timed through the app (the upload request, Flask test client, no network).
Targets: preview < 10 s, import < 30 s. Figures go to benchmarks/RESULTS.md with the date, the
machine (cores, memory, load average: the machine is shared) and the commit.

    .venv/bin/python -m benchmarks.bench_import [--runs 3] [--postgres URL]

PostgreSQL: the URL given, or FIELDKIT_TEST_POSTGRES_URL; its public schema is DROPPED first.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy import text
from sqlmodel import func, select

from benchmarks import results
from fieldkit import communes, demo, imports, merge, migrate
from fieldkit.config import Settings
from fieldkit.db import make_engine, new_session
from fieldkit.models import Commune, Household, ImportKind, Resident, utcnow
from tests.import_files import (
    HOUSEHOLD_HEADERS,
    PERSON_HEADERS,
    csv_bytes,
    families,
    household_rows,
    person_rows,
    xlsx,
)


def fresh_database(url: str | None) -> str:
    if url is None:
        path = Path(tempfile.mkdtemp(prefix="fieldkit-bench-import-")) / "fieldkit.db"
        url = f"sqlite:///{path}"
    else:
        engine = make_engine(url)
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    with new_session(engine) as session:
        demo.build(session, commune_code="15349", households=1520, seed=2025, now=utcnow())
        session.commit()
    engine.dispose()
    return url


def files(url: str) -> dict[str, tuple[str, bytes]]:
    engine = make_engine(url)
    with new_session(engine) as session:
        commune = session.exec(select(Commune)).one()
        names = [v.name for v in communes.villages_of(session, commune.id)]
    engine.dispose()
    people = families(3100, names, seed=15, first_house=5000)
    rows = person_rows(people)[:10_000]
    ones = families(10_000, names, seed=16, code_prefix="X", first_house=9000)
    return {
        "people.xlsx": ("people.xlsx", xlsx(PERSON_HEADERS, rows, merge_key=None)),
        "households.csv": ("households.csv", csv_bytes(HOUSEHOLD_HEADERS, household_rows(ones))),
    }


def counts(session) -> tuple[int, int]:
    return (
        session.exec(select(func.count()).select_from(Household)).one(),
        session.exec(select(func.count()).select_from(Resident)).one(),
    )


def once(url: str, name: str, data: bytes) -> dict[str, float]:
    """Preview, import, preview again, import again (nothing changes); seconds each."""
    engine = make_engine(url)
    timings: dict[str, float] = {}
    try:
        for label in ("", " again"):
            with new_session(engine) as session:
                commune = session.exec(select(Commune)).one()
                importer = imports.Importer.console(commune.id)
                started = time.perf_counter()
                batch = imports.start(
                    session,
                    importer,
                    kind=ImportKind.households,
                    file_name=name,
                    data=data,
                    now=utcnow(),
                )
                session.commit()
                timings["preview" + label] = time.perf_counter() - started
                assert batch.preview["counts"]["rows_refused"] == 0, batch.preview["refused"][:5]
                assert imports.claim(session, batch, now=utcnow())
                session.commit()
                started = time.perf_counter()
                done = imports.run(session, batch.id, importer, now=utcnow())
                session.commit()
                timings["import" + label] = time.perf_counter() - started
                if label:
                    assert done.counts["households_new"] == 0, done.counts
                    assert done.counts["households_updated"] == 0, done.counts
                else:
                    timings["households"] = done.counts["households_new"]
                    timings["residents"] = done.counts["residents_new"]
        # The review inbox's "Có thể trùng hộ" over the whole commune, now 11,500+ households.
        with new_session(engine) as session:
            commune = session.exec(select(Commune)).one()
            samples = []
            for _ in range(5):
                started = time.perf_counter()
                merge.possible_duplicates(session, commune_id=commune.id)
                samples.append(time.perf_counter() - started)
            timings["duplicates"] = statistics.median(samples)
            timings["register"] = counts(session)[0]
    finally:
        engine.dispose()
    return timings


def through_the_app(url: str, name: str, data: bytes) -> float:
    """The upload request as the page sends it: read, check, match, store the preview."""
    from benchmarks.bench_pages import signed_in_client
    from pwa import create_app

    settings = replace(
        Settings.from_env({}),
        instance_path=Path(tempfile.mkdtemp()),
        database_url=url,
        secret_key="bench",
    )
    app = create_app({"FIELDKIT_SETTINGS": settings})
    engine = app.extensions["fieldkit_engine"]
    with new_session(engine) as session:
        _, _, staff = demo.demo_people(session)
        client = signed_in_client(app, session, staff)
    page = client.get("/imports").get_data(as_text=True)
    csrf = page.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    started = time.perf_counter()
    response = client.post(
        "/imports",
        data={"csrf_token": csrf, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", default=os.environ.get("FIELDKIT_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    engines = [("SQLite", None)] + ([("PostgreSQL", args.postgres)] if args.postgres else [])
    lines = []
    for engine_name, given in engines:
        print(f"{engine_name}:")
        for file_name in ("people.xlsx", "households.csv"):
            runs = []
            app_times = []
            for _ in range(args.runs):
                url = fresh_database(given)
                name, data = files(url)[file_name]
                runs.append(once(url, name, data))
                url = fresh_database(given)
                app_times.append(through_the_app(url, name, data))
            median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
            worst = {key: max(run[key] for run in runs) for key in runs[0]}
            app = statistics.median(app_times)
            line = (
                f"| {engine_name} | {file_name} ({int(median['households']):,} households, "
                f"{int(median['residents']):,} residents) | {median['preview']:.1f} "
                f"({worst['preview']:.1f}) | {app:.1f} | {median['import']:.1f} "
                f"({worst['import']:.1f}) | {median['preview again']:.1f} / "
                f"{median['import again']:.1f} | {median['duplicates'] * 1000:.0f} ms "
                f"({int(median['register']):,}) |"
            )
            print("  " + line)
            lines.append(line)
    results.write(
        "bench_import",
        "Imports: 10,000 rows (benchmarks/bench_import.py, issue 15)",
        "python -m benchmarks.bench_import",
        "\n".join(
            [
                f"Seconds, median of {args.runs} runs (worst in brackets), each into a fresh demo "
                "commune of 1,520 households. Preview: read the file, check every row, match it "
                "against the register (fieldkit.imports.start). Through the app: the same as the "
                "upload request (Flask test client, no network). Import: one transaction, numbers "
                "recounted (fieldkit.imports.run). Again: the same file a second time — 0 changes. "
                "Targets: preview < 10 s, import < 30 s. Duplicates: finding likely duplicate "
                "households over the whole commune afterwards (the review inbox's section; "
                "households in the register in brackets).",
                "",
                "| engine | file | preview | through the app | import | again: preview / import "
                "| duplicates |",
                "|---|---|---|---|---|---|---|",
                *lines,
            ]
        ),
    )


if __name__ == "__main__":
    main()
