"""Keeping the register clean (issue 15): households that are probably the same — made twice in
the field by two volunteers offline, or made in the field and then imported — are flagged, and
commune staff merge one into the other without losing anything.

Likely duplicates: same village, the same house number once written the same way ("Số 12A",
"12 a" and "12A" are one), and head names that fold to the same letters or nearly so
(`similar_names`). Pairs staff marked "Không trùng" are not flagged again.

A merge (`merge_households`) keeps every record: the merged-away household's residents,
visits, field edits and door stickers move to the survivor (revisions and review decisions
belong to those records and move with them); a resident who is the same person in both
households is combined when staff say so — their visit lines then name the survivor's
person, and the other row stays, rejected, pointing at it. The merged-away household keeps its
row, out of every list and count (review state rejected), with `merged_into_id` naming the
survivor; fieldkit.policy.require_household answers with the survivor for it, so a phone that
still holds the old household logs its next visit on the survivor. Both households' numbers
are recounted once (fieldkit.households.refresh_summaries). Caller commits.
"""

from __future__ import annotations

import functools
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from difflib import SequenceMatcher
from typing import Any

from sqlalchemy import func, or_, update
from sqlmodel import Session, col, select

from fieldkit import audit, communes, households, policy
from fieldkit.errors import Invalid
from fieldkit.i18n import _
from fieldkit.models import (
    Assistance,
    DuplicateDismissal,
    Household,
    HouseholdEdit,
    HouseholdMerge,
    Member,
    RecordKind,
    Resident,
    ReviewDecision,
    ReviewState,
    Sticker,
    Village,
    Visit,
)
from fieldkit.text import fold

SIMILARITY = 0.85  # of folded head names; "Nguyễn Văn An" / "Nguyen Van Ann" is 0.96
MAX_PAIRS = 200

_HOUSE_WORDS = re.compile(r"^(so nha|nha so|so|sn|nha)\s+")


@functools.lru_cache(maxsize=100_000)
def house_key(label: str | None) -> str:
    """A house number as compared: folded, without a leading "Số nhà"/"Số"/"SN", without
    spaces or punctuation but "/" ("Số 12A" = "12 a" = "12A"; "12/3" stays apart from "123")."""
    folded = _HOUSE_WORDS.sub("", fold(label))
    return re.sub(r"[^0-9a-z/]", "", folded)


@functools.lru_cache(maxsize=100_000)
def name_key(name: str | None) -> str:
    return fold(name)


def similar_names(first: str | None, second: str | None) -> bool:
    """Head names that are probably one person's: equal once folded, or nearly so."""
    a, b = name_key(first), name_key(second)
    if not a or not b:
        return False
    return a == b or SequenceMatcher(None, a, b, autojunk=False).ratio() >= SIMILARITY


# --- finding likely duplicates ---------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """Two households that are probably one. `first` is the older (lower id)."""

    first: Household
    second: Household
    village_name: str

    @property
    def key(self) -> tuple[int, int]:
        assert self.first.id is not None and self.second.id is not None  # stored households
        return self.first.id, self.second.id

    @property
    def keep(self) -> Household:
        """The one to keep by default: the approved one over a proposal waiting for review,
        else the older."""
        if self.first.review_state is not ReviewState.approved and (
            self.second.review_state is ReviewState.approved
        ):
            return self.second
        return self.first

    @property
    def other(self) -> Household:
        return self.second if self.keep is self.first else self.first


def _candidates(session: Session, *, commune_id: int, village_id: int | None = None) -> list:
    """(id, village_id, label, head_name) of the households that may repeat one another:
    plain rows, so a commune of 30,000 households is read in a fraction of a second."""
    statement = (
        select(Household.id, Household.village_id, Household.label, Household.head_name)
        .join(Village, col(Village.id) == Household.village_id)
        .where(
            Village.commune_id == commune_id,
            Household.review_state != ReviewState.rejected,
            col(Household.erased_at).is_(None),
            col(Household.merged_into_id).is_(None),
        )
    )
    if village_id is not None:
        statement = statement.where(Household.village_id == village_id)
    return list(session.exec(statement.order_by(col(Household.id))).all())


def _pairs_in(found, dismissed: set[tuple[int, int]]) -> list[tuple[int, int]]:
    keys = [(row.village_id, house_key(row.label)) for row in found]
    shared = {key for key, n in Counter(keys).items() if n > 1}  # most houses are alone
    groups: dict[tuple[int, str], list] = defaultdict(list)
    for key, row in zip(keys, found, strict=True):
        if key in shared:
            groups[key].append(row)
    pairs = []
    for group in groups.values():
        for i, first in enumerate(group):
            for second in group[i + 1 :]:
                if (first.id, second.id) in dismissed:
                    continue
                if similar_names(first.head_name, second.head_name):
                    pairs.append((first.id, second.id))
    return pairs


def _dismissed(session: Session, ids: list[int]) -> set[tuple[int, int]]:
    if not ids:
        return set()
    rows = session.exec(
        select(DuplicateDismissal.first_id, DuplicateDismissal.second_id).where(
            or_(
                col(DuplicateDismissal.first_id).in_(ids),
                col(DuplicateDismissal.second_id).in_(ids),
            )
        )
    ).all()
    return {(a, b) for a, b in rows}


def possible_duplicates(
    session: Session, *, commune_id: int, village_id: int | None = None, limit: int = MAX_PAIRS
) -> tuple[list[Pair], int]:
    """Likely duplicate pairs of the commune (or one village), newest pair first, and how many
    there are in all. Households rejected, erased or merged already are left out."""
    found = _candidates(session, commune_id=commune_id, village_id=village_id)
    dismissed = set(
        session.exec(
            select(DuplicateDismissal.first_id, DuplicateDismissal.second_id)
            .join(Household, col(Household.id) == DuplicateDismissal.first_id)
            .join(Village, col(Village.id) == Household.village_id)
            .where(Village.commune_id == commune_id)
        ).all()
    )
    pairs = _pairs_in(found, dismissed)
    pairs.sort(key=lambda pair: -pair[1])
    shown = pairs[:limit]
    wanted = {household_id for pair in shown for household_id in pair}
    loaded = (
        {h.id: h for h in session.exec(select(Household).where(col(Household.id).in_(wanted)))}
        if wanted
        else {}
    )
    names = dict(
        session.exec(select(Village.id, Village.name).where(Village.commune_id == commune_id)).all()
    )
    return [Pair(loaded[a], loaded[b], names.get(loaded[a].village_id, "")) for a, b in shown], len(
        pairs
    )


def duplicates_of(session: Session, household: Household) -> list[Household]:
    """The households of the same village that are probably the same as `household`. Reads
    the village's labels and heads only (it is on every household page a phone prepares)."""
    assert household.id is not None  # a stored household
    return duplicates_of_many(session, [household]).get(household.id, [])


def duplicates_of_many(session: Session, chosen: Sequence[Any]) -> dict[int, list[Household]]:
    """duplicates_of() for many households at once (a village's pages in the offline pack), in
    three queries whatever their number: each village's labels and heads once, the dismissed
    pairs, the likely duplicates found. `chosen` are households or rows with their columns
    (id, village_id, label, head_name, review_state, erased_at, merged_into_id). Household id
    → its likely duplicates by id; a household with none is left out."""
    asking = [
        household
        for household in chosen
        if household.merged_into_id is None
        and household.erased_at is None
        and household.review_state != ReviewState.rejected
    ]
    by_key: dict[tuple[int, str], list[tuple[int, str]]] = defaultdict(list)
    for village_id in sorted({household.village_id for household in asking}):
        for other_id, label, head_name in session.exec(
            select(Household.id, Household.label, Household.head_name).where(
                Household.village_id == village_id,
                Household.review_state != ReviewState.rejected,
                col(Household.erased_at).is_(None),
                col(Household.merged_into_id).is_(None),
            )
        ).all():
            assert other_id is not None  # a primary key
            by_key[(village_id, house_key(label))].append((other_id, head_name))
    found: dict[int, list[int]] = {}
    for household in asking:
        same_house = by_key.get((household.village_id, house_key(household.label)), [])
        ids = [
            other_id
            for other_id, head_name in same_house
            if other_id != household.id and similar_names(head_name, household.head_name)
        ]
        if ids:
            found[household.id] = ids
    if not found:
        return {}
    dismissed = _dismissed(session, list(found))
    for household_id, ids in list(found.items()):
        keep = [o for o in ids if (min(o, household_id), max(o, household_id)) not in dismissed]
        if keep:
            found[household_id] = keep
        else:
            del found[household_id]
    wanted = sorted({other_id for ids in found.values() for other_id in ids})
    loaded = (
        {
            household.id: household
            for household in session.exec(
                select(Household).where(col(Household.id).in_(wanted)).order_by(col(Household.id))
            )
        }
        if wanted
        else {}
    )
    return {
        household_id: [loaded[other_id] for other_id in sorted(ids)]
        for household_id, ids in found.items()
    }


def similar_in(
    candidates: list[tuple[int, str, str]], label: str, head_name: str
) -> list[tuple[int, str, str]]:
    """Of (id, label, head) candidates of one village, those that look like (label, head):
    for the import's preview, which names the households a new row may repeat."""
    key = house_key(label)
    return [
        candidate
        for candidate in candidates
        if house_key(candidate[1]) == key and similar_names(candidate[2], head_name)
    ]


def dismiss(
    session: Session, member: Member, first_id: int, second_id: int, *, now: datetime
) -> None:
    """Commune staff looked at the pair and found two households: not flagged again."""
    first, second = policy.require_can_merge_households(session, member, first_id, second_id)
    if first.id == second.id:
        raise Invalid({"other": _("Hãy chọn hai hộ khác nhau.")})
    assert first.id is not None and second.id is not None  # stored households
    low, high = sorted((first.id, second.id))
    if session.get(DuplicateDismissal, (low, high)) is None:
        session.add(
            DuplicateDismissal(first_id=low, second_id=high, dismissed_by_id=member.id, at=now)
        )
        audit.record(
            session,
            action="not_duplicate",
            now=now,
            actor=member,
            target_kind="household",
            target_id=low,
            details={"households": [low, high]},
        )


# --- merging --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A resident of the merged-away household and the survivor's resident that is probably
    the same person (same name once folded, birth years not different), if any."""

    resident: Resident
    same_as: Resident | None


@dataclass(frozen=True)
class MergePlan:
    survivor: Household
    merged: Household
    people: list[Person]
    survivor_residents: list[Resident]
    visits: int
    edits: int
    stickers: int


def _living(session: Session, household_id: int) -> list[Resident]:
    return list(
        session.exec(
            select(Resident)
            .where(
                Resident.household_id == household_id,
                Resident.review_state != ReviewState.rejected,
            )
            .order_by(col(Resident.id))
        ).all()
    )


def _count(session: Session, model, *conditions) -> int:
    return session.exec(select(func.count()).select_from(model).where(*conditions)).one()


def plan_merge(session: Session, member: Member, survivor_id: int, merged_id: int) -> MergePlan:
    """What merging `merged_id` into `survivor_id` would move, for the confirmation page.
    Refuses (Invalid, Forbidden, NotFound) what merge_households() refuses."""
    survivor, merged = policy.require_can_merge_households(session, member, survivor_id, merged_id)
    _refuse_unless_mergeable(survivor, merged)
    assert survivor.id is not None and merged.id is not None  # stored households
    kept = _living(session, survivor.id)
    people = []
    taken: set[int] = set()
    for resident in _living(session, merged.id):
        same = next(
            (
                other
                for other in kept
                if other.id not in taken
                and name_key(other.name) == name_key(resident.name)
                and (
                    other.birth_year is None
                    or resident.birth_year is None
                    or other.birth_year == resident.birth_year
                )
            ),
            None,
        )
        if same is not None and same.id is not None:
            taken.add(same.id)
        people.append(Person(resident, same))
    return MergePlan(
        survivor=survivor,
        merged=merged,
        people=people,
        survivor_residents=kept,
        visits=_count(session, Visit, Visit.household_id == merged.id),
        edits=_count(session, HouseholdEdit, HouseholdEdit.household_id == merged.id),
        stickers=_count(
            session,
            Sticker,
            Sticker.household_id == merged.id,
            col(Sticker.revoked_at).is_(None),
        ),
    )


def _refuse_unless_mergeable(survivor: Household, merged: Household) -> None:
    if survivor.id == merged.id:
        raise Invalid({"other": _("Hãy chọn hai hộ khác nhau.")})
    if survivor.village_id != merged.village_id:
        raise Invalid({"other": _("Chỉ gộp hai hộ trong cùng một thôn.")})
    for household in (survivor, merged):
        if household.merged_into_id is not None:
            raise Invalid(
                {"other": _("Hộ %(label)s đã được gộp vào hộ khác rồi.", label=household.label)}
            )
        if household.erased_at is not None:
            raise Invalid(
                {
                    "other": _(
                        "Hộ %(label)s đã xóa dữ liệu cá nhân; không gộp được.",
                        label=household.label,
                    )
                }
            )
        if household.review_state is ReviewState.rejected:
            raise Invalid(
                {"other": _("Hộ %(label)s đã bị từ chối; không gộp được.", label=household.label)}
            )


def merge_households(
    session: Session,
    member: Member,
    survivor_id: int,
    merged_id: int,
    *,
    combine: set[int] | None = None,
    now: datetime,
) -> HouseholdMerge:
    """Merge household `merged_id` into `survivor_id` (module docstring). `combine`: ids of the
    merged household's residents to combine with the survivor's same person (as plan_merge
    pairs them); None combines every pair plan_merge found, an empty set none. Audited.
    Caller commits."""
    # One merge at a time per commune, so two people merging crossing pairs cannot leave a
    # loop; then everything is checked again under the lock.
    if member.commune_id is not None:  # province staff have none, and plan_merge refuses them
        communes.lock(session, member.commune_id)
    plan = plan_merge(session, member, survivor_id, merged_id)
    survivor, merged = plan.survivor, plan.merged
    # Stored rows, all three (plan_merge found the households by id).
    assert survivor.id is not None and merged.id is not None and member.id is not None
    pairs = {
        person.resident.id: person.same_as
        for person in plan.people
        if person.same_as is not None and (combine is None or person.resident.id in combine)
    }
    moved = {
        "residents": len(plan.people),
        "combined": len(pairs),
        "visits": plan.visits,
        "edits": plan.edits,
        "stickers": plan.stickers,
    }
    snapshot = {
        "label": merged.label,
        "head_name": merged.head_name,
        "address_hint": merged.address_hint,
        "code": merged.code,
        "review_state": merged.review_state.value,
        "proposed_by_id": merged.proposed_by_id,
        "import_batch_id": merged.import_batch_id,
        "created_at": merged.created_at.isoformat(),
        "combined": {str(a): b.id for a, b in pairs.items()},
    }
    # Everything that belongs to the household moves; nothing is deleted.
    for model in (Resident, Visit, HouseholdEdit, Sticker):
        session.execute(
            update(model)
            .where(col(model.household_id) == merged.id)
            .values(household_id=survivor.id)
        )
    for resident_id, same in pairs.items():
        session.execute(
            update(Assistance)
            .where(col(Assistance.resident_id) == resident_id)
            .values(resident_id=same.id)
        )
        resident = session.get(Resident, resident_id)
        assert resident is not None  # one of the merged household's residents
        for name in ("birth_year", "sex", "phone"):
            if getattr(same, name) in (None, "") and getattr(resident, name) not in (None, ""):
                setattr(same, name, getattr(resident, name))
        if not same.relation and resident.relation:
            same.relation = resident.relation
        session.add(same)
        session.execute(
            update(Resident)
            .where(col(Resident.id) == resident_id)
            .values(review_state=ReviewState.rejected, merged_into_id=same.id)
        )
    # What the survivor does not know yet, it learns from the other.
    if survivor.smartphones is None:
        survivor.smartphones = merged.smartphones
    if survivor.internet_at_home is None:
        survivor.internet_at_home = merged.internet_at_home
    if survivor.assigned_volunteer_id is None:
        survivor.assigned_volunteer_id = merged.assigned_volunteer_id
    if survivor.consent_at is None and merged.consent_at is not None:
        for name in ("consent_version", "consent_purposes", "consent_method", "consent_at"):
            setattr(survivor, name, getattr(merged, name))
    code = merged.code
    if merged.proposed_by_id is not None and merged.review_state in (
        ReviewState.pending,
        ReviewState.returned,
    ):
        # A proposal from the field that repeats a household is settled by the merge: the
        # decision is kept in its history like any other.
        session.add(
            ReviewDecision(
                record_kind=RecordKind.household,
                record_id=merged.id,
                revision=merged.revision,
                decision=ReviewState.rejected,
                reason=_(
                    "Trùng với hộ %(label)s · %(head_name)s: đã gộp vào hộ đó.",
                    label=survivor.label,
                    head_name=survivor.head_name,
                ),
                reviewer_id=member.id,
                at=now,
            )
        )
    # A bulk UPDATE, not the ORM: the review-state listener would recount the household a
    # second time; refresh_summaries below recounts both once.
    session.execute(
        update(Household)
        .where(col(Household.id) == merged.id)
        .values(
            review_state=ReviewState.rejected,
            merged_into_id=survivor.id,
            code=None if survivor.code is None else merged.code,
        )
    )
    session.expire(merged)
    if survivor.code is None and code is not None:
        survivor.code = code  # the commune's code follows the household it names
    session.add(survivor)
    record = HouseholdMerge(
        survivor_id=survivor.id,
        merged_id=merged.id,
        merged_by_id=member.id,
        at=now,
        snapshot=snapshot,
        moved=moved,
    )
    session.add(record)
    session.flush()
    households.refresh_summaries(session, [survivor.id, merged.id])
    audit.record(
        session,
        action="households_merged",
        now=now,
        actor=member,
        target_kind="household",
        target_id=survivor.id,
        details={"merged": merged.id, **moved},
    )
    return record


def merges_into(session: Session, household: Household) -> list[HouseholdMerge]:
    """The households merged into this one, oldest first (for its page's history)."""
    assert household.id is not None  # a stored household
    return merges_into_many(session, [household.id]).get(household.id, [])


def merges_into_many(
    session: Session, household_ids: Sequence[int]
) -> dict[int, list[HouseholdMerge]]:
    """merges_into() for many households in one query: survivor id → the merges into it,
    oldest first; a household nothing was merged into is left out."""
    found: dict[int, list[HouseholdMerge]] = {}
    if not household_ids:
        return found
    for record in session.exec(
        select(HouseholdMerge)
        .where(col(HouseholdMerge.survivor_id).in_(list(household_ids)))
        .order_by(col(HouseholdMerge.at), col(HouseholdMerge.id))
    ).all():
        found.setdefault(record.survivor_id, []).append(record)
    return found
