"""The house's boundaries (STYLE.md), checked by reading the source: the domain imports no
Flask; blueprints import no other blueprint (what two areas share is a module of its own under
pwa/); every template global comes from one place."""

from __future__ import annotations

import ast
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
