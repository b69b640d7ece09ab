"""Sign-in — by passkey, by one-time link (which offers to create a passkey), by a one-time
code read out by a leader — and sign-out.

Opening a link shows a page with buttons rather than signing in on the GET: chat apps (Zalo,
Messenger) fetch links to draw previews, and a GET that consumed the link would burn it before
the volunteer ever tapped it.

Passkey ceremonies are JSON endpoints under /api/v1/passkeys/ called by static/passkeys.js.
Their challenge lives in the signed session cookie, so it is bound to this browser, and is
taken out of it by the verifying request whatever the outcome: each challenge is used once.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from fieldkit import audit, members, passkeys, push
from fieldkit.errors import SignInRefused
from fieldkit.models import Member
from fieldkit.policy import is_commune_wide, is_province_wide
from pwa import auth, db, errors
from pwa.auth import login_required
from pwa.refusals import record_refusal
from pwa.routes import now
from pwa.webpush import forget_this_browser

bp = Blueprint("auth", __name__)
CHALLENGE_KEY = "passkey_challenge"


def relying_party() -> passkeys.RelyingParty:
    settings = current_app.config["FIELDKIT_SETTINGS"]
    return passkeys.RelyingParty(rp_id=settings.passkey_rp_id, origin=settings.passkey_origin)


def _refusal_cause(refused: Exception) -> str:
    return str(refused.__cause__)[:200] if refused.__cause__ else ""


def _keep_challenge(challenge: passkeys.Challenge) -> None:
    session[CHALLENGE_KEY] = challenge.to_dict()


def _take_challenge() -> passkeys.Challenge | None:
    return passkeys.Challenge.from_dict(session.pop(CHALLENGE_KEY, None))


def _options_response(options_json: str):
    response = current_app.response_class(options_json, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _credential_from_request():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        return None
    return body["credential"]


def _home_url(member: Member) -> str:
    if is_province_wide(member):
        return url_for("province.index")
    if is_commune_wide(member):
        return url_for("villages.index")
    return url_for("households.index")


@bp.get("/")
def home():
    if g.member is None:
        return redirect(url_for("auth.signin"))
    return redirect(_home_url(g.member))


@bp.get("/signin")
def signin():
    return render_template("auth/signin.html", uses_passkeys=True)


# --- one-time links: enrollment ---------------------------------------------------------


@bp.get("/signin/<token>")
def signin_link(token: str):
    try:
        link = members.check_sign_in_link(db.session(), token, now=now())
    except SignInRefused as refused:
        record_refusal("sign_in_refused", str(refused), method="link")
        return render_template("auth/link_refused.html", message=str(refused)), 410
    person = db.session().get(Member, link.member_id)
    return render_template("auth/signin_link.html", token=token, person=person, uses_passkeys=True)


@bp.post("/signin/<token>")
def redeem(token: str):
    """The fallback for phones without passkeys: the link alone signs the person in."""
    store = db.session()
    try:
        person = members.redeem_sign_in_link(store, token, now=now())
    except SignInRefused as refused:
        record_refusal("sign_in_refused", str(refused), method="link")
        return render_template("auth/link_refused.html", message=str(refused)), 410
    push.invite_accepted(store, token=token, member=person, now=now())
    store.commit()
    auth.start_session(person)
    return redirect(url_for("auth.home"), code=303)


@bp.post("/api/v1/passkeys/enroll/<token>/options")
def enroll_options(token: str):
    store = db.session()
    try:
        link = members.check_sign_in_link(store, token, now=now())
    except SignInRefused as refused:
        record_refusal("sign_in_refused", str(refused), method="link")
        return errors.error_response(410, str(refused))
    person = store.get(Member, link.member_id)
    options, challenge = passkeys.registration_options(store, person, rp=relying_party(), now=now())
    _keep_challenge(challenge)
    return _options_response(options)


@bp.post("/api/v1/passkeys/enroll/<token>")
def enroll(token: str):
    """Verify the new passkey, use up the link and sign in — all or nothing."""
    store = db.session()
    challenge = _take_challenge()
    credential = _credential_from_request()
    person = None
    try:
        link = members.check_sign_in_link(store, token, now=now())
        person = store.get(Member, link.member_id)
        if credential is None:
            raise passkeys.PasskeyRefused("Dữ liệu khóa truy cập không hợp lệ.")
        passkeys.register(
            store,
            person,
            credential=credential,
            challenge=challenge,
            rp=relying_party(),
            now=now(),
            name=passkeys.device_name(request.user_agent.string),
        )
        members.redeem_sign_in_link(store, token, now=now())
        push.invite_accepted(store, token=token, member=person, now=now())
    except SignInRefused as refused:
        record_refusal(
            "sign_in_refused",
            str(refused),
            actor=person,
            method="link+passkey",
            cause=_refusal_cause(refused),
        )
        return errors.error_response(403, str(refused))
    store.commit()
    auth.start_session(person)
    return jsonify({"redirect": url_for("auth.home")})


# --- passkey sign-in ---------------------------------------------------------------------


@bp.post("/api/v1/passkeys/signin/options")
def passkey_signin_options():
    options, challenge = passkeys.authentication_options(rp=relying_party(), now=now())
    _keep_challenge(challenge)
    return _options_response(options)


@bp.post("/api/v1/passkeys/signin")
def passkey_signin():
    store = db.session()
    challenge = _take_challenge()
    credential = _credential_from_request()
    try:
        if credential is None:
            raise passkeys.PasskeyRefused("Dữ liệu khóa truy cập không hợp lệ.")
        person = passkeys.authenticate(
            store, credential=credential, challenge=challenge, rp=relying_party(), now=now()
        )
    except SignInRefused as refused:
        record_refusal(
            "sign_in_refused", str(refused), method="passkey", cause=_refusal_cause(refused)
        )
        return errors.error_response(403, str(refused))
    store.commit()
    auth.start_session(person)
    return jsonify({"redirect": _home_url(person)})


# --- adding a passkey when already signed in (account page) -------------------------------


@bp.post("/api/v1/passkeys/options")
@login_required
def add_passkey_options():
    options, challenge = passkeys.registration_options(
        db.session(), g.member, rp=relying_party(), now=now()
    )
    _keep_challenge(challenge)
    return _options_response(options)


@bp.post("/api/v1/passkeys")
@login_required
def add_passkey():
    store = db.session()
    challenge = _take_challenge()
    credential = _credential_from_request()
    try:
        if credential is None:
            raise passkeys.PasskeyRefused("Dữ liệu khóa truy cập không hợp lệ.")
        passkeys.register(
            store,
            g.member,
            credential=credential,
            challenge=challenge,
            rp=relying_party(),
            now=now(),
            name=passkeys.device_name(request.user_agent.string),
        )
    except SignInRefused as refused:
        record_refusal(
            "refused",
            str(refused),
            actor=g.member,
            what="passkey_added",
            cause=_refusal_cause(refused),
        )
        return errors.error_response(403, str(refused))
    store.commit()
    return jsonify({"redirect": url_for("account.index", added=1)})


# --- one-time codes ------------------------------------------------------------------------


@bp.post("/signin/code")
def signin_code():
    store = db.session()
    phone = request.form.get("phone", "")
    try:
        person = members.redeem_code(
            store,
            phone=phone,
            code=request.form.get("code", ""),
            client=request.remote_addr or "unknown",
            now=now(),
        )
    except SignInRefused as refused:
        # The wrong try stays counted (members.CodeRefused); nothing else was changed.
        audit.record(
            store,
            action="sign_in_refused",
            now=now(),
            details={"message": str(refused), "method": "code", "ip": request.remote_addr},
        )
        store.commit()
        status = 429 if getattr(refused, "too_many", False) else 403
        return render_template(
            "auth/signin.html", uses_passkeys=True, code_error=str(refused), phone=phone
        ), status
    store.commit()
    auth.start_session(person)
    return redirect(url_for("auth.home"), code=303)


@bp.post("/signout")
def signout():
    if g.member is not None:
        store = db.session()
        audit.record(store, action="sign_out", now=now(), actor=g.member)
        forget_this_browser(store, g.member)
        store.commit()
    auth.end_session()
    return redirect(url_for("auth.signin", out=1), code=303)
