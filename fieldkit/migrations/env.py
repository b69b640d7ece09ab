"""Alembic environment. Run through fieldkit.migrate (or `fieldkit migrate`), which passes the
database URL; `render_as_batch` lets SQLite alter tables."""

from alembic import context
from sqlmodel import SQLModel

import fieldkit.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from fieldkit.db import make_engine

config = context.config
target_metadata = SQLModel.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _run(connection) -> None:
    # SQLite alters a table by copying it into a new one and dropping the old (batch mode),
    # and a table that others point at cannot be dropped while foreign keys are enforced
    # (fieldkit.db turns them on): an upgrade of any database with records failed with
    # "FOREIGN KEY constraint failed". SQLite's own recipe for altering tables: foreign keys
    # off for the migration (the pragma is ignored inside a transaction, so before it), then
    # `PRAGMA foreign_key_check` — any dangling reference fails the upgrade, rolled back —
    # and on again.
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.commit()  # the pragma is a no-op inside an open transaction
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=True,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if dangling:
                    raise RuntimeError(f"the migration left dangling references: {dangling}")
    finally:
        if sqlite:
            connection.commit()
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")


run_migrations_online()
