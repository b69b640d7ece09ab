"""Shared fixtures: a real database per test (SQLite by default; PostgreSQL too for tests
that take the `engine` fixture when FIELDKIT_TEST_POSTGRES_URL is set), and a small commune
whose every number is known."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime

import pytest
from sqlalchemy import make_url, text
from sqlmodel import SQLModel

from fieldkit import migrate
from fieldkit.db import make_engine, new_session
from tests.factories import World, build_world

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
POSTGRES_URL = os.environ.get("FIELDKIT_TEST_POSTGRES_URL")
BROWSER_TESTS = "tests/e2e/"
# The browser tests that time what a phone sees or shape its network (a drain within seconds,
# a hung server given up on, a slow 3G link): one worker runs them one after another.
TIMED_BROWSER_TESTS = {"test_field_loop.py", "test_offline.py", "test_offline_pack.py"}


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """How `make test` shares the suite among pytest-xdist workers: each test module goes to
    whichever worker is free; the browser tests make two queues, each run on one worker one
    test after another (so never more than two Chromiums at once on a 2-core machine), the
    timed ones in a queue of their own. (xdist's `--dist loadgroup` would say this with a
    marker, but it renames test ids in a way pytest 9.2 no longer sees, so its groups silently
    split.)"""
    from xdist.scheduler import LoadScopeScheduling

    class BrowserTestsInTwoQueues(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if not module.startswith(BROWSER_TESTS):
                return module
            if module.removeprefix(BROWSER_TESTS) in TIMED_BROWSER_TESTS:
                return f"{BROWSER_TESTS} timed"
            return f"{BROWSER_TESTS} others"

    return BrowserTestsInTwoQueues(config, log)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A database file migrated once with Alembic; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "fieldkit.db"
    migrate.upgrade(f"sqlite:///{path}")
    return str(path)


def _database_of_this_worker(worker_id: str) -> str:
    """FIELDKIT_TEST_POSTGRES_URL itself when the suite runs in one process; under pytest-xdist
    each worker gets its own database beside it (fieldkit_test_gw0, …), created on first use, so
    two workers never empty each other's tables."""
    assert POSTGRES_URL
    if worker_id == "master":
        return POSTGRES_URL
    base = make_url(POSTGRES_URL)
    name = f"{base.database}_{worker_id}"
    engine = make_engine(POSTGRES_URL)
    try:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_migrated(worker_id):
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured (make test starts it: scripts/start-postgres)")
    url = _database_of_this_worker(worker_id)
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate.upgrade(url)
    yield url
    engine.dispose()


def empty_postgres(engine) -> None:
    """Every table of the app emptied and every id counter back at 1, for the next test.
    (DELETE would be ~10× faster on tables this small, but leaves rows of the next test in
    whatever order the heap's free space gives: a test reading `.first()` without ORDER BY
    then picked another member now and then. TRUNCATE gives fresh tables.)"""
    tables = ", ".join(table.name for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    path = tmp_path / "fieldkit.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def engine(request, tmp_path):
    if request.param == "sqlite":
        url = request.getfixturevalue("sqlite_url")
        engine = make_engine(url)
    else:
        url = request.getfixturevalue("postgres_migrated")
        engine = make_engine(url)
        empty_postgres(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine):
    with new_session(engine) as session:
        yield session


@pytest.fixture
def world(session) -> World:
    world = build_world(session, now=NOW)
    session.commit()
    return world
