"""The pages a phone keeps for a day without signal (DESIGN.md §4.1), each with a version that
changes when the page would, so the phone fetches only what changed since last time: the
household list and every household page of the member's village, the outbox, the follow-ups,
the guide cards, and the records sent back to the member ("Bị trả lại") with their forms.

Shared by the offline blueprint (the pack) and nothing else; it names other areas' pages only
by endpoint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from flask import url_for
from sqlmodel import func, select

from fieldkit import guides, policy, review
from fieldkit.models import Household, Member, Resident, ReviewState, Visit
from pwa import db, i18n
from pwa.assets import app_version


@dataclass(frozen=True)
class OfflinePack:
    pages: list[dict]
    # None, not 0, for commune-wide members: they carry no village, and "0 hộ" would read as
    # an empty village.
    households: int | None


def pack_for(member: Member, *, now_iso: str) -> OfflinePack:
    """What `member`'s phone keeps offline. Commune-wide members get the shell, the guides and
    the outbox only; a commune is too large to carry. Province staff carry no commune's pages
    at all (their guides are the communes'): the outbox only."""
    # The language is part of every version: switching it on "Tài khoản" makes the phone fetch
    # its offline copies again in the new language rather than keep the old ones (pwa/i18n.py).
    version = f"{app_version()}-{i18n.language()}"
    if policy.is_province_wide(member):
        return OfflinePack(
            pages=[{"url": url_for("offline.outbox_page"), "version": version}], households=None
        )
    scope = policy.scope_for(member)
    pages = [
        {"url": url_for("households.index"), "version": f"{version}-{now_iso}"},
        {"url": url_for("offline.outbox_page"), "version": version},
    ]
    pages += _guide_pages(member, version)
    pages += _returned_pages(member, version)
    pages.append({"url": url_for("followups.index"), "version": f"{version}-{now_iso}"})
    households = None
    if scope.village_id is not None:
        household_pages = _household_pages(scope.village_id, version)
        pages += household_pages
        households = len(household_pages)
    return OfflinePack(pages=pages, households=households)


def _household_pages(village_id: int, version: str) -> list[dict]:
    rows = (
        db.session()
        .exec(
            select(
                Household.id,
                Household.visit_count,
                Household.last_visited_at,
                Household.follow_up_on,
                Household.review_state,
                Household.smartphones,
                Household.internet_at_home,
                Household.search_text,
                Household.assigned_volunteer_id,
                Household.import_batch_id,  # an import changed the page (issue 15)
            )
            .where(
                Household.village_id == village_id,
                Household.review_state != ReviewState.rejected,
            )
            .order_by(Household.id)
        )
        .all()
    )
    reviews = _review_states(village_id)
    pages = []
    for household_id, *state in rows:
        state.append(reviews.get(household_id))
        pages.append(
            {
                "url": url_for("households.show", household_id=household_id),
                "version": _digest(version, state),
            }
        )
    return pages


def _guide_pages(member: Member, version: str) -> list[dict]:
    """The guide cards, for everyone: a resident is shown them at the door, signal or not."""
    cards = guides.cards(db.session(), commune_id=member.commune_id)
    pages = [
        {"url": url_for("guides.index"), "version": _digest(version, [c.title for c in cards])}
    ]
    for card in cards:
        pages.append(
            {
                "url": url_for("guides.show", code=card.service_code),
                "version": _digest(version, card),
            }
        )
    return pages


def _returned_pages(member: Member, version: str) -> list[dict]:
    """The returned list and each returned record's form: their versions change when a record
    is returned, resubmitted or decided."""
    if not policy.is_field_member(member):
        return []
    entries = review.returned(db.session(), member)
    state = [(e.kind.value, e.record.id, e.record.revision, e.reason) for e in entries]
    pages = [{"url": url_for("review.returned"), "version": _digest(version, state)}]
    for entry in entries:
        pages.append(
            {
                "url": url_for(
                    "review.edit_returned", kind=entry.kind.value, record_uuid=entry.record.uuid
                ),
                "version": _digest(
                    version, entry.kind.value, entry.record.id, entry.record.revision
                ),
            }
        )
    return pages


def _digest(*content) -> str:
    return hashlib.sha256(repr(content).encode()).hexdigest()[:12]


def _review_states(village_id: int) -> dict[int, tuple]:
    """Per household of the village, what its page shows of its visits' and residents'
    reviews (how many in each state, revisions), so a decision or a resubmission changes the
    page's version and the phone fetches it again. Two grouped queries for the village."""
    session = db.session()
    states: dict[int, list] = {}
    for model in (Visit, Resident):
        rows = session.exec(
            select(model.household_id, model.review_state, func.count(), func.sum(model.revision))
            .join(Household, Household.id == model.household_id)
            .where(Household.village_id == village_id)
            .group_by(model.household_id, model.review_state)
            .order_by(model.household_id, model.review_state)
        ).all()
        for household_id, *state in rows:
            states.setdefault(household_id, []).append((model.__name__, *state))
    return {household_id: tuple(state) for household_id, state in states.items()}
