"""Shared by the ingest benchmarks: a demo commune to send visits to, and batches of visits
with assistance lines as phones send them (one volunteer's households, their residents)."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import SQLModel, select

from fieldkit import demo, migrate
from fieldkit.db import make_engine, new_session
from fieldkit.forms import to_local
from fieldkit.models import Household, Member, Resident, ReviewState, Role, Service, utcnow

SERVICES_PER_LINE = (
    "vneid_level1",
    "vneid_activate",
    "dvcqg_login",
    "online_payment",
    "payment_account",
    "health_book",
)


@dataclass
class Phone:
    """One volunteer and what they can visit: household id → resident ids."""

    member_id: int
    households: dict[int, list[int]]


def fresh_database(url: str, households: int) -> None:
    """Empty `url`, migrate it and load the demo commune with `households` households."""
    engine = make_engine(url)
    if url.startswith("postgresql"):
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    else:
        path = url.split("///", 1)[1]
        import pathlib

        for suffix in ("", "-wal", "-shm"):
            pathlib.Path(path + suffix).unlink(missing_ok=True)
    engine.dispose()
    migrate.upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    with new_session(engine) as session:
        demo.build(session, commune_code="15349", households=households, seed=2025, now=utcnow())
        session.commit()
    engine.dispose()
    print(f"  demo commune: {households:,} households in {time.perf_counter() - started:.1f} s")


def phones(url: str, count: int) -> list[Phone]:
    """`count` volunteers of the demo, spread over its villages, with their village's
    households and residents (a volunteer may visit any household of the village)."""
    engine = make_engine(url)
    with new_session(engine) as session:
        volunteers = session.exec(
            select(Member)
            .where(Member.role == Role.volunteer, Member.active)
            .order_by(Member.village_id, Member.id)
        ).all()
        residents: dict[int, list[int]] = {}
        for household_id, resident_id in session.exec(
            select(Resident.household_id, Resident.id).where(
                Resident.review_state != ReviewState.rejected
            )
        ).all():
            residents.setdefault(household_id, []).append(resident_id)
        by_village: dict[int, dict[int, list[int]]] = {}
        for household_id, village_id in session.exec(
            select(Household.id, Household.village_id).where(
                Household.review_state != ReviewState.rejected,
                Household.erased_at.is_(None),  # type: ignore[union-attr]
            )
        ).all():
            if residents.get(household_id):
                by_village.setdefault(village_id, {})[household_id] = residents[household_id]
        codes = set(session.exec(select(Service.code).where(Service.active)).all())
    engine.dispose()
    missing = set(SERVICES_PER_LINE) - codes
    assert not missing, f"services missing from the catalogue: {missing}"
    chosen = [v for v in volunteers if by_village.get(v.village_id)]
    # Round-robin over villages so phones of many villages send at once, as in a morning.
    villages: dict[int, list[Member]] = {}
    for volunteer in chosen:
        villages.setdefault(volunteer.village_id, []).append(volunteer)
    order: list[Member] = []
    while len(order) < len(chosen):
        for group in villages.values():
            if group:
                order.append(group.pop(0))
    result = []
    for index in range(count):
        volunteer = order[index % len(order)]
        result.append(Phone(volunteer.id, by_village[volunteer.village_id]))
    return result


def visit_batch(phone: Phone, size: int, rng: random.Random) -> list[dict]:
    """`size` visit items with two assistance lines each, visited in the last hours."""
    items = []
    now = utcnow()
    for _ in range(size):
        household_id = rng.choice(list(phone.households))
        residents = phone.households[household_id]
        resident_id = rng.choice(residents)
        services = rng.sample(SERVICES_PER_LINE, 2)
        visited = to_local(now - timedelta(minutes=rng.randint(5, 600)))
        item_id = str(uuid.uuid4())
        items.append(
            {
                "id": item_id,
                "kind": "visit",
                "payload": {
                    "uuid": item_id,
                    "household_id": household_id,
                    "visited_at": visited.strftime("%Y-%m-%dT%H:%M"),
                    "outcome": "met",
                    "smartphones": rng.randint(0, 4),
                    "internet_at_home": rng.choice([True, False]),
                    "notes": "Hướng dẫn cài VNeID và đăng nhập Cổng DVCQG.",
                    "lines": [
                        {
                            "resident_id": resident_id,
                            "service_code": code,
                            "result": rng.choice(["done", "partial"]),
                            "device": "own",
                        }
                        for code in services
                    ],
                },
            }
        )
    return items


def table_names() -> str:
    return ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
