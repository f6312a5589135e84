"""What people type, made safe to store once, on the way in, whichever way it came (web form,
workbook, CSV, API, CLI).

`clean_text` normalises free text: a vertical tab or form feed (Word's soft line break and page
break) and the Unicode line/paragraph separators become line breaks, other control characters
are dropped, NUL and lone surrogates are refused (PostgreSQL cannot store the first, no encoder
writes the second), and a length limit holds.  `read_decimal` reads a plain decimal number within
a magnitude and a number of places that both databases store exactly.  Errors are Chinese
sentences; callers name the field.  Pure: no database, no Flask.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# Below 10^11 with at most 4 decimals a number has at most 15 significant digits: SQLite's REAL
# gives it back exactly and PostgreSQL's NUMERIC(20, 4) holds it.  1000 亿 of any unit is far
# beyond any budget (万元), count or area a bureau reports.
MAX_MAGNITUDE = Decimal(10) ** 11
MAX_PLACES = 4

_LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x01-\x08\x0e-\x1f\x7f-\x9f]")  # after line breaks are mapped; tab and LF stay
_BLANK_LINES = re.compile(r"[ \t]+\n")
_PLAIN_DECIMAL = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


class InputError(ValueError):
    """Text or a number that cannot be taken; `message` says why (Chinese, without the field name)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def unstorable(text: str) -> str | None:
    """Why TEXT can be stored nowhere (NUL, a lone surrogate), or None."""
    if "\x00" in text:
        return "含有空字符（NUL），请删除后重试"
    if any("\ud800" <= c <= "\udfff" for c in text):
        return "含有无法识别的字符（不成对的 UTF-16 代理项），请检查复制来源"
    return None


def clean_text(value: object, max_length: int, *, multiline: bool = True) -> str:
    """VALUE as stored: control characters mapped or dropped, ends stripped, at most MAX_LENGTH
    characters.  A single-line field (names, addresses) gets spaces for line breaks and tabs."""
    text = "" if value is None else str(value)
    problem = unstorable(text)
    if problem:
        raise InputError(problem)
    text = _CONTROLS.sub("", _LINE_BREAKS.sub("\n", text))
    if multiline:
        text = _BLANK_LINES.sub("\n", text)
    else:
        text = re.sub(r"[\t\n]+", " ", text)
    text = text.strip()
    if len(text) > max_length:
        raise InputError(f"不能超过 {max_length} 个字（现有 {len(text)} 个字）")
    return text


def read_decimal(
    text: str, *, places: int = MAX_PLACES, minimum: Decimal | None = Decimal(0), maximum: Decimal | None = None
) -> Decimal:
    """A plain decimal (`12`, `-3.5`; no exponent, NaN or Infinity) with at most PLACES decimals,
    below MAX_MAGNITUDE and within [MINIMUM, MAXIMUM] where given."""
    cleaned = (text or "").strip()
    if not _PLAIN_DECIMAL.match(cleaned):
        raise InputError(f"「{cleaned[:40]}」不是数字")
    try:
        number = Decimal(cleaned)
    except InvalidOperation as exc:  # the pattern admits only plain decimals; kept for safety
        raise InputError(f"「{cleaned[:40]}」不是数字") from exc
    check_decimal(number, places=places, minimum=minimum, maximum=maximum)
    return number


def check_decimal(
    number: Decimal,
    *,
    places: int | None = MAX_PLACES,
    minimum: Decimal | None = Decimal(0),
    maximum: Decimal | None = None,
) -> None:
    """The domain every stored number keeps: finite, below MAX_MAGNITUDE, at most PLACES decimals
    (None: the column rounds, as for a target converted from 元 to 万元)."""
    if not number.is_finite():
        raise InputError("不是有限的数字")
    if abs(number) >= MAX_MAGNITUDE:
        raise InputError("数值过大：绝对值应小于 1000 亿（100,000,000,000）")
    if places == 0 and number != number.to_integral_value():
        raise InputError("应为整数")
    exponent = number.as_tuple().exponent  # an int: the number is finite
    if places and isinstance(exponent, int) and exponent < -places:
        if number != number.quantize(Decimal(1).scaleb(-places)):
            raise InputError(f"最多保留 {places} 位小数")
    if minimum is not None and number < minimum:
        raise InputError("不能为负数" if minimum == 0 else f"不能小于 {minimum}")
    if maximum is not None and number > maximum:
        raise InputError(f"不能超过 {maximum}")
