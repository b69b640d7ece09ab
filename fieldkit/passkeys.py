"""Passkeys (WebAuthn): discoverable credentials with user verification, several per person,
each revocable (DESIGN.md §5).

A ceremony has two steps. `*_options()` makes a fresh challenge and the options the browser
needs; the caller keeps the challenge where only this browser can bring it back (the signed
session cookie) and hands it to `register()` or `authenticate()` exactly once. The relying party
(domain and origin) comes from settings, never from the request.

No Flask here; nothing is committed: the caller owns the transaction. A refusal raises
`PasskeyRefused` with a Vietnamese message and leaves the session unchanged.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

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

from fieldkit import audit
from fieldkit.errors import SignInRefused
from fieldkit.models import Member, Passkey

RP_NAME = "Fieldkit"
# A challenge is answered within a few minutes or not at all.
CHALLENGE_LIFETIME = timedelta(minutes=5)
TIMEOUT_MS = 120_000


class PasskeyRefused(SignInRefused):
    """A passkey ceremony that cannot be accepted; the message says why, in Vietnamese."""


@dataclass(frozen=True)
class RelyingParty:
    rp_id: str
    origin: str
    name: str = RP_NAME


@dataclass(frozen=True)
class Challenge:
    """What the caller keeps between the two steps. `member_id` is set for a registration."""

    purpose: str  # "register" or "sign_in"
    value: str  # base64url
    issued_at: datetime
    member_id: int | None = None

    def to_dict(self) -> dict:
        return {
            "purpose": self.purpose,
            "value": self.value,
            "issued_at": self.issued_at.isoformat(),
            "member_id": self.member_id,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> Challenge | None:
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                purpose=str(data["purpose"]),
                value=str(data["value"]),
                issued_at=datetime.fromisoformat(data["issued_at"]),
                member_id=data.get("member_id"),
            )
        except (KeyError, TypeError, ValueError):
            return None


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
    session: Session, member: Member, *, rp: RelyingParty, now: datetime
) -> tuple[str, Challenge]:
    """Options for navigator.credentials.create() (as JSON) and the challenge to keep."""
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
    challenge = Challenge(
        purpose="register",
        value=bytes_to_base64url(options.challenge),
        issued_at=now,
        member_id=member.id,
    )
    return options_to_json(options), challenge


def authentication_options(*, rp: RelyingParty, now: datetime) -> tuple[str, Challenge]:
    """Options for navigator.credentials.get(): no allowCredentials, so the phone offers the
    person's passkeys and nobody types a name."""
    options = generate_authentication_options(
        rp_id=rp.rp_id,
        timeout=TIMEOUT_MS,
        allow_credentials=[],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    challenge = Challenge(
        purpose="sign_in", value=bytes_to_base64url(options.challenge), issued_at=now
    )
    return options_to_json(options), challenge


def _check_challenge(challenge: Challenge | None, purpose: str, now: datetime) -> bytes:
    if challenge is None or challenge.purpose != purpose:
        raise PasskeyRefused(
            "Yêu cầu này đã được dùng hoặc không còn hợp lệ. Hãy bấm lại nút khóa truy cập."
        )
    if now - challenge.issued_at > CHALLENGE_LIFETIME:
        raise PasskeyRefused("Quá thời gian xác nhận (5 phút). Hãy bấm lại nút khóa truy cập.")
    return base64url_to_bytes(challenge.value)


def _as_json(credential: str | dict) -> str:
    if isinstance(credential, dict):
        return json.dumps(credential)
    if not isinstance(credential, str):
        raise PasskeyRefused("Dữ liệu khóa truy cập không hợp lệ.")
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
    """Verify a new credential made for `member` against the kept challenge and store it.
    Caller commits; the challenge must not be offered again."""
    expected = _check_challenge(challenge, "register", now)
    if challenge.member_id != member.id:
        raise PasskeyRefused("Yêu cầu tạo khóa này dành cho người khác.")
    try:
        verified = verify_registration_response(
            credential=_as_json(credential),
            expected_challenge=expected,
            expected_rp_id=rp.rp_id,
            expected_origin=rp.origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyRefused(_why(error, "Không tạo được khóa truy cập")) from error
    credential_id = bytes_to_base64url(verified.credential_id)
    if session.exec(select(Passkey).where(Passkey.credential_id == credential_id)).first():
        raise PasskeyRefused("Khóa truy cập này đã được đăng ký rồi.")
    transports = []
    if isinstance(credential, dict | str):
        try:
            data = json.loads(credential) if isinstance(credential, str) else credential
            transports = [str(t) for t in data.get("response", {}).get("transports", [])][:5]
        except (ValueError, AttributeError):
            transports = []
    passkey = Passkey(
        member_id=member.id,
        credential_id=credential_id,
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        transports=transports,
        name=(name or "Khóa truy cập")[:80],
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
) -> Member:
    """The member whose passkey signed the kept challenge. Refuses unknown and revoked
    passkeys, locked accounts, a wrong origin or domain, no user verification, and a signature
    counter that went backwards (a cloned key). Records the sign-in. Caller commits."""
    expected = _check_challenge(challenge, "sign_in", now)
    try:
        parsed = parse_authentication_credential_json(_as_json(credential))
    except (WebAuthnException, ValueError, TypeError, KeyError) as error:
        raise PasskeyRefused("Dữ liệu khóa truy cập không hợp lệ.") from error
    passkey = session.exec(
        select(Passkey).where(Passkey.credential_id == bytes_to_base64url(parsed.raw_id))
    ).first()
    if passkey is None:
        raise PasskeyRefused(
            "Khóa truy cập này không có trong Fieldkit (có thể đã bị xóa). "
            "Hãy xin tổ trưởng một liên kết mời mới."
        )
    if passkey.revoked_at is not None:
        raise PasskeyRefused(
            "Khóa truy cập này đã bị thu hồi. Hãy xin tổ trưởng một liên kết mời mới."
        )
    member = session.get(Member, passkey.member_id)
    if member is None or not member.active:
        raise PasskeyRefused("Tài khoản này đã bị khóa. Hãy liên hệ tổ trưởng.")
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
        raise PasskeyRefused(_why(error, "Khóa truy cập không hợp lệ")) from error
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
    return member


def revoke(session: Session, member: Member, passkey_id: int, *, now: datetime) -> Passkey:
    """Revoke one of the member's own passkeys. Idempotent. Caller commits."""
    passkey = session.get(Passkey, passkey_id)
    if passkey is None or passkey.member_id != member.id:
        raise PasskeyRefused("Không tìm thấy khóa truy cập này trong tài khoản của bạn.")
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
    return passkey


def _why(error: Exception, prefix: str) -> str:
    """A Vietnamese reason for py_webauthn's English one; the English stays in the audit log."""
    text = str(error).lower()
    if "origin" in text:
        reason = "khóa được dùng từ một trang web khác"
    elif "rp id" in text or "rp_id" in text:
        reason = "khóa thuộc về tên miền khác"
    elif "verif" in text and "user" in text:
        reason = "điện thoại chưa xác minh bạn (vân tay, khuôn mặt hoặc mã khóa màn hình)"
    elif "challenge" in text:
        reason = "yêu cầu không khớp (có thể đã bị dùng lại)"
    elif "sign count" in text:
        reason = "bộ đếm của khóa bị lùi — khóa có thể đã bị sao chép"
    else:
        reason = "dữ liệu không hợp lệ"
    return f"{prefix}: {reason}."


def device_name(user_agent: str) -> str:
    """A short name for the device a passkey was made on, from its User-Agent."""
    ua = user_agent or ""
    system = next(
        (
            name
            for key, name in (
                ("Android", "Android"),
                ("iPhone", "iPhone"),
                ("iPad", "iPad"),
                ("Windows", "Windows"),
                ("Mac OS", "Mac"),
                ("Linux", "Linux"),
            )
            if key in ua
        ),
        "Thiết bị",
    )
    browser = next(
        (
            name
            for key, name in (
                ("Edg/", "Edge"),
                ("SamsungBrowser", "Samsung"),
                ("Zalo", "Zalo"),
                ("Chrome", "Chrome"),
                ("Firefox", "Firefox"),
                ("Safari", "Safari"),
            )
            if key in ua
        ),
        "",
    )
    return f"{system} · {browser}" if browser else system
