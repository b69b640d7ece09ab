"""Shared fixtures: a real database per test (SQLite by default; PostgreSQL too for tests
that take the `engine` fixture when FIELDKIT_TEST_POSTGRES_URL is set), and a small commune
whose every number is known."""

from __future__ import annotations

import os
import shutil
from datetime import UTC, datetime

import pytest
from sqlalchemy import text
from sqlmodel import SQLModel

from fieldkit import migrate
from fieldkit.db import make_engine, new_session
from tests.factories import World, build_world

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)  # 10:00 in Vietnam
POSTGRES_URL = os.environ.get("FIELDKIT_TEST_POSTGRES_URL")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> str:
    """A database file migrated once with Alembic; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "fieldkit.db"
    migrate.upgrade(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="session")
def postgres_migrated():
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL not configured (make test starts it: scripts/start-postgres)")
    engine = make_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate.upgrade(POSTGRES_URL)
    yield POSTGRES_URL
    engine.dispose()


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
        tables = ", ".join(t.name for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as conn:
            conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
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
