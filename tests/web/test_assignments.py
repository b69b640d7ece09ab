"""The assignments page: leaders and commune staff assign; volunteers are refused; another
village is refused and nothing changes."""

from sqlmodel import select

from fieldkit.models import AuditEvent, Household
from tests.factories import add_household


def owner(db, household) -> int | None:
    db.expire_all()
    return db.get(Household, household.id).assigned_volunteer_id


def test_leader_sees_the_page_with_counts_per_volunteer(web, world):
    web.sign_in(world.leader)
    page = web.get("/assignments")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Phân công hộ" in text and "Phạm Thu Hà" in text and "Trần Thị Bình" in text
    assert "Lê Văn Cường" not in text  # Thôn Tây is not the leader's
    assert 'href="/assignments"' in web.get("/households").get_data(as_text=True)  # tab


def test_leader_assigns_ticked_households(web, world, db):
    web.sign_in(world.leader)
    response = web.post(
        "/assignments",
        {
            "volunteer_id": world.volunteer.id,
            "household_id": [world.neighbour.id],
            "village_id": world.village.id,
        },
    )
    assert response.status_code == 303
    assert owner(db, world.neighbour) == world.volunteer.id
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã phân công 1 hộ cho Phạm Thu Hà." in page
    assert db.exec(select(AuditEvent).where(AuditEvent.action == "assigned")).first()


def test_staff_assign_by_range_in_another_village(web, world, db):
    houses = [
        add_household(db, world.other_village, label, f"Hộ {label}") for label in ("5", "6A", "8")
    ]
    db.commit()
    web.sign_in(world.staff)
    assert web.get(f"/assignments?village={world.other_village.id}").status_code == 200
    response = web.post(
        "/assignments",
        {
            "volunteer_id": world.other_volunteer.id,
            "range": "5-6",
            "village_id": world.other_village.id,
        },
    )
    assert response.status_code == 303
    assert [owner(db, h) for h in houses] == [world.other_volunteer.id] * 2 + [None]


def test_a_refused_volunteer_shows_the_reason_and_changes_nothing(web, world, db):
    web.sign_in(world.staff)
    response = web.post(
        "/assignments",
        {
            "volunteer_id": world.other_volunteer.id,
            "household_id": [world.neighbour.id],
            "village_id": world.village.id,
        },
    )
    assert response.status_code == 422
    assert "chỉ phân công hộ cho người cùng thôn" in response.get_data(as_text=True)
    assert owner(db, world.neighbour) is None


def test_unassign(web, world, db):
    web.sign_in(world.leader)
    response = web.post(
        "/assignments", {"action": "unassign", "household_id": [world.household.id]}
    )
    assert response.status_code == 303
    assert owner(db, world.household) is None


def test_volunteer_is_refused(web, world, db):
    web.sign_in(world.volunteer)
    assert web.get("/assignments").status_code == 403
    response = web.post(
        "/assignments", {"volunteer_id": world.volunteer.id, "household_id": [world.neighbour.id]}
    )
    assert response.status_code == 403
    assert owner(db, world.neighbour) is None
    assert 'href="/assignments"' not in web.get("/households").get_data(as_text=True)


def test_leader_is_refused_another_village_and_nothing_changes(web, world, db):
    web.sign_in(world.leader)
    response = web.post(
        "/assignments",
        {
            "volunteer_id": world.volunteer.id,
            "household_id": [world.neighbour.id, world.far_household.id],
        },
    )
    assert response.status_code == 403
    assert owner(db, world.neighbour) is None
    assert owner(db, world.far_household) == world.other_volunteer.id
    refusal = db.exec(select(AuditEvent).where(AuditEvent.action == "refused")).all()
    assert (
        refusal and not db.exec(select(AuditEvent).where(AuditEvent.action == "assigned")).first()
    )
    # Asking for the other village's page shows the leader's own village, never Thôn Tây.
    page = web.get(f"/assignments?village={world.other_village.id}").get_data(as_text=True)
    assert "Lê Văn Cường" not in page


def test_offline_pack_version_changes_with_the_assignment(web, world, db):
    web.sign_in(world.volunteer)

    def version():
        pages = web.get("/api/v1/offline-pack").get_json()["pages"]
        return {p["url"]: p["version"] for p in pages}[f"/households/{world.neighbour.id}"]

    before = version()
    leader = web.app_client_fresh()
    from tests.web.conftest import Browser

    boss = Browser(leader, db)
    boss.sign_in(world.leader)
    assert (
        boss.post(
            "/assignments",
            {"volunteer_id": world.volunteer.id, "household_id": [world.neighbour.id]},
        ).status_code
        == 303
    )
    assert version() != before


def test_a_leader_learns_no_name_outside_the_village_from_a_refusal(web, world, db):
    """Issue 10, finding 5: a 422 named the member whatever their village. Every kind of
    person outside the leader's village — a volunteer of another village, one who left, the
    commune staff, someone of another commune — is refused without a name."""
    from fieldkit.models import Commune, Member, Role

    elsewhere = Commune(code="15350", name="Xã Khác", province_code="38", province_name="Thanh Hóa")
    db.add(elsewhere)
    db.flush()
    gone = Member(
        commune_id=world.commune.id,
        village_id=world.other_village.id,
        name="Hà Văn Nghỉ",
        phone="0912000055",
        role=Role.volunteer,
        active=False,
    )
    stranger = Member(
        commune_id=elsewhere.id, name="Người Xã Khác", phone="0912000056", role=Role.volunteer
    )
    db.add_all([gone, stranger])
    db.commit()
    web.sign_in(world.leader)
    for person in (world.other_volunteer, gone, world.staff, stranger):
        for form in (
            {"volunteer_id": person.id, "household_id": [world.neighbour.id]},
            {"volunteer_id": person.id, "range": "1-99"},
        ):
            response = web.post("/assignments", form)
            page = response.get_data(as_text=True)
            assert response.status_code == 422, (person.name, form, response.status_code)
            assert person.name not in page, (person.name, form)
            assert "không thuộc thôn của bạn" in page or "Không tìm thấy" in page
    assert owner(db, world.neighbour) is None
