"""Sync ingest on SQLite and PostgreSQL: each item stored once by its UUID and answered on its
own; references by UUID between records made on the phone; races between two sends."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import select

from fieldkit import visits
from fieldkit.db import new_session
from fieldkit.models import Assistance, Household, HouseholdEdit, Resident, ReviewState, Visit
from fieldkit.policy import scope_for
from fieldkit.reporting import indicators
from fieldkit.sync import (
    DUPLICATE,
    INVALID,
    MAX_ITEMS,
    UNCHANGED,
    UNEXPECTED,
    BadBatch,
    BatchTooLarge,
    ItemResult,
    Status,
    SyncItem,
    ingest,
    parse_batch,
)
from tests.conftest import NOW
from tests.factories import new_uuid
from tests.fieldkit.helpers import count, line, visit_payload

OUT_OF_SCOPE = "Hộ này không thuộc phạm vi của bạn."
STAFF_REFUSED = "Chỉ thành viên Tổ CNSCĐ và tổ trưởng ghi nhận hỗ trợ tại hộ."


def item(kind: str, payload, item_id: str | None = None) -> SyncItem:
    """An outbox item; its id is the payload's uuid, or a fresh one."""
    if item_id is None:
        item_id = payload.get("uuid") if isinstance(payload, dict) else None
    return SyncItem(id=item_id or new_uuid(), kind=kind, payload=payload)


def visit(household, **fields) -> SyncItem:
    return item("visit", {"household_id": household.id, **visit_payload(**fields)})


def resident(household=None, **fields) -> SyncItem:
    target = {"household_id": household.id} if household is not None else {}
    return item(
        "resident",
        {
            "uuid": new_uuid(),
            "name": "Nguyễn Thị Mai",
            "birth_year": "2001",
            "sex": "female",
            "relation": "Con",
            **target,
            **fields,
        },
    )


def proposal(**fields) -> SyncItem:
    return item(
        "household", {"uuid": new_uuid(), "label": "27", "head_name": "Vũ Thị Hoa", **fields}
    )


def edit(household, **fields) -> SyncItem:
    basics = {
        "label": household.label,
        "head_name": household.head_name,
        "address_hint": "",
        "smartphones": "",
        "internet_at_home": "",
    }
    return item(
        "household_edit", {"uuid": new_uuid(), "household_id": household.id, **basics, **fields}
    )


def send(session, member, *items: SyncItem) -> list[ItemResult]:
    return ingest(session, list(items), member=member, now=NOW, commit=session.commit)


def statuses(results: list[ItemResult]) -> list[str]:
    return [result.status.value for result in results]


def one(session, model, *where):
    return session.exec(select(model).where(*where)).one()


def counts(session) -> tuple[int, int, int, int, int]:
    return (
        count(session, Household),
        count(session, Resident),
        count(session, Visit),
        count(session, Assistance),
        count(session, HouseholdEdit),
    )


# --- each kind -------------------------------------------------------------------------------


def test_a_visit_is_stored_pending_with_its_lines(session, world):
    sent = visit(world.household, lines=[line(world.head, device="own")])
    (result,) = send(session, world.volunteer, sent)
    assert (result.status, result.id, result.household_id) == (
        Status.stored,
        sent.id,
        world.household.id,
    )
    assert "chờ xã duyệt" in result.message
    stored = one(session, Visit)
    assert (stored.uuid, stored.review_state, stored.volunteer_id) == (
        sent.id,
        ReviewState.pending,
        world.volunteer.id,
    )
    assert one(session, Assistance).resident_id == world.head.id
    assert session.get(Household, world.household.id).visit_count == 1


def test_a_resident_is_stored_pending_in_the_household(session, world):
    sent = resident(world.household)
    (result,) = send(session, world.volunteer, sent)
    assert result.status is Status.stored
    stored = one(session, Resident, Resident.uuid == sent.id)
    assert (stored.household_id, stored.name, stored.birth_year, stored.review_state) == (
        world.household.id,
        "Nguyễn Thị Mai",
        2001,
        ReviewState.pending,
    )


def test_a_proposed_household_joins_my_village_pending(session, world):
    sent = proposal(smartphones=2, internet_at_home=True)  # JSON numbers and booleans
    (result,) = send(session, world.volunteer, sent)
    stored = one(session, Household, Household.uuid == sent.id)
    assert result.status is Status.stored and result.household_id == stored.id
    assert (stored.village_id, stored.review_state, stored.assigned_volunteer_id) == (
        world.village.id,
        ReviewState.pending,
        world.volunteer.id,
    )
    assert (stored.smartphones, stored.internet_at_home) == (2, True)


def test_a_household_edit_is_applied_and_kept_for_review(session, world):
    (result,) = send(session, world.volunteer, edit(world.household, label="12A", smartphones="2"))
    assert result.status is Status.stored and result.household_id == world.household.id
    session.expire_all()
    assert session.get(Household, world.household.id).label == "12A"
    assert one(session, HouseholdEdit).changes["label"] == {"before": "12", "after": "12A"}


def test_an_edit_that_changes_nothing_is_acknowledged_and_keeps_nothing(session, world):
    (result,) = send(session, world.volunteer, edit(world.household))
    assert (result.status, result.message, result.household_id) == (
        Status.duplicate,
        UNCHANGED,
        world.household.id,
    )
    assert count(session, HouseholdEdit) == 0


def test_a_visit_sent_as_form_fields_is_stored(session, world):
    form = {
        "uuid": new_uuid(),
        "household_id": str(world.household.id),
        "visited_at": "2026-11-20T09:30",
        "outcome": "met",
        "notes": "",
        "lines-0-resident_id": str(world.head.id),
        "lines-0-service_code": "vneid_level1",
        "lines-0-result": "done",
        "lines-2-resident_id": str(world.spouse.id),
        "lines-2-service_code": "health_book",
        "lines-2-result": "failed",
        "lines-2-reason": "no_smartphone",
        "smartphones": "1",
        "internet_at_home": "no",
    }
    (result,) = send(session, world.volunteer, item("visit", form))
    assert result.status is Status.stored
    assert count(session, Assistance) == 2
    household = session.get(Household, world.household.id)
    assert (household.smartphones, household.internet_at_home) == (1, False)


# --- one item at a time ----------------------------------------------------------------------


def test_an_invalid_item_between_two_good_ones_leaves_them_stored(engine, session, world):
    results = send(
        session,
        world.volunteer,
        visit(world.household),
        visit(world.household, visited_at="2026-11-21T09:30"),  # tomorrow
        resident(world.household),
    )
    assert statuses(results) == ["stored", "invalid", "stored"]
    assert results[1].errors == {"visited_at": "Thời gian thăm không thể ở tương lai."}
    assert results[1].message == INVALID
    # Committed with the batch: another connection sees both good items.
    with new_session(engine) as other:
        assert (count(other, Visit), count(other, Resident)) == (1, 5)


@pytest.mark.parametrize("last", ["resident", "visit"])  # a mixed batch; visits alone
def test_an_item_failing_for_an_unforeseen_reason_answers_alone(
    engine, session, world, monkeypatch, caplog, last
):
    # A bug met by one item (here: logging a visit to the neighbour blows up) must not take
    # the batch down: that item answers invalid with a plain message and is logged; the items
    # around it are stored, and nothing of the failed item is left behind.
    log_visit = visits.log_visit

    def failing_for_the_neighbour(session, visit_in, **kwargs):
        if visit_in.household_id == world.neighbour.id:
            session.flush()
            raise RuntimeError("a bug nobody foresaw")
        return log_visit(session, visit_in, **kwargs)

    monkeypatch.setattr(visits, "log_visit", failing_for_the_neighbour)
    broken = visit(world.neighbour)
    third = resident(world.household) if last == "resident" else visit(world.household)
    results = send(session, world.volunteer, visit(world.household), broken, third)
    assert statuses(results) == ["stored", "invalid", "stored"]
    assert results[1].message == UNEXPECTED
    assert results[1].errors == {"form": UNEXPECTED}
    assert broken.id in caplog.text and "a bug nobody foresaw" in caplog.text
    with new_session(engine) as other:
        stored = (1, 5) if last == "resident" else (2, 4)
        assert (count(other, Visit), count(other, Resident)) == stored
        assert other.get(Household, world.neighbour.id).visit_count == 0


def test_a_batch_counts_every_household_it_touched_once_at_the_end(session, world):
    # The households a batch touched are recounted once, after its last item: the numbers
    # must equal a recount from scratch, and a refused item must not be counted.
    results = send(
        session,
        world.volunteer,
        visit(world.household, lines=[line(world.head), line(world.spouse)]),
        visit(world.neighbour),
        visit(world.household, visited_at="2026-11-21T09:30"),  # tomorrow: refused
        visit(world.household, lines=[line(world.head, service_code="dvcqg_login")]),
    )
    assert statuses(results) == ["stored", "stored", "invalid", "stored"]
    session.expire_all()
    assert session.get(Household, world.household.id).visit_count == 2
    assert session.get(Household, world.neighbour.id).visit_count == 1
    scope = scope_for(world.staff)
    assert indicators.village_indicators(session, scope=scope) == indicators.recount(
        session, scope=scope
    )


def test_one_visit_twice_in_a_batch_is_stored_once_and_other_content_conflicts(session, world):
    # A batch of visits reads its UUIDs once at the start (fieldkit.prefetch): a visit repeated
    # later in the same batch must still be found, with the same or other content.
    sent = visit(world.household, lines=[line(world.head)])
    changed = SyncItem(id=sent.id, kind="visit", payload={**sent.payload, "notes": "Khác"})
    results = send(session, world.volunteer, sent, visit(world.neighbour), sent, changed)
    assert statuses(results) == ["stored", "stored", "duplicate", "conflict"]
    assert count(session, Visit) == 2
    assert count(session, Assistance) == 1


@pytest.mark.parametrize("household_id", ["²", "١٢", " 12 ", "9" * 40, -3, True, 2.5, None, [1]])
def test_a_batch_of_visits_with_odd_household_ids_answers_item_by_item(
    session, world, household_id
):
    # The batch reads its households up front (fieldkit.prefetch) from ids it has not parsed
    # yet: whatever a phone sends there, each item still answers for itself, never a crash.
    odd = item("visit", {**visit_payload(), "household_id": household_id})
    results = send(session, world.volunteer, odd, visit(world.household))
    assert results[1].status is Status.stored
    assert results[0].status in (Status.invalid, Status.forbidden, Status.stored)


def test_a_replayed_batch_is_all_duplicate_and_changes_nothing(session, world):
    batch = [
        visit(world.household, lines=[line(world.head)]),
        resident(world.household),
        proposal(),
        edit(world.neighbour, address_hint="Cạnh cầu"),
    ]
    assert statuses(send(session, world.volunteer, *batch)) == ["stored"] * 4
    before = counts(session)
    household = session.get(Household, world.household.id)
    summary = (household.visit_count, household.last_visited_at, household.search_text)

    again = send(session, world.volunteer, *batch)

    assert statuses(again) == ["duplicate"] * 4
    assert {result.message for result in again} == {DUPLICATE}
    assert [r.household_id for r in again] == [
        world.household.id,
        world.household.id,
        again[2].household_id,
        world.neighbour.id,
    ]
    assert counts(session) == before
    session.expire_all()
    household = session.get(Household, world.household.id)
    assert (household.visit_count, household.last_visited_at, household.search_text) == summary


@pytest.mark.parametrize(
    ("kind", "change"),
    [
        ("visit", {"notes": "Đã sửa"}),
        ("resident", {"birth_year": "2002"}),
        ("household", {"head_name": "Vũ Thị Hoà"}),
        ("household_edit", {"label": "12B"}),
    ],
)
def test_the_same_uuid_with_other_content_is_a_conflict(session, world, kind, change):
    first = {
        "visit": lambda: visit(world.household),
        "resident": lambda: resident(world.household),
        "household": proposal,
        "household_edit": lambda: edit(world.household, label="12A"),
    }[kind]()
    send(session, world.volunteer, first)
    before = counts(session)

    (result,) = send(session, world.volunteer, item(kind, {**first.payload, **change}, first.id))

    assert result.status is Status.conflict
    assert "đã được gửi trước đó với nội dung khác" in result.message
    assert result.errors is None and result.household_id is None
    assert counts(session) == before
    session.expire_all()
    assert session.get(Household, world.household.id).label == (
        "12A" if kind == "household_edit" else "12"
    )


def test_invalid_fields_are_named_with_their_messages(session, world):
    (result,) = send(
        session,
        world.volunteer,
        resident(world.household, name=" ", birth_year="3000", phone="12345"),
    )
    assert result.status is Status.invalid
    assert result.errors == {
        "name": "Vui lòng nhập họ tên.",
        "birth_year": "Năm sinh phải từ 1900 đến 2026.",
        "phone": "Số điện thoại gồm 10 chữ số, ví dụ 0912345678.",
    }
    assert count(session, Resident) == 4


def test_a_household_edit_without_a_household_is_invalid(session, world):
    sent = edit(world.household, label="12A")
    del sent.payload["household_id"]
    (result,) = send(session, world.volunteer, sent)
    assert result.status is Status.invalid and set(result.errors) == {"household_id"}


# --- scope and role --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["visit", "resident", "household_edit"])
def test_a_household_of_another_village_is_forbidden(session, world, kind):
    sent = {
        "visit": lambda: visit(world.far_household),
        "resident": lambda: resident(world.far_household),
        "household_edit": lambda: edit(world.far_household, label="3B"),
    }[kind]()
    before = counts(session)
    (result,) = send(session, world.volunteer, sent)
    assert (result.status, result.message) == (Status.forbidden, OUT_OF_SCOPE)
    assert counts(session) == before


def test_an_unknown_household_is_forbidden_not_a_crash(session, world):
    sent = item("visit", {"household_id": 999_999, **visit_payload()})
    (result,) = send(session, world.volunteer, sent)
    assert (result.status, result.message) == (Status.forbidden, "Không tìm thấy hộ này.")


def test_commune_staff_cannot_send_field_records(session, world):
    before = counts(session)
    results = send(
        session,
        world.staff,
        visit(world.household),
        resident(world.household),
        proposal(),
        edit(world.household, label="12A"),
    )
    assert statuses(results) == ["forbidden"] * 4
    assert {result.message for result in results} == {STAFF_REFUSED}
    assert counts(session) == before


def test_replaying_someone_elses_uuid_from_outside_the_village_is_forbidden(session, world):
    # A UUID is no password: the record is not confirmed to someone who may not see it.
    batch = [
        visit(world.household),
        resident(world.household),
        proposal(),
        edit(world.household, label="12A"),
    ]
    send(session, world.volunteer, *batch)
    results = send(session, world.other_volunteer, *batch)
    assert statuses(results) == ["forbidden"] * 4
    assert {result.household_id for result in results} == {None}
    # Also with other content: forbidden, not conflict.
    changed = item("visit", {**batch[0].payload, "notes": "khác"}, batch[0].id)
    assert statuses(send(session, world.other_volunteer, changed)) == ["forbidden"]
    # The leader of the village may replay it: the same content, already stored.
    assert statuses(send(session, world.leader, batch[0])) == ["duplicate"]


# --- records that name each other by UUID ----------------------------------------------------


def test_a_visit_names_a_resident_added_earlier_in_the_batch(session, world):
    newcomer = resident(world.household)
    sent = visit(
        world.household,
        lines=[
            {"resident_uuid": newcomer.id, "service_code": "vneid_level1", "result": "done"},
            line(world.head, "health_book"),
        ],
    )
    assert statuses(send(session, world.volunteer, newcomer, sent)) == ["stored", "stored"]
    added = one(session, Resident, Resident.uuid == newcomer.id)
    assert sorted(session.exec(select(Assistance.resident_id)).all()) == sorted(
        [added.id, world.head.id]
    )
    # Sent again, now with the id the phone learned: the same visit.
    lines = [line(added), line(world.head, "health_book")]
    assert statuses(
        send(session, world.volunteer, item("visit", {**sent.payload, "lines": lines}, sent.id))
    ) == ["duplicate"]


def test_form_fields_may_name_a_resident_by_uuid(session, world):
    newcomer = resident(world.household)
    form = {
        "household_id": world.household.id,
        "visited_at": "2026-11-20T09:30",
        "outcome": "met",
        "lines-3-resident_uuid": newcomer.id,
        "lines-3-service_code": "vneid_level1",
        "lines-3-result": "done",
    }
    assert statuses(send(session, world.volunteer, newcomer, item("visit", form))) == [
        "stored",
        "stored",
    ]
    added = one(session, Resident, Resident.uuid == newcomer.id)
    assert one(session, Assistance).resident_id == added.id


def test_a_household_proposed_then_visited_in_one_batch(session, world):
    new_household = proposal()
    newcomer = resident(household_uuid=new_household.id, name="Vũ Văn Nam")
    sent = item(
        "visit",
        {
            "household_uuid": new_household.id,
            **visit_payload(
                lines=[
                    {"resident_uuid": newcomer.id, "service_code": "vneid_level1", "result": "done"}
                ]
            ),
        },
    )
    results = send(session, world.volunteer, new_household, newcomer, sent)
    assert statuses(results) == ["stored"] * 3
    stored = one(session, Household, Household.uuid == new_household.id)
    assert {result.household_id for result in results} == {stored.id}
    assert (stored.visit_count, one(session, Visit).household_id) == (1, stored.id)
    assert "vu van nam" in stored.search_text


def test_a_household_proposed_in_an_earlier_batch_is_found_by_uuid(session, world):
    new_household = proposal()
    send(session, world.volunteer, new_household)
    sent = edit(world.household, label="27A")
    sent.payload.pop("household_id")
    sent.payload["household_uuid"] = new_household.id
    (result,) = send(session, world.volunteer, sent)
    assert result.status is Status.stored
    assert one(session, Household, Household.uuid == new_household.id).label == "27A"


def test_an_unknown_household_uuid_is_invalid_on_that_field(session, world):
    sent = item("visit", {"household_uuid": new_uuid(), **visit_payload()})
    (result,) = send(session, world.volunteer, sent)
    assert result.status is Status.invalid
    assert set(result.errors) == {"household_uuid"}
    assert "Hộ mới phải được gửi và lưu trước" in result.errors["household_uuid"]


def test_a_refused_household_leaves_its_visit_invalid_too(session, world):
    new_household = proposal(head_name="")
    sent = item("visit", {"household_uuid": new_household.id, **visit_payload()})
    results = send(session, world.volunteer, new_household, sent)
    assert statuses(results) == ["invalid", "invalid"]
    assert results[0].errors == {"head_name": "Vui lòng nhập họ tên chủ hộ."}
    assert set(results[1].errors) == {"household_uuid"}
    assert count(session, Household) == 3


def test_an_unknown_resident_uuid_is_invalid_on_that_line(session, world):
    sent = visit(
        world.household,
        lines=[
            line(world.head),
            {"resident_uuid": new_uuid(), "service_code": "health_book", "result": "done"},
        ],
    )
    (result,) = send(session, world.volunteer, sent)
    assert result.status is Status.invalid
    # One message, on the field that was sent, beside the line it is about.
    assert set(result.errors) == {"lines-1-resident_uuid"}
    assert count(session, Visit) == 0


def test_a_household_id_and_uuid_that_disagree_are_invalid(session, world):
    sent = item(
        "visit",
        {
            "household_id": world.neighbour.id,
            "household_uuid": world.household.uuid,
            **visit_payload(),
        },
    )
    (result,) = send(session, world.volunteer, sent)
    assert result.status is Status.invalid and set(result.errors) == {"household_uuid"}


# --- the item itself -------------------------------------------------------------------------


def test_a_payload_without_uuid_is_stored_under_the_item_id(session, world):
    payload = visit_payload()
    del payload["uuid"]
    sent = SyncItem(
        id=new_uuid().upper(), kind="visit", payload={"household_id": world.household.id, **payload}
    )
    (result,) = send(session, world.volunteer, sent)
    assert (result.status, result.id) == (Status.stored, sent.id)  # the id as it was sent
    assert one(session, Visit).uuid == sent.id.lower()


def test_a_payload_uuid_other_than_the_item_id_is_invalid(session, world):
    sent = visit(world.household)
    (result,) = send(session, world.volunteer, SyncItem(new_uuid(), "visit", sent.payload))
    assert result.status is Status.invalid and set(result.errors) == {"uuid"}
    assert count(session, Visit) == 0


@pytest.mark.parametrize(
    ("kind", "payload", "field"),
    [
        ("appointment", {}, "kind"),
        (None, {}, "kind"),
        (["visit"], {}, "kind"),
        ("visit", None, "payload"),
        ("visit", ["uuid"], "payload"),
    ],
)
def test_an_unknown_kind_or_a_payload_that_is_no_object_is_invalid(
    session, world, kind, payload, field
):
    (result,) = send(session, world.volunteer, SyncItem(new_uuid(), kind, payload))
    assert result.status is Status.invalid and set(result.errors) == {field}


def test_text_with_a_nul_character_is_invalid_not_a_database_error(session, world):
    (result,) = send(session, world.volunteer, proposal(head_name="Vũ\x00Hoa"))
    assert result.status is Status.invalid and set(result.errors) == {"head_name"}


@pytest.mark.parametrize("visited_at", ["0001-01-01T00:00+01:00", "9999-12-31T23:59Z"])
def test_a_visit_time_at_the_edge_of_the_calendar_is_invalid_not_a_crash(
    session, world, visited_at
):
    (result,) = send(session, world.volunteer, visit(world.household, visited_at=visited_at))
    assert result.status is Status.invalid and set(result.errors) == {"visited_at"}


# --- hostile input (issue 10) ------------------------------------------------------------------


def consent(household, **fields) -> SyncItem:
    payload = {
        "uuid": new_uuid(),
        "household_id": household.id,
        "purpose_public_services": "yes",
        "method": "verbal",
        "consented_on": "2026-11-20",
    }
    return item("consent", {**payload, **fields})


@pytest.mark.parametrize("text", ["Vũ\ud800Hoa", "Vũ\x1bHoa", "Vũ\x85Hoa", "Vũ\x7fHoa", "\udfff"])
@pytest.mark.parametrize("make", [proposal, lambda **f: resident(None, **f), "edit", "visit"])
def test_a_control_character_or_lone_surrogate_is_invalid_on_its_field(session, world, make, text):
    """A lone surrogate cannot be encoded for either database: it answered 500 and blocked
    the phone's outbox (finding 3). Now it is refused on its field, and the good item after
    it is stored."""
    if make == "edit":
        bad, field = edit(world.household, head_name=text), "head_name"
    elif make == "visit":
        bad, field = visit(world.household, notes=text), "notes"
    elif make is proposal:
        bad, field = proposal(head_name=text), "head_name"
    else:
        bad = resident(world.household, name=text)
        field = "name"
    results = send(session, world.volunteer, bad, proposal())
    assert statuses(results) == ["invalid", "stored"]
    assert set(results[0].errors) == {field}
    assert "ký tự lạ" in results[0].errors[field]


def test_names_are_stored_composed_however_they_were_typed(session, world):
    decomposed = "Nguye\u0302\u0303n Thi\u0323 Mai"
    typed = resident(world.household, name=decomposed)
    (result,) = send(session, world.volunteer, typed)
    assert result.status is Status.stored
    stored = one(session, Resident, Resident.uuid == typed.id)
    assert stored.name == "Nguyễn Thị Mai" and len(stored.name) == len("Nguyễn Thị Mai")
    # Typed either way it is one name: sent again composed, it is the same record.
    again = item("resident", {**typed.payload, "name": "Nguyễn Thị Mai"}, typed.id)
    assert statuses(send(session, world.volunteer, again)) == ["duplicate"]


@pytest.mark.parametrize("method", [["verbal"], {"how": "verbal"}, 1, True, None, "by phone"])
def test_a_consent_method_of_the_wrong_json_type_is_invalid_with_a_message(session, world, method):
    """`method` sent as a list or an object made `method in METHODS` raise TypeError (500)."""
    results = send(session, world.volunteer, consent(world.household, method=method), proposal())
    assert statuses(results) == ["invalid", "stored"]
    assert set(results[0].errors) == {"method"}
    assert "bằng lời" in results[0].errors["method"]


@pytest.mark.parametrize(
    "fields",
    [
        {"purpose_public_services": ["yes"]},
        {"version": {"v": 1}},
        {"consented_on": ["2026-11-20"]},
        {"consented_on": "0001-01-01"},
        {"household_id": [1]},
    ],
)
def test_other_consent_fields_of_the_wrong_type_are_invalid(session, world, fields):
    results = send(session, world.volunteer, consent(world.household, **fields), proposal())
    assert statuses(results) == ["invalid", "stored"]


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"smartphones": "²"}, "smartphones"),
        ({"smartphones": "١"}, "smartphones"),
        ({"smartphones": "9" * 4300}, "smartphones"),
        ({"smartphones": 1.5}, "smartphones"),
        ({"follow_up_on": "0001-01-01"}, "follow_up_on"),
        ({"follow_up_on": "9999-12-31"}, "follow_up_on"),
        ({"follow_up_on": ["2026-11-21"]}, "follow_up_on"),
        ({"outcome": ["met"]}, "outcome"),
        ({"outcome": {"met": 1}}, "outcome"),
        ({"notes": ["a"]}, "notes"),
        ({"internet_at_home": ["yes"]}, "internet_at_home"),
    ],
)
def test_visit_fields_of_the_wrong_type_or_digits_are_invalid(session, world, fields, field):
    (result,) = send(session, world.volunteer, visit(world.household, **fields))
    assert result.status is Status.invalid and field in result.errors


# --- the batch -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "items",
        {"item": []},
        {"items": {}},
        {"items": [1]},
        {"items": [[]]},
        {"items": [{"kind": "visit", "payload": {}}]},
        {"items": [{"id": 7}]},
        {"items": [{"id": "not-a-uuid"}]},
        {"items": [{"id": new_uuid() + "\n"}]},
        {"items": [{"id": "{" + new_uuid() + "}"}]},
    ],
)
def test_a_body_that_is_no_batch_is_refused_whole(body):
    with pytest.raises(BadBatch) as refused:
        parse_batch(body)
    assert not isinstance(refused.value, BatchTooLarge)
    assert str(refused.value)


def test_a_batch_is_at_most_max_items():
    items = [{"id": new_uuid(), "kind": "visit", "payload": {}} for _ in range(MAX_ITEMS + 1)]
    with pytest.raises(BatchTooLarge):
        parse_batch({"items": items})
    assert len(parse_batch({"items": items[:MAX_ITEMS]})) == MAX_ITEMS


def test_kinds_and_payloads_are_left_to_each_item():
    parsed = parse_batch(
        {"items": [{"id": "0" * 8 + "-0000-0000-0000-" + "0" * 12, "kind": 3}], "client": "x"}
    )
    assert parsed == [SyncItem(id="00000000-0000-0000-0000-000000000000", kind=3, payload=None)]


# --- races -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["visit", "resident", "household", "household_edit"])
def test_the_same_item_sent_twice_at_once_is_stored_once(engine, session, world, kind):
    # A double tap, or two tabs flushing one outbox: both find no row, both insert; the
    # unique UUID lets one through and the other answers duplicate, never an error.
    sent = {
        "visit": lambda: visit(world.household),
        "resident": lambda: resident(world.household),
        "household": proposal,
        "household_edit": lambda: edit(world.household, label="12A"),
    }[kind]()
    first, second = new_session(engine), new_session(engine)
    answers: dict[str, list[ItemResult]] = {}

    def send_second() -> None:
        try:
            answers["second"] = ingest(
                second, [sent], member=world.volunteer, now=NOW, commit=second.commit
            )
        finally:
            second.close()

    racer = threading.Thread(target=send_second)

    def commit_first() -> None:
        # The first send has inserted and not committed: the second runs into its row.
        racer.start()
        racer.join(0.5)
        first.commit()

    try:
        answers["first"] = ingest(
            first, [sent], member=world.volunteer, now=NOW, commit=commit_first
        )
        racer.join(20)
    finally:
        first.close()
    assert statuses(answers["first"]) == ["stored"]
    assert statuses(answers["second"]) == ["duplicate"]
    session.expire_all()
    table = {
        "visit": Visit,
        "resident": Resident,
        "household": Household,
        "household_edit": HouseholdEdit,
    }[kind]
    assert len(session.exec(select(table).where(table.uuid == sent.id)).all()) == 1
    assert session.get(Household, world.household.id).visit_count == (kind == "visit")
