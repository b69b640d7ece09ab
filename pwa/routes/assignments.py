"""The assignments page (Phân công): a leader gives the households of their village to its
volunteers; commune staff do it for any village. Tick households or type a house-number range,
pick a volunteer, press "Phân công". Every rule is fieldkit.assignments'; a refusal is logged
(audit "refused") and changes nothing.
"""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import select

from fieldkit import assignments, communes, forms, policy
from fieldkit.errors import Forbidden, Invalid
from fieldkit.models import Member, Village
from pwa import db, params
from pwa.auth import login_required
from pwa.refusals import refusals_logged
from pwa.routes import now

bp = Blueprint("assignments", __name__)

# A village's households are listed whole up to this; beyond, the range does the rest.
LIST_LIMIT = 300
SHOWS = {"unassigned": _l("Chưa phân công"), "all": _l("Tất cả")}


def _require_assigner() -> policy.Scope:
    if not policy.can_assign(g.member):
        with refusals_logged("assignments_page"):
            raise Forbidden(_("Trang phân công dành cho tổ trưởng và công chức xã."))
    return policy.scope_for(g.member)


def _village(scope: policy.Scope, villages: list[Village], wanted: int | None) -> Village | None:
    if scope.village_id is not None:
        wanted = scope.village_id
    if wanted is None:
        return villages[0] if villages else None
    with refusals_logged("assignments_page"):
        return policy.require_village(db.session(), g.member, wanted)


def _page(
    status: int = 200, *, village_id: int | None = None, form=None, form_errors: dict | None = None
):
    store = db.session()
    scope = _require_assigner()
    villages = communes.villages_of(store, scope.commune_id)
    village = _village(scope, villages, village_id)
    form = form or {}
    show = params.choice("show", SHOWS, "unassigned")
    overview, households, names = None, [], {}
    if village is not None:
        overview = assignments.overview(store, g.member, village_id=village.id)
        households = assignments.village_households(
            store,
            g.member,
            village_id=village.id,
            only_unassigned=show == "unassigned",
            limit=LIST_LIMIT,
        )
        names = {
            m.id: m.name
            for m in store.exec(select(Member).where(Member.village_id == village.id)).all()
        }
    chosen = form.get("volunteer_id") or str(params.row_id("volunteer") or "")
    ticked = set(form.getlist("household_id")) if hasattr(form, "getlist") else set()
    return render_template(
        "assignments/index.html",
        villages=villages,
        village=village,
        overview=overview,
        households=households,
        names=names,
        show=show,
        shows=SHOWS,
        chosen=chosen,
        ticked=ticked,
        form=form,
        form_errors=form_errors or {},
        limit=LIST_LIMIT,
        commune_wide=scope.village_id is None,
    ), status


@bp.get("/assignments")
@login_required
def index():
    return _page(village_id=params.row_id("village"))


@bp.post("/assignments")
@login_required
def assign():
    """Assign the ticked households, or those in the typed range, to the chosen volunteer;
    or, with the "Bỏ phân công" button, leave the ticked ones without anybody."""
    _require_assigner()
    store = db.session()
    form = request.form
    village_id = forms.parse_id(form.get("village_id"))
    volunteer_id = forms.parse_id(form.get("volunteer_id"))
    range_text = form.get("range", "").strip()
    ids = [forms.parse_id(value) for value in form.getlist("household_id")]
    ids = [] if None in ids else ids
    try:
        with refusals_logged("assigned"):
            if form.get("action") == "unassign":
                changed = assignments.unassign(store, g.member, household_ids=ids, now=now())
            elif range_text and not ids:
                changed = assignments.assign_range(
                    store, g.member, range_text=range_text, volunteer_id=volunteer_id, now=now()
                )
            elif range_text:
                raise Invalid(
                    {
                        "range": _(
                            "Hãy chọn hộ trong danh sách hoặc nhập khoảng số "
                            "nhà, không dùng cả hai cùng lúc."
                        )
                    }
                )
            else:
                changed = assignments.assign(
                    store, g.member, household_ids=ids, volunteer_id=volunteer_id, now=now()
                )
    except Invalid as invalid:
        store.rollback()
        return _page(422, village_id=village_id, form=form, form_errors=invalid.errors)
    store.commit()
    if form.get("action") == "unassign":
        flash(_("Đã bỏ phân công %(changed)s hộ.", changed=changed))
    else:
        volunteer = store.get(Member, volunteer_id)
        flash(
            _("Đã phân công %(changed)s hộ cho %(name)s.", changed=changed, name=volunteer.name)
            if changed
            else _("Các hộ này đã được phân công cho %(name)s từ trước.", name=volunteer.name)
        )
    return redirect(
        url_for(
            "assignments.index",
            village=village_id,
            volunteer=volunteer_id or None,
            show=form.get("show") or None,
        ),
        303,
    )
