"""Privacy and the audit log through the browser's eyes (Flask test client): consent on the
household page, export and erasure by commune staff, the audit page and its filters, the
retention setting."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from fieldkit import audit
from fieldkit.models import Commune, Household, utcnow
from tests.web.conftest import Browser


@pytest.fixture
def staff(app, db, world) -> Browser:
    browser = Browser(app.test_client(), db)
    browser.sign_in(world.staff)
    return browser


def test_household_page_asks_for_consent_then_shows_it(web, db, world):
    web.sign_in(world.volunteer)
    page = web.get(f"/households/{world.household.id}").text
    assert 'data-consent-state="missing"' in page and "Chưa ghi nhận sự đồng ý" in page
    assert 'data-outbox="consent"' in page and 'id="dong-y"' in page
    response = web.post(
        f"/households/{world.household.id}/consent",
        data={
            "uuid": "6f1c1b3e-3f4e-4c55-9a55-0d3f3b1f0a01",
            "purpose_public_services": "yes",
            "method": "written",
            "consented_on": utcnow().date().isoformat(),
        },
    )
    assert response.status_code == 303
    page = web.get(f"/households/{world.household.id}").text
    assert 'data-consent-state="recorded"' in page
    assert "Hỗ trợ dịch vụ công trực tuyến" in page and "Đồng ý bằng văn bản" in page
    refused = web.post(
        f"/households/{world.household.id}/consent",
        data={"uuid": "6f1c1b3e-3f4e-4c55-9a55-0d3f3b1f0a02"},
    )
    assert refused.status_code == 422 and "Chọn ít nhất một mục đích" in refused.text


def test_a_visit_note_with_a_citizen_id_is_refused_with_a_clear_message(web, db, world):
    web.sign_in(world.volunteer)
    response = web.post(
        f"/households/{world.household.id}/visits",
        data={
            "uuid": "6f1c1b3e-3f4e-4c55-9a55-0d3f3b1f0a03",
            "visited_at": "2026-01-01T09:00",
            "outcome": "not_home",
            "notes": "CCCD của ông An: 038090012345",
        },
    )
    assert response.status_code == 422
    assert "Không ghi số CCCD đầy đủ" in response.text
    assert "038090012345" in response.text  # kept in the form to fix, not stored


def test_staff_export_a_household_as_json_and_it_is_audited(staff, web, db, world):
    response = staff.post(f"/households/{world.household.id}/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment;")
    data = json.loads(response.get_data())
    assert data["household"]["head_name"] == "Nguyễn Văn An"
    assert {r["name"] for r in data["residents"]} == {"Nguyễn Văn An", "Hoàng Thị Lan"}
    assert set(data) == {"exported_at", "household", "consent", "residents", "visits"}
    log = staff.get("/audit?action=export").text
    assert "Xuất dữ liệu" in log and "Lê Văn Chung" in log and "Hộ 12 · Nguyễn Văn An" in log
    web.sign_in(world.leader)
    assert web.post(f"/households/{world.household.id}/export").status_code == 403


def test_erasing_asks_for_confirmation_then_leaves_an_anonymous_household(staff, web, db, world):
    url = f"/households/{world.household.id}/erase"
    confirm = staff.get(url)
    assert confirm.status_code == 200 and "không hoàn tác được" in confirm.text
    unconfirmed = staff.post(url)
    assert unconfirmed.status_code == 422 and "Đánh dấu ô xác nhận" in unconfirmed.text
    db.expire_all()
    assert db.get(Household, world.household.id).erased_at is None
    assert staff.post(url, data={"confirm": "yes"}).status_code == 303

    page = staff.get(f"/households/{world.household.id}").text
    assert "Hộ đã xóa dữ liệu" in page and "Nguyễn Văn An" not in page
    assert "Hoàng Thị Lan" not in page
    log = staff.get("/audit").text
    assert "Xóa dữ liệu cá nhân" in log and "theo yêu cầu" in log
    assert "Nguyễn Văn An" not in log  # the log names the household by its id only now

    web.sign_in(world.volunteer)
    page = web.get(f"/households/{world.household.id}").text
    assert 'data-consent-state="erased"' in page
    assert 'data-outbox="visit"' not in page and 'data-outbox="resident"' not in page
    assert "Hộ đã xóa dữ liệu" in web.get("/households").text


def test_the_audit_log_is_for_commune_staff_only_and_filters(staff, web, db, world):
    now = utcnow()
    audit.record(db, action="sign_in", now=now, actor=world.volunteer)
    audit.record(
        db,
        action="review",
        now=now,
        actor=world.staff,
        target_kind="household",
        target_id=world.neighbour.id,
        details={"reason": "request"},
    )
    db.commit()

    def listed(url):  # the events, without the filter form's options
        return staff.get(url).text.split('class="audit-list"')[1]

    everything = listed("/audit")
    assert everything.index("Duyệt hồ sơ") < everything.index("Đăng nhập")  # newest first
    only_sign_ins = listed("/audit?action=sign_in")
    assert "Phạm Thu Hà" in only_sign_ins and "Duyệt hồ sơ" not in only_sign_ins
    by_person = listed(f"/audit?actor={world.staff.id}")
    assert "Duyệt hồ sơ" in by_person and "Phạm Thu Hà" not in by_person
    later = (now + timedelta(days=2)).date().isoformat()
    assert "Không có hoạt động nào" in staff.get(f"/audit?from={later}").text
    assert "Không có hoạt động nào" not in staff.get(f"/audit?to={later}&from=nonsense").text
    csv = staff.get("/audit.csv?action=sign_in")
    assert csv.mimetype == "text/csv" and "Phạm Thu Hà" in csv.text
    for person in (world.volunteer, world.leader):
        web.sign_in(person)
        assert web.get("/audit").status_code == 403
        assert web.get("/audit.csv").status_code == 403


def test_staff_set_the_retention_period_and_it_is_audited(staff, web, db, world):
    assert staff.get("/settings").status_code == 200
    assert staff.post("/settings", data={"retention_months": "24"}).status_code == 303
    db.expire_all()
    assert db.get(Commune, world.commune.id).retention_months == 24
    assert staff.post("/settings", data={"retention_months": "7"}).status_code == 422
    assert staff.post("/settings", data={"retention_months": ""}).status_code == 303
    db.expire_all()
    assert db.get(Commune, world.commune.id).retention_months is None
    assert "Đổi cài đặt" in staff.get("/audit").text
    web.sign_in(world.leader)
    assert web.post("/settings", data={"retention_months": "12"}).status_code == 403
