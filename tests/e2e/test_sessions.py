"""Sessions that end, in Debian's Chromium (issue 10): "Đăng xuất khỏi mọi thiết bị" on the
account page signs out another phone at once — its next page goes to sign-in, and what it had
queued stays in its outbox, waiting for a new sign-in (DESIGN.md §4.4, §4.6)."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import update

from fieldkit.db import new_session
from fieldkit.models import WebSession, utcnow
from tests.e2e.conftest import ARTIFACTS, PHONE
from tests.e2e.flows import log_visit, open_more, sign_in

AN = "Nguyễn Văn An (1968)"


def test_signing_out_of_every_device_signs_out_the_other_phone(
    page, browser, server, live_world, shot
):
    world, engine = live_world
    other = browser.new_context(
        viewport=PHONE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", device_scale_factor=2
    )
    try:
        lost = other.new_page()
        sign_in(lost, server, world.volunteer.phone)
        sign_in(page, server, world.volunteer.phone)

        open_more(page, "Tài khoản")
        devices = page.locator(".device")
        expect(devices).to_have_count(2)
        expect(devices.filter(has_text="Máy này")).to_have_count(1)
        shot(page, "account-sessions")
        page.locator("#sessions").scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "account-sessions-phone.png"))  # 390×844

        # Eleven minutes after signing in, adding a passkey asks to sign in again first.
        with new_session(engine) as session:
            session.execute(update(WebSession).values(proved_at=utcnow() - timedelta(minutes=11)))
            session.commit()
        page.reload()
        expect(page.get_by_role("button", name="Thêm khóa cho điện thoại này")).to_have_count(0)
        again = page.get_by_role("link", name="Đăng nhập lại để thêm khóa")
        again.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "account-reauth-phone.png"))
        expect(again).to_have_attribute("href", "/signin?next=/account")

        # The other phone keeps working offline meanwhile: a visit waits in its outbox.
        lost.goto(f"{server.url}/households/{world.household.id}")
        other.set_offline(True)
        log_visit(lost, AN, "vneid_activate")
        expect(lost.locator("[data-pending]")).to_contain_text("Chờ gửi (1)")

        page.get_by_role("button", name="Đăng xuất khỏi mọi thiết bị").click()
        expect(page).to_have_url(f"{server.url}/signin?out=all")
        expect(page.get_by_text("Bạn đã đăng xuất khỏi mọi thiết bị.")).to_be_visible()
        shot(page, "signin-signed-out-everywhere")

        # Back online, it tries to send: the server says sign in again, nothing is dropped.
        other.set_offline(False)
        lost.get_by_role("button", name="Gửi ngay").click()
        expect(lost.locator("[data-auth-needed]")).to_be_visible(timeout=15_000)
        expect(lost.locator("[data-pending]")).to_contain_text("Chờ gửi (1)")
        lost.goto(f"{server.url}/households")
        expect(lost).to_have_url(re.compile(r"/signin\?next="))
        expect(lost.get_by_role("status")).to_contain_text("Phiên đăng nhập không hợp lệ")
    finally:
        other.close()


def test_commune_staff_sign_a_members_lost_phone_out(page, browser, server, live_world, shot):
    world, _ = live_world
    other = browser.new_context(viewport=PHONE, locale="vi-VN")
    try:
        lost = other.new_page()
        sign_in(lost, server, world.volunteer.phone)
        page.set_viewport_size({"width": 1280, "height": 800})  # staff work at a desktop
        sign_in(page, server, world.staff.phone)
        page.get_by_role("link", name="Thành viên").click()
        person = page.locator(".member", has_text=world.volunteer.name)
        person.get_by_text("Thêm…").click()
        shot(page, "members-staff-sessions-desktop")
        person.get_by_role("button", name="Đăng xuất mọi thiết bị").click()
        expect(page.get_by_role("status")).to_contain_text(
            f"Đã đăng xuất {world.volunteer.name} khỏi mọi thiết bị (1 phiên)."
        )
        lost.goto(f"{server.url}/households")
        expect(lost).to_have_url(re.compile(r"/signin\?next="))
    finally:
        other.close()
