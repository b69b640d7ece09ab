"""Every GET route × every query parameter it reads × hostile values × every role: never a
5xx (issue 10, finding 3: `?offset=²`, `?village=²`, year 1 or 9999 dates, 4,300 digits).

Which parameters a route reads is found by reading the source (ast): calls to the one parser,
`params.<kind>("name", …)`, in the view function and the module's functions it calls, and
`request.args.get("name")` where it is only compared. A read the scanner cannot name — a
computed name, `request.args[...]`, `request.values`, the whole `request.args` handed to a
helper, `request.args` in a template — fails `test_every_query_read_is_one_the_sweep_knows`,
so a new parameter is swept the day it is added."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest
from werkzeug.routing import IntegerConverter

from fieldkit.models import Member, Role
from tests.web.backends import both_backends_long_on_postgres
from tests.web.conftest import Browser

# SQLite and PostgreSQL (tests/web/backends.py); the PostgreSQL half is marked slow.
app = both_backends_long_on_postgres

PWA = Path(__file__).resolve().parents[2] / "pwa"
PARSER = PWA / "params.py"
ROLES = ["volunteer", "leader", "staff", "admin"]
# Raw (already percent-encoded) values: non-ASCII digits (², ١٢), negative, zero, 4,300
# digits, empty, years 0, 1 and 9999 as dates and ISO weeks, week 99, a lone surrogate's
# UTF-8 bytes, NUL and other C0/C1 controls, a formula, very long text.
HOSTILE = [
    "%C2%B2",
    "%D9%A1%D9%A2",
    "-1",
    "0",
    "9" * 4300,
    "",
    "0000-01-01",
    "0001-01-01",
    "9999-12-31",
    "0001-W01",
    "9999-W52",
    "2026-W99",
    "%ED%A0%80",
    "%00",
    "%1B",
    "%C2%85",
    "%3DHYPERLINK(%22http://x%22,%22y%22)",
    "x" * 3000,
]
FINE = {200, 302, 303, 400, 403, 404, 422}


# --- reading the source ----------------------------------------------------------------------


def _literal(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _is_request_args(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr in ("args", "values", "query_string")
        and isinstance(node.value, ast.Name)
        and node.value.id == "request"
    )


class _Reads(ast.NodeVisitor):
    """Per module-level function: the parameter names it reads, the module's functions it
    calls, and reads whose name cannot be known (`unknown`, with line numbers)."""

    def __init__(self) -> None:
        self.names: dict[str, set[str]] = {}
        self.calls: dict[str, set[str]] = {}
        self.unknown: list[str] = []
        self._function = "<module>"
        self._allowed: set[int] = set()  # ids of request.args nodes read as .get("literal")

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        outer = self._function
        if outer == "<module>":
            self._function = node.name
        self.generic_visit(node)
        self._function = outer

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        names = self.names.setdefault(self._function, set())
        if isinstance(func, ast.Name):
            self.calls.setdefault(self._function, set()).add(func.id)
        is_params = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
        if is_params and func.value.id == "params":
            name = _literal(node.args[0]) if node.args else None
            if name is None:
                self.unknown.append(f"line {node.lineno}: params.{func.attr}(<not a literal>)")
            else:
                names.add(name)
        if isinstance(func, ast.Attribute) and _is_request_args(func.value):
            name = _literal(node.args[0]) if node.args else None
            if func.attr == "get" and name is not None and func.value.attr == "args":
                names.add(name)
                self._allowed.add(id(func.value))
        self.generic_visit(node)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if _is_request_args(node) and id(node) not in self._allowed:
            self.unknown.append(f"line {node.lineno}: request.{node.attr} read as a whole")
        self.generic_visit(node)


def _scan(path: Path) -> _Reads:
    reads = _Reads()
    reads.visit(ast.parse(path.read_text(), str(path)))
    return reads


def _reads_of(reads: _Reads, function: str) -> set[str]:
    """The names `function` reads, directly or through the module's functions it calls."""
    seen, todo, names = set(), [function], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        names |= reads.names.get(current, set())
        todo.extend(reads.calls.get(current, set()))
    return names


def test_every_query_read_is_one_the_sweep_knows():
    """Only pwa/params.py touches the query string as a whole; every other read names its
    parameter with a literal the scanner (and so the sweep) can see."""
    problems = []
    for path in sorted(PWA.rglob("*.py")):
        if path == PARSER:
            continue
        problems += [f"{path.relative_to(PWA.parent)} {u}" for u in _scan(path).unknown]
    for path in sorted((PWA / "templates").rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if re.search(r"request\.(args|values|query_string)", line):
                problems.append(f"{path.relative_to(PWA.parent)} line {number}: reads the query")
    assert not problems, "reads the sweep cannot follow:\n" + "\n".join(problems)


def _parameters(app) -> tuple[dict[str, set[str]], set[str]]:
    """(endpoint → names its view reads, names read outside the routes on every page)."""
    scans: dict[str, _Reads] = {}
    by_endpoint = {}
    for endpoint, view in app.view_functions.items():
        view = inspect.unwrap(view)
        path = Path(inspect.getsourcefile(view))
        if PWA not in path.parents:
            continue  # Flask's own static view
        scans.setdefault(str(path), _scan(path))
        by_endpoint[endpoint] = _reads_of(scans[str(path)], view.__name__)
    everywhere = set()
    for path in PWA.glob("*.py"):
        if path != PARSER:
            everywhere |= set().union(*_scan(path).names.values(), set())
    return by_endpoint, everywhere


def test_the_scanner_finds_the_parameters_of_known_routes(app):
    by_endpoint, everywhere = _parameters(app)
    assert {"offset", "filter", "q"} <= by_endpoint["households.index"]
    assert {"from", "to"} <= by_endpoint["exports.visits_xlsx"]
    assert {"from", "to", "action", "actor"} <= by_endpoint["audit.export_csv"]
    assert "week" in by_endpoint["villages.week"]
    assert {"village", "show", "volunteer"} <= by_endpoint["assignments.index"]
    assert "out" in everywhere


# --- the sweep -------------------------------------------------------------------------------


@pytest.fixture
def people(db, world):
    admin = Member(
        commune_id=world.commune.id, name="Quản Trị Xã", phone="0912000009", role=Role.admin
    )
    db.add(admin)
    db.commit()
    return {"volunteer": world.volunteer, "leader": world.leader, "staff": world.staff} | {
        "admin": admin
    }


def _path(rule, world, raw: dict[str, str] | None = None) -> str:
    """The rule's URL for objects of the world's village; `raw` puts these (percent-encoded)
    texts in the named parts of the path as they are."""
    ids = {
        "household_id": world.household.id,
        "village_id": world.village.id,
        "member_id": world.volunteer.id,
    }
    values = {}
    for name in rule.arguments:
        if isinstance(rule._converters[name], IntegerConverter):
            values[name] = ids.get(name, 999_999)
        elif raw and name in raw:
            values[name] = f"RAW{name.upper()}"
        else:
            values[name] = {"filename": "app.css", "code": "vneid_level1", "kind": "visit"}.get(
                name, "00000000-0000-4000-8000-000000000000"
            )
    url = rule.build(values, append_unknown=False)[1]
    for name, value in (raw or {}).items():
        url = url.replace(f"RAW{name.upper()}", value)
    return url


def _queries(names: set[str]):
    """Each parameter alone with each hostile value, the same name twice (an array), and
    every parameter hostile at once."""
    for name in sorted(names):
        for value in HOSTILE:
            yield f"{name}={value}"
        yield f"{name}=1&{name}=%C2%B2"
        yield f"{name}[]=1&{name}[]=2"
    if len(names) > 1:
        for value in HOSTILE:
            yield "&".join(f"{name}={value}" for name in sorted(names))


@pytest.mark.parametrize("role", ROLES)
def test_no_query_value_gets_a_5xx(app, db, world, people, role):
    by_endpoint, everywhere = _parameters(app)
    browser = Browser(app.test_client(), db)
    browser.sign_in(people[role])
    problems, sent = [], 0
    rules = [r for r in app.url_map.iter_rules() if "GET" in r.methods]
    for rule in sorted(rules, key=lambda r: r.rule):
        names = by_endpoint.get(rule.endpoint, set())
        if rule.endpoint == "menu.index":
            names = names | everywhere  # read on every page: swept on one
        if not names:
            continue
        path = _path(rule, world)
        for query in _queries(names):
            url = f"{path}?{query}"
            sent += 1
            try:
                response = browser.client.get(url)
            except Exception as error:  # noqa: BLE001 — the test app re-raises a would-be 500
                db.rollback()
                problems.append(f"{role} {url[:120]}: {type(error).__name__}: {error}"[:300])
                continue
            if response.status_code not in FINE:
                problems.append(f"{role} {url[:120]}: {response.status_code}")
            response.close()
    assert sent > 500
    assert not problems, f"{len(problems)} of {sent} requests failed:\n" + "\n".join(problems[:40])


@pytest.mark.parametrize(
    ("url", "status", "shown"),
    [
        # filters and paging made by the app's own links: a bad value is the default
        ("/households?offset=%C2%B2", 200, "Nguyễn Văn An"),
        ("/households?offset=" + "9" * 4300, 200, "Nguyễn Văn An"),
        ("/review?village=%D9%A1&age=%C2%B2&kind=x", 200, "Duyệt hồ sơ"),
        ("/assignments?village=%C2%B2&volunteer=-1&show=all", 200, "Phân công"),
        ("/villages/commune?sort=%00&dir=%C2%B2", 200, "Thôn Đông"),
        ("/households?q=Nguy%E1%BB%85n%00%1B", 200, "Nguyễn Văn An"),  # cleaned search
        # dates and weeks a person picks: a clear 400 in Vietnamese
        ("/audit?from=0001-01-01", 400, "Từ ngày không hợp lệ: năm phải từ 1900 đến 2200."),
        ("/audit?to=9999-12-31", 400, "Đến ngày không hợp lệ: năm phải từ 1900 đến 2200."),
        ("/audit.csv?from=%C2%B2", 400, "Từ ngày không đúng định dạng ngày"),
        ("/exports/visits.xlsx?from=0000-01-01", 400, "Ngày bắt đầu không hợp lệ"),
        ("/exports/indicators.csv?to=9999-12-31", 400, "Ngày kết thúc không hợp lệ"),
        ("/villages/1/week?week=0001-W01", 400, "năm phải từ 1900 đến 2200"),
        ("/villages/1/week?week=2026-W99", 400, "Ghi theo dạng năm-W số tuần"),
        # the targets page keeps its period form, with the message beside the field
        ("/targets?preset=custom&start=0001-01-01&end=2026-12-31", 422, "năm phải từ 1900"),
    ],
)
def test_each_parameter_answers_as_decided(web, world, url, status, shown):
    web.sign_in(world.staff)
    response = web.get(url)
    assert response.status_code == status, url
    assert shown in response.get_data(as_text=True)


PATH_VALUES = ["%00", "%ED%A0%80", "%1B", "%C2%B2", "9" * 4300, "x" * 3000, "%FF%FE"]


@pytest.mark.parametrize("role", [*ROLES, "signed_out"])
def test_no_text_in_a_path_gets_a_5xx(app, db, world, people, role):
    """The text parts of paths (/guides/<code>, /s/<token>, /returned/<kind>/<uuid>…) too."""
    browser = Browser(app.test_client(), db)
    if role == "signed_out":
        browser.get("/signin")
    else:
        browser.sign_in(people[role])
    problems, sent = [], 0
    for rule in app.url_map.iter_rules():
        texts = [
            name
            for name in rule.arguments
            if not isinstance(rule._converters[name], IntegerConverter) and name != "filename"
        ]
        if not texts or "GET" not in rule.methods:
            continue
        for value in PATH_VALUES:
            url = _path(rule, world, dict.fromkeys(texts, value))
            sent += 1
            try:
                response = browser.client.get(url)
            except Exception as error:  # noqa: BLE001 — the test app re-raises a would-be 500
                db.rollback()
                problems.append(f"{role} {url[:100]}: {type(error).__name__}: {error!s:.150}")
                continue
            if response.status_code not in FINE | {401, 410}:
                problems.append(f"{role} {url[:100]}: {response.status_code}")
            response.close()
    assert sent > 20
    assert not problems, "\n".join(problems)
