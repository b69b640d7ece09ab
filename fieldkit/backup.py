"""Backups of a SQLite database, taken while the app writes, and restoring one.

`backup()` uses SQLite's online backup API in one step: it reads one consistent snapshot of
the database (in WAL mode writers go on meanwhile), so the copy holds exactly the
transactions committed before it started — every acknowledged visit, never half of a batch.
The copy is written beside its destination and renamed into place only once it has passed
SQLite's integrity check, so a failed backup never replaces a good one.

`restore()` writes a backup into the database through the same API, refuses a database that
already holds data unless told to replace it, and refuses a file that is not a Fieldkit
database. Run it with the app stopped; then `fieldkit migrate` brings an older backup up to
the code's schema.

PostgreSQL has its own tools (pg_dump, pg_restore): see the README, "Production".
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from fieldkit.errors import DomainError


class BackupRefused(DomainError):
    """The backup or restore was not done; the message says why and what to do."""


@dataclass(frozen=True)
class Report:
    path: Path
    bytes: int
    households: int
    visits: int
    seconds: float

    def __str__(self) -> str:
        def vn(number: float, digits: int = 0) -> str:  # 1.520 hộ, 3,6 MB
            text = f"{number:,.{digits}f}"
            return text.replace(",", " ").replace(".", ",").replace(" ", ".")

        return (
            f"{self.path}: {vn(self.households)} hộ, {vn(self.visits)} lượt thăm, "
            f"{vn(self.bytes / 1_000_000, 1)} MB, {vn(self.seconds, 2)} giây."
        )


def sqlite_path(url: str) -> Path:
    """The database file of a SQLite URL; BackupRefused for any other database."""
    if url.startswith("postgresql"):
        raise BackupRefused(
            "CSDL là PostgreSQL: sao lưu bằng pg_dump, khôi phục bằng pg_restore "
            "(xem README, mục Production)."
        )
    if not url.startswith("sqlite:///") or url.endswith(":memory:"):
        raise BackupRefused("Chỉ sao lưu được CSDL SQLite nằm trong một tệp.")
    return Path(url.removeprefix("sqlite:///"))


def backup(url: str, destination: Path) -> Report:
    """Copy the database at `url` to `destination`, consistent while the app writes."""
    source = sqlite_path(url)
    if not source.exists():
        raise BackupRefused(f"Không có CSDL tại {source}.")
    destination = destination.resolve()
    if destination == source.resolve():
        raise BackupRefused("Tệp sao lưu không được trùng với tệp CSDL.")
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(f".{destination.name}.partial")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    reader = sqlite3.connect(source, timeout=30)
    try:
        writer = sqlite3.connect(partial)
        try:
            reader.backup(writer)  # all pages in one step: one snapshot
            _check(writer, partial)
            writer.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            households, visits = _counts(writer)
        finally:
            writer.close()
    finally:
        reader.close()
    os.replace(partial, destination)
    return Report(
        destination,
        destination.stat().st_size,
        households,
        visits,
        time.perf_counter() - started,
    )


def restore(url: str, source: Path, *, force: bool = False) -> Report:
    """Replace the database at `url` with the backup `source`. Refuses, changing nothing,
    when the database holds data and `force` is not given, or when `source` is no Fieldkit
    backup. Stop the app first; run `fieldkit migrate` after."""
    target = sqlite_path(url)
    if not source.is_file():
        raise BackupRefused(f"Không có tệp sao lưu {source}.")
    started = time.perf_counter()
    backup_db = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        _check(backup_db, source)
        households, visits = _counts(backup_db)
        if target.exists() and _has_data(target) and not force:
            raise BackupRefused(
                f"CSDL {target} đang có dữ liệu. Thêm --force để thay bằng bản sao lưu "
                "(dữ liệu hiện có sẽ mất; hãy sao lưu nó trước)."
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        live = sqlite3.connect(target, timeout=30)
        try:
            backup_db.backup(live)
        finally:
            live.close()
    finally:
        backup_db.close()
    return Report(target, target.stat().st_size, households, visits, time.perf_counter() - started)


def _check(connection: sqlite3.Connection, path: Path) -> None:
    try:
        verdict = connection.execute("PRAGMA quick_check").fetchone()[0]
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    except sqlite3.DatabaseError as error:
        raise BackupRefused(f"{path} không phải CSDL SQLite dùng được: {error}.") from None
    if verdict != "ok":
        raise BackupRefused(f"{path} bị hỏng: {verdict}.")
    if not {"alembic_version", "household", "visit"} <= tables:
        raise BackupRefused(f"{path} không phải CSDL của Fieldkit.")


def _counts(connection: sqlite3.Connection) -> tuple[int, int]:
    households = connection.execute("SELECT count(*) FROM household").fetchone()[0]
    visits = connection.execute("SELECT count(*) FROM visit").fetchone()[0]
    return households, visits


def _has_data(path: Path) -> bool:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
        if "household" not in tables:
            return bool(tables - {"alembic_version"})
        return bool(connection.execute("SELECT count(*) FROM household").fetchone()[0])
    except sqlite3.DatabaseError:
        return True  # not a database we understand: never overwritten without --force
    finally:
        connection.close()
