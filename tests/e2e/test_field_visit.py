"""A volunteer's first morning: open the invite link, find a household by typing without
accents, log a visit with two assistance lines, and see it on the household page."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlmodel import func, select

from fieldkit.db import new_session
from fieldkit.models import Assistance, Visit
from tests.e2e.flows import invite_link


def test_volunteer_signs_in_finds_household_and_logs_visit(page, server, live_world, shot):
    world, engine = live_world
    link = invite_link(server, world.volunteer.phone)
    assert link.startswith(server.url)

    page.goto(link)
    expect(page.get_by_role("heading", name=f"Xin chào, {world.volunteer.name}")).to_be_visible()
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(f"{server.url}/households")

    page.get_by_role("searchbox").fill("nguyen van")
    rows = page.locator(".household-row:visible")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Nguyễn Văn An")
    shot(page, "household-list")
    rows.first.click()

    expect(page.get_by_role("heading", name="Nguyễn Văn An")).to_be_visible()
    shot(page, "household-page-before")
    page.get_by_role("link", name="Ghi lượt thăm").click()

    form = page.locator("form[data-outbox=visit]")
    first = form.locator("[data-line]").nth(0)
    first.get_by_label("Người được hỗ trợ").select_option(label="Nguyễn Văn An (1968)")
    first.get_by_label("Dịch vụ").select_option("vneid_level1")
    first.get_by_text("Xong", exact=True).click()
    page.get_by_role("button", name="+ Thêm dòng hỗ trợ").click()
    second = form.locator("[data-line]").nth(1)
    second.get_by_label("Người được hỗ trợ").select_option(label="Hoàng Thị Lan (1972)")
    second.get_by_label("Dịch vụ").select_option("dvcqg_login")
    second.get_by_text("Chưa được", exact=True).click()
    second.get_by_text("Lý do, máy dùng, mã hồ sơ").click()
    second.get_by_label("Lý do (nếu chưa xong)").select_option("forgot_password")
    page.get_by_label("Ghi chú").fill("Bà Lan quên mật khẩu, hẹn tuần sau.")
    shot(page, "visit-form")
    page.get_by_role("button", name="Lưu lượt thăm").click()

    expect(page.get_by_role("status")).to_contain_text("Đã gửi lên xã")
    history = page.locator(".visit")
    expect(history).to_have_count(1)
    expect(history.first).to_contain_text("VNeID mức 1: Xong")
    expect(history.first).to_contain_text("Cổng DVCQG: Chưa được (Quên mật khẩu)")
    expect(page.locator(".chip", has_text="VNeID mức 1")).to_be_visible()
    shot(page, "household-page-after")

    with new_session(engine) as session:
        assert session.exec(select(func.count()).select_from(Visit)).one() == 1
        assert session.exec(select(func.count()).select_from(Assistance)).one() == 2
