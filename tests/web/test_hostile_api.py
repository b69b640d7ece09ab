"""The JSON API's other routes (push subscriptions, passkey ceremonies) × hostile JSON bodies
(lone surrogates, NUL, wrong types, huge numbers), signed in and out: never a 5xx. The sync
API has its own fuzz (tests/web/test_sync_fuzz.py)."""

from __future__ import annotations

import json

import pytest

from fieldkit import forms
from fieldkit.models import utcnow
from tests.web.api import post
from tests.web.backends import both_backends
from tests.web.conftest import Browser

app = both_backends  # SQLite and PostgreSQL (tests/web/backends.py)

BODIES = [
    {"endpoint": "https://push.example/\ud800", "keys": {"p256dh": "x", "auth": "y"}},
    {"endpoint": "https://push.example/a\x00", "keys": {"p256dh": "\ud800", "auth": "\x00"}},
    {"endpoint": "\ud800"},
    {"endpoint": ["x"], "keys": []},
    {"endpoint": {"a": 1}, "keys": {"p256dh": ["x"], "auth": 10**30}},
    {"credential": "\ud800"},
    {"credential": {"id": "\ud800", "rawId": "\x00", "response": ["x"]}},
    {"id": "\ud800", "rawId": "\ud800", "type": "public-key", "response": {"clientDataJSON": 1}},
    {"name": "\ud800\x1b"},
    # The offline pack (issue 16): what the phone says it holds, and where to go on.
    {"have": {"/households/\ud800": "\x00"}, "after": "\ud800"},
    {"have": [["/households", "v"]], "after": -1},
    {"have": {"/households": 10**30}, "after": 10**30},
    {"have": {"x" * 600: "v"}, "after": True},
    "\ud800",
    ["\x00"],
    1e308,
    None,
]
ENDPOINTS = [
    "push.subscribe",
    "push.unsubscribe",
    "auth.passkey_signin_options",
    "auth.passkey_signin",
    "auth.add_passkey_options",
    "auth.add_passkey",
    "auth.enroll_options",
    "auth.enroll",
    "offline.offline_pack_chunk",
]


def test_every_api_post_route_is_swept(app):
    posted = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "POST" in rule.methods and rule.rule.startswith("/api/")
    }
    assert posted - {"sync.sync_batch"} == set(ENDPOINTS)


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed_in", "signed_out"])
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_no_json_body_gets_a_5xx(app, db, world, endpoint, signed_in):
    browser = Browser(app.test_client(), db)
    if signed_in:
        browser.sign_in(world.volunteer)
    else:
        browser.get("/signin")
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    url = rule.build({name: "not-a-real-token" for name in rule.arguments}, append_unknown=False)[1]
    problems = []
    for body in BODIES:
        headers = {"X-CSRF-Token": browser.csrf or "", "Content-Type": "application/json"}
        try:
            response = browser.client.post(url, data=json.dumps(body), headers=headers)
            # A streamed answer (the offline pack) is read to its end and closed, as a server
            # sends it: an error half-way through the stream counts too.
            response.get_data()
            response.close()
        except Exception as error:  # noqa: BLE001 — the test app re-raises a would-be 500
            db.rollback()
            problems.append(f"{url} {body!r:.60}: {type(error).__name__}: {error!s:.120}")
            continue
        if response.status_code >= 500:
            problems.append(f"{url} {body!r:.60}: {response.status_code}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("number", [2**31, 2**31 + 7, "2147483648", 2**62])
def test_a_sync_naming_an_id_no_row_can_have_is_refused_item_by_item(app, db, world, number):
    # Row ids are 32-bit on PostgreSQL: a larger household or resident id once reached the
    # database and answered "failed unexpectedly" (found by tests/web/test_sync_fuzz.py).
    browser = Browser(app.test_client(), db)
    browser.sign_in(world.volunteer)
    items = []
    for household_id, resident_id in [(number, world.head.id), (world.household.id, number)]:
        uuid = f"00000000-0000-4000-8000-{len(items):012}"
        line = {"resident_id": resident_id, "service_code": "vneid_level1", "result": "done"}
        payload = {"uuid": uuid, "household_id": household_id, "outcome": "met", "lines": [line]}
        when = forms.to_local(utcnow()).strftime("%Y-%m-%dT%H:%M")
        items.append({"id": uuid, "kind": "visit", "payload": payload | {"visited_at": when}})
    response = post(browser.client, {"items": items}, token=browser.csrf)
    assert response.status_code == 200, response.text
    results = response.get_json()["results"]
    assert [r["status"] for r in results] == ["invalid", "invalid"]
    assert "household_id" in results[0]["errors"]
    assert "lines-0-resident_id" in results[1]["errors"]
