"""The pre-aggregated indicators (HouseholdProgress, VillageProgress) always equal a count from
scratch: after visits, reviews, rejections, new households and residents, and erasures; on the
hand-made world and on a demo commune built in bulk."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import func, select

from fieldkit import demo, followups, privacy
from fieldkit.households import refresh_summary, residents_of
from fieldkit.models import (
    Household,
    HouseholdProgress,
    Resident,
    ReviewState,
    VillageProgress,
    Visit,
)
from fieldkit.policy import Scope, scope_for
from fieldkit.reporting import dashboards, indicators
from fieldkit.reporting.dashboards import Week
from tests.conftest import NOW
from tests.factories import World, add_household
from tests.fieldkit.helpers import line, record_visit

TODAY = date(2026, 11, 20)


def assert_agrees(session, scope: Scope) -> None:
    fast = indicators.village_indicators(session, scope=scope)
    assert fast == indicators.recount(session, scope=scope)
    week = {
        "since": datetime(2026, 11, 14, tzinfo=UTC),
        "until": datetime(2026, 11, 21, tzinfo=UTC),
    }
    assert indicators.village_indicators(session, scope=scope, **week) == indicators.recount(
        session, scope=scope, **week
    )
    # The level-2 waiting count kept beside the indicators equals the list counted from lines.
    found = followups.followups(session, scope=scope, today=TODAY, limit=10_000)
    assert found.counts["level2_waiting"] == len(found.lists["level2_waiting"])
    # The village sums equal the sums of the households' shares.
    per_household = session.exec(
        select(
            HouseholdProgress.village_id,
            HouseholdProgress.indicator,
            func.sum(HouseholdProgress.approved),
            func.sum(HouseholdProgress.pending),
        ).group_by(HouseholdProgress.village_id, HouseholdProgress.indicator)
    ).all()
    per_village = session.exec(
        select(
            VillageProgress.village_id,
            VillageProgress.indicator,
            VillageProgress.approved,
            VillageProgress.pending,
        )
    ).all()
    assert {(v, i): (a, p) for v, i, a, p in per_household} == {
        (v, i): (a, p) for v, i, a, p in per_village if a or p
    }
    # The dashboards' kept tallies (weeks, people, today) equal a count from the visits.
    for village in indicators.villages_in(session, scope):
        for last in (Week.of(TODAY), Week.of(TODAY).previous(3)):
            assert dashboards.per_week(
                session, village_id=village.id, last=last, weeks=12
            ) == dashboards.count_weeks(session, village_id=village.id, last=last, weeks=12)
        assert dashboards.per_volunteer(session, village_id=village.id) == (
            dashboards.per_volunteer(session, village_id=village.id, recount=True)
        )
        since, until = dashboards.day_bounds(TODAY)
        counted = dashboards.firsts(session, village_id=village.id)
        today = sum(1 for _, at, _ in counted.reach if since <= at < until)
        assert dashboards.new_today(session, village_id=village.id, today=TODAY).total == today


def _decide(session, visit: Visit, state: ReviewState) -> None:
    """A review decision as the review loop makes it: the state, then the summary."""
    visit.review_state = state
    session.add(visit)
    refresh_summary(session, session.get(Household, visit.household_id))


def test_fast_numbers_equal_a_recount_through_the_review_loop(session, world: World):
    w = world
    staff = scope_for(w.staff)
    assert_agrees(session, staff)
    first = record_visit(
        session,
        w,
        smartphones=2,
        internet_at_home="yes",
        lines=[
            line(w.head, "vneid_level1", "done"),
            line(w.spouse, "vneid_level2", "referred", reason="needs_police"),
            line(w.spouse, "dvcqg_login", "failed", reason="no_signal"),
            line(w.head, "online_procedure", "done"),
        ],
    )
    second = record_visit(
        session,
        w,
        visited_at="2026-11-10T08:00",
        lines=[line(w.head, "vneid_level1", "partial"), line(w.spouse, "health_book", "done")],
    )
    far = record_visit(
        session,
        w,
        household=w.far_household,
        member=w.other_volunteer,
        lines=[line(w.far_resident, "payment_account", "done")],
    )
    session.commit()
    assert_agrees(session, staff)

    _decide(session, first, ReviewState.approved)
    _decide(session, second, ReviewState.returned)
    _decide(session, far, ReviewState.rejected)
    session.commit()
    assert_agrees(session, staff)
    rows = {row.village_id: row for row in indicators.village_indicators(session, scope=staff)}
    east, west = rows[w.village.id], rows[w.other_village.id]
    assert east.vneid_level1 == indicators.Count(1, 0)
    assert west.payment_accounts == indicators.Count(0, 0)

    # A state set by hand and only flushed (no refresh_summary) still moves the numbers.
    second.review_state = ReviewState.approved
    session.add(second)
    w.spouse.review_state = ReviewState.rejected
    session.add(w.spouse)
    session.flush()
    assert_agrees(session, staff)

    # A household proposed from the field, a resident added, then the household rejected.
    newcomer = add_household(
        session, w.village, "20", "Phan Văn Tú", residents=[("Phan Văn Tú", 1999, None, "Chủ hộ")]
    )
    newcomer.review_state = ReviewState.pending
    session.add(newcomer)
    session.flush()
    (tu,) = residents_of(session, newcomer)
    record_visit(session, w, household=newcomer, lines=[line(tu, "vneid_activate", "done")])
    session.add(
        Resident(
            uuid="9f0e6a55-0000-4000-8000-000000000001",
            household_id=w.neighbour.id,
            name="Trần Văn Nam",
        )
    )
    session.flush()
    refresh_summary(session, w.neighbour)
    assert_agrees(session, staff)
    newcomer.review_state = ReviewState.rejected
    session.add(newcomer)
    session.commit()
    assert_agrees(session, staff)

    # Erasure keeps the counts.
    before = indicators.village_indicators(session, scope=staff)
    privacy.erase_household(session, w.household.id, member=w.staff, now=NOW)
    session.commit()
    assert_agrees(session, staff)
    assert indicators.village_indicators(session, scope=staff) == before


def test_demo_built_in_bulk_agrees_and_stays_right(session):
    demo.build(session, commune_code="15349", households=300, seed=7, now=NOW)
    session.commit()
    commune_scope = Scope(commune_id=1, village_id=None)
    assert_agrees(session, commune_scope)
    visits = session.exec(select(Visit).order_by(Visit.id).limit(40)).all()
    for number, visit in enumerate(visits):
        visit.review_state = list(ReviewState)[number % 4]
        session.add(visit)
    session.commit()
    assert_agrees(session, commune_scope)
    # Rebuilding from scratch changes nothing.
    indicators.rebuild_progress(session)
    session.commit()
    assert_agrees(session, commune_scope)


def test_many_village_changes_at_once_are_all_added(session, world: World):
    # A recount of a whole province changes more village rows than one statement should
    # carry (a thousand per statement): every one is added, none twice.
    villages = [world.village.id, world.other_village.id]
    changes = {(v, f"x{n:04}"): [n, 1] for v in villages for n in range(1, 1301)}
    indicators._add_to_villages(session, changes)
    indicators._add_to_villages(session, changes)
    stored = {
        (v, i): (a, p)
        for v, i, a, p in session.exec(
            select(
                VillageProgress.village_id,
                VillageProgress.indicator,
                VillageProgress.approved,
                VillageProgress.pending,
            ).where(VillageProgress.indicator.startswith("x"))
        ).all()
    }
    assert stored == {key: (2 * a, 2 * p) for key, (a, p) in changes.items()}
