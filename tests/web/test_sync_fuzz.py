"""The sync API under 500 generated bodies: arbitrary JSON, arbitrary bytes, and batches whose
items are near misses of real ones (known and unknown households and residents, references by
UUID to earlier items, form-style and list-style lines, strings, numbers, booleans, NULs, odd
dates). Whatever arrives: never a 5xx; every answer is one the served OpenAPI document
describes; a request the document allows is answered 200 with one result per item, in order;
nothing stored lies outside the sender's village."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from fieldkit import forms
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

CASES = 500
KINDS = ["visit", "resident", "household", "household_edit", "revision"]
# Visits sent back for fixing (fixture `returned_visits`): one in the sender's village, one not.
RETURNED = ["00000000-0000-4000-8000-0000000000e1", "00000000-0000-4000-8000-0000000000e2"]
SERVICE_CODES = [code for code, *_ in STARTING_SET[:4]]

json_leaf = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
uuid_text = st.uuids().map(str)


def local(hours: float) -> str:
    return forms.to_local(utcnow() + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M")


def some(*values, junk=json_leaf):
    """Mostly (3 in 4) one of `values`, plausible input; otherwise anything at all."""
    # (Not st.one_of: it flattens `junk`'s own branches in, and junk would win 5 to 1.)
    return st.integers(0, 3).flatmap(lambda n: junk if n == 0 else st.sampled_from(values))


@st.composite
def batches(draw, world):
    """A batch of items that start real (a good payload of their kind) and are then bent:
    fields changed to near misses or to anything, dropped, or whole parts replaced; later
    items may name earlier ones by UUID, or repeat them."""
    known_households = [world.household.id, world.neighbour.id, world.far_household.id]
    known_residents = [world.head.id, world.spouse.id, world.far_resident.id]
    ids: list[str] = []
    items: list[dict] = []
    for _ in range(draw(st.integers(0, 8))):
        again = draw(st.integers(0, 9)) if items else 9
        if again == 0:  # the same item again: a duplicate
            items.append(draw(st.sampled_from(items)))
            continue
        if again == 1:  # the same UUID with other content: a conflict
            repeated = draw(st.sampled_from(items))
            if isinstance(repeated.get("payload"), dict):
                repeated = {
                    **repeated,
                    "payload": {
                        **repeated["payload"],
                        "notes": "khác",
                        "label": "khác",
                        "name": "Người khác",
                    },
                }
            items.append(repeated)
            continue
        item_id = draw(uuid_text)
        earlier = st.sampled_from(ids) if ids else uuid_text
        line = st.fixed_dictionaries(
            {},
            optional={
                "resident_id": some(*known_residents, 0, "x"),
                "resident_uuid": st.one_of(earlier, uuid_text, json_leaf),
                "service_code": some(*SERVICE_CODES, "teleport"),
                "result": some(*(r.value for r in Result)),
                "reason": some(*(r.value for r in Reason), ""),
                "device": some(*(d.value for d in Device), ""),
                "dossier_no": some("H15.34-250101-0001", "", "!!"),
            },
        )
        bent = {
            "uuid": st.one_of(st.just(item_id.upper()), uuid_text, json_leaf),
            "household_id": some(*known_households, 999_999, 0, -1, "", "12a", 2**70),
            "household_uuid": st.one_of(
                earlier,
                uuid_text,
                st.sampled_from([world.household.uuid, world.far_household.uuid]),
                json_leaf,
            ),
            "visited_at": some(
                local(-0.05),
                local(3),
                local(-24 * 400),
                "2026-13-01T00:00",
                "0001-01-01T00:00+14:00",
                "9999-12-31T23:59Z",
                "",
            ),
            "outcome": some(*(o.value for o in Outcome), ""),
            "notes": st.text(max_size=30),
            "follow_up_on": some(
                forms.local_today(utcnow()).isoformat(), "2020-01-01", "2026-02-30", ""
            ),
            "smartphones": some(0, 2, "3", 31, -1, "", True),
            "internet_at_home": some("yes", "no", "", True, False, None, "maybe"),
            "lines": st.lists(st.one_of(line, json_leaf), max_size=3),
            "label": st.text(max_size=70),
            "head_name": st.text(max_size=20),
            "address_hint": st.text(max_size=20),
            "name": st.text(max_size=20),
            "birth_year": some(1968, "2001", 1800, 3000, ""),
            "sex": some(*(x.value for x in Sex), "", "other"),
            "relation": st.text(max_size=10),
            "phone": some("0912345678", "+84 912 345 678", "12345", ""),
        }
        kind = draw(some(*KINDS))
        payload = _good(draw, kind, world, item_id)
        for name in sorted(bent):  # each field bent now and then, dropped less often
            how = draw(st.integers(0, 11))
            if how == 0:
                payload.pop(name, None)
            elif how <= 3:
                payload[name] = draw(bent[name])
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
        if draw(st.integers(0, 19)) == 0:  # now and then an item missing a part
            item.pop(draw(st.sampled_from(["kind", "payload", "id"])))
        ids.append(item_id)
        items.append(item)
    return {"items": items}


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
        st.fixed_dictionaries({"items": st.lists(json_value, max_size=3)}),
        json_value,
        st.binary(max_size=40),
    )


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


def test_no_body_gets_a_5xx_and_every_answer_keeps_to_the_document(
    app, signed_in, db, world, returned_visits
):
    contract = Contract.served_by(app.test_client())
    seen = {"200": 0, "4xx": 0}

    @settings(
        max_examples=CASES,
        deadline=None,
        database=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.filter_too_much,
        ],
    )
    @given(body=bodies(world))
    def send(body) -> None:
        if isinstance(body, bytes):
            response = post(signed_in.client, token=signed_in.csrf, data=body)
        else:
            response = post(signed_in.client, token=signed_in.csrf, data=json.dumps(body).encode())
        assert response.status_code < 500, response.text
        answer = contract.check(response)
        if not isinstance(body, bytes) and contract.request.is_valid(body):
            assert response.status_code == 200, answer
        if response.status_code != 200:
            seen["4xx"] += 1
            return
        seen["200"] += 1
        assert [r["id"] for r in answer["results"]] == [i["id"] for i in body["items"]]
        for result in answer["results"]:
            seen[result["status"]] = seen.get(result["status"], 0) + 1
            if result["status"] in ("stored", "duplicate"):
                village = db.exec(
                    select(Household.village_id).where(Household.id == result["household_id"])
                ).one()
                assert village == world.village.id

    send()
    # The run reached every layer: refused bodies, answered batches, and every item status.
    assert seen["200"] > CASES // 4 and seen["4xx"] > CASES // 10, seen
    assert set(seen) >= {"stored", "duplicate", "conflict", "invalid", "forbidden"}, seen
