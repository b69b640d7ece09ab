"""The language switch on "Tài khoản" (issue 12): Vietnamese by default whatever the browser
asks, English when this device chooses it — pages, flashes, the domain's refusals, JSON errors,
the scripts' words and the offline pack follow — and files stay Vietnamese."""

from __future__ import annotations

import html
import json
import re
import uuid

from sqlmodel import select

from fieldkit.models import AuditEvent


def _switch(web, language: str):
    response = web.post("/account/language", {"language": language})
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account")
    return response


def test_vietnamese_is_the_default_even_when_the_browser_asks_for_english(web, world):
    web.sign_in(world.volunteer)
    page = web.get("/households", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    assert '<html lang="vi">' in page
    assert "Hộ dân" in page and "Households" not in page
    assert "fieldkit-words" not in page  # a Vietnamese page carries no words for scripts


def test_switching_to_english_and_back(web, world):
    web.sign_in(world.volunteer)
    account = web.get("/account").text
    assert "Ngôn ngữ" in account and 'value="en"' in account

    _switch(web, "en")
    account = web.get("/account").text
    assert "Language changed. Pages on this device will now show in English." in account
    assert '<html lang="en">' in account
    assert 'aria-pressed="true">English</button>' in account

    households = web.get("/households").text
    assert "Find a household" in households and "Tìm hộ" not in households
    assert "Main navigation" in households
    # The scripts' words come with the page (status bar, outbox).
    block = households.split('<meta name="fieldkit-words" content=\'', 1)[1]
    words = json.loads(html.unescape(block.split("'>", 1)[0]))
    assert words["Đang tắt trên điện thoại này"] == "Off for this phone"
    assert words["%(ready)s/%(count)s hộ"] == "%(ready)s/%(count)s households"

    household = world.household.id
    page = web.get(f"/households/{household}").text
    assert "Visit history" in page and "Record a visit" in page
    # A choice is shown in English but its value stays the stored Vietnamese word.
    assert '<option value="Vợ">Wife</option>' in page
    form = web.get(f"/households/{household}/visits/new").text
    assert "Save visit" in form and "Time of visit" in form and "Person helped" in form
    assert "Lưu lượt thăm" not in form
    # Vocabulary from the domain (outcomes) is shown in English too.
    assert "Not at home" in form

    _switch(web, "vi")
    assert "Đã đổi ngôn ngữ." in web.get("/account").text
    form = web.get(f"/households/{household}/visits/new").text
    assert "Lưu lượt thăm" in form and "Save visit" not in form
    assert "Vắng nhà" in form


def test_the_dashboard_charts_speak_the_chosen_language(web, world):
    web.sign_in(world.leader)
    village = f"/villages/{world.village.id}"
    legend = re.compile(r'<text class="chart-legend"[^>]*>([^<]*)</text>')
    # Two charts (the VNeID funnel, the weeks), each with its legend.
    assert legend.findall(web.get(village).text) == ["Đã duyệt", "Chờ duyệt"] * 2
    _switch(web, "en")
    assert legend.findall(web.get(village).text) == ["Approved", "Awaiting review"] * 2


def test_a_domain_refusal_is_shown_in_the_chosen_language(web, world):
    web.sign_in(world.volunteer)
    _switch(web, "en")
    response = web.post(
        f"/households/{world.household.id}/visits",
        {"uuid": str(uuid.uuid4()), "visited_at": "2099-01-01T09:00", "outcome": "met"},
    )
    assert response.status_code == 422
    # fieldkit.visits refuses in Vietnamese (its Msg); the page shows the English.
    assert "Thời gian thăm không thể ở tương lai." not in response.text
    assert "The time of the visit cannot be in the future." in response.text


def test_json_errors_follow_the_language(web, world):
    web.sign_in(world.volunteer)
    _switch(web, "en")
    response = web.client.post(
        "/api/v1/sync",
        data="{not json",
        headers={"Content-Type": "application/json", "X-CSRF-Token": web.csrf},
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "What was sent is not valid JSON."


def test_an_unknown_language_is_refused_and_nothing_changes(web, world):
    web.sign_in(world.volunteer)
    response = web.post("/account/language", {"language": "xx"})
    assert response.status_code == 422
    assert "Hãy chọn một ngôn ngữ trong danh sách." in response.text
    assert "fieldkit_lang" not in response.headers.get("Set-Cookie", "")


def test_the_offline_pack_changes_version_with_the_language(web, world):
    web.sign_in(world.volunteer)
    before = {
        page["url"]: page["version"] for page in web.get("/api/v1/offline-pack").get_json()["pages"]
    }
    _switch(web, "en")
    after = {
        page["url"]: page["version"] for page in web.get("/api/v1/offline-pack").get_json()["pages"]
    }
    assert before.keys() == after.keys()
    assert all(before[url] != after[url] for url in before), "every offline copy is fetched again"
    assert "-en" in web.get("/sw.js").text.split("VERSION = ", 1)[1].split(";", 1)[0]


def test_files_stay_vietnamese_and_the_audit_log_records_vietnamese(web, world, db):
    web.sign_in(world.staff)
    _switch(web, "en")
    csv = web.get("/audit.csv")
    assert csv.status_code == 200
    assert "Thời gian,Người thực hiện" in csv.get_data(as_text=True)
    web.post("/account/sessions/end-all")
    ended = db.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert ended.details == {"what": "mọi thiết bị"}


VALUE = re.compile(r'<(?:option|input)\b[^>]*\bvalue="([^"]*)"')


def _values(page: str) -> list[str]:
    """What the page's forms would send: every option's and input's value, save the CSRF token,
    the fresh UUIDs and the time of the visit, which differ at each rendering."""
    fresh = re.compile(r"[0-9a-f-]{36}|\d{4}-\d\d-\d\dT\d\d:\d\d")
    return [v for v in VALUE.findall(page) if len(v) < 60 and not fresh.fullmatch(v)]


def test_what_a_form_sends_does_not_depend_on_the_language(web, world):
    """Choices are shown translated but send (and store) the same Vietnamese values."""
    web.sign_in(world.volunteer)
    household = world.household.id
    pages = [f"/households/{household}", f"/households/{household}/visits/new", "/households/new"]
    vietnamese = {url: _values(web.get(url).text) for url in pages}
    _switch(web, "en")
    for url in pages:
        assert _values(web.get(url).text) == vietnamese[url], url


def test_review_reasons_send_the_same_words_in_english(web, world):
    web.sign_in(world.volunteer)
    proposed = {"uuid": str(uuid.uuid4()), "label": "40", "head_name": "Đỗ Văn Hải"}
    assert web.post("/households/new", proposed).status_code == 303
    web.sign_in(world.staff)
    vietnamese = _values(web.get("/review").text)
    _switch(web, "en")
    page = web.get("/review").text
    assert 'name="reason_choice"' in page  # the world has records waiting, with reason chips
    assert _values(page) == vietnamese
