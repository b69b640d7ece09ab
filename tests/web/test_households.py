"""The volunteer's screens through the Flask test client: page vs fragment, scope, bad forms."""

from __future__ import annotations

import uuid

import pytest
from sqlmodel import func, select

from fieldkit.models import Household, HouseholdEdit, Resident, ReviewState

HX = {"HX-Request": "true"}


def test_list_is_a_full_page_normally_and_a_fragment_for_htmx(web, world):
    web.sign_in(world.volunteer)
    page = web.get("/households")
    assert page.status_code == 200
    assert "<html" in page.text and 'id="household-list"' in page.text
    fragment = web.get("/households?q=tran", headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert fragment.text.lstrip().startswith('<section id="household-list"')
    assert "Trần Thị Bình" in fragment.text and "Nguyễn Văn An" not in fragment.text
    assert "HX-Request" in fragment.headers["Vary"]


def test_search_ignores_accents_and_lists_my_households_first(web, world):
    web.sign_in(world.volunteer)
    text = web.get("/households?q=nguyen+van").text
    assert "Nguyễn Văn An" in text and "Trần Thị Bình" not in text
    everything = web.get("/households").text
    assert everything.index("Nguyễn Văn An") < everything.index("Trần Thị Bình")
    assert "Của tôi" in everything


def test_volunteer_never_sees_another_village(web, world):
    web.sign_in(world.volunteer)
    assert "Lê Văn Cường" not in web.get("/households").text
    far = world.far_household.id
    for url in [
        f"/households/{far}",
        f"/households/{far}/edit",
        f"/households/{far}/visits/new",
        f"/households/{far}/residents/new",
    ]:
        response = web.get(url)
        assert response.status_code == 403, url
        assert "không thuộc phạm vi" in response.text
    assert web.get("/households/99999").status_code == 404
    assert "Thôn Tây" not in web.get("/villages").text


def test_writes_outside_scope_are_refused_and_change_nothing(web, db, world):
    web.sign_in(world.volunteer)
    far = world.far_household.id
    response = web.post(
        f"/households/{far}/edit",
        data={"uuid": str(uuid.uuid4()), "label": "3", "head_name": "Đổi Tên"},
    )
    assert response.status_code == 403
    response = web.post(
        f"/households/{far}/residents/new", data={"uuid": str(uuid.uuid4()), "name": "Người Lạ"}
    )
    assert response.status_code == 403
    db.expire_all()
    assert db.get(Household, far).head_name == "Lê Văn Cường"
    assert db.exec(select(func.count()).select_from(HouseholdEdit)).one() == 0
    assert db.exec(select(func.count()).select_from(Resident)).one() == 4


def test_commune_staff_see_every_village(web, world):
    web.sign_in(world.staff)
    text = web.get("/households").text
    assert "Lê Văn Cường" in text and "Nguyễn Văn An" in text
    villages = web.get("/villages").text
    assert "Thôn Đông" in villages and "Thôn Tây" in villages and "Cả xã" in villages
    assert web.get(f"/households/{world.far_household.id}").status_code == 200


def test_leader_sees_own_village_counts(web, world):
    web.sign_in(world.leader)
    text = web.get("/villages").text
    assert "Thôn Đông" in text and "Thôn Tây" not in text


def test_edit_household_saves_and_keeps_the_change_for_review(web, db, world):
    web.sign_in(world.volunteer)
    household = world.household.id
    response = web.post(
        f"/households/{household}/edit",
        data={
            "uuid": str(uuid.uuid4()),
            "label": "12A",
            "head_name": "Nguyễn Văn An",
            "address_hint": "Cạnh cổng làng",
            "smartphones": "2",
            "internet_at_home": "yes",
        },
    )
    assert response.status_code == 303
    db.expire_all()
    saved = db.get(Household, household)
    assert (saved.label, saved.smartphones, saved.internet_at_home) == ("12A", 2, True)
    edit = db.exec(select(HouseholdEdit)).one()
    assert edit.changes["label"] == {"before": "12", "after": "12A"}
    assert edit.review_state is ReviewState.pending


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"label": "12", "head_name": ""}, "head_name", "Vui lòng nhập họ tên chủ hộ."),
        ({"label": "", "head_name": "Nguyễn Văn An"}, "label", "Vui lòng nhập số nhà / tên hộ."),
        (
            {"label": "12", "head_name": "A", "smartphones": "nhiều"},
            "smartphones",
            "Số điện thoại thông minh phải là số nguyên.",
        ),
    ],
)
def test_bad_household_edit_is_422_beside_the_field_and_saves_nothing(
    web, db, world, form, field, message
):
    web.sign_in(world.volunteer)
    household = world.household.id
    response = web.post(f"/households/{household}/edit", data={"uuid": str(uuid.uuid4()), **form})
    assert response.status_code == 422
    assert f'<p class="field-error" id="{field}-error">{message}</p>' in response.text
    db.expire_all()
    assert db.get(Household, household).head_name == "Nguyễn Văn An"
    assert db.exec(select(func.count()).select_from(HouseholdEdit)).one() == 0


def test_propose_a_new_household(web, db, world):
    web.sign_in(world.volunteer)
    bad = web.post(
        "/households/new", data={"uuid": str(uuid.uuid4()), "label": "40", "head_name": ""}
    )
    assert bad.status_code == 422
    assert 'value="40"' in bad.text  # what was typed is kept
    form_uuid = str(uuid.uuid4())
    form = {"uuid": form_uuid, "label": "40", "head_name": "Vũ Thị Hoa"}
    assert web.post("/households/new", data=form).status_code == 303
    assert web.post("/households/new", data=form).status_code == 303  # double tap
    created = db.exec(select(Household).where(Household.uuid == form_uuid)).one()
    assert created.review_state is ReviewState.pending
    assert created.village_id == world.village.id
    assert db.exec(select(func.count()).select_from(Household)).one() == 4
    listing = web.get("/households?q=vu+thi+hoa").text
    assert "Vũ Thị Hoa" in listing and "Chờ duyệt" in listing


def test_add_resident_checks_birth_year(web, db, world):
    web.sign_in(world.volunteer)
    household = world.household.id
    future = web.post(
        f"/households/{household}/residents/new",
        data={"uuid": str(uuid.uuid4()), "name": "Nguyễn Văn Bé", "birth_year": "2099"},
    )
    assert future.status_code == 422
    assert "Năm sinh phải từ 1900 đến" in future.text
    assert 'value="Nguyễn Văn Bé"' in future.text
    ok = web.post(
        f"/households/{household}/residents/new",
        data={
            "uuid": str(uuid.uuid4()),
            "name": "Nguyễn Văn Bé",
            "birth_year": "2019",
            "sex": "male",
            "relation": "Cháu",
        },
    )
    assert ok.status_code == 303
    page = web.get(f"/households/{household}").text
    assert "Nguyễn Văn Bé" in page and "Chờ duyệt" in page


def test_staff_cannot_write_field_records(web, world):
    web.sign_in(world.staff)
    response = web.post(
        f"/households/{world.household.id}/residents/new",
        data={"uuid": str(uuid.uuid4()), "name": "Ai Đó"},
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        "?offset=99999999999999999999999",
        "?offset=-5",
        "?filter=bogus",
        "?q=%25%25%25_",
        "?q=" + "x" * 5000,
        "?q=%00",
        "?offset=abc&filter=follow_up",
    ],
)
def test_odd_list_parameters_never_break_the_page(web, world, query):
    web.sign_in(world.volunteer)
    assert web.get("/households" + query).status_code == 200


def test_villages_are_in_vietnamese_alphabetical_order(web, world):
    web.sign_in(world.staff)
    text = web.get("/villages").text
    assert text.index("Thôn Đông") < text.index("Thôn Tây")


def test_the_visit_forms_first_line_is_its_template_with_the_index_filled_in(web, world):
    """The resident × service choices of the household page's visit form are rendered once:
    line 0 (there for a phone without script) is the template app.js clones for "Thêm dòng",
    index filled in."""
    web.sign_in(world.volunteer)
    page = web.get(f"/households/{world.household.id}").get_data(as_text=True)
    template = page.split('<template id="line-template">', 1)[1].split("</template>", 1)[0]
    assert 'name="lines-__i__-resident_id"' in template
    assert template.replace("__i__", "0") in page.split('<div id="lines">', 1)[1]
    assert page.count('name="lines-0-service_code"') == 1
