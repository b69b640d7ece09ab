"""Text: Vietnamese folding for accent-insensitive search ("nguyen van" finds "Nguyễn Văn"),
and the one rule every stored string goes through (`clean`; fieldkit.forms applies it)."""

from __future__ import annotations

import re
import unicodedata

_TRANSLATE = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str | None) -> str:
    """Lower-case, drop diacritics (đ → d) and squeeze white space. Idempotent."""
    if not text:
        return ""
    try:
        bare = text.translate(_BARE)
    except _OutOfOrder:
        bare = _bare_slowly(text)
    return " ".join(bare.lower().split())


def _bare_slowly(text: str) -> str:
    """The rule itself: đ → d, every letter decomposed (NFD), its marks (Mn) dropped."""
    decomposed = unicodedata.normalize("NFD", text.translate(_TRANSLATE))
    return "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")


class _OutOfOrder(Exception):
    """A character whose decomposition is not its own affair (see _Bare)."""


class _Bare(dict):
    """_bare_slowly() one character at a time, each character worked out once, the first time
    it is met: fold() runs on every row of a village's list and every stored name, and the
    slow rule asked unicodedata about each character of each (a third of a list page's time).
    Decomposing a string is decomposing each character and then putting marks in their
    canonical order; only that reordering crosses characters, and it changes nothing once the
    marks are gone — unless a character both has a combining class and is not a dropped mark
    (a spacing mark, Mc: none in Vietnamese). Text with one is folded by the slow rule.
    Only characters below U+3000 (Latin, Vietnamese, marks, the scripts near them) are kept:
    hostile text naming every code point must not grow a process by a million entries."""

    def __missing__(self, code: int) -> str:
        decomposed = unicodedata.normalize("NFD", chr(code))
        if any(unicodedata.combining(ch) and unicodedata.category(ch) != "Mn" for ch in decomposed):
            raise _OutOfOrder
        bare = _bare_slowly(chr(code))
        if code < _KEPT_BELOW:
            self[code] = bare
        return bare


_KEPT_BELOW = 0x3000


_BARE = _Bare()


def thousands(number: int) -> str:
    """A whole number as Vietnamese write it: dots between the thousands (1.234.567)."""
    return f"{number:,}".replace(",", ".")


def sort_key(text: str | None) -> tuple[str, str]:
    """Orders Vietnamese names as people expect ("Thôn Đông" before "Thôn Tây"): by the folded
    letters first (Đ with D), then by the accented text to keep a stable order."""
    return fold(text), text or ""


# --- the one rule for stored text (issue 10) ---------------------------------------------------
# What no keyboard types and the layers below cannot take: C0 controls except tab and line feed
# (a carriage return is turned into a line feed first: browsers send textareas with CR LF),
# DEL and the C1 controls, lone surrogates (half of an emoji: UTF-8 cannot encode them, so
# neither database can store them), and U+FFFE / U+FFFF (not characters; XML, and so an XLSX
# cell, cannot hold them). PostgreSQL refuses NUL; openpyxl refuses the rest of C0.
# And the bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069): no
# Vietnamese name or note needs them, and one in a name turns the rest of a line around in
# the review inbox or a spreadsheet (U+202E before "0912" shows it as "2190"), the old
# trick for disguising what a cell says. Zero-width joiners stay: emoji are built with them.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff]"
)


class UnsafeText(ValueError):
    """The text holds a character the rule refuses (see `clean`)."""


def _line_feeds(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def clean(text: str) -> str:
    """`text` as it is stored: line ends as LF, Unicode in NFC (so "Nguyễn" typed with
    combining marks and typed precomposed is one name). Raises UnsafeText when it holds a
    control character other than tab and line feed, a lone surrogate or U+FFFE/U+FFFF: those
    are refused, not dropped, so the person sees the field and fixes it. Idempotent."""
    text = _line_feeds(text)
    if _UNSAFE.search(text):
        raise UnsafeText(text)
    return unicodedata.normalize("NFC", text)


def scrub(text: str) -> str:
    """`clean` that cannot fail: the refused characters are dropped. For what cannot be sent
    back to be fixed — a search box, a cell of an export written from older rows."""
    return unicodedata.normalize("NFC", _UNSAFE.sub("", _line_feeds(text)))


def is_clean(text: str) -> bool:
    return _UNSAFE.search(text) is None
