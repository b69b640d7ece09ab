"""Server-side sessions (fieldkit.sessions): only the id's hash is stored; a session lasts 30
days from when it was last seen; deactivation, a role or village change and "every device" end
a member's sessions (and their notifications) in the same transaction as the change."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import func, select

from fieldkit import members, push, sessions
from fieldkit.models import PushSubscription, Role, WebSession
from tests.conftest import NOW
from tests.fieldkit.test_push import Browser as PushKeys
from tests.fieldkit.test_push import b64url


def open_for(session, member, **kwargs) -> str:
    token, _ = sessions.open_session(session, member, now=NOW, method="link", **kwargs)
    session.commit()
    return token


def live(session, member) -> int:
    return session.exec(
        select(func.count()).select_from(WebSession).where(WebSession.member_id == member.id)
    ).one()


def test_only_the_hash_of_the_id_is_kept(session, world):
    token = open_for(session, world.volunteer, device="Android · Chrome")
    record = session.exec(select(WebSession)).one()
    assert token not in record.token_hash and len(record.token_hash) == 64
    found, member = sessions.find(session, token, now=NOW)
    assert (found.id, member.id, found.device) == (
        record.id,
        world.volunteer.id,
        "Android · Chrome",
    )
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), "", None, "x" * 43, "a.b.c"):
        assert sessions.find(session, wrong, now=NOW) is None


def test_a_session_lasts_thirty_days_from_when_it_was_last_seen(session, world):
    token = open_for(session, world.volunteer)
    record = session.exec(select(WebSession)).one()
    # A week offline in the hamlets: still signed in, and being seen rolls the 30 days on.
    week = NOW + timedelta(days=7)
    assert sessions.find(session, token, now=week) is not None
    assert sessions.touch_due(record, week)
    assert sessions.save(session, record.id, seen_at=week)
    session.commit()
    session.refresh(record)
    assert sessions.find(session, token, now=week + timedelta(days=29)) is not None
    assert sessions.find(session, token, now=week + timedelta(days=30)) is None


def test_last_seen_moves_at_most_every_few_minutes(session, world):
    open_for(session, world.volunteer)
    record = session.exec(select(WebSession)).one()
    assert not sessions.touch_due(record, NOW + sessions.TOUCH_EVERY - timedelta(seconds=1))
    assert sessions.touch_due(record, NOW + sessions.TOUCH_EVERY)


def test_an_ended_session_is_never_written_back(session, world):
    open_for(session, world.volunteer)
    record = session.exec(select(WebSession)).one()
    sessions.end(session, record.id)
    session.commit()
    assert not sessions.save(session, record.id, data={"csrf_token": "x"}, seen_at=NOW)
    assert live(session, world.volunteer) == 0


def test_deactivation_ends_every_session_and_notification(session, world):
    first, second = open_for(session, world.volunteer), open_for(session, world.volunteer)
    open_for(session, world.other_volunteer)
    keys = PushKeys()
    push.subscribe(
        session,
        world.volunteer,
        endpoint="https://fcm.googleapis.com/fcm/send/cGhvbmU",
        p256dh=keys.p256dh,
        auth=b64url(keys.auth),
        now=NOW,
    )
    session.commit()
    members.deactivate(session, world.leader, world.volunteer, now=NOW)
    session.commit()
    assert sessions.find(session, first, now=NOW) is None
    assert sessions.find(session, second, now=NOW) is None
    assert live(session, world.other_volunteer) == 1
    assert session.exec(select(func.count()).select_from(PushSubscription)).one() == 0


def test_a_role_or_village_change_ends_the_sessions_and_nothing_else_does(session, world):
    token = open_for(session, world.volunteer)
    # Saving the same role and village changes nothing: the member stays signed in.
    members.change_role(
        session, world.staff, world.volunteer, Role.volunteer, village=world.village, now=NOW
    )
    session.commit()
    assert sessions.find(session, token, now=NOW) is not None
    members.change_role(
        session, world.staff, world.volunteer, Role.volunteer, village=world.other_village, now=NOW
    )
    session.commit()
    assert sessions.find(session, token, now=NOW) is None
    token = open_for(session, world.volunteer)
    members.change_role(
        session, world.staff, world.volunteer, Role.leader, village=world.other_village, now=NOW
    )
    session.commit()
    assert sessions.find(session, token, now=NOW) is None


def test_ending_one_session_stops_only_the_notifications_of_its_browser(session, world):
    endpoints = [
        "https://fcm.googleapis.com/fcm/send/b25l",
        "https://fcm.googleapis.com/fcm/send/dHdv",
    ]
    for endpoint in endpoints:
        keys = PushKeys()
        push.subscribe(
            session,
            world.volunteer,
            endpoint=endpoint,
            p256dh=keys.p256dh,
            auth=b64url(keys.auth),
            now=NOW,
        )
    _, record = sessions.open_session(
        session,
        world.volunteer,
        now=NOW,
        method="passkey",
        data={sessions.PUSH_ENDPOINT_KEY: endpoints[0]},
    )
    sessions.end(session, record.id)
    session.commit()
    assert session.exec(select(PushSubscription.endpoint)).all() == [endpoints[1]]


def test_a_member_keeps_a_bounded_number_of_sessions(session, world):
    for minute in range(sessions.MAX_PER_MEMBER + 5):
        sessions.open_session(
            session, world.volunteer, now=NOW + timedelta(minutes=minute), method="link"
        )
    session.commit()
    assert live(session, world.volunteer) == sessions.MAX_PER_MEMBER
    newest = sessions.of_member(session, world.volunteer.id, now=NOW + timedelta(hours=1))
    assert newest[0].created_at == NOW + timedelta(minutes=sessions.MAX_PER_MEMBER + 4)


def test_sweep_deletes_what_can_no_longer_be_used(session, world):
    open_for(session, world.volunteer)
    sessions.sweep(session, now=NOW + sessions.LIFETIME + timedelta(minutes=1))
    session.commit()
    assert live(session, world.volunteer) == 0


def test_device_names_are_short(session):
    android = (
        "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Mobile Safari/537.36"
    )
    iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
    )
    assert sessions.device_name(android) == "Android · Chrome"
    assert sessions.device_name(iphone) == "iPhone · Safari"
    assert sessions.device_name("") == "Thiết bị"
