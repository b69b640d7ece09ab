"""Overload is not an error: a process works on at most `max_inflight` requests at once (the
database pool holds one connection for each), and a request that finds no free turn within
`queue_timeout` seconds is answered 503 with Retry-After — which the phone's outbox retries —
instead of waiting for a pool connection until it fails with a 500.

Health checks, static files and the offline scripts take no turn: they need no database
connection, a saturated server must still say it is alive, and a page that got its turn must
get its scripts too.

The turn is taken as soon as a request needs the database, which for a signed-in person is
when the session is opened (pwa/auth.py looks the cookie up), before any before_request hook
runs. Taking it only in before_request left those lookups unbounded: the load test of
500 volunteers saw 16 threads per process wait on a pool of 6 connections, time out inside
Flask's context push, and answer 500 with no page (545 of them on a quiet machine).
"""

from __future__ import annotations

import threading

from flask import Flask, current_app, g, request
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from pwa import errors

RETRY_AFTER = 5  # seconds; the outbox waits at least this long before sending again
# The API's caller is the outbox: it keeps the items and sends them again by itself.
BUSY = _l(
    "Máy chủ đang bận. Dữ liệu của bạn vẫn được giữ trên máy; ứng dụng sẽ tự gửi lại sau ít giây."
)
BUSY_PAGE = _l("Máy chủ đang bận vì nhiều người dùng cùng lúc. Hãy đợi vài giây rồi tải lại trang.")
# No database behind them: a page that got its turn must not lose its scripts to a 503.
FREE_ENDPOINTS = frozenset(
    {
        "static",
        "health.healthz",
        "health.readyz",
        "offline.service_worker",
        "offline.outbox_script",
        "offline.outbox_rules_script",
        "offline.manifest",
    }
)


def init_app(app: Flask) -> None:
    """Register before every other before_request hook (they may use the database)."""
    settings = app.config["FIELDKIT_SETTINGS"]
    app.extensions["fieldkit_turns"] = threading.BoundedSemaphore(settings.max_inflight)
    app.before_request(_take_turn)
    app.teardown_request(_give_back_turn)
    # The last line of defence: a request that still could not get a connection in time, or
    # waited too long for the database's locks (SQLite's one writer, PostgreSQL's limits).
    app.register_error_handler(PoolTimeout, lambda _error: busy())
    app.register_error_handler(OperationalError, _database_busy)


# too_many_connections, lock_not_available, query_canceled (statement/lock timeouts)
BUSY_SQLSTATES = frozenset({"53300", "55P03", "57014"})


def _database_busy(error: OperationalError):
    """503 when the database is busy rather than broken; anything else stays a 500."""
    cause = error.orig
    if "database is locked" in str(cause) or getattr(cause, "sqlstate", None) in BUSY_SQLSTATES:
        current_app.logger.warning("database busy, request shed: %s", str(cause)[:200])
        return busy()
    raise error


def busy():
    """503 with Retry-After: JSON for the API, the Vietnamese error page for people."""
    message = BUSY if request.path.startswith("/api/") else BUSY_PAGE
    response = current_app.make_response(errors.error_response(503, message))
    response.headers["Retry-After"] = str(RETRY_AFTER)
    response.headers["Cache-Control"] = "no-store"
    return response


_queue = threading.local()
# Set on the WSGI environ when the request was shed while its session was being opened.
SHED = "fieldkit.shed"


def note_queue_wait(seconds: float) -> None:
    """How long the request this thread is about to serve waited in the server's own queue
    (pwa/worker.py, under gunicorn); it counts against the queue timeout."""
    _queue.waited = seconds


def take_turn() -> bool:
    """This request's turn to use the database, taken once and given back at teardown: True
    when it has one (or the app sheds nothing: development server, tests), False when none
    came free within the queue timeout."""
    if "fieldkit_turn" in g:
        return True
    turns = current_app.extensions.get("fieldkit_turns")
    if turns is None:
        return True
    left = current_app.config["FIELDKIT_SETTINGS"].queue_timeout - getattr(_queue, "waited", 0.0)
    if left <= 0 or not turns.acquire(timeout=left):
        return False
    g.fieldkit_turn = turns
    return True


def shed(environ: dict, reason: str) -> None:
    """Answer this request 503 + Retry-After as soon as it is dispatched (_take_turn): for
    what happens before dispatch, where an error handler cannot answer."""
    if reason:
        current_app.logger.warning("request shed before dispatch: %s", reason[:200])
    environ[SHED] = True


def _take_turn():
    if request.environ.pop(SHED, False):
        return busy()
    if request.endpoint in FREE_ENDPOINTS:
        return None
    if not take_turn():
        return busy()
    return None


def _give_back_turn(_error=None) -> None:
    turns = g.pop("fieldkit_turn", None)
    if turns is not None:
        turns.release()
