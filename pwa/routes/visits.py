"""The visit form. The form carries a UUID, so a double tap or a resent form stores one visit."""

from __future__ import annotations

import re

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from fieldkit import catalogue, households, policy, visits
from fieldkit.errors import Invalid, SyncConflict
from fieldkit.visits import VisitIn
from pwa import db, i18n
from pwa.auth import login_required
from pwa.form_values import visit_form_values
from pwa.render import render
from pwa.routes import now

bp = Blueprint("visits", __name__)
_LINE_KEY = re.compile(r"^lines-(\d{1,3})-")


def _form(household, values, errors, status=200, fresh=False):
    session = db.session()
    residents = households.residents_of(session, household)
    # Redraw the lines by the indices the form sent: a removed line leaves a gap, and each
    # message must stay beside the line it is about.
    indices = sorted({int(m[1]) for k in values if (m := _LINE_KEY.match(k))}) or [0]
    return render(
        "visits/new.html",
        household=household,
        residents=residents,
        services=catalogue.active_services(session),
        values=values,
        errors=errors,
        line_indices=indices,
        fresh=fresh,
        status=status,
    )


@bp.get("/households/<int:household_id>/visits/new")
@login_required
def new(household_id: int):
    household = policy.require_household(db.session(), g.member, household_id)
    policy.require_can_record(g.member)
    return _form(household, visit_form_values(), {}, fresh=True)


@bp.post("/households/<int:household_id>/visits")
@login_required
def create(household_id: int):
    policy.require_can_record(g.member)  # before reading the form: who, then what
    session = db.session()
    household = policy.require_household(session, g.member, household_id)
    try:
        visit_in = VisitIn.parse(request.form, household_id=household.id)
        visit, created = visits.log_visit(session, visit_in, volunteer=g.member, now=now())
    except Invalid as invalid:
        return _form(household, request.form, invalid.errors, status=422)
    except SyncConflict as conflict:
        return _form(household, request.form, {"form": i18n.message_of(conflict)}, status=409)
    twin = visits.possible_duplicate_of(session, visit) if created else None
    session.commit()
    message = (
        _("Đã lưu lượt thăm. Lượt thăm đang chờ xã duyệt.")
        if created
        else _("Lượt thăm này đã được lưu trước đó.")
    )
    flash(f"{message} {i18n.translate(visits.duplicate_notice(twin))}" if twin else message)
    return redirect(url_for("households.show", household_id=household.id), code=303)
