"""Personal data on request: a household's consent (the form's no-script path; with script
the form goes through the outbox), export and erasure for commune staff, and the commune's
retention setting."""

from __future__ import annotations

import json

from flask import Blueprint, Response, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from fieldkit import forms, policy, privacy
from fieldkit.errors import Invalid, SyncConflict
from fieldkit.models import Commune
from pwa import db, i18n
from pwa.auth import login_required
from pwa.render import render
from pwa.routes import now

bp = Blueprint("privacy", __name__)


@bp.post("/households/<int:household_id>/consent")
@login_required
def consent(household_id: int):
    policy.require_can_record(g.member)  # before reading the form: who, then what
    session = db.session()
    household = policy.require_household(session, g.member, household_id)
    try:
        consent_in = privacy.ConsentIn.parse(request.form, today=forms.local_today(now()))
        _unused, created = privacy.record_consent(
            session, household.id, consent_in, member=g.member, now=now()
        )
    except (Invalid, SyncConflict) as refused:
        errors = (
            refused.errors if isinstance(refused, Invalid) else {"form": i18n.message_of(refused)}
        )
        return render(
            "privacy/consent.html",
            household=household,
            values=request.form,
            errors=errors,
            status=422 if isinstance(refused, Invalid) else 409,
        )
    session.commit()
    flash(
        _("Đã ghi nhận sự đồng ý của hộ.") if created else _("Sự đồng ý này đã được lưu trước đó.")
    )
    return redirect(url_for("households.show", household_id=household.id), code=303)


@bp.post("/households/<int:household_id>/export")
@login_required
def export(household_id: int):
    """The household's data as a JSON file, for the person who asked for it. Audited."""
    session = db.session()
    data = privacy.export_household(session, household_id, member=g.member, now=now())
    session.commit()
    body = json.dumps(data, ensure_ascii=False, indent=2)
    response = Response(body, mimetype="application/json")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="fieldkit-ho-{household_id}.json"'
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/households/<int:household_id>/erase")
@login_required
def confirm_erase(household_id: int):
    policy.require_commune_staff(g.member)
    household = policy.require_household(db.session(), g.member, household_id)
    return render("privacy/erase.html", household=household, errors={})


@bp.post("/households/<int:household_id>/erase")
@login_required
def erase(household_id: int):
    session = db.session()
    policy.require_commune_staff(g.member)
    household = policy.require_household(session, g.member, household_id)
    if request.form.get("confirm") != "yes":
        return render(
            "privacy/erase.html",
            household=household,
            status=422,
            errors={"confirm": _("Đánh dấu ô xác nhận trước khi xóa.")},
        )
    privacy.erase_household(session, household.id, member=g.member, now=now())
    session.commit()
    flash(_("Đã xóa dữ liệu cá nhân của hộ. Số liệu thống kê vẫn được giữ."))
    return redirect(url_for("households.show", household_id=household.id), code=303)


@bp.get("/settings")
@login_required
def settings():
    policy.require_commune_staff(g.member)
    commune = db.session().get(Commune, g.member.commune_id)
    return render(
        "privacy/settings.html", commune=commune, errors={}, value=commune.retention_months
    )


@bp.post("/settings")
@login_required
def save_settings():
    session = db.session()
    policy.require_commune_staff(g.member)
    commune = session.get(Commune, g.member.commune_id)
    raw = request.form.get("retention_months", "")
    try:
        months = forms.ascii_int(raw.strip()) if raw.strip() else None
        if raw and months is None:
            raise Invalid({"retention_months": _("Chọn một thời hạn trong danh sách.")})
        privacy.set_retention(session, commune.id, months, member=g.member, now=now())
    except Invalid as invalid:
        return render(
            "privacy/settings.html", commune=commune, errors=invalid.errors, value=raw, status=422
        )
    session.commit()
    flash(_("Đã lưu cài đặt."))
    return redirect(url_for("privacy.settings"), code=303)
