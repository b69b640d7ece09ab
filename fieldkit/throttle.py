"""Throttling of things people may try too often (sign-in links, codes), counted in the
database (`Attempt`) so that every app server sees the same count.

Usage: ask `allow()` before trying, `note()` the outcome after. Only failures count against
the limit; successes are noted so that the log tells the whole story.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func
from sqlmodel import Session, col, select

from fieldkit.models import Attempt


def failures(session: Session, key: str, *, window: timedelta, now: datetime) -> int:
    """Failed attempts under `key` within `window` before `now`."""
    return session.exec(
        select(func.count())
        .select_from(Attempt)
        .where(Attempt.key == key, Attempt.at > now - window, col(Attempt.succeeded).is_(False))
    ).one()


def allow(session: Session, key: str, *, limit: int, window: timedelta, now: datetime) -> bool:
    """True while fewer than `limit` attempts under `key` failed within `window`. Changes
    nothing."""
    return failures(session, key, window=window, now=now) < limit


def note(session: Session, key: str, *, succeeded: bool, now: datetime) -> Attempt:
    """Record one attempt under `key`. Caller commits."""
    attempt = Attempt(key=key[:120], at=now, succeeded=succeeded)
    session.add(attempt)
    return attempt


def forget_before(session: Session, moment: datetime) -> int:
    """Delete attempts older than `moment` (they no longer count). Caller commits."""
    result = session.execute(delete(Attempt).where(col(Attempt.at) < moment))
    return result.rowcount or 0
