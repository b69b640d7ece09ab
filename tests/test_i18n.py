"""Translations are real (issue 12): every word a person sees is marked for translation, the
checked-in catalogue is what `make messages` would write, and the field screens are translated
into English. Read README "Languages" for how to add a string."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = ROOT / "pwa" / "templates"
CATALOGUE = ROOT / "pwa" / "translations"
POT = CATALOGUE / "messages.pot"
EN_PO = CATALOGUE / "en" / "LC_MESSAGES" / "messages.po"
EN_MO = CATALOGUE / "en" / "LC_MESSAGES" / "messages.mo"

# Vietnamese letters with their marks, or any letter at all in a template (an English word
# outside _() is as untranslated as a Vietnamese one).
VIETNAMESE = re.compile(r"[À-ỹĐđ]")
LETTERS = re.compile(r"[A-Za-zÀ-ỹĐđ]")
MARKERS = {"_", "_l", "gettext", "lazy_gettext", "ngettext", "N_"}
# Proper names that read the same in every language.
NAMES = {"Fieldkit", "VNeID", "QR", "Zalo", "Excel", "CSV", "XLSX", "PDF", "OK"}
PRAGMA = "i18n: not translated"

# What is deliberately not translated, and why. Keep it short; a line of its own elsewhere
# says `# i18n: not translated (why)`.
NOT_TRANSLATED = {
    "fieldkit/demo.py": "the demo commune's data (names, addresses, notes), not the interface",
    "fieldkit/cli.py": "the server's terminal commands: no request, no chosen language",
    "fieldkit/backup.py": "run from the terminal (fieldkit backup/restore)",
    "fieldkit/reporting/exports.py": (
        "files for the province: headers read the same whoever downloads"
    ),
    "fieldkit/spreadsheets.py": "the province's file layout (headers, sheet names)",
    "fieldkit/guides.py": "the guide cards' starting text: content leaders edit, kept as data",
    "fieldkit/text.py": "the letter-folding table (đ → d)",
    "fieldkit/models.py": "stored defaults and column descriptions: data",
    "fieldkit/imports.py:template": "the blank list a person fills in: its headers are what "
    "the import reads",
    "fieldkit/roster.py:template": "the blank team list a person fills in (as above)",
    "pwa/openapi.py": "the API's description for developers, in English",
}


# --- (a) templates -------------------------------------------------------------------------


class _TemplateText(HTMLParser):
    """Finds text and user-visible attributes with letters in a template whose Jinja parts
    were replaced by a placeholder."""

    VISIBLE = {"title", "placeholder", "aria-label", "alt", "aria-description"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, other language or code)

    def _exempt(self) -> bool:
        return any(exempt for _tag, exempt in self.stack)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        # Code, and words deliberately in another language (lang="en" beside "Ngôn ngữ").
        exempt = tag in ("script", "style", "code", "svg") or "lang" in attributes
        if tag not in ("br", "img", "input", "meta", "link", "hr", "source", "area", "wbr"):
            self.stack.append((tag, exempt))
        visible = set(self.VISIBLE)
        # A <button>'s value is sent, not shown; an input button shows its value.
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            visible.add("value")
        for name, value in attrs:
            if name in visible and value and self._untranslated(value) and not exempt:
                self.found.append(f'<{tag} {name}="{value}">')

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._exempt() and self._untranslated(data):
            self.found.append(data.strip())

    @staticmethod
    def _untranslated(text: str) -> bool:
        # A macro that writes attributes (hx-post="…" hx-swap="outerHTML") is not text.
        words = re.sub(r'[\w:-]+="[^"]*"', " ", text)
        words = re.sub(r"\ue000", " ", words)
        for name in NAMES:
            words = words.replace(name, " ")
        return bool(LETTERS.search(words))


def untranslated_in_template(source: str) -> list[str]:
    """Text outside Jinja expressions and tags that a person would read, untranslated."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    html = []
    for _line, kind, value in env.lex(source):
        html.append(value if kind == "data" else "\ue000")
    parser = _TemplateText()
    parser.feed(re.sub("\ue000+", "\ue000", "".join(html)))
    parser.close()
    return parser.found


def unmarked_strings_in_template_code(source: str) -> list[str]:
    """Vietnamese string literals inside {{ … }} and {% … %} that no _()/pgettext() wraps."""
    env = Environment(extensions=["jinja2.ext.i18n"])
    found, calls, previous = [], [], None
    for _line, kind, value in env.lex(source):
        if kind == "operator" and value == "(":
            calls.append(previous in ("_", "gettext", "ngettext", "pgettext", "npgettext"))
        elif kind == "operator" and value == ")" and calls:
            calls.pop()
        elif kind == "string" and VIETNAMESE.search(value) and not any(calls):
            found.append(value)
        previous = value if kind == "name" else None
    return found


def test_the_template_code_check_sees_unmarked_strings():
    source = '{% for v, t in [("yes", "Có"), ("no", _("Không"))] %}{{ pgettext("b", "Thêm") }}'
    assert [s.strip("\"'") for s in unmarked_strings_in_template_code(source)] == ["Có"]


def test_every_string_in_template_code_is_marked():
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (found := unmarked_strings_in_template_code(path.read_text()))
    }
    assert offenders == {}


def test_the_template_check_sees_text_and_attributes():
    found = untranslated_in_template(
        '<p>Xin chào</p><button title="Lưu">{{ _("Lưu") }}</button>'
        '<input placeholder="Search"><span lang="en">Language</span>'
        '<a aria-label="{{ _("Mở") }}">{{ name }} · {{ _("hộ") }}</a>'
        '{% macro m() %}hx-post="{{ u }}" hx-swap="outerHTML"{% endmacro %}'
    )
    assert found == ["Xin chào", '<button title="Lưu">', '<input placeholder="Search">']


def test_every_word_in_a_template_is_marked():
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in sorted(TEMPLATES.rglob("*.html"))
        if (found := untranslated_in_template(path.read_text()))
    }
    assert offenders == {}


# --- (b) Python --------------------------------------------------------------------------


def _allowed(path: str, function: str | None) -> bool:
    return path in NOT_TRANSLATED or (
        function is not None and f"{path}:{function}" in NOT_TRANSLATED
    )


def untranslated_in_python(source: str, path: str = "x.py") -> list[str]:
    """Vietnamese string literals that are not the first argument of a marker, a docstring, a
    log line, an Enum's stored value, or on a line saying `# i18n: not translated (why)`."""
    tree = ast.parse(source)
    lines = source.splitlines()
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    docstrings = {
        node.body[0].value
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }

    def excused(node) -> bool:
        if node in docstrings:
            return True
        first = max(node.lineno - 2, 0)
        if any(PRAGMA in line for line in lines[first : node.end_lineno]):
            return True
        child, function = node, None
        while child in parents:
            parent = parents[child]
            if isinstance(parent, ast.Call):
                callee = parent.func
                name = getattr(callee, "id", None) or getattr(callee, "attr", None)
                if name in MARKERS and parent.args and parent.args[0] is child:
                    return True
                if isinstance(callee, ast.Attribute) and getattr(callee.value, "id", "") in (
                    "log",
                    "logger",
                    "logging",
                ):
                    return True
            if isinstance(parent, ast.ClassDef) and any(
                "Enum" in (getattr(base, "id", None) or getattr(base, "attr", ""))
                for base in parent.bases
            ):
                return True
            if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)) and function is None:
                function = parent.name
            child = parent
        # The outermost function names the allow-list entry.
        return _allowed(path, function)

    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value for v in node.values if isinstance(v, ast.Constant))
            if VIETNAMESE.search(text) and not excused(node):
                found.append(f"{path}:{node.lineno}: f-string {text[:60]!r} (use _(…, name=…))")
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and VIETNAMESE.search(node.value)
            and not isinstance(parents.get(node), ast.JoinedStr)
            and not excused(node)
        ):
            found.append(f"{path}:{node.lineno}: {node.value[:60]!r}")
    return found


def test_the_python_check_sees_unmarked_literals():
    source = (
        "def f(x):\n"
        '    """Trả về."""\n'
        '    a = _("Đã lưu.")\n'
        '    b = "Chưa lưu."\n'
        '    c = f"Hộ {x}"\n'
        '    log.info("Đã gửi")\n'
        '    d = "mọi thiết bị"  # i18n: not translated (stored)\n'
    )
    found = untranslated_in_python(source)
    assert [line.split(":")[1] for line in found] == ["4", "5"]


def _python_sources() -> list[Path]:
    return sorted(
        path
        for folder in ("fieldkit", "pwa")
        for path in (ROOT / folder).rglob("*.py")
        if "migrations" not in path.parts
    )


def test_every_vietnamese_string_in_python_is_marked_or_allowed():
    offenders = []
    for path in _python_sources():
        relative = str(path.relative_to(ROOT))
        if relative in NOT_TRANSLATED:
            continue
        offenders += untranslated_in_python(path.read_text(), relative)
    assert offenders == []


def test_the_allow_list_names_things_that_exist():
    for entry in NOT_TRANSLATED:
        path, _sep, function = entry.partition(":")
        source = (ROOT / path).read_text()
        if function:
            assert f"def {function}(" in source, entry


# --- (c) the catalogue ---------------------------------------------------------------------


def _catalogue(path: Path):
    with path.open("rb") as file:
        return read_po(file)


def _msgids(catalogue) -> set[str]:
    return {
        message.id if isinstance(message.id, str) else message.id[0]
        for message in catalogue
        if message.id
    }


def test_the_checked_in_template_is_what_extraction_writes(tmp_path):
    """`make messages` was run after the last string changed."""
    fresh = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).parent / "pybabel"
    subprocess.run(
        [str(pybabel), "extract", "-F", "babel.cfg", "-k", "_l", "-k", "lazy_gettext"]
        + ["--no-location", "-o", str(fresh), "."],
        cwd=ROOT,
        check=True,
    )
    wanted, checked_in = _msgids(_catalogue(fresh)), _msgids(_catalogue(POT))
    assert sorted(wanted - checked_in) == [], "new strings: run `make messages`"
    assert sorted(checked_in - wanted) == [], "strings gone from the code: run `make messages`"


def test_english_has_every_string_of_the_template():
    assert sorted(_msgids(_catalogue(POT)) - _msgids(_catalogue(EN_PO))) == []


# The screens a volunteer uses at the door, the sign-in and account pages: fully translated,
# nothing fuzzy (a fuzzy guess is not shown, and a wrong one would mislead).
FIELD_SCREENS = (
    "pwa/templates/base.html",
    "pwa/templates/offline.html",
    "pwa/templates/outbox.html",
    "pwa/templates/error.html",
    "pwa/templates/households/",
    "pwa/templates/visits/",
    "pwa/templates/residents/",
    "pwa/templates/account/",
    "pwa/templates/auth/",
    "pwa/templates/_partials/",
    "pwa/navigation.py",
    "pwa/errors.py",
    "pwa/js_words.py",
    "pwa/routes/households.py",
    "pwa/routes/visits.py",
    "pwa/routes/account.py",
    "pwa/routes/auth.py",
    "pwa/routes/offline.py",
    "pwa/routes/sync.py",
    "fieldkit/vocab.py",
    "fieldkit/catalogue.py",
    "fieldkit/visits.py",
    "fieldkit/households.py",
    "fieldkit/forms.py",
    "fieldkit/sync.py",
    "fieldkit/passkeys.py",
    "fieldkit/sessions.py",
)


def test_the_field_screens_are_translated_into_english():
    missing = sorted(
        message.id
        for message in _catalogue(EN_PO)
        if message.id
        and any(path.startswith(FIELD_SCREENS) for path, _line in message.locations)
        and (not message.string or message.fuzzy)
    )
    assert missing == []


def test_translations_keep_their_placeholders():
    broken = [
        message.id
        for message in _catalogue(EN_PO)
        if message.id
        and message.string
        and set(re.findall(r"%\(\w+\)s", message.id))
        != set(re.findall(r"%\(\w+\)s", message.string))
    ]
    assert broken == []


def test_the_compiled_catalogue_is_the_checked_in_one():
    """The .mo is checked in (a fresh clone runs without a build step); it must say what the
    .po says — `make messages` compiles it."""
    with EN_MO.open("rb") as file:
        compiled = {m.id: m.string for m in read_mo(file) if m.id and m.string}
    written = {m.id: m.string for m in _catalogue(EN_PO) if m.id and m.string and not m.fuzzy}
    assert compiled == written


# --- the scripts' words ----------------------------------------------------------------------


def test_every_sentence_a_script_shows_is_listed_for_translation():
    from pwa.js_words import WORDS

    scripts = list((ROOT / "pwa" / "static").glob("*.js")) + list(
        (ROOT / "pwa" / "offline").glob("*.js")
    )
    used = {
        match
        for path in scripts
        for match in re.findall(r'\bt\("((?:[^"\\]|\\.)*)"', path.read_text())
    }
    assert sorted(used - set(WORDS)) == []
    assert sorted(set(WORDS) - used) == []


@pytest.mark.parametrize(
    "script",
    ["static/push.js", "static/passkeys.js", "static/scan.js", "static/share.js"]
    + ["static/imports.js", "static/prepare.js", "static/app.js", "offline/outbox-rules.js"]
    + ["offline/outbox.js"],
)
def test_scripts_say_every_vietnamese_sentence_through_t(script):
    """A script shows a Vietnamese sentence only through t("…"), which the page translates."""
    source = (ROOT / "pwa" / script).read_text()
    offenders = [
        line.strip()
        for line in source.splitlines()
        for literal in re.findall(r'"((?:[^"\\]|\\.)*)"', line.split("//")[0])
        if VIETNAMESE.search(literal) and f't("{literal}"' not in line
    ]
    assert offenders == []
