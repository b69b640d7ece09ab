"""The follow-ups page (Việc cần làm): households overdue, due today and coming up, and the
residents waiting for the police to verify VNeID level 2. Volunteers and leaders see their
village (a volunteer can keep only the households assigned to them: "Của tôi"); commune staff
see the commune and can pick one village. Every rule is fieldkit.followups'."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from fieldkit import communes, followups, policy
from fieldkit.forms import local_today
from fieldkit.models import Village
from pwa import db, params
from pwa.auth import login_required
from pwa.routes import now

bp = Blueprint("followups", __name__)


@bp.get("/follow-ups")
@login_required
def index():
    store = db.session()
    scope = policy.scope_for(g.member)
    villages: list[Village] = []
    village = None
    if scope.village_id is None:
        villages = communes.villages_of(store, scope.commune_id)
        wanted = params.row_id("village")
        if wanted:
            village = policy.require_village(store, g.member, wanted)
    can_filter_mine = policy.can_narrow_to_own_households(g.member)
    mine = can_filter_mine and params.flag("mine")
    today = local_today(now())
    found = followups.followups(
        store,
        scope=scope,
        today=today,
        village_id=village.id if village else None,
        assigned_to=g.member.id if mine else None,
    )
    return render_template(
        "followups/index.html",
        found=found,
        sections=followups.SECTIONS,
        today=today,
        villages=villages,
        village=village,
        mine=mine,
        can_filter_mine=can_filter_mine,
        limit=followups.LIST_LIMIT,
    )
