"""Push in the web app: the account page's "Thông báo" section, keeping and forgetting this
browser's subscription (JSON, CSRF, sign-in), bad keys refused with nothing stored, and the
triggers that queue a message inside the request's own transaction (nothing is sent inline)."""

from __future__ import annotations

import base64
import re

from sqlmodel import func, select

from fieldkit import members, push
from fieldkit.models import PushMessage, PushSubscription, utcnow
from tests.conftest import NOW
from tests.fieldkit.test_push import Browser as PushKeys
from tests.fieldkit.test_push import b64url

ENDPOINT = "https://fcm.googleapis.com/fcm/send/dGVzdC1lbmRwb2ludA"


def subscription_json(keys: PushKeys, endpoint: str = ENDPOINT, **change) -> dict:
    """What PushSubscription.toJSON() gives in the browser."""
    body = {
        "endpoint": endpoint,
        "expirationTime": None,
        "keys": {"p256dh": keys.p256dh, "auth": b64url(keys.auth)},
    }
    body["keys"].update(change)
    return body


def api(web, url: str, body: dict, *, csrf: bool = True):
    headers = {"X-CSRF-Token": web.csrf} if csrf else {}
    return web.client.post(url, json=body, headers=headers)


def rows(db, model) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(model)).one()


def test_the_account_page_offers_notifications_with_the_servers_key(web, world, app):
    web.sign_in(world.volunteer)
    page = web.get("/account").get_data(as_text=True)
    assert "Thông báo" in page and "Bật thông báo" in page
    assert "Chưa có thiết bị nào của bạn nhận thông báo." in page
    assert "/static/push.js" in page
    key = re.search(r'data-push-key="([^"]+)"', page).group(1)
    point = base64.urlsafe_b64decode(key + "=")
    assert len(point) == 65 and point[0] == 4
    # The same key the worker will sign with: it lives in the instance folder.
    settings = app.config["FIELDKIT_SETTINGS"]
    assert push.load_vapid(settings.instance_path, subject=settings.vapid_subject).public_key == key


def test_subscribe_then_again_keeps_one_row_then_unsubscribe(web, world, db):
    web.sign_in(world.volunteer)
    keys = PushKeys()
    answer = api(web, "/api/v1/push/subscriptions", subscription_json(keys))
    assert answer.status_code == 200, answer.text
    assert answer.get_json()["status"] == "on" and answer.get_json()["devices"] == 1
    renewed = PushKeys()
    assert api(web, "/api/v1/push/subscriptions", subscription_json(renewed)).status_code == 200
    (stored,) = db.exec(select(PushSubscription)).all()
    assert (stored.member_id, stored.p256dh) == (world.volunteer.id, renewed.p256dh)
    assert "1 thiết bị" in web.get("/account").get_data(as_text=True)

    answer = api(web, "/api/v1/push/subscriptions/delete", {"endpoint": ENDPOINT})
    assert answer.status_code == 200 and answer.get_json() == {
        "status": "off",
        "devices": 0,
        "message": "Đã tắt thông báo trên điện thoại này.",
    }
    assert rows(db, PushSubscription) == 0
    # Again: nothing left to forget, still a clear answer.
    assert api(web, "/api/v1/push/subscriptions/delete", {"endpoint": ENDPOINT}).status_code == 200


def test_signing_out_stops_this_phones_notifications_only(web, world, db):
    """A shared phone: the next person to sign in on it must not get the last one's
    notifications. The member's other phone keeps them."""
    web.sign_in(world.volunteer)
    other_phone = "https://fcm.googleapis.com/fcm/send/b3RoZXItcGhvbmU"
    assert (
        api(
            web, "/api/v1/push/subscriptions", subscription_json(PushKeys(), endpoint=other_phone)
        ).status_code
        == 200
    )
    web.sign_in(world.volunteer)  # this phone: a session of its own
    assert api(web, "/api/v1/push/subscriptions", subscription_json(PushKeys())).status_code == 200
    assert rows(db, PushSubscription) == 2

    assert web.post("/signout").status_code == 303

    db.expire_all()
    assert [s.endpoint for s in db.exec(select(PushSubscription)).all()] == [other_phone]


def test_bad_keys_are_refused_in_vietnamese_and_nothing_is_stored(web, world, db):
    web.sign_in(world.volunteer)
    keys = PushKeys()
    for body in (
        subscription_json(keys, p256dh=b64url(b"\x04" + b"\x07" * 64)),
        subscription_json(keys, auth="c2hvcnQ"),
        subscription_json(keys, p256dh=None),
        {"endpoint": ENDPOINT},
        subscription_json(keys, endpoint="http://push.example.com/x"),
        {"items": []},
        [],
    ):
        answer = api(web, "/api/v1/push/subscriptions", body)
        assert answer.status_code == 422, (body, answer.text)
        assert re.search(r"không hợp lệ|không gửi", answer.get_json()["error"]), answer.text
    assert (
        "Khóa mã hóa của trình duyệt không hợp lệ"
        in api(
            web,
            "/api/v1/push/subscriptions",
            subscription_json(keys, p256dh=b64url(b"\x04" + b"\x07" * 64)),
        ).get_json()["error"]
    )
    assert rows(db, PushSubscription) == 0


def test_without_csrf_or_signed_out_nothing_is_stored(web, world, db, app):
    keys = PushKeys()
    stranger = app.test_client()
    assert stranger.post(
        "/api/v1/push/subscriptions", json=subscription_json(keys)
    ).status_code in (400, 401)
    web.sign_in(world.volunteer)
    assert (
        api(web, "/api/v1/push/subscriptions", subscription_json(keys), csrf=False).status_code
        == 400
    )
    assert rows(db, PushSubscription) == 0


def test_one_cannot_turn_off_another_members_phone(web, world, db):
    keys = PushKeys()
    push.subscribe(
        db, world.leader, endpoint=ENDPOINT, p256dh=keys.p256dh, auth=b64url(keys.auth), now=NOW
    )
    db.commit()
    web.sign_in(world.volunteer)
    assert api(web, "/api/v1/push/subscriptions/delete", {"endpoint": ENDPOINT}).status_code == 200
    assert rows(db, PushSubscription) == 1


def test_an_accepted_invite_is_queued_for_the_leader_who_made_it(web, world, db):
    token = members.create_sign_in_link(
        db, world.volunteer, now=utcnow(), created_by_id=world.leader.id
    )
    db.commit()
    web.get(f"/signin/{token}")
    assert web.post(f"/signin/{token}").status_code == 303
    (message,) = db.exec(select(PushMessage)).all()
    assert (message.member_id, message.title, message.url, message.sent_at) == (
        world.leader.id,
        "Phạm Thu Hà đã tham gia",
        "/members",
        None,
    )


def test_assigning_households_queues_one_message_for_the_volunteer(web, world, db):
    web.sign_in(world.leader)
    response = web.post(
        "/assignments",
        {
            "volunteer_id": world.volunteer.id,
            "household_id": [world.neighbour.id],
            "village_id": world.village.id,
        },
    )
    assert response.status_code == 303
    (message,) = db.exec(select(PushMessage)).all()
    assert (message.member_id, message.title) == (world.volunteer.id, "Bạn được giao 1 hộ mới")


def test_a_local_push_endpoint_is_accepted_only_by_a_server_on_localhost(app, db, world, tmp_path):
    from dataclasses import replace

    from pwa import create_app
    from tests.web.conftest import Browser as WebBrowser

    local = subscription_json(PushKeys(), endpoint="http://127.0.0.1:9/push/test")
    web = WebBrowser(app.test_client(), db)
    web.sign_in(world.volunteer)
    assert api(web, "/api/v1/push/subscriptions", local).status_code == 200  # localhost app

    settings = replace(app.config["FIELDKIT_SETTINGS"], base_url="https://xa.example.vn")
    public = create_app({"FIELDKIT_SETTINGS": settings, "TESTING": True})
    try:
        web = WebBrowser(public.test_client(), db)
        web.sign_in(world.volunteer)
        other = subscription_json(PushKeys(), endpoint="http://127.0.0.1:9/push/other")
        answer = web.client.post(
            "/api/v1/push/subscriptions", json=other, headers={"X-CSRF-Token": web.csrf}
        )
        assert answer.status_code == 422
        assert "Địa chỉ nhận thông báo" in answer.get_json()["error"]
    finally:
        public.extensions["fieldkit_engine"].dispose()
    assert rows(db, PushSubscription) == 1
