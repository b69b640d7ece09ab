"""Real-looking household lists and team rosters, built in the tests (issue 15): what village
heads and commune offices actually send — title rows above the header, a row of column
numbers, merged cells for the household key, dates as Excel dates, serial numbers or text,
phone numbers saved as numbers, a citizen-ID column, CSV from Excel in Vietnamese (semicolon,
BOM)."""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from datetime import date
from typing import Any

import openpyxl

from fieldkit.demo import GIVEN, MIDDLE, SURNAMES
from fieldkit.models import Sex

PERSON_HEADERS = [
    "STT",
    "Mã hộ",
    "Thôn, xóm",
    "Số nhà",
    "Họ và tên",
    "Quan hệ với chủ hộ",
    "Ngày sinh",
    "Giới tính",
    "SĐT",
    "Số CCCD",
]
HOUSEHOLD_HEADERS = [
    "TT",
    "Tổ dân phố",
    "Số nhà",
    "Họ và tên chủ hộ",
    "Năm sinh",
    "Giới tính",
    "Số điện thoại",
    "Điện thoại thông minh",
    "Internet",
    "Địa chỉ",
]


def xlsx(
    headers: list[str],
    rows: list[list[Any]],
    *,
    above: list[str] = ("ỦY BAN NHÂN DÂN XÃ VĨNH LỘC", "DANH SÁCH HỘ GIA ĐÌNH"),
    numbering: bool = True,
    merge_key: int | None = None,
) -> bytes:
    """A workbook as a commune office makes one: merged title rows, the header, a row of
    column numbers "(1) (2) …", the data, an empty row and a signature line. `merge_key`: a
    column whose cells are merged down each household (Excel keeps the value in the first)."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Danh sách"
    for text in above:
        sheet.append([text])
        sheet.merge_cells(
            start_row=sheet.max_row, start_column=1, end_row=sheet.max_row, end_column=len(headers)
        )
    sheet.append([])
    sheet.append(headers)
    if numbering:
        sheet.append([f"({i})" for i in range(1, len(headers) + 1)])
    first_data = sheet.max_row + 1
    for row in rows:
        sheet.append(row)
    if merge_key is not None:
        start = first_data
        for offset in range(1, len(rows) + 1):
            at = first_data + offset
            if offset == len(rows) or rows[offset][merge_key] not in (None, ""):
                if at - 1 > start:
                    value = sheet.cell(row=start, column=merge_key + 1).value
                    sheet.merge_cells(
                        start_row=start,
                        start_column=merge_key + 1,
                        end_row=at - 1,
                        end_column=merge_key + 1,
                    )
                    sheet.cell(row=start, column=merge_key + 1).value = value
                start = at
    sheet.append([])
    sheet.append(["", "", "", "Người lập biểu"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(
    headers: list[str],
    rows: list[list[Any]],
    *,
    delimiter: str = ";",
    encoding: str = "utf-8-sig",
    above: list[str] = ("DANH SÁCH HỘ",),
) -> bytes:
    """A CSV as Excel saves one: in Vietnamese Windows the separator is ";", with a BOM."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=delimiter)
    for text in above:
        writer.writerow([text])
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if cell is None else cell for cell in row])
    return out.getvalue().encode(encoding)


@dataclass
class Person:
    name: str
    relation: str
    born: date
    sex: Sex
    phone: str | None


@dataclass
class Family:
    code: str
    village: str
    label: str
    people: list[Person]


def _pick(rng: random.Random, pairs):
    words = [word for word, _ in pairs]
    weights = [weight for _, weight in pairs]
    return rng.choices(words, weights)[0]


def name(rng: random.Random, sex: Sex, born: int, surname: str | None = None) -> str:
    older = born < 1985
    middle = _pick(rng, MIDDLE[(sex, older)])
    given = rng.choice(GIVEN[(sex, older)])
    return f"{surname or _pick(rng, SURNAMES)} {middle} {given}"


def families(
    n: int, villages: list[str], *, seed: int = 15, code_prefix: str = "HK", first_house: int = 1
) -> list[Family]:
    """`n` households spread over `villages`, 1–6 people each (about 3.3 on average), house
    numbers from `first_house` up in each village."""
    rng = random.Random(seed)
    found = []
    for number in range(1, n + 1):
        village = villages[(number - 1) % len(villages)]
        head_born = rng.randint(1940, 1995)
        head_sex = Sex.male if rng.random() < 0.8 else Sex.female
        surname = _pick(rng, SURNAMES)
        people = [
            Person(
                name(rng, head_sex, head_born, surname),
                "Chủ hộ",
                date(head_born, rng.randint(1, 12), rng.randint(1, 28)),
                head_sex,
                f"09{rng.randint(10_000_000, 99_999_999)}",
            )
        ]
        if rng.random() < 0.85:
            spouse_sex = Sex.female if head_sex is Sex.male else Sex.male
            born = head_born + rng.randint(-3, 5)
            people.append(
                Person(
                    name(rng, spouse_sex, born),
                    "Vợ" if spouse_sex is Sex.female else "Chồng",
                    date(born, rng.randint(1, 12), rng.randint(1, 28)),
                    spouse_sex,
                    f"03{rng.randint(10_000_000, 99_999_999)}" if rng.random() < 0.6 else None,
                )
            )
        for _ in range(rng.choices([0, 1, 2, 3, 4], [20, 25, 30, 15, 10])[0]):
            sex = rng.choice([Sex.male, Sex.female])
            born = min(head_born + rng.randint(20, 32), 2024)
            people.append(
                Person(
                    name(rng, sex, born, surname),
                    "Con",
                    date(born, rng.randint(1, 12), rng.randint(1, 28)),
                    sex,
                    None,
                )
            )
        found.append(
            Family(
                code=f"{code_prefix}{number:05d}",
                village=village,
                label=str((number - 1) // len(villages) + first_house),
                people=people,
            )
        )
    return found


def person_rows(families: list[Family], *, quirks: bool = True) -> list[list[Any]]:
    """One row per person in PERSON_HEADERS order; the household's code, village and house
    number only on its first row (merged cells), birth dates in the three ways Excel lists
    hold them, phones as numbers that lost their 0, a citizen-ID number in its column."""
    rows, counter = [], 0
    for family in families:
        for index, person in enumerate(family.people):
            counter += 1
            first = index == 0
            if not quirks:
                born: Any = person.born.year
            elif counter % 3 == 0:
                born = person.born  # an Excel date
            elif counter % 3 == 1:
                born = person.born.strftime("%d/%m/%Y")  # typed as text
            else:
                born = (person.born - date(1899, 12, 30)).days  # a serial number
            phone: Any = person.phone
            if quirks and phone and counter % 2 == 0:
                phone = int(phone)  # Excel made it a number: the leading 0 is gone
            rows.append(
                [
                    counter,
                    family.code if first else None,
                    family.village if first else None,
                    (float(family.label) if quirks and family.label.isdigit() else family.label)
                    if first
                    else None,
                    person.name + (" " if quirks and counter % 5 == 0 else ""),
                    person.relation,
                    born,
                    "Nam" if person.sex is Sex.male else "Nữ",
                    phone,
                    f"0380{counter:08d}" if quirks else None,
                ]
            )
    return rows


def household_rows(families: list[Family]) -> list[list[Any]]:
    """One row per household in HOUSEHOLD_HEADERS order (head only)."""
    rows = []
    for number, family in enumerate(families, start=1):
        head = family.people[0]
        rows.append(
            [
                number,
                family.village,
                family.label,
                head.name,
                head.born.year,
                "Nam" if head.sex is Sex.male else "Nữ",
                head.phone,
                number % 4,
                "Có" if number % 2 else "Không",
                f"Ngõ {number % 7 + 1}",
            ]
        )
    return rows


def roster_xlsx(rows: list[list[Any]]) -> bytes:
    return xlsx(
        ["Họ và tên", "Số điện thoại", "Vai trò", "Thôn"],
        rows,
        above=["DANH SÁCH TỔ CÔNG NGHỆ SỐ CỘNG ĐỒNG"],
        numbering=False,
    )
