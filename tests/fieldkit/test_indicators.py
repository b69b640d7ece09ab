"""Village indicators on a small hand-made commune where every number is known by hand.

Thôn Đông (the world's village) after `_field_work`:
- household "12" (An, Lan): visit 1 approved, visit 2 pending — reached once, approved;
- household "14" (Bình): visit 3 returned (pending), visit 4 rejected (ignored);
- household "16" (Dũng): visit 5 approved but not home, visit 6 rejected — not reached;
- household "18" (Mai), proposed from the field and still pending: visit 7 approved — its
  numbers stay pending until the household is approved.
Thôn Tây: household "3" (Cường): visit 8 pending.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fieldkit.households import residents_of
from fieldkit.models import Reason, ReviewState, Visit
from fieldkit.policy import scope_for
from fieldkit.reporting.indicators import Count, VillageIndicators, village_indicators
from tests.factories import World, add_household
from tests.fieldkit.helpers import line, record_visit


def _review(session, visit: Visit, state: ReviewState) -> None:
    visit.review_state = state
    session.add(visit)
    session.flush()


@pytest.fixture
def field_work(session, world: World) -> World:
    w = world
    dung_house = add_household(
        session, w.village, "16", "Vũ Văn Dũng", residents=[("Vũ Văn Dũng", 1990, None, "Chủ hộ")]
    )
    mai_house = add_household(
        session, w.village, "18", "Đặng Thị Mai", residents=[("Đặng Thị Mai", 1985, None, "Chủ hộ")]
    )
    mai_house.review_state = ReviewState.pending
    session.add(mai_house)
    session.flush()
    (binh,) = residents_of(session, w.neighbour)
    (dung,) = residents_of(session, dung_house)
    (mai,) = residents_of(session, mai_house)

    visit1 = record_visit(
        session,
        w,
        smartphones=2,
        internet_at_home="yes",
        lines=[
            line(w.head, "vneid_level1", "done"),
            line(w.head, "vneid_activate", "done"),
            line(w.head, "dvcqg_login", "failed", reason="no_signal"),
            line(w.spouse, "vneid_level1", "partial"),
            line(w.spouse, "online_procedure", "done", dossier_no="H38.01-261120-0001"),
        ],
    )
    _review(session, visit1, ReviewState.approved)
    record_visit(
        session,
        w,
        visited_at="2026-11-10T09:00",
        lines=[  # visit 2, pending
            line(w.head, "vneid_level1", "done"),
            line(w.head, "vneid_level2", "referred", reason="needs_police"),
            line(w.spouse, "vneid_activate", "done"),
            line(w.spouse, "online_procedure", "partial"),
            line(w.spouse, "payment_account", "failed", reason="no_smartphone"),
        ],
    )
    visit3 = record_visit(
        session,
        w,
        household=w.neighbour,
        smartphones=1,
        internet_at_home="no",
        lines=[
            line(binh, "vneid_level1", "done"),
            line(binh, "health_book", "done"),
            line(binh, "digital_literacy", "done"),
        ],
    )
    _review(session, visit3, ReviewState.returned)
    visit4 = record_visit(
        session,
        w,
        household=w.neighbour,
        lines=[
            line(binh, "vneid_level2", "done"),
            line(binh, "payment_account", "done"),
            line(binh, "online_safety", "failed", reason="other"),
        ],
    )
    _review(session, visit4, ReviewState.rejected)
    visit5 = record_visit(session, w, household=dung_house, outcome="not_home")
    _review(session, visit5, ReviewState.approved)
    visit6 = record_visit(
        session, w, household=dung_house, lines=[line(dung, "dvcqg_login", "done")]
    )
    _review(session, visit6, ReviewState.rejected)
    visit7 = record_visit(
        session,
        w,
        household=mai_house,
        lines=[
            line(mai, "vneid_level1", "done"),
            line(mai, "vneid_level2", "done"),
        ],
    )
    _review(session, visit7, ReviewState.approved)
    record_visit(
        session,
        w,
        household=w.far_household,
        member=w.other_volunteer,  # visit 8
        lines=[line(w.far_resident, "vneid_level1", "done")],
    )
    session.commit()
    return w


def _by_village(rows: list[VillageIndicators]) -> dict[int, VillageIndicators]:
    return {row.village_id: row for row in rows}


def test_every_indicator_of_a_hand_made_village(session, field_work):
    (east,) = village_indicators(session, scope=scope_for(field_work.leader))
    assert east.village_id == field_work.village.id
    assert east.households == Count(3, 1)  # 12, 14, 16 approved; 18 proposed
    assert east.reached == Count(1, 2)  # 12 approved; 14 returned, 18 pending household
    assert east.vneid_level1 == Count(2, 2)  # An, Lan (partial); Bình, Mai
    assert east.vneid_activated == Count(1, 1)  # An; Lan
    assert east.vneid_level2_referred == Count(0, 2)  # An referred; Mai done
    assert east.vneid_level2_done == Count(0, 1)  # Mai
    assert east.dvcqg_logins == Count(0, 0)  # An failed; Dũng's visit rejected
    assert east.online_procedures == Count(1, 1)  # Lan: one line approved, one pending
    assert east.payment_accounts == Count(0, 0)  # Lan failed; Bình's visit rejected
    assert east.health_books == Count(0, 1)
    assert east.digital_literacy == Count(0, 1)
    assert east.smartphone_households == Count(2, 0)  # 12 (2 phones), 14 (1 phone)
    assert east.internet_households == Count(1, 0)  # 12
    assert east.failure_reasons == {
        Reason.no_signal: Count(1, 0),
        Reason.no_smartphone: Count(0, 1),
    }


def test_a_household_visited_twice_is_reached_once(session, field_work):
    (east,) = village_indicators(session, scope=scope_for(field_work.volunteer))
    # Household 12 has an approved and a pending visit: one approved household, not two.
    assert east.reached.total == 3


def test_a_resident_with_approved_and_pending_lines_counts_once_as_approved(session, world):
    visit = record_visit(session, world, lines=[line(world.head, "vneid_level1", "done")])
    _review(session, visit, ReviewState.approved)
    record_visit(session, world, lines=[line(world.head, "vneid_level1", "done")])
    (east,) = village_indicators(session, scope=scope_for(world.volunteer))
    assert east.vneid_level1 == Count(1, 0)
    assert east.reached == Count(1, 0)


def test_pending_becomes_approved_and_rejected_is_ignored(session, world):
    visit = record_visit(session, world, lines=[line(world.head, "health_book", "done")])
    (east,) = village_indicators(session, scope=scope_for(world.volunteer))
    assert (east.reached, east.health_books) == (Count(0, 1), Count(0, 1))
    _review(session, visit, ReviewState.approved)
    (east,) = village_indicators(session, scope=scope_for(world.volunteer))
    assert (east.reached, east.health_books) == (Count(1, 0), Count(1, 0))
    _review(session, visit, ReviewState.rejected)
    (east,) = village_indicators(session, scope=scope_for(world.volunteer))
    assert (east.reached, east.health_books) == (Count(0, 0), Count(0, 0))


def test_a_volunteer_sees_only_their_village_and_staff_see_both(session, field_work):
    (west,) = village_indicators(session, scope=scope_for(field_work.other_volunteer))
    assert west.village_id == field_work.other_village.id
    assert (west.households, west.reached, west.vneid_level1) == (
        Count(1, 0),
        Count(0, 1),
        Count(0, 1),
    )
    assert west.failure_reasons == {}

    rows = _by_village(village_indicators(session, scope=scope_for(field_work.staff)))
    assert set(rows) == {field_work.village.id, field_work.other_village.id}
    assert rows[field_work.village.id].vneid_level1 == Count(2, 2)
    assert rows[field_work.other_village.id].vneid_level1 == Count(0, 1)


def test_a_village_without_records_has_zeros(session, world):
    rows = _by_village(village_indicators(session, scope=scope_for(world.staff)))
    west = rows[world.other_village.id]
    assert west.households == Count(1, 0)
    assert west.reached == Count(0, 0)
    assert west.failure_reasons == {}


def test_a_period_counts_only_its_visits(session, field_work):
    since = datetime(2026, 11, 15, tzinfo=UTC)
    (east,) = village_indicators(session, scope=scope_for(field_work.leader), since=since)
    # Visit 2 (10 November) is left out: no referral for An, no pending procedure.
    assert east.vneid_level2_referred == Count(0, 1)
    assert east.online_procedures == Count(1, 0)
    assert east.failure_reasons == {Reason.no_signal: Count(1, 0)}
    assert east.households == Count(3, 1)  # households are counted as they are now

    (east,) = village_indicators(session, scope=scope_for(field_work.leader), until=since)
    assert east.reached == Count(0, 1)
    assert east.vneid_level1 == Count(0, 1)  # An, only through visit 2


def test_villages_come_in_vietnamese_alphabetical_order(session, world):
    from fieldkit import communes
    from fieldkit.policy import scope_for
    from fieldkit.reporting.indicators import villages_in

    communes.add_village(session, world.commune, "Thôn An")
    communes.add_village(session, world.commune, "Thôn Bãi")
    session.commit()
    expected = ["Thôn An", "Thôn Bãi", "Thôn Đông", "Thôn Tây"]
    assert [v.name for v in communes.villages_of(session, world.commune.id)] == expected
    assert [v.name for v in villages_in(session, scope_for(world.staff))] == expected
