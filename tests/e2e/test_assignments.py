"""A leader gives ten households to a volunteer in one go; the volunteer's list shows them as
theirs ("Của tôi"), first."""

from __future__ import annotations

from playwright.sync_api import expect

from fieldkit.db import new_session
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.flows import open_more, sign_in
from tests.factories import add_household

HEADS = [f"Hộ Số {n}" for n in range(20, 30)]


def phone_shot(page, name: str) -> None:
    """What the phone's screen shows (390×844), not the whole page."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_leader_assigns_ten_households_and_the_volunteers_list_follows(
    page, server, live_world, shot
):
    world, engine = live_world
    with new_session(engine) as session:
        for n, head in zip(range(20, 30), HEADS, strict=True):
            add_household(session, world.village, str(n), head)
        session.commit()

    sign_in(page, server, world.leader.phone)
    page.get_by_role("link", name="Phân công").click()
    expect(page.get_by_role("heading", name="Phân công hộ")).to_be_visible()
    expect(page.locator(".pick")).to_have_count(11)  # the unassigned: "14" and the ten
    page.get_by_label("Phân công cho").select_option(label="Phạm Thu Hà (1 hộ)")
    for head in HEADS:
        page.locator(".pick", has_text=head).get_by_role("checkbox").check()
    shot(page, "assignments-leader")
    phone_shot(page, "assignments-phone-ticked")  # scrolled to the last one ticked
    page.evaluate("window.scrollTo(0, 0)")
    phone_shot(page, "assignments-phone")
    page.get_by_role("button", name="Phân công", exact=True).click()

    expect(page.get_by_role("status")).to_have_text("Đã phân công 10 hộ cho Phạm Thu Hà.")
    expect(page.locator(".pick")).to_have_count(1)
    expect(page.locator(".load-list li", has_text="Phạm Thu Hà")).to_contain_text("11 hộ")
    shot(page, "assignments-after")
    page.get_by_role("button", name="Đăng xuất").click()

    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/households")
    rows = page.locator(".household-row")
    expect(rows).to_have_count(12)  # Thôn Đông: "12", "14" and the ten
    mine = page.locator(".household-row", has=page.locator(".tag.mine"))
    expect(mine).to_have_count(11)  # the ten and "12", theirs from the start
    for head in HEADS:
        expect(page.locator(".household-row", has_text=head).locator(".tag.mine")).to_have_text(
            "Của tôi"
        )
    # Theirs first: the one household not theirs comes last.
    expect(rows.last).to_contain_text("Trần Thị Bình")


def test_commune_staff_pick_a_village_then_assign_by_range(page, server, live_world):
    world, engine = live_world
    with new_session(engine) as session:
        for n in (5, 6, 7):
            add_household(session, world.other_village, f"{n}A", f"Hộ Tây {n}")
        session.commit()
    sign_in(page, server, world.staff.phone)
    open_more(page, "Phân công hộ")
    page.get_by_label("Thôn").select_option(label="Thôn Tây")
    page.get_by_role("button", name="Xem thôn").click()
    page.get_by_label("Phân công cho").select_option(label="Đỗ Minh Tuấn (1 hộ)")
    page.get_by_label("Theo khoảng số nhà").fill("5-6")
    phone_shot(page, "assignments-phone-staff")
    page.get_by_role("button", name="Phân công", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Đã phân công 2 hộ cho Đỗ Minh Tuấn.")
    expect(page.locator(".load-list li", has_text="Đỗ Minh Tuấn")).to_contain_text("3 hộ")
