"""Members and one-time sign-in links. The link stays the enrollment path when passkeys
arrive: a person opens it once, within 24 hours, and is signed in."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from fieldkit import audit, communes, forms, policy, sessions, throttle
from fieldkit.errors import Invalid, NotFound, SignInRefused
from fieldkit.i18n import _
from fieldkit.models import Commune, Member, OneTimeCode, Role, SignInLink, Village

LINK_LIFETIME = timedelta(hours=24)
_USED = _(
    "Liên kết này đã được dùng rồi. Mỗi liên kết chỉ dùng được một lần — hãy xin tổ "
    "trưởng một liên kết mới."
)


class UnknownLink(SignInRefused):
    """A token that names no link at all: a mistyped or guessed one (a used or expired link is
    a plain SignInRefused — its holder is no guesser)."""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_member(
    session: Session,
    *,
    commune_id: int,
    name: str,
    role: Role,
    village: Village | None = None,
    phone: str | None = None,
) -> Member:
    """Caller commits."""
    if policy.needs_village(role) and village is None:
        raise Invalid({"village": _("Thành viên và tổ trưởng phải thuộc một thôn.")})
    if village is not None and village.commune_id != commune_id:
        raise Invalid({"village": _("Thôn này không thuộc xã.")})
    member = Member(
        commune_id=commune_id,
        name=name,
        role=role,
        phone=phone,
        village_id=village.id if village else None,
    )
    session.add(member)
    session.flush()
    return member


def find_member(
    session: Session, who: str, *, commune_id: int | None = None, province_code: str | None = None
) -> Member:
    """A member by id or phone number, as typed at the console; within one commune or among
    one province's staff when given. A phone number held in several communes (one server
    serves a province) must be narrowed down: Invalid says how."""
    who = who.strip()
    statement = select(Member)
    if commune_id is not None:
        statement = statement.where(Member.commune_id == commune_id)
    if province_code is not None:
        statement = statement.where(Member.province_code == province_code.strip())
    found: list[Member] = []
    if who.isdigit() and len(who) < 9:
        found = list(session.exec(statement.where(Member.id == int(who))).all())
    if not found:
        found = list(session.exec(statement.where(Member.phone == who).order_by(col(Member.id))))
    if not found:
        raise NotFound(
            _("Không tìm thấy thành viên %(who)s (nhập mã số hoặc số điện thoại).", who=repr(who))
        )
    if len(found) > 1:
        # Someone who left and came back has an old, inactive account with the same phone.
        found = [member for member in found if member.active] or found
    if len(found) > 1:
        raise Invalid(
            {
                "who": _(
                    (
                        "Số %(who)s có ở %(count)s nơi; thêm --commune MÃ_XÃ (hoặc --province "
                        "MÃ_TỈNH với cán bộ tỉnh), hoặc dùng mã số của người đó."
                    ),
                    who=who,
                    count=len(found),
                )
            }
        )
    return found[0]


def create_sign_in_link(
    session: Session, member: Member, *, now: datetime, created_by_id: int | None = None
) -> str:
    """A fresh one-time token for `member`, valid 24 h. Only its hash is stored; the token
    itself is returned once, to be put in a link. Caller commits."""
    token = secrets.token_urlsafe(32)
    assert member.id is not None  # a stored member
    session.add(
        SignInLink(
            token_hash=_hash(token),
            member_id=member.id,
            created_at=now,
            expires_at=now + LINK_LIFETIME,
            created_by_id=created_by_id,
        )
    )
    return token


def redeem_sign_in_link(session: Session, token: str, *, now: datetime) -> Member:
    """Use the link once. Raises SignInRefused saying plainly why it cannot be used.
    Caller commits (the link is marked used in the same transaction as the sign-in)."""
    link = check_sign_in_link(session, token, now=now)
    # Marked used by a conditional UPDATE, not by writing the object back: of two redemptions
    # at the same moment (a double tap, two phones) the database lets exactly one through.
    marked = session.exec(
        update(SignInLink)
        .where(col(SignInLink.id) == link.id, col(SignInLink.used_at).is_(None))
        .values(used_at=now)
    )
    if marked.rowcount != 1:
        raise SignInRefused(_USED)
    member = session.get(Member, link.member_id)
    assert member is not None  # link.member_id is a foreign key
    audit.record(
        session,
        action="sign_in",
        now=now,
        actor=member,
        target_kind="link",
        target_id=link.id,
        details={"method": "link"},
    )
    return member


def check_sign_in_link(session: Session, token: str, *, now: datetime) -> SignInLink:
    """The link, if it can still be used; changes nothing."""
    link = session.exec(
        select(SignInLink).where(SignInLink.token_hash == _hash(token or ""))
    ).first()
    if link is None:
        raise UnknownLink(
            _(
                "Liên kết đăng nhập không đúng. Hãy kiểm tra lại hoặc xin tổ trưởng một liên "
                "kết mới."
            )
        )
    if link.used_at is not None:
        raise SignInRefused(_USED)
    if link.expires_at <= now:
        raise SignInRefused(
            _(
                "Liên kết này đã hết hạn (chỉ dùng được trong 24 giờ). Hãy xin "
                "tổ trưởng một liên kết mới."
            )
        )
    member = session.get(Member, link.member_id)
    if member is None or not member.active:
        raise SignInRefused(_("Tài khoản này đã bị khóa. Hãy liên hệ tổ trưởng."))
    return link


# --- In-app invites and member management (policy decides; every change is audited) -------


def normalise_phone(phone: str | None) -> str | None:
    """Digits only, +84 written as 0; None when blank. Invalid raised for anything that is not a
    Vietnamese phone number."""
    if phone is None or not phone.strip():
        return None
    digits = phone.strip().replace(" ", "").replace(".", "").replace("-", "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    # ASCII digits only: "٠٩١٢…".isdigit() is true too.
    if not (digits.isascii() and digits.isdigit() and 9 <= len(digits) <= 11):
        raise Invalid({"phone": _("Số điện thoại gồm 10 chữ số, ví dụ 0912345678.")})
    return digits


def invite(session: Session, actor: Member, member: Member, *, now: datetime) -> str:
    """A one-time link (24 h) made in the app by `actor` for `member`. Caller commits."""
    policy.require_can_manage_member(actor, member)
    token = create_sign_in_link(session, member, now=now, created_by_id=actor.id)
    audit.record(
        session,
        action="invite",
        now=now,
        actor=actor,
        target_kind="member",
        target_id=member.id,
        details={"name": member.name},
    )
    return token


def add_member_by(
    session: Session,
    actor: Member,
    *,
    name: str,
    role: Role,
    village: Village | None,
    phone: str | None,
    now: datetime,
) -> Member:
    """A new member added from a commune's members page. Caller commits. Province staff have no
    commune (they add theirs with fieldkit.reporting.province.add_member_by): Forbidden here."""
    commune_id = policy.require_commune_member(actor)
    name = " ".join(forms.checked_text(name, field="name", label=_("họ tên")).split())
    if not name:
        raise Invalid({"name": _("Vui lòng nhập họ tên.")})
    if len(name) > 100:
        raise Invalid({"name": _("Họ tên dài quá 100 ký tự.")})
    phone = normalise_phone(phone)
    if village is not None and village.commune_id != commune_id:
        raise Invalid({"village": _("Thôn này không thuộc xã.")})
    policy.require_can_invite(actor, role, village.id if village else None)
    if (
        phone
        and session.exec(
            select(Member).where(
                Member.phone == phone,
                Member.commune_id == commune_id,
                col(Member.active).is_(True),
            )
        ).first()
    ):
        raise Invalid({"phone": _("Số điện thoại này đã có người dùng trong xã.")})
    member = add_member(
        session,
        commune_id=commune_id,
        name=name,
        role=role,
        village=village if policy.needs_village(role) else None,
        phone=phone,
    )
    audit.record(
        session,
        action="member_added",
        now=now,
        actor=actor,
        target_kind="member",
        target_id=member.id,
        details={"name": member.name, "role": role.value, "village_id": member.village_id},
    )
    return member


def deactivate(session: Session, actor: Member, member: Member, *, now: datetime) -> None:
    """The member leaves the team: every session of theirs ends now (on every device), links
    and codes no longer work. Their visits stay. Caller commits."""
    policy.require_can_manage_member(actor, member)
    if not member.active:
        return
    member.active = False
    session.add(member)
    assert member.id is not None  # a stored member
    sessions.end_all(session, member.id)
    audit.record(
        session,
        action="member_removed",
        now=now,
        actor=actor,
        target_kind="member",
        target_id=member.id,
        details={"name": member.name},
    )


def change_role(
    session: Session,
    actor: Member,
    member: Member,
    role: Role,
    *,
    village: Village | None,
    now: datetime,
) -> None:
    """Commune staff change a member's role and village (within the commune). A change ends
    the member's sessions: what they may see changed, so they sign in again (and their phone
    prepares the new scope). Caller commits."""
    policy.require_can_change_role(actor, member, role)
    if village is not None and village.commune_id != actor.commune_id:
        raise Invalid({"village": _("Thôn này không thuộc xã.")})
    if policy.needs_village(role) and village is None:
        raise Invalid({"village": _("Thành viên và tổ trưởng phải thuộc một thôn.")})
    new_village_id = village.id if village is not None and policy.needs_village(role) else None
    changed = role != member.role or new_village_id != member.village_id
    if role != member.role:
        audit.record(
            session,
            action="role_changed",
            now=now,
            actor=actor,
            target_kind="member",
            target_id=member.id,
            details={"from": member.role.value, "to": role.value},
        )
        member.role = role
    if new_village_id != member.village_id:
        audit.record(
            session,
            action="village_changed",
            now=now,
            actor=actor,
            target_kind="member",
            target_id=member.id,
            details={"from": member.village_id, "to": new_village_id},
        )
        member.village_id = new_village_id
    if changed:
        assert member.id is not None  # a stored member
        sessions.end_all(session, member.id)
    session.add(member)


def add_village(session: Session, actor: Member, name: str, *, now: datetime) -> Village:
    """A new village (thôn, tổ dân phố) of the actor's commune, audited. Caller commits."""
    policy.require_can_manage_villages(actor)
    commune = session.get(Commune, actor.commune_id)
    assert commune is not None  # the actor's own commune
    village = communes.add_village(session, commune, name)
    audit.record(
        session,
        action="village_added",
        now=now,
        actor=actor,
        target_kind="village",
        target_id=village.id,
        details={"name": village.name},
    )
    return village


def rename_village(
    session: Session, actor: Member, village: Village, name: str, *, now: datetime
) -> None:
    policy.require_can_manage_villages(actor)
    if village.commune_id != actor.commune_id:
        raise NotFound(_("Không tìm thấy thôn này."))
    name = " ".join(forms.checked_text(name, field="name", label=_("tên thôn")).split())
    if not name or len(name) > 80:
        raise Invalid({"name": _("Vui lòng nhập tên thôn (tối đa 80 ký tự).")})
    if name.casefold() != village.name.casefold():
        _require_new_village_name(session, actor.commune_id, name)
    audit.record(
        session,
        action="village_renamed",
        now=now,
        actor=actor,
        target_kind="village",
        target_id=village.id,
        details={"before": village.name, "after": name},
    )
    village.name = name
    session.add(village)


def _require_new_village_name(session: Session, commune_id: int, name: str) -> None:
    taken = session.exec(select(Village.name).where(Village.commune_id == commune_id)).all()
    if name.casefold() in {t.casefold() for t in taken}:
        raise Invalid({"name": _("Xã đã có thôn tên này.")})


# --- One-time codes: for phones that cannot hold a passkey ---------------------------------

CODE_LIFETIME = timedelta(minutes=10)
CODE_DIGITS = 6
MAX_WRONG = 5  # per phone number
ADDRESS_LIMIT = 50  # per client address: a backstop, generous for a team behind one NAT
WRONG_WINDOW = timedelta(minutes=15)
_TOO_MANY = _("Nhập sai quá nhiều lần. Hãy đợi 15 phút rồi thử lại, hoặc nhờ tổ trưởng cấp mã mới.")
_WRONG = _(
    "Số điện thoại hoặc mã không đúng, hoặc mã đã hết hạn (mã chỉ dùng được một lần, "
    "trong 10 phút)."
)


class CodeRefused(SignInRefused):
    """A code sign-in refused. The failed attempt has been added to the session: the caller
    commits it, so that wrong guesses are counted even though nothing else changes.
    `too_many` says the limit was reached (HTTP 429)."""

    def __init__(self, message: str, *, too_many: bool = False):
        super().__init__(message)
        self.too_many = too_many


def _code_hash(code: str, salt: str | None = None) -> str:
    salt = salt or secrets.token_hex(8)
    return f"{salt}${hashlib.sha256(f'{salt}:{code}'.encode()).hexdigest()[:40]}"


def _code_matches(stored: str, code: str) -> bool:
    salt, _unused, _digest = stored.partition("$")
    return hmac.compare_digest(stored, _code_hash(code, salt))


def issue_code(session: Session, actor: Member, member: Member, *, now: datetime) -> str:
    """A 6-digit code, valid 10 minutes, single use, for a member in the actor's care. Any
    earlier unused code of that member stops working. Only a salted hash is kept; the code is
    returned once, to be read out. Caller commits."""
    policy.require_can_manage_member(actor, member)
    if not member.phone:
        raise Invalid(
            {"phone": _("Người này chưa có số điện thoại: mã đăng nhập cần số điện thoại.")}
        )
    assert member.id is not None  # a stored member
    session.execute(
        update(OneTimeCode)
        .where(
            col(OneTimeCode.member_id) == member.id,
            col(OneTimeCode.used_at).is_(None),
            col(OneTimeCode.expires_at) > now,
        )
        .values(expires_at=now)
    )
    code = "".join(secrets.choice("0123456789") for _unused in range(CODE_DIGITS))
    session.add(
        OneTimeCode(
            member_id=member.id,
            code_hash=_code_hash(code),
            created_by_id=actor.id,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    audit.record(
        session,
        action="code_issued",
        now=now,
        actor=actor,
        target_kind="member",
        target_id=member.id,
        details={"name": member.name},
    )
    return code


def redeem_code(session: Session, *, phone: str, code: str, client: str, now: datetime) -> Member:
    """Sign in with phone number and code. What is guessed is one phone's code, so the limit is
    per phone number: 5 wrong tries in 15 minutes, beyond which even the right code is refused
    — the same for a number that belongs to nobody, so the answers do not tell which numbers
    are members'. The client's address is only a backstop (50 wrong tries in 15 minutes, for
    someone spraying many numbers): a team signing in together behind one carrier's NAT shares
    an address. Caller commits — also after CodeRefused, so the wrong try is counted."""
    ip_key = f"code:ip:{client}"[:120]
    if not throttle.allow(session, ip_key, limit=ADDRESS_LIMIT, window=WRONG_WINDOW, now=now):
        raise CodeRefused(_TOO_MANY, too_many=True)
    number: str | None
    try:
        number = normalise_phone(phone)
    except Invalid:
        number = None
    phone_key = f"code:phone:{number or '?'}"
    if not throttle.allow(session, phone_key, limit=MAX_WRONG, window=WRONG_WINDOW, now=now):
        raise CodeRefused(_TOO_MANY, too_many=True)
    member = (
        session.exec(
            select(Member).where(Member.phone == number, col(Member.active).is_(True))
        ).first()
        if number
        else None
    )
    code = "".join((code or "").split())
    stored = session.exec(
        select(OneTimeCode)
        .where(
            OneTimeCode.member_id == (member.id if member else -1),
            col(OneTimeCode.used_at).is_(None),
            OneTimeCode.expires_at > now,
        )
        .order_by(col(OneTimeCode.id).desc())
    ).first()
    if stored is None or not _code_matches(stored.code_hash, code):
        throttle.fail(session, ip_key, now=now)
        throttle.fail(session, phone_key, now=now)
        if stored is not None:
            stored.failed_attempts += 1
            session.add(stored)
        raise CodeRefused(_WRONG)
    marked = session.exec(
        update(OneTimeCode)
        .where(col(OneTimeCode.id) == stored.id, col(OneTimeCode.used_at).is_(None))
        .values(used_at=now)
    )
    if marked.rowcount != 1:
        raise CodeRefused(_WRONG)
    assert member is not None  # a code is found only for a member (-1 matches none)
    audit.record(
        session,
        action="sign_in",
        now=now,
        actor=member,
        target_kind="code",
        target_id=stored.id,
        details={"method": "code"},
    )
    return member
