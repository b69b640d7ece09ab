"""Guide cards: one per service, large text to show a resident, kept on the phone for the day.
Commune staff reword them. Rules in fieldkit.guides."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from fieldkit import guides, policy
from fieldkit.errors import Invalid
from pwa import db
from pwa.auth import login_required
from pwa.qr import qr_svg
from pwa.routes import now

bp = Blueprint("guides", __name__)


@bp.get("/guides")
@login_required
def index():
    cards = guides.cards(db.session(), commune_id=policy.require_commune_member(g.member))
    return render_template(
        "guides/index.html", cards=cards, can_edit=policy.is_commune_wide(g.member)
    )


@bp.get("/guides/<code>")
@login_required
def show(code: str):
    commune_id = policy.require_commune_member(g.member)
    card = guides.card(db.session(), commune_id=commune_id, service_code=code)
    qr = (
        qr_svg(
            card.official_url,
            label=_("Mã QR trang %(official_url)s", official_url=card.official_url),
        )
        if card.official_url
        else None
    )
    return render_template(
        "guides/show.html", card=card, qr=qr, can_edit=policy.is_commune_wide(g.member)
    )


def _edit_page(card: guides.Card, values: dict, errors: dict, status: int = 200):
    return render_template("guides/edit.html", card=card, values=values, errors=errors), status


@bp.get("/guides/<code>/edit")
@login_required
def edit(code: str):
    policy.require_can_edit_guides(g.member)
    card = guides.card(db.session(), commune_id=g.member.commune_id, service_code=code)
    values = {
        "title": card.title,
        "steps": "\n".join(card.steps),
        "official_url": card.official_url or "",
    }
    return _edit_page(card, values, {})


@bp.post("/guides/<code>/edit")
@login_required
def save(code: str):
    policy.require_can_edit_guides(g.member)
    store = db.session()
    card = guides.card(store, commune_id=g.member.commune_id, service_code=code)
    values = {
        name: request.form.get(name, "")[:5000] for name in ("title", "steps", "official_url")
    }
    try:
        guides.save(store, member=g.member, service_code=code, now=now(), **values)
    except Invalid as invalid:
        store.rollback()
        return _edit_page(card, values, invalid.errors, 422)
    store.commit()
    flash(_("Đã lưu hướng dẫn. Điện thoại của tổ sẽ nhận bản mới ở lần đồng bộ tới."))
    return redirect(url_for("guides.show", code=code), 303)


@bp.post("/guides/<code>/reset")
@login_required
def reset(code: str):
    policy.require_can_edit_guides(g.member)
    store = db.session()
    guides.reset(store, member=g.member, service_code=code, now=now())
    store.commit()
    flash(_("Đã trả về nội dung hướng dẫn ban đầu."))
    return redirect(url_for("guides.show", code=code), 303)
