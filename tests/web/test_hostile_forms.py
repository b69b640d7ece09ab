"""Every web form (every POST route outside the JSON API) × every field name the app reads ×
hostile raw values × every role: a 4xx or the form back with a message, never a 5xx. The
values are sent as raw bytes, as a browser or a script can: a lone surrogate's UTF-8
(%ED%A0%80), bytes that are no UTF-8 at all, NUL and other controls, 4,300 digits, digits
beyond ASCII, years 1 and 9999 (issue 10, finding 3). And where the text is what the person
typed, the rule is visible: a control character is refused beside its field, decomposed
accents are stored composed (one "Nguyễn", however it was typed)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select
from werkzeug.routing import IntegerConverter

from fieldkit import forms
from fieldkit.models import Household, Member, Passkey, Role, utcnow
from fieldkit.reporting import indicators, targets
from tests.web.backends import both_backends
from tests.web.conftest import Browser

app = both_backends  # SQLite and PostgreSQL (tests/web/backends.py)

ROOT = Path(__file__).resolve().parents[2]
ROLES = ["volunteer", "leader", "staff", "signed_out"]
# Already percent-encoded, as they go on the wire.
HOSTILE = [
    "%ED%A0%80",
    "%FF%FE%FD",
    "%00",
    "%1B",
    "%C2%85",
    "a%0D%0Ab%0Dc",
    "%3DHYPERLINK(%22http://x%22,%22y%22)",
    "9" * 4300,
    "%C2%B2",
    "%D9%A1%D9%A2",
    "0001-01-01",
    "9999-12-31",
    "-1",
    "",
    "x" * 6000,
    "Nguye%CC%82%CC%83n",
]
FINE = {200, 302, 303, 400, 401, 403, 404, 409, 410, 422, 429}
# Routes the sweep leaves out: signing out ends the session the others are sent in.
SKIPPED = {"auth.signout"}


def _field_names() -> set[str]:
    """Every form field name the app reads: `form.get("…")`, `data.get("…")` and the like in
    the routes and the domain, each line field under its form name too, a targets cell."""
    pattern = re.compile(r"\b(?:form|data|raw|line)\.get(?:list)?\(\s*\"([A-Za-z0-9_-]+)\"")
    names = set()
    for path in [*(ROOT / "pwa").rglob("*.py"), *(ROOT / "fieldkit").glob("*.py")]:
        names |= set(pattern.findall(path.read_text()))
    names |= {f"lines-0-{n}" for n in ("resident_id", "service_code", "result", "reason")}
    names |= {"lines-0-device", "lines-0-dossier_no", "purpose_public_services"}
    names |= {targets.cell_name(None, key) for key in list(indicators.LABELS)[:2]}
    names |= {"title", "steps", "official_url"}  # read in a loop by pwa/routes/guides.py
    return names


def test_the_field_list_is_found_in_the_source():
    names = _field_names()
    assert {"label", "head_name", "notes", "name", "reason", "range", "phone"} <= names
    assert {"method", "consented_on", "title", "steps", "retention_months"} <= names


@pytest.fixture
def people(db, world):
    """The signed-in people, and a member and a passkey the forms may act on (so that a
    deactivation or a revocation reached by the sweep takes nobody's session away)."""
    spare = Member(
        commune_id=world.commune.id,
        village_id=world.village.id,
        name="Người Dự Phòng",
        phone="0912000088",
        role=Role.volunteer,
    )
    db.add(spare)
    db.flush()
    passkey = Passkey(member_id=spare.id, credential_id="spare", public_key=b"\x01" * 32)
    db.add(passkey)
    db.commit()
    return {"volunteer": world.volunteer, "leader": world.leader, "staff": world.staff}, {
        "household_id": world.neighbour.id,
        "village_id": world.village.id,
        "member_id": spare.id,
        "passkey_id": passkey.id,
    }


def _path(rule, ids) -> str:
    values = {}
    for name in rule.arguments:
        if isinstance(rule._converters[name], IntegerConverter):
            values[name] = ids.get(name, 999_999)  # (a session id: none to end by mistake)
        else:
            values[name] = {"code": "vneid_level1", "kind": "visit"}.get(
                name, "00000000-0000-4000-8000-000000000000"
            )
    return rule.build(values, append_unknown=False)[1]


@pytest.mark.parametrize("role", ROLES)
def test_no_form_value_gets_a_5xx(app, db, world, people, role):
    members, ids = people
    browser = Browser(app.test_client(), db)
    if role == "signed_out":
        browser.get("/signin")
    else:
        browser.sign_in(members[role])
    names = sorted(_field_names())
    problems, sent = [], 0
    rules = [
        r
        for r in app.url_map.iter_rules()
        if "POST" in r.methods and not r.rule.startswith("/api/") and r.endpoint not in SKIPPED
    ]
    assert len(rules) > 20
    for rule in sorted(rules, key=lambda r: r.rule):
        path = _path(rule, ids)
        for value in HOSTILE:
            body = f"csrf_token={browser.csrf}&" + "&".join(f"{n}={value}" for n in names)
            sent += 1
            try:
                response = browser.client.post(
                    path, data=body, content_type="application/x-www-form-urlencoded"
                )
            except Exception as error:  # noqa: BLE001 — the test app re-raises a would-be 500
                db.rollback()
                problems.append(f"{role} {path} {value[:30]}: {type(error).__name__}: {error}")
                continue
            if response.status_code not in FINE:
                problems.append(f"{role} {path} {value[:30]}: {response.status_code}")
            response.close()
    assert not problems, f"{len(problems)} of {sent} posts failed:\n" + "\n".join(
        p[:300] for p in problems[:30]
    )


def _post_raw(browser, path: str, fields: dict[str, str]):
    body = f"csrf_token={browser.csrf}&" + "&".join(f"{k}={v}" for k, v in fields.items())
    return browser.client.post(path, data=body, content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [("Nguy%E1%BB%85n%1BAn", "ký tự lạ"), ("Tr%C3%A2n%C2%85", "ký tự lạ")],
)
def test_a_control_character_in_a_name_is_refused_beside_the_field(web, world, db, raw, shown):
    web.sign_in(world.volunteer)
    before = db.exec(select(Household)).all()
    response = _post_raw(
        web,
        "/households/new",
        {"uuid": "00000000-0000-4000-8000-0000000000b1", "label": "9"} | {"head_name": raw},
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert shown in page and "Họ tên chủ hộ" in page
    assert len(db.exec(select(Household)).all()) == len(before)


def test_a_lone_surrogate_sent_as_bytes_is_no_500_and_no_garbage_name(web, world, db):
    """%ED%A0%80 is what UTF-8 would make of a lone surrogate; werkzeug reads it as three
    replacement characters, which are text like any other."""
    web.sign_in(world.volunteer)
    response = _post_raw(
        web,
        "/households/new",
        {"uuid": "00000000-0000-4000-8000-0000000000b2", "label": "10", "head_name": "A%ED%A0%80"},
    )
    assert response.status_code in (303, 422)


def test_a_name_typed_with_combining_accents_is_stored_composed(web, world, db):
    web.sign_in(world.volunteer)
    decomposed = "Nguye%CC%82%CC%83n Va%CC%86n Ba"  # e + ^ + ~, a + breve: NFD
    response = _post_raw(
        web,
        "/households/new",
        {"uuid": "00000000-0000-4000-8000-0000000000b3", "label": "11", "head_name": decomposed},
    )
    assert response.status_code == 303
    db.expire_all()
    stored = db.exec(select(Household).where(Household.label == "11")).one()
    assert stored.head_name == "Nguyễn Văn Ba"  # one code point per letter (NFC)
    assert len(stored.head_name) == len("Nguyễn Văn Ba")


def _resident_of(db, household):
    from fieldkit.models import Resident

    return db.exec(select(Resident).where(Resident.household_id == household.id)).first()


def _good_forms(world, ids, visit_key: str) -> list[tuple[str, str, dict[str, str]]]:
    """(role, path, fields) of forms that would be saved as they are: the sweep below bends
    one field at a time, so each hostile value reaches the code that stores it."""
    today = forms.local_today(utcnow())
    visited = forms.to_local(utcnow() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    household = world.household.id
    return [
        (
            "volunteer",
            "/households/new",
            {"label": "41", "head_name": "Hộ Mới", "address_hint": ""},
        ),
        (
            "volunteer",
            f"/households/{household}/edit",
            {"label": "12", "head_name": "Nguyễn Văn An", "address_hint": "Cạnh đình"}
            | {"smartphones": "2", "internet_at_home": "yes"},
        ),
        (
            "volunteer",
            f"/households/{household}/residents/new",
            {"name": "Nguyễn Thị Mới", "birth_year": "1990", "sex": "female", "relation": "Con"}
            | {"phone": "0912345678"},
        ),
        (
            "volunteer",
            f"/households/{household}/visits",
            {"visited_at": visited, "outcome": "met", "notes": "Ghi chú"}
            | {"follow_up_on": "", "smartphones": "1", "internet_at_home": "no"}
            | {"lines-0-resident_id": str(world.head.id), "lines-0-service_code": "vneid_level1"}
            | {"lines-0-result": "done", "lines-0-dossier_no": "H15.34-1"},
        ),
        (
            "volunteer",
            f"/households/{household}/consent",
            {"purpose_public_services": "yes", "method": "verbal"}
            | {"consented_on": today.isoformat()},
        ),
        (
            "staff",
            "/review/decide",
            {"record": visit_key, "decision": "return", "reason_choice": "", "reason": "Thiếu"},
        ),
        (
            "staff",
            "/targets",
            {"preset": "custom", "start": "2026-01-01", "end": "2026-12-31"}
            | {targets.cell_name(None, "reached"): "10"},
        ),
        (
            "staff",
            "/guides/vneid_level1/edit",
            {"title": "Cài VNeID", "steps": "Bước 1\nBước 2", "official_url": "https://x.vn"},
        ),
        (
            "staff",
            "/members",
            {"name": "Thành Viên Mới", "phone": "0912000123", "role": "volunteer"}
            | {"village_id": str(world.village.id)},
        ),
        ("staff", "/members/villages", {"name": "Thôn Mới"}),
        ("staff", f"/members/villages/{ids['village_id']}/rename", {"name": "Thôn Đông Mới"}),
        ("leader", "/assignments", {"volunteer_id": str(world.volunteer.id), "range": "1-20"}),
        ("staff", "/settings", {"retention_months": "24"}),
        ("signed_out", "/signin/code", {"phone": "0912000001", "code": "123456"}),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_each_field_of_a_good_form_bent_alone_gets_no_5xx(app, db, world, people, role):
    """One hostile value in one field of an otherwise good form: the value gets as far as it
    can — to the code that stores it."""
    from tests.fieldkit.helpers import line, record_visit

    members, ids = people
    pending = record_visit(
        db, world, household=world.neighbour, lines=[line(_resident_of(db, world.neighbour))]
    )
    db.commit()
    browser = Browser(app.test_client(), db)
    if role == "signed_out":
        browser.get("/signin")
    else:
        browser.sign_in(members[role])
    problems, sent = [], 0
    for who, path, fields in _good_forms(world, ids, f"visit:{pending.id}:1"):
        if who != role:
            continue
        if role != "signed_out":  # (a made-up sign-in code is refused, rightly)
            saved = _post_raw(browser, path, {"uuid": str(uuid.uuid4()), **fields})
            assert saved.status_code in (200, 303), (path, saved.get_data(as_text=True)[-3000:])
        for name in fields:
            for value in HOSTILE:
                bent = {"uuid": str(uuid.uuid4()), **fields, name: value}
                sent += 1
                try:
                    response = _post_raw(browser, path, bent)
                except Exception as error:  # noqa: BLE001 — a would-be 500, re-raised in tests
                    db.rollback()
                    problems.append(f"{path} {name}={value[:30]}: {type(error).__name__}: {error}")
                    continue
                if response.status_code not in FINE:
                    problems.append(f"{path} {name}={value[:30]}: {response.status_code}")
                response.close()
    assert sent > 20
    assert not problems, f"{len(problems)} of {sent} posts failed:\n" + "\n".join(
        p[:300] for p in problems[:30]
    )
