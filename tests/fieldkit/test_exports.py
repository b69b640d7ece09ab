"""Export files on a small hand-made commune (tests/factories.py):

- visit 1, approved, to household "12" in Thôn Đông on 20/11: An gets VNeID level 1; Lan's
  payment account fails for want of a smartphone;
- visit 2, pending, to household "14" in Thôn Đông on 20/11: nobody home, no lines;
- visit 3, approved, to household "3" in Thôn Tây on 05/11: Cường gets VNeID level 1.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

import openpyxl
import pytest
from sqlmodel import select

from fieldkit import policy
from fieldkit.errors import Forbidden, Invalid
from fieldkit.models import AuditEvent, ReviewState
from fieldkit.policy import scope_for
from fieldkit.reporting import exports
from fieldkit.reporting.indicators import village_indicators
from tests.conftest import NOW
from tests.factories import World
from tests.fieldkit.helpers import count, line, record_visit


@pytest.fixture
def field_work(session, world: World) -> World:
    w = world
    visit1 = record_visit(
        session,
        w,
        lines=[
            line(w.head, "vneid_level1", "done", device="own"),
            line(w.spouse, "payment_account", "failed", reason="no_smartphone"),
        ],
    )
    visit1.review_state = ReviewState.approved
    record_visit(session, w, household=w.neighbour, outcome="not_home")
    visit3 = record_visit(
        session,
        w,
        household=w.far_household,
        member=w.other_volunteer,
        visited_at="2026-11-05T08:00",
        lines=[line(w.far_resident, "vneid_level1", "done")],
    )
    visit3.review_state = ReviewState.approved
    session.add_all([visit1, visit3])
    session.commit()
    return w


def _sheet(data: bytes, title: str) -> list[list]:
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    return [list(row) for row in workbook[title].iter_rows(values_only=True)]


def test_indicators_workbook_holds_the_numbers_of_village_indicators(session, field_work):
    scope = scope_for(field_work.staff)
    data = exports.to_xlsx(
        [
            exports.indicators_table(session, scope=scope),
            exports.reasons_table(session, scope=scope),
        ]
    )
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    assert workbook.sheetnames == ["Chỉ tiêu theo thôn", "Lý do chưa được"]
    sheet = workbook["Chỉ tiêu theo thôn"]
    assert sheet.freeze_panes == "A2"
    assert all(cell.font.bold for cell in sheet[1])
    header, *rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert header[:5] == [
        "Thôn",
        "Số hộ (đã duyệt)",
        "Số hộ (chờ duyệt)",
        "Hộ đã tiếp cận (đã duyệt)",
        "Hộ đã tiếp cận (chờ duyệt)",
    ]
    assert header[-2:] == ["Hộ có điện thoại thông minh", "Hộ có Internet"]

    # The same numbers as the indicators, column by column.
    by_village = {v.village_name: v for v in village_indicators(session, scope=scope)}
    assert [row[0] for row in rows] == ["Thôn Đông", "Thôn Tây", "Cả xã"]
    names = [name for name, _ in exports.REVIEWED]
    for row in rows[:2]:
        village = by_village[row[0]]
        expected = [
            n
            for name in names
            for n in (getattr(village, name).approved, getattr(village, name).pending)
        ]
        expected += [village.smartphone_households.approved, village.internet_households.approved]
        assert row[1:] == expected
    assert rows[2][1:] == [a + b for a, b in zip(rows[0][1:], rows[1][1:], strict=True)]

    # And the numbers known by hand.
    column = {title: index for index, title in enumerate(header)}
    east, west, commune = rows
    assert east[column["Số hộ (đã duyệt)"]] == 2
    assert east[column["Hộ đã tiếp cận (đã duyệt)"]] == 1  # nobody home at "14"
    assert east[column["VNeID mức 1 (đã duyệt)"]] == 1
    assert west[column["VNeID mức 1 (đã duyệt)"]] == 1
    assert commune[column["VNeID mức 1 (đã duyệt)"]] == 2
    assert commune[column["Tài khoản thanh toán (đã duyệt)"]] == 0

    assert _sheet(data, "Lý do chưa được") == [
        ["Thôn", "Lý do", "Số lượt (đã duyệt)", "Số lượt (chờ duyệt)"],
        ["Thôn Đông", "Không có điện thoại thông minh", 1, 0],
        ["Cả xã", "Không có điện thoại thông minh", 1, 0],
    ]


def test_a_leaders_indicators_have_their_village_and_no_commune_total(session, field_work):
    table = exports.indicators_table(session, scope=scope_for(field_work.leader))
    assert [row[0] for row in table.rows] == ["Thôn Đông"]


def test_visits_sheet_has_one_row_per_line_within_the_scope(session, field_work):
    table = exports.visits_table(session, scope=scope_for(field_work.leader))
    rows = _sheet(exports.to_xlsx([table]), "Lượt thăm")
    assert rows[0] == exports.VISIT_HEADERS
    body = [row[1:] for row in rows[1:]]  # without the visit's id
    at = datetime(2026, 11, 20, 9, 30)
    assert body == [
        [
            at,
            "Thôn Đông",
            "12",
            "Nguyễn Văn An",
            "Phạm Thu Hà",
            "Gặp",
            "Đã duyệt",
            "Nguyễn Văn An",
            body[0][8],
            "Xong",
            None,
            "Máy của người dân",
        ],
        [
            at,
            "Thôn Đông",
            "12",
            "Nguyễn Văn An",
            "Phạm Thu Hà",
            "Gặp",
            "Đã duyệt",
            "Hoàng Thị Lan",
            body[1][8],
            "Chưa được",
            "Không có điện thoại thông minh",
            None,
        ],
        [
            at,
            "Thôn Đông",
            "14",
            "Trần Thị Bình",
            "Phạm Thu Hà",
            "Vắng nhà",
            "Chờ duyệt",
            None,
            None,
            None,
            None,
            None,
        ],
    ]
    assert body[0][8] and body[1][8] and body[0][8] != body[1][8]  # the services' names
    assert rows[1][0] == rows[2][0] != rows[3][0]


def test_visits_within_a_date_range(session, field_work):
    since, until = exports.period("2026-11-01", "2026-11-05")
    table = exports.visits_table(
        session, scope=scope_for(field_work.staff), since=since, until=until
    )
    assert [(row[2], row[8]) for row in table.rows] == [("Thôn Tây", "Lê Văn Cường")]
    since, _ = exports.period("2026-11-06", None)
    table = exports.visits_table(session, scope=scope_for(field_work.staff), since=since)
    assert {row[2] for row in table.rows} == {"Thôn Đông"}


def test_csv_is_utf8_with_a_bom_and_vietnamese_headers(session, field_work):
    data = exports.to_csv(exports.visits_table(session, scope=scope_for(field_work.staff)))
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == exports.VISIT_HEADERS
    assert len(rows) == 1 + 4
    assert rows[-1][1] == "2026-11-20 09:30"  # Vietnam time, as the volunteer typed it
    indicators = exports.to_csv(
        exports.indicators_table(session, scope=scope_for(field_work.staff))
    )
    header, *body = csv.reader(io.StringIO(indicators.decode("utf-8-sig")))
    assert header[0] == "Thôn" and "Sổ sức khỏe điện tử (chờ duyệt)" in header
    assert [row[0] for row in body] == ["Thôn Đông", "Thôn Tây", "Cả xã"]


@pytest.mark.parametrize(
    "day_from, day_to", [("20-11-2026", ""), ("", "2026-13-01"), ("2026-11-10", "2026-11-01")]
)
def test_a_bad_period_is_refused_in_vietnamese(day_from, day_to):
    with pytest.raises(Invalid) as refused:
        exports.period(day_from, day_to)
    assert "ngày" in str(refused.value)


def test_only_leaders_and_commune_staff_export(session, field_work):
    with pytest.raises(Forbidden):
        policy.require_can_export(field_work.volunteer)
    assert policy.require_can_export(field_work.leader).village_id == field_work.village.id
    assert policy.require_can_export(field_work.staff).village_id is None


def test_file_names_are_ascii_and_say_whose(session, field_work):
    today = NOW.date()
    assert (
        exports.filename(
            session,
            scope=scope_for(field_work.staff),
            topic="chi-tieu",
            extension="xlsx",
            today=today,
        )
        == "fieldkit-chi-tieu-15349-2026-11-20.xlsx"
    )
    assert (
        exports.filename(
            session,
            scope=scope_for(field_work.leader),
            topic="luot-tham",
            extension="csv",
            today=today,
        )
        == "fieldkit-luot-tham-15349-thon-dong-2026-11-20.csv"
    )


def test_an_export_is_written_in_the_audit_log(session, field_work):
    since, until = exports.period("2026-11-01", "2026-11-30")
    exports.record_export(
        session,
        member=field_work.leader,
        scope=scope_for(field_work.leader),
        what="visits",
        file_format="csv",
        rows=3,
        since=since,
        until=until,
        now=NOW,
    )
    session.commit()
    assert count(session, AuditEvent) == 1
    event = session.exec(select(AuditEvent)).one()
    assert event.action == "export"
    assert event.details == {
        "what": "visits",
        "format": "csv",
        "rows": 3,
        "from": "2026-11-01",
        "to": "2026-11-30",
    }
    assert (event.target_kind, event.target_id) == ("village", field_work.village.id)
