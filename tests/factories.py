"""A small hand-made commune for tests: two villages, a few members, households and residents.
Every count is known by hand."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from fieldkit import catalogue, households
from fieldkit.models import Commune, Household, Member, Resident, Role, Sex, Village


@dataclass
class World:
    commune: Commune
    village: Village  # Thôn Đông
    other_village: Village  # Thôn Tây
    volunteer: Member  # Thôn Đông
    other_volunteer: Member  # Thôn Tây
    leader: Member  # Thôn Đông
    staff: Member
    household: Household  # Thôn Đông, assigned to volunteer: Nguyễn Văn An
    neighbour: Household  # Thôn Đông, unassigned: Trần Thị Bình
    far_household: Household  # Thôn Tây: Lê Văn Cường
    head: Resident  # of household
    spouse: Resident  # of household
    far_resident: Resident  # of far_household


def new_uuid() -> str:
    return str(uuid.uuid4())


def add_household(
    session: Session,
    village: Village,
    label: str,
    head_name: str,
    *,
    assigned: Member | None = None,
    residents=(),
) -> Household:
    household = Household(
        uuid=new_uuid(),
        village_id=village.id,
        label=label,
        head_name=head_name,
        assigned_volunteer_id=assigned.id if assigned else None,
    )
    session.add(household)
    session.flush()
    for name, year, sex, relation in residents:
        session.add(
            Resident(
                uuid=new_uuid(),
                household_id=household.id,
                name=name,
                birth_year=year,
                sex=sex,
                relation=relation,
            )
        )
    session.flush()
    households.refresh_summary(session, household)
    return household


def build_world(session: Session, *, now: datetime) -> World:
    commune = Commune(
        code="15349", name="Xã Vĩnh Lộc", province_code="38", province_name="Tỉnh Thanh Hóa"
    )
    session.add(commune)
    session.flush()
    catalogue.install_starting_set(session)
    east = Village(commune_id=commune.id, name="Thôn Đông")
    west = Village(commune_id=commune.id, name="Thôn Tây")
    session.add_all([east, west])
    session.flush()
    volunteer = Member(
        commune_id=commune.id,
        village_id=east.id,
        name="Phạm Thu Hà",
        phone="0912000001",
        role=Role.volunteer,
    )
    other = Member(
        commune_id=commune.id,
        village_id=west.id,
        name="Đỗ Minh Tuấn",
        phone="0912000002",
        role=Role.volunteer,
    )
    leader = Member(
        commune_id=commune.id,
        village_id=east.id,
        name="Bùi Văn Lực",
        phone="0912000003",
        role=Role.leader,
    )
    staff = Member(commune_id=commune.id, name="Lê Văn Chung", phone="0912000004", role=Role.staff)
    session.add_all([volunteer, other, leader, staff])
    session.flush()
    household = add_household(
        session,
        east,
        "12",
        "Nguyễn Văn An",
        assigned=volunteer,
        residents=[
            ("Nguyễn Văn An", 1968, Sex.male, "Chủ hộ"),
            ("Hoàng Thị Lan", 1972, Sex.female, "Vợ"),
        ],
    )
    neighbour = add_household(
        session,
        east,
        "14",
        "Trần Thị Bình",
        residents=[("Trần Thị Bình", 1955, Sex.female, "Chủ hộ")],
    )
    far = add_household(
        session,
        west,
        "3",
        "Lê Văn Cường",
        assigned=other,
        residents=[("Lê Văn Cường", 1980, Sex.male, "Chủ hộ")],
    )
    head, spouse = households.residents_of(session, household)
    (far_resident,) = households.residents_of(session, far)
    return World(
        commune=commune,
        village=east,
        other_village=west,
        volunteer=volunteer,
        other_volunteer=other,
        leader=leader,
        staff=staff,
        household=household,
        neighbour=neighbour,
        far_household=far,
        head=head,
        spouse=spouse,
        far_resident=far_resident,
    )


# --- A province of two communes, and a commune of another province (issue 14) ---------------


@dataclass
class Province:
    """The world's commune (Xã Vĩnh Lộc) and a second commune of the same province (Thanh
    Hóa), each with staff, a volunteer and a household; a commune of another province (Hà
    Nội); province staff of Thanh Hóa and a province admin of Hà Nội."""

    world: World
    neighbour: Commune  # Phường Hàm Rồng, Thanh Hóa
    neighbour_village: Village
    neighbour_staff: Member
    neighbour_volunteer: Member
    neighbour_household: Household  # Phạm Văn Bắc
    neighbour_resident: Resident
    far: Commune  # Phường Cửa Nam, Hà Nội
    far_village: Village
    far_staff: Member
    far_household: Household  # Đinh Thị Nam
    admin: Member  # province admin, Thanh Hóa
    staff: Member  # province staff, Thanh Hóa
    far_admin: Member  # province admin, Hà Nội


def _commune_with_a_household(session, code, name, province_code, province_name, who):
    commune = Commune(
        code=code, name=name, province_code=province_code, province_name=province_name
    )
    session.add(commune)
    session.flush()
    village = Village(commune_id=commune.id, name="Thôn Bắc")
    session.add(village)
    session.flush()
    staff = Member(commune_id=commune.id, name=who[0], phone=who[1], role=Role.staff)
    volunteer = Member(
        commune_id=commune.id, village_id=village.id, name=who[2], phone=who[3], role=Role.volunteer
    )
    session.add_all([staff, volunteer])
    session.flush()
    household = add_household(
        session,
        village,
        "7",
        who[4],
        assigned=volunteer,
        residents=[(who[4], 1975, Sex.male, "Chủ hộ")],
    )
    (resident,) = households.residents_of(session, household)
    return commune, village, staff, volunteer, household, resident


def build_province(session: Session, world: World) -> Province:
    near = _commune_with_a_household(
        session,
        "14758",
        "Phường Hàm Rồng",
        "38",
        "Tỉnh Thanh Hóa",
        ("Vũ Thị Hằng", "0912100001", "Ngô Văn Toàn", "0912100002", "Phạm Văn Bắc"),
    )
    far = _commune_with_a_household(
        session,
        "00082",
        "Phường Cửa Nam",
        "01",
        "Thành phố Hà Nội",
        ("Trần Quốc Hùng", "0912200001", "Lý Thị Mai", "0912200002", "Đinh Thị Nam"),
    )
    admin = Member(
        province_code="38", name="Lê Thị Hồng Nhung", phone="0912300001", role=Role.province_admin
    )
    staff = Member(
        province_code="38", name="Hoàng Minh Đức", phone="0912300002", role=Role.province
    )
    far_admin = Member(
        province_code="01", name="Nguyễn Hà Linh", phone="0912300003", role=Role.province_admin
    )
    session.add_all([admin, staff, far_admin])
    session.flush()
    return Province(
        world=world,
        neighbour=near[0],
        neighbour_village=near[1],
        neighbour_staff=near[2],
        neighbour_volunteer=near[3],
        neighbour_household=near[4],
        neighbour_resident=near[5],
        far=far[0],
        far_village=far[1],
        far_staff=far[2],
        far_household=far[4],
        admin=admin,
        staff=staff,
        far_admin=far_admin,
    )
