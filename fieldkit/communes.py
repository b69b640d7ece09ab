"""Setting up a commune from official data, and its villages."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from fieldkit import admin_units, catalogue, forms
from fieldkit.errors import Invalid
from fieldkit.i18n import _
from fieldkit.models import Commune, Household, ReviewState, Village, Visit
from fieldkit.text import sort_key


def init_commune(session: Session, code: str) -> tuple[Commune, bool]:
    """The commune with this official code, created from the official list if new, with the
    starting service catalogue. Returns (commune, created). Idempotent. Caller commits."""
    official = admin_units.lookup_commune(code)
    commune = session.exec(select(Commune).where(Commune.code == official.code)).first()
    created = commune is None
    if commune is None:
        commune = Commune(
            code=official.code,
            name=official.name,
            province_code=official.province_code,
            province_name=official.province_name,
        )
        session.add(commune)
        session.flush()
    catalogue.install_starting_set(session)
    return commune, created


def init_province(session: Session, province_code: str) -> list[tuple[Commune, bool]]:
    """Every commune of the province (official list after 1 July 2025), created where new, by
    official code; (commune, created) each. Idempotent. Caller commits."""
    known = {
        commune.code: commune
        for commune in session.exec(
            select(Commune).where(Commune.province_code == (province_code or "").strip())
        ).all()
    }
    made = []
    for official in admin_units.communes_of_province(province_code):
        commune = known.get(official.code)
        if commune is None:
            commune = Commune(
                code=official.code,
                name=official.name,
                province_code=official.province_code,
                province_name=official.province_name,
            )
            session.add(commune)
        made.append((commune, official.code not in known))
    session.flush()
    catalogue.install_starting_set(session)
    return made


def add_village(session: Session, commune: Commune, name: str, kind: str = _("thôn")) -> Village:
    name = " ".join(forms.checked_text(name, field="name", label=_("tên thôn")).split())
    if not name or len(name) > 80:
        raise Invalid({"name": _("Vui lòng nhập tên thôn (tối đa 80 ký tự).")})
    # "thôn Bái Đô" and "Thôn Bái Đô" are one village; the accents still tell villages apart.
    names = session.exec(select(Village.name).where(Village.commune_id == commune.id)).all()
    if any(known.casefold() == name.casefold() for known in names):
        raise Invalid({"name": _("Xã đã có %(name)s.", name=name)})
    assert commune.id is not None  # a stored commune
    village = Village(commune_id=commune.id, name=name, kind=kind)
    session.add(village)
    session.flush()
    return village


def village_counts(session: Session, commune_id: int, village_id: int | None = None):
    """Per village: (village, households, households visited, visits). One grouped query per
    figure, so the cost does not grow with the number of villages."""
    statement = select(Village).where(Village.commune_id == commune_id)
    if village_id is not None:
        statement = statement.where(Village.id == village_id)
    villages = sorted(session.exec(statement).all(), key=lambda v: sort_key(v.name))
    ids = [v.id for v in villages]
    # Each by village id, looked up with a Village's (Optional-typed) id below.
    households: dict[int | None, int] = dict(
        session.exec(
            select(Household.village_id, func.count())
            .where(
                col(Household.village_id).in_(ids), Household.review_state != ReviewState.rejected
            )
            .group_by(col(Household.village_id))
        ).all()
    )
    reached: dict[int | None, int] = dict(
        session.exec(
            select(Household.village_id, func.count())
            .where(
                col(Household.village_id).in_(ids),
                Household.visit_count > 0,
                Household.review_state != ReviewState.rejected,
            )
            .group_by(col(Household.village_id))
        ).all()
    )
    visits: dict[int | None, int] = dict(
        session.exec(
            select(Household.village_id, func.count(col(Visit.id)))
            .join(Visit, col(Visit.household_id) == Household.id)
            .where(col(Household.village_id).in_(ids), Visit.review_state != ReviewState.rejected)
            .group_by(col(Household.village_id))
        ).all()
    )
    return [
        (v, households.get(v.id, 0), reached.get(v.id, 0), visits.get(v.id, 0)) for v in villages
    ]


def villages_of(session: Session, commune_id: int) -> list[Village]:
    """The commune's villages in Vietnamese alphabetical order ("Thôn Đông" before "Thôn
    Tây"; the database's byte order would put Đ after T)."""
    villages = session.exec(
        select(Village).where(Village.commune_id == commune_id).order_by(col(Village.id))
    ).all()
    return sorted(villages, key=lambda village: sort_key(village.name))


def lock(session: Session, commune_id: int) -> None:
    """Hold the commune's row until the caller commits: imports and merges of one commune then
    run one after the other (PostgreSQL; SQLite lets one writer at a time anyway). FOR NO KEY
    UPDATE: rows that merely point at the commune (audit events of sign-ins, villages) are
    still written meanwhile."""
    session.exec(select(Commune.id).where(Commune.id == commune_id).with_for_update(key_share=True))
