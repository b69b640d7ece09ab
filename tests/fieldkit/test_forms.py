"""The parsers every input goes through (issue 10): text by the one rule, numbers in ASCII
digits and bounded, dates and ISO weeks within years 1900–2200, values of the wrong JSON
type refused with a message — never an exception other than the field's message."""

from __future__ import annotations

import contextlib
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fieldkit import forms
from fieldkit.errors import Invalid


def _refused(parse) -> str:
    with pytest.raises(forms._FieldError) as refused:
        parse()
    return str(refused.value)


@pytest.mark.parametrize("value", ["An\x1b", "\ud800", "a\x00", "b\x85", "\uffff"])
def test_text_refuses_controls_and_lone_surrogates_in_vietnamese(value):
    message = _refused(lambda: forms.text(value, required=True, label="họ tên"))
    assert message.startswith("Họ tên có ký tự lạ")


def test_text_is_composed_and_squeezed():
    typed = "  Nguye\u0302\u0303n \t Văn\r\nAn "
    assert forms.text(typed, required=True, label="họ tên") == "Nguyễn Văn An"
    notes = forms.text("dòng 1\r\ndòng 2 ", required=False, label="ghi chú", max_length=2000)
    assert notes == "dòng 1\ndòng 2"


@pytest.mark.parametrize("value", [["a"], {"a": 1}, 7, 1.5, True])
def test_text_of_another_json_type_is_a_message(value):
    assert "phải là chữ" in _refused(lambda: forms.text(value, required=True, label="tên"))


def test_length_is_counted_after_composing():
    decomposed = "e\u0302\u0303" * 100  # 300 code points, 100 letters
    assert len(forms.text(decomposed, required=True, label="tên", max_length=100)) == 100


@pytest.mark.parametrize(
    "value", ["²", "١٢", "５", "1_000", "9" * 4300, "1e3", "0x10", "", " ", [1], {"a": 1}, 2.0]
)
def test_integer_takes_ascii_digits_only(value):
    if value in ("", " "):
        assert forms.integer(value, label="số", minimum=0, maximum=10) is None
        return
    with pytest.raises(forms._FieldError):
        forms.integer(value, label="số", minimum=0, maximum=10**30)


@pytest.mark.parametrize(("value", "number"), [("12", 12), (" 7 ", 7), ("-3", -3), (5, 5)])
def test_integer_reads_plain_numbers(value, number):
    assert forms.integer(value, label="số", minimum=-10, maximum=20) == number


@pytest.mark.parametrize(
    "value", ["²", "١٢", "-1", "0", "9" * 4300, "2147483648", "", "1.0", [1], True, "1 2"]
)
def test_parse_id_is_none_for_anything_but_a_row_id(value):
    assert forms.parse_id(value) is None


@pytest.mark.parametrize("value", ["0001-01-01", "0000-01-01", "9999-12-31", "1899-12-31"])
def test_a_date_outside_1900_2200_is_a_message(value):
    assert "năm phải từ 1900" in _refused(lambda: forms.calendar_date(value, label="ngày"))


@pytest.mark.parametrize(
    "value", ["2026-13-01", "2026-02-30", "20261101", "2026-W47-1", "２０２６-11-01", [1], 20261101]
)
def test_a_date_not_written_yyyy_mm_dd_is_a_message(value):
    assert "định dạng ngày" in _refused(lambda: forms.calendar_date(value, label="ngày"))


def test_a_date_is_read_or_passed_through():
    assert forms.calendar_date(" 2026-11-01 ", label="ngày") == date(2026, 11, 1)
    assert forms.calendar_date(date(2026, 11, 1), label="ngày") == date(2026, 11, 1)
    assert forms.calendar_date("", label="ngày") is None


@pytest.mark.parametrize(
    ("value", "week"), [("2026-W47", (2026, 47)), ("2026w05", (2026, 5)), ("", None)]
)
def test_iso_week(value, week):
    assert forms.iso_week(value) == week


@pytest.mark.parametrize("value", ["0001-W01", "9999-W52", "2026-W54", "2026-W00", "١٢W1", [1]])
def test_a_week_out_of_bounds_is_a_message(value):
    with pytest.raises(forms._FieldError):
        forms.iso_week(value)


@pytest.mark.parametrize("value", ["0001-01-01T00:00", "9999-12-31T23:59", "２０２６-11-01T08:00"])
def test_local_datetime_bounds_and_ascii(value):
    with pytest.raises(forms._FieldError):
        forms.local_datetime(value, label="thời gian")


def test_choice_of_a_list_or_object_is_a_message():
    from fieldkit.models import Outcome

    for value in (["met"], {"met": 1}):
        assert "không hợp lệ" in _refused(lambda v=value: forms.choice(v, Outcome, label="x"))


def test_checked_text_raises_invalid_on_its_field():
    with pytest.raises(Invalid) as refused:
        forms.checked_text("Thôn\x1b", field="name", label="tên thôn")
    assert refused.value.errors["name"].startswith("Tên thôn có ký tự lạ")
    assert forms.checked_text("Tho\u0302n", field="name", label="tên thôn") == "Thôn"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(st.characters(codec=None, exclude_categories=())),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


@given(json_values)
def test_every_parser_answers_any_json_value_with_a_value_or_a_message(value):
    parsers = [
        lambda: forms.text(value, required=False, label="x"),
        lambda: forms.integer(value, label="x", minimum=0, maximum=10),
        lambda: forms.yes_no(value, label="x"),
        lambda: forms.uuid(value),
        lambda: forms.local_datetime(value, label="x"),
        lambda: forms.calendar_date(value, label="x"),
        lambda: forms.iso_week(value),
        lambda: forms.parse_id(value),
    ]
    for parse in parsers:
        with contextlib.suppress(forms._FieldError):
            parse()
