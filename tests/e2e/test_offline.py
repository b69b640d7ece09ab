"""The offline contract (DESIGN.md §4) in Debian's Chromium, with the real server process
stopped and started: a day's work with no signal, and an outbox that never loses or doubles."""

from __future__ import annotations

import time

from playwright.sync_api import expect
from sqlmodel import func, select

from fieldkit.db import new_session
from fieldkit.models import Visit
from tests.e2e.flows import (
    invite_link,
    log_visit,
    outbox,
    outbox_here,
    sign_in,
    wait_ready_offline,
)

AN = "Nguyễn Văn An (1968)"
LAN = "Hoàng Thị Lan (1972)"
BINH = "Trần Thị Bình (1955)"


def eventually(condition, seconds: float = 15) -> None:
    """Wait for something the browser does in the background, such as a send."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "not within the time allowed"
        time.sleep(0.1)


def visits_stored(engine) -> int:
    with new_session(engine) as session:
        return session.exec(select(func.count()).select_from(Visit)).one()


def test_a_day_without_signal_loses_and_doubles_nothing(page, context, server, live_world, shot):
    world, engine = live_world
    sign_in(page, server, world.volunteer.phone)
    wait_ready_offline(page, 2)

    server.stop()
    page.reload()  # answered by the service worker
    expect(page.get_by_text("Trần Thị Bình")).to_be_visible()
    # A household never opened before: prepared in the morning, opened with no server.
    page.get_by_text("Trần Thị Bình").click()
    expect(page.get_by_role("heading", name="Trần Thị Bình")).to_be_visible()
    log_visit(page, BINH, "vneid_level1")
    expect(page.get_by_role("status")).to_contain_text("Đã lưu trên máy")
    expect(page.locator(".visit.unsent")).to_have_count(1)
    shot(page, "offline-household-unsent")

    page.goto(f"{server.url}/households/{world.household.id}")
    log_visit(page, AN, "vneid_activate")
    expect(page.locator(".visit.unsent")).to_have_count(1)
    log_visit(page, LAN, "health_book", result="Được một phần")
    expect(page.locator(".visit.unsent")).to_have_count(2)
    expect(page.locator("[data-pending]")).to_contain_text("Chờ gửi (3)")

    page.close()  # the phone's screen goes off; the browser keeps IndexedDB
    page = context.new_page()
    page.goto(f"{server.url}/households")
    expect(page.locator("[data-pending]")).to_contain_text("Chờ gửi (3)")
    assert visits_stored(engine) == 0

    server.start()
    page.reload()  # opening the app sends at once
    expect(page.locator("[data-pending]")).to_contain_text("Chờ gửi (0)", timeout=15_000)
    left = outbox(page)
    assert left["ids"] == [], (left, server.log.read_text(errors="replace")[-3000:])
    assert visits_stored(engine) == 3


def _signed_in_holding(browser, server, world, scripts: str):
    """A phone without service worker (it would answer the scripts from its copy), the
    volunteer signed in, and the requests for `scripts` held: (page, held routes)."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, service_workers="block")
    page = context.new_page()
    sign_in(page, server, world.volunteer.phone)
    held: list = []
    page.route(scripts, lambda route: held.append(route))
    return page, held


def test_a_save_tapped_before_the_outbox_script_came_is_kept_once(browser, server, live_world):
    """On a weak link the outbox's scripts may still be on their way when the volunteer taps
    "Lưu" (twice, tired): the save waits for them and goes through the outbox, once — no
    plain form post, no second visit."""
    world, engine = live_world
    page, held = _signed_in_holding(browser, server, world, "**/offline/outbox.js*")
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(f"{server.url}/households/{world.household.id}", wait_until="domcontentloaded")
    page.get_by_role("link", name="Ghi lượt thăm").click()
    form = page.locator("form[data-outbox=visit]")
    line = form.locator("[data-line]").first
    line.get_by_label("Người được hỗ trợ").select_option(label=AN)
    line.get_by_label("Dịch vụ").select_option("vneid_level1")
    line.get_by_text("Xong", exact=True).click()
    form.get_by_role("button", name="Lưu lượt thăm").dblclick()
    page.wait_for_timeout(500)
    assert len(held) == 1 and posts == [] and visits_stored(engine) == 0  # still waiting
    held[0].continue_()
    expect(page.get_by_role("status")).to_contain_text("Đã gửi lên xã")
    assert visits_stored(engine) == 1
    assert [p for p in posts if not p.endswith("/api/v1/sync")] == []
    page.context.close()


def test_the_list_does_not_jump_when_the_status_bar_is_drawn(browser, server, live_world):
    # The outbox's scripts come after the home list's load; the status bar's line is kept
    # blank until they have drawn it, so the list a volunteer is reaching for stays put.
    world, _ = live_world
    page, held = _signed_in_holding(browser, server, world, "**/offline/outbox*.js*")
    page.goto(f"{server.url}/households")
    heading = page.get_by_role("heading", name="Hộ dân")
    before = heading.bounding_box()
    assert held and page.locator("[data-statusbar][data-undrawn]").count() == 1
    for route in held:
        route.continue_()
    expect(page.locator("[data-pending]")).to_have_text("Chờ gửi (0)")
    assert heading.bounding_box() == before
    page.context.close()


def test_the_same_visit_sent_twice_is_stored_once(page, context, server, live_world):
    world, engine = live_world
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/households/{world.household.id}")
    page.get_by_role("link", name="Ghi lượt thăm").click()
    form = page.locator("form[data-outbox=visit]")
    line = form.locator("[data-line]").first
    line.get_by_label("Người được hỗ trợ").select_option(label=AN)
    line.get_by_label("Dịch vụ").select_option("vneid_level1")
    # The same item in two tabs, both sending at once, and a double tap.
    item = page.evaluate("""() => {
        const form = document.querySelector('form[data-outbox=visit]');
        const payload = {};
        new FormData(form).forEach((v, k) => { if (k !== 'csrf_token') payload[k] = v; });
        return {id: payload.uuid, kind: 'visit', payload, householdId: form.dataset.householdId};
    }""")
    other = context.new_page()
    other.goto(f"{server.url}/households")
    outbox_here(other)
    script = "item => FieldkitOutbox.enqueue(item).then(() => FieldkitOutbox.flush({force: true}))"
    first = page.evaluate_handle(f"item => ({script})(item)", item)
    other.evaluate(script, item)
    first.json_value()
    form.get_by_role("button", name="Lưu lượt thăm").dblclick()
    expect(page.get_by_role("status")).to_contain_text("Đã gửi lên xã")
    assert visits_stored(engine) == 1
    assert outbox(page)["ids"] == []


def test_a_failing_server_delays_but_loses_nothing(page, context, server, live_world):
    world, engine = live_world
    sign_in(page, server, world.volunteer.phone)
    failures = []

    def broken(route):
        failures.append(route.request.url)
        route.fulfill(status=500, content_type="application/json", body='{"error": "boom"}')

    context.route("**/api/v1/sync", broken)
    page.goto(f"{server.url}/households/{world.household.id}")
    log_visit(page, AN, "vneid_level1")
    expect(page.get_by_role("status")).to_contain_text("Đã lưu trên máy")
    page.get_by_role("button", name="Gửi ngay").click()
    expect(page.locator("[data-pending]")).to_contain_text("Chờ gửi (1)")
    # "Chờ gửi (1)" was already shown before the tap: wait for the tap's own attempt.
    eventually(lambda: len(failures) >= 2)
    assert visits_stored(engine) == 0

    context.unroute("**/api/v1/sync")
    page.get_by_role("button", name="Gửi ngay").click()
    expect(page.locator("[data-pending]")).to_contain_text("Chờ gửi (0)")
    assert visits_stored(engine) == 1


def test_a_refused_item_waits_in_needs_fixing_until_fixed(page, server, live_world, shot):
    world, engine = live_world
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/households/{world.household.id}")
    # Refused by the server (a date in the future), while the phone was offline.
    server.stop()
    log_visit(page, AN, "vneid_level1", when="2099-01-01T09:00", notes="Ông An, đợt 2")
    expect(page.get_by_role("status")).to_contain_text("Đã lưu trên máy")
    server.start()
    page.get_by_role("button", name="Gửi ngay").click()
    attention = page.locator("[data-attention]")
    expect(attention).to_contain_text("Cần xử lý (1)")
    attention.click()
    expect(page.locator(".outbox-item.attention")).to_contain_text(
        "Thời gian thăm không thể ở tương lai."
    )
    shot(page, "outbox-needs-fixing")
    page.get_by_role("link", name="Sửa").click()
    form = page.locator("form[data-outbox=visit]")
    expect(form.locator(".field-error")).to_contain_text("không thể ở tương lai")
    expect(form.get_by_label("Ghi chú")).to_have_value("Ông An, đợt 2")
    form.get_by_label("Thời gian thăm").fill("2026-11-20T09:00")
    form.get_by_role("button", name="Lưu lượt thăm").click()
    expect(page.get_by_role("status")).to_contain_text("Đã gửi lên xã")
    assert visits_stored(engine) == 1
    assert outbox(page)["ids"] == []


def test_an_expired_session_keeps_the_outbox_until_sign_in(page, context, server, live_world):
    world, engine = live_world
    sign_in(page, server, world.volunteer.phone)
    wait_ready_offline(page, 2)
    server.stop()  # in the field, no signal…
    context.clear_cookies()  # …and meanwhile the session ran out
    page.goto(f"{server.url}/households/{world.household.id}")
    log_visit(page, AN, "vneid_level1")
    expect(page.get_by_role("status")).to_contain_text("Đã lưu trên máy")
    server.start()
    page.get_by_role("button", name="Gửi ngay").click()
    expect(page.locator("[data-auth-needed]")).to_be_visible()
    expect(page.locator("[data-pending]")).to_contain_text("Chờ gửi (1)")
    assert visits_stored(engine) == 0

    page.goto(invite_link(server, world.volunteer.phone))
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.locator("[data-pending]")).to_contain_text("Chờ gửi (0)", timeout=15_000)
    expect(page.locator("[data-auth-needed]")).to_be_hidden()
    assert visits_stored(engine) == 1


def test_a_new_deploy_offers_an_update_and_activates_it(page, server, live_world):
    world, _ = live_world
    sign_in(page, server, world.volunteer.phone)
    wait_ready_offline(page, 2)
    page.reload()  # the first page may have loaded before the worker took over
    page.wait_for_function("navigator.serviceWorker.controller !== null")
    before = page.evaluate("caches.keys()")

    server.stop()
    server.env["FIELDKIT_BUILD"] = "deploy-2"
    server.start()
    page.reload()
    banner = page.locator("[data-update]")
    expect(banner).to_contain_text("Có phiên bản mới")
    banner.get_by_role("button", name="Tải lại").click()
    page.wait_for_function("""caches.keys().then(keys => keys.filter(k =>
        k.startsWith('fieldkit-shell-')).length === 1)""")
    after = page.evaluate("caches.keys()")
    assert [k for k in after if k.startswith("fieldkit-shell-")] != [
        k for k in before if k.startswith("fieldkit-shell-")
    ]
    expect(banner).to_be_hidden()


def test_the_outbox_moves_to_another_phone_as_a_file(page, browser, server, live_world, tmp_path):
    world, engine = live_world
    sign_in(page, server, world.volunteer.phone)
    wait_ready_offline(page, 2)
    server.stop()
    page.goto(f"{server.url}/households/{world.household.id}")
    log_visit(page, AN, "vneid_level1", notes="Ghi trên máy cũ")
    expect(page.get_by_role("status")).to_contain_text("Đã lưu trên máy")
    page.goto(f"{server.url}/outbox")
    expect(page.locator("[data-list-pending] li")).to_have_count(1)
    with page.expect_download() as download:
        page.get_by_role("button", name="Lưu ra tệp").click()
    saved = tmp_path / "outbox.json"
    download.value.save_as(saved)

    server.start()
    other_phone = browser.new_context(viewport={"width": 390, "height": 844})
    fresh = other_phone.new_page()
    sign_in(fresh, server, world.volunteer.phone)
    fresh.goto(f"{server.url}/outbox")
    fresh.locator("[data-import]").set_input_files(str(saved))
    expect(fresh.locator("[data-import-result]")).to_contain_text("Đã nhập 1 mục")
    eventually(lambda: visits_stored(engine) == 1)
    expect(fresh.locator("[data-pending]")).to_contain_text("Chờ gửi (0)")
    assert visits_stored(engine) == 1
    other_phone.close()
