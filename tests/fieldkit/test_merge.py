"""Possible duplicate households and merging them (issue 15), on SQLite and PostgreSQL: likely
pairs are flagged; a merge keeps every record, moves what belongs to the household, counts
once; a phone that still holds the old household lands its next visit on the survivor."""

from __future__ import annotations

import pytest
from sqlmodel import select

from fieldkit import households, merge, review, stickers
from fieldkit.errors import Forbidden, Invalid
from fieldkit.households import HouseholdIn, ResidentIn
from fieldkit.models import (
    Assistance,
    AuditEvent,
    Household,
    HouseholdEdit,
    RecordKind,
    Resident,
    ReviewDecision,
    ReviewState,
    Sticker,
    Visit,
)
from fieldkit.policy import require_household, scope_for
from fieldkit.sync import Status, SyncItem, ingest
from tests.conftest import NOW
from tests.factories import World, add_household, new_uuid
from tests.fieldkit.helpers import count, line, record_visit, visit_payload
from tests.fieldkit.test_indicator_progress import assert_agrees


def propose(session, w: World, label: str, head: str, member=None) -> Household:
    household, _ = households.propose_household(
        session,
        HouseholdIn.parse({"uuid": new_uuid(), "label": label, "head_name": head}),
        member=member or w.volunteer,
        now=NOW,
    )
    session.commit()
    return household


def test_likely_duplicates_are_flagged_by_village_house_and_similar_head(session, world: World):
    w = world
    twin = propose(session, w, "Số 12", "Nguyen Van Ann")  # offline, typed without accents
    other_family = propose(session, w, "12", "Lê Thị Khác")  # same house: not flagged
    add_household(session, w.other_village, "12", "Nguyễn Văn An")  # another village
    session.commit()
    pairs, total = merge.possible_duplicates(session, commune_id=w.commune.id)
    assert total == 1
    (pair,) = pairs
    assert pair.key == (w.household.id, twin.id)
    assert pair.village_name == "Thôn Đông"
    assert [h.id for h in merge.duplicates_of(session, twin)] == [w.household.id]
    assert [h.id for h in merge.duplicates_of(session, w.household)] == [twin.id]
    # The same for many at once (a village's pages in the offline pack).
    found = merge.duplicates_of_many(session, [w.household, twin, other_family])
    assert {k: [h.id for h in v] for k, v in found.items()} == {
        w.household.id: [twin.id],
        twin.id: [w.household.id],
    }
    # Commune staff say they are two households: not flagged again.
    merge.dismiss(session, w.staff, twin.id, w.household.id, now=NOW)
    session.commit()
    assert merge.possible_duplicates(session, commune_id=w.commune.id)[1] == 0
    assert merge.duplicates_of(session, twin) == []
    assert merge.duplicates_of_many(session, [w.household, twin, other_family]) == {}
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "not_duplicate")).one()


def test_two_volunteers_offline_make_the_same_household(session, world: World):
    w = world
    first = propose(session, w, "40", "Đặng Văn Bốn")
    second = propose(session, w, "40 ", "Dang Van Bon", member=w.leader)
    pairs, _ = merge.possible_duplicates(session, commune_id=w.commune.id, village_id=w.village.id)
    assert [pair.key for pair in pairs] == [(first.id, second.id)]


def test_a_merge_moves_everything_keeps_the_history_and_counts_once(session, world: World):
    w = world
    twin = propose(session, w, "12", "Nguyen Van An")
    # The field recorded things on the twin: the same head, a child, a visit, an edit, a sticker.
    head_again, _ = households.add_resident(
        session,
        twin.id,
        ResidentIn.parse(
            {
                "uuid": new_uuid(),
                "name": "Nguyễn Văn An",
                "birth_year": "1968",
                "relation": "Chủ hộ",
                "phone": "0912555666",
            },
            today=NOW.date(),
        ),
        member=w.volunteer,
        now=NOW,
    )
    child, _ = households.add_resident(
        session,
        twin.id,
        ResidentIn.parse(
            {"uuid": new_uuid(), "name": "Nguyễn Văn Bé", "birth_year": "2015"}, today=NOW.date()
        ),
        member=w.volunteer,
        now=NOW,
    )
    visit = record_visit(
        session,
        w,
        household=twin,
        smartphones=3,
        lines=[line(head_again, "vneid_level1", "done"), line(child, "vneid_level1", "done")],
    )
    households.edit_basics(
        session,
        twin.id,
        HouseholdIn.parse(
            {
                "uuid": new_uuid(),
                "label": "12",
                "head_name": "Nguyen Van An",
                "address_hint": "Cạnh đình",
                "smartphones": "3",
            }
        ),
        member=w.volunteer,
        now=NOW,
    )
    sticker = stickers.sticker_for(session, twin, now=NOW)
    session.commit()
    assert_agrees(session, scope_for(w.staff))
    survivor_visits = count(session, Visit)

    plan = merge.plan_merge(session, w.staff, w.household.id, twin.id)
    pairs = {p.resident.name: p.same_as for p in plan.people}
    assert pairs["Nguyễn Văn An"].id == w.head.id  # the same person, found by name and year
    assert pairs["Nguyễn Văn Bé"] is None
    assert (plan.visits, plan.edits, plan.stickers) == (1, 1, 1)

    record = merge.merge_households(session, w.staff, w.household.id, twin.id, now=NOW)
    session.commit()
    session.expire_all()

    survivor = session.get(Household, w.household.id)
    gone = session.get(Household, twin.id)
    assert gone.merged_into_id == survivor.id
    assert gone.review_state is ReviewState.rejected  # out of every list and count
    # Everything moved; nothing was deleted.
    assert session.get(Visit, visit.id).household_id == survivor.id
    assert count(session, Visit) == survivor_visits
    assert session.exec(select(HouseholdEdit)).one().household_id == survivor.id
    assert session.get(Sticker, sticker.id).household_id == survivor.id
    people = [r.name for r in households.residents_of(session, survivor)]
    assert people == ["Nguyễn Văn An", "Hoàng Thị Lan", "Nguyễn Văn Bé"]
    # The combined person: the visit's line now names the survivor's head, who learned a phone.
    combined = session.get(Resident, head_again.id)
    assert combined.merged_into_id == w.head.id and combined.household_id == survivor.id
    assert {a.resident_id for a in session.exec(select(Assistance))} == {w.head.id, child.id}
    assert session.get(Resident, w.head.id).phone == "0912555666"
    assert survivor.smartphones == 3  # learned from the twin's visit
    # The twin's proposal was settled by the merge, and says so in its history.
    decision = session.exec(select(ReviewDecision)).one()
    assert decision.record_kind is RecordKind.household and decision.record_id == twin.id
    assert "đã gộp" in decision.reason
    assert record.snapshot["head_name"] == "Nguyen Van An"
    assert record.moved == {"residents": 2, "combined": 1, "visits": 1, "edits": 1, "stickers": 1}
    assert merge.merges_into(session, survivor) == [record]
    history = review.household_records(session, survivor)
    assert {entry.kind for entry in history} >= {RecordKind.visit, RecordKind.resident}
    # The numbers: the survivor's recounted once; they agree with a count from scratch.
    assert survivor.visit_count == 1
    assert "be" in survivor.search_text
    assert_agrees(session, scope_for(w.staff))
    listed = households.list_households(session, w.volunteer, today=NOW.date())
    assert twin.id not in {h.id for h in listed.households}
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "households_merged")).one()


def test_a_phone_that_still_holds_the_merged_household_lands_on_the_survivor(session, world: World):
    w = world
    twin = propose(session, w, "12", "Nguyen Van An")
    sent_before = SyncItem(
        id=new_uuid(),
        kind="visit",
        payload={"household_id": twin.id, **visit_payload(outcome="not_home")},
    )
    sent_before.payload["uuid"] = sent_before.id
    assert (
        ingest(session, [sent_before], member=w.volunteer, now=NOW, commit=session.commit)[0].status
        is Status.stored
    )
    merge.merge_households(session, w.staff, w.household.id, twin.id, now=NOW)
    session.commit()

    # A visit made offline on the old household, sent after the merge.
    late = SyncItem(
        id=new_uuid(),
        kind="visit",
        payload={
            "household_id": twin.id,
            **visit_payload(lines=[line(w.spouse, "vneid_level1", "done")]),
        },
    )
    late.payload["uuid"] = late.id
    # And one to a household the phone knew only by the UUID it made for it.
    by_uuid = SyncItem(
        id=new_uuid(),
        kind="resident",
        payload={"household_uuid": twin.uuid, "name": "Người Mới Sinh", "birth_year": "2026"},
    )
    by_uuid.payload["uuid"] = by_uuid.id
    # The first visit sent again (its answer was lost): the same, not a conflict.
    results = ingest(
        session, [late, by_uuid, sent_before], member=w.volunteer, now=NOW, commit=session.commit
    )
    assert [r.status for r in results] == [Status.stored, Status.stored, Status.duplicate]
    assert results[0].household_id == w.household.id
    stored = session.exec(select(Visit).where(Visit.uuid == late.id)).one()
    assert stored.household_id == w.household.id
    newborn = session.exec(select(Resident).where(Resident.uuid == by_uuid.id)).one()
    assert newborn.household_id == w.household.id
    # Its page, opened from an old link, is the survivor's.
    assert require_household(session, w.volunteer, twin.id).id == w.household.id
    assert_agrees(session, scope_for(w.staff))


def test_what_cannot_be_merged(session, world: World):
    w = world
    with pytest.raises(Forbidden):
        merge.plan_merge(session, w.leader, w.household.id, w.neighbour.id)
    with pytest.raises(Invalid):
        merge.plan_merge(session, w.staff, w.household.id, w.household.id)
    with pytest.raises(Invalid):
        merge.plan_merge(session, w.staff, w.household.id, w.far_household.id)
    merge.merge_households(session, w.staff, w.household.id, w.neighbour.id, now=NOW)
    session.commit()
    with pytest.raises(Invalid):  # merged already
        merge.merge_households(session, w.staff, w.neighbour.id, w.household.id, now=NOW)


def test_staff_may_keep_two_people_apart(session, world: World):
    w = world
    twin = propose(session, w, "12", "Nguyễn Văn An")
    same_name, _ = households.add_resident(
        session,
        twin.id,
        ResidentIn.parse({"uuid": new_uuid(), "name": "Hoàng Thị Lan"}, today=NOW.date()),
        member=w.volunteer,
        now=NOW,
    )
    session.commit()
    merge.merge_households(session, w.staff, w.household.id, twin.id, combine=set(), now=NOW)
    session.commit()
    names = [r.name for r in households.residents_of(session, w.household)]
    assert names.count("Hoàng Thị Lan") == 2
    assert session.get(Resident, same_name.id).merged_into_id is None
