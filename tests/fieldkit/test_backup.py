"""`fieldkit backup` / `fieldkit restore` on SQLite, run as an admin would: a backup taken
while phones keep sending holds every visit acknowledged before it began, and whole batches
only; restore refuses to overwrite data without --force and refuses what is no backup."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from fieldkit import forms
from fieldkit.cli import main
from fieldkit.db import make_engine, new_session
from fieldkit.models import Assistance, Member, Visit, utcnow
from fieldkit.sync import Status, SyncItem, ingest
from tests.conftest import NOW
from tests.factories import build_world
from tests.fieldkit.helpers import line, visit_payload

FIELDKIT = Path(sys.executable).parent / "fieldkit"


@pytest.fixture
def live(sqlite_url):
    engine = make_engine(sqlite_url)
    with new_session(engine) as session:
        world = build_world(session, now=NOW)
        session.commit()
    yield world, engine, sqlite_url
    engine.dispose()


def _visits(path: Path) -> set[str]:
    engine = make_engine(f"sqlite:///{path}")
    try:
        with new_session(engine) as session:
            return set(session.exec(select(Visit.uuid)).all())
    finally:
        engine.dispose()


def test_a_backup_taken_while_phones_send_has_every_acknowledged_visit(live, tmp_path):
    world, engine, url = live
    acknowledged: list[tuple[float, list[str]]] = []
    stop = threading.Event()

    def phone() -> None:
        """Sends batches of 5 visits (one line each) until stopped; notes each acknowledgement."""
        while not stop.is_set():
            visited = forms.to_local(utcnow()).strftime("%Y-%m-%dT%H:%M")
            items = []
            for _ in range(5):
                payload = visit_payload(
                    lines=[line(world.head)], household_id=world.household.id, visited_at=visited
                )
                items.append(SyncItem(id=payload["uuid"], kind="visit", payload=payload))
            with new_session(engine) as session:
                member = session.get(Member, world.volunteer.id)
                results = ingest(session, items, member=member, now=utcnow(), commit=session.commit)
            assert {r.status for r in results} == {Status.stored}
            acknowledged.append((time.monotonic(), [item.id for item in items]))

    sender = threading.Thread(target=phone)
    sender.start()
    try:
        while len(acknowledged) < 10:
            time.sleep(0.01)
        began = time.monotonic()
        target = tmp_path / "backups" / "fieldkit-backup.db"
        done = subprocess.run(
            [str(FIELDKIT), "backup", str(target)],
            env={"FIELDKIT_DATABASE_URL": url, "FIELDKIT_INSTANCE": str(tmp_path), "PATH": ""},
            capture_output=True,
            text=True,
            timeout=60,
        )
        ended = time.monotonic()
        time.sleep(0.2)  # the phone keeps sending after the backup too
    finally:
        stop.set()
        sender.join(30)
    assert done.returncode == 0, done.stderr
    assert "Đã sao lưu" in done.stdout and " hộ, " in done.stdout and " giây." in done.stdout
    in_backup = _visits(target)
    before = {uuid for moment, uuids in acknowledged if moment < began for uuid in uuids}
    after = {uuid for moment, uuids in acknowledged if moment > ended for uuid in uuids}
    assert before and after
    assert before <= in_backup, "an acknowledged visit is missing from the backup"
    assert not after & in_backup
    # Whole batches only, each visit with its line.
    assert len(in_backup) % 5 == 0
    backup_engine = make_engine(f"sqlite:///{target}")
    with new_session(backup_engine) as session:
        assert session.exec(select(func.count()).select_from(Assistance)).one() == len(in_backup)
    backup_engine.dispose()


def test_restore_refuses_to_overwrite_without_force_then_replaces(live, tmp_path, monkeypatch):
    world, engine, url = live
    monkeypatch.setenv("FIELDKIT_DATABASE_URL", url)
    monkeypatch.setenv("FIELDKIT_INSTANCE", str(tmp_path))
    runner = CliRunner()
    backup_path = tmp_path / "backup.db"
    assert runner.invoke(main, ["backup", str(backup_path)]).exit_code == 0
    # Something happens after the backup: a visit.
    visited = forms.to_local(utcnow()).strftime("%Y-%m-%dT%H:%M")
    payload = visit_payload(household_id=world.household.id, visited_at=visited)
    with new_session(engine) as session:
        member = session.get(Member, world.volunteer.id)
        ingest(
            session,
            [SyncItem(id=payload["uuid"], kind="visit", payload=payload)],
            member=member,
            now=utcnow(),
            commit=session.commit,
        )
    engine.dispose()

    refused = runner.invoke(main, ["restore", str(backup_path)])
    assert refused.exit_code != 0
    assert "đang có dữ liệu" in refused.output and "--force" in refused.output
    database = Path(url.removeprefix("sqlite:///"))
    assert payload["uuid"] in _visits(database)  # nothing changed

    restored = runner.invoke(main, ["restore", str(backup_path), "--force"])
    assert restored.exit_code == 0, restored.output
    assert "fieldkit migrate" in restored.output
    assert _visits(database) == set()
    assert runner.invoke(main, ["migrate"]).exit_code == 0

    # Into an empty place no --force is needed.
    monkeypatch.setenv("FIELDKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'new' / 'fresh.db'}")
    assert runner.invoke(main, ["restore", str(backup_path)]).exit_code == 0


def test_what_is_no_backup_is_refused_and_postgresql_points_to_pg_dump(tmp_path, monkeypatch):
    runner = CliRunner()
    junk = tmp_path / "notes.db"
    junk.write_text("không phải cơ sở dữ liệu")
    monkeypatch.setenv("FIELDKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'fieldkit.db'}")
    answer = runner.invoke(main, ["restore", str(junk)])
    assert answer.exit_code != 0 and "không phải CSDL" in answer.output
    missing = runner.invoke(main, ["restore", str(tmp_path / "absent.db")])
    assert missing.exit_code != 0 and "Không có tệp sao lưu" in missing.output
    monkeypatch.setenv("FIELDKIT_DATABASE_URL", "postgresql+psycopg://u:p@localhost/db")
    answer = runner.invoke(main, ["backup", str(tmp_path / "x.db")])
    assert answer.exit_code != 0 and "pg_dump" in answer.output
