"""The volunteer's households: the list, a household's page, and field edits."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from sqlmodel import select

from fieldkit import forms, households, policy
from fieldkit.errors import Invalid
from fieldkit.households import FILTER_LABELS, HouseholdIn, ListFilter, ResidentIn
from fieldkit.models import Village
from pwa import db, household_page, params
from pwa.auth import login_required
from pwa.form_values import edit_form_values
from pwa.render import render
from pwa.routes import now

bp = Blueprint("households", __name__)


def _today():
    return forms.local_today(now())


@bp.get("/households")
@login_required
def index():
    """The member's households; the search box and filter tabs swap only the list."""
    list_filter = ListFilter(params.choice("filter", ListFilter.__members__, "all"))
    offset = params.integer("offset", default=0, maximum=10**6)
    query = params.text("q", max_length=100)
    # A village is listed whole: the phone keeps it for the day and searches it offline.
    # The whole commune (commune staff) is paged and searched on the server.
    whole = policy.scope_for(g.member).village_id is not None
    page = households.list_households(
        db.session(),
        g.member,
        text=query,
        list_filter=list_filter,
        today=_today(),
        offset=offset,
        limit=None if whole else households.PAGE_SIZE,
    )
    villages = _village_names()
    fragment = "households/_more.html" if offset else "households/_list.html"
    return render(
        "households/index.html",
        fragment,
        page=page,
        query=query,
        list_filter=list_filter,
        filters=FILTER_LABELS,
        villages=villages,
        today=_today(),
        local_search=whole,
        uses_htmx=not whole,
        uses_scan=True,
    )


def _village_names() -> dict[int, str]:
    scope = policy.scope_for(g.member)
    statement = select(Village).where(Village.commune_id == scope.commune_id)
    return {v.id: v.name for v in db.session().exec(statement).all()}


@bp.get("/households/<int:household_id>")
@login_required
def show(household_id: int):
    session = db.session()
    household = policy.require_household(session, g.member, household_id)
    return render(household_page.TEMPLATE, **household_page.context(session, g.member, household))


@bp.get("/households/<int:household_id>/edit")
@login_required
def edit(household_id: int):
    household = policy.require_household(db.session(), g.member, household_id)
    policy.require_can_record(g.member)
    return render(
        "households/edit.html",
        household=household,
        values=edit_form_values(household),
        errors={},
        fresh=True,
    )


@bp.post("/households/<int:household_id>/edit")
@login_required
def update(household_id: int):
    policy.require_can_record(g.member)  # before reading the form: who, then what
    session = db.session()
    household = policy.require_household(session, g.member, household_id)
    try:
        household_in = HouseholdIn.parse(request.form)
        edit_record, _unused = households.edit_basics(
            session, household.id, household_in, member=g.member, now=now()
        )
    except Invalid as invalid:
        return render(
            "households/edit.html",
            household=household,
            values=request.form,
            errors=invalid.errors,
            status=422,
        )
    session.commit()
    flash(_("Đã lưu thông tin hộ.") if edit_record else _("Không có gì thay đổi."))
    return redirect(url_for("households.show", household_id=household.id), code=303)


@bp.get("/households/new")
@login_required
def new():
    policy.require_can_record(g.member)
    return render("households/new.html", values=edit_form_values(), errors={}, fresh=True)


@bp.post("/households/new")
@login_required
def create():
    policy.require_can_record(g.member)  # before reading the form: who, then what
    session = db.session()
    try:
        household_in = HouseholdIn.parse(request.form)
        household, _unused = households.propose_household(
            session, household_in, member=g.member, now=now()
        )
    except Invalid as invalid:
        return render("households/new.html", values=request.form, errors=invalid.errors, status=422)
    session.commit()
    flash(_("Đã thêm hộ mới. Hộ đang chờ xã duyệt."))
    return redirect(url_for("households.show", household_id=household.id), code=303)


@bp.get("/households/<int:household_id>/residents/new")
@login_required
def new_resident(household_id: int):
    household = policy.require_household(db.session(), g.member, household_id)
    policy.require_can_record(g.member)
    return render(
        "residents/new.html",
        household=household,
        values={"uuid": str(uuid.uuid4())},
        errors={},
        this_year=_today().year,
        fresh=True,
    )


@bp.post("/households/<int:household_id>/residents/new")
@login_required
def create_resident(household_id: int):
    policy.require_can_record(g.member)  # before reading the form: who, then what
    session = db.session()
    household = policy.require_household(session, g.member, household_id)
    try:
        resident_in = ResidentIn.parse(request.form, today=_today())
        households.add_resident(session, household.id, resident_in, member=g.member, now=now())
    except Invalid as invalid:
        return render(
            "residents/new.html",
            household=household,
            values=request.form,
            errors=invalid.errors,
            this_year=_today().year,
            status=422,
        )
    session.commit()
    flash(_("Đã thêm nhân khẩu."))
    return redirect(url_for("households.show", household_id=household.id), code=303)
