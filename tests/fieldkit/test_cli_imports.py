"""`fieldkit import households|team FILE [--commune CODE] [--dry-run]` at the console (issue 15):
exit code 0 when the file imports (or would) cleanly, 1 when rows are refused — each printed
with its line and reason — and nothing written unless asked."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlmodel import func, select

from fieldkit.cli import main
from fieldkit.db import make_engine, new_session
from fieldkit.members import redeem_sign_in_link
from fieldkit.models import Commune, Household, ImportBatch, Member, Village, utcnow
from tests.import_files import HOUSEHOLD_HEADERS, csv_bytes, roster_xlsx

GOOD = [
    [1, "Thôn Bái Đô", "1", "Trịnh Văn Một", 1960, "Nam", "0912000101", 1, "Có", ""],
    [2, "Thôn Bái Đô", "2", "Trịnh Thị Hai", 1965, "Nữ", "", "", "", ""],
]
BAD = GOOD + [[3, "Thôn Bái Đô", "3", "", 1970, "Nam", "", "", "", ""]]


@pytest.fixture
def console(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDKIT_INSTANCE", str(tmp_path))
    monkeypatch.setenv("FIELDKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("FIELDKIT_BASE_URL", "https://fieldkit.example.vn")
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == code, result.output
        return result.output

    invoke("migrate")
    invoke("init", "15349")
    invoke("village", "add", "Thôn Bái Đô")
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    yield invoke, engine
    engine.dispose()


def households(engine) -> int:
    with new_session(engine) as session:
        return session.exec(select(func.count()).select_from(Household)).one()


def test_households_dry_run_then_import(console, tmp_path):
    invoke, engine = console
    path = tmp_path / "ho.csv"
    path.write_bytes(csv_bytes(HOUSEHOLD_HEADERS, GOOD))
    out = invoke("import", "households", str(path), "--dry-run")
    assert "Xem trước: 2 hộ mới" in out
    assert households(engine) == 0
    with new_session(engine) as session:  # a dry run leaves no batch behind either
        assert session.exec(select(func.count()).select_from(ImportBatch)).one() == 0
    out = invoke("import", "households", str(path), "--commune", "15349")
    assert "Đã đưa vào: 2 hộ mới" in out
    assert households(engine) == 2
    out = invoke("import", "households", str(path))
    assert "Đã đưa vào: 0 hộ mới, 0 hộ cập nhật, 2 hộ không đổi" in out


def test_refused_rows_are_printed_and_exit_1(console, tmp_path):
    invoke, engine = console
    path = tmp_path / "ho.csv"
    path.write_bytes(csv_bytes(HOUSEHOLD_HEADERS, BAD))
    out = invoke("import", "households", str(path), "--dry-run", code=1)
    assert re.search(r"Dòng 5: Vui lòng nhập họ (và )?tên", out), out
    out = invoke("import", "households", str(path), code=1)
    assert "Chưa đưa vào" in out
    assert households(engine) == 0
    out = invoke("import", "households", str(path), "--skip-refused", code=1)
    assert "Đã đưa vào: 2 hộ mới" in out
    assert households(engine) == 2


def test_unknown_commune_and_unknown_villages(console, tmp_path):
    invoke, engine = console
    path = tmp_path / "ho.csv"
    rows = [[1, "Thôn Mới Lập", "1", "Lò Văn Mới", 1960, "Nam", "", "", "", ""]]
    path.write_bytes(csv_bytes(HOUSEHOLD_HEADERS, rows))
    assert "Máy chủ chưa có xã mã 99999" in invoke(
        "import", "households", str(path), "--commune", "99999", code=1
    )
    out = invoke("import", "households", str(path), "--dry-run", code=1)
    assert "--create-villages" in out
    out = invoke("import", "households", str(path), "--create-villages")
    assert "Đã đưa vào: 1 hộ mới" in out


def test_team_with_invite_links(console, tmp_path):
    invoke, engine = console
    path = tmp_path / "to.xlsx"
    path.write_bytes(roster_xlsx([["Đinh Thị Tổ", "912888777", "Tổ trưởng", "Bái Đô"]]))
    out = invoke("import", "team", str(path), "--links")
    assert "Đã đưa vào: 1 người mới" in out
    link = re.search(r"https://fieldkit\.example\.vn/signin/(\S+)", out)
    with new_session(engine) as session:
        person = redeem_sign_in_link(session, link.group(1), now=utcnow())
        assert (person.name, person.phone) == ("Đinh Thị Tổ", "0912888777")
        assert session.exec(select(func.count()).select_from(Member)).one() == 1
    assert "1 không đổi" in invoke("import", "team", str(path))


def test_many_communes_pick_one_the_same_way_as_every_command(console, tmp_path):
    """With two communes on the server, an import asks which one (the same `--commune CODE`
    and message as every other console command, issue 14) and writes only into that one."""
    invoke, engine = console
    invoke("init", "14758")
    path = tmp_path / "ho.csv"
    path.write_bytes(csv_bytes(HOUSEHOLD_HEADERS, GOOD))
    out = invoke("import", "households", str(path), code=1)
    assert "chọn xã bằng --commune MÃ_XÃ" in out
    assert households(engine) == 0
    out = invoke("import", "households", str(path), "--commune", "15349")
    assert "Đã đưa vào: 2 hộ mới" in out
    with new_session(engine) as session:
        codes = session.exec(
            select(Commune.code)
            .join(Village, Village.commune_id == Commune.id)
            .join(Household, Household.village_id == Village.id)
        ).all()
    assert set(codes) == {"15349"}
