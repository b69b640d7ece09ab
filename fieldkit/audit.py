"""The audit log: sign-ins, invites, passkey changes, role changes, reviews, exports and
erasures (DESIGN.md §5). Append-only; commune staff read it. Caller commits — in the same
transaction as the change it records, so a change and its record stand or fall together."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from fieldkit.models import AuditEvent, Member

# Vietnamese names of the actions, for the audit page and its filter.
ACTIONS = {
    "sign_in": "Đăng nhập",
    "sign_in_refused": "Đăng nhập bị từ chối",
    "sign_out": "Đăng xuất",
    "invite": "Tạo liên kết mời",
    "code_issued": "Cấp mã dùng một lần",
    "passkey_added": "Thêm khóa truy cập",
    "passkey_revoked": "Thu hồi khóa truy cập",
    "member_added": "Thêm thành viên",
    "member_removed": "Cho thôi tham gia",
    "role_changed": "Đổi vai trò",
    "village_changed": "Đổi thôn",
    "village_added": "Thêm thôn",
    "village_renamed": "Đổi tên thôn",
    "review": "Duyệt hồ sơ",
    "export": "Xuất dữ liệu",
    "erase": "Xóa dữ liệu cá nhân",
    "consent": "Ghi nhận đồng ý",
    "settings_changed": "Đổi cài đặt",
    "refused": "Thao tác bị từ chối",
    "assigned": "Phân công hộ",
    "targets_changed": "Đặt chỉ tiêu",
    "guide_changed": "Sửa hướng dẫn dịch vụ",
    "sticker_replaced": "Thay mã dán cửa",
    # Imports and merges (issue 15)
    "import": "Đưa dữ liệu vào",
    "import_undone": "Hoàn tác đợt đưa dữ liệu",
    "households_merged": "Gộp hộ trùng",
    "not_duplicate": "Đánh dấu không trùng",
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
