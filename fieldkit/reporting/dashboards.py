"""What the village dashboard, the weekly report and the Zalo summary show beyond
fieldkit.reporting.indicators (issue 5, DESIGN.md §6): numbers per volunteer, per ISO week,
and the short text a leader shares. Reads only; imports no Flask.

Every figure is a `Count(approved, pending)` as in fieldkit.reporting.indicators: approved
when the visit, its household (and for a line, the resident) are approved; pending for
records still waiting (pending or returned); rejected records never count.

So that the numbers a leader sees add up, a reached household and a resident at VNeID level 1
are each credited **once**: to the volunteer and the week of the first counted visit (or line)
that reached them. Approved, as in indicators, when any approved visit (line) says so. Hence
the per-volunteer rows sum to the village's "Hộ đã tiếp cận", and the weeks since the first
visit sum to it too. Visits and assistance lines are counted one by one and sum as well.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from fieldkit import forms, policy
from fieldkit.errors import Invalid
from fieldkit.i18n import _
from fieldkit.models import (
    Assistance,
    Household,
    Member,
    Outcome,
    ProvinceTarget,
    Reason,
    Result,
    ReviewState,
    Target,
    Village,
    Visit,
)
from fieldkit.reporting.indicators import (
    COUNTED,
    DAY,
    LABELS,
    RESIDENT_INDICATORS,
    WEEK,
    Count,
    VillageIndicators,
    activity_sums,
    assistance_lines,
    flag,
    line_approved,
    member_sums,
)
from fieldkit.reporting.targets import Progress, is_from_province, progress
from fieldkit.text import sort_key

LEVEL1 = RESIDENT_INDICATORS["vneid_level1"]
WEEKS_SHOWN = 8


def _count(n_approved, n_all) -> Count:
    n_approved, n_all = int(n_approved or 0), int(n_all or 0)
    return Count(n_approved, n_all - n_approved)


def _sum(counts) -> Count:
    counts = list(counts)
    return Count(sum(c.approved for c in counts), sum(c.pending for c in counts))


# --- ISO weeks, Vietnam time -----------------------------------------------------------------


@dataclass(frozen=True)
class Week:
    """One ISO week (Monday to Sunday, Vietnam calendar)."""

    year: int
    number: int

    @classmethod
    def of(cls, day: date) -> Week:
        year, number, _unused = day.isocalendar()
        return cls(year, number)

    @classmethod
    def parse(cls, text: str | None, *, today: date) -> Week:
        """ "2026-W47" (or "2026-w47", "2026W47"); empty means this week. Raises Invalid with a
        Vietnamese message for anything else (fieldkit.forms.iso_week: ASCII digits, years
        1900…2200), or a week after this one."""
        parsed = forms.field_value(lambda: forms.iso_week(text), field="week")
        if parsed is None:
            return cls.of(today)
        week = cls(*parsed)
        if week.monday > today:
            raise Invalid({"week": _("Tuần này chưa bắt đầu.")})
        return week

    @property
    def monday(self) -> date:
        return date.fromisocalendar(self.year, self.number, 1)

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def since(self) -> datetime:
        return datetime.combine(self.monday, time.min, forms.VN_TZ)

    @property
    def until(self) -> datetime:
        return datetime.combine(self.monday + timedelta(days=7), time.min, forms.VN_TZ)

    @property
    def iso(self) -> str:
        return f"{self.year}-W{self.number:02d}"

    @property
    def label(self) -> str:
        return _("Tuần %(number)s", number=self.number)

    @property
    def days(self) -> str:
        return f"{self.monday:%d/%m}–{self.sunday:%d/%m/%Y}"

    def previous(self, n: int = 1) -> Week:
        return Week.of(self.monday - timedelta(weeks=n))

    def next(self) -> Week:
        return Week.of(self.monday + timedelta(weeks=1))


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, forms.VN_TZ)
    return start, start + timedelta(days=1)


# --- first reach: one row per household / resident, credited once -----------------------------


def _first_reach(village_id: int):
    """Per household of the village reached by a counted "met" visit: the first such visit's
    volunteer and time, and whether any approved visit reached it."""
    approved = sa.and_(
        col(Visit.review_state) == ReviewState.approved,
        col(Household.review_state) == ReviewState.approved,
    )
    order = (col(Visit.visited_at), col(Visit.id))
    by_household = col(Visit.household_id)
    return (
        select(
            col(Visit.volunteer_id).label("volunteer_id"),
            col(Visit.visited_at).label("visited_at"),
            func.row_number().over(partition_by=by_household, order_by=order).label("rank"),
            func.max(flag(approved)).over(partition_by=by_household).label("approved"),
        )
        .join(Household, col(Household.id) == Visit.household_id)
        .where(
            Household.village_id == village_id,
            col(Household.review_state).in_(COUNTED),
            col(Visit.review_state).in_(COUNTED),
            Visit.outcome == Outcome.met,
        )
        .subquery()
    )


def _first_level1(village_id: int):
    """Per resident of the village with a counted VNeID level-1 line: the first such line's
    visit time and volunteer, and whether any approved line says so."""
    code, results = LEVEL1
    order = (col(Visit.visited_at), col(Assistance.id))
    return (
        assistance_lines(
            [
                col(Visit.volunteer_id).label("volunteer_id"),
                col(Visit.visited_at).label("visited_at"),
                func.row_number()
                .over(partition_by=col(Assistance.resident_id), order_by=order)
                .label("rank"),
                func.max(flag(line_approved()))
                .over(partition_by=col(Assistance.resident_id))
                .label("approved"),
            ],
            Household.village_id == village_id,
            None,
            None,
        )
        .where(Assistance.service_code == code, col(Assistance.result).in_(results))
        .subquery()
    )


@dataclass(frozen=True)
class Firsts:
    """Who first reached each household, and first brought each resident to VNeID level 1,
    when, and whether it counts as approved (one row per household / resident, credited once:
    see the module's docstring), counted from the visits and lines: for a period's numbers
    (the weekly print view) and as the reference the kept tallies are tested against."""

    reach: list[tuple[int, datetime, int]]  # (volunteer id, visited at, approved 0/1)
    level1: list[tuple[int, datetime, int]]


def firsts(session: Session, *, village_id: int) -> Firsts:
    rows = []
    for first in (_first_reach(village_id), _first_level1(village_id)):
        rows.append(
            [
                (volunteer_id, visited_at, int(approved or 0))
                for volunteer_id, visited_at, approved in session.exec(
                    select(first.c.volunteer_id, first.c.visited_at, first.c.approved).where(
                        first.c.rank == 1
                    )
                ).all()
            ]
        )
    return Firsts(reach=rows[0], level1=rows[1])


def _tally(rows, key, since: datetime | None = None, until: datetime | None = None) -> dict:
    """Count(approved, pending) of `rows` (volunteer, time, approved) by key(row), for the
    rows with since <= time < until."""
    found: dict = {}
    for row in rows:
        at = row[1]
        if (since is not None and at < since) or (until is not None and at >= until):
            continue
        approved, total = found.get(key(row), (0, 0))
        found[key(row)] = (approved + row[2], total + 1)
    return {name: _count(ok, n) for name, (ok, n) in found.items()}


def _between(column, since: datetime | None, until: datetime | None) -> list:
    conditions = []
    if since is not None:
        conditions.append(column >= since)
    if until is not None:
        conditions.append(column < until)
    return conditions


def _visits_base(village_id: int):
    return (
        sa.select()
        .select_from(Visit)
        .join(Household, col(Household.id) == Visit.household_id)
        .where(
            col(Household.village_id) == village_id,
            col(Household.review_state).in_(COUNTED),
            col(Visit.review_state).in_(COUNTED),
        )
    )


def _visit_approved() -> sa.ColumnElement:
    return flag(
        sa.and_(
            col(Visit.review_state) == ReviewState.approved,
            col(Household.review_state) == ReviewState.approved,
        )
    )


# --- per volunteer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class VolunteerRow:
    """One person's work in a village. `member_id` None is the "not assigned" row: households
    without a volunteer (it has no visits)."""

    member_id: int | None
    name: str
    leads: bool  # the village's team leader (tổ trưởng)
    assigned: int = 0  # households assigned now (not rejected)
    visits: Count = Count()
    reached: Count = Count()  # households this person reached first
    lines_done: Count = Count()  # assistance lines with result "done"


@dataclass(frozen=True)
class VolunteerTable:
    rows: list[VolunteerRow]
    total: VolunteerRow  # "Cả thôn": the sum of the rows


def per_volunteer(
    session: Session,
    *,
    village_id: int,
    since: datetime | None = None,
    until: datetime | None = None,
    recount: bool = False,
) -> VolunteerTable:
    """The village's volunteers and leaders (active ones, and anyone who visited there), by
    name, with the households assigned to them now and their visits, first reaches and lines
    done within `since <= visited_at < until`. A last row holds the households assigned to
    nobody. Each column of `total` is the sum of the rows.

    All time (no period): the member: tallies kept beside the indicators, read in one query.
    For a period (the weekly print view), or with `recount`: counted from the visits and lines
    (three grouped queries and the village's Firsts) — the reference the kept tallies are
    tested against."""
    assigned = {
        member_id: int(n)
        for member_id, n in session.exec(
            select(Household.assigned_volunteer_id, func.count())
            .where(Household.village_id == village_id, col(Household.review_state).in_(COUNTED))
            .group_by(col(Household.assigned_volunteer_id))
        ).all()
    }
    if since is None and until is None and not recount:
        kept = member_sums(session, village_id)
        visits, reached, lines = (
            {member_id: count for (member_id, what), count in kept.items() if what == name}
            for name in ("visits", "reached", "lines_done")
        )
    else:
        visits, reached, lines = _counted_per_volunteer(session, village_id, since, until)

    worked = {i for i in (*assigned, *visits, *reached, *lines) if i is not None}
    people = session.exec(
        select(Member).where(
            sa.or_(
                sa.and_(
                    col(Member.village_id) == village_id,
                    col(Member.active).is_(True),
                    policy.field_members(),
                ),
                col(Member.id).in_(worked or {-1}),
            )
        )
    ).all()
    rows = []
    for person in sorted(people, key=lambda p: sort_key(p.name)):
        assert person.id is not None  # a stored member
        rows.append(
            VolunteerRow(
                member_id=person.id,
                name=person.name,
                leads=policy.leads_team(person),
                assigned=assigned.get(person.id, 0),
                visits=visits.get(person.id, Count()),
                reached=reached.get(person.id, Count()),
                lines_done=lines.get(person.id, Count()),
            )
        )
    rows.append(
        VolunteerRow(
            member_id=None, name=_("Chưa phân công"), leads=False, assigned=assigned.get(None, 0)
        )
    )
    total = VolunteerRow(
        member_id=None,
        name=_("Cả thôn"),
        leads=False,
        assigned=sum(row.assigned for row in rows),
        visits=_sum(row.visits for row in rows),
        reached=_sum(row.reached for row in rows),
        lines_done=_sum(row.lines_done for row in rows),
    )
    return VolunteerTable(rows=rows, total=total)


def _counted_per_volunteer(session: Session, village_id: int, since, until):
    visits = {
        member_id: _count(ok, n)
        for member_id, ok, n in session.exec(
            _visits_base(village_id)
            .add_columns(Visit.volunteer_id, func.sum(_visit_approved()), func.count())
            .where(*_between(Visit.visited_at, since, until))
            .group_by(Visit.volunteer_id)
        ).all()
    }
    known = firsts(session, village_id=village_id)
    reached = _tally(known.reach, lambda row: row[0], since, until)
    lines = {
        member_id: _count(ok, n)
        for member_id, ok, n in session.exec(
            assistance_lines(
                [Visit.volunteer_id, func.sum(flag(line_approved())), func.count()],
                Household.village_id == village_id,
                since,
                until,
            )
            .where(Assistance.result == Result.done)
            .group_by(Visit.volunteer_id)
        ).all()
    }
    return visits, reached, lines


def volunteer_households(session: Session, *, village_id: int, member_id: int) -> list[Household]:
    """The households of the village assigned to this person now (not rejected), by label."""
    households = session.exec(
        select(Household).where(
            Household.village_id == village_id,
            Household.assigned_volunteer_id == member_id,
            col(Household.review_state).in_(COUNTED),
        )
    ).all()
    return sorted(households, key=lambda h: sort_key(h.label))


def recent_visits(
    session: Session, *, village_id: int, member_id: int, limit: int = 20
) -> list[tuple[Visit, Household]]:
    """This person's latest visits in the village (rejected ones too: they are theirs to
    know), newest first."""
    return list(
        session.exec(
            select(Visit, Household)
            .join(Household, col(Household.id) == Visit.household_id)
            .where(Household.village_id == village_id, Visit.volunteer_id == member_id)
            .order_by(col(Visit.visited_at).desc(), col(Visit.id).desc())
            .limit(limit)
        ).all()
    )


# --- per week ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekRow:
    week: Week
    visits: Count = Count()
    reached: Count = Count()  # households first reached that week
    vneid_level1: Count = Count()  # residents first at VNeID level 1 that week


def per_week(
    session: Session, *, village_id: int, last: Week, weeks: int = WEEKS_SHOWN
) -> list[WeekRow]:
    """The `weeks` ISO weeks ending with `last`, oldest first: the week: tallies kept beside
    the indicators (visits made that week; households and residents credited to the week
    they were first reached), read in one query."""
    shown = [last.previous(n) for n in range(weeks - 1, -1, -1)]
    names = {"visits": "visits", "reached": "reached", "vneid_level1": "level1"}
    kept = activity_sums(
        session,
        [village_id],
        [f"{WEEK}{week.iso}:{key}" for week in shown for key in names.values()],
    )
    return [
        WeekRow(
            week=week,
            **{
                name: kept.get((village_id, f"{WEEK}{week.iso}:{key}"), Count())
                for name, key in names.items()
            },
        )
        for week in shown
    ]


def count_weeks(
    session: Session, *, village_id: int, last: Week, weeks: int = WEEKS_SHOWN
) -> list[WeekRow]:
    """per_week counted from the visits and lines: one grouped query over the weeks' visits,
    each falling in one week bucket (a CASE on the week starts, the same in SQLite and
    PostgreSQL); each household and resident in the week it was first reached (the village's
    Firsts). The reference the kept tallies are tested against."""
    shown = [last.previous(n) for n in range(weeks - 1, -1, -1)]

    def bucket(column):
        return sa.case(
            *[(column >= week.since, index) for index, week in reversed(list(enumerate(shown)))],
            else_=-1,
        )

    period = (shown[0].since, last.until)
    found: dict[str, dict[int, Count]] = {}
    when = bucket(Visit.visited_at).label("bucket")
    found["visits"] = {
        index: _count(ok, n)
        for index, ok, n in session.exec(
            _visits_base(village_id)
            .add_columns(when, func.sum(_visit_approved()), func.count())
            .where(*_between(Visit.visited_at, *period))
            .group_by(when)
        ).all()
    }
    known = firsts(session, village_id=village_id)
    starts = [week.since for week in shown]

    def week_of(row) -> int:
        return bisect_right(starts, row[1]) - 1

    found["reached"] = _tally(known.reach, week_of, *period)
    found["vneid_level1"] = _tally(known.level1, week_of, *period)
    return [
        WeekRow(week=week, **{name: found[name].get(index, Count()) for name in found})
        for index, week in enumerate(shown)
    ]


# --- what a village looks like today --------------------------------------------------------


def follow_ups_due(session: Session, *, village_id: int, on: date) -> int:
    """Households (not rejected) whose follow-up date is `on` (hẹn quay lại hôm nay)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(Household)
            .where(
                Household.village_id == village_id,
                Household.follow_up_on == on,
                col(Household.review_state).in_(COUNTED),
            )
        ).one()
    )


def follow_up_households(session: Session, *, village_id: int, until: date) -> list[Household]:
    """Households (not rejected) with a follow-up date on or before `until`, soonest first."""
    return list(
        session.exec(
            select(Household)
            .where(
                Household.village_id == village_id,
                col(Household.follow_up_on).is_not(None),
                col(Household.follow_up_on) <= until,
                col(Household.review_state).in_(COUNTED),
            )
            .order_by(col(Household.follow_up_on), Household.label)
        ).all()
    )


def percent(part: int, whole: int) -> int | None:
    """Whole percent, rounded half up; None when there is no whole."""
    if whole <= 0:
        return None
    return (200 * part + whole) // (2 * whole)


def new_today(session: Session, *, village_id: int, today: date) -> Count:
    """Households first reached today (the last bucket of the Zalo summary): a kept tally."""
    key = f"{DAY}{today.isoformat()}:reached"
    return activity_sums(session, [village_id], [key]).get((village_id, key), Count())


@dataclass(frozen=True)
class ShareNumbers:
    """What the summary says: the village now, and what is new this week and today. Because
    a household (resident) is credited to the week of its first reach, "new this week" is
    exactly now minus before the week began — without counting the village twice more."""

    now: VillageIndicators
    this_week: WeekRow
    reached_today: Count


def share_text(
    *, village: Village, week: Week, numbers: ShareNumbers, follow_ups_today: int
) -> str:
    """A short plain-Vietnamese summary for the team's Zalo group. Every figure counts what
    was reached so far, pending included (each household or resident once), and says how many
    of them still wait for review; "+n" is what is new this week / today."""
    now = numbers.now
    households = now.households.total
    reached = now.reached.total
    share = percent(reached, households)
    share_part = f" ({share}%)" if share is not None else ""
    parts = [
        _(
            "%(name)s – tuần %(number)s (%(monday)s–%(sunday)s):",
            name=village.name,
            number=week.number,
            monday=f"{week.monday:%d/%m}",
            sunday=f"{week.sunday:%d/%m}",
        ),
        _(
            (
                "• Đã tiếp cận %(reached)s/%(households)s hộ%(share_part)s; tuần này +%(total)s, "
                "hôm nay +%(total2)s."
            ),
            reached=reached,
            households=households,
            share_part=share_part,
            total=numbers.this_week.reached.total,
            total2=numbers.reached_today.total,
        ),
        _(
            (
                "• VNeID mức 1: %(total)s người (+%(total2)s tuần này); kích hoạt: %(total3)s; "
                "chuyển công an mức 2: %(total4)s."
            ),
            total=now.vneid_level1.total,
            total2=numbers.this_week.vneid_level1.total,
            total3=now.vneid_activated.total,
            total4=now.vneid_level2_referred.total,
        ),
        _(
            (
                "• Đăng nhập Cổng DVCQG: %(total)s; hồ sơ trực tuyến: %(total2)s; tài khoản "
                "thanh toán: %(total3)s."
            ),
            total=now.dvcqg_logins.total,
            total2=now.online_procedures.total,
            total3=now.payment_accounts.total,
        ),
        _("• Hẹn quay lại hôm nay: %(follow_ups_today)s hộ.", follow_ups_today=follow_ups_today),
        _(
            "(Gồm %(pending)s hộ và %(pending2)s người VNeID đang chờ xã duyệt.)",
            pending=now.reached.pending,
            pending2=now.vneid_level1.pending,
        ),
    ]
    return "\n".join(parts)


# --- indicators with their targets, and the commune's table -------------------------------


@dataclass(frozen=True)
class Line:
    """One indicator as a page shows it: the count, and progress of the APPROVED number
    against the target in force (None without a target)."""

    key: str
    label: str
    count: Count
    progress: Progress | None = None
    # The target is the province's (the commune set none of its own for it): issue 14.
    from_province: bool = False


def lines(
    values: VillageIndicators,
    targets: Mapping[tuple[int | None, str], Target | ProvinceTarget],
    *,
    village_id: int | None,
    keys: Sequence[str] = tuple(LABELS),
) -> list[Line]:
    """The indicators `keys` of one village (or of the commune, `village_id` None), in the
    order given, each with its target's progress."""
    return [
        Line(
            key=key,
            label=LABELS[key],
            count=getattr(values, key),
            progress=progress(getattr(values, key).approved, targets.get((village_id, key))),
            from_province=is_from_province(targets.get((village_id, key))),
        )
        for key in keys
    ]


def commune_total(rows: Sequence[VillageIndicators], name: str = _("Cả xã")) -> VillageIndicators:
    """The sum of the villages' rows, indicator by indicator and reason by reason."""
    reasons: dict[Reason, Count] = {}
    for row in rows:
        for reason, count in row.failure_reasons.items():
            reasons[reason] = _sum([reasons.get(reason, Count()), count])
    return VillageIndicators(
        village_id=0,
        village_name=name,
        failure_reasons=reasons,
        **{key: _sum(getattr(row, key) for row in rows) for key in LABELS},
    )


SORTS = ("name", "coverage", *LABELS)


def coverage_percent(values: VillageIndicators) -> int | None:
    """Approved households reached, as a share of approved households."""
    return percent(values.reached.approved, values.households.approved)


def sort_villages(
    rows: Sequence[VillageIndicators], *, by: str, descending: bool
) -> list[VillageIndicators]:
    """Villages sorted by name (Vietnamese order), coverage % or an indicator's approved
    number; ties by name. An unknown `by` sorts by name."""
    if by not in SORTS:
        by = "name"
    by_name = sorted(rows, key=lambda row: sort_key(row.village_name))
    if by == "name":
        return by_name[::-1] if descending else by_name
    if by == "coverage":

        def value(row):
            return coverage_percent(row) or 0
    else:

        def value(row):
            return getattr(row, by).approved

    return sorted(by_name, key=value, reverse=descending)


# --- the commune overview -------------------------------------------------------------------
# Commune staff's page of all villages side by side (pwa/routes/villages.py), which province
# staff also open, read-only, for a commune of their province (pwa/routes/province.py).

FUNNEL = ("vneid_level1", "vneid_activated", "vneid_level2_referred", "vneid_level2_done")
SERVICES = (
    "dvcqg_logins",
    "online_procedures",
    "payment_accounts",
    "health_books",
    "digital_literacy",
    "smartphone_households",
    "internet_households",
)
OVERVIEW_COLUMNS = ("households", "reached", *FUNNEL, *SERVICES)


@dataclass(frozen=True)
class CommuneOverview:
    """Every village of a commune with its indicators (OVERVIEW_COLUMNS, each with the
    village's target in force) and coverage %, sorted; the commune's total ("Cả xã") with the
    commune-wide targets (its own, else the province's); the coverage chart by village."""

    rows: list[tuple[VillageIndicators, list[Line], int | None]]
    total: VillageIndicators
    total_lines: list[Line]
    total_coverage: int | None
    chart: str


def commune_overview(
    session: Session, *, commune_id: int, today: date, sort: str = "name", descending: bool = False
) -> CommuneOverview:
    """The commune overview's numbers: one read of the pre-aggregated village rows, the
    targets in force on `today`. Reads only."""
    from fieldkit.policy import Scope
    from fieldkit.reporting import charts, targets
    from fieldkit.reporting.indicators import village_indicators

    villages = village_indicators(session, scope=Scope(commune_id=commune_id, village_id=None))
    total = commune_total(villages)
    in_force = targets.targets_for(session, commune_id=commune_id, on=today)
    rows = [
        (
            row,
            lines(row, in_force, village_id=row.village_id, keys=OVERVIEW_COLUMNS),
            coverage_percent(row),
        )
        for row in sort_villages(villages, by=sort, descending=descending)
    ]
    chart = charts.coverage(
        _("Tỷ lệ hộ đã tiếp cận theo thôn (đã duyệt)"),
        [
            charts.Share(row.village_name, row.reached.approved, row.households.approved)
            for row, _lines, _coverage in rows
        ],
    )
    return CommuneOverview(
        rows=rows,
        total=total,
        total_lines=lines(total, in_force, village_id=None, keys=OVERVIEW_COLUMNS),
        total_coverage=coverage_percent(total),
        chart=chart,
    )
