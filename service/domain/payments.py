"""Treasury payment records (国库支付记录) as a budget system exports them, and the month-ends they count to.

A file is a table with 项目编号, 支付日期 (or 月份, for monthly totals) and 金额 whose header states
the unit (`金额（万元）` or `金额（元）`); other columns (摘要, 收款人…) are ignored.  Amounts are
kept in 元 with 2 decimals, so a 万元 figure may carry up to 6.  Reading is all or nothing: every
problem is reported with its row, field and reason.  Pure (docs/domain.md §6.9).
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .inputs import InputError, check_decimal

PROJECT = "项目编号"
PAID_ON = "支付日期"
MONTH = "月份"
AMOUNT = "金额"
_AMOUNT_HEADER = re.compile(r"^金额\s*[（(]?\s*(万元|元)\s*[)）]?$")
_DAY = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_DAY_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_MONTH = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*月?$")
_MONTH_COMPACT = re.compile(r"^(\d{4})(\d{2})$")
YUAN_PER_WAN = Decimal(10000)
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PaymentLine:
    """One payment (or one month's total) as the file says it."""

    location: str  # 第 N 行
    project: str
    paid_on: date  # a 月份 row counts on the month's last day
    by_month: bool
    amount: Decimal  # 元, 2 decimals


@dataclass(frozen=True)
class LineProblem:
    location: str
    field: str
    message: str


def month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def last_month_end(year: int, as_of: date) -> date | None:
    """The latest month-end of YEAR on or before AS_OF (31 December after the year; None before 31 January)."""
    if as_of >= date(year, 12, 31):
        return date(year, 12, 31)
    if as_of < date(year, 1, 31):
        return None
    end = month_end(as_of.year, as_of.month)
    if as_of == end:
        return end
    previous = as_of.replace(day=1)
    return month_end(previous.year, previous.month - 1) if previous.month > 1 else None


def to_wan(yuan: Decimal) -> Decimal:
    """元 → 万元, to 2 places (how every page and workbook shows money)."""
    return (yuan / YUAN_PER_WAN).quantize(CENT, rounding=ROUND_HALF_UP)


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip()


def parse_day(text: str) -> date | None:
    cleaned = _clean(text)
    match = _DAY.match(cleaned) or _DAY_COMPACT.match(cleaned)
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def parse_month(text: str) -> date | None:
    """`2025-07`, `2025年7月`, `202507` (or a whole date, from a spreadsheet's date cell) → the month's last day."""
    cleaned = _clean(text)
    match = _MONTH.match(cleaned) or _MONTH_COMPACT.match(cleaned)
    if match:
        year, month = int(match.group(1)), int(match.group(2))
        return month_end(year, month) if 1 <= month <= 12 else None
    day = parse_day(cleaned)
    return month_end(day.year, day.month) if day else None


def parse_amount(text: str, unit: str) -> tuple[Decimal | None, str | None]:
    """The amount in 元, or why it cannot be taken."""
    cleaned = re.sub(r"[,，\s¥￥]", "", _clean(text))
    if not cleaned:
        return None, "不能为空"
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        return None, f"「{_clean(text)[:40]}」不是数字"
    if not number.is_finite():
        return None, f"「{_clean(text)[:40]}」不是数字"
    if number <= 0:
        return None, "应大于 0（退款请在预算系统中冲减后按净额导出）"
    yuan = number * YUAN_PER_WAN if unit == "万元" else number
    if yuan != yuan.quantize(CENT):
        return None, f"最多精确到分（{'6' if unit == '万元' else '2'} 位小数）"
    try:
        check_decimal(yuan, places=2, minimum=Decimal(0))
    except InputError as exc:
        return None, exc.message
    return yuan.quantize(CENT), None


def read_payment_table(rows: Sequence[tuple[str, Sequence[str]]]) -> tuple[list[PaymentLine], list[LineProblem]]:
    """ROWS as (location, cells), the header first; every line, or every problem (fields named as written)."""
    original = rows
    rows = [(where, [_clean(c) for c in cells]) for where, cells in rows if any(_clean(c) for c in cells)]
    if not rows:
        return [], [LineProblem("文件", "表头", "文件是空的")]
    where, header = rows[0]
    written = {i: (name or "").strip() for i, name in enumerate(next(c for w, c in original if w == where))}
    problems: list[LineProblem] = []
    columns = {name: i for i, name in enumerate(header) if name}
    amounts = [(i, m.group(1)) for i, name in enumerate(header) if (m := _AMOUNT_HEADER.match(name))]
    if PROJECT not in columns:
        problems.append(LineProblem(where, "表头", f"缺少「{PROJECT}」列"))
    dated = [name for name in (PAID_ON, MONTH) if name in columns]
    if len(dated) != 1:
        problems.append(
            LineProblem(
                where, "表头", f"应有「{PAID_ON}」或「{MONTH}」列（二者之一），实为「{'、'.join(dated) or '无'}」"
            )
        )
    if len(amounts) != 1:
        bare = AMOUNT in columns
        reason = (
            "请在表头注明单位：「金额（万元）」或「金额（元）」" if bare else "应有一列「金额（万元）」或「金额（元）」"
        )
        problems.append(LineProblem(where, "表头", reason))
    if problems:
        return [], problems
    amount_col, unit = amounts[0]
    by_month = dated[0] == MONTH
    date_col, project_col = columns[dated[0]], columns[PROJECT]
    lines = []
    for where, cells in rows[1:]:

        def cell(index: int, cells: Sequence[str] = cells) -> str:
            return cells[index] if index < len(cells) else ""

        project = cell(project_col)
        if not project:
            problems.append(LineProblem(where, PROJECT, "不能为空"))
        paid_on = (parse_month if by_month else parse_day)(cell(date_col))
        if paid_on is None:
            example = "2025-07 或 2025年7月" if by_month else "2025-07-15 或 2025/7/15"
            problems.append(LineProblem(where, dated[0], f"「{cell(date_col)[:40]}」不是日期（例如 {example}）"))
        amount, refused = parse_amount(cell(amount_col), unit)
        if refused:
            problems.append(LineProblem(where, written[amount_col], refused))
        if project and paid_on is not None and amount is not None:
            lines.append(PaymentLine(where, project, paid_on, by_month, amount))
    return (lines, []) if not problems else ([], problems)


def occurrences(lines: Sequence[PaymentLine]) -> list[int]:
    """For each line, how many times its (project, day, kind, amount) occurred before it in the file, plus one:
    two equal payments on one day are two payments, and a file read again matches its own records."""
    seen: dict[tuple[str, date, bool, Decimal], int] = {}
    numbers = []
    for line in lines:
        key = (line.project, line.paid_on, line.by_month, line.amount)
        seen[key] = seen.get(key, 0) + 1
        numbers.append(seen[key])
    return numbers
