"""Who may see and do what (DESIGN.md §5). Every route, fragment, sync item, export and
template asks a named rule here; nothing else compares roles (tests/test_boundaries.py fails
when something does), so a new role is taught in this one module.

- volunteer: their village;
- leader: their village, plus assigning and inviting there;
- commune staff and admin: the whole commune;
- province staff (Cán bộ tỉnh) and the province admin: every commune of their province, as
  numbers only and read-only (see "The province" below for where the line is and why).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import Session, col

from fieldkit.errors import Forbidden, NotFound
from fieldkit.i18n import _
from fieldkit.models import Commune, Household, Member, Role, Village

# People who go door to door (thành viên Tổ CNSCĐ and tổ trưởng): they belong to a village,
# write field records, are given households, and have records sent back to them.
FIELD = frozenset({Role.volunteer, Role.leader})
COMMUNE_WIDE = frozenset({Role.staff, Role.admin})
# Above the communes: they belong to a province (Member.province_code), not to a commune.
PROVINCE_WIDE = frozenset({Role.province, Role.province_admin})
# A merged household may be merged again; following more links than this means a loop.
MAX_MERGE_HOPS = 20


@dataclass(frozen=True)
class Scope:
    """The part of the commune a member may see. `village_id` None means the whole commune."""

    commune_id: int
    village_id: int | None

    def covers_village(self, village: Village) -> bool:
        if village.commune_id != self.commune_id:
            return False
        return self.village_id is None or village.id == self.village_id


def scope_for(member: Member) -> Scope:
    if not member.active:
        raise Forbidden(_("Tài khoản này đã bị khóa."))
    if is_province_wide(member):
        # No commune scope at all: every page of a commune's records refuses province staff.
        raise Forbidden(
            _(
                "Cán bộ tỉnh xem số liệu tổng hợp của các xã ở trang Toàn tỉnh; "
                "hồ sơ từng hộ do xã quản lý."
            )
        )
    # Only province staff have no commune (ck_member_commune_or_province), refused above.
    assert member.commune_id is not None
    if member.role in COMMUNE_WIDE:
        return Scope(commune_id=member.commune_id, village_id=None)
    if member.village_id is None:
        # A volunteer or leader without a village sees nothing rather than everything.
        raise Forbidden(_("Bạn chưa được phân công vào thôn nào. Hãy liên hệ tổ trưởng."))
    return Scope(commune_id=member.commune_id, village_id=member.village_id)


def is_commune_wide(member: Member) -> bool:
    return member.role in COMMUNE_WIDE


def is_commune_member(member: Member) -> bool:
    """Belongs to a commune (every role but the province's): the commune's pages are for
    them."""
    return not is_province_wide(member)


def require_commune_member(member: Member) -> int:
    """The member's commune, for pages every member of a commune reads (guide cards); province
    staff have none. Forbidden otherwise."""
    if member.commune_id is None or not is_commune_member(member):
        raise Forbidden(_("Mục này dành cho thành viên của xã."))
    return member.commune_id


def is_field_member(member: Member) -> bool:
    """A volunteer or a leader: goes door to door in their village."""
    return member.role in FIELD


def field_members() -> sa.ColumnElement[bool]:
    """is_field_member as an SQL condition on Member, for lists of people who can be given
    households or who made field records."""
    return col(Member.role).in_(sorted(FIELD))


def needs_village(role: Role) -> bool:
    """Volunteers and leaders belong to a village; commune staff and the admin to none."""
    return role in FIELD


def belongs_to_province(role: Role) -> bool:
    """A person given this role belongs to a province (Member.province_code), not a commune."""
    return role in PROVINCE_WIDE


def leads_team(member: Member) -> bool:
    """A village's team leader (tổ trưởng)."""
    return member.role is Role.leader


def can_see_each_volunteer(member: Member) -> bool:
    """Leaders and commune staff see each volunteer's numbers and drill into them; a
    volunteer sees only their own row."""
    return leads_team(member) or is_commune_wide(member)


def can_narrow_to_own_households(member: Member) -> bool:
    """A volunteer can keep only the households assigned to them ("Của tôi"); a leader's and
    commune staff's lists are the village's or the commune's."""
    return member.role is Role.volunteer


def can_fix_returned(member: Member, maker_id: int | None) -> bool:
    """Who fixes a record sent back (trả lại): the volunteer who made it, or any leader of its
    village (the village is checked by the caller's scope)."""
    return is_field_member(member) and (leads_team(member) or maker_id == member.id)


def fixes_village_returns(member: Member) -> bool:
    """Whether the member's "Bị trả lại" list holds every returned record of their village
    (a leader) rather than only their own (a volunteer)."""
    return leads_team(member)


def require_village(session: Session, member: Member, village_id: int) -> Village:
    """The village, if the member may see it. Another commune's village answers as one that
    does not exist: its id says nothing to someone outside it (issue 10); another village of
    one's own commune is Forbidden, which helps a leader who followed an old link."""
    village = session.get(Village, village_id)
    scope = scope_for(member)
    if village is None or village.commune_id != scope.commune_id:
        raise NotFound(_("Không tìm thấy thôn này."))
    if not scope.covers_village(village):
        raise Forbidden(_("Thôn này không thuộc phạm vi của bạn."))
    return village


def require_household(session: Session, member: Member, household_id: int) -> Household:
    """The household, if the member may see it. NotFound for one that does not exist or
    belongs to another commune (its id says nothing outside it, issue 10); Forbidden for one
    of another village of the member's commune. A household merged into another answers as
    the one it went into (issue 15): a phone that still holds the old one sees, and records
    on, the survivor."""
    household = session.get(Household, household_id)
    scope = scope_for(member)
    if household is None:
        raise NotFound(_("Không tìm thấy hộ này."))
    for _unused in range(MAX_MERGE_HOPS):
        if household.merged_into_id is None:
            break
        household = session.get(Household, household.merged_into_id)
        assert household is not None  # merged_into_id is a foreign key
    village = session.get(Village, household.village_id)
    if village is None or village.commune_id != scope.commune_id:
        raise NotFound(_("Không tìm thấy hộ này."))
    if not scope.covers_village(village):
        raise Forbidden(_("Hộ này không thuộc phạm vi của bạn."))
    return household


def can_record(member: Member) -> bool:
    """Field records (visits, residents, households) come from people who go door to door.
    Commune staff review them instead of writing them."""
    return is_field_member(member)


def require_can_record(member: Member) -> None:
    if not can_record(member):
        raise Forbidden(_("Chỉ thành viên Tổ CNSCĐ và tổ trưởng ghi nhận hỗ trợ tại hộ."))


# --- Members: invites, codes, removal, roles and villages --------------------------------

# Who a member of each role may invite (or issue a one-time code for). Admins are made at the
# console (`fieldkit member add`), never from the app.
INVITABLE = {
    Role.leader: {Role.volunteer},
    Role.staff: {Role.volunteer, Role.leader, Role.staff},
    Role.admin: {Role.volunteer, Role.leader, Role.staff},
    # The first province admin gets her link at the console (`fieldkit invite`).
    Role.province_admin: {Role.province, Role.province_admin},
}


def invitable_roles(actor: Member) -> list[Role]:
    """The roles `actor` may give to someone they invite, in Role order."""
    allowed = INVITABLE.get(actor.role, set()) if actor.active else set()
    return [role for role in Role if role in allowed]


def can_manage_members(actor: Member) -> bool:
    """Whether the commune's members page is for this person at all."""
    return actor.active and actor.role in INVITABLE and is_commune_member(actor)


def can_manage_province_members(actor: Member) -> bool:
    """Whether the province's own team page (Cán bộ tỉnh) is for this person: the province
    admin's."""
    return actor.active and is_province_wide(actor) and actor.role in INVITABLE


def can_invite(actor: Member, target_role: Role, target_village_id: int | None) -> bool:
    """A leader invites volunteers of their own village; commune staff invite volunteers,
    leaders and staff of the commune (the village is checked against the commune by the caller
    that loads it)."""
    if not actor.active or target_role not in INVITABLE.get(actor.role, set()):
        return False
    if leads_team(actor):
        return actor.village_id is not None and target_village_id == actor.village_id
    if is_province_wide(actor):
        return target_village_id is None
    return True


def can_manage_member(actor: Member, member: Member) -> bool:
    """Invite again, issue a code for, or remove `member`: a leader for the volunteers of
    their village, commune staff for everyone in the commune but admins. Nobody removes
    themselves here."""
    if not actor.active or actor.id == member.id:
        return False
    # The same commune, or the same province for the province's own team.
    if (actor.commune_id, actor.province_code) != (member.commune_id, member.province_code):
        return False
    if member.role is Role.admin:
        return False
    return can_invite(actor, member.role, member.village_id)


def can_change_role(actor: Member, member: Member, new_role: Role) -> bool:
    """Roles and villages are the commune's decision: staff (and admins) only."""
    return (
        is_commune_wide(actor)
        and can_manage_member(actor, member)
        and new_role in INVITABLE[actor.role]
    )


def can_manage_villages(actor: Member) -> bool:
    return actor.active and is_commune_wide(actor)


def require_can_invite(actor: Member, target_role: Role, target_village_id: int | None) -> None:
    if not can_invite(actor, target_role, target_village_id):
        if leads_team(actor):
            raise Forbidden(_("Tổ trưởng chỉ mời được thành viên Tổ CNSCĐ của thôn mình."))
        raise Forbidden(_("Bạn không có quyền mời người với vai trò này."))


def require_can_manage_member(actor: Member, member: Member) -> None:
    if not can_manage_member(actor, member):
        if actor.id == member.id:
            raise Forbidden(_("Bạn không thể tự thay đổi tài khoản của mình ở đây."))
        if leads_team(actor):
            raise Forbidden(_("Tổ trưởng chỉ quản lý thành viên Tổ CNSCĐ của thôn mình."))
        raise Forbidden(_("Bạn không có quyền quản lý người này."))


def require_can_change_role(actor: Member, member: Member, new_role: Role) -> None:
    if not can_change_role(actor, member, new_role):
        raise Forbidden(_("Chỉ công chức xã được đổi vai trò hoặc thôn của thành viên."))


def require_can_manage_villages(actor: Member) -> None:
    if not can_manage_villages(actor):
        raise Forbidden(_("Chỉ công chức xã được thêm hoặc đổi tên thôn."))


def require_commune_staff(member: Member) -> None:
    """Audit log, exports, erasure and settings are for commune staff (and the admin)."""
    if not is_commune_wide(member):
        raise Forbidden(_("Chỉ công chức xã xem và làm việc này."))


def can_export(member: Member) -> bool:
    """Leaders export their village, commune staff the commune; volunteers nothing."""
    return member.active and (leads_team(member) or is_commune_wide(member))


def require_can_export(member: Member) -> Scope:
    """The scope the files cover, if the member may export. Forbidden otherwise."""
    scope = scope_for(member)
    if not can_export(member):
        raise Forbidden(_("Chỉ tổ trưởng và công chức xã được tải số liệu về."))
    return scope


def can_assign(actor: Member) -> bool:
    """Whether the assignments page (phân công hộ) is for this person at all: leaders for
    their village, commune staff and the admin for the commune."""
    return actor.active and (leads_team(actor) or is_commune_wide(actor))


def require_can_assign(actor: Member) -> Scope:
    """The actor's scope, if they may assign households. Forbidden otherwise."""
    if not can_assign(actor):
        raise Forbidden(_("Chỉ tổ trưởng và công chức xã được phân công hộ."))
    return scope_for(actor)


def can_set_targets(actor: Member) -> bool:
    """Targets (chỉ tiêu) are the commune's decision: commune staff and the admin."""
    return actor.active and is_commune_wide(actor)


def require_can_set_targets(actor: Member) -> None:
    if not can_set_targets(actor):
        raise Forbidden(_("Chỉ công chức xã được đặt chỉ tiêu."))


# --- Door stickers and guide cards (issue 6) ---------------------------------------------


def can_print_stickers(actor: Member) -> bool:
    """Door stickers are printed by leaders for their village and by commune staff."""
    return actor.active and (leads_team(actor) or is_commune_wide(actor))


def require_can_print_stickers(actor: Member) -> Scope:
    if not can_print_stickers(actor):
        raise Forbidden(_("Chỉ tổ trưởng và công chức xã được in mã dán cửa."))
    return scope_for(actor)


def require_can_edit_guides(actor: Member) -> None:
    """Guide cards are the commune's wording: commune staff and the admin edit them."""
    require_commune_staff(actor)


# --- Review (issue 6) ---------------------------------------------------------------------


def can_review(actor: Member) -> bool:
    """Reviewing field records (duyệt hồ sơ) is commune staff's work (DESIGN.md §3)."""
    return actor.active and is_commune_wide(actor)


def require_can_review(session: Session, actor: Member, household_id: int) -> Household:
    """The household a record belongs to, if `actor` may review records of it: commune staff
    and the admin of the household's commune. Forbidden / NotFound otherwise."""
    if not can_review(actor):
        raise Forbidden(_("Chỉ công chức xã được duyệt hồ sơ."))
    return require_household(session, actor, household_id)


# --- Sessions (issue 10) -------------------------------------------------------------------


def can_end_sessions_of(actor: Member, member: Member) -> bool:
    """Commune staff sign a member of their commune out of every device (a lost or shared
    phone) from the members page. Everyone does it for themselves on their account page."""
    return is_commune_wide(actor) and can_manage_member(actor, member)


def require_can_end_sessions_of(actor: Member, member: Member) -> None:
    if not can_end_sessions_of(actor, member):
        raise Forbidden(_("Chỉ công chức xã được đăng xuất thiết bị của thành viên khác."))


# --- Imports and merges (issue 15) ---------------------------------------------------------


def can_import(actor: Member) -> bool:
    """Bringing lists in from Excel: commune staff for the commune, leaders for their own
    village (DESIGN.md §7)."""
    return actor.active and (leads_team(actor) or is_commune_wide(actor))


def require_can_import(actor: Member) -> Scope:
    """The part of the commune the actor may import into. Forbidden otherwise."""
    if not can_import(actor):
        raise Forbidden(
            _("Chỉ tổ trưởng (cho thôn của mình) và công chức xã được đưa dữ liệu vào.")
        )
    return scope_for(actor)


def console_may_import(role: Role) -> bool:
    """A roster brought in at the console (the server's operator, nobody signed in) may hold
    whoever the commune's admin could invite — never another admin (`fieldkit member add`)."""
    return role in INVITABLE[Role.admin]


def is_commune_admin(member: Member) -> bool:
    """The commune's admin (quản trị xã): a roster never changes them."""
    return member.role is Role.admin


def can_create_villages_on_import(actor: Member) -> bool:
    """Villages a file names that do not exist yet: created only by those who add villages."""
    return can_manage_villages(actor)


def can_see_import(actor: Member, commune_id: int, village_id: int | None) -> bool:
    """An import batch: commune staff see every batch of the commune; a leader the batches of
    their village (those they or commune staff made for it)."""
    if not can_import(actor) or actor.commune_id != commune_id:
        return False
    return is_commune_wide(actor) or (village_id is not None and village_id == actor.village_id)


def require_can_see_import(actor: Member, commune_id: int, village_id: int | None) -> None:
    if not can_import(actor):
        raise Forbidden(_("Chỉ tổ trưởng và công chức xã được đưa dữ liệu vào."))
    if not can_see_import(actor, commune_id, village_id):
        raise NotFound(_("Không tìm thấy đợt đưa dữ liệu này."))


def can_import_member(actor: Member, role: Role, village_id: int | None) -> bool:
    """A roster row: whoever may invite that person may bring them in (a leader the
    volunteers of their village; commune staff volunteers, leaders and staff)."""
    return can_invite(actor, role, village_id)


def can_merge_households(actor: Member) -> bool:
    """Merging duplicates changes the commune's register: commune staff and the admin."""
    return actor.active and actor.role in COMMUNE_WIDE


def require_can_merge_households(
    session: Session, actor: Member, survivor_id: int, merged_id: int
) -> tuple[Household, Household]:
    """(survivor, merged): both in the actor's commune, in one village, neither merged
    already, not the same household. Forbidden / NotFound otherwise; the rest is checked by
    fieldkit.merge."""
    if not can_merge_households(actor):
        raise Forbidden(_("Chỉ công chức xã được gộp hộ trùng."))
    survivor = session.get(Household, survivor_id)
    merged = session.get(Household, merged_id)
    if survivor is None or merged is None:
        raise NotFound(_("Không tìm thấy hộ này."))
    for household in (survivor, merged):
        village = session.get(Village, household.village_id)
        if village is None or not scope_for(actor).covers_village(village):
            raise Forbidden(_("Hộ này không thuộc phạm vi của bạn."))
    return survivor, merged


# --- The province (issue 14) ----------------------------------------------------------------
# Province staff (Cán bộ tỉnh) see every commune of their province side by side, read-only,
# and only as numbers: per commune and, in a commune's overview, per village — approved with
# pending beside them, targets and progress, the review backlog, the date of the latest visit.
# Never a resident's, a household's or a team member's name, no record-level page (households,
# visits, residents, the review inbox, the audit log) and no file of visits.
#
# Why there: Law 91/2025/QH15 on personal data protection (in force 1 January 2026) and Decree
# 356/2025/NĐ-CP let personal data be processed only for the purposes the person was told of
# and only as much as those purposes need (minimisation). Households consented to be helped
# with public services by their commune's team; the province's purpose is to steer the
# campaign and report Đề án 06 indicators upward, for which counts suffice. A count over a
# village or a commune identifies nobody; a name would, and would add a recipient the
# household was not told about. The per-volunteer table (a team member's name and work) also
# stays with the commune and the village's leader.


def is_province_wide(member: Member) -> bool:
    return member.role in PROVINCE_WIDE


def require_province_reader(member: Member) -> str:
    """The province code whose communes `member` may read: province staff and the province
    admin. Forbidden otherwise."""
    if not member.active:
        raise Forbidden(_("Tài khoản này đã bị khóa."))
    if not is_province_wide(member) or not member.province_code:
        raise Forbidden(_("Trang này dành cho cán bộ tỉnh."))
    return member.province_code


def require_commune_of_province(session: Session, member: Member, commune_id: int) -> Commune:
    """A commune of the member's province, read-only. NotFound / Forbidden otherwise."""
    province_code = require_province_reader(member)
    commune = session.get(Commune, commune_id)
    if commune is None:
        raise NotFound(_("Không tìm thấy xã này."))
    if commune.province_code != province_code:
        raise Forbidden(_("Xã này không thuộc tỉnh của bạn."))
    return commune


def can_set_province_targets(member: Member) -> bool:
    """Province targets (chỉ tiêu của tỉnh) are the province's own decision, not a commune's
    record: province staff and the province admin set them."""
    return member.active and is_province_wide(member)


def require_can_set_province_targets(member: Member) -> str:
    if not can_set_province_targets(member):
        raise Forbidden(_("Chỉ cán bộ tỉnh được đặt chỉ tiêu của tỉnh."))
    return require_province_reader(member)


def require_can_manage_province_members(member: Member) -> str:
    if not can_manage_province_members(member):
        raise Forbidden(_("Chỉ quản trị tỉnh được mời cán bộ tỉnh."))
    return require_province_reader(member)
