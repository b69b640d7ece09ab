"""What a sync batch of visits reads once instead of once per visit.

A phone's batch is usually 25 visits to households of one village. Looking up each visit's
UUID, its household's residents and the active services item by item costs three queries per
visit; `visits_batch()` reads them for the whole batch at once, and log_visit() asks here
first. Only for a batch made of visits alone: another kind of item in the batch (a resident
added, a household proposed) could change what was read, so such a batch reads item by item.

The reads are a snapshot taken when the batch starts. A visit another transaction stores in
the meantime is caught by the unique index on its UUID: the item is then looked up again for
real (`forget_visit`), exactly as without the snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from fieldkit.models import Household, Resident, ReviewState, Service, Village, Visit

KEY = "fieldkit.prefetch"


@dataclass
class Snapshot:
    visits: dict[str, Visit | None] = field(default_factory=dict)  # uuid → stored, or None
    residents: dict[int, set[int]] = field(default_factory=dict)  # household → counted ids
    services: set[str] = field(default_factory=set)  # active service codes
    # The batch's households and villages, held here because the session's identity map
    # holds objects weakly: without a reference they would be read again item by item.
    loaded: list = field(default_factory=list)


def visits_batch(session: Session, uuids: set[str], household_ids: set[int]) -> None:
    """Read the batch's stored visits, its households (and villages) into the session, their
    residents and the active services. Ends with `done()`."""
    snapshot = Snapshot(visits=dict.fromkeys(uuids))
    if uuids:
        for visit in session.exec(select(Visit).where(col(Visit.uuid).in_(uuids))):
            snapshot.visits[visit.uuid] = visit
    if household_ids:
        households = session.exec(
            select(Household).where(col(Household.id).in_(household_ids))
        ).all()
        village_ids = {household.village_id for household in households}
        villages = session.exec(select(Village).where(col(Village.id).in_(village_ids))).all()
        snapshot.loaded = [*households, *villages]
        snapshot.residents = {}
        for household in households:
            assert household.id is not None  # a stored household
            snapshot.residents[household.id] = set()
        for household_id, resident_id in session.exec(
            select(Resident.household_id, Resident.id).where(
                col(Resident.household_id).in_(list(snapshot.residents)),
                Resident.review_state != ReviewState.rejected,
            )
        ):
            assert resident_id is not None  # a primary key
            snapshot.residents[household_id].add(resident_id)
    snapshot.services = set(session.exec(select(Service.code).where(Service.active)).all())
    session.info[KEY] = snapshot


def done(session: Session) -> None:
    session.info.pop(KEY, None)


def _snapshot(session: Session) -> Snapshot | None:
    return session.info.get(KEY)


def stored_visit(session: Session, uuid: str) -> Visit | None:
    """The visit stored under `uuid`, or None."""
    snapshot = _snapshot(session)
    if snapshot is not None and uuid in snapshot.visits:
        return snapshot.visits[uuid]
    return session.exec(select(Visit).where(Visit.uuid == uuid)).first()


def remember_visit(session: Session, visit: Visit) -> None:
    snapshot = _snapshot(session)
    if snapshot is not None:
        snapshot.visits[visit.uuid] = visit


def forget_visit(session: Session, uuid: str) -> None:
    """Look this UUID up for real next time (another transaction stored it meanwhile, or this
    item's savepoint was rolled back)."""
    snapshot = _snapshot(session)
    if snapshot is not None:
        snapshot.visits.pop(uuid, None)


def counted_residents(session: Session, household_id: int, resident_ids: set[int]) -> set[int]:
    """Those of `resident_ids` who belong to the household and are not rejected."""
    if not resident_ids:
        return set()
    snapshot = _snapshot(session)
    if snapshot is not None and household_id in snapshot.residents:
        return resident_ids & snapshot.residents[household_id]
    counted = session.exec(
        select(Resident.id).where(
            Resident.household_id == household_id,
            col(Resident.id).in_(resident_ids),
            Resident.review_state != ReviewState.rejected,
        )
    ).all()
    return resident_ids & set(counted)  # as the snapshot answers; `counted` is within anyway


def active_services(session: Session, codes: set[str]) -> set[str]:
    """Those of `codes` that are active services of the catalogue."""
    if not codes:
        return set()
    snapshot = _snapshot(session)
    if snapshot is not None:
        return codes & snapshot.services
    return set(
        session.exec(select(Service.code).where(col(Service.code).in_(codes), Service.active)).all()
    )
