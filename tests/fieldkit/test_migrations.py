"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlmodel import SQLModel

import fieldkit.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from fieldkit import migrate
from fieldkit.db import make_engine


def differences(engine) -> list:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def current_revision(engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision(url: str) -> str:
    return ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()


def test_migrated_schema_matches_the_models(engine):
    # `engine` was migrated with Alembic (a copy of the SQLite template, or PostgreSQL).
    assert differences(engine) == []
    url = engine.url.render_as_string(hide_password=False)
    assert current_revision(engine) == head_revision(url)


def test_upgrade_twice_changes_nothing(engine):
    url = engine.url.render_as_string(hide_password=False)
    migrate.upgrade(url)
    migrate.upgrade(url)
    assert differences(engine) == []
    assert current_revision(engine) == head_revision(url)


def test_fresh_sqlite_database_is_built_by_the_migrations(tmp_path):
    url = f"sqlite:///{tmp_path / 'instance' / 'fieldkit.db'}"
    engine = make_engine(url)
    try:
        assert inspect(engine).get_table_names() == []
        migrate.upgrade(url)
        assert set(inspect(engine).get_table_names()) == (
            set(SQLModel.metadata.tables) | {"alembic_version"}
        )
        assert differences(engine) == []
    finally:
        engine.dispose()


def test_migrations_go_down_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'fieldkit.db'}"
    engine = make_engine(url)
    try:
        migrate.upgrade(url)
        command.downgrade(migrate.alembic_config(url), "base")
        assert set(inspect(engine).get_table_names()) == {"alembic_version"}
        migrate.upgrade(url)
        assert differences(engine) == []
    finally:
        engine.dispose()


def _fill_one_row(connection, table: str, known: dict[str, int]) -> int:
    """A row of `table` as the schema of the moment has it: every NOT NULL column given a
    plain value of its type, foreign keys pointing at the rows already made."""
    inspector = inspect(connection)
    targets = {
        fk["constrained_columns"][0]: fk["referred_table"]
        for fk in inspector.get_foreign_keys(table)
    }
    values: dict[str, object] = {}
    for column in inspector.get_columns(table):
        name, kind = column["name"], str(column["type"]).upper()
        if column.get("primary_key") or name == "id":
            continue
        if name in targets and targets[name] in known:
            values[name] = known[targets[name]]
        elif column["nullable"] or column.get("default") is not None:
            continue
        elif "INT" in kind:
            values[name] = 1
        elif "BOOL" in kind:
            values[name] = False
        elif "DATETIME" in kind:
            values[name] = "2026-11-01 08:00:00"
        elif "DATE" in kind:
            values[name] = "2026-11-01"
        elif "JSON" in kind:
            values[name] = "{}"
        else:
            values[name] = f"{table}-{name}"[: column["type"].length or 100]
    names, marks = ", ".join(values), ", ".join("?" for _ in values)
    insert = f"INSERT INTO {table} ({names}) VALUES ({marks})"
    return connection.exec_driver_sql(insert, tuple(values.values())).lastrowid


def test_a_sqlite_database_with_records_upgrades_from_an_old_version(tmp_path):
    """A commune on SQLite upgrading from before the imports (0006): the migrations rebuild
    tables that others point at (SQLite alters a table by copying it), which foreign keys
    refused — "FOREIGN KEY constraint failed" on DROP TABLE household — so the upgrade failed
    on any database with a household and a visit. The records come through whole."""
    url = f"sqlite:///{tmp_path / 'fieldkit.db'}"
    migrate.upgrade(url, "0006")
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            known: dict[str, int] = {}
            for table in ("commune", "village", "member", "household", "resident", "visit"):
                known[table] = _fill_one_row(connection, table, known)
        migrate.upgrade(url)
        assert current_revision(engine) == head_revision(url)
        assert differences(engine) == []
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM visit").scalar() == 1
            assert connection.exec_driver_sql("SELECT count(*) FROM resident").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
