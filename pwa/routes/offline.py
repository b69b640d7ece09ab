"""What a phone needs to work without a signal: the service worker, the outbox script, the web
app manifest, the offline page, a fresh CSRF token for the outbox, and the list of pages to
prepare for the day (DESIGN.md §4)."""

from __future__ import annotations

import json

from flask import (
    Blueprint,
    Response,
    g,
    jsonify,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf

from pwa import i18n, offline_pages
from pwa import offline_pack as packing
from pwa.assets import (
    OFFLINE,
    SHELL_STATIC,
    app_version,
    outbox_rules_url,
    outbox_url,
    static_url,
)
from pwa.auth import login_required
from pwa.routes import now

bp = Blueprint("offline", __name__)


@bp.get("/sw.js")
def service_worker():
    shell = [
        "/offline",
        url_for("offline.manifest"),
        outbox_rules_url(),
        outbox_url(),
        *[static_url(name) for name in SHELL_STATIC],
    ]
    source = (OFFLINE / "sw.js").read_text()
    source = (
        # The language is part of the shell's version: the offline page and the shell the
        # worker keeps are fetched again after a switch (pwa/i18n.py).
        source.replace("__VERSION__", f"{app_version()}-{i18n.language()}")
        .replace("__SHELL__", json.dumps(shell))
        .replace("__OUTBOX_RULES__", json.dumps(outbox_rules_url()))
        .replace("__OUTBOX__", json.dumps(outbox_url()))
    )
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


def _offline_script(name: str) -> Response:
    response = Response((OFFLINE / name).read_text(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


@bp.get("/offline/outbox.js")
def outbox_script():
    return _offline_script("outbox.js")


@bp.get("/offline/outbox-rules.js")
def outbox_rules_script():
    return _offline_script("outbox-rules.js")


@bp.get("/manifest.webmanifest")
def manifest():
    body = {
        "name": _("Fieldkit — Tổ công nghệ số cộng đồng"),
        "short_name": "Fieldkit",
        "description": _("Danh sách hộ, ghi lượt hỗ trợ người dân, làm việc cả khi không có sóng."),
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
        response = jsonify({"error": _("Đăng nhập lại để gửi")})
        response.status_code = 401
    else:
        response = jsonify(
            {
                "csrf_token": generate_csrf(),
                "member": {
                    "id": g.member.id,
                    "name": g.member.name,
                    "role": str(g.member.role),
                    "village_id": g.member.village_id,
                },
            }
        )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/api/v1/offline-pack")
@login_required
def offline_pack():
    """The pages to keep on the phone for a day without signal, with their versions, no
    content (pwa/offline_pages.py): what the phone's pack request is answered from."""
    pack = offline_pages.pack_for(g.member)
    response = jsonify(
        {"households": pack.households, "pages": pack.manifest(), "generated_at": now().isoformat()}
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/v1/offline-pack")
@login_required
def offline_pack_chunk():
    """One chunk of the pages the phone lacks, whole, in one compressed response
    (pwa/offline_pack.py). 400 JSON when the request cannot be read."""
    try:
        wanted = packing.read_request(
            request.get_data(cache=False), request.headers.get("Content-Encoding")
        )
    except packing.BadPackRequest as refused:
        response = jsonify({"error": str(refused)})
        response.status_code = 400
    else:
        chunk = packing.plan(g.member, wanted)
        encoding = packing.encoding_for(request.accept_encodings)
        pieces = packing.pack_chunk(g.member.id, wanted, chunk)
        response = Response(
            stream_with_context(packing.compressed(pieces, encoding)),
            mimetype="application/json",
        )
        response.vary.add("Accept-Encoding")
        if encoding:
            response.headers["Content-Encoding"] = encoding
        # Said before the pages: the phone asks for the next chunk while this one arrives.
        if chunk.next is not None:
            response.headers["Fieldkit-Pack-Next"] = str(chunk.next)
    response.headers["Cache-Control"] = "no-store"
    return response
