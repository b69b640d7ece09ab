"""Static files, precompressed and cached for a year.

At start-up every compressible file under pwa/static/ gets a brotli (`.br`, quality 11) and a
gzip (`.gz`, level 9) copy beside it, written once and again only when the file changes (a
few stat() calls on later starts). The static view sends the smallest copy the browser
accepts, with `Content-Encoding` and `Vary: Accept-Encoding`, so no request spends CPU
compressing a file (flask-compress leaves encoded answers alone). A reverse proxy may serve
the same copies itself (Caddy: `file_server { precompressed br gzip }`; nginx: `gzip_static`).

Pages link static files with their content hash (`?v=…`, render.static_url): such a request
is cached for a year as immutable; without the current hash it must be revalidated (ETag).

Why not WhiteNoise: it serves files before Flask sees the request, so our security headers,
request ids and logs would miss them; the part we need is this small.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import tempfile
from pathlib import Path

import brotli
from flask import Flask, current_app, request, send_from_directory
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

log = logging.getLogger(__name__)
COMPRESSIBLE = {".css", ".js", ".svg", ".json", ".txt", ".html", ".webmanifest", ".map"}
MIN_SIZE = 512  # smaller files gain nothing worth a header
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_versions: dict[tuple[str, float], str] = {}


def precompress(folder: Path) -> int:
    """Write the .br and .gz copies that are missing or older than their file. Returns how
    many were written. Safe when several processes start at once: each copy is written to a
    temporary file and renamed into place."""
    written = 0
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or path.suffix not in COMPRESSIBLE:
            continue
        stat = path.stat()
        if stat.st_size < MIN_SIZE:
            continue
        for encoding, suffix in ENCODINGS:
            target = path.with_name(path.name + suffix)
            if target.exists() and target.stat().st_mtime >= stat.st_mtime:
                continue
            data = path.read_bytes()
            if encoding == "br":
                packed = brotli.compress(data, quality=11)
            else:
                packed = gzip.compress(data, compresslevel=9, mtime=0)
            if len(packed) >= len(data):
                continue
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".precompress-")
            with os.fdopen(handle, "wb") as out:
                out.write(packed)
            os.replace(temporary, target)
            written += 1
    return written


def init_app(app: Flask) -> None:
    folder = Path(app.static_folder)
    try:
        written = precompress(folder)
        if written:
            log.info("precompressed %d static files", written)
    except OSError as error:  # a read-only install: flask-compress still compresses on the fly
        log.warning("static files not precompressed: %s", error)
    app.view_functions["static"] = serve


def serve(filename: str):
    """The static view: the file, or its .br/.gz copy when the browser accepts it."""
    folder = current_app.static_folder
    path = safe_join(folder, filename)
    if path is None or not os.path.isfile(path):
        raise NotFound()
    chosen, encoding = filename, None
    for name, suffix in ENCODINGS:
        if request.accept_encodings[name] and os.path.isfile(path + suffix):
            chosen, encoding = filename + suffix, name
            break
    response = send_from_directory(folder, chosen, max_age=0)
    if encoding:
        import mimetypes

        response.headers["Content-Encoding"] = encoding
        response.mimetype = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response.vary.add("Accept-Encoding")
    versioned = request.args.get("v")
    if versioned and versioned == _version(path):
        response.headers["Cache-Control"] = IMMUTABLE
    else:
        response.headers["Cache-Control"] = REVALIDATE
    return response


def _version(path: str) -> str:
    """The content hash the pages put in `?v=` (the same as render.static_url's)."""
    key = (path, os.stat(path).st_mtime)
    version = _versions.get(key)
    if version is None:
        version = _versions[key] = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:10]
    return version
