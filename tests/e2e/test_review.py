"""The review loop in Debian's Chromium against the real server process: commune staff send a
visit back with a reason; the volunteer, with no signal (server stopped), reads the reason,
fixes the visit and resubmits it through the outbox; signal returns, it is sent; staff see
what changed and approve it. Screenshots of the inbox (phone and desk) and of the returned
list go to test-artifacts/."""

from __future__ import annotations

from playwright.sync_api import expect
from sqlmodel import select

from fieldkit import policy
from fieldkit.db import new_session
from fieldkit.models import RecordRevision, ReviewDecision, ReviewState, Visit
from fieldkit.reporting import indicators
from tests.e2e.flows import outbox, sign_in, wait_ready_offline
from tests.fieldkit.helpers import line, record_visit

DESK = {"width": 1280, "height": 800}


def _visit_state(engine, visit_id):
    with new_session(engine) as session:
        visit = session.get(Visit, visit_id)
        return visit.review_state, visit.revision, visit.notes


def _approved_level1(engine, world) -> int:
    with new_session(engine) as session:
        rows = indicators.village_indicators(session, scope=policy.scope_for(world.staff))
        return next(r for r in rows if r.village_id == world.village.id).vneid_level1.approved


def test_send_back_fix_offline_resubmit_approve(
    page, browser, browser_context_args, server, live_world, shot
):
    world, engine = live_world
    with new_session(engine) as session:
        visit = record_visit(session, world, lines=[line(world.head)], notes="Đã cài VNeID")
        record_visit(
            session,
            world,
            household=world.far_household,
            member=world.other_volunteer,
            outcome="not_home",
        )
        session.commit()
        visit_id, visit_uuid = visit.id, visit.uuid

    # Commune staff at the desk: the inbox, then "Trả lại" with a one-tap reason and a note.
    desk = browser.new_context(**{**browser_context_args, "viewport": DESK})
    staff = desk.new_page()
    sign_in(staff, server, world.staff.phone)
    staff.goto(f"{server.url}/review")
    rows = staff.locator(".review-item")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Đã cài VNeID")
    shot(staff, "review-inbox-desktop")
    row = staff.locator(f"#r-visit-{visit_id}")
    row.locator("summary", has_text="Trả lại").click()
    row.get_by_text("Thiếu mã hồ sơ", exact=True).click()
    row.get_by_label("Ghi rõ cần sửa gì").fill("Ghi mã hồ sơ của dòng VNeID")
    row.get_by_role("button", name="Trả lại cho người gửi").click()
    expect(staff.get_by_role("status")).to_contain_text("Đã trả lại hồ sơ")
    expect(staff.locator(".review-item")).to_have_count(1)
    assert _visit_state(engine, visit_id)[:2] == (ReviewState.returned, 1)

    # The inbox on a phone, for the staff member out in a village.
    phone_staff = browser.new_context(**browser_context_args)
    small = phone_staff.new_page()
    sign_in(small, server, world.staff.phone)
    small.goto(f"{server.url}/review")
    expect(small.locator(".review-item")).to_have_count(1)
    small.locator(".review-item summary", has_text="Trả lại").click()
    shot(small, "review-inbox-phone")
    phone_staff.close()

    # The volunteer signs in, sees "Bị trả lại (1)", and the phone prepares the day.
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/households")
    expect(page.get_by_role("link", name="Bị trả lại (1)")).to_be_visible()
    wait_ready_offline(page, 2)

    server.stop()  # no signal from here on
    page.goto(f"{server.url}/returned")
    item = page.locator(".returned-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Thiếu mã hồ sơ: Ghi mã hồ sơ của dòng VNeID")
    shot(page, "returned-list-offline")
    item.get_by_role("link", name="Sửa và gửi lại").click()
    form = page.locator("form[data-outbox=revision]")
    expect(form.get_by_label("Ghi chú")).to_have_value("Đã cài VNeID")
    form.locator("details.more-fields summary").first.click()
    form.get_by_label("Mã hồ sơ DVC (nếu có)").fill("H15.34-261120-0001")
    form.get_by_label("Ghi chú").fill("Đã cài VNeID, đã ghi mã hồ sơ")
    shot(page, "returned-edit-offline")
    form.get_by_role("button", name="Gửi lại cho xã").click()
    expect(page.get_by_role("status")).to_contain_text("Đã lưu trên máy")
    expect(page.locator(".returned-item [data-fixed]")).to_be_visible()
    expect(page.locator("[data-pending]")).to_contain_text("Chờ gửi (1)")
    assert _visit_state(engine, visit_id)[:2] == (ReviewState.returned, 1)

    server.start()
    page.get_by_role("button", name="Gửi ngay").click()
    expect(page.locator("[data-pending]")).to_contain_text("Chờ gửi (0)", timeout=15_000)
    assert outbox(page)["ids"] == []
    assert _visit_state(engine, visit_id) == (
        ReviewState.pending,
        2,
        "Đã cài VNeID, đã ghi mã hồ sơ",
    )
    assert _approved_level1(engine, world) == 0

    # Staff see the new revision with what changed, and approve it.
    staff.goto(f"{server.url}/review?kind=visit&volunteer={world.volunteer.id}")
    row = staff.locator(f"#r-visit-{visit_id}")
    expect(row).to_contain_text("Sửa lần 2")
    expect(row.locator(".changed")).to_contain_text("H15.34-261120-0001")
    shot(staff, "review-inbox-resubmitted-desktop")
    row.get_by_role("button", name="Duyệt", exact=True).click()
    expect(staff.get_by_role("status")).to_contain_text("Đã duyệt hồ sơ")
    assert _visit_state(engine, visit_id)[:2] == (ReviewState.approved, 2)
    assert _approved_level1(engine, world) == 1

    staff.goto(f"{server.url}/households/{world.household.id}/reviews")
    history = staff.locator(f"#visit-{visit_id} .review-history > li")
    expect(history).to_have_count(4)
    expect(history.nth(1)).to_contain_text("Thiếu mã hồ sơ")
    expect(history.nth(2)).to_contain_text("H15.34-261120-0001")
    shot(staff, "review-history-desktop")
    desk.close()

    # On the household page the volunteer sees the record's way through review too.
    page.goto(f"{server.url}/households/{world.household.id}")
    section = page.locator(".review-section")
    expect(section).to_contain_text("Đã duyệt")
    expect(section).to_contain_text("lần 2")
    section.scroll_into_view_if_needed()
    shot(page, "household-review-section")
    with new_session(engine) as session:
        assert [
            d.decision for d in session.exec(select(ReviewDecision).order_by(ReviewDecision.id))
        ] == [ReviewState.returned, ReviewState.approved]
        assert len(session.exec(select(RecordRevision)).all()) == 2
    assert visit_uuid


def test_inbox_decides_in_place_without_reloading(page, server, live_world, shot):
    """htmx: a decision replaces only its record's item with what was done and the count
    follows; a refused one (no reason) keeps the item, its typed words and the message."""
    world, engine = live_world
    with new_session(engine) as session:
        first = record_visit(session, world, lines=[line(world.head)], notes="Lần một")
        second = record_visit(
            session, world, household=world.far_household, member=world.other_volunteer
        )
        session.commit()
        first_id, second_id = first.id, second.id
    sign_in(page, server, world.staff.phone)
    page.goto(f"{server.url}/review")
    expect(page.locator("#review-total")).to_have_text("(2)")
    page.evaluate("window.__stillHere = true")  # gone if the page reloads

    item = page.locator(f"#r-visit-{second_id}")
    item.locator("summary", has_text="Từ chối").click()
    item.get_by_role("button", name="Từ chối hồ sơ").click()  # no reason given
    expect(item.locator(".field-error")).to_contain_text("lý do")
    expect(item.locator("details.decide-reject")).to_have_attribute("open", "")
    assert page.evaluate("window.__stillHere") is True

    page.locator(f"#r-visit-{first_id}").get_by_role("button", name="Duyệt", exact=True).click()
    done = page.locator(f"#done-visit-{first_id}")
    expect(done).to_contain_text("Đã duyệt hồ sơ")
    expect(done).to_contain_text(world.household.head_name)
    expect(page.locator("#review-total")).to_have_text("(1)")
    expect(page.locator(".review-item")).to_have_count(1)
    assert page.evaluate("window.__stillHere") is True
    assert _visit_state(engine, first_id)[0] is ReviewState.approved
    assert _visit_state(engine, second_id)[0] is ReviewState.pending
    shot(page, "review-decided-in-place")
