"""The production server for real (gunicorn, gunicorn.conf.py): health and readiness, JSON
logs naming each request, and overload answered 503 + Retry-After — never a 500, never a
half-saved batch — when more requests come at once than the database pool holds."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
import requests
from sqlmodel import func, select

from fieldkit import forms, members
from fieldkit.db import make_engine, new_session
from fieldkit.models import Visit, utcnow
from tests.conftest import NOW
from tests.factories import build_world
from tests.fieldkit.helpers import line, visit_payload
from tests.serving import Gunicorn, sign_in


@pytest.fixture
def served_world(sqlite_url):
    engine = make_engine(sqlite_url)
    with new_session(engine) as session:
        world = build_world(session, now=NOW)
        session.commit()
    yield world, engine
    engine.dispose()


def _link(engine, member) -> str:
    with new_session(engine) as session:
        token = members.create_sign_in_link(session, member, now=utcnow())
        session.commit()
    return token


def _batch(world, size: int) -> dict:
    """`size` visits of today to the volunteer's household, one line each."""
    today = forms.to_local(utcnow())
    items = []
    for _ in range(size):
        payload = visit_payload(
            lines=[line(world.head)],
            household_id=world.household.id,
            visited_at=today.strftime("%Y-%m-%dT%H:%M"),
        )
        items.append({"id": payload["uuid"], "kind": "visit", "payload": payload})
    return {"items": items}


def test_health_readiness_and_json_logs_under_gunicorn(served_world, sqlite_url, tmp_path):
    server = Gunicorn(sqlite_url, tmp_path / "instance").start()
    try:
        health = requests.get(f"{server.url}/healthz", timeout=5)
        ready = requests.get(f"{server.url}/readyz", timeout=5)
        page = requests.get(f"{server.url}/signin", timeout=5)
    finally:
        server.stop()
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert ready.status_code == 200 and ready.json()["status"] == "ok"
    logged = [json.loads(text) for text in server.log_lines() if text.startswith("{")]
    assert len(logged) == len(server.log_lines()), "every log line is JSON"
    (signin,) = [entry for entry in logged if entry.get("route") == "/signin"]
    assert signin["request_id"] == page.headers["X-Request-Id"]
    assert signin["status"] == 200 and signin["logger"] == "fieldkit.request"


def _all_at_once(count: int, request) -> list[requests.Response]:
    """`request(index)` from `count` threads released together; their answers, in order."""
    answers: list = [None] * count
    start = threading.Barrier(count)

    def send(index: int) -> None:
        start.wait(10)
        answers[index] = request(index)

    senders = [threading.Thread(target=send, args=(i,)) for i in range(count)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(90)
    assert all(answer is not None for answer in answers), "a request never came back"
    return answers


@dataclass
class _SignedIn:
    """A gunicorn server and the volunteer signed in to it."""

    server: Gunicorn
    http: requests.Session
    csrf: str

    def sync(self, batch: dict, *, own_connection: bool = False) -> requests.Response:
        """The batch sent as the outbox sends it; `own_connection`: as another phone would."""
        url, headers = f"{self.server.url}/api/v1/sync", {"X-CSRF-Token": self.csrf}
        if own_connection:
            cookie = {"fieldkit_session": self.http.cookies["fieldkit_session"]}
            return requests.post(url, json=batch, headers=headers, cookies=cookie, timeout=60)
        return self.http.post(url, json=batch, headers=headers, timeout=60)


@contextmanager
def _one_process(served_world, sqlite_url, instance, **env: str) -> Iterator[_SignedIn]:
    """gunicorn with one process serving one request at a time (FIELDKIT_* settings in `env`
    add to that), the volunteer signed in; stopped at the end, its log still readable."""
    world, engine = served_world
    server = Gunicorn(
        sqlite_url,
        instance,
        env={"FIELDKIT_WORKERS": "1", "FIELDKIT_MAX_INFLIGHT": "1"}
        | {f"FIELDKIT_{name.upper()}": value for name, value in env.items()},
    ).start()
    try:
        http = requests.Session()
        yield _SignedIn(server, http, sign_in(http, server.url, _link(engine, world.volunteer)))
    finally:
        server.stop()


def test_more_requests_than_the_pool_holds_are_shed_with_503_never_500(
    served_world, sqlite_url, tmp_path
):
    world, engine = served_world
    # One process working on one request at a time, waiting 50 ms for a turn: 24 phones
    # sending 25 visits each at once cannot all be served in time.
    phones = 24
    batches = [_batch(world, 25) for _ in range(phones)]
    crowded = _one_process(
        served_world, sqlite_url, tmp_path / "instance", threads="12", queue_timeout="0.05"
    )
    with crowded as signed:
        answers = _all_at_once(phones, lambda index: signed.sync(batches[index]))
        statuses = [answer.status_code for answer in answers]
        assert set(statuses) <= {200, 503}, statuses
        shed = [i for i, status in enumerate(statuses) if status == 503]
        assert shed, "the server was never saturated: the test proves nothing"
        for index in shed:
            answer = answers[index]
            assert int(answer.headers["Retry-After"]) > 0
            assert answer.json()["error"].startswith("Máy chủ đang bận")
        for index, answer in enumerate(answers):
            if answer.status_code == 200:
                assert {r["status"] for r in answer.json()["results"]} == {"stored"}, index
        # Nothing of a shed batch was kept: exactly the accepted batches are stored.
        with new_session(engine) as session:
            stored = session.exec(select(func.count()).select_from(Visit)).one()
        assert stored == 25 * (phones - len(shed))
        # The outbox sends the shed batches again later: then everything is stored, once.
        for index in shed:
            for _ in range(20):
                again = signed.sync(batches[index])
                if again.status_code == 200:
                    break
                assert again.status_code == 503
                time.sleep(0.1)
            assert {r["status"] for r in again.json()["results"]} == {"stored"}
        with new_session(engine) as session:
            assert session.exec(select(func.count()).select_from(Visit)).one() == 25 * phones
    assert not [text for text in signed.server.log_lines() if '"status": 500' in text]


def test_signed_in_people_waiting_for_a_turn_hold_no_connection(served_world, sqlite_url, tmp_path):
    """The load test of 500 volunteers: a signed-in request looked its session up (taking a
    pool connection) before it waited for its turn, so the threads waiting for a turn held
    every connection, the next lookups timed out inside Flask's context push and the server
    answered a bare 500. Here the pool gives up after 0.2 s while a turn may be waited for
    5 s: every request must be served or shed, none may fail."""
    world, _ = served_world
    phones = 24
    batches = [_batch(world, 25) for _ in range(phones)]
    crowded = _one_process(
        served_world,
        sqlite_url,
        tmp_path / "instance",
        threads="12",
        queue_timeout="5",
        db_pool_timeout="0.2",
    )
    with crowded as signed:

        def send(index: int) -> requests.Response:
            if index % 2:
                return signed.http.get(f"{signed.server.url}/households", timeout=60)
            return signed.sync(batches[index])

        answers = _all_at_once(phones, send)
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {200, 503}, statuses
    assert statuses.count(200) >= phones // 2, statuses  # waiting, not shedding, is usual
    for index, answer in enumerate(answers):
        if answer.status_code == 200 and index % 2 == 0:
            assert {r["status"] for r in answer.json()["results"]} == {"stored"}, index
        elif answer.status_code == 200:
            assert world.volunteer.name in answer.text  # still signed in
    assert not [text for text in signed.server.log_lines() if '"status": 500' in text]
    assert not [text for text in signed.server.log_lines() if "QueuePool limit" in text]


def test_requests_queued_too_long_inside_gunicorn_are_shed_too(served_world, sqlite_url, tmp_path):
    # One thread, one turn: no request ever waits for a turn inside the app, they all wait in
    # gunicorn's own queue for the thread. Those that waited past the queue timeout there are
    # answered 503 at once (pwa/worker.py) instead of being served many seconds late.
    world, _ = served_world
    phones = 16
    crowded = _one_process(
        served_world, sqlite_url, tmp_path / "instance", threads="1", queue_timeout="0.2"
    )
    with crowded as signed:
        answers = _all_at_once(
            phones, lambda _: signed.sync(_batch(world, 25), own_connection=True)
        )
    statuses = [answer.status_code for answer in answers]
    assert set(statuses) <= {200, 503}, statuses
    assert 503 in statuses and 200 in statuses, statuses
