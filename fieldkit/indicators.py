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

Four grouped queries whatever the number of villages or households: the work is done by the
database, grouped by village, and nothing is loaded per household or resident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from fieldkit.models import (
    Assistance,
    Household,
    Outcome,
    Reason,
    Resident,
    Result,
    ReviewState,
    Village,
    Visit,
)
from fieldkit.policy import Scope

# Review states of records that still count as "pending" (chờ duyệt or trả lại để sửa).
_OPEN = (ReviewState.pending, ReviewState.returned)
_COUNTED = (ReviewState.approved, *_OPEN)


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
    "households": "Số hộ",
    "reached": "Hộ đã tiếp cận",
    "vneid_level1": "VNeID mức 1",
    "vneid_activated": "Kích hoạt VNeID",
    "vneid_level2_referred": "Chuyển công an mức 2",
    "vneid_level2_done": "Đã mức 2",
    "dvcqg_logins": "Đăng nhập Cổng DVCQG",
    "online_procedures": "Hồ sơ DVC trực tuyến",
    "payment_accounts": "Tài khoản thanh toán",
    "health_books": "Sổ sức khỏe điện tử",
    "digital_literacy": "Bình dân học vụ số",
}
FACTS = {
    "smartphone_households": "Hộ có điện thoại thông minh",
    "internet_households": "Hộ có Internet",
}
LABELS = {**REVIEWED, **FACTS}

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


def _flag(condition) -> sa.ColumnElement:
    return sa.case((condition, 1), else_=0)


def _in_period(statement, since: datetime | None, until: datetime | None):
    if since is not None:
        statement = statement.where(Visit.visited_at >= since)
    if until is not None:
        statement = statement.where(Visit.visited_at < until)
    return statement


def villages_in(session: Session, scope: Scope) -> list[Village]:
    """The villages a scope covers, by name."""
    statement = select(Village).where(Village.commune_id == scope.commune_id)
    if scope.village_id is not None:
        statement = statement.where(Village.id == scope.village_id)
    return list(session.exec(statement.order_by(Village.name, Village.id)).all())


def village_indicators(session: Session, *, scope: Scope, since: datetime | None = None,
                       until: datetime | None = None) -> list[VillageIndicators]:
    """One row per village in `scope` (by name), villages without any record included with
    zeros. Visit-based indicators count visits with `since <= visited_at < until` (either bound
    optional, aware datetimes). Reads only; four grouped queries. See VillageIndicators for
    every definition."""
    villages = villages_in(session, scope)
    if not villages:
        return []
    village_ids = [village.id for village in villages]
    values: dict[int, dict[str, object]] = {vid: {"failure_reasons": {}} for vid in village_ids}

    _households(session, village_ids, values)
    _reached(session, village_ids, values, since, until)
    _resident_indicators(session, village_ids, values, since, until)
    _failure_reasons(session, village_ids, values, since, until)

    return [VillageIndicators(village_id=village.id, village_name=village.name,
                              **values[village.id])  # type: ignore[arg-type]
            for village in villages]


def _households(session: Session, village_ids: list[int], values) -> None:
    approved = Household.review_state == ReviewState.approved
    rows = session.exec(
        select(Household.village_id,
               func.sum(_flag(approved)),
               func.count(),
               func.sum(_flag(sa.and_(approved, col(Household.smartphones) > 0))),
               func.sum(_flag(sa.and_(approved, col(Household.internet_at_home).is_(True)))))
        .where(col(Household.village_id).in_(village_ids),
               col(Household.review_state).in_(_COUNTED))
        .group_by(Household.village_id)
    ).all()
    for village_id, n_approved, n_all, smartphones, internet in rows:
        row = values[village_id]
        row["households"] = Count(int(n_approved or 0), int(n_all) - int(n_approved or 0))
        row["smartphone_households"] = Count(int(smartphones or 0), 0)
        row["internet_households"] = Count(int(internet or 0), 0)


def _reached(session: Session, village_ids: list[int], values, since, until) -> None:
    approved = sa.and_(Visit.review_state == ReviewState.approved,
                       Household.review_state == ReviewState.approved)
    # One row per household reached, flagged when an approved visit reached it.
    per_household = _in_period(
        select(Household.village_id.label("village_id"),
               func.max(_flag(approved)).label("approved"))
        .join(Visit, Visit.household_id == Household.id)
        .where(col(Household.village_id).in_(village_ids),
               col(Household.review_state).in_(_COUNTED),
               col(Visit.review_state).in_(_COUNTED),
               Visit.outcome == Outcome.met),
        since, until,
    ).group_by(Household.village_id, Household.id).subquery()
    rows = session.exec(
        select(per_household.c.village_id, func.sum(per_household.c.approved), func.count())
        .group_by(per_household.c.village_id)
    ).all()
    for village_id, n_approved, n_all in rows:
        values[village_id]["reached"] = Count(int(n_approved), int(n_all) - int(n_approved))


def _assistance_lines(columns, village_ids: list[int], since, until):
    """Assistance lines of counted (non-rejected) visits, residents and households."""
    return _in_period(
        select(*columns)
        .select_from(Assistance)
        .join(Visit, Visit.id == Assistance.visit_id)
        .join(Household, Household.id == Visit.household_id)
        .join(Resident, Resident.id == Assistance.resident_id)
        .where(col(Household.village_id).in_(village_ids),
               col(Visit.review_state).in_(_COUNTED),
               col(Household.review_state).in_(_COUNTED),
               col(Resident.review_state).in_(_COUNTED)),
        since, until,
    )


def _line_approved() -> sa.ColumnElement:
    return sa.and_(Visit.review_state == ReviewState.approved,
                   Household.review_state == ReviewState.approved,
                   Resident.review_state == ReviewState.approved)


def _resident_indicators(session: Session, village_ids: list[int], values, since,
                         until) -> None:
    approved = _line_approved()
    # Per resident: for each indicator, 1 if any line counts (`_any`) and 1 if an approved
    # line counts (`_ok`); then summed per village. Procedures are summed as lines.
    columns = [Household.village_id.label("village_id")]
    for name, (code, results) in RESIDENT_INDICATORS.items():
        counts = sa.and_(Assistance.service_code == code, col(Assistance.result).in_(results))
        columns.append(func.max(_flag(counts)).label(name + "_any"))
        columns.append(func.max(_flag(sa.and_(counts, approved))).label(name + "_ok"))
    procedure = sa.and_(Assistance.service_code == PROCEDURE_SERVICE,
                        col(Assistance.result).in_(PROCEDURE_RESULTS))
    columns.append(func.sum(_flag(procedure)).label("procedures_any"))
    columns.append(func.sum(_flag(sa.and_(procedure, approved))).label("procedures_ok"))
    per_resident = (
        _assistance_lines(columns, village_ids, since, until)
        # Only the lines some indicator looks at go through the CASEs above.
        .where(col(Assistance.service_code).in_(sorted(
            {code for code, _ in RESIDENT_INDICATORS.values()} | {PROCEDURE_SERVICE})))
        .group_by(Household.village_id, Assistance.resident_id)
        .subquery()
    )
    names = [*RESIDENT_INDICATORS, "procedures"]
    sums = [func.sum(per_resident.c[f"{name}_{part}"]) for name in names for part in ("any", "ok")]
    rows = session.exec(
        select(per_resident.c.village_id, *sums).group_by(per_resident.c.village_id)
    ).all()
    for village_id, *numbers in rows:
        row = values[village_id]
        for index, name in enumerate(names):
            n_any, n_ok = (int(n or 0) for n in numbers[2 * index:2 * index + 2])
            key = "online_procedures" if name == "procedures" else name
            row[key] = Count(n_ok, n_any - n_ok)


def _failure_reasons(session: Session, village_ids: list[int], values, since, until) -> None:
    approved = _line_approved()
    rows = session.exec(
        _assistance_lines([Household.village_id, Assistance.reason, func.sum(_flag(approved)),
                           func.count()], village_ids, since, until)
        .where(Assistance.result == Result.failed, col(Assistance.reason).is_not(None))
        .group_by(Household.village_id, Assistance.reason)
    ).all()
    for village_id, reason, n_approved, n_all in rows:
        values[village_id]["failure_reasons"][Reason(reason)] = Count(
            int(n_approved), int(n_all) - int(n_approved))
