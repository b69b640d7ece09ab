"""A household's page (households/show.html): everything it shows, gathered for one household
(the page a person opens) or for many at once (the offline pack, pwa/offline_pack.py), with
the same few queries whatever the number — so the phone's offline copy is the very page the
server serves, and preparing a village costs a handful of queries per chunk, not a dozen per
household.

Shared by the households blueprint and the offline pack; imports no blueprint."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence

from sqlmodel import Session, col, select

from fieldkit import catalogue, forms, households, merge, policy, review, status, visits
from fieldkit.models import Household, Member, Village
from pwa.form_values import consent_form_values, edit_form_values, visit_form_values
from pwa.routes import now

TEMPLATE = "households/show.html"


def context(session: Session, member: Member, household: Household) -> dict:
    """The template context of one household's page."""
    return next(contexts(session, member, [household]))[1]


def contexts(
    session: Session,
    member: Member,
    chosen: Sequence[Household],
    *,
    form_ids: bool = True,
) -> Iterator[tuple[Household, dict]]:
    """(household, context) for each of `chosen`, in order. Scope is the caller's to check.

    `form_ids=False` leaves the forms' UUIDs empty: the phone gives every form it opens from
    its cache a UUID of its own (app.js), so the offline pack carries none — 600 random UUIDs
    are most of what does not compress in a village's pack."""
    ids = [household.id for household in chosen]
    residents = households.residents_of_many(session, ids)
    histories = visits.visits_of_many(session, ids)
    chips = status.statuses_of(session, ids)
    reviewed = review.reviewed_records(session, chosen)
    likely = merge.duplicates_of_many(session, chosen)
    merged = merge.merges_into_many(session, ids)
    may_merge = policy.can_merge_households(member)
    people = {household.assigned_volunteer_id for household in chosen}
    people |= {visit.volunteer_id for found in histories.values() for visit, _ in found}
    people -= {None}
    volunteers = (
        dict(session.exec(select(Member.id, Member.name).where(col(Member.id).in_(people))).all())
        if people
        else {}
    )
    services = catalogue.active_services(session)
    service_names = {service.code: service.short_name for service in services}
    villages: dict[int, Village] = {}
    today = forms.local_today(now())
    for household in chosen:
        if household.village_id not in villages:
            villages[household.village_id] = session.get(Village, household.village_id)
        people_here = residents.get(household.id, [])
        form_values = {
            "visit": visit_form_values(),
            "resident": {"uuid": str(uuid.uuid4())},
            "edit": edit_form_values(household),
            "consent": consent_form_values(),
        }
        if not form_ids:
            for values in form_values.values():
                values["uuid"] = ""
        yield (
            household,
            {
                "household": household,
                "residents": people_here,
                "names": {resident.id: resident.name for resident in people_here},
                "history": histories.get(household.id, []),
                "chips": chips.get(household.id, {}),
                "reviewed": reviewed.get(household.id, []),
                "duplicates": {
                    "likely": likely.get(household.id, []),
                    "merged": merged.get(household.id, []),
                    "may_merge": may_merge,
                },
                "services": services,
                "service_names": service_names,
                "volunteers": volunteers,
                "village": villages[household.village_id],
                "today": today,
                "forms": form_values,
                "this_year": today.year,
            },
        )
