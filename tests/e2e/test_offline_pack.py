"""A village made ready offline from one compressed answer per chunk (issue 16), in Debian's
Chromium against the real server process, on a demo village of ~200 households (two chunks):
prepared without fetching a page one by one; a connection dropped half-way resumes where it
stopped; a household changed on the server is all that comes down; offline afterwards every
household page opens; the home page stays light and needs no network offline; a phone short
of room says so and keeps its outbox."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlmodel import select

from benchmarks.shaped_link import ShapedLink
from fieldkit import demo, visits
from fieldkit.db import make_engine, new_session
from fieldkit.models import Household, Member, Resident, ReviewState, utcnow
from tests.e2e.conftest import ARTIFACTS, PHONE, Server
from tests.e2e.flows import outbox_here, sign_in

PACK = "/api/v1/offline-pack"
CSRF_VALUE = re.compile(r'(name="csrf[-_]token" (?:content|value)=")[^"]*(")')
# Every text the status bar's "ready" part shows, kept from the first moment of each page.
WATCH_READY = """
window.readyTexts = [];
document.addEventListener("DOMContentLoaded", () => {
  const ready = document.querySelector("[data-ready]");
  if (ready) new MutationObserver(() => window.readyTexts.push(ready.textContent))
    .observe(ready, {childList: true, characterData: true, subtree: true});
});
"""


@dataclass
class DemoVillage:
    url: str
    volunteer_phone: str
    leader_id: int
    households: dict[int, str]  # id → head's name, the pages the volunteer's phone keeps
    unvisited: list[int]  # "Chưa thăm" on the list


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory, sqlite_template) -> Path:
    """The demo commune with 1,400 households, built once: the demo volunteer's village has
    ~200 of them, more than one chunk."""
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    with new_session(engine) as session:
        demo.build(session, commune_code="15349", households=1400, seed=7, now=utcnow())
        session.commit()
    engine.dispose()
    return path


@pytest.fixture
def village(demo_template, tmp_path) -> DemoVillage:
    path = tmp_path / "demo.db"
    shutil.copy(demo_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with new_session(engine) as session:
        volunteer, leader, _ = demo.demo_people(session)
        rows = session.exec(
            select(Household.id, Household.head_name)
            .where(
                Household.village_id == volunteer.village_id,
                Household.review_state != ReviewState.rejected,
            )
            .order_by(Household.id)
        ).all()
        unvisited = session.exec(
            select(Household.id)
            .where(Household.village_id == volunteer.village_id, Household.visit_count == 0)
            .order_by(Household.id)
        ).all()
        found = DemoVillage(url, volunteer.phone, leader.id, dict(rows), list(unvisited))
    engine.dispose()
    assert len(found.households) > 150  # more than one chunk
    return found


@pytest.fixture
def demo_server(village, tmp_path):
    server = Server(village.url, tmp_path)
    server.start()
    yield server
    server.stop()


def screen(page, name: str) -> None:
    """What the phone's screen shows (the list is ~200 rows long: not the whole page)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def ready(page, households: int, seconds: float = 120) -> None:
    expect(page.locator("[data-ready]")).to_contain_text(
        f"Sẵn sàng ngoại tuyến: {households} hộ", timeout=seconds * 1000
    )


def kept_household_pages(page) -> set[str]:
    paths = page.evaluate("""caches.open("fieldkit-pages").then(c => c.keys())
        .then(keys => keys.map(k => new URL(k.url).pathname))""")
    return {path for path in paths if re.fullmatch(r"/households/\d+", path)}


def household_urls(pack: dict) -> list[str]:
    return [p["url"] for p in pack["pages"] if re.fullmatch(r"/households/\d+", p["url"])]


def visit_by_the_leader(
    village: DemoVillage, household_id: int, uuid: str = "00000000-0000-4000-8000-0000000000aa"
) -> None:
    """A visit the village's leader logged on their own phone, stored on the server."""
    engine = make_engine(village.url)
    with new_session(engine) as session:
        resident = session.exec(
            select(Resident.id).where(Resident.household_id == household_id)
        ).first()
        moment = utcnow() - timedelta(minutes=30) + timedelta(hours=7)
        visit_in = visits.VisitIn.parse(
            {
                "uuid": uuid,
                "visited_at": moment.strftime("%Y-%m-%dT%H:%M"),
                "outcome": "met",
                "lines-0-resident_id": str(resident),
                "lines-0-service_code": "vneid_level1",
                "lines-0-result": "done",
            },
            household_id=household_id,
        )
        leader = session.get(Member, village.leader_id)
        visits.log_visit(session, visit_in, volunteer=leader, now=utcnow())
        session.commit()
    engine.dispose()


def test_the_village_is_kept_from_one_answer_per_chunk(page, context, demo_server, village, shot):
    context.add_init_script(WATCH_READY)
    asked = []
    page.on("request", lambda r: asked.append((r.method, r.url.split(demo_server.url)[-1])))
    sign_in(page, demo_server, village.volunteer_phone)
    total = len(village.households)
    ready(page, total)
    screen(page, "offline-pack-ready")

    packs = [url for method, url in asked if method == "POST" and url == PACK]
    assert len(packs) == 2  # two chunks for ~200 households, nothing else
    one_by_one = [url for _, url in asked if re.fullmatch(r"/households/\d+", url)]
    assert one_by_one == []
    assert kept_household_pages(page) == {f"/households/{i}" for i in village.households}
    texts = page.evaluate("window.readyTexts")
    progress = [t for t in texts if "Đang chuẩn bị" in t]
    assert any(re.fullmatch(rf"Đang chuẩn bị ngoại tuyến: \d+/{total} hộ", t) for t in progress)
    # "Sẵn sàng" only once everything is stored: never before the count has ended.
    first_ready = next(n for n, t in enumerate(texts) if t.startswith("Sẵn sàng"))
    assert progress and all("Đang chuẩn bị" not in t for t in texts[first_ready:])


def test_on_a_slow_link_the_volunteer_sees_how_far_it_has_come(browser, demo_server, village):
    """On a slow link (through a shaping proxy) the status bar counts the households kept so
    far, then says "Sẵn sàng" once all are."""
    signing = browser.new_context()
    sign_in(signing.new_page(), demo_server, village.volunteer_phone)
    cookies = signing.cookies()
    signing.close()
    # Much slower than the benchmark's link (60 kbit/s): the count stays long enough to be seen.
    link = ShapedLink(int(demo_server.url.rsplit(":", 1)[1]), down_kbit=60)
    shaped = f"http://localhost:{link.start()}"
    context = browser.new_context(
        viewport=PHONE, locale="vi-VN", timezone_id="Asia/Ho_Chi_Minh", device_scale_factor=2
    )
    try:
        context.add_cookies(cookies)  # cookies are per host, not per port
        page = context.new_page()
        page.goto(f"{shaped}/households")
        total = len(village.households)
        status = page.locator("[data-ready]")
        expect(status).to_have_text(
            re.compile(rf"Đang chuẩn bị ngoại tuyến: [1-9]\d*/{total} hộ"), timeout=60_000
        )
        screen(page, "offline-pack-progress")
        ready(page, total)
    finally:
        context.close()
        link.stop()


def test_a_dropped_connection_resumes_where_it_stopped(page, context, demo_server, village, shot):
    context.add_init_script(WATCH_READY)
    answers: list[dict] = []
    sent: list[dict] = []

    def flaky(route):
        if route.request.method != "POST":
            route.continue_()
            return
        body = route.request.post_data_buffer
        sent.append(json.loads(gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body))
        response = route.fetch()
        body = response.body()
        headers = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
        }
        if len(sent) == 2:
            # The second chunk: the connection drops half-way through the answer.
            route.fulfill(status=200, headers=headers, body=body[: len(body) // 2])
            return
        answers.append(json.loads(body))
        route.fulfill(status=200, headers=headers, body=body)

    context.route(f"**{PACK}", flaky)
    sign_in(page, demo_server, village.volunteer_phone)
    total = len(village.households)
    expect(page.locator("[data-ready]")).to_contain_text("chờ mạng để tiếp tục", timeout=60_000)
    screen(page, "offline-pack-waiting")
    ready(page, total)  # retried on its own a few seconds later
    screen(page, "offline-pack-resumed")

    first, resumed = answers[0], answers[-1]
    assert len(answers) == 2 and len(sent) == 3
    got_first, got_after = household_urls(first), household_urls(resumed)
    # The resumed request said what the first chunk had stored, and got only the rest.
    assert set(got_first) <= set(sent[2]["have"]) and "after" not in sent[2]
    assert set(got_first).isdisjoint(got_after)
    assert sorted(got_first + got_after) == sorted(f"/households/{i}" for i in village.households)
    assert kept_household_pages(page) == {f"/households/{i}" for i in village.households}
    waiting = [t for t in page.evaluate("window.readyTexts") if "chờ mạng để tiếp tục" in t]
    assert waiting == [
        f"Đang chuẩn bị ngoại tuyến: {len(got_first)}/{total} hộ · chờ mạng để tiếp tục"
    ]


def test_a_household_changed_on_the_server_is_all_that_comes_down(
    page, context, demo_server, village, shot
):
    sign_in(page, demo_server, village.volunteer_phone)
    ready(page, len(village.households))
    changed, other = village.unvisited[len(village.unvisited) // 2], village.unvisited[0]
    visit_by_the_leader(village, changed)

    answers = []
    page.on(
        "response",
        lambda r: (
            answers.append(r) if r.url.endswith(PACK) and r.request.method == "POST" else None
        ),
    )
    # What app.js does after each sync.
    assert page.evaluate("FieldkitPrepare.run(true).then(() => true)")
    (answer,) = answers
    pack = answer.json()
    assert household_urls(pack) == [f"/households/{changed}"]
    listed = next(p for p in pack["pages"] if p["url"] == "/households")
    assert set(listed["patch"]["rows"]) == {str(changed)} and "html" not in listed
    # The phone's copy of the list, patched, is the list the server has now.
    kept, served = page.evaluate("""Promise.all([
        caches.match("/households").then(r => r.text()),
        fetch("/households", {headers: {"X-Fieldkit-Prepare": "1"}}).then(r => r.text())])""")
    assert CSRF_VALUE.sub("", kept) == CSRF_VALUE.sub("", served)

    # A copy of the list the phone cannot patch (something else was kept under its address):
    # the list comes whole instead, in a second answer.
    visit_by_the_leader(village, other, "00000000-0000-4000-8000-0000000000ab")
    page.evaluate("""caches.open("fieldkit-pages").then(c => c.put("/households",
        new Response("<p>không phải danh sách</p>", {headers: {"Content-Type": "text/html"}})))
        .then(() => true)""")
    answers.clear()
    assert page.evaluate("FieldkitPrepare.run(true).then(() => true)")
    page.wait_for_timeout(200)  # the page's events reach the test after the call returns
    assert len(answers) == 2
    assert "html" in next(p for p in answers[1].json()["pages"] if p["url"] == "/households")
    kept, served = page.evaluate("""Promise.all([
        caches.match("/households").then(r => r.text()),
        fetch("/households", {headers: {"X-Fieldkit-Prepare": "1"}}).then(r => r.text())])""")
    assert CSRF_VALUE.sub("", kept) == CSRF_VALUE.sub("", served)

    context.set_offline(True)
    page.goto(f"{demo_server.url}/households/{changed}")
    expect(page.get_by_role("heading", name=village.households[changed])).to_be_visible()
    expect(page.locator(".visit").first).to_contain_text("Chờ duyệt")
    shot(page, "offline-pack-changed-household")
    page.goto(f"{demo_server.url}/households")
    row = page.locator(f'.household-row[href="/households/{changed}"]')
    expect(row).to_contain_text("Đã thăm")


def test_offline_every_household_page_opens(page, context, demo_server, village):
    sign_in(page, demo_server, village.volunteer_phone)
    ready(page, len(village.households))
    demo_server.stop()  # no server at all, not just no signal
    for household_id, head in village.households.items():
        page.goto(f"{demo_server.url}/households/{household_id}", wait_until="domcontentloaded")
        assert f"· {head} · Fieldkit" in page.title(), household_id


def test_the_home_is_light_and_opens_offline_with_no_request(browser, demo_server, village):
    signing = browser.new_context()
    sign_in(signing.new_page(), demo_server, village.volunteer_phone)
    cookies = signing.cookies()
    signing.close()
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.add_cookies(cookies)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    loaded: dict[str, int] = {}
    from_worker: set[str] = set()
    reached: list[str] = []
    cdp.on(
        "Network.loadingFinished", lambda e: loaded.update({e["requestId"]: e["encodedDataLength"]})
    )
    cdp.on(
        "Network.responseReceived",
        lambda e: (
            from_worker.add(e["requestId"]) if e["response"].get("fromServiceWorker") else None
        ),
    )
    cdp.on("Network.requestWillBeSent", lambda e: reached.append(e["requestId"]))
    urls: list[str] = []
    cdp.on("Network.requestWillBeSent", lambda e: urls.append(e["request"]["url"]))
    settled: set[str] = set()  # answered (by the worker or the network) or failed
    cdp.on("Network.loadingFinished", lambda e: settled.add(e["requestId"]))
    cdp.on("Network.loadingFailed", lambda e: settled.add(e["requestId"]))
    page.goto(f"{demo_server.url}/households")
    page.wait_for_load_state("load")
    assert sum(loaded.values()) <= 50 * 1024  # the first load, empty cache
    # The list needs no outbox to show: its scripts come after the load, and then the status
    # bar tells the truth as on every page.
    assert [u for u in urls if "outbox" in u or "scan" in u] == []
    ready(page, len(village.households))
    expect(page.locator("[data-pending]")).to_have_text("Chờ gửi (0)")

    context.set_offline(True)
    reached.clear()
    from_worker.clear()
    page.reload()
    page.wait_for_load_state("load")
    expect(page.locator(".household-row")).to_have_count(len(village.households))
    # A request the page made late (an icon, a script) may be answered after the rows show:
    # wait until each has its answer or its failure, then ask who answered it. (Checked at
    # once, one late answer from the worker was once counted as a network request.)
    deadline = time.monotonic() + 10
    while not set(reached) <= settled and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert [r for r in reached if r not in from_worker] == []
    context.close()


def test_a_phone_short_of_room_says_so_and_keeps_its_outbox(
    page, context, demo_server, village, shot
):
    # A phone with 8 MB left. Chromium's own quota override (CDP
    # Storage.overrideQuotaForOrigin) leaves navigator.storage.estimate() unchanged in this
    # build, so the page is told so by wrapping the real estimate; all the rest is real.
    context.add_init_script("""
        const estimate = navigator.storage.estimate.bind(navigator.storage);
        navigator.storage.estimate = () => estimate().then(found =>
            ({...found, quota: found.usage + 8 * 1024 * 1024}));
    """)
    sign_in(page, demo_server, village.volunteer_phone)
    outbox_here(page)
    page.evaluate("""FieldkitOutbox.enqueue({id: "00000000-0000-4000-8000-0000000000bb",
        kind: "visit", payload: {uuid: "00000000-0000-4000-8000-0000000000bb"}, label: "x"})
        .then(() => true)""")
    banner = page.locator("[data-storage-short]")
    expect(banner).to_contain_text("Máy còn ít chỗ trống", timeout=60_000)
    expect(banner).to_contain_text("Những gì chờ gửi vẫn được giữ nguyên")
    expect(banner).to_contain_text(f"{len(village.households)} hộ")
    screen(page, "offline-pack-short-of-room")
    assert kept_household_pages(page) == set()
    assert "Sẵn sàng" not in page.locator("[data-ready]").text_content()
    ids = page.evaluate("FieldkitOutbox.summary().then(s => s.items.map(i => i.id))")
    assert "00000000-0000-4000-8000-0000000000bb" in ids
    # The next page says so again without asking the server for anything.
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.method == "POST" else None)
    page.reload()
    expect(banner).to_contain_text("Máy còn ít chỗ trống")
    page.wait_for_timeout(1500)
    assert [url for url in asked if url.endswith(PACK)] == []


def test_the_list_finds_a_household_by_a_resident_it_does_not_show(page, server, live_world):
    """A row carries only the residents' names it does not show; the phone folds the rest."""
    world, _ = live_world
    sign_in(page, server, world.volunteer.phone)
    page.get_by_role("searchbox").fill("hoang thi lan")
    rows = page.locator(".household-row:visible")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Nguyễn Văn An")
    page.get_by_role("searchbox").fill("so 14 binh")  # no row has both words
    expect(rows).to_have_count(0)
    page.get_by_role("searchbox").fill("tran thi binh")
    expect(rows).to_have_count(1)
