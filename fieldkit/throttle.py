"""Counting what people (or robots) try too often, in the database (`Tally`) so that every app
server sees the same count.

A count is one row per key and window (a minute here, an hour for the audit cap), added to by
one atomic INSERT … ON CONFLICT DO UPDATE on SQLite and PostgreSQL alike: a flood of failures
under one key is one row a minute, not a row per failure.

Throttles are keyed by what is being guessed — a sign-in code's phone number, a member — with
the client's address only as a generous backstop: phones behind a carrier's NAT share
addresses, and one person guessing must not lock out everyone on that network. Usage: ask
`allow()` before trying, `fail()` after a failure. Successes are not counted (the audit log
has the sign-ins).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from fieldkit.models import Tally

MINUTE = timedelta(minutes=1)


def window_start(now: datetime, size: timedelta) -> datetime:
    """The start of the window of `size` that holds `now` (windows are aligned on the epoch)."""
    seconds = int(size.total_seconds())
    stamp = int(now.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, UTC)


def bump(session: Session, key: str, *, now: datetime, size: timedelta = MINUTE) -> int:
    """Add one to `key`'s count in the window holding `now`; the new count. Atomic: of two
    requests at the same moment each gets its own number. Caller commits."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = (
        insert(Tally)
        .values(key=key[:120], window_start=window_start(now, size), count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"count": Tally.count + 1}
        )
        .returning(col(Tally.count))
    )
    count: int = session.exec(statement).scalar_one()
    return count


def total(
    session: Session, key: str, *, window: timedelta, now: datetime, size: timedelta = MINUTE
) -> int:
    """`key`'s counts over the windows of `size` that overlap the last `window` before `now`
    (so up to one `size` more than `window`)."""
    return session.exec(
        select(func.coalesce(func.sum(Tally.count), 0)).where(
            Tally.key == key[:120], Tally.window_start >= window_start(now - window, size)
        )
    ).one()


def failures(session: Session, key: str, *, window: timedelta, now: datetime) -> int:
    """Failed attempts under `key` within (about) `window` before `now`."""
    return total(session, key, window=window, now=now)


def allow(session: Session, key: str, *, limit: int, window: timedelta, now: datetime) -> bool:
    """True while fewer than `limit` attempts under `key` failed within `window`. Changes
    nothing."""
    return failures(session, key, window=window, now=now) < limit


def fail(session: Session, key: str, *, now: datetime) -> int:
    """Count one failure under `key`; the failures in its minute so far. Caller commits."""
    return bump(session, key, now=now)


def note(session: Session, key: str, *, succeeded: bool, now: datetime) -> None:
    """Record an attempt's outcome: a failure counts, a success changes nothing (only failures
    count against a limit). Caller commits."""
    if not succeeded:
        fail(session, key, now=now)


def forget_before(session: Session, moment: datetime) -> int:
    """Delete the counts of windows that started before `moment`. Caller commits."""
    result = session.exec(delete(Tally).where(col(Tally.window_start) < moment))
    return result.rowcount or 0
