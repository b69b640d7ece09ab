"""Decisions: approve, return (with a reason) or reject one record, or approve many at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from fieldkit import audit, forms, households, policy, push
from fieldkit.errors import Forbidden, Invalid
from fieldkit.i18n import _
from fieldkit.models import (
    Household,
    HouseholdEdit,
    Member,
    RecordKind,
    ReviewDecision,
    ReviewState,
)
from fieldkit.review.records import (
    DECISIONS,
    INBOX_LIMIT,
    KIND_LABELS,
    REASON_MAX,
    ReviewRefused,
    _household_id,
    _load,
    _parse_kind,
    maker_id,
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
