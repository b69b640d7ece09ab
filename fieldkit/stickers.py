"""QR door stickers (issue 6 §4): a sticker on a household's door carries a short link with an
unguessable token; scanning it with the phone's camera opens that household in Fieldkit.

The token is 128 random bits (22 URL-safe characters) and says nothing about the household:
not its name, not its number, not its village. It only leads somewhere for a signed-in member
whose scope covers the household — scope is checked when the link is opened, exactly as for
the household page. A lost or misused sticker is replaced: the new token revokes the old one.

Reads, and adds rows; the caller commits.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from fieldkit import audit, policy
from fieldkit.assignments import leading_number
from fieldkit.errors import NotFound
from fieldkit.i18n import _
from fieldkit.models import Household, Member, ReviewState, Sticker, Village

TOKEN_BYTES = 16
# What a token looks like; anything else is refused before touching the database.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}")


@dataclass(frozen=True)
class Label:
    """One sticker on the sheet: what is printed (the household's label, the village) and the
    token of its link."""

    household_id: int
    label: str
    village_name: str
    token: str


def house_order(label: str) -> tuple[int, str]:
    """Door order: by the leading house number ("9" before "10"), then by the text."""
    number = leading_number(label)
    return (number if number is not None else 10**9, label or "")


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def _active(session: Session, household_ids: list[int]) -> dict[int, Sticker]:
    if not household_ids:
        return {}
    rows = session.exec(
        select(Sticker)
        .where(col(Sticker.household_id).in_(household_ids), col(Sticker.revoked_at).is_(None))
        .order_by(col(Sticker.id))
    ).all()
    return {sticker.household_id: sticker for sticker in rows}


def sticker_for(session: Session, household: Household, *, now: datetime) -> Sticker:
    """The household's sticker, made if it has none. Idempotent: printing twice gives the
    same token, so a reprinted sheet matches the stickers already on doors."""
    assert household.id is not None  # a stored household
    sticker = _active(session, [household.id]).get(household.id)
    if sticker is None:
        sticker = Sticker(token=_new_token(), household_id=household.id, created_at=now)
        session.add(sticker)
        session.flush()
    return sticker


def replace(session: Session, member: Member, household_id: int, *, now: datetime) -> Sticker:
    """Revoke the household's sticker (if any) and make a new one — for a sticker lost,
    damaged or photographed by someone who shouldn't have it."""
    household = policy.require_household(session, member, household_id)
    policy.require_can_print_stickers(member)
    assert household.id is not None  # a stored household
    for sticker in _active(session, [household.id]).values():
        sticker.revoked_at = now
        session.add(sticker)
    session.flush()
    audit.record(
        session,
        action="sticker_replaced",
        actor=member,
        now=now,
        target_kind="household",
        target_id=household.id,
    )
    return sticker_for(session, household, now=now)


def village_sheet(
    session: Session, member: Member, village_id: int, *, now: datetime
) -> list[Label]:
    """One label per household of the village (rejected proposals and erased households
    left out), in house-number order, making the stickers that are missing."""
    village: Village = policy.require_village(session, member, village_id)
    policy.require_can_print_stickers(member)
    households = session.exec(
        select(Household).where(
            Household.village_id == village.id,
            Household.review_state != ReviewState.rejected,
            col(Household.erased_at).is_(None),
        )
    ).all()
    stickers = _active(session, [h.id for h in households if h.id is not None])
    labels = []
    for household in sorted(households, key=lambda h: house_order(h.label)):
        assert household.id is not None  # a stored household
        sticker = stickers.get(household.id)
        if sticker is None:
            sticker = Sticker(token=_new_token(), household_id=household.id, created_at=now)
            session.add(sticker)
        labels.append(
            Label(
                household_id=household.id,
                label=household.label,
                village_name=village.name,
                token=sticker.token,
            )
        )
    session.flush()
    return labels


def open_sticker(session: Session, member: Member, token: str) -> Household:
    """The household a scanned sticker leads to, if the member may see it. A token that is
    malformed, unknown or revoked is NotFound — all three alike, so a guesser learns
    nothing; a household outside the member's scope is Forbidden, as on its page."""
    if not TOKEN_SHAPE.fullmatch(token or ""):
        raise NotFound(_("Mã dán cửa không hợp lệ."))
    sticker = session.exec(
        select(Sticker).where(Sticker.token == token, col(Sticker.revoked_at).is_(None))
    ).first()
    if sticker is None:
        raise NotFound(_("Mã dán cửa không hợp lệ hoặc đã được thay."))
    return policy.require_household(session, member, sticker.household_id)
