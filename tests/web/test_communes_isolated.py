"""Many communes on one server (issue 14): nothing of one commune shows in another —
households, members, audit log, exports, push, stickers, guide cards, targets, offline pack.
Commune A is the test world's Xã Vĩnh Lộc (Thôn Đông, Thôn Tây); commune B is Phường Hàm
Rồng of the same province (Thôn Bắc); each is looked at by the other's people."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from fieldkit import guides, push, stickers
from fieldkit.models import Household, PushMessage
from fieldkit.reporting import targets
from tests.conftest import NOW
from tests.factories import build_province
from tests.fieldkit.helpers import line, record_visit
from tests.web.conftest import Browser


@pytest.fixture
def app(app_on_each_engine):
    """Every check here holds on SQLite and on PostgreSQL."""
    return app_on_each_engine


A_NAMES = ["Nguyễn Văn An", "Hoàng Thị Lan", "Trần Thị Bình", "Phạm Thu Hà", "Lê Văn Chung"]
A_VILLAGES = ["Thôn Đông", "Thôn Tây"]
B_NAMES = ["Phạm Văn Bắc", "Ngô Văn Toàn", "Vũ Thị Hằng"]


@pytest.fixture
def two(db, world):
    """Both communes with something of each kind in A, and a little in B."""
    province = build_province(db, world)
    record_visit(db, world, lines=[line(world.head)], follow_up_on="2026-11-20")
    record_visit(
        db,
        world,
        household=province.neighbour_household,
        member=province.neighbour_volunteer,
        lines=[line(province.neighbour_resident)],
    )
    targets.set_target(
        db,
        member=world.staff,
        village_id=world.village.id,
        indicator="reached",
        period_start="2026-01-01",
        period_end="2026-12-31",
        value=777,
        now=NOW,
    )
    guides.save(
        db,
        member=world.staff,
        service_code="vneid_level1",
        title="Cài VNeID theo cách của Xã Vĩnh Lộc",
        steps="Bước riêng của xã A",
        official_url="",
        now=NOW,
    )
    stickers.sticker_for(db, world.household, now=NOW)
    db.commit()
    return province


def _as(app, db, member) -> Browser:
    browser = Browser(app.test_client(), db)
    browser.sign_in(member)
    return browser


def _text(browser, url) -> str:
    response = browser.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.get_data(as_text=True)


def _none_of(text: str, words) -> list[str]:
    return [word for word in words if word in text]


def test_commune_b_staff_see_nothing_of_commune_a(app, db, world, two):
    b = _as(app, db, two.neighbour_staff)
    for url in ["/households", "/members", "/audit", "/targets", "/villages/commune", "/review"]:
        page = _text(b, url)
        assert _none_of(page, A_NAMES + A_VILLAGES) == [], url
    assert "Phạm Văn Bắc" in _text(b, "/households")
    assert "777" not in _text(b, "/targets")
    for url in ["/exports/indicators.csv", "/exports/visits.csv"]:
        csv_text = b.client.get(url).data.decode("utf-8-sig")
        assert _none_of(csv_text, A_NAMES + A_VILLAGES) == [], url
        assert "Thôn Bắc" in csv_text


def test_commune_a_staff_see_nothing_of_commune_b(app, db, world, two):
    a = _as(app, db, world.staff)
    for url in ["/households", "/members", "/audit", "/targets", "/villages/commune", "/review"]:
        assert _none_of(_text(a, url), B_NAMES + ["Thôn Bắc"]) == [], url
    csv_text = a.client.get("/exports/visits.csv").data.decode("utf-8-sig")
    assert _none_of(csv_text, B_NAMES + ["Thôn Bắc"]) == []


def test_audit_events_stay_in_their_commune(app, db, world, two):
    a = _as(app, db, world.staff)
    a.client.get("/exports/visits.csv")  # an export by A's staff, in A's log
    b = _as(app, db, two.neighbour_staff)
    log = _text(b, "/audit")
    assert world.staff.name not in log
    assert two.neighbour_staff.name in log  # B's own sign-in


def test_guide_cards_are_each_communes_own(app, db, world, two):
    b = _as(app, db, two.neighbour_volunteer)
    card = _text(b, "/guides/vneid_level1")
    assert "Xã Vĩnh Lộc" not in card and "Bước riêng của xã A" not in card
    a = _as(app, db, world.volunteer)
    assert "Bước riêng của xã A" in _text(a, "/guides/vneid_level1")


def test_stickers_open_only_in_their_commune(app, db, world, two):
    b = _as(app, db, two.neighbour_staff)
    # Another commune's village answers as one that does not exist (policy.require_village).
    assert b.get(f"/stickers/villages/{world.village.id}").status_code == 404
    token = stickers.sticker_for(db, world.household, now=NOW).token
    db.commit()
    assert b.get(f"/s/{token}").status_code in (403, 404)
    assert _as(app, db, world.staff).get(f"/s/{token}").status_code in (200, 302, 303)


def test_the_offline_pack_carries_only_the_members_village(app, db, world, two):
    b = _as(app, db, two.neighbour_volunteer)
    pack = b.get("/api/v1/offline-pack").get_json()
    urls = [page["url"] for page in pack["pages"]]
    a_households = db.exec(
        select(Household.id).where(
            Household.village_id.in_([world.village.id, world.other_village.id])
        )
    ).all()
    assert not [u for u in urls if any(u.endswith(f"/households/{i}") for i in a_households)]
    assert f"/households/{two.neighbour_household.id}" in urls


def test_push_reminders_go_to_each_communes_own_volunteers(db, world, two):
    # A follow-up due today in both communes: each volunteer is reminded of their own.
    household = db.get(Household, two.neighbour_household.id)
    household.follow_up_on = world.household.follow_up_on
    db.add(household)
    db.commit()
    queued = push.queue_follow_ups(db, now=NOW + timedelta(hours=1))
    db.commit()
    messages = db.exec(select(PushMessage)).all()
    assert queued == len(messages) == 2
    by_member = {message.member_id: message.title for message in messages}
    assert set(by_member) == {world.volunteer.id, two.neighbour_volunteer.id}
    # One household each: neither volunteer is told of the other commune's.
    assert all("có 1 hộ" in title for title in by_member.values()), by_member
