"""Structured logs: one JSON object per line, and one line per request with its request id,
route, status and duration. The request id comes from the trusted proxy's X-Request-Id (so
the proxy's log and ours name the same request) or is made here; it is sent back in the
response's X-Request-Id and added to every log line written while the request runs.

Paths are logged as their route ("/signin/<token>"), never as sent: sign-in and sticker
tokens live in paths and must not end up in logs.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import Flask, g, has_request_context, request

REQUEST_LOG = logging.getLogger("fieldkit.request")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")
QUIET_ENDPOINTS = frozenset({"health.healthz", "health.readyz", "static"})


class JsonFormatter(logging.Formatter):
    """A log record as one line of JSON: time, level, logger, message, the request id when
    inside a request, the fields passed in `extra={"fields": {...}}`, and the traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context() and "request_id" in g:
            entry["request_id"] = g.request_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO") -> None:
    """Send every log record to stderr as JSON (gunicorn.conf.py calls this in each worker)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)


def _start() -> None:
    sent = request.headers.get("X-Request-Id", "")  # only a trusted proxy's (pwa/proxy.py)
    g.request_id = sent if _REQUEST_ID.fullmatch(sent) else uuid.uuid4().hex
    g.request_started = time.perf_counter()


def _finish(response):
    request_id = g.get("request_id")
    if request_id is None:  # a hook before ours answered (load shedding)
        _start()
        request_id = g.request_id
    response.headers["X-Request-Id"] = request_id
    rule = request.url_rule.rule if request.url_rule is not None else "(no route)"
    member = g.get("member")
    # The member's id from the identity map, without a query (the session may be rolled back).
    member_id = sa.inspect(member).identity[0] if member is not None else None
    fields = {
        "method": request.method,
        "route": rule,
        "status": response.status_code,
        "duration_ms": round((time.perf_counter() - g.request_started) * 1000, 1),
        "client": request.remote_addr,
        "member_id": member_id,
    }
    level = logging.DEBUG if request.endpoint in QUIET_ENDPOINTS else logging.INFO
    REQUEST_LOG.log(
        level, "%s %s %s", request.method, rule, response.status_code, extra={"fields": fields}
    )
    return response
