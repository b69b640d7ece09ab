"""A province on one Fieldkit, in a real browser (issue 14): two communes set up from the
console, the first province admin invited from the console, who invites province staff, who
sign in and see both communes side by side; the province pages at phone and desktop size."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Server
from tests.e2e.flows import FIELDKIT, invite_link
from tests.e2e.test_accessibility import _blocking

DESKTOP = {"width": 1280, "height": 900}


def _console(server, *args: str) -> str:
    return subprocess.run(
        [str(FIELDKIT), *args], env=server.env, check=True, capture_output=True, text=True
    ).stdout


@pytest.fixture
def empty_server(sqlite_url, tmp_path):
    """The app over a freshly migrated database with nothing in it."""
    server = Server(sqlite_url, tmp_path)
    server.start()
    yield server
    server.stop()


def _sign_in_with(page, link: str) -> None:
    page.goto(link)
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()


def test_two_communes_from_the_console_and_province_staff_who_see_both(
    page, browser, empty_server, shot
):
    server = empty_server
    assert "Đã tạo: Xã Vĩnh Lộc" in _console(server, "init", "15349", "14758")
    _console(server, "village", "add", "Thôn Bái Đô", "--commune", "15349")
    _console(server, "village", "add", "Thôn Nam", "--commune", "14758")
    added = _console(
        server,
        "member",
        "add",
        "Lê Thị Hồng Nhung",
        "--role",
        "province_admin",
        "--province",
        "38",
        "--phone",
        "0912300001",
    )
    assert "Quản trị tỉnh" in added

    _sign_in_with(page, invite_link(server, "0912300001"))
    expect(page).to_have_url(f"{server.url}/province")
    rows = page.locator("[data-table=communes] tbody tr")
    expect(rows).to_have_count(2)

    page.get_by_role("link", name="Cán bộ", exact=True).click()
    page.get_by_text("Mời cán bộ tỉnh").click()
    page.get_by_label("Họ tên").fill("Hoàng Minh Đức")
    page.get_by_label("Số điện thoại").fill("0912300002")
    page.get_by_role("button", name="Thêm và tạo liên kết mời").click()
    expect(page.get_by_role("heading", name="Liên kết mời cho Hoàng Minh Đức")).to_be_visible()
    link = page.locator("[data-invite-url]").input_value()
    shot(page, "province-invite")

    staff_context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    staff_page = staff_context.new_page()
    _sign_in_with(staff_page, link)
    expect(staff_page).to_have_url(f"{server.url}/province")
    table = staff_page.locator("[data-table=communes]")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("Xã Vĩnh Lộc")
    expect(table).to_contain_text("Phường Hàm Rồng")
    expect(table.locator("tfoot")).to_contain_text("Toàn tỉnh")
    staff_context.close()


@pytest.fixture
def demo_province(sqlite_url, tmp_path):
    server = Server(sqlite_url, tmp_path)
    out = subprocess.run(
        [str(FIELDKIT), "demo", "--province", "--communes", "4", "--households", "2400", "--links"],
        env=server.env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    links = dict(re.findall(r"\n(.+?) — .+?:\n\s+(\S+/signin/\S+)", out))
    server.start()
    yield server, links
    server.stop()


def test_the_province_pages_at_phone_and_desktop_size(page, browser, demo_province, shot):
    server, links = demo_province
    _sign_in_with(page, links["Hoàng Minh Đức"])
    expect(page.locator("[data-table=communes] tbody tr")).to_have_count(4)
    expect(page.locator("#province-week table")).to_be_visible()  # fetched by htmx
    shot(page, "province-overview-phone")
    # No serious accessibility violation (axe-core), as for every role's main pages.
    problems = {}
    for path in ["/province", "/province/week", "/province/targets", "/menu"]:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        problems[path] = _blocking(page)
    assert problems == {path: [] for path in problems}
    page.goto(server.url + "/province")
    page.get_by_role("link", name="Hộ đã tiếp cận").first.click()
    expect(page.locator("[data-col=reached] .current")).to_be_visible()
    page.locator("[data-table=communes] tbody tr th a").first.click()
    expect(page.get_by_text("Chỉ xem")).to_be_visible()
    shot(page, "province-commune-phone")
    page.goto(f"{server.url}/province/targets")
    shot(page, "province-targets-phone")
    page.goto(f"{server.url}/province/week")
    expect(page.get_by_text("Toàn tỉnh").first).to_be_visible()
    shot(page, "province-week-phone")

    desktop = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    wide = desktop.new_page()
    _sign_in_with(wide, links["Lê Thị Hồng Nhung"])
    expect(wide.locator("#province-week table")).to_be_visible()
    shot(wide, "province-overview-desktop")
    wide.goto(f"{server.url}/province/targets")
    shot(wide, "province-targets-desktop")
    wide.goto(f"{server.url}/province/members")
    shot(wide, "province-members-desktop")
    wide.goto(f"{server.url}/province")
    wide.locator("[data-table=communes] tbody tr th a").first.click()
    expect(wide.get_by_text("Chỉ xem")).to_be_visible()
    shot(wide, "province-commune-desktop")
    desktop.close()
