"""Reading the lists communes keep in Excel: XLSX or CSV as people really save them, into rows
of plain cells under recognised column headers (issue 15). No Flask, no database.

What real files hold, and what is done about it here:

- a title, a date or a merged banner above the header row, and often a row of column numbers
  ("(1) (2) (3)…") under it: the header is the row among the first ones that names the most
  known columns; numbering rows and empty rows are skipped;
- headers written many ways ("Họ và tên chủ hộ" / "Chủ hộ", "Thôn" / "Thôn, xóm" / "Tổ dân
  phố"): compared folded (no accents, case or punctuation) against the variants in COLUMNS;
- columns Fieldkit must never keep (DESIGN.md §5): a citizen-ID (CCCD/CMND) column and a
  password or OTP column are dropped when the file is read — their cells are never stored,
  not even while the import waits for the person's go-ahead — and the preview says so;
- CSV in UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"), comma,
  semicolon (Excel in Vietnamese) or tab separated; anything else gets a clear error;
- XLSX cells: values, never formulas (a formula's last computed value, as Excel shows it);
  Excel's escaped control characters (_x001B_) decoded so the text rule of fieldkit.forms
  judges them; dates as dates.

Cells keep their types (text, int, float, date as ISO text) so that later steps can tell a
phone number that lost its leading 0 (a number) from one typed as text.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from fieldkit.text import fold

MAX_ROWS = 100_000  # CommCare's limit too; a merged commune has ~30,000 residents
MAX_COLUMNS = 60
HEADER_SEARCH_ROWS = 30


class SpreadsheetError(Exception):
    """The file cannot be read as a list at all. The message says why, in Vietnamese."""


# --- columns ------------------------------------------------------------------------------------

# What each known column is, by its folded header (see `header_key`). `None` for columns
# Fieldkit recognises and does not need (row numbers, ethnicity…): left out without a warning.
FORBIDDEN = {"citizen_id", "secret"}
LABELS = {
    "code": "Mã hộ",
    "group": "Số thứ tự hộ (nhóm người theo hộ)",
    "village": "Thôn / tổ dân phố",
    "label": "Số nhà",
    "head_name": "Họ tên chủ hộ",
    "name": "Họ và tên",
    "relation": "Quan hệ với chủ hộ",
    "birth": "Năm sinh / ngày sinh",
    "sex": "Giới tính",
    "phone": "Số điện thoại",
    "address_hint": "Địa chỉ, chỉ dẫn",
    "smartphones": "Số điện thoại thông minh của hộ",
    "internet": "Internet tại nhà",
    "role": "Vai trò",
    "citizen_id": "Số CCCD / CMND",
    "secret": "Mật khẩu / mã OTP",
}

_VARIANTS: dict[str, tuple[str, ...]] = {
    "code": (
        "ma ho",
        "ma ho gia dinh",
        "ma hgd",
        "ma so ho",
        "so ho khau",
        "so so ho khau",
        "ma ho khau",
        "household code",
    ),
    "group": ("stt ho", "so thu tu ho", "ho so", "ho thu", "nhom ho", "tt ho"),
    "village": (
        "thon",
        "thon xom",
        "xom",
        "to dan pho",
        "tdp",
        "thon to dan pho",
        "thon to",
        "to",
        "ap",
        "ban",
        "lang",
        "khu pho",
        "khu dan cu",
        "thon ban",
        "thon ap",
        "ten thon",
        "village",
    ),
    "label": ("so nha", "sn", "nha so", "so nha ten ho", "so nha ngo", "house number"),
    "head_name": (
        "chu ho",
        "ho va ten chu ho",
        "ho ten chu ho",
        "ten chu ho",
        "chu ho ho va ten",
        "ho ten chu ho gia dinh",
        "head of household",
    ),
    "name": (
        "ho va ten",
        "ho ten",
        "ten",
        "ho va ten nhan khau",
        "ho ten nhan khau",
        "ho ten thanh vien",
        "ho va ten thanh vien",
        "nhan khau",
        "ten nguoi",
        "name",
        "full name",
    ),
    "relation": (
        "quan he voi chu ho",
        "quan he",
        "qh voi chu ho",
        "quan he chu ho",
        "quan he voi ch",
        "qhch",
    ),
    "birth": (
        "nam sinh",
        "ngay sinh",
        "ngay thang nam sinh",
        "ngay thang nam sinh",
        "sinh nam",
        "ns",
        "birth year",
        "date of birth",
    ),
    "sex": ("gioi tinh", "gioi", "nam nu", "gt", "sex"),
    "phone": (
        "so dien thoai",
        "sdt",
        "dien thoai",
        "di dong",
        "so dt",
        "dt",
        "dt lien he",
        "so dien thoai lien he",
        "dien thoai lien he",
        "phone",
    ),
    "address_hint": ("dia chi", "chi dan", "chi dan dia chi", "ghi chu dia chi", "ngo", "duong"),
    "smartphones": (
        "so dien thoai thong minh",
        "dien thoai thong minh",
        "so smartphone",
        "smartphone",
        "so may smartphone",
        "so dtdd thong minh",
    ),
    "internet": ("internet", "internet tai nha", "co internet", "wifi", "mang internet"),
    "role": ("vai tro", "chuc vu", "nhiem vu", "chuc danh", "role"),
    "citizen_id": (
        "cccd",
        "so cccd",
        "can cuoc",
        "can cuoc cong dan",
        "so can cuoc",
        "cmnd",
        "so cmnd",
        "cmnd cccd",
        "cccd cmnd",
        "so dinh danh",
        "so dinh danh ca nhan",
        "ma dinh danh",
        "ddcn",
        "so ddcn",
        "ngay cap",
        "noi cap",
    ),
    "secret": (
        "mat khau",
        "mk",
        "password",
        "pass",
        "otp",
        "ma otp",
        "mat khau vneid",
        "ma xac thuc",
        "ma xac nhan",
    ),
}
_IGNORED = (
    "stt",
    "tt",
    "so tt",
    "so thu tu",
    "ghi chu",
    "dan toc",
    "ton giao",
    "nghe nghiep",
    "que quan",
    "quoc tich",
    "trinh do",
    "noi lam viec",
    "email",
)
COLUMNS: dict[str, str | None] = {
    variant: name for name, variants in _VARIANTS.items() for variant in variants
}
COLUMNS.update({variant: None for variant in _IGNORED})


def header_key(text: Any) -> str:
    """A header as compared: folded, punctuation as spaces ("Thôn, xóm" → "thon xom")."""
    folded = fold(str(text or ""))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", folded).split())


def recognise(header: Any) -> str | None:
    """The field a header names, or None when unknown (or known and not needed: see
    `is_known`). Forbidden columns are recognised by any header that mentions them."""
    key = header_key(header)
    if not key:
        return None
    if key in COLUMNS:
        return COLUMNS[key]
    words = set(key.split())
    if words & {"cccd", "cmnd", "ddcn"} or "can cuoc" in key or "dinh danh" in key:
        return "citizen_id"
    if "mat khau" in key or words & {"otp", "password"}:
        return "secret"
    if "chu ho" in key and ("ten" in words or "ho" in words) and "quan he" not in key:
        return "head_name"
    if "quan he" in key:
        return "relation"
    if "nam sinh" in key or "ngay sinh" in key:
        return "birth"
    if "thong minh" in key or "smartphone" in key:
        return "smartphones"
    if "dien thoai" in key or words & {"sdt", "dtdd"}:
        return "phone"
    if "so nha" in key:
        return "label"
    if key.startswith("ma ho"):
        return "code"
    if words & {"thon", "xom", "tdp"} or "to dan pho" in key:
        return "village"
    return None


def is_known(header: Any) -> bool:
    """True for headers Fieldkit recognises, including those it leaves out on purpose."""
    return header_key(header) in COLUMNS or recognise(header) is not None


# --- the table ----------------------------------------------------------------------------------


@dataclass
class Table:
    """A sheet as read: the header row's texts and the data rows under it, each with the line
    number the person sees in Excel (1-based). `dropped` lists the forbidden columns left out
    (header text, field); their cells are not in `rows`."""

    headers: list[str]
    rows: list[tuple[int, list[Any]]]
    dropped: list[tuple[str, str]] = field(default_factory=list)
    header_line: int = 1
    sheet_name: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "headers": self.headers,
            "rows": [[line, cells] for line, cells in self.rows],
            "dropped": [list(pair) for pair in self.dropped],
            "header_line": self.header_line,
            "sheet_name": self.sheet_name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Table:
        return cls(
            headers=list(data.get("headers") or []),
            rows=[(int(line), list(cells)) for line, cells in data.get("rows") or []],
            dropped=[(str(a), str(b)) for a, b in data.get("dropped") or []],
            header_line=int(data.get("header_line") or 1),
            sheet_name=str(data.get("sheet_name") or ""),
        )


def read(data: bytes, file_name: str = "") -> Table:
    """The list in `data` (an XLSX workbook's first sheet with data, or a CSV file), from its
    header row down. Raises SpreadsheetError with a clear message for what cannot be read."""
    if not data:
        raise SpreadsheetError("Tệp trống. Hãy chọn tệp danh sách (.xlsx hoặc .csv).")
    if data[:4] == b"PK\x03\x04":
        return _table(*_xlsx_rows(data))
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise SpreadsheetError(
            "Tệp .xls (Excel 97–2003) chưa đọc được. Trong Excel chọn Tệp → Lưu thành → "
            "Sổ làm việc Excel (.xlsx), rồi tải tệp .xlsx lên."
        )
    if file_name.lower().endswith((".xlsx", ".xlsm", ".ods", ".numbers", ".pdf", ".doc", ".docx")):
        raise SpreadsheetError(
            "Tệp này không đọc được như một bảng Excel. Hãy mở bằng Excel và lưu lại thành .xlsx "
            "hoặc CSV UTF-8."
        )
    return _table(_csv_rows(data), "")


def _xlsx_rows(data: bytes) -> tuple[Iterator[tuple[int, list[Any]]], str]:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        # read_only streams the sheet (10,000 rows in a second, little memory); data_only gives
        # each formula's last computed value — the value the person sees — never the formula.
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise SpreadsheetError(
            "Tệp Excel bị hỏng hoặc không phải .xlsx. Hãy mở bằng Excel và lưu lại."
        ) from error
    sheets = [sheet for sheet in book.worksheets if getattr(sheet, "iter_rows", None)]
    for sheet in sheets:
        rows = _numbered(sheet.iter_rows(values_only=True))
        first = list(_take(rows, HEADER_SEARCH_ROWS))
        if any(any(_present(cell) for cell in cells) for _, cells in first):
            return _chain(first, rows), sheet.title
    raise SpreadsheetError("Tệp Excel không có dữ liệu ở trang tính nào.")


def _csv_rows(data: bytes) -> Iterator[tuple[int, list[Any]]]:
    text = _decode(data)
    sample = text[:20_000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = max(",;\t", key=sample.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        yield from _numbered(reader)
    except csv.Error as error:
        raise SpreadsheetError(f"Tệp CSV sai định dạng: {error}.") from error


def _decode(data: bytes) -> str:
    """UTF-8 (with or without BOM) or UTF-16 with BOM; anything else is refused, because a
    guess (Windows-1258, TCVN3) would store Vietnamese names garbled."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            pass
    raise SpreadsheetError(
        "Tệp CSV không ở dạng UTF-8 nên tiếng Việt sẽ bị lỗi font. Trong Excel chọn Lưu thành → "
        "“CSV UTF-8 (phân cách bằng dấu phẩy)”, hoặc tải lên tệp .xlsx."
    )


def _numbered(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[int, list[Any]]]:
    for line, cells in enumerate(rows, start=1):
        if line > MAX_ROWS + HEADER_SEARCH_ROWS:
            raise SpreadsheetError(
                f"Tệp có hơn {MAX_ROWS:,} dòng".replace(",", ".")
                + ". Hãy chia thành nhiều tệp (ví dụ mỗi thôn một tệp)."
            )
        yield line, [_cell(cell) for cell in list(cells)[:MAX_COLUMNS]]


def _take(rows: Iterator, n: int) -> Iterator:
    for _ in range(n):
        try:
            yield next(rows)
        except StopIteration:
            return


def _chain(first: list, rest: Iterator) -> Iterator:
    yield from first
    yield from rest


_XML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")


def _cell(value: Any) -> Any:
    """One cell as JSON can keep it: text (NFC, trimmed), int, float, or a date as ISO text."""
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat()
    if isinstance(value, int | float):
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    text = str(value)
    # Excel writes characters XML cannot hold as _xHHHH_; decode them so fieldkit.forms'
    # text rule sees what the person typed.
    text = _XML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
    return unicodedata.normalize("NFC", text).strip()


def _present(cell: Any) -> bool:
    return cell is not None and cell != ""


_NUMBERING = re.compile(r"^\(?\d{1,2}\)?$")


def _is_numbering(cells: list[Any]) -> bool:
    """A row of column numbers under the header ("1 2 3…", "(1) (2) (3)…")."""
    present = [str(cell) for cell in cells if _present(cell)]
    return len(present) >= 3 and all(_NUMBERING.match(text) for text in present)


def _table(numbered: Iterator[tuple[int, list[Any]]], sheet_name: str) -> Table:
    first = list(_take(numbered, HEADER_SEARCH_ROWS))
    best_line, best_score, best_cells = None, 0, []
    for line, cells in first:
        score = sum(1 for cell in cells if isinstance(cell, str) and is_known(cell))
        if score > best_score:
            best_line, best_score, best_cells = line, score, cells
    if best_score < 2:
        # Headers Fieldkit does not know: the first row of several text cells, for the person
        # to map column by column.
        best_line = None
        for line, cells in first:
            texts = [cell for cell in cells if _present(cell)]
            if len(texts) >= 2 and all(isinstance(cell, str) for cell in texts):
                best_line, best_cells = line, cells
                break
    if best_line is None:
        raise SpreadsheetError(
            "Không tìm thấy dòng tiêu đề cột (ví dụ “Họ và tên”, “Thôn”, “Số nhà”). Dòng tiêu "
            "đề phải nằm trong 30 dòng đầu của trang tính."
        )
    width = max((i + 1 for i, cell in enumerate(best_cells) if _present(cell)), default=0)
    headers = [str(cell).strip() if _present(cell) else "" for cell in best_cells[:width]]
    kept = [i for i, header in enumerate(headers) if recognise(header) not in FORBIDDEN]
    dropped = [(header, field) for header in headers if (field := recognise(header)) in FORBIDDEN]
    rows = []
    for line, cells in _chain([(ln, c) for ln, c in first if ln > best_line], numbered):
        cells = (cells + [None] * width)[:width]
        if not any(_present(cells[i]) for i in kept) or _is_numbering(cells):
            continue
        if [str(cell).strip() if _present(cell) else "" for cell in cells] == headers:
            continue  # the header again (a list printed page by page)
        rows.append((line, [cells[i] for i in kept]))
    while rows and sum(1 for cell in rows[-1][1] if _present(cell)) <= 1:
        rows.pop()  # a signature or a note under the list ("Người lập biểu"), not a row
    if not rows:
        raise SpreadsheetError("Tệp có dòng tiêu đề nhưng không có dòng dữ liệu nào bên dưới.")
    return Table(
        headers=[headers[i] for i in kept],
        rows=rows,
        dropped=dropped,
        header_line=best_line,
        sheet_name=sheet_name,
    )


# --- writing templates ------------------------------------------------------------------------


def workbook(
    sheets: list[tuple[str, list[str], list[list[Any]]]],
    *,
    choices: Mapping[str, Sequence[str]] | None = None,
    notes: list[str] | None = None,
    widths: dict[str, int] | None = None,
) -> bytes:
    """An XLSX file: each sheet (title, headers, example rows) with bold frozen headers;
    `choices` puts a drop-down list on the column with that header (lists kept on a hidden
    sheet "Danh mục", so they may be longer than Excel's 255-character inline limit);
    `notes` become a "Hướng dẫn" sheet."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    book.remove(book.worksheets[0])  # the empty sheet a new workbook starts with
    lists = book.create_sheet("Danh mục") if choices else None
    list_ranges: dict[str, str] = {}
    if lists is not None and choices:
        for column, (name, values) in enumerate(choices.items(), start=1):
            letter = get_column_letter(column)
            lists.cell(row=1, column=column, value=name)
            for row, value in enumerate(values, start=2):
                lists.cell(row=row, column=column, value=value)
            list_ranges[name] = f"'Danh mục'!${letter}$2:${letter}${max(len(values) + 1, 2)}"
        lists.sheet_state = "hidden"
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="0B5D8C")
    for index, (title, headers, examples) in enumerate(sheets):
        sheet = book.create_sheet(title, index)
        sheet.append(headers)
        for cell in sheet[1]:
            cell.font = bold
            cell.fill = fill
            cell.alignment = Alignment(wrap_text=True, vertical="center")
        for example in examples:
            sheet.append(example)
        sheet.freeze_panes = "A2"
        for column, header in enumerate(headers, start=1):
            letter = get_column_letter(column)
            sheet.column_dimensions[letter].width = (widths or {}).get(
                header, max(12, len(header) + 4)
            )
            # Numbers typed into these columns stay text: a phone keeps its leading 0.
            if header_key(header) in ("so dien thoai", "ma ho", "so nha"):
                for row in range(2, 5001):
                    sheet.cell(row=row, column=column).number_format = "@"
            if header in list_ranges:
                rule = DataValidation(
                    type="list",
                    formula1=f"={list_ranges[header]}",
                    allow_blank=True,
                    showErrorMessage=False,
                )
                sheet.add_data_validation(rule)
                rule.add(f"{letter}2:{letter}5000")
    if notes:
        guide = book.create_sheet("Hướng dẫn")
        guide.column_dimensions["A"].width = 110
        for line in notes:
            guide.append([line])
            guide.cell(row=guide.max_row, column=1).alignment = Alignment(wrap_text=True)
    if lists is not None:
        book.move_sheet("Danh mục", offset=len(book.sheetnames))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
