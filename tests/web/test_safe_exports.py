"""Files sent to the province are data, never code (issue 10, finding 4): a name that looks like
a formula (`=HYPERLINK(…)`, `+…`, `-…`, `@…`, or starting with a tab or a carriage return) is
written as text — a string cell in XLSX, a cell led by a single quote in CSV (OWASP, CSV
injection) — and a character openpyxl refuses (ESC and the other C0 controls), kept by rows
stored before the text rule, no longer takes the whole file down.

The rows are inserted directly, as an older version or another tool could have stored them:
the input rule (fieldkit.text.clean) now refuses control characters at the door, and this
is the last defence."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from fieldkit import households
from fieldkit.models import Household, Member, Resident, Role
from tests.fieldkit.helpers import line, record_visit

FORMULA = '=HYPERLINK("http://x","y")'
HOSTILE = {
    "label": "+84 12",
    "head_name": FORMULA,
    "resident": "@SUM(A1)",
    "volunteer": "-2+3",
    "village": "\tThôn Tab",
}


@pytest.fixture
def hostile(db, world):
    """A household named like a formula, with a resident, a volunteer and a village named
    like formulas too, one visit with one line; and a household whose head's name holds an
    ESC character, visited as well."""
    village = world.village
    village.name = HOSTILE["village"]
    volunteer = Member(
        commune_id=world.commune.id,
        village_id=village.id,
        name=HOSTILE["volunteer"],
        phone="0912000077",
        role=Role.volunteer,
    )
    household = Household(
        uuid="00000000-0000-4000-8000-0000000000a1",
        village_id=village.id,
        label=HOSTILE["label"],
        head_name=HOSTILE["head_name"],
    )
    escaped = Household(
        uuid="00000000-0000-4000-8000-0000000000a2",
        village_id=village.id,
        label="\r7",
        head_name="Nguyễn\x1bVăn Esc",
    )
    db.add_all([village, volunteer, household, escaped])
    db.flush()
    resident = Resident(
        uuid="00000000-0000-4000-8000-0000000000a3",
        household_id=household.id,
        name=HOSTILE["resident"],
    )
    esc_resident = Resident(
        uuid="00000000-0000-4000-8000-0000000000a4",
        household_id=escaped.id,
        name="Trần\x07Thị\x1fChuông",
    )
    db.add_all([resident, esc_resident])
    db.flush()
    households.refresh_summary(db, household)
    households.refresh_summary(db, escaped)
    record_visit(db, world, household=household, member=volunteer, lines=[line(resident)])
    record_visit(db, world, household=escaped, member=volunteer, lines=[line(esc_resident)])
    db.commit()
    return world


def _xlsx_cells(response) -> list:
    workbook = openpyxl.load_workbook(io.BytesIO(response.data))
    return [cell for sheet in workbook for row in sheet.iter_rows() for cell in row]


@pytest.mark.parametrize("url", ["/exports/visits.xlsx", "/exports/indicators.xlsx"])
def test_xlsx_writes_formula_looking_names_as_text_cells(web, hostile, url):
    web.sign_in(hostile.staff)
    response = web.client.get(url)
    assert response.status_code == 200
    cells = _xlsx_cells(response)
    assert cells
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a cell is a formula"
    texts = {c.value for c in cells if c.data_type == "s"}
    assert HOSTILE["village"] in texts  # the village name is in both files, as it was
    if "visits" in url:
        assert set(HOSTILE.values()) <= texts
        formula = next(c for c in cells if c.value == FORMULA)
        # Excel keeps a cell with the quote prefix as text even when someone edits it.
        assert formula.data_type == "s" and formula.quotePrefix


def test_an_esc_character_stored_before_the_rule_does_not_break_visits_xlsx(web, hostile):
    web.sign_in(hostile.staff)
    response = web.client.get("/exports/visits.xlsx")
    assert response.status_code == 200
    values = {c.value for c in _xlsx_cells(response)}
    assert "NguyễnVăn Esc" in values  # the control character dropped, the rest kept
    assert "TrầnThịChuông" in values
    assert "\n7" in values  # a carriage return is a line break to XML


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


@pytest.mark.parametrize("url", ["/exports/visits.csv", "/exports/indicators.csv"])
def test_csv_leads_formula_looking_cells_with_a_quote(web, hostile, url):
    web.sign_in(hostile.staff)
    response = web.client.get(url)
    assert response.status_code == 200
    cells = [cell for row in _csv(response) for cell in row]
    risky = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert not risky, f"cells a spreadsheet would run: {risky}"
    assert "'" + HOSTILE["village"] in cells
    if "visits" in url:
        for value in HOSTILE.values():
            assert "'" + value in cells
        assert "NguyễnVăn Esc" in cells and "\x1b" not in response.data.decode("utf-8-sig")


def test_the_audit_csv_leads_formula_looking_cells_with_a_quote(web, hostile, db):
    hostile.staff.name = "=cmd|' /C calc'!A0"
    db.add(hostile.staff)
    db.commit()
    web.sign_in(hostile.staff)
    assert web.client.get("/exports/visits.csv").status_code == 200  # an audited export
    response = web.client.get("/audit.csv")
    assert response.status_code == 200
    cells = [cell for row in _csv(response) for cell in row]
    assert "'=cmd|' /C calc'!A0" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
