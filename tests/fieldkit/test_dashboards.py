"""Dashboard numbers per volunteer, per week, the commune's total and the Zalo summary, on a
hand-made village where every number is known by hand.

NOW is Friday 2026-11-20 10:00 in Vietnam: ISO week 47 runs Mon 16/11 – Sun 22/11.
Thôn Đông after `field_work`:
- "12" (An, Lan), assigned to the volunteer: v1 volunteer Tue 10/11 (week 46) met, An level 1
  done, Lan level 1 partial — approved; v2 leader Wed 18/11 met, An activated — pending.
- "14" (Bình), assigned to nobody: v3 leader Thu 19/11 met, Bình level 1 done, health book
  failed (no signal) — returned.
- "16" (Dũng), assigned to the leader: v4 volunteer Tue 03/11 (week 45) not home — approved;
  v5 volunteer today met, Dũng level 1 done — rejected (never counts). Follow-up today.
- "18" (Mai), proposed from the field (pending), assigned to the volunteer: v6 volunteer today
  08:00 met, Mai level 1 done — visit approved, household pending, so pending.
Thôn Tây: v7 by the other volunteer — never in Thôn Đông's numbers.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from fieldkit.errors import Invalid
from fieldkit.households import residents_of
from fieldkit.models import Household, Reason, ReviewState, Target, Visit
from fieldkit.policy import scope_for
from fieldkit.reporting import dashboards
from fieldkit.reporting.dashboards import ShareNumbers, Week, day_bounds
from fieldkit.reporting.indicators import LABELS, Count, village_indicators
from tests.factories import World, add_household
from tests.fieldkit.helpers import line, record_visit

TODAY = date(2026, 11, 20)


def _review(session, visit: Visit, state: ReviewState) -> None:
    visit.review_state = state
    session.add(visit)
    session.flush()


@pytest.fixture
def field_work(session, world: World) -> World:
    w = world
    dung_house = add_household(
        session,
        w.village,
        "16",
        "Vũ Văn Dũng",
        assigned=w.leader,
        residents=[("Vũ Văn Dũng", 1990, None, "Chủ hộ")],
    )
    mai_house = add_household(
        session,
        w.village,
        "18",
        "Đặng Thị Mai",
        assigned=w.volunteer,
        residents=[("Đặng Thị Mai", 1985, None, "Chủ hộ")],
    )
    mai_house.review_state = ReviewState.pending
    (binh,) = residents_of(session, w.neighbour)
    (dung,) = residents_of(session, dung_house)
    (mai,) = residents_of(session, mai_house)

    v1 = record_visit(
        session,
        w,
        visited_at="2026-11-10T09:00",
        lines=[line(w.head, "vneid_level1", "done"), line(w.spouse, "vneid_level1", "partial")],
    )
    _review(session, v1, ReviewState.approved)
    record_visit(
        session,
        w,
        member=w.leader,
        visited_at="2026-11-18T09:00",
        lines=[line(w.head, "vneid_activate", "done")],
    )
    v3 = record_visit(
        session,
        w,
        household=w.neighbour,
        member=w.leader,
        visited_at="2026-11-19T15:00",
        lines=[
            line(binh, "vneid_level1", "done"),
            line(binh, "health_book", "failed", reason="no_signal"),
        ],
    )
    _review(session, v3, ReviewState.returned)
    v4 = record_visit(
        session, w, household=dung_house, visited_at="2026-11-03T09:00", outcome="not_home"
    )
    _review(session, v4, ReviewState.approved)
    v5 = record_visit(
        session,
        w,
        household=dung_house,
        visited_at="2026-11-20T09:30",
        follow_up_on="2026-11-20",
        lines=[line(dung, "vneid_level1", "done")],
    )
    _review(session, v5, ReviewState.rejected)
    v6 = record_visit(
        session,
        w,
        household=mai_house,
        visited_at="2026-11-20T08:00",
        lines=[line(mai, "vneid_level1", "done")],
    )
    _review(session, v6, ReviewState.approved)
    record_visit(
        session,
        w,
        household=w.far_household,
        member=w.other_volunteer,
        visited_at="2026-11-19T09:00",
        lines=[line(w.far_resident, "vneid_level1", "done")],
    )
    session.commit()
    return w


def test_per_volunteer_numbers_known_by_hand(session, field_work):
    w = field_work
    table = dashboards.per_volunteer(session, village_id=w.village.id)
    rows = {row.name: row for row in table.rows}
    assert list(rows) == ["Bùi Văn Lực", "Phạm Thu Hà", "Chưa phân công"]  # Vietnamese order
    ha, luc, nobody = rows["Phạm Thu Hà"], rows["Bùi Văn Lực"], rows["Chưa phân công"]
    assert (ha.assigned, ha.visits, ha.reached, ha.lines_done) == (
        2,
        Count(2, 1),
        Count(1, 1),
        Count(1, 1),
    )  # 12, 18; v1 v4 | v6; 12 | 18; An | Mai
    assert (luc.assigned, luc.visits, luc.reached, luc.lines_done) == (
        1,
        Count(0, 2),
        Count(0, 1),
        Count(0, 2),
    )  # 16; v2 v3; 14 (12 was Hà's first); An, Bình
    assert (nobody.assigned, nobody.visits) == (1, Count())  # 14
    assert "Đỗ Minh Tuấn" not in rows  # Thôn Tây's volunteer


def test_per_volunteer_rows_add_up_to_the_village(session, field_work):
    w = field_work
    table = dashboards.per_volunteer(session, village_id=w.village.id)
    (east,) = village_indicators(session, scope=scope_for(w.leader))
    assert (
        table.total.assigned
        == sum(row.assigned for row in table.rows)
        == east.households.total
        == 4
    )
    # A household visited by two people (12) is reached once, by the first.
    assert table.total.reached == east.reached == Count(1, 2)
    assert table.total.visits == Count(2, 3)  # v5 rejected, v7 in Thôn Tây
    assert table.total.lines_done == Count(1, 3)


def test_per_volunteer_within_a_week(session, field_work):
    w = field_work
    week = Week(2026, 47)
    table = dashboards.per_volunteer(
        session, village_id=w.village.id, since=week.since, until=week.until
    )
    rows = {row.name: row for row in table.rows}
    assert rows["Phạm Thu Hà"].visits == Count(0, 1)  # v6 only
    assert rows["Phạm Thu Hà"].reached == Count(0, 1)  # 18; 12 was first reached in week 46
    assert rows["Bùi Văn Lực"].visits == Count(0, 2)
    assert rows["Phạm Thu Hà"].assigned == 2  # assignments are today's, not the week's


def test_per_week_numbers_known_by_hand(session, field_work):
    w = field_work
    weeks = dashboards.per_week(session, village_id=w.village.id, last=Week(2026, 47))
    assert [row.week.number for row in weeks] == list(range(40, 48))
    by_week = {row.week.number: row for row in weeks}
    assert (by_week[45].visits, by_week[45].reached, by_week[45].vneid_level1) == (
        Count(1, 0),
        Count(),
        Count(),
    )  # v4: not home
    assert (by_week[46].visits, by_week[46].reached, by_week[46].vneid_level1) == (
        Count(1, 0),
        Count(1, 0),
        Count(2, 0),
    )  # v1: 12; An, Lan
    assert (by_week[47].visits, by_week[47].reached, by_week[47].vneid_level1) == (
        Count(0, 3),
        Count(0, 2),
        Count(0, 2),
    )  # v2 v3 v6; 14, 18; Bình, Mai (An already)
    assert all(row.visits == Count() for row in weeks[:5])


def test_weeks_since_the_first_visit_add_up_to_the_village(session, field_work):
    w = field_work
    weeks = dashboards.per_week(session, village_id=w.village.id, last=Week(2026, 47))
    (east,) = village_indicators(session, scope=scope_for(w.leader))
    assert dashboards._sum(row.reached for row in weeks) == east.reached
    assert dashboards._sum(row.vneid_level1 for row in weeks) == east.vneid_level1


def test_weeks_cross_the_new_year(session, world):
    weeks = dashboards.per_week(session, village_id=world.village.id, last=Week(2027, 2))
    assert [row.week.iso for row in weeks][-3:] == ["2026-W53", "2027-W01", "2027-W02"]


def _share_numbers(session, w: World) -> ShareNumbers:
    (now,) = village_indicators(session, scope=scope_for(w.leader))
    (this_week,) = dashboards.per_week(
        session, village_id=w.village.id, last=Week.of(TODAY), weeks=1
    )
    return ShareNumbers(
        now, this_week, dashboards.new_today(session, village_id=w.village.id, today=TODAY)
    )


def test_the_zalo_summary(session, field_work):
    w = field_work
    text = dashboards.share_text(
        village=w.village,
        week=Week.of(TODAY),
        numbers=_share_numbers(session, w),
        follow_ups_today=dashboards.follow_ups_due(session, village_id=w.village.id, on=TODAY),
    )
    assert text == (
        "Thôn Đông – tuần 47 (16/11–22/11):\n"
        "• Đã tiếp cận 3/4 hộ (75%); tuần này +2, hôm nay +1.\n"
        "• VNeID mức 1: 4 người (+2 tuần này); kích hoạt: 1; chuyển công an mức 2: 0.\n"
        "• Đăng nhập Cổng DVCQG: 0; hồ sơ trực tuyến: 0; tài khoản thanh toán: 0.\n"
        "• Hẹn quay lại hôm nay: 1 hộ.\n"
        "(Gồm 2 hộ và 2 người VNeID đang chờ xã duyệt.)"
    )


def test_new_this_week_and_today_is_now_minus_before(session, field_work):
    """The summary's "+n" read from first reaches equals the village counted twice more,
    before the week and before today."""
    w = field_work
    scope = scope_for(w.leader)
    numbers = _share_numbers(session, w)
    (before_week,) = village_indicators(session, scope=scope, until=Week.of(TODAY).since)
    (before_today,) = village_indicators(session, scope=scope, until=day_bounds(TODAY)[0])
    now = numbers.now
    assert numbers.this_week.reached.total == now.reached.total - before_week.reached.total
    assert (
        numbers.this_week.vneid_level1.total
        == now.vneid_level1.total - before_week.vneid_level1.total
    )
    assert numbers.reached_today.total == now.reached.total - before_today.reached.total


def test_follow_ups_due(session, field_work):
    w = field_work
    assert dashboards.follow_ups_due(session, village_id=w.village.id, on=TODAY) == 1
    assert (
        dashboards.follow_ups_due(session, village_id=w.village.id, on=TODAY + timedelta(days=1))
        == 0
    )
    (house,) = dashboards.follow_up_households(session, village_id=w.village.id, until=TODAY)
    assert house.label == "16"


def test_the_commune_total_is_the_sum_of_the_villages(session, field_work):
    rows = village_indicators(session, scope=scope_for(field_work.staff))
    total = dashboards.commune_total(rows)
    for key in LABELS:
        assert getattr(total, key) == dashboards._sum(getattr(row, key) for row in rows), key
    assert total.vneid_level1 == Count(2, 3)  # An, Lan | Bình, Mai, Cường
    assert total.failure_reasons == {Reason.no_signal: Count(0, 1)}


def test_lines_carry_the_progress_of_the_approved_number(session, field_work):
    w = field_work
    (east,) = village_indicators(session, scope=scope_for(w.leader))
    target = Target(
        commune_id=w.commune.id,
        village_id=w.village.id,
        indicator="vneid_level1",
        period_start=date(2026, 1, 1),
        period_end=date(2026, 12, 31),
        value=8,
    )
    lines = dashboards.lines(
        east,
        {(w.village.id, "vneid_level1"): target},
        village_id=w.village.id,
        keys=["reached", "vneid_level1"],
    )
    assert [line.label for line in lines] == ["Hộ đã tiếp cận", "VNeID mức 1"]
    assert lines[0].progress is None
    assert (lines[1].count, lines[1].progress.percent) == (Count(2, 2), 25)  # 2 of 8


def test_villages_sort_by_any_column(session, field_work):
    rows = village_indicators(session, scope=scope_for(field_work.staff))
    names = [r.village_name for r in dashboards.sort_villages(rows, by="name", descending=True)]
    assert names == ["Thôn Tây", "Thôn Đông"]
    by_reached = dashboards.sort_villages(rows, by="reached", descending=True)
    assert [r.village_name for r in by_reached] == ["Thôn Đông", "Thôn Tây"]  # 1 vs 0 approved
    unknown = dashboards.sort_villages(rows, by="'; drop table", descending=False)
    assert [r.village_name for r in unknown] == ["Thôn Đông", "Thôn Tây"]


def test_a_pending_household_is_not_in_the_coverage_percent(session, field_work):
    (east,) = village_indicators(session, scope=scope_for(field_work.leader))
    assert dashboards.coverage_percent(east) == 33  # 1 approved reached of 3 approved


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2026-W47", Week(2026, 47)),
        ("2026w05", Week(2026, 5)),
        ("", Week(2026, 47)),
        (None, Week(2026, 47)),
        ("2020-W53", Week(2020, 53)),
    ],
)
def test_a_week_is_read_from_the_address(text, expected):
    assert Week.parse(text, today=TODAY) == expected


@pytest.mark.parametrize(
    "text", ["2026-W54", "2025-W53", "tuần 47", "2026-47", "W47", "2026-W48", "9999999999-W01"]
)
def test_a_bad_or_future_week_is_refused_in_vietnamese(text):
    with pytest.raises(Invalid) as refused:
        Week.parse(text, today=TODAY)
    assert "uần" in refused.value.errors["week"]


def test_a_week_knows_its_days():
    week = Week(2026, 47)
    assert (week.monday, week.sunday, week.iso) == (
        date(2026, 11, 16),
        date(2026, 11, 22),
        "2026-W47",
    )
    assert week.previous().iso == "2026-W46" and week.next().iso == "2026-W48"
    assert week.days == "16/11–22/11/2026"


def test_percent_rounds_half_up_and_knows_no_whole():
    assert dashboards.percent(1, 3) == 33
    assert dashboards.percent(1, 8) == 13
    assert dashboards.percent(5, 0) is None


def test_rejected_households_are_nowhere(session, field_work):
    w = field_work
    house = session.get(Household, w.neighbour.id)
    house.review_state = ReviewState.rejected
    session.commit()
    table = dashboards.per_volunteer(session, village_id=w.village.id)
    assert table.total.assigned == 3
    assert table.total.reached == Count(1, 1)  # 14 gone
