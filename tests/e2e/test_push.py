"""Push notifications in Debian's Chromium: the account page says where this phone stands, and a
push delivered to the page's service worker (DevTools ServiceWorker.deliverPushMessage, since
headless Chromium reaches no push service) shows the notification, with a link kept to this
site only."""

from __future__ import annotations

import json
import time

from playwright.sync_api import expect

from fieldkit import push
from fieldkit.db import new_session
from fieldkit.models import utcnow
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.flows import open_more, sign_in
from tests.fieldkit.test_push import Browser as PushKeys
from tests.fieldkit.test_push import b64url

NOTIFICATIONS = """navigator.serviceWorker.ready.then(r => r.getNotifications()).then(list =>
    list.map(n => ({title: n.title, body: n.body, tag: n.tag, icon: n.icon,
                    url: n.data && n.data.url})))"""


def registration_id(page) -> tuple[object, str]:
    """The page's service worker registration, as DevTools names it."""
    cdp = page.context.new_cdp_session(page)
    found: list[str] = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: found.extend(
            r["registrationId"] for r in event["registrations"] if not r.get("isDeleted")
        ),
    )
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not found:
        assert time.monotonic() < deadline, "no service worker registration"
        page.wait_for_timeout(100)
    return cdp, found[0]


def notifications(page, count: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while len(shown := page.evaluate(NOTIFICATIONS)) < count:
        assert time.monotonic() < deadline, f"notifications shown: {shown}"
        page.wait_for_timeout(100)
    return shown


def test_a_push_shows_a_notification_and_the_account_page_says_so(
    page, context, server, live_world
):
    world, engine = live_world
    context.grant_permissions(["notifications"], origin=server.url)
    sign_in(page, server, world.volunteer.phone)
    open_more(page, "Tài khoản")
    area = page.locator("[data-push-area]")
    expect(area.get_by_role("heading", name="Thông báo")).to_be_visible()
    # Allowed, but this browser has not subscribed: off, with the button to turn it on.
    expect(area.locator("[data-push-state]")).to_have_attribute("data-push-state", "off")
    expect(area).to_contain_text("Đang tắt trên điện thoại này")
    expect(area.get_by_role("button", name="Bật thông báo")).to_be_visible()
    expect(area).to_contain_text("Chưa có thiết bị nào của bạn nhận thông báo.")

    # The subscription a phone would have made, kept for the signed-in member.
    keys = PushKeys()
    with new_session(engine) as session:
        push.subscribe(
            session,
            world.volunteer,
            endpoint="https://push.example.vn/e2e",
            p256dh=keys.p256dh,
            auth=b64url(keys.auth),
            now=utcnow(),
        )
        session.commit()
    page.reload()
    expect(area).to_contain_text("Đang nhận thông báo trên 1 thiết bị của bạn.")
    page.mouse.wheel(0, 2000)  # the section as the phone shows it, above the tab bar
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "push-account.png"))

    cdp, registration = registration_id(page)
    message = {
        "title": "Bạn được giao 3 hộ mới",
        "body": "Bùi Văn Lực vừa phân công.",
        "url": "/households",
        "tag": "assigned",
    }
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {"origin": server.url, "registrationId": registration, "data": json.dumps(message)},
    )
    (shown,) = notifications(page, 1)
    assert shown["title"] == message["title"] and shown["body"] == message["body"]
    assert shown["tag"] == "assigned" and shown["url"] == "/households"
    assert shown["icon"].endswith("/static/icons/icon-192.png")

    # A link elsewhere is never opened from a notification: it becomes the home page.
    cdp.send(
        "ServiceWorker.deliverPushMessage",
        {
            "origin": server.url,
            "registrationId": registration,
            "data": json.dumps(
                {"title": "Lạ", "body": "", "url": "https://evil.example/x", "tag": "other"}
            ),
        },
    )
    urls = {n["title"]: n["url"] for n in notifications(page, 2)}
    assert urls == {"Bạn được giao 3 hộ mới": "/households", "Lạ": "/"}


def test_a_browser_that_blocked_notifications_is_told_how_to_allow_them(
    browser, server, live_world
):
    world, _ = live_world
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    page = context.new_page()
    # What "Chặn" in the browser's permission prompt leaves behind.
    target = context.new_cdp_session(page).send("Target.getTargetInfo")["targetInfo"]
    browser.new_browser_cdp_session().send(
        "Browser.setPermission",
        {
            "permission": {"name": "notifications"},
            "setting": "denied",
            "origin": server.url,
            "browserContextId": target["browserContextId"],
        },
    )
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/account")
    area = page.locator("[data-push-area]")
    expect(area.locator("[data-push-state]")).to_have_attribute("data-push-state", "denied")
    expect(area).to_contain_text("Thông báo đã bị chặn trên trình duyệt này")
    expect(area.locator("[data-push-help]")).to_contain_text("cho phép thông báo")
    expect(area.get_by_role("button", name="Bật thông báo")).to_be_hidden()
    page.mouse.wheel(0, 2000)
    page.wait_for_timeout(300)
    page.screenshot(path=str(ARTIFACTS / "push-account-denied.png"))
    context.close()
