"""Web security on every response: a strict Content-Security-Policy (no inline script or
style anywhere — app.js and app.css carry everything), the usual headers, HSTS when served
over https; and throttling of sign-in link opens by client address.

The headers are set in an after_request hook, which Flask runs for error pages and for
static files too, so no answer leaves without them.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, current_app, g, request

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

# Opening or redeeming sign-in links, and opening door-sticker links: someone guessing tokens
# fails over and over from one address. Legitimate people fail a handful of times at most (an
# old link, a used one, a replaced sticker). One count for both: a guesser is a guesser.
LINK_ENDPOINTS = frozenset({"auth.signin_link", "auth.redeem", "stickers.open"})
LINK_LIMIT = 20
LINK_WINDOW = timedelta(minutes=15)
TOO_MANY = (
    "Có quá nhiều lần mở liên kết không thành công từ mạng này. "
    "Hãy đợi 15 phút rồi thử lại, hoặc xin tổ trưởng một liên kết mới."
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

    app.before_request(_throttle_links)
    app.after_request(_note_link_outcome)


def _link_key() -> str:
    return f"signin-link:ip:{request.remote_addr or 'unknown'}"


def _throttle_links():
    """Refuse a sign-in link request from an address that failed too often lately."""
    if request.endpoint not in LINK_ENDPOINTS:
        return None
    with _own_session() as session:
        allowed = throttle.allow(
            session, _link_key(), limit=LINK_LIMIT, window=LINK_WINDOW, now=now()
        )
    if allowed:
        g.link_throttled = True
        return None
    response = errors.error_response(429, TOO_MANY)
    response = current_app.make_response(response)
    response.headers["Retry-After"] = str(int(LINK_WINDOW.total_seconds()))
    return response


def _note_link_outcome(response):
    """Count the outcome of a sign-in link request that was let through: a refused link (410)
    is a failure; anything else below 400 a success."""
    if g.get("link_throttled") and response.status_code < 500:
        with _own_session() as session:
            throttle.note(session, _link_key(), succeeded=response.status_code < 400, now=now())
            session.commit()
    return response


def _own_session():
    # Its own session, never the request's: the attempt is kept whatever the request does
    # with its own transaction.
    return new_session(current_app.extensions["fieldkit_engine"])
