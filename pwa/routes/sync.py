"""The sync API (DESIGN.md §4): the phone's outbox posts batches here. The rules live in
fieldkit.sync; this parses the body, checks who is sending, and owns the transactions: one
commit per stored item."""

from __future__ import annotations

import json

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _

from fieldkit import sync
from pwa import csrf, db, i18n, openapi
from pwa.auth import login_required
from pwa.errors import error_response
from pwa.routes import now

bp = Blueprint("sync", __name__)
# The token is checked in the view, after the sign-in check: a phone whose session ran out
# has no valid token either, and must hear 401 ("sign in again, your items are kept"), not a
# 400 it would take for a broken request.
csrf.exempt(bp)


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/v1/sync")
@login_required
def sync_batch():
    csrf.protect()  # raises CSRFError: 400 JSON (pwa/errors.py)
    try:
        body = json.loads(request.get_data(cache=False))
    except (ValueError, RecursionError):  # not JSON, not UTF-8, or nested beyond reason
        return error_response(400, _("Dữ liệu gửi lên không phải JSON hợp lệ."))
    try:
        items = sync.parse_batch(body)
    except sync.BatchTooLarge as too_large:
        return error_response(413, str(too_large))
    except sync.BadBatch as bad:
        return error_response(400, str(bad))
    session = db.session()
    moment = now()
    results = sync.ingest(session, items, member=g.member, now=moment, commit=session.commit)
    return jsonify(
        results=[i18n.translate_all(result.as_json()) for result in results],
        server_time=moment.isoformat(),
    )


@bp.get("/api/v1/openapi.json")
def openapi_document():
    return jsonify(openapi.document())
