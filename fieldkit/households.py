"""Households and residents: listing within a scope, the household page, field edits."""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, case, func, update
from sqlmodel import Session, col, select

from fieldkit import forms
from fieldkit.errors import Forbidden, Invalid
from fieldkit.i18n import _
from fieldkit.models import (
    Household,
    HouseholdEdit,
    Member,
    Resident,
    ReviewState,
    Sex,
    Village,
    Visit,
)
from fieldkit.policy import Scope, require_can_record, require_household, scope_for
from fieldkit.replays import check_replay
from fieldkit.reporting import indicators
from fieldkit.text import fold

PAGE_SIZE = 50


class ListFilter(enum.StrEnum):
    all = "all"
    todo = "todo"  # chưa thăm
    follow_up = "follow_up"  # hẹn quay lại: a follow-up date is set, due ones first
    done = "done"  # đã thăm, không hẹn quay lại
    # todo + follow_up + done = all: every household is in exactly one tab, so the counts add up.


FILTER_LABELS = {
    ListFilter.all: _("Tất cả"),
    ListFilter.todo: _("Chưa thăm"),
    ListFilter.follow_up: _("Hẹn quay lại"),
    ListFilter.done: _("Đã xong"),
}


# What a list row shows (pwa/templates/households/_rows.html), its tab and its search need: a
# village's list is hundreds of rows, and whole ORM objects cost six times as much to load.
LISTED = (
    col(Household.id),
    col(Household.village_id),
    col(Household.label),
    col(Household.head_name),
    col(Household.address_hint),
    col(Household.assigned_volunteer_id),
    col(Household.review_state),
    col(Household.visit_count),
    col(Household.follow_up_on),
    col(Household.last_visited_at),
    col(Household.search_text),
)


@dataclass(frozen=True)
class HouseholdPage:
    households: list[Any]  # rows of the LISTED columns, read as a Household is
    total: int
    offset: int
    counts: dict[ListFilter, int]

    @property
    def next_offset(self) -> int | None:
        nxt = self.offset + len(self.households)
        return nxt if nxt < self.total else None


def _scoped(statement, scope: Scope):
    statement = statement.join(Village, Village.id == Household.village_id).where(
        Village.commune_id == scope.commune_id,
        Household.review_state != ReviewState.rejected,
    )
    if scope.village_id is not None:
        statement = statement.where(Household.village_id == scope.village_id)
    return statement


def _condition(list_filter: ListFilter, today: date):
    """The SQL condition of a filter tab; None for "all"."""
    if list_filter is ListFilter.todo:
        return Household.visit_count == 0
    if list_filter is ListFilter.follow_up:
        return col(Household.follow_up_on).is_not(None)
    if list_filter is ListFilter.done:
        return and_(col(Household.visit_count) > 0, col(Household.follow_up_on).is_(None))
    return None


def tab_of(household: Household) -> ListFilter:
    """The one tab (other than "all") a household is listed under: the same rule as the SQL
    conditions above, for pages that filter a list on the phone."""
    if household.visit_count == 0:
        return ListFilter.todo
    return ListFilter.follow_up if household.follow_up_on is not None else ListFilter.done


def _filtered(statement, list_filter: ListFilter, today: date):
    condition = _condition(list_filter, today)
    return statement if condition is None else statement.where(condition)


def _searched(statement, text: str):
    for word in fold(text).split()[:6]:
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(col(Household.search_text).like(f"%{escaped}%", escape="\\"))
    return statement


def list_households(
    session: Session,
    member: Member,
    *,
    text: str = "",
    list_filter: ListFilter = ListFilter.all,
    today: date,
    offset: int = 0,
    limit: int | None = PAGE_SIZE,
) -> HouseholdPage:
    """The households a member may see: assigned to them first, then the rest, by village and
    house label. `text` matches accent-insensitively on label, head, address and residents.
    `limit` None lists them all (a village, which the phone keeps whole for offline search)."""
    scope = scope_for(member)
    base = _searched(_scoped(sa.select(*LISTED), scope), text)
    # Follow-ups are listed by date, the most overdue first; the rest by house.
    first = [col(Household.follow_up_on)] if list_filter is ListFilter.follow_up else []
    statement = (
        _filtered(base, list_filter, today)
        .order_by(
            *first,
            case((col(Household.assigned_volunteer_id) == member.id, 0), else_=1),
            Village.name,
            func.length(Household.label),
            Household.label,
            Household.id,
        )
        .offset(max(offset, 0))
        .limit(limit)
    )
    rows = session.execute(statement).all()
    # All four tab counts in one pass over the scope, not one query per tab.
    tallies = [func.count()] + [
        func.coalesce(func.sum(case((condition, 1), else_=0)), 0)
        for condition in (_condition(f, today) for f in ListFilter if f is not ListFilter.all)
    ]
    row = session.exec(
        _searched(_scoped(select(*tallies).select_from(Household), scope), text)
    ).one()
    counts = dict(zip(ListFilter, (int(n) for n in row), strict=True))
    return HouseholdPage(
        households=list(rows), total=counts[list_filter], offset=offset, counts=counts
    )


def refresh_summary(session: Session, household: Household) -> None:
    """Recompute the household's cached search text and visit summary from its residents and
    non-rejected visits, and its share of every indicator. The only writer of those columns.
    Caller commits. Inside `summaries_deferred(session)` it only notes the household, and the
    recount happens once for all noted households when that block ends.

    Holds the household's row lock until the caller commits: two visits to one household
    stored at the same moment are counted one after the other, not each without the other.
    (PostgreSQL; SQLite has no row locks and serialises writers anyway.)"""
    deferred = session.info.get(_DEFERRED_SUMMARIES)
    assert household.id is not None  # a stored household
    if deferred is not None:
        deferred.add(household.id)
        return
    refresh_summaries(session, [household.id])


_DEFERRED_SUMMARIES = "fieldkit.households.deferred_summaries"


@contextmanager
def summaries_deferred(session: Session) -> Iterator[None]:
    """Within this block refresh_summary() only notes households; when the block ends without
    an error, every noted household is recounted at once (refresh_summaries). A sync batch of
    25 visits then recounts once, not 25 times. Noting a household whose change was later
    rolled back (a refused item's savepoint) is harmless: the recount reads what is there.
    On an error nothing is recounted: the caller rolls back. Caller commits."""
    if _DEFERRED_SUMMARIES in session.info:  # nested: the outer block recounts
        yield
        return
    session.info[_DEFERRED_SUMMARIES] = set()
    try:
        yield
    except BaseException:
        session.info.pop(_DEFERRED_SUMMARIES, None)
        raise
    noted = session.info.pop(_DEFERRED_SUMMARIES)
    refresh_summaries(session, sorted(noted))


def search_text(label: str, head_name: str, address_hint: str, names: Sequence[str]) -> str:
    """What the list's search matches: label, head, address and the residents' names, folded."""
    return fold(" ".join([label, head_name, address_hint or "", *names]))


# A thousand ids per statement: well under SQLite's and PostgreSQL's bound-parameter limits.
CHUNK = 1000


def refresh_summaries(session: Session, household_ids: Sequence[int]) -> None:
    """refresh_summary() for many households at once (a sync batch, an import of thousands):
    the same columns by the same rules, in a few statements per thousand households rather
    than a few per household. Rows are locked in id order, so two batches never wait on each
    other in a circle; ids of households that no longer exist are skipped; loaded Household
    objects are expired so they read the new values. Only rows whose values change are
    written. Caller commits."""
    # FOR NO KEY UPDATE, not FOR UPDATE: a visit row just inserted holds a key-share lock on
    # its household (the foreign key), which FOR UPDATE would wait on — two such visits would
    # deadlock.
    ids = sorted(set(household_ids))
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        basics: dict[int, tuple[str, str, str]] = {}
        cached: dict[int, tuple[Any, ...]] = {}
        for row in session.execute(
            sa.select(
                col(Household.id),
                col(Household.label),
                col(Household.head_name),
                col(Household.address_hint),
                col(Household.search_text),
                col(Household.visit_count),
                col(Household.last_visited_at),
                col(Household.follow_up_on),
            )
            .where(col(Household.id).in_(chunk))
            .order_by(col(Household.id))
            .with_for_update(key_share=True)
        ).all():
            basics[row[0]] = row[1:4]
            cached[row[0]] = tuple(row[4:])
        names: dict[int, list[str]] = {household_id: [] for household_id in chunk}
        for household_id, name in session.exec(
            select(Resident.household_id, Resident.name)
            .where(
                col(Resident.household_id).in_(chunk),
                Resident.review_state != ReviewState.rejected,
            )
            .order_by(col(Resident.id))
        ).all():
            names[household_id].append(name)
        latest: dict[int, tuple] = {}
        counted: dict[int, int] = {}
        for household_id, visited_at, follow_up_on in session.exec(
            select(col(Visit.household_id), col(Visit.visited_at), col(Visit.follow_up_on))
            .where(col(Visit.household_id).in_(chunk), Visit.review_state != ReviewState.rejected)
            .order_by(col(Visit.household_id), col(Visit.visited_at).desc(), col(Visit.id).desc())
        ).all():
            latest.setdefault(household_id, (visited_at, follow_up_on))
            counted[household_id] = counted.get(household_id, 0) + 1
        values = []
        for household_id in chunk:
            if household_id not in basics:
                continue
            summary = (
                search_text(*basics[household_id], names[household_id]),
                counted.get(household_id, 0),
                *latest.get(household_id, (None, None)),
            )
            if summary != cached[household_id]:
                values.append(
                    dict(
                        zip(
                            ("id", "search_text", "visit_count", "last_visited_at", "follow_up_on"),
                            (household_id, *summary),
                            strict=True,
                        )
                    )
                )
        if values:
            session.execute(update(Household), values)
        indicators.refresh_progress(session, chunk)
    wanted = set(ids)
    for household in list(session.identity_map.values()):
        if isinstance(household, Household) and household.id in wanted:
            session.expire(household)


def residents_of(session: Session, household: Household) -> list[Resident]:
    assert household.id is not None  # a stored household
    return residents_of_many(session, [household.id]).get(household.id, [])


def residents_of_many(session: Session, household_ids: Sequence[int]) -> dict[int, list[Resident]]:
    """residents_of() for many households in one query: household id → its residents (not
    rejected) in the order they were added. A household without any is left out."""
    found: dict[int, list[Resident]] = {}
    if not household_ids:
        return found
    for resident in session.exec(
        select(Resident)
        .where(
            col(Resident.household_id).in_(list(household_ids)),
            Resident.review_state != ReviewState.rejected,
        )
        .order_by(col(Resident.id))
    ).all():
        found.setdefault(resident.household_id, []).append(resident)
    return found


def refuse_if_erased(household: Household) -> None:
    """A household whose personal data was erased on request takes no new field records."""
    if household.erased_at is not None:
        raise Invalid(
            {
                "form": _(
                    "Dữ liệu của hộ này đã được xóa theo yêu cầu; không ghi thêm "
                    "thông tin cho hộ này được."
                )
            }
        )


# --- field edits ---------------------------------------------------------------------------

BASICS = ("label", "head_name", "address_hint", "smartphones", "internet_at_home")


def digest(*content: Any) -> str:
    """A digest of a field record's content, to tell a replay of its UUID (same digest) from
    other content sent under the same UUID (a conflict)."""
    canonical = json.dumps(content, default=str, ensure_ascii=False)
    # "surrogatepass": raw content from the phone may hold a lone surrogate (refused later,
    # with a message); valid text encodes exactly as UTF-8, so digests already kept stand.
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class HouseholdIn:
    uuid: str
    label: str
    head_name: str
    address_hint: str
    smartphones: int | None
    internet_at_home: bool | None

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> HouseholdIn:
        c = forms.Collector()
        values: dict[str, Any] = dict(  # each field's own type
            uuid=c.field("uuid", lambda: forms.uuid(data.get("uuid"))),
            label=c.field(
                "label",
                lambda: forms.text(
                    data.get("label"), required=True, label=_("số nhà / tên hộ"), max_length=60
                ),
            ),
            head_name=c.field(
                "head_name",
                lambda: forms.text(
                    data.get("head_name"), required=True, label=_("họ tên chủ hộ"), max_length=100
                ),
            ),
            address_hint=c.field(
                "address_hint",
                lambda: forms.refuse_secrets(
                    forms.text(data.get("address_hint"), required=False, label=_("chỉ dẫn địa chỉ"))
                ),
            ),
            smartphones=c.field(
                "smartphones",
                lambda: forms.integer(
                    data.get("smartphones"),
                    label=_("số điện thoại thông minh"),
                    minimum=0,
                    maximum=30,
                ),
            ),
            internet_at_home=c.field(
                "internet_at_home",
                lambda: forms.yes_no(data.get("internet_at_home"), label=_("Internet tại nhà")),
            ),
        )
        c.raise_if_any()
        return cls(**values)

    def fingerprint(self, *context: Any) -> str:
        """The digest of this content; `context` adds what the record is about (the household
        an edit changes)."""
        return digest(*context, self.uuid, *(getattr(self, name) for name in BASICS))


def propose_household(
    session: Session, household_in: HouseholdIn, *, member: Member, now: datetime
) -> tuple[Household, bool]:
    """A household found in the field and not yet on the list: added to the proposer's
    village, pending review, assigned to the proposer. Returns (household, created).

    Safe to replay by UUID: the same content returns the stored household with created False;
    other content raises SyncConflict; either only after the member is found to be allowed to
    see it (Forbidden otherwise). Caller commits."""
    require_can_record(member)
    fingerprint = household_in.fingerprint()
    stored = session.exec(select(Household).where(Household.uuid == household_in.uuid)).first()
    if stored is not None:
        assert stored.id is not None  # a stored household
        check_replay(
            session,
            member,
            household_id=stored.id,
            same=stored.fingerprint == fingerprint,
            conflict=_("Hộ mới này đã được gửi trước đó với nội dung khác."),
        )
        return stored, False
    scope = scope_for(member)
    if scope.village_id is None:
        raise Forbidden(_("Chỉ thành viên của một thôn mới đề xuất hộ mới."))
    household = Household(
        uuid=household_in.uuid,
        village_id=scope.village_id,
        label=household_in.label,
        head_name=household_in.head_name,
        address_hint=household_in.address_hint,
        smartphones=household_in.smartphones,
        internet_at_home=household_in.internet_at_home,
        assigned_volunteer_id=member.id,
        review_state=ReviewState.pending,
        proposed_by_id=member.id,
        fingerprint=fingerprint,
        created_at=now,
    )
    session.add(household)
    session.flush()
    refresh_summary(session, household)
    return household, True


def edit_basics(
    session: Session, household_id: int, household_in: HouseholdIn, *, member: Member, now: datetime
) -> tuple[HouseholdEdit | None, bool]:
    """Apply an edit of the household's basics at once and keep it, with what it changed, as a
    record for review. Returns (edit, created); (None, False) when nothing changed, and then
    nothing is kept.

    Safe to replay by UUID: the same content (same household, same values) returns the stored
    edit with created False and changes nothing; other content raises SyncConflict; either
    only after the member is found to be allowed to see the household. Caller commits."""
    require_can_record(member)
    fingerprint = household_in.fingerprint(household_id)
    stored = session.exec(
        select(HouseholdEdit).where(HouseholdEdit.uuid == household_in.uuid)
    ).first()
    if stored is not None:
        check_replay(
            session,
            member,
            household_id=stored.household_id,
            same=stored.fingerprint == fingerprint,
            conflict=_("Thay đổi này đã được gửi trước đó với nội dung khác."),
        )
        return stored, False
    household = require_household(session, member, household_id)
    refuse_if_erased(household)
    changes = {}
    for name in BASICS:
        before, after = getattr(household, name), getattr(household_in, name)
        if before != after:
            changes[name] = {"before": before, "after": after}
            setattr(household, name, after)
    if not changes:
        return None, False
    assert household.id is not None and member.id is not None  # stored rows
    edit = HouseholdEdit(
        uuid=household_in.uuid,
        household_id=household.id,
        member_id=member.id,
        changes=changes,
        fingerprint=fingerprint,
        created_at=now,
    )
    session.add(edit)
    refresh_summary(session, household)
    return edit, True


@dataclass(frozen=True)
class ResidentIn:
    uuid: str
    name: str
    birth_year: int | None
    sex: Sex | None
    relation: str
    phone: str | None

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, today: date) -> ResidentIn:
        c = forms.Collector()
        phone = c.field(
            "phone",
            lambda: forms.refuse_secrets(
                forms.text(
                    data.get("phone"), required=False, label=_("số điện thoại"), max_length=40
                )
            ),
        )
        if phone:
            digits = phone.replace(" ", "").replace(".", "").replace("-", "")
            if digits.startswith("+84"):
                digits = "0" + digits[3:]
            if not (digits.isascii() and digits.isdigit() and 9 <= len(digits) <= 11):
                c.add("phone", _("Số điện thoại gồm 10 chữ số, ví dụ 0912345678."))
            phone = digits
        values: dict[str, Any] = dict(  # each field's own type
            uuid=c.field("uuid", lambda: forms.uuid(data.get("uuid"))),
            name=c.field(
                "name",
                lambda: forms.text(
                    data.get("name"), required=True, label=_("họ tên"), max_length=100
                ),
            ),
            birth_year=c.field(
                "birth_year",
                lambda: forms.integer(
                    data.get("birth_year"), label=_("năm sinh"), minimum=1900, maximum=today.year
                ),
            ),
            sex=c.field(
                "sex",
                lambda: forms.choice(data.get("sex"), Sex, label=_("giới tính"), required=False),
            ),
            relation=c.field(
                "relation",
                lambda: forms.text(
                    data.get("relation"),
                    required=False,
                    label=_("quan hệ với chủ hộ"),
                    max_length=40,
                ),
            ),
        )
        c.raise_if_any()
        return cls(phone=phone or None, **values)

    def fingerprint(self, household_id: int) -> str:
        return digest(
            household_id, self.uuid, self.name, self.birth_year, self.sex, self.relation, self.phone
        )


def add_resident(
    session: Session, household_id: int, resident_in: ResidentIn, *, member: Member, now: datetime
) -> tuple[Resident, bool]:
    """Add a resident found at the door; pending review. Returns (resident, created).

    Safe to replay by UUID: the same content (same household too) returns the stored resident
    with created False; other content raises SyncConflict; either only after the member is
    found to be allowed to see the resident's household. Caller commits."""
    require_can_record(member)
    fingerprint = resident_in.fingerprint(household_id)
    stored = session.exec(select(Resident).where(Resident.uuid == resident_in.uuid)).first()
    if stored is not None:
        check_replay(
            session,
            member,
            household_id=stored.household_id,
            same=stored.fingerprint == fingerprint,
            conflict=_("Nhân khẩu này đã được gửi trước đó với nội dung khác."),
        )
        return stored, False
    household = require_household(session, member, household_id)
    refuse_if_erased(household)
    assert household.id is not None  # a stored household
    resident = Resident(
        uuid=resident_in.uuid,
        household_id=household.id,
        name=resident_in.name,
        birth_year=resident_in.birth_year,
        sex=resident_in.sex,
        relation=resident_in.relation,
        phone=resident_in.phone,
        review_state=ReviewState.pending,
        added_by_id=member.id,
        fingerprint=fingerprint,
        created_at=now,
    )
    session.add(resident)
    session.flush()
    refresh_summary(session, household)
    return resident, True
