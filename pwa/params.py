"""The query string's one parser: every route reads `?name=value` through these, never from
`request.args` itself (tests/web/test_hostile_queries.py checks, and sweeps every parameter
found here with hostile values for every role).

Each parameter is decided once, by how it is used:
- filters and paging (`?village=`, `?offset=`, `?sort=`…) come from links the app made; a
  value that is not one of them (`²`, `١٢`, `-1`, 4,300 digits, an unknown word) falls back to
  the default — the page still opens, unfiltered;
- dates and weeks (`?from=`, `?week=`) are what a person typed or picked: a bad one is a
  400 page saying, in Vietnamese, what is wrong (`BadQuery`) — a silently ignored date would
  give a file or a report for another period than the one asked for;
- text (`?q=`) is cleaned, not refused: a search box has nothing to send back.
A name given twice (`?village=1&village=2`, what `?village[]=` forms send) takes the first
value. Values are ASCII: digits beyond ASCII are not numbers here.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

from flask import request
from werkzeug.exceptions import BadRequest

from fieldkit import forms
from fieldkit.errors import Invalid
from fieldkit.text import scrub


class BadQuery(BadRequest):
    """A query value the page cannot be shown with; `description` says why, in Vietnamese.
    Rendered by pwa/errors.py as a 400 page (JSON under /api/)."""


def raw(name: str) -> str:
    """The first value of `name`, as sent ("" when absent)."""
    return request.args.get(name, "")


def integer(name: str, *, default: int | None = None, minimum: int = 0, maximum: int) -> int | None:
    """A whole number in ASCII digits within minimum…maximum; `default` for anything else."""
    number = forms.ascii_int(raw(name).strip())
    return number if number is not None and minimum <= number <= maximum else default


def row_id(name: str) -> int | None:
    """A row id (1…2**31-1, fieldkit.forms.parse_id); None for anything else."""
    return forms.parse_id(raw(name))


def choice(name: str, options: Collection[str], default: str) -> str:
    """One of `options`; `default` for anything else."""
    value = raw(name)
    return value if value in options else default


def flag(name: str) -> bool:
    """`?name=1`."""
    return raw(name) == "1"


def text(name: str, *, max_length: int = 100) -> str:
    """Free text (a search): control characters and broken encodings dropped, NFC, cut to
    `max_length`."""
    return " ".join(scrub(raw(name)).split())[:max_length]


def day(name: str, *, label: str) -> date | None:
    """A date (YYYY-MM-DD, years 1900…2200: fieldkit.forms.calendar_date); None when absent
    or blank; BadQuery naming `label` otherwise."""
    try:
        return forms.field_value(lambda: forms.calendar_date(raw(name), label=label), field=name)
    except Invalid as invalid:
        raise BadQuery(invalid.errors[name]) from None


def week(name: str) -> str:
    """The ISO week as typed, for fieldkit.reporting.dashboards.Week.parse (which refuses
    with its own message)."""
    return raw(name)[:20]
