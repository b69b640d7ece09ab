"""Fieldkit's web app: create_app(), settings, extensions. No business rules live here."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_babel import Babel
from flask_compress import Compress
from flask_wtf.csrf import CSRFProtect
from htmx_flask import Htmx
from werkzeug.routing import IntegerConverter

from fieldkit.config import Settings
from fieldkit.forms import MAX_ID

csrf = CSRFProtect()
babel = Babel()
htmx = Htmx()
# Pages, scripts and styles go over the wire compressed (brotli or gzip): a cheap phone on 3G
# is the reference device.
compress = Compress()


def create_app(test_config: dict | None = None) -> Flask:
    """The app. Settings come from FIELDKIT_* environment variables (fieldkit.config);
    `test_config` overrides Flask config keys, and may carry a `FIELDKIT_SETTINGS` object."""
    settings = (test_config or {}).get("FIELDKIT_SETTINGS") or Settings.from_env()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    # <int:…> in every route is a row id: beyond the database's integer it is simply no page
    # (404), never an overflow inside the database (500).
    app.url_map.converters["int"] = IdConverter
    app.config.update(
        FIELDKIT_SETTINGS=settings,
        SECRET_KEY=settings.secret(),
        # Volunteers spend whole days offline: a session lasts 30 days from when it was last
        # used (DESIGN.md §4.6; kept on the server, pwa/auth.py and fieldkit/sessions.py). The
        # signed cookie of someone not signed in is also refused after 30 days.
        PERMANENT_SESSION_LIFETIME=timedelta(days=30),
        SESSION_REFRESH_EACH_REQUEST=True,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        SESSION_COOKIE_NAME="fieldkit_session",
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        BABEL_DEFAULT_LOCALE="vi",
        BABEL_DEFAULT_TIMEZONE="Asia/Ho_Chi_Minh",
        SEND_FILE_MAX_AGE_DEFAULT=timedelta(days=365),
        MAX_CONTENT_LENGTH=2 * 1024 * 1024,
        COMPRESS_MIMETYPES=[
            "text/html",
            "text/css",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/manifest+json",
            "image/svg+xml",
        ],
        COMPRESS_ALGORITHM=["br", "gzip"],
        # Streamed answers (a static file whose precompressed copy is missing, pwa/static_files.py)
        # in brotli or gzip: by default flask-compress picks zstd at level 3 for them when the
        # browser offers it (Chromium does) — app.css 8.8 KB instead of 7.4. The offline pack
        # compresses its own stream (pwa/offline_pack.py).
        COMPRESS_ALGORITHM_STREAMING=["br", "gzip"],
        COMPRESS_BR_LEVEL=6,  # ~3 ms for a 600-household list, 10 % smaller than the default
    )
    if test_config:
        app.config.update({k: v for k, v in test_config.items() if k != "FIELDKIT_SETTINGS"})

    from pwa import auth, db, errors, i18n, security, template_globals

    _init_production(app)  # first: request ids and load shedding come before any database use
    db.init_app(app)
    # Before CSRF: who is signed in is known first, so a request whose session has ended is
    # answered as signed out (401 for the API), not as a CSRF failure.
    auth.init_app(app)
    csrf.init_app(app)
    i18n.init_app(app)
    htmx.init_app(app)
    compress.init_app(app)
    errors.init_app(app)
    template_globals.init_app(app)
    security.init_app(app)

    from pwa.routes import (
        account,
        assignments,
        audit,
        exports,
        followups,
        guides,
        households,
        imports,
        members,
        menu,
        offline,
        privacy,
        province,
        push,
        review,
        stickers,
        sync,
        targets,
        villages,
        visits,
    )
    from pwa.routes import auth as auth_routes

    for module in (
        auth_routes,
        account,
        members,
        assignments,
        households,
        visits,
        villages,
        offline,
        sync,
        audit,
        privacy,
        exports,
        push,
        stickers,
        guides,
        menu,
        review,
        followups,
        targets,
        province,
        imports,
    ):
        app.register_blueprint(module.bp)
    return app


def _init_production(app: Flask) -> None:
    """Production serving (issue 13): X-Forwarded-* from trusted proxies only, JSON request
    logs with a request id, load shedding (503 + Retry-After), precompressed static files
    cached for a year, /healthz and /readyz."""
    from pwa import logs, overload, proxy, static_files
    from pwa.routes import health

    proxy.init_app(app)
    logs.init_app(app)
    overload.init_app(app)
    static_files.init_app(app)
    app.register_blueprint(health.bp)


class IdConverter(IntegerConverter):
    """Werkzeug's integer converter, bounded to the ids the database can hold."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)
