"""The demo commune (`fieldkit demo`): the numbers of the seed article, visits that could have
happened, household summaries the app can trust, the same data every time."""

import re
import shutil
from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from fieldkit import demo, members
from fieldkit.db import make_engine, new_session
from fieldkit.households import refresh_summary
from fieldkit.models import (
    Assistance,
    Household,
    Member,
    Resident,
    ReviewState,
    Role,
    Village,
    Visit,
)
from fieldkit.visits import AssistanceIn, VisitIn, log_visit
from tests.conftest import NOW
from tests.fieldkit.helpers import count

CODE = "15349"  # Xã Vĩnh Lộc, Thanh Hóa


def thousands(n: int) -> str:
    """1520 → "1.520", as Vietnamese writes it."""
    return f"{n:,}".replace(",", ".")


def build(session, households=1520, seed=2025) -> str:
    summary = demo.build(session, commune_code=CODE, households=households, seed=seed, now=NOW)
    session.commit()
    return summary


@pytest.fixture
def default_demo(session) -> str:
    return build(session)


def members_by_role(session) -> dict[Role, int]:
    return dict(session.exec(select(Member.role, func.count()).group_by(Member.role)).all())


def test_default_demo_is_the_commune_of_the_seed_article(session, default_demo):
    residents = count(session, Resident)
    assert count(session, Village) == 8
    assert count(session, Household) == 1520
    assert 5900 <= residents <= 6500
    roles = members_by_role(session)
    assert roles[Role.leader] == 8
    assert roles[Role.leader] + roles[Role.volunteer] == 45
    assert roles[Role.staff] == 2 and roles[Role.admin] == 1
    leaders_per_village = session.exec(
        select(Member.village_id, func.count())
        .where(Member.role == Role.leader)
        .group_by(Member.village_id)
    ).all()
    assert sorted(n for _, n in leaders_per_village) == [1] * 8
    assert default_demo.startswith("Xã mẫu: Xã Vĩnh Lộc, Tỉnh Thanh Hóa — 8 thôn, 1.520 hộ, ")
    assert f"{thousands(residents)} nhân khẩu, 45 thành viên" in default_demo
    phones = session.exec(select(Member.phone)).all()
    assert len(set(phones)) == len(phones)
    assert all(re.fullmatch(r"0[389]\d{8}", phone) for phone in phones)


def test_visits_happened_before_now_and_summaries_match_refresh_summary(session, default_demo):
    visits = session.exec(select(Visit)).all()
    assert visits
    assert max(visit.visited_at for visit in visits) <= NOW
    assert all(visit.visited_at < visit.received_at <= NOW for visit in visits)
    assert min(visit.visited_at for visit in visits) >= NOW - timedelta(days=101)
    assert {visit.review_state for visit in visits} == set(ReviewState)
    reached = session.exec(
        select(func.count()).select_from(Household).where(Household.visit_count > 0)
    ).one()
    assert 0.55 <= reached / 1520 <= 0.8

    # Every 50th household, and the ones where a rejected visit must not count.
    with_rejected = select(Visit.household_id).where(Visit.review_state == ReviewState.rejected)
    sample = session.exec(
        select(Household)
        .where((col(Household.id) % 50 == 0) | col(Household.id).in_(with_rejected.limit(20)))
        .order_by(Household.id)
    ).all()
    assert len(sample) >= 45
    assert sum(household.visit_count > 0 for household in sample) >= 20
    for household in sample:
        cached = (
            household.search_text,
            household.visit_count,
            household.last_visited_at,
            household.follow_up_on,
        )
        refresh_summary(session, household)
        assert cached == (
            household.search_text,
            household.visit_count,
            household.last_visited_at,
            household.follow_up_on,
        ), household.id


def test_head_of_household_is_its_chu_ho_resident(session):
    build(session, households=300)
    heads = session.exec(
        select(Household.head_name, Resident.name)
        .join(Resident, Resident.household_id == Household.id)
        .where(Resident.relation == "Chủ hộ")
    ).all()
    assert len(heads) == 300
    assert all(head_name == name for head_name, name in heads)


def test_a_demo_visit_replayed_is_a_duplicate(session):
    build(session, households=200)
    visit = session.exec(
        select(Visit).join(Assistance, Assistance.visit_id == Visit.id).order_by(Visit.id)
    ).first()
    lines = session.exec(select(Assistance).where(Assistance.visit_id == visit.id)).all()
    replay = VisitIn(
        uuid=visit.uuid,
        household_id=visit.household_id,
        visited_at=visit.visited_at,
        outcome=visit.outcome,
        notes=visit.notes,
        follow_up_on=visit.follow_up_on,
        smartphones=visit.smartphones,
        internet_at_home=visit.internet_at_home,
        lines=tuple(
            AssistanceIn(
                resident_id=line.resident_id,
                service_code=line.service_code,
                result=line.result,
                reason=line.reason,
                device=line.device,
                dossier_no=line.dossier_no,
            )
            for line in lines
        ),
    )
    volunteer = session.get(Member, visit.volunteer_id)
    stored, created = log_visit(session, replay, volunteer=volunteer, now=NOW)
    assert (stored.id, created) == (visit.id, False)


def test_demo_people_are_a_volunteer_with_households_their_leader_and_staff(session):
    build(session, households=300)
    volunteer, leader, staff = demo.demo_people(session)
    assert (volunteer.role, leader.role, staff.role) == (Role.volunteer, Role.leader, Role.staff)
    first_village = session.exec(select(func.min(Village.id))).one()
    assert volunteer.village_id == leader.village_id == first_village
    assigned = session.exec(
        select(func.count())
        .select_from(Household)
        .where(Household.assigned_volunteer_id == volunteer.id)
    ).one()
    assert assigned > 0
    assert [m.id for m in demo.demo_people(session)] == [volunteer.id, leader.id, staff.id]


def test_same_seed_gives_the_same_commune(session, sqlite_template, tmp_path):
    build(session, households=300)
    path = tmp_path / "again.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with new_session(engine) as again:
            build(again, households=300)
            for statement in (
                select(Household.label, Household.head_name).order_by(Household.id),
                select(Visit.uuid, Visit.fingerprint).order_by(Visit.id),
            ):
                assert session.exec(statement).all() == again.exec(statement).all()
    finally:
        engine.dispose()


def test_another_seed_gives_other_people(session, sqlite_template, tmp_path):
    build(session, households=50, seed=1)
    first = session.exec(select(Household.head_name).order_by(Household.id)).all()
    path = tmp_path / "other.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        with new_session(engine) as other:
            build(other, households=50, seed=2)
            assert other.exec(select(Household.head_name).order_by(Household.id)).all() != first
    finally:
        engine.dispose()


@pytest.mark.parametrize("households, villages", [(1000, 8), (4000, 8), (4600, 10)])
def test_households_option_scales_villages_and_team(session, households, villages):
    summary = build(session, households=households)
    assert count(session, Village) == villages
    assert count(session, Household) == households
    roles = members_by_role(session)
    assert roles[Role.leader] == villages
    assert roles[Role.volunteer] == round(households * 37 / 1520)
    assert f"{villages} thôn, {thousands(households)} hộ" in summary


def test_the_app_adds_rows_after_the_demo(session):
    """Ids written by the demo must not collide with the next ones the database hands out
    (PostgreSQL sequences)."""
    build(session, households=10)
    assert count(session, Village) == 8
    volunteer, _, _ = demo.demo_people(session)
    village = session.get(Village, volunteer.village_id)
    added = members.add_member(
        session,
        commune_id=village.commune_id,
        name="Đỗ Thu Trang",
        role=Role.volunteer,
        village=village,
        phone="0912999999",
    )
    session.commit()
    assert added.id > volunteer.id
