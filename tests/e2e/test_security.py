"""The pages work under the strict Content-Security-Policy: a real Chromium opens the main
pages (list, household page with each of its sheets, outbox, audit log, settings, erasure) and
reports no CSP violation; consent is recorded through the outbox like every field write."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.flows import sign_in


@pytest.fixture
def violations(page: Page) -> list[str]:
    """Console messages about the Content-Security-Policy, and script errors."""
    found: list[str] = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text
            or "Content-Security-Policy" in message.text
            else None
        ),
    )
    page.on("pageerror", lambda error: found.append(f"page error: {error}"))
    return found


def test_field_pages_raise_no_csp_violation_and_consent_goes_through_the_outbox(
    page, server, live_world, shot, violations
):
    world, _ = live_world
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/households")
    expect(page.get_by_text("Nguyễn Văn An").first).to_be_visible()
    household = f"{server.url}/households/{world.household.id}"
    page.goto(household)
    expect(page.get_by_role("heading", name="Chưa ghi nhận sự đồng ý của hộ")).to_be_visible()
    for sheet, title in [
        ("ghi-luot-tham", "Ghi lượt thăm"),
        ("them-nhan-khau", "Thêm nhân khẩu"),
        ("sua-thong-tin", "Sửa thông tin hộ"),
        ("dong-y", "Ghi nhận đồng ý"),
    ]:
        page.goto(f"{household}#{sheet}")
        expect(page.locator(f"#{sheet}").get_by_role("heading", name=title)).to_be_visible()

    form = page.locator("form[data-outbox=consent]")
    form.get_by_text("Liên hệ lại để hỗ trợ tiếp").click()  # untick the second purpose
    form.get_by_text("Đồng ý bằng văn bản").click()
    form.get_by_role("button", name="Ghi nhận đồng ý").click()
    expect(page.get_by_role("heading", name="Đã đồng ý cho lưu thông tin")).to_be_visible()
    expect(page.locator("[data-consent-state=recorded]")).to_contain_text(
        "Hỗ trợ dịch vụ công trực tuyến"
    )
    expect(page.locator("[data-consent-state=recorded]")).not_to_contain_text("Liên hệ lại")
    expect(page.locator("[data-consent-state=recorded]")).to_contain_text("Đồng ý bằng văn bản")
    shot(page, "household-consent")

    page.goto(f"{server.url}/outbox")
    expect(page.get_by_role("heading", name="Hộp thư đi", exact=True)).to_be_visible()
    expect(page.locator("[data-count-pending]")).to_have_text("(0)")
    page.goto(f"{server.url}/villages")
    assert violations == []


def test_staff_pages_raise_no_csp_violation(page, server, live_world, shot, violations):
    world, _ = live_world
    sign_in(page, server, world.staff.phone)
    page.goto(f"{server.url}/households/{world.household.id}")
    expect(page.get_by_role("button", name="Tải dữ liệu của hộ (JSON)")).to_be_visible()
    page.get_by_role("link", name="Xóa dữ liệu cá nhân của hộ…").click()
    expect(page.get_by_role("heading", name="Xóa dữ liệu cá nhân của hộ")).to_be_visible()
    page.get_by_text("Tôi xác nhận người dân đã yêu cầu xóa").click()
    page.get_by_role("button", name="Xóa dữ liệu cá nhân").click()
    expect(page.get_by_role("heading", name="Hộ đã xóa dữ liệu").first).to_be_visible()

    page.goto(f"{server.url}/settings")
    page.get_by_label("Thời hạn lưu dữ liệu cá nhân").select_option("24")
    page.get_by_role("button", name="Lưu cài đặt").click()
    expect(page.get_by_text("Đã lưu cài đặt.")).to_be_visible()

    page.goto(f"{server.url}/audit")
    events = page.locator(".audit-event")
    expect(events.first).to_contain_text("Đổi cài đặt")
    expect(page.locator(".audit-event.action-erase")).to_contain_text("Lê Văn Chung")
    shot(page, "audit-log")
    page.get_by_label("Thao tác").select_option("erase")
    page.get_by_role("button", name="Lọc").click()
    expect(page.locator(".audit-event")).to_have_count(1)
    assert violations == []
