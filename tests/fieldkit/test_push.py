"""Push: the queue, the subscriptions, the VAPID keys and the worker — with a real round trip
to a push service stood up in the test (a tiny HTTP server), the body decrypted with http_ece
using the subscription's key pair made here, as a browser would."""

from __future__ import annotations

import base64
import json
import os
import stat
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlmodel import func, select

from fieldkit import assignments, members, push
from fieldkit.cli import main
from fieldkit.db import make_engine, new_session
from fieldkit.errors import Invalid
from fieldkit.models import Household, PushMessage, PushSubscription
from tests.conftest import NOW
from tests.factories import build_world


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Browser:
    """The receiving end of a subscription: a P-256 key pair and an auth secret, as a browser
    makes them in pushManager.subscribe()."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.p256dh = b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


class PushService:
    """A push service on 127.0.0.1: keeps every request, answers `status` (201 by default)."""

    def __init__(self):
        self.received: list[dict] = []
        self.status = 201
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                length = int(self.headers.get("Content-Length", 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                service.received.append(
                    {"path": self.path, "headers": headers, "body": self.rfile.read(length)}
                )
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def service():
    running = PushService()
    yield running
    running.close()


@pytest.fixture
def vapid(tmp_path) -> push.Vapid:
    return push.load_vapid(tmp_path, subject="mailto:admin@vinhloc.example.vn")


def subscribe(session, member, service, name="phone", browser=None) -> Browser:
    browser = browser or Browser()
    push.subscribe(
        session,
        member,
        endpoint=f"{service.url}/push/{name}",
        p256dh=browser.p256dh,
        auth=b64url(browser.auth),
        allow_local=True,
        now=NOW,
    )
    session.commit()
    return browser


def queue(session, member, **fields) -> PushMessage:
    message = push.enqueue(
        session,
        member_id=member.id,
        title=fields.pop("title", "Bị trả lại"),
        body=fields.pop("body", "Hộ số 12: thiếu năm sinh."),
        url=fields.pop("url", "/households/1"),
        tag=fields.pop("tag", "returned"),
        now=fields.pop("now", NOW),
        **fields,
    )
    session.commit()
    return message


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


# --- the round trip ---------------------------------------------------------------------------


def test_a_queued_message_reaches_the_browser_decrypted_to_the_exact_payload(
    session, world, service, vapid
):
    browser = subscribe(session, world.volunteer, service)
    message = queue(
        session,
        world.volunteer,
        title="Bị trả lại: hộ số 12",
        body="Chị Hà ơi, thiếu năm sinh của bà Lan.",
        url="/households/12",
        tag="returned-12",
    )

    report = push.drain(session, vapid=vapid, now=NOW)

    assert report.sent == 1
    (request,) = service.received
    assert request["path"] == "/push/phone"
    assert browser.decrypt(request["body"]) == {
        "title": "Bị trả lại: hộ số 12",
        "body": "Chị Hà ơi, thiếu năm sinh của bà Lan.",
        "url": "/households/12",
        "tag": "returned-12",
    }
    headers = request["headers"]
    assert headers["content-encoding"] == "aes128gcm"
    assert int(headers["ttl"]) == push.TTL_SECONDS
    assert headers["urgency"] == "normal"
    assert headers["authorization"].startswith("vapid t=")
    assert f"k={vapid.public_key}" in headers["authorization"]
    session.refresh(message)
    assert message.sent_at is not None and message.attempts == 1 and message.last_error is None
    assert session.exec(select(PushSubscription)).one().last_sent_at is not None
    # Drained: nothing is sent twice.
    assert push.drain(session, vapid=vapid, now=NOW + timedelta(hours=1)).sent == 0
    assert len(service.received) == 1


def test_every_phone_of_the_member_gets_it_and_nobody_else(session, world, service, vapid):
    phone, tablet = (
        subscribe(session, world.volunteer, service, "phone"),
        subscribe(session, world.volunteer, service, "tablet"),
    )
    subscribe(session, world.other_volunteer, service, "someone-else")
    queue(session, world.volunteer)
    push.drain(session, vapid=vapid, now=NOW)
    assert sorted(r["path"] for r in service.received) == ["/push/phone", "/push/tablet"]
    by_path = {r["path"]: r["body"] for r in service.received}
    assert phone.decrypt(by_path["/push/phone"])["title"] == "Bị trả lại"
    assert tablet.decrypt(by_path["/push/tablet"])["title"] == "Bị trả lại"


def test_an_expired_subscription_is_removed(session, world, service, vapid):
    subscribe(session, world.volunteer, service)
    message = queue(session, world.volunteer)
    service.status = 410
    report = push.drain(session, vapid=vapid, now=NOW)
    assert report.removed_subscriptions == 1
    assert count(session, PushSubscription) == 0
    session.refresh(message)
    assert message.sent_at is not None and "410" in message.last_error


def test_a_push_service_error_is_retried_later_not_lost(session, world, service, vapid):
    browser = subscribe(session, world.volunteer, service)
    message = queue(session, world.volunteer)
    service.status = 503
    assert push.drain(session, vapid=vapid, now=NOW).retried == 1
    session.refresh(message)
    assert message.sent_at is None and message.attempts == 1
    assert message.last_error == "HTTP 503"
    assert message.not_before == NOW + timedelta(minutes=1)
    # Not due yet: the push service is left alone.
    push.drain(session, vapid=vapid, now=NOW + timedelta(seconds=30))
    assert len(service.received) == 1
    service.status = 201
    assert push.drain(session, vapid=vapid, now=NOW + timedelta(minutes=1)).sent == 1
    session.refresh(message)
    assert message.sent_at is not None and message.attempts == 2
    assert browser.decrypt(service.received[-1]["body"])["title"] == "Bị trả lại"
    assert count(session, PushSubscription) == 1


def test_too_many_requests_backs_off_then_gives_up_and_says_so(session, world, service, vapid):
    subscribe(session, world.volunteer, service)
    message = queue(session, world.volunteer)
    service.status = 429
    when = NOW
    waits = []
    for _ in range(push.MAX_ATTEMPTS):
        push.drain(session, vapid=vapid, now=when)
        session.refresh(message)
        waits.append(message.not_before - when)
        when = message.not_before
    assert waits[:5] == [timedelta(minutes=m) for m in (1, 2, 4, 8, 16)]
    assert message.sent_at is None and message.attempts == push.MAX_ATTEMPTS
    assert message.last_error.startswith(f"Bỏ sau {push.MAX_ATTEMPTS} lần thử")
    push.drain(session, vapid=vapid, now=when + timedelta(days=1))
    assert len(service.received) == push.MAX_ATTEMPTS


def test_a_push_service_out_of_reach_is_retried(session, world, service, vapid):
    subscribe(session, world.volunteer, service)
    message = queue(session, world.volunteer)
    service.close()  # the endpoint now refuses connections
    assert push.drain(session, vapid=vapid, now=NOW).retried == 1
    session.refresh(message)
    assert message.sent_at is None and "ConnectionError" in message.last_error


def test_a_member_without_subscription_is_not_an_error(session, world, vapid):
    message = queue(session, world.volunteer)
    report = push.drain(session, vapid=vapid, now=NOW)
    assert report.no_subscription == 1
    session.refresh(message)
    assert message.sent_at is not None


def test_a_member_who_has_left_is_sent_nothing(session, world, service, vapid):
    subscribe(session, world.volunteer, service)
    message = queue(session, world.volunteer)
    world.volunteer.active = False
    session.add(world.volunteer)
    session.commit()
    push.drain(session, vapid=vapid, now=NOW)
    assert service.received == []
    session.refresh(message)
    assert message.sent_at is not None


@pytest.mark.postgres
def test_two_workers_never_claim_the_same_message(engine, world, vapid):
    if engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only (one worker on SQLite)")
    with new_session(engine) as setup:
        for title in ("một", "hai"):
            push.enqueue(
                setup, member_id=world.volunteer.id, title=title, body="", url="/", now=NOW
            )
        setup.commit()
    with new_session(engine) as first, new_session(engine) as second, new_session(engine) as third:
        held = push._claim_one(first, NOW)
        other = push._claim_one(second, NOW)
        assert held.title == "một" and other.title == "hai"
        assert push._claim_one(third, NOW) is None
        for worker in (first, second, third):
            worker.rollback()


# --- the queue and what fills it -------------------------------------------------------------


def test_a_dedupe_key_queues_once(session, world):
    first = push.enqueue(
        session,
        member_id=world.volunteer.id,
        title="Nhắc",
        body="Hôm nay",
        url="/households",
        dedupe_key="k1",
        now=NOW,
    )
    session.commit()
    again = push.enqueue(
        session,
        member_id=world.volunteer.id,
        title="Nhắc",
        body="Hôm nay",
        url="/households",
        dedupe_key="k1",
        now=NOW,
    )
    session.commit()
    assert first is not None and again is None
    assert count(session, PushMessage) == 1


def test_queued_in_a_transaction_that_rolls_back_is_never_sent(session, world):
    push.enqueue(session, member_id=world.volunteer.id, title="x", body="", url="/", now=NOW)
    session.rollback()
    assert count(session, PushMessage) == 0


def test_an_assignment_tells_the_volunteer_once_with_the_count(session, world):
    extra = [
        Household(
            uuid=f"00000000-0000-4000-8000-0000000000{n}",
            village_id=world.village.id,
            label=str(20 + n),
            head_name=f"Hộ {n}",
        )
        for n in range(10, 13)
    ]
    session.add_all(extra)
    session.commit()
    changed = assignments.assign(
        session,
        world.leader,
        volunteer_id=world.volunteer.id,
        household_ids=[h.id for h in extra] + [world.household.id],
        now=NOW,
    )
    session.commit()
    assert changed == 3
    (message,) = session.exec(select(PushMessage)).all()
    assert message.member_id == world.volunteer.id
    assert message.title == "Bạn được giao 3 hộ mới"
    assert world.leader.name in message.body and message.url == "/households"
    # Nothing changed hands: nothing to tell.
    assignments.assign(
        session,
        world.leader,
        volunteer_id=world.volunteer.id,
        household_ids=[h.id for h in extra],
        now=NOW,
    )
    session.commit()
    assert count(session, PushMessage) == 1


def test_an_accepted_invite_tells_whoever_made_it_once(session, world):
    token = members.create_sign_in_link(
        session, world.volunteer, now=NOW, created_by_id=world.leader.id
    )
    person = members.redeem_sign_in_link(session, token, now=NOW)
    push.invite_accepted(session, token=token, member=person, now=NOW)
    session.commit()
    (message,) = session.exec(select(PushMessage)).all()
    assert (message.member_id, message.title, message.url) == (
        world.leader.id,
        "Phạm Thu Hà đã tham gia",
        "/members",
    )
    # A second invite later is not a first sign-in; a console link has nobody to tell.
    again = members.create_sign_in_link(
        session, world.volunteer, now=NOW, created_by_id=world.leader.id
    )
    members.redeem_sign_in_link(session, again, now=NOW)
    assert push.invite_accepted(session, token=again, member=person, now=NOW) is None
    console = members.create_sign_in_link(session, world.other_volunteer, now=NOW)
    other = members.redeem_sign_in_link(session, console, now=NOW)
    assert push.invite_accepted(session, token=console, member=other, now=NOW) is None
    session.commit()
    assert count(session, PushMessage) == 1


def test_follow_ups_due_today_are_queued_once_per_volunteer_per_day(session, world):
    today = date(2026, 11, 20)  # NOW in Vietnam
    world.household.follow_up_on = today
    world.far_household.follow_up_on = today + timedelta(days=1)  # tomorrow: not yet
    world.neighbour.follow_up_on = today  # nobody assigned: nobody to remind
    session.add_all([world.household, world.far_household, world.neighbour])
    session.commit()

    assert push.queue_follow_ups(session, now=NOW) == 1
    session.commit()
    assert push.queue_follow_ups(session, now=NOW + timedelta(hours=3)) == 0
    session.commit()
    (message,) = session.exec(select(PushMessage)).all()
    assert (message.member_id, message.title) == (
        world.volunteer.id,
        "Hôm nay có 1 hộ hẹn quay lại",
    )
    assert message.url == "/households?filter=follow_up"
    # The next day (in Vietnam) is another reminder.
    world.far_household.follow_up_on = today + timedelta(days=1)
    assert push.queue_follow_ups(session, now=NOW + timedelta(days=1)) == 1


# --- subscriptions ---------------------------------------------------------------------------


def test_the_same_endpoint_again_updates_its_one_row(session, world):
    first, renewed = Browser(), Browser()
    for browser in (first, renewed):
        push.subscribe(
            session,
            world.volunteer,
            endpoint="https://fcm.googleapis.com/fcm/send/abc",
            p256dh=browser.p256dh,
            auth=b64url(browser.auth),
            now=NOW,
        )
        session.commit()
    stored = session.exec(select(PushSubscription)).one()
    assert (stored.member_id, stored.p256dh) == (world.volunteer.id, renewed.p256dh)


def test_a_subscription_belongs_to_one_member(session, world):
    """Another member sending the endpoint with other keys is refused (issue 10: an endpoint
    is no proof, it travels to push services); with the same keys — the same browser, a
    shared phone — the subscription passes to them."""
    phone = Browser()
    endpoint = "https://fcm.googleapis.com/fcm/send/abc"
    push.subscribe(
        session,
        world.volunteer,
        endpoint=endpoint,
        p256dh=phone.p256dh,
        auth=b64url(phone.auth),
        now=NOW,
    )
    session.commit()
    stranger = Browser()
    with pytest.raises(Invalid, match="tài khoản khác"):
        push.subscribe(
            session,
            world.staff,
            endpoint=endpoint,
            p256dh=stranger.p256dh,
            auth=b64url(stranger.auth),
            now=NOW,
        )
    session.rollback()
    stored = session.exec(select(PushSubscription)).one()
    assert (stored.member_id, stored.p256dh) == (world.volunteer.id, phone.p256dh)
    push.subscribe(
        session,
        world.leader,
        endpoint=endpoint,
        p256dh=phone.p256dh,
        auth=b64url(phone.auth),
        now=NOW,
    )
    session.commit()
    assert session.exec(select(PushSubscription.member_id)).all() == [world.leader.id]


@pytest.mark.parametrize(
    "change, field",
    [
        ({"endpoint": "http://push.example.com/x"}, "endpoint"),
        ({"endpoint": "http://127.0.0.1:9/x"}, "endpoint"),  # local only when allowed
        ({"endpoint": "javascript:alert(1)"}, "endpoint"),
        ({"endpoint": ""}, "endpoint"),
        ({"p256dh": b64url(b"\x04" + b"\x01" * 64)}, "keys"),  # not on the curve
        ({"p256dh": b64url(b"\x04" + b"\x01" * 31)}, "keys"),  # too short
        ({"p256dh": "not base64 !!"}, "keys"),
        ({"auth": b64url(os.urandom(8))}, "keys"),
        ({"auth": None}, "keys"),
    ],
)
def test_a_subscription_with_bad_parts_is_refused_and_nothing_kept(session, world, change, field):
    browser = Browser()
    fields = {
        "endpoint": "https://updates.push.services.mozilla.com/wpush/v2/abc",
        "p256dh": browser.p256dh,
        "auth": b64url(browser.auth),
        **change,
    }
    with pytest.raises(Invalid) as refused:
        push.subscribe(session, world.volunteer, now=NOW, **fields)
    assert field in refused.value.errors
    session.rollback()
    assert count(session, PushSubscription) == 0


def test_unsubscribe_forgets_only_ones_own(session, world):
    browser = Browser()
    push.subscribe(
        session,
        world.volunteer,
        endpoint="https://push.example.com/a",
        p256dh=browser.p256dh,
        auth=b64url(browser.auth),
        now=NOW,
    )
    session.commit()
    assert not push.unsubscribe(session, world.leader, endpoint="https://push.example.com/a")
    assert push.unsubscribe(session, world.volunteer, endpoint="https://push.example.com/a")
    session.commit()
    assert count(session, PushSubscription) == 0


# --- keys and commands -----------------------------------------------------------------------


def test_vapid_keys_are_made_once_and_kept_private(tmp_path):
    first = push.load_vapid(tmp_path, subject="mailto:a@example.vn")
    again = push.load_vapid(tmp_path, subject="mailto:a@example.vn")
    assert first.public_key == again.public_key
    point = base64.urlsafe_b64decode(first.public_key + "=")
    assert len(point) == 65 and point[0] == 4
    assert stat.S_IMODE((tmp_path / push.VAPID_FILE).stat().st_mode) == 0o600
    with pytest.raises(ValueError, match="FIELDKIT_PUSH_CONTACT"):
        push.load_vapid(tmp_path, subject="admin")


def test_the_commands_queue_and_send(tmp_path, monkeypatch, sqlite_url, service):
    monkeypatch.setenv("FIELDKIT_INSTANCE", str(tmp_path))
    monkeypatch.setenv("FIELDKIT_DATABASE_URL", sqlite_url)
    engine = make_engine(sqlite_url)
    with new_session(engine) as session:
        world = build_world(session, now=NOW)
        world.household.follow_up_on = push.local_today(push_now())
        session.add(world.household)
        session.commit()
        browser = subscribe(session, world.volunteer, service)
    runner = CliRunner()
    for expected in ("Đã xếp 1 lời nhắc", "Đã xếp 0 lời nhắc"):
        result = runner.invoke(main, ["push-followups"])
        assert result.exit_code == 0 and expected in result.output, result.output
    result = runner.invoke(main, ["push-worker", "--once"])
    assert result.exit_code == 0 and "Đã gửi 1" in result.output, result.output
    assert browser.decrypt(service.received[0]["body"])["title"] == "Hôm nay có 1 hộ hẹn quay lại"
    assert (tmp_path / push.VAPID_FILE).exists()
    engine.dispose()


def push_now():
    from fieldkit.models import utcnow

    return utcnow()
