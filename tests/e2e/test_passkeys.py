"""Passkeys in Debian's Chromium with the DevTools virtual authenticator: an in-app invite, enroll
on the link page, sign out, sign in without typing anything, revoke, refused. A phone that
cannot verify its owner and a replayed answer are refused too."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.flows import invite_link, open_more, sign_in


def add_authenticator(page, *, user_verified: bool = True) -> tuple[object, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": user_verified,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return cdp, added["authenticatorId"]


def invite_from_the_members_page(page, server, leader_phone: str, name: str, shot) -> str:
    """A leader signs in, makes an invite link on the members page, signs out."""
    sign_in(page, server, leader_phone)
    open_more(page, "Thành viên")
    person = page.locator(".member", has_text=name)
    shot(page, "members-leader")
    person.get_by_role("button", name="Liên kết mời").click()
    expect(page.get_by_role("heading", name=f"Liên kết mời cho {name}")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    shot(page, "invite-link")
    url = page.locator("[data-invite-url]").input_value()
    sign_out(page)
    return url


def sign_out(page) -> None:
    page.get_by_role("button", name="Đăng xuất", exact=True).click()
    expect(page.get_by_text("Bạn đã đăng xuất.")).to_be_visible()


def test_invite_enroll_sign_in_revoke_refused(page, server, live_world, shot):
    world, _ = live_world
    url = invite_from_the_members_page(page, server, world.leader.phone, world.volunteer.name, shot)
    cdp, authenticator = add_authenticator(page)

    page.goto(url)
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    expect(page).to_have_url(f"{server.url}/households")
    assert (
        len(cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"])
        == 1
    )

    open_more(page, "Tài khoản")
    expect(page.locator(".key")).to_have_count(1)
    expect(page.locator(".key")).to_contain_text("Chưa dùng để đăng nhập")
    sign_out(page)
    shot(page, "signin")

    page.get_by_role("button", name="Đăng nhập bằng khóa truy cập").click()
    expect(page).to_have_url(f"{server.url}/households")
    expect(page.locator(".topbar-sub")).to_contain_text(world.volunteer.name)

    open_more(page, "Tài khoản")
    expect(page.locator(".key")).to_contain_text("Dùng lần cuối")
    shot(page, "account")
    expect(page.locator(".key")).to_contain_text("Máy này đang đăng nhập bằng khóa này")
    page.get_by_role("button", name="Thu hồi").click()
    # This phone signed in with that key: its session ended with the key (issue 10).
    expect(page).to_have_url(f"{server.url}/signin")
    expect(page.get_by_role("status")).to_contain_text("Đã thu hồi")

    page.get_by_role("button", name="Đăng nhập bằng khóa truy cập").click()
    expect(page.locator("[data-passkey-message]")).to_contain_text("đã bị thu hồi")
    expect(page).to_have_url(f"{server.url}/signin")
    shot(page, "signin-refused")


def test_a_phone_that_cannot_verify_its_owner_is_refused(page, server, live_world):
    world, _ = live_world
    add_authenticator(page, user_verified=False)
    page.goto(invite_link(server, world.volunteer.phone))
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    expect(page.locator("[data-passkey-message]")).to_contain_text("chưa xác minh bạn")
    # The link is not used up: the plain button still signs in.
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    expect(page).to_have_url(f"{server.url}/households")


def test_a_replayed_sign_in_is_refused(page, server, live_world):
    world, _ = live_world
    add_authenticator(page)
    page.goto(invite_link(server, world.volunteer.phone))
    page.get_by_role("button", name="Tạo khóa truy cập").click()
    expect(page).to_have_url(f"{server.url}/households")
    sign_out(page)

    with page.expect_request("**/api/v1/passkeys/signin") as captured:
        page.get_by_role("button", name="Đăng nhập bằng khóa truy cập").click()
    expect(page).to_have_url(f"{server.url}/households")
    body = captured.value.post_data
    sign_out(page)

    def replay():
        csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
        return page.request.post(
            f"{server.url}/api/v1/passkeys/signin",
            data=body,
            headers={"Content-Type": "application/json", "X-CSRF-Token": csrf},
        )

    answer = replay()  # no challenge in this session any more
    assert answer.status == 403 and "không còn hợp lệ" in answer.json()["error"]
    csrf = page.locator('meta[name="csrf-token"]').get_attribute("content")
    page.request.post(
        f"{server.url}/api/v1/passkeys/signin/options", headers={"X-CSRF-Token": csrf}
    )
    answer = replay()  # a fresh challenge: the captured answer does not match it
    assert answer.status == 403 and "không khớp" in answer.json()["error"]
    page.goto(f"{server.url}/households")
    expect(page).to_have_url(re.compile(r"/signin\?next="))


def test_commune_staff_invite_a_leader_and_read_out_a_code(page, server, live_world, shot):
    world, _ = live_world
    sign_in(page, server, world.staff.phone)
    page.get_by_role("link", name="Thành viên").click()
    expect(page.locator(".member")).to_have_count(4)
    page.locator(".member", has_text=world.other_volunteer.name).get_by_text("Thêm…").click()
    shot(page, "members-staff")
    page.get_by_text("Mời người mới").click()
    form = page.locator(".add-member-form")
    form.get_by_label("Họ tên").fill("Vũ Thị Tổ Trưởng")
    form.get_by_label("Số điện thoại").fill("0912000077")
    form.get_by_label("Vai trò").select_option(label="Tổ trưởng")
    form.get_by_label("Thôn").select_option(label="Thôn Tây")
    form.get_by_role("button", name="Thêm và tạo liên kết mời").click()
    expect(page.get_by_role("heading", name="Liên kết mời cho Vũ Thị Tổ Trưởng")).to_be_visible()
    expect(page.locator(".qr svg")).to_be_visible()
    page.get_by_role("link", name="Xong").click()
    page.locator(".member", has_text="Vũ Thị Tổ Trưởng").get_by_role(
        "button", name="Cấp mã"
    ).click()
    code = page.locator("[data-one-time-code]").inner_text().replace(" ", "")
    shot(page, "one-time-code")
    sign_out(page)
    page.get_by_label("Số điện thoại của bạn").fill("0912 000 077")
    page.get_by_label("Mã 6 số").fill(code)
    page.get_by_role("button", name="Đăng nhập bằng mã").click()
    expect(page.locator(".topbar-sub")).to_contain_text("Vũ Thị Tổ Trưởng · Tổ trưởng")
