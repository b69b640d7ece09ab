"""The follow-ups page: each section lists its households, one tap to the household; a
volunteer can keep only theirs; commune staff pick a village."""

from __future__ import annotations

from datetime import timedelta

from fieldkit.forms import local_today
from fieldkit.models import utcnow
from tests.fieldkit.helpers import line, record_visit


def _setup(db, world):
    today = local_today(utcnow())
    record_visit(
        db,
        world,
        visited_at="2026-11-18T09:00",
        follow_up_on=(today - timedelta(days=1)).isoformat(),
    )  # 12: overdue
    record_visit(
        db,
        world,
        household=world.neighbour,
        visited_at="2026-11-18T09:00",
        follow_up_on=today.isoformat(),
        lines=[],
    )  # 14: today, nobody assigned
    record_visit(
        db,
        world,
        household=world.far_household,
        member=world.other_volunteer,
        visited_at="2026-11-18T09:00",
        follow_up_on=(today + timedelta(days=3)).isoformat(),
        lines=[line(world.far_resident, "vneid_level2", "referred", reason="needs_police")],
    )
    db.commit()


def test_volunteer_sees_their_village_sections_and_taps_through(web, world, db):
    _setup(db, world)
    web.sign_in(world.volunteer)
    page = web.get("/follow-ups")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for heading in ("Quá hạn", "Hôm nay", "Sắp tới", "Chờ công an xác thực mức 2"):
        assert heading in text
    assert f'href="/households/{world.household.id}"' in text
    assert f'href="/households/{world.neighbour.id}"' in text
    assert "Nguyễn Văn An" in text and "Phạm Thu Hà" in text and "Chưa phân công" in text
    assert "Lê Văn Cường" not in text  # Thôn Tây
    assert web.get(f"/households/{world.household.id}").status_code == 200

    mine = web.get("/follow-ups?mine=1").get_data(as_text=True)
    assert f'href="/households/{world.household.id}"' in mine
    assert f'href="/households/{world.neighbour.id}"' not in mine


def test_staff_see_the_commune_and_filter_a_village(web, world, db):
    _setup(db, world)
    web.sign_in(world.staff)
    text = web.get("/follow-ups").get_data(as_text=True)
    assert "Lê Văn Cường" in text and "Nguyễn Văn An" in text
    assert "Người chờ: Lê Văn Cường" in text  # referred for level 2
    west = web.get(f"/follow-ups?village={world.other_village.id}").get_data(as_text=True)
    assert "Lê Văn Cường" in west and "Nguyễn Văn An" not in west


def test_a_village_outside_the_commune_is_refused(web, world, db):
    from fieldkit.models import Commune, Village

    other = Commune(
        code="15350", name="Xã Khác", province_code="38", province_name="Tỉnh Thanh Hóa"
    )
    db.add(other)
    db.flush()
    foreign = Village(commune_id=other.id, name="Thôn Lạ")
    db.add(foreign)
    db.commit()
    web.sign_in(world.staff)
    # Another commune's village is one that does not exist, to them (policy.require_village).
    assert web.get(f"/follow-ups?village={foreign.id}").status_code == 404


def test_the_page_is_in_the_volunteers_offline_pack(web, world):
    web.sign_in(world.volunteer)
    pack = web.get("/api/v1/offline-pack").get_json()
    assert "/follow-ups" in [page["url"] for page in pack["pages"]]
