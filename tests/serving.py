"""The production server in a test: gunicorn with the repo's gunicorn.conf.py, on a free
loopback port, in its own process, against a given database. Shared by the web, two-server
and browser tests that must run against what `make serve` runs rather than Flask's server."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def gunicorn_command() -> list[str]:
    return [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]


class Gunicorn:
    """gunicorn serving the app. `env` adds FIELDKIT_* settings (workers, threads, limits)."""

    def __init__(self, database_url: str, instance: Path, *, env: dict | None = None):
        self.port = free_port()
        self.url = f"http://localhost:{self.port}"
        instance.mkdir(parents=True, exist_ok=True)
        self.env = {
            **os.environ,
            "FIELDKIT_DATABASE_URL": database_url,
            "FIELDKIT_INSTANCE": str(instance),
            "FIELDKIT_BASE_URL": self.url,
            "FIELDKIT_PORT": str(self.port),
            "FIELDKIT_SECRET_KEY": "serving-secret",
            "FIELDKIT_WORKERS": "2",
            **(env or {}),
        }
        self.log = instance / f"gunicorn-{self.port}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> Gunicorn:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                gunicorn_command(), env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not answer /healthz in 30 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


def sign_in(http, base_url: str, sign_in_token: str) -> str:
    """Sign in through a one-time link with a `requests.Session`; returns the CSRF token."""
    page = http.get(f"{base_url}/signin/{sign_in_token}")
    page.raise_for_status()
    csrf = CSRF.search(page.text).group(1)
    answer = http.post(
        f"{base_url}/signin/{sign_in_token}", data={"csrf_token": csrf}, allow_redirects=False
    )
    assert answer.status_code == 303, answer.text[:500]
    home = http.get(f"{base_url}/households")
    assert home.status_code == 200
    return CSRF.search(home.text).group(1)
