"""Identity through the web app: passkey enrollment from an invite link and sign-in, the
account page, invites and one-time codes by role, member management — and every refusal is
answered clearly, logged, and changes nothing."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlmodel import func, select

from fieldkit import members
from fieldkit.models import AuditEvent, Member, OneTimeCode, Passkey, Role, SignInLink, utcnow
from tests.passkey_device import SoftPasskey

ORIGIN = "http://localhost:8000"  # FIELDKIT_BASE_URL's default: the settings the app uses


def audit_actions(db) -> list[str]:
    db.expire_all()
    return list(db.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all())


def last_event(db) -> AuditEvent:
    db.expire_all()
    return db.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


def api(web, url, body=None):
    return web.client.post(url, json=body or {}, headers={"X-CSRF-Token": web.csrf})


def open_link(web, db, member) -> str:
    token = members.create_sign_in_link(db, member, now=utcnow())
    db.commit()
    assert web.get(f"/signin/{token}").status_code == 200
    return token


def enroll(web, db, member, device: SoftPasskey) -> None:
    token = open_link(web, db, member)
    options = api(web, f"/api/v1/passkeys/enroll/{token}/options")
    assert options.status_code == 200
    answer = api(
        web,
        f"/api/v1/passkeys/enroll/{token}",
        {"credential": device.create(options.get_data(as_text=True))},
    )
    assert answer.status_code == 200, answer.json
    web.get("/account")


def passkey_sign_in(web, device: SoftPasskey, **kwargs):
    web.get("/signin")
    options = api(web, "/api/v1/passkeys/signin/options")
    return api(
        web,
        "/api/v1/passkeys/signin",
        {"credential": device.get(options.get_data(as_text=True), **kwargs)},
    )


# --- passkeys --------------------------------------------------------------------------------


def test_invite_link_enrolls_a_passkey_then_it_signs_in(web, db, world):
    device = SoftPasskey(origin=ORIGIN)
    enroll(web, db, world.volunteer, device)
    account = web.get("/account")
    assert account.status_code == 200
    assert "Khóa truy cập" in account.text and "Chưa dùng để đăng nhập" in account.text
    # The link is used up by the enrollment.
    assert db.exec(select(SignInLink)).one().used_at is not None

    web.post("/signout")
    assert web.client.get("/households").status_code == 302
    answer = passkey_sign_in(web, device)
    assert answer.status_code == 200 and answer.json["redirect"] == "/households"
    assert web.client.get("/households").status_code == 200
    assert audit_actions(db) == ["passkey_added", "sign_in", "sign_out", "sign_in"]


def test_sign_in_page_offers_passkeys_and_loads_their_script(web, world):
    page = web.get("/signin")
    assert "Đăng nhập bằng khóa truy cập" in page.text
    assert "/static/passkeys.js" in page.text
    assert "/static/passkeys.js" not in web.get("/offline").text


def test_a_replayed_assertion_is_refused(web, db, world):
    device = SoftPasskey(origin=ORIGIN)
    enroll(web, db, world.volunteer, device)
    web.post("/signout")
    web.get("/signin")
    options = api(web, "/api/v1/passkeys/signin/options").get_data(as_text=True)
    captured = device.get(options)
    assert api(web, "/api/v1/passkeys/signin", {"credential": captured}).status_code == 200
    web.get("/households")  # the new session's CSRF token
    assert web.post("/signout").status_code == 303
    web.get("/signin")
    # Straight back: the challenge was taken out of the session by the first use.
    replay = api(web, "/api/v1/passkeys/signin", {"credential": captured})
    assert replay.status_code == 403
    assert "không còn hợp lệ" in replay.json["error"]
    # With a fresh challenge in the session, the old answer does not match it.
    api(web, "/api/v1/passkeys/signin/options")
    replay = api(web, "/api/v1/passkeys/signin", {"credential": captured})
    assert replay.status_code == 403
    assert web.client.get("/households").status_code == 302
    assert audit_actions(db)[-2:] == ["sign_in_refused", "sign_in_refused"]


def test_a_passkey_made_for_another_origin_is_refused_and_the_link_still_works(web, db, world):
    token = open_link(web, db, world.volunteer)
    options = api(web, f"/api/v1/passkeys/enroll/{token}/options").get_data(as_text=True)
    phishing = SoftPasskey(origin="https://fieldkit.example.net")
    answer = api(web, f"/api/v1/passkeys/enroll/{token}", {"credential": phishing.create(options)})
    assert answer.status_code == 403
    assert "trang web khác" in answer.json["error"]
    assert db.exec(select(func.count()).select_from(Passkey)).one() == 0
    db.expire_all()
    assert db.exec(select(SignInLink)).one().used_at is None
    assert last_event(db).action == "sign_in_refused"


def test_revoked_passkey_no_longer_signs_in(web, db, world):
    device = SoftPasskey(origin=ORIGIN)
    enroll(web, db, world.volunteer, device)
    passkey = db.exec(select(Passkey)).one()
    revoked = web.post(f"/account/passkeys/{passkey.id}/revoke")
    # This browser signed in with that very key: its session ended with the key.
    assert revoked.status_code == 303 and revoked.headers["Location"] == "/signin"
    assert "Đã thu hồi" in web.get("/signin").text
    assert web.client.get("/account").status_code == 302
    answer = passkey_sign_in(web, device)
    assert answer.status_code == 403 and "thu hồi" in answer.json["error"]


def test_nobody_revokes_another_persons_passkey(web, db, world):
    enroll(web, db, world.volunteer, SoftPasskey(origin=ORIGIN))
    passkey = db.exec(select(Passkey)).one()
    other = type(web)(web.app_client_fresh(), db)
    other.sign_in(world.other_volunteer)
    assert other.post(f"/account/passkeys/{passkey.id}/revoke").status_code == 404
    db.refresh(passkey)
    assert passkey.revoked_at is None
    assert last_event(db).action == "refused"


def test_a_second_passkey_is_added_from_the_account_page(web, db, world):
    enroll(web, db, world.leader, SoftPasskey(origin=ORIGIN))
    options = api(web, "/api/v1/passkeys/options").get_data(as_text=True)
    assert (
        api(
            web, "/api/v1/passkeys", {"credential": SoftPasskey(origin=ORIGIN).create(options)}
        ).status_code
        == 200
    )
    assert db.exec(select(func.count()).select_from(Passkey)).one() == 2


def test_passkey_api_needs_the_csrf_token(web, world):
    web.get("/signin")
    answer = web.client.post("/api/v1/passkeys/signin/options", json={})
    assert answer.status_code == 400 and "mã bảo vệ" in answer.json["error"]


# --- invites ----------------------------------------------------------------------------------


def test_a_leader_invites_a_volunteer_of_their_village_with_a_link_and_qr(web, db, world):
    web.sign_in(world.leader)
    page = web.post("/members", data={"name": "Ngô Thị Mai", "phone": "0912 000 099"})
    assert page.status_code == 200
    assert "<svg" in page.text and "/signin/" in page.text
    mai = db.exec(select(Member).where(Member.name == "Ngô Thị Mai")).one()
    assert (mai.role, mai.village_id, mai.phone) == (Role.volunteer, world.village.id, "0912000099")
    link = db.exec(select(SignInLink).where(SignInLink.member_id == mai.id)).one()
    assert link.created_by_id == world.leader.id
    assert link.expires_at - link.created_at == timedelta(hours=24)
    assert audit_actions(db)[-2:] == ["member_added", "invite"]
    token = re.search(r"/signin/([\w-]+)", page.text).group(1)
    assert web.app_client_fresh().get(f"/signin/{token}").status_code == 200


def test_a_leader_cannot_invite_a_leader_nor_touch_another_village(web, db, world):
    web.sign_in(world.leader)
    refused = web.post("/members", data={"name": "Kẻ Lạ", "role": "leader"})
    assert refused.status_code == 403
    assert "thôn mình" in refused.text
    assert db.exec(select(Member).where(Member.name == "Kẻ Lạ")).first() is None
    assert last_event(db).action == "refused"

    links_before = db.exec(select(func.count()).select_from(SignInLink)).one()
    refused = web.post(f"/members/{world.other_volunteer.id}/invite")
    assert refused.status_code == 403
    assert "thôn mình" in refused.text
    assert db.exec(select(func.count()).select_from(SignInLink)).one() == links_before
    event = last_event(db)
    assert (event.action, event.actor_id, event.target_id) == (
        "refused",
        world.leader.id,
        world.other_volunteer.id,
    )


def test_staff_invite_leaders_and_staff(web, db, world):
    web.sign_in(world.staff)
    page = web.post(
        "/members",
        data={"name": "Vũ Văn Tổ", "role": "leader", "village_id": str(world.other_village.id)},
    )
    assert page.status_code == 200
    page = web.post("/members", data={"name": "Đinh Thị Xã", "role": "staff"})
    assert page.status_code == 200
    roles = dict(db.exec(select(Member.name, Member.role)).all())
    assert roles["Vũ Văn Tổ"] == Role.leader and roles["Đinh Thị Xã"] == Role.staff
    assert web.post("/members", data={"name": "Ai Đó", "role": "admin"}).status_code == 403


def test_volunteers_have_no_members_page(web, db, world):
    web.sign_in(world.volunteer)
    assert web.get("/members").status_code == 403
    assert web.post(f"/members/{world.volunteer.id}/invite").status_code == 403
    assert last_event(db).action == "refused"


def test_members_page_shows_the_leaders_village_only(web, world):
    web.sign_in(world.leader)
    page = web.get("/members")
    assert "Phạm Thu Hà" in page.text and "Đỗ Minh Tuấn" not in page.text


# --- one-time codes ---------------------------------------------------------------------------


def issue_code(web, db, actor, member) -> str:
    web.sign_in(actor)
    page = web.post(f"/members/{member.id}/code")
    assert page.status_code == 200, page.text
    code = re.search(r"data-one-time-code>(\d{3}) (\d{3})<", page.text)
    web.post("/signout")
    return code.group(1) + code.group(2)


def code_sign_in(client, phone, code):
    page = client.get("/signin")
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
    return client.post("/signin/code", data={"csrf_token": csrf, "phone": phone, "code": code})


def test_a_code_signs_in_once(web, db, world):
    code = issue_code(web, db, world.leader, world.volunteer)
    stored = db.exec(select(OneTimeCode)).one()
    assert code not in stored.code_hash and stored.created_by_id == world.leader.id
    phone = app_phone = world.volunteer.phone
    client = web.app_client_fresh()
    assert code_sign_in(client, "+84" + app_phone[1:], code).status_code == 303
    assert client.get("/households").status_code == 200
    again = code_sign_in(web.app_client_fresh(), phone, code)
    assert again.status_code == 403 and "không đúng" in again.text
    assert "code_issued" in audit_actions(db) and audit_actions(db)[-1] == "sign_in_refused"


def test_an_expired_code_is_refused(web, db, world):
    code = issue_code(web, db, world.leader, world.volunteer)
    stored = db.exec(select(OneTimeCode)).one()
    stored.expires_at = utcnow() - timedelta(seconds=1)
    db.add(stored)
    db.commit()
    answer = code_sign_in(web.app_client_fresh(), world.volunteer.phone, code)
    assert answer.status_code == 403 and "hết hạn" in answer.text


def test_wrong_codes_are_limited_per_member(web, db, world):
    code = issue_code(web, db, world.leader, world.volunteer)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        answer = code_sign_in(web.app_client_fresh(), world.volunteer.phone, wrong)
        assert answer.status_code == 403
    # Now even the right code waits.
    answer = code_sign_in(web.app_client_fresh(), world.volunteer.phone, code)
    assert answer.status_code == 429 and "15 phút" in answer.text
    db.expire_all()
    stored = db.exec(select(OneTimeCode)).one()
    assert stored.failed_attempts == 5 and stored.used_at is None


def test_wrong_codes_are_limited_per_address_as_a_backstop(web, db, world):
    """Someone spraying many numbers from one address is stopped after members.ADDRESS_LIMIT
    wrong tries — a generous number: a team behind one NAT shares the address
    (tests/web/test_sessions.py has the team)."""
    client = web.app_client_fresh()
    for i in range(members.ADDRESS_LIMIT):
        assert code_sign_in(client, f"0913{i:06d}", "123456").status_code == 403
    assert code_sign_in(client, world.volunteer.phone, "123456").status_code == 429


def test_a_number_that_is_nobodys_is_limited_like_a_members(web, db, world):
    """The answers do not tell which numbers belong to members."""
    for _ in range(members.MAX_WRONG):
        answer = code_sign_in(web.app_client_fresh(), "0919999999", "123456")
        assert answer.status_code == 403
    assert code_sign_in(web.app_client_fresh(), "0919999999", "123456").status_code == 429


def test_a_leader_cannot_issue_a_code_for_another_village(web, db, world):
    web.sign_in(world.leader)
    assert web.post(f"/members/{world.other_volunteer.id}/code").status_code == 403
    assert db.exec(select(func.count()).select_from(OneTimeCode)).one() == 0
    assert last_event(db).action == "refused"


# --- member management ------------------------------------------------------------------------


def test_a_leader_removes_a_volunteer_who_is_then_signed_out(web, db, world):
    volunteer = type(web)(web.app_client_fresh(), db)
    volunteer.sign_in(world.volunteer)
    web.sign_in(world.leader)
    assert web.post(f"/members/{world.volunteer.id}/deactivate").status_code == 303
    db.refresh(world.volunteer)
    assert not world.volunteer.active
    assert last_event(db).action == "member_removed"
    assert volunteer.client.get("/households").status_code == 302


@pytest.mark.parametrize("actor", ["leader", "volunteer"])
def test_only_staff_change_roles_and_villages(web, db, world, actor):
    web.sign_in(getattr(world, actor))
    answer = web.post(
        f"/members/{world.volunteer.id}/role",
        data={"role": "leader", "village_id": str(world.village.id)},
    )
    assert answer.status_code == 403
    db.refresh(world.volunteer)
    assert world.volunteer.role == Role.volunteer
    event = last_event(db)
    assert event.action == "refused" and event.actor_id == getattr(world, actor).id


def test_staff_change_a_role_and_a_village(web, db, world):
    web.sign_in(world.staff)
    answer = web.post(
        f"/members/{world.volunteer.id}/role",
        data={"role": "leader", "village_id": str(world.other_village.id)},
    )
    assert answer.status_code == 303
    db.refresh(world.volunteer)
    assert (world.volunteer.role, world.volunteer.village_id) == (
        Role.leader,
        world.other_village.id,
    )
    assert audit_actions(db)[-2:] == ["role_changed", "village_changed"]


def test_staff_cannot_make_an_admin_nor_change_themselves(web, db, world):
    web.sign_in(world.staff)
    assert (
        web.post(
            f"/members/{world.volunteer.id}/role", data={"role": "admin", "village_id": ""}
        ).status_code
        == 403
    )
    assert (
        web.post(
            f"/members/{world.staff.id}/role",
            data={"role": "leader", "village_id": str(world.village.id)},
        ).status_code
        == 403
    )
    db.refresh(world.staff)
    assert world.staff.role == Role.staff


def test_staff_add_and_rename_villages_leaders_cannot(web, db, world):
    web.sign_in(world.staff)
    assert web.post("/members/villages", data={"name": "Thôn Bắc"}).status_code == 303
    assert "Thôn Bắc" in web.get("/members").text
    assert (
        web.post(
            f"/members/villages/{world.village.id}/rename", data={"name": "Thôn Đông Mới"}
        ).status_code
        == 303
    )
    leader = type(web)(web.app_client_fresh(), db)
    leader.sign_in(world.leader)
    assert (
        leader.post(
            f"/members/villages/{world.village.id}/rename", data={"name": "Thôn Của Tôi"}
        ).status_code
        == 403
    )
    db.refresh(world.village)
    assert world.village.name == "Thôn Đông Mới"


def test_a_challenge_is_spent_by_a_failed_try_too(web, db, world):
    device = SoftPasskey(origin=ORIGIN)
    enroll(web, db, world.volunteer, device)
    web.post("/signout")
    web.get("/signin")
    options = api(web, "/api/v1/passkeys/signin/options").get_data(as_text=True)
    stranger = SoftPasskey(origin=ORIGIN)
    assert (
        api(web, "/api/v1/passkeys/signin", {"credential": stranger.get(options)}).status_code
        == 403
    )
    answer = api(web, "/api/v1/passkeys/signin", {"credential": device.get(options)})
    assert answer.status_code == 403 and "không còn hợp lệ" in answer.json["error"]
