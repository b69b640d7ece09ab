"""Vietnamese text folding for accent-insensitive search: "nguyen van" finds "Nguyễn Văn"."""

from __future__ import annotations

import unicodedata

_TRANSLATE = str.maketrans({"đ": "d", "Đ": "d"})


def fold(text: str | None) -> str:
    """Lower-case, drop diacritics (đ → d) and squeeze white space. Idempotent."""
    if not text:
        return ""
    decomposed = unicodedata.normalize("NFD", text.translate(_TRANSLATE))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    return " ".join(bare.lower().split())


def sort_key(text: str | None) -> tuple[str, str]:
    """Orders Vietnamese names as people expect ("Thôn Đông" before "Thôn Tây"): by the folded
    letters first (Đ with D), then by the accented text to keep a stable order."""
    return fold(text), text or ""
