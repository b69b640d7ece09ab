"""The tab bar and "Thêm": at most five tabs on a phone, the ones each role uses most; every
other place the role may go is on /menu, and only those."""

import re

TAB = re.compile(r'<nav class="tabbar".*?</nav>', re.S)
LINK = re.compile(r'<a href="([^"]+)"')


def tabs(page: str) -> list[str]:
    return LINK.findall(TAB.search(page).group(0))


def test_each_role_gets_its_five_tabs(web, world):
    expected = [
        (world.volunteer, ["/households", "/follow-ups", "/guides", "/villages", "/menu"]),
        (world.leader, ["/households", "/follow-ups", "/villages", "/assignments", "/menu"]),
        (world.staff, ["/villages", "/review", "/households", "/members", "/menu"]),
    ]
    for person, urls in expected:
        web.sign_in(person)
        assert tabs(web.get("/households").get_data(as_text=True)) == urls, person.name


def test_the_current_tab_is_marked_and_more_covers_the_rest(web, world):
    web.sign_in(world.volunteer)
    page = web.get("/follow-ups").get_data(as_text=True)
    assert '<a href="/follow-ups" class="active" aria-current="page">' in page
    account = web.get("/account").get_data(as_text=True)
    assert '<a href="/menu" class="active" aria-current="page">' in account


def test_more_lists_only_what_the_role_may_open(web, world):
    for person in (world.volunteer, world.leader, world.staff):
        web.sign_in(person)
        page = web.get("/menu").get_data(as_text=True)
        links = LINK.findall(page.split("<main", 1)[1].split("</main>")[0])
        assert links, person.name
        for url in links:
            assert web.get(url).status_code == 200, (person.name, url)
    web.sign_in(world.volunteer)
    volunteer = web.get("/menu").get_data(as_text=True)
    assert "Nhật ký" not in volunteer and "In mã dán cửa" not in volunteer
    web.sign_in(world.leader)
    assert f"/stickers/villages/{world.village.id}" in web.get("/menu").get_data(as_text=True)
