"""Hostile input as a person meets it (issue 10): a control character pasted into a name is
refused beside the field with what was typed kept; a year-1 date in the address bar is a
plain page saying what is wrong, not a server error."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.flows import sign_in


def test_a_pasted_control_character_is_refused_beside_the_field(page, server, live_world, shot):
    world, _ = live_world
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/households/new")
    page.get_by_label("Số nhà / tên hộ").fill("41")
    # What a copy from a terminal or an old spreadsheet can carry: an ESC character.
    page.get_by_label("Họ tên chủ hộ").fill("Nguyễn\x1bVăn Mới")
    page.get_by_role("button", name="Thêm hộ").click()
    expect(page.locator(".field-error")).to_contain_text(["Họ tên chủ hộ có ký tự lạ"])
    expect(page.get_by_label("Số nhà / tên hộ")).to_have_value("41")
    shot(page, "household-new-control-character")


def test_a_year_one_date_in_the_address_is_a_plain_400_page(page, server, live_world, shot):
    world, _ = live_world
    sign_in(page, server, world.staff.phone)
    response = page.goto(f"{server.url}/audit?from=0001-01-01")
    assert response.status == 400
    expect(page.get_by_role("heading")).to_have_text(
        "Từ ngày không hợp lệ: năm phải từ 1900 đến 2200."
    )
    expect(page.get_by_role("link", name="Về trang chính")).to_be_visible()
    shot(page, "audit-year-one-phone")
    page.set_viewport_size({"width": 1280, "height": 800})
    shot(page, "audit-year-one-desktop")
    page.get_by_role("link", name="Mở lại trang, bỏ lọc").click()
    expect(page).to_have_url(f"{server.url}/audit")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Nhật ký")
