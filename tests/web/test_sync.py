"""The sync API through the Flask test client: per-item answers, sign-in and CSRF, bad bodies,
and two sends of one batch at once. Every answer is held to the served OpenAPI document."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

import pytest
from jsonschema import Draft202012Validator
from sqlmodel import func, select

from fieldkit import forms
from fieldkit.models import Assistance, Household, HouseholdEdit, Resident, Visit, utcnow
from fieldkit.sync import MAX_ITEMS
from tests.web.api import DOCUMENT, SYNC, Contract, post
from tests.web.conftest import Browser

SIGN_IN_AGAIN = "Đăng nhập lại để gửi"


def new_id() -> str:
    return str(uuid.uuid4())


def local(delta=timedelta(0)) -> str:
    return forms.to_local(utcnow() + delta).strftime("%Y-%m-%dT%H:%M")


def count(db, table) -> int:
    return db.exec(select(func.count()).select_from(table)).one()


def counts(db) -> tuple[int, ...]:
    return tuple(count(db, t) for t in (Household, Resident, Visit, Assistance, HouseholdEdit))


def visit(household_id, *lines, **fields) -> dict:
    payload = {
        "uuid": new_id(),
        "household_id": household_id,
        "visited_at": local(),
        "outcome": "met",
        "notes": "",
        "lines": list(lines),
        **fields,
    }
    return {"id": payload["uuid"], "kind": "visit", "payload": payload}


def resident(**fields) -> dict:
    payload = {"uuid": new_id(), "name": "Nguyễn Thị Mai", "birth_year": "2001", **fields}
    return {"id": payload["uuid"], "kind": "resident", "payload": payload}


def household(**fields) -> dict:
    payload = {
        "uuid": new_id(),
        "label": "27",
        "head_name": "Vũ Thị Hoa",
        "address_hint": "",
        "smartphones": "",
        "internet_at_home": "",
        **fields,
    }
    return {"id": payload["uuid"], "kind": "household", "payload": payload}


@pytest.fixture
def contract(app) -> Contract:
    return Contract.served_by(app.test_client())


@pytest.fixture
def volunteer(web, world) -> Browser:
    web.sign_in(world.volunteer)
    return web


def sync(browser: Browser, contract: Contract, *items) -> list[dict]:
    """Send items as the outbox does; the results, after checking the answer."""
    response = post(browser.client, {"items": list(items)}, token=browser.csrf)
    assert response.status_code == 200, response.text
    body = contract.check(response)
    assert [result["id"] for result in body["results"]] == [item["id"] for item in items]
    return body["results"]


def statuses(results) -> list[str]:
    return [result["status"] for result in results]


# --- the document ----------------------------------------------------------------------------


def test_the_openapi_document_describes_the_endpoint_and_its_answers(app, contract):
    document = contract.document
    assert document["openapi"] == "3.1.0"
    for schema in document["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)
    assert contract.documented == {"200", "400", "401", "413"}
    schemas = document["components"]["schemas"]
    assert schemas["SyncItem"]["properties"]["kind"]["enum"] == [
        "visit",
        "resident",
        "household",
        "household_edit",
        "consent",
        "revision",
    ]
    assert schemas["ItemResult"]["properties"]["status"]["enum"] == [
        "stored",
        "duplicate",
        "conflict",
        "invalid",
        "forbidden",
    ]
    assert schemas["SyncRequest"]["properties"]["items"]["maxItems"] == MAX_ITEMS
    schemes = document["components"]["securitySchemes"]
    assert (schemes["csrfToken"]["in"], schemes["csrfToken"]["name"]) == ("header", "X-CSRF-Token")
    assert schemes["session"]["name"] == app.config["SESSION_COOKIE_NAME"]
    assert document["paths"][SYNC]["post"]["security"] == [{"session": [], "csrfToken": []}]


def test_the_document_is_served_to_anyone(app):
    response = app.test_client().get(DOCUMENT)
    assert response.status_code == 200 and response.get_json()["paths"][SYNC]


# --- the answers, item by item ---------------------------------------------------------------


def test_a_batch_answers_each_item_and_one_bad_item_spoils_nothing(volunteer, contract, db, world):
    before = counts(db)
    good_visit = visit(
        world.household.id,
        {
            "resident_id": world.head.id,
            "service_code": "vneid_level1",
            "result": "done",
            "device": "own",
        },
    )
    bad_visit = visit(world.household.id, visited_at=local(timedelta(days=1)))
    good_resident = resident(household_id=world.household.id)

    results = sync(volunteer, contract, good_visit, bad_visit, good_resident)

    assert statuses(results) == ["stored", "invalid", "stored"]
    assert results[1]["errors"] == {"visited_at": "Thời gian thăm không thể ở tương lai."}
    assert [r.get("household_id") for r in results] == [
        world.household.id,
        None,
        world.household.id,
    ]
    assert counts(db) == (before[0], before[1] + 1, 1, 1, 0)
    page = volunteer.get(f"/households/{world.household.id}").text
    assert "Nguyễn Thị Mai" in page and "VNeID mức 1: <b>Xong</b>" in page


def test_a_batch_sent_again_is_all_duplicate_and_changes_nothing(volunteer, contract, db, world):
    proposal = household()
    batch = [
        proposal,
        resident(household_uuid=proposal["id"], name="Vũ Văn Nam"),
        visit(world.household.id),
        {
            "id": (edit_id := new_id()),
            "kind": "household_edit",
            "payload": {
                "uuid": edit_id,
                "household_id": world.neighbour.id,
                "label": "14",
                "head_name": "Trần Thị Bình",
                "address_hint": "Cạnh cầu",
            },
        },
    ]
    assert statuses(sync(volunteer, contract, *batch)) == ["stored"] * 4
    before = counts(db)

    again = sync(volunteer, contract, *batch)

    assert statuses(again) == ["duplicate"] * 4
    assert all("không lưu thêm" in result["message"] for result in again)
    assert counts(db) == before


def test_the_same_uuid_with_other_content_is_a_conflict(volunteer, contract, db, world):
    sent = visit(world.household.id)
    sync(volunteer, contract, sent)
    changed = {**sent, "payload": {**sent["payload"], "notes": "Nội dung khác"}}

    (result,) = sync(volunteer, contract, changed)

    assert result["status"] == "conflict"
    assert result["message"] == "Lượt thăm này đã được gửi trước đó với nội dung khác."
    assert db.exec(select(Visit.notes)).all() == [""]


def test_invalid_fields_come_back_by_name_in_vietnamese(volunteer, contract, world):
    (result,) = sync(
        volunteer,
        contract,
        resident(household_id=world.household.id, name="", birth_year="năm", sex="other"),
    )
    assert result["status"] == "invalid"
    assert result["errors"] == {
        "name": "Vui lòng nhập họ tên.",
        "birth_year": "Năm sinh phải là số nguyên.",
        "sex": "Giá trị không hợp lệ cho giới tính.",
    }


def test_a_household_of_another_village_is_forbidden(volunteer, contract, db, world):
    before = counts(db)
    results = sync(
        volunteer,
        contract,
        visit(world.far_household.id),
        resident(household_id=world.far_household.id),
    )
    assert statuses(results) == ["forbidden", "forbidden"]
    assert {r["message"] for r in results} == {"Hộ này không thuộc phạm vi của bạn."}
    assert counts(db) == before


def test_commune_staff_are_forbidden_to_write_field_records(web, contract, db, world):
    web.sign_in(world.staff)
    results = sync(web, contract, visit(world.household.id), household())
    assert statuses(results) == ["forbidden", "forbidden"]
    assert {r["message"] for r in results} == {
        "Chỉ thành viên Tổ CNSCĐ và tổ trưởng ghi nhận hỗ trợ tại hộ."
    }
    assert count(db, Visit) == 0


def test_an_unknown_kind_is_an_invalid_item(volunteer, contract, world):
    (result,) = sync(volunteer, contract, {"id": new_id(), "kind": "photo", "payload": {}})
    assert result["status"] == "invalid" and set(result["errors"]) == {"kind"}


def test_a_household_made_offline_then_visited_shows_on_its_page(volunteer, contract, db, world):
    # All three made on the phone without a signal, naming each other by UUID.
    proposal = household(label="31", head_name="Đinh Văn Hải")
    newcomer = resident(household_uuid=proposal["id"], name="Đinh Thị Thu")
    trip = visit(
        None, {"resident_uuid": newcomer["id"], "service_code": "vneid_level1", "result": "done"}
    )
    trip["payload"].pop("household_id")
    trip["payload"]["household_uuid"] = proposal["id"]

    results = sync(volunteer, contract, proposal, newcomer, trip)

    assert statuses(results) == ["stored"] * 3
    household_id = results[0]["household_id"]
    assert {r["household_id"] for r in results} == {household_id}
    page = volunteer.get(f"/households/{household_id}").text
    assert "Đinh Văn Hải" in page and "Đinh Thị Thu" in page
    assert "VNeID mức 1: <b>Xong</b>" in page
    assert count(db, Assistance) == 1


# --- who may send ----------------------------------------------------------------------------


def test_signed_out_the_api_answers_401_json_and_pages_still_redirect(app, contract, db, world):
    client = app.test_client()
    before = counts(db)
    response = post(client, {"items": [visit(world.household.id)]}, token="stale")
    assert response.status_code == 401
    assert contract.check(response) == {"error": SIGN_IN_AGAIN}
    assert counts(db) == before
    page = client.get("/households")
    assert page.status_code == 302 and "/signin" in page.headers["Location"]


def test_a_member_locked_while_offline_is_asked_to_sign_in_again(volunteer, contract, db, world):
    world.volunteer.active = False
    db.add(world.volunteer)
    db.commit()
    response = post(volunteer.client, {"items": [visit(world.household.id)]}, token=volunteer.csrf)
    assert response.status_code == 401
    assert contract.check(response)["error"] == SIGN_IN_AGAIN
    assert count(db, Visit) == 0


@pytest.mark.parametrize("token", [None, "", "not-the-token"])
def test_without_the_sessions_csrf_token_nothing_is_stored(volunteer, contract, db, world, token):
    response = post(volunteer.client, {"items": [visit(world.household.id)]}, token=token)
    assert response.status_code == 400
    assert "mã bảo vệ" in contract.check(response)["error"]
    assert count(db, Visit) == 0


def test_another_sessions_token_is_refused(app, volunteer, contract, db, world):
    other = Browser(app.test_client(), db)
    other.sign_in(world.leader)
    response = post(volunteer.client, {"items": [visit(world.household.id)]}, token=other.csrf)
    assert response.status_code == 400
    assert count(db, Visit) == 0


# --- bodies that are no batch ----------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[",
        b"null",
        b"[]",
        b'"items"',
        b"42",
        b'{"items": null}',
        b'{"items": {"0": {}}}',
        b'{"items": [1]}',
        b'{"items": [null]}',
        b'{"items": [{"kind": "visit", "payload": {}}]}',
        b'{"items": [{"id": 12}]}',
        b'{"items": [{"id": "12"}]}',
        b'{"items": [{"id": "' + b"g" * 36 + b'"}]}',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"items": ' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"items": [NaN]}',
    ],
)
def test_a_body_that_is_no_batch_gets_400_json(volunteer, contract, db, data):
    response = post(volunteer.client, token=volunteer.csrf, data=data)
    assert response.status_code == 400, response.text
    assert contract.check(response)["error"]
    assert count(db, Visit) == 0


def test_a_batch_of_more_than_the_limit_gets_413_and_the_limit_is_answered(
    volunteer, contract, world
):
    items = [{"id": new_id(), "kind": "visit", "payload": {}} for _ in range(MAX_ITEMS + 1)]
    response = post(volunteer.client, {"items": items}, token=volunteer.csrf)
    assert response.status_code == 413
    assert f"tối đa {MAX_ITEMS} mục" in contract.check(response)["error"]
    assert statuses(sync(volunteer, contract, *items[:MAX_ITEMS])) == ["invalid"] * MAX_ITEMS


def test_a_body_over_two_megabytes_gets_413_json(volunteer, contract):
    data = b'{"items": [], "padding": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = post(volunteer.client, token=volunteer.csrf, data=data)
    assert response.status_code == 413
    assert contract.check(response)["error"]


def test_an_empty_batch_is_answered_with_the_server_time(volunteer, contract):
    response = post(volunteer.client, {"items": []}, token=volunteer.csrf)
    body = contract.check(response)
    assert body["results"] == []
    server_time = datetime.fromisoformat(body["server_time"])
    assert abs(server_time - utcnow()) < timedelta(minutes=1)


def test_reading_the_sync_url_is_a_json_405(volunteer):
    response = volunteer.client.get(SYNC)
    assert response.status_code == 405 and response.get_json()["error"]


# --- two sends at once -----------------------------------------------------------------------


def test_two_tabs_sending_one_batch_at_once_store_it_once(app, db, world, contract):
    tabs = [Browser(app.test_client(), db), Browser(app.test_client(), db)]
    for tab in tabs:
        tab.sign_in(world.volunteer)
    proposal = household()
    batch = [proposal, resident(household_uuid=proposal["id"]), visit(world.household.id)]
    start = threading.Barrier(2)
    answers: list[list[dict]] = [[], []]

    def send(index: int) -> None:
        start.wait(5)
        answers[index] = sync(tabs[index], contract, *batch)

    threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    for position in range(len(batch)):
        assert sorted([answers[0][position]["status"], answers[1][position]["status"]]) == [
            "duplicate",
            "stored",
        ]
    assert count(db, Visit) == 1
    assert count(db, Household) == 4 and count(db, Resident) == 5


def test_a_visit_like_one_sent_minutes_ago_is_stored_with_a_notice(volunteer, contract, db, world):
    done = {"resident_id": world.head.id, "service_code": "vneid_level1", "result": "done"}
    first = visit(world.household.id, done, visited_at=local(timedelta(minutes=-20)))
    (stored,) = sync(volunteer, contract, first)
    assert "notice" not in stored
    again = visit(world.household.id, done, notes="Gõ lại sau khi tải lại trang")

    (result,) = sync(volunteer, contract, again)

    at = first["payload"]["visited_at"][11:16]
    assert result["status"] == "stored"
    assert result["notice"] == f"Có vẻ trùng với lượt thăm lúc {at}."
    assert result["message"].endswith(result["notice"])
    assert count(db, Visit) == 2
    # Sent again (the phone never heard the answer): a replay, no notice, nothing new.
    (replay,) = sync(volunteer, contract, again)
    assert replay["status"] == "duplicate" and "notice" not in replay
