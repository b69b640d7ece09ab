"""A household's records with their revisions and decisions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from fieldkit import forms
from fieldkit.i18n import _
from fieldkit.models import (
    Household,
    HouseholdEdit,
    Member,
    RecordKind,
    RecordRevision,
    Resident,
    ReviewDecision,
    ReviewState,
    Visit,
)
from fieldkit.review.records import (
    DECISION_LABELS,
    KIND_LABELS,
    Change,
    FieldText,
    _load,
    _parse_kind,
    _submitted_at,
    changes_between,
    content_of,
    maker_id,
    readable,
)

# --- history --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RevisionEntry:
    revision: int
    submitted_by: str
    submitted_at: datetime
    fields: list[FieldText]
    changes: list[Change]  # from the previous revision; empty for the first


@dataclass(frozen=True)
class DecisionEntry:
    revision: int
    decision: ReviewState
    reason: str
    reviewer: str
    at: datetime

    @property
    def label(self) -> str:
        return DECISION_LABELS[self.decision]


def _snapshots(session: Session, kind: RecordKind, record: Any) -> list[RecordRevision]:
    """Every revision's content, in order; a record never resubmitted has no snapshot and its
    first revision is its content now."""
    stored = list(
        session.exec(
            select(RecordRevision)
            .where(RecordRevision.record_kind == kind, RecordRevision.record_id == record.id)
            .order_by(col(RecordRevision.revision))
        ).all()
    )
    if not stored or stored[0].revision != 1:
        stored.insert(
            0,
            RecordRevision(
                uuid=record.uuid,
                record_kind=kind,
                record_id=record.id,
                revision=1,
                content=content_of(session, kind, record),
                submitted_by_id=maker_id(kind, record),
                submitted_at=_submitted_at(kind, record),
            ),
        )
    return stored


def history(
    session: Session, kind: RecordKind, record_id: int
) -> list[RevisionEntry | DecisionEntry]:
    """The record's revisions and decisions in order: revision 1, the decisions on it,
    revision 2 (with what changed), … Scope is the caller's to check."""
    kind = _parse_kind(kind)
    record = _load(session, kind, record_id)
    snapshots = _snapshots(session, kind, record)
    decisions = list(
        session.exec(
            select(ReviewDecision)
            .where(ReviewDecision.record_kind == kind, ReviewDecision.record_id == record.id)
            .order_by(col(ReviewDecision.revision), col(ReviewDecision.at), col(ReviewDecision.id))
        ).all()
    )
    people = {snapshot.submitted_by_id for snapshot in snapshots}
    people |= {decision.reviewer_id for decision in decisions}
    names = (
        dict(
            session.exec(
                select(Member.id, Member.name).where(col(Member.id).in_(people - {None}))
            ).all()
        )
        if people - {None}
        else {}
    )
    entries: list[tuple[int, int, Any]] = []
    previous = None
    for snapshot in snapshots:
        entries.append(
            (
                snapshot.revision,
                0,
                RevisionEntry(
                    revision=snapshot.revision,
                    submitted_by=names.get(snapshot.submitted_by_id, ""),
                    submitted_at=snapshot.submitted_at,
                    fields=readable(session, snapshot.content),
                    changes=changes_between(session, previous, snapshot.content)
                    if previous is not None
                    else [],
                ),
            )
        )
        previous = snapshot.content
    for decision in decisions:
        entries.append(
            (
                decision.revision,
                1,
                DecisionEntry(
                    revision=decision.revision,
                    decision=ReviewState(decision.decision),
                    reason=decision.reason,
                    reviewer=names.get(decision.reviewer_id, ""),
                    at=decision.at,
                ),
            )
        )
    entries.sort(key=lambda entry: entry[:2])
    return [entry for _unused, _unused, entry in entries]


@dataclass(frozen=True)
class RecordSummary:
    """One field record of a household, for the household's review section."""

    kind: RecordKind
    record_id: int
    title: str
    state: ReviewState
    revision: int
    entries: list[RevisionEntry | DecisionEntry]

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def household_records(
    session: Session, household: Household, *, only_reviewed: bool = False
) -> list[RecordSummary]:
    """The field records of a household with their histories: the household itself (when it
    was proposed from the field), its edits, residents and visits, oldest first.
    `only_reviewed` keeps those with at least one decision or revision."""
    records: list[tuple[RecordKind, Any, str]] = []
    if household.proposed_by_id is not None:
        records.append((RecordKind.household, household, _("Hộ %(label)s", label=household.label)))
    for edit in session.exec(
        select(HouseholdEdit)
        .where(HouseholdEdit.household_id == household.id)
        .order_by(col(HouseholdEdit.id))
    ).all():
        records.append((RecordKind.household_edit, edit, _("Sửa thông tin hộ")))
    for resident in session.exec(
        select(Resident)
        .where(Resident.household_id == household.id, col(Resident.added_by_id).is_not(None))
        .order_by(col(Resident.id))
    ).all():
        records.append((RecordKind.resident, resident, resident.name))
    for visit in session.exec(
        select(Visit)
        .where(Visit.household_id == household.id)
        .order_by(col(Visit.visited_at), col(Visit.id))
    ).all():
        records.append(
            (RecordKind.visit, visit, forms.to_local(visit.visited_at).strftime("%H:%M %d/%m/%Y"))
        )
    decided = set()
    if records:
        decided = set(
            session.exec(
                select(ReviewDecision.record_kind, ReviewDecision.record_id).where(
                    col(ReviewDecision.record_id).in_({r.id for _kind, r, _title in records})
                )
            ).all()
        )
    summaries = []
    for kind, record, title in records:
        known = (kind, record.id) in decided or (kind.value, record.id) in decided
        if only_reviewed and not known and record.revision == 1:
            continue
        summaries.append(
            RecordSummary(
                kind=kind,
                record_id=record.id,
                title=title,
                state=record.review_state,
                revision=record.revision,
                entries=history(session, kind, record.id),
            )
        )
    return summaries


@dataclass(frozen=True)
class ReviewedRecord:
    """A household's field record that was decided or revised, as the household's page sums it
    up: what it is, where it stands, and the latest decision (with its reason)."""

    kind: RecordKind
    record_id: int
    title: str
    state: ReviewState
    revision: int
    last_decision: DecisionEntry | None

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def reviewed_records(
    session: Session, households: Sequence[Household]
) -> dict[int, list[ReviewedRecord]]:
    """Per household: its records with at least one decision or revision — the household
    itself (when proposed from the field), its edits, residents and visits, oldest first, as
    household_records(only_reviewed=True) orders them — each with its latest decision only.
    A handful of queries for any number of households; a household with none is left out."""
    ids = [household.id for household in households]
    if not ids:
        return {}
    records: list[tuple[int | None, RecordKind, Any, str]] = [
        (h.id, RecordKind.household, h, _("Hộ %(label)s", label=h.label))
        for h in households
        if h.proposed_by_id is not None
    ]
    for edit in session.exec(
        select(HouseholdEdit)
        .where(col(HouseholdEdit.household_id).in_(ids))
        .order_by(col(HouseholdEdit.id))
    ).all():
        records.append((edit.household_id, RecordKind.household_edit, edit, _("Sửa thông tin hộ")))
    for resident in session.exec(
        select(Resident)
        .where(col(Resident.household_id).in_(ids), col(Resident.added_by_id).is_not(None))
        .order_by(col(Resident.id))
    ).all():
        records.append((resident.household_id, RecordKind.resident, resident, resident.name))
    for visit in session.exec(
        select(Visit)
        .where(col(Visit.household_id).in_(ids))
        .order_by(col(Visit.visited_at), col(Visit.id))
    ).all():
        title = forms.to_local(visit.visited_at).strftime("%H:%M %d/%m/%Y")
        records.append((visit.household_id, RecordKind.visit, visit, title))
    latest: dict[tuple[RecordKind, int], ReviewDecision] = {}
    for made in session.exec(
        select(ReviewDecision)
        .where(
            col(ReviewDecision.record_id).in_(
                {record.id for _household, _kind, record, _title in records}
            )
        )
        .order_by(col(ReviewDecision.revision), col(ReviewDecision.at), col(ReviewDecision.id))
    ).all():
        latest[(RecordKind(made.record_kind), made.record_id)] = made
    reviewers = {made.reviewer_id for made in latest.values()} - {None}
    names = (
        dict(
            session.exec(select(Member.id, Member.name).where(col(Member.id).in_(reviewers))).all()
        )
        if reviewers
        else {}
    )
    found: dict[int, list[ReviewedRecord]] = {}
    for household_id, kind, record, title in records:
        assert household_id is not None  # of stored households
        decision = latest.get((kind, record.id))
        if decision is None and record.revision == 1:
            continue
        found.setdefault(household_id, []).append(
            ReviewedRecord(
                kind=kind,
                record_id=record.id,
                title=title,
                state=record.review_state,
                revision=record.revision,
                last_decision=None
                if decision is None
                else DecisionEntry(
                    revision=decision.revision,
                    decision=ReviewState(decision.decision),
                    reason=decision.reason,
                    reviewer=names.get(decision.reviewer_id, ""),
                    at=decision.at,
                ),
            )
        )
    return found
