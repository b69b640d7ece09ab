"""Đề án 06 indicators per village for leaders and the commune (DESIGN.md §6).

Every indicator is a `Count(approved, pending)`:

- `approved` counts only approved records: the visit is approved, and so are the household it
  went to and (for a resident indicator) the resident. These are the numbers sent upward.
- `pending` counts what is reached only through records still waiting for review (pending, or
  returned to the volunteer for a fix) — never a household or resident already counted as
  approved. So `approved + pending` is everything reached so far, each household or resident
  once.
- Rejected visits, households and residents never count anywhere.

Visit-based indicators can be limited to visits with `since <= visited_at < until`; household
totals and household facts (smartphone, internet) are the state of the village now.

Speed: each household's share of every indicator is kept counted in HouseholdProgress
(refresh_progress, run by households.refresh_summary() and on any review-state change), so a
commune's numbers are one grouped query over an index, not a pass over every visit and line.
The counting rules below are written once and used both to count a village from scratch
(`recount`, and period-limited numbers) and to count one household's share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, func, select

from fieldkit import followups, forms
from fieldkit.i18n import _
from fieldkit.models import (
    Assistance,
    Household,
    HouseholdEdit,
    HouseholdProgress,
    Outcome,
    Reason,
    Resident,
    Result,
    ReviewState,
    Village,
    VillageProgress,
    Visit,
)
from fieldkit.policy import Scope
from fieldkit.text import sort_key

# Review states of records that still count as "pending" (chờ duyệt or trả lại để sửa).
OPEN = (ReviewState.pending, ReviewState.returned)
COUNTED = (ReviewState.approved, *OPEN)


@dataclass(frozen=True)
class Count:
    """Approved, and pending beside it (labelled). `total` = approved + pending."""

    approved: int = 0
    pending: int = 0

    @property
    def total(self) -> int:
        return self.approved + self.pending


# Resident indicators: name → (service code, results that count). A resident counts once per
# indicator however many lines or visits say so.
RESIDENT_INDICATORS: dict[str, tuple[str, tuple[Result, ...]]] = {
    "vneid_level1": ("vneid_level1", (Result.done, Result.partial)),
    "vneid_activated": ("vneid_activate", (Result.done,)),
    "vneid_level2_referred": ("vneid_level2", (Result.referred, Result.done)),
    "vneid_level2_done": ("vneid_level2", (Result.done,)),
    "dvcqg_logins": ("dvcqg_login", (Result.done,)),
    "payment_accounts": ("payment_account", (Result.done,)),
    "health_books": ("health_book", (Result.done,)),
    "digital_literacy": ("digital_literacy", (Result.done,)),
}
# What each indicator is called on pages, files and targets, in the order they are shown.
# REVIEWED are counted record by record (approved, with pending beside them); FACTS are
# household facts (pending always 0).
REVIEWED = {
    "households": _("Số hộ"),
    "reached": _("Hộ đã tiếp cận"),
    "vneid_level1": _("VNeID mức 1"),
    "vneid_activated": _("Kích hoạt VNeID"),
    "vneid_level2_referred": _("Chuyển công an mức 2"),
    "vneid_level2_done": _("Đã mức 2"),
    "dvcqg_logins": _("Đăng nhập Cổng DVCQG"),
    "online_procedures": _("Hồ sơ DVC trực tuyến"),
    "payment_accounts": _("Tài khoản thanh toán"),
    "health_books": _("Sổ sức khỏe điện tử"),
    "digital_literacy": _("Bình dân học vụ số"),
}
FACTS = {
    "smartphone_households": _("Hộ có điện thoại thông minh"),
    "internet_households": _("Hộ có Internet"),
}
LABELS = {**REVIEWED, **FACTS}

# A household's records waiting for commune staff (chờ duyệt) and sent back to the field (trả
# lại): the household itself if proposed from the field, its visits, residents and edits. Kept
# beside the indicators (in `approved`), so the province overview reads every commune's review
# backlog from VillageProgress instead of a pass over millions of visits (issue 14).
REVIEW_PENDING = "review:pending"
REVIEW_RETURNED = "review:returned"

# The village dashboard's and the province week's figures, kept beside the indicators too (in
# `approved` / `pending` as everywhere), so that a village of thousands of visits is read in a
# few rows rather than counted again on every page (fieldkit.reporting.dashboards):
#   week:<ISO week>:visits   counted visits made that week (Vietnam time)
#   week:<ISO week>:reached  the household, in the week it was first reached by a "met" visit
#   week:<ISO week>:level1   residents first at VNeID level 1 that week
#   day:<date>:reached       the household, on the day it was first reached
#   member:<id>:visits | reached | lines_done   the same credited to the person who visited
# A household or resident first reached is credited once, approved when any approved visit
# (line) reached it — the rule fieldkit.reporting.dashboards explains.
WEEK, DAY, BY_MEMBER = "week:", "day:", "member:"

# Online procedures are counted as lines (each is one dossier filed), not as residents.
PROCEDURE_SERVICE = "online_procedure"
PROCEDURE_RESULTS = (Result.done, Result.partial)


@dataclass(frozen=True)
class VillageIndicators:
    """The indicators of one village. Definitions (all as Count(approved, pending)):

    - households: households of the village, not rejected; approved = approved households,
      pending = households proposed from the field and not yet approved (pending or returned).
    - reached: households with at least one visit whose outcome is "met" (gặp); a household
      visited twice counts once, as approved if any such visit is approved.
    - vneid_level1: residents with a `vneid_level1` line done or partial (installed, level 1).
    - vneid_activated: residents with a `vneid_activate` line done.
    - vneid_level2_referred: residents with a `vneid_level2` line referred or done (so it
      includes vneid_level2_done: the funnel only narrows).
    - vneid_level2_done: residents with a `vneid_level2` line done.
    - dvcqg_logins: residents with a `dvcqg_login` line done.
    - online_procedures: `online_procedure` lines done or partial — lines, not residents: two
      dossiers filed for one resident count two.
    - payment_accounts, health_books, digital_literacy: residents with a `payment_account`,
      `health_book`, `digital_literacy` line done.
    - smartphone_households, internet_households: approved households whose recorded facts say
      smartphones > 0, internet at home. Facts, not reviews: pending is always 0.
    - failure_reasons: reason → lines with result failed (lines, not residents; a line with no
      reason is not counted). Only reasons that occur are keys.

    A resident indicator counts a resident once; approved when at least one approved line
    (approved visit, household and resident) says so, otherwise pending.
    """

    village_id: int
    village_name: str
    households: Count = Count()
    reached: Count = Count()
    vneid_level1: Count = Count()
    vneid_activated: Count = Count()
    vneid_level2_referred: Count = Count()
    vneid_level2_done: Count = Count()
    dvcqg_logins: Count = Count()
    online_procedures: Count = Count()
    payment_accounts: Count = Count()
    health_books: Count = Count()
    digital_literacy: Count = Count()
    smartphone_households: Count = Count()
    internet_households: Count = Count()
    failure_reasons: dict[Reason, Count] = field(default_factory=dict)


def flag(condition) -> sa.ColumnElement:
    """1 where the condition holds, else 0: summed, it counts."""
    return sa.case((condition, 1), else_=0)


def _in_period(statement, since: datetime | None, until: datetime | None):
    if since is not None:
        statement = statement.where(Visit.visited_at >= since)
    if until is not None:
        statement = statement.where(Visit.visited_at < until)
    return statement


def villages_in(session: Session, scope: Scope) -> list[Village]:
    """The villages a scope covers, in Vietnamese alphabetical order ("Thôn Đông" before
    "Thôn Tây": the database's byte order would put Đ after T)."""
    statement = select(Village).where(Village.commune_id == scope.commune_id)
    if scope.village_id is not None:
        statement = statement.where(Village.id == scope.village_id)
    villages = session.exec(statement.order_by(col(Village.id))).all()
    return sorted(villages, key=lambda village: sort_key(village.name))


def village_indicators(
    session: Session, *, scope: Scope, since: datetime | None = None, until: datetime | None = None
) -> list[VillageIndicators]:
    """One row per village in `scope` (by name), villages without any record included with
    zeros. Visit-based indicators count visits with `since <= visited_at < until` (either bound
    optional, aware datetimes). Reads only. See VillageIndicators for every definition.

    Without a period, one read of the pre-aggregated VillageProgress rows (kept by
    refresh_progress; a few rows per village). With a period, the households and their facts
    still come from there, and the visit-based indicators are counted from the period's
    visits (grouped queries over ix_visit_visited_at)."""
    villages = villages_in(session, scope)
    if not villages:
        return []
    village_ids = [village.id for village in villages if village.id is not None]  # stored: all
    counted = _stored(session, village_ids)
    if since is not None or until is not None:
        fresh = _count(
            session,
            Household.village_id,
            col(Household.village_id).in_(village_ids),
            since,
            until,
            households=False,
        )
        for village_id in village_ids:
            kept = {
                key: value
                for key, value in counted.get(village_id, {}).items()
                if key in _HOUSEHOLD_KEYS
            }
            counted[village_id] = {**kept, **fresh.get(village_id, {})}
    return [_indicators(village, counted) for village in villages]


def recount(
    session: Session, *, scope: Scope, since: datetime | None = None, until: datetime | None = None
) -> list[VillageIndicators]:
    """village_indicators counted from scratch over visits and lines, without the
    pre-aggregate. The reference the fast path is tested against."""
    villages = villages_in(session, scope)
    counted = _count(
        session,
        Household.village_id,
        col(Household.village_id).in_([village.id for village in villages]),
        since,
        until,
    )
    return [_indicators(village, counted) for village in villages]


_HOUSEHOLD_KEYS = ("households", "smartphone_households", "internet_households")
_FAILED = "failed:"


def summary_keys() -> list[str]:
    """The VillageProgress keys that hold a village's totals: the indicators, the failure
    reasons and the review backlog — not the week:, day: and member: tallies kept beside them,
    which a village with a year of visits has a hundred times more of (1.4 million rows in the
    demo province against ~60,000). Pages that want the totals ask for these keys, so they
    read the primary key's few entries per village rather than every tally."""
    return [
        *LABELS,
        *(_FAILED + str(reason) for reason in Reason),
        REVIEW_PENDING,
        REVIEW_RETURNED,
    ]


def _indicators(village: Village, by_village: dict[int, dict[str, Count]]) -> VillageIndicators:
    """The village's row from the counts by village (none counted: zeros)."""
    assert village.id is not None  # a stored village
    return indicators_from(village.id, village.name, by_village.get(village.id, {}))


def indicators_from(group_id: int, name: str, counted: dict[str, Count]) -> VillageIndicators:
    """A VillageIndicators from counts keyed by indicator (LABELS keys and "failed:<reason>";
    other keys are ignored) — a village's, or a whole commune's (the province overview)."""
    reasons = {
        Reason(key.removeprefix(_FAILED)): count
        for key, count in counted.items()
        if key.startswith(_FAILED)
    }
    plain = {key: count for key, count in counted.items() if key in LABELS}
    return VillageIndicators(
        village_id=group_id,
        village_name=name,
        failure_reasons=dict(sorted(reasons.items())),
        **plain,
    )


def _stored(session: Session, village_ids: list[int]) -> dict[int, dict[str, Count]]:
    rows = session.exec(
        select(
            VillageProgress.village_id,
            VillageProgress.indicator,
            VillageProgress.approved,
            VillageProgress.pending,
        ).where(
            col(VillageProgress.village_id).in_(village_ids),
            col(VillageProgress.indicator).in_(summary_keys()),
        )
    ).all()
    counted: dict[int, dict[str, Count]] = {}
    for village_id, indicator, approved, pending in rows:
        if (indicator in LABELS or indicator.startswith(_FAILED)) and (approved or pending):
            counted.setdefault(village_id, {})[indicator] = Count(approved, pending)
    return counted


# --- Counting from visits and lines -----------------------------------------------------------
# Each part groups by `key`: Household.village_id for a village's numbers, Household.id for one
# household's share (HouseholdProgress). The definitions live here once for both.


def _count(
    session: Session, key, where, since, until, *, households: bool = True
) -> dict[int, dict[str, Count]]:
    counted: dict[int, dict[str, Count]] = {}
    if households:
        _households(session, key, where, counted)
    _reached(session, key, where, counted, since, until)
    _resident_indicators(session, key, where, counted, since, until)
    _failure_reasons(session, key, where, counted, since, until)
    return counted


def _put(counted, group: int, name: str, approved, total) -> None:
    approved, total = int(approved or 0), int(total or 0)
    if total:
        counted.setdefault(group, {})[name] = Count(approved, total - approved)


def _households(session: Session, key, where, counted) -> None:
    approved = col(Household.review_state) == ReviewState.approved
    rows = session.execute(
        sa.select(
            key,
            func.sum(flag(approved)),
            func.count(),
            func.sum(flag(sa.and_(approved, col(Household.smartphones) > 0))),
            func.sum(flag(sa.and_(approved, col(Household.internet_at_home).is_(True)))),
        )
        .where(where, col(Household.review_state).in_(COUNTED))
        .group_by(key)
    ).all()
    for group, n_approved, n_all, smartphones, internet in rows:
        _put(counted, group, "households", n_approved, n_all)
        _put(counted, group, "smartphone_households", smartphones, smartphones)
        _put(counted, group, "internet_households", internet, internet)


def _reached(session: Session, key, where, counted, since, until) -> None:
    approved = sa.and_(
        col(Visit.review_state) == ReviewState.approved,
        col(Household.review_state) == ReviewState.approved,
    )
    # One row per household reached, flagged when an approved visit reached it.
    per_household = (
        _in_period(
            select(key.label("grp"), func.max(flag(approved)).label("approved"))
            .join(Visit, col(Visit.household_id) == Household.id)
            .where(
                where,
                col(Household.review_state).in_(COUNTED),
                col(Visit.review_state).in_(COUNTED),
                Visit.outcome == Outcome.met,
            ),
            since,
            until,
        )
        .group_by(key, Household.id)
        .subquery()
    )
    rows = session.exec(
        select(per_household.c.grp, func.sum(per_household.c.approved), func.count()).group_by(
            per_household.c.grp
        )
    ).all()
    for group, n_approved, n_all in rows:
        _put(counted, group, "reached", n_approved, n_all)


def assistance_lines(columns, where, since, until):
    """Assistance lines of counted (non-rejected) visits, residents and households, where
    `where` holds and the visit lies in [since, until). The dashboards build on it too."""
    return _in_period(
        select(*columns)
        .select_from(Assistance)
        .join(Visit, col(Visit.id) == Assistance.visit_id)
        .join(Household, col(Household.id) == Visit.household_id)
        .join(Resident, col(Resident.id) == Assistance.resident_id)
        .where(
            where,
            col(Visit.review_state).in_(COUNTED),
            col(Household.review_state).in_(COUNTED),
            col(Resident.review_state).in_(COUNTED),
        ),
        since,
        until,
    )


def line_approved() -> sa.ColumnElement:
    """A line counts as approved when its visit, household and resident all are."""
    return sa.and_(
        col(Visit.review_state) == ReviewState.approved,
        col(Household.review_state) == ReviewState.approved,
        col(Resident.review_state) == ReviewState.approved,
    )


def _resident_indicators(session: Session, key, where, counted, since, until) -> None:
    approved = line_approved()
    # Per resident: for each indicator, 1 if any line counts (`_any`) and 1 if an approved
    # line counts (`_ok`); then summed per group. Procedures are summed as lines.
    columns = [key.label("grp")]
    for name, (code, results) in RESIDENT_INDICATORS.items():
        counts = sa.and_(col(Assistance.service_code) == code, col(Assistance.result).in_(results))
        columns.append(func.max(flag(counts)).label(name + "_any"))
        columns.append(func.max(flag(sa.and_(counts, approved))).label(name + "_ok"))
    procedure = sa.and_(
        col(Assistance.service_code) == PROCEDURE_SERVICE,
        col(Assistance.result).in_(PROCEDURE_RESULTS),
    )
    columns.append(func.sum(flag(procedure)).label("procedures_any"))
    columns.append(func.sum(flag(sa.and_(procedure, approved))).label("procedures_ok"))
    per_resident = (
        assistance_lines(columns, where, since, until)
        # Only the lines some indicator looks at go through the CASEs above.
        .where(
            col(Assistance.service_code).in_(
                sorted(
                    {code for code, _unused in RESIDENT_INDICATORS.values()} | {PROCEDURE_SERVICE}
                )
            )
        )
        .group_by(key, Assistance.resident_id)
        .subquery()
    )
    names = [*RESIDENT_INDICATORS, "procedures"]
    sums = [func.sum(per_resident.c[f"{name}_{part}"]) for name in names for part in ("any", "ok")]
    rows = session.exec(select(per_resident.c.grp, *sums).group_by(per_resident.c.grp)).all()
    for group, *numbers in rows:
        for index, name in enumerate(names):
            n_any, n_ok = numbers[2 * index : 2 * index + 2]
            _put(counted, group, "online_procedures" if name == "procedures" else name, n_ok, n_any)


def _failure_reasons(session: Session, key, where, counted, since, until) -> None:
    approved = line_approved()
    rows = session.exec(
        assistance_lines(
            [key, Assistance.reason, func.sum(flag(approved)), func.count()], where, since, until
        )
        .where(Assistance.result == Result.failed, col(Assistance.reason).is_not(None))
        .group_by(key, Assistance.reason)
    ).all()
    for group, reason, n_approved, n_all in rows:
        _put(counted, group, _FAILED + str(Reason(reason)), n_approved, n_all)


# --- Keeping the pre-aggregate ----------------------------------------------------------------


def progress_rows(session: Session, where) -> list[dict]:
    """HouseholdProgress rows, counted from scratch, for the households `where` selects."""
    counted = _count(session, Household.id, where, None, None)
    # Kept beside the indicators so the follow-up counts need no pass over lines either.
    for household_id, waiting in followups.level2_waiting_by_household(session, where).items():
        counted.setdefault(household_id, {})[followups.LEVEL2_TALLY] = Count(waiting, 0)
    for household_id, tallies in _review_backlog(session, where).items():
        counted.setdefault(household_id, {}).update(tallies)
    for household_id, tallies in activity(session, where).items():
        counted.setdefault(household_id, {}).update(tallies)
    villages = (
        dict(
            session.exec(
                select(Household.id, Household.village_id).where(
                    col(Household.id).in_(list(counted))
                )
            ).all()
        )
        if counted
        else {}
    )
    return [
        {
            "household_id": household_id,
            "village_id": villages[household_id],
            "indicator": name,
            "approved": count.approved,
            "pending": count.pending,
        }
        for household_id, names in counted.items()
        for name, count in names.items()
    ]


def _review_backlog(session: Session, where) -> dict[int, dict[str, Count]]:
    """Per household `where` selects (not rejected): its records pending review and returned
    for fixing, counted over the household itself, its visits, residents and edits. One
    query."""
    parts: list[sa.Select[Any, Any]] = [
        select(col(Household.id).label("hid"), col(Household.review_state).label("state")).where(
            where, col(Household.review_state).in_(OPEN)
        )
    ]
    for model in (Visit, Resident, HouseholdEdit):
        parts.append(
            select(col(Household.id).label("hid"), col(model.review_state).label("state"))
            .join(model, col(model.household_id) == Household.id)
            .where(
                where,
                col(Household.review_state).in_(COUNTED),
                col(model.review_state).in_(OPEN),
            )
        )
    records = sa.union_all(*parts).subquery()
    rows = session.exec(
        select(
            records.c.hid,
            func.sum(flag(records.c.state == ReviewState.pending.value)),
            func.sum(flag(records.c.state == ReviewState.returned.value)),
        ).group_by(records.c.hid)
    ).all()
    found: dict[int, dict[str, Count]] = {}
    for household_id, pending, returned in rows:
        tallies = found.setdefault(household_id, {})
        if pending:
            tallies[REVIEW_PENDING] = Count(int(pending), 0)
        if returned:
            tallies[REVIEW_RETURNED] = Count(int(returned), 0)
    return found


def week_key(moment: datetime) -> str:
    """ "2026-W47": the ISO week of `moment` in Vietnam."""
    year, number, _unused = forms.to_local(moment).date().isocalendar()
    return f"{year}-W{number:02d}"


def activity(session: Session, where) -> dict[int, dict[str, Count]]:
    """Per household `where` selects (not rejected): the week:, day: and member: tallies
    described above, from its counted visits and lines. Two queries; the crediting is done
    here, a household at a time."""
    ok_visit = sa.and_(
        col(Visit.review_state) == ReviewState.approved,
        col(Household.review_state) == ReviewState.approved,
    )
    visits = session.execute(
        sa.select(
            col(Household.id),
            col(Visit.id),
            col(Visit.volunteer_id),
            col(Visit.visited_at),
            col(Visit.outcome),
            flag(ok_visit),
        )
        .join(Visit, col(Visit.household_id) == Household.id)
        .where(
            where,
            col(Household.review_state).in_(COUNTED),
            col(Visit.review_state).in_(COUNTED),
        )
    ).all()
    level1_code, level1_results = RESIDENT_INDICATORS["vneid_level1"]
    lines = session.exec(
        assistance_lines(
            [
                Household.id,
                Assistance.id,
                Assistance.resident_id,
                Visit.volunteer_id,
                Visit.visited_at,
                Assistance.service_code,
                Assistance.result,
                flag(line_approved()),
            ],
            where,
            None,
            None,
        ).where(
            sa.or_(
                col(Assistance.result) == Result.done,
                sa.and_(
                    col(Assistance.service_code) == level1_code,
                    col(Assistance.result).in_(level1_results),
                ),
            )
        )
    ).all()
    tallies: dict[int, dict[str, list[int]]] = {}

    def add(household_id: int, key: str, approved: int) -> None:
        total = tallies.setdefault(household_id, {}).setdefault(key, [0, 0])
        total[0] += approved
        total[1] += 1

    first_met: dict[int, tuple] = {}
    reached_ok: dict[int, int] = {}
    for household_id, visit_id, member_id, at, outcome, approved in visits:
        add(household_id, f"{WEEK}{week_key(at)}:visits", approved)
        add(household_id, f"{BY_MEMBER}{member_id}:visits", approved)
        if Outcome(outcome) is Outcome.met:
            reached_ok[household_id] = max(reached_ok.get(household_id, 0), approved)
            if household_id not in first_met or (at, visit_id) < first_met[household_id][:2]:
                first_met[household_id] = (at, visit_id, member_id)
    for household_id, (at, _unused, member_id) in first_met.items():
        approved = reached_ok[household_id]
        add(household_id, f"{WEEK}{week_key(at)}:reached", approved)
        add(household_id, f"{DAY}{forms.to_local(at).date().isoformat()}:reached", approved)
        add(household_id, f"{BY_MEMBER}{member_id}:reached", approved)
    first_level1: dict[int, tuple] = {}
    level1_ok: dict[int, int] = {}
    for household_id, line_id, resident_id, member_id, at, code, result, approved in lines:
        if Result(result) is Result.done:
            add(household_id, f"{BY_MEMBER}{member_id}:lines_done", approved)
        if code == level1_code and Result(result) in level1_results:
            level1_ok[resident_id] = max(level1_ok.get(resident_id, 0), approved)
            if resident_id not in first_level1 or (at, line_id) < first_level1[resident_id][:2]:
                first_level1[resident_id] = (at, line_id, household_id)
    for resident_id, (at, _unused, household_id) in first_level1.items():
        add(household_id, f"{WEEK}{week_key(at)}:level1", level1_ok[resident_id])
    return {
        household_id: {key: Count(ok, n - ok) for key, (ok, n) in keys.items()}
        for household_id, keys in tallies.items()
    }


def activity_sums(
    session: Session, village_ids: list[int], keys: list[str]
) -> dict[tuple[int, str], Count]:
    """{(village id, key): Count} of the kept tallies `keys`, for these villages. One read of
    VillageProgress by its primary key."""
    if not village_ids or not keys:
        return {}
    rows = session.exec(
        select(
            VillageProgress.village_id,
            VillageProgress.indicator,
            VillageProgress.approved,
            VillageProgress.pending,
        ).where(
            col(VillageProgress.village_id).in_(village_ids),
            col(VillageProgress.indicator).in_(keys),
        )
    ).all()
    return {(v, key): Count(ok, pending) for v, key, ok, pending in rows if ok or pending}


def member_sums(session: Session, village_id: int) -> dict[tuple[int, str], Count]:
    """{(member id, "visits" | "reached" | "lines_done"): Count} of one village, all time."""
    rows = session.exec(
        select(VillageProgress.indicator, VillageProgress.approved, VillageProgress.pending).where(
            VillageProgress.village_id == village_id,
            col(VillageProgress.indicator).startswith(BY_MEMBER),
        )
    ).all()
    found = {}
    for key, ok, pending in rows:
        if ok or pending:
            _unused, member_id, what = key.split(":")
            found[(int(member_id), what)] = Count(ok, pending)
    return found


def refresh_progress(session: Session, household_ids: list[int]) -> None:
    """Recount the HouseholdProgress rows of these households from their visits, lines,
    residents and review states, and add the difference to their villages' VillageProgress.
    Idempotent. Caller commits."""
    if not household_ids:
        return
    old = session.exec(
        select(
            HouseholdProgress.village_id,
            HouseholdProgress.indicator,
            HouseholdProgress.approved,
            HouseholdProgress.pending,
        ).where(col(HouseholdProgress.household_id).in_(household_ids))
    ).all()
    rows = progress_rows(session, col(Household.id).in_(household_ids))
    changes: dict[tuple[int, str], list[int]] = {}
    for village_id, indicator, approved, pending in old:
        change = changes.setdefault((village_id, indicator), [0, 0])
        change[0] -= approved
        change[1] -= pending
    for row in rows:
        change = changes.setdefault((row["village_id"], row["indicator"]), [0, 0])
        change[0] += row["approved"]
        change[1] += row["pending"]
    session.execute(
        sa.delete(HouseholdProgress).where(col(HouseholdProgress.household_id).in_(household_ids))
    )
    if rows:
        session.execute(sa.insert(HouseholdProgress), rows)
    _add_to_villages(session, {key: change for key, change in changes.items() if any(change)})


def _add_to_villages(session: Session, changes: dict[tuple[int, str], list[int]]) -> None:
    """Add (approved, pending) changes to VillageProgress, creating rows as needed, a
    thousand rows per statement (a sync batch's changes in one). The rows go in key order,
    which is the order they are inserted and locked in: two transactions never lock the same
    rows in opposite order."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = [
        {"village_id": village_id, "indicator": indicator, "approved": a, "pending": p}
        for (village_id, indicator), (a, p) in sorted(changes.items())
    ]
    for start in range(0, len(rows), 1000):
        statement = insert(VillageProgress).values(rows[start : start + 1000])
        session.execute(
            statement.on_conflict_do_update(
                index_elements=[col(VillageProgress.village_id), col(VillageProgress.indicator)],
                set_={
                    "approved": VillageProgress.approved + statement.excluded.approved,
                    "pending": VillageProgress.pending + statement.excluded.pending,
                },
            )
        )


# A review state changed on a loaded visit, household or resident (a review decision, a test
# that sets it by hand) moves the numbers at the next flush even if nobody calls
# households.refresh_summary(): the pre-aggregate cannot fall behind a review.
_REVIEWED_RECORDS = (Visit, Household, Resident, HouseholdEdit)
_PENDING_REFRESH = "fieldkit.reporting.indicators.households_to_recount"


@sa.event.listens_for(Session, "before_flush")
def _note_review_changes(session, _context, _instances) -> None:
    for record in session.dirty:
        if not isinstance(record, _REVIEWED_RECORDS):
            continue
        if not sa.inspect(record).attrs.review_state.history.has_changes():
            continue
        household_id = record.id if isinstance(record, Household) else record.household_id
        session.info.setdefault(_PENDING_REFRESH, set()).add(household_id)


@sa.event.listens_for(Session, "after_flush_postexec")
def _recount_after_review_changes(session, _context) -> None:
    household_ids = session.info.pop(_PENDING_REFRESH, None)
    if household_ids:
        refresh_progress(session, sorted(household_ids))


def rebuild_progress(session: Session, *, village_ids: list[int] | None = None) -> int:
    """Recount HouseholdProgress for every household (of `village_ids`, or of all villages)
    a village at a time, and VillageProgress from it. For the demo builder and the migration
    that added the tables. Returns how many household rows it wrote. Caller commits."""
    if village_ids is None:
        stored = session.exec(select(Village.id).order_by(col(Village.id))).all()
        village_ids = [village_id for village_id in stored if village_id is not None]  # all
    written = 0
    for village_id in village_ids:
        session.execute(
            sa.delete(HouseholdProgress).where(col(HouseholdProgress.village_id) == village_id)
        )
        session.execute(
            sa.delete(VillageProgress).where(col(VillageProgress.village_id) == village_id)
        )
        rows = progress_rows(session, Household.village_id == village_id)
        if rows:
            session.execute(sa.insert(HouseholdProgress), rows)
            totals: dict[str, list[int]] = {}
            for row in rows:
                total = totals.setdefault(row["indicator"], [0, 0])
                total[0] += row["approved"]
                total[1] += row["pending"]
            session.execute(
                sa.insert(VillageProgress),
                [
                    {
                        "village_id": village_id,
                        "indicator": indicator,
                        "approved": approved,
                        "pending": pending,
                    }
                    for indicator, (approved, pending) in totals.items()
                ],
            )
        written += len(rows)
    return written
