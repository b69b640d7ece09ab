"""Sessions that end (issue 10): the cookie is an opaque id of a session kept on the server, so
signing out, "every device", deactivation, a role change and revoking a passkey end it at once —
for a copy of the cookie too, and on every app server. Passkey challenges are used once: a
captured sign-in replayed with the cookie it was sent with is refused even from an
authenticator whose counter stays at 0. Throttles hold back guessers, not the team behind the
same network; refused requests cannot write rows without bound.

New models are imported inside the tests that need them, so that on a code base without
server-side sessions each test fails on its own behaviour."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import event
from sqlmodel import func, select

from fieldkit import members
from fieldkit.config import Settings
from fieldkit.db import new_session
from fieldkit.models import AuditEvent, Member, PushSubscription, Role, utcnow
from pwa import create_app
from tests.factories import build_world
from tests.fieldkit.test_push import Browser as PushKeys
from tests.fieldkit.test_push import b64url
from tests.passkey_device import SoftPasskey
from tests.web.conftest import CSRF, Browser

ORIGIN = "http://localhost:8000"
COOKIE = "fieldkit_session"
ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Mobile Safari/537.36"
)


def api(browser: Browser, url: str, body: dict | None = None):
    return browser.client.post(url, json=body or {}, headers={"X-CSRF-Token": browser.csrf})


def phone(web: Browser, member: Member, *, user_agent: str | None = None) -> Browser:
    """Another phone, signed in as `member` by a one-time link."""
    other = Browser(web.app_client_fresh(), web.db)
    if user_agent:
        other.client.environ_base["HTTP_USER_AGENT"] = user_agent
    other.sign_in(member)
    return other


def signed_in(browser: Browser) -> bool:
    return browser.client.get("/households").status_code == 200


def sync(browser: Browser, csrf: str | None = None) -> int:
    return browser.client.post(
        "/api/v1/sync", json={"items": []}, headers={"X-CSRF-Token": csrf or browser.csrf}
    ).status_code


def copy_of(browser: Browser) -> Browser:
    """A thief's browser holding a copy of `browser`'s cookie."""
    thief = Browser(browser.app_client_fresh(), browser.db)
    thief.client.set_cookie(COOKIE, browser.client.get_cookie(COOKIE).value)
    thief.get("/households")
    return thief


def enroll(web: Browser, db, member: Member, device: SoftPasskey) -> None:
    token = members.create_sign_in_link(db, member, now=utcnow())
    db.commit()
    web.get(f"/signin/{token}")
    options = api(web, f"/api/v1/passkeys/enroll/{token}/options")
    answer = api(
        web,
        f"/api/v1/passkeys/enroll/{token}",
        {"credential": device.create(options.get_data(as_text=True))},
    )
    assert answer.status_code == 200, answer.text
    web.get("/households")


def passkey_sign_in(browser: Browser, device: SoftPasskey, **kwargs):
    browser.get("/signin")
    options = api(browser, "/api/v1/passkeys/signin/options").get_data(as_text=True)
    return api(browser, "/api/v1/passkeys/signin", {"credential": device.get(options, **kwargs)})


# --- what ends a session ----------------------------------------------------------------------


def test_signing_out_ends_the_session_for_a_copy_of_the_cookie_too(web, world):
    web.sign_in(world.volunteer)
    thief = copy_of(web)
    assert signed_in(thief) and sync(thief) == 200
    assert web.post("/signout").status_code == 303
    refused = thief.client.get("/households")
    assert refused.status_code == 302 and "/signin" in refused.headers["Location"]
    # The phone's outbox is told to sign in again (401), not that its token is stale (400).
    assert sync(thief) == 401


def test_the_api_answers_401_to_a_session_that_has_ended(web, world):
    web.sign_in(world.volunteer)
    old_id = web.client.get_cookie(COOKIE).value
    csrf = web.csrf
    web.post("/signout")
    thief = Browser(web.app_client_fresh(), web.db)
    thief.client.set_cookie(COOKIE, old_id)
    answer = thief.client.post("/api/v1/sync", json={"items": []}, headers={"X-CSRF-Token": csrf})
    assert answer.status_code == 401
    assert answer.get_json()["error"] == "Đăng nhập lại để gửi"
    assert thief.client.get("/api/v1/session").status_code == 401


def test_sign_out_of_every_device_from_the_account_page(web, db, world):
    other = phone(web, world.volunteer, user_agent=ANDROID)
    web.sign_in(world.volunteer)
    thief = copy_of(other)
    page = web.get("/account").get_data(as_text=True)
    assert "Thiết bị đang đăng nhập" in page and "Android · Chrome" in page
    assert "Máy này" in page and "Đăng xuất khỏi mọi thiết bị" in page
    answer = web.post("/account/sessions/end-all")
    assert answer.status_code == 303 and answer.headers["Location"] == "/signin?out=all"
    assert "Bạn đã đăng xuất khỏi mọi thiết bị." in web.get(answer.headers["Location"]).text
    for browser in (web, other, thief):
        assert not signed_in(browser)
    assert sync(other) == 401
    # Someone else's sessions are untouched.
    assert signed_in(phone(web, world.leader))


def test_one_other_device_can_be_signed_out_from_the_account_page(web, db, world):
    from fieldkit.models import WebSession

    other = phone(web, world.volunteer, user_agent=ANDROID)
    web.sign_in(world.volunteer)
    theirs = db.exec(select(WebSession).where(WebSession.device == "Android · Chrome")).one()
    answer = web.post(f"/account/sessions/{theirs.id}/end")
    assert answer.status_code == 303
    assert "Đã đăng xuất trên Android · Chrome." in web.get("/account").text
    assert not signed_in(other) and signed_in(web)
    # Nobody ends another person's session.
    leader = phone(web, world.leader)
    mine = db.exec(select(WebSession).where(WebSession.member_id == world.leader.id)).one()
    assert web.post(f"/account/sessions/{mine.id}/end").status_code == 404
    assert signed_in(leader)


def test_commune_staff_sign_a_member_out_of_every_device(web, db, world):
    volunteer = phone(web, world.volunteer)
    leader = phone(web, world.leader)
    # A leader may not (it is the commune's decision); the volunteer stays signed in.
    assert leader.post(f"/members/{world.volunteer.id}/sessions/end").status_code == 403
    assert signed_in(volunteer)
    web.sign_in(world.staff)
    page = web.get("/members").get_data(as_text=True)
    assert f'action="/members/{world.volunteer.id}/sessions/end"' in page
    answer = web.post(f"/members/{world.volunteer.id}/sessions/end")
    assert answer.status_code == 303
    assert "Đã đăng xuất Phạm Thu Hà khỏi mọi thiết bị" in web.get("/members").text
    assert not signed_in(volunteer) and signed_in(leader) and signed_in(web)


def test_deactivation_ends_every_session_of_the_member(web, db, world):
    from fieldkit.models import WebSession

    volunteer, thief = phone(web, world.volunteer), None
    thief = copy_of(volunteer)
    web.sign_in(world.leader)
    assert web.post(f"/members/{world.volunteer.id}/deactivate").status_code == 303
    assert not signed_in(volunteer) and not signed_in(thief)
    assert sync(volunteer) == 401
    db.expire_all()
    count = select(func.count()).select_from(WebSession)
    assert db.exec(count.where(WebSession.member_id == world.volunteer.id)).one() == 0


def test_a_role_change_ends_the_members_sessions(web, db, world):
    volunteer = phone(web, world.volunteer)
    web.sign_in(world.staff)
    answer = web.post(
        f"/members/{world.volunteer.id}/role",
        data={"role": "leader", "village_id": str(world.village.id)},
    )
    assert answer.status_code == 303
    db.refresh(world.volunteer)
    assert world.volunteer.role == Role.leader
    refused = volunteer.client.get("/households")
    assert refused.status_code == 302 and "/signin" in refused.headers["Location"]
    # Signing in again gives the new role.
    volunteer.sign_in(world.volunteer)
    assert "Tổ trưởng" in volunteer.get("/households").text


def test_revoking_a_passkey_ends_the_sessions_opened_with_it(web, db, world):
    from fieldkit.models import Passkey

    device = SoftPasskey(origin=ORIGIN)
    enroll(web, db, world.volunteer, device)
    web.post("/signout")
    lost_phone = Browser(web.app_client_fresh(), db)
    assert passkey_sign_in(lost_phone, device).status_code == 200
    laptop = phone(web, world.volunteer)  # signed in by a link, not by that key
    key = db.exec(select(Passkey)).one()
    answer = laptop.post(f"/account/passkeys/{key.id}/revoke")
    assert answer.status_code == 303 and answer.headers["Location"] == "/account"
    assert "đã bị đăng xuất" in laptop.get("/account").text
    assert not signed_in(lost_phone)
    assert signed_in(laptop)


# --- adding a passkey needs a recent sign-in --------------------------------------------------


def test_adding_a_passkey_needs_a_sign_in_within_ten_minutes(web, db, world, monkeypatch):
    from pwa import auth as web_auth
    from pwa.routes import account as account_routes
    from pwa.routes import auth as auth_routes

    web.sign_in(world.leader)
    assert api(web, "/api/v1/passkeys/options").status_code == 200  # just signed in
    later = utcnow() + timedelta(minutes=11)
    for module in (web_auth, auth_routes, account_routes):
        monkeypatch.setattr(module, "now", lambda: later, raising=False)
    refused = api(web, "/api/v1/passkeys/options")
    assert refused.status_code == 403 and "đăng nhập lại" in refused.get_json()["error"]
    refused = api(web, "/api/v1/passkeys", {"credential": {"id": "x"}})
    assert refused.status_code == 403
    page = web.get("/account").get_data(as_text=True)
    assert "Đăng nhập lại để thêm khóa" in page and "data-passkey-create" not in page
    # Signing in again (here by a link) opens the window again, and the sign-in page can bring
    # the person back to the account page.
    assert 'href="/signin?next=/account"' in page
    monkeypatch.undo()
    web.sign_in(world.leader)
    options = api(web, "/api/v1/passkeys/options").get_data(as_text=True)
    added = api(web, "/api/v1/passkeys", {"credential": SoftPasskey(origin=ORIGIN).create(options)})
    assert added.status_code == 200


def test_signing_in_again_from_the_account_page_comes_back_to_it(web, db, world):
    device = SoftPasskey(origin=ORIGIN)
    enroll(web, db, world.volunteer, device)
    page = web.get("/signin?next=/account").get_data(as_text=True)
    assert 'data-verify-url="/api/v1/passkeys/signin?next=/account"' in page
    options = api(web, "/api/v1/passkeys/signin/options").get_data(as_text=True)
    answer = api(web, "/api/v1/passkeys/signin?next=/account", {"credential": device.get(options)})
    assert answer.status_code == 200 and answer.get_json()["redirect"] == "/account"
    for elsewhere in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        web.get("/signin")
        options = api(web, "/api/v1/passkeys/signin/options").get_data(as_text=True)
        answer = api(
            web,
            f"/api/v1/passkeys/signin?next={elsewhere}",
            {"credential": device.get(options)},
        )
        assert answer.get_json()["redirect"] == "/households", elsewhere


# --- passkey challenges: server-side, single use ----------------------------------------------


def test_a_captured_sign_in_replayed_with_its_cookie_is_refused_at_counter_zero(web, db, world):
    """Synced passkeys report signCount 0 every time, so the counter cannot tell a replay."""
    device = SoftPasskey(origin=ORIGIN)
    enroll(web, db, world.volunteer, device)
    web.post("/signout")
    web.get("/signin")
    options = api(web, "/api/v1/passkeys/signin/options").get_data(as_text=True)
    before = web.client.get_cookie(COOKIE).value  # the pre-sign-in cookie, challenge and all
    captured = device.get(options, count_up=False)
    assert device.sign_count == 0
    assert api(web, "/api/v1/passkeys/signin", {"credential": captured}).status_code == 200

    attacker = Browser(web.app_client_fresh(), db)
    attacker.client.set_cookie(COOKIE, before)
    attacker.get("/signin")
    replay = api(attacker, "/api/v1/passkeys/signin", {"credential": captured})
    assert replay.status_code == 403 and "không còn hợp lệ" in replay.get_json()["error"]
    assert not signed_in(attacker)


def test_an_answer_after_five_minutes_is_refused(web, db, world, monkeypatch):
    from pwa.routes import auth as auth_routes

    device = SoftPasskey(origin=ORIGIN)
    enroll(web, db, world.volunteer, device)
    web.post("/signout")
    web.get("/signin")
    options = api(web, "/api/v1/passkeys/signin/options").get_data(as_text=True)
    later = utcnow() + timedelta(minutes=5, seconds=5)
    monkeypatch.setattr(auth_routes, "now", lambda: later)
    answer = api(web, "/api/v1/passkeys/signin", {"credential": device.get(options)})
    assert answer.status_code == 403 and "5 phút" in answer.get_json()["error"]
    monkeypatch.undo()
    # Used up by the late try: the same options cannot be answered again in time either.
    answer = api(web, "/api/v1/passkeys/signin", {"credential": device.get(options)})
    assert answer.status_code == 403 and "không còn hợp lệ" in answer.get_json()["error"]


# --- several app processes ----------------------------------------------------------------------


@pytest.fixture
def two_apps(engine, tmp_path):
    """Two app processes (each its own Flask app, engine and connection pool) on one database:
    a SQLite file, or PostgreSQL."""
    url = engine.url.render_as_string(hide_password=False)
    settings = replace(
        Settings.from_env({}), instance_path=tmp_path, database_url=url, secret_key="shared"
    )
    apps = [create_app({"FIELDKIT_SETTINGS": settings, "TESTING": True}) for _ in range(2)]
    with new_session(engine) as session:
        world = build_world(session, now=utcnow())
        session.commit()
        yield apps, session, world
    for app in apps:
        app.extensions["fieldkit_engine"].dispose()


def test_two_app_processes_honour_and_end_the_same_session(two_apps):
    (first, second), db, world = two_apps
    here = Browser(first.test_client(), db)
    here.sign_in(world.volunteer)
    there = Browser(second.test_client(), db)
    there.client.set_cookie(COOKIE, here.client.get_cookie(COOKIE).value)
    assert signed_in(there)
    there.get("/account")
    assert there.post("/account/sessions/end-all").status_code == 303
    assert not signed_in(here)
    assert sync(here) == 401


# --- push subscriptions belong to one member ----------------------------------------------------


def test_someone_elses_push_endpoint_is_refused_and_theirs_left_alone(web, db, world):
    endpoint = "https://fcm.googleapis.com/fcm/send/dmljdGlt"
    victim_keys = PushKeys()
    victim = phone(web, world.staff)
    body = {
        "endpoint": endpoint,
        "keys": {"p256dh": victim_keys.p256dh, "auth": b64url(victim_keys.auth)},
    }
    assert api(victim, "/api/v1/push/subscriptions", body).status_code == 200
    attacker_keys = PushKeys()
    web.sign_in(world.other_volunteer)
    taken = api(
        web,
        "/api/v1/push/subscriptions",
        {
            "endpoint": endpoint,
            "keys": {"p256dh": attacker_keys.p256dh, "auth": b64url(attacker_keys.auth)},
        },
    )
    assert taken.status_code == 422 and "tài khoản khác" in taken.get_json()["error"]
    db.expire_all()
    stored = db.exec(select(PushSubscription)).one()
    assert (stored.member_id, stored.p256dh) == (world.staff.id, victim_keys.p256dh)


def test_a_shared_phone_passes_its_subscription_to_the_next_person(web, db, world):
    """The same browser sends the same keys: only it knows them, so the subscription follows
    whoever turned notifications on last on that phone."""
    endpoint = "https://fcm.googleapis.com/fcm/send/c2hhcmVk"
    keys = PushKeys()
    body = {"endpoint": endpoint, "keys": {"p256dh": keys.p256dh, "auth": b64url(keys.auth)}}
    first = phone(web, world.volunteer)
    assert api(first, "/api/v1/push/subscriptions", body).status_code == 200
    web.sign_in(world.leader)
    assert api(web, "/api/v1/push/subscriptions", body).status_code == 200
    db.expire_all()
    assert db.exec(select(PushSubscription.member_id)).all() == [world.leader.id]


# --- throttles: the guesser, not the network ----------------------------------------------------


def test_a_guesser_behind_the_same_address_does_not_lock_out_valid_links(
    app, web, db, world, monkeypatch
):
    """A carrier's NAT puts a whole team behind one address: one person guessing links from it
    is held back, everyone's valid link still opens."""
    from pwa.routes import auth as auth_routes

    monkeypatch.setattr(auth_routes, "LINK_GUESSES", 20, raising=False)  # fewer requests
    guesser = app.test_client()
    for i in range(20):
        assert guesser.get(f"/signin/guess-{i}").status_code == 410
    held_back = guesser.get("/signin/guess-again")
    assert held_back.status_code == 429 and "Hãy đợi 15 phút" in held_back.text
    assert held_back.headers["Retry-After"] == "900"
    team = [
        members.add_member(
            db,
            commune_id=world.commune.id,
            name=f"Tình nguyện viên {i}",
            role=Role.volunteer,
            village=world.village,
            phone=f"09130000{i:02d}",
        )
        for i in range(12)
    ]
    db.commit()
    for person in team:  # same address (the test client's), each with their own link
        Browser(app.test_client(), db).sign_in(person)
    # A used link is not a guess either: its owner may open it again and is told it is used.
    token = members.create_sign_in_link(db, world.volunteer, now=utcnow())
    members.redeem_sign_in_link(db, token, now=utcnow())
    db.commit()
    assert guesser.get(f"/signin/{token}").status_code == 410
    assert guesser.get("/signin/one-more-guess").status_code == 429


def test_a_team_behind_one_address_signs_in_with_codes_despite_typos(web, db, world):
    from tests.web.test_identity import code_sign_in

    web.sign_in(world.leader)
    team = []
    for i in range(12):
        person = members.add_member(
            db,
            commune_id=world.commune.id,
            name=f"Thành viên {i}",
            role=Role.volunteer,
            village=world.village,
            phone=f"09140000{i:02d}",
        )
        db.commit()
        page = web.post(f"/members/{person.id}/code").get_data(as_text=True)
        code = "".join(re.search(r"data-one-time-code>(\d{3}) (\d{3})<", page).groups())
        team.append((person, code))
    for person, code in team:  # everyone mistypes once, from the same address
        wrong = "000000" if code != "000000" else "111111"
        assert code_sign_in(web.app_client_fresh(), person.phone, wrong).status_code == 403
        assert code_sign_in(web.app_client_fresh(), person.phone, code).status_code == 303


def test_failed_passkey_sign_ins_are_throttled(web, db, world, monkeypatch):
    from pwa.routes import auth as auth_routes

    monkeypatch.setattr(auth_routes, "PASSKEY_FAILURES", 5, raising=False)
    stranger = Browser(web.app_client_fresh(), db)
    for _ in range(5):
        answer = passkey_sign_in(stranger, SoftPasskey(origin=ORIGIN))
        assert answer.status_code == 403
    held_back = passkey_sign_in(stranger, SoftPasskey(origin=ORIGIN))
    assert held_back.status_code == 429 and "15 phút" in held_back.get_json()["error"]


def test_options_cannot_fill_the_challenge_table(web, db, world):
    from fieldkit import passkeys
    from fieldkit.models import PasskeyChallenge

    robot = Browser(web.app_client_fresh(), db)
    robot.get("/signin")
    statuses = [
        api(robot, "/api/v1/passkeys/signin/options").status_code
        for _ in range(passkeys.MAX_WAITING_PER_CLIENT + 5)
    ]
    assert statuses.count(200) == passkeys.MAX_WAITING_PER_CLIENT and statuses[-1] == 429
    assert (
        db.exec(select(func.count()).select_from(PasskeyChallenge)).one()
        == passkeys.MAX_WAITING_PER_CLIENT
    )


# --- refused requests write a bounded number of rows ----------------------------------------------


def test_a_flood_of_forged_cookies_writes_a_bounded_number_of_audit_rows(app, db, world):
    from fieldkit import audit

    client = app.test_client()
    for i in range(150):
        client.set_cookie(COOKIE, f"forged{i:037d}")  # a well-formed id nobody has
        assert client.get("/households").status_code == 302
        client.set_cookie(COOKIE, f"eyJmb3JnZWQiOnRydWV9.{i}.c2lnbmF0dXJl")  # a bad signature
        assert client.get("/households").status_code == 302
    refused = db.exec(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "sign_in_refused")
    ).one()
    assert refused <= 25  # not one per request
    assert refused == audit.REFUSALS_LOGGED_PER_HOUR
    assert (
        audit.refused_count(
            db, action="sign_in_refused", kind="cookie", commune_id=None, now=utcnow()
        )
        == 300
    )


# --- cost: no write per request -------------------------------------------------------------------


def test_a_signed_in_request_reads_its_session_once_and_writes_nothing(app, web, world):
    web.sign_in(world.volunteer)
    web.get("/households")
    statements: list[str] = []

    def remember(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = app.extensions["fieldkit_engine"]
    event.listen(engine, "before_cursor_execute", remember)
    try:
        for _ in range(10):
            assert web.client.get("/api/v1/session").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", remember)
    writes = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    session_reads = [s for s in statements if "FROM websession" in s]
    assert writes == [] and len(session_reads) == 10


def test_the_cookie_holds_only_an_opaque_id(web, world):
    web.sign_in(world.volunteer)
    value = web.client.get_cookie(COOKIE).value
    # 256 random bits, base64url: no signed payload, nothing about the person.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", value)
    assert CSRF.search(web.get("/households").text)
