"""A first village list with household and visit counts, within the member's scope."""

from __future__ import annotations

from flask import Blueprint, g

from fieldkit import communes, policy
from fieldkit.models import Commune
from pwa import db
from pwa.auth import login_required
from pwa.render import render

bp = Blueprint("villages", __name__)


@bp.get("/villages")
@login_required
def index():
    session = db.session()
    scope = policy.scope_for(g.member)
    rows = communes.village_counts(session, scope.commune_id, scope.village_id)
    totals = [sum(row[i] for row in rows) for i in (1, 2, 3)]
    return render("villages/index.html", rows=rows, totals=totals,
                  commune=session.get(Commune, scope.commune_id))
