"""Sign-in by one-time link, and sign-out.

Opening a link shows a page with one big "Đăng nhập" button rather than signing in on the GET:
chat apps (Zalo, Messenger) fetch links to draw previews, and a GET that consumed the link
would burn it before the volunteer ever tapped it.
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for

from fieldkit import members
from fieldkit.errors import SignInRefused
from fieldkit.models import Member
from fieldkit.policy import is_commune_wide
from pwa import auth, db
from pwa.routes import now

bp = Blueprint("auth", __name__)


@bp.get("/")
def home():
    if g.member is None:
        return redirect(url_for("auth.signin"))
    if is_commune_wide(g.member):
        return redirect(url_for("villages.index"))
    return redirect(url_for("households.index"))


@bp.get("/signin")
def signin():
    return render_template("auth/signin.html")


@bp.get("/signin/<token>")
def signin_link(token: str):
    try:
        link = members.check_sign_in_link(db.session(), token, now=now())
    except SignInRefused as refused:
        return render_template("auth/link_refused.html", message=str(refused)), 410
    person = db.session().get(Member, link.member_id)
    return render_template("auth/signin_link.html", token=token, person=person)


@bp.post("/signin/<token>")
def redeem(token: str):
    session = db.session()
    try:
        person = members.redeem_sign_in_link(session, token, now=now())
    except SignInRefused as refused:
        return render_template("auth/link_refused.html", message=str(refused)), 410
    session.commit()
    auth.start_session(person)
    return redirect(url_for("auth.home"), code=303)


@bp.post("/signout")
def signout():
    auth.end_session()
    return redirect(url_for("auth.signin", out=1), code=303)


@bp.app_context_processor
def _signed_out_flag():
    return {"just_signed_out": request.args.get("out") == "1"}
