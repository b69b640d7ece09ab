"""The audit log, for commune staff: who did what and when, newest first, filterable by
action, by person and by day; and the same as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

from flask import Blueprint, Response, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import col, select

from fieldkit import audit, forms, policy, privacy
from fieldkit.models import Commune, Household, Member
from fieldkit.reporting import exports
from pwa import db, i18n, params
from pwa.auth import login_required
from pwa.render import render

bp = Blueprint("audit", __name__)
LIMIT = 200
DETAIL_LABELS = {
    "residents": _l("Nhân khẩu"),
    "visits": _l("Lượt thăm"),
    "purposes": _l("Mục đích"),
    "method": _l("Cách"),
    "version": _l("Mẫu"),
    "consented_on": _l("Ngày đồng ý"),
    "retention_months": _l("Thời hạn lưu (tháng)"),
    "role": _l("Vai trò"),
    "reason": _l("Lý do"),
    "name": _l("Tên"),
    "what": _l("Nội dung"),
    "format": _l("Định dạng"),
    "rows": _l("Số dòng"),
    "from": _l("Từ ngày"),
    "to": _l("Đến ngày"),
}
HIDDEN_DETAILS = {"uuid", "fingerprint"}
REASONS = {"request": _l("theo yêu cầu"), "retention": _l("hết thời hạn lưu")}
METHODS = {
    **privacy.METHODS,
    "link": _l("liên kết đăng nhập"),
    "passkey": _l("khóa truy cập"),
    "code": _l("mã dùng một lần"),
}
TARGET_KINDS = {
    "link": _l("Liên kết đăng nhập"),
    "passkey": _l("Khóa truy cập"),
    "code": _l("Mã dùng một lần"),
    "village": _l("Thôn"),
    "invite": _l("Lời mời"),
}


def _filters() -> dict:
    """The filters as typed: an unknown action or person is no filter; a date that is not
    one (or a year outside 1900…2200) is a 400 page saying so (pwa/params.py)."""
    return {
        "action": params.choice("action", audit.ACTIONS, ""),
        "actor": params.row_id("actor"),
        "from": params.day("from", label=_("từ ngày")),
        "to": params.day("to", label=_("đến ngày")),
    }


def _vn_midnight(day) -> datetime:
    return datetime.combine(day, time.min, forms.VN_TZ)


def _events(session, member: Member, filters: dict, limit: int | None):
    return audit.events(
        session,
        commune_id=member.commune_id,
        action=filters["action"] or None,
        actor_id=filters["actor"],
        since=_vn_midnight(filters["from"]) if filters["from"] else None,
        until=_vn_midnight(filters["to"] + timedelta(days=1)) if filters["to"] else None,
        limit=limit or 100_000,
    )


def _describe(session, events) -> tuple[dict, dict]:
    """Names of the people and targets the events mention, each looked up once."""
    member_ids = {e.actor_id for e in events} | {
        e.target_id for e in events if e.target_kind == "member"
    }
    people = dict(
        session.exec(
            select(Member.id, Member.name).where(col(Member.id).in_(member_ids - {None} or {0}))
        ).all()
    )
    household_ids = {e.target_id for e in events if e.target_kind == "household"}
    households = {
        h.id: h
        for h in session.exec(
            select(Household).where(col(Household.id).in_(household_ids - {None} or {0}))
        ).all()
    }
    targets = {}
    for event in events:
        key = (event.target_kind, event.target_id)
        if event.target_kind == "household" and event.target_id in households:
            household = households[event.target_id]
            targets[key] = (
                _(
                    "Hộ %(label)s · %(head_name)s",
                    label=household.label,
                    head_name=household.head_name,
                )
                if household.erased_at is None
                else _(
                    "%(ERASED_NAME)s (mã %(id)s)", ERASED_NAME=privacy.ERASED_NAME, id=household.id
                )
            )
        elif event.target_kind == "member":
            targets[key] = people.get(
                event.target_id, _("Thành viên mã %(target_id)s", target_id=event.target_id)
            )
        elif event.target_kind == "commune":
            commune = session.get(Commune, event.target_id)
            targets[key] = commune.name if commune else ""
        elif event.target_kind:
            kind = TARGET_KINDS.get(event.target_kind, event.target_kind)
            targets[key] = (
                _("%(kind)s (mã %(target_id)s)", kind=kind, target_id=event.target_id)
                if event.target_id
                else kind
            )
    return people, targets


def details_text(details: dict) -> list[tuple[str, str]]:
    """(label, value) pairs to show; internal keys (UUIDs, digests) left out."""
    shown = []
    for key, value in details.items():
        if key in HIDDEN_DETAILS:
            continue
        if key == "purposes" and isinstance(value, list):
            value = ", ".join(privacy.PURPOSES.get(v, v) for v in value)
        elif key == "method":
            value = METHODS.get(value, value)
        elif key == "reason":
            value = REASONS.get(value, value)
        elif isinstance(value, dict) and set(value) == {"before", "after"}:
            value = (
                f"{value['before'] if value['before'] is not None else '—'} → "
                f"{value['after'] if value['after'] is not None else '—'}"
            )
        shown.append((DETAIL_LABELS.get(key, key), str(value)))
    return shown


@bp.get("/audit")
@login_required
def index():
    policy.require_commune_staff(g.member)
    session = db.session()
    filters = _filters()
    events = _events(session, g.member, filters, LIMIT)
    people, targets = _describe(session, events)
    members = session.exec(
        select(Member).where(Member.commune_id == g.member.commune_id).order_by(Member.name)
    ).all()
    return render(
        "audit/index.html",
        events=events,
        people=people,
        targets=targets,
        filters=filters,
        members=members,
        actions=audit.ACTIONS,
        limit=LIMIT,
        details_text=details_text,
        # The download keeps the filters as they were understood, not as they were typed.
        query=urlencode({name: value for name, value in filters.items() if value}),
        commune=session.get(Commune, g.member.commune_id),
    )


@bp.get("/audit.csv")
@login_required
@i18n.in_vietnamese
def export_csv():
    policy.require_commune_staff(g.member)
    session = db.session()
    events = _events(session, g.member, _filters(), None)
    people, targets = _describe(session, events)
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 with Vietnamese letters intact
    writer = csv.writer(out)
    writer.writerow(
        [_("Thời gian"), _("Người thực hiện"), _("Thao tác"), _("Đối tượng"), _("Chi tiết")]
    )
    for event in events:
        row = [
            forms.to_local(event.at).strftime("%Y-%m-%d %H:%M"),
            people.get(event.actor_id, _("Hệ thống")),
            audit.ACTIONS.get(event.action, event.action),
            targets.get((event.target_kind, event.target_id), ""),
            "; ".join(f"{label}: {value}" for label, value in details_text(event.details)),
        ]
        # Names and details are data: never a formula in the staff's spreadsheet.
        writer.writerow([exports.csv_cell(cell) for cell in row])
    response = Response(out.getvalue(), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="nhat-ky-fieldkit.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
