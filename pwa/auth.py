"""Who is signed in. The session cookie holds only the member's id; every request reloads the
member, so a member who is deactivated is out at their next request."""

from __future__ import annotations

from functools import wraps

from flask import Flask, g, redirect, request, session, url_for

from fieldkit.models import Member
from pwa import db, errors


def init_app(app: Flask) -> None:
    app.before_request(_load_member)

    @app.context_processor
    def _inject():
        return {"member": g.get("member")}


def _load_member() -> None:
    g.member = None
    member_id = session.get("member_id")
    if member_id is None:
        return
    member = db.session().get(Member, member_id)
    if member is None or not member.active:
        session.clear()
        return
    g.member = member


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
