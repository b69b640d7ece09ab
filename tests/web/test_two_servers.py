"""Stateless app servers (issue 13): two gunicorn instances on two loopback ports behind one
haproxy, against one PostgreSQL. A session opened on one is honoured on the other; one batch
replayed through both, in turn and all at once, is stored once; two push workers send every
message once. This is how a province grows past one machine: more app servers, one database.

haproxy comes from Debian (scripts/setup-haproxy, run by `make test`)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from sqlmodel import func, select

from fieldkit import forms, members, push
from fieldkit.db import make_engine, new_session
from fieldkit.models import PushMessage, Visit, utcnow
from tests.conftest import NOW, empty_postgres
from tests.factories import build_world
from tests.fieldkit.helpers import line, visit_payload
from tests.fieldkit.test_push import Browser, PushService
from tests.serving import Gunicorn, free_port, sign_in

pytestmark = pytest.mark.postgres
HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
FIELDKIT = Path(sys.executable).parent / "fieldkit"


@pytest.fixture
def pg_world(postgres_migrated):
    engine = make_engine(postgres_migrated)
    empty_postgres(engine)
    with new_session(engine) as session:
        world = build_world(session, now=NOW)
        session.commit()
    yield world, engine, postgres_migrated
    engine.dispose()


class Balancer:
    """haproxy on a free loopback port, round robin over the app servers, checking /readyz.
    It names the server that answered (X-Served-By) and gives each request an id."""

    def __init__(self, servers: list[Gunicorn], folder: Path):
        if not os.path.exists(HAPROXY):
            pytest.skip("haproxy is not installed and could not be (scripts/setup-haproxy)")
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        lines = [
            "global",
            "  maxconn 512",
            f"  stats socket {folder / 'haproxy.sock'} level user",
            "defaults",
            "  mode http",
            "  timeout connect 5s",
            # A check answers in 5 s on a loaded machine rather than the 500 ms interval; a server
            # is taken out after 3 failures in a row, not one slow /readyz.
            "  timeout check 5s",
            "  timeout client 60s",
            "  timeout server 60s",
            "frontend fieldkit",
            f"  bind 127.0.0.1:{self.port}",
            "  option forwardfor",
            "  unique-id-format %{+X}o\\ %ci%cp%fp%Ts%rt%pid",
            "  http-request set-header X-Request-Id %[unique-id]",
            "  default_backend apps",
            "backend apps",
            "  balance roundrobin",
            "  option httpchk GET /readyz",
            "  http-response set-header X-Served-By %[srv_name]",
        ]
        for index, server in enumerate(servers):
            lines.append(
                f"  server app{index} 127.0.0.1:{server.port} check inter 500ms fall 3 rise 1"
            )
        self.names = [f"app{index}" for index in range(len(servers))]
        self.socket = folder / "haproxy.sock"
        self.config = folder / "haproxy.cfg"
        self.config.write_text("\n".join(lines) + "\n")
        self.log = folder / "haproxy.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Balancer:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [HAPROXY, "-db", "-f", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"haproxy exited: {self.log.read_text()[-2000:]}")
            # haproxy starts a server with one failed check away from DOWN, and the first /readyz
            # of a cold worker can be that failure: wait until every server is UP, else round
            # robin sends every request to the other one (CI saw exactly that).
            statuses = self.statuses()
            if statuses and all(status == "UP" for status in statuses.values()):
                return self
            time.sleep(0.1)
        raise RuntimeError(f"haproxy did not see every server UP in 20 s: {self.statuses()}")

    def statuses(self) -> dict[str, str]:
        """Each server's state as haproxy's stats say it ("UP", "DOWN", "UP 1/3", …)."""
        try:
            with socket.socket(socket.AF_UNIX) as stats:
                stats.settimeout(2)
                stats.connect(str(self.socket))
                stats.sendall(b"show stat\n")
                answer = b""
                while chunk := stats.recv(65536):
                    answer += chunk
        except OSError:
            return {}
        rows = [row.split(",") for row in answer.decode().splitlines() if row.startswith("apps,")]
        found = {row[1]: row[17] for row in rows if row[1] in self.names}
        return found if len(found) == len(self.names) else {}

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def cluster(pg_world, tmp_path):
    world, engine, url = pg_world
    env = {"FIELDKIT_WORKERS": "2", "FIELDKIT_TRUSTED_PROXIES": "127.0.0.1"}
    servers = [Gunicorn(url, tmp_path / f"app{i}", env=env) for i in range(2)]
    started: list = []
    try:
        for server in servers:
            started.append(server.start())
        balancer = Balancer(servers, tmp_path)
        started.append(balancer.start())
        for server in servers:  # the balancer's links must name the balancer
            server.env["FIELDKIT_BASE_URL"] = balancer.url
        yield world, engine, servers, balancer
    finally:
        for process in reversed(started):
            process.stop()


def _token(engine, member) -> str:
    with new_session(engine) as session:
        token = members.create_sign_in_link(session, member, now=utcnow())
        session.commit()
    return token


def _batch(world, size: int) -> dict:
    visited = forms.to_local(utcnow()).strftime("%Y-%m-%dT%H:%M")
    items = []
    for index in range(size):
        household = world.household if index % 2 else world.neighbour
        lines = [line(world.head)] if household is world.household else []
        payload = visit_payload(lines=lines, household_id=household.id, visited_at=visited)
        items.append({"id": payload["uuid"], "kind": "visit", "payload": payload})
    return {"items": items}


def test_two_app_servers_share_sessions_and_store_each_batch_once(cluster):
    world, engine, servers, balancer = cluster
    http = requests.Session()
    csrf = sign_in(http, balancer.url, _token(engine, world.volunteer))

    # The session opened through the balancer is honoured by both servers, in turn and each
    # asked directly with the same cookie.
    served_by = []
    for _ in range(4):
        page = http.get(f"{balancer.url}/households", allow_redirects=False)
        assert page.status_code == 200
        assert world.volunteer.name in page.text
        served_by.append(page.headers["X-Served-By"])
    assert set(served_by) == {"app0", "app1"}
    cookie = {"fieldkit_session": http.cookies["fieldkit_session"]}
    for server in servers:
        direct = requests.get(f"{server.url}/households", cookies=cookie, allow_redirects=False)
        assert direct.status_code == 200 and world.volunteer.name in direct.text

    # The balancer's request id reaches the app (a trusted proxy), is logged and comes back:
    # one id names the request in both logs.
    request_id = page.headers["X-Request-Id"]
    assert not re.fullmatch(r"[0-9a-f]{32}", request_id), "the app made its own id"
    assert any(request_id in server.log.read_text() for server in servers)

    # One batch replayed through both servers in turn: stored once, then duplicate.
    headers = {"X-CSRF-Token": csrf}
    batch = _batch(world, 25)
    answers = [
        http.post(f"{balancer.url}/api/v1/sync", json=batch, headers=headers) for _ in range(4)
    ]
    assert {a.headers["X-Served-By"] for a in answers} == {"app0", "app1"}
    assert [{r["status"] for r in a.json()["results"]} for a in answers] == [
        {"stored"},
        {"duplicate"},
        {"duplicate"},
        {"duplicate"},
    ]

    # Another batch sent by six tabs at once through the balancer: each item stored once.
    batch = _batch(world, 25)
    replies: list = [None] * 6
    start = threading.Barrier(6)

    def send(index: int) -> None:
        tab = requests.Session()
        tab.cookies.update(cookie)
        start.wait(10)
        replies[index] = tab.post(f"{balancer.url}/api/v1/sync", json=batch, headers=headers)

    tabs = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(60)
    assert [reply.status_code for reply in replies] == [200] * 6
    for position in range(25):
        seen = [reply.json()["results"][position]["status"] for reply in replies]
        assert seen.count("stored") == 1 and seen.count("duplicate") == 5, seen
    with new_session(engine) as session:
        assert session.exec(select(func.count()).select_from(Visit)).one() == 50
    for server in servers:
        assert '"status": 500' not in server.log.read_text()


def test_two_push_workers_send_every_message_once(pg_world, tmp_path):
    world, engine, url = pg_world
    service, phone = PushService(), Browser()
    try:
        with new_session(engine) as session:
            push.subscribe(
                session,
                world.volunteer,
                endpoint=f"{service.url}/push/phone",
                p256dh=phone.p256dh,
                auth=push._b64url(phone.auth),
                allow_local=True,
                now=utcnow(),
            )
            for number in range(30):
                push.enqueue(
                    session,
                    member_id=world.volunteer.id,
                    title=f"Tin số {number}",
                    body="Kiểm tra gửi một lần.",
                    url="/households",
                    now=utcnow(),
                )
            session.commit()
        env = {
            **os.environ,
            "FIELDKIT_DATABASE_URL": url,
            "FIELDKIT_INSTANCE": str(tmp_path),  # one VAPID key for both workers
            "FIELDKIT_BASE_URL": "http://localhost:8000",
        }
        workers = [
            subprocess.Popen(
                [str(FIELDKIT), "push-worker", "--interval", "0.5"],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 60
            while len(service.received) < 30 and time.monotonic() < deadline:
                time.sleep(0.2)
            time.sleep(1.5)  # both workers look at the queue again: nothing more is sent
        finally:
            for worker in workers:
                worker.terminate()
                worker.wait(10)
        titles = [phone.decrypt(request["body"])["title"] for request in service.received]
        assert sorted(titles) == sorted(f"Tin số {n}" for n in range(30))
        with new_session(engine) as session:
            unsent = session.exec(
                select(func.count()).select_from(PushMessage).where(PushMessage.sent_at.is_(None))
            ).one()
        assert unsent == 0
    finally:
        service.close()
