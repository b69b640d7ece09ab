"""Who is signed in. The session cookie holds only the member's id; every request reloads the
member, so a member who is deactivated is out at their next request."""

from __future__ import annotations

from functools import wraps

from flask import Flask, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from fieldkit import audit
from fieldkit.models import Member, utcnow
from pwa import db, errors

REFUSED_COOKIE = "fieldkit.refused_cookie"


class _Sessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, noticing a cookie that was sent but refused (a tampered
    or foreign signature, or older than 30 days) so the refusal can be said and logged."""

    def open_session(self, app, request):
        opened = super().open_session(app, request)
        sent = request.cookies.get(self.get_cookie_name(app))
        if sent and opened is not None and not opened:
            request.environ[REFUSED_COOKIE] = True
        return opened

    def should_set_cookie(self, app, session) -> bool:
        """A changed session is always saved. An unchanged one is re-sent (rolling its 30
        days) only on a navigation: the phone fetches pages in the background (app.js
        preparing the day, the service worker) and sends to the API while the person works,
        and a background response that re-sent the cookie it started with could land after a
        newer one — putting back a session without the flash message ("Đã phân công…") that
        the last form just left in it."""
        if session.modified:
            return True
        if request.headers.get("Sec-Fetch-Mode", "navigate") != "navigate":
            return False
        return super().should_set_cookie(app, session)


def init_app(app: Flask) -> None:
    app.session_interface = _Sessions()
    app.before_request(_load_member)


def _load_member() -> None:
    g.member = None
    if request.environ.pop(REFUSED_COOKIE, False):
        _refuse_cookie()
    member_id = session.get("member_id")
    if member_id is None:
        return
    member = db.session().get(Member, member_id)
    if member is None or not member.active:
        session.clear()
        return
    g.member = member


def _refuse_cookie() -> None:
    """Treat the request as signed out, tell the person, and keep a trace. The cookie is
    replaced by a fresh empty session on the way out."""
    store = db.session()
    audit.record(
        store,
        action="sign_in_refused",
        now=utcnow(),
        details={"reason": "session cookie refused", "path": request.path[:200]},
    )
    store.commit()
    session.clear()
    session.modified = True
    if not request.path.startswith(("/api/", "/static/", "/sw.js", "/offline/")):
        flash("Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Hãy đăng nhập lại.")


def start_session(member: Member) -> None:
    session.clear()  # a fresh session (and CSRF token) for the new person
    session["member_id"] = member.id
    session.permanent = True


def end_session() -> None:
    session.clear()


def login_required(view):
    """Pages send a signed-out person to the sign-in page. The API answers 401 JSON instead:
    its caller is the phone's outbox, which keeps every item and asks to sign in again."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("member") is None:
            if request.path.startswith("/api/"):
                return errors.error_response(401)
            return redirect(url_for("auth.signin", next=request.full_path))
        return view(*args, **kwargs)

    return wrapped
