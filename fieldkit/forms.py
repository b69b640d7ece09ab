"""Parsing of field input into typed values, with Vietnamese messages.

Values arrive as form strings (a browser form) or as JSON values (the sync API); both are
accepted, and a value of the wrong JSON type is a message, never a TypeError. Each parser
returns the value or raises `_FieldError`; a `Collector` gathers the messages of a whole form
so the person sees every problem at once.

The rules every input passes (issue 10): text through `fieldkit.text.clean` (no control
characters or lone surrogates, NFC) — `text()` here, `checked_text()` for a domain function
that raises Invalid itself; whole numbers in ASCII digits only, bounded (`integer`, `parse_id`);
dates and ISO weeks within years MIN_YEAR…MAX_YEAR (`calendar_date`, `local_datetime`,
`iso_week`), so nothing converts a year 1 or 9999 into an overflow further down.
"""

from __future__ import annotations

import enum
import re
import uuid as uuidlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

from fieldkit import text as text_rule
from fieldkit.errors import Invalid
from fieldkit.i18n import _
from fieldkit.text import fold

# Vietnam keeps UTC+7 all year (no daylight saving), so a fixed offset is exact.
VN_TZ = timezone(timedelta(hours=7), "ICT")

E = TypeVar("E", bound=enum.Enum)
T = TypeVar("T")


class _FieldError(Exception):
    pass


class Collector:
    """Runs field parsers and keeps every error message by field name."""

    def __init__(self) -> None:
        self.errors: dict[str, str] = {}

    def field(self, name: str, parse: Callable[[], T]) -> T | None:
        try:
            return parse()
        except _FieldError as error:
            self.errors[name] = str(error)
            return None

    def add(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    def raise_if_any(self) -> None:
        if self.errors:
            raise Invalid(self.errors)


# Row ids are 32-bit integers on PostgreSQL; a larger number from a URL or a form must be
# "not found", not a database error.
MAX_ID = 2**31 - 1
# Years a date typed by a person may have. Far from now it is a typing slip, and near year 1
# or 9999 converting to UTC or Vietnam time, or adding a day, overflows.
MIN_YEAR, MAX_YEAR = 1900, 2200
# str.isdigit() is true for "²" and "١٢", and int() reads "١٢" and "1_000": numbers from
# people and URLs are ASCII digits, checked by this pattern before int() sees them.
_DIGITS = re.compile(r"[0-9]{1,18}")
_SIGNED = re.compile(r"[+-]?[0-9]{1,18}")


def ascii_int(value: str, *, signed: bool = False) -> int | None:
    """The whole number `value` spells in ASCII digits (at most 18 of them), else None."""
    return int(value) if (_SIGNED if signed else _DIGITS).fullmatch(value) else None


def parse_id(value: Any) -> int | None:
    """A row id typed into a URL or sent by a form: ASCII digits, 1…MAX_ID. None otherwise."""
    number = ascii_int(value.strip()) if isinstance(value, str) else None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    return number if number is not None and 1 <= number <= MAX_ID else None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def unsafe_text_message(label: str) -> str:
    return _(
        (
            "%(capitalize)s có ký tự lạ không lưu được (ký tự điều khiển hoặc lỗi mã hóa). Hãy "
            "xóa ký tự đó rồi nhập lại."
        ),
        capitalize=label.capitalize(),
    )


def text(value: Any, *, required: bool, label: str, max_length: int = 200) -> str:
    """Text for storing, through the one rule (fieldkit.text.clean): one line with single
    spaces up to 200 characters, else trimmed with its line breaks kept. Refused: not a
    string, control characters, lone surrogates, too long."""
    if _blank(value):
        if required:
            raise _FieldError(_("Vui lòng nhập %(label)s.", label=label))
        return ""
    if not isinstance(value, str):
        raise _FieldError(_("%(capitalize)s phải là chữ.", capitalize=label.capitalize()))
    try:
        value = text_rule.clean(value)
    except text_rule.UnsafeText:
        raise _FieldError(unsafe_text_message(label)) from None
    cleaned = " ".join(value.split()) if max_length <= 200 else value.strip()
    if required and not cleaned:
        raise _FieldError(_("Vui lòng nhập %(label)s.", label=label))
    if len(cleaned) > max_length:
        raise _FieldError(
            _(
                "%(capitalize)s dài quá %(max_length)s ký tự.",
                capitalize=label.capitalize(),
                max_length=max_length,
            )
        )
    return cleaned


def checked_text(value: Any, *, field: str, label: str) -> str:
    """The text rule alone, for a domain function with its own blank and length messages:
    `value` (None as "") cleaned, or Invalid({field: message})."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid({field: _("%(capitalize)s phải là chữ.", capitalize=label.capitalize())})
    try:
        return text_rule.clean(value)
    except text_rule.UnsafeText:
        raise Invalid({field: unsafe_text_message(label)}) from None


def integer(
    value: Any, *, label: str, minimum: int, maximum: int, required: bool = False
) -> int | None:
    if _blank(value):
        if required:
            raise _FieldError(_("Vui lòng nhập %(label)s.", label=label))
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise _FieldError(_("%(capitalize)s phải là số.", capitalize=label.capitalize()))
    number = value if isinstance(value, int) else ascii_int(value.strip(), signed=True)
    if number is None:
        raise _FieldError(_("%(capitalize)s phải là số nguyên.", capitalize=label.capitalize()))
    if number < minimum or number > maximum:
        raise _FieldError(
            _(
                "%(capitalize)s phải từ %(minimum)s đến %(maximum)s.",
                capitalize=label.capitalize(),
                minimum=minimum,
                maximum=maximum,
            )
        )
    return number


def yes_no(value: Any, *, label: str) -> bool | None:
    """'yes' / 'no' / '' (not known) from a form; true / false / null from JSON."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str | int) and str(value) in ("yes", "true", "1", "co"):
        return True
    if isinstance(value, str | int) and str(value) in ("no", "false", "0", "khong"):
        return False
    raise _FieldError(_("Chọn Có hoặc Không cho %(label)s.", label=label))


def choice(value: Any, enum_type: type[E], *, label: str, required: bool = True) -> E | None:
    if _blank(value):
        if required:
            raise _FieldError(_("Vui lòng chọn %(label)s.", label=label))
        return None
    try:
        return enum_type(value)
    except (ValueError, TypeError):  # TypeError: a list or an object from JSON
        raise _FieldError(_("Giá trị không hợp lệ cho %(label)s.", label=label)) from None


def uuid(value: Any) -> str:
    try:
        return str(uuidlib.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise _FieldError(_("Mã bản ghi không hợp lệ. Hãy tải lại trang rồi nhập lại.")) from None


def local_datetime(value: Any, *, label: str) -> datetime:
    """A time typed on the phone ("2026-11-22T08:15", Vietnam time, or ISO with offset),
    returned as aware UTC."""
    if _blank(value):
        raise _FieldError(_("Vui lòng nhập %(label)s.", label=label))
    if not isinstance(value, str) or not value.isascii():
        raise _FieldError(
            _("%(capitalize)s không đúng định dạng ngày giờ.", capitalize=label.capitalize())
        )
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise _FieldError(
            _("%(capitalize)s không đúng định dạng ngày giờ.", capitalize=label.capitalize())
        ) from None
    if not MIN_YEAR <= parsed.year <= MAX_YEAR:
        raise _FieldError(
            _("%(capitalize)s không hợp lệ. Kiểm tra lại năm.", capitalize=label.capitalize())
        )
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VN_TZ)
    return parsed.astimezone(UTC)


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WEEK = re.compile(r"([0-9]{4})-?W([0-9]{1,2})")


def calendar_date(value: Any, *, label: str) -> date | None:
    """A date as a date input sends it (YYYY-MM-DD, ASCII) or a date object, years
    MIN_YEAR…MAX_YEAR; None when blank. The one date parser of pages, exports and forms."""
    if _blank(value):
        return None
    shape = _(
        "%(capitalize)s không đúng định dạng ngày (năm-tháng-ngày, ví dụ 2026-11-01).",
        capitalize=label.capitalize(),
    )
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str) and _DATE.fullmatch(value.strip()):
        day = None
    else:
        raise _FieldError(shape)
    year = day.year if day else int(value.strip()[:4])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _FieldError(
            _(
                "%(capitalize)s không hợp lệ: năm phải từ %(MIN_YEAR)s đến %(MAX_YEAR)s.",
                capitalize=label.capitalize(),
                MIN_YEAR=MIN_YEAR,
                MAX_YEAR=MAX_YEAR,
            )
        )
    if day is None:
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:  # 2026-02-30
            raise _FieldError(shape) from None
    return day


def iso_week(value: Any, *, label: str = _("tuần")) -> tuple[int, int] | None:
    """An ISO week ("2026-W47", "2026W47", any case) as (year, week), years MIN_YEAR…MAX_YEAR
    and a week the year has; None when blank."""
    if _blank(value):
        return None
    found = _WEEK.fullmatch(value.strip().upper()) if isinstance(value, str) else None
    message = _(
        "%(capitalize)s không hợp lệ. Ghi theo dạng năm-W số tuần, ví dụ 2026-W47.",
        capitalize=label.capitalize(),
    )
    if not found:
        raise _FieldError(message)
    year, week = int(found[1]), int(found[2])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise _FieldError(
            _(
                "%(capitalize)s không hợp lệ: năm phải từ %(MIN_YEAR)s đến %(MAX_YEAR)s.",
                capitalize=label.capitalize(),
                MIN_YEAR=MIN_YEAR,
                MAX_YEAR=MAX_YEAR,
            )
        )
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:  # week 0, or 53 in a year of 52
        raise _FieldError(message) from None
    return year, week


def field_value(parse: Callable[[], T], *, field: str) -> T:
    """`parse()` with its _FieldError as Invalid({field: message}): one parser of this
    module used outside a Collector."""
    try:
        return parse()
    except _FieldError as error:
        raise Invalid({field: str(error)}) from None


def to_local(moment: datetime) -> datetime:
    """A time from the database (aware UTC; naive taken as UTC) in Vietnam time."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VN_TZ)


def local_today(now: datetime) -> date:
    """The calendar date in Vietnam at the moment `now`."""
    return to_local(now).date()


# --- what must never be written down (DESIGN.md §5) ------------------------------------------
# A citizen-ID (CCCD) number has 12 digits, sometimes typed in groups ("038 090 012 345").
# A run of digits with at most single spaces or dots between them is counted whole (not
# dashes: dossier numbers such as "000.00.30.H56-240315-0012" are built with them),
# so two phone numbers side by side (20 digits) are not taken for one.
_DIGIT_RUN = re.compile(r"\d(?:[ .]?\d)*")
# A password or a one-time code written out: the word, then ":" / "=" / "là" and a value, or
# the word directly followed by a number ("OTP 123456"). "Quên mật khẩu" alone is fine.
_SECRET = re.compile(
    r"\b(?:mat khau|mk|password|pass|otp|ma otp|ma xac thuc|ma xac nhan)\b"
    r"(?:\s*(?::|=|\bla\b)\s*\S+|\s*\d{4,})"
)
NO_CCCD = _("Không ghi số CCCD đầy đủ (12 chữ số). Nếu cần, chỉ ghi 4 số cuối.")
NO_SECRET = _("Không ghi mật khẩu hay mã OTP của người dân. Hãy xóa phần đó rồi lưu lại.")


def refuse_secrets(value: T) -> T:
    """`value` itself, unless it is text holding a full citizen-ID number or a written-out
    password or OTP: then _FieldError. Wrap a free-text field's parser with it."""
    if not value or not isinstance(value, str):
        return value
    for run in _DIGIT_RUN.findall(value):
        if sum(ch.isdigit() for ch in run) == 12:
            raise _FieldError(NO_CCCD)
    if _SECRET.search(fold(value)):
        raise _FieldError(NO_SECRET)
    return value
