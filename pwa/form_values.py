"""Fresh values for the forms several pages embed (a household page holds the visit and
consent forms; the visit page and the consent page hold them alone). Each has its own UUID,
made here and replaced by the phone's script when it opens a form from its cache."""

from __future__ import annotations

import uuid

from fieldkit import forms
from pwa.routes import now


def visit_form_values() -> dict:
    """A fresh visit form: a new UUID and the current time (the phone's script replaces both
    when it opens a form from its cache)."""
    return {
        "uuid": str(uuid.uuid4()),
        "visited_at": forms.to_local(now()).strftime("%Y-%m-%dT%H:%M"),
        "outcome": "met",
    }


def consent_form_values() -> dict:
    """A fresh consent form: its own UUID, today, both purposes ticked, verbal."""
    return {
        "uuid": str(uuid.uuid4()),
        "consented_on": forms.local_today(now()).isoformat(),
        "purpose_public_services": "yes",
        "purpose_follow_up": "yes",
        "method": "verbal",
    }


def edit_form_values(household=None) -> dict:
    """The household form: a new household's (its own UUID), or a household's basics as they
    are, for editing."""
    if household is None:
        return {"uuid": str(uuid.uuid4())}
    return {
        "uuid": str(uuid.uuid4()),
        "label": household.label,
        "head_name": household.head_name,
        "address_hint": household.address_hint,
        "smartphones": "" if household.smartphones is None else household.smartphones,
        "internet_at_home": {True: "yes", False: "no", None: ""}[household.internet_at_home],
    }
