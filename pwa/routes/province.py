"""The province's pages (issue 14): every commune of the province side by side (Toàn tỉnh), the
week's numbers, a commune's overview read-only, the Đề án 06 file sent upward, province
targets, and the province admin's team page. For province staff only, numbers only: what they
may see and why is fieldkit.policy's ("The province"); the numbers are
fieldkit.reporting.province's."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    Response,
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

from fieldkit import forms, members, policy, vocab
from fieldkit.errors import Invalid
from fieldkit.members import LINK_LIFETIME
from fieldkit.models import Member, Role
from fieldkit.reporting import charts, dashboards, exports, province, targets
from fieldkit.reporting.dashboards import Week
from fieldkit.reporting.indicators import LABELS
from pwa import db, errors, params
from pwa.auth import login_required
from pwa.qr import qr_svg
from pwa.refusals import refusals_logged
from pwa.render import render
from pwa.routes import now

bp = Blueprint("province", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _sorting() -> tuple[str, bool]:
    sort = params.choice("sort", province.SORTS, "name")
    return sort, params.choice("dir", ("asc", "desc"), "asc") == "desc"


@bp.get("/province")
@login_required
def index():
    """Every commune of the province in one sortable table, the coverage chart, the week's
    numbers (fetched after the page by htmx, so the table never waits for them)."""
    province_code = policy.require_province_reader(g.member)
    moment = now()
    today = forms.local_today(moment)
    sort, descending = _sorting()
    overview = province.overview(
        db.session(), province_code=province_code, today=today, sort=sort, descending=descending
    )
    # Weakest first: the communes the province has to help are at the top of the chart.
    shares = [
        charts.Share(row.name, row.values.reached.approved, row.values.households.approved)
        for row in overview.rows
    ]
    chart = charts.coverage(
        _("Tỷ lệ hộ đã tiếp cận theo xã (đã duyệt), thấp nhất trước"),
        sorted(shares, key=lambda share: (share.percent, share.label)),
    )
    return render(
        "province/index.html",
        overview=overview,
        columns=province.COLUMNS,
        labels=LABELS,
        sort=sort,
        descending=descending,
        chart=chart,
        week=Week.of(today),
        updated=moment,
        uses_htmx=True,
    )


@bp.get("/province/week")
@login_required
def week():
    """The week's numbers by commune: ?week=2026-W47, this week by default. A fragment for
    the overview's htmx request, a page of its own otherwise."""
    province_code = policy.require_province_reader(g.member)
    today = forms.local_today(now())
    try:
        shown = Week.parse(params.week("week"), today=today)
    except Invalid as error:
        return errors.error_response(400, error.errors["week"])
    rows = province.week_numbers(db.session(), province_code=province_code, week=shown)
    return render(
        "province/week.html",
        "province/_week.html",
        rows=rows,
        week=shown,
        previous=shown.previous(),
        next=shown.next() if shown.next().monday <= today else None,
        columns=province.WEEK_COLUMNS,
        labels=LABELS,
        province_name=province.province_name(province_code),
    )


@bp.get("/province/communes/<int:commune_id>")
@login_required
def commune(commune_id: int):
    """A commune's overview, read-only: its villages' numbers, no names of people."""
    session = db.session()
    place = policy.require_commune_of_province(session, g.member, commune_id)
    moment = now()
    sort = params.choice("sort", dashboards.SORTS, "name")
    descending = params.choice("dir", ("asc", "desc"), "asc") == "desc"
    overview = dashboards.commune_overview(
        session,
        commune_id=place.id,
        today=forms.local_today(moment),
        sort=sort,
        descending=descending,
    )
    return render(
        "villages/commune.html",
        commune=place,
        overview=overview,
        columns=dashboards.OVERVIEW_COLUMNS,
        labels=LABELS,
        sort=sort,
        descending=descending,
        reasons=vocab.reasons_of(overview.total),
        updated=moment,
        read_only=True,
        sort_endpoint="province.commune",
        sort_args={"commune_id": place.id},
    )


def _export(file_format: str):
    province_code = policy.require_province_reader(g.member)
    session = db.session()
    moment = now()
    today = forms.local_today(moment)
    tables = province.export_tables(
        province.overview(session, province_code=province_code, today=today)
    )
    if file_format == "xlsx":
        body, mimetype = exports.to_xlsx(tables), XLSX
    else:
        body, mimetype = exports.to_csv(tables[0]), "text/csv; charset=utf-8"
    province.record_export(
        session,
        member=g.member,
        province_code=province_code,
        file_format=file_format,
        rows=len(tables[0].rows),
        now=moment,
    )
    session.commit()
    response = Response(body, mimetype=mimetype)
    name = province.filename(province_code, extension=file_format, today=today)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/province/export.xlsx")
@login_required
def export_xlsx():
    return _export("xlsx")


@bp.get("/province/export.csv")
@login_required
def export_csv():
    return _export("csv")


# --- province targets -----------------------------------------------------------------------


def _period() -> tuple[str, date | None, date | None, dict[str, str]]:
    """(preset, start, end, errors) from the query string: this year, quarter or month, or
    typed dates (checked by fieldkit.reporting.targets: a bad one is shown beside its field)."""
    preset = params.choice("preset", [*targets.PRESETS, "custom"], "year")
    if preset in targets.PRESETS:
        start, end = targets.preset_period(preset, forms.local_today(now()))
        return preset, start, end, {}
    try:
        start, end = targets.parse_period(params.raw("start"), params.raw("end"))
    except Invalid as invalid:
        return "custom", None, None, invalid.errors
    return "custom", start, end, {}


def _targets_page(preset, start, end, period_errors, *, typed=None, cell_errors=None, status=200):
    province_code = policy.require_province_reader(g.member)
    session = db.session()
    today = forms.local_today(now())
    grid = (
        province.target_grid(
            session,
            province_code=province_code,
            period_start=start,
            period_end=end,
            today=today,
            typed=typed,
            errors=cell_errors,
        )
        if start and end
        else []
    )
    return render_template(
        "province/targets.html",
        grid=grid,
        labels=LABELS,
        editable=policy.can_set_province_targets(g.member),
        preset=preset,
        presets=targets.PRESETS,
        start=start,
        end=end,
        period_errors=period_errors,
        # The dates as typed, shown back when they were refused.
        typed_period={
            "start": params.text("start", max_length=20),
            "end": params.text("end", max_length=20),
        },
        cell_errors=cell_errors or {},
        periods=targets.province_periods(session, province_code=province_code),
        today=today,
        province_name=province.province_name(province_code),
    ), status


@bp.get("/province/targets")
@login_required
def targets_index():
    preset, start, end, period_errors = _period()
    return _targets_page(preset, start, end, period_errors, status=422 if period_errors else 200)


@bp.post("/province/targets")
@login_required
def targets_save():
    """Save every cell for the period, or none: a bad cell sends the form back as typed."""
    policy.require_can_set_province_targets(g.member)
    session = db.session()
    form = request.form
    preset = form.get("preset", "custom")
    try:
        changed = targets.save_province_grid(
            session,
            member=g.member,
            period_start=form.get("start"),
            period_end=form.get("end"),
            values=form,
            now=now(),
        )
    except Invalid as invalid:
        session.rollback()
        period_errors = {
            k: v for k, v in invalid.errors.items() if k in ("period_start", "period_end")
        }
        start = end = None
        if not period_errors:
            start, end = targets.parse_period(form.get("start"), form.get("end"))
        return _targets_page(
            preset, start, end, period_errors, typed=form, cell_errors=invalid.errors, status=422
        )
    session.commit()
    flash(
        _("Đã lưu chỉ tiêu của tỉnh: %(changed)s ô thay đổi.", changed=changed)
        if changed
        else _("Không có chỉ tiêu nào thay đổi.")
    )
    start, end = targets.parse_period(form.get("start"), form.get("end"))
    if preset in targets.PRESETS:
        return redirect(url_for("province.targets_index", preset=preset), 303)
    return redirect(
        url_for(
            "province.targets_index", preset="custom", start=start.isoformat(), end=end.isoformat()
        ),
        303,
    )


# --- the province's team ---------------------------------------------------------------------


def _require_team_manager() -> str:
    with refusals_logged("members_page"):
        return policy.require_can_manage_province_members(g.member)


def _team_member(member_id: int) -> Member:
    person = db.session().get(Member, member_id)
    if person is None or person.province_code != g.member.province_code:
        abort(404)
    return person


def _team_page(status: int = 200, **context):
    province_code = _require_team_manager()
    return render_template(
        "province/members.html",
        people=province.team(db.session(), province_code),
        invitable=[(r.value, vocab.ROLES[r]) for r in policy.invitable_roles(g.member)],
        province_name=province.province_name(province_code),
        form=context.pop("form", {}),
        form_errors=context.pop("form_errors", {}),
        **context,
    ), status


@bp.get("/province/members")
@login_required
def members_index():
    return _team_page()


@bp.post("/province/members")
@login_required
def members_add():
    _require_team_manager()
    session = db.session()
    form = request.form
    try:
        try:
            role = Role(form.get("role") or Role.province.value)
        except ValueError:
            raise Invalid({"role": _("Hãy chọn vai trò.")}) from None
        with refusals_logged("member_added"):
            person = province.add_member_by(
                session,
                g.member,
                name=form.get("name", ""),
                role=role,
                phone=form.get("phone"),
                now=now(),
            )
            token = members.invite(session, g.member, person, now=now())
    except Invalid as invalid:
        session.rollback()
        return _team_page(422, form=form, form_errors=invalid.errors)
    session.commit()
    return _invite_page(person, token, added=True)


@bp.post("/province/members/<int:member_id>/invite")
@login_required
def members_invite(member_id: int):
    _require_team_manager()
    person = _team_member(member_id)
    session = db.session()
    with refusals_logged("invite", person):
        token = members.invite(session, g.member, person, now=now())
    session.commit()
    return _invite_page(person, token)


@bp.post("/province/members/<int:member_id>/deactivate")
@login_required
def members_deactivate(member_id: int):
    _require_team_manager()
    person = _team_member(member_id)
    session = db.session()
    with refusals_logged("member_removed", person):
        members.deactivate(session, g.member, person, now=now())
    session.commit()
    flash(_("%(name)s đã thôi tham gia. Tài khoản này không đăng nhập được nữa.", name=person.name))
    return redirect(url_for("province.members_index"), code=303)


def _invite_page(person: Member, token: str, *, added: bool = False):
    url = f"{current_app.config['FIELDKIT_SETTINGS'].base_url}/signin/{token}"
    return render_template(
        "members/invite.html",
        person=person,
        url=url,
        added=added,
        qr=qr_svg(url),
        hours=int(LINK_LIFETIME.total_seconds() // 3600),
        back_url=url_for("province.members_index"),
    )
