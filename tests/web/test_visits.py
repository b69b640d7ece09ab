"""The visit form through the Flask test client: a good visit is stored once; bad ones answer
422 with the message beside the field, keep what was typed and save nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlmodel import func, select

from fieldkit import forms
from fieldkit.models import Assistance, Visit, utcnow


def local(delta=timedelta(0)) -> str:
    return forms.to_local(utcnow() + delta).strftime("%Y-%m-%dT%H:%M")


def visit_form(world, **overrides) -> dict:
    form = {
        "uuid": str(uuid.uuid4()),
        "visited_at": local(),
        "outcome": "met",
        "lines-0-resident_id": str(world.head.id),
        "lines-0-service_code": "vneid_level1",
        "lines-0-result": "done",
        "lines-0-device": "own",
        "lines-1-resident_id": str(world.spouse.id),
        "lines-1-service_code": "dvcqg_login",
        "lines-1-result": "failed",
        "lines-1-reason": "forgot_password",
        "notes": "Hẹn bà Lan tuần sau",
        "smartphones": "2",
        "internet_at_home": "yes",
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v is not None}


def count(db, table) -> int:
    return db.exec(select(func.count()).select_from(table)).one()


def test_a_visit_with_two_lines_is_stored_and_shown(web, db, world):
    web.sign_in(world.volunteer)
    form = web.get(f"/households/{world.household.id}/visits/new")
    assert form.status_code == 200 and 'name="uuid"' in form.text
    response = web.post(f"/households/{world.household.id}/visits", data=visit_form(world))
    assert response.status_code == 303
    page = web.get(f"/households/{world.household.id}").text
    assert "Đã lưu lượt thăm" in page
    assert "VNeID mức 1: <b>Xong</b>" in page
    assert "Quên mật khẩu" in page and "Chờ duyệt" in page
    assert count(db, Visit) == 1 and count(db, Assistance) == 2


def test_the_same_form_sent_twice_stores_one_visit(web, db, world):
    web.sign_in(world.volunteer)
    form = visit_form(world)
    url = f"/households/{world.household.id}/visits"
    assert web.post(url, data=form).status_code == 303
    again = web.post(url, data=form)
    assert again.status_code == 303
    assert "đã được lưu trước đó" in web.get(f"/households/{world.household.id}").text
    assert count(db, Visit) == 1 and count(db, Assistance) == 2


def test_the_same_uuid_with_other_content_is_a_conflict(web, db, world):
    web.sign_in(world.volunteer)
    form = visit_form(world)
    url = f"/households/{world.household.id}/visits"
    web.post(url, data=form)
    changed = web.post(url, data={**form, "notes": "khác"})
    assert changed.status_code == 409
    assert "nội dung khác" in changed.text
    assert count(db, Visit) == 1


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"visited_at": local(timedelta(days=1))},
            "visited_at",
            "Thời gian thăm không thể ở tương lai.",
        ),
        ({"visited_at": ""}, "visited_at", "Vui lòng nhập thời gian thăm."),
        ({"outcome": None}, "outcome", "Vui lòng chọn kết quả chuyến thăm."),
        (
            {"lines-0-service_code": "teleport"},
            "lines-0-service_code",
            "Dịch vụ không có trong danh mục.",
        ),
        ({"lines-1-reason": None}, "lines-1-reason", "Cho biết lý do"),
        (
            {"follow_up_on": "2020-01-01"},
            "follow_up_on",
            "Ngày hẹn quay lại phải từ ngày thăm trở đi.",
        ),
    ],
)
def test_bad_visits_answer_422_with_the_message_and_save_nothing(
    web, db, world, overrides, field, message
):
    web.sign_in(world.volunteer)
    response = web.post(
        f"/households/{world.household.id}/visits", data=visit_form(world, **overrides)
    )
    assert response.status_code == 422
    assert message in response.text
    assert "Hẹn bà Lan tuần sau" in response.text  # the notes typed are still there
    assert count(db, Visit) == 0 and count(db, Assistance) == 0


def test_a_resident_of_another_household_is_refused(web, db, world):
    web.sign_in(world.volunteer)
    form = visit_form(world, **{"lines-0-resident_id": str(world.far_resident.id)})
    response = web.post(f"/households/{world.household.id}/visits", data=form)
    assert response.status_code == 422
    assert "Người này không thuộc hộ đang thăm." in response.text
    assert count(db, Visit) == 0 and count(db, Assistance) == 0


def test_a_form_with_a_broken_uuid_is_refused_plainly(web, db, world):
    web.sign_in(world.volunteer)
    response = web.post(
        f"/households/{world.household.id}/visits", data=visit_form(world, uuid="not-a-uuid")
    )
    assert response.status_code == 422
    assert "Mã bản ghi không hợp lệ" in response.text
    assert count(db, Visit) == 0


def test_visit_to_another_village_is_forbidden(web, db, world):
    web.sign_in(world.volunteer)
    response = web.post(f"/households/{world.far_household.id}/visits", data=visit_form(world))
    assert response.status_code == 403
    assert count(db, Visit) == 0


def test_after_a_removed_line_the_message_stays_beside_the_right_line(web, db, world):
    web.sign_in(world.volunteer)
    form = visit_form(world)
    for key in [k for k in form if k.startswith("lines-1-")]:  # line 1 removed on the phone
        form[key.replace("lines-1-", "lines-2-")] = form.pop(key)
    form["lines-2-service_code"] = "teleport"
    response = web.post(f"/households/{world.household.id}/visits", data=form)
    assert response.status_code == 422
    assert 'name="lines-2-service_code"' in response.text
    assert 'name="lines-1-service_code"' not in response.text
    text = response.text
    assert (
        text.index('id="lines-2-service_code"')
        < text.index("Dịch vụ không có trong danh mục.")
        < text.index('name="lines-2-result"')
    )
    assert count(db, Visit) == 0
