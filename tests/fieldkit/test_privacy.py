"""Personal data: consent, export, erasure (counts stay), the guard against citizen-ID numbers,
passwords and OTPs, retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlmodel import select

from fieldkit import audit, privacy, sync
from fieldkit.errors import Forbidden, Invalid, SyncConflict
from fieldkit.households import ResidentIn, add_resident
from fieldkit.models import Assistance, AuditEvent, Household, Resident, Visit
from fieldkit.visits import VisitIn
from tests.conftest import NOW
from tests.factories import new_uuid
from tests.fieldkit.helpers import count, line, record_visit, visit_payload

TODAY = NOW.date()


def consent_data(**fields) -> dict:
    return {
        "uuid": new_uuid(),
        "purpose_public_services": "yes",
        "method": "verbal",
        "consented_on": TODAY.isoformat(),
        **fields,
    }


def test_consent_is_recorded_once_by_uuid_and_audited(session, world):
    consent_in = privacy.ConsentIn.parse(consent_data(purpose_follow_up="yes"), today=TODAY)
    household, created = privacy.record_consent(
        session, world.household.id, consent_in, member=world.volunteer, now=NOW
    )
    assert created and household.consent_version == privacy.CONSENT_VERSION
    assert privacy.consent_purposes(household) == list(privacy.PURPOSES.values())
    assert household.consent_method == "verbal"
    _, again = privacy.record_consent(
        session, world.household.id, consent_in, member=world.volunteer, now=NOW
    )
    assert not again
    assert [e.action for e in audit.events(session, commune_id=world.commune.id)] == ["consent"]
    changed = privacy.ConsentIn.parse(
        consent_data(uuid=consent_in.uuid, method="written"), today=TODAY
    )
    with pytest.raises(SyncConflict):
        privacy.record_consent(
            session, world.household.id, changed, member=world.volunteer, now=NOW
        )


def test_consent_needs_a_purpose_a_method_and_a_day_not_in_the_future(world):
    with pytest.raises(Invalid) as refused:
        privacy.ConsentIn.parse(
            {
                "uuid": new_uuid(),
                "method": "by pigeon",
                "consented_on": (TODAY + timedelta(days=2)).isoformat(),
            },
            today=TODAY,
        )
    assert set(refused.value.errors) == {"purposes", "method", "consented_on"}


def test_consent_through_sync_stores_then_answers_duplicate_then_conflict(session, world):
    item_id = new_uuid()
    payload = {**consent_data(), "household_id": world.household.id}
    del payload["uuid"]

    def send(body):
        return sync.ingest(
            session,
            [sync.SyncItem(item_id, "consent", body)],
            member=world.volunteer,
            now=NOW,
            commit=session.commit,
        )[0]

    assert send(payload).status is sync.Status.stored
    assert send(payload).status is sync.Status.duplicate
    assert send({**payload, "method": "written"}).status is sync.Status.conflict
    far = {**payload, "household_id": world.far_household.id}
    assert (
        sync.ingest(
            session,
            [sync.SyncItem(new_uuid(), "consent", far)],
            member=world.volunteer,
            now=NOW,
            commit=session.commit,
        )[0].status
        is sync.Status.forbidden
    )
    session.expire_all()
    assert session.get(Household, world.far_household.id).consent_at is None


@pytest.mark.parametrize(
    "text",
    [
        "CCCD 038090012345",
        "số 038 090 012 345",
        "mật khẩu: Abc@123",
        "Mat khau la 123456",
        "OTP 482913",
        "mã OTP: 4829",
    ],
)
def test_citizen_id_numbers_passwords_and_otps_are_refused(text, world):
    with pytest.raises(Invalid) as refused:
        VisitIn.parse(visit_payload(notes=text), household_id=world.household.id)
    assert set(refused.value.errors) == {"notes"}
    assert "CCCD" in refused.value.errors["notes"] or "OTP" in refused.value.errors["notes"]
    with pytest.raises(Invalid) as refused:
        VisitIn.parse(
            visit_payload(lines=[line(world.head, dossier_no="038090012345")]),
            household_id=world.household.id,
        )
    assert "lines-0-dossier_no" in refused.value.errors


@pytest.mark.parametrize(
    "text",
    [
        "Quên mật khẩu, đã đặt lại",
        "đã nhận mã OTP thành công",
        "CCCD số cuối 2345",
        "gọi 0912345678 hoặc 0987654321",
        "hồ sơ 000.00.30.H56-240315-0012",
    ],
)
def test_ordinary_notes_pass_the_guard(text, world):
    assert VisitIn.parse(visit_payload(notes=text), household_id=world.household.id).notes


def test_a_citizen_id_in_the_phone_field_says_so(world):
    with pytest.raises(Invalid) as refused:
        ResidentIn.parse(
            {"uuid": new_uuid(), "name": "Ai Đó", "phone": "038090012345"}, today=TODAY
        )
    assert "CCCD" in refused.value.errors["phone"]


def _with_history(session, world):
    world.head.phone = "0912345678"
    session.add(world.head)
    record_visit(
        session,
        world,
        notes="Ông An cần kích hoạt lại, gọi 0912345678",
        lines=[
            line(world.head, "online_procedure", dossier_no="H56.12-250101-0001"),
            line(world.spouse, "vneid_level1"),
        ],
    )
    session.commit()


def test_export_holds_the_household_and_is_audited(session, world):
    _with_history(session, world)
    data = privacy.export_household(session, world.household.id, member=world.staff, now=NOW)
    session.commit()
    assert data["household"]["head_name"] == "Nguyễn Văn An"
    assert [r["name"] for r in data["residents"]] == ["Nguyễn Văn An", "Hoàng Thị Lan"]
    assert data["visits"][0]["notes"].startswith("Ông An")
    assert data["visits"][0]["lines"][0]["dossier_no"] == "H56.12-250101-0001"
    assert set(data["consent"]) == {"version", "purposes", "method", "at"}
    (event,) = audit.events(session, commune_id=world.commune.id, action="export")
    assert (event.actor_id, event.target_id) == (world.staff.id, world.household.id)
    assert event.details == {"residents": 2, "visits": 1}
    for member in (world.volunteer, world.leader):
        with pytest.raises(Forbidden):
            privacy.export_household(session, world.household.id, member=member, now=NOW)


def test_erasing_removes_personal_data_and_keeps_the_counts(session, world):
    _with_history(session, world)
    counts = {table: count(session, table) for table in (Household, Resident, Visit, Assistance)}
    privacy.erase_household(session, world.household.id, member=world.staff, now=NOW)
    session.commit()
    session.expire_all()
    assert {table: count(session, table) for table in counts} == counts
    household = session.get(Household, world.household.id)
    assert household.erased_at is not None and household.head_name == privacy.ERASED_NAME
    assert "nguyen" not in household.search_text and household.visit_count == 1
    residents = session.exec(
        select(Resident).where(Resident.household_id == household.id).order_by(Resident.id)
    ).all()
    assert [(r.name, r.birth_year, r.phone) for r in residents] == [
        ("Người 1", None, None),
        ("Người 2", None, None),
    ]
    visit = session.exec(select(Visit).where(Visit.household_id == household.id)).one()
    assert visit.notes == ""
    lines = session.exec(select(Assistance).where(Assistance.visit_id == visit.id)).all()
    assert sorted((a.service_code, a.result.value, a.dossier_no) for a in lines) == [
        ("online_procedure", "done", None),
        ("vneid_level1", "done", None),
    ]
    (event,) = audit.events(session, commune_id=world.commune.id, action="erase")
    assert event.details == {"reason": "request", "residents": 2, "visits": 1}
    # Nothing of what was erased is kept in the audit log either.
    assert "Nguyễn" not in str([e.details for e in session.exec(select(AuditEvent)).all()])
    # Erasing again changes nothing and records nothing.
    privacy.erase_household(session, world.household.id, member=world.staff, now=NOW)
    assert len(audit.events(session, commune_id=world.commune.id, action="erase")) == 1


def test_an_erased_household_takes_no_new_field_records(session, world):
    privacy.erase_household(session, world.household.id, member=world.staff, now=NOW)
    session.commit()
    with pytest.raises(Invalid) as refused:
        record_visit(session, world)
    assert "đã được xóa" in refused.value.errors["form"]
    with pytest.raises(Invalid):
        add_resident(
            session,
            world.household.id,
            ResidentIn.parse({"uuid": new_uuid(), "name": "Người Mới"}, today=TODAY),
            member=world.volunteer,
            now=NOW,
        )
    with pytest.raises(Invalid):
        privacy.record_consent(
            session,
            world.household.id,
            privacy.ConsentIn.parse(consent_data(), today=TODAY),
            member=world.volunteer,
            now=NOW,
        )


def test_only_commune_staff_erase_and_only_within_their_commune(session, world):
    for member in (world.volunteer, world.leader):
        with pytest.raises(Forbidden):
            privacy.erase_household(session, world.household.id, member=member, now=NOW)
    assert session.get(Household, world.household.id).erased_at is None


def test_retention_erases_only_households_idle_past_it(session, world):
    world.commune.retention_months = 12
    world.household.created_at = NOW - timedelta(days=800)
    world.neighbour.created_at = NOW - timedelta(days=800)
    session.add_all([world.commune, world.household, world.neighbour])
    session.commit()
    # The neighbour was visited recently: it stays. Nobody has touched the household since.
    for resident in session.exec(select(Resident)).all():
        resident.created_at = NOW - timedelta(days=800)
        session.add(resident)
    record_visit(session, world, household=world.neighbour)
    session.commit()
    assert privacy.apply_retention(session, now=NOW, dry_run=True) == [world.household.id]
    assert session.get(Household, world.household.id).erased_at is None
    assert privacy.apply_retention(session, now=NOW) == [world.household.id]
    session.commit()
    assert session.get(Household, world.household.id).erased_at is not None
    assert session.get(Household, world.neighbour.id).erased_at is None
    (event,) = audit.events(session, commune_id=world.commune.id, action="erase")
    assert event.actor_id is None and event.details["reason"] == "retention"
    assert privacy.apply_retention(session, now=NOW) == []


def test_months_before_handles_short_months():
    assert privacy.months_before(NOW.replace(month=3, day=31), 1).day == 28
    assert privacy.months_before(NOW, 24).year == NOW.year - 2


def test_the_retention_command_erases_and_reports(tmp_path, monkeypatch, sqlite_url):
    from fieldkit.cli import main
    from fieldkit.db import make_engine, new_session
    from tests.factories import build_world

    monkeypatch.setenv("FIELDKIT_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("FIELDKIT_INSTANCE", str(tmp_path))
    engine = make_engine(sqlite_url)
    with new_session(engine) as session:
        world = build_world(session, now=NOW)
        world.commune.retention_months = 12
        for household in (world.household, world.neighbour, world.far_household):
            household.created_at = NOW - timedelta(days=800)
        for resident in session.exec(select(Resident)).all():
            resident.created_at = NOW - timedelta(days=800)
        session.commit()
    result = CliRunner().invoke(main, ["retention", "--dry-run"])
    assert result.exit_code == 0 and "Sẽ xóa dữ liệu cá nhân của 3 hộ" in result.output
    result = CliRunner().invoke(main, ["retention"])
    assert result.exit_code == 0 and "Đã xóa dữ liệu cá nhân của 3 hộ" in result.output
    with new_session(engine) as session:
        assert all(h.erased_at for h in session.exec(select(Household)).all())
        assert count(session, AuditEvent) == 3
    engine.dispose()
