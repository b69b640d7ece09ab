"""A resident's digital status per service, derived from the visits (DESIGN.md §2)."""

from fieldkit.models import ReviewState, Service
from fieldkit.status import statuses
from tests.fieldkit.helpers import line, record_visit

FAILED = {"result": "failed", "reason": "no_signal"}


def decide(session, visit, state: ReviewState) -> None:
    """What commune staff do in review; the review module is not written yet."""
    visit.review_state = state
    session.add(visit)
    session.flush()


def chips_of(session, world, resident) -> list[tuple[str, str, bool]]:
    return [
        (chip.service_code, chip.result, chip.approved)
        for chip in statuses(session, world.household.id).get(resident.id, [])
    ]


def test_nothing_done_means_no_chips(session, world):
    assert statuses(session, world.household.id) == {}


def test_each_resident_gets_their_own_chips(session, world):
    record_visit(
        session,
        world,
        lines=[line(world.head, "vneid_level1"), line(world.spouse, "health_book", **FAILED)],
    )
    chips = statuses(session, world.household.id)
    assert set(chips) == {world.head.id, world.spouse.id}
    assert [(c.service_code, c.label, c.result) for c in chips[world.spouse.id]] == [
        ("health_book", "Sổ sức khỏe", "failed")
    ]


def test_done_wins_over_failed_whatever_the_order(session, world):
    record_visit(
        session,
        world,
        visited_at="2026-11-18T09:00",
        lines=[line(world.head, "vneid_level1", **FAILED)],
    )
    record_visit(
        session,
        world,
        visited_at="2026-11-19T09:00",
        lines=[line(world.head, "vneid_level1", "done")],
    )
    # A later failure (say, the resident forgot the password) does not undo what was done.
    record_visit(
        session,
        world,
        visited_at="2026-11-20T09:00",
        lines=[line(world.head, "vneid_level1", **FAILED)],
    )
    assert chips_of(session, world, world.head) == [("vneid_level1", "done", False)]


def test_approved_only_when_an_approved_visit_backs_the_result(session, world):
    visit = record_visit(session, world, lines=[line(world.head, "vneid_level1")])
    assert chips_of(session, world, world.head) == [("vneid_level1", "done", False)]
    decide(session, visit, ReviewState.approved)
    assert chips_of(session, world, world.head) == [("vneid_level1", "done", True)]


def test_approved_failure_does_not_vouch_for_a_pending_success(session, world):
    failed = record_visit(
        session,
        world,
        visited_at="2026-11-18T09:00",
        lines=[line(world.head, "vneid_level1", **FAILED)],
    )
    decide(session, failed, ReviewState.approved)
    record_visit(session, world, lines=[line(world.head, "vneid_level1", "done")])
    assert chips_of(session, world, world.head) == [("vneid_level1", "done", False)]


def test_approved_result_outranks_the_same_result_pending(session, world):
    approved = record_visit(
        session, world, visited_at="2026-11-18T09:00", lines=[line(world.head, "vneid_level1")]
    )
    decide(session, approved, ReviewState.approved)
    record_visit(session, world, lines=[line(world.head, "vneid_level1")])
    assert chips_of(session, world, world.head) == [("vneid_level1", "done", True)]


def test_rejected_visits_do_not_count(session, world):
    rejected = record_visit(
        session,
        world,
        visited_at="2026-11-18T09:00",
        lines=[line(world.head, "vneid_level1"), line(world.head, "etax")],
    )
    decide(session, rejected, ReviewState.rejected)
    record_visit(session, world, lines=[line(world.head, "vneid_level1", **FAILED)])
    assert chips_of(session, world, world.head) == [("vneid_level1", "failed", False)]


def test_chips_follow_the_catalogue_order(session, world):
    record_visit(
        session,
        world,
        lines=[
            line(world.head, "zalo_group"),
            line(world.head, "vneid_level1"),
            line(world.head, "health_book"),
        ],
    )
    assert [code for code, *_ in chips_of(session, world, world.head)] == [
        "vneid_level1",
        "health_book",
        "zalo_group",
    ]

    # The catalogue is data: when staff move Zalo to the top, the chips follow.
    zalo = session.get(Service, "zalo_group")
    zalo.sort_order = -1
    session.add(zalo)
    session.flush()
    assert [code for code, *_ in chips_of(session, world, world.head)] == [
        "zalo_group",
        "vneid_level1",
        "health_book",
    ]


def test_statuses_are_per_household(session, world):
    record_visit(session, world, household=world.neighbour, lines=[])
    record_visit(session, world, lines=[line(world.head)])
    assert statuses(session, world.neighbour.id) == {}


def test_many_households_at_once_say_what_each_says_alone(session, world):
    from fieldkit.households import residents_of, residents_of_many
    from fieldkit.status import statuses_of
    from fieldkit.visits import visits_of, visits_of_many

    record_visit(session, world, lines=[line(world.head), line(world.spouse, **FAILED)])
    (bình,) = residents_of(session, world.neighbour)
    record_visit(session, world, household=world.neighbour, lines=[line(bình, "health_book")])
    households = [world.household, world.neighbour, world.far_household]
    ids = [h.id for h in households]
    assert statuses_of(session, ids) == {
        h.id: statuses(session, h.id) for h in households if statuses(session, h.id)
    }
    assert visits_of_many(session, ids) == {
        h.id: visits_of(session, h) for h in households if visits_of(session, h)
    }
    assert residents_of_many(session, ids) == {h.id: residents_of(session, h) for h in households}
    assert statuses_of(session, []) == visits_of_many(session, []) == {}
