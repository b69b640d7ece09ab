"""Every name a template can use beyond its own context comes from here, and only here: the
filters (times, dates, thousands), the vocabulary and privacy wording, who is signed in and
what they may do, the tab bar, static URLs. Reading `households/show.html` and wondering where
`can_record()` comes from? From this module."""

from __future__ import annotations

from flask import Flask, g, get_flashed_messages, request

from fieldkit import forms, merge, policy, privacy, review, vocab
from fieldkit.households import tab_of
from fieldkit.models import Household
from pwa import db, i18n, js_words, params
from pwa.assets import outbox_url, static_url
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
        reviewed_records=reviewed_records,
        household_duplicates=household_duplicates,
        tab_of=tab_of,
        static_url=static_url,
        outbox_url=outbox_url,
    )
    app.context_processor(_per_request)


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


def thousands(number) -> str:
    return f"{number:,}".replace(",", ".")


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


def can_import() -> bool:
    """Whether the signed-in member brings lists in from Excel (issue 15)."""
    member = g.get("member")
    return member is not None and policy.can_import(member)


def household_duplicates(household: Household) -> dict:
    """For the household page: likely duplicates of it, and the households merged into it."""
    session = db.session()
    return {
        "likely": merge.duplicates_of(session, household),
        "merged": merge.merges_into(session, household),
        "may_merge": policy.can_merge_households(g.member),
    }


def reviewed_records(household: Household) -> list[review.RecordSummary]:
    """For the household page: its records that were decided or revised."""
    return review.household_records(db.session(), household, only_reviewed=True)


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
