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
