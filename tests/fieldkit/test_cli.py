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


# --- a province on one server (issue 14) -------------------------------------------------


def test_init_a_whole_province_then_add_to_one_commune_with_commune(run):
    output = run("init", "--province", "38")
    assert "Tỉnh Thanh Hóa: 166 xã, phường — đã tạo 166, đã có 0." in output
    assert "đã tạo 0, đã có 166" in run("init", "--province", "38")
    refused = run("village", "add", "Thôn Mới", ok=False)
    assert "Máy chủ có 166 xã; chọn xã bằng --commune MÃ_XÃ" in refused
    assert "Đã thêm Thôn Mới vào Xã Vĩnh Lộc" in run(
        "village", "add", "Thôn Mới", "--commune", "15349"
    )
    assert "Máy chủ chưa có xã mã 00082" in run(
        "village", "add", "Thôn Mới", "--commune", "00082", ok=False
    )
    assert "Cho biết mã xã" in run("init", ok=False)
    assert "Mã tỉnh phải gồm đúng 2 chữ số" in run("init", "--province", "3", ok=False)


def test_every_commune_command_works_without_commune_when_there_is_one(run):
    run("init", "15349")
    run("village", "add", "Thôn Bái Đô")
    assert "Tổ trưởng" in run(
        "member", "add", "Bùi Văn Lực", "--role", "leader", "--village", "Thôn Bái Đô"
    )


def test_a_phone_in_two_communes_is_told_apart_with_commune(run, tmp_path):
    run("init", "15349", "14758")
    for commune in ("15349", "14758"):
        run(
            "member",
            "add",
            "Lê Văn Chung",
            "--role",
            "staff",
            "--phone",
            "0912345678",
            "--commune",
            commune,
        )
    assert "có ở 2 nơi" in run("invite", "0912345678", "--no-qr", ok=False)
    output = run("invite", "0912345678", "--no-qr", "--commune", "14758")
    token = re.search(r"/signin/(\S+)", output).group(1)
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with new_session(engine) as session:
        person = redeem_sign_in_link(session, token, now=utcnow())
        from fieldkit.models import Commune

        assert session.get(Commune, person.commune_id).code == "14758"
    engine.dispose()


def test_the_first_province_admin_is_made_and_invited_at_the_console(run, tmp_path):
    run("init", "15349", "14758")
    output = run(
        "member",
        "add",
        "Lê Thị Hồng Nhung",
        "--role",
        "province_admin",
        "--province",
        "38",
        "--phone",
        "0912300001",
    )
    assert "Quản trị tỉnh, tỉnh 38" in output
    link = re.search(r"/signin/(\S+)", run("invite", "0912300001", "--no-qr")).group(1)
    engine = make_engine(f"sqlite:///{tmp_path / 'cli.db'}")
    with new_session(engine) as session:
        person = redeem_sign_in_link(session, link, now=utcnow())
        assert (person.province_code, person.commune_id) == ("38", None)
    engine.dispose()
    assert "Cán bộ tỉnh thuộc một tỉnh" in run(
        "member",
        "add",
        "Ai Đó",
        "--role",
        "province",
        "--province",
        "38",
        "--commune",
        "15349",
        ok=False,
    )
    assert "Hãy cho biết mã tỉnh" in run("member", "add", "Ai Đó", "--role", "province", ok=False)
    assert "Không có tỉnh nào mang mã 99" in run(
        "member", "add", "Ai Đó", "--role", "province", "--province", "99", ok=False
    )


def test_the_demo_is_built_in_the_commune_given(run):
    assert "Xã mẫu: Phường Hàm Rồng, Tỉnh Thanh Hóa" in run(
        "demo", "--commune", "14758", "--households", "40"
    )
    assert "Máy chủ chưa có xã mã 15349" in run(
        "village", "add", "Thôn X", "--commune", "15349", ok=False
    )
