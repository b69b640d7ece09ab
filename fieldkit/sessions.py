"""Server-side sessions (DESIGN.md §5): a signed-in browser is a `WebSession` row, and the
browser's cookie carries only a random id whose SHA-256 finds the row. Deleting the row ends the
session at once, on every app server: that is what a signed cookie naming a member could never
do, and why sessions live here.

What ends sessions: signing out (this one), "sign out of every device" (all of a member's),
deactivating a member or changing their role or village (all of theirs, inside the same
transaction as the change), revoking a passkey (the ones opened with it). A session also ends
after 30 days without being seen (DESIGN.md §4.6: rolling, so a volunteer offline all week is
never locked out); `last_seen_at` is moved at most every `TOUCH_EVERY`, not on every request.

No Flask here; nothing is committed: the caller owns the transaction.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import TypeGuard

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from fieldkit.i18n import _
from fieldkit.models import Member, PasskeyChallenge, PushSubscription, Tally, WebSession

LIFETIME = timedelta(days=30)
# A session seen within this long is not written again: one UPDATE per browser every few
# minutes at most, whatever the number of requests.
TOUCH_EVERY = timedelta(minutes=5)
# Adding a passkey needs the person to have proved who they are this recently.
RECENT_PROOF = timedelta(minutes=10)
# Beyond this many open sessions, a member's least recently seen are ended at the next sign-in.
MAX_PER_MEMBER = 20
# Counts older than this no longer matter to any throttle or audit cap (the longest window is
# an hour).
TALLIES_KEPT = timedelta(days=1)
# The key under which the web app keeps, in a session's data, the push endpoint this browser
# registered: ending the session also stops that browser's notifications.
PUSH_ENDPOINT_KEY = "push_endpoint"

_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")

# How a session was opened, as the account page says it ("Đăng nhập 08:15 02/12 bằng mã").
METHODS = {
    "passkey": _("bằng khóa truy cập"),
    "link": _("bằng liên kết"),
    "link+passkey": _("bằng liên kết mời"),
    "code": _("bằng mã"),
}


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(value: str | None) -> TypeGuard[str]:
    """Whether a cookie value has the shape of a session id (43 base64url characters). Any
    other value is not looked up."""
    return value is not None and _TOKEN.fullmatch(value) is not None


def open_session(
    session: Session,
    member: Member,
    *,
    now: datetime,
    method: str,
    device: str = "",
    passkey_id: int | None = None,
    data: dict | None = None,
) -> tuple[str, WebSession]:
    """A new session for `member`, who has just proved who they are by `method`. Returns the
    id to put in the cookie — shown once, only its hash is kept — and the row. Caller
    commits."""
    assert member.id is not None  # a stored member
    token = secrets.token_urlsafe(32)
    record = WebSession(
        token_hash=_hash(token),
        member_id=member.id,
        created_at=now,
        last_seen_at=now,
        proved_at=now,
        method=method[:20],
        passkey_id=passkey_id,
        device=(device or "")[:80],
        data=dict(data or {}),
    )
    session.add(record)
    session.flush()
    _keep_newest(session, member.id)
    return token, record


def _keep_newest(session: Session, member_id: int) -> None:
    stale = session.exec(
        select(WebSession.id)
        .where(WebSession.member_id == member_id)
        .order_by(col(WebSession.last_seen_at).desc(), col(WebSession.id).desc())
        .offset(MAX_PER_MEMBER)
    ).all()
    for session_id in stale:
        assert session_id is not None  # a primary key
        end(session, session_id)


def find(session: Session, token: str | None, *, now: datetime) -> tuple[WebSession, Member] | None:
    """The live session the cookie's id names, with its member; None for an id that is
    malformed, unknown (signed out, ended elsewhere, forged), unseen for 30 days, or whose
    member is no longer active. One indexed SELECT."""
    if not looks_like_token(token):
        return None
    found = session.exec(
        select(WebSession, Member)
        .join(Member, col(Member.id) == WebSession.member_id)
        .where(WebSession.token_hash == _hash(token))
    ).first()
    if found is None:
        return None
    record, member = found
    if record.last_seen_at <= now - LIFETIME or not member.active:
        return None
    return record, member


def touch_due(record: WebSession, now: datetime) -> bool:
    """Whether this request should move `last_seen_at` (at most every TOUCH_EVERY)."""
    return now - record.last_seen_at >= TOUCH_EVERY


def recently_proved(record: WebSession | None, now: datetime) -> bool:
    """Whether the person proved who they are (signed in) within RECENT_PROOF."""
    return record is not None and now - record.proved_at <= RECENT_PROOF


def save(
    session: Session,
    session_id: int,
    *,
    data: dict | None = None,
    seen_at: datetime | None = None,
) -> bool:
    """Write a session's changed data and/or last-seen time. False when the session was ended
    meanwhile (by another request, another server): an ended session is never brought back.
    Caller commits."""
    values: dict = {}
    if data is not None:
        values["data"] = dict(data)
    if seen_at is not None:
        values["last_seen_at"] = seen_at
    if not values:
        return True
    result = session.exec(
        update(WebSession).where(col(WebSession.id) == session_id).values(**values)
    )
    return result.rowcount == 1


def end(session: Session, session_id: int, *, keep_push: bool = False) -> WebSession | None:
    """End one session: its row is deleted, and the push subscription its browser registered
    (unless `keep_push`: the same person signing in again on the same browser). Idempotent.
    Caller commits."""
    record = session.get(WebSession, session_id)
    if record is None:
        return None
    if not keep_push:
        _forget_push(session, record)
    session.execute(delete(WebSession).where(col(WebSession.id) == session_id))
    return record


def end_all(session: Session, member_id: int) -> int:
    """End every session of a member, and stop their notifications: no browser of theirs is
    signed in any more. How many sessions ended. Caller commits."""
    session.execute(delete(PushSubscription).where(col(PushSubscription.member_id) == member_id))
    result = session.exec(delete(WebSession).where(col(WebSession.member_id) == member_id))
    return result.rowcount or 0


def end_opened_with(session: Session, passkey_id: int) -> int:
    """End the sessions that were opened by signing in with this passkey. Caller commits."""
    records = session.exec(select(WebSession).where(WebSession.passkey_id == passkey_id)).all()
    for record in records:
        assert record.id is not None  # a stored session
        end(session, record.id)
    return len(records)


def _forget_push(session: Session, record: WebSession) -> None:
    endpoint = (record.data or {}).get(PUSH_ENDPOINT_KEY)
    if isinstance(endpoint, str) and endpoint:
        session.execute(
            delete(PushSubscription).where(
                col(PushSubscription.endpoint) == endpoint,
                col(PushSubscription.member_id) == record.member_id,
            )
        )


def of_member(session: Session, member_id: int, *, now: datetime) -> list[WebSession]:
    """A member's open sessions, the most recently seen first."""
    return list(
        session.exec(
            select(WebSession)
            .where(WebSession.member_id == member_id, WebSession.last_seen_at > now - LIFETIME)
            .order_by(col(WebSession.last_seen_at).desc(), col(WebSession.id).desc())
        ).all()
    )


def sweep(session: Session, *, now: datetime) -> None:
    """Delete what can no longer be used: sessions unseen for 30 days, expired passkey
    challenges, counts past every window. Each is a range on an index; run at each sign-in.
    Caller commits."""
    session.execute(delete(WebSession).where(col(WebSession.last_seen_at) <= now - LIFETIME))
    session.execute(delete(PasskeyChallenge).where(col(PasskeyChallenge.expires_at) <= now))
    session.execute(delete(Tally).where(col(Tally.window_start) < now - TALLIES_KEPT))


def device_name(user_agent: str) -> str:
    """A short name for a device, from its User-Agent: "Android · Chrome"."""
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
                ("CrOS", "Chromebook"),
                ("Linux", "Linux"),
            )
            if key in ua
        ),
        _("Thiết bị"),
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
