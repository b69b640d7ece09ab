"""Official administrative units, and setting up a commune and its villages from them."""

import pytest

from fieldkit import admin_units, catalogue, communes
from fieldkit.errors import Invalid, NotFound
from fieldkit.models import Commune, Service, Village
from tests.fieldkit.helpers import count, line, record_visit


def test_known_commune_code_resolves_to_its_post_2025_name_and_province():
    commune = admin_units.lookup_commune("15349")
    assert (commune.code, commune.name) == ("15349", "Xã Vĩnh Lộc")
    assert (commune.province_code, commune.province_name) == ("38", "Tỉnh Thanh Hóa")


def test_code_that_the_old_package_gets_wrong_resolves_officially():
    # vietnam-provinces 2025.10.1 gives Phường Cửa Nam the code 00073; the official one is 00082.
    commune = admin_units.lookup_commune("00082")
    assert commune.name == "Phường Cửa Nam"
    assert commune.province_name == "Thành phố Hà Nội"


def test_code_typed_with_spaces_around_it_is_found():
    assert admin_units.lookup_commune(" 15349 ").name == "Xã Vĩnh Lộc"


@pytest.mark.parametrize("code", ["123", "abcde", "153490", "", None, "1534'"])
def test_malformed_code_is_refused_in_vietnamese(code):
    with pytest.raises(NotFound, match="Mã xã phải gồm đúng 5 chữ số"):
        admin_units.lookup_commune(code)


def test_unknown_code_is_refused_in_vietnamese():
    with pytest.raises(NotFound, match="Không có xã nào mang mã 99999"):
        admin_units.lookup_commune("99999")


def test_data_set_has_34_provinces_and_3321_communes():
    assert admin_units.count_official() == (34, 3321)


def test_data_file_equals_the_maintained_package_row_by_row():
    """fieldkit/data/admin_units.csv is generated from `vietnamadminunits`: regenerate it with
    scripts/make-admin-units.py when the package changes, and this test says so."""
    pytest.importorskip("vietnamadminunits", reason="the dev extra installs it (make test)")
    from_package = admin_units.rows_from_package()
    from_file = sorted(admin_units._communes().values(), key=lambda c: c.code)
    assert len(from_file) == len(from_package) == 3321
    assert from_file == from_package


def test_a_province_lists_its_communes():
    thanh_hoa = admin_units.communes_of_province("38")
    assert admin_units.lookup_province("38").name == "Tỉnh Thanh Hóa"
    assert "15349" in {c.code for c in thanh_hoa}
    assert {c.province_code for c in thanh_hoa} == {"38"}
    assert [c.code for c in thanh_hoa] == sorted(c.code for c in thanh_hoa)
    # Every commune lies in exactly one province.
    total = sum(
        len(admin_units.communes_of_province(code))
        for code in {c.province_code for c in admin_units._communes().values()}
    )
    assert total == 3321


@pytest.mark.parametrize("code", ["3", "388", "ab", "", None])
def test_malformed_province_code_is_refused_in_vietnamese(code):
    with pytest.raises(NotFound, match="Mã tỉnh phải gồm đúng 2 chữ số"):
        admin_units.lookup_province(code)


def test_unknown_province_code_is_refused_in_vietnamese():
    with pytest.raises(NotFound, match="Không có tỉnh nào mang mã 99"):
        admin_units.communes_of_province("99")


def test_init_commune_creates_the_commune_once_with_the_starting_services(session):
    commune, created = communes.init_commune(session, "15349")
    session.commit()
    assert created
    assert (commune.name, commune.province_name) == ("Xã Vĩnh Lộc", "Tỉnh Thanh Hóa")
    assert count(session, Service) == len(catalogue.STARTING_SET) == 18

    again, created_again = communes.init_commune(session, "15349")
    session.commit()
    assert not created_again
    assert again.id == commune.id
    assert count(session, Commune) == 1
    assert count(session, Service) == 18


def test_init_commune_again_keeps_the_staffs_catalogue_edits(session):
    communes.init_commune(session, "15349")
    session.commit()
    zalo = session.get(Service, "zalo_group")
    zalo.short_name = "Nhóm Zalo"
    session.add(zalo)
    session.commit()

    communes.init_commune(session, "15349")
    session.commit()
    session.expire_all()
    assert session.get(Service, "zalo_group").short_name == "Nhóm Zalo"


def test_visit_form_offers_active_services_in_catalogue_order(session, world):
    etax = session.get(Service, "etax")
    etax.active = False
    session.add(etax)
    session.flush()
    codes = [service.code for service in catalogue.active_services(session)]
    assert codes == [code for code, *_ in catalogue.STARTING_SET if code != "etax"]


def test_init_commune_with_unknown_code_creates_nothing(session):
    with pytest.raises(NotFound):
        communes.init_commune(session, "99999")
    assert count(session, Commune) == 0
    assert count(session, Service) == 0


def test_add_village_squeezes_the_name(session, world):
    village = communes.add_village(session, world.commune, "  Thôn   Bắc ")
    session.commit()
    assert village.name == "Thôn Bắc"
    assert village.commune_id == world.commune.id


@pytest.mark.parametrize("name", ["", "   ", None])
def test_add_village_without_a_name_is_refused(session, world, name):
    with pytest.raises(Invalid) as refused:
        communes.add_village(session, world.commune, name)
    assert refused.value.errors == {"name": "Vui lòng nhập tên thôn (tối đa 80 ký tự)."}


@pytest.mark.parametrize("name", ["Thôn Đông", " Thôn  Đông "])
def test_add_village_twice_is_refused(session, world, name):
    with pytest.raises(Invalid) as refused:
        communes.add_village(session, world.commune, name)
    assert refused.value.errors == {"name": "Xã đã có Thôn Đông."}
    assert count(session, Village) == 2


def test_same_village_name_is_allowed_in_another_commune(session, world):
    other = Commune(
        code="00082", name="Phường Cửa Nam", province_code="01", province_name="Thành phố Hà Nội"
    )
    session.add(other)
    session.flush()
    assert communes.add_village(session, other, "Thôn Đông").commune_id == other.id


def test_village_counts_show_households_reached_and_visits(session, world):
    record_visit(session, world, lines=[line(world.head)])
    record_visit(session, world, visited_at="2026-11-20T09:45")
    session.commit()

    rows = communes.village_counts(session, world.commune.id)
    assert {v.name: (households, reached, visits) for v, households, reached, visits in rows} == {
        "Thôn Đông": (2, 1, 2),
        "Thôn Tây": (1, 0, 0),
    }
    (only,) = communes.village_counts(session, world.commune.id, world.other_village.id)
    assert only[0].id == world.other_village.id


def test_a_village_name_differing_only_in_capitals_is_a_duplicate(session):
    commune, _ = communes.init_commune(session, "15349")
    communes.add_village(session, commune, "Thôn Bái Đô")
    with pytest.raises(Invalid):
        communes.add_village(session, commune, "thôn bái đô")
    assert communes.add_village(session, commune, "Thôn Bài Đô").name == "Thôn Bài Đô"
