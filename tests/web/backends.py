"""The web app over either database, for tests that must hold on both: PostgreSQL refuses
what SQLite keeps (NUL in text, lone surrogates in JSON), so input-hardening tests run twice.
A test module opts in with `app = both_backends` (a fixture that replaces conftest's `app`),
or `app = both_backends_long_on_postgres` for a long sweep."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fieldkit.config import Settings
from fieldkit.db import make_engine
from pwa import create_app
from tests.conftest import empty_postgres


def _app(request, tmp_path):
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
    else:
        url = request.getfixturevalue("postgres_migrated")
        engine = make_engine(url)
        empty_postgres(engine)
        engine.dispose()
    settings = replace(
        Settings.from_env({}), instance_path=tmp_path, database_url=url, secret_key="test-secret"
    )
    app = create_app({"FIELDKIT_SETTINGS": settings, "TESTING": True})
    yield app
    app.extensions["fieldkit_engine"].dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def both_backends(request, tmp_path):
    yield from _app(request, tmp_path)


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])]
)
def both_backends_long_on_postgres(request, tmp_path):
    """The same, for long sweeps: their PostgreSQL half is marked `slow`."""
    yield from _app(request, tmp_path)
