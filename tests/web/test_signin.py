"""Sign-in by one-time link, sign-out, and the CSRF token every page carries."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from sqlmodel import func, select

from fieldkit import members
from fieldkit.models import Household, utcnow
from tests.web.conftest import CSRF


def test_pages_need_sign_in(app, world):
    response = app.test_client().get("/households")
    assert response.status_code == 302
    assert "/signin" in response.headers["Location"]


def test_link_shows_a_button_then_signs_in_once(web, db, world):
    token = members.create_sign_in_link(db, world.volunteer, now=utcnow())
    db.commit()
    page = web.get(f"/signin/{token}")
    assert page.status_code == 200
    assert "Xin chào, Phạm Thu Hà" in page.text
    # Opening the link alone signs nobody in: chat apps fetch links for previews.
    assert web.client.get("/households").status_code == 302

    signed_in = web.post(f"/signin/{token}")
    assert signed_in.status_code == 303
    assert web.get("/households").status_code == 200

    reused = web.app_client_fresh().get(f"/signin/{token}")
    assert reused.status_code == 410
    assert "đã được dùng" in reused.text


def test_expired_and_unknown_links_say_so(web, db, world):
    token = members.create_sign_in_link(db, world.volunteer, now=utcnow() - timedelta(hours=25))
    db.commit()
    expired = web.get(f"/signin/{token}")
    assert expired.status_code == 410
    assert "hết hạn" in expired.text
    unknown = web.get("/signin/not-a-real-token")
    assert unknown.status_code == 410
    assert "không đúng" in unknown.text


def test_sign_out_ends_the_session(web, world):
    web.sign_in(world.volunteer)
    assert web.post("/signout").status_code == 303
    assert web.client.get("/households").status_code == 302
    assert "Bạn đã đăng xuất" in web.client.get("/signin?out=1").text


def test_every_page_carries_a_csrf_token(web, world):
    web.sign_in(world.volunteer)
    household = world.household.id
    for url in [
        "/households",
        f"/households/{household}",
        f"/households/{household}/edit",
        f"/households/{household}/visits/new",
        f"/households/{household}/residents/new",
        "/households/new",
        "/villages",
        "/signin",
    ]:
        response = web.get(url)
        assert response.status_code == 200, url
        assert CSRF.search(response.text), url


def test_a_form_without_the_csrf_token_is_refused_and_saves_nothing(web, db, world):
    web.sign_in(world.volunteer)
    response = web.client.post(
        "/households/new",
        data={
            "uuid": "5b0c1d64-3f7e-4a55-9f0a-0c8f0d3b2a11",
            "label": "99",
            "head_name": "Ngô Văn Mới",
        },
    )
    assert response.status_code == 400
    assert "mã bảo vệ" in response.text
    assert db.exec(select(func.count()).select_from(Household)).one() == 3


def test_htmx_requests_send_the_token_in_a_header(web, db, world):
    web.sign_in(world.volunteer)
    response = web.client.post(
        "/households/new",
        headers={"X-CSRF-Token": web.csrf},
        data={
            "uuid": "5b0c1d64-3f7e-4a55-9f0a-0c8f0d3b2a11",
            "label": "99",
            "head_name": "Ngô Văn Mới",
        },
    )
    assert response.status_code == 303


def test_a_session_lasts_thirty_days_and_every_visit_renews_it(web, world):
    web.sign_in(world.volunteer)
    response = web.get("/households")
    cookie = response.headers["Set-Cookie"]
    assert "fieldkit_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    expires = re.search(r"Expires=([^;]+)", cookie).group(1)
    lifetime = parsedate_to_datetime(expires) - datetime.now(UTC)
    assert timedelta(days=29, hours=23) < lifetime <= timedelta(days=30)


def test_a_tampered_session_cookie_signs_nobody_in_and_is_logged(web, db, world):
    from fieldkit import audit

    web.sign_in(world.volunteer)
    cookie = web.client.get_cookie("fieldkit_session")
    payload, _, signature = cookie.value.rpartition(".")
    forged = payload + "." + ("A" if signature[0] != "A" else "B") + signature[1:]
    web.client.set_cookie("fieldkit_session", forged)
    response = web.client.get("/households")
    assert response.status_code == 302 and "/signin" in response.headers["Location"]
    page = web.client.get(response.headers["Location"])
    assert "Phiên đăng nhập không hợp lệ hoặc đã hết hạn" in page.text
    refused = [e for e in audit.events(db, commune_id=None) if e.action == "sign_in_refused"]
    assert refused, "the refused cookie is in the audit log"
