"""The audit log: sign-ins, invites, passkey changes, role changes, reviews, exports and
erasures (DESIGN.md §5). Append-only; commune staff read it. Caller commits — in the same
transaction as the change it records, so a change and its record stand or fall together.

Refused sign-ins and refused session cookies come from anyone on the internet, so they are
written with `record_refused`: each kind is counted per hour (fieldkit.throttle's tallies, one
row per kind and hour) and only the first REFUSALS_LOGGED_PER_HOUR of each kind become rows of
the log. A flood of forged cookies adds a count, not a row per request."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from fieldkit import throttle
from fieldkit.i18n import _
from fieldkit.models import AuditEvent, Member

REFUSALS_LOGGED_PER_HOUR = 20
HOUR = timedelta(hours=1)

# Vietnamese names of the actions, for the audit page and its filter.
ACTIONS = {
    "sign_in": _("Đăng nhập"),
    "sign_in_refused": _("Đăng nhập bị từ chối"),
    "sign_out": _("Đăng xuất"),
    "invite": _("Tạo liên kết mời"),
    "code_issued": _("Cấp mã dùng một lần"),
    "passkey_added": _("Thêm khóa truy cập"),
    "passkey_revoked": _("Thu hồi khóa truy cập"),
    "member_added": _("Thêm thành viên"),
    "member_removed": _("Cho thôi tham gia"),
    "role_changed": _("Đổi vai trò"),
    "village_changed": _("Đổi thôn"),
    "village_added": _("Thêm thôn"),
    "village_renamed": _("Đổi tên thôn"),
    "review": _("Duyệt hồ sơ"),
    "export": _("Xuất dữ liệu"),
    "erase": _("Xóa dữ liệu cá nhân"),
    "consent": _("Ghi nhận đồng ý"),
    "settings_changed": _("Đổi cài đặt"),
    "refused": _("Thao tác bị từ chối"),
    "assigned": _("Phân công hộ"),
    "targets_changed": _("Đặt chỉ tiêu"),
    "guide_changed": _("Sửa hướng dẫn dịch vụ"),
    "sticker_replaced": _("Thay mã dán cửa"),
    # Imports and merges (issue 15)
    "import": _("Đưa dữ liệu vào"),
    "import_undone": _("Hoàn tác đợt đưa dữ liệu"),
    "households_merged": _("Gộp hộ trùng"),
    "not_duplicate": _("Đánh dấu không trùng"),
}


def record(
    session: Session,
    *,
    action: str,
    now: datetime,
    actor: Member | None = None,
    commune_id: int | None = None,
    target_kind: str | None = None,
    target_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add one event. `commune_id` defaults to the actor's commune. Caller commits."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    event = AuditEvent(
        commune_id=commune_id if commune_id is not None else (actor.commune_id if actor else None),
        at=now,
        actor_id=actor.id if actor else None,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        details=details or {},
    )
    session.add(event)
    return event


def record_refused(
    session: Session,
    *,
    action: str,
    kind: str,
    now: datetime,
    actor: Member | None = None,
    commune_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent | None:
    """A refused request from someone who may not be signed in (a failed sign-in, a forged or
    ended session cookie), counted per `action`, `kind` and commune per hour; written as an
    event only while that count is within REFUSALS_LOGGED_PER_HOUR — the last one written
    says that the rest of the hour is counted only. None when not written. Caller commits."""
    commune = commune_id if commune_id is not None else (actor.commune_id if actor else None)
    count = throttle.bump(session, _refusal_key(action, kind, commune), now=now, size=HOUR)
    if count > REFUSALS_LOGGED_PER_HOUR:
        return None
    details = {"kind": kind, **(details or {})}
    if count == REFUSALS_LOGGED_PER_HOUR:
        details["note"] = _(
            "Đã ghi %(count)s lần trong giờ này; các lần sau cùng loại chỉ được đếm.", count=count
        )
    return record(session, action=action, now=now, actor=actor, commune_id=commune, details=details)


def refused_count(
    session: Session, *, action: str, kind: str, commune_id: int | None, now: datetime
) -> int:
    """How many refusals of this kind `record_refused` counted in the hour holding `now`,
    written down or not."""
    return throttle.total(
        session, _refusal_key(action, kind, commune_id), window=timedelta(0), now=now, size=HOUR
    )


def _refusal_key(action: str, kind: str, commune_id: int | None) -> str:
    return f"refused:{action}:{kind}:{commune_id if commune_id is not None else '-'}"


def events(
    session: Session,
    *,
    commune_id: int,
    action: str | None = None,
    actor_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[AuditEvent]:
    """The commune's events, newest first, optionally filtered (`since` inclusive, `until`
    exclusive)."""
    statement = select(AuditEvent).where(AuditEvent.commune_id == commune_id)
    if action:
        statement = statement.where(AuditEvent.action == action)
    if actor_id:
        statement = statement.where(AuditEvent.actor_id == actor_id)
    if since:
        statement = statement.where(AuditEvent.at >= since)
    if until:
        statement = statement.where(AuditEvent.at < until)
    return list(
        session.exec(
            statement.order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc()).limit(limit)
        ).all()
    )
