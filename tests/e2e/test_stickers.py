"""Door stickers and guide cards in Chromium: the printed A4 sheet is read back by a QR
decoder (as a phone camera would), its link opens the household for the volunteer; a guide
card shown at the door; the in-app scan button follows a sticker and only a sticker."""

from __future__ import annotations

import re
import zlib

from playwright.sync_api import expect

from fieldkit.db import new_session
from fieldkit.models import Sticker
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.flows import sign_in
from tests.factories import add_household
from tests.qr import decode_png

A4 = {"width": 794, "height": 1123}  # 210 × 297 mm at 96 px per inch


def test_printed_stickers_read_back_and_open_the_household(browser, server, live_world, shot):
    world, engine = live_world
    with new_session(engine) as session:
        for n in range(20, 44):
            add_household(session, world.village, str(n), f"Hộ Số {n}")
        session.commit()

    leader = browser.new_context(
        viewport={"width": 390, "height": 844}, locale="vi-VN", device_scale_factor=2
    )
    page = leader.new_page()
    sign_in(page, server, world.leader.phone)
    page.goto(f"{server.url}/stickers/villages/{world.village.id}")
    expect(page.get_by_role("heading", name="Mã dán cửa · Thôn Đông")).to_be_visible()
    expect(page.locator(".sticker")).to_have_count(26)
    shot(page, "stickers-phone")

    page.set_viewport_size(A4)
    page.emulate_media(media="print")
    ARTIFACTS.mkdir(exist_ok=True)
    png = page.screenshot(path=str(ARTIFACTS / "stickers-a4-print.png"), full_page=True)
    links = decode_png(png)
    with new_session(engine) as session:
        tokens = {s.token for s in session.exec(Sticker.__table__.select()).all()}
    assert len(links) == 26
    assert {link.rsplit("/s/", 1)[1] for link in links} == tokens
    assert all(link.startswith(f"{server.url}/s/") for link in links)
    # Printed: 26 labels make two A4 sheets of label paper, one per page.
    pdf = page.pdf(path=str(ARTIFACTS / "stickers-a4.pdf"), prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2
    # Full size and edge to edge: the page draws CSS pixels at 1:1 (3.125 × the PDF's base
    # 0.24) from the corner. A margin would shift it, a shrink-to-fit would scale it down —
    # and the labels would miss the decal paper's grid.
    assert page_transform(pdf) == (3.125, 0.0, 0.0)
    leader.close()

    volunteer = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    phone = volunteer.new_page()
    sign_in(phone, server, world.volunteer.phone)
    phone.goto(links[0])  # "12" comes first in door order after nothing below it
    expect(phone.get_by_role("heading", name="Nguyễn Văn An")).to_be_visible()
    volunteer.close()


def page_transform(pdf: bytes) -> tuple[float, float, float]:
    """Scale and offset of the first page's content, from Chromium's PDF content stream."""
    for stream in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", pdf, re.S):
        try:
            text = zlib.decompress(stream.group(1))
        except zlib.error:
            continue
        matrices = re.findall(rb"([-\d.]+) [-\d.]+ [-\d.]+ [-\d.]+ ([-\d.]+) ([-\d.]+) cm", text)
        if len(matrices) > 1:
            return tuple(round(float(value), 3) for value in matrices[1])
    raise AssertionError("no page content found in the PDF")


def test_a_guide_card_at_the_door(page, server, live_world, shot):
    world, _ = live_world
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/guides")
    page.get_by_role("link", name="Cài VNeID và đăng ký tài khoản mức 1").click()
    expect(page.locator(".guide-steps li")).to_have_count(6)
    expect(page.get_by_role("img", name="Mã QR trang https://vneid.gov.vn")).to_be_visible()
    shot(page, "guide-card-phone")


SCANNER = """
window.BarcodeDetector = class {
  constructor(options) { this.formats = options.formats; }
  detect() { return Promise.resolve(window.__codes.shift() || []); }
};
"""


def test_the_scan_button_follows_a_sticker_and_nothing_else(browser, server, live_world):
    """Chromium on Linux has no BarcodeDetector (Android's Chrome has), so a stand-in that
    'sees' given codes is put in its place; the camera is Chromium's fake device."""
    world, engine = live_world
    with new_session(engine) as session:
        from fieldkit import stickers
        from tests.conftest import NOW

        token = stickers.sticker_for(session, world.household, now=NOW).token
        session.commit()

    plain = browser.new_context(viewport={"width": 390, "height": 844})
    page = plain.new_page()
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/households")
    expect(page.get_by_role("button", name="Quét mã")).to_be_hidden()
    plain.close()

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN")
    context.grant_permissions(["camera"], origin=server.url)
    context.add_init_script(
        SCANNER
        + f"""
window.__codes = [[{{rawValue: "https://example.com/s/{token}"}}],
                  [{{rawValue: "{server.url}/s/{token}"}}]];"""
    )
    page = context.new_page()
    sign_in(page, server, world.volunteer.phone)
    page.goto(f"{server.url}/households")
    page.get_by_role("button", name="Quét mã").click()
    expect(page.get_by_role("heading", name="Nguyễn Văn An")).to_be_visible()
    context.close()
