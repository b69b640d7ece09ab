"""Assignments (phân công): which volunteer looks after which household.

- a leader assigns households of their own village to members of that village;
- commune staff (and the admin) assign any household of the commune, always to a member of
  the household's own village;
- nobody else assigns.

Every assignment is checked whole before anything changes: if one household or the volunteer
is refused, nothing is assigned. One audit event per call. Caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from fieldkit import audit, policy, push
from fieldkit.errors import Forbidden, Invalid
from fieldkit.i18n import _
from fieldkit.models import Household, Member, ReviewState, Village

# Who goes door to door, and so may be given households.
MAX_RANGE = 5000

# House numbers are ASCII digits, at most 9 of them: `\d` would take "١٢", and int() of
# thousands of digits raises (issue 10).
_NUMBER = re.compile(r"[0-9]{1,9}")
_RANGE = re.compile(
    # i18n: not translated (a pattern: "10 đến 20" is what people type)
    r"^\s*([0-9]{1,9})\s*(?:(?:-|–|—|đến|tới|\.\.)\s*([0-9]{1,9}))?\s*$",
    re.IGNORECASE,
)


def leading_number(label: str) -> int | None:
    """The first number in a house label: "12A" → 12, "Xóm 3 - số 5" → 3, "Nhà ông Tư" → None."""
    found = _NUMBER.search(label or "")
    return int(found.group()) if found else None


def parse_range(text: str) -> tuple[int, int]:
    """ "10-20", "10–20", "10 đến 20" or a single "15" → (low, high), inclusive."""
    found = _RANGE.match(text or "")
    if not found:
        raise Invalid({"range": _("Hãy nhập khoảng số nhà như 10-20 (hoặc một số nhà).")})
    low = int(found.group(1))
    high = int(found.group(2)) if found.group(2) else low
    if low > high:
        raise Invalid({"range": _("Số đầu phải nhỏ hơn hoặc bằng số cuối, ví dụ 10-20.")})
    if high - low > MAX_RANGE:
        raise Invalid(
            {"range": _("Khoảng số nhà quá rộng (tối đa %(MAX_RANGE)s số).", MAX_RANGE=MAX_RANGE)}
        )
    return low, high


def _listed(statement):
    """Households that can be worked on: not rejected proposals, not erased on request."""
    return statement.where(
        Household.review_state != ReviewState.rejected, col(Household.erased_at).is_(None)
    )


def _in_scope(statement, scope: policy.Scope):
    statement = statement.join(Village, Village.id == Household.village_id).where(
        Village.commune_id == scope.commune_id
    )
    if scope.village_id is not None:
        statement = statement.where(Household.village_id == scope.village_id)
    return statement


def _volunteer(session: Session, scope: policy.Scope, volunteer_id: int | None) -> Member:
    if volunteer_id is None:
        raise Invalid({"volunteer": _("Hãy chọn người được phân công.")})
    volunteer = session.get(Member, volunteer_id)
    if volunteer is None or volunteer.commune_id != scope.commune_id:
        raise Invalid({"volunteer": _("Không tìm thấy người này trong xã.")})
    # Before any message that names them: a leader learns names only within the village.
    if scope.village_id is not None and volunteer.village_id != scope.village_id:
        raise Invalid({"volunteer": _("Người này không thuộc thôn của bạn.")})
    if not volunteer.active:
        raise Invalid(
            {
                "volunteer": _(
                    "%(name)s đã thôi tham gia; không phân công được.", name=volunteer.name
                )
            }
        )
    if not policy.is_field_member(volunteer) or volunteer.village_id is None:
        raise Invalid(
            {
                "volunteer": _(
                    "%(name)s không đi hộ; hãy chọn thành viên Tổ CNSCĐ hoặc tổ trưởng của thôn.",
                    name=volunteer.name,
                )
            }
        )
    return volunteer


def _households(
    session: Session, scope: policy.Scope, household_ids: Iterable[int]
) -> list[Household]:
    ids = sorted(set(household_ids))
    if not ids:
        raise Invalid({"households": _("Hãy chọn ít nhất một hộ, hoặc nhập khoảng số nhà.")})
    found = {
        h.id: h for h in session.exec(select(Household).where(col(Household.id).in_(ids))).all()
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise Invalid({"households": _("Không tìm thấy %(count)s hộ đã chọn.", count=len(missing))})
    villages = {
        v.id: v
        for v in session.exec(
            select(Village).where(col(Village.id).in_({h.village_id for h in found.values()}))
        ).all()
    }
    outside = [h for h in found.values() if not scope.covers_village(villages[h.village_id])]
    if outside:
        raise Forbidden(_("%(count)s hộ đã chọn không thuộc phạm vi của bạn.", count=len(outside)))
    refused = [
        h
        for h in found.values()
        if h.review_state == ReviewState.rejected or h.erased_at is not None
    ]
    if refused:
        raise Invalid(
            {
                "households": _(
                    "Hộ %(label)s không còn trong danh sách (đã bị từ chối hoặc đã xóa dữ liệu).",
                    label=refused[0].label,
                )
            }
        )
    return [found[i] for i in ids]


def _apply(
    session: Session,
    actor: Member,
    households: Sequence[Household],
    volunteer: Member | None,
    *,
    now: datetime,
    how: str,
) -> int:
    """Set the assignment of every household (all checked already); one audit event.
    Returns how many households changed hands."""
    changed = 0
    for household in households:
        new = volunteer.id if volunteer else None
        if household.assigned_volunteer_id != new:
            household.assigned_volunteer_id = new
            session.add(household)
            changed += 1
    session.flush()
    audit.record(
        session,
        action="assigned",
        now=now,
        actor=actor,
        target_kind="member" if volunteer else None,
        target_id=volunteer.id if volunteer else None,
        details={
            "how": how,
            "volunteer": volunteer.name if volunteer else None,
            "households": len(households),
            "changed": changed,
            "household_ids": [h.id for h in households][:500],
        },
    )
    if volunteer is not None:
        push.households_assigned(session, volunteer=volunteer, actor=actor, count=changed, now=now)
    return changed


def assign(
    session: Session,
    actor: Member,
    *,
    household_ids: Iterable[int],
    volunteer_id: int | None,
    now: datetime,
) -> int:
    """Assign the selected households (one or many) to one volunteer of their village.
    All or nothing. Returns how many changed hands. Caller commits."""
    scope = policy.require_can_assign(actor)
    volunteer = _volunteer(session, scope, volunteer_id)
    households = _households(session, scope, household_ids)
    elsewhere = [h for h in households if h.village_id != volunteer.village_id]
    if elsewhere:
        raise Invalid(
            {
                "volunteer": _(
                    (
                        "%(name)s thuộc thôn khác với hộ %(label)s; chỉ phân công hộ cho người "
                        "cùng thôn."
                    ),
                    name=volunteer.name,
                    label=elsewhere[0].label,
                )
            }
        )
    return _apply(
        session,
        actor,
        households,
        volunteer,
        now=now,
        how="one" if len(households) == 1 else "selection",
    )


def households_in_range(session: Session, village_id: int, low: int, high: int) -> list[Household]:
    """The village's households whose label's leading number lies in [low, high]."""
    rows = session.exec(
        _listed(select(Household).where(Household.village_id == village_id)).order_by(Household.id)
    ).all()
    return [
        h for h in rows if (number := leading_number(h.label)) is not None and low <= number <= high
    ]


def assign_range(
    session: Session, actor: Member, *, range_text: str, volunteer_id: int | None, now: datetime
) -> int:
    """Assign every household of the volunteer's village whose house number lies in the
    range ("10-20"; "12A" counts as 12). Refused, and nothing changes, if none matches.
    Returns how many changed hands. Caller commits."""
    scope = policy.require_can_assign(actor)
    low, high = parse_range(range_text)
    volunteer = _volunteer(session, scope, volunteer_id)
    assert volunteer.village_id is not None  # _volunteer refuses a member with no village
    households = households_in_range(session, volunteer.village_id, low, high)
    if not households:
        raise Invalid(
            {
                "range": _(
                    "Không có hộ nào có số nhà từ %(low)s đến %(high)s trong thôn.",
                    low=low,
                    high=high,
                )
            }
        )
    return _apply(session, actor, households, volunteer, now=now, how=f"range {low}-{high}")


def unassign(
    session: Session, actor: Member, *, household_ids: Iterable[int], now: datetime
) -> int:
    """Leave the selected households without a volunteer. All or nothing. Caller commits."""
    scope = policy.require_can_assign(actor)
    households = _households(session, scope, household_ids)
    return _apply(session, actor, households, None, now=now, how="unassign")


def unassigned(
    session: Session, actor: Member, *, village_id: int | None = None, limit: int | None = None
) -> list[Household]:
    """Households of the actor's scope (or of one village in it) that nobody looks after."""
    return village_households(
        session, actor, village_id=village_id, only_unassigned=True, limit=limit
    )


def village_households(
    session: Session,
    actor: Member,
    *,
    village_id: int | None = None,
    only_unassigned: bool = False,
    limit: int | None = None,
) -> list[Household]:
    """Households of the actor's scope, by village and house number."""
    scope = policy.require_can_assign(actor)
    statement = _in_scope(_listed(select(Household)), scope)
    if village_id is not None:
        statement = statement.where(Household.village_id == village_id)
    if only_unassigned:
        statement = statement.where(col(Household.assigned_volunteer_id).is_(None))
    statement = statement.order_by(
        Village.name, func.length(Household.label), Household.label, Household.id
    ).limit(limit)
    return list(session.exec(statement).all())


@dataclass(frozen=True)
class Load:
    """How many households one assignable member looks after."""

    member: Member
    households: int


@dataclass(frozen=True)
class Overview:
    loads: list[Load]
    unassigned: int
    total: int


def overview(session: Session, actor: Member, *, village_id: int) -> Overview:
    """Per member of the village who can be given households: how many they have; and how
    many households nobody has."""
    scope = policy.require_can_assign(actor)
    village = policy.require_village(session, actor, village_id)
    if not scope.covers_village(village):
        raise Forbidden(_("Thôn này không thuộc phạm vi của bạn."))
    people = session.exec(
        select(Member)
        .where(
            Member.village_id == village.id,
            col(Member.active).is_(True),
            policy.field_members(),
        )
        .order_by(Member.name)
    ).all()
    counts = dict(
        session.exec(
            _listed(select(Household.assigned_volunteer_id, func.count()))
            .where(Household.village_id == village.id)
            .group_by(Household.assigned_volunteer_id)
        ).all()
    )
    return Overview(
        loads=[Load(p, counts.get(p.id, 0)) for p in people],
        unassigned=counts.get(None, 0),
        total=sum(counts.values()),
    )
