"""The pages a phone keeps for a day without signal (DESIGN.md §4.1), each with a version that
changes when the page would, so the phone is sent only what changed since last time: the
household list and every household page of the member's village, the outbox, the follow-ups,
the guide cards, and the records sent back to the member ("Bị trả lại") with their forms.

A version is a digest of what the page shows, never of the clock: a list that did not change
since the morning is not sent again. The list and the follow-ups are one page each: their
version is the digest of the page itself. Household pages are hundreds: they share a digest
of what every one of them shows (the app version, the catalogue, the village, the member
whose phone it is), and each adds its household's own row, its residents', visits' and edits'
review states, the names of the members it shows, and whether its follow-up date has come.

Known limit: the tab bar's "Bị trả lại" badge is not part of a household page's version (a
returned record would otherwise send the whole village again); the list page's version has
it, and the badge is right on every page opened online.

Shared by the offline blueprint and pwa/offline_pack.py; it names other areas' pages only by
endpoint."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from flask import current_app, g, url_for
from flask_wtf.csrf import generate_csrf
from sqlmodel import col, func, select

from fieldkit import catalogue, forms, guides, merge, policy, review
from fieldkit.models import (
    Household,
    HouseholdEdit,
    Member,
    Resident,
    ReviewState,
    Village,
    Visit,
)
from pwa import db, i18n
from pwa.assets import app_version
from pwa.routes import now
from pwa.template_globals import PREPARE_HEADER

LIST_ENDPOINT = "households.index"


@dataclass(frozen=True)
class Page:
    url: str
    version: str
    household_id: int | None = None  # set on household pages


@dataclass(frozen=True)
class OfflinePack:
    """The member's offline pages: the shared ones first (the list among them), then the
    household pages in household id order."""

    pages: list[Page]
    # None, not 0, for commune-wide members: they carry no village, and "0 hộ" would read as
    # an empty village.
    households: int | None
    household_pages: list[Page] = field(default_factory=list)

    @property
    def shared_pages(self) -> list[Page]:
        return [page for page in self.pages if page.household_id is None]

    def manifest(self) -> list[dict]:
        return [{"url": page.url, "version": page.version} for page in self.pages]


def pack_for(member: Member, *, shared: bool = True) -> OfflinePack:
    """What `member`'s phone keeps offline. Commune-wide members get the shell, the guides and
    the outbox only; a commune is too large to carry. Province staff carry no commune's pages
    at all (their guides are the communes'): the outbox only. `shared=False` leaves out all
    but the household pages (what a pack's later chunks need): the list and the follow-ups
    are rendered to know their versions."""
    # The language is part of every version: switching it on "Tài khoản" makes the phone fetch
    # its offline copies again in the new language rather than keep the old ones (pwa/i18n.py).
    version = f"{app_version()}-{i18n.language()}"
    if policy.is_province_wide(member):
        outbox = [Page(url_for("offline.outbox_page"), version)] if shared else []
        return OfflinePack(pages=outbox, households=None, household_pages=[])
    scope = policy.scope_for(member)
    household_pages: list[Page] = []
    if scope.village_id is not None:
        today = forms.local_today(now())
        household_pages = _household_pages(member, scope.village_id, version, today)
    pages: list[Page] = []
    if shared:
        pages.append(_rendered_page(url_for(LIST_ENDPOINT), version))
        pages.append(Page(url_for("offline.outbox_page"), version))
        pages += _guide_pages(member, version)
        pages += _returned_pages(member, version)
        pages.append(_rendered_page(url_for("followups.index"), version))
    return OfflinePack(
        pages=pages + household_pages,
        households=None if scope.village_id is None else len(household_pages),
        household_pages=household_pages,
    )


def _rendered_page(url: str, version: str) -> Page:
    """A page whose version is the digest of the page itself (the list, the follow-ups: one
    page each, rendered anyway when they change), less its CSRF token. A page that cannot be
    rendered gets a version of its own, so the pack tries again next time."""
    html = render(url)
    if html is None:
        return Page(url, _digest(version, now().isoformat()))
    # The CSRF token is signed anew (with the time) on each request: it is not a change.
    return Page(url, _digest(version, html.replace(generate_csrf(), "")))


def render(url: str) -> str | None:
    """The page at `url` as its own route renders it for the signed-in member, inside this
    request (same member, same database session), marked as a background fetch so no flash
    message is taken; None when the route answers anything but a page. Rendered once per
    request."""
    rendered = g.setdefault("offline_rendered", {})
    if url not in rendered:
        app = current_app._get_current_object()
        with page_context(url):
            try:
                result = app.dispatch_request()
            except Exception as error:  # a refusal becomes its error page, not kept
                result = app.handle_user_exception(error)
            response = app.make_response(result)
            ok = response.status_code == 200 and response.mimetype == "text/html"
            rendered[url] = response.get_data(as_text=True) if ok else None
    return rendered[url]


def page_context(url: str):
    """A request context for `url` inside the current one, as a background fetch."""
    return current_app.test_request_context(
        url, headers={PREPARE_HEADER: "1", "Sec-Fetch-Mode": "same-origin"}
    )


def _household_pages(member: Member, village_id: int, version: str, today) -> list[Page]:
    session = db.session()
    shared = _digest(
        version,
        member.id,
        member.name,
        member.role,
        today.year,  # the resident form's highest birth year
        session.get(Village, village_id).name,
        [(s.code, s.name, s.short_name) for s in catalogue.active_services(session)],
    )
    columns = list(Household.__table__.columns)
    rows = session.exec(
        select(*columns)
        .where(
            Household.village_id == village_id,
            Household.review_state != ReviewState.rejected,
        )
        .order_by(Household.id)
    ).all()
    reviews = _review_states(village_id)
    names, visitors = _people_named(member.commune_id, village_id)
    # The page names its likely duplicates and what was merged into it (issue 15).
    likely = merge.duplicates_of_many(session, rows)
    merged = merge.merges_into_many(session, [row.id for row in rows])
    follow_up = columns.index(Household.__table__.columns["follow_up_on"])
    assigned = columns.index(Household.__table__.columns["assigned_volunteer_id"])
    pages = []
    for row in rows:
        household_id = row[0]
        due = row[follow_up] is not None and row[follow_up] <= today
        named = (names.get(row[assigned]), *visitors.get(household_id, ()))
        duplicates = (
            [(o.id, o.label, o.head_name, o.review_state) for o in likely.get(household_id, [])],
            [record.id for record in merged.get(household_id, [])],
        )
        pages.append(
            Page(
                url_for("households.show", household_id=household_id),
                # 32 bits: the phone sends back one per household (~4 KB for 600 of them).
                _digest(shared, tuple(row), due, reviews.get(household_id), named, duplicates)[:8],
                household_id,
            )
        )
    return pages


def _people_named(commune_id: int, village_id: int) -> tuple[dict, dict]:
    """What household pages show of members: every member's name, and per household the
    names of those who visited it. A member renamed changes the pages that name them; a
    member joining changes none."""
    session = db.session()
    names = dict(
        session.exec(select(Member.id, Member.name).where(Member.commune_id == commune_id)).all()
    )
    visitors: dict[int, tuple] = {}
    for household_id, volunteer_id in session.exec(
        select(Visit.household_id, Visit.volunteer_id)
        .join(Household, Household.id == Visit.household_id)
        .where(Household.village_id == village_id)
        .distinct()
        .order_by(Visit.household_id, Visit.volunteer_id)
    ).all():
        visitors[household_id] = (*visitors.get(household_id, ()), names.get(volunteer_id))
    return names, visitors


def _guide_pages(member: Member, version: str) -> list[Page]:
    """The guide cards, for everyone: a resident is shown them at the door, signal or not."""
    cards = guides.cards(db.session(), commune_id=member.commune_id)
    pages = [Page(url_for("guides.index"), _digest(version, [c.title for c in cards]))]
    for card in cards:
        pages.append(Page(url_for("guides.show", code=card.service_code), _digest(version, card)))
    return pages


def _returned_pages(member: Member, version: str) -> list[Page]:
    """The returned list and each returned record's form: their versions change when a record
    is returned, resubmitted or decided."""
    if not policy.is_field_member(member):
        return []
    entries = review.returned(db.session(), member)
    state = [(e.kind.value, e.record.id, e.record.revision, e.reason) for e in entries]
    pages = [Page(url_for("review.returned"), _digest(version, state))]
    for entry in entries:
        pages.append(
            Page(
                url_for(
                    "review.edit_returned", kind=entry.kind.value, record_uuid=entry.record.uuid
                ),
                _digest(version, entry.kind.value, entry.record.id, entry.record.revision),
            )
        )
    return pages


def _digest(*content) -> str:
    return hashlib.sha256(repr(content).encode()).hexdigest()[:12]


def _review_states(village_id: int) -> dict[int, tuple]:
    """Per household of the village, what its page shows of its visits', residents' and
    edits' reviews (how many in each state, revisions, the newest), so a decision, a
    resubmission or a new record changes the page's version. Three grouped queries."""
    session = db.session()
    states: dict[int, list] = {}
    for model in (Visit, Resident, HouseholdEdit):
        rows = session.exec(
            select(
                model.household_id,
                model.review_state,
                func.count(),
                func.sum(model.revision),
                func.max(model.id),
            )
            .join(Household, Household.id == model.household_id)
            .where(Household.village_id == village_id)
            .group_by(model.household_id, model.review_state)
            .order_by(model.household_id, col(model.review_state))
        ).all()
        for household_id, *state in rows:
            states.setdefault(household_id, []).append((model.__name__, *state))
    return {household_id: tuple(state) for household_id, state in states.items()}
