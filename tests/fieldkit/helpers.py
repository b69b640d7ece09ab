"""Small helpers for domain tests that log visits in the test world (tests/factories.py).

Times are Vietnam time as the phone sends them; NOW (tests/conftest.py) is 2026-11-20 10:00 there.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, func, select

from fieldkit.models import Member, Visit
from fieldkit.visits import VisitIn, log_visit
from tests.conftest import NOW
from tests.factories import World, new_uuid


def line(
    resident, service_code: str = "vneid_level1", result: str = "done", **fields: Any
) -> dict[str, Any]:
    """One assistance line as the sync API sends it."""
    return {"resident_id": resident.id, "service_code": service_code, "result": result, **fields}


def visit_payload(
    *, lines=(), visited_at: str = "2026-11-20T09:30", outcome: str = "met", **fields: Any
) -> dict[str, Any]:
    """A JSON-style visit payload; a fresh UUID unless one is given."""
    return {
        "uuid": new_uuid(),
        "visited_at": visited_at,
        "outcome": outcome,
        "lines": list(lines),
        **fields,
    }


def record_visit(
    session: Session,
    world: World,
    *,
    household=None,
    member: Member | None = None,
    lines=(),
    **fields: Any,
) -> Visit:
    """Parse and log a visit as the world's volunteer (by default) to the world's household."""
    household = household or world.household
    visit_in = VisitIn.parse(visit_payload(lines=lines, **fields), household_id=household.id)
    visit, created = log_visit(session, visit_in, volunteer=member or world.volunteer, now=NOW)
    assert created
    return visit


def count(session: Session, table) -> int:
    return session.exec(select(func.count()).select_from(table)).one()
