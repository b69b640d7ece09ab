"""The one place that reads htmx's request headers: a normal request gets the whole page, an
htmx request only the fragment it swaps. Every such response varies on HX-Request, so no cache
hands a fragment to a full-page load."""

from __future__ import annotations

from flask import Flask, make_response, render_template, request


def is_fragment_request() -> bool:
    # A boosted link or a history restore wants the whole page.
    return (
        bool(request.htmx) and not request.htmx.boosted and not request.htmx.history_restore_request
    )


def render(page: str, fragment: str | None = None, /, *, status: int = 200, **context):
    """Render `fragment` for an htmx request when given, else the page."""
    template = fragment if fragment and is_fragment_request() else page
    response = make_response(render_template(template, **context), status)
    if fragment:
        response.vary.add("HX-Request")
    return response


def init_app(app: Flask) -> None:
    # Block tags leave no blank lines and indentation behind: a 600-household list is ~10 %
    # lighter on the wire.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    from fieldkit import forms, vocab
    from fieldkit.households import tab_of
    from fieldkit.policy import is_commune_wide

    @app.template_filter("local_time")
    def local_time(moment, fmt="%H:%M %d/%m/%Y"):
        return forms.to_local(moment).strftime(fmt) if moment else ""

    @app.template_filter("vn_date")
    def vn_date(day, fmt="%d/%m/%Y"):
        return day.strftime(fmt) if day else ""

    @app.template_filter("thousands")
    def thousands(number):
        return f"{number:,}".replace(",", ".")

    def options(choices):
        """(value, label) pairs for a select: from a vocab dict of enums, or a list of words."""
        if isinstance(choices, dict):
            return [(getattr(k, "value", k), v) for k, v in choices.items()]
        return [(c, c) for c in choices]

    from pwa.routes.offline import outbox_url

    app.jinja_env.globals.update(
        vocab=vocab,
        options=options,
        static_url=_static_url,
        tab_of=tab_of,
        outbox_url=outbox_url,
        is_commune_wide=is_commune_wide,
        flashes=flashes,
    )


# Sent by app.js when it fetches the day's pages in the background to keep them offline.
PREPARE_HEADER = "X-Fieldkit-Prepare"


def flashes() -> list[str]:
    """The messages for the person ("Đã trả lại hồ sơ…"), taken once, by the page the person
    opens. A page fetched in the background — by app.js preparing the day's pages, by the
    service worker filling its cache — takes none: it would swallow the message meant for the
    page being opened, and keep it in the offline copy for ever. Browsers mark what they
    navigate to with Sec-Fetch-Mode: navigate; a request without the header (an old browser)
    counts as a navigation."""
    from flask import get_flashed_messages, request

    mode = request.headers.get("Sec-Fetch-Mode")
    if request.headers.get(PREPARE_HEADER) or mode not in (None, "navigate"):
        return []
    return get_flashed_messages()


_static_versions: dict[str, str] = {}


def _static_url(filename: str) -> str:
    """A static file's URL with its content hash, so it can be cached for a year and still
    change the moment the file does."""
    from flask import current_app, url_for

    version = _static_versions.get(filename)
    if version is None:
        import hashlib
        from pathlib import Path

        data = (Path(current_app.static_folder) / filename).read_bytes()
        version = _static_versions[filename] = hashlib.sha256(data).hexdigest()[:10]
    return url_for("static", filename=filename, v=version)
