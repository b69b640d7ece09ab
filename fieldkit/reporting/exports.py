"""Files for the province and the commune's own records (issue 5 §7): the Đề án 06 indicators
by village and the visits within a member's scope, as CSV or XLSX with Vietnamese headers.

A topic is a `Table` (sheet name, headers, rows); the writers turn tables into bytes. The
numbers come from fieldkit.reporting.indicators.village_indicators, so a file always says
what the pages say. Reads only, except `record_export`, which adds the audit event; the
caller commits.

Files are data, never code (issue 10): text that a spreadsheet would run as a formula (it
starts with = + - @, a tab or a line break) is written as text — a string cell with Excel's
quote prefix in XLSX, a cell led by a single quote in CSV (OWASP's advice against CSV
injection) — and characters XML and openpyxl refuse, which rows stored before the text rule
may hold, are dropped from the cell rather than failing the whole file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from fieldkit import audit, forms, vocab
from fieldkit.errors import Invalid
from fieldkit.models import (
    Assistance,
    Commune,
    Household,
    Member,
    Resident,
    Service,
    Village,
    Visit,
)
from fieldkit.policy import Scope
from fieldkit.reporting import indicators, targets
from fieldkit.reporting.indicators import Count, VillageIndicators, village_indicators
from fieldkit.text import fold, is_clean, scrub, sort_key

INDICATORS_SHEET = "Chỉ tiêu theo thôn"
VISITS_SHEET = "Lượt thăm"
REASONS_SHEET = "Lý do chưa được"
TARGETS_SHEET = "Tiến độ chỉ tiêu"
COMMUNE_TOTAL = "Cả xã"

# Indicators reviewed record by record get an approved column and a pending one beside it;
# household facts (their pending part is always 0) one column each.
REVIEWED = list(indicators.REVIEWED.items())
FACTS = list(indicators.FACTS.items())
APPROVED, PENDING = "đã duyệt", "chờ duyệt"

VISIT_HEADERS = [
    "Mã lượt thăm",
    "Thời gian thăm",
    "Thôn",
    "Hộ",
    "Chủ hộ",
    "Người thăm",
    "Kết quả chuyến thăm",
    "Trạng thái duyệt",
    "Người được hỗ trợ",
    "Dịch vụ",
    "Kết quả",
    "Lý do",
    "Máy dùng",
]


@dataclass(frozen=True)
class Table:
    """One topic: a sheet of the workbook, or one CSV file. Cells are str, int, datetime
    (naive, Vietnam time) or None."""

    title: str
    headers: list[str]
    rows: list[list]


# --- who, and over which days --------------------------------------------------------------


def period(day_from: Any, day_to: Any) -> tuple[datetime | None, datetime | None]:
    """`since <= visited_at < until` for the Vietnam calendar days `day_from`..`day_to`
    (YYYY-MM-DD, both inclusive, either optional; years 1900…2200: fieldkit.forms'
    calendar_date). Raises Invalid with a Vietnamese message."""
    c = forms.Collector()
    first = c.field("from", lambda: forms.calendar_date(day_from, label="ngày bắt đầu"))
    last = c.field("to", lambda: forms.calendar_date(day_to, label="ngày kết thúc"))
    c.raise_if_any()
    if first and last and first > last:
        raise Invalid({"to": "Ngày kết thúc phải sau ngày bắt đầu."})
    since = datetime.combine(first, time.min, forms.VN_TZ) if first else None
    until = datetime.combine(last + timedelta(days=1), time.min, forms.VN_TZ) if last else None
    return since, until


# --- topics -------------------------------------------------------------------------------


def _villages(session: Session, scope: Scope, since, until) -> list[VillageIndicators]:
    # In the order Vietnamese readers expect ("Thôn Đông" before "Thôn Tây"), whatever the
    # database's collation.
    return sorted(
        village_indicators(session, scope=scope, since=since, until=until),
        key=lambda village: sort_key(village.village_name),
    )


def _total(rows: list[VillageIndicators], name: str) -> Count:
    counts = [getattr(row, name) for row in rows]
    return Count(sum(c.approved for c in counts), sum(c.pending for c in counts))


def _indicator_cells(values: dict[str, Count]) -> list[int]:
    cells = []
    for name, _ in REVIEWED:
        cells += [values[name].approved, values[name].pending]
    return cells + [values[name].approved for name, _ in FACTS]


def indicators_table(
    session: Session, *, scope: Scope, since: datetime | None = None, until: datetime | None = None
) -> Table:
    """One row per village of the scope, and a "Cả xã" row when the scope is the commune."""
    villages = _villages(session, scope, since, until)
    headers = ["Thôn"]
    for _, label in REVIEWED:
        headers += [f"{label} ({APPROVED})", f"{label} ({PENDING})"]
    headers += [label for _, label in FACTS]
    names = [name for name, _ in REVIEWED + FACTS]
    rows = [
        [village.village_name, *_indicator_cells({name: getattr(village, name) for name in names})]
        for village in villages
    ]
    if scope.village_id is None:
        rows.append(
            [COMMUNE_TOTAL, *_indicator_cells({name: _total(villages, name) for name in names})]
        )
    return Table(INDICATORS_SHEET, headers, rows)


def reasons_table(
    session: Session, *, scope: Scope, since: datetime | None = None, until: datetime | None = None
) -> Table:
    """Failed assistance lines by village and reason (lines, not residents), then the commune's
    total per reason when the scope is the commune. Reasons in the order the forms show them."""
    villages = _villages(session, scope, since, until)
    headers = ["Thôn", "Lý do", f"Số lượt ({APPROVED})", f"Số lượt ({PENDING})"]
    rows = []
    for village in villages:
        for reason, label in vocab.REASONS.items():
            count = village.failure_reasons.get(reason)
            if count is not None:
                rows.append([village.village_name, label, count.approved, count.pending])
    if scope.village_id is None:
        for reason, label in vocab.REASONS.items():
            counts = [v.failure_reasons[reason] for v in villages if reason in v.failure_reasons]
            if counts:
                rows.append(
                    [
                        COMMUNE_TOTAL,
                        label,
                        sum(c.approved for c in counts),
                        sum(c.pending for c in counts),
                    ]
                )
    return Table(REASONS_SHEET, headers, rows)


def targets_table(session: Session, *, scope: Scope, on: date) -> Table:
    """The targets in force on `on` (Vietnam date) within the scope, each beside the approved
    number reached so far and the share of the target — the figures the dashboards show. The
    commune's own targets (village "Cả xã") only when the scope is the commune."""
    villages = _villages(session, scope, None, None)
    found = targets.targets_for(session, commune_id=scope.commune_id, on=on)
    columns: list[tuple[int | None, str, dict[str, Count]]] = [
        (
            village.village_id,
            village.village_name,
            {name: getattr(village, name) for name in indicators.LABELS},
        )
        for village in villages
    ]
    if scope.village_id is None:
        columns.append(
            (None, COMMUNE_TOTAL, {name: _total(villages, name) for name in indicators.LABELS})
        )
    rows = []
    for village_id, village_name, values in columns:
        for name, label in indicators.LABELS.items():
            target = found.get((village_id, name))
            if target is None:
                continue
            reached = targets.progress(values[name].approved, target)
            rows.append(
                [
                    village_name,
                    label,
                    target.period_start.strftime("%d/%m/%Y"),
                    target.period_end.strftime("%d/%m/%Y"),
                    target.value,
                    reached.value,
                    reached.percent,
                ]
            )
    headers = [
        "Thôn",
        "Chỉ tiêu",
        "Từ ngày",
        "Đến ngày",
        "Chỉ tiêu đặt ra",
        f"Đã đạt ({APPROVED})",
        "Tỷ lệ đạt (%)",
    ]
    return Table(TARGETS_SHEET, headers, rows)


def visits_table(
    session: Session, *, scope: Scope, since: datetime | None = None, until: datetime | None = None
) -> Table:
    """Every visit of the scope with `since <= visited_at < until`, in time order, all review
    states (the column says which): one row per assistance line, or one row for a visit
    without lines. One query."""
    volunteer = aliased(Member)
    statement = (
        sa.select(
            Visit,
            col(Village.name),
            col(Household.label),
            col(Household.head_name),
            col(volunteer.name),
            col(Resident.name),
            col(Service.name),
            Assistance,
        )
        .join(Household, col(Household.id) == Visit.household_id)
        .join(Village, col(Village.id) == Household.village_id)
        .join(volunteer, col(volunteer.id) == Visit.volunteer_id)
        .outerjoin(Assistance, col(Assistance.visit_id) == Visit.id)
        .outerjoin(Resident, col(Resident.id) == Assistance.resident_id)
        .outerjoin(Service, col(Service.code) == Assistance.service_code)
        .where(col(Village.commune_id) == scope.commune_id)
    )
    if scope.village_id is not None:
        statement = statement.where(col(Village.id) == scope.village_id)
    if since is not None:
        statement = statement.where(col(Visit.visited_at) >= since)
    if until is not None:
        statement = statement.where(col(Visit.visited_at) < until)
    statement = statement.order_by(col(Visit.visited_at), col(Visit.id), col(Assistance.id))
    rows = []
    for visit, village, label, head, volunteer_name, resident, service, line in session.execute(
        statement
    ).all():
        rows.append(
            [
                visit.id,
                forms.to_local(visit.visited_at).replace(tzinfo=None),
                village,
                label,
                head,
                volunteer_name,
                vocab.OUTCOMES.get(visit.outcome, visit.outcome),
                vocab.REVIEW_STATES.get(visit.review_state, visit.review_state),
                resident,
                service,
                vocab.RESULTS.get(line.result) if line else None,
                vocab.REASONS.get(line.reason) if line and line.reason else None,
                vocab.DEVICES.get(line.device) if line and line.device else None,
            ]
        )
    return Table(VISITS_SHEET, VISIT_HEADERS, rows)


# --- writers ------------------------------------------------------------------------------

_DATETIME_TEXT = "%Y-%m-%d %H:%M"
# A spreadsheet runs a cell starting with one of these (OWASP: CSV injection); line breaks
# too, as some read a cell's first line alone.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell_text(value: str) -> str:
    """Text as a cell can hold it: what the text rule refuses (control characters, lone
    surrogates) dropped — fieldkit.text.scrub — for rows stored before the rule."""
    return value if is_clean(value) else scrub(value)


def csv_cell(value: Any) -> Any:
    """A value for a CSV cell: times as YYYY-MM-DD HH:MM, text through `cell_text` and led by
    a single quote when it starts like a formula; numbers as they are."""
    if isinstance(value, datetime):
        return value.strftime(_DATETIME_TEXT)
    if isinstance(value, str):
        value = cell_text(value)
        return "'" + value if value.startswith(FORMULA_START) else value
    return value


def to_csv(table: Table) -> bytes:
    """Plain comma-separated UTF-8 with a byte-order mark, so Excel shows Vietnamese letters
    as they are. Times as YYYY-MM-DD HH:MM (Vietnam time). Cells through `csv_cell`."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([csv_cell(header) for header in table.headers])
    for row in table.rows:
        writer.writerow([csv_cell(cell) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _append(sheet, number: int, row: list) -> None:
    """Add row `number`; text always as a string cell (never a formula: openpyxl would make
    one of any text starting with "="), with the quote prefix when it starts like a formula."""
    sheet.append([cell_text(value) if isinstance(value, str) else value for value in row])
    for column, value in enumerate(row, start=1):
        if isinstance(value, str):
            cell = sheet.cell(row=number, column=column)
            cell.data_type = "s"
            if cell.value.startswith(FORMULA_START):
                cell.quotePrefix = True


def to_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table: bold, frozen header row; columns as wide as their text (within
    limits); times as real Excel date-times."""
    workbook = Workbook()
    workbook.remove(workbook.worksheets[0])  # the empty sheet a new workbook starts with
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(table.title[:31])  # Excel's limit on sheet names
        _append(sheet, 1, table.headers)
        for cell in sheet[1]:
            cell.font = bold
        for number, row in enumerate(table.rows, start=2):
            _append(sheet, number, row)
        sheet.freeze_panes = "A2"
        for index, header in enumerate(table.headers, start=1):
            letter = get_column_letter(index)
            widest = len(header)
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                if isinstance(cell.value, datetime):
                    cell.number_format = "yyyy-mm-dd hh:mm"
                    widest = max(widest, 16)
                elif cell.value is not None:
                    widest = max(widest, len(str(cell.value)))
            sheet.column_dimensions[letter].width = min(max(widest + 2, 8), 45)
        if table.rows and table.rows[-1] and table.rows[-1][0] == COMMUNE_TOTAL:
            for cell in sheet[sheet.max_row]:
                cell.font = bold
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# --- names and the audit log -----------------------------------------------------------------


def filename(session: Session, *, scope: Scope, topic: str, extension: str, today: date) -> str:
    """An ASCII name every phone and mail client keeps intact:
    fieldkit-chi-tieu-15349-2026-11-22.xlsx, with the village for a village's file
    (fieldkit-luot-tham-15349-thon-dong-2026-11-22.csv)."""
    parts = ["fieldkit", topic]
    commune = session.get(Commune, scope.commune_id)
    parts.append(commune.code if commune else str(scope.commune_id))
    if scope.village_id is not None:
        village = session.get(Village, scope.village_id)
        slug = re.sub(r"[^a-z0-9]+", "-", fold(village.name if village else "")).strip("-")
        parts.append(slug or f"thon-{scope.village_id}")
    return "-".join([*parts, today.isoformat()]) + "." + extension


def record_export(
    session: Session,
    *,
    member: Member,
    scope: Scope,
    what: str,
    file_format: str,
    rows: int,
    since: datetime | None,
    until: datetime | None,
    now: datetime,
) -> None:
    """Write the export down in the audit log: what, in which format, how many rows, over which
    days. Caller commits (with nothing else: an export changes no record)."""
    details: dict[str, object] = {"what": what, "format": file_format, "rows": rows}
    if since is not None:
        details["from"] = forms.to_local(since).date().isoformat()
    if until is not None:
        details["to"] = (forms.to_local(until).date() - timedelta(days=1)).isoformat()
    if scope.village_id is None:
        target_kind, target_id = "commune", scope.commune_id
    else:
        target_kind, target_id = "village", scope.village_id
    audit.record(
        session,
        action="export",
        now=now,
        actor=member,
        target_kind=target_kind,
        target_id=target_id,
        details=details,
    )
