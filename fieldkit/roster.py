"""Bringing the team in from a roster (issue 15): name, phone, role and village per row, with
the same preview and batch as households (fieldkit.imports), matched by phone so a roster
brought in twice adds nobody twice.

Who may bring whom in is fieldkit.policy's rule for invites: a leader the volunteers of their
village, commune staff volunteers, leaders and staff of the commune (the console, everyone but
admins). Only commune staff change an existing member's role or village from a roster; a
leader's roster may correct names. New members sign in with the invite links printed on the
batch's A4 sheet (pwa) or by `fieldkit import team --links`.

Undo deactivates the members the batch added — while none of them has signed in — and puts
back the names, roles and villages it changed. Caller commits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from fieldkit import audit, communes, forms, members, policy
from fieldkit.i18n import _
from fieldkit.imports import (
    PREVIEW_REFUSED,
    PREVIEW_SAMPLES,
    Importer,
    Villages,
    _without_footer,
    as_text,
    cell_text,
    mapping_of,
    mapping_problems,
    phone_of,
)
from fieldkit.models import (
    ImportBatch,
    ImportChange,
    Member,
    Passkey,
    Role,
    SignInLink,
    Village,
)
from fieldkit.spreadsheets import Table, header_key
from fieldkit.vocab import ROLES

MAX_ROSTER = 5000

_ROLE_WORDS = {
    Role.volunteer: (
        "",
        "thanh vien",
        "thanh vien to cnscd",
        "thanh vien to cong nghe so",
        "thanh vien to cong nghe so cong dong",
        "tinh nguyen vien",
        "tnv",
        "doan vien",
        "to vien",
        "to pho",
        "volunteer",
    ),
    Role.leader: ("to truong", "to truong to cnscd", "truong to", "to truong to cong nghe so"),
    Role.staff: (
        "cong chuc",
        "cong chuc xa",
        "can bo xa",
        "can bo",
        "cong chuc van hoa xa hoi",
        "staff",
    ),
}
ROLE_WORDS = {word: role for role, words in _ROLE_WORDS.items() for word in words}


@dataclass
class RosterRow:
    line: int
    name: str
    phone: str
    role: Role
    village_id: int | None


@dataclass
class Planned:
    row: RosterRow
    member_id: int | None  # None: a new member
    changes: dict[str, tuple[Any, Any]]


def _rows(
    session: Session, batch: ImportBatch, importer: Importer
) -> tuple[list[RosterRow], list[tuple[int, str]]]:
    table = Table.from_json(batch.rows)
    mapping = mapping_of(batch)
    villages = Villages(communes.villages_of(session, importer.commune_id))
    default_id = importer.village_id or batch.options.get("village_id")
    found, refused = [], []
    seen: dict[str, int] = {}
    if len(table.rows) > MAX_ROSTER:
        return [], [
            (
                table.header_line,
                _("Danh sách quá %(MAX_ROSTER)s người; hãy chia nhỏ.", MAX_ROSTER=MAX_ROSTER),
            )
        ]
    for line, cells in _without_footer(table.rows, mapping, "name", []):
        values = {name: cells[i] for i, name in enumerate(mapping) if name and i < len(cells)}
        c = forms.Collector()
        name = cell_text(
            c, "name", values.get("name"), label=_("họ tên"), max_length=100, required=True
        )
        phone = phone_of(c, "phone", values.get("phone"))
        if phone is None and "phone" not in c.errors:
            c.add(
                "phone",
                _(
                    "Cần số điện thoại: Fieldkit nhận ra từng người bằng số điện thoại khi đưa "
                    "vào lại."
                ),
            )
        role = ROLE_WORDS.get(header_key(as_text(values.get("role")) or ""))
        if role is None:
            c.add("role", _("Vai trò ghi Thành viên, Tổ trưởng hoặc Công chức xã."))
        village_id = None
        village_text = cell_text(
            c, "village", values.get("village"), label=_("thôn"), max_length=80
        )
        if village_text:
            village = villages.find(village_text)
            if village is None:
                c.add(
                    "village",
                    _("Thôn “%(village_text)s” chưa có trong xã.", village_text=village_text),
                )
            else:
                village_id = village.id
        elif default_id in villages.by_id:
            village_id = default_id
        if role is not None and not policy.needs_village(role):
            village_id = None
        elif role is not None and village_id is None and "village" not in c.errors:
            c.add("village", _("Thành viên và tổ trưởng phải thuộc một thôn: ghi thôn."))
        if role is not None and not c.errors and not _may_bring(importer, role, village_id):
            c.add(
                "role",
                _("Tổ trưởng chỉ đưa vào thành viên Tổ CNSCĐ của thôn mình.")
                if importer.member is not None and policy.leads_team(importer.member)
                else _("Bạn không được đưa người với vai trò này vào."),
            )
        if phone and phone in seen and not c.errors:
            c.add("phone", _("Số điện thoại trùng với dòng %(value)s.", value=seen[phone]))
        if c.errors:
            refused.append((line, " ".join(dict.fromkeys(c.errors.values()))))
            continue
        # With no error kept, the required cells are all there.
        assert phone is not None and role is not None
        seen[phone] = line
        found.append(RosterRow(line, name, phone, role, village_id))
    return found, refused


def _may_bring(importer: Importer, role: Role, village_id: int | None) -> bool:
    if importer.member is None:
        return policy.console_may_import(role)
    return policy.can_import_member(importer.member, role, village_id)


def plan(
    session: Session, batch: ImportBatch, importer: Importer
) -> tuple[list[Planned], list[tuple[int, str]]]:
    rows, refused = _rows(session, batch, importer)
    known: dict[str | None, Member] = {
        member.phone: member
        for member in session.exec(
            select(Member)
            .where(
                Member.commune_id == importer.commune_id,
                col(Member.active).is_(True),
                col(Member.phone).is_not(None),
            )
            .order_by(col(Member.id))
        ).all()
    }
    planned = []
    may_change_roles = importer.member is None or policy.is_commune_wide(importer.member)
    for row in rows:
        member = known.get(row.phone)
        if member is None:
            planned.append(Planned(row, None, {}))
            continue
        if policy.is_commune_admin(member):
            refused.append(
                (row.line, _("Số điện thoại này là của quản trị xã; không đổi từ danh sách."))
            )
            continue
        if (
            importer.member is not None
            and importer.member.id != member.id
            and not policy.can_manage_member(importer.member, member)
        ):
            refused.append(
                (row.line, _("Số điện thoại này đã là của một người bạn không quản lý."))
            )
            continue
        changes: dict[str, tuple[Any, Any]] = {}
        if member.name != row.name:
            changes["name"] = (member.name, row.name)
        if member.role is not row.role or member.village_id != row.village_id:
            if not may_change_roles:
                refused.append(
                    (
                        row.line,
                        _(
                            (
                                "%(name)s đã có trong xã với vai trò %(value)s; chỉ công chức xã "
                                "đổi vai trò hoặc thôn."
                            ),
                            name=member.name,
                            value=ROLES[member.role],
                        ),
                    )
                )
                continue
            if member.role is not row.role:
                changes["role"] = (member.role.value, row.role.value)
            if member.village_id != row.village_id:
                changes["village_id"] = (member.village_id, row.village_id)
        planned.append(Planned(row, member.id, changes))
    refused.sort()
    return planned, refused


def _counts(planned: list[Planned], refused: list) -> dict[str, int]:
    return {
        "members_new": sum(1 for p in planned if p.member_id is None),
        "members_updated": sum(1 for p in planned if p.member_id is not None and p.changes),
        "members_unchanged": sum(1 for p in planned if p.member_id is not None and not p.changes),
        "rows_refused": len(refused),
    }


_FIELD_LABELS = {"name": _("Họ tên"), "role": _("Vai trò"), "village_id": _("Thôn")}


def preview(session: Session, batch: ImportBatch, importer: Importer, *, now) -> dict[str, Any]:
    from fieldkit.imports import _dropped

    problems = mapping_problems(mapping_of(batch), batch.kind)
    if problems:
        return {"problems": problems, "counts": {}, "dropped": _dropped(batch)}
    planned, refused = plan(session, batch, importer)
    names = {v.id: v.name for v in communes.villages_of(session, importer.commune_id)}

    def show(name: str, value: Any) -> str:
        if name == "role":
            return ROLES[Role(value)]
        if name == "village_id":
            return names.get(value, "—") if value else "—"
        return str(value)

    return {
        "counts": _counts(planned, refused),
        "refused": [[line, reason] for line, reason in refused[:PREVIEW_REFUSED]],
        "refused_total": len(refused),
        "dropped": _dropped(batch),
        "notes": [],
        "new_villages": [],
        "similar": [],
        "problems": [],
        "updates": [
            {
                "line": p.row.line,
                "label": "",
                "head": p.row.name,
                "changes": [
                    [_FIELD_LABELS[name], show(name, before), show(name, after)]
                    for name, (before, after) in p.changes.items()
                ],
            }
            for p in planned
            if p.changes
        ][:PREVIEW_SAMPLES],
        "new_members": [
            {
                "line": p.row.line,
                "name": p.row.name,
                "phone": p.row.phone,
                "role": ROLES[p.row.role],
                "village": names.get(p.row.village_id, ""),
            }
            for p in planned
            if p.member_id is None
        ][:PREVIEW_SAMPLES],
    }


def run(session: Session, batch: ImportBatch, importer: Importer, *, now: datetime) -> dict:
    """Add and update the roster's members (inside fieldkit.imports.run's transaction)."""
    planned, refused = plan(session, batch, importer)
    member: Member | None
    for item in planned:
        if item.member_id is None:
            village = None
            if item.row.village_id is not None:
                village = session.get(Village, item.row.village_id)
            member = members.add_member(
                session,
                commune_id=importer.commune_id,
                name=item.row.name,
                role=item.row.role,
                village=village,
                phone=item.row.phone,
            )
            assert member.id is not None  # add_member flushes
            session.add(_change(batch, member.id, True, {}, {}))
            audit.record(
                session,
                action="member_added",
                now=now,
                actor=importer.member,
                commune_id=importer.commune_id,
                target_kind="member",
                target_id=member.id,
                details={
                    "name": member.name,
                    "role": member.role.value,
                    "village_id": member.village_id,
                    "import": batch.id,
                },
            )
        elif item.changes:
            member = session.get(Member, item.member_id)
            assert member is not None and member.id is not None  # planned from a stored member
            for name, (_unused, after) in item.changes.items():
                setattr(member, name, Role(after) if name == "role" else after)
            session.add(member)
            session.add(
                _change(
                    batch,
                    member.id,
                    False,
                    {name: before for name, (before, _unused) in item.changes.items()},
                    {name: after for name, (_unused, after) in item.changes.items()},
                )
            )
            for name, action in (("role", "role_changed"), ("village_id", "village_changed")):
                if name in item.changes:
                    before, after = item.changes[name]
                    audit.record(
                        session,
                        action=action,
                        now=now,
                        actor=importer.member,
                        commune_id=importer.commune_id,
                        target_kind="member",
                        target_id=member.id,
                        details={"from": before, "to": after, "import": batch.id},
                    )
    session.flush()
    return _counts(planned, refused)


def _change(batch: ImportBatch, member_id: int, created: bool, before, after) -> ImportChange:
    assert batch.id is not None  # the batch is stored before its changes
    return ImportChange(
        batch_id=batch.id,
        record_kind="member",
        record_id=member_id,
        created=created,
        before=before,
        after=after,
    )


def new_members(session: Session, batch: ImportBatch) -> list[Member]:
    """The members the batch added who are still active, in roster order."""
    ids = session.exec(
        select(ImportChange.record_id)
        .where(
            ImportChange.batch_id == batch.id,
            ImportChange.record_kind == "member",
            col(ImportChange.created).is_(True),
        )
        .order_by(col(ImportChange.id))
    ).all()
    if not ids:
        return []
    found = {
        m.id: m
        for m in session.exec(
            select(Member).where(col(Member.id).in_(ids), col(Member.active).is_(True))
        ).all()
    }
    return [found[i] for i in ids if i in found]


def _signed_in(session: Session, member_ids: list[int | None]) -> set[int]:
    if not member_ids:
        return set()
    used = set(
        session.exec(
            select(SignInLink.member_id).where(
                col(SignInLink.member_id).in_(member_ids), col(SignInLink.used_at).is_not(None)
            )
        ).all()
    )
    used |= set(
        session.exec(select(Passkey.member_id).where(col(Passkey.member_id).in_(member_ids))).all()
    )
    return used


def undo_blockers(session: Session, batch: ImportBatch) -> list[str]:
    added = [member.id for member in new_members(session, batch)]
    signed = _signed_in(session, added)
    if signed:
        names = session.exec(select(Member.name).where(col(Member.id).in_(signed))).all()
        return [
            _("Không hoàn tác được: ")
            + ", ".join(sorted(names))
            + _(" đã đăng nhập. Nếu cần, cho thôi tham gia trên trang Thành viên.")
        ]
    return []


def undo(session: Session, batch: ImportBatch) -> None:
    by_kind: dict[bool, list[ImportChange]] = defaultdict(list)
    for change in session.exec(
        select(ImportChange).where(
            ImportChange.batch_id == batch.id, ImportChange.record_kind == "member"
        )
    ).all():
        by_kind[change.created].append(change)
    for change in by_kind[True]:
        member = session.get(Member, change.record_id)
        if member is not None and member.active:
            member.active = False  # their unused links stop working with it
            session.add(member)
    for change in by_kind[False]:
        member = session.get(Member, change.record_id)
        if member is None:
            continue
        for name, after in change.after.items():
            current = getattr(member, name)
            if (current.value if isinstance(current, Role) else current) == after:
                before: Any = change.before.get(name)  # a JSON value
                setattr(member, name, Role(before) if name == "role" else before)
        session.add(member)


def template(session: Session, importer: Importer) -> bytes:
    from fieldkit import spreadsheets

    villages = communes.villages_of(session, importer.commune_id)
    if importer.village_id is not None:
        villages = [v for v in villages if v.id == importer.village_id]
    names = [v.name for v in villages] or ["Thôn Đông"]
    # What the person may bring in: a leader, volunteers of the village.
    roles = ["Thành viên"]
    if importer.village_id is None:
        roles += ["Tổ trưởng", "Công chức xã"]
    return spreadsheets.workbook(
        [
            (
                "Danh sách tổ",
                ["Họ và tên", "Số điện thoại", "Vai trò", "Thôn"],
                [["Phạm Thu Hà", "0912000001", "Thành viên", names[0]]],
            )
        ],
        choices={"Vai trò": roles, "Thôn": names},
        notes=[
            "DANH SÁCH TỔ CÔNG NGHỆ SỐ CỘNG ĐỒNG",
            "• Mỗi dòng một người. Số điện thoại là bắt buộc: Fieldkit nhận ra từng người bằng số "
            "điện thoại, nên đưa danh sách vào lại không tạo người trùng.",
            "• Vai trò: Thành viên, Tổ trưởng (hoặc Công chức xã). Thôn: bắt buộc với thành viên "
            "và tổ trưởng.",
            "• Sau khi đưa vào, in phiếu mời có mã QR: mỗi người quét mã của mình để tạo khóa truy "
            "cập trên điện thoại.",
            "• Xóa dòng ví dụ trước khi đưa vào.",
        ],
        widths={"Họ và tên": 26, "Số điện thoại": 16, "Thôn": 18},
    )
