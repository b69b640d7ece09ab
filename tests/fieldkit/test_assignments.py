"""Assignments: one by one, by a selection, by a range of house numbers; unassigning; the
unassigned list; who may assign whom; all or nothing; audited."""

import pytest
from sqlmodel import select

from fieldkit.assignments import (
    assign,
    assign_range,
    leading_number,
    overview,
    parse_range,
    unassign,
    unassigned,
)
from fieldkit.errors import Forbidden, Invalid
from fieldkit.models import AuditEvent, Household, Member, Role
from tests.conftest import NOW
from tests.factories import add_household


def owners(session, households) -> list[int | None]:
    session.expire_all()
    return [session.get(Household, h.id).assigned_volunteer_id for h in households]


def street(session, village, labels) -> list[Household]:
    households = [add_household(session, village, label, f"Chủ hộ {label}") for label in labels]
    session.commit()
    return households


@pytest.mark.parametrize(
    "label, number",
    [
        ("12", 12),
        ("12A", 12),
        ("Xóm 3 - số 5", 3),
        ("  7/2", 7),
        ("Nhà ông Tư", None),
        ("", None),
    ],
)
def test_leading_number(label, number):
    assert leading_number(label) == number


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10-20", (10, 20)),
        ("10–20", (10, 20)),
        (" 10 đến 20 ", (10, 20)),
        ("15", (15, 15)),
    ],
)
def test_parse_range(text, expected):
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "20-10", "10-", "1-99999"])
def test_parse_range_refuses_in_vietnamese(text):
    with pytest.raises(Invalid) as refused:
        parse_range(text)
    assert "range" in refused.value.errors


def test_leader_assigns_one_household_and_it_is_audited(session, world):
    changed = assign(
        session,
        world.leader,
        household_ids=[world.neighbour.id],
        volunteer_id=world.volunteer.id,
        now=NOW,
    )
    session.commit()
    assert changed == 1
    assert owners(session, [world.neighbour]) == [world.volunteer.id]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "assigned")).one()
    assert event.actor_id == world.leader.id and event.target_id == world.volunteer.id
    assert event.details["household_ids"] == [world.neighbour.id]


def test_leader_assigns_a_selection_in_one_go(session, world):
    houses = street(session, world.village, [str(n) for n in range(20, 30)])
    assert (
        assign(
            session,
            world.leader,
            household_ids=[h.id for h in houses],
            volunteer_id=world.volunteer.id,
            now=NOW,
        )
        == 10
    )
    session.commit()
    assert owners(session, houses) == [world.volunteer.id] * 10
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "assigned")).all()


def test_range_matches_leading_numbers(session, world):
    houses = street(
        session, world.village, ["9", "10", "12A", "Xóm 3 - số 5", "20", "21", "Nhà ông Tư"]
    )
    assert (
        assign_range(
            session, world.leader, range_text="10–20", volunteer_id=world.volunteer.id, now=NOW
        )
        == 4
    )  # 10, 12A, 14, 20
    session.commit()
    mine = world.volunteer.id
    # "12" (the world's household) was already the volunteer's; "14" (neighbour) is taken too.
    assert owners(session, houses) == [None, mine, mine, None, mine, None, None]
    assert owners(session, [world.neighbour, world.far_household]) == [
        mine,
        world.other_volunteer.id,
    ]


def test_range_with_no_household_is_refused(session, world):
    with pytest.raises(Invalid) as refused:
        assign_range(
            session, world.leader, range_text="500-600", volunteer_id=world.volunteer.id, now=NOW
        )
    assert "range" in refused.value.errors


def test_staff_assign_anywhere_to_a_volunteer_of_the_households_village(session, world):
    assign(
        session,
        world.staff,
        household_ids=[world.far_household.id],
        volunteer_id=world.other_volunteer.id,
        now=NOW,
    )
    assign(
        session,
        world.staff,
        household_ids=[world.neighbour.id],
        volunteer_id=world.leader.id,
        now=NOW,
    )  # leaders go door to door too
    session.commit()
    assert owners(session, [world.far_household, world.neighbour]) == [
        world.other_volunteer.id,
        world.leader.id,
    ]


def test_a_volunteer_of_another_village_is_refused_and_nothing_changes(session, world):
    houses = street(session, world.village, ["30", "31"])
    with pytest.raises(Invalid) as refused:
        assign(
            session,
            world.staff,
            household_ids=[h.id for h in houses],
            volunteer_id=world.other_volunteer.id,
            now=NOW,
        )
    assert "cùng thôn" in refused.value.errors["volunteer"]
    with pytest.raises(Invalid):
        assign_range(
            session,
            world.leader,
            range_text="30-31",
            volunteer_id=world.other_volunteer.id,
            now=NOW,
        )
    session.rollback()
    assert owners(session, houses) == [None, None]


def test_a_mixed_selection_is_refused_whole(session, world):
    """Staff tick households of two villages for one volunteer: nothing is assigned."""
    with pytest.raises(Invalid):
        assign(
            session,
            world.staff,
            household_ids=[world.neighbour.id, world.far_household.id],
            volunteer_id=world.volunteer.id,
            now=NOW,
        )
    session.rollback()
    assert owners(session, [world.neighbour, world.far_household]) == [
        None,
        world.other_volunteer.id,
    ]


def test_an_inactive_member_is_refused(session, world):
    world.volunteer.active = False
    session.add(world.volunteer)
    session.commit()
    with pytest.raises(Invalid) as refused:
        assign(
            session,
            world.leader,
            household_ids=[world.neighbour.id],
            volunteer_id=world.volunteer.id,
            now=NOW,
        )
    assert "thôi tham gia" in refused.value.errors["volunteer"]


def test_staff_cannot_be_given_households(session, world):
    with pytest.raises(Invalid):
        assign(
            session,
            world.staff,
            household_ids=[world.neighbour.id],
            volunteer_id=world.staff.id,
            now=NOW,
        )


def test_households_outside_the_leaders_village_are_refused_and_nothing_changes(session, world):
    with pytest.raises(Forbidden):
        assign(
            session,
            world.leader,
            household_ids=[world.neighbour.id, world.far_household.id],
            volunteer_id=world.volunteer.id,
            now=NOW,
        )
    session.rollback()
    assert owners(session, [world.neighbour, world.far_household]) == [
        None,
        world.other_volunteer.id,
    ]
    with pytest.raises(Invalid):  # a volunteer of another village: not the leader's to give
        assign(
            session,
            world.leader,
            household_ids=[world.neighbour.id],
            volunteer_id=world.other_volunteer.id,
            now=NOW,
        )


@pytest.mark.parametrize("who", ["volunteer", "other_volunteer"])
def test_volunteers_do_not_assign(session, world, who):
    with pytest.raises(Forbidden):
        assign(
            session,
            getattr(world, who),
            household_ids=[world.neighbour.id],
            volunteer_id=world.volunteer.id,
            now=NOW,
        )
    with pytest.raises(Forbidden):
        unassigned(session, getattr(world, who))


def test_an_inactive_leader_does_not_assign(session, world):
    world.leader.active = False
    session.add(world.leader)
    session.commit()
    with pytest.raises(Forbidden):
        assign(
            session,
            world.leader,
            household_ids=[world.neighbour.id],
            volunteer_id=world.volunteer.id,
            now=NOW,
        )


def test_unassign_and_the_unassigned_list(session, world):
    assert [h.id for h in unassigned(session, world.leader)] == [world.neighbour.id]
    assert [h.id for h in unassigned(session, world.staff)] == [world.neighbour.id]
    assert unassign(session, world.leader, household_ids=[world.household.id], now=NOW) == 1
    session.commit()
    assert [h.label for h in unassigned(session, world.leader)] == ["12", "14"]
    with pytest.raises(Forbidden):
        unassign(session, world.leader, household_ids=[world.far_household.id], now=NOW)


def test_an_empty_selection_or_unknown_household_is_refused(session, world):
    with pytest.raises(Invalid):
        assign(session, world.leader, household_ids=[], volunteer_id=world.volunteer.id, now=NOW)
    with pytest.raises(Invalid):
        assign(
            session, world.leader, household_ids=[987654], volunteer_id=world.volunteer.id, now=NOW
        )


def test_overview_counts_per_volunteer(session, world):
    second = Member(
        commune_id=world.commune.id,
        village_id=world.village.id,
        name="An Bình",
        role=Role.volunteer,
    )
    session.add(second)
    session.flush()
    street(session, world.village, ["40", "41", "42"])
    assign_range(session, world.leader, range_text="40-42", volunteer_id=second.id, now=NOW)
    session.commit()
    view = overview(session, world.leader, village_id=world.village.id)
    loads = {load.member.name: load.households for load in view.loads}
    assert loads == {"An Bình": 3, "Bùi Văn Lực": 0, "Phạm Thu Hà": 1}
    assert (view.unassigned, view.total) == (1, 5)
    with pytest.raises(Forbidden):
        overview(session, world.leader, village_id=world.other_village.id)


@pytest.mark.parametrize(
    "typed", ["9" * 4300, "1-" + "9" * 4300, "١٢", "١-٩", "²", "1²-3", "-1", "12345678901"]
)
def test_a_range_of_foreign_digits_or_thousands_of_them_is_a_message(typed):
    """Issue 10: 4,300 digits made int() raise and the page answer 500."""
    with pytest.raises(Invalid) as refused:
        parse_range(typed)
    assert "số nhà" in refused.value.errors["range"]
