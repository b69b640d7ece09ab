"""On a phone (390×844): a volunteer opens "Việc cần làm" and taps through to a household;
commune staff set targets in the sideways-scrolling grid, a bad cell first."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from fieldkit.db import new_session
from fieldkit.forms import local_today
from fieldkit.models import utcnow
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.flows import sign_in
from tests.fieldkit.helpers import line, record_visit


def phone_shot(page, name: str) -> None:
    """What the phone's screen shows, not the whole page."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_follow_ups_on_a_phone_then_one_tap_to_the_household(page, server, live_world, shot):
    world, engine = live_world
    today = local_today(utcnow())
    with new_session(engine) as session:
        record_visit(
            session,
            world,
            visited_at="2026-11-18T09:00",
            follow_up_on=(today - timedelta(days=2)).isoformat(),
            lines=[line(world.head, "vneid_level2", "referred", reason="needs_police")],
        )
        record_visit(
            session,
            world,
            household=world.neighbour,
            visited_at="2026-11-18T09:00",
            follow_up_on=today.isoformat(),
        )
        session.commit()

    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/follow-ups")
    expect(page.get_by_role("heading", name="Việc cần làm")).to_be_visible()
    expect(page.locator("#overdue .household-row")).to_have_count(1)
    expect(page.locator("#today .household-row")).to_contain_text("Trần Thị Bình")
    expect(page.locator("#level2_waiting .household-row")).to_contain_text(
        "Người chờ: Nguyễn Văn An"
    )
    phone_shot(page, "followups-phone")
    shot(page, "followups-phone-full")

    row = page.locator("#overdue .household-row")
    box = row.bounding_box()
    assert box["height"] >= 48 and box["width"] >= 300  # one big tap target
    row.click()
    expect(page).to_have_url(f"{server.url}/households/{world.household.id}")
    expect(page.get_by_role("heading", name="Nguyễn Văn An")).to_be_visible()


def test_staff_set_targets_on_a_phone(page, server, live_world, shot):
    world, _engine = live_world
    sign_in(page, server, world.staff.phone)
    page.goto(f"{server.url}/targets")
    expect(page.get_by_role("heading", name="Chỉ tiêu")).to_be_visible()
    page.get_by_label("Hộ đã tiếp cận — Cả xã").fill("300")
    page.get_by_label("Hộ đã tiếp cận — Thôn Tây").fill("-5")
    page.get_by_role("button", name="Lưu chỉ tiêu").click()
    expect(page.locator(".form-alert")).to_contain_text("Chưa lưu")
    expect(page.get_by_label("Hộ đã tiếp cận — Cả xã")).to_have_value("300")
    bad = page.get_by_label("Hộ đã tiếp cận — Thôn Tây")
    expect(bad).to_have_value("-5")
    bad.scroll_into_view_if_needed()
    phone_shot(page, "targets-phone-error")

    bad.fill("120")
    page.get_by_role("button", name="Lưu chỉ tiêu").click()
    expect(page.get_by_role("status")).to_have_text("Đã lưu chỉ tiêu: 2 ô thay đổi.")
    # The indicator names stay in view while the grid scrolls sideways.
    name_cell = page.locator(".targets-grid tbody th", has_text="Hộ đã tiếp cận")
    before = name_cell.bounding_box()["x"]
    page.locator(".targets-scroll").evaluate("el => { el.scrollLeft = 400; }")
    page.wait_for_timeout(100)
    assert abs(name_cell.bounding_box()["x"] - before) < 2
    phone_shot(page, "targets-phone-scrolled")
    page.locator(".targets-scroll").evaluate("el => { el.scrollLeft = 0; }")
    page.evaluate("window.scrollTo(0, 0)")
    phone_shot(page, "targets-phone")
    shot(page, "targets-phone-full")
