"""Text and numbers made safe to store once, on the way in (pure domain)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service.domain.inputs import MAX_MAGNITUDE, InputError, check_decimal, clean_text, read_decimal


@pytest.mark.parametrize(
    "typed, stored",
    [
        ("第一行\x0b第二行", "第一行\n第二行"),  # Word's soft line break
        ("上页\x0c下页", "上页\n下页"),  # page break
        ("甲\r\n乙\r丙", "甲\n乙\n丙"),  # a textarea's CRLF
        ("甲\u2028乙\u2029丙\x85丁", "甲\n乙\n丙\n丁"),
        ("响\x07铃\x1b[0m\x7f\x9b", "响铃[0m"),  # C0 and C1 controls dropped
        ("  两端空白 \t\n", "两端空白"),
        ("行尾空格   \n下一行", "行尾空格\n下一行"),
    ],
)
def test_control_characters_are_mapped_or_dropped(typed, stored):
    assert clean_text(typed, 100) == stored


def test_single_line_fields_get_spaces_for_breaks():
    assert clean_text("张\x0b三\t丰", 100, multiline=False) == "张 三 丰"


@pytest.mark.parametrize(
    "typed, message",
    [
        ("a\x00b", "含有空字符（NUL），请删除后重试"),
        ("a\udc80b", "含有无法识别的字符（不成对的 UTF-16 代理项），请检查复制来源"),
        ("字" * 101, "不能超过 100 个字（现有 101 个字）"),
    ],
)
def test_unstorable_or_long_text_is_refused(typed, message):
    with pytest.raises(InputError) as refused:
        clean_text(typed, 100)
    assert refused.value.message == message


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=60))
def test_cleaned_text_is_stable_and_has_no_controls_but_tab_and_newline(text):
    cleaned = clean_text(text, 1000)
    assert clean_text(cleaned, 1000) == cleaned
    assert not any((ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F for c in cleaned)
    cleaned.encode("utf-8")  # storable anywhere


@pytest.mark.parametrize(
    "typed, message",
    [
        ("NaN", "「NaN」不是数字"),
        ("sNaN", "「sNaN」不是数字"),
        ("-Infinity", "「-Infinity」不是数字"),
        ("1E+3", "「1E+3」不是数字"),
        ("9" * 400, "数值过大：绝对值应小于 1000 亿（100,000,000,000）"),
        ("0.001", "最多保留 2 位小数"),
        ("-1", "不能为负数"),
        ("101", "不能超过 100"),
    ],
)
def test_read_decimal_refuses_what_no_column_keeps(typed, message):
    with pytest.raises(InputError) as refused:
        read_decimal(typed, places=2, maximum=Decimal(100))
    assert refused.value.message == message


def test_read_decimal_takes_plain_numbers_and_trailing_zeros():
    assert read_decimal(" 12.50 ", places=2) == Decimal("12.50")
    assert read_decimal("12.5000", places=2) == Decimal("12.5")
    assert read_decimal("-3", minimum=None) == Decimal(-3)


@settings(max_examples=2000, deadline=None)
@given(
    st.decimals(
        min_value=-MAX_MAGNITUDE + Decimal("0.0001"),
        max_value=MAX_MAGNITUDE - Decimal("0.0001"),
        places=4,
        allow_nan=False,
        allow_infinity=False,
    )
)
def test_every_number_in_the_domain_survives_sqlite_real(number):
    """SQLite keeps NUMERIC columns as REAL and SQLAlchemy reads them back at the column's scale:
    every number the domain accepts comes back exactly."""
    check_decimal(number, minimum=None)
    assert Decimal(f"{float(number):.4f}") == number
