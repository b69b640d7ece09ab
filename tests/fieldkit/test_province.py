"""The province above its communes (issue 14): communes created from the official list, the
numbers of every commune side by side (equal to each commune's own overview), the review
backlog and latest visit, the week, province targets that a commune sees as its own, province
staff, and the file sent upward. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from fieldkit import admin_units, communes, members, policy, review
from fieldkit.errors import Forbidden, Invalid, NotFound
from fieldkit.models import Commune, Member, ProvinceTarget, RecordKind, ReviewState, Role, Visit
from fieldkit.policy import Scope
from fieldkit.reporting import dashboards, indicators, province
from fieldkit.reporting import targets as target_rules
from fieldkit.reporting.dashboards import Week
from tests.conftest import NOW
from tests.factories import build_province
from tests.fieldkit.helpers import line, record_visit

TODAY = date(2026, 11, 20)


@pytest.fixture
def two(session, world):
    found = build_province(session, world)
    record_visit(session, world, lines=[line(world.head), line(world.spouse, "dvcqg_login")])
    record_visit(
        session,
        world,
        household=world.far_household,
        member=world.other_volunteer,
        lines=[line(world.far_resident, "payment_account")],
        visited_at="2026-11-19T15:00",
    )
    record_visit(
        session,
        world,
        household=found.neighbour_household,
        member=found.neighbour_volunteer,
        lines=[line(found.neighbour_resident)],
        visited_at="2026-11-18T08:00",
    )
    session.commit()
    return found


def test_init_province_creates_every_commune_once(session):
    made = communes.init_province(session, "38")
    session.commit()
    official = admin_units.communes_of_province("38")
    assert len(made) == len(official) == 166
    assert all(created for _, created in made)
    again = communes.init_province(session, " 38 ")
    session.commit()
    assert not any(created for _, created in again)
    assert session.exec(select(func.count()).select_from(Commune)).one() == 166
    assert {c.code for c, _ in again} == {c.code for c in official}


@pytest.mark.parametrize("code", ["3", "abc", "99", "", None])
def test_a_bad_province_code_creates_nothing(session, code):
    with pytest.raises(NotFound):
        communes.init_province(session, code)
    assert session.exec(select(func.count()).select_from(Commune)).one() == 0


def test_each_commune_row_equals_its_own_overview(session, world, two):
    found = province.overview(session, province_code="38", today=TODAY)
    assert [row.name for row in found.rows] == ["Phường Hàm Rồng", "Xã Vĩnh Lộc"]
    for row in found.rows:
        own = dashboards.commune_total(
            indicators.village_indicators(
                session, scope=Scope(commune_id=row.commune.id, village_id=None)
            )
        )
        for key in indicators.LABELS:
            assert getattr(row.values, key) == getattr(own, key), (row.name, key)
        assert row.values.failure_reasons == own.failure_reasons
    for key in indicators.LABELS:
        assert getattr(found.total.values, key).approved == sum(
            getattr(row.values, key).approved for row in found.rows
        )
    vinh_loc = next(row for row in found.rows if row.commune.code == "15349")
    assert vinh_loc.values.reached.pending == 2  # both visits wait for review
    assert vinh_loc.villages == 2 and found.total.villages == 3


def test_another_province_is_never_counted(session, world, two):
    record_visit(
        session,
        world,
        household=two.far_household,
        member=session.exec(
            select(Member).where(Member.commune_id == two.far.id, Member.role == Role.volunteer)
        ).one(),
    )
    session.commit()
    found = province.overview(session, province_code="38", today=TODAY)
    assert "Phường Cửa Nam" not in [row.name for row in found.rows]
    assert found.total.values.households.total == 4  # 3 in Vĩnh Lộc, 1 in Hàm Rồng
    far = province.overview(session, province_code="01", today=TODAY)
    assert [row.name for row in far.rows] == ["Phường Cửa Nam"]


def test_the_review_backlog_equals_the_inbox_and_moves_with_decisions(session, world, two):
    found = province.overview(session, province_code="38", today=TODAY)
    vinh_loc = next(row for row in found.rows if row.commune.code == "15349")
    inbox = review.inbox(session, member=world.staff, now=NOW)
    assert vinh_loc.pending_reviews == inbox.total == 2
    visit = session.exec(select(Visit).where(Visit.household_id == world.household.id)).one()
    review.decide(
        session,
        member=world.staff,
        kind=RecordKind.visit,
        record_id=visit.id,
        expected_revision=1,
        decision=ReviewState.returned,
        reason="Thiếu năm sinh",
        now=NOW,
    )
    session.commit()
    found = province.overview(session, province_code="38", today=TODAY)
    vinh_loc = next(row for row in found.rows if row.commune.code == "15349")
    assert (vinh_loc.pending_reviews, vinh_loc.returned) == (1, 1)
    assert found.total.pending_reviews == 2  # and Hàm Rồng's one


def test_latest_visit_per_commune_and_sorting(session, world, two):
    found = province.overview(session, province_code="38", today=TODAY)
    latest = {row.commune.code: row.last_visit for row in found.rows}
    assert latest["15349"] > latest["14758"]
    assert found.total.last_visit == latest["15349"]
    by_date = province.overview(
        session, province_code="38", today=TODAY, sort="last_visit", descending=True
    )
    assert [row.commune.code for row in by_date.rows] == ["15349", "14758"]
    by_nonsense = province.overview(session, province_code="38", today=TODAY, sort="x; drop")
    assert [row.name for row in by_nonsense.rows] == ["Phường Hàm Rồng", "Xã Vĩnh Lộc"]


def test_the_week_adds_up_the_village_dashboards_weeks(session, world, two):
    week = Week.of(TODAY)
    rows = province.week_numbers(session, province_code="38", week=week)
    assert [row.name for row in rows] == ["Phường Hàm Rồng", "Xã Vĩnh Lộc", "Toàn tỉnh"]
    vinh_loc = rows[1]
    villages = [world.village.id, world.other_village.id]
    counted = [
        dashboards.count_weeks(session, village_id=village_id, last=week, weeks=1)[0]
        for village_id in villages
    ]
    assert vinh_loc.visits == dashboards._sum(row.visits for row in counted)
    assert vinh_loc.reached == dashboards._sum(row.reached for row in counted)
    assert vinh_loc.level1 == dashboards._sum(row.vneid_level1 for row in counted)
    assert (vinh_loc.visits.total, vinh_loc.reached.total, vinh_loc.level1.total) == (2, 2, 1)
    assert rows[0].visits.total == 1 and rows[-1].visits.total == 3
    assert rows[-1].reached.total == 3
    earlier = province.week_numbers(session, province_code="38", week=week.previous(3))
    assert earlier[-1].visits.total == 0


# --- province targets ---------------------------------------------------------------------


def _province_targets(session, staff, cells, *, start="2026-01-01", end="2026-12-31"):
    return target_rules.save_province_grid(
        session, member=staff, period_start=start, period_end=end, values=cells, now=NOW
    )


def test_a_commune_sees_the_provinces_target_as_its_own_until_it_sets_one(session, world, two):
    vinh_loc, ham_rong = world.commune.id, two.neighbour.id
    changed = _province_targets(
        session,
        two.staff,
        {
            f"p-{vinh_loc}-reached": "100",
            f"p-{ham_rong}-reached": "50",
            "p-province-reached": "150",
        },
    )
    session.commit()
    assert changed == 3
    found = target_rules.targets_for(session, commune_id=vinh_loc, on=TODAY)
    assert found[(None, "reached")].value == 100
    assert target_rules.is_from_province(found[(None, "reached")])
    # The commune's own target wins.
    target_rules.set_target(
        session,
        member=world.staff,
        village_id=None,
        indicator="reached",
        period_start="2026-10-01",
        period_end="2026-12-31",
        value=80,
        now=NOW,
    )
    session.commit()
    found = target_rules.targets_for(session, commune_id=vinh_loc, on=TODAY)
    assert found[(None, "reached")].value == 80
    assert not target_rules.is_from_province(found[(None, "reached")])
    # The other commune still sees the province's; the province row its own total.
    assert (
        target_rules.targets_for(session, commune_id=ham_rong, on=TODAY)[(None, "reached")].value
        == 50
    )
    overview = province.overview(session, province_code="38", today=TODAY)
    rows = {row.commune.code: row for row in overview.rows}
    assert rows["15349"].lines[1].progress.target == 80
    assert not rows["15349"].lines[1].from_province
    assert rows["14758"].lines[1].progress.target == 50
    assert rows["14758"].lines[1].from_province
    assert overview.total.lines[1].progress.target == 150
    # Out of its period it is no target at all.
    assert (None, "reached") not in target_rules.targets_for(
        session, commune_id=ham_rong, on=date(2027, 1, 2)
    )


def test_province_targets_are_all_or_nothing_and_audited(session, world, two):
    with pytest.raises(Invalid) as refused:
        _province_targets(
            session,
            two.staff,
            {f"p-{world.commune.id}-reached": "100", f"p-{two.neighbour.id}-reached": "-5"},
        )
    assert list(refused.value.errors) == [f"p-{two.neighbour.id}-reached"]
    session.rollback()
    assert session.exec(select(func.count()).select_from(ProvinceTarget)).one() == 0
    _province_targets(session, two.staff, {f"p-{world.commune.id}-reached": "100"})
    _province_targets(session, two.staff, {f"p-{world.commune.id}-reached": ""})  # cleared
    session.commit()
    assert session.exec(select(func.count()).select_from(ProvinceTarget)).one() == 0
    from fieldkit.models import AuditEvent

    events = session.exec(
        select(AuditEvent).where(AuditEvent.action == "targets_changed").order_by(AuditEvent.id)
    ).all()
    assert [(e.details["old"], e.details["new"]) for e in events] == [(None, 100), (100, None)]
    assert {e.commune_id for e in events} == {world.commune.id}  # in that commune's log


def test_only_province_staff_set_province_targets_and_only_for_their_communes(session, world, two):
    for person in (world.staff, world.volunteer):
        with pytest.raises(Forbidden):
            _province_targets(session, person, {"p-province-reached": "1"})
    # A cell naming another province's commune is no cell of this grid: ignored.
    changed = _province_targets(session, two.staff, {f"p-{two.far.id}-reached": "5"})
    assert changed == 0
    changed = _province_targets(session, two.far_admin, {f"p-{two.far.id}-reached": "5"})
    session.commit()
    assert changed == 1
    assert target_rules.targets_for(session, commune_id=world.commune.id, on=TODAY) == {}


# --- province staff -------------------------------------------------------------------------


def test_province_staff_have_no_commune_scope_but_read_their_provinces_communes(
    session, world, two
):
    with pytest.raises(Forbidden):
        policy.scope_for(two.staff)
    assert policy.require_province_reader(two.staff) == "38"
    assert policy.require_commune_of_province(session, two.staff, two.neighbour.id).code == "14758"
    with pytest.raises(Forbidden):
        policy.require_commune_of_province(session, two.staff, two.far.id)
    with pytest.raises(Forbidden):
        policy.require_province_reader(world.staff)
    with pytest.raises(NotFound):
        policy.require_commune_of_province(session, two.staff, 987654)


def test_the_province_admin_adds_and_invites_province_staff_only(session, world, two):
    person = province.add_member_by(
        session,
        two.admin,
        name="  Đặng  Thu Trang ",
        role=Role.province,
        phone="0912 300 009",
        now=NOW,
    )
    session.commit()
    assert (person.name, person.province_code, person.commune_id) == ("Đặng Thu Trang", "38", None)
    assert person.phone == "0912300009"
    with pytest.raises(Forbidden):
        province.add_member_by(session, two.admin, name="A", role=Role.staff, phone=None, now=NOW)
    with pytest.raises(Forbidden):
        province.add_member_by(
            session, two.staff, name="B", role=Role.province, phone=None, now=NOW
        )
    with pytest.raises(Invalid):
        province.add_member_by(
            session, two.admin, name="C", role=Role.province, phone="0912300009", now=NOW
        )
    # The commune's members page is not a way round it: province staff have no commune.
    with pytest.raises(Forbidden):
        members.add_member_by(
            session, two.admin, name="D", role=Role.staff, village=None, phone=None, now=NOW
        )
    assert policy.can_manage_member(two.admin, person)
    assert not policy.can_manage_member(two.far_admin, person)  # another province
    assert not policy.can_manage_member(world.staff, person)
    assert not policy.can_manage_member(two.admin, world.volunteer)


def test_a_member_belongs_to_a_commune_or_a_province_never_both_nor_neither(session, world):
    from sqlalchemy.exc import IntegrityError

    session.add(Member(name="Không thuộc đâu", role=Role.province))
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()
    session.add(
        Member(commune_id=world.commune.id, province_code="38", name="Cả hai", role=Role.staff)
    )
    with pytest.raises(IntegrityError):
        session.flush()
    session.rollback()


def test_a_province_member_made_at_the_console_is_checked(session):
    with pytest.raises(Invalid):
        province.add_member(session, province_code="38", name="A", role=Role.staff, phone=None)
    with pytest.raises(NotFound):
        province.add_member(session, province_code="99", name="A", role=Role.province, phone=None)
    with pytest.raises(Invalid):
        province.add_member(session, province_code=None, name="A", role=Role.province, phone=None)


# --- the file sent upward ----------------------------------------------------------------


def test_export_has_a_summary_then_a_sheet_per_indicator_each_ending_with_the_province(
    session, world, two
):
    tables = province.export_tables(province.overview(session, province_code="38", today=TODAY))
    assert [t.title for t in tables] == ["Tổng hợp"] + [
        indicators.LABELS[key] for key in province.COLUMNS
    ]
    for table in tables:
        assert [row[1] for row in table.rows] == ["Phường Hàm Rồng", "Xã Vĩnh Lộc", "Toàn tỉnh"]
    level1 = tables[1 + province.COLUMNS.index("vneid_level1")]
    assert level1.headers[:4] == [
        "Mã xã",
        "Xã, phường",
        "VNeID mức 1 (đã duyệt)",
        "VNeID mức 1 (chờ duyệt)",
    ]
    assert [row[3] for row in level1.rows] == [1, 1, 2]


def test_the_demo_province_is_deterministic_and_counts_like_the_app(session):
    from fieldkit import demo

    lines = list(
        demo.build_province(
            session,
            province_code="38",
            communes_count=2,
            households=300,
            seed=3,
            now=NOW,
            first_commune="15349",
        )
    )
    session.commit()
    assert lines[0].startswith("[1/2] Xã Vĩnh Lộc") and lines[-1].startswith(
        "Tỉnh mẫu: Tỉnh Thanh Hóa — 2 xã"
    )
    visits = session.exec(select(func.count()).select_from(Visit)).one()
    assert visits >= 300 * 5  # two years of visits: several a household
    assert (
        session.exec(
            select(func.count()).select_from(Member).where(Member.province_code == "38")
        ).one()
        == 2
    )
    overview = province.overview(session, province_code="38", today=TODAY)
    assert overview.total.values.households.total == 300
    # This year's province targets: 95 % reached, for each commune and the province.
    assert overview.total.lines[1].progress.target == 285
    assert all(row.lines[1].from_province for row in overview.rows)
    for row in overview.rows:
        own = dashboards.commune_total(
            indicators.recount(session, scope=Scope(commune_id=row.commune.id, village_id=None))
        )
        assert row.values.reached == own.reached and row.values.vneid_level1 == own.vneid_level1
    pending = session.exec(
        select(func.count()).select_from(Visit).where(Visit.review_state == ReviewState.pending)
    ).one()
    assert overview.total.pending_reviews >= pending
