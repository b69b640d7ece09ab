"""Follow-ups (hẹn quay lại): what is due today, overdue and coming up, and the residents
waiting for the police to verify VNeID level 2 (DESIGN.md §6, issue 5).

- A household's follow-up date is its cached `follow_up_on` (the latest non-rejected visit's,
  kept by households.refresh_summary): overdue when before today, due today, upcoming within
  the next UPCOMING_DAYS days. Each household is in at most one of the three.
- "Chờ công an xác thực mức 2": residents whose latest `vneid_level2` line (from visits not
  rejected, of households and residents not rejected) says `referred`; a `done` line at the
  same time or later ends the wait. The date shown is the day of that referral.

Rejected households and households whose personal data was erased are never listed. Days are
Vietnam calendar dates (`fieldkit.forms.local_today`). Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from fieldkit.forms import local_today
from fieldkit.i18n import _
from fieldkit.models import (
    Assistance,
    Household,
    HouseholdProgress,
    Member,
    Resident,
    Result,
    ReviewState,
    Village,
    VillageProgress,
    Visit,
)
from fieldkit.policy import Scope

UPCOMING_DAYS = 7
LEVEL2_SERVICE = "vneid_level2"
# Under this key HouseholdProgress / VillageProgress keep, in `approved`, how many residents
# wait for level 2 (kept with the indicators by fieldkit.reporting.indicators.refresh_progress).
LEVEL2_TALLY = "followup:level2_waiting"
LIST_LIMIT = 200  # rows per section; the counts are always whole

SECTIONS = {
    "overdue": _("Quá hạn"),
    "today": _("Hôm nay"),
    "upcoming": _("Sắp tới"),
    "level2_waiting": _("Chờ công an xác thực mức 2"),
}


@dataclass(frozen=True)
class FollowUp:
    """One row of a follow-up list: a household (and, for level 2, the resident waiting)."""

    household_id: int
    label: str
    head_name: str
    village_name: str
    on: date
    volunteer_name: str | None
    resident_name: str | None = None


@dataclass(frozen=True)
class FollowUps:
    """The four lists (each at most LIST_LIMIT rows, in the order to work through them) and
    the full count of each, by section key (SECTIONS)."""

    lists: dict[str, list[FollowUp]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


def _households(statement, scope: Scope, village_id: int | None, assigned_to: int | None):
    statement = statement.where(Village.commune_id == scope.commune_id, *_listed())
    for wanted in (scope.village_id, village_id):
        if wanted is not None:
            statement = statement.where(Household.village_id == wanted)
    if assigned_to is not None:
        statement = statement.where(Household.assigned_volunteer_id == assigned_to)
    return statement


def _listed() -> tuple[sa.ColumnElement[bool], ...]:
    return (col(Household.review_state) != ReviewState.rejected, col(Household.erased_at).is_(None))


def _windows(today: date) -> dict[str, sa.ColumnElement[bool]]:
    due = col(Household.follow_up_on)
    return {
        "overdue": due < today,
        "today": due == today,
        "upcoming": sa.and_(due > today, due <= today + timedelta(days=UPCOMING_DAYS)),
    }


def _level2_latest(*conditions):
    """Per resident of the households `conditions` select, their latest vneid_level2 line (a
    done line first among lines of the same time), numbered 1."""
    rank = func.row_number().over(
        partition_by=col(Assistance.resident_id),
        order_by=(
            col(Visit.visited_at).desc(),
            sa.case((col(Assistance.result) == Result.done, 0), else_=1),
            col(Visit.id).desc(),
        ),
    )
    return (
        sa.select(
            col(Assistance.resident_id).label("resident_id"),
            col(Assistance.result).label("result"),
            col(Visit.visited_at).label("visited_at"),
            col(Household.id).label("household_id"),
            rank.label("rank"),
        )
        .select_from(Household)
        .join(Visit, col(Visit.household_id) == Household.id)
        .join(Assistance, col(Assistance.visit_id) == Visit.id)
        .join(Resident, col(Resident.id) == Assistance.resident_id)
        .where(
            col(Assistance.service_code) == LEVEL2_SERVICE,
            col(Visit.review_state) != ReviewState.rejected,
            col(Resident.review_state) != ReviewState.rejected,
            *_listed(),
            *conditions,
        )
    ).subquery()


def _waiting(latest):
    return sa.and_(latest.c.rank == 1, latest.c.result == Result.referred)


def level2_waiting_by_household(session: Session, *conditions) -> dict[int, int]:
    """How many residents wait for level 2 in each household `conditions` select (only
    households with someone waiting). What HouseholdProgress keeps under LEVEL2_TALLY."""
    latest = _level2_latest(*conditions)
    return dict(
        session.exec(
            select(latest.c.household_id, func.count())
            .where(_waiting(latest))
            .group_by(latest.c.household_id)
        ).all()
    )


def _villages_of(scope: Scope, village_id: int | None):
    statement = select(Village.id).where(Village.commune_id == scope.commune_id)
    for wanted in (scope.village_id, village_id):
        if wanted is not None:
            statement = statement.where(Village.id == wanted)
    return statement


def followup_counts(
    session: Session,
    *,
    scope: Scope,
    today: date,
    village_id: int | None = None,
    assigned_to: int | None = None,
) -> dict[str, int]:
    """How many households are overdue, due today and upcoming, and how many residents wait
    for level 2: keys overdue, today, upcoming, level2_waiting. `village_id` narrows a
    commune-wide scope; `assigned_to` keeps only households assigned to that member. Reads
    an index (ix_household_follow_up) and the pre-aggregated level-2 tallies."""
    windows = _windows(today)
    tallies = [
        func.coalesce(func.sum(sa.case((condition, 1), else_=0)), 0)
        for condition in windows.values()
    ]
    row = session.exec(
        _households(
            select(*tallies)
            .select_from(Household)
            .join(Village, col(Village.id) == Household.village_id)
            .where(col(Household.follow_up_on) <= today + timedelta(days=UPCOMING_DAYS)),
            scope,
            village_id,
            assigned_to,
        )
    ).one()
    counts = dict(zip(windows, (int(n) for n in row), strict=True))
    villages = _villages_of(scope, village_id)
    if assigned_to is None:
        waiting = select(func.coalesce(func.sum(VillageProgress.approved), 0)).where(
            VillageProgress.indicator == LEVEL2_TALLY, col(VillageProgress.village_id).in_(villages)
        )
    else:
        waiting = (
            select(func.coalesce(func.sum(HouseholdProgress.approved), 0))
            .join(Household, col(Household.id) == HouseholdProgress.household_id)
            .where(
                HouseholdProgress.indicator == LEVEL2_TALLY,
                col(HouseholdProgress.village_id).in_(villages),
                Household.assigned_volunteer_id == assigned_to,
            )
        )
    counts["level2_waiting"] = int(session.exec(waiting).one())
    return counts


def followups(
    session: Session,
    *,
    scope: Scope,
    today: date,
    village_id: int | None = None,
    assigned_to: int | None = None,
    limit: int = LIST_LIMIT,
) -> FollowUps:
    """The four follow-up lists of a scope (optionally one village of it, or only households
    assigned to `assigned_to`): overdue, the longest overdue first; today and upcoming by
    date then house; level 2 by the oldest referral first."""
    counts = followup_counts(
        session, scope=scope, today=today, village_id=village_id, assigned_to=assigned_to
    )
    columns = (
        col(Household.id),
        col(Household.label),
        col(Household.head_name),
        col(Village.name),
        col(Household.follow_up_on),
        col(Member.name),
    )
    lists: dict[str, list[FollowUp]] = {}
    for key, condition in _windows(today).items():
        rows = session.execute(
            _households(
                sa.select(*columns)
                .select_from(Household)
                .join(Village, col(Village.id) == Household.village_id)
                .outerjoin(Member, col(Member.id) == Household.assigned_volunteer_id)
                .where(condition),
                scope,
                village_id,
                assigned_to,
            )
            .order_by(
                col(Household.follow_up_on),
                col(Village.name),
                func.length(Household.label),
                col(Household.label),
                col(Household.id),
            )
            .limit(limit)
        ).all()
        lists[key] = [
            FollowUp(
                household_id=hid,
                label=label,
                head_name=head,
                village_name=village,
                on=on,
                volunteer_name=volunteer,
            )
            for hid, label, head, village, on, volunteer in rows
        ]
    # Only the households the pre-aggregate says have someone waiting are looked into.
    candidates = select(HouseholdProgress.household_id).where(
        HouseholdProgress.indicator == LEVEL2_TALLY,
        col(HouseholdProgress.village_id).in_(_villages_of(scope, village_id)),
    )
    conditions: list[sa.ColumnElement[bool]] = [col(Household.id).in_(candidates)]
    if assigned_to is not None:
        conditions.append(col(Household.assigned_volunteer_id) == assigned_to)
    latest = _level2_latest(*conditions)
    rows = session.execute(
        sa.select(
            col(Household.id),
            col(Household.label),
            col(Household.head_name),
            col(Village.name),
            latest.c.visited_at,
            col(Member.name),
            col(Resident.name),
        )
        .select_from(latest)
        .join(Household, col(Household.id) == latest.c.household_id)
        .join(Village, col(Village.id) == Household.village_id)
        .join(Resident, col(Resident.id) == latest.c.resident_id)
        .outerjoin(Member, col(Member.id) == Household.assigned_volunteer_id)
        .where(_waiting(latest))
        .order_by(latest.c.visited_at, col(Household.id), col(Resident.id))
        .limit(limit)
    ).all()
    lists["level2_waiting"] = [
        FollowUp(
            household_id=hid,
            label=label,
            head_name=head,
            village_name=village,
            on=local_today(_aware(referred_at)),
            volunteer_name=volunteer,
            resident_name=resident,
        )
        for hid, label, head, village, referred_at, volunteer, resident in rows
    ]
    return FollowUps(lists=lists, counts=counts)


def _aware(moment: datetime) -> datetime:
    # A column read through a subquery may lose SQLModel's UTC type on SQLite.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment
