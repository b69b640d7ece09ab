"""Passkeys (WebAuthn): discoverable credentials with user verification, several per person,
each revocable (DESIGN.md §5).

A ceremony has two steps. `*_options()` makes a fresh challenge, kept in the database
(`PasskeyChallenge`), and the options the browser needs; the caller keeps the challenge's id
where only this browser can bring it back (its session). `take_challenge()` then deletes that row
and returns it — one conditional DELETE, so of two requests bringing the same id only one gets
it, whatever the outcome of the verification that follows — and `register()` or
`authenticate()` checks the answer against it. A replayed answer finds no challenge: it is
refused whatever the authenticator's signature counter says (synced passkeys report 0). The
relying party (domain and origin) comes from settings, never from the request.

No Flask here; nothing is committed: the caller owns the transaction (and commits right after
`take_challenge()`, so that the challenge stays used even if the verification fails). A refusal
raises `PasskeyRefused` with a Vietnamese message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from fieldkit import audit, sessions
from fieldkit.errors import SignInRefused
from fieldkit.forms import MAX_ID
from fieldkit.i18n import _
from fieldkit.models import Member, Passkey, PasskeyChallenge
from fieldkit.sessions import device_name  # noqa: F401  (a passkey is named after its device)

RP_NAME = "Fieldkit"
# A challenge is answered within a few minutes or not at all.
CHALLENGE_LIFETIME = timedelta(minutes=5)
TIMEOUT_MS = 120_000
# Challenges waiting at once for one client address: a person needs one or two; the bound keeps
# an anonymous caller from filling the table (each expires after 5 minutes anyway).
MAX_WAITING_PER_CLIENT = 30
_SPENT = _("Yêu cầu này đã được dùng hoặc không còn hợp lệ. Hãy bấm lại nút khóa truy cập.")


class PasskeyRefused(SignInRefused):
    """A passkey ceremony that cannot be accepted; the message says why, in Vietnamese."""


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str
    origin: str
    name: str = RP_NAME


@dataclass(frozen=True)
class Challenge:
    """A challenge taken out of the database for its one verification. `member_id` is set for
    a registration."""

    purpose: str  # "register" or "sign_in"
    value: str  # base64url
    member_id: int | None = None


class TooManyChallenges(PasskeyRefused):
    """One client has too many challenges waiting (HTTP 429)."""


def _new_challenge(
    session: Session,
    *,
    purpose: str,
    value: bytes,
    now: datetime,
    client: str,
    member_id: int | None = None,
) -> int:
    client = (client or "")[:64]
    waiting = session.exec(
        select(func.count())
        .select_from(PasskeyChallenge)
        .where(PasskeyChallenge.client == client, PasskeyChallenge.expires_at > now)
    ).one()
    if waiting >= MAX_WAITING_PER_CLIENT:
        raise TooManyChallenges(
            _("Có quá nhiều yêu cầu khóa truy cập từ mạng này. Hãy đợi 5 phút rồi thử lại.")
        )
    challenge = PasskeyChallenge(
        purpose=purpose,
        challenge=bytes_to_base64url(value),
        member_id=member_id,
        created_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
        client=client,
    )
    session.add(challenge)
    session.flush()
    assert challenge.id is not None  # given by the flush
    return challenge.id


def take_challenge(session: Session, challenge_id: object, *, now: datetime) -> Challenge:
    """Use the challenge once: its row is deleted by one conditional DELETE, so of two requests
    bringing the same id exactly one gets it. Refused (PasskeyRefused) when there is none —
    never made, already used, or made for another browser — or when it is older than 5
    minutes. The caller commits at once, before verifying the answer."""
    if (
        not isinstance(challenge_id, int)
        or isinstance(challenge_id, bool)
        or not 0 < challenge_id <= MAX_ID
    ):
        raise PasskeyRefused(_SPENT)
    taken = session.execute(
        delete(PasskeyChallenge)
        .where(col(PasskeyChallenge.id) == challenge_id)
        .returning(
            col(PasskeyChallenge.purpose),
            col(PasskeyChallenge.challenge),
            col(PasskeyChallenge.member_id),
            col(PasskeyChallenge.expires_at),
        )
    ).first()
    if taken is None:
        raise PasskeyRefused(_SPENT)
    purpose, value, member_id, expires_at = taken
    if expires_at <= now:
        raise PasskeyRefused(_("Quá thời gian xác nhận (5 phút). Hãy bấm lại nút khóa truy cập."))
    return Challenge(purpose=purpose, value=value, member_id=member_id)


def user_handle(member: Member) -> bytes:
    """The WebAuthn user id: stable, opaque, no personal data."""
    return f"fieldkit-member-{member.id}".encode()


def active_passkeys(session: Session, member: Member) -> list[Passkey]:
    return list(
        session.exec(
            select(Passkey)
            .where(Passkey.member_id == member.id, col(Passkey.revoked_at).is_(None))
            .order_by(col(Passkey.created_at))
        ).all()
    )


def registration_options(
    session: Session, member: Member, *, rp: RelyingParty, now: datetime, client: str = ""
) -> tuple[str, int]:
    """Options for navigator.credentials.create() (as JSON) and the id of the challenge, for
    the caller to keep in this browser's session. Caller commits."""
    options = generate_registration_options(
        rp_id=rp.rp_id,
        rp_name=rp.name,
        user_id=user_handle(member),
        user_name=member.phone or f"member-{member.id}",
        user_display_name=member.name,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        # The same phone is not enrolled twice.
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(p.credential_id))
            for p in active_passkeys(session, member)
        ],
    )
    challenge_id = _new_challenge(
        session,
        purpose="register",
        value=options.challenge,
        now=now,
        client=client,
        member_id=member.id,
    )
    return options_to_json(options), challenge_id


def authentication_options(
    session: Session, *, rp: RelyingParty, now: datetime, client: str = ""
) -> tuple[str, int]:
    """Options for navigator.credentials.get(): no allowCredentials, so the phone offers the
    person's passkeys and nobody types a name. With the id of the challenge to keep. Caller
    commits."""
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        timeout=TIMEOUT_MS,
        allow_credentials=[],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    challenge_id = _new_challenge(
        session, purpose="sign_in", value=options.challenge, now=now, client=client
    )
    return options_to_json(options), challenge_id


def _check_challenge(challenge: Challenge | None, purpose: str) -> bytes:
    if challenge is None or challenge.purpose != purpose:
        raise PasskeyRefused(_SPENT)
    return base64url_to_bytes(challenge.value)


def _as_json(credential: str | dict) -> str:
    if isinstance(credential, dict):
        return json.dumps(credential)
    if not isinstance(credential, str):
        raise PasskeyRefused(_("Dữ liệu khóa truy cập không hợp lệ."))
    return credential


def register(
    session: Session,
    member: Member,
    *,
    credential: str | dict,
    challenge: Challenge | None,
    rp: RelyingParty,
    now: datetime,
    name: str = "",
) -> Passkey:
    """Verify a new credential made for `member` against the taken challenge and store it.
    Caller commits."""
    expected = _check_challenge(challenge, "register")
    assert challenge is not None  # refused by _check_challenge otherwise
    if challenge.member_id != member.id:
        raise PasskeyRefused(_("Yêu cầu tạo khóa này dành cho người khác."))
    try:
        verified = verify_registration_response(
            credential=_as_json(credential),
            expected_challenge=expected,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyRefused(_why(error, _("Không tạo được khóa truy cập"))) from error
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.exec(select(Passkey).where(Passkey.credential_id == credential_id)).first():
        raise PasskeyRefused(_("Khóa truy cập này đã được đăng ký rồi."))
    transports = []
    if isinstance(credential, dict | str):
        try:
            data = json.loads(credential) if isinstance(credential, str) else credential
            transports = [str(t) for t in data.get("response", {}).get("transports", [])][:5]
        except (ValueError, AttributeError):
            transports = []
    assert member.id is not None  # a stored member
    passkey = Passkey(
        member_id=member.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports,
        name=(name or _("Khóa truy cập"))[:80],
        created_at=now,
    )
    session.add(passkey)
    session.flush()
    audit.record(
        session,
        action="passkey_added",
        now=now,
        actor=member,
        target_kind="passkey",
        target_id=passkey.id,
        details={"name": passkey.name},
    )
    return passkey


def authenticate(
    session: Session,
    *,
    credential: str | dict,
    challenge: Challenge | None,
    rp: RelyingParty,
    now: datetime,
) -> Passkey:
    """The passkey that signed the taken challenge (its member is signing in). Refuses unknown
    and revoked passkeys, locked accounts, a wrong origin or domain, no user verification, and
    a signature counter that went backwards (a cloned key). Records the sign-in. Caller
    commits."""
    expected = _check_challenge(challenge, "sign_in")
    try:
        parsed = parse_authentication_credential_json(_as_json(credential))
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyRefused(_("Dữ liệu khóa truy cập không hợp lệ.")) from error
    passkey = session.exec(
        select(Passkey).where(Passkey.credential_id == bytes_to_base64url(parsed.raw_id))
    ).first()
    if passkey is None:
        raise PasskeyRefused(
            _(
                "Khóa truy cập này không có trong Fieldkit (có thể đã bị xóa). "
                "Hãy xin tổ trưởng một liên kết mời mới."
            )
        )
    if passkey.revoked_at is not None:
        raise PasskeyRefused(
            _("Khóa truy cập này đã bị thu hồi. Hãy xin tổ trưởng một liên kết mời mới.")
        )
    member = session.get(Member, passkey.member_id)
    if member is None or not member.active:
        raise PasskeyRefused(_("Tài khoản này đã bị khóa. Hãy liên hệ tổ trưởng."))
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=expected,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            credential_public_key=passkey.public_key,
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyRefused(_why(error, _("Khóa truy cập không hợp lệ"))) from error
    passkey.sign_count = verified.new_sign_count
    passkey.last_used_at = now
    session.add(passkey)
    audit.record(
        session,
        action="sign_in",
        now=now,
        actor=member,
        target_kind="passkey",
        target_id=passkey.id,
        details={"method": "passkey"},
    )
    return passkey


def revoke(session: Session, member: Member, passkey_id: int, *, now: datetime) -> Passkey:
    """Revoke one of the member's own passkeys; the sessions opened by signing in with it end
    too (a lost phone's open session is what revoking its key is meant to stop). Idempotent.
    Caller commits."""
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.member_id != member.id:
        raise PasskeyRefused(_("Không tìm thấy khóa truy cập này trong tài khoản của bạn."))
    if passkey.revoked_at is None:
        passkey.revoked_at = now
        session.add(passkey)
        audit.record(
            session,
            action="passkey_revoked",
            now=now,
            actor=member,
            target_kind="passkey",
            target_id=passkey.id,
            details={"name": passkey.name},
        )
    assert passkey.id is not None  # a stored passkey
    sessions.end_opened_with(session, passkey.id)
    return passkey


def _why(error: Exception, prefix: str) -> str:
    """A Vietnamese reason for py_webauthn's English one; the English stays in the audit log."""
    text = str(error).lower()
    if "origin" in text:
        reason = _("khóa được dùng từ một trang web khác")
    elif "rp id" in text or "rp_id" in text:
        reason = _("khóa thuộc về tên miền khác")
    elif "verif" in text and "user" in text:
        reason = _("điện thoại chưa xác minh bạn (vân tay, khuôn mặt hoặc mã khóa màn hình)")
    elif "challenge" in text:
        reason = _("yêu cầu không khớp (có thể đã bị dùng lại)")
    elif "sign count" in text:
        reason = _("bộ đếm của khóa bị lùi — khóa có thể đã bị sao chép")
    else:
        reason = _("dữ liệu không hợp lệ")
    return f"{prefix}: {reason}."
