"""The targets page (Chỉ tiêu): commune staff set, for a period, how many of each indicator
the commune and each village should reach, all in one form (all or nothing); everyone sees
the targets of their scope beside the approved number and the percentage reached. Every rule
is fieldkit.reporting.targets'."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _

from fieldkit import policy
from fieldkit.errors import Invalid
from fieldkit.forms import local_today
from fieldkit.reporting import indicators, targets
from pwa import db, params
from pwa.auth import login_required
from pwa.routes import now

bp = Blueprint("targets", __name__)


def _period() -> tuple[str, date | None, date | None, dict[str, str]]:
    """(preset, start, end, errors) from the query string: a preset (this year, quarter,
    month) or typed dates ("custom", checked by fieldkit.reporting.targets: a bad one is
    shown beside its field)."""
    preset = params.choice("preset", [*targets.PRESETS, "custom"], "year")
    if preset in targets.PRESETS:
        start, end = targets.preset_period(preset, local_today(now()))
        return preset, start, end, {}
    try:
        start, end = targets.parse_period(params.raw("start"), params.raw("end"))
    except Invalid as invalid:
        return "custom", None, None, invalid.errors
    return "custom", start, end, {}


def _page(
    *,
    preset: str,
    start: date | None,
    end: date | None,
    period_errors: dict,
    typed=None,
    typed_period: dict | None = None,
    cell_errors: dict | None = None,
    status: int = 200,
):
    store = db.session()
    scope = policy.scope_for(g.member)
    editable = policy.can_set_targets(g.member)
    rows = indicators.village_indicators(store, scope=scope)
    columns: list[tuple[int | None, str]] = [(row.village_id, row.village_name) for row in rows]
    if scope.village_id is None:
        columns.insert(0, (None, _("Cả xã")))
    reached: dict[tuple[int | None, str], int] = {}
    for key in indicators.LABELS:
        for row in rows:
            reached[(row.village_id, key)] = getattr(row, key).approved
        reached[(None, key)] = sum(getattr(row, key).approved for row in rows)
    current = (
        targets.targets_in_period(
            store, commune_id=scope.commune_id, period_start=start, period_end=end
        )
        if start and end
        else {}
    )
    # What the province expects of the commune, shown beside the commune's own cells: it is the
    # commune's target wherever the commune set none (fieldkit.reporting.targets.targets_for).
    from_province, in_force = {}, {}
    if scope.village_id is None:
        today = local_today(now())
        from_province = targets.province_targets_for(
            store, commune_ids=[scope.commune_id], on=today
        )
        in_force = targets.targets_for(store, commune_id=scope.commune_id, on=today)
    typed = typed or {}
    cell_errors = cell_errors or {}
    grid = []
    for key, label in indicators.LABELS.items():
        cells = []
        for village_id, _name in columns:
            name = targets.cell_name(village_id, key)
            target = current.get((village_id, key))
            cells.append(
                {
                    "name": name,
                    "error": cell_errors.get(name),
                    "value": typed.get(name, "" if target is None else str(target.value)),
                    "target": target,
                    "reached": reached[(village_id, key)],
                    "progress": targets.progress(reached[(village_id, key)], target),
                    "province": from_province.get((scope.commune_id, key))
                    if village_id is None
                    else None,
                    "province_applies": village_id is None
                    and targets.is_from_province(in_force.get((None, key))),
                }
            )
        grid.append({"key": key, "label": label, "cells": cells})
    periods = targets.periods(store, commune_id=scope.commune_id)
    return render_template(
        "targets/index.html",
        grid=grid,
        columns=columns,
        editable=editable,
        preset=preset,
        presets=targets.PRESETS,
        start=start,
        end=end,
        period_errors=period_errors,
        typed_period=typed_period or {},
        cell_errors=cell_errors,
        periods=periods,
        today=local_today(now()),
    ), status


@bp.get("/targets")
@login_required
def index():
    preset, start, end, errors = _period()
    return _page(
        preset=preset,
        start=start,
        end=end,
        period_errors=errors,
        typed_period={
            "start": params.text("start", max_length=20),
            "end": params.text("end", max_length=20),
        },
        status=422 if errors else 200,
    )


@bp.post("/targets")
@login_required
def save():
    """Save every cell of the grid for the period, or none: a bad cell sends the form back
    with what was typed and the message beside that cell."""
    policy.require_can_set_targets(g.member)
    store = db.session()
    form = request.form
    preset = form.get("preset", "custom")
    village_ids = [v.id for v in indicators.villages_in(store, policy.scope_for(g.member))]
    try:
        changed = targets.save_grid(
            store,
            member=g.member,
            period_start=form.get("start"),
            period_end=form.get("end"),
            village_ids=village_ids,
            values=form,
            now=now(),
        )
    except Invalid as invalid:
        store.rollback()
        period_errors = {
            k: v for k, v in invalid.errors.items() if k in ("period_start", "period_end")
        }
        start, end = (
            (None, None)
            if period_errors
            else targets.parse_period(form.get("start"), form.get("end"))
        )
        return _page(
            preset=preset,
            start=start,
            end=end,
            period_errors=period_errors,
            typed_period=form,
            typed=form,
            cell_errors=invalid.errors,
            status=422,
        )
    store.commit()
    flash(
        _("Đã lưu chỉ tiêu: %(changed)s ô thay đổi.", changed=changed)
        if changed
        else _("Không có chỉ tiêu nào thay đổi.")
    )
    start, end = targets.parse_period(form.get("start"), form.get("end"))
    if preset in targets.PRESETS:
        return redirect(url_for("targets.index", preset=preset), 303)
    return redirect(
        url_for("targets.index", preset="custom", start=start.isoformat(), end=end.isoformat()), 303
    )
