"""The review loop's pages (DESIGN.md §3): commune staff's inbox (/review) with one-by-one and
many-at-once decisions; a household's record histories; the field's returned records
(/returned) and the form that fixes one. The rules are fieldkit.review's. Every page works
without script; the returned-record form goes through the phone's outbox when it can, so a
fix made offline is sent later like any field write."""

from __future__ import annotations

import uuid

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlmodel import select

from fieldkit import catalogue, communes, forms, households, merge, policy, review, sync
from fieldkit.errors import Invalid
from fieldkit.models import Member, RecordKind, ReviewState, Village
from pwa import db, i18n, params
from pwa.auth import login_required
from pwa.render import is_fragment_request, render
from pwa.routes import now

bp = Blueprint("review", __name__)

AGES = {
    "": _l("Mọi lúc"),
    "1": _l("Chờ quá 1 ngày"),
    "3": _l("Chờ quá 3 ngày"),
    "7": _l("Chờ quá 7 ngày"),
}
DECISION_WORDS = {
    "approve": ReviewState.approved,
    "return": ReviewState.returned,
    "reject": ReviewState.rejected,
}
DONE = {
    ReviewState.approved: _l("Đã duyệt"),
    ReviewState.returned: _l("Đã trả lại"),
    ReviewState.rejected: _l("Đã từ chối"),
}


def _filters(form=None) -> dict[str, str]:
    """The inbox's filters as they appear in its URL (kept across a decision, in the form's
    hidden fields); unknown values are no filter."""
    if form is None:
        kind, age = (
            params.choice("kind", RecordKind.__members__, ""),
            params.choice("age", AGES, ""),
        )
        village, volunteer = params.row_id("village"), params.row_id("volunteer")
    else:
        kind, age = form.get("kind", ""), form.get("age", "")
        village, volunteer = (
            forms.parse_id(form.get("village")),
            forms.parse_id(form.get("volunteer")),
        )
    return {
        "village": str(village or ""),
        "volunteer": str(volunteer or ""),
        "kind": kind if kind in RecordKind.__members__ else "",
        "age": age if age in AGES else "",
    }


def _inbox_page(status: int = 200, *, errors: dict | None = None, open_key: str = "", form=None):
    """The inbox; to an htmx decision that was refused, only the record's item with the
    message (review/_entry.html), or a line saying it is gone when it left the inbox."""
    policy.require_commune_staff(g.member)
    session = db.session()
    filters = _filters(form)
    box = review.inbox(
        session,
        member=g.member,
        now=now(),
        village_id=forms.parse_id(filters["village"]),
        volunteer_id=forms.parse_id(filters["volunteer"]),
        kind=RecordKind(filters["kind"]) if filters["kind"] else None,
        older_than_days=forms.parse_id(filters["age"]),
    )
    # --- possible duplicate households (issue 15) ---
    pairs, pairs_total = merge.possible_duplicates(
        session, commune_id=g.member.commune_id, village_id=forms.parse_id(filters["village"])
    )
    duplicates = {
        "pairs": pairs if filters["kind"] in ("", "household") else [],
        "total": pairs_total,
    }
    # ---
    # Possible duplicate visits (issue 11): shown above the list while any waits for a decision.
    duplicate_visits = (
        review.possible_duplicate_visits(
            session,
            member=g.member,
            village_id=forms.parse_id(filters["village"]),
            volunteer_id=forms.parse_id(filters["volunteer"]),
        )
        if filters["kind"] in ("", RecordKind.visit.value)
        else []
    )
    villages = communes.villages_of(session, g.member.commune_id)
    volunteers = session.exec(
        select(Member)
        .where(
            Member.commune_id == g.member.commune_id,
            policy.field_members(),
        )
        .order_by(Member.name)
    ).all()
    item = open_key.rsplit(":", 2)[0] if open_key else ""
    entry = next((e for e in box.entries if f"{e.kind.value}:{e.record_id}" == item), None)
    if entry is None and is_fragment_request():
        return render(
            "review/index.html",
            "review/_decided.html",
            item_id=f"done-{item.replace(':', '-')}",
            outcome=(errors or {}).get("form", ""),
            household=None,
            reason="",
            total=box.total,
            status=status,
        )
    return render(
        "review/index.html",
        "review/_entry.html",
        entry=entry,
        in_place=is_fragment_request(),
        uses_htmx=True,
        box=box,
        duplicate_visits=duplicate_visits,
        filters=filters,
        villages=villages,
        volunteers=volunteers,
        kinds=review.KIND_LABELS,
        ages=AGES,
        reasons=review.COMMON_REASONS,
        errors=errors or {},
        open_key=open_key,
        ticked=set(form.getlist("records")) if form is not None else set(),
        duplicates=duplicates,
        status=status,
    )


@bp.get("/review")
@login_required
def index():
    """Commune staff's inbox: pending field records, oldest first, with filters."""
    return _inbox_page()


def _back():
    filters = {k: v for k, v in _filters(request.form).items() if v}
    return redirect(url_for("review.index", **filters), 303)


@bp.post("/review/decide")
@login_required
def decide():
    """One decision on one record: Duyệt, Trả lại (reason) or Từ chối (reason)."""
    policy.require_commune_staff(g.member)
    session = db.session()
    form = request.form
    decision = DECISION_WORDS.get(form.get("decision", ""))
    key = form.get("record", "")
    # A one-tap reason and the words typed after it read as one sentence: "Thiếu mã hồ sơ:
    # dòng VNeID".
    reason = ": ".join(
        part
        for part in (form.get("reason_choice", "").strip(), form.get("reason", "").strip())
        if part
    )
    try:
        choice = review.Choice.parse(key)
        if decision is None:
            raise Invalid({"decision": _("Hãy chọn Duyệt, Trả lại hoặc Từ chối.")})
        review.decide(
            session,
            member=g.member,
            kind=choice.kind,
            record_id=choice.record_id,
            decision=decision,
            reason=reason,
            now=now(),
            expected_revision=choice.revision,
        )
    except (Invalid, review.ReviewRefused) as refused:
        session.rollback()
        errors = refused.errors if isinstance(refused, Invalid) else {"form": str(refused)}
        return _inbox_page(
            422 if isinstance(refused, Invalid) else 409,
            errors=errors,
            open_key=f"{key}:{form.get('decision', '')}",
            form=form,
        )
    session.commit()
    if is_fragment_request():
        return _decided(choice, decision, reason)
    flash(
        _("%(value)s hồ sơ.", value=DONE[decision])
        + (_(" Lý do: %(reason)s", reason=reason) if reason else "")
    )
    return _back()


def _decided(choice: review.Choice, decision: ReviewState, reason: str):
    """An htmx decision's answer: the record's item says what was done; the count follows."""
    session = db.session()
    filters = _filters(request.form)
    remaining = review.inbox(
        session,
        member=g.member,
        now=now(),
        village_id=forms.parse_id(filters["village"]),
        volunteer_id=forms.parse_id(filters["volunteer"]),
        kind=RecordKind(filters["kind"]) if filters["kind"] else None,
        older_than_days=forms.parse_id(filters["age"]),
        limit=0,
    )
    return render(
        "review/_decided.html",
        item_id=f"done-{choice.kind.value}-{choice.record_id}",
        outcome=_("%(value)s hồ sơ", value=DONE[decision]),
        household=review.household_of(session, choice.kind, choice.record_id),
        reason=reason,
        total=remaining.total,
    )


@bp.post("/review/approve")
@login_required
def approve_many():
    """Approve every ticked record, or none of them."""
    policy.require_commune_staff(g.member)
    session = db.session()
    try:
        choices = [review.Choice.parse(key) for key in request.form.getlist("records")]
        made = review.approve_many(session, member=g.member, choices=choices, now=now())
    except (Invalid, review.ReviewRefused) as refused:
        session.rollback()
        message = (
            refused.errors.get("records") or next(iter(refused.errors.values()))
            if isinstance(refused, Invalid)
            else str(refused)
        )
        return _inbox_page(
            422 if isinstance(refused, Invalid) else 409,
            errors={"form": message},
            form=request.form,
        )
    session.commit()
    flash(_("Đã duyệt %(count)s hồ sơ.", count=len(made)))
    return _back()


@bp.get("/households/<int:household_id>/reviews")
@login_required
def household_history(household_id: int):
    """Every field record of a household with its revisions (what changed) and decisions."""
    session = db.session()
    household = policy.require_household(session, g.member, household_id)
    records = review.household_records(session, household)
    return render(
        "review/history.html",
        household=household,
        records=records,
        village=session.get(Village, household.village_id),
    )


# --- the field: returned records ------------------------------------------------------------


@bp.get("/returned")
@login_required
def returned():
    """ "Bị trả lại (n)": the member's records sent back for fixing, each with its reason."""
    policy.require_can_record(g.member)
    entries = review.returned(db.session(), g.member)
    return render("review/returned.html", entries=entries)


def _edit_context(entry: review.ReturnedEntry) -> dict:
    session = db.session()
    values = review.content_of(session, entry.kind, entry.record)
    context = {
        "entry": entry,
        "household": entry.household,
        "residents": [],
        "services": [],
        "line_indices": [0],
        "this_year": forms.local_today(now()).year,
    }
    if entry.kind is RecordKind.visit:
        lines = values.pop("lines")
        for index, line in enumerate(lines):
            for name, value in line.items():
                values[f"lines-{index}-{name}"] = value
        context.update(
            residents=households.residents_of(session, entry.household),
            services=catalogue.active_services(session),
            line_indices=list(range(len(lines))) or [0],
        )
    if entry.kind is RecordKind.household_edit:
        # The whole basics form, as the household stands with the edit applied.
        household = entry.household
        values = {
            "label": household.label,
            "head_name": household.head_name,
            "address_hint": household.address_hint,
            "smartphones": "" if household.smartphones is None else household.smartphones,
            "internet_at_home": {True: "yes", False: "no", None: ""}[household.internet_at_home],
        }
    values = {name: "" if value is None else str(value) for name, value in values.items()}
    values["uuid"] = str(uuid.uuid4())
    context["values"] = values
    return context


def _returned_entry(kind: str, record_uuid: str) -> review.ReturnedEntry:
    policy.require_can_record(g.member)
    if kind not in RecordKind.__members__:
        abort(404)
    return review.find_returned(db.session(), g.member, RecordKind(kind), record_uuid)


@bp.get("/returned/<kind>/<record_uuid>")
@login_required
def edit_returned(kind: str, record_uuid: str):
    """The returned record's form, filled with its content; it goes through the outbox."""
    entry = _returned_entry(kind, record_uuid)
    return render("review/edit.html", errors={}, fresh=True, **_edit_context(entry))


@bp.post("/returned/<kind>/<record_uuid>")
@login_required
def resubmit(kind: str, record_uuid: str):
    """Without script: the same resubmission the outbox sends, through the same ingest."""
    entry = _returned_entry(kind, record_uuid)
    session = db.session()
    payload = {name: value for name, value in request.form.items() if name != "csrf_token"}
    item_id = payload.get("uuid", "")
    try:
        items = sync.parse_batch(
            {"items": [{"id": item_id, "kind": "revision", "payload": payload}]}
        )
    except sync.BadBatch:
        items = []
    result = sync.ingest_one(session, items[0], member=g.member, now=now()) if items else None
    if result is not None and result.status in (sync.Status.stored, sync.Status.duplicate):
        session.commit()
        flash(i18n.translate(result.message))
        return redirect(url_for("review.returned"), 303)
    session.rollback()
    errors = (
        result.errors
        if result is not None and result.errors
        else {
            "form": result.message
            if result is not None
            else _("Mã bản sửa không hợp lệ. Hãy tải lại trang rồi nhập lại.")
        }
    )
    context = _edit_context(entry)
    context["values"] = request.form
    return render("review/edit.html", errors=errors, fresh=False, status=422, **context)
