"""Exactly-once on PostgreSQL when one batch is replayed by several processes at once — the
way it arrives when a phone retries through two app servers, or two tabs flush one outbox."""

from __future__ import annotations

import json
import multiprocessing
import os

import pytest
from sqlmodel import func, select

from fieldkit.db import make_engine, new_session
from fieldkit.models import Assistance, Household, Member, Resident, Visit
from fieldkit.policy import scope_for
from fieldkit.reporting import indicators
from fieldkit.sync import SyncItem, ingest
from tests.conftest import NOW
from tests.factories import new_uuid
from tests.fieldkit.helpers import line, visit_payload

pytestmark = pytest.mark.postgres
SENDERS = 4
ROUNDS = 3


def _send(url: str, member_id: int, batch: list[dict], start, out) -> None:
    """One process: wait for the others, send the batch ROUNDS times, report the answers."""
    engine = make_engine(url)
    answers = []
    try:
        start.wait(30)
        for _ in range(ROUNDS):
            with new_session(engine) as session:
                member = session.get(Member, member_id)
                items = [SyncItem(**raw) for raw in batch]
                results = ingest(session, items, member=member, now=NOW, commit=session.commit)
                answers.append([result.status.value for result in results])
        out.put(json.dumps({"pid": os.getpid(), "answers": answers}))
    except Exception as error:  # the test reads it
        out.put(json.dumps({"pid": os.getpid(), "error": repr(error)}))
    finally:
        engine.dispose()


def test_one_batch_replayed_by_several_processes_is_stored_once(engine, session, world):
    if engine.dialect.name != "postgresql":
        pytest.skip("several processes writing at once is the PostgreSQL case")
    household_uuid, resident_uuid = new_uuid(), new_uuid()
    batch = [
        # A household found in the field, a resident of it, and a visit naming both by UUID.
        {
            "id": household_uuid,
            "kind": "household",
            "payload": {"label": "27", "head_name": "Vũ Thị Hoa"},
        },
        {
            "id": resident_uuid,
            "kind": "resident",
            "payload": {
                "household_uuid": household_uuid,
                "name": "Vũ Thị Hoa",
                "birth_year": "1980",
                "sex": "female",
                "relation": "Chủ hộ",
            },
        },
    ]
    visit_id = new_uuid()
    batch.append(
        {
            "id": visit_id,
            "kind": "visit",
            "payload": {
                **visit_payload(
                    uuid=visit_id,
                    lines=[
                        {
                            "resident_uuid": resident_uuid,
                            "service_code": "vneid_level1",
                            "result": "done",
                        }
                    ],
                ),
                "household_uuid": household_uuid,
            },
        }
    )
    for household, resident in [(world.household, world.head), (world.neighbour, None)] * 5:
        lines = [line(resident)] if resident is not None else []
        payload = visit_payload(lines=lines, household_id=household.id)
        batch.append({"id": payload["uuid"], "kind": "visit", "payload": payload})

    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    start, out = context.Barrier(SENDERS), context.Queue()
    senders = [
        context.Process(target=_send, args=(url, world.volunteer.id, batch, start, out))
        for _ in range(SENDERS)
    ]
    for sender in senders:
        sender.start()
    reports = [json.loads(out.get(timeout=120)) for _ in senders]
    for sender in senders:
        sender.join(30)
    assert not [r["error"] for r in reports if "error" in r]

    # Each item was stored by exactly one send; every other send of it answered duplicate.
    for position in range(len(batch)):
        seen = [answers[position] for r in reports for answers in r["answers"]]
        assert sorted(set(seen)) == ["duplicate", "stored"], (position, seen)
        assert seen.count("stored") == 1, (position, seen)

    session.expire_all()
    total = lambda model: session.exec(select(func.count()).select_from(model)).one()  # noqa: E731
    assert total(Visit) == 11
    assert total(Assistance) == 6
    assert session.exec(select(func.count()).where(Resident.uuid == resident_uuid)).one() == 1
    assert session.get(Household, world.household.id).visit_count == 5
    assert session.get(Household, world.neighbour.id).visit_count == 5
    scope = scope_for(world.staff)
    assert indicators.village_indicators(session, scope=scope) == indicators.recount(
        session, scope=scope
    )
