"""Operations: how fast /healthz and /readyz answer under gunicorn (sequential requests over
one kept-alive connection, as a balancer's checks come), and how long `fieldkit backup` takes
for the demo commune on SQLite.

    .venv/bin/python -m benchmarks.bench_ops [--requests 300]

Targets (issue 13): health and readiness < 10 ms; a SQLite backup of the demo commune < 5 s.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import requests

from benchmarks import results
from benchmarks.bench_ingest import WORK, percentile
from benchmarks.ingest_data import fresh_database
from tests.serving import Gunicorn

FIELDKIT = Path(sys.executable).parent / "fieldkit"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{WORK / 'ops.db'}"
    fresh_database(url, 1520)
    database = Path(url.removeprefix("sqlite:///"))
    rows = []
    server = Gunicorn(url, WORK / "instance-ops", env={"FIELDKIT_LOG_LEVEL": "warning"}).start()
    try:
        http = requests.Session()
        for path in ("/healthz", "/readyz"):
            http.get(server.url + path).raise_for_status()
            samples = []
            for _ in range(args.requests):
                began = time.perf_counter()
                answer = http.get(server.url + path)
                samples.append((time.perf_counter() - began) * 1000)
                assert answer.status_code == 200, answer.text
            rows.append(
                f"| `GET {path}` (gunicorn, SQLite) | {percentile(samples, 0.5):.1f} ms | "
                f"{percentile(samples, 0.95):.1f} ms | {percentile(samples, 0.99):.1f} ms |"
            )
            print(rows[-1])
    finally:
        server.stop()
    target = WORK / "ops-backup.db"
    began = time.perf_counter()
    done = subprocess.run(
        [str(FIELDKIT), "backup", str(target)],
        env={"FIELDKIT_DATABASE_URL": url, "FIELDKIT_INSTANCE": str(WORK), "PATH": ""},
        capture_output=True,
        text=True,
        check=True,
    )
    seconds = time.perf_counter() - began
    size = database.stat().st_size / 1_000_000
    rows.append(
        f"| `fieldkit backup` of the demo commune ({size:.1f} MB; command start to finish) "
        f"| {seconds:.2f} s | | |"
    )
    print(rows[-1])
    print(done.stdout.strip())
    body = "| what | median | p95 | p99 |\n|---|---|---|---|\n" + "\n".join(rows) + "\n"
    body += (
        f"\n{args.requests} sequential requests per endpoint over one kept-alive connection, "
        "measured by the client (so including HTTP on loopback). The backup figure includes "
        "starting the `fieldkit` command (Python, imports) and SQLite's integrity check.\n"
    )
    results.write(
        "bench_ops", "Health, readiness and backup", "python -m benchmarks.bench_ops", body
    )


if __name__ == "__main__":
    main()
