"""The dashboards in a real Chromium, at phone size (390×844) and on a desk (1280×800): the
leader's village with its charts and the Zalo summary (copied when the phone has no share
sheet), the commune overview for staff, sorted by a column. Screenshots in test-artifacts/."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import expect

from fieldkit.db import new_session
from fieldkit.households import residents_of
from fieldkit.models import ReviewState, Target
from tests.e2e.flows import sign_in
from tests.factories import add_household
from tests.fieldkit.helpers import line, record_visit

DESKTOP = {"width": 1280, "height": 800}
# Wide tables scroll inside their card; the page itself never scrolls sideways.
SIDEWAYS = "document.documentElement.scrollWidth - innerWidth"


@pytest.fixture
def busy(live_world):
    """Thôn Đông with ten more households, visits spread over five weeks (some approved), a
    target; Thôn Tây with one visit."""
    world, engine = live_world
    with new_session(engine) as session:
        for number in range(20, 30):
            house = add_household(
                session,
                world.village,
                str(number),
                f"Hộ số {number}",
                assigned=world.volunteer if number % 3 else world.leader,
                residents=[(f"Người {number}", 1980, None, "Chủ hộ")],
            )
            (resident,) = residents_of(session, house)
            day = 20 - (number - 20) * 3  # 20/11 back to 23/10
            month = 11 if day > 0 else 10
            day = day if day > 0 else 31 + day
            visit = record_visit(
                session,
                world,
                household=house,
                member=world.volunteer if number % 3 else world.leader,
                visited_at=f"2026-{month:02d}-{day:02d}T09:00",
                lines=[
                    line(
                        resident,
                        "vneid_level1",
                        "done" if number % 4 else "failed",
                        **({} if number % 4 else {"reason": "no_signal"}),
                    )
                ],
            )
            if number < 26:
                visit.review_state = ReviewState.approved
        record_visit(
            session,
            world,
            household=world.far_household,
            member=world.other_volunteer,
            lines=[line(world.far_resident, "vneid_level1", "done")],
        )
        session.add(
            Target(
                commune_id=world.commune.id,
                village_id=world.village.id,
                indicator="reached",
                period_start=date(2026, 1, 1),
                period_end=date(2030, 12, 31),
                value=12,
            )
        )
        session.commit()
    return world


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_a_leader_reads_the_village_dashboard_and_copies_the_summary(
    page, context, server, busy, shot, size
):
    if size == "desktop":
        page.set_viewport_size(DESKTOP)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
    sign_in(page, server, busy.leader.phone)
    page.goto(f"{server.url}/villages")
    expect(page.get_by_role("heading", name="Thôn Đông", exact=True)).to_be_visible()
    expect(page.locator("[data-kpi=reached]")).to_contain_text("6 / 12 hộ")
    expect(page.get_by_role("img", name="Phễu VNeID: số người theo từng bước")).to_be_visible()
    expect(page.locator("[data-table=people] tfoot")).to_contain_text("Cả thôn")
    # No share sheet in this Chromium: the copy button is the way, and it says so.
    has_share = page.evaluate("typeof navigator.share === 'function'")
    expect(page.locator("[data-share]")).to_be_visible() if has_share else expect(
        page.locator("[data-share]")
    ).to_be_hidden()
    page.get_by_role("button", name="Sao chép").click()
    expect(page.locator("[data-share-status]")).to_have_text("Đã sao chép")
    assert page.evaluate(SIDEWAYS) <= 0
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("Thôn Đông – tuần ")
    assert copied == page.locator("[data-share-text]").input_value()
    shot(page, f"dashboard-village-{size}")

    page.get_by_role("link", name="Phạm Thu Hà").click()
    expect(page.get_by_role("heading", name="Phạm Thu Hà")).to_be_visible()
    if size == "phone":
        shot(page, "dashboard-volunteer-phone")
    page.get_by_role("link", name="Hộ số 20", exact=False).first.click()
    expect(page).to_have_url(f"{server.url}/households/{_id_of(page)}")


def _id_of(page) -> str:
    return page.url.rsplit("/", 1)[-1]


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_commune_staff_sort_the_overview(page, server, busy, shot, size):
    if size == "desktop":
        page.set_viewport_size(DESKTOP)
    sign_in(page, server, busy.staff.phone)
    expect(page).to_have_url(f"{server.url}/villages")
    rows = page.locator("[data-table=villages] tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("[data-table=villages] tfoot")).to_contain_text("Cả xã")
    expect(rows.first).to_have_attribute("data-village", "Thôn Đông")
    assert page.evaluate(SIDEWAYS) <= 0
    shot(page, f"dashboard-commune-{size}")

    page.get_by_role("link", name="Thôn", exact=True).click()  # by name, now Z → A
    expect(rows.first).to_have_attribute("data-village", "Thôn Tây")
    page.get_by_role("link", name="Hộ đã tiếp cận").click()  # most reached first
    expect(page).to_have_url(f"{server.url}/villages/commune?sort=reached&dir=desc")
    expect(rows.first).to_have_attribute("data-village", "Thôn Đông")
    page.get_by_role("link", name="Thôn Đông").click()
    expect(page.get_by_role("heading", name="Thôn Đông", exact=True)).to_be_visible()


def test_the_weekly_report_prints_on_a_clean_page(page, server, busy, shot):
    sign_in(page, server, busy.leader.phone)
    page.goto(f"{server.url}/villages")
    page.get_by_role("link", name="Báo cáo tuần").click()
    expect(page.get_by_role("button", name="In báo cáo")).to_be_visible()
    shot(page, "dashboard-week-phone")
    page.emulate_media(media="print")
    expect(page.locator(".tabbar")).to_be_hidden()
    expect(page.get_by_role("button", name="In báo cáo")).to_be_hidden()
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    shot(page, "dashboard-week-print")
