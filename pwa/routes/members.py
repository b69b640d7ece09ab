"""The members page (Thành viên): a leader sees and looks after the volunteers of their village;
commune staff the whole commune — members, roles, villages. Invites are one-time links shown
with a QR code; for phones without passkeys, a one-time code to read out.

Every decision is fieldkit.policy's; a refusal is logged (audit "refused") and changes nothing.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from sqlalchemy import func
from sqlmodel import col, select

from fieldkit import audit, communes, forms, members, policy, sessions, vocab
from fieldkit.errors import Forbidden, Invalid
from fieldkit.members import CODE_LIFETIME, LINK_LIFETIME
from fieldkit.models import Member, Passkey, Role, Village
from pwa import db, i18n
from pwa.auth import login_required
from pwa.qr import qr_svg
from pwa.refusals import refusals_logged
from pwa.routes import now

bp = Blueprint("members", __name__)


def _require_manager() -> None:
    if not policy.can_manage_members(g.member):
        with refusals_logged("members_page"):
            raise Forbidden(_("Trang thành viên dành cho tổ trưởng và công chức xã."))


def _member(member_id: int) -> Member:
    member = db.session().get(Member, member_id)
    if member is None or member.commune_id != g.member.commune_id:
        abort(404)
    return member


def _village(village_id: str | None) -> Village | None:
    if not village_id:
        return None
    if forms.parse_id(village_id) is None:
        raise Invalid({"village": _("Hãy chọn thôn.")})
    village = db.session().get(Village, forms.parse_id(village_id))
    if village is None or village.commune_id != g.member.commune_id:
        raise Invalid({"village": _("Thôn này không thuộc xã.")})
    return village


def _role(value: str | None) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise Invalid({"role": _("Hãy chọn vai trò.")}) from None


def _page(status: int = 200, **context):
    store = db.session()
    scope = policy.scope_for(g.member)
    villages = communes.villages_of(store, scope.commune_id)
    statement = select(Member).where(Member.commune_id == scope.commune_id)
    if scope.village_id is not None:
        statement = statement.where(Member.village_id == scope.village_id)
    people = store.exec(statement.order_by(col(Member.active).desc(), Member.name)).all()
    keys = dict(
        store.exec(
            select(Passkey.member_id, func.count())
            .where(col(Passkey.revoked_at).is_(None))
            .group_by(Passkey.member_id)
        ).all()
    )
    village_names = {v.id: v.name for v in villages}
    invitable = [(r.value, vocab.ROLES[r]) for r in policy.invitable_roles(g.member)]
    return render_template(
        "members/index.html",
        people=people,
        keys=keys,
        villages=villages,
        village_names=village_names,
        invitable=invitable,
        policy=policy,
        commune_wide=policy.is_commune_wide(g.member),
        form=context.pop("form", {}),
        form_errors=context.pop("form_errors", {}),
        **context,
    ), status


def _back_to_members(store, invalid: Invalid):
    """A refused change on the members page: undo it and say why above the list."""
    store.rollback()
    flash(i18n.translate(next(iter(invalid.errors.values()))))
    return redirect(url_for("members.index"), code=303)


@bp.get("/members")
@login_required
def index():
    _require_manager()
    return _page()


@bp.post("/members")
@login_required
def add():
    _require_manager()
    store = db.session()
    form = request.form
    try:
        role = _role(form.get("role") or Role.volunteer.value)
        village = (
            _village(form.get("village_id"))
            if policy.is_commune_wide(g.member)
            else store.get(Village, g.member.village_id)
        )
        with refusals_logged("member_added"):
            person = members.add_member_by(
                store,
                g.member,
                name=form.get("name", ""),
                role=role,
                village=village,
                phone=form.get("phone"),
                now=now(),
            )
            token = members.invite(store, g.member, person, now=now())
    except Invalid as invalid:
        store.rollback()
        return _page(422, form=form, form_errors=invalid.errors)
    store.commit()
    return _invite_page(person, token, added=True)


@bp.post("/members/<int:member_id>/invite")
@login_required
def invite(member_id: int):
    _require_manager()
    person = _member(member_id)
    store = db.session()
    with refusals_logged("invite", person):
        token = members.invite(store, g.member, person, now=now())
    store.commit()
    return _invite_page(person, token)


def _invite_page(person: Member, token: str, *, added: bool = False):
    url = f"{current_app.config['FIELDKIT_SETTINGS'].base_url}/signin/{token}"
    return render_template(
        "members/invite.html",
        person=person,
        url=url,
        added=added,
        qr=qr_svg(url),
        hours=int(LINK_LIFETIME.total_seconds() // 3600),
    )


@bp.post("/members/<int:member_id>/code")
@login_required
def code(member_id: int):
    _require_manager()
    person = _member(member_id)
    store = db.session()
    try:
        with refusals_logged("code_issued", person):
            one_time = members.issue_code(store, g.member, person, now=now())
    except Invalid as invalid:
        return _back_to_members(store, invalid)
    store.commit()
    return render_template(
        "members/code.html",
        person=person,
        code=f"{one_time[:3]} {one_time[3:]}",
        minutes=int(CODE_LIFETIME.total_seconds() // 60),
    )


@bp.post("/members/<int:member_id>/deactivate")
@login_required
def deactivate(member_id: int):
    _require_manager()
    person = _member(member_id)
    store = db.session()
    with refusals_logged("member_removed", person):
        members.deactivate(store, g.member, person, now=now())
    store.commit()
    flash(_("%(name)s đã thôi tham gia. Tài khoản này không đăng nhập được nữa.", name=person.name))
    return redirect(url_for("members.index"), code=303)


@bp.post("/members/<int:member_id>/role")
@login_required
def change_role(member_id: int):
    _require_manager()
    person = _member(member_id)
    store = db.session()
    with refusals_logged("role_changed", person):
        # Who may change this person at all, before what they asked for is read.
        policy.require_can_change_role(g.member, person, person.role)
    try:
        role = _role(request.form.get("role"))
        village = _village(request.form.get("village_id"))
        with refusals_logged("role_changed", person):
            members.change_role(store, g.member, person, role, village=village, now=now())
    except Invalid as invalid:
        return _back_to_members(store, invalid)
    store.commit()
    flash(_("Đã cập nhật vai trò và thôn của %(name)s.", name=person.name))
    return redirect(url_for("members.index"), code=303)


@bp.post("/members/<int:member_id>/sessions/end")
@login_required
def end_sessions(member_id: int):
    """Commune staff sign a member out of every device (a lost or shared phone)."""
    _require_manager()
    person = _member(member_id)
    store = db.session()
    with refusals_logged("sign_out", person):
        policy.require_can_end_sessions_of(g.member, person)
    ended = sessions.end_all(store, person.id)
    audit.record(
        store,
        action="sign_out",
        now=now(),
        actor=g.member,
        target_kind="member",
        target_id=person.id,
        # i18n: not translated (the audit log is Vietnamese)
        details={"what": "mọi thiết bị", "name": person.name},
    )
    store.commit()
    flash(
        _(
            "Đã đăng xuất %(name)s khỏi mọi thiết bị (%(ended)s phiên).",
            name=person.name,
            ended=ended,
        )
    )
    return redirect(url_for("members.index"), code=303)


@bp.post("/members/villages")
@login_required
def add_village():
    _require_manager()
    store = db.session()
    try:
        with refusals_logged("village_added"):
            village = members.add_village(store, g.member, request.form.get("name", ""), now=now())
    except Invalid as invalid:
        return _back_to_members(store, invalid)
    store.commit()
    flash(_("Đã thêm %(name)s.", name=village.name))
    return redirect(url_for("members.index"), code=303)


@bp.post("/members/villages/<int:village_id>/rename")
@login_required
def rename_village(village_id: int):
    _require_manager()
    store = db.session()
    village = store.get(Village, village_id)
    if village is None or village.commune_id != g.member.commune_id:
        abort(404)
    try:
        with refusals_logged("village_renamed", village):
            members.rename_village(
                store, g.member, village, request.form.get("name", ""), now=now()
            )
    except Invalid as invalid:
        return _back_to_members(store, invalid)
    store.commit()
    flash(_("Đã đổi tên thôn thành %(name)s.", name=village.name))
    return redirect(url_for("members.index"), code=303)
