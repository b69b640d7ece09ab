"""Parsing of field input into typed values, with Vietnamese messages.

Values arrive as form strings (a browser form) or as JSON values (the sync API later); both are
accepted. Each parser returns the value or raises `_FieldError`; `collect()` gathers the
messages of a whole form so the person sees every problem at once.
"""

from __future__ import annotations

import enum
import re
import uuid as uuidlib
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any, TypeVar

from fieldkit.errors import Invalid
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


def parse_id(value: Any) -> int | None:
    """A row id typed into a URL or sent by a form: digits, 1…MAX_ID. None otherwise."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 10:  # "²" is a digit, not a number
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(value: Any, *, required: bool, label: str, max_length: int = 200) -> str:
    if _blank(value):
        if required:
            raise _FieldError(f"Vui lòng nhập {label}.")
        return ""
    if not isinstance(value, str):
        raise _FieldError(f"{label.capitalize()} phải là chữ.")
    if "\x00" in value:
        # PostgreSQL refuses NUL in text; no keyboard types one.
        raise _FieldError(f"{label.capitalize()} có ký tự không hợp lệ.")
    cleaned = " ".join(value.split()) if max_length <= 200 else value.strip()
    if len(cleaned) > max_length:
        raise _FieldError(f"{label.capitalize()} dài quá {max_length} ký tự.")
    return cleaned


def integer(
    value: Any, *, label: str, minimum: int, maximum: int, required: bool = False
) -> int | None:
    if _blank(value):
        if required:
            raise _FieldError(f"Vui lòng nhập {label}.")
        return None
    if isinstance(value, bool):
        raise _FieldError(f"{label.capitalize()} phải là số.")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise _FieldError(f"{label.capitalize()} phải là số nguyên.") from None
    if number < minimum or number > maximum:
        raise _FieldError(f"{label.capitalize()} phải từ {minimum} đến {maximum}.")
    return number


def yes_no(value: Any, *, label: str) -> bool | None:
    """'yes' / 'no' / '' (not known) from a form; true / false / null from JSON."""
    if _blank(value):
        return None
    if isinstance(value, bool):
        return value
    if str(value) in ("yes", "true", "1", "co"):
        return True
    if str(value) in ("no", "false", "0", "khong"):
        return False
    raise _FieldError(f"Chọn Có hoặc Không cho {label}.")


def choice(value: Any, enum_type: type[E], *, label: str, required: bool = True) -> E | None:
    if _blank(value):
        if required:
            raise _FieldError(f"Vui lòng chọn {label}.")
        return None
    try:
        return enum_type(value)
    except ValueError:
        raise _FieldError(f"Giá trị không hợp lệ cho {label}.") from None


def uuid(value: Any) -> str:
    try:
        return str(uuidlib.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise _FieldError("Mã bản ghi không hợp lệ. Hãy tải lại trang rồi nhập lại.") from None


def local_datetime(value: Any, *, label: str) -> datetime:
    """A time typed on the phone ("2026-11-22T08:15", Vietnam time, or ISO with offset),
    returned as aware UTC."""
    if _blank(value):
        raise _FieldError(f"Vui lòng nhập {label}.")
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise _FieldError(f"{label.capitalize()} không đúng định dạng ngày giờ.") from None
    # Far from now it is a typing slip, and near year 1 or 9999 converting to UTC or to
    # Vietnam time would overflow.
    if not 1900 <= parsed.year <= 2200:
        raise _FieldError(f"{label.capitalize()} không hợp lệ. Kiểm tra lại năm.")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=VN_TZ)
    return parsed.astimezone(UTC)


def calendar_date(value: Any, *, label: str) -> date | None:
    if _blank(value):
        return None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise _FieldError(f"{label.capitalize()} không đúng định dạng ngày.") from None


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
NO_CCCD = "Không ghi số CCCD đầy đủ (12 chữ số). Nếu cần, chỉ ghi 4 số cuối."
NO_SECRET = "Không ghi mật khẩu hay mã OTP của người dân. Hãy xóa phần đó rồi lưu lại."


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
