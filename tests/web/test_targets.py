"""The targets page: commune staff set a period's targets in one form, all or nothing; leaders
and volunteers read their village's targets with the approved number and percentage."""

from __future__ import annotations

from sqlmodel import select

from fieldkit.forms import local_today
from fieldkit.households import refresh_summary
from fieldkit.models import AuditEvent, ReviewState, Target, utcnow
from fieldkit.reporting import targets
from tests.fieldkit.helpers import line, record_visit


def _year():
    return targets.preset_period("year", local_today(utcnow()))


def _cells(world, **values):
    """Form data for the grid: vneid_level1 for the commune and Thôn Đông, etc."""
    start, end = _year()
    data = {"preset": "year", "start": start.isoformat(), "end": end.isoformat()}
    data.update(values)
    return data


def _approved_visit(db, world):
    visit = record_visit(
        db,
        world,
        lines=[
            line(world.head, "vneid_level1", "done"),
            line(world.spouse, "vneid_level1", "done"),
        ],
    )
    visit.review_state = ReviewState.approved
    db.add(visit)
    refresh_summary(db, world.household)
    db.commit()


def test_staff_set_targets_and_see_progress(web, world, db):
    _approved_visit(db, world)
    web.sign_in(world.staff)
    page = web.get("/targets")
    assert page.status_code == 200
    assert "Cả xã" in page.get_data(as_text=True)
    east = targets.cell_name(world.village.id, "vneid_level1")
    commune = targets.cell_name(None, "vneid_level1")
    response = web.post("/targets", _cells(world, **{east: "4", commune: "10"}))
    assert response.status_code == 303
    text = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã lưu chỉ tiêu: 2 ô thay đổi." in text
    assert f'name="{east}" value="4"' in text
    assert "Đạt 2 · <b>50%</b>" in text  # Thôn Đông: 2 of 4
    assert "Đạt 2 · <b>20%</b>" in text  # the commune: 2 of 10
    assert len(db.exec(select(AuditEvent).where(AuditEvent.action == "targets_changed")).all()) == 2


def test_one_bad_cell_saves_nothing_and_keeps_what_was_typed(web, world, db):
    web.sign_in(world.staff)
    east = targets.cell_name(world.village.id, "vneid_level1")
    west = targets.cell_name(world.other_village.id, "reached")
    response = web.post("/targets", _cells(world, **{east: "40", west: "-3"}))
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert "Chưa lưu" in text and "Không chỉ tiêu nào bị thay đổi" in text
    assert f'name="{east}" value="40"' in text and f'name="{west}" value="-3"' in text
    assert "Chỉ tiêu phải từ 0 đến" in text
    assert db.exec(select(Target)).all() == []


def test_bad_custom_dates_are_explained(web, world):
    web.sign_in(world.staff)
    page = web.get("/targets?preset=custom&start=2026-12-31&end=2026-01-01")
    assert page.status_code == 422
    assert "Ngày kết thúc phải từ ngày bắt đầu trở đi." in page.get_data(as_text=True)
    response = web.post("/targets", {"preset": "custom", "start": "hôm qua", "end": ""})
    assert response.status_code == 422
    assert "không đúng định dạng ngày" in response.get_data(as_text=True)


def test_leader_reads_their_village_only_and_cannot_save(web, world, db):
    _approved_visit(db, world)
    start, end = _year()
    for village_id, value in ((world.village.id, 8), (world.other_village.id, 99)):
        db.add(
            Target(
                commune_id=world.commune.id,
                village_id=village_id,
                indicator="vneid_level1",
                period_start=start,
                period_end=end,
                value=value,
            )
        )
    db.commit()
    web.sign_in(world.leader)
    text = web.get("/targets").get_data(as_text=True)
    assert "Thôn Đông" in text and "Thôn Tây" not in text and "Cả xã" not in text
    assert "<input name=" not in text.split("Kỳ:")[1]  # read-only: no cells to type in
    assert "2 <b>(25%)</b>" in text  # 2 of 8
    assert ">99<" not in text  # Thôn Tây's target
    east = targets.cell_name(world.village.id, "vneid_level1")
    assert web.post("/targets", _cells(world, **{east: "1"})).status_code == 403
    db.expire_all()
    assert sorted(t.value for t in db.exec(select(Target)).all()) == [8, 99]
