"""Push notifications: this browser's subscription, kept or forgotten (JSON in, JSON out,
called by static/push.js from the account page). Nothing here sends: the queue is drained by
`fieldkit push-worker` (fieldkit/push.py)."""

from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, request
from flask import session as flask_session
from flask_babel import gettext as _

from fieldkit import push
from fieldkit.errors import Invalid
from pwa import db, errors
from pwa.auth import login_required
from pwa.routes import now
from pwa.webpush import SESSION_KEY, vapid

bp = Blueprint("push", __name__)


@bp.record_once
def _load_keys(state) -> None:
    """Made on the app's first run, kept in the instance folder; the worker reads the same."""
    vapid(state.app)


def _answer(body: dict, status: int = 200):
    response = jsonify(body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.post("/api/v1/push/subscriptions")
@login_required
def subscribe():
    """Keep the subscription the browser made ({endpoint, keys: {p256dh, auth}}, the shape of
    PushSubscription.toJSON()). Bad keys → 422 and nothing kept."""
    body = _body()
    keys = body.get("keys") if isinstance(body.get("keys"), dict) else {}
    if not isinstance(body.get("endpoint"), str):
        return errors.error_response(422, _("Trình duyệt không gửi đăng ký nhận thông báo."))
    store = db.session()
    settings = current_app.config["FIELDKIT_SETTINGS"]
    try:
        push.subscribe(
            store,
            g.member,
            endpoint=body["endpoint"],
            p256dh=keys.get("p256dh"),
            auth=keys.get("auth"),
            user_agent=request.user_agent.string,
            allow_local=settings.push_allows_local,
            now=now(),
        )
    except Invalid as invalid:
        store.rollback()
        return errors.error_response(422, " ".join(invalid.errors.values()), invalid.errors)
    store.commit()
    # Remembered in this browser's session so that signing out here stops its notifications
    # (the next person to sign in on a shared phone should not get them).
    flask_session[SESSION_KEY] = body["endpoint"]
    devices = len(push.subscriptions_of(store, g.member.id))
    return _answer(
        {"status": "on", "devices": devices, "message": _("Đã bật thông báo trên điện thoại này.")}
    )


@bp.post("/api/v1/push/subscriptions/delete")
@login_required
def unsubscribe():
    """Forget this browser's subscription ({endpoint}). Idempotent."""
    endpoint = _body().get("endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        return errors.error_response(422, _("Thiếu địa chỉ đăng ký cần tắt."))
    store = db.session()
    push.unsubscribe(store, g.member, endpoint=endpoint)
    store.commit()
    flask_session.pop(SESSION_KEY, None)
    devices = len(push.subscriptions_of(store, g.member.id))
    return _answer(
        {"status": "off", "devices": devices, "message": _("Đã tắt thông báo trên điện thoại này.")}
    )
