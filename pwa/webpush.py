"""Web Push pieces shared by several areas: the server's VAPID keys (made on the app's first
run, kept in the instance folder; the worker reads the same) and forgetting this browser's
subscription at sign-out. Nothing here sends: `fieldkit push-worker` drains the queue."""

from __future__ import annotations

from flask import Flask, current_app
from flask import session as flask_session

from fieldkit import push

# The session remembers the endpoint this browser subscribed with, so sign-out can drop it.
SESSION_KEY = "push_endpoint"


def forget_this_browser(store, member) -> None:
    """At sign-out: remove the subscription this browser registered in this session, if
    any. Caller commits."""
    endpoint = flask_session.get(SESSION_KEY)
    if endpoint:
        push.unsubscribe(store, member, endpoint=endpoint)


def vapid(app: Flask | None = None) -> push.Vapid:
    app = app or current_app
    keys = app.extensions.get("fieldkit_vapid")
    if keys is None:
        settings = app.config["FIELDKIT_SETTINGS"]
        keys = push.load_vapid(settings.instance_path, subject=settings.vapid_subject)
        app.extensions["fieldkit_vapid"] = keys
    return keys
