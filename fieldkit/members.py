"""Members and one-time sign-in links. The link stays the enrollment path when passkeys
arrive: a person opens it once, within 24 hours, and is signed in."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from fieldkit.errors import Invalid, NotFound, SignInRefused
from fieldkit.models import Member, Role, SignInLink, Village

LINK_LIFETIME = timedelta(hours=24)
_USED = ("Liên kết này đã được dùng rồi. Mỗi liên kết chỉ dùng được một lần — hãy xin tổ "
         "trưởng một liên kết mới.")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def add_member(session: Session, *, commune_id: int, name: str, role: Role,
               village: Village | None = None, phone: str | None = None) -> Member:
    """Caller commits."""
    if role in (Role.volunteer, Role.leader) and village is None:
        raise Invalid({"village": "Thành viên và tổ trưởng phải thuộc một thôn."})
    if village is not None and village.commune_id != commune_id:
        raise Invalid({"village": "Thôn này không thuộc xã."})
    member = Member(commune_id=commune_id, name=name, role=role, phone=phone,
                    village_id=village.id if village else None)
    session.add(member)
    session.flush()
    return member


def find_member(session: Session, who: str) -> Member:
    """A member by id or phone number, as typed at the console."""
    who = who.strip()
    member = None
    if who.isdigit() and len(who) < 9:
        member = session.get(Member, int(who))
    if member is None:
        member = session.exec(select(Member).where(Member.phone == who)).first()
    if member is None:
        raise NotFound(f"Không tìm thấy thành viên {who!r} (nhập mã số hoặc số điện thoại).")
    return member


def create_sign_in_link(session: Session, member: Member, *, now: datetime) -> str:
    """A fresh one-time token for `member`, valid 24 h. Only its hash is stored; the token
    itself is returned once, to be put in a link. Caller commits."""
    token = secrets.token_urlsafe(32)
    session.add(SignInLink(token_hash=_hash(token), member_id=member.id, created_at=now,
                           expires_at=now + LINK_LIFETIME))
    return token


def redeem_sign_in_link(session: Session, token: str, *, now: datetime) -> Member:
    """Use the link once. Raises SignInRefused saying plainly why it cannot be used.
    Caller commits (the link is marked used in the same transaction as the sign-in)."""
    link = check_sign_in_link(session, token, now=now)
    # Marked used by a conditional UPDATE, not by writing the object back: of two redemptions
    # at the same moment (a double tap, two phones) the database lets exactly one through.
    marked = session.execute(
        update(SignInLink)
        .where(SignInLink.id == link.id, col(SignInLink.used_at).is_(None))
        .values(used_at=now)
    )
    if marked.rowcount != 1:
        raise SignInRefused(_USED)
    return session.get(Member, link.member_id)


def check_sign_in_link(session: Session, token: str, *, now: datetime) -> SignInLink:
    """The link, if it can still be used; changes nothing."""
    link = session.exec(
        select(SignInLink).where(SignInLink.token_hash == _hash(token or ""))).first()
    if link is None:
        raise SignInRefused("Liên kết đăng nhập không đúng. Hãy kiểm tra lại hoặc xin "
                            "tổ trưởng một liên kết mới.")
    if link.used_at is not None:
        raise SignInRefused(_USED)
    if link.expires_at <= now:
        raise SignInRefused("Liên kết này đã hết hạn (chỉ dùng được trong 24 giờ). Hãy xin "
                            "tổ trưởng một liên kết mới.")
    member = session.get(Member, link.member_id)
    if member is None or not member.active:
        raise SignInRefused("Tài khoản này đã bị khóa. Hãy liên hệ tổ trưởng.")
    return link
