"""The review loop (DESIGN.md §3): commune staff approve, send back (trả lại) or reject (từ chối)
the records that come from the field — visits, new households, household edits and new
residents — and the field fixes a returned record and resubmits it as a new revision.

Invariants:

- Only a pending record is decided, and only on the revision the reviewer saw
  (`expected_revision`): approving twice, deciding a stale revision or a record already
  rejected is refused (ReviewRefused) and nothing changes.
- Every decision adds one ReviewDecision (never changed) and one audit event "review", and
  refreshes the household's cached summary so its counts move at once.
- Only a returned record is resubmitted, by the person who made it or a leader of its village,
  on the revision that was returned (`base_revision`): the record's content is replaced, its
  revision goes up by one and it is pending again. Every revision's content is kept as a
  RecordRevision — the first one lazily, when the second arrives — so the history shows what
  changed, field by field.
- fieldkit commits nothing: the caller commits, or rolls back after a refusal.

What a decision means for related records (decided here, on purpose):

- Approving a visit approves nothing else. A line of it that names a resident (or a household)
  still pending counts as pending in the indicators until that resident is approved too
  (fieldkit.indicators counts a line approved only when visit, household and resident all are);
  the inbox says so beside the visit ("Nhân khẩu chưa duyệt: …") so the reviewer can approve
  both.
- Approving a new household or a new resident approves only that record; their visits wait
  for their own decisions.
- Rejecting a visit, a household or a resident takes it out of every count and list (the
  household summary is refreshed); visits that name a rejected resident keep their other lines.
- A household edit is applied to the household when it is sent (the field must see its own
  change at once). Approving or returning it leaves it applied. Rejecting it puts back the old
  value of each field it changed — unless a later change already replaced that value, which
  then stays.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from fieldkit import audit, forms, households, policy, push, visits, vocab
from fieldkit.errors import DomainError, Forbidden, Invalid, NotFound, SyncConflict
from fieldkit.households import BASICS, HouseholdIn, ResidentIn
from fieldkit.i18n import _
from fieldkit.models import (
    Assistance,
    Household,
    HouseholdEdit,
    Member,
    RecordKind,
    RecordRevision,
    Resident,
    ReviewDecision,
    ReviewState,
    Service,
    Village,
    Visit,
    VisitDuplicate,
)

REASON_MAX = 500
INBOX_LIMIT = 50  # records shown at once, oldest first; the rest follow as these are decided
DECISIONS = (ReviewState.approved, ReviewState.returned, ReviewState.rejected)

# Used alike through the columns the four share (uuid, review_state, revision…): Any, as the
# records they load are.
MODELS: dict[RecordKind, Any] = {
    RecordKind.visit: Visit,
    RecordKind.household: Household,
    RecordKind.household_edit: HouseholdEdit,
    RecordKind.resident: Resident,
}
KIND_LABELS = {
    RecordKind.visit: _("Lượt thăm"),
    RecordKind.household: _("Hộ mới"),
    RecordKind.household_edit: _("Sửa thông tin hộ"),
    RecordKind.resident: _("Nhân khẩu mới"),
}
DECISION_LABELS = {
    ReviewState.approved: _("Duyệt"),
    ReviewState.returned: _("Trả lại"),
    ReviewState.rejected: _("Từ chối"),
}
# One-tap reasons for sending back; free text is always possible.
COMMON_REASONS = [
    _("Thiếu thông tin, bổ sung giúp"),
    _("Sai người được hỗ trợ"),
    _("Sai dịch vụ hoặc kết quả"),
    _("Sai thời gian thăm"),
    _("Thiếu mã hồ sơ"),
    _("Trùng với hồ sơ đã có"),
]
FIELD_LABELS = {
    "visited_at": _("Thời gian thăm"),
    "outcome": _("Kết quả chuyến thăm"),
    "lines": _("Đã hỗ trợ"),
    "smartphones": _("Điện thoại thông minh"),
    "internet_at_home": _("Internet tại nhà"),
    "notes": _("Ghi chú"),
    "follow_up_on": _("Hẹn quay lại"),
    "label": _("Số nhà / tên hộ"),
    "head_name": _("Chủ hộ"),
    "address_hint": _("Chỉ dẫn địa chỉ"),
    "name": _("Họ tên"),
    "birth_year": _("Năm sinh"),
    "sex": _("Giới tính"),
    "relation": _("Quan hệ với chủ hộ"),
    "phone": _("Số điện thoại"),
}


class ReviewRefused(DomainError):
    """A decision or resubmission that cannot be made on the record as it stands now (already
    decided, a newer revision, rejected). The message says why; nothing was changed."""


# --- the records, their makers and their content ------------------------------------------


def _household_id(kind: RecordKind, record: Any) -> int:
    household_id: int = record.id if kind is RecordKind.household else record.household_id
    return household_id


def maker_id(kind: RecordKind, record: Any) -> int | None:
    """Who sent the record from the field."""
    maker: int | None = {
        RecordKind.visit: lambda: record.volunteer_id,
        RecordKind.household: lambda: record.proposed_by_id,
        RecordKind.household_edit: lambda: record.member_id,
        RecordKind.resident: lambda: record.added_by_id,
    }[kind]()
    return maker


def _submitted_at(kind: RecordKind, record: Any) -> datetime:
    submitted: datetime = record.received_at if kind is RecordKind.visit else record.created_at
    return submitted


def _blankable(value: Any) -> Any:
    return "" if value is None else value


def _yes_no(value: bool | None) -> str:
    return {True: "yes", False: "no", None: ""}[value]


def content_of(
    session: Session, kind: RecordKind, record: Any, *, lines: Sequence[Assistance] | None = None
) -> dict[str, Any]:
    """The record's content as it stands, with the field names and values of its form (so it
    prefills the edit form and is stored as JSON in RecordRevision.content). `lines`: a
    visit's assistance lines when the caller has loaded them already."""
    if kind is RecordKind.visit:
        if lines is None:
            lines = session.exec(
                select(Assistance)
                .where(Assistance.visit_id == record.id)
                .order_by(col(Assistance.id))
            ).all()
        return {
            "visited_at": forms.to_local(record.visited_at).strftime("%Y-%m-%dT%H:%M"),
            "outcome": record.outcome.value,
            "notes": record.notes,
            "follow_up_on": record.follow_up_on.isoformat() if record.follow_up_on else "",
            "smartphones": _blankable(record.smartphones),
            "internet_at_home": _yes_no(record.internet_at_home),
            "lines": [
                {
                    "resident_id": line.resident_id,
                    "service_code": line.service_code,
                    "result": line.result.value,
                    "reason": line.reason.value if line.reason else "",
                    "device": line.device.value if line.device else "",
                    "dossier_no": line.dossier_no or "",
                }
                for line in lines
            ],
        }
    if kind is RecordKind.household:
        return {
            "label": record.label,
            "head_name": record.head_name,
            "address_hint": record.address_hint,
            "smartphones": _blankable(record.smartphones),
            "internet_at_home": _yes_no(record.internet_at_home),
        }
    if kind is RecordKind.household_edit:
        # What the edit set, field by field (its "after" values), as the form has them.
        return {
            name: (
                _yes_no(change["after"])
                if name == "internet_at_home"
                else _blankable(change["after"])
            )
            for name, change in record.changes.items()
        }
    return {
        "name": record.name,
        "birth_year": _blankable(record.birth_year),
        "sex": record.sex.value if record.sex else "",
        "relation": record.relation,
        "phone": record.phone or "",
    }


def _names(session: Session, content: Mapping[str, Any]) -> tuple[dict, dict]:
    lines = content.get("lines") or []
    resident_ids = {line.get("resident_id") for line in lines}
    codes = {line.get("service_code") for line in lines}
    residents = (
        dict(
            session.exec(
                select(Resident.id, Resident.name).where(col(Resident.id).in_(resident_ids))
            ).all()
        )
        if resident_ids
        else {}
    )
    services = (
        dict(
            session.exec(
                select(Service.code, Service.short_name).where(col(Service.code).in_(codes))
            ).all()
        )
        if codes
        else {}
    )
    return residents, services


def _text(session: Session, name: str, value: Any, names: tuple[dict, dict]) -> str:
    """One field of a content, as a person reads it."""
    if value in (None, "") or value == []:
        return "—"
    if name == "visited_at":
        return f"{value[11:16]} {value[8:10]}/{value[5:7]}/{value[:4]}"
    if name == "follow_up_on":
        return f"{value[8:10]}/{value[5:7]}/{value[:4]}"
    if name == "outcome":
        return vocab.OUTCOMES.get(value, str(value))
    if name == "internet_at_home":
        return {"yes": _("Có"), "no": _("Không")}.get(value, _("Chưa rõ"))
    if name == "sex":
        return vocab.SEXES.get(value, str(value))
    if name == "lines":
        residents, services = names
        parts = []
        for line in value:
            text = (
                f"{residents.get(line.get('resident_id'), '?')} — "
                f"{services.get(line.get('service_code'), line.get('service_code'))}: "
                f"{vocab.RESULTS.get(line.get('result'), line.get('result'))}"
            )
            if line.get("reason"):
                text += f" ({vocab.REASONS.get(line['reason'], line['reason'])})"
            if line.get("dossier_no"):
                text += _(" · mã hồ sơ %(value)s", value=line["dossier_no"])
            parts.append(text)
        return "; ".join(parts)
    return str(value)


@dataclass(frozen=True)
class FieldText:
    name: str
    label: str
    text: str


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def readable(
    session: Session, content: Mapping[str, Any], *, names: tuple[dict, dict] | None = None
) -> list[FieldText]:
    """The content's fields, labelled and formatted for a person, in a stable order. `names`:
    (resident id → name, service code → short name) when the caller has them already."""
    names = names or _names(session, content)
    order = [name for name in FIELD_LABELS if name in content]
    return [
        FieldText(name, FIELD_LABELS[name], _text(session, name, content[name], names))
        for name in order
    ]


def changes_between(
    session: Session,
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    names: tuple[dict, dict] | None = None,
) -> list[Change]:
    """What changed from one revision's content to the next, field by field (old → new)."""
    names = names or _names(
        session, {"lines": [*(before.get("lines") or []), *(after.get("lines") or [])]}
    )
    changed = []
    for name in FIELD_LABELS:
        if name not in before and name not in after:
            continue
        old = _text(session, name, before.get(name), names)
        new = _text(session, name, after.get(name), names)
        if old != new:
            changed.append(Change(FIELD_LABELS[name], old, new))
    return changed


def _load(session: Session, kind: RecordKind, record_id: int) -> Any:
    record = session.get(MODELS[kind], record_id)
    if record is None:
        raise NotFound(_("Không tìm thấy hồ sơ này."))
    return record


def household_of(session: Session, kind: RecordKind, record_id: int) -> Household:
    """The household a record belongs to (itself, for a proposed household)."""
    household = session.get(Household, _household_id(kind, _load(session, kind, record_id)))
    assert household is not None  # household_id is a foreign key
    return household


def _parse_kind(kind: Any) -> RecordKind:
    try:
        return RecordKind(kind)
    except ValueError:
        raise Invalid({"kind": _("Loại hồ sơ không hợp lệ.")}) from None


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


# --- decisions ------------------------------------------------------------------------------


def _reason(decision: ReviewState, reason: str | None) -> str:
    text = " ".join(forms.checked_text(reason, field="reason", label=_("lý do")).split())
    if decision is not ReviewState.approved and not text:
        what = _("trả lại") if decision is ReviewState.returned else _("từ chối")
        raise Invalid(
            {"reason": _("Hãy ghi lý do %(what)s để người gửi biết cần làm gì.", what=what)}
        )
    if len(text) > REASON_MAX:
        raise Invalid(
            {"reason": _("Lý do dài tối đa %(REASON_MAX)s ký tự.", REASON_MAX=REASON_MAX)}
        )
    return text


def _refuse_unless_pending(kind: RecordKind, record: Any, expected_revision: int) -> None:
    state = record.review_state
    what = KIND_LABELS[kind].lower()
    if state is ReviewState.approved:
        raise ReviewRefused(
            _("%(value)s này đã được duyệt rồi; không duyệt lại.", value=KIND_LABELS[kind])
        )
    if state is ReviewState.rejected:
        raise ReviewRefused(
            _("%(value)s này đã bị từ chối; không quyết định lại.", value=KIND_LABELS[kind])
        )
    if state is ReviewState.returned:
        raise ReviewRefused(
            _("%(value)s này đã được trả lại và đang chờ người gửi sửa.", value=KIND_LABELS[kind])
        )
    if record.revision != expected_revision:
        raise ReviewRefused(
            _(
                (
                    "Có bản sửa mới hơn của %(what)s này (lần %(revision)s). Hãy xem lại bản mới "
                    "trước khi quyết định."
                ),
                what=what,
                revision=record.revision,
            )
        )


def _check(
    session: Session,
    member: Member,
    kind: RecordKind,
    record_id: int,
    decision: ReviewState,
    reason: str | None,
    expected_revision: int,
) -> tuple[Any, Household, str]:
    if not policy.can_review(member):
        raise Forbidden(_("Chỉ công chức xã được duyệt hồ sơ."))
    if decision not in DECISIONS:
        raise Invalid({"decision": _("Hãy chọn Duyệt, Trả lại hoặc Từ chối.")})
    record = _load(session, kind, record_id)
    household = policy.require_can_review(session, member, _household_id(kind, record))
    _refuse_unless_pending(kind, record, expected_revision)
    return record, household, _reason(decision, reason)


def decide(
    session: Session,
    *,
    member: Member,
    kind: RecordKind,
    record_id: int,
    decision: ReviewState,
    reason: str | None,
    now: datetime,
    expected_revision: int,
) -> ReviewDecision:
    """Approve, return (reason required) or reject (reason required) one pending record, on
    the revision the reviewer saw. Raises Forbidden / NotFound (outside the member's role or
    commune), Invalid (no reason, unknown decision) or ReviewRefused (not pending, or a newer
    revision) before changing anything. Returning queues a notification to the record's
    maker. Caller commits."""
    kind = _parse_kind(kind)
    record, household, text = _check(
        session, member, kind, record_id, decision, reason, expected_revision
    )
    return _apply(session, member, kind, record, household, decision, text, now)


def _apply(
    session: Session,
    member: Member,
    kind: RecordKind,
    record: Any,
    household: Household,
    decision: ReviewState,
    reason: str,
    now: datetime,
) -> ReviewDecision:
    record.review_state = decision
    session.add(record)
    if kind is RecordKind.household_edit and decision is ReviewState.rejected:
        _undo_edit(household, record)
    assert member.id is not None  # a stored member
    made = ReviewDecision(
        record_kind=kind,
        record_id=record.id,
        revision=record.revision,
        decision=decision,
        reason=reason,
        reviewer_id=member.id,
        at=now,
    )
    session.add(made)
    audit.record(
        session,
        action="review",
        now=now,
        actor=member,
        target_kind=kind.value,
        target_id=record.id,
        details={
            "decision": decision.value,
            "revision": record.revision,
            "reason": reason,
            "household_id": household.id,
        },
    )
    session.flush()
    households.refresh_summary(session, household)
    maker = maker_id(kind, record)
    if decision is ReviewState.returned and maker is not None:
        push.enqueue(
            session,
            member_id=maker,
            title=_("Hồ sơ bị trả lại"),
            body=_(
                "%(value)s · hộ %(label)s %(head_name)s: %(reason)s",
                value=KIND_LABELS[kind],
                label=household.label,
                head_name=household.head_name,
                reason=reason,
            ),
            url="/returned",
            tag=f"returned-{kind.value}-{record.id}",
            now=now,
        )
    return made


def _undo_edit(household: Household, edit: HouseholdEdit) -> None:
    for name, change in edit.changes.items():
        if getattr(household, name) == change["after"]:
            setattr(household, name, change["before"])


@dataclass(frozen=True)
class Choice:
    """One record ticked in the inbox: kind, id and the revision the reviewer saw."""

    kind: RecordKind
    record_id: int
    revision: int

    @classmethod
    def parse(cls, key: str) -> Choice:
        """From the checkbox value "visit:12:2"."""
        try:
            kind, raw_id, raw_revision = key.split(":")
            record_id, revision = forms.parse_id(raw_id), forms.parse_id(raw_revision)
            if record_id is None or revision is None:
                raise ValueError(key)
            return cls(RecordKind(kind), record_id, revision)
        except ValueError:
            raise Invalid(
                {"records": _("Danh sách hồ sơ đã chọn không hợp lệ. Hãy tải lại trang.")}
            ) from None


def approve_many(
    session: Session, *, member: Member, choices: Iterable[Choice], now: datetime
) -> list[ReviewDecision]:
    """Approve every chosen record, or none: each is checked first, and any refusal raises
    (ReviewRefused naming the records, Forbidden, NotFound, Invalid) before anything changes.
    Caller commits."""
    choices = list(dict.fromkeys(choices))
    if not choices:
        raise Invalid({"records": _("Hãy chọn ít nhất một hồ sơ để duyệt.")})
    if len(choices) > INBOX_LIMIT:
        raise Invalid(
            {"records": _("Mỗi lần duyệt tối đa %(INBOX_LIMIT)s hồ sơ.", INBOX_LIMIT=INBOX_LIMIT)}
        )
    checked, refused = [], []
    for choice in choices:
        try:
            record, household, _unused = _check(
                session,
                member,
                choice.kind,
                choice.record_id,
                ReviewState.approved,
                "",
                choice.revision,
            )
        except ReviewRefused as refusal:
            refused.append(str(refusal))
            continue
        checked.append((choice.kind, record, household))
    if refused:
        raise ReviewRefused(_("Chưa duyệt hồ sơ nào. ") + " ".join(dict.fromkeys(refused)))
    return [
        _apply(session, member, kind, record, household, ReviewState.approved, "", now)
        for kind, record, household in checked
    ]


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
    """How many records `returned()` would list, counted by the database."""
    if not policy.is_field_member(member):
        return 0
    total = 0
    for kind, model in MODELS.items():
        statement = _returned_statement(model, kind, member).with_only_columns(
            func.count(), maintain_column_froms=True
        )
        total += session.execute(statement).scalar_one()
    return total


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
        content = {
            "visited_at": forms.to_local(visit_in.visited_at).strftime("%Y-%m-%dT%H:%M"),
            "outcome": visit_in.outcome.value,
            "notes": visit_in.notes,
            "follow_up_on": visit_in.follow_up_on.isoformat() if visit_in.follow_up_on else "",
            "smartphones": _blankable(visit_in.smartphones),
            "internet_at_home": _yes_no(visit_in.internet_at_home),
            "lines": [
                {
                    "resident_id": line.resident_id,
                    "service_code": line.service_code,
                    "result": line.result.value,
                    "reason": line.reason.value if line.reason else "",
                    "device": line.device.value if line.device else "",
                    "dossier_no": line.dossier_no or "",
                }
                for line in visit_in.lines
            ],
        }
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
