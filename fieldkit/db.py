"""Engines and sessions. SQLite (WAL) is the embedded default; PostgreSQL by URL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, create_engine


def make_engine(url: str, **pool) -> Engine:
    """An engine for `url`. SQLite gets WAL, foreign keys and a busy timeout on every
    connection, so the app, the CLI and tests behave the same. `pool` (pool_size,
    max_overflow, pool_timeout) sizes the connection pool; the web app passes
    Settings.pool, sized to the requests a process works on at once."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 15}, **pool
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no branch
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, **pool)


def new_session(engine: Engine) -> Session:
    # Objects stay readable after commit: templates render them after the route commits.
    return Session(engine, expire_on_commit=False)


def begin_write(session: Session) -> None:
    """Open the session's transaction as a writer now. On SQLite this takes the database's
    write lock at once (BEGIN IMMEDIATE), waiting for another writer up to the busy timeout,
    instead of reading first and failing later when upgrading to a write: a long transaction
    with savepoints (a sync batch) then cannot be refused half-way. A no-op on PostgreSQL
    (row locks) and when the session's connection is already in a transaction."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.driver_connection
    assert raw is not None  # a connection in use holds its sqlite3 connection
    if not raw.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
