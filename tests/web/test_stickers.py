"""Door stickers on the web: the sheet's QR codes read back to the short links, a short link
opens the household, forged and replaced links are refused (and guessing is throttled)."""

import re

from sqlmodel import select

from fieldkit.models import Sticker
from tests.qr import decode_svg

SVG = re.compile(r"<svg.*?</svg>", re.S)


def sheet_links(page: str) -> list[str]:
    return [decode_svg(svg) for svg in SVG.findall(page) if 'role="img"' in svg]


def test_the_leaders_sheet_reads_back_to_one_link_per_household(web, world, db):
    web.sign_in(world.leader)
    response = web.get(f"/stickers/villages/{world.village.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "In nhãn" in page and "2 nhãn" in page
    links = sheet_links(page)
    tokens = {s.household_id: s.token for s in db.exec(select(Sticker)).all()}
    assert links == [
        f"http://localhost:8000/s/{tokens[world.household.id]}",
        f"http://localhost:8000/s/{tokens[world.neighbour.id]}",
    ]
    # No name on the sheet: only house numbers and the village.
    assert "Nguyễn Văn An" not in page and "Trần Thị Bình" not in page


def test_a_scanned_sticker_opens_the_household(web, world, db):
    web.sign_in(world.leader)
    link = sheet_links(
        web.get(f"/stickers/households/{world.household.id}").get_data(as_text=True)
    )[0]
    web.sign_in(world.volunteer)
    response = web.get(link.removeprefix("http://localhost:8000"))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/households/{world.household.id}"


def test_signed_out_the_sticker_leads_to_sign_in_and_back(web, world, db):
    web.sign_in(world.leader)
    link = sheet_links(
        web.get(f"/stickers/households/{world.household.id}").get_data(as_text=True)
    )[0]
    stranger = web.app_client_fresh()
    response = stranger.get(link.removeprefix("http://localhost:8000"))
    assert response.status_code == 302 and "/signin" in response.headers["Location"]


def test_a_volunteer_of_another_village_is_refused(web, world, db):
    web.sign_in(world.leader)
    link = sheet_links(
        web.get(f"/stickers/households/{world.household.id}").get_data(as_text=True)
    )[0]
    web.sign_in(world.other_volunteer)
    response = web.get(link.removeprefix("http://localhost:8000"))
    assert response.status_code == 403
    assert "không thuộc phạm vi" in response.get_data(as_text=True)


def test_replacing_a_sticker_makes_the_old_link_useless(web, world, db):
    web.sign_in(world.leader)
    old = sheet_links(web.get(f"/stickers/households/{world.household.id}").get_data(as_text=True))[
        0
    ]
    response = web.post(f"/stickers/households/{world.household.id}/replace")
    assert response.status_code == 303
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã thay mã dán cửa" in page
    new = sheet_links(page)[0]
    assert new != old
    refused = web.get(old.removeprefix("http://localhost:8000"))
    assert refused.status_code == 404
    assert "Mã dán cửa không hợp lệ" in refused.get_data(as_text=True)
    assert web.get(new.removeprefix("http://localhost:8000")).status_code == 302


def test_volunteers_do_not_print_stickers(web, world, db):
    web.sign_in(world.volunteer)
    assert web.get(f"/stickers/villages/{world.village.id}").status_code == 403
    assert web.post(f"/stickers/households/{world.household.id}/replace").status_code == 403
    assert db.exec(select(Sticker)).all() == []


def test_guessing_sticker_tokens_is_throttled(web, world, db):
    web.sign_in(world.volunteer)
    statuses = [web.get(f"/s/{'A' * 21}{n % 10}").status_code for n in range(21)]
    assert statuses[:20] == [404] * 20
    assert statuses[20] == 429


def test_the_village_dashboard_leads_leaders_and_staff_to_the_sheet(web, world):
    sheet = f"/stickers/villages/{world.other_village.id}"
    web.sign_in(world.staff)
    assert sheet in web.get(f"/villages/{world.other_village.id}").get_data(as_text=True)
    web.sign_in(world.volunteer)
    assert "/stickers/" not in web.get(f"/villages/{world.village.id}").get_data(as_text=True)
