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
