"""Sign-in — by passkey, by one-time link (which offers to create a passkey), by a one-time
code read out by a leader — and sign-out. Each sign-in opens a server-side session
(pwa/auth.py, fieldkit/sessions.py).

Opening a link shows a page with buttons rather than signing in on the GET: chat apps (Zalo,
Messenger) fetch links to draw previews, and a GET that consumed the link would burn it before
the volunteer ever tapped it.

Passkey ceremonies are JSON endpoints under /api/v1/passkeys/ called by static/passkeys.js.
Their challenge is kept in the database and its id in this browser's session; the verifying
request takes it out of the database (fieldkit.passkeys.take_challenge) and commits before
verifying, so each challenge is used once whatever the outcome, and a replayed answer — even
with the cookie it was first sent with — finds none.

Throttles are keyed by what is guessed, with the client's address as a generous backstop only
(phones behind a carrier's NAT share addresses): link tokens (256 random bits, 128 for door
stickers) cannot be guessed, so only tokens that name no link count against the address, and a
valid link always opens; codes are limited per phone number (fieldkit.members.redeem_code);
passkey sign-ins guess nothing, so only their failures per address are bounded. Refused
sign-ins are counted and logged within an hourly cap (pwa.auth.log_refused_sign_in).
"""

from __future__ import annotations

from datetime import timedelta

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
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from fieldkit import audit, members, passkeys, push, throttle
from fieldkit.errors import SignInRefused
from fieldkit.models import Member, SignInLink
from fieldkit.policy import is_commune_wide, is_province_wide
from pwa import auth, db, errors, i18n, params
from pwa.auth import login_required
from pwa.refusals import record_refusal
from pwa.routes import now

bp = Blueprint("auth", __name__)
CHALLENGE_KEY = "passkey_challenge"

# Link tokens that name no link, per client address: a backstop against robots, generous for a
# team opening links together behind one NAT (valid links are never held back).
LINK_GUESSES = 100
LINK_WINDOW = timedelta(minutes=15)
TOO_MANY_LINKS = _l(
    "Có quá nhiều lần mở liên kết không đúng từ mạng này. "
    "Hãy đợi 15 phút rồi thử lại, hoặc xin tổ trưởng một liên kết mới."
)
# Failed passkey sign-ins per client address.
PASSKEY_FAILURES = 100
PASSKEY_WINDOW = timedelta(minutes=15)
TOO_MANY_PASSKEYS = _l(
    "Có quá nhiều lần đăng nhập bằng khóa truy cập không thành công từ mạng này. "
    "Hãy đợi 15 phút rồi thử lại."
)
NEEDS_RECENT_SIGN_IN = _l(
    "Để thêm khóa truy cập, hãy đăng nhập lại trước (lần đăng nhập gần nhất đã quá 10 phút)."
)


class TooManyGuesses(SignInRefused):
    """Too many wrong tokens from one address (HTTP 429)."""


def relying_party() -> passkeys.RelyingParty:
    settings = current_app.config["FIELDKIT_SETTINGS"]
    return passkeys.RelyingParty(rp_id=settings.passkey_rp_id, origin=settings.passkey_origin)


def _client() -> str:
    return request.remote_addr or "unknown"


def _refusal_cause(refused: Exception) -> str:
    return str(refused.__cause__)[:200] if refused.__cause__ else ""


def _keep_challenge(challenge_id: int) -> None:
    session[CHALLENGE_KEY] = challenge_id


def _take_challenge() -> passkeys.Challenge:
    """This browser's challenge, taken out of the database for good (committed at once)."""
    store = db.session()
    challenge = passkeys.take_challenge(store, session.pop(CHALLENGE_KEY, None), now=now())
    store.commit()
    return challenge


def _options_response(options_json: str):
    response = current_app.response_class(options_json, mimetype="application/json")
    response.headers["Cache-Control"] = "no-store"
    return response


def _too_many(message: str, window: timedelta):
    response = current_app.make_response(errors.error_response(429, message))
    response.headers["Retry-After"] = str(int(window.total_seconds()))
    return response


def _credential_from_request():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("credential"), dict):
        return None
    return body["credential"]


def _next_url() -> str | None:
    """Where to go after signing in, when the sign-in page was opened with ?next= — a path of
    this site only."""
    target = params.raw("next")
    if (
        not target.startswith("/")
        or target.startswith(("//", "/\\"))
        or len(target) > 300
        or any(ord(c) < 32 for c in target)
    ):
        return None
    return target.rstrip("?") or None


def _home_url(member: Member) -> str:
    if is_province_wide(member):
        return url_for("province.index")
    if is_commune_wide(member):
        return url_for("villages.index")
    return url_for("households.index")


def _after_sign_in(member: Member) -> str:
    return _next_url() or _home_url(member)


def _check_link(token: str) -> SignInLink:
    """The link, if it can be used. A token that names no link is counted against the client's
    address; beyond LINK_GUESSES in 15 minutes such tokens get TooManyGuesses. A known link —
    valid, used or expired — is never held back for its address."""
    store = db.session()
    try:
        return members.check_sign_in_link(store, token, now=now())
    except members.UnknownLink:
        key = f"signin-link:ip:{_client()}"
        if not throttle.allow(store, key, limit=LINK_GUESSES, window=LINK_WINDOW, now=now()):
            raise TooManyGuesses(TOO_MANY_LINKS) from None
        throttle.fail(store, key, now=now())
        store.commit()
        raise


@bp.get("/")
def home():
    if g.member is None:
        return redirect(url_for("auth.signin"))
    return redirect(_home_url(g.member))


@bp.get("/signin")
def signin():
    return render_template(
        "auth/signin.html",
        uses_passkeys=True,
        next_url=_next_url(),
        signed_out_everywhere=params.raw("out") == "all",
    )


# --- one-time links: enrollment ---------------------------------------------------------


def _link_refused(refused: SignInRefused, *, api: bool = False):
    if isinstance(refused, TooManyGuesses):
        return _too_many(i18n.message_of(refused), LINK_WINDOW)
    auth.log_refused_sign_in(str(refused), kind="link")
    if api:
        return errors.error_response(410, i18n.message_of(refused))
    return render_template("auth/link_refused.html", message=i18n.message_of(refused)), 410


@bp.get("/signin/<token>")
def signin_link(token: str):
    try:
        link = _check_link(token)
    except SignInRefused as refused:
        return _link_refused(refused)
    person = db.session().get(Member, link.member_id)
    return render_template("auth/signin_link.html", token=token, person=person, uses_passkeys=True)


@bp.post("/signin/<token>")
def redeem(token: str):
    """The fallback for phones without passkeys: the link alone signs the person in."""
    store = db.session()
    try:
        _check_link(token)
        person = members.redeem_sign_in_link(store, token, now=now())
    except SignInRefused as refused:
        return _link_refused(refused)
    push.invite_accepted(store, token=token, member=person, now=now())
    store.commit()
    auth.start_session(person, method="link")
    return redirect(url_for("auth.home"), code=303)


@bp.post("/api/v1/passkeys/enroll/<token>/options")
def enroll_options(token: str):
    store = db.session()
    try:
        link = _check_link(token)
        person = store.get(Member, link.member_id)
        options, challenge_id = passkeys.registration_options(
            store, person, rp=relying_party(), now=now(), client=_client()
        )
    except passkeys.TooManyChallenges as refused:
        return _too_many(i18n.message_of(refused), passkeys.CHALLENGE_LIFETIME)
    except SignInRefused as refused:
        return _link_refused(refused, api=True)
    store.commit()
    _keep_challenge(challenge_id)
    return _options_response(options)


@bp.post("/api/v1/passkeys/enroll/<token>")
def enroll(token: str):
    """Verify the new passkey, use up the link and sign in — all or nothing (but the challenge
    is used whatever happens)."""
    store = db.session()
    credential = _credential_from_request()
    person = None
    try:
        link = _check_link(token)
        person = store.get(Member, link.member_id)
        challenge = _take_challenge()
        if credential is None:
            raise passkeys.PasskeyRefused(_("Dữ liệu khóa truy cập không hợp lệ."))
        passkey = passkeys.register(
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
    except TooManyGuesses as refused:
        return _too_many(i18n.message_of(refused), LINK_WINDOW)
    except SignInRefused as refused:
        auth.log_refused_sign_in(
            str(refused), kind="link+passkey", actor=person, cause=_refusal_cause(refused)
        )
        return errors.error_response(403, i18n.message_of(refused))
    store.commit()
    auth.start_session(person, method="link+passkey", passkey=passkey)
    return jsonify({"redirect": url_for("auth.home")})


# --- passkey sign-in ---------------------------------------------------------------------


def _passkey_key() -> str:
    return f"passkey:ip:{_client()}"


@bp.post("/api/v1/passkeys/signin/options")
def passkey_signin_options():
    store = db.session()
    try:
        options, challenge_id = passkeys.authentication_options(
            store, rp=relying_party(), now=now(), client=_client()
        )
    except passkeys.TooManyChallenges as refused:
        return _too_many(i18n.message_of(refused), passkeys.CHALLENGE_LIFETIME)
    store.commit()
    _keep_challenge(challenge_id)
    return _options_response(options)


@bp.post("/api/v1/passkeys/signin")
def passkey_signin():
    store = db.session()
    if not throttle.allow(
        store, _passkey_key(), limit=PASSKEY_FAILURES, window=PASSKEY_WINDOW, now=now()
    ):
        return _too_many(TOO_MANY_PASSKEYS, PASSKEY_WINDOW)
    credential = _credential_from_request()
    try:
        challenge = _take_challenge()
        if credential is None:
            raise passkeys.PasskeyRefused(_("Dữ liệu khóa truy cập không hợp lệ."))
        passkey = passkeys.authenticate(
            store, credential=credential, challenge=challenge, rp=relying_party(), now=now()
        )
    except SignInRefused as refused:
        auth.log_refused_sign_in(str(refused), kind="passkey", cause=_refusal_cause(refused))
        throttle.fail(store, _passkey_key(), now=now())
        store.commit()
        return errors.error_response(403, i18n.message_of(refused))
    store.commit()
    person = store.get(Member, passkey.member_id)
    auth.start_session(person, method="passkey", passkey=passkey)
    return jsonify({"redirect": _after_sign_in(person)})


# --- adding a passkey when already signed in (account page) -------------------------------


def _require_recent_sign_in():
    """Adding a passkey gives lasting access to the account: only right after the person proved
    who they are (10 minutes), never on the strength of an old — or copied — session."""
    if auth.recently_proved(now()):
        return None
    return errors.error_response(403, NEEDS_RECENT_SIGN_IN)


@bp.post("/api/v1/passkeys/options")
@login_required
def add_passkey_options():
    refused = _require_recent_sign_in()
    if refused is not None:
        return refused
    store = db.session()
    try:
        options, challenge_id = passkeys.registration_options(
            store, g.member, rp=relying_party(), now=now(), client=_client()
        )
    except passkeys.TooManyChallenges as too_many:
        return _too_many(str(too_many), passkeys.CHALLENGE_LIFETIME)
    store.commit()
    _keep_challenge(challenge_id)
    return _options_response(options)


@bp.post("/api/v1/passkeys")
@login_required
def add_passkey():
    refused = _require_recent_sign_in()
    if refused is not None:
        return refused
    store = db.session()
    credential = _credential_from_request()
    try:
        challenge = _take_challenge()
        if credential is None:
            raise passkeys.PasskeyRefused(_("Dữ liệu khóa truy cập không hợp lệ."))
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
        return errors.error_response(403, i18n.message_of(refused))
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
            client=_client(),
            now=now(),
        )
    except SignInRefused as refused:
        # The wrong try stays counted (members.CodeRefused): committed before the refusal is
        # logged, which starts from a clean transaction.
        store.commit()
        auth.log_refused_sign_in(str(refused), kind="code")
        status = 429 if getattr(refused, "too_many", False) else 403
        return render_template(
            "auth/signin.html",
            uses_passkeys=True,
            code_error=i18n.message_of(refused),
            phone=phone,
            next_url=_next_url(),
        ), status
    store.commit()
    auth.start_session(person, method="code")
    return redirect(_after_sign_in(person), code=303)


@bp.post("/signout")
def signout():
    if g.member is not None:
        store = db.session()
        audit.record(store, action="sign_out", now=now(), actor=g.member)
        store.commit()
    auth.end_session()
    return redirect(url_for("auth.signin", out=1), code=303)
