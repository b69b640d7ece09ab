"""What an operator may set or run is written down: every FIELDKIT_* setting the code reads and
every `fieldkit` command appear in the README (a new one fails here until documented)."""

from __future__ import annotations

import re
from pathlib import Path

from fieldkit.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_in_the_readme():
    read = set()
    for source in [*ROOT.glob("fieldkit/*.py"), *ROOT.glob("pwa/*.py"), ROOT / "gunicorn.conf.py"]:
        # Environment variables: read with environ.get / env.get / _number(env, …).
        text = source.read_text()
        read |= set(re.findall(r"(?:\.get\(|_number\(env,)\s*[\"'](FIELDKIT_[A-Z_]+)[\"']", text))
    read.discard("FIELDKIT_SETTINGS")  # create_app's config key, not an environment variable
    assert {
        "FIELDKIT_DATABASE_URL",
        "FIELDKIT_TRUSTED_PROXIES",
        "FIELDKIT_WORKERS",
        "FIELDKIT_HOST",
    } <= read
    missing = sorted(name for name in read if f"`{name}`" not in README)
    assert not missing, f"settings missing from the README's table: {missing}"


def test_every_command_is_in_the_readme():
    commands = set(main.commands)
    assert {"backup", "restore", "migrate"} <= commands
    missing = sorted(name for name in commands if f"fieldkit {name}" not in README)
    assert not missing, f"commands missing from the README: {missing}"
