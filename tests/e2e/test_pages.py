"""Other pages as a person sees them: a refused visit keeps what was typed, the village list
for commune staff, the sign-in link page."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.flows import invite_link, sign_in


def test_a_refused_visit_shows_why_beside_the_field_and_keeps_the_notes(
    page, server, live_world, shot
):
    world, _ = live_world
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/households/{world.household.id}/visits/new")
    page.get_by_label("Thời gian thăm").fill("2099-01-01T09:00")
    line = page.locator("[data-line]").first
    line.get_by_label("Người được hỗ trợ").select_option(label="Nguyễn Văn An (1968)")
    line.get_by_label("Dịch vụ").select_option("vneid_activate")
    page.get_by_label("Ghi chú").fill("Ông An cần kích hoạt lại")
    page.get_by_role("button", name="Lưu lượt thăm").click()

    expect(page.get_by_role("alert")).to_contain_text("Sửa các ô được đánh dấu")
    expect(page.locator(".field-error")).to_have_text(["Thời gian thăm không thể ở tương lai."])
    expect(page.get_by_label("Ghi chú")).to_have_value("Ông An cần kích hoạt lại")
    expect(line.get_by_label("Dịch vụ")).to_have_value("vneid_activate")
    shot(page, "visit-form-refused")


def test_commune_staff_see_all_villages(page, server, live_world, shot):
    world, _ = live_world
    sign_in(page, server, world.staff.phone)
    expect(page).to_have_url(f"{server.url}/villages")
    rows = page.locator("[data-table=villages] tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("[data-table=villages] tfoot")).to_contain_text("Cả xã")
    shot(page, "villages-staff")


def test_sign_in_link_page(page, server, live_world, shot):
    world, _ = live_world
    page.goto(invite_link(server, world.leader.phone))
    expect(page.get_by_role("button", name="Đăng nhập")).to_be_visible()
    shot(page, "sign-in-link")
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page).to_have_url(f"{server.url}/households")
    page.goto(invite_link(server, world.leader.phone).rsplit("/", 1)[0] + "/used-or-wrong")
    expect(page.get_by_role("heading", name="Không đăng nhập được")).to_be_visible()


def test_each_role_finds_everything_from_its_tabs_and_more(page, server, live_world, shot):
    """Five tabs fit a 390-pixel phone, each a thumb-sized target; "Thêm" lists the rest."""
    world, _ = live_world
    for person, tabs in (
        (world.volunteer, ["Hộ dân", "Lịch hẹn", "Hướng dẫn", "Thôn", "Thêm"]),
        (world.staff, ["Tổng quan", "Duyệt", "Tra cứu hộ", "Thành viên", "Thêm"]),
    ):
        sign_in(page, server, person.phone)
        nav = page.get_by_role("navigation", name="Điều hướng chính")
        expect(nav.get_by_role("link")).to_have_text(tabs)
        for link in nav.get_by_role("link").all():
            box = link.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, link.inner_text()
            assert box["width"] >= 48 and box["height"] >= 48, link.inner_text()
        if person is world.staff:  # no village to carry: the shared pages only
            expect(page.locator("[data-ready]")).to_contain_text(
                "Sẵn sàng ngoại tuyến: hướng dẫn, hộp thư đi", timeout=30_000
            )
        nav.get_by_role("link", name="Thêm").click()
        expect(page.get_by_role("heading", name="Thêm")).to_be_visible()
        shot(page, f"menu-{person.role.value}")
        page.get_by_role("button", name="Đăng xuất").click()
