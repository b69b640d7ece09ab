"""Guide cards: a card for every service, the commune's own wording when staff reworded it
(and only for that commune), all-or-nothing edits, reset, audited."""

import pytest
from sqlmodel import select

from fieldkit import catalogue, guides
from fieldkit.errors import Forbidden, Invalid
from fieldkit.models import AuditEvent, Commune, Guide, Member, Role
from tests.conftest import NOW


def test_every_service_of_the_starting_set_has_its_own_card():
    codes = [code for code, *_ in catalogue.STARTING_SET]
    assert sorted(guides.DEFAULTS) == sorted(codes)
    for title, steps in guides.DEFAULTS.values():
        assert title and 1 <= len(steps) <= guides.MAX_STEPS
        assert all(len(step) <= guides.MAX_STEP_LENGTH for step in steps)


def test_cards_follow_the_catalogue_with_official_sites(session, world):
    cards = guides.cards(session, commune_id=world.commune.id)
    assert [card.service_code for card in cards][:3] == [
        "vneid_level1",
        "vneid_activate",
        "vneid_level2",
    ]
    dvcqg = guides.card(session, commune_id=world.commune.id, service_code="dvcqg_login")
    assert dvcqg.official_url == "https://dichvucong.gov.vn"
    assert not dvcqg.edited
    assert dvcqg.steps[0].startswith("Mở trình duyệt")


def test_staff_reword_a_card_for_their_commune_only(session, world):
    other = Commune(
        code="15350", name="Xã Khác", province_code="38", province_name="Tỉnh Thanh Hóa"
    )
    session.add(other)
    session.commit()

    card = guides.save(
        session,
        member=world.staff,
        service_code="zalo_group",
        title="Vào nhóm Zalo thôn Đông",
        steps="Mở Zalo.\n\n  Quét mã QR dán ở nhà văn hóa.  \n",
        official_url="https://zalo.me/g/abc",
        now=NOW,
    )
    session.commit()

    assert card.edited and card.title == "Vào nhóm Zalo thôn Đông"
    assert card.steps == ["Mở Zalo.", "Quét mã QR dán ở nhà văn hóa."]
    assert card.official_url == "https://zalo.me/g/abc"
    untouched = guides.card(session, commune_id=other.id, service_code="zalo_group")
    assert not untouched.edited and untouched.title == guides.DEFAULTS["zalo_group"][0]
    event = session.exec(select(AuditEvent).where(AuditEvent.action == "guide_changed")).one()
    assert event.actor_id == world.staff.id and event.details["service"] == "zalo_group"


@pytest.mark.parametrize(
    "title, steps, url, field",
    [
        ("", "Một bước.", "", "title"),
        ("Tiêu đề", "   \n  ", "", "steps"),
        ("Tiêu đề", "\n".join(f"Bước {n}" for n in range(13)), "", "steps"),
        ("Tiêu đề", "x" * 241, "", "steps"),
        ("Tiêu đề", "Một bước.", "http://vneid.gov.vn", "official_url"),
        ("Tiêu đề", "Một bước.", "javascript:alert(1)", "official_url"),
    ],
)
def test_a_bad_card_is_refused_and_nothing_is_saved(session, world, title, steps, url, field):
    with pytest.raises(Invalid) as refused:
        guides.save(
            session,
            member=world.staff,
            service_code="vneid_level1",
            title=title,
            steps=steps,
            official_url=url,
            now=NOW,
        )
    assert field in refused.value.errors
    session.rollback()
    assert session.exec(select(Guide)).all() == []


def test_only_commune_staff_edit_cards(session, world):
    for person in (world.volunteer, world.leader):
        with pytest.raises(Forbidden):
            guides.save(
                session,
                member=person,
                service_code="vneid_level1",
                title="T",
                steps="Một bước.",
                official_url="",
                now=NOW,
            )
    assert session.exec(select(Guide)).all() == []


def test_reset_brings_back_the_starting_text(session, world):
    guides.save(
        session,
        member=world.staff,
        service_code="etax",
        title="eTax của xã",
        steps="Một bước.",
        official_url="",
        now=NOW,
    )
    session.commit()
    card = guides.reset(session, member=world.staff, service_code="etax", now=NOW)
    session.commit()
    assert not card.edited and card.title == guides.DEFAULTS["etax"][0]
    assert card.official_url == "https://thuedientu.gdt.gov.vn"
    assert session.exec(select(Guide)).all() == []


def test_an_admin_may_edit_too(session, world):
    admin = Member(commune_id=world.commune.id, name="Quản Trị", role=Role.admin)
    session.add(admin)
    session.commit()
    card = guides.save(
        session,
        member=admin,
        service_code="other",
        title="Khác",
        steps="Hỏi người dân cần gì.",
        official_url="",
        now=NOW,
    )
    assert card.edited
