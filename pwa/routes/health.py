"""Health and readiness, for the reverse proxy, the load balancer and the service manager.

- `/healthz`: the process answers (no database). A load balancer restarts what fails it.
- `/readyz`: the database answers and its schema is at the migrations' head — an app server
  whose database is not migrated yet (an upgrade in progress) takes no traffic.

Both answer JSON, are never cached, need no sign-in, and take no turn of the load shedding
(pwa/overload.py): a busy server still says it is alive.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from fieldkit import migrate

bp = Blueprint("health", __name__)


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    heads = _heads()
    try:
        with current_app.extensions["fieldkit_engine"].connect() as connection:
            current = set(
                connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
            )
    except Exception as error:  # the database is down, unreachable, or has no schema yet
        current_app.logger.warning("readyz: database not ready: %s", error.__class__.__name__)
        return jsonify(status="unavailable", database="unreachable or not migrated"), 503
    if current != heads:
        return (
            jsonify(
                status="unavailable",
                database="migrations pending",
                current=sorted(current),
                expected=sorted(heads),
            ),
            503,
        )
    return jsonify(status="ok", migrations=sorted(heads))


def _heads() -> set[str]:
    """The migrations' head revisions, read once per process from the migration scripts."""
    heads = current_app.extensions.get("fieldkit_migration_heads")
    if heads is None:
        heads = current_app.extensions["fieldkit_migration_heads"] = migrate.heads()
    return heads
