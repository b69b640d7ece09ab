"""The offline pack through the Flask test client (pwa/offline_pack.py): the phone says which
page versions it holds and gets every changed page whole in one answer per chunk; only what
changed comes again; the household list comes as a patch on the phone's copy; a chunk names
where to go on; bad requests get a JSON 400, never a 500."""

from __future__ import annotations

import gzip
import json
import re
import zlib

import brotli
import pytest
from jsonschema import Draft202012Validator

from fieldkit.models import Household, Member, Role
from pwa import offline_pack
from tests.conftest import NOW
from tests.factories import add_household
from tests.fieldkit.helpers import line, record_visit

PACK = "/api/v1/offline-pack"
UUID_VALUE = re.compile(r'(name="uuid" value=")[^"]*(")')
# Signed with the time on each request (flask-wtf): the same token, written anew.
CSRF_VALUE = re.compile(r'(name="csrf[-_]token" (?:content|value)=")[^"]*(")')


def ask(web, body=None, *, data: bytes | None = None, headers: dict | None = None):
    return web.client.post(
        PACK,
        data=json.dumps(body or {}) if data is None else data,
        headers={"Content-Type": "application/json", "X-CSRF-Token": web.csrf, **(headers or {})},
    )


def chunk(web, have=None, after=None) -> dict:
    body = {"have": have or {}}
    if after is not None:
        body["after"] = after
    response = ask(web, body)
    assert response.status_code == 200, response.text
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def held(pack: dict, have: dict | None = None) -> dict:
    """The versions the phone holds once it has stored `pack`."""
    have = dict(have or {})
    for url in pack["drop"]:
        have.pop(url, None)
    have.update({page["url"]: page["version"] for page in pack["pages"]})
    return have


def patched(old: str, patch: dict) -> str:
    """What the phone's prepare.js makes of its copy of the list and a patch."""
    start = old.index(offline_pack.ROWS_START) + len(offline_pack.ROWS_START)
    end = old.index(offline_pack.ROWS_END, start)
    rows = {}
    for row in old[start:end].split("\n")[:-1]:
        rows[offline_pack.ROW_ID.search(row)[1]] = row
    rows.update(patch["rows"])
    return patch["head"] + "".join(rows[str(i)] + "\n" for i in patch["order"]) + patch["tail"]


def pages_of(pack: dict) -> dict[str, dict]:
    return {page["url"]: page for page in pack["pages"]}


def household_urls(pack: dict) -> list[str]:
    return [page["url"] for page in pack["pages"] if re.fullmatch(r"/households/\d+", page["url"])]


def test_one_answer_holds_every_page_whole(web, world):
    web.sign_in(world.volunteer)
    pack = chunk(web)
    pages = pages_of(pack)
    household = f"/households/{world.household.id}"
    assert {"/households", "/outbox", "/guides", "/follow-ups", "/returned", household} <= set(
        pages
    )
    assert f"/households/{world.neighbour.id}" in pages
    assert f"/households/{world.far_household.id}" not in pages  # another village
    assert pack["households"] == 2 and pack["ready"] == 2 and pack["next"] is None
    assert pack["drop"] == []
    # Kept with the headers the server sends, the Content-Security-Policy among them.
    assert pack["headers"]["Content-Security-Policy"].startswith("default-src 'self'")
    assert pack["headers"]["Content-Type"] == "text/html; charset=utf-8"
    assert "<h1>Nguyễn Văn An</h1>" in pages[household]["html"]
    assert pack["need_bytes"] >= sum(len(page["html"]) for page in pack["pages"])


def test_the_kept_household_page_is_the_page_itself_without_form_ids(web, world):
    """The pack renders a household's page as its route does; only the forms' UUIDs are left
    for the phone to make (app.js gives every form it opens its own)."""
    web.sign_in(world.volunteer)
    kept = pages_of(chunk(web))[f"/households/{world.household.id}"]["html"]
    served = web.get(f"/households/{world.household.id}").get_data(as_text=True)
    assert UUID_VALUE.findall(kept) == [('name="uuid" value="', '"')] * 4
    assert len(set(UUID_VALUE.sub("", served).split())) > 100
    assert CSRF_VALUE.sub("", UUID_VALUE.sub(r"\1\2", served)) == CSRF_VALUE.sub("", kept)


def test_only_what_changed_comes_again(web, db, world):
    web.sign_in(world.volunteer)
    have = held(chunk(web))
    again = chunk(web, have)
    assert again["pages"] == [] and again["ready"] == 2 and again["next"] is None

    record_visit(db, world, lines=[line(world.head)])
    db.commit()
    after_visit = chunk(web, have)
    urls = set(pages_of(after_visit))
    household, neighbour = f"/households/{world.household.id}", f"/households/{world.neighbour.id}"
    assert household in urls and neighbour not in urls
    assert urls <= {household, "/households", "/follow-ups"}
    assert "Chờ duyệt" in pages_of(after_visit)[household]["html"]


def test_the_list_comes_as_a_patch_on_the_phones_copy(web, db, world):
    web.sign_in(world.volunteer)
    first = chunk(web)
    old_list = pages_of(first)["/households"]["html"]
    assert "Chưa thăm" in old_list

    record_visit(db, world, lines=[line(world.head)])
    db.commit()
    listed = pages_of(chunk(web, held(first)))["/households"]
    assert "html" not in listed
    patch = listed["patch"]
    assert set(patch["rows"]) == {str(world.household.id)}  # the neighbour's row is not sent
    assert patch["order"] == [world.household.id, world.neighbour.id]
    fresh = web.get("/households", headers={"X-Fieldkit-Prepare": "1"}).get_data(as_text=True)
    assert CSRF_VALUE.sub("", patched(old_list, patch)) == CSRF_VALUE.sub("", fresh)


def test_the_list_rows_search_what_they_do_not_show(web, db, world):
    """A row's data-search holds the residents' names it does not show; the phone folds the
    label, head and address the row shows (app.js)."""
    web.sign_in(world.volunteer)
    page = web.get("/households").get_data(as_text=True)
    row = next(r for r in page.split("\n") if f'/households/{world.household.id}"' in r)
    assert 'data-search="hoang thi lan"' in row
    assert ">Nguyễn Văn An<" in row


def test_a_village_comes_in_chunks_that_resume(web, world, monkeypatch):
    monkeypatch.setattr(offline_pack, "MAX_CHUNK", 1)
    web.sign_in(world.volunteer)
    first_id, second_id = sorted([world.household.id, world.neighbour.id])
    first = chunk(web)
    assert household_urls(first) == [f"/households/{first_id}"]
    assert first["ready"] == 1 and first["households"] == 2 and first["next"] == first_id
    response = ask(web, {"have": {}})
    assert response.headers["Fieldkit-Pack-Next"] == str(first_id)

    # The connection dropped before the second chunk was stored: asking again with what the
    # phone holds sends only the rest.
    resumed = chunk(web, held(first))
    assert [p["url"] for p in resumed["pages"]] == [f"/households/{second_id}"]
    assert resumed["ready"] == 2 and resumed["next"] is None
    # The pipelined way: the next chunk by its cursor.
    assert pages_of(chunk(web, {}, after=first_id)).keys() == {f"/households/{second_id}"}


def test_pages_no_longer_to_keep_are_dropped(web, world):
    web.sign_in(world.volunteer)
    have = held(chunk(web))
    have["/returned/visit/00000000-0000-4000-8000-000000000001"] = "old"
    have[f"/households/{world.far_household.id}"] = "old"
    pack = chunk(web, have)
    assert pack["drop"] == sorted(
        [
            "/returned/visit/00000000-0000-4000-8000-000000000001",
            f"/households/{world.far_household.id}",
        ]
    )
    assert pack["pages"] == []


def test_commune_staff_carry_no_village(web, world):
    web.sign_in(world.staff)
    pack = chunk(web)
    assert pack["households"] is None and pack["ready"] == 0 and pack["next"] is None
    assert household_urls(pack) == []
    assert "/guides" in pages_of(pack)


def test_the_versions_may_come_gzipped_and_the_answer_compressed(web, world):
    web.sign_in(world.volunteer)
    have = held(chunk(web))
    response = ask(
        web,
        data=gzip.compress(json.dumps({"have": have}).encode()),
        headers={"Content-Encoding": "gzip", "Accept-Encoding": "br"},
    )
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert json.loads(brotli.decompress(response.data))["pages"] == []
    gzipped = ask(web, {"have": {}}, headers={"Accept-Encoding": "gzip"})
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert len(json.loads(gzip.decompress(gzipped.data))["pages"]) > 5


@pytest.mark.parametrize(
    ("data", "headers", "says"),
    [
        (b"not json", {}, "JSON"),
        (b"[1, 2]", {}, "đối tượng"),
        (json.dumps({"have": ["/households"]}).encode(), {}, "have"),
        (json.dumps({"have": {"/households": 3}}).encode(), {}, "have"),
        (json.dumps({"have": {"x" * 600: "v"}}).encode(), {}, "have"),
        (json.dumps({"after": "12"}).encode(), {}, "after"),
        (json.dumps({"after": -1}).encode(), {}, "after"),
        (json.dumps({"after": True}).encode(), {}, "after"),
        (json.dumps({"after": 2**70}).encode(), {}, "after"),
        (b"\x1f\x8b not gzip", {"Content-Encoding": "gzip"}, "gzip"),
        (gzip.compress(b" " * (3 * 1024 * 1024)), {"Content-Encoding": "gzip"}, "quá lớn"),
        (b"{}", {"Content-Encoding": "br"}, "gzip"),
    ],
)
def test_a_request_it_cannot_read_is_a_clear_400(web, world, data, headers, says):
    web.sign_in(world.volunteer)
    response = ask(web, data=data, headers=headers)
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    assert says in response.get_json()["error"]


def test_the_pack_needs_a_session_and_its_csrf_token(web, world):
    web.get("/signin")
    response = ask(web, {"have": {}})
    assert response.status_code == 401 and response.mimetype == "application/json"
    web.sign_in(world.volunteer)
    refused = web.client.post(PACK, json={"have": {}})  # no X-CSRF-Token
    assert refused.status_code == 400


def test_the_answers_are_those_the_openapi_document_describes(web, db, world):
    document = web.get("/api/v1/openapi.json").get_json()
    operation = document["paths"][PACK]["post"]

    def valid(body, schema: str) -> bool:
        validator = Draft202012Validator(
            {"$ref": f"#/components/schemas/{schema}", "components": document["components"]}
        )
        return not list(validator.iter_errors(body))

    web.sign_in(world.volunteer)
    first = chunk(web)
    assert valid(first, "PackResponse") and valid({"have": {}}, "PackRequest")
    record_visit(db, world, lines=[line(world.head)])
    db.commit()
    patched_answer = chunk(web, held(first))
    assert any("patch" in page for page in patched_answer["pages"])
    assert valid(patched_answer, "PackResponse")
    refused = ask(web, data=b"nope")
    assert str(refused.status_code) in operation["responses"]
    assert valid(refused.get_json(), "Error")


def test_a_version_changes_with_what_its_page_shows_and_nothing_else(web, db, world):
    """Consent recorded changes the household's page; a member joining the commune changes
    no page; a member renamed changes the pages that name them, and only those."""
    web.sign_in(world.volunteer)

    def versions() -> dict:
        pack = web.get(PACK).get_json()
        return {page["url"]: page["version"] for page in pack["pages"]}

    household, neighbour = f"/households/{world.household.id}", f"/households/{world.neighbour.id}"
    before = versions()
    db.add(
        Member(
            commune_id=world.commune.id,
            village_id=world.village.id,
            name="Người Mới Vào",
            phone="0912000077",
            role=Role.volunteer,
        )
    )
    db.commit()
    assert versions()[household] == before[household]

    stored = db.get(Household, world.neighbour.id)
    stored.consent_at, stored.consent_version = NOW, "2025-1"
    db.commit()
    after_consent = versions()
    assert after_consent[neighbour] != before[neighbour]
    assert after_consent[household] == before[household]

    record_visit(db, world, household=world.neighbour, member=world.leader)
    db.commit()
    visited = versions()
    leader = db.get(Member, world.leader.id)  # named in the neighbour's visit history
    leader.name = "Bùi Văn Lộc"
    db.commit()
    renamed = versions()
    assert renamed[neighbour] != visited[neighbour]
    assert renamed[household] == visited[household]


def test_a_likely_duplicate_made_elsewhere_changes_the_page_that_names_it(web, db, world):
    """The same household made again on another phone: the first one's page now says "Có thể
    trùng với hộ khác", so its version changes and it comes again, with the new one; the
    neighbour's page does not."""
    web.sign_in(world.volunteer)
    have = held(chunk(web))
    twin = add_household(db, world.village, world.household.label, world.household.head_name)
    db.commit()
    again = chunk(web, have)
    household = f"/households/{world.household.id}"
    assert sorted(household_urls(again)) == sorted([household, f"/households/{twin.id}"])
    assert "Có thể trùng với hộ khác" in pages_of(again)[household]["html"]


@pytest.mark.parametrize("encoding", ["br", "gzip"])
def test_a_chunk_leaves_as_it_is_made(app, encoding):
    """The stream is flushed after its first piece and every few pages: the phone gets the
    answer's headers and first pages while the rest is still being rendered."""
    pieces = ['{"households":2,"pages":[', *[f'\n{{"url":"/p/{n}"}},' for n in range(25)], "]}"]
    with app.test_request_context():
        out = list(offline_pack.compressed(iter(pieces), encoding))
    if encoding == "br":
        reader = brotli.Decompressor()
        first = reader.process(out[0]).decode()
        whole = first + b"".join(reader.process(part) for part in out[1:]).decode()
    else:
        reader = zlib.decompressobj(16 + zlib.MAX_WBITS)
        first = reader.decompress(out[0]).decode()
        whole = first + b"".join(reader.decompress(part) for part in out[1:]).decode()
    assert first == pieces[0]  # all of the first piece, before anything else was written
    assert len(out) >= 3  # and more as it goes
    assert whole == "".join(pieces)
