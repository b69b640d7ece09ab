"""Commune staff's inbox: the pending records of the commune, oldest first, with filters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from fieldkit import policy
from fieldkit.errors import Forbidden
from fieldkit.i18n import _
from fieldkit.models import (
    Assistance,
    Household,
    HouseholdEdit,
    Member,
    RecordKind,
    RecordRevision,
    Resident,
    ReviewState,
    Service,
    Village,
    Visit,
)
from fieldkit.review.records import (
    INBOX_LIMIT,
    KIND_LABELS,
    MODELS,
    Change,
    FieldText,
    _blankable,
    _submitted_at,
    _yes_no,
    changes_between,
    content_of,
    maker_id,
    readable,
)

# --- the inbox ------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxEntry:
    """One pending record, with what the reviewer needs to decide."""

    kind: RecordKind
    record_id: int
    revision: int
    household: Household
    village_name: str
    maker: Member | None
    submitted_at: datetime  # when this revision arrived
    fields: list[FieldText]
    changes: list[Change]  # from the previous revision (resubmissions only)
    notes: list[str] = field(default_factory=list)  # e.g. residents the visit names, pending
    edit_before: dict[str, str] = field(default_factory=dict)  # household edits: old values

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]

    @property
    def key(self) -> str:
        """How a checkbox names this record and revision: "visit:12:2"."""
        return f"{self.kind.value}:{self.record_id}:{self.revision}"


@dataclass(frozen=True)
class Inbox:
    entries: list[InboxEntry]
    total: int  # pending records matching the filters (entries may be fewer: `limit`)
    by_kind: dict[RecordKind, int]


def inbox(
    session: Session,
    *,
    member: Member,
    now: datetime,
    village_id: int | None = None,
    volunteer_id: int | None = None,
    kind: RecordKind | None = None,
    older_than_days: int | None = None,
    limit: int = INBOX_LIMIT,
) -> Inbox:
    """The pending records of the member's commune, oldest first (by when their current
    revision arrived). Filters: village, the volunteer who made the record, kind, and age
    (waiting at least `older_than_days` days). Commune staff and the admin only."""
    if not policy.can_review(member):
        raise Forbidden(_("Chỉ công chức xã được duyệt hồ sơ."))
    found: list[tuple[RecordKind, Any, Household, str]] = []
    for record_kind, model in MODELS.items():
        if kind is not None and record_kind is not kind:
            continue
        if record_kind is RecordKind.household:
            statement = select(model, model, Village.name)
        else:
            statement = select(model, Household, Village.name).join(
                Household, col(Household.id) == model.household_id
            )
        statement = statement.join(Village, col(Village.id) == Household.village_id).where(
            Village.commune_id == member.commune_id, model.review_state == ReviewState.pending
        )
        if village_id is not None:
            statement = statement.where(Household.village_id == village_id)
        if volunteer_id is not None:
            maker = {
                RecordKind.visit: Visit.volunteer_id,
                RecordKind.household: Household.proposed_by_id,
                RecordKind.household_edit: HouseholdEdit.member_id,
                RecordKind.resident: Resident.added_by_id,
            }[record_kind]
            statement = statement.where(maker == volunteer_id)
        for record, household, village_name in session.exec(statement).all():
            found.append((record_kind, record, household, village_name))

    latest = _latest_revisions(
        session, [(k, r) for k, r, _household, _village in found if r.revision > 1]
    )
    rows = []
    cutoff = now - timedelta(days=older_than_days) if older_than_days else None
    for record_kind, record, household, village_name in found:
        snapshot = latest.get((record_kind, record.id))
        submitted = snapshot.submitted_at if snapshot else _submitted_at(record_kind, record)
        if cutoff is not None and submitted > cutoff:
            continue
        rows.append(
            (submitted, record_kind.value, record.id, record_kind, record, household, village_name)
        )
    rows.sort(key=lambda row: row[:3])
    by_kind = {k: 0 for k in RecordKind}
    for row in rows:
        by_kind[row[3]] += 1
    shown = rows[:limit]
    makers = (
        {
            m.id: m
            for m in session.exec(
                select(Member).where(
                    col(Member.id).in_({maker_id(row[3], row[4]) for row in shown} - {None})
                )
            )
        }
        if shown
        else {}
    )
    known = _Preloaded.load(session, [(row[3], row[4]) for row in shown])
    entries = [
        _entry(session, record_kind, record, household, village_name, submitted, makers, known)
        for submitted, _unused, _unused, record_kind, record, household, village_name in shown
    ]
    return Inbox(entries=entries, total=len(rows), by_kind=by_kind)


@dataclass(frozen=True)
class _Preloaded:
    """What the inbox's entries need, loaded in a few queries for all of them rather than a
    few for each: visits' lines, the previous revisions of resubmitted records, and the
    names (and review states) of the residents and services they mention."""

    lines: dict[int, list[Assistance]]
    previous: dict[tuple[RecordKind, int], dict[str, Any]]
    residents: dict[int, tuple[str, ReviewState]]
    services: dict[str, str]

    @classmethod
    def load(cls, session: Session, records: Sequence[tuple[RecordKind, Any]]) -> _Preloaded:
        visit_ids = [record.id for kind, record in records if kind is RecordKind.visit]
        lines: dict[int, list[Assistance]] = {visit_id: [] for visit_id in visit_ids}
        if visit_ids:
            for line in session.exec(
                select(Assistance)
                .where(col(Assistance.visit_id).in_(visit_ids))
                .order_by(col(Assistance.id))
            ).all():
                lines[line.visit_id].append(line)
        wanted = {
            (kind, record.id): record.revision - 1
            for kind, record in records
            if record.revision > 1
        }
        previous = {}
        if wanted:
            for snapshot in session.exec(
                select(RecordRevision).where(
                    col(RecordRevision.record_id).in_({rid for _unused, rid in wanted})
                )
            ).all():
                key = (RecordKind(snapshot.record_kind), snapshot.record_id)
                if wanted.get(key) == snapshot.revision:
                    previous[key] = snapshot.content
        resident_ids = {line.resident_id for group in lines.values() for line in group}
        resident_ids |= {
            line.get("resident_id")
            for content in previous.values()
            for line in content.get("lines") or []
        }
        residents = (
            {
                rid: (name, ReviewState(state))
                for rid, name, state in session.exec(
                    select(Resident.id, Resident.name, Resident.review_state).where(
                        col(Resident.id).in_(resident_ids - {None})
                    )
                ).all()
                if rid is not None  # a primary key: always
            }
            if resident_ids
            else {}
        )
        services = dict(session.exec(select(Service.code, Service.short_name)).all())
        return cls(lines=lines, previous=previous, residents=residents, services=services)

    @property
    def names(self) -> tuple[dict, dict]:
        return {rid: name for rid, (name, _unused) in self.residents.items()}, self.services


def _latest_revisions(
    session: Session, records: Sequence[tuple[RecordKind, Any]]
) -> dict[tuple[RecordKind, int], RecordRevision]:
    wanted = {(kind, record.id): record.revision for kind, record in records}
    if not wanted:
        return {}
    found = {}
    for snapshot in session.exec(
        select(RecordRevision).where(
            col(RecordRevision.record_id).in_({rid for _unused, rid in wanted})
        )
    ).all():
        key = (RecordKind(snapshot.record_kind), snapshot.record_id)
        if wanted.get(key) == snapshot.revision:
            found[key] = snapshot
    return found


def _entry(
    session: Session,
    kind: RecordKind,
    record: Any,
    household: Household,
    village_name: str,
    submitted: datetime,
    makers: dict[int | None, Member],  # looked up by maker_id(), None for nobody
    known: _Preloaded,
) -> InboxEntry:
    content = content_of(session, kind, record, lines=known.lines.get(record.id))
    names = known.names
    changes: list[Change] = []
    previous = known.previous.get((kind, record.id))
    if previous is not None:
        changes = changes_between(session, previous, content, names=names)
    notes = []
    if kind is RecordKind.visit:
        waiting = list(
            dict.fromkeys(
                known.residents[line["resident_id"]][0]
                for line in content["lines"]
                if line["resident_id"] in known.residents
                and known.residents[line["resident_id"]][1] is not ReviewState.approved
            )
        )
        if waiting:
            notes.append(_("Nhân khẩu chưa duyệt: ") + ", ".join(waiting))
        if household.review_state is not ReviewState.approved:
            notes.append(_("Hộ này là hộ mới, chưa duyệt."))
    edit_before = {}
    if kind is RecordKind.household_edit:
        before = {
            name: (
                _yes_no(change["before"])
                if name == "internet_at_home"
                else _blankable(change["before"])
            )
            for name, change in record.changes.items()
        }
        edit_before = {f.name: f.text for f in readable(session, before, names=names)}
    return InboxEntry(
        kind=kind,
        record_id=record.id,
        revision=record.revision,
        household=household,
        village_name=village_name,
        maker=makers.get(maker_id(kind, record)),
        submitted_at=submitted,
        fields=readable(session, content, names=names),
        changes=changes,
        notes=notes,
        edit_before=edit_before,
    )
