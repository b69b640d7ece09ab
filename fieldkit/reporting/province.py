"""The province above its communes (issue 14, DESIGN.md §6): every commune of a province side
by side for province staff, the week's numbers, the files sent upward, and the province's own
team. Numbers only — never a resident's, household's or team member's name; where that line
is and why (Law 91/2025/QH15) is written in fieldkit.policy ("The province").

Every figure is a `Count(approved, pending)` as in fieldkit.reporting.indicators, summed over the
commune's villages from the pre-aggregated VillageProgress rows, so ~100 communes and a
million households cost a handful of grouped queries over a few thousand rows, never a pass
over households or visits. Targets: a commune's own commune-wide target in force, else the
province's for it (fieldkit.reporting.targets). Reads only, except add_member / add_member_by and
record_export, whose caller commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import Session, col, func, select

from fieldkit import admin_units, audit, forms, members, policy
from fieldkit.errors import Invalid
from fieldkit.i18n import _
from fieldkit.models import (
    Commune,
    Household,
    Member,
    Role,
    Target,
    Village,
    VillageProgress,
)
from fieldkit.reporting import dashboards, indicators, targets
from fieldkit.reporting.dashboards import Line, Week
from fieldkit.reporting.exports import APPROVED, PENDING, Table
from fieldkit.reporting.indicators import LABELS, Count, VillageIndicators
from fieldkit.text import sort_key

PROVINCE_TOTAL = _("Toàn tỉnh")
# The province table's indicators: the households, reach, the VNeID funnel, portal logins,
# online procedures and payment accounts (the Đề án 06 figures reported upward).
COLUMNS = (
    "households",
    "reached",
    "vneid_level1",
    "vneid_activated",
    "vneid_level2_referred",
    "vneid_level2_done",
    "dvcqg_logins",
    "online_procedures",
    "payment_accounts",
)
SORTS = ("name", "coverage", *COLUMNS, "pending_reviews", "last_visit")


@dataclass(frozen=True)
class CommuneRow:
    """One commune of the province (or the province's total, `commune` None): its indicators
    summed over its villages, each of COLUMNS with the commune-wide target in force, and what
    waits: records pending review (chờ duyệt) and sent back (trả lại); its latest visit."""

    commune: Commune | None
    name: str
    values: VillageIndicators
    lines: list[Line]
    coverage: int | None
    villages: int
    pending_reviews: int
    returned: int
    last_visit: datetime | None


@dataclass(frozen=True)
class Overview:
    province_code: str
    province_name: str
    rows: list[CommuneRow]
    total: CommuneRow


def province_name(province_code: str) -> str:
    try:
        return admin_units.lookup_province(province_code).name
    except Exception:  # a name is decoration: never let the official list fail a page
        return _("Tỉnh %(province_code)s", province_code=province_code)


def communes_of(session: Session, province_code: str) -> list[Commune]:
    """The communes of the province set up on this server, in Vietnamese order of name."""
    found = session.exec(select(Commune).where(Commune.province_code == province_code)).all()
    return sorted(found, key=lambda commune: (sort_key(commune.name), commune.code))


def _sums(session: Session, commune_ids: list[int]) -> dict[int, dict[str, Count]]:
    """Per commune, VillageProgress summed over its villages: every indicator, failure reason
    and the review backlog (indicators.summary_keys(), not the weekly tallies), in one grouped
    query."""
    rows = session.exec(
        select(
            Village.commune_id,
            VillageProgress.indicator,
            func.sum(VillageProgress.approved),
            func.sum(VillageProgress.pending),
        )
        .join(Village, col(Village.id) == VillageProgress.village_id)
        .where(
            col(Village.commune_id).in_(commune_ids),
            col(VillageProgress.indicator).in_(indicators.summary_keys()),
        )
        .group_by(col(Village.commune_id), col(VillageProgress.indicator))
    ).all()
    sums: dict[int, dict[str, Count]] = {}
    for commune_id, indicator, approved, pending in rows:
        if approved or pending:
            sums.setdefault(commune_id, {})[indicator] = Count(int(approved), int(pending))
    return sums


def _villages(session: Session, commune_ids: list[int]) -> dict[int, int]:
    return dict(
        session.exec(
            select(Village.commune_id, func.count())
            .where(col(Village.commune_id).in_(commune_ids))
            .group_by(col(Village.commune_id))
        ).all()
    )


def _last_visits(session: Session, commune_ids: list[int]) -> dict[int, datetime | None]:
    """Per commune, its households' latest visit (not rejected): per village the last entry of
    ix_household_village_last_visit, so one index probe per village."""
    latest = (
        select(func.max(Household.last_visited_at))
        .where(Household.village_id == Village.id)
        .scalar_subquery()
    )
    per_village = (
        select(col(Village.commune_id).label("commune_id"), latest.label("latest"))
        .where(col(Village.commune_id).in_(commune_ids))
        .subquery()
    )
    return dict(
        session.exec(
            select(per_village.c.commune_id, func.max(per_village.c.latest)).group_by(
                per_village.c.commune_id
            )
        ).all()
    )


def _row(
    commune: Commune | None,
    name: str,
    counted: dict[str, Count],
    in_force: dict,
    *,
    villages: int,
    last_visit: datetime | None,
) -> CommuneRow:
    # 0 stands for the province's total row (no commune).
    group_id = commune.id if commune is not None and commune.id is not None else 0
    values = indicators.indicators_from(group_id, name, counted)
    return CommuneRow(
        commune=commune,
        name=name,
        values=values,
        lines=dashboards.lines(values, in_force, village_id=None, keys=COLUMNS),
        coverage=dashboards.coverage_percent(values),
        villages=villages,
        pending_reviews=counted.get(indicators.REVIEW_PENDING, Count()).approved,
        returned=counted.get(indicators.REVIEW_RETURNED, Count()).approved,
        last_visit=last_visit,
    )


def overview(
    session: Session,
    *,
    province_code: str,
    today: date,
    sort: str = "name",
    descending: bool = False,
) -> Overview:
    """Every commune of the province set up here, with its numbers, targets in force on
    `today` and review backlog, sorted (SORTS; an unknown key sorts by name); and the
    province's total ("Toàn tỉnh") with the province-wide targets. Seven queries whatever the
    number of communes. Reads only."""
    communes = communes_of(session, province_code)
    ids = [commune.id for commune in communes if commune.id is not None]  # stored: all
    sums = _sums(session, ids) if ids else {}
    villages = _villages(session, ids) if ids else {}
    last = _last_visits(session, ids) if ids else {}
    commune_targets = targets.commune_targets_in_force(session, commune_ids=ids, on=today)
    rows = []
    for commune in communes:
        assert commune.id is not None  # a stored commune
        rows.append(
            _row(
                commune,
                commune.name,
                sums.get(commune.id, {}),
                {
                    (None, key): target
                    for (commune_id, key), target in commune_targets.items()
                    if commune_id == commune.id
                },
                villages=villages.get(commune.id, 0),
                last_visit=last.get(commune.id),
            )
        )
    whole: dict[str, Count] = {}
    for counted in sums.values():
        for key, count in counted.items():
            before = whole.get(key, Count())
            whole[key] = Count(before.approved + count.approved, before.pending + count.pending)
    province_targets = {
        (None, key): target
        for (commune_id, key), target in targets.province_targets_for(
            session, province_code=province_code, on=today
        ).items()
        if commune_id is None
    }
    dates = [row.last_visit for row in rows if row.last_visit is not None]
    total = _row(
        None,
        PROVINCE_TOTAL,
        whole,
        province_targets,
        villages=sum(villages.values()),
        last_visit=max(dates) if dates else None,
    )
    return Overview(
        province_code=province_code,
        province_name=province_name(province_code),
        rows=sort_rows(rows, by=sort, descending=descending),
        total=total,
    )


def sort_rows(rows: Sequence[CommuneRow], *, by: str, descending: bool) -> list[CommuneRow]:
    """Communes by name (Vietnamese order), coverage %, an indicator's approved number, the
    records pending review or the latest visit; ties by name. Missing values sort lowest."""
    if by not in SORTS:
        by = "name"
    by_name = sorted(rows, key=lambda row: (sort_key(row.name), row.name))
    if by == "name":
        return by_name[::-1] if descending else by_name
    lowest = datetime.min.replace(tzinfo=forms.VN_TZ)

    def value(row: CommuneRow):
        if by == "coverage":
            return row.coverage if row.coverage is not None else -1
        if by == "pending_reviews":
            return row.pending_reviews
        if by == "last_visit":
            return row.last_visit or lowest
        return getattr(row.values, by).approved

    return sorted(by_name, key=value, reverse=descending)


# --- the week's numbers -----------------------------------------------------------------------

# What a week adds, per commune: visits made, households reached for the first time, residents
# first at VNeID level 1 — the village dashboard's weekly figures, summed.
WEEK_COLUMNS = {
    "visits": _("Lượt thăm"),
    "reached": _("Hộ được tiếp cận lần đầu"),
    "level1": _("Người lên VNeID mức 1"),
}


@dataclass(frozen=True)
class WeekRow:
    """One commune's (or the province's) figures for one ISO week, approved with pending
    beside them."""

    commune: Commune | None
    name: str
    visits: Count
    reached: Count
    level1: Count


def week_numbers(session: Session, *, province_code: str, week: Week) -> list[WeekRow]:
    """Every commune of the province for `week` (Vietnam time), by name, then "Toàn tỉnh":
    the week: tallies kept beside the indicators (fieldkit.reporting.indicators), summed over each
    commune's villages — one read of VillageProgress, whatever the week's number of visits.
    A household or resident is credited to the week it was first reached, as on the village
    dashboard, so the weeks add up to the totals. Reads only."""
    communes = communes_of(session, province_code)
    village_of = {
        village_id: commune_id
        for village_id, commune_id in session.exec(
            select(Village.id, Village.commune_id).where(
                col(Village.commune_id).in_([c.id for c in communes])
            )
        ).all()
        if village_id is not None  # a primary key: always
    }
    keys = {name: f"{indicators.WEEK}{week.iso}:{name}" for name in WEEK_COLUMNS}
    kept = indicators.activity_sums(session, list(village_of), list(keys.values()))
    sums: dict[tuple[int, str], Count] = {}
    for (village_id, key), count in kept.items():
        name = key.rsplit(":", 1)[1]
        before = sums.get((village_of[village_id], name), Count())
        sums[(village_of[village_id], name)] = Count(
            before.approved + count.approved, before.pending + count.pending
        )
    rows = []
    for commune in communes:
        assert commune.id is not None  # a stored commune
        counts = {name: sums.get((commune.id, name), Count()) for name in WEEK_COLUMNS}
        rows.append(WeekRow(commune=commune, name=commune.name, **counts))
    total = WeekRow(
        commune=None,
        name=PROVINCE_TOTAL,
        **{name: _sum(getattr(row, name) for row in rows) for name in WEEK_COLUMNS},
    )
    return [*rows, total]


def _sum(counts) -> Count:
    counts = list(counts)
    return Count(sum(c.approved for c in counts), sum(c.pending for c in counts))


# --- files sent upward ----------------------------------------------------------------------


def export_tables(overview_: Overview) -> list[Table]:
    """The Đề án 06 figures of the province: a first sheet with every commune and indicator
    ("Tổng hợp", also the CSV), then one sheet per indicator — a row per commune with the
    approved number, the pending one beside it, the target in force and the share reached —
    each ending with the "Toàn tỉnh" row. Vietnamese headers; written by fieldkit.reporting.exports'
    writers."""
    rows = [*overview_.rows, overview_.total]
    summary_headers: list[str] = [_("Mã xã"), _("Xã, phường"), _("Số thôn")]
    for key in COLUMNS:
        summary_headers += [f"{LABELS[key]} ({APPROVED})", f"{LABELS[key]} ({PENDING})"]
    summary_headers += [_("Tỷ lệ hộ đã tiếp cận (%)"), _("Hồ sơ chờ duyệt"), _("Hồ sơ bị trả lại")]
    summary = Table(
        _("Tổng hợp"),
        summary_headers,
        [
            [
                row.commune.code if row.commune else None,
                row.name,
                row.villages,
                *[n for line in row.lines for n in (line.count.approved, line.count.pending)],
                row.coverage,
                row.pending_reviews,
                row.returned,
            ]
            for row in rows
        ],
    )
    tables = [summary]
    for index, key in enumerate(COLUMNS):
        headers = [
            _("Mã xã"),
            _("Xã, phường"),
            f"{LABELS[key]} ({APPROVED})",
            f"{LABELS[key]} ({PENDING})",
            _("Chỉ tiêu"),
            _("Nguồn chỉ tiêu"),
            _("Tỷ lệ đạt chỉ tiêu (%)"),
        ]
        sheet = []
        for row in rows:
            line = row.lines[index]
            target = line.progress
            source = None
            if target is not None:
                source = _("Tỉnh giao") if line.from_province else _("Xã tự đặt")
            sheet.append(
                [
                    row.commune.code if row.commune else None,
                    row.name,
                    line.count.approved,
                    line.count.pending,
                    target.target if target else None,
                    source,
                    target.percent if target else None,
                ]
            )
        tables.append(Table(LABELS[key], headers, sheet))
    return tables


def filename(province_code: str, *, extension: str, today: date) -> str:
    """fieldkit-toan-tinh-38-2026-11-24.xlsx: ASCII, so every phone and mail client keeps it."""
    return f"fieldkit-toan-tinh-{province_code}-{today.isoformat()}.{extension}"


def record_export(
    session: Session, *, member: Member, province_code: str, file_format: str, rows: int, now
) -> None:
    """The province's export in the audit log (no commune's: it is the province's act over
    aggregates). Caller commits."""
    audit.record(
        session,
        action="export",
        now=now,
        actor=member,
        target_kind="province",
        details={
            "what": "province",
            "province": province_code,
            "format": file_format,
            "rows": rows,
        },
    )


# --- the province's own team ----------------------------------------------------------------


def add_member(
    session: Session, *, province_code: str | None, name: str, role: Role, phone: str | None
) -> Member:
    """A member of the province's staff (a province role), made at the console or by the
    province admin. Invalid for a malformed name or a role that belongs to a commune; NotFound
    for a province not in the official list. Caller commits."""
    name = " ".join((name or "").split())
    if not name or len(name) > 100:
        raise Invalid({"name": _("Vui lòng nhập họ tên (tối đa 100 ký tự).")})
    if not policy.belongs_to_province(role):
        raise Invalid(
            {
                "role": _(
                    "Người của tỉnh có vai trò Cán bộ tỉnh hoặc Quản trị tỉnh (--role province)."
                )
            }
        )
    if not province_code:
        raise Invalid({"province": _("Hãy cho biết mã tỉnh (--province, 2 chữ số).")})
    province = admin_units.lookup_province(province_code)
    member = Member(
        province_code=province.code, name=name, role=role, phone=members.normalise_phone(phone)
    )
    session.add(member)
    session.flush()
    return member


def add_member_by(
    session: Session, actor: Member, *, name: str, role: Role, phone: str | None, now: datetime
) -> Member:
    """A province admin adds a member of the province's staff from the web. Forbidden
    unless `actor` may invite that role; Invalid for a phone already used among the province's
    active staff. Audit-logged. Caller commits."""
    province_code = policy.require_can_manage_province_members(actor)
    policy.require_can_invite(actor, role, None)
    phone = members.normalise_phone(phone)
    if (
        phone
        and session.exec(
            select(Member).where(
                Member.phone == phone,
                Member.province_code == province_code,
                col(Member.active).is_(True),
            )
        ).first()
    ):
        raise Invalid({"phone": _("Số điện thoại này đã có cán bộ tỉnh dùng.")})
    member = add_member(session, province_code=province_code, name=name, role=role, phone=phone)
    audit.record(
        session,
        action="member_added",
        now=now,
        actor=actor,
        target_kind="member",
        target_id=member.id,
        details={"name": member.name, "role": role.value, "province": province_code},
    )
    return member


def team(session: Session, province_code: str) -> list[Member]:
    """The province's staff, active first, by name."""
    found = session.exec(select(Member).where(Member.province_code == province_code)).all()
    return sorted(found, key=lambda m: (not m.active, sort_key(m.name), m.id))


# --- province targets: the grid ----------------------------------------------------------------


@dataclass(frozen=True)
class TargetCell:
    name: str
    value: str
    error: str | None
    reached: int
    progress: targets.Progress | None
    commune_target: Target | None  # the commune's own commune-wide target in force, if any


def target_grid(
    session: Session,
    *,
    province_code: str,
    period_start: date,
    period_end: date,
    today: date,
    typed=None,
    errors: dict[str, str] | None = None,
) -> list[tuple[CommuneRow, list[TargetCell]]]:
    """The province targets page: "Toàn tỉnh" then each commune, per indicator of COLUMNS, the
    province's target for this exact period (or what was typed), the approved number reached
    so far and its share, and the commune's own target in force today when it has one (it
    wins over the province's). Reads only."""
    found = overview(session, province_code=province_code, today=today)
    current = targets.province_targets_in_period(
        session, province_code=province_code, period_start=period_start, period_end=period_end
    )
    own = {
        (target.commune_id, target.indicator): target
        for target in session.exec(
            select(Target).where(
                col(Target.commune_id).in_([row.commune.id for row in found.rows if row.commune]),
                col(Target.village_id).is_(None),
                Target.period_start <= today,
                Target.period_end >= today,
            )
        ).all()
    }
    typed = typed or {}
    errors = errors or {}
    grid = []
    for row in [found.total, *found.rows]:
        commune_id = row.commune.id if row.commune else None
        cells = []
        for key in COLUMNS:
            name = targets.province_cell_name(commune_id, key)
            target = current.get((commune_id, key))
            reached = getattr(row.values, key).approved
            cells.append(
                TargetCell(
                    name=name,
                    value=typed.get(name, "" if target is None else str(target.value)),
                    error=errors.get(name),
                    reached=reached,
                    progress=targets.progress(reached, target),
                    commune_target=own.get((commune_id, key)) if commune_id is not None else None,
                )
            )
        grid.append((row, cells))
    return grid
