"""Bringing a commune's lists in, in Debian's Chromium against the real server (issue 15):

- on a phone (390×844), a leader uploads a village head's list (one row per person, a title
  above the header, a citizen-ID column), sees the preview, imports it and finds the households
  in the village list;
- at the desk, commune staff upload 10,000 households, watch the import's progress, import a
  corrected file (only the changes), offer a new village, print the team's invites (read back
  by a QR decoder) and merge a duplicate from the review inbox.

Screenshots of every page go to test-artifacts/ (imports-*.png)."""

from __future__ import annotations

import re

from playwright.sync_api import expect
from sqlmodel import func, select

from fieldkit.db import new_session
from fieldkit.models import Household, ImportBatch, ImportStatus, Member
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.flows import open_more, sign_in
from tests.factories import add_household
from tests.import_files import (
    HOUSEHOLD_HEADERS,
    PERSON_HEADERS,
    csv_bytes,
    families,
    household_rows,
    person_rows,
    roster_xlsx,
    xlsx,
)
from tests.qr import decode_png

DESK = {"width": 1280, "height": 900}
A4 = {"width": 794, "height": 1123}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def choose_file(page, selector: str, name: str, data: bytes, mime: str = XLSX) -> None:
    page.set_input_files(selector, files=[{"name": name, "mimeType": mime, "buffer": data}])


def households(engine) -> int:
    with new_session(engine) as session:
        return session.exec(select(func.count()).select_from(Household)).one()


def test_a_leader_brings_a_village_list_in_on_a_phone(page, server, live_world, shot):
    world, engine = live_world
    people = families(12, ["Thôn Đông"], seed=21, first_house=100)
    data = xlsx(PERSON_HEADERS, person_rows(people), merge_key=1)
    sign_in(page, server, world.leader.phone)
    open_more(page, "Đưa dữ liệu vào")
    expect(page.get_by_role("heading", name="Đưa dữ liệu vào")).to_be_visible()
    expect(page.get_by_text("Các hộ được đưa vào Thôn Đông.")).to_be_visible()
    shot(page, "imports-index-phone")

    choose_file(page, "#file-ho", "ds-thon-dong.xlsx", data)
    page.locator("#ho").get_by_role("button", name="Tải lên và xem trước").click()
    expect(page.get_by_role("heading", name="ds-thon-dong.xlsx")).to_be_visible()
    expect(page.get_by_text("Đã bỏ cột “Số CCCD”.")).to_be_visible()
    new = page.locator(".tile.new b")
    expect(new).to_have_text("12")
    assert households(engine) == 3  # the preview wrote nothing
    shot(page, "imports-preview-phone")

    page.get_by_role("button", name=re.compile(r"^Đưa vào: 12 hộ mới")).click()
    expect(page.get_by_role("heading", name="Đã đưa vào")).to_be_visible(timeout=30_000)
    shot(page, "imports-done-phone")
    assert households(engine) == 15

    page.get_by_role("link", name="Xem danh sách hộ").click()
    head = people[0].people[0].name
    expect(page.get_by_text(head)).to_be_visible()
    shot(page, "imports-village-list-phone")


def test_commune_staff_bring_ten_thousand_households_in_at_the_desk(
    browser, browser_context_args, server, live_world, shot
):
    world, engine = live_world
    desk = browser.new_context(**{**browser_context_args, "viewport": DESK})
    page = desk.new_page()
    sign_in(page, server, world.staff.phone)
    page.goto(f"{server.url}/imports")
    shot(page, "imports-index-desktop")

    many = families(10_000, ["Thôn Đông", "Thôn Tây", "Thôn Mới"], seed=31, first_house=1000)
    rows = household_rows(many)
    data = csv_bytes(HOUSEHOLD_HEADERS, rows)
    choose_file(page, "#file-ho", "ho-ca-xa.csv", data, "text/csv")
    page.locator("#ho").get_by_role("button", name="Tải lên và xem trước").click()
    expect(page.get_by_role("heading", name="ho-ca-xa.csv")).to_be_visible(timeout=60_000)
    # A village the commune has not entered yet: offered, created when ticked.
    expect(page.locator(".tile.refused b")).to_have_text("3.333")
    page.get_by_label(re.compile(r"Tạo thôn “Thôn Mới”")).check()
    page.get_by_role("button", name="Cập nhật xem trước").click()
    expect(page.locator(".tile.new b")).to_have_text("10.000", timeout=60_000)
    shot(page, "imports-preview-desktop")

    page.get_by_role("button", name=re.compile(r"^Đưa vào: 10\.000 hộ mới")).click()
    # The progress box, polled while the job works (it may finish before we look).
    progress_or_done = page.locator("#import-progress, .import-result")
    expect(progress_or_done.first).to_be_visible()
    if page.locator("#import-progress").count():
        shot(page, "imports-progress-desktop")
    expect(page.get_by_role("heading", name="Đã đưa vào")).to_be_visible(timeout=120_000)
    shot(page, "imports-done-desktop")
    assert households(engine) == 10_003

    # The same file again: nothing changes. Then a corrected file: only the changes.
    page.goto(f"{server.url}/imports")
    choose_file(page, "#file-ho", "ho-ca-xa.csv", data, "text/csv")
    page.locator("#ho").get_by_role("button", name="Tải lên và xem trước").click()
    expect(page.locator(".tile.same b")).to_have_text("10.000", timeout=60_000)
    expect(page.get_by_text("Tệp không có gì mới để đưa vào")).to_be_visible()
    corrected = [list(row) for row in rows]
    corrected[0][7] = 3  # smartphones
    corrected[1][9] = "Ngõ 9, cạnh trạm y tế"
    page.goto(f"{server.url}/imports")
    choose_file(page, "#file-ho", "ho-ca-xa-sua.csv", csv_bytes(HOUSEHOLD_HEADERS, corrected))
    page.locator("#ho").get_by_role("button", name="Tải lên và xem trước").click()
    expect(page.locator(".tile.updated b")).to_have_text("2", timeout=60_000)
    expect(page.get_by_text("Ngõ 9, cạnh trạm y tế")).to_be_visible()
    shot(page, "imports-corrected-desktop")
    page.get_by_role("button", name=re.compile(r"^Đưa vào: cập nhật 2 hộ")).click()
    expect(page.get_by_role("heading", name="Đã đưa vào")).to_be_visible(timeout=60_000)
    assert households(engine) == 10_003

    page.goto(f"{server.url}/villages/commune")
    expect(page.locator("table").first).to_contain_text("Thôn Mới")
    shot(page, "imports-commune-desktop")
    desk.close()


def test_the_team_is_brought_in_and_its_invites_printed(
    browser, browser_context_args, server, live_world, shot
):
    world, engine = live_world
    desk = browser.new_context(**{**browser_context_args, "viewport": DESK})
    page = desk.new_page()
    sign_in(page, server, world.staff.phone)
    page.goto(f"{server.url}/imports")
    roster = roster_xlsx(
        [
            ["Ngô Thị Mai", "912111222", "Thành viên", "Thôn Đông"],
            ["Vương Văn Đức", "0912111333", "Tổ trưởng", "Thôn Tây"],
            ["Đặng Thu Trang", "0912111444", "Thành viên", "Thôn Tây"],
            ["Phạm Thu Hà", "0912000001", "Thành viên", "Thôn Đông"],
        ]
    )
    choose_file(page, "#file-to", "to-cnscd.xlsx", roster)
    page.locator("#to").get_by_role("button", name="Tải lên và xem trước").click()
    expect(page.locator(".tile.new b")).to_have_text("3")
    shot(page, "imports-team-preview-desktop")
    page.get_by_role("button", name=re.compile("^Đưa vào: 3 người mới")).click()
    page.get_by_role("button", name="In phiếu mời có mã QR (3 người)").click()
    expect(page.locator(".invite-card")).to_have_count(3)
    shot(page, "imports-invites-screen")
    page.set_viewport_size(A4)
    page.emulate_media(media="print")
    ARTIFACTS.mkdir(exist_ok=True)
    png = page.screenshot(path=str(ARTIFACTS / "imports-invites-a4-print.png"), full_page=True)
    links = decode_png(png)
    assert len(links) == 3 and all(link.startswith(f"{server.url}/signin/") for link in links)
    pdf = page.pdf(path=str(ARTIFACTS / "imports-invites-a4.pdf"), prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    desk.close()

    # A new member opens their invite on their phone: it is theirs.
    phone = browser.new_context(**browser_context_args)
    member = phone.new_page()
    member.goto(links[0])
    expect(member.get_by_text("Ngô Thị Mai")).to_be_visible()
    phone.close()
    with new_session(engine) as session:
        assert session.exec(select(func.count()).select_from(Member)).one() == 7


def test_a_duplicate_is_merged_from_the_review_inbox(
    browser, browser_context_args, server, live_world, shot
):
    world, engine = live_world
    with new_session(engine) as session:
        twin = add_household(session, world.village, "Số 12", "Nguyen Van An")
        session.commit()
        twin_id = twin.id
    # The volunteer sees the flag on the household's page, and who to tell.
    phone = browser.new_context(**browser_context_args)
    volunteer = phone.new_page()
    sign_in(volunteer, server, world.volunteer.phone)
    volunteer.goto(f"{server.url}/households/{twin_id}")
    flag = volunteer.locator(".duplicate-flag")
    expect(flag).to_contain_text("Hộ 12 · Nguyễn Văn An")
    expect(flag).to_contain_text("báo công chức xã")
    flag.scroll_into_view_if_needed()
    shot(volunteer, "imports-household-flag-phone")

    desk = browser.new_context(**{**browser_context_args, "viewport": DESK})
    page = desk.new_page()
    sign_in(page, server, world.staff.phone)
    page.goto(f"{server.url}/review")
    section = page.locator("#co-the-trung")
    expect(section).to_contain_text("Nguyen Van An")
    shot(page, "imports-inbox-duplicates-desktop")
    section.get_by_role("link", name="Gộp…").click()
    expect(page.get_by_role("heading", name="Gộp hộ trùng")).to_be_visible()
    shot(page, "imports-merge-desktop")
    page.get_by_role("button", name=re.compile("^Gộp hộ Số 12 vào hộ 12")).click()
    expect(page.get_by_text("Đã gộp từ hộ khác")).to_be_visible()
    shot(page, "imports-merged-household-desktop")
    with new_session(engine) as session:
        assert session.get(Household, twin_id).merged_into_id == world.household.id
    desk.close()

    # The phone still opens the old household's address: it shows the one kept.
    volunteer.goto(f"{server.url}/households/{twin_id}")
    expect(volunteer.get_by_role("heading", name="Nguyễn Văn An")).to_be_visible()
    phone.close()


def test_nothing_half_written_when_a_file_is_refused(page, server, live_world, shot):
    world, engine = live_world
    sign_in(page, server, world.staff.phone)
    page.goto(f"{server.url}/imports")
    legacy = "Số nhà;Chủ hộ\n1;Đỗ Văn Một\n".encode("cp1258", errors="replace")
    choose_file(page, "#file-ho", "ds-cu.csv", legacy, "text/csv")
    page.locator("#ho").get_by_role("button", name="Tải lên và xem trước").click()
    expect(page.get_by_role("alert")).to_contain_text("UTF-8")
    shot(page, "imports-refused-file-phone")
    with new_session(engine) as session:
        assert session.exec(select(ImportBatch)).all() == []
        assert [b.status for b in session.exec(select(ImportBatch))] != [ImportStatus.done]
