"""Issue 14's "done when", on SQLite and on PostgreSQL: on an empty server, two communes of
one province are set up from the console, the first province admin is made and invited from
the console, signs in with that link, sees both communes side by side and invites province
staff; a commune's own staff still see only their commune."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner
from sqlmodel import select

from fieldkit.cli import main
from fieldkit.db import new_session
from fieldkit.models import Commune, Village

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


@pytest.fixture
def app(app_on_each_engine):
    return app_on_each_engine


def _signed_in(app, link: str):
    client = app.test_client()
    token = link.rsplit("/signin/", 1)[1]
    page = client.get(f"/signin/{token}")
    assert page.status_code == 200
    csrf = CSRF.search(page.get_data(as_text=True)).group(1)
    assert client.post(f"/signin/{token}", data={"csrf_token": csrf}).status_code == 303
    return client


def test_two_communes_from_the_console_and_the_province_sees_both(
    app, engine, tmp_path, monkeypatch
):
    monkeypatch.setenv("FIELDKIT_INSTANCE", str(tmp_path))
    monkeypatch.setenv("FIELDKIT_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("FIELDKIT_BASE_URL", "https://fieldkit.example.vn")
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(main, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    run("init", "15349", "14758")
    run("village", "add", "Thôn Bái Đô", "--commune", "15349")
    run("village", "add", "Thôn Nam", "--commune", "14758")
    run(
        "member",
        "add",
        "Lê Văn Chung",
        "--role",
        "staff",
        "--phone",
        "0912345678",
        "--commune",
        "15349",
    )
    run(
        "member", "add", "Lê Thị Hồng Nhung", "--role", "province_admin",
        "--province", "38", "--phone", "0912300001",
    )  # fmt: skip
    link = re.search(r"\S+/signin/\S+", run("invite", "0912300001", "--no-qr")).group(0)

    admin = _signed_in(app, link)
    assert admin.get("/").headers["Location"].endswith("/province")
    page = admin.get("/province").get_data(as_text=True)
    csrf = CSRF.search(page).group(1)  # the signed-in session's
    table = page.split('data-table="communes"')[1].split("</table>")[0]
    assert "Xã Vĩnh Lộc" in table and "Phường Hàm Rồng" in table and "Toàn tỉnh" in table
    assert len(re.findall(r"<tr data-commune=\"\d{5}\"", table)) == 2
    with new_session(engine) as session:
        communes = {c.code: c for c in session.exec(select(Commune)).all()}
        nam = session.exec(select(Village).where(Village.name == "Thôn Nam")).one()
    for commune in communes.values():
        assert admin.get(f"/province/communes/{commune.id}").status_code == 200

    invited = admin.post(
        "/province/members",
        data={
            "name": "Hoàng Minh Đức",
            "phone": "0912300002",
            "role": "province",
            "csrf_token": csrf,
        },
    )
    assert invited.status_code == 200
    staff_link = re.search(r"https?://[^\"<\s]+/signin/[^\"<\s]+", invited.get_data(as_text=True))
    province_staff = _signed_in(app, staff_link.group(0))
    assert "Phường Hàm Rồng" in province_staff.get("/province").get_data(as_text=True)

    commune_link = re.search(r"\S+/signin/\S+", run("invite", "0912345678", "--no-qr")).group(0)
    commune_staff = _signed_in(app, commune_link)
    assert commune_staff.get("/province").status_code == 403
    assert commune_staff.get(f"/villages/{nam.id}").status_code in (403, 404)
    overview = commune_staff.get("/villages/commune").get_data(as_text=True)
    assert "Thôn Bái Đô" in overview and "Thôn Nam" not in overview
