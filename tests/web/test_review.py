"""The review pages through the Flask test client: the inbox and its decisions, the field's
returned list and its form, a household's history, the offline pack. Refusals are clear and
change nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import func, select

from fieldkit import review
from fieldkit.errors import Forbidden
from fieldkit.models import (
    Commune,
    Member,
    RecordRevision,
    ReviewDecision,
    ReviewState,
    Role,
    Visit,
)
from tests.conftest import NOW
from tests.fieldkit.helpers import line, record_visit
from tests.web.api import post as sync_post
from tests.web.conftest import Browser


def _visit(db, world, **fields):
    visit = record_visit(db, world, lines=[line(world.head)], **fields)
    db.commit()
    return visit


def _decisions(db) -> int:
    db.expire_all()
    return db.exec(select(func.count()).select_from(ReviewDecision)).one()


def _state(db, visit) -> tuple:
    db.expire_all()
    stored = db.get(Visit, visit.id)
    return stored.review_state, stored.revision


def _decide(web, visit, decision, **fields):
    return web.post(
        "/review/decide",
        {"record": f"visit:{visit.id}:{visit.revision}", "decision": decision, **fields},
    )


def test_inbox_shows_pending_records_readably_and_filters(web, db, world):
    _visit(db, world, notes="Bà cần hướng dẫn thêm")
    record_visit(
        db, world, household=world.far_household, member=world.other_volunteer, outcome="not_home"
    )
    db.commit()
    web.sign_in(world.staff)
    page = web.get("/review").get_data(as_text=True)
    assert "Duyệt hồ sơ" in page and "(2)" in page
    assert "Nguyễn Văn An — VNeID" in page or "Nguyễn Văn An — " in page
    assert "Bà cần hướng dẫn thêm" in page and "Phạm Thu Hà" in page
    assert "Duyệt các mục đã chọn" in page and "Trả lại" in page and "Từ chối" in page
    west = web.get(f"/review?village={world.other_village.id}").get_data(as_text=True)
    assert "Lê Văn Cường" in west and "Bà cần hướng dẫn thêm" not in west
    assert web.get("/review?kind=resident").get_data(as_text=True).count("review-item") == 0


def test_the_inbox_is_for_commune_staff(web, db, world):
    web.sign_in(world.volunteer)
    assert web.get("/review").status_code == 403


def test_approve_then_approve_again_is_refused_and_changes_nothing(web, db, world):
    visit = _visit(db, world)
    web.sign_in(world.staff)
    response = _decide(web, visit, "approve")
    assert response.status_code == 303
    assert _state(db, visit) == (ReviewState.approved, 1)
    followed = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã duyệt hồ sơ." in followed
    again = _decide(web, visit, "approve")
    assert again.status_code == 409
    assert "đã được duyệt rồi" in again.get_data(as_text=True)
    assert _decisions(db) == 1


def test_an_empty_reason_is_refused_and_a_common_reason_returns(web, db, world):
    visit = _visit(db, world)
    web.sign_in(world.staff)
    refused = _decide(web, visit, "return", reason="  ")
    assert refused.status_code == 422
    assert "Hãy ghi lý do trả lại" in refused.get_data(as_text=True)
    assert _state(db, visit) == (ReviewState.pending, 1) and _decisions(db) == 0
    refused = _decide(web, visit, "reject")
    assert refused.status_code == 422 and "lý do từ chối" in refused.get_data(as_text=True)

    assert (
        _decide(
            web, visit, "return", reason_choice="Thiếu mã hồ sơ", reason="dòng VNeID"
        ).status_code
        == 303
    )
    assert _state(db, visit) == (ReviewState.returned, 1)
    (decision,) = db.exec(select(ReviewDecision)).all()
    assert decision.reason == "Thiếu mã hồ sơ: dòng VNeID"


def test_reviewing_outside_ones_commune_is_forbidden(web, db, world):
    visit = _visit(db, world)
    elsewhere = Commune(
        code="15350", name="Xã Khác", province_code="38", province_name="Tỉnh Thanh Hóa"
    )
    db.add(elsewhere)
    db.flush()
    stranger = Member(
        commune_id=elsewhere.id, name="Cán Bộ Xã Khác", phone="0912999998", role=Role.staff
    )
    db.add(stranger)
    db.commit()
    web.sign_in(stranger)
    assert "review-item" not in web.get("/review").get_data(as_text=True)
    # Another commune's record is one that does not exist, to them (policy.require_household).
    assert _decide(web, visit, "approve").status_code == 404
    assert web.post("/review/approve", {"records": f"visit:{visit.id}:1"}).status_code == 404
    assert _state(db, visit) == (ReviewState.pending, 1) and _decisions(db) == 0


def test_approve_many_is_all_or_nothing(web, db, world):
    first = _visit(db, world)
    second = record_visit(db, world, household=world.neighbour, outcome="not_home")
    db.commit()
    web.sign_in(world.staff)
    assert _decide(web, second, "approve").status_code == 303
    both = [f"visit:{first.id}:1", f"visit:{second.id}:1"]
    refused = web.post("/review/approve", {"records": both})
    assert refused.status_code == 409
    assert "Chưa duyệt hồ sơ nào" in refused.get_data(as_text=True)
    assert _state(db, first) == (ReviewState.pending, 1)
    assert web.post("/review/approve", {"records": both[:1]}).status_code == 303
    assert _state(db, first) == (ReviewState.approved, 1)
    assert web.post("/review/approve", {}).status_code == 422


def test_returned_list_count_fix_without_script_and_history(web, db, world, app):
    visit = _visit(db, world)
    reviewer = Browser(web.app_client_fresh(), db)
    reviewer.sign_in(world.staff)
    assert _decide(reviewer, visit, "return", reason="Sai thời gian thăm").status_code == 303

    web.sign_in(world.volunteer)
    assert "Bị trả lại (1)" in web.get("/households").get_data(as_text=True)
    listing = web.get("/returned").get_data(as_text=True)
    assert "Sai thời gian thăm" in listing and "Sửa và gửi lại" in listing
    form_url = f"/returned/visit/{visit.uuid}"
    form = web.get(form_url).get_data(as_text=True)
    assert 'data-outbox="revision"' in form and 'value="2026-11-20T09:30"' in form
    # Without script the same resubmission goes through the same ingest.
    fields = {
        "uuid": str(uuid.uuid4()),
        "record_kind": "visit",
        "record_uuid": visit.uuid,
        "base_revision": "1",
        "visited_at": "2026-11-20T08:40",
        "outcome": "met",
        "lines-0-resident_id": str(world.head.id),
        "lines-0-service_code": "vneid_level1",
        "lines-0-result": "done",
    }
    bad = web.post(form_url, {**fields, "visited_at": ""})
    assert bad.status_code == 422 and "thời gian thăm" in bad.get_data(as_text=True)
    assert _state(db, visit) == (ReviewState.returned, 1)
    done = web.post(form_url, fields)
    assert done.status_code == 303 and done.headers["Location"].endswith("/returned")
    assert _state(db, visit) == (ReviewState.pending, 2)
    assert "Bị trả lại (" not in web.get("/households").get_data(as_text=True)

    inbox = reviewer.get("/review").get_data(as_text=True)
    assert "Sửa lần 2" in inbox and "09:30 20/11/2026" in inbox and "08:40 20/11/2026" in inbox
    history = web.get(f"/households/{world.household.id}/reviews").get_data(as_text=True)
    assert (
        history.index("Gửi lần 1")
        < history.index("Sai thời gian thăm")
        < history.index("Sửa và gửi lại lần 2")
    )
    assert "Duyệt hồ sơ" in web.get(f"/households/{world.household.id}").get_data(as_text=True)


def test_resubmitting_a_rejected_record_through_the_api_is_refused(web, db, world):
    visit = _visit(db, world)
    review.decide(
        db,
        member=world.staff,
        kind="visit",
        record_id=visit.id,
        decision=ReviewState.rejected,
        reason="Trùng",
        now=NOW,
        expected_revision=1,
    )
    db.commit()
    web.sign_in(world.volunteer)
    item = {
        "id": str(uuid.uuid4()),
        "kind": "revision",
        "payload": {
            "record_kind": "visit",
            "record_uuid": visit.uuid,
            "base_revision": 1,
            "visited_at": "2026-11-20T08:40",
            "outcome": "not_home",
        },
    }
    answer = sync_post(web.client, {"items": [item]}, token=web.csrf).get_json()
    (result,) = answer["results"]
    assert result["status"] == "invalid"
    assert "đã bị xã từ chối" in result["errors"]["form"]
    assert _state(db, visit) == (ReviewState.rejected, 1)
    assert db.exec(select(func.count()).select_from(RecordRevision)).one() == 0


def test_the_offline_pack_carries_returned_records(web, db, world):
    visit = _visit(db, world)
    web.sign_in(world.volunteer)

    def pack():
        return {p["url"]: p["version"] for p in web.get("/api/v1/offline-pack").get_json()["pages"]}

    before = pack()
    assert "/returned" in before
    review.decide(
        db,
        member=world.staff,
        kind="visit",
        record_id=visit.id,
        decision=ReviewState.returned,
        reason="Bổ sung",
        now=NOW,
        expected_revision=1,
    )
    db.commit()
    after = pack()
    assert after["/returned"] != before["/returned"]
    assert f"/returned/visit/{visit.uuid}" in after


def test_a_decision_refreshes_the_households_page_on_the_phone(web, db, world):
    """The household page shows each visit's review tag: approving one changes the page's
    version in the offline pack, so the phone fetches it again; other households stay."""
    visit = _visit(db, world)
    web.sign_in(world.volunteer)

    def pack():
        return {p["url"]: p["version"] for p in web.get("/api/v1/offline-pack").get_json()["pages"]}

    before = pack()
    review.decide(
        db,
        member=world.staff,
        kind="visit",
        record_id=visit.id,
        decision=ReviewState.approved,
        reason="",
        now=NOW,
        expected_revision=1,
    )
    db.commit()
    after = pack()
    page, neighbour = f"/households/{world.household.id}", f"/households/{world.neighbour.id}"
    assert after[page] != before[page]
    assert after[neighbour] == before[neighbour]


@pytest.mark.parametrize(
    "record, decision",
    [
        ("", "approve"),
        ("visit:abc:1", "approve"),
        ("visit:999999:1", "approve"),
        ("nope:1:1", "return"),
        ("visit:1", "approve"),
        ("visit:1:x", "reject"),
        ("visit:1:1", "maybe"),
        ("visit:99999999999999999999999:1", "approve"),
        ("visit:1:99999999999999999999999", "approve"),
        ("visit:-1:1", "approve"),
    ],
)
def test_a_malformed_decision_is_refused_plainly(web, db, world, record, decision):
    _visit(db, world)
    web.sign_in(world.staff)
    response = web.post("/review/decide", {"record": record, "decision": decision, "reason": "x"})
    assert response.status_code in (404, 409, 422), response.status_code
    assert _decisions(db) == 0
    if record != "visit:1:1":  # that one is a real record: approving it is allowed
        many = web.post("/review/approve", {"records": [record]})
        assert many.status_code in (404, 409, 422), many.status_code
        assert _decisions(db) == 0


@pytest.mark.parametrize(
    "url",
    [
        "/households/99999999999999999999999",
        "/villages/4294967296",
        "/households/2147483648/reviews",
        "/stickers/households/99999999999999999999",
    ],
)
def test_ids_too_large_for_the_database_are_not_found_not_errors(web, world, url):
    web.sign_in(world.staff)
    assert web.get(url).status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/review?village=99999999999999999999&volunteer=4294967296",
        "/assignments?village=99999999999999999999",
        "/follow-ups?village=4294967296",
        "/audit?actor=99999999999",
    ],
)
def test_filters_naming_ids_too_large_for_the_database_filter_nothing(web, world, url):
    """A filter naming an id no row can have is ignored: the page opens, never a 500."""
    web.sign_in(world.staff)
    assert web.get(url).status_code == 200


HTMX = {"HX-Request": "true"}


def test_an_htmx_decision_answers_only_the_records_item_and_the_count(web, db, world):
    first = _visit(db, world, notes="Một")
    second = record_visit(db, world, household=world.far_household, member=world.other_volunteer)
    db.commit()
    web.sign_in(world.staff)
    web.get("/review")

    refused = web.post(
        "/review/decide",
        {"record": f"visit:{second.id}:1", "decision": "reject", "reason": "  "},
        headers=HTMX,
    )
    assert refused.status_code == 422
    item = refused.get_data(as_text=True)
    assert "<html" not in item and f'id="r-visit-{second.id}"' in item
    assert "Hãy ghi lý do từ chối" in item and "open" in item  # the reject form stays open

    done = web.post(
        "/review/decide", {"record": f"visit:{first.id}:1", "decision": "approve"}, headers=HTMX
    )
    assert done.status_code == 200
    text = done.get_data(as_text=True)
    assert "<html" not in text and f'id="done-visit-{first.id}"' in text
    assert "Đã duyệt hồ sơ" in text and world.household.head_name in text
    assert 'id="review-total" hx-swap-oob="true">(1)<' in text
    assert _state(db, first)[0] is ReviewState.approved

    again = web.post(
        "/review/decide", {"record": f"visit:{first.id}:1", "decision": "approve"}, headers=HTMX
    )
    assert again.status_code == 409  # decided already: the item says so, nothing changes
    assert "<html" not in again.get_data(as_text=True) and _decisions(db) == 1
    # The page after any of it, without script, still shows the message a reload would.
    assert "(1)" in web.get("/review").get_data(as_text=True)


# --- possible duplicate visits (issue 11) -----------------------------------------------------


def test_a_possible_duplicate_is_shown_in_pairs_and_rejected_in_one_tap(web, db, world):
    first = _visit(db, world, visited_at="2026-11-20T09:30")
    again = _visit(db, world, visited_at="2026-11-20T09:41", notes="Gõ lại")
    lone = record_visit(
        db, world, household=world.far_household, member=world.other_volunteer, outcome="not_home"
    )
    db.commit()
    web.sign_in(world.staff)
    page = web.get("/review").get_data(as_text=True)
    assert "Lượt thăm có thể trùng" in page and f'id="dup-visit-{again.id}"' in page
    assert f'id="dup-visit-{first.id}"' not in page and f'id="dup-visit-{lone.id}"' not in page
    assert "Từ chối: trùng" in page
    # Filters apply: not among households' records, nor another village's.
    assert "Lượt thăm có thể trùng" not in web.get("/review?kind=household").text
    other = world.other_village.id
    assert "Lượt thăm có thể trùng" not in web.get(f"/review?village={other}").text

    reason = "Trùng với lượt thăm lúc 09:30 (cùng hộ, người thăm, kết quả và dòng hỗ trợ)."
    response = _decide(web, again, "reject", reason=reason, village=str(world.village.id))
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/review?village={world.village.id}")
    assert _state(db, again) == (ReviewState.rejected, 1)
    assert _state(db, first) == (ReviewState.pending, 1)
    page = web.get("/review").get_data(as_text=True)
    assert "Lượt thăm có thể trùng" not in page
    assert f"Lý do: {reason}" in page


def test_the_pair_leaves_the_inbox_once_the_first_visit_is_rejected(web, db, world):
    first = _visit(db, world, visited_at="2026-11-20T09:30")
    _visit(db, world, visited_at="2026-11-20T09:41")
    web.sign_in(world.staff)
    _decide(web, first, "reject", reason="Sai hộ")
    assert "Lượt thăm có thể trùng" not in web.get("/review").text


def test_possible_duplicates_are_for_commune_staff_of_that_commune(db, world):
    _visit(db, world, visited_at="2026-11-20T09:30")
    _visit(db, world, visited_at="2026-11-20T09:41")
    assert len(review.possible_duplicate_visits(db, member=world.staff)) == 1
    with pytest.raises(Forbidden):
        review.possible_duplicate_visits(db, member=world.leader)
    elsewhere = Commune(code="15350", name="Xã Khác", province_code="38", province_name="Thanh Hóa")
    db.add(elsewhere)
    db.flush()
    stranger = Member(
        commune_id=elsewhere.id, name="Cán bộ khác", phone="0912999999", role=Role.staff
    )
    db.add(stranger)
    db.flush()
    assert review.possible_duplicate_visits(db, member=stranger) == []
