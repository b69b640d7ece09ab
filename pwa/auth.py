"""Who is signed in (DESIGN.md §5: sessions live on the server).

One cookie, `fieldkit_session`, in one of two shapes:

- **Signed in**: the cookie is an opaque random id and nothing else. The `WebSession` row
  (fieldkit.sessions) says whose session it is, since when, on which device, and holds the
  little this browser keeps (`data`: the CSRF token, flash messages, the push endpoint it
  registered, a passkey challenge's id). Deleting the row ends the session at once on every app
  server: sign-out, "Đăng xuất khỏi mọi thiết bị", deactivation, a role change, a revoked
  passkey.
- **Nobody signed in** (the sign-in pages): Flask's signed cookie, carrying the same little —
  the CSRF token the sign-in forms need, the id of the passkey challenge in progress, a flash
  message — and never a member. Why not a row for these too: the sign-in page is open to
  anyone, and a row per visitor would let anybody write rows without limit. Nothing in this
  cookie grants anything: the challenge it names is single-use and kept in the database.

A signed cookie that names a member (the shape before sessions moved to the server) is
refused like a forged one: such a cookie could never be taken back.

Cost per request: one indexed SELECT (the session row joined to its member, by the SHA-256 of
the id) — the member used to be loaded by id anyway — and usually no write: `last_seen_at` is
moved at most every five minutes (fieldkit.sessions.TOUCH_EVERY) and `data` written only when
it changed. Static files are not looked up at all.
"""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from fieldkit import audit, sessions
from fieldkit.db import new_session
from fieldkit.models import Member, Passkey, WebSession
from pwa import db, errors, overload
from pwa.routes import now

REFUSED_COOKIE = "fieldkit.refused_cookie"
REFUSED_MESSAGE = _l("Phiên đăng nhập không hợp lệ hoặc đã hết hạn. Hãy đăng nhập lại.")
# Kept across a sign-in: a message for the page the person lands on.
_CARRIED = ("_flashes",)


class BrowserSession(SecureCookieSession):
    """The session a request sees. `record` is the WebSession row when someone is signed in
    (then `token` is the cookie's id and `member` the person); None for nobody."""

    def __init__(self, initial=None, *, record: WebSession | None = None, token: str = ""):
        super().__init__(initial)
        self.record = record
        self.token = token
        self.member: Member | None = None
        self.fresh = False  # a new id the browser does not have yet
        self.seen_due = False  # last_seen_at is to be moved by this request
        self.keep_refused_cookie = False  # a background request leaves a refused cookie be


class ServerSessions(SecureCookieSessionInterface):
    session_class = BrowserSession

    def open_session(self, app, request) -> BrowserSession:
        if request.path.startswith(f"{app.static_url_path}/"):
            return BrowserSession()  # public files: no lookup, nothing saved
        sent = request.cookies.get(self.get_cookie_name(app))
        if not sent:
            return BrowserSession()
        if sessions.looks_like_token(sent):
            # The lookup needs a database connection: take the request's turn first
            # (pwa/overload.py), and answer 503 rather than fail inside Flask's context push,
            # where no error handler can answer (that was a bare 500).
            if not overload.take_turn():
                return _shed(request, "")
            moment = now()
            try:
                found = sessions.find(db.session(), sent, now=moment)
            except (PoolTimeout, OperationalError) as error:
                return _shed(request, str(error))
            if found is None:
                return _refused(request)
            record, member = found
            opened = BrowserSession(record.data, record=record, token=sent)
            opened.member = member
            opened.seen_due = sessions.touch_due(record, moment)
            return opened
        opened = super().open_session(app, request)
        if opened is None or not opened or "member_id" in opened:
            # A tampered or foreign signature, older than 30 days, or naming a member.
            return _refused(request)
        return opened

    def save_session(self, app, session: BrowserSession | None, response) -> None:
        if session is None:
            return  # the request failed before its session was opened
        if session.record is None:
            if session.keep_refused_cookie:
                return  # the page the person opens next says why they are signed out
            super().save_session(app, session, response)
            return
        response.vary.add("Cookie")
        moment = now()
        data = dict(session) if session.modified else None
        seen_at = moment if session.seen_due else None
        if data is not None or seen_at is not None:
            # Its own transaction. The request's is over (the answer is made): end it now as
            # teardown would, so that nothing it left uncommitted holds SQLite's write lock.
            if "db" in g:
                g.db.rollback()
            with new_session(app.extensions["fieldkit_engine"]) as store:
                alive = sessions.save(store, session.record.id, data=data, seen_at=seen_at)
                store.commit()
            if not alive:
                return  # ended meanwhile (signed out elsewhere): never bring it back
        if session.fresh or _navigation():
            # The id never changes, so re-sending it can only roll its 30 days on; a
            # background request re-sends nothing (see _navigation).
            response.set_cookie(
                self.get_cookie_name(app),
                session.token,
                expires=moment + sessions.LIFETIME,
                httponly=self.get_cookie_httponly(app),
                domain=self.get_cookie_domain(app),
                path=self.get_cookie_path(app),
                secure=self.get_cookie_secure(app),
                samesite=self.get_cookie_samesite(app),
            )


def _navigation() -> bool:
    """Whether the person opened this page. The phone fetches pages in the background (app.js
    preparing the day, the service worker) and sends to the API while the person works; a
    background answer that re-sent a cookie could land after a newer one (a sign-in, a
    sign-out) and put the old one back. Browsers mark navigations with Sec-Fetch-Mode; a request
    without the header (an old browser) counts as one."""
    return request.headers.get("Sec-Fetch-Mode", "navigate") == "navigate"


def _shed(request, reason: str) -> BrowserSession:
    """Nobody, for a request answered 503 before anything runs; its cookie is left as it is."""
    overload.shed(request.environ, reason)
    empty = BrowserSession()
    empty.keep_refused_cookie = True
    return empty


def _refused(request) -> BrowserSession:
    request.environ[REFUSED_COOKIE] = True
    return BrowserSession()


def init_app(app: Flask) -> None:
    """Called before CSRFProtect's init_app: a request whose session is gone is answered as
    signed out (401 for the API) before its CSRF token — gone with the session — is checked."""
    app.session_interface = ServerSessions()
    app.before_request(_load_member)


def _load_member():
    g.member = None
    if request.environ.pop(REFUSED_COOKIE, False):
        _refuse_cookie()
    member = getattr(session, "member", None)
    if member is not None:
        g.member = member
        return None
    view = current_app.view_functions.get(request.endpoint)
    if getattr(view, "needs_member", False) and request.path.startswith("/api/"):
        # The outbox keeps every item and asks to sign in again (DESIGN.md §4.4).
        return errors.error_response(401)
    return None


def _refuse_cookie() -> None:
    """Treat the request as signed out, tell the person, and keep a trace — counted, and
    written to the log only up to a cap an hour (fieldkit.audit.record_refused). The cookie
    is replaced by a fresh empty session on the way out."""
    store = db.session()
    audit.record_refused(
        store,
        action="sign_in_refused",
        kind="cookie",
        now=now(),
        details={"reason": "session cookie refused", "path": request.path[:200]},
    )
    store.commit()
    if not _navigation():
        # The phone's background requests (the outbox asking who is signed in, pages prepared
        # for the day) are answered as signed out but leave the cookie as it is: the page
        # the person opens next is the one that says why, and replaces the cookie.
        session.keep_refused_cookie = True
        return
    session.clear()
    session.modified = True
    if not request.path.startswith(("/api/", "/static/", "/sw.js", "/offline/")):
        flash(REFUSED_MESSAGE)


def log_refused_sign_in(message: str, *, kind: str, actor: Member | None = None, **details):
    """A refused sign-in (link, code, passkey): undo whatever the request had begun, then count
    it and log it within the hourly cap."""
    store = db.session()
    store.rollback()
    audit.record_refused(
        store,
        action="sign_in_refused",
        kind=kind,
        now=now(),
        actor=actor,
        details={"message": message, "method": kind, "ip": request.remote_addr, **details},
    )
    store.commit()


def start_session(member: Member, *, method: str, passkey: Passkey | None = None) -> None:
    """Sign `member` in on this browser: a new session row, a new id in the cookie (never the
    one the browser brought: no fixation), a fresh CSRF token. A session this browser already
    had ends; if it was the same person's, the push subscription it registered carries over."""
    store = db.session()
    moment = now()
    current: BrowserSession = session._get_current_object()
    kept = {key: current[key] for key in _CARRIED if key in current}
    if current.record is not None:
        same_person = current.record.member_id == member.id
        endpoint = current.get(sessions.PUSH_ENDPOINT_KEY)
        if same_person and endpoint:
            kept[sessions.PUSH_ENDPOINT_KEY] = endpoint
        sessions.end(store, current.record.id, keep_push=same_person)
    token, record = sessions.open_session(
        store,
        member,
        now=moment,
        method=method,
        device=sessions.device_name(request.user_agent.string),
        passkey_id=passkey.id if passkey else None,
        data=kept,
    )
    sessions.sweep(store, now=moment)
    store.commit()
    current.clear()
    current.update(kept)
    current.record, current.token, current.member = record, token, member
    current.fresh, current.seen_due = True, False
    current.modified = False  # the row was written with this data
    g.pop("csrf_token", None)  # Flask-WTF's per-request copy of the old session's token
    g.member = member


def end_session() -> None:
    """Sign out this browser: its session row is deleted (and the push subscription it
    registered); the cookie is removed. Caller records the audit event first."""
    current: BrowserSession = session._get_current_object()
    if current.record is not None:
        store = db.session()
        sessions.end(store, current.record.id)
        store.commit()
    _forget_here(current)


def _forget_here(current: BrowserSession) -> None:
    current.clear()
    current.record, current.token, current.member = None, "", None
    current.modified = True
    g.member = None


def end_every_session(member: Member) -> int:
    """End every session of `member`, this browser's too if it is theirs. Commits."""
    store = db.session()
    ended = sessions.end_all(store, member.id)
    store.commit()
    current: BrowserSession = session._get_current_object()
    if current.record is not None and current.record.member_id == member.id:
        _forget_here(current)
    return ended


def current_record() -> WebSession | None:
    """This browser's session row, if someone is signed in."""
    return getattr(session, "record", None)


def recently_proved(moment: datetime) -> bool:
    """Whether the person on this browser signed in (proved who they are) within the last
    ten minutes (fieldkit.sessions.RECENT_PROOF)."""
    return sessions.recently_proved(current_record(), moment)


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

    wrapped.needs_member = True
    return wrapped
