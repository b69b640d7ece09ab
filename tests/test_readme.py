"""What a newcomer and an operator follow is written down, and true: every setting the code
reads is in the README's settings table and the table names no setting the code has
forgotten; every `fieldkit` command appears in the README (a new one fails here until it is
documented)."""

from __future__ import annotations

import re
from pathlib import Path

from fieldkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
# A setting is read as env.get("FIELDKIT_X"…), environ.get(…), environ["FIELDKIT_X"],
# os.getenv("FIELDKIT_X") or config's _number(env, "FIELDKIT_X", …).
_READ = re.compile(
    r"""(?:(?:environ|env|getenv)\s*(?:\.get)?\s*[\(\[]|_number\(env,)\s*["'](FIELDKIT_[A-Z0-9_]+)"""
)
_TABLE_ROW = re.compile(r"^\|\s*(`FIELDKIT_[^|]+)\|", re.M)


def settings_read_by_code() -> set[str]:
    sources = [*ROOT.glob("fieldkit/**/*.py"), *ROOT.glob("pwa/**/*.py"), ROOT / "gunicorn.conf.py"]
    found = set()
    for path in sources:
        found |= set(_READ.findall(path.read_text()))
    return found


def settings_in_readme() -> set[str]:
    names = set()
    for cell in _TABLE_ROW.findall(README):
        names |= set(re.findall(r"`(FIELDKIT_[A-Z0-9_]+)`", cell))
    return names


def test_every_setting_the_code_reads_is_documented():
    assert settings_read_by_code() - settings_in_readme() == set()


def test_the_readme_documents_no_setting_the_code_does_not_read():
    assert settings_in_readme() - settings_read_by_code() == set()


def test_the_checks_see_the_settings_they_are_about():
    code = settings_read_by_code()
    assert {"FIELDKIT_DATABASE_URL", "FIELDKIT_HOST", "FIELDKIT_RP_ID"} <= code
    assert {"FIELDKIT_TRUSTED_PROXIES", "FIELDKIT_WORKERS", "FIELDKIT_MAX_INFLIGHT"} <= code
    assert len(settings_in_readme()) >= 10


def test_every_command_is_in_the_readme():
    commands = set(main.commands)
    assert {"backup", "restore", "migrate"} <= commands
    missing = sorted(name for name in commands if f"fieldkit {name}" not in README)
    assert not missing, f"commands missing from the README: {missing}"
