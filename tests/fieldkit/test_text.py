import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldkit.text import fold


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
