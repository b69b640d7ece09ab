"""The one place that reads htmx's request headers: a normal request gets the whole page, an
htmx request only the fragment it swaps. Every such response varies on HX-Request, so no cache
hands a fragment to a full-page load."""

from __future__ import annotations

from flask import make_response, render_template, request


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
