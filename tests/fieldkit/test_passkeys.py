"""Passkeys: registration and sign-in against the kept challenge, several per person, revoke;
every refusal leaves the database as it was."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import func, select

from fieldkit import passkeys
from fieldkit.models import AuditEvent, Passkey
from fieldkit.passkeys import PasskeyRefused, RelyingParty
from tests.conftest import NOW
from tests.passkey_device import SoftPasskey

RP = RelyingParty(rp_id="localhost", origin="http://localhost:8000")


def enroll(session, member, device: SoftPasskey, *, now=NOW) -> Passkey:
    options, challenge = passkeys.registration_options(session, member, rp=RP, now=now)
    passkey = passkeys.register(
        session,
        member,
        credential=device.create(options),
        challenge=challenge,
        rp=RP,
        now=now,
        name="Android · Chrome",
    )
    session.commit()
    return passkey


def sign_in(session, device: SoftPasskey, *, now=NOW, **kwargs):
    options, challenge = passkeys.authentication_options(rp=RP, now=now)
    return passkeys.authenticate(
        session, credential=device.get(options, **kwargs), challenge=challenge, rp=RP, now=now
    )


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_options_ask_for_a_discoverable_user_verified_credential(session, world):
    options, challenge = passkeys.registration_options(session, world.volunteer, rp=RP, now=NOW)
    assert '"residentKey": "required"' in options
    assert '"userVerification": "required"' in options
    assert challenge.member_id == world.volunteer.id
    request, _ = passkeys.authentication_options(rp=RP, now=NOW)
    assert '"allowCredentials": []' in request
    assert '"userVerification": "required"' in request


def test_enroll_then_sign_in_without_a_name(session, world):
    device = SoftPasskey()
    passkey = enroll(session, world.volunteer, device)
    assert passkey.member_id == world.volunteer.id and passkey.transports == ["internal"]

    member = sign_in(session, device, now=NOW + timedelta(minutes=1))
    session.commit()
    assert member.id == world.volunteer.id
    session.refresh(passkey)
    assert passkey.sign_count == 1
    assert passkey.last_used_at == NOW + timedelta(minutes=1)
    actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["passkey_added", "sign_in"]


def test_a_person_may_have_several_passkeys_and_revoke_one(session, world):
    phone, laptop = SoftPasskey(), SoftPasskey()
    first = enroll(session, world.leader, phone)
    enroll(session, world.leader, laptop)
    assert len(passkeys.active_passkeys(session, world.leader)) == 2

    passkeys.revoke(session, world.leader, first.id, now=NOW)
    session.commit()
    assert [p.id for p in passkeys.active_passkeys(session, world.leader)] != [first.id]
    with pytest.raises(PasskeyRefused, match="thu hồi"):
        sign_in(session, phone)
    session.rollback()
    assert sign_in(session, laptop).id == world.leader.id


def test_nobody_revokes_someone_elses_passkey(session, world):
    passkey = enroll(session, world.volunteer, SoftPasskey())
    with pytest.raises(PasskeyRefused):
        passkeys.revoke(session, world.other_volunteer, passkey.id, now=NOW)


def test_a_challenge_is_used_for_what_it_was_made_for_and_not_late(session, world):
    device = SoftPasskey()
    enroll(session, world.volunteer, device)
    options, challenge = passkeys.authentication_options(rp=RP, now=NOW)
    with pytest.raises(PasskeyRefused, match="5 phút"):
        passkeys.authenticate(
            session,
            credential=device.get(options),
            challenge=challenge,
            rp=RP,
            now=NOW + timedelta(minutes=6),
        )
    with pytest.raises(PasskeyRefused, match="không còn hợp lệ"):
        passkeys.authenticate(
            session, credential=device.get(options), challenge=None, rp=RP, now=NOW
        )
    # A sign-in challenge cannot enroll a key.
    with pytest.raises(PasskeyRefused):
        passkeys.register(
            session,
            world.volunteer,
            credential=SoftPasskey().create(options),
            challenge=challenge,
            rp=RP,
            now=NOW,
        )


def test_an_answer_to_another_challenge_is_refused(session, world):
    device = SoftPasskey()
    enroll(session, world.volunteer, device)
    captured, _ = passkeys.authentication_options(rp=RP, now=NOW)
    _, fresh = passkeys.authentication_options(rp=RP, now=NOW)
    with pytest.raises(PasskeyRefused, match="không khớp"):
        passkeys.authenticate(
            session, credential=device.get(captured), challenge=fresh, rp=RP, now=NOW
        )


@pytest.mark.parametrize(
    "device, message",
    [
        (SoftPasskey(origin="https://fieldkit.example.net"), "trang web khác"),
        (SoftPasskey(rp_id="example.net"), "tên miền khác"),
        (SoftPasskey(user_verified=False), "chưa xác minh"),
    ],
)
def test_enrollment_from_elsewhere_or_unverified_is_refused(session, world, device, message):
    options, challenge = passkeys.registration_options(session, world.volunteer, rp=RP, now=NOW)
    with pytest.raises(PasskeyRefused, match=message):
        passkeys.register(
            session,
            world.volunteer,
            credential=device.create(options),
            challenge=challenge,
            rp=RP,
            now=NOW,
        )
    session.rollback()
    assert count(session, Passkey) == 0


def test_sign_in_from_another_origin_is_refused(session, world):
    device = SoftPasskey()
    enroll(session, world.volunteer, device)
    device.origin = "https://phishing.example.com"
    with pytest.raises(PasskeyRefused, match="trang web khác"):
        sign_in(session, device)


def test_a_counter_that_goes_backwards_is_refused(session, world):
    device = SoftPasskey()
    enroll(session, world.volunteer, device)
    sign_in(session, device)
    sign_in(session, device)
    session.commit()
    device.sign_count = 1  # a copy of the key, behind the real one
    with pytest.raises(PasskeyRefused, match="sao chép"):
        sign_in(session, device, count_up=False)


def test_unknown_credentials_and_locked_accounts_are_refused(session, world):
    with pytest.raises(PasskeyRefused, match="không có trong Fieldkit"):
        sign_in(session, SoftPasskey())
    device = SoftPasskey()
    enroll(session, world.volunteer, device)
    world.volunteer.active = False
    session.add(world.volunteer)
    session.commit()
    with pytest.raises(PasskeyRefused, match="bị khóa"):
        sign_in(session, device)


def test_garbage_is_refused_not_crashed(session, world):
    options, challenge = passkeys.authentication_options(rp=RP, now=NOW)
    for credential in ["{}", "not json", {"id": "x", "response": {}}, 42]:
        with pytest.raises(PasskeyRefused):
            passkeys.authenticate(
                session, credential=credential, challenge=challenge, rp=RP, now=NOW
            )
