""" "Đưa dữ liệu vào" (issue 15): upload a household list or a team roster, see what it would do,
import it, undo it; print the new members' invites; merge duplicate households. The rules are
fieldkit.imports, fieldkit.roster and fieldkit.merge; who may do what is fieldkit.policy's.

The import itself runs as a job the batch page polls (pwa/jobs.py says why)."""

from __future__ import annotations

import csv
import io

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from fieldkit import communes, forms, imports, merge, policy, roster
from fieldkit.errors import Forbidden, Invalid, NotFound
from fieldkit.models import ImportBatch, ImportKind, ImportStatus, Member, Village
from pwa import db, i18n, jobs, params
from pwa.auth import login_required
from pwa.qr import qr_svg
from pwa.render import render
from pwa.routes import now

bp = Blueprint("imports", __name__)

# Uploads may be larger than the app's usual 2 MB (a 10,000-row CSV is ~1 MB, 30,000 people
# about 3 MB); fieldkit.imports refuses past 20 MB with a message.
MAX_UPLOAD = imports.MAX_FILE_BYTES + 64 * 1024
KINDS = {ImportKind.households: _l("Hộ và nhân khẩu"), ImportKind.team: _l("Danh sách tổ")}
STATUS = {
    ImportStatus.previewed: _l("Chờ xác nhận"),
    ImportStatus.queued: _l("Đang đưa vào"),
    ImportStatus.running: _l("Đang đưa vào"),
    ImportStatus.done: _l("Đã đưa vào"),
    ImportStatus.failed: _l("Chưa đưa vào được"),
    ImportStatus.undone: _l("Đã hoàn tác"),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Invites per A4 sheet: 2 across, 4 down (each with a QR big enough to scan from a table).
INVITES_PER_SHEET = 8


@bp.url_value_preprocessor
def _larger_uploads(endpoint: str | None, _values) -> None:
    """The upload routes take files up to MAX_UPLOAD. Set here, before any before_request
    function: CSRF protection reads the form (and with it the body) before the view runs."""
    if endpoint in ("imports.upload", "imports.upload_team"):
        request.max_content_length = MAX_UPLOAD


def _importer() -> imports.Importer:
    return imports.Importer.of(g.member)


def _villages() -> list[Village]:
    importer = _importer()
    villages = communes.villages_of(db.session(), importer.commune_id)
    if importer.village_id is not None:
        villages = [v for v in villages if v.id == importer.village_id]
    return villages


def _index(status: int = 200, errors: dict | None = None, kind: str = ""):
    session = db.session()
    importer = _importer()
    if imports.forget_stale(session, commune_id=importer.commune_id, now=now()):
        session.commit()
    return render(
        "imports/index.html",
        batches=imports.batches(session, g.member),
        villages=_villages(),
        leader_village=importer.village_id,
        errors=errors or {},
        failed_kind=kind,
        chosen_village=forms.parse_id(request.form.get("village_id")) if kind else None,
        kinds=KINDS,
        statuses=STATUS,
        status=status,
    )


@bp.get("/imports")
@login_required
def index():
    """Upload a list, download a template, the batches so far."""
    return _index()


@bp.get("/imports/template.xlsx")
@login_required
def template():
    data = imports.template(db.session(), _importer())
    return _download(data, "mau-danh-sach-ho.xlsx", XLSX)


@bp.get("/imports/team-template.xlsx")
@login_required
def team_template():
    data = roster.template(db.session(), _importer())
    return _download(data, "mau-danh-sach-to.xlsx", XLSX)


def _download(data: bytes, name: str, mimetype: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def _upload(kind: ImportKind):
    importer = _importer()  # who, before reading what was sent
    upload = request.files.get("file")
    data = upload.read() if upload else b""
    village_id = forms.parse_id(request.form.get("village_id"))
    session = db.session()
    try:
        if not upload or not upload.filename:
            raise Invalid({"file": _("Hãy chọn tệp danh sách (.xlsx hoặc .csv).")})
        if village_id is not None:
            village = session.get(Village, village_id)
            if village is None or not policy.scope_for(g.member).covers_village(village):
                raise Invalid({"village_id": _("Thôn này không thuộc phạm vi của bạn.")})
        batch = imports.start(
            session,
            importer,
            kind=kind,
            file_name=upload.filename,
            data=data,
            now=now(),
            village_id=village_id,
        )
    except Invalid as invalid:
        session.rollback()
        return _index(422, invalid.errors, kind.value)
    session.commit()
    return redirect(url_for("imports.show", batch_id=batch.id), 303)


@bp.post("/imports")
@login_required
def upload():
    """A household list: read it, keep it in a batch with its preview; nothing else written."""
    return _upload(ImportKind.households)


@bp.post("/imports/team")
@login_required
def upload_team():
    return _upload(ImportKind.team)


def _batch(batch_id: int) -> ImportBatch:
    return imports.require_batch(db.session(), g.member, batch_id)


def _context(batch: ImportBatch) -> dict:
    session = db.session()
    importer = _importer()
    headers = batch.rows.get("headers") or []
    mapping = imports.mapping_of(batch) if headers else []
    context = {
        "batch": batch,
        "kinds": KINDS,
        "statuses": STATUS,
        "preview": batch.preview or {},
        "counts": batch.counts or (batch.preview or {}).get("counts") or {},
        "columns": list(zip(headers, mapping, strict=True)),
        "choices": imports.field_choices(batch.kind),
        "villages": _villages(),
        "village_column": "village" in mapping,
        "chosen_village": batch.options.get("village_id"),
        "create_villages": set(batch.options.get("create_villages") or []),
        "may_create_villages": importer.may_create_villages,
        "abandoned": imports.is_abandoned(batch, now()),
        "elapsed": max(int((now() - batch.started_at).total_seconds()), 0)
        if batch.started_at
        else 0,
        "blockers": [],
        "new_members": [],
        "created_by": None,
    }
    if batch.created_by_id:
        context["created_by"] = session.get(Member, batch.created_by_id)
    if batch.status is ImportStatus.done:
        context["blockers"] = imports.undo_blockers(session, batch)
        if batch.kind is ImportKind.team:
            context["new_members"] = roster.new_members(session, batch)
    return context


@bp.get("/imports/<int:batch_id>")
@login_required
def show(batch_id: int):
    """The batch: its preview and choices, its progress while it imports, then its result."""
    batch = _batch(batch_id)
    context = _context(batch)
    return render(
        "imports/batch.html",
        uses_htmx=batch.status in (ImportStatus.queued, ImportStatus.running),
        **context,
    )


@bp.get("/imports/<int:batch_id>/status")
@login_required
def status(batch_id: int):
    """What the batch page polls while the import works: the progress box, or — once the batch
    has finished — a full reload of the page to show the result."""
    batch = _batch(batch_id)
    working = batch.status in (ImportStatus.queued, ImportStatus.running)
    polled = bool(request.headers.get("HX-Request"))
    if working and polled and not imports.is_abandoned(batch, now()):
        response = render("imports/_status.html", **_context(batch))
        response.headers["Cache-Control"] = "no-store"
        return response
    # Finished (or opened by hand): the batch's page says the rest.
    response = Response("", 204 if polled else 303)
    if polled:
        response.headers["HX-Refresh"] = "true"
    else:
        response.headers["Location"] = url_for("imports.show", batch_id=batch.id)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/imports/<int:batch_id>/options")
@login_required
def options(batch_id: int):
    """The person's choices: column mapping, the file's village, the villages to create."""
    batch = _batch(batch_id)
    session = db.session()
    form = request.form
    headers = batch.rows.get("headers") or []
    mapping = [form.get(f"column-{i}", "") for i in range(len(headers))] if headers else None
    try:
        imports.configure(
            session,
            batch,
            _importer(),
            mapping=mapping if "column-0" in form else None,
            village_id=forms.parse_id(form.get("village_id")),
            create_villages=form.getlist("create_village") if "villages_shown" in form else None,
            now=now(),
        )
    except Invalid as invalid:
        session.rollback()
        flash(i18n.translate(next(iter(invalid.errors.values()))))
        return redirect(url_for("imports.show", batch_id=batch.id), 303)
    session.commit()
    flash(_("Đã cập nhật. Xem lại số liệu bên dưới trước khi đưa vào."))
    return redirect(url_for("imports.show", batch_id=batch.id), 303)


@bp.post("/imports/<int:batch_id>/run")
@login_required
def run(batch_id: int):
    """Start the import. Twice clicked, started once."""
    batch = _batch(batch_id)
    session = db.session()
    waiting = batch.status in (ImportStatus.previewed, ImportStatus.failed)
    if waiting and (batch.preview.get("problems") or not batch.rows):
        flash(_("Đợt này chưa đưa vào được: xem lại các cột của tệp, hoặc tải tệp lên lại."))
        return redirect(url_for("imports.show", batch_id=batch.id), 303)
    if not imports.claim(session, batch, now=now()):
        session.rollback()
        flash(_("Đợt này đã được đưa vào hoặc đang đưa vào."))
        return redirect(url_for("imports.show", batch_id=batch.id), 303)
    session.commit()
    if batch.kind is ImportKind.team:
        # A roster is a few hundred rows: imported in the request, its invites ready after.
        try:
            imports.run(session, batch.id, _importer(), now=now())
            session.commit()
        except Invalid as invalid:
            session.rollback()
            imports.fail(session, batch.id, " ".join(invalid.errors.values()), now=now())
            session.commit()
    else:
        jobs.start_import(current_app._get_current_object(), batch.id, g.member.id)
    return redirect(url_for("imports.show", batch_id=batch.id), 303)


@bp.post("/imports/<int:batch_id>/undo")
@login_required
def undo(batch_id: int):
    batch = _batch(batch_id)
    session = db.session()
    try:
        imports.undo(session, batch, _importer(), now=now())
    except imports.UndoRefused as refused:
        session.rollback()
        flash(i18n.message_of(refused))
        return redirect(url_for("imports.show", batch_id=batch.id), 303)
    session.commit()
    flash(_("Đã hoàn tác đợt đưa dữ liệu này."))
    return redirect(url_for("imports.show", batch_id=batch.id), 303)


@bp.get("/imports/<int:batch_id>/refused.csv")
@login_required
@i18n.in_vietnamese
def refused_csv(batch_id: int):
    """Every refused row with its reason, to fix in the file (UTF-8 with BOM for Excel)."""
    batch = _batch(batch_id)
    rows = imports.refused_rows(db.session(), batch, _importer(), now=now())
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow([_("Dòng"), _("Lý do")])
    for line, reason in rows:
        # Our own Vietnamese sentences; one starting like a formula is quoted for Excel.
        writer.writerow([line, ("'" + reason) if reason[:1] in "=+-@" else reason])
    return _download(
        ("\ufeff" + out.getvalue()).encode(), f"dong-bi-tu-choi-{batch.id}.csv", "text/csv"
    )


@bp.post("/imports/<int:batch_id>/invites")
@login_required
def invites(batch_id: int):
    """The A4 sheet of invite QR codes for the members a roster added: fresh one-time links
    (24 h) each time it is printed; earlier links keep working until they expire."""
    from fieldkit import members

    batch = _batch(batch_id)
    if batch.kind is not ImportKind.team or batch.status is not ImportStatus.done:
        raise NotFound(_("Đợt này không có phiếu mời để in."))
    session = db.session()
    people = roster.new_members(session, batch)
    base = current_app.config["FIELDKIT_SETTINGS"].base_url
    cards = []
    for person in people:
        token = members.invite(session, g.member, person, now=now())
        url = f"{base}/signin/{token}"
        cards.append(
            (person, url, qr_svg(url, border=2, label=_("Mã mời %(name)s", name=person.name)))
        )
    session.commit()
    names = {v.id: v.name for v in communes.villages_of(session, g.member.commune_id)}
    sheets = [cards[i : i + INVITES_PER_SHEET] for i in range(0, len(cards), INVITES_PER_SHEET)]
    return render_template(
        "imports/invites.html",
        batch=batch,
        sheets=sheets,
        count=len(cards),
        village_names=names,
        uses_print=True,
    )


# --- duplicates and merging -------------------------------------------------------------------


def _other(value: str | None) -> int:
    """The other household a merge link (`?from=`) or form names. Who may merge is asked
    first: a volunteer gets 403 whatever the request says."""
    if not policy.can_merge_households(g.member):
        raise Forbidden(_("Chỉ công chức xã được gộp hộ trùng."))
    other = forms.parse_id(value)
    if other is None:
        raise NotFound(_("Không tìm thấy hộ này."))
    return other


@bp.get("/households/<int:household_id>/merge")
@login_required
def merge_page(household_id: int):
    """Confirm merging household `?from=` into this one: what moves, who is the same person."""
    session = db.session()
    plan = merge.plan_merge(session, g.member, household_id, _other(params.raw("from")))
    village = session.get(Village, plan.survivor.village_id)
    return render("imports/merge.html", plan=plan, village=village, errors={})


@bp.post("/households/<int:household_id>/merge")
@login_required
def merge_households(household_id: int):
    session = db.session()
    merged_id = _other(request.form.get("from"))
    combine = {forms.parse_id(value) for value in request.form.getlist("combine")} - {None}
    try:
        merge.merge_households(
            session, g.member, household_id, merged_id, combine=combine, now=now()
        )
    except Invalid as invalid:
        session.rollback()
        plan = merge.plan_merge(session, g.member, household_id, merged_id)
        village = session.get(Village, plan.survivor.village_id)
        return render(
            "imports/merge.html", plan=plan, village=village, errors=invalid.errors, status=422
        )
    session.commit()
    flash(_("Đã gộp hai hộ. Mọi nhân khẩu, lượt thăm và lịch sử đã chuyển về hộ này."))
    return redirect(url_for("households.show", household_id=household_id), 303)


@bp.post("/households/<int:household_id>/not-duplicate")
@login_required
def not_duplicate(household_id: int):
    """Staff looked: two different households. Back to where they were."""
    session = db.session()
    merge.dismiss(session, g.member, household_id, _other(request.form.get("other")), now=now())
    session.commit()
    flash(_("Đã ghi nhận: hai hộ này khác nhau, không báo trùng nữa."))
    if request.form.get("back") == "review":
        return redirect(url_for("review.index"), 303)
    return redirect(url_for("households.show", household_id=household_id), 303)
