#!/usr/bin/env python3
"""Write fieldkit/data/admin_units.csv — the 34 provinces and 3,321 communes (xã, phường, đặc
khu) in force since 1 July 2025 (Decision 19/2025/QĐ-TTg) — from the maintained
`vietnamadminunits` package (MIT), which matches the official list.

Fieldkit reads the CSV at run time, so a production install does not carry the package and its
numpy/shapely (~95 MB) for two look-ups at `fieldkit init`. Run this after upgrading the package
(`pip install -e '.[adminunits]'`); tests/fieldkit/test_admin_units.py checks the file against
the installed package, row by row.

    .venv/bin/python scripts/make-admin-units.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fieldkit.admin_units import DATA_FILE, rows_from_package, write_rows  # noqa: E402

if __name__ == "__main__":
    rows = rows_from_package()
    write_rows(DATA_FILE, rows)
    provinces = len({row.province_code for row in rows})
    print(f"{DATA_FILE}: {provinces} provinces, {len(rows)} communes")
