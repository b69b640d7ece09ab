"""Sync ingest: a batch from a phone's outbox, each item stored once by its UUID and answered
on its own (DESIGN.md §4).

An item is `{"id": uuid, "kind": ..., "payload": {...}}`; the payload has the field names of
the HTML form the outbox serialised (values as form strings or JSON numbers and booleans).
Records made on the phone name each other by UUID before they have server ids: a payload may
give `household_uuid` for `household_id`, and a visit line `resident_uuid` for `resident_id`.

Transactions. fieldkit commits nothing of its own accord; the batch hands its commit to its
caller. `ingest()` stores a whole batch in one transaction, each item in a savepoint of its
own: a refused item (invalid, forbidden, conflict, duplicate) rolls back to its savepoint, so it
leaves nothing behind and never undoes an item before it (a batch of visits alone first runs
without savepoints — a visit writes nothing until it is fully checked — and runs again with
them if anything fails); an item that fails for a reason
nobody foresaw (a bug) rolls back its savepoint too, is logged, and answers invalid with a
plain message — the rest of the batch is stored. Once every item is settled, the households
the batch touched are recounted once (households.summaries_deferred) and the caller's
`commit()` is called once. The caller passes a session with no other pending work, and usually
`commit=session.commit`. `ingest_one()` stages a single item and leaves its commit, and the
race below, to its caller.

Races. Two sends of one item at once (a double tap, two tabs, a retry crossing a slow answer,
two app servers) both find no row and both insert; the database's unique index on the UUID
lets one through and the other's insert fails with IntegrityError (on PostgreSQL it first waits
for the other transaction to end). `ingest()` then rolls back that item's savepoint and looks
again, and the row the first one stored answers duplicate (or conflict). On SQLite a batch
takes the write lock first (db.begin_write), so batches simply take turns. Two PostgreSQL
batches that lock rows in opposite orders (the same households in another order) can deadlock:
the database stops one, which is rolled back whole and run again (BATCH_ATTEMPTS).
"""

from __future__ import annotations

import enum
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session, col, select

from fieldkit import forms, households, policy, prefetch, privacy, review, visits
from fieldkit.db import begin_write
from fieldkit.errors import DomainError, Forbidden, Invalid, NotFound, SyncConflict
from fieldkit.households import HouseholdIn, ResidentIn
from fieldkit.i18n import _
from fieldkit.models import Household, Member, RecordKind, Resident
from fieldkit.visits import VisitIn

MAX_ITEMS = 100
# How often one item is tried when a concurrent send of the same UUID wins the insert. The
# second try finds that row; a third covers a row that vanished again (a rolled-back racer).
ATTEMPTS = 3
# How often a whole batch is run when PostgreSQL stops it to break a deadlock (or a
# serialization failure): the other transaction goes through, this one is run again.
BATCH_ATTEMPTS = 3
_RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure
log = logging.getLogger(__name__)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_FORM_RESIDENT_UUID = re.compile(r"lines-(\d{1,3})-resident_uuid")


class Kind(enum.StrEnum):
    visit = "visit"
    resident = "resident"
    household = "household"  # a household found in the field, proposed for the list
    household_edit = "household_edit"
    consent = "consent"  # the household's consent to keep its personal data
    revision = "revision"  # a returned record, fixed and sent again (fieldkit.review)


class Status(enum.StrEnum):
    stored = "stored"  # new, kept; pending review
    duplicate = "duplicate"  # the server already had exactly this; nothing changed
    conflict = "conflict"  # this UUID was sent before with other content; nothing changed
    invalid = "invalid"  # the content needs fixing: `errors` says where
    forbidden = "forbidden"  # outside the member's scope or role


class BadBatch(DomainError):
    """The body is not a batch at all; no item was looked at. The message says why."""


class BatchTooLarge(BadBatch):
    pass


@dataclass(frozen=True)
class SyncItem:
    """One outbox item as it came: `id` is a well-formed UUID (checked by parse_batch);
    `kind` and `payload` are whatever was sent and are checked item by item."""

    id: str
    kind: Any
    payload: Any


@dataclass(frozen=True)
class ItemResult:
    """The answer for one item. `errors` (field name → message) only when invalid;
    `household_id` — the household the record is or belongs to — only when stored or
    duplicate, so the phone can open its page; `notice` — something the person should know
    about a record that was stored all the same (a visit that looks like another) — only
    when stored."""

    id: str
    status: Status
    message: str
    errors: dict[str, str] | None = None
    household_id: int | None = None
    notice: str | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"id": self.id, "status": self.status.value, "message": self.message}
        if self.errors:
            body["errors"] = dict(self.errors)
        if self.household_id is not None:
            body["household_id"] = self.household_id
        if self.notice:
            body["notice"] = self.notice
        return body


STORED = {
    Kind.visit: _("Đã lưu lượt thăm. Lượt thăm đang chờ xã duyệt."),
    Kind.resident: _("Đã lưu nhân khẩu. Nhân khẩu đang chờ xã duyệt."),
    Kind.household: _("Đã lưu hộ mới. Hộ đang chờ xã duyệt."),
    Kind.household_edit: _("Đã lưu thông tin hộ."),
    Kind.consent: _("Đã ghi nhận sự đồng ý của hộ."),
    Kind.revision: _("Đã gửi lại bản sửa. Hồ sơ đang chờ xã duyệt lại."),
}
DUPLICATE = _("Máy chủ đã có bản ghi này từ lần gửi trước; không lưu thêm.")
UNCHANGED = _("Thông tin hộ không có gì thay đổi.")
INVALID = _("Dữ liệu chưa hợp lệ. Sửa các ô được đánh dấu rồi gửi lại.")
UNEXPECTED = _(
    "Máy chủ gặp lỗi khi lưu mục này nên chưa lưu nó; các mục khác vẫn được lưu. "
    "Hãy gửi lại mục này sau, và báo tổ trưởng nếu lỗi còn lặp lại."
)


def parse_batch(body: Any) -> list[SyncItem]:
    """The items of a decoded JSON body `{"items": [{"id", "kind", "payload"}, ...]}`.
    Raises BadBatch (BatchTooLarge past MAX_ITEMS) when the body is not such a batch or an
    item has no well-formed UUID to answer under; kinds and payloads are left to ingest()."""
    if not isinstance(body, dict):
        raise BadBatch(_('Dữ liệu gửi lên phải là một đối tượng JSON có danh sách "items".'))
    raw_items = body.get("items")
    if not isinstance(raw_items, list):
        raise BadBatch(_('Thiếu danh sách "items" trong dữ liệu gửi lên.'))
    if len(raw_items) > MAX_ITEMS:
        raise BatchTooLarge(
            _(
                "Mỗi lần gửi tối đa %(MAX_ITEMS)s mục; hãy chia nhỏ rồi gửi lại.",
                MAX_ITEMS=MAX_ITEMS,
            )
        )
    items = []
    for position, raw in enumerate(raw_items, start=1):
        if not isinstance(raw, dict):
            raise BadBatch(
                _("Mục thứ %(position)s không phải là một đối tượng JSON.", position=position)
            )
        item_id = raw.get("id")
        if not isinstance(item_id, str) or not _UUID.fullmatch(item_id):
            raise BadBatch(
                _("Mục thứ %(position)s không có mã (id) UUID hợp lệ.", position=position)
            )
        items.append(SyncItem(id=item_id, kind=raw.get("kind"), payload=raw.get("payload")))
    return items


def ingest(
    session: Session,
    items: Sequence[SyncItem],
    *,
    member: Member,
    now: datetime,
    commit: Callable[[], None],
) -> list[ItemResult]:
    """Store the batch in one transaction, each item in a savepoint of its own, in order; one
    result per item, in order. Calls `commit()` once, after the last item, when any item was
    stored, and rolls `session` back otherwise. Safe to replay: a batch sent again answers
    duplicate item by item and changes nothing. See the module docstring (Transactions)."""
    attempt = 1
    while True:
        try:
            return _ingest_batch(session, items, member=member, now=now, commit=commit)
        except OperationalError as error:
            session.rollback()
            if _sqlstate(error) not in _RETRYABLE_SQLSTATES or attempt == BATCH_ATTEMPTS:
                raise
            log.warning("sync batch of %d items run again after %s", len(items), _sqlstate(error))
            attempt += 1


def _ingest_batch(
    session: Session,
    items: Sequence[SyncItem],
    *,
    member: Member,
    now: datetime,
    commit: Callable[[], None],
) -> list[ItemResult]:
    visits_only = bool(items) and all(item.kind == Kind.visit.value for item in items)
    if visits_only:
        # A visit is checked in full before anything of it is written, so a refused visit
        # leaves nothing to undo: the batch first runs without a savepoint per item (two
        # round trips fewer per visit). Anything that goes wrong then — a concurrent send
        # of the same UUID, a bug — undoes the whole attempt, and the batch runs again with
        # a savepoint per item, where each item answers for itself.
        try:
            results = _run(session, items, member=member, now=now, savepoints=False)
        except Exception as error:
            session.rollback()
            log.info("sync batch run again item by item after %s", error.__class__.__name__)
            results = _run(session, items, member=member, now=now, savepoints=True)
    else:
        results = _run(session, items, member=member, now=now, savepoints=True)
    if any(result.status is Status.stored for result in results):
        commit()
    else:
        session.rollback()
    return results


def _run(
    session: Session, items: Sequence[SyncItem], *, member: Member, now: datetime, savepoints: bool
) -> list[ItemResult]:
    begin_write(session)
    _prefetch(session, items)
    settle = _settle if savepoints else _settle_plain
    try:
        with households.summaries_deferred(session):
            return [settle(session, item, member=member, now=now) for item in items]
    finally:
        prefetch.done(session)


def _settle_plain(session: Session, item: SyncItem, *, member: Member, now: datetime) -> ItemResult:
    """One visit without a savepoint: refused before it writes, or written whole."""
    result = ingest_one(session, item, member=member, now=now)
    if result.status is Status.stored:
        session.flush()
    return result


def _prefetch(session: Session, items: Sequence[SyncItem]) -> None:
    """A batch of visits alone reads its visits' UUIDs, households, residents and the
    catalogue once (fieldkit.prefetch); any other batch reads item by item."""
    if not items or any(item.kind != Kind.visit.value for item in items):
        return
    household_ids = set()
    for item in items:
        raw = item.payload.get("household_id") if isinstance(item.payload, Mapping) else None
        number = raw if isinstance(raw, int) and not isinstance(raw, bool) else None
        if isinstance(raw, str) and re.fullmatch(r"[0-9]{1,18}", raw.strip()):
            number = int(raw)
        # Anything else, or an id no row can have (PostgreSQL's are 32-bit: a larger one in a
        # query is a database error, not "not found"), is left to the item's own parsing.
        if number is not None and 0 < number <= forms.MAX_ID:
            household_ids.add(number)
    prefetch.visits_batch(session, {item.id.lower() for item in items}, household_ids)


def _sqlstate(error: DBAPIError) -> str | None:
    return getattr(error.orig, "sqlstate", None)


def _settle(session: Session, item: SyncItem, *, member: Member, now: datetime) -> ItemResult:
    attempt = 1
    while True:
        savepoint = session.begin_nested()
        try:
            result = ingest_one(session, item, member=member, now=now)
            if result.status is Status.stored:
                session.flush()  # a failure of this item surfaces inside its own savepoint
                savepoint.commit()
            else:
                savepoint.rollback()
            return result
        except IntegrityError:
            # Someone stored this UUID since we looked: look again (module docstring, Races).
            savepoint.rollback()
            prefetch.forget_visit(session, item.id.lower())
            if attempt == ATTEMPTS:
                raise
            attempt += 1
        except (OperationalError, PoolTimeout):
            # The database, not this item: a deadlock (the batch is run again), a lost
            # connection, a full pool. The whole batch answers for it.
            savepoint.rollback()
            raise
        except Exception:
            # A bug met by this item only: it answers for itself, the rest of the batch goes on.
            savepoint.rollback()
            prefetch.forget_visit(session, item.id.lower())
            log.exception("sync item %s (%r) failed unexpectedly", item.id, item.kind)
            return ItemResult(item.id, Status.invalid, UNEXPECTED, errors={"form": UNEXPECTED})


def ingest_one(session: Session, item: SyncItem, *, member: Member, now: datetime) -> ItemResult:
    """Stage one item in `session` and say what became of it. Commits nothing: the caller
    commits when the status is stored and rolls back otherwise (a refusal may come after
    rows were flushed). Raises IntegrityError when another transaction stored the same UUID
    after this one looked: roll back and call again, and it answers duplicate or conflict."""
    try:
        policy.require_can_record(member)
        if not isinstance(item.kind, str) or item.kind not in Kind.__members__:
            raise Invalid({"kind": _("Loại bản ghi không được hỗ trợ. Hãy cập nhật ứng dụng.")})
        kind = Kind(item.kind)
        data = _payload(item)
        household_id, created, message = _INGEST[kind](session, data, member=member, now=now)
    except Invalid as invalid:
        return ItemResult(
            item.id, Status.invalid, INVALID, errors=invalid.errors or {"form": INVALID}
        )
    except (Forbidden, NotFound) as refused:
        return ItemResult(item.id, Status.forbidden, str(refused))
    except SyncConflict as conflict:
        return ItemResult(item.id, Status.conflict, str(conflict))
    if created:
        # A kind says something of a new record only when the person should hear it.
        return ItemResult(
            item.id,
            Status.stored,
            f"{STORED[kind]} {message}" if message else STORED[kind],
            household_id=household_id,
            notice=message,
        )
    return ItemResult(item.id, Status.duplicate, message or DUPLICATE, household_id=household_id)


def _payload(item: SyncItem) -> dict[str, Any]:
    """The payload with its `uuid` the item's id, which it must equal when it gives one."""
    if not isinstance(item.payload, Mapping):
        raise Invalid({"payload": _("Nội dung của mục gửi lên không hợp lệ.")})
    data = dict(item.payload)
    item_uuid = item.id.lower()
    given = data.get("uuid")
    if not _blank(given):
        c = forms.Collector()
        given_uuid = c.field("uuid", lambda: forms.uuid(given))
        c.raise_if_any()
        if given_uuid != item_uuid:
            raise Invalid({"uuid": _("Mã bản ghi không khớp với mã của mục gửi lên.")})
    data["uuid"] = item_uuid
    return data


# --- the kinds -------------------------------------------------------------------------------
# Each stages its record and returns (household id, created, message or None for the usual);
# a message with created True is a notice added to the usual one (ItemResult.notice).


def _visit(
    session: Session, data: dict[str, Any], *, member: Member, now: datetime
) -> tuple[int, bool, str | None]:
    c = forms.Collector()
    household_id = _household_ref(session, data, c)
    data, unresolved = _with_resident_ids(session, data, c)
    try:
        visit_in = VisitIn.parse(data, household_id=household_id or 0)
    except Invalid as invalid:
        for name, message in invalid.errors.items():
            # A line whose resident_uuid is unknown has its message there already.
            if not (name.endswith("-resident_id") and name[: -len("resident_id")] in unresolved):
                c.add(name, message)
    c.raise_if_any()
    visit, created = visits.log_visit(session, visit_in, volunteer=member, now=now)
    twin = visits.possible_duplicate_of(session, visit) if created else None
    return visit.household_id, created, visits.duplicate_notice(twin) if twin else None


def _resident(
    session: Session, data: dict[str, Any], *, member: Member, now: datetime
) -> tuple[int, bool, str | None]:
    c = forms.Collector()
    household_id = _household_ref(session, data, c)
    resident_in = _parsed(c, lambda: ResidentIn.parse(data, today=forms.local_today(now)))
    c.raise_if_any()
    assert household_id is not None  # refused by raise_if_any otherwise
    resident, created = households.add_resident(
        session, household_id, resident_in, member=member, now=now
    )
    return resident.household_id, created, None


def _household(
    session: Session, data: dict[str, Any], *, member: Member, now: datetime
) -> tuple[int, bool, str | None]:
    household, created = households.propose_household(
        session, HouseholdIn.parse(data), member=member, now=now
    )
    assert household.id is not None  # a stored household
    return household.id, created, None


def _household_edit(
    session: Session, data: dict[str, Any], *, member: Member, now: datetime
) -> tuple[int, bool, str | None]:
    c = forms.Collector()
    household_id = _household_ref(session, data, c)
    household_in = _parsed(c, lambda: HouseholdIn.parse(data))
    c.raise_if_any()
    assert household_id is not None  # refused by raise_if_any otherwise
    edit, created = households.edit_basics(
        session, household_id, household_in, member=member, now=now
    )
    if edit is None:  # nothing changed, so nothing to keep and nothing lost
        return household_id, False, UNCHANGED
    return edit.household_id, created, None


def _consent(
    session: Session, data: dict[str, Any], *, member: Member, now: datetime
) -> tuple[int, bool, str | None]:
    c = forms.Collector()
    household_id = _household_ref(session, data, c)
    consent_in = _parsed(c, lambda: privacy.ConsentIn.parse(data, today=forms.local_today(now)))
    c.raise_if_any()
    assert household_id is not None  # refused by raise_if_any otherwise
    household, created = privacy.record_consent(
        session, household_id, consent_in, member=member, now=now
    )
    assert household.id is not None  # a stored household
    return household.id, created, None


def _revision(
    session: Session, data: dict[str, Any], *, member: Member, now: datetime
) -> tuple[int, bool, str | None]:
    """A returned record, fixed: `record_kind`, `record_uuid`, `base_revision` (the revision
    that was returned) and the record's fields as its own kind sends them. The item's id is
    a new UUID made on the phone for this resubmission (fieldkit.review.resubmit)."""
    policy.require_can_record(member)
    c = forms.Collector()
    record_kind = c.field(
        "record_kind",
        lambda: forms.choice(data.get("record_kind"), RecordKind, label=_("loại hồ sơ")),
    )
    record_uuid = c.field("record_uuid", lambda: forms.uuid(data.get("record_uuid")))
    base_revision = c.field(
        "base_revision",
        lambda: forms.integer(
            data.get("base_revision"), label=_("lần sửa"), minimum=1, maximum=10**6, required=True
        ),
    )
    c.raise_if_any()
    # Each was refused (an error kept) when missing.
    assert record_kind is not None and record_uuid is not None and base_revision is not None
    if record_kind is RecordKind.visit:
        data, _unused = _with_resident_ids(session, data, c)
        c.raise_if_any()
    try:
        household_id, created = review.resubmit(
            session,
            member=member,
            kind=record_kind,
            record_uuid=record_uuid,
            base_revision=base_revision,
            data=data,
            item_uuid=data["uuid"],
            now=now,
        )
    except review.ReviewRefused as refused:
        raise Invalid({"form": str(refused)}) from None
    return household_id, created, None


_INGEST = {
    Kind.visit: _visit,
    Kind.resident: _resident,
    Kind.household: _household,
    Kind.household_edit: _household_edit,
    Kind.consent: _consent,
    Kind.revision: _revision,
}


def _parsed(c: forms.Collector, parse: Callable[[], Any]) -> Any:
    """Run an input model's parse, adding its messages to `c` rather than raising."""
    try:
        return parse()
    except Invalid as invalid:
        for name, message in invalid.errors.items():
            c.add(name, message)
        return None


# --- references by UUID ----------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _household_ref(session: Session, data: Mapping[str, Any], c: forms.Collector) -> int | None:
    """The household the payload is about: `household_id`, or `household_uuid` for one
    proposed from the phone (in this batch or an earlier one). Messages go to `c`."""
    raw_id, raw_uuid = data.get("household_id"), data.get("household_uuid")
    by_id = by_uuid = None
    if not _blank(raw_id):
        by_id = c.field(
            "household_id",
            lambda: forms.integer(raw_id, label=_("mã hộ"), minimum=1, maximum=forms.MAX_ID),
        )
    if not _blank(raw_uuid):
        household_uuid = c.field("household_uuid", lambda: forms.uuid(raw_uuid))
        if household_uuid is not None:
            by_uuid = session.exec(
                select(Household.id).where(Household.uuid == household_uuid)
            ).first()
            if by_uuid is None:
                c.add(
                    "household_uuid",
                    _(
                        "Máy chủ chưa có hộ này. Hộ mới phải được gửi và lưu trước các bản "
                        "ghi của hộ."
                    ),
                )
    if _blank(raw_id) and _blank(raw_uuid):
        c.add("household_id", _("Thiếu hộ. Hãy mở lại trang của hộ rồi nhập lại."))
    if by_id is not None and by_uuid is not None and by_id != by_uuid:
        c.add("household_uuid", _("Mã hộ và mã UUID của hộ không khớp nhau."))
    return by_id if by_id is not None else by_uuid


def _with_resident_ids(
    session: Session, data: dict[str, Any], c: forms.Collector
) -> tuple[dict[str, Any], set[str]]:
    """A copy of the visit payload with each line's `resident_uuid` turned into its
    `resident_id`, for lines given as a `lines` list or as `lines-N-…` form fields; and the
    field-name prefixes ("lines-N-") of lines whose resident is not known (messages in `c`)."""
    data = dict(data)
    # (the line's field-name prefix, where its resident_id goes, under which key, the uuid)
    refs: list[tuple[str, dict[str, Any], str, Any]] = []
    if isinstance(data.get("lines"), list):
        data["lines"] = [dict(raw) if isinstance(raw, Mapping) else raw for raw in data["lines"]]
        for index, line in enumerate(data["lines"]):
            if isinstance(line, dict) and not _blank(line.get("resident_uuid")):
                refs.append((f"lines-{index}-", line, "resident_id", line["resident_uuid"]))
    else:
        for key, value in list(data.items()):
            match = _FORM_RESIDENT_UUID.fullmatch(key)
            if match and not _blank(value):
                prefix = f"lines-{int(match[1])}-"
                refs.append((prefix, data, prefix + "resident_id", value))

    wanted = {
        prefix: c.field(prefix + "resident_uuid", partial(forms.uuid, raw))
        for prefix, _line, _id_key, raw in refs
    }
    uuids = {value for value in wanted.values() if value is not None}
    known = (
        dict(
            session.exec(
                select(Resident.uuid, Resident.id).where(col(Resident.uuid).in_(uuids))
            ).all()
        )
        if uuids
        else {}
    )
    unresolved = set()
    for prefix, line, id_key, _unused in refs:
        resident_uuid = wanted[prefix]
        resident_id = known.get(resident_uuid) if resident_uuid is not None else None
        given = line.get(id_key)
        if resident_id is None:
            unresolved.add(prefix)
            c.add(
                prefix + "resident_uuid",
                _("Máy chủ chưa có người này. Nhân khẩu mới phải được gửi và lưu trước lượt thăm."),
            )
        elif _blank(given) or str(given).strip() == str(resident_id):
            line[id_key] = resident_id
        else:
            c.add(prefix + "resident_uuid", _("Mã người được hỗ trợ và mã UUID không khớp nhau."))
    return data, unresolved
