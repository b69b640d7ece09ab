"""Web security: the Content-Security-Policy and the other headers on every kind of answer, no
inline script or style in any page, session cookie flags, CSRF refusal on every POST route
(built from app.url_map, so a new route is covered the day it appears), and throttling of
wrong sign-in links and door-sticker links."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import SQLModel, func, select
from werkzeug.routing import IntegerConverter

from fieldkit import members
from fieldkit.config import Settings
from fieldkit.models import utcnow
from pwa import create_app, security
from pwa.routes import auth as auth_routes

TEMPLATES = Path(__file__).resolve().parents[2] / "pwa" / "templates"
INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"<style\b", re.I), "<style> element"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "on…= handler attribute"),
    (re.compile(r"\shx-on", re.I), "hx-on attribute (needs eval)"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
]


def _assert_secure_headers(response, what: str) -> None:
    for name, value in security.HEADERS.items():
        assert response.headers.get(name) == value, f"{what}: {name}"
    csp = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert "script-src 'self'" in csp and "style-src 'self'" in csp


def _inline_found(html: str) -> list[str]:
    return [label for pattern, label in INLINE if pattern.search(html)]


def test_every_kind_of_answer_carries_the_security_headers(web, world):
    web.sign_in(world.volunteer)
    household = world.household.id
    answers = {
        "list page": web.get("/households"),
        "household page": web.get(f"/households/{household}"),
        "htmx fragment": web.get("/households?q=an", headers={"HX-Request": "true"}),
        "visit form": web.get(f"/households/{household}/visits/new"),
        "outbox page": web.get("/outbox"),
        "service worker": web.get("/sw.js"),
        "outbox script": web.get(
            re.search(r'(/offline/outbox\.js[^" ]*)', web.get("/households").text).group(1)
        ),
        "manifest": web.get("/manifest.webmanifest"),
        "stylesheet": web.get("/static/app.css"),
        "API JSON": web.get("/api/v1/session"),
        "OpenAPI": web.get("/api/v1/openapi.json"),
        "403 page": web.get(f"/households/{world.far_household.id}"),
        "404 page": web.get("/no-such-page"),
        "404 JSON": web.get("/api/v1/no-such-thing"),
        "CSRF refusal": web.client.post("/api/v1/sync", json={"items": []}),
        "redirect": web.get("/"),
    }
    signed_out = web.app_client_fresh()
    answers["sign-in page"] = signed_out.get("/signin")
    answers["refused link"] = signed_out.get("/signin/not-a-token")
    answers["401 JSON"] = signed_out.post("/api/v1/sync", json={"items": []})
    for what, response in answers.items():
        _assert_secure_headers(response, what)
        assert "Strict-Transport-Security" not in response.headers  # served over http here
        response.close()  # a file sent from disk stays open until then
    assert answers["service worker"].status_code == 200
    assert answers["403 page"].status_code == 403 and answers["404 JSON"].status_code == 404


def test_no_page_has_inline_script_or_style(web, world):
    """Under script-src/style-src 'self' inline code would be blocked: none anywhere, in the
    templates as written and in the pages as served."""
    for path in TEMPLATES.rglob("*.html"):
        found = _inline_found(path.read_text())
        assert not found, f"{path.relative_to(TEMPLATES)}: {found}"
    web.sign_in(world.volunteer)
    for url in [
        "/households",
        f"/households/{world.household.id}",
        "/outbox",
        "/villages",
        f"/households/{world.household.id}/visits/new",
        "/households/new",
    ]:
        assert not _inline_found(web.get(url).text), url
    staff = web.app_client_fresh()
    from tests.web.conftest import Browser

    browser = Browser(staff, web.db)
    browser.sign_in(world.staff)
    for url in [
        "/audit",
        "/settings",
        f"/households/{world.household.id}",
        f"/households/{world.household.id}/erase",
    ]:
        page = browser.get(url)
        assert page.status_code == 200, url
        assert not _inline_found(page.text), url


def test_session_cookie_is_httponly_and_samesite_and_secure_over_https(
    app, web, world, sqlite_url, tmp_path
):
    token = members.create_sign_in_link(web.db, world.volunteer, now=utcnow())
    web.db.commit()
    web.get(f"/signin/{token}")
    response = web.post(f"/signin/{token}")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie

    settings = replace(
        Settings.from_env({}),
        instance_path=tmp_path,
        database_url=sqlite_url,
        secret_key="test-secret",
        base_url="https://fieldkit.example.vn",
    )
    https_app = create_app({"FIELDKIT_SETTINGS": settings, "TESTING": True})
    try:
        client = https_app.test_client()
        token = members.create_sign_in_link(web.db, world.volunteer, now=utcnow())
        web.db.commit()
        page = client.get(f"/signin/{token}", base_url="https://fieldkit.example.vn")
        assert page.headers["Strict-Transport-Security"].startswith("max-age=31536000")
        csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
        # Over https Flask-WTF also wants a same-origin Referer, which the Referrer-Policy
        # (same-origin) lets the browser send.
        signed_in = client.post(
            f"/signin/{token}",
            data={"csrf_token": csrf},
            base_url="https://fieldkit.example.vn",
            headers={"Referer": f"https://fieldkit.example.vn/signin/{token}"},
        )
        assert signed_in.status_code == 303
        cookie = signed_in.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    finally:
        https_app.extensions["fieldkit_engine"].dispose()


def _row_counts(db) -> dict[str, int]:
    db.rollback()  # see what other connections committed
    return {
        table.name: db.exec(select(func.count()).select_from(table)).one()
        for table in SQLModel.metadata.sorted_tables
    }


def _sample_url(rule, world) -> str:
    """A URL for the rule, with an object inside the member's scope for its arguments."""
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = world.household.id if isinstance(converter, IntegerConverter) else "x"
    return rule.build(values, append_unknown=False)[1]


@pytest.mark.parametrize("role", ["volunteer", "staff"])
def test_every_post_route_refuses_a_request_without_the_csrf_token(app, web, db, world, role):
    web.sign_in(getattr(world, role))
    posts = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]
    assert len(posts) >= 8  # the test would pass vacuously if the map were not read
    before = _row_counts(db)
    for rule in posts:
        url = _sample_url(rule, world)
        for kwargs in (
            {"data": {"name": "x"}},
            {"json": {"items": []}},
            {"data": {"name": "x"}, "headers": {"HX-Request": "true"}},
        ):
            response = web.client.post(url, **kwargs)
            assert response.status_code == 400, f"{rule.endpoint} {url}: {response.status_code}"
            message = response.get_json()["error"] if response.is_json else response.text
            assert "mã bảo vệ" in message, rule.endpoint
        wrong = web.client.post(
            url, data={"csrf_token": "forged"}, headers={"X-CSRF-Token": "forged"}
        )
        assert wrong.status_code == 400, rule.endpoint
    assert _row_counts(db) == before
    # and the session still works with its token: the refusals were about the token only
    assert web.post("/signout").status_code == 303


def test_wrong_sign_in_links_are_throttled_by_address(app, web, db, world, monkeypatch):
    """Tokens that name no link, from one address, are held back after LINK_GUESSES; a valid
    link is not (tests/web/test_sessions.py: a team behind one NAT), and another address is
    not held back by this one's guesses."""
    monkeypatch.setattr(auth_routes, "LINK_GUESSES", 20)
    stranger = app.test_client()
    for _ in range(20):
        assert stranger.get("/signin/guessed-token").status_code == 410
    refused = stranger.get("/signin/another-guess")
    assert refused.status_code == 429
    assert "Hãy đợi 15 phút" in refused.text
    assert refused.headers["Retry-After"] == "900"
    _assert_secure_headers(refused, "429 page")
    assert stranger.post("/api/v1/passkeys/enroll/a-guess/options").status_code in (400, 429)
    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "10.0.0.8"
    assert elsewhere.get("/signin/a-typo").status_code == 410
    token = members.create_sign_in_link(db, world.volunteer, now=utcnow())
    db.commit()
    assert stranger.get(f"/signin/{token}").status_code == 200
    # Once the window has passed, the first address may guess again.
    later = utcnow() + auth_routes.LINK_WINDOW + timedelta(minutes=1, seconds=1)
    monkeypatch.setattr(auth_routes, "now", lambda: later)
    assert stranger.get("/signin/guessed-again").status_code == 410


def test_wrong_door_sticker_links_are_throttled_per_member(app, web, db, world, monkeypatch):
    """Sticker links open only for a signed-in member, so the guesser is a member: counted per
    member, never per address."""
    web.sign_in(world.volunteer)
    for i in range(security.STICKER_LIMIT):
        assert web.client.get(f"/s/guess-{i}").status_code == 404
    refused = web.client.get("/s/one-more")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "900"
    neighbour = type(web)(app.test_client(), db)  # same address
    neighbour.sign_in(world.leader)
    assert neighbour.client.get("/s/a-typo").status_code == 404
