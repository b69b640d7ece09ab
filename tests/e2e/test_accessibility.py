"""Accessibility, as axe-core sees it, over the main pages of each role at phone size: no
serious or critical violation (a missing label, text too faint to read in the sun, an ARIA
attribute a screen reader would misread). Lesser findings are printed, not failed."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.e2e.flows import sign_in

BLOCKING = {"serious", "critical"}


def _violations(page) -> list[dict]:
    results = Axe().run(page, options={"resultTypes": ["violations"]})
    return results.response["violations"]


def _blocking(page) -> list[str]:
    found = _violations(page)
    for violation in found:
        if violation["impact"] not in BLOCKING:
            print(f"{page.url}: {violation['id']} ({violation['impact']})")
    return [
        f"{violation['id']} ({violation['impact']}): "
        + "; ".join(node["target"][0] for node in violation["nodes"][:3])
        for violation in found
        if violation["impact"] in BLOCKING
    ]


def _pages(world) -> dict[str, tuple]:
    household, village = world.household.id, world.village.id
    return {
        "volunteer": (
            world.volunteer,
            [
                "/households",
                f"/households/{household}",
                f"/households/{household}/visits/new",
                "/follow-ups",
                "/guides",
                "/outbox",
                "/account",
            ],
        ),
        "leader": (
            world.leader,
            [f"/villages/{village}", "/assignments", "/members", "/targets"],
        ),
        "staff": (
            world.staff,
            [
                "/villages",
                "/villages/commune",
                "/review",
                "/members",
                "/audit",
                f"/households/{household}/reviews",
            ],
        ),
    }


@pytest.mark.parametrize("role", ["volunteer", "leader", "staff"])
def test_main_pages_of_each_role_have_no_serious_accessibility_violation(
    page, server, live_world, role
):
    world, _ = live_world
    person, paths = _pages(world)[role]
    sign_in(page, server, person.phone)
    problems = {}
    for path in paths:
        page.goto(server.url + path)
        page.wait_for_load_state("networkidle")
        found = _blocking(page)
        if found:
            problems[path] = found
    assert problems == {}


def test_the_check_finds_a_serious_violation(page, server, live_world):
    """So the test above can fail: an image without a text alternative and an unlabelled
    field are caught."""
    world, _ = live_world
    sign_in(page, server, world.volunteer.phone)
    page.goto(server.url + "/households")
    page.evaluate(
        """document.querySelector('main').insertAdjacentHTML('beforeend',
        '<input type="text"><img src="/static/icons/icon.svg">'); true"""
    )
    assert any(problem.startswith(("label", "image-alt")) for problem in _blocking(page))
