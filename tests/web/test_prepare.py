"""The phone fetches the day's pages in the background (app.js, marked X-Fieldkit-Prepare).
Those fetches must not take the message meant for the page the person is opening."""


def test_a_background_fetch_leaves_the_persons_message_alone(web, world):
    web.sign_in(world.leader)
    response = web.post(f"/stickers/households/{world.household.id}/replace")
    assert response.status_code == 303

    prepared = web.get("/households", headers={"X-Fieldkit-Prepare": "1"})
    assert prepared.status_code == 200
    assert "Đã thay mã dán cửa" not in prepared.get_data(as_text=True)

    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Đã thay mã dán cửa" in page


def test_the_pack_counts_households_only_for_a_village(web, world):
    web.sign_in(world.volunteer)
    assert web.get("/api/v1/offline-pack").get_json()["households"] == 2
    web.sign_in(world.staff)
    pack = web.get("/api/v1/offline-pack").get_json()
    assert pack["households"] is None  # the phone says "hướng dẫn, hộp thư đi", not "0 hộ"
    assert "/guides" in {page["url"] for page in pack["pages"]}


def test_only_a_navigation_takes_the_message(web, world):
    """The service worker filling its cache fetches pages too (mode "same-origin" or "cors");
    only the page the person navigates to shows the message."""
    web.sign_in(world.leader)
    response = web.post(f"/stickers/households/{world.household.id}/replace")
    for mode in ("same-origin", "cors", "no-cors"):
        page = web.get("/offline", headers={"Sec-Fetch-Mode": mode}).get_data(as_text=True)
        assert "Đã thay mã dán cửa" not in page
    page = web.get(response.headers["Location"], headers={"Sec-Fetch-Mode": "navigate"})
    assert "Đã thay mã dán cửa" in page.get_data(as_text=True)


def test_background_requests_never_put_back_an_older_session(web, world):
    """A background fetch that started before a form was sent must not overwrite, when it
    answers, the cookie the form's answer set (with its message in it): unchanged sessions
    are re-sent only on navigations."""
    web.sign_in(world.volunteer)
    background = web.client.get(
        "/households/1", headers={"Sec-Fetch-Mode": "same-origin", "X-Fieldkit-Prepare": "1"}
    )
    assert background.status_code == 200
    assert "Set-Cookie" not in background.headers
    api = web.client.get("/api/v1/offline-pack", headers={"Sec-Fetch-Mode": "cors"})
    assert "Set-Cookie" not in api.headers
    navigation = web.client.get("/households", headers={"Sec-Fetch-Mode": "navigate"})
    assert "fieldkit_session=" in navigation.headers["Set-Cookie"]  # the 30 days roll on
