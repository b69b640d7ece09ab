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
from fieldkit.models import Household, Member, Role, Village

COMMUNE_WIDE = {Role.staff, Role.admin}


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
        raise Forbidden("Tài khoản này đã bị khóa.")
    if member.role in COMMUNE_WIDE:
        return Scope(commune_id=member.commune_id, village_id=None)
    if member.village_id is None:
        # A volunteer or leader without a village sees nothing rather than everything.
        raise Forbidden("Bạn chưa được phân công vào thôn nào. Hãy liên hệ tổ trưởng.")
    return Scope(commune_id=member.commune_id, village_id=member.village_id)


def is_commune_wide(member: Member) -> bool:
    return member.role in COMMUNE_WIDE


def require_village(session: Session, member: Member, village_id: int) -> Village:
    village = session.get(Village, village_id)
    if village is None:
        raise NotFound("Không tìm thấy thôn này.")
    if not scope_for(member).covers_village(village):
        raise Forbidden("Thôn này không thuộc phạm vi của bạn.")
    return village


def require_household(session: Session, member: Member, household_id: int) -> Household:
    """The household, if the member may see it. NotFound / Forbidden otherwise."""
    household = session.get(Household, household_id)
    if household is None:
        raise NotFound("Không tìm thấy hộ này.")
    village = session.get(Village, household.village_id)
    if village is None or not scope_for(member).covers_village(village):
        raise Forbidden("Hộ này không thuộc phạm vi của bạn.")
    return household


def require_can_record(member: Member) -> None:
    """Field records (visits, residents, households) come from people who go door to door.
    Commune staff review them instead of writing them."""
    if member.role not in (Role.volunteer, Role.leader):
        raise Forbidden("Chỉ thành viên Tổ CNSCĐ và tổ trưởng ghi nhận hỗ trợ tại hộ.")
