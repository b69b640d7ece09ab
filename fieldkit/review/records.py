"""The records under review: what each kind is, who made it, its content in words a reviewer reads,
and what changed between revisions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from fieldkit import forms, vocab
from fieldkit.errors import DomainError, Invalid, NotFound
from fieldkit.i18n import _
from fieldkit.models import (
    Assistance,
    Household,
    HouseholdEdit,
    RecordKind,
    Resident,
    ReviewState,
    Service,
    Visit,
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
        return visit_content(record, lines)
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


def visit_content(visit: Any, lines: Iterable[Any]) -> dict[str, Any]:
    """A visit's content as review keeps and compares it (RecordRevision snapshots, what
    changed): from a stored Visit and its Assistance lines, or from a parsed VisitIn and its
    lines — the same fields."""
    return {
        "visited_at": forms.to_local(visit.visited_at).strftime("%Y-%m-%dT%H:%M"),
        "outcome": visit.outcome.value,
        "notes": visit.notes,
        "follow_up_on": visit.follow_up_on.isoformat() if visit.follow_up_on else "",
        "smartphones": _blankable(visit.smartphones),
        "internet_at_home": _yes_no(visit.internet_at_home),
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


def _parse_kind(kind: Any) -> RecordKind:
    try:
        return RecordKind(kind)
    except ValueError:
        raise Invalid({"kind": _("Loại hồ sơ không hợp lệ.")}) from None
