"""Refused requests, written down: a refusal undoes whatever the request had begun and is
logged in the audit trail on its own (DESIGN.md §5). Shared by the sign-in, members,
assignments and account pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import g, request

from fieldkit import audit
from fieldkit.errors import Forbidden
from fieldkit.models import Member, Village
from pwa import db
from pwa.routes import now


def record_refusal(
    action: str,
    message: str,
    *,
    actor: Member | None = None,
    commune_id: int | None = None,
    target_kind: str | None = None,
    target_id: int | None = None,
    **details,
) -> None:
    """Undo whatever the refused request had started, then log the refusal on its own."""
    store = db.session()
    store.rollback()
    audit.record(
        store,
        action=action,
        now=now(),
        actor=actor,
        commune_id=commune_id,
        target_kind=target_kind,
        target_id=target_id,
        details={"message": message, "ip": request.remote_addr, **details},
    )
    store.commit()


@contextmanager
def refusals_logged(what: str, target: Member | Village | None = None) -> Iterator[None]:
    """Log a policy refusal (and undo anything begun) before it becomes a 403 page."""
    try:
        yield
    except Forbidden as refused:
        record_refusal(
            "refused",
            str(refused),
            actor=g.member,
            what=what,
            target_kind=type(target).__name__.lower() if target else None,
            target_id=target.id if target else None,
        )
        raise
