"""Follow-ups: overdue, today, upcoming, and residents waiting for police level-2 verification,
on the hand-made world (NOW is 2026-11-20 10:00 in Vietnam: today is 20/11)."""

from __future__ import annotations

from datetime import date

from fieldkit import privacy
from fieldkit.followups import followup_counts, followups
from fieldkit.households import refresh_summary
from fieldkit.models import ReviewState
from fieldkit.policy import scope_for
from tests.conftest import NOW
from tests.factories import World, add_household
from tests.fieldkit.helpers import line, record_visit

TODAY = date(2026, 11, 20)
REFERRED = {"reason": "needs_police"}


def _ids(rows) -> list[int]:
    return [row.household_id for row in rows]


def test_due_dates_fall_into_overdue_today_and_upcoming(session, world: World):
    w = world
    record_visit(
        session, w, visited_at="2026-11-16T09:00", follow_up_on="2026-11-18"
    )  # household 12: overdue
    record_visit(session, w, household=w.neighbour, follow_up_on="2026-11-20")  # today
    later = add_household(session, w.village, "16", "Vũ Văn Dũng")
    record_visit(session, w, household=later, follow_up_on="2026-11-27")  # in 7 days
    too_far = add_household(session, w.village, "18", "Đặng Thị Mai")
    record_visit(session, w, household=too_far, follow_up_on="2026-11-28")  # beyond a week
    record_visit(
        session,
        w,
        household=w.far_household,
        member=w.other_volunteer,
        visited_at="2026-10-30T09:00",
        follow_up_on="2026-11-01",
    )  # Thôn Tây
    session.commit()

    east = followups(session, scope=scope_for(w.volunteer), today=TODAY)
    assert _ids(east.lists["overdue"]) == [w.household.id]
    assert _ids(east.lists["today"]) == [w.neighbour.id]
    assert _ids(east.lists["upcoming"]) == [later.id]
    assert east.counts == {"overdue": 1, "today": 1, "upcoming": 1, "level2_waiting": 0}
    first = east.lists["overdue"][0]
    assert (first.label, first.head_name, first.on, first.volunteer_name) == (
        "12",
        "Nguyễn Văn An",
        date(2026, 11, 18),
        "Phạm Thu Hà",
    )
    assert east.lists["today"][0].volunteer_name is None  # nobody assigned

    commune = followup_counts(session, scope=scope_for(w.staff), today=TODAY)
    assert commune == {"overdue": 2, "today": 1, "upcoming": 1, "level2_waiting": 0}
    west_only = followups(
        session, scope=scope_for(w.staff), today=TODAY, village_id=w.other_village.id
    )
    assert _ids(west_only.lists["overdue"]) == [w.far_household.id]
    assert west_only.lists["overdue"][0].village_name == "Thôn Tây"


def test_mine_keeps_only_households_assigned_to_me(session, world: World):
    w = world
    record_visit(session, w, follow_up_on="2026-11-20")
    record_visit(session, w, household=w.neighbour, follow_up_on="2026-11-20")
    session.commit()
    mine = followups(session, scope=scope_for(w.volunteer), today=TODAY, assigned_to=w.volunteer.id)
    assert _ids(mine.lists["today"]) == [w.household.id]
    assert mine.counts["today"] == 1


def test_the_latest_visit_decides_and_a_rejected_visit_is_ignored(session, world: World):
    w = world
    record_visit(session, w, visited_at="2026-11-10T09:00", follow_up_on="2026-11-12")
    record_visit(session, w, visited_at="2026-11-19T09:00")  # came back, no new date
    session.commit()
    assert followup_counts(session, scope=scope_for(w.volunteer), today=TODAY)["overdue"] == 0

    visit = record_visit(session, w, household=w.neighbour, follow_up_on="2026-11-21")
    visit.review_state = ReviewState.rejected
    session.add(visit)
    refresh_summary(session, w.neighbour)
    session.commit()
    assert followup_counts(session, scope=scope_for(w.volunteer), today=TODAY)["upcoming"] == 0


def test_residents_referred_for_level2_wait_until_done(session, world: World):
    w = world
    record_visit(
        session,
        w,
        visited_at="2026-11-05T09:00",
        lines=[
            line(w.head, "vneid_level2", "referred", **REFERRED),
            line(w.spouse, "vneid_level2", "referred", **REFERRED),
        ],
    )
    record_visit(
        session, w, visited_at="2026-11-15T09:00", lines=[line(w.spouse, "vneid_level2", "done")]
    )
    record_visit(
        session,
        w,
        household=w.far_household,
        member=w.other_volunteer,
        visited_at="2026-11-16T09:00",
        lines=[line(w.far_resident, "vneid_level2", "referred", **REFERRED)],
    )
    session.commit()

    east = followups(session, scope=scope_for(w.leader), today=TODAY)
    (waiting,) = east.lists["level2_waiting"]
    assert (waiting.household_id, waiting.resident_name, waiting.on) == (
        w.household.id,
        "Nguyễn Văn An",
        date(2026, 11, 5),
    )
    assert followup_counts(session, scope=scope_for(w.staff), today=TODAY)["level2_waiting"] == 2
    assert (
        followup_counts(session, scope=scope_for(w.staff), today=TODAY, assigned_to=w.volunteer.id)[
            "level2_waiting"
        ]
        == 1
    )
    assert (
        followups(session, scope=scope_for(w.staff), today=TODAY, assigned_to=w.leader.id).lists[
            "level2_waiting"
        ]
        == []
    )

    # Referred again after done: waiting again. A rejected referral does not count.
    again = record_visit(
        session,
        w,
        visited_at="2026-11-18T09:00",
        lines=[line(w.spouse, "vneid_level2", "referred", **REFERRED)],
    )
    session.commit()
    assert followup_counts(session, scope=scope_for(w.leader), today=TODAY)["level2_waiting"] == 2
    again.review_state = ReviewState.rejected
    session.add(again)
    session.commit()
    assert followup_counts(session, scope=scope_for(w.leader), today=TODAY)["level2_waiting"] == 1


def test_erased_and_rejected_households_are_not_listed(session, world: World):
    w = world
    record_visit(
        session,
        w,
        follow_up_on="2026-11-20",
        lines=[line(w.head, "vneid_level2", "referred", **REFERRED)],
    )
    record_visit(session, w, household=w.neighbour, follow_up_on="2026-11-20")
    session.commit()
    privacy.erase_household(session, w.household.id, member=w.staff, now=NOW)
    w.neighbour.review_state = ReviewState.rejected
    session.add(w.neighbour)
    session.commit()
    assert followup_counts(session, scope=scope_for(w.staff), today=TODAY) == {
        "overdue": 0,
        "today": 0,
        "upcoming": 0,
        "level2_waiting": 0,
    }
