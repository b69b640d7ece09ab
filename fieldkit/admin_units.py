"""Official administrative units after the 1 July 2025 reform: 34 provinces, 3,321 communes,
codes from Decision 19/2025/QĐ-TTg.

Source: the `vietnamadminunits` package (MIT). Why this one and not `vietnam-provinces`:
`vietnam-provinces` 2026.x needs Python ≥ 3.12, and on our Python 3.11 pip silently falls back
to 2025.10.1, whose commune codes differ from the official list for hundreds of communes (we
compared: 729 codes disagree, e.g. Phường Cửa Nam is 00082 officially, 00073 there).
`vietnamadminunits` matches the official list; its cost is numpy/shapely as dependencies, which
we accept because it is imported only here, lazily, by `fieldkit init`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fieldkit.errors import NotFound

_CODE = re.compile(r"^\d{5}$")
_PROVINCE_CODE = re.compile(r"^\d{2}$")


@dataclass(frozen=True)
class OfficialCommune:
    code: str
    name: str
    province_code: str
    province_name: str


def lookup_commune(code: str) -> OfficialCommune:
    """The commune (xã, phường or đặc khu) with this official 5-digit code.
    Raises NotFound with a Vietnamese message for a malformed or unknown code."""
    code = (code or "").strip()
    if not _CODE.match(code):
        raise NotFound(f"Mã xã phải gồm đúng 5 chữ số (nhận được: {code!r}).")
    from vietnamadminunits.database import query  # heavy import, only when needed

    # The code is five digits (checked above), so it is safe inside the SQL text: the
    # package's query() takes no parameters.
    rows = query(
        f"SELECT wardCode, ward, provinceCode, province FROM admin_units WHERE wardCode = '{code}'"
    )
    if not rows:
        raise NotFound(f"Không có xã nào mang mã {code} trong danh mục sau ngày 01/7/2025.")
    row = rows[0]
    return OfficialCommune(
        code=row["wardCode"],
        name=row["ward"],
        province_code=row["provinceCode"],
        province_name=row["province"],
    )


@dataclass(frozen=True)
class OfficialProvince:
    code: str
    name: str


def _province_code(code: str | None) -> str:
    code = (code or "").strip()
    if not _PROVINCE_CODE.match(code):
        raise NotFound(f"Mã tỉnh phải gồm đúng 2 chữ số (nhận được: {code!r}).")
    return code


def lookup_province(code: str) -> OfficialProvince:
    """The province (tỉnh or thành phố) with this official 2-digit code. Raises NotFound
    with a Vietnamese message for a malformed or unknown code."""
    code = _province_code(code)
    from vietnamadminunits.database import query

    # Two digits (checked above): safe inside the SQL text.
    rows = query(
        f"SELECT provinceCode, province FROM admin_units WHERE provinceCode = '{code}' LIMIT 1"
    )
    if not rows:
        raise NotFound(f"Không có tỉnh nào mang mã {code} trong danh mục sau ngày 01/7/2025.")
    return OfficialProvince(code=rows[0]["provinceCode"], name=rows[0]["province"])


def communes_of_province(province_code: str) -> list[OfficialCommune]:
    """Every commune (xã, phường, đặc khu) of the province, by official code. Raises NotFound
    like lookup_province."""
    province = lookup_province(province_code)
    from vietnamadminunits.database import query

    rows = query(
        "SELECT wardCode, ward, provinceCode, province FROM admin_units "
        f"WHERE provinceCode = '{province.code}' ORDER BY wardCode"
    )
    return [
        OfficialCommune(
            code=row["wardCode"],
            name=row["ward"],
            province_code=row["provinceCode"],
            province_name=row["province"],
        )
        for row in rows
    ]


def count_official() -> tuple[int, int]:
    """(provinces, communes) in the data set: 34 and 3,321 for the 2025 list."""
    from vietnamadminunits.database import query

    row = query(
        "SELECT COUNT(DISTINCT provinceCode) AS p, COUNT(DISTINCT wardCode) AS w FROM admin_units"
    )[0]
    return row["p"], row["w"]
