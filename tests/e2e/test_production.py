"""The volunteer's morning against the production server (gunicorn with gunicorn.conf.py, as
`make serve` runs it) rather than Flask's: sign in, the village kept for offline use, a
visit logged through the outbox and stored once; static files arrive precompressed and
cached for a year."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlmodel import func, select

from fieldkit.db import new_session
from fieldkit.models import Visit
from tests.e2e.conftest import Server
from tests.e2e.flows import log_visit, sign_in, wait_ready_offline
from tests.serving import gunicorn_command


@pytest.fixture
def production_server(live_world, sqlite_url, tmp_path):
    server = Server(sqlite_url, tmp_path, command=gunicorn_command())
    server.env["FIELDKIT_WORKERS"] = "2"
    server.start()
    yield server
    server.stop()


def test_a_volunteer_works_against_gunicorn(page, production_server, live_world, shot):
    world, engine = live_world
    statics = {}
    page.on(
        "response",
        lambda response: (
            statics.setdefault(response.url.split("?")[0].rsplit("/", 1)[-1], response)
            if "/static/" in response.url
            else None
        ),
    )
    sign_in(page, production_server, world.volunteer.phone)
    wait_ready_offline(page, 2)

    css = statics["app.css"]
    assert css.header_value("content-encoding") == "br"
    assert css.header_value("cache-control") == "public, max-age=31536000, immutable"
    assert statics["app.js"].header_value("content-encoding") == "br"

    page.get_by_role("link", name="Nguyễn Văn An").first.click()
    log_visit(page, "Nguyễn Văn An (1968)", "vneid_level1")
    expect(page.get_by_role("status")).to_contain_text("Đã gửi lên xã")
    expect(page.locator(".visit")).to_have_count(1)
    shot(page, "production-gunicorn-household")
    with new_session(engine) as session:
        assert session.exec(select(func.count()).select_from(Visit)).one() == 1
