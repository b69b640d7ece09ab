"""One blueprint per area of the app. Routes stay thin: parse, call fieldkit, commit, render."""

from datetime import datetime

from fieldkit.models import utcnow


def now() -> datetime:
    return utcnow()
