"""A volunteer switches the phone to English on "Tài khoản" and back (issue 12): the household
list, the household page, the visit form and the status bar (the scripts' words) follow, and the
phone's offline copies are prepared again in the new language."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.flows import sign_in


def test_a_volunteer_works_in_english_and_switches_back(page, server, live_world, shot):
    world, _ = live_world
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/account")
    switch = page.get_by_role("form", name="Ngôn ngữ · Language")
    expect(switch.get_by_role("button", name="Tiếng Việt")).to_have_attribute(
        "aria-pressed", "true"
    )
    shot(page, "account-language-vi")

    switch.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", name="Account", exact=True)).to_be_visible()
    expect(page.get_by_role("status").first).to_contain_text("Language changed.")
    expect(page.get_by_role("button", name="English")).to_have_attribute("aria-pressed", "true")
    shot(page, "account-language-en")

    page.get_by_role("navigation", name="Main navigation").get_by_role(
        "link", name="Households"
    ).click()
    expect(page.get_by_label("Find a household")).to_be_visible()
    # The service worker that came with the new language was taken without a question.
    expect(page.locator("[data-update]")).to_be_hidden()
    # Longer English words still fit a 390-pixel phone: nothing scrolls sideways.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "households-en")

    page.goto(f"{server.url}/households/{world.household.id}")
    expect(page.get_by_role("heading", name="Visit history")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "household-en")

    # The status bar is the outbox's (outbox-rules.js, app.js): a field screen, in English too.
    net = page.locator("[data-statusbar] [data-net]")
    expect(net).to_have_text("Online")
    page.context.set_offline(True)
    expect(net).to_have_text("Offline — will send when online")
    expect(page.locator("[data-statusbar] [data-pending]")).to_contain_text("To send (0)")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot(page, "household-en-offline")
    page.context.set_offline(False)
    expect(net).to_have_text("Online")

    page.goto(f"{server.url}/households/{world.household.id}/visits/new")
    expect(page.get_by_label("Time of visit")).to_be_visible()
    expect(page.get_by_role("button", name="Save visit")).to_be_visible()
    shot(page, "visit-form-en")

    page.goto(f"{server.url}/account")
    page.get_by_role("button", name="Tiếng Việt").click()
    expect(page.get_by_role("heading", name="Tài khoản", exact=True)).to_be_visible()
    page.goto(f"{server.url}/households/{world.household.id}/visits/new")
    expect(page.get_by_role("button", name="Lưu lượt thăm")).to_be_visible()
