"""Downloads for leaders (their village) and commune staff (the commune): the indicators by
village and the visits, as CSV or XLSX, optionally for ?from=YYYY-MM-DD&to=YYYY-MM-DD. Each
download is written in the audit log before it is sent."""

from __future__ import annotations

from flask import Blueprint, Response, g

from fieldkit import forms, policy
from fieldkit.errors import Invalid
from fieldkit.reporting import exports
from pwa import db, errors, params
from pwa.auth import login_required
from pwa.routes import now

bp = Blueprint("exports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What the audit log and the file name call each topic.
TOPICS = {"indicators": "chi-tieu", "visits": "luot-tham"}


def _send(topic: str, file_format: str):
    scope = policy.require_can_export(g.member)
    try:
        since, until = exports.period(params.raw("from"), params.raw("to"))
    except Invalid as error:
        return errors.error_response(400, " ".join(error.errors.values()))
    session = db.session()
    if topic == "indicators":
        tables = [exports.indicators_table(session, scope=scope, since=since, until=until)]
        if file_format == "xlsx":
            tables.append(exports.reasons_table(session, scope=scope, since=since, until=until))
            tables.append(exports.targets_table(session, scope=scope, on=forms.local_today(now())))
    else:
        tables = [exports.visits_table(session, scope=scope, since=since, until=until)]
    if file_format == "xlsx":
        body, mimetype = exports.to_xlsx(tables), XLSX
    else:
        body, mimetype = exports.to_csv(tables[0]), "text/csv; charset=utf-8"
    moment = now()
    exports.record_export(
        session,
        member=g.member,
        scope=scope,
        what=topic,
        file_format=file_format,
        rows=len(tables[0].rows),
        since=since,
        until=until,
        now=moment,
    )
    session.commit()
    name = exports.filename(
        session,
        scope=scope,
        topic=TOPICS[topic],
        extension=file_format,
        today=forms.local_today(moment),
    )
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/exports/indicators.csv")
@login_required
def indicators_csv():
    return _send("indicators", "csv")


@bp.get("/exports/indicators.xlsx")
@login_required
def indicators_xlsx():
    return _send("indicators", "xlsx")


@bp.get("/exports/visits.csv")
@login_required
def visits_csv():
    return _send("visits", "csv")


@bp.get("/exports/visits.xlsx")
@login_required
def visits_xlsx():
    return _send("visits", "xlsx")
