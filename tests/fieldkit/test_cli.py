"""The `fieldkit` console command, run as an admin would, against a real SQLite file."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from fieldkit.cli import main
from fieldkit.db import make_engine, new_session
from fieldkit.members import redeem_sign_in_link
from fieldkit.models import utcnow


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("FIELDKIT_INSTANCE", str(tmp_path))
    monkeypatch.setenv("FIELDKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("FIELDKIT_BASE_URL", "https://fieldkit.example.vn")
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(main, list(args))
        assert (result.exit_code == 0) is ok, result.output
        return result.output

    invoke("migrate")
    return invoke


def test_set_up_a_commune_and_invite_its_first_member(run, tmp_path):
    assert "Đã tạo: Xã Vĩnh Lộc, Tỉnh Thanh Hóa (mã 15349)" in run("init", "15349")
    assert "Đã có" in run("init", "15349")
    run("village", "add", "Thôn Bái Đô")
    assert "Tổ trưởng" in run(
        "member",
        "add",
        "Bùi Văn Lực",
        "--role",
        "leader",
        "--village",
        "Thôn Bái Đô",
        "--phone",
        "0912345679",
    )
    output = run("invite", "0912345679")
    link = re.search(r"https://fieldkit\.example\.vn/signin/(\S+)", output)
    assert link, output
    assert "█" in output or "▀" in output or "▄" in output  # the QR code, drawn in the terminal
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with new_session(engine) as session:
        assert redeem_sign_in_link(session, link.group(1), now=utcnow()).name == "Bùi Văn Lực"
    engine.dispose()


def test_mistakes_at_the_console_get_clear_messages(run):
    assert "5 chữ số" in run("init", "1534", ok=False)
    assert "Không có xã nào mang mã 99999" in run("init", "99999", ok=False)
    assert "Chưa có xã nào" in run("village", "add", "Thôn Mới", ok=False)
    run("init", "15349")
    assert "Error: Thành viên và tổ trưởng phải thuộc một thôn." in run(
        "member", "add", "Ai Đó", ok=False
    )
    assert "Không có thôn" in run("member", "add", "Ai Đó", "--village", "Thôn Ma", ok=False)
    assert "Không tìm thấy thành viên" in run("invite", "0999999999", ok=False)
