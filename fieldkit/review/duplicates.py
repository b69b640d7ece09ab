"""Possible duplicate visits (issue 11): pairs shown in the inbox with a one-tap rejection."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from fieldkit import forms, policy
from fieldkit.errors import Forbidden
from fieldkit.i18n import _
from fieldkit.models import (
    Household,
    Member,
    RecordKind,
    ReviewState,
    Village,
    Visit,
    VisitDuplicate,
)
from fieldkit.review.inbox import _Preloaded
from fieldkit.review.records import INBOX_LIMIT, FieldText, content_of, readable

# --- possible duplicate visits (issue 11) ---------------------------------------------------


@dataclass(frozen=True)
class DuplicatePair:
    """A pending visit flagged when it arrived (fieldkit.visits.find_twin), beside the visit
    it looks like. Rejecting `visit` as a duplicate is one tap (`key`, `reason`)."""

    visit: Visit
    original: Visit
    household: Household
    village_name: str
    volunteer: Member | None
    visit_fields: list[FieldText]
    original_fields: list[FieldText]

    @property
    def key(self) -> str:
        """The inbox's name for the flagged visit at the revision shown ("visit:12:1")."""
        return f"{RecordKind.visit.value}:{self.visit.id}:{self.visit.revision}"

    @property
    def original_time(self) -> str:
        return f"{forms.to_local(self.original.visited_at):%H:%M}"

    @property
    def reason(self) -> str:
        return _(
            (
                "Trùng với lượt thăm lúc %(original_time)s (cùng hộ, người thăm, kết quả và dòng "
                "hỗ trợ)."
            ),
            original_time=self.original_time,
        )


def possible_duplicate_visits(
    session: Session,
    *,
    member: Member,
    village_id: int | None = None,
    volunteer_id: int | None = None,
    limit: int = INBOX_LIMIT,
) -> list[DuplicatePair]:
    """The member's commune's visits flagged as possible duplicates that still wait for a
    decision, oldest first, each with the visit it looks like — unless that one was rejected
    since (then nothing is doubled any more). Deciding the flagged visit, either way, takes
    the pair off the list. Commune staff and the admin only."""
    if not policy.can_review(member):
        raise Forbidden(_("Chỉ công chức xã được duyệt hồ sơ."))
    statement = (
        select(VisitDuplicate, Visit, Household, Village.name)
        .join(Visit, col(Visit.id) == VisitDuplicate.visit_id)
        .join(Household, col(Household.id) == Visit.household_id)
        .join(Village, col(Village.id) == Household.village_id)
        .where(
            Village.commune_id == member.commune_id,
            Visit.review_state == ReviewState.pending,
        )
        .order_by(col(Visit.received_at), col(Visit.id))
    )
    if village_id is not None:
        statement = statement.where(Household.village_id == village_id)
    if volunteer_id is not None:
        statement = statement.where(Visit.volunteer_id == volunteer_id)
    rows = session.exec(statement).all()
    originals = (
        {
            v.id: v
            for v in session.exec(
                select(Visit).where(
                    col(Visit.id).in_({flag.original_id for flag, *_unused in rows})
                )
            )
        }
        if rows
        else {}
    )
    rows = [
        row
        for row in rows
        if originals[row[0].original_id].review_state is not ReviewState.rejected
    ][:limit]
    if not rows:
        return []
    shown = [visit for _flag, visit, _household, _village in rows] + [
        originals[f.original_id] for f, *_unused in rows
    ]
    known = _Preloaded.load(session, [(RecordKind.visit, visit) for visit in shown])
    volunteers = {
        m.id: m
        for m in session.exec(
            select(Member).where(col(Member.id).in_({visit.volunteer_id for visit in shown}))
        )
    }

    def fields(visit: Visit) -> list[FieldText]:
        assert visit.id is not None  # a stored visit
        content = content_of(session, RecordKind.visit, visit, lines=known.lines[visit.id])
        return readable(session, content, names=known.names)

    return [
        DuplicatePair(
            visit=visit,
            original=originals[flag.original_id],
            household=household,
            village_name=village_name,
            volunteer=volunteers.get(visit.volunteer_id),
            visit_fields=fields(visit),
            original_fields=fields(originals[flag.original_id]),
        )
        for flag, visit, household, village_name in rows
    ]
