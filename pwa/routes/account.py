"""The person's own account: who they are, their passkeys (name, created, last used), adding
one for this phone, and revoking any of them; push notifications on or off for this phone."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from sqlmodel import col, select

from fieldkit import passkeys, push
from fieldkit.models import Passkey, Village
from pwa import db
from pwa.auth import login_required
from pwa.refusals import record_refusal
from pwa.routes import now
from pwa.webpush import vapid

bp = Blueprint("account", __name__)


@bp.get("/account")
@login_required
def index():
    store = db.session()
    keys = store.exec(
        select(Passkey)
        .where(Passkey.member_id == g.member.id)
        .order_by(col(Passkey.revoked_at).is_not(None), col(Passkey.created_at).desc())
    ).all()
    village = store.get(Village, g.member.village_id) if g.member.village_id else None
    return render_template(
        "account/index.html",
        passkeys=keys,
        village=village,
        added=request.args.get("added") == "1",
        uses_passkeys=True,
        uses_push=True,
        vapid_public_key=vapid().public_key,
        push_devices=len(push.subscriptions_of(store, g.member.id)),
    )


@bp.post("/account/passkeys/<int:passkey_id>/revoke")
@login_required
def revoke(passkey_id: int):
    store = db.session()
    try:
        passkey = passkeys.revoke(store, g.member, passkey_id, now=now())
    except passkeys.PasskeyRefused as refused:
        record_refusal(
            "refused", str(refused), actor=g.member, what="passkey_revoked", passkey_id=passkey_id
        )
        return render_template("error.html", status=404, message=str(refused)), 404
    store.commit()
    flash(f"Đã thu hồi khóa “{passkey.name}”. Khóa này không đăng nhập được nữa.")
    return redirect(url_for("account.index"), code=303)
