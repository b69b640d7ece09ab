"""Targets (chỉ tiêu): how many of an indicator a village, or the whole commune, should reach
within a period, and the progress of a number against its target.

One target per commune, village (None: the whole commune), indicator and period. Periods are
Vietnam calendar dates, both ends inclusive. Only commune staff set targets (policy); every
change is audit-logged in the caller's transaction. Caller commits.

Province targets (issue 14): the province sets, per commune (None: the whole province),
indicator and period, how many it expects. A commune that has no commune-wide target of its
own in force for an indicator sees the province's as its own (`targets_for`); the commune's
own target wins. Province staff set them (policy).
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, overload

from sqlmodel import Session, col, select

from fieldkit import audit, forms, policy
from fieldkit.errors import Invalid
from fieldkit.i18n import _
from fieldkit.models import Commune, Member, ProvinceTarget, Target, Village
from fieldkit.reporting.indicators import LABELS

MAX_VALUE = 10_000_000


@dataclass(frozen=True)
class Progress:
    """A number against its target. `percent` = floor(100 × value / target); it may pass 100.
    A target of 0 is met by any value (100 %)."""

    value: int
    target: int
    percent: int

    @property
    def met(self) -> bool:
        return self.value >= self.target


@overload
def progress(reached: int, target: Target | ProvinceTarget) -> Progress: ...
@overload
def progress(reached: int, target: Target | ProvinceTarget | None) -> Progress | None: ...
def progress(reached: int, target: Target | ProvinceTarget | None) -> Progress | None:
    """`reached` against `target`; None when there is no target."""
    if target is None:
        return None
    if target.value <= 0:
        return Progress(value=reached, target=target.value, percent=100)
    return Progress(value=reached, target=target.value, percent=100 * reached // target.value)


def targets_for(
    session: Session, *, commune_id: int, on: date
) -> dict[tuple[int | None, str], Target | ProvinceTarget]:
    """The commune's targets whose period contains `on`, keyed by (village id or None for the
    whole commune, indicator key). When several periods contain `on` (a year and a quarter,
    say), the one that started last wins — the narrower, current one — then the one that
    ends first. Where the commune has no commune-wide target for an indicator, the province's
    target for this commune in force on `on` stands in for it (a ProvinceTarget)."""
    rows = session.exec(
        select(Target)
        .where(Target.commune_id == commune_id, Target.period_start <= on, Target.period_end >= on)
        .order_by(col(Target.period_start), col(Target.period_end).desc(), col(Target.id))
    ).all()
    # Later rows in this order win: latest start, then earliest end.
    found: dict[tuple[int | None, str], Target | ProvinceTarget] = {
        (target.village_id, target.indicator): target for target in rows
    }
    for (_commune_id, indicator), target in province_targets_for(
        session, commune_ids=[commune_id], on=on
    ).items():
        found.setdefault((None, indicator), target)
    return found


def commune_targets_in_force(
    session: Session, *, commune_ids: list[int], on: date
) -> dict[tuple[int, str], Target | ProvinceTarget]:
    """The commune-wide target in force on `on` of each of these communes, by (commune id,
    indicator): the commune's own, else the province's for it. Two queries whatever the
    number of communes (the province overview)."""
    if not commune_ids:
        return {}
    rows = session.exec(
        select(Target)
        .where(
            col(Target.commune_id).in_(commune_ids),
            col(Target.village_id).is_(None),
            Target.period_start <= on,
            Target.period_end >= on,
        )
        .order_by(col(Target.period_start), col(Target.period_end).desc(), col(Target.id))
    ).all()
    found: dict[tuple[int, str], Target | ProvinceTarget] = {
        (target.commune_id, target.indicator): target for target in rows
    }
    for key, target in province_targets_for(session, commune_ids=commune_ids, on=on).items():
        found.setdefault(key, target)  # type: ignore[arg-type]
    return found


def province_targets_for(
    session: Session,
    *,
    on: date,
    province_code: str | None = None,
    commune_ids: list[int] | None = None,
) -> dict[tuple[int | None, str], ProvinceTarget]:
    """Province targets in force on `on`, by (commune id or None for the whole province,
    indicator); of one province, or for these communes. Same precedence as targets_for."""
    statement = select(ProvinceTarget).where(
        ProvinceTarget.period_start <= on, ProvinceTarget.period_end >= on
    )
    if province_code is not None:
        statement = statement.where(ProvinceTarget.province_code == province_code)
    if commune_ids is not None:
        statement = statement.where(col(ProvinceTarget.commune_id).in_(commune_ids))
    rows = session.exec(
        statement.order_by(
            col(ProvinceTarget.period_start),
            col(ProvinceTarget.period_end).desc(),
            col(ProvinceTarget.id),
        )
    ).all()
    return {(target.commune_id, target.indicator): target for target in rows}


def is_from_province(target: Target | ProvinceTarget | None) -> bool:
    """Whether a target in force was set by the province (the commune set none of its own)."""
    return isinstance(target, ProvinceTarget)


def targets_in_period(
    session: Session, *, commune_id: int, period_start: date, period_end: date
) -> dict[tuple[int | None, str], Target]:
    """The commune's targets set for exactly this period, by (village id or None, indicator)."""
    rows = session.exec(
        select(Target).where(
            Target.commune_id == commune_id,
            Target.period_start == period_start,
            Target.period_end == period_end,
        )
    ).all()
    return {(target.village_id, target.indicator): target for target in rows}


# --- periods ---------------------------------------------------------------------------------

PRESETS = {"year": _("Năm nay"), "quarter": _("Quý này"), "month": _("Tháng này")}


def preset_period(preset: str, today: date) -> tuple[date, date]:
    """This year, quarter or month around `today` (Vietnam date), both ends inclusive."""
    if preset == "year":
        return date(today.year, 1, 1), date(today.year, 12, 31)
    if preset == "quarter":
        first_month = 3 * ((today.month - 1) // 3) + 1
        last_month = first_month + 2
        return (
            date(today.year, first_month, 1),
            date(today.year, last_month, calendar.monthrange(today.year, last_month)[1]),
        )
    if preset == "month":
        return (
            date(today.year, today.month, 1),
            date(today.year, today.month, calendar.monthrange(today.year, today.month)[1]),
        )
    raise ValueError(f"unknown period preset {preset!r}")


def parse_period(start: Any, end: Any) -> tuple[date, date]:
    """Two typed dates ("2026-01-01") as a period; Invalid with a message per field."""
    errors = forms.Collector()
    period_start = errors.field(
        "period_start", lambda: forms.calendar_date(start, label=_("ngày bắt đầu"))
    )
    period_end = errors.field(
        "period_end", lambda: forms.calendar_date(end, label=_("ngày kết thúc"))
    )
    if period_start is None and "period_start" not in errors.errors:
        errors.add("period_start", _("Vui lòng nhập ngày bắt đầu."))
    if period_end is None and "period_end" not in errors.errors:
        errors.add("period_end", _("Vui lòng nhập ngày kết thúc."))
    if period_start and period_end and period_start > period_end:
        errors.add("period_end", _("Ngày kết thúc phải từ ngày bắt đầu trở đi."))
    errors.raise_if_any()
    assert period_start is not None and period_end is not None
    return period_start, period_end


def parse_value(value: Any) -> int | None:
    """A target as typed: a whole number ≥ 0, or blank (no target). Invalid otherwise."""
    errors = forms.Collector()
    number = errors.field(
        "value", lambda: forms.integer(value, label=_("chỉ tiêu"), minimum=0, maximum=MAX_VALUE)
    )
    errors.raise_if_any()
    return number


# --- writing ---------------------------------------------------------------------------------


def _check(
    session: Session,
    member: Member,
    village_id: int | None,
    indicator: str,
    period_start: Any,
    period_end: Any,
) -> tuple[date, date]:
    policy.require_can_set_targets(member)
    errors: dict[str, str] = {}
    if indicator not in LABELS:
        errors["indicator"] = _("Chỉ số này không có trong danh sách chỉ tiêu.")
    if village_id is not None:
        village = session.get(Village, village_id)
        if village is None or village.commune_id != member.commune_id:
            errors["village_id"] = _("Thôn này không thuộc xã của bạn.")
    try:
        period = parse_period(period_start, period_end)
    except Invalid as invalid:
        errors.update(invalid.errors)
        period = None
    if errors:
        raise Invalid(errors)
    assert period is not None
    return period


def _find(
    session: Session,
    commune_id: int,
    village_id: int | None,
    indicator: str,
    period_start: date,
    period_end: date,
) -> Target | None:
    village = (
        col(Target.village_id).is_(None) if village_id is None else Target.village_id == village_id
    )
    return session.exec(
        select(Target).where(
            Target.commune_id == commune_id,
            village,
            Target.indicator == indicator,
            Target.period_start == period_start,
            Target.period_end == period_end,
        )
    ).first()


def _audit(
    session: Session,
    member: Member,
    now: datetime,
    *,
    village_id: int | None,
    indicator: str,
    period_start: date,
    period_end: date,
    old: int | None,
    new: int | None,
    target_id: int | None,
) -> None:
    audit.record(
        session,
        action="targets_changed",
        now=now,
        actor=member,
        target_kind="target",
        target_id=target_id,
        details={
            "village_id": village_id,
            "indicator": indicator,
            "period_start": period_start.isoformat(),
            "period_end": period_end.isoformat(),
            "old": old,
            "new": new,
        },
    )


def set_target(
    session: Session,
    *,
    member: Member,
    village_id: int | None,
    indicator: str,
    period_start: Any,
    period_end: Any,
    value: Any,
    now: datetime,
) -> Target:
    """Set (insert or update) the one target of the member's commune for this village (None:
    the whole commune), indicator and period. `value` is a whole number ≥ 0 (an int or as
    typed); dates are `date`s or ISO strings. Forbidden unless commune staff; Invalid with a
    message per field (indicator, village_id, period_start, period_end, value). A change is
    audit-logged; setting the same value again changes and logs nothing. Caller commits."""
    errors: dict[str, str] = {}
    try:
        start, end = _check(session, member, village_id, indicator, period_start, period_end)
    except Invalid as invalid:
        errors.update(invalid.errors)
    number = None
    try:
        number = parse_value(value)
        if number is None:
            errors.setdefault("value", _("Vui lòng nhập chỉ tiêu."))
    except Invalid as invalid:
        errors.update(invalid.errors)
    if errors:
        raise Invalid(errors)
    assert number is not None
    assert (
        member.commune_id is not None
    )  # commune staff (require_can_set_targets): province staff have none
    target = _find(session, member.commune_id, village_id, indicator, start, end)
    old = target.value if target is not None else None
    if target is None:
        target = Target(
            commune_id=member.commune_id,
            village_id=village_id,
            indicator=indicator,
            period_start=start,
            period_end=end,
            value=number,
        )
    elif target.value == number:
        return target
    target.value = number
    target.set_by_id = member.id
    target.updated_at = now
    session.add(target)
    session.flush()
    _audit(
        session,
        member,
        now,
        village_id=village_id,
        indicator=indicator,
        period_start=start,
        period_end=end,
        old=old,
        new=number,
        target_id=target.id,
    )
    return target


def clear_target(
    session: Session,
    *,
    member: Member,
    village_id: int | None,
    indicator: str,
    period_start: Any,
    period_end: Any,
    now: datetime,
) -> bool:
    """Remove the target for this village, indicator and period. True when one was removed
    (and audit-logged); False when there was none. Same checks as set_target. Caller
    commits."""
    start, end = _check(session, member, village_id, indicator, period_start, period_end)
    assert (
        member.commune_id is not None
    )  # commune staff (require_can_set_targets): province staff have none
    target = _find(session, member.commune_id, village_id, indicator, start, end)
    if target is None:
        return False
    _audit(
        session,
        member,
        now,
        village_id=village_id,
        indicator=indicator,
        period_start=start,
        period_end=end,
        old=target.value,
        new=None,
        target_id=target.id,
    )
    session.delete(target)
    session.flush()
    return True


def cell_name(village_id: int | None, indicator: str) -> str:
    """The form field of one grid cell: "t-<village id or commune>-<indicator>"."""
    return f"t-{'commune' if village_id is None else village_id}-{indicator}"


def save_grid(
    session: Session,
    *,
    member: Member,
    period_start: Any,
    period_end: Any,
    village_ids: list[int],
    values: Mapping[str, Any],
    now: datetime,
) -> int:
    """Save a whole grid of targets for one period, all or nothing: `values` maps
    cell_name(village, indicator) to what was typed; a blank cell clears its target. Checks
    every cell first; Invalid (messages keyed by cell name, or by period_start/period_end)
    before anything is written. Cells missing from `values` are left alone. Returns how many
    targets changed. Caller commits."""
    policy.require_can_set_targets(member)
    assert (
        member.commune_id is not None
    )  # commune staff (require_can_set_targets): province staff have none
    start, end = parse_period(period_start, period_end)
    columns: list[int | None] = [None, *village_ids]
    errors: dict[str, str] = {}
    wanted: dict[tuple[int | None, str], int | None] = {}
    for village_id in columns:
        for indicator in LABELS:
            name = cell_name(village_id, indicator)
            if name not in values:
                continue
            try:
                wanted[(village_id, indicator)] = parse_value(values[name])
            except Invalid as invalid:
                errors[name] = invalid.errors["value"]
    if errors:
        raise Invalid(errors)
    current = targets_in_period(
        session, commune_id=member.commune_id, period_start=start, period_end=end
    )
    changed = 0
    for (village_id, indicator), number in wanted.items():
        existing = current.get((village_id, indicator))
        if number is None:
            if existing is not None:
                clear_target(
                    session,
                    member=member,
                    village_id=village_id,
                    indicator=indicator,
                    period_start=start,
                    period_end=end,
                    now=now,
                )
                changed += 1
        elif existing is None or existing.value != number:
            set_target(
                session,
                member=member,
                village_id=village_id,
                indicator=indicator,
                period_start=start,
                period_end=end,
                value=number,
                now=now,
            )
            changed += 1
    return changed


def periods(session: Session, *, commune_id: int) -> list[tuple[date, date]]:
    """The periods the commune has targets for, the latest first."""
    rows = session.exec(
        select(col(Target.period_start), col(Target.period_end))
        .where(Target.commune_id == commune_id)
        .distinct()
        .order_by(col(Target.period_end).desc(), col(Target.period_start).desc())
    ).all()
    return [(start, end) for start, end in rows]


# --- Province targets (issue 14) ----------------------------------------------------------


def province_cell_name(commune_id: int | None, indicator: str) -> str:
    """The form field of one cell of the province's grid: "p-<commune id or province>-<key>"."""
    return f"p-{'province' if commune_id is None else commune_id}-{indicator}"


def province_targets_in_period(
    session: Session, *, province_code: str, period_start: date, period_end: date
) -> dict[tuple[int | None, str], ProvinceTarget]:
    """The province's targets set for exactly this period, by (commune id or None, indicator)."""
    rows = session.exec(
        select(ProvinceTarget).where(
            ProvinceTarget.province_code == province_code,
            ProvinceTarget.period_start == period_start,
            ProvinceTarget.period_end == period_end,
        )
    ).all()
    return {(target.commune_id, target.indicator): target for target in rows}


def province_periods(session: Session, *, province_code: str) -> list[tuple[date, date]]:
    """The periods the province has targets for, the latest first."""
    rows = session.exec(
        select(col(ProvinceTarget.period_start), col(ProvinceTarget.period_end))
        .where(ProvinceTarget.province_code == province_code)
        .distinct()
        .order_by(col(ProvinceTarget.period_end).desc(), col(ProvinceTarget.period_start).desc())
    ).all()
    return [(start, end) for start, end in rows]


def save_province_grid(
    session: Session,
    *,
    member: Member,
    period_start: Any,
    period_end: Any,
    values: Mapping[str, Any],
    now: datetime,
) -> int:
    """Save the province's grid of targets for one period, all or nothing: `values` maps
    province_cell_name(commune, indicator) to what was typed (a whole number ≥ 0); a blank
    cell clears its target; cells missing are left alone. Only the communes of the member's
    province have cells. Checks every cell first; Invalid (messages keyed by cell name, or by
    period_start / period_end) before anything is written. Forbidden unless province staff.
    Each change is audit-logged. Returns how many targets changed. Caller commits."""
    province_code = policy.require_can_set_province_targets(member)
    start, end = parse_period(period_start, period_end)
    commune_ids = session.exec(
        select(Commune.id).where(Commune.province_code == province_code)
    ).all()
    errors: dict[str, str] = {}
    wanted: dict[tuple[int | None, str], int | None] = {}
    for commune_id in [None, *commune_ids]:
        for indicator in LABELS:
            name = province_cell_name(commune_id, indicator)
            if name not in values:
                continue
            try:
                wanted[(commune_id, indicator)] = parse_value(values[name])
            except Invalid as invalid:
                errors[name] = invalid.errors["value"]
    if errors:
        raise Invalid(errors)
    current = province_targets_in_period(
        session, province_code=province_code, period_start=start, period_end=end
    )
    changed = 0
    for (commune_id, indicator), number in sorted(
        wanted.items(), key=lambda item: (item[0][0] or 0, item[0][1])
    ):
        existing = current.get((commune_id, indicator))
        if number is None and existing is None:
            continue
        if existing is not None and existing.value == number:
            continue
        old = existing.value if existing is not None else None
        if number is None:
            session.delete(existing)
        elif existing is None:
            existing = ProvinceTarget(
                province_code=province_code,
                commune_id=commune_id,
                indicator=indicator,
                period_start=start,
                period_end=end,
                value=number,
                set_by_id=member.id,
                updated_at=now,
            )
            session.add(existing)
        else:
            existing.value = number
            existing.set_by_id = member.id
            existing.updated_at = now
            session.add(existing)
        session.flush()
        audit.record(
            session,
            action="targets_changed",
            now=now,
            actor=member,
            # The commune's own log shows what the province expects of it.
            commune_id=commune_id,
            target_kind="province_target",
            target_id=existing.id if existing is not None and number is not None else None,
            details={
                "province": province_code,
                "commune_id": commune_id,
                "indicator": indicator,
                "period_start": start.isoformat(),
                "period_end": end.isoformat(),
                "old": old,
                "new": number,
            },
        )
        changed += 1
    return changed
