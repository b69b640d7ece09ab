import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldkit.text import UnsafeText, clean, fold, is_clean, scrub, thousands


@pytest.mark.parametrize(
    ("typed", "folded"),
    [
        ("Nguyễn Văn", "nguyen van"),
        ("nguyen van", "nguyen van"),
        ("Đỗ Thị", "do thi"),
        ("đường Lê Lợi", "duong le loi"),
        ("ẮẰẲẴẶ ăâêôơư ỲÝỶỸỴ", "aaaaa aaeoou yyyyy"),
        ("  Trần \t Thị\n\nBình  ", "tran thi binh"),
    ],
)
def test_fold_drops_accents_case_and_extra_space(typed, folded):
    assert fold(typed) == folded


def test_fold_treats_decomposed_input_like_precomposed():
    # Some Vietnamese keyboards send combining marks (NFD) instead of precomposed letters.
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Ánh")
    assert decomposed != "Nguyễn Thị Ánh"
    assert fold(decomposed) == fold("Nguyễn Thị Ánh") == "nguyen thi anh"


@pytest.mark.parametrize("empty", ["", None, "   ", "\t\n"])
def test_fold_of_nothing_is_empty(empty):
    assert fold(empty) == ""


@pytest.mark.parametrize("typed", ["Nguyễn  Văn An", "ĐỖ THỊ", "Hoàng Thị Lan 12/3"])
def test_fold_is_idempotent_on_names(typed):
    assert fold(fold(typed)) == fold(typed)


@given(st.text())
def test_fold_is_idempotent_on_any_text(typed):
    assert fold(fold(typed)) == fold(typed)


@given(st.text())
def test_fold_one_character_at_a_time_is_the_rule_itself(typed):
    # fold() works out each character once (text._Bare); the rule is NFD with marks dropped.
    decomposed = unicodedata.normalize("NFD", typed.replace("đ", "d").replace("Đ", "d"))
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    assert fold(typed) == " ".join(bare.lower().split())


@pytest.mark.parametrize("typed", ["\u0915\u093e\u0301", "a\U0001d165\u0301b", "\u0e01\u0e33"])
def test_fold_of_spacing_marks_keeps_the_rule(typed):
    # Spacing marks with a combining class (Devanagari, musical symbols): the whole-string rule.
    decomposed = unicodedata.normalize("NFD", typed)
    bare = "".join(ch for ch in decomposed if unicodedata.category(ch) != "Mn")
    assert fold(typed) == " ".join(bare.lower().split())


def test_fold_keeps_no_table_entry_for_far_characters():
    from fieldkit import text

    fold("".join(chr(c) for c in range(0x4E00, 0x5E00)))  # 4,096 CJK characters
    assert max(text._BARE) < text._KEPT_BELOW
    assert fold("\u4e2d\u6587 \uac00") == "\u4e2d\u6587 \u1100\u1161"  # Hangul still decomposes


# --- the one rule for stored text (issue 10) ---------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    ["a\x00b", "\x01", "a\x08", "\x0b", "\x0c", "x\x1b[31m", "\x1f", "\x7f", "\x80", "\x85", "\x9f"]
    + ["\ud800", "a\udfffb", "\ufffe", "\uffff"]
    + ["Nguyễn \u202e0912", "\u202a", "\u2066x\u2069"],  # bidi overrides and isolates
)
def test_clean_refuses_controls_lone_surrogates_and_non_characters(typed):
    assert not is_clean(typed)
    with pytest.raises(UnsafeText):
        clean(typed)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("Nguye\u0302\u0303n", "Nguyễn"),  # NFD → NFC
        ("dòng 1\r\ndòng 2\rdòng 3", "dòng 1\ndòng 2\ndòng 3"),  # textarea line ends
        ("a\tb\nc", "a\tb\nc"),
        ("😀 \u2028 ‘quote’ ²", "😀 \u2028 ‘quote’ ²"),  # a surrogate pair is one character
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # a family emoji is joined by ZWJ
        ('=HYPERLINK("x")', '=HYPERLINK("x")'),  # formulas are an export's business
    ],
)
def test_clean_keeps_text_and_normalises_it(typed, stored):
    assert clean(typed) == stored
    assert clean(clean(typed)) == clean(typed)


def test_scrub_drops_what_clean_refuses():
    assert scrub("Nguye\u0302\u0303n\x1bAn\ud800\x85") == "NguyễnAn"


@given(st.text(st.characters(codec=None, exclude_categories=())))
def test_scrubbed_text_is_clean_and_encodes(typed):
    scrubbed = scrub(typed)
    assert is_clean(scrubbed) and clean(scrubbed) == scrubbed
    scrubbed.encode("utf-8")  # no lone surrogate left


@pytest.mark.parametrize(
    ("number", "written"), [(0, "0"), (999, "999"), (1520, "1.520"), (1_000_000, "1.000.000")]
)
def test_thousands_are_written_with_dots(number, written):
    assert thousands(number) == written
