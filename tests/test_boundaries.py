"""The house's boundaries (STYLE.md), checked by reading the source: the domain imports no
Flask; blueprints import no other blueprint (what two areas share is a module of its own under
pwa/); every template global comes from one place."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ROUTES = ROOT / "pwa" / "routes"


def _imports(path: Path) -> list[str]:
    """Every module `path` imports, absolute, including imports inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
            found += [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append("." * node.level + (node.module or ""))
    return found


def _blueprints() -> set[str]:
    return {f"pwa.routes.{p.stem}" for p in ROUTES.glob("*.py") if p.stem != "__init__"}


def test_no_blueprint_imports_another():
    blueprints = _blueprints()
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in ROUTES.glob("*.py")
        for name in _imports(path)
        if name in blueprints or name.startswith(".")
    ]
    assert offenders == []


def test_shared_web_modules_import_no_blueprint():
    """A module under pwa/ that two areas share must not lean on one of them either (that is
    how import circles start)."""
    blueprints = _blueprints()
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "pwa").glob("*.py")
        for name in _imports(path)
        if name in blueprints and path.name != "__init__.py"
    ]
    assert offenders == []


def test_the_domain_imports_no_flask():
    offenders = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in (ROOT / "fieldkit").rglob("*.py")
        for name in _imports(path)
        if name.split(".")[0] in {"flask", "flask_babel", "flask_wtf", "htmx_flask", "pwa"}
    ]
    assert offenders == []


def test_template_globals_come_from_one_module():
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "pwa").rglob("*.py")
        if path.name != "template_globals.py"
        and any(
            word in path.read_text()
            for word in (
                "app_template_global",
                "app_context_processor",
                "app_template_filter",
                "jinja_env.globals",
                "context_processor(",
            )
        )
    ]
    assert offenders == []


def test_the_check_catches_a_blueprint_import(tmp_path):
    """The checker itself sees both import forms (so the tests above can fail)."""
    source = tmp_path / "x.py"
    source.write_text("from pwa.routes.review import x\nimport pwa.routes.auth\n")
    assert {"pwa.routes.review", "pwa.routes.auth"} <= set(_imports(source))


# --- Role rules live in fieldkit/policy.py only (STYLE.md, boundary 4) -----------------------
# A route, template or domain module asks a named rule (policy.is_field_member(member)); it
# never compares roles itself, so a new role is taught in one place. Exempt:
# - fieldkit/policy.py, where the rules are;
# - fieldkit/demo.py: it makes sample people of each role and picks "a volunteer, their
#   leader, a staff member" to print their sign-in links — choosing sample data, not deciding
#   who may do what;
# - fieldkit/migrations/: frozen history of the schema, never changed after the fact.
ROLE_RULES = ROOT / "fieldkit" / "policy.py"
ROLE_EXEMPT = {ROLE_RULES, ROOT / "fieldkit" / "demo.py"}
SQL_COMPARISONS = {"in_", "not_in", "notin_", "is_", "is_not", "isnot", "__eq__", "__ne__"}


def _is_role_name(name: str) -> bool:
    return name == "role" or name.endswith("_role")


def _role_variable(node: ast.AST) -> bool:
    """`role`, `member.role`, `target_role`: a value that holds one role."""
    if isinstance(node, ast.Name):
        return _is_role_name(node.id)
    return isinstance(node, ast.Attribute) and _is_role_name(node.attr)


def _mentions_role(node: ast.AST) -> bool:
    """The expression reads a role (`member.role`, `role.value`) or names one (`Role.leader`)."""
    for part in ast.walk(node):
        if _role_variable(part):
            return True
        if (
            isinstance(part, ast.Attribute)
            and isinstance(part.value, ast.Name)
            and part.value.id == "Role"
        ):
            return True
    return False


def _is_none(node: ast.AST) -> bool:
    """`role is None`: whether a role was given at all decides nothing about roles."""
    return isinstance(node, ast.Constant) and node.value is None


def _role_comparisons(source: str, filename: str) -> list[str]:
    """Lines of Python `source` that decide something by role: a comparison (==, !=, in, is)
    with a role on one side — unless both sides are role variables (`role != member.role`
    notices a change, it decides nothing) or the other is None — or an SQL comparison of a
    role column (`col(Member.role).in_(…)`)."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            if (
                any(_mentions_role(o) for o in operands)
                and not all(_role_variable(o) for o in operands)
                and not any(_is_none(o) for o in operands)
            ):
                found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in SQL_COMPARISONS
            and _mentions_role(node.func.value)
        ):
            found.append(f"{filename}:{node.lineno}: {ast.unparse(node)}")
    return found


# In templates: a role compared with a name of a role or a list of them (`member.role ==
# 'leader'`, `role.value in ('leader', 'staff')`, `row.role is Role.x`), or `Role.x in …`.
# (`person.role.value == value` marks the selected option of a list: it decides nothing.)
TEMPLATE_ROLE_COMPARISON = re.compile(
    r"\brole(?:\.value)?\s*(?:==|!=|\bnot\s+in\b|\bin\b|\bis(?:\s+not)?\b)\s*(?:['\"(\[]|Role\.)"
    r"|\bRole\.\w+\s*(?:==|!=|\bin\b)"
)


def _template_role_comparisons(text: str, filename: str) -> list[str]:
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        # Only inside Jinja expressions and statements: `role="img"` is an ARIA attribute.
        for expression in re.findall(r"\{\{.*?\}\}|\{%.*?%\}", line):
            if TEMPLATE_ROLE_COMPARISON.search(expression):
                found.append(f"{filename}:{number}: {expression}")
    return found


def test_no_role_comparison_outside_policy():
    offenders = []
    for path in [*(ROOT / "fieldkit").rglob("*.py"), *(ROOT / "pwa").rglob("*.py")]:
        if path in ROLE_EXEMPT or "migrations" in path.parts:
            continue
        offenders += _role_comparisons(path.read_text(), str(path.relative_to(ROOT)))
    for path in (ROOT / "pwa" / "templates").rglob("*.html"):
        offenders += _template_role_comparisons(path.read_text(), str(path.relative_to(ROOT)))
    assert offenders == [], "ask a named rule in fieldkit/policy.py instead:\n" + "\n".join(
        offenders
    )


def test_the_role_check_catches_each_form():
    """The checker sees every way a role rule has been written here (so the test above can
    fail), and lets through what decides nothing."""
    caught = [
        "if member.role in (Role.volunteer, Role.leader): pass",
        "x = member.role is not Role.volunteer",
        "x = g.member.role == Role.volunteer",
        "x = member.role.value in ('leader', 'staff')",
        "x = role != Role.staff",
        "x = Role.leader in roles",
        "x = volunteer.role not in ASSIGNABLE",
        "x = select(Member).where(col(Member.role).in_([Role.volunteer, Role.leader]))",
        "x = select(Member).where(Member.role == Role.staff)",
    ]
    for line in caught:
        assert _role_comparisons(line, "x.py"), line
    let_through = [
        "if role != member.role: pass",  # a change of role, noticed
        "if role is None: pass",  # a role was not given
        "label = ROLES[member.role]",
        "details = {'to': role.value}",
        "choices = [r.value for r in Role]",
    ]
    for line in let_through:
        assert not _role_comparisons(line, "x.py"), line
    assert _template_role_comparisons("{% if member.role.value in ('leader',) %}", "t.html")
    assert _template_role_comparisons("{% if row.role and row.role.value == 'leader' %}", "t")
    assert _template_role_comparisons("{% if member.role is not Role.volunteer %}", "t.html")
    assert not _template_role_comparisons('<p role="status">{{ x }}</p>', "t.html")
    assert not _template_role_comparisons("{{ ' selected' if person.role.value == value }}", "t")
