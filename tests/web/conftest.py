"""Web tests: the real app over a real database, driven by Flask's test client. CSRF stays on;
the `web` fixture reads the token from the page like the page script does."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from fieldkit import members
from fieldkit.config import Settings
from fieldkit.db import new_session
from fieldkit.models import Member
from pwa import create_app
from tests.conftest import NOW
from tests.factories import build_world

CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def _app(url: str, tmp_path):
    settings = replace(
        Settings.from_env({}),
        instance_path=tmp_path,
        database_url=url,
        secret_key="test-secret",
    )
    return create_app({"FIELDKIT_SETTINGS": settings, "TESTING": True})


@pytest.fixture
def app(sqlite_url, tmp_path):
    app = _app(sqlite_url, tmp_path)
    yield app
    app.extensions["fieldkit_engine"].dispose()


@pytest.fixture
def app_on_each_engine(engine, tmp_path):
    """The app over SQLite, then over PostgreSQL (emptied first) when it is configured: a
    module that must hold on both asks for it as its `app`."""
    app = _app(engine.url.render_as_string(hide_password=False), tmp_path)
    yield app
    app.extensions["fieldkit_engine"].dispose()


@pytest.fixture
def db(app):
    with new_session(app.extensions["fieldkit_engine"]) as session:
        yield session


@pytest.fixture
def world(db):
    world = build_world(db, now=NOW)
    db.commit()
    return world


class Browser:
    """A test client that signs in through a real one-time link and sends the CSRF token."""

    def __init__(self, client, db):
        self.client = client
        self.db = db
        self.csrf = None

    def sign_in(self, member: Member) -> None:
        token = members.create_sign_in_link(self.db, member, now=_now())
        self.db.commit()
        page = self.client.get(f"/signin/{token}")
        assert page.status_code == 200
        self._remember(page)
        response = self.client.post(f"/signin/{token}", data={"csrf_token": self.csrf})
        assert response.status_code == 303, response.text
        self._remember(self.client.get("/", follow_redirects=True))

    def _remember(self, response) -> None:
        found = CSRF.search(response.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)

    def app_client_fresh(self):
        """Another phone: a client with no cookies."""
        return self.client.application.test_client()

    def get(self, url, **kwargs):
        response = self.client.get(url, **kwargs)
        self._remember(response)
        return response

    def post(self, url, data=None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.csrf)
        return self.client.post(url, data=data, **kwargs)


def _now():
    from fieldkit.models import utcnow

    return utcnow()


@pytest.fixture
def web(app, db):
    return Browser(app.test_client(), db)
