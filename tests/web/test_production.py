"""Production behaviour seen through the app (issue 13): health and readiness, trusted proxy
headers, Secure cookies and HSTS behind https, request ids and JSON logs, precompressed
static files with long-lived caching."""

from __future__ import annotations

import gzip
import json
import logging
from dataclasses import replace
from pathlib import Path

import brotli
import pytest
from sqlalchemy import text

from fieldkit.config import Settings
from pwa import create_app
from pwa.logs import JsonFormatter
from pwa.static_files import _version
from tests.fieldkit.helpers import visit_payload


def _app(tmp_path, database_url, **settings):
    base = replace(
        Settings.from_env({}),
        instance_path=tmp_path,
        database_url=database_url,
        secret_key="test-secret",
    )
    return create_app({"FIELDKIT_SETTINGS": replace(base, **settings), "TESTING": True})


def test_healthz_answers_without_the_database(tmp_path):
    app = _app(tmp_path, f"sqlite:///{tmp_path}/missing/nothing.db")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_readyz_says_ready_only_when_the_database_is_migrated(app, tmp_path):
    ready = app.test_client().get("/readyz")
    assert ready.status_code == 200
    assert ready.json["status"] == "ok"

    empty = _app(tmp_path, f"sqlite:///{tmp_path}/empty.db").test_client().get("/readyz")
    assert empty.status_code == 503
    assert empty.json["status"] == "unavailable"

    with app.extensions["fieldkit_engine"].begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    behind = app.test_client().get("/readyz")
    assert behind.status_code == 503
    assert behind.json["database"] == "migrations pending"


def test_forwarded_headers_are_believed_from_the_trusted_proxy_only(tmp_path, sqlite_url):
    forwarded = {
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "xa.example.vn",
    }
    app = _app(tmp_path, sqlite_url, trusted_proxies=("127.0.0.1",))

    @app.get("/_whoami")
    def whoami():
        from flask import request

        return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    from_proxy = app.test_client().get("/_whoami", headers=forwarded)
    assert from_proxy.json == {"addr": "203.0.113.7", "scheme": "https", "host": "xa.example.vn"}
    # The same headers from a phone on the internet change nothing: it cannot pose as another
    # address (sign-in throttling is per address) nor as https.
    stranger = app.test_client().get(
        "/_whoami", headers=forwarded, environ_base={"REMOTE_ADDR": "198.51.100.9"}
    )
    assert stranger.json == {"addr": "198.51.100.9", "scheme": "http", "host": "localhost"}
    # With no trusted proxy configured nobody's forwarding headers count.
    plain = _app(tmp_path, sqlite_url)
    plain.add_url_rule("/_whoami", view_func=whoami)
    assert plain.test_client().get("/_whoami", headers=forwarded).json["addr"] == "127.0.0.1"


def test_behind_https_cookies_are_secure_and_hsts_is_sent(tmp_path, sqlite_url):
    app = _app(
        tmp_path, sqlite_url, base_url="https://xa.example.vn", trusted_proxies=("127.0.0.1",)
    )
    response = app.test_client().get(
        "/signin", headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "xa.example.vn"}
    )
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_every_answer_has_a_request_id_and_a_json_log_line(app, caplog):
    caplog.set_level(logging.INFO, logger="fieldkit.request")
    response = app.test_client().get("/signin/not-a-real-token-at-all")
    request_id = response.headers["X-Request-Id"]
    assert len(request_id) == 32
    (record,) = [r for r in caplog.records if r.name == "fieldkit.request"]
    line = json.loads(JsonFormatter().format(record))
    assert line["status"] == response.status_code
    assert line["route"] == "/signin/<token>"  # never the token itself
    assert "not-a-real-token" not in json.dumps(line)
    assert line["method"] == "GET" and line["duration_ms"] >= 0
    # A request id from a trusted proxy is kept, so both logs name the same request.
    again = app.test_client().get("/healthz", headers={"X-Request-Id": "proxy-1234abcd"})
    assert again.headers["X-Request-Id"] != "proxy-1234abcd"  # no proxy is trusted here


@pytest.mark.parametrize(
    ("accept", "encoding"), [("br, gzip", "br"), ("gzip", "gzip"), ("identity", None)]
)
def test_static_files_are_precompressed_and_cached_for_a_year(app, accept, encoding):
    folder = Path(app.static_folder)
    original = (folder / "app.js").read_bytes()
    version = _version(str(folder / "app.js"))
    client = app.test_client()
    response = client.get(f"/static/app.js?v={version}", headers={"Accept-Encoding": accept})
    assert response.status_code == 200
    assert response.headers.get("Content-Encoding") == encoding
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Accept-Encoding" in response.headers["Vary"]
    body = response.get_data()
    response.close()
    decoded = {"br": brotli.decompress, "gzip": gzip.decompress, None: bytes}[encoding](body)
    assert decoded == original
    if encoding:
        assert len(body) < len(original) / 2
    # An old or missing version must be revalidated, never kept a year.
    stale = client.get("/static/app.js?v=0000000000", headers={"Accept-Encoding": accept})
    assert stale.headers["Cache-Control"] == "no-cache"
    stale.close()
    assert client.get("/static/../pyproject.toml").status_code == 404


def test_when_every_turn_is_taken_pages_and_the_api_answer_503_and_health_still_answers(app):
    # All of the process's turns taken (as by requests still working): a new request gets
    # 503 with Retry-After at once, never a wait for the pool and a 500.
    app.config["FIELDKIT_SETTINGS"] = replace(app.config["FIELDKIT_SETTINGS"], queue_timeout=0.01)
    turns = app.extensions["fieldkit_turns"]
    taken = 0
    while turns.acquire(blocking=False):
        taken += 1
    try:
        client = app.test_client()
        page = client.get("/signin")
        assert page.status_code == 503
        assert int(page.headers["Retry-After"]) > 0
        assert "Máy chủ đang bận vì nhiều người dùng cùng lúc" in page.get_data(as_text=True)
        api = client.post("/api/v1/sync", json={"items": []})
        assert api.status_code == 503
        assert api.json["error"].startswith("Máy chủ đang bận. Dữ liệu của bạn vẫn được giữ")
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200
        # A page that got its turn still gets its scripts.
        scripts = ("/offline/outbox.js", "/offline/outbox-rules.js", "/sw.js", "/static/app.js")
        for script in scripts:
            answer = client.get(script)
            assert answer.status_code == 200, script
            answer.close()
    finally:
        for _ in range(taken):
            turns.release()
    assert app.test_client().get("/signin").status_code == 200


def test_a_sync_waiting_too_long_for_sqlites_writer_answers_503_not_500(app, world, web):
    # Another writer holds SQLite's write lock longer than this batch may wait (the busy
    # timeout, shortened here from 15 s): the phone hears 503 + Retry-After and sends again
    # later; nothing is stored meanwhile.
    import sqlite3

    from sqlalchemy import event

    engine = app.extensions["fieldkit_engine"]
    engine.dispose()
    event.listen(engine, "connect", lambda conn, _record: conn.execute("PRAGMA busy_timeout=100"))
    web.sign_in(world.volunteer)
    blocker = sqlite3.connect(engine.url.database)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        payload = visit_payload(household_id=world.household.id)
        answer = web.client.post(
            "/api/v1/sync",
            json={"items": [{"id": payload["uuid"], "kind": "visit", "payload": payload}]},
            headers={"X-CSRF-Token": web.csrf},
        )
    finally:
        blocker.rollback()
        blocker.close()
    assert answer.status_code == 503
    assert int(answer.headers["Retry-After"]) > 0
    assert answer.json["error"].startswith("Máy chủ đang bận")
