"""The README is what a newcomer and an operator follow: every setting the code reads is in its
settings table, and the table names no setting the code has forgotten."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# A setting is read as env.get("FIELDKIT_X"…), environ.get(…), environ["FIELDKIT_X"] or
# os.getenv("FIELDKIT_X").
_READ = re.compile(r"""(?:environ|env|getenv)\s*(?:\.get)?\s*[\(\[]\s*["'](FIELDKIT_[A-Z0-9_]+)""")
_TABLE_ROW = re.compile(r"^\|\s*(`FIELDKIT_[^|]+)\|", re.M)


def settings_read_by_code() -> set[str]:
    found = set()
    for path in [*ROOT.glob("fieldkit/**/*.py"), *ROOT.glob("pwa/**/*.py")]:
        found |= set(_READ.findall(path.read_text()))
    return found


def settings_in_readme() -> set[str]:
    readme = (ROOT / "README.md").read_text()
    names = set()
    for cell in _TABLE_ROW.findall(readme):
        names |= set(re.findall(r"`(FIELDKIT_[A-Z0-9_]+)`", cell))
    return names


def test_every_setting_the_code_reads_is_documented():
    assert settings_read_by_code() - settings_in_readme() == set()


def test_the_readme_documents_no_setting_the_code_does_not_read():
    assert settings_in_readme() - settings_read_by_code() == set()


def test_the_checks_see_the_settings_they_are_about():
    code = settings_read_by_code()
    assert {"FIELDKIT_DATABASE_URL", "FIELDKIT_HOST", "FIELDKIT_RP_ID"} <= code
    assert len(settings_in_readme()) >= 10
