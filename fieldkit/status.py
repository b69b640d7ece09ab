"""A resident's digital status per service, derived from visits, never typed twice
(DESIGN.md §2). Approved visits count; pending ones are shown beside them, labelled."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from fieldkit.models import Assistance, Result, ReviewState, Service, Visit

# Which result says most about where a resident stands with a service.
_RANK = {Result.done: 4, Result.referred: 3, Result.partial: 2, Result.failed: 1}


@dataclass(frozen=True)
class Chip:
    service_code: str
    label: str
    result: Result
    approved: bool


def statuses(session: Session, household_id: int) -> dict[int, list[Chip]]:
    """resident id → one chip per service ever worked on, in catalogue order. The chip holds the
    best result over non-rejected visits; `approved` says whether an approved visit backs it."""
    return statuses_of(session, [household_id]).get(household_id, {})


def statuses_of(session: Session, household_ids: Sequence[int]) -> dict[int, dict[int, list[Chip]]]:
    """statuses() of many households in one query: household id → resident id → chips. A
    household without any chip is left out."""
    if not household_ids:
        return {}
    rows = session.execute(
        sa.select(
            col(Visit.household_id),
            col(Assistance.resident_id),
            col(Assistance.service_code),
            col(Assistance.result),
            col(Visit.review_state),
            col(Service.short_name),
            col(Service.sort_order),
        )
        .join(Visit, col(Visit.id) == Assistance.visit_id)
        .join(Service, col(Service.code) == Assistance.service_code)
        .where(
            col(Visit.household_id).in_(list(household_ids)),
            col(Visit.review_state).in_(
                [ReviewState.approved, ReviewState.pending, ReviewState.returned]
            ),
        )
    ).all()
    best: dict[tuple[int, int, str], tuple[int, Result, bool, str, int]] = {}
    for household_id, resident_id, code, result, state, short_name, order in rows:
        approved = state is ReviewState.approved or state == "approved"
        key = (household_id, resident_id, code)
        # An approved result outranks a pending one of the same rank.
        candidate = (_RANK[Result(result)], Result(result), approved, short_name, order)
        current = best.get(key)
        if current is None or (candidate[0], candidate[2]) > (current[0], current[2]):
            best[key] = candidate
    chips: dict[int, dict[int, list[tuple[int, Chip]]]] = {}
    for (household_id, resident_id, code), (_, result, approved, short_name, order) in best.items():
        chips.setdefault(household_id, {}).setdefault(resident_id, []).append(
            (order, Chip(service_code=code, label=short_name, result=result, approved=approved))
        )
    return {
        household_id: {
            rid: [chip for _, chip in sorted(items, key=lambda t: (t[0], t[1].service_code))]
            for rid, items in residents.items()
        }
        for household_id, residents in chips.items()
    }
