"""Web security on every response: a strict Content-Security-Policy (no inline script or
style anywhere — app.js and app.css carry everything), the usual headers, HSTS when served
over https; and throttling of door-sticker opens by the member guessing them (sign-in links
are throttled in pwa/routes/auth.py, which knows a wrong token from a used one).

The headers are set in an after_request hook, which Flask runs for error pages and for
static files too, so no answer leaves without them.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, request
from flask_babel import lazy_gettext as _l

from fieldkit import throttle
from fieldkit.db import new_session
from pwa import errors
from pwa.routes import now

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # The camera stays available to the app itself for the QR scanner to come.
    "Permissions-Policy": "camera=(self), geolocation=(), microphone=()",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"

# Door-sticker links (/s/<token>) open only for a signed-in member, so a guesser is a member:
# wrong tokens are counted per member, never per address (a team behind one NAT shares one).
# Legitimate people fail a handful of times at most (a replaced sticker).
STICKER_ENDPOINTS = frozenset({"stickers.open"})
STICKER_LIMIT = 20
STICKER_WINDOW = timedelta(minutes=15)
TOO_MANY = _l(
    "Có quá nhiều lần mở mã dán cửa không đúng. "
    "Hãy đợi 15 phút rồi thử lại, hoặc xin tổ trưởng in lại mã."
)


def init_app(app: Flask) -> None:
    https = app.config["FIELDKIT_SETTINGS"].base_url.startswith("https://")

    @app.after_request
    def _security_headers(response):
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if https:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response

    app.before_request(_throttle_stickers)
    app.after_request(_note_sticker_outcome)


def _sticker_key() -> str | None:
    member = g.get("member")
    return f"sticker:member:{member.id}" if member is not None else None


def _throttle_stickers():
    """Refuse a sticker link to a member who opened too many wrong ones lately."""
    if request.endpoint not in STICKER_ENDPOINTS or _sticker_key() is None:
        return None
    with _own_session() as session:
        allowed = throttle.allow(
            session, _sticker_key(), limit=STICKER_LIMIT, window=STICKER_WINDOW, now=now()
        )
    if allowed:
        g.sticker_throttled = True
        return None
    response = current_app.make_response(errors.error_response(429, TOO_MANY))
    response.headers["Retry-After"] = str(int(STICKER_WINDOW.total_seconds()))
    return response


def _note_sticker_outcome(response):
    """A sticker link that opened nothing (404) counts against the member."""
    if g.get("sticker_throttled") and response.status_code == 404:
        with _own_session() as session:
            throttle.fail(session, _sticker_key(), now=now())
            session.commit()
    return response


def _own_session():
    # Its own session, never the request's: the count is kept whatever the request does
    # with its own transaction.
    return new_session(current_app.extensions["fieldkit_engine"])
