"""Downloads from the villages page: who gets which file, what is written in the audit log,
and a malformed date answered in Vietnamese."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from sqlmodel import select

from fieldkit.models import AuditEvent
from tests.fieldkit.helpers import line, record_visit
from tests.web.conftest import Browser


@pytest.fixture
def visited(db, world):
    record_visit(db, world, lines=[line(world.head, "vneid_level1", "done")])
    record_visit(
        db,
        world,
        household=world.far_household,
        member=world.other_volunteer,
        lines=[line(world.far_resident, "vneid_level1", "done")],
    )
    db.commit()
    return world


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def _exports(db) -> list[AuditEvent]:
    db.rollback()
    return list(db.exec(select(AuditEvent).where(AuditEvent.action == "export")).all())


def test_a_leader_gets_only_their_village(web, visited):
    web.sign_in(visited.leader)
    response = web.get("/exports/indicators.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="fieldkit-chi-tieu-15349-thon-dong-'
    )
    assert [row[0] for row in _csv(response)[1:]] == ["Thôn Đông"]

    response = web.client.get("/exports/visits.xlsx")
    assert response.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(response.data))["Lượt thăm"]
    villages = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert villages == ["Thôn Đông"]


def test_commune_staff_get_every_village_and_the_total(web, visited):
    web.sign_in(visited.staff)
    response = web.client.get("/exports/indicators.xlsx")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith('.xlsx"')
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    assert workbook.sheetnames == ["Chỉ tiêu theo thôn", "Lý do chưa được", "Tiến độ chỉ tiêu"]
    rows = list(workbook["Chỉ tiêu theo thôn"].iter_rows(min_row=2, values_only=True))
    assert [row[0] for row in rows] == ["Thôn Đông", "Thôn Tây", "Cả xã"]
    response = web.get("/exports/visits.csv")
    assert sorted(row[2] for row in _csv(response)[1:]) == ["Thôn Tây", "Thôn Đông"]


@pytest.mark.parametrize(
    "url",
    [
        "/exports/indicators.csv",
        "/exports/indicators.xlsx",
        "/exports/visits.csv",
        "/exports/visits.xlsx",
    ],
)
def test_volunteers_get_no_files(web, visited, db, url):
    web.sign_in(visited.volunteer)
    assert web.get(url).status_code == 403
    assert _exports(db) == []


def test_every_export_is_in_the_audit_log(web, visited, db):
    web.sign_in(visited.staff)
    assert web.get("/exports/visits.csv?from=2026-01-01&to=2099-12-31").status_code == 200
    (event,) = _exports(db)
    assert event.actor_id == visited.staff.id
    assert event.details == {
        "what": "visits",
        "format": "csv",
        "rows": 2,
        "from": "2026-01-01",
        "to": "2099-12-31",
    }
    assert (event.target_kind, event.target_id) == ("commune", visited.commune.id)


@pytest.mark.parametrize(
    "query", ["from=hôm-qua", "to=2026-02-30", "from=2026-11-10&to=2026-11-01"]
)
def test_a_bad_date_is_a_400_in_vietnamese(web, visited, db, query):
    web.sign_in(visited.leader)
    response = web.get(f"/exports/visits.xlsx?{query}")
    assert response.status_code == 400
    assert "ngày" in response.get_data(as_text=True)
    assert _exports(db) == []


def test_the_villages_page_links_the_downloads_for_leaders_only(web, visited):
    web.sign_in(visited.leader)
    assert "/exports/indicators.xlsx" in web.get("/villages").get_data(as_text=True)
    browser = Browser(web.app_client_fresh(), web.db)
    browser.sign_in(visited.volunteer)
    assert "/exports/" not in browser.get("/villages").get_data(as_text=True)
