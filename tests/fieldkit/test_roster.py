"""Bringing the team in from a roster (issue 15): the same preview, matched by phone, who may
bring whom, undo."""

from __future__ import annotations

import pytest
from sqlmodel import select

from fieldkit import imports, members, roster
from fieldkit.errors import SignInRefused
from fieldkit.imports import Importer, UndoRefused
from fieldkit.models import AuditEvent, ImportKind, Member, Role
from tests.conftest import NOW
from tests.factories import World
from tests.import_files import roster_xlsx

ROWS = [
    ["Ngô Thị Mai", "0912 111 222", "Thành viên", "Thôn Đông"],
    ["Vương Văn Đức", 912111333, "Tổ trưởng", "Tây"],
    ["Phạm Thu Hà", "0912000001", "Tình nguyện viên", "Thôn Đông"],  # already a member
    ["Nguyễn Văn Xã", "0912111444", "Công chức xã", ""],
    ["Không Số", "", "Thành viên", "Thôn Đông"],
    ["Lạ Vai", "0912111555", "Bí thư", "Thôn Đông"],
    ["Ngô Thị Mai Trùng", "0912111222", "Thành viên", "Thôn Đông"],
]


def start(session, importer, rows=ROWS):
    batch = imports.start(
        session,
        importer,
        kind=ImportKind.team,
        file_name="to.xlsx",
        data=roster_xlsx(rows),
        now=NOW,
    )
    session.commit()
    return batch


def run(session, batch, importer):
    assert imports.claim(session, batch, now=NOW)
    session.commit()
    done = imports.run(session, batch.id, importer, now=NOW)
    session.commit()
    return done


def test_a_roster_is_previewed_then_brings_the_team_in_once(session, world: World):
    w = world
    staff = Importer.of(w.staff)
    batch = start(session, staff)
    p = batch.preview
    assert p["counts"] == {
        "members_new": 3,
        "members_updated": 0,
        "members_unchanged": 1,
        "rows_refused": 3,
    }
    refused = dict(p["refused"])
    assert "số điện thoại" in refused[8].lower()
    assert "Vai trò" in refused[9]
    assert "trùng với dòng 4" in refused[10]
    done = run(session, batch, staff)
    assert done.counts["members_new"] == 3
    added = {m.phone: m for m in roster.new_members(session, done)}
    assert set(added) == {"0912111222", "0912111333", "0912111444"}
    assert added["0912111333"].role is Role.leader
    assert added["0912111333"].village_id == w.other_village.id
    assert added["0912111444"].role is Role.staff and added["0912111444"].village_id is None
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "member_added")).all()
    assert len(events) == 3 and all(e.details["import"] == done.id for e in events)
    # The same roster again adds nobody.
    again = run(session, start(session, staff), staff)
    assert again.counts["members_new"] == 0 and again.counts["members_unchanged"] == 4


def test_a_corrected_roster_changes_names_and_roles_by_phone(session, world: World):
    w = world
    staff = Importer.of(w.staff)
    rows = [["Phạm Thu Hà (Hà nhỏ)", "0912000001", "Tổ trưởng", "Thôn Đông"]]
    done = run(session, start(session, staff, rows), staff)
    assert done.counts["members_updated"] == 1
    person = session.get(Member, w.volunteer.id)
    assert (person.name, person.role) == ("Phạm Thu Hà (Hà nhỏ)", Role.leader)
    imports.undo(session, done, staff, now=NOW)
    session.commit()
    session.refresh(person)
    assert (person.name, person.role) == ("Phạm Thu Hà", Role.volunteer)


def test_a_leader_brings_in_volunteers_of_their_village_only(session, world: World):
    w = world
    leader = Importer.of(w.leader)
    batch = start(session, leader)
    refused = dict(batch.preview["refused"])
    assert "thôn mình" in refused[5]  # a leader of Thôn Tây
    assert "thôn mình" in refused[7]  # commune staff
    done = run(session, batch, leader)
    assert done.counts["members_new"] == 1
    (mai,) = roster.new_members(session, done)
    assert (mai.role, mai.village_id) == (Role.volunteer, w.village.id)


def test_undo_deactivates_who_it_added_until_someone_signs_in(session, world: World):
    w = world
    staff = Importer.of(w.staff)
    done = run(session, start(session, staff), staff)
    added = roster.new_members(session, done)
    link = members.create_sign_in_link(session, added[0], now=NOW)
    session.commit()
    members.redeem_sign_in_link(session, link, now=NOW)
    session.commit()
    with pytest.raises(UndoRefused) as refused:
        imports.undo(session, done, staff, now=NOW)
    assert added[0].name in str(refused.value)

    other = run(
        session,
        start(session, staff, [["Chu Văn Mới", "0912999888", "Thành viên", "Thôn Tây"]]),
        staff,
    )
    (new,) = roster.new_members(session, other)
    unused = members.create_sign_in_link(session, new, now=NOW)
    session.commit()
    imports.undo(session, other, staff, now=NOW)
    session.commit()
    assert session.get(Member, new.id).active is False
    with pytest.raises(SignInRefused):  # its invite no longer works
        members.redeem_sign_in_link(session, unused, now=NOW)


def test_the_roster_template_reads_back(session, world: World):
    staff = Importer.of(world.staff)
    data = roster.template(session, staff)
    batch = imports.start(
        session, staff, kind=ImportKind.team, file_name="mau.xlsx", data=data, now=NOW
    )
    assert batch.preview["counts"]["members_unchanged"] == 1  # the example is Phạm Thu Hà
    assert batch.preview["counts"]["rows_refused"] == 0
