"""What the phone caches, and the versions that tell it when to fetch again: content-hashed
static URLs, the outbox script's URL, and the app version (which changes whenever anything the
offline app keeps changes, so a deploy brings the "Có phiên bản mới — Tải lại" prompt).

Shared by the templates (through pwa/template_globals.py) and the offline blueprint."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from flask import current_app, url_for

OFFLINE = Path(__file__).resolve().parent / "offline"
# The static files of the app shell, precached by the service worker.
SHELL_STATIC = [
    "app.css",
    "app.js",
    "prepare.js",
    "vendor/htmx-2.0.11.min.js",
    "icons/icon.svg",
    "icons/icon-192.png",
]


@cache
def file_digest(path: Path) -> str:
    """A short digest of a file's bytes, computed once per process (deploys restart it)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def static_url(filename: str) -> str:
    """A static file's URL with its content hash, so it can be cached for a year and still
    change the moment the file does."""
    path = Path(current_app.static_folder) / filename
    return url_for("static", filename=filename, v=file_digest(path)[:10])


def outbox_url() -> str:
    return url_for("offline.outbox_script", v=file_digest(OFFLINE / "outbox.js"))


def outbox_rules_url() -> str:
    """The outbox's pure decision functions, loaded before outbox.js by page and worker."""
    return url_for("offline.outbox_rules_script", v=file_digest(OFFLINE / "outbox-rules.js"))


def app_version() -> str:
    """Changes whenever anything the phone caches changes: a deploy brings an update prompt."""
    static = Path(current_app.static_folder)
    parts = [file_digest(static / name) for name in SHELL_STATIC]
    parts += [
        file_digest(OFFLINE / "sw.js"),
        file_digest(OFFLINE / "outbox.js"),
        file_digest(OFFLINE / "outbox-rules.js"),
        _templates_digest(current_app.root_path),
        current_app.config["FIELDKIT_SETTINGS"].build,
    ]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:12]


@cache
def _templates_digest(root_path: str) -> str:
    digest = hashlib.sha256()
    for path in sorted((Path(root_path) / "templates").rglob("*.html")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
