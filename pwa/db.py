"""One database session per request, in `g.db`. Routes commit; the session is rolled back
and closed at the end of every request, so nothing is ever half-saved."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlmodel import Session

from fieldkit.db import make_engine, new_session


def init_app(app: Flask) -> None:
    settings = app.config["FIELDKIT_SETTINGS"]
    app.extensions["fieldkit_engine"] = make_engine(settings.database_url, **settings.pool)
    app.teardown_appcontext(_close)


def session() -> Session:
    if "db" not in g:
        g.db = new_session(current_app.extensions["fieldkit_engine"])
    return g.db


def _close(_error) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.rollback()
        db.close()
