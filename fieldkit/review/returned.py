"""Returned records in the field: a member's list of what was sent back, and the resubmission that
goes through the outbox (fieldkit.sync kind "revision")."""

from __future__ import annotations

import functools
import operator
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, func, select

from fieldkit import forms, households, policy, visits
from fieldkit.errors import Forbidden, Invalid, NotFound, SyncConflict
from fieldkit.households import BASICS, HouseholdIn, ResidentIn
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
    KIND_LABELS,
    MODELS,
    FieldText,
    ReviewRefused,
    _blankable,
    _household_id,
    _load,
    _submitted_at,
    _yes_no,
    content_of,
    maker_id,
    readable,
    visit_content,
)

# --- returned records in the field ----------------------------------------------------------


@dataclass(frozen=True)
class ReturnedEntry:
    kind: RecordKind
    record: Any
    household: Household
    reason: str
    returned_at: datetime | None
    reviewer: str
    fields: list[FieldText]

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


def _returned_statement(model: Any, kind: RecordKind, member: Member):
    if kind is RecordKind.household:
        statement = select(model, model)
    else:
        statement = select(model, Household).join(
            Household, col(Household.id) == model.household_id
        )
    statement = statement.where(model.review_state == ReviewState.returned)
    scope = policy.scope_for(member)
    if policy.fixes_village_returns(member):
        return statement.where(Household.village_id == scope.village_id)
    maker = {
        RecordKind.visit: Visit.volunteer_id,
        RecordKind.household: Household.proposed_by_id,
        RecordKind.household_edit: HouseholdEdit.member_id,
        RecordKind.resident: Resident.added_by_id,
    }[kind]
    return statement.where(maker == member.id, Household.village_id == scope.village_id)


def returned(session: Session, member: Member) -> list[ReturnedEntry]:
    """The records sent back for fixing that this member may fix: a volunteer's own, or, for
    a leader, every one of the village. Oldest decision first, each with its reason."""
    if not policy.is_field_member(member):
        return []
    found = []
    for kind, model in MODELS.items():
        for record, household in session.exec(_returned_statement(model, kind, member)).all():
            found.append((kind, record, household))
    if not found:
        return []
    decisions: dict[tuple[RecordKind, int], ReviewDecision] = {}
    for made in session.exec(
        select(ReviewDecision)
        .where(
            ReviewDecision.decision == ReviewState.returned,
            col(ReviewDecision.record_id).in_({r.id for _unused, r, _unused in found}),
        )
        .order_by(col(ReviewDecision.at), col(ReviewDecision.id))
    ).all():
        decisions[(RecordKind(made.record_kind), made.record_id)] = made
    reviewers = (
        dict(
            session.exec(
                select(Member.id, Member.name).where(
                    col(Member.id).in_({d.reviewer_id for d in decisions.values()})
                )
            ).all()
        )
        if decisions
        else {}
    )
    entries = []
    for kind, record, household in found:
        decision = decisions.get((kind, record.id))
        entries.append(
            ReturnedEntry(
                kind=kind,
                record=record,
                household=household,
                reason=decision.reason if decision else "",
                returned_at=decision.at if decision else None,
                reviewer=reviewers.get(decision.reviewer_id, "") if decision else "",
                fields=readable(session, content_of(session, kind, record)),
            )
        )
    entries.sort(
        key=lambda e: (
            e.returned_at is None,
            e.returned_at or datetime.min,
            e.kind.value,
            e.record.id,
        )
    )
    return entries


def returned_count(session: Session, member: Member) -> int:
    """How many records `returned()` would list, counted by the database — in one query (the
    tab bar asks on every page a field member opens)."""
    if not policy.is_field_member(member):
        return 0
    counts = [
        _returned_statement(model, kind, member)
        .with_only_columns(func.count(), maintain_column_froms=True)
        .scalar_subquery()
        for kind, model in MODELS.items()
    ]
    return int(session.execute(select(functools.reduce(operator.add, counts))).scalar_one())


def find_returned(
    session: Session, member: Member, kind: RecordKind, record_uuid: str
) -> ReturnedEntry:
    """One returned record this member may fix, by its UUID. NotFound otherwise."""
    for entry in returned(session, member):
        if entry.kind is kind and entry.record.uuid == record_uuid:
            return entry
    raise NotFound(_("Không có hồ sơ bị trả lại này (có thể đã được sửa và gửi lại)."))


# --- resubmission (through the outbox: fieldkit.sync kind "revision") -----------------------


def _find_by_uuid(session: Session, kind: RecordKind, record_uuid: str) -> Any:
    model = MODELS[kind]
    record = session.exec(select(model).where(model.uuid == record_uuid)).first()
    if record is None:
        raise NotFound(_("Không tìm thấy hồ sơ cần sửa. Có thể hồ sơ đã bị xóa."))
    return record


def _parse_content(
    session: Session, kind: RecordKind, record: Any, data: Mapping[str, Any], now: datetime
) -> tuple[Any, dict[str, Any]]:
    """The resubmitted content, checked: (the parsed input, its content as stored)."""
    if kind is RecordKind.visit:
        visit_in = visits.VisitIn.parse(data, household_id=record.household_id)
        household = session.get(Household, record.household_id)
        assert household is not None  # household_id is a foreign key
        visits._check(session, visit_in, household, now)
        content = visit_content(visit_in, visit_in.lines)
        return visit_in, content
    if kind is RecordKind.resident:
        resident_in = ResidentIn.parse(data, today=forms.local_today(now))
        return resident_in, {
            "name": resident_in.name,
            "birth_year": _blankable(resident_in.birth_year),
            "sex": resident_in.sex.value if resident_in.sex else "",
            "relation": resident_in.relation,
            "phone": resident_in.phone or "",
        }
    household_in = HouseholdIn.parse(data)
    content = {name: getattr(household_in, name) for name in BASICS}
    content["smartphones"] = _blankable(content["smartphones"])
    content["internet_at_home"] = _yes_no(content["internet_at_home"])
    return household_in, content


def _revise(session: Session, kind: RecordKind, record: Any, parsed: Any, now: datetime) -> None:
    if kind is RecordKind.visit:
        visits.revise_visit(session, record, parsed, now=now)
    elif kind is RecordKind.resident:
        for name in ("name", "birth_year", "sex", "relation", "phone"):
            setattr(record, name, getattr(parsed, name))
    elif kind is RecordKind.household:
        households.refuse_if_erased(record)
        for name in BASICS:
            setattr(record, name, getattr(parsed, name))
    else:
        household = session.get(Household, record.household_id)
        assert household is not None  # household_id is a foreign key
        households.refuse_if_erased(household)
        # The edit's "before" values are those before its first revision; fields it no longer
        # changes go back to them.
        before = {name: getattr(household, name) for name in BASICS}
        before.update({name: change["before"] for name, change in record.changes.items()})
        changes = {}
        for name in BASICS:
            after = getattr(parsed, name)
            setattr(household, name, after)
            if before[name] != after:
                changes[name] = {"before": before[name], "after": after}
        if not changes:
            raise Invalid(
                {
                    "form": _(
                        "Bản sửa không còn thay đổi gì so với thông tin cũ của hộ. "
                        "Nếu không cần sửa hộ nữa, hãy báo xã từ chối thay đổi này."
                    )
                }
            )
        record.changes = changes
        session.add(household)
    session.add(record)


def resubmit(
    session: Session,
    *,
    member: Member,
    kind: RecordKind,
    record_uuid: str,
    base_revision: int,
    data: Mapping[str, Any],
    item_uuid: str,
    now: datetime,
) -> tuple[int, bool]:
    """A returned record, fixed in the field and sent again as revision `base_revision + 1`
    by the outbox item `item_uuid` (a new UUID made on the phone). Returns (household id,
    created).

    Safe to replay: the same item with the same content answers (household, False) and
    changes nothing; the same item with other content raises SyncConflict. Refused, with
    nothing changed: outside the member's village (Forbidden / NotFound); a volunteer who did
    not make the record (Forbidden; their leader may); a record not returned — rejected,
    approved or pending (ReviewRefused); a record whose revision moved on since
    `base_revision` (SyncConflict); content that does not pass the record's own checks
    (Invalid). Caller commits."""
    policy.require_can_record(member)
    fingerprint = households.digest(
        item_uuid, kind.value, record_uuid, base_revision, _canonical(data)
    )
    stored = session.exec(select(RecordRevision).where(RecordRevision.uuid == item_uuid)).first()
    if stored is not None:
        record = _load(session, RecordKind(stored.record_kind), stored.record_id)
        policy.require_household(
            session, member, _household_id(RecordKind(stored.record_kind), record)
        )
        if stored.fingerprint != fingerprint:
            raise SyncConflict(_("Bản sửa này đã được gửi trước đó với nội dung khác."))
        return _household_id(RecordKind(stored.record_kind), record), False
    record = _find_by_uuid(session, kind, record_uuid)
    household_id = _household_id(kind, record)
    policy.require_household(session, member, household_id)
    if not policy.can_fix_returned(member, maker_id(kind, record)):
        raise Forbidden(
            _("Chỉ người đã gửi hồ sơ này hoặc tổ trưởng của thôn được sửa và gửi lại.")
        )
    what = KIND_LABELS[kind]
    if record.review_state is ReviewState.rejected:
        raise ReviewRefused(_("%(what)s này đã bị xã từ chối nên không gửi lại được.", what=what))
    if record.review_state is ReviewState.approved:
        raise ReviewRefused(_("%(what)s này đã được xã duyệt; không cần gửi lại.", what=what))
    if record.revision != base_revision:
        raise SyncConflict(
            _(
                (
                    "%(what)s này đã có bản sửa mới hơn (lần %(revision)s). Mở lại mục Bị trả "
                    "lại để sửa bản mới nhất."
                ),
                what=what,
                revision=record.revision,
            )
        )
    if record.review_state is not ReviewState.returned:
        raise ReviewRefused(_("%(what)s này không bị trả lại nên không cần gửi lại.", what=what))
    parsed, content = _parse_content(session, kind, record, data, now)
    if (
        record.revision == 1
        and session.exec(
            select(RecordRevision.id).where(
                RecordRevision.record_kind == kind,
                RecordRevision.record_id == record.id,
                RecordRevision.revision == 1,
            )
        ).first()
        is None
    ):
        session.add(
            RecordRevision(
                uuid=record.uuid,
                record_kind=kind,
                record_id=record.id,
                revision=1,
                content=content_of(session, kind, record),
                submitted_by_id=maker_id(kind, record),
                submitted_at=_submitted_at(kind, record),
                fingerprint=record.fingerprint,
            )
        )
    _revise(session, kind, record, parsed, now)
    record.revision += 1
    record.review_state = ReviewState.pending
    session.add(record)
    session.add(
        RecordRevision(
            uuid=item_uuid,
            record_kind=kind,
            record_id=record.id,
            revision=record.revision,
            content=content,
            submitted_by_id=member.id,
            submitted_at=now,
            fingerprint=fingerprint,
        )
    )
    session.flush()
    household = session.get(Household, household_id)
    assert household is not None  # the record's household, found above
    households.refresh_summary(session, household)
    return household_id, True


def _canonical(data: Mapping[str, Any]) -> dict[str, Any]:
    """The payload without what does not make it different content."""
    return {key: data[key] for key in sorted(data) if key not in ("csrf_token",)}
