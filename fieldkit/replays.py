"""A field record sent again under a UUID the server already has (the phone's outbox retries
until it hears back, so every write may arrive twice): the one rule for answering it, shared
by visits, residents, new households, household edits and consents."""

from __future__ import annotations

from sqlmodel import Session

from fieldkit.errors import SyncConflict
from fieldkit.models import Household, Member
from fieldkit.policy import require_household


def check_replay(
    session: Session, member: Member, *, household_id: int, same: bool, conflict: str
) -> Household:
    """The stored record's household, when the sender may still see it and sent the same
    content (`same`: the fingerprints match) — the caller then answers with the stored record
    and changes nothing. Forbidden / NotFound when the household is outside the sender's
    scope (a UUID says nothing about records one may not see); SyncConflict with `conflict`
    when the content differs (a UUID names one record, once)."""
    household = require_household(session, member, household_id)
    if not same:
        raise SyncConflict(conflict)
    return household
