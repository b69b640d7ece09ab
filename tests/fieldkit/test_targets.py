"""Targets (chỉ tiêu): who sets them, what is refused, which one applies on a day, progress."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from fieldkit.errors import Forbidden, Invalid
from fieldkit.models import AuditEvent, Commune, Target, Village
from fieldkit.reporting import targets
from fieldkit.reporting.targets import Progress, progress, set_target, targets_for
from tests.conftest import NOW
from tests.fieldkit.helpers import count

YEAR = (date(2026, 1, 1), date(2026, 12, 31))
Q4 = (date(2026, 10, 1), date(2026, 12, 31))


def _set(
    session, world, *, village=None, indicator="vneid_level1", period=YEAR, value=100, member=None
):
    return set_target(
        session,
        member=member or world.staff,
        village_id=village.id if village else None,
        indicator=indicator,
        period_start=period[0],
        period_end=period[1],
        value=value,
        now=NOW,
    )


def test_progress_floors_and_may_pass_100():
    target = Target(
        commune_id=1, indicator="reached", period_start=YEAR[0], period_end=YEAR[1], value=3
    )
    assert progress(2, target) == Progress(value=2, target=3, percent=66)
    assert progress(7, target) == Progress(value=7, target=3, percent=233)
    assert progress(5, None) is None


def test_a_target_of_zero_is_met_and_does_not_divide_by_zero():
    target = Target(
        commune_id=1, indicator="reached", period_start=YEAR[0], period_end=YEAR[1], value=0
    )
    assert progress(0, target) == Progress(value=0, target=0, percent=100)
    assert progress(0, target).met


def test_set_target_then_set_again_updates_the_one_target(session, world):
    _set(session, world, village=world.village, value=100)
    _set(session, world, village=world.village, value=120)
    _set(session, world, value=500)  # the whole commune: a different target
    session.commit()
    assert count(session, Target) == 2
    found = targets_for(session, commune_id=world.commune.id, on=date(2026, 11, 20))
    assert found[(world.village.id, "vneid_level1")].value == 120
    assert found[(None, "vneid_level1")].value == 500
    assert found[(None, "vneid_level1")].set_by_id == world.staff.id


def test_every_change_is_audited_and_a_no_op_is_not(session, world):
    _set(session, world, value=100)
    _set(session, world, value=100)
    _set(session, world, value=150)
    targets.clear_target(
        session,
        member=world.staff,
        village_id=None,
        indicator="vneid_level1",
        period_start=YEAR[0],
        period_end=YEAR[1],
        now=NOW,
    )
    session.commit()
    events = session.exec(
        select(AuditEvent).where(AuditEvent.action == "targets_changed").order_by(AuditEvent.id)
    ).all()
    assert [(e.details["old"], e.details["new"]) for e in events] == [
        (None, 100),
        (100, 150),
        (150, None),
    ]
    assert count(session, Target) == 0


def test_targets_for_a_day_only_those_whose_period_contains_it(session, world):
    _set(session, world, value=1000)
    _set(session, world, period=Q4, value=300)
    _set(session, world, period=(date(2027, 1, 1), date(2027, 12, 31)), value=2000)
    on_nov = targets_for(session, commune_id=world.commune.id, on=date(2026, 11, 20))
    on_mar = targets_for(session, commune_id=world.commune.id, on=date(2026, 3, 1))
    on_last_day = targets_for(session, commune_id=world.commune.id, on=date(2026, 12, 31))
    # The quarter started last: it is the current, narrower target.
    assert on_nov[(None, "vneid_level1")].value == 300
    assert on_mar[(None, "vneid_level1")].value == 1000
    assert on_last_day[(None, "vneid_level1")].value == 300  # ends are inclusive
    assert targets_for(session, commune_id=world.commune.id, on=date(2025, 12, 31)) == {}


def test_targets_of_another_commune_are_not_seen(session, world):
    other = Commune(
        code="15350", name="Xã Khác", province_code="38", province_name="Tỉnh Thanh Hóa"
    )
    session.add(other)
    session.flush()
    session.add(
        Target(
            commune_id=other.id,
            indicator="reached",
            period_start=YEAR[0],
            period_end=YEAR[1],
            value=9,
        )
    )
    session.flush()
    assert targets_for(session, commune_id=world.commune.id, on=date(2026, 6, 1)) == {}


@pytest.mark.parametrize("member", ["volunteer", "leader"])
def test_only_commune_staff_set_targets(session, world, member):
    with pytest.raises(Forbidden, match="Chỉ công chức xã được đặt chỉ tiêu"):
        _set(session, world, member=getattr(world, member))
    assert count(session, Target) == 0


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"indicator": "likes"}, "indicator", "không có trong danh sách"),
        ({"value": -1}, "value", "từ 0"),
        ({"value": "12.5"}, "value", "số nguyên"),
        ({"value": "mười"}, "value", "số nguyên"),
        ({"value": ""}, "value", "Vui lòng nhập chỉ tiêu"),
        ({"period": (date(2026, 12, 31), date(2026, 1, 1))}, "period_end", "từ ngày bắt đầu"),
        ({"period": ("2026-13-01", "2026-12-31")}, "period_start", "định dạng ngày"),
    ],
)
def test_bad_input_is_refused_with_a_message_per_field(session, world, fields, field, message):
    with pytest.raises(Invalid) as refused:
        _set(session, world, **fields)
    assert message in refused.value.errors[field]
    assert count(session, Target) == 0


def test_a_village_of_another_commune_is_refused(session, world):
    other = Commune(
        code="15350", name="Xã Khác", province_code="38", province_name="Tỉnh Thanh Hóa"
    )
    session.add(other)
    session.flush()
    foreign = Village(commune_id=other.id, name="Thôn Lạ")
    session.add(foreign)
    session.flush()
    with pytest.raises(Invalid) as refused:
        _set(session, world, village=foreign)
    assert "không thuộc xã" in refused.value.errors["village_id"]


def test_value_typed_as_text_is_accepted(session, world):
    assert _set(session, world, value=" 250 ").value == 250


def test_grid_saves_all_or_nothing(session, world):
    name = targets.cell_name
    _set(session, world, village=world.village, indicator="reached", value=50)
    session.commit()
    values = {
        name(None, "reached"): "300",
        name(world.village.id, "reached"): "",
        name(world.other_village.id, "vneid_level1"): "-4",
    }
    with pytest.raises(Invalid) as refused:
        targets.save_grid(
            session,
            member=world.staff,
            period_start=YEAR[0],
            period_end=YEAR[1],
            village_ids=[world.village.id, world.other_village.id],
            values=values,
            now=NOW,
        )
    assert list(refused.value.errors) == [name(world.other_village.id, "vneid_level1")]
    session.rollback()
    found = targets.targets_in_period(
        session, commune_id=world.commune.id, period_start=YEAR[0], period_end=YEAR[1]
    )
    assert {key: t.value for key, t in found.items()} == {(world.village.id, "reached"): 50}

    values[name(world.other_village.id, "vneid_level1")] = "40"
    changed = targets.save_grid(
        session,
        member=world.staff,
        period_start=YEAR[0],
        period_end=YEAR[1],
        village_ids=[world.village.id, world.other_village.id],
        values=values,
        now=NOW,
    )
    session.commit()
    assert changed == 3
    found = targets.targets_in_period(
        session, commune_id=world.commune.id, period_start=YEAR[0], period_end=YEAR[1]
    )
    assert {key: t.value for key, t in found.items()} == {
        (None, "reached"): 300,
        (world.other_village.id, "vneid_level1"): 40,
    }


def test_preset_periods():
    today = date(2026, 11, 20)
    assert targets.preset_period("year", today) == YEAR
    assert targets.preset_period("quarter", today) == Q4
    assert targets.preset_period("month", today) == (date(2026, 11, 1), date(2026, 11, 30))
    assert targets.preset_period("quarter", date(2026, 2, 3)) == (
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
