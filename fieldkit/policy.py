"""Who may see and do what (DESIGN.md §5). Every route, fragment and (later) sync item and
export asks here; nothing else decides scope.

- volunteer: their village;
- leader: their village, plus assigning and inviting there;
- commune staff and admin: the whole commune.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from fieldkit.errors import Forbidden, NotFound
from fieldkit.i18n import _
from fieldkit.models import Household, Member, Role, Village

COMMUNE_WIDE = {Role.staff, Role.admin}
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
    if member.role in COMMUNE_WIDE:
        return Scope(commune_id=member.commune_id, village_id=None)
    if member.village_id is None:
        # A volunteer or leader without a village sees nothing rather than everything.
        raise Forbidden(_("Bạn chưa được phân công vào thôn nào. Hãy liên hệ tổ trưởng."))
    return Scope(commune_id=member.commune_id, village_id=member.village_id)


def is_commune_wide(member: Member) -> bool:
    return member.role in COMMUNE_WIDE


def require_village(session: Session, member: Member, village_id: int) -> Village:
    village = session.get(Village, village_id)
    if village is None:
        raise NotFound(_("Không tìm thấy thôn này."))
    if not scope_for(member).covers_village(village):
        raise Forbidden(_("Thôn này không thuộc phạm vi của bạn."))
    return village


def require_household(session: Session, member: Member, household_id: int) -> Household:
    """The household, if the member may see it. NotFound / Forbidden otherwise. A household
    merged into another answers as the one it went into (issue 15): a phone that still holds
    the old one sees, and records on, the survivor."""
    household = session.get(Household, household_id)
    if household is None:
        raise NotFound(_("Không tìm thấy hộ này."))
    for _unused in range(MAX_MERGE_HOPS):
        if household.merged_into_id is None:
            break
        household = session.get(Household, household.merged_into_id)
    village = session.get(Village, household.village_id)
    if village is None or not scope_for(member).covers_village(village):
        raise Forbidden(_("Hộ này không thuộc phạm vi của bạn."))
    return household


def require_can_record(member: Member) -> None:
    """Field records (visits, residents, households) come from people who go door to door.
    Commune staff review them instead of writing them."""
    if member.role not in (Role.volunteer, Role.leader):
        raise Forbidden(_("Chỉ thành viên Tổ CNSCĐ và tổ trưởng ghi nhận hỗ trợ tại hộ."))


# --- Members: invites, codes, removal, roles and villages --------------------------------

# Who a member of each role may invite (or issue a one-time code for). Admins are made at the
# console (`fieldkit member add`), never from the app.
INVITABLE = {
    Role.leader: {Role.volunteer},
    Role.staff: {Role.volunteer, Role.leader, Role.staff},
    Role.admin: {Role.volunteer, Role.leader, Role.staff},
}


def can_manage_members(actor: Member) -> bool:
    """Whether the members page is for this person at all."""
    return actor.active and actor.role in INVITABLE


def can_invite(actor: Member, target_role: Role, target_village_id: int | None) -> bool:
    """A leader invites volunteers of their own village; commune staff invite volunteers,
    leaders and staff of the commune (the village is checked against the commune by the caller
    that loads it)."""
    if not actor.active or target_role not in INVITABLE.get(actor.role, set()):
        return False
    if actor.role == Role.leader:
        return actor.village_id is not None and target_village_id == actor.village_id
    return True


def can_manage_member(actor: Member, member: Member) -> bool:
    """Invite again, issue a code for, or remove `member`: a leader for the volunteers of
    their village, commune staff for everyone in the commune but admins. Nobody removes
    themselves here."""
    if not actor.active or actor.commune_id != member.commune_id or actor.id == member.id:
        return False
    if member.role == Role.admin:
        return False
    return can_invite(actor, member.role, member.village_id)


def can_change_role(actor: Member, member: Member, new_role: Role) -> bool:
    """Roles and villages are the commune's decision: staff (and admins) only."""
    return (
        actor.role in COMMUNE_WIDE
        and can_manage_member(actor, member)
        and new_role in INVITABLE[actor.role]
    )


def can_manage_villages(actor: Member) -> bool:
    return actor.active and actor.role in COMMUNE_WIDE


def require_can_invite(actor: Member, target_role: Role, target_village_id: int | None) -> None:
    if not can_invite(actor, target_role, target_village_id):
        if actor.role == Role.leader:
            raise Forbidden(_("Tổ trưởng chỉ mời được thành viên Tổ CNSCĐ của thôn mình."))
        raise Forbidden(_("Bạn không có quyền mời người với vai trò này."))


def require_can_manage_member(actor: Member, member: Member) -> None:
    if not can_manage_member(actor, member):
        if actor.id == member.id:
            raise Forbidden(_("Bạn không thể tự thay đổi tài khoản của mình ở đây."))
        if actor.role == Role.leader:
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


def require_can_export(member: Member) -> Scope:
    """Leaders export their village, commune staff the commune; volunteers nothing. Returns
    the scope the files cover."""
    scope = scope_for(member)
    if member.role not in (Role.leader, Role.staff, Role.admin):
        raise Forbidden(_("Chỉ tổ trưởng và công chức xã được tải số liệu về."))
    return scope


def can_assign(actor: Member) -> bool:
    """Whether the assignments page (phân công hộ) is for this person at all: leaders for
    their village, commune staff and the admin for the commune."""
    return actor.active and actor.role in (Role.leader, Role.staff, Role.admin)


def require_can_assign(actor: Member) -> Scope:
    """The actor's scope, if they may assign households. Forbidden otherwise."""
    if not can_assign(actor):
        raise Forbidden(_("Chỉ tổ trưởng và công chức xã được phân công hộ."))
    return scope_for(actor)


def can_set_targets(actor: Member) -> bool:
    """Targets (chỉ tiêu) are the commune's decision: commune staff and the admin."""
    return actor.active and actor.role in COMMUNE_WIDE


def require_can_set_targets(actor: Member) -> None:
    if not can_set_targets(actor):
        raise Forbidden(_("Chỉ công chức xã được đặt chỉ tiêu."))


# --- Door stickers and guide cards (issue 6) ---------------------------------------------


def can_print_stickers(actor: Member) -> bool:
    """Door stickers are printed by leaders for their village and by commune staff."""
    return actor.active and actor.role in (Role.leader, Role.staff, Role.admin)


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
    return actor.active and actor.role in COMMUNE_WIDE


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
    return actor.role in COMMUNE_WIDE and can_manage_member(actor, member)


def require_can_end_sessions_of(actor: Member, member: Member) -> None:
    if not can_end_sessions_of(actor, member):
        raise Forbidden(_("Chỉ công chức xã được đăng xuất thiết bị của thành viên khác."))


# --- Imports and merges (issue 15) ---------------------------------------------------------


def can_import(actor: Member) -> bool:
    """Bringing lists in from Excel: commune staff for the commune, leaders for their own
    village (DESIGN.md §7)."""
    return actor.active and actor.role in (Role.leader, Role.staff, Role.admin)


def require_can_import(actor: Member) -> Scope:
    """The part of the commune the actor may import into. Forbidden otherwise."""
    if not can_import(actor):
        raise Forbidden(
            _("Chỉ tổ trưởng (cho thôn của mình) và công chức xã được đưa dữ liệu vào.")
        )
    return scope_for(actor)


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
