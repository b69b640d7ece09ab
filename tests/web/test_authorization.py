"""The authorization matrix: every route of app.url_map × every role × an object inside and
outside the role's scope (DESIGN.md §5). Outside answers 403 or 404 (signed out: a redirect to
sign in, or 401 for the API) and changes nothing.

Outside means: another village of the commune (for volunteers and leaders), another commune of
the same province, and a commune of another province. Province staff (issue 14) read every
commune of their province through the province's pages only: for them the other commune of
the province is inside, the other province outside, and every commune page is refused.

The routes come from the app itself, so a new route fails this test until it is given a line
in ROUTES below; a line for a route that no longer exists fails too.
"""

from __future__ import annotations

import uuid as uuid_module
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import SQLModel, col, func, select
from werkzeug.routing import IntegerConverter

from fieldkit import forms, sessions
from fieldkit.models import (
    AuditEvent,
    Commune,
    Household,
    ImportBatch,
    ImportKind,
    ImportStatus,
    Member,
    Outcome,
    Passkey,
    PasskeyChallenge,
    ReviewState,
    Role,
    Tally,
    Village,
    Visit,
    WebSession,
    utcnow,
)
from fieldkit.sync import Kind
from tests.factories import build_province
from tests.web.conftest import Browser


@pytest.fixture
def app(app_on_each_engine):
    """Every check here holds on SQLite and on PostgreSQL."""
    return app_on_each_engine


ROLES = ["volunteer", "leader", "staff", "admin", "province", "province_admin", "signed_out"]
FIELD = {"volunteer", "leader"}  # people at the door write field records
COMMUNE = {"staff", "admin"}  # the whole commune: review, audit, exports, erasure
EVERYONE = FIELD | COMMUNE  # everyone of a commune
PROVINCE = {"province", "province_admin"}  # every commune of the province, numbers only
SIGNED_IN = EVERYONE | PROVINCE
ASSIGNERS = {"leader"} | COMMUNE  # who gives households to volunteers
EXPORTERS = {"leader"} | COMMUNE  # indicator and visit files
IMPORTERS = {"leader"} | COMMUNE  # lists brought in from Excel (issue 15)
REFUSED = {403, 404}
# Refusals may be written down (audit log) and counted (tallies), and anyone may ask for a
# passkey challenge: those tables may grow.
GROWS_ON_REFUSAL = {
    AuditEvent.__tablename__,
    Tally.__tablename__,
    PasskeyChallenge.__tablename__,
}
# Routes that end the session the matrix's requests are made in: asked last.
ENDS_THE_SESSION = {"auth.signout", "account.end_all_sessions"}


@dataclass(frozen=True)
class Expect:
    """What one route answers. `allowed`: the roles that may use it on an object in their
    scope, and `ok` the statuses they may get (an empty form may be 422). Others get 403.
    `public`: no sign-in needed, no object scope. `identity`: the sign-in and member
    routes, whose role rules tests/web/test_identity.py holds; here only the rules every
    route obeys are checked (signed out refused, objects outside the commune refused and
    unchanged, no 5xx)."""

    allowed: frozenset[str] = frozenset()
    ok: frozenset[int] = frozenset({200})
    public: bool = False
    identity: bool = False


def _e(allowed=(), ok=(200,), **kwargs) -> Expect:
    return Expect(frozenset(allowed), frozenset(ok), **kwargs)


PUBLIC = _e(public=True, ok=(200, 302, 303, 400, 401, 404, 410, 422, 429))
FORM_POST = (303, 422)

ROUTES: dict[str, Expect] = {
    "static": PUBLIC,
    "offline.service_worker": PUBLIC,
    "offline.manifest": PUBLIC,
    "offline.offline_page": PUBLIC,
    "offline.outbox_script": PUBLIC,
    "offline.outbox_rules_script": PUBLIC,
    "sync.openapi_document": PUBLIC,
    "health.healthz": PUBLIC,  # the process answers (issue 13)
    "health.readyz": PUBLIC,  # the database answers and is migrated; 503 otherwise
    "offline.session_info": PUBLIC,  # 401 JSON signed out: the outbox asks it who is in
    "auth.signin": PUBLIC,
    "auth.signin_link": PUBLIC,
    "auth.redeem": PUBLIC,
    "auth.signout": PUBLIC,
    "auth.home": _e(SIGNED_IN, ok=(302,)),
    "households.index": _e(EVERYONE),
    "households.show": _e(EVERYONE),
    "villages.index": _e(EVERYONE),
    # Dashboards (issue 5): a village's for its team, the commune's for commune staff; one
    # volunteer's numbers for leaders and staff only.
    "villages.show": _e(EVERYONE),
    "villages.week": _e(EVERYONE),
    "villages.commune": _e(COMMUNE),
    "villages.volunteer": _e(ASSIGNERS),
    "offline.outbox_page": _e(SIGNED_IN),  # the phone's own outbox; no data of the server
    "offline.offline_pack": _e(SIGNED_IN),  # province staff: the outbox page only
    # The phone's pack of pages (issue 16): each member's own scope; the matrix posts no
    # versions, so everything in scope comes back.
    "offline.offline_pack_chunk": _e(SIGNED_IN),
    "households.new": _e(FIELD),
    "households.create": _e(FIELD, ok=FORM_POST),
    "households.edit": _e(FIELD),
    "households.update": _e(FIELD, ok=FORM_POST),
    "households.new_resident": _e(FIELD),
    "households.create_resident": _e(FIELD, ok=FORM_POST),
    "visits.new": _e(FIELD),
    "visits.create": _e(FIELD, ok=FORM_POST),
    "privacy.consent": _e(FIELD, ok=FORM_POST),
    "sync.sync_batch": _e(SIGNED_IN),  # item by item: test_every_sync_kind_… below
    "audit.index": _e(COMMUNE),
    "audit.export_csv": _e(COMMUNE),
    "privacy.settings": _e(COMMUNE),
    "privacy.save_settings": _e(COMMUNE, ok=FORM_POST),
    "privacy.export": _e(COMMUNE),
    "privacy.confirm_erase": _e(COMMUNE),
    "privacy.erase": _e(COMMUNE, ok=(422,)),  # without the confirmation box ticked
    # Downloads: a leader gets their village, commune staff the commune.
    "exports.indicators_csv": _e(EXPORTERS),
    "exports.indicators_xlsx": _e(EXPORTERS),
    "exports.visits_csv": _e(EXPORTERS),
    "exports.visits_xlsx": _e(EXPORTERS),
    # Sign-in ceremonies and member management (the identity work of issue 4).
    # (403 when already signed in.)
    "auth.signin_code": _e(public=True, ok=(200, 302, 303, 400, 401, 403, 410, 422, 429)),
    "auth.passkey_signin_options": _e(public=True, ok=(200, 400, 401, 403, 410, 422, 429)),
    "auth.passkey_signin": _e(public=True, ok=(200, 400, 401, 403, 410, 422, 429)),
    "auth.enroll_options": _e(public=True, ok=(200, 400, 401, 403, 404, 410, 422, 429)),
    "auth.enroll": _e(public=True, ok=(200, 400, 401, 403, 404, 410, 422, 429)),
    "auth.add_passkey_options": _e(identity=True),
    "auth.add_passkey": _e(identity=True),
    "account.index": _e(identity=True),
    "account.revoke": _e(identity=True),
    # Sessions (issue 10): one's own devices on the account page; commune staff sign a member
    # out of every device (tests/web/test_sessions.py holds the role rules).
    "account.end_session": _e(identity=True),
    "account.end_all_sessions": _e(identity=True),
    # The language of this device's screens (issue 12): anyone signed in; a cookie, no row.
    "account.set_language": _e(SIGNED_IN, ok=FORM_POST),
    "members.end_sessions": _e(identity=True),
    "members.index": _e(identity=True),
    "members.add": _e(identity=True),
    "members.code": _e(identity=True),
    "members.deactivate": _e(identity=True),
    "members.invite": _e(identity=True),
    "members.change_role": _e(identity=True),
    "members.add_village": _e(identity=True),
    "members.rename_village": _e(identity=True),
    # Assignments (issue 5): leaders in their village, commune staff anywhere in the commune.
    "assignments.index": _e(ASSIGNERS),
    "assignments.assign": _e(ASSIGNERS, ok=(422,)),  # no volunteer chosen, nothing ticked
    # Targets and follow-ups (issue 5): everyone sees their scope's; only commune staff set
    # targets (the matrix posts no period: 422).
    "targets.index": _e(EVERYONE),
    "targets.save": _e(COMMUNE, ok=(422,)),
    "followups.index": _e(EVERYONE),
    # Push (issue 6): each member keeps or forgets their own browser's subscription.
    "push.subscribe": _e(SIGNED_IN, ok=(422,)),  # the matrix posts no subscription
    "push.unsubscribe": _e(SIGNED_IN, ok=(422,)),
    # Door stickers (issue 6): leaders print their village's, commune staff any village's.
    # The matrix's token is forged: 404 for everyone signed in.
    "stickers.village_sheet": _e(ASSIGNERS),
    "stickers.household_sheet": _e(ASSIGNERS),
    "stickers.replace": _e(ASSIGNERS, ok=(303,)),
    "stickers.open": _e(SIGNED_IN, ok=(404,)),
    # Guide cards: everyone reads them, commune staff reword them. The matrix's service code
    # is made up: 404 once the role is allowed.
    "menu.index": _e(SIGNED_IN),
    "guides.index": _e(EVERYONE),
    "guides.show": _e(EVERYONE, ok=(404,)),
    "guides.edit": _e(COMMUNE, ok=(404,)),
    "guides.save": _e(COMMUNE, ok=(404,)),
    "guides.reset": _e(COMMUNE, ok=(404,)),
    # Review (issue 6): commune staff decide; everyone who sees a household reads its
    # records' histories; the field fixes what was returned. An empty decision form is 422;
    # the matrix's record UUID is made up: 404 once the role is allowed.
    "review.index": _e(COMMUNE),
    "review.decide": _e(COMMUNE, ok=(422,)),
    "review.approve_many": _e(COMMUNE, ok=(422,)),
    "review.household_history": _e(EVERYONE),
    "review.returned": _e(FIELD),
    "review.edit_returned": _e(FIELD, ok=(404,)),
    "review.resubmit": _e(FIELD, ok=(404,)),
    # The province (issue 14): province staff read every commune of their province, set the
    # province's targets (the matrix posts no period: 422); the province admin also looks
    # after the province's team (an empty add form is 422).
    "province.index": _e(PROVINCE),
    "province.week": _e(PROVINCE),
    "province.commune": _e(PROVINCE),
    "province.export_xlsx": _e(PROVINCE),
    "province.export_csv": _e(PROVINCE),
    "province.targets_index": _e(PROVINCE),
    "province.targets_save": _e(PROVINCE, ok=(422,)),
    "province.members_index": _e({"province_admin"}),
    "province.members_add": _e({"province_admin"}, ok=(422,)),
    "province.members_invite": _e({"province_admin"}),
    "province.members_deactivate": _e({"province_admin"}, ok=(303,)),
    # Imports (issue 15): leaders for their village, commune staff for the commune. The
    # matrix's batch is a finished team roster of Thôn Đông (nothing to run again: 303; its
    # undo succeeds: 303); an upload without a file is 422. Merges are commune staff's; the
    # matrix names no other household: 404 once the role is allowed.
    "imports.index": _e(IMPORTERS),
    "imports.template": _e(IMPORTERS),
    "imports.team_template": _e(IMPORTERS),
    "imports.upload": _e(IMPORTERS, ok=(422,)),
    "imports.upload_team": _e(IMPORTERS, ok=(422,)),
    "imports.show": _e(IMPORTERS),
    "imports.status": _e(IMPORTERS, ok=(303,)),
    "imports.options": _e(IMPORTERS, ok=(303,)),
    "imports.run": _e(IMPORTERS, ok=(303,)),
    "imports.undo": _e(IMPORTERS, ok=(303,)),
    "imports.refused_csv": _e(IMPORTERS),
    "imports.invites": _e(IMPORTERS),
    "imports.merge_page": _e(COMMUNE, ok=(404,)),
    "imports.merge_households": _e(COMMUNE, ok=(404,)),
    "imports.not_duplicate": _e(COMMUNE, ok=(404,)),
}


@dataclass
class Objects:
    """One object of each kind a URL can name, inside and outside the scopes."""

    inside: dict[str, int]  # inside every signed-in commune role's scope (Thôn Đông)
    other_village: dict[str, int]  # inside the commune, outside Thôn Đông
    other_commune: dict[str, int]  # another commune of the same province (Thanh Hóa)
    other_province: dict[str, int]  # a commune of another province (Hà Nội)
    province_inside: dict[str, int]  # what province staff of Thanh Hóa look after


def _session(db, member: Member) -> int:
    _, record = sessions.open_session(db, member, now=utcnow(), method="link")
    return record.id


def _passkey(db, member: Member, credential: str) -> Passkey:
    passkey = Passkey(member_id=member.id, credential_id=credential, public_key=b"\x01" * 32)
    db.add(passkey)
    db.flush()
    return passkey


def _batch(db, commune_id: int, village_id: int) -> ImportBatch:
    """A finished import of a village's team roster (issue 15)."""
    batch = ImportBatch(
        commune_id=commune_id,
        village_id=village_id,
        kind=ImportKind.team,
        status=ImportStatus.done,
        file_name="to.xlsx",
        started_at=utcnow(),
        finished_at=utcnow(),
    )
    db.add(batch)
    db.flush()
    return batch


@pytest.fixture
def matrix(db, world):
    admin = Member(
        commune_id=world.commune.id, name="Quản Trị Xã", phone="0912000009", role=Role.admin
    )
    db.add(admin)
    db.flush()
    province = build_province(db, world)
    far_person = db.exec(
        select(Member).where(Member.commune_id == province.far.id, Member.role == Role.volunteer)
    ).one()
    inside = {
        "household_id": world.household.id,
        "member_id": world.volunteer.id,
        "village_id": world.village.id,
        "passkey_id": _passkey(db, world.volunteer, "in-scope").id,
        "session_id": _session(db, world.volunteer),
        "commune_id": world.commune.id,
        "batch_id": _batch(db, world.commune.id, world.village.id).id,
    }
    objects = Objects(
        inside=inside,
        other_village={
            "household_id": world.far_household.id,
            "member_id": world.other_volunteer.id,
            "village_id": world.other_village.id,
            "passkey_id": _passkey(db, world.other_volunteer, "other-village").id,
            "session_id": _session(db, world.other_volunteer),
            "commune_id": world.commune.id,
            "batch_id": _batch(db, world.commune.id, world.other_village.id).id,
        },
        other_commune={
            "household_id": province.neighbour_household.id,
            "member_id": province.neighbour_volunteer.id,
            "village_id": province.neighbour_village.id,
            "passkey_id": _passkey(db, province.neighbour_volunteer, "other-commune").id,
            "session_id": _session(db, province.neighbour_volunteer),
            "commune_id": province.neighbour.id,
            "batch_id": _batch(db, province.neighbour.id, province.neighbour_village.id).id,
        },
        other_province={
            "household_id": province.far_household.id,
            "member_id": province.far_admin.id,
            "village_id": province.far_village.id,
            "passkey_id": _passkey(db, far_person, "other-province").id,
            "session_id": _session(db, far_person),
            "commune_id": province.far.id,
            "batch_id": _batch(db, province.far.id, province.far_village.id).id,
        },
        # Province staff's own team: the staff member the admin looks after.
        province_inside={
            **inside,
            "member_id": province.staff.id,
            "passkey_id": _passkey(db, province.staff, "province-staff").id,
            "session_id": _session(db, province.staff),
        },
    )
    db.commit()
    people = {
        "volunteer": world.volunteer,
        "leader": world.leader,
        "staff": world.staff,
        "admin": admin,
        "province": province.staff,
        "province_admin": province.admin,
    }
    return objects, people


def _browser(app, db, role: str, people) -> Browser:
    browser = Browser(app.test_client(), db)
    if role == "signed_out":
        browser.get("/signin")  # a CSRF token of a session with nobody in it
    else:
        browser.sign_in(people[role])
    return browser


def _state(db, target: tuple[type, int] | None) -> tuple:
    """Row counts of every table that must not change, and the target row's values."""
    db.rollback()
    db.expire_all()
    counts = {
        table.name: db.exec(select(func.count()).select_from(table)).one()
        for table in SQLModel.metadata.sorted_tables
        if table.name not in GROWS_ON_REFUSAL
    }
    row = None
    if target is not None:
        found = db.get(*target)
        row = found.model_dump() if found is not None else None
    return counts, row


TARGETS = {
    "household_id": Household,
    "member_id": Member,
    "village_id": Village,
    "passkey_id": Passkey,
    "session_id": WebSession,
    "commune_id": Commune,
    "batch_id": ImportBatch,
}


def _places(objects: Objects, role: str) -> list[tuple[str, dict[str, int]]]:
    """Where a role asks: inside its scope, then outside it."""
    if role in PROVINCE:
        return [
            ("inside", objects.province_inside),
            ("province_other_commune", objects.other_commune),  # inside: same province
            ("other_province", objects.other_province),
        ]
    places = [
        ("inside", objects.inside),
        ("other_commune", objects.other_commune),
        ("other_province", objects.other_province),
    ]
    if role in FIELD:
        places.append(("other_village", objects.other_village))
    return places


OUTSIDE = {"other_village", "other_commune", "other_province"}


def _urls(rule, objects: Objects, role: str):
    """(where, url, target) for the rule: one URL per scope it can be asked in."""
    ints = [name for name in rule.arguments if isinstance(rule._converters[name], IntegerConverter)]
    strings = {
        name: ("app.css" if name == "filename" else "not-a-real-token")
        for name in rule.arguments
        if name not in ints
    }
    if not ints:
        yield "none", rule.build(strings, append_unknown=False)[1], None
        return
    # Several ids (a village and a member of it) are all taken from the same place.
    name = ints[-1]
    for where, ids in _places(objects, role):
        url = rule.build({**strings, **{n: ids[n] for n in ints}}, append_unknown=False)[1]
        yield where, url, (TARGETS[name], ids[name])


def _request(browser: Browser, method: str, url: str):
    headers = {"X-CSRF-Token": browser.csrf or ""}
    if method == "GET":
        return browser.client.get(url, headers=headers)
    if url.startswith("/api/"):
        return browser.client.post(url, json={"items": []}, headers=headers)
    return browser.client.post(url, data={"csrf_token": browser.csrf}, headers=headers)


def test_every_route_has_a_line_in_the_matrix(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(ROUTES) == set(), "routes without a line in ROUTES"
    assert set(ROUTES) - endpoints == set(), "lines in ROUTES for routes that do not exist"


@pytest.mark.parametrize("role", ROLES)
def test_every_route_answers_each_role_inside_and_outside_its_scope(app, db, world, matrix, role):
    objects, people = matrix
    browser = _browser(app, db, role, people)
    problems = []
    checked = 0
    # Signing out last: it ends the session the other requests are made in.
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint in ENDS_THE_SESSION, r.rule))
    for rule in rules:
        expect = ROUTES.get(rule.endpoint)
        if expect is None:
            continue  # reported by test_every_route_has_a_line_in_the_matrix
        for method in sorted(rule.methods & {"GET", "POST"}):
            for where, url, target in _urls(rule, objects, role):
                # For province staff another commune of the province is theirs to read
                # (a commune id), but its records and people are not.
                outside = where in OUTSIDE or (
                    where == "province_other_commune" and target[0] is not Commune
                )
                before = _state(db, target) if (outside or role == "signed_out") else None
                response = _request(browser, method, url)
                status = response.status_code
                response.close()
                label = f"{role} {method} {url} ({rule.endpoint}, {where}): {status}"
                checked += 1
                if status >= 500:
                    problems.append(label + " — a server error")
                    continue
                if expect.public:
                    if status not in expect.ok:
                        problems.append(label + f" — expected one of {sorted(expect.ok)}")
                elif role == "signed_out":
                    if status not in (302, 401) and not (status == 400 and method == "POST"):
                        problems.append(label + " — signed out must be sent to sign in")
                    elif status == 302 and "/signin" not in response.headers["Location"]:
                        problems.append(label + " — redirected elsewhere than sign-in")
                elif outside:
                    # The API answers per item; its own refusals are checked below.
                    if status not in REFUSED and rule.endpoint != "sync.sync_batch":
                        problems.append(label + " — outside the scope must be 403 or 404")
                elif expect.identity:
                    pass  # role rules: tests/web/test_identity.py
                elif role in expect.allowed:
                    if status not in expect.ok:
                        problems.append(label + f" — expected one of {sorted(expect.ok)}")
                elif status != 403:
                    problems.append(label + " — this role must get 403")
                if before is not None and _state(db, target) != before:
                    problems.append(label + " — changed something")
    assert checked > 60
    assert not problems, "\n".join(problems)


def _payload(kind: Kind, household: Household, now, db=None) -> dict:
    local = forms.to_local(now)
    if kind is Kind.revision:
        # A visit of this household sent back for fixing, made by the village's volunteer
        # (the leader may fix it too); resubmitted with a new outcome.
        made_by = db.exec(
            select(Member.id)
            .where(Member.village_id == household.village_id, Member.role == Role.volunteer)
            .order_by(col(Member.id))
        ).first()
        visit = Visit(
            uuid=str(uuid_module.uuid4()),
            household_id=household.id,
            volunteer_id=made_by,
            visited_at=now - timedelta(hours=2),
            outcome=Outcome.met,
            review_state=ReviewState.returned,
            fingerprint="x",
        )
        db.add(visit)
        db.commit()
        return {
            "record_kind": "visit",
            "record_uuid": visit.uuid,
            "base_revision": 1,
            "outcome": "not_home",
            "visited_at": (local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        }
    return {
        Kind.visit: {
            "household_id": household.id,
            "outcome": "not_home",
            "visited_at": (local - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        },
        Kind.resident: {"household_id": household.id, "name": "Người Mới", "birth_year": 1990},
        Kind.household: {"label": "99", "head_name": "Hộ Mới Tìm Thấy"},
        Kind.household_edit: {
            "household_id": household.id,
            "label": household.label,
            "head_name": household.head_name + " (sửa)",
            "address_hint": "",
            "smartphones": "",
            "internet_at_home": "",
        },
        Kind.consent: {
            "household_id": household.id,
            "purpose_public_services": "yes",
            "method": "verbal",
            "consented_on": local.date().isoformat(),
        },
    }[kind]


def _returned_visits(db, household: Household) -> int:
    return db.exec(
        select(func.count())
        .select_from(Visit)
        .where(Visit.household_id == household.id, Visit.review_state == ReviewState.returned)
    ).one()


@pytest.mark.parametrize("role", ROLES)
def test_every_sync_kind_answers_each_role_inside_and_outside_its_scope(
    app, db, world, matrix, role
):
    """The API's kinds are routes too: each kind × role × household inside and outside."""
    import uuid

    objects, people = matrix
    browser = _browser(app, db, role, people)
    assert set(Kind) == {
        Kind.visit,
        Kind.resident,
        Kind.household,
        Kind.household_edit,
        Kind.consent,
        Kind.revision,
    }, "a new kind needs its payload in _payload()"
    problems = []
    for kind in Kind:
        for where, ids in _places(objects, role):
            household = db.get(Household, ids["household_id"])
            payload = _payload(kind, household, utcnow(), db)
            before = _state(db, (Household, household.id))
            item = {"id": str(uuid.uuid4()), "kind": kind.value, "payload": payload}
            response = browser.client.post(
                "/api/v1/sync", json={"items": [item]}, headers={"X-CSRF-Token": browser.csrf or ""}
            )
            label = f"{role} {kind.value} ({where}): {response.status_code}"
            if role == "signed_out":
                if response.status_code != 401:
                    problems.append(label + " — expected 401")
                elif _state(db, (Household, household.id)) != before:
                    problems.append(label + " — changed something")
                continue
            result = response.get_json()["results"][0]
            label += f" {result['status']} {result['message']}"
            inside = where == "inside" or kind is Kind.household  # proposes in one's own village
            if role in FIELD and inside:
                if result["status"] != "stored":
                    problems.append(label + " — expected stored")
                elif kind is Kind.revision and _returned_visits(db, household) != 0:
                    problems.append(label + " — the returned visit was not resubmitted")
            elif result["status"] != "forbidden":
                problems.append(label + " — expected forbidden")
            elif _state(db, (Household, household.id)) != before:
                problems.append(label + " — changed something")
    assert not problems, "\n".join(problems)
