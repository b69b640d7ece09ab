"""The sync API under generated bodies that a careless phone or an attacker could send:
arbitrary JSON, arbitrary bytes, and batches whose items start as real ones of every kind and
are then bent — any field dropped, given a near miss, hostile text (lone surrogates, C0 and C1
control characters, NUL, formula-looking text, decomposed accents) or a value of the wrong JSON
type (lists, objects, huge numbers, NaN), the same for every field of every line.

Whatever arrives: never a 5xx, and no item answered by the safety net for unexpected failures
(fieldkit.sync.UNEXPECTED: a bug caught, not input handled); every answer is one the served
OpenAPI document describes; a request the document allows is answered 200 with one result per
item, in order; nothing stored lies outside the sender's village; and the good items put in
every batch beside the hostile ones (one among them, one at the end, as a phone's outbox
queues them) are stored — one bad item never blocks the others (issue 10, finding 3).

A fast run (FAST_CASES, on SQLite and PostgreSQL) is always part of the suite; the long run
(SLOW_CASES) is marked `slow` (`pytest -m "not slow"` leaves it out; `make test` runs it)."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from fieldkit import forms, sync
from fieldkit.catalogue import STARTING_SET
from fieldkit.models import (
    Device,
    Household,
    Outcome,
    Reason,
    Result,
    ReviewState,
    Sex,
    Visit,
    utcnow,
)
from tests.web.api import Contract, post
from tests.web.backends import both_backends

FAST_CASES = 200
SLOW_CASES = 2000
KINDS = ["visit", "resident", "household", "household_edit", "consent", "revision"]
# Visits sent back for fixing (fixture `returned_visits`): one in the sender's village, one not.
RETURNED = ["00000000-0000-4000-8000-0000000000e1", "00000000-0000-4000-8000-0000000000e2"]
SERVICE_CODES = [code for code, *_ in STARTING_SET[:4]]

# Characters that broke, or could break, a layer below the form parsers: the database driver
# (lone surrogates cannot be encoded to UTF-8; PostgreSQL refuses NUL), openpyxl (C0 controls),
# spreadsheets (formulas), and text that looks the same but is not (NFD accents).
NASTY = [
    "\ud800",
    "\udfff",
    "\udbff",
    "\x00",
    "\x01",
    "\x08",
    "\x0b",
    "\x0c",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x80",
    "\x85",
    "\x9f",
    "\r",
    "\r\n",
    "\t",
    "\n",
    "\u2028",
    "\ufeff",
    "\ufffe",
    "\uffff",
    "e\u0301",
    "\U0001f600",
    "²",
    "١٢",
]
CANNED = [
    '=HYPERLINK("http://x","y")',
    "+84 912 345 678",
    "-1",
    "@SUM(A1)",
    "Nguye\u0302\u0303n",
    "Nguyễn\x1bAn",
    "12\ud800",
    "",
    " ",
    "x" * 2001,
]
any_char = st.characters(codec=None, exclude_categories=())  # every category, surrogates too
hostile_text = st.one_of(
    st.lists(st.one_of(any_char, st.sampled_from(NASTY)), max_size=12).map("".join),
    st.sampled_from(NASTY + CANNED),
)
json_leaf = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**31, 2**63, -(2**63), 10**30, -1, 0])
    | st.floats()  # NaN and ±Infinity too: Python's json reads them
    | hostile_text
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
    max_leaves=8,
)
uuid_text = st.uuids().map(str)


def local(hours: float) -> str:
    return forms.to_local(utcnow() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def bend(near_misses):
    """A field's replacement: a near miss (half the time), hostile text or a value of any
    JSON type."""
    return st.integers(0, 3).flatmap(
        lambda n: hostile_text if n == 0 else json_value if n == 1 else st.sampled_from(near_misses)
    )


def _near_misses(world, earlier) -> dict:
    """Per field of every kind: values that are almost right."""
    today = forms.local_today(utcnow())
    return {
        "uuid": [None, "", "not-a-uuid"],
        "household_id": [world.household.id, world.neighbour.id, world.far_household.id]
        + [999_999, 0, -1, "", "12a", "²", "١٢", 2**70, "0" * 4300],
        "household_uuid": [world.household.uuid, world.far_household.uuid, *earlier],
        "visited_at": [
            local(-0.05),
            local(3),
            local(-24 * 400),
            "2026-13-01T00:00",
            "0001-01-01T00:00+14:00",
            "9999-12-31T23:59Z",
            "0000-01-01T00:00",
            "",
        ],
        "outcome": [o.value for o in Outcome] + ["", "gone"],
        "notes": ["Cài VNeID xong", "mật khẩu: 123456", "038090012345", ""],
        "follow_up_on": [today.isoformat(), "2020-01-01", "2026-02-30", "0001-01-01", "9999-12-31"],
        "smartphones": [0, 2, "3", 31, -1, "", True, "²"],
        "internet_at_home": ["yes", "no", "", True, False, None, "maybe"],
        "label": ["5", "27", "Lô 3", ""],
        "head_name": ["Vũ Thị Hoa", "Nguye\u0302\u0303n Văn", ""],
        "address_hint": ["Cạnh nhà văn hóa", ""],
        "name": ["Nguyễn Thị Mai", ""],
        "birth_year": [1968, "2001", 1800, 3000, "", "١٩٩٠"],
        "sex": [x.value for x in Sex] + ["", "other"],
        "relation": ["Con", ""],
        "phone": ["0912345678", "+84 912 345 678", "12345", "", "٠٩١٢٣٤٥٦٧٨"],
        "purpose_public_services": ["yes", "on", "", "no"],
        "purpose_follow_up": ["yes", "", "no"],
        "method": ["verbal", "written", "", "by phone"],
        "version": ["2026-1", "2025-9", ""],
        "consented_on": [today.isoformat(), "2099-01-01", "0001-01-01", "9999-12-31", ""],
        "record_kind": ["visit", "resident", "household", "household_edit", "", "consent"],
        "record_uuid": [*RETURNED, "not-a-uuid"],
        "base_revision": [1, 2, "1", 0, -1, 10**7, "²"],
        "lines": [[], [{}]],
        # fields of one assistance line
        "resident_id": [world.head.id, world.spouse.id, world.far_resident.id, 0, "x", "١"],
        "resident_uuid": [*earlier, "not-a-uuid"],
        "service_code": [*SERVICE_CODES, "teleport", ""],
        "result": [r.value for r in Result] + [""],
        "reason": [r.value for r in Reason] + [""],
        "device": [d.value for d in Device] + [""],
        "dossier_no": ["H15.34-250101-0001", "", "!!"],
    }


LINE_FIELDS = ["resident_id", "resident_uuid", "service_code", "result", "reason", "device"]
LINE_FIELDS += ["dossier_no"]


def _bent(draw, payload: dict, near: dict, names) -> dict:
    """`payload` with each of `names` now and then dropped or bent."""
    for name in names:
        how = draw(st.integers(0, 9))
        if how == 0:
            payload.pop(name, None)
        elif how <= 3:
            payload[name] = draw(bend(near[name] or [None]))
    return payload


FIELDS = {
    "visit": ["uuid", "household_id", "household_uuid", "visited_at", "outcome", "notes"]
    + ["follow_up_on", "smartphones", "internet_at_home", "lines"],
    "resident": ["uuid", "household_id", "household_uuid", "name", "birth_year", "sex"]
    + ["relation", "phone"],
    "household": ["uuid", "label", "head_name", "address_hint", "smartphones", "internet_at_home"],
    "household_edit": ["uuid", "household_id", "household_uuid", "label", "head_name"]
    + ["address_hint", "smartphones", "internet_at_home"],
    "consent": ["uuid", "household_id", "household_uuid", "purpose_public_services"]
    + ["purpose_follow_up", "method", "version", "consented_on"],
    "revision": ["uuid", "record_kind", "record_uuid", "base_revision", "visited_at", "outcome"]
    + ["notes", "lines", "label", "head_name", "name", "birth_year"],
}


@st.composite
def hostile_items(draw, world, ids: list[str], items: list[dict]) -> dict:
    """One item: a good payload of its kind, bent; now and then a repeat of an earlier item
    (a duplicate) or its UUID with other content (a conflict)."""
    again = draw(st.integers(0, 9)) if items else 9
    if again == 0:
        return draw(st.sampled_from(items))
    if again == 1:
        repeated = draw(st.sampled_from(items))
        if isinstance(repeated.get("payload"), dict):
            changed = {"notes": "khác", "label": "khác", "name": "Người khác"}
            repeated = {**repeated, "payload": {**repeated["payload"], **changed}}
        return repeated
    item_id = draw(uuid_text)
    kind = draw(st.sampled_from(KINDS)) if draw(st.integers(0, 9)) else draw(json_value)
    shape = kind if isinstance(kind, str) and kind in FIELDS else "visit"
    near = _near_misses(world, ids)
    payload = _bent(draw, _good(draw, shape, world, item_id), near, FIELDS[shape])
    if isinstance(payload.get("lines"), list):
        payload["lines"] = [
            _bent(draw, dict(line), near, LINE_FIELDS) if isinstance(line, dict) else line
            for line in payload["lines"]
        ] + draw(st.lists(json_value, max_size=1))
    if draw(st.integers(0, 4)) == 0:  # a field nobody asked for, hostile name and value
        payload[draw(hostile_text)] = draw(json_value)
    if draw(st.booleans()) and isinstance(payload.get("lines"), list):
        # The same lines as the form names them: lines-N-field, with gaps.
        for index, entry in zip(
            draw(st.lists(st.integers(0, 120), min_size=3, max_size=3, unique=True)),
            payload.pop("lines"),
            strict=False,
        ):
            if isinstance(entry, dict):
                payload.update({f"lines-{index}-{k}": v for k, v in entry.items()})
    item = {
        "id": item_id,
        "kind": kind,
        "payload": payload if draw(st.integers(0, 9)) else draw(json_value),
    }
    if draw(st.integers(0, 29)) == 0:  # now and then an item missing a part
        item.pop(draw(st.sampled_from(["kind", "payload", "id"])))
    ids.append(item_id)
    return item


GOOD = "good"  # where a good item goes; its UUID is made fresh when the batch is sent
# Where items of known answers go, under fresh UUIDs: a proposal sent three times — stored,
# then as it was (duplicate), then with other content (conflict) — and an edit of a household
# of another village (forbidden); so that every run meets every answer, checked each time.
KNOWN = "known"
KNOWN_ANSWERS = ["stored", "duplicate", "conflict", "forbidden"]


@st.composite
def batches(draw, world):
    """Hostile items, with two places for good household proposals among them: one at a
    random place, one at the end (filled in by `_with_good_items`)."""
    ids: list[str] = []
    items: list[dict] = []
    for _ in range(draw(st.integers(0, 6))):
        items.append(draw(hostile_items(world, ids, items)))
    items.insert(draw(st.integers(0, len(items))), GOOD)
    if draw(st.integers(0, 7)) == 0:
        items.insert(draw(st.integers(0, len(items))), KNOWN)
    items.append(GOOD)
    return {"items": items}


def _with_good_items(body, world):
    """`body` with each GOOD place filled by a household proposal under a new UUID (drawn
    UUIDs repeat from case to case, so these are made here) and each REPLAY place by its three
    items; and the good items' ids, and the KNOWN blocks' ids in order."""
    if not isinstance(body, dict) or not isinstance(body.get("items"), list):
        return body, [], []
    items, good, known = [], [], []
    for item in body["items"]:
        if item == KNOWN:
            replayed = str(uuid.uuid4())
            proposal = {"label": "Lặp", "head_name": "Hộ Gửi Lại"}
            far = world.far_household
            block = [
                {"id": replayed, "kind": "household", "payload": proposal},
                {"id": replayed, "kind": "household", "payload": proposal},
                {"id": replayed, "kind": "household", "payload": {**proposal, "label": "Khác"}},
                {
                    "id": str(uuid.uuid4()),
                    "kind": "household_edit",
                    "payload": {"household_id": far.id, "label": "9", "head_name": "Khác"},
                },
            ]
            items += block
            known.append([len(items) - len(block) + i for i in range(len(block))])
            continue
        if item == GOOD:
            good.append(str(uuid.uuid4()))
            item = {
                "id": good[-1],
                "kind": "household",
                "payload": {"label": f"Canh {len(good)}", "head_name": "Hộ Canh Gác"},
            }
        items.append(item)
    return {**body, "items": items}, good, known


def _good(draw, kind, world, item_id: str) -> dict:
    """A payload of `kind` that would be stored as it is — but for one household in four,
    which lies in another village (forbidden)."""
    basics = {
        "uuid": item_id,
        "label": draw(st.sampled_from(["5", "27", "Lô 3"])),
        "head_name": draw(st.sampled_from(["Vũ Thị Hoa", "Đinh Văn Hải"])),
    }
    household, resident = draw(
        st.sampled_from(
            [
                (world.household, world.head),
                (world.household, world.spouse),
                (world.neighbour, None),
                (world.far_household, world.far_resident),
            ]
        )
    )
    if kind == "household":
        return basics
    if kind == "household_edit":
        return {**basics, "household_id": household.id}
    if kind == "resident":
        return {
            "uuid": item_id,
            "household_id": household.id,
            "name": "Nguyễn Thị Mai",
            "birth_year": "2001",
        }
    if kind == "consent":
        return {
            "uuid": item_id,
            "household_id": household.id,
            "purpose_public_services": "yes",
            "method": "verbal",
            "consented_on": forms.local_today(utcnow()).isoformat(),
        }
    if kind == "revision":
        record_uuid = draw(st.sampled_from(RETURNED))
        resident = world.head if record_uuid == RETURNED[0] else world.far_resident
        return {
            "uuid": item_id,
            "record_kind": "visit",
            "record_uuid": record_uuid,
            "base_revision": draw(st.sampled_from([1, 1, 2, "1"])),
            "visited_at": local(-1),
            "outcome": "met",
            "lines": [
                {"resident_id": resident.id, "service_code": "vneid_level1", "result": "done"}
            ],
        }
    lines = (
        [
            {
                "resident_id": resident.id,
                "service_code": draw(st.sampled_from(SERVICE_CODES)),
                "result": "done",
            }
        ]
        if resident
        else []
    )
    return {
        "uuid": item_id,
        "household_id": household.id,
        "visited_at": local(-1),
        "outcome": "met",
        "lines": lines,
    }


def bodies(world):
    return st.one_of(
        batches(world),
        batches(world),
        batches(world),
        batches(world),
        st.fixed_dictionaries({"items": st.lists(json_value, max_size=3)}),
        json_value,
        st.binary(max_size=40),
    )


app = both_backends  # SQLite and PostgreSQL (tests/web/backends.py)


@pytest.fixture
def signed_in(web, world):
    web.sign_in(world.volunteer)
    return web


@pytest.fixture
def returned_visits(db, world):
    for record_uuid, household, volunteer in [
        (RETURNED[0], world.household, world.volunteer),
        (RETURNED[1], world.far_household, world.other_volunteer),
    ]:
        db.add(
            Visit(
                uuid=record_uuid,
                household_id=household.id,
                volunteer_id=volunteer.id,
                visited_at=utcnow() - timedelta(days=1),
                outcome=Outcome.not_home,
                review_state=ReviewState.returned,
                fingerprint="sent before",
            )
        )
    db.commit()


def _fuzz(app, signed_in, db, world, cases: int) -> dict:
    """Send `cases` generated bodies; returns what was seen. Server errors are counted rather
    than raised at once, so a run says how many there were (and shows a few)."""
    contract = Contract.served_by(app.test_client())
    seen = {"200": 0, "4xx": 0, "cases": 0}
    server_errors: list[str] = []
    blocked: list[str] = []

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
            HealthCheck.large_base_example,
        ],
    )
    @given(drawn=bodies(world))
    def send(drawn) -> None:
        body, good, known = _with_good_items(drawn, world)
        seen["cases"] += 1
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            response = post(signed_in.client, token=signed_in.csrf, data=raw)
        except Exception as error:  # noqa: BLE001 — the test app re-raises what would be a 500
            db.rollback()
            server_errors.append(f"{type(error).__name__}: {error} for {raw[:300]!r}")
            return
        if response.status_code >= 500:
            server_errors.append(f"{response.status_code} for {raw[:300]!r}")
            return
        answer = contract.check(response)
        if not isinstance(body, bytes) and contract.request.is_valid(body):
            assert response.status_code == 200, answer
        if response.status_code != 200:
            seen["4xx"] += 1
            return
        seen["200"] += 1
        assert [r["id"] for r in answer["results"]] == [i["id"] for i in body["items"]]
        statuses = {}
        for result in answer["results"]:
            if result["message"] == sync.UNEXPECTED:
                # The safety net caught it (fieldkit.sync._settle): still a bug to fix.
                server_errors.append(f"item failed unexpectedly in {raw[:300]!r}")
            statuses[result["id"]] = result["status"]
            seen[result["status"]] = seen.get(result["status"], 0) + 1
            if result["status"] in ("stored", "duplicate"):
                village = db.exec(
                    select(Household.village_id).where(Household.id == result["household_id"])
                ).one()
                assert village == world.village.id
        for good_id in good:
            if statuses[good_id] != "stored":
                blocked.append(f"{good_id}: {statuses[good_id]} in {raw[:300]!r}")
        for positions in known:
            answers = [answer["results"][p]["status"] for p in positions]
            assert answers == KNOWN_ANSWERS, (answers, raw[:300])
        db.rollback()  # the next case reads what the app committed

    send()
    assert not server_errors, (
        f"{len(server_errors)} of {seen['cases']} bodies answered 5xx, e.g.:\n"
        + "\n".join(server_errors[:5])
    )
    assert not blocked, f"{len(blocked)} good items not stored beside hostile ones:\n" + "\n".join(
        blocked[:5]
    )
    # The run reached every layer: refused bodies, answered batches, and every item status.
    assert seen["200"] > cases // 4 and seen["4xx"] > cases // 20, seen
    assert set(seen) >= {"stored", "duplicate", "conflict", "invalid", "forbidden"}, seen
    return seen


def test_no_body_gets_a_5xx_and_one_bad_item_blocks_nothing(
    app, signed_in, db, world, returned_visits
):
    _fuzz(app, signed_in, db, world, FAST_CASES)


@pytest.mark.slow
def test_no_body_gets_a_5xx_long_run(app, signed_in, db, world, returned_visits, request):
    if "postgres" in request.node.callspec.id:
        pytest.skip("the long run is on SQLite; PostgreSQL gets the fast run")
    _fuzz(app, signed_in, db, world, SLOW_CASES)
