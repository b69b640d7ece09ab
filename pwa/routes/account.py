"""The person's own account: who they are; their passkeys (name, created, last used), adding one
for this phone, and revoking any of them; the devices where they are signed in, with signing
one out or every one of them ("Đăng xuất khỏi mọi thiết bị"); push notifications on or off for
this phone; the language of this phone's screens (pwa/i18n.py says why it is kept per device)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlmodel import col, select

from fieldkit import audit, passkeys, push, sessions
from fieldkit.models import Passkey, Village, WebSession
from pwa import auth, db, errors, i18n, params
from pwa.auth import login_required
from pwa.refusals import record_refusal
from pwa.routes import now
from pwa.webpush import vapid

bp = Blueprint("account", __name__)


@bp.get("/account")
@login_required
def index():
    store = db.session()
    moment = now()
    keys = store.exec(
        select(Passkey)
        .where(Passkey.member_id == g.member.id)
        .order_by(col(Passkey.revoked_at).is_not(None), col(Passkey.created_at).desc())
    ).all()
    village = store.get(Village, g.member.village_id) if g.member.village_id else None
    here = auth.current_record()
    return render_template(
        "account/index.html",
        passkeys=keys,
        village=village,
        added=params.flag("added"),
        uses_passkeys=True,
        uses_push=True,
        vapid_public_key=vapid().public_key,
        push_devices=len(push.subscriptions_of(store, g.member.id)),
        open_sessions=sessions.of_member(store, g.member.id, now=moment),
        this_session_id=here.id if here else None,
        this_passkey_id=here.passkey_id if here else None,
        can_add_passkey=auth.recently_proved(moment),
        methods=sessions.METHODS,
    )


@bp.post("/account/passkeys/<int:passkey_id>/revoke")
@login_required
def revoke(passkey_id: int):
    store = db.session()
    here = auth.current_record()
    try:
        passkey = passkeys.revoke(store, g.member, passkey_id, now=now())
    except passkeys.PasskeyRefused as refused:
        record_refusal(
            "refused", str(refused), actor=g.member, what="passkey_revoked", passkey_id=passkey_id
        )
        return render_template("error.html", status=404, message=i18n.message_of(refused)), 404
    store.commit()
    if here is not None and here.passkey_id == passkey.id:
        # This very session was opened with the revoked key: it has ended with the others.
        auth.end_session()
        flash(
            _(
                "Đã thu hồi khóa “%(name)s” và đăng xuất trên các máy đã dùng khóa này.",
                name=passkey.name,
            )
        )
        return redirect(url_for("auth.signin"), code=303)
    flash(
        _(
            (
                "Đã thu hồi khóa “%(name)s”. Khóa này không đăng nhập được nữa; các máy đã đăng "
                "nhập bằng khóa này đã bị đăng xuất."
            ),
            name=passkey.name,
        )
    )
    return redirect(url_for("account.index"), code=303)


@bp.post("/account/sessions/end-all")
@login_required
def end_all_sessions():
    """Sign out of every device, this one included (a lost phone, a shared one)."""
    store = db.session()
    member = g.member
    audit.record(
        store,
        action="sign_out",
        now=now(),
        actor=member,
        target_kind="member",
        target_id=member.id,
        details={"what": "mọi thiết bị"},  # i18n: not translated (the audit log is Vietnamese)
    )
    auth.end_every_session(member)  # commits
    return redirect(url_for("auth.signin", out="all"), code=303)


@bp.post("/account/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    """Sign out one other device of one's own."""
    store = db.session()
    record = store.get(WebSession, session_id)
    if record is None or record.member_id != g.member.id:
        abort(404)
    device = record.device or "Thiết bị"  # i18n: not translated (the audit log is Vietnamese)
    audit.record(
        store,
        action="sign_out",
        now=now(),
        actor=g.member,
        target_kind="member",
        target_id=g.member.id,
        details={"what": device},
    )
    here = auth.current_record()
    if here is not None and here.id == record.id:
        store.commit()
        auth.end_session()
        return redirect(url_for("auth.signin", out=1), code=303)
    sessions.end(store, record.id)
    store.commit()
    flash(_("Đã đăng xuất trên %(device)s.", device=record.device or _("Thiết bị")))
    return redirect(url_for("account.index"), code=303)


@bp.post("/account/language")
@login_required
def set_language():
    """Show this device's screens in the chosen language, from the next page on. Remembered in
    a cookie on the device; the phone's offline copies follow, because the offline pack's page
    versions carry the language (pwa/offline_pages.py)."""
    chosen = request.form.get("language", "")
    if chosen not in i18n.LANGUAGES:
        return errors.error_response(422, _("Hãy chọn một ngôn ngữ trong danh sách."))
    with force_locale(chosen):
        flash(_("Đã đổi ngôn ngữ. Các trang trên máy này sẽ hiện bằng tiếng Việt."))
    return i18n.remember(redirect(url_for("account.index"), code=303), chosen)
