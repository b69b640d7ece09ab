"""The dashboards as people open them: a leader's village, a volunteer's, the commune overview
for staff (sortable, its total the sum of its rows, the same numbers as the XLSX file), one
volunteer's drill-down, the weekly print view and the Zalo summary."""

from __future__ import annotations

import io
import re
from datetime import date
from html.parser import HTMLParser

import openpyxl
import pytest

from fieldkit.models import ReviewState, Target
from fieldkit.reporting.indicators import LABELS
from tests.fieldkit.helpers import line, record_visit
from tests.web.conftest import Browser


@pytest.fixture
def visited(db, world):
    """Thôn Đông: household 12 visited by the volunteer (An level 1, approved; Lan level 1,
    pending) and by the leader (Bình's household 14, pending, a failed health book). Thôn Tây:
    Cường at level 1, pending."""
    first = record_visit(
        db, world, visited_at="2026-11-18T09:00", lines=[line(world.head, "vneid_level1", "done")]
    )
    first.review_state = ReviewState.approved
    record_visit(
        db, world, visited_at="2026-11-19T09:00", lines=[line(world.spouse, "vneid_level1", "done")]
    )
    (binh,) = [r for r in _residents(db, world.neighbour.id)]
    record_visit(
        db,
        world,
        household=world.neighbour,
        member=world.leader,
        visited_at="2026-11-19T10:00",
        follow_up_on="2026-11-21",
        lines=[line(binh, "health_book", "failed", reason="no_signal")],
    )
    record_visit(
        db,
        world,
        household=world.far_household,
        member=world.other_volunteer,
        lines=[line(world.far_resident, "vneid_level1", "done")],
    )
    db.commit()
    return world


def _residents(db, household_id):
    from sqlmodel import select

    from fieldkit.models import Resident

    return db.exec(select(Resident).where(Resident.household_id == household_id)).all()


class _Overview(HTMLParser):
    """Rows of the commune table as a person reads them: village → {column: (approved,
    pending)}, in page order. Columns are named by the header's data-col; a cell reads
    "6 +4" (approved, then pending), maybe followed by the target's progress."""

    def __init__(self):
        super().__init__()
        self.columns: list[str] = []
        self.rows: dict[str, dict[str, tuple[int, int]]] = {}
        self.order: list[str] = []
        self._village = None
        self._cell: list[str] | None = None
        self._cells: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "th" and "data-col" in attrs:
            self.columns.append(attrs["data-col"])
        elif tag == "tr" and "data-village" in attrs:
            self._village, self._cells = attrs["data-village"], []
            self.order.append(self._village)
        elif tag == "td" and self._village:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._cells.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._village:
            numbers = {}
            for column, text in zip(self.columns, self._cells, strict=True):
                found = re.match(r"\s*([\d.]+)%?(?:\s*\+([\d.]+))?", text)
                if found and column != "coverage":
                    numbers[column] = (
                        int(found.group(1).replace(".", "")),
                        int((found.group(2) or "0").replace(".", "")),
                    )
            self.rows[self._village] = numbers
            self._village = None


def _overview(text: str) -> _Overview:
    parser = _Overview()
    parser.feed(text)
    return parser


def test_a_leader_sees_the_village_with_each_volunteer(web, visited):
    web.sign_in(visited.leader)
    page = web.get("/villages")
    assert page.status_code == 200
    text = page.text
    assert "<h1>Thôn Đông</h1>" in text and "Thôn Tây" not in text
    assert 'data-kpi="reached"><b class="big">1</b> / 2 hộ <span class="kpi-pct">50%' in text
    assert "+1 hộ chờ duyệt" in text  # Bình's household, the leader's pending visit
    assert '<b class="n">1</b> <span class="pending-n">+1 chờ duyệt</span>' in text  # level 1
    assert "Không có sóng / mạng" in text  # a reason for failure
    for person in (visited.volunteer, visited.leader):
        assert f"/villages/{visited.village.id}/volunteers/{person.id}" in text
    assert '<svg class="chart' in text and "<title>Phễu VNeID" in text
    assert "share.js" in text and "data-share-text" in text
    assert "Thôn Đông – tuần" in text
    assert web.get(f"/villages/{visited.village.id}").text.count("Phạm Thu Hà") >= 1


def test_a_volunteer_sees_only_their_own_line(web, visited):
    web.sign_in(visited.volunteer)
    text = web.get("/villages").text
    assert "Của bạn" in text and "Phạm Thu Hà" in text
    assert "Bùi Văn Lực" not in text  # the leader's own numbers are not theirs to see
    assert "/volunteers/" not in text
    url = f"/villages/{visited.village.id}/volunteers/{visited.leader.id}"
    assert web.get(url).status_code == 403


def test_a_leader_cannot_open_another_village_and_unknown_ids_are_404(web, visited):
    web.sign_in(visited.leader)
    assert web.get(f"/villages/{visited.other_village.id}").status_code == 403
    assert web.get(f"/villages/{visited.other_village.id}/week").status_code == 403
    assert web.get("/villages/commune").status_code == 403
    assert web.get("/villages/99999").status_code == 404
    village = visited.village.id
    assert web.get(f"/villages/{village}/volunteers/99999").status_code == 404
    # Thôn Tây's volunteer does not work in Thôn Đông.
    assert (
        web.get(f"/villages/{village}/volunteers/{visited.other_volunteer.id}").status_code == 404
    )


def test_the_drill_down_lists_a_volunteers_households_and_visits(web, visited):
    web.sign_in(visited.leader)
    text = web.get(f"/villages/{visited.village.id}/volunteers/{visited.volunteer.id}").text
    assert "<h1>Phạm Thu Hà</h1>" in text
    assert f'href="/households/{visited.household.id}"' in text
    assert text.count(f'href="/households/{visited.household.id}"') == 3  # assigned, 2 visits
    assert "Trần Thị Bình" not in text  # the leader's visit, unassigned household


def test_commune_staff_land_on_the_overview_and_the_total_is_the_sum(web, visited):
    web.sign_in(visited.staff)
    page = web.get("/villages")
    assert page.status_code == 200
    table = _overview(page.text)
    assert table.order == ["Thôn Đông", "Thôn Tây", "Cả xã"]
    for key in ("households", "reached", "vneid_level1", "health_books"):
        east, west, total = (table.rows[v][key] for v in table.order)
        assert total == (east[0] + west[0], east[1] + west[1]), key
    assert table.rows["Cả xã"]["vneid_level1"] == (1, 2)
    assert f'href="/villages/{visited.village.id}"' in page.text
    assert "/exports/indicators.xlsx" in page.text
    assert page.text == page.text.replace("style=", "")  # no inline style under the CSP


def test_the_overview_sorts_by_any_column(web, visited):
    web.sign_in(visited.staff)
    by_name_desc = _overview(web.get("/villages/commune?sort=name&dir=desc").text)
    assert by_name_desc.order == ["Thôn Tây", "Thôn Đông", "Cả xã"]
    by_reached = _overview(web.get("/villages/commune?sort=reached&dir=desc").text)
    assert by_reached.order == ["Thôn Đông", "Thôn Tây", "Cả xã"]
    by_reached_up = _overview(web.get("/villages/commune?sort=reached&dir=asc").text)
    assert by_reached_up.order == ["Thôn Tây", "Thôn Đông", "Cả xã"]
    assert web.get("/villages/commune?sort=nonsense&dir=sideways").status_code == 200
    # The header links to the other direction of the current column.
    assert "sort=reached&amp;dir=asc" in web.get("/villages/commune?sort=reached&dir=desc").text


def test_the_xlsx_holds_the_numbers_the_overview_shows(web, visited):
    web.sign_in(visited.staff)
    table = _overview(web.get("/villages/commune").text)
    workbook = openpyxl.load_workbook(io.BytesIO(web.client.get("/exports/indicators.xlsx").data))
    sheet = workbook["Chỉ tiêu theo thôn"]
    headers, *rows = list(sheet.iter_rows(values_only=True))
    assert [row[0] for row in rows] == table.order
    compared = 0
    for row in rows:
        cells = dict(zip(headers, row, strict=True))
        for key, label in LABELS.items():
            approved = cells.get(f"{label} (đã duyệt)", cells.get(label))
            pending = cells.get(f"{label} (chờ duyệt)", 0)
            assert table.rows[row[0]][key] == (approved, pending), (row[0], key)
            compared += 1
    assert compared == 3 * len(LABELS)


def test_targets_show_progress_beside_the_number(web, db, visited):
    db.add_all(
        [
            Target(
                commune_id=visited.commune.id,
                village_id=visited.village.id,
                indicator="reached",
                period_start=date(2026, 1, 1),
                period_end=date(2030, 12, 31),
                value=4,
            ),
            Target(
                commune_id=visited.commune.id,
                village_id=None,
                indicator="vneid_level1",
                period_start=date(2026, 1, 1),
                period_end=date(2030, 12, 31),
                value=10,
            ),
        ]
    )
    db.commit()
    web.sign_in(visited.leader)
    assert "1 / 4 · 25%" in web.get("/villages").text
    staff = Browser(web.app_client_fresh(), web.db)
    staff.sign_in(visited.staff)
    text = staff.get("/villages/commune").text
    assert "1 / 4 · 25%" in text  # Thôn Đông's row
    assert "1 / 10 · 10%" in text  # the commune's row


def test_the_xlsx_carries_the_targets_with_the_progress_the_pages_show(web, db, visited):
    db.add_all(
        [
            Target(
                commune_id=visited.commune.id,
                village_id=visited.village.id,
                indicator="reached",
                period_start=date(2026, 1, 1),
                period_end=date(2030, 12, 31),
                value=4,
            ),
            Target(
                commune_id=visited.commune.id,
                village_id=None,
                indicator="vneid_level1",
                period_start=date(2026, 1, 1),
                period_end=date(2030, 12, 31),
                value=10,
            ),
            # Over: not in force today, so not in the file.
            Target(
                commune_id=visited.commune.id,
                village_id=None,
                indicator="reached",
                period_start=date(2025, 1, 1),
                period_end=date(2025, 12, 31),
                value=99,
            ),
        ]
    )
    db.commit()
    web.sign_in(visited.staff)
    workbook = openpyxl.load_workbook(io.BytesIO(web.client.get("/exports/indicators.xlsx").data))
    headers, *rows = list(workbook["Tiến độ chỉ tiêu"].iter_rows(values_only=True))
    assert headers == (
        "Thôn",
        "Chỉ tiêu",
        "Từ ngày",
        "Đến ngày",
        "Chỉ tiêu đặt ra",
        "Đã đạt (đã duyệt)",
        "Tỷ lệ đạt (%)",
    )
    assert rows == [
        ("Thôn Đông", "Hộ đã tiếp cận", "01/01/2026", "31/12/2030", 4, 1, 25),
        ("Cả xã", "VNeID mức 1", "01/01/2026", "31/12/2030", 10, 1, 10),
    ]
    # A leader's file: their village's targets only.
    web.sign_in(visited.leader)
    workbook = openpyxl.load_workbook(io.BytesIO(web.client.get("/exports/indicators.xlsx").data))
    assert [row[:2] for row in workbook["Tiến độ chỉ tiêu"].iter_rows(values_only=True)][1:] == [
        ("Thôn Đông", "Hộ đã tiếp cận")
    ]


def test_the_weekly_print_view(web, visited):
    web.sign_in(visited.leader)
    page = web.get(f"/villages/{visited.village.id}/week?week=2026-W47")
    assert page.status_code == 200
    text = page.text
    assert "Báo cáo tuần 47 — Thôn Đông" in text and "16/11–22/11/2026" in text
    assert "data-print" in text and "print.js" in text
    assert "Không có sóng / mạng" in text
    assert "Trần Thị Bình" in text and "21/11/2026" in text  # follow-up due by the week's end
    assert "Bùi Văn Lực" in text  # per volunteer, for the leader
    earlier = web.get(f"/villages/{visited.village.id}/week?week=2026-W40").text
    assert "Trần Thị Bình" not in earlier and "Không có hộ nào hẹn quay lại" in earlier


@pytest.mark.parametrize("week", ["tuần-47", "2026-W60", "2099-W01", "2026-W"])
def test_a_bad_week_is_a_clear_message(web, visited, week):
    web.sign_in(visited.leader)
    page = web.get(f"/villages/{visited.village.id}/week?week={week}")
    assert page.status_code == 400
    assert "Tuần" in page.text
