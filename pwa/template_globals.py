"""Every name a template can use beyond its own context comes from here, and only here: the
filters (times, dates, thousands), the vocabulary and privacy wording, who is signed in and
what they may do, the tab bar, static URLs. Reading `households/show.html` and wondering where
`can_record()` comes from? From this module."""

from __future__ import annotations

import flask_babel
from flask import Flask, g, get_flashed_messages, request

from fieldkit import forms, policy, privacy, vocab
from fieldkit.households import tab_of
from fieldkit.models import Household
from fieldkit.text import fold, thousands
from pwa import i18n, js_words, params
from pwa.assets import outbox_rules_url, outbox_url, static_url
from pwa.navigation import returned_count, tabs

# Sent by app.js when it fetches the day's pages in the background to keep them offline.
PREPARE_HEADER = "X-Fieldkit-Prepare"


def init_app(app: Flask) -> None:
    # Block tags leave no blank lines and indentation behind: a 600-household list is ~10 %
    # lighter on the wire.
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.jinja_env.filters.update(
        local_time=local_time, vn_date=vn_date, thousands=thousands, stored=stored
    )
    app.jinja_env.globals.update(
        # wording and vocabulary
        vocab=vocab,
        language=i18n.language,
        languages=i18n.LANGUAGES,
        script_words=js_words.translations,
        privacy=privacy,
        options=options,
        # who is signed in, and what they may do
        can_record=can_record,
        can_print_stickers=policy.can_print_stickers,
        can_import=can_import,
        is_commune_wide=policy.is_commune_wide,
        is_province_wide=policy.is_province_wide,
        # pages
        flashes=flashes,
        tabs=tabs,
        returned_count=returned_count,
        tab_of=tab_of,
        search_extra=search_extra,
        static_url=static_url,
        outbox_url=outbox_url,
        outbox_rules_url=outbox_rules_url,
    )
    app.context_processor(_per_request)
    # _() in templates, as Flask-Babel installs it but with the request's translations looked
    # up once, not on each call: a household page says ~100 things, and the offline pack
    # renders a village's pages in one request (a fifth of their time went to the lookups).
    app.jinja_env.install_gettext_callables(
        gettext=lambda s: _translations().ugettext(s),
        ngettext=lambda s, p, n: _translations().ungettext(s, p, n),
        pgettext=lambda c, s: _translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: _translations().unpgettext(c, s, p, n),
        newstyle=True,
    )


def _translations():
    found = g.get("fieldkit_translations")
    if found is None:
        found = g.fieldkit_translations = flask_babel.get_translations()
    return found


def _per_request() -> dict:
    return {
        "member": g.get("member"),
        # The sign-in page says "Bạn đã đăng xuất." right after a sign-out.
        "just_signed_out": params.flag("out"),
    }


def local_time(moment, fmt="%H:%M %d/%m/%Y") -> str:
    return forms.to_local(moment).strftime(fmt) if moment else ""


def vn_date(day, fmt="%d/%m/%Y") -> str:
    return day.strftime(fmt) if day else ""


def stored(value) -> str:
    """The Vietnamese word a form sends and the database keeps, for a domain word that the page
    otherwise shows translated (`value="{{ reason|stored }}"`)."""
    return str(value)


def options(choices):
    """(value, label) pairs for a select: from a vocab dict of enums, or a list of words."""
    # The value is what is stored: always the Vietnamese word (str() of a domain Msg), never
    # its translation; the label is shown in the page's language.
    if isinstance(choices, dict):
        return [(getattr(k, "value", str(k)), v) for k, v in choices.items()]
    return [(str(c), c) for c in choices]


def can_record() -> bool:
    """Whether the signed-in member logs field records (visits, residents, households)."""
    member = g.get("member")
    return member is not None and policy.can_record(member)


def search_extra(household: Household) -> str:
    """What a list row's search text holds beyond what the row shows: the household's search
    text (fieldkit.households.refresh_summary: label, head, address, residents' names,
    folded) less the label, head and address the row shows, and less the head's own name
    again. The phone folds what the row shows and adds this (app.js): the same words are
    searched, and a village's list is a third lighter on the wire."""
    shown = fold(" ".join([household.label, household.head_name, household.address_hint]))
    text = household.search_text or ""
    if not text.startswith(shown):
        return text  # written by an older rule: keep it whole
    rest = text[len(shown) :].strip()
    head = fold(household.head_name)
    if rest == head or rest.startswith(head + " "):
        rest = rest[len(head) :].strip()
    return rest


def can_import() -> bool:
    """Whether the signed-in member brings lists in from Excel (issue 15)."""
    member = g.get("member")
    return member is not None and policy.can_import(member)


def flashes() -> list[str]:
    """The messages for the person ("Đã trả lại hồ sơ…"), taken once, by the page the person
    opens. A page fetched in the background — by app.js preparing the day's pages, by the
    service worker filling its cache — takes none: it would swallow the message meant for the
    page being opened, and keep it in the offline copy for ever. Browsers mark what they
    navigate to with Sec-Fetch-Mode: navigate; a request without the header (an old browser)
    counts as a navigation."""
    mode = request.headers.get("Sec-Fetch-Mode")
    if request.headers.get(PREPARE_HEADER) or mode not in (None, "navigate"):
        return []
    return get_flashed_messages()
