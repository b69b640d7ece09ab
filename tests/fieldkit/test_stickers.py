"""Door stickers: a token per household that says nothing about it, the same token on every
reprint, scope checked on opening, forged and replaced tokens refused alike."""

from datetime import timedelta

import pytest
from sqlmodel import select

from fieldkit import stickers
from fieldkit.errors import Forbidden, NotFound
from fieldkit.models import AuditEvent, ReviewState, Sticker
from tests.conftest import NOW
from tests.factories import add_household


def test_a_village_sheet_has_one_label_per_household_in_door_order(session, world):
    add_household(session, world.village, "9", "Vũ Thị Mai")
    add_household(session, world.village, "Nhà ông Tư", "Đinh Văn Tư")
    rejected = add_household(session, world.village, "2", "Hộ bị từ chối")
    rejected.review_state = ReviewState.rejected
    session.commit()

    labels = stickers.village_sheet(session, world.leader, world.village.id, now=NOW)

    assert [label.label for label in labels] == ["9", "12", "14", "Nhà ông Tư"]
    assert {label.village_name for label in labels} == {"Thôn Đông"}
    tokens = [label.token for label in labels]
    assert len(set(tokens)) == 4
    for label in labels:
        assert stickers.TOKEN_SHAPE.fullmatch(label.token)


def test_reprinting_gives_the_same_tokens(session, world):
    first = stickers.village_sheet(session, world.leader, world.village.id, now=NOW)
    session.commit()
    again = stickers.village_sheet(
        session, world.staff, world.village.id, now=NOW + timedelta(days=3)
    )
    assert [label.token for label in again] == [label.token for label in first]
    assert len(session.exec(select(Sticker)).all()) == 2


def test_only_leaders_and_commune_staff_print_and_only_in_their_scope(session, world):
    with pytest.raises(Forbidden):
        stickers.village_sheet(session, world.volunteer, world.village.id, now=NOW)
    with pytest.raises(Forbidden):
        stickers.village_sheet(session, world.leader, world.other_village.id, now=NOW)
    assert session.exec(select(Sticker)).all() == []


def test_opening_a_sticker_leads_to_its_household_within_scope(session, world):
    token = stickers.sticker_for(session, world.household, now=NOW).token
    session.commit()

    assert stickers.open_sticker(session, world.volunteer, token).id == world.household.id
    assert stickers.open_sticker(session, world.staff, token).id == world.household.id
    with pytest.raises(Forbidden):
        stickers.open_sticker(session, world.other_volunteer, token)


@pytest.mark.parametrize("token", ["", "short", "x" * 22 + "y", "../../etc/passwd", "A" * 22])
def test_forged_or_malformed_tokens_are_not_found(session, world, token):
    stickers.sticker_for(session, world.household, now=NOW)
    session.commit()
    with pytest.raises(NotFound):
        stickers.open_sticker(session, world.volunteer, token)


def test_replacing_a_sticker_revokes_the_old_token(session, world):
    old = stickers.sticker_for(session, world.household, now=NOW).token
    session.commit()

    new = stickers.replace(session, world.leader, world.household.id, now=NOW).token
    session.commit()

    assert new != old
    with pytest.raises(NotFound):
        stickers.open_sticker(session, world.volunteer, old)
    assert stickers.open_sticker(session, world.volunteer, new).id == world.household.id
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "sticker_replaced")).one()
    assert (event.actor_id, event.target_id) == (world.leader.id, world.household.id)
    # The sheet now prints the new one.
    sheet = stickers.village_sheet(session, world.leader, world.village.id, now=NOW)
    printed = [label.token for label in sheet]
    assert new in printed and old not in printed


def test_a_volunteer_cannot_replace_a_sticker(session, world):
    old = stickers.sticker_for(session, world.household, now=NOW).token
    session.commit()
    with pytest.raises(Forbidden):
        stickers.replace(session, world.volunteer, world.household.id, now=NOW)
    session.rollback()
    assert stickers.open_sticker(session, world.volunteer, old).id == world.household.id
