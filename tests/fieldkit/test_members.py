"""Members and one-time sign-in links."""

import hashlib
import threading
from datetime import timedelta

import pytest
from sqlalchemy import text

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
    other = Commune(code="00082", name="Phường Cửa Nam", province_code="01",
                    province_name="Thành phố Hà Nội")
    session.add(other)
    session.flush()
    with pytest.raises(Invalid, match="không thuộc xã"):
        add_member(session, commune_id=other.id, name="Mai", role=Role.volunteer,
                   village=world.village)


def test_added_volunteer_is_in_their_village(session, world):
    village = session.get(Village, world.other_village.id)
    member = add_member(session, commune_id=world.commune.id, name="Ngô Thị Mai",
                        role=Role.volunteer, village=village, phone="0912000009")
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
