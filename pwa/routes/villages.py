"""Dashboards (issue 5): a village's numbers for its team, the commune overview for commune
staff, a volunteer's drill-down and the weekly print view. Server-rendered, no JavaScript
needed (share.js only adds the Zalo button). The numbers come from fieldkit.reporting.indicators and
fieldkit.reporting.dashboards; the charts from fieldkit.reporting.charts."""

from __future__ import annotations

from flask import Blueprint, current_app, g
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from fieldkit import forms, policy, vocab
from fieldkit.errors import Forbidden, Invalid, NotFound
from fieldkit.models import Commune, Member, Village
from fieldkit.policy import Scope
from fieldkit.reporting import charts, dashboards, targets
from fieldkit.reporting.dashboards import ShareNumbers, Week
from fieldkit.reporting.indicators import LABELS, REVIEWED, village_indicators
from pwa import db, errors, params
from pwa.auth import login_required
from pwa.render import render
from pwa.routes import now

bp = Blueprint("villages", __name__)

FUNNEL = dashboards.FUNNEL
FUNNEL_LABELS = {
    "vneid_level1": _l("Cài đặt, mức 1"),
    "vneid_activated": _l("Kích hoạt"),
    "vneid_level2_referred": _l("Chuyển công an mức 2"),
    "vneid_level2_done": _l("Đã mức 2"),
}
SERVICES = dashboards.SERVICES


def _followups(session, scope: Scope, today):
    """The follow-up counts for the box on the dashboard, once the follow-ups page exists
    (fieldkit.followups and its blueprint arrive separately)."""
    if "followups.index" not in current_app.view_functions:
        return None
    from fieldkit import followups

    return followups.followup_counts(session, scope=scope, today=today)


@bp.get("/villages")
@login_required
def index():
    """The entry: commune staff land on the commune overview, a village's team on its
    dashboard (rendered here, no redirect: one round trip less on 3G)."""
    if policy.is_commune_wide(g.member):
        return _overview()
    scope = policy.scope_for(g.member)
    return _dashboard(policy.require_village(db.session(), g.member, scope.village_id))


@bp.get("/villages/commune")
@login_required
def commune():
    policy.require_commune_staff(g.member)
    return _overview()


@bp.get("/villages/<int:village_id>")
@login_required
def show(village_id: int):
    return _dashboard(policy.require_village(db.session(), g.member, village_id))


def _overview():
    session = db.session()
    scope = policy.scope_for(g.member)
    moment = now()
    sort = params.choice("sort", dashboards.SORTS, "name")
    descending = params.choice("dir", ("asc", "desc"), "asc") == "desc"
    overview = dashboards.commune_overview(
        session,
        commune_id=scope.commune_id,
        today=forms.local_today(moment),
        sort=sort,
        descending=descending,
    )
    return render(
        "villages/commune.html",
        commune=session.get(Commune, scope.commune_id),
        overview=overview,
        columns=dashboards.OVERVIEW_COLUMNS,
        labels=LABELS,
        sort=sort,
        descending=descending,
        reasons=vocab.reasons_of(overview.total),
        updated=moment,
        read_only=False,
        sort_endpoint="villages.commune",
        sort_args={},
    )


def _dashboard(village: Village):
    session = db.session()
    member = g.member
    moment = now()
    today = forms.local_today(moment)
    week = Week.of(today)
    scope = Scope(commune_id=village.commune_id, village_id=village.id)
    (values,) = village_indicators(session, scope=scope)
    in_force = targets.targets_for(session, commune_id=village.commune_id, on=today)
    funnel = dashboards.lines(values, in_force, village_id=village.id, keys=FUNNEL)
    weeks = dashboards.per_week(session, village_id=village.id, last=week)
    people = dashboards.per_volunteer(session, village_id=village.id)
    if not policy.can_see_each_volunteer(member):
        people = dashboards.VolunteerTable(
            rows=[row for row in people.rows if row.member_id == member.id], total=people.total
        )
    due_today = dashboards.follow_ups_due(session, village_id=village.id, on=today)
    reached_today = dashboards.new_today(session, village_id=village.id, today=today)
    share = dashboards.share_text(
        village=village,
        week=week,
        numbers=ShareNumbers(values, weeks[-1], reached_today),
        follow_ups_today=due_today,
    )
    return render(
        "villages/dashboard.html",
        village=village,
        values=values,
        week=week,
        weeks=weeks,
        reached=dashboards.lines(values, in_force, village_id=village.id, keys=("reached",))[0],
        coverage=dashboards.coverage_percent(values),
        funnel=funnel,
        services=dashboards.lines(values, in_force, village_id=village.id, keys=SERVICES),
        funnel_chart=charts.horizontal_bars(
            _("Phễu VNeID: số người theo từng bước"),
            [
                charts.Bar(FUNNEL_LABELS[line.key], line.count.approved, line.count.pending)
                for line in funnel
            ],
            legend=(_("Đã duyệt"), _("Chờ duyệt")),
        ),
        funnel_labels=FUNNEL_LABELS,
        weeks_chart=charts.column_bars(
            _("Lượt thăm theo tuần, 8 tuần gần nhất"),
            [
                charts.Bar(str(row.week.number), row.visits.approved, row.visits.pending)
                for row in weeks
            ],
            legend=(_("Đã duyệt"), _("Chờ duyệt")),
        ),
        people=people,
        sees_everyone=policy.can_see_each_volunteer(member),
        reasons=vocab.reasons_of(values),
        followups=_followups(session, scope, today),
        due_today=due_today,
        share=share,
        updated=moment,
        commune_wide=policy.is_commune_wide(member),
        can_export=policy.can_export(member),
        uses_share=True,
    )


@bp.get("/villages/<int:village_id>/volunteers/<int:member_id>")
@login_required
def volunteer(village_id: int, member_id: int):
    """One person's households and latest visits in the village: for leaders and staff."""
    session = db.session()
    village = policy.require_village(session, g.member, village_id)
    if not policy.can_see_each_volunteer(g.member):
        raise Forbidden(_("Chỉ tổ trưởng và công chức xã xem số liệu của từng thành viên."))
    person = session.get(Member, member_id)
    if person is None or person.commune_id != village.commune_id:
        raise NotFound(_("Không tìm thấy thành viên này."))
    table = dashboards.per_volunteer(session, village_id=village.id)
    row = next((row for row in table.rows if row.member_id == person.id), None)
    if row is None:
        raise NotFound(_("Người này không làm việc ở thôn này."))
    return render(
        "villages/volunteer.html",
        village=village,
        person=person,
        row=row,
        households=dashboards.volunteer_households(
            session, village_id=village.id, member_id=person.id
        ),
        visits=dashboards.recent_visits(session, village_id=village.id, member_id=person.id),
    )


@bp.get("/villages/<int:village_id>/week")
@login_required
def week(village_id: int):
    """The weekly report, laid out for an A4 sheet: ?week=2026-W47, this week by default."""
    session = db.session()
    village = policy.require_village(session, g.member, village_id)
    moment = now()
    today = forms.local_today(moment)
    try:
        shown = Week.parse(params.week("week"), today=today)
    except Invalid as error:
        return errors.error_response(400, error.errors["week"])
    scope = Scope(commune_id=village.commune_id, village_id=village.id)
    (in_week,) = village_indicators(session, scope=scope, since=shown.since, until=shown.until)
    (so_far,) = village_indicators(session, scope=scope, until=shown.until)
    in_force = targets.targets_for(
        session, commune_id=village.commune_id, on=min(shown.sunday, today)
    )
    people = dashboards.per_volunteer(
        session, village_id=village.id, since=shown.since, until=shown.until
    )
    if not policy.can_see_each_volunteer(g.member):
        people = None
    keys = [key for key in LABELS if key != "households"]
    return render(
        "villages/week.html",
        village=village,
        week=shown,
        commune=session.get(Commune, village.commune_id),
        rows=list(
            zip(
                dashboards.lines(in_week, {}, village_id=village.id, keys=keys),
                dashboards.lines(so_far, in_force, village_id=village.id, keys=keys),
                strict=True,
            )
        ),
        households=so_far.households,
        coverage=dashboards.coverage_percent(so_far),
        people=people,
        reasons=vocab.reasons_of(in_week),
        follow_ups=dashboards.follow_up_households(
            session, village_id=village.id, until=shown.sunday
        ),
        previous=shown.previous(),
        next=shown.next() if shown.next().monday <= today else None,
        reviewed=REVIEWED,
        printed=moment,
        uses_print=True,
    )
