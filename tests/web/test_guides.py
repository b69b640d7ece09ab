"""Guide cards on the web: everyone reads them, large and with the official site's QR code;
commune staff reword them (a bad edit comes back with what was typed); the phone keeps them
for the day."""

from sqlmodel import select

from fieldkit.models import Guide
from tests.qr import decode_svg
from tests.web.test_stickers import SVG


def test_a_volunteer_opens_a_card_with_the_official_sites_qr(web, world):
    web.sign_in(world.volunteer)
    index = web.get("/guides").get_data(as_text=True)
    assert "Cài VNeID và đăng ký tài khoản mức 1" in index
    page = web.get("/guides/dvcqg_login").get_data(as_text=True)
    assert "Đăng nhập Cổng Dịch vụ công quốc gia" in page
    assert '<ol class="guide-steps">' in page
    (svg,) = [svg for svg in SVG.findall(page) if 'role="img"' in svg]
    assert decode_svg(svg) == "https://dichvucong.gov.vn"
    assert "Sửa hướng dẫn" not in page


def test_a_card_without_an_official_site_has_no_qr(web, world):
    web.sign_in(world.volunteer)
    page = web.get("/guides/online_safety").get_data(as_text=True)
    assert "Không bao giờ đọc mã OTP" in page and "Trang chính thức" not in page


def test_staff_reword_a_card_and_the_field_sees_it(web, world, db):
    web.sign_in(world.staff)
    form = web.get("/guides/zalo_group/edit").get_data(as_text=True)
    assert "Cài Zalo và đăng ký" in form
    response = web.post(
        "/guides/zalo_group/edit",
        {
            "title": "Vào nhóm Zalo thôn Đông",
            "steps": "Mở Zalo.\nQuét mã ở nhà văn hóa.",
            "official_url": "",
        },
    )
    assert response.status_code == 303
    web.sign_in(world.volunteer)
    page = web.get("/guides/zalo_group").get_data(as_text=True)
    assert "Vào nhóm Zalo thôn Đông" in page and "Quét mã ở nhà văn hóa." in page


def test_a_bad_edit_keeps_what_was_typed_and_saves_nothing(web, world, db):
    web.sign_in(world.staff)
    response = web.post(
        "/guides/vneid_level1/edit",
        {"title": "Tiêu đề mới", "steps": "Bước một.", "official_url": "http://vneid.gov.vn"},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "phải bắt đầu bằng https://" in page
    assert 'value="Tiêu đề mới"' in page and "Bước một." in page
    assert db.exec(select(Guide)).all() == []


def test_field_members_cannot_edit(web, world, db):
    web.sign_in(world.leader)
    assert web.get("/guides/vneid_level1/edit").status_code == 403
    response = web.post("/guides/vneid_level1/edit", {"title": "x", "steps": "y"})
    assert response.status_code == 403
    assert db.exec(select(Guide)).all() == []


def test_the_phone_keeps_every_card_for_the_day(web, world):
    web.sign_in(world.volunteer)
    pack = web.get("/api/v1/offline-pack").get_json()
    urls = {page["url"] for page in pack["pages"]}
    assert "/guides" in urls and "/guides/vneid_level1" in urls and "/guides/other" in urls
    before = {page["url"]: page["version"] for page in pack["pages"]}

    web.sign_in(world.staff)
    web.post(
        "/guides/etax/edit", {"title": "eTax của xã", "steps": "Một bước.", "official_url": ""}
    )
    web.sign_in(world.volunteer)
    after = {
        page["url"]: page["version"] for page in web.get("/api/v1/offline-pack").get_json()["pages"]
    }
    assert after["/guides/etax"] != before["/guides/etax"]
    assert after["/guides/vneid_level1"] == before["/guides/vneid_level1"]
