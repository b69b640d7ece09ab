"""Where the time of one sync batch goes: ingest batches of 25 visits (two assistance lines
each) in-process through the sync API's own code, under pyinstrument, and print the tree.

    .venv/bin/python -m benchmarks.profile_ingest [--database-url URL] [--batches 20]
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

from benchmarks.ingest_data import fresh_database, phones, visit_batch
from fieldkit import sync
from fieldkit.db import make_engine, new_session
from fieldkit.models import Member, utcnow


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default="sqlite:////tmp/fieldkit-bench/profile.db")
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--households", type=int, default=1520)
    parser.add_argument("--html", help="also write pyinstrument's HTML report here")
    args = parser.parse_args()
    Path("/tmp/fieldkit-bench").mkdir(exist_ok=True)
    fresh_database(args.database_url, args.households)
    rng = random.Random(13)
    senders = phones(args.database_url, 8)
    batches = [(p, visit_batch(p, 25, rng)) for p in senders for _ in range(args.batches // 8 + 1)]
    batches = batches[: args.batches]
    engine = make_engine(args.database_url)
    from pyinstrument import Profiler

    profiler = Profiler(interval=0.0005)
    started = time.perf_counter()
    profiler.start()
    stored = 0
    for phone, items in batches:
        with new_session(engine) as session:
            member = session.get(Member, phone.member_id)
            results = sync.ingest(
                session,
                sync.parse_batch({"items": items}),
                member=member,
                now=utcnow(),
                commit=session.commit,
            )
            stored += sum(r.status is sync.Status.stored for r in results)
    profiler.stop()
    elapsed = time.perf_counter() - started
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"{stored} visits stored in {elapsed:.2f} s: {elapsed / stored * 1000:.1f} ms/visit")
    if args.html:
        Path(args.html).write_text(profiler.output_html())
    engine.dispose()


if __name__ == "__main__":
    main()
