"""Bringing a commune's household lists in from Excel (issue 15; DESIGN.md §7).

A file becomes an ImportBatch in three steps, each its own transaction at the caller:

1. `start()` reads the file (fieldkit.spreadsheets), keeps its cells in the batch — without
   the columns Fieldkit never keeps — and computes the preview.
2. `configure()` takes the person's choices (a column mapping when a header was not
   recognised, the village of a file without a village column, the new villages to create)
   and computes the preview again. Nothing but the batch is written before step 3.
3. `run()` imports: under the commune's lock it reads the rows again, matches them against
   the register as it stands *now*, and writes everything in the caller's one transaction —
   all of it or, if anything fails, none of it. The batch's status "done" is written in that
   same transaction, so a batch never says done without its data, nor the reverse.

Both shapes of list are read: one row per household, or one row per person grouped into
households — by a household key column (mã hộ, STT hộ; or the head's name repeated), or, with
none, each person whose "Quan hệ với chủ hộ" is "Chủ hộ" starting a household. A key left
empty on the rows below (a merged cell in Excel) continues the household above.

Matching (re-import is safe): a row with a household code matches the household with that
code in the commune; without one, the household of the same village, house number and head
(accent-insensitive). A matched household is updated only where the file says something
else — a blank cell never erases what is known — and its people are matched by name; nothing
is ever deleted. The same file twice changes nothing the second time. A re-imported list is
the commune's word: where it differs from the register it wins (the preview lists each change
before anything is written).

What DESIGN.md §5 forbids is never stored: citizen-ID and password columns are dropped when the
file is read, a birth date is kept as its year, text holding a citizen-ID number, a password
or a formula refuses its row. Imported households and residents are approved (they come from
the commune), and their cached summaries and indicator shares are counted once per household
(fieldkit.households.refresh_summaries), which also changes each village's offline pack.

`undo()` takes a batch back while nothing has been recorded in the field on what it created.
"""

from __future__ import annotations

import functools
import math
import re
import uuid as uuidlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import delete, update
from sqlmodel import Session, col, func, select

from fieldkit import audit, communes, forms, households, merge, policy, spreadsheets
from fieldkit.errors import DomainError, Invalid, NotFound
from fieldkit.i18n import _
from fieldkit.models import (
    Assistance,
    Commune,
    DuplicateDismissal,
    Household,
    HouseholdEdit,
    HouseholdMerge,
    ImportBatch,
    ImportChange,
    ImportKind,
    ImportStatus,
    Member,
    Resident,
    ReviewState,
    Sex,
    Sticker,
    Target,
    Village,
    VillageProgress,
    Visit,
)
from fieldkit.reporting import indicators
from fieldkit.spreadsheets import LABELS, SpreadsheetError, Table
from fieldkit.text import fold as _fold
from fieldkit.vocab import RELATIONS

# Lists repeat the same words (relations, sexes, villages) on every row: fold each once.
fold = functools.lru_cache(maxsize=50_000)(_fold)

MAX_FILE_BYTES = 20 * 1024 * 1024
PREVIEW_REFUSED = 2000  # refused rows kept in the preview (all are counted)
PREVIEW_SAMPLES = 100  # changes and likely duplicates shown in the preview
STALE = timedelta(days=2)  # a preview not imported within this is given up (its cells dropped)

HOUSEHOLD_FIELDS = (
    "code",
    "group",
    "village",
    "label",
    "head_name",
    "name",
    "relation",
    "birth",
    "sex",
    "phone",
    "address_hint",
    "smartphones",
    "internet",
)
FORMULA = _("Ô này chứa công thức Excel (bắt đầu bằng dấu =). Hãy dán giá trị rồi tải lại.")


class UndoRefused(DomainError):
    """The batch cannot be taken back (something was recorded on what it created, or it is not
    a finished import). The message says why; nothing changed."""


# --- who imports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Importer:
    """Who brings a file in and where it may go: a leader their village, commune staff (and
    the console) the whole commune. `member` None is the console (`fieldkit import`)."""

    commune_id: int
    village_id: int | None
    member: Member | None
    may_create_villages: bool

    @classmethod
    def of(cls, member: Member) -> Importer:
        scope = policy.require_can_import(member)
        return cls(
            commune_id=scope.commune_id,
            village_id=scope.village_id,
            member=member,
            may_create_villages=policy.can_create_villages_on_import(member),
        )

    @classmethod
    def console(cls, commune_id: int) -> Importer:
        return cls(commune_id=commune_id, village_id=None, member=None, may_create_villages=True)

    @property
    def member_id(self) -> int | None:
        return self.member.id if self.member is not None else None


# --- cells ------------------------------------------------------------------------------------


def as_text(value: Any) -> str | None:
    """A cell as text: numbers without a spurious ".0", dates as written (ISO)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return _("Có") if value else _("Không")
    if isinstance(value, float):
        if math.isfinite(value) and value.is_integer():
            return str(int(value))
        return repr(value)
    return str(value)


def cell_text(
    c: forms.Collector,
    name: str,
    value: Any,
    *,
    label: str,
    max_length: int,
    required: bool = False,
    secrets: bool = False,
) -> str:
    """A text cell through fieldkit.forms' one text rule (the same for every stored string);
    a formula is refused, and with `secrets` a citizen-ID number or written-out password."""
    text = as_text(value)
    if text is not None and text.startswith("="):
        c.add(name, FORMULA)
        return ""

    def parse() -> str:
        cleaned = forms.text(text, required=required, label=label, max_length=max_length)
        return forms.refuse_secrets(cleaned) if secrets else cleaned

    return c.field(name, parse) or ""


def phone_of(c: forms.Collector, name: str, value: Any) -> str | None:
    """A Vietnamese phone number: digits, +84/84 as 0, and the leading 0 Excel drops from a
    number put back ("912345678" → "0912345678")."""
    if value is None or value == "":
        return None
    if isinstance(value, float) and math.isfinite(value):
        value = int(value)
    text = cell_text(c, name, value, label=_("số điện thoại"), max_length=40)
    if not text:
        return None
    digits = re.sub(r"[\s.\-()']", "", text)
    if re.fullmatch(r"\d+(\.\d+)?[eE]\+?\d+", text):  # "9.12345678E+8" from a CSV
        digits = str(int(float(text)))
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    if digits.isdigit() and not digits.startswith("0") and len(digits) in (9, 10):
        digits = "0" + digits
    if not (digits.isdigit() and 10 <= len(digits) <= 11):
        c.add(name, _("Số điện thoại không đúng (cần 10 chữ số, ví dụ 0912345678)."))
        return None
    return digits


_EXCEL_EPOCH = date(1899, 12, 30)
_DATE_TEXT = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})[/.\-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})")


def year_of(c: forms.Collector, name: str, value: Any, *, today: date) -> int | None:
    """A birth year from what lists hold: a year, a date (Excel date, serial number, or text
    such as 12/05/1968, 12-5-68, 05/1968, 1968-05-12). Only the year is kept (DESIGN.md §5)."""
    if value is None or value == "":
        return None
    year = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = int(value)
        if 1900 <= number <= today.year:
            year = number
        elif 0 < number < 80_000:  # an Excel serial date (days since 1899-12-30)
            year = (_EXCEL_EPOCH + timedelta(days=number)).year
    else:
        text = str(value).strip()
        if text.startswith("="):
            c.add(name, FORMULA)
            return None
        if match := _ISO.match(text):
            year = int(match[1])
        elif match := _DATE_TEXT.match(text):
            year = int(match[3])
            if year < 100:  # two digits: this century when not in the future
                year += 2000 if 2000 + year <= today.year else 1900
        elif match := _MONTH_YEAR.match(text):
            year = int(match[2])
        elif re.fullmatch(r"\d{4}", text):
            year = int(text)
    if year is None:
        c.add(name, _("Năm sinh không đọc được (ví dụ 1968 hoặc 12/05/1968)."))
        return None
    if not 1900 <= year <= today.year:
        c.add(name, _("Năm sinh phải từ 1900 đến %(year)s.", year=today.year))
        return None
    return year


_SEXES = {
    "nam": Sex.male,
    "m": Sex.male,
    "male": Sex.male,
    "trai": Sex.male,
    "nu": Sex.female,
    "f": Sex.female,
    "female": Sex.female,
    "gai": Sex.female,
}


def sex_of(c: forms.Collector, name: str, value: Any) -> Sex | None:
    text = fold(as_text(value))
    if not text:
        return None
    if text in _SEXES:
        return _SEXES[text]
    c.add(name, _("Giới tính ghi Nam hoặc Nữ."))
    return None


_YES = {"co", "x", "1", "yes", "true", "co wifi", "co mang", "co internet", "v"}
_NO = {"khong", "0", "no", "false", "chua", "chua co", "k", "ko"}


def yes_no_of(c: forms.Collector, name: str, value: Any) -> bool | None:
    text = fold(as_text(value))
    if not text:
        return None
    if text in _YES:
        return True
    if text in _NO:
        return False
    c.add(name, _("Internet tại nhà ghi Có hoặc Không."))
    return None


def count_of(c: forms.Collector, name: str, value: Any) -> int | None:
    text = as_text(value)
    if text is None or not text.strip():
        return None
    match = re.match(r"^\s*(\d{1,3})\b", text)
    if match is None or int(match[1]) > 30:
        c.add(name, _("Số điện thoại thông minh ghi một số từ 0 đến 30."))
        return None
    return int(match[1])


_RELATIONS: dict[str, str] = {fold(word): word for word in RELATIONS}
_RELATIONS.update(
    {
        "ch": _("Chủ hộ"),
        "chu ho gia dinh": _("Chủ hộ"),
        "con trai": "Con",
        "con gai": "Con",
        "con de": "Con",
        "cha": _("Bố"),
        "ba": _("Bố"),
        "ma": _("Mẹ"),
        "chau noi": _("Cháu"),
        "chau ngoai": _("Cháu"),
        "vo chu ho": _("Vợ"),
        "chong chu ho": _("Chồng"),
    }
)


def relation_of(c: forms.Collector, name: str, value: Any) -> str:
    """ "Quan hệ với chủ hộ" in the app's words where it is one of them, else as written."""
    text = cell_text(c, name, value, label=_("quan hệ với chủ hộ"), max_length=40)
    return _RELATIONS.get(fold(text), text)


def is_head(relation: str) -> bool:
    return relation == _("Chủ hộ")


# --- mapping ----------------------------------------------------------------------------------


def guess_mapping(headers: Sequence[str], kind: ImportKind) -> list[str]:
    """Per column the field it holds ("" to leave it out): the first column naming a field
    wins."""
    allowed = HOUSEHOLD_FIELDS if kind is ImportKind.households else TEAM_FIELDS
    mapping: list[str] = []
    seen: set[str] = set()
    for header in headers:
        name = spreadsheets.recognise(header)
        if kind is ImportKind.team and name == "head_name":
            name = None
        if name is not None and name in allowed and name not in seen:
            mapping.append(name)
            seen.add(name)
        else:
            mapping.append("")
    return mapping


def mapping_of(batch: ImportBatch) -> list[str]:
    headers = batch.rows.get("headers") or []
    mapping = batch.options.get("mapping")
    if not isinstance(mapping, list) or len(mapping) != len(headers):
        mapping = guess_mapping(headers, batch.kind)
    return [str(name) for name in mapping]


def mapping_problems(mapping: Sequence[str], kind: ImportKind) -> list[str]:
    """What the mapping lacks for the file to be read at all, as sentences."""
    present = set(mapping)
    if kind is ImportKind.team:
        missing = [name for name in ("name", "phone") if name not in present]
        return [_("Chưa có cột %(value)s.", value=LABELS[name]) for name in missing]
    if not present & {"name", "head_name"}:
        return [_("Chưa có cột Họ và tên (hoặc Họ tên chủ hộ).")]
    return []


def field_choices(kind: ImportKind) -> list[tuple[str, str]]:
    """(field, Vietnamese label) for the mapping step's drop-downs."""
    fields = HOUSEHOLD_FIELDS if kind is ImportKind.households else TEAM_FIELDS
    return [("", _("— Bỏ qua cột này —"))] + [(name, LABELS[name]) for name in fields]


# --- reading households -----------------------------------------------------------------------


@dataclass
class PersonRow:
    line: int
    name: str
    birth_year: int | None = None
    sex: Sex | None = None
    relation: str = ""
    phone: str | None = None


@dataclass
class HouseholdRow:
    """One household of the file: its first line, every line it came from, its basics (None
    where the file's column is missing or its cell blank) and its people."""

    line: int
    lines: list[int]
    code: str | None
    village: str | None
    label: str
    head_name: str
    address_hint: str | None
    smartphones: int | None
    internet: bool | None
    people: list[PersonRow] = field(default_factory=list)


@dataclass
class Parsed:
    households: list[HouseholdRow]
    refused: list[tuple[int, str]]
    notes: list[str]
    shape: str  # "household" or "person"
    grouping: str  # how people were grouped, in words
    has_label: bool


class _Cells:
    """One row's cells by field name."""

    def __init__(self, mapping: Sequence[str], cells: Sequence[Any]):
        self.values = {name: cells[i] for i, name in enumerate(mapping) if name and i < len(cells)}

    def get(self, name: str) -> Any:
        value = self.values.get(name)
        return None if value == "" else value


def _refusal(line: int, c: forms.Collector) -> tuple[int, str]:
    return line, " ".join(dict.fromkeys(c.errors.values()))


def _person(c: forms.Collector, row: _Cells, line: int, *, name_field: str, today: date):
    return PersonRow(
        line=line,
        name=cell_text(
            c, name_field, row.get(name_field), label=_("họ và tên"), max_length=100, required=True
        ),
        birth_year=year_of(c, "birth", row.get("birth"), today=today),
        sex=sex_of(c, "sex", row.get("sex")),
        relation=relation_of(c, "relation", row.get("relation")),
        phone=phone_of(c, "phone", row.get("phone")),
    )


def _basics(c: forms.Collector, row: _Cells, head_name: str) -> dict[str, Any]:
    return dict(
        code=cell_text(c, "code", row.get("code"), label=_("mã hộ"), max_length=40) or None,
        village=cell_text(c, "village", row.get("village"), label=_("thôn"), max_length=80) or None,
        label=cell_text(c, "label", row.get("label"), label=_("số nhà"), max_length=60),
        head_name=head_name,
        address_hint=cell_text(
            c,
            "address_hint",
            row.get("address_hint"),
            label=_("địa chỉ"),
            max_length=200,
            secrets=True,
        )
        or None,
        smartphones=count_of(c, "smartphones", row.get("smartphones")),
        internet=yes_no_of(c, "internet", row.get("internet")),
    )


def parse_households(
    table: Table,
    mapping: Sequence[str],
    *,
    today: date,
    progress: Callable[[int], None] | None = None,
) -> Parsed:
    """The file's households (rows checked one by one; each refused row with its reasons)."""
    present = set(mapping)
    person = "name" in present and bool(present & {"relation", "group", "code", "head_name"})
    if "head_name" in present and "name" not in present:
        person = False
    refused: list[tuple[int, str]] = []
    notes: list[str] = []
    found: list[HouseholdRow] = []
    name_field = "name" if person else ("head_name" if "head_name" in present else "name")
    rows = _without_footer(table.rows, mapping, name_field, notes)
    if not person:
        for index, (line, cells) in enumerate(rows):
            if progress and index % 1000 == 0:
                progress(index)
            row = _Cells(mapping, cells)
            c = forms.Collector()
            head = _person(c, row, line, name_field=name_field, today=today)
            head.relation = _("Chủ hộ")
            basics = _basics(c, row, head.name)
            if c.errors:
                refused.append(_refusal(line, c))
                continue
            found.append(HouseholdRow(line=line, lines=[line], people=[head], **basics))
        return Parsed(
            found,
            refused,
            notes,
            "household",
            _("Mỗi dòng là một hộ; chủ hộ được ghi là nhân khẩu đầu tiên của hộ."),
            "label" in present,
        )

    key_field = next((name for name in ("code", "group", "head_name") if name in present), None)
    grouping = {
        "code": _("Mỗi dòng là một người; người cùng Mã hộ thuộc một hộ."),
        "group": _("Mỗi dòng là một người; người cùng số thứ tự hộ thuộc một hộ."),
        "head_name": _("Mỗi dòng là một người; người cùng tên chủ hộ thuộc một hộ."),
        None: _("Mỗi dòng là một người; mỗi người ghi “Chủ hộ” bắt đầu một hộ mới."),
    }[key_field]
    groups: dict[str, HouseholdRow] = {}
    heads: dict[str, int] = {}
    current: HouseholdRow | None = None
    current_key: str | None = None
    for index, (line, cells) in enumerate(rows):
        if progress and index % 1000 == 0:
            progress(index)
        row = _Cells(mapping, cells)
        c = forms.Collector()
        one = _person(c, row, line, name_field="name", today=today)
        key = fold(as_text(row.get(key_field)) or "") or None if key_field else None
        if key is None:
            # No key on this row: a "Chủ hộ" starts a household; anyone else continues the
            # one above (a merged cell in Excel, or a key column left empty).
            key = f"line:{line}" if is_head(one.relation) else current_key
        if key is None:
            c.add("group", _("Dòng này chưa thuộc hộ nào: phía trên chưa có dòng “Chủ hộ”."))
        if c.errors:
            refused.append(_refusal(line, c))
            if is_head(one.relation) and key is not None:
                heads[key] = -line  # the household's head was refused: so is the household
            current_key = key
            continue
        assert key is not None  # refused above otherwise
        household = groups.get(key)
        if household is None:
            basics_c = forms.Collector()
            basics = _basics(basics_c, row, "")
            if basics_c.errors:
                refused.append(_refusal(line, basics_c))
                heads[key] = -line
                current_key = key
                continue
            household = HouseholdRow(line=line, lines=[], **basics)
            groups[key] = household
            found.append(household)
        else:
            _fill_blanks(household, row)
        if is_head(one.relation):
            if heads.get(key, 0) > 0:
                refused.append(
                    (
                        line,
                        _(
                            "Hộ này đã có chủ hộ ở dòng %(value)s; mỗi hộ một chủ hộ.",
                            value=heads[key],
                        ),
                    )
                )
                current_key = key
                continue
            heads.setdefault(key, line)
        household.lines.append(line)
        household.people.append(one)
        current = household
        current_key = key
    del current
    kept = []
    for key, household in groups.items():
        if heads.get(key, 0) < 0:
            refused.extend(
                (
                    line,
                    _(
                        "Chủ hộ ở dòng %(value)s bị từ chối nên cả hộ chưa được đưa vào.",
                        value=-heads[key],
                    ),
                )
                for line in household.lines
            )
            continue
        if not household.people:
            continue
        head = next((p for p in household.people if is_head(p.relation)), None)
        if head is None:
            head = household.people[0]
            notes.append(
                _(
                    "Dòng %(line)s: hộ không có ai ghi “Chủ hộ”; lấy %(name)s làm chủ hộ.",
                    line=head.line,
                    name=head.name,
                )
            )
        household.head_name = head.name
        household.people.sort(key=lambda p: (not is_head(p.relation), p.line))
        kept.append(household)
    refused.sort()
    return Parsed(kept, refused, notes, "person", grouping, "label" in present)


def _without_footer(rows, mapping: Sequence[str], name_field: str, notes: list[str]) -> list:
    """The rows down to the last one that is not footer-like: the sheet's footer (a signature
    "Người lập biểu", "Tổng cộng: 120 hộ") is one or two cells without a person's name, or a
    lone cell; it is not a household. A row with more in it is a row, refused if wrong."""
    column = list(mapping).index(name_field) if name_field in mapping else None

    def footer(cells) -> bool:
        filled = sum(1 for cell in cells if cell not in (None, ""))
        named = column is not None and column < len(cells) and cells[column] not in (None, "")
        return filled <= 1 or (filled <= 2 and not named)

    last = max((i for i, (_unused, cells) in enumerate(rows) if not footer(cells)), default=-1)
    if last < len(rows) - 1:
        notes.append(
            _(
                "Bỏ qua %(value)s dòng cuối chỉ có chữ ký, ghi chú hoặc tổng cộng.",
                value=len(rows) - 1 - last,
            )
        )
    return list(rows[: last + 1])


def _fill_blanks(household: HouseholdRow, row: _Cells) -> None:
    """Household columns written on a later row of the household (not on its first)."""
    missing = [
        name for name in ("code", "village", "address_hint") if getattr(household, name) is None
    ]
    missing += [name for name in ("smartphones", "internet") if getattr(household, name) is None]
    if not household.label:
        missing.append("label")
    if not any(row.get(name) is not None for name in missing):
        return  # the usual case: the household's cells are merged, empty below its first row
    c = forms.Collector()
    basics = _basics(c, row, "")
    for name in ("code", "village", "address_hint", "smartphones", "internet"):
        if getattr(household, name) is None and basics[name] is not None and name not in c.errors:
            setattr(household, name, basics[name])
    if not household.label and basics["label"] and "label" not in c.errors:
        household.label = basics["label"]


# --- matching against the register -----------------------------------------------------------

_KINDS = re.compile(r"^(to dan pho|khu pho|khu dan cu|thon|xom|tdp|to|ap|ban|lang|khu|doi)\s+")


def village_key(name: str | None) -> str:
    """A village name without its kind ("Thôn Đông", "thon dong", "Đông" → "dong")."""
    return _KINDS.sub("", fold(name))


class Villages:
    """The commune's villages, found by the names lists give them."""

    def __init__(self, villages: Sequence[Village]):
        self.by_id = {v.id: v for v in villages}
        self.exact = {v.name.casefold(): v for v in villages}
        self.folded: dict[str, list[Village]] = defaultdict(list)
        self.core: dict[str, list[Village]] = defaultdict(list)
        for v in villages:
            self.folded[fold(v.name)].append(v)
            self.core[village_key(v.name)].append(v)

    def find(self, name: str) -> Village | None:
        if name.casefold() in self.exact:
            return self.exact[name.casefold()]
        for index, key in ((self.folded, fold(name)), (self.core, village_key(name))):
            if len(index.get(key, [])) == 1:
                return index[key][0]
        return None


@dataclass
class PlannedPerson:
    row: PersonRow
    resident_id: int | None  # None: a new resident
    changes: dict[str, tuple[Any, Any]]


@dataclass
class PlannedHousehold:
    row: HouseholdRow
    action: str  # "new", "update", "same"
    household_id: int | None
    village_id: int | None
    new_village: str | None  # key of a village to create first
    changes: dict[str, tuple[Any, Any]]
    people: list[PlannedPerson]
    similar: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass
class Plan:
    households: list[PlannedHousehold]
    refused: list[tuple[int, str]]
    notes: list[str]
    new_villages: dict[str, dict[str, Any]]  # key → {"name", "households", "create"}
    parsed: Parsed

    def counts(self) -> dict[str, int]:
        by_action: defaultdict[str, int] = defaultdict(int)
        for planned in self.households:
            by_action[planned.action] += 1
        return {
            "households_new": by_action["new"],
            "households_updated": by_action["update"],
            "households_unchanged": by_action["same"],
            "rows_refused": len(self.refused),
            "residents_new": sum(
                1 for p in self.households for person in p.people if person.resident_id is None
            ),
            "residents_updated": sum(
                1
                for p in self.households
                for person in p.people
                if person.resident_id is not None and person.changes
            ),
            "villages_new": sum(1 for v in self.new_villages.values() if v["create"]),
        }


BASIC_LABELS = {
    "label": _("Số nhà"),
    "head_name": _("Chủ hộ"),
    "address_hint": _("Địa chỉ"),
    "smartphones": _("Điện thoại thông minh"),
    "internet_at_home": _("Internet tại nhà"),
    "code": _("Mã hộ"),
    "name": _("Họ tên"),
    "birth_year": _("Năm sinh"),
    "sex": _("Giới tính"),
    "relation": _("Quan hệ với chủ hộ"),
    "phone": _("Số điện thoại"),
}


def _changes(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Fields the file sets to something else; a blank (None) in the file changes nothing."""
    return {
        name: (current[name], value)
        for name, value in wanted.items()
        if value is not None and value != current[name]
    }


def plan_households(
    session: Session,
    parsed: Parsed,
    importer: Importer,
    *,
    default_village_id: int | None,
    create_villages: set[str],
) -> Plan:
    """What importing the parsed file would do to the register as it stands. Writes nothing."""
    villages = Villages(communes.villages_of(session, importer.commune_id))
    default = villages.by_id.get(default_village_id) if default_village_id else None
    if importer.village_id is not None:
        default = villages.by_id.get(importer.village_id)
    village_ids = list(villages.by_id)
    existing = (
        session.execute(
            sa.select(
                col(Household.id),
                col(Household.village_id),
                col(Household.label),
                col(Household.head_name),
                col(Household.address_hint),
                col(Household.smartphones),
                col(Household.internet_at_home),
                col(Household.code),
                col(Household.review_state),
                col(Household.merged_into_id),
                col(Household.erased_at),
            ).where(col(Household.village_id).in_(village_ids))
        ).all()
        if village_ids
        else []
    )
    rows_by_id = {row.id: row for row in existing}
    by_code = {row.code: row for row in existing if row.code}
    # Keyed by (village id or a new village's key, house, head) as `key` below.
    by_key: dict[tuple[int | str | None, str, str], list] = defaultdict(list)
    by_house: dict[tuple[int | None, str], list[tuple[int, str, str]]] = defaultdict(list)
    for row in existing:
        if row.review_state is ReviewState.rejected or row.erased_at is not None:
            continue
        house = merge.house_key(row.label)
        by_key[(row.village_id, house, merge.name_key(row.head_name))].append(row)
        by_house[(row.village_id, house)].append((row.id, row.label, row.head_name))

    refused = list(parsed.refused)
    notes = list(parsed.notes)
    new_villages: dict[str, dict[str, Any]] = {}
    seen_codes: dict[str, int] = {}
    seen_keys: dict[tuple, int] = {}
    matched: list[tuple[HouseholdRow, Any, Village | None, str | None]] = []

    def refuse(household: HouseholdRow, reason: str) -> None:
        refused.extend((line, reason) for line in household.lines)

    for household in parsed.households:
        village, new_key = None, None
        if household.village:
            village = villages.find(household.village)
            if village is None:
                new_key = village_key(household.village) or fold(household.village)
        elif default is not None:
            village = default
        else:
            refuse(household, _("Thiếu thôn: ghi thôn ở cột Thôn, hoặc chọn thôn cho cả tệp."))
            continue
        if importer.village_id is not None and (
            village is None or village.id != importer.village_id
        ):
            name = default.name if default else _("của mình")
            refuse(household, _("Tổ trưởng chỉ đưa vào hộ của thôn mình (%(name)s).", name=name))
            continue
        if new_key is not None:
            entry = new_villages.setdefault(
                new_key,
                {
                    "name": household.village,
                    "households": 0,
                    "create": importer.may_create_villages and new_key in create_villages,
                },
            )
            entry["households"] += 1
            if not entry["create"]:
                refuse(
                    household,
                    _("Thôn “%(village)s” chưa có trong xã", village=household.village)
                    + (
                        _(" (chọn “Tạo thôn này” ở trên).")
                        if importer.may_create_villages
                        else _("; công chức xã cần thêm thôn này trước.")
                    ),
                )
                continue
        village_id = village.id if village else None
        key = (village_id or new_key, merge.house_key(household.label), fold(household.head_name))
        if household.code:
            if household.code in seen_codes:
                refuse(
                    household,
                    _(
                        "Mã hộ %(code)s trùng với dòng %(value)s.",
                        code=household.code,
                        value=seen_codes[household.code],
                    ),
                )
                continue
            seen_codes[household.code] = household.line
        elif key in seen_keys:
            refuse(
                household,
                _(
                    (
                        "Trùng với hộ ở dòng %(value)s (cùng thôn, số nhà và chủ hộ). Thêm cột "
                        "Mã hộ nếu đây là hai hộ khác nhau."
                    ),
                    value=seen_keys[key],
                ),
            )
            continue
        seen_keys.setdefault(key, household.line)
        target = None
        if household.code and household.code in by_code:
            target = by_code[household.code]
            hops = 0
            while target.merged_into_id is not None and hops < policy.MAX_MERGE_HOPS:
                target = rows_by_id[target.merged_into_id]
                hops += 1
            if target.erased_at is not None:
                refuse(
                    household,
                    _(
                        (
                            "Hộ mã %(code)s đã được xóa dữ liệu cá nhân theo yêu cầu; không đưa "
                            "vào lại."
                        ),
                        code=household.code,
                    ),
                )
                continue
            if target.village_id != village_id:
                where = villages.by_id[target.village_id].name
                refuse(
                    household,
                    _(
                        "Mã hộ %(code)s là của một hộ ở %(where)s, không phải %(value)s.",
                        code=household.code,
                        where=where,
                        value=village.name if village else household.village,
                    ),
                )
                continue
        elif village_id is not None:
            candidates = [
                row
                for row in by_key.get(key, [])
                if not (household.code and row.code and row.code != household.code)
            ]
            if len(candidates) > 1:
                refuse(
                    household,
                    _(
                        (
                            "Trong thôn có %(count)s hộ cùng số nhà và chủ hộ này; thêm cột Mã "
                            "hộ hoặc gộp các hộ trùng trước."
                        ),
                        count=len(candidates),
                    ),
                )
                continue
            target = candidates[0] if candidates else None
        matched.append((household, target, village, new_key))

    matched_ids = [target.id for _row, target, _village, _key in matched if target is not None]
    residents: dict[int, list[Resident]] = defaultdict(list)
    for start in range(0, len(matched_ids), households.CHUNK):
        for resident in session.exec(
            select(Resident)
            .where(
                col(Resident.household_id).in_(matched_ids[start : start + households.CHUNK]),
                Resident.review_state != ReviewState.rejected,
            )
            .order_by(col(Resident.id))
        ).all():
            residents[resident.household_id].append(resident)

    planned = []
    for household, target, village, new_key in matched:
        wanted = {
            "label": household.label or None,
            "head_name": household.head_name,
            "address_hint": household.address_hint,
            "smartphones": household.smartphones,
            "internet_at_home": household.internet,
            "code": household.code,
        }
        if target is None:
            planned.append(
                PlannedHousehold(
                    row=household,
                    action="new",
                    household_id=None,
                    village_id=village.id if village else None,
                    new_village=new_key,
                    changes={},
                    people=[PlannedPerson(person, None, {}) for person in household.people],
                    similar=merge.similar_in(
                        by_house.get((village.id, merge.house_key(household.label)), [])
                        if village
                        else [],
                        household.label,
                        household.head_name,
                    ),
                )
            )
            continue
        current = {name: getattr(target, name) for name in wanted}
        changes = _changes(current, wanted)
        people = _plan_people(household.people, residents.get(target.id, []))
        action = (
            "update"
            if changes or any(p.resident_id is None or p.changes for p in people)
            else "same"
        )
        planned.append(
            PlannedHousehold(
                row=household,
                action=action,
                household_id=target.id,
                village_id=target.village_id,
                new_village=None,
                changes=changes,
                people=people,
            )
        )
    refused.sort()
    return Plan(planned, refused, notes, new_villages, parsed)


def _plan_people(people: Sequence[PersonRow], known: Sequence[Resident]) -> list[PlannedPerson]:
    """The file's people of a household against its residents: by name (and birth year when
    both have one); the file's head also takes the place of the household's recorded head."""
    free = list(known)
    planned = []
    for person in people:
        match = next(
            (
                resident
                for resident in free
                if merge.name_key(resident.name) == merge.name_key(person.name)
                and (
                    resident.birth_year is None
                    or person.birth_year is None
                    or resident.birth_year == person.birth_year
                )
            ),
            None,
        )
        if match is None and is_head(person.relation):
            heads = [resident for resident in free if is_head(resident.relation)]
            if len(heads) == 1:
                match = heads[0]  # the head's name corrected in the file
        if match is None:
            planned.append(PlannedPerson(person, None, {}))
            continue
        free.remove(match)
        current = {
            "name": match.name,
            "birth_year": match.birth_year,
            "sex": match.sex,
            "relation": match.relation,
            "phone": match.phone,
        }
        wanted = {
            "name": person.name,
            "birth_year": person.birth_year,
            "sex": person.sex,
            "relation": person.relation or None,
            "phone": person.phone,
        }
        planned.append(PlannedPerson(person, match.id, _changes(current, wanted)))
    return planned


# --- the batch: start, configure, preview -----------------------------------------------------


def _today(now: datetime) -> date:
    return forms.local_today(now)


def start(
    session: Session,
    importer: Importer,
    *,
    kind: ImportKind,
    file_name: str,
    data: bytes,
    now: datetime,
    village_id: int | None = None,
) -> ImportBatch:
    """Read an uploaded file into a new batch and compute its preview. Invalid when the file
    cannot be read (the message says why). Caller commits."""
    if len(data) > MAX_FILE_BYTES:
        raise Invalid({"file": _("Tệp lớn quá 20 MB. Hãy chia thành nhiều tệp.")})
    try:
        table = spreadsheets.read(data, file_name)
    except SpreadsheetError as error:
        raise Invalid({"file": str(error)}) from None
    c = forms.Collector()
    name = c.field(
        "file", lambda: forms.text(file_name or _("tệp"), required=False, label=_("tên tệp"))
    )
    batch = ImportBatch(
        commune_id=importer.commune_id,
        village_id=importer.village_id,
        kind=kind,
        status=ImportStatus.previewed,
        file_name=(name or _("tệp"))[:200],
        created_by_id=importer.member_id,
        created_at=now,
        rows=table.as_json(),
        total_rows=len(table.rows),
        options={"mapping": guess_mapping(table.headers, kind)},
    )
    if village_id is not None:
        batch.options = {**batch.options, "village_id": village_id}
    session.add(batch)
    session.flush()
    refresh_preview(session, batch, importer, now=now)
    return batch


def configure(
    session: Session,
    batch: ImportBatch,
    importer: Importer,
    *,
    mapping: Sequence[str] | None = None,
    village_id: int | None = None,
    create_villages: Sequence[str] | None = None,
    now: datetime,
) -> None:
    """The person's choices for a batch still in preview; the preview is computed again."""
    _require_preview(batch)
    options = dict(batch.options)
    if mapping is not None:
        allowed = {name for name, _unused in field_choices(batch.kind)}
        headers = batch.rows.get("headers") or []
        cleaned = [name if name in allowed else "" for name in list(mapping)[: len(headers)]]
        cleaned += [""] * (len(headers) - len(cleaned))
        taken: set[str] = set()
        for index, name in enumerate(cleaned):
            if name in taken:
                raise Invalid(
                    {"mapping": _("Hai cột cùng được chọn là “%(value)s”.", value=LABELS[name])}
                )
            if name:
                taken.add(name)
            cleaned[index] = name
        options["mapping"] = cleaned
    if village_id is not None:
        village = session.get(Village, village_id)
        if village is None or village.commune_id != importer.commune_id:
            raise Invalid({"village_id": _("Thôn này không thuộc xã.")})
        if importer.village_id is not None and village.id != importer.village_id:
            raise Invalid({"village_id": _("Tổ trưởng chỉ đưa vào hộ của thôn mình.")})
        options["village_id"] = village.id
    if create_villages is not None:
        options["create_villages"] = sorted({str(key) for key in create_villages})[:200]
    batch.options = options
    session.add(batch)
    refresh_preview(session, batch, importer, now=now)


def _require_preview(batch: ImportBatch) -> None:
    if batch.status not in (ImportStatus.previewed, ImportStatus.failed) or not batch.rows:
        raise Invalid(
            {"form": _("Đợt này không còn ở bước xem trước. Hãy tải tệp lên lại nếu cần.")}
        )


def refresh_preview(session: Session, batch: ImportBatch, importer: Importer, *, now) -> None:
    """Compute what the batch would do and keep it in `batch.preview`. Writes nothing else."""
    if batch.kind is ImportKind.team:
        from fieldkit import roster

        batch.preview = roster.preview(session, batch, importer, now=now)
    else:
        plan = _plan_batch(session, batch, importer, now=now)
        batch.preview = _preview_json(batch, plan) if plan is not None else _mapping_only(batch)
    session.add(batch)


def _mapping_only(batch: ImportBatch) -> dict[str, Any]:
    mapping = mapping_of(batch)
    return {
        "problems": mapping_problems(mapping, batch.kind),
        "counts": {},
        "dropped": _dropped(batch),
    }


def _plan_batch(
    session: Session,
    batch: ImportBatch,
    importer: Importer,
    *,
    now: datetime,
    progress: Callable[[int], None] | None = None,
) -> Plan | None:
    mapping = mapping_of(batch)
    if mapping_problems(mapping, batch.kind):
        return None
    table = Table.from_json(batch.rows)
    parsed = parse_households(table, mapping, today=_today(now), progress=progress)
    return plan_households(
        session,
        parsed,
        importer,
        default_village_id=batch.options.get("village_id"),
        create_villages=set(batch.options.get("create_villages") or []),
    )


def _dropped(batch: ImportBatch) -> list[dict[str, str]]:
    why = {
        "citizen_id": _(
            "Không lưu số CCCD/CMND (ứng dụng không cần; nếu có chỉ được giữ 4 số "
            "cuối). Cột này đã bị bỏ, không được lưu."
        ),
        "secret": _(
            "Không bao giờ lưu mật khẩu hay mã OTP của người dân. Cột này đã bị bỏ, không "
            "được lưu — hãy xóa cột này khỏi tệp gốc và đừng chia sẻ tệp."
        ),
    }
    return [
        {"header": header, "field": name, "why": why.get(name, "")}
        for header, name in batch.rows.get("dropped") or []
    ]


def _fmt(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if value is True:
        return _("Có")
    if value is False:
        return _("Không")
    if isinstance(value, Sex):
        return {"male": "Nam", "female": _("Nữ")}[value.value]
    return str(value)


def _preview_json(batch: ImportBatch, plan: Plan) -> dict[str, Any]:
    updates: list[dict[str, Any]] = []
    for planned in plan.households:
        if planned.action != "update" or len(updates) >= PREVIEW_SAMPLES:
            continue
        lines = [
            [BASIC_LABELS[name], _fmt(before), _fmt(after)]
            for name, (before, after) in planned.changes.items()
        ]
        for person in planned.people:
            if person.resident_id is None:
                lines.append([_("Thêm nhân khẩu"), "", person.row.name])
            for name, (before, after) in person.changes.items():
                lines.append(
                    [f"{person.row.name}: {BASIC_LABELS[name]}", _fmt(before), _fmt(after)]
                )
        updates.append(
            {
                "line": planned.row.line,
                "label": planned.row.label,
                "head": planned.row.head_name,
                "household_id": planned.household_id,
                "changes": lines,
            }
        )
    similar = [
        {
            "line": planned.row.line,
            "label": planned.row.label,
            "head": planned.row.head_name,
            "like": [[hid, label, head] for hid, label, head in planned.similar[:3]],
        }
        for planned in plan.households
        if planned.action == "new" and planned.similar
    ]
    notes = list(plan.notes)
    if not plan.parsed.has_label:
        notes.insert(0, _("Tệp không có cột Số nhà: các hộ được ghi không có số nhà."))
    return {
        "counts": plan.counts(),
        "shape": plan.parsed.shape,
        "grouping": plan.parsed.grouping,
        "refused": [[line, reason] for line, reason in plan.refused[:PREVIEW_REFUSED]],
        "refused_total": len(plan.refused),
        "notes": notes[:PREVIEW_SAMPLES],
        "dropped": _dropped(batch),
        "new_villages": [{"key": key, **entry} for key, entry in sorted(plan.new_villages.items())],
        "updates": updates,
        "similar": similar[:PREVIEW_SAMPLES],
        "similar_total": len(similar),
        "problems": [],
    }


def refused_rows(session: Session, batch: ImportBatch, importer: Importer, *, now) -> list:
    """Every refused row of the batch (the preview keeps the first PREVIEW_REFUSED)."""
    if batch.kind is ImportKind.team or not batch.rows:
        return [tuple(row) for row in batch.preview.get("refused") or []]
    plan = _plan_batch(session, batch, importer, now=now)
    return plan.refused if plan is not None else []


# --- the import itself ------------------------------------------------------------------------


# A batch queued this long ago and still not done was cut off (the server restarted): its
# transaction never committed, so nothing of it was written and it may be started again.
ABANDONED = timedelta(minutes=15)


def is_abandoned(batch: ImportBatch, now: datetime) -> bool:
    return (
        batch.status in (ImportStatus.queued, ImportStatus.running)
        and batch.started_at is not None
        and batch.started_at < now - ABANDONED
    )


def claim(session: Session, batch: ImportBatch, *, now: datetime) -> bool:
    """Mark a previewed (or failed, or abandoned) batch queued, once: of two clicks on "Đưa
    vào", one wins. True when this call claimed it. Caller commits."""
    marked = session.exec(
        update(ImportBatch)
        .where(
            col(ImportBatch.id) == batch.id,
            col(ImportBatch.status).in_([ImportStatus.previewed, ImportStatus.failed])
            | (
                col(ImportBatch.status).in_([ImportStatus.queued, ImportStatus.running])
                & (col(ImportBatch.started_at) < now - ABANDONED)
            ),
        )
        .values(status=ImportStatus.queued, started_at=now, error="")
    )
    session.expire(batch)
    return marked.rowcount == 1


def run(session: Session, batch_id: int, importer: Importer, *, now: datetime) -> ImportBatch:
    """Import a queued batch: everything in the caller's transaction, the batch's status
    "done" and its counts included — commit once and it all stands, roll back and none of it
    does. Raises Invalid (nothing to import: the mapping lacks a column) and NotFound."""
    # The first statement writes: on SQLite it takes the write lock before anything is read,
    # so what is matched below is what is written against.
    session.execute(
        update(ImportBatch)
        .where(col(ImportBatch.id) == batch_id)
        .values(status=ImportStatus.running)
    )
    batch = session.get(ImportBatch, batch_id)
    if batch is None or batch.commune_id != importer.commune_id:
        raise NotFound(_("Không tìm thấy đợt đưa dữ liệu này."))
    session.refresh(batch)
    communes.lock(session, importer.commune_id)
    if batch.kind is ImportKind.team:
        from fieldkit import roster

        counts = roster.run(session, batch, importer, now=now)
    else:
        plan = _plan_batch(session, batch, importer, now=now)
        if plan is None:
            raise Invalid({"mapping": " ".join(mapping_problems(mapping_of(batch), batch.kind))})
        counts = _apply(session, batch, plan, importer, now=now)
    batch.status = ImportStatus.done
    batch.counts = counts
    batch.finished_at = now
    batch.rows = {}  # the file's cells are not kept once imported
    session.add(batch)
    audit.record(
        session,
        action="import",
        now=now,
        actor=importer.member,
        commune_id=importer.commune_id,
        target_kind="import",
        target_id=batch.id,
        details={"file": batch.file_name, "kind": batch.kind.value, **counts},
    )
    return batch


def fail(session: Session, batch_id: int, message: str, *, now: datetime) -> None:
    """Record that a batch's import failed (after the caller rolled the import back)."""
    session.execute(
        update(ImportBatch)
        .where(
            col(ImportBatch.id) == batch_id,
            col(ImportBatch.status).in_([ImportStatus.queued, ImportStatus.running]),
        )
        .values(status=ImportStatus.failed, error=message[:1000], finished_at=now)
    )


def _apply(
    session: Session, batch: ImportBatch, plan: Plan, importer: Importer, *, now: datetime
) -> dict[str, int]:
    changes: list[dict[str, Any]] = []
    # By PlannedHousehold.new_village: set where its village_id is None.
    created_villages: dict[str | None, int] = {}
    commune = session.get(Commune, importer.commune_id)
    assert commune is not None  # the importer's own commune
    for key, entry in plan.new_villages.items():
        if not entry["create"]:
            continue
        village = communes.add_village(session, commune, entry["name"])
        assert village.id is not None  # add_village flushes
        created_villages[key] = village.id
        changes.append(_change(batch, "village", village.id, True, {}, {"name": village.name}))

    new = [p for p in plan.households if p.action == "new"]
    household_rows = [
        {
            "uuid": str(uuidlib.uuid4()),
            "village_id": p.village_id or created_villages[p.new_village],
            "label": p.row.label,
            "head_name": p.row.head_name,
            "address_hint": p.row.address_hint or "",
            "smartphones": p.row.smartphones,
            "internet_at_home": p.row.internet,
            "code": p.row.code,
            "import_batch_id": batch.id,
            "review_state": ReviewState.approved,
            "revision": 1,
            "created_at": now,
            # What refresh_summaries() would write (households.search_text, the same rule),
            # so it finds nothing to change for ten thousand new rows.
            "search_text": households.search_text(
                p.row.label,
                p.row.head_name,
                p.row.address_hint or "",
                [person.row.name for person in p.people],
            ),
            "visit_count": 0,
        }
        for p in new
    ]
    new_ids = _insert(session, Household, household_rows)
    for planned, household_id in zip(new, new_ids, strict=True):
        planned.household_id = household_id
        changes.append(_change(batch, "household", household_id, True, {}, {}))

    updated_ids: list[int] = []
    household_updates = []
    for planned in plan.households:
        if planned.action != "update":
            continue
        assert planned.household_id is not None  # an update is of a stored household
        # Changed, or its people are: the batch is the household's last change either way,
        # which also gives the household's page a new version in the village's offline pack.
        values = {name: after for name, (_unused, after) in planned.changes.items()}
        household_updates.append(
            {"id": planned.household_id, "import_batch_id": batch.id, **values}
        )
        updated_ids.append(planned.household_id)
        if planned.changes:
            changes.append(
                _change(
                    batch,
                    "household",
                    planned.household_id,
                    False,
                    {name: _json(before) for name, (before, _unused) in planned.changes.items()},
                    {name: _json(after) for name, (_unused, after) in planned.changes.items()},
                )
            )
    _bulk_update(session, Household, household_updates)

    # People of new households are recorded with their household (undo deletes a household
    # with its people); people added to a household already there, one by one.
    in_new: list[dict[str, Any]] = []
    in_existing: list[dict[str, Any]] = []
    resident_updates = []
    for planned in plan.households:
        for person in planned.people:
            if person.resident_id is None:
                (in_new if planned.action == "new" else in_existing).append(
                    {
                        "uuid": str(uuidlib.uuid4()),
                        "household_id": planned.household_id,
                        "name": person.row.name,
                        "birth_year": person.row.birth_year,
                        "sex": person.row.sex,
                        "relation": person.row.relation,
                        "phone": person.row.phone,
                        "review_state": ReviewState.approved,
                        "revision": 1,
                        "created_at": now,
                        "import_batch_id": batch.id,
                    }
                )
            elif person.changes:
                values = {name: after for name, (_unused, after) in person.changes.items()}
                resident_updates.append(
                    {"id": person.resident_id, "import_batch_id": batch.id, **values}
                )
                changes.append(
                    _change(
                        batch,
                        "resident",
                        person.resident_id,
                        False,
                        {name: _json(before) for name, (before, _unused) in person.changes.items()},
                        {name: _json(after) for name, (_unused, after) in person.changes.items()},
                    )
                )
    for start in range(0, len(in_new), households.CHUNK):
        # SQLModel sets __table__ on table models without declaring it.
        table = Resident.__table__  # type: ignore[attr-defined]
        session.execute(table.insert(), in_new[start : start + households.CHUNK])
    changes.extend(
        _change(batch, "resident", rid, True, {}, {})
        for rid in _insert(session, Resident, in_existing)
    )
    _bulk_update(session, Resident, resident_updates)
    for start in range(0, len(changes), households.CHUNK):
        table = ImportChange.__table__  # type: ignore[attr-defined]  # as above
        session.execute(table.insert(), changes[start : start + households.CHUNK])
    session.flush()
    households.refresh_summaries(session, new_ids + updated_ids)
    return plan.counts()


def _insert(session: Session, model, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows (each with a fresh `uuid`) and return their ids in the rows' order. A plain
    executemany, then the ids read back by UUID: INSERT … RETURNING in parameter order makes
    SQLAlchemy insert SQLite rows one by one, ten times slower."""
    ids: list[int] = []
    for start in range(0, len(rows), households.CHUNK):
        chunk = rows[start : start + households.CHUNK]
        # Core, not the ORM's bulk insert: that one splits rows by which values are None and
        # sends each run separately.
        session.execute(model.__table__.insert(), chunk)
        found = dict(
            session.execute(
                select(model.uuid, model.id).where(col(model.uuid).in_([r["uuid"] for r in chunk]))
            ).all()
        )
        ids += [found[row["uuid"]] for row in chunk]
    return ids


def _bulk_update(session: Session, model, rows: list[dict[str, Any]]) -> None:
    """UPDATE by primary key, grouped by the set of columns each row sets."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[tuple(sorted(row))].append(row)
    for group in groups.values():
        for start in range(0, len(group), households.CHUNK):
            session.execute(update(model), group[start : start + households.CHUNK])


def _json(value: Any) -> Any:
    return value.value if isinstance(value, Sex) else value


def _change(batch, kind: str, record_id: int, created: bool, before: dict, after: dict) -> dict:
    return {
        "batch_id": batch.id,
        "record_kind": kind,
        "record_id": record_id,
        "created": created,
        "before": before,
        "after": after,
    }


# --- undo -------------------------------------------------------------------------------------


def _ids(session: Session, batch: ImportBatch, kind: str, created: bool) -> list[int]:
    return list(
        session.exec(
            select(ImportChange.record_id).where(
                ImportChange.batch_id == batch.id,
                ImportChange.record_kind == kind,
                ImportChange.created == created,
            )
        ).all()
    )


def _any(session: Session, statement) -> bool:
    return session.exec(statement.limit(1)).first() is not None


def _chunks(ids: Sequence[int]):
    for start in range(0, len(ids), households.CHUNK):
        yield list(ids[start : start + households.CHUNK])


def undo_blockers(session: Session, batch: ImportBatch) -> list[str]:
    """Why the batch cannot be undone now (empty when it can)."""
    if batch.status is not ImportStatus.done:
        return [_("Chỉ hoàn tác được một đợt đã đưa vào xong.")]
    if batch.kind is ImportKind.team:
        from fieldkit import roster

        return roster.undo_blockers(session, batch)
    created = _ids(session, batch, "household", True)
    residents = _ids(session, batch, "resident", True)
    why = []
    checks = [
        (Visit.household_id, created, _("đã có lượt thăm được ghi cho hộ do đợt này tạo")),
        (
            HouseholdEdit.household_id,
            created,
            _("đã có sửa đổi tại thực địa trên hộ do đợt này tạo"),
        ),
        (Assistance.resident_id, residents, _("đã có người do đợt này tạo được hỗ trợ")),
        (
            HouseholdMerge.survivor_id,
            created,
            _("đã có hộ khác được gộp vào hộ do đợt này tạo"),
        ),
        (
            HouseholdMerge.merged_id,
            created,
            _("hộ do đợt này tạo đã được gộp vào hộ khác"),
        ),
    ]
    for column, ids, reason in checks:
        if any(
            _any(session, select(column).where(col(column).in_(chunk))) for chunk in _chunks(ids)
        ):
            why.append(reason)
    for chunk in _chunks(created):
        if _any(
            session,
            select(Resident.id).where(
                col(Resident.household_id).in_(chunk), col(Resident.added_by_id).is_not(None)
            ),
        ):
            why.append(_("đã có nhân khẩu được thêm tại thực địa vào hộ do đợt này tạo"))
            break
    for chunk in _chunks(created):
        if _any(
            session,
            select(Household.id).where(
                col(Household.id).in_(chunk),
                (col(Household.import_batch_id) != batch.id)
                | col(Household.consent_at).is_not(None),
            ),
        ):
            why.append(_("hộ do đợt này tạo đã được đợt sau hoặc tại thực địa thay đổi"))
            break
    changed_since = (col(Resident.import_batch_id) != batch.id) | col(
        Resident.merged_into_id
    ).is_not(None)
    for resident_column, ids in ((Resident.id, residents), (Resident.household_id, created)):
        if any(
            _any(session, select(Resident.id).where(col(resident_column).in_(chunk), changed_since))
            for chunk in _chunks(ids)
        ):
            why.append(_("người do đợt này tạo đã được đợt sau thay đổi hoặc được gộp"))
            break
    return [_("Không hoàn tác được: %(reason)s.", reason=reason) for reason in dict.fromkeys(why)]


def undo(session: Session, batch: ImportBatch, importer: Importer, *, now: datetime) -> None:
    """Take a finished batch back: what it created is deleted, what it changed is put back
    where nobody changed it since. Refused (UndoRefused) once anything was recorded in the
    field on what it created. Audited. Caller commits."""
    communes.lock(session, importer.commune_id)
    session.refresh(batch)
    blockers = undo_blockers(session, batch)
    if blockers:
        raise UndoRefused(" ".join(blockers))
    if batch.kind is ImportKind.team:
        from fieldkit import roster

        roster.undo(session, batch)
    else:
        _undo_households(session, batch)
    batch.status = ImportStatus.undone
    batch.undone_at = now
    batch.undone_by_id = importer.member_id
    session.add(batch)
    audit.record(
        session,
        action="import_undone",
        now=now,
        actor=importer.member,
        commune_id=importer.commune_id,
        target_kind="import",
        target_id=batch.id,
        details={"file": batch.file_name},
    )


def _revert(session: Session, model, batch: ImportBatch, kind: str) -> list[int]:
    """Put back what the batch changed on `model` rows, field by field, where the value is
    still the one the batch wrote. Returns the ids touched."""
    touched = []
    for change in session.exec(
        select(ImportChange).where(
            ImportChange.batch_id == batch.id,
            ImportChange.record_kind == kind,
            col(ImportChange.created).is_(False),
        )
    ).all():
        record = session.get(model, change.record_id)
        if record is None:
            continue
        for name, after in change.after.items():
            if _json(getattr(record, name)) == after:
                before = change.before.get(name)
                setattr(record, name, Sex(before) if name == "sex" and before else before)
        session.add(record)
        touched.append(record.household_id if model is Resident else record.id)
    return touched


def _undo_households(session: Session, batch: ImportBatch) -> None:
    created = _ids(session, batch, "household", True)
    residents = _ids(session, batch, "resident", True)
    touched = _revert(session, Household, batch, "household")
    touched += _revert(session, Resident, batch, "resident")
    session.flush()
    for chunk in _chunks(residents):
        touched += session.exec(
            select(Resident.household_id).where(col(Resident.id).in_(chunk))
        ).all()
        session.execute(delete(Resident).where(col(Resident.id).in_(chunk)))
    for chunk in _chunks(created):
        # Out of every count first (their progress rows go, their villages' sums go down).
        session.execute(
            update(Household)
            .where(col(Household.id).in_(chunk))
            .values(review_state=ReviewState.rejected)
        )
        indicators.refresh_progress(session, chunk)
        session.execute(delete(Sticker).where(col(Sticker.household_id).in_(chunk)))
        for column in (DuplicateDismissal.first_id, DuplicateDismissal.second_id):
            session.execute(delete(DuplicateDismissal).where(col(column).in_(chunk)))
        session.execute(delete(Resident).where(col(Resident.household_id).in_(chunk)))
        session.execute(delete(Household).where(col(Household.id).in_(chunk)))
    gone = set(created)
    households.refresh_summaries(session, [h for h in set(touched) if h not in gone])
    for village_id in _ids(session, batch, "village", True):
        in_use = any(
            _any(session, select(model.id).where(model.village_id == village_id))
            for model in (Household, Member, Target)
        ) or _any(
            session,
            select(ImportBatch.id).where(
                ImportBatch.village_id == village_id, ImportBatch.id != batch.id
            ),
        )
        if not in_use:
            session.execute(
                delete(VillageProgress).where(col(VillageProgress.village_id) == village_id)
            )
            if batch.village_id == village_id:
                batch.village_id = None
            session.execute(delete(Village).where(col(Village.id) == village_id))


# --- listing ----------------------------------------------------------------------------------


def batches(session: Session, member: Member, *, limit: int = 30) -> list[ImportBatch]:
    """The batches the member may see, newest first. Previews left longer than STALE lose
    their cells (kept only while waiting for the go-ahead)."""
    scope = policy.require_can_import(member)
    statement = select(ImportBatch).where(ImportBatch.commune_id == scope.commune_id)
    if scope.village_id is not None:
        statement = statement.where(ImportBatch.village_id == scope.village_id)
    return list(
        session.exec(
            statement.order_by(
                col(ImportBatch.created_at).desc(), col(ImportBatch.id).desc()
            ).limit(limit)
        ).all()
    )


def forget_stale(session: Session, *, commune_id: int, now: datetime) -> int:
    """Drop the cells of previews nobody imported within STALE (personal data is not kept
    longer than it is needed). Returns how many. Caller commits."""
    stale = session.exec(
        select(ImportBatch).where(
            ImportBatch.commune_id == commune_id,
            col(ImportBatch.status).in_([ImportStatus.previewed, ImportStatus.failed]),
            ImportBatch.created_at < now - STALE,
        )
    ).all()
    count = 0
    for batch in stale:
        if batch.rows:
            batch.rows = {}
            batch.error = batch.error or _("Quá hạn: tệp đã bị bỏ, hãy tải lên lại.")
            session.add(batch)
            count += 1
    return count


def require_batch(session: Session, member: Member, batch_id: int) -> ImportBatch:
    """A batch the member may see. NotFound / Forbidden otherwise."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        policy.require_can_import(member)
        raise NotFound(_("Không tìm thấy đợt đưa dữ liệu này."))
    policy.require_can_see_import(member, batch.commune_id, batch.village_id)
    return batch


def created_count(session: Session, batch: ImportBatch) -> int:
    return session.exec(
        select(func.count())
        .select_from(ImportChange)
        .where(ImportChange.batch_id == batch.id, col(ImportChange.created).is_(True))
    ).one()


# --- the template -----------------------------------------------------------------------------


def template(session: Session, importer: Importer) -> bytes:
    """The households template: Vietnamese headers, one household of two people as an
    example, drop-down lists of the commune's villages and of relations, and a guide sheet."""
    villages = communes.villages_of(session, importer.commune_id)
    if importer.village_id is not None:
        villages = [v for v in villages if v.id == importer.village_id]
    names = [v.name for v in villages] or ["Thôn Đông"]
    headers = [
        "Mã hộ",
        "Thôn",
        "Số nhà",
        "Họ và tên",
        "Quan hệ với chủ hộ",
        "Năm sinh",
        "Giới tính",
        "Số điện thoại",
        "Điện thoại thông minh",
        "Internet tại nhà",
        "Địa chỉ",
    ]
    examples = [
        [
            "HK-001",
            names[0],
            "12",
            "Nguyễn Văn An",
            "Chủ hộ",
            1968,
            "Nam",
            "0912345678",
            2,
            "Có",
            "Ngõ 3, cạnh nhà văn hóa",
        ],
        ["HK-001", names[0], "12", "Hoàng Thị Lan", "Vợ", 1972, "Nữ", "", "", "", ""],
    ]
    notes = [
        "CÁCH ĐIỀN DANH SÁCH HỘ VÀ NHÂN KHẨU",
        "• Mỗi dòng là một người. Những người cùng Mã hộ thuộc một hộ; người ghi “Chủ hộ” là "
        "chủ hộ.",
        "• Mã hộ là mã riêng của xã cho từng hộ (ví dụ số hộ khẩu cũ). Có mã hộ thì lần sau đưa "
        "tệp sửa lại vào, Fieldkit nhận ra đúng hộ. Không có mã: hộ được nhận ra theo thôn, số "
        "nhà và tên chủ hộ.",
        "• Thôn, Quan hệ với chủ hộ, Giới tính, Internet: chọn trong danh sách thả xuống.",
        "• Năm sinh: chỉ cần năm (ví dụ 1968). Nếu ghi ngày sinh, Fieldkit chỉ giữ năm.",
        "• KHÔNG ghi số CCCD/CMND, mật khẩu hay mã OTP: Fieldkit không lưu những thông tin này.",
        "• Điện thoại thông minh: số máy của cả hộ (ghi ở dòng chủ hộ). Ô để trống là chưa biết.",
        "• Xóa hai dòng ví dụ trước khi đưa vào.",
    ]
    return spreadsheets.workbook(
        [("Hộ và nhân khẩu", headers, examples)],
        choices={
            "Thôn": names,
            "Quan hệ với chủ hộ": RELATIONS,
            "Giới tính": ["Nam", "Nữ"],
            "Internet tại nhà": ["Có", "Không"],
        },
        notes=notes,
        widths={"Họ và tên": 26, "Địa chỉ": 30, "Thôn": 18, "Quan hệ với chủ hộ": 18},
    )


TEAM_FIELDS = ("name", "phone", "role", "village")
