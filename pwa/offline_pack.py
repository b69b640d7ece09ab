"""The offline pack: what the phone lacks of its day's pages (pwa/offline_pages.py), sent as
one JSON response per chunk — compressed as it is written (brotli, or gzip), see compressed() —
holding every changed page whole, with its URL and version, so the phone stores each as an
ordinary response in Cache Storage (pwa/static/prepare.js). A village's pages are nearly
the same page over and over: one compressed stream is ~10× smaller than the pages one by one.

The exchange, one POST per chunk (`pack_chunk`):

- The phone says which versions it holds (`have`: URL → version), and after the first chunk
  where to go on (`after`: the last household id it was sent).
- The first chunk holds the shared pages that changed (the list, guides, follow-ups, the
  outbox, returned records) and the URLs it should drop; every chunk holds up to
  MAX_CHUNK household pages, in household id order, and says how many households will be
  ready once it is stored (`ready` of `households`), where to go on (`next`, null at the end)
  and about how many bytes the rest will take on the phone (`need_bytes`).
- The household list, when the phone already holds one, comes as a patch: its frame (all but
  the rows), the rows of the households that changed, and the order of all rows. The phone
  puts the new rows in its copy; it asks for the whole list again when it cannot.

The phone asks for the next chunk as soon as an answer's headers name it (Fieldkit-Pack-Next),
so the server makes it while the phone receives and stores the current one; it stores each
chunk as it arrives, so a dropped connection costs at most the chunks in flight: asking again
with what it now holds resumes where it stopped.

Pages are rendered here, in this request, as their own routes render them (household pages
through pwa/household_page.py, a chunk's households with a handful of queries; the others by
dispatching their URL), never by the phone fetching them one by one."""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import brotli
from flask import current_app, g, render_template
from flask_babel import gettext as _
from sqlmodel import col, select
from werkzeug.datastructures import Accept

from fieldkit.models import Household, Member
from pwa import db, household_page, offline_pages
from pwa.routes import now
from pwa.security import HEADERS

MAX_CHUNK = 150  # households per response: ~60 KB compressed, a few seconds on weak 3G
# Pages compressed together before what is made leaves: ~2 % more bytes than one block per
# chunk, and the phone receives the chunk while the server is still making it.
FLUSH_EVERY = 10
MAX_BODY = 2 * 1024 * 1024  # the request's JSON, once unzipped
MAX_PAGES = 10_000
ROWS_START, ROWS_END = "<!--rows-->\n", "<!--/rows-->"
ROW_ID = re.compile(r'href="/households/(\d+)"')
# Every page is kept with the headers the server sends with it (the Content-Security-Policy
# among them): offline, the service worker answers with exactly these.
PAGE_HEADERS = {"Content-Type": "text/html; charset=utf-8", **HEADERS}


class BadPackRequest(ValueError):
    """The phone's request cannot be read; the message says why (JSON error to the phone)."""


@dataclass(frozen=True)
class PackRequest:
    have: dict[str, str]
    after: int | None


def read_request(body: bytes, content_encoding: str | None) -> PackRequest:
    """The phone's request from the raw body: JSON, gzip-compressed or not. Raises
    BadPackRequest for anything else, including a body that unzips to more than MAX_BODY."""
    encoding = (content_encoding or "").strip().lower()
    if encoding == "gzip":
        unzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            body = unzip.decompress(body, MAX_BODY)
        except zlib.error as error:
            raise BadPackRequest(_("Nội dung nén (gzip) không đọc được.")) from error
        if unzip.unconsumed_tail:
            raise BadPackRequest(_("Yêu cầu quá lớn."))
    elif encoding not in ("", "identity"):
        raise BadPackRequest(_("Chỉ nhận nội dung JSON, nén gzip hoặc không nén."))
    try:
        data = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadPackRequest(_("Yêu cầu phải là JSON.")) from error
    if not isinstance(data, dict):
        raise BadPackRequest(_("Yêu cầu phải là một đối tượng JSON."))
    have = data.get("have") or {}
    if (
        not isinstance(have, dict)
        or len(have) > MAX_PAGES
        or not all(
            isinstance(url, str) and isinstance(version, str) and len(url) <= 500
            for url, version in have.items()
        )
    ):
        raise BadPackRequest(_('"have" phải là một đối tượng: địa chỉ trang → phiên bản.'))
    after = data.get("after")
    if after is not None and (
        isinstance(after, bool) or not isinstance(after, int) or not 0 <= after < 2**63
    ):
        raise BadPackRequest(_('"after" phải là một số id hộ.'))
    return PackRequest(have={url: version[:64] for url, version in have.items()}, after=after)


@dataclass(frozen=True)
class Chunk:
    """What one answer holds, decided before any page is rendered."""

    pack: offline_pages.OfflinePack
    shared: list[offline_pages.Page]  # the first chunk's changed shared pages
    households: list[offline_pages.Page]  # this chunk's household pages
    later: int  # households still to come after this chunk
    next: int | None  # `after` for the next chunk; None when this is the last
    drop: list[str]  # URLs the phone holds that are no longer its to keep
    changed: set[int]  # every household whose page changed (rows of the list patch)


def plan(member: Member, request: PackRequest) -> Chunk:
    """What the answer to `request` holds. Plain values only: the answer is written after the
    request's database session has closed."""
    have = request.have
    first = request.after is None
    pack = offline_pages.pack_for(member, shared=first)
    changed = [
        page
        for page in pack.household_pages
        if have.get(page.url) != page.version and (first or page.household_id > request.after)
    ]
    size = math.ceil(len(changed) / max(1, math.ceil(len(changed) / MAX_CHUNK)))
    these, rest = changed[:size], changed[size:]
    known = {page.url for page in pack.pages}
    return Chunk(
        pack=pack,
        shared=[p for p in pack.shared_pages if have.get(p.url) != p.version] if first else [],
        households=these,
        later=len(rest),
        next=these[-1].household_id if rest else None,
        drop=sorted(url for url in have if url not in known) if first else [],
        changed={page.household_id for page in changed},
    )


def pack_chunk(member_id: int, request: PackRequest, chunk: Chunk) -> Iterator[str]:
    """The JSON text of `chunk` (see plan()), in pieces as its pages are rendered (so the
    first bytes leave while the last pages are still being made). Runs after the view
    returned (under flask.stream_with_context), when the request's database session is
    already closed: it opens its own and loads the member again."""
    member = g.member = db.session().get(Member, member_id)
    head = {
        "households": chunk.pack.households,
        "generated_at": now().isoformat(),
        "headers": PAGE_HEADERS,
        "drop": chunk.drop,
    }
    yield _dumps(head)[:-1] + ', "pages": ['
    written = 0
    shared_bytes = 0
    for page in chunk.shared:
        entry = _shared_entry(page, request.have, chunk.changed)
        if entry is None:
            continue
        text = _dumps(entry)
        shared_bytes += len(text)
        yield ("," if written else "") + "\n" + text
        written += 1
    household_bytes = 0
    for page, html in _household_pages(member, chunk.households):
        text = _dumps({"url": page.url, "version": page.version, "html": html})
        household_bytes += len(text)
        yield ("," if written else "") + "\n" + text
        written += 1
    average = household_bytes / len(chunk.households) if chunk.households else 0
    tail = {
        "ready": (chunk.pack.households or 0) - chunk.later,
        "next": chunk.next,
        "need_bytes": int(shared_bytes + household_bytes + average * chunk.later),
    }
    yield "\n], " + _dumps(tail)[1:]


def encoding_for(accepted: Accept) -> str | None:
    """brotli where the browser takes it, else gzip, else none."""
    for encoding in ("br", "gzip"):
        if accepted[encoding]:
            return encoding
    return None


def compressed(pieces: Iterator[str], encoding: str | None) -> Iterator[bytes]:
    """The pieces of a chunk, compressed as one stream (the pages of a village compress ~10×
    better together than one by one) but flushed after the first piece and every FLUSH_EVERY
    pieces after it: the answer's headers leave at once (the phone asks for the next chunk
    then) and its pages as they are made. flask-compress streams too, but never flushes:
    brotli would hold a whole chunk until its end."""
    if encoding is None:
        for piece in pieces:
            yield piece.encode()
        return
    config = current_app.config
    if encoding == "br":
        brotli_stream = brotli.Compressor(quality=config["COMPRESS_BR_LEVEL"])
        write, flush, finish = brotli_stream.process, brotli_stream.flush, brotli_stream.finish
    else:
        gzip_stream = zlib.compressobj(config["COMPRESS_LEVEL"], zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        write, finish = gzip_stream.compress, gzip_stream.flush

        def flush():
            return gzip_stream.flush(zlib.Z_SYNC_FLUSH)

    for n, piece in enumerate(pieces):
        out = write(piece.encode())
        if n % FLUSH_EVERY == 0:
            out += flush()
        if out:
            yield out
    yield finish()


def _household_pages(member: Member, pages: list[offline_pages.Page]) -> Iterator[tuple]:
    if not pages:
        return
    session = db.session()
    by_id = {page.household_id: page for page in pages}
    households = session.exec(
        select(Household).where(col(Household.id).in_(list(by_id))).order_by(Household.id)
    ).all()
    for household, context in household_page.contexts(session, member, households, form_ids=False):
        page = by_id[household.id]
        with offline_pages.page_context(page.url):
            yield page, render_template(household_page.TEMPLATE, **context)


def _shared_entry(page: offline_pages.Page, have: Mapping[str, str], changed_ids: set) -> dict:
    html = offline_pages.render(page.url)
    if html is None:
        return None
    entry: dict[str, Any] = {"url": page.url, "version": page.version}
    if page.url in have and (patch := _list_patch(html, changed_ids)) is not None:
        entry["patch"] = patch
    else:
        entry["html"] = html
    return entry


def _list_patch(html: str, changed_ids: set) -> dict | None:
    """The household list as a patch on the phone's copy: everything but the rows, the rows of
    the households that changed, and the order of all rows. None when the page has no rows."""
    start = html.find(ROWS_START)
    end = html.find(ROWS_END, start)
    if start < 0 or end < 0:
        return None
    start += len(ROWS_START)
    rows: dict[int, str] = {}
    for line in html[start:end].split("\n")[:-1]:
        found = ROW_ID.search(line)
        if found is None:
            return None
        rows[int(found[1])] = line
    return {
        "head": html[:start],
        "tail": html[end:],
        "order": list(rows),
        "rows": {str(i): line for i, line in rows.items() if i in changed_ids},
    }


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
