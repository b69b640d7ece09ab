"""QR door stickers: the printable A4 sheet of a village, one household's label, the short
link a sticker carries (/s/<token>) and replacing a sticker. Rules in fieldkit.stickers."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, g, redirect, render_template, url_for
from flask_babel import gettext as _

from fieldkit import policy, stickers
from pwa import db
from pwa.auth import login_required
from pwa.qr import qr_svg
from pwa.routes import now

bp = Blueprint("stickers", __name__)

# Labels per A4 sheet: the common 70 × 37 mm label paper (3 across, 8 down).
PER_SHEET = 24


def sticker_url(token: str) -> str:
    return f"{current_app.config['FIELDKIT_SETTINGS'].base_url}/s/{token}"


def _sheet_page(
    labels: list[stickers.Label], title: str, back: str, replace_url: str | None = None
):
    cells = [
        (
            label,
            qr_svg(
                sticker_url(label.token),
                border=1,
                label=_("Mã dán cửa hộ %(label)s", label=label.label),
            ),
        )
        for label in labels
    ]
    sheets = [cells[i : i + PER_SHEET] for i in range(0, len(cells), PER_SHEET)]
    return render_template(
        "stickers/sheet.html",
        sheets=sheets,
        title=title,
        back=back,
        count=len(labels),
        uses_print=True,
        replace_url=replace_url,
    )


@bp.get("/stickers/villages/<int:village_id>")
@login_required
def village_sheet(village_id: int):
    """Every household of the village on A4 label sheets. Opening it makes the stickers that
    are missing (once: a household keeps its token until it is replaced), so reprinting
    gives the same codes as the stickers already on the doors."""
    store = db.session()
    labels = stickers.village_sheet(store, g.member, village_id, now=now())
    store.commit()
    village = policy.require_village(store, g.member, village_id)
    return _sheet_page(
        labels, _("Mã dán cửa · %(name)s", name=village.name), url_for("households.index")
    )


@bp.get("/stickers/households/<int:household_id>")
@login_required
def household_sheet(household_id: int):
    store = db.session()
    household = policy.require_household(store, g.member, household_id)
    policy.require_can_print_stickers(g.member)
    sticker = stickers.sticker_for(store, household, now=now())
    store.commit()
    village_name = policy.require_village(store, g.member, household.village_id).name
    label = stickers.Label(household.id, household.label, village_name, sticker.token)
    return _sheet_page(
        [label],
        _("Mã dán cửa · hộ %(label)s", label=household.label),
        url_for("households.show", household_id=household.id),
        url_for("stickers.replace", household_id=household.id),
    )


@bp.post("/stickers/households/<int:household_id>/replace")
@login_required
def replace(household_id: int):
    store = db.session()
    stickers.replace(store, g.member, household_id, now=now())
    store.commit()
    flash(_("Đã thay mã dán cửa: mã cũ không mở được hộ này nữa. Hãy in và dán nhãn mới."))
    return redirect(url_for("stickers.household_sheet", household_id=household_id), 303)


@bp.get("/s/<token>")
@login_required
def open(token: str):  # noqa: A001 — the endpoint is "stickers.open"
    """What the phone's camera opens: the household, for a member whose scope covers it."""
    household = stickers.open_sticker(db.session(), g.member, token)
    return redirect(url_for("households.show", household_id=household.id))
