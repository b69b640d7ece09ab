"""Steps a volunteer takes, shared by the browser tests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

# The console script installed beside the interpreter running the tests.
FIELDKIT = Path(sys.executable).parent / "fieldkit"


def invite_link(server, phone: str) -> str:
    """The link `fieldkit invite` prints, run for real against the server's database."""
    out = subprocess.run(
        [str(FIELDKIT), "invite", phone, "--no-qr"],
        env=server.env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return re.search(r"https?://\S+/signin/\S+", out).group(0)


def sign_in(page: Page, server, phone: str) -> None:
    page.goto(invite_link(server, phone))
    page.get_by_role("button", name="Đăng nhập").click()
    expect(page.get_by_role("button", name="Đăng xuất")).to_be_visible()


def wait_ready_offline(page: Page, households: int) -> None:
    """Until the phone says its village is kept for offline use."""
    expect(page.locator("[data-ready]")).to_contain_text(
        f"Sẵn sàng ngoại tuyến: {households} hộ", timeout=30_000
    )


def outbox_here(page: Page) -> None:
    """Until the page has its outbox: app.js adds the outbox's scripts after the page's load
    where there is nothing to save (the home list), at once where there is."""
    page.wait_for_function("!!window.FieldkitOutbox", timeout=15_000)


def outbox(page: Page) -> dict:
    """What the phone's outbox holds, read from the page. The app may navigate by itself
    (the saved copy offered fresh, a new service worker taking over, a save's next page):
    a read that the navigation cuts off is read again from the page that follows."""
    for attempt in range(3):
        try:
            page.wait_for_load_state("load")
            outbox_here(page)
            # page.evaluate waits for ever; a read the phone never answers (IndexedDB blocked
            # by another tab, say) fails after 15 s and says so.
            return page.evaluate("""Promise.race([
                FieldkitOutbox.summary().then(s => ({pending: s.pending,
                    attention: s.attention, ids: s.items.map(i => i.id),
                    states: s.items.map(i => i.state)})),
                new Promise((_, no) => setTimeout(
                    () => no(new Error('the outbox did not answer in 15 s')), 15000)),
            ])""")
        except PlaywrightError as error:
            if "Execution context was destroyed" not in str(error) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def log_visit(
    page: Page,
    resident: str,
    service: str,
    *,
    result: str = "Xong",
    notes: str = "",
    when: str | None = None,
) -> None:
    """On a household page: open the visit form, fill one assistance line, save."""
    page.get_by_role("link", name="Ghi lượt thăm").click()
    form = page.locator("form[data-outbox=visit]")
    expect(form).to_be_visible()
    if when:
        form.get_by_label("Thời gian thăm").fill(when)
    line = form.locator("[data-line]").first
    line.get_by_label("Người được hỗ trợ").select_option(label=resident)
    line.get_by_label("Dịch vụ").select_option(service)
    line.get_by_text(result, exact=True).click()
    if notes:
        form.get_by_label("Ghi chú").fill(notes)
    form.get_by_role("button", name="Lưu lượt thăm").click()


def open_more(page: Page, name: str) -> None:
    """A place that is not one of the role's five tabs: "Thêm", then its entry."""
    page.get_by_role("navigation", name="Điều hướng chính").get_by_role("link", name="Thêm").click()
    page.locator(".menu-list").get_by_role("link", name=name).click()
