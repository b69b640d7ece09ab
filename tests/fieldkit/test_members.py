"""Members and one-time sign-in links."""

import hashlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlmodel import select

from fieldkit.db import new_session
from fieldkit.errors import Invalid, NotFound, SignInRefused
from fieldkit.members import (
    add_member,
    check_sign_in_link,
    create_sign_in_link,
    find_member,
    redeem_sign_in_link,
)
from fieldkit.models import Commune, Role, SignInLink, Village
from tests.conftest import NOW


@pytest.fixture
def token(session, world) -> str:
    token = create_sign_in_link(session, world.volunteer, now=NOW)
    session.commit()
    session.expire_all()  # what follows reads the link back from the database
    return token


def test_link_signs_the_member_in_once(session, world, token):
    member = redeem_sign_in_link(session, token, now=NOW + timedelta(minutes=5))
    session.commit()
    assert member.id == world.volunteer.id

    with pytest.raises(SignInRefused, match="đã được dùng"):
        redeem_sign_in_link(session, token, now=NOW + timedelta(minutes=6))


def test_link_works_until_24_hours_then_expires(session, world, token):
    with pytest.raises(SignInRefused, match="hết hạn"):
        redeem_sign_in_link(session, token, now=NOW + timedelta(hours=24))
    member = redeem_sign_in_link(session, token, now=NOW + timedelta(hours=23, minutes=59))
    assert member.id == world.volunteer.id


@pytest.mark.parametrize("wrong", ["", "not-a-token", None])
def test_unknown_link_is_refused(session, token, wrong):
    with pytest.raises(SignInRefused, match="Liên kết đăng nhập không đúng"):
        redeem_sign_in_link(session, wrong, now=NOW)


def test_link_of_a_locked_member_is_refused(session, world, token):
    world.volunteer.active = False
    session.add(world.volunteer)
    session.commit()
    with pytest.raises(SignInRefused, match="đã bị khóa"):
        redeem_sign_in_link(session, token, now=NOW)


def test_checking_a_link_does_not_use_it(session, world, token):
    check_sign_in_link(session, token, now=NOW)
    session.commit()
    assert redeem_sign_in_link(session, token, now=NOW).id == world.volunteer.id


def test_each_link_is_its_own(session, world, token):
    other = create_sign_in_link(session, world.leader, now=NOW)
    session.commit()
    assert other != token
    assert redeem_sign_in_link(session, other, now=NOW).id == world.leader.id
    assert redeem_sign_in_link(session, token, now=NOW).id == world.volunteer.id


def test_only_the_hash_of_the_token_is_stored(session, token):
    (link,) = session.exec(text("SELECT * FROM signinlink")).all()
    assert token not in repr(tuple(link))
    stored = session.get(SignInLink, link.id)
    assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert stored.expires_at == NOW + timedelta(hours=24)


# --- finding and adding members --------------------------------------------------------------


def test_find_member_by_id_or_phone(session, world):
    assert find_member(session, str(world.leader.id)).id == world.leader.id
    assert find_member(session, "0912000002").id == world.other_volunteer.id
    assert find_member(session, " 0912000004 ").id == world.staff.id


def test_unknown_member_is_not_found(session, world):
    with pytest.raises(NotFound, match="Không tìm thấy thành viên"):
        find_member(session, "0999999999")
    with pytest.raises(NotFound):
        find_member(session, "777")


def test_volunteer_and_leader_must_belong_to_a_village(session, world):
    for role in (Role.volunteer, Role.leader):
        with pytest.raises(Invalid) as refused:
            add_member(session, commune_id=world.commune.id, name="Mai", role=role)
        assert set(refused.value.errors) == {"village"}
    staff = add_member(session, commune_id=world.commune.id, name="Mai", role=Role.staff)
    assert staff.village_id is None


def test_member_cannot_join_a_village_of_another_commune(session, world):
    other = Commune(
        code="00082", name="Phường Cửa Nam", province_code="01", province_name="Thành phố Hà Nội"
    )
    session.add(other)
    session.flush()
    with pytest.raises(Invalid, match="không thuộc xã"):
        add_member(
            session, commune_id=other.id, name="Mai", role=Role.volunteer, village=world.village
        )


def test_added_volunteer_is_in_their_village(session, world):
    village = session.get(Village, world.other_village.id)
    member = add_member(
        session,
        commune_id=world.commune.id,
        name="Ngô Thị Mai",
        role=Role.volunteer,
        village=village,
        phone="0912000009",
    )
    session.commit()
    assert find_member(session, "0912000009").village_id == world.other_village.id
    assert member.active


def test_two_redemptions_at_the_same_time_sign_in_only_once(engine, session, world, token):
    # A double tap, or the link opened on two phones at once: one sign-in, not two.
    first, second = new_session(engine), new_session(engine)
    outcome: dict[str, str] = {}

    def redeem_second() -> None:
        try:
            redeem_sign_in_link(second, token, now=NOW)
            second.commit()
            outcome["second"] = "signed in"
        except SignInRefused:
            outcome["second"] = "refused"
        finally:
            second.close()

    try:
        redeem_sign_in_link(first, token, now=NOW)
        racer = threading.Thread(target=redeem_second)
        racer.start()
        racer.join(0.5)  # the second redemption reaches the link while the first is open
        first.commit()
        racer.join(20)
    finally:
        first.close()
    assert outcome == {"second": "refused"}


# --- invites, codes and member management (policy in fieldkit.policy) ----------------------


def test_who_may_invite_whom(world):
    from fieldkit.policy import can_invite

    leader, staff, volunteer = world.leader, world.staff, world.volunteer
    east, west = world.village.id, world.other_village.id
    assert can_invite(leader, Role.volunteer, east)
    assert not can_invite(leader, Role.volunteer, west)
    assert not can_invite(leader, Role.leader, east)
    assert not can_invite(volunteer, Role.volunteer, east)
    assert all(can_invite(staff, role, west) for role in (Role.volunteer, Role.leader))
    assert can_invite(staff, Role.staff, None)
    assert not can_invite(staff, Role.admin, None)


def test_who_may_manage_whom(world):
    from fieldkit.policy import can_change_role, can_manage_member

    assert can_manage_member(world.leader, world.volunteer)
    assert not can_manage_member(world.leader, world.other_volunteer)
    assert not can_manage_member(world.leader, world.staff)
    assert not can_manage_member(world.leader, world.leader)  # not oneself
    assert can_manage_member(world.staff, world.leader)
    assert not can_change_role(world.leader, world.volunteer, Role.volunteer)
    assert can_change_role(world.staff, world.volunteer, Role.leader)


def test_in_app_invite_records_who_made_it(session, world):
    from fieldkit.members import invite
    from fieldkit.models import AuditEvent

    token = invite(session, world.leader, world.volunteer, now=NOW)
    session.commit()
    link = session.exec(select(SignInLink)).one()
    assert link.created_by_id == world.leader.id
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    event = session.exec(select(AuditEvent)).one()
    assert (event.action, event.actor_id, event.target_id) == (
        "invite",
        world.leader.id,
        world.volunteer.id,
    )


def test_a_leader_cannot_invite_into_another_village(session, world):
    from fieldkit.errors import Forbidden
    from fieldkit.members import invite

    with pytest.raises(Forbidden, match="thôn mình"):
        invite(session, world.leader, world.other_volunteer, now=NOW)


def test_a_code_works_once_within_ten_minutes(session, world):
    from fieldkit.members import CodeRefused, issue_code, redeem_code

    code = issue_code(session, world.leader, world.volunteer, now=NOW)
    session.commit()
    assert len(code) == 6 and code.isdigit()
    with pytest.raises(CodeRefused):
        redeem_code(
            session,
            phone=world.volunteer.phone,
            code=code,
            client="1.2.3.4",
            now=NOW + timedelta(minutes=11),
        )
    session.rollback()
    member = redeem_code(
        session,
        phone=world.volunteer.phone,
        code=code,
        client="1.2.3.4",
        now=NOW + timedelta(minutes=9),
    )
    session.commit()
    assert member.id == world.volunteer.id
    with pytest.raises(CodeRefused):
        redeem_code(
            session,
            phone=world.volunteer.phone,
            code=code,
            client="1.2.3.4",
            now=NOW + timedelta(minutes=9),
        )


def test_a_new_code_replaces_the_old_one(session, world):
    from fieldkit.members import CodeRefused, issue_code, redeem_code

    old = issue_code(session, world.leader, world.volunteer, now=NOW)
    new = issue_code(session, world.leader, world.volunteer, now=NOW + timedelta(minutes=1))
    session.commit()
    if old != new:
        with pytest.raises(CodeRefused):
            redeem_code(
                session,
                phone=world.volunteer.phone,
                code=old,
                client="x",
                now=NOW + timedelta(minutes=2),
            )
        session.commit()
    assert (
        redeem_code(
            session,
            phone=world.volunteer.phone,
            code=new,
            client="x",
            now=NOW + timedelta(minutes=2),
        ).id
        == world.volunteer.id
    )


def test_five_wrong_codes_lock_the_member_for_fifteen_minutes(session, world):
    from fieldkit.members import CodeRefused, issue_code, redeem_code

    code = issue_code(session, world.leader, world.volunteer, now=NOW)
    session.commit()
    wrong = "000000" if code != "000000" else "111111"
    for i in range(5):
        with pytest.raises(CodeRefused) as refused:
            redeem_code(
                session,
                phone=world.volunteer.phone,
                code=wrong,
                client=f"10.0.0.{i}",
                now=NOW + timedelta(minutes=1),
            )
        assert not refused.value.too_many
        session.commit()  # the wrong try is counted
    with pytest.raises(CodeRefused) as refused:
        redeem_code(
            session,
            phone=world.volunteer.phone,
            code=code,
            client="10.0.0.9",
            now=NOW + timedelta(minutes=2),
        )
    assert refused.value.too_many


def test_role_and_village_changes_are_audited(session, world):
    from fieldkit.members import change_role
    from fieldkit.models import AuditEvent

    change_role(
        session, world.staff, world.volunteer, Role.leader, village=world.other_village, now=NOW
    )
    session.commit()
    actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["role_changed", "village_changed"]
    assert (world.volunteer.role, world.volunteer.village_id) == (
        Role.leader,
        world.other_village.id,
    )


def test_adding_and_renaming_a_village_is_in_the_audit_log(session, world):
    from fieldkit import audit, members

    village = members.add_village(session, world.staff, "Thôn Bắc", now=NOW)
    members.rename_village(session, world.staff, village, "Thôn Bắc Sơn", now=NOW)
    session.commit()
    logged = [(e.action, e.details) for e in audit.events(session, commune_id=world.commune.id)]
    assert ("village_renamed", {"before": "Thôn Bắc", "after": "Thôn Bắc Sơn"}) in logged
    assert ("village_added", {"name": "Thôn Bắc"}) in logged
