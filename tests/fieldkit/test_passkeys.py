"""Passkeys: registration and sign-in against a challenge kept in the database and used once,
several per person, revoke (which ends the sessions opened with the key); every refusal leaves
the database as it was."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlmodel import func, select

from fieldkit import passkeys, sessions
from fieldkit.db import new_session
from fieldkit.models import AuditEvent, Passkey, PasskeyChallenge, WebSession
from fieldkit.passkeys import PasskeyRefused, RelyingParty
from tests.conftest import NOW
from tests.passkey_device import SoftPasskey

RP = RelyingParty(rp_id="localhost", origin="http://localhost:8000")


def enroll(session, member, device: SoftPasskey, *, now=NOW) -> Passkey:
    options, challenge_id = passkeys.registration_options(session, member, rp=RP, now=now)
    passkey = passkeys.register(
        session,
        member,
        credential=device.create(options),
        challenge=passkeys.take_challenge(session, challenge_id, now=now),
        rp=RP,
        now=now,
        name="Android · Chrome",
    )
    session.commit()
    return passkey


def sign_in(session, device: SoftPasskey, *, now=NOW, **kwargs):
    """The member who signed in (authenticate() answers with the passkey)."""
    options, challenge_id = passkeys.authentication_options(session, rp=RP, now=now)
    challenge = passkeys.take_challenge(session, challenge_id, now=now)
    passkey = passkeys.authenticate(
        session, credential=device.get(options, **kwargs), challenge=challenge, rp=RP, now=now
    )
    return passkey.member_id


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_options_ask_for_a_discoverable_user_verified_credential(session, world):
    options, challenge_id = passkeys.registration_options(session, world.volunteer, rp=RP, now=NOW)
    assert '"residentKey": "required"' in options
    assert '"userVerification": "required"' in options
    assert session.get(PasskeyChallenge, challenge_id).member_id == world.volunteer.id
    request, _ = passkeys.authentication_options(session, rp=RP, now=NOW)
    assert '"allowCredentials": []' in request
    assert '"userVerification": "required"' in request


def test_enroll_then_sign_in_without_a_name(session, world):
    device = SoftPasskey()
    passkey = enroll(session, world.volunteer, device)
    assert passkey.member_id == world.volunteer.id and passkey.transports == ["internal"]

    member_id = sign_in(session, device, now=NOW + timedelta(minutes=1))
    session.commit()
    assert member_id == world.volunteer.id
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
    assert sign_in(session, laptop) == world.leader.id


def test_nobody_revokes_someone_elses_passkey(session, world):
    passkey = enroll(session, world.volunteer, SoftPasskey())
    with pytest.raises(PasskeyRefused):
        passkeys.revoke(session, world.other_volunteer, passkey.id, now=NOW)


def test_a_challenge_is_used_for_what_it_was_made_for_and_not_late(session, world):
    device = SoftPasskey()
    enroll(session, world.volunteer, device)
    options, late = passkeys.authentication_options(session, rp=RP, now=NOW)
    with pytest.raises(PasskeyRefused, match="5 phút"):
        passkeys.take_challenge(session, late, now=NOW + timedelta(minutes=5, seconds=1))
    session.commit()
    with pytest.raises(PasskeyRefused, match="không còn hợp lệ"):
        passkeys.take_challenge(session, None, now=NOW)
    with pytest.raises(PasskeyRefused, match="không còn hợp lệ"):
        passkeys.authenticate(
            session, credential=device.get(options), challenge=None, rp=RP, now=NOW
        )
    # A sign-in challenge cannot enroll a key.
    options, challenge_id = passkeys.authentication_options(session, rp=RP, now=NOW)
    with pytest.raises(PasskeyRefused):
        passkeys.register(
            session,
            world.volunteer,
            credential=SoftPasskey().create(options),
            challenge=passkeys.take_challenge(session, challenge_id, now=NOW),
            rp=RP,
            now=NOW,
        )


def test_a_challenge_is_taken_once_and_a_replay_finds_none(session, world):
    """Synced passkeys report a signature counter of 0 every time: the counter cannot stop a
    replay, the single-use challenge does."""
    device = SoftPasskey()
    enroll(session, world.volunteer, device)
    options, challenge_id = passkeys.authentication_options(session, rp=RP, now=NOW)
    captured = device.get(options, count_up=False)
    challenge = passkeys.take_challenge(session, challenge_id, now=NOW)
    session.commit()
    passkeys.authenticate(session, credential=captured, challenge=challenge, rp=RP, now=NOW)
    session.commit()
    with pytest.raises(PasskeyRefused, match="không còn hợp lệ"):
        passkeys.take_challenge(session, challenge_id, now=NOW)
    assert count(session, PasskeyChallenge) == 0


def test_two_requests_racing_for_one_challenge_one_wins(engine, session, world):
    """The same id brought twice at the same moment (a replay racing the original): the
    conditional DELETE lets exactly one through, on SQLite and PostgreSQL."""
    _, challenge_id = passkeys.authentication_options(session, rp=RP, now=NOW)
    session.commit()
    results: list[str] = []
    start = threading.Barrier(2)

    def take():
        with new_session(engine) as own:
            start.wait()
            try:
                passkeys.take_challenge(own, challenge_id, now=NOW)
                own.commit()
                results.append("taken")
            except PasskeyRefused:
                own.rollback()
                results.append("refused")

    threads = [threading.Thread(target=take) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["refused", "taken"]


def test_an_answer_to_another_challenge_is_refused(session, world):
    device = SoftPasskey()
    enroll(session, world.volunteer, device)
    captured, _ = passkeys.authentication_options(session, rp=RP, now=NOW)
    _, fresh = passkeys.authentication_options(session, rp=RP, now=NOW)
    with pytest.raises(PasskeyRefused, match="không khớp"):
        passkeys.authenticate(
            session,
            credential=device.get(captured),
            challenge=passkeys.take_challenge(session, fresh, now=NOW),
            rp=RP,
            now=NOW,
        )


def test_one_client_cannot_keep_unbounded_challenges_waiting(session, world):
    for _ in range(passkeys.MAX_WAITING_PER_CLIENT):
        passkeys.authentication_options(session, rp=RP, now=NOW, client="10.0.0.9")
    with pytest.raises(passkeys.TooManyChallenges):
        passkeys.authentication_options(session, rp=RP, now=NOW, client="10.0.0.9")
    # Another address is not held back; and once they expire the first may ask again.
    passkeys.authentication_options(session, rp=RP, now=NOW, client="10.0.0.10")
    later = NOW + passkeys.CHALLENGE_LIFETIME
    passkeys.authentication_options(session, rp=RP, now=later, client="10.0.0.9")


def test_revoking_a_passkey_ends_the_sessions_opened_with_it(session, world):
    phone, laptop = SoftPasskey(), SoftPasskey()
    lost = enroll(session, world.volunteer, phone)
    kept = enroll(session, world.volunteer, laptop)
    sessions.open_session(session, world.volunteer, now=NOW, method="passkey", passkey_id=lost.id)
    _, other = sessions.open_session(
        session, world.volunteer, now=NOW, method="passkey", passkey_id=kept.id
    )
    passkeys.revoke(session, world.volunteer, lost.id, now=NOW)
    session.commit()
    assert session.exec(select(WebSession.id)).all() == [other.id]


@pytest.mark.parametrize(
    "device, message",
    [
        (SoftPasskey(origin="https://fieldkit.example.net"), "trang web khác"),
        (SoftPasskey(rp_id="example.net"), "tên miền khác"),
        (SoftPasskey(user_verified=False), "chưa xác minh"),
    ],
)
def test_enrollment_from_elsewhere_or_unverified_is_refused(session, world, device, message):
    options, challenge_id = passkeys.registration_options(session, world.volunteer, rp=RP, now=NOW)
    challenge = passkeys.take_challenge(session, challenge_id, now=NOW)
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
    for credential in ["{}", "not json", {"id": "x", "response": {}}, 42]:
        _, challenge_id = passkeys.authentication_options(session, rp=RP, now=NOW)
        challenge = passkeys.take_challenge(session, challenge_id, now=NOW)
        with pytest.raises(PasskeyRefused):
            passkeys.authenticate(
                session, credential=credential, challenge=challenge, rp=RP, now=NOW
            )
    for challenge_id in ["1", 1.5, True, [1], {"id": 1}, 2**80]:
        with pytest.raises(PasskeyRefused):
            passkeys.take_challenge(session, challenge_id, now=NOW)
