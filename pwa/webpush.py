"""Web Push pieces shared by several areas: the server's VAPID keys (made on the app's first
run, kept in the instance folder; the worker reads the same) and where the session keeps this
browser's subscription. Nothing here sends: `fieldkit push-worker` drains the queue."""

from __future__ import annotations

from flask import Flask, current_app

from fieldkit import push, sessions

# The session (server-side) remembers the endpoint this browser subscribed with, so that
# ending the session — sign-out, every device, a revoked passkey — stops its notifications
# (fieldkit.sessions.end).
SESSION_KEY = sessions.PUSH_ENDPOINT_KEY


def vapid(app: Flask | None = None) -> push.Vapid:
    app = app or current_app
    keys = app.extensions.get("fieldkit_vapid")
    if keys is None:
        settings = app.config["FIELDKIT_SETTINGS"]
        keys = push.load_vapid(settings.instance_path, subject=settings.vapid_subject)
        app.extensions["fieldkit_vapid"] = keys
    return keys
