"""The province's pages (issue 14): province staff see every commune of their province side by
side — numbers only — drill into one read-only, download the Đề án 06 file, set province
targets; the province admin invites province staff. Nobody else opens them."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from fieldkit.models import Role
from tests.conftest import NOW
from tests.factories import build_province
from tests.fieldkit.helpers import line, record_visit
from tests.web.conftest import Browser


@pytest.fixture
def province(db, world):
    found = build_province(db, world)
    record_visit(db, world, lines=[line(world.head), line(world.spouse, "dvcqg_login")])
    db.commit()
    return found


def _as(app, db, member) -> Browser:
    browser = Browser(app.test_client(), db)
    browser.sign_in(member)
    return browser


def test_province_staff_see_both_communes_side_by_side(app, db, province):
    page = _as(app, db, province.staff).get("/province")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Tỉnh Thanh Hóa" in html
    assert 'data-commune="15349"' in html and 'data-commune="14758"' in html
    assert "Phường Cửa Nam" not in html  # another province
    assert 'data-commune="province"' in html


def _names_of_people(province) -> list[str]:
    """Every resident, household head and team member name of the two communes."""
    world = province.world
    return [
        world.head.name,
        world.spouse.name,
        world.far_resident.name,
        world.neighbour.head_name,
        world.volunteer.name,
        world.leader.name,
        world.staff.name,
        province.neighbour_resident.name,
        province.neighbour_volunteer.name,
        province.neighbour_staff.name,
    ]


def test_no_province_page_names_a_person(app, db, province):
    """Law 91/2025: the province sees numbers, not residents or team members (fieldkit.policy)."""
    browser = _as(app, db, province.staff)
    pages = [
        "/province",
        "/province/week",
        f"/province/communes/{province.world.commune.id}",
        f"/province/communes/{province.neighbour.id}",
        "/province/targets",
        "/province/export.csv",
    ]
    for url in pages:
        response = browser.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        for name in _names_of_people(province):
            assert name not in text, (url, name)


def test_a_communes_overview_opens_read_only(app, db, province):
    browser = _as(app, db, province.staff)
    html = browser.get(f"/province/communes/{province.world.commune.id}").get_data(as_text=True)
    assert "Xã Vĩnh Lộc" in html and "Thôn Đông" in html and "Thôn Tây" in html
    assert "/villages/" not in html  # no way into a village's dashboard (names of volunteers)
    assert "/exports/" not in html
    assert "Chỉ xem" in html
    sorted_page = browser.get(
        f"/province/communes/{province.world.commune.id}?sort=reached&dir=desc"
    )
    assert sorted_page.status_code == 200


def test_the_week_comes_as_a_fragment_or_a_page(app, db, province):
    browser = _as(app, db, province.staff)
    fragment = browser.get("/province/week", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    page = browser.get("/province/week?week=2026-W47").get_data(as_text=True)
    assert "<html" in page and "Tuần 47" in page
    # The visit of the day counts in Xã Vĩnh Lộc's row and in the province's.
    assert "Xã Vĩnh Lộc" in page and "Toàn tỉnh" in page


@pytest.mark.parametrize("week", ["2026-W99", "abc", "9999-W01", "2026-W48' OR 1=1"])
def test_a_bad_week_is_a_clear_400(app, db, province, week):
    response = _as(app, db, province.staff).get(f"/province/week?week={week}")
    assert response.status_code == 400
    assert "Tuần" in response.get_data(as_text=True)


def test_the_export_has_a_sheet_per_indicator_and_a_province_row(app, db, province):
    response = _as(app, db, province.staff).client.get("/province/export.xlsx")
    assert response.status_code == 200
    assert "fieldkit-toan-tinh-38-" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames[0] == "Tổng hợp"
    assert "VNeID mức 1" in book.sheetnames and "Hộ đã tiếp cận" in book.sheetnames
    sheet = book["VNeID mức 1"]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == (
        "Mã xã",
        "Xã, phường",
        "VNeID mức 1 (đã duyệt)",
        "VNeID mức 1 (chờ duyệt)",
    )
    by_code = {row[0]: row for row in rows[1:]}
    assert set(by_code) == {"15349", "14758", None}
    assert by_code[None][1] == "Toàn tỉnh"
    assert by_code["15349"][3] == 1  # the head, at level 1, pending review
    assert by_code[None][3] == by_code["15349"][3] + by_code["14758"][3]
    csv_text = _as(app, db, province.staff).get("/province/export.csv").data.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Mã xã,Xã, phường") or "Mã xã" in csv_text


def test_the_export_is_in_the_audit_log_of_no_commune(app, db, province):
    from sqlmodel import select

    from fieldkit.models import AuditEvent

    _as(app, db, province.staff).client.get("/province/export.xlsx")
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "export")).one()
    assert event.commune_id is None
    assert event.details["province"] == "38" and event.actor_id == province.staff.id


def test_province_targets_saved_and_seen_by_the_commune_as_its_own(app, db, province):
    browser = _as(app, db, province.staff)
    page = browser.get("/province/targets")
    assert page.status_code == 200
    commune_id = province.world.commune.id
    response = browser.post(
        "/province/targets",
        {
            "preset": "year",
            "start": "2026-01-01",
            "end": "2026-12-31",
            f"p-{commune_id}-vneid_level1": "40",
            "p-province-vneid_level1": "90",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    # Commune staff see 40 as the commune's target (it set none), marked as the province's.
    staff = _as(app, db, province.world.staff)
    overview = staff.get("/villages/commune").get_data(as_text=True)
    assert "/ 40 ·" in overview
    grid = staff.get("/targets").get_data(as_text=True)
    assert "Tỉnh giao: 40" in grid and "đang áp dụng" in grid
    # The commune's audit log says what the province set for it, and who.
    log = staff.get("/audit").get_data(as_text=True)
    assert "Đặt chỉ tiêu" in log and province.staff.name in log
    province_page = browser.get("/province").get_data(as_text=True)
    assert "tỉnh giao" in province_page and "/ 90 ·" in province_page


def test_a_bad_target_cell_saves_nothing_and_keeps_what_was_typed(app, db, province):
    browser = _as(app, db, province.staff)
    commune_id = province.world.commune.id
    response = browser.post(
        "/province/targets",
        {
            "preset": "year",
            "start": "2026-01-01",
            "end": "2026-12-31",
            f"p-{commune_id}-vneid_level1": "40",
            f"p-{province.neighbour.id}-reached": "nhiều lắm",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'value="nhiều lắm"' in html and 'value="40"' in html
    from sqlmodel import func, select

    from fieldkit.models import ProvinceTarget

    assert db.exec(select(func.count()).select_from(ProvinceTarget)).one() == 0


def test_the_province_admin_invites_province_staff_who_sign_in_to_the_province(app, db, province):
    admin = _as(app, db, province.admin)
    assert admin.get("/province/members").status_code == 200
    response = admin.post(
        "/province/members", {"name": "Đặng Thu Trang", "phone": "0912300009", "role": "province"}
    )
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Liên kết mời cho Đặng Thu Trang" in html
    assert 'aria-current="page">Cán bộ<' in html  # still under the team's tab
    token = html.split("/signin/")[1].split('"')[0]
    newcomer = app.test_client()
    page = newcomer.get(f"/signin/{token}")
    assert page.status_code == 200
    csrf = page.get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    assert newcomer.post(f"/signin/{token}", data={"csrf_token": csrf}).status_code == 303
    home = newcomer.get("/")
    assert home.headers["Location"].endswith("/province")
    assert newcomer.get("/province").status_code == 200
    assert newcomer.get("/province/members").status_code == 403  # staff, not the admin


def test_the_province_admin_manages_only_her_provinces_staff(app, db, province):
    admin = _as(app, db, province.admin)
    assert admin.post(f"/province/members/{province.far_admin.id}/invite").status_code == 404
    assert admin.post(f"/province/members/{province.world.staff.id}/deactivate").status_code == 404
    refused = admin.post(
        "/province/members", {"name": "Ai Đó", "phone": "", "role": "staff"}
    )  # a commune role
    assert refused.status_code == 403
    assert admin.post(f"/province/members/{province.staff.id}/deactivate").status_code == 303
    db.expire_all()
    assert not province.staff.active


@pytest.mark.parametrize("who", ["staff", "volunteer", "leader"])
def test_commune_people_never_open_the_province(app, db, province, who):
    browser = _as(app, db, getattr(province.world, who))
    for url in [
        "/province",
        "/province/week",
        "/province/targets",
        "/province/export.csv",
        f"/province/communes/{province.neighbour.id}",
        "/province/members",
    ]:
        assert browser.get(url).status_code == 403, url


def test_province_staff_open_no_commune_page(app, db, province):
    browser = _as(app, db, province.staff)
    world = province.world
    for url in [
        "/households",
        f"/households/{world.household.id}",
        "/villages/commune",
        f"/villages/{world.village.id}",
        "/review",
        "/audit",
        "/exports/visits.csv",
        "/targets",
        "/follow-ups",
        "/members",
        "/guides",
        "/assignments",
    ]:
        assert browser.get(url).status_code == 403, url


def test_another_provinces_commune_is_refused(app, db, province):
    browser = _as(app, db, province.staff)
    assert browser.get(f"/province/communes/{province.far.id}").status_code == 403
    assert browser.get("/province/communes/999999").status_code == 404
    far = _as(app, db, province.far_admin).get("/province").get_data(as_text=True)
    assert "Phường Cửa Nam" in far and "Xã Vĩnh Lộc" not in far


def test_province_tabs_and_menu(app, db, province):
    html = _as(app, db, province.admin).get("/province").get_data(as_text=True)
    tabbar = html.split('class="tabbar"')[1]
    assert "Toàn tỉnh" in tabbar and "Chỉ tiêu" in tabbar and "Cán bộ" in tabbar
    menu = _as(app, db, province.staff).get("/menu").get_data(as_text=True)
    assert "Tài khoản" in menu and "Hộ dân" not in menu
    assert Role.province.value  # (the role exists)


def test_sorting_by_any_column_and_hostile_values(app, db, province):
    browser = _as(app, db, province.staff)
    for sort in ["name", "coverage", "reached", "pending_reviews", "last_visit", "'; DROP", ""]:
        for direction in ["asc", "desc", "x"]:
            assert browser.get(f"/province?sort={sort}&dir={direction}").status_code == 200
    assert NOW


def test_province_staff_phones_keep_no_communes_pages(app, db, province):
    pack = _as(app, db, province.staff).get("/api/v1/offline-pack").get_json()
    assert [page["url"] for page in pack["pages"]] == ["/outbox"]
    assert pack["households"] is None
