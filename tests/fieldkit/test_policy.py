"""Who may see and do what (DESIGN.md §5)."""

import pytest

from fieldkit import policy
from fieldkit.errors import Forbidden, NotFound
from fieldkit.models import Commune, Member, Role


def test_volunteer_and_leader_see_their_village(world):
    for member in (world.volunteer, world.leader):
        assert policy.scope_for(member) == policy.Scope(
            commune_id=world.commune.id, village_id=world.village.id
        )
    assert policy.scope_for(world.other_volunteer).village_id == world.other_village.id


@pytest.mark.parametrize("role", [Role.staff, Role.admin])
def test_staff_and_admin_see_the_whole_commune(world, role):
    member = Member(commune_id=world.commune.id, name="Lê Văn Chung", role=role)
    assert policy.scope_for(member) == policy.Scope(commune_id=world.commune.id, village_id=None)
    assert policy.is_commune_wide(member)


@pytest.mark.parametrize("role", [Role.volunteer, Role.leader])
def test_member_without_a_village_sees_nothing(world, role):
    member = Member(commune_id=world.commune.id, name="Mai", role=role)
    with pytest.raises(Forbidden, match="chưa được phân công vào thôn nào"):
        policy.scope_for(member)


def test_locked_member_sees_nothing(world):
    world.staff.active = False
    with pytest.raises(Forbidden, match="đã bị khóa"):
        policy.scope_for(world.staff)


def test_household_of_my_village_is_mine(session, world):
    household = policy.require_household(session, world.volunteer, world.neighbour.id)
    assert household.id == world.neighbour.id


def test_household_of_another_village_is_forbidden(session, world):
    with pytest.raises(Forbidden, match="không thuộc phạm vi"):
        policy.require_household(session, world.volunteer, world.far_household.id)
    with pytest.raises(Forbidden):
        policy.require_household(session, world.leader, world.far_household.id)


def test_staff_reach_every_household_of_the_commune(session, world):
    for household in (world.household, world.far_household):
        assert policy.require_household(session, world.staff, household.id).id == household.id


def test_unknown_household_is_not_found(session, world):
    with pytest.raises(NotFound, match="Không tìm thấy hộ"):
        policy.require_household(session, world.staff, 9999)


def test_staff_of_another_commune_reach_nothing_here_and_learn_nothing(session, world):
    """Another commune's household or village answers exactly as one that does not exist:
    the refusal tells an outsider nothing about which ids are in use (issue 10)."""
    commune = Commune(
        code="00082", name="Phường Cửa Nam", province_code="01", province_name="Thành phố Hà Nội"
    )
    session.add(commune)
    session.flush()
    outsider = Member(commune_id=commune.id, name="Trịnh Văn Nam", role=Role.staff)
    session.add(outsider)
    session.flush()
    with pytest.raises(NotFound) as theirs:
        policy.require_household(session, outsider, world.household.id)
    with pytest.raises(NotFound) as nobodys:
        policy.require_household(session, outsider, 999_999)
    assert str(theirs.value) == str(nobodys.value)
    with pytest.raises(NotFound, match="Không tìm thấy thôn"):
        policy.require_village(session, outsider, world.village.id)


def test_village_scope(session, world):
    assert policy.require_village(session, world.volunteer, world.village.id).id == world.village.id
    with pytest.raises(Forbidden, match="Thôn này không thuộc phạm vi"):
        policy.require_village(session, world.volunteer, world.other_village.id)
    with pytest.raises(NotFound, match="Không tìm thấy thôn"):
        policy.require_village(session, world.staff, 9999)


@pytest.mark.parametrize(
    ("role", "may_record"),
    [(Role.volunteer, True), (Role.leader, True), (Role.staff, False), (Role.admin, False)],
)
def test_only_people_in_the_field_record(world, role, may_record):
    member = Member(commune_id=world.commune.id, village_id=world.village.id, name="Mai", role=role)
    if may_record:
        policy.require_can_record(member)
    else:
        with pytest.raises(Forbidden, match="ghi nhận hỗ trợ tại hộ"):
            policy.require_can_record(member)


# The named rules that replaced role comparisons in routes, templates and domain modules
# (issue 12): one table, so a new role has to be given a line here.
RULES = {
    # rule: roles for which it holds
    "is_field_member": {Role.volunteer, Role.leader},
    "can_record": {Role.volunteer, Role.leader},
    "leads_team": {Role.leader},
    "fixes_village_returns": {Role.leader},
    "can_narrow_to_own_households": {Role.volunteer},
    "can_see_each_volunteer": {Role.leader, Role.staff, Role.admin},
    "can_export": {Role.leader, Role.staff, Role.admin},
    "can_assign": {Role.leader, Role.staff, Role.admin},
    "can_print_stickers": {Role.leader, Role.staff, Role.admin},
    "can_manage_members": {Role.leader, Role.staff, Role.admin},
    "is_commune_wide": {Role.staff, Role.admin},
    "can_review": {Role.staff, Role.admin},
    "can_set_targets": {Role.staff, Role.admin},
}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_each_named_rule_holds_for_its_roles_only(rule):
    held = {
        role for role in Role if getattr(policy, rule)(Member(commune_id=1, name="A", role=role))
    }
    assert held == RULES[rule]


def test_field_members_as_sql_picks_volunteers_and_leaders(session, world):
    from sqlmodel import select

    names = set(session.exec(select(Member.name).where(policy.field_members())).all())
    assert names == {world.volunteer.name, world.other_volunteer.name, world.leader.name}


def test_only_the_maker_or_a_leader_fixes_a_returned_record(world):
    assert policy.can_fix_returned(world.volunteer, world.volunteer.id)
    assert not policy.can_fix_returned(world.volunteer, world.other_volunteer.id)
    assert policy.can_fix_returned(world.leader, world.volunteer.id)
    assert not policy.can_fix_returned(world.staff, world.staff.id)


def test_invitable_roles_in_role_order():
    staff = Member(commune_id=1, name="A", role=Role.staff)
    assert policy.invitable_roles(staff) == [Role.volunteer, Role.leader, Role.staff]
    assert policy.invitable_roles(Member(commune_id=1, name="B", role=Role.leader)) == [
        Role.volunteer
    ]
    assert policy.invitable_roles(Member(commune_id=1, name="C", role=Role.volunteer)) == []
    assert policy.needs_village(Role.leader) and not policy.needs_village(Role.staff)
