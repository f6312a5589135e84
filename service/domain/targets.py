"""The target-value grammar: what a 指标值 cell means to the machine.

`parse_target` turns the text a division wrote into a comparator, a number in a
canonical unit, a due date or a qualitative marker, and lists every doubt it has
as a finding for a person to look at. It never raises on any input and never
guesses silently: every inference is reported.

Pure: no database, no Flask.  docs/domain.md §3 describes the wording it follows.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .vocabulary import CEILINGS, Comparator, Direction, Measure, Per, Severity, StatedDirection, TargetKind


@dataclass(frozen=True)
class TargetFinding:
    """A doubt about how a 指标值 was read, for a person to settle (stored as a `FindingRow`)."""

    code: str
    severity: Severity
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


# Units of a value measured afresh each time (a rate, a score, a duration), not accumulated.
LATEST_UNITS = {"%", "倍", "分", "年", "月", "工作日", "小时", "分钟", "天", "周"}


@dataclass
class Target:
    """An indicator's target: what `parse_target` reads from a 指标值, and what progress, status
    and scoring hold reported values against (`service.stored_targets` reads it from a row)."""

    kind: TargetKind
    comparator: Comparator | None = None
    value: Decimal | None = None
    unit: str = ""
    per: Per | None = None
    direction: Direction = Direction.JUDGED
    due: date | None = None
    name: str = ""  # 三级指标 and 二级指标: they tell a share capped at 100% from a growth rate
    level2: str = ""
    findings: list[TargetFinding] = field(default_factory=list)

    @property
    def measure(self) -> Measure:
        """How a reported value is held against the target (docs/domain.md §5.2)."""
        if self.kind == TargetKind.DEADLINE:
            return Measure.EVENT
        if self.kind == TargetKind.QUALITATIVE:
            return Measure.STATEMENT
        if (
            self.kind == TargetKind.DURATION
            or self.unit in LATEST_UNITS
            or self.per in (Per.QUARTER, Per.MONTH, Per.ISSUE)
        ):
            return Measure.LATEST
        return Measure.CUMULATIVE

    @property
    def is_rate(self) -> bool:
        """A share that cannot exceed 100% (达标率, 满意度); growth rates can."""
        words = self.name + self.level2
        return (
            self.unit == "%"
            and ("率" in self.name or "满意度" in words)
            and not any(w in self.name for w in ("增长", "增幅", "提升", "提高"))
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "comparator": self.comparator,
            "value": decimal_to_json(self.value),
            "unit": self.unit,
            "per": self.per,
            "direction": self.direction,
            "due": self.due.isoformat() if self.due else None,
            "findings": [f.to_dict() for f in self.findings],
        }

    def reading(self) -> str:
        """A short Chinese rendering of the machine's reading, e.g. `≥ 80000 人/年`."""
        if self.kind == TargetKind.DEADLINE:
            return f"{self.due.isoformat()} 前" if self.due else "截止日期"
        if self.kind == TargetKind.QUALITATIVE:
            return "定性（人工评判）"
        number = "?" if self.value is None else format_decimal(self.value)
        per = f"/{Per(self.per).label}" if self.per else ""
        return f"{Comparator.label_of(self.comparator)} {number}{self.unit}{per}".strip()


def decimal_to_json(value: Decimal | None) -> int | float | None:
    if value is None:
        return None
    if value == value.to_integral_value():
        return int(value)
    return float(value)


def format_decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


# ---------------------------------------------------------------- vocabulary

# Longest first, so `≥` is not read as part of a word and `不超过` beats `超过`.
COMPARATOR_WORDS = [
    ("不少于", Comparator.AT_LEAST),
    ("不低于", Comparator.AT_LEAST),
    ("不小于", Comparator.AT_LEAST),
    ("大于等于", Comparator.AT_LEAST),
    ("不超过", Comparator.AT_MOST),
    ("不高于", Comparator.AT_MOST),
    ("不大于", Comparator.AT_MOST),
    ("小于等于", Comparator.AT_MOST),
    ("≥", Comparator.AT_LEAST),
    ("≧", Comparator.AT_LEAST),
    (">=", Comparator.AT_LEAST),
    ("⩾", Comparator.AT_LEAST),
    ("≤", Comparator.AT_MOST),
    ("≦", Comparator.AT_MOST),
    ("<=", Comparator.AT_MOST),
    ("⩽", Comparator.AT_MOST),
    ("大于", Comparator.MORE_THAN),
    ("超过", Comparator.MORE_THAN),
    ("高于", Comparator.MORE_THAN),
    (">", Comparator.MORE_THAN),
    ("小于", Comparator.LESS_THAN),
    ("低于", Comparator.LESS_THAN),
    ("<", Comparator.LESS_THAN),
    ("等于", Comparator.EQUAL),
    ("=", Comparator.EQUAL),
]
SUFFIX_COMPARATORS = [("以上", Comparator.AT_LEAST), ("以内", Comparator.AT_MOST), ("以下", Comparator.AT_MOST)]

# Canonical unit -> spellings.  Money is kept in 万元, the unit of the tables.
UNIT_SPELLINGS: dict[str, list[str]] = {
    "%": ["%", "百分比", "百分之", "％"],
    "万元": ["万元"],
    "平方米": ["平方米", "平米", "㎡"],
    "工作日": ["工作日"],
    "小时": ["小时", "个小时"],
    "分钟": ["分钟"],
    "天": ["天", "日"],
    "周": ["周"],
    "月": ["个月", "月"],
    "年": ["年"],
    "台次": ["台次"],
    "家次": ["家次"],
    "人次": ["人次"],
    "批次": ["批次"],
    "TEU": ["TEU", "标箱"],
}
# Units of things counted one by one: an actual in them is a whole number (unless the target is not).
DISCRETE_UNITS = frozenset(
    {"个", "项", "次", "台", "套", "件", "篇", "本", "份", "期", "幅", "条", "家", "场", "人", "笔", "户", "所", "处"}
    | {"辆", "张", "册", "部", "名", "位", "批", "座", "块", "台次", "家次", "人次", "批次"}
)
# Units read as written after a number (besides UNIT_SPELLINGS): the counted ones and a few measures.
COUNT_UNITS = sorted(DISCRETE_UNITS - UNIT_SPELLINGS.keys()) + ["倍", "吨", "公里", "元", "分"]
TIME_UNITS = {"工作日", "小时", "分钟", "天", "周", "月", "年"}
PER_SPELLINGS = [("季度", Per.QUARTER), ("季", Per.QUARTER), ("年", Per.YEAR), ("月", Per.MONTH), ("期", Per.ISSUE)]

_SPELLING_TO_UNIT: list[tuple[str, str]] = sorted(
    [(s, canon) for canon, spellings in UNIT_SPELLINGS.items() for s in spellings] + [(u, u) for u in COUNT_UNITS],
    key=lambda pair: -len(pair[0]),
)
MULTIPLIERS = {"千": Decimal(1000), "万": Decimal(10000), "亿": Decimal(100000000)}

COST_NAME_WORDS = ("成本", "费用", "支出")
MONEY_CONTEXT_WORDS = COST_NAME_WORDS + ("金额", "资金", "经费", "预算", "补贴", "补助", "额")
SATISFACTION_WORD = "满意"

_NUMBER = re.compile(r"(?<![\d.])-?\d+(?:\.\d+)?")
_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}(?!\d))")
_SPACES = re.compile(r"\s+")

# Deadline wording (docs/domain.md §3.3).  Each pattern yields (year or None, month, day) rules.
_DAY = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(\d{1,2})日(?:前|之前|以前)")
_MONTH_END = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(?:底|末)")
_BEFORE_MONTH = re.compile(r"(?:(\d{4})年)?(\d{1,2})月(?:前|之前|以前)")
_YEAR_END = re.compile(r"(?:(\d{4})\s*)?(?:年年底|年年内|全年底|年底|年末|年内|全年内)")
_DEADLINE_HINT = re.compile(r"前|底|末|年内")

_PER_FROM_NAME = [
    ("每季度", Per.QUARTER),
    ("每季", Per.QUARTER),
    ("每月", Per.MONTH),
    ("每年", Per.YEAR),
    ("每期", Per.ISSUE),
]

# Targets relative to last year (docs/domain.md §3.7): read against 历史值, last year's annual actual.
_LAST_YEAR = r"(?:上年度?|上一年度?|去年)(?:同期)?(?:实际)?(?:水平|实际值|完成值|值|数值|数)?"
_BOUND_WORDS = "|".join(re.escape(word) for word, _ in COMPARATOR_WORDS)
_RELATIVE_BOUND = re.compile(rf"^(?P<cmp>{_BOUND_WORDS})?{_LAST_YEAR}(?P<suffix>以上|以内|以下)?$")
_RELATIVE_SAME = re.compile(rf"^(?:与|和|同){_LAST_YEAR}持平$|^持平于?{_LAST_YEAR}$")
_GROWTH_UP = ("增长", "增加", "提高", "提升", "上升", "多")
_GROWTH_DOWN = ("下降", "减少", "降低", "压减", "少")
_RELATIVE_CHANGE = re.compile(
    rf"^(?:(?:较|比|相比|对比){_LAST_YEAR}|同比)(?P<verb>{'|'.join(_GROWTH_UP + _GROWTH_DOWN)})"
    rf"(?P<cmp>{_BOUND_WORDS})?(?P<number>\d+(?:\.\d+)?)(?P<unit>个百分点|百分点|%|[^\d]*?)(?P<suffix>以上|以内|以下)?$"
)


# ------------------------------------------------------------------ helpers


def _clean(text: str | None) -> str:
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", str(text))
    text = _THOUSANDS.sub("", text)
    return _SPACES.sub("", text)


def _is_cost(level2: str, name: str, description: str) -> bool:
    return "成本" in level2 or any(w in name for w in COST_NAME_WORDS)


def _is_money_context(level2: str, name: str, description: str) -> bool:
    return "成本" in level2 or any(w in name or w in description for w in MONEY_CONTEXT_WORDS)


def _is_timeliness(level2: str) -> bool:
    return "时效" in level2


def _last_day(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def find_deadline(text: str, fiscal_year: int | None) -> tuple[date | None, str | None]:
    """The due date the wording names, and an error message if it names an impossible one."""
    text = _clean(text)
    if not text or not _DEADLINE_HINT.search(text):
        return None, None

    def year_of(group: str | None) -> int | None:
        return int(group) if group else fiscal_year

    try:
        if m := _DAY.search(text):
            year = year_of(m.group(1))
            if year is None:
                return None, "截止日期缺少年份"
            return date(year, int(m.group(2)), int(m.group(3))), None
        if m := _MONTH_END.search(text):
            year = year_of(m.group(1))
            if year is None:
                return None, "截止日期缺少年份"
            return _last_day(year, int(m.group(2))), None
        if m := _BEFORE_MONTH.search(text):
            year = year_of(m.group(1))
            if year is None:
                return None, "截止日期缺少年份"
            month = int(m.group(2))
            if not 1 <= month <= 12:
                raise ValueError(month)
            return (date(year - 1, 12, 31) if month == 1 else _last_day(year, month - 1)), None
        if m := _YEAR_END.search(text):
            year = year_of(m.group(1))
            if year is None:
                return None, "截止日期缺少年份"
            return date(year, 12, 31), None
    except (ValueError, OverflowError):
        return None, f"截止日期「{text}」不是有效日期"
    return None, None


@dataclass
class _Number:
    comparator: Comparator | None
    comparator_from: str  # "prefix", "suffix" or ""
    label: str
    value: Decimal
    unit_text: str  # everything after the number


def _split_number(text: str) -> _Number | None:
    match = _NUMBER.search(text)
    if not match:
        return None
    before, after = text[: match.start()], text[match.end() :]
    comparator, source = None, ""
    for word, symbol in COMPARATOR_WORDS:
        if before.endswith(word):
            comparator, source = symbol, "prefix"
            before = before[: -len(word)]
            break
    try:
        value = Decimal(match.group(0))
    except InvalidOperation:  # pragma: no cover - the regex admits only decimals
        return None
    return _Number(comparator, source, before, value, after)


def _read_unit(unit_text: str, money_context: bool) -> tuple[str, Decimal, Per | None, str, str]:
    """(canonical unit, scale, per, rest, multiplier) from the text after a number."""
    rest = unit_text
    scale = Decimal(1)
    multiplier = ""
    if rest[:1] in MULTIPLIERS and not rest.startswith("万元"):
        multiplier = rest[0]
        rest = rest[1:]
    unit = ""
    for spelling, canon in _SPELLING_TO_UNIT:
        if rest.startswith(spelling):
            unit, rest = canon, rest[len(spelling) :]
            break
    if multiplier:
        if unit == "元":  # 亿元, 千元 -> 万元
            unit, scale = "万元", MULTIPLIERS[multiplier] / Decimal(10000)
        elif unit == "" and multiplier == "万" and money_context:
            unit = "万元"
        else:
            scale = MULTIPLIERS[multiplier]
    elif unit == "元":
        unit, scale = "万元", Decimal(1) / Decimal(10000)
    per: Per | None = None
    if rest.startswith("/") or rest.startswith("每"):
        for spelling, name in PER_SPELLINGS:
            if rest[1:].startswith(spelling):
                per, rest = name, rest[1 + len(spelling) :]
                break
    return unit, scale, per, rest, multiplier


def _strip_suffix_comparator(rest: str) -> tuple[Comparator | None, str]:
    for word, symbol in SUFFIX_COMPARATORS:
        if rest.startswith(word):
            return symbol, rest[len(word) :]
    return None, rest


# ------------------------------------------------------------------ parse


@dataclass(frozen=True)
class History:
    """历史值: what a continuing indicator achieved last year (its annual actual), in UNIT."""

    value: Decimal
    unit: str = ""


def parse_target(
    value: str | None,
    level2: str | None = None,
    name: str | None = None,
    description: str | None = None,
    fiscal_year: int | None = None,
    history: History | None = None,
    stated_direction: str | None = None,
) -> Target:
    """Read one 指标值.  Never raises; doubts become findings.

    HISTORY is last year's actual of the indicator this one continues (a target such as 不低于上年
    is read against it); STATED_DIRECTION is the table's 指标方向 (正向/反向), when it has one."""
    raw = "" if value is None else str(value)
    text = _clean(raw)
    level2_c, name_c, desc_c = _clean(level2), _clean(name), _clean(description)
    findings: list[TargetFinding] = []

    if name_c and level2_c and name_c == level2_c:
        findings.append(
            TargetFinding(
                "name_repeats_level2",
                Severity.WARNING,
                f"三级指标名称「{name_c}」只是重复了二级指标，未说明具体衡量什么",
            )
        )

    target = _parse_relative(text, level2_c, name_c, desc_c, history, findings)
    if target is None:
        target = _parse_value(text, level2_c, name_c, desc_c, fiscal_year, findings)
    _check_stated_direction(target, stated_direction, findings)
    if target.kind == TargetKind.DEADLINE and target.due and fiscal_year and target.due.year != fiscal_year:
        findings.append(
            TargetFinding(
                "due_outside_year",
                Severity.WARNING,
                f"截止日期 {target.due.isoformat()} 不在 {fiscal_year} 预算年度内",
            )
        )
    target.findings = findings
    target.name, target.level2 = name or "", level2 or ""
    return target


def _comparator_of(word: str | None) -> Comparator | None:
    return next((symbol for spelling, symbol in COMPARATOR_WORDS + SUFFIX_COMPARATORS if spelling == word), None)


def _parse_relative(
    text: str, level2: str, name: str, description: str, history: History | None, findings: list[TargetFinding]
) -> Target | None:
    """`不低于上年`, `≥上年水平`, `与上年持平`, `较上年增长10%`, `同比下降5个百分点`: a number from 历史值."""
    if not text or ("上" not in text and "去年" not in text and "同比" not in text):
        return None
    cost = _is_cost(level2, name, description)
    compute: Callable[[Decimal], Decimal]
    if _RELATIVE_SAME.match(text):
        comparator, compute = Comparator.EQUAL, (lambda h: h)
    elif match := _RELATIVE_BOUND.match(text):
        written = _comparator_of(match.group("cmp")) or _comparator_of(match.group("suffix"))
        comparator = written or (Comparator.AT_MOST if cost else Comparator.AT_LEAST)
        if written is None:
            findings.append(
                TargetFinding(
                    "comparator_inferred",
                    Severity.INFO,
                    f"未写比较符号，按「{comparator.label}」上年水平理解",
                )
            )
        compute = lambda h: h  # noqa: E731
    elif match := _RELATIVE_CHANGE.match(text):
        up = match.group("verb") in _GROWTH_UP
        amount = Decimal(match.group("number"))
        unit = match.group("unit")
        comparator = (
            _comparator_of(match.group("cmp"))
            or _comparator_of(match.group("suffix"))
            or (Comparator.AT_LEAST if up else Comparator.AT_MOST)
        )
        sign = 1 if up else -1
        if unit == "%":
            compute = lambda h: h * (1 + sign * amount / 100)  # noqa: E731 - a rate of change
        else:  # 个百分点, or an amount in the indicator's own unit
            compute = lambda h: h + sign * amount  # noqa: E731
    else:
        return None
    direction = Direction.LOWER_BETTER if comparator in CEILINGS else Direction.HIGHER_BETTER
    if history is None:
        findings.append(
            TargetFinding(
                "history_missing",
                Severity.ERROR,
                f"指标值「{text}」相对上年，但没有历史值（上年全年实际完成值）：请关联上年指标，或改写为具体数值",
            )
        )
        return Target(TargetKind.NUMERIC, comparator, None, "", None, direction)
    value = compute(Decimal(history.value)).quantize(Decimal("0.0001")).normalize()
    findings.append(
        TargetFinding(
            "from_history",
            Severity.INFO,
            f"「{text}」按历史值 {format_decimal(Decimal(history.value))}{history.unit} 计算为 "
            f"{comparator.label} {format_decimal(value)}{history.unit}",
        )
    )
    return Target(TargetKind.NUMERIC, comparator, value, history.unit, None, direction)


def _check_stated_direction(target: Target, stated: str | None, findings: list[TargetFinding]) -> None:
    """A 指标方向 column settles an unwritten comparator and is checked against a written one."""
    if not stated or target.kind not in (TargetKind.NUMERIC, TargetKind.DURATION) or target.comparator is None:
        return
    wanted = Comparator.AT_MOST if stated == StatedDirection.NEGATIVE else Comparator.AT_LEAST
    inferred = next((f for f in findings if f.code == "comparator_inferred"), None)
    if inferred is not None:
        findings.remove(inferred)
        if target.comparator != wanted:
            target.comparator = wanted
            target.direction = Direction.LOWER_BETTER if wanted in CEILINGS else Direction.HIGHER_BETTER
        findings.append(
            TargetFinding(
                "comparator_from_direction",
                Severity.INFO,
                f"未写比较符号，按指标方向「{stated}」理解为「{wanted.label}」",
            )
        )
        return
    lower = target.comparator in CEILINGS
    if lower != (stated == StatedDirection.NEGATIVE) and target.comparator != Comparator.EQUAL:
        findings.append(
            TargetFinding(
                "direction_conflict",
                Severity.WARNING,
                f"指标方向为「{stated}」，但指标值写的是「{Comparator.label_of(target.comparator)}」，请确认",
            )
        )


def _parse_value(
    text: str,
    level2: str,
    name: str,
    description: str,
    fiscal_year: int | None,
    findings: list[TargetFinding],
) -> Target:
    if not text:
        due, _ = find_deadline(description or name, fiscal_year) if _is_timeliness(level2) else (None, None)
        if due:
            findings.append(TargetFinding("due_from_text", Severity.INFO, "指标值为空，截止日期取自指标名称或描述"))
            return Target(TargetKind.DEADLINE, direction=Direction.ON_OR_BEFORE, due=due)
        findings.append(TargetFinding("missing_value", Severity.ERROR, "指标值为空"))
        return Target(TargetKind.QUALITATIVE, direction=Direction.JUDGED)

    due, date_error = find_deadline(text, fiscal_year)
    if date_error:
        findings.append(TargetFinding("invalid_date", Severity.ERROR, date_error))
        return Target(TargetKind.DEADLINE, direction=Direction.ON_OR_BEFORE)
    if due:
        return Target(TargetKind.DEADLINE, direction=Direction.ON_OR_BEFORE, due=due)

    number = _split_number(text)
    if number is not None:
        target = _parse_numeric(number, text, level2, name, description, findings)
        if target is not None:
            return target

    return _parse_qualitative(text, level2, name, description, fiscal_year, findings)


def _parse_numeric(
    number: _Number, text: str, level2: str, name: str, description: str, findings: list[TargetFinding]
) -> Target | None:
    money = _is_money_context(level2, name, description)
    unit, scale, per, rest, multiplier = _read_unit(number.unit_text, money)
    comparator = number.comparator
    suffix_comparator, rest = _strip_suffix_comparator(rest)
    if comparator is None and suffix_comparator:
        comparator = suffix_comparator

    label = number.label
    if comparator is None and (len(rest) > 2 or (label and rest)):
        # A number inside prose (`2025年全部项目预算`): not a measurable value.
        return None

    value = (number.value * scale).normalize()
    timed = unit in TIME_UNITS and (_is_timeliness(level2) or comparator in CEILINGS)
    kind = TargetKind.DURATION if timed else TargetKind.NUMERIC
    cost = _is_cost(level2, name, description)

    if label:
        findings.append(
            TargetFinding(
                "label_glued",
                Severity.WARNING,
                f"指标值前附有文字「{label}」，数值按 {format_decimal(value)}{unit} 读取，请确认",
            )
        )
    if rest:
        if unit == "" and not multiplier:
            findings.append(
                TargetFinding(
                    "unknown_unit",
                    Severity.WARNING,
                    f"无法识别的单位「{rest}」：像是指标名称粘在了数值后面，请改为规范单位",
                )
            )
        elif len(rest) <= 2:
            findings.append(
                TargetFinding(
                    "unit_noun",
                    Severity.INFO,
                    f"单位后附有名词「{rest}」，按「{unit}」计量",
                )
            )
        else:
            findings.append(
                TargetFinding(
                    "trailing_text",
                    Severity.WARNING,
                    f"数值和单位后还有文字「{rest}」，指标值应只写数值和单位，请确认口径",
                )
            )
    if unit == "分":
        findings.append(TargetFinding("suspect_unit", Severity.WARNING, "单位「分」少见，是否应为「份」？"))
    if unit == "月" and comparator is None and kind == TargetKind.NUMERIC:
        findings.append(
            TargetFinding(
                "ambiguous_month",
                Severity.WARNING,
                f"「{format_decimal(value)}月」可能指月数，也可能指月份，请写明（如「≤12个月」或「12月底前」）",
            )
        )

    if comparator is None:
        if cost or kind == TargetKind.DURATION:
            comparator = Comparator.AT_MOST
        else:
            comparator = Comparator.AT_LEAST
            findings.append(
                TargetFinding(
                    "comparator_inferred",
                    Severity.INFO,
                    "未写比较符号，按「≥」（达到或超过）理解",
                )
            )
        if kind == TargetKind.DURATION:
            findings.append(
                TargetFinding(
                    "comparator_inferred",
                    Severity.INFO,
                    "未写比较符号，时限按「≤」（不超过）理解",
                )
            )

    direction = Direction.LOWER_BETTER if comparator in CEILINGS else Direction.HIGHER_BETTER

    if SATISFACTION_WORD in name + level2 and comparator in CEILINGS:
        findings.append(
            TargetFinding(
                "inverted_comparator",
                Severity.WARNING,
                f"满意度指标使用了上限「{Comparator(comparator).label}」，通常应为「≥」，请确认是否写反",
            )
        )
    if unit == "%" and comparator in CEILINGS and value >= 100:
        findings.append(
            TargetFinding(
                "vacuous_bound",
                Severity.WARNING,
                f"比率上限「{Comparator(comparator).label}{format_decimal(value)}%」恒成立，不能衡量绩效，请确认（通常应为「≥」或「=100%」）",
            )
        )
    if unit == "%" and value > 100 and ("率" in name or SATISFACTION_WORD in name + level2):
        findings.append(TargetFinding("rate_over_100", Severity.WARNING, "比率目标超过 100%，请确认"))
    if kind == TargetKind.DURATION and name.endswith("率"):
        findings.append(
            TargetFinding(
                "unit_mismatch",
                Severity.WARNING,
                f"指标名称是比率（{name}），但指标值是时长「{format_decimal(value)}{unit}」，请确认口径",
            )
        )
    if "成本" in level2 and comparator in (Comparator.AT_LEAST, Comparator.MORE_THAN):
        findings.append(
            TargetFinding(
                "cost_lower_bound",
                Severity.WARNING,
                "成本指标设为下限（≥）：看起来是节约额、减免额或补贴额，而不是成本上限，请确认口径",
            )
        )
    if kind == TargetKind.NUMERIC and per is None:
        for word, per_name in _PER_FROM_NAME:
            if word in name or word in description:
                per = per_name
                findings.append(
                    TargetFinding(
                        "per_from_name",
                        Severity.INFO,
                        f"按名称中的「{word}」理解为每{Per(per_name).label}的数量",
                    )
                )
                break

    return Target(kind, comparator, value, unit, per, direction)


def _parse_qualitative(
    text: str,
    level2: str,
    name: str,
    description: str,
    fiscal_year: int | None,
    findings: list[TargetFinding],
) -> Target:
    if _is_timeliness(level2):
        due, _ = find_deadline(description, fiscal_year)
        if due is None:
            due, _ = find_deadline(name, fiscal_year)
        if due:
            findings.append(TargetFinding("due_from_text", Severity.INFO, "指标值未写日期，截止日期取自指标名称或描述"))
            return Target(TargetKind.DEADLINE, direction=Direction.ON_OR_BEFORE, due=due)
        findings.append(
            TargetFinding(
                "no_date_year_end",
                Severity.INFO,
                "时效指标未写具体日期，提醒按预算年度末（12月31日）安排",
            )
        )
    unit_only = next((canon for spelling, canon in _SPELLING_TO_UNIT if text == spelling), None)
    if unit_only:
        findings.append(TargetFinding("missing_number", Severity.ERROR, f"指标值只有单位「{text}」，缺少数值"))
        cost = _is_cost(level2, name, description)
        return Target(
            TargetKind.NUMERIC,
            Comparator.AT_MOST if cost else None,
            None,
            unit_only,
            None,
            Direction.LOWER_BETTER if cost else Direction.HIGHER_BETTER,
        )
    if text in (name, description):
        findings.append(
            TargetFinding(
                "not_measurable",
                Severity.INFO,
                "指标值只是重复了指标名称，无法衡量，评价时需人工判断",
            )
        )
    elif "数量" in level2:
        findings.append(
            TargetFinding(
                "qualitative_quantity",
                Severity.WARNING,
                "数量指标没有可计量的数值，请补充具体数量",
            )
        )
    return Target(TargetKind.QUALITATIVE, direction=Direction.JUDGED)
