"""Logging a visit: parsing the form or the sync payload, the checks, replay and conflict."""

import threading
from datetime import UTC, date, datetime

import pytest
from sqlmodel import select

from fieldkit.db import new_session
from fieldkit.errors import Forbidden, Invalid, NotFound, SyncConflict
from fieldkit.models import Assistance, Household, ReviewState, Service, Visit, VisitDuplicate
from fieldkit.visits import (
    MAX_LINES,
    VisitIn,
    duplicate_notice,
    log_visit,
    possible_duplicate_of,
    visits_of,
)
from tests.conftest import NOW
from tests.factories import new_uuid
from tests.fieldkit.helpers import count, line, record_visit, visit_payload


def parse(world, payload, household=None) -> VisitIn:
    return VisitIn.parse(payload, household_id=(household or world.household).id)


def refused_fields(callable_, *args, **kwargs) -> dict[str, str]:
    with pytest.raises(Invalid) as refused:
        callable_(*args, **kwargs)
    return refused.value.errors


def log(session, world, payload, *, member=None, household=None):
    return log_visit(
        session, parse(world, payload, household), volunteer=member or world.volunteer, now=NOW
    )


# --- storing ---------------------------------------------------------------------------------


def test_valid_visit_is_stored_pending_with_its_lines(session, world):
    payload = visit_payload(
        lines=[
            line(world.head, "vneid_level1", "done", device="own"),
            line(world.spouse, "health_book", "failed", reason="no_smartphone"),
        ],
        notes="Bà Lan hẹn con trai về cài giúp.",
    )
    _, created = log(session, world, payload)
    session.commit()
    session.expire_all()

    assert created
    ((stored, lines),) = visits_of(session, world.household)
    assert stored.uuid == payload["uuid"]
    assert stored.review_state is ReviewState.pending
    assert stored.volunteer_id == world.volunteer.id
    assert stored.visited_at == datetime(2026, 11, 20, 2, 30, tzinfo=UTC)  # 09:30 in Vietnam
    assert stored.received_at == NOW
    assert stored.notes == "Bà Lan hẹn con trai về cài giúp."
    assert [(a.resident_id, a.service_code, a.result, a.reason, a.device) for a in lines] == [
        (world.head.id, "vneid_level1", "done", None, "own"),
        (world.spouse.id, "health_book", "failed", "no_smartphone", None),
    ]


def test_replayed_visit_is_stored_once(session, world):
    visit_in = parse(world, visit_payload(lines=[line(world.head)]))
    first, created = log_visit(session, visit_in, volunteer=world.volunteer, now=NOW)
    session.commit()
    again, created_again = log_visit(session, visit_in, volunteer=world.volunteer, now=NOW)
    session.commit()

    assert created and not created_again
    assert again.id == first.id
    assert count(session, Visit) == 1
    assert count(session, Assistance) == 1
    assert session.get(Household, world.household.id).visit_count == 1


def test_replay_sent_as_a_form_after_json_is_still_a_duplicate(session, world):
    payload = visit_payload(lines=[line(world.head)])
    log(session, world, payload)
    session.commit()
    form = {
        "uuid": payload["uuid"],
        "visited_at": "2026-11-20T09:30",
        "outcome": "met",
        "notes": "",
        "lines-0-resident_id": str(world.head.id),
        "lines-0-service_code": "vneid_level1",
        "lines-0-result": "done",
    }
    _, created = log(session, world, form)
    assert not created
    assert count(session, Visit) == 1


def test_same_uuid_with_different_content_is_a_conflict_and_changes_nothing(session, world):
    payload = visit_payload(lines=[line(world.head)], notes="Lần đầu")
    log(session, world, payload)
    session.commit()

    changed = {**payload, "notes": "Sửa lại", "lines": [line(world.head, result="partial")]}
    with pytest.raises(SyncConflict, match="đã được gửi trước đó với nội dung khác"):
        log(session, world, changed)
    session.rollback()
    session.expire_all()

    ((stored, lines),) = visits_of(session, world.household)
    assert stored.notes == "Lần đầu"
    assert [a.result for a in lines] == ["done"]


# --- time ------------------------------------------------------------------------------------


def test_visit_in_the_future_is_refused(session, world):
    # NOW is 10:00 in Vietnam; the phone's clock may be 10 minutes fast, not more.
    errors = refused_fields(log, session, world, visit_payload(visited_at="2026-11-20T10:11"))
    assert errors == {"visited_at": "Thời gian thăm không thể ở tương lai."}
    assert count(session, Visit) == 0


def test_visit_a_few_minutes_ahead_is_a_phone_clock_and_accepted(session, world):
    _, created = log(session, world, visit_payload(visited_at="2026-11-20T10:09"))
    assert created


def test_visit_older_than_a_year_is_refused(session, world):
    errors = refused_fields(log, session, world, visit_payload(visited_at="2025-11-01T09:00"))
    assert set(errors) == {"visited_at"}
    assert "quá một năm" in errors["visited_at"]


def test_follow_up_before_the_visit_day_is_refused(session, world):
    payload = visit_payload(visited_at="2026-11-19T09:00", follow_up_on="2026-11-18")
    errors = refused_fields(log, session, world, payload)
    assert errors == {"follow_up_on": "Ngày hẹn quay lại phải từ ngày thăm trở đi."}


def test_follow_up_day_is_checked_against_the_day_in_vietnam(session, world):
    # 06:30 on the 19th in Vietnam is still the 18th in UTC: a follow-up on the 18th is before
    # the visit for the volunteer who made it.
    payload = visit_payload(visited_at="2026-11-19T06:30", follow_up_on="2026-11-18")
    assert set(refused_fields(log, session, world, payload)) == {"follow_up_on"}
    same_day = visit_payload(visited_at="2026-11-19T06:30", follow_up_on="2026-11-19")
    assert log(session, world, same_day)[1]


# --- assistance lines ------------------------------------------------------------------------


def test_resident_of_another_household_is_refused_and_nothing_saved(session, world):
    payload = visit_payload(lines=[line(world.head), line(world.far_resident)])
    errors = refused_fields(log, session, world, payload)
    assert errors == {"lines-1-resident_id": "Người này không thuộc hộ đang thăm."}
    assert count(session, Visit) == 0
    assert count(session, Assistance) == 0


def test_unknown_service_is_refused(session, world):
    payload = visit_payload(lines=[line(world.head, "vneid_level9")])
    errors = refused_fields(log, session, world, payload)
    assert errors == {"lines-0-service_code": "Dịch vụ không có trong danh mục."}


def test_service_withdrawn_from_the_catalogue_is_refused(session, world):
    service = session.get(Service, "etax")
    service.active = False
    session.add(service)
    session.flush()
    errors = refused_fields(log, session, world, visit_payload(lines=[line(world.head, "etax")]))
    assert set(errors) == {"lines-0-service_code"}


def test_same_resident_and_service_twice_is_refused(session, world):
    payload = visit_payload(
        lines=[line(world.head), line(world.spouse), line(world.head, result="partial")]
    )
    errors = refused_fields(log, session, world, payload)
    assert errors == {"lines-2-service_code": "Dòng này trùng người và dịch vụ với dòng trên."}


def test_lines_when_nobody_was_met_are_refused(session, world):
    payload = visit_payload(outcome="not_home", lines=[line(world.head)])
    errors = refused_fields(log, session, world, payload)
    assert errors == {"lines": "Chỉ ghi dòng hỗ trợ khi đã gặp được người dân."}


def test_nobody_home_without_lines_is_stored(session, world):
    visit, created = log(session, world, visit_payload(outcome="not_home"))
    assert created and visit.outcome == "not_home"


@pytest.mark.parametrize("result", ["failed", "referred"])
def test_failed_or_referred_line_needs_a_reason(world, result):
    payload = visit_payload(lines=[line(world.head, result=result)])
    errors = refused_fields(parse, world, payload)
    assert errors == {"lines-0-reason": "Cho biết lý do khi chưa làm được hoặc phải chuyển tiếp."}


def test_dossier_number_with_odd_characters_is_refused(world):
    payload = visit_payload(lines=[line(world.head, "online_procedure", dossier_no="H38 ;--")])
    assert set(refused_fields(parse, world, payload)) == {"lines-0-dossier_no"}
    good = visit_payload(
        lines=[line(world.head, "online_procedure", dossier_no="H38.21-251120-0001")]
    )
    assert parse(world, good).lines[0].dossier_no == "H38.21-251120-0001"


def test_too_many_lines_are_refused(world):
    payload = visit_payload(lines=[line(world.head, result="done") for _ in range(MAX_LINES + 1)])
    assert "lines" in refused_fields(parse, world, payload)


# --- who may log -----------------------------------------------------------------------------


def test_volunteer_of_another_village_is_forbidden(session, world):
    with pytest.raises(Forbidden):
        log(session, world, visit_payload(), member=world.other_volunteer)
    assert count(session, Visit) == 0


def test_commune_staff_cannot_log_a_visit(session, world):
    with pytest.raises(Forbidden):
        log(session, world, visit_payload(), member=world.staff)
    assert count(session, Visit) == 0


def test_leader_of_the_village_can_log_a_visit(session, world):
    visit, created = log(session, world, visit_payload(), member=world.leader)
    assert created and visit.volunteer_id == world.leader.id


def test_visit_to_an_unknown_household_is_not_found(session, world):
    visit_in = VisitIn.parse(visit_payload(), household_id=9999)
    with pytest.raises(NotFound):
        log_visit(session, visit_in, volunteer=world.volunteer, now=NOW)


# --- parsing ---------------------------------------------------------------------------------


def test_form_and_json_payloads_of_one_visit_have_the_same_fingerprint(world):
    uuid = new_uuid()
    form = {
        "uuid": uuid,
        "visited_at": "2026-11-20T09:30",
        "outcome": "met",
        "notes": "",
        "follow_up_on": "2026-11-27",
        "smartphones": "2",
        "internet_at_home": "yes",
        "lines-0-resident_id": str(world.head.id),
        "lines-0-service_code": "vneid_level1",
        "lines-0-result": "done",
        "lines-0-reason": "",
        "lines-0-device": "own",
        "lines-0-dossier_no": "",
        "lines-1-resident_id": str(world.spouse.id),
        "lines-1-service_code": "health_book",
        "lines-1-result": "failed",
        "lines-1-reason": "no_signal",
        "lines-1-device": "",
        "lines-1-dossier_no": "",
    }
    json_payload = {
        "uuid": uuid.upper(),
        "visited_at": "2026-11-20T02:30:00Z",
        "outcome": "met",
        "follow_up_on": "2026-11-27",
        "smartphones": 2,
        "internet_at_home": True,
        "lines": [
            {
                "resident_id": world.spouse.id,
                "service_code": "health_book",
                "result": "failed",
                "reason": "no_signal",
                "device": None,
            },
            {
                "resident_id": world.head.id,
                "service_code": "vneid_level1",
                "result": "done",
                "device": "own",
            },
        ],
    }
    from_form, from_json = parse(world, form), parse(world, json_payload)
    assert from_form.fingerprint() == from_json.fingerprint()
    assert from_form.uuid == uuid

    other = parse(world, {**json_payload, "smartphones": 3})
    assert other.fingerprint() != from_json.fingerprint()


def test_empty_lines_of_the_form_are_ignored(world):
    form = {
        "uuid": new_uuid(),
        "visited_at": "2026-11-20T09:30",
        "outcome": "met",
        "lines-0-resident_id": str(world.head.id),
        "lines-0-service_code": "vneid_level1",
        "lines-0-result": "done",
        "lines-1-resident_id": "",
        "lines-1-service_code": "",
        "lines-1-result": "",
        "lines-1-reason": "",
        "lines-1-device": "",
    }
    visit_in = parse(world, form)
    assert [(a.resident_id, a.service_code) for a in visit_in.lines] == [
        (world.head.id, "vneid_level1")
    ]


def test_where_a_line_sat_in_the_form_is_not_part_of_its_content(world):
    uuid = new_uuid()
    with_gap = {
        "uuid": uuid,
        "visited_at": "2026-11-20T09:30",
        "outcome": "met",
        "lines-0-resident_id": "",
        "lines-0-service_code": "",
        "lines-2-resident_id": str(world.head.id),
        "lines-2-service_code": "vneid_level1",
        "lines-2-result": "done",
    }
    as_json = visit_payload(uuid=uuid, lines=[line(world.head)])
    assert parse(world, with_gap).fingerprint() == parse(world, as_json).fingerprint()


def test_refusal_names_the_form_line_even_after_an_empty_line(session, world):
    # The person left line 0 empty and filled line 1: the message must sit beside line 1.
    form = {
        "uuid": new_uuid(),
        "visited_at": "2026-11-20T09:30",
        "outcome": "met",
        "lines-0-resident_id": "",
        "lines-0-service_code": "",
        "lines-1-resident_id": str(world.far_resident.id),
        "lines-1-service_code": "vneid_level1",
        "lines-1-result": "done",
    }
    errors = refused_fields(log, session, world, form)
    assert set(errors) == {"lines-1-resident_id"}


def test_missing_essentials_are_named_field_by_field_in_vietnamese(world):
    errors = refused_fields(parse, world, {"notes": "quên điền"})
    assert errors == {
        "uuid": "Mã bản ghi không hợp lệ. Hãy tải lại trang rồi nhập lại.",
        "visited_at": "Vui lòng nhập thời gian thăm.",
        "outcome": "Vui lòng chọn kết quả chuyến thăm.",
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("visited_at", "hôm qua"),
        ("outcome", "vui"),
        ("smartphones", "-1"),
        ("smartphones", "hai"),
        ("internet_at_home", "có lẽ"),
        ("follow_up_on", "27/11/2026"),
    ],
)
def test_bad_values_are_refused_on_their_field(world, field, value):
    errors = refused_fields(parse, world, visit_payload(**{field: value}))
    assert set(errors) == {field}


# --- what a visit changes on the household ---------------------------------------------------


def test_visit_updates_what_was_observed_at_the_household(session, world):
    record_visit(session, world, smartphones="2", internet_at_home="no")
    session.commit()
    session.expire_all()
    household = session.get(Household, world.household.id)
    assert (household.smartphones, household.internet_at_home) == (2, False)

    # A later visit that did not look leaves the last observation alone.
    record_visit(session, world, visited_at="2026-11-20T09:50", smartphones="", internet_at_home="")
    session.commit()
    session.expire_all()
    household = session.get(Household, world.household.id)
    assert (household.smartphones, household.internet_at_home) == (2, False)


def test_visit_updates_the_households_visit_summary(session, world):
    record_visit(session, world, visited_at="2026-11-18T15:00", follow_up_on="2026-11-25")
    session.commit()
    session.expire_all()
    household = session.get(Household, world.household.id)
    assert household.visit_count == 1
    assert household.last_visited_at == datetime(2026, 11, 18, 8, 0, tzinfo=UTC)
    assert household.follow_up_on == date(2026, 11, 25)

    # The latest visit decides whether a follow-up is still wanted.
    record_visit(session, world, visited_at="2026-11-20T08:00", lines=[line(world.head)])
    session.commit()
    session.expire_all()
    household = session.get(Household, world.household.id)
    assert household.visit_count == 2
    assert household.last_visited_at == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    assert household.follow_up_on is None


def test_late_sent_older_visit_does_not_hide_the_latest(session, world):
    # Phones send when they find a signal: an older visit may arrive after a newer one.
    record_visit(session, world, visited_at="2026-11-20T08:00", follow_up_on="2026-11-30")
    record_visit(session, world, visited_at="2026-11-17T08:00")
    session.commit()
    household = session.get(Household, world.household.id)
    assert household.visit_count == 2
    assert household.last_visited_at == datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
    assert household.follow_up_on == date(2026, 11, 30)


def test_household_page_lists_visits_newest_first(session, world):
    for visited_at in ("2026-11-18T09:00", "2026-11-20T08:00", "2026-11-19T09:00"):
        record_visit(session, world, visited_at=visited_at, notes=visited_at)
    record_visit(session, world, household=world.neighbour)
    assert [visit.notes for visit, _ in visits_of(session, world.household)] == [
        "2026-11-20T08:00",
        "2026-11-19T09:00",
        "2026-11-18T09:00",
    ]


def test_refused_visit_leaves_the_household_untouched(session, world):
    payload = visit_payload(smartphones="3", lines=[line(world.far_resident)])
    refused_fields(log, session, world, payload)
    household = session.get(Household, world.household.id)
    assert (household.smartphones, household.visit_count) == (None, 0)


def test_two_visits_to_one_household_sent_at_once_both_count(engine, session, world):
    # Two volunteers sync at the same moment (end of the day, on the commune's Wi-Fi).
    first, second = new_session(engine), new_session(engine)
    outcome: dict[str, bool] = {}

    def send_second() -> None:
        try:
            _, outcome["second"] = log_visit(
                second,
                parse(world, visit_payload(visited_at="2026-11-20T09:40")),
                volunteer=world.leader,
                now=NOW,
            )
            second.commit()
        finally:
            second.close()

    try:
        log_visit(first, parse(world, visit_payload()), volunteer=world.volunteer, now=NOW)
        racer = threading.Thread(target=send_second)
        racer.start()
        racer.join(0.5)  # the second visit is being stored while the first is still open
        first.commit()
        racer.join(20)
    finally:
        first.close()
    assert outcome == {"second": True}
    session.expire_all()
    household = session.get(Household, world.household.id)
    assert household.visit_count == 2
    assert household.last_visited_at == datetime(2026, 11, 20, 2, 40, tzinfo=UTC)


def test_a_visit_to_a_rejected_household_is_refused(session, world):
    world.neighbour.review_state = ReviewState.rejected
    session.add(world.neighbour)
    session.flush()
    errors = refused_fields(log, session, world, visit_payload(), household=world.neighbour)
    assert "form" in errors
    assert count(session, Visit) == 0


# --- possible duplicates (issue 11) ---------------------------------------------------------


def _flags(session) -> list[tuple[int, int]]:
    session.expire_all()
    flags = session.exec(select(VisitDuplicate).order_by(VisitDuplicate.visit_id)).all()
    return [(f.original_id, f.visit_id) for f in flags]


def test_a_visit_like_another_of_the_last_half_hour_is_stored_and_flagged(session, world):
    lines = [line(world.head, "vneid_level1"), line(world.spouse, "health_book", "partial")]
    first = record_visit(session, world, lines=lines, visited_at="2026-11-20T09:30")
    # The same lines in another order, other notes, typed again 25 minutes later.
    again = record_visit(
        session, world, lines=list(reversed(lines)), visited_at="2026-11-20T09:55", notes="Lại"
    )
    session.commit()
    assert _flags(session) == [(first.id, again.id)]
    assert possible_duplicate_of(session, again).id == first.id
    assert possible_duplicate_of(session, first) is None
    assert duplicate_notice(first) == "Có vẻ trùng với lượt thăm lúc 09:30."


@pytest.mark.parametrize(
    "difference",
    [
        {"visited_at": "2026-11-20T10:01"},  # 31 minutes later
        {"lines": [("spouse", "vneid_level1", "done")]},  # another resident
        {"lines": [("head", "vneid_level1", "partial")]},  # another result
        {"lines": [("head", "vneid_level1", "done"), ("spouse", "health_book", "done")]},
        {"outcome": "not_home", "lines": []},
        {"member": "leader"},  # another volunteer
    ],
)
def test_a_visit_that_differs_in_what_counts_is_not_flagged(session, world, difference):
    record_visit(session, world, lines=[line(world.head, "vneid_level1")])
    fields = {"visited_at": "2026-11-20T09:30", "lines": [line(world.head, "vneid_level1")]}
    fields.update(difference)
    if "lines" in difference:
        fields["lines"] = [line(getattr(world, who), *rest) for who, *rest in difference["lines"]]
    if "member" in difference:
        fields["member"] = getattr(world, difference["member"])
    record_visit(session, world, **fields)
    session.commit()
    assert _flags(session) == []


def test_a_rejected_visit_is_no_twin_and_a_replay_is_no_duplicate(session, world):
    first = record_visit(session, world, lines=[line(world.head)])
    first.review_state = ReviewState.rejected
    session.add(first)
    again = visit_payload(lines=[line(world.head)])
    log(session, world, again)
    log(session, world, again)  # the same UUID sent twice: a replay, not a second visit
    session.commit()
    assert _flags(session) == []
    assert count(session, Visit) == 2
