"""The review loop on SQLite and PostgreSQL: every transition, with the history intact and the
indicators moving only on approval; refusals that change nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from fieldkit import policy, review
from fieldkit.errors import Forbidden, Invalid, NotFound
from fieldkit.households import (
    HouseholdIn,
    ResidentIn,
    add_resident,
    edit_basics,
    propose_household,
)
from fieldkit.models import (
    AuditEvent,
    Commune,
    Household,
    Member,
    PushMessage,
    RecordKind,
    RecordRevision,
    ReviewDecision,
    ReviewState,
    Role,
    Visit,
)
from fieldkit.reporting import indicators
from fieldkit.review import Choice, DecisionEntry, ReviewRefused, RevisionEntry
from fieldkit.sync import Status, SyncItem, ingest
from tests.conftest import NOW
from tests.factories import new_uuid
from tests.fieldkit.helpers import count, line, record_visit

LATER = NOW + timedelta(hours=2)


def decide(
    session,
    world,
    record,
    decision,
    reason="",
    *,
    kind=RecordKind.visit,
    member=None,
    revision=None,
):
    made = review.decide(
        session,
        member=member or world.staff,
        kind=kind,
        record_id=record.id,
        decision=decision,
        reason=reason,
        now=LATER,
        expected_revision=revision or record.revision,
    )
    session.commit()
    return made


def resubmission(record, *, base_revision=1, record_kind="visit", item_id=None, **fields):
    payload = {
        "record_kind": record_kind,
        "record_uuid": record.uuid,
        "base_revision": base_revision,
        "visited_at": "2026-11-20T08:45",
        "outcome": "met",
        **fields,
    }
    return SyncItem(id=item_id or new_uuid(), kind="revision", payload=payload)


def send(session, member, *items):
    return ingest(session, list(items), member=member, now=LATER, commit=session.commit)


def vneid_level1(session, world):
    (row,) = [
        v
        for v in indicators.village_indicators(session, scope=policy.scope_for(world.staff))
        if v.village_id == world.village.id
    ]
    return row.vneid_level1


def test_approval_moves_the_indicators_and_only_approval_does(session, world):
    visit = record_visit(session, world, lines=[line(world.head)])
    session.commit()
    assert vneid_level1(session, world) == indicators.Count(approved=0, pending=1)

    decide(session, world, visit, ReviewState.returned, "Thiếu mã hồ sơ")
    assert vneid_level1(session, world) == indicators.Count(approved=0, pending=1)
    assert visit.review_state is ReviewState.returned

    (result,) = send(
        session,
        world.volunteer,
        resubmission(visit, lines=[line(world.head, dossier_no="HS-2026-001")]),
    )
    assert result.status is Status.stored, result
    assert vneid_level1(session, world) == indicators.Count(approved=0, pending=1)

    session.refresh(visit)
    decide(session, world, visit, ReviewState.approved)
    assert vneid_level1(session, world) == indicators.Count(approved=1, pending=0)


def test_every_transition_keeps_the_history_in_order(session, world):
    visit = record_visit(session, world, lines=[line(world.head)], notes="Lần đầu")
    session.commit()
    decide(session, world, visit, ReviewState.returned, "Sai thời gian thăm")
    (result,) = send(
        session, world.volunteer, resubmission(visit, lines=[line(world.head)], notes="Đã sửa giờ")
    )
    assert result.status is Status.stored
    session.refresh(visit)
    assert (visit.revision, visit.review_state) == (2, ReviewState.pending)
    assert visit.notes == "Đã sửa giờ"
    decide(session, world, visit, ReviewState.approved)

    entries = review.history(session, RecordKind.visit, visit.id)
    assert [(type(e).__name__, e.revision) for e in entries] == [
        ("RevisionEntry", 1),
        ("DecisionEntry", 1),
        ("RevisionEntry", 2),
        ("DecisionEntry", 2),
    ]
    first, returned, second, approved = entries
    assert isinstance(first, RevisionEntry) and first.submitted_by == "Phạm Thu Hà"
    assert isinstance(returned, DecisionEntry)
    assert (returned.decision, returned.reason, returned.reviewer) == (
        ReviewState.returned,
        "Sai thời gian thăm",
        "Lê Văn Chung",
    )
    changed = {c.label: (c.before, c.after) for c in second.changes}
    assert changed["Thời gian thăm"] == ("09:30 20/11/2026", "08:45 20/11/2026")
    assert changed["Ghi chú"] == ("Lần đầu", "Đã sửa giờ")
    assert approved.decision is ReviewState.approved
    # Both revisions are kept as they stood: the first snapshotted when the second arrived.
    snapshots = session.exec(select(RecordRevision).order_by(RecordRevision.revision)).all()
    assert [(s.revision, s.uuid == visit.uuid) for s in snapshots] == [(1, True), (2, False)]
    assert snapshots[0].content["notes"] == "Lần đầu"
    assert count(session, AuditEvent) >= 2
    assert [
        e.details["decision"]
        for e in session.exec(
            select(AuditEvent).where(AuditEvent.action == "review").order_by(AuditEvent.id)
        )
    ] == ["returned", "approved"]


def test_reject_needs_a_reason_and_ends_the_record(session, world):
    visit = record_visit(session, world, lines=[line(world.head)])
    session.commit()
    with pytest.raises(Invalid) as refused:
        review.decide(
            session,
            member=world.staff,
            kind=RecordKind.visit,
            record_id=visit.id,
            decision=ReviewState.rejected,
            reason="   ",
            now=LATER,
            expected_revision=1,
        )
    assert "lý do" in refused.value.errors["reason"]
    session.rollback()
    assert session.get(Visit, visit.id).review_state is ReviewState.pending
    assert count(session, ReviewDecision) == 0

    decide(session, world, visit, ReviewState.rejected, "Trùng với hồ sơ đã có")
    assert session.get(Household, world.household.id).visit_count == 0
    with pytest.raises(ReviewRefused, match="đã bị từ chối"):
        decide(session, world, visit, ReviewState.approved)
    (result,) = send(session, world.volunteer, resubmission(visit, lines=[line(world.head)]))
    assert result.status is Status.invalid
    assert "từ chối" in result.errors["form"]
    session.refresh(visit)
    assert (visit.revision, visit.review_state) == (1, ReviewState.rejected)
    assert count(session, RecordRevision) == 0


def test_approving_twice_or_a_stale_revision_is_refused_and_changes_nothing(session, world):
    visit = record_visit(session, world, lines=[line(world.head)])
    session.commit()
    decide(session, world, visit, ReviewState.approved)
    with pytest.raises(ReviewRefused, match="đã được duyệt rồi"):
        decide(session, world, visit, ReviewState.approved)
    session.rollback()
    assert count(session, ReviewDecision) == 1

    other = record_visit(session, world, household=world.neighbour, outcome="not_home")
    session.commit()
    decide(session, world, other, ReviewState.returned, "Bổ sung ghi chú")
    send(session, world.volunteer, resubmission(other, outcome="not_home", notes="Vắng cả ngày"))
    session.refresh(other)
    assert other.revision == 2
    with pytest.raises(ReviewRefused, match="bản sửa mới hơn"):
        decide(session, world, other, ReviewState.approved, revision=1)
    session.rollback()
    assert session.get(Visit, other.id).review_state is ReviewState.pending
    assert count(session, ReviewDecision) == 2


def test_reviewing_outside_ones_commune_or_role_is_forbidden(session, world):
    visit = record_visit(session, world, lines=[line(world.head)])
    elsewhere = Commune(
        code="15350", name="Xã Khác", province_code="38", province_name="Tỉnh Thanh Hóa"
    )
    session.add(elsewhere)
    session.flush()
    stranger = Member(commune_id=elsewhere.id, name="Cán Bộ Xã Khác", role=Role.staff)
    session.add(stranger)
    session.commit()
    for member in (stranger, world.leader, world.volunteer):
        # To the other commune's staff the record's household does not exist (policy).
        with pytest.raises(NotFound if member is stranger else Forbidden):
            decide(session, world, visit, ReviewState.approved, member=member)
        session.rollback()
        with pytest.raises(NotFound if member is stranger else Forbidden):
            review.inbox(
                session, member=member, now=LATER
            ) if member is not stranger else review.approve_many(
                session, member=member, now=LATER, choices=[Choice(RecordKind.visit, visit.id, 1)]
            )
        session.rollback()
    assert review.inbox(session, member=stranger, now=LATER).total == 0
    assert session.get(Visit, visit.id).review_state is ReviewState.pending
    assert count(session, ReviewDecision) == 0


def test_approve_many_is_all_or_nothing(session, world):
    first = record_visit(session, world, lines=[line(world.head)])
    second = record_visit(session, world, household=world.neighbour, outcome="not_home")
    session.commit()
    decide(session, world, second, ReviewState.approved)
    choices = [Choice(RecordKind.visit, first.id, 1), Choice(RecordKind.visit, second.id, 1)]
    with pytest.raises(ReviewRefused, match="Chưa duyệt hồ sơ nào"):
        review.approve_many(session, member=world.staff, choices=choices, now=LATER)
    session.rollback()
    assert session.get(Visit, first.id).review_state is ReviewState.pending
    assert count(session, ReviewDecision) == 1

    made = review.approve_many(session, member=world.staff, choices=choices[:1], now=LATER)
    session.commit()
    assert len(made) == 1 and session.get(Visit, first.id).review_state is ReviewState.approved


def test_inbox_lists_pending_records_oldest_first_with_filters(session, world):
    visit = record_visit(session, world, lines=[line(world.head)])
    resident_in = ResidentIn.parse(
        {"uuid": new_uuid(), "name": "Nguyễn Thị Mai", "birth_year": "2001"}, today=NOW.date()
    )
    resident, _ = add_resident(
        session,
        world.household.id,
        resident_in,
        member=world.volunteer,
        now=NOW - timedelta(days=3),
    )
    far = record_visit(
        session,
        world,
        household=world.far_household,
        member=world.other_volunteer,
        outcome="not_home",
    )
    edit, _ = edit_basics(
        session,
        world.neighbour.id,
        HouseholdIn.parse({"uuid": new_uuid(), "label": "14A", "head_name": "Trần Thị Bình"}),
        member=world.leader,
        now=NOW,
    )
    session.commit()

    box = review.inbox(session, member=world.staff, now=LATER)
    assert box.total == 4
    assert box.entries[0].kind is RecordKind.resident  # three days old
    assert {e.kind for e in box.entries} == set(RecordKind) - {RecordKind.household}
    edit_entry = next(e for e in box.entries if e.kind is RecordKind.household_edit)
    assert [(f.label, f.text) for f in edit_entry.fields] == [("Số nhà / tên hộ", "14A")]
    assert edit_entry.edit_before == {"label": "14"}

    in_west = review.inbox(
        session, member=world.staff, now=LATER, village_id=world.other_village.id
    )
    assert [e.record_id for e in in_west.entries] == [far.id]
    mine = review.inbox(session, member=world.staff, now=LATER, volunteer_id=world.volunteer.id)
    assert {(e.kind, e.record_id) for e in mine.entries} == {
        (RecordKind.visit, visit.id),
        (RecordKind.resident, resident.id),
    }
    old = review.inbox(session, member=world.staff, now=LATER, older_than_days=2)
    assert [e.kind for e in old.entries] == [RecordKind.resident]
    only_edits = review.inbox(
        session, member=world.staff, now=LATER, kind=RecordKind.household_edit
    )
    assert [e.record_id for e in only_edits.entries] == [edit.id]


def test_a_visit_naming_a_pending_resident_says_so(session, world):
    resident_in = ResidentIn.parse({"uuid": new_uuid(), "name": "Nguyễn Thị Mai"}, today=NOW.date())
    resident, _ = add_resident(
        session, world.household.id, resident_in, member=world.volunteer, now=NOW
    )
    record_visit(session, world, lines=[line(resident)])
    session.commit()
    (entry,) = review.inbox(session, member=world.staff, now=LATER, kind=RecordKind.visit).entries
    assert entry.notes == ["Nhân khẩu chưa duyệt: Nguyễn Thị Mai"]


def test_returning_notifies_the_volunteer(session, world):
    visit = record_visit(session, world, lines=[line(world.head)])
    session.commit()
    decide(session, world, visit, ReviewState.returned, "Thiếu mã hồ sơ")
    (message,) = session.exec(select(PushMessage)).all()
    assert (message.member_id, message.title, message.url) == (
        world.volunteer.id,
        "Hồ sơ bị trả lại",
        "/returned",
    )
    assert "Thiếu mã hồ sơ" in message.body


def test_resubmission_replay_conflict_stale_and_who_may(session, world):
    visit = record_visit(session, world, lines=[line(world.head)])
    session.commit()
    decide(session, world, visit, ReviewState.returned, "Sai dịch vụ")
    fixed = resubmission(visit, lines=[line(world.head, "vneid_activate")])
    # Someone else's record: another volunteer may not; the village's leader may.
    (refused,) = send(session, world.other_volunteer, fixed)
    assert refused.status is Status.forbidden
    (stored,) = send(session, world.volunteer, fixed)
    (again,) = send(session, world.volunteer, fixed)
    assert (stored.status, again.status) == (Status.stored, Status.duplicate)
    changed = SyncItem(id=fixed.id, kind="revision", payload={**fixed.payload, "notes": "khác"})
    (conflict,) = send(session, world.volunteer, changed)
    assert conflict.status is Status.conflict
    # Still pending on revision 2: a resubmission of revision 1 is stale.
    (stale,) = send(session, world.leader, resubmission(visit, lines=[line(world.head)]))
    assert stale.status is Status.conflict
    assert "lần 2" in stale.message
    session.refresh(visit)
    assert visit.revision == 2 and count(session, RecordRevision) == 2

    decide(session, world, visit, ReviewState.returned, "Vẫn sai")
    (by_leader,) = send(
        session,
        world.leader,
        resubmission(visit, base_revision=2, lines=[line(world.head, "vneid_level1")]),
    )
    assert by_leader.status is Status.stored
    session.refresh(visit)
    assert visit.revision == 3
    decide(session, world, visit, ReviewState.approved)
    (after_approval,) = send(
        session, world.volunteer, resubmission(visit, base_revision=3, lines=[line(world.head)])
    )
    assert after_approval.status is Status.invalid
    assert "đã được xã duyệt" in after_approval.errors["form"]


def test_resubmitted_resident_and_rejected_household_edit(session, world):
    resident_in = ResidentIn.parse(
        {"uuid": new_uuid(), "name": "Nguyen Thi Mai", "birth_year": "2001"}, today=NOW.date()
    )
    resident, _ = add_resident(
        session, world.household.id, resident_in, member=world.volunteer, now=NOW
    )
    edit, _ = edit_basics(
        session,
        world.neighbour.id,
        HouseholdIn.parse(
            {"uuid": new_uuid(), "label": "14A", "head_name": "Trần Thị Bình", "smartphones": "2"}
        ),
        member=world.volunteer,
        now=NOW,
    )
    session.commit()
    decide(
        session, world, resident, ReviewState.returned, "Ghi tên có dấu", kind=RecordKind.resident
    )
    (result,) = send(
        session,
        world.volunteer,
        SyncItem(
            id=new_uuid(),
            kind="revision",
            payload={
                "record_kind": "resident",
                "record_uuid": resident.uuid,
                "base_revision": 1,
                "name": "Nguyễn Thị Mai",
                "birth_year": "2001",
                "relation": "Con",
            },
        ),
    )
    assert result.status is Status.stored, result
    session.refresh(resident)
    assert (resident.name, resident.revision) == ("Nguyễn Thị Mai", 2)
    assert "nguyen thi mai" in session.get(Household, world.household.id).search_text

    # An edit rejected: the household gets back what the edit had replaced.
    decide(session, world, edit, ReviewState.rejected, "Sai số nhà", kind=RecordKind.household_edit)
    neighbour = session.get(Household, world.neighbour.id)
    assert (neighbour.label, neighbour.smartphones) == ("14", None)
    assert "14a" not in neighbour.search_text.split()


def test_who_sees_what_was_returned(session, world):
    visit = record_visit(session, world, lines=[line(world.head)])
    session.commit()
    decide(session, world, visit, ReviewState.returned, "Thiếu mã hồ sơ")
    for member, expected in [
        (world.volunteer, 1),
        (world.leader, 1),
        (world.other_volunteer, 0),
        (world.staff, 0),
    ]:
        entries = review.returned(session, member)
        assert len(entries) == review.returned_count(session, member) == expected
    (entry,) = review.returned(session, world.leader)
    assert (entry.reason, entry.reviewer, entry.record.id) == (
        "Thiếu mã hồ sơ",
        "Lê Văn Chung",
        visit.id,
    )


def test_returned_household_and_household_edit_are_resubmitted(session, world):
    household, _ = propose_household(
        session,
        HouseholdIn.parse({"uuid": new_uuid(), "label": "27", "head_name": "Vu Thi Hoa"}),
        member=world.volunteer,
        now=NOW,
    )
    edit, _ = edit_basics(
        session,
        world.neighbour.id,
        HouseholdIn.parse({"uuid": new_uuid(), "label": "14A", "head_name": "Trần Thị Bình"}),
        member=world.volunteer,
        now=NOW,
    )
    session.commit()
    decide(
        session, world, household, ReviewState.returned, "Ghi tên có dấu", kind=RecordKind.household
    )
    decide(
        session, world, edit, ReviewState.returned, "Số nhà là 14B", kind=RecordKind.household_edit
    )
    basics = {"address_hint": "", "smartphones": "", "internet_at_home": ""}
    results = send(
        session,
        world.volunteer,
        SyncItem(
            id=new_uuid(),
            kind="revision",
            payload={
                "record_kind": "household",
                "record_uuid": household.uuid,
                "base_revision": 1,
                "label": "27",
                "head_name": "Vũ Thị Hoa",
                **basics,
            },
        ),
        SyncItem(
            id=new_uuid(),
            kind="revision",
            payload={
                "record_kind": "household_edit",
                "record_uuid": edit.uuid,
                "base_revision": 1,
                "label": "14B",
                "head_name": "Trần Thị Bình",
                **basics,
            },
        ),
    )
    assert [r.status for r in results] == [Status.stored, Status.stored], results
    session.refresh(household)
    session.refresh(edit)
    assert (household.head_name, household.revision) == ("Vũ Thị Hoa", 2)
    assert edit.changes == {"label": {"before": "14", "after": "14B"}}
    assert session.get(Household, world.neighbour.id).label == "14B"
    (entry,) = review.inbox(
        session, member=world.staff, now=LATER, kind=RecordKind.household_edit
    ).entries
    assert [(c.label, c.before, c.after) for c in entry.changes] == [
        ("Số nhà / tên hộ", "14A", "14B")
    ]
    # An edit that no longer changes anything is refused, and nothing moves.
    decide(
        session, world, edit, ReviewState.returned, "Kiểm tra lại", kind=RecordKind.household_edit
    )
    (unchanged,) = send(
        session,
        world.volunteer,
        SyncItem(
            id=new_uuid(),
            kind="revision",
            payload={
                "record_kind": "household_edit",
                "record_uuid": edit.uuid,
                "base_revision": 2,
                "label": "14",
                "head_name": "Trần Thị Bình",
                **basics,
            },
        ),
    )
    assert unchanged.status is Status.invalid
    assert session.get(Household, world.neighbour.id).label == "14B"


def test_a_household_pages_review_summary_matches_its_history(session, world):
    """reviewed_records() — what a household page shows, for many households at once — says
    what household_records(only_reviewed=True) says: the same records in the same order, each
    with its latest decision."""
    approved = record_visit(session, world, lines=[line(world.head)])
    returned = record_visit(session, world, visited_at="2026-11-20T08:00")
    untouched = record_visit(session, world, household=world.neighbour)
    edit, _ = edit_basics(
        session,
        world.neighbour.id,
        HouseholdIn.parse({"uuid": new_uuid(), "label": "14A", "head_name": "Trần Thị Bình"}),
        member=world.volunteer,
        now=NOW,
    )
    session.commit()
    decide(session, world, approved, ReviewState.approved)
    decide(session, world, returned, ReviewState.returned, "Thiếu giờ")
    decide(session, world, edit, ReviewState.returned, "Sai số", kind=RecordKind.household_edit)
    (result,) = send(session, world.volunteer, resubmission(returned, outcome="not_home"))
    assert result.status is Status.stored

    households = [session.get(Household, h.id) for h in (world.household, world.neighbour)]
    found = review.reviewed_records(session, households)
    for household in households:
        full = review.household_records(session, household, only_reviewed=True)
        summary = found.get(household.id, [])
        assert [(r.kind, r.record_id, r.title, r.state, r.revision) for r in summary] == [
            (r.kind, r.record_id, r.title, r.state, r.revision) for r in full
        ]
        for short, long in zip(summary, full, strict=True):
            decisions = [e for e in long.entries if isinstance(e, DecisionEntry)]
            assert short.last_decision == (decisions[-1] if decisions else None)
    assert untouched.id not in {r.record_id for r in found[world.neighbour.id]}
    # Oldest first: the resubmitted visit is at 08:45, the approved one at 09:30.
    assert [r.last_decision.reason for r in found[world.household.id]] == ["Thiếu giờ", ""]
