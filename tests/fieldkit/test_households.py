"""The household list (search, order, filters, scope) and field edits to households and
residents."""

from datetime import date, timedelta

import pytest

from fieldkit.errors import Forbidden, Invalid
from fieldkit.households import (
    HouseholdIn,
    ListFilter,
    ResidentIn,
    add_resident,
    edit_basics,
    list_households,
    propose_household,
    residents_of,
)
from fieldkit.models import Household, HouseholdEdit, Resident, ReviewState
from tests.conftest import NOW
from tests.factories import add_household, new_uuid
from tests.fieldkit.helpers import count, record_visit

TODAY = date(2026, 11, 20)


def heads(page) -> list[str]:
    return [household.head_name for household in page.households]


def listed(session, member, **kwargs):
    return list_households(session, member, today=TODAY, **kwargs)


def household_in(**fields) -> HouseholdIn:
    return HouseholdIn.parse(
        {"uuid": new_uuid(), "label": "12", "head_name": "Nguyễn Văn An", **fields}
    )


def resident_in(**fields) -> ResidentIn:
    return ResidentIn.parse({"uuid": new_uuid(), "name": "Nguyễn Văn Mới", **fields}, today=TODAY)


# --- search ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["nguyen van", "Nguyễn Văn", "NGUYEN   van an", "van nguyen"])
def test_search_without_accents_finds_the_household(session, world, text):
    assert heads(listed(session, world.staff, text=text)) == ["Nguyễn Văn An"]


def test_search_finds_a_household_by_a_residents_name(session, world):
    # Hoàng Thị Lan lives at Nguyễn Văn An's; she is not the head of the household.
    assert heads(listed(session, world.volunteer, text="hoang thi lan")) == ["Nguyễn Văn An"]


def test_search_that_matches_nothing_lists_nothing(session, world):
    page = listed(session, world.staff, text="pham")
    assert page.households == [] and page.total == 0


@pytest.mark.parametrize("text", ["%", "_", "ng_yen", "n%n", "\\"])
def test_percent_and_underscore_in_search_are_plain_characters(session, world, text):
    assert listed(session, world.staff, text=text).total == 0


def test_percent_in_search_finds_a_label_that_has_it(session, world):
    add_household(session, world.village, "Lô 5%B", "Vũ Thị Hoa")
    session.commit()
    assert heads(listed(session, world.volunteer, text="5%b")) == ["Vũ Thị Hoa"]


# --- order -----------------------------------------------------------------------------------


def test_households_assigned_to_me_come_first(session, world):
    world.household.assigned_volunteer_id = None
    world.neighbour.assigned_volunteer_id = world.volunteer.id
    session.add_all([world.household, world.neighbour])
    session.commit()
    # House 14 is assigned to the volunteer, so it comes before house 12.
    assert heads(listed(session, world.volunteer)) == ["Trần Thị Bình", "Nguyễn Văn An"]
    # The leader has nothing assigned: plain house order.
    assert heads(listed(session, world.leader)) == ["Nguyễn Văn An", "Trần Thị Bình"]


def test_house_numbers_sort_as_numbers(session, world):
    add_household(session, world.village, "9", "Vũ Thị Hoa")
    add_household(session, world.village, "100", "Đinh Văn Hải")
    session.commit()
    labels = [h.label for h in listed(session, world.leader).households]
    assert labels == ["9", "12", "14", "100"]


# --- filters ---------------------------------------------------------------------------------


def test_filters_and_their_counts_follow_the_visits(session, world):
    page = listed(session, world.volunteer)
    assert page.counts == {
        ListFilter.all: 2,
        ListFilter.todo: 2,
        ListFilter.follow_up: 0,
        ListFilter.done: 0,
    }

    record_visit(session, world, follow_up_on="2026-11-23")
    record_visit(session, world, household=world.neighbour)
    session.commit()

    page = listed(session, world.volunteer)
    # Every household is in exactly one tab: the counts add up to the total.
    assert page.counts == {
        ListFilter.all: 2,
        ListFilter.todo: 0,
        ListFilter.follow_up: 1,
        ListFilter.done: 1,
    }
    assert heads(listed(session, world.volunteer, list_filter=ListFilter.done)) == ["Trần Thị Bình"]
    assert listed(session, world.volunteer, list_filter=ListFilter.todo).households == []


def test_follow_ups_are_listed_most_overdue_first(session, world):
    record_visit(session, world, follow_up_on="2026-11-25")
    record_visit(session, world, household=world.neighbour, follow_up_on="2026-11-20")
    session.commit()
    page = listed(session, world.volunteer, list_filter=ListFilter.follow_up)
    # The neighbour's follow-up is today; the volunteer's own household's is upcoming.
    assert heads(page) == ["Trần Thị Bình", "Nguyễn Văn An"]
    assert page.counts[ListFilter.follow_up] == 2


def test_counts_follow_the_search(session, world):
    page = listed(session, world.volunteer, text="binh", list_filter=ListFilter.todo)
    assert heads(page) == ["Trần Thị Bình"]
    assert page.counts[ListFilter.all] == 1


def test_pages_say_where_the_next_one_starts(session, world):
    first = listed(session, world.staff, limit=2)
    assert (len(first.households), first.total, first.next_offset) == (2, 3, 2)
    last = listed(session, world.staff, offset=2, limit=2)
    assert (len(last.households), last.next_offset) == (1, None)
    assert {h.id for h in first.households + last.households} == {
        world.household.id,
        world.neighbour.id,
        world.far_household.id,
    }


# --- scope -----------------------------------------------------------------------------------


def test_volunteer_sees_only_their_village(session, world):
    assert {h.id for h in listed(session, world.volunteer).households} == {
        world.household.id,
        world.neighbour.id,
    }
    assert {h.id for h in listed(session, world.other_volunteer).households} == {
        world.far_household.id
    }
    assert listed(session, world.volunteer, text="le van cuong").total == 0


def test_commune_staff_see_the_whole_commune(session, world):
    page = listed(session, world.staff)
    assert page.total == 3
    assert {h.id for h in page.households} == {
        world.household.id,
        world.neighbour.id,
        world.far_household.id,
    }


def test_rejected_household_is_not_listed(session, world):
    world.neighbour.review_state = ReviewState.rejected
    session.add(world.neighbour)
    session.commit()
    assert heads(listed(session, world.volunteer)) == ["Nguyễn Văn An"]


# --- proposing a household -------------------------------------------------------------------


def test_proposed_household_is_pending_in_my_village_and_assigned_to_me(session, world):
    proposed = household_in(label="27", head_name="Vũ Thị Hoa", smartphones="1")
    household, created = propose_household(session, proposed, member=world.volunteer, now=NOW)
    session.commit()
    session.expire_all()

    assert created

    stored = session.get(Household, household.id)
    assert stored.review_state is ReviewState.pending
    assert stored.village_id == world.village.id
    assert stored.assigned_volunteer_id == world.volunteer.id
    assert stored.proposed_by_id == world.volunteer.id
    assert stored.smartphones == 1
    assert heads(listed(session, world.volunteer, text="vu thi hoa")) == ["Vũ Thị Hoa"]


def test_proposing_the_same_household_again_stores_it_once(session, world):
    proposed = household_in(label="27", head_name="Vũ Thị Hoa")
    first, _ = propose_household(session, proposed, member=world.volunteer, now=NOW)
    session.commit()
    again, created = propose_household(session, proposed, member=world.volunteer, now=NOW)
    session.commit()
    assert again.id == first.id and not created
    assert count(session, Household) == 4


def test_commune_staff_cannot_propose_a_household(session, world):
    with pytest.raises(Forbidden):
        propose_household(session, household_in(), member=world.staff, now=NOW)
    assert count(session, Household) == 3


def test_household_without_label_or_head_is_refused(session, world):
    with pytest.raises(Invalid) as refused:
        HouseholdIn.parse({"uuid": new_uuid(), "label": " ", "head_name": ""})
    assert refused.value.errors == {
        "label": "Vui lòng nhập số nhà / tên hộ.",
        "head_name": "Vui lòng nhập họ tên chủ hộ.",
    }


# --- editing a household ---------------------------------------------------------------------


def test_edit_applies_the_change_and_keeps_before_and_after(session, world):
    edit, created = edit_basics(
        session,
        world.household.id,
        household_in(label="12A", smartphones="2", internet_at_home="yes"),
        member=world.volunteer,
        now=NOW,
    )
    assert created
    session.commit()
    session.expire_all()

    household = session.get(Household, world.household.id)
    assert (household.label, household.smartphones, household.internet_at_home) == ("12A", 2, True)
    stored = session.get(HouseholdEdit, edit.id)
    assert stored.review_state is ReviewState.pending
    assert stored.member_id == world.volunteer.id
    assert stored.changes == {
        "label": {"before": "12", "after": "12A"},
        "smartphones": {"before": None, "after": 2},
        "internet_at_home": {"before": None, "after": True},
    }
    assert heads(listed(session, world.volunteer, text="12a")) == ["Nguyễn Văn An"]


def test_edit_that_changes_nothing_records_nothing(session, world):
    assert edit_basics(
        session, world.household.id, household_in(), member=world.volunteer, now=NOW
    ) == (None, False)
    assert count(session, HouseholdEdit) == 0


def test_replayed_edit_is_recorded_once(session, world):
    change = household_in(head_name="Nguyễn Văn Ân")
    first, _ = edit_basics(session, world.household.id, change, member=world.volunteer, now=NOW)
    session.commit()
    again, created = edit_basics(
        session, world.household.id, change, member=world.volunteer, now=NOW
    )
    session.commit()
    assert again.id == first.id and not created
    assert count(session, HouseholdEdit) == 1


def test_edit_of_a_household_outside_my_village_is_refused(session, world):
    with pytest.raises(Forbidden):
        edit_basics(
            session,
            world.far_household.id,
            household_in(label="3B", head_name="X"),
            member=world.volunteer,
            now=NOW,
        )
    session.rollback()
    assert session.get(Household, world.far_household.id).label == "3"
    assert count(session, HouseholdEdit) == 0


# --- residents -------------------------------------------------------------------------------


def test_added_resident_is_pending_and_searchable(session, world):
    resident, _ = add_resident(
        session,
        world.household.id,
        resident_in(
            name="Nguyễn Thị Mai",
            birth_year="2001",
            sex="female",
            relation="Con",
            phone="0912 345 678",
        ),
        member=world.volunteer,
        now=NOW,
    )
    session.commit()
    session.expire_all()

    stored = session.get(Resident, resident.id)
    assert (stored.name, stored.birth_year, stored.sex, stored.phone) == (
        "Nguyễn Thị Mai",
        2001,
        "female",
        "0912345678",
    )
    assert stored.review_state is ReviewState.pending
    assert stored.added_by_id == world.volunteer.id
    assert [r.name for r in residents_of(session, world.household)] == [
        "Nguyễn Văn An",
        "Hoàng Thị Lan",
        "Nguyễn Thị Mai",
    ]
    assert heads(listed(session, world.volunteer, text="thi mai")) == ["Nguyễn Văn An"]


def test_replayed_resident_is_added_once(session, world):
    newcomer = resident_in()
    first, _ = add_resident(session, world.household.id, newcomer, member=world.volunteer, now=NOW)
    again, created = add_resident(
        session, world.household.id, newcomer, member=world.volunteer, now=NOW
    )
    assert again.id == first.id and not created
    assert count(session, Resident) == 5


def test_resident_cannot_be_added_outside_my_village(session, world):
    with pytest.raises(Forbidden):
        add_resident(
            session, world.far_household.id, resident_in(), member=world.volunteer, now=NOW
        )
    assert count(session, Resident) == 4


def test_birth_year_in_the_future_is_refused(world):
    with pytest.raises(Invalid) as refused:
        resident_in(birth_year=str(TODAY.year + 1))
    assert refused.value.errors == {"birth_year": "Năm sinh phải từ 1900 đến 2026."}
    assert resident_in(birth_year=str(TODAY.year)).birth_year == 2026


@pytest.mark.parametrize("phone", ["12345", "09123456789012", "0912abc678", "+1 415 555 0100"])
def test_resident_phone_must_be_a_vietnamese_number(phone):
    with pytest.raises(Invalid) as refused:
        resident_in(phone=phone)
    assert set(refused.value.errors) == {"phone"}


@pytest.mark.parametrize(
    ("typed", "stored"), [("0912345678", "0912345678"), ("0912.345.678", "0912345678"), ("", None)]
)
def test_resident_phone_is_kept_as_digits(typed, stored):
    assert resident_in(phone=typed).phone == stored


def test_resident_without_a_name_is_refused():
    with pytest.raises(Invalid) as refused:
        ResidentIn.parse({"uuid": new_uuid(), "name": "  "}, today=TODAY)
    assert refused.value.errors == {"name": "Vui lòng nhập họ tên."}


def test_the_list_shows_when_a_household_was_last_visited(session, world):
    # The list reads the summary cached on the household; it must match the visits.
    record_visit(session, world, visited_at="2026-11-19T16:00")
    session.commit()
    (shown,) = [
        h for h in listed(session, world.volunteer).households if h.id == world.household.id
    ]
    assert shown.visit_count == 1
    assert shown.last_visited_at == NOW - timedelta(hours=18)


def test_an_international_phone_number_is_kept_in_the_local_form():
    assert resident_in(phone="+84 912 345 678").phone == "0912345678"
