"""Official administrative units after the 1 July 2025 reform: 34 provinces, 3,321 communes,
codes from Decision 19/2025/QĐ-TTg.

Read from `fieldkit/data/admin_units.csv` (about 170 KB), which `scripts/make-admin-units.py`
generates from the maintained `vietnamadminunits` package (MIT) and a test checks against it
row by row. Why a file of our own rather than the package at run time: the package pulls numpy
and shapely (~95 MB installed) for what is, here, two look-ups at `fieldkit init`; a province
server should not carry that. Why that package as the source and not `vietnam-provinces`:
`vietnam-provinces` 2026.x needs Python ≥ 3.12, and on our Python 3.11 pip silently falls back
to 2025.10.1, whose commune codes differ from the official list for hundreds of communes (we
compared: 729 codes disagree, e.g. Phường Cửa Nam is 00082 officially, 00073 there).
`vietnamadminunits` matches the official list.
"""

from __future__ import annotations

import csv
import re
from dataclasses import astuple, dataclass, fields
from functools import cache
from pathlib import Path

from fieldkit.errors import NotFound
from fieldkit.i18n import _

DATA_FILE = Path(__file__).resolve().parent / "data" / "admin_units.csv"
_COMMUNE_CODE = re.compile(r"^\d{5}$")
_PROVINCE_CODE = re.compile(r"^\d{2}$")


@dataclass(frozen=True)
class OfficialCommune:
    code: str
    name: str
    province_code: str
    province_name: str


@dataclass(frozen=True)
class OfficialProvince:
    code: str
    name: str


@cache
def _communes() -> dict[str, OfficialCommune]:
    """Every official commune by code, read once per process (≈3 ms)."""
    with DATA_FILE.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        assert header == [f.name for f in fields(OfficialCommune)], header
        return {row[0]: OfficialCommune(*row) for row in reader}


def lookup_commune(code: str) -> OfficialCommune:
    """The commune (xã, phường or đặc khu) with this official 5-digit code.
    Raises NotFound with a Vietnamese message for a malformed or unknown code."""
    code = (code or "").strip()
    if not _COMMUNE_CODE.match(code):
        raise NotFound(_("Mã xã phải gồm đúng 5 chữ số (nhận được: %(code)s).", code=repr(code)))
    commune = _communes().get(code)
    if commune is None:
        raise NotFound(
            _("Không có xã nào mang mã %(code)s trong danh mục sau ngày 01/7/2025.", code=code)
        )
    return commune


def lookup_province(code: str) -> OfficialProvince:
    """The province (tỉnh or thành phố) with this official 2-digit code. NotFound otherwise."""
    code = (code or "").strip()
    if not _PROVINCE_CODE.match(code):
        raise NotFound(_("Mã tỉnh phải gồm đúng 2 chữ số (nhận được: %(code)s).", code=repr(code)))
    for commune in _communes().values():
        if commune.province_code == code:
            return OfficialProvince(code=code, name=commune.province_name)
    raise NotFound(
        _("Không có tỉnh nào mang mã %(code)s trong danh mục sau ngày 01/7/2025.", code=code)
    )


def communes_of_province(province_code: str) -> list[OfficialCommune]:
    """Every commune of the province, by code. NotFound for an unknown province."""
    province = lookup_province(province_code)
    return sorted(
        (c for c in _communes().values() if c.province_code == province.code),
        key=lambda c: c.code,
    )


def count_official() -> tuple[int, int]:
    """(provinces, communes) in the data set: 34 and 3,321 for the 2025 list."""
    communes = _communes()
    return len({c.province_code for c in communes.values()}), len(communes)


# --- making the data file (scripts/make-admin-units.py) and checking it (tests) ---------------


def rows_from_package() -> list[OfficialCommune]:
    """Every commune as the `vietnamadminunits` package has it, by code. Needs the package
    (the `adminunits` extra); only the generator script and the tests call this."""
    from vietnamadminunits.database import query

    rows = query("SELECT wardCode, ward, provinceCode, province FROM admin_units ORDER BY wardCode")
    return [
        OfficialCommune(
            code=row["wardCode"],
            name=row["ward"],
            province_code=row["provinceCode"],
            province_name=row["province"],
        )
        for row in rows
    ]


def write_rows(path: Path, rows: list[OfficialCommune]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow([f.name for f in fields(OfficialCommune)])
        writer.writerows(astuple(row) for row in rows)
