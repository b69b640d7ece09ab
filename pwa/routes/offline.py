"""What a phone needs to work without a signal: the service worker, the outbox script, the web
app manifest, the offline page, a fresh CSRF token for the outbox, and the list of pages to
prepare for the day (DESIGN.md §4)."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path

from flask import Blueprint, Response, current_app, g, jsonify, render_template, url_for
from flask_wtf.csrf import generate_csrf
from sqlmodel import func, select

from fieldkit import guides, policy
from fieldkit.models import Household, Resident, ReviewState, Visit
from pwa import db
from pwa.auth import login_required
from pwa.render import _static_url as static_url
from pwa.routes import now
from pwa.routes.review import offline_pages as review_pages

bp = Blueprint("offline", __name__)
OFFLINE = Path(__file__).resolve().parents[1] / "offline"
SHELL_STATIC = [
    "app.css",
    "app.js",
    "vendor/htmx-2.0.11.min.js",
    "icons/icon.svg",
    "icons/icon-192.png",
]


@cache
def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def app_version() -> str:
    """Changes whenever anything the phone caches changes: a deploy brings an update prompt."""
    static = Path(current_app.static_folder)
    parts = [_file_digest(static / name) for name in SHELL_STATIC]
    parts += [
        _file_digest(OFFLINE / "sw.js"),
        _file_digest(OFFLINE / "outbox.js"),
        _templates_digest(),
        current_app.config["FIELDKIT_SETTINGS"].build,
    ]
    return hashlib.sha256("".join(parts).encode()).hexdigest()[:12]


@cache
def _templates_digest() -> str:
    root = Path(current_app.root_path) / "templates"
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.html")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def outbox_url() -> str:
    return url_for("offline.outbox_script", v=_file_digest(OFFLINE / "outbox.js"))


@bp.get("/sw.js")
def service_worker():
    shell = [
        "/offline",
        url_for("offline.manifest"),
        outbox_url(),
        *[static_url(name) for name in SHELL_STATIC],
    ]
    source = (OFFLINE / "sw.js").read_text()
    source = (
        source.replace("__VERSION__", app_version())
        .replace("__SHELL__", json.dumps(shell))
        .replace("__OUTBOX__", json.dumps(outbox_url()))
    )
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/offline/outbox.js")
def outbox_script():
    response = Response((OFFLINE / "outbox.js").read_text(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.get("/manifest.webmanifest")
def manifest():
    body = {
        "name": "Fieldkit — Tổ công nghệ số cộng đồng",
        "short_name": "Fieldkit",
        "description": "Danh sách hộ, ghi lượt hỗ trợ người dân, làm việc cả khi không có sóng.",
        "lang": "vi",
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "background_color": "#f3f6f9",
        "theme_color": "#0b5d8c",
        "icons": [
            {"src": static_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static_url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static_url("icons/maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = jsonify(body)
    response.mimetype = "application/manifest+json"
    return response


@bp.get("/offline")
def offline_page():
    return render_template("offline.html")


@bp.get("/outbox")
@login_required
def outbox_page():
    return render_template("outbox.html")


@bp.get("/api/v1/session")
def session_info():
    """Who is signed in, with a fresh CSRF token for the outbox. 401 when nobody is."""
    if g.get("member") is None:
        response = jsonify({"error": "Đăng nhập lại để gửi"})
        response.status_code = 401
    else:
        response = jsonify(
            {
                "csrf_token": generate_csrf(),
                "member": {
                    "id": g.member.id,
                    "name": g.member.name,
                    "role": g.member.role.value,
                    "village_id": g.member.village_id,
                },
            }
        )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/v1/offline-pack")
@login_required
def offline_pack():
    """The pages to keep on the phone for a day without signal, each with a version that
    changes when the page would: the phone fetches only what changed since last time.
    Commune-wide members get the shell only; a commune is too large to carry."""
    scope = policy.scope_for(g.member)
    version = app_version()
    pages = [
        {"url": url_for("households.index"), "version": f"{version}-{now().isoformat()}"},
        {"url": url_for("offline.outbox_page"), "version": version},
    ]
    pages += _guide_pages(version)
    pages += review_pages(g.member, version)  # "Bị trả lại" and each returned record's form
    pages.append({"url": url_for("followups.index"), "version": f"{version}-{now().isoformat()}"})
    # None, not 0, for commune-wide members: they carry no village, and "0 hộ" would read
    # as an empty village.
    households = None
    if scope.village_id is not None:
        rows = (
            db.session()
            .exec(
                select(
                    Household.id,
                    Household.visit_count,
                    Household.last_visited_at,
                    Household.follow_up_on,
                    Household.review_state,
                    Household.smartphones,
                    Household.internet_at_home,
                    Household.search_text,
                    Household.assigned_volunteer_id,
                    Household.import_batch_id,  # an import changed the page (issue 15)
                )
                .where(
                    Household.village_id == scope.village_id,
                    Household.review_state != ReviewState.rejected,
                )
                .order_by(Household.id)
            )
            .all()
        )
        reviews = _review_states(scope.village_id)
        for household_id, *state in rows:
            state.append(reviews.get(household_id))
            digest = hashlib.sha256(f"{version}{state}".encode()).hexdigest()[:12]
            pages.append(
                {"url": url_for("households.show", household_id=household_id), "version": digest}
            )
        households = len(rows)
    response = jsonify(
        {"households": households, "pages": pages, "generated_at": now().isoformat()}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _guide_pages(version: str) -> list[dict]:
    """The guide cards, for everyone: a resident is shown them at the door, signal or not."""
    cards = guides.cards(db.session(), commune_id=g.member.commune_id)
    pages = [
        {
            "url": url_for("guides.index"),
            "version": _digest(version, [card.title for card in cards]),
        }
    ]
    for card in cards:
        pages.append(
            {
                "url": url_for("guides.show", code=card.service_code),
                "version": _digest(version, card),
            }
        )
    return pages


def _digest(*content) -> str:
    return hashlib.sha256(repr(content).encode()).hexdigest()[:12]


def _review_states(village_id: int) -> dict[int, tuple]:
    """Per household of the village, what its page shows of its visits' and residents'
    reviews (how many in each state, revisions), so a decision or a resubmission changes the
    page's version and the phone fetches it again. Two grouped queries for the village."""
    session = db.session()
    states: dict[int, list] = {}
    for model in (Visit, Resident):
        rows = session.exec(
            select(model.household_id, model.review_state, func.count(), func.sum(model.revision))
            .join(Household, Household.id == model.household_id)
            .where(Household.village_id == village_id)
            .group_by(model.household_id, model.review_state)
            .order_by(model.household_id, model.review_state)
        ).all()
        for household_id, *state in rows:
            states.setdefault(household_id, []).append((model.__name__, *state))
    return {household_id: tuple(state) for household_id, state in states.items()}
