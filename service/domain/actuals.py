"""What a division reports for one indicator in one period, read from what people type.

`read_actual` turns raw text (from the web form, a workbook row, a CSV row or the API)
into a clean `Actual` and a list of `FieldError`s that name the field and the reason in
Chinese.  `missing_for_submit` lists what a complete report still needs.  One set of
rules for every way in.  Pure: no database, no Flask.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from .inputs import MAX_PLACES, InputError, check_decimal, clean_text
from .periods import Period
from .progress import Light, needs_explanation, status_light
from .status import StatusSettings, linear_projection
from .targets import DISCRETE_UNITS, Target, format_decimal
from .vocabulary import REPORT_FIELD_LABELS, CauseCategory, Likelihood, Measure, TargetKind

NOT_DONE_WORDS = ("未完成", "尚未完成", "进行中", "否")
MAX_TEXT = 2000  # progress statements, causes, measures, reasons
MAX_SHORT_TEXT = 100  # dates, choices
TEXT_LIMITS = {
    "value": MAX_TEXT,
    "expected_on": MAX_SHORT_TEXT,
    "likelihood": MAX_SHORT_TEXT,
    "cause_category": MAX_SHORT_TEXT,
    "cause_text": MAX_TEXT,
    "measure_text": MAX_TEXT,
    "decrease_reason": MAX_TEXT,
    "forecast": MAX_SHORT_TEXT,
}
# The quarters whose report carries the division's full-year forecasts (全年预计执行数 / 全年预计完成值):
# the mid-year monitoring (执行监控) is filed from the Q2 and Q3 reports; Q1 is too early, Q4 is the year itself.
FORECAST_QUARTERS = (2, 3)
FORECAST_REFUSED = "只有第二、三季度报告填写"
_NUMBER = re.compile(r"^([+-]?\d+(?:\.\d+)?)\s*(.*)$")
_DATE = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?$")
_MEASURE_MARK = re.compile(r"[；;。，,\s]*(?:改进措施|整改措施|完善措施|措施)\s*[:：]")
_CAUSE_MARK = re.compile(r"^\s*(?:偏差)?原因(?:分析)?\s*[:：]\s*")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    @property
    def label(self) -> str:
        return REPORT_FIELD_LABELS.get(self.field, self.field)

    def __str__(self) -> str:
        return f"{self.label}：{self.message}"


@dataclass
class RawActual:
    """Text as typed.  `value` holds a number, a completion date / 未完成, or a progress statement."""

    value: str = ""
    expected_on: str = ""
    likelihood: str = ""
    cause_category: str = ""
    cause_text: str = ""
    measure_text: str = ""
    confirm_decrease: bool = False
    decrease_reason: str = ""
    # 全年预计完成值 (Q2/Q3 only); blank = the machine's projection stands; None = not given (a file or
    # client without the field): the stored one is kept
    forecast: str | None = None

    def is_blank(self) -> bool:
        return not any(
            _clean(getattr(self, name))
            for name in (
                "value",
                "expected_on",
                "likelihood",
                "cause_category",
                "cause_text",
                "measure_text",
                "forecast",
            )
        )


@dataclass
class Actual:
    """A clean reported value.  Exactly one of number / done / progress carries the value."""

    number: Decimal | None = None
    done: bool | None = None
    done_on: date | None = None
    expected_on: date | None = None
    progress: str = ""
    likelihood: str = ""
    cause_category: str = ""
    cause_text: str = ""
    measure_text: str = ""
    decrease_reason: str = ""
    forecast: str = ""  # 全年预计完成值 as the division states it (a number in the target's unit, or text)

    def has_value(self) -> bool:
        return self.number is not None or self.done is not None or bool(self.progress)

    def key(self) -> tuple[object, ...]:
        """Equality of what was reported (a save that changes nothing writes nothing)."""
        number = None if self.number is None else self.number.normalize()
        return (
            number,
            self.done,
            self.done_on,
            self.expected_on,
            self.progress,
            self.likelihood,
            self.cause_category,
            self.cause_text,
            self.measure_text,
            self.decrease_reason,
            self.forecast,
        )


@dataclass
class Reading:
    actual: Actual
    light: Light
    errors: list[FieldError] = field(default_factory=list)


def _clean(text: object) -> str:
    return unicodedata.normalize("NFKC", "" if text is None else str(text)).strip()


def parse_number(text: str, unit: str) -> tuple[Decimal | None, str | None]:
    """`1,234` / `95%` / `９５` / `12.5万元` → Decimal in the target's unit, or an error message.
    Every number keeps the domain both databases store exactly (`inputs.check_decimal`)."""
    cleaned = re.sub(r"(?<=\d)[,，](?=\d{3})", "", _clean(text)).replace(" ", "")
    match = _NUMBER.match(cleaned)
    if not match:
        return None, f"「{_shown(text)}」不是数字"
    suffix = match.group(2)
    accepted = {"", unit} | ({"万"} if unit == "万元" else set()) | ({"%"} if unit == "%" else set())
    if suffix not in accepted:
        expected = f"「{unit}」" if unit else "纯数字"
        return None, f"单位不符：应填写{expected}，填写的是「{_shown(suffix)}」"
    try:
        number = Decimal(match.group(1))
        check_decimal(number, places=MAX_PLACES, minimum=None)
    except InvalidOperation:
        return None, f"「{_shown(text)}」不是数字"
    except InputError as exc:
        return None, exc.message
    return number, None


def _shown(text: object) -> str:
    """Typed text quoted back in a message: one line, not too long."""
    shown = " ".join(_clean(text).split())
    return shown if len(shown) <= 40 else shown[:40] + "…"


def parse_date(text: str) -> date | None:
    match = _DATE.match(_clean(text))
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    except ValueError:
        return None


def split_explanation(text: str) -> tuple[str, str]:
    """`原因：…；改进措施：…` (the flat file's 偏差原因分析及改进措施) → (cause, measure)."""
    cleaned = _clean(text)
    parts = _MEASURE_MARK.split(cleaned, maxsplit=1)
    cause = _CAUSE_MARK.sub("", parts[0]).strip(" ；;。")
    measure = parts[1].strip(" ；;") if len(parts) == 2 else ""
    return cause, measure


def join_explanation(cause: str, measure: str) -> str:
    if not cause and not measure:
        return ""
    return f"原因：{cause}；改进措施：{measure}"


def clean_raw(raw: RawActual, errors: list[FieldError]) -> RawActual:
    """RAW with every text normalised once (`inputs.clean_text`) and held to its length; a field
    that cannot be taken is reported in ERRORS and read as empty."""
    cleaned: dict[str, Any] = {}  # field name -> text, passed to dataclasses.replace
    for name, limit in TEXT_LIMITS.items():
        try:
            cleaned[name] = clean_text(unicodedata.normalize("NFKC", str(getattr(raw, name) or "")), limit)
        except InputError as exc:
            errors.append(FieldError(name, exc.message))
            cleaned[name] = ""
    return replace(raw, **cleaned)


def read_actual(
    target: Target,
    raw: RawActual,
    period: Period,
    *,
    previous: Decimal | None = None,
    today: date | None = None,
    settings: StatusSettings = StatusSettings(),
) -> Reading:
    """Validate one row.  Errors are format errors that block any save."""
    errors: list[FieldError] = []
    raw = clean_raw(raw, errors)
    cleaning = len(errors)
    refused = {e.field for e in errors}  # a refused text is read as empty: no second message for it
    actual = Actual(
        likelihood=raw.likelihood,
        cause_category=raw.cause_category,
        cause_text=raw.cause_text,
        measure_text=raw.measure_text,
    )
    _read_value(target, raw, period, previous, today, actual, errors)
    _read_forecast(target, raw.forecast or "", period, actual, errors)
    if actual.likelihood and actual.likelihood not in Likelihood.values():
        errors.append(
            FieldError("likelihood", f"「{_shown(actual.likelihood)}」不是可选项（{' / '.join(Likelihood.values())}）")
        )
    if actual.cause_category and actual.cause_category not in CauseCategory.values():
        errors.append(
            FieldError(
                "cause_category",
                f"「{_shown(actual.cause_category)}」不是可选项（{' / '.join(CauseCategory.values())}）",
            )
        )
    reading = assess(target, period, actual, settings)
    reading.errors = [e for i, e in enumerate(errors) if i < cleaning or e.field not in refused]
    return reading


def assess(target: Target, period: Period, actual: Actual, settings: StatusSettings = StatusSettings()) -> Reading:
    """The status light of a clean (stored) value, under the region's monitoring rules (SETTINGS)."""
    light = status_light(
        target,
        period,
        number=actual.number,
        done=actual.done,
        done_on=actual.done_on,
        expected_on=actual.expected_on,
        likelihood=actual.likelihood,
        has_statement=bool(actual.progress),
        settings=settings,
    )
    return Reading(actual, light)


def _read_value(
    target: Target,
    raw: RawActual,
    period: Period,
    previous: Decimal | None,
    today: date | None,
    actual: Actual,
    errors: list[FieldError],
) -> None:
    text = _clean(raw.value)
    if target.kind == TargetKind.QUALITATIVE:
        actual.progress = text
        return
    if target.kind == TargetKind.DEADLINE:
        _read_deadline(text, _clean(raw.expected_on), period, today, actual, errors)
        return
    if not text:
        return
    number, problem = parse_number(text, target.unit)
    if number is None:
        errors.append(FieldError("value", problem or f"「{_shown(text)}」不是数字"))
        return
    if places_of(target) == 0 and number != number.to_integral_value():
        errors.append(FieldError("value", f"「{target.name}」以「{target.unit}」计，应为整数"))
        return
    if number < 0:
        errors.append(FieldError("value", "不能为负数"))
        return
    if target.is_rate and number > 100:
        errors.append(FieldError("value", f"「{target.name}」是比率，不能超过 100%"))
        return
    actual.number = number
    if target.measure == Measure.CUMULATIVE and previous is not None and number < previous:
        if not raw.confirm_decrease:
            errors.append(
                FieldError(
                    "value",
                    f"低于上一季度的累计值 {format_decimal(previous)}{target.unit}："
                    "累计值一般不会减少，如确需更正请确认并说明原因",
                )
            )
        elif not _clean(raw.decrease_reason):
            errors.append(FieldError("decrease_reason", "已确认累计值减少，请说明原因"))
        else:
            actual.decrease_reason = _clean(raw.decrease_reason)


def forecasts_allowed(period: Period) -> bool:
    return period.quarter in FORECAST_QUARTERS


def _read_forecast(target: Target, text: str, period: Period, actual: Actual, errors: list[FieldError]) -> None:
    """全年预计完成值: for a numeric target a number in its unit (kept as typed, normalised), else a short
    statement.  Only the Q2/Q3 reports carry it."""
    if not text:
        return
    if not forecasts_allowed(period):
        errors.append(FieldError("forecast", f"{FORECAST_REFUSED}全年预计完成值，{period.label}不填"))
        return
    if target.kind in (TargetKind.QUALITATIVE, TargetKind.DEADLINE):
        actual.forecast = text
        return
    number, problem = parse_number(text, target.unit)
    if number is not None and number < 0:
        problem = "不能为负数"
    elif number is not None and target.is_rate and number > 100:
        problem = f"「{target.name}」是比率，不能超过 100%"
    if number is None or problem:
        errors.append(FieldError("forecast", problem or f"「{_shown(text)}」不是数字"))
        return
    actual.forecast = format_decimal(number)


def projected_forecast(target: Target, period: Period, actual: Actual) -> str:
    """The machine's 全年预计完成值 offered as the default: a cumulative value at the same pace to the
    year-end, a latest value as it stands; nothing for statements and dates."""
    if actual.number is None or target.kind in (TargetKind.QUALITATIVE, TargetKind.DEADLINE):
        return ""
    if target.measure != Measure.CUMULATIVE:
        return format_decimal(actual.number)
    projection = linear_projection(actual.number, period.quarter)
    return "" if projection is None else format_decimal(projection)


def places_of(target: Target) -> int:
    """Decimals an actual may have: none for things counted one by one (unless the target has
    some, e.g. 2.5次), else four (万元 to the yuan)."""
    if target.unit in DISCRETE_UNITS and (target.value is None or target.value == target.value.to_integral_value()):
        return 0
    return MAX_PLACES


def _read_deadline(
    text: str, expected_text: str, period: Period, today: date | None, actual: Actual, errors: list[FieldError]
) -> None:
    year = period.year
    if text:
        not_done = next((w for w in NOT_DONE_WORDS if text.startswith(w)), None)
        if not_done:
            actual.done = False
            rest = re.sub(r"^[，,;；\s]*(?:预计)?", "", text[len(not_done) :])
            expected_text = expected_text or rest
        else:
            done_on = parse_date(text)
            if done_on is None:
                errors.append(
                    FieldError(
                        "value", f"「{text}」不是日期：已完成请填完成日期（如 {year}-06-30），未完成请填「未完成」"
                    )
                )
                return
            if done_on.year != year:
                errors.append(FieldError("value", f"完成日期 {done_on.isoformat()} 不在 {year} 年度内"))
                return
            if today is not None and done_on > today:
                errors.append(FieldError("value", f"完成日期 {done_on.isoformat()} 晚于今天（{today.isoformat()}）"))
                return
            actual.done, actual.done_on = True, done_on
    if expected_text and actual.done is not True:
        expected_on = parse_date(expected_text)
        if expected_on is None:
            errors.append(FieldError("expected_on", f"「{expected_text}」不是日期（如 {year}-10-31）"))
        elif expected_on.year != year:
            errors.append(
                FieldError(
                    "expected_on",
                    f"预计完成日期 {expected_on.isoformat()} 不在 {year} 年度内；"
                    "年内无法完成请选择完成可能性「不可能」",
                )
            )
        else:
            actual.expected_on = expected_on
            if actual.done is None:
                actual.done = False


def missing_for_submit(target: Target, reading: Reading) -> list[FieldError]:
    """What a complete report still lacks for this indicator (checked on submit, not on draft saves)."""
    actual, missing = reading.actual, []
    if not actual.has_value():
        label = {TargetKind.QUALITATIVE: "请填写进展情况", TargetKind.DEADLINE: "请填写完成日期或「未完成」"}.get(
            target.kind, "请填写实际完成值"
        )
        missing.append(FieldError("value", label))
    if actual.done is False and actual.expected_on is None and actual.likelihood != Likelihood.IMPOSSIBLE:
        missing.append(FieldError("expected_on", "未完成的事项请填写预计完成日期"))
    if not actual.likelihood:
        missing.append(FieldError("likelihood", "请选择完成可能性"))
    if needs_explanation(reading.light, actual.likelihood):
        if not actual.cause_category:
            missing.append(
                FieldError(
                    "cause_category",
                    f"状态为「{reading.light.label}」，请选择偏差原因类别"
                    if reading.light.behind
                    else "完成可能性不是「确定能」，请选择偏差原因类别",
                )
            )
        if not actual.cause_text:
            missing.append(FieldError("cause_text", "请填写偏差原因分析"))
        if not actual.measure_text:
            missing.append(FieldError("measure_text", "请填写改进措施"))
    return missing


@dataclass
class Spend:
    spent: Decimal | None = None
    budget: Decimal | None = None  # 全年预算数 as adjusted; None = unchanged from the table's 年初预算数
    decrease_reason: str = ""  # why the spend to date is below last quarter's (confirmed by the reporter)
    forecast: Decimal | None = None  # 全年预计执行数 (Q2/Q3 only); None = the machine's projection stands

    def key(self) -> tuple[object, ...]:
        return (
            None if self.spent is None else self.spent.normalize(),
            None if self.budget is None else self.budget.normalize(),
            self.decrease_reason,
            None if self.forecast is None else self.forecast.normalize(),
        )


def read_spend(
    spent_text: str,
    budget_text: str,
    initial_budget: Decimal,
    current_budget: Decimal | None = None,
    previous_spent: Decimal | None = None,
    confirm_decrease: bool = False,
    decrease_reason: str = "",
    forecast_text: str = "",
    period: Period | None = None,
) -> tuple[Spend, list[FieldError]]:
    """执行数, 全年预算数 and (Q2/Q3 reports of PERIOD) 全年预计执行数 in 万元.  Spend cannot exceed the
    full-year budget in force; the forecast lies between the spend to date and that budget.  Spend is
    cumulative: below last quarter's it needs a confirmation and a reason, as a cumulative value does (§5.2)."""
    spend, errors = Spend(), []
    if _clean(forecast_text) and period is not None and not forecasts_allowed(period):
        errors.append(FieldError("forecast_spent", f"{FORECAST_REFUSED}全年预计执行数，{period.label}不填"))
        forecast_text = ""
    for name, text in (("spent", spent_text), ("budget", budget_text), ("forecast_spent", forecast_text)):
        if not _clean(text):
            continue
        number, problem = parse_number(text, "万元")
        if number is not None and number < 0:
            problem = "不能为负数"
        elif number is not None and number != number.quantize(Decimal("0.01")):  # the column keeps 2 decimals
            problem = "金额最多保留 2 位小数（万元）"
        if problem:
            errors.append(FieldError(name, problem))
        else:
            setattr(spend, "forecast" if name == "forecast_spent" else name, number)
    if spend.budget is not None and spend.budget == 0:
        errors.append(FieldError("budget", "全年预算数不能为 0"))
    in_force = spend.budget if spend.budget is not None else (current_budget or initial_budget)
    if not errors and spend.spent is not None and in_force is not None and spend.spent > in_force:
        errors.append(
            FieldError(
                "spent", f"执行数 {format_decimal(spend.spent)} 万元超过全年预算数 {format_decimal(in_force)} 万元"
            )
        )
    if not errors and spend.forecast is not None:
        if in_force is not None and spend.forecast > in_force:
            errors.append(
                FieldError(
                    "forecast_spent",
                    f"全年预计执行数 {format_decimal(spend.forecast)} 万元超过"
                    f"全年预算数 {format_decimal(in_force)} 万元",
                )
            )
        elif spend.spent is not None and spend.forecast < spend.spent:
            errors.append(
                FieldError(
                    "forecast_spent",
                    f"全年预计执行数 {format_decimal(spend.forecast)} 万元低于截至期末执行数 "
                    f"{format_decimal(spend.spent)} 万元",
                )
            )
    if not errors and spend.spent is not None and previous_spent is not None and spend.spent < previous_spent:
        if not confirm_decrease:
            errors.append(
                FieldError(
                    "spent",
                    f"低于上一季度的执行数 {format_decimal(previous_spent)} 万元：执行数为累计值，一般不会减少，"
                    "如确需更正请确认并说明原因",
                )
            )
        elif not _clean(decrease_reason):
            errors.append(FieldError("decrease_reason", "已确认执行数减少，请说明原因"))
        else:
            spend.decrease_reason = _clean(decrease_reason)
    return spend, errors


def describe_actual(target: Target, actual: Actual) -> str:
    """How a reported value reads to people: `1,234个`, `已完成（2025-06-30）`, a statement, or ``."""
    if target.kind == TargetKind.QUALITATIVE:
        return actual.progress
    if target.kind == TargetKind.DEADLINE:
        if actual.done:
            return f"已完成（{actual.done_on.isoformat()}）" if actual.done_on else "已完成"
        if actual.done is False:
            return f"未完成，预计 {actual.expected_on.isoformat()}" if actual.expected_on else "未完成"
        return ""
    if actual.number is None:
        return ""
    return f"{format_decimal(actual.number)}{target.unit}"


def value_text(target: Target, actual: Actual) -> str:
    """The value as a flat file or form field writes it (reads back with `read_actual`)."""
    if target.kind == TargetKind.DEADLINE:
        if actual.done:
            return actual.done_on.isoformat() if actual.done_on else ""
        return "未完成" if actual.done is False else ""
    if target.kind == TargetKind.QUALITATIVE:
        return actual.progress
    return "" if actual.number is None else format_decimal(actual.number)
