""" "Thêm": everything that does not fit in the five tabs of a phone's tab bar, for the
member's role (the list itself is pwa/navigation.py, beside the tabs)."""

from __future__ import annotations

from flask import Blueprint, g, render_template

from pwa.auth import login_required
from pwa.navigation import entries

bp = Blueprint("menu", __name__)


@bp.get("/menu")
@login_required
def index():
    return render_template("menu/index.html", entries=entries(g.member))
