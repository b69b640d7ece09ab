"""Counting failures (fieldkit.throttle) and refused sign-ins (fieldkit.audit.record_refused):
one row per key and window however many times something happens, so unauthenticated requests
cannot add rows without bound."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlmodel import func, select

from fieldkit import audit, throttle
from fieldkit.db import new_session
from fieldkit.models import AuditEvent, Tally
from tests.conftest import NOW

WINDOW = timedelta(minutes=15)


def rows(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_failures_count_within_the_window_and_successes_do_not(session):
    key = "signin-link:ip:10.0.0.1"
    for _ in range(3):
        assert throttle.allow(session, key, limit=3, window=WINDOW, now=NOW)
        throttle.note(session, key, succeeded=False, now=NOW)
    throttle.note(session, key, succeeded=True, now=NOW)
    assert throttle.failures(session, key, window=WINDOW, now=NOW) == 3
    assert not throttle.allow(session, key, limit=3, window=WINDOW, now=NOW)
    assert throttle.allow(session, "signin-link:ip:10.0.0.2", limit=3, window=WINDOW, now=NOW)
    later = NOW + WINDOW + timedelta(minutes=2)
    assert throttle.allow(session, key, limit=3, window=WINDOW, now=later)
    assert throttle.forget_before(session, later) == 1


def test_a_flood_under_one_key_is_one_row_a_minute(session):
    for second in range(600):
        throttle.fail(session, "passkey:ip:10.0.0.1", now=NOW + timedelta(seconds=second))
    session.commit()
    assert rows(session, Tally) == 10
    assert throttle.failures(session, "passkey:ip:10.0.0.1", window=WINDOW, now=NOW) == 600


def test_counting_is_atomic_between_connections(engine, session):
    """Two app servers counting the same key at once lose no count (INSERT … ON CONFLICT DO
    UPDATE … RETURNING on both engines)."""
    start = threading.Barrier(4)
    seen: list[int] = []

    def count_ten():
        start.wait()
        for _ in range(10):
            with new_session(engine) as own:
                seen.append(throttle.bump(own, "code:phone:0912000001", now=NOW))
                own.commit()

    threads = [threading.Thread(target=count_ten) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(1, 41))
    assert throttle.failures(session, "code:phone:0912000001", window=WINDOW, now=NOW) == 40


def test_refused_sign_ins_are_logged_up_to_a_cap_and_counted_beyond(session, world):
    for i in range(500):
        audit.record_refused(
            session,
            action="sign_in_refused",
            kind="cookie",
            now=NOW + timedelta(seconds=i),
            details={"path": "/households"},
        )
    session.commit()
    events = session.exec(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert len(events) == audit.REFUSALS_LOGGED_PER_HOUR
    assert "chỉ được đếm" in events[-1].details["note"]
    assert rows(session, Tally) == 1
    assert (
        audit.refused_count(
            session, action="sign_in_refused", kind="cookie", commune_id=None, now=NOW
        )
        == 500
    )
    # The next hour starts a new count, and a commune's refusals are counted apart.
    later = NOW + timedelta(hours=1)
    assert audit.record_refused(session, action="sign_in_refused", kind="cookie", now=later)
    assert audit.record_refused(
        session, action="sign_in_refused", kind="code", now=NOW, actor=world.volunteer
    )
