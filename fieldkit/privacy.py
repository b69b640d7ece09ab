"""Personal data of households (Law 91/2025/QH15, Decree 356/2025/NĐ-CP; DESIGN.md §5):
consent recorded at the door, one household's data exported or erased on request, and the
commune's retention period.

Erasing keeps the anonymous counts: the household row, its residents as nameless rows, its
visits and their assistance lines (service, result, reason) stay, so the commune's numbers do
not change; names, phones, birth years, address hints, notes and dossier numbers go.

Consent is not (yet) a precondition of field writes: households already on the commune's list
and households proposed offline would have to be consented before their first resident,
which the phone cannot check offline. The household page says plainly when consent is
missing, and the form to record it sits beside the others.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from fieldkit import audit, forms, households, policy, visits
from fieldkit.errors import Forbidden, Invalid
from fieldkit.i18n import _
from fieldkit.models import (
    Assistance,
    AuditEvent,
    Commune,
    Household,
    HouseholdEdit,
    Member,
    Resident,
    Village,
    Visit,
)
from fieldkit.policy import require_can_record, require_household
from fieldkit.replays import check_replay

# The wording residents agree to; a new wording gets a new version.
CONSENT_VERSION = "2026-1"
PURPOSES = {
    "public_services": _("Hỗ trợ dịch vụ công trực tuyến"),
    "follow_up": _("Liên hệ lại để hỗ trợ tiếp"),
}
METHODS = {"verbal": _("Đồng ý bằng lời"), "written": _("Đồng ý bằng văn bản")}
ERASED_NAME = _("Hộ đã xóa dữ liệu")
ERASED_LABEL = "—"
RETENTION_CHOICES = (12, 24, 36, 60, 120)
_CHECKED = ("yes", "on", "true", "1")


def _checked(value: Any) -> bool:
    """A ticked checkbox: "yes", "on", "true", "1" (any case), or JSON true or 1."""
    return isinstance(value, str | int) and str(value).lower() in _CHECKED


# --- consent ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConsentIn:
    uuid: str
    version: str
    purposes: tuple[str, ...]
    method: str
    consented_on: date

    @classmethod
    def parse(cls, data: Mapping[str, Any], *, today: date) -> ConsentIn:
        """From the consent form: `purpose_<code>` checkboxes ("yes"), `method`,
        `consented_on` (a date, not after today), `version` (the current one if left out)."""
        c = forms.Collector()
        # Values of any JSON type may arrive: each is compared only as a string it could be.
        purposes = tuple(code for code in PURPOSES if _checked(data.get(f"purpose_{code}")))
        if not purposes:
            c.add("purposes", _("Chọn ít nhất một mục đích người dân đã đồng ý."))
        version = data.get("version") or CONSENT_VERSION
        if version != CONSENT_VERSION:
            c.add("version", _("Mẫu đồng ý đã đổi. Hãy tải lại trang rồi ghi nhận lại."))
        method = data.get("method")
        if not isinstance(method, str) or method not in METHODS:
            c.add("method", _("Chọn cách người dân đồng ý: bằng lời hay bằng văn bản."))
        consented_on = c.field(
            "consented_on",
            lambda: forms.calendar_date(data.get("consented_on"), label=_("ngày đồng ý")),
        )
        if consented_on is None and "consented_on" not in c.errors:
            c.add("consented_on", _("Vui lòng nhập ngày đồng ý."))
        elif consented_on is not None and consented_on > today:
            c.add("consented_on", _("Ngày đồng ý không thể ở tương lai."))
        uuid = c.field("uuid", lambda: forms.uuid(data.get("uuid")))
        c.raise_if_any()
        # Each of these was refused above (an error kept) when missing or not a string.
        assert uuid is not None and isinstance(method, str) and consented_on is not None
        return cls(
            version=version, purposes=purposes, method=method, consented_on=consented_on, uuid=uuid
        )

    def fingerprint(self, household_id: int) -> str:
        return households.digest(
            household_id, self.uuid, self.version, self.purposes, self.method, self.consented_on
        )


def _consent_event(session: Session, consent_uuid: str) -> AuditEvent | None:
    return session.exec(
        select(AuditEvent).where(
            AuditEvent.action == "consent",
            col(AuditEvent.details)["uuid"].as_string() == consent_uuid,
        )
    ).first()


def record_consent(
    session: Session, household_id: int, consent_in: ConsentIn, *, member: Member, now: datetime
) -> tuple[Household, bool]:
    """Record the household's consent as taken at the door. Returns (household, created).

    Safe to replay by UUID: the consent's UUID and fingerprint are kept in its audit event;
    the same content answers created False, other content raises SyncConflict — either only
    after the member is found to be allowed to see the household. A new consent (a new UUID)
    replaces the household's current one. Caller commits."""
    require_can_record(member)
    fingerprint = consent_in.fingerprint(household_id)
    stored = _consent_event(session, consent_in.uuid)
    if stored is not None:
        assert stored.target_id is not None  # a consent event always names its household
        household = check_replay(
            session,
            member,
            household_id=stored.target_id,
            same=stored.details.get("fingerprint") == fingerprint,
            conflict=_("Sự đồng ý này đã được gửi trước đó với nội dung khác."),
        )
        return household, False
    household = require_household(session, member, household_id)
    households.refuse_if_erased(household)
    household.consent_version = consent_in.version
    household.consent_purposes = ",".join(consent_in.purposes)
    household.consent_method = consent_in.method
    # The day the resident agreed, at noon Vietnam time: a date typed on the phone.
    household.consent_at = datetime.combine(
        consent_in.consented_on, datetime.min.time(), forms.VN_TZ
    ).replace(hour=12)
    session.add(household)
    audit.record(
        session,
        action="consent",
        now=now,
        actor=member,
        target_kind="household",
        target_id=household.id,
        details={
            "uuid": consent_in.uuid,
            "fingerprint": fingerprint,
            "version": consent_in.version,
            "purposes": list(consent_in.purposes),
            "method": consent_in.method,
            "consented_on": consent_in.consented_on.isoformat(),
        },
    )
    return household, True


def consent_purposes(household: Household) -> list[str]:
    """The Vietnamese names of the purposes the household agreed to."""
    codes = (household.consent_purposes or "").split(",")
    return [PURPOSES[code] for code in codes if code in PURPOSES]


# --- export and erasure ------------------------------------------------------------------------


def _staff_household(session: Session, member: Member, household_id: int) -> Household:
    policy.require_commune_staff(member)
    return require_household(session, member, household_id)


def export_household(
    session: Session, household_id: int, *, member: Member, now: datetime
) -> dict[str, Any]:
    """Everything kept about one household, as plain JSON values, for the person who asked.
    Audited ("export"). Caller commits (the audit event)."""
    household = _staff_household(session, member, household_id)
    village = session.get(Village, household.village_id)
    residents = households.residents_of(session, household)
    history = visits.visits_of(session, household)
    volunteers = dict(
        session.exec(
            select(Member.id, Member.name).where(
                col(Member.id).in_({visit.volunteer_id for visit, _unused in history} or {0})
            )
        ).all()
    )
    names = {resident.id: resident.name for resident in residents}
    data = {
        "exported_at": now.isoformat(),
        "household": {
            "id": household.id,
            "village": village.name if village else None,
            "label": household.label,
            "head_name": household.head_name,
            "address_hint": household.address_hint,
            "smartphones": household.smartphones,
            "internet_at_home": household.internet_at_home,
            "created_at": household.created_at.isoformat(),
            "erased_at": household.erased_at.isoformat() if household.erased_at else None,
        },
        "consent": {
            "version": household.consent_version,
            "purposes": consent_purposes(household),
            "method": METHODS.get(household.consent_method or ""),
            "at": household.consent_at.isoformat() if household.consent_at else None,
        },
        "residents": [
            {
                "id": r.id,
                "name": r.name,
                "birth_year": r.birth_year,
                "sex": r.sex.value if r.sex else None,
                "relation": r.relation,
                "phone": r.phone,
            }
            for r in residents
        ],
        "visits": [
            {
                "id": visit.id,
                "visited_at": visit.visited_at.isoformat(),
                "volunteer": volunteers.get(visit.volunteer_id),
                "outcome": visit.outcome.value,
                "notes": visit.notes,
                "follow_up_on": visit.follow_up_on.isoformat() if visit.follow_up_on else None,
                "review_state": visit.review_state.value,
                "lines": [
                    {
                        "resident": names.get(line.resident_id),
                        "service": line.service_code,
                        "result": line.result.value,
                        "reason": line.reason.value if line.reason else None,
                        "device": line.device.value if line.device else None,
                        "dossier_no": line.dossier_no,
                    }
                    for line in lines
                ],
            }
            for visit, lines in history
        ],
    }
    audit.record(
        session,
        action="export",
        now=now,
        actor=member,
        target_kind="household",
        target_id=household.id,
        details={"residents": len(residents), "visits": len(history)},
    )
    return data


def erase_household(
    session: Session,
    household_id: int,
    *,
    member: Member | None,
    now: datetime,
    reason: str = "request",
) -> Household:
    """Remove the household's personal data and keep its counts (module docstring). Sets
    erased_at; the household then takes no new field records. Audited ("erase"), with counts
    only: the audit log must not keep what was erased. `member` None is the retention job.
    Idempotent: erasing an erased household changes nothing and records nothing. Caller
    commits."""
    if member is None:
        household = session.get(Household, household_id)
        if household is None:
            raise Invalid({"household": _("Không tìm thấy hộ này.")})
    else:
        household = _staff_household(session, member, household_id)
    if household.erased_at is not None:
        return household
    household.label, household.head_name, household.address_hint = ERASED_LABEL, ERASED_NAME, ""
    household.consent_purposes = None
    residents = session.exec(
        select(Resident).where(Resident.household_id == household.id).order_by(col(Resident.id))
    ).all()
    for number, resident in enumerate(residents, start=1):
        resident.name = _("Người %(number)s", number=number)
        resident.birth_year = None
        resident.phone = None
        session.add(resident)
    household_visits = session.exec(select(Visit).where(Visit.household_id == household.id)).all()
    for visit in household_visits:
        visit.notes = ""
        session.add(visit)
    visit_ids = [visit.id for visit in household_visits]
    if visit_ids:
        for line in session.exec(
            select(Assistance).where(col(Assistance.visit_id).in_(visit_ids))
        ).all():
            line.dossier_no = None
            session.add(line)
    for edit in session.exec(
        select(HouseholdEdit).where(HouseholdEdit.household_id == household.id)
    ).all():
        # Which fields changed stays; what they said does not.
        edit.changes = {name: {"before": None, "after": None} for name in edit.changes}
        session.add(edit)
    household.erased_at = now
    session.add(household)
    session.flush()
    households.refresh_summary(session, household)
    village = session.get(Village, household.village_id)
    audit.record(
        session,
        action="erase",
        now=now,
        actor=member,
        commune_id=village.commune_id if village else None,
        target_kind="household",
        target_id=household.id,
        details={"reason": reason, "residents": len(residents), "visits": len(household_visits)},
    )
    return household


# --- retention -------------------------------------------------------------------------------


def set_retention(
    session: Session, commune_id: int, months: int | None, *, member: Member, now: datetime
) -> Commune:
    """Set how many months personal data of households no longer served is kept (None: until
    erased on request). Commune staff only; audited. Caller commits."""
    policy.require_commune_staff(member)
    if member.commune_id != commune_id:
        raise Forbidden(_("Xã này không thuộc phạm vi của bạn."))
    if months is not None and months not in RETENTION_CHOICES:
        raise Invalid({"retention_months": _("Chọn một thời hạn trong danh sách.")})
    commune = session.get(Commune, commune_id)
    assert commune is not None  # the member's own commune (checked above)
    before = commune.retention_months
    commune.retention_months = months
    session.add(commune)
    if before != months:
        audit.record(
            session,
            action="settings_changed",
            now=now,
            actor=member,
            target_kind="commune",
            target_id=commune.id,
            details={"retention_months": {"before": before, "after": months}},
        )
    return commune


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day when the
    day does not exist then)."""
    year, month = divmod(moment.year * 12 + moment.month - 1 - months, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def last_activity(session: Session, household: Household) -> datetime:
    """The latest of: entered, visited, a visit received, a resident added, an edit."""
    moments = [household.created_at, household.last_visited_at]
    moments.append(
        session.exec(
            select(func.max(Visit.received_at)).where(Visit.household_id == household.id)
        ).one()
    )
    moments.append(
        session.exec(
            select(func.max(Resident.created_at)).where(Resident.household_id == household.id)
        ).one()
    )
    moments.append(
        session.exec(
            select(func.max(HouseholdEdit.created_at)).where(
                HouseholdEdit.household_id == household.id
            )
        ).one()
    )
    return max(forms.to_local(m) for m in moments if m is not None)


def apply_retention(session: Session, *, now: datetime, dry_run: bool = False) -> list[int]:
    """Erase every household whose last activity is older than its commune's retention.
    Returns the ids erased (or that would be, with dry_run). Caller commits."""
    erased: list[int] = []
    communes = session.exec(select(Commune).where(col(Commune.retention_months).is_not(None))).all()
    for commune in communes:
        assert commune.retention_months is not None  # selected for it
        cutoff = months_before(now, commune.retention_months)
        candidates = session.exec(
            select(Household)
            .join(Village, col(Village.id) == Household.village_id)
            .where(
                Village.commune_id == commune.id,
                col(Household.erased_at).is_(None),
                Household.created_at < cutoff,
                func.coalesce(Household.last_visited_at, Household.created_at) < cutoff,
            )
            .order_by(col(Household.id))
        ).all()
        for household in candidates:
            if last_activity(session, household) >= forms.to_local(cutoff):
                continue
            assert household.id is not None  # a stored household
            erased.append(household.id)
            if not dry_run:
                erase_household(session, household.id, member=None, now=now, reason="retention")
    return erased
