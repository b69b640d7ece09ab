"""The interface's language: Vietnamese by default and the source of truth (DESIGN.md), English
available from "Tài khoản".

Where the choice lives — a cookie on the device, not the member's row. The pages a phone keeps
offline are that phone's copies, so the language belongs to the phone: the sign-in page (nobody
signed in yet) and the offline page obey it too, and two phones of one member may differ. The
offline pack's page versions and the service worker carry the language (pwa/offline_pages.py,
pwa/routes/offline.py), so switching makes the phone fetch its day's pages again in the new
language instead of keeping the old copies.

Accept-Language is not consulted: most phones here say `en-US` because that is how they shipped,
while the people using them read Vietnamese; DESIGN.md asks for Vietnamese unless a person
chooses otherwise.

Translation happens at the edges, in the request's language: templates call `_()`; pwa code calls
Flask-Babel's `gettext` (imported as `_`) inside a request, `lazy_gettext` for module-level words;
the domain's `fieldkit.i18n.Msg` sentences are translated here when a page, a flash or a JSON
error shows them (`translate`, and the Jinja `finalize` hook for `{{ … }}`).
"""

from __future__ import annotations

import functools

from flask import Flask, request
from flask_babel import force_locale, gettext

from fieldkit.i18n import Msg

COOKIE = "fieldkit_lang"
DEFAULT = "vi"
# The language's own name: a person who cannot read the current language still finds theirs.
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}  # i18n: not translated (each its own name)
COOKIE_MAX_AGE = 400 * 24 * 3600  # browsers cap cookies at 400 days


def language() -> str:
    """The language of this request: the device's choice, else Vietnamese."""
    if not request:
        return DEFAULT
    chosen = request.cookies.get(COOKIE, DEFAULT)
    return chosen if chosen in LANGUAGES else DEFAULT


def translate(value):
    """A domain sentence (`Msg`) in the request's language; anything else unchanged."""
    if isinstance(value, Msg):
        # A value may itself be a domain word ("Vui lòng nhập %(label)s." with label "họ tên").
        params = {name: translate(param) for name, param in value.params.items()}
        said = gettext(value.msgid, **params)
        return said[:1].upper() + said[1:] if value.capitalized else said
    return value


def message_of(error: Exception) -> str:
    """The sentence a domain error carries, translated (str(error) would be the Vietnamese)."""
    if error.args and isinstance(error.args[0], str):
        return translate(error.args[0])
    return str(error)


def translate_errors(errors: dict | None) -> dict | None:
    """Field errors (`Invalid.errors`) with each message translated."""
    if not errors:
        return errors
    return {field: translate(message) for field, message in errors.items()}


def translate_all(value):
    """`value` (JSON-like: dicts, lists) with every domain sentence in it translated: the sync
    API's per-item answers carry the domain's refusals to the outbox, which shows them."""
    if isinstance(value, Msg):
        return translate(value)
    if isinstance(value, dict):
        return {key: translate_all(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [translate_all(item) for item in value]
    return value


def remember(response, chosen: str):
    """Set the device's language on `response`."""
    response.set_cookie(
        COOKIE,
        chosen if chosen in LANGUAGES else DEFAULT,
        max_age=COOKIE_MAX_AGE,
        samesite="Lax",
        secure=request.is_secure,
        httponly=True,
    )
    return response


def in_vietnamese(view):
    """A view whose answer is a file (CSV, spreadsheet): always Vietnamese, whatever the
    screens' language. Files travel — to the province, to an archive, to a colleague — and must
    read the same whoever downloaded them; Vietnamese is the source of truth."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        with force_locale(DEFAULT):
            return view(*args, **kwargs)

    return wrapped


def _finalize(value):
    # Every {{ … }} passes here: a domain sentence (a vocab label, a field error) is shown in
    # the page's language without each template having to know it came from the domain.
    return translate(value) if isinstance(value, Msg) else value


def init_app(app: Flask) -> None:
    from pwa import babel

    babel.init_app(app, locale_selector=language)
    app.jinja_env.finalize = _finalize
